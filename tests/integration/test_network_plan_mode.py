"""Plan mode: --check --diff on an empty account completes and writes nothing."""

from __future__ import annotations

from support.api_calls import writes
from support.cloud import run_playbook


def test_check_mode_on_an_empty_account_shows_every_step_and_sends_no_write_call(local_cloud):
    local_cloud.reset()
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/network.yml", "--check", "--diff")
    assert run.ok, run.explain()
    assert calls and writes(calls) == []
    changed = run.changed_tasks()
    for step in ("Set-up VPC", "Set-up Private Subnet", "Configure Network ACLs", "Set-up explicit Route Table",
                 "Security group for Batch", "Deploy VPC Endpoints"):
        assert any(name.startswith(step) for name in changed), (step, changed)
    assert local_cloud.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["rna-seq-hipaa"]}])["Vpcs"] == []
