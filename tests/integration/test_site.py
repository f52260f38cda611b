"""site.yml: plan mode on an empty account, converge, and a no-op run."""

from __future__ import annotations

import json

from support.api_calls import writes
from support.cloud import run_playbook


def test_plan_converge_and_no_op_of_the_whole_site(local_cloud):
    local_cloud.reset()
    with local_cloud.recording() as calls:
        plan = run_playbook(local_cloud, "playbooks/site.yml", "--check", "--diff")
    assert plan.ok, plan.explain()
    assert plan.changed > 0
    assert calls and writes(calls) == [], "plan mode sends no write call"

    converge = run_playbook(local_cloud, "playbooks/site.yml")
    assert converge.ok, converge.explain()

    with local_cloud.recording() as calls:
        again = run_playbook(local_cloud, "playbooks/site.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert writes(calls) == []


def test_booleans_given_as_strings_on_the_command_line_mean_what_they_say(local_cloud):
    local_cloud.reset()
    assert run_playbook(local_cloud, "playbooks/network.yml").ok
    for playbook in ("playbooks/identity.yml", "playbooks/storage.yml"):
        # -e name=value passes strings; "false" must not switch anything on.
        run = run_playbook(local_cloud, playbook, "-e", "storage_restrict_to_vpc=false", "-e", "storage_synthetic_data=false",
                           "-e", "identity_exclusive_membership=false")
        assert run.ok, run.explain()
    policy = json.loads(local_cloud.client("s3").get_bucket_policy(Bucket="rnaseq-hipaa-data-bucket")["Policy"])
    assert "DenyDataAccessFromOutsideTheVpc" not in {s["Sid"] for s in policy["Statement"]}
    run = run_playbook(local_cloud, "playbooks/storage.yml", "--tags", "bucket_policy", "-e", "storage_restrict_to_vpc=true")
    assert run.ok and run.changed == 1, run.explain()
    policy = json.loads(local_cloud.client("s3").get_bucket_policy(Bucket="rnaseq-hipaa-data-bucket")["Policy"])
    assert "DenyDataAccessFromOutsideTheVpc" in {s["Sid"] for s in policy["Statement"]}
