#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_vault_lock
short_description: AWS Backup Vault Lock on backup vaults, in governance or compliance mode, in one task
description:
  - Makes each vault's lock exactly as declared, or removes it with O(state=absent).
  - Why a module of our own? amazon.aws 10 has none for Vault Lock (M(amazon.aws.backup_vault) creates,
    tags and deletes vaults only), and neither has community.aws.
  - A lock with O(vaults[].changeable_for_days) is in compliance mode; once that many days have passed,
    AWS refuses any change or removal, and so does this module, with the vault's lock date. Without it
    the lock is in governance mode, and whoever holds backup:DeleteBackupVaultLockConfiguration may
    remove it.
  - Supports check mode and diff. A vault that does not exist yet (in check mode, one a previous task
    would create) is reported as to be locked.
options:
  vaults:
    description: The vaults and their locks.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The vault's name.
        type: str
        required: true
      min_retention_days:
        description: The shortest retention a recovery point in the vault may have.
        type: int
      max_retention_days:
        description: The longest retention a recovery point in the vault may have.
        type: int
      changeable_for_days:
        description: Compliance mode. Days (3 or more) until the lock can no longer be changed or removed.
        type: int
  state:
    description: Whether the vaults are locked (present) or not (absent).
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
- name: Lock the backup vault for six years, in governance mode
  backup_vault_lock:
    vaults:
      - name: rnaseq-backup-vault
        min_retention_days: 2190
"""

RETURN = r"""
locks:
  description: Each vault's lock after the run, by vault name (null when unlocked).
  returned: always
  type: dict
  sample: {"rnaseq-backup-vault": {"min_retention_days": 2190, "max_retention_days": null, "mode": "governance"}}
immutable:
  description: Vaults whose compliance-mode lock can no longer be changed or removed.
  returned: always
  type: list
  elements: str
"""

import time

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import RETRY
from ansible.module_utils.toolkit_aws import fail_aws

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def _lock(vault):
    """The lock as declared or as described, in one shape; None when unlocked."""
    if not vault.get("Locked"):
        return None
    return {"min_retention_days": vault.get("MinRetentionDays"), "max_retention_days": vault.get("MaxRetentionDays"),
            "mode": "compliance" if vault.get("LockDate") else "governance"}


def _immutable(vault):
    lock_date = vault.get("LockDate")
    return bool(lock_date) and lock_date.timestamp() <= time.time()


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vaults=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                min_retention_days=dict(type="int"),
                max_retention_days=dict(type="int"),
                changeable_for_days=dict(type="int"),
            )),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    client = module.client("backup")
    present = module.params["state"] == "present"
    before, after, locks, immutable = {}, {}, {}, []
    for want in module.params["vaults"]:
        name = want["name"]
        try:
            vault = RETRY(client.describe_backup_vault)(BackupVaultName=name)
        # AWS answers AccessDenied for a vault that does not exist.
        except is_boto3_error_code(["AccessDeniedException", "ResourceNotFoundException"]):
            if present and not module.check_mode:
                module.fail_json(msg=f"Backup vault {name} does not exist: create it before locking it")
            vault = {}
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, f"Failed to describe backup vault {name}")
        current = _lock(vault)
        wanted = {"min_retention_days": want["min_retention_days"], "max_retention_days": want["max_retention_days"],
                  "mode": "compliance" if want["changeable_for_days"] else "governance"} if present else None
        locks[name] = current
        if _immutable(vault):
            immutable.append(name)
        if current == wanted or (not vault and not present):
            continue
        if _immutable(vault):
            module.fail_json(msg=f"Backup vault {name}'s compliance-mode lock became immutable on {vault['LockDate'].isoformat()}: "
                             "AWS refuses to change or remove it", immutable=immutable)
        before[name], after[name], locks[name] = current, wanted, wanted
        if module.check_mode or not vault:
            continue
        try:
            if present:
                params = {"MinRetentionDays": want["min_retention_days"], "MaxRetentionDays": want["max_retention_days"],
                          "ChangeableForDays": want["changeable_for_days"]}
                RETRY(client.put_backup_vault_lock_configuration)(
                    BackupVaultName=name, **{k: v for k, v in params.items() if v is not None})
            else:
                RETRY(client.delete_backup_vault_lock_configuration)(BackupVaultName=name)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to {'lock' if present else 'unlock'} backup vault {name}")
    module.exit_json(changed=bool(after), locks=locks, immutable=immutable, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
