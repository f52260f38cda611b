#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_group_info
short_description: Read an IAM group, its members and its policies, as evidence
description:
  - Returns whether the group exists, its members (each with their access keys, whether they have a
    console password and how many MFA devices they have), the managed policies attached to it with the
    document of each one's default version, and the names of its inline policies.
  - amazon.aws has no read-only module for groups; verify uses this one.
  - Read-only; safe in check mode.
options:
  name:
    description: The group.
    type: str
    required: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the administrators' group
  iam_group_info:
    name: RNASeqAdministrators
  register: verify_group
"""

RETURN = r"""
exists:
  description: Whether the group exists.
  returned: always
  type: bool
users:
  description: The members.
  returned: always
  type: list
  elements: dict
  sample: [{name: alice, access_keys: [{id: AKIA..., status: Active}], login_profile: false, mfa_devices: 1}]
attached_policies:
  description: Managed policies attached, with their default version's document.
  returned: always
  type: list
  elements: dict
  sample: [{name: RNASeqAdministratorPolicy, arn: "arn:aws:iam::123456789012:policy/RNASeqAdministratorPolicy", document: {}}]
inline_policies:
  description: Names of the group's inline policies.
  returned: always
  type: list
  elements: str
"""

import json
from urllib.parse import unquote

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def policy_document(iam, arn):
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return json.loads(unquote(document)) if isinstance(document, str) else document


def member(iam, user):
    name = user["UserName"]
    keys = paginate(iam, "list_access_keys", "AccessKeyMetadata", UserName=name)
    try:
        iam.get_login_profile(UserName=name)
        login_profile = True
    except is_boto3_error_code("NoSuchEntity"):
        login_profile = False
    return {
        "name": name,
        "arn": user["Arn"],
        "access_keys": [{"id": k["AccessKeyId"], "status": k["Status"]} for k in keys],
        "login_profile": login_profile,
        "mfa_devices": len(paginate(iam, "list_mfa_devices", "MFADevices", UserName=name)),
    }


def main():
    module = AnsibleAWSModule(argument_spec=dict(name=dict(type="str", required=True)), supports_check_mode=True)
    iam = module.client("iam")
    name = module.params["name"]
    try:
        try:
            users = paginate(iam, "get_group", "Users", GroupName=name)
        except is_boto3_error_code("NoSuchEntity"):
            module.exit_json(changed=False, exists=False, users=[], attached_policies=[], inline_policies=[])
        attached = paginate(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=name)
        result = dict(
            changed=False,
            exists=True,
            users=[member(iam, user) for user in users],
            attached_policies=[
                {"name": p["PolicyName"], "arn": p["PolicyArn"], "document": policy_document(iam, p["PolicyArn"])} for p in attached
            ],
            inline_policies=paginate(iam, "list_group_policies", "PolicyNames", GroupName=name),
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to read the group {name}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
