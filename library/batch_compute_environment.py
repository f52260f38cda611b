#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: batch_compute_environment
short_description: Manage a list of AWS Batch managed compute environments in one task
description:
  - Creates, updates, disables or deletes managed EC2 or Spot compute environments. The whole list is one
    task, and the run waits once, for all of them together, until Batch has finished with each (unless
    O(wait=false)).
  - One found still C(CREATING), C(UPDATING) or C(DELETING), as a stopped run may leave it, is waited for
    before it is compared, so the task never ends with a compute environment a job queue cannot use yet.
  - A change Batch cannot make in place fails the task before anything is changed, naming each compute
    environment and setting; Batch updates in place the capacity (vCPUs) always, and the rest only for
    compute environments with a C(BEST_FIT_PROGRESSIVE) or C(SPOT_*) allocation strategy.
  - Deleting disables the compute environment first and waits for Batch. One that a job queue still uses
    fails the task before anything is changed, naming the queues (delete them first).
  - Supports check mode and diff.
notes:
  - Why not M(community.aws.batch_compute_environment)? It has no launch template option, so the
    toolkit's template (IMDSv2 with a hop limit of 1, encrypted volumes) could not be used, no
    allocation strategy, and it does not wait for Batch; it takes one compute environment per module
    run.
options:
  compute_environments:
    description: The compute environments.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The compute environment's name.
        type: str
        required: true
      state:
        description: Whether it should exist.
        type: str
        choices: [present, absent]
        default: present
      enabled:
        description: Whether it takes jobs.
        type: bool
        default: true
      service_role:
        description: The Batch service role's ARN.
        type: str
      type:
        description: On-demand (V(EC2)) or Spot (V(SPOT)) instances.
        type: str
        choices: [EC2, SPOT]
        default: EC2
      allocation_strategy:
        description: How Batch picks instance types.
        type: str
        choices: [BEST_FIT, BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED, SPOT_PRICE_CAPACITY_OPTIMIZED]
        default: BEST_FIT_PROGRESSIVE
      min_vcpus:
        description: vCPUs kept running when there is no work (0 lets the environment scale to nothing).
        type: int
        default: 0
      max_vcpus:
        description: The most vCPUs it runs. Required with O(compute_environments.state=present).
        type: int
      instance_types:
        description: Instance types or families.
        type: list
        elements: str
        default: [optimal]
      subnets:
        description: Subnet IDs the instances run in.
        type: list
        elements: str
        default: []
      security_group_ids:
        description: Security groups of the instances.
        type: list
        elements: str
        default: []
      instance_role:
        description: The ECS instance profile's ARN.
        type: str
      launch_template:
        description: The launch template, as C(name) and C(version).
        type: dict
      image_type:
        description: The ECS-optimized image family Batch picks the AMI from (for example V(ECS_AL2023)).
        type: str
      image_id:
        description: An approved AMI to use instead of the one Batch picks for O(compute_environments[].image_type)
          (C(imageIdOverride)); it must be ECS-optimised.
        type: str
      spot_iam_fleet_role:
        description: The Spot Fleet role's ARN (Spot with the BEST_FIT strategy).
        type: str
      bid_percentage:
        description: The most, in percent of the on-demand price, a Spot instance may cost.
        type: int
      instance_tags:
        description: Tags of the instances Batch launches.
        type: dict
      tags:
        description: Tags of the compute environment (set at creation; changes are applied by tagging); others are
          removed, unless O(compute_environments[].purge_tags=false).
        type: dict
      purge_tags:
        description: Whether tags not in O(compute_environments[].tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
  wait:
    description:
      - Whether to wait, once for all of them, until Batch has finished making or changing what this run made or
        changed. V(false) returns at once, for a later run with V(true) to wait for (C(playbooks/site.yml) waits in
        its last play, so Batch works while the access phase runs); deleting always waits.
      - With V(true), one found C(INVALID) that this run does not change fails the task, as one that ends
        C(INVALID) after the wait does, so a run that waits never ends with a compute environment no queue
        can use.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for Batch to finish creating, updating or deleting.
    type: int
    default: 1800
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: On-demand and Spot compute environments in the private subnets
  batch_compute_environment:
    compute_environments:
      - name: rnaseq-on-demand
        service_role: "{{ service_role_arn }}"
        max_vcpus: 256
        instance_types: [c6i, m6i, r6i]
        subnets: "{{ subnet_ids }}"
        security_group_ids: ["{{ compute_sg_id }}"]
        instance_role: "{{ instance_profile_arn }}"
        launch_template: {name: rnaseq-batch-instances, version: $Latest}
        image_type: ECS_AL2023
      - name: rnaseq-spot
        type: SPOT
        allocation_strategy: SPOT_PRICE_CAPACITY_OPTIMIZED
        max_vcpus: 512
        service_role: "{{ service_role_arn }}"
        subnets: "{{ subnet_ids }}"
        security_group_ids: ["{{ compute_sg_id }}"]
        instance_role: "{{ instance_profile_arn }}"
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-spot: [maxvCpus, tags]}
compute_environments:
  description: Each compute environment, with its ARN and what was done.
  returned: always
  type: list
  elements: dict
  sample: [{name: rnaseq-on-demand, arn: "arn:aws:batch:us-east-1:123456789012:compute-environment/rnaseq-on-demand", created: false, changed: [max_vcpus]}]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_batch import BUSY
from ansible.module_utils.toolkit_batch import compute_environments
from ansible.module_utils.toolkit_batch import fail_on_invalid
from ansible.module_utils.toolkit_batch import replace_tags
from ansible.module_utils.toolkit_batch import tag_drift
from ansible.module_utils.toolkit_batch import wait_settled

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# Option: the computeResources field it sets.
RESOURCE_FIELDS = {
    "type": "type",
    "allocation_strategy": "allocationStrategy",
    "min_vcpus": "minvCpus",
    "max_vcpus": "maxvCpus",
    "instance_types": "instanceTypes",
    "subnets": "subnets",
    "security_group_ids": "securityGroupIds",
    "instance_role": "instanceRole",
    "spot_iam_fleet_role": "spotIamFleetRole",
    "bid_percentage": "bidPercentage",
    "instance_tags": "tags",
}
# What Batch updates in place for any compute environment.
ALWAYS_UPDATABLE = {"enabled", "service_role", "min_vcpus", "max_vcpus"}
# What it never updates in place.
NEVER_UPDATABLE = {"type"}
# Strategies with which Batch updates the rest in place.
INFRASTRUCTURE_UPDATES = {"BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"}


def resources(spec):
    """The computeResources a spec asks for."""
    result = {field: spec[option] for option, field in RESOURCE_FIELDS.items() if spec.get(option) not in (None, [], {})}
    result["minvCpus"] = spec["min_vcpus"]
    if spec.get("launch_template"):
        result["launchTemplate"] = {"launchTemplateName": spec["launch_template"]["name"],
                                    "version": str(spec["launch_template"].get("version", "$Latest"))}
    if spec.get("image_type"):
        configuration = {"imageType": spec["image_type"]}
        if spec.get("image_id"):
            configuration["imageIdOverride"] = spec["image_id"]
        result["ec2Configuration"] = [configuration]
    return result


def current_settings(found):
    """A described compute environment in the module's option names."""
    compute = found.get("computeResources", {})
    settings = {option: compute.get(field) for option, field in RESOURCE_FIELDS.items()}
    settings["instance_tags"] = compute.get("tags") or None
    settings["enabled"] = found.get("state") == "ENABLED"
    settings["service_role"] = found.get("serviceRole")
    template = compute.get("launchTemplate")
    settings["launch_template"] = {"name": template.get("launchTemplateName"), "version": str(template.get("version"))} if template else None
    configuration = compute.get("ec2Configuration") or []
    settings["image_type"] = configuration[0].get("imageType") if configuration else None
    settings["image_id"] = configuration[0].get("imageIdOverride") if configuration else None
    return settings


def differences(spec, found):
    current = current_settings(found)
    changed = {}
    for option in list(RESOURCE_FIELDS) + ["enabled", "service_role", "launch_template", "image_type", "image_id"]:
        wanted = spec.get(option)
        if option == "launch_template" and wanted:
            wanted = {"name": wanted["name"], "version": str(wanted.get("version", "$Latest"))}
        if wanted in (None, [], {}) and option not in ("enabled", "min_vcpus"):
            continue
        have = current.get(option)
        if isinstance(wanted, list) and isinstance(have, list):
            same = sorted(map(str, wanted)) == sorted(map(str, have))
        else:
            same = wanted == have
        if not same:
            changed[option] = (have, wanted)
    return changed


def not_in_place(spec, found, changed):
    strategy = (found.get("computeResources") or {}).get("allocationStrategy", "BEST_FIT")
    blocked = [option for option in changed if option in NEVER_UPDATABLE]
    if strategy not in INFRASTRUCTURE_UPDATES:
        blocked += [option for option in changed if option not in ALWAYS_UPDATABLE and option not in NEVER_UPDATABLE]
    return blocked


def queues_using(batch, arns):
    """{compute environment name: [job queues that send it jobs]} for the
    given {ARN: name}; Batch refuses to delete one a queue still uses."""
    if not arns:
        return {}
    using = {}
    for queue in paginate(batch, "describe_job_queues", "jobQueues"):
        if queue.get("status") == "DELETED":
            continue
        for entry in queue.get("computeEnvironmentOrder") or []:
            name = arns.get(entry.get("computeEnvironment"))
            if name:
                using.setdefault(name, []).append(queue["jobQueueName"])
    return using


def main():
    argument_spec = dict(
        compute_environments=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                enabled=dict(type="bool", default=True),
                service_role=dict(type="str"),
                type=dict(type="str", choices=["EC2", "SPOT"], default="EC2"),
                allocation_strategy=dict(type="str", default="BEST_FIT_PROGRESSIVE",
                                         choices=["BEST_FIT", "BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"]),
                min_vcpus=dict(type="int", default=0),
                max_vcpus=dict(type="int"),
                instance_types=dict(type="list", elements="str", default=["optimal"]),
                subnets=dict(type="list", elements="str", default=[]),
                security_group_ids=dict(type="list", elements="str", default=[]),
                instance_role=dict(type="str"),
                launch_template=dict(type="dict"),
                image_type=dict(type="str"),
                image_id=dict(type="str"),
                spot_iam_fleet_role=dict(type="str"),
                bid_percentage=dict(type="int"),
                instance_tags=dict(type="dict"),
                tags=dict(type="dict"),
                purge_tags=dict(type="bool", default=True),
            ),
            required_if=[["state", "present", ["max_vcpus"]]],
        ),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs = module.params["compute_environments"]
    batch = module.client("batch")
    names = [spec["name"] for spec in specs]
    results, before, after, touched, deleted = [], {}, {}, [], []
    try:
        existing = compute_environments(batch, names)
        # One a stopped run, or an earlier run with wait=false, left being made
        # or changed is waited for first: Batch changes, and queues on, only a
        # settled compute environment, and a run must not end before it is.
        busy = [name for name, found in existing.items() if found.get("status") in BUSY]
        if busy and not module.check_mode:
            settled = wait_settled(module, lambda n: compute_environments(batch, n), busy, module.params["wait_timeout"], gone_ok=True)
            existing = {**{name: found for name, found in existing.items() if name not in busy}, **settled}
        plans = {spec["name"]: differences(spec, existing[spec["name"]]) for spec in specs
                 if spec["state"] == "present" and spec["name"] in existing}
        blocked = [f"{name}: {', '.join(not_in_place(spec, existing[name], plans[name]))}"
                   for spec in specs for name in [spec["name"]] if name in plans and not_in_place(spec, existing[name], plans[name])]
        if module.params["wait"]:
            fail_on_invalid(module, {name: existing[name] for name, plan in plans.items() if not plan})
        if blocked:
            module.fail_json(msg="AWS Batch cannot make these changes in place; nothing was changed. " + "; ".join(blocked)
                             + ". Disable and delete the compute environment (its job queues first) and run again, or keep the setting.")
        in_use = queues_using(batch, {existing[spec["name"]]["computeEnvironmentArn"]: spec["name"] for spec in specs
                                      if spec["state"] == "absent" and spec["name"] in existing})
        if in_use:
            module.fail_json(msg="These compute environments still serve job queues; nothing was changed. "
                             + "; ".join(f"{name}: {', '.join(queues)}" for name, queues in sorted(in_use.items()))
                             + ". Delete those job queues first (batch_job_queue state=absent).")

        if not module.check_mode:
            # Batch deletes only a disabled compute environment: disable them
            # all, then wait once.
            disabling = [spec["name"] for spec in specs if spec["state"] == "absent"
                         and existing.get(spec["name"], {}).get("state") == "ENABLED"]
            for name in disabling:
                batch.update_compute_environment(computeEnvironment=name, state="DISABLED")
            if disabling:
                wait_settled(module, lambda n: compute_environments(batch, n), disabling, module.params["wait_timeout"])
        for spec in specs:
            name, found = spec["name"], existing.get(spec["name"])
            result = {"name": name, "arn": (found or {}).get("computeEnvironmentArn"), "created": False, "deleted": False, "changed": []}
            if spec["state"] == "absent":
                if found:
                    result["deleted"] = True
                    before[name], after[name] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        batch.delete_compute_environment(computeEnvironment=name)
                        deleted.append(name)
                results.append(result)
                continue
            if not found:
                result["created"] = True
                before[name], after[name] = {"exists": False}, {"exists": True, **{k: v for k, v in spec.items() if v is not None}}
                if not module.check_mode:
                    params = {"computeEnvironmentName": name, "type": "MANAGED", "state": "ENABLED" if spec["enabled"] else "DISABLED",
                              "computeResources": resources(spec)}
                    if spec.get("service_role"):
                        params["serviceRole"] = spec["service_role"]
                    if spec.get("tags"):
                        params["tags"] = spec["tags"]
                    result["arn"] = batch.create_compute_environment(**params)["computeEnvironmentArn"]
                    touched.append(name)
                results.append(result)
                continue
            changed = plans[name]
            drift = tag_drift(found, spec)
            if drift:
                changed["tags"] = (found.get("tags") or {}, drift[2])
            if changed:
                result["changed"] = sorted(changed)
                before[name] = {option: old for option, (old, _new) in changed.items()}
                after[name] = {option: new for option, (_old, new) in changed.items()}
                if not module.check_mode:
                    update = {"computeEnvironment": name}
                    if "enabled" in changed:
                        update["state"] = "ENABLED" if spec["enabled"] else "DISABLED"
                    if "service_role" in changed:
                        update["serviceRole"] = spec["service_role"]
                    wanted = resources(spec)
                    compute_changes = {}
                    for option in changed:
                        if option in RESOURCE_FIELDS:
                            compute_changes[RESOURCE_FIELDS[option]] = wanted.get(RESOURCE_FIELDS[option])
                        elif option == "launch_template":
                            compute_changes["launchTemplate"] = wanted["launchTemplate"]
                        elif option in ("image_type", "image_id"):
                            compute_changes["ec2Configuration"] = wanted["ec2Configuration"]
                    if compute_changes:
                        update["computeResources"] = compute_changes
                    if len(update) > 1:
                        batch.update_compute_environment(**update)
                        touched.append(name)
                    if "tags" in changed:
                        replace_tags(batch, found["computeEnvironmentArn"], drift)
            results.append(result)

        waited = deleted + (touched if module.params["wait"] else [])
        if waited and not module.check_mode:
            # One wait for all of them.
            settled = wait_settled(module, lambda n: compute_environments(batch, n), waited, module.params["wait_timeout"], gone_ok=True)
            for result in results:
                if result["name"] in settled and not result["arn"]:
                    result["arn"] = settled[result["name"]]["computeEnvironmentArn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the Batch compute environments")
    changed = any(r["created"] or r["deleted"] or r["changed"] for r in results)
    module.exit_json(changed=changed, compute_environments=results, changes=changes_of(results), diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
