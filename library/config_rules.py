#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config_rules
short_description: A list of AWS Config managed rules in one task
description:
  - Puts each AWS managed Config rule (by its source identifier) with its input parameters and scope,
    reading all of them with one paginated call and writing only the rules that differ.
  - Rules named with O(name_prefix) that the list does not declare are deleted when O(purge=true).
  - Supports check mode and diff.
notes:
  - Why not M(community.aws.config_rule)? It does not support check mode, so C(--check) skips it, and it
    takes one rule per module run (the quick start and HIPAA sets are a dozen rules).
options:
  name_prefix:
    description: Prefix of every rule name this module owns (prepended to O(rules.name)).
    type: str
    default: ""
  purge:
    description: Delete owned rules the list does not declare.
    type: bool
    default: true
  rules:
    description: The rules.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The rule's name (after O(name_prefix)).
        type: str
        required: true
      identifier:
        description: The AWS managed rule's source identifier, such as V(CLOUD_TRAIL_ENABLED).
        type: str
        required: true
      parameters:
        description: The rule's input parameters (values are sent as strings).
        type: dict
        default: {}
      resource_types:
        description: Resource types the rule evaluates (its scope); all when empty.
        type: list
        elements: str
        default: []
      description:
        description: The rule's description.
        type: str
        default: ""
      frequency:
        description: For periodic rules, how often they run.
        type: str
        choices: [One_Hour, Three_Hours, Six_Hours, Twelve_Hours, TwentyFour_Hours]
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The quick start's rules and more
  config_rules:
    name_prefix: rnaseq-
    rules:
      - name: cloudtrail-enabled
        identifier: CLOUD_TRAIL_ENABLED
      - name: required-tags
        identifier: REQUIRED_TAGS
        parameters: {tag1Key: Project, tag2Key: Environment}
        resource_types: ["AWS::EC2::Instance", "AWS::EC2::Volume"]
"""

RETURN = r"""
rules:
  description: Each rule's name and what was done (created, updated, unchanged).
  returned: always
  type: list
  elements: dict
deleted:
  description: Owned rules deleted because the list no longer declares them.
  returned: always
  type: list
  elements: str
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def wanted(spec, name):
    rule = {"ConfigRuleName": name, "Description": spec["description"],
            "Source": {"Owner": "AWS", "SourceIdentifier": spec["identifier"]}}
    if spec["parameters"]:
        rule["InputParameters"] = json.dumps({k: str(v) for k, v in sorted(spec["parameters"].items())})
    if spec["resource_types"]:
        rule["Scope"] = {"ComplianceResourceTypes": sorted(spec["resource_types"])}
    if spec.get("frequency"):
        rule["MaximumExecutionFrequency"] = spec["frequency"]
    return rule


def comparable(rule):
    """The fields this module sets, from a described or a wanted rule."""
    source = rule.get("Source") or {}
    parameters = rule.get("InputParameters")
    return {
        "description": rule.get("Description") or "",
        "identifier": source.get("SourceIdentifier"),
        "parameters": json.loads(parameters) if parameters and parameters != "{}" else {},
        "resource_types": sorted((rule.get("Scope") or {}).get("ComplianceResourceTypes") or []),
        "frequency": rule.get("MaximumExecutionFrequency"),
    }


def main():
    argument_spec = dict(
        name_prefix=dict(type="str", default=""),
        purge=dict(type="bool", default=True),
        rules=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            identifier=dict(type="str", required=True),
            parameters=dict(type="dict", default={}),
            resource_types=dict(type="list", elements="str", default=[]),
            description=dict(type="str", default=""),
            frequency=dict(type="str", choices=["One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"]),
        )),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    prefix = module.params["name_prefix"]
    config = module.client("config")
    results, deleted, before, after = [], [], {}, {}
    try:
        existing = {r["ConfigRuleName"]: r for r in paginate(config, "describe_config_rules", "ConfigRules")}
        names = []
        for spec in module.params["rules"]:
            name = prefix + spec["name"]
            names.append(name)
            rule = wanted(spec, name)
            found = existing.get(name)
            state = "unchanged"
            if not found or comparable(found) != comparable(rule):
                state = "updated" if found else "created"
                before[name] = comparable(found) if found else None
                after[name] = comparable(rule)
                if not module.check_mode:
                    config.put_config_rule(ConfigRule=rule)
            results.append({"name": name, "state": state})
        if module.params["purge"] and prefix:
            deleted = sorted(n for n in existing if n.startswith(prefix) and n not in names)
            for name in deleted:
                before[name], after[name] = comparable(existing[name]), None
                if not module.check_mode:
                    config.delete_config_rule(ConfigRuleName=name)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the AWS Config rules")
    changed = bool(deleted) or any(r["state"] != "unchanged" for r in results)
    module.exit_json(changed=changed, rules=results, deleted=deleted, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
