# -*- coding: utf-8 -*-
"""Filters of the batch phase: the job role's policy, the compute
environments, job definitions and instance user data, from the inventory.

Pure functions; tests/unit/test_batch_filters.py covers them.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# Spot reclaims say "Host EC2 (instance i-...) terminated."; those are retried,
# anything else (the tool failed) is not.
SPOT_RECLAIM = "Host EC2*"


def batch_job_role_policy(scope):
    """Least privilege for the pipeline's jobs: read raw-data/ and reference/,
    write results/, use the pipeline key, write their own log streams.

    `scope`: partition, region, account_id, bucket, key_alias, log_group.
    """
    p, region, account = scope["partition"], scope["region"], scope["account_id"]
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListTheDataFolders", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
             "Condition": {"StringLike": {"s3:prefix": ["raw-data/*", "reference/*", "results/*"]}}},
            {"Sid": "ReadInputs", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": [f"{bucket}/raw-data/*", f"{bucket}/reference/*"]},
            {"Sid": "WriteResults", "Effect": "Allow",
             "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"], "Resource": f"{bucket}/results/*"},
            {"Sid": "UseThePipelineKey", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
             "Resource": f"arn:{p}:kms:{region}:{account}:key/*",
             "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [scope["key_alias"]]}}},
            {"Sid": "WriteTheirOwnLogStreams", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"arn:{p}:logs:{region}:{account}:log-group:{scope['log_group']}:*"},
        ],
    }


def batch_head_role_policy(scope):
    """The Nextflow head's role: submit the pipeline's steps to the pipeline's
    queues with the toolkit's own job definitions (never registers one, so it
    needs no iam:PassRole), follow and stop them, read the workflow, the
    inputs and the run's parameters, work in the work directory under
    results/, write results and its own log under logs/nextflow/, use the
    pipeline key.

    `scope`: partition, region, account_id, bucket, key_alias, queues (names),
    job_definitions (names).
    """
    p, region, account = scope["partition"], scope["region"], scope["account_id"]
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    batch = f"arn:{p}:batch:{region}:{account}"
    definitions = [f"{batch}:job-definition/{name}{revision}" for name in scope["job_definitions"] for revision in ("", ":*")]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SubmitThePipelineSteps", "Effect": "Allow", "Action": "batch:SubmitJob",
             "Resource": [f"{batch}:job-queue/{queue}" for queue in scope["queues"]] + definitions},
            # Batch's Describe and List calls take no resource-level permissions.
            {"Sid": "FollowTheSteps", "Effect": "Allow", "Action": ["batch:DescribeJobs", "batch:ListJobs"], "Resource": "*"},
            {"Sid": "StopTheSteps", "Effect": "Allow", "Action": ["batch:CancelJob", "batch:TerminateJob"],
             "Resource": f"{batch}:job/*"},
            {"Sid": "ListTheDataFolders", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
             "Condition": {"StringLike": {"s3:prefix": ["raw-data/*", "reference/*", "results/*"]}}},
            {"Sid": "ReadWorkflowsAndInputs", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": [f"{bucket}/raw-data/*", f"{bucket}/reference/*"]},
            {"Sid": "WorkAndWriteResults", "Effect": "Allow",
             "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"], "Resource": f"{bucket}/results/*"},
            {"Sid": "WriteItsLog", "Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{bucket}/logs/nextflow/*"},
            {"Sid": "UseThePipelineKey", "Effect": "Allow",
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
             "Resource": f"arn:{p}:kms:{region}:{account}:key/*",
             "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [scope["key_alias"]]}}},
        ],
    }


def batch_user_data(scratch_path):
    """MIME multi-part user data (what Batch requires of a launch template)
    that configures the ECS agent and a scratch directory, and downloads
    nothing: the instances have no route to the internet."""
    script = "\n".join([
        "#!/bin/bash",
        "set -euo pipefail",
        "# Nothing here reaches the internet: the instance has no route to it.",
        f"install -d -m 1777 {scratch_path}",
        "cat >> /etc/ecs/ecs.config <<'ECS'",
        "ECS_IMAGE_PULL_BEHAVIOR=prefer-cached",
        "ECS_DISABLE_PRIVILEGED=true",
        "ECS_ENABLE_TASK_IAM_ROLE=true",
        "ECS",
    ])
    return (
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="==BOUNDARY=="\n\n'
        '--==BOUNDARY==\nContent-Type: text/x-shellscript; charset="us-ascii"\n\n'
        f"{script}\n\n--==BOUNDARY==--\n"
    )


def batch_compute_environments(scope):
    """The compute environments the inventory asks for (on-demand, Spot)."""
    common = {
        "service_role": scope["service_role"],
        "instance_types": scope["instance_types"],
        "subnets": scope["subnets"],
        "security_group_ids": scope["security_group_ids"],
        "instance_role": scope["instance_profile"],
        "launch_template": {"name": scope["launch_template"], "version": "$Latest"},
        "image_type": scope["image_type"],
        "image_id": scope.get("image_id") or None,
        "min_vcpus": 0,
        "instance_tags": scope["tags"],
        "tags": scope["tags"],
    }
    environments = []
    if scope["on_demand"]:
        environments.append({**common, "name": scope["on_demand_name"], "type": "EC2",
                             "allocation_strategy": scope["on_demand_strategy"], "max_vcpus": int(scope["on_demand_max_vcpus"])})
    if scope["spot"]:
        environments.append({**common, "name": scope["spot_name"], "type": "SPOT", "allocation_strategy": scope["spot_strategy"],
                             "max_vcpus": int(scope["spot_max_vcpus"]), "bid_percentage": int(scope["spot_bid_percentage"]),
                             "spot_iam_fleet_role": scope["spot_fleet_role"]})
    return environments


def batch_job_queues(scope):
    """Priority: on-demand only. Default: Spot first, then on-demand."""
    on_demand = [scope["on_demand_name"]] if scope["on_demand"] else []
    spot = [scope["spot_name"]] if scope["spot"] else []
    return [
        {"name": scope["priority_queue"], "priority": 100, "compute_environments": on_demand or spot, "tags": scope["tags"]},
        {"name": scope["default_queue"], "priority": 10, "compute_environments": spot + on_demand, "tags": scope["tags"]},
    ]


def aws_cli_mount(cli_path):
    """Volume and mount point that give a container the instances' AWS CLI,
    read-only, at the same path: what Nextflow adds to the job definitions it
    registers for aws.batch.cliPath (the directory two levels above the
    binary), and must be in ours, which it uses as they are."""
    if not cli_path:
        return [], []
    directory = "/".join(str(cli_path).rstrip("/").split("/")[:-2]) or "/"
    return ([{"name": "aws-cli", "host": {"sourcePath": directory}}],
            [{"sourceVolume": "aws-cli", "containerPath": directory, "readOnly": True}])


def batch_job_definitions(jobs, scope):
    """One container job definition per pipeline step.

    `scope`: prefix, images ({image name: digest-pinned reference}),
    job_role, log_group, region, scratch_path, retry_attempts, tags,
    cli_path (the instances' AWS CLI, mounted read-only; empty for none).
    """
    cli_volumes, cli_mounts = aws_cli_mount(scope.get("cli_path"))
    definitions = []
    for job in jobs:
        properties = {
            "image": scope["images"][job["image"]],
            "command": [str(word) for word in job.get("command", [])],
            "jobRoleArn": job.get("job_role") or scope["job_role"],
            "resourceRequirements": [{"type": "VCPU", "value": str(job["vcpus"])},
                                     {"type": "MEMORY", "value": str(job["memory_mib"])}],
            "privileged": False,
            "readonlyRootFilesystem": bool(job.get("read_only_root", True)),
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": scope["log_group"], "awslogs-region": scope["region"],
                "awslogs-stream-prefix": job["name"]}},
            # Scratch space on the instance, and a writable /tmp beside a read-only root.
            "volumes": [{"name": "scratch", "host": {"sourcePath": scope["scratch_path"]}}] + cli_volumes,
            "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": False},
                            {"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False}] + cli_mounts,
            "environment": [{"name": "TMPDIR", "value": "/tmp"}] + list(job.get("environment") or []),
        }
        definitions.append({
            "name": f"{scope['prefix']}{job['name']}",
            "container_properties": properties,
            "retry_strategy": {"attempts": int(scope["retry_attempts"]), "evaluateOnExit": [
                {"onStatusReason": SPOT_RECLAIM, "action": "RETRY"},
                {"onReason": "*", "action": "EXIT"}]},
            "timeout": int(job["timeout_minutes"]) * 60,
            "tags": scope["tags"],
        })
    return definitions


def batch_input_errors(jobs, images, max_vcpus):
    """Problems with the inventory's job list, against the registry's images."""
    errors = []
    names = [str(job.get("name", "")) for job in jobs]
    for job in jobs:
        name = job.get("name", "(unnamed)")
        if not _NAME.match(str(name)):
            errors.append(f"Job {name}: a name is letters, digits, - and _ (at most 128)")
        if job.get("image") not in images:
            errors.append(f"Job {name}: image '{job.get('image')}' is not one of the registry's images ({', '.join(images)})")
        if not 1 <= int(job.get("vcpus", 0)) <= int(max_vcpus):
            errors.append(f"Job {name}: vcpus must be 1 to {max_vcpus} (the largest compute environment)")
        if int(job.get("memory_mib", 0)) < 4:
            errors.append(f"Job {name}: memory_mib must be at least 4")
        if int(job.get("timeout_minutes", 0)) < 1:
            errors.append(f"Job {name}: timeout_minutes must be at least 1 (Batch stops attempts at 60 s or more)")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"Jobs listed twice: {', '.join(duplicates)}")
    return errors


class FilterModule:
    def filters(self):
        return {
            "batch_job_role_policy": batch_job_role_policy,
            "batch_head_role_policy": batch_head_role_policy,
            "batch_user_data": batch_user_data,
            "batch_compute_environments": batch_compute_environments,
            "batch_job_queues": batch_job_queues,
            "batch_job_definitions": batch_job_definitions,
            "batch_input_errors": batch_input_errors,
        }
