# -*- coding: utf-8 -*-
# IAM helpers shared by the toolkit's IAM modules (a write module and its
# _info counterpart must see a setting the same way).

from __future__ import annotations

import json
from urllib.parse import unquote

from ansible.module_utils.toolkit_aws import paginate

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

# Module option: (API field, value when the account has no password policy).
PASSWORD_POLICY_FIELDS = {
    "min_length": ("MinimumPasswordLength", 8),
    "require_symbols": ("RequireSymbols", False),
    "require_numbers": ("RequireNumbers", False),
    "require_uppercase": ("RequireUppercaseCharacters", False),
    "require_lowercase": ("RequireLowercaseCharacters", False),
    "allow_users_to_change": ("AllowUsersToChangePassword", False),
    "max_age": ("MaxPasswordAge", 0),
    "reuse_prevention": ("PasswordReusePrevention", 0),
    "hard_expiry": ("HardExpiry", False),
}


def read_password_policy(iam):
    """The account password policy as module options; AWS's defaults when it has none."""
    try:
        found = iam.get_account_password_policy()["PasswordPolicy"]
    except is_boto3_error_code("NoSuchEntity"):
        found = {}
    return {option: found.get(field, absent) for option, (field, absent) in PASSWORD_POLICY_FIELDS.items()}


def policy_document(value):
    """A policy as a dict, whether IAM returned it URL-encoded, as JSON text or parsed."""
    if isinstance(value, str):
        return json.loads(unquote(value) if value.startswith("%") else value)
    return value


# The name parameter of a role's or a group's policy calls.
_NAME_PARAMETER = {"role": "RoleName", "group": "GroupName"}


def attached_policy_arns(iam, kind, name):
    """The ARNs of the managed policies attached to the role or group (`kind`) `name`, sorted."""
    return sorted(policy["PolicyArn"] for policy in paginate(iam, f"list_attached_{kind}_policies", "AttachedPolicies",
                                                             **{_NAME_PARAMETER[kind]: name}))


def inline_policy_names(iam, kind, name):
    """The names of the role's or group's (`kind`) inline policies, sorted."""
    return sorted(paginate(iam, f"list_{kind}_policies", "PolicyNames", **{_NAME_PARAMETER[kind]: name}))


def remove_policies(iam, kind, name, attached, inline):
    """Detach the managed policies and delete the inline ones: IAM deletes no role or group that still has any."""
    for arn in attached:
        getattr(iam, f"detach_{kind}_policy")(PolicyArn=arn, **{_NAME_PARAMETER[kind]: name})
    for policy in inline:
        getattr(iam, f"delete_{kind}_policy")(PolicyName=policy, **{_NAME_PARAMETER[kind]: name})


def service_linked_role_arns(iam, services):
    """By service principal, the ARN of its service-linked role, for those of the services that have one.

    A service's role is the one under the path AWS gives it (one ListRoles a service).
    """
    found = {}
    for service in services:
        existing = paginate(iam, "list_roles", "Roles", PathPrefix=f"/aws-service-role/{service}/")
        if existing:
            found[service] = existing[0]["Arn"]
    return found
