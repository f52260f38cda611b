"""What every bad-input test checks: refused, in one clear message, with nothing written."""

from __future__ import annotations

from .api_calls import writes
from .cloud import LocalCloud, run_playbook


def assert_refused(cloud: LocalCloud, playbook: str, extra_vars: dict, message: str | list[str]) -> None:
    """Run the playbook as a user would and check it stops before any change.

    The run fails; its output holds `message`, or each of a list of them
    (whitespace-insensitive), no Python traceback and one failed task; the
    emulator saw no write call.
    """
    with cloud.recording() as calls:
        run = run_playbook(cloud, playbook, extra_vars=extra_vars, json_output=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0, run.explain()
    flat = " ".join(output.split())
    for text in [message] if isinstance(message, str) else message:
        assert text in flat, run.explain()
    assert "Traceback" not in output
    assert output.count("fatal:") == 1
    assert writes(calls) == []
