"""s3_buckets, s3_objects, s3_account_public_access_block, backup_vault_lock, the principal checks of
aws_context_info and iam_account_password_policy, in-process against moto's mock_aws."""

from __future__ import annotations

import json

import boto3
import pytest

from support.module_harness import load_module, run_module

s3_buckets = load_module("s3_buckets")
s3_objects = load_module("s3_objects")
s3_account_pab = load_module("s3_account_public_access_block")
aws_context_info = load_module("aws_context_info")
iam_account_password_policy = load_module("iam_account_password_policy")
backup_vault_lock = load_module("backup_vault_lock")

PAB = {"block_public_acls": True, "ignore_public_acls": True, "block_public_policy": True, "restrict_public_buckets": True}


@pytest.fixture
def aws(mocked_aws):
    yield


def client(service):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def bucket_spec(**extra):
    return {"name": "data-bucket", "versioning": True, "public_access_block": PAB, "object_ownership": "BucketOwnerEnforced",
            "encryption": {"algorithm": "AES256"}, "tags": {"Project": "p"}, **extra}


def test_check_mode_plans_a_new_bucket_without_creating_it(aws):
    result = run_module(s3_buckets, {"buckets": [bucket_spec()], "_ansible_check_mode": True})
    assert result["changed"] is True and result["buckets"][0]["created"] is True
    assert "versioning" in result["buckets"][0]["changed"]
    assert client("s3").list_buckets()["Buckets"] == []


def test_a_bucket_is_created_with_its_settings_and_a_second_call_changes_nothing(aws):
    first = run_module(s3_buckets, {"buckets": [bucket_spec()]})
    assert first["changed"] is True
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket="data-bucket")["Status"] == "Enabled"
    assert s3.get_bucket_tagging(Bucket="data-bucket")["TagSet"] == [{"Key": "Project", "Value": "p"}]
    assert s3.get_public_access_block(Bucket="data-bucket")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_ownership_controls(Bucket="data-bucket")["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    second = run_module(s3_buckets, {"buckets": [bucket_spec()]})
    assert second["changed"] is False and second["buckets"][0] == {"name": "data-bucket", "created": False, "changed": []}
    assert first["changes"]["data-bucket"][0] == "created" and second["changes"] == {}


def test_drifted_settings_are_reported_in_check_mode_then_repaired(aws):
    run_module(s3_buckets, {"buckets": [bucket_spec()]})
    s3 = client("s3")
    s3.put_bucket_versioning(Bucket="data-bucket", VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket="data-bucket")
    s3.put_bucket_tagging(Bucket="data-bucket", Tagging={"TagSet": [{"Key": "Project", "Value": "p"}, {"Key": "Extra", "Value": "x"}]})
    check = run_module(s3_buckets, {"buckets": [bucket_spec()], "_ansible_check_mode": True, "_ansible_diff": True})
    assert sorted(check["buckets"][0]["changed"]) == ["public_access_block", "tags", "versioning"]
    assert check["diff"]["before"]["data-bucket"]["versioning"] is False
    assert s3.get_bucket_versioning(Bucket="data-bucket")["Status"] == "Suspended", "check mode wrote nothing"
    run_module(s3_buckets, {"buckets": [bucket_spec()]})
    assert s3.get_bucket_versioning(Bucket="data-bucket")["Status"] == "Enabled"
    assert s3.get_bucket_tagging(Bucket="data-bucket")["TagSet"] == [{"Key": "Project", "Value": "p"}]
    assert s3.get_public_access_block(Bucket="data-bucket")["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_with_purge_tags_false_a_buckets_tag_set_by_hand_stays_and_a_declared_one_is_set(aws):
    run_module(s3_buckets, {"buckets": [bucket_spec()]})
    s3 = client("s3")
    s3.put_bucket_tagging(Bucket="data-bucket", Tagging={"TagSet": [{"Key": "Project", "Value": "o"}, {"Key": "Extra", "Value": "x"}]})
    kept = run_module(s3_buckets, {"buckets": [bucket_spec(purge_tags=False)]})
    assert kept["buckets"][0]["changed"] == ["tags"]
    assert s3.get_bucket_tagging(Bucket="data-bucket")["TagSet"] == [{"Key": "Extra", "Value": "x"}, {"Key": "Project", "Value": "p"}]
    assert run_module(s3_buckets, {"buckets": [bucket_spec(purge_tags=False)]})["changed"] is False
    assert run_module(s3_buckets, {"buckets": [bucket_spec(tags=None)]})["changed"] is False


def test_an_empty_bucket_with_state_absent_is_planned_then_deleted_once_and_one_holding_objects_is_refused(aws):
    s3 = client("s3")
    run_module(s3_buckets, {"buckets": [bucket_spec(), {"name": "log-bucket"}]})
    s3.put_object(Bucket="log-bucket", Key="a", Body=b"x")
    s3.delete_object(Bucket="log-bucket", Key="a")  # unversioned: gone, the bucket is empty again
    s3.put_object(Bucket="data-bucket", Key="a", Body=b"x")
    s3.delete_object(Bucket="data-bucket", Key="a")  # versioned: a version and a delete marker stay
    refused = run_module(s3_buckets, {"buckets": [{"name": "log-bucket", "state": "absent"}, {"name": "data-bucket", "state": "absent"}]})
    assert refused["failed"] is True and refused["msg"] == (
        "Nothing was changed: these buckets hold objects and are deleted only empty: data-bucket")
    gone = {"buckets": [{"name": "log-bucket", "state": "absent"}, {"name": "never-made", "state": "absent"}]}
    planned = run_module(s3_buckets, {**gone, "_ansible_check_mode": True})
    assert [b["deleted"] for b in planned["buckets"]] == [True, False] and len(s3.list_buckets()["Buckets"]) == 2
    assert planned["changes"] == {"log-bucket": ["deleted"]}
    assert run_module(s3_buckets, gone)["changed"] is True
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["data-bucket"]
    assert run_module(s3_buckets, gone)["changed"] is False


def test_policy_logging_and_lifecycle_are_exact(aws):
    # Like AWS, the emulator refuses logging into a bucket whose policy does not admit S3's log delivery.
    delivery = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                                                        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::log-bucket/s3-access/*"}]}
    run_module(s3_buckets, {"buckets": [bucket_spec(), {"name": "log-bucket", "policy": json.dumps(delivery)}]})
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "DenyHttp", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                                                      "Resource": "arn:aws:s3:::data-bucket/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    rules = [{"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]
    s3 = client("s3")
    s3.put_bucket_lifecycle_configuration(Bucket="data-bucket", LifecycleConfiguration={"Rules": rules + [
        {"ID": "stray", "Status": "Enabled", "Filter": {"Prefix": "x/"}, "Expiration": {"Days": 1}}]})
    settings = {"name": "data-bucket", "policy": json.dumps(policy), "lifecycle_rules": rules,
                "logging": {"target_bucket": "log-bucket", "target_prefix": "s3-access/"}}
    first = run_module(s3_buckets, {"create": False, "buckets": [settings]})
    assert sorted(first["buckets"][0]["changed"]) == ["lifecycle_rules", "logging", "policy"]
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket="data-bucket")["Rules"]] == ["old"]
    assert s3.get_bucket_logging(Bucket="data-bucket")["LoggingEnabled"]["TargetPrefix"] == "s3-access/"
    assert run_module(s3_buckets, {"create": False, "buckets": [settings]})["changed"] is False


def test_a_missing_bucket_is_an_error_when_not_creating_except_in_check_mode(aws):
    result = run_module(s3_buckets, {"create": False, "buckets": [{"name": "nope-bucket", "versioning": True}]})
    assert result["failed"] is True and "does not exist: create it first" in result["msg"]
    planned = run_module(s3_buckets, {"create": False, "buckets": [{"name": "nope-bucket", "versioning": True}], "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["buckets"][0]["created"] is False


def test_one_task_creates_one_bucket_and_only_configures_another(aws):
    """create per bucket: the access log bucket is made, the data bucket an earlier step made is only configured."""
    missing = run_module(s3_buckets, {"buckets": [{"name": "data-bucket", "create": False, "versioning": True}]})
    assert missing.get("failed") is True and "Bucket data-bucket does not exist" in missing["msg"]
    run_module(s3_buckets, {"buckets": [{"name": "data-bucket"}]})
    result = run_module(s3_buckets, {"create": False, "buckets": [{"name": "log-bucket", "create": True, "versioning": True},
                                                                  {"name": "data-bucket", "create": False, "versioning": True}]})
    assert [(b["name"], b["created"], b["changed"]) for b in result["buckets"]] == [
        ("log-bucket", True, ["versioning"]), ("data-bucket", False, ["versioning"])]


def test_objects_are_uploaded_once_with_kms_encryption(aws, tmp_path):
    kms_key = client("kms").create_key()["KeyMetadata"]["Arn"]
    client("s3").create_bucket(Bucket="data-bucket")
    src = tmp_path / "reads.fastq"
    src.write_text("@r\nACGT\n+\nIIII\n")
    objects = [{"key": "raw-data/"}, {"key": "results/"}, {"key": "raw-data/reads.fastq", "src": str(src)}]
    check = run_module(s3_objects, {"bucket": "data-bucket", "kms_key_id": kms_key, "objects": objects, "_ansible_check_mode": True})
    assert check["uploaded"] == ["raw-data/", "results/", "raw-data/reads.fastq"]
    assert client("s3").list_objects_v2(Bucket="data-bucket").get("KeyCount") == 0
    first = run_module(s3_objects, {"bucket": "data-bucket", "kms_key_id": kms_key, "objects": objects})
    assert first["changed"] is True and len(first["uploaded"]) == 3
    head = client("s3").head_object(Bucket="data-bucket", Key="raw-data/reads.fastq")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == kms_key
    second = run_module(s3_objects, {"bucket": "data-bucket", "kms_key_id": kms_key, "objects": objects})
    assert second["changed"] is False and second["present"] == [o["key"] for o in objects]
    src.write_text("@r\nACGTACGT\n+\nIIIIIIII\n")
    resized = run_module(s3_objects, {"bucket": "data-bucket", "objects": objects, "overwrite": "size"})
    assert resized["uploaded"] == ["raw-data/reads.fastq"]


def test_objects_with_state_absent_are_planned_then_deleted_in_one_call_and_then_left_alone(aws):
    s3 = client("s3")
    s3.create_bucket(Bucket="data-bucket")
    run_module(s3_objects, {"bucket": "data-bucket", "encryption": "AES256", "objects": [{"key": "old/"}, {"key": "kept/"}]})
    args = {"bucket": "data-bucket", "encryption": "AES256",
            "objects": [{"key": "old/", "state": "absent"}, {"key": "never-made/", "state": "absent"}, {"key": "kept/"}]}
    planned = run_module(s3_objects, {**args, "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["deleted"] == ["old/"] and planned["present"] == ["kept/"]
    assert planned["changes"] == {"old/": ["deleted"]}
    assert s3.list_objects_v2(Bucket="data-bucket")["KeyCount"] == 2, "check mode wrote nothing"
    assert run_module(s3_objects, args)["deleted"] == ["old/"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="data-bucket")["Contents"]] == ["kept/"]
    assert run_module(s3_objects, args)["changed"] is False


def test_checksum_overwrite_replaces_changed_content_of_the_same_size(aws, tmp_path):
    client("s3").create_bucket(Bucket="data-bucket")
    src = tmp_path / "nextflow.config"
    src.write_text("queue = 'a'\n")
    objects = [{"key": "reference/nextflow.config", "src": str(src)}]
    first = run_module(s3_objects, {"bucket": "data-bucket", "objects": objects, "overwrite": "checksum"})
    assert first["uploaded"] == ["reference/nextflow.config"]
    again = run_module(s3_objects, {"bucket": "data-bucket", "objects": objects, "overwrite": "checksum"})
    assert again["changed"] is False
    src.write_text("queue = 'b'\n")
    assert run_module(s3_objects, {"bucket": "data-bucket", "objects": objects, "overwrite": "size"})["changed"] is False
    planned = run_module(s3_objects, {"bucket": "data-bucket", "objects": objects, "overwrite": "checksum", "_ansible_check_mode": True})
    assert planned["uploaded"] == ["reference/nextflow.config"]
    assert client("s3").get_object(Bucket="data-bucket", Key="reference/nextflow.config")["Body"].read() == b"queue = 'a'\n"
    replaced = run_module(s3_objects, {"bucket": "data-bucket", "objects": objects, "overwrite": "checksum"})
    assert replaced["uploaded"] == ["reference/nextflow.config"]
    assert client("s3").get_object(Bucket="data-bucket", Key="reference/nextflow.config")["Body"].read() == b"queue = 'b'\n"


def test_objects_name_a_missing_source_file(aws):
    client("s3").create_bucket(Bucket="data-bucket")
    result = run_module(s3_objects, {"bucket": "data-bucket", "objects": [{"key": "a", "src": "/nonexistent/file"}]})
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_the_account_public_access_block_is_set_once(aws):
    account = client("sts").get_caller_identity()["Account"]
    first = run_module(s3_account_pab, {"account_id": account})
    assert first["changed"] is True and first["applied"] is True
    assert client("s3control").get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert run_module(s3_account_pab, {"account_id": account})["changed"] is False


def test_principals_are_resolved_with_their_path_and_unknown_ones_named(aws):
    iam = client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    role = iam.create_role(RoleName="KeyAdmin", Path="/ops/", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    account = role.split(":")[4]
    result = run_module(aws_context_info, {"principal_arns": [f"arn:aws:iam::{account}:role/KeyAdmin",
                                                              f"arn:aws:iam::{account}:user/ghost", f"arn:aws:iam::{account}:root"]})
    assert result["principals"][0] == {"arn": f"arn:aws:iam::{account}:role/KeyAdmin", "exists": True, "canonical_arn": role}
    assert result["missing_principals"] == [f"arn:aws:iam::{account}:user/ghost"]
    assert result["caller_principal_arn"].startswith(f"arn:aws:iam::{account}:")


@pytest.mark.parametrize("arn", ["arn:aws:iam::123456789012:role/Admin*", "not-an-arn", "arn:aws:s3:::bucket"])
def test_principals_refuse_patterns_and_non_iam_arns(aws, arn):
    assert run_module(aws_context_info, {"principal_arns": [arn]})["failed"] is True


def test_the_password_policy_writes_only_when_it_differs(aws):
    first = run_module(iam_account_password_policy, {"min_length": 14, "reuse_prevention": 24, "max_age": 90})
    assert first["changed"] is True
    policy = client("iam").get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 14 and policy["PasswordReusePrevention"] == 24 and policy["MaxPasswordAge"] == 90
    assert run_module(iam_account_password_policy, {"min_length": 14, "reuse_prevention": 24, "max_age": 90})["changed"] is False
    check = run_module(iam_account_password_policy, {"min_length": 16, "_ansible_check_mode": True})
    assert check["changed"] is True
    assert client("iam").get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 14


def test_object_lock_is_set_on_a_versioned_bucket_planned_in_check_mode_and_then_left_alone(aws):
    lock = {"mode": "GOVERNANCE", "days": 2190}
    plan = run_module(s3_buckets, {"buckets": [bucket_spec(object_lock=lock)], "_ansible_check_mode": True})
    assert plan["changed"] is True and "object_lock" in plan["buckets"][0]["changed"]
    first = run_module(s3_buckets, {"buckets": [bucket_spec(object_lock=lock)]})
    assert "object_lock" in first["buckets"][0]["changed"]
    found = client("s3").get_object_lock_configuration(Bucket="data-bucket")["ObjectLockConfiguration"]
    assert found["ObjectLockEnabled"] == "Enabled"
    assert {k: found["Rule"]["DefaultRetention"][k] for k in ("Mode", "Days")} == {"Mode": "GOVERNANCE", "Days": 2190}
    again = run_module(s3_buckets, {"buckets": [bucket_spec(object_lock=lock)]})
    assert again["changed"] is False
    stricter = run_module(s3_buckets, {"buckets": [bucket_spec(object_lock={"mode": "COMPLIANCE", "days": 2190})]})
    assert stricter["buckets"][0]["changed"] == ["object_lock"]
    assert stricter["diff"]["before"]["data-bucket"]["object_lock"] == {"mode": "GOVERNANCE", "days": 2190}


@pytest.mark.parametrize("lock", [{"mode": "LEGAL", "days": 30}, {"mode": "GOVERNANCE", "days": 0}, {"mode": "GOVERNANCE"}])
def test_an_object_lock_s3_would_refuse_is_one_clear_error_before_any_change(aws, lock):
    result = run_module(s3_buckets, {"buckets": [bucket_spec(object_lock=lock)]})
    assert result["failed"] is True
    assert result["msg"].startswith("Bucket data-bucket: object_lock needs mode GOVERNANCE or COMPLIANCE")
    assert client("s3").list_buckets()["Buckets"] == []


def test_object_lock_cannot_be_declared_away(aws):
    run_module(s3_buckets, {"buckets": [bucket_spec(object_lock={"mode": "GOVERNANCE", "days": 1})]})
    result = run_module(s3_buckets, {"buckets": [bucket_spec(object_lock={})], "_ansible_check_mode": True})
    assert result["failed"] is True and "S3 cannot turn off" in result["msg"]


def test_with_delete_vault_a_vault_is_planned_then_unlocked_and_deleted_once(aws):
    backup = client("backup")
    backup.create_backup_vault(BackupVaultName="vault")
    run_module(backup_vault_lock, {"vaults": [{"name": "vault", "min_retention_days": 35}]})
    gone = {"vaults": [{"name": "vault", "delete_vault": True}], "state": "absent"}
    planned = run_module(backup_vault_lock, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {"vault": ["deleted"]} and planned["diff"]["before"]["vault"]["lock"]["min_retention_days"] == 35
    assert backup.describe_backup_vault(BackupVaultName="vault")["MinRetentionDays"] == 35, "check mode wrote nothing"
    assert run_module(backup_vault_lock, gone)["changed"] is True
    assert [v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]] == []
    assert run_module(backup_vault_lock, gone)["changed"] is False
    assert run_module(backup_vault_lock, {**gone, "vaults": [{"name": "vault"}]})["changed"] is False


def test_a_vault_is_locked_once_planned_in_check_mode_and_unlocked_on_request(aws):
    backup = client("backup")
    backup.create_backup_vault(BackupVaultName="vault")
    governance = {"vaults": [{"name": "vault", "min_retention_days": 2190}]}
    planned = run_module(backup_vault_lock, {**governance, "_ansible_check_mode": True})
    assert planned["changed"] and planned["diff"]["after"] == {"vault": {"lock": {"min_retention_days": 2190,
                                                                                   "max_retention_days": None,
                                                                                   "mode": "governance"}}}
    assert planned["changes"] == {"vault": ["lock"]}
    assert not backup.describe_backup_vault(BackupVaultName="vault").get("Locked")
    assert run_module(backup_vault_lock, governance)["changed"]
    assert backup.describe_backup_vault(BackupVaultName="vault")["MinRetentionDays"] == 2190
    assert not run_module(backup_vault_lock, governance)["changed"]
    compliance = {"vaults": [{"name": "vault", "min_retention_days": 2190, "changeable_for_days": 3}]}
    assert run_module(backup_vault_lock, compliance)["locks"]["vault"]["mode"] == "compliance"
    assert backup.describe_backup_vault(BackupVaultName="vault").get("LockDate")
    assert run_module(backup_vault_lock, {**compliance, "state": "absent"})["changed"]  # still in its grace time
    assert not backup.describe_backup_vault(BackupVaultName="vault").get("Locked")


def test_a_missing_vault_not_declared_is_named_and_nothing_is_locked(aws):
    failed = run_module(backup_vault_lock, {"vaults": [{"name": "missing", "min_retention_days": 35}]})
    assert failed["failed"] and "Backup vault missing does not exist: declare its encryption_key_arn or tags" in failed["msg"]
    assert run_module(backup_vault_lock, {"vaults": [{"name": "missing"}], "state": "absent"})["changed"] is False
    assert client("backup").list_backup_vaults()["BackupVaultList"] == []


def test_a_declared_vault_is_planned_then_created_encrypted_tagged_and_locked_and_then_left_alone(aws):
    backup, key = client("backup"), client("kms").create_key()["KeyMetadata"]["Arn"]
    vault = {"vaults": [{"name": "vault", "encryption_key_arn": key, "tags": {"Project": "p"}, "min_retention_days": 35}]}
    planned = run_module(backup_vault_lock, {**vault, "_ansible_check_mode": True})
    assert planned["changed"] and planned["created"] == ["vault"]
    assert backup.list_backup_vaults()["BackupVaultList"] == []
    made = run_module(backup_vault_lock, vault)
    assert made["changed"] and made["created"] == ["vault"], made
    described = backup.describe_backup_vault(BackupVaultName="vault")
    assert described["EncryptionKeyArn"] == key and described["MinRetentionDays"] == 35
    assert backup.list_tags(ResourceArn=described["BackupVaultArn"])["Tags"] == {"Project": "p"}
    again = run_module(backup_vault_lock, vault)
    assert again["changed"] is False and again["created"] == []


def test_with_purge_tags_false_a_vaults_tag_set_by_hand_stays(aws):
    backup, key = client("backup"), client("kms").create_key()["KeyMetadata"]["Arn"]
    vault = {"name": "vault", "encryption_key_arn": key, "tags": {"Project": "p"}, "min_retention_days": 35}
    run_module(backup_vault_lock, {"vaults": [vault]})
    arn = backup.describe_backup_vault(BackupVaultName="vault")["BackupVaultArn"]
    backup.tag_resource(ResourceArn=arn, Tags={"Project": "other", "Extra": "x"})
    kept = run_module(backup_vault_lock, {"vaults": [{**vault, "purge_tags": False}]})
    assert kept["changed"] and kept["diff"]["after"] == {"vault": {"tags": {"Project": "p", "Extra": "x"}}}
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"Project": "p", "Extra": "x"}


def test_a_vaults_tags_are_made_exact_and_another_key_is_refused_before_any_change(aws):
    backup, key = client("backup"), client("kms").create_key()["KeyMetadata"]["Arn"]
    vault = {"vaults": [{"name": "vault", "encryption_key_arn": key, "tags": {"Project": "p"}, "min_retention_days": 35}]}
    run_module(backup_vault_lock, vault)
    arn = backup.describe_backup_vault(BackupVaultName="vault")["BackupVaultArn"]
    backup.tag_resource(ResourceArn=arn, Tags={"Project": "other", "Extra": "x"})
    repaired = run_module(backup_vault_lock, vault)
    assert repaired["changed"] and repaired["diff"]["after"] == {"vault": {"tags": {"Project": "p"}}}
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"Project": "p"}
    other = client("kms").create_key()["KeyMetadata"]["Arn"]
    refused = run_module(backup_vault_lock, {"vaults": [{**vault["vaults"][0], "encryption_key_arn": other, "tags": {"New": "t"}}]})
    assert refused["failed"] and f"is encrypted with {key}, not {other}" in refused["msg"]
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"Project": "p"}


def test_a_compliance_lock_past_its_grace_time_is_reported_immutable_and_left_alone(aws):
    from moto.backup.models import backup_backends

    backup = client("backup")
    backup.create_backup_vault(BackupVaultName="vault")
    backup.put_backup_vault_lock_configuration(BackupVaultName="vault", MinRetentionDays=35, ChangeableForDays=3)
    backup_backends["123456789012"]["us-east-1"].vaults["vault"].lock_date = 1.0  # the grace time is over
    same = run_module(backup_vault_lock, {"vaults": [{"name": "vault", "min_retention_days": 35, "changeable_for_days": 3}]})
    assert same["changed"] is False and same["immutable"] == ["vault"]
    refused = run_module(backup_vault_lock, {"vaults": [{"name": "vault"}], "state": "absent"})
    assert refused["failed"] and "became immutable" in refused["msg"]
