# -*- coding: utf-8 -*-
# S3 reads shared by the toolkit's S3 modules.

from __future__ import annotations

import os

from ansible.module_utils.toolkit_aws import paginate

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

# Module option: API field of a public access block (bucket or account).
PUBLIC_ACCESS_BLOCK_KEYS = {
    "block_public_acls": "BlockPublicAcls",
    "ignore_public_acls": "IgnorePublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "restrict_public_buckets": "RestrictPublicBuckets",
}
NO_PUBLIC_ACCESS_BLOCK = ("NoSuchPublicAccessBlockConfiguration",)


def public_access_block_options(configuration):
    """A PublicAccessBlockConfiguration as module options (absent = false)."""
    return {option: bool((configuration or {}).get(key, False)) for option, key in PUBLIC_ACCESS_BLOCK_KEYS.items()}


def public_access_block_configuration(options):
    return {key: bool(options.get(option, False)) for option, key in PUBLIC_ACCESS_BLOCK_KEYS.items()}


def read_account_public_access_block(s3control, account_id):
    try:
        found = s3control.get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
    except is_boto3_error_code(NO_PUBLIC_ACCESS_BLOCK[0]):
        found = {}
    return public_access_block_options(found)


def read_object_lock(s3, name):
    """The bucket's default Object Lock retention as {mode, days}, or {} when it has no Object Lock.

    S3 states a retention in days or in years; it is given here in days.
    """
    try:
        found = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    except is_boto3_error_code("ObjectLockConfigurationNotFoundError"):
        return {}
    if found.get("ObjectLockEnabled") != "Enabled":
        return {}
    retention = (found.get("Rule") or {}).get("DefaultRetention") or {}
    days = retention.get("Days") or (retention["Years"] * 365 if retention.get("Years") else None)
    return {"mode": retention.get("Mode"), "days": days}


def common_prefix(keys):
    """The longest 'directory' all keys share, for one listing that covers them."""
    prefix = os.path.commonprefix(list(keys))
    return prefix[: prefix.rfind("/") + 1] if "/" in prefix else ""


def listed_sizes(s3, bucket, keys):
    """{key: size} of the bucket's objects under the keys' common prefix: one paginated listing for any number
    of keys (C(ListObjectsV2), which a policy denying object reads still allows)."""
    return {entry["Key"]: entry["Size"] for entry in paginate(s3, "list_objects_v2", "Contents", Bucket=bucket,
                                                                Prefix=common_prefix(keys))}
