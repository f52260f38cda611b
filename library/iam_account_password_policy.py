#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_account_password_policy
short_description: Set the account's IAM password policy, writing only when it differs
description:
  - Reads the account password policy and updates it only when a setting differs, so a converged
    account sees no write call (and no CloudTrail event).
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.iam_password_policy)? It sends C(UpdateAccountPasswordPolicy) on every run,
    C(--check) included, and compares afterwards, so every run writes to the account (and CloudTrail
    records it) even when it reports no change.
  - Departs from the list contract (docs/modules.md) by design - the account's one policy, not a list, and a
    baseline teardown keeps, so no C(state).
options:
  min_length:
    description: Minimum password length.
    type: int
    default: 14
  require_symbols:
    description: Require at least one symbol.
    type: bool
    default: true
  require_numbers:
    description: Require at least one number.
    type: bool
    default: true
  require_uppercase:
    description: Require at least one uppercase letter.
    type: bool
    default: true
  require_lowercase:
    description: Require at least one lowercase letter.
    type: bool
    default: true
  allow_users_to_change:
    description: Let IAM users change their own password.
    type: bool
    default: true
  max_age:
    description: Days before a password expires; V(0) for never.
    type: int
    default: 90
  reuse_prevention:
    description: How many previous passwords may not be reused; V(0) for none.
    type: int
    default: 24
  hard_expiry:
    description: Stop users from setting a new password after theirs expires (an administrator must reset it).
    type: bool
    default: false
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: 14+ characters of all four classes, 24 remembered, 90 days
  iam_account_password_policy:
    min_length: 14
    reuse_prevention: 24
    max_age: 90
"""

RETURN = r"""
policy:
  description: The password policy after the run.
  returned: always
  type: dict
  sample: {min_length: 14, require_symbols: true, max_age: 90, reuse_prevention: 24}
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_iam import PASSWORD_POLICY_FIELDS
from ansible.module_utils.toolkit_iam import read_password_policy

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule



def main():
    argument_spec = dict(
        min_length=dict(type="int", default=14, no_log=False),
        require_symbols=dict(type="bool", default=True),
        require_numbers=dict(type="bool", default=True),
        require_uppercase=dict(type="bool", default=True),
        require_lowercase=dict(type="bool", default=True),
        allow_users_to_change=dict(type="bool", default=True),
        max_age=dict(type="int", default=90),
        reuse_prevention=dict(type="int", default=24),
        hard_expiry=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    wanted = {option: module.params[option] for option in PASSWORD_POLICY_FIELDS}
    iam = module.client("iam")
    try:
        current = read_password_policy(iam)
        changed = current != wanted
        if changed and not module.check_mode:
            update = {field: wanted[option] for option, (field, _absent) in PASSWORD_POLICY_FIELDS.items()}
            # AWS takes no value, rather than 0, for "never" and "none".
            for field in ("MaxPasswordAge", "PasswordReusePrevention"):
                if not update[field]:
                    del update[field]
            iam.update_account_password_policy(**update)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to set the account password policy")
    module.exit_json(changed=changed, policy=wanted, diff={"before": current, "after": wanted})


if __name__ == "__main__":
    main()
