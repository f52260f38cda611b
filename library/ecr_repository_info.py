#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecr_repository_info
short_description: Read ECR repositories and their security settings
description:
  - For each named repository, whether it exists and its scan on push, tag mutability, encryption,
    lifecycle policy, repository policy and tags.
  - Read-only; safe in check mode.
options:
  names:
    description: The repositories.
    type: list
    elements: str
    required: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the pipeline's repositories
  ecr_repository_info:
    names: [rnaseq/fastqc, rnaseq/star]
  register: verify_repositories
"""

RETURN = r"""
repositories:
  description: Each requested repository, keyed by name; C(exists) false when there is none.
  returned: always
  type: dict
  sample:
    rnaseq/fastqc:
      exists: true
      tag_mutability: IMMUTABLE
      scan_on_push: true
      encryption: {type: KMS, kms_key: "arn:aws:kms:us-east-1:123456789012:key/1234abcd"}
      lifecycle_policy: {rules: []}
      repository_policy: {Statement: []}
      tags: {Project: rna-seq-hipaa}
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_ecr import describe_repositories
from ansible.module_utils.toolkit_ecr import read_lifecycle_policy
from ansible.module_utils.toolkit_ecr import read_repository_policy
from ansible.module_utils.toolkit_ecr import read_tags
from ansible.module_utils.toolkit_ecr import summary

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    module = AnsibleAWSModule(argument_spec=dict(names=dict(type="list", elements="str", required=True)), supports_check_mode=True)
    ecr = module.client("ecr")
    result = {}
    try:
        existing = describe_repositories(ecr, module.params["names"])
        for name in module.params["names"]:
            found = existing.get(name)
            if found is None:
                result[name] = {"exists": False}
                continue
            settings = summary(found)
            settings.update(
                exists=True,
                lifecycle_policy=read_lifecycle_policy(ecr, name),
                repository_policy=read_repository_policy(ecr, name),
                tags=read_tags(ecr, settings["arn"]),
            )
            result[name] = settings
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the ECR repositories")
    module.exit_json(changed=False, repositories=result)


if __name__ == "__main__":
    main()
