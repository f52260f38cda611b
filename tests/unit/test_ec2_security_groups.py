"""ec2_security_groups: a VPC's groups, rules and tags made exactly as declared, read in one call."""

from __future__ import annotations

import pytest

from support.module_harness import load_module, run_module

ec2_security_groups = load_module("ec2_security_groups")
TAGS = {"Project": "p", "Environment": "production"}


def groups(vpc_id, **extra):
    bastion = {"name": "bastion", "description": "SSH from the admins",
               "rules": [{"proto": "tcp", "ports": [22], "cidr_ip": "203.0.113.0/24", "rule_desc": "admins"}],
               "rules_egress": [{"proto": "tcp", "ports": [80, 443], "cidr_ip": "0.0.0.0/0", "rule_desc": "updates"}],
               "tags": {**TAGS, "Name": "bastion"}}
    vpn = {"name": "vpn", "description": "OpenVPN, SSH from the bastion",
           "rules": [{"proto": "udp", "ports": ["1194"], "cidr_ip": "0.0.0.0/0"},
                     {"proto": "tcp", "ports": [22], "group_name": "bastion", "rule_desc": "from the bastion"}],
           "rules_egress": [], "tags": {**TAGS, "Name": "vpn"}}
    return {"vpc_id": vpc_id, "security_groups": [bastion, vpn], **extra}


def described(ec2, vpc_id, name):
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}]
    found = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return found[0] if found else None


def peers(permissions):
    return sorted((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), peer.get("CidrIp") or peer.get("GroupId"),
                   peer.get("Description")) for p in permissions for peer in p.get("IpRanges", []) + p.get("UserIdGroupPairs", []))


def test_creates_the_groups_tagged_with_exactly_their_rules_then_does_nothing(ec2, vpc_id):
    first = run_module(ec2_security_groups, groups(vpc_id))
    assert first["changed"] is True and first["changes"]["bastion"][0] == "created"
    bastion, vpn = described(ec2, vpc_id, "bastion"), described(ec2, vpc_id, "vpn")
    assert first["security_groups"] == {"bastion": {"group_id": bastion["GroupId"]}, "vpn": {"group_id": vpn["GroupId"]}}
    assert peers(bastion["IpPermissions"]) == [("tcp", 22, 22, "203.0.113.0/24", "admins")]
    # The allow-all egress rule every new group gets is gone.
    assert peers(bastion["IpPermissionsEgress"]) == [("tcp", 80, 80, "0.0.0.0/0", "updates"), ("tcp", 443, 443, "0.0.0.0/0", "updates")]
    assert peers(vpn["IpPermissions"]) == [("tcp", 22, 22, bastion["GroupId"], "from the bastion"), ("udp", 1194, 1194, "0.0.0.0/0", None)]
    assert vpn["IpPermissionsEgress"] == []
    assert {t["Key"]: t["Value"] for t in vpn["Tags"]} == {**TAGS, "Name": "vpn"}

    again = run_module(ec2_security_groups, groups(vpc_id))
    assert again["changed"] is False and again["changes"] == {}
    assert again["security_groups"] == first["security_groups"]


def test_check_mode_plans_groups_and_the_rules_that_name_them_without_writing(ec2, vpc_id):
    planned = run_module(ec2_security_groups, {**groups(vpc_id), "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["security_groups"]["vpn"] == {"group_id": ""}
    assert "tcp 22 group_id=(planned bastion) (from the bastion)" in planned["diff"]["after"]["vpn"]["rules"]
    assert described(ec2, vpc_id, "bastion") is None and described(ec2, vpc_id, "vpn") is None


def test_drift_in_rules_descriptions_and_tags_is_repaired(ec2, vpc_id):
    run_module(ec2_security_groups, groups(vpc_id))
    bastion = described(ec2, vpc_id, "bastion")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=bastion, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.revoke_security_group_egress(GroupId=bastion, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "updates"}]}])
    ec2.create_tags(Resources=[bastion], Tags=[{"Key": "Stray", "Value": "x"}])

    planned = run_module(ec2_security_groups, {**groups(vpc_id), "_ansible_check_mode": True})
    assert planned["changes"] == {"bastion": ["rules", "rules_egress", "tags"]}
    assert "tcp 3389 cidr_ip=0.0.0.0/0" in planned["diff"]["before"]["bastion"]["rules"]

    repaired = run_module(ec2_security_groups, groups(vpc_id))
    assert repaired["changes"] == {"bastion": ["rules", "rules_egress", "tags"]}
    group = described(ec2, vpc_id, "bastion")
    assert peers(group["IpPermissions"]) == [("tcp", 22, 22, "203.0.113.0/24", "admins")]
    assert len(peers(group["IpPermissionsEgress"])) == 2
    assert "Stray" not in {t["Key"] for t in group["Tags"]}
    assert run_module(ec2_security_groups, groups(vpc_id))["changed"] is False


def test_the_default_group_is_stripped_and_its_tags_left_alone(ec2, vpc_id):
    default = described(ec2, vpc_id, "default")
    ec2.create_tags(Resources=[default["GroupId"]], Tags=[{"Key": "Owner", "Value": "someone"}])
    strip = {"vpc_id": vpc_id, "security_groups": [{"name": "default", "description": "default VPC security group"}]}
    result = run_module(ec2_security_groups, strip)
    assert result["changed"] is True and result["security_groups"]["default"]["group_id"] == default["GroupId"]
    after = described(ec2, vpc_id, "default")
    assert after["IpPermissions"] == [] and after["IpPermissionsEgress"] == []
    assert {t["Key"]: t["Value"] for t in after["Tags"]} == {"Owner": "someone"}
    assert run_module(ec2_security_groups, strip)["changed"] is False


@pytest.mark.parametrize("rule, message", [
    ({"proto": "tcp", "cidr_ip": "10.0.0.0/8"}, "needs ports"),
    ({"proto": "gre", "ports": [1], "cidr_ip": "10.0.0.0/8"}, "proto is one of"),
    ({"proto": "tcp", "ports": [22], "cidr_ip": "10.0.0.0/8", "group_name": "vpn"}, "exactly one of"),
    ({"proto": "tcp", "ports": ["ssh"], "cidr_ip": "10.0.0.0/8"}, "ports are numbers"),
])
def test_a_bad_rule_is_refused_before_any_group_is_made(ec2, vpc_id, rule, message):
    declared = groups(vpc_id)
    declared["security_groups"][1]["rules_egress"] = [rule]
    result = run_module(ec2_security_groups, declared)
    assert result["failed"] is True and message in result["msg"]
    assert described(ec2, vpc_id, "bastion") is None


def test_a_rule_naming_a_group_that_exists_nowhere_is_refused(ec2, vpc_id):
    declared = groups(vpc_id)
    declared["security_groups"][0]["rules"] = [{"proto": "tcp", "ports": [22], "group_name": "nosuch"}]
    result = run_module(ec2_security_groups, declared)
    assert result["failed"] is True and "nosuch" in result["msg"] and described(ec2, vpc_id, "bastion") is None


def test_purge_rules_egress_off_revokes_the_inbound_rules_and_leaves_the_outbound_ones(ec2, vpc_id):
    """What isolate asks of the access groups: no way in, and the outbound rules as they were."""
    run_module(ec2_security_groups, groups(vpc_id))
    bastion = described(ec2, vpc_id, "bastion")
    cut = {"vpc_id": vpc_id, "security_groups": [{"name": "bastion", "description": "SSH from the admins", "rules": [],
                                                  "purge_rules_egress": False}]}
    plan = run_module(ec2_security_groups, {**cut, "_ansible_check_mode": True})
    assert plan["changed"] is True and plan["changes"] == {"bastion": ["rules"]}
    assert plan["diff"]["after"]["bastion"]["rules_egress"] == plan["diff"]["before"]["bastion"]["rules_egress"] != []
    assert described(ec2, vpc_id, "bastion")["IpPermissions"] == bastion["IpPermissions"]
    assert run_module(ec2_security_groups, cut)["changed"] is True
    after = described(ec2, vpc_id, "bastion")
    assert after["IpPermissions"] == []
    assert peers(after["IpPermissionsEgress"]) == peers(bastion["IpPermissionsEgress"]) != []
    assert {t["Key"]: t["Value"] for t in after["Tags"]} == {**TAGS, "Name": "bastion"}
    assert run_module(ec2_security_groups, cut)["changed"] is False


def test_purge_rules_off_adds_a_rule_and_revokes_none(ec2, vpc_id):
    run_module(ec2_security_groups, groups(vpc_id))
    more = {"vpc_id": vpc_id, "security_groups": [{"name": "bastion", "description": "SSH from the admins", "purge_rules": False,
                                                   "purge_rules_egress": False,
                                                   "rules": [{"proto": "tcp", "ports": [22], "cidr_ip": "198.51.100.0/24"}]}]}
    assert run_module(ec2_security_groups, more)["changed"] is True
    inbound = peers(described(ec2, vpc_id, "bastion")["IpPermissions"])
    assert [peer[3] for peer in inbound] == ["198.51.100.0/24", "203.0.113.0/24"]


def test_purge_tags_off_adds_a_missing_tag_and_removes_none(ec2, vpc_id):
    run_module(ec2_security_groups, groups(vpc_id))
    bastion = described(ec2, vpc_id, "bastion")["GroupId"]
    ec2.create_tags(Resources=[bastion], Tags=[{"Key": "CostCentre", "Value": "genomics"}])
    ec2.delete_tags(Resources=[bastion], Tags=[{"Key": "Environment"}])
    declared = groups(vpc_id)
    declared["security_groups"][0]["purge_tags"] = False
    kept = run_module(ec2_security_groups, declared)
    assert kept["changes"] == {"bastion": ["tags"]}
    assert kept["diff"]["after"]["bastion"]["tags"] == {**TAGS, "Name": "bastion", "CostCentre": "genomics"}
    assert {t["Key"]: t["Value"] for t in described(ec2, vpc_id, "bastion")["Tags"]} == {**TAGS, "Name": "bastion", "CostCentre": "genomics"}


def test_groups_with_state_absent_that_name_each_other_are_planned_then_deleted_together_once(ec2, vpc_id, emulated_group_dependencies):
    run_module(ec2_security_groups, groups(vpc_id))
    vpn, bastion = described(ec2, vpc_id, "vpn")["GroupId"], described(ec2, vpc_id, "bastion")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=bastion, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": vpn}]}])
    gone = {"vpc_id": vpc_id, "security_groups": [{"name": "bastion", "state": "absent"}, {"name": "vpn", "state": "absent"},
                                                  {"name": "never-made", "state": "absent"}]}
    planned = run_module(ec2_security_groups, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {"bastion": ["deleted"], "vpn": ["deleted"]}
    assert described(ec2, vpc_id, "bastion") and described(ec2, vpc_id, "vpn"), "check mode wrote nothing"
    removed = run_module(ec2_security_groups, gone)
    assert removed["changed"] is True and removed["security_groups"] == {"bastion": {"group_id": bastion}, "vpn": {"group_id": vpn}}
    assert described(ec2, vpc_id, "bastion") is None and described(ec2, vpc_id, "vpn") is None
    assert run_module(ec2_security_groups, gone)["changed"] is False
    refused = run_module(ec2_security_groups, {"vpc_id": vpc_id, "security_groups": [{"name": "default", "state": "absent"}]})
    assert refused["failed"] is True and "default security group cannot be deleted" in refused["msg"]
