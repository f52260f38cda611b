"""Role interfaces stay consistent: argument specs, defaults and verify's baseline."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import jinja2
import pytest
import yaml
from support.cloud import SITE_PHASES as PHASES

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def load(path):
    return yaml.safe_load(path.read_text()) or {}


CONTRACT = load(REPO / "roles" / "contract" / "defaults" / "main.yml")


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_described_in_the_argument_spec_and_the_reverse(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    options = load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("description"), f"{name} has no description"
        # The contract's names keep the prefix of the phase that makes them.
        prefixes = tuple(f"{phase}_" for phase in PHASES) if role == "contract" else (f"{role}_",)
        assert name.startswith(prefixes), f"{name} lacks the role prefix"


# scripts/gen-docs, as a module: docs/phases.md lists the settings each phase loads with the reader used here.
_LOADER = importlib.machinery.SourceFileLoader("gen_docs", str(REPO / "scripts" / "gen-docs"))
GEN_DOCS = importlib.util.module_from_spec(importlib.util.spec_from_loader("gen_docs", _LOADER))
_LOADER.exec_module(GEN_DOCS)


def settings_loaded(role: str) -> list[str]:
    """The roles whose settings.yml a role's task files include, by name or in a loop."""
    return GEN_DOCS._settings_read(REPO / "roles" / role)


@pytest.mark.parametrize("phase", PHASES)
def test_a_phase_reads_the_shared_names_from_the_contract_and_loads_no_later_phase(phase):
    """No cycle between the phases: each depends on roles/contract for the names
    they share, and loads the settings of earlier phases only."""
    meta = load(REPO / "roles" / phase / "meta" / "main.yml")
    assert {"role": "contract"} in meta["dependencies"]
    loaded = settings_loaded(phase)
    assert loaded == [name for name in loaded if name in PHASES], loaded
    later = [name for name in loaded if PHASES.index(name) >= PHASES.index(phase)]
    assert later == [], f"{phase} loads the settings of {later}, which run after it: move the names into roles/contract"


def _literal_strings(value):
    """The plain strings in a default, skipping templated ones (they follow other names)."""
    if isinstance(value, str):
        return [] if "{{" in value else [value]
    if isinstance(value, list):
        return [text for item in value for text in _literal_strings(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _literal_strings(item)]
    return []


@pytest.mark.parametrize("role", [role for role in ROLES if role != "contract"])
def test_no_default_repeats_a_contract_name_as_a_literal(role):
    """A name of the contract is written once: a default that needs it (the
    key's users, the repositories' pullers) follows it by template, so renaming
    it in an inventory renames it everywhere."""
    # Prefixes are fragments: another "rnaseq-" (Config rules') is a name of its own.
    names = {value for key, value in CONTRACT.items() if isinstance(value, str) and not key.endswith("_prefix")}
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    repeats = {name: text for name, value in defaults.items() for text in _literal_strings(value) if text in names}
    assert repeats == {}


def test_the_check_of_loaded_settings_sees_a_loop_and_a_single_include():
    assert settings_loaded("audit") == ["network", "identity", "storage"]
    assert settings_loaded("verify")[:2] == ["network", "identity"]


@pytest.mark.parametrize("role", ROLES)
def test_literal_defaults_match_the_argument_spec(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    options = load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    env = jinja2.Environment()
    for name, value in defaults.items():
        if "default" not in options[name]:
            continue
        if isinstance(value, str) and "{{" in value:
            continue  # follows an inventory value; documented in prose
        # A phase's defaults may follow the contract's names (roles/contract, a dependency).
        rendered = yaml.safe_load(env.from_string(yaml.safe_dump(value)).render(**{**CONTRACT, **defaults}))
        assert rendered == options[name]["default"], name
