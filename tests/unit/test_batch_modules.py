"""batch_compute_environment, batch_job_queue, batch_job_definition,
batch_environment_info, batch_job_run and iam_service_linked_role, in-process against moto's
mock_aws. Every call the modules make is recorded, so the tests can prove
order (disable before delete) and that refusals and check mode write nothing.
"""

from __future__ import annotations

import copy
import json

import boto3
import botocore.client
import pytest
from moto import mock_aws

from support.module_harness import load_module, run_module

compute_environment = load_module("batch_compute_environment")
job_queue = load_module("batch_job_queue")
job_definition = load_module("batch_job_definition")
environment_info = load_module("batch_environment_info")
service_linked_role = load_module("iam_service_linked_role")
job_run = load_module("batch_job_run")

READS = ("Describe", "List", "Get")


@pytest.fixture
def calls(monkeypatch):
    """Every AWS call made, in order: (operation name, parameters)."""
    made = []
    original = botocore.client.BaseClient._make_api_call

    def record(self, operation, params):
        made.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return made


def writes(calls):
    return [operation for operation, _params in calls if not operation.startswith(READS)]


def client(service):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def network_and_roles():
    ec2, iam = client("ec2"), client("iam")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="compute", Description="compute")["GroupId"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    service_role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.create_role(RoleName="batch-instance", AssumeRolePolicyDocument=trust)
    profile = iam.create_instance_profile(InstanceProfileName="batch-instance")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="batch-instance", RoleName="batch-instance")
    return {"subnet": subnet, "group": group, "service_role": service_role, "profile": profile}


@pytest.fixture
def aws(mocked_aws):
    yield network_and_roles()


@pytest.fixture
def queue_without_docker(monkeypatch):
    """A compute environment, queue and job definition in moto's Batch with
    Docker turned off: jobs end SUCCEEDED at once, or FAILED when
    MOTO_SIMPLE_BATCH_FAIL_AFTER is set. A stand-in for running containers,
    to test the submit-and-wait logic only (playbooks/smoke.yml runs real ones)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MOTO_SIMPLE_BATCH_FAIL_AFTER"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws(config={"batch": {"use_docker": False}}):
        aws = network_and_roles()
        run_module(compute_environment, {"compute_environments": [environment(aws)]})
        run_module(job_queue, {"job_queues": [{"name": "rnaseq-priority", "compute_environments": ["rnaseq-on-demand"]}]})
        run_module(job_definition, {"job_definitions": [definition()]})
        yield aws


def environment(aws, name="rnaseq-on-demand", **extra):
    return {"name": name, "service_role": aws["service_role"], "type": "EC2", "allocation_strategy": "BEST_FIT_PROGRESSIVE",
            "max_vcpus": 16, "instance_types": ["c6i"], "subnets": [aws["subnet"]], "security_group_ids": [aws["group"]],
            "instance_role": aws["profile"], "image_type": "ECS_AL2023", "tags": {"Project": "p"}, **extra}


def definition(name="rnaseq-fastqc", image="registry.example/fastqc@sha256:" + "a" * 64, **extra):
    return {"name": name, "container_properties": {
        "image": image, "command": ["fastqc", "Ref::reads"], "jobRoleArn": "arn:aws:iam::123456789012:role/job",
        "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "4096"}],
        "privileged": False, "readonlyRootFilesystem": True,
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/aws/batch/rnaseq"}}},
        "retry_strategy": {"attempts": 3, "evaluateOnExit": [{"onStatusReason": "Host EC2*", "action": "RETRY"},
                                                              {"onReason": "*", "action": "EXIT"}]},
        "timeout": 600, "tags": {"Project": "p"}, **extra}


def test_check_mode_plans_compute_environments_without_creating_them(aws, calls):
    result = run_module(compute_environment, {"compute_environments": [environment(aws)], "_ansible_check_mode": True})
    assert result["changed"] is True and result["compute_environments"][0]["created"] is True
    assert writes(calls) == []
    assert client("batch").describe_compute_environments()["computeEnvironments"] == []


def test_a_compute_environment_is_created_once_and_a_second_run_writes_nothing(aws, calls):
    first = run_module(compute_environment, {"compute_environments": [environment(aws)]})
    assert first["changed"] is True and first["compute_environments"][0]["arn"].endswith(":compute-environment/rnaseq-on-demand")
    found = client("batch").describe_compute_environments()["computeEnvironments"][0]
    assert found["computeResources"]["minvCpus"] == 0
    assert found["computeResources"]["subnets"] == [aws["subnet"]]
    assert found["computeResources"]["ec2Configuration"] == [{"imageType": "ECS_AL2023"}]
    calls.clear()
    second = run_module(compute_environment, {"compute_environments": [environment(aws)]})
    assert second["changed"] is False and second["compute_environments"][0]["changed"] == []
    assert writes(calls) == []


def test_capacity_is_updated_in_place_and_shown_in_the_diff(aws, calls):
    run_module(compute_environment, {"compute_environments": [environment(aws)]})
    calls.clear()
    result = run_module(compute_environment, {"compute_environments": [environment(aws, max_vcpus=64)], "_ansible_diff": True})
    assert result["compute_environments"][0]["changed"] == ["max_vcpus"]
    assert result["diff"] == {"before": {"rnaseq-on-demand": {"max_vcpus": 16}}, "after": {"rnaseq-on-demand": {"max_vcpus": 64}}}
    # The emulator accepts but ignores capacity updates, so the call itself is the evidence.
    assert [params for operation, params in calls if operation == "UpdateComputeEnvironment"] == [
        {"computeEnvironment": "rnaseq-on-demand", "computeResources": {"maxvCpus": 64}}]


def test_a_change_batch_cannot_make_in_place_is_refused_before_any_change(aws, calls):
    run_module(compute_environment, {"compute_environments": [environment(aws), environment(aws, name="rnaseq-best-fit",
                                                                                              allocation_strategy="BEST_FIT")]})
    calls.clear()
    result = run_module(compute_environment, {"compute_environments": [
        environment(aws, max_vcpus=64),
        environment(aws, name="rnaseq-best-fit", allocation_strategy="BEST_FIT", instance_types=["m6i"]),
    ]})
    assert result["failed"] is True
    assert "cannot make these changes in place" in result["msg"] and "rnaseq-best-fit: instance_types" in result["msg"]
    assert writes(calls) == [], "the capacity change beside it was not made either"


def test_a_queue_is_created_on_its_compute_environments_in_order_and_is_idempotent(aws, calls):
    run_module(compute_environment, {"compute_environments": [environment(aws), environment(aws, name="rnaseq-spot", type="SPOT",
                                                                                              allocation_strategy="SPOT_CAPACITY_OPTIMIZED")]})
    queue = {"name": "rnaseq-default", "priority": 10, "compute_environments": ["rnaseq-spot", "rnaseq-on-demand"], "tags": {"Project": "p"}}
    created = run_module(job_queue, {"job_queues": [queue]})
    assert created["changed"] is True
    found = client("batch").describe_job_queues()["jobQueues"][0]
    assert [o["computeEnvironment"].rsplit("/", 1)[-1] for o in sorted(found["computeEnvironmentOrder"], key=lambda o: o["order"])] \
        == ["rnaseq-spot", "rnaseq-on-demand"]
    calls.clear()
    again = run_module(job_queue, {"job_queues": [queue]})
    assert again["changed"] is False and writes(calls) == []


def test_a_queue_naming_a_missing_compute_environment_is_refused(aws, calls):
    result = run_module(job_queue, {"job_queues": [{"name": "rnaseq-priority", "compute_environments": ["rnaseq-nowhere"]}]})
    assert result["failed"] is True and "do not exist: rnaseq-nowhere" in result["msg"]
    assert writes(calls) == []
    planned = run_module(job_queue, {"job_queues": [{"name": "rnaseq-priority", "compute_environments": ["rnaseq-nowhere"]}],
                                     "_ansible_check_mode": True})
    assert planned["changed"] is True, "check mode plans a queue on a compute environment that is only planned"


def test_deletion_follows_batchs_order(aws, calls):
    run_module(compute_environment, {"compute_environments": [environment(aws)]})
    run_module(job_queue, {"job_queues": [{"name": "rnaseq-priority", "compute_environments": ["rnaseq-on-demand"]}]})
    calls.clear()
    refused = run_module(compute_environment, {"compute_environments": [{"name": "rnaseq-on-demand", "state": "absent", "max_vcpus": 1}]})
    assert refused["failed"] is True and "rnaseq-on-demand: rnaseq-priority" in refused["msg"]
    assert writes(calls) == [], "a compute environment a queue uses is not even disabled"

    calls.clear()
    run_module(job_queue, {"job_queues": [{"name": "rnaseq-priority", "state": "absent"}]})
    assert writes(calls) == ["UpdateJobQueue", "DeleteJobQueue"], "disabled, waited for, then deleted"
    calls.clear()
    deleted = run_module(compute_environment, {"compute_environments": [{"name": "rnaseq-on-demand", "state": "absent", "max_vcpus": 1}]})
    assert deleted["changed"] is True and deleted["compute_environments"][0]["deleted"] is True
    assert writes(calls) == ["UpdateComputeEnvironment", "DeleteComputeEnvironment"]
    batch = client("batch")
    assert [q for q in batch.describe_job_queues()["jobQueues"] if q["status"] != "DELETED"] == []
    assert [c for c in batch.describe_compute_environments()["computeEnvironments"] if c["status"] != "DELETED"] == []


def test_an_unchanged_job_definition_registers_no_new_revision(aws, calls):
    first = run_module(job_definition, {"job_definitions": [definition(), definition(name="rnaseq-multiqc")]})
    assert first["changed"] is True and [d["revision"] for d in first["job_definitions"]] == [1, 1]
    calls.clear()
    second = run_module(job_definition, {"job_definitions": [definition(), definition(name="rnaseq-multiqc")]})
    assert second["changed"] is False and writes(calls) == []
    assert [d["revision"] for d in second["job_definitions"]] == [1, 1]


def test_a_new_image_digest_registers_one_new_revision_and_check_mode_only_plans_it(aws, calls):
    run_module(job_definition, {"job_definitions": [definition(), definition(name="rnaseq-multiqc")]})
    moved = definition(image="registry.example/fastqc@sha256:" + "b" * 64)
    calls.clear()
    planned = run_module(job_definition, {"job_definitions": [moved, definition(name="rnaseq-multiqc")],
                                          "_ansible_check_mode": True, "_ansible_diff": True})
    assert planned["changed"] is True and writes(calls) == []
    assert planned["diff"]["after"]["rnaseq-fastqc"]["containerProperties"]["image"].endswith("b" * 64)
    result = run_module(job_definition, {"job_definitions": [moved, definition(name="rnaseq-multiqc")]})
    assert [(d["name"], d["registered"], d["revision"]) for d in result["job_definitions"]] == [
        ("rnaseq-fastqc", True, 2), ("rnaseq-multiqc", False, 1)]


def test_a_tag_change_retags_the_revision_without_registering_another(aws, calls):
    run_module(job_definition, {"job_definitions": [definition()]})
    calls.clear()
    result = run_module(job_definition, {"job_definitions": [definition(tags={"Project": "p", "Owner": "genomics"})]})
    assert result["changed"] is True and result["job_definitions"][0]["tags_changed"] is True
    assert "RegisterJobDefinition" not in writes(calls)
    found = client("batch").describe_job_definitions(jobDefinitionName="rnaseq-fastqc", status="ACTIVE")["jobDefinitions"]
    assert [(d["revision"], d["tags"]) for d in found] == [(1, {"Project": "p", "Owner": "genomics"})]


def test_tags_set_by_hand_stay_with_purge_tags_false_and_go_without_it(aws, calls):
    batch = client("batch")
    run_module(compute_environment, {"compute_environments": [environment(aws)]})
    queue = {"name": "rnaseq-default", "priority": 10, "compute_environments": ["rnaseq-on-demand"], "tags": {"Project": "p"}}
    run_module(job_queue, {"job_queues": [queue]})
    run_module(job_definition, {"job_definitions": [definition()]})
    arns = {"compute_environments": batch.describe_compute_environments()["computeEnvironments"][0]["computeEnvironmentArn"],
            "job_queues": batch.describe_job_queues()["jobQueues"][0]["jobQueueArn"],
            "job_definitions": batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"][0]["jobDefinitionArn"]}
    for arn in arns.values():
        batch.tag_resource(resourceArn=arn, tags={"CostCentre": "genomics"})
    declared = {"compute_environments": (compute_environment, environment(aws)), "job_queues": (job_queue, queue),
                "job_definitions": (job_definition, definition())}
    for option, (module, spec) in declared.items():
        kept = run_module(module, {option: [{**spec, "purge_tags": False}]})
        assert kept["changed"] is False, (option, kept)
        assert batch.list_tags_for_resource(resourceArn=arns[option])["tags"] == {"Project": "p", "CostCentre": "genomics"}
        purged = run_module(module, {option: [spec]})
        assert purged["changed"] is True and purged["diff"]["after"][spec["name"]]["tags"] == {"Project": "p"}, (option, purged)
        assert batch.list_tags_for_resource(resourceArn=arns[option])["tags"] == {"Project": "p"}


def test_absent_deregisters_every_active_revision(aws):
    run_module(job_definition, {"job_definitions": [definition()]})
    run_module(job_definition, {"job_definitions": [definition(timeout=900)]})
    result = run_module(job_definition, {"job_definitions": [{"name": "rnaseq-fastqc", "state": "absent"}]})
    assert len(result["job_definitions"][0]["deregistered"]) == 2
    assert client("batch").describe_job_definitions(jobDefinitionName="rnaseq-fastqc", status="ACTIVE")["jobDefinitions"] == []


def test_environment_info_reads_what_exists_and_leaves_out_what_does_not(aws):
    run_module(compute_environment, {"compute_environments": [environment(aws)]})
    run_module(job_definition, {"job_definitions": [definition(), copy.deepcopy(definition(timeout=900))]})
    result = run_module(environment_info, {"compute_environments": ["rnaseq-on-demand", "rnaseq-spot"],
                                           "job_queues": ["rnaseq-priority"], "job_definitions": ["rnaseq-fastqc"]})
    assert list(result["compute_environments"]) == ["rnaseq-on-demand"]
    assert result["job_queues"] == {}
    assert result["job_definitions"]["rnaseq-fastqc"]["revision"] == 2


def test_service_linked_roles_are_created_once_and_planned_in_check_mode(aws, calls):
    planned = run_module(service_linked_role, {"services": ["autoscaling.amazonaws.com"], "_ansible_check_mode": True})
    assert planned["changed"] is True and writes(calls) == []
    created = run_module(service_linked_role, {"services": ["autoscaling.amazonaws.com"]})
    assert created["changed"] is True
    calls.clear()
    again = run_module(service_linked_role, {"services": ["autoscaling.amazonaws.com"]})
    assert again["changed"] is False and writes(calls) == [] and again["created"] == []
    assert again["roles"]["autoscaling.amazonaws.com"] == created["roles"]["autoscaling.amazonaws.com"]
    assert ":role/aws-service-role/autoscaling.amazonaws.com/" in again["roles"]["autoscaling.amazonaws.com"]


def job(name="smoke-fastqc"):
    return {"name": name, "queue": "rnaseq-priority", "definition": "rnaseq-fastqc", "parameters": {"reads": "a.fastq.gz"}}


def test_check_mode_submits_no_job(queue_without_docker, calls):
    result = run_module(job_run, {"jobs": [job()], "_ansible_check_mode": True})
    assert result["changed"] is True and result["jobs"][0]["id"] is None
    assert writes(calls) == []


def test_jobs_are_submitted_together_and_waited_for_once(queue_without_docker, calls):
    result = run_module(job_run, {"jobs": [job("one"), job("two")], "wait_timeout": 60})
    assert result.get("failed") is not True, result
    assert [(j["name"], j["status"]) for j in result["jobs"]] == [("one", "SUCCEEDED"), ("two", "SUCCEEDED")]
    assert writes(calls) == ["SubmitJob", "SubmitJob"]
    submitted = [params for operation, params in calls if operation == "SubmitJob"][0]
    assert submitted["jobQueue"] == "rnaseq-priority" and submitted["parameters"] == {"reads": "a.fastq.gz"}


def test_a_failed_job_fails_the_task_naming_it(queue_without_docker, monkeypatch):
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    result = run_module(job_run, {"jobs": [job()], "wait_timeout": 60})
    assert result["failed"] is True and result["jobs"][0]["status"] == "FAILED"
    assert result["msg"].startswith(f"smoke-fastqc ({result['jobs'][0]['id']}) FAILED: ")


def test_a_compute_environment_a_stopped_run_left_creating_is_waited_for_before_it_is_compared(aws, calls, monkeypatch):
    """site.yml makes them in the background; a run stopped before its wait leaves one CREATING, and the next
    batch run must not end (and go on to its queues) before Batch has finished with it."""
    run_module(compute_environment, {"compute_environments": [environment(aws)]})
    reads, original = [], compute_environment.compute_environments

    def still_creating_at_first(batch, names):
        found = original(batch, names)
        reads.append(names)
        if len(reads) == 1:
            found = {name: {**ce, "status": "CREATING"} for name, ce in found.items()}
        return found

    monkeypatch.setattr(compute_environment, "compute_environments", still_creating_at_first)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    calls.clear()
    result = run_module(compute_environment, {"compute_environments": [environment(aws)]})
    assert result["changed"] is False, result
    assert len(reads) == 2  # read CREATING, waited, read again VALID
    assert writes(calls) == []


def test_wait_false_returns_before_batch_has_finished_and_a_second_run_with_wait_waits(aws, calls, monkeypatch):
    """site.yml's batch play makes them with wait=false; its last play runs the task again to wait."""
    reads, original = [], compute_environment.compute_environments

    def creating_until_waited(batch, names):
        found = original(batch, names)
        reads.append(names)
        if len(reads) <= 2:  # the second run's first read still sees Batch at work
            found = {name: {**ce, "status": "CREATING"} for name, ce in found.items()}
        return found

    monkeypatch.setattr(compute_environment, "compute_environments", creating_until_waited)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    started = run_module(compute_environment, {"compute_environments": [environment(aws)], "wait": False})
    assert started["changed"] is True and started["compute_environments"][0]["created"] is True
    assert len(reads) == 1  # read once before creating, never waited
    waited = run_module(compute_environment, {"compute_environments": [environment(aws)]})
    assert waited["changed"] is False, waited
    assert len(reads) == 3  # read CREATING, waited, read again VALID


def test_an_invalid_compute_environment_the_run_does_not_change_fails_the_task_when_it_waits(aws, monkeypatch):
    run_module(compute_environment, {"compute_environments": [environment(aws)]})
    original = compute_environment.compute_environments

    def invalid(batch, names):
        return {name: {**ce, "status": "INVALID", "statusReason": "CLIENT_ERROR - no such subnet"}
                for name, ce in original(batch, names).items()}

    monkeypatch.setattr(compute_environment, "compute_environments", invalid)
    failed = run_module(compute_environment, {"compute_environments": [environment(aws)]})
    assert failed.get("failed") is True
    assert failed["msg"] == "AWS Batch marked these INVALID: rnaseq-on-demand: CLIENT_ERROR - no such subnet"
    assert run_module(compute_environment, {"compute_environments": [environment(aws)], "wait": False})["changed"] is False
