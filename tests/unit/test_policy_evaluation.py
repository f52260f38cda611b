"""module_utils/toolkit_policy.py: policy documents turned into decisions, as
AWS evaluates them, on the toolkit's own rendered bucket policy."""

from __future__ import annotations

import pytest

from storage import data_bucket_policy
from support.module_harness import toolkit_aws  # noqa: F401  (loads module_utils under Ansible's names)

toolkit_policy = __import__("ansible.module_utils.toolkit_policy", fromlist=["decide"])
decide, statement_applies = toolkit_policy.decide, toolkit_policy.statement_applies

BUCKET = "arn:aws:s3:::data"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234"
BREAK_GLASS = "arn:aws:iam::111122223333:role/BreakGlass"
DEPLOYER, AUDITOR = "arn:aws:iam::111122223333:role/Deployer", "arn:aws:iam::111122223333:role/Auditor"
JOB = "arn:aws:iam::111122223333:role/job"
POLICY = data_bucket_policy({"partition": "aws", "bucket": "data", "key_arn": KEY, "restrict_to_vpcs": ["vpc-1"],
                             "bypass_principal_arns": [BREAK_GLASS], "admin_arns": [DEPLOYER], "reader_arns": [AUDITOR]})


def request(action="s3:GetObject", resource=f"{BUCKET}/raw-data/a", principal="arn:aws:iam::111122223333:role/job", **context):
    base = {"aws:SecureTransport": "true", "aws:PrincipalArn": principal}
    return {"action": action, "resource": resource, "principal": principal, "account": "111122223333",
            "context": {**base, **context}}


def test_the_fence_refuses_a_request_from_outside_the_vpc_and_admits_one_through_it():
    assert decide(POLICY, request()) == "Deny"
    assert decide(POLICY, request(**{"aws:SourceVpc": "vpc-1"})) is None
    assert decide(POLICY, request(**{"aws:SourceVpc": "vpc-2"})) == "Deny"


def test_the_named_break_glass_role_is_exempt_from_the_fence_and_nobody_else():
    assert decide(POLICY, request(principal="arn:aws:iam::111122223333:role/BreakGlass")) is None
    assert decide(POLICY, request(principal="arn:aws:iam::111122223333:role/BreakGlassToo")) == "Deny"


@pytest.mark.parametrize("principal, action, resource, source_vpc, expected", [
    (AUDITOR, "s3:GetBucketPolicy", BUCKET, None, None),
    (AUDITOR, "s3:GetObject", f"{BUCKET}/raw-data/x", None, "Deny"),
    (AUDITOR, "s3:PutBucketPolicy", BUCKET, None, "Deny"),
    (DEPLOYER, "s3:PutBucketVersioning", BUCKET, None, None),
    (DEPLOYER, "s3:ListBucket", BUCKET, None, None),
    (DEPLOYER, "s3:GetObject", f"{BUCKET}/raw-data/x", None, "Deny"),
    (BREAK_GLASS, "s3:GetObject", f"{BUCKET}/raw-data/x", None, None),
    (BREAK_GLASS, "s3:PutReplicationConfiguration", BUCKET, None, None),
    (JOB, "s3:GetObject", f"{BUCKET}/raw-data/x", "vpc-1", None),
    (JOB, "s3:ListBucket", BUCKET, "vpc-1", None),
    (JOB, "s3:ListBucket", BUCKET, None, "Deny"),
    (JOB, "s3:PutReplicationConfiguration", BUCKET, "vpc-1", "Deny"),
    (JOB, "s3:PutBucketObjectLockConfiguration", BUCKET, "vpc-1", "Deny"),
    (JOB, "s3:DeleteBucketPolicy", BUCKET, "vpc-1", "Deny"),
    (JOB, "s3:GetObjectTagging", f"{BUCKET}/raw-data/x", "vpc-2", "Deny"),
])
def test_each_principal_the_fence_names_is_spared_only_what_it_needs(principal, action, resource, source_vpc, expected):
    context = {"aws:SourceVpc": source_vpc} if source_vpc else {}
    assert decide(POLICY, request(action, resource, principal, **context)) == expected


def test_plain_http_is_refused_whatever_the_vpc():
    assert decide(POLICY, request(**{"aws:SecureTransport": "false", "aws:SourceVpc": "vpc-1"})) == "Deny"


def test_uploads_may_name_the_pipeline_key_by_arn_or_nothing_but_nothing_else():
    inside = {"aws:SourceVpc": "vpc-1"}
    put = "s3:PutObject"
    assert decide(POLICY, request(put, **inside)) is None
    assert decide(POLICY, request(put, **inside, **{"s3:x-amz-server-side-encryption": "aws:kms",
                                                     "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY})) is None
    assert decide(POLICY, request(put, **inside, **{"s3:x-amz-server-side-encryption": "AES256"})) == "Deny"
    assert decide(POLICY, request(put, **inside, **{"s3:x-amz-server-side-encryption": "aws:kms",
                                                     "s3:x-amz-server-side-encryption-aws-kms-key-id": "1234"})) == "Deny"
    assert decide(POLICY, request(put, **inside, **{"s3:x-amz-server-side-encryption-customer-algorithm": "AES256"})) == "Deny"


@pytest.mark.parametrize("operator, expected, present, absent", [
    ("StringEquals", "a", True, False),
    ("StringNotEquals", "a", False, True),  # a negated operator matches a missing key
    ("StringLike", "a*", True, False),
    ("StringNotLike", "b*", True, True),
    ("ArnLike", "arn:aws:iam::*:role/a*", False, False),
    ("ArnNotLike", "arn:aws:iam::*:role/a*", True, True),
    ("StringEqualsIfExists", "b", False, True),
    ("ForAnyValue:StringEquals", "a", True, False),
    ("ForAllValues:StringEquals", "b", False, True),
])
def test_a_condition_key_the_request_lacks_matches_only_negated_and_if_exists_operators(operator, expected, present, absent):
    statement = {"Action": "s3:GetObject", "Condition": {operator: {"k": expected}}}
    assert statement_applies(statement, {"action": "s3:GetObject", "context": {"k": "a"}}) is present
    assert statement_applies(statement, {"action": "s3:GetObject", "context": {}}) is absent


def test_null_checks_presence_and_bool_compares_without_case():
    assert statement_applies({"Action": "*", "Condition": {"Null": {"k": "true"}}}, {"action": "x:Y", "context": {}})
    assert not statement_applies({"Action": "*", "Condition": {"Null": {"k": "false"}}}, {"action": "x:Y", "context": {}})
    assert statement_applies({"Action": "*", "Condition": {"Bool": {"k": "True"}}}, {"action": "x:Y", "context": {"k": "true"}})


def test_actions_match_without_case_and_resources_with_wildcards():
    statement = {"Effect": "Allow", "Action": "S3:get*", "Resource": "arn:aws:s3:::data/results/*"}
    assert decide({"Statement": [statement]}, {"action": "s3:GetObject", "resource": "arn:aws:s3:::data/results/x"}) == "Allow"
    assert decide({"Statement": [statement]}, {"action": "s3:GetObject", "resource": "arn:aws:s3:::data/raw-data/x"}) is None


def test_a_principal_is_named_by_its_arn_or_its_account_and_a_service_by_its_name():
    by_account = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*"}
    assert decide({"Statement": [by_account]}, {"action": "x:Y", "principal": "arn:aws:iam::111122223333:user/u",
                                                "account": "111122223333"}) == "Allow"
    assert decide({"Statement": [by_account]}, {"action": "x:Y", "principal": "arn:aws:iam::444455556666:user/u",
                                                "account": "444455556666"}) is None
    by_service = {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}
    assert decide({"Statement": [by_service]}, {"action": "s3:PutObject", "service": "logging.s3.amazonaws.com"}) == "Allow"
    assert decide({"Statement": [by_service]}, {"action": "s3:PutObject", "principal": "arn:aws:iam::1:user/u"}) is None


def test_an_operator_it_does_not_know_is_an_error_not_a_guess():
    with pytest.raises(toolkit_policy.UnsupportedCondition):
        statement_applies({"Action": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}}},
                          {"action": "x:Y", "context": {"aws:CurrentTime": "2026-02-01"}})
