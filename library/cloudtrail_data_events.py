#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtrail_data_events
short_description: A trail's advanced event selectors, management events plus S3 object-level events for given buckets
description:
  - Sets the trail's advanced event selectors to all management events and the S3 object-level (data) events
    of the given buckets, so every read and change of an object is on record. amazon.aws.cloudtrail does
    not manage event selectors.
  - O(s3_buckets) have every object event recorded.
  - O(s3_log_buckets) are buckets that AWS services deliver log files into (the trail's own bucket, a server
    access log bucket). Every object event but an upload (C(PutObject)) is recorded there. Recording the
    uploads would feed each delivery back as a new event. The trail would log its own deliveries, and server
    access logging would log those uploads into the access log bucket, whose uploads the trail would log
    again, without end. Reads, deletions, copies, multipart uploads and retention changes are recorded.
  - The selectors use no field with both an including and an excluding operator.
  - Supports check mode and diff; in check mode a trail that does not exist yet is planned.
options:
  trail:
    description: The trail's name or ARN.
    type: str
    required: true
  s3_buckets:
    description: Buckets whose every object-level event is recorded.
    type: list
    elements: str
    default: []
  s3_log_buckets:
    description: Buckets AWS services deliver log files into; every object-level event but an upload is recorded.
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
- name: Record every read and write of the data bucket's objects, and all but log delivery in the log buckets
  cloudtrail_data_events:
    trail: rnaseq-trail
    s3_buckets: [rnaseq-hipaa-data-bucket]
    s3_log_buckets: [rnaseq-hipaa-data-bucket-access-logs, rnaseq-hipaa-data-bucket-audit-logs]
"""

RETURN = r"""
advanced_event_selectors:
  description: The trail's advanced event selectors after the run (or as they would be).
  returned: always
  type: list
  elements: dict
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


def wanted_selectors(buckets, log_buckets, partition):
    """The advanced event selectors: management events, then the buckets' object events."""

    def objects(names):
        return [{"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": [f"arn:{partition}:s3:::{name}/" for name in names]}]

    selectors = [{"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    if buckets:
        selectors.append({"Name": "Every object event in the toolkit's buckets", "FieldSelectors": objects(buckets)})
    if log_buckets:
        selectors.append({"Name": "Every object event but log delivery in the log buckets",
                          "FieldSelectors": objects(log_buckets) + [{"Field": "eventName", "NotEquals": ["PutObject"]}]})
    return selectors


def normal(selectors):
    """Advanced event selectors, order of fields and values aside."""
    result = []
    for selector in selectors or []:
        fields = []
        for field in selector.get("FieldSelectors") or []:
            entry = {"Field": field["Field"]}
            entry.update({op: sorted(field[op]) for op in OPERATORS if field.get(op)})
            fields.append(entry)
        result.append({"Name": selector.get("Name", ""), "FieldSelectors": sorted(fields, key=lambda f: f["Field"])})
    return sorted(result, key=lambda s: s["Name"])


def main():
    argument_spec = dict(
        trail=dict(type="str", required=True),
        s3_buckets=dict(type="list", elements="str", default=[]),
        s3_log_buckets=dict(type="list", elements="str", default=[]),
        partition=dict(type="str", default="aws"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    overlap = sorted(set(p["s3_buckets"]) & set(p["s3_log_buckets"]))
    if overlap:
        module.fail_json(msg=f"A bucket is either in s3_buckets or in s3_log_buckets, not both: {', '.join(overlap)}")
    cloudtrail = module.client("cloudtrail")
    wanted = wanted_selectors(p["s3_buckets"], p["s3_log_buckets"], p["partition"])
    try:
        try:
            current = cloudtrail.get_event_selectors(TrailName=p["trail"])
        except botocore.exceptions.ClientError as e:
            # In check mode the trail may be only planned.
            if e.response["Error"]["Code"] != "TrailNotFoundException" or not module.check_mode:
                raise
            current = {}
        # Basic event selectors, where a trail has them, are replaced.
        have = {"EventSelectors": current.get("EventSelectors") or [],
                "AdvancedEventSelectors": normal(current.get("AdvancedEventSelectors"))}
        changed = have != {"EventSelectors": [], "AdvancedEventSelectors": normal(wanted)}
        if changed and not module.check_mode:
            cloudtrail.put_event_selectors(TrailName=p["trail"], AdvancedEventSelectors=wanted)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to set the trail's event selectors")
    module.exit_json(changed=changed, advanced_event_selectors=wanted,
                     diff={"before": have, "after": {"EventSelectors": [], "AdvancedEventSelectors": wanted}})


if __name__ == "__main__":
    main()
