"""The access phase against the local cloud: management VPC, peering, the two hosts, isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.api_calls import writes
from support.cloud import REPO, by_name, run_playbook
from support.refusals import assert_refused

PRODUCTION_CIDR = "10.0.0.0/16"
VPN_HOST = "10.1.0.10"
BASTION = "10.1.1.10"


@pytest.fixture(scope="module")
def converged(local_cloud):
    local_cloud.reset()
    for playbook in ("network", "identity", "storage", "access"):
        run = run_playbook(local_cloud, f"playbooks/{playbook}.yml")
        assert run.ok, run.explain()


def vpcs(ec2):
    return {next(t["Value"] for t in v["Tags"] if t["Key"] == "Name"): v for v in ec2.describe_vpcs()["Vpcs"] if v.get("Tags")}


def active_peerings(ec2):
    return [p for p in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"] if p["Status"]["Code"] == "active"]


def instances(ec2):
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]
    return {next(t["Value"] for t in i["Tags"] if t["Key"] == "Name"): i for r in reservations for i in r["Instances"]}


def test_the_management_vpc_is_peered_with_production_and_routes_only_what_needs_it(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    found = vpcs(ec2)
    management, production = found["rna-seq-management-vpc"], found["rna-seq-hipaa-vpc"]
    assert management["CidrBlock"] == "10.1.0.0/16"
    (peering,) = active_peerings(ec2)
    assert peering["RequesterVpcInfo"]["VpcId"] == management["VpcId"]
    assert peering["AccepterVpcInfo"]["VpcId"] == production["VpcId"]

    tables = ec2.describe_route_tables()["RouteTables"]
    private = by_name(tables, "rna-seq-private-rt")
    via_peering = {r["DestinationCidrBlock"] for r in private["Routes"] if r.get("VpcPeeringConnectionId")}
    assert via_peering == {f"{VPN_HOST}/32"}
    # Production keeps no default route and no internet gateway.
    assert not [r for r in private["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert not ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [production["VpcId"]]}])["InternetGateways"]

    public = by_name(tables, "rna-seq-management-public-rt")
    routes = {r.get("DestinationCidrBlock"): r.get("GatewayId") or r.get("VpcPeeringConnectionId") for r in public["Routes"]}
    assert routes["10.0.0.0/20"] == routes["10.0.16.0/20"] == peering["VpcPeeringConnectionId"]
    assert routes["0.0.0.0/0"].startswith("igw-")
    assert PRODUCTION_CIDR not in routes

    # The bastion's subnet: out through the NAT gateway (in the public subnet) only.
    (nat,) = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] == "available"]
    assert nat["SubnetId"] == by_name(ec2.describe_subnets()["Subnets"], "rna-seq-management-public-subnet")["SubnetId"]
    assert {"Key": "Name", "Value": "rna-seq-management-nat"} in nat["Tags"]
    (address,) = ec2.describe_addresses(AllocationIds=[nat["NatGatewayAddresses"][0]["AllocationId"]])["Addresses"]
    assert {"Key": "Name", "Value": "rna-seq-management-nat-eip"} in address["Tags"]
    behind = by_name(tables, "rna-seq-management-private-rt")
    routes = {r.get("DestinationCidrBlock"): r.get("NatGatewayId") or r.get("GatewayId") for r in behind["Routes"]}
    assert routes == {"10.1.0.0/16": "local", "0.0.0.0/0": nat["NatGatewayId"]}
    private_subnet = by_name(ec2.describe_subnets()["Subnets"], "rna-seq-management-private-subnet")
    assert [a["SubnetId"] for a in behind["Associations"]] == [private_subnet["SubnetId"]]
    assert private_subnet["MapPublicIpOnLaunch"] is False


def test_the_hosts_require_imdsv2_have_encrypted_volumes_and_a_profile_for_session_manager_and_log_delivery_only(local_cloud, converged):
    ec2, iam = local_cloud.client("ec2"), local_cloud.client("iam")
    hosts = instances(ec2)
    assert {"rna-seq-bastion", "rna-seq-openvpn"} <= hosts.keys()
    account = local_cloud.client("sts").get_caller_identity()["Account"]
    log_group = f"arn:aws:logs:{local_cloud.region}:{account}:log-group:/rnaseq/access-hosts/auth"
    key_arn = local_cloud.client("kms").describe_key(KeyId="alias/rnaseq-pipeline")["KeyMetadata"]["Arn"]
    for name in ("rna-seq-bastion", "rna-seq-openvpn"):
        host = hosts[name]
        assert host["MetadataOptions"]["HttpTokens"] == "required"
        assert host["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
        assert host["IamInstanceProfile"]["Arn"].endswith(":instance-profile/rna-seq-access-host-role")
        for mapping in host["BlockDeviceMappings"]:
            (volume,) = ec2.describe_volumes(VolumeIds=[mapping["Ebs"]["VolumeId"]])["Volumes"]
            assert volume["Encrypted"] and volume["KmsKeyId"] == key_arn
        assert {"Key": "Role", "Value": name.removeprefix("rna-seq-")} in host["Tags"]
    assert hosts["rna-seq-openvpn"]["PrivateIpAddress"] == VPN_HOST
    # The bastion has no public address; the VPN host is the one the internet reaches.
    assert hosts["rna-seq-bastion"]["PrivateIpAddress"] == BASTION
    assert "PublicIpAddress" not in hosts["rna-seq-bastion"]
    assert hosts["rna-seq-bastion"]["SubnetId"] == by_name(ec2.describe_subnets()["Subnets"], "rna-seq-management-private-subnet")["SubnetId"]
    (address,) = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [hosts["rna-seq-openvpn"]["InstanceId"]]}])["Addresses"]
    assert {"Key": "Name", "Value": "rna-seq-openvpn-eip"} in address["Tags"]
    policies = iam.list_attached_role_policies(RoleName="rna-seq-access-host-role")["AttachedPolicies"]
    assert [p["PolicyName"] for p in policies] == ["AmazonSSMManagedInstanceCore"]
    # And two inline policies: writing Session Manager's session logs, and
    # the hosts' own authentication logs, each into its one log group.
    assert iam.list_role_policies(RoleName="rna-seq-access-host-role")["PolicyNames"] == ["log-sessions", "send-auth-logs"]
    logging = iam.get_role_policy(RoleName="rna-seq-access-host-role", PolicyName="log-sessions")["PolicyDocument"]
    assert logging["Statement"][0]["Resource"][0].endswith(":log-group:/aws/ssm/sessions/rnaseq")
    auth_logs = iam.get_role_policy(RoleName="rna-seq-access-host-role", PolicyName="send-auth-logs")["PolicyDocument"]
    assert auth_logs["Statement"] == [{"Sid": "WriteIntoTheOneLogGroup", "Effect": "Allow",
                                       "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                       "Resource": [f"{log_group}", f"{log_group}:*"]}]
    assert iam.list_access_keys(UserName="example-admin")["AccessKeyMetadata"] == []


def vpc_ids(ec2):
    """The toolkit's two VPCs."""
    return [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["rna-seq-hipaa"]}])["Vpcs"]]


def test_ssh_is_open_only_to_the_admin_ranges_on_the_vpn_host_and_the_bastion_only_behind_it(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    groups = ec2.describe_security_groups()["SecurityGroups"]
    for group in groups:
        for rule in group["IpPermissions"]:
            if rule.get("FromPort", 0) <= 22 <= rule.get("ToPort", 65535) or rule["IpProtocol"] == "-1":
                assert {"CidrIp": "0.0.0.0/0"} not in [{"CidrIp": r["CidrIp"]} for r in rule.get("IpRanges", [])], group["GroupName"]
    bastion, vpn = by_name(groups, "rna-seq-bastion-sg"), by_name(groups, "rna-seq-openvpn-sg")
    assert [(r["IpProtocol"], r["FromPort"], r["IpRanges"], [g["GroupId"] for g in r["UserIdGroupPairs"]])
            for r in bastion["IpPermissions"]] == [("tcp", 22, [], [vpn["GroupId"]])]
    inbound = {(r["IpProtocol"], r["FromPort"]): r for r in vpn["IpPermissions"]}
    assert [x["CidrIp"] for x in inbound[("udp", 1194)]["IpRanges"]] == ["198.51.100.0/24"]
    assert [x["CidrIp"] for x in inbound[("tcp", 22)]["IpRanges"]] == ["203.0.113.0/24"]
    assert inbound[("tcp", 22)]["UserIdGroupPairs"] == []
    outbound = {(r["IpProtocol"], r.get("FromPort")): [x["CidrIp"] for x in r["IpRanges"]] for r in vpn["IpPermissionsEgress"]}
    assert outbound[("tcp", 22)] == [f"{BASTION}/32"]
    # The default groups of both VPCs, production's and the management one, hold no rule (CIS 5.4).
    defaults = [g for g in groups if g["GroupName"] == "default" and g["VpcId"] in vpc_ids(ec2)]
    assert len(defaults) == 2 and all(not g["IpPermissions"] and not g["IpPermissionsEgress"] for g in defaults)


def test_no_nacl_of_either_vpc_is_open_to_the_world_and_the_management_subnet_has_its_own(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    ours = vpc_ids(ec2)
    nacls = [n for n in ec2.describe_network_acls()["NetworkAcls"] if n["VpcId"] in ours]
    world = [(n["NetworkAclId"], e["RuleNumber"]) for n in nacls for e in n["Entries"]
             if not e["Egress"] and e["RuleAction"] == "allow" and e.get("CidrBlock") in ("0.0.0.0/0", None)
             and (e["Protocol"] == "-1" or e["PortRange"]["From"] <= 22 <= e["PortRange"]["To"]
                  or e["PortRange"]["From"] <= 3389 <= e["PortRange"]["To"])]
    assert world == []
    # The default NACLs keep only AWS's final deny; no subnet uses them.
    defaults = [n for n in nacls if n["IsDefault"]]
    assert len(defaults) == 2 and all({e["RuleNumber"] for e in n["Entries"]} == {32767} and not n["Associations"]
                                      for n in defaults)
    management = by_name(nacls, "rna-seq-management-nacl")
    subnets = ec2.describe_subnets()["Subnets"]
    assert sorted(a["SubnetId"] for a in management["Associations"]) \
        == sorted(by_name(subnets, name)["SubnetId"] for name in ("rna-seq-management-public-subnet", "rna-seq-management-private-subnet"))
    inbound = {(e["Protocol"], e["CidrBlock"], e.get("PortRange", {}).get("From")) for e in management["Entries"]
               if not e["Egress"] and e["RuleNumber"] < 32767}
    assert {("6", "203.0.113.0/24", 22), ("17", "198.51.100.0/24", 1194)} <= inbound


def test_production_admits_https_from_the_vpn_host_and_has_an_s3_interface_endpoint(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    endpoint_sg = by_name(ec2.describe_security_groups()["SecurityGroups"], "rna-seq-vpc-endpoint-sg")
    sources = {r["CidrIp"] for rule in endpoint_sg["IpPermissions"] for r in rule["IpRanges"]}
    assert sources == {PRODUCTION_CIDR, f"{VPN_HOST}/32"}
    nacl = by_name(ec2.describe_network_acls()["NetworkAcls"], "rna-seq-private-nacl")
    assert any(e["CidrBlock"] == f"{VPN_HOST}/32" and not e["Egress"] and e["PortRange"] == {"From": 443, "To": 443}
               for e in nacl["Entries"])
    endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
    s3 = sorted(e["VpcEndpointType"] for e in endpoints if e["ServiceName"].endswith(".s3"))
    assert s3 == ["Gateway", "Interface"]


def test_a_second_run_and_check_mode_write_nothing(local_cloud, converged):
    with local_cloud.recording() as calls:
        again = run_playbook(local_cloud, "playbooks/access.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()
    assert writes(calls) == []
    with local_cloud.recording() as calls:
        check = run_playbook(local_cloud, "playbooks/access.yml", "--check", "--diff")
    assert check.ok and check.changed == 0 and writes(calls) == []


def test_the_aws_ec2_inventory_reaches_the_vpn_host_by_its_public_address_and_the_bastion_through_it(local_cloud, converged, tmp_path):
    # The production inventory's plugin file, pointed at this environment's tags.
    config = (REPO / "inventories/production/aws_ec2.yml").read_text().replace("tag:Environment: production", "tag:Environment: local")
    (tmp_path / "aws_ec2.yml").write_text(config)
    (tmp_path / "group_vars").symlink_to(REPO / "inventories/production/group_vars")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **local_cloud.env}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    vpn_eip = instances(local_cloud.client("ec2"))["rna-seq-openvpn"]["PublicIpAddress"]

    def show(host, message):
        # Ansible logs in as a named administrator, set in group_vars/access_hosts (here on the command line).
        run = subprocess.run(["ansible", host, "-i", str(tmp_path), "-e", "ansible_user=jdoe", "-m", "ansible.builtin.debug",
                              "-a", f'msg="{message}"'], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        return " ".join(run.stdout.replace("''", "'").split())

    shown = show("rna-seq-openvpn", "{{ group_names | sort }} {{ ansible_host }} {{ ansible_ssh_common_args | default('direct') }} "
                                    "{{ openvpn_remote_host }}")
    assert f"['access_hosts', 'aws_ec2', 'openvpn'] {vpn_eip} direct {vpn_eip}" in shown, shown
    shown = show("rna-seq-bastion", "{{ group_names | sort }} {{ ansible_host }} {{ ansible_ssh_common_args }}")
    assert f"['access_hosts', 'aws_ec2', 'bastion'] {BASTION} -o ProxyJump=jdoe@{vpn_eip}" in shown, shown


def test_isolate_cuts_the_peering_and_inbound_rules_keeps_the_logs_and_access_restores_them(local_cloud, converged):
    ec2 = local_cloud.client("ec2")
    hosts_before = instances(ec2)
    run = run_playbook(local_cloud, "playbooks/isolate.yml")
    assert run.ok, run.explain()
    assert active_peerings(ec2) == []
    private = by_name(ec2.describe_route_tables()["RouteTables"], "rna-seq-private-rt")
    assert not [r for r in private["Routes"] if r.get("VpcPeeringConnectionId")]
    groups = ec2.describe_security_groups()["SecurityGroups"]
    for name in ("rna-seq-bastion-sg", "rna-seq-openvpn-sg"):
        assert by_name(groups, name)["IpPermissions"] == []
    assert instances(ec2).keys() == hosts_before.keys(), "isolation deletes no host"

    again = run_playbook(local_cloud, "playbooks/isolate.yml")
    assert again.ok and again.changed == 0, again.changed_tasks()

    restored = run_playbook(local_cloud, "playbooks/access.yml")
    assert restored.ok, restored.explain()
    assert len(active_peerings(ec2)) == 1
    peering = active_peerings(ec2)[0]["VpcPeeringConnectionId"]
    private = by_name(ec2.describe_route_tables()["RouteTables"], "rna-seq-private-rt")
    assert {r["DestinationCidrBlock"] for r in private["Routes"] if r.get("VpcPeeringConnectionId") == peering} == {f"{VPN_HOST}/32"}
    assert by_name(ec2.describe_security_groups()["SecurityGroups"], "rna-seq-bastion-sg")["IpPermissions"]


def test_what_a_no_op_skips_is_set_right_again_after_a_change_by_hand(local_cloud, converged):
    """The tasks the preflight's read lets a no-op skip still run on drift (roles/access/vars/main.yml)."""
    ec2 = local_cloud.client("ec2")
    gateway = by_name(ec2.describe_internet_gateways()["InternetGateways"], "rna-seq-management-igw")
    management = vpcs(ec2)["rna-seq-management-vpc"]["VpcId"]
    peering = active_peerings(ec2)[0]["VpcPeeringConnectionId"]
    pair = ec2.describe_key_pairs(KeyNames=["rna-seq-access-admin"])["KeyPairs"][0]["KeyPairId"]
    public = by_name(ec2.describe_subnets()["Subnets"], "rna-seq-management-public-subnet")["SubnetId"]
    nacl = by_name(ec2.describe_network_acls()["NetworkAcls"], "rna-seq-management-nacl")["NetworkAclId"]
    ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=management)
    ec2.modify_vpc_attribute(VpcId=management, EnableDnsSupport={"Value": False})
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    ec2.delete_network_acl_entry(NetworkAclId=nacl, RuleNumber=min(
        e["RuleNumber"] for e in ec2.describe_network_acls(NetworkAclIds=[nacl])["NetworkAcls"][0]["Entries"] if not e["Egress"]),
        Egress=False)
    ec2.create_tags(Resources=[gateway["InternetGatewayId"], peering], Tags=[{"Key": "Owner", "Value": "someone"}])
    ec2.delete_tags(Resources=[pair], Tags=[{"Key": "Environment"}])

    run = run_playbook(local_cloud, "playbooks/access.yml", "--tags", "management_vpc,nacl,peering,host_iam")
    assert run.ok, run.explain()
    assert {"Create rna-seq-management-vpc",
            "Create the public subnet (the VPN host) and the private one (the bastion)",
            "Give the management NACL its rules and associate both management subnets",
            "Attach the internet gateway (the management VPC only)",
            "Request the peering connection from the management VPC to production",
            "Import the configuring administrator's public key as the key pair"} <= {
        name.split(" | ", 1)[-1] for name in run.changed_tasks()}, run.changed_tasks()
    gateway = by_name(ec2.describe_internet_gateways()["InternetGateways"], "rna-seq-management-igw")
    assert [a["VpcId"] for a in gateway["Attachments"]] == [management]
    assert "Owner" not in {t["Key"] for t in gateway["Tags"]}
    assert "Owner" not in {t["Key"] for t in active_peerings(ec2)[0]["Tags"]}
    pair_tags = ec2.describe_key_pairs(KeyNames=["rna-seq-access-admin"])["KeyPairs"][0]["Tags"]
    assert "Environment" in {t["Key"] for t in pair_tags}
    assert ec2.describe_vpc_attribute(VpcId=management, Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"]
    assert not ec2.describe_subnets(SubnetIds=[public])["Subnets"][0]["MapPublicIpOnLaunch"]
    again = run_playbook(local_cloud, "playbooks/access.yml", "--tags", "management_vpc,nacl,peering,host_iam")
    assert again.ok and again.changed == 0, again.changed_tasks()


@pytest.mark.parametrize("extra_vars, message", [
    pytest.param({"access_ssh_admin_cidrs": ["0.0.0.0/0"]},
                 "access_ssh_admin_cidrs: '0.0.0.0/0' would open SSH to the whole internet", id="ssh-from-anywhere"),
    pytest.param({"access_vpc_cidr": "10.0.0.0/16"},
                 "access_vpc_cidr 10.0.0.0/16 overlaps the production VPC 10.0.0.0/16", id="overlapping-vpcs"),
    pytest.param({"access_bastion_private_ip": "10.1.0.20"},
                 "access_bastion_private_ip 10.1.0.20 is not a usable address of the private subnet 10.1.1.0/24", id="bastion-outside-its-subnet"),
    pytest.param({"network_https_client_cidrs": []},
                 "network_https_client_cidrs must include 10.1.0.10/32", id="production-not-admitting-the-vpn"),
    pytest.param({"access_key_pair_public_key": "not a key"},
                 "access_key_pair_public_key must be an OpenSSH public key", id="bad-public-key"),
    pytest.param({"access_ami_id": "ami-0123456789abcdef0"},
                 "No image found: access_ami_id ami-0123456789abcdef0 does not exist", id="unknown-image"),
])
def test_bad_access_input_fails_with_one_clear_message_and_changes_nothing(local_cloud, converged, extra_vars, message):
    assert_refused(local_cloud, "playbooks/access.yml", extra_vars, message)
