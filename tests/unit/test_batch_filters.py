"""The batch phase's filters: the job role's policy, compute environments,
queues, job definitions, user data and the inventory checks."""

from __future__ import annotations

import fnmatch

import pytest

from batch import (
    batch_compute_environments,
    batch_head_role_policy,
    batch_input_errors,
    batch_job_definitions,
    batch_job_queues,
    batch_job_role_policy,
    batch_user_data,
)

SCOPE = {"service_role": "arn:aws:iam::111122223333:role/rnaseq-batch-service-role",
         "instance_profile": "arn:aws:iam::111122223333:instance-profile/rnaseq-batch-instance-role",
         "spot_fleet_role": "arn:aws:iam::111122223333:role/rnaseq-batch-spot-fleet-role",
         "instance_types": ["c6i", "m6i"], "subnets": ["subnet-a", "subnet-b"], "security_group_ids": ["sg-compute"],
         "launch_template": "rnaseq-batch-instances", "image_type": "ECS_AL2023", "image_id": "", "tags": {"Project": "p"},
         "on_demand": True, "on_demand_name": "rnaseq-on-demand", "on_demand_strategy": "BEST_FIT_PROGRESSIVE",
         "on_demand_max_vcpus": "256", "spot": True, "spot_name": "rnaseq-spot", "spot_strategy": "SPOT_PRICE_CAPACITY_OPTIMIZED",
         "spot_max_vcpus": 512, "spot_bid_percentage": 100, "priority_queue": "rnaseq-priority", "default_queue": "rnaseq-default"}
JOBS = [{"name": "fastqc", "image": "fastqc", "vcpus": 2, "memory_mib": 4096, "timeout_minutes": 120, "read_only_root": True,
         "command": ["fastqc", "--threads", 2, "Ref::reads"]},
        {"name": "multiqc", "image": "multiqc", "vcpus": 2, "memory_mib": 8192, "timeout_minutes": 60, "read_only_root": False}]
IMAGES = {"fastqc": "111122223333.dkr.ecr.us-east-1.amazonaws.com/rnaseq/fastqc@sha256:" + "a" * 64,
          "multiqc": "111122223333.dkr.ecr.us-east-1.amazonaws.com/rnaseq/multiqc@sha256:" + "b" * 64}
DEFINITION_SCOPE = {"prefix": "rnaseq-", "images": IMAGES, "job_role": "arn:aws:iam::111122223333:role/rnaseq-batch-job-role",
                    "log_group": "/aws/batch/rnaseq", "region": "us-east-1", "scratch_path": "/scratch", "retry_attempts": 3,
                    "tags": {"Project": "p"}}


def test_the_job_role_reads_inputs_writes_results_and_nothing_else():
    policy = batch_job_role_policy({"partition": "aws", "region": "us-east-1", "account_id": "111122223333",
                                    "bucket": "data", "key_alias": "alias/rnaseq-pipeline", "log_group": "/aws/batch/rnaseq"})
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadInputs"]["Resource"] == ["arn:aws:s3:::data/raw-data/*", "arn:aws:s3:::data/reference/*"]
    assert by_sid["WriteResults"]["Resource"] == "arn:aws:s3:::data/results/*"
    assert "s3:DeleteObject" not in str(policy) and '"*"' not in str([s["Resource"] for s in policy["Statement"]])
    assert by_sid["UseThePipelineKey"]["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/rnaseq-pipeline"]}}
    assert by_sid["WriteTheirOwnLogStreams"]["Resource"] == "arn:aws:logs:us-east-1:111122223333:log-group:/aws/batch/rnaseq:*"
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])


def test_user_data_downloads_nothing_and_is_the_mime_batch_requires():
    data = batch_user_data("/scratch")
    assert data.startswith("MIME-Version: 1.0\nContent-Type: multipart/mixed")
    words = set(data.replace("\n", " ").split())
    for fetch in ("curl", "wget", "yum", "dnf", "pip", "pip3", "aws", "git"):
        assert fetch not in words
    assert "://" not in data
    assert "install -d -m 1777 /scratch" in data and "ECS_DISABLE_PRIVILEGED=true" in data


def test_compute_environments_scale_to_zero_in_the_private_subnets_with_the_compute_group_only():
    environments = batch_compute_environments(SCOPE)
    assert [(e["name"], e["type"]) for e in environments] == [("rnaseq-on-demand", "EC2"), ("rnaseq-spot", "SPOT")]
    for e in environments:
        assert e["min_vcpus"] == 0 and e["subnets"] == ["subnet-a", "subnet-b"] and e["security_group_ids"] == ["sg-compute"]
        assert e["launch_template"] == {"name": "rnaseq-batch-instances", "version": "$Latest"}
        assert e["image_id"] is None, "an empty image id lets Batch pick the ECS-optimised image"
    assert environments[0]["max_vcpus"] == 256 and "spot_iam_fleet_role" not in environments[0]
    assert environments[1]["spot_iam_fleet_role"] == SCOPE["spot_fleet_role"]
    assert batch_compute_environments({**SCOPE, "image_id": "ami-0123456789abcdef0"})[0]["image_id"] == "ami-0123456789abcdef0"


@pytest.mark.parametrize("on_demand, spot, priority, default", [
    (True, True, ["rnaseq-on-demand"], ["rnaseq-spot", "rnaseq-on-demand"]),
    (True, False, ["rnaseq-on-demand"], ["rnaseq-on-demand"]),
    (False, True, ["rnaseq-spot"], ["rnaseq-spot"]),
])
def test_priority_runs_on_demand_and_default_prefers_spot(on_demand, spot, priority, default):
    queues = batch_job_queues({**SCOPE, "on_demand": on_demand, "spot": spot})
    assert [(q["name"], q["compute_environments"]) for q in queues] == [("rnaseq-priority", priority), ("rnaseq-default", default)]
    assert queues[0]["priority"] > queues[1]["priority"]
    assert len(batch_compute_environments({**SCOPE, "on_demand": on_demand, "spot": spot})) == on_demand + spot


def test_job_definitions_pin_images_by_digest_with_role_logs_and_no_privilege():
    definitions = batch_job_definitions(JOBS, DEFINITION_SCOPE)
    assert [d["name"] for d in definitions] == ["rnaseq-fastqc", "rnaseq-multiqc"]
    fastqc, multiqc = (d["container_properties"] for d in definitions)
    assert fastqc["image"] == IMAGES["fastqc"] and fastqc["command"] == ["fastqc", "--threads", "2", "Ref::reads"]
    assert fastqc["jobRoleArn"] == DEFINITION_SCOPE["job_role"] and fastqc["privileged"] is False
    assert fastqc["readonlyRootFilesystem"] is True and multiqc["readonlyRootFilesystem"] is False
    assert fastqc["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": "/aws/batch/rnaseq", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "fastqc"}}
    assert {"type": "MEMORY", "value": "4096"} in fastqc["resourceRequirements"]
    assert definitions[0]["timeout"] == 7200 and definitions[1]["timeout"] == 3600


@pytest.mark.parametrize("reason, retried", [
    ("Host EC2 (instance i-0123456789abcdef0) terminated.", True),
    ("Essential container in task exited", False),
])
def test_retries_spot_reclaims_and_not_tool_failures(reason, retried):
    strategy = batch_job_definitions(JOBS, DEFINITION_SCOPE)[0]["retry_strategy"]
    # Batch applies the first entry that matches (glob patterns on the status reason).
    action = next(e["action"] for e in strategy["evaluateOnExit"]
                  if fnmatch.fnmatch(reason, e.get("onStatusReason", "*")) and fnmatch.fnmatch("", e.get("onReason", "*")))
    assert (action == "RETRY") is retried
    assert strategy["attempts"] == 3


def test_bad_jobs_are_each_named():
    jobs = [{"name": "bad name", "image": "fastqc", "vcpus": 2, "memory_mib": 4096, "timeout_minutes": 10},
            {"name": "star", "image": "star", "vcpus": 1024, "memory_mib": 2, "timeout_minutes": 0},
            {"name": "star", "image": "fastqc", "vcpus": 1, "memory_mib": 4, "timeout_minutes": 1}]
    errors = batch_input_errors(jobs, ["fastqc", "multiqc"], 256)
    assert errors == [
        "Job bad name: a name is letters, digits, - and _ (at most 128)",
        "Job star: image 'star' is not one of the registry's images (fastqc, multiqc)",
        "Job star: vcpus must be 1 to 256 (the largest compute environment)",
        "Job star: memory_mib must be at least 4",
        "Job star: timeout_minutes must be at least 1 (Batch stops attempts at 60 s or more)",
        "Jobs listed twice: star",
    ]
    assert batch_input_errors(JOBS, ["fastqc", "multiqc"], 256) == []


HEAD_SCOPE = {"partition": "aws", "region": "us-east-1", "account_id": "111122223333", "bucket": "data",
              "key_alias": "alias/rnaseq-pipeline", "queues": ["rnaseq-priority", "rnaseq-default"],
              "job_definitions": ["rnaseq-fastqc", "rnaseq-multiqc"]}


def test_the_head_role_submits_only_the_steps_to_the_pipelines_queues_and_registers_nothing():
    policy = batch_head_role_policy(HEAD_SCOPE)
    actions = {a for s in policy["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert "batch:RegisterJobDefinition" not in actions and "iam:PassRole" not in actions
    (submit,) = [s for s in policy["Statement"] if s["Action"] == "batch:SubmitJob"]
    batch = "arn:aws:batch:us-east-1:111122223333"
    assert sorted(submit["Resource"]) == sorted([f"{batch}:job-queue/rnaseq-priority", f"{batch}:job-queue/rnaseq-default",
                                                 f"{batch}:job-definition/rnaseq-fastqc", f"{batch}:job-definition/rnaseq-fastqc:*",
                                                 f"{batch}:job-definition/rnaseq-multiqc", f"{batch}:job-definition/rnaseq-multiqc:*"])
    writes = [r for s in policy["Statement"] if "s3:PutObject" in s["Action"] for r in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                                                      else s["Resource"])]
    assert sorted(writes) == ["arn:aws:s3:::data/logs/nextflow/*", "arn:aws:s3:::data/results/*"]


def test_every_job_definition_mounts_the_instances_aws_cli_read_only_as_nextflow_would():
    (definition, _) = batch_job_definitions(JOBS, {**DEFINITION_SCOPE, "cli_path": "/home/ec2-user/miniconda/bin/aws"})
    properties = definition["container_properties"]
    assert {"name": "aws-cli", "host": {"sourcePath": "/home/ec2-user/miniconda"}} in properties["volumes"]
    assert {"sourceVolume": "aws-cli", "containerPath": "/home/ec2-user/miniconda", "readOnly": True} in properties["mountPoints"]
    (without, _) = batch_job_definitions(JOBS, {**DEFINITION_SCOPE, "cli_path": ""})
    assert all(v["name"] != "aws-cli" for v in without["container_properties"]["volumes"])


def test_a_job_may_run_with_a_role_and_environment_of_its_own():
    head = {**JOBS[0], "name": "nextflow-head", "job_role": "arn:aws:iam::111122223333:role/rnaseq-batch-head-role",
            "environment": [{"name": "NXF_OFFLINE", "value": "true"}]}
    (definition,) = batch_job_definitions([head], DEFINITION_SCOPE)
    assert definition["name"] == "rnaseq-nextflow-head"
    assert definition["container_properties"]["jobRoleArn"].endswith(":role/rnaseq-batch-head-role")
    assert definition["container_properties"]["environment"] == [{"name": "TMPDIR", "value": "/tmp"}, {"name": "NXF_OFFLINE", "value": "true"}]
