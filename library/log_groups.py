#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: log_groups
short_description: CloudWatch Logs log groups, KMS-encrypted, with their retention and tags, as one list
description:
  - Creates each log group of O(log_groups) that does not exist, encrypted with its O(log_groups.kms_key_id) and
    tagged in the same call, and gives it its retention.
  - For a log group that exists, associates the declared key when the group has none or another one, sets a
    retention that differs, and makes its tags O(tags) (or adds the missing ones when O(purge_tags=false)).
  - With O(state=absent), deletes the log groups of the list that exist, and their log events with them.
  - Reads all the groups in one C(DescribeLogGroups) (by their common name prefix) and each group's tags once.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.cloudwatchlogs_log_group)? It sets a group's key only when it creates the group, so a
    group whose key was removed or replaced stays so, and it takes one group per task, each a module run of its
    own. bench/upstream.py, 5 groups with retention and tags, a no-op under the linear strategy - this module 1
    run, 6 reads, 1.8 s; the upstream module in a loop 5 runs, 10 reads, 4.7 s.
  - The local cloud's emulator (moto) has no C(AssociateKmsKey); the repair of a group's key runs on AWS only,
    and the tests check that it is planned.
options:
  log_groups:
    description: The log groups.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The log group's name.
        type: str
        required: true
      kms_key_id:
        description:
          - The ARN of the KMS key that encrypts the group's log events.
          - Omitted, a new group is made without one and an existing group's key is left as it is.
        type: str
      retention:
        description: Days the group keeps its log events (a value CloudWatch Logs accepts); omitted, left as it is.
        type: int
  tags:
    description: The tags of every group of the list. Omitted, the groups' tags are left as they are.
    type: dict
  purge_tags:
    description: Whether tags that O(tags) does not name are removed.
    type: bool
    default: true
  state:
    description: Whether the log groups should exist.
    type: str
    choices: [present, absent]
    default: present
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The audit log groups, encrypted with the audit key, kept a year
  log_groups:
    log_groups:
      - {name: /aws/cloudtrail/rnaseq, kms_key_id: "{{ audit_key_arn }}", retention: 365}
      - {name: /aws/vpc/flow-logs/rnaseq, kms_key_id: "{{ audit_key_arn }}", retention: 365}
    tags: {Project: rnaseq-hipaa}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {/aws/cloudtrail/rnaseq: [retention]}
log_groups:
  description: Each log group of the list, its ARN, and what changed (C(created), C(deleted), or the settings).
  returned: always
  type: list
  elements: dict
  sample: [{name: /aws/cloudtrail/rnaseq, arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/cloudtrail/rnaseq",
            created: false, deleted: false, changed: [retention]}]
"""


try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import existing_by_name
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import record_changes
from ansible.module_utils.toolkit_lookup import log_group_arn

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def existing_groups(logs, names):
    """{name: described group} of the listed groups that exist."""
    return existing_by_name(logs, "describe_log_groups", "logGroups", "logGroupName", "logGroupNamePrefix", names)


def converge(module, logs, spec, group, result, diff):
    """Bring one existing group to `spec`; returns nothing, records what differs in `result` and `diff`."""
    name, check = spec["name"], module.check_mode
    wanted = {}
    if spec.get("kms_key_id") and group.get("kmsKeyId") != spec["kms_key_id"]:
        wanted["kms_key_id"] = (group.get("kmsKeyId"), spec["kms_key_id"])
        if not check:
            logs.associate_kms_key(logGroupName=name, kmsKeyId=spec["kms_key_id"])
    if spec.get("retention") is not None and group.get("retentionInDays") != spec["retention"]:
        wanted["retention"] = (group.get("retentionInDays"), spec["retention"])
        if not check:
            logs.put_retention_policy(logGroupName=name, retentionInDays=spec["retention"])
    if module.params["tags"] is not None:
        arn = log_group_arn(group)
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        to_unset, to_set, after = purged_tags(tags, module.params["tags"], module.params["purge_tags"])
        if to_set or to_unset:
            wanted["tags"] = (tags, after)
            if not check:
                if to_unset:
                    logs.untag_resource(resourceArn=arn, tagKeys=to_unset)
                if to_set:
                    logs.tag_resource(resourceArn=arn, tags=to_set)
    record_changes(result, diff, name, wanted)


def main():
    argument_spec = dict(
        log_groups=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            kms_key_id=dict(type="str"),
            retention=dict(type="int"),
        )),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs = module.params["log_groups"]
    fail_on_repeated_names(module, [s["name"] for s in specs], "Log groups")
    logs = module.client("logs")
    results, diff = [], {"before": {}, "after": {}}
    try:
        groups = existing_groups(logs, [s["name"] for s in specs])
        for spec in specs:
            name, group = spec["name"], groups.get(spec["name"])
            result = {"name": name, "arn": log_group_arn(group) if group else None,
                      "created": False, "deleted": False, "changed": []}
            results.append(result)
            if module.params["state"] == "absent":
                if group:
                    result["deleted"] = True
                    diff["before"][name], diff["after"][name] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        logs.delete_log_group(logGroupName=name)
            elif group:
                converge(module, logs, spec, group, result, diff)
            else:
                result["created"] = True
                declared = {k: spec[k] for k in ("kms_key_id", "retention") if spec.get(k) is not None}
                diff["before"][name], diff["after"][name] = {"exists": False}, {"exists": True, **declared}
                if module.check_mode:
                    continue
                create = {"logGroupName": name}
                if spec.get("kms_key_id"):
                    create["kmsKeyId"] = spec["kms_key_id"]
                if module.params["tags"]:
                    create["tags"] = module.params["tags"]
                logs.create_log_group(**create)
                if spec.get("retention") is not None:
                    logs.put_retention_policy(logGroupName=name, retentionInDays=spec["retention"])
                result["arn"] = log_group_arn(existing_groups(logs, [name])[name])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the log groups")
    changed = any(r["created"] or r["deleted"] or r["changed"] for r in results)
    module.exit_json(changed=changed, log_groups=results, changes=changes_of(results), diff=diff)


if __name__ == "__main__":
    main()
