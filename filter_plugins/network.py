# -*- coding: utf-8 -*-
"""Filters of the network phase: input validation, NACL rules, template names.

Pure functions of their arguments (no AWS calls), so the unit tests in
tests/unit/test_network_filters.py cover them directly.
"""

from __future__ import annotations

import ipaddress
import re

# AWS accepts VPC and subnet blocks from /16 to /28.
_MIN_PREFIX, _MAX_PREFIX = 16, 28
# Ranges that never route on the internet: RFC 1918 and RFC 6598.
_PRIVATE_RANGES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]
_ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_NACL_ACTIONS = ("allow", "deny")
_NACL_PROTOCOLS = ("tcp", "udp", "icmp", "all")
# Rule numbers AWS accepts for custom NACL entries.
_NACL_RULE_MAX = 32766


def _cidr_error(value, label):
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError as e:
        if "host bits set" in str(e):
            network = ipaddress.ip_network(str(value), strict=False)
            return f"{label} '{value}' has host bits set; did you mean {network}?"
        return f"{label} '{value}' is not a valid IPv4 CIDR block"
    if network.version != 4:
        return f"{label} '{value}' is not an IPv4 CIDR block"
    return None


def assign_availability_zones(subnets, zones):
    """Each subnet with its availability zone: its own `az`, else zones[i]."""
    result = []
    for index, subnet in enumerate(subnets):
        placed = dict(subnet)
        if not placed.get("az"):
            placed["az"] = zones[index] if index < len(zones) else ""
        result.append(placed)
    return result


def network_input_errors(inputs):
    """Every problem with the network phase's inputs that needs no AWS call.

    `inputs` holds vpc_cidr, subnets (name, cidr, optional az),
    https_client_cidrs and interface_endpoints. Returns a list of messages,
    empty when all is well.
    """
    errors = []
    vpc_cidr = inputs.get("vpc_cidr")
    error = _cidr_error(vpc_cidr, "VPC CIDR")
    vpc = None
    if error:
        errors.append(error)
    else:
        vpc = ipaddress.ip_network(vpc_cidr)
        if not _MIN_PREFIX <= vpc.prefixlen <= _MAX_PREFIX:
            errors.append(f"VPC CIDR {vpc_cidr} must be between /{_MIN_PREFIX} and /{_MAX_PREFIX}")
        if not any(vpc.subnet_of(private) for private in _PRIVATE_RANGES):
            errors.append(f"VPC CIDR {vpc_cidr} is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)")

    subnets = inputs.get("subnets") or []
    if len(subnets) < 2:
        errors.append("At least two private subnets are needed (in two availability zones)")
    seen_names = set()
    placed = []
    for subnet in subnets:
        name = subnet.get("name") or "(unnamed)"
        if name in seen_names:
            errors.append(f"Subnet name {name} is used twice")
        seen_names.add(name)
        error = _cidr_error(subnet.get("cidr"), f"Subnet {name} CIDR")
        if error:
            errors.append(error)
            continue
        network = ipaddress.ip_network(subnet["cidr"])
        if not _MIN_PREFIX <= network.prefixlen <= _MAX_PREFIX:
            errors.append(f"Subnet {name} CIDR {network} must be between /{_MIN_PREFIX} and /{_MAX_PREFIX}")
        if vpc is not None and not network.subnet_of(vpc):
            errors.append(f"Subnet {name} CIDR {network} is outside the VPC CIDR {vpc}")
        for other_name, other in placed:
            if network.overlaps(other):
                errors.append(f"Subnets {other_name} ({other}) and {name} ({network}) overlap")
        placed.append((name, network))

    for cidr in inputs.get("https_client_cidrs") or []:
        error = _cidr_error(cidr, "HTTPS client CIDR")
        if error:
            errors.append(error)
            continue
        network = ipaddress.ip_network(cidr)
        if network.prefixlen == 0:
            errors.append(f"HTTPS client CIDR {cidr} admits the whole internet; name the VPN or office range instead")
        elif vpc is not None and network.overlaps(vpc):
            errors.append(f"HTTPS client CIDR {cidr} overlaps the VPC CIDR {vpc}, which is admitted already")

    endpoints = inputs.get("interface_endpoints") or []
    for service in endpoints:
        if not _ENDPOINT_NAME.match(str(service)):
            errors.append(f"Interface endpoint '{service}' is not a service short name such as ecr.api")
    duplicates = sorted({s for s in endpoints if endpoints.count(s) > 1})
    if duplicates:
        errors.append(f"Interface endpoints listed twice: {', '.join(duplicates)}")
    return errors


def network_placement_errors(subnets, zones):
    """Problems placing the subnets (already given their AZs) in the region."""
    errors = []
    if len(zones) < 2:
        errors.append(f"The region offers {len(zones)} availability zone(s); the private subnets need two")
    used = {}
    for subnet in subnets:
        zone = subnet.get("az")
        name = subnet.get("name")
        if not zone:
            errors.append(f"Subnet {name} has no availability zone and the region has no zone left to give it")
        elif zone not in zones:
            errors.append(f"Subnet {name}: availability zone {zone} is not an available zone of this region ({', '.join(zones)})")
        elif zone in used:
            errors.append(
                f"Subnets {used[zone]} and {name} are both in {zone}; interface endpoints need one subnet per zone"
            )
        else:
            used[zone] = name
    return errors


def nacl_rules(declared, generated=()):
    """The NACL entries of one direction, as ec2_vpc_nacl wants them.

    `declared` are the inventory's rules (dicts with number, protocol, action,
    cidr, from_port, to_port). Each item of `generated` (start, cidrs, ports)
    adds one allow rule per CIDR over `ports`, numbered from `start` in steps
    of 10. Returns [[number, protocol, action, cidr, icmp_type, icmp_code,
    from_port, to_port]], sorted by number.
    """
    entries = []
    for rule in declared:
        entries.append(
            [
                int(rule["number"]),
                rule.get("protocol", "tcp"),
                rule.get("action", "allow"),
                rule["cidr"],
                None,
                None,
                int(rule.get("from_port", 0)),
                int(rule.get("to_port", 0)),
            ]
        )
    for block in generated:
        from_port, to_port = (int(port) for port in block["ports"])
        for index, cidr in enumerate(block["cidrs"]):
            entries.append([int(block["start"]) + 10 * index, "tcp", "allow", cidr, None, None, from_port, to_port])
    return sorted(entries, key=lambda entry: entry[0])


def nacl_errors(entries, direction, max_rules):
    """Problems with one direction's final NACL entries."""
    errors = []
    numbers = [entry[0] for entry in entries]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        errors.append(f"NACL {direction} rule numbers used twice: {', '.join(map(str, duplicates))}")
    for number, protocol, action, cidr, _type, _code, from_port, to_port in entries:
        if not 1 <= number <= _NACL_RULE_MAX:
            errors.append(f"NACL {direction} rule {number} is outside 1..{_NACL_RULE_MAX}")
        if protocol not in _NACL_PROTOCOLS:
            errors.append(f"NACL {direction} rule {number}: protocol {protocol} is not one of {', '.join(_NACL_PROTOCOLS)}")
        if action not in _NACL_ACTIONS:
            errors.append(f"NACL {direction} rule {number}: action {action} is not allow or deny")
        error = _cidr_error(cidr, f"NACL {direction} rule {number} CIDR")
        if error:
            errors.append(error)
        elif action == "allow" and ipaddress.ip_network(cidr).prefixlen == 0:
            errors.append(f"NACL {direction} rule {number} allows 0.0.0.0/0; this VPC admits no traffic from the internet")
        if protocol in ("tcp", "udp") and not 0 <= from_port <= to_port <= 65535:
            errors.append(f"NACL {direction} rule {number}: port range {from_port}-{to_port} is not valid")
    if len(entries) > int(max_rules):
        errors.append(
            f"NACL {direction} needs {len(entries)} rules but the account allows {max_rules} per direction "
            "(raise the 'Rules per network ACL' quota and network_nacl_max_rules, or trim the rules)"
        )
    return errors


def network_conflicts(existing, vpc_name, vpc_cidr, subnets):
    """Why the inventory cannot be applied to what `tagged_resource_info` found.

    A resource named like ours that belongs to another environment is never
    adopted, and a VPC or subnet cannot change its CIDR or zone in place.
    """
    problems = [
        f"{found['type']} {found['id']} is named {found['name']} but belongs to another project or environment "
        f"(tags {found['tags']}); rename it or set other names in the inventory"
        for found in existing.get("foreign", [])
    ]
    resources = existing.get("resources", {})
    vpc = resources.get(vpc_name)
    if vpc and vpc.get("cidr_block") != vpc_cidr:
        problems.append(
            f"VPC {vpc_name} exists with CIDR {vpc.get('cidr_block')}, not {vpc_cidr}: a VPC cannot change "
            "its CIDR; keep the CIDR, or tear the environment down first"
        )
    for subnet in subnets:
        found = resources.get(subnet["name"])
        if not found:
            continue
        if found.get("cidr_block") != subnet["cidr"] or found.get("availability_zone") != subnet["az"]:
            problems.append(
                f"Subnet {subnet['name']} exists as {found.get('cidr_block')} in {found.get('availability_zone')}, "
                f"not {subnet['cidr']} in {subnet['az']}: a subnet cannot move; keep its CIDR and zone, "
                "or tear the environment down first"
            )
    return problems


def cfn_logical_id(service, suffix="Endpoint"):
    """A CloudFormation logical id for an endpoint service: ecr.api -> EcrApiEndpoint."""
    words = re.split(r"[^A-Za-z0-9]+", str(service))
    return "".join(word[:1].upper() + word[1:] for word in words if word) + suffix


def endpoint_logical_ids(deployed_template, services, gone=()):
    """The logical ID of each endpoint in the vpc-endpoints stack.

    An endpoint deleted outside CloudFormation cannot be recreated under its
    old logical ID (the stack still believes it exists), so it gets a new
    one, the old with a revision suffix (LogsEndpoint -> LogsEndpointR2):
    CloudFormation then drops the old resource and creates the new. The IDs
    in use are read back from the deployed template, so a revision sticks.
    """
    deployed = re.findall(r"^  ([A-Za-z0-9]+):\s*\n    Type: AWS::EC2::VPCEndpoint", deployed_template or "", re.MULTILINE)
    ids = {}
    for base in ["S3GatewayEndpoint"] + [cfn_logical_id(service) for service in services]:
        current = next((name for name in deployed if re.fullmatch(rf"{base}(R\d+)?", name)), base)
        if current in gone:
            revision = re.fullmatch(rf"{base}(?:R(\d+))?", current).group(1)
            current = f"{base}R{int(revision or 1) + 1}"
        ids[base] = current
    return ids


# The endpoint policies (AWS's default policy lets anyone use an endpoint for
# anything). CloudFormation fills in the account, partition and region.
_ACCOUNT = {"Ref": "AWS::AccountId"}


def endpoint_policy(kind, aws_buckets=()):
    """The policy document of one VPC endpoint, with CloudFormation's
    intrinsics for the account, partition and region.

    `kind`:
    - ``s3-gateway``: this account's principals reach this account's buckets,
      and anyone in the VPC may read `aws_buckets` (AWS-owned buckets: ECR's
      layers are fetched through URLs ECR signs, so no caller account applies).
    - ``s3-interface``: this account's principals reach this account's buckets.
    - ``interface``: this account's principals, for anything the service does.
    """
    own_principals = {"aws:PrincipalAccount": _ACCOUNT}
    if kind == "interface":
        return {"Version": "2012-10-17", "Statement": [
            {"Sid": "ThisAccountsPrincipalsOnly", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
             "Condition": {"StringEquals": own_principals}}]}
    if kind not in ("s3-gateway", "s3-interface"):
        raise ValueError(f"endpoint_policy: unknown kind {kind!r}")
    statements = [
        {"Sid": "ThisAccountsBucketsOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringEquals": {**own_principals, "aws:ResourceAccount": _ACCOUNT}}}]
    if kind == "s3-gateway" and aws_buckets:
        statements.append(
            {"Sid": "ReadTheAwsOwnedBucketsThePipelineNeeds", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/*"} for bucket in aws_buckets]})
    return {"Version": "2012-10-17", "Statement": statements}


def peering_routes(cidrs, peering_id):
    """The routes that send the given CIDRs through a VPC peering connection,
    as ec2_route_tables takes them; none while there is no connection."""
    if not peering_id:
        return []
    return [{"dest": cidr, "vpc_peering_connection_id": peering_id} for cidr in cidrs]


class FilterModule:
    def filters(self):
        return {
            "assign_availability_zones": assign_availability_zones,
            "network_input_errors": network_input_errors,
            "network_placement_errors": network_placement_errors,
            "nacl_rules": nacl_rules,
            "nacl_errors": nacl_errors,
            "network_conflicts": network_conflicts,
            "cfn_logical_id": cfn_logical_id,
            "endpoint_logical_ids": endpoint_logical_ids,
            "endpoint_policy": endpoint_policy,
            "peering_routes": peering_routes,
        }
