#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: batch_job_run
short_description: Submit a list of AWS Batch jobs, wait for them together, and return how each ended
description:
  - Submits each job to its queue with its job definition, then waits once, for all of them, until each
    has SUCCEEDED or FAILED, and returns each job's status, reason, log stream and last log lines.
  - Fails, naming each job and its reason, when any job fails or the wait times out (the jobs are then
    left running; the message gives their IDs).
  - A submission is an action, not a state, so it always reports changed. In check mode nothing is
    submitted.
notes:
  - Departs from the list contract (docs/modules.md) by design - a submission is an action, not a state, so
    there is nothing to purge or delete.
options:
  jobs:
    description: The jobs to submit.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The job's name.
        type: str
        required: true
      queue:
        description: The job queue's name or ARN.
        type: str
        required: true
      definition:
        description: The job definition's name (its newest ACTIVE revision), name:revision, or ARN.
        type: str
        required: true
      parameters:
        description: Values for the definition's C(Ref::) placeholders.
        type: dict
        default: {}
      command:
        description: A command that replaces the definition's.
        type: list
        elements: str
      timeout:
        description: Seconds after which Batch stops an attempt (the definition's when omitted).
        type: int
      tags:
        description: Tags of the job.
        type: dict
  wait:
    description: Wait until every job has ended.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for all of them.
    type: int
    default: 1800
  log_group:
    description: The log group the jobs write to (the definitions' awslogs group), for the last log lines.
    type: str
  log_lines:
    description: How many of each job's last log lines to return.
    type: int
    default: 20
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Run FastQC once on the synthetic data set
  batch_job_run:
    jobs:
      - name: smoke-fastqc
        queue: rnaseq-priority
        definition: rnaseq-smoke-fastqc
    log_group: /aws/batch/rnaseq
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-fastqc: [submitted]}
jobs:
  description: Each job as it ended (or as it was when the wait gave up).
  returned: always
  type: list
  elements: dict
  sample: [{name: smoke-fastqc, id: "4c3e...", status: SUCCEEDED, reason: "Essential container in task exited",
            exit_code: 0, log_stream: "smoke-fastqc/default/0b1c...", log_tail: ["Analysis complete for control_rep1_R1.fastq.gz"]}]
"""

import time

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

ENDED = ("SUCCEEDED", "FAILED")


def submission(spec):
    params = {"jobName": spec["name"], "jobQueue": spec["queue"], "jobDefinition": spec["definition"],
              "parameters": {k: str(v) for k, v in spec["parameters"].items()}}
    if spec.get("command"):
        params["containerOverrides"] = {"command": spec["command"]}
    if spec.get("timeout"):
        params["timeout"] = {"attemptDurationSeconds": spec["timeout"]}
    if spec.get("tags"):
        params["tags"] = spec["tags"]
    return params


def describe(batch, ids):
    """{job id: description}, 100 at a time (DescribeJobs' limit)."""
    found = {}
    for start in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[start:start + 100])["jobs"]:
            found[job["jobId"]] = job
    return found


def log_tail(logs, group, stream, lines):
    if not (logs and group and stream and lines):
        return []
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False)["events"]
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise
    return [event["message"] for event in events]


def main():
    argument_spec = dict(
        jobs=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                queue=dict(type="str", required=True),
                definition=dict(type="str", required=True),
                parameters=dict(type="dict", default={}),
                command=dict(type="list", elements="str"),
                timeout=dict(type="int"),
                tags=dict(type="dict"),
            ),
        ),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        log_group=dict(type="str"),
        log_lines=dict(type="int", default=20),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs = module.params["jobs"]
    if module.check_mode:
        module.exit_json(changed=True, jobs=[{"name": spec["name"], "id": None, "status": "NOT_SUBMITTED (check mode)"} for spec in specs],
                         changes={spec["name"]: ["submitted"] for spec in specs})
    batch = module.client("batch")
    logs = module.client("logs") if module.params["log_group"] else None
    try:
        ids = [batch.submit_job(**submission(spec))["jobId"] for spec in specs]
        found = describe(batch, ids)
        deadline = time.monotonic() + module.params["wait_timeout"]
        while module.params["wait"] and any(found[i]["status"] not in ENDED for i in ids) and time.monotonic() < deadline:
            time.sleep(10)
            found = describe(batch, ids)
        results = []
        for spec, job_id in zip(specs, ids):
            job = found[job_id]
            container = job.get("container") or {}
            attempt = (job.get("attempts") or [{}])[-1]
            reason = job.get("statusReason") or attempt.get("statusReason") or (attempt.get("container") or {}).get("reason") \
                or container.get("reason") or ""
            results.append({
                "name": spec["name"], "id": job_id, "status": job["status"], "reason": reason,
                "exit_code": container.get("exitCode"), "log_stream": container.get("logStreamName"),
                "log_tail": log_tail(logs, module.params["log_group"], container.get("logStreamName"), module.params["log_lines"]),
            })
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to run the Batch jobs")
    failed = [r for r in results if r["status"] == "FAILED"]
    waiting = [r for r in results if r["status"] not in ENDED]
    if failed or (module.params["wait"] and waiting):
        lines = [f"{r['name']} ({r['id']}) FAILED: {r['reason'] or 'no reason given'}" for r in failed]
        lines += [f"{r['name']} ({r['id']}) still {r['status']} after {module.params['wait_timeout']} s; it was left running"
                  for r in waiting]
        module.fail_json(msg="\n".join(lines), changed=True, jobs=results)
    module.exit_json(changed=True, jobs=results, changes={result["name"]: ["submitted"] for result in results})


if __name__ == "__main__":
    main()
