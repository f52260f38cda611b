#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_principals_info
short_description: Check that IAM principals exist, and name the caller's IAM principal
description:
  - For each principal ARN (an IAM role, an IAM user or an account root), says whether it exists, with
    its canonical ARN (a role's or user's path included). Key and bucket policies that name a principal
    that does not exist are refused by AWS; this lets a playbook say so first, in one message.
  - Also returns the IAM principal behind the caller (for an assumed role, the role), the ARN a key
    policy must name so that the caller keeps control of a key it creates.
  - Read-only; safe in check mode.
options:
  arns:
    description: Principal ARNs to check. Patterns (with C(*) or C(?)) are not principals and are refused.
    type: list
    elements: str
    default: []
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Check the key administrators exist before writing the key policy
  iam_principals_info:
    arns: "{{ storage_key_admin_arns }}"
  register: storage_principals

- name: Refuse unknown principals
  ansible.builtin.assert:
    that: storage_principals.missing | length == 0
"""

RETURN = r"""
principals:
  description: Each requested principal, found or not.
  returned: always
  type: list
  elements: dict
  sample: [{arn: "arn:aws:iam::123456789012:role/KeyAdmin", exists: true, canonical_arn: "arn:aws:iam::123456789012:role/ops/KeyAdmin"}]
missing:
  description: The requested ARNs that name no existing principal.
  returned: always
  type: list
  elements: str
caller_arn:
  description: The caller as STS names it.
  returned: always
  type: str
caller_principal_arn:
  description: The IAM principal behind the caller, as a policy would name it.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:role/ops/Deployer
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import RETRY
from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def split_arn(arn):
    parts = str(arn).split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return {"partition": parts[1], "service": parts[2], "account": parts[4], "resource": parts[5]}


def lookup(iam, kind, name):
    """The canonical ARN of an IAM role or user, or None when there is none."""
    try:
        if kind == "role":
            return RETRY(iam.get_role)(RoleName=name)["Role"]["Arn"]
        return RETRY(iam.get_user)(UserName=name)["User"]["Arn"]
    except is_boto3_error_code("NoSuchEntity"):
        return None


def resolve(module, iam, arn):
    parsed = split_arn(arn)
    if parsed is None or parsed["service"] != "iam":
        module.fail_json(msg=f"'{arn}' is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>, :user/<name> or :root)")
    if "*" in arn or "?" in arn:
        module.fail_json(msg=f"'{arn}' is a pattern, not a principal")
    resource = parsed["resource"]
    if resource == "root":
        return arn
    kind, _, path_and_name = resource.partition("/")
    if kind not in ("role", "user") or not path_and_name:
        module.fail_json(msg=f"'{arn}' is neither an IAM role, an IAM user nor an account root")
    return lookup(iam, kind, path_and_name.rsplit("/", 1)[-1])


def caller_principal(iam, caller_arn):
    parsed = split_arn(caller_arn)
    if parsed and parsed["service"] == "sts" and parsed["resource"].startswith("assumed-role/"):
        role = parsed["resource"].split("/")[1]
        return lookup(iam, "role", role) or f"arn:{parsed['partition']}:iam::{parsed['account']}:role/{role}"
    if parsed and parsed["service"] == "sts" and parsed["resource"].startswith("user/"):
        return f"arn:{parsed['partition']}:iam::{parsed['account']}:{parsed['resource']}"
    return caller_arn


def main():
    argument_spec = dict(arns=dict(type="list", elements="str", default=[]))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    iam = module.client("iam")
    sts = module.client("sts")
    try:
        caller_arn = RETRY(sts.get_caller_identity)()["Arn"]
        principals = []
        for arn in module.params["arns"]:
            canonical = resolve(module, iam, arn)
            principals.append({"arn": arn, "exists": canonical is not None, "canonical_arn": canonical})
        caller = caller_principal(iam, caller_arn)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to look up IAM principals")
    module.exit_json(
        changed=False,
        principals=principals,
        missing=[p["arn"] for p in principals if not p["exists"]],
        caller_arn=caller_arn,
        caller_principal_arn=caller,
    )


if __name__ == "__main__":
    main()
