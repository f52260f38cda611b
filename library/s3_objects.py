#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_objects
short_description: Make sure a list of objects (folder markers, files) exists in an S3 bucket, encrypted
description:
  - Uploads each listed object that is not in the bucket yet, with the server-side encryption asked
    for; objects already there are left alone (or, with O(overwrite=size), replaced when their size differs).
  - What exists is read from one bucket listing (C(ListObjectsV2) under the objects' common prefix), not
    from one C(HeadObject) per object, so N objects cost one read. A bucket whose policy denies object
    reads to the caller can still be checked.
  - An object with O(objects[].state=absent) is deleted when the listing shows it, all such objects in one
    C(DeleteObjects) call. In a versioned bucket this adds a delete marker; earlier versions stay.
  - Supports check mode (reports what would be uploaded or deleted) and diff.
notes:
  - Why not M(amazon.aws.s3_object)? It takes one object per module run and reads each object
    (C(HeadObject)), which a bucket policy that denies object reads to the caller refuses; here one
    listing reads them all.
options:
  bucket:
    description: The bucket.
    type: str
    required: true
  objects:
    description: The objects.
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description: The object key; a key ending in C(/) with no source is a folder marker.
        type: str
        required: true
      src:
        description: A local file to upload.
        type: path
      content:
        description: Text to upload instead of a file.
        type: str
      state:
        description: Whether the object exists.
        type: str
        choices: [present, absent]
        default: present
  encryption:
    description: Server-side encryption to ask for on upload.
    type: str
    choices: [aws:kms, AES256]
    default: aws:kms
  kms_key_id:
    description: The KMS key (preferably its ARN) for O(encryption=aws:kms). Omit to use the bucket's default key.
    type: str
  overwrite:
    description:
      - V(missing) uploads only objects that are not there; V(size) also replaces objects whose size
        differs from the source's; V(checksum) also replaces objects whose content differs, by the SHA-256
        the module records in the object's C(sha256) metadata when it uploads (one HEAD per present object).
    type: str
    choices: [missing, size, checksum]
    default: missing
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the runbook's folders in the data bucket
  s3_objects:
    bucket: rnaseq-hipaa-data-bucket
    kms_key_id: "{{ storage_key.key_arn }}"
    objects:
      - key: raw-data/
      - key: results/
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {raw-data/: [uploaded]}
uploaded:
  description: Keys uploaded (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [raw-data/]
present:
  description: Keys that were there already and were left alone.
  returned: always
  type: list
  elements: str
  sample: [results/]
deleted:
  description: Keys deleted (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [old/]
"""

import hashlib
import os

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_s3 import listed_sizes

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def source_size(item):
    if item.get("src"):
        return os.path.getsize(item["src"])
    return len((item.get("content") or "").encode("utf-8"))


def source_sha256(item):
    digest = hashlib.sha256()
    if item.get("src"):
        with open(item["src"], "rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
    else:
        digest.update((item.get("content") or "").encode("utf-8"))
    return digest.hexdigest()


def recorded_sha256(s3, bucket, key):
    return s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("sha256")


def is_current(module, s3, item, sizes):
    """Whether the object at the item's key already holds what it should."""
    key, overwrite = item["key"], module.params["overwrite"]
    if key not in sizes:
        return False
    if overwrite == "missing":
        return True
    if sizes[key] != source_size(item):
        return False
    return overwrite == "size" or recorded_sha256(s3, module.params["bucket"], key) == source_sha256(item)


def upload(module, s3, item, extra):
    bucket = module.params["bucket"]
    if module.params["overwrite"] == "checksum":
        extra = dict(extra, Metadata={"sha256": source_sha256(item)})
    if item.get("src"):
        # upload_file switches to multipart for large files.
        s3.upload_file(item["src"], bucket, item["key"], ExtraArgs=extra)
    else:
        s3.put_object(Bucket=bucket, Key=item["key"], Body=(item.get("content") or "").encode("utf-8"), **extra)


def main():
    argument_spec = dict(
        bucket=dict(type="str", required=True),
        objects=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                key=dict(type="str", required=True, no_log=False),
                src=dict(type="path"),
                content=dict(type="str"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            ),
            mutually_exclusive=[["src", "content"]],
        ),
        encryption=dict(type="str", choices=["aws:kms", "AES256"], default="aws:kms"),
        kms_key_id=dict(type="str"),
        overwrite=dict(type="str", choices=["missing", "size", "checksum"], default="missing"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    objects = module.params["objects"]
    for item in objects:
        if item["state"] == "present" and item.get("src") and not os.path.isfile(item["src"]):
            module.fail_json(msg=f"Source file {item['src']} for {item['key']} does not exist")

    s3 = module.client("s3")
    extra = {"ServerSideEncryption": module.params["encryption"]}
    if module.params["encryption"] == "aws:kms" and module.params["kms_key_id"]:
        extra["SSEKMSKeyId"] = module.params["kms_key_id"]

    try:
        sizes = listed_sizes(s3, module.params["bucket"], [o["key"] for o in objects])
    except is_boto3_error_code("NoSuchBucket"):
        # In check mode an earlier task may only have planned the bucket.
        if not module.check_mode:
            module.fail_json(msg=f"Bucket {module.params['bucket']} does not exist: create it first (its phase's bucket step)")
        sizes = {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        fail_aws(module, e, f"Failed to list bucket {module.params['bucket']}")

    uploaded, present = [], []
    deleted = [item["key"] for item in objects if item["state"] == "absent" and item["key"] in sizes]
    if deleted and not module.check_mode:
        try:
            refused = s3.delete_objects(Bucket=module.params["bucket"], Delete={"Objects": [{"Key": key} for key in deleted],
                                                                              "Quiet": True}).get("Errors", [])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to delete objects from {module.params['bucket']}")
        if refused:
            module.fail_json(msg=f"S3 refused to delete from {module.params['bucket']}: "
                                 + "; ".join(f"{e['Key']}: {e.get('Message', e.get('Code'))}" for e in refused))
    for item in (item for item in objects if item["state"] == "present"):
        key = item["key"]
        try:
            if is_current(module, s3, item, sizes):
                present.append(key)
                continue
            uploaded.append(key)
            if not module.check_mode:
                upload(module, s3, item, extra)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to upload {key} to {module.params['bucket']}")

    module.exit_json(
        changed=bool(uploaded or deleted),
        uploaded=uploaded,
        present=present,
        deleted=deleted,
        changes={**{key: ["uploaded"] for key in uploaded}, **{key: ["deleted"] for key in deleted}},
        diff={"before": {"missing": uploaded, "deleted": []}, "after": {"missing": [], "deleted": deleted}},
    )


if __name__ == "__main__":
    main()
