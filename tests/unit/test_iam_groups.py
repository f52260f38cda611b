"""iam_groups: groups, their attached policies and members, read with as few calls as the task needs."""

from __future__ import annotations

import boto3
import pytest

from support.module_harness import load_module, run_module

iam_groups = load_module("iam_groups")
DOCUMENT = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}'


@pytest.fixture
def iam(mocked_aws):
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    for user in ("alice", "bob", "mallory"):
        client.create_user(UserName=user)
    yield client


def policy(iam, name):
    return iam.create_policy(PolicyName=name, PolicyDocument=DOCUMENT)["Policy"]["Arn"]


def group(**spec):
    return {"groups": [{"name": "Admins", **spec}]}


def members(iam):
    return sorted(u["UserName"] for u in iam.get_group(GroupName="Admins")["Users"])


def test_creates_the_group_attaches_its_policy_only_and_adds_members_then_does_nothing(iam):
    admin, stray = policy(iam, "Admin"), policy(iam, "Stray")
    created = run_module(iam_groups, group())
    assert created["changes"] == {"Admins": ["created"]} and created["groups"]["Admins"]["arn"].endswith(":group/Admins")
    iam.attach_group_policy(GroupName="Admins", PolicyArn=stray)

    attached = run_module(iam_groups, group(managed_policies=[admin]))
    assert attached["changes"] == {"Admins": ["managed_policies"]}
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName="Admins")["AttachedPolicies"]] == [admin]

    added = run_module(iam_groups, group(users=["alice", "bob"]))
    assert added["changes"] == {"Admins": ["users"]} and members(iam) == ["alice", "bob"]

    both = group(managed_policies=[admin], users=["alice", "bob"])
    assert run_module(iam_groups, both)["changed"] is False


def test_members_are_removed_only_with_purge_users(iam):
    run_module(iam_groups, group(users=["alice", "mallory"]))
    kept = run_module(iam_groups, group(users=["alice"]))
    assert kept["changed"] is False and members(iam) == ["alice", "mallory"]
    purged = run_module(iam_groups, group(users=["alice"], purge_users=True))
    assert purged["diff"]["before"]["Admins"]["users"] == ["alice", "mallory"] and members(iam) == ["alice"]


def test_check_mode_plans_the_group_and_its_members_without_writing(iam):
    planned = run_module(iam_groups, {**group(users=["alice"], managed_policies=[policy(iam, "Admin")]), "_ansible_check_mode": True})
    assert planned["changes"] == {"Admins": ["created", "managed_policies", "users"]}
    assert planned["groups"]["Admins"]["arn"] == "" and iam.list_groups()["Groups"] == []


def test_an_unknown_user_is_named(iam):
    result = run_module(iam_groups, group(users=["nobody"]))
    assert result["failed"] is True and "The user nobody does not exist" in result["msg"]


def test_an_existing_group_keeps_its_path(iam):
    iam.create_group(GroupName="Admins", Path="/teams/")
    assert run_module(iam_groups, group(users=["alice"]))["changes"] == {"Admins": ["users"]}
    assert iam.get_group(GroupName="Admins")["Group"]["Path"] == "/teams/"


def test_state_absent_deletes_the_group_and_keeps_its_users_and_policy(iam):
    admin = policy(iam, "Admin")
    run_module(iam_groups, group(managed_policies=[admin], users=["alice", "bob"]))
    iam.put_group_policy(GroupName="Admins", PolicyName="by-hand", PolicyDocument=DOCUMENT)
    names = {"groups": [{"name": "Admins"}, {"name": "Never"}], "state": "absent"}

    plan = run_module(iam_groups, {**names, "_ansible_check_mode": True})
    assert plan["changes"] == {"Admins": ["deleted"]}
    assert plan["diff"]["before"]["Admins"] == {"users": ["alice", "bob"], "managed_policies": [admin], "inline_policies": ["by-hand"]}
    assert members(iam) == ["alice", "bob"], "check mode deletes nothing"

    gone = run_module(iam_groups, names)
    assert gone["changes"] == plan["changes"] and iam.list_groups()["Groups"] == []
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["alice", "bob", "mallory"]
    assert iam.get_policy(PolicyArn=admin)["Policy"]["AttachmentCount"] == 0
    assert run_module(iam_groups, names)["changed"] is False
