#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_roles
short_description: Make IAM service roles exactly as declared, with their policies and instance profiles, or delete them, in one task
description:
  - For each role, makes sure it exists with the given trust policy, description and tags, with
    exactly the given managed policies attached and exactly the given inline policies, and, when
    asked, an instance profile of the same name that holds it.
  - Anything attached or inlined that the declaration does not name is removed, so a policy an
    operator added by hand shows up as drift and is undone.
  - With O(state=absent), deletes each role that exists, after detaching its managed policies, deleting its
    inline policies, taking it out of every instance profile and deleting the instance profile named like it.
    An instance profile named like a role that is gone is deleted too, when it holds no role.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.iam_role) and M(amazon.aws.iam_policy) in a loop? Each role then costs two or
    three module runs. Measured by bench/upstream.py (5 resources, a run that changes nothing, Ansible's
    linear strategy), one inline policy each - 10 module runs and 35 reads in 6.8 s; 1 run and 20 reads
    in 1.4 s here.
options:
  roles:
    description: The roles.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The role's name.
        type: str
        required: true
      trust_policy:
        description: The assume-role (trust) policy document. Required unless O(state=absent).
        type: dict
      description:
        description: The role's description.
        type: str
        default: ""
      managed_policies:
        description: ARNs of the managed policies to attach; every other attached policy is detached.
        type: list
        elements: str
        default: []
      inline_policies:
        description: Inline policies by name; every other inline policy is deleted.
        type: dict
        default: {}
      instance_profile:
        description: Whether an instance profile of the same name holds the role (created tagged).
        type: bool
        default: false
  tags:
    description: Tags every role (and instance profile) carries; other tags are removed, unless O(purge_tags=false).
      Ignored when O(state=absent).
    type: dict
    default: {}
  purge_tags:
    description: Whether tags not in O(tags) are removed. AWS's own C(aws:) tags never are.
    type: bool
    default: true
  state:
    description: Whether the roles should exist. Only O(roles[].name) counts when they should not.
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
- name: The roles CloudTrail and VPC Flow Logs deliver with, each writing into its one log group
  iam_roles:
    roles:
      - name: rnaseq-cloudtrail-logs
        trust_policy: "{{ 'cloudtrail.amazonaws.com' | trust_policy }}"
        inline_policies:
          write-into-its-log-group: "{{ trail_log_policy }}"
      - name: rnaseq-ecs-instance
        trust_policy: "{{ 'ec2.amazonaws.com' | trust_policy }}"
        managed_policies: ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
        instance_profile: true
    tags: {Project: rna-seq-hipaa, Environment: production}

- name: The teardown - delete the roles, their policies and the instance profile
  iam_roles:
    roles:
      - name: rnaseq-cloudtrail-logs
      - name: rnaseq-ecs-instance
    state: absent
"""

RETURN = r"""
roles:
  description: By name, each role's ARN and, when it has one, its instance profile's ARN. Empty strings for roles only planned in check mode, and for deleted ones.
  returned: always
  type: dict
  sample:
    rnaseq-ecs-instance:
      arn: arn:aws:iam::123456789012:role/rnaseq-ecs-instance
      instance_profile_arn: arn:aws:iam::123456789012:instance-profile/rnaseq-ecs-instance
changes:
  description: By role name, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    rnaseq-cloudtrail-logs: [created, "inline policy write-into-its-log-group"]
    rnaseq-ecs-instance: [deleted]
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
from ansible.module_utils.toolkit_aws import tag_changes
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list
from ansible.module_utils.toolkit_iam import attached_policy_arns
from ansible.module_utils.toolkit_iam import inline_policy_names
from ansible.module_utils.toolkit_iam import policy_document
from ansible.module_utils.toolkit_iam import remove_policies

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies


class Roles:
    def __init__(self, module):
        self.module = module
        self.iam = module.client("iam")
        self.tags = {str(k): str(v) for k, v in module.params["tags"].items()}
        self.purge_tags = module.params["purge_tags"]
        self.check = module.check_mode
        self.before, self.after, self.changes, self.arns = {}, {}, {}, {}

    def note(self, name, change):
        self.changes.setdefault(name, []).append(change)

    def read(self, name):
        try:
            return self.iam.get_role(RoleName=name)["Role"]
        except is_boto3_error_code("NoSuchEntity"):
            return None

    def converge(self, spec):
        name = spec["name"]
        role = self.read(name)
        if role is None:
            self.create(spec)
            return
        attached = attached_policy_arns(self.iam, "role", name)
        inline = {policy: policy_document(self.iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
                  for policy in inline_policy_names(self.iam, "role", name)}
        current = {
            "trust_policy": policy_document(role["AssumeRolePolicyDocument"]),
            "description": role.get("Description", ""),
            "managed_policies": attached,
            "inline_policies": inline,
            "tags": tag_dict(role.get("Tags", [])),
        }
        self.before[name] = current
        self.after[name] = self.declared(spec)
        self.arns[name] = {"arn": role["Arn"]}
        self.update(spec, current)
        if spec["instance_profile"]:
            self.arns[name]["instance_profile_arn"] = self.instance_profile(name)

    def declared(self, spec):
        return {
            "trust_policy": spec["trust_policy"],
            "description": spec["description"],
            "managed_policies": sorted(spec["managed_policies"]),
            "inline_policies": spec["inline_policies"],
            "tags": self.tags,
        }

    def create(self, spec):
        name = spec["name"]
        self.before[name], self.after[name] = None, self.declared(spec)
        self.note(name, "created")
        self.arns[name] = {"arn": ""}
        if spec["instance_profile"]:
            self.arns[name]["instance_profile_arn"] = ""
        if self.check:
            return
        params = {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(spec["trust_policy"]),
                  "Description": spec["description"]}
        if self.tags:
            params["Tags"] = tag_list(self.tags)
        self.arns[name]["arn"] = self.iam.create_role(**params)["Role"]["Arn"]
        for arn in spec["managed_policies"]:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy, document in spec["inline_policies"].items():
            self.iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document))
        if spec["instance_profile"]:
            self.arns[name]["instance_profile_arn"] = self.instance_profile(name)

    def update(self, spec, current):
        name = spec["name"]
        if compare_policies(current["trust_policy"], spec["trust_policy"]):
            self.note(name, "trust policy")
            if not self.check:
                self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(spec["trust_policy"]))
        if current["description"] != spec["description"]:
            self.note(name, "description")
            if not self.check:
                self.iam.update_role(RoleName=name, Description=spec["description"])
        for arn in sorted(set(spec["managed_policies"]) - set(current["managed_policies"])):
            self.note(name, f"attach {arn}")
            if not self.check:
                self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for arn in sorted(set(current["managed_policies"]) - set(spec["managed_policies"])):
            self.note(name, f"detach {arn}")
            if not self.check:
                self.iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        for policy, document in sorted(spec["inline_policies"].items()):
            if policy not in current["inline_policies"] or compare_policies(current["inline_policies"][policy], document):
                self.note(name, f"inline policy {policy}")
                if not self.check:
                    self.iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document))
        for policy in sorted(set(current["inline_policies"]) - set(spec["inline_policies"])):
            self.note(name, f"delete inline policy {policy}")
            if not self.check:
                self.iam.delete_role_policy(RoleName=name, PolicyName=policy)
        stale, missing, self.after[name]["tags"] = purged_tags(current["tags"], self.tags, self.purge_tags)
        if stale or missing:
            self.note(name, "tags")
            if not self.check:
                if stale:
                    self.iam.untag_role(RoleName=name, TagKeys=stale)
                if missing:
                    self.iam.tag_role(RoleName=name, Tags=tag_list(missing))

    def absent(self, spec):
        """Delete the role named in `spec` and what IAM refuses to delete it with."""
        name = spec["name"]
        role = self.read(name)
        self.arns[name], self.after[name] = {"arn": ""}, None
        if role is None:
            self.before[name] = None
            self.orphan_profile(name)
            return
        attached, inline = attached_policy_arns(self.iam, "role", name), inline_policy_names(self.iam, "role", name)
        profiles = sorted(p["InstanceProfileName"] for p in paginate(self.iam, "list_instance_profiles_for_role", "InstanceProfiles",
                                                                      RoleName=name))
        self.before[name] = {"managed_policies": attached, "inline_policies": inline, "instance_profiles": profiles,
                             "tags": tag_dict(role.get("Tags", []))}
        self.note(name, "deleted")
        if self.check:
            return
        remove_policies(self.iam, "role", name, attached, inline)
        for profile in profiles:
            self.iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=name)
            if profile == name:
                self.iam.delete_instance_profile(InstanceProfileName=profile)
        self.iam.delete_role(RoleName=name)
        if name not in profiles:
            self.orphan_profile(name)

    def orphan_profile(self, name):
        """Delete an instance profile named like a role that is gone, when the profile holds no role."""
        try:
            profile = self.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except is_boto3_error_code("NoSuchEntity"):
            return
        if profile.get("Roles"):
            return
        self.note(name, "deleted the empty instance profile")
        if not self.check:
            self.iam.delete_instance_profile(InstanceProfileName=name)

    def profile_tags(self, name, current):
        stale, missing = tag_changes(current, self.tags, self.purge_tags)
        if not (stale or missing):
            return
        self.note(name, "instance profile tags")
        if self.check:
            return
        if stale:
            self.iam.untag_instance_profile(InstanceProfileName=name, TagKeys=stale)
        if missing:
            self.iam.tag_instance_profile(InstanceProfileName=name, Tags=tag_list(missing))

    def instance_profile(self, name):
        """The ARN of the instance profile named like the role, made to hold only it."""
        try:
            profile = self.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except is_boto3_error_code("NoSuchEntity"):
            profile = None
        if profile is None:
            self.note(name, "instance profile")
            if self.check:
                return ""
            params = {"InstanceProfileName": name, **({"Tags": tag_list(self.tags)} if self.tags else {})}
            profile = self.iam.create_instance_profile(**params)["InstanceProfile"]
            profile["Roles"] = []
        else:
            self.profile_tags(name, tag_dict(profile.get("Tags", [])))
        held = [role["RoleName"] for role in profile.get("Roles", [])]
        for other in held:
            if other != name:
                self.note(name, f"instance profile: remove {other}")
                if not self.check:
                    self.iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=other)
        if name not in held:
            self.note(name, "instance profile: add the role")
            if not self.check:
                self.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return profile["Arn"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            roles=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    trust_policy=dict(type="dict"),
                    description=dict(type="str", default=""),
                    managed_policies=dict(type="list", elements="str", default=[]),
                    inline_policies=dict(type="dict", default={}),
                    instance_profile=dict(type="bool", default=False),
                ),
            ),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    specs, state = module.params["roles"], module.params["state"]
    fail_on_repeated_names(module, [spec["name"] for spec in specs], "Roles")
    if state == "present":
        untrusted = sorted(spec["name"] for spec in specs if not spec["trust_policy"])
        if untrusted:
            module.fail_json(msg=f"Roles without a trust policy (option trust_policy): {', '.join(untrusted)}")

    roles = Roles(module)
    for spec in specs:
        spec["inline_policies"] = {str(k): policy_document(v) for k, v in spec["inline_policies"].items()}
        try:
            if state == "present":
                roles.converge(spec)
            else:
                roles.absent(spec)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to {'converge' if state == 'present' else 'delete'} the IAM role {spec['name']}")
    module.exit_json(changed=bool(roles.changes), roles=roles.arns, changes=roles.changes,
                     diff={"before": roles.before, "after": roles.after})


if __name__ == "__main__":
    main()
