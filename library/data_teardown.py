#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: data_teardown
short_description: Delete an environment's retained data - trails, buckets with every version, log groups, keys
description:
  - The last, opt-in step of a teardown. Deletes the given CloudTrail trails, then the given S3 buckets with
    every object version and delete marker (the bucket policy first, so a policy that limits object calls to
    a VPC cannot block the emptying), then the given CloudWatch Logs log groups, and schedules the given KMS
    keys for deletion after a waiting period, during which the deletion can still be cancelled.
  - An AWS Config delivery channel that writes to one of the buckets is deleted with it (its recorder
    stopped first, as Config requires), since it could deliver nowhere.
  - Every existing resource must carry all of O(match_tags); otherwise nothing at all is deleted and the module
    names each resource that does not. A resource that does not exist, or a key already pending deletion,
    is skipped, so an interrupted run can be run again.
  - A bucket under S3 Object Lock that holds object versions is deleted only when S3 allows it. In
    governance mode, only with O(bypass_governance_retention) (which needs C(s3:BypassGovernanceRetention));
    in compliance mode, never before each version's retention ends. Otherwise nothing at all is deleted
    and the module says why.
  - Supports check mode, reporting what it would delete.
  - Why not M(amazon.aws.s3_bucket), M(amazon.aws.cloudtrail) and M(amazon.aws.kms_key) with C(state=absent) -
    they take one resource per task, check no ownership, and C(s3_bucket) cannot remove a bucket whose
    policy denies object calls from outside a VPC.
notes:
  - Departs from the list contract (docs/modules.md) by design - it only deletes (the toolkit's data, when
    asked), so a C(state) would have one value.
options:
  trails:
    description: Names of the CloudTrail trails to delete (in the current region, their home region).
    type: list
    elements: str
    default: []
  buckets:
    description: Names of the S3 buckets to empty and delete, in this order.
    type: list
    elements: str
    default: []
  log_groups:
    description: Names of the CloudWatch Logs log groups to delete.
    type: list
    elements: str
    default: []
  keys:
    description: The KMS keys to schedule for deletion, by alias (V(alias/name)) or key id.
    type: list
    elements: str
    default: []
  key_pending_window_days:
    description: Days a key waits before AWS deletes it (7 to 30); the deletion can be cancelled meanwhile.
    type: int
    default: 30
  match_tags:
    description: Tags every resource to delete must carry (the environment's ownership tags).
    type: dict
    required: true
  bypass_governance_retention:
    description:
      - Delete object versions that S3 Object Lock retains in governance mode, before their retention ends.
        Without it, a governance-locked bucket that holds versions stops the whole teardown.
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
- name: Delete the trail, the buckets and log groups, and schedule the keys' deletion
  data_teardown:
    trails: [rnaseq-trail]
    buckets: [rnaseq-hipaa-data-bucket, rnaseq-hipaa-data-bucket-access-logs, rnaseq-hipaa-data-bucket-audit-logs]
    log_groups: [/aws/cloudtrail/rnaseq, /aws/vpc/flow-logs/rnaseq, /aws/batch/rnaseq]
    keys: [alias/rnaseq-pipeline, alias/rnaseq-audit]
    key_pending_window_days: 7
    match_tags: {Project: rna-seq-hipaa, Environment: production}
"""

RETURN = r"""
deleted:
  description: What was deleted (or would be, in check mode); for buckets, how many object versions each held.
  returned: always
  type: dict
  sample:
    trails: [rnaseq-trail]
    config_delivery_channels: [default]
    buckets: {rnaseq-hipaa-data-bucket: 42}
    log_groups: [/aws/cloudtrail/rnaseq]
    keys: {alias/rnaseq-pipeline: 1234abcd-12ab-34cd-56ef-1234567890ab}
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_s3 import read_object_lock

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# delete_objects takes at most this many keys per call.
DELETE_BATCH = 1000


def find_trails(cloudtrail, names):
    """{name: tags} of the named trails that exist."""
    if not names:
        return {}
    trails = cloudtrail.describe_trails(trailNameList=names, includeShadowTrails=False)["trailList"]
    found = {}
    for trail in trails:
        tags = cloudtrail.list_tags(ResourceIdList=[trail["TrailARN"]])["ResourceTagList"]
        found[trail["Name"]] = tag_dict(tags[0].get("TagsList", []) if tags else [])
    return found


def find_buckets(s3, names):
    found = {}
    for name in names:
        try:
            s3.head_bucket(Bucket=name)
        except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
            continue
        try:
            found[name] = tag_dict(s3.get_bucket_tagging(Bucket=name)["TagSet"])
        except is_boto3_error_code("NoSuchTagSet"):
            found[name] = {}
    return found


def locked(s3, buckets, bypass):
    """A line per bucket whose object versions Object Lock keeps from this teardown."""
    problems = []
    for name in buckets:
        lock = read_object_lock(s3, name)
        if not lock:
            continue
        page = s3.list_object_versions(Bucket=name, MaxKeys=1)
        if not (page.get("Versions") or page.get("DeleteMarkers")):
            continue
        if lock["mode"] == "COMPLIANCE":
            problems.append(f"Bucket {name} is under Object Lock in compliance mode: no one can delete its object versions "
                            "before their retention ends, so keep it (run the teardown without teardown_delete_data)")
        elif not bypass:
            problems.append(f"Bucket {name} is under Object Lock in governance mode: its object versions go only with "
                            "-e teardown_bypass_governance_retention=true (and s3:BypassGovernanceRetention)")
    return problems


def find_log_groups(logs, names):
    found = {}
    for name in names:
        groups = paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name)
        for group in groups:
            if group["logGroupName"] == name:
                arn = group["arn"].removesuffix(":*")
                found[name] = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
    return found


def find_keys(kms, names):
    """{name: (key id, tags)} of the keys that exist and are not already pending deletion."""
    found = {}
    for name in names:
        try:
            key = kms.describe_key(KeyId=name)["KeyMetadata"]
        except is_boto3_error_code("NotFoundException"):
            continue
        if key["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        found[name] = (key["KeyId"], tag_dict(tags, "TagKey", "TagValue"))
    return found


def find_delivery_channels(config, buckets):
    """Config delivery channels that write to one of the buckets."""
    if not buckets:
        return []
    channels = config.describe_delivery_channels().get("DeliveryChannels", [])
    return [c["name"] for c in channels if c.get("s3BucketName") in buckets]


def not_owned(kind, found, tags):
    """A line per resource that lacks one of the ownership tags."""
    return [
        f"{kind} {name} does not carry the tags {tags}"
        for name, resource_tags in found.items()
        if any(resource_tags.get(k) != str(v) for k, v in tags.items())
    ]


def empty_and_delete_bucket(s3, name, bypass=False):
    """Removes the policy, every object version and delete marker, then the bucket; returns the count."""
    s3.delete_bucket_policy(Bucket=name)
    count = 0
    batch = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            batch.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
            if len(batch) == DELETE_BATCH:
                count += delete_batch(s3, name, batch, bypass)
                batch = []
    if batch:
        count += delete_batch(s3, name, batch, bypass)
    s3.delete_bucket(Bucket=name)
    return count


def delete_batch(s3, name, batch, bypass=False):
    extra = {"BypassGovernanceRetention": True} if bypass else {}
    errors = s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True}, **extra).get("Errors", [])
    if errors:
        first = errors[0]
        raise RuntimeError(f"{len(errors)} objects in {name} could not be deleted, {first['Key']}: {first['Code']} {first['Message']}")
    return len(batch)


def stop_delivery(config, channels):
    for recorder in config.describe_configuration_recorders().get("ConfigurationRecorders", []):
        config.stop_configuration_recorder(ConfigurationRecorderName=recorder["name"])
    for channel in channels:
        config.delete_delivery_channel(DeliveryChannelName=channel)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            trails=dict(type="list", elements="str", default=[]),
            buckets=dict(type="list", elements="str", default=[]),
            log_groups=dict(type="list", elements="str", default=[]),
            keys=dict(type="list", elements="str", default=[], no_log=False),
            key_pending_window_days=dict(type="int", default=30),
            match_tags=dict(type="dict", required=True),
            bypass_governance_retention=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 7 <= params["key_pending_window_days"] <= 30:
        module.fail_json(msg=f"key_pending_window_days must be between 7 and 30, not {params['key_pending_window_days']}")
    if not params["match_tags"]:
        module.fail_json(msg="match_tags must name the environment's ownership tags: without them any resource of those names would go")
    cloudtrail, s3, logs, kms, config = (module.client(s) for s in ("cloudtrail", "s3", "logs", "kms", "config"))

    try:
        trails = find_trails(cloudtrail, params["trails"])
        buckets = find_buckets(s3, params["buckets"])
        log_groups = find_log_groups(logs, params["log_groups"])
        keys = find_keys(kms, params["keys"])
        channels = find_delivery_channels(config, list(buckets))
        lock_problems = locked(s3, buckets, params["bypass_governance_retention"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the data to delete")

    problems = (not_owned("Trail", trails, params["match_tags"]) + not_owned("Bucket", buckets, params["match_tags"])
                + not_owned("Log group", log_groups, params["match_tags"])
                + not_owned("Key", {name: key[1] for name, key in keys.items()}, params["match_tags"]) + lock_problems)
    if problems:
        module.fail_json(msg="Nothing was deleted: " + " | ".join(problems))

    deleted = {"trails": list(trails), "config_delivery_channels": channels, "buckets": {name: None for name in buckets},
               "log_groups": list(log_groups), "keys": {name: key[0] for name, key in keys.items()}}
    changed = bool(trails or channels or buckets or log_groups or keys)
    diff = {"before": {kind: sorted(names) for kind, names in deleted.items()}, "after": {kind: [] for kind in deleted}}
    if module.check_mode or not changed:
        module.exit_json(changed=changed, deleted=deleted, diff=diff)

    step = "the trails"
    try:
        for name in trails:
            cloudtrail.delete_trail(Name=name)
        step = "the Config delivery channel"
        if channels:
            stop_delivery(config, channels)
        for name in buckets:
            step = f"the bucket {name}"
            deleted["buckets"][name] = empty_and_delete_bucket(s3, name, params["bypass_governance_retention"])
        step = "the log groups"
        for name in log_groups:
            logs.delete_log_group(logGroupName=name)
        step = "the keys"
        for key_id, _tags in keys.values():
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=params["key_pending_window_days"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to delete {step} (run again to finish: what is gone is skipped)")
    except RuntimeError as e:
        module.fail_json(msg=f"Failed to delete {step}: {e} (run again to finish: what is gone is skipped)")
    module.exit_json(changed=True, deleted=deleted, diff=diff)


if __name__ == "__main__":
    main()
