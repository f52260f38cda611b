"""log_groups and eventbridge_rules, in-process against moto: create, no-op, drift planned then repaired, absent."""

from __future__ import annotations

import boto3
import pytest

from support.module_harness import load_module, run_module

log_groups = load_module("log_groups")
eventbridge_rules = load_module("eventbridge_rules")

REGION = "us-east-1"
TAGS = {"Project": "rnaseq-hipaa", "Environment": "test"}


@pytest.fixture
def key_arns(mocked_aws):
    kms = boto3.client("kms", region_name=REGION)
    return [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2)]


@pytest.fixture
def logs(mocked_aws):
    return boto3.client("logs", region_name=REGION)


def group_args(key_arn, **extra):
    return {"log_groups": [{"name": "/rnaseq/trail", "kms_key_id": key_arn, "retention": 365},
                           {"name": "/rnaseq/flow", "kms_key_id": key_arn, "retention": 365}],
            "tags": TAGS, **extra}


def described(logs):
    return {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/rnaseq/")["logGroups"]}


def test_log_groups_are_created_encrypted_tagged_and_kept(logs, key_arns):
    logs.create_log_group(logGroupName="/rnaseq-other")  # shares part of the prefix, not in the list
    plan = run_module(log_groups, {**group_args(key_arns[0]), "_ansible_check_mode": True})
    assert plan["changed"] is True and [g["created"] for g in plan["log_groups"]] == [True, True]
    assert described(logs) == {}, "check mode wrote nothing"

    first = run_module(log_groups, group_args(key_arns[0]))
    assert first["changed"] is True
    groups = described(logs)
    assert sorted(groups) == ["/rnaseq/flow", "/rnaseq/trail"]
    for group in groups.values():
        assert group["kmsKeyId"] == key_arns[0] and group["retentionInDays"] == 365
        assert logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"] == TAGS
    assert {g["name"]: g["arn"] for g in first["log_groups"]} == {n: g["logGroupArn"] for n, g in groups.items()}

    again = run_module(log_groups, group_args(key_arns[0]))
    assert again["changed"] is False and all(g["changed"] == [] for g in again["log_groups"])


def test_drift_in_retention_and_tags_is_planned_then_repaired(logs, key_arns):
    run_module(log_groups, group_args(key_arns[0]))
    arn = described(logs)["/rnaseq/trail"]["logGroupArn"]
    logs.put_retention_policy(logGroupName="/rnaseq/trail", retentionInDays=7)
    logs.tag_resource(resourceArn=arn, tags={"Stray": "yes", "Environment": "prod"})

    plan = run_module(log_groups, {**group_args(key_arns[0]), "_ansible_check_mode": True, "_ansible_diff": True})
    trail = next(g for g in plan["log_groups"] if g["name"] == "/rnaseq/trail")
    assert trail["changed"] == ["retention", "tags"]
    assert plan["diff"]["before"]["/rnaseq/trail"]["retention"] == 7
    assert plan["diff"]["after"]["/rnaseq/trail"] == {"retention": 365, "tags": TAGS}
    assert described(logs)["/rnaseq/trail"]["retentionInDays"] == 7, "check mode wrote nothing"

    run_module(log_groups, group_args(key_arns[0]))
    assert described(logs)["/rnaseq/trail"]["retentionInDays"] == 365
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == TAGS

    # Without purge_tags, a tag the list does not name stays.
    logs.tag_resource(resourceArn=arn, tags={"Stray": "yes"})
    kept = run_module(log_groups, group_args(key_arns[0], purge_tags=False))
    assert kept["changed"] is False
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {**TAGS, "Stray": "yes"}


def test_a_group_under_another_key_or_none_is_planned_for_the_declared_key(logs, key_arns):
    """moto has no AssociateKmsKey: the plan is what can be checked here."""
    logs.create_log_group(logGroupName="/rnaseq/trail", kmsKeyId=key_arns[1])
    logs.create_log_group(logGroupName="/rnaseq/flow")
    plan = run_module(log_groups, {**group_args(key_arns[0]), "_ansible_check_mode": True, "_ansible_diff": True})
    assert all("kms_key_id" in g["changed"] for g in plan["log_groups"])
    assert plan["diff"]["before"]["/rnaseq/trail"]["kms_key_id"] == key_arns[1]
    assert plan["diff"]["before"]["/rnaseq/flow"]["kms_key_id"] is None
    assert plan["diff"]["after"]["/rnaseq/flow"]["kms_key_id"] == key_arns[0]


def test_absent_deletes_the_listed_groups_only(logs, key_arns):
    run_module(log_groups, group_args(key_arns[0]))
    logs.create_log_group(logGroupName="/rnaseq/keep")
    args = {"log_groups": [{"name": "/rnaseq/trail"}, {"name": "/rnaseq/gone"}], "state": "absent"}
    plan = run_module(log_groups, {**args, "_ansible_check_mode": True})
    assert [g["deleted"] for g in plan["log_groups"]] == [True, False] and "/rnaseq/trail" in described(logs)
    run_module(log_groups, args)
    assert sorted(described(logs)) == ["/rnaseq/flow", "/rnaseq/keep"]
    assert run_module(log_groups, args)["changed"] is False


def test_a_group_named_twice_is_refused_before_any_call(logs, key_arns):
    result = run_module(log_groups, {"log_groups": [{"name": "/rnaseq/a"}, {"name": "/rnaseq/a"}]})
    assert result["failed"] is True and result["msg"] == "Log groups declared more than once: /rnaseq/a"


TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:other"


def rule_args(**extra):
    return {"rules": [
        {"name": "rnaseq-findings-guardduty", "description": "GuardDuty findings",
         "event_pattern": {"source": ["aws.guardduty"], "detail": {"severity": [{"numeric": [">=", 4]}]}},
         "targets": [{"id": "alarms", "arn": TOPIC}]},
        {"name": "rnaseq-findings-config", "description": "Config findings",
         "event_pattern": {"source": ["aws.config"]}, "targets": [{"id": "alarms", "arn": TOPIC}]},
    ], "tags": TAGS, **extra}


@pytest.fixture
def events(mocked_aws):
    return boto3.client("events", region_name=REGION)


def rule_state(events, name):
    rule = events.describe_rule(Name=name)
    targets = {t["Id"]: t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]}
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]}
    return rule, targets, tags


def test_rules_are_created_with_their_targets_and_tags_and_kept(events):
    plan = run_module(eventbridge_rules, {**rule_args(), "_ansible_check_mode": True})
    assert plan["changed"] is True and all(r["created"] for r in plan["rules"])
    assert events.list_rules()["Rules"] == [], "check mode wrote nothing"

    first = run_module(eventbridge_rules, rule_args())
    assert first["changed"] is True
    rule, targets, tags = rule_state(events, "rnaseq-findings-guardduty")
    assert rule["State"] == "ENABLED" and rule["Description"] == "GuardDuty findings"
    assert targets == {"alarms": TOPIC} and tags == TAGS
    assert first["rules"][0]["arn"] == rule["Arn"]

    again = run_module(eventbridge_rules, rule_args())
    assert again["changed"] is False


def test_rule_drift_is_planned_then_repaired(events):
    run_module(eventbridge_rules, rule_args())
    events.put_rule(Name="rnaseq-findings-config", EventPattern='{"source": ["aws.ec2"]}', State="DISABLED",
                    Description="Config findings")
    events.put_targets(Rule="rnaseq-findings-config", Targets=[{"Id": "alarms", "Arn": OTHER_TOPIC},
                                                               {"Id": "stray", "Arn": OTHER_TOPIC}])
    plan = run_module(eventbridge_rules, {**rule_args(), "_ansible_check_mode": True, "_ansible_diff": True})
    config = next(r for r in plan["rules"] if r["name"] == "rnaseq-findings-config")
    assert config["changed"] == ["enabled", "event_pattern", "targets"]
    assert plan["diff"]["before"]["rnaseq-findings-config"]["targets"] == {"alarms": OTHER_TOPIC, "stray": OTHER_TOPIC}
    assert rule_state(events, "rnaseq-findings-config")[0]["State"] == "DISABLED", "check mode wrote nothing"

    run_module(eventbridge_rules, rule_args())
    rule, targets, _ = rule_state(events, "rnaseq-findings-config")
    assert rule["State"] == "ENABLED" and targets == {"alarms": TOPIC}
    assert run_module(eventbridge_rules, rule_args())["changed"] is False


def test_absent_removes_the_targets_then_the_rules(events):
    run_module(eventbridge_rules, rule_args())
    args = {"rules": [{"name": "rnaseq-findings-guardduty", "event_pattern": {}}], "state": "absent"}
    result = run_module(eventbridge_rules, args)
    assert result["changed"] is True and result["rules"][0]["deleted"] is True
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["rnaseq-findings-config"]
    assert run_module(eventbridge_rules, args)["changed"] is False
