"""support/aws_model.py, the model of AWS's timing, against an in-process emulator: latency, and a new
EC2 resource unknown to reads by ID for a moment while filtered listings go on."""

from __future__ import annotations

import contextlib
import time

import boto3
import botocore.config
import botocore.exceptions
import pytest

from support.aws_model import CONSISTENCY_S, DELAYS, AwsModel, Delay, critical_path
from support.ecr_registry import IMAGE, EcrRegistry
from support.module_harness import load_module, run_module

ec2_tagged_resources = load_module("ec2_tagged_resources")
ecr_image = load_module("ecr_image")


def client(service, url):
    return boto3.client(service, region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=botocore.config.Config(retries={"max_attempts": 0}))


def ec2(url):
    return client("ec2", url)


def test_every_call_waits_the_latency(emulator):
    with AwsModel(emulator, latency_ms=200, delays=False, consistency=False, role_propagation=False) as model:
        started = time.monotonic()
        ec2(model.url).describe_vpcs()
        assert time.monotonic() - started >= 0.2


def test_a_new_vpc_is_unknown_to_reads_by_id_for_a_moment_and_then_found(emulator):
    scale = CONSISTENCY_S / 0.5  # half a second
    with AwsModel(emulator, latency_ms=0, lag_scale=scale) as model:
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


def test_the_critical_path_is_the_longest_chain_of_dependent_waits():
    delays = {"stack": Delay(150, ""), "compute_environment": Delay(45, ""), "job_queue": Delay(15, "")}
    assert critical_path(delays) == (150, ["stack"])
    # A queue after a slower compute environment makes the longer chain.
    delays["compute_environment"] = Delay(140, "")
    assert critical_path(delays) == (155, ["compute_environment", "job_queue"])
    assert critical_path()[0] >= max(d.seconds for d in DELAYS.values())


def test_ec2_tagged_resources_returns_only_once_ec2_finds_what_it_made_by_its_id(emulator):
    """The next task reads a new route table or NACL by its ID (ec2_route_tables, the NACL step): the module
    waits until EC2 answers that read, where AWS may say NotFound for seconds after the create."""
    vpc_id = ec2(emulator).create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    with AwsModel(emulator, latency_ms=0, lag_scale=CONSISTENCY_S / 1.0) as model:  # unknown for a second
        result = run_module(ec2_tagged_resources, {"endpoint_url": model.url, "tags": {"Project": "model"}, "resources": [
            {"type": "route_table", "name": "model-rt", "vpc_id": vpc_id},
            {"type": "network_acl", "name": "model-nacl", "vpc_id": vpc_id}]})
        assert result.get("changed"), result
        client = ec2(model.url)
        client.describe_route_tables(RouteTableIds=[result["ids"]["model-rt"]])
        client.describe_network_acls(NetworkAclIds=[result["ids"]["model-nacl"]])
    # The module's own waits met the lag (the first; by the second's first read, a second had passed).
    assert model.refused and {operation for operation, _ in model.refused} <= {"DescribeRouteTables", "DescribeNetworkAcls"}


def test_a_new_nat_gateway_is_pending_in_the_creates_answer_and_in_reads_until_its_delay_has_passed(emulator):
    client = ec2(emulator)
    vpc_id = client.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet_id = client.create_subnet(VpcId=vpc_id, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    allocation_id = client.allocate_address(Domain="vpc")["AllocationId"]
    scale = DELAYS["nat_gateway"].seconds / 1.0  # made in a second
    with AwsModel(emulator, latency_ms=0, time_scale=scale, consistency=False) as model:
        client = ec2(model.url)
        created = client.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id)["NatGateway"]
        assert created["State"] == "pending"
        listed = [{"Name": "nat-gateway-id", "Values": [created["NatGatewayId"]]}]
        assert client.describe_nat_gateways(Filters=listed)["NatGateways"][0]["State"] == "pending"
        time.sleep(1.1)
        assert client.describe_nat_gateways(Filters=listed)["NatGateways"][0]["State"] == "available"


def test_the_ecr_scan_gate_waits_for_a_scan_still_in_progress_and_then_fails_on_its_findings(emulator, monkeypatch):
    """On AWS a pushed image's scan is IN_PROGRESS for a while, with no findings yet: the registry phase's
    gate must wait for the result, not pass the image on the empty answer."""
    client("ecr", emulator).create_repository(repositoryName=IMAGE["name"],
                                              imageScanningConfiguration={"scanOnPush": True})
    scale = DELAYS["ecr_scan"].seconds / 1.0  # scanned in a second
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real_sleep(min(seconds, 0.25)))  # the gate polls every 5 s
    with AwsModel(emulator, latency_ms=0, time_scale=scale, consistency=False, role_propagation=False) as model:

        @contextlib.contextmanager
        def session(module, ecr_client=None):
            yield EcrRegistry(module, client("ecr", model.url))

        monkeypatch.setattr(ecr_image, "registry_session", session)
        result = run_module(ecr_image, {"endpoint_url": model.url, "images": [IMAGE], "scan": False,
                                        "scan_threshold": "HIGH"})
    assert model.in_progress["ecr_scan"] >= 1, "the gate never met a scan in progress"
    assert result.get("failed") and "CVE-9999-9999 (HIGH)" in result["msg"], result
