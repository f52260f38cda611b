#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sns_topics
short_description: KMS-encrypted SNS topics with their policy and email subscriptions, as one list
description:
  - Creates each topic, encrypted with O(topics.kms_master_key_id), with the given policy and tags, and
    subscribes the given email addresses.
  - A topic with O(topics.state=absent) is deleted, with its subscriptions.
  - Subscriptions the list does not name are removed (confirmed ones; a pending confirmation cannot be
    removed and expires by itself). New email subscriptions wait for their owner to confirm them.
  - Supports check mode and diff.
notes:
  - Why not M(community.aws.sns_topic)? It cannot set a topic's KMS key, and the alarm topic must be
    encrypted with the audit key.
options:
  topics:
    description: The topics.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The topic's name.
        type: str
        required: true
      kms_master_key_id:
        description: The KMS key (ARN, ID or alias) that encrypts the topic's messages; required when present.
        type: str
      policy:
        description: The topic's access policy (a dict); the default policy when omitted.
        type: dict
      emails:
        description: Email addresses subscribed to the topic.
        type: list
        elements: str
        default: []
      tags:
        description: The topic's tags; others are removed, unless O(topics.purge_tags=false). Omitted, the tags
          are left alone.
        type: dict
      purge_tags:
        description: Whether tags not in O(topics.tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
      state:
        description: Whether the topic exists.
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
- name: The security alarms' topic
  sns_topics:
    topics:
      - name: rnaseq-security-alarms
        kms_master_key_id: alias/rnaseq-audit
        emails: [security@example.org]
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-security-alarms: [subscriptions]}
topics:
  description: Each topic's ARN and what changed (whether it was created or deleted, and the settings that differed).
  returned: always
  type: list
  elements: dict
  sample: [{name: rnaseq-security-alarms, arn: "arn:aws:sns:us-east-1:123456789012:rnaseq-security-alarms", created: false,
            deleted: false, changed: []}]
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(
        topics=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            kms_master_key_id=dict(type="str"),
            policy=dict(type="dict"),
            emails=dict(type="list", elements="str", default=[]),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ), required_if=[["state", "present", ["kms_master_key_id"]]]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    sns = module.client("sns")
    results, before, after = [], {}, {}
    try:
        existing = {arn.rsplit(":", 1)[-1]: arn for arn in (t["TopicArn"] for t in paginate(sns, "list_topics", "Topics"))}
        for spec in module.params["topics"]:
            name = spec["name"]
            arn = existing.get(name)
            result = {"name": name, "arn": arn, "created": False, "deleted": False, "changed": []}
            if spec["state"] == "absent":
                if arn:
                    result["deleted"] = True
                    before[name], after[name] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        sns.delete_topic(TopicArn=arn)
                results.append(result)
                continue
            attributes = {"KmsMasterKeyId": spec["kms_master_key_id"]}
            if spec.get("policy") is not None:
                attributes["Policy"] = spec["policy"]
            if not arn:
                result["created"] = True
                before[name], after[name] = {"exists": False}, {"exists": True, **attributes, "emails": spec["emails"]}
                if module.check_mode:
                    results.append(result)
                    continue
                create = {"Name": name, "Attributes": {k: json.dumps(v) if isinstance(v, dict) else v for k, v in attributes.items()}}
                if spec.get("tags"):
                    create["Tags"] = tag_list(spec["tags"])
                arn = result["arn"] = sns.create_topic(**create)["TopicArn"]
            else:
                current = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
                for key, value in attributes.items():
                    have = current.get(key)
                    if isinstance(value, dict):
                        have = json.loads(have) if have else None
                    if have != value:
                        result["changed"].append(key)
                        before.setdefault(name, {})[key] = have
                        after.setdefault(name, {})[key] = value
                        if not module.check_mode:
                            sns.set_topic_attributes(TopicArn=arn, AttributeName=key,
                                                            AttributeValue=json.dumps(value) if isinstance(value, dict) else value)
                if spec.get("tags") is not None:
                    tags = tag_dict(sns.list_tags_for_resource(ResourceArn=arn).get("Tags"))
                    wanted = {str(k): str(v) for k, v in spec["tags"].items()}
                    stale, missing, tags_after = purged_tags(tags, wanted, spec["purge_tags"])
                    if stale or missing:
                        result["changed"].append("tags")
                        before.setdefault(name, {})["tags"], after.setdefault(name, {})["tags"] = tags, tags_after
                        if not module.check_mode:
                            if stale:
                                sns.untag_resource(ResourceArn=arn, TagKeys=stale)
                            if missing:
                                sns.tag_resource(ResourceArn=arn, Tags=tag_list(missing))
            subscriptions = [] if result["created"] else paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn)
            emails = {s["Endpoint"]: s["SubscriptionArn"] for s in subscriptions if s["Protocol"] == "email"}
            missing = [e for e in spec["emails"] if e not in emails]
            # A pending confirmation has no ARN yet and cannot be removed.
            stale = [e for e, sub in emails.items() if e not in spec["emails"] and sub.startswith("arn:")]
            if missing or stale:
                result["changed"].append("subscriptions")
                before.setdefault(name, {})["emails"] = sorted(emails)
                after.setdefault(name, {})["emails"] = sorted(spec["emails"])
                if not module.check_mode:
                    for email in missing:
                        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
                    for email in stale:
                        sns.unsubscribe(SubscriptionArn=emails[email])
            results.append(result)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the SNS topics")
    changed = any(r["created"] or r["deleted"] or r["changed"] for r in results)
    module.exit_json(changed=changed, topics=results, changes=changes_of(results), diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
