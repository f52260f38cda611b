"""scripts/local-cloud-emulator: the IAM action each request is authorized
under, as IAM names it (the policies are written in IAM's names)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EMULATOR = runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "local-cloud-emulator"), run_name="emulator")
iam_action = EMULATOR["iam_action"]


@pytest.mark.parametrize("moto_action, path, expected", [
    ("s3:ListObjectsV2", "/data", "s3:ListBucket"),
    ("s3:HeadBucket", "/data", "s3:ListBucket"),
    ("s3:GetBucketEncryption", "/data", "s3:GetEncryptionConfiguration"),
    ("s3:PutBucketLifecycleConfiguration", "/data", "s3:PutLifecycleConfiguration"),
    ("s3:GetPublicAccessBlock", "/data", "s3:GetBucketPublicAccessBlock"),
    ("s3:GetPublicAccessBlock", "/v20180820/configuration/publicAccessBlock", "s3:GetAccountPublicAccessBlock"),
    ("s3:CreateMultipartUpload", "/data/key", "s3:PutObject"),
    ("s3:GetObject", "/data/key", "s3:GetObject"),
    ("s3:PutObjectLockConfiguration", "/data", "s3:PutBucketObjectLockConfiguration"),
    ("monitoring:PutMetricAlarm", "/", "cloudwatch:PutMetricAlarm"),
    ("batch:createjobqueue", "/v1/createjobqueue", "batch:CreateJobQueue"),
    ("guardduty:ListDetectors", "/detector", "guardduty:ListDetectors"),
    ("kms:DescribeKey", "/", "kms:DescribeKey"),
])
def test_each_request_is_authorized_under_the_name_iam_gives_it(moto_action, path, expected):
    assert iam_action(moto_action, path) == expected


def test_json_services_are_known_so_their_refusals_are_worded_in_json():
    protocol = EMULATOR["service_protocol"]
    assert protocol("kms") == "json" and protocol("batch") == "rest-json" and protocol("ec2") == "ec2"


def test_object_lock_goes_on_a_versioned_bucket_that_holds_objects_as_s3_allows(mocked_aws):
    import boto3
    from moto.s3.exceptions import BucketNeedsToBeNew, InvalidBucketState
    from moto.s3.models import s3_backends

    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("audit-logs", "plain-bucket"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="old.json.gz", Body=b"{}")
    s3.put_bucket_versioning(Bucket="audit-logs", VersioningConfiguration={"Status": "Enabled"})
    backend = s3_backends["123456789012"]["aws"]
    with pytest.raises(BucketNeedsToBeNew):  # moto as it ships
        backend.put_object_lock_configuration("audit-logs", True, "GOVERNANCE", 30)

    EMULATOR["put_object_lock_configuration"](backend, "audit-logs", True, "GOVERNANCE", 30)
    found = s3.get_object_lock_configuration(Bucket="audit-logs")["ObjectLockConfiguration"]
    assert found["ObjectLockEnabled"] == "Enabled" and found["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    with pytest.raises(InvalidBucketState):  # versioning stays required, as on S3
        EMULATOR["put_object_lock_configuration"](backend, "plain-bucket", True, "GOVERNANCE", 30)
