"""ec2_tagged_resources: created with their tags in one call, found by them afterwards."""

from __future__ import annotations

import boto3
import pytest

from support.module_harness import load_module, run_module

ec2_tagged_resources = load_module("ec2_tagged_resources")
OWNER = {"Project": "p", "Environment": "production"}


@pytest.fixture
def ec2(mocked_aws):
    yield boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def tags_of(item):
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


def test_creates_each_missing_resource_already_tagged_then_finds_it(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    wanted = [
        {"type": "network_acl", "name": "nacl", "vpc_id": vpc},
        {"type": "route_table", "name": "rt", "vpc_id": vpc},
        {"type": "internet_gateway", "name": "igw"},
    ]
    first = run_module(ec2_tagged_resources, {"tags": OWNER, "resources": wanted})
    assert first["changed"] is True and first["created"] == ["nacl", "rt", "igw"]
    assert first["changes"] == {"nacl": ["created"], "rt": ["created"], "igw": ["created"]}
    nacl = ec2.describe_network_acls(NetworkAclIds=[first["ids"]["nacl"]])["NetworkAcls"][0]
    assert tags_of(nacl) == {**OWNER, "Name": "nacl"} and nacl["VpcId"] == vpc
    gateway = ec2.describe_internet_gateways(InternetGatewayIds=[first["ids"]["igw"]])["InternetGateways"][0]
    assert tags_of(gateway) == {**OWNER, "Name": "igw"}

    again = run_module(ec2_tagged_resources, {"tags": OWNER, "resources": wanted})
    assert again["changed"] is False and again["created"] == [] and again["ids"] == first["ids"] and again["changes"] == {}


def test_another_environments_resource_of_the_same_name_is_not_ours(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    wanted = [{"type": "route_table", "name": "rt", "vpc_id": vpc}]
    theirs = run_module(ec2_tagged_resources, {"tags": {**OWNER, "Environment": "validation"}, "resources": wanted})
    ours = run_module(ec2_tagged_resources, {"tags": OWNER, "resources": wanted})
    assert ours["created"] == ["rt"] and ours["ids"]["rt"] != theirs["ids"]["rt"]


def test_check_mode_creates_nothing(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    result = run_module(ec2_tagged_resources, {"tags": OWNER, "_ansible_check_mode": True,
                                               "resources": [{"type": "network_acl", "name": "nacl", "vpc_id": vpc}]})
    assert result["changed"] is True and result["ids"] == {"nacl": ""}
    assert [n for n in ec2.describe_network_acls()["NetworkAcls"] if not n["IsDefault"]] == []


def test_two_of_the_same_name_and_owner_are_refused(ec2):
    for _ in range(2):
        ec2.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": [
            {"Key": "Name", "Value": "igw"}, {"Key": "Project", "Value": "p"}, {"Key": "Environment", "Value": "production"}]}])
    result = run_module(ec2_tagged_resources, {"tags": OWNER, "resources": [{"type": "internet_gateway", "name": "igw"}]})
    assert result["failed"] is True and "More than one internet_gateway carries the name igw" in result["msg"]


def test_a_vpc_resource_without_its_vpc_is_refused(ec2):
    result = run_module(ec2_tagged_resources, {"resources": [{"type": "network_acl", "name": "nacl"}]})
    assert result["failed"] is True and result["msg"] == "network_acl nacl needs vpc_id"
