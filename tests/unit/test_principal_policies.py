"""The deployer's and the auditor's policies: merged from the roles'
declarations (filter_plugins/principals.py), and as docs/iam holds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from principals import MANAGED_POLICY_MAX_CHARS, policy_part_files, principal_policy, principal_policy_problems, split_policy

REPO = Path(__file__).resolve().parents[2]
DOCS = {name: json.loads((REPO / "docs" / "iam" / f"{name}-policy.json").read_text()) for name in ("deployer", "auditor")}


def statement(sid, actions, resources, **extra):
    return {"sid": sid, "actions": actions, "resources": resources, **extra}


def test_statements_of_one_sid_become_one_uniting_their_actions_and_resources():
    declarations = {
        "network": {"deployer": [statement("ReadTheAccount", ["sts:GetCallerIdentity"], ["*"])]},
        "storage": {"deployer": [statement("ReadTheAccount", ["ec2:DescribeAvailabilityZones", "sts:GetCallerIdentity"], ["*"]),
                                 statement("ManageTheBuckets", ["s3:CreateBucket"], ["arn:aws:s3:::a", "arn:aws:s3:::b"])]},
    }
    document = principal_policy(declarations, "deployer")
    assert document["Statement"] == [
        {"Sid": "ReadTheAccount", "Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones", "sts:GetCallerIdentity"], "Resource": "*"},
        {"Sid": "ManageTheBuckets", "Effect": "Allow", "Action": ["s3:CreateBucket"], "Resource": ["arn:aws:s3:::a", "arn:aws:s3:::b"]},
    ]
    assert principal_policy(declarations, "auditor")["Statement"] == []


def test_a_statement_whose_when_is_false_is_left_out_and_its_condition_kept():
    condition = {"StringEquals": {"aws:ResourceTag/Project": "p"}}
    declarations = {"storage": {"deployer": [statement("Synthetic", ["s3:PutObject"], ["arn:aws:s3:::a/x/*"], when=False),
                                             statement("Keys", ["kms:DescribeKey"], ["arn:aws:kms:*:*:key/*"], condition=condition)]}}
    (only,) = principal_policy(declarations, "deployer")["Statement"]
    assert only["Sid"] == "Keys" and only["Condition"] == condition


def test_one_sid_with_two_conditions_is_an_error_not_a_silent_merge():
    declarations = {"a": {"deployer": [statement("Keys", ["kms:DescribeKey"], ["*"], condition={"Bool": {"x": "true"}})]},
                    "b": {"deployer": [statement("Keys", ["kms:DescribeKey"], ["*"])]}}
    with pytest.raises(ValueError, match="Keys"):
        principal_policy(declarations, "deployer")


def test_a_service_wide_wildcard_a_write_for_the_auditor_and_a_repeated_sid_are_problems():
    document = {"Statement": [{"Sid": "A", "Action": ["s3:*"], "Resource": "*"}, {"Sid": "A", "Action": ["s3:PutObject"], "Resource": "*"}]}
    assert principal_policy_problems(document, "deployer") == ["Statement A appears twice", "Statement A allows every action of s3"]
    assert "Statement A lets the auditor call s3:PutObject, which is not a read" in principal_policy_problems(document, "auditor")


def test_a_large_policy_splits_into_parts_that_each_fit_a_managed_policy_keeping_every_statement_in_order():
    parts = split_policy(DOCS["deployer"])
    assert len(parts) > 1
    assert all(len(json.dumps(part, separators=(",", ":"))) <= MANAGED_POLICY_MAX_CHARS for part in parts)
    assert [s for part in parts for s in part["Statement"]] == DOCS["deployer"]["Statement"]
    assert [name for name, _ in policy_part_files(DOCS)] == [f"deployer-policy-part{n}.json" for n in range(1, len(parts) + 1)]


@pytest.mark.parametrize("principal", ["deployer", "auditor"])
def test_the_documented_policies_are_acceptable(principal):
    assert principal_policy_problems(DOCS[principal], principal) == []


def test_the_auditor_reads_only_and_the_deployer_never_reads_the_data():
    actions = {a for s in DOCS["auditor"]["Statement"] for a in s["Action"]}
    assert actions and all(a.split(":")[1].startswith(("Describe", "Get", "List", "BatchGet")) for a in actions)
    for s in DOCS["deployer"]["Statement"]:
        assert "s3:GetObject" not in s["Action"] and "s3:DeleteObject" not in s["Action"], s["Sid"]
        if "s3:PutObject" in s["Action"]:
            # Only the folder markers themselves.
            assert all(r.endswith("/") for r in s["Resource"]), s


def test_the_deployer_may_pass_only_the_toolkits_roles_and_attach_only_named_managed_policies():
    statements = {s["Sid"]: s for s in DOCS["deployer"]["Statement"]}
    assert all(":role/" in r and "*" not in r.split(":role/")[1] for r in statements["PassTheRoles"]["Resource"])
    for sid, s in statements.items():
        if "iam:AttachRolePolicy" in s["Action"] or "iam:AttachGroupPolicy" in s["Action"]:
            assert s["Action"] in (["iam:AttachRolePolicy"], ["iam:AttachGroupPolicy"]) and "iam:PolicyARN" in s["Condition"]["ArnEquals"], sid


def test_every_role_declares_each_statement_with_a_reason():
    for path in sorted(REPO.glob("roles/*/meta/iam.yml")):
        for principal, statements in yaml.safe_load(path.read_text()).items():
            assert principal in ("deployer", "auditor"), path
            for s in statements:
                assert s.get("sid") and s.get("actions") and s.get("resources") and s.get("why"), (path, s)
