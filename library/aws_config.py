#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_config
short_description: AWS Config in a region, its recording and its managed rules, in one task
description:
  - Makes the region's configuration recorder record all supported resources (global ones included, or
    not), with the given role; makes its delivery channel deliver to the given bucket and prefix; and
    starts the recorder. AWS Config allows one recorder and one delivery channel per region; existing ones
    are updated in place whatever their names.
  - Puts each AWS managed Config rule of O(rules) (by its source identifier) with its input parameters and
    scope, reading all of them with one paginated call. Rules named with O(rule_name_prefix) that the list
    does not declare are deleted when O(purge_rules=true), and a rule with O(rules[].state=absent) whatever
    O(purge_rules) says.
  - Writes only what differs from what Config describes; supports check mode and diff.
notes:
  - Why not M(community.aws.config_recorder), M(community.aws.config_delivery_channel) and
    M(community.aws.config_rule)? None of them supports check mode, so C(--check) skips them and a review
    shows no Config drift, and the rule module takes one rule per module run (the quick start and HIPAA
    sets are a dozen rules).
  - Why one module for the recording and the rules? They are one runbook step, and a no-op converge starts
    one module instead of two (0.65 s here for the second module run and 0.18 s for building its payload,
    measured on the local cloud, 2026-12-06).
options:
  name:
    description: Name of the recorder and the delivery channel when they are created.
    type: str
    default: default
  role_arn:
    description: The role Config records with (its service-linked role, say).
    type: str
    required: true
  include_global_resources:
    description: Record global resources (IAM) too. Do so in one region only.
    type: bool
    default: true
  bucket:
    description: The bucket the delivery channel writes to.
    type: str
    required: true
  prefix:
    description: The key prefix in the bucket.
    type: str
    default: ""
  sns_topic_arn:
    description: A topic notified of configuration changes.
    type: str
  delivery_frequency:
    description: How often configuration snapshots are delivered.
    type: str
    default: TwentyFour_Hours
    choices: [One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours]
  rule_name_prefix:
    description: Prefix of every rule name this module owns (prepended to O(rules[].name)).
    type: str
    default: ""
  purge_rules:
    description: Delete owned rules (those named with O(rule_name_prefix)) the list does not declare.
    type: bool
    default: true
  rules:
    description: The AWS managed rules.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The rule's name (after O(rule_name_prefix)).
        type: str
        required: true
      identifier:
        description: The AWS managed rule's source identifier, such as V(CLOUD_TRAIL_ENABLED); required when present.
        type: str
      parameters:
        description: The rule's input parameters (values are sent as strings).
        type: dict
        default: {}
      resource_types:
        description: Resource types the rule evaluates (its scope); all when empty.
        type: list
        elements: str
        default: []
      description:
        description: The rule's description.
        type: str
        default: ""
      frequency:
        description: For periodic rules, how often they run.
        type: str
        choices: [One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours]
      state:
        description: Whether the rule exists.
        type: str
        choices: [present, absent]
        default: present
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Record every resource, deliver to the log bucket, and the quick start's rules
  aws_config:
    role_arn: "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    bucket: rnaseq-hipaa-audit-logs
    prefix: config
    rule_name_prefix: rnaseq-
    rules:
      - name: cloudtrail-enabled
        identifier: CLOUD_TRAIL_ENABLED
      - name: required-tags
        identifier: REQUIRED_TAGS
        parameters: {tag1Key: Project, tag2Key: Environment}
        resource_types: ["AWS::EC2::Instance", "AWS::EC2::Volume"]
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {default: [recorder], rnaseq-cloudtrail-enabled: [created]}
recorder:
  description: The recorder's name and whether it records.
  returned: always
  type: dict
  sample: {name: default, recording: true}
changed_parts:
  description: What of the recording was created, updated or started (recorder, delivery_channel, recording).
  returned: always
  type: list
  elements: str
rules:
  description: Each rule's name and what was done (created, updated, unchanged).
  returned: always
  type: list
  elements: dict
deleted_rules:
  description: Owned rules deleted because the list no longer declares them.
  returned: always
  type: list
  elements: str
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

FREQUENCIES = ["One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"]

# IAM is eventually consistent: AWS Config refuses a role made moments ago
# with InvalidRoleException, for seconds (the identity phase makes it just before).
NEW_ROLE_RETRY = AWSRetry.jittered_backoff(retries=8, delay=2, max_delay=10, catch_extra_error_codes=["InvalidRoleException"])


def converge_recording(module, config, before, after):
    """The recorder, the delivery channel and recording. Returns (changed parts, recorder name, recording)."""
    p = module.params
    changed = []
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    recorder_name = recorders[0]["name"] if recorders else p["name"]
    wanted_recorder = {"name": recorder_name, "roleARN": p["role_arn"], "recordingGroup": {
        "allSupported": True, "includeGlobalResourceTypes": p["include_global_resources"]}}
    have = None
    if recorders:
        group = recorders[0].get("recordingGroup") or {}
        have = {"name": recorder_name, "roleARN": recorders[0].get("roleARN"), "recordingGroup": {
            "allSupported": group.get("allSupported"), "includeGlobalResourceTypes": group.get("includeGlobalResourceTypes")}}
    if have != wanted_recorder:
        changed.append("recorder")
        before["recorder"], after["recorder"] = have, wanted_recorder
        if not module.check_mode:
            NEW_ROLE_RETRY(config.put_configuration_recorder)(ConfigurationRecorder=wanted_recorder)

    channels = config.describe_delivery_channels()["DeliveryChannels"]
    wanted_channel = {"name": channels[0]["name"] if channels else p["name"], "s3BucketName": p["bucket"],
                      "configSnapshotDeliveryProperties": {"deliveryFrequency": p["delivery_frequency"]}}
    if p["prefix"]:
        wanted_channel["s3KeyPrefix"] = p["prefix"]
    if p["sns_topic_arn"]:
        wanted_channel["snsTopicARN"] = p["sns_topic_arn"]
    have_channel = None
    if channels:
        have_channel = {k: channels[0][k] for k in ("name", "s3BucketName", "s3KeyPrefix", "snsTopicARN") if channels[0].get(k)}
        have_channel["configSnapshotDeliveryProperties"] = {
            "deliveryFrequency": (channels[0].get("configSnapshotDeliveryProperties") or {}).get("deliveryFrequency")}
    if have_channel != wanted_channel:
        changed.append("delivery_channel")
        before["delivery_channel"], after["delivery_channel"] = have_channel, wanted_channel
        if not module.check_mode:
            config.put_delivery_channel(DeliveryChannel=wanted_channel)

    status = [] if not recorders else config.describe_configuration_recorder_status(
        ConfigurationRecorderNames=[recorder_name])["ConfigurationRecordersStatus"]
    recording = bool(status and status[0].get("recording"))
    if not recording:
        changed.append("recording")
        before["recording"], after["recording"] = False, True
        if not module.check_mode:
            config.start_configuration_recorder(ConfigurationRecorderName=recorder_name)
    return changed, recorder_name, recording


def wanted_rule(spec, name):
    rule = {"ConfigRuleName": name, "Description": spec["description"],
            "Source": {"Owner": "AWS", "SourceIdentifier": spec["identifier"]}}
    if spec["parameters"]:
        rule["InputParameters"] = json.dumps({k: str(v) for k, v in sorted(spec["parameters"].items())})
    if spec["resource_types"]:
        rule["Scope"] = {"ComplianceResourceTypes": sorted(spec["resource_types"])}
    if spec.get("frequency"):
        rule["MaximumExecutionFrequency"] = spec["frequency"]
    return rule


def comparable(rule):
    """The fields this module sets, from a described or a wanted rule."""
    source = rule.get("Source") or {}
    parameters = rule.get("InputParameters")
    return {
        "description": rule.get("Description") or "",
        "identifier": source.get("SourceIdentifier"),
        "parameters": json.loads(parameters) if parameters and parameters != "{}" else {},
        "resource_types": sorted((rule.get("Scope") or {}).get("ComplianceResourceTypes") or []),
        "frequency": rule.get("MaximumExecutionFrequency"),
    }


def converge_rules(module, config, before, after):
    """The managed rules, after the recorder (Config evaluates rules only while it records). Returns (results, deleted)."""
    prefix = module.params["rule_name_prefix"]
    results, names = [], []
    existing = {r["ConfigRuleName"]: r for r in paginate(config, "describe_config_rules", "ConfigRules")}
    for spec in module.params["rules"]:
        name = prefix + spec["name"]
        names.append(name)
        found = existing.get(name)
        if spec["state"] == "absent":
            results.append({"name": name, "state": "deleted" if found else "unchanged"})
            if found:
                before.setdefault("rules", {})[name], after.setdefault("rules", {})[name] = comparable(found), None
                if not module.check_mode:
                    config.delete_config_rule(ConfigRuleName=name)
            continue
        rule = wanted_rule(spec, name)
        state = "unchanged"
        if not found or comparable(found) != comparable(rule):
            state = "updated" if found else "created"
            before.setdefault("rules", {})[name] = comparable(found) if found else None
            after.setdefault("rules", {})[name] = comparable(rule)
            if not module.check_mode:
                config.put_config_rule(ConfigRule=rule)
        results.append({"name": name, "state": state})
    deleted = []
    if module.params["purge_rules"] and prefix:
        deleted = sorted(n for n in existing if n.startswith(prefix) and n not in names)
        for name in deleted:
            before.setdefault("rules", {})[name], after.setdefault("rules", {})[name] = comparable(existing[name]), None
            if not module.check_mode:
                config.delete_config_rule(ConfigRuleName=name)
    return results, deleted


def main():
    argument_spec = dict(
        name=dict(type="str", default="default"),
        role_arn=dict(type="str", required=True),
        include_global_resources=dict(type="bool", default=True),
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default=""),
        sns_topic_arn=dict(type="str"),
        delivery_frequency=dict(type="str", default="TwentyFour_Hours", choices=FREQUENCIES),
        rule_name_prefix=dict(type="str", default=""),
        purge_rules=dict(type="bool", default=True),
        rules=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            identifier=dict(type="str"),
            parameters=dict(type="dict", default={}),
            resource_types=dict(type="list", elements="str", default=[]),
            description=dict(type="str", default=""),
            frequency=dict(type="str", choices=FREQUENCIES),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ), required_if=[["state", "present", ["identifier"]]]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    config = module.client("config")
    before, after = {}, {}
    try:
        changed, recorder_name, recording = converge_recording(module, config, before, after)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to set up AWS Config's recording")
    try:
        rules, deleted = converge_rules(module, config, before, after)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the AWS Config rules")
    module.exit_json(changed=bool(changed) or bool(deleted) or any(r["state"] != "unchanged" for r in rules),
                     changed_parts=changed, recorder={"name": recorder_name, "recording": recording or not module.check_mode},
                     rules=rules, deleted_rules=deleted, diff={"before": before, "after": after},
                     changes={**({recorder_name: changed} if changed else {}), **{name: ["deleted"] for name in deleted},
                              **{r["name"]: [r["state"]] for r in rules if r["state"] != "unchanged"}})


if __name__ == "__main__":
    main()
