"""The storage phase's names, key policy, bucket policies and lifecycle."""

from __future__ import annotations

import pytest

from storage import (
    backup_role_policy,
    backup_rules_summary,
    data_bucket_lifecycle,
    data_bucket_policy,
    key_alias_errors,
    log_bucket_policy,
    pipeline_key_policy,
    s3_bucket_name_errors,
)

KEY = "arn:aws:kms:us-east-1:111122223333:key/abcd"


@pytest.mark.parametrize("name", ["rnaseq-hipaa-data-bucket", "abc", "a.b-c", "x" * 63])
def test_names_s3_accepts(name):
    assert s3_bucket_name_errors(name) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("ab", "3 to 63 characters"),
        ("x" * 64, "3 to 63 characters"),
        ("Data_Bucket", "only lowercase letters"),
        ("-bucket", "begin and end with a letter or digit"),
        ("my..bucket", "two adjacent dots"),
        ("192.168.5.4", "look like an IP address"),
        ("xn--bucket", "must not begin with xn--"),
        ("bucket-s3alias", "must not end with -s3alias"),
    ],
)
def test_names_s3_refuses_say_why(name, message):
    assert any(message in e for e in s3_bucket_name_errors(name)), s3_bucket_name_errors(name)


def test_key_aliases_must_be_aliases_not_aws_ones():
    assert key_alias_errors("alias/rnaseq-pipeline") == []
    assert key_alias_errors("rnaseq-pipeline") and key_alias_errors("alias/aws/s3")


def test_the_key_policy_separates_administration_from_use():
    policy = pipeline_key_policy({
        "partition": "aws", "account_id": "111122223333", "region": "eu-west-1",
        "admin_arns": ["arn:aws:iam::111122223333:role/KeyAdmin", "arn:aws:iam::111122223333:role/KeyAdmin"],
        "user_arns": ["arn:aws:iam::111122223333:role/rnaseq-batch-job-role"], "extra_statements": [{"Sid": "Extra"}],
        "ebs_role_arns": ["arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"],
    })
    admin, admin_grants, uploads, volumes, backup, use, ebs, grants, logs, extra = policy["Statement"]
    assert admin["Principal"] == {"AWS": ["arn:aws:iam::111122223333:role/KeyAdmin"]}
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:*", "kms:Create*", "kms:CreateGrant"} & set(admin["Action"])
    # Grants only for AWS resources (ECR's, EC2's), never one asked for directly.
    assert admin_grants["Principal"] == admin["Principal"] and admin_grants["Action"] == "kms:CreateGrant"
    assert admin_grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # The administrators may have S3 make data keys for their uploads, and nothing more.
    assert uploads["Principal"] == admin["Principal"] and uploads["Action"] == "kms:GenerateDataKey"
    assert uploads["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    # ...and EC2 the hosts' volume keys.
    assert volumes["Principal"] == admin["Principal"]
    assert volumes["Condition"] == {"StringEquals": {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}}
    # ...and AWS Backup the vault's: the vault is encrypted with the key, and its creator needs the key's use.
    assert backup["Principal"] == admin["Principal"] and "kms:Encrypt" not in backup["Action"]
    assert backup["Condition"] == {"StringEquals": {"kms:ViaService": "backup.eu-west-1.amazonaws.com"}}
    assert use["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert use["Condition"] == {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/rnaseq-batch-job-role"]}}
    assert "kms:CreateGrant" not in use["Action"]
    assert ebs["Principal"]["AWS"][0].endswith("/AWSServiceRoleForAutoScaling") and "kms:Decrypt" in ebs["Action"]
    assert grants["Action"] == "kms:CreateGrant" and grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"] == {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:*"}
    assert extra == {"Sid": "Extra"}


def data_policy(**changes):
    return {s["Sid"]: s for s in data_bucket_policy({"partition": "aws", "bucket": "b", "key_arn": KEY, **changes})["Statement"]}


def test_the_data_bucket_denies_plain_http_on_bucket_and_objects():
    tls = data_policy()["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Action"] == "s3:*"
    assert tls["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]


def test_uploads_may_rely_on_default_encryption_but_not_ask_for_another():
    statements = data_policy()
    wrong_type = statements["DenyUploadsNotEncryptedWithKms"]["Condition"]
    # Denied only when the header is present (Null false) and not aws:kms.
    assert wrong_type == {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                          "Null": {"s3:x-amz-server-side-encryption": "false"}}
    assert statements["DenyUploadsWithAnotherKmsKey"]["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}
    assert "DenyUploadsWithCustomerKeys" in statements


FENCE = ("DenyObjectAccessFromOutsideTheVpc", "DenyBucketAccessFromOutsideTheVpc", "DenyBucketConfigurationChanges")
BREAK_GLASS, DEPLOYER, AUDITOR = "arn:aws:iam::1:role/BreakGlass", "arn:aws:iam::1:role/Deployer", "arn:aws:iam::1:role/Auditor"


def fenced(**changes):
    return data_policy(restrict_to_vpcs=["vpc-1"], bypass_principal_arns=[BREAK_GLASS], admin_arns=[DEPLOYER],
                       reader_arns=[AUDITOR], **changes)


def test_the_fence_appears_only_when_asked():
    assert not set(FENCE) & set(data_policy())
    assert set(FENCE) <= set(fenced())


def test_the_fence_denies_every_s3_action_outside_the_vpc_and_spares_each_principal_only_what_it_needs():
    policy = fenced()
    objects, bucket = policy["DenyObjectAccessFromOutsideTheVpc"], policy["DenyBucketAccessFromOutsideTheVpc"]
    assert objects["Action"] == bucket["Action"] == "s3:*"
    assert objects["Resource"] == "arn:aws:s3:::b/*" and bucket["Resource"] == "arn:aws:s3:::b"
    assert objects["Condition"] == {"StringNotEquals": {"aws:SourceVpc": ["vpc-1"]}, "ArnNotEquals": {"aws:PrincipalArn": [BREAK_GLASS]}}
    assert bucket["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": sorted([BREAK_GLASS, DEPLOYER, AUDITOR])}
    settings = policy["DenyBucketConfigurationChanges"]
    assert "Condition" in settings and set(settings["Condition"]) == {"ArnNotEquals"}, "from inside the VPC too"
    assert settings["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": sorted([BREAK_GLASS, DEPLOYER])}


def test_the_log_bucket_admits_only_s3_log_delivery_for_our_buckets():
    policy = log_bucket_policy({"partition": "aws", "account_id": 111122223333, "bucket": "logs",
                                "sources": {"b": "s3-access/b/", "a-audit-logs": "s3-access/a-audit-logs/"}})
    tls, audit, data = policy["Statement"]
    assert tls["Sid"] == "DenyInsecureTransport"
    # Each source bucket delivers into its own prefix only.
    assert (audit["Sid"], data["Sid"]) == ("AccessLogDeliveryFromAAuditLogs", "AccessLogDeliveryFromB")
    assert {audit["Principal"]["Service"], data["Principal"]["Service"]} == {"logging.s3.amazonaws.com"}
    assert audit["Resource"] == "arn:aws:s3:::logs/s3-access/a-audit-logs/*"
    assert audit["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::a-audit-logs"},
                                  "StringEquals": {"aws:SourceAccount": "111122223333"}}
    assert data["Resource"] == "arn:aws:s3:::logs/s3-access/b/*"


def test_lifecycle_rules_come_from_the_inventory_values():
    rules = data_bucket_lifecycle({"archive_prefix": "raw-data/", "archive_days": "45", "archive_class": "DEEP_ARCHIVE",
                                   "noncurrent_expiration_days": 30, "abort_multipart_days": 3})
    assert rules[0]["Transitions"] == [{"Days": 45, "StorageClass": "DEEP_ARCHIVE"}]
    assert rules[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules[1]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}


def test_aws_backups_role_is_spared_the_fence_and_may_do_only_what_a_backup_of_this_bucket_needs():
    backup_role = "arn:aws:iam::111122223333:role/rnaseq-backup-role"
    policy = fenced(backup_arns=[backup_role])
    for sid in FENCE:
        assert backup_role in policy[sid]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"], sid
    allowed = backup_role_policy({"partition": "aws", "region": "eu-west-1", "account_id": "111122223333", "bucket": "b",
                                  "key_arn": KEY})["Statement"]
    by_resource = {}
    for statement in allowed:
        for resource in [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            by_resource.setdefault(resource, set()).update(actions)
    # This bucket, its objects and the pipeline key (through S3) only; no setting but notifications and the inventory.
    assert {r for r in by_resource if r.startswith("arn:aws:s3")} == {"arn:aws:s3:::b", "arn:aws:s3:::b/*"}
    assert {a for a in by_resource["arn:aws:s3:::b"] if a.startswith("s3:Put")} == {"s3:PutBucketNotification", "s3:PutInventoryConfiguration"}
    assert not {a for a in by_resource["arn:aws:s3:::b/*"] if not a.startswith("s3:Get")}
    assert by_resource[KEY] == {"kms:Decrypt", "kms:DescribeKey"}
    decrypt = next(st for st in allowed if st["Resource"] == KEY)
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert by_resource["*"] == {"cloudwatch:GetMetricData", "events:ListRules", "s3:ListAllMyBuckets"}


def test_a_backup_plans_rules_compare_by_what_the_toolkit_declares():
    declared = [{"rule_name": "daily", "target_backup_vault_name": "v", "schedule_expression": "cron(0 5 ? * * *)",
                 "lifecycle": {"delete_after_days": "35"}}]
    found = [{**declared[0], "rule_id": "r-1", "start_window_minutes": 480, "lifecycle": {"delete_after_days": 35}}]
    assert backup_rules_summary(found) == backup_rules_summary(declared)
    found[0]["lifecycle"]["delete_after_days"] = 7
    assert backup_rules_summary(found) != backup_rules_summary(declared)
