#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_buckets
short_description: Create S3 buckets and set their security settings exactly, in check mode too
description:
  - For each bucket of a list, creates it when missing and makes each declared setting exactly what is
    declared (versioning, Object Lock's default retention, default encryption, public access block, object
    ownership, tags, policy, server access logging, lifecycle rules). A setting left out is left alone.
  - One read per declared setting and a write only where it differs, so N buckets cost one task and a
    converged bucket costs as many reads as settings asked about.
  - A bucket with O(buckets[].state=absent) is deleted when it exists and is empty; one holding any object
    version or delete marker is refused before any change (M(data_teardown) empties the toolkit's buckets).
  - Check mode reports what would be created, changed or deleted without writing; with C(--diff) it shows the
    settings before and after.
notes:
  - Why not M(amazon.aws.s3_bucket) and community.aws? M(amazon.aws.s3_bucket) has no check mode (it is
    skipped under C(--check), so a review would show no bucket and no bucket drift) and reads every
    setting on every call; M(community.aws.s3_logging) grants the legacy LogDelivery ACL, which a bucket
    with ACLs disabled refuses; M(community.aws.s3_lifecycle) handles one rule per call and never
    removes an undeclared rule.
options:
  buckets:
    description: The buckets and what to set on each.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The bucket.
        type: str
        required: true
      versioning:
        description: Versioning on (V(true)) or suspended (V(false)).
        type: bool
      object_lock:
        description:
          - S3 Object Lock with a default retention, as C(mode) (V(GOVERNANCE) or V(COMPLIANCE)) and C(days).
            Every object version written afterwards is kept, unchanged, for that many days. S3 turns Object
            Lock on for an existing bucket too, provided it is versioned; it cannot be turned off, so an
            empty dict is an error on a bucket that has it.
        type: dict
      encryption:
        description:
          - Default encryption, as C(algorithm) (V(aws:kms) or V(AES256)), C(kms_key_id) (the key's ARN) and
            C(bucket_key) (bool).
        type: dict
      public_access_block:
        description: The four public access block settings (C(block_public_acls), C(ignore_public_acls),
          C(block_public_policy), C(restrict_public_buckets)).
        type: dict
      object_ownership:
        description: Object ownership; V(BucketOwnerEnforced) disables ACLs.
        type: str
        choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
      tags:
        description: The bucket's tags. Omitted, they are left as they are.
        type: dict
      purge_tags:
        description: Whether tags not in O(buckets[].tags) are removed.
        type: bool
        default: true
      policy:
        description: The bucket policy document, compared ignoring order and formatting.
        type: json
      logging:
        description:
          - Server access logging, as C(target_bucket) and C(target_prefix). An empty dict turns logging off.
        type: dict
      lifecycle_rules:
        description:
          - The complete list of lifecycle rules, in the shape S3's API takes (C(ID), C(Status), C(Filter),
            C(Transitions), ...). Rules not listed are removed; an empty list removes the configuration.
        type: list
        elements: dict
      state:
        description: Whether the bucket exists. With V(absent), its other options are ignored.
        type: str
        choices: [present, absent]
        default: present
      create:
        description:
          - Whether to create this bucket when it does not exist; defaults to O(create). Lets one task
            create one bucket and only configure another that an earlier step made.
        type: bool
  create:
    description:
      - Create buckets that do not exist. With V(false), a missing bucket is an error, except in check
        mode, where an earlier task may only have planned it.
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
- name: A versioned, SSE-KMS bucket with public access blocked and ACLs disabled
  s3_buckets:
    buckets:
      - name: rnaseq-hipaa-data-bucket
        versioning: true
        encryption: {algorithm: "aws:kms", kms_key_id: "{{ key_arn }}", bucket_key: true}
        public_access_block: {block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true}
        object_ownership: BucketOwnerEnforced
        tags: {Project: rna-seq-hipaa, Environment: production}

- name: Its policy and access logging, later
  s3_buckets:
    create: false
    buckets:
      - name: rnaseq-hipaa-data-bucket
        policy: "{{ policy_document }}"
        logging: {target_bucket: rnaseq-hipaa-data-bucket-access-logs, target_prefix: s3-access/}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-hipaa-data-bucket: [versioning, policy]}
buckets:
  description:
    - Per bucket, whether it was created and which settings changed (or would, in check mode); for a bucket
      with O(buckets[].state=absent), whether it was deleted.
  returned: always
  type: list
  elements: dict
  sample:
    - name: rnaseq-hipaa-data-bucket
      created: false
      changed: [versioning, policy]
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list
from ansible.module_utils.toolkit_s3 import NO_PUBLIC_ACCESS_BLOCK
from ansible.module_utils.toolkit_s3 import PUBLIC_ACCESS_BLOCK_KEYS
from ansible.module_utils.toolkit_s3 import public_access_block_configuration
from ansible.module_utils.toolkit_s3 import public_access_block_options
from ansible.module_utils.toolkit_s3 import read_object_lock

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies

def _normal_rule(rule):
    """A lifecycle rule with S3's equivalent spellings made equal: no filter,
    an empty filter and an empty prefix all mean the whole bucket."""
    rule = json.loads(json.dumps(rule))
    if rule.get("Prefix") == "":
        del rule["Prefix"]
    if rule.get("Filter") in (None, {}) and "Prefix" not in rule:
        rule["Filter"] = {"Prefix": ""}
    return rule


def _covers(wanted, found):
    """Whether every key wanted is in found with the same value (found may say more)."""
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(k in found and _covers(v, found[k]) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(found, list) and len(wanted) == len(found) and all(_covers(w, f) for w, f in zip(wanted, found))
    return wanted == found


def lifecycle_differs(current, wanted):
    current = {r.get("ID"): _normal_rule(r) for r in current}
    wanted = {r.get("ID"): _normal_rule(r) for r in wanted}
    return set(current) != set(wanted) or any(not _covers(rule, current[rule_id]) for rule_id, rule in wanted.items())


class Setting:
    """How to read, compare and write one bucket setting."""

    def __init__(self, read, write, differs=lambda current, wanted: current != wanted, normal=lambda wanted: wanted):
        self.read, self.write, self.differs, self.normal = read, write, differs, normal


def _read_versioning(s3, name):
    return s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled"


def _write_versioning(s3, name, wanted):
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled" if wanted else "Suspended"})


class ObjectLockError(Exception):
    """An Object Lock declaration S3 would refuse, or could not undo."""


def _normal_object_lock(wanted):
    if not wanted:
        return {}
    mode, days = str(wanted.get("mode", "")).upper(), wanted.get("days")
    if isinstance(days, str) and days.isdigit():
        days = int(days)
    if mode not in ("GOVERNANCE", "COMPLIANCE") or not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ObjectLockError(f"object_lock needs mode GOVERNANCE or COMPLIANCE and a whole number of days from 1, not {wanted}")
    return {"mode": mode, "days": days}


def _object_lock_differs(current, wanted):
    if current and not wanted:
        raise ObjectLockError("The bucket has Object Lock, which S3 cannot turn off: declare its mode and days")
    return current != wanted


def _write_object_lock(s3, name, wanted):
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": wanted["mode"], "Days": wanted["days"]}},
        },
    )


def _normal_encryption(wanted):
    result = {"algorithm": wanted.get("algorithm", "AES256"), "bucket_key": bool(wanted.get("bucket_key", False))}
    if result["algorithm"] == "aws:kms" and wanted.get("kms_key_id"):
        result["kms_key_id"] = wanted["kms_key_id"]
    return result


def _read_encryption(s3, name):
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    except is_boto3_error_code("ServerSideEncryptionConfigurationNotFoundError"):
        return {}
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    found = {"algorithm": default.get("SSEAlgorithm"), "bucket_key": bool(rules[0].get("BucketKeyEnabled", False)) if rules else False}
    if default.get("KMSMasterKeyID"):
        found["kms_key_id"] = default["KMSMasterKeyID"]
    return found


def _write_encryption(s3, name, wanted):
    default = {"SSEAlgorithm": wanted["algorithm"]}
    if wanted.get("kms_key_id"):
        default["KMSMasterKeyID"] = wanted["kms_key_id"]
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": wanted["bucket_key"]}]
        },
    )


def _read_public_access_block(s3, name):
    try:
        found = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    except is_boto3_error_code(NO_PUBLIC_ACCESS_BLOCK[0]):
        found = {}
    return public_access_block_options(found)


def _write_public_access_block(s3, name, wanted):
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=public_access_block_configuration(wanted))


def _read_ownership(s3, name):
    try:
        return s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    except is_boto3_error_code("OwnershipControlsNotFoundError"):
        return None


def _write_ownership(s3, name, wanted):
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": wanted}]})


def _read_tags(s3, name):
    try:
        return tag_dict(s3.get_bucket_tagging(Bucket=name)["TagSet"])
    except is_boto3_error_code("NoSuchTagSet"):
        return {}


def _write_tags(s3, name, wanted):
    if wanted:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(wanted)})
    else:
        s3.delete_bucket_tagging(Bucket=name)


def _read_policy(s3, name):
    try:
        return json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except is_boto3_error_code("NoSuchBucketPolicy"):
        return None


def _write_policy(s3, name, wanted):
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(wanted))


def _read_logging(s3, name):
    enabled = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled")
    if not enabled:
        return {}
    return {"target_bucket": enabled.get("TargetBucket"), "target_prefix": enabled.get("TargetPrefix", "")}


def _write_logging(s3, name, wanted):
    status = {}
    if wanted:
        status["LoggingEnabled"] = {"TargetBucket": wanted["target_bucket"], "TargetPrefix": wanted.get("target_prefix", "")}
    s3.put_bucket_logging(Bucket=name, BucketLoggingStatus=status)


def _read_lifecycle(s3, name):
    try:
        return s3.get_bucket_lifecycle_configuration(Bucket=name).get("Rules", [])
    except is_boto3_error_code("NoSuchLifecycleConfiguration"):
        return []


def _write_lifecycle(s3, name, wanted):
    if wanted:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": wanted})
    else:
        s3.delete_bucket_lifecycle(Bucket=name)


# In the order they are applied: ownership and public access first, so a
# new bucket is never briefly open; the policy before logging, which needs
# the target's policy in place.
SETTINGS = {
    "object_ownership": Setting(_read_ownership, _write_ownership),
    "public_access_block": Setting(
        _read_public_access_block,
        _write_public_access_block,
        normal=lambda wanted: {option: bool(wanted.get(option, False)) for option in PUBLIC_ACCESS_BLOCK_KEYS},
    ),
    "encryption": Setting(_read_encryption, _write_encryption, normal=_normal_encryption),
    "versioning": Setting(_read_versioning, _write_versioning),
    # After versioning, which Object Lock needs.
    "object_lock": Setting(read_object_lock, _write_object_lock, differs=_object_lock_differs, normal=_normal_object_lock),
    "tags": Setting(_read_tags, _write_tags, normal=lambda wanted: {str(k): str(v) for k, v in wanted.items()}),
    "policy": Setting(
        _read_policy,
        _write_policy,
        differs=lambda current, wanted: current is None or compare_policies(current, wanted),
        normal=lambda wanted: json.loads(wanted) if isinstance(wanted, str) else wanted,
    ),
    "logging": Setting(_read_logging, _write_logging, normal=lambda wanted: {k: v for k, v in wanted.items() if v is not None}),
    "lifecycle_rules": Setting(_read_lifecycle, _write_lifecycle, differs=lifecycle_differs),
}


def bucket_exists(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return True
    except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
        return False


def holds_anything(s3, name):
    """Whether the bucket holds an object version or a delete marker (S3 deletes only an empty bucket)."""
    listed = s3.list_object_versions(Bucket=name, MaxKeys=1)
    return bool(listed.get("Versions") or listed.get("DeleteMarkers"))


def create_bucket(module, s3, name):
    params = {"Bucket": name}
    if module.region and module.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": module.region}
    try:
        s3.create_bucket(**params)
    except is_boto3_error_code("BucketAlreadyOwnedByYou"):
        return
    except is_boto3_error_code("BucketAlreadyExists"):  # pylint: disable=duplicate-except
        module.fail_json(msg=f"The bucket name {name} is taken by another AWS account (names are global): choose another")
    # A new bucket can take a moment to answer its own settings calls.
    s3.get_waiter("bucket_exists").wait(Bucket=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def read_settings(s3, name, keys):
    """The bucket's settings named by keys, or None when the bucket does not exist.

    The first read doubles as the existence check: a HeadBucket first would cost
    a call per bucket on every run.
    """
    try:
        if not keys:
            return {} if bucket_exists(s3, name) else None
        return {key: SETTINGS[key].read(s3, name) for key in keys}
    except is_boto3_error_code("NoSuchBucket"):
        return None


def converge(module, s3, bucket):
    name = bucket["name"]
    declared = [key for key in SETTINGS if bucket.get(key) is not None]
    result = {"name": name, "created": False, "changed": []}
    before, after = {}, {}

    create = module.params["create"] if bucket.get("create") is None else bucket["create"]

    current = read_settings(s3, name, declared)
    if current is None:
        # In check mode an earlier step may only have planned the bucket.
        if not create and not module.check_mode:
            module.fail_json(msg=f"Bucket {name} does not exist: create it first (its phase's bucket step)")
        result["created"] = create
        before["exists"], after["exists"] = False, True
        if not module.check_mode:
            create_bucket(module, s3, name)
            current = read_settings(s3, name, declared)

    for key in declared:
        setting = SETTINGS[key]
        wanted = setting.normal(bucket[key])
        # A bucket that check mode only pretends to create has nothing to read.
        found = current[key] if current is not None else None
        if key == "tags" and not bucket["purge_tags"]:
            wanted = {**(found or {}), **wanted}
        if current is not None and not setting.differs(found, wanted):
            continue
        result["changed"].append(key)
        before[key], after[key] = found, wanted
        if not module.check_mode:
            setting.write(s3, name, wanted)
    return result, before, after


def main():
    argument_spec = dict(
        buckets=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                versioning=dict(type="bool"),
                object_lock=dict(type="dict"),
                encryption=dict(type="dict"),
                public_access_block=dict(type="dict"),
                object_ownership=dict(type="str", choices=["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]),
                tags=dict(type="dict"),
                purge_tags=dict(type="bool", default=True),
                policy=dict(type="json"),
                logging=dict(type="dict"),
                lifecycle_rules=dict(type="list", elements="dict"),
                create=dict(type="bool"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            ),
        ),
        create=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    s3 = module.client("s3")

    # Every declaration is checked before the first bucket is touched.
    for bucket in module.params["buckets"]:
        try:
            _normal_object_lock(bucket.get("object_lock"))
        except ObjectLockError as e:
            module.fail_json(msg=f"Bucket {bucket['name']}: {e}")

    results, before, after = [], {}, {}
    gone = [bucket["name"] for bucket in module.params["buckets"] if bucket["state"] == "absent"]
    try:
        existing = [name for name in gone if bucket_exists(s3, name)]
        full = [name for name in existing if holds_anything(s3, name)]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to read the buckets {', '.join(gone)}")
    if full:
        module.fail_json(msg=f"Nothing was changed: these buckets hold objects and are deleted only empty: {', '.join(full)}")
    for bucket in module.params["buckets"]:
        if bucket["state"] == "absent":
            results.append({"name": bucket["name"], "created": False, "deleted": bucket["name"] in existing, "changed": []})
            if bucket["name"] in existing:
                before[bucket["name"]], after[bucket["name"]] = {"exists": True}, {"exists": False}
                if not module.check_mode:
                    try:
                        s3.delete_bucket(Bucket=bucket["name"])
                    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                        fail_aws(module, e, f"Failed to delete bucket {bucket['name']}")
            continue
        try:
            result, was, will = converge(module, s3, bucket)
        except ObjectLockError as e:
            module.fail_json(msg=f"Bucket {bucket['name']}: {e}")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to configure bucket {bucket['name']}")
        results.append(result)
        if result["created"] or result["changed"]:
            before[bucket["name"]], after[bucket["name"]] = was, will

    changed = any(result["created"] or result.get("deleted") or result["changed"] for result in results)
    module.exit_json(changed=changed, buckets=results, changes=changes_of(results), diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
