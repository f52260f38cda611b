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
