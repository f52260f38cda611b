"""iam_roles: service roles exactly as declared (trust, managed and inline policies, tags, instance profile), in one task."""

from __future__ import annotations

import json

import boto3
import pytest

from support.module_harness import load_module, run_module

iam_roles = load_module("iam_roles")
OWNER = {"Project": "p", "Environment": "production"}
# Customer managed stand-ins: the in-process emulator loads no AWS managed policies.
SSM, ECS, ADMIN = "arn:aws:iam::123456789012:policy/ssm", "arn:aws:iam::123456789012:policy/ecs", "arn:aws:iam::123456789012:policy/admin"


def trust(service):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def write_logs(group):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                           "Resource": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"}]}


ROLES = [
    {"name": "trail-logs", "trust_policy": trust("cloudtrail.amazonaws.com"), "inline_policies": {"write": write_logs("trail")}},
    {"name": "instance", "trust_policy": trust("ec2.amazonaws.com"), "managed_policies": [ECS, SSM], "instance_profile": True},
]


@pytest.fixture
def iam(mocked_aws):
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    for arn in (SSM, ECS, ADMIN):
        created = client.create_policy(PolicyName=arn.rsplit("/", 1)[1], PolicyDocument=json.dumps(write_logs("any")))
        assert created["Policy"]["Arn"] == arn, "moto's default account is 123456789012"
    yield client


def test_creates_the_roles_with_policies_tags_and_profile_then_does_nothing(iam):
    first = run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    assert first["changed"] is True and first["changes"] == {"trail-logs": ["created"], "instance": ["created", "instance profile",
                                                                                                      "instance profile: add the role"]}
    assert first["roles"]["instance"]["instance_profile_arn"].endswith(":instance-profile/instance")
    role = iam.get_role(RoleName="trail-logs")["Role"]
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == OWNER
    document = iam.get_role_policy(RoleName="trail-logs", PolicyName="write")["PolicyDocument"]
    assert (json.loads(document) if isinstance(document, str) else document) == write_logs("trail")
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="instance")["AttachedPolicies"]}
    assert attached == {ECS, SSM}
    assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName="instance")["InstanceProfile"]["Roles"]] == ["instance"]

    again = run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    assert again["changed"] is False and again["changes"] == {}
    assert again["roles"]["trail-logs"]["arn"] == first["roles"]["trail-logs"]["arn"]


def test_undoes_drift_made_by_hand(iam):
    run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    iam.attach_role_policy(RoleName="instance", PolicyArn=ADMIN)
    iam.detach_role_policy(RoleName="instance", PolicyArn=SSM)
    iam.put_role_policy(RoleName="trail-logs", PolicyName="extra", PolicyDocument=json.dumps(write_logs("other")))
    iam.put_role_policy(RoleName="trail-logs", PolicyName="write", PolicyDocument=json.dumps(write_logs("wider")))
    iam.update_assume_role_policy(RoleName="trail-logs", PolicyDocument=json.dumps(trust("ec2.amazonaws.com")))
    iam.tag_role(RoleName="instance", Tags=[{"Key": "Stray", "Value": "x"}])

    plan = run_module(iam_roles, {"roles": ROLES, "tags": OWNER, "_ansible_check_mode": True})
    assert plan["changed"] is True
    assert {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="instance")["AttachedPolicies"]} != {ECS, SSM}, \
        "check mode writes nothing"

    fixed = run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    assert fixed["changes"] == plan["changes"]
    assert sorted(fixed["changes"]["trail-logs"]) == ["delete inline policy extra", "inline policy write", "trust policy"]
    assert sorted(fixed["changes"]["instance"]) == sorted(
        ["attach " + SSM, "detach " + ADMIN, "tags"])
    assert {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="instance")["AttachedPolicies"]} == {ECS, SSM}
    assert iam.list_role_policies(RoleName="trail-logs")["PolicyNames"] == ["write"]
    assert "Stray" not in {t["Key"] for t in iam.get_role(RoleName="instance")["Role"]["Tags"]}
    assert run_module(iam_roles, {"roles": ROLES, "tags": OWNER})["changed"] is False


def test_with_purge_tags_false_tags_set_by_hand_stay_on_the_role_and_its_profile(iam):
    run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    iam.tag_role(RoleName="instance", Tags=[{"Key": "CostCentre", "Value": "genomics"}])
    iam.tag_instance_profile(InstanceProfileName="instance", Tags=[{"Key": "CostCentre", "Value": "genomics"}])
    kept = run_module(iam_roles, {"roles": ROLES, "tags": OWNER, "purge_tags": False})
    assert kept["changed"] is False and kept["changes"] == {}
    assert kept["diff"]["after"]["instance"]["tags"] == {**OWNER, "CostCentre": "genomics"}
    purged = run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    assert purged["changes"] == {"instance": ["tags", "instance profile tags"]}
    assert {t["Key"] for t in iam.get_role(RoleName="instance")["Role"]["Tags"]} == set(OWNER)


def test_check_mode_plans_new_roles_without_creating_them(iam):
    plan = run_module(iam_roles, {"roles": ROLES, "tags": OWNER, "_ansible_check_mode": True})
    assert plan["changed"] is True and plan["roles"]["trail-logs"]["arn"] == ""
    assert iam.list_roles()["Roles"] == [] and iam.list_instance_profiles()["InstanceProfiles"] == []


def test_refuses_a_role_declared_twice(iam):
    result = run_module(iam_roles, {"roles": [ROLES[0], ROLES[0]]})
    assert result["failed"] is True and result["msg"] == "Roles declared more than once: trail-logs"


def test_state_absent_deletes_the_roles_with_their_policies_and_profile(iam):
    run_module(iam_roles, {"roles": ROLES, "tags": OWNER})
    names = [{"name": "trail-logs"}, {"name": "instance"}, {"name": "never-made"}]

    plan = run_module(iam_roles, {"roles": names, "state": "absent", "_ansible_check_mode": True})
    assert plan["changed"] is True and plan["changes"] == {"trail-logs": ["deleted"], "instance": ["deleted"]}
    assert plan["diff"]["before"]["instance"]["instance_profiles"] == ["instance"]
    assert len(iam.list_roles()["Roles"]) == 2, "check mode deletes nothing"

    gone = run_module(iam_roles, {"roles": names, "state": "absent"})
    assert gone["changes"] == plan["changes"]
    assert iam.list_roles()["Roles"] == [] and iam.list_instance_profiles()["InstanceProfiles"] == []
    assert {p["PolicyName"]: p["AttachmentCount"] for p in iam.list_policies(Scope="Local")["Policies"]} == \
        {"ssm": 0, "ecs": 0, "admin": 0}, "the managed policies stay, detached"
    assert run_module(iam_roles, {"roles": names, "state": "absent"})["changed"] is False


def test_state_absent_deletes_an_empty_instance_profile_left_by_a_role_deleted_by_hand(iam):
    run_module(iam_roles, {"roles": ROLES[1:], "tags": OWNER})
    iam.remove_role_from_instance_profile(InstanceProfileName="instance", RoleName="instance")
    for arn in (ECS, SSM):
        iam.detach_role_policy(RoleName="instance", PolicyArn=arn)
    iam.delete_role(RoleName="instance")

    gone = run_module(iam_roles, {"roles": [{"name": "instance"}], "state": "absent"})
    assert gone["changes"] == {"instance": ["deleted the empty instance profile"]}
    assert iam.list_instance_profiles()["InstanceProfiles"] == []


def test_a_role_to_create_needs_a_trust_policy(iam):
    result = run_module(iam_roles, {"roles": [{"name": "trail-logs"}, {"name": "instance"}]})
    assert result["failed"] is True
    assert result["msg"] == "Roles without a trust policy (option trust_policy): instance, trail-logs"
    assert iam.list_roles()["Roles"] == []
