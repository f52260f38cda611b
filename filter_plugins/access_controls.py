# -*- coding: utf-8 -*-
"""The access phase's controls (ACC-*): the management VPC, its peering, the
hosts' groups, addresses and role, and the VPN's PKI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
import sys

# Ansible loads plugins by path: make filter_plugins/controls.py, the shared part, importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

import controls as shared  # noqa: E402
from network_controls import (  # noqa: E402
    _ports,
    _open_to_the_world,
    _named,
    _permission_targets,
    _describe_permission,
    _default_group_result,
)


CONTROLS = {
    c.id: c
    for c in [
        shared.Control("ACC-01", "The management VPC exists with its CIDR, apart from production", "access", "management_vpc",
                [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY]),
        shared.Control("ACC-02", "One active peering connects the management VPC and production, and nothing else peers with it",
                "access", "peering", [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY]),
        shared.Control("ACC-03", "The management routes reach only production's private subnets over the peering and the internet "
                "gateway, both from the public subnet; no other route table has a route out but the private subnet's",
                "access", "peering", [shared.TRANSMISSION_SECURITY], ["CIS AWS 5.5"]),
        shared.Control("ACC-04", "The bastion admits SSH only from the VPN host", "access", "security_groups",
                [shared.ACCESS_CONTROL, shared.AUTHENTICATION], ["CIS AWS 5.2", "AWS FSBP EC2.13"]),
        shared.Control("ACC-05", "The VPN host admits OpenVPN only from its allowed ranges and SSH only from the administrators' "
                "ranges", "access", "security_groups", [shared.ACCESS_CONTROL, shared.AUTHENTICATION], ["CIS AWS 5.2", "AWS FSBP EC2.13"]),
        shared.Control("ACC-06", "The bastion and the VPN host run, require IMDSv2 and carry the Session Manager profile",
                "access", "instances", [shared.ACCESS_CONTROL], ["CIS AWS 5.6", "AWS FSBP EC2.8"]),
        shared.Control("ACC-07", "The management VPC's default security group restricts all traffic", "access", "security_groups",
                [shared.ACCESS_CONTROL], ["CIS AWS 5.4", "AWS FSBP EC2.2"]),
        shared.Control("ACC-08", "Both management subnets use the management NACL, which holds exactly the declared rules, and no "
                "NACL of the management VPC admits every port, SSH or RDP from 0.0.0.0/0 or ::/0", "access", "nacl",
                [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY], ["CIS AWS 5.1", "AWS FSBP EC2.21"]),
        shared.Control("ACC-09", "The bastion and the VPN host send out exactly the declared traffic: HTTPS to the declared ranges, "
                "the VPN host's HTTPS to production's private subnets and SSH to the bastion; no plain HTTP",
                "access", "security_groups", [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY],
                note="DNS, NTP and instance metadata go to the VPC's own link-local and resolver addresses, which security "
                     "groups do not filter. HTTPS to 0.0.0.0/0 is the default because Debian's mirrors sit behind a CDN "
                     "with no published ranges; access_host_https_egress_cidrs narrows it."),
        shared.Control("ACC-10", "The VPN's CA, server and user certificates and its revocation list stay valid for at least "
                "openvpn_renew_days more (the controller's PKI)", "access", "openvpn",
                [shared.AUTHENTICATION, shared.TRANSMISSION_SECURITY],
                note="Read from the PKI on the controller that runs verify (.pki/<environment>, where access.yml keeps "
                     "it); not evaluated where there is none. access.yml signs again the CRL and any server or user "
                     "certificate with fewer days left; a CA near its end needs a new PKI."),
        shared.Control("ACC-11", "Only the VPN host has a public address: the bastion has none and sits in the private subnet, "
                "which gives none to what it launches", "access", "instances", [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY],
                ["AWS FSBP EC2.9", "AWS FSBP EC2.15"],
                note="The VPN host is AWS FSBP EC2.9's one exception: it is the way in, and admits only OpenVPN and the "
                     "administrators' SSH (ACC-05)."),
        shared.Control("ACC-12", "The private subnet reaches the internet only through the NAT gateway: its route table has no "
                "route to an internet gateway, and no other route", "access", "nat_gateway", [shared.TRANSMISSION_SECURITY],
                note="The bastion's HTTPS to Debian's mirrors leaves through the NAT gateway; its security group and the "
                     "management NACL still let only HTTPS through (ACC-08, ACC-09)."),
        shared.Control("ACC-13", "The hosts' role lets each host create and write its own stream of authentication logs in the "
                "access hosts' log group", "access", "host_iam", [shared.AUDIT_CONTROLS, shared.AUTHENTICATION],
                note="verify reads the role's inline policies, not the hosts: that rsyslog on each host sends sshd's, "
                     "sudo's, su's and PAM's messages there is the bastion role's work, proven by molecule/bastion "
                     "against a local CloudWatch Logs. AUD-06 checks the log group's key and retention."),
    ]
}


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
            decisions = {shared._policy.decide(document, request) for document in documents}
            if shared._policy.ALLOW not in decisions or shared._policy.DENY in decisions:
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
    return _vpn_pki_result(CONTROLS["ACC-10"], pki, baseline)


def access_controls(state, baseline):
    """The access phase's controls: management VPC, peering, routes, the
    hosts' security groups and the hosts themselves."""
    c = CONTROLS
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


class FilterModule:
    def filters(self):
        return {"access_controls": access_controls, "vpn_pki_control": vpn_pki_control}
