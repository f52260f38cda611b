"""ec2_vpc_subnets: a VPC's subnets found by CIDR, made tagged, kept as declared, read in one call."""

from __future__ import annotations

from support.module_harness import load_module, run_module

ec2_vpc_subnets = load_module("ec2_vpc_subnets")
TAGS = {"Project": "p", "Environment": "production"}


def declared(vpc_id, **extra):
    return {"vpc_id": vpc_id, "tags": TAGS, "subnets": [
        {"name": "private-1", "cidr": "10.0.1.0/24", "az": "us-east-1a"},
        {"name": "private-2", "cidr": "10.0.2.0/24", "az": "us-east-1b"}], **extra}


def subnets(ec2, vpc_id):
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return {s["CidrBlock"]: s for s in found}


def test_creates_the_subnets_tagged_in_their_zones_then_does_nothing(ec2, vpc_id):
    first = run_module(ec2_vpc_subnets, declared(vpc_id))
    assert first["changed"] is True and first["changes"] == {"10.0.1.0/24": ["created"], "10.0.2.0/24": ["created"]}
    made = subnets(ec2, vpc_id)
    assert [s["id"] for s in first["subnets"]] == [made["10.0.1.0/24"]["SubnetId"], made["10.0.2.0/24"]["SubnetId"]]
    assert made["10.0.2.0/24"]["AvailabilityZone"] == "us-east-1b" and made["10.0.2.0/24"]["MapPublicIpOnLaunch"] is False
    assert {t["Key"]: t["Value"] for t in made["10.0.1.0/24"]["Tags"]} == {**TAGS, "Name": "private-1"}

    again = run_module(ec2_vpc_subnets, declared(vpc_id))
    assert again["changed"] is False and again["changes"] == {} and again["subnets"] == first["subnets"]


def test_check_mode_plans_without_writing(ec2, vpc_id):
    planned = run_module(ec2_vpc_subnets, {**declared(vpc_id), "_ansible_check_mode": True})
    assert planned["changed"] is True and [s["id"] for s in planned["subnets"]] == ["", ""]
    assert subnets(ec2, vpc_id) == {}


def test_public_ip_on_launch_and_tag_drift_are_repaired(ec2, vpc_id):
    run_module(ec2_vpc_subnets, declared(vpc_id))
    subnet_id = subnets(ec2, vpc_id)["10.0.1.0/24"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": "Stray", "Value": "x"}, {"Key": "Name", "Value": "renamed"}])
    repaired = run_module(ec2_vpc_subnets, declared(vpc_id))
    assert repaired["changes"] == {"10.0.1.0/24": ["map_public", "tags"]}
    subnet = subnets(ec2, vpc_id)["10.0.1.0/24"]
    assert subnet["MapPublicIpOnLaunch"] is False
    assert {t["Key"]: t["Value"] for t in subnet["Tags"]} == {**TAGS, "Name": "private-1"}


def test_with_purge_tags_false_a_tag_set_by_hand_stays(ec2, vpc_id):
    run_module(ec2_vpc_subnets, declared(vpc_id))
    subnet_id = subnets(ec2, vpc_id)["10.0.1.0/24"]["SubnetId"]
    ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": "CostCentre", "Value": "genomics"}])
    kept = run_module(ec2_vpc_subnets, declared(vpc_id, purge_tags=False))
    assert kept["changed"] is False and kept["changes"] == {}
    assert kept["diff"]["after"]["10.0.1.0/24"]["tags"] == {**TAGS, "Name": "private-1", "CostCentre": "genomics"}
    assert "CostCentre" in {t["Key"] for t in subnets(ec2, vpc_id)["10.0.1.0/24"]["Tags"]}
    assert run_module(ec2_vpc_subnets, declared(vpc_id))["changes"] == {"10.0.1.0/24": ["tags"]}


def test_a_subnet_found_in_another_zone_is_refused_before_any_change(ec2, vpc_id):
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1c")
    result = run_module(ec2_vpc_subnets, declared(vpc_id))
    assert result["failed"] is True and "10.0.2.0/24 is in us-east-1c, not us-east-1b" in result["msg"]
    assert set(subnets(ec2, vpc_id)) == {"10.0.2.0/24"}


def test_a_subnet_with_state_absent_is_planned_then_deleted_once_whatever_its_zone(ec2, vpc_id):
    first = run_module(ec2_vpc_subnets, declared(vpc_id))
    gone = {"vpc_id": vpc_id, "subnets": [{"cidr": "10.0.1.0/24", "state": "absent"}, {"cidr": "10.0.9.0/24", "state": "absent"}]}
    planned = run_module(ec2_vpc_subnets, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {"10.0.1.0/24": ["deleted"]} and planned["diff"]["after"]["10.0.1.0/24"] is None
    assert len(subnets(ec2, vpc_id)) == 2, "check mode wrote nothing"
    removed = run_module(ec2_vpc_subnets, gone)
    assert removed["changed"] is True and removed["subnets"][0]["id"] == first["subnets"][0]["id"]
    assert list(subnets(ec2, vpc_id)) == ["10.0.2.0/24"]
    assert run_module(ec2_vpc_subnets, gone)["changed"] is False
    refused = run_module(ec2_vpc_subnets, {"vpc_id": vpc_id, "subnets": [{"cidr": "10.0.3.0/24"}]})
    assert refused["failed"] is True and "az" in refused["msg"]
