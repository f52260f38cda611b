"""data_teardown: the retained data goes only when asked, only when it is the environment's, and all of it."""

from __future__ import annotations

import json

import boto3
import pytest

from support.module_harness import load_module, run_module

data_teardown = load_module("data_teardown")
OWNER = {"Project": "p", "Environment": "production"}
REGION = "us-east-1"


@pytest.fixture
def aws(mocked_aws):
    yield {s: boto3.client(s, region_name=REGION) for s in ("s3", "cloudtrail", "logs", "kms", "config")}


def make_environment(aws, bucket_tags=OWNER):
    """A versioned data bucket (with a policy, overwritten and deleted objects), a log bucket the trail and
    Config deliver to, a log group and a key: what the storage and audit phases leave behind."""
    s3 = aws["s3"]
    tag_set = [{"Key": k, "Value": v} for k, v in OWNER.items()]
    for bucket in ("data-bucket", "data-bucket-audit-logs"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in bucket_tags.items()]})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for body in (b"one", b"two"):
            s3.put_object(Bucket=bucket, Key="raw-data/sample.fastq", Body=body)
        s3.delete_object(Bucket=bucket, Key="raw-data/sample.fastq")
    s3.put_bucket_policy(Bucket="data-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": "arn:aws:s3:::data-bucket/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    aws["cloudtrail"].create_trail(Name="env-trail", S3BucketName="data-bucket-audit-logs", TagsList=tag_set)
    aws["logs"].create_log_group(logGroupName="/aws/cloudtrail/env", tags=OWNER)
    key = aws["kms"].create_key(Tags=[{"TagKey": k, "TagValue": v} for k, v in OWNER.items()])["KeyMetadata"]["KeyId"]
    aws["kms"].create_alias(AliasName="alias/env-audit", TargetKeyId=key)
    config = aws["config"]
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": "arn:aws:iam::123456789012:role/config", "recordingGroup": {"allSupported": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "data-bucket-audit-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    return key


ARGS = {
    "trails": ["env-trail"],
    "buckets": ["data-bucket", "data-bucket-audit-logs"],
    "log_groups": ["/aws/cloudtrail/env"],
    "keys": ["alias/env-audit"],
    "key_pending_window_days": 7,
    "match_tags": OWNER,
}


def test_deletes_every_version_the_trail_log_group_and_schedules_the_key(aws):
    key = make_environment(aws)
    result = run_module(data_teardown, ARGS)
    assert result["changed"] is True
    # Two versions and a delete marker in each bucket.
    assert result["deleted"]["buckets"] == {"data-bucket": 3, "data-bucket-audit-logs": 3}
    assert result["deleted"]["keys"] == {"alias/env-audit": key}
    assert result["deleted"]["config_delivery_channels"] == ["default"]
    assert aws["s3"].list_buckets()["Buckets"] == []
    assert aws["cloudtrail"].describe_trails()["trailList"] == []
    assert aws["logs"].describe_log_groups()["logGroups"] == []
    assert aws["kms"].describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert aws["config"].describe_delivery_channels()["DeliveryChannels"] == []

    again = run_module(data_teardown, ARGS)
    assert again["changed"] is False


def test_check_mode_names_what_would_go_and_deletes_nothing(aws):
    key = make_environment(aws)
    result = run_module(data_teardown, {**ARGS, "_ansible_check_mode": True})
    assert result["changed"] is True and result["deleted"]["trails"] == ["env-trail"]
    assert len(aws["s3"].list_buckets()["Buckets"]) == 2
    assert aws["kms"].describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert len(aws["cloudtrail"].describe_trails()["trailList"]) == 1


def test_a_resource_without_the_ownership_tags_stops_everything(aws):
    make_environment(aws, bucket_tags={"Project": "p", "Environment": "validation"})
    result = run_module(data_teardown, ARGS)
    assert result["failed"] is True
    assert result["msg"].startswith("Nothing was deleted: Bucket data-bucket does not carry the tags")
    assert len(aws["s3"].list_buckets()["Buckets"]) == 2
    assert len(aws["cloudtrail"].describe_trails()["trailList"]) == 1


def test_a_pending_window_aws_refuses_is_refused_first(aws):
    result = run_module(data_teardown, {**ARGS, "key_pending_window_days": 3})
    assert result["failed"] is True and "between 7 and 30" in result["msg"]


def lock_audit_logs(aws, mode):
    """The audit log bucket under Object Lock, holding a log file written after it."""
    s3 = aws["s3"]
    s3.create_bucket(Bucket="locked-audit-logs")
    s3.put_bucket_tagging(Bucket="locked-audit-logs", Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in OWNER.items()]})
    s3.put_bucket_versioning(Bucket="locked-audit-logs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket="locked-audit-logs", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, "Days": 30}}})
    s3.put_object(Bucket="locked-audit-logs", Key="cloudtrail/log.json.gz", Body=b"{}", ChecksumAlgorithm="SHA256")
    return {**ARGS, "buckets": ["data-bucket", "locked-audit-logs"]}


def test_a_governance_locked_bucket_stops_everything_unless_the_retention_is_bypassed(aws):
    make_environment(aws)
    args = lock_audit_logs(aws, "GOVERNANCE")
    refused = run_module(data_teardown, args)
    assert refused["failed"] is True
    assert refused["msg"] == ("Nothing was deleted: Bucket locked-audit-logs is under Object Lock in governance mode: its "
                              "object versions go only with -e teardown_bypass_governance_retention=true (and "
                              "s3:BypassGovernanceRetention)")
    assert len(aws["s3"].list_buckets()["Buckets"]) == 3
    assert len(aws["cloudtrail"].describe_trails()["trailList"]) == 1

    done = run_module(data_teardown, {**args, "bypass_governance_retention": True})
    assert done["changed"] is True and done["deleted"]["buckets"]["locked-audit-logs"] == 1
    assert [b["Name"] for b in aws["s3"].list_buckets()["Buckets"]] == ["data-bucket-audit-logs"]


def test_a_compliance_locked_bucket_stops_everything_even_with_the_bypass(aws):
    make_environment(aws)
    args = lock_audit_logs(aws, "COMPLIANCE")
    refused = run_module(data_teardown, {**args, "bypass_governance_retention": True})
    assert refused["failed"] is True
    assert "locked-audit-logs is under Object Lock in compliance mode: no one can delete" in refused["msg"]
    assert len(aws["s3"].list_buckets()["Buckets"]) == 3
