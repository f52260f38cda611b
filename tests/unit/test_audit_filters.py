"""The audit phase's filters: key, bucket and topic policies, delivery roles, Config rules."""

from __future__ import annotations

from audit import alarm_topic_policy, audit_config_rules, audit_key_policy, audit_log_bucket_policy, log_delivery_policy

SCOPE = {"partition": "aws", "account_id": "111122223333", "region": "eu-west-1"}


def by_sid(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


def test_cloudtrail_may_use_the_audit_key_for_this_trail_only():
    policy = by_sid(audit_key_policy({**SCOPE, "admin_arns": ["arn:aws:iam::111122223333:role/Admin"] * 2, "trail_name": "t"}))
    trail = policy["CloudTrailEncryptsThisTrailsLogs"]
    assert trail["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and trail["Action"] == "kms:GenerateDataKey*"
    assert trail["Condition"]["StringEquals"]["aws:SourceArn"] == "arn:aws:cloudtrail:eu-west-1:111122223333:trail/t"
    assert policy["KeyAdministrationByTheKeyAdministratorsOnly"]["Principal"] == {"AWS": ["arn:aws:iam::111122223333:role/Admin"]}
    logs = policy["CloudWatchLogsForThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:eu-west-1:111122223333:log-group:*"
    assert policy["CloudWatchAlarmsPublishToTheEncryptedTopic"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}


def test_the_log_bucket_admits_only_tls_and_each_services_delivery_under_its_prefix():
    policy = by_sid(audit_log_bucket_policy({**SCOPE, "bucket": "logs", "trail_name": "t", "trail_prefix": "cloudtrail",
                                             "config_prefix": "config"}))
    assert policy["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["CloudTrailDelivery"]["Resource"] == "arn:aws:s3:::logs/cloudtrail/AWSLogs/111122223333/*"
    assert policy["CloudTrailDelivery"]["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert policy["ConfigDelivery"]["Resource"] == "arn:aws:s3:::logs/config/AWSLogs/111122223333/Config/*"
    assert {s["Principal"]["Service"] for s in policy.values() if s["Effect"] == "Allow"} == {"cloudtrail.amazonaws.com", "config.amazonaws.com"}


def test_the_topic_takes_alarms_of_this_account_and_no_plain_text_publishing():
    policy = by_sid(alarm_topic_policy({**SCOPE, "topic_name": "alarms"}))
    assert policy["CloudWatchAlarmsPublish"]["Resource"] == "arn:aws:sns:eu-west-1:111122223333:alarms"
    assert policy["DenyInsecureTransport"]["Effect"] == "Deny"


def test_only_the_finding_rules_named_may_publish_to_the_topic_and_use_the_key_for_it():
    rules = ["arn:aws:events:eu-west-1:111122223333:rule/f-config", "arn:aws:events:eu-west-1:111122223333:rule/f-guardduty"]
    policy = by_sid(alarm_topic_policy({**SCOPE, "topic_name": "alarms", "rule_arns": list(reversed(rules))}))
    events = policy["EventBridgeRulesPublishFindings"]
    assert events["Principal"] == {"Service": "events.amazonaws.com"} and events["Action"] == "sns:Publish"
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": rules}}
    assert "EventBridgeRulesPublishFindings" not in by_sid(alarm_topic_policy({**SCOPE, "topic_name": "alarms"}))
    key = by_sid(audit_key_policy({**SCOPE, "admin_arns": ["arn:aws:iam::111122223333:role/Admin"], "trail_name": "t"}))
    assert key["EventBridgeSendsFindingsToTheEncryptedTopic"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}


def test_a_delivery_role_writes_into_its_one_log_group():
    (statement,) = log_delivery_policy({**SCOPE, "log_group": "/aws/x"})["Statement"]
    assert statement["Resource"] == ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/x",
                                     "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/x:*"]
    assert "logs:DeleteLogGroup" not in statement["Action"]


def test_config_rules_take_the_inventorys_tags_ports_and_amis():
    rules = audit_config_rules({"required_tags": ["Project", "Environment"], "approved_ami_ids": [], "blocked_ports": [22, 3389]})
    by_name = {r["name"]: r for r in rules}
    assert by_name["required-tags"]["parameters"] == {"tag1Key": "Project", "tag2Key": "Environment"}
    assert by_name["restricted-incoming-traffic"]["parameters"] == {"blockedPort1": 22, "blockedPort2": 3389}
    assert "approved-amis" not in by_name, "no AMI list, no rule (it needs one)"
    assert len(rules) == 12
    with_amis = audit_config_rules({"required_tags": [], "approved_ami_ids": ["ami-0123456789abcdef0", "ami-0fedcba9876543210"],
                                    "blocked_ports": []})
    amis = next(r for r in with_amis if r["name"] == "approved-amis")
    assert amis["identifier"] == "APPROVED_AMIS_BY_ID" and amis["parameters"] == {"amiIds": "ami-0123456789abcdef0,ami-0fedcba9876543210"}
