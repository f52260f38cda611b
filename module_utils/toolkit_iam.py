# -*- coding: utf-8 -*-
# IAM helpers shared by the toolkit's IAM modules (a write module and its
# _info counterpart must see a setting the same way).

from __future__ import annotations

import json
from urllib.parse import unquote


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
