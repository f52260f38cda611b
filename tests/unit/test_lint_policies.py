"""scripts/lint-policies: parliament's findings above LOW fail the lint,
unless docs/iam/lint-suppressions.yml accepts them with a reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LINT = Path(__file__).resolve().parents[2] / "scripts" / "lint-policies"


def lint(tmp_path, name, statement):
    path = tmp_path / name
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return subprocess.run([sys.executable, str(LINT), str(path)], capture_output=True, text=True, timeout=120)


def test_an_action_that_cannot_apply_to_its_resource_fails_the_lint_naming_it(tmp_path):
    run = lint(tmp_path, "role--mistake.json", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"})
    assert run.returncode == 1
    assert "RESOURCE_MISMATCH role--mistake.json" in run.stdout and "s3:GetObject" in run.stdout


def test_a_finding_accepted_with_a_reason_passes(tmp_path):
    trust = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert lint(tmp_path, "trust--host.json", trust).returncode == 0
    # The same document under a name no suppression covers.
    refused = lint(tmp_path, "role--host.json", trust)
    assert refused.returncode == 1 and "MALFORMED" in refused.stdout
