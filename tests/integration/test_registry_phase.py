"""The registry phase against the local cloud: moto's ECR control API plus a
real OCI registry on loopback as its data plane."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from support.api_calls import writes
from support.cloud import REPO, run_playbook

# The stand-in upstream images the local cloud seeds: name -> repository:tag.
UPSTREAM = dict(line.split()[0::2] for line in (REPO / "scripts" / "local-cloud-images.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
IMAGES = list(UPSTREAM)
FAKE_SCANNER = str(REPO / "tests" / "support" / "bin")


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    for playbook in ("playbooks/identity.yml", "playbooks/storage.yml", "playbooks/registry.yml"):
        run = run_playbook(local_cloud, playbook)
        assert run.ok, run.explain()
    return run


@pytest.fixture(scope="module")
def ecr(local_cloud):
    return local_cloud.client("ecr")


def key_arn(local_cloud):
    kms = local_cloud.client("kms")
    key_id = next(a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/rnaseq-pipeline")
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


def test_every_repository_scans_on_push_is_immutable_and_encrypted_with_the_pipeline_key(local_cloud, converged, ecr):
    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert sorted(repositories) == sorted(f"rnaseq/{name}" for name in IMAGES)
    for repository in repositories.values():
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": key_arn(local_cloud)}


def test_every_repository_has_a_lifecycle_and_a_policy_admitting_only_named_principals(local_cloud, converged, ecr):
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    for name in IMAGES:
        rules = json.loads(ecr.get_lifecycle_policy(repositoryName=f"rnaseq/{name}")["lifecyclePolicyText"])["rules"]
        assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
        policy = json.loads(ecr.get_repository_policy(repositoryName=f"rnaseq/{name}")["policyText"])
        statements = {s["Sid"]: s for s in policy["Statement"]}
        assert statements["PipelineRolesPull"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
            f"arn:aws:iam::{account}:role/rnaseq-batch-instance-role"]
        assert "ecr:PutImage" not in statements["PipelineRolesPull"]["Action"]
        assert f"arn:aws:iam::{account}:user/example-admin" in statements["PushersPullAndPush"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
        deny = statements["DenyImageAccessToEveryoneElse"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"} and "ecr:BatchGetImage" in deny["Action"]


def test_the_registry_holds_every_image_under_its_release_and_digest_tags(local_cloud, converged):
    catalog = local_cloud.registry_get("/v2/_catalog")["repositories"]
    references = json.loads((REPO / "reports" / "local" / "images.json").read_text())
    for name in IMAGES:
        assert f"rnaseq/{name}" in catalog
        reference = references[f"rnaseq/{name}"]
        host_name, digest = reference.split("@")
        assert host_name == f"{local_cloud.registry}/rnaseq/{name}" and digest.startswith("sha256:")
        tags = local_cloud.registry_get(f"/v2/rnaseq/{name}/tags/list")["tags"]
        assert f"sha256-{digest.split(':')[1]}" in tags and len(tags) == 2
        # The digest is the source's: the stand-in upstream image, preserved.
        upstream = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                   f"docker://{local_cloud.registry}/{UPSTREAM[name]}"], capture_output=True, check=True)
        assert digest == "sha256:" + hashlib.sha256(upstream.stdout).hexdigest()


def test_a_second_run_copies_nothing_and_writes_nothing(local_cloud, converged):
    uploads = len(local_cloud.registry_uploads())
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/registry.yml")
    assert run.ok and run.changed == 0, run.changed_tasks()
    assert writes(calls) == []
    assert len(local_cloud.registry_uploads()) == uploads, "no blob or manifest was written"


def test_check_mode_writes_nothing_to_aws_or_the_registry(local_cloud, converged):
    uploads = len(local_cloud.registry_uploads())
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/registry.yml", "--check", "--diff")
    assert run.ok and run.changed == 0, run.changed_tasks()
    assert writes(calls) == []
    assert len(local_cloud.registry_uploads()) == uploads


def test_images_from_archives_and_oci_layouts_are_pushed_too(local_cloud, converged, tmp_path):
    layout = tmp_path / "layout"
    subprocess.run([str(REPO / "scripts" / "make-oci-image"), "--out", str(layout), "--name", "qc", "--version", "1.0"], check=True,
                   capture_output=True)
    archive = tmp_path / "qc.tar"
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}", f"docker-archive:{archive}:qc:1.0"], check=True)
    images = [{"name": "qc-layout", "tag": "1.0", "source": f"oci:{layout}"},
              {"name": "qc-archive", "tag": "1.0", "source": f"docker-archive:{archive}"}]
    run = run_playbook(local_cloud, "playbooks/registry.yml", extra_vars={"registry_images": images})
    assert run.ok, run.explain()
    assert [name.split(" | ")[0] for name in run.changed_tasks()] == [
        "Step 1: Create ECR Repository", "Steps 6-8: Push", "Steps 6-8: Push"]
    assert [i["pushed"] for i in next(r for n, r in run._task_results() if n.startswith("Steps 6-8: Push | Scan"))["images"]] == [True, True]
    again = run_playbook(local_cloud, "playbooks/registry.yml", extra_vars={"registry_images": images})
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert {"rnaseq/qc-layout", "rnaseq/qc-archive"} <= set(local_cloud.registry_get("/v2/_catalog")["repositories"])


def test_a_release_tag_never_moves(local_cloud, converged, tmp_path):
    layout = tmp_path / "other"
    subprocess.run([str(REPO / "scripts" / "make-oci-image"), "--out", str(layout), "--name", "fastqc", "--version", "9.9"],
                   check=True, capture_output=True)
    uploads = len(local_cloud.registry_uploads())
    run = run_playbook(local_cloud, "playbooks/registry.yml", "--tags", "images", json_output=False,
                       extra_vars={"registry_images": [{"name": "fastqc", "tag": "0.12.1", "source": f"oci:{layout}"}]})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "Release tags never move" in output and "rnaseq/fastqc:0.12.1 holds sha256:" in output
    assert len(local_cloud.registry_uploads()) == uploads


def test_the_scan_gate_blocks_a_push_naming_the_image_and_its_cves(local_cloud, converged, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2099-0001", "Severity": "CRITICAL", "PkgName": "openssl"},
        {"VulnerabilityID": "CVE-2099-0002", "Severity": "HIGH", "PkgName": "zlib"}]}]}))
    layout = tmp_path / "vulnerable"
    subprocess.run([str(REPO / "scripts" / "make-oci-image"), "--out", str(layout), "--name", "vuln", "--version", "1"],
                   check=True, capture_output=True)
    log = tmp_path / "trivy.log"
    uploads = len(local_cloud.registry_uploads())
    run = run_playbook(local_cloud, "playbooks/registry.yml", "--tags", "images", json_output=False,
                       extra_vars={"registry_images": [{"name": "vulnerable", "tag": "1", "source": f"oci:{layout}"}]},
                       env={"PATH": f"{FAKE_SCANNER}:{os.environ['PATH']}", "FAKE_TRIVY_REPORT": str(report),
                            "FAKE_TRIVY_LOG": str(log)})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "Scan gate: findings at or above CRITICAL block the push; nothing was pushed" in output, run.explain()
    assert "rnaseq/vulnerable:1" in output and "CVE-2099-0001 (CRITICAL, openssl)" in output
    assert "CVE-2099-0002" not in output, "below the threshold"
    assert len(local_cloud.registry_uploads()) == uploads, "the push never happened"
    scanned = [json.loads(line) for line in log.read_text().splitlines()]
    assert scanned and "--input" in scanned[0] and "CRITICAL" in scanned[0][scanned[0].index("--severity") + 1]


def test_a_clean_scan_lets_the_push_through(local_cloud, converged, tmp_path):
    layout = tmp_path / "clean"
    subprocess.run([str(REPO / "scripts" / "make-oci-image"), "--out", str(layout), "--name", "clean", "--version", "1"],
                   check=True, capture_output=True)
    log = tmp_path / "trivy.log"
    run = run_playbook(local_cloud, "playbooks/registry.yml", "--tags", "images",
                       extra_vars={"registry_images": [{"name": "clean", "tag": "1", "source": f"oci:{layout}"}]},
                       env={"PATH": f"{FAKE_SCANNER}:{os.environ['PATH']}", "FAKE_TRIVY_LOG": str(log)})
    assert run.ok and run.changed >= 1, run.explain()
    assert log.read_text(), "the scanner ran"


def test_without_a_scanner_the_gate_fails_closed_where_required(local_cloud, converged, tmp_path):
    layout = tmp_path / "unscanned"
    subprocess.run([str(REPO / "scripts" / "make-oci-image"), "--out", str(layout), "--name", "unscanned", "--version", "1"],
                   check=True, capture_output=True)
    run = run_playbook(local_cloud, "playbooks/registry.yml", "--tags", "images", json_output=False,
                       extra_vars={"registry_images": [{"name": "unscanned", "tag": "1", "source": f"oci:{layout}"}],
                                   "registry_scanner": "no-such-scanner", "registry_scan_required": True})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "the scan gate fails closed; nothing was pushed" in output, run.explain()
    assert "rnaseq/unscanned" not in local_cloud.registry_get("/v2/_catalog")["repositories"]


def test_an_unreachable_source_fails_the_run_with_one_message_naming_it(local_cloud, converged):
    # Two sources on a port nothing listens on: read in parallel, they fail
    # in one message, not in one result per thread.
    images = [{"name": name, "tag": "1", "source": f"docker://127.0.0.1:9/biocontainers/{name}:1"} for name in ("gone", "lost")]
    uploads = len(local_cloud.registry_uploads())
    run = run_playbook(local_cloud, "playbooks/registry.yml", "--tags", "images", extra_vars={"registry_images": images,
                                                                                             "registry_source_tls_verify": False})
    assert not run.ok
    (message,) = run.failure_messages()
    assert "deserialization" not in run.stdout + run.stderr
    assert message.startswith("Cannot read the source image docker://127.0.0.1:9/biocontainers/gone:1: ") and \
        "Cannot read the source image docker://127.0.0.1:9/biocontainers/lost:1: " in message and message.endswith("; nothing was pushed")
    assert "connection refused" in message and "\n" not in message
    assert len(local_cloud.registry_uploads()) == uploads
