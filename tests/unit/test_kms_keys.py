"""kms_keys: customer managed keys found by alias, kept exactly as declared, adopted after an interrupted run."""

from __future__ import annotations

import json

import boto3
import pytest

from support.module_harness import load_module, run_module

kms_keys = load_module("kms_keys")
ALIAS = "alias/pipeline"
TAGS = {"Project": "p", "Environment": "production", "Name": "pipeline"}


def key_policy(*sids):
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
         "Resource": "*"} for sid in sids or ("Admins",)]}


def declared(**extra):
    key = {"alias": ALIAS, "description": "the pipeline's key", "policy": key_policy(), "tags": TAGS, **extra}
    return {"keys": [key]}


@pytest.fixture
def kms(mocked_aws):
    yield boto3.client("kms", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def customer_keys(kms):
    return [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]


def test_creates_the_key_aliased_tagged_and_rotating_then_does_nothing(kms):
    first = run_module(kms_keys, declared())
    assert first["changed"] is True and first["changes"] == {ALIAS: ["created"]}
    key = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]
    assert first["kms_keys"][ALIAS] == {"key_arn": key["Arn"], "key_id": key["KeyId"]}
    assert key["Description"] == "the pipeline's key" and key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == key_policy()
    assert {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]} == TAGS

    again = run_module(kms_keys, declared())
    assert again["changed"] is False and again["changes"] == {}
    assert again["kms_keys"] == first["kms_keys"] and len(customer_keys(kms)) == 1


def test_check_mode_plans_without_writing(kms):
    planned = run_module(kms_keys, {**declared(), "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["kms_keys"][ALIAS] == {"key_arn": "", "key_id": ""}
    assert kms.list_keys()["Keys"] == []


def test_drift_in_policy_rotation_description_and_tags_is_repaired(kms):
    run_module(kms_keys, declared())
    key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(key_policy("Admins", "Stranger")))
    kms.disable_key_rotation(KeyId=key_id)
    kms.update_key_description(KeyId=key_id, Description="changed by hand")
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "Stray", "TagValue": "x"}, {"TagKey": "Name", "TagValue": "other"}])

    planned = run_module(kms_keys, {**declared(), "_ansible_check_mode": True})
    assert sorted(planned["changes"][ALIAS]) == ["description", "policy", "rotation", "tags"]
    assert planned["diff"]["before"][ALIAS]["enable_key_rotation"] is False
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False

    repaired = run_module(kms_keys, declared())
    assert sorted(repaired["changes"][ALIAS]) == ["description", "policy", "rotation", "tags"]
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == key_policy()
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "the pipeline's key"
    assert {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]} == TAGS
    assert run_module(kms_keys, declared())["changed"] is False


def test_with_purge_tags_false_a_tag_set_by_hand_stays_and_a_changed_one_is_set_back(kms):
    run_module(kms_keys, declared())
    key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "CostCentre", "TagValue": "genomics"}, {"TagKey": "Name", "TagValue": "other"}])
    kept = run_module(kms_keys, declared(purge_tags=False))
    assert kept["changes"] == {ALIAS: ["tags"]}
    assert kept["diff"]["after"][ALIAS]["tags"] == {**TAGS, "CostCentre": "genomics"}
    assert {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]} == {**TAGS, "CostCentre": "genomics"}


def test_the_key_an_interrupted_run_left_without_its_alias_is_adopted_not_duplicated(kms):
    wrong_owner = kms.create_key(Tags=[{"TagKey": "Name", "TagValue": "pipeline"}, {"TagKey": "Project", "TagValue": "q"}])
    orphan = kms.create_key(Policy=json.dumps(key_policy()), Description="the pipeline's key",
                            Tags=[{"TagKey": k, "TagValue": v} for k, v in TAGS.items()])["KeyMetadata"]
    result = run_module(kms_keys, declared(match_tags={"Project": "p", "Name": "pipeline"}))
    assert result["changes"][ALIAS] == ["alias", "rotation"]
    assert kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"] == orphan["KeyId"]
    assert result["kms_keys"][ALIAS]["key_id"] == orphan["KeyId"]
    assert len(customer_keys(kms)) == 2 and wrong_owner["KeyMetadata"]["KeyId"] != orphan["KeyId"]


def test_a_key_pending_deletion_is_brought_back_and_enabled(kms):
    run_module(kms_keys, declared())
    key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    result = run_module(kms_keys, declared())
    assert result["changes"][ALIAS][:2] == ["deletion cancelled", "enabled"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert run_module(kms_keys, declared())["changed"] is False


def test_state_absent_plans_then_schedules_the_deletion_once_and_present_brings_the_key_back(kms):
    run_module(kms_keys, declared())
    key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
    gone = {"keys": [{"alias": ALIAS, "state": "absent", "pending_window_days": 7}, {"alias": "alias/never-made", "state": "absent"}]}
    planned = run_module(kms_keys, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {ALIAS: ["deletion scheduled"]} and planned["diff"]["after"][ALIAS] == {"state": "PendingDeletion"}
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled", "check mode wrote nothing"
    assert run_module(kms_keys, gone)["kms_keys"] == {ALIAS: {"key_arn": kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"],
                                                              "key_id": key_id}}
    assert kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyState"] == "PendingDeletion", "found by its alias still"
    assert run_module(kms_keys, gone)["changed"] is False
    assert run_module(kms_keys, declared())["changes"][ALIAS][:2] == ["deletion cancelled", "enabled"]
    refused = run_module(kms_keys, {"keys": [{"alias": ALIAS, "state": "absent", "pending_window_days": 3}]})
    assert refused["failed"] is True and refused["msg"] == f"KMS takes a pending window of 7 to 30 days: {ALIAS}"


def test_a_key_of_another_spec_is_refused_with_nothing_changed(kms):
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    result = run_module(kms_keys, declared())
    assert result["failed"] is True and "KeySpec RSA_2048, not SYMMETRIC_DEFAULT" in result["msg"]
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []


def test_repeated_and_reserved_aliases_are_refused_before_any_call(kms):
    twice = {"keys": declared()["keys"] + [{**declared()["keys"][0], "alias": "pipeline"}]}
    assert "alias/pipeline" in run_module(kms_keys, twice)["msg"]
    assert "AWS's own" in run_module(kms_keys, declared(alias="alias/aws/s3"))["msg"]
    assert kms.list_keys()["Keys"] == []


def test_a_tagged_key_of_another_spec_is_not_given_the_alias(kms):
    kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Tags=[{"TagKey": k, "TagValue": v} for k, v in TAGS.items()])
    result = run_module(kms_keys, declared())
    assert result["failed"] is True and "KeySpec RSA_2048" in result["msg"]
    assert ALIAS not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
