# -*- coding: utf-8 -*-
"""Checks every phase's preflight makes on the toolkit-wide inventory values, and the gates that let a
step skip its module when the preflight's read (aws_context_info) already shows what the module would
leave: each compares as that module does, and a unit test holds each to its module."""

from __future__ import annotations

import re

OWNERSHIP_TAGS = ("Project", "Environment")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def as_bool(value):
    """A boolean from an inventory value, including the strings -e passes."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def toolkit_inventory_errors(account_id, emulated, tags):
    """Problems with the account id and ownership tags an inventory declares.

    Real-account inventories must name their 12-digit account (every run
    stops before any change when the caller is elsewhere); the local cloud
    needs none. Tags must carry the ownership tags resources are found by.
    """
    errors = []
    account_id = "" if account_id is None else str(account_id).strip()
    if not account_id:
        if not as_bool(emulated):
            errors.append(
                "toolkit_aws_account_id is empty: an inventory for a real account must name its 12-digit account id"
            )
    elif not _ACCOUNT_ID.match(account_id):
        errors.append(f"toolkit_aws_account_id '{account_id}' is not a 12-digit AWS account id")
    elif set(account_id) == {"0"}:
        errors.append(
            "toolkit_aws_account_id is still the placeholder 000000000000: set it to the account this inventory is for"
        )
    missing = [key for key in OWNERSHIP_TAGS if not (tags or {}).get(key)]
    if missing:
        errors.append(f"The tags (toolkit_tags) lack the ownership tags {', '.join(missing)}")
    return errors


def ownership_tags(tags):
    """The subset of `tags` that says which project and environment own a resource."""
    return {key: tags[key] for key in OWNERSHIP_TAGS if key in (tags or {})}


def tag_filters(tags):
    """EC2 describe filters ({"tag:Key": value}) matching every tag given."""
    return {f"tag:{key}": value for key, value in (tags or {}).items()}


def context_passes(context, expected_account_id, allow_emulator):
    """Whether an earlier play's aws_context_info read of the same run (site.yml) passes a phase's own
    account checks: the account its inventory names (any, where it names none), and an emulator endpoint
    only where the phase allows one (`allow_emulator`, a bool). No read ({}) passes nothing."""
    if "account_id" not in (context or {}):
        return False
    return str(expected_account_id) in ("", context["account_id"]) and (allow_emulator or not context.get("endpoint_url"))


def tags_are(current, wanted):
    """Whether a resource's tags are exactly `wanted`, as a module with purge_tags leaves them: AWS's own
    aws: tags aside, values compared as the strings AWS keeps."""
    have = {key: value for key, value in (current or {}).items() if not key.startswith("aws:")}
    return have == {str(key): str(value) for key, value in (wanted or {}).items()}


def log_groups_settled(found, declared, tags=None):
    """Whether aws_context_info's read of log groups (with their tags) shows each declared group as the
    log_groups module would leave it: there, with its key and retention where declared, and exactly
    `tags` (purge_tags) where given. Anything else means the module has work to do."""
    for group in declared:
        have = (found or {}).get(group["name"])
        if have is None:
            return False
        if group.get("kms_key_id") and have.get("kms_key_id") != group["kms_key_id"]:
            return False
        if group.get("retention") is not None and have.get("retention") != int(group["retention"]):
            return False
        if tags is not None and ("tags" not in have or not tags_are(have["tags"], tags)):
            return False
    return True


def vpcs_settled(found, attributes, declared, tags):
    """Whether aws_context_info's tagged read (`tagged.resources`, by Name) and `vpc_attributes` show each
    declared VPC ({name, cidr_block, tenancy, dns_support, dns_hostnames}) as ec2_vpcs would leave it: there
    by its name with that CIDR block and tenancy, DNS support and hostnames as declared (both on by
    default), and exactly `tags` plus its Name."""
    for vpc in declared:
        have = (found or {}).get(vpc["name"])
        if not have or have.get("type") != "vpc" or vpc["name"] not in (attributes or {}):
            return False
        if have.get("cidr_block") != vpc["cidr_block"] or have.get("tenancy") != vpc.get("tenancy", "default"):
            return False
        if attributes[vpc["name"]] != {"dns_support": vpc.get("dns_support", True), "dns_hostnames": vpc.get("dns_hostnames", True)}:
            return False
        if not tags_are(have.get("tags"), {**(tags or {}), "Name": vpc["name"]}):
            return False
    return True


def subnets_settled(found, declared, vpc_id, tags):
    """Whether aws_context_info's tagged read (`tagged.resources`, by Name) shows each declared subnet
    ({name, cidr, az, map_public}) as ec2_vpc_subnets would leave it: in the VPC by its name with that CIDR
    (which ec2_vpc_subnets finds it by) and zone, public IPv4 on launch as declared, and exactly `tags` plus
    its Name. Anything else means the module has work to do."""
    for subnet in declared:
        have = (found or {}).get(subnet["name"])
        if not have or have.get("type") != "subnet" or have.get("vpc_id") != vpc_id:
            return False
        if have.get("cidr_block") != subnet["cidr"] or have.get("availability_zone") != subnet["az"]:
            return False
        if bool(have.get("map_public_ip_on_launch")) != bool(subnet.get("map_public", False)):
            return False
        if not tags_are(have.get("tags"), {**(tags or {}), "Name": subnet["name"]}):
            return False
    return True


# amazon.aws.ec2_vpc_nacl's protocol names.
_NACL_PROTOCOLS = {"all": -1, "icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58}


def _nacl_entry(rule, egress):
    """One rule as amazon.aws.ec2_vpc_nacl turns it into an entry to compare (its ansible_to_boto3_dict_rule)."""
    entry = {"RuleNumber": rule[0], "Protocol": str(_NACL_PROTOCOLS[rule[1]]), "RuleAction": rule[2], "Egress": egress}
    entry["Ipv6CidrBlock" if ":" in rule[3] else "CidrBlock"] = rule[3]
    if (len(rule) == 6 and rule[1] in ("icmp", "ipv6-icmp")) or rule[1] in (1, 58):
        entry["IcmpTypeCode"] = {"Type": int(rule[4]), "Code": int(rule[5])}
    elif rule[6] or rule[7]:
        entry["PortRange"] = {"From": rule[6], "To": rule[7]}
    return entry


def nacl_settled(found, vpc_id, subnet_ids, ingress, egress, tags):
    """Whether aws_context_info's tagged read of a NACL (`tagged.resources[name]`) shows it as
    amazon.aws.ec2_vpc_nacl would leave it: in the VPC, associated with exactly these subnets, with exactly
    these rules (compared as that module compares them, its default rule aside) and exactly `tags` plus
    its Name. Anything else means the module has work to do."""
    if not found or found.get("type") != "network_acl" or found.get("vpc_id") != vpc_id:
        return False
    if sorted(found.get("subnet_ids") or []) != sorted(subnet_ids):
        return False
    for is_egress, rules in ((False, ingress), (True, egress)):
        wanted = [_nacl_entry(rule, is_egress) for rule in rules]
        have = [entry for entry in found.get("entries") or [] if entry["Egress"] is is_egress and entry["RuleNumber"] < 32767]
        if any(w not in have for w in wanted) or any(h not in wanted for h in have):
            return False
    return tags_are(found.get("tags"), {**(tags or {}), "Name": found.get("name")})


class FilterModule:
    def filters(self):
        return {
            "toolkit_inventory_errors": toolkit_inventory_errors,
            "tag_filters": tag_filters,
            "ownership_tags": ownership_tags,
            "context_passes": context_passes,
            "tags_are": tags_are,
            "log_groups_settled": log_groups_settled,
            "subnets_settled": subnets_settled,
            "vpcs_settled": vpcs_settled,
            "nacl_settled": nacl_settled,
        }
