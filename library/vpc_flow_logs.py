#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vpc_flow_logs
short_description: Flow logs of every traffic type for a list of VPCs, into CloudWatch Logs, in one task
description:
  - For each VPC, one flow log of the given traffic type delivered to the given log group with the given
    role, with the given tags. A VPC's flow log to that group that differs (traffic type, role) is replaced,
    one whose tags differ is retagged; flow logs to other destinations are left alone. With
    O(state=absent), each VPC's flow logs to that group are deleted.
  - amazon.aws has no flow log module.
  - Supports check mode and diff.
notes:
  - Departs from the list contract (docs/modules.md) by design - a flow log per VPC, so its list is of VPC IDs,
    O(vpc_ids).
options:
  vpc_ids:
    description: The VPCs.
    type: list
    elements: str
    required: true
  log_group:
    description: The CloudWatch Logs group the flow logs go to.
    type: str
    required: true
  role_arn:
    description: The role VPC Flow Logs delivers with; required when present.
    type: str
  traffic_type:
    description: What to log.
    type: str
    default: ALL
    choices: [ACCEPT, REJECT, ALL]
  tags:
    description:
      - Tags of each flow log. Omitted, an existing flow log's tags are left as they are.
    type: dict
  purge_tags:
    description: Whether tags not in O(tags) are removed (AWS's own C(aws:) tags never are).
    type: bool
    default: true
  state:
    description: Whether the VPCs' flow logs to O(log_group) exist.
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
- name: Flow logs for the toolkit's VPCs
  vpc_flow_logs:
    vpc_ids: [vpc-0123456789abcdef0]
    log_group: /aws/vpc/flow-logs/rnaseq
    role_arn: arn:aws:iam::123456789012:role/rnaseq-flow-logs
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {vpc-0123456789abcdef0: [created]}
flow_logs:
  description:
    - Each VPC's flow log ID (none in check mode when it would be created) and what was done (C(state)
      V(unchanged), V(created), V(replaced), V(duplicates removed), V(tagged) or V(deleted)).
  returned: always
  type: list
  elements: dict
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import sync_ec2_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def remove(module, ec2, vpc_ids, found, before, after):
    """Delete the VPCs' flow logs to the group (found), in one call; each VPC's result."""
    results = []
    for vpc_id in vpc_ids:
        gone = [f["FlowLogId"] for f in found.get(vpc_id, [])]
        results.append({"vpc_id": vpc_id, "id": gone[0] if gone else None, "state": "deleted" if gone else "unchanged"})
        if gone:
            before[vpc_id], after[vpc_id] = {"flow_logs": len(gone)}, {"flow_logs": 0}
    stale = [f["FlowLogId"] for flow_logs in found.values() for f in flow_logs]
    if stale and not module.check_mode:
        ec2.delete_flow_logs(FlowLogIds=stale)
    return results


def converge(module, ec2, vpc_id, existing, before, after):
    """Make the VPC's one flow log to the group as declared, from its flow logs to the group (existing); its result."""
    p = module.params
    wanted = {"traffic_type": p["traffic_type"], "role_arn": p["role_arn"]}
    matching = [f for f in existing if {"traffic_type": f.get("TrafficType"), "role_arn": f.get("DeliverLogsPermissionArn")} == wanted]
    result = {"vpc_id": vpc_id, "id": matching[0]["FlowLogId"] if matching else None, "state": "unchanged"}
    stale = [f["FlowLogId"] for f in existing if not matching or f is not matching[0]]
    if not matching:
        result["state"] = "replaced" if existing else "created"
        before[vpc_id] = [{"traffic_type": f.get("TrafficType"), "role_arn": f.get("DeliverLogsPermissionArn")} for f in existing]
        after[vpc_id] = [wanted]
        if not module.check_mode:
            request = {"ResourceIds": [vpc_id], "ResourceType": "VPC", "TrafficType": p["traffic_type"],
                       "LogDestinationType": "cloud-watch-logs", "LogGroupName": p["log_group"],
                       "DeliverLogsPermissionArn": p["role_arn"]}
            if p["tags"]:
                request["TagSpecifications"] = [{"ResourceType": "vpc-flow-log", "Tags": tag_list(p["tags"])}]
            created = ec2.create_flow_logs(**request)
            if created.get("Unsuccessful"):
                module.fail_json(msg=f"VPC Flow Logs refused {vpc_id}: {created['Unsuccessful'][0]['Error']['Message']}")
            result["id"] = created["FlowLogIds"][0]
    else:
        if stale:
            result["state"] = "duplicates removed"
            before[vpc_id], after[vpc_id] = {"flow_logs": len(existing)}, {"flow_logs": 1}
        if p["tags"] is not None:
            current = tag_dict(matching[0].get("Tags"))
            removed, added, tags = purged_tags(current, p["tags"], p["purge_tags"])
            if removed or added:
                if not stale:
                    result["state"] = "tagged"
                before.setdefault(vpc_id, {})["tags"], after.setdefault(vpc_id, {})["tags"] = current, tags
                sync_ec2_tags(ec2, result["id"], current, p["tags"], module.check_mode, p["purge_tags"])
    if stale and not module.check_mode:
        ec2.delete_flow_logs(FlowLogIds=stale)
    return result


def main():
    argument_spec = dict(
        vpc_ids=dict(type="list", elements="str", required=True),
        log_group=dict(type="str", required=True),
        role_arn=dict(type="str"),
        traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, required_if=[["state", "present", ["role_arn"]]],
                              supports_check_mode=True)
    p = module.params
    ec2 = module.client("ec2")
    results, before, after = [], {}, {}
    try:
        found = {}
        if p["vpc_ids"]:
            for flow_log in paginate(ec2, "describe_flow_logs", "FlowLogs", Filters=[{"Name": "resource-id", "Values": p["vpc_ids"]}]):
                if flow_log.get("LogGroupName") == p["log_group"]:
                    found.setdefault(flow_log["ResourceId"], []).append(flow_log)
        if p["state"] == "absent":
            results = remove(module, ec2, p["vpc_ids"], found, before, after)
        else:
            results = [converge(module, ec2, vpc_id, found.get(vpc_id, []), before, after) for vpc_id in p["vpc_ids"]]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the VPC flow logs")
    changed = any(r["state"] != "unchanged" for r in results)
    module.exit_json(changed=changed, flow_logs=results, changes={r["vpc_id"]: [r["state"]] for r in results if r["state"] != "unchanged"},
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
