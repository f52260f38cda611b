"""The local cloud (scripts/local-cloud) and ansible-playbook, driven from tests."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import ssl
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml

from .api_calls import ApiCall, parse_recording

REPO = Path(__file__).resolve().parents[2]
LOCAL_CLOUD = REPO / "scripts" / "local-cloud"
# The phases, in the order playbooks/site.yml imports them (its last play waits for what they started).
SITE_PHASES = [entry["ansible.builtin.import_playbook"].removesuffix(".yml")
               for entry in yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
               if "ansible.builtin.import_playbook" in entry]


class LocalCloud:
    """A running emulator of our own, on a free loopback port (over TLS with `tls`)."""

    def __init__(self, state_dir: Path, tls: bool = False):
        self.state_dir = state_dir
        self.tls = tls
        self.env: dict[str, str] = {}

    def start(self) -> LocalCloud:
        env = dict(os.environ, LOCAL_CLOUD_DIR=str(self.state_dir), LOCAL_CLOUD_PORT="auto",
                   LOCAL_CLOUD_TLS="1" if self.tls else "0")
        exports = subprocess.run([str(LOCAL_CLOUD), "start"], env=env, check=True, capture_output=True, text=True).stdout
        for line in exports.splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export "):].partition("=")
                self.env[key] = value
        return self

    def stop(self) -> None:
        subprocess.run([str(LOCAL_CLOUD), "stop"], env=dict(os.environ, LOCAL_CLOUD_DIR=str(self.state_dir)), check=False)

    @property
    def endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    @property
    def region(self) -> str:
        return self.env["AWS_REGION"]

    @property
    def registry(self) -> str:
        """The local registry's host:port (ECR's stand-in data plane)."""
        return self.env["LOCAL_CLOUD_REGISTRY"]

    def registry_uploads(self) -> list[str]:
        """Lines of the registry's access log that wrote something (blob or manifest)."""
        log = (self.state_dir / "registry.log").read_text()
        return [line for line in log.splitlines() if any(f'"{verb} /v2/' in line for verb in ("PUT", "POST", "PATCH", "DELETE"))]

    def registry_get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://{self.registry}{path}", timeout=30) as response:
            return json.loads(response.read())

    @property
    def ca_bundle(self) -> str | None:
        """The certificate a TLS local cloud serves, for clients to verify it by."""
        return self.env.get("AWS_CA_BUNDLE")

    def _open(self, request):
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else None
        return urllib.request.urlopen(request, timeout=30, context=context)

    def _post(self, path: str, body: bytes = b"") -> bytes:
        request = urllib.request.Request(self.endpoint + path, method="POST", data=body,
                                         headers={"Content-Type": "text/plain"})
        with self._open(request) as response:
            return response.read()

    def enforce_iam(self, on: bool = True) -> None:
        """Authorize every request against its caller's IAM policies from now on (or stop)."""
        self._post("/moto-api/reset-auth", b"0" if on else b"inf")

    @contextlib.contextmanager
    def iam_enforced(self):
        self.enforce_iam()
        try:
            yield
        finally:
            self.enforce_iam(False)

    def authorizations(self) -> list[dict]:
        """The emulator's log of IAM authorizations (principal, action, resource, allowed)."""
        log = self.state_dir / "authorizations.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def reset(self) -> None:
        """Forget every resource and image: a fresh, empty account."""
        env = dict(os.environ, LOCAL_CLOUD_DIR=str(self.state_dir))
        subprocess.run([str(LOCAL_CLOUD), "reset"], env=env, check=True, capture_output=True)

    @contextlib.contextmanager
    def recording(self):
        """Record the API calls made inside the block into the yielded list."""
        calls: list[ApiCall] = []
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")
        try:
            yield calls
        finally:
            self._post("/moto-api/recorder/stop-recording")
            with self._open(self.endpoint + "/moto-api/recorder/download-recording") as response:
                calls.extend(parse_recording(response.read().decode()))

    def client(self, service: str, credentials: dict | None = None):
        """A boto3 client of the emulator, with the fixed test credentials or
        `credentials` (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and maybe
        AWS_SESSION_TOKEN, as credentials_env returns them)."""
        credentials = credentials or {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
            verify=self.ca_bundle or True,
        )

    def user_with_policy(self, name: str, policy: dict) -> dict:
        """An IAM user holding `policy` (inline) and nothing else, with an
        access key: its credentials, as environment variables."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        return self.access_key(name)

    def access_key(self, user: str) -> dict:
        key = self.client("iam").create_access_key(UserName=user)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def assume_role(self, role_name: str) -> dict:
        """Temporary credentials of a role, from STS (as a service gets them), as environment variables."""
        account = self.client("sts").get_caller_identity()["Account"]
        found = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role_name}",
                                               RoleSessionName=f"{role_name}-test")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": found["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": found["SecretAccessKey"],
                "AWS_SESSION_TOKEN": found["SessionToken"]}


@dataclass
class PlaybookRun:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    report: dict = field(default_factory=dict)

    @property
    def stats(self) -> dict:
        return self.report.get("stats", {}).get("localhost", {})

    @property
    def changed(self) -> int:
        return self.stats.get("changed", 0)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def task_names(self) -> list[str]:
        return [name for name, _result in self._task_results()]

    def changed_tasks(self) -> list[str]:
        return [name for name, result in self._task_results() if result.get("changed")]

    def failure_messages(self) -> list[str]:
        messages = []
        for _name, result in self._task_results():
            if result.get("failed"):
                msg = result.get("msg", "")
                messages.append("\n".join(msg) if isinstance(msg, list) else str(msg))
        return messages

    def _task_results(self):
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                result = task.get("hosts", {}).get("localhost")
                if result is not None:
                    # "network : Set-up VPC | ..." -> "Set-up VPC | ..."
                    yield task["task"]["name"].split(" : ", 1)[-1], result

    def explain(self) -> str:
        return f"$ {shlex.join(self.command)}\nrc={self.returncode}\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}"


def _playbook_command(cloud, playbook, args, inventory, extra_vars, env, json_output) -> tuple[list[str], dict]:
    command = ["ansible-playbook", "-i", inventory, playbook, *args]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    run_env = dict(os.environ)
    run_env.pop("AWS_PROFILE", None)
    # The ansible-playbook of the interpreter running the tests (.venv).
    run_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{run_env.get('PATH', '')}"
    if cloud is not None:
        run_env.update(cloud.env)
    run_env["ANSIBLE_NOCOLOR"] = "1"
    run_env["ANSIBLE_FORCE_COLOR"] = "0"
    if json_output:
        run_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    run_env.update(env or {})
    return command, run_env


def run_playbook(
    cloud: LocalCloud | None,
    playbook: str,
    *args: str,
    inventory: str = "inventories/local",
    extra_vars: dict | None = None,
    env: dict | None = None,
    json_output: bool = True,
) -> PlaybookRun:
    """Run ansible-playbook from the repository root against the cloud.

    With json_output the result carries the json callback's report (stats,
    per-task results); without it stdout is what a user would read.
    """
    command, run_env = _playbook_command(cloud, playbook, args, inventory, extra_vars, env, json_output)
    proc = subprocess.run(command, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=1800)
    report = {}
    if json_output:
        try:
            report = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            report = {}
    return PlaybookRun(command, proc.returncode, proc.stdout, proc.stderr, report)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants, as a dying controller machine would.

    Killing the process group is not enough: ansible-playbook runs each module
    in a session of its own, and an orphaned module would carry on.
    """
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    doomed, queue = [], [pid]
    while queue:
        current = queue.pop()
        doomed.append(current)
        queue.extend(children.get(current, []))
    for victim in doomed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def start_playbook(cloud: LocalCloud, playbook: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ansible-playbook in the background (kill it with kill_tree)."""
    command, run_env = _playbook_command(cloud, playbook, args, "inventories/local", None, env, False)
    return subprocess.Popen(command, cwd=REPO, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def by_name(items: list[dict], name: str) -> dict:
    """The one EC2 resource in a describe answer whose Name tag is `name`."""
    matches = [i for i in items if {"Key": "Name", "Value": name} in i.get("Tags", [])]
    assert len(matches) == 1, f"expected one {name}, found {len(matches)}"
    return matches[0]
