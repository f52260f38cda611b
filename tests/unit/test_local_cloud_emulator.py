"""scripts/local-cloud-emulator: the IAM action each request is authorized
under, as IAM names it (the policies are written in IAM's names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.local_cloud_emulator import EMULATOR

iam_action = EMULATOR["iam_action"]


@pytest.mark.parametrize("moto_action, path, expected", [
    ("s3:ListObjectsV2", "/data", "s3:ListBucket"),
    ("s3:HeadBucket", "/data", "s3:ListBucket"),
    ("s3:GetBucketEncryption", "/data", "s3:GetEncryptionConfiguration"),
    ("s3:PutBucketLifecycleConfiguration", "/data", "s3:PutLifecycleConfiguration"),
    ("s3:GetPublicAccessBlock", "/data", "s3:GetBucketPublicAccessBlock"),
    ("s3:GetPublicAccessBlock", "/v20180820/configuration/publicAccessBlock", "s3:GetAccountPublicAccessBlock"),
    ("s3:CreateMultipartUpload", "/data/key", "s3:PutObject"),
    ("s3:GetObject", "/data/key", "s3:GetObject"),
    ("s3:PutObjectLockConfiguration", "/data", "s3:PutBucketObjectLockConfiguration"),
    ("monitoring:PutMetricAlarm", "/", "cloudwatch:PutMetricAlarm"),
    ("batch:createjobqueue", "/v1/createjobqueue", "batch:CreateJobQueue"),
    ("guardduty:ListDetectors", "/detector", "guardduty:ListDetectors"),
    ("kms:DescribeKey", "/", "kms:DescribeKey"),
])
def test_each_request_is_authorized_under_the_name_iam_gives_it(moto_action, path, expected):
    assert iam_action(moto_action, path) == expected


def test_json_services_are_known_so_their_refusals_are_worded_in_json():
    protocol = EMULATOR["service_protocol"]
    assert protocol("kms") == "json" and protocol("batch") == "rest-json" and protocol("ec2") == "ec2"


def test_object_lock_goes_on_a_versioned_bucket_that_holds_objects_as_s3_allows(mocked_aws):
    import boto3
    from moto.s3.exceptions import BucketNeedsToBeNew, InvalidBucketState
    from moto.s3.models import s3_backends

    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("audit-logs", "plain-bucket"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="old.json.gz", Body=b"{}")
    s3.put_bucket_versioning(Bucket="audit-logs", VersioningConfiguration={"Status": "Enabled"})
    backend = s3_backends["123456789012"]["aws"]
    with pytest.raises(BucketNeedsToBeNew):  # moto as it ships
        backend.put_object_lock_configuration("audit-logs", True, "GOVERNANCE", 30)

    EMULATOR["put_object_lock_configuration"](backend, "audit-logs", True, "GOVERNANCE", 30)
    found = s3.get_object_lock_configuration(Bucket="audit-logs")["ObjectLockConfiguration"]
    assert found["ObjectLockEnabled"] == "Enabled" and found["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    with pytest.raises(InvalidBucketState):  # versioning stays required, as on S3
        EMULATOR["put_object_lock_configuration"](backend, "plain-bucket", True, "GOVERNANCE", 30)


class _BucketCall:
    """What the emulator's bucket-call check reads of moto's S3Response, for one call over TLS or not."""

    def __init__(self, backend, bucket, action, access_key, scheme="https", source_vpc=None):
        self.backend, self.path, self.region, self.current_account = backend, f"/{bucket}", "us-east-1", "123456789012"
        self.request = type("Request", (), {"scheme": scheme})()
        self.headers = {"X-Local-Cloud-Source-Vpc": source_vpc} if source_vpc else {}
        self.querystring, self._action, self._access_key = {}, action, access_key

    def _get_action(self):
        return self._action

    def get_access_key(self):
        return self._access_key


def test_bucket_calls_are_decided_by_the_bucket_policy_with_s3s_root_exception(mocked_aws):
    import boto3
    from moto.s3.models import s3_backends

    iam, s3 = boto3.client("iam", region_name="us-east-1"), boto3.client("s3", region_name="us-east-1")
    iam.create_user(UserName="admin")
    admin_key = iam.create_access_key(UserName="admin")["AccessKey"]["AccessKeyId"]
    s3.create_bucket(Bucket="data")
    s3.put_bucket_policy(Bucket="data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::data",
         "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}}]}))
    backend = s3_backends["123456789012"]["aws"]
    def refused(action, key, **call):
        return EMULATOR["bucket_call_denied"](_BucketCall(backend, "data", action, key, **call), "data")

    assert refused("ListObjectsV2", admin_key) and refused("PutBucketVersioning", admin_key)
    assert not refused("ListObjectsV2", admin_key, source_vpc="vpc-1")
    assert refused("GetBucketVersioning", "testing") and not refused("GetBucketPolicy", "testing"), "root keeps the policy only"
    assert not refused("ListObjectsV2", admin_key, scheme="http"), "plain HTTP: off"
    assert not refused("PutObject", admin_key), "decided per object, as moto does"


def test_every_bucket_subresource_moto_misnames_is_authorized_under_an_s3_action_iam_knows():
    import os

    import parliament

    definitions = json.loads(Path(os.path.dirname(parliament.__file__), "iam_definition.json").read_text())
    known = {f"s3:{p['privilege']}" for service in definitions if service["prefix"] == "s3" for p in service["privileges"]}
    table = EMULATOR["S3_BUCKET_SUBRESOURCES"]
    actions = {(method, sub): iam_action(f"s3:{name}", "/data") for method, names in table.items() for sub, name in names.items()}
    assert set(actions.values()) <= known, set(actions.values()) - known
    # moto authorized these as s3:ListBucket, s3:CreateBucket and s3:DeleteBucket.
    assert actions["GET", "encryption"] == "s3:GetEncryptionConfiguration"
    assert actions["PUT", "replication"] == "s3:PutReplicationConfiguration"
    assert actions["DELETE", "encryption"] == "s3:PutEncryptionConfiguration"
    assert actions["GET", "publicAccessBlock"] == "s3:GetBucketPublicAccessBlock"


def test_a_plans_selections_are_kept_as_aws_keeps_them_and_a_missing_vault_is_access_denied(mocked_aws):
    import boto3
    from moto.backup.exceptions import AlreadyExistsException, InvalidRequestException
    from moto.backup.models import backup_backends

    backup = boto3.client("backup", region_name="us-east-1")
    backup.create_backup_vault(BackupVaultName="vault")
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "plan", "Rules": [
        {"RuleName": "daily", "TargetBackupVaultName": "vault", "Lifecycle": {"DeleteAfterDays": 35}}]})["BackupPlanId"]
    backend = backup_backends["123456789012"]["us-east-1"]

    def call(operation, body=None, **uri):
        response = type("Response", (), {"backup_backend": backend, "uri_match": {"backupPlanId": plan_id, **uri},
                                          "body": json.dumps(body or {})})()
        return json.loads(EMULATOR[operation](response))

    selection = {"SelectionName": "data-bucket", "IamRoleArn": "arn:aws:iam::123456789012:role/backup",
                 "Resources": ["arn:aws:s3:::data"]}
    created = call("create_backup_selection", {"BackupSelection": selection})
    assert call("list_backup_selections")["BackupSelectionsList"][0]["SelectionName"] == "data-bucket"
    assert call("get_backup_selection", selectionId=created["SelectionId"])["BackupSelection"] == selection
    with pytest.raises(AlreadyExistsException):
        call("create_backup_selection", {"BackupSelection": selection})
    with pytest.raises(InvalidRequestException):  # AWS refuses to delete a plan that still selects resources
        EMULATOR["delete_backup_plan"](backend, plan_id)
    call("update_backup_plan", {"BackupPlan": {"BackupPlanName": "plan", "Rules": [
        {"RuleName": "daily", "TargetBackupVaultName": "vault", "Lifecycle": {"DeleteAfterDays": 40}}]}})
    assert backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 40}
    call("delete_backup_selection", selectionId=created["SelectionId"])
    EMULATOR["delete_backup_plan"](backend, plan_id)
    with pytest.raises(EMULATOR["VaultAccessDenied"]) as refused:
        EMULATOR["describe_backup_vault"](backend, "missing")
    assert refused.value.code == 403 and "AccessDeniedException" in refused.value.description


def test_a_nacl_is_found_by_its_id_as_describe_network_acls_allows(mocked_aws):
    import boto3
    from moto.ec2.exceptions import FilterNotImplementedError
    from moto.ec2.models import ec2_backends

    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    nacl_id = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"][0]["NetworkAclId"]
    nacl = ec2_backends["123456789012"]["us-east-1"].network_acls[nacl_id]
    with pytest.raises(FilterNotImplementedError):  # moto as it ships
        nacl.get_filter_value("network-acl-id")
    assert EMULATOR["nacl_filter_value"](nacl, "network-acl-id") == nacl_id
    assert EMULATOR["nacl_filter_value"](nacl, "vpc-id") == vpc


def test_a_launch_template_is_described_with_the_tags_create_tags_gave_it(mocked_aws, monkeypatch):
    import boto3
    from moto.ec2.models import launch_templates

    ec2 = boto3.client("ec2", region_name="us-east-1")

    def described_tags(name: str) -> dict:
        template = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12345678"})
        ec2.create_tags(Resources=[template["LaunchTemplate"]["LaunchTemplateId"]], Tags=[{"Key": "Project", "Value": "p"}])
        described = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"][0]
        return {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}

    assert described_tags("as-moto-ships") == {}  # the tags it was created with: none
    monkeypatch.setattr(launch_templates.LaunchTemplate, "tags", EMULATOR["launch_template_tags"], raising=False)
    assert described_tags("corrected") == {"Project": "p"}


def test_guardduty_and_security_hub_serve_their_tag_calls(mocked_aws, request):
    import boto3

    guardduty = boto3.client("guardduty", region_name="us-east-1")
    hub = boto3.client("securityhub", region_name="us-east-1")
    detector_id = guardduty.create_detector(Enable=True, Tags={"Project": "p", "Owner": "o"})["DetectorId"]
    hub.enable_security_hub(Tags={"Project": "p", "Owner": "o"})
    hub_arn = hub.describe_hub()["HubArn"]
    detector_arn = f"arn:aws:guardduty:us-east-1:123456789012:detector/{detector_id}"
    with pytest.raises(hub.exceptions.ClientError):  # moto as it ships
        hub.list_tags_for_resource(ResourceArn=hub_arn)

    request.getfixturevalue("emulated_tag_calls")  # correction 12
    for client, arn in ((guardduty, detector_arn), (hub, hub_arn)):
        assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"Project": "p", "Owner": "o"}
        client.tag_resource(ResourceArn=arn, Tags={"Project": "q", "Phase": "audit"})
        client.untag_resource(ResourceArn=arn, TagKeys=["Owner"])
        assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"Project": "q", "Phase": "audit"}
    assert guardduty.get_detector(DetectorId=detector_id)["Tags"] == {"Project": "q", "Phase": "audit"}
    with pytest.raises(hub.exceptions.ClientError):  # another account's hub is not this one
        hub.list_tags_for_resource(ResourceArn="arn:aws:securityhub:us-east-1:999999999999:hub/default")


def test_a_security_group_another_groups_rule_names_is_not_deleted_as_on_aws(mocked_aws, request):
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def named_group():
        named = ec2.create_security_group(GroupName=f"named-{len(ec2.describe_security_groups()['SecurityGroups'])}",
                                          Description="d", VpcId=vpc)["GroupId"]
        naming = ec2.create_security_group(GroupName=f"naming-{named}", Description="d", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=naming, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": named}]}])
        return named, naming

    named, _naming = named_group()
    ec2.delete_security_group(GroupId=named)  # moto as it ships
    request.getfixturevalue("emulated_group_dependencies")
    named, naming = named_group()
    with pytest.raises(ec2.exceptions.ClientError) as refused:
        ec2.delete_security_group(GroupId=named)
    assert refused.value.response["Error"]["Code"] == "DependencyViolation"
    ec2.revoke_security_group_ingress(GroupId=naming, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": named}]}])
    ec2.delete_security_group(GroupId=named)
