#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecr_repository
short_description: Manage a list of ECR repositories and their security settings in one task
description:
  - Creates, updates or deletes ECR repositories, each with scan on push, tag mutability, encryption,
    a lifecycle policy, a repository policy and tags. The whole list is one task, whatever its length;
    one call describes every repository, then one read per declared setting.
  - A repository's encryption cannot change after it is created. When an existing repository's
    encryption differs from the declared one, the module fails before changing anything, naming every
    such repository.
  - Supports check mode and diff.
notes:
  - Why not M(community.aws.ecs_ecr)? It has no tags option, so the toolkit's ownership tags could not
    be set, and it takes one repository per module run. Measured by bench/upstream.py (5 resources, a
    run that changes nothing, Ansible's linear strategy) - 5 module runs and 20 reads in 3.8 s in a loop;
    1 run and 1 read in 1.4 s here.
options:
  repositories:
    description: The repositories.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The repository name, such as C(rnaseq/fastqc).
        type: str
        required: true
      state:
        description: Whether the repository should exist.
        type: str
        choices: [present, absent]
        default: present
      scan_on_push:
        description: Scan each image when it is pushed.
        type: bool
        default: true
      tag_mutability:
        description: V(IMMUTABLE) keeps a tag from ever pointing at another image.
        type: str
        choices: [IMMUTABLE, MUTABLE]
        default: IMMUTABLE
      encryption:
        description:
          - Encryption at rest, as C(type) (V(KMS) or V(AES256)) and C(kms_key) (the key's ARN, for V(KMS)).
            Set when the repository is created; it cannot change afterwards.
        type: dict
      lifecycle_policy:
        description: The lifecycle policy document (C(rules)); omit to leave it alone.
        type: json
      repository_policy:
        description: The repository policy document; omit to leave it alone.
        type: json
      tags:
        description: The repository's tags; others are removed, unless O(repositories.purge_tags=false). Omit to
          leave them alone.
        type: dict
      purge_tags:
        description: Whether tags not in O(repositories.tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
      force:
        description: With O(repositories.state=absent), delete the repository even when it holds images.
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
- name: The pipeline's repositories, scan on push, immutable tags, encrypted with the pipeline key
  ecr_repository:
    repositories: >-
      {{ ['fastqc', 'star', 'salmon'] | map('regex_replace', '^', 'rnaseq/')
         | map('community.general.dict_kv', 'name')
         | map('combine', {'encryption': {'type': 'KMS', 'kms_key': key_arn}}) | list }}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq/fastqc: [scan_on_push]}
repositories:
  description: Each repository as it is after the run (or would be, in check mode), with what changed.
  returned: always
  type: list
  elements: dict
  sample:
    - name: rnaseq/fastqc
      arn: arn:aws:ecr:us-east-1:123456789012:repository/rnaseq/fastqc
      uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/rnaseq/fastqc
      created: false
      changed: [lifecycle_policy]
"""

import json

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import tag_list
from ansible.module_utils.toolkit_ecr import describe_repositories
from ansible.module_utils.toolkit_ecr import read_lifecycle_policy
from ansible.module_utils.toolkit_ecr import read_repository_policy
from ansible.module_utils.toolkit_ecr import read_tags
from ansible.module_utils.toolkit_ecr import summary

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies


def _document(value):
    return json.loads(value) if isinstance(value, str) else value


def wanted_encryption(spec):
    encryption = spec.get("encryption") or {"type": "AES256"}
    kind = encryption.get("type", "AES256")
    return {"type": kind, "kms_key": encryption.get("kms_key") if kind == "KMS" else None}


def encryption_conflicts(module, specs, existing):
    conflicts = []
    for spec in specs:
        found = existing.get(spec["name"])
        if spec["state"] != "present" or not found:
            continue
        current, wanted = summary(found)["encryption"], wanted_encryption(spec)
        if current["type"] != wanted["type"] or (wanted["kms_key"] and current["kms_key"] != wanted["kms_key"]):
            conflicts.append(f"{spec['name']} is encrypted with {current['type']} {current['kms_key'] or ''}".rstrip()
                             + f", not {wanted['type']} {wanted['kms_key'] or ''}".rstrip())
    if conflicts:
        module.fail_json(
            msg="ECR cannot change a repository's encryption after it is created; nothing was changed. "
            + "; ".join(conflicts)
            + ". Delete and recreate the repository (its images go with it), or declare its current encryption."
        )


def create(module, ecr, spec):
    params = {
        "repositoryName": spec["name"],
        "imageTagMutability": spec["tag_mutability"],
        "imageScanningConfiguration": {"scanOnPush": spec["scan_on_push"]},
    }
    encryption = wanted_encryption(spec)
    params["encryptionConfiguration"] = {"encryptionType": encryption["type"]}
    if encryption["kms_key"]:
        params["encryptionConfiguration"]["kmsKey"] = encryption["kms_key"]
    if spec.get("tags"):
        params["tags"] = tag_list(spec["tags"])
    return ecr.create_repository(**params)["repository"]


def converge(module, ecr, spec, found):
    name = spec["name"]
    result = {"name": name, "created": False, "changed": []}
    before, after = {}, {}
    if found is None:
        result["created"] = True
        before["exists"], after["exists"] = False, True
        if module.check_mode:
            result.update(arn=None, uri=None)
            return result, before, after
        found = create(module, ecr, spec)
    settings = summary(found)
    result.update(arn=settings["arn"], uri=settings["uri"])

    if settings["tag_mutability"] != spec["tag_mutability"]:
        result["changed"].append("tag_mutability")
        before["tag_mutability"], after["tag_mutability"] = settings["tag_mutability"], spec["tag_mutability"]
        if not module.check_mode:
            ecr.put_image_tag_mutability(repositoryName=name, imageTagMutability=spec["tag_mutability"])
    if settings["scan_on_push"] != spec["scan_on_push"]:
        result["changed"].append("scan_on_push")
        before["scan_on_push"], after["scan_on_push"] = settings["scan_on_push"], spec["scan_on_push"]
        if not module.check_mode:
            ecr.put_image_scanning_configuration(repositoryName=name, imageScanningConfiguration={"scanOnPush": spec["scan_on_push"]})

    if spec.get("lifecycle_policy") is not None:
        wanted = _document(spec["lifecycle_policy"])
        current = read_lifecycle_policy(ecr, name)
        if current != wanted:
            result["changed"].append("lifecycle_policy")
            before["lifecycle_policy"], after["lifecycle_policy"] = current, wanted
            if not module.check_mode:
                ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(wanted))

    if spec.get("repository_policy") is not None:
        wanted = _document(spec["repository_policy"])
        current = read_repository_policy(ecr, name)
        if current is None or compare_policies(current, wanted):
            result["changed"].append("repository_policy")
            before["repository_policy"], after["repository_policy"] = current, wanted
            if not module.check_mode:
                ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(wanted))

    if spec.get("tags") is not None and not result["created"]:
        wanted = {str(k): str(v) for k, v in spec["tags"].items()}
        current = read_tags(ecr, settings["arn"])
        stale, fresh, tags_after = purged_tags(current, wanted, spec["purge_tags"])
        if stale or fresh:
            result["changed"].append("tags")
            before["tags"], after["tags"] = current, tags_after
            if not module.check_mode:
                if stale:
                    ecr.untag_resource(resourceArn=settings["arn"], tagKeys=stale)
                if fresh:
                    ecr.tag_resource(resourceArn=settings["arn"], tags=tag_list(fresh))
    return result, before, after


def main():
    argument_spec = dict(
        repositories=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                scan_on_push=dict(type="bool", default=True),
                tag_mutability=dict(type="str", choices=["IMMUTABLE", "MUTABLE"], default="IMMUTABLE"),
                encryption=dict(type="dict"),
                lifecycle_policy=dict(type="json"),
                repository_policy=dict(type="json"),
                tags=dict(type="dict"),
                purge_tags=dict(type="bool", default=True),
                force=dict(type="bool", default=False),
            ),
        ),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs = module.params["repositories"]
    ecr = module.client("ecr")
    results, before, after = [], {}, {}
    try:
        existing = describe_repositories(ecr, [spec["name"] for spec in specs])
        encryption_conflicts(module, specs, existing)
        for spec in specs:
            found = existing.get(spec["name"])
            if spec["state"] == "absent":
                result = {"name": spec["name"], "created": False, "deleted": found is not None, "changed": []}
                if found is not None:
                    before[spec["name"]], after[spec["name"]] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        ecr.delete_repository(repositoryName=spec["name"], force=spec["force"])
                results.append(result)
                continue
            result, was, will = converge(module, ecr, spec, found)
            results.append(result)
            if result["created"] or result["changed"]:
                before[spec["name"]], after[spec["name"]] = was, will
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the ECR repositories")
    changed = any(r["created"] or r["changed"] or r.get("deleted") for r in results)
    module.exit_json(changed=changed, repositories=results, changes=changes_of(results), diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
