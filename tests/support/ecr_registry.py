"""A stand-in for the registry ecr_image and ecr_image_info copy to, with ECR's own control API.

moto's ECR stores no layers, so what a push leaves in ECR (the image record,
the scan its push starts) is made here with ECR's API: PutImage, then
StartImageScan, as scan on push does. moto reports one HIGH finding
(CVE-9999-9999) for every scanned image.
"""

from __future__ import annotations

import hashlib
import json

from . import module_harness  # noqa: F401  (names module_utils/ as Ansible does)
from ansible.module_utils.toolkit_registry import RegistryError

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"digest": "sha256:" + "c" * 64, "size": 2}, "layers": []}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
IMAGE = {"name": "rnaseq/fastqc", "tag": "0.12.1", "source": "docker://quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0"}


class EcrRegistry:
    """The Registry the modules use, with ECR's own API for what a push leaves in ECR."""

    unreadable: set[str] = set()

    def __init__(self, module, ecr):
        self.module, self.ecr = module, ecr
        self.host, self.is_ecr, self.workdir, self.pushed = "123456789012.dkr.ecr.us-east-1.amazonaws.com", True, "/tmp", []

    def connect(self):
        pass

    def source_manifest(self, source, platform="linux/amd64"):
        if source in self.unreadable:
            raise RegistryError(f"Cannot read the source image {source}: connection refused")
        return MANIFEST, source

    def digest_at(self, name, tag):
        images = self.ecr.describe_images(repositoryName=name)["imageDetails"]
        return next((i["imageDigest"] for i in images if tag in i.get("imageTags", [])), None)

    def push(self, name, source, tag, digest):
        self.ecr.put_image(repositoryName=name, imageManifest=MANIFEST.decode(), imageTag=tag, imageDigest=digest)
        self.ecr.start_image_scan(repositoryName=name, imageId={"imageDigest": digest})
        self.pushed.append(name)
