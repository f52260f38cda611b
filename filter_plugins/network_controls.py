# -*- coding: utf-8 -*-
"""The network phase's controls (NET-*): the production VPC, its subnets, NACLs,
route table, security groups and endpoints, and the endpoints' policies.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

# Ansible loads plugins by path: make filter_plugins/controls.py, the shared part, importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

import controls as shared  # noqa: E402


def _ports(entry):
    """(from, to) of an ec2_vpc_nacl_info entry; all ports when none are set."""
    _number, protocol, _action, _cidr, _icmp_type, _icmp_code, from_port, to_port = entry
    if protocol == "all":
        return (0, 65535)
    return (int(from_port or 0), int(to_port or 65535))


_WORLD_CIDRS = ("0.0.0.0/0", "::/0")
# Remote administration ports no NACL may open to the internet (CIS AWS 5.1).
_ADMINISTRATION_PORTS = (22, 3389)


def _open_to_the_world(nacls):
    """Inbound allow entries of the NACLs that admit every port, or SSH or
    RDP, from anywhere (NET-16, ACC-08)."""
    found = []
    for nacl in nacls:
        for entry in nacl.get("ingress", []):
            number, protocol, action, cidr = entry[:4]
            low, high = _ports(entry)
            if action == "allow" and cidr in _WORLD_CIDRS and (
                    (low, high) == (0, 65535) or any(low <= port <= high for port in _ADMINISTRATION_PORTS)):
                found.append(f"{nacl.get('nacl_id')} rule {number} {protocol} {cidr} {low}-{high}")
    return found


def _named(items, name):
    return next((item for item in items if item.get("tags", {}).get("Name") == name), None)


def _permission_targets(permission):
    """The CIDRs, prefix lists and groups a security group rule names."""
    return (
        [r.get("cidr_ip") for r in permission.get("ip_ranges") or []]
        + [r.get("cidr_ipv6") for r in permission.get("ipv6_ranges") or []]
        + [p.get("prefix_list_id") for p in permission.get("prefix_list_ids") or []]
        + [g.get("group_id") for g in permission.get("user_id_group_pairs") or []]
    )


def _describe_permission(permission):
    targets = _permission_targets(permission)
    protocol = permission.get("ip_protocol")
    ports = "all" if protocol == "-1" else f"{permission.get('from_port')}-{permission.get('to_port')}"
    return f"{'all' if protocol == '-1' else protocol}/{ports} {','.join(str(t) for t in targets)}"


def _default_group_result(control, groups, vpc_id):
    """NET-09 and ACC-07: a VPC's default security group has no rule at all (CIS 5.4)."""
    default = next((g for g in groups if g.get("group_name") == "default"), None)
    rules = [_describe_permission(p) for p in (default or {}).get("ip_permissions", [])] + [
        _describe_permission(p) for p in (default or {}).get("ip_permissions_egress", [])
    ]
    return control.result(
        f"default security group of {vpc_id}" + (f" ({default['group_id']})" if default else ""),
        "no inbound or outbound rules",
        "; ".join(rules) or ("no rules" if default else "not found"),
        bool(default) and not rules,
    )


EPHEMERAL = (1024, 65535)


CONTROLS = {
    c.id: c
    for c in [
        shared.Control("NET-01", "The production VPC exists with its CIDR and DNS support and hostnames on", "network", "vpc",
                [shared.TRANSMISSION_SECURITY]),
        shared.Control("NET-02", "No internet gateway is attached to the production VPC", "network", "vpc",
                [shared.TRANSMISSION_SECURITY, shared.ACCESS_CONTROL]),
        shared.Control("NET-03", "No NAT gateway exists in the production VPC", "network", "vpc",
                [shared.TRANSMISSION_SECURITY, shared.ACCESS_CONTROL]),
        shared.Control("NET-04", "Private subnets exist, one per zone, and assign no public IPv4 address", "network", "subnets",
                [shared.ACCESS_CONTROL], ["AWS FSBP EC2.15"]),
        shared.Control("NET-05", "Every route table of the VPC routes only locally, to gateway endpoints and to declared peers",
                "network", "route_table", [shared.TRANSMISSION_SECURITY, shared.ACCESS_CONTROL]),
        shared.Control("NET-06", "The private subnets use the private route table", "network", "route_table",
                [shared.TRANSMISSION_SECURITY]),
        shared.Control("NET-07", "The private subnets use the private NACL", "network", "nacl", [shared.ACCESS_CONTROL]),
        shared.Control("NET-08", "The private NACL admits only the VPC, S3's prefix-list ranges over HTTPS and declared HTTPS clients",
                "network", "nacl", [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY], ["CIS AWS 5.1", "AWS FSBP EC2.21"]),
        shared.Control("NET-09", "The VPC's default security group restricts all traffic", "network", "security_groups",
                [shared.ACCESS_CONTROL], ["CIS AWS 5.4", "AWS FSBP EC2.2"]),
        shared.Control("NET-10", "The compute security group admits nothing and sends HTTPS only to the endpoints and S3",
                "network", "security_groups", [shared.ACCESS_CONTROL]),
        shared.Control("NET-11", "The endpoint security group admits HTTPS only from the VPC and declared clients", "network",
                "security_groups", [shared.ACCESS_CONTROL]),
        shared.Control("NET-12", "No security group in the VPC admits traffic from 0.0.0.0/0 or ::/0", "network",
                "security_groups", [shared.ACCESS_CONTROL], ["CIS AWS 5.2", "CIS AWS 5.3", "AWS FSBP EC2.18", "AWS FSBP EC2.19"]),
        shared.Control("NET-13", "S3 is reached through a gateway endpoint on the private route table", "network", "endpoints",
                [shared.TRANSMISSION_SECURITY]),
        shared.Control("NET-14", "Each required AWS service has an interface endpoint with private DNS in every private subnet",
                "network", "endpoints", [shared.TRANSMISSION_SECURITY]),
        shared.Control("NET-15", "The endpoints' policies admit this account's principals and refuse other accounts'; through S3, "
                "they refuse other accounts' buckets, except reads of the named AWS-owned ones", "network", "endpoints",
                [shared.TRANSMISSION_SECURITY, shared.ACCESS_CONTROL],
                note="An interface endpoint whose service takes no endpoint policy (DescribeVpcEndpointServices says "
                "which) keeps AWS's default and passes, named in the finding. The policies are evaluated as AWS would "
                "decide sample requests; the local cloud keeps endpoint policies without enforcing them."),
        shared.Control("NET-16", "No NACL of the VPC admits every port, SSH or RDP from 0.0.0.0/0 or ::/0 (the default NACL "
                "keeps no rule)", "network", "nacl", [shared.ACCESS_CONTROL], ["CIS AWS 5.1", "AWS FSBP EC2.21"]),
    ]
}


def _net(cidr):
    return ipaddress.ip_network(cidr, strict=False)


def _within(cidr, blocks):
    network = _net(cidr)
    return any(network.version == _net(block).version and network.subnet_of(_net(block)) for block in blocks)


def _nacl_entry_allowed(entry, egress, vpc_cidr, s3_cidrs, client_cidrs):
    """Whether one allow entry of the private NACL is part of the baseline."""
    _number, protocol, action, cidr, *_rest = entry
    if action != "allow":
        return True
    if _net(cidr).prefixlen == 0:
        return False
    if _within(cidr, [vpc_cidr]):
        return True
    low, high = _ports(entry)
    https = protocol == "tcp" and (low, high) == (443, 443)
    replies = protocol == "tcp" and EPHEMERAL[0] <= low <= high <= EPHEMERAL[1]
    if cidr in s3_cidrs:
        return https if egress else replies
    if _within(cidr, client_cidrs):
        return replies if egress else https
    return False


def _is_https(permission):
    return permission.get("ip_protocol") == "tcp" and permission.get("from_port") == 443 and permission.get("to_port") == 443


def network_controls(state, baseline):
    """Evaluate the network controls. See module docstring for the result shape.

    `state`: vpc (or None), subnets, nacls, route_tables, security_groups,
    endpoints, internet_gateways, nat_gateways, s3_prefix_list ({id, cidrs}).
    `baseline`: region, vpc_name, vpc_cidr, subnet_names, nacl_name,
    route_table_name, endpoint_sg_name, compute_sg_name, interface_endpoints,
    https_client_cidrs, peer_cidrs.
    """
    c = CONTROLS
    results = []
    vpc = state.get("vpc")
    vpc_name = baseline["vpc_name"]
    if not vpc:
        # Without the VPC nothing else can be audited: every control fails.
        for control in c.values():
            results.append(control.result(vpc_name, "the VPC exists", "no VPC with this name and the ownership tags", False))
        return results

    vpc_id = vpc["id"]
    vpc_cidr = baseline["vpc_cidr"]
    subnets = [s for s in (_named(state.get("subnets", []), n) for n in baseline["subnet_names"]) if s]
    s3 = state.get("s3_prefix_list") or {}
    s3_cidrs = s3.get("cidrs", [])
    client_cidrs = baseline.get("https_client_cidrs", [])

    results.append(c["NET-01"].result(
        f"{vpc_name} ({vpc_id})",
        f"CIDR {vpc_cidr}, DNS support and hostnames on",
        f"CIDR {vpc.get('cidr_block')}, DNS support {vpc.get('enable_dns_support')}, hostnames {vpc.get('enable_dns_hostnames')}",
        vpc.get("cidr_block") == vpc_cidr and vpc.get("enable_dns_support") is True and vpc.get("enable_dns_hostnames") is True,
    ))

    igws = [g["internet_gateway_id"] for g in state.get("internet_gateways", [])]
    results.append(c["NET-02"].result(vpc_id, "no internet gateway", ", ".join(igws) or "none", not igws))

    nats = [n["nat_gateway_id"] for n in state.get("nat_gateways", []) if n.get("state") not in ("deleted", "deleting", "failed")]
    results.append(c["NET-03"].result(vpc_id, "no NAT gateway", ", ".join(nats) or "none", not nats))

    missing = [n for n in baseline["subnet_names"] if not _named(state.get("subnets", []), n)]
    public = [s["tags"].get("Name") for s in subnets if s.get("map_public_ip_on_launch")]
    zones = [s.get("availability_zone") for s in subnets]
    results.append(c["NET-04"].result(
        ", ".join(baseline["subnet_names"]),
        "every subnet present, in distinct zones, no public IPv4 on launch",
        "; ".join(
            [f"missing: {', '.join(missing)}"] * bool(missing)
            + [f"public IPv4 on launch: {', '.join(public)}"] * bool(public)
            + [f"zones: {', '.join(str(z) for z in zones)}"]
        ),
        not missing and not public and len(set(zones)) == len(zones),
    ))

    peers = baseline.get("peer_cidrs", [])
    bad_routes = []
    for table in state.get("route_tables", []):
        for route in table.get("routes", []):
            gateway = route.get("gateway_id") or ""
            destination = route.get("destination_cidr_block") or route.get("destination_ipv6_cidr_block")
            if gateway == "local":
                continue
            if route.get("destination_prefix_list_id") and gateway.startswith("vpce-"):
                continue
            peering = route.get("vpc_peering_connection_id")
            if peering and destination and _within(destination, peers):
                continue
            target = gateway or route.get("nat_gateway_id") or peering or route.get("transit_gateway_id") \
                or route.get("network_interface_id") or route.get("instance_id") or "?"
            bad_routes.append(f"{table['id']}: {destination or route.get('destination_prefix_list_id')} -> {target}")
    results.append(c["NET-05"].result(
        f"route tables of {vpc_id}",
        "local routes, gateway endpoint routes" + (f", peering routes to {', '.join(peers)}" if peers else ""),
        "; ".join(bad_routes) or "only those",
        not bad_routes,
    ))

    route_table = _named(state.get("route_tables", []), baseline["route_table_name"])
    associated = set()
    if route_table:
        associated = {a.get("subnet_id") for a in route_table.get("associations", []) if a.get("subnet_id")}
    unassociated = [s["tags"]["Name"] for s in subnets if s["id"] not in associated]
    results.append(c["NET-06"].result(
        baseline["route_table_name"] + (f" ({route_table['id']})" if route_table else ""),
        "associated with every private subnet",
        "route table missing" if not route_table else (f"not associated: {', '.join(unassociated)}" if unassociated else "associated"),
        bool(route_table) and not unassociated and len(subnets) == len(baseline["subnet_names"]),
    ))

    nacl = _named(state.get("nacls", []), baseline["nacl_name"])
    nacl_subnets = set(nacl.get("subnets", [])) if nacl else set()
    outside = [s["tags"]["Name"] for s in subnets if s["id"] not in nacl_subnets]
    results.append(c["NET-07"].result(
        baseline["nacl_name"] + (f" ({nacl['nacl_id']})" if nacl else ""),
        "associated with every private subnet",
        "NACL missing" if not nacl else (f"not associated: {', '.join(outside)}" if outside else "associated"),
        bool(nacl) and not outside and len(subnets) == len(baseline["subnet_names"]),
    ))

    offending = []
    if nacl:
        for direction, egress in (("ingress", False), ("egress", True)):
            for entry in nacl.get(direction, []):
                if not _nacl_entry_allowed(entry, egress, vpc_cidr, s3_cidrs, client_cidrs):
                    offending.append(f"{direction} {entry[0]} {entry[1]} {entry[3]} {_ports(entry)[0]}-{_ports(entry)[1]}")
    missing_s3 = [
        cidr for cidr in s3_cidrs
        if nacl and not any(e[3] == cidr and e[2] == "allow" and _ports(e) == (443, 443) for e in nacl.get("egress", []))
    ]
    results.append(c["NET-08"].result(
        baseline["nacl_name"],
        f"allow only {vpc_cidr}, HTTPS to and replies from S3 ({', '.join(s3_cidrs)})"
        + (f", HTTPS from {', '.join(client_cidrs)}" if client_cidrs else ""),
        "NACL missing" if not nacl else "; ".join(
            [f"extra: {', '.join(offending)}"] * bool(offending) + [f"no HTTPS to S3 range {', '.join(missing_s3)}"] * bool(missing_s3)
        ) or "as expected",
        bool(nacl) and not offending and not missing_s3,
    ))

    groups = state.get("security_groups", [])
    open_nacls = _open_to_the_world(state.get("nacls", []))
    results.append(c["NET-16"].result(
        baseline["vpc_name"], "no inbound rule from 0.0.0.0/0 or ::/0 to every port, 22 or 3389",
        "; ".join(open_nacls) or ("none" if state.get("vpc") else "no VPC"), bool(state.get("vpc")) and not open_nacls,
    ))
    results.append(_default_group_result(c["NET-09"], groups, vpc_id))

    endpoint_sg = next((g for g in groups if g.get("group_name") == baseline["endpoint_sg_name"]), None)
    compute_sg = next((g for g in groups if g.get("group_name") == baseline["compute_sg_name"]), None)
    endpoint_sg_id = (endpoint_sg or {}).get("group_id")
    compute_problems = []
    if compute_sg:
        compute_problems += [f"inbound {_describe_permission(p)}" for p in compute_sg.get("ip_permissions", [])]
        for permission in compute_sg.get("ip_permissions_egress", []):
            targets_ok = (
                _is_https(permission)
                and not permission.get("ip_ranges") and not permission.get("ipv6_ranges")
                and all(g.get("group_id") == endpoint_sg_id for g in permission.get("user_id_group_pairs", []))
                and all(p.get("prefix_list_id") == s3.get("id") for p in permission.get("prefix_list_ids", []))
            )
            if not targets_ok:
                compute_problems.append(f"outbound {_describe_permission(permission)}")
    results.append(c["NET-10"].result(
        baseline["compute_sg_name"] + (f" ({compute_sg['group_id']})" if compute_sg else ""),
        f"no inbound; outbound HTTPS only to {baseline['endpoint_sg_name']} and {s3.get('id')}",
        "not found" if not compute_sg else ("; ".join(compute_problems) or "as expected"),
        bool(compute_sg) and not compute_problems,
    ))

    endpoint_problems = []
    if endpoint_sg:
        for permission in endpoint_sg.get("ip_permissions", []):
            sources = [r.get("cidr_ip") for r in permission.get("ip_ranges", [])]
            if not _is_https(permission) or permission.get("user_id_group_pairs") or permission.get("ipv6_ranges") \
                    or permission.get("prefix_list_ids") or not all(_within(s, [vpc_cidr] + client_cidrs) for s in sources):
                endpoint_problems.append(f"inbound {_describe_permission(permission)}")
    results.append(c["NET-11"].result(
        baseline["endpoint_sg_name"] + (f" ({endpoint_sg_id})" if endpoint_sg else ""),
        f"inbound HTTPS only from {', '.join([vpc_cidr] + client_cidrs)}",
        "not found" if not endpoint_sg else ("; ".join(endpoint_problems) or "as expected"),
        bool(endpoint_sg) and not endpoint_problems,
    ))

    world = []
    for group in groups:
        for permission in group.get("ip_permissions", []):
            cidrs = [r.get("cidr_ip") for r in permission.get("ip_ranges", [])] + [
                r.get("cidr_ipv6") for r in permission.get("ipv6_ranges", [])
            ]
            if any(cidr in _WORLD_CIDRS for cidr in cidrs):
                world.append(f"{group.get('group_name')} ({group.get('group_id')}): {_describe_permission(permission)}")
    results.append(c["NET-12"].result(
        f"security groups of {vpc_id}", "no inbound rule from 0.0.0.0/0 or ::/0", "; ".join(world) or "none", not world))

    endpoints = [e for e in state.get("endpoints", []) if e.get("state") not in ("deleted", "deleting", "failed", "rejected")]
    s3_service = f"com.amazonaws.{baseline['region']}.s3"
    gateway = next((e for e in endpoints if e.get("service_name") == s3_service
                    and (e.get("vpc_endpoint_type") or "Gateway") == "Gateway" and not e.get("subnet_ids")), None)
    on_table = bool(gateway and route_table and route_table["id"] in gateway.get("route_table_ids", []))
    results.append(c["NET-13"].result(
        s3_service,
        f"a gateway endpoint on {baseline['route_table_name']}",
        "no gateway endpoint" if not gateway else (f"{gateway['vpc_endpoint_id']} on {', '.join(gateway.get('route_table_ids', [])) or 'no route table'}"),
        on_table,
    ))

    endpoint_problems = []
    for service in baseline["interface_endpoints"]:
        name = f"com.amazonaws.{baseline['region']}.{service}"
        found = next((e for e in endpoints if e.get("service_name") == name and e.get("subnet_ids")), None)
        if not found:
            endpoint_problems.append(f"{service}: missing")
            continue
        issues = []
        if found.get("state") != "available":
            issues.append(f"state {found.get('state')}")
        if not found.get("private_dns_enabled"):
            issues.append("private DNS off")
        absent = [s["tags"]["Name"] for s in subnets if s["id"] not in found.get("subnet_ids", [])]
        if absent:
            issues.append(f"not in {', '.join(absent)}")
        if endpoint_sg_id not in [g.get("group_id") for g in found.get("groups", [])]:
            issues.append(f"without {baseline['endpoint_sg_name']}")
        if issues:
            endpoint_problems.append(f"{service}: {', '.join(issues)}")
    results.append(c["NET-14"].result(
        ", ".join(baseline["interface_endpoints"]),
        "available, private DNS on, in every private subnet, behind the endpoint security group",
        "; ".join(endpoint_problems) or "as expected",
        not endpoint_problems,
    ))

    services = ["s3"] + [s for s in baseline["interface_endpoints"] if s != "s3"]
    policy_problems, unsupported = [], []
    for service in services:
        name = f"com.amazonaws.{baseline['region']}.{service}"
        for endpoint in [e for e in endpoints if e.get("service_name") == name]:
            kind = "gateway" if not endpoint.get("subnet_ids") else "interface"
            if kind == "interface" and not (baseline.get("endpoint_services", {}).get(service) or {}).get("policy_supported", True):
                unsupported.append(service)
                continue
            problems = endpoint_policy_problems(endpoint.get("policy_document"), service, kind, baseline)
            policy_problems += [f"{service} ({kind}): {p}" for p in problems]
    found = "; ".join(policy_problems) or "as expected"
    if unsupported:
        found += f" (AWS's default policy on {', '.join(sorted(set(unsupported)))}: the service takes no endpoint policy)"
    results.append(c["NET-15"].result(
        ", ".join(services),
        f"only account {baseline['account_id']}'s principals, and through S3 only its buckets and reads of "
        f"{', '.join(baseline.get('s3_aws_buckets', [])) or 'no AWS-owned bucket'}",
        found, bool(endpoints) and not policy_problems,
    ))
    return results


# What an endpoint's policy is asked, as requests: each must be refused, or
# allowed, for NET-15 to pass. The interface endpoints are asked with one
# action their service's callers make.
_ENDPOINT_PROBE_ACTIONS = {"sts": "sts:AssumeRole", "logs": "logs:PutLogEvents", "ecr.api": "ecr:GetAuthorizationToken",
                           "ecr.dkr": "ecr:BatchGetImage", "ecs": "ecs:RegisterContainerInstance", "ecs-agent": "ecs:Poll",
                           "ecs-telemetry": "ecs:StartTelemetrySession", "kms": "kms:Decrypt",
                           "secretsmanager": "secretsmanager:GetSecretValue", "ssm": "ssm:UpdateInstanceInformation",
                           "ssmmessages": "ssmmessages:OpenControlChannel", "ec2messages": "ec2messages:GetMessages",
                           "batch": "batch:SubmitJob"}


def _foreign_account(account):
    return "111111111111" if account != "111111111111" else "222222222222"


def endpoint_policy_problems(document, service, kind, baseline):
    """Why one endpoint's policy fails NET-15: the requests it would wrongly
    allow or refuse, evaluated as AWS does (module_utils/toolkit_policy.py)."""
    if isinstance(document, str):
        try:
            document = json.loads(document) if document else None
        except ValueError:
            return ["its policy is not JSON"]
    if not document:
        return ["no policy"]
    account, foreign = baseline["account_id"], _foreign_account(baseline["account_id"])
    partition = baseline.get("partition", "aws")

    def ask(action, resource, caller, owner):
        context = {"aws:PrincipalAccount": caller}
        if owner:
            context["aws:ResourceAccount"] = owner
        request = {"action": action, "resource": resource, "account": caller,
                   "principal": f"arn:{partition}:iam::{caller}:role/probe", "context": context}
        try:
            return shared._policy.decide(document, request) == shared._policy.ALLOW
        except shared._policy.UnsupportedCondition as e:
            return f"cannot be evaluated ({e})"

    if service == "s3":
        own, other = f"arn:{partition}:s3:::own-bucket/object", f"arn:{partition}:s3:::other-bucket/object"
        asks = [("refuse", "writes to another account's bucket", ("s3:PutObject", other, account, foreign)),
                ("refuse", "reads from another account's bucket", ("s3:GetObject", other, account, foreign)),
                ("refuse", "another account's principals", ("s3:GetObject", own, foreign, account)),
                ("allow", "this account's reads and writes of its buckets", ("s3:PutObject", own, account, account)),
                ("allow", "this account's reads and writes of its buckets", ("s3:GetObject", own, account, account))]
        if kind == "gateway":
            for bucket in baseline.get("s3_aws_buckets", []):
                arn = f"arn:{partition}:s3:::{bucket}/object"
                asks += [("allow", f"reads of {bucket}", ("s3:GetObject", arn, account, None)),
                         ("refuse", f"writes to {bucket}", ("s3:PutObject", arn, account, None))]
    else:
        action = _ENDPOINT_PROBE_ACTIONS.get(service, f"{service}:Call")
        asks = [("refuse", "another account's principals", (action, "*", foreign, None)),
                ("allow", "this account's principals", (action, "*", account, None))]
    problems = []
    for want, what, request in asks:
        allowed = ask(*request)
        if isinstance(allowed, str):
            problems.append(f"{what} {allowed}")
        elif allowed != (want == "allow"):
            problems.append(f"{'refuses' if want == 'allow' else 'allows'} {what}")
    return list(dict.fromkeys(problems))


class FilterModule:
    def filters(self):
        return {"network_controls": network_controls}
