"""teardown.yml: refuses a real account unless confirmed, then removes the environment in reverse order, the data only when asked."""

from __future__ import annotations

from support.api_calls import writes
from support.cloud import run_playbook

# The local inventory's names (roles/contract, roles/batch and roles/access defaults).
HOST_AND_BATCH_ROLES = ("rnaseq-batch-service-role", "rnaseq-batch-instance-role", "rnaseq-batch-spot-fleet-role",
                        "rnaseq-batch-job-role", "rnaseq-batch-head-role", "rna-seq-access-host-role")
OWNED = [{"Name": "tag:Project", "Values": ["rna-seq-hipaa"]}, {"Name": "tag:Environment", "Values": ["local"]}]


def toolkit_vpcs(cloud):
    return cloud.client("ec2").describe_vpcs(Filters=OWNED)["Vpcs"]


def test_teardown_refuses_a_real_account_without_confirmation_and_a_wrong_confirmation(local_cloud):
    local_cloud.reset()
    assert run_playbook(local_cloud, "playbooks/network.yml").ok
    with local_cloud.recording() as calls:
        production = run_playbook(local_cloud, "playbooks/teardown.yml", inventory="inventories/production",
                                  extra_vars={"toolkit_aws_account_id": "123456789012"}, json_output=False)
        mismatch = run_playbook(local_cloud, "playbooks/teardown.yml", extra_vars={"confirm_teardown": "111111111111"},
                                json_output=False)
        window = run_playbook(local_cloud, "playbooks/teardown.yml", extra_vars={"teardown_delete_data": True,
                              "teardown_key_pending_window_days": 3}, json_output=False)
    assert production.returncode != 0
    assert "To go ahead, run again with -e confirm_teardown=<that account id>" in " ".join(production.stdout.split())
    assert mismatch.returncode != 0
    assert "confirm_teardown=111111111111 does not match the caller's account" in " ".join(mismatch.stdout.split())
    assert window.returncode != 0
    assert "teardown_key_pending_window_days must be 7 to 30 (AWS refuses other windows), not 3." in window.stdout
    assert writes(calls) == []
    assert len(toolkit_vpcs(local_cloud)) == 1


def test_teardown_removes_the_environment_keeps_the_data_and_runs_again_as_a_no_op(local_cloud):
    local_cloud.reset()
    assert run_playbook(local_cloud, "playbooks/site.yml").ok

    with local_cloud.recording() as calls:
        plan = run_playbook(local_cloud, "playbooks/teardown.yml", "--check")
    assert plan.ok and plan.changed > 0, plan.explain()
    assert writes(calls) == [], "planning a teardown writes nothing"

    teardown = run_playbook(local_cloud, "playbooks/teardown.yml")
    assert teardown.ok, teardown.explain()
    assert toolkit_vpcs(local_cloud) == []
    ec2 = local_cloud.client("ec2")
    running = [i for r in ec2.describe_instances(Filters=OWNED)["Reservations"] for i in r["Instances"]
               if i["State"]["Name"] != "terminated"]
    assert running == []
    # The VPN host's Elastic IP and the NAT gateway's are released, and the NAT gateway gone.
    assert ec2.describe_addresses()["Addresses"] == []
    assert [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] not in ("deleting", "deleted")] == []
    assert local_cloud.client("batch").describe_job_queues()["jobQueues"] == []
    assert local_cloud.client("ecr").describe_repositories()["repositories"] == []
    # The Batch and access hosts' roles and instance profiles, and the groups (their users stay).
    iam = local_cloud.client("iam")
    assert not set(HOST_AND_BATCH_ROLES) & {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert not set(HOST_AND_BATCH_ROLES) & {p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]}
    assert not {"RNASeqAdministrators", "RNASeqPipelineOperators"} & {g["GroupName"] for g in iam.list_groups()["Groups"]}
    assert iam.list_users()["Users"], "the administrators and operators stay"
    # Kept: the data and log buckets, the keys, the trail, the backups.
    buckets = {b["Name"] for b in local_cloud.client("s3").list_buckets()["Buckets"]}
    assert {"rnaseq-hipaa-data-bucket", "rnaseq-hipaa-data-bucket-access-logs", "rnaseq-hipaa-data-bucket-audit-logs"} <= buckets
    aliases = {a["AliasName"] for a in local_cloud.client("kms").list_aliases()["Aliases"]}
    assert {"alias/rnaseq-pipeline", "alias/rnaseq-audit"} <= aliases
    assert local_cloud.client("cloudtrail").get_trail_status(Name="rnaseq-trail")["IsLogging"] is True
    assert [p["BackupPlanName"] for p in local_cloud.client("backup").list_backup_plans()["BackupPlansList"]] == ["rnaseq-data-backup"]

    again = run_playbook(local_cloud, "playbooks/teardown.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()

    # Asked to, it deletes the data too: planned without a write, then done once.
    delete_data = {"teardown_delete_data": True, "teardown_key_pending_window_days": 7}
    with local_cloud.recording() as calls:
        plan = run_playbook(local_cloud, "playbooks/teardown.yml", "--check", extra_vars=delete_data)
    # The data step, and the backup plan, its selection, vault and role.
    assert plan.ok and plan.changed == 5, plan.explain()
    assert writes(calls) == []
    assert buckets <= {b["Name"] for b in local_cloud.client("s3").list_buckets()["Buckets"]}

    # A log file in the audit log bucket, as CloudTrail delivers one (its
    # policy, which admits only CloudTrail and Config over TLS, set aside):
    # Object Lock keeps it, so the data step refuses, deleting nothing, until
    # told to bypass the governance-mode retention.
    s3 = local_cloud.client("s3")
    s3.delete_bucket_policy(Bucket="rnaseq-hipaa-data-bucket-audit-logs")
    s3.put_object(Bucket="rnaseq-hipaa-data-bucket-audit-logs", Key="cloudtrail/AWSLogs/log.json.gz", Body=b"{}",
                  ChecksumAlgorithm="SHA256")
    with local_cloud.recording() as calls:
        locked = run_playbook(local_cloud, "playbooks/teardown.yml", extra_vars=delete_data, json_output=False)
    assert locked.returncode != 0
    assert ("rnaseq-hipaa-data-bucket-audit-logs is under Object Lock in governance mode: its object versions go only "
            "with -e teardown_bypass_governance_retention=true") in " ".join(locked.stdout.split())
    assert writes(calls) == [] and calls, "refused before any deletion"
    assert buckets <= {b["Name"] for b in s3.list_buckets()["Buckets"]}

    data = run_playbook(local_cloud, "playbooks/teardown.yml",
                        extra_vars={**delete_data, "teardown_bypass_governance_retention": True})
    assert data.ok, data.explain()
    assert local_cloud.client("s3").list_buckets()["Buckets"] == []
    assert local_cloud.client("cloudtrail").describe_trails()["trailList"] == []
    assert local_cloud.client("logs").describe_log_groups()["logGroups"] == []
    backup = local_cloud.client("backup")
    assert backup.list_backup_plans()["BackupPlansList"] == [] and backup.list_backup_vaults()["BackupVaultList"] == []
    assert "rnaseq-backup-role" not in {r["RoleName"] for r in local_cloud.client("iam").list_roles()["Roles"]}
    kms = local_cloud.client("kms")
    assert {kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] for alias in ("alias/rnaseq-pipeline", "alias/rnaseq-audit")} \
        == {"PendingDeletion"}

    again = run_playbook(local_cloud, "playbooks/teardown.yml", extra_vars=delete_data)
    assert again.ok and again.changed == 0, again.changed_tasks()
