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


def test_verify_falls_back_to_the_network_roles_defaults():
    network = load(REPO / "roles" / "network" / "defaults" / "main.yml")
    verify = load(REPO / "roles" / "verify" / "defaults" / "main.yml")["verify_network"]
    env = jinja2.Environment()
    # Rendered with no network variable set: the literal fallbacks.
    fallback = {k: yaml.safe_load(env.from_string(v).render()) if isinstance(v, str) else v for k, v in verify.items()}
    assert fallback["vpc_name"] == network["network_vpc_name"]
    assert fallback["vpc_cidr"] == network["network_vpc_cidr"]
    assert fallback["subnet_names"] == [s["name"] for s in network["network_private_subnets"]]
    assert fallback["nacl_name"] == network["network_nacl_name"]
    assert fallback["route_table_name"] == network["network_route_table_name"]
    assert fallback["endpoint_sg_name"] == network["network_endpoint_sg_name"]
    assert fallback["compute_sg_name"] == network["network_compute_sg_name"]
    assert fallback["interface_endpoints"] == network["network_interface_endpoints"]
    assert fallback["https_client_cidrs"] == network["network_https_client_cidrs"]
