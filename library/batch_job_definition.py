#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: batch_job_definition
short_description: Register a list of AWS Batch container job definitions, a new revision only when one changes
description:
  - Registers each job definition whose effective content (container properties, retry strategy, timeout,
    parameters, platform) differs from its newest ACTIVE revision; one whose content is unchanged
    registers nothing. What Batch fills in by default (empty lists, the case of retry actions) does not
    count as a difference.
  - Tags of an existing revision are changed in place, without a new revision.
  - O(job_definitions.state=absent) deregisters every ACTIVE revision.
  - Supports check mode and diff.
notes:
  - Why not M(community.aws.batch_job_definition)? It has no options for a timeout, a retry strategy
    beyond a number of attempts, the container's log configuration (the jobs' encrypted log group),
    platform capabilities or tags, so the toolkit's job definitions could not be declared with it.
options:
  job_definitions:
    description: The job definitions.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The job definition's name.
        type: str
        required: true
      state:
        description: Whether it should be registered.
        type: str
        choices: [present, absent]
        default: present
      container_properties:
        description: The C(containerProperties) of C(RegisterJobDefinition), in the API's shape (C(image), C(command),
          C(resourceRequirements), C(jobRoleArn), C(logConfiguration), ...).
        type: dict
      retry_strategy:
        description: The C(retryStrategy), in the API's shape (C(attempts), C(evaluateOnExit)).
        type: dict
      timeout:
        description: Seconds after which an attempt is stopped.
        type: int
      parameters:
        description: Default parameter substitutions.
        type: dict
      platform_capabilities:
        description: V(EC2) or V(FARGATE).
        type: list
        elements: str
        default: [EC2]
      propagate_tags:
        description: Copy the job's tags to its ECS task.
        type: bool
        default: true
      tags:
        description: Tags of the job definition; others are removed, unless O(job_definitions[].purge_tags=false).
        type: dict
      purge_tags:
        description: Whether tags not in O(job_definitions[].tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: FastQC, on its image pinned by digest
  batch_job_definition:
    job_definitions:
      - name: rnaseq-fastqc
        container_properties:
          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/rnaseq/fastqc@sha256:e3b4...
          resourceRequirements: [{type: VCPU, value: "2"}, {type: MEMORY, value: "4096"}]
          readonlyRootFilesystem: true
        retry_strategy:
          attempts: 3
          evaluateOnExit: [{onStatusReason: "Host EC2*", action: RETRY}, {onReason: "*", action: EXIT}]
        timeout: 7200
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-fastqc: [registered]}
job_definitions:
  description: Each job definition's newest revision after the run, and whether one was registered.
  returned: always
  type: list
  elements: dict
  sample: [{name: rnaseq-fastqc, arn: "arn:aws:batch:us-east-1:123456789012:job-definition/rnaseq-fastqc:3", revision: 3, registered: false}]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_batch import active_revisions
from ansible.module_utils.toolkit_batch import canonical
from ansible.module_utils.toolkit_batch import latest_job_definitions
from ansible.module_utils.toolkit_batch import normalize
from ansible.module_utils.toolkit_batch import replace_tags
from ansible.module_utils.toolkit_batch import tag_drift

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def content(spec):
    """What a registration would say, in the API's shape."""
    body = {"type": "container", "containerProperties": spec["container_properties"],
            "platformCapabilities": spec["platform_capabilities"], "propagateTags": spec["propagate_tags"]}
    if spec.get("retry_strategy"):
        body["retryStrategy"] = spec["retry_strategy"]
    if spec.get("timeout"):
        body["timeout"] = {"attemptDurationSeconds": spec["timeout"]}
    if spec.get("parameters"):
        body["parameters"] = spec["parameters"]
    return body


def described(definition):
    """The same fields of a described revision."""
    keys = ("type", "containerProperties", "platformCapabilities", "propagateTags", "retryStrategy", "timeout", "parameters")
    body = {key: definition[key] for key in keys if key in definition}
    body.setdefault("propagateTags", False)
    return body


def main():
    argument_spec = dict(
        job_definitions=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                container_properties=dict(type="dict"),
                retry_strategy=dict(type="dict"),
                timeout=dict(type="int"),
                parameters=dict(type="dict"),
                platform_capabilities=dict(type="list", elements="str", default=["EC2"]),
                propagate_tags=dict(type="bool", default=True),
                tags=dict(type="dict"),
                purge_tags=dict(type="bool", default=True),
            ),
            required_if=[["state", "present", ["container_properties"]]],
        ),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    batch = module.client("batch")
    results, before, after = [], {}, {}
    try:
        latest = latest_job_definitions(batch, [spec["name"] for spec in module.params["job_definitions"]])
        for spec in module.params["job_definitions"]:
            name, found = spec["name"], latest.get(spec["name"])
            result = {"name": name, "arn": (found or {}).get("jobDefinitionArn"), "revision": (found or {}).get("revision"),
                      "registered": False, "deregistered": [], "tags_changed": False}
            if spec["state"] == "absent":
                revisions = [d["jobDefinitionArn"] for d in active_revisions(batch, name)] if found else []
                result["deregistered"] = revisions
                if revisions:
                    before[name], after[name] = {"active_revisions": revisions}, {"active_revisions": []}
                    if not module.check_mode:
                        for arn in revisions:
                            batch.deregister_job_definition(jobDefinition=arn)
                results.append(result)
                continue
            wanted = content(spec)
            if found is None or canonical(described(found)) != canonical(wanted):
                result["registered"] = True
                before[name] = normalize(described(found)) if found else None
                after[name] = normalize(wanted)
                if not module.check_mode:
                    registered = batch.register_job_definition(jobDefinitionName=name, tags=spec.get("tags") or {}, **wanted)
                    result["arn"], result["revision"] = registered["jobDefinitionArn"], registered["revision"]
            elif drift := tag_drift(found, spec):
                result["tags_changed"] = True
                before[name], after[name] = {"tags": found.get("tags") or {}}, {"tags": drift[2]}
                if not module.check_mode:
                    replace_tags(batch, found["jobDefinitionArn"], drift)
            results.append(result)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the Batch job definitions")
    changed = any(r["registered"] or r["deregistered"] or r["tags_changed"] for r in results)
    changes = {r["name"]: (["registered"] if r["registered"] else []) + (["deregistered"] if r["deregistered"] else [])
               + (["tags"] if r["tags_changed"] else []) for r in results}
    module.exit_json(changed=changed, job_definitions=results, changes={k: v for k, v in changes.items() if v},
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
