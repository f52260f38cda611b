"""Bad batch input, and a batch phase run before the phases it needs: one
clear message, before any change."""

from __future__ import annotations

import pytest

from support.refusals import assert_refused

CASES = {
    "a job on an image the registry does not have": (
        {"batch_jobs": [{"name": "fastqc", "image": "fastqc-latest", "vcpus": 2, "memory_mib": 4096, "timeout_minutes": 10}]},
        "Job fastqc: image 'fastqc-latest' is not one of the registry's images"),
    "a job larger than any compute environment": (
        {"batch_jobs": [{"name": "star", "image": "star", "vcpus": 1024, "memory_mib": 4096, "timeout_minutes": 10}]},
        "Job star: vcpus must be 1 to 512"),
    "no capacity at all": ({"batch_on_demand": False, "batch_spot": False}, "Turn on batch_on_demand, batch_spot or both"),
    "a short log retention": ({"batch_log_retention_days": 30}, "batch_log_retention_days must be 365 or more"),
    "an image id that is not an AMI": ({"batch_image_id": "al2023-ecs"}, "batch_image_id must be an AMI ID (ami-...) or empty"),
    "a queue outside the prefix": ({"batch_default_queue_name": "default"}, "The job queues must be named with batch_name_prefix"),
    "a job role the pipeline key does not name": (
        {"storage_key_user_role_names": ["rnaseq-batch-head-role"]},
        "The role rnaseq-batch-job-role is not in storage_key_user_role_names: the pipeline key would refuse it"),
    "an instance role the repositories do not name": (
        {"registry_pull_role_names": ["rnaseq-other"]},
        "The role rnaseq-batch-instance-role is not in registry_pull_role_names"),
    "a capacity that is not a number": ({"batch_spot_max_vcpus": "lots"}, "batch_spot_max_vcpus"),
}


@pytest.fixture(scope="module")
def empty_cloud(local_cloud):
    local_cloud.reset()
    return local_cloud


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_batch_input_fails_with_one_clear_message_and_changes_nothing(empty_cloud, case):
    extra_vars, message = CASES[case]
    assert_refused(empty_cloud, "playbooks/batch.yml", extra_vars, message)


def test_batch_before_the_phases_it_needs_names_each_one(empty_cloud):
    assert_refused(empty_cloud, "playbooks/batch.yml", {}, [
        "The batch phase needs what earlier phases make; nothing was changed:",
        "rna-seq-compute-sg is missing: run playbooks/network.yml",
        "alias/rnaseq-pipeline is missing: run playbooks/storage.yml",
        "image rnaseq/fastqc holds nothing at its release tag: run playbooks/registry.yml",
    ])
