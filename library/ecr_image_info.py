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
  - With O(scan_findings), also ECR's scan-on-push findings of each image held to O(scan_threshold), and,
    with O(fail_on_findings), a failure naming every image with such findings, so that nothing pins an
    image whose scan failed. Only for ECR itself (the local cloud's registry does not scan).
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
  scan_findings:
    description: Read ECR's scan findings of each image the tags hold.
    type: bool
    default: false
  scan_threshold:
    description: The lowest severity that counts as a finding.
    type: str
    choices: [LOW, MEDIUM, HIGH, CRITICAL]
    default: CRITICAL
  fail_on_findings:
    description: Fail when an image has findings at or above O(scan_threshold).
    type: bool
    default: true
  ecr_scan_timeout:
    description: Seconds to wait for a scan that is not complete yet.
    type: int
    default: 600
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
      findings: []
registry:
  description: The registry read.
  returned: always
  type: str
"""

from concurrent.futures import ThreadPoolExecutor

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_registry import REGISTRY_OPTIONS
from ansible.module_utils.toolkit_registry import RegistryError
from ansible.module_utils.toolkit_registry import ecr_findings
from ansible.module_utils.toolkit_registry import registry_session
from ansible.module_utils.toolkit_registry import results

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(
        images=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(name=dict(type="str", required=True), tag=dict(type="str", required=True)),
        ),
        scan_findings=dict(type="bool", default=False),
        scan_threshold=dict(type="str", choices=["LOW", "MEDIUM", "HIGH", "CRITICAL"], default="CRITICAL"),
        fail_on_findings=dict(type="bool", default=True),
        ecr_scan_timeout=dict(type="int", default=600),
        **REGISTRY_OPTIONS,
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    with registry_session(module, module.client("ecr")) as registry:
        # Credentials first, in this thread: a failure is reported once, from here.
        registry.connect()
        with ThreadPoolExecutor(max_workers=4) as pool:
            try:
                digests = results([pool.submit(registry.digest_at, image["name"], image["tag"]) for image in params["images"]])
            except RegistryError as e:
                module.fail_json(msg=str(e))
        host = registry.host
        images = [
            {"name": image["name"], "tag": image["tag"], "digest": digest, "reference": f"{host}/{image['name']}@{digest}" if digest else None,
             "findings": []}
            for image, digest in zip(params["images"], digests)
        ]
        if params["scan_findings"] and registry.is_ecr:
            try:
                for image in images:
                    if image["digest"]:
                        image["findings"] = ecr_findings(module, registry.ecr, image["name"], image["digest"],
                                                         params["scan_threshold"], params["ecr_scan_timeout"])
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                fail_aws(module, e, "Failed to read ECR's scan findings")
    blocked = [image for image in images if image["findings"]]
    if blocked and params["fail_on_findings"]:
        module.fail_json(
            msg=f"ECR's scan found findings at or above {params['scan_threshold']} in these images; none is pinned: "
            + "; ".join(f"{i['name']}:{i['tag']} ({i['digest']}): {', '.join(i['findings'][:20])}" for i in blocked),
            images=images)
    module.exit_json(changed=False, images=images, registry=host)


if __name__ == "__main__":
    main()
