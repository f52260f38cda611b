#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtrail_data_events
short_description: A trail's event selectors, management events plus S3 data events for given buckets
description:
  - Sets the trail's event selectors to all management events and, when O(s3_buckets) is not empty, the
    read and write data events of every object in those buckets, so every read of an object is on record.
    amazon.aws.cloudtrail does not manage event selectors.
  - Supports check mode and diff; in check mode a trail that does not exist yet is planned.
options:
  trail:
    description: The trail's name or ARN.
    type: str
    required: true
  s3_buckets:
    description: Buckets whose object-level events are recorded.
    type: list
    elements: str
    default: []
  partition:
    description: The AWS partition of the buckets' ARNs.
    type: str
    default: aws
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Record every read and write of the data bucket's objects
  cloudtrail_data_events:
    trail: rnaseq-trail
    s3_buckets: [rnaseq-hipaa-data-bucket]
"""

RETURN = r"""
event_selectors:
  description: The trail's event selectors after the run (or as they would be).
  returned: always
  type: list
  elements: dict
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import RETRY
from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def normal(selectors):
    result = []
    for selector in selectors or []:
        resources = [{"Type": r["Type"], "Values": sorted(r.get("Values") or [])} for r in selector.get("DataResources") or []]
        result.append({"ReadWriteType": selector.get("ReadWriteType", "All"),
                       "IncludeManagementEvents": selector.get("IncludeManagementEvents", True),
                       "DataResources": sorted(resources, key=lambda r: r["Type"]),
                       "ExcludeManagementEventSources": sorted(selector.get("ExcludeManagementEventSources") or [])})
    return result


def main():
    argument_spec = dict(
        trail=dict(type="str", required=True),
        s3_buckets=dict(type="list", elements="str", default=[]),
        partition=dict(type="str", default="aws"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    cloudtrail = module.client("cloudtrail")
    resources = [{"Type": "AWS::S3::Object", "Values": [f"arn:{p['partition']}:s3:::{b}/" for b in p["s3_buckets"]]}] if p["s3_buckets"] else []
    wanted = normal([{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": resources}])
    try:
        try:
            current = RETRY(cloudtrail.get_event_selectors)(TrailName=p["trail"])
        except botocore.exceptions.ClientError as e:
            # In check mode the trail may be only planned.
            if e.response["Error"]["Code"] != "TrailNotFoundException" or not module.check_mode:
                raise
            current = {}
        have = normal(current.get("EventSelectors"))
        if current.get("AdvancedEventSelectors"):
            have = [{"AdvancedEventSelectors": current["AdvancedEventSelectors"]}]
        changed = have != wanted
        if changed and not module.check_mode:
            RETRY(cloudtrail.put_event_selectors)(TrailName=p["trail"], EventSelectors=wanted)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to set the trail's event selectors")
    module.exit_json(changed=changed, event_selectors=wanted, diff={"before": have, "after": wanted})


if __name__ == "__main__":
    main()
