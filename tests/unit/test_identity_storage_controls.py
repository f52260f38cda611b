"""The identity and storage controls, on state recorded from the emulator."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from identity_controls import identity_controls
from storage_controls import storage_controls

FIXTURES = Path(__file__).parent / "fixtures"
IDENTITY = json.loads((FIXTURES / "identity_state.json").read_text())
STORAGE = json.loads((FIXTURES / "storage_state.json").read_text())
IDENTITY_BASELINE = {"group_name": "RNASeqAdministrators", "policy_name": "RNASeqAdministratorPolicy", "administrators": ["example-admin"],
                     "exclusive_membership": False, "min_length": 14, "reuse_prevention": 24, "max_age": 90}
STORAGE_BASELINE = {"partition": "aws", "key_alias": "alias/rnaseq-pipeline", "bucket": "rnaseq-hipaa-data-bucket",
                    "log_bucket": "rnaseq-hipaa-data-bucket-access-logs", "log_prefix": "s3-access/rnaseq-hipaa-data-bucket/",
                    "restrict_to_vpc": False, "account_public_access_block": True,
                    "backup": {"plan": "rnaseq-data-backup", "vault": "rnaseq-backup-vault", "retention_days": 35, "vault_lock": "none",
                               "role_arn": "arn:aws:iam::123456789012:role/rnaseq-backup-role"}}


def failed(results):
    return sorted(r["id"] for r in results if r["status"] == "fail")


@pytest.fixture
def identity():
    return copy.deepcopy(IDENTITY)


@pytest.fixture
def storage():
    return copy.deepcopy(STORAGE)


def test_the_recorded_identity_and_storage_pass(identity, storage):
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == []
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == []


def test_a_missing_group_fails_the_group_controls(identity):
    identity["group"] = {"exists": False, "users": [], "attached_policies": [], "inline_policies": []}
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == ["IAM-01", "IAM-02", "IAM-03"]


def test_another_policy_on_the_group_fails_iam_01(identity):
    identity["group"]["attached_policies"].append({"name": "AdministratorAccess", "arn": "x", "document": {}})
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == ["IAM-01"]


def test_a_wildcard_or_mfa_free_statement_fails_iam_02(identity):
    document = identity["group"]["attached_policies"][0]["document"]
    document["Statement"].append({"Sid": "Oops", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    results = identity_controls(identity, IDENTITY_BASELINE)
    assert failed(results) == ["IAM-02"]
    assert "Oops without MFA" in results[1]["found"] and "Oops allows s3:*" in results[1]["found"]


def test_access_keys_console_passwords_without_mfa_and_strangers_fail_iam_03(identity):
    member = identity["group"]["users"][0]
    member["access_keys"] = [{"id": "AKIA", "status": "Active"}]
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == ["IAM-03"]
    member["access_keys"] = [{"id": "AKIA", "status": "Inactive"}]
    member["login_profile"] = True
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == ["IAM-03"]
    member["mfa_devices"] = 1
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == []
    identity["group"]["users"].append({"name": "stranger", "access_keys": []})
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == []
    assert failed(identity_controls(identity, {**IDENTITY_BASELINE, "exclusive_membership": True})) == ["IAM-03"]


@pytest.mark.parametrize("change", [{"min_length": 12}, {"reuse_prevention": 5}, {"max_age": 0}, {"max_age": 365}, {"require_symbols": False}])
def test_a_weak_password_policy_fails_iam_04(identity, change):
    identity["password_policy"].update(change)
    assert failed(identity_controls(identity, IDENTITY_BASELINE)) == ["IAM-04"]


def test_rotation_off_or_a_missing_key_fails_kms_01(storage):
    storage["key"]["enable_key_rotation"] = False
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["KMS-01"]
    storage["key"] = None
    assert "KMS-01" in failed(storage_controls(storage, STORAGE_BASELINE))


def test_a_key_policy_open_to_everyone_fails_kms_02(storage):
    storage["key"]["key_policies"][0]["Statement"].append({"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"})
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["KMS-02"]


def statement(storage, sid):
    return next(st for st in storage["key"]["key_policies"][0]["Statement"] if st["Sid"] == sid)


def test_a_key_user_named_by_pattern_fails_kms_02(storage):
    use = statement(storage, "KeyUseByThePipelineRolesAndAdministrators")
    use["Condition"] = {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/rnaseq-*"]}}
    results = storage_controls(storage, STORAGE_BASELINE)
    assert failed(results) == ["KMS-02"]
    assert next(r["found"] for r in results if r["id"] == "KMS-02") == (
        "KeyUseByThePipelineRolesAndAdministrators admits arn:aws:iam::123456789012:role/rnaseq-*")


@pytest.mark.parametrize("breakage, words", [
    # The administrators' old wildcard: kms:Create* covers kms:CreateGrant, for anyone.
    (lambda st: st["KeyAdministrationByTheKeyAdministratorsOnly"]["Action"].append("kms:Create*"),
     "KeyAdministrationByTheKeyAdministratorsOnly lets arn:aws:iam::123456789012:user/moto kms:CreateGrant directly"),
    (lambda st: st["GrantsForAwsResourcesByTheKeyAdministrators"].pop("Condition"),
     "GrantsForAwsResourcesByTheKeyAdministrators lets arn:aws:iam::123456789012:user/moto kms:CreateGrant directly"),
    (lambda st: st["UploadsThroughS3ByTheKeyAdministrators"].update(Action="kms:*", Condition={}),
     "UploadsThroughS3ByTheKeyAdministrators lets arn:aws:iam::123456789012:user/moto kms:Decrypt directly"),
    (lambda st: st["KeyUseByThePipelineRolesAndAdministrators"]["Condition"]["ArnEquals"]["aws:PrincipalArn"].append(
        "arn:aws:iam::123456789012:user/moto"),
     "arn:aws:iam::123456789012:user/moto is among the users of KeyUseByThePipelineRolesAndAdministrators"),
])
def test_key_administrators_who_could_use_the_key_fail_kms_03(storage, breakage, words):
    breakage({st["Sid"]: st for st in storage["key"]["key_policies"][0]["Statement"]})
    results = storage_controls(storage, STORAGE_BASELINE)
    assert failed(results) == ["KMS-03"]
    assert words in next(r["found"] for r in results if r["id"] == "KMS-03")


def test_bucket_public_access_acls_and_versioning_are_checked(storage):
    storage["bucket"]["public_access_block"] = {}
    storage["bucket"]["bucket_versioning"] = {"Status": "Suspended"}
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["S3-01", "S3-03"]


def test_the_account_block_is_required_unless_the_inventory_waives_it(storage):
    storage["account_public_access_block"] = {"readable": False, "configuration": {}}
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["S3-02"]
    assert failed(storage_controls(storage, {**STORAGE_BASELINE, "account_public_access_block": False})) == []


def test_encryption_with_another_key_fails_s3_04(storage):
    rule = storage["bucket"]["bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"][0]
    rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = "arn:aws:kms:us-east-1:1:key/other"
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["S3-04"]


def test_a_bucket_without_its_policy_fails_the_policy_controls(storage):
    storage["bucket"]["bucket_policy"] = {}
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["S3-05", "S3-06"]


PRODUCTION = {**STORAGE_BASELINE, "restrict_to_vpc": True, "account_id": "123456789012"}
DEPLOYER = "arn:aws:iam::123456789012:user/deployer"


def fence(storage, **changes):
    """The storage state with the fence the storage phase writes in production, changed by `changes` (Sid: statement or None)."""
    from storage import data_bucket_policy

    key_arn = storage["key"]["key_arn"]
    statements = {s["Sid"]: s for s in data_bucket_policy({
        "partition": "aws", "bucket": "rnaseq-hipaa-data-bucket", "key_arn": key_arn, "restrict_to_vpcs": ["vpc-1"],
        "admin_arns": [DEPLOYER], "reader_arns": ["arn:aws:iam::123456789012:user/auditor"]})["Statement"]}
    for sid, statement in changes.items():
        statements.pop(sid) if statement is None else statements.__setitem__(sid, statement)
    storage["bucket"]["bucket_policy"]["Policy"] = json.dumps({"Version": "2012-10-17", "Statement": list(statements.values())})
    return {**storage, "vpc_id": "vpc-1"}


def test_the_fence_is_checked_only_where_required(storage):
    assert failed(storage_controls({**storage, "vpc_id": "vpc-1"}, PRODUCTION)) == ["S3-07", "S3-11"]
    assert failed(storage_controls(fence(storage), PRODUCTION)) == []
    assert failed(storage_controls(fence(storage), STORAGE_BASELINE)) == []


def test_a_fence_of_the_data_actions_alone_leaves_listing_and_unknown_actions_open(storage):
    narrow = {"Sid": "DenyObjectAccessFromOutsideTheVpc", "Effect": "Deny", "Principal": {"AWS": "*"},
              "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
                         "s3:RestoreObject"],
              "Resource": "arn:aws:s3:::rnaseq-hipaa-data-bucket/*", "Condition": {"StringNotEquals": {"aws:SourceVpc": ["vpc-1"]}}}
    results = storage_controls(fence(storage, DenyObjectAccessFromOutsideTheVpc=narrow, DenyBucketAccessFromOutsideTheVpc=None), PRODUCTION)
    assert failed(results) == ["S3-07"]
    found = next(r for r in results if r["id"] == "S3-07")["found"]
    assert "s3:ListBucket on the bucket" in found and "s3:GetObjectTagging on its objects" in found
    assert "s3:AnActionS3AddsLater on its objects" in found and "s3:GetObject on" not in found


def test_a_fence_that_shuts_out_the_vpc_fails_s3_07(storage):
    everyone = {"Sid": "DenyObjectAccessFromOutsideTheVpc", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                "Resource": "arn:aws:s3:::rnaseq-hipaa-data-bucket/*"}
    results = storage_controls(fence(storage, DenyObjectAccessFromOutsideTheVpc=everyone), PRODUCTION)
    assert failed(results) == ["S3-07"]
    assert next(r for r in results if r["id"] == "S3-07")["found"] == "denies the VPC s3:GetObject, s3:PutObject"


def test_bucket_settings_anyone_may_change_from_inside_the_vpc_fail_s3_11(storage):
    results = storage_controls(fence(storage, DenyBucketConfigurationChanges=None), PRODUCTION)
    assert failed(results) == ["S3-11"]
    found = next(r for r in results if r["id"] == "S3-11")["found"]
    assert found.startswith("allows s3:PutBucketPolicy, s3:DeleteBucketPolicy, s3:PutBucketVersioning") and "Lifecycle" in found


@pytest.mark.parametrize("operator, arn", [("ArnNotLike", "arn:aws:iam::123456789012:role/admin"),
                                           ("ArnNotEquals", "arn:aws:iam::123456789012:role/rnaseq-*")])
def test_a_fence_that_exempts_principals_by_pattern_fails_s3_07_and_s3_11(storage, operator, arn):
    state = fence(storage)
    policy = json.loads(state["bucket"]["bucket_policy"]["Policy"])
    for statement in policy["Statement"]:
        if statement["Sid"].startswith("DenyObject"):
            statement["Condition"] = {"StringNotEquals": {"aws:SourceVpc": ["vpc-1"]}, operator: {"aws:PrincipalArn": [arn]}}
    state["bucket"]["bucket_policy"]["Policy"] = json.dumps(policy)
    results = storage_controls(state, PRODUCTION)
    assert failed(results) == ["S3-07", "S3-11"]
    assert next(r for r in results if r["id"] == "S3-07")["found"] == f"exempts by pattern {operator} {arn}"


def test_logging_the_log_bucket_and_lifecycle_are_checked(storage):
    storage["bucket"]["bucket_logging"] = {}
    storage["log_bucket"]["bucket_policy"] = {}
    storage["bucket"]["bucket_lifecycle_configuration"] = {"Rules": []}
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ["S3-08", "S3-09", "S3-10"]


def s3_12(storage, baseline=STORAGE_BASELINE):
    result = next(r for r in storage_controls(storage, baseline) if r["id"] == "S3-12")
    return result["status"], result["found"]


def locked_as(storage, days, compliance=False):
    storage["backup"]["vault"].update({"locked": True, "min_retention_days": days})
    if compliance:
        storage["backup"]["vault"]["lock_date"] = "2026-12-02T00:00:00+00:00"
    return storage


@pytest.mark.parametrize("breakage, words", [
    (lambda st: st["backup"].update(plan=None, selections=[]), "no plan rnaseq-data-backup"),
    (lambda st: st["backup"].update(selections=[]), "no selection of the plan covers arn:aws:s3:::rnaseq-hipaa-data-bucket"),
    (lambda st: st["backup"]["selections"][0].update(iam_role_arn="arn:aws:iam::123456789012:role/other"), "no selection"),
    (lambda st: st["backup"]["plan"]["backup_plan"]["rules"][0]["lifecycle"].update(delete_after_days=7),
     "recovery points kept 7 days, not 35"),
    (lambda st: st["backup"]["plan"]["backup_plan"]["rules"][0].update(target_backup_vault_name="Default"),
     "no rule of the plan backs up into rnaseq-backup-vault"),
    (lambda st: st["backup"].update(vault=None), "no vault rnaseq-backup-vault"),
    (lambda st: st["backup"]["vault"].pop("encryption_key_arn"), "vault encrypted with an AWS owned key, not the pipeline key"),
])
def test_a_backup_that_would_not_restore_the_bucket_fails_s3_12(storage, breakage, words):
    assert s3_12(storage) == ("pass", "as expected")
    breakage(storage)
    status, found = s3_12(storage)
    assert status == "fail" and words in found


def test_the_vault_lock_is_checked_where_the_inventory_requires_it(storage):
    production = {**STORAGE_BASELINE, "backup": {**STORAGE_BASELINE["backup"], "vault_lock": "governance"}}
    assert s3_12(storage, production) == ("fail", "vault not locked")
    assert s3_12(locked_as(storage, 7), production) == ("fail", "vault lock's minimum retention 7 days, not 35")
    assert s3_12(locked_as(storage, 35), production) == ("pass", "as expected")
    compliance = {**production, "backup": {**production["backup"], "vault_lock": "compliance"}}
    assert s3_12(storage, compliance) == ("fail", "vault lock in governance mode, not compliance")
    assert s3_12(locked_as(storage, 35, compliance=True), compliance) == ("pass", "as expected")


@pytest.mark.parametrize("service, passes", [("backup", True), ("sqs", False)])
def test_key_administrators_may_use_the_key_through_aws_backup_and_not_other_services(storage, service, passes):
    storage["key"]["key_policies"][0]["Statement"].append({
        "Sid": "ThroughAService", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:user/moto"]},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"{service}.us-east-1.amazonaws.com"}}})
    assert failed(storage_controls(storage, STORAGE_BASELINE)) == ([] if passes else ["KMS-03"])


def test_key_use_principals_names_who_may_decrypt_by_principal_or_principal_arn():
    from storage import pipeline_key_policy
    from storage_controls import key_use_principals

    job = "arn:aws:iam::111122223333:role/rnaseq-batch-job-role"
    admin = "arn:aws:iam::111122223333:role/KeyAdmin"
    ebs = "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    policy = pipeline_key_policy({"partition": "aws", "account_id": "111122223333", "region": "eu-west-1",
                                  "admin_arns": [admin], "user_arns": [job], "ebs_role_arns": [ebs], "extra_statements": []})
    users = key_use_principals(json.dumps(policy))
    # The job role (by aws:PrincipalArn), the account it is named under, the EBS role; the administrators
    # decrypt only through S3, EC2 and AWS Backup, in statements that also count as use.
    assert job in users and ebs in users and "arn:aws:iam::111122223333:root" in users
    assert key_use_principals({"Statement": [{"Effect": "Deny", "Principal": {"AWS": job}, "Action": "kms:*"}]}) == []
    assert key_use_principals({"Statement": {"Effect": "Allow", "Principal": {"AWS": job}, "Action": "kms:Encrypt"}}) == []
    assert key_use_principals({"Statement": [{"Effect": "Allow", "Principal": {"AWS": [job]}, "Action": "kms:*"}]}) == [job]
