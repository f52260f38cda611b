"""support/aws_model.py, the model of AWS's timing, against an in-process emulator: latency, and a new
EC2 resource unknown to reads by ID for a moment while filtered listings go on."""

from __future__ import annotations

import time

import boto3
import botocore.config
import botocore.exceptions
import pytest

from support.aws_model import CONSISTENCY_S, AwsModel


def ec2(url):
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=botocore.config.Config(retries={"max_attempts": 0}))


def test_every_call_waits_the_latency(emulator):
    with AwsModel(emulator, latency_ms=200, delays=False, consistency=False, role_propagation=False) as model:
        started = time.monotonic()
        ec2(model.url).describe_vpcs()
        assert time.monotonic() - started >= 0.2


def test_a_new_vpc_is_unknown_to_reads_by_id_for_a_moment_and_then_found(emulator):
    scale = CONSISTENCY_S / 0.5  # half a second
    with AwsModel(emulator, latency_ms=0, time_scale=scale) as model:
        client = ec2(model.url)
        vpc_id = client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        with pytest.raises(botocore.exceptions.ClientError) as missing:
            client.describe_vpcs(VpcIds=[vpc_id])
        assert missing.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"
        # A filter only narrows a listing: AWS answers it, as the emulator does.
        assert client.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
        time.sleep(0.6)
        assert client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["VpcId"] == vpc_id
    assert model.refused == [("DescribeVpcs", vpc_id)]
