# -*- coding: utf-8 -*-
"""Filters of the openvpn role (pure functions; tests/unit/test_openvpn_filters.py)."""

from __future__ import annotations

import base64
import ipaddress
import re
from urllib.parse import quote

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
    errors += [f"openvpn_ssh_hosts: '{host}' is not an IPv4 address" for host in values.get("ssh_hosts") or []
               if "/" in str(host) or _ipv4_network(host) is None]
    return errors


def openvpn_network_mask(cidr):
    """'10.8.0.0/24' -> '10.8.0.0 255.255.255.0', as OpenVPN's server and route directives want it."""
    network = ipaddress.ip_network(str(cidr), strict=True)
    return f"{network.network_address} {network.netmask}"


def openvpn_slurped(results):
    """{item: decoded content} of a looped slurp's results, leaving out the files not read (check mode)."""
    return {result["item"]: base64.b64decode(result["content"]).decode()
            for result in results if "content" in result}


def openvpn_totp_users(current, secrets, digits=6, period=30):
    """pam_oath's users file for ``secrets`` ({user: hex secret}), one line per user.

    pam_oath records each user's last accepted code and its time at the end of
    the user's line (its protection against replay). A user whose secret is
    unchanged keeps the line as it is, so a run that changes nothing writes
    nothing and a used code stays used; new or changed users get a fresh line,
    and users no longer listed are dropped.
    """
    token = f"HOTP/T{int(period)}/{int(digits)}"
    kept = {}
    for line in str(current or "").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == token:
            kept[fields[1]] = (fields[3].lower(), line)
    lines = []
    for user in sorted(secrets):
        secret = str(secrets[user]).strip().lower()
        found = kept.get(user)
        lines.append(found[1] if found and found[0] == secret else f"{token} {user} - {secret}")
    return "".join(f"{line}\n" for line in lines)


def openvpn_totp_uri(secret_hex, user, issuer, digits=6, period=30):
    """The otpauth:// URI an authenticator app reads (as a QR code or typed), for a hex secret."""
    secret = base64.b32encode(bytes.fromhex(str(secret_hex).strip())).decode().rstrip("=")
    label = quote(f"{issuer}:{user}", safe=":@")
    return (f"otpauth://totp/{label}?secret={secret}&issuer={quote(str(issuer), safe='')}"
            f"&algorithm=SHA1&digits={int(digits)}&period={int(period)}")


class FilterModule:
    def filters(self):
        return {
            "openvpn_input_errors": openvpn_input_errors,
            "openvpn_network_mask": openvpn_network_mask,
            "openvpn_slurped": openvpn_slurped,
            "openvpn_totp_uri": openvpn_totp_uri,
            "openvpn_totp_users": openvpn_totp_users,
        }
