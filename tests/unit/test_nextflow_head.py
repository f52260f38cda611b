"""The Nextflow head's script (roles/batch/files/nextflow-head.sh), run as its
job definition runs it, with a stand-in `nextflow` that records its calls."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = (REPO / "roles" / "batch" / "files" / "nextflow-head.sh").read_text()
CONFIG = "process { executor = 'awsbatch' }"
WORKFLOW = "s3://data/reference/workflows/rnaseq/"
PARAMS = "s3://data/raw-data/run-1/params.yaml"


@pytest.fixture
def nextflow(tmp_path):
    """A stand-in nextflow: records each call's directory and arguments; `run` exits with $RUN_STATUS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "nextflow").write_text(
        "#!/bin/bash\n"
        f'echo "$PWD|$*" >> {calls}\n'
        'for a in "$@"; do [[ $a == run ]] && exit "${RUN_STATUS:-0}"; done\n'
        "exit 0\n")
    (bin_dir / "nextflow").chmod(0o755)
    return bin_dir, calls


def head(nextflow, *args, status=0):
    bin_dir, calls = nextflow
    job = f"test-{uuid.uuid4().hex}"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", TOOLKIT_NEXTFLOW_CONFIG=CONFIG,
               TOOLKIT_LOG_PREFIX="s3://data/logs/nextflow/", AWS_BATCH_JOB_ID=job, RUN_STATUS=str(status))
    run = subprocess.run(["bash", "-c", SCRIPT, "nextflow-head", *args], env=env, capture_output=True, text=True, timeout=30)
    recorded = [line.split("|", 1) for line in calls.read_text().splitlines()] if calls.exists() else []
    return run, recorded, Path(f"/tmp/nextflow-head-{job}")


def test_the_head_stages_the_workflow_and_parameters_runs_them_with_the_toolkits_configuration_and_saves_its_log(nextflow):
    run, calls, home = head(nextflow, WORKFLOW, PARAMS, "run-1")
    try:
        assert run.returncode == 0, run.stderr
        assert {directory for directory, _ in calls} == {str(home)}
        assert [arguments for _, arguments in calls] == [
            f"-c toolkit.config fs cp {WORKFLOW} workflow",
            f"-c toolkit.config fs cp {PARAMS} params.yaml",
            "-log nextflow.log -c toolkit.config run ./workflow -params-file params.yaml -name run-1 -ansi-log false",
            "-c toolkit.config fs cp nextflow.log s3://data/logs/nextflow/run-1.log",
        ]
        assert (home / "toolkit.config").read_text() == CONFIG + "\n"
    finally:
        subprocess.run(["rm", "-rf", str(home)], check=True)


def test_a_failed_run_still_saves_its_log_and_fails_the_job(nextflow):
    run, calls, home = head(nextflow, WORKFLOW, PARAMS, "run-2", status=3)
    subprocess.run(["rm", "-rf", str(home)], check=True)
    assert run.returncode == 3
    assert calls[-1][1] == "-c toolkit.config fs cp nextflow.log s3://data/logs/nextflow/run-2.log"


@pytest.mark.parametrize("args, complaint", [
    (["Ref::workflow", "Ref::params", "Ref::run"], "'Ref::workflow' is not an s3:// URI"),
    ([WORKFLOW, "s3://data/raw-data/run-1/params.txt", "run-1"], "must end in .yaml, .yml or .json"),
    ([WORKFLOW, PARAMS, "run 1; rm -rf /"], "the run name 'run 1; rm -rf /' must be letters, digits, - and _"),
])
def test_a_submission_without_its_parameters_fails_at_once_saying_how_to_submit_it(nextflow, args, complaint):
    run, calls, _home = head(nextflow, *args)
    assert run.returncode == 2 and calls == []
    assert complaint in run.stderr and "--parameters workflow=s3://" in run.stderr
