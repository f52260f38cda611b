# -*- coding: utf-8 -*-
"""Filters of the openvpn role (pure functions; tests/unit/test_openvpn_filters.py)."""

from __future__ import annotations

import ipaddress
import re

_USER = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")


def _ipv4_network(value):
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None
    return network if network.version == 4 else None


def openvpn_input_errors(values):
    """Every problem with the openvpn role's inventory: users, passphrase, remote, ranges."""
    errors = []
    if len(str(values.get("ca_passphrase") or "")) < 16:
        errors.append("openvpn_ca_passphrase must be set (16 characters or more), from ansible-vault or "
                      "Secrets Manager: it encrypts the CA key")
    users = values.get("users") or []
    if not users:
        errors.append("openvpn_users is empty: nobody could connect")
    errors += [f"openvpn_users: '{user}' is not a valid name (lower case letters, digits, . _ -)"
               for user in users if not _USER.match(str(user))]
    errors += [f"openvpn_users: {user} is listed twice" for user in sorted({u for u in users if users.count(u) > 1})]
    if not str(values.get("remote_host") or ""):
        errors.append("openvpn_remote_host is empty: the profiles need the address clients connect to")
    if _ipv4_network(values.get("client_cidr")) is None:
        errors.append(f"openvpn_client_cidr '{values.get('client_cidr')}' is not an IPv4 network")
    errors += [f"openvpn_routes: '{route}' is not an IPv4 network" for route in values.get("routes") or []
               if _ipv4_network(route) is None]
    return errors


def openvpn_network_mask(cidr):
    """'10.8.0.0/24' -> '10.8.0.0 255.255.255.0', as OpenVPN's server and route directives want it."""
    network = ipaddress.ip_network(str(cidr), strict=True)
    return f"{network.network_address} {network.netmask}"


class FilterModule:
    def filters(self):
        return {
            "openvpn_input_errors": openvpn_input_errors,
            "openvpn_network_mask": openvpn_network_mask,
        }
