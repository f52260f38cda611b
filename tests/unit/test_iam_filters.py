"""RNASeqAdministratorPolicy, written from the inventory, and its checks."""

from __future__ import annotations

import json

from iam import administrator_errors, administrator_policy, pipeline_operator_policy, policy_problems

SCOPE = {
    "partition": "aws",
    "account_id": "111122223333",
    "region": "eu-west-1",
    "bucket": "data-bucket",
    "prefixes": ["raw-data/", "results", "logs/", "reference/"],
    "key_alias": "alias/rnaseq-pipeline",
    "ecr_repository_prefix": "rnaseq/",
    "batch_prefix": "rnaseq-",
    "log_group_prefix": "/aws/batch/rnaseq",
}


def statements():
    return {s["Sid"]: s for s in administrator_policy(SCOPE)["Statement"]}


def test_the_policy_passes_its_own_checks():
    assert policy_problems(administrator_policy(SCOPE)) == []


def test_every_statement_allows_only_with_mfa():
    for statement in statements().values():
        assert statement["Effect"] == "Allow"
        assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}


def test_object_access_is_limited_to_the_data_folders():
    data = statements()["ReadAndWriteTheDataFolders"]
    assert data["Resource"] == [f"arn:aws:s3:::data-bucket/{p}*" for p in ("raw-data/", "results/", "logs/", "reference/")]
    assert "s3:DeleteObjectVersion" not in data["Action"], "no permanent deletion of versions"
    listing = statements()["ListTheDataBucketFolders"]
    assert listing["Condition"]["StringLike"]["s3:prefix"][0] == ""


def test_the_key_is_reached_by_alias_so_the_policy_can_precede_it():
    kms = statements()["UseThePipelineKey"]
    assert kms["Resource"] == ["arn:aws:kms:eu-west-1:111122223333:key/*"]
    assert kms["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": ["alias/rnaseq-pipeline"]}
    assert kms["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}


def test_batch_and_ecr_are_scoped_to_the_pipelines_names():
    s = statements()
    assert s["SubmitPipelineJobs"]["Resource"] == [
        "arn:aws:batch:eu-west-1:111122223333:job-queue/rnaseq-*",
        "arn:aws:batch:eu-west-1:111122223333:job-definition/rnaseq-*",
    ]
    assert s["PullAndPushPipelineImages"]["Resource"] == ["arn:aws:ecr:eu-west-1:111122223333:repository/rnaseq/*"]


def test_the_partition_is_honoured():
    policy = json.dumps(administrator_policy({**SCOPE, "partition": "aws-us-gov"}))
    assert "arn:aws:" not in policy and "arn:aws-us-gov:s3:::data-bucket" in policy


def test_policy_problems_catch_wildcards_iam_missing_mfa_and_size():
    bad = {"Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Action": ["iam:PassRole", "s3:*"], "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
        {"Sid": "C", "Effect": "Allow", "NotAction": ["s3:GetObject"], "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}}},
        {"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "*"},
    ]}
    problems = policy_problems(bad)
    assert "Statement A allows without MFA" in problems
    assert "Statement A allows the wildcard action *" in problems
    assert "Statement B allows the IAM action iam:PassRole" in problems
    assert "Statement B allows the wildcard action s3:*" in problems
    assert "Statement C uses NotAction or NotResource" in problems
    assert not any(p.startswith("Statement D") for p in problems)
    huge = {"Statement": [{"Sid": "X" * 7000, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                           "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    assert "IAM allows 6144" in policy_problems(huge)[-1]


def test_administrators_are_required_where_the_environment_says_so():
    assert "identity_administrators is empty" in administrator_errors([], True)[0]
    assert administrator_errors([], False) == []
    assert administrator_errors([{"name": "alice"}, {"name": "bob.smith+ops@example"}], True) == []
    assert "not a valid IAM user name" in administrator_errors([{"name": "bad name"}], False)[0]
    assert administrator_errors([{"name": "a"}, {"name": "a"}], False) == ["Administrators listed twice: a"]


OPERATOR_SCOPE = {"partition": "aws", "account_id": "111122223333", "region": "eu-west-1", "bucket": "data-bucket",
                  "key_alias": "alias/rnaseq-pipeline", "queues": ["rnaseq-priority", "rnaseq-default"],
                  "job_definitions": ["rnaseq-nextflow-head", "rnaseq-fastqc"], "log_group": "/aws/batch/rnaseq"}


def test_the_operators_policy_passes_the_same_checks_and_launches_runs_with_the_toolkits_definitions_only():
    policy = pipeline_operator_policy(OPERATOR_SCOPE)
    assert policy_problems(policy) == []
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not actions & {"batch:RegisterJobDefinition", "iam:PassRole", "s3:PutObject", "s3:DeleteObject"}
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert "arn:aws:batch:eu-west-1:111122223333:job-definition/rnaseq-nextflow-head" in by_sid["SubmitPipelineRuns"]["Resource"]
    assert all(":job-queue/rnaseq-" in r or ":job-definition/rnaseq-" in r for r in by_sid["SubmitPipelineRuns"]["Resource"])
    assert by_sid["ReadTheResults"]["Resource"] == ["arn:aws:s3:::data-bucket/results/*"]


def test_pipeline_operators_are_checked_like_administrators_under_their_own_name():
    assert administrator_errors([{"name": "a b"}, {"name": "x"}, {"name": "x"}], False, "Pipeline operator") == [
        "Pipeline operator 'a b' is not a valid IAM user name (1-64 of letters, digits and +=,.@_-)",
        "Pipeline operators listed twice: x",
    ]
