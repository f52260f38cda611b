"""Runs the toolkit's modules in-process, as Ansible would, for unit tests.

The modules import their shared plumbing as ansible.module_utils.<name>;
here those names point at the files of module_utils/. A module's exit_json
and fail_json end the run by SystemExit; run_module returns their result.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[2]



def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Every file of module_utils/ under the name Ansible gives it; toolkit_aws
# first, as the others import it.
toolkit_aws = _load("ansible.module_utils.toolkit_aws", REPO / "module_utils" / "toolkit_aws.py")
for _path in sorted((REPO / "module_utils").glob("*.py")):
    if _path.stem != "toolkit_aws":
        _load(f"ansible.module_utils.{_path.stem}", _path)


def load_module(name: str):
    return _load(f"toolkit_library_{name}", REPO / "library" / f"{name}.py")


def run_module(module, args: dict) -> dict:
    """Run module.main() with `args`; return what it passed to exit_json or fail_json."""
    args = {"region": "us-east-1", "access_key": "testing", "secret_key": "testing", **args}
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())


def module_client(service: str, region: str = "us-east-1"):
    """A boto3 client as the toolkit's modules make one, module.client(service), with no retry
    decorator (botocore retries): for tests that hand a client to a module's helpers."""
    import boto3

    return boto3.client(service, region_name=region)
