"""make test's two integration shards run side by side: they must not share what the playbooks write."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Playbooks that write reports/<environment>/ on the controller: the registry's
# image references, the batch phase's Nextflow configuration, verify's reports.
WRITERS = re.compile(r"playbooks/(registry|batch|verify|site|smoke)\.yml|SITE_PHASES")
# Tests that name such a playbook and may still run in shard B, and why.
EXEMPT = {
    "test_production_proof.py": "its own inventory, local-production, writes reports/local-production/",
    "test_batch_bad_input.py": "every run is refused in the preflight, before anything is written",
    "test_aws_model.py": "it points the registry's and the batch phase's reports at a directory of its own",
}


def shard(name: str) -> list[str]:
    out = subprocess.run(["make", "-n", "--no-print-directory", name], cwd=REPO, check=True, capture_output=True, text=True).stdout
    (command,) = [line for line in out.splitlines() if line.startswith("pytest ")]
    return [Path(arg).name for arg in command.split() if arg.startswith("tests/integration/")]


def test_the_shards_hold_every_integration_test_once():
    a, b = shard("integration-a"), shard("integration-b")
    assert a and b and not set(a) & set(b)
    assert sorted(a + b) == sorted(p.name for p in (REPO / "tests" / "integration").glob("test_*.py"))


def test_every_test_that_writes_the_local_reports_is_in_shard_a():
    b = shard("integration-b")
    writers = {p.name for p in (REPO / "tests" / "integration").glob("test_*.py") if WRITERS.search(p.read_text())}
    assert {"test_faults.py", "test_verify.py", "test_batch_phase.py"} <= writers
    assert sorted(writers & set(b)) == sorted(EXEMPT)
