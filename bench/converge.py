#!/usr/bin/env python3
"""Benchmark: site.yml's first converge and no-op re-run, API calls per phase, and list costs.

    .venv/bin/python bench/converge.py [--sizes 3 30] [--repeat 2]

Against a local cloud of its own (emulator plus registry on loopback), with
the emulator recording every request it receives:

- first converge: each phase's playbook in site.yml's order (one run per
  phase, so the request log splits by phase); seconds, reads and writes.
- no-op: site.yml again as a whole (seconds, reads, writes, the most
  frequent read operations), under ansible.cfg's strategy (Ansible's own
  linear one), --noop-runs times (3 by default; the seconds are the
  median, since one run on this machine varies by 10 to 20 %, and every
  run must read the same and write nothing), once more with the Mitogen
  opt-in (seconds only, for comparison), then
  each phase's playbook alone for its share of the calls. Reads per
  managed resource divides the no-op's reads by the resources the first
  converge created, counted from its request log: one a creating call (a
  VPC, a role, a key's alias, a metric filter, an alarm, a Config rule...),
  one a bucket, plus the resources of the endpoint stack (see
  support.api_calls.created_resources). Reads per checked resource divides
  them by the distinct resources of verify's evidence report instead, a list
  ("15 alarms", "a, b") counted item by item.
- lists: the no-op seconds of identity, batch and registry with 3 and with
  30 administrators, job definitions and images; the per-item cost is the
  difference over the 27 extra items (median of --repeat no-op runs each).

Prints a table, merges {"site": ..., "lists": ...} into bench/results.json
and rewrites the generated table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from report import PHASES, table, write_results  # noqa: E402
from support.api_calls import created_resources  # noqa: E402
from support.cloud import LocalCloud, run_playbook  # noqa: E402


# The stand-in upstream images of the local cloud's registry (scripts/local-cloud-images.txt).
STAND_INS = [line.split() for line in (REPO / "scripts" / "local-cloud-images.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]


def measured(cloud: LocalCloud, playbook: str, extra_vars: dict | None = None, env: dict | None = None) -> dict:
    """One run: seconds, the emulator's read and write calls, the changed count."""
    with cloud.recording() as calls:
        start = time.monotonic()
        run = run_playbook(cloud, playbook, extra_vars=extra_vars, env=env)
        seconds = time.monotonic() - start
    if not run.ok:
        raise SystemExit(f"{playbook} failed:\n{run.explain()}")
    writes = [str(call) for call in calls if call.is_write]
    reads = collections.Counter(str(call) for call in calls if not call.is_write)
    return {"seconds": round(seconds, 1), "reads": len(calls) - len(writes), "writes": len(writes),
            "changed": run.changed, "write_calls": sorted(set(writes)), "top_reads": dict(reads.most_common(8)),
            "created": dict(sorted(created_resources(calls).items()))}


def resource_items(resource: str) -> list[str]:
    """The resources one entry of verify's report names: "15 alarms" is 15,
    "a, b" is two, and "name (id)" is the name."""
    counted = re.fullmatch(r"(\d+) (\w+)", resource)
    if counted:
        return [f"{counted.group(2)} {i}" for i in range(int(counted.group(1)))]
    return [re.sub(r" \([^)]*\)$", "", item) for item in resource.split(", ")]


def median_run(runs: list[dict]) -> dict:
    """The median-time run of several no-op runs, with every run's seconds; all must read and write the same."""
    if len({(run["reads"], run["writes"], run["changed"]) for run in runs}) != 1:
        raise SystemExit(f"the no-op runs differ: {[(run['reads'], run['writes'], run['changed']) for run in runs]}")
    ordered = sorted(runs, key=lambda run: run["seconds"])
    return {**ordered[len(ordered) // 2], "seconds_each": [run["seconds"] for run in runs]}


def stack_resources(cloud: LocalCloud) -> int:
    """The resources in the toolkit's CloudFormation stacks (the VPC endpoints)."""
    cloudformation = cloud.client("cloudformation")
    return sum(len(cloudformation.describe_stack_resources(StackName=stack["StackName"])["StackResources"])
               for stack in cloudformation.describe_stacks()["Stacks"])


def checked_resources(cloud: LocalCloud) -> int:
    """Distinct resources of verify's evidence report, item by item: what the toolkit sets up and checks."""
    run_playbook(cloud, "playbooks/verify.yml")
    reports = sorted((REPO / "reports" / "local").glob("2*.json"), key=lambda p: p.stat().st_mtime)
    report = json.loads(reports[-1].read_text())
    return len({item for control in report["controls"] for item in resource_items(control["resource"])})


def list_vars(kind: str, size: int) -> dict:
    if kind == "administrators":
        return {"identity_administrators": [{"name": f"bench-admin-{i:02d}"} for i in range(size)]}
    if kind == "job_definitions":
        job = {"image": "fastqc", "vcpus": 2, "memory_mib": 4096, "timeout_minutes": 60, "read_only_root": True,
               "command": ["fastqc", "Ref::reads"], "nextflow_process": ".*:FASTQC"}
        return {"batch_jobs": [{**job, "name": f"bench-job-{i:02d}"} for i in range(size)]}
    registry = "{{ toolkit_local_registry }}"
    return {"registry_images": [
        {"name": f"bench-{name}-{i:02d}", "tag": version, "source": f"docker://{registry}/{upstream}"}
        for i, (name, version, upstream) in zip(range(size), STAND_INS * size)]}


LIST_PLAYBOOK = {"administrators": "identity", "job_definitions": "batch", "images": "registry"}


def list_costs(cloud: LocalCloud, sizes: list[int], repeat: int) -> dict:
    # Images last: the batch phase reads the registry phase's image references.
    costs = {}
    for kind in ("administrators", "job_definitions", "images"):
        playbook = f"playbooks/{LIST_PLAYBOOK[kind]}.yml"
        noop = {}
        for size in sizes:
            extra = list_vars(kind, size)
            measured(cloud, playbook, extra)  # converge to this size
            runs = [measured(cloud, playbook, extra) for _ in range(repeat)]
            if any(run["changed"] or run["writes"] for run in runs):
                raise SystemExit(f"{playbook} with {size} {kind} is not a no-op: {runs}")
            noop[size] = {"seconds": round(statistics.median(run["seconds"] for run in runs), 1), "reads": runs[0]["reads"]}
        small, large = min(sizes), max(sizes)
        extra_items = large - small
        costs[kind] = {
            "playbook": playbook,
            "noop": {str(size): figures for size, figures in noop.items()},
            "seconds_per_item": round((noop[large]["seconds"] - noop[small]["seconds"]) / extra_items, 3),
            "reads_per_item": round((noop[large]["reads"] - noop[small]["reads"]) / extra_items, 2),
        }
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[3, 30])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--noop-runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-site-") as state:
        cloud = LocalCloud(Path(state)).start()
        try:
            first_by_phase = {phase: measured(cloud, f"playbooks/{phase}.yml") for phase in PHASES}
            noop = median_run([measured(cloud, "playbooks/site.yml") for _ in range(args.noop_runs)])
            noop_mitogen = measured(cloud, "playbooks/site.yml", env={"ANSIBLE_STRATEGY": "mitogen_linear"})
            noop_by_phase = {phase: measured(cloud, f"playbooks/{phase}.yml") for phase in PHASES}
            created = collections.Counter()
            for figures in first_by_phase.values():
                created.update(figures["created"])
            stacked = stack_resources(cloud)
            resources = sum(created.values()) + stacked
            checked = checked_resources(cloud)
            site = {
                "first": {key: round(sum(p[key] for p in first_by_phase.values()), 1) for key in ("seconds", "reads", "writes")},
                "first_by_phase": {phase: {k: v for k, v in f.items() if k not in ("write_calls", "top_reads", "created")}
                                   for phase, f in first_by_phase.items()},
                "noop": noop,
                "noop_mitogen_seconds": noop_mitogen["seconds"],
                "noop_by_phase": {phase: {k: v for k, v in f.items() if k not in ("write_calls", "top_reads", "created")}
                                  for phase, f in noop_by_phase.items()},
                "managed_resources": resources,
                "created_by_kind": dict(sorted(created.items())),
                "stack_resources": stacked,
                "noop_reads_per_resource": round(noop["reads"] / resources, 2),
                "checked_resources": checked,
                "noop_reads_per_checked_resource": round(noop["reads"] / checked, 2),
            }
            lists = list_costs(cloud, args.sizes, args.repeat)
        finally:
            cloud.stop()
    results = write_results({"site": site, "lists": lists})
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
