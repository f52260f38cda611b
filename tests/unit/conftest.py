"""Fixtures of the unit tests."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer


@pytest.fixture
def emulated_tag_calls(monkeypatch):
    """moto in-process with the local cloud's correction 12: GuardDuty's and Security Hub's tag calls,
    which moto does not serve as it ships."""
    from support.local_cloud_emulator import EMULATOR

    for target, name, value in EMULATOR["tag_call_patches"]():
        if isinstance(target, dict):
            monkeypatch.setitem(target, name, value)
        else:
            monkeypatch.setattr(target, name, value, raising=False)


@pytest.fixture
def emulated_group_dependencies(monkeypatch):
    """moto in-process with the local cloud's correction 13: a security group another group's rule names
    cannot be deleted, as on AWS."""
    from moto.ec2.models.security_groups import SecurityGroupBackend

    from support.local_cloud_emulator import EMULATOR

    monkeypatch.setattr(SecurityGroupBackend, "_delete_security_group", EMULATOR["delete_security_group"])


@pytest.fixture
def mocked_aws(monkeypatch):
    """moto in-process, with nothing of the caller's environment (an endpoint, a profile) leaking in."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def ec2(mocked_aws):
    """An EC2 client of the mocked account, for the EC2 modules' tests."""
    yield boto3.client("ec2", region_name="us-east-1")


@pytest.fixture
def vpc_id(ec2):
    """A bare VPC, 10.0.0.0/16."""
    return ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


@pytest.fixture(scope="module")
def emulator():
    """The URL of a moto server in this process, for tests that put a proxy in front of it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
