"""log_metric_alarms: CIS metric filters, each with its alarm, made in one task and deleted when absent."""

from __future__ import annotations

import boto3
import pytest

from support.module_harness import load_module, run_module

log_metric_alarms = load_module("log_metric_alarms")
GROUP = "/aws/cloudtrail/p"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


@pytest.fixture
def clients(mocked_aws):
    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName=GROUP)
    yield logs, boto3.client("cloudwatch", region_name="us-east-1")


def declared(*entries):
    return {"log_group": GROUP, "name_prefix": "p-cis-", "alarm_actions": [TOPIC], "alarms": list(entries) or [
        {"name": "root-usage", "pattern": '{ $.userIdentity.type = "Root" }', "description": "root"},
        {"name": "console-no-mfa", "pattern": '{ $.eventName = "ConsoleLogin" }', "description": "no MFA"}]}


def made(clients):
    logs, cloudwatch = clients
    return (sorted(f["filterName"] for f in logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"]),
            sorted(a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix="p-cis-")["MetricAlarms"]))


def test_filters_and_alarms_are_made_once_and_an_absent_entry_is_planned_then_deleted_once(clients):
    first = run_module(log_metric_alarms, declared())
    assert first["changed"] is True and made(clients) == (["p-cis-console-no-mfa", "p-cis-root-usage"],) * 2
    assert run_module(log_metric_alarms, declared())["changed"] is False
    gone = declared({"name": "root-usage", "pattern": '{ $.userIdentity.type = "Root" }', "description": "root"},
                    {"name": "console-no-mfa", "state": "absent"})
    planned = run_module(log_metric_alarms, {**gone, "_ansible_check_mode": True})
    assert planned["alarms"][1] == {"name": "p-cis-console-no-mfa", "filter": "deleted", "alarm": "deleted"}
    assert planned["diff"]["after"] == {"p-cis-console-no-mfa": {"filter": None, "alarm": None}}
    assert planned["changes"] == {"p-cis-console-no-mfa": ["filter deleted", "alarm deleted"]}
    assert len(made(clients)[1]) == 2, "check mode wrote nothing"
    assert run_module(log_metric_alarms, {**gone, "purge": False})["changed"] is True
    assert made(clients) == (["p-cis-root-usage"],) * 2
    assert run_module(log_metric_alarms, gone)["changed"] is False


def test_an_entry_to_make_without_its_pattern_is_refused(clients):
    refused = run_module(log_metric_alarms, declared({"name": "root-usage"}))
    assert refused["failed"] is True and "pattern" in refused["msg"] and made(clients) == ([], [])
