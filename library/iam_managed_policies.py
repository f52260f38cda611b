#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_managed_policies
short_description: Make customer managed IAM policies exactly as declared, or delete them, in one task
description:
  - For each policy, makes sure it exists under its path with the given document as its default
    version, and with exactly the given tags; or, with O(state=absent), that it is gone.
  - Each policy is read by its ARN, built from the caller's account and partition, so a no-op costs
    one C(GetPolicy) and one C(GetPolicyVersion) per policy.
  - A changed document becomes a new default version. IAM keeps at most five versions; when a policy
    has five, the oldest that is not the default is deleted to make room.
  - IAM cannot change a policy's description after creation; a different description is reported
    as a warning, not changed.
  - Deleting a policy detaches it from every group, user and role first, then deletes its other
    versions.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.iam_managed_policy)? It finds a policy by name by listing every policy in the
    account, AWS managed ones included (over a thousand on AWS), on every run, and takes one policy per
    module run. Measured by bench/upstream.py (5 resources, a run that changes nothing, Ansible's linear
    strategy) - 5 module runs and 95 reads in 6.2 s in a loop; 1 run and 11 reads in 1.5 s here.
options:
  policies:
    description: The policies.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The policy's name.
        type: str
        required: true
      path:
        description: The policy's path, starting and ending with C(/).
        type: str
        default: /
      description:
        description: The policy's description, set when it is created.
        type: str
        default: ""
      policy:
        description: The policy document. Required unless O(state=absent).
        type: dict
  tags:
    description: Tags every policy carries; other tags are removed, unless O(purge_tags=false). Ignored when O(state=absent).
    type: dict
    default: {}
  purge_tags:
    description: Whether tags not in O(tags) are removed. AWS's own C(aws:) tags never are.
    type: bool
    default: true
  state:
    description: Whether the policies exist.
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
- name: The administrators' policy, least privilege, MFA required
  iam_managed_policies:
    policies:
      - name: RNASeqAdministratorPolicy
        description: Administer the RNA-seq environment (MFA required)
        policy: "{{ identity_policy_document }}"
    tags: {Project: rna-seq-hipaa, Environment: production}

- name: Delete it, detaching it from whatever holds it
  iam_managed_policies:
    policies:
      - name: RNASeqAdministratorPolicy
    state: absent
"""

RETURN = r"""
policies:
  description: By name, each policy's ARN and default version. Empty strings for policies only planned in check mode or deleted.
  returned: always
  type: dict
  sample:
    RNASeqAdministratorPolicy:
      arn: arn:aws:iam::123456789012:policy/RNASeqAdministratorPolicy
      default_version_id: v2
changes:
  description: By policy name, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    RNASeqAdministratorPolicy: [document]
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
from ansible.module_utils.toolkit_aws import warn
from ansible.module_utils.toolkit_iam import policy_document
from ansible.module_utils.toolkit_lookup import split_arn

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies


def current_state(policy, document):
    """What the diff shows of an existing policy."""
    return {"document": document, "description": policy.get("Description", ""), "tags": tag_dict(policy.get("Tags", []))}


class Policies:
    def __init__(self, module, arn_prefix):
        self.module = module
        self.iam = module.client("iam")
        self.arn_prefix = arn_prefix
        self.tags = {str(k): str(v) for k, v in module.params["tags"].items()}
        self.purge_tags = module.params["purge_tags"]
        self.check = module.check_mode
        self.before, self.after, self.changes, self.found = {}, {}, {}, {}

    def note(self, name, change):
        self.changes.setdefault(name, []).append(change)

    def arn(self, spec):
        return f"{self.arn_prefix}{spec['path']}{spec['name']}"

    def read(self, spec):
        """The policy and its default version's document, or (None, None)."""
        try:
            policy = self.iam.get_policy(PolicyArn=self.arn(spec))["Policy"]
        except is_boto3_error_code("NoSuchEntity"):
            return None, None
        version = self.iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        return policy, policy_document(version["PolicyVersion"]["Document"])

    def declared(self, spec):
        return {"document": spec["policy"], "description": spec["description"], "tags": self.tags}

    def present(self, spec):
        name = spec["name"]
        policy, document = self.read(spec)
        self.after[name] = self.declared(spec)
        if policy is None:
            self.create(spec)
            return
        current = self.before[name] = current_state(policy, document)
        self.found[name] = {"arn": policy["Arn"], "default_version_id": policy["DefaultVersionId"]}
        if current["description"] != spec["description"]:
            warn(self.module, f"IAM cannot change the description of the policy {name}: it keeps "
                              f"{current['description']!r}. Delete and recreate it to change it.")
            self.after[name]["description"] = current["description"]
        if compare_policies(document, spec["policy"]):
            self.note(name, "document")
            if not self.check:
                self.found[name]["default_version_id"] = self.new_version(policy["Arn"], spec["policy"])
        stale, missing, self.after[name]["tags"] = purged_tags(current["tags"], self.tags, self.purge_tags)
        if stale or missing:
            self.note(name, "tags")
            if not self.check:
                if stale:
                    self.iam.untag_policy(PolicyArn=policy["Arn"], TagKeys=stale)
                if missing:
                    self.iam.tag_policy(PolicyArn=policy["Arn"], Tags=tag_list(missing))

    def create(self, spec):
        name = spec["name"]
        self.before[name] = None
        self.note(name, "created")
        self.found[name] = {"arn": "", "default_version_id": ""}
        if self.check:
            return
        params = {"PolicyName": name, "Path": spec["path"], "PolicyDocument": json.dumps(spec["policy"])}
        if spec["description"]:
            params["Description"] = spec["description"]
        if self.tags:
            params["Tags"] = tag_list(self.tags)
        policy = self.iam.create_policy(**params)["Policy"]
        self.found[name] = {"arn": policy["Arn"], "default_version_id": policy["DefaultVersionId"]}

    def new_version(self, arn, document):
        """Make the document the default version; at IAM's limit, delete the oldest other version first."""
        params = {"PolicyArn": arn, "PolicyDocument": json.dumps(document), "SetAsDefault": True}
        try:
            created = self.iam.create_policy_version(**params)
        except is_boto3_error_code("LimitExceeded"):
            versions = paginate(self.iam, "list_policy_versions", "Versions", PolicyArn=arn)
            oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
            self.iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
            created = self.iam.create_policy_version(**params)
        return created["PolicyVersion"]["VersionId"]

    def absent(self, spec):
        name = spec["name"]
        policy, document = self.read(spec)
        self.after[name] = None
        self.found[name] = {"arn": "", "default_version_id": ""}
        if policy is None:
            self.before[name] = None
            return
        self.before[name] = current_state(policy, document)
        self.note(name, "deleted")
        if self.check:
            return
        arn = policy["Arn"]
        holders = {"PolicyGroups": ("GroupName", self.iam.detach_group_policy),
                   "PolicyUsers": ("UserName", self.iam.detach_user_policy),
                   "PolicyRoles": ("RoleName", self.iam.detach_role_policy)}
        for field, (key, detach) in holders.items():
            for holder in paginate(self.iam, "list_entities_for_policy", field, PolicyArn=arn):
                detach(PolicyArn=arn, **{key: holder[key]})
        for version in paginate(self.iam, "list_policy_versions", "Versions", PolicyArn=arn):
            if not version["IsDefaultVersion"]:
                self.iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        self.iam.delete_policy(PolicyArn=arn)


def arn_prefix(module):
    """arn:<partition>:iam::<account>:policy, from the caller's identity."""
    caller = split_arn(module.client("sts").get_caller_identity()["Arn"])
    return f"arn:{caller['partition']}:iam::{caller['account']}:policy"


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            policies=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    path=dict(type="str", default="/"),
                    description=dict(type="str", default=""),
                    policy=dict(type="dict"),
                ),
            ),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    specs, state = module.params["policies"], module.params["state"]
    fail_on_repeated_names(module, [spec["name"] for spec in specs], "Policies")
    bad_paths = sorted(spec["name"] for spec in specs if not (spec["path"].startswith("/") and spec["path"].endswith("/")))
    if bad_paths:
        module.fail_json(msg=f"A policy's path starts and ends with '/': check {', '.join(bad_paths)}")
    if state == "present":
        undocumented = sorted(spec["name"] for spec in specs if not spec["policy"])
        if undocumented:
            module.fail_json(msg=f"Policies without a document (option policy): {', '.join(undocumented)}")

    try:
        policies = Policies(module, arn_prefix(module))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the caller's account")
    for spec in specs:
        if spec["policy"]:
            spec["policy"] = policy_document(spec["policy"])
        try:
            getattr(policies, state)(spec)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to {'converge' if state == 'present' else 'delete'} the IAM policy {spec['name']}")
    module.exit_json(changed=bool(policies.changes), policies=policies.found, changes=policies.changes,
                     diff={"before": policies.before, "after": policies.after})


if __name__ == "__main__":
    main()
