#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecr_image_info
short_description: Read which digest each release tag holds in ECR
description:
  - For each image, the digest its tag holds in the registry (one manifest read per image, in
    parallel) and the digest-pinned reference, or that the tag holds nothing.
  - Credentials come from ECR's authorization API, in an authentication file readable by the caller
    only, removed when the module ends.
  - Read-only; safe in check mode.
options:
  images:
    description: The images, each a repository C(name) and a C(tag).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The repository.
        type: str
        required: true
      tag:
        description: The tag.
        type: str
        required: true
  registry:
    description: The registry (C(host[:port])); defaults to the account's ECR registry.
    type: str
  tls_verify:
    description: Verify the registry's TLS certificate.
    type: bool
    default: true
  skopeo:
    description: The skopeo command.
    type: str
    default: skopeo
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Pin the pipeline's images by digest
  ecr_image_info:
    images:
      - {name: rnaseq/fastqc, tag: 0.12.1}
  register: batch_images
"""

RETURN = r"""
images:
  description: Each image, with the digest its tag holds (null when none) and the pinned reference.
  returned: always
  type: list
  elements: dict
  sample:
    - name: rnaseq/fastqc
      tag: 0.12.1
      digest: sha256:e3b4feef516c102a8737a464bd59e4bda62973405333e1b202899929569fafa1
      reference: 123456789012.dkr.ecr.us-east-1.amazonaws.com/rnaseq/fastqc@sha256:e3b4feef516c102a8737a464bd59e4bda62973405333e1b202899929569fafa1
registry:
  description: The registry read.
  returned: always
  type: str
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.toolkit_registry import REGISTRY_OPTIONS
from ansible.module_utils.toolkit_registry import registry_session

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(
        images=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(name=dict(type="str", required=True), tag=dict(type="str", required=True)),
        ),
        **REGISTRY_OPTIONS,
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    with registry_session(module, module.client("ecr")) as registry:
        with ThreadPoolExecutor(max_workers=4) as pool:
            digests = list(pool.map(lambda image: registry.digest_at(image["name"], image["tag"]), module.params["images"]))
        host = registry.host
    images = [
        {"name": image["name"], "tag": image["tag"], "digest": digest, "reference": f"{host}/{image['name']}@{digest}" if digest else None}
        for image, digest in zip(module.params["images"], digests)
    ]
    module.exit_json(changed=False, images=images, registry=host)


if __name__ == "__main__":
    main()
