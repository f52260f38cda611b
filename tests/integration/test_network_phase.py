"""The network phase against the emulator: runbook Step 1, checked with boto3.

One converge per module; the tests read the state it left. Expected values
come from the inventory defaults and from AWS lookups (the S3 prefix list),
never from constants that should be looked up.
"""

from __future__ import annotations

import ipaddress

import pytest

from support.api_calls import writes
from support.cloud import by_name, run_playbook

VPC_CIDR = "10.0.0.0/16"
SUBNETS = {"rna-seq-private-subnet-az1": "10.0.0.0/20", "rna-seq-private-subnet-az2": "10.0.16.0/20"}
STEP_OF_TAG = {
    "vpc": "Set-up VPC",
    "subnets": "Set-up Private Subnet",
    "nacl": "Configure Network ACLs",
    "route_table": "Set-up explicit Route Table",
    "security_groups": "Set-up Create Security Group",
    "endpoints": "Deploy VPC Endpoints",
}
INTERFACE_SERVICES = ["ecr.api", "ecr.dkr", "ecs", "ecs-agent", "ecs-telemetry", "logs", "sts"]
# The local inventory's declared HTTPS client (the access phase's VPN host)
# and its extra interface endpoint (S3, for uploads over the VPN).
VPN_HOST = "10.1.0.10/32"
EXTRA_INTERFACE_SERVICES = ["s3"]


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    run = run_playbook(local_cloud, "playbooks/network.yml")
    assert run.ok, run.explain()
    return run


@pytest.fixture(scope="module")
def ec2(local_cloud):
    return local_cloud.client("ec2")


@pytest.fixture(scope="module")
def vpc(converged, ec2):
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["rna-seq-hipaa-vpc"]}])["Vpcs"]
    assert len(vpcs) == 1
    return vpcs[0]


@pytest.fixture(scope="module")
def s3_prefix_list(local_cloud, ec2):
    name = f"com.amazonaws.{local_cloud.region}.s3"
    found = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name]}])["PrefixLists"][0]
    entries = ec2.get_managed_prefix_list_entries(PrefixListId=found["PrefixListId"])["Entries"]
    return {"id": found["PrefixListId"], "cidrs": sorted(e["Cidr"] for e in entries)}


def test_the_vpc_has_the_runbook_cidr_dns_support_hostnames_and_ownership_tags(vpc, ec2):
    assert vpc["CidrBlock"] == VPC_CIDR
    assert vpc["InstanceTenancy"] == "default"
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"]
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    tags = {t["Key"]: t["Value"] for t in vpc["Tags"]}
    assert tags["Project"] == "rna-seq-hipaa" and tags["Environment"] == "local"


def test_the_private_subnets_sit_in_the_regions_first_two_zones_without_public_ips(local_cloud, vpc, ec2):
    zones = sorted(
        z["ZoneName"]
        for z in ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    )
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 2
    for index, (name, cidr) in enumerate(SUBNETS.items()):
        subnet = by_name(subnets, name)
        assert subnet["CidrBlock"] == cidr
        assert subnet["AvailabilityZone"] == zones[index]
        assert subnet["MapPublicIpOnLaunch"] is False


def test_the_nacl_has_the_runbook_rules_plus_https_to_every_s3_prefix_list_cidr(vpc, ec2, s3_prefix_list):
    nacls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NetworkAcls"]
    nacl = by_name(nacls, "rna-seq-private-nacl")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert {a["SubnetId"] for a in nacl["Associations"]} == {s["SubnetId"] for s in subnets}

    def rules(egress):
        return sorted(
            (e["RuleNumber"], e["Protocol"], e["RuleAction"], e["CidrBlock"], e["PortRange"]["From"], e["PortRange"]["To"])
            for e in nacl["Entries"]
            if e["Egress"] is egress and e["RuleNumber"] < 32767
        )

    s3 = s3_prefix_list["cidrs"]
    assert s3, "the emulator's S3 prefix list has CIDRs"
    assert rules(False) == sorted(
        [(100, "6", "allow", VPC_CIDR, 443, 443), (110, "6", "allow", VPC_CIDR, 1024, 65535)]
        + [(200 + 10 * i, "6", "allow", cidr, 1024, 65535) for i, cidr in enumerate(s3)]
        + [(300, "6", "allow", VPN_HOST, 443, 443)]
    )
    assert rules(True) == sorted(
        [(100, "6", "allow", VPC_CIDR, 443, 443), (110, "6", "allow", VPC_CIDR, 1024, 65535)]
        + [(200 + 10 * i, "6", "allow", cidr, 443, 443) for i, cidr in enumerate(s3)]
        + [(300, "6", "allow", VPN_HOST, 1024, 65535)]
    )
    # Everything else falls through to the default deny.
    defaults = [e for e in nacl["Entries"] if e["RuleNumber"] == 32767]
    assert all(e["RuleAction"] == "deny" and e["CidrBlock"] == "0.0.0.0/0" for e in defaults)


def test_the_route_table_has_the_local_route_and_the_s3_gateway_route_only(vpc, ec2, s3_prefix_list):
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    table = by_name(tables, "rna-seq-private-rt")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert {a["SubnetId"] for a in table["Associations"] if not a.get("Main")} == {s["SubnetId"] for s in subnets}
    routes = table["Routes"]
    assert any(r.get("DestinationCidrBlock") == VPC_CIDR and r.get("GatewayId") == "local" for r in routes)
    others = [r for r in routes if r.get("GatewayId") != "local"]
    assert len(others) == 1
    assert others[0]["DestinationPrefixListId"] == s3_prefix_list["id"]
    assert others[0]["GatewayId"].startswith("vpce-")


def test_the_endpoint_security_group_admits_https_from_the_vpc_and_the_declared_client_only(vpc, ec2):
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    group = next(g for g in groups if g["GroupName"] == "rna-seq-vpc-endpoint-sg")
    assert group["Description"] == "Allow VPC resources to access VPC endpoints"
    assert {(p["IpProtocol"], p["FromPort"], p["ToPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]} == {
        ("tcp", 443, 443, VPC_CIDR), ("tcp", 443, 443, VPN_HOST)
    }
    assert [(p["IpProtocol"], p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissionsEgress"]] == [
        ("tcp", 443, [VPC_CIDR])
    ]


def test_the_compute_security_group_admits_nothing_and_reaches_only_the_endpoints_and_s3(vpc, ec2, s3_prefix_list):
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    endpoint_sg = next(g for g in groups if g["GroupName"] == "rna-seq-vpc-endpoint-sg")
    group = next(g for g in groups if g["GroupName"] == "rna-seq-compute-sg")
    tags = {t["Key"]: t["Value"] for t in group["Tags"]}
    assert tags["Name"] == "rna-seq-compute-sg" and tags["Purpose"] == "RNA-Seq-Batch-Compute"
    assert group["IpPermissions"] == []
    targets = set()
    for permission in group["IpPermissionsEgress"]:
        assert (permission["IpProtocol"], permission["FromPort"], permission["ToPort"]) == ("tcp", 443, 443)
        assert permission["IpRanges"] == [] and permission.get("Ipv6Ranges", []) == []
        targets |= {g["GroupId"] for g in permission["UserIdGroupPairs"]}
        targets |= {p["PrefixListId"] for p in permission["PrefixListIds"]}
    assert targets == {endpoint_sg["GroupId"], s3_prefix_list["id"]}


def test_the_default_security_group_is_stripped_of_every_rule(vpc, ec2):
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    default = next(g for g in groups if g["GroupName"] == "default")
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


def test_the_endpoints_are_an_s3_gateway_and_private_dns_interfaces_in_both_subnets(local_cloud, vpc, ec2):
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["VpcEndpoints"]
    subnets = {s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]}
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["SecurityGroups"]
    endpoint_sg = next(g["GroupId"] for g in groups if g["GroupName"] == "rna-seq-vpc-endpoint-sg")
    table = by_name(ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"], "rna-seq-private-rt")
    prefix = f"com.amazonaws.{local_cloud.region}."
    by_service = {(e["ServiceName"][len(prefix):], e["VpcEndpointType"]): e for e in endpoints}
    interfaces = INTERFACE_SERVICES + EXTRA_INTERFACE_SERVICES
    assert sorted(by_service) == sorted([("s3", "Gateway")] + [(service, "Interface") for service in interfaces])
    assert by_service[("s3", "Gateway")]["RouteTableIds"] == [table["RouteTableId"]]
    for service in interfaces:
        endpoint = by_service[(service, "Interface")]
        assert endpoint["VpcEndpointType"] == "Interface"
        assert endpoint["PrivateDnsEnabled"] is True
        assert set(endpoint["SubnetIds"]) == subnets
        assert [g["GroupId"] for g in endpoint["Groups"]] == [endpoint_sg]


def test_the_endpoints_come_from_one_cloudformation_stack_with_the_runbook_parameters(local_cloud, vpc):
    stack = local_cloud.client("cloudformation").describe_stacks(StackName="rna-seq-vpc-endpoints")["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert set(parameters) == {"VpcId", "PrivateSubnet1Id", "PrivateSubnet2Id", "RouteTableId", "SecurityGroupId"}
    assert parameters["VpcId"] == vpc["VpcId"]


def test_nothing_routes_to_or_admits_traffic_from_outside_the_vpc_but_the_declared_client(vpc, ec2, s3_prefix_list):
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"] == []
    assert [n for n in ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] if n["State"] != "deleted"] == []
    for table in ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]:
        for route in table["Routes"]:
            assert route.get("GatewayId") == "local" or (
                route.get("DestinationPrefixListId") and route["GatewayId"].startswith("vpce-")
            ), route
    vpc_net = ipaddress.ip_network(VPC_CIDR)
    for group in ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]:
        for permission in group["IpPermissions"]:
            for source in permission["IpRanges"]:
                declared = source["CidrIp"] == VPN_HOST and permission["FromPort"] == permission["ToPort"] == 443
                assert ipaddress.ip_network(source["CidrIp"]).subnet_of(vpc_net) or declared, (group["GroupName"], source)
            assert not permission.get("Ipv6Ranges") and not permission.get("PrefixListIds")
    private = by_name(ec2.describe_network_acls(Filters=vpc_filter)["NetworkAcls"], "rna-seq-private-nacl")
    for entry in private["Entries"]:
        if entry["RuleAction"] == "allow" and not entry["Egress"]:
            inside = ipaddress.ip_network(entry["CidrBlock"]).subnet_of(vpc_net)
            replies_from_s3 = entry["CidrBlock"] in s3_prefix_list["cidrs"] and entry["PortRange"]["From"] >= 1024
            https_from_the_client = entry["CidrBlock"] == VPN_HOST and entry["PortRange"] == {"From": 443, "To": 443}
            assert inside or replies_from_s3 or https_from_the_client, entry


def test_a_second_run_changes_nothing_and_sends_no_write_call(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/network.yml")
    assert run.ok, run.explain()
    assert run.changed == 0, run.changed_tasks()
    assert calls, "the recording captured the run"
    assert writes(calls) == []


def test_under_the_mitogen_opt_in_a_second_run_changes_nothing_and_sends_no_write_call(local_cloud, converged):
    """The smoke test of ANSIBLE_STRATEGY=mitogen_linear: the same playbook, one interpreter for the run."""
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/network.yml", env={"ANSIBLE_STRATEGY": "mitogen_linear"})
    assert run.ok, run.explain()
    assert run.changed == 0, run.changed_tasks()
    assert calls, "the recording captured the run"
    assert writes(calls) == []


def test_check_mode_on_the_converged_vpc_reports_no_change_and_sends_no_write_call(local_cloud, converged):
    with local_cloud.recording() as calls:
        run = run_playbook(local_cloud, "playbooks/network.yml", "--check", "--diff")
    assert run.ok, run.explain()
    assert run.changed == 0, run.changed_tasks()
    assert writes(calls) == []


@pytest.mark.parametrize("tag", ["vpc", "subnets", "nacl", "route_table", "security_groups", "endpoints"])
def test_each_runbook_step_runs_alone_on_the_converged_vpc(local_cloud, converged, tag):
    run = run_playbook(local_cloud, "playbooks/network.yml", "--tags", tag)
    assert run.ok, run.explain()
    assert run.changed == 0, run.changed_tasks()
    # The role's argument checks, and its dependency's (roles/contract), run before any step.
    steps = {name.split(" | ")[0] for name in run.task_names() if not name.startswith("Validating arguments against arg spec")}
    # Preflight and discovery always run; of the runbook steps, only the one asked for.
    assert steps - {"Preflight", "Discover"} == {
        STEP_OF_TAG[tag]
    } | ({"Security group for Batch"} if tag == "security_groups" else set())


def test_an_internet_or_nat_gateway_added_by_hand_is_removed(local_cloud, vpc, ec2):
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc["VpcId"])
    subnet = ec2.describe_subnets(Filters=vpc_filter)["Subnets"][0]["SubnetId"]
    ec2.create_nat_gateway(SubnetId=subnet, ConnectivityType="private")
    run = run_playbook(local_cloud, "playbooks/network.yml", "--tags", "vpc")
    assert run.ok, run.explain()
    assert run.changed == 2, run.changed_tasks()
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"] == []
    assert [n for n in ec2.describe_nat_gateways(Filters=vpc_filter)["NatGateways"] if n["State"] not in ("deleting", "deleted")] == []


def test_a_vpc_subnet_and_nacl_changed_by_hand_are_set_right_again(local_cloud, vpc, ec2):
    """The steps the preflight's read lets a no-op skip (roles/network/vars/main.yml, nacl_settled) still run on drift."""
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    nacl = by_name(ec2.describe_network_acls(Filters=vpc_filter)["NetworkAcls"], "rna-seq-private-nacl")
    subnet = by_name(ec2.describe_subnets(Filters=vpc_filter)["Subnets"], "rna-seq-private-subnet-az1")
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": False})
    ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    ec2.create_network_acl_entry(NetworkAclId=nacl["NetworkAclId"], RuleNumber=99, Protocol="6", RuleAction="allow",
                                 Egress=False, CidrBlock="0.0.0.0/0", PortRange={"From": 22, "To": 22})

    run = run_playbook(local_cloud, "playbooks/network.yml", "--tags", "vpc,subnets,nacl")
    assert run.ok, run.explain()
    assert {"Set-up VPC", "Set-up Private Subnet", "Configure Network ACLs"} <= {
        name.split(" | ")[0] for name in run.changed_tasks()}, run.changed_tasks()
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    assert not ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]["MapPublicIpOnLaunch"]
    entries = ec2.describe_network_acls(NetworkAclIds=[nacl["NetworkAclId"]])["NetworkAcls"][0]["Entries"]
    assert 99 not in {e["RuleNumber"] for e in entries}
    again = run_playbook(local_cloud, "playbooks/network.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()
