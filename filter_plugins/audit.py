# -*- coding: utf-8 -*-
"""Filters of the audit phase: the audit key's policy, the log bucket's
policy, the alarm topic's policy, trust and delivery policies, and the
Config rules from the inventory.

Pure functions; tests/unit/test_audit_filters.py covers them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def _sibling(name):
    """Another filter plugin file of this directory, as a module: Ansible
    loads plugins by path, so a plain import of a sibling would fail."""
    spec = importlib.util.spec_from_file_location(f"toolkit_filters_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_storage = _sibling("storage")
# Who may administer a key, and "everyone" in a resource policy: as the storage phase says them.
KEY_ADMIN_ACTIONS = _storage.KEY_ADMIN_ACTIONS
EVERYONE = _storage.EVERYONE


def audit_key_policy(scope):
    """The audit key: CloudTrail encrypts the trail's log files with it,
    CloudWatch Logs the trail's and the flow logs' groups, and CloudWatch
    alarms and EventBridge rules publish to the encrypted topic with it.

    `scope`: partition, account_id, region, admin_arns, trail_name.
    """
    p, account, region = scope["partition"], scope["account_id"], scope["region"]
    trail_arn = f"arn:{p}:cloudtrail:{region}:{account}:trail/{scope['trail_name']}"
    return {"Version": "2012-10-17", "Id": "rnaseq-audit-key", "Statement": [
        {"Sid": "KeyAdministrationByTheKeyAdministratorsOnly", "Effect": "Allow",
         "Principal": {"AWS": sorted(set(scope["admin_arns"]))}, "Action": KEY_ADMIN_ACTIONS, "Resource": "*"},
        {"Sid": "CloudTrailEncryptsThisTrailsLogs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{p}:cloudtrail:*:{account}:trail/*"}}},
        {"Sid": "CloudTrailDescribesTheKey", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:DescribeKey", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "ThisAccountReadsTheTrailsLogs", "Effect": "Allow", "Principal": {"AWS": f"arn:{p}:iam::{account}:root"},
         "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": str(account)},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{p}:cloudtrail:*:{account}:trail/*"}}},
        {"Sid": "CloudWatchLogsForThisAccountsLogGroups", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{p}:logs:{region}:{account}:log-group:*"}}},
        {"Sid": "CloudWatchAlarmsPublishToTheEncryptedTopic", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": str(account)}}},
        {"Sid": "EventBridgeSendsFindingsToTheEncryptedTopic", "Effect": "Allow",
         "Principal": {"Service": "events.amazonaws.com"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": str(account)}}},
    ]}


def audit_log_bucket_policy(scope):
    """The audit log bucket admits TLS only, and delivery by this account's
    trail and by AWS Config, each under its own prefix.

    `scope`: partition, account_id, region, bucket, trail_name, trail_prefix, config_prefix.
    """
    p, account = scope["partition"], str(scope["account_id"])
    bucket = f"arn:{p}:s3:::{scope['bucket']}"
    trail_arn = f"arn:{p}:cloudtrail:{scope['region']}:{account}:trail/{scope['trail_name']}"
    owner_full_control = {"s3:x-amz-acl": "bucket-owner-full-control"}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": EVERYONE, "Action": "s3:*",
         "Resource": [bucket, f"{bucket}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": bucket, "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "CloudTrailDelivery", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{bucket}/{scope['trail_prefix']}/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, **owner_full_control}}},
        {"Sid": "ConfigAclCheck", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": bucket,
         "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
        {"Sid": "ConfigDelivery", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"{bucket}/{scope['config_prefix']}/AWSLogs/{account}/Config/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account, **owner_full_control}}},
    ]}


def alarm_topic_policy(scope):
    """The alarm topic: CloudWatch alarms of this account publish, so do the
    toolkit's EventBridge rules (findings), this account's principals manage
    it, and nothing reaches it without TLS.

    `scope`: partition, account_id, region, topic_name, rule_arns (the
    EventBridge rules that may publish, by exact ARN).
    """
    p, account = scope["partition"], str(scope["account_id"])
    topic = f"arn:{p}:sns:{scope['region']}:{account}:{scope['topic_name']}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ThisAccountManagesTheTopic", "Effect": "Allow", "Principal": {"AWS": f"arn:{p}:iam::{account}:root"},
         "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic",
                    "sns:Publish"], "Resource": topic},
        {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic, "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
        *([{"Sid": "EventBridgeRulesPublishFindings", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
             "Action": "sns:Publish", "Resource": topic,
             "Condition": {"ArnEquals": {"aws:SourceArn": sorted(scope["rule_arns"])}}}] if scope.get("rule_arns") else []),
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": EVERYONE, "Action": "sns:Publish", "Resource": topic,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


def log_delivery_policy(scope):
    """What a log writer (CloudTrail, VPC Flow Logs, the access hosts' SSM
    agent for Session Manager) may do: write streams into one log group.
    `scope`: partition, account_id, region, log_group, and find_log_group
    (the SSM agent looks the group up first, to see it is encrypted as
    Session Manager's preferences require)."""
    group = f"arn:{scope['partition']}:logs:{scope['region']}:{scope['account_id']}:log-group:{scope['log_group']}"
    statements = [
        {"Sid": "WriteIntoTheOneLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], "Resource": [group, f"{group}:*"]},
    ]
    if scope.get("find_log_group"):
        # DescribeLogGroups is a listing; IAM knows no resource for it.
        statements.append({"Sid": "FindTheLogGroup", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def audit_config_rules(scope):
    """The managed Config rules: the quick start's and the HIPAA set.

    `scope`: required_tags (keys, at most 6), approved_ami_ids (the rule is
    left out when empty), blocked_ports (at most 5).
    """
    tags = list(scope["required_tags"])[:6]
    rules = [
        {"name": "required-tags", "identifier": "REQUIRED_TAGS",
         "parameters": {f"tag{i + 1}Key": key for i, key in enumerate(tags)},
         "resource_types": ["AWS::EC2::Instance", "AWS::EC2::Volume"],
         "description": "Instances and volumes carry the toolkit's required tags"},
        {"name": "restricted-incoming-traffic", "identifier": "RESTRICTED_INCOMING_TRAFFIC",
         "parameters": {f"blockedPort{i + 1}": port for i, port in enumerate(list(scope["blocked_ports"])[:5])},
         "resource_types": ["AWS::EC2::SecurityGroup"],
         "description": "No security group admits the blocked ports from anywhere"},
        {"name": "restricted-ssh", "identifier": "INCOMING_SSH_DISABLED", "resource_types": ["AWS::EC2::SecurityGroup"],
         "description": "No security group admits SSH from anywhere"},
        {"name": "cloudtrail-enabled", "identifier": "CLOUD_TRAIL_ENABLED", "frequency": "TwentyFour_Hours",
         "description": "CloudTrail is on"},
        {"name": "cloudtrail-log-file-validation", "identifier": "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
         "frequency": "TwentyFour_Hours", "description": "The trail validates its log files"},
        {"name": "s3-tls-only", "identifier": "S3_BUCKET_SSL_REQUESTS_ONLY", "resource_types": ["AWS::S3::Bucket"],
         "description": "Buckets refuse requests without TLS"},
        {"name": "s3-default-encryption", "identifier": "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
         "resource_types": ["AWS::S3::Bucket"], "description": "Buckets encrypt by default"},
        {"name": "encrypted-volumes", "identifier": "ENCRYPTED_VOLUMES", "resource_types": ["AWS::EC2::Volume"],
         "description": "Attached EBS volumes are encrypted"},
        {"name": "vpc-flow-logs-enabled", "identifier": "VPC_FLOW_LOGS_ENABLED", "frequency": "TwentyFour_Hours",
         "parameters": {"trafficType": "ALL"}, "description": "Every VPC has flow logs of all traffic"},
        {"name": "iam-password-policy", "identifier": "IAM_PASSWORD_POLICY", "frequency": "TwentyFour_Hours",
         "parameters": {"MinimumPasswordLength": scope.get("min_password_length", 14)},
         "description": "The account's password policy is at least the toolkit's"},
        {"name": "iam-no-admin-access-policies", "identifier": "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
         "resource_types": ["AWS::IAM::Policy"], "description": "No customer managed policy allows *:*"},
        {"name": "root-account-mfa", "identifier": "ROOT_ACCOUNT_MFA_ENABLED", "frequency": "TwentyFour_Hours",
         "description": "The root user has MFA"},
    ]
    if scope["approved_ami_ids"]:
        rules.insert(2, {"name": "approved-amis", "identifier": "APPROVED_AMIS_BY_ID",
                         "parameters": {"amiIds": ",".join(scope["approved_ami_ids"])}, "resource_types": ["AWS::EC2::Instance"],
                         "description": "Instances run approved AMIs only"})
    return rules


class FilterModule:
    def filters(self):
        return {
            "audit_key_policy": audit_key_policy,
            "audit_log_bucket_policy": audit_log_bucket_policy,
            "alarm_topic_policy": alarm_topic_policy,
            "log_delivery_policy": log_delivery_policy,
            "audit_config_rules": audit_config_rules,
        }
