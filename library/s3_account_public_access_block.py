#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_account_public_access_block
short_description: Block public access to S3 for the whole account
description:
  - Sets the account-level S3 Block Public Access settings (S3 Control), which apply to every bucket of
    the account, present and future.
  - Where the account does not allow it (for example an organization policy denies
    C(s3:PutAccountPublicAccessBlock)), the module warns and reports RV(applied=false) instead of failing,
    unless O(required=true).
  - Against an emulator on a loopback address the account id is not prefixed to the host name (it could
    not resolve there).
  - Supports check mode and diff.
notes:
  - Departs from the list contract (docs/modules.md) by design - one setting of the account, not a list, and a
    baseline teardown keeps, so no C(state).
options:
  account_id:
    description: The account (S3 Control needs it named).
    type: str
    required: true
  block_public_acls:
    description: Reject requests that would grant public ACLs.
    type: bool
    default: true
  ignore_public_acls:
    description: Ignore public ACLs that exist.
    type: bool
    default: true
  block_public_policy:
    description: Reject bucket policies that grant public access.
    type: bool
    default: true
  restrict_public_buckets:
    description: Limit buckets with public policies to AWS services and the account.
    type: bool
    default: true
  required:
    description: Fail, instead of warning, when the account does not allow the change.
    type: bool
    default: false
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Block public access to S3 for the account
  s3_account_public_access_block:
    account_id: "{{ storage_context.account_id }}"
"""

RETURN = r"""
configuration:
  description: The account's settings after the run.
  returned: when applied
  type: dict
  sample: {block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true}
applied:
  description: Whether the settings are in place (false when the account did not allow reading or changing them).
  returned: always
  type: bool
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import warn
from ansible.module_utils.toolkit_aws import unprefix_account_host
from ansible.module_utils.toolkit_s3 import PUBLIC_ACCESS_BLOCK_KEYS
from ansible.module_utils.toolkit_s3 import public_access_block_configuration
from ansible.module_utils.toolkit_s3 import read_account_public_access_block

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule



def main():
    argument_spec = dict(
        account_id=dict(type="str", required=True),
        block_public_acls=dict(type="bool", default=True),
        ignore_public_acls=dict(type="bool", default=True),
        block_public_policy=dict(type="bool", default=True),
        restrict_public_buckets=dict(type="bool", default=True),
        required=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    account = module.params["account_id"]
    wanted = {option: module.params[option] for option in PUBLIC_ACCESS_BLOCK_KEYS}

    s3control = unprefix_account_host(module.client("s3control"))

    def not_allowed(e):
        if module.params["required"]:
            fail_aws(module, e, "The account does not allow its S3 public access block to be set")
        warn(module, f"The account's S3 public access block was not set: {e}. Every bucket of the toolkit blocks public access itself.")
        module.exit_json(changed=False, applied=False)

    try:
        current = read_account_public_access_block(s3control, account)
    except is_boto3_error_code("AccessDenied") as e:
        not_allowed(e)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        fail_aws(module, e, "Failed to read the account's S3 public access block")

    changed = current != wanted
    if changed and not module.check_mode:
        try:
            s3control.put_public_access_block(
                AccountId=account, PublicAccessBlockConfiguration=public_access_block_configuration(wanted)
            )
        except is_boto3_error_code("AccessDenied") as e:
            not_allowed(e)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, "Failed to set the account's S3 public access block")

    module.exit_json(changed=changed, applied=True, configuration=wanted, diff={"before": current, "after": wanted})


if __name__ == "__main__":
    main()
