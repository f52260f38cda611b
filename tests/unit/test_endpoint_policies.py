"""The VPC endpoints' policies, as rendered into the endpoint stack, turned
into decisions (module_utils/toolkit_policy.py): the pipeline's own calls are
allowed, and nothing reaches another account's bucket or is made by another
account's principal. The emulator keeps endpoint policies but does not
enforce them, so this is where they are proven."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from support.cfn import pseudo_parameters, resolve
from support.module_harness import toolkit_aws  # noqa: F401  (loads module_utils under Ansible's names)

toolkit_policy = __import__("ansible.module_utils.toolkit_policy", fromlist=["decide"])

REPO = Path(__file__).resolve().parents[2]
ACCOUNT, FOREIGN, REGION = "210987654321", "123456789012", "eu-west-2"
_loader = importlib.machinery.SourceFileLoader("render_endpoints_template", str(REPO / "scripts" / "render-endpoints-template"))
_spec = importlib.util.spec_from_loader(_loader.name, _loader)
renderer = importlib.util.module_from_spec(_spec)
_loader.exec_module(renderer)


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags, kept as their long forms."""


for _tag, _name in (("!Ref", "Ref"), ("!Sub", "Fn::Sub")):
    _CfnLoader.add_constructor(_tag, lambda loader, node, name=_name: {name: loader.construct_scalar(node)})


@pytest.fixture(scope="module")
def policies():
    """Each endpoint's policy by service, with the extended endpoint list (S3's interface endpoint included)."""
    template = yaml.load(renderer.render(["kms", "ssm", "s3"], 2), Loader=_CfnLoader)
    pseudo = pseudo_parameters(ACCOUNT, REGION)
    found = {}
    for resource in template["Resources"].values():
        props = resource["Properties"]
        service = props["ServiceName"]["Fn::Sub"].split("${AWS::Region}.", 1)[1]
        kind = props["VpcEndpointType"].lower()
        assert "PolicyDocument" in props, f"{service} ({kind}) has AWS's default policy"
        found[(service, kind)] = resolve(props["PolicyDocument"], pseudo)
    return found


def allowed(policy, action, resource, caller=ACCOUNT, owner=ACCOUNT):
    context = {"aws:PrincipalAccount": caller}
    if owner:
        context["aws:ResourceAccount"] = owner
    request = {"action": action, "resource": resource, "account": caller,
               "principal": f"arn:aws:iam::{caller}:role/rnaseq-batch-job-role", "context": context}
    return toolkit_policy.decide(policy, request) == toolkit_policy.ALLOW


DATA = "arn:aws:s3:::rnaseq-hipaa-data-bucket/raw-data/sample_R1.fastq.gz"
ELSEWHERE = "arn:aws:s3:::exfiltration-target/sample_R1.fastq.gz"
ECR_LAYER = f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/layer"


def test_every_endpoint_has_a_policy_within_aws_size_limit(policies):
    assert {service for service, _ in policies} >= {"s3", "ecr.api", "ecr.dkr", "ecs", "logs", "sts", "kms", "ssm"}
    for key, policy in policies.items():
        assert len(json.dumps(policy, indent=2)) < 20480, key


def test_through_the_s3_gateway_the_pipeline_reads_and_writes_its_buckets_and_pulls_image_layers(policies):
    gateway = policies[("s3", "gateway")]
    assert allowed(gateway, "s3:GetObject", DATA)
    assert allowed(gateway, "s3:PutObject", "arn:aws:s3:::rnaseq-hipaa-data-bucket/results/counts.tsv")
    assert allowed(gateway, "s3:ListBucket", "arn:aws:s3:::rnaseq-hipaa-data-bucket")
    # ECR hands out layer URLs it signed itself: no caller account of ours.
    assert allowed(gateway, "s3:GetObject", ECR_LAYER, caller="999999999999", owner=None)
    assert allowed(gateway, "s3:GetObject", f"arn:aws:s3:::al2023-repos-{REGION}-de612dc2/core/mirror.list", owner=None)


def test_through_the_s3_gateway_nothing_reaches_another_accounts_bucket_or_writes_to_aws_ones(policies):
    gateway = policies[("s3", "gateway")]
    assert not allowed(gateway, "s3:PutObject", ELSEWHERE, owner=FOREIGN)
    assert not allowed(gateway, "s3:GetObject", ELSEWHERE, owner=FOREIGN)
    assert not allowed(gateway, "s3:PutObject", ECR_LAYER, owner=None)
    # The AWS-owned buckets are named for this region only.
    assert not allowed(gateway, "s3:GetObject", "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/layer", owner=None)
    # Another account's credentials, used from inside the VPC, reach nothing of ours either.
    assert not allowed(gateway, "s3:GetObject", DATA, caller=FOREIGN)


def test_s3_interface_endpoint_admits_this_accounts_principals_to_its_buckets_only(policies):
    interface = policies[("s3", "interface")]
    assert allowed(interface, "s3:PutObject", DATA)
    assert not allowed(interface, "s3:PutObject", ELSEWHERE, owner=FOREIGN)
    assert not allowed(interface, "s3:GetObject", ECR_LAYER, owner=None)
    assert not allowed(interface, "s3:GetObject", DATA, caller=FOREIGN)


@pytest.mark.parametrize("service,action", [
    ("sts", "sts:AssumeRole"), ("logs", "logs:PutLogEvents"), ("ecr.api", "ecr:GetAuthorizationToken"),
    ("ecr.dkr", "ecr:BatchGetImage"), ("ecs", "ecs:RegisterContainerInstance"), ("kms", "kms:Decrypt")])
def test_interface_endpoints_admit_this_accounts_principals_only(policies, service, action):
    policy = policies[(service, "interface")]
    assert allowed(policy, action, "*", owner=None)
    assert not allowed(policy, action, "*", caller=FOREIGN, owner=None)
