"""The whole site under a model of AWS's timing and consistency (support/aws_model.py): 40 ms per call,
creation delays, reads that miss what was just made, and roles not yet assumable, all on.

At a time scale of 10 a stack takes 15 s, a compute environment 4.5 s and a
new VPC is unknown to reads for 0.3 s: enough for every wait and retry of the
toolkit to run, in about three minutes for the first converge.
"""

from __future__ import annotations

from support.aws_model import AwsModel
from support.cloud import run_playbook
from support.environment import EXPECTED_COUNTS, environment_counts

TIME_SCALE = 10


def test_the_site_converges_under_aws_timing_then_changes_nothing_with_no_duplicate(local_cloud, tmp_path):
    local_cloud.reset()
    # The controller's reports go to a directory of the test's own: it runs in shard B, beside shard A's.
    reports = {"registry_references_file": str(tmp_path / "images.json"), "batch_engine_config_dir": str(tmp_path)}
    with AwsModel(local_cloud.endpoint, latency_ms=40, time_scale=TIME_SCALE) as model:
        first = run_playbook(local_cloud, "playbooks/site.yml", env={"AWS_ENDPOINT_URL": model.url}, extra_vars=reports)
        assert first.ok, first.explain()
        # The model was in the way: the toolkit waited for what AWS makes slowly (the hosts and the NAT
        # gateway are ready before their waiters' first look at this scale, so they may not show)...
        assert {"stack", "compute_environment", "job_queue"} <= set(model.in_progress), model.in_progress
        # ...and rode out at least one read of something just made.
        assert any(why.startswith(("vpc-", "subnet-", "lt-", "i-", "nat-", "eipalloc-", "rtb-", "sg-", "acl-", "igw-"))
                   for _, why in model.refused), model.refused
        assert environment_counts(local_cloud) == EXPECTED_COUNTS

        again = run_playbook(local_cloud, "playbooks/site.yml", env={"AWS_ENDPOINT_URL": model.url}, extra_vars=reports)
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert environment_counts(local_cloud) == EXPECTED_COUNTS
