"""The whole site under a model of AWS's timing and consistency (support/aws_model.py): 40 ms per call,
creation delays, reads that miss what was just made, and roles not yet assumable, all on.

At a time scale of 10 a stack takes 15 s and a compute environment 4.5 s;
the lags keep AWS's own length (a new VPC unknown to reads by ID for 3 s, a
new role refused by CloudTrail for 10 s), which a tenth of would hide: at a
tenth, the route table, peering and trail calls that wait them out now were
never refused.
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
        # The model was in the way: the toolkit waited for what AWS makes slowly (the hosts, the NAT
        # gateway and the compute environments, made while the access phase runs, are ready before
        # their waiters' first look at this scale, so they may not show)...
        assert {"stack", "job_queue"} <= set(model.in_progress), model.in_progress
        # ...and rode out at least one read of something just made.
        assert any(why.startswith(("vpc-", "subnet-", "lt-", "i-", "nat-", "eipalloc-", "rtb-", "sg-", "acl-", "igw-"))
                   for _, why in model.refused), model.refused
        # ...and a role that CloudTrail could not assume yet.
        assert ("CreateTrail", "role propagation") in model.refused, model.refused
        assert environment_counts(local_cloud) == EXPECTED_COUNTS

        again = run_playbook(local_cloud, "playbooks/site.yml", env={"AWS_ENDPOINT_URL": model.url}, extra_vars=reports)
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert environment_counts(local_cloud) == EXPECTED_COUNTS


def test_a_stack_still_being_made_is_waited_for_not_sent_again(local_cloud, tmp_path):
    """A run that stops after starting the endpoint stack in the background (site.yml's network phase) leaves it
    being made; the next run waits for it to settle, where sending it again would be refused, as AWS refuses it."""
    local_cloud.reset()
    env = {"ANSIBLE_ASYNC_DIR": str(tmp_path / "async")}
    # A time scale of 5: the stack is being made for 30 s, longer than the network phase takes to reach it again.
    with AwsModel(local_cloud.endpoint, latency_ms=0, time_scale=5, consistency=False, role_propagation=False) as model:
        env["AWS_ENDPOINT_URL"] = model.url
        started = run_playbook(local_cloud, "playbooks/network.yml", env=env, extra_vars={"toolkit_wait_later": True})
        assert started.ok, started.explain()
        again = run_playbook(local_cloud, "playbooks/network.yml", env=env)
    assert again.ok and again.changed == 0, again.changed_tasks() or again.explain()
    # The second run read the stack while it was being made, and sent nothing that was refused.
    assert model.in_progress["stack"] >= 1, model.in_progress
    assert not model.refused, model.refused
