#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_account_public_access_block_info
short_description: Read the account-level S3 Block Public Access settings
description:
  - Returns the four account-level settings (absent ones read as false). When the caller may not read
    them, RV(readable) is false instead of the module failing.
  - Read-only; safe in check mode.
options:
  account_id:
    description: The account.
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
- name: Read the account's public access block
  s3_account_public_access_block_info:
    account_id: "{{ verify_context.account_id }}"
  register: verify_account_pab
"""

RETURN = r"""
configuration:
  description: The settings.
  returned: always
  type: dict
  sample: {block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true}
readable:
  description: Whether the caller could read them.
  returned: always
  type: bool
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import unprefix_account_host
from ansible.module_utils.toolkit_s3 import public_access_block_options
from ansible.module_utils.toolkit_s3 import read_account_public_access_block

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    module = AnsibleAWSModule(argument_spec=dict(account_id=dict(type="str", required=True)), supports_check_mode=True)
    s3control = unprefix_account_host(module.client("s3control"))
    try:
        configuration = read_account_public_access_block(s3control, module.params["account_id"])
    except is_boto3_error_code("AccessDenied"):
        module.exit_json(changed=False, readable=False, configuration=public_access_block_options({}))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        fail_aws(module, e, "Failed to read the account's S3 public access block")
    module.exit_json(changed=False, readable=True, configuration=configuration)


if __name__ == "__main__":
    main()
