#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_vault_lock
short_description: AWS Backup vaults, encrypted and tagged, with their Vault Lock, in one task
description:
  - Makes each vault's lock exactly as declared, or removes it with O(state=absent); the vault stays, unless
    O(vaults[].delete_vault) says to delete it too (AWS refuses while it holds recovery points).
  - A vault declared with O(vaults[].encryption_key_arn) or O(vaults[].tags) is also made to exist, in
    either state, encrypted with that key and with exactly those tags.
  - A missing vault is created with its key and tags in one call. AWS cannot change a vault's key, so a
    vault found encrypted with another key is refused before any change, naming both keys.
  - A lock with O(vaults[].changeable_for_days) is in compliance mode; once that many days have passed,
    AWS refuses any change or removal, and so does this module, with the vault's lock date. Without it
    the lock is in governance mode, and whoever holds backup:DeleteBackupVaultLockConfiguration may
    remove it.
  - Supports check mode and diff. In check mode a missing vault is reported as to be created and locked.
notes:
  - Why not M(amazon.aws.backup_vault)? Neither it nor community.aws has Vault Lock. And AWS answers
    C(AccessDeniedException) when a vault does not exist, which M(amazon.aws.backup_vault) reports as a
    warning on every create; amazon.aws 10.1.2 then passes that warning to C(exit_json), which ansible-core
    2.19 reports as a C([DEPRECATION WARNING]) on a first converge. Here a missing vault is created
    quietly, and the vault and its lock cost one module run and two reads on a run that changes nothing,
    where M(amazon.aws.backup_vault) and a lock task made two runs and three reads.
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
      encryption_key_arn:
        description: The KMS key a new vault is encrypted with; an existing vault must already use it.
        type: str
      tags:
        description: The vault's tags; other tags are removed, unless O(vaults[].purge_tags=false). Left alone when
          not given.
        type: dict
      purge_tags:
        description: Whether tags not in O(vaults[].tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
      min_retention_days:
        description: The shortest retention a recovery point in the vault may have.
        type: int
      max_retention_days:
        description: The longest retention a recovery point in the vault may have.
        type: int
      changeable_for_days:
        description: Compliance mode. Days (3 or more) until the lock can no longer be changed or removed.
        type: int
      delete_vault:
        description: With O(state=absent), delete the vault too, once its lock is gone.
        type: bool
        default: false
  state:
    description: Whether the vaults are locked as declared (present) or unlocked (absent).
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
- name: The backup vault, encrypted with the pipeline key, locked for six years in governance mode
  backup_vault_lock:
    vaults:
      - name: rnaseq-backup-vault
        encryption_key_arn: "{{ storage_key_arn }}"
        tags: {Project: rna-seq-hipaa, Environment: production}
        min_retention_days: 2190
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-backup-vault: [lock]}
locks:
  description: Each vault's lock after the run, by vault name (null when unlocked).
  returned: always
  type: dict
  sample: {"rnaseq-backup-vault": {"min_retention_days": 2190, "max_retention_days": null, "mode": "governance"}}
created:
  description: The vaults created (or in check mode, to be created).
  returned: always
  type: list
  elements: str
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

from ansible.module_utils.toolkit_aws import changes_from_diff
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import purged_tags

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


def _tags(module, client, vault, name, wanted, purge, before, after):
    """Make the vault's tags `wanted` (and only those, with `purge`); note the change."""
    arn = vault["BackupVaultArn"]
    try:
        current = client.list_tags(ResourceArn=arn).get("Tags") or {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to read the tags of backup vault {name}")
    stale, missing, tags_after = purged_tags(current, wanted, purge)
    if not (stale or missing):
        return
    before.setdefault(name, {})["tags"], after.setdefault(name, {})["tags"] = current, tags_after
    if module.check_mode:
        return
    try:
        if stale:
            client.untag_resource(ResourceArn=arn, TagKeyList=stale)
        if missing:
            client.tag_resource(ResourceArn=arn, Tags=missing)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to tag backup vault {name}")


def set_lock(module, client, want, vault, current, wanted, before, after, existed, immutable):
    """Put the declared lock on the vault, or remove it when `wanted` is None; refused once AWS holds it immutable."""
    name = want["name"]
    if _immutable(vault):
        module.fail_json(msg=f"Backup vault {name}'s compliance-mode lock became immutable on {vault['LockDate'].isoformat()}: "
                         "AWS refuses to change or remove it", immutable=immutable)
    if existed:
        before.setdefault(name, {})["lock"] = current
    after.setdefault(name, {})["lock"] = wanted
    if module.check_mode or not vault:
        return
    try:
        if wanted is not None:
            params = {"MinRetentionDays": want["min_retention_days"], "MaxRetentionDays": want["max_retention_days"],
                      "ChangeableForDays": want["changeable_for_days"]}
            client.put_backup_vault_lock_configuration(BackupVaultName=name, **{k: v for k, v in params.items() if v is not None})
        else:
            client.delete_backup_vault_lock_configuration(BackupVaultName=name)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to {'lock' if wanted is not None else 'unlock'} backup vault {name}")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vaults=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                encryption_key_arn=dict(type="str"),
                tags=dict(type="dict"),
                purge_tags=dict(type="bool", default=True),
                min_retention_days=dict(type="int"),
                max_retention_days=dict(type="int"),
                changeable_for_days=dict(type="int"),
                delete_vault=dict(type="bool", default=False),
            )),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    client = module.client("backup")
    present = module.params["state"] == "present"
    before, after, locks, immutable, created = {}, {}, {}, [], []
    for want in module.params["vaults"]:
        name = want["name"]
        try:
            vault = client.describe_backup_vault(BackupVaultName=name)
        # AWS answers AccessDenied for a vault that does not exist.
        except is_boto3_error_code(["AccessDeniedException", "ResourceNotFoundException"]):
            vault = {}
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, f"Failed to describe backup vault {name}")
        key = want["encryption_key_arn"]
        tags = None if want["tags"] is None else {k: str(v) for k, v in want["tags"].items()}
        declared = key is not None or tags is not None
        if vault and key and vault.get("EncryptionKeyArn") != key:
            module.fail_json(msg=f"Backup vault {name} is encrypted with {vault.get('EncryptionKeyArn')}, not {key}: AWS cannot "
                             "change a vault's key; empty and delete the vault to make it again with this one")
        if declared and not vault:
            created.append(name)
            before[name], after[name] = None, {"encryption_key_arn": key, "tags": tags}
            if not module.check_mode:
                params = {"BackupVaultName": name, "EncryptionKeyArn": key, "BackupVaultTags": tags or None}
                try:
                    client.create_backup_vault(**{k: v for k, v in params.items() if v is not None})
                    vault = client.describe_backup_vault(BackupVaultName=name)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    fail_aws(module, e, f"Failed to create backup vault {name}")
        elif vault and tags is not None:
            _tags(module, client, vault, name, tags, want["purge_tags"], before, after)
        elif not vault and present and not module.check_mode:
            module.fail_json(msg=f"Backup vault {name} does not exist: declare its encryption_key_arn or tags to create it")
        current = _lock(vault)
        wanted = {"min_retention_days": want["min_retention_days"], "max_retention_days": want["max_retention_days"],
                  "mode": "compliance" if want["changeable_for_days"] else "governance"} if present else None
        locks[name] = current
        if _immutable(vault):
            immutable.append(name)
        if current != wanted and (vault or present):
            set_lock(module, client, want, vault, current, wanted, before, after, name not in created, immutable)
            locks[name] = wanted
        if vault and not present and want["delete_vault"]:
            before.setdefault(name, {})["vault"], after[name] = name, None
            if not module.check_mode:
                try:
                    client.delete_backup_vault(BackupVaultName=name)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    fail_aws(module, e, f"Failed to delete backup vault {name}")
    module.exit_json(changed=bool(after), locks=locks, created=created, immutable=immutable,
                     changes=changes_from_diff(before, after), diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
