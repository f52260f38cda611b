#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_roles_info
short_description: Read several IAM roles' trust policies in one task, as evidence
description:
  - Returns each named role's ARN and trust (assume-role) policy, and which of the names no role has.
  - Read-only; safe in check mode.
notes:
  - Why not M(amazon.aws.iam_role_info) in a loop? It reads a role's inline, attached and instance
    profile listings too, four calls and one module run per role; verify needs only the trust policy, so
    N roles cost one module run and N calls (GetRole) here. For the seven roles of the local inventory
    that is 7 calls, where the loop makes 28 in seven module runs.
options:
  names:
    description: The roles' names.
    type: list
    elements: str
    required: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the Batch roles' trust policies
  iam_roles_info:
    names: [rnaseq-batch-service-role, rnaseq-batch-job-role]
  register: verify_roles
"""

RETURN = r"""
roles:
  description: The roles found, by name.
  returned: always
  type: dict
  sample:
    rnaseq-batch-job-role:
      arn: "arn:aws:iam::123456789012:role/rnaseq-batch-job-role"
      trust_policy: {Version: "2012-10-17", Statement: []}
missing:
  description: The names no role has.
  returned: always
  type: list
  elements: str
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_iam import policy_document

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    module = AnsibleAWSModule(argument_spec=dict(names=dict(type="list", elements="str", required=True)), supports_check_mode=True)
    iam = module.client("iam")
    roles, missing = {}, []
    for name in dict.fromkeys(module.params["names"]):
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except is_boto3_error_code("NoSuchEntity"):
            missing.append(name)
            continue
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, f"Failed to read the role {name}")
        roles[name] = {"arn": role["Arn"], "trust_policy": policy_document(role["AssumeRolePolicyDocument"])}
    module.exit_json(changed=False, roles=roles, missing=missing)


if __name__ == "__main__":
    main()
