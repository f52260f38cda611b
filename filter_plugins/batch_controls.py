# -*- coding: utf-8 -*-
"""The batch phase's controls (BAT-*): the roles and their trust, the launch
template, compute environments, queues and job definitions.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Ansible loads plugins by path: make filter_plugins/controls.py, the shared part, importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

import controls as shared  # noqa: E402


CONTROLS = {
    c.id: c
    for c in [
        shared.Control("BAT-01", "Compute environments run in the private subnets only, with the compute security group only, "
                "and scale to zero", "batch", "compute_environments", [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY]),
        shared.Control("BAT-02", "The instances' launch template assigns no public IP and encrypts every volume with the pipeline "
                "key", "batch", "launch_template", [shared.ENCRYPTION, shared.ACCESS_CONTROL], ["AWS FSBP EC2.25"]),
        shared.Control("BAT-03", "The job queues are enabled and valid, on the toolkit's compute environments in order", "batch",
                "job_queues", [shared.ACCESS_CONTROL]),
        shared.Control("BAT-04", "Every job definition runs its image pinned by digest, with the job role, awslogs, and not privileged",
                "batch", "job_definitions", [shared.INTEGRITY, shared.ACCESS_MANAGEMENT, shared.AUDIT_CONTROLS]),
        shared.Control("BAT-05", "The jobs' log group is encrypted with the pipeline key and keeps its logs long enough", "batch",
                "logs", [shared.AUDIT_CONTROLS, shared.ENCRYPTION]),
        shared.Control("BAT-06", "Containers cannot reach the instance role: the launch template requires IMDSv2 with a hop limit "
                "of 1", "batch", "launch_template", [shared.ACCESS_CONTROL], ["CIS AWS 5.6", "AWS FSBP EC2.170"]),
        shared.Control("BAT-07", "Batch and ECS may assume the service, job and head roles only on behalf of this account's own "
                "resources in this region (aws:SourceAccount and aws:SourceArn)", "batch", "iam", [shared.ACCESS_CONTROL],
                note="The instance role trusts EC2 and the Spot Fleet role trusts Spot Fleet with no condition: neither "
                     "service's guide documents aws:SourceAccount or aws:SourceArn for these roles, and a condition the "
                     "service does not send would stop the compute environments."),
    ]
}


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
    c = CONTROLS
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

    results.append(shared._trusted_roles_result(c["BAT-07"], state.get("roles"), baseline))
    return results


class FilterModule:
    def filters(self):
        return {"batch_controls": batch_controls}
