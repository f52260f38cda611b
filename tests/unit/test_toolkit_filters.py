"""Toolkit-wide inventory checks every phase's preflight makes."""

from __future__ import annotations

from toolkit import context_passes, log_groups_settled, nacl_settled, ownership_tags, subnets_settled, tags_are, toolkit_inventory_errors, vpcs_settled

TAGS = {"Project": "rna-seq-hipaa", "Environment": "production", "ManagedBy": "x"}


def test_the_local_cloud_needs_no_account_id():
    assert toolkit_inventory_errors("", True, TAGS) == []


def test_a_real_account_inventory_must_name_a_real_account_id():
    assert "must name its 12-digit account id" in toolkit_inventory_errors("", False, TAGS)[0]
    assert "still the placeholder" in toolkit_inventory_errors("000000000000", False, TAGS)[0]
    assert "is not a 12-digit" in toolkit_inventory_errors("1234", False, TAGS)[0]
    assert toolkit_inventory_errors("123456789012", False, TAGS) == []
    assert toolkit_inventory_errors(123456789012, False, TAGS) == []


def test_the_ownership_tags_are_required_and_extracted():
    assert "lack the ownership tags Environment" in toolkit_inventory_errors("", True, {"Project": "p"})[0]
    assert ownership_tags(TAGS) == {"Project": "rna-seq-hipaa", "Environment": "production"}



def test_tags_are_the_wanted_ones_as_strings_aws_own_tags_aside():
    assert tags_are({"Name": "igw", "Port": "1194", "aws:cloudformation:stack-name": "s"}, {"Name": "igw", "Port": 1194})
    assert not tags_are({"Name": "igw", "Owner": "someone"}, {"Name": "igw"})
    assert not tags_are({"Name": "igw"}, {"Name": "igw", "Project": "p"})
    assert not tags_are({"Name": "other"}, {"Name": "igw"})
    assert tags_are(None, {}) and tags_are({}, None)


def test_log_groups_are_settled_only_when_each_is_there_with_its_declared_key_retention_and_tags():
    found = {"/a": {"kms_key_id": "k", "retention": 365, "tags": {"Project": "p"}}}
    declared = [{"name": "/a", "kms_key_id": "k", "retention": "365"}]
    assert log_groups_settled(found, declared, {"Project": "p"})
    assert log_groups_settled(found, [{"name": "/a", "kms_key_id": None, "retention": None}], None), "undeclared is left alone"
    assert not log_groups_settled(found, declared + [{"name": "/b"}], {"Project": "p"}), "missing"
    assert not log_groups_settled(found, [{**declared[0], "kms_key_id": "other"}], {"Project": "p"})
    assert not log_groups_settled(found, [{**declared[0], "retention": 30}], {"Project": "p"})
    assert not log_groups_settled(found, declared, {"Project": "q"})
    assert not log_groups_settled({"/a": {"kms_key_id": "k", "retention": 365}}, declared, {"Project": "p"}), "tags unread"


def test_subnets_are_settled_only_when_each_is_in_the_vpc_with_its_cidr_zone_public_ip_setting_and_tags():
    found = {"a": {"type": "subnet", "vpc_id": "vpc-1", "cidr_block": "10.0.0.0/20", "availability_zone": "z1",
                   "map_public_ip_on_launch": False, "tags": {"Name": "a", "Project": "p"}}}
    declared = [{"name": "a", "cidr": "10.0.0.0/20", "az": "z1"}]
    assert subnets_settled(found, declared, "vpc-1", {"Project": "p"})
    assert not subnets_settled(found, declared + [{"name": "b", "cidr": "10.0.16.0/20", "az": "z1"}], "vpc-1", {"Project": "p"})
    assert not subnets_settled(found, declared, "vpc-2", {"Project": "p"})
    assert not subnets_settled(found, [{**declared[0], "cidr": "10.0.32.0/20"}], "vpc-1", {"Project": "p"})
    assert not subnets_settled(found, [{**declared[0], "az": "z2"}], "vpc-1", {"Project": "p"})
    assert not subnets_settled(found, [{**declared[0], "map_public": True}], "vpc-1", {"Project": "p"})
    assert not subnets_settled(found, declared, "vpc-1", {"Project": "q"})
    assert not subnets_settled({"a": {**found["a"], "type": "vpc"}}, declared, "vpc-1", {"Project": "p"})


def test_vpcs_are_settled_only_when_each_is_there_with_its_cidr_tenancy_dns_and_tags():
    found = {"v": {"type": "vpc", "cidr_block": "10.0.0.0/16", "tenancy": "default", "tags": {"Name": "v", "Project": "p"}}}
    attributes = {"v": {"dns_support": True, "dns_hostnames": True}}
    declared = [{"name": "v", "cidr_block": "10.0.0.0/16"}]
    assert vpcs_settled(found, attributes, declared, {"Project": "p"})
    assert not vpcs_settled(found, {}, declared, {"Project": "p"}), "attributes unread"
    assert not vpcs_settled(found, attributes, [{**declared[0], "cidr_block": "10.1.0.0/16"}], {"Project": "p"})
    assert not vpcs_settled(found, attributes, [{**declared[0], "tenancy": "dedicated"}], {"Project": "p"})
    assert not vpcs_settled(found, attributes, [{**declared[0], "dns_hostnames": False}], {"Project": "p"})
    assert not vpcs_settled(found, attributes, declared, {"Project": "q"})
    assert not vpcs_settled({}, attributes, declared, {"Project": "p"})


def test_a_nacl_is_settled_as_amazon_aws_ec2_vpc_nacl_compares_it():
    entries = [
        {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "Egress": False, "CidrBlock": "10.0.0.0/16",
         "PortRange": {"From": 443, "To": 443}},
        {"RuleNumber": 110, "Protocol": "1", "RuleAction": "allow", "Egress": False, "CidrBlock": "10.0.0.0/16",
         "IcmpTypeCode": {"Type": 3, "Code": 4}},
        {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": True, "Ipv6CidrBlock": "::/0"},
        {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": True, "CidrBlock": "0.0.0.0/0"},
    ]
    found = {"type": "network_acl", "name": "n", "vpc_id": "vpc-1", "subnet_ids": ["s-2", "s-1"], "entries": entries,
             "tags": {"Name": "n", "Project": "p"}}
    ingress = [[100, "tcp", "allow", "10.0.0.0/16", None, None, 443, 443], [110, "icmp", "allow", "10.0.0.0/16", 3, 4]]
    egress = [[100, "all", "allow", "::/0", None, None, 0, 0]]
    assert nacl_settled(found, "vpc-1", ["s-1", "s-2"], ingress, egress, {"Project": "p"}), "the default rule aside"
    assert not nacl_settled(found, "vpc-2", ["s-1", "s-2"], ingress, egress, {"Project": "p"})
    assert not nacl_settled(found, "vpc-1", ["s-1"], ingress, egress, {"Project": "p"})
    assert not nacl_settled(found, "vpc-1", ["s-1", "s-2"], ingress[:1], egress, {"Project": "p"}), "a rule to remove"
    assert not nacl_settled(found, "vpc-1", ["s-1", "s-2"], [[100, "tcp", "allow", "10.0.0.0/16", None, None, 443, 444]] + ingress[1:],
                            egress, {"Project": "p"}), "a rule to change"
    assert not nacl_settled(found, "vpc-1", ["s-1", "s-2"], ingress, egress, {"Project": "q"})
    assert not nacl_settled({}, "vpc-1", ["s-1", "s-2"], ingress, egress, {"Project": "p"})


def test_an_earlier_plays_read_passes_only_a_phases_own_account_and_emulator_checks():
    aws = {"account_id": "111122223333", "endpoint_url": None}
    emulated = {"account_id": "123456789012", "endpoint_url": "http://127.0.0.1:5000"}
    assert context_passes(aws, "", False) and context_passes(aws, "111122223333", False)
    assert not context_passes(aws, "444455556666", False)
    assert context_passes(emulated, "", True) and not context_passes(emulated, "", False)
    assert not context_passes({}, "", True), "no read: the phase reads itself"
