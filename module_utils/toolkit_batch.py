# -*- coding: utf-8 -*-
# AWS Batch reads and waits shared by the toolkit's Batch modules.

from __future__ import annotations

import json
import time

from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags

# Batch's status while it works on a compute environment or job queue.
BUSY = ("CREATING", "UPDATING", "DELETING")


def compute_environments(batch, names):
    """{name: description} of the named compute environments that exist (not DELETED)."""
    if not names:
        return {}
    found = paginate(batch, "describe_compute_environments", "computeEnvironments", computeEnvironments=sorted(set(names)))
    return {ce["computeEnvironmentName"]: ce for ce in found if ce.get("status") != "DELETED"}


def job_queues(batch, names):
    if not names:
        return {}
    found = paginate(batch, "describe_job_queues", "jobQueues", jobQueues=sorted(set(names)))
    return {q["jobQueueName"]: q for q in found if q.get("status") != "DELETED"}


def active_revisions(batch, name):
    return paginate(batch, "describe_job_definitions", "jobDefinitions", jobDefinitionName=name, status="ACTIVE")


def latest_job_definitions(batch, names):
    """{name: the newest ACTIVE revision} of the named job definitions."""
    latest = {}
    for name in sorted(set(names)):
        for definition in active_revisions(batch, name):
            if name not in latest or definition["revision"] > latest[name]["revision"]:
                latest[name] = definition
    return latest


def tag_drift(found, spec):
    """(keys to untag, tags to set, tags after) that make a found Batch resource's tags its spec's
    (only those, unless the spec's purge_tags is false); None when the spec leaves the tags alone
    or they already match."""
    if spec.get("tags") is None:
        return None
    wanted = {str(k): str(v) for k, v in spec["tags"].items()}
    stale, missing, after = purged_tags(found.get("tags") or {}, wanted, spec["purge_tags"])
    return (stale, missing, after) if stale or missing else None


def replace_tags(batch, arn, drift):
    """Apply a tag_drift: untag the stale keys, then tag (which also overwrites changed values)."""
    stale, missing, _after = drift
    if stale:
        batch.untag_resource(resourceArn=arn, tagKeys=stale)
    if missing:
        batch.tag_resource(resourceArn=arn, tags=missing)


def fail_on_invalid(module, found):
    """Fail naming, with Batch's reason, each of the described resources that Batch marked INVALID."""
    invalid = [f"{n}: {d.get('statusReason', '')}" for n, d in found.items() if d.get("status") == "INVALID"]
    if invalid:
        module.fail_json(msg="AWS Batch marked these INVALID: " + "; ".join(invalid))


def wait_settled(module, describe, names, timeout, gone_ok=False):
    """Wait, once for all of them, until Batch has finished with every named
    resource; fail naming any that ended INVALID. Returns the descriptions."""
    deadline = time.monotonic() + timeout
    while True:
        found = describe(names)
        busy = [n for n, d in found.items() if d.get("status") in BUSY]
        missing = [n for n in names if n not in found and not gone_ok]
        if not busy and not missing:
            fail_on_invalid(module, found)
            return found
        if time.monotonic() > deadline:
            module.fail_json(msg=f"Timed out after {timeout} s waiting for AWS Batch to finish with: {', '.join(busy + missing)}")
        time.sleep(5)


def normalize(value):
    """A job definition's content with what Batch fills in by default dropped
    (empty lists, dicts and strings), retry actions in one case, and every
    number as a string, so a declared definition and a described one compare."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            item = normalize(item)
            if item in ([], {}, None, ""):
                continue
            if key == "action" and isinstance(item, str):
                item = item.upper()
            result[key] = item
        return result
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


def canonical(value):
    return json.dumps(normalize(value), sort_keys=True)
