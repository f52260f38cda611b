"""The playbooks' wiring: module defaults, phase order, settings entry points."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LIBRARY = sorted(p.stem for p in (REPO / "library").glob("*.py"))
PLAYS = sorted(list((REPO / "playbooks").glob("*.yml")) + list((REPO / "molecule").glob("*/converge.yml"))
               + list((REPO / "molecule").glob("*/verify.yml")))
PHASES = ["network", "identity", "storage", "audit", "registry", "batch", "access"]


def plays(path):
    return [play for play in yaml.safe_load(path.read_text()) if "hosts" in play]


def aws_plays(path):
    """The plays that talk to AWS: those of the account's group (host plays configure machines)."""
    return [play for play in plays(path) if play["hosts"] == "aws_account"]


ACTION_GROUP = REPO / "collections" / "ansible_collections" / "rnaseq_hipaa" / "toolkit" / "meta" / "runtime.yml"


@pytest.mark.parametrize("path", [p for p in PLAYS if aws_plays(p)], ids=lambda p: str(p.relative_to(REPO)))
def test_every_aws_play_takes_the_inventorys_connection_through_the_toolkits_action_group(path):
    for play in aws_plays(path):
        assert play["module_defaults"] == {"group/rnaseq_hipaa.toolkit.aws": "{{ toolkit_aws_connection }}"}
        assert play.get("gather_facts") is False


def test_the_action_group_holds_every_aws_module_the_toolkit_runs():
    """A module left out of the group would run with the default credential chain and no endpoint."""
    group = yaml.safe_load(ACTION_GROUP.read_text())["action_groups"]["aws"]
    metadata, *modules = group
    assert metadata == {"metadata": {"extend_group": ["amazon.aws.aws", "community.aws.aws"]}}
    assert modules == [f"ansible.legacy.{name}" for name in LIBRARY]


@pytest.mark.parametrize("path", PLAYS, ids=lambda p: str(p.relative_to(REPO)))
def test_host_plays_keep_ansibles_own_strategy_and_aws_plays_take_ansible_cfgs(path):
    """The AWS plays take ansible.cfg's strategy or the Mitogen opt-in; the plays that configure hosts over SSH stay on `linear`."""
    for play in plays(path):
        if play["hosts"] in ("bastion", "openvpn"):
            assert play.get("strategy") == "linear", play["name"]
        elif play["hosts"] == "aws_account":
            assert "strategy" not in play, play["name"]


def test_site_runs_the_phases_in_the_runbooks_order_then_waits_for_what_they_started():
    site = yaml.safe_load((REPO / "playbooks" / "site.yml").read_text())
    *phases, waits = site
    assert [entry["ansible.builtin.import_playbook"] for entry in phases] == [f"{phase}.yml" for phase in PHASES]
    # Only the phases that start a long wait are told to leave it to the last play, which waits for each of them.
    later = [entry["ansible.builtin.import_playbook"] for entry in phases if entry.get("vars", {}).get("toolkit_wait_later")]
    assert later == ["network.yml", "batch.yml"]
    waited = [(task["ansible.builtin.import_role"]["name"], task["ansible.builtin.import_role"]["tasks_from"])
              for task in waits["tasks"]]
    assert waited == [("network", "endpoints_wait.yml"), ("batch", "compute_environments_wait.yml"),
                      ("batch", "job_queues.yml")]
    assert waits["hosts"] == "aws_account"


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_is_a_playbook_of_its_own_with_its_role_tag(phase):
    play, *host_plays = plays(REPO / "playbooks" / f"{phase}.yml")
    assert all(p["hosts"] != "aws_account" for p in host_plays)
    assert play["roles"] == [{"role": phase, "tags": [phase]}]
    assert (REPO / "roles" / phase / "tasks" / "settings.yml").exists()


@pytest.mark.parametrize("inventory", ["local", "validation", "production"])
def test_every_inventory_names_its_environment_connection_and_ownership_tags(inventory):
    values = yaml.safe_load((REPO / "inventories" / inventory / "group_vars" / "all" / "main.yml").read_text())
    assert values["toolkit_environment"] == inventory
    assert {"Project", "Environment"} <= set(values["toolkit_tags"])
    assert "region" in values["toolkit_aws_connection"]
    emulated = values["toolkit_aws_emulated"]
    assert emulated is (inventory == "local")
    # Only the local cloud may carry credentials, and only fake ones.
    assert ("access_key" in values["toolkit_aws_connection"]) is emulated


ROLE_EXAMPLES = [p for p in sorted((REPO / "roles").glob("*/README.md")) if "module_defaults:" in p.read_text()]


@pytest.mark.parametrize("readme", ROLE_EXAMPLES, ids=lambda p: p.parent.name)
def test_each_role_readmes_example_takes_the_connection_as_the_playbooks_do(readme):
    example = readme.read_text().split("## Example Playbook", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    for play in yaml.safe_load(example):
        assert play["module_defaults"] == {"group/rnaseq_hipaa.toolkit.aws": "{{ toolkit_aws_connection }}"}


def inventory_values(inventory):
    """An inventory's group_vars/all, its files merged in order as Ansible merges them."""
    merged = {}
    for path in sorted((REPO / "inventories" / inventory / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()))
    return merged


def test_the_production_shaped_local_inventory_is_the_local_cloud_with_productions_security_settings():
    local, production = inventory_values("local-production"), inventory_values("production")
    assert local["toolkit_environment"] == "local-production" and local["toolkit_aws_emulated"] is True
    assert local["toolkit_aws_connection"] == inventory_values("local")["toolkit_aws_connection"]
    for setting in ("storage_restrict_to_vpc", "storage_vpc_bypass_principal_arns", "storage_backup_retention_days",
                    "storage_backup_vault_lock", "identity_exclusive_membership",
                    "network_https_client_cidrs", "network_interface_endpoints_extra"):
        assert local[setting] == production[setting], setting
    assert local["toolkit_tags"] == production["toolkit_tags"]
    assert local["identity_administrators"] and local["identity_administrators_required"] is True
    assert local["identity_pipeline_operators"] and local["audit_alarm_emails"]
    # The scan gate is required, and waived only with a stated reason.
    assert local["registry_scan_required"] is True and (local["registry_scan"] or local["registry_scan_waiver"])
