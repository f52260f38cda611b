# -*- coding: utf-8 -*-
"""Filters of the storage phase: names, the key policy and the bucket policies.

Pure functions; tests/unit/test_storage_filters.py covers them.
"""

from __future__ import annotations

import ipaddress
import re

_BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_ALIAS = re.compile(r"^alias/[a-zA-Z0-9/_-]{1,250}$")

# What the key administrators may do. Not kms:CreateGrant: a grant could give
# them use of the key; they create grants only through AWS services for their
# resources (KEY_ADMIN_GRANTS).
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]
KEY_USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
# ECR makes its grant on the key with its creator's permission when it creates
# an encrypted repository; a grant an administrator asks for directly is refused.
KEY_ADMIN_GRANTS = {"Action": "kms:CreateGrant", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
# The data bucket's settings that only its administrators and break-glass
# principals may change, from anywhere (the fence's third statement): each of
# them could let the data out (replication to another account, an inventory or
# event notifications naming the keys elsewhere), or strip its protection
# (policy, versioning, Object Lock, lifecycle, encryption, logging). Every
# s3:PutBucket* action is in, so one S3 adds later is too.
BUCKET_CONFIGURATION_ACTIONS = [
    "s3:DeleteBucket",
    "s3:DeleteBucketOwnershipControls",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucketWebsite",
    "s3:PutAccelerateConfiguration",
    "s3:PutAnalyticsConfiguration",
    "s3:PutBucket*",
    "s3:PutEncryptionConfiguration",
    "s3:PutIntelligentTieringConfiguration",
    "s3:PutInventoryConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutMetricsConfiguration",
    "s3:PutReplicationConfiguration",
]


def s3_bucket_name_errors(name, label="Bucket name"):
    """Why S3 would refuse a general purpose bucket name, if it would."""
    name = str(name or "")
    errors = []
    if not 3 <= len(name) <= 63:
        errors.append(f"{label} '{name}' must be 3 to 63 characters long")
    if not _BUCKET_CHARS.match(name):
        errors.append(
            f"{label} '{name}' may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
        )
    if ".." in name:
        errors.append(f"{label} '{name}' must not contain two adjacent dots")
    try:
        ipaddress.IPv4Address(name)
        errors.append(f"{label} '{name}' must not look like an IP address")
    except ValueError:
        pass
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            errors.append(f"{label} '{name}' must not begin with {prefix}")
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            errors.append(f"{label} '{name}' must not end with {suffix}")
    return errors


def key_alias_errors(alias):
    alias = str(alias or "")
    if not _ALIAS.match(alias) or alias.startswith("alias/aws/"):
        return [f"Key alias '{alias}' must look like alias/name (letters, digits, /_-) and not start with alias/aws/"]
    return []


def pipeline_key_policy(scope):
    """The key policy of the pipeline's customer managed key.

    `scope`: partition, account_id, region, admin_arns (administer the key,
    and upload through S3 with it, never decrypt), user_arns (exact ARNs of
    the roles and users that may use it, through their IAM permissions),
    ebs_role_arns (EC2's service-linked roles, which encrypt the Batch
    instances' volumes), extra_statements.
    """
    root = f"arn:{scope['partition']}:iam::{scope['account_id']}:root"
    statements = [
        {
            "Sid": "KeyAdministrationByTheKeyAdministratorsOnly",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(scope["admin_arns"]))},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "GrantsForAwsResourcesByTheKeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(scope["admin_arns"]))},
            "Resource": "*",
            **KEY_ADMIN_GRANTS,
        },
        {
            # The toolkit writes folder markers (and, in validation, the
            # synthetic data) with SSE-KMS as a key administrator: S3 needs a
            # data key for that. Only through S3, and never to decrypt.
            "Sid": "UploadsThroughS3ByTheKeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(scope["admin_arns"]))},
            "Action": "kms:GenerateDataKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{scope['region']}.amazonaws.com"}},
        },
        {
            # The access phase launches the hosts with volumes encrypted with
            # the key: EC2 makes and opens their data keys with the caller's
            # permission. Only through EC2, so never a plaintext in hand.
            "Sid": "HostVolumesThroughEc2ByTheKeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(scope["admin_arns"]))},
            "Action": ["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"ec2.{scope['region']}.amazonaws.com"}},
        },
        {
            # The backup vault is encrypted with the key: whoever creates the
            # vault needs its use, and AWS Backup works with grants made then.
            # Only through AWS Backup, so never a plaintext in hand.
            "Sid": "BackupVaultThroughAwsBackupByTheKeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(scope["admin_arns"]))},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:RetireGrant"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"backup.{scope['region']}.amazonaws.com"}},
        },
        {
            # The account delegates to IAM, but only for the principals named
            # exactly: a role made later under a similar name gets nothing.
            "Sid": "KeyUseByThePipelineRolesAndAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": KEY_USE_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(set(scope["user_arns"]))}},
        },
    ]
    ebs_roles = sorted(set(scope.get("ebs_role_arns") or []))
    if ebs_roles:
        # EC2 Auto Scaling and Spot create the Batch instances' encrypted
        # volumes with their service-linked roles, which take no IAM policy.
        statements += [
            {
                "Sid": "EbsVolumesByEc2ServiceLinkedRoles",
                "Effect": "Allow",
                "Principal": {"AWS": ebs_roles},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "GrantsForEbsByEc2ServiceLinkedRoles",
                "Effect": "Allow",
                "Principal": {"AWS": ebs_roles},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    statements.append(
        {
            # Encrypted log groups (the pipeline's, the flow logs'), this account's only.
            "Sid": "CloudWatchLogsForThisAccountsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{scope['region']}.amazonaws.com"},
            "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            "Resource": "*",
            "Condition": {
                "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{scope['partition']}:logs:{scope['region']}:{scope['account_id']}:log-group:*"}
            },
        }
    )
    return {"Version": "2012-10-17", "Id": "rnaseq-pipeline-key", "Statement": statements + list(scope.get("extra_statements") or [])}


# Everyone. AWS treats {"AWS": "*"} and "*" alike in a resource policy; the
# dict form is used because the emulator's log-delivery check fails on "*".
EVERYONE = {"AWS": "*"}


def _deny_insecure_transport(resources):
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": EVERYONE,
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def data_bucket_policy(scope):
    """The data bucket's policy.

    `scope`: partition, bucket, key_arn, restrict_to_vpcs (VPC ids; empty for
    no fence), and the principals the fence names (_vpc_fence).
    Uploads without encryption headers are encrypted by the bucket's default
    (SSE-KMS with the pipeline key); uploads that ask for anything else are
    denied.
    """
    bucket = f"arn:{scope['partition']}:s3:::{scope['bucket']}"
    objects = f"{bucket}/*"
    statements = [
        _deny_insecure_transport([bucket, objects]),
        {
            "Sid": "DenyUploadsNotEncryptedWithKms",
            "Effect": "Deny",
            "Principal": EVERYONE,
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption": "false"},
            },
        },
        {
            "Sid": "DenyUploadsWithAnotherKmsKey",
            "Effect": "Deny",
            "Principal": EVERYONE,
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": scope["key_arn"]},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            },
        },
        {
            "Sid": "DenyUploadsWithCustomerKeys",
            "Effect": "Deny",
            "Principal": EVERYONE,
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
        },
    ]
    vpcs = list(scope.get("restrict_to_vpcs") or [])
    if vpcs:
        statements += _vpc_fence(bucket, objects, vpcs, scope)
    return {"Version": "2012-10-17", "Statement": statements}


def _exempting(principals):
    """The condition that spares the principals, by exact ARN: a pattern would
    spare any role that comes to match it."""
    return {"ArnNotEquals": {"aws:PrincipalArn": sorted(set(principals))}} if principals else {}


def _vpc_fence(bucket, objects, vpcs, scope):
    """The production fence: every S3 action outside the VPCs' endpoints is
    denied, and the bucket's settings may change only by the named.

    `scope`: bypass_principal_arns (break-glass: spared everything),
    admin_arns (the toolkit's deployers: may read and change the bucket's
    settings from anywhere; never its objects), reader_arns (who reads the
    settings from outside the VPC: verify's auditors, AWS Config's role),
    backup_arns (AWS Backup's role, which reads the objects from AWS's
    network and sets the bucket's event notifications and inventory: spared
    everything, and allowed by its IAM policy only that, backup_role_policy).
    """
    breakglass = list(scope.get("bypass_principal_arns") or []) + list(scope.get("backup_arns") or [])
    admins = breakglass + list(scope.get("admin_arns") or [])
    readers = admins + list(scope.get("reader_arns") or [])
    outside = {"StringNotEquals": {"aws:SourceVpc": vpcs}}
    return [
        {
            "Sid": "DenyObjectAccessFromOutsideTheVpc",
            "Effect": "Deny",
            "Principal": EVERYONE,
            "Action": "s3:*",
            "Resource": objects,
            "Condition": {**outside, **_exempting(breakglass)},
        },
        {
            "Sid": "DenyBucketAccessFromOutsideTheVpc",
            "Effect": "Deny",
            "Principal": EVERYONE,
            "Action": "s3:*",
            "Resource": bucket,
            "Condition": {**outside, **_exempting(readers)},
        },
        {
            "Sid": "DenyBucketConfigurationChanges",
            "Effect": "Deny",
            "Principal": EVERYONE,
            "Action": BUCKET_CONFIGURATION_ACTIONS,
            "Resource": bucket,
            # Never empty: the role names the caller when the inventory names nobody.
            "Condition": _exempting(admins) or {"Null": {"aws:PrincipalArn": "false"}},
        },
    ]


def backup_role_policy(scope):
    """The permissions of AWS Backup's role for the data bucket: AWS's managed
    policy AWSBackupServiceRolePolicyForS3Backup, scoped to this bucket, this
    key and this account's EventBridge rules and recovery points.

    `scope`: partition, region, account_id, bucket, key_arn.
    """
    p, region, account = scope["partition"], scope["region"], scope["account_id"]
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheBucket", "Effect": "Allow", "Resource": bucket, "Action": [
            "s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketNotification", "s3:GetBucketTagging",
            "s3:GetBucketVersioning", "s3:GetInventoryConfiguration", "s3:ListBucket", "s3:ListBucketVersions",
            "s3:ListTagsForResource"]},
        # AWS Backup learns of changes through the bucket's EventBridge
        # notifications and lists its objects through an inventory.
        {"Sid": "NotificationsAndInventoryOfTheBucket", "Effect": "Allow", "Resource": bucket,
         "Action": ["s3:PutBucketNotification", "s3:PutInventoryConfiguration"]},
        {"Sid": "ReadTheObjects", "Effect": "Allow", "Resource": f"{bucket}/*", "Action": [
            "s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectTagging", "s3:GetObjectVersion",
            "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]},
        {"Sid": "DecryptTheObjectsThroughS3", "Effect": "Allow", "Resource": scope["key_arn"],
         "Action": ["kms:Decrypt", "kms:DescribeKey"],
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
        {"Sid": "AwsBackupsManagedRules", "Effect": "Allow", "Resource": f"arn:{p}:events:{region}:{account}:rule/AwsBackupManagedRule*",
         "Action": ["events:DeleteRule", "events:DescribeRule", "events:DisableRule", "events:EnableRule",
                    "events:ListTargetsByRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets"]},
        {"Sid": "TagTheRecoveryPoints", "Effect": "Allow", "Resource": f"arn:{p}:backup:{region}:{account}:recovery-point:*",
         "Action": "backup:TagResource"},
        # These take no resource.
        {"Sid": "ListingsAndMetrics", "Effect": "Allow", "Resource": "*",
         "Action": ["cloudwatch:GetMetricData", "events:ListRules", "s3:ListAllMyBuckets"]},
    ]}


def backup_rules_summary(rules):
    """A backup plan's rules as the toolkit declares them, whatever else AWS
    returns (rule ids, defaults): name, vault, schedule and retention."""
    return sorted(
        (r.get("rule_name"), r.get("target_backup_vault_name"), r.get("schedule_expression"),
         int((r.get("lifecycle") or {}).get("delete_after_days") or 0))
        for r in rules or []
    )


def log_bucket_policy(scope):
    """The access log bucket's policy: TLS only, and S3's log delivery for
    the named source buckets of this account, each into its own prefix only
    (one statement per source).

    `scope`: partition, account_id, bucket, sources ({source bucket: its log prefix}).
    """
    p = scope["partition"]
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    statements = [_deny_insecure_transport([bucket, f"{bucket}/*"])]
    for source, prefix in sorted(scope["sources"].items()):
        statements.append({
            "Sid": "AccessLogDeliveryFrom" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", source)),
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket}/{prefix}*",
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:{p}:s3:::{source}"},
                "StringEquals": {"aws:SourceAccount": str(scope["account_id"])},
            },
        })
    return {"Version": "2012-10-17", "Statement": statements}


def data_bucket_lifecycle(scope):
    """Lifecycle rules of the data bucket, in the shape S3 returns them.

    `scope`: archive_prefix, archive_days, archive_class,
    noncurrent_expiration_days, abort_multipart_days.
    """
    return [
        {
            "ID": "archive-raw-data",
            "Status": "Enabled",
            "Filter": {"Prefix": scope["archive_prefix"]},
            "Transitions": [{"Days": int(scope["archive_days"]), "StorageClass": scope["archive_class"]}],
        },
        {
            "ID": "expire-noncurrent-versions",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": int(scope["noncurrent_expiration_days"])},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": int(scope["abort_multipart_days"])},
        },
    ]


class FilterModule:
    def filters(self):
        return {
            "backup_role_policy": backup_role_policy,
            "backup_rules_summary": backup_rules_summary,
            "s3_bucket_name_errors": s3_bucket_name_errors,
            "key_alias_errors": key_alias_errors,
            "pipeline_key_policy": pipeline_key_policy,
            "data_bucket_policy": data_bucket_policy,
            "log_bucket_policy": log_bucket_policy,
            "data_bucket_lifecycle": data_bucket_lifecycle,
        }
