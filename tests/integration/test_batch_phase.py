"""The batch phase against the local cloud, after the phases it builds on.

The emulator runs no jobs (that needs Docker); the phase is proven by the
resources it creates, as boto3 sees them. playbooks/smoke.yml runs a real
job on AWS.
"""

from __future__ import annotations

import base64
import json

import pytest

from support.api_calls import writes
from support.cloud import REPO, run_playbook
from support.refusals import assert_refused

STEPS = {"rnaseq-fastqc": "fastqc", "rnaseq-star-align": "star", "rnaseq-salmon-quant": "salmon",
         "rnaseq-featurecounts": "subread", "rnaseq-multiqc": "multiqc"}
BUCKET = "rnaseq-hipaa-data-bucket"


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    for playbook in ("network", "identity", "storage", "registry", "batch"):
        run = run_playbook(local_cloud, f"playbooks/{playbook}.yml")
        assert run.ok, run.explain()
    return run


@pytest.fixture(scope="module")
def batch(local_cloud):
    return local_cloud.client("batch")


def tagged_ids(local_cloud, kind, names):
    ec2 = local_cloud.client("ec2")
    describe = {"subnet": (ec2.describe_subnets, "Subnets", "SubnetId"),
                "sg": (ec2.describe_security_groups, "SecurityGroups", "GroupId")}[kind]
    items = describe[0](Filters=[{"Name": "tag:Name", "Values": names}])[describe[1]]
    return sorted(item[describe[2]] for item in items)


def key_arn(local_cloud):
    return local_cloud.client("kms").describe_key(KeyId="alias/rnaseq-pipeline")["KeyMetadata"]["Arn"]


def image_references():
    return json.loads((REPO / "reports" / "local" / "images.json").read_text())


def test_compute_environments_are_private_with_the_compute_group_only_and_scale_to_zero(local_cloud, converged, batch):
    private = tagged_ids(local_cloud, "subnet", ["rna-seq-private-subnet-az1", "rna-seq-private-subnet-az2"])
    (compute_sg,) = tagged_ids(local_cloud, "sg", ["rna-seq-compute-sg"])
    environments = {ce["computeEnvironmentName"]: ce for ce in batch.describe_compute_environments()["computeEnvironments"]}
    assert sorted(environments) == ["rnaseq-on-demand", "rnaseq-spot"]
    for environment in environments.values():
        resources = environment["computeResources"]
        assert environment["state"] == "ENABLED" and environment["type"] == "MANAGED"
        assert sorted(resources["subnets"]) == private
        assert resources["securityGroupIds"] == [compute_sg]
        assert resources["minvCpus"] == 0
        assert resources["ec2Configuration"] == [{"imageType": "ECS_AL2023"}]
        assert resources["launchTemplate"] == {"launchTemplateName": "rnaseq-batch-instances", "version": "$Latest"}
        assert resources["instanceTypes"] == ["c6i", "m6i", "r6i"]
    assert environments["rnaseq-on-demand"]["computeResources"]["type"] == "EC2"
    spot = environments["rnaseq-spot"]["computeResources"]
    assert spot["type"] == "SPOT" and spot["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert spot["spotIamFleetRole"].endswith(":role/rnaseq-batch-spot-fleet-role")


def test_the_launch_template_requires_imdsv2_and_encrypts_volumes_with_the_pipeline_key(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    (version,) = ec2.describe_launch_template_versions(LaunchTemplateName="rnaseq-batch-instances")["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert "NetworkInterfaces" not in data, "no public IP: the private subnets assign none"
    (volume,) = data["BlockDeviceMappings"]
    assert volume["Ebs"]["Encrypted"] is True and volume["Ebs"]["KmsKeyId"] == key_arn(local_cloud)
    assert volume["Ebs"]["VolumeType"] == "gp3"
    user_data = base64.b64decode(data["UserData"]).decode()
    assert "://" not in user_data and "curl" not in user_data and "yum" not in user_data


def test_the_queues_are_enabled_priority_on_demand_default_spot_first(converged, batch):
    queues = {q["jobQueueName"]: q for q in batch.describe_job_queues()["jobQueues"]}
    order = {name: [o["computeEnvironment"].rsplit("/", 1)[-1] for o in sorted(q["computeEnvironmentOrder"], key=lambda o: o["order"])]
             for name, q in queues.items()}
    assert order == {"rnaseq-priority": ["rnaseq-on-demand"], "rnaseq-default": ["rnaseq-spot", "rnaseq-on-demand"]}
    assert all(q["state"] == "ENABLED" for q in queues.values())
    assert queues["rnaseq-priority"]["priority"] > queues["rnaseq-default"]["priority"]


def test_each_step_has_a_digest_pinned_unprivileged_job_definition_with_its_role_and_logs(local_cloud, converged, batch):
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    references = image_references()
    for name, image in STEPS.items():
        (definition,) = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")["jobDefinitions"]
        container = definition["containerProperties"]
        assert container["image"] == references[f"rnaseq/{image}"] and "@sha256:" in container["image"]
        assert container["jobRoleArn"] == f"arn:aws:iam::{account}:role/rnaseq-batch-job-role"
        assert container["logConfiguration"]["logDriver"] == "awslogs"
        assert container["logConfiguration"]["options"]["awslogs-group"] == "/aws/batch/rnaseq"
        assert container["privileged"] is False
        assert container["readonlyRootFilesystem"] is (name != "rnaseq-multiqc")
        assert definition["timeout"]["attemptDurationSeconds"] >= 60
        assert [e["action"].upper() for e in definition["retryStrategy"]["evaluateOnExit"]] == ["RETRY", "EXIT"]


def test_the_log_group_is_encrypted_with_the_pipeline_key_and_kept_a_year(local_cloud, converged):
    (group,) = local_cloud.client("logs").describe_log_groups(logGroupNamePrefix="/aws/batch/rnaseq")["logGroups"]
    assert group["kmsKeyId"] == key_arn(local_cloud) and group["retentionInDays"] == 365


def test_iam_gives_each_role_only_what_it_needs(local_cloud, converged):
    iam = local_cloud.client("iam")

    def managed(role):
        return sorted(p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"])

    assert managed("rnaseq-batch-instance-role") == ["AmazonEC2ContainerServiceforEC2Role", "AmazonSSMManagedInstanceCore"]
    assert managed("rnaseq-batch-service-role") == ["AWSBatchServiceRole"]
    assert managed("rnaseq-batch-job-role") == []
    profile = iam.get_instance_profile(InstanceProfileName="rnaseq-batch-instance-role")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["rnaseq-batch-instance-role"]
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    trust = iam.get_role(RoleName="rnaseq-batch-job-role")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    # ECS may assume it for this account's tasks here only (confused-deputy conditions).
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": account},
                                  "ArnLike": {"aws:SourceArn": [f"arn:aws:ecs:{local_cloud.region}:{account}:*"]}}
    (policy_name,) = iam.list_role_policies(RoleName="rnaseq-batch-job-role")["PolicyNames"]
    document = iam.get_role_policy(RoleName="rnaseq-batch-job-role", PolicyName=policy_name)["PolicyDocument"]
    resources = json.dumps([s["Resource"] for s in document["Statement"]])
    assert f"arn:aws:s3:::{BUCKET}/raw-data/*" in resources and f"arn:aws:s3:::{BUCKET}/results/*" in resources
    assert '"*"' not in resources


def test_the_nextflow_configuration_runs_each_step_on_its_own_definition_with_the_job_role(local_cloud, converged):
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    nextflow = (REPO / "reports" / "local" / "nextflow.config").read_text()
    assert "executor = 'awsbatch'" in nextflow and "queue = 'rnaseq-default'" in nextflow
    assert f"workDir = 's3://{BUCKET}/results/work/'" in nextflow and "region = 'us-east-1'" in nextflow
    assert f"jobRole = 'arn:aws:iam::{account}:role/rnaseq-batch-job-role'" in nextflow
    for name in STEPS:
        assert f"container = 'job-definition://{name}'" in nextflow
    assert "@sha256:" not in nextflow, "images are pinned in the job definitions, not here"
    assert oct((REPO / "reports" / "local" / "nextflow.config").stat().st_mode & 0o777) == "0o600"


def test_the_head_runs_nextflow_by_digest_with_the_head_role_and_the_configuration_in_its_definition(local_cloud, converged, batch):
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    (head,) = batch.describe_job_definitions(jobDefinitionName="rnaseq-nextflow-head", status="ACTIVE")["jobDefinitions"]
    container = head["containerProperties"]
    assert container["image"] == image_references()["rnaseq/nextflow"] and "@sha256:" in container["image"]
    assert container["jobRoleArn"] == f"arn:aws:iam::{account}:role/rnaseq-batch-head-role"
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["TOOLKIT_NEXTFLOW_CONFIG"] == (REPO / "reports" / "local" / "nextflow.config").read_text()
    assert environment["NXF_OFFLINE"] == "true" and environment["TOOLKIT_LOG_PREFIX"] == f"s3://{BUCKET}/logs/nextflow/"
    assert container["command"][:2] == ["bash", "-c"] and container["command"][3:] == [
        "nextflow-head", "Ref::workflow", "Ref::params", "Ref::run"]
    assert container["privileged"] is False
    # The instances' AWS CLI, which Nextflow's task wrapper stages files with, is in every definition.
    for name in [*STEPS, "rnaseq-nextflow-head"]:
        (definition,) = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")["jobDefinitions"]
        assert {"sourceVolume": "aws-cli", "containerPath": "/home/ec2-user/miniconda", "readOnly": True} in \
            definition["containerProperties"]["mountPoints"], name


def test_the_head_role_submits_and_registers_nothing_of_its_own(local_cloud, converged):
    iam = local_cloud.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName="rnaseq-batch-head-role")["PolicyNames"]
    document = iam.get_role_policy(RoleName="rnaseq-batch-head-role", PolicyName=policy_name)["PolicyDocument"]
    actions = {a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "batch:SubmitJob" in actions and not actions & {"batch:RegisterJobDefinition", "iam:PassRole"}


def test_a_second_run_changes_nothing_and_registers_no_revision(local_cloud, converged, batch):
    with local_cloud.recording() as calls:
        again = run_playbook(local_cloud, "playbooks/batch.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert writes(calls) == []
    for name in [*STEPS, "rnaseq-nextflow-head"]:
        revisions = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]
        assert [d["revision"] for d in revisions] == [1]


def test_check_mode_writes_nothing(local_cloud, converged):
    with local_cloud.recording() as calls:
        check = run_playbook(local_cloud, "playbooks/batch.yml", "--check", "--diff")
    assert check.ok and check.changed == 0, check.changed_tasks()
    assert calls and writes(calls) == []


def test_a_changed_step_registers_one_revision_and_is_shown_in_check_mode_first(local_cloud, converged, batch):
    jobs = run_playbook(local_cloud, "playbooks/batch.yml", "--tags", "job_definitions", "--check", "--diff", json_output=False,
                        extra_vars={"batch_job_retry_attempts": 5})
    assert jobs.ok and "attempts" in jobs.stdout, jobs.explain()
    assert [d["revision"] for d in batch.describe_job_definitions(jobDefinitionName="rnaseq-fastqc")["jobDefinitions"]] == [1]
    run = run_playbook(local_cloud, "playbooks/batch.yml", "--tags", "job_definitions", extra_vars={"batch_job_retry_attempts": 5})
    assert run.ok and run.changed == 1, run.explain()
    latest = batch.describe_job_definitions(jobDefinitionName="rnaseq-fastqc", status="ACTIVE")["jobDefinitions"]
    assert max(d["revision"] for d in latest) == 2
    restored = run_playbook(local_cloud, "playbooks/batch.yml", "--tags", "job_definitions")
    assert restored.ok and restored.changed == 1


def test_a_changed_configuration_registers_a_new_revision_of_the_head_only(local_cloud, converged, batch):
    steps = batch.describe_job_definitions(jobDefinitionName="rnaseq-fastqc")["jobDefinitions"]
    before = max(d["revision"] for d in batch.describe_job_definitions(jobDefinitionName="rnaseq-nextflow-head")["jobDefinitions"])
    run = run_playbook(local_cloud, "playbooks/batch.yml", "--tags", "workflow_engines", extra_vars={"batch_work_prefix": "results/work2/"})
    assert run.ok and run.changed == 2, run.changed_tasks()
    head = max(batch.describe_job_definitions(jobDefinitionName="rnaseq-nextflow-head", status="ACTIVE")["jobDefinitions"],
               key=lambda d: d["revision"])
    assert head["revision"] == before + 1 and "results/work2/" in json.dumps(head["containerProperties"]["environment"])
    restored = run_playbook(local_cloud, "playbooks/batch.yml", "--tags", "workflow_engines")
    assert restored.ok and restored.changed == 2
    assert batch.describe_job_definitions(jobDefinitionName="rnaseq-fastqc")["jobDefinitions"] == steps, "no step was registered again"


def test_batch_refuses_roles_the_live_key_policy_does_not_name(local_cloud, converged):
    """The inventory names the head role among the key's users, but storage last ran without it: the key's
    policy, read live, would refuse the head's jobs, so batch stops before any change."""
    head_arn = local_cloud.client("iam").get_role(RoleName="rnaseq-batch-head-role")["Role"]["Arn"]
    narrowed = run_playbook(local_cloud, "playbooks/storage.yml", "--tags", "key",
                            extra_vars={"storage_key_user_role_names": ["rnaseq-batch-job-role"]})
    assert narrowed.ok and narrowed.changed == 1, narrowed.explain()
    policy = json.loads(local_cloud.client("kms").get_key_policy(KeyId=key_arn(local_cloud), PolicyName="default")["Policy"])
    assert head_arn not in json.dumps(policy)

    assert_refused(local_cloud, "playbooks/batch.yml", {},
                   "The pipeline key's policy does not let rnaseq-batch-head-role use it: run playbooks/storage.yml")

    restored = run_playbook(local_cloud, "playbooks/storage.yml", "--tags", "key")
    assert restored.ok and restored.changed == 1, restored.explain()
    again = run_playbook(local_cloud, "playbooks/batch.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()


def test_the_smoke_test_refuses_the_emulator_unless_told_and_then_reports_the_failed_job(local_cloud, converged, batch):
    assert_refused(local_cloud, "playbooks/smoke.yml", {}, "smoke.yml runs a real job on the synthetic data set")
    # The synthetic data set, uploaded with the bucket policy lifted: this local
    # cloud speaks plain HTTP, and the policy refuses every object call without TLS.
    local_cloud.client("s3").delete_bucket_policy(Bucket=BUCKET)
    assert run_playbook(local_cloud, "playbooks/storage.yml", extra_vars={"storage_synthetic_data": True}).ok
    # The emulator accepts the job but cannot start a container: the run must
    # say the job failed, and still deregister its job definition.
    run = run_playbook(local_cloud, "playbooks/smoke.yml", extra_vars={"smoke_allow_emulator": True}, json_output=False)
    assert run.returncode != 0
    assert " FAILED: " in run.stdout and "smoke-fastqc-" in run.stdout and "Traceback" not in run.stdout + run.stderr
    (job_id,) = [line.split("(")[1].split(")")[0] for line in run.stdout.splitlines() if "FAILED: " in line and "[ERROR]" in line]
    (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
    assert job["jobQueue"].endswith(":job-queue/rnaseq-priority") and job["status"] == "FAILED"
    assert batch.describe_job_definitions(jobDefinitionName="rnaseq-smoke-fastqc", status="ACTIVE")["jobDefinitions"] == []
