"""verify.yml: a read-only audit that writes evidence and names every failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.api_calls import writes
from support.cloud import REPO, run_playbook


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    run = run_playbook(local_cloud, "playbooks/site.yml")
    assert run.ok, run.explain()


def reports(run):
    """The report files a verify run announced."""
    text = run.stdout
    md = [line.split("Evidence report:")[1].strip().strip("'\"") for line in text.splitlines() if "Evidence report:" in line]
    assert md, text[-3000:]
    path = Path(md[-1])
    return path, path.with_suffix(".json")


def test_verify_passes_on_a_converged_network_and_writes_both_reports_without_writing_to_aws(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/verify.yml", json_output=False)
    assert run.ok, run.explain()
    assert calls and writes(calls) == []
    md, data = reports(run)
    assert md.exists() and data.exists()
    assert md.parent == REPO / "reports" / "local"
    assert oct(md.stat().st_mode & 0o777) == "0o600"
    report = json.loads(data.read_text())
    assert report["summary"]["failed"] == 0 and report["summary"]["total"] >= 60
    assert {c["id"].split("-")[0] for c in report["controls"]} == {"NET", "IAM", "KMS", "S3", "AUD", "ECR", "BAT", "ACC"}
    assert report["account_id"] == local_cloud.client("sts").get_caller_identity()["Account"]
    for control in report["controls"]:
        assert control["hipaa"] and all(h.startswith("164.3") for h in control["hipaa"])
        assert control["repair"].startswith("ansible-playbook playbooks/")
    assert "flowchart" in report["diagram"]["source"] and 'jq_rnaseq_default -- "1" --> ce_rnaseq_spot' in report["diagram"]["source"]
    source = report["diagram"]["source"]
    assert "rna-seq-management-vpc" in source and "rna-seq-bastion" in source and "rna-seq-openvpn" in source
    assert "peering pcx-" in source and "(active)" in source
    assert "```mermaid" in md.read_text()


def management_vpc_id(ec2):
    return ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["rna-seq-management-vpc"]}])["Vpcs"][0]["VpcId"]


def data_bucket_selections(local_cloud):
    """The backup plan's selections of the data bucket, as boto3 sees them."""
    backup = local_cloud.client("backup")
    plan = next(p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == "rnaseq-data-backup")
    return plan["BackupPlanId"], [
        backup.get_backup_selection(BackupPlanId=plan["BackupPlanId"], SelectionId=s["SelectionId"])
        for s in backup.list_backup_selections(BackupPlanId=plan["BackupPlanId"])["BackupSelectionsList"]]


def test_aws_backup_covers_the_data_bucket_into_a_vault_encrypted_with_the_pipeline_key(local_cloud, converged):
    backup, kms = local_cloud.client("backup"), local_cloud.client("kms")
    plan_id, selections = data_bucket_selections(local_cloud)
    (selection,) = selections
    assert selection["BackupSelection"]["Resources"] == ["arn:aws:s3:::rnaseq-hipaa-data-bucket"]
    assert selection["BackupSelection"]["IamRoleArn"].endswith(":role/rnaseq-backup-role")
    (rule,) = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"]
    assert rule["TargetBackupVaultName"] == "rnaseq-backup-vault" and rule["Lifecycle"]["DeleteAfterDays"] == 35
    key = kms.describe_key(KeyId="alias/rnaseq-pipeline")["KeyMetadata"]["Arn"]
    assert backup.describe_backup_vault(BackupVaultName="rnaseq-backup-vault")["EncryptionKeyArn"] == key


def test_verify_names_each_drift_on_its_own_line_and_converging_again_repairs_it(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["rna-seq-hipaa-vpc"]}])["Vpcs"][0]["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    compute = next(g for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"] if g["GroupName"] == "rna-seq-compute-sg")
    table = next(
        t for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
        if {"Key": "Name", "Value": "rna-seq-private-rt"} in t.get("Tags", [])
    )
    nacl = next(
        n for n in ec2.describe_network_acls(Filters=in_vpc)["NetworkAcls"]
        if {"Key": "Name", "Value": "rna-seq-private-nacl"} in n.get("Tags", [])
    )
    # The drifts: SSH from the world on the compute SG, an internet gateway
    # with a default route, a NAT gateway, an extra NACL rule from outside
    # the VPC, an interface endpoint deleted, data bucket versioning
    # suspended, key rotation off, the trail stopped, its data events
    # narrowed, the audit logs' retention cut, a finding rule disabled, the
    # data bucket's backup selection deleted, both default NACLs opened,
    # Session Manager's logging off, and two in Batch.
    ec2.authorize_security_group_ingress(
        GroupId=compute["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    subnet = ec2.describe_subnets(Filters=in_vpc)["Subnets"][0]["SubnetId"]
    nat_address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet, AllocationId=nat_address)
    ec2.create_network_acl_entry(
        NetworkAclId=nacl["NetworkAclId"], RuleNumber=150, Protocol="6", RuleAction="allow", Egress=False,
        CidrBlock="198.51.100.0/24", PortRange={"From": 22, "To": 22},
    )

    logs_endpoint = next(
        e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
        if e["ServiceName"].endswith(".logs") and e["State"] == "available"
    )
    ec2.delete_vpc_endpoints(VpcEndpointIds=[logs_endpoint])

    s3, kms = local_cloud.client("s3"), local_cloud.client("kms")
    cloudtrail = local_cloud.client("cloudtrail")
    cloudtrail.stop_logging(Name="rnaseq-trail")
    # Object-level events for the data bucket alone, as before every toolkit
    # bucket had them; the audit log bucket's retention cut to a day.
    cloudtrail.put_event_selectors(TrailName="rnaseq-trail", AdvancedEventSelectors=[
        {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        {"Name": "The data bucket", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::rnaseq-hipaa-data-bucket/"]}]}])
    s3.put_object_lock_configuration(Bucket="rnaseq-hipaa-data-bucket-audit-logs", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    s3.put_bucket_versioning(Bucket="rnaseq-hipaa-data-bucket", VersioningConfiguration={"Status": "Suspended"})
    key_id = next(a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/rnaseq-pipeline")
    kms.disable_key_rotation(KeyId=key_id)
    # GuardDuty's findings no longer reach the topic.
    local_cloud.client("events").disable_rule(Name="rnaseq-findings-guardduty")
    # Both VPCs' default NACLs given back AWS's allow-everything rule.
    defaults = [n for n in ec2.describe_network_acls(Filters=[{"Name": "default", "Values": ["true"]}])["NetworkAcls"]
                if n["VpcId"] in (vpc_id, management_vpc_id(ec2))]
    assert len(defaults) == 2
    for default in defaults:
        ec2.create_network_acl_entry(NetworkAclId=default["NetworkAclId"], RuleNumber=100, Protocol="-1", RuleAction="allow",
                                     Egress=False, CidrBlock="0.0.0.0/0")
    # Session Manager no longer logging sessions, as a new default version of its preferences.
    ssm = local_cloud.client("ssm")
    preferences = json.loads(ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"])
    preferences["inputs"]["cloudWatchLogGroupName"] = ""
    version = ssm.update_document(Name="SSM-SessionManagerRunShell", Content=json.dumps(preferences), DocumentVersion="$LATEST",
                                  DocumentFormat="JSON")["DocumentDescription"]["DocumentVersion"]
    ssm.update_document_default_version(Name="SSM-SessionManagerRunShell", DocumentVersion=version)
    # The data bucket no longer backed up.
    plan_id, (selection,) = data_bucket_selections(local_cloud)
    local_cloud.client("backup").delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection["SelectionId"])

    # Batch: a launch template version without IMDSv2 (moto copies nothing
    # from the source version, so it declares no volume either), a job
    # revision on a movable tag.
    ec2.create_launch_template_version(LaunchTemplateName="rnaseq-batch-instances", SourceVersion="$Latest",
                                       LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}})
    batch = local_cloud.client("batch")
    star = batch.describe_job_definitions(jobDefinitionName="rnaseq-star-align", status="ACTIVE")["jobDefinitions"][0]
    drifted = {**star["containerProperties"], "image": star["containerProperties"]["image"].split("@")[0] + ":latest"}
    batch.register_job_definition(jobDefinitionName="rnaseq-star-align", type="container", containerProperties=drifted)

    failing = run_playbook(local_cloud, "playbooks/verify.yml", json_output=False)
    assert failing.returncode != 0
    # ansible-core prints a failed task's message twice (an [ERROR] summary,
    # then the fatal: result); read the result.
    fatal = failing.stdout[failing.stdout.index("fatal: [localhost]"):]
    lines = [line.strip() for line in fatal.splitlines()]
    expected = {"NET-02": "network", "NET-03": "network", "NET-05": "network", "NET-08": "network", "NET-10": "network",
                "NET-12": "network", "NET-14": "network", "NET-16": "network", "S3-03": "storage", "S3-12": "storage", "KMS-01": "storage",
                "AUD-02": "audit", "AUD-13": "audit", "AUD-14": "audit", "AUD-16": "audit",
                "AUD-15": "audit",
                "BAT-02": "batch", "BAT-04": "batch", "BAT-06": "batch", "ACC-08": "access"}
    for control, phase in expected.items():
        matching = [line for line in lines if line.startswith(f"{control} FAIL")]
        assert len(matching) == 1, (control, fatal[-4000:])
        assert f"repair: ansible-playbook playbooks/{phase}.yml --tags" in matching[0]
    assert sorted(line.split()[0] for line in lines if " FAIL " in line) == sorted(expected)

    repair = run_playbook(local_cloud, "playbooks/site.yml")
    assert repair.ok, repair.explain()
    assert repair.changed > 0
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"] == []
    assert {n["State"] for n in ec2.describe_nat_gateways(Filter=in_vpc)["NatGateways"]} <= {"deleted", "deleting"}
    addresses = [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    assert nat_address not in addresses, "the NAT gateway's Elastic IP is released"

    passing = run_playbook(local_cloud, "playbooks/verify.yml", json_output=False)
    assert passing.ok, passing.explain()
    summary = re.search(r"(\d+) of (\d+) controls pass", passing.stdout)
    assert summary and summary[1] == summary[2] and int(summary[2]) >= 62, passing.stdout[-2000:]
    assert s3.get_bucket_versioning(Bucket="rnaseq-hipaa-data-bucket")["Status"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert cloudtrail.get_trail_status(Name="rnaseq-trail")["IsLogging"] is True
    names = [s["Name"] for s in cloudtrail.get_event_selectors(TrailName="rnaseq-trail")["AdvancedEventSelectors"]]
    assert "Every object event but log delivery in the log buckets" in names
    retention = s3.get_object_lock_configuration(Bucket="rnaseq-hipaa-data-bucket-audit-logs")["ObjectLockConfiguration"]
    assert retention["Rule"]["DefaultRetention"]["Days"] == 2190
    live = [e for e in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"] if e["State"] == "available"]
    assert sum(e["ServiceName"].endswith(".logs") for e in live) == 1, "the deleted endpoint is created anew, once"
    assert len(data_bucket_selections(local_cloud)[1]) == 1, "the data bucket is selected again, once"
    repaired = json.loads(ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"])
    assert repaired["inputs"]["cloudWatchLogGroupName"] == "/aws/ssm/sessions/rnaseq"
    for default in defaults:
        (found,) = ec2.describe_network_acls(NetworkAclIds=[default["NetworkAclId"]])["NetworkAcls"]
        assert {e["RuleNumber"] for e in found["Entries"]} == {32767}, "the default NACLs keep no rule"


def test_verify_fails_on_an_empty_account_without_a_traceback(local_cloud):
    local_cloud.reset()
    run = run_playbook(local_cloud, "playbooks/verify.yml", json_output=False)
    assert run.returncode != 0
    for control in ("NET-01", "IAM-01", "KMS-01", "S3-01", "AUD-01", "AUD-02", "ECR-01", "ECR-06", "BAT-01", "BAT-05", "ACC-01"):
        assert f"{control} FAIL" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_verify_can_audit_one_phase(local_cloud):
    local_cloud.reset()
    assert run_playbook(local_cloud, "playbooks/identity.yml").ok
    run = run_playbook(local_cloud, "playbooks/verify.yml", extra_vars={"verify_phases": ["identity"]}, json_output=False)
    assert run.ok, run.explain()
    assert "4 of 4 controls pass" in run.stdout
