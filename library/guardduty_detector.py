#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: guardduty_detector
short_description: Turn on GuardDuty in the region, with S3 protection
description:
  - Makes sure the region has one GuardDuty detector, enabled, with S3 data event protection on and the
    given findings frequency, and with the given tags; creates it when there is none, updates it when it
    differs.
  - Never deletes a detector.
  - Supports check mode and diff.
notes:
  - Departs from the list contract (docs/modules.md) by design - the region's one detector, not a list, and a
    baseline teardown keeps, so no C(state).
options:
  s3_protection:
    description: Turn on S3 protection (GuardDuty reads the S3 data events).
    type: bool
    default: true
  finding_publishing_frequency:
    description: How often updated findings are published.
    type: str
    default: FIFTEEN_MINUTES
    choices: [FIFTEEN_MINUTES, ONE_HOUR, SIX_HOURS]
  tags:
    description:
      - Tags of the detector. Omitted, an existing detector's tags are left as they are.
    type: dict
  purge_tags:
    description: Whether tags not in O(tags) are removed (AWS's own C(aws:) tags never are).
    type: bool
    default: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: GuardDuty with S3 protection
  guardduty_detector:
    s3_protection: true
    tags: {Project: rna-seq-hipaa}
"""

RETURN = r"""
detector_id:
  description: The detector's ID (none in check mode when there was none).
  returned: always
  type: str
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import set_arn_tags
from ansible.module_utils.toolkit_lookup import read_guardduty

from ansible_collections.amazon.aws.plugins.module_utils.iam import get_aws_account_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(
        s3_protection=dict(type="bool", default=True),
        finding_publishing_frequency=dict(type="str", default="FIFTEEN_MINUTES", choices=["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    guardduty = module.client("guardduty")
    wanted = {"enabled": True, "s3_protection": p["s3_protection"], "finding_publishing_frequency": p["finding_publishing_frequency"]}
    request = {"Enable": True, "FindingPublishingFrequency": p["finding_publishing_frequency"],
               "DataSources": {"S3Logs": {"Enable": p["s3_protection"]}}}
    changed, before, after, detector_id = False, None, dict(wanted), None
    try:
        detector_id, before, tags = read_guardduty(guardduty)
        if not detector_id:
            changed = True
            if p["tags"]:
                after["tags"] = request["Tags"] = {str(k): str(v) for k, v in p["tags"].items()}
            if not module.check_mode:
                detector_id = guardduty.create_detector(**request)["DetectorId"]
        else:
            if before != wanted:
                changed = True
                if not module.check_mode:
                    guardduty.update_detector(DetectorId=detector_id, **request)
            if p["tags"] is not None:
                stale, missing, after["tags"] = purged_tags(tags, p["tags"], p["purge_tags"])
                before = {**before, "tags": tags}
                if stale or missing:
                    changed = True
                    if not module.check_mode:
                        account_id, partition = get_aws_account_info(module)
                        arn = f"arn:{partition}:guardduty:{module.region}:{account_id}:detector/{detector_id}"
                        set_arn_tags(guardduty, arn, stale, missing)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to turn on GuardDuty")
    module.exit_json(changed=changed, detector_id=detector_id, diff={"before": before or {}, "after": after})


if __name__ == "__main__":
    main()
