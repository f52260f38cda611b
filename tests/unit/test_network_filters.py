"""The network phase's filters: input validation, zone placement, NACL rules."""

from __future__ import annotations

import pytest

from network import (
    assign_availability_zones,
    cfn_logical_id,
    endpoint_logical_ids,
    nacl_errors,
    nacl_rules,
    network_conflicts,
    network_input_errors,
    network_placement_errors,
    peering_routes,
)

GOOD = {
    "vpc_cidr": "10.0.0.0/16",
    "subnets": [{"name": "a", "cidr": "10.0.0.0/20"}, {"name": "b", "cidr": "10.0.16.0/20"}],
    "https_client_cidrs": [],
    "interface_endpoints": ["ecr.api", "ecr.dkr", "logs"],
}


def with_(**changes):
    return {**GOOD, **changes}


def test_the_runbook_defaults_have_no_problems():
    assert network_input_errors(GOOD) == []


@pytest.mark.parametrize(
    "cidr, message",
    [
        ("10.0.0.0/33", "is not a valid IPv4 CIDR block"),
        ("10.0.0.1/16", "has host bits set; did you mean 10.0.0.0/16?"),
        ("not-a-cidr", "is not a valid IPv4 CIDR block"),
        ("fd00::/48", "is not an IPv4 CIDR block"),
        ("10.0.0.0/8", "must be between /16 and /28"),
        ("8.8.0.0/16", "is not a private range"),
    ],
)
def test_a_bad_vpc_cidr_is_named_with_what_is_wrong(cidr, message):
    errors = network_input_errors(with_(vpc_cidr=cidr))
    assert any(message in e for e in errors), errors


def test_private_ranges_of_all_kinds_are_accepted():
    for cidr in ("10.1.0.0/16", "172.16.0.0/16", "192.168.0.0/20", "100.64.0.0/16"):
        subnets = [{"name": "a", "cidr": cidr}, {"name": "b", "cidr": cidr}]
        errors = network_input_errors(with_(vpc_cidr=cidr, subnets=subnets))
        assert all("private range" not in e for e in errors)


def test_a_subnet_outside_the_vpc_is_refused():
    errors = network_input_errors(with_(subnets=[{"name": "a", "cidr": "10.0.0.0/20"}, {"name": "b", "cidr": "10.1.0.0/20"}]))
    assert errors == ["Subnet b CIDR 10.1.0.0/20 is outside the VPC CIDR 10.0.0.0/16"]


def test_overlapping_subnets_are_refused_naming_both():
    errors = network_input_errors(with_(subnets=[{"name": "a", "cidr": "10.0.0.0/20"}, {"name": "b", "cidr": "10.0.15.0/24"}]))
    assert errors == ["Subnets a (10.0.0.0/20) and b (10.0.15.0/24) overlap"]


def test_one_subnet_is_not_enough_and_names_must_be_unique():
    assert any("At least two" in e for e in network_input_errors(with_(subnets=[{"name": "a", "cidr": "10.0.0.0/20"}])))
    errors = network_input_errors(with_(subnets=[{"name": "a", "cidr": "10.0.0.0/20"}, {"name": "a", "cidr": "10.0.16.0/20"}]))
    assert errors == ["Subnet name a is used twice"]


def test_every_problem_is_reported_at_once():
    errors = network_input_errors(
        with_(vpc_cidr="10.0.0.0/16", subnets=[{"name": "a", "cidr": "10.0.0.0/33"}, {"name": "b", "cidr": "10.5.0.0/24"}],
              interface_endpoints=["ecr.api", "ecr.api", "Bad Name"])
    )
    assert len(errors) == 4, errors


def test_https_clients_may_not_be_the_internet_nor_the_vpc_itself():
    assert any("whole internet" in e for e in network_input_errors(with_(https_client_cidrs=["0.0.0.0/0"])))
    assert any("overlaps the VPC" in e for e in network_input_errors(with_(https_client_cidrs=["10.0.5.0/24"])))
    assert network_input_errors(with_(https_client_cidrs=["10.8.0.0/22"])) == []


def test_subnets_take_the_regions_zones_in_order_unless_they_name_one():
    subnets = [{"name": "a", "cidr": "x"}, {"name": "b", "cidr": "y", "az": "us-east-1f"}, {"name": "c", "cidr": "z"}]
    placed = assign_availability_zones(subnets, ["us-east-1a", "us-east-1b", "us-east-1c"])
    assert [s["az"] for s in placed] == ["us-east-1a", "us-east-1f", "us-east-1c"]
    assert "az" not in subnets[0], "the input is left alone"


def test_placement_needs_two_distinct_zones_of_the_region():
    zones = ["us-east-1a", "us-east-1b"]
    assert network_placement_errors([{"name": "a", "az": "us-east-1a"}, {"name": "b", "az": "us-east-1b"}], zones) == []
    errors = network_placement_errors([{"name": "a", "az": "us-east-1a"}, {"name": "b", "az": "eu-west-1a"}], zones)
    assert errors == ["Subnet b: availability zone eu-west-1a is not an available zone of this region (us-east-1a, us-east-1b)"]
    errors = network_placement_errors([{"name": "a", "az": "us-east-1a"}, {"name": "b", "az": "us-east-1a"}], zones)
    assert "one subnet per zone" in errors[0]
    assert "has no availability zone" in network_placement_errors([{"name": "a", "az": ""}], zones)[-1]
    assert "the private subnets need two" in network_placement_errors([], ["us-east-1a"])[0]


RUNBOOK = [
    {"number": 100, "protocol": "tcp", "action": "allow", "cidr": "10.0.0.0/16", "from_port": 443, "to_port": 443},
    {"number": 110, "protocol": "tcp", "action": "allow", "cidr": "10.0.0.0/16", "from_port": 1024, "to_port": 65535},
]


def test_nacl_rules_add_one_numbered_rule_per_prefix_list_cidr():
    s3 = ["52.216.0.0/15", "3.5.0.0/19"]
    entries = nacl_rules(RUNBOOK, [{"start": 200, "cidrs": s3, "ports": [443, 443]}])
    assert entries == [
        [100, "tcp", "allow", "10.0.0.0/16", None, None, 443, 443],
        [110, "tcp", "allow", "10.0.0.0/16", None, None, 1024, 65535],
        [200, "tcp", "allow", "52.216.0.0/15", None, None, 443, 443],
        [210, "tcp", "allow", "3.5.0.0/19", None, None, 443, 443],
    ]


def test_nacl_rules_with_nothing_generated_are_the_declared_ones_sorted():
    assert [e[0] for e in nacl_rules(list(reversed(RUNBOOK)))] == [100, 110]


def test_nacl_errors_catch_clashing_numbers_the_internet_and_the_quota():
    clash = nacl_rules(RUNBOOK, [{"start": 100, "cidrs": ["3.5.0.0/19"], "ports": [443, 443]}])
    assert nacl_errors(clash, "egress", 20) == ["NACL egress rule numbers used twice: 100"]
    world = nacl_rules([{"number": 50, "cidr": "0.0.0.0/0", "from_port": 22, "to_port": 22}])
    assert "allows 0.0.0.0/0" in nacl_errors(world, "ingress", 20)[0]
    many = nacl_rules(RUNBOOK, [{"start": 200, "cidrs": [f"3.5.{i}.0/24" for i in range(19)], "ports": [443, 443]}])
    assert "needs 21 rules but the account allows 20" in nacl_errors(many, "ingress", 20)[0]
    assert nacl_errors(many, "ingress", 40) == []


def test_nacl_errors_catch_bad_protocols_actions_and_ports():
    bad = [[100, "gre", "maybe", "10.0.0.0/16", None, None, 0, 0], [110, "tcp", "allow", "10.0.0.0/16", None, None, 500, 400]]
    errors = nacl_errors(bad, "ingress", 20)
    assert errors == [
        "NACL ingress rule 100: protocol gre is not one of tcp, udp, icmp, all",
        "NACL ingress rule 100: action maybe is not allow or deny",
        "NACL ingress rule 110: port range 500-400 is not valid",
    ]


def test_conflicts_refuse_foreign_resources_and_moved_cidrs():
    existing = {
        "resources": {
            "vpc1": {"type": "vpc", "id": "vpc-1", "cidr_block": "10.9.0.0/16"},
            "a": {"type": "subnet", "id": "subnet-1", "cidr_block": "10.0.0.0/20", "availability_zone": "us-east-1b"},
        },
        "foreign": [{"type": "security_group", "id": "sg-9", "name": "sg", "tags": {"Environment": "validation"}}],
    }
    problems = network_conflicts(existing, "vpc1", "10.0.0.0/16", [{"name": "a", "cidr": "10.0.0.0/20", "az": "us-east-1a"}])
    assert len(problems) == 3
    assert "sg-9" in problems[0] and "another project or environment" in problems[0]
    assert "cannot change its CIDR" in problems[1]
    assert "a subnet cannot move" in problems[2]
    assert network_conflicts({"resources": {}, "foreign": []}, "vpc1", "10.0.0.0/16", []) == []


@pytest.mark.parametrize(
    "service, logical_id",
    [("ecr.api", "EcrApiEndpoint"), ("ecs-agent", "EcsAgentEndpoint"), ("logs", "LogsEndpoint"), ("ssmmessages", "SsmmessagesEndpoint")],
)
def test_endpoint_services_get_cloudformation_logical_ids(service, logical_id):
    assert cfn_logical_id(service) == logical_id


DEPLOYED = """Resources:
  S3GatewayEndpoint:
    Type: AWS::EC2::VPCEndpoint
  LogsEndpointR2:
    Type: AWS::EC2::VPCEndpoint
  StsEndpoint:
    Type: AWS::EC2::VPCEndpoint
"""


def test_endpoint_logical_ids_keep_the_deployed_ones_and_revise_only_the_gone():
    assert endpoint_logical_ids("", ["logs", "ecr.api"]) == {
        "S3GatewayEndpoint": "S3GatewayEndpoint", "LogsEndpoint": "LogsEndpoint", "EcrApiEndpoint": "EcrApiEndpoint"}
    assert endpoint_logical_ids(DEPLOYED, ["logs", "sts"]) == {
        "S3GatewayEndpoint": "S3GatewayEndpoint", "LogsEndpoint": "LogsEndpointR2", "StsEndpoint": "StsEndpoint"}
    revised = endpoint_logical_ids(DEPLOYED, ["logs", "sts"], ["LogsEndpointR2", "StsEndpoint", "S3GatewayEndpoint"])
    assert revised == {"S3GatewayEndpoint": "S3GatewayEndpointR2", "LogsEndpoint": "LogsEndpointR3", "StsEndpoint": "StsEndpointR2"}


def test_peering_routes_send_each_cidr_through_the_connection_and_none_without_one():
    assert peering_routes(["10.1.0.10/32", "10.1.1.0/24"], "pcx-1") == [
        {"dest": "10.1.0.10/32", "vpc_peering_connection_id": "pcx-1"},
        {"dest": "10.1.1.0/24", "vpc_peering_connection_id": "pcx-1"},
    ]
    assert peering_routes(["10.1.0.10/32"], "") == []
    assert peering_routes([], "pcx-1") == []
