#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ebs_encryption_default
short_description: EBS encryption by default in the region, with a customer managed key
description:
  - Turns on EBS encryption by default for the region and, when O(kms_key_id) is given, makes that key the
    default for new volumes.
  - Supports check mode and diff.
notes:
  - Departs from the list contract (docs/modules.md) by design - one setting of the account in a region, not a
    list, and a baseline teardown keeps, so no C(state).
options:
  kms_key_id:
    description: ARN of the default key for new volumes; the AWS managed key C(aws/ebs) stays when omitted.
    type: str
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Encrypt new volumes with the pipeline key
  ebs_encryption_default:
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-0000-0000-0000-000000000000
"""

RETURN = r"""
enabled:
  description: Whether encryption by default is on (or would be).
  returned: always
  type: bool
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    module = AnsibleAWSModule(argument_spec=dict(kms_key_id=dict(type="str")), supports_check_mode=True)
    ec2 = module.client("ec2")
    key = module.params["kms_key_id"]
    before, after = {}, {}
    try:
        enabled = ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"]
        if not enabled:
            before["enabled"], after["enabled"] = False, True
            if not module.check_mode:
                ec2.enable_ebs_encryption_by_default()
        if key:
            current = ec2.get_ebs_default_kms_key_id()["KmsKeyId"]
            if current != key:
                before["kms_key_id"], after["kms_key_id"] = current, key
                if not module.check_mode:
                    ec2.modify_ebs_default_kms_key_id(KmsKeyId=key)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to set EBS encryption by default")
    module.exit_json(changed=bool(after), enabled=True, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
