"""The verify controls, evaluated on a network state recorded from the emulator.

fixtures/network_state.json is what verify gathered from a converged
network; each test breaks one thing in a copy and expects the matching
control, and only it, to fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

import controls
from controls import control_failures, controls_summary, markdown_cell
from diagram import network_diagram
from network_controls import network_controls

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "network_state.json").read_text())


@pytest.fixture
def state():
    return copy.deepcopy(RECORDED["state"])


@pytest.fixture
def baseline():
    return copy.deepcopy(RECORDED["baseline"])


def failed(results):
    return sorted(r["id"] for r in results if r["status"] == "fail")


def named(items, name):
    return next(i for i in items if i.get("tags", {}).get("Name") == name or i.get("group_name") == name)


def test_the_recorded_converged_network_passes_every_control(state, baseline):
    results = network_controls(state, baseline)
    assert len(results) == 16
    assert failed(results) == []
    assert controls_summary(results) == {"total": 16, "evaluated": 16, "passed": 16, "failed": 0, "not_evaluated": 0}
    assert control_failures(results) == []


def test_verify_evaluates_a_phase_by_its_name_and_refuses_a_phase_without_controls(state, baseline):
    assert controls.phase_controls(state, "network", baseline) == network_controls(state, baseline)
    with pytest.raises(ValueError, match="no controls for phase 'openvpn'"):
        controls.phase_controls(state, "openvpn", baseline)


def test_each_phases_controls_are_its_own_and_the_catalogue_keeps_the_phases_order():
    catalogue = list(controls.catalogue().values())
    assert [c.phase for c in catalogue] == sorted((c.phase for c in catalogue), key=controls.PHASES.index)
    assert len({c.id for c in catalogue}) == len(catalogue)
    for phase in controls.PHASES:
        module = __import__(f"{phase}_controls")
        assert module.CONTROLS and {c.phase for c in module.CONTROLS.values()} == {phase}


def test_every_control_cites_a_hipaa_safeguard_and_how_to_repair_it(state, baseline):
    for result in network_controls(state, baseline):
        assert result["hipaa"] and all(h.startswith(("164.308", "164.312")) for h in result["hipaa"])
        assert result["repair"] == f"ansible-playbook playbooks/{result['phase']}.yml --tags {result['tag']}"


def _step_tags(phase):
    """The tags of a phase role's steps (tasks/main.yml), and of the roles its playbook runs."""
    root = Path(__file__).resolve().parents[2]
    steps = yaml.safe_load((root / "roles" / phase / "tasks" / "main.yml").read_text())
    plays = yaml.safe_load((root / "playbooks" / f"{phase}.yml").read_text())
    roles = [role for play in plays for role in play.get("roles") or [] if isinstance(role, dict)]
    return {tag for item in steps + roles for tag in item.get("tags") or []}


def test_every_controls_repair_command_names_a_tag_its_phase_has():
    untagged = [f"{c.id}: --tags {c.tag}" for c in controls.catalogue().values() if c.tag not in _step_tags(c.phase) - {"always"}]
    assert untagged == []


def test_a_missing_vpc_fails_everything(state, baseline):
    state["vpc"] = None
    assert len(failed(network_controls(state, baseline))) == 16


def test_an_attached_internet_gateway_fails_net_02(state, baseline):
    state["internet_gateways"] = [{"internet_gateway_id": "igw-1"}]
    assert failed(network_controls(state, baseline)) == ["NET-02"]


def test_a_nat_gateway_fails_net_03_unless_deleted(state, baseline):
    state["nat_gateways"] = [{"nat_gateway_id": "nat-1", "state": "deleted"}]
    assert failed(network_controls(state, baseline)) == []
    state["nat_gateways"] = [{"nat_gateway_id": "nat-1", "state": "available"}]
    assert failed(network_controls(state, baseline)) == ["NET-03"]


def test_a_subnet_assigning_public_ips_fails_net_04(state, baseline):
    named(state["subnets"], "rna-seq-private-subnet-az1")["map_public_ip_on_launch"] = True
    assert failed(network_controls(state, baseline)) == ["NET-04"]


def test_a_default_route_fails_net_05_and_a_declared_peer_does_not(state, baseline):
    table = named(state["route_tables"], "rna-seq-private-rt")
    table["routes"].append({"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1"})
    results = network_controls(state, baseline)
    assert failed(results) == ["NET-05"]
    assert "0.0.0.0/0 -> igw-1" in next(r for r in results if r["id"] == "NET-05")["found"]
    table["routes"][-1] = {"destination_cidr_block": "10.1.0.0/16", "gateway_id": None, "vpc_peering_connection_id": "pcx-1"}
    assert failed(network_controls(state, baseline)) == ["NET-05"]
    baseline["peer_cidrs"] = ["10.1.0.0/16"]
    assert failed(network_controls(state, baseline)) == []


def test_a_subnet_moved_to_another_route_table_fails_net_06(state, baseline):
    table = named(state["route_tables"], "rna-seq-private-rt")
    table["associations"] = [a for a in table["associations"] if not a.get("subnet_id")]
    assert failed(network_controls(state, baseline)) == ["NET-06"]


def test_a_subnet_on_the_default_nacl_fails_net_07(state, baseline):
    named(state["nacls"], "rna-seq-private-nacl")["subnets"].pop()
    assert failed(network_controls(state, baseline)) == ["NET-07"]


@pytest.mark.parametrize(
    "direction, entry, failing",
    [
        ("ingress", [150, "tcp", "allow", "198.51.100.0/24", None, None, 22, 22], ["NET-08"]),
        ("ingress", [150, "all", "allow", "0.0.0.0/0", None, None, 0, 65535], ["NET-08", "NET-16"]),
        ("egress", [150, "tcp", "allow", "198.51.100.0/24", None, None, 443, 443], ["NET-08"]),
    ],
)
def test_a_nacl_rule_admitting_the_outside_fails_net_08(state, baseline, direction, entry, failing):
    named(state["nacls"], "rna-seq-private-nacl")[direction].append(entry)
    assert failed(network_controls(state, baseline)) == failing


@pytest.mark.parametrize("entry, opens", [
    ([100, "all", "allow", "0.0.0.0/0", None, None, 0, 65535], True),   # the default NACL as AWS makes it
    ([100, "tcp", "allow", "::/0", None, None, 22, 22], True),
    ([100, "tcp", "allow", "0.0.0.0/0", None, None, 1024, 65535], True),  # covers RDP's 3389
    ([100, "tcp", "allow", "0.0.0.0/0", None, None, 3390, 65535], False),
    ([100, "all", "deny", "0.0.0.0/0", None, None, 0, 65535], False),
    ([100, "tcp", "allow", "198.51.100.0/24", None, None, 22, 22], False),
])
def test_the_default_nacl_with_any_rule_open_to_the_world_fails_net_16(state, baseline, entry, opens):
    default = next(n for n in state["nacls"] if n["is_default"])
    default["ingress"].append(entry)
    assert failed(network_controls(state, baseline)) == (["NET-16"] if opens else [])


def test_a_deny_rule_or_a_declared_client_range_is_fine_for_net_08(state, baseline):
    nacl = named(state["nacls"], "rna-seq-private-nacl")
    nacl["ingress"].append([90, "all", "deny", "0.0.0.0/0", None, None, 0, 65535])
    nacl["ingress"].append([300, "tcp", "allow", "10.8.0.0/22", None, None, 443, 443])
    nacl["egress"].append([300, "tcp", "allow", "10.8.0.0/22", None, None, 1024, 65535])
    assert failed(network_controls(state, baseline)) == ["NET-08"]
    baseline["https_client_cidrs"] = ["10.8.0.0/22"]
    assert failed(network_controls(state, baseline)) == []


def test_s3_rules_must_be_https_out_and_replies_in(state, baseline):
    nacl = named(state["nacls"], "rna-seq-private-nacl")
    s3 = state["s3_prefix_list"]["cidrs"][0]
    nacl["egress"].append([290, "tcp", "allow", s3, None, None, 22, 22])
    assert failed(network_controls(state, baseline)) == ["NET-08"]


def test_a_missing_s3_rule_fails_net_08(state, baseline):
    nacl = named(state["nacls"], "rna-seq-private-nacl")
    s3 = state["s3_prefix_list"]["cidrs"][0]
    nacl["egress"] = [e for e in nacl["egress"] if e[3] != s3]
    assert failed(network_controls(state, baseline)) == ["NET-08"]


def test_a_rule_on_the_default_security_group_fails_net_09(state, baseline):
    named(state["security_groups"], "default")["ip_permissions_egress"].append(
        {"ip_protocol": "-1", "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}
    )
    assert failed(network_controls(state, baseline)) == ["NET-09"]


def test_ssh_from_the_world_on_the_compute_group_fails_net_10_and_net_12(state, baseline):
    named(state["security_groups"], "rna-seq-compute-sg")["ip_permissions"].append(
        {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}
    )
    assert failed(network_controls(state, baseline)) == ["NET-10", "NET-12"]


def test_compute_egress_beyond_the_endpoints_and_s3_fails_net_10(state, baseline):
    named(state["security_groups"], "rna-seq-compute-sg")["ip_permissions_egress"].append(
        {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}
    )
    assert failed(network_controls(state, baseline)) == ["NET-10"]


def test_the_endpoint_group_admitting_another_range_fails_net_11(state, baseline):
    named(state["security_groups"], "rna-seq-vpc-endpoint-sg")["ip_permissions"].append(
        {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "ip_ranges": [{"cidr_ip": "192.0.2.0/24"}]}
    )
    assert failed(network_controls(state, baseline)) == ["NET-11"]


def test_a_missing_gateway_endpoint_fails_net_13(state, baseline):
    state["endpoints"] = [e for e in state["endpoints"] if not e["service_name"].endswith(".s3")]
    assert failed(network_controls(state, baseline)) == ["NET-13"]


def test_a_missing_or_weakened_interface_endpoint_fails_net_14(state, baseline):
    logs = next(e for e in state["endpoints"] if e["service_name"].endswith(".logs"))
    logs["private_dns_enabled"] = False
    results = network_controls(state, baseline)
    assert failed(results) == ["NET-14"]
    assert "logs: private DNS off" in next(r for r in results if r["id"] == "NET-14")["found"]
    state["endpoints"].remove(logs)
    assert "logs: missing" in next(r for r in network_controls(state, baseline) if r["id"] == "NET-14")["found"]


FULL_ACCESS = json.dumps({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})


def net_15(state, baseline):
    results = network_controls(state, baseline)
    assert failed(results) == ["NET-15"]
    return next(r for r in results if r["id"] == "NET-15")["found"]


def test_an_endpoint_with_aws_default_policy_fails_net_15(state, baseline):
    gateway = next(e for e in state["endpoints"] if e["service_name"].endswith(".s3"))
    gateway["policy_document"] = FULL_ACCESS
    found = net_15(state, baseline)
    assert "s3 (gateway): allows writes to another account's bucket" in found
    assert "allows another account's principals" in found


def test_an_interface_endpoint_open_to_other_accounts_fails_net_15_and_one_closed_to_its_own_too(state, baseline):
    sts = next(e for e in state["endpoints"] if e["service_name"].endswith(".sts"))
    sts["policy_document"] = FULL_ACCESS
    assert net_15(state, baseline) == "sts (interface): allows another account's principals"
    sts["policy_document"] = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]})
    assert net_15(state, baseline) == "sts (interface): refuses this account's principals"


def test_a_gateway_policy_without_ecr_layer_reads_fails_net_15(state, baseline):
    gateway = next(e for e in state["endpoints"] if e["service_name"].endswith(".s3"))
    policy = json.loads(gateway["policy_document"])
    policy["Statement"][1]["Resource"] = policy["Statement"][1]["Resource"][1:]
    gateway["policy_document"] = json.dumps(policy)
    assert net_15(state, baseline) == "s3 (gateway): refuses reads of prod-us-east-1-starport-layer-bucket"


def test_a_service_that_takes_no_endpoint_policy_keeps_aws_default_and_passes_net_15_saying_so(state, baseline):
    agent = next(e for e in state["endpoints"] if e["service_name"].endswith(".ecs-agent"))
    agent["policy_document"] = FULL_ACCESS
    baseline["endpoint_services"]["ecs-agent"]["policy_supported"] = False
    result = next(r for r in network_controls(state, baseline) if r["id"] == "NET-15")
    assert result["status"] == "pass"
    assert "AWS's default policy on ecs-agent: the service takes no endpoint policy" in result["found"]

def test_failures_print_one_line_each_with_the_repair_command(state, baseline):
    state["internet_gateways"] = [{"internet_gateway_id": "igw-1"}]
    lines = control_failures(network_controls(state, baseline))
    assert lines == [
        f"NET-02 FAIL No internet gateway is attached to the production VPC: {state['vpc']['id']}: found igw-1 "
        "(repair: ansible-playbook playbooks/network.yml --tags vpc)"
    ]


def test_the_diagram_is_drawn_from_the_state_and_shows_unexpected_gateways(state, baseline):
    diagram = network_diagram(state, baseline)
    assert diagram.startswith("flowchart LR")
    assert "rna-seq-private-subnet-az1" in diagram and "endpoint ecr.api" in diagram
    assert "internet gateway" not in diagram
    state["internet_gateways"] = [{"internet_gateway_id": "igw-1"}]
    assert "internet gateway (not expected)" in network_diagram(state, baseline)
    assert "no toolkit VPC found" in network_diagram({"vpc": None}, baseline)


def test_markdown_cells_escape_pipes_and_newlines():
    assert markdown_cell("a|b\nc") == "a\\|b<br>c"
