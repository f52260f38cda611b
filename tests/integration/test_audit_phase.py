"""The audit phase against the local cloud, after network, identity and storage."""

from __future__ import annotations

import json

import pytest

from audit_controls import records_data_event
from support.api_calls import writes
from support.cloud import run_playbook
from support.refusals import assert_refused

TRAIL_GROUP = "/aws/cloudtrail/rnaseq"


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    for playbook in ("network", "identity", "storage", "audit"):
        run = run_playbook(local_cloud, f"playbooks/{playbook}.yml")
        assert run.ok, run.explain()


def audit_key_arn(local_cloud):
    return local_cloud.client("kms").describe_key(KeyId="alias/rnaseq-audit")["KeyMetadata"]["Arn"]


def test_the_trail_logs_everywhere_with_validation_kms_cloudwatch_logs_and_data_events(local_cloud, converged):
    cloudtrail = local_cloud.client("cloudtrail")
    (trail,) = cloudtrail.describe_trails()["trailList"]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"] and trail["IncludeGlobalServiceEvents"]
    assert trail["KmsKeyId"] == audit_key_arn(local_cloud)
    assert trail["CloudWatchLogsLogGroupArn"].endswith(f":log-group:{TRAIL_GROUP}:*")
    assert trail["S3BucketName"] == "rnaseq-hipaa-data-bucket-audit-logs"
    assert cloudtrail.get_trail_status(Name=trail["Name"])["IsLogging"] is True
    selectors = cloudtrail.get_event_selectors(TrailName=trail["Name"])
    assert not selectors.get("EventSelectors")
    bucket = "arn:aws:s3:::rnaseq-hipaa-data-bucket"
    # Every toolkit bucket's object events; in the log buckets all but the services' uploads.
    for arn, events in ((f"{bucket}/raw-data/x.fastq", ("GetObject", "PutObject", "DeleteObject")),
                        (f"{bucket}-access-logs/s3-access/x", ("GetObject", "DeleteObject")),
                        (f"{bucket}-audit-logs/cloudtrail/x.json.gz", ("GetObject", "DeleteObject"))):
        for event in events:
            assert records_data_event(selectors, arn, event, event == "GetObject"), (arn, event)
    assert not records_data_event(selectors, f"{bucket}-audit-logs/cloudtrail/x.json.gz", "PutObject", False)
    assert records_data_event(selectors, "arn:aws:s3:::elsewhere/x", "Invoke", False) is False
    key_policy = json.loads(local_cloud.client("kms").get_key_policy(KeyId=audit_key_arn(local_cloud), PolicyName="default")["Policy"])
    assert {"CloudTrailEncryptsThisTrailsLogs", "CloudWatchLogsForThisAccountsLogGroups"} <= {s["Sid"] for s in key_policy["Statement"]}


def test_the_log_bucket_is_private_versioned_tls_only_and_admits_only_cloudtrail_and_config(local_cloud, converged):
    s3 = local_cloud.client("s3")
    bucket = "rnaseq-hipaa-data-bucket-audit-logs"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    allowed = {s["Principal"]["Service"] for s in policy["Statement"] if s["Effect"] == "Allow"}
    assert allowed == {"cloudtrail.amazonaws.com", "config.amazonaws.com"}
    assert any(s["Sid"] == "DenyInsecureTransport" for s in policy["Statement"])

    # Write-once: every log file kept six years, in governance mode by default.
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert {k: lock["Rule"]["DefaultRetention"][k] for k in ("Mode", "Days")} == {"Mode": "GOVERNANCE", "Days": 2190}


def test_the_log_groups_are_encrypted_and_kept_a_year(local_cloud, converged):
    logs = local_cloud.client("logs")
    for name in (TRAIL_GROUP, "/aws/vpc/flow-logs/rnaseq", "/aws/ssm/sessions/rnaseq"):
        (group,) = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert group["kmsKeyId"] == audit_key_arn(local_cloud) and group["retentionInDays"] >= 365


def test_session_manager_logs_every_session_to_its_encrypted_log_group(local_cloud, converged):
    (group,) = local_cloud.client("logs").describe_log_groups(logGroupNamePrefix="/aws/ssm/sessions/rnaseq")["logGroups"]
    assert group["kmsKeyId"] == audit_key_arn(local_cloud)
    preferences = json.loads(local_cloud.client("ssm").get_document(Name="SSM-SessionManagerRunShell")["Content"])
    assert preferences["sessionType"] == "Standard_Stream"
    assert preferences["inputs"]["cloudWatchLogGroupName"] == "/aws/ssm/sessions/rnaseq"
    assert preferences["inputs"]["cloudWatchEncryptionEnabled"] is True and preferences["inputs"]["runAsEnabled"] is False


def test_sixteen_cis_filters_each_with_an_alarm_on_the_encrypted_topic(local_cloud, converged):
    filters = local_cloud.client("logs").describe_metric_filters(logGroupName=TRAIL_GROUP)["metricFilters"]
    names = [f["filterName"] for f in filters]
    assert len(names) >= 16 and len(names) == len(set(names))
    assert "rnaseq-cis-organizations-changes" in names, "CIS 4.15"
    alarms = {a["AlarmName"]: a for a in local_cloud.client("cloudwatch").describe_alarms(AlarmNamePrefix="rnaseq-cis-")["MetricAlarms"]}
    sns = local_cloud.client("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":rnaseq-security-alarms")]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == "alias/rnaseq-audit"
    for name in names:
        assert alarms[name]["AlarmActions"] == [topic] and alarms[name]["MetricName"] == name
    root = next(f for f in filters if f["filterName"] == "rnaseq-cis-root-account-usage")
    assert root["filterPattern"] == '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'


def test_guardduty_security_hub_and_config_findings_go_to_the_topic_which_admits_only_those_rules(local_cloud, converged):
    events, sns = local_cloud.client("events"), local_cloud.client("sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":rnaseq-security-alarms")]
    rules = {r["Name"]: r for r in events.list_rules(NamePrefix="rnaseq-findings-")["Rules"]}
    assert sorted(rules) == ["rnaseq-findings-config", "rnaseq-findings-guardduty", "rnaseq-findings-securityhub"]
    for name, rule in rules.items():
        assert rule["State"] == "ENABLED"
        assert [t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == [topic]
    assert json.loads(rules["rnaseq-findings-guardduty"]["EventPattern"])["detail"] == {"severity": [{"numeric": [">=", 4]}]}
    policy = {s["Sid"]: s for s in json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])["Statement"]}
    assert policy["EventBridgeRulesPublishFindings"]["Condition"]["ArnEquals"]["aws:SourceArn"] == sorted(r["Arn"] for r in rules.values())


def test_config_records_everything_delivers_to_the_log_bucket_and_has_the_rules(local_cloud, converged):
    config = local_cloud.client("config")
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] and recorder["recordingGroup"]["includeGlobalResourceTypes"]
    assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]["recording"] is True
    (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
    assert channel["s3BucketName"] == "rnaseq-hipaa-data-bucket-audit-logs" and channel["s3KeyPrefix"] == "config"
    identifiers = {r["Source"]["SourceIdentifier"] for r in config.describe_config_rules()["ConfigRules"]}
    assert {"REQUIRED_TAGS", "RESTRICTED_INCOMING_TRAFFIC", "INCOMING_SSH_DISABLED", "CLOUD_TRAIL_ENABLED",
            "S3_BUCKET_SSL_REQUESTS_ONLY", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", "ENCRYPTED_VOLUMES",
            "VPC_FLOW_LOGS_ENABLED", "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", "IAM_PASSWORD_POLICY",
            "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", "ROOT_ACCOUNT_MFA_ENABLED"} <= identifiers


def test_security_hub_guardduty_ebs_default_encryption_and_flow_logs(local_cloud, converged):
    assert local_cloud.client("securityhub").describe_hub()["HubArn"]
    guardduty = local_cloud.client("guardduty")
    (detector_id,) = guardduty.list_detectors()["DetectorIds"]
    assert guardduty.get_detector(DetectorId=detector_id)["Status"] == "ENABLED"
    ec2 = local_cloud.client("ec2")
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["rna-seq-hipaa-vpc"]}])["Vpcs"][0]["VpcId"]
    (flow_log,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
    assert flow_log["TrafficType"] == "ALL" and flow_log["LogGroupName"] == "/aws/vpc/flow-logs/rnaseq"


def test_a_second_run_and_check_mode_write_nothing(local_cloud, converged):
    with local_cloud.recording() as calls:
        again = run_playbook(local_cloud, "playbooks/audit.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert writes(calls) == []
    with local_cloud.recording() as calls:
        check = run_playbook(local_cloud, "playbooks/audit.yml", "--check", "--diff")
    assert check.ok and check.changed == 0 and writes(calls) == []


def test_a_drifted_filter_is_repaired_without_a_duplicate_and_a_stray_alarm_is_purged(local_cloud, converged):
    logs, cloudwatch = local_cloud.client("logs"), local_cloud.client("cloudwatch")
    logs.put_metric_filter(logGroupName=TRAIL_GROUP, filterName="rnaseq-cis-root-account-usage", filterPattern="{ $.x = 1 }",
                           metricTransformations=[{"metricName": "x", "metricNamespace": "x", "metricValue": "1"}])
    cloudwatch.put_metric_alarm(AlarmName="rnaseq-cis-stray", MetricName="x", Namespace="x", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    run = run_playbook(local_cloud, "playbooks/audit.yml", "--tags", "alarms")
    assert run.ok and run.changed == 1, run.explain()
    filters = [f for f in logs.describe_metric_filters(logGroupName=TRAIL_GROUP)["metricFilters"]
               if f["filterName"] == "rnaseq-cis-root-account-usage"]
    assert len(filters) == 1 and "Root" in filters[0]["filterPattern"]
    assert cloudwatch.describe_alarms(AlarmNames=["rnaseq-cis-stray"])["MetricAlarms"] == []


def test_tags_changed_by_hand_on_guardduty_security_hub_a_flow_log_and_the_session_document_are_set_right(local_cloud, converged):
    """The four set their tags on existing resources too (purge_tags), GuardDuty's despite the preflight's skip."""
    guardduty, hub, ec2, ssm = (local_cloud.client(s) for s in ("guardduty", "securityhub", "ec2", "ssm"))
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    (detector_id,) = guardduty.list_detectors()["DetectorIds"]
    detector_arn = f"arn:aws:guardduty:{local_cloud.region}:{account}:detector/{detector_id}"
    hub_arn = hub.describe_hub()["HubArn"]
    flow_log_id = ec2.describe_flow_logs(Filters=[{"Name": "log-group-name", "Values": ["/aws/vpc/flow-logs/rnaseq"]}])["FlowLogs"][0]["FlowLogId"]

    def tags():
        return {"guardduty": guardduty.list_tags_for_resource(ResourceArn=detector_arn)["Tags"],
                "securityhub": hub.list_tags_for_resource(ResourceArn=hub_arn)["Tags"],
                "flow log": {t["Key"]: t["Value"] for t in ec2.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"][0]["Tags"]},
                "session document": {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(
                    ResourceType="Document", ResourceId="SSM-SessionManagerRunShell")["TagList"]}}

    declared = tags()
    assert all(found == declared["guardduty"] and found.get("Project") for found in declared.values()), declared
    guardduty.tag_resource(ResourceArn=detector_arn, Tags={"Owner": "someone"})
    hub.untag_resource(ResourceArn=hub_arn, TagKeys=["Project"])
    ec2.create_tags(Resources=[flow_log_id], Tags=[{"Key": "Project", "Value": "other"}])
    ssm.add_tags_to_resource(ResourceType="Document", ResourceId="SSM-SessionManagerRunShell", Tags=[{"Key": "Owner", "Value": "x"}])
    run = run_playbook(local_cloud, "playbooks/audit.yml", "--tags", "detection,flow_logs,session_manager")
    assert run.ok and run.changed == 4, run.explain()
    assert tags() == declared
    again = run_playbook(local_cloud, "playbooks/audit.yml", "--tags", "detection,flow_logs,session_manager")
    assert again.ok and again.changed == 0, again.changed_tasks()


@pytest.mark.parametrize("extra_vars, message", [
    ({"audit_log_retention_days": 30}, "audit_log_retention_days must be 365 or more"),
    ({"audit_alarm_emails": ["not-an-address"]}, "audit_alarm_emails: not an email address: not-an-address"),
    ({"audit_approved_ami_ids": ["ubuntu"]}, "audit_approved_ami_ids: not an AMI ID: ubuntu"),
    ({"audit_alarm_subscribers_required": True, "audit_alarm_emails": []},
     "audit_alarm_emails is empty: this environment requires at least one subscriber to its security alarms and findings"),
    ({"audit_key_admin_arns": ["arn:aws:iam::123456789012:role/NoSuchAuditor"]},
     "Unknown key administrator arn:aws:iam::123456789012:role/NoSuchAuditor"),
])
def test_bad_audit_input_fails_with_one_clear_message_and_changes_nothing(local_cloud, converged, extra_vars, message):
    assert_refused(local_cloud, "playbooks/audit.yml", extra_vars, message)


def test_audit_before_storage_says_so(local_cloud):
    local_cloud.reset()
    assert_refused(local_cloud, "playbooks/audit.yml", {}, "alias/rnaseq-pipeline is missing: run playbooks/storage.yml")
