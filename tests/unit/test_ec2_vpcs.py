"""ec2_vpcs: VPCs found by their Name and ownership tags, made tagged, kept as declared."""

from __future__ import annotations

from support.module_harness import load_module, run_module

ec2_vpcs = load_module("ec2_vpcs")
OWNER = {"Project": "p", "Environment": "production"}


def declared(**vpc):
    return {"vpcs": [{"name": "prod-vpc", "cidr_block": "10.0.0.0/16", **vpc}], "tags": OWNER, "match_tags": OWNER}


def owned(ec2):
    return ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["p"]}])["Vpcs"]


def dns(ec2, vpc_id):
    return [ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=a)[k]["Value"]
            for a, k in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames"))]


def test_creates_the_vpc_tagged_with_dns_on_then_does_nothing(ec2):
    first = run_module(ec2_vpcs, declared())
    assert first["changed"] is True and first["changes"] == {"prod-vpc": ["created"]}
    [vpc] = owned(ec2)
    assert first["vpcs"]["prod-vpc"] == {"id": vpc["VpcId"], "cidr_block": "10.0.0.0/16"}
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]} == {**OWNER, "Name": "prod-vpc"}
    assert dns(ec2, vpc["VpcId"]) == [True, True]

    again = run_module(ec2_vpcs, declared())
    assert again["changed"] is False and again["vpcs"] == first["vpcs"] and len(owned(ec2)) == 1


def test_check_mode_plans_without_writing(ec2):
    planned = run_module(ec2_vpcs, {**declared(), "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["vpcs"]["prod-vpc"]["id"] == ""
    assert owned(ec2) == []


def test_dns_and_tag_drift_is_repaired(ec2):
    run_module(ec2_vpcs, declared())
    vpc_id = owned(ec2)[0]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Stray", "Value": "x"}])
    repaired = run_module(ec2_vpcs, declared())
    assert repaired["changes"] == {"prod-vpc": ["dns_hostnames", "tags"]}
    assert dns(ec2, vpc_id) == [True, True] and "Stray" not in {t["Key"] for t in owned(ec2)[0]["Tags"]}


def test_with_purge_tags_false_a_tag_set_by_hand_stays_and_a_missing_one_is_added(ec2):
    run_module(ec2_vpcs, declared())
    vpc_id = owned(ec2)[0]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "CostCentre", "Value": "genomics"}])
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "Environment"}])
    kept = run_module(ec2_vpcs, {**declared(), "match_tags": {"Project": "p"}, "purge_tags": False})
    assert kept["changes"] == {"prod-vpc": ["tags"]}
    assert kept["diff"]["after"]["prod-vpc"]["tags"] == {**OWNER, "Name": "prod-vpc", "CostCentre": "genomics"}
    assert {t["Key"]: t["Value"] for t in owned(ec2)[0]["Tags"]} == {**OWNER, "Name": "prod-vpc", "CostCentre": "genomics"}


def test_a_same_named_vpc_of_another_environment_is_not_adopted(ec2):
    other = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [
        {"Key": "Name", "Value": "prod-vpc"}, {"Key": "Project", "Value": "p"}, {"Key": "Environment", "Value": "staging"}]}])
    result = run_module(ec2_vpcs, declared())
    assert result["changes"] == {"prod-vpc": ["created"]} and result["vpcs"]["prod-vpc"]["id"] != other["Vpc"]["VpcId"]


def test_a_vpc_with_another_cidr_is_refused_before_any_change(ec2):
    run_module(ec2_vpcs, declared())
    result = run_module(ec2_vpcs, declared(cidr_block="10.9.0.0/16", dns_hostnames=False))
    assert result["failed"] is True and "has the CIDR block 10.0.0.0/16, not 10.9.0.0/16" in result["msg"]
    assert dns(ec2, owned(ec2)[0]["VpcId"]) == [True, True]


def test_a_vpc_with_state_absent_is_planned_then_deleted_once_and_another_environments_is_left(ec2):
    prod = run_module(ec2_vpcs, declared())["vpcs"]["prod-vpc"]["id"]
    other = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [
        {"Key": "Name", "Value": "prod-vpc"}, {"Key": "Project", "Value": "p"}, {"Key": "Environment", "Value": "staging"}]}])["Vpc"]["VpcId"]
    gone = {"vpcs": [{"name": "prod-vpc", "state": "absent"}], "match_tags": OWNER}
    planned = run_module(ec2_vpcs, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {"prod-vpc": ["deleted"]} and planned["diff"]["after"] == {"prod-vpc": None}
    assert {v["VpcId"] for v in owned(ec2)} == {prod, other}, "check mode wrote nothing"
    assert run_module(ec2_vpcs, gone)["changed"] is True
    assert [v["VpcId"] for v in owned(ec2)] == [other], "a VPC without the ownership tags is not the declared one"
    assert run_module(ec2_vpcs, gone)["changed"] is False
