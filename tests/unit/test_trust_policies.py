"""The service roles' trust policies, as the roles render them: each role a
service assumes on behalf of a resource is limited to this account's own
resources in this region (the confused-deputy conditions), and verify
checks every such role (BAT-07, AUD-12).

The policies are rendered by scripts/render-policies.yml for a stand-in
account, in a region other than us-east-1, so a hard-coded region or
account would show.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from controls import SOURCE_ARN_SERVICE, trust_problems

REPO = Path(__file__).resolve().parents[2]
SCOPE = {"partition": "aws", "account_id": "444455556666", "region": "eu-central-2"}
# The roles whose service sets no source keys when it assumes them, and why
# they are left out (roles/batch/vars/main.yml, roles/audit/vars/main.yml,
# roles/storage/vars/main.yml).
UNCONDITIONED = {"ec2.amazonaws.com", "spotfleet.amazonaws.com", "cloudtrail.amazonaws.com", "backup.amazonaws.com"}


@pytest.fixture(scope="module")
def trust_policies(tmp_path_factory):
    directory = tmp_path_factory.mktemp("policies")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal", ANSIBLE_NOCOLOR="1")
    run = subprocess.run(
        ["ansible-playbook", "-i", "inventories/local-production", "scripts/render-policies.yml",
         "-e", f"render_dir={directory}", "-e", f"render_account={SCOPE['account_id']}", "-e", f"render_region={SCOPE['region']}",
         "-e", "batch_spot=true"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return {path.name.removeprefix("trust--").removesuffix(".json"): json.loads(path.read_text())
            for path in directory.glob("trust--*.json")}


def service_of(document):
    (statement,) = document["Statement"]
    return statement["Principal"]["Service"]


def test_every_role_a_service_assumes_for_a_resource_admits_only_this_accounts_resources_here(trust_policies):
    conditioned = {name: doc for name, doc in trust_policies.items() if service_of(doc) in SOURCE_ARN_SERVICE}
    assert {service_of(doc) for doc in conditioned.values()} == set(SOURCE_ARN_SERVICE)
    for name, document in conditioned.items():
        assert trust_problems(document, service_of(document), SCOPE) == [], name
    service_role = trust_policies["rnaseq-batch-service-role"]["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert service_role == ["arn:aws:batch:eu-central-2:444455556666:compute-environment/rnaseq-on-demand",
                            "arn:aws:batch:eu-central-2:444455556666:compute-environment/rnaseq-spot",
                            "arn:aws:batch:eu-central-2:444455556666:job/*"]


def test_the_roles_left_without_conditions_are_those_whose_service_sends_no_source_keys(trust_policies):
    bare = {name for name, doc in trust_policies.items() if "Condition" not in doc["Statement"][0]}
    assert {service_of(trust_policies[name]) for name in bare} == UNCONDITIONED
    assert all(service_of(doc) in UNCONDITIONED for name, doc in trust_policies.items() if name in bare)


def test_verify_checks_every_role_that_carries_conditions(trust_policies):
    baseline = yaml.safe_load((REPO / "roles" / "verify" / "vars" / "main.yml").read_text())
    checked = {role["service"] for phase in ("verify_batch", "verify_audit") for role in baseline[phase]["trusted_roles"]}
    assert checked == set(SOURCE_ARN_SERVICE)
    names = [role["name"] for phase in ("verify_batch", "verify_audit") for role in baseline[phase]["trusted_roles"]]
    conditioned = sorted(name for name, doc in trust_policies.items() if "Condition" in doc["Statement"][0])
    defaults = {**yaml.safe_load((REPO / "roles" / "contract" / "defaults" / "main.yml").read_text()),
                **yaml.safe_load((REPO / "roles" / "batch" / "defaults" / "main.yml").read_text()),
                **yaml.safe_load((REPO / "roles" / "audit" / "defaults" / "main.yml").read_text())}
    assert sorted(defaults[name.strip("{} ")] for name in names) == conditioned
