#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_groups
short_description: Make IAM groups, their attached policies and members as declared, or delete them, in one task
description:
  - For each group, makes sure it exists (a new one at path C(/); an existing one keeps its path)
    and, where declared, has exactly the given managed policies attached and the given users as
    members.
  - One C(GetGroup) call reads a group and its members, and one C(ListAttachedGroupPolicies) call its
    policies, only when O(groups[].managed_policies) is declared.
  - Users must exist; IAM refuses to add an unknown user, and the module says which.
  - With O(state=absent), deletes each group that exists, after removing its members (the users stay),
    detaching its managed policies and deleting its inline policies.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.iam_group)? It reads the group and its policies twice each per module run,
    whatever the task declares (counted in its code), and takes one group per run.
options:
  groups:
    description: The groups.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The group's name.
        type: str
        required: true
      managed_policies:
        description: ARNs of the managed policies attached to it. Omitted, its policies are left alone.
        type: list
        elements: str
      purge_policies:
        description: Whether policies attached but not in O(groups[].managed_policies) are detached.
        type: bool
        default: true
      users:
        description: Names of the users in it. Omitted, its members are left alone.
        type: list
        elements: str
      purge_users:
        description: Whether members not in O(groups[].users) are removed from it.
        type: bool
        default: false
  state:
    description: Whether the groups should exist. Only O(groups[].name) counts when they should not.
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
- name: The administrators' group, their policy only, and its members
  iam_groups:
    groups:
      - name: RNASeqAdministrators
        managed_policies: [arn:aws:iam::123456789012:policy/RNASeqAdministratorPolicy]
        users: [alice, bob]

- name: The teardown - delete the groups (their members stay users)
  iam_groups:
    groups:
      - name: RNASeqAdministrators
      - name: RNASeqPipelineOperators
    state: absent
"""

RETURN = r"""
groups:
  description: By name, each group's ARN (an empty string for a group only planned in check mode, or deleted).
  returned: always
  type: dict
  sample:
    RNASeqAdministrators: {arn: "arn:aws:iam::123456789012:group/RNASeqAdministrators"}
changes:
  description: By group name, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    RNASeqAdministrators: [created, users]
    RNASeqPipelineOperators: [deleted]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_iam import attached_policy_arns
from ansible.module_utils.toolkit_iam import inline_policy_names
from ansible.module_utils.toolkit_iam import remove_policies

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


class Groups:
    def __init__(self, module):
        self.module = module
        self.iam = module.client("iam")
        self.check = module.check_mode
        self.before, self.after, self.changes, self.found = {}, {}, {}, {}

    def note(self, name, change):
        self.changes.setdefault(name, []).append(change)

    def read(self, name):
        """(group, member names), or (None, []) when the group does not exist."""
        try:
            pages = self.iam.get_paginator("get_group").paginate(GroupName=name).build_full_result()
        except is_boto3_error_code("NoSuchEntity"):
            return None, []
        return pages["Group"], sorted(user["UserName"] for user in pages.get("Users", []))

    def converge(self, spec):
        name = spec["name"]
        group, members = self.read(name)
        before = {"users": members} if group else None
        after = {}
        if group is None:
            self.note(name, "created")
            self.found[name] = {"arn": ""}
            if not self.check:
                group = self.iam.create_group(GroupName=name)["Group"]
        if group:
            self.found[name] = {"arn": group["Arn"]}
        exists = before is not None

        if spec["managed_policies"] is not None:
            attached = attached_policy_arns(self.iam, "group", name) if exists else []
            wanted = sorted(set(spec["managed_policies"]))
            detach = [arn for arn in attached if arn not in wanted] if spec["purge_policies"] else []
            attach = [arn for arn in wanted if arn not in attached]
            if before:
                before["managed_policies"] = attached
            after["managed_policies"] = sorted(set(attached) - set(detach) | set(attach))
            if attach or detach:
                self.note(name, "managed_policies")
                if not self.check:
                    for arn in detach:
                        self.iam.detach_group_policy(GroupName=name, PolicyArn=arn)
                    for arn in attach:
                        self.iam.attach_group_policy(GroupName=name, PolicyArn=arn)

        if spec["users"] is not None:
            wanted = sorted(set(spec["users"]))
            remove = [user for user in members if user not in wanted] if spec["purge_users"] else []
            add = [user for user in wanted if user not in members]
            after["users"] = sorted(set(members) - set(remove) | set(add))
            if add or remove:
                self.note(name, "users")
                if not self.check:
                    for user in remove:
                        self.iam.remove_user_from_group(GroupName=name, UserName=user)
                    for user in add:
                        self.add_user(name, user)
        self.before[name], self.after[name] = before, after

    def absent(self, spec):
        """Delete the group named in `spec` and what IAM refuses to delete it with."""
        name = spec["name"]
        group, members = self.read(name)
        self.found[name], self.after[name] = {"arn": ""}, None
        if group is None:
            self.before[name] = None
            return
        attached, inline = attached_policy_arns(self.iam, "group", name), inline_policy_names(self.iam, "group", name)
        self.before[name] = {"users": members, "managed_policies": attached, "inline_policies": inline}
        self.note(name, "deleted")
        if self.check:
            return
        for user in members:
            self.iam.remove_user_from_group(GroupName=name, UserName=user)
        remove_policies(self.iam, "group", name, attached, inline)
        self.iam.delete_group(GroupName=name)

    def add_user(self, name, user):
        try:
            self.iam.add_user_to_group(GroupName=name, UserName=user)
        except is_boto3_error_code("NoSuchEntity"):
            self.module.fail_json(msg=f"The user {user} does not exist: create it before adding it to the group {name}")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            groups=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    managed_policies=dict(type="list", elements="str"),
                    purge_policies=dict(type="bool", default=True),
                    users=dict(type="list", elements="str"),
                    purge_users=dict(type="bool", default=False),
                ),
            ),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    specs, state = module.params["groups"], module.params["state"]
    fail_on_repeated_names(module, [spec["name"] for spec in specs], "Groups")
    groups = Groups(module)
    for spec in specs:
        try:
            if state == "present":
                groups.converge(spec)
            else:
                groups.absent(spec)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to {'converge' if state == 'present' else 'delete'} the IAM group {spec['name']}")
    module.exit_json(changed=bool(groups.changes), groups=groups.found, changes=groups.changes,
                     diff={"before": groups.before, "after": groups.after})


if __name__ == "__main__":
    main()
