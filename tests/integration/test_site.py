"""site.yml's settings as the command line gives them.

The whole site's plan on an empty account, its converge and its no-op run are
proven as production runs them, by the deployer alone:
test_production_proof.py."""

from __future__ import annotations

import json

from support.cloud import run_playbook


def test_booleans_given_as_strings_on_the_command_line_mean_what_they_say(local_cloud):
    local_cloud.reset()
    assert run_playbook(local_cloud, "playbooks/network.yml").ok
    for playbook in ("playbooks/identity.yml", "playbooks/storage.yml"):
        # -e name=value passes strings; "false" must not switch anything on.
        run = run_playbook(local_cloud, playbook, "-e", "storage_restrict_to_vpc=false", "-e", "storage_synthetic_data=false",
                           "-e", "identity_exclusive_membership=false")
        assert run.ok, run.explain()
    policy = json.loads(local_cloud.client("s3").get_bucket_policy(Bucket="rnaseq-hipaa-data-bucket")["Policy"])
    assert "DenyObjectAccessFromOutsideTheVpc" not in {s["Sid"] for s in policy["Statement"]}
    run = run_playbook(local_cloud, "playbooks/storage.yml", "--tags", "bucket_policy", "-e", "storage_restrict_to_vpc=true")
    assert run.ok and run.changed == 1, run.explain()
    policy = json.loads(local_cloud.client("s3").get_bucket_policy(Bucket="rnaseq-hipaa-data-bucket")["Policy"])
    assert "DenyObjectAccessFromOutsideTheVpc" in {s["Sid"] for s in policy["Statement"]}
