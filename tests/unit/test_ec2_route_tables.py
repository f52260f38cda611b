"""ec2_route_tables: routes, subnet associations and tags of tables found by ID, read in one call."""

from __future__ import annotations

import pytest

from support.module_harness import load_module, run_module

ec2_route_tables = load_module("ec2_route_tables")
TAGS = {"Project": "p", "Name": "private-rt"}


@pytest.fixture
def vpc(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    return {"vpc_id": vpc_id, "subnets": subnets, "table": table, "igw": igw}


def declared(vpc, routes=None, subnets=None, **extra):
    return {"route_tables": [{"id": vpc["table"], "tags": TAGS, "subnets": vpc["subnets"] if subnets is None else subnets,
                              "routes": routes or []}], **extra}


def table(ec2, vpc):
    return ec2.describe_route_tables(RouteTableIds=[vpc["table"]])["RouteTables"][0]


def routes(ec2, vpc):
    return sorted((r["DestinationCidrBlock"], r.get("GatewayId")) for r in table(ec2, vpc)["Routes"] if r.get("DestinationCidrBlock"))


def test_routes_subnets_and_tags_are_made_then_nothing(ec2, vpc):
    wanted = declared(vpc, routes=[{"dest": "0.0.0.0/0", "gateway_id": vpc["igw"]}])
    first = run_module(ec2_route_tables, wanted)
    assert first["changes"] == {vpc["table"]: ["routes", "subnets", "tags"]}
    assert routes(ec2, vpc) == [("0.0.0.0/0", vpc["igw"]), ("10.0.0.0/16", "local")]
    assert sorted(a["SubnetId"] for a in table(ec2, vpc)["Associations"]) == sorted(vpc["subnets"])
    assert {t["Key"]: t["Value"] for t in table(ec2, vpc)["Tags"]} == TAGS
    assert run_module(ec2_route_tables, wanted)["changed"] is False


def test_check_mode_plans_without_writing_and_a_planned_table_is_reported(ec2, vpc):
    planned = run_module(ec2_route_tables, {**declared(vpc, routes=[{"dest": "0.0.0.0/0", "gateway_id": vpc["igw"]}]),
                                            "_ansible_check_mode": True})
    assert planned["changes"] == {vpc["table"]: ["routes", "subnets", "tags"]}
    assert routes(ec2, vpc) == [("10.0.0.0/16", "local")] and table(ec2, vpc)["Associations"] == []
    new = run_module(ec2_route_tables, {"route_tables": [{"id": ""}], "_ansible_check_mode": True})
    assert new["changes"] == {"(planned)": ["created"]}
    assert "only planned in check mode" in run_module(ec2_route_tables, {"route_tables": [{"id": ""}]})["msg"]


def test_an_undeclared_route_goes_and_a_subnet_held_by_another_table_moves_here(ec2, vpc):
    ec2.create_route(RouteTableId=vpc["table"], DestinationCidrBlock="0.0.0.0/0", GatewayId=vpc["igw"])
    other = ec2.create_route_table(VpcId=vpc["vpc_id"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=vpc["subnets"][0])
    result = run_module(ec2_route_tables, declared(vpc))
    assert result["changes"] == {vpc["table"]: ["routes", "subnets", "tags"]}
    assert routes(ec2, vpc) == [("10.0.0.0/16", "local")]
    assert sorted(a["SubnetId"] for a in table(ec2, vpc)["Associations"]) == sorted(vpc["subnets"])
    others = ec2.describe_route_tables(RouteTableIds=[other])["RouteTables"][0]["Associations"]
    assert [a for a in others if a.get("SubnetId")] == []


def test_a_subnet_no_longer_declared_is_disassociated(ec2, vpc):
    run_module(ec2_route_tables, declared(vpc))
    result = run_module(ec2_route_tables, declared(vpc, subnets=vpc["subnets"][:1]))
    assert result["changes"] == {vpc["table"]: ["subnets"]}
    assert [a["SubnetId"] for a in table(ec2, vpc)["Associations"]] == vpc["subnets"][:1]


def test_a_route_without_exactly_one_target_is_refused_before_any_change(ec2, vpc):
    bad = declared(vpc, routes=[{"dest": "0.0.0.0/0", "gateway_id": vpc["igw"], "nat_gateway_id": "nat-1"}])
    result = run_module(ec2_route_tables, bad)
    assert result["failed"] is True and "exactly one of" in result["msg"]
    assert table(ec2, vpc)["Associations"] == []


def test_a_route_whose_target_changed_is_replaced(ec2, vpc):
    peers = [ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"] for i in (8, 9)]
    old, new = (ec2.create_vpc_peering_connection(VpcId=vpc["vpc_id"], PeerVpcId=p)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
                for p in peers)
    run_module(ec2_route_tables, declared(vpc, routes=[{"dest": "10.9.0.0/16", "vpc_peering_connection_id": old}]))
    result = run_module(ec2_route_tables, declared(vpc, routes=[{"dest": "10.9.0.0/16", "vpc_peering_connection_id": new}]))
    assert result["changes"] == {vpc["table"]: ["routes"]}
    [route] = [r for r in table(ec2, vpc)["Routes"] if r.get("DestinationCidrBlock") == "10.9.0.0/16"]
    assert route["VpcPeeringConnectionId"] == new


def test_a_route_table_that_does_not_exist_is_named(ec2, vpc):
    result = run_module(ec2_route_tables, {"route_tables": [{"id": "rtb-0123456789abcdef0"}]})
    assert result["failed"] is True and result["msg"] == "These route tables do not exist: rtb-0123456789abcdef0"


def test_purge_subnets_and_tags_off_change_the_routes_only(ec2, vpc):
    """What isolate asks of the management table: its peering routes go, its subnet and tags stay."""
    run_module(ec2_route_tables, declared(vpc, routes=[{"dest": "0.0.0.0/0", "gateway_id": vpc["igw"]},
                                                       {"dest": "192.168.0.0/24", "gateway_id": vpc["igw"]}]))
    routes_only = {"route_tables": [{"id": vpc["table"], "routes": [{"dest": "0.0.0.0/0", "gateway_id": vpc["igw"]}],
                                     "purge_subnets": False, "purge_tags": False}]}
    plan = run_module(ec2_route_tables, {**routes_only, "_ansible_check_mode": True})
    assert plan["changes"] == {vpc["table"]: ["routes"]}
    assert plan["diff"]["after"][vpc["table"]]["subnets"] == sorted(vpc["subnets"])
    assert plan["diff"]["after"][vpc["table"]]["tags"] == TAGS
    assert run_module(ec2_route_tables, routes_only)["changes"] == {vpc["table"]: ["routes"]}
    assert routes(ec2, vpc) == [("0.0.0.0/0", vpc["igw"]), ("10.0.0.0/16", "local")]
    assert sorted(a["SubnetId"] for a in table(ec2, vpc)["Associations"]) == sorted(vpc["subnets"])
    assert {t["Key"]: t["Value"] for t in table(ec2, vpc)["Tags"]} == TAGS
    assert run_module(ec2_route_tables, routes_only)["changed"] is False


def test_a_table_with_state_absent_is_planned_then_disassociated_and_deleted_once_and_a_main_table_is_refused(ec2, vpc):
    run_module(ec2_route_tables, declared(vpc))
    gone = {"route_tables": [{"id": vpc["table"], "state": "absent"}]}
    planned = run_module(ec2_route_tables, {**gone, "_ansible_check_mode": True})
    assert planned["changes"] == {vpc["table"]: ["deleted"]} and planned["diff"]["before"][vpc["table"]]["subnets"] == sorted(vpc["subnets"])
    assert table(ec2, vpc)["Associations"], "check mode wrote nothing"
    assert run_module(ec2_route_tables, gone)["changed"] is True
    assert ec2.describe_route_tables(Filters=[{"Name": "route-table-id", "Values": [vpc["table"]]}])["RouteTables"] == []
    assert run_module(ec2_route_tables, gone)["changed"] is False
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["vpc_id"]]},
                                              {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]["RouteTableId"]
    refused = run_module(ec2_route_tables, {"route_tables": [{"id": main, "state": "absent"}]})
    assert refused["failed"] is True and refused["msg"].startswith("A VPC's main route table cannot be deleted")
