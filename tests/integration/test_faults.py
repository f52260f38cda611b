"""Runs that survive faults: throttling, and a run killed halfway through.

Both go through tests/support/fault_proxy.py, a loopback proxy in front of
the emulator: it throttles calls the way AWS does, or lets a create call
reach the emulator and then kills the whole run before the answer arrives.
"""

from __future__ import annotations

from support.cloud import SITE_PHASES, kill_tree, run_playbook, start_playbook
from support.environment import EXPECTED_COUNTS, environment_counts
from support.fault_proxy import FaultProxy

# Create calls after which a run is killed, in the order site.yml makes them,
# each with the phase that makes it: the emulator has done the work, the
# module never hears of it. Each covers a create whose resource a re-run must
# find rather than make again.
KILL_POINTS = [
    ("CreateVpc", "network"),
    ("CreateNetworkAcl", "network"),
    ("CreateRouteTable", "network"),
    ("CreateStack", "network"),
    ("CreateKey", "storage"),
    ("CreateTrail", "audit"),
    ("REST POST /v1/createcomputeenvironment", "batch"),
    ("CreateInternetGateway", "access"),
    # The NAT gateway's address (tagged in the call), then the gateway.
    ("AllocateAddress", "access"),
    ("CreateNatGateway", "access"),
    ("CreateNetworkAcl", "access"),
    ("RunInstances", "access"),
    # The VPN host's address, the NAT gateway's being found by then.
    ("AllocateAddress", "access"),
    ("AssociateAddress", "access"),
]


def phases_from(first: str, last: str) -> list[str]:
    """The phase playbooks from `first` to `last`, in site.yml's order."""
    return [f"playbooks/{phase}.yml" for phase in SITE_PHASES[SITE_PHASES.index(first):SITE_PHASES.index(last) + 1]]


def verify_passes(cloud) -> None:
    verify = run_playbook(cloud, "playbooks/verify.yml", json_output=False)
    assert verify.ok, verify.explain()
    assert "controls pass" in verify.stdout


def test_the_site_converges_when_one_call_in_five_is_throttled(local_cloud):
    local_cloud.reset()
    with FaultProxy(local_cloud.endpoint, throttle_every=5) as proxy:
        run = run_playbook(local_cloud, "playbooks/site.yml", env={"AWS_ENDPOINT_URL": proxy.url})
    assert run.ok, run.explain()
    # Every fifth call throttled, and enough of them to reach every phase (the
    # site's first converge makes about four hundred calls before retries).
    assert len(proxy.throttled) >= len(proxy.calls) // 5 - 1 > 80
    # Every protocol got its throttling answer: EC2, the query and JSON APIs, S3, REST-JSON.
    assert {"ec2", "iam", "kms", "s3", "batch", "cloudformation"} <= {call.service for call in proxy.throttled}
    assert environment_counts(local_cloud) == EXPECTED_COUNTS
    verify_passes(local_cloud)


def test_a_run_killed_after_any_create_is_finished_by_the_next_with_no_duplicate(local_cloud):
    local_cloud.reset()
    # Each run starts at the phase the previous one was killed in and goes on
    # to the phase of its own kill point: it must finish what was killed, and
    # the phases before it, whole already, need not run again each time.
    killed_in = SITE_PHASES[0]
    with FaultProxy(local_cloud.endpoint) as proxy:
        for operation, phase in KILL_POINTS:
            run = start_playbook(local_cloud, *phases_from(killed_in, phase), env={"AWS_ENDPOINT_URL": proxy.url})
            proxy.interrupt_after(operation, lambda run=run: kill_tree(run.pid))
            output, _ = run.communicate(timeout=1200)
            assert proxy.interrupted == operation, f"the run never sent {operation}:\n{output[-3000:]}"
            killed_in = phase
    finished = run_playbook(local_cloud, *phases_from(killed_in, SITE_PHASES[-1]))
    assert finished.ok, finished.explain()
    assert environment_counts(local_cloud) == EXPECTED_COUNTS
    again = run_playbook(local_cloud, "playbooks/site.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()
    verify_passes(local_cloud)
