"""The custom modules' behaviour, in-process against moto's mock_aws."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest

from support.module_harness import load_module, run_module, toolkit_aws

aws_context_info = load_module("aws_context_info")
tagged_resource_info = load_module("tagged_resource_info")


@pytest.fixture
def aws(mocked_aws):
    yield boto3.client("ec2", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def test_context_returns_the_account_zones_and_the_s3_prefix_lists_cidrs(aws):
    result = run_module(aws_context_info, {"availability_zones": True, "prefix_list_services": ["s3"],
                                           "endpoint_services": ["ecr.api", "sts"]})
    assert result["changed"] is False and not result.get("failed")
    assert result["account_id"] == boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
    assert result["availability_zones"][:2] == ["us-east-1a", "us-east-1b"]
    pl = aws.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}])
    pl_id = pl["PrefixLists"][0]["PrefixListId"]
    cidrs = sorted(e["Cidr"] for e in aws.get_managed_prefix_list_entries(PrefixListId=pl_id)["Entries"])
    assert result["prefix_lists"]["s3"] == {"id": pl_id, "name": "com.amazonaws.us-east-1.s3", "cidrs": cidrs}
    assert result["endpoint_services"]["ecr.api"] == {"service_name": "com.amazonaws.us-east-1.ecr.api", "types": ["Interface"], "policy_supported": True}
    assert result["missing_endpoint_services"] == []


def test_context_reads_only_what_it_is_asked_for(aws):
    result = run_module(aws_context_info, {})
    assert not result.get("failed")
    assert "availability_zones" not in result and "caller_principal_arn" not in result and "tagged" not in result
    assert result["aliased_keys"] == {} and result["missing_keys"] == [] and result["prefix_lists"] == {}


def test_context_reads_principals_keys_and_tagged_resources_in_one_call(aws):
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="KeyAdmin", Path="/ops/", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    account = role.split(":")[4]
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/pipeline", TargetKeyId=key["KeyId"])
    owned = {"Project": "p", "Environment": "production"}
    vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    aws.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "rna-seq-vpc"}]
                    + [{"Key": k, "Value": v} for k, v in owned.items()])
    unnamed = aws.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    aws.create_tags(Resources=[unnamed], Tags=[{"Key": k, "Value": v} for k, v in owned.items()])

    result = run_module(aws_context_info, {
        "principal_arns": [f"arn:aws:iam::{account}:role/KeyAdmin", f"arn:aws:iam::{account}:user/ghost"],
        "key_aliases": ["alias/pipeline", "pipeline", "alias/never-made"],
        "tagged": {"tags": owned, "resources": {"vpc": ["rna-seq-vpc"], "subnet": ["az1"]}},
        "owned_vpc_tags": owned,
    })
    assert not result.get("failed"), result
    assert result["principals"][0]["canonical_arn"] == role
    assert result["missing_principals"] == [f"arn:aws:iam::{account}:user/ghost"]
    assert result["caller_principal_arn"].startswith(f"arn:aws:iam::{account}:")
    assert result["aliased_keys"]["alias/pipeline"] == {"key_arn": key["Arn"], "key_id": key["KeyId"], "key_state": "Enabled"}
    assert result["aliased_keys"]["pipeline"]["key_id"] == key["KeyId"]
    assert result["missing_keys"] == ["alias/never-made"]
    assert result["tagged"]["ids"] == {"rna-seq-vpc": vpc_id} and result["tagged"]["missing"] == ["az1"]
    assert result["owned_vpc_ids"] == sorted([vpc_id, unnamed])


def test_context_lists_the_routes_out_of_a_found_vpc(aws):
    owned = {"Project": "p"}
    vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    aws.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "rna-seq-vpc"}, {"Key": "Project", "Value": "p"}])
    gateway = aws.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    aws.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    subnet = aws.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    nat = aws.create_nat_gateway(SubnetId=subnet, ConnectivityType="private")["NatGateway"]["NatGatewayId"]
    result = run_module(aws_context_info, {"tagged": {"tags": owned, "resources": {"vpc": ["rna-seq-vpc"]}},
                                           "vpc_egress_of": ["rna-seq-vpc", "never-made"]})
    assert result["vpc_egress"] == {"rna-seq-vpc": {"internet_gateway_ids": [gateway],
                                                    "nat_gateways": [{"nat_gateway_id": nat, "connectivity_type": "private"}]}}


def test_context_reads_an_internet_gateways_attachments_and_a_peerings_ends_and_status(aws):
    """What the access phase skips its gateway and peering tasks on (roles/access/vars/main.yml)."""
    owned = {"Project": "p"}
    management, production = (aws.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"] for cidr in ("10.1.0.0/16", "10.0.0.0/16"))
    gateway = aws.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    aws.attach_internet_gateway(InternetGatewayId=gateway, VpcId=management)
    peering = aws.create_vpc_peering_connection(VpcId=management, PeerVpcId=production)["VpcPeeringConnection"]
    aws.accept_vpc_peering_connection(VpcPeeringConnectionId=peering["VpcPeeringConnectionId"])
    for resource, name in ((gateway, "igw"), (peering["VpcPeeringConnectionId"], "peering")):
        aws.create_tags(Resources=[resource], Tags=[{"Key": "Name", "Value": name}, {"Key": "Project", "Value": "p"}])
    found = run_module(aws_context_info, {"tagged": {"tags": owned, "resources": {
        "internet_gateway": ["igw"], "vpc_peering_connection": ["peering"]}}})["tagged"]["resources"]
    assert found["igw"]["attached_vpc_ids"] == [management] and found["igw"]["tags"] == {"Name": "igw", "Project": "p"}
    assert (found["peering"]["status"], found["peering"]["requester_vpc_id"], found["peering"]["accepter_vpc_id"]) == (
        "active", management, production)


guardduty_detector = load_module("guardduty_detector")
ebs_encryption_default = load_module("ebs_encryption_default")
s3_account_public_access_block = load_module("s3_account_public_access_block")
SETTINGS = ["s3_public_access_block", "guardduty", "ebs_encryption_default"]  # moto cannot read the default EBS key


def test_context_reads_the_account_settings_as_the_modules_that_set_them_declare_them(aws):
    """The audit and storage phases skip those modules when this read equals their declaration (roles/*/vars)."""
    account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
    before = run_module(aws_context_info, {"account_settings": SETTINGS})["account_settings"]
    assert before["s3_public_access_block"] == dict.fromkeys(
        ["block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"], False)
    assert before["guardduty"] == {} and before["ebs_encryption_default"] is False

    run_module(s3_account_public_access_block, {"account_id": account})
    guardduty = run_module(guardduty_detector, {"s3_protection": True})
    run_module(ebs_encryption_default, {})
    after = run_module(aws_context_info, {"account_settings": SETTINGS})["account_settings"]
    assert set(after["s3_public_access_block"].values()) == {True}
    assert after["guardduty"] == {"detector_id": guardduty["detector_id"], "settings": guardduty["diff"]["after"], "tags": {}}
    assert after["ebs_encryption_default"] is True
    # What the gates rely on: found so, the modules have nothing to do.
    assert run_module(guardduty_detector, {"s3_protection": True})["changed"] is False
    assert run_module(ebs_encryption_default, {})["changed"] is False
    assert run_module(aws_context_info, {})["account_settings"] == {}


def test_guardduty_tags_are_made_exact_and_the_read_the_gate_compares_shows_them(aws, emulated_tag_calls):
    """tasks/detection.yml (audit) skips guardduty_detector when the read's settings and tags are as declared."""
    from toolkit import tags_are

    guardduty = boto3.client("guardduty", region_name="us-east-1")
    args = {"s3_protection": True, "tags": {"Project": "p"}}

    def read():
        return run_module(aws_context_info, {"account_settings": ["guardduty"]})["account_settings"]["guardduty"]

    detector_id = run_module(guardduty_detector, args)["detector_id"]
    assert read()["tags"] == {"Project": "p"} and tags_are(read()["tags"], args["tags"])
    assert run_module(guardduty_detector, args)["changed"] is False
    arn = f"arn:aws:guardduty:us-east-1:123456789012:detector/{detector_id}"
    guardduty.tag_resource(ResourceArn=arn, Tags={"Project": "other", "Owner": "someone"})
    assert not tags_are(read()["tags"], args["tags"])
    planned = run_module(guardduty_detector, {**args, "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["diff"]["after"]["tags"] == {"Project": "p"}
    assert read()["tags"] == {"Project": "other", "Owner": "someone"}, "check mode wrote nothing"
    kept = run_module(guardduty_detector, {**args, "purge_tags": False})
    assert kept["changed"] is True and read()["tags"] == {"Project": "p", "Owner": "someone"}
    assert run_module(guardduty_detector, args)["changed"] is True and read()["tags"] == {"Project": "p"}
    assert tags_are(read()["tags"], args["tags"]) and run_module(guardduty_detector, args)["changed"] is False
    guardduty.tag_resource(ResourceArn=arn, Tags={"Owner": "someone"})
    assert run_module(guardduty_detector, {"s3_protection": True})["changed"] is False, "no tags declared, none changed"


securityhub_account = load_module("securityhub_account")


def test_the_hubs_tags_are_made_exact_with_one_read_and_left_alone_when_none_are_declared(aws, emulated_tag_calls):
    hub = boto3.client("securityhub", region_name="us-east-1")
    args = {"tags": {"Project": "p"}}
    assert run_module(securityhub_account, {**args, "_ansible_check_mode": True})["changed"] is True
    hub_arn = run_module(securityhub_account, args)["hub_arn"]
    assert hub.list_tags_for_resource(ResourceArn=hub_arn)["Tags"] == {"Project": "p"}
    assert run_module(securityhub_account, args)["changed"] is False
    hub.tag_resource(ResourceArn=hub_arn, Tags={"Project": "other", "Owner": "someone"})
    planned = run_module(securityhub_account, {**args, "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["diff"] == {"before": {"tags": {"Project": "other", "Owner": "someone"}},
                                                              "after": {"tags": {"Project": "p"}}}
    assert hub.list_tags_for_resource(ResourceArn=hub_arn)["Tags"] == {"Project": "other", "Owner": "someone"}
    assert run_module(securityhub_account, {**args, "purge_tags": False})["changed"] is True
    assert hub.list_tags_for_resource(ResourceArn=hub_arn)["Tags"] == {"Project": "p", "Owner": "someone"}
    assert run_module(securityhub_account, args)["changed"] is True
    assert hub.list_tags_for_resource(ResourceArn=hub_arn)["Tags"] == {"Project": "p"}
    assert run_module(securityhub_account, {})["changed"] is False


@pytest.mark.parametrize("code, read", [("AccessDeniedException", None), ("InternalFailure", "fails")])
def test_an_account_setting_the_caller_may_not_read_is_none_and_other_errors_fail(aws, monkeypatch, code, read):
    def refused(**_kwargs):
        raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "no"}}, "ListDetectors")

    real_client = aws_context_info.AnsibleAWSModule.client

    def client(self, service, *args, **kwargs):
        made = real_client(self, service, *args, **kwargs)
        if service == "guardduty":
            made.list_detectors = refused
        return made

    monkeypatch.setattr(aws_context_info.AnsibleAWSModule, "client", client)
    result = run_module(aws_context_info, {"account_settings": ["guardduty", "ebs_encryption_default"]})
    if read is None:
        assert result["account_settings"] == {"guardduty": None, "ebs_encryption_default": False}
    else:
        assert result["failed"] is True and "Failed to read the account's guardduty" in result["msg"]


s3_objects = load_module("s3_objects")


def test_context_lists_which_keys_a_bucket_holds_as_s3_objects_does(aws):
    folders = ["raw-data/", "results/", "logs/"]
    asked = {"s3_keys": {"bucket": "data", "keys": folders}}
    assert run_module(aws_context_info, asked)["s3_keys"] == {"present": [], "missing": folders}, "no bucket yet"
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="data")
    run_module(s3_objects, {"bucket": "data", "objects": [{"key": "results/"}, {"key": "raw-data/"}], "encryption": "AES256"})
    assert run_module(aws_context_info, asked)["s3_keys"] == {"present": ["raw-data/", "results/"], "missing": ["logs/"]}
    run_module(s3_objects, {"bucket": "data", "objects": [{"key": key} for key in folders], "encryption": "AES256"})
    assert run_module(aws_context_info, asked)["s3_keys"]["missing"] == []


log_groups = load_module("log_groups")


def test_context_reads_log_groups_as_log_groups_does_and_the_gate_agrees_with_the_module(aws):
    """tasks/log_groups.yml (audit) and tasks/logs.yml (batch) skip the module when log_groups_settled says so."""
    from toolkit import log_groups_settled

    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    declared = [{"name": "/aws/a", "kms_key_id": key, "retention": 365}, {"name": "/aws/b", "kms_key_id": None, "retention": 30}]
    args = {"log_groups": declared, "tags": {"Project": "p"}}
    asked = {"log_groups": ["/aws/a", "/aws/b"], "log_group_tags": True}
    assert not log_groups_settled(run_module(aws_context_info, asked)["log_groups"], declared, {"Project": "p"})
    run_module(log_groups, args)
    found = run_module(aws_context_info, asked)["log_groups"]
    assert found["/aws/a"]["kms_key_id"] == key and found["/aws/b"]["retention"] == 30 and found["/aws/a"]["tags"] == {"Project": "p"}
    assert log_groups_settled(found, declared, {"Project": "p"}) and run_module(log_groups, args)["changed"] is False
    boto3.client("logs", region_name="us-east-1").put_retention_policy(logGroupName="/aws/b", retentionInDays=7)
    drifted = run_module(aws_context_info, asked)["log_groups"]
    assert not log_groups_settled(drifted, declared, {"Project": "p"}) and run_module(log_groups, args)["changed"] is True
    without_tags = run_module(aws_context_info, {"log_groups": ["/aws/a"]})["log_groups"]["/aws/a"]
    assert "tags" not in without_tags and not log_groups_settled({"/aws/a": without_tags}, declared[:1], {"Project": "p"})


ec2_vpcs = load_module("ec2_vpcs")


def test_context_reads_vpcs_as_ec2_vpcs_leaves_them_and_the_gate_agrees_with_the_module(aws):
    """tasks/vpc.yml (network) and management_vpc.yml (access) skip the module when vpcs_settled says so."""
    from toolkit import vpcs_settled

    tags = {"Project": "p", "Environment": "e"}
    declared = [{"name": "net", "cidr_block": "10.0.0.0/16", "tenancy": "default", "dns_support": True, "dns_hostnames": True}]
    args = {"vpcs": declared, "tags": tags, "match_tags": tags}
    asked = {"tagged": {"tags": tags, "resources": {"vpc": ["net"]}}, "vpc_attributes_of": ["net", "never-made"]}

    def settled():
        read = run_module(aws_context_info, asked)
        return vpcs_settled(read["tagged"]["resources"], read["vpc_attributes"], declared, tags)

    assert not settled()
    run_module(ec2_vpcs, args)
    read = run_module(aws_context_info, asked)
    vpc_id = read["tagged"]["ids"]["net"]
    assert read["vpc_attributes"] == {"net": {"dns_support": True, "dns_hostnames": True}}
    assert read["tagged"]["resources"]["net"]["tenancy"] == "default"
    assert settled() and run_module(ec2_vpcs, args)["changed"] is False
    aws.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    assert not settled() and run_module(ec2_vpcs, args)["changed"] is True
    aws.create_tags(Resources=[vpc_id], Tags=[{"Key": "Owner", "Value": "someone"}])
    assert not settled() and run_module(ec2_vpcs, args)["changed"] is True
    assert settled()


def test_context_reads_a_nacl_as_amazon_aws_ec2_vpc_nacl_compares_it_and_the_gate_agrees_with_the_module(aws):
    """tasks/nacl.yml (network and access) skip amazon.aws.ec2_vpc_nacl when nacl_settled says so."""
    import importlib.util

    import ansible_collections.amazon.aws.plugins.modules as upstream
    from toolkit import nacl_settled

    # A copy of its own: test_module_docs replaces the imported module's AnsibleAWSModule to read its spec.
    spec = importlib.util.spec_from_file_location("upstream_ec2_vpc_nacl", f"{upstream.__path__[0]}/ec2_vpc_nacl.py")
    upstream_nacl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(upstream_nacl)

    tags = {"Project": "p", "Environment": "e"}
    vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [aws.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"] for cidr in ("10.0.0.0/20", "10.0.16.0/20")]
    ingress = [[100, "tcp", "allow", "10.0.0.0/16", None, None, 443, 443], [110, "tcp", "allow", "10.0.0.0/16", None, None, 1024, 65535],
               [120, "udp", "allow", "10.0.0.2/32", None, None, 53, 53]]
    egress = [[100, "all", "allow", "10.0.0.0/16", None, None, 0, 0]]
    args = {"name": "nacl", "vpc_id": vpc_id, "subnets": subnets, "ingress": ingress, "egress": egress, "tags": tags, "purge_tags": True}
    asked = {"tagged": {"tags": tags, "resources": {"network_acl": ["nacl"]}}}

    def settled(subnet_ids=subnets, rules_in=ingress):
        found = run_module(aws_context_info, asked)["tagged"]["resources"].get("nacl")
        return nacl_settled(found, vpc_id, subnet_ids, rules_in, egress, tags)

    assert not settled()
    assert run_module(upstream_nacl, args)["changed"] is True
    assert settled() and run_module(upstream_nacl, args)["changed"] is False
    assert not settled(subnet_ids=subnets[:1]) and not settled(rules_in=ingress[:2])
    nacl_id = run_module(aws_context_info, asked)["tagged"]["ids"]["nacl"]
    aws.create_network_acl_entry(NetworkAclId=nacl_id, RuleNumber=130, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 22, "To": 22})
    assert not settled() and run_module(upstream_nacl, args)["changed"] is True
    assert settled()
    aws.replace_network_acl_entry(NetworkAclId=nacl_id, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                  CidrBlock="10.0.0.0/16", PortRange={"From": 443, "To": 444})
    assert not settled() and run_module(upstream_nacl, args)["changed"] is True
    aws.create_tags(Resources=[nacl_id], Tags=[{"Key": "Owner", "Value": "someone"}])
    assert not settled() and run_module(upstream_nacl, args)["changed"] is True
    assert settled()


ec2_vpc_subnets = load_module("ec2_vpc_subnets")


def test_context_reads_subnets_as_ec2_vpc_subnets_leaves_them_and_the_gate_agrees_with_the_module(aws):
    """tasks/subnets.yml (network) and management_vpc.yml (access) skip the module when subnets_settled says so."""
    from toolkit import subnets_settled

    vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    tags = {"Project": "p", "Environment": "e"}
    declared = [{"name": "a", "cidr": "10.0.0.0/20", "az": "us-east-1a"}, {"name": "b", "cidr": "10.0.16.0/20", "az": "us-east-1b"}]
    args = {"vpc_id": vpc_id, "subnets": declared, "tags": tags}
    asked = {"tagged": {"tags": tags, "resources": {"subnet": ["a", "b"]}}}
    assert not subnets_settled(run_module(aws_context_info, asked)["tagged"]["resources"], declared, vpc_id, tags)
    run_module(ec2_vpc_subnets, args)
    found = run_module(aws_context_info, asked)["tagged"]["resources"]
    assert subnets_settled(found, declared, vpc_id, tags) and run_module(ec2_vpc_subnets, args)["changed"] is False
    assert not subnets_settled(found, declared, "vpc-other", tags)
    aws.modify_subnet_attribute(SubnetId=found["a"]["id"], MapPublicIpOnLaunch={"Value": True})
    drifted = run_module(aws_context_info, asked)["tagged"]["resources"]
    assert drifted["a"]["map_public_ip_on_launch"] is True
    assert not subnets_settled(drifted, declared, vpc_id, tags) and run_module(ec2_vpc_subnets, args)["changed"] is True
    aws.create_tags(Resources=[found["b"]["id"]], Tags=[{"Key": "Owner", "Value": "someone"}])
    retagged = run_module(aws_context_info, asked)["tagged"]["resources"]
    assert not subnets_settled(retagged, declared, vpc_id, tags) and run_module(ec2_vpc_subnets, args)["changed"] is True


def test_context_reads_a_found_vpcs_default_nacl_and_live_endpoints_and_skips_one_not_made(aws):
    owned = {"Project": "p"}
    vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    aws.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "rna-seq-vpc"}, {"Key": "Project", "Value": "p"}])
    nacl_id = aws.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                 {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]["NetworkAclId"]
    endpoint = aws.create_vpc_endpoint(VpcId=vpc_id, ServiceName="com.amazonaws.us-east-1.s3",
                                       VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
    asked = {"tagged": {"tags": owned, "resources": {"vpc": ["rna-seq-vpc"]}},
             "default_nacl_of": ["rna-seq-vpc", "never-made"], "vpc_endpoints_of": ["rna-seq-vpc", "never-made"]}
    result = run_module(aws_context_info, asked)
    assert not result.get("failed"), result
    # A new VPC's default NACL allows all traffic each way (rule 100), besides the final deny.
    assert result["default_nacls"] == {"rna-seq-vpc": {"nacl_id": nacl_id, "ingress_rules": 1, "egress_rules": 1}}
    assert result["vpc_endpoints"] == {"rna-seq-vpc": [endpoint]}
    for egress in (False, True):
        aws.delete_network_acl_entry(NetworkAclId=nacl_id, RuleNumber=100, Egress=egress)
    aws.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    result = run_module(aws_context_info, asked)
    assert result["default_nacls"]["rna-seq-vpc"] == {"nacl_id": nacl_id, "ingress_rules": 0, "egress_rules": 0}
    assert result["vpc_endpoints"] == {"rna-seq-vpc": []}


def test_context_looks_up_images_and_log_groups(aws):
    image = aws.describe_images(Owners=["amazon"])["Images"][0]
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="/flow")
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="/flow-other")
    result = run_module(aws_context_info, {"images": {"filters": {"image-id": image["ImageId"]}},
                                           "log_groups": ["/flow", "/flow-logs-never-made"]})
    assert not result.get("failed"), result
    assert [found["image_id"] for found in result["images"]] == [image["ImageId"]]
    assert result["images"][0]["root_device_name"] == image["RootDeviceName"]
    assert list(result["log_groups"]) == ["/flow"] and result["log_groups"]["/flow"]["arn"].startswith("arn:aws:logs:")
    assert result["missing_log_groups"] == ["/flow-logs-never-made"]
    assert run_module(aws_context_info, {"images": {"filters": {"image-id": "ami-00000000000000000"}}})["images"] == []


def test_context_finds_which_service_linked_roles_exist(aws):
    made = boto3.client("iam", region_name="us-east-1").create_service_linked_role(AWSServiceName="config.amazonaws.com")
    result = run_module(aws_context_info, {"service_linked_roles": ["config.amazonaws.com", "autoscaling.amazonaws.com"]})
    assert not result.get("failed"), result
    assert result["service_linked_roles"] == {"config.amazonaws.com": made["Role"]["Arn"]}
    assert result["missing_service_linked_roles"] == ["autoscaling.amazonaws.com"]


def test_context_finds_a_live_nat_gateway_by_name_and_skips_a_deleted_one(aws):
    owned = {"Project": "p"}
    vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = aws.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]

    def nat(name):
        tags = [{"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": name}, {"Key": "Project", "Value": "p"}]}]
        return aws.create_nat_gateway(SubnetId=subnet, ConnectivityType="private", TagSpecifications=tags)["NatGateway"]["NatGatewayId"]

    aws.delete_nat_gateway(NatGatewayId=nat("mgmt-nat"))
    live = nat("mgmt-nat")
    result = run_module(aws_context_info, {"tagged": {"tags": owned, "resources": {"nat_gateway": ["mgmt-nat", "other-nat"]}}})
    assert not result.get("failed"), result
    assert result["tagged"]["ids"] == {"mgmt-nat": live} and result["tagged"]["missing"] == ["other-nat"]
    assert result["tagged"]["resources"]["mgmt-nat"]["subnet_id"] == subnet


def test_context_refuses_a_principal_pattern(aws):
    result = run_module(aws_context_info, {"principal_arns": ["arn:aws:iam::123456789012:role/Admin*"]})
    assert result["failed"] is True and "is a pattern" in result["msg"]


def test_context_lists_endpoint_services_the_region_lacks(aws):
    result = run_module(aws_context_info, {"endpoint_services": ["logs", "no-such-thing"]})
    assert result["missing_endpoint_services"] == ["no-such-thing"]


def test_context_refuses_the_wrong_account_before_anything_else(aws):
    result = run_module(aws_context_info, {"expected_account_id": "999999999999"})
    assert result["failed"] is True
    assert result["msg"].startswith("Wrong AWS account")
    assert "Nothing was changed" in result["msg"]


def test_context_refuses_an_unknown_region_against_aws(aws):
    result = run_module(aws_context_info, {"region": "us-east-9"})
    assert result["failed"] is True and result["msg"] == "Unknown AWS region 'us-east-9'. Check toolkit_aws_region in the inventory."


def test_context_refuses_an_emulator_endpoint_when_told_to(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5500")
    result = run_module(aws_context_info, {"allow_endpoint_url": False})
    assert result["failed"] is True and "A custom AWS endpoint is set (http://127.0.0.1:5500)" in result["msg"]


def test_context_refuses_an_emulator_endpoint_off_this_machine(aws, monkeypatch):
    # The local inventories send the environment's credentials to their endpoint: loopback only.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://sts.us-east-1.amazonaws.com")
    result = run_module(aws_context_info, {"allow_endpoint_url": True})
    assert result["failed"] is True
    assert result["msg"].startswith("The endpoint https://sts.us-east-1.amazonaws.com is not on this machine's loopback")


def test_lookup_finds_only_resources_carrying_the_ownership_tags(aws):
    def vpc(environment):
        vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        aws.create_tags(Resources=[vpc_id], Tags=[
            {"Key": "Name", "Value": "rna-seq-hipaa-vpc"}, {"Key": "Project", "Value": "p"}, {"Key": "Environment", "Value": environment}])
        return vpc_id

    ours, theirs = vpc("production"), vpc("validation")
    subnet = aws.create_subnet(VpcId=ours, CidrBlock="10.0.0.0/20", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    aws.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": "az1"}, {"Key": "Project", "Value": "p"},
                                              {"Key": "Environment", "Value": "production"}])
    result = run_module(tagged_resource_info, {
        "tags": {"Project": "p", "Environment": "production"},
        "resources": {"vpc": ["rna-seq-hipaa-vpc"], "subnet": ["az1", "az2"], "security_group": []},
    })
    assert result["ids"] == {"rna-seq-hipaa-vpc": ours, "az1": subnet}
    assert result["resources"]["az1"]["availability_zone"] == "us-east-1a"
    assert result["resources"]["rna-seq-hipaa-vpc"]["cidr_block"] == "10.0.0.0/16"
    assert result["missing"] == ["az2"]
    assert [f["id"] for f in result["foreign"]] == [theirs]


def test_lookup_refuses_two_resources_with_the_same_name_and_owner(aws):
    for _ in range(2):
        vpc_id = aws.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        aws.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "dup"}, {"Key": "Project", "Value": "p"}])
    result = run_module(tagged_resource_info, {"tags": {"Project": "p"}, "resources": {"vpc": ["dup"]}})
    assert result["failed"] is True and "More than one resource" in result["msg"]


def test_lookup_rejects_an_unknown_resource_type(aws):
    result = run_module(tagged_resource_info, {"resources": {"bucket": ["x"]}})
    assert result["failed"] is True and result["msg"].startswith("Unknown resource type bucket")


class FakeModule:
    region = "us-east-1"

    def __init__(self, endpoint=None):
        self.params = {"endpoint_url": endpoint}


@pytest.mark.parametrize(
    "exception, expected",
    [
        (botocore.exceptions.NoCredentialsError(), "No AWS credentials found"),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "Cannot reach the endpoint http://e:1"),
        (botocore.exceptions.ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "GetCallerIdentity"),
         "AWS rejected the credentials (ExpiredToken: expired)"),
    ],
)
def test_connection_problems_become_one_readable_line(exception, expected, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert toolkit_aws.connection_problem(FakeModule("http://e:1"), exception).startswith(expected)


def test_ordinary_api_errors_are_left_to_amazon_aws(monkeypatch):
    error = botocore.exceptions.ClientError({"Error": {"Code": "InvalidVpcID.NotFound", "Message": "x"}}, "DescribeVpcs")
    assert toolkit_aws.connection_problem(FakeModule(), error) is None


def test_context_reads_a_stack_as_amazon_aws_cloudformation_info_does(aws):
    """The network phase takes the preflight's stack, or cloudformation_info's once a stack settles: one shape."""
    from ansible_collections.amazon.aws.plugins.modules import cloudformation_info

    template = "Parameters:\n  Cidr: {Type: String}\nResources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: !Ref Cidr}\n" \
               "Outputs:\n  VpcId: {Value: !Ref Vpc}\n"
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="endpoints", TemplateBody=template, Parameters=[{"ParameterKey": "Cidr", "ParameterValue": "10.9.0.0/16"}],
        Tags=[{"Key": "Project", "Value": "p"}])
    result = run_module(aws_context_info, {"stacks": ["endpoints", "never-made"]})
    assert not result.get("failed"), result
    assert list(result["stacks"]) == ["endpoints"]
    stack = result["stacks"]["endpoints"]
    assert stack["stack_parameters"] == {"Cidr": "10.9.0.0/16"} and stack["stack_tags"] == {"Project": "p"}
    assert stack["stack_template"] == template and stack["stack_outputs"]["VpcId"].startswith("vpc-")
    assert stack["stack_description"]["stack_status"] == "CREATE_COMPLETE"
    upstream = run_module(cloudformation_info, {"stack_name": "endpoints", "stack_template": True})["cloudformation"]["endpoints"]
    assert stack == upstream
    assert run_module(aws_context_info, {})["stacks"] == {}


vpc_flow_logs = load_module("vpc_flow_logs")


def test_a_vpcs_flow_log_is_made_once_and_its_tags_made_exact_or_kept_as_asked(ec2, vpc_id):
    args = {"vpc_ids": [vpc_id], "log_group": "/aws/vpc/flow-logs/p", "role_arn": "arn:aws:iam::123456789012:role/flow",
            "tags": {"Project": "p"}}

    def flow_log_tags():
        (flow_log,) = ec2.describe_flow_logs()["FlowLogs"]
        return flow_log["FlowLogId"], toolkit_aws.tag_dict(flow_log.get("Tags"))

    assert run_module(vpc_flow_logs, args)["flow_logs"][0]["state"] == "created"
    flow_log_id, tags = flow_log_tags()
    assert tags == {"Project": "p"} and run_module(vpc_flow_logs, args)["flow_logs"][0]["state"] == "unchanged"
    ec2.create_tags(Resources=[flow_log_id], Tags=[{"Key": "Project", "Value": "other"}, {"Key": "Owner", "Value": "someone"}])
    planned = run_module(vpc_flow_logs, {**args, "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["flow_logs"][0]["state"] == "tagged" and planned["changes"] == {vpc_id: ["tagged"]}
    assert planned["diff"]["after"][vpc_id]["tags"] == {"Project": "p"}
    assert flow_log_tags()[1] == {"Project": "other", "Owner": "someone"}, "check mode wrote nothing"
    assert run_module(vpc_flow_logs, {**args, "purge_tags": False})["changed"] is True
    assert flow_log_tags() == (flow_log_id, {"Project": "p", "Owner": "someone"})
    assert run_module(vpc_flow_logs, args)["changed"] is True and flow_log_tags() == (flow_log_id, {"Project": "p"})
    assert run_module(vpc_flow_logs, args)["changed"] is False
    assert run_module(vpc_flow_logs, {**args, "tags": None})["changed"] is False


def test_state_absent_deletes_the_vpcs_flow_logs_to_the_group_once_and_leaves_others(ec2, vpc_id):
    args = {"vpc_ids": [vpc_id], "log_group": "/aws/vpc/flow-logs/p", "role_arn": "arn:aws:iam::123456789012:role/flow"}
    run_module(vpc_flow_logs, args)
    run_module(vpc_flow_logs, {**args, "log_group": "/aws/vpc/flow-logs/other"})
    gone = {"vpc_ids": [vpc_id], "log_group": "/aws/vpc/flow-logs/p", "state": "absent"}
    planned = run_module(vpc_flow_logs, {**gone, "_ansible_check_mode": True})
    assert planned["changed"] is True and planned["flow_logs"][0]["state"] == "deleted"
    assert len(ec2.describe_flow_logs()["FlowLogs"]) == 2, "check mode wrote nothing"
    assert run_module(vpc_flow_logs, gone)["changed"] is True
    assert [f["LogGroupName"] for f in ec2.describe_flow_logs()["FlowLogs"]] == ["/aws/vpc/flow-logs/other"]
    assert run_module(vpc_flow_logs, gone)["changed"] is False
