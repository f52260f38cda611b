#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: eventbridge_rules
short_description: EventBridge rules on the default event bus with their event patterns and targets, as one list
description:
  - Creates each rule of O(rules) that does not exist, enabled, with its event pattern and description, tagged in
    the same call, and gives it its targets.
  - For a rule that exists, puts the rule again when its pattern, description or state differs, puts the targets
    that are missing or differ, removes the targets the list does not name, and makes its tags O(tags) (or adds
    the missing ones when O(purge_tags=false)).
  - With O(state=absent), removes the targets of the listed rules that exist, then the rules.
  - Reads all the rules in one C(ListRules) (by their common name prefix), and each rule's targets and tags once.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.cloudwatchevent_rule)? It has no check mode, so a plan (C(--check)) cannot show a
    rule's drift, and it reads each rule seven times in a no-op (C(DescribeRule) four times,
    C(ListTargetsByRule) three times). bench/upstream.py, 5 rules with one target each, a no-op under the linear
    strategy - this module 1 run, 6 reads, 1.6 s; the upstream module in a loop 5 runs, 35 reads, 3.8 s.
options:
  rules:
    description: The rules, on the account's default event bus.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The rule's name.
        type: str
        required: true
      description:
        description: What the rule is for.
        type: str
        default: ""
      event_pattern:
        description: The events the rule matches, an EventBridge event pattern (a dict).
        type: dict
        required: true
      enabled:
        description: Whether the rule is enabled.
        type: bool
        default: true
      targets:
        description: Where the matched events go; targets of the rule that the list does not name are removed.
        type: list
        elements: dict
        default: []
        suboptions:
          id:
            description: The target's ID within the rule.
            type: str
            required: true
          arn:
            description: The target's ARN (an SNS topic, say).
            type: str
            required: true
  tags:
    description: The tags of every rule of the list. Omitted, the rules' tags are left as they are.
    type: dict
  purge_tags:
    description: Whether tags that O(tags) does not name are removed.
    type: bool
    default: true
  state:
    description: Whether the rules should exist.
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
- name: GuardDuty's findings reach the alarm topic
  eventbridge_rules:
    rules:
      - name: rnaseq-findings-guardduty
        description: GuardDuty findings of medium severity and above
        event_pattern: {source: [aws.guardduty], detail-type: [GuardDuty Finding]}
        targets: [{id: security-alarms-topic, arn: "{{ audit_topic_arn }}"}]
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-findings-guardduty: [created]}
rules:
  description: Each rule of the list, its ARN, and what changed (C(created), C(deleted), or the parts).
  returned: always
  type: list
  elements: dict
  sample: [{name: rnaseq-findings-guardduty, arn: "arn:aws:events:us-east-1:123456789012:rule/rnaseq-findings-guardduty",
            created: false, deleted: false, changed: [targets]}]
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import existing_by_name
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import record_changes
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def existing_rules(events, names):
    """{name: rule} of the listed rules that exist."""
    return existing_by_name(events, "list_rules", "Rules", "Name", "NamePrefix", names)


def rule_request(spec, tags=None):
    request = {"Name": spec["name"], "EventPattern": json.dumps(spec["event_pattern"], sort_keys=True),
               "State": "ENABLED" if spec["enabled"] else "DISABLED", "Description": spec["description"]}
    if tags:
        request["Tags"] = tag_list(tags)
    return request


def rule_differences(spec, rule):
    """{part: (current, declared)} of a rule's pattern, description and state."""
    have = {"event_pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
            "description": rule.get("Description", ""), "enabled": rule.get("State") == "ENABLED"}
    return {part: (have[part], spec[part]) for part in have if have[part] != spec[part]}


def converge(module, events, spec, rule, result, diff):
    """Bring one existing rule, its targets and tags to `spec`, recording what differs."""
    name, check = spec["name"], module.check_mode
    wanted = rule_differences(spec, rule)
    if wanted and not check:
        events.put_rule(**rule_request(spec))
    targets = {t["Id"]: t["Arn"] for t in paginate(events, "list_targets_by_rule", "Targets", Rule=name)}
    declared = {t["id"]: t["arn"] for t in spec["targets"]}
    if targets != declared:
        wanted["targets"] = (targets, declared)
        if not check:
            put = [{"Id": i, "Arn": arn} for i, arn in sorted(declared.items()) if targets.get(i) != arn]
            stale = sorted(set(targets) - set(declared))
            if put:
                events.put_targets(Rule=name, Targets=put)
            if stale:
                events.remove_targets(Rule=name, Ids=stale)
    if module.params["tags"] is not None:
        tags = tag_dict(events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags"))
        to_unset, to_set, after = purged_tags(tags, module.params["tags"], module.params["purge_tags"])
        if to_set or to_unset:
            wanted["tags"] = (tags, after)
            if not check:
                if to_unset:
                    events.untag_resource(ResourceARN=rule["Arn"], TagKeys=to_unset)
                if to_set:
                    events.tag_resource(ResourceARN=rule["Arn"], Tags=tag_list(to_set))
    record_changes(result, diff, name, wanted)


def main():
    argument_spec = dict(
        rules=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            description=dict(type="str", default=""),
            event_pattern=dict(type="dict", required=True),
            enabled=dict(type="bool", default=True),
            targets=dict(type="list", elements="dict", default=[], options=dict(
                id=dict(type="str", required=True),
                arn=dict(type="str", required=True),
            )),
        )),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs = module.params["rules"]
    fail_on_repeated_names(module, [s["name"] for s in specs], "Rules")
    for spec in specs:
        fail_on_repeated_names(module, [t["id"] for t in spec["targets"]], f"Targets of {spec['name']}")
    events = module.client("events")
    results, diff = [], {"before": {}, "after": {}}
    try:
        rules = existing_rules(events, [s["name"] for s in specs])
        for spec in specs:
            name, rule = spec["name"], rules.get(spec["name"])
            result = {"name": name, "arn": rule["Arn"] if rule else None, "created": False, "deleted": False, "changed": []}
            results.append(result)
            if module.params["state"] == "absent":
                if rule:
                    result["deleted"] = True
                    diff["before"][name], diff["after"][name] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        ids = [t["Id"] for t in paginate(events, "list_targets_by_rule", "Targets", Rule=name)]
                        if ids:
                            events.remove_targets(Rule=name, Ids=ids)
                        events.delete_rule(Name=name)
            elif rule:
                converge(module, events, spec, rule, result, diff)
            else:
                result["created"] = True
                diff["before"][name] = {"exists": False}
                diff["after"][name] = {"exists": True, "event_pattern": spec["event_pattern"],
                                       "targets": {t["id"]: t["arn"] for t in spec["targets"]}}
                if module.check_mode:
                    continue
                result["arn"] = events.put_rule(**rule_request(spec, module.params["tags"]))["RuleArn"]
                if spec["targets"]:
                    events.put_targets(Rule=name, Targets=[{"Id": t["id"], "Arn": t["arn"]} for t in spec["targets"]])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the EventBridge rules")
    changed = any(r["created"] or r["deleted"] or r["changed"] for r in results)
    module.exit_json(changed=changed, rules=results, changes=changes_of(results), diff=diff)


if __name__ == "__main__":
    main()
