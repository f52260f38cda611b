"""The local cloud's stand-in upstream images and the local inventory agree,
and the registry controls hold on state recorded from the local cloud."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from registry_controls import registry_controls

REPO = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "registry_state.json").read_text())


def test_every_local_image_comes_from_a_stand_in_the_local_cloud_seeds():
    seeded = {}
    for line in (REPO / "scripts" / "local-cloud-images.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version, reference = line.split()
            seeded[name] = (version, reference)
    local = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "main.yml").read_text())["registry_images"]
    assert {image["name"] for image in local} == set(seeded)
    for image in local:
        version, reference = seeded[image["name"]]
        assert str(image["tag"]) == version
        assert image["source"] == "docker://{{ toolkit_local_registry }}/" + reference


def upstream(source):
    """docker://host/repository:tag -> repository:tag"""
    return source.removeprefix("docker://").split("/", 1)[1]


def test_the_local_stand_ins_mirror_the_production_defaults():
    defaults = yaml.safe_load((REPO / "roles" / "registry" / "defaults" / "main.yml").read_text())["registry_images"]
    local = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "main.yml").read_text())["registry_images"]
    assert len(defaults) == len(local)
    for default, stand_in in zip(defaults, local):
        assert (default["name"], default["tag"]) == (stand_in["name"], stand_in["tag"])
        assert upstream(default["source"]) == upstream(stand_in["source"])


def failed(results):
    return sorted(r["id"] for r in results if r["status"] == "fail")


def test_the_recorded_registry_passes():
    assert failed(registry_controls(RECORDED["state"], RECORDED["baseline"])) == []


def test_each_repository_setting_is_checked():
    state = copy.deepcopy(RECORDED["state"])
    fastqc = state["repositories"]["rnaseq/fastqc"]
    fastqc.update(scan_on_push=False, tag_mutability="MUTABLE", lifecycle_policy=None, encryption={"type": "AES256", "kms_key": None})
    fastqc["repository_policy"] = {"Statement": [s for s in fastqc["repository_policy"]["Statement"] if s["Effect"] != "Deny"]}
    assert failed(registry_controls(state, RECORDED["baseline"])) == ["ECR-01", "ECR-02", "ECR-03", "ECR-04", "ECR-05"]


def test_a_repository_policy_that_names_its_pullers_by_pattern_fails_ecr_05():
    state = copy.deepcopy(RECORDED["state"])
    deny = next(st for st in state["repositories"]["rnaseq/star"]["repository_policy"]["Statement"] if st["Effect"] == "Deny")
    deny["Condition"] = {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/rnaseq-*"]}}
    results = registry_controls(state, RECORDED["baseline"])
    assert failed(results) == ["ECR-05"]
    assert next(r["found"] for r in results if r["id"] == "ECR-05") == (
        "rnaseq/star: names principals by pattern: arn:aws:iam::123456789012:role/rnaseq-*")


def test_a_deny_that_spares_no_one_by_name_fails_ecr_05():
    # ArnLike in the Deny denies the named principals, and spares everyone else.
    state = copy.deepcopy(RECORDED["state"])
    deny = next(st for st in state["repositories"]["rnaseq/star"]["repository_policy"]["Statement"] if st["Effect"] == "Deny")
    deny["Condition"] = {"ArnLike": deny["Condition"]["ArnNotEquals"]}
    results = registry_controls(state, RECORDED["baseline"])
    assert failed(results) == ["ECR-05"]
    assert next(r["found"] for r in results if r["id"] == "ECR-05") == "rnaseq/star: no Deny of image access to unnamed principals"


def test_a_missing_repository_or_image_fails():
    state = copy.deepcopy(RECORDED["state"])
    state["repositories"]["rnaseq/star"] = {"exists": False}
    state["images"][0]["digest"] = None
    results = registry_controls(state, RECORDED["baseline"])
    assert failed(results) == ["ECR-01", "ECR-02", "ECR-03", "ECR-04", "ECR-05", "ECR-06"]
    assert "rnaseq/star missing" in results[0]["found"]
