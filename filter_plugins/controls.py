# -*- coding: utf-8 -*-
"""The controls `playbooks/verify.yml` audits, as pure functions.

verify gathers the live state with read-only modules; these filters compare
that state with a baseline and return one result per control:

    {id, title, phase, tag, repair, hipaa, standards, resource,
     expected, found, status: pass|fail|not evaluated}

A control is "not evaluated" only when what it reads is not where verify
runs (the VPN's PKI, kept on the controller that ran access.yml); the report
counts it apart and says why.

Each control names the HIPAA Security Rule safeguard it serves (45 CFR
164.308/164.312) and its CIS AWS Foundations or AWS Foundational Security
Best Practices (FSBP) identifier where one exists. tests/unit/test_controls.py
covers them with recorded state.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import ipaddress
import json
import re
from datetime import UTC, datetime
from pathlib import Path

EPHEMERAL = (1024, 65535)


def _module_util(name):
    """A file of module_utils/, as a module: Ansible loads filter plugins by path."""
    path = Path(__file__).resolve().parents[1] / "module_utils" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"toolkit_module_utils_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Endpoint policies are turned into decisions as AWS would make them (NET-15).
_policy = _module_util("toolkit_policy")

# The HIPAA Security Rule safeguards (45 CFR Part 164, Subpart C) the controls serve.
TRANSMISSION_SECURITY = "164.312(e)(1) Transmission security"
ACCESS_CONTROL = "164.312(a)(1) Access control"
ENCRYPTION = "164.312(a)(2)(iv) Encryption and decryption"
AUDIT_CONTROLS = "164.312(b) Audit controls"
INTEGRITY = "164.312(c)(1) Integrity"
AUTHENTICATION = "164.312(d) Person or entity authentication"
ACCESS_MANAGEMENT = "164.308(a)(4) Information access management"
PASSWORD_MANAGEMENT = "164.308(a)(5)(ii)(D) Password management"
DATA_BACKUP = "164.308(a)(7)(ii)(A) Data backup plan"
DISPOSAL = "164.310(d)(2)(i) Disposal"
MALICIOUS_SOFTWARE = "164.308(a)(5)(ii)(B) Protection from malicious software"
RISK_MANAGEMENT = "164.308(a)(1)(ii)(B) Risk management"
SECURITY_INCIDENTS = "164.308(a)(6)(ii) Security incident response and reporting"


class Control:
    """One control's metadata; `result()` makes its verdict."""

    def __init__(self, control_id, title, phase, tag, hipaa, standards=(), note=""):
        self.id = control_id
        self.title = title
        self.phase = phase
        self.tag = tag
        self.hipaa = list(hipaa)
        self.standards = list(standards)
        # What the control leaves out, and why (docs/controls.md prints it).
        self.note = note

    def result(self, resource, expected, found, passed):
        return {
            "id": self.id,
            "title": self.title,
            "phase": self.phase,
            "tag": self.tag,
            "repair": f"ansible-playbook playbooks/{self.phase}.yml --tags {self.tag}",
            "hipaa": self.hipaa,
            "standards": self.standards,
            "resource": resource,
            "expected": expected,
            "found": found,
            "status": "not evaluated" if passed is None else "pass" if passed else "fail",
        }


NETWORK_CONTROLS = {
    c.id: c
    for c in [
        Control("NET-01", "The production VPC exists with its CIDR and DNS support and hostnames on", "network", "vpc",
                [TRANSMISSION_SECURITY]),
        Control("NET-02", "No internet gateway is attached to the production VPC", "network", "vpc",
                [TRANSMISSION_SECURITY, ACCESS_CONTROL]),
        Control("NET-03", "No NAT gateway exists in the production VPC", "network", "vpc",
                [TRANSMISSION_SECURITY, ACCESS_CONTROL]),
        Control("NET-04", "Private subnets exist, one per zone, and assign no public IPv4 address", "network", "subnets",
                [ACCESS_CONTROL], ["AWS FSBP EC2.15"]),
        Control("NET-05", "Every route table of the VPC routes only locally, to gateway endpoints and to declared peers",
                "network", "route_table", [TRANSMISSION_SECURITY, ACCESS_CONTROL]),
        Control("NET-06", "The private subnets use the private route table", "network", "route_table",
                [TRANSMISSION_SECURITY]),
        Control("NET-07", "The private subnets use the private NACL", "network", "nacl", [ACCESS_CONTROL]),
        Control("NET-08", "The private NACL admits only the VPC, S3's prefix-list ranges over HTTPS and declared HTTPS clients",
                "network", "nacl", [ACCESS_CONTROL, TRANSMISSION_SECURITY], ["CIS AWS 5.1", "AWS FSBP EC2.21"]),
        Control("NET-09", "The VPC's default security group restricts all traffic", "network", "security_groups",
                [ACCESS_CONTROL], ["CIS AWS 5.4", "AWS FSBP EC2.2"]),
        Control("NET-10", "The compute security group admits nothing and sends HTTPS only to the endpoints and S3",
                "network", "security_groups", [ACCESS_CONTROL]),
        Control("NET-11", "The endpoint security group admits HTTPS only from the VPC and declared clients", "network",
                "security_groups", [ACCESS_CONTROL]),
        Control("NET-12", "No security group in the VPC admits traffic from 0.0.0.0/0 or ::/0", "network",
                "security_groups", [ACCESS_CONTROL], ["CIS AWS 5.2", "CIS AWS 5.3", "AWS FSBP EC2.18", "AWS FSBP EC2.19"]),
        Control("NET-13", "S3 is reached through a gateway endpoint on the private route table", "network", "endpoints",
                [TRANSMISSION_SECURITY]),
        Control("NET-14", "Each required AWS service has an interface endpoint with private DNS in every private subnet",
                "network", "endpoints", [TRANSMISSION_SECURITY]),
        Control("NET-15", "The endpoints' policies admit this account's principals and refuse other accounts'; through S3, "
                "they refuse other accounts' buckets, except reads of the named AWS-owned ones", "network", "endpoints",
                [TRANSMISSION_SECURITY, ACCESS_CONTROL],
                note="An interface endpoint whose service takes no endpoint policy (DescribeVpcEndpointServices says "
                "which) keeps AWS's default and passes, named in the finding. The policies are evaluated as AWS would "
                "decide sample requests; the local cloud keeps endpoint policies without enforcing them."),
        Control("NET-16", "No NACL of the VPC admits every port, SSH or RDP from 0.0.0.0/0 or ::/0 (the default NACL "
                "keeps no rule)", "network", "nacl", [ACCESS_CONTROL], ["CIS AWS 5.1", "AWS FSBP EC2.21"]),
    ]
}


def _net(cidr):
    return ipaddress.ip_network(cidr, strict=False)


def _within(cidr, blocks):
    network = _net(cidr)
    return any(network.version == _net(block).version and network.subnet_of(_net(block)) for block in blocks)


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
    c = NETWORK_CONTROLS
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
            return _policy.decide(document, request) == _policy.ALLOW
        except _policy.UnsupportedCondition as e:
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


IDENTITY_CONTROLS = {
    c.id: c
    for c in [
        Control("IAM-01", "The administrators' group has the administrator policy attached, and nothing else", "identity", "policy",
                [ACCESS_MANAGEMENT], ["CIS AWS 1.14"]),
        Control("IAM-02", "The administrator policy allows no wildcard or IAM action and nothing without MFA", "identity", "policy",
                [AUTHENTICATION, ACCESS_MANAGEMENT], ["CIS AWS 1.15", "AWS FSBP IAM.1"]),
        Control("IAM-03", "The administrators are the group's members, with no active access key and MFA for any console password",
                "identity", "administrators", [ACCESS_MANAGEMENT, AUTHENTICATION], ["CIS AWS 1.9", "CIS AWS 1.10", "AWS FSBP IAM.5"]),
        Control("IAM-04", "The account password policy asks for 14+ characters of four classes, remembers 24, expires within 90 days",
                "identity", "password_policy", [PASSWORD_MANAGEMENT], ["CIS AWS 1.7", "CIS AWS 1.8", "AWS FSBP IAM.7"]),
    ]
}

STORAGE_CONTROLS = {
    c.id: c
    for c in [
        Control("KMS-01", "The pipeline key is a customer managed key, enabled, with rotation on", "storage", "key",
                [ENCRYPTION], ["CIS AWS 3.6", "AWS FSBP KMS.4"]),
        Control("KMS-02", "The pipeline key's policy allows no one at large, and names each principal that may use it "
                "exactly, with no wildcard", "storage", "key", [ACCESS_CONTROL, ENCRYPTION]),
        Control("KMS-03", "The pipeline key's administrators are not among its users: they may encrypt, decrypt or create "
                "grants with it only through S3, EC2 or AWS Backup (kms:ViaService) or for AWS resources (kms:GrantIsForAWSResource)",
                "storage", "key", [ACCESS_CONTROL, ENCRYPTION],
                note="An administrator may still change the key policy (kms:PutKeyPolicy), and so could give itself use: "
                     "KMS lets whoever maintains a key policy rewrite it. Such a change is recorded by the trail, and "
                     "verify fails KMS-02 and KMS-03 on the rewritten policy."),
        Control("S3-01", "The data bucket blocks public access and has ACLs disabled", "storage", "bucket",
                [ACCESS_CONTROL], ["CIS AWS 2.1.4", "AWS FSBP S3.8", "AWS FSBP S3.12"]),
        Control("S3-02", "S3 public access is blocked for the whole account", "storage", "public_access_block",
                [ACCESS_CONTROL], ["CIS AWS 2.1.4", "AWS FSBP S3.1"]),
        Control("S3-03", "The data bucket is versioned", "storage", "bucket", [INTEGRITY, DATA_BACKUP], ["AWS FSBP S3.14"]),
        Control("S3-04", "The data bucket encrypts by default with the pipeline key (SSE-KMS, bucket key on)", "storage", "bucket",
                [ENCRYPTION], ["AWS FSBP S3.17"]),
        Control("S3-05", "The data bucket's policy denies every request not made over TLS", "storage", "bucket_policy",
                [TRANSMISSION_SECURITY], ["CIS AWS 2.1.1", "AWS FSBP S3.5"]),
        Control("S3-06", "The data bucket's policy denies uploads that ask for other encryption than the pipeline key", "storage",
                "bucket_policy", [ENCRYPTION]),
        Control("S3-07", "Where required, the data bucket denies every S3 action on it and its objects that does not come "
                "from the production VPC, exempting only principals it names exactly", "storage",
                "bucket_policy", [ACCESS_CONTROL, TRANSMISSION_SECURITY],
                note="Evaluated on the policy document (module_utils/toolkit_policy.py): a principal the policy does not "
                "name is refused outside the VPC on the bucket and its objects, for each S3 action the toolkit knows and "
                "for one it does not (only s3:* denies that), and allowed object access from inside it."),
        Control("S3-08", "The data bucket's access is logged to the access log bucket", "storage", "access_logging",
                [AUDIT_CONTROLS], ["AWS FSBP S3.9"]),
        Control("S3-09", "The access log bucket blocks public access, is versioned, encrypted and TLS only", "storage",
                "access_logging", [AUDIT_CONTROLS, INTEGRITY], ["CIS AWS 2.1.1", "CIS AWS 2.1.4", "AWS FSBP S3.5", "AWS FSBP S3.8"],
                note="The access log bucket does not log its own access: its logs would be delivered into itself, "
                "each delivery making another log to deliver. The trail records its object reads and deletions instead "
                "(AUD-14)."),
        Control("S3-10", "The data bucket archives raw data and expires noncurrent versions by lifecycle rules", "storage",
                "lifecycle", [DISPOSAL], ["AWS FSBP S3.13"],
                note="Lifecycle expiry is disposal, not a backup: S3-12 covers the data backup plan "
                "(164.308(a)(7)(ii)(A))."),
        Control("S3-11", "Where required, only the principals the data bucket's policy names exactly may change its policy, "
                "versioning, replication, Object Lock or lifecycle, even from inside the production VPC", "storage",
                "bucket_policy", [ACCESS_CONTROL, INTEGRITY],
                note="Evaluated on the policy document, for a principal it does not name. The account's root user can "
                "still replace or delete the policy: S3 allows it that, so that nobody is locked out of a bucket."),
        Control("S3-12", "AWS Backup backs up the data bucket with the backup role into a vault encrypted with the pipeline "
                "key, keeps each recovery point the required days, and the vault is locked where required", "storage",
                "backup", [DATA_BACKUP, INTEGRITY], ["AWS FSBP Backup.1"],
                note="Checks the plan, its selection and the vault as configured; whether a backup job has run and "
                "succeeded is AWS Backup's job report, which the local cloud cannot produce (moto runs no jobs). A vault "
                "lock in governance mode can be removed by whoever holds backup:DeleteBackupVaultLockConfiguration; "
                "compliance mode (storage_backup_vault_lock) cannot be, once its grace time has passed. The backup role "
                "trusts AWS Backup with no condition: AWS Backup's confused-deputy guidance covers resource policies (SNS "
                "topics, key policies), not the role a backup plan passes it, which iam:PassRole guards."),
    ]
}


REGISTRY_CONTROLS = {
    c.id: c
    for c in [
        Control("ECR-01", "Every pipeline repository scans images on push", "registry", "repositories",
                [MALICIOUS_SOFTWARE], ["AWS FSBP ECR.1"]),
        Control("ECR-02", "Every pipeline repository has immutable tags", "registry", "repositories",
                [INTEGRITY], ["AWS FSBP ECR.2"]),
        Control("ECR-03", "Every pipeline repository is encrypted with the pipeline key", "registry", "repositories", [ENCRYPTION]),
        Control("ECR-04", "Every pipeline repository has a lifecycle policy", "registry", "repositories",
                [RISK_MANAGEMENT], ["AWS FSBP ECR.3"]),
        Control("ECR-05", "Every pipeline repository's policy denies image access to principals it does not name by exact ARN", "registry",
                "repositories", [ACCESS_CONTROL]),
        Control("ECR-06", "Every pipeline image's release tag holds an image, pinned by digest", "registry", "images", [INTEGRITY]),
    ]
}


def registry_controls(state, baseline):
    """Evaluate the registry controls.

    `state`: repositories (ecr_repository_info's, by name), images
    (ecr_image_info's), key_arn.
    `baseline`: repositories (names), images (name and tag each).
    """
    c = REGISTRY_CONTROLS
    repositories = state.get("repositories") or {}
    names = list(baseline["repositories"])

    def per_repository(control, expected, check):
        problems = []
        for name in names:
            found = repositories.get(name) or {}
            if not found.get("exists"):
                problems.append(f"{name} missing")
            else:
                problem = check(found)
                if problem:
                    problems.append(f"{name}: {problem}")
        return control.result(", ".join(names), expected, "; ".join(problems) or "as expected", not problems)

    key_arn = state.get("key_arn")

    def denies_others(found):
        statements = _listify((found.get("repository_policy") or {}).get("Statement"))
        named = [arn for st in statements if st.get("Effect") == "Deny" and _is_everyone(st.get("Principal"))
                 and "ecr:BatchGetImage" in _actions(st)
                 for operator in ("ArnNotLike", "ArnNotEquals")
                 for arn in _listify((st.get("Condition") or {}).get(operator, {}).get("aws:PrincipalArn"))]
        if not named:
            return "no Deny of image access to unnamed principals"
        wildcards = sorted({arn for arn in named if "*" in arn or "?" in arn})
        return f"names principals by pattern: {', '.join(wildcards)}" if wildcards else None

    results = [
        per_repository(c["ECR-01"], "scan on push", lambda f: None if f.get("scan_on_push") else "scan on push off"),
        per_repository(c["ECR-02"], "IMMUTABLE tags", lambda f: None if f.get("tag_mutability") == "IMMUTABLE" else f.get("tag_mutability")),
        per_repository(c["ECR-03"], f"KMS with {key_arn}",
                       lambda f: None if (f.get("encryption") or {}).get("type") == "KMS" and key_arn
                       and (f.get("encryption") or {}).get("kms_key") == key_arn else str(f.get("encryption"))),
        per_repository(c["ECR-04"], "a lifecycle policy with rules",
                       lambda f: None if (f.get("lifecycle_policy") or {}).get("rules") else "no lifecycle policy"),
        per_repository(c["ECR-05"], "Deny image access to every principal not named by exact ARN", denies_others),
    ]
    images = {(i["name"], i["tag"]): i for i in state.get("images") or []}
    missing = [f"{i['name']}:{i['tag']}" for i in baseline["images"] if not (images.get((i["name"], str(i["tag"]))) or {}).get("digest")]
    results.append(c["ECR-06"].result(
        ", ".join(f"{i['name']}:{i['tag']}" for i in baseline["images"]), "each tag holds an image (a digest)",
        f"empty: {', '.join(missing)}" if missing else "; ".join(i["reference"] for i in state.get("images") or []),
        not missing,
    ))
    return results


BATCH_CONTROLS = {
    c.id: c
    for c in [
        Control("BAT-01", "Compute environments run in the private subnets only, with the compute security group only, "
                "and scale to zero", "batch", "compute_environments", [ACCESS_CONTROL, TRANSMISSION_SECURITY]),
        Control("BAT-02", "The instances' launch template assigns no public IP and encrypts every volume with the pipeline "
                "key", "batch", "launch_template", [ENCRYPTION, ACCESS_CONTROL], ["AWS FSBP EC2.25"]),
        Control("BAT-03", "The job queues are enabled and valid, on the toolkit's compute environments in order", "batch",
                "job_queues", [ACCESS_CONTROL]),
        Control("BAT-04", "Every job definition runs its image pinned by digest, with the job role, awslogs, and not privileged",
                "batch", "job_definitions", [INTEGRITY, ACCESS_MANAGEMENT, AUDIT_CONTROLS]),
        Control("BAT-05", "The jobs' log group is encrypted with the pipeline key and keeps its logs long enough", "batch",
                "logs", [AUDIT_CONTROLS, ENCRYPTION]),
        Control("BAT-06", "Containers cannot reach the instance role: the launch template requires IMDSv2 with a hop limit "
                "of 1", "batch", "launch_template", [ACCESS_CONTROL], ["CIS AWS 5.6", "AWS FSBP EC2.170"]),
        Control("BAT-07", "Batch and ECS may assume the service, job and head roles only on behalf of this account's own "
                "resources in this region (aws:SourceAccount and aws:SourceArn)", "batch", "iam", [ACCESS_CONTROL],
                note="The instance role trusts EC2 and the Spot Fleet role trusts Spot Fleet with no condition: neither "
                     "service's guide documents aws:SourceAccount or aws:SourceArn for these roles, and a condition the "
                     "service does not send would stop the compute environments."),
    ]
}

def _listify(value):
    """A policy field as a list: absent is empty, one value is a list of one."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# The ARN namespace of the resources on whose behalf each service assumes a
# role: what aws:SourceArn must name (BAT-07, AUD-12).
SOURCE_ARN_SERVICE = {"batch.amazonaws.com": "batch", "ecs-tasks.amazonaws.com": "ecs", "vpc-flow-logs.amazonaws.com": "ec2"}


def trust_problems(document, service, scope):
    """What lets `service` assume a role other than on behalf of this
    account's own resources: each Allow must name the service alone, with
    aws:SourceAccount equal to the account and every aws:SourceArn an ARN of
    the service's resources in this account and region. `scope`: partition,
    region, account_id."""
    account = str(scope["account_id"])
    statements = (document or {}).get("Statement") or []
    allows = [st for st in _listify(statements) if st.get("Effect") == "Allow"]
    if not allows:
        return ["no statement admits the service"]
    problems = []
    prefix = f"arn:{scope['partition']}:{SOURCE_ARN_SERVICE[service]}:{scope['region']}:{account}:"
    for statement in allows:
        principal = statement.get("Principal") or {}
        if principal != {"Service": service} and principal != {"Service": [service]}:
            problems.append(f"admits {json.dumps(principal, sort_keys=True)}")
            continue
        condition = statement.get("Condition") or {}
        accounts = _listify((condition.get("StringEquals") or {}).get("aws:SourceAccount"))
        if accounts != [account]:
            problems.append(f"aws:SourceAccount {', '.join(accounts) or 'not required'}")
        arns = _listify((condition.get("ArnLike") or {}).get("aws:SourceArn")
                        or (condition.get("ArnEquals") or {}).get("aws:SourceArn"))
        outside = [arn for arn in arns if not arn.startswith(prefix) or len(arn) == len(prefix)]
        if not arns or outside:
            problems.append(f"aws:SourceArn {', '.join(outside or arns) or 'not required'}")
    return problems


def _trusted_roles_result(control, roles, baseline):
    """One result for the roles of `baseline['trusted_roles']` ({name, service})."""
    problems = []
    for role in baseline["trusted_roles"]:
        found = (roles or {}).get(role["name"])
        if not found:
            problems.append(f"{role['name']} missing")
            continue
        problems += [f"{role['name']}: {p}" for p in trust_problems(found.get("trust_policy"), role["service"], baseline)]
    return control.result(
        ", ".join(r["name"] for r in baseline["trusted_roles"]),
        f"each role trusts its service only with aws:SourceAccount {baseline['account_id']} and aws:SourceArn "
        f"in this account and {baseline['region']}",
        "; ".join(problems) or "as expected", not problems)


def _latest_launch_template_data(template):
    """The compute environments launch $Latest: its data."""
    versions = sorted((template or {}).get("versions") or [{}], key=lambda v: v.get("version_number", 0))
    return versions[-1].get("launch_template_data") or {}


def _launch_template_problems(template, key_arn):
    if not template:
        return ["missing"]
    data = _latest_launch_template_data(template)
    problems = []
    if any(i.get("associate_public_ip_address") for i in data.get("network_interfaces") or []):
        problems.append("assigns a public IP")
    mappings = [m for m in data.get("block_device_mappings") or [] if m.get("ebs")]
    if not mappings:
        problems.append("no EBS volume declared (the AMI's defaults apply)")
    for mapping in mappings:
        ebs = mapping["ebs"]
        if not ebs.get("encrypted") or ebs.get("kms_key_id") != key_arn:
            problems.append(f"{mapping.get('device_name')} not encrypted with the pipeline key")
    return problems


def batch_controls(state, baseline):
    """Evaluate the batch controls.

    `state`: compute_environments, job_queues, job_definitions (by name, as
    batch_environment_info returns them), launch_template (ec2_launch_template_info's,
    or None), log_group (cloudwatchlogs_log_group_info's, or None), key_arn,
    subnet_ids and compute_sg_id (by tag), images ({image name: digest-pinned reference}).
    `baseline`: compute_environments (names), launch_template, queues ([{name,
    compute_environments}]), jobs (the inventory's batch_jobs) and job_prefix,
    job_role_arn, log_group, log_retention_days.
    """
    c = BATCH_CONTROLS
    results = []
    environments = state.get("compute_environments") or {}
    subnets = set(state.get("subnet_ids") or [])
    sg_id = state.get("compute_sg_id")
    problems = []
    for name in baseline["compute_environments"]:
        found = environments.get(name)
        if not found:
            problems.append(f"{name} missing")
            continue
        resources = found.get("computeResources") or {}
        outside = sorted(set(resources.get("subnets") or []) - subnets)
        if outside or not resources.get("subnets"):
            problems.append(f"{name}: subnets outside the private ones: {', '.join(outside) or 'none listed'}")
        if list(resources.get("securityGroupIds") or []) != [sg_id]:
            problems.append(f"{name}: security groups {resources.get('securityGroupIds')}")
        if resources.get("minvCpus") != 0:
            problems.append(f"{name}: minimum {resources.get('minvCpus')} vCPUs")
        if (resources.get("launchTemplate") or {}).get("launchTemplateName") != baseline["launch_template"]:
            problems.append(f"{name}: launch template {resources.get('launchTemplate')}")
        if found.get("state") != "ENABLED" or found.get("status") != "VALID":
            problems.append(f"{name}: {found.get('state')} {found.get('status')} ({found.get('statusReason')})")
    results.append(c["BAT-01"].result(
        ", ".join(baseline["compute_environments"]),
        f"subnets within {', '.join(sorted(subnets)) or 'the private subnets'}, only {sg_id}, minimum 0 vCPUs, "
        f"launch template {baseline['launch_template']}, ENABLED and VALID",
        "; ".join(problems) or "as expected", not problems))

    key_arn = state.get("key_arn")
    problems = _launch_template_problems(state.get("launch_template"), key_arn)
    results.append(c["BAT-02"].result(
        baseline["launch_template"], f"no public IP, volumes encrypted with {key_arn}",
        "; ".join(problems) or "as expected", not problems))

    queues = state.get("job_queues") or {}
    arns = {name: (environments.get(name) or {}).get("computeEnvironmentArn") for name in baseline["compute_environments"]}
    problems = []
    for queue in baseline["queues"]:
        found = queues.get(queue["name"])
        if not found:
            problems.append(f"{queue['name']} missing")
            continue
        if found.get("state") != "ENABLED" or found.get("status") != "VALID":
            problems.append(f"{queue['name']}: {found.get('state')} {found.get('status')}")
        order = [o.get("computeEnvironment") for o in sorted(found.get("computeEnvironmentOrder") or [], key=lambda o: o.get("order"))]
        if order != [arns.get(name) for name in queue["compute_environments"]]:
            problems.append(f"{queue['name']}: compute environments {', '.join(order) or 'none'}")
    results.append(c["BAT-03"].result(
        ", ".join(q["name"] for q in baseline["queues"]),
        "; ".join(f"{q['name']} ENABLED, VALID, on {', '.join(q['compute_environments'])}" for q in baseline["queues"]),
        "; ".join(problems) or "as expected", not problems))

    definitions = state.get("job_definitions") or {}
    images = state.get("images") or {}
    problems = []
    names = [baseline["job_prefix"] + job["name"] for job in baseline["jobs"]]
    for name, job in zip(names, baseline["jobs"]):
        found = definitions.get(name)
        if not found:
            problems.append(f"{name} missing")
            continue
        container = found.get("containerProperties") or {}
        image, wanted = container.get("image", ""), images.get(job["image"])
        if "@sha256:" not in image or (wanted and image != wanted):
            problems.append(f"{name}: image {image} (release tag holds {wanted or 'nothing'})")
        if container.get("jobRoleArn") != baseline["job_role_arn"]:
            problems.append(f"{name}: job role {container.get('jobRoleArn')}")
        logs = container.get("logConfiguration") or {}
        if logs.get("logDriver") != "awslogs" or (logs.get("options") or {}).get("awslogs-group") != baseline["log_group"]:
            problems.append(f"{name}: logs {logs.get('logDriver')} to {(logs.get('options') or {}).get('awslogs-group')}")
        if container.get("privileged"):
            problems.append(f"{name}: privileged")
    results.append(c["BAT-04"].result(
        ", ".join(names),
        f"digest-pinned image of the release tag, role {baseline['job_role_arn']}, awslogs to {baseline['log_group']}, not privileged",
        "; ".join(problems) or "as expected", not problems))

    group = state.get("log_group")
    minimum = int(baseline["log_retention_days"])
    if not group:
        problems = ["missing"]
    else:
        problems = []
        if group.get("kms_key_id") != key_arn:
            problems.append(f"key {group.get('kms_key_id') or 'none'}")
        # No retention at all keeps the logs forever, which is long enough.
        if group.get("retention_in_days") and int(group["retention_in_days"]) < minimum:
            problems.append(f"retention {group['retention_in_days']} days")
    results.append(c["BAT-05"].result(
        baseline["log_group"], f"encrypted with {key_arn}, retention {minimum} days or more (or none)",
        "; ".join(problems) or "as expected", not problems))

    metadata = _latest_launch_template_data(state.get("launch_template")).get("metadata_options") or {}
    tokens, hops = metadata.get("http_tokens"), metadata.get("http_put_response_hop_limit")
    results.append(c["BAT-06"].result(
        baseline["launch_template"], "IMDSv2 required, hop limit 1",
        "no launch template" if not state.get("launch_template") else f"tokens {tokens}, hop limit {hops}",
        tokens == "required" and hops == 1))

    results.append(_trusted_roles_result(c["BAT-07"], state.get("roles"), baseline))
    return results


def _actions(statement):
    return _listify(statement.get("Action"))


def _is_everyone(principal):
    return principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))


def identity_controls(state, baseline):
    """Evaluate the identity controls.

    `state`: group (iam_group_info's result), password_policy.
    `baseline`: group_name, policy_name, administrators (names),
    exclusive_membership, min_length, reuse_prevention, max_age.
    """
    c = IDENTITY_CONTROLS
    group = state.get("group") or {}
    name = baseline["group_name"]
    attached = [p["name"] for p in group.get("attached_policies", [])]
    inline = group.get("inline_policies", [])
    results = [c["IAM-01"].result(
        name,
        f"only {baseline['policy_name']} attached, no inline policy",
        "group missing" if not group.get("exists") else f"attached: {', '.join(attached) or 'none'}; inline: {', '.join(inline) or 'none'}",
        bool(group.get("exists")) and attached == [baseline["policy_name"]] and not inline,
    )]

    policy = next((p for p in group.get("attached_policies", []) if p["name"] == baseline["policy_name"]), None)
    problems = []
    if policy:
        for statement in policy.get("document", {}).get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            sid = statement.get("Sid", "?")
            if str(statement.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent")).lower() != "true":
                problems.append(f"{sid} without MFA")
            for action in _actions(statement):
                if action in ("*", "*:*") or action.endswith(":*") or action.lower().startswith("iam:"):
                    problems.append(f"{sid} allows {action}")
            if "NotAction" in statement:
                problems.append(f"{sid} uses NotAction")
    results.append(c["IAM-02"].result(
        baseline["policy_name"], "every Allow behind MFA; no *, service:* or iam: action",
        "policy not attached" if not policy else ("; ".join(problems) or "as expected"), bool(policy) and not problems))

    members = {u["name"]: u for u in group.get("users", [])}
    wanted = list(baseline["administrators"])
    issues = [f"{n} not a member" for n in wanted if n not in members]
    if baseline.get("exclusive_membership"):
        issues += [f"{n} is a member but not an administrator" for n in members if n not in wanted]
    for member in members.values():
        if any(k.get("status") == "Active" for k in member.get("access_keys", [])):
            issues.append(f"{member['name']} has an active access key")
        if member.get("login_profile") and not member.get("mfa_devices"):
            issues.append(f"{member['name']} has a console password without MFA")
    results.append(c["IAM-03"].result(
        name, f"members {', '.join(wanted) or '(none listed)'}; no active access key; MFA with any console password",
        "group missing" if not group.get("exists") else ("; ".join(issues) or "as expected"), bool(group.get("exists")) and not issues))

    pw = state.get("password_policy") or {}
    min_length = max(14, int(baseline.get("min_length", 14)))
    reuse = max(24, int(baseline.get("reuse_prevention", 24)))
    max_age = min(90, int(baseline.get("max_age", 90)))
    passed = (
        int(pw.get("min_length", 0)) >= min_length
        and all(pw.get(k) for k in ("require_symbols", "require_numbers", "require_uppercase", "require_lowercase"))
        and int(pw.get("reuse_prevention", 0)) >= reuse
        and 0 < int(pw.get("max_age", 0)) <= max_age
    )
    results.append(c["IAM-04"].result(
        "account password policy",
        f"length >= {min_length}, symbols, numbers, upper and lower case, reuse >= {reuse}, max age 1-{max_age} days",
        f"length {pw.get('min_length')}, symbols {pw.get('require_symbols')}, numbers {pw.get('require_numbers')}, "
        f"upper {pw.get('require_uppercase')}, lower {pw.get('require_lowercase')}, reuse {pw.get('reuse_prevention')}, "
        f"max age {pw.get('max_age')}",
        passed,
    ))
    return results


def _bucket_policy(bucket):
    policy = (bucket or {}).get("bucket_policy") or {}
    text = policy.get("Policy") if isinstance(policy, dict) else policy
    if not text:
        return {}
    return json.loads(text) if isinstance(text, str) else text


def _public_access_blocked(bucket):
    config = ((bucket or {}).get("public_access_block") or {}).get("PublicAccessBlockConfiguration", {})
    return all(config.get(k) is True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))


def _denies_insecure_transport(policy, resources):
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Deny" or not _is_everyone(statement.get("Principal")):
            continue
        if not ({"s3:*"} & set(_actions(statement))):
            continue
        covered = statement.get("Resource", [])
        covered = covered if isinstance(covered, list) else [covered]
        if str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false" and set(resources) <= set(covered):
            return True
    return False


def _default_encryption(bucket):
    rules = (((bucket or {}).get("bucket_encryption") or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
    if not rules:
        return {}, False
    return rules[0].get("ApplyServerSideEncryptionByDefault", {}), bool(rules[0].get("BucketKeyEnabled"))


# The actions that use a key, or let someone use it (a grant).
_KEY_USE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom",
            "kms:ReEncryptTo", "kms:CreateGrant")


def _granted(statement, actions):
    """Which of `actions` the statement's Action (wildcards allowed) covers."""
    patterns = [a.lower() for a in _actions(statement)]
    return [a for a in actions if any(fnmatch.fnmatchcase(a.lower(), p) for p in patterns)]


def _grants_key_use(statement):
    return bool(_granted(statement, _KEY_USE))


def _aws_principals(statement):
    principal = statement.get("Principal") or {}
    return _listify(principal.get("AWS")) if isinstance(principal, dict) else _listify(principal)


def _condition_values(statement, key):
    """The values a statement's conditions give `key`, whatever the operator."""
    values = []
    for operator in (statement.get("Condition") or {}).values():
        for name, value in operator.items():
            if name.lower() == key.lower():
                values += _listify(value)
    return values


def _key_administrators_using(allows):
    """How the principals that may change the key policy could use the key
    themselves (KMS-03)."""
    # Everyone ("*") is not an administrator: KMS-02 fails such a statement.
    admins = sorted({arn for st in allows if _granted(st, ["kms:PutKeyPolicy"]) for arn in _aws_principals(st) if "*" not in arn})
    problems = []
    for statement in allows:
        actions = _granted(statement, _KEY_USE)
        if not actions:
            continue
        sid = statement.get("Sid", "?")
        principals = _aws_principals(statement)
        through = [v for v in _condition_values(statement, "kms:ViaService") if v.split(".")[0] in ("s3", "ec2", "backup")]
        for_resources = [str(v).lower() for v in _condition_values(statement, "kms:GrantIsForAWSResource")] == ["true"]
        for admin in [a for a in admins if a in principals and not a.endswith(":root")]:
            problems += [f"{sid} lets {admin} {action} directly" for action in actions
                         if not through and not (action == "kms:CreateGrant" and for_resources)]
        if any(p.endswith(":root") for p in principals):
            users = _condition_values(statement, "aws:PrincipalArn")
            if not users:
                problems += [f"{sid} delegates {action} to every principal of the account, the administrators included"
                             for action in actions]
            problems += [f"{admin} is among the users of {sid}" for admin in admins
                         if any(fnmatch.fnmatchcase(admin, u) for u in users)]
    return sorted(set(problems))


# The settings S3-11 requires the fence to keep from all but its named principals.
FENCED_SETTINGS = ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutReplicationConfiguration",
                   "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration"]
# What S3-07 asks of the bucket and of its objects: S3 actions the toolkit
# knows, and one it does not, which only a Deny of s3:* refuses.
_UNKNOWN_S3_ACTION = "s3:AnActionS3AddsLater"
_FENCED_BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
                          "s3:PutReplicationConfiguration", _UNKNOWN_S3_ACTION]
_FENCED_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectAttributes", "s3:PutObject",
                          "s3:PutObjectAcl", "s3:DeleteObjectVersion", "s3:RestoreObject", _UNKNOWN_S3_ACTION]


def _fence_findings(policy, bucket_arn, vpc_id, account, partition):
    """What S3-07 and S3-11 find of the data bucket's fence: ["present"], or
    what is wrong. Decisions on the policy document for a principal it does
    not name, as AWS's evaluation makes them (module_utils/toolkit_policy.py)."""
    if not vpc_id:
        return {"outside": ["no production VPC"], "settings": ["no production VPC"]}
    statements = _listify((policy or {}).get("Statement"))
    patterns = sorted({f"{operator} {arn}" for s in statements if s.get("Effect") == "Deny"
                       for operator, values in (s.get("Condition") or {}).items() if operator.startswith("Arn")
                       for arn in _listify((values or {}).get("aws:PrincipalArn"))
                       if operator in ("ArnLike", "ArnNotLike") or any(ch in arn for ch in "*?")})
    stranger = f"arn:{partition}:iam::{account}:role/not-named-by-the-bucket-policy"

    def denied(action, resource, **context):
        request = {"action": action, "resource": resource, "principal": stranger, "account": account,
                   "context": {"aws:SecureTransport": "true", "aws:PrincipalArn": stranger, "aws:PrincipalAccount": account,
                               **context}}
        try:
            return _policy.decide(policy or {}, request) == _policy.DENY
        except _policy.UnsupportedCondition:
            return False

    inside = {"aws:SourceVpc": vpc_id}

    def denied_outside(action, resource):
        # From the internet (no VPC) and from another VPC.
        return denied(action, resource) and denied(action, resource, **{"aws:SourceVpc": "vpc-0elsewhere"})

    open_outside = ([f"{a} on the bucket" for a in _FENCED_BUCKET_ACTIONS if not denied_outside(a, bucket_arn)]
                    + [f"{a} on its objects" for a in _FENCED_OBJECT_ACTIONS if not denied_outside(a, f"{bucket_arn}/key")])
    closed_inside = [a for a in ("s3:GetObject", "s3:PutObject") if denied(a, f"{bucket_arn}/key", **inside)]
    open_settings = [a for a in FENCED_SETTINGS if not denied(a, bucket_arn, **inside)]
    by_pattern = [f"exempts by pattern {', '.join(patterns)}"] if patterns else []
    return {
        "outside": ((["allows from outside the VPC " + ", ".join(open_outside)] if open_outside else [])
                    + (["denies the VPC " + ", ".join(closed_inside)] if closed_inside else []) + by_pattern) or ["present"],
        "settings": ((["allows " + ", ".join(open_settings)] if open_settings else []) + by_pattern) or ["present"],
    }


def storage_controls(state, baseline):
    """Evaluate the storage controls.

    `state`: key (kms_key_info's), bucket and log_bucket (s3_bucket_info's),
    account_public_access_block, vpc_id.
    `baseline`: partition, account_id, key_alias, bucket, log_bucket,
    log_prefix, restrict_to_vpc, account_public_access_block.
    """
    c = STORAGE_CONTROLS
    p = baseline.get("partition", "aws")
    results = []
    key = state.get("key") or {}
    results.append(c["KMS-01"].result(
        baseline["key_alias"], "customer managed, enabled, rotation on",
        "no such key" if not key else f"{key.get('key_manager')}, {key.get('key_state')}, rotation {key.get('enable_key_rotation')}",
        bool(key) and key.get("key_manager") == "CUSTOMER" and key.get("key_state") == "Enabled" and key.get("enable_key_rotation") is True,
    ))

    policies = [json.loads(d) if isinstance(d, str) else d for d in key.get("key_policies", [])]
    allows = [st for document in policies for st in _listify(document.get("Statement")) if st.get("Effect") == "Allow"]
    open_statements = []
    for statement in allows:
        if _is_everyone(statement.get("Principal")) and not statement.get("Condition"):
            open_statements.append(statement.get("Sid", "?"))
        if "kms:Decrypt" in _actions(statement) and not statement.get("Condition") \
                and str(statement.get("Principal", {}).get("AWS", "")).endswith(":root"):
            open_statements.append(f"{statement.get('Sid', '?')} (use delegated to the whole account)")
        if _grants_key_use(statement):
            named = _aws_principals(statement) + _condition_values(statement, "aws:PrincipalArn")
            wildcards = sorted({arn for arn in named if "*" in arn or "?" in arn})
            if wildcards:
                open_statements.append(f"{statement.get('Sid', '?')} admits {', '.join(wildcards)}")
    results.append(c["KMS-02"].result(
        baseline["key_alias"], "no Allow to everyone; use limited to principals named by exact ARN",
        "no such key" if not key else ("; ".join(open_statements) or "as expected"), bool(key) and not open_statements))
    problems = _key_administrators_using(allows)
    results.append(c["KMS-03"].result(
        baseline["key_alias"], "the administrators use the key only through S3, EC2 or AWS Backup or for AWS resources, and are not its users",
        "no such key" if not key else ("; ".join(problems) or "as expected"), bool(key) and not problems))

    bucket = state.get("bucket")
    name = baseline["bucket"]
    ownership = (((bucket or {}).get("bucket_ownership_controls") or {}).get("OwnershipControls") or {}).get("Rules", [{}])[0].get("ObjectOwnership")
    results.append(c["S3-01"].result(
        name, "all four public access blocks on; object ownership BucketOwnerEnforced",
        "no such bucket" if not bucket else f"public access blocked {_public_access_blocked(bucket)}; ownership {ownership}",
        bool(bucket) and _public_access_blocked(bucket) and ownership == "BucketOwnerEnforced",
    ))

    account = state.get("account_public_access_block") or {}
    required = baseline.get("account_public_access_block", True)
    blocked = account.get("readable", False) and all((account.get("configuration") or {}).values())
    results.append(c["S3-02"].result(
        "the account", "all four account-level blocks on" if required else "not required by the inventory",
        "not readable by the caller" if not account.get("readable") else f"{account.get('configuration')}",
        blocked or not required,
    ))

    versioning = ((bucket or {}).get("bucket_versioning") or {}).get("Status")
    results.append(c["S3-03"].result(name, "versioning Enabled", f"versioning {versioning}", versioning == "Enabled"))

    default, bucket_key = _default_encryption(bucket)
    key_arn = key.get("key_arn")
    results.append(c["S3-04"].result(
        name, f"SSE-KMS with {baseline['key_alias']} ({key_arn}), bucket key on",
        f"{default.get('SSEAlgorithm')} with {default.get('KMSMasterKeyID')}, bucket key {bucket_key}",
        default.get("SSEAlgorithm") == "aws:kms" and bool(key_arn) and default.get("KMSMasterKeyID") in (key_arn, key.get("key_id"))
        and bucket_key,
    ))

    policy = _bucket_policy(bucket)
    bucket_arn = f"arn:{p}:s3:::{name}"
    results.append(c["S3-05"].result(
        name, "Deny s3:* to everyone on the bucket and its objects when aws:SecureTransport is false",
        "no policy" if not policy else ("present" if _denies_insecure_transport(policy, [bucket_arn, f"{bucket_arn}/*"]) else "missing"),
        _denies_insecure_transport(policy, [bucket_arn, f"{bucket_arn}/*"]),
    ))

    encryption_denies = {
        s.get("Sid") for s in policy.get("Statement", [])
        if s.get("Effect") == "Deny" and "s3:PutObject" in _actions(s)
        and set(s.get("Condition", {}).get("StringNotEquals", {})) & {"s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"}
    }
    wrong_key = [s for s in policy.get("Statement", []) if s.get("Effect") == "Deny"
                 and s.get("Condition", {}).get("StringNotEquals", {}).get("s3:x-amz-server-side-encryption-aws-kms-key-id") == key_arn]
    results.append(c["S3-06"].result(
        name, "Deny uploads asking for other than SSE-KMS, or for another key than the pipeline key",
        f"{len(encryption_denies)} such statement(s)" + ("" if wrong_key else "; none names the pipeline key"),
        len(encryption_denies) >= 2 and bool(wrong_key),
    ))

    vpc_id = state.get("vpc_id")
    restrict = baseline.get("restrict_to_vpc", False)
    fence = _fence_findings(policy, bucket_arn, vpc_id, baseline.get("account_id") or "000000000000", p)
    results.append(c["S3-07"].result(
        name, f"Deny every S3 action not from {vpc_id or 'the production VPC'} to all but exactly named principals"
        if restrict else "not required in this environment",
        "; ".join(fence["outside"]) if restrict else "not evaluated",
        fence["outside"] == ["present"] or not restrict,
    ))
    target = f"{baseline['log_bucket']}/{baseline['log_prefix']}"
    logs_to = _access_logs_to(bucket)
    results.append(c["S3-08"].result(name, f"access logs to {target}", logs_to or "logging off", logs_to == target))

    log_bucket = state.get("log_bucket")
    log_arn = f"arn:{p}:s3:::{baseline['log_bucket']}"
    log_default, _ = _default_encryption(log_bucket)
    log_checks = {
        "public access blocked": _public_access_blocked(log_bucket),
        "versioned": ((log_bucket or {}).get("bucket_versioning") or {}).get("Status") == "Enabled",
        "encrypted": log_default.get("SSEAlgorithm") in ("AES256", "aws:kms"),
        "TLS only": _denies_insecure_transport(_bucket_policy(log_bucket), [log_arn, f"{log_arn}/*"]),
    }
    results.append(c["S3-09"].result(
        baseline["log_bucket"], "public access blocked, versioned, encrypted, TLS only",
        "no such bucket" if not log_bucket else ", ".join(f"{k} {v}" for k, v in log_checks.items()),
        bool(log_bucket) and all(log_checks.values()),
    ))

    rules = ((bucket or {}).get("bucket_lifecycle_configuration") or {}).get("Rules", [])
    archive = any(r.get("Status") == "Enabled" and r.get("Transitions") and (r.get("Filter") or {}).get("Prefix") == "raw-data/" for r in rules)
    noncurrent = any(r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration") for r in rules)
    results.append(c["S3-10"].result(
        name, "an enabled rule archiving raw-data/ and one expiring noncurrent versions",
        f"archive rule {archive}; noncurrent expiration {noncurrent}", archive and noncurrent,
    ))
    results.append(c["S3-11"].result(
        name, "Deny " + ", ".join(a[3:] for a in FENCED_SETTINGS) + " to all but exactly named principals"
        if restrict else "not required in this environment",
        "; ".join(fence["settings"]) if restrict else "not evaluated",
        fence["settings"] == ["present"] or not restrict,
    ))
    results.append(_backup_result(c["S3-12"], state.get("backup") or {}, baseline, key.get("key_arn"), f"arn:{p}:s3:::{name}"))
    return results


def _backup_result(control, backup, baseline, key_arn, bucket_arn):
    """S3-12: the plan's rule, its selection of the bucket, the vault's key and lock."""
    want = baseline.get("backup") or {}
    days, lock = int(want.get("retention_days") or 0), want.get("vault_lock", "none")
    plan, vault = backup.get("plan") or {}, backup.get("vault") or {}
    rules = [r for r in (plan.get("backup_plan") or {}).get("rules", []) if r.get("target_backup_vault_name") == want.get("vault")]
    kept = max([int((r.get("lifecycle") or {}).get("delete_after_days") or 0) for r in rules] or [0])
    selected = [sel for sel in backup.get("selections") or []
                if bucket_arn in (sel.get("resources") or []) and sel.get("iam_role_arn") == want.get("role_arn")]
    problems = []
    if not plan:
        problems.append(f"no plan {want.get('plan')}")
    elif not rules:
        problems.append(f"no rule of the plan backs up into {want.get('vault')}")
    elif kept < days:
        problems.append(f"recovery points kept {kept} days, not {days}")
    if plan and not selected:
        problems.append(f"no selection of the plan covers {bucket_arn} with {want.get('role_arn')}")
    if not vault:
        problems.append(f"no vault {want.get('vault')}")
    elif not key_arn or vault.get("encryption_key_arn") != key_arn:
        problems.append(f"vault encrypted with {vault.get('encryption_key_arn') or 'an AWS owned key'}, not the pipeline key")
    if vault and lock != "none":
        if not vault.get("locked"):
            problems.append("vault not locked")
        elif int(vault.get("min_retention_days") or 0) < days:
            problems.append(f"vault lock's minimum retention {vault.get('min_retention_days')} days, not {days}")
        elif lock == "compliance" and not vault.get("lock_date"):
            problems.append("vault lock in governance mode, not compliance")
    expected = f"{want.get('plan')} into {want.get('vault')} ({key_arn or 'the pipeline key'}), kept {days} days" + (
        f", vault locked ({lock})" if lock != "none" else "")
    return control.result(want.get("vault", "backup"), expected, "; ".join(problems) or "as expected", not problems)


AUDIT_PHASE_CONTROLS = {
    c.id: c
    for c in [
        Control("AUD-01", "One multi-region trail records global service events, with log file validation",
                "audit", "trail", [AUDIT_CONTROLS, INTEGRITY], ["CIS AWS 3.1", "CIS AWS 3.2", "AWS FSBP CloudTrail.1", "AWS FSBP CloudTrail.4"]),
        Control("AUD-02", "The trail is logging", "audit", "trail", [AUDIT_CONTROLS], ["CIS AWS 3.1"]),
        Control("AUD-03", "The trail is encrypted with the audit key and delivers to its CloudWatch log group",
                "audit", "trail", [AUDIT_CONTROLS, ENCRYPTION], ["CIS AWS 3.5", "AWS FSBP CloudTrail.2", "AWS FSBP CloudTrail.5"]),
        Control("AUD-04", "The audit key exists, is enabled and rotates", "audit", "key", [ENCRYPTION], ["CIS AWS 3.6", "AWS FSBP KMS.4"]),
        Control("AUD-05", "The audit log bucket blocks public access, keeps versions and refuses plain HTTP",
                "audit", "log_bucket", [AUDIT_CONTROLS, INTEGRITY, TRANSMISSION_SECURITY], ["CIS AWS 2.1.1", "CIS AWS 2.1.4", "AWS FSBP S3.5", "AWS FSBP S3.8"]),
        Control("AUD-06", "The audit log groups are encrypted with the audit key and kept for the retention period",
                "audit", "log_groups", [AUDIT_CONTROLS, ENCRYPTION], ["AWS FSBP CloudWatch.16"]),
        Control("AUD-07", "Every CIS monitoring alarm exists and notifies the security topic", "audit", "alarms",
                [AUDIT_CONTROLS, RISK_MANAGEMENT], ["CIS AWS 4.1-4.15"]),
        Control("AUD-08", "AWS Config records every supported resource, global ones included, into the audit log bucket",
                "audit", "config", [AUDIT_CONTROLS, RISK_MANAGEMENT], ["CIS AWS 3.3", "AWS FSBP Config.1"]),
        Control("AUD-09", "GuardDuty is enabled, with S3 protection", "audit", "detection",
                [MALICIOUS_SOFTWARE, RISK_MANAGEMENT], ["AWS FSBP GuardDuty.1"]),
        Control("AUD-10", "Every toolkit VPC logs all its traffic to the flow log group", "audit", "flow_logs",
                [AUDIT_CONTROLS], ["CIS AWS 3.7", "AWS FSBP EC2.6"]),
        Control("AUD-11", "Access to the audit log bucket is logged to the access log bucket", "audit", "log_bucket",
                [AUDIT_CONTROLS], ["CIS AWS 3.4", "AWS FSBP S3.9"]),
        Control("AUD-12", "VPC Flow Logs may assume its delivery role only on behalf of this account's flow logs in this "
                "region (aws:SourceAccount and aws:SourceArn)", "audit", "log_groups", [ACCESS_CONTROL, AUDIT_CONTROLS],
                note="The role CloudTrail delivers to CloudWatch Logs with trusts CloudTrail with no condition: CloudTrail's "
                     "guide says confused-deputy prevention does not apply to that role, which supports neither "
                     "aws:SourceArn nor aws:SourceAccount."),
        Control("AUD-13", "The audit log bucket is write-once: S3 Object Lock keeps every new log file for at least the "
                "retention period, in the inventory's mode or compliance mode", "audit", "log_bucket",
                [AUDIT_CONTROLS, INTEGRITY], ["AWS FSBP S3.15"],
                note="Object Lock's default retention applies to log files written after it was set; files already in "
                     "the bucket keep the retention they had."),
        Control("AUD-14", "The trail records object-level events in every toolkit bucket: reads, uploads and deletions "
                "in the data bucket, and reads and deletions in the access log and audit log buckets", "audit", "trail",
                [AUDIT_CONTROLS], ["CIS AWS 3.8", "CIS AWS 3.9", "AWS FSBP S3.22", "AWS FSBP S3.23"],
                note="Uploads into the two log buckets are not recorded: they are the services' own log deliveries, and "
                     "recording them would feed each delivery back into the trail without end. The trail's log file "
                     "validation and the audit log bucket's Object Lock guard those files instead."),
        Control("AUD-15", "GuardDuty findings of medium severity and above, Security Hub's failed critical and high findings "
                "and AWS Config's non-compliance reach the security topic: each EventBridge rule is enabled, has the "
                "toolkit's event pattern and targets the topic", "audit", "findings",
                [SECURITY_INCIDENTS, RISK_MANAGEMENT],
                note="The topic reaches a person only through its subscriptions; production refuses to run without one "
                     "(audit_alarm_subscribers_required)."),
        Control("AUD-16", "Session Manager logs every session to its log group, encrypted with the audit key, and ends idle "
                "sessions", "audit", "session_manager", [AUDIT_CONTROLS, ENCRYPTION],
                note="The preferences are the account's SSM-SessionManagerRunShell document; a session started with "
                     "another Session document of the caller's choosing is not bound by them. AUD-06 checks the log "
                     "group's key and retention."),
    ]
}

# What AUD-14 asks of the trail: per bucket role, the object events it must record
# (event name, read only).
DATA_EVENT_PROBES = {
    "data": [("GetObject", True), ("PutObject", False), ("DeleteObject", False)],
    "log": [("GetObject", True), ("DeleteObject", False)],
}


def _field_matches(field, value):
    """An advanced field selector on a value: any including operator matches, and no excluding one."""
    including = {"Equals": lambda v: value == v, "StartsWith": value.startswith, "EndsWith": value.endswith}
    excluding = {"NotEquals": lambda v: value == v, "NotStartsWith": value.startswith, "NotEndsWith": value.endswith}
    given = [op for op in including if field.get(op)]
    if given and not any(including[op](v) for op in given for v in field[op]):
        return False
    return not any(excluding[op](v) for op in excluding for v in field.get(op) or [])


def records_data_event(selectors, object_arn, event_name, read_only):
    """Whether a trail with these event selectors (get_event_selectors' answer) records
    an S3 object event on object_arn."""
    event = {"eventCategory": "Data", "resources.type": "AWS::S3::Object", "resources.ARN": object_arn,
             "eventName": event_name, "readOnly": "true" if read_only else "false"}
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = selector.get("FieldSelectors") or []
        if fields and all(f.get("Field") in event and _field_matches(f, event[f["Field"]]) for f in fields):
            return True
    for selector in selectors.get("EventSelectors") or []:
        kind = selector.get("ReadWriteType", "All")
        if kind != "All" and (kind == "ReadOnly") != read_only:
            continue
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") == "AWS::S3::Object" and any(
                    object_arn.startswith(v) for v in resource.get("Values") or []):
                return True
    return False


def audit_controls(state, baseline):
    """The audit phase's controls: trail, audit key, log bucket, log groups,
    alarms, Config, GuardDuty and flow logs."""
    c = AUDIT_PHASE_CONTROLS
    results = []
    trail = state.get("trail") or {}
    key = state.get("key") or {}
    name = baseline["trail_name"]
    results.append(c["AUD-01"].result(
        name, "multi-region, global service events, log file validation",
        {k: trail.get(k) for k in ("is_multi_region_trail", "include_global_service_events", "log_file_validation_enabled")}
        if trail else "no trail",
        bool(trail) and all(trail.get(k) for k in ("is_multi_region_trail", "include_global_service_events",
                                                   "log_file_validation_enabled")),
    ))
    results.append(c["AUD-02"].result(
        name, "logging", ("logging" if trail.get("is_logging") else "logging stopped") if trail else "no trail",
        bool(trail.get("is_logging")),
    ))
    group_arn = str(trail.get("cloud_watch_logs_log_group_arn") or "")
    delivers = group_arn.split(":log-group:")[-1].split(":")[0] == baseline["trail_log_group"]
    encrypted = _encrypted_with(trail.get("kms_key_id"), key)
    results.append(c["AUD-03"].result(
        name, f"KMS key {key.get('key_arn', 'the audit key')}; log group {baseline['trail_log_group']}",
        f"KMS key {trail.get('kms_key_id')}; log group {group_arn or None}" if trail else "no trail",
        bool(trail) and encrypted and delivers,
    ))
    results.append(c["AUD-04"].result(
        "audit key", "enabled, rotation on",
        f"state {key.get('key_state')}, rotation {key.get('enable_key_rotation')}" if key else "no key",
        key.get("key_state") == "Enabled" and key.get("enable_key_rotation") is True,
    ))
    bucket = state.get("log_bucket") or {}
    policy = _bucket_policy(bucket)
    versioned = (bucket.get("bucket_versioning") or {}).get("Status") == "Enabled"
    bucket_arn = f"arn:{baseline.get('partition', 'aws')}:s3:::{baseline['log_bucket']}"
    resources = [bucket_arn, f"{bucket_arn}/*"]
    results.append(c["AUD-05"].result(
        baseline["log_bucket"], "public access blocked, versioning enabled, TLS only",
        (f"public access blocked {_public_access_blocked(bucket)}, versioning "
         f"{(bucket.get('bucket_versioning') or {}).get('Status')}, TLS only {_denies_insecure_transport(policy, resources)}")
        if bucket else "no bucket",
        bool(bucket) and _public_access_blocked(bucket) and versioned and _denies_insecure_transport(policy, resources),
    ))
    groups = {g.get("log_group_name"): g for g in state.get("log_groups") or []}
    for group_name in (baseline["trail_log_group"], baseline["flow_log_group"], baseline["session_log_group"],
                       baseline["host_log_group"]):
        group = groups.get(group_name)
        retention = (group or {}).get("retention_in_days")
        ok = bool(group) and _encrypted_with(group.get("kms_key_id"), key) and retention is not None \
            and int(retention) >= int(baseline["log_retention_days"])
        results.append(c["AUD-06"].result(
            group_name, f"KMS key the audit key; retention at least {baseline['log_retention_days']} days",
            f"KMS key {group.get('kms_key_id')}; retention {retention}" if group else "no log group", ok,
        ))
    alarms = {a.get("alarm_name"): a for a in state.get("alarms") or []}
    missing = [n for n in baseline["alarms"] if n not in alarms]
    silent = [n for n in baseline["alarms"] if n in alarms and not any(
        str(action).endswith(f":{baseline['topic_name']}") for action in alarms[n].get("alarm_actions") or [])]
    results.append(c["AUD-07"].result(
        f"{len(baseline['alarms'])} alarms", f"each notifying {baseline['topic_name']}",
        f"missing {missing or 'none'}; not notifying {silent or 'none'}", not missing and not silent,
    ))
    services = state.get("services") or {}
    rules = services.get("event_rules") or {}
    wrong = []
    for expected in baseline.get("finding_rules") or []:
        rule = rules.get(expected["name"]) or {}
        problems = (["missing"] if not rule else
                    (["disabled"] if rule.get("state") != "ENABLED" else [])
                    + (["another event pattern"] if rule.get("event_pattern") != expected["pattern"] else [])
                    + ([] if any(str(t).endswith(f":{baseline['topic_name']}") for t in rule.get("targets") or [])
                       else ["not targeting the topic"]))
        wrong += [f"{expected['name']} {', '.join(problems)}"] if problems else []
    results.append(c["AUD-15"].result(
        f"{len(baseline.get('finding_rules') or [])} EventBridge rules", f"enabled, the toolkit's patterns, targeting {baseline['topic_name']}",
        "; ".join(wrong) or "as expected", bool(baseline.get("finding_rules")) and not wrong,
    ))
    preferences = (services.get("documents") or {}).get(baseline["session_document"]) or {}
    inputs = preferences.get("inputs") or {}
    session_group = groups.get(baseline["session_log_group"]) or {}
    problems = (["no preferences"] if not preferences else
                ([f"sessions logged to {inputs.get('cloudWatchLogGroupName') or 'no log group'}"]
                 if inputs.get("cloudWatchLogGroupName") != baseline["session_log_group"] else [])
                + ([] if inputs.get("cloudWatchEncryptionEnabled") is True else ["an unencrypted log group allowed"])
                + ([] if str(inputs.get("idleSessionTimeout") or "").isdigit() else ["no idle timeout"])
                + ([] if _encrypted_with(session_group.get("kms_key_id"), key) else ["the log group not encrypted with the audit key"]))
    results.append(c["AUD-16"].result(
        baseline["session_document"], f"every session to {baseline['session_log_group']}, encrypted with the audit key; idle timeout",
        "; ".join(problems) or "as expected", not problems,
    ))
    recorders = services.get("config_recorders") or []
    channels = services.get("delivery_channels") or []
    recording = [r for r in recorders if r.get("recording") and r.get("all_supported") and r.get("include_global_resource_types")]
    delivering = [ch for ch in channels if ch.get("s3_bucket_name") == baseline["log_bucket"]]
    results.append(c["AUD-08"].result(
        "AWS Config", f"recording all resources, global included, delivering to {baseline['log_bucket']}",
        f"recorders {[{k: r.get(k) for k in ('name', 'recording', 'all_supported', 'include_global_resource_types')} for r in recorders]}; "
        f"delivery to {[ch.get('s3_bucket_name') for ch in channels]}",
        bool(recording) and bool(delivering),
    ))
    detectors = services.get("guardduty_detectors") or []
    enabled = [d for d in detectors if d.get("status") == "ENABLED"
               and (d.get("s3_protection") or not baseline.get("guardduty_s3_protection", True))]
    results.append(c["AUD-09"].result(
        "GuardDuty", "an enabled detector" + (" with S3 protection" if baseline.get("guardduty_s3_protection", True) else ""),
        [{k: d.get(k) for k in ("detector_id", "status", "s3_protection")} for d in detectors] or "no detector",
        bool(enabled),
    ))
    flow_logs = services.get("flow_logs") or []
    vpcs = state.get("vpcs") or {}
    for vpc_name in baseline["vpc_names"]:
        vpc_id = vpcs.get(vpc_name)
        if vpc_id is None:
            continue  # the VPC's own phase reports it missing
        logs = [f for f in flow_logs if f.get("resource_id") == vpc_id]
        ok = any(f.get("traffic_type") == "ALL" and f.get("log_group_name") == baseline["flow_log_group"]
                 and f.get("status", "ACTIVE") == "ACTIVE" for f in logs)
        results.append(c["AUD-10"].result(
            f"{vpc_name} ({vpc_id})", f"ALL traffic to {baseline['flow_log_group']}",
            [{k: f.get(k) for k in ("traffic_type", "log_group_name", "status")} for f in logs] or "no flow log", ok,
        ))

    target = f"{baseline['access_log_bucket']}/{baseline['access_log_prefix']}"
    logs_to = _access_logs_to(state.get("log_bucket"))
    results.append(c["AUD-11"].result(baseline["log_bucket"], f"access logs to {target}", logs_to or "logging off",
                                      logs_to == target))
    results.append(_trusted_roles_result(c["AUD-12"], state.get("roles"), baseline))

    lock = (services.get("object_lock") or {}).get(baseline["log_bucket"]) or {}
    mode_ok = lock.get("mode") in (baseline["lock_mode"], "COMPLIANCE")
    results.append(c["AUD-13"].result(
        baseline["log_bucket"], f"Object Lock, {baseline['lock_mode']} mode, at least {baseline['lock_days']} days",
        f"Object Lock, {lock.get('mode')} mode, {lock.get('days')} days" if lock else "no Object Lock",
        bool(lock) and mode_ok and int(lock.get("days") or 0) >= int(baseline["lock_days"]),
    ))

    selectors = services.get("event_selectors") or {}
    partition = baseline.get("partition", "aws")
    buckets = [(baseline["data_bucket"], "data"), (baseline["access_log_bucket"], "log"), (baseline["log_bucket"], "log")]
    unrecorded = [f"{event} in {bucket}" for bucket, role in buckets for event, read_only in DATA_EVENT_PROBES[role]
                  if not records_data_event(selectors, f"arn:{partition}:s3:::{bucket}/any-object", event, read_only)]
    results.append(c["AUD-14"].result(
        name, "; ".join(f"{bucket}: {', '.join(e for e, _ in DATA_EVENT_PROBES[role])}" for bucket, role in buckets),
        f"not recorded: {', '.join(unrecorded)}" if unrecorded else "all recorded", not unrecorded,
    ))
    return results


def _access_logs_to(bucket):
    """Where a bucket's server access logs go, as "target bucket/prefix" (s3_bucket_info's
    bucket_logging), or None when logging is off (S3-08, AUD-11)."""
    logging = ((bucket or {}).get("bucket_logging") or {}).get("LoggingEnabled")
    return f"{logging.get('TargetBucket')}/{logging.get('TargetPrefix')}" if logging else None


def _encrypted_with(key_id, key):
    return bool(key) and bool(key_id) and key_id in (key.get("key_arn"), key.get("key_id"))


ACCESS_PHASE_CONTROLS = {
    c.id: c
    for c in [
        Control("ACC-01", "The management VPC exists with its CIDR, apart from production", "access", "management_vpc",
                [ACCESS_CONTROL, TRANSMISSION_SECURITY]),
        Control("ACC-02", "One active peering connects the management VPC and production, and nothing else peers with it",
                "access", "peering", [ACCESS_CONTROL, TRANSMISSION_SECURITY]),
        Control("ACC-03", "The management routes reach only production's private subnets over the peering and the internet "
                "gateway, both from the public subnet; no other route table has a route out but the private subnet's",
                "access", "peering", [TRANSMISSION_SECURITY], ["CIS AWS 5.5"]),
        Control("ACC-04", "The bastion admits SSH only from the VPN host", "access", "security_groups",
                [ACCESS_CONTROL, AUTHENTICATION], ["CIS AWS 5.2", "AWS FSBP EC2.13"]),
        Control("ACC-05", "The VPN host admits OpenVPN only from its allowed ranges and SSH only from the administrators' "
                "ranges", "access", "security_groups", [ACCESS_CONTROL, AUTHENTICATION], ["CIS AWS 5.2", "AWS FSBP EC2.13"]),
        Control("ACC-06", "The bastion and the VPN host run, require IMDSv2 and carry the Session Manager profile",
                "access", "instances", [ACCESS_CONTROL], ["CIS AWS 5.6", "AWS FSBP EC2.8"]),
        Control("ACC-07", "The management VPC's default security group restricts all traffic", "access", "security_groups",
                [ACCESS_CONTROL], ["CIS AWS 5.4", "AWS FSBP EC2.2"]),
        Control("ACC-08", "Both management subnets use the management NACL, which holds exactly the declared rules, and no "
                "NACL of the management VPC admits every port, SSH or RDP from 0.0.0.0/0 or ::/0", "access", "nacl",
                [ACCESS_CONTROL, TRANSMISSION_SECURITY], ["CIS AWS 5.1", "AWS FSBP EC2.21"]),
        Control("ACC-09", "The bastion and the VPN host send out exactly the declared traffic: HTTPS to the declared ranges, "
                "the VPN host's HTTPS to production's private subnets and SSH to the bastion; no plain HTTP",
                "access", "security_groups", [ACCESS_CONTROL, TRANSMISSION_SECURITY],
                note="DNS, NTP and instance metadata go to the VPC's own link-local and resolver addresses, which security "
                     "groups do not filter. HTTPS to 0.0.0.0/0 is the default because Debian's mirrors sit behind a CDN "
                     "with no published ranges; access_host_https_egress_cidrs narrows it."),
        Control("ACC-10", "The VPN's CA, server and user certificates and its revocation list stay valid for at least "
                "openvpn_renew_days more (the controller's PKI)", "access", "openvpn",
                [AUTHENTICATION, TRANSMISSION_SECURITY],
                note="Read from the PKI on the controller that runs verify (.pki/<environment>, where access.yml keeps "
                     "it); not evaluated where there is none. access.yml signs again the CRL and any server or user "
                     "certificate with fewer days left; a CA near its end needs a new PKI."),
        Control("ACC-11", "Only the VPN host has a public address: the bastion has none and sits in the private subnet, "
                "which gives none to what it launches", "access", "instances", [ACCESS_CONTROL, TRANSMISSION_SECURITY],
                ["AWS FSBP EC2.9", "AWS FSBP EC2.15"],
                note="The VPN host is AWS FSBP EC2.9's one exception: it is the way in, and admits only OpenVPN and the "
                     "administrators' SSH (ACC-05)."),
        Control("ACC-12", "The private subnet reaches the internet only through the NAT gateway: its route table has no "
                "route to an internet gateway, and no other route", "access", "nat_gateway", [TRANSMISSION_SECURITY],
                note="The bastion's HTTPS to Debian's mirrors leaves through the NAT gateway; its security group and the "
                     "management NACL still let only HTTPS through (ACC-08, ACC-09)."),
        Control("ACC-13", "The hosts' role lets each host create and write its own stream of authentication logs in the "
                "access hosts' log group", "access", "host_iam", [AUDIT_CONTROLS, AUTHENTICATION],
                note="verify reads the role's inline policies, not the hosts: that rsyslog on each host sends sshd's, "
                     "sudo's, su's and PAM's messages there is the bastion role's work, proven by molecule/bastion "
                     "against a local CloudWatch Logs. AUD-06 checks the log group's key and retention."),
    ]
}


# Every control verify checks, in the order of the phases.
CATALOGUE = {**NETWORK_CONTROLS, **IDENTITY_CONTROLS, **STORAGE_CONTROLS, **AUDIT_PHASE_CONTROLS, **REGISTRY_CONTROLS,
             **BATCH_CONTROLS, **ACCESS_PHASE_CONTROLS}


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


def _management_nacl_result(control, state, baseline):
    """ACC-08: the management subnets' NACL is exactly as declared, and no
    NACL of the management VPC is open to the world."""
    nacls = state.get("nacls") or []
    nacl = _named(nacls, baseline["nacl_name"])
    subnet_names = [baseline["subnet_name"], baseline["private_subnet_name"]]

    def normal(entries):
        return sorted((int(e[0]), str(e[1]), str(e[2]), str(e[3]), *_ports(e)) for e in entries)

    problems = []
    if not nacl:
        problems.append("no management NACL")
    else:
        for subnet_name in subnet_names:
            subnet = _named(state.get("subnets") or [], subnet_name)
            if not subnet or subnet.get("id") not in nacl.get("subnets", []):
                problems.append(f"{subnet_name} does not use it")
        for direction in ("ingress", "egress"):
            want, have = normal(baseline["nacl_rules"][direction]), normal(nacl.get(direction, []))
            extra, missing = [e for e in have if e not in want], [e for e in want if e not in have]
            problems += [f"{direction} extra rule {e[0]} {e[1]} {e[3]} {e[4]}-{e[5]}" for e in extra]
            problems += [f"{direction} missing rule {e[0]} {e[1]} {e[3]} {e[4]}-{e[5]}" for e in missing]
    problems += [f"open to the world: {rule}" for rule in _open_to_the_world(nacls)]
    return control.result(
        baseline["nacl_name"] + (f" ({nacl['nacl_id']})" if nacl else ""),
        f"on {' and '.join(subnet_names)}, with the declared rules; no NACL admitting every port, 22 or 3389 from the internet",
        "; ".join(problems) or "as expected", not problems,
    )


def _egress_result(control, group, group_name, rules):
    """ACC-09: a host's security group sends out exactly the declared rules
    (ec2_security_groups' form: proto, ports, cidr_ip), each port and range
    compared one by one."""
    want = {(r["proto"], int(port), int(port), r["cidr_ip"]) for r in rules for port in r["ports"]}
    expected = ", ".join(f"{p}/{lo} {cidr}" for p, lo, _, cidr in sorted(want))
    if group is None:
        return control.result(group_name, expected, "no group", False)
    have = {(p.get("ip_protocol"), p.get("from_port"), p.get("to_port"), target)
            for p in group.get("ip_permissions_egress") or [] for target in _permission_targets(p)}

    def text(rule):
        protocol, low, high, target = rule
        return f"{'all' if protocol == '-1' else protocol}/{'all' if protocol == '-1' else (low if low == high else f'{low}-{high}')} {target}"

    problems = [f"extra {text(r)}" for r in sorted(have - want, key=str)] + [f"missing {text(r)}" for r in sorted(want - have, key=str)]
    return control.result(f"{group_name} ({group.get('group_id')})", expected, "; ".join(problems) or "as declared", not problems)


def _routes(table):
    """(destination, target) of each route of a route table, as ec2_vpc_route_table_info returns it."""
    for route in table.get("routes") or []:
        target = route.get("gateway_id") or route.get("vpc_peering_connection_id") or route.get("nat_gateway_id") \
            or route.get("network_interface_id") or route.get("transit_gateway_id") or "unknown"
        yield route.get("destination_cidr_block"), target


def _private_route_result(control, table, subnets, baseline):
    """ACC-12: the private subnet's route table sends 0.0.0.0/0 to a NAT
    gateway, has no other route out, and is the one the subnet uses."""
    name = baseline["private_route_table_name"]
    if table is None:
        return control.result(name, "local, 0.0.0.0/0 to the NAT gateway", "no private route table", False)
    routes = [(destination, target) for destination, target in _routes(table) if target != "local"]
    problems = [f"{destination} -> {target}" for destination, target in routes
                if not (destination == "0.0.0.0/0" and str(target).startswith("nat-"))]
    if not any(str(target).startswith("nat-") for _destination, target in routes):
        problems.append("no route to a NAT gateway")
    subnet = _named(subnets, baseline["private_subnet_name"])
    associated = {a.get("subnet_id") for a in table.get("associations") or []}
    if subnet is not None and subnet.get("id") not in associated:
        problems.append(f"{baseline['private_subnet_name']} does not use it")
    return control.result(f"{name} ({table.get('id')})", "local, 0.0.0.0/0 to the NAT gateway, on the private subnet",
                          "; ".join(problems) or "as expected", not problems)


def _public_address_result(control, state, baseline):
    """ACC-11: no instance of the management VPC but the VPN host has a
    public address, the bastion is in the private subnet, and that subnet
    maps no public address on launch."""
    subnet = _named(state.get("subnets") or [], baseline["private_subnet_name"])
    problems = [] if subnet else ["no private subnet"]
    if subnet and subnet.get("map_public_ip_on_launch"):
        problems.append(f"{baseline['private_subnet_name']} gives public addresses on launch")
    bastion = None
    for instance in state.get("instances") or []:
        host = (instance.get("tags") or {}).get("Name") or instance.get("instance_id")
        if host == baseline["bastion_name"]:
            bastion = instance
        if host != baseline["openvpn_name"] and instance.get("public_ip_address"):
            problems.append(f"{host} has public address {instance['public_ip_address']}")
    if bastion is None:
        problems.append("no bastion")
    elif subnet and bastion.get("subnet_id") != subnet.get("id"):
        problems.append(f"{baseline['bastion_name']} is in {bastion.get('subnet_id')}, not {baseline['private_subnet_name']}")
    return control.result(
        baseline["vpc_name"], f"a public address on {baseline['openvpn_name']} only; {baseline['bastion_name']} in "
        f"{baseline['private_subnet_name']}, which maps none", "; ".join(problems) or "as expected", not problems)


def _host_log_result(control, policies, baseline):
    """ACC-13: the hosts' role's inline policies allow each host's stream in
    the host log group to be created and written to."""
    group = baseline["host_log_group_arn"]
    account = group.split(":")[4]
    documents = [p.get("policy_document") for p in policies]
    documents = [json.loads(d) if isinstance(d, str) else d for d in documents]
    refused = []
    for host in (baseline["bastion_name"], baseline["openvpn_name"]):
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            request = {"action": action, "resource": f"{group}:log-stream:{host}", "account": account}
            decisions = {_policy.decide(document, request) for document in documents}
            if _policy.ALLOW not in decisions or _policy.DENY in decisions:
                refused.append(f"{action} on {host}'s stream")
    return control.result(
        baseline["host_role_name"], f"logs:CreateLogStream and logs:PutLogEvents on each host's stream in {group}",
        f"refused: {', '.join(refused)}" if refused else "allowed", not refused,
    )


def _asn1_time(value):
    """A certificate's or CRL's time as community.crypto returns it (20271204120000Z)."""
    return datetime.strptime(str(value), "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def _vpn_pki_result(control, pki, baseline):
    """ACC-10: every certificate of the VPN's PKI, and its revocation list,
    has at least vpn_renew_days whole days left when verify reads them, the
    point from which access.yml signs it again.

    `pki`: dir, found (bool), read_at (ISO 8601, UTC), certificates
    ({path: not_after}), crl ({next_update}) or None."""
    days = int(baseline["vpn_renew_days"])
    pki = pki or {}
    where = str(pki.get("dir") or "the controller's PKI")
    expected = f"the CA, server and user certificates and the CRL valid for at least {days} more days"
    if not pki.get("found"):
        return control.result(where, expected, "no PKI on this controller: run verify where access.yml runs", None)
    now = datetime.strptime(str(pki["read_at"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    ends = [(str(Path(path).relative_to(where)) if Path(path).is_relative_to(where) else path, _asn1_time(not_after))
            for path, not_after in (pki.get("certificates") or {}).items()]
    problems = [f"no {name}" for name in ("ca.crt", "server.crt") if name not in {n for n, _ in ends}]
    if pki.get("crl"):
        ends.append(("crl.pem (next update)", _asn1_time(pki["crl"]["next_update"])))
    else:
        problems.append("no crl.pem")
    for name, end in sorted(ends, key=lambda item: item[1]):
        left = (end - now).days
        if left < days:
            problems.append(f"{name} {'ended' if end <= now else 'ends'} {end:%Y-%m-%d} ({left} days)")
    if problems:
        return control.result(where, expected, "; ".join(problems), False)
    name, end = min(ends, key=lambda item: item[1])
    return control.result(where, expected, f"{len(ends)} checked; the first to end is {name}, {end:%Y-%m-%d} "
                          f"({(end - now).days} days)", True)


def vpn_pki_control(pki, baseline):
    """ACC-10 alone, for a PKI read where no AWS account is (molecule/openvpn)."""
    return _vpn_pki_result(ACCESS_PHASE_CONTROLS["ACC-10"], pki, baseline)


def access_controls(state, baseline):
    """The access phase's controls: management VPC, peering, routes, the
    hosts' security groups and the hosts themselves."""
    c = ACCESS_PHASE_CONTROLS
    results = []
    vpc = state.get("vpc") or {}
    name = baseline["vpc_name"]
    results.append(c["ACC-01"].result(
        name, baseline["vpc_cidr"], vpc.get("cidr_block") if vpc else "no management VPC",
        bool(vpc) and vpc.get("cidr_block") == baseline["vpc_cidr"],
    ))
    if not vpc:
        return results
    production = state.get("production_vpc_id") or ""
    peerings = state.get("peerings") or []
    active = [p for p in peerings if (p.get("status") or {}).get("code") == "active"]
    to_production = [p for p in active if (p.get("accepter_vpc_info") or {}).get("vpc_id") == production]
    results.append(c["ACC-02"].result(
        baseline["peering_name"], f"one active peering with production ({production or 'not found'})",
        [f"{p.get('vpc_peering_connection_id')} to {(p.get('accepter_vpc_info') or {}).get('vpc_id')} "
         f"{(p.get('status') or {}).get('code')}" for p in peerings] or "no peering",
        len(to_production) == 1 and len(active) == 1,
    ))
    peering_ids = {p.get("vpc_peering_connection_id") for p in to_production}
    allowed = set(baseline["production_subnet_cidrs"])
    public_table = _named(state.get("route_tables") or [], baseline["route_table_name"]) or {}
    private_table = _named(state.get("route_tables") or [], baseline["private_route_table_name"])
    stray = []
    for table in state.get("route_tables") or []:
        if private_table is not None and table.get("id") == private_table.get("id"):
            continue  # ACC-12's
        for destination, target in _routes(table):
            public = table.get("id") == public_table.get("id")
            if target == "local":
                continue
            if public and str(target).startswith("igw-") and destination == "0.0.0.0/0":
                continue
            if public and target in peering_ids and destination in allowed:
                continue
            stray.append(f"{table.get('id')}: {destination} -> {target}")
    results.append(c["ACC-03"].result(
        name, f"local; from {baseline['route_table_name']}, 0.0.0.0/0 to the internet gateway and {sorted(allowed)} over the peering",
        stray or "no other route", not stray,
    ))
    results.append(_private_route_result(c["ACC-12"], private_table, state.get("subnets") or [], baseline))
    results.append(_default_group_result(c["ACC-07"], state.get("security_groups") or [], vpc.get("vpc_id") or name))
    results.append(_management_nacl_result(c["ACC-08"], state, baseline))
    groups = {g.get("group_name"): g for g in state.get("security_groups") or []}
    bastion, vpn = groups.get(baseline["bastion_sg_name"]), groups.get(baseline["openvpn_sg_name"])
    expected_ssh = sorted(baseline["ssh_admin_cidrs"])

    def ssh(p):
        return p.get("ip_protocol") == "tcp" and p.get("from_port") == 22 and p.get("to_port") == 22

    if bastion is None:
        results.append(c["ACC-04"].result(baseline["bastion_sg_name"], "tcp/22 from the VPN host", "no group", False))
    else:
        vpn_id = (vpn or {}).get("group_id")
        permissions = bastion.get("ip_permissions") or []
        found = [_describe_permission(p) for p in permissions]
        ok = bool(vpn_id) and all(ssh(p) and set(_permission_targets(p)) <= {vpn_id} for p in permissions)
        results.append(c["ACC-04"].result(
            baseline["bastion_sg_name"], f"tcp/22 from {baseline['openvpn_sg_name']} ({vpn_id}) only", found or "no rule", ok))
    port = int(baseline["vpn_port"])
    if vpn is None:
        results.append(c["ACC-05"].result(baseline["openvpn_sg_name"], f"udp/{port} from the allowed ranges", "no group", False))
    else:
        def admitted(p):
            sources = set(_permission_targets(p))
            if p.get("ip_protocol") == "udp" and p.get("from_port") == port and p.get("to_port") == port:
                return sources <= set(baseline["vpn_allowed_cidrs"])
            return ssh(p) and sources <= set(expected_ssh)

        found = [_describe_permission(p) for p in vpn.get("ip_permissions") or []]
        results.append(c["ACC-05"].result(
            baseline["openvpn_sg_name"], f"udp/{port} from {sorted(baseline['vpn_allowed_cidrs'])}, tcp/22 from {expected_ssh}",
            found or "no rule", all(admitted(p) for p in vpn.get("ip_permissions") or []),
        ))
    for group_name, rules in ((baseline["bastion_sg_name"], baseline["bastion_egress"]),
                              (baseline["openvpn_sg_name"], baseline["openvpn_egress"])):
        results.append(_egress_result(c["ACC-09"], groups.get(group_name), group_name, rules))
    results.append(_vpn_pki_result(c["ACC-10"], state.get("vpn_pki"), baseline))
    results.append(_host_log_result(c["ACC-13"], state.get("host_role_policies") or [], baseline))
    results.append(_public_address_result(c["ACC-11"], state, baseline))
    instances = {(i.get("tags") or {}).get("Name"): i for i in state.get("instances") or []}
    for host in (baseline["bastion_name"], baseline["openvpn_name"]):
        instance = instances.get(host)
        if instance is None:
            results.append(c["ACC-06"].result(host, "running, IMDSv2 required, hop limit 1", "no instance", False))
            continue
        metadata = instance.get("metadata_options") or {}
        profile = str((instance.get("iam_instance_profile") or {}).get("arn") or "")
        ok = ((instance.get("state") or {}).get("name") == "running" and metadata.get("http_tokens") == "required"
              and int(metadata.get("http_put_response_hop_limit") or 0) == 1
              and profile.endswith(f"/{baseline['host_role_name']}"))
        results.append(c["ACC-06"].result(
            f"{host} ({instance.get('instance_id')})", f"running, IMDSv2 required, hop limit 1, profile {baseline['host_role_name']}",
            f"{(instance.get('state') or {}).get('name')}, tokens {metadata.get('http_tokens')}, hop limit "
            f"{metadata.get('http_put_response_hop_limit')}, profile {profile.rsplit('/', 1)[-1] or None}", ok,
        ))
    return results


def _mermaid_id(value):
    return re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def network_diagram(state, baseline):
    """A Mermaid flowchart of the network as it is (not as it should be)."""
    vpc = state.get("vpc")
    if not vpc:
        return "flowchart LR\n  none[\"no toolkit VPC found\"]"
    lines = ["flowchart LR"]
    lines.append(f'  subgraph {_mermaid_id(vpc["id"])}["VPC {vpc.get("tags", {}).get("Name", "")} {vpc.get("cidr_block")}"]')
    for subnet in state.get("subnets", []):
        lines.append(
            f'    {_mermaid_id(subnet["id"])}["subnet {subnet.get("tags", {}).get("Name", subnet["id"])}<br/>'
            f'{subnet.get("cidr_block")} {subnet.get("availability_zone")}"]'
        )
    for group in state.get("security_groups", []):
        lines.append(f'    {_mermaid_id(group["group_id"])}{{{{"SG {group.get("group_name")}"}}}}')
    for endpoint in state.get("endpoints", []):
        service = str(endpoint.get("service_name", "")).split(".", 3)[-1]
        lines.append(f'    {_mermaid_id(endpoint["vpc_endpoint_id"])}(["endpoint {service}"])')
    for table in state.get("route_tables", []):
        lines.append(f'    {_mermaid_id(table["id"])}[/"route table {table.get("tags", {}).get("Name", table["id"])}"/]')
    lines.append("  end")
    lines.append('  S3[("Amazon S3")]')
    for endpoint in state.get("endpoints", []):
        endpoint_id = _mermaid_id(endpoint["vpc_endpoint_id"])
        for subnet_id in endpoint.get("subnet_ids", []) or []:
            lines.append(f"  {_mermaid_id(subnet_id)} --- {endpoint_id}")
        for group in endpoint.get("groups", []) or []:
            lines.append(f"  {endpoint_id} -.- {_mermaid_id(group.get('group_id'))}")
        if str(endpoint.get("service_name", "")).endswith(".s3") and not endpoint.get("subnet_ids"):
            lines.append(f"  {endpoint_id} --> S3")
            for table_id in endpoint.get("route_table_ids", []) or []:
                lines.append(f"  {_mermaid_id(table_id)} --- {endpoint_id}")
    for table in state.get("route_tables", []):
        for association in table.get("associations", []):
            if association.get("subnet_id"):
                lines.append(f"  {_mermaid_id(association['subnet_id'])} --> {_mermaid_id(table['id'])}")
    for gateway in state.get("internet_gateways", []):
        lines.append(f'  {_mermaid_id(gateway["internet_gateway_id"])}(("internet gateway (not expected)")) --- {_mermaid_id(vpc["id"])}')
    for gateway in state.get("nat_gateways", []):
        lines.append(f'  {_mermaid_id(gateway["nat_gateway_id"])}(("NAT gateway (not expected)"))')
    lines.extend(_batch_diagram(state.get("batch") or {}))
    lines.extend(_access_diagram(state.get("access") or {}, vpc["id"]))
    return "\n".join(lines)


def _access_diagram(access, production_vpc_id):
    """The management VPC as found: its subnets and hosts, its internet and
    NAT gateway routes, and the peering connection to production."""
    vpc = access.get("vpc")
    if not vpc:
        return []
    vpc_node = _mermaid_id(vpc["id"])
    lines = [f'  subgraph {vpc_node}["VPC {vpc.get("tags", {}).get("Name", "")} {vpc.get("cidr_block")}"]']
    for subnet in access.get("subnets") or []:
        lines.append(f'    {_mermaid_id(subnet["id"])}["subnet {subnet.get("tags", {}).get("Name", subnet["id"])}<br/>'
                     f'{subnet.get("cidr_block")}"]')
    for instance in access.get("instances") or []:
        tags = instance.get("tags") or {}
        address = instance.get("public_ip_address") or "no public address"
        lines.append(f'    {_mermaid_id(instance["instance_id"])}["{tags.get("Name", instance["instance_id"])}'
                     f'<br/>{instance.get("private_ip_address")} / {address}"]')
    lines.append("  end")
    for instance in access.get("instances") or []:
        if instance.get("subnet_id"):
            lines.append(f"  {_mermaid_id(instance['instance_id'])} --- {_mermaid_id(instance['subnet_id'])}")
    gateways = {route.get("gateway_id") for table in access.get("route_tables") or [] for route in table.get("routes") or []
                if str(route.get("gateway_id") or "").startswith("igw-")}
    for gateway in sorted(gateways):
        lines.append(f'  {_mermaid_id(gateway)}(("internet gateway")) --- {vpc_node}')
        lines.append(f'  Internet(("administrators")) --> {_mermaid_id(gateway)}')
    nat_gateways = {route.get("nat_gateway_id") for table in access.get("route_tables") or [] for route in table.get("routes") or []
                    if route.get("nat_gateway_id")}
    for gateway in sorted(nat_gateways):
        lines.append(f'  {_mermaid_id(gateway)}(("NAT gateway (the bastion\'s updates)")) --- {vpc_node}')
    for peering in access.get("peerings") or []:
        status = (peering.get("status") or {}).get("code")
        peer = (peering.get("accepter_vpc_info") or {}).get("vpc_id")
        if peer == production_vpc_id:
            lines.append(f'  {vpc_node} <-->|"peering {peering.get("vpc_peering_connection_id")} ({status})"| {_mermaid_id(peer)}')
    return lines


def _batch_diagram(batch):
    """AWS Batch as found: queues feeding compute environments, which launch
    into subnets with security groups."""
    lines = []
    environments = batch.get("compute_environments") or {}
    for name, environment in environments.items():
        node = _mermaid_id(f"ce_{name}")
        resources = environment.get("computeResources") or {}
        lines.append(f'  {node}[["Batch {name}<br/>{resources.get("type", "")} min {resources.get("minvCpus")} vCPUs"]]')
        for subnet_id in resources.get("subnets") or []:
            lines.append(f"  {node} --> {_mermaid_id(subnet_id)}")
        for group_id in resources.get("securityGroupIds") or []:
            lines.append(f"  {node} -.- {_mermaid_id(group_id)}")
    for name, queue in (batch.get("job_queues") or {}).items():
        node = _mermaid_id(f"jq_{name}")
        lines.append(f'  {node}>"queue {name}"]')
        for entry in sorted(queue.get("computeEnvironmentOrder") or [], key=lambda e: e.get("order", 0)):
            target = str(entry.get("computeEnvironment", "")).rsplit("/", 1)[-1]
            lines.append(f'  {node} -- "{entry.get("order")}" --> {_mermaid_id(f"ce_{target}")}')
    return lines


def controls_summary(results):
    count = {status: len([r for r in results if r["status"] == status]) for status in ("pass", "fail", "not evaluated")}
    return {"total": len(results), "evaluated": count["pass"] + count["fail"], "passed": count["pass"],
            "failed": count["fail"], "not_evaluated": count["not evaluated"]}


def control_failures(results):
    """One line per failed control, as verify prints them."""
    return [
        f"{r['id']} FAIL {r['title']}: {r['resource']}: found {r['found']} (repair: {r['repair']})"
        for r in results
        if r["status"] == "fail"
    ]


def markdown_cell(value):
    """Text safe inside one Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", "<br>")


class FilterModule:
    def filters(self):
        return {
            "network_controls": network_controls,
            "identity_controls": identity_controls,
            "storage_controls": storage_controls,
            "registry_controls": registry_controls,
            "batch_controls": batch_controls,
            "audit_controls": audit_controls,
            "access_controls": access_controls,
            "vpn_pki_control": vpn_pki_control,
            "network_diagram": network_diagram,
            "controls_summary": controls_summary,
            "control_failures": control_failures,
            "markdown_cell": markdown_cell,
        }
