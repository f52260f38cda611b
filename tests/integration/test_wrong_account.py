"""Every playbook stops before any change when the caller's account is not the inventory's."""

from __future__ import annotations

import pytest

from support.api_calls import writes
from support.cloud import run_playbook

PLAYBOOKS = ["network", "identity", "storage", "audit", "registry", "batch", "access", "verify", "isolate", "teardown"]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_playbook_run_against_another_account_changes_nothing(local_cloud, playbook):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, f"playbooks/{playbook}.yml", extra_vars={"toolkit_aws_account_id": "111111111111"},
                           json_output=False)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "Wrong AWS account" in output and "111111111111" in output, output[-2000:]
    assert "Traceback" not in output
    assert writes(calls) == []
