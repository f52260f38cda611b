#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kms_keys
short_description: Make customer managed KMS keys, found by alias, exactly as declared, in one task
description:
  - For each key, makes sure its alias names an enabled symmetric customer managed key with the
    given description, key policy, rotation setting and exactly the given tags.
  - A no-op costs four reads per key (C(DescribeKey) by alias, C(GetKeyPolicy),
    C(GetKeyRotationStatus), C(ListResourceTags)).
  - When no key has the alias, an enabled customer managed key without an alias that carries every
    tag of O(keys[].match_tags) is given the alias, instead of a second key being made. That is the
    key a run interrupted between C(CreateKey) and C(CreateAlias) left behind.
  - A key pending deletion (a teardown scheduled it) has its deletion cancelled and is enabled
    again; a disabled key is enabled.
  - A key's spec and usage cannot change once it exists; a key of another spec or usage is refused.
  - A key with O(keys[].state=absent) is scheduled for deletion after O(keys[].pending_window_days); its
    alias stays until KMS deletes it, so the key can still be found, and a run with V(present) within the
    window cancels the deletion. A key already pending deletion is left as it is.
  - KMS itself refuses a key policy that would lock the caller out of the key (the policy lockout
    safety check is never bypassed).
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.kms_key)? It reads each key two or three times over, with its grants and every
    alias of the account, and takes one key per module run; nor does it adopt a key left without its
    alias. Measured by bench/upstream.py (5 resources, a run that changes nothing, Ansible's linear
    strategy) - 5 module runs and 90 reads in 4.0 s in a loop; 1 run and 20 reads in 1.6 s here.
options:
  keys:
    description: The keys.
    type: list
    elements: dict
    required: true
    suboptions:
      alias:
        description: The key's alias, with or without the V(alias/) prefix.
        type: str
        required: true
      description:
        description: The key's description.
        type: str
        default: ""
      policy:
        description: The key policy; required when present.
        type: dict
      enable_key_rotation:
        description: Whether KMS rotates the key's material every year.
        type: bool
        default: true
      key_spec:
        description: The key's spec, set when it is created.
        type: str
        default: SYMMETRIC_DEFAULT
      key_usage:
        description: The key's usage, set when it is created.
        type: str
        default: ENCRYPT_DECRYPT
      tags:
        description: The key's tags; other tags are removed, unless O(keys[].purge_tags=false).
        type: dict
        default: {}
      purge_tags:
        description: Whether tags not in O(keys[].tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
      match_tags:
        description:
          - The ownership tags. When no key has the alias, a key without an alias carrying all of these
            tags is taken as this one and given the alias.
          - Defaults to O(keys[].tags).
        type: dict
      state:
        description: Whether the key exists, or is scheduled for deletion.
        type: str
        choices: [present, absent]
        default: present
      pending_window_days:
        description: With O(keys[].state=absent), the days (7 to 30) before KMS deletes the key.
        type: int
        default: 30
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The pipeline's key, rotation on, policy for its admins and users only
  kms_keys:
    keys:
      - alias: alias/rnaseq-pipeline
        description: Encrypts the RNA-seq pipeline's data
        policy: "{{ storage_key_policy }}"
        tags: {Project: rna-seq-hipaa, Environment: production, Name: rnaseq-pipeline-key}
        match_tags: {Project: rna-seq-hipaa, Environment: production, Name: rnaseq-pipeline-key}
"""

RETURN = r"""
kms_keys:
  description: By alias as given, each key's ARN and ID. Empty strings for keys only planned in check mode.
  returned: always
  type: dict
  sample:
    alias/rnaseq-pipeline:
      key_arn: arn:aws:kms:us-east-1:123456789012:key/8fcfb9d7-4dbf-4bd7-a2b5-dc6c95f07414
      key_id: 8fcfb9d7-4dbf-4bd7-a2b5-dc6c95f07414
changes:
  description: By alias as given, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    alias/rnaseq-pipeline: [policy, rotation]
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list
from ansible.module_utils.toolkit_iam import policy_document
from ansible.module_utils.toolkit_lookup import alias_name

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies


def kms_tag_dict(tags):
    return tag_dict(tags, "TagKey", "TagValue")


def kms_tag_list(tags):
    return tag_list(tags, "TagKey", "TagValue")


class Keys:
    def __init__(self, module):
        self.module = module
        self.kms = module.client("kms")
        self.check = module.check_mode
        self.before, self.after, self.changes, self.found = {}, {}, {}, {}
        self._unaliased = None

    def note(self, alias, change):
        self.changes.setdefault(alias, []).append(change)

    def describe(self, key_id):
        try:
            return self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        except is_boto3_error_code("NotFoundException"):
            return None

    def unaliased_keys(self):
        """(metadata, tags) of the enabled customer managed keys no alias names; read once, on demand."""
        if self._unaliased is None:
            aliased = {a.get("TargetKeyId") for a in paginate(self.kms, "list_aliases", "Aliases")}
            self._unaliased = []
            for listed in paginate(self.kms, "list_keys", "Keys"):
                if listed["KeyId"] in aliased:
                    continue
                metadata = self.describe(listed["KeyId"])
                if metadata and metadata["KeyManager"] == "CUSTOMER" and metadata["KeyState"] == "Enabled":
                    tags = paginate(self.kms, "list_resource_tags", "Tags", KeyId=metadata["KeyId"])
                    self._unaliased.append((metadata, kms_tag_dict(tags)))
        return self._unaliased

    def adoptable(self, spec):
        wanted = spec["match_tags"] if spec["match_tags"] is not None else spec["tags"]
        if not wanted:
            return None
        for metadata, tags in self.unaliased_keys():
            if all(tags.get(k) == v for k, v in wanted.items()):
                self._unaliased.remove((metadata, tags))
                return metadata
        return None

    def schedule_deletion(self, spec):
        alias = spec["alias"]
        metadata = self.describe(alias_name(alias))
        self.after[alias] = None if metadata is None else {"state": "PendingDeletion"}
        self.before[alias] = None if metadata is None else {"state": metadata["KeyState"]}
        if metadata is None or metadata["KeyState"] == "PendingDeletion":
            return
        if metadata["KeyManager"] != "CUSTOMER":
            self.module.fail_json(msg=f"The key {alias_name(alias)} ({metadata['KeyId']}) is AWS managed and cannot be deleted.")
        self.found[alias] = {"key_arn": metadata["Arn"], "key_id": metadata["KeyId"]}
        self.note(alias, "deletion scheduled")
        if not self.check:
            self.kms.schedule_key_deletion(KeyId=metadata["KeyId"], PendingWindowInDays=spec["pending_window_days"])

    def converge(self, spec):
        alias = spec["alias"]
        self.after[alias] = {"description": spec["description"], "policy": spec["policy"],
                             "enable_key_rotation": spec["enable_key_rotation"], "tags": spec["tags"], "state": "Enabled"}
        metadata = self.describe(alias_name(alias))
        adopted = None
        if metadata is None:
            adopted = metadata = self.adoptable(spec)
            if metadata is None:
                self.create(spec)
                return
        self.refuse_unchangeable(spec, metadata)  # before any change to it
        if adopted:
            self.note(alias, "alias")
            if not self.check:
                self.kms.create_alias(AliasName=alias_name(alias), TargetKeyId=metadata["KeyId"])
        self.update(spec, metadata)

    def refuse_unchangeable(self, spec, metadata):
        for option, field in (("key_spec", "KeySpec"), ("key_usage", "KeyUsage")):
            if metadata.get(field, spec[option]) != spec[option]:
                self.module.fail_json(msg=f"The key {alias_name(spec['alias'])} ({metadata['KeyId']}) has {field} "
                                          f"{metadata[field]}, not {spec[option]}, and KMS cannot change it. Nothing was changed "
                                          f"for it: point the alias at a new key, or declare {option}: {metadata[field]}.")
        if metadata["KeyManager"] != "CUSTOMER" or metadata["KeyState"] not in ("Enabled", "Disabled", "PendingDeletion"):
            self.module.fail_json(msg=f"The key {alias_name(spec['alias'])} ({metadata['KeyId']}) is {metadata['KeyManager']} "
                                      f"managed and {metadata['KeyState']}; only an enabled, disabled or pending deletion "
                                      "customer managed key can be made as declared.")

    def update(self, spec, metadata):
        alias, key_id = spec["alias"], metadata["KeyId"]
        self.found[alias] = {"key_arn": metadata["Arn"], "key_id": key_id}
        state = metadata["KeyState"]
        if state == "PendingDeletion":
            self.note(alias, "deletion cancelled")
            if not self.check:
                self.kms.cancel_key_deletion(KeyId=key_id)
            state = "Disabled"
        if state == "Disabled":
            self.note(alias, "enabled")
            if not self.check:
                self.kms.enable_key(KeyId=key_id)
        policy = policy_document(self.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        try:
            rotation = self.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
        except is_boto3_error_code("KMSInvalidStateException"):
            rotation = None  # a key still disabled (check mode) does not say
        tags = kms_tag_dict(paginate(self.kms, "list_resource_tags", "Tags", KeyId=key_id))
        self.before[alias] = {"description": metadata.get("Description", ""), "policy": policy,
                              "enable_key_rotation": rotation, "tags": tags, "state": metadata["KeyState"]}

        if metadata.get("Description", "") != spec["description"]:
            self.note(alias, "description")
            if not self.check:
                self.kms.update_key_description(KeyId=key_id, Description=spec["description"])
        if compare_policies(policy, spec["policy"]):
            self.note(alias, "policy")
            if not self.check:
                self.kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(spec["policy"]),
                                               BypassPolicyLockoutSafetyCheck=False)
        if rotation != spec["enable_key_rotation"]:
            self.note(alias, "rotation")
            if not self.check:
                toggle = self.kms.enable_key_rotation if spec["enable_key_rotation"] else self.kms.disable_key_rotation
                toggle(KeyId=key_id)
        stale, missing, self.after[alias]["tags"] = purged_tags(tags, spec["tags"], spec["purge_tags"])
        if stale or missing:
            self.note(alias, "tags")
            if not self.check:
                if stale:
                    self.kms.untag_resource(KeyId=key_id, TagKeys=stale)
                if missing:
                    self.kms.tag_resource(KeyId=key_id, Tags=kms_tag_list(missing))

    def create(self, spec):
        alias = spec["alias"]
        self.before[alias] = None
        self.note(alias, "created")
        self.found[alias] = {"key_arn": "", "key_id": ""}
        if self.check:
            return
        # Tagged in the create call, so a run killed before the alias exists leaves a key the next run adopts.
        params = {"Policy": json.dumps(spec["policy"]), "KeySpec": spec["key_spec"], "KeyUsage": spec["key_usage"],
                  "Origin": "AWS_KMS", "BypassPolicyLockoutSafetyCheck": False, "Tags": kms_tag_list(spec["tags"])}
        if spec["description"]:
            params["Description"] = spec["description"]
        metadata = self.kms.create_key(**params)["KeyMetadata"]
        self.found[alias] = {"key_arn": metadata["Arn"], "key_id": metadata["KeyId"]}
        self.kms.create_alias(AliasName=alias_name(alias), TargetKeyId=metadata["KeyId"])
        if spec["enable_key_rotation"]:
            self.kms.enable_key_rotation(KeyId=metadata["KeyId"])


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            keys=dict(
                type="list",
                elements="dict",
                required=True,
                no_log=False,
                options=dict(
                    alias=dict(type="str", required=True),
                    description=dict(type="str", default=""),
                    policy=dict(type="dict"),
                    enable_key_rotation=dict(type="bool", default=True, no_log=False),
                    key_spec=dict(type="str", default="SYMMETRIC_DEFAULT", no_log=False),
                    key_usage=dict(type="str", default="ENCRYPT_DECRYPT", no_log=False),
                    tags=dict(type="dict", default={}),
                    purge_tags=dict(type="bool", default=True),
                    match_tags=dict(type="dict"),
                    state=dict(type="str", choices=["present", "absent"], default="present"),
                    pending_window_days=dict(type="int", default=30),
                ),
                required_if=[["state", "present", ["policy"]]],
            ),
        ),
        supports_check_mode=True,
    )
    specs = module.params["keys"]
    fail_on_repeated_names(module, [alias_name(spec["alias"]) for spec in specs], "Key aliases")
    reserved = sorted(spec["alias"] for spec in specs if alias_name(spec["alias"]).startswith("alias/aws/"))
    if reserved:
        module.fail_json(msg=f"Aliases beginning alias/aws/ are AWS's own: {', '.join(reserved)}")
    windows = sorted(spec["alias"] for spec in specs if spec["state"] == "absent" and not 7 <= spec["pending_window_days"] <= 30)
    if windows:
        module.fail_json(msg=f"KMS takes a pending window of 7 to 30 days: {', '.join(windows)}")

    keys = Keys(module)
    for spec in specs:
        spec["tags"] = {str(k): str(v) for k, v in spec["tags"].items()}
        try:
            (keys.converge if spec["state"] == "present" else keys.schedule_deletion)(spec)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to converge the KMS key {alias_name(spec['alias'])}")
    module.exit_json(changed=bool(keys.changes), kms_keys=keys.found, changes=keys.changes,
                     diff={"before": keys.before, "after": keys.after})


if __name__ == "__main__":
    main()
