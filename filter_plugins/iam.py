# -*- coding: utf-8 -*-
"""Filters of the identity phase: the administrators' policy, and its checks.

The runbook says "paste your JSON" for RNASeqAdministratorPolicy; the toolkit
writes it from the inventory instead, least privilege, every Allow behind
MFA. Pure functions; tests/unit/test_iam_filters.py covers them.
"""

from __future__ import annotations

import json
import re

MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
# IAM's limit for a managed policy document, whitespace excluded.
MANAGED_POLICY_MAX_CHARS = 6144
_USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")

ECR_PULL_PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:ListImages",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
BATCH_DESCRIBE = [
    "batch:DescribeComputeEnvironments",
    "batch:DescribeJobDefinitions",
    "batch:DescribeJobQueues",
    "batch:DescribeJobs",
    "batch:ListJobs",
]
KMS_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


def _statement(sid, actions, resources, condition=None):
    merged = json.loads(json.dumps(MFA))
    for operator, values in (condition or {}).items():
        merged.setdefault(operator, {}).update(values)
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources, "Condition": merged}


def administrator_policy(scope):
    """RNASeqAdministratorPolicy as a policy document (a dict).

    `scope` holds partition, account_id, region, bucket, prefixes (the data
    folders), key_alias, ecr_repository_prefix, batch_prefix and
    log_group_prefix.
    """
    p, account, region = scope["partition"], scope["account_id"], scope["region"]
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    prefixes = [prefix.rstrip("/") + "/" for prefix in scope["prefixes"]]
    batch = f"arn:{p}:batch:{region}:{account}"
    logs = f"arn:{p}:logs:{region}:{account}:log-group:{scope['log_group_prefix']}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "ListTheDataBucketFolders",
                ["s3:ListBucket", "s3:ListBucketVersions"],
                [bucket],
                {"StringLike": {"s3:prefix": [""] + [f"{prefix}*" for prefix in prefixes]}},
            ),
            _statement("LocateTheDataBucket", ["s3:GetBucketLocation"], [bucket]),
            _statement(
                "ReadAndWriteTheDataFolders",
                ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion",
                 "s3:ListMultipartUploadParts", "s3:PutObject"],
                [f"{bucket}/{prefix}*" for prefix in prefixes],
            ),
            # ECR issues registry tokens account-wide; it has no resource to scope to.
            _statement("GetRegistryTokens", ["ecr:GetAuthorizationToken"], ["*"]),
            _statement(
                "PullAndPushPipelineImages",
                ECR_PULL_PUSH,
                [f"arn:{p}:ecr:{region}:{account}:repository/{scope['ecr_repository_prefix']}*"],
            ),
            _statement(
                "SubmitPipelineJobs",
                ["batch:SubmitJob"],
                [f"{batch}:job-queue/{scope['batch_prefix']}*", f"{batch}:job-definition/{scope['batch_prefix']}*"],
            ),
            _statement("CancelPipelineJobs", ["batch:CancelJob", "batch:TerminateJob"], [f"{batch}:job/*"]),
            # Batch's Describe and List calls take no resource-level permissions.
            _statement("DescribePipelineJobs", BATCH_DESCRIBE, ["*"]),
            _statement(
                "ReadPipelineLogs",
                ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                [f"{logs}*", f"{logs}*:log-stream:*"],
            ),
            # By alias, so the policy can exist before the storage phase makes the key.
            _statement(
                "UseThePipelineKey",
                KMS_USE,
                [f"arn:{p}:kms:{region}:{account}:key/*"],
                {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [scope["key_alias"]]}},
            ),
        ],
    }


def pipeline_operator_policy(scope):
    """RNASeqPipelineOperatorPolicy: launch pipeline runs and read their results.

    Submit to the pipeline's queues with the toolkit's own job definitions
    (the Nextflow head's and the steps'), follow and stop jobs, read the jobs'
    logs, list and read results/ (the work directory is under it) and decrypt
    them. Nothing else: no job definition of their own, no iam:PassRole
    (submitting a job whose definition names a role passes none), no
    reading of raw-data/ or reference/, no writes. Every Allow behind MFA.

    `scope`: partition, account_id, region, bucket, key_alias, queues,
    job_definitions (names), log_group.
    """
    p, account, region = scope["partition"], scope["account_id"], scope["region"]
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    batch = f"arn:{p}:batch:{region}:{account}"
    logs = f"arn:{p}:logs:{region}:{account}:log-group:{scope['log_group']}"
    definitions = [f"{batch}:job-definition/{name}{revision}" for name in scope["job_definitions"] for revision in ("", ":*")]
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement("SubmitPipelineRuns", ["batch:SubmitJob"],
                       [f"{batch}:job-queue/{queue}" for queue in scope["queues"]] + definitions),
            # Batch's Describe and List calls take no resource-level permissions.
            _statement("FollowPipelineRuns", BATCH_DESCRIBE, ["*"]),
            _statement("StopPipelineRuns", ["batch:CancelJob", "batch:TerminateJob"], [f"{batch}:job/*"]),
            _statement("ReadPipelineLogs", ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"],
                       [logs, f"{logs}:log-stream:*"]),
            _statement("ListTheResults", ["s3:ListBucket"], [bucket], {"StringLike": {"s3:prefix": ["results/*"]}}),
            _statement("ReadTheResults", ["s3:GetObject"], [f"{bucket}/results/*"]),
            _statement(
                "DecryptTheResults",
                ["kms:Decrypt", "kms:DescribeKey"],
                [f"arn:{p}:kms:{region}:{account}:key/*"],
                {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [scope["key_alias"]]}},
            ),
        ],
    }


def _listify(value):
    return value if isinstance(value, list) else [value]


def policy_problems(document):
    """What makes a policy document unacceptable for the toolkit.

    Every statement must be an Allow behind MFA; no action may be `*`, a
    service wildcard such as `iam:*`, or any IAM action at all; the document
    must fit IAM's size limit.
    """
    problems = []
    for statement in document.get("Statement", []):
        sid = statement.get("Sid", "(no Sid)")
        if statement.get("Effect") != "Allow":
            continue
        mfa = statement.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent")
        if str(mfa).lower() != "true":
            problems.append(f"Statement {sid} allows without MFA")
        for action in _listify(statement.get("Action", [])):
            if action in ("*", "*:*") or action.endswith(":*"):
                problems.append(f"Statement {sid} allows the wildcard action {action}")
            elif action.lower().startswith("iam:"):
                problems.append(f"Statement {sid} allows the IAM action {action}")
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"Statement {sid} uses NotAction or NotResource")
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MANAGED_POLICY_MAX_CHARS:
        problems.append(f"The policy is {size} characters; IAM allows {MANAGED_POLICY_MAX_CHARS}")
    return problems


def administrator_errors(administrators, required, label="Administrator"):
    """Problems with the inventory's administrator list (or, with `label`, another list of IAM users)."""
    errors = []
    names = [a.get("name", "") if isinstance(a, dict) else str(a) for a in administrators or []]
    required = required.strip().lower() in ("1", "true", "yes", "on") if isinstance(required, str) else bool(required)
    if required and not names:
        errors.append(
            "identity_administrators is empty: this environment needs at least one administrator "
            "(an empty list would leave nobody able to run the pipeline)"
        )
    for name in names:
        if not _USER_NAME.match(name):
            errors.append(f"{label} '{name}' is not a valid IAM user name (1-64 of letters, digits and +=,.@_-)")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"{label}s listed twice: {', '.join(duplicates)}")
    return errors


def trust_policy(service, account=None, source_arns=()):
    """An assume-role policy for one AWS service.

    With `account`, the service may assume the role only on behalf of this
    account's resources (aws:SourceAccount); with `source_arns`, only on
    behalf of those (aws:SourceArn, wildcards allowed). That is AWS's guard
    against the cross-service confused deputy, for the services whose guides
    document the keys for the role: Batch, ECS tasks and VPC Flow Logs here.
    """
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    condition = {}
    if account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": str(account)}
    if source_arns:
        condition["ArnLike"] = {"aws:SourceArn": sorted(source_arns)}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


class FilterModule:
    def filters(self):
        return {
            "administrator_policy": administrator_policy,
            "pipeline_operator_policy": pipeline_operator_policy,
            "policy_problems": policy_problems,
            "administrator_errors": administrator_errors,
            "trust_policy": trust_policy,
        }
