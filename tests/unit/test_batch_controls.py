"""The batch controls, on state verify recorded from a converged local cloud.

fixtures/batch_state.json is verify's batch state (user data left out); each
test breaks one thing in a copy and expects the matching control, and only
it, to fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from batch_controls import batch_controls
from diagram import network_diagram

REPO = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "batch_state.json").read_text())
JOBS = yaml.safe_load((REPO / "roles" / "contract" / "defaults" / "main.yml").read_text())["batch_jobs"]
BASELINE = {"compute_environments": ["rnaseq-on-demand", "rnaseq-spot"], "launch_template": "rnaseq-batch-instances",
            "queues": [{"name": "rnaseq-priority", "compute_environments": ["rnaseq-on-demand"]},
                       {"name": "rnaseq-default", "compute_environments": ["rnaseq-spot", "rnaseq-on-demand"]}],
            "jobs": JOBS, "job_prefix": "rnaseq-", "job_role_arn": "arn:aws:iam::123456789012:role/rnaseq-batch-job-role",
            "log_group": "/aws/batch/rnaseq", "log_retention_days": 365,
            "account_id": "123456789012", "partition": "aws", "region": "us-east-1",
            "trusted_roles": [{"name": "rnaseq-batch-service-role", "service": "batch.amazonaws.com"},
                              {"name": "rnaseq-batch-job-role", "service": "ecs-tasks.amazonaws.com"},
                              {"name": "rnaseq-batch-head-role", "service": "ecs-tasks.amazonaws.com"}]}


@pytest.fixture
def state():
    return copy.deepcopy(RECORDED)


def failed(results):
    return sorted(r["id"] for r in results if r["status"] == "fail")


def found(results, control_id):
    return next(r["found"] for r in results if r["id"] == control_id)


def test_the_recorded_batch_environment_passes_every_control(state):
    results = batch_controls(state, BASELINE)
    assert [r["id"] for r in results] == ["BAT-01", "BAT-02", "BAT-03", "BAT-04", "BAT-05", "BAT-06", "BAT-07"]
    assert failed(results) == []
    assert all(r["hipaa"] and r["repair"].startswith("ansible-playbook playbooks/batch.yml --tags ") for r in results)


def test_a_public_subnet_another_group_or_a_warm_pool_fails_bat_01(state):
    resources = state["compute_environments"]["rnaseq-spot"]["computeResources"]
    resources["subnets"].append("subnet-public")
    resources["securityGroupIds"].append("sg-other")
    resources["minvCpus"] = 4
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-01"]
    assert "subnet-public" in found(results, "BAT-01") and "sg-other" in found(results, "BAT-01") and "minimum 4" in found(results, "BAT-01")


def test_a_missing_compute_environment_fails_bat_01_and_its_queues(state):
    del state["compute_environments"]["rnaseq-on-demand"]
    assert failed(batch_controls(state, BASELINE)) == ["BAT-01", "BAT-03"]


@pytest.mark.parametrize("breakage, words", [
    (lambda data: data["block_device_mappings"][0]["ebs"].update(kms_key_id="arn:aws:kms:us-east-1:123456789012:key/other"),
     "/dev/xvda not encrypted with the pipeline key"),
    (lambda data: data["block_device_mappings"][0]["ebs"].update(encrypted=False), "/dev/xvda not encrypted"),
    (lambda data: data.update(network_interfaces=[{"associate_public_ip_address": True}]), "assigns a public IP"),
])
def test_a_weakened_launch_template_version_fails_bat_02(state, breakage, words):
    newest = copy.deepcopy(state["launch_template"]["versions"][0])
    newest["version_number"] = 2
    breakage(newest["launch_template_data"])
    # The newest version is what $Latest launches, whatever the list order.
    state["launch_template"]["versions"].insert(0, newest)
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-02"] and words in found(results, "BAT-02")


@pytest.mark.parametrize("metadata, words", [
    ({"http_tokens": "optional", "http_put_response_hop_limit": 1}, "tokens optional, hop limit 1"),
    ({"http_tokens": "required", "http_put_response_hop_limit": 2}, "tokens required, hop limit 2"),
])
def test_a_launch_template_that_lets_containers_reach_the_instance_role_fails_bat_06(state, metadata, words):
    state["launch_template"]["versions"][0]["launch_template_data"]["metadata_options"].update(metadata)
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-06"] and found(results, "BAT-06") == words


def test_a_disabled_queue_or_one_in_the_wrong_order_fails_bat_03(state):
    state["job_queues"]["rnaseq-priority"]["state"] = "DISABLED"
    state["job_queues"]["rnaseq-default"]["computeEnvironmentOrder"].reverse()
    for index, entry in enumerate(state["job_queues"]["rnaseq-default"]["computeEnvironmentOrder"]):
        entry["order"] = index + 1
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-03"]
    assert "rnaseq-priority: DISABLED" in found(results, "BAT-03") and "rnaseq-default: compute environments" in found(results, "BAT-03")


@pytest.mark.parametrize("breakage, words", [
    (lambda c: c.update(image=c["image"].split("@")[0] + ":1.0"), "image"),
    (lambda c: c.update(image=c["image"][:-4] + "beef"), "release tag holds"),
    (lambda c: c.update(privileged=True), "privileged"),
    (lambda c: c.pop("jobRoleArn"), "job role None"),
    (lambda c: c.update(logConfiguration={"logDriver": "json-file"}), "logs json-file"),
])
def test_a_tag_pinned_or_privileged_or_roleless_job_fails_bat_04(state, breakage, words):
    breakage(state["job_definitions"]["rnaseq-star-align"]["containerProperties"])
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-04"]
    assert found(results, "BAT-04").startswith("rnaseq-star-align: ") and words in found(results, "BAT-04")


def test_a_missing_job_definition_fails_bat_04(state):
    del state["job_definitions"]["rnaseq-multiqc"]
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-04"] and found(results, "BAT-04") == "rnaseq-multiqc missing"


def test_an_unencrypted_or_short_lived_log_group_fails_bat_05_and_no_retention_passes(state):
    state["log_group"]["kms_key_id"] = None
    state["log_group"]["retention_in_days"] = 30
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-05"] and found(results, "BAT-05") == "key none; retention 30 days"
    state = copy.deepcopy(RECORDED)
    del state["log_group"]["retention_in_days"]
    assert failed(batch_controls(state, BASELINE)) == []
    state["log_group"] = None
    assert failed(batch_controls(state, BASELINE)) == ["BAT-05"]


@pytest.mark.parametrize("role, breakage, words", [
    ("rnaseq-batch-service-role", lambda st: st.pop("Condition"), "aws:SourceAccount not required; "),
    ("rnaseq-batch-job-role", lambda st: st["Condition"]["StringEquals"].update({"aws:SourceAccount": "210987654321"}),
     "aws:SourceAccount 210987654321"),
    # Another region's tasks, or any ECS resource of any account.
    ("rnaseq-batch-head-role", lambda st: st["Condition"]["ArnLike"].update({"aws:SourceArn": "arn:aws:ecs:eu-west-1:123456789012:*"}),
     "aws:SourceArn arn:aws:ecs:eu-west-1:123456789012:*"),
    ("rnaseq-batch-job-role", lambda st: st["Condition"]["ArnLike"].update({"aws:SourceArn": "arn:aws:ecs:us-east-1:*"}),
     "aws:SourceArn arn:aws:ecs:us-east-1:*"),
    ("rnaseq-batch-service-role", lambda st: st.update(Principal={"AWS": "arn:aws:iam::210987654321:root"}), "admits"),
])
def test_a_role_batch_or_ecs_may_assume_for_others_fails_bat_07(state, role, breakage, words):
    breakage(state["roles"][role]["trust_policy"]["Statement"][0])
    results = batch_controls(state, BASELINE)
    assert failed(results) == ["BAT-07"]
    assert found(results, "BAT-07").startswith(f"{role}: ") and words in found(results, "BAT-07")


def test_a_missing_role_or_a_second_open_statement_fails_bat_07(state):
    del state["roles"]["rnaseq-batch-head-role"]
    assert found(batch_controls(state, BASELINE), "BAT-07") == "rnaseq-batch-head-role missing"
    state = copy.deepcopy(RECORDED)
    state["roles"]["rnaseq-batch-job-role"]["trust_policy"]["Statement"].append(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert found(batch_controls(state, BASELINE), "BAT-07") == (
        "rnaseq-batch-job-role: aws:SourceAccount not required; rnaseq-batch-job-role: aws:SourceArn not required")


def test_nothing_deployed_fails_every_control():
    empty = {"compute_environments": {}, "job_queues": {}, "job_definitions": {}, "launch_template": None, "log_group": None,
             "key_arn": "", "subnet_ids": [], "compute_sg_id": "", "images": {}, "roles": {}}
    assert failed(batch_controls(empty, BASELINE)) == ["BAT-01", "BAT-02", "BAT-03", "BAT-04", "BAT-05", "BAT-06", "BAT-07"]


def test_the_diagram_shows_queues_feeding_compute_environments_in_the_subnets(state):
    diagram = network_diagram({"vpc": {"id": "vpc-1", "cidr_block": "10.0.0.0/16", "tags": {}}, "batch": state}, {})
    assert 'ce_rnaseq_spot[["Batch rnaseq-spot<br/>SPOT min 0 vCPUs"]]' in diagram
    assert 'jq_rnaseq_default -- "1" --> ce_rnaseq_spot' in diagram
    assert 'jq_rnaseq_default -- "2" --> ce_rnaseq_on_demand' in diagram
    assert f"ce_rnaseq_spot --> {state['subnet_ids'][0].replace('-', '_')}" in diagram
