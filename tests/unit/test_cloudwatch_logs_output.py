"""The bastion role's rsyslog output to CloudWatch Logs
(roles/bastion/files/cloudwatch-logs-output), against moto in-process:
rsyslog's omprog protocol (OK once ready, then one answer per line) and the
events it puts. molecule/bastion proves it behind a real rsyslog."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

PROGRAM = Path(__file__).resolve().parents[2] / "roles" / "bastion" / "files" / "cloudwatch-logs-output"
GROUP, STREAM = "/rnaseq/access-hosts/auth", "rna-seq-bastion"


def _load():
    loader = importlib.machinery.SourceFileLoader("cloudwatch_logs_output", str(PROGRAM))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


output = _load()


@pytest.fixture
def logs(mocked_aws):
    client = boto3.client("logs", region_name="us-east-1")
    client.create_log_group(logGroupName=GROUP)
    return client


def run(client, lines):
    answers = []
    output.run(lines, answers.append, client, GROUP, STREAM)
    return answers


def events(client):
    return [(e["timestamp"], e["message"]) for e in
            client.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)["events"]]


def test_it_says_ok_when_ready_then_ok_for_each_line_it_delivered_creating_the_stream_once(logs):
    lines = ["2026-12-05T03:01:02.250000+00:00 bastion sshd[812]: Accepted publickey for alice from 10.1.0.5 port 50022 ssh2\n",
             "2026-12-05T03:01:03+00:00 bastion sudo:    alice : TTY=unknown ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id\n"]
    assert run(logs, lines) == ["OK", "OK", "OK"]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]] == [STREAM]
    # Each event keeps its line whole, stamped with the time the line gives.
    assert events(logs) == [(1796439662250, lines[0].rstrip("\n")), (1796439663000, lines[1].rstrip("\n"))]


def test_a_line_it_could_not_deliver_is_not_confirmed_so_rsyslog_keeps_it(mocked_aws):
    client = boto3.client("logs", region_name="us-east-1")  # no log group: every put is refused
    assert run(client, ["2026-12-05T03:01:02+00:00 bastion sshd[1]: x\n"]) == ["OK", "ERROR ResourceNotFoundException"]


def test_an_unreachable_endpoint_is_an_error_answer_not_a_crash(mocked_aws):
    client = boto3.client("logs", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    assert run(client, ["2026-12-05T03:01:02+00:00 bastion sshd[1]: x\n"]) == ["OK", "ERROR EndpointConnectionError"]


def test_a_line_without_a_time_is_stamped_now_and_an_oversized_one_is_cut_to_cloudwatchs_limit():
    assert output.event("no time here\n")["message"] == "no time here"
    assert output.event("no time here\n")["timestamp"] > 1_700_000_000_000
    big = output.event("2026-12-05T03:01:02+00:00 " + "é" * 200_000)
    assert len(big["message"].encode()) <= 256 * 1024 - 26
