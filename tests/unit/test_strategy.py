"""The default strategy (ansible.cfg): Ansible's own linear strategy; Mitogen, the opt-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Two tasks that each report the process their module's child runs under.
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - ansible.builtin.command: sh -c 'echo $PPID'
      register: first
    - ansible.builtin.command: sh -c 'echo $PPID'
      register: second
    - ansible.builtin.debug:
        msg: "interpreters: {{ [first.stdout, second.stdout] | unique | length }}"
"""


# PLAYBOOK, then a password the module marks no_log and a task marked no_log.
SECRETS_PLAYBOOK = PLAYBOOK + """
    - ansible.builtin.uri:
        url: http://127.0.0.1:9/
        url_username: someone
        url_password: pw-8c1e0b1d
        force_basic_auth: true
      ignore_errors: true
    - ansible.builtin.command: echo output-5f2a9c44
      no_log: true
"""


def run(tmp_path, *args, playbook_text=PLAYBOOK, **env):
    playbook = tmp_path / "play.yml"
    playbook.write_text(playbook_text)
    bindir = str(Path(sys.executable).parent)
    environ = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    environ.pop("ANSIBLE_STRATEGY", None)  # ansible.cfg's default unless a test sets it
    environ.update(env)
    return subprocess.run(["ansible-playbook", "-i", "localhost,", str(playbook), *args], cwd=REPO, env=environ,
                          capture_output=True, text=True, check=False)


@pytest.fixture
def without_mitogen(tmp_path):
    """A PYTHONPATH on which `import ansible_mitogen` fails, as in an environment that never installed it."""
    blocker = tmp_path / "blocker" / "ansible_mitogen"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("No module named \'ansible_mitogen\'")\n')
    return str(blocker.parent)


MITOGEN = {"ANSIBLE_STRATEGY": "mitogen_linear"}


def test_the_default_strategy_is_ansibles_own_one_interpreter_per_task_and_no_deprecation_warning(tmp_path):
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interpreters: 2" in result.stdout
    assert "DEPRECATION" not in result.stdout + result.stderr


def test_the_mitogen_opt_in_runs_every_module_of_a_host_in_one_interpreter(tmp_path):
    result = run(tmp_path, **MITOGEN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interpreters: 1" in result.stdout


def test_the_opt_in_without_mitogen_stops_before_any_task_and_says_how_to_go_on(tmp_path, without_mitogen):
    result = run(tmp_path, PYTHONPATH=without_mitogen, **MITOGEN)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "needs the mitogen package" in output and "unset ANSIBLE_STRATEGY" in output
    assert "TASK [" not in output


def test_the_default_runs_without_mitogen_installed(tmp_path, without_mitogen):
    result = run(tmp_path, PYTHONPATH=without_mitogen)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interpreters: 2" in result.stdout


def test_secrets_stay_out_of_the_output_under_mitogen_even_at_the_highest_verbosity(tmp_path):
    result = run(tmp_path, "-vvvvv", playbook_text=SECRETS_PLAYBOOK, **MITOGEN)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "interpreters: 1" in output, "the run did not go through Mitogen"
    assert "pw-8c1e0b1d" not in output and "output-5f2a9c44" not in output
