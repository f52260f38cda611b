"""The storage phase against the emulator: runbook Step 3 (S3) and Step 0."""

from __future__ import annotations

import json

import pytest

from support.api_calls import writes
from support.cloud import run_playbook
from support.module_harness import toolkit_aws

BUCKET = "rnaseq-hipaa-data-bucket"
LOGS = "rnaseq-hipaa-data-bucket-access-logs"
SYNTHETIC = {"storage_synthetic_data": True, "storage_synthetic_samples": 2, "storage_synthetic_read_pairs": 200}


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    for playbook in ("playbooks/identity.yml", "playbooks/storage.yml"):
        run = run_playbook(local_cloud, playbook, extra_vars=SYNTHETIC)
        assert run.ok, run.explain()


@pytest.fixture(scope="module")
def s3(local_cloud):
    return local_cloud.client("s3")


@pytest.fixture(scope="module")
def key(converged, local_cloud):
    kms = local_cloud.client("kms")
    alias = next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/rnaseq-pipeline")
    return kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]


def test_the_pipeline_key_rotates_and_its_policy_separates_administration_from_use(local_cloud, key):
    kms = local_cloud.client("kms")
    assert key["KeyManager"] == "CUSTOMER" and key["KeyState"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    statements = {st["Sid"]: st for st in policy["Statement"]}
    admin, uploads = statements["KeyAdministrationByTheKeyAdministratorsOnly"], statements["UploadsThroughS3ByTheKeyAdministrators"]
    use = statements["KeyUseByThePipelineRolesAndAdministrators"]
    assert uploads["Action"] == "kms:GenerateDataKey" and "kms:ViaService" in uploads["Condition"]["StringEquals"]
    assert not any(a in admin["Action"] for a in ("kms:Decrypt", "kms:Encrypt", "kms:*", "kms:Create*", "kms:CreateGrant"))
    assert "kms:Decrypt" in use["Action"]
    # The users by exact ARN: AWS Backup's, the Batch jobs' and head's roles and the identity phase's administrators.
    account = key["Arn"].split(":")[4]
    assert use["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [
        f"arn:aws:iam::{account}:role/rnaseq-backup-role",
        f"arn:aws:iam::{account}:role/rnaseq-batch-head-role", f"arn:aws:iam::{account}:role/rnaseq-batch-job-role",
        f"arn:aws:iam::{account}:user/example-admin"]}}
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for s in policy["Statement"] if s["Effect"] == "Allow")


def test_the_data_bucket_blocks_public_access_is_versioned_and_encrypted_with_the_key(s3, key):
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_runbook_folders_and_the_synthetic_data_set_are_in_the_bucket(s3, converged):
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {"raw-data/", "results/", "logs/", "reference/"} <= keys
    assert {"raw-data/synthetic/samplesheet.csv", "raw-data/synthetic/control_rep1_R1.fastq.gz",
            "raw-data/synthetic/treated_rep1_R2.fastq.gz", "reference/synthetic/genes.gtf"} <= keys


def test_the_bucket_policy_denies_plain_http_and_uploads_not_under_the_pipeline_key(s3, key):
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    tls = statements["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(tls["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    assert statements["DenyUploadsNotEncryptedWithKms"]["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "aws:kms"}
    assert statements["DenyUploadsWithAnotherKmsKey"]["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key["Arn"]}
    assert "DenyObjectAccessFromOutsideTheVpc" not in statements, "off outside production"


def test_access_logs_go_to_a_protected_bucket_of_their_own(s3, local_cloud):
    assert s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"] == {"TargetBucket": LOGS, "TargetPrefix": f"s3-access/{BUCKET}/"}
    assert s3.get_public_access_block(Bucket=LOGS)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert s3.get_bucket_versioning(Bucket=LOGS)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=LOGS)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    statements = {s["Sid"]: s for s in json.loads(s3.get_bucket_policy(Bucket=LOGS)["Policy"])["Statement"]}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    delivery = statements["AccessLogDeliveryFromRnaseqHipaaDataBucket"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    assert delivery["Resource"] == f"arn:aws:s3:::{LOGS}/s3-access/{BUCKET}/*"
    # The audit phase's log bucket delivers its access logs here too, into a prefix of its own.
    audit = statements["AccessLogDeliveryFromRnaseqHipaaDataBucketAuditLogs"]
    assert audit["Resource"] == f"arn:aws:s3:::{LOGS}/s3-access/{BUCKET}-audit-logs/*"


def test_lifecycle_archives_raw_data_and_expires_noncurrent_versions(s3, converged):
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules["archive-raw-data"]["Filter"] == {"Prefix": "raw-data/"}
    assert rules["archive-raw-data"]["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}]
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90


def test_public_access_is_blocked_for_the_whole_account(local_cloud, converged):
    s3control = toolkit_aws.unprefix_account_host(local_cloud.client("s3control"))
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    assert s3control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def test_a_second_run_changes_nothing_and_sends_no_write_call(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/storage.yml", extra_vars=SYNTHETIC)
    assert run.ok and run.changed == 0, run.changed_tasks()
    assert calls and writes(calls) == []


def test_check_mode_on_the_converged_storage_reports_no_change_and_sends_no_write_call(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/storage.yml", "--check", "--diff", extra_vars=SYNTHETIC)
    assert run.ok and run.changed == 0, run.changed_tasks()
    assert writes(calls) == []


def test_drift_is_repaired_versioning_rotation_and_the_policy(local_cloud, converged, s3, key):
    kms = local_cloud.client("kms")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    kms.disable_key_rotation(KeyId=key["KeyId"])
    s3.delete_bucket_policy(Bucket=BUCKET)
    check = run_playbook(local_cloud, "playbooks/storage.yml", "--check", "--diff", extra_vars=SYNTHETIC)
    assert check.ok and check.changed == 3, check.changed_tasks()
    run = run_playbook(local_cloud, "playbooks/storage.yml", extra_vars=SYNTHETIC)
    assert run.ok and run.changed == 3, run.changed_tasks()
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    assert "DenyInsecureTransport" in s3.get_bucket_policy(Bucket=BUCKET)["Policy"]


def test_production_fences_the_bucket_to_the_vpc_except_for_the_principals_it_names(local_cloud, converged, s3):
    network = run_playbook(local_cloud, "playbooks/network.yml")
    assert network.ok, network.explain()
    iam = local_cloud.client("iam")
    role = iam.create_role(RoleName="BreakGlassAdmin", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    vpc_id = local_cloud.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["rna-seq-hipaa-vpc"]}])["Vpcs"][0]["VpcId"]
    restricted = {**SYNTHETIC, "storage_restrict_to_vpc": True, "storage_vpc_bypass_principal_arns": [role["Role"]["Arn"]]}
    run = run_playbook(local_cloud, "playbooks/storage.yml", "--tags", "bucket_policy", extra_vars=restricted)
    assert run.ok and run.changed == 1, run.explain()
    statements = {s["Sid"]: s for s in json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]}
    break_glass = role["Role"]["Arn"]
    caller = local_cloud.client("sts").get_caller_identity()["Arn"].replace(":sts::", ":iam::")
    config_role = break_glass.replace(":role/BreakGlassAdmin", ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
    # AWS Backup's role reads the objects from AWS's network, and sets the bucket's notifications.
    backup_role = break_glass.replace(":role/BreakGlassAdmin", ":role/rnaseq-backup-role")
    objects, bucket = statements["DenyObjectAccessFromOutsideTheVpc"], statements["DenyBucketAccessFromOutsideTheVpc"]
    assert objects["Action"] == bucket["Action"] == "s3:*"
    assert objects["Condition"] == {"StringNotEquals": {"aws:SourceVpc": [vpc_id]},
                                    "ArnNotEquals": {"aws:PrincipalArn": sorted([break_glass, backup_role])}}
    # The caller (no storage_bucket_admin_arns named) may change the bucket's settings, and read them with AWS Config.
    assert bucket["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": sorted([break_glass, backup_role, caller, config_role])}
    assert statements["DenyBucketConfigurationChanges"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": sorted([break_glass, backup_role, caller])}}
    # Another deployer named alone would lock the caller out of its next change: refused, before any change.
    deployer = iam.create_role(RoleName="OtherDeployer",
                               AssumeRolePolicyDocument=json.dumps(role["Role"]["AssumeRolePolicyDocument"]))["Role"]["Arn"]
    refused = run_playbook(local_cloud, "playbooks/storage.yml", "--tags", "bucket_policy",
                           extra_vars={**restricted, "storage_vpc_bypass_principal_arns": [], "storage_bucket_admin_arns": [deployer]})
    assert not refused.ok
    (message,) = refused.failure_messages()
    assert f"The caller {caller} is not in storage_bucket_admin_arns" in message
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"] == list(statements.values())
