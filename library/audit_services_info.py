#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_services_info
short_description: Read AWS Config, GuardDuty, flow logs, a trail's event selectors, Object Lock, EventBridge rules and SSM documents
description:
  - The read side of the audit phase's account services that amazon.aws has no info module for,
    in one task, for C(playbooks/verify.yml).
  - Returns the configuration recorders with their status and delivery channels, the GuardDuty
    detectors with their status and S3 protection, the flow logs of the given VPCs, the given trail's
    event selectors, the given buckets' S3 Object Lock configuration, the given EventBridge rules
    with their targets, and the given Systems Manager documents' default content.
  - Read-only; safe in check mode.
options:
  vpc_ids:
    description: The VPCs whose flow logs to return.
    type: list
    elements: str
    default: []
  trail:
    description: The trail whose event selectors to return.
    type: str
  object_lock_buckets:
    description: The buckets whose S3 Object Lock configuration to return.
    type: list
    elements: str
    default: []
  event_rules:
    description: The EventBridge rules (of the default event bus) to return, one C(DescribeRule) and one
      C(ListTargetsByRule) each.
    type: list
    elements: str
    default: []
  documents:
    description: The Systems Manager documents whose default version's content to return (Session Manager's
      preferences are C(SSM-SessionManagerRunShell)).
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
- name: Read Config, GuardDuty and the toolkit VPCs' flow logs
  audit_services_info:
    vpc_ids: [vpc-0abc, vpc-0def]
  register: audit_services
"""

RETURN = r"""
config_recorders:
  description: Each configuration recorder, with C(recording) and C(last_status) from its status.
  returned: always
  type: list
  elements: dict
  sample: [{name: default, all_supported: true, include_global_resource_types: true, recording: true, last_status: SUCCESS}]
delivery_channels:
  description: Each delivery channel, with its bucket and prefix.
  returned: always
  type: list
  elements: dict
  sample: [{name: default, s3_bucket_name: example-audit-logs, s3_key_prefix: config}]
guardduty_detectors:
  description: Each GuardDuty detector of the region, with its status and whether S3 protection is on.
  returned: always
  type: list
  elements: dict
  sample: [{detector_id: 12abc, status: ENABLED, s3_protection: true}]
flow_logs:
  description: The flow logs of the given VPCs.
  returned: always
  type: list
  elements: dict
  sample: [{flow_log_id: fl-0abc, resource_id: vpc-0abc, traffic_type: ALL, log_group_name: /aws/vpc/flow-logs, status: ACTIVE}]
event_selectors:
  description: The trail's basic and advanced event selectors, as CloudTrail gives them; empty lists without O(trail).
  returned: always
  type: dict
  sample: {EventSelectors: [], AdvancedEventSelectors: [{Name: Management events, FieldSelectors: []}]}
object_lock:
  description: Per bucket, its default Object Lock retention (C(mode), C(days)), or an empty dict when it has no Object Lock.
  returned: always
  type: dict
  sample: {example-audit-logs: {mode: GOVERNANCE, days: 2190}}
event_rules:
  description: Per rule, its state, event pattern (parsed) and target ARNs; an empty dict when it does not exist.
  returned: always
  type: dict
  sample: {rnaseq-findings-config: {state: ENABLED, event_pattern: {source: [aws.config]}, targets: ["arn:aws:sns:us-east-1:111122223333:alarms"]}}
documents:
  description: Per document, its default version's content (parsed); an empty dict when it does not exist.
  returned: always
  type: dict
  sample: {SSM-SessionManagerRunShell: {schemaVersion: "1.0", inputs: {cloudWatchLogGroupName: /aws/ssm/sessions/rnaseq}}}
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_s3 import read_object_lock

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def config_state(config):
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    statuses = {}
    if recorders:
        for status in config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]:
            statuses[status["name"]] = status
    result = []
    for recorder in recorders:
        group = recorder.get("recordingGroup") or {}
        status = statuses.get(recorder["name"], {})
        result.append({
            "name": recorder["name"],
            "role_arn": recorder.get("roleARN"),
            "all_supported": bool(group.get("allSupported")),
            "include_global_resource_types": bool(group.get("includeGlobalResourceTypes")),
            "recording": bool(status.get("recording")),
            "last_status": status.get("lastStatus"),
        })
    channels = [
        {"name": c["name"], "s3_bucket_name": c.get("s3BucketName"), "s3_key_prefix": c.get("s3KeyPrefix")}
        for c in config.describe_delivery_channels()["DeliveryChannels"]
    ]
    return result, channels


def guardduty_state(guardduty):
    detectors = []
    for detector_id in paginate(guardduty, "list_detectors", "DetectorIds"):
        detector = guardduty.get_detector(DetectorId=detector_id)
        s3_logs = ((detector.get("DataSources") or {}).get("S3Logs") or {}).get("Status")
        features = {f.get("Name"): f.get("Status") for f in detector.get("Features") or []}
        detectors.append({
            "detector_id": detector_id,
            "status": detector.get("Status"),
            "s3_protection": "ENABLED" in (s3_logs, features.get("S3_DATA_EVENTS")),
        })
    return detectors


def flow_logs(ec2, vpc_ids):
    if not vpc_ids:
        return []
    found = paginate(ec2, "describe_flow_logs", "FlowLogs", Filters=[{"Name": "resource-id", "Values": vpc_ids}])
    return [
        {
            "flow_log_id": f["FlowLogId"],
            "resource_id": f.get("ResourceId"),
            "traffic_type": f.get("TrafficType"),
            "log_destination_type": f.get("LogDestinationType", "cloud-watch-logs"),
            "log_group_name": f.get("LogGroupName"),
            "status": f.get("FlowLogStatus"),
        }
        for f in found
    ]


def event_selectors(cloudtrail, trail):
    none = {"EventSelectors": [], "AdvancedEventSelectors": []}
    if not trail:
        return none
    try:
        found = cloudtrail.get_event_selectors(TrailName=trail)
    except is_boto3_error_code("TrailNotFoundException"):
        return none
    return {"EventSelectors": found.get("EventSelectors") or [], "AdvancedEventSelectors": found.get("AdvancedEventSelectors") or []}


def object_lock(s3, buckets):
    result = {}
    for name in buckets:
        try:
            result[name] = read_object_lock(s3, name)
        except is_boto3_error_code("NoSuchBucket"):
            result[name] = {}
    return result


def event_rules(events, names):
    result = {}
    for name in names:
        try:
            rule = events.describe_rule(Name=name)
        except is_boto3_error_code("ResourceNotFoundException"):
            result[name] = {}
            continue
        targets = paginate(events, "list_targets_by_rule", "Targets", Rule=name)
        result[name] = {"state": rule.get("State"), "event_pattern": json.loads(rule.get("EventPattern") or "{}"),
                        "targets": [t["Arn"] for t in targets]}
    return result


def documents(ssm, names):
    result = {}
    for name in names:
        try:
            result[name] = json.loads(ssm.get_document(Name=name, DocumentFormat="JSON")["Content"])
        except is_boto3_error_code("InvalidDocument"):
            result[name] = {}
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_ids=dict(type="list", elements="str", default=[]),
            trail=dict(type="str"),
            object_lock_buckets=dict(type="list", elements="str", default=[]),
            event_rules=dict(type="list", elements="str", default=[]),
            documents=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # What each part reads, and what a failure says.
    reads = [
        (("config_recorders", "delivery_channels"), lambda: config_state(module.client("config")), "AWS Config's recorders"),
        (("guardduty_detectors",), lambda: (guardduty_state(module.client("guardduty")),), "the GuardDuty detectors"),
        (("flow_logs",), lambda: (flow_logs(module.client("ec2"), params["vpc_ids"]),), "the VPCs' flow logs"),
        (("event_selectors",), lambda: (event_selectors(module.client("cloudtrail"), params["trail"]),), "the trail's event selectors"),
        (("object_lock",), lambda: (object_lock(module.client("s3"), params["object_lock_buckets"]),),
         "the buckets' Object Lock configuration"),
        (("event_rules",), lambda: (event_rules(module.client("events"), params["event_rules"]),), "the EventBridge rules"),
        (("documents",), lambda: (documents(module.client("ssm"), params["documents"]),), "the Systems Manager documents"),
    ]
    result = {}
    for keys, read, what in reads:
        try:
            result.update(zip(keys, read()))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to read {what}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
