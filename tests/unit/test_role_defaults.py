"""Role interfaces stay consistent: argument specs, defaults and verify's baseline."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def load(path):
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_described_in_the_argument_spec_and_the_reverse(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    options = load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert spec.get("description"), f"{name} has no description"
        assert name.startswith(f"{role}_"), f"{name} lacks the role prefix"


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
        rendered = yaml.safe_load(env.from_string(yaml.safe_dump(value)).render(**defaults))
        assert rendered == options[name]["default"], name
