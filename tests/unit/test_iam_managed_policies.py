"""iam_managed_policies: customer managed policies read by ARN, kept exactly as declared, or deleted."""

from __future__ import annotations

import json

import boto3
import pytest

from support.module_harness import load_module, run_module

iam_managed_policies = load_module("iam_managed_policies")
OWNER = {"Project": "p", "Environment": "production"}
ARN = "arn:aws:iam::123456789012:policy/admins/Admin"


def allow(*actions):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*",
                                                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}


def declared(document, **extra):
    return {"policies": [{"name": "Admin", "path": "/admins/", "description": "the admins", "policy": document}],
            "tags": OWNER, **extra}


@pytest.fixture
def iam(mocked_aws):
    yield boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def default_document(iam):
    policy = iam.get_policy(PolicyArn=ARN)["Policy"]
    document = iam.get_policy_version(PolicyArn=ARN, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    return json.loads(document) if isinstance(document, str) else document


def test_creates_the_policy_tagged_then_does_nothing(iam):
    first = run_module(iam_managed_policies, declared(allow("s3:GetObject")))
    assert first["changed"] is True and first["changes"] == {"Admin": ["created"]}
    assert first["policies"]["Admin"] == {"arn": ARN, "default_version_id": "v1"}
    policy = iam.get_policy(PolicyArn=ARN)["Policy"]
    assert {t["Key"]: t["Value"] for t in policy["Tags"]} == OWNER and policy["Description"] == "the admins"
    assert default_document(iam) == allow("s3:GetObject")

    again = run_module(iam_managed_policies, declared(allow("s3:GetObject")))
    assert again["changed"] is False and again["changes"] == {}
    assert again["policies"]["Admin"] == {"arn": ARN, "default_version_id": "v1"}


def test_check_mode_plans_without_writing(iam):
    planned = run_module(iam_managed_policies, {**declared(allow("s3:GetObject")), "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["policies"]["Admin"]["arn"] == ""
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_a_changed_document_becomes_the_default_version_and_the_oldest_goes_at_the_limit(iam):
    run_module(iam_managed_policies, declared(allow("s3:GetObject")))
    for n in range(2, 6):
        result = run_module(iam_managed_policies, declared(allow("s3:GetObject", f"s3:Action{n}")))
        assert result["changes"] == {"Admin": ["document"]} and result["policies"]["Admin"]["default_version_id"] == f"v{n}"
    assert len(iam.list_policy_versions(PolicyArn=ARN)["Versions"]) == 5

    sixth = run_module(iam_managed_policies, declared(allow("s3:PutObject")))
    assert sixth["policies"]["Admin"]["default_version_id"] == "v6"
    versions = {v["VersionId"] for v in iam.list_policy_versions(PolicyArn=ARN)["Versions"]}
    assert versions == {"v2", "v3", "v4", "v5", "v6"}
    assert default_document(iam) == allow("s3:PutObject")
    assert sixth["diff"]["before"]["Admin"]["document"] == allow("s3:GetObject", "s3:Action5")


def test_stray_tags_are_removed_and_a_new_description_is_a_warning_not_a_change(iam):
    run_module(iam_managed_policies, declared(allow("s3:GetObject")))
    iam.tag_policy(PolicyArn=ARN, Tags=[{"Key": "stray", "Value": "x"}, {"Key": "Project", "Value": "other"}])
    args = declared(allow("s3:GetObject"))
    args["policies"][0]["description"] = "renamed"
    result = run_module(iam_managed_policies, args)
    assert result["changes"] == {"Admin": ["tags"]}
    assert [w["event"]["msg"] for w in result["warnings"]] == [
        "IAM cannot change the description of the policy Admin: it keeps 'the admins'. Delete and recreate it to change it."]
    assert "deprecations" not in result
    assert {t["Key"]: t["Value"] for t in iam.get_policy(PolicyArn=ARN)["Policy"]["Tags"]} == OWNER


def test_with_purge_tags_false_a_tag_set_by_hand_stays_and_a_changed_one_is_set_back(iam):
    run_module(iam_managed_policies, declared(allow("s3:GetObject")))
    iam.tag_policy(PolicyArn=ARN, Tags=[{"Key": "CostCentre", "Value": "genomics"}, {"Key": "Project", "Value": "other"}])
    result = run_module(iam_managed_policies, declared(allow("s3:GetObject"), purge_tags=False))
    assert result["changes"] == {"Admin": ["tags"]}
    assert result["diff"]["after"]["Admin"]["tags"] == {**OWNER, "CostCentre": "genomics"}
    assert {t["Key"]: t["Value"] for t in iam.get_policy(PolicyArn=ARN)["Policy"]["Tags"]} == {**OWNER, "CostCentre": "genomics"}


def test_absent_detaches_the_policy_deletes_its_versions_and_it(iam):
    run_module(iam_managed_policies, declared(allow("s3:GetObject")))
    run_module(iam_managed_policies, declared(allow("s3:PutObject")))
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ARN)
    iam.create_user(UserName="jdoe")
    iam.attach_user_policy(UserName="jdoe", PolicyArn=ARN)
    gone = {"policies": [{"name": "Admin", "path": "/admins/"}], "state": "absent"}

    planned = run_module(iam_managed_policies, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {"Admin": ["deleted"]}
    assert iam.get_policy(PolicyArn=ARN)["Policy"]["AttachmentCount"] == 2

    result = run_module(iam_managed_policies, gone)
    assert result["changes"] == {"Admin": ["deleted"]}
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.list_attached_group_policies(GroupName="admins")["AttachedPolicies"] == []
    assert run_module(iam_managed_policies, gone)["changed"] is False


@pytest.mark.parametrize("bad, message", [
    ({"policies": [{"name": "A", "policy": allow("s3:GetObject")}, {"name": "A", "policy": allow("s3:GetObject")}]},
     "declared more than once: A"),
    ({"policies": [{"name": "A", "path": "admins", "policy": allow("s3:GetObject")}]}, "starts and ends with '/'"),
    ({"policies": [{"name": "A"}]}, "without a document (option policy): A"),
])
def test_bad_declarations_fail_before_any_call(iam, bad, message):
    result = run_module(iam_managed_policies, bad)
    assert result["failed"] is True and message in result["msg"]
    assert iam.list_policies(Scope="Local")["Policies"] == []
