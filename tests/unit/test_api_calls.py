"""Reading the emulator's recording into read and write calls."""

from __future__ import annotations

import base64
import json

from support.api_calls import ApiCall, created_resources, parse_recording, writes

AUTH = "AWS4-HMAC-SHA256 Credential=testing/20261123/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


def entry(service, method="POST", url="http://127.0.0.1/", body="", target=None, encoded=False):
    headers = {"Authorization": AUTH.format(service=service)}
    if target:
        headers["X-Amz-Target"] = target
    if encoded:
        body = base64.b64encode(body.encode()).decode()
    return json.dumps({"headers": headers, "method": method, "url": url, "body": body, "body_encoded": encoded})


def test_query_protocol_calls_are_read_from_the_action():
    calls = parse_recording(
        entry("ec2", body="Action=DescribeVpcs&Version=2016-11-15")
        + "\n"
        + entry("ec2", body="Action=CreateVpc&CidrBlock=10.0.0.0%2F16", encoded=True)
    )
    assert calls == [ApiCall("ec2", "DescribeVpcs", "POST"), ApiCall("ec2", "CreateVpc", "POST")]
    assert [str(c) for c in writes(calls)] == ["ec2:CreateVpc"]


def test_json_protocol_calls_are_read_from_the_target_header():
    calls = parse_recording(
        entry("logs", target="Logs_20140328.DescribeLogGroups") + "\n" + entry("logs", target="Logs_20140328.PutRetentionPolicy")
    )
    assert [c.is_write for c in calls] == [False, True]


def test_rpc_v2_and_rest_calls_are_classified_too():
    calls = parse_recording(
        "\n".join(
            [
                entry("monitoring", url="http://h/service/GraniteServiceVersion20100801/operation/DescribeAlarms"),
                entry("monitoring", url="http://h/service/GraniteServiceVersion20100801/operation/PutMetricAlarm"),
                entry("s3", method="GET", url="http://h/bucket?versioning"),
                entry("s3", method="PUT", url="http://h/bucket?versioning"),
                entry("batch", method="POST", url="http://h/v1/createcomputeenvironment"),
                entry("batch", method="POST", url="http://h/v1/describejobqueues"),
                entry("batch", method="POST", url="http://h/v1/listjobs"),
                entry("s3", method="POST", url="http://h/bucket/describe-me?uploads"),
            ]
        )
    )
    assert [c.operation for c in calls[:2]] == ["DescribeAlarms", "PutMetricAlarm"]
    assert [c.is_write for c in calls] == [False, True, False, True, True, False, False, True]


def test_the_emulators_own_api_is_not_counted():
    assert parse_recording(entry("ec2", url="http://h/moto-api/reset")) == []


def test_created_resources_counts_creating_calls_and_buckets_not_settings():
    calls = parse_recording(
        "\n".join(
            [
                entry("ec2", body="Action=CreateVpc&CidrBlock=10.0.0.0%2F16"),
                entry("ec2", body="Action=CreateTags"),
                entry("ec2", body="Action=CreateNetworkAclEntry"),
                entry("ec2", body="Action=ModifyVpcAttribute"),
                entry("ec2", body="Action=RunInstances"),
                entry("ec2", body="Action=RunInstances"),
                entry("ec2", body="Action=DescribeVpcs"),
                entry("cloudformation", body="Action=CreateStack"),
                entry("iam", body="Action=AttachRolePolicy"),
                entry("logs", target="Logs_20140328.PutMetricFilter"),
                entry("logs", target="Logs_20140328.PutRetentionPolicy"),
                entry("s3", method="PUT", url="http://h/bucket"),
                entry("s3", method="PUT", url="http://h/bucket?versioning"),
                entry("s3", method="PUT", url="http://h/bucket/raw-data/"),
                entry("s3", method="PUT", url="http://h/v20180820/configuration/publicAccessBlock"),
                entry("batch", url="http://h/v1/registerjobdefinition"),
                entry("batch", url="http://h/v1/updatecomputeenvironment"),
                entry("guardduty", url="http://h/detector"),
            ]
        )
    )
    assert created_resources(calls) == {
        "ec2:CreateVpc": 1,
        "ec2:RunInstances": 2,
        "logs:PutMetricFilter": 1,
        "s3:bucket": 1,
        "batch:REST POST /v1/registerjobdefinition": 1,
        "guardduty:REST POST /detector": 1,
    }
