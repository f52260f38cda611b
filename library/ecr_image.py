#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecr_image
short_description: Push images into ECR from archives or other registries, scan-gated and idempotent by digest
description:
  - Copies each image from its source into ECR with skopeo, no container daemon needed. A source is
    anything skopeo reads - C(docker://) (a registry reference, to mirror a public image into the
    private registry), C(docker-archive:), C(oci:), C(oci-archive:) or C(docker-daemon:).
  - Each image gets its release tag and a tag naming its digest (C(sha256-<hex>)); the digest is
    preserved from the source. An image whose release tag already holds the source's digest is not
    copied again (one manifest read per image, done in parallel); a release tag that holds another
    digest is an error, since release tags never move.
  - Before anything is pushed, every image to be pushed is scanned with Trivy where it is installed; a
    finding at or above O(scan_threshold) blocks every push and fails, naming the images and
    vulnerabilities. With no scanner, the gate fails closed when O(scan_required=true) and warns
    otherwise. ECR's scan-on-push findings of every image in ECR, pushed by this run or an earlier
    one, are held to the same threshold, so a run after a failed scan fails again.
  - Registry credentials come from ECR's authorization API, go to skopeo in an authentication file
    readable by the caller only, removed when the module ends, and never appear in the output.
  - Supports check mode (checks and scans, pushes nothing).
notes:
  - Departs from the list contract (docs/modules.md) by design - release tags never move or go, so an image
    leaves only with its repository (M(ecr_repository) with V(absent)).
options:
  images:
    description: The images.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The ECR repository, such as C(rnaseq/fastqc).
        type: str
        required: true
      source:
        description: The image to push, as a skopeo transport reference.
        type: str
        required: true
      tag:
        description: The release tag.
        type: str
        required: true
  registry:
    description:
      - The registry to push to (C(host[:port])). Defaults to the account's ECR registry, from the
        authorization token. The local cloud sets its own registry here.
    type: str
  tls_verify:
    description: Verify the destination registry's TLS certificate (false only for a registry on loopback).
    type: bool
    default: true
  source_tls_verify:
    description: Verify the TLS certificate of C(docker://) sources.
    type: bool
    default: true
  source_authfile:
    description: A skopeo authentication file for private sources.
    type: path
  platform:
    description: The platform to take from a multi-platform source, as C(os/architecture).
    type: str
    default: linux/amd64
  scan:
    description: Scan images before pushing them.
    type: bool
    default: true
  scanner:
    description: The Trivy command.
    type: str
    default: trivy
  scanner_args:
    description: More Trivy arguments (for example C(--skip-db-update) where the controller has no internet).
    type: list
    elements: str
    default: []
  scan_threshold:
    description: The lowest severity that blocks a push.
    type: str
    choices: [LOW, MEDIUM, HIGH, CRITICAL]
    default: CRITICAL
  scan_required:
    description: Fail, instead of warning, when no scanner is installed (fail closed).
    type: bool
    default: false
  ecr_scan_findings:
    description:
      - Hold ECR's scan-on-push findings of every image to the threshold, after the pushes (all scans run at
        once, and are waited for together). An image an earlier run pushed is held to them too.
    type: bool
    default: true
  ecr_scan_timeout:
    description: Seconds to wait for ECR's findings.
    type: int
    default: 600
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
- name: Mirror the public FastQC image into the private registry
  ecr_image:
    images:
      - name: rnaseq/fastqc
        tag: 0.12.1
        source: docker://quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0
    scan_required: true
  register: registry_pushes

- name: Push an image archive built elsewhere
  ecr_image:
    images:
      - {name: rnaseq/star, tag: 2.7.11b, source: "docker-archive:/srv/images/star.tar"}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq/fastqc:0.12.1: [pushed]}
images:
  description: Each image, with its digest and digest-pinned reference.
  returned: always
  type: list
  elements: dict
  sample:
    - name: rnaseq/fastqc
      tag: 0.12.1
      digest: sha256:e3b4feef516c102a8737a464bd59e4bda62973405333e1b202899929569fafa1
      reference: 123456789012.dkr.ecr.us-east-1.amazonaws.com/rnaseq/fastqc@sha256:e3b4feef516c102a8737a464bd59e4bda62973405333e1b202899929569fafa1
      pushed: true
registry:
  description: The registry pushed to.
  returned: always
  type: str
warnings_scanner:
  description: Whether the scan gate was skipped for want of a scanner.
  returned: always
  type: bool
"""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import warn
from ansible.module_utils.toolkit_registry import REGISTRY_OPTIONS
from ansible.module_utils.toolkit_registry import SEVERITIES
from ansible.module_utils.toolkit_registry import RegistryError
from ansible.module_utils.toolkit_registry import ecr_findings
from ansible.module_utils.toolkit_registry import registry_session
from ansible.module_utils.toolkit_registry import results

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def scan_findings(module, scanner, image, threshold, workdir):
    """Trivy's findings at or above the threshold, as 'ID (severity, package)' strings."""
    severities = ",".join(SEVERITIES[SEVERITIES.index(threshold):])
    command = [scanner, "image", "--quiet", "--format", "json", "--severity", severities] + module.params["scanner_args"]
    source = image["copy_from"]
    transport, _, location = source.partition(":")
    if transport == "docker":
        if not module.params["source_tls_verify"]:
            command.append("--insecure")
        command.append(location.lstrip("/"))
    elif transport in ("docker-archive", "oci-archive"):
        command += ["--input", location.split(":", 1)[0]]
    else:
        # Trivy reads archives; an OCI layout or daemon image is archived first.
        archive = os.path.join(workdir, hashlib.sha256(source.encode()).hexdigest() + ".tar")
        skopeo = module.get_bin_path(module.params["skopeo"], required=True)
        rc, _out, err = module.run_command([skopeo, "copy", "--quiet", source, f"oci-archive:{archive}"])
        if rc != 0:
            module.fail_json(msg=f"Cannot archive {source} for the scanner: {err.strip()}")
        command += ["--input", archive]
    rc, out, err = module.run_command(command)
    if rc != 0:
        module.fail_json(msg=f"The scanner failed on {image['name']} ({source}): {err.strip()}")
    report = json.loads(out or "{}")
    found = []
    for result in report.get("Results") or []:
        for vulnerability in result.get("Vulnerabilities") or []:
            severity = vulnerability.get("Severity", "UNKNOWN")
            if severity in SEVERITIES and SEVERITIES.index(severity) >= SEVERITIES.index(threshold):
                found.append(f"{vulnerability.get('VulnerabilityID')} ({severity}, {vulnerability.get('PkgName')})")
    return sorted(set(found))


def run(module, registry, images):
    """Check, gate and push the images; return what was pushed and whether the scanner was missing."""
    params = module.params

    # The sources are read while the registry's credentials are fetched; what
    # the release tags hold, once they are in. A failed read raises, and the
    # module fails once, here, naming every image that could not be read.
    with ThreadPoolExecutor(max_workers=4) as pool:
        sources = [pool.submit(registry.source_manifest, image["source"], params["platform"]) for image in images]
        registry.connect()
        found = [pool.submit(registry.digest_at, image["name"], image["tag"]) for image in images]
        try:
            read = list(zip(results(sources), results(found)))
        except RegistryError as e:
            module.fail_json(msg=f"{e}; nothing was pushed")
    for image, ((raw, copy_from), at) in zip(images, read):
        image["copy_from"] = copy_from
        image["digest"] = "sha256:" + hashlib.sha256(raw).hexdigest()
        image["found"] = at

    moved = [f"{i['name']}:{i['tag']} holds {i['found']}, not the source's {i['digest']}" for i in images if i["found"] not in (None, i["digest"])]
    if moved:
        module.fail_json(msg="Release tags never move, and these already hold another image; nothing was pushed: "
                         + "; ".join(moved) + ". Give the new image a new release tag.")
    to_push = [image for image in images if image["found"] is None]

    scanner_missing = False
    if to_push and params["scan"]:
        scanner = module.get_bin_path(params["scanner"])
        if scanner is None:
            scanner_missing = True
            if params["scan_required"]:
                module.fail_json(msg=f"No image scanner ({params['scanner']}) is installed, and this environment requires one: "
                                 "the scan gate fails closed; nothing was pushed. Install Trivy on the controller.")
            warn(module, f"No image scanner ({params['scanner']}) is installed: {len(to_push)} image(s) are pushed unscanned.")
        else:
            blocked = {}
            for image in to_push:
                findings = scan_findings(module, scanner, image, params["scan_threshold"], registry.workdir)
                if findings:
                    blocked[f"{image['name']}:{image['tag']} ({image['source']})"] = findings
            if blocked:
                module.fail_json(
                    msg=f"Scan gate: findings at or above {params['scan_threshold']} block the push; nothing was pushed. "
                    + "; ".join(f"{name}: {', '.join(found[:20])}" + (f" and {len(found) - 20} more" if len(found) > 20 else "")
                                for name, found in blocked.items()),
                    blocked=blocked,
                )

    if not module.check_mode:
        for image in to_push:
            registry.push(image["name"], image["copy_from"], image["tag"], image["digest"])
    # ECR's findings hold for every image in the registry, pushed by this run
    # or an earlier one: a run after a failed scan fails again, instead of
    # finding the image in place and passing it. ECR scans every pushed image
    # at once; collecting the findings after the last push waits about as long
    # as the slowest scan, not the sum of them.
    failed_findings = {}
    if registry.is_ecr and params["ecr_scan_findings"]:
        for image in images:
            if module.check_mode and image["found"] is None:
                continue
            found = ecr_findings(module, registry.ecr, image["name"], image["digest"], params["scan_threshold"],
                                 params["ecr_scan_timeout"])
            if found:
                failed_findings[f"{image['name']}@{image['digest']}"] = found
    if failed_findings:
        module.fail_json(
            msg=f"ECR's scan found findings at or above {params['scan_threshold']} in pushed images; do not use them: "
            + "; ".join(f"{name}: {', '.join(found[:20])}" for name, found in failed_findings.items()),
            blocked=failed_findings,
        )
    return to_push, scanner_missing


def main():
    argument_spec = dict(
        images=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(name=dict(type="str", required=True), source=dict(type="str", required=True), tag=dict(type="str", required=True)),
        ),
        source_tls_verify=dict(type="bool", default=True),
        source_authfile=dict(type="path"),
        platform=dict(type="str", default="linux/amd64"),
        scan=dict(type="bool", default=True),
        scanner=dict(type="str", default="trivy"),
        scanner_args=dict(type="list", elements="str", default=[]),
        scan_threshold=dict(type="str", choices=["LOW", "MEDIUM", "HIGH", "CRITICAL"], default="CRITICAL"),
        scan_required=dict(type="bool", default=False),
        ecr_scan_findings=dict(type="bool", default=True),
        ecr_scan_timeout=dict(type="int", default=600),
        **REGISTRY_OPTIONS,
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    images = [dict(image) for image in module.params["images"]]
    with registry_session(module) as registry:
        try:
            to_push, scanner_missing = run(module, registry, images)
        except RegistryError as e:
            module.fail_json(msg=str(e))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, "Failed to read ECR's scan findings")
        host = registry.host

    module.exit_json(
        changed=bool(to_push),
        images=[
            {
                "name": image["name"],
                "tag": image["tag"],
                "source": image["source"],
                "digest": image["digest"],
                "reference": f"{host}/{image['name']}@{image['digest']}",
                "pushed": image["found"] is None,
            }
            for image in images
        ],
        registry=host,
        warnings_scanner=scanner_missing,
        changes={f"{i['name']}:{i['tag']}": ["pushed"] for i in to_push},
        diff={"before": {"missing": [f"{i['name']}:{i['tag']}" for i in to_push]}, "after": {"missing": []}},
    )


if __name__ == "__main__":
    main()
