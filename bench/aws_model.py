#!/usr/bin/env python3
"""Benchmark: site.yml against the model of AWS's timing (tests/support/aws_model.py).

    .venv/bin/python bench/aws_model.py [--time-scale 1] [--latency-ms 40]

Against a local cloud of its own, behind the model with every behaviour on
(latency, creation delays, read-after-create, role propagation):

- first converge: site.yml on an empty account. At the default time scale
  of 1 the model's delays are AWS's own, so its wall seconds are modelled
  AWS seconds; at a scale of N each delay is divided by N.
- critical path: the longest chain of dependent waits, from the model's
  DELAYS and AFTER (at the time scale), and the first converge's ratio to it.
- the same first converge with the creation delays off: what the controller
  itself takes (Ansible, the modules, the calls at the stated latency), the
  part of the ratio no overlapping of waits can remove.
- the phases one after another, each playbook alone (each waits in place, as
  site.yml did before it overlapped its waits): what the overlapping saves.
- no-op: site.yml again at the stated latency.

Merges {"aws_model": ...} into bench/results.json and rewrites the generated
table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from report import PHASES, table, write_results  # noqa: E402
from support.aws_model import AwsModel, critical_path  # noqa: E402
from support.cloud import LocalCloud, run_playbook  # noqa: E402


def timed(cloud: LocalCloud, model: AwsModel, *playbooks: str) -> tuple[float, int]:
    """Seconds and changed tasks of the playbooks, run one after another through the model."""
    start, changed = time.monotonic(), 0
    for playbook in playbooks:
        run = run_playbook(cloud, playbook, env={"AWS_ENDPOINT_URL": model.url})
        if not run.ok:
            raise SystemExit(f"{playbook} failed under the model:\n{run.explain()}")
        changed += run.changed
    return round(time.monotonic() - start, 1), changed


def first_converge(cloud: LocalCloud, *playbooks: str, **model_settings) -> tuple[float, AwsModel]:
    cloud.reset()
    with AwsModel(cloud.endpoint, **model_settings) as model:
        seconds, _ = timed(cloud, model, *playbooks)
    return seconds, model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    args = parser.parse_args()
    settings = {"latency_ms": args.latency_ms, "time_scale": args.time_scale}
    path_s, path = critical_path()
    path_s /= args.time_scale

    with tempfile.TemporaryDirectory(prefix="bench-aws-model-") as state:
        cloud = LocalCloud(Path(state)).start()
        try:
            controller_s, _ = first_converge(cloud, "playbooks/site.yml", **settings, delays=False)
            serial_s, _ = first_converge(cloud, *(f"playbooks/{phase}.yml" for phase in PHASES), **settings)
            first_s, model = first_converge(cloud, "playbooks/site.yml", **settings)
            with AwsModel(cloud.endpoint, **settings) as quiet:
                noop_s, changed = timed(cloud, quiet, "playbooks/site.yml")
            if changed:
                raise SystemExit(f"the no-op site.yml under the model changed {changed} tasks")
        finally:
            cloud.stop()
    figures = {
        "time_scale": args.time_scale,
        "latency_ms": args.latency_ms,
        "first_converge_s": first_s,
        "critical_path_s": round(path_s, 1),
        "critical_path": path,
        "ratio": round(first_s / path_s, 2),
        "controller_s": controller_s,
        "phases_one_by_one_s": serial_s,
        "noop_s": noop_s,
        "waits_seen": dict(sorted(model.in_progress.items())),
        "refused": len(model.refused),
    }
    results = write_results({"aws_model": figures})
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
