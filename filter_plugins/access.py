# -*- coding: utf-8 -*-
"""Filters of the access phase: input validation and the hosts' specifications.

Pure functions of their arguments (no AWS calls), so the unit tests in
tests/unit/test_access_filters.py cover them directly.
"""

from __future__ import annotations

import ipaddress
import re

_WORLD = {ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")}
_PUBLIC_KEY = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?$")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")


def _network(value):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


def _cidr_list_errors(values, label, allow_world):
    errors = []
    for value in values or []:
        network = _network(value)
        if network is None:
            errors.append(f"{label}: '{value}' is not a CIDR block (host bits must be zero)")
        elif network in _WORLD and not allow_world:
            errors.append(f"{label}: '{value}' would open SSH to the whole internet; list your administrators' ranges")
    if not values:
        errors.append(f"{label} is empty: name the ranges allowed to connect")
    return errors


def access_input_errors(values):
    """Every problem with the access phase's inventory, as one list of lines.

    `values` holds the role's inputs plus what it needs from the network phase:
    vpc_cidr, public_subnet_cidr, private_subnet_cidr, vpn_client_cidr,
    openvpn_private_ip, bastion_private_ip, ssh_admin_cidrs, vpn_allowed_cidrs, vpn_port, key_pair_public_key, ami_id,
    production_cidr, https_client_cidrs, interface_endpoints, https_egress_cidrs.
    """
    errors = []
    blocks = {}
    for key, label in (("vpc_cidr", "access_vpc_cidr"), ("public_subnet_cidr", "access_public_subnet_cidr"),
                       ("private_subnet_cidr", "access_private_subnet_cidr"),
                       ("vpn_client_cidr", "access_vpn_client_cidr"), ("production_cidr", "network_vpc_cidr")):
        network = _network(values.get(key))
        if network is None or network.version != 4:
            errors.append(f"{label} '{values.get(key)}' is not an IPv4 CIDR block (host bits must be zero)")
        else:
            blocks[key] = network
    if {"vpc_cidr", "production_cidr"} <= blocks.keys() and blocks["vpc_cidr"].overlaps(blocks["production_cidr"]):
        errors.append(f"access_vpc_cidr {blocks['vpc_cidr']} overlaps the production VPC {blocks['production_cidr']}: peering needs distinct ranges")
    for key in ("public_subnet_cidr", "private_subnet_cidr"):
        if {"vpc_cidr", key} <= blocks.keys() and not blocks[key].subnet_of(blocks["vpc_cidr"]):
            errors.append(f"access_{key} {blocks[key]} is not inside access_vpc_cidr {blocks['vpc_cidr']}")
    if {"public_subnet_cidr", "private_subnet_cidr"} <= blocks.keys() and blocks["public_subnet_cidr"].overlaps(blocks["private_subnet_cidr"]):
        errors.append(f"access_private_subnet_cidr {blocks['private_subnet_cidr']} overlaps access_public_subnet_cidr "
                      f"{blocks['public_subnet_cidr']}")
    if "vpn_client_cidr" in blocks:
        for key, label in (("vpc_cidr", "the management VPC"), ("production_cidr", "the production VPC")):
            if key in blocks and blocks["vpn_client_cidr"].overlaps(blocks[key]):
                errors.append(f"access_vpn_client_cidr {blocks['vpn_client_cidr']} overlaps {label} {blocks[key]}")

    addresses = {}
    for key, subnet_key, subnet_label in (("openvpn_private_ip", "public_subnet_cidr", "public"),
                                          ("bastion_private_ip", "private_subnet_cidr", "private")):
        try:
            address = addresses[key] = ipaddress.ip_address(str(values.get(key)))
        except ValueError:
            errors.append(f"access_{key} '{values.get(key)}' is not an IPv4 address")
            continue
        subnet = blocks.get(subnet_key)
        # AWS keeps the first four addresses of a subnet and the last one.
        if subnet is not None and not (address.version == 4 and address in subnet
                                       and 4 <= int(address) - int(subnet.network_address) < subnet.num_addresses - 1):
            errors.append(f"access_{key} {address} is not a usable address of the {subnet_label} subnet {subnet}")
    vpn_ip = addresses.get("openvpn_private_ip")
    if vpn_ip is not None and f"{vpn_ip}/32" not in [str(c) for c in values.get("https_client_cidrs") or []]:
        errors.append(f"network_https_client_cidrs must include {vpn_ip}/32, the address VPN traffic reaches production from; "
                      "add it to the inventory and run playbooks/network.yml")
    if "s3" not in (values.get("interface_endpoints") or []):
        errors.append("network_interface_endpoints_extra must include s3 (the S3 interface endpoint for data uploads over the VPN); "
                      "add it to the inventory and run playbooks/network.yml")

    errors += _cidr_list_errors(values.get("ssh_admin_cidrs"), "access_ssh_admin_cidrs", allow_world=False)
    errors += _cidr_list_errors(values.get("vpn_allowed_cidrs"), "access_vpn_allowed_cidrs", allow_world=True)
    https = values.get("https_egress_cidrs")
    if https is not None:
        errors += [line for line in _cidr_list_errors(https, "access_host_https_egress_cidrs", allow_world=True)
                   if "is empty" not in line]
        if not https:
            errors.append("access_host_https_egress_cidrs is empty: the hosts could fetch no package or security update")
        elif len(https) > 10:
            errors.append(f"access_host_https_egress_cidrs lists {len(https)} ranges; the management NACL numbers at most 10")
    port = values.get("vpn_port")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append(f"access_vpn_port '{port}' is not a port number")
    if not _PUBLIC_KEY.match(str(values.get("key_pair_public_key") or "").strip()):
        errors.append("access_key_pair_public_key must be an OpenSSH public key (ssh-ed25519, ecdsa or ssh-rsa): "
                      "the key of the administrator who configures the hosts")
    ami = str(values.get("ami_id") or "")
    if ami and not _AMI_ID.match(ami):
        errors.append(f"access_ami_id must be an AMI ID (ami-...) or empty, not {ami}")
    return errors


def access_newest_image(images):
    """The newest of the images an AMI lookup found (by creation date), or {}."""
    return max(images or [], key=lambda image: image.get("creation_date", ""), default={})


def access_vpc_resolver(cidr):
    """The Amazon-provided DNS resolver of a VPC: its base address plus two."""
    network = ipaddress.ip_network(str(cidr), strict=True)
    return str(network.network_address + 2)


# Replies to the hosts' own HTTPS come back to an ephemeral port; RDP's 3389
# is left out, so that no rule admits a remote administration port from the
# internet (CIS AWS 5.1).
_REPLY_PORTS = [(1024, 3388), (3390, 65535)]


def management_nacl_rules(scope):
    """The management subnet's NACL entries, as ec2_vpc_nacl wants them.

    `scope`: vpc_cidr (the management VPC), production_cidrs (production's
    private subnets, reached through the peering on HTTPS), ssh_cidrs (the
    administrators' ranges, to the bastion), vpn_cidrs and vpn_port (the
    OpenVPN clients' ranges), https_cidrs (where the hosts' HTTPS may go:
    Debian's mirrors; 0.0.0.0/0 by default). Returns {"ingress": [...], "egress": [...]}:
    [number, protocol, action, cidr, icmp type, icmp code, from port, to port].
    """

    def rule(number, protocol, cidr, ports):
        return [number, protocol, "allow", cidr, None, None, ports[0], ports[1]]

    def numbered(start, protocol, cidrs, ports):
        return [rule(start + 10 * index, protocol, cidr, ports) for index, cidr in enumerate(cidrs)]

    ssh, vpn = list(scope.get("ssh_cidrs") or []), list(scope.get("vpn_cidrs") or [])
    production, port = list(scope["production_cidrs"]), int(scope["vpn_port"])
    https = list(scope.get("https_cidrs") or ["0.0.0.0/0"])
    ingress = (numbered(100, "tcp", ssh, (22, 22)) + numbered(300, "udp", vpn, (port, port))
               + [rule(500, "all", scope["vpc_cidr"], (0, 65535))]
               + numbered(600, "tcp", production, (1024, 65535))
               + [rule(800 + 20 * i + 10 * j, "tcp", cidr, ports)
                  for i, cidr in enumerate(https) for j, ports in enumerate(_REPLY_PORTS)])
    egress = (numbered(100, "tcp", https, (443, 443))
              + numbered(200, "tcp", ssh, (1024, 65535)) + numbered(300, "udp", vpn, (1024, 65535))
              + [rule(500, "all", scope["vpc_cidr"], (0, 65535))]
              + numbered(600, "tcp", production, (443, 443)))
    return {"ingress": ingress, "egress": egress}


class FilterModule:
    def filters(self):
        return {
            "access_input_errors": access_input_errors,
            "access_newest_image": access_newest_image,
            "access_vpc_resolver": access_vpc_resolver,
            "management_nacl_rules": management_nacl_rules,
        }
