"""Production, as it runs: inventories/local-production on a local cloud that
serves TLS and enforces IAM, each principal holding only its own policy.

- the deployer holds only docs/iam/deployer-policy.json, plans the whole
  site on the empty account without a write, and converges it, twice (the
  second run changes and writes nothing);
- the auditor holds only docs/iam/auditor-policy.json, and verify passes;
- a deployer without one action is stopped by one line naming it;
- a pipeline operator launches a run and can do nothing it does not need;
- the job role and the head role, assumed through STS as Batch would, reach
  their inputs, results, key and logs, and nothing else.

The emulator evaluates the data bucket's policy (TLS, encryption headers,
the fence) for every call on the bucket and its objects; a request that
stands for one made from inside the VPC, through its S3 endpoint, says so
with the header X-Local-Cloud-Source-Vpc (scripts/local-cloud-emulator).

Who audits is the one fact of this account the inventory cannot know: the
runs name the auditor as a reader of the fenced bucket's settings
(storage_bucket_reader_arns), as a production inventory names its own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import botocore.exceptions
import pytest

from support.api_calls import writes
from support.cloud import REPO, LocalCloud, run_playbook

INVENTORY = "inventories/local-production"
BUCKET = "rnaseq-hipaa-data-bucket"
DEPLOYER = json.loads((REPO / "docs" / "iam" / "deployer-policy.json").read_text())
AUDITOR = json.loads((REPO / "docs" / "iam" / "auditor-policy.json").read_text())


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("production-cloud"), tls=True).start()
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def principals(cloud):
    """The deployer's and the auditor's credentials, made before IAM is enforced."""
    return {"deployer": cloud.user_with_policy("deployer", DEPLOYER),
            "auditor": cloud.user_with_policy("auditor", AUDITOR)}


@pytest.fixture(scope="module")
def arns(cloud, principals):
    iam = cloud.client("iam")
    return {name: iam.get_user(UserName=name)["User"]["Arn"] for name in principals}


@pytest.fixture(scope="module")
def site_vars(arns):
    return {"storage_bucket_reader_arns": [arns["auditor"]]}


@pytest.fixture(scope="module")
def planned(cloud, principals, site_vars):
    """The deployer's plan of the whole site on the empty account, and the calls it made."""
    with cloud.iam_enforced(), cloud.recording() as calls:
        plan = run_playbook(cloud, "playbooks/site.yml", "--check", "--diff", inventory=INVENTORY, env=principals["deployer"],
                            extra_vars=site_vars)
    return plan, calls


@pytest.fixture(scope="module")
def converged(cloud, principals, planned, site_vars):
    with cloud.iam_enforced():
        first = run_playbook(cloud, "playbooks/site.yml", inventory=INVENTORY, env=principals["deployer"], extra_vars=site_vars)
    assert first.ok, first.explain()
    return first


def denied(call):
    """Whether a call is refused for want of permission."""
    try:
        call()
    except botocore.exceptions.ClientError as error:
        return error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation")
    return False


def from_the_vpc(client, vpc_id):
    """The client's S3 calls stand for calls made through the production VPC's endpoint."""
    client.meta.events.register("before-sign.s3.*", lambda request, **_: request.headers.add_header("X-Local-Cloud-Source-Vpc", vpc_id))
    return client


@pytest.fixture(scope="module")
def vpc_id(cloud, converged):
    (vpc,) = cloud.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["rna-seq-hipaa-vpc"]}])["Vpcs"]
    return vpc["VpcId"]


@pytest.fixture(scope="module")
def key_arn(cloud, converged):
    return cloud.client("kms").describe_key(KeyId="alias/rnaseq-pipeline")["KeyMetadata"]["Arn"]


def test_the_deployer_alone_plans_the_whole_site_on_an_empty_account_without_a_write(planned):
    plan, calls = planned
    assert plan.ok, plan.explain()
    assert plan.changed > 0
    assert calls and writes(calls) == [], "plan mode sends no write call"


def test_the_deployer_alone_converges_the_site_and_a_second_run_changes_and_writes_nothing(cloud, principals, converged, site_vars,
                                                                                           arns):
    with cloud.iam_enforced(), cloud.recording() as calls:
        again = run_playbook(cloud, "playbooks/site.yml", inventory=INVENTORY, env=principals["deployer"], extra_vars=site_vars)
    assert again.ok and again.changed == 0, again.changed_tasks() or again.explain()
    assert calls and writes(calls) == []
    mine = [a for a in cloud.authorizations() if a["principal"].endswith(":user/deployer")]
    assert mine and all(a["allowed"] for a in mine), [a for a in mine if not a["allowed"]]
    # Production's settings held: the bucket is fenced to the VPC. Nobody but
    # AWS Backup's role reaches its objects from outside; the deployer may
    # change its settings, and read them from outside with the auditor and
    # AWS Config's role. (The root user reads the policy: S3 never refuses it that.)
    statements = {s["Sid"]: s for s in json.loads(cloud.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]}
    config_role = arns["auditor"].replace(":user/auditor", ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
    backup_role = arns["auditor"].replace(":user/auditor", ":role/rnaseq-backup-role")
    assert statements["DenyObjectAccessFromOutsideTheVpc"]["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": [backup_role]}
    assert statements["DenyBucketAccessFromOutsideTheVpc"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == sorted(
        [arns["deployer"], arns["auditor"], backup_role, config_role])
    assert statements["DenyBucketConfigurationChanges"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": sorted([arns["deployer"], backup_role])}}
    # Backed up as production keeps it: six years, in a vault locked in governance mode.
    backup = cloud.client("backup")
    vault = backup.describe_backup_vault(BackupVaultName="rnaseq-backup-vault")
    assert vault["Locked"] is True and vault["MinRetentionDays"] == 2190 and "LockDate" not in vault
    (plan,) = backup.list_backup_plans()["BackupPlansList"]
    (rule,) = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]
    assert rule["Lifecycle"]["DeleteAfterDays"] == 2190


def test_the_bucket_fence_holds_for_every_call_and_its_settings_answer_to_the_deployer_alone(cloud, principals, converged, vpc_id):
    job = cloud.assume_role("rnaseq-batch-job-role")
    with cloud.iam_enforced():
        from_the_vpc(cloud.client("s3", job), vpc_id).list_objects_v2(Bucket=BUCKET, Prefix="raw-data/")
        assert denied(lambda: cloud.client("s3", job).list_objects_v2(Bucket=BUCKET, Prefix="raw-data/")), "outside the VPC"
        assert cloud.client("s3", principals["deployer"]).get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    # AWS Backup reads the objects from AWS's network, with its role, and may change no setting but its own.
    backup = cloud.client("s3", cloud.assume_role("rnaseq-backup-role"))
    with cloud.iam_enforced():
        assert backup.get_object(Bucket=BUCKET, Key="raw-data/")["ServerSideEncryption"] == "aws:kms"
        assert backup.list_object_versions(Bucket=BUCKET, Prefix="raw-data/")["Versions"]
        assert denied(lambda: backup.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}))
        assert denied(lambda: backup.put_object(Bucket=BUCKET, Key="raw-data/planted", Body=b"x"))
    # The account's root user, whom IAM refuses nothing: only the bucket policy stands in its way.
    root, inside = cloud.client("s3"), from_the_vpc(cloud.client("s3"), vpc_id)
    assert denied(lambda: root.list_objects_v2(Bucket=BUCKET))
    assert denied(lambda: root.get_bucket_versioning(Bucket=BUCKET))
    assert inside.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert denied(lambda: inside.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}))
    assert denied(lambda: inside.delete_bucket_lifecycle(Bucket=BUCKET))
    assert denied(lambda: inside.put_bucket_replication(Bucket=BUCKET, ReplicationConfiguration={
        "Role": "arn:aws:iam::111111111111:role/elsewhere",
        "Rules": [{"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::elsewhere"}}]}))
    assert root.get_bucket_policy(Bucket=BUCKET)["Policy"], "S3 never refuses the root user its bucket's policy"
    assert inside.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


def test_the_auditor_alone_verifies_every_control_and_may_change_nothing(cloud, principals, converged):
    with cloud.iam_enforced():
        verify = run_playbook(cloud, "playbooks/verify.yml", inventory=INVENTORY, env=principals["auditor"], json_output=False)
        assert verify.ok, verify.explain()
        assert denied(lambda: cloud.client("s3", principals["auditor"]).put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}))
        assert denied(lambda: cloud.client("ec2", principals["auditor"]).create_vpc(CidrBlock="10.9.0.0/16"))
    (passed, total), = re.findall(r"(\d+) of (\d+) controls pass", verify.stdout)
    assert passed == total and int(total) >= 60


def test_a_deployer_without_one_action_is_stopped_by_one_line_that_names_it(cloud, converged, site_vars):
    missing = "kms:GetKeyRotationStatus"
    partial = {**DEPLOYER, "Statement": [{**s, "Action": [a for a in s["Action"] if a != missing]} for s in DEPLOYER["Statement"]]}
    assert partial != DEPLOYER, f"{missing} is not in the deployer's policy"
    credentials = cloud.user_with_policy("deployer-without-one-action", partial)
    with cloud.iam_enforced():
        run = run_playbook(cloud, "playbooks/site.yml", inventory=INVENTORY, env=credentials, extra_vars=site_vars)
    assert not run.ok
    (message,) = run.failure_messages()
    assert "\n" not in message and f"is not authorized to perform {missing}" in message, message


def test_the_pipeline_operator_launches_a_run_and_reads_results_and_nothing_else(cloud, converged, vpc_id):
    operator = cloud.access_key("example-operator")
    with cloud.iam_enforced():
        batch = cloud.client("batch", operator)
        job = batch.submit_job(jobName="rnaseq-run-1", jobQueue="rnaseq-priority", jobDefinition="rnaseq-nextflow-head",
                               parameters={"workflow": f"s3://{BUCKET}/reference/workflows/rnaseq/",
                                           "params": f"s3://{BUCKET}/raw-data/run-1/params.yaml", "run": "run-1"})
        assert job["jobId"]
        assert batch.describe_jobs(jobs=[job["jobId"]])["jobs"][0]["jobDefinition"].endswith(":job-definition/rnaseq-nextflow-head:1")
        assert denied(lambda: batch.register_job_definition(jobDefinitionName="rnaseq-mine", type="container",
                                                            containerProperties={"image": "busybox", "vcpus": 1, "memory": 128}))
        s3 = from_the_vpc(cloud.client("s3", operator), vpc_id)
        assert s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")["KeyCount"] >= 1
        assert denied(lambda: cloud.client("s3", operator).list_objects_v2(Bucket=BUCKET, Prefix="results/")), "outside the VPC"
        assert denied(lambda: s3.get_object(Bucket=BUCKET, Key="raw-data/"))
        assert denied(lambda: s3.put_object(Bucket=BUCKET, Key="results/mine.txt", Body=b"x"))
        assert denied(lambda: cloud.client("iam", operator).create_user(UserName="mine"))


def test_the_job_role_reads_inputs_writes_results_with_the_pipeline_key_and_its_logs_and_nothing_else(cloud, converged, vpc_id,
                                                                                                     key_arn):
    # Batch gives each job its role's credentials from STS; so does the test.
    job = cloud.assume_role("rnaseq-batch-job-role")
    from_the_vpc(cloud.client("s3"), vpc_id).put_object(Bucket=BUCKET, Key="raw-data/run-1/sample_R1.fastq.gz", Body=b"@r1\nACGT\n",
                                                          ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
    with cloud.iam_enforced():
        s3 = from_the_vpc(cloud.client("s3", job), vpc_id)
        assert s3.get_object(Bucket=BUCKET, Key="raw-data/run-1/sample_R1.fastq.gz")["Body"].read() == b"@r1\nACGT\n"
        s3.put_object(Bucket=BUCKET, Key="results/run-1/fastqc.html", Body=b"<html/>", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        logs = cloud.client("logs", job)
        logs.create_log_stream(logGroupName="/aws/batch/rnaseq", logStreamName="fastqc/default/run-1")
        logs.put_log_events(logGroupName="/aws/batch/rnaseq", logStreamName="fastqc/default/run-1",
                            logEvents=[{"timestamp": 1, "message": "done"}])
        # Refused: outside the VPC (the fence), into its inputs, with another key, and Batch and IAM altogether.
        outside = cloud.client("s3", job)
        assert denied(lambda: outside.get_object(Bucket=BUCKET, Key="raw-data/run-1/sample_R1.fastq.gz"))
        assert denied(lambda: s3.put_object(Bucket=BUCKET, Key="raw-data/run-1/overwritten", Body=b"x"))
        assert denied(lambda: s3.put_object(Bucket=BUCKET, Key="results/run-1/aes.txt", Body=b"x", ServerSideEncryption="AES256"))
        assert denied(lambda: s3.list_objects_v2(Bucket=f"{BUCKET}-audit-logs"))
        assert denied(lambda: cloud.client("batch", job).submit_job(jobName="x", jobQueue="rnaseq-priority", jobDefinition="rnaseq-fastqc"))
        assert denied(lambda: cloud.client("iam", job).list_users())
    stored = from_the_vpc(cloud.client("s3"), vpc_id).head_object(Bucket=BUCKET, Key="results/run-1/fastqc.html")
    assert stored["ServerSideEncryption"] == "aws:kms" and stored["SSEKMSKeyId"] == key_arn


def test_the_head_role_submits_steps_with_the_toolkits_definitions_and_registers_none(cloud, converged, vpc_id):
    head = cloud.assume_role("rnaseq-batch-head-role")
    with cloud.iam_enforced():
        batch = cloud.client("batch", head)
        assert batch.submit_job(jobName="run-1-fastqc", jobQueue="rnaseq-default", jobDefinition="rnaseq-fastqc")["jobId"]
        assert denied(lambda: batch.register_job_definition(jobDefinitionName="nf-quay-io-biocontainers-fastqc", type="container",
                                                            containerProperties={"image": "quay.io/biocontainers/fastqc", "vcpus": 1,
                                                                                 "memory": 128}))
        s3 = from_the_vpc(cloud.client("s3", head), vpc_id)
        s3.put_object(Bucket=BUCKET, Key="logs/nextflow/run-1.log", Body=b"log")
        assert denied(lambda: s3.put_object(Bucket=BUCKET, Key="reference/workflows/rnaseq/main.nf", Body=b"x"))


def test_every_policy_the_converge_left_in_the_account_passes_the_policy_lint(cloud, converged, tmp_path):
    """The same lint `make lint` runs on the rendered policies, on the deployed ones: what the roles' plumbing made of them."""
    documents = {}
    s3, kms, iam = cloud.client("s3"), cloud.client("kms"), cloud.client("iam")
    for bucket in (BUCKET, f"{BUCKET}-access-logs", f"{BUCKET}-audit-logs"):
        documents[f"bucket--{bucket}"] = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    for alias in ("alias/rnaseq-pipeline", "alias/rnaseq-audit"):
        key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        documents[f"key--{alias[6:]}"] = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        documents[f"identity--{policy['PolicyName']}"] = version["Document"]
    roles = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(("rnaseq-", "rna-seq-"))]
    assert len(roles) >= 8
    for role in roles:
        documents[f"trust--{role['RoleName']}"] = role["AssumeRolePolicyDocument"]
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            documents[f"role--{role['RoleName']}"] = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
    documents["repository--rnaseq"] = json.loads(cloud.client("ecr").get_repository_policy(repositoryName="rnaseq/fastqc")["policyText"])
    topic = next(t["TopicArn"] for t in cloud.client("sns").list_topics()["Topics"] if t["TopicArn"].endswith(":rnaseq-security-alarms"))
    documents["topic--rnaseq-security-alarms"] = json.loads(cloud.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    for name, document in documents.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    lint = subprocess.run([sys.executable, str(REPO / "scripts" / "lint-policies"), *sorted(map(str, tmp_path.glob("*.json")))],
                          capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert f"{len(documents)} policies: 0 finding(s) above LOW" in lint.stderr
