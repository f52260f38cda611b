"""ECR's scan gate holds on every run: an image whose scan-on-push found what
the threshold forbids fails the registry phase again on the next run, and
the batch phase never pins it.

moto's ECR stores no layers, so the registry the modules copy to is a
stand-in here (support/ecr_registry.py): ECR's control API (the repository,
the image record its push leaves, the scan and its findings) is moto's. moto
reports one HIGH finding (CVE-9999-9999) for every scanned image.
"""

from __future__ import annotations

import contextlib

import pytest

from support.ecr_registry import DIGEST, IMAGE, EcrRegistry
from support.module_harness import load_module, module_client, run_module

ecr_image = load_module("ecr_image")
ecr_image_info = load_module("ecr_image_info")


@pytest.fixture
def ecr(mocked_aws, monkeypatch):
    client = module_client("ecr")
    client.create_repository(repositoryName="rnaseq/fastqc", imageScanningConfiguration={"scanOnPush": True})
    registries = []

    @contextlib.contextmanager
    def session(module, ecr_client=None):
        registries.append(EcrRegistry(module, client))
        yield registries[-1]

    for module in (ecr_image, ecr_image_info):
        monkeypatch.setattr(module, "registry_session", session)
    client.registries = registries
    return client


def push(threshold, images=(IMAGE,)):
    return run_module(ecr_image, {"images": list(images), "scan": False, "scan_threshold": threshold})


def pin(threshold):
    return run_module(ecr_image_info, {"images": [{"name": IMAGE["name"], "tag": IMAGE["tag"]}], "scan_findings": True,
                                       "scan_threshold": threshold})


def test_a_failed_scan_fails_the_push_and_every_run_after_it(ecr):
    first = push("HIGH")
    assert first["failed"] and "CVE-9999-9999 (HIGH)" in first["msg"] and "do not use them" in first["msg"]
    assert ecr.registries[0].pushed == ["rnaseq/fastqc"]
    # The image stays under its immutable release tag; the next run pushes
    # nothing, and must still fail rather than find it in place and pass it.
    again = push("HIGH")
    assert ecr.registries[1].pushed == []
    assert again["failed"] and "CVE-9999-9999 (HIGH)" in again["msg"]


def test_findings_below_the_threshold_pass(ecr):
    assert push("CRITICAL").get("failed") is not True
    again = push("CRITICAL")
    assert again["changed"] is False and again["images"][0]["digest"] == DIGEST


def test_the_batch_phase_never_pins_an_image_whose_scan_failed(ecr):
    push("CRITICAL")
    refused = pin("HIGH")
    assert refused["failed"] and "none is pinned" in refused["msg"] and "rnaseq/fastqc:0.12.1" in refused["msg"]
    pinned = pin("CRITICAL")
    assert pinned["images"][0]["reference"].endswith(f"/rnaseq/fastqc@{DIGEST}") and pinned["images"][0]["findings"] == []


def test_an_unreachable_source_fails_once_in_one_message_naming_it_and_nothing_is_pushed(ecr, monkeypatch):
    monkeypatch.setattr(EcrRegistry, "unreadable", {"docker://quay.io/biocontainers/star:2.7.11b--h43eeafb_2"})
    star = {"name": "rnaseq/star", "tag": "2.7.11b", "source": "docker://quay.io/biocontainers/star:2.7.11b--h43eeafb_2"}
    result = push("CRITICAL", [IMAGE, star])
    assert result["failed"]
    assert result["msg"] == ("Cannot read the source image docker://quay.io/biocontainers/star:2.7.11b--h43eeafb_2: "
                             "connection refused; nothing was pushed")
    assert ecr.registries[0].pushed == []
