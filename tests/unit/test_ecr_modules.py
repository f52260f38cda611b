"""ecr_repository and ecr_repository_info in-process against mock_aws, and the
scan gate's reading of a Trivy report."""

from __future__ import annotations

import json

import boto3
import pytest

from support.module_harness import load_module, module_client, run_module

ecr_repository = load_module("ecr_repository")
ecr_repository_info = load_module("ecr_repository_info")
ecr_image = load_module("ecr_image")
toolkit_registry = __import__("ansible.module_utils.toolkit_registry", fromlist=["repository_of"])

LIFECYCLE = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                                                          "countNumber": 7}, "action": {"type": "expire"}}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Sid": "Deny", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage"],
                                                  "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/rnaseq-*"]}}}]}


@pytest.fixture
def aws(mocked_aws):
    kms = boto3.client("kms", region_name="us-east-1")
    yield kms.create_key()["KeyMetadata"]["Arn"]


def spec(key, name="rnaseq/fastqc", **extra):
    return {"name": name, "encryption": {"type": "KMS", "kms_key": key}, "lifecycle_policy": json.dumps(LIFECYCLE),
            "repository_policy": json.dumps(POLICY), "tags": {"Project": "p"}, **extra}


def ecr():
    return module_client("ecr")


def test_check_mode_plans_repositories_without_creating_them(aws):
    result = run_module(ecr_repository, {"repositories": [spec(aws), spec(aws, "rnaseq/star")], "_ansible_check_mode": True})
    assert result["changed"] and [r["created"] for r in result["repositories"]] == [True, True]
    assert ecr().describe_repositories()["repositories"] == []


def test_a_list_of_repositories_is_created_in_one_call_and_is_idempotent(aws):
    first = run_module(ecr_repository, {"repositories": [spec(aws), spec(aws, "rnaseq/star")]})
    assert first["changed"] is True
    repository = ecr().describe_repositories(repositoryNames=["rnaseq/star"])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE" and repository["imageScanningConfiguration"]["scanOnPush"] is True
    assert repository["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": aws}
    assert json.loads(ecr().get_lifecycle_policy(repositoryName="rnaseq/star")["lifecyclePolicyText"]) == LIFECYCLE
    second = run_module(ecr_repository, {"repositories": [spec(aws), spec(aws, "rnaseq/star")]})
    assert second["changed"] is False and all(r["changed"] == [] for r in second["repositories"])


def test_drift_is_reported_with_a_diff_then_repaired(aws):
    run_module(ecr_repository, {"repositories": [spec(aws)]})
    client = ecr()
    client.put_image_tag_mutability(repositoryName="rnaseq/fastqc", imageTagMutability="MUTABLE")
    client.delete_lifecycle_policy(repositoryName="rnaseq/fastqc")
    client.tag_resource(resourceArn=client.describe_repositories()["repositories"][0]["repositoryArn"], tags=[{"Key": "x", "Value": "y"}])
    check = run_module(ecr_repository, {"repositories": [spec(aws)], "_ansible_check_mode": True, "_ansible_diff": True})
    assert sorted(check["repositories"][0]["changed"]) == ["lifecycle_policy", "tag_mutability", "tags"]
    assert check["diff"]["before"]["rnaseq/fastqc"]["tag_mutability"] == "MUTABLE"
    run_module(ecr_repository, {"repositories": [spec(aws)]})
    info = run_module(ecr_repository_info, {"names": ["rnaseq/fastqc", "rnaseq/none"]})["repositories"]
    assert info["rnaseq/fastqc"]["tag_mutability"] == "IMMUTABLE" and info["rnaseq/fastqc"]["lifecycle_policy"] == LIFECYCLE
    assert info["rnaseq/fastqc"]["tags"] == {"Project": "p"}
    assert info["rnaseq/none"] == {"exists": False}


def test_with_purge_tags_false_a_tag_set_by_hand_stays_and_a_missing_one_is_added(aws):
    run_module(ecr_repository, {"repositories": [spec(aws)]})
    client = ecr()
    arn = client.describe_repositories()["repositories"][0]["repositoryArn"]
    client.tag_resource(resourceArn=arn, tags=[{"Key": "CostCentre", "Value": "genomics"}])
    result = run_module(ecr_repository, {"repositories": [spec(aws, tags={"Project": "p", "Owner": "lab"}, purge_tags=False)]})
    assert result["repositories"][0]["changed"] == ["tags"]
    assert result["diff"]["after"]["rnaseq/fastqc"]["tags"] == {"Project": "p", "Owner": "lab", "CostCentre": "genomics"}
    assert {t["Key"]: t["Value"] for t in client.list_tags_for_resource(resourceArn=arn)["tags"]} == {
        "Project": "p", "Owner": "lab", "CostCentre": "genomics"}


def test_encryption_that_cannot_change_fails_before_any_change(aws):
    ecr().create_repository(repositoryName="rnaseq/salmon", encryptionConfiguration={"encryptionType": "AES256"})
    result = run_module(ecr_repository, {"repositories": [spec(aws, "rnaseq/new"), spec(aws, "rnaseq/salmon")]})
    assert result["failed"] is True
    assert "cannot change a repository's encryption" in result["msg"] and "rnaseq/salmon is encrypted with AES256" in result["msg"]
    assert [r["repositoryName"] for r in ecr().describe_repositories()["repositories"]] == ["rnaseq/salmon"], "nothing was created"


def test_absent_repositories_are_deleted(aws):
    run_module(ecr_repository, {"repositories": [spec(aws)]})
    result = run_module(ecr_repository, {"repositories": [{"name": "rnaseq/fastqc", "state": "absent"}]})
    assert result["changed"] and ecr().describe_repositories()["repositories"] == []


@pytest.mark.parametrize(
    "reference, repository",
    [
        ("docker://quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0", "docker://quay.io/biocontainers/fastqc"),
        ("docker://127.0.0.1:5501/ns/name@sha256:abc", "docker://127.0.0.1:5501/ns/name"),
        ("docker://127.0.0.1:5501/name", "docker://127.0.0.1:5501/name"),
    ],
)
def test_repositories_of_references(reference, repository):
    assert toolkit_registry.repository_of(reference) == repository


class ScannerModule:
    """What scan_findings needs of a module, with a recorded Trivy report as output."""

    def __init__(self, report):
        self.report, self.params, self.commands = report, {"scanner_args": ["--skip-db-update"], "source_tls_verify": True}, []

    def run_command(self, command):
        self.commands.append(command)
        return 0, json.dumps(self.report), ""

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


REPORT = {"Results": [
    {"Target": "alpine", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-1", "Severity": "CRITICAL", "PkgName": "openssl"},
        {"VulnerabilityID": "CVE-2", "Severity": "HIGH", "PkgName": "zlib"},
        {"VulnerabilityID": "CVE-3", "Severity": "LOW", "PkgName": "bash"}]},
    {"Target": "python", "Vulnerabilities": None}]}


def test_findings_at_or_above_the_threshold_block_and_the_rest_do_not():
    module = ScannerModule(REPORT)
    image = {"name": "rnaseq/fastqc", "copy_from": "docker://quay.io/biocontainers/fastqc:0.12.1"}
    assert ecr_image.scan_findings(module, "trivy", image, "CRITICAL", "/tmp") == ["CVE-1 (CRITICAL, openssl)"]
    assert ecr_image.scan_findings(module, "trivy", image, "HIGH", "/tmp") == ["CVE-1 (CRITICAL, openssl)", "CVE-2 (HIGH, zlib)"]
    command = module.commands[0]
    assert command[-1] == "quay.io/biocontainers/fastqc:0.12.1" and "--skip-db-update" in command
    assert command[command.index("--severity") + 1] == "CRITICAL"


def test_archives_are_scanned_as_input_files():
    module = ScannerModule({"Results": []})
    image = {"name": "rnaseq/star", "copy_from": "docker-archive:/srv/star.tar:star:1"}
    assert ecr_image.scan_findings(module, "trivy", image, "CRITICAL", "/tmp") == []
    assert module.commands[0][-2:] == ["--input", "/srv/star.tar"]


class _Module:
    params = {"skopeo": "skopeo", "tls_verify": True}

    def get_bin_path(self, name, required=False):
        return "/nonexistent/skopeo"  # the ECR path must not run skopeo

    def run_command(self, args, encoding=None):
        raise AssertionError(f"skopeo was run: {args}")


def test_on_ecr_a_tags_digest_is_read_with_describe_images_not_the_manifest(mocked_aws):
    # An auditor may describe images but not read manifests (ecr:BatchGetImage):
    # the repositories deny that to all but their pullers and pushers.
    from concurrent.futures import Future

    client = ecr()
    client.create_repository(repositoryName="rnaseq/fastqc")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": "sha256:" + "c" * 64, "size": 2}, "layers": []})
    digest = client.put_image(repositoryName="rnaseq/fastqc", imageManifest=manifest, imageTag="0.12.1")["image"]["imageId"]["imageDigest"]
    credentials = Future()
    credentials.set_result({"ecr": client, "host": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "is_ecr": True, "authfile": "/dev/null"})
    registry = toolkit_registry.Registry(_Module(), "/tmp", credentials)
    assert registry.digest_at("rnaseq/fastqc", "0.12.1") == digest
    assert registry.digest_at("rnaseq/fastqc", "9.9.9") is None
    assert registry.digest_at("rnaseq/missing", "0.12.1") is None
