"""cloudtrail_trails and the trail, Object Lock and EventBridge reads of audit_services_info, in-process against moto."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest

from audit_controls import records_data_event
from support.module_harness import load_module, run_module, toolkit_aws

cloudtrail_trails = load_module("cloudtrail_trails")
audit_services_info = load_module("audit_services_info")

REGION = "us-east-1"
DATA_EVENTS = {"buckets": ["data-bucket"], "log_buckets": ["data-bucket-access-logs", "data-bucket-audit-logs"]}
TRAIL = {"name": "env-trail", "s3_bucket_name": "data-bucket-audit-logs", "s3_key_prefix": "cloudtrail",
         "data_events": DATA_EVENTS}
ARGS = {"trails": [TRAIL], "tags": {"Project": "p"}}


@pytest.fixture
def buckets(mocked_aws):
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in ("data-bucket", "data-bucket-access-logs", "data-bucket-audit-logs"):
        s3.create_bucket(Bucket=bucket)
    yield boto3.client("cloudtrail", region_name=REGION)


@pytest.fixture
def trail(buckets):
    buckets.create_trail(Name="env-trail", S3BucketName="data-bucket-audit-logs")
    # What a trail made before advanced selectors had: basic selectors for the data bucket alone.
    buckets.put_event_selectors(TrailName="env-trail", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::data-bucket/"]}]}])
    yield buckets


def tags_of(cloudtrail, arn):
    return {t["Key"]: t["Value"] for t in cloudtrail.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]}


def test_a_trail_is_planned_then_made_logging_tagged_with_its_selectors_in_one_run_then_left_alone(buckets):
    plan = run_module(cloudtrail_trails, {**ARGS, "_ansible_check_mode": True})
    assert plan["changed"] is True and plan["trails"][0]["created"] is True
    assert buckets.describe_trails()["trailList"] == [], "check mode wrote nothing"

    first = run_module(cloudtrail_trails, ARGS)
    assert first["changed"] is True
    arn = first["trails"][0]["arn"]
    found = buckets.describe_trails(trailNameList=["env-trail"])["trailList"][0]
    assert (found["S3BucketName"], found["S3KeyPrefix"], found["IsMultiRegionTrail"], found["LogFileValidationEnabled"]) == (
        "data-bucket-audit-logs", "cloudtrail", True, True)
    assert buckets.get_trail_status(Name=arn)["IsLogging"] is True
    assert tags_of(buckets, arn) == {"Project": "p"}
    assert [s["Name"] for s in buckets.get_event_selectors(TrailName=arn)["AdvancedEventSelectors"]] == [
        "Management events", "Every object event in the toolkit's buckets",
        "Every object event but log delivery in the log buckets"]
    again = run_module(cloudtrail_trails, ARGS)
    assert again["changed"] is False, again["diff"]


def test_an_existing_trail_has_its_drift_planned_then_repaired_and_its_foreign_tags_kept_or_purged(trail):
    arn = trail.describe_trails()["trailList"][0]["TrailARN"]
    trail.add_tags(ResourceId=arn, TagsList=[{"Key": "Owner", "Value": "someone"}])
    plan = run_module(cloudtrail_trails, {**ARGS, "_ansible_check_mode": True})
    assert plan["trails"][0]["changed"] == ["advanced_event_selectors", "enable_log_file_validation", "is_multi_region_trail",
                                            "logging", "s3_key_prefix", "tags"]
    assert trail.get_event_selectors(TrailName="env-trail")["EventSelectors"], "check mode wrote nothing"
    assert trail.get_trail_status(Name="env-trail")["IsLogging"] is False

    kept = run_module(cloudtrail_trails, {**ARGS, "purge_tags": False})
    assert kept["changed"] is True and kept["trails"][0]["arn"] == arn
    found = trail.get_event_selectors(TrailName=arn)
    assert not found.get("EventSelectors") and len(found["AdvancedEventSelectors"]) == 3
    assert trail.describe_trails(trailNameList=["env-trail"])["trailList"][0]["S3KeyPrefix"] == "cloudtrail"
    assert trail.get_trail_status(Name=arn)["IsLogging"] is True
    assert tags_of(trail, arn) == {"Project": "p", "Owner": "someone"}
    purged = run_module(cloudtrail_trails, ARGS)
    assert purged["trails"][0]["changed"] == ["tags"]
    assert tags_of(trail, arn) == {"Project": "p"}
    assert run_module(cloudtrail_trails, ARGS)["changed"] is False


def test_what_the_selectors_record_every_event_in_the_data_bucket_all_but_uploads_in_the_log_buckets(trail):
    run_module(cloudtrail_trails, ARGS)
    found = trail.get_event_selectors(TrailName="env-trail")
    for event, read_only in (("GetObject", True), ("PutObject", False), ("DeleteObject", False)):
        assert records_data_event(found, "arn:aws:s3:::data-bucket/raw-data/a.fastq", event, read_only)
    for bucket in ("data-bucket-access-logs", "data-bucket-audit-logs"):
        arn = f"arn:aws:s3:::{bucket}/some/log"
        assert records_data_event(found, arn, "GetObject", True) and records_data_event(found, arn, "DeleteObject", False)
        assert not records_data_event(found, arn, "PutObject", False)
    assert not records_data_event(found, "arn:aws:s3:::elsewhere/x", "GetObject", True)
    # No field selector both includes and excludes.
    for selector in found["AdvancedEventSelectors"]:
        for field in selector["FieldSelectors"]:
            including = {"Equals", "StartsWith", "EndsWith"} & set(field)
            excluding = {"NotEquals", "NotStartsWith", "NotEndsWith"} & set(field)
            assert not (including and excluding), field


def test_without_data_events_only_management_events_remain(trail):
    run_module(cloudtrail_trails, {"trails": [{**TRAIL, "data_events": None}]})
    found = trail.get_event_selectors(TrailName="env-trail")["AdvancedEventSelectors"]
    assert found == [{"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]


def test_bad_declarations_are_refused_before_any_call(mocked_aws):
    both = run_module(cloudtrail_trails, {"trails": [{**TRAIL, "data_events": {"buckets": ["data-bucket"],
                                                                               "log_buckets": ["data-bucket"]}}]})
    assert both["failed"] is True and both["msg"] == (
        "Trail env-trail: a bucket is either in data_events.buckets or in data_events.log_buckets, not both: data-bucket")
    no_bucket = run_module(cloudtrail_trails, {"trails": [{"name": "env-trail"}]})
    assert no_bucket["msg"] == "Trail env-trail: s3_bucket_name is required unless state is absent"


def test_state_absent_deletes_the_trail_once(trail):
    planned = run_module(cloudtrail_trails, {"trails": [{"name": "env-trail"}], "state": "absent", "_ansible_check_mode": True})
    assert planned["changed"] is True and trail.describe_trails()["trailList"]
    gone = run_module(cloudtrail_trails, {"trails": [{"name": "env-trail"}], "state": "absent"})
    assert gone["trails"][0]["deleted"] is True and trail.describe_trails()["trailList"] == []
    assert run_module(cloudtrail_trails, {"trails": [{"name": "env-trail"}], "state": "absent"})["changed"] is False


def test_a_logs_role_cloudtrail_does_not_know_yet_is_waited_for(buckets, monkeypatch):
    """IAM's eventual consistency: the first create_trail is refused as if the new role could not write."""
    module_retry = cloudtrail_trails.NEW_ROLE_RETRY
    refusals = []

    def refuse_once(call):
        def wrapped(**kwargs):
            if not refusals:
                refusals.append(kwargs["Name"])
                raise botocore.exceptions.ClientError(
                    {"Error": {"Code": "InvalidCloudWatchLogsRoleArnException", "Message": "Access denied."}}, "CreateTrail")
            return call(**kwargs)
        return module_retry(wrapped)

    monkeypatch.setattr(cloudtrail_trails, "NEW_ROLE_RETRY", refuse_once)
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    result = run_module(cloudtrail_trails, ARGS)
    assert refusals == ["env-trail"] and result["trails"][0]["created"] is True
    assert buckets.describe_trails()["trailList"][0]["Name"] == "env-trail"


def test_audit_services_info_reads_the_selectors_and_object_lock_and_tolerates_what_is_missing(trail):
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_bucket_versioning(Bucket="data-bucket-audit-logs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket="data-bucket-audit-logs", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 6}}})
    result = run_module(audit_services_info, {"trail": "env-trail", "object_lock_buckets": [
        "data-bucket-audit-logs", "data-bucket", "no-such-bucket"]})
    assert result["event_selectors"]["EventSelectors"][0]["DataResources"][0]["Values"] == ["arn:aws:s3:::data-bucket/"]
    assert result["object_lock"] == {"data-bucket-audit-logs": {"mode": "COMPLIANCE", "days": 2190},
                                     "data-bucket": {}, "no-such-bucket": {}}
    missing = run_module(audit_services_info, {"trail": "no-such-trail"})
    assert missing["event_selectors"] == {"EventSelectors": [], "AdvancedEventSelectors": []}


def test_the_finding_rules_are_read_with_their_parsed_pattern_and_targets(mocked_aws):
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="findings-config", EventPattern='{"source": ["aws.config"]}', State="ENABLED")
    events.put_targets(Rule="findings-config", Targets=[{"Id": "topic", "Arn": "arn:aws:sns:us-east-1:123456789012:alarms"}])
    found = run_module(audit_services_info, {"event_rules": ["findings-config", "findings-gone"]})["event_rules"]
    assert found == {"findings-config": {"state": "ENABLED", "event_pattern": {"source": ["aws.config"]},
                                         "targets": ["arn:aws:sns:us-east-1:123456789012:alarms"]},
                     "findings-gone": {}}


ssm_documents = load_module("ssm_documents")
PREFERENCES = {"schemaVersion": "1.0", "description": "Session Manager preferences", "sessionType": "Standard_Stream",
               "inputs": {"cloudWatchLogGroupName": "/aws/ssm/sessions/rnaseq", "cloudWatchEncryptionEnabled": True,
                          "s3BucketName": "", "runAsEnabled": False}}


def test_a_document_is_planned_created_once_and_its_drift_becomes_the_default_version_again(mocked_aws):
    ssm = boto3.client("ssm", region_name="us-east-1")
    args = {"documents": [{"name": "SSM-SessionManagerRunShell", "document_type": "Session", "content": PREFERENCES}],
            "tags": {"Project": "p"}}
    planned = run_module(ssm_documents, {**args, "_ansible_check_mode": True})
    assert planned["changed"] and planned["documents"] == {"SSM-SessionManagerRunShell": None}
    assert ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Self"]}])["DocumentIdentifiers"] == []
    assert run_module(ssm_documents, args)["documents"] == {"SSM-SessionManagerRunShell": "1"}
    assert run_module(ssm_documents, args)["changed"] is False
    # Logging turned off by hand, as a new default version: set back, as another version.
    drifted = json.loads(json.dumps(PREFERENCES))
    drifted["inputs"]["cloudWatchLogGroupName"] = ""
    version = ssm.update_document(Name="SSM-SessionManagerRunShell", Content=json.dumps(drifted), DocumentVersion="$LATEST",
                                  DocumentFormat="JSON")["DocumentDescription"]["DocumentVersion"]
    ssm.update_document_default_version(Name="SSM-SessionManagerRunShell", DocumentVersion=version)
    repaired = run_module(ssm_documents, args)
    assert repaired["changed"] and repaired["diff"]["before"]["SSM-SessionManagerRunShell"]["content"]["inputs"]["cloudWatchLogGroupName"] == ""
    assert json.loads(ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"]) == PREFERENCES


def test_a_documents_tags_are_made_exact_or_kept_as_asked_and_left_alone_when_none_are_declared(mocked_aws):
    ssm = boto3.client("ssm", region_name="us-east-1")
    name = "SSM-SessionManagerRunShell"
    args = {"documents": [{"name": name, "document_type": "Session", "content": PREFERENCES}], "tags": {"Project": "p"}}

    def tags():
        return toolkit_aws.tag_dict(ssm.list_tags_for_resource(ResourceType="Document", ResourceId=name)["TagList"])

    run_module(ssm_documents, args)
    assert tags() == {"Project": "p"} and run_module(ssm_documents, args)["changed"] is False
    ssm.add_tags_to_resource(ResourceType="Document", ResourceId=name, Tags=[{"Key": "Project", "Value": "o"}, {"Key": "Owner", "Value": "s"}])
    planned = run_module(ssm_documents, {**args, "_ansible_check_mode": True})
    assert planned["diff"] == {"before": {name: {"tags": {"Project": "o", "Owner": "s"}}}, "after": {name: {"tags": {"Project": "p"}}}}
    assert planned["changes"] == {name: ["tags"]}
    assert tags() == {"Project": "o", "Owner": "s"}, "check mode wrote nothing"
    assert run_module(ssm_documents, {**args, "purge_tags": False})["changed"] is True and tags() == {"Project": "p", "Owner": "s"}
    assert run_module(ssm_documents, args)["changed"] is True and tags() == {"Project": "p"}
    assert run_module(ssm_documents, args)["changed"] is False
    ssm.add_tags_to_resource(ResourceType="Document", ResourceId=name, Tags=[{"Key": "Owner", "Value": "s"}])
    assert run_module(ssm_documents, {**args, "tags": None})["changed"] is False


def test_a_document_with_state_absent_is_planned_then_deleted_once(mocked_aws):
    ssm = boto3.client("ssm", region_name="us-east-1")
    name = "SSM-SessionManagerRunShell"
    run_module(ssm_documents, {"documents": [{"name": name, "document_type": "Session", "content": PREFERENCES}]})
    gone = {"documents": [{"name": name, "state": "absent"}]}
    planned = run_module(ssm_documents, {**gone, "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["diff"]["before"][name]["content"] == PREFERENCES
    assert planned["changes"] == {name: ["deleted"]}
    assert ssm.get_document(Name=name)["Name"] == name, "check mode wrote nothing"
    assert run_module(ssm_documents, gone)["changed"] is True
    with pytest.raises(ssm.exceptions.InvalidDocument):
        ssm.get_document(Name=name)
    assert run_module(ssm_documents, gone)["changed"] is False


sns_topics = load_module("sns_topics")


def test_a_topic_is_made_encrypted_and_tagged_once_and_its_tags_kept_or_purged_as_asked(mocked_aws):
    sns = boto3.client("sns", region_name=REGION)
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    topic = {"name": "alarms", "kms_master_key_id": key, "tags": {"Project": "p"}}
    first = run_module(sns_topics, {"topics": [topic]})
    assert first["changed"] is True, first
    arn = sns.list_topics()["Topics"][0]["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["KmsMasterKeyId"] == key
    assert run_module(sns_topics, {"topics": [topic]})["changed"] is False

    def tags():
        return {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}

    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "CostCentre", "Value": "genomics"}])
    kept = run_module(sns_topics, {"topics": [{**topic, "tags": {"Project": "p", "Owner": "lab"}, "purge_tags": False}]})
    assert kept["changed"] is True and kept["diff"]["after"]["alarms"]["tags"] == {"Project": "p", "Owner": "lab", "CostCentre": "genomics"}
    assert tags() == {"Project": "p", "Owner": "lab", "CostCentre": "genomics"}
    assert run_module(sns_topics, {"topics": [topic]})["changed"] is True
    assert tags() == {"Project": "p"}


def test_a_topic_with_state_absent_is_planned_then_deleted_once_and_needs_no_key(mocked_aws):
    sns = boto3.client("sns", region_name=REGION)
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    run_module(sns_topics, {"topics": [{"name": "alarms", "kms_master_key_id": key}, {"name": "kept", "kms_master_key_id": key}]})
    gone = {"topics": [{"name": "alarms", "state": "absent"}, {"name": "never-made", "state": "absent"}]}
    planned = run_module(sns_topics, {**gone, "_ansible_check_mode": True})
    assert planned["changed"] is True and [t["deleted"] for t in planned["topics"]] == [True, False]
    assert planned["changes"] == {"alarms": ["deleted"]}
    assert len(sns.list_topics()["Topics"]) == 2, "check mode wrote nothing"
    assert run_module(sns_topics, gone)["changed"] is True
    assert [t["TopicArn"].rsplit(":", 1)[-1] for t in sns.list_topics()["Topics"]] == ["kept"]
    assert run_module(sns_topics, gone)["changed"] is False
    refused = run_module(sns_topics, {"topics": [{"name": "alarms"}]})
    assert refused["failed"] is True and "kms_master_key_id" in refused["msg"]


aws_config = load_module("aws_config")
CONFIG_ROLE = "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
CONFIG_ARGS = {"role_arn": CONFIG_ROLE, "bucket": "audit-logs", "prefix": "config", "rule_name_prefix": "env-", "rules": [
    {"name": "cloudtrail-enabled", "identifier": "CLOUD_TRAIL_ENABLED"},
    {"name": "required-tags", "identifier": "REQUIRED_TAGS", "parameters": {"tag1Key": "Project"},
     "resource_types": ["AWS::EC2::Volume"]}]}


@pytest.fixture
def config(mocked_aws):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="audit-logs")
    yield boto3.client("config", region_name=REGION)


def test_config_recording_and_rules_are_planned_then_made_in_one_run_then_left_alone(config):
    plan = run_module(aws_config, {**CONFIG_ARGS, "_ansible_check_mode": True})
    assert plan["changed"] is True and plan["changed_parts"] == ["recorder", "delivery_channel", "recording"]
    assert [r["state"] for r in plan["rules"]] == ["created", "created"]
    assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []
    assert config.describe_config_rules()["ConfigRules"] == []

    made = run_module(aws_config, CONFIG_ARGS)
    assert made["changed"] is True and made["recorder"] == {"name": "default", "recording": True}
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is True
    assert config.describe_delivery_channels()["DeliveryChannels"][0]["s3KeyPrefix"] == "config"
    rules = {r["ConfigRuleName"]: r for r in config.describe_config_rules()["ConfigRules"]}
    assert sorted(rules) == ["env-cloudtrail-enabled", "env-required-tags"]
    assert json.loads(rules["env-required-tags"]["InputParameters"]) == {"tag1Key": "Project"}

    again = run_module(aws_config, CONFIG_ARGS)
    assert again["changed"] is False and again["changed_parts"] == [] and again["deleted_rules"] == []


def test_a_drifted_rule_is_put_back_and_an_owned_rule_not_declared_is_deleted(config):
    run_module(aws_config, CONFIG_ARGS)
    config.put_config_rule(ConfigRule={"ConfigRuleName": "env-required-tags", "Source": {
        "Owner": "AWS", "SourceIdentifier": "REQUIRED_TAGS"}, "InputParameters": json.dumps({"tag1Key": "Other"})})
    config.put_config_rule(ConfigRule={"ConfigRuleName": "env-stray", "Source": {"Owner": "AWS", "SourceIdentifier": "CLOUD_TRAIL_ENABLED"}})
    config.put_config_rule(ConfigRule={"ConfigRuleName": "someone-elses", "Source": {"Owner": "AWS", "SourceIdentifier": "CLOUD_TRAIL_ENABLED"}})
    repaired = run_module(aws_config, {**CONFIG_ARGS, "_ansible_diff": True})
    assert repaired["changed_parts"] == [] and repaired["deleted_rules"] == ["env-stray"]
    assert [r["state"] for r in repaired["rules"]] == ["unchanged", "updated"]
    assert repaired["diff"]["before"]["rules"]["env-required-tags"]["parameters"] == {"tag1Key": "Other"}
    names = sorted(r["ConfigRuleName"] for r in config.describe_config_rules()["ConfigRules"])
    assert names == ["env-cloudtrail-enabled", "env-required-tags", "someone-elses"]


def test_a_rule_with_state_absent_is_planned_then_deleted_once_even_without_purge(config):
    run_module(aws_config, CONFIG_ARGS)
    gone = {**CONFIG_ARGS, "purge_rules": False, "rules": [CONFIG_ARGS["rules"][0], {"name": "required-tags", "state": "absent"}]}
    planned = run_module(aws_config, {**gone, "_ansible_check_mode": True})
    assert [r["state"] for r in planned["rules"]] == ["unchanged", "deleted"] and planned["diff"]["after"]["rules"] == {"env-required-tags": None}
    assert planned["changes"] == {"env-required-tags": ["deleted"]}
    assert len(config.describe_config_rules()["ConfigRules"]) == 2, "check mode wrote nothing"
    assert run_module(aws_config, gone)["changed"] is True
    assert [r["ConfigRuleName"] for r in config.describe_config_rules()["ConfigRules"]] == ["env-cloudtrail-enabled"]
    assert run_module(aws_config, gone)["changed"] is False
