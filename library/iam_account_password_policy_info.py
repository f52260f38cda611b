#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_account_password_policy_info
short_description: Read the account's IAM password policy
description:
  - Returns the account password policy in the option names of M(iam_account_password_policy); an account
    with no policy reads as AWS's defaults (8 characters, no requirements).
  - Read-only; safe in check mode.
options: {}
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the password policy
  iam_account_password_policy_info:
  register: verify_password_policy
"""

RETURN = r"""
policy:
  description: The password policy.
  returned: always
  type: dict
  sample: {min_length: 14, require_symbols: true, require_numbers: true, require_uppercase: true,
           require_lowercase: true, allow_users_to_change: true, max_age: 90, reuse_prevention: 24, hard_expiry: false}
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_iam import read_password_policy

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    module = AnsibleAWSModule(argument_spec={}, supports_check_mode=True)
    try:
        policy = read_password_policy(module.client("iam"))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the account password policy")
    module.exit_json(changed=False, policy=policy)


if __name__ == "__main__":
    main()
