#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: batch_job_queue
short_description: Manage a list of AWS Batch job queues in one task
description:
  - Creates, updates, disables or deletes job queues, each with a priority and an ordered list of compute
    environments. The run waits once, for all of them, until Batch has finished with each.
  - Deleting disables the queue first and waits for Batch, as Batch requires; delete queues before the
    compute environments they use.
  - A queue naming a compute environment that does not exist fails the task before anything is changed
    (in check mode it is planned, as the compute environment may be planned too).
  - Supports check mode and diff.
notes:
  - Why not M(community.aws.batch_job_queue)? It has no tags option, so the toolkit's ownership tags
    could not be set, it does not wait for Batch (a compute environment still being updated refuses the
    queue), and it takes one queue per module run.
options:
  job_queues:
    description: The job queues.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The queue's name.
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
      priority:
        description: Higher runs first when queues share compute environments.
        type: int
        default: 1
      compute_environments:
        description: Compute environment names or ARNs, in the order Batch should try them.
        type: list
        elements: str
        default: []
      tags:
        description: Tags of the queue; others are removed, unless O(job_queues[].purge_tags=false).
        type: dict
      purge_tags:
        description: Whether tags not in O(job_queues[].tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
  wait_timeout:
    description: Seconds to wait for Batch.
    type: int
    default: 900
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: A priority queue on on-demand capacity, and a default queue that prefers Spot
  batch_job_queue:
    job_queues:
      - {name: rnaseq-priority, priority: 100, compute_environments: [rnaseq-on-demand]}
      - {name: rnaseq-default, priority: 10, compute_environments: [rnaseq-spot, rnaseq-on-demand]}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-queue: [created]}
job_queues:
  description: Each queue, with its ARN and what was done.
  returned: always
  type: list
  elements: dict
  sample: [{name: rnaseq-default, arn: "arn:aws:batch:us-east-1:123456789012:job-queue/rnaseq-default", created: true, changed: []}]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_batch import compute_environments
from ansible.module_utils.toolkit_batch import job_queues
from ansible.module_utils.toolkit_batch import replace_tags
from ansible.module_utils.toolkit_batch import tag_drift
from ansible.module_utils.toolkit_batch import wait_settled

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def order(arns, names):
    """computeEnvironmentOrder with ARNs (Batch describes queues with ARNs)."""
    return [{"order": index + 1, "computeEnvironment": arns.get(name, name)} for index, name in enumerate(names)]


def disable_all(module, batch, names):
    """Disable the named queues, then wait once for all of them: Batch deletes
    only a disabled queue."""
    for name in names:
        batch.update_job_queue(jobQueue=name, state="DISABLED")
    if names:
        wait_settled(module, lambda n: job_queues(batch, n), names, module.params["wait_timeout"])


def main():
    argument_spec = dict(
        job_queues=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                enabled=dict(type="bool", default=True),
                priority=dict(type="int", default=1),
                compute_environments=dict(type="list", elements="str", default=[]),
                tags=dict(type="dict"),
                purge_tags=dict(type="bool", default=True),
            ),
        ),
        wait_timeout=dict(type="int", default=900),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    batch = module.client("batch")
    results, before, after, touched = [], {}, {}, []
    try:
        specs = module.params["job_queues"]
        existing = job_queues(batch, [spec["name"] for spec in specs])
        wanted_ces = {ce for spec in specs if spec["state"] == "present" for ce in spec["compute_environments"] if not ce.startswith("arn:")}
        ce_arns = {name: ce["computeEnvironmentArn"] for name, ce in compute_environments(batch, sorted(wanted_ces)).items()}
        missing = sorted(wanted_ces - set(ce_arns))
        if missing and not module.check_mode:
            module.fail_json(msg=f"The job queues name compute environments that do not exist: {', '.join(missing)}; nothing was changed. "
                             "Create them first (batch_compute_environment).")
        if not module.check_mode:
            disable_all(module, batch, [spec["name"] for spec in specs if spec["state"] == "absent"
                                        and existing.get(spec["name"], {}).get("state") == "ENABLED"])
        for spec in specs:
            name, found = spec["name"], existing.get(spec["name"])
            result = {"name": name, "arn": (found or {}).get("jobQueueArn"), "created": False, "deleted": False, "changed": []}
            state = "ENABLED" if spec["enabled"] else "DISABLED"
            if spec["state"] == "absent":
                if found:
                    result["deleted"] = True
                    before[name], after[name] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        batch.delete_job_queue(jobQueue=name)
                        touched.append(name)
            elif not found:
                result["created"] = True
                before[name], after[name] = {"exists": False}, {"exists": True, "priority": spec["priority"],
                                                                  "compute_environments": spec["compute_environments"]}
                if not module.check_mode:
                    params = {"jobQueueName": name, "state": state, "priority": spec["priority"],
                              "computeEnvironmentOrder": order(ce_arns, spec["compute_environments"])}
                    if spec.get("tags"):
                        params["tags"] = spec["tags"]
                    result["arn"] = batch.create_job_queue(**params)["jobQueueArn"]
                    touched.append(name)
            else:
                wanted_order = order(ce_arns, spec["compute_environments"])
                current = {"state": found.get("state"), "priority": found.get("priority"),
                           "compute_environments": sorted(found.get("computeEnvironmentOrder", []), key=lambda o: o["order"])}
                wanted = {"state": state, "priority": spec["priority"], "compute_environments": wanted_order}
                changed = [key for key in wanted if current[key] != wanted[key]]
                drift = tag_drift(found, spec)
                if drift:
                    changed.append("tags")
                    current["tags"], wanted["tags"] = found.get("tags") or {}, drift[2]
                if changed:
                    result["changed"] = changed
                    before[name] = {k: current[k] for k in changed}
                    after[name] = {k: wanted[k] for k in changed}
                    if not module.check_mode:
                        update = {"jobQueue": name}
                        if "state" in changed:
                            update["state"] = state
                        if "priority" in changed:
                            update["priority"] = spec["priority"]
                        if "compute_environments" in changed:
                            update["computeEnvironmentOrder"] = wanted_order
                        if len(update) > 1:
                            batch.update_job_queue(**update)
                            touched.append(name)
                        if "tags" in changed:
                            replace_tags(batch, found["jobQueueArn"], drift)
            results.append(result)
        if touched and not module.check_mode:
            settled = wait_settled(module, lambda n: job_queues(batch, n), touched, module.params["wait_timeout"], gone_ok=True)
            for result in results:
                if result["name"] in settled and not result["arn"]:
                    result["arn"] = settled[result["name"]]["jobQueueArn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the Batch job queues")
    changed = any(r["created"] or r["deleted"] or r["changed"] for r in results)
    module.exit_json(changed=changed, job_queues=results, changes=changes_of(results), diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
