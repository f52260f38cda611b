"""The access phase's filters and the host roles' filters: inventory checks, images, moduli, OpenVPN."""

from __future__ import annotations

import pytest

from access import access_input_errors, access_newest_image, access_vpc_resolver, management_nacl_rules
from audit import log_delivery_policy
from bastion import bastion_strong_moduli
from openvpn import openvpn_input_errors, openvpn_network_mask, openvpn_slurped, openvpn_totp_uri, openvpn_totp_users

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJW2o9LLoDMJbf1VPahkp+9U4bqk0IXKVYjFCjmYMlFC admin@example"
GOOD = {"vpc_cidr": "10.1.0.0/16", "public_subnet_cidr": "10.1.0.0/24", "private_subnet_cidr": "10.1.1.0/24",
        "vpn_client_cidr": "10.8.0.0/24", "openvpn_private_ip": "10.1.0.10", "bastion_private_ip": "10.1.1.10", "ssh_admin_cidrs": ["203.0.113.0/24"], "vpn_allowed_cidrs": ["0.0.0.0/0"],
        "vpn_port": 1194, "key_pair_public_key": KEY, "ami_id": "", "production_cidr": "10.0.0.0/16",
        "https_client_cidrs": ["10.1.0.10/32"], "interface_endpoints": ["ecr.api", "s3"]}


def test_a_sound_access_inventory_has_no_problem():
    assert access_input_errors(GOOD) == []


@pytest.mark.parametrize("change, problem", [
    ({"ssh_admin_cidrs": ["0.0.0.0/0"]}, "'0.0.0.0/0' would open SSH to the whole internet"),
    ({"ssh_admin_cidrs": ["::/0"]}, "'::/0' would open SSH to the whole internet"),
    ({"ssh_admin_cidrs": []}, "access_ssh_admin_cidrs is empty"),
    ({"vpn_allowed_cidrs": []}, "access_vpn_allowed_cidrs is empty"),
    ({"ssh_admin_cidrs": ["203.0.113.5/24"]}, "'203.0.113.5/24' is not a CIDR block"),
    ({"vpc_cidr": "10.0.0.0/16"}, "overlaps the production VPC 10.0.0.0/16"),
    ({"public_subnet_cidr": "10.2.0.0/24"}, "is not inside access_vpc_cidr"),
    ({"vpn_client_cidr": "10.1.128.0/24"}, "overlaps the management VPC"),
    ({"openvpn_private_ip": "10.1.0.2"}, "is not a usable address of the public subnet"),
    ({"openvpn_private_ip": "10.1.0.255"}, "is not a usable address of the public subnet"),
    ({"private_subnet_cidr": "10.2.1.0/24"}, "access_private_subnet_cidr 10.2.1.0/24 is not inside access_vpc_cidr"),
    ({"private_subnet_cidr": "10.1.0.128/25"}, "overlaps access_public_subnet_cidr 10.1.0.0/24"),
    ({"bastion_private_ip": "10.1.0.20"}, "access_bastion_private_ip 10.1.0.20 is not a usable address of the private subnet"),
    ({"bastion_private_ip": "bastion"}, "access_bastion_private_ip 'bastion' is not an IPv4 address"),
    ({"https_client_cidrs": []}, "network_https_client_cidrs must include 10.1.0.10/32"),
    ({"interface_endpoints": ["ecr.api"]}, "network_interface_endpoints_extra must include s3"),
    ({"vpn_port": 70000}, "access_vpn_port '70000' is not a port number"),
    ({"key_pair_public_key": "-----BEGIN OPENSSH PRIVATE KEY-----"}, "must be an OpenSSH public key"),
    ({"ami_id": "debian"}, "access_ami_id must be an AMI ID"),
])
def test_each_access_inventory_problem_is_named(change, problem):
    errors = access_input_errors({**GOOD, **change})
    assert any(problem in error for error in errors), errors


def test_the_newest_image_is_chosen_by_creation_date_and_none_found_is_empty():
    images = [{"image_id": "ami-1", "creation_date": "2026-01-02T00:00:00.000Z"},
              {"image_id": "ami-2", "creation_date": "2026-10-01T00:00:00.000Z"}]
    assert access_newest_image(images)["image_id"] == "ami-2"
    assert access_newest_image([]) == {}


def test_the_vpc_resolver_is_the_base_address_plus_two():
    assert access_vpc_resolver("10.1.0.0/16") == "10.1.0.2"


def test_weak_diffie_hellman_groups_are_dropped_from_the_moduli():
    moduli = "\n".join([
        "# Time Type Tests Tries Size Generator Modulus",
        "20230315 2 6 100 2047 5 C0FFEE",
        "20230315 2 6 100 3071 2 BADC0DE",
        "20230315 2 6 100 8191 2 FACADE",
    ])
    kept = bastion_strong_moduli(moduli, 3071).splitlines()
    assert kept[0].startswith("#")
    assert [line.split()[4] for line in kept[1:]] == ["3071", "8191"]


def test_a_sound_openvpn_inventory_has_no_problem():
    values = {"ca_passphrase": "x" * 32, "users": ["alice", "bob"], "remote_host": "vpn.example.org",
              "client_cidr": "10.8.0.0/24", "routes": ["10.0.0.0/20"], "ssh_hosts": ["10.1.1.10"]}
    assert openvpn_input_errors(values) == []


def test_each_openvpn_inventory_problem_is_named():
    errors = openvpn_input_errors({"ca_passphrase": "short", "users": ["Alice", "bob", "bob"], "remote_host": "",
                                   "client_cidr": "10.8.0.1/24", "routes": ["10.0.0.0/33"],
                                   "ssh_hosts": ["10.1.1.0/24", "bastion"]})
    assert len(errors) == 8, errors
    assert any("openvpn_ssh_hosts: '10.1.1.0/24' is not an IPv4 address" in e for e in errors)
    assert any("openvpn_ssh_hosts: 'bastion' is not an IPv4 address" in e for e in errors)
    assert any("openvpn_ca_passphrase must be set" in e for e in errors)
    assert any("'Alice' is not a valid name" in e for e in errors)
    assert any("bob is listed twice" in e for e in errors)
    assert any("openvpn_remote_host is empty" in e for e in errors)
    assert any("openvpn_client_cidr '10.8.0.1/24'" in e for e in errors)
    assert any("'10.0.0.0/33' is not an IPv4 network" in e for e in errors)
    assert openvpn_input_errors({"ca_passphrase": "x" * 16, "users": [], "remote_host": "h", "client_cidr": "10.8.0.0/24"}) \
        == ["openvpn_users is empty: nobody could connect"]


def test_openvpn_wants_network_and_mask():
    assert openvpn_network_mask("10.0.16.0/20") == "10.0.16.0 255.255.240.0"


def test_the_management_nacl_admits_only_the_declared_ranges_and_replies_and_no_administration_port_from_anywhere():
    rules = management_nacl_rules({"vpc_cidr": "10.1.0.0/16", "production_cidrs": ["10.0.0.0/20", "10.0.16.0/20"],
                                   "ssh_cidrs": ["203.0.113.0/24"], "vpn_cidrs": ["198.51.100.0/24", "192.0.2.0/24"],
                                   "vpn_port": 1194})
    ingress = {(r[1], r[3], r[6], r[7]) for r in rules["ingress"]}
    assert ("tcp", "203.0.113.0/24", 22, 22) in ingress
    assert {("udp", "198.51.100.0/24", 1194, 1194), ("udp", "192.0.2.0/24", 1194, 1194)} <= ingress
    from_anywhere = sorted((low, high) for protocol, cidr, low, high in ingress if cidr == "0.0.0.0/0")
    assert from_anywhere == [(1024, 3388), (3390, 65535)], "replies only, RDP's 3389 and SSH's 22 left out"
    assert ("all", "10.1.0.0/16", 0, 65535) in ingress and ("tcp", "10.0.16.0/20", 1024, 65535) in ingress
    egress = {(r[1], r[3], r[6], r[7]) for r in rules["egress"]}
    assert {(p, c, lo, hi) for p, c, lo, hi in egress if c == "0.0.0.0/0"} == {("tcp", "0.0.0.0/0", 443, 443)}, "HTTPS only"
    assert ("tcp", "10.0.0.0/20", 443, 443) in egress and ("udp", "192.0.2.0/24", 1024, 65535) in egress
    for direction in rules.values():
        numbers = [r[0] for r in direction]
        assert len(numbers) == len(set(numbers)) and all(r[2] == "allow" for r in direction)


def test_the_management_nacl_sends_https_only_to_the_declared_ranges_and_takes_their_replies_only():
    mirrors = ["198.18.0.0/24", "198.18.8.0/24"]
    rules = management_nacl_rules({"vpc_cidr": "10.1.0.0/16", "production_cidrs": ["10.0.0.0/20"], "ssh_cidrs": ["203.0.113.0/24"],
                                   "vpn_cidrs": ["0.0.0.0/0"], "vpn_port": 1194, "https_cidrs": mirrors})
    egress = {(r[1], r[3], r[6], r[7]) for r in rules["egress"]}
    assert {rule for rule in egress if rule[2] == 443} == {("tcp", cidr, 443, 443) for cidr in mirrors + ["10.0.0.0/20"]}
    replies = {(r[3], r[6], r[7]) for r in rules["ingress"] if r[1] == "tcp" and r[3] in mirrors}
    assert replies == {(cidr, low, high) for cidr in mirrors for low, high in [(1024, 3388), (3390, 65535)]}
    assert not [r for r in rules["ingress"] if r[1] == "tcp" and r[3] == "0.0.0.0/0"], "no TCP from anywhere"
    for direction in rules.values():
        numbers = [r[0] for r in direction]
        assert len(numbers) == len(set(numbers))


@pytest.mark.parametrize("cidrs, words", [
    ([], "access_host_https_egress_cidrs is empty"),
    (["10.0.0.1/24"], "access_host_https_egress_cidrs: '10.0.0.1/24' is not a CIDR block"),
    ([f"198.18.{n}.0/24" for n in range(11)], "lists 11 ranges; the management NACL numbers at most 10"),
])
def test_the_hosts_https_ranges_are_checked_before_any_change(cidrs, words):
    errors = access_input_errors({**GOOD, "https_egress_cidrs": cidrs})
    assert [e for e in errors if words in e], errors


def test_the_hosts_may_write_sessions_into_their_one_log_group_and_find_it():
    policy = log_delivery_policy({"partition": "aws", "account_id": "111122223333", "region": "eu-west-1",
                                  "log_group": "/aws/ssm/sessions/rnaseq", "find_log_group": True})
    write, find = policy["Statement"]
    group = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/ssm/sessions/rnaseq"
    assert write["Resource"] == [group, f"{group}:*"] and "logs:DeleteLogGroup" not in write["Action"]
    assert set(write["Action"]) == {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
    assert find["Action"] == "logs:DescribeLogGroups"


def test_totp_users_file_keeps_pam_oaths_replay_record_and_drops_former_users():
    # pam_oath appended alice's last code and its time; bob's secret changed; carol left.
    current = ("HOTP/T30/6 alice - 00ff00ff 123456 2026-12-04T12:00:00L\n"
               "HOTP/T30/6 bob - aaaa\n"
               "HOTP/T30/6 carol - bbbb\n")
    wanted = openvpn_totp_users(current, {"bob": "CCCC", "alice": "00FF00FF"})
    assert wanted == ("HOTP/T30/6 alice - 00ff00ff 123456 2026-12-04T12:00:00L\n"
                      "HOTP/T30/6 bob - cccc\n")
    # Nothing to change: the same text, so the task reports no change.
    assert openvpn_totp_users(wanted, {"alice": "00ff00ff", "bob": "cccc"}) == wanted
    assert openvpn_totp_users("", {}) == ""


def test_totp_uri_carries_the_secret_in_base32():
    # RFC 6238's test secret, "12345678901234567890" in hex.
    uri = openvpn_totp_uri("3132333435363738393031323334353637383930", "alice", "RNA-seq VPN (production)")
    assert uri.startswith("otpauth://totp/RNA-seq%20VPN%20%28production%29:alice?")
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&" in uri
    assert uri.endswith("&algorithm=SHA1&digits=6&period=30")


def test_slurped_maps_each_item_to_its_text_and_leaves_out_files_not_read():
    results = [{"item": "alice", "content": "czNjcmV0"}, {"item": "bob", "failed": True}]
    assert openvpn_slurped(results) == {"alice": "s3cret"}
