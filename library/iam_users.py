#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_users
short_description: Create the IAM users of a list that do not exist, tagged, with no password and no access keys
description:
  - For each name, creates the IAM user when it is missing, with O(tags) in the same call, and makes an
    existing user's tags O(tags) (with O(purge_tags=false), adds those it lacks). Never deletes a user,
    and never gives one a console password or an access key - people set up their own credentials and MFA.
  - One read per user when nothing is to be done, so N users cost one task and N reads.
  - Supports check mode and C(--diff).
notes:
  - Why not M(amazon.aws.iam_user)? It takes one user per module run. Measured by bench/upstream.py (5
    resources, a run that changes nothing, Ansible's linear strategy) - M(amazon.aws.iam_user) in a loop
    made 5 module runs and 20 reads in 3.8 s; this module 1 run and 5 reads in 1.4 s.
  - Departs from the list contract (docs/modules.md) by design - the users are people, named in a list of
    names; their credentials are their own, so the toolkit never deletes one.
options:
  names:
    description: The users' names.
    type: list
    elements: str
    required: true
  tags:
    description:
      - Tags every user carries. Omitted, an existing user's tags are left as they are.
    type: dict
  purge_tags:
    description:
      - Whether a user's tags not in O(tags) are removed (AWS's own C(aws:) tags never are).
      - The IAM console keeps an access key's description as a tag of its user, so set it false where
        people make their own keys.
    type: bool
    default: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The administrators, created when missing
  iam_users:
    names: [alice, bob]
    tags: {Project: rna-seq-hipaa, Environment: production}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {alice: [tags]}
created:
  description: The users created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [bob]
tagged:
  description: Existing users whose tags were changed.
  returned: always
  type: list
  elements: str
  sample: [alice]
arns:
  description: Each user's ARN, by name (empty for a user check mode only plans).
  returned: always
  type: dict
  sample: {alice: "arn:aws:iam::123456789012:user/alice"}
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def read_user(iam, name):
    try:
        return iam.get_user(UserName=name)["User"]
    except is_boto3_error_code("NoSuchEntity"):
        return None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", required=True),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    iam = module.client("iam")
    declared = module.params["tags"]
    wanted = {str(k): str(v) for k, v in (declared or {}).items()}
    new_user_tags = tag_list(wanted)
    created, tagged, arns = [], [], {}
    before, after = {}, {}
    for name in module.params["names"]:
        try:
            user = read_user(iam, name)
            if user is None:
                created.append(name)
                before[name], after[name] = None, {"tags": wanted}
                arns[name] = ""
                if not module.check_mode:
                    params = {"UserName": name, **({"Tags": new_user_tags} if new_user_tags else {})}
                    arns[name] = iam.create_user(**params)["User"]["Arn"]
                continue
            arns[name] = user["Arn"]
            if declared is None:
                continue
            current = tag_dict(user.get("Tags", []))
            stale, missing, tags = purged_tags(current, wanted, module.params["purge_tags"])
            if stale or missing:
                tagged.append(name)
                before[name], after[name] = {"tags": current}, {"tags": tags}
                if not module.check_mode and stale:
                    iam.untag_user(UserName=name, TagKeys=stale)
                if not module.check_mode and missing:
                    iam.tag_user(UserName=name, Tags=tag_list(missing))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to create or tag the IAM user {name}")
    module.exit_json(changed=bool(created or tagged), created=created, tagged=tagged, arns=arns,
                     changes={**{name: ["created"] for name in created}, **{name: ["tags"] for name in tagged}},
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
