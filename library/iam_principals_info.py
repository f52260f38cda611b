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
from ansible.module_utils.toolkit_lookup import check_principals

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(arns=dict(type="list", elements="str", default=[]))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        caller_arn = RETRY(module.client("sts").get_caller_identity)()["Arn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the caller identity")
    found = check_principals(module, module.client("iam"), module.params["arns"], caller_arn)
    module.exit_json(changed=False, caller_arn=caller_arn, **found)


if __name__ == "__main__":
    main()
