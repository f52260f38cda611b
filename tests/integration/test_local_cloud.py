"""scripts/local-cloud: start, reuse, status, stop, on loopback only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request

import boto3
import botocore.exceptions
import pytest

from support.cloud import LOCAL_CLOUD


def local_cloud(state_dir, *args, port="auto"):
    env = dict(os.environ, LOCAL_CLOUD_DIR=str(state_dir), LOCAL_CLOUD_PORT=str(port))
    return subprocess.run([str(LOCAL_CLOUD), *args], env=env, capture_output=True, text=True, timeout=60)


def exports(stdout):
    return dict(line[len("export "):].split("=", 1) for line in stdout.splitlines() if line.startswith("export "))


def test_start_prints_export_lines_for_a_working_loopback_emulator(tmp_path):
    started = local_cloud(tmp_path, "start")
    try:
        assert started.returncode == 0, started.stderr
        env = exports(started.stdout)
        assert set(env) >= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
                            "LOCAL_CLOUD_REGISTRY"}
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert "unset AWS_PROFILE AWS_SESSION_TOKEN" in started.stdout
        assert all(not line or line.startswith(("export ", "unset ")) for line in started.stdout.splitlines())
        sts = boto3.client("sts", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                           aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        assert len(sts.get_caller_identity()["Account"]) == 12

        again = local_cloud(tmp_path, "start")
        assert again.returncode == 0 and "already running" in again.stderr
        assert exports(again.stdout) == env
        assert local_cloud(tmp_path, "status").returncode == 0
        assert exports(local_cloud(tmp_path, "env").stdout) == env
        assert oct(tmp_path.stat().st_mode & 0o777) == "0o700"

        # reset: an empty account, and only the stand-ins in the registry.
        sts.get_caller_identity()
        ec2 = boto3.client("ec2", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ec2.create_vpc(CidrBlock="10.9.0.0/16")
        subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                        f"docker://{env['LOCAL_CLOUD_REGISTRY']}/biocontainers/fastqc:0.12.1--hdfd78af_0",
                        f"docker://{env['LOCAL_CLOUD_REGISTRY']}/extra/fastqc:1"], check=True)
        assert local_cloud(tmp_path, "reset").returncode == 0
        assert [v for v in ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16"] == []
        with urllib.request.urlopen(f"http://{env['LOCAL_CLOUD_REGISTRY']}/v2/_catalog") as response:
            catalog = json.loads(response.read())["repositories"]
        assert catalog == sorted([f"biocontainers/{name}" for name in ("fastqc", "multiqc", "salmon", "star", "subread")]
                                 + ["nextflow/nextflow"])
    finally:
        stopped = local_cloud(tmp_path, "stop")
    assert stopped.returncode == 0
    assert local_cloud(tmp_path, "status").returncode == 3
    assert local_cloud(tmp_path, "env").returncode == 1


def test_start_refuses_a_port_in_use_with_a_way_out(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = local_cloud(tmp_path, "start", port=port)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "LOCAL_CLOUD_PORT=auto" in result.stderr
    assert result.stdout == ""


def test_unknown_commands_print_usage(tmp_path):
    result = local_cloud(tmp_path, "launch")
    assert result.returncode == 2 and "scripts/local-cloud start" in result.stderr


def test_with_tls_the_emulator_serves_https_under_a_certificate_of_its_own_and_enforces_bucket_policies(tmp_path):
    env = dict(os.environ, LOCAL_CLOUD_DIR=str(tmp_path), LOCAL_CLOUD_PORT="auto", LOCAL_CLOUD_TLS="1")
    started = subprocess.run([str(LOCAL_CLOUD), "start"], env=env, capture_output=True, text=True, timeout=60)
    try:
        assert started.returncode == 0, started.stderr
        exported = exports(started.stdout)
        assert exported["AWS_ENDPOINT_URL"].startswith("https://127.0.0.1:")
        assert exported["AWS_CA_BUNDLE"] == str(tmp_path / "tls" / "cert.pem")
        assert oct((tmp_path / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"

        def client(service, verify):
            return boto3.client(service, endpoint_url=exported["AWS_ENDPOINT_URL"], region_name=exported["AWS_REGION"],
                                aws_access_key_id="testing", aws_secret_access_key="testing", verify=verify)

        s3 = client("s3", exported["AWS_CA_BUNDLE"])
        s3.create_bucket(Bucket="tls-only")
        s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::tls-only/*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        # Over TLS, a TLS-only bucket policy lets the call through, as on AWS (moto alone refuses it).
        s3.put_object(Bucket="tls-only", Key="k", Body=b"v")
        assert s3.get_object(Bucket="tls-only", Key="k")["Body"].read() == b"v"
        # The certificate is the local cloud's own: a client that trusts only the usual authorities refuses it.
        with pytest.raises(botocore.exceptions.SSLError):
            client("sts", True).get_caller_identity()
    finally:
        subprocess.run([str(LOCAL_CLOUD), "stop"], env=env, capture_output=True, timeout=60)
