"""Bad input to the network phase: one clear message, before any change.

Each case runs the playbook as a user would (default output), then checks
the message, the absence of a Python traceback, and that the emulator saw
no write call.
"""

from __future__ import annotations

import socket

import pytest

from support.cloud import run_playbook
from support.refusals import assert_refused


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CASES = {
    "invalid VPC CIDR": ({"network_vpc_cidr": "10.0.0.0/33"}, "VPC CIDR '10.0.0.0/33' is not a valid IPv4 CIDR block"),
    "VPC CIDR with host bits": ({"network_vpc_cidr": "10.0.0.1/16"}, "did you mean 10.0.0.0/16?"),
    "public VPC CIDR": ({"network_vpc_cidr": "8.8.0.0/16"}, "is not a private range"),
    "subnet outside the VPC": (
        {"network_private_subnets": [{"name": "a", "cidr": "10.0.0.0/20"}, {"name": "b", "cidr": "10.9.0.0/20"}]},
        "Subnet b CIDR 10.9.0.0/20 is outside the VPC CIDR 10.0.0.0/16",
    ),
    "overlapping subnets": (
        {"network_private_subnets": [{"name": "a", "cidr": "10.0.0.0/20"}, {"name": "b", "cidr": "10.0.8.0/21"}]},
        "Subnets a (10.0.0.0/20) and b (10.0.8.0/21) overlap",
    ),
    "zone not in the region": (
        {"network_availability_zones": ["us-east-1a", "eu-west-1a"]},
        "availability zone eu-west-1a is not an available zone of this region",
    ),
    "two subnets in one zone": (
        {"network_availability_zones": ["us-east-1a", "us-east-1a"]},
        "interface endpoints need one subnet per zone",
    ),
    "unknown endpoint service": ({"network_interface_endpoints_extra": ["no-such-service"]}, "offers no VPC endpoint service no-such-service"),
    "HTTPS clients from the whole internet": ({"network_https_client_cidrs": ["0.0.0.0/0"]}, "admits the whole internet"),
    "subnet without a CIDR": (
        {"network_private_subnets": [{"name": "a"}, {"name": "b", "cidr": "10.0.16.0/20"}]},
        "missing required arguments: cidr",
    ),
    "wrong account": ({"toolkit_aws_account_id": "111111111111"}, "Wrong AWS account"),
}


@pytest.fixture(scope="module")
def empty_cloud(local_cloud):
    local_cloud.reset()
    return local_cloud


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_network_input_fails_with_one_clear_message_and_changes_nothing(empty_cloud, case):
    extra_vars, message = CASES[case]
    assert_refused(empty_cloud, "playbooks/network.yml", extra_vars, message)
    assert empty_cloud.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Project", "Values": ["rna-seq-hipaa"]}])["Vpcs"] == []


def test_no_credentials_fail_with_one_line_naming_the_fix(empty_cloud, tmp_path):
    connection = {"region": "us-east-1", "endpoint_url": empty_cloud.endpoint}
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    run = run_playbook(empty_cloud, "playbooks/network.yml", extra_vars={"toolkit_aws_connection": connection}, env=env,
                       json_output=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "No AWS credentials found" in output, run.explain()
    assert "Traceback" not in output


def test_an_unreachable_endpoint_fails_with_one_line_naming_it(empty_cloud):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    run = run_playbook(empty_cloud, "playbooks/network.yml", env={"AWS_ENDPOINT_URL": endpoint}, json_output=False)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert f"Cannot reach the endpoint {endpoint}" in output, run.explain()
    assert "Is the local cloud running?" in output
    assert "Traceback" not in output


def test_a_real_account_inventory_with_the_placeholder_account_id_says_to_set_it(empty_cloud):
    run = run_playbook(empty_cloud, "playbooks/network.yml", inventory="inventories/production", json_output=False)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "toolkit_aws_account_id is still the placeholder 000000000000" in output, run.explain()


def test_a_real_account_inventory_refuses_a_leftover_emulator_endpoint(empty_cloud):
    run = run_playbook(empty_cloud, "playbooks/network.yml", inventory="inventories/production",
                       extra_vars={"toolkit_aws_account_id": "123456789012"}, json_output=False)
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "A custom AWS endpoint is set" in output, run.explain()
