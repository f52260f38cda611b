"""The identity phase against the emulator: runbook Step 2, checked with boto3."""

from __future__ import annotations

import json

import pytest

from support.api_calls import writes
from support.cloud import run_playbook


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    run = run_playbook(local_cloud, "playbooks/identity.yml")
    assert run.ok, run.explain()
    return run


@pytest.fixture(scope="module")
def iam(local_cloud):
    return local_cloud.client("iam")


@pytest.fixture(scope="module")
def policy_document(converged, iam):
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == "RNASeqAdministratorPolicy")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return json.loads(document) if isinstance(document, str) else document


def test_the_group_has_the_administrator_policy_attached_and_nothing_else(converged, iam):
    iam.get_group(GroupName="RNASeqAdministrators")
    attached = iam.list_attached_group_policies(GroupName="RNASeqAdministrators")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["RNASeqAdministratorPolicy"]


def test_the_policy_is_least_privilege_and_every_allow_requires_mfa(policy_document, local_cloud):
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    actions = []
    for statement in policy_document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Condition"]["Bool"]["aws:MultiFactorAuthPresent"] == "true", statement["Sid"]
        statement_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions += statement_actions
        for action in statement_actions:
            assert action not in ("*", "*:*") and not action.endswith(":*"), action
            assert not action.lower().startswith("iam:"), action
    resources = json.dumps(policy_document)
    assert "arn:aws:s3:::rnaseq-hipaa-data-bucket" in resources
    for prefix in ("raw-data/", "results/", "logs/", "reference/"):
        assert f"arn:aws:s3:::rnaseq-hipaa-data-bucket/{prefix}*" in resources
    assert f"arn:aws:ecr:{local_cloud.region}:{account}:repository/rnaseq/*" in resources
    assert f"arn:aws:batch:{local_cloud.region}:{account}:job-queue/rnaseq-*" in resources
    assert "alias/rnaseq-pipeline" in resources
    assert {"batch:SubmitJob", "batch:CancelJob", "kms:Decrypt", "kms:Encrypt", "logs:GetLogEvents", "s3:GetObject"} <= set(actions)


def test_the_example_administrator_is_in_the_group_without_password_or_keys(converged, iam):
    members = [u["UserName"] for u in iam.get_group(GroupName="RNASeqAdministrators")["Users"]]
    assert members == ["example-admin"]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="example-admin")
    assert iam.list_access_keys(UserName="example-admin")["AccessKeyMetadata"] == []


def test_the_password_policy_meets_the_floors(converged, iam):
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] >= 14
    assert policy["RequireSymbols"] and policy["RequireNumbers"] and policy["RequireUppercaseCharacters"] and policy["RequireLowercaseCharacters"]
    assert policy["PasswordReusePrevention"] == 24
    assert policy["MaxPasswordAge"] == 90


def test_a_second_run_changes_nothing_and_sends_no_write_call(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/identity.yml")
    assert run.ok and run.changed == 0, run.changed_tasks()
    assert calls and writes(calls) == []


def test_check_mode_on_the_converged_account_reports_no_change_and_sends_no_write_call(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/identity.yml", "--check", "--diff")
    assert run.ok and run.changed == 0, run.changed_tasks()
    assert writes(calls) == []


def test_membership_is_exclusive_only_when_the_inventory_says_so(local_cloud, converged, iam):
    iam.create_user(UserName="stray-user")
    iam.add_user_to_group(GroupName="RNASeqAdministrators", UserName="stray-user")
    run = run_playbook(local_cloud, "playbooks/identity.yml", "--tags", "administrators")
    assert run.ok and run.changed == 0, run.explain()
    assert "stray-user" in [u["UserName"] for u in iam.get_group(GroupName="RNASeqAdministrators")["Users"]]

    run = run_playbook(local_cloud, "playbooks/identity.yml", "--tags", "administrators",
                       extra_vars={"identity_exclusive_membership": True})
    assert run.ok and run.changed == 1, run.explain()
    assert [u["UserName"] for u in iam.get_group(GroupName="RNASeqAdministrators")["Users"]] == ["example-admin"]
    iam.get_user(UserName="stray-user")  # removed from the group, never deleted


def test_a_policy_attached_by_hand_is_detached(local_cloud, converged, iam):
    arn = iam.create_policy(PolicyName="TooBroad", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="RNASeqAdministrators", PolicyArn=arn)
    run = run_playbook(local_cloud, "playbooks/identity.yml", "--tags", "policy")
    assert run.ok, run.explain()
    attached = iam.list_attached_group_policies(GroupName="RNASeqAdministrators")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["RNASeqAdministratorPolicy"]
