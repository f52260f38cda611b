"""iam_users: the administrators created once, tagged, never given credentials, in one task."""

from __future__ import annotations

import boto3
import pytest

from support.module_harness import load_module, run_module

iam_users = load_module("iam_users")
OWNER = {"Project": "p", "Environment": "production"}


@pytest.fixture
def iam(mocked_aws):
    yield boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def test_creates_the_missing_users_tagged_without_credentials_then_does_nothing(iam):
    iam.create_user(UserName="alice", Tags=[{"Key": "Team", "Value": "ops"}])
    first = run_module(iam_users, {"names": ["alice", "bob"], "tags": OWNER, "purge_tags": False})
    assert first["changed"] is True and first["created"] == ["bob"] and first["tagged"] == ["alice"]
    assert first["arns"]["bob"].endswith(":user/bob")
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName="alice")["Tags"]}
    assert tags == {"Team": "ops", **OWNER}, "missing tags are added, others stay"
    assert iam.list_access_keys(UserName="bob")["AccessKeyMetadata"] == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="bob")

    again = run_module(iam_users, {"names": ["alice", "bob"], "tags": OWNER, "purge_tags": False})
    assert again["changed"] is False and again["created"] == [] and again["tagged"] == []


def test_a_users_tags_are_made_exact_unless_purge_tags_is_false_and_left_alone_when_none_are_declared(iam):
    iam.create_user(UserName="alice", Tags=[{"Key": "Team", "Value": "ops"}, *[{"Key": k, "Value": "old"} for k in OWNER]])
    planned = run_module(iam_users, {"names": ["alice"], "tags": OWNER, "_ansible_check_mode": True})
    assert planned["diff"] == {"before": {"alice": {"tags": {"Team": "ops", **dict.fromkeys(OWNER, "old")}}},
                               "after": {"alice": {"tags": OWNER}}}
    assert planned["changes"] == {"alice": ["tags"]}
    assert run_module(iam_users, {"names": ["alice"], "tags": OWNER})["tagged"] == ["alice"]
    assert {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName="alice")["Tags"]} == OWNER
    iam.tag_user(UserName="alice", Tags=[{"Key": "Team", "Value": "ops"}])
    assert run_module(iam_users, {"names": ["alice"]})["changed"] is False
    assert run_module(iam_users, {"names": ["alice"], "tags": OWNER, "purge_tags": False})["changed"] is False


def test_check_mode_plans_and_creates_nothing(iam):
    result = run_module(iam_users, {"names": ["carol"], "tags": OWNER, "_ansible_check_mode": True})
    assert result["changed"] is True and result["created"] == ["carol"] and result["arns"] == {"carol": ""}
    assert iam.list_users()["Users"] == []
