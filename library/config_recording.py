#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config_recording
short_description: AWS Config's recorder and delivery channel, recording, in one task
description:
  - Makes the region's configuration recorder record all supported resources (global ones included, or
    not), with the given role; makes its delivery channel deliver to the given bucket and prefix; and
    starts the recorder. AWS Config allows one recorder and one delivery channel per region; existing ones
    are updated in place whatever their names.
  - Writes only what differs from what Config describes; supports check mode and diff.
notes:
  - Why not M(community.aws.config_recorder) and M(community.aws.config_delivery_channel)? Neither
    supports check mode, so C(--check) skips them and a review shows no Config drift.
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
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Record every resource and deliver to the log bucket
  config_recording:
    role_arn: "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    bucket: rnaseq-hipaa-audit-logs
    prefix: config
"""

RETURN = r"""
recorder:
  description: The recorder's name and whether it records.
  returned: always
  type: dict
  sample: {name: default, recording: true}
changed_parts:
  description: What was created, updated or started (recorder, delivery_channel, recording).
  returned: always
  type: list
  elements: str
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# IAM is eventually consistent: AWS Config refuses a role made moments ago
# with InvalidRoleException, for seconds (the identity phase makes it just before).
NEW_ROLE_RETRY = AWSRetry.jittered_backoff(retries=8, delay=2, max_delay=10, catch_extra_error_codes=["InvalidRoleException"])


def main():
    argument_spec = dict(
        name=dict(type="str", default="default"),
        role_arn=dict(type="str", required=True),
        include_global_resources=dict(type="bool", default=True),
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default=""),
        sns_topic_arn=dict(type="str"),
        delivery_frequency=dict(type="str", default="TwentyFour_Hours",
                                choices=["One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    config = module.client("config")
    changed, before, after = [], {}, {}
    try:
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
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to set up AWS Config's recording")
    module.exit_json(changed=bool(changed), changed_parts=changed,
                     recorder={"name": recorder_name, "recording": recording or not module.check_mode},
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
