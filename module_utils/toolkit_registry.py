# -*- coding: utf-8 -*-
# skopeo against an image registry (ECR, or the local cloud's), with ECR's
# credentials, shared by ecr_image and ecr_image_info.

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

try:
    import botocore.exceptions
except ImportError:
    botocore = None

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import warn

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

# Options of every module that talks to the registry.
REGISTRY_OPTIONS = dict(
    registry=dict(type="str"),
    tls_verify=dict(type="bool", default=True),
    skopeo=dict(type="str", default="skopeo"),
)
MANIFEST_LISTS = ("application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json")
NOT_FOUND = ("manifest unknown", "not found", "name unknown", "404")
SEVERITIES = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


class RegistryError(Exception):
    """A registry read or copy failed. Raised, never reported from a worker
    thread: the module fails once, from its own thread, with every such error."""


def results(futures):
    """The futures' results, in order; every RegistryError among them raised as one."""
    found, errors = [], []
    for future in futures:
        try:
            found.append(future.result())
        except RegistryError as e:
            errors.append(str(e))
    if errors:
        raise RegistryError("; ".join(dict.fromkeys(errors)))
    return found


def ecr_findings(module, ecr, name, digest, threshold, timeout):
    """ECR's scan findings of an image at or above the threshold, once its scan is complete."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = ecr.describe_image_scan_findings(repositoryName=name, imageId={"imageDigest": digest})
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ScanNotFoundException" or time.monotonic() > deadline:
                raise
            time.sleep(5)
            continue
        status = result.get("imageScanStatus", {}).get("status")
        if status == "COMPLETE":
            findings = result.get("imageScanFindings", {}).get("findings", [])
            return sorted({f"{f.get('name')} ({f.get('severity')})" for f in findings
                           if f.get("severity") in SEVERITIES and SEVERITIES.index(f["severity"]) >= SEVERITIES.index(threshold)})
        if status in ("FAILED", "UNSUPPORTED_IMAGE") or time.monotonic() > deadline:
            warn(module, f"ECR's scan of {name}@{digest} ended {status or 'without a result'}: "
                 f"{result.get('imageScanStatus', {}).get('description', '')}")
            return []
        time.sleep(5)


def repository_of(reference):
    """docker://host:5000/ns/name:tag or ...@sha256:x -> docker://host:5000/ns/name."""
    reference = reference.split("@", 1)[0]
    slash, colon = reference.rfind("/"), reference.rfind(":")
    return reference[:colon] if colon > slash else reference


def last_line(err):
    """skopeo's error, without its log prefix: the last line says what went wrong."""
    lines = [line.strip() for line in err.strip().splitlines() if line.strip()]
    if not lines:
        return "no error message"
    line = lines[-1]
    # time="..." level=fatal msg="..."
    if 'msg="' in line:
        line = line.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return line


def write_authfile(directory, host, token):
    """A skopeo authentication file only the caller can read."""
    path = os.path.join(directory, "auth.json")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"auths": {host: {"auth": token}}}, handle)
    return path


class Registry:
    """skopeo against one destination registry.

    Its host and credentials (`credentials`, a future of what registry_session
    fetches) are waited for only by what talks to the destination, so sources
    are read meanwhile.
    """

    def __init__(self, module, workdir, credentials):
        self.module, self.workdir, self._credentials = module, workdir, credentials
        self.skopeo = module.get_bin_path(module.params["skopeo"], required=True)

    def _credential(self, field):
        found = self._credentials.result()
        if isinstance(found, Exception):
            fail_aws(self.module, found, "Failed to get an ECR authorization token")
        return found[field]

    def connect(self):
        """Wait for the credentials; fail the module here, in the caller's thread, without them."""
        self._credential("host")

    @property
    def ecr(self):
        return self._credential("ecr")

    @property
    def host(self):
        return self._credential("host")

    @property
    def is_ecr(self):
        return self._credential("is_ecr")

    @property
    def authfile(self):
        return self._credential("authfile")

    def _tls(self, flag, verify):
        return [] if verify else [f"--{flag}=false"]

    def run(self, args):
        rc, out, err = self.module.run_command([self.skopeo] + args, encoding=None)
        return rc, out, err.decode("utf-8", "replace")

    def source_options(self, source, prefix=""):
        """skopeo options for reading a source: TLS and credentials for docker:// ones."""
        options = []
        if source.startswith("docker://"):
            options += self._tls(f"{prefix}tls-verify", self.module.params.get("source_tls_verify", True))
            if self.module.params.get("source_authfile"):
                options += [f"--{prefix}authfile", self.module.params["source_authfile"]]
        return options

    def source_manifest(self, source, platform="linux/amd64"):
        """(raw manifest, the reference to copy): a list resolves to one platform's image."""
        rc, raw, err = self.run(["inspect", "--raw"] + self.source_options(source) + [source])
        if rc != 0:
            raise RegistryError(f"Cannot read the source image {source}: {last_line(err)}")
        manifest = json.loads(raw)
        if manifest.get("mediaType") in MANIFEST_LISTS or "manifests" in manifest:
            os_name, arch = platform.split("/", 1)
            entry = next((m for m in manifest.get("manifests", [])
                          if m.get("platform", {}).get("os") == os_name and m.get("platform", {}).get("architecture") == arch), None)
            if entry is None or not source.startswith("docker://"):
                raise RegistryError(f"The source {source} holds no {platform} image")
            return self.source_manifest(f"{repository_of(source)}@{entry['digest']}", platform)
        return raw, source

    def digest_at(self, name, tag):
        """The digest a tag holds in the registry, or None when it holds nothing."""
        if self.is_ecr:
            return self._ecr_digest_at(name, tag)
        args = ["inspect", "--raw", "--authfile", self.authfile] + self._tls("tls-verify", self.module.params["tls_verify"])
        rc, raw, err = self.run(args + [f"docker://{self.host}/{name}:{tag}"])
        if rc == 0:
            return "sha256:" + hashlib.sha256(raw).hexdigest()
        if any(marker in err.lower() for marker in NOT_FOUND):
            return None
        raise RegistryError(f"Cannot read {self.host}/{name}:{tag}: {last_line(err)}")

    def _ecr_digest_at(self, name, tag):
        """ECR's answer from DescribeImages. Reading the manifest instead is
        ecr:BatchGetImage, which the repositories deny to every principal but
        their pullers and pushers: an auditor could not read the digests."""
        try:
            details = self.ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])["imageDetails"]
        except is_boto3_error_code(("ImageNotFoundException", "RepositoryNotFoundException")):
            return None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            raise RegistryError(f"Cannot read {self.host}/{name}:{tag}: {e}") from e
        return details[0]["imageDigest"] if details else None

    def push(self, name, source, tag, digest):
        """Copy the source to its digest tag (all the data), then give it the release tag
        (a manifest), so a release tag never exists without its digest tag."""
        dest = ["--dest-authfile", self.authfile] + self._tls("dest-tls-verify", self.module.params["tls_verify"])
        rc, _out, err = self.run(["copy", "--quiet", "--preserve-digests"] + dest + self.source_options(source, "src-")
                                 + [source, f"docker://{self.host}/{name}:sha256-{digest.split(':', 1)[1]}"])
        if rc != 0:
            raise RegistryError(f"Pushing {source} to {self.host}/{name} failed: {last_line(err)}")
        rc, _out, err = self.run(["copy", "--quiet", "--preserve-digests", "--src-authfile", self.authfile]
                                 + self._tls("src-tls-verify", self.module.params["tls_verify"]) + dest
                                 + [f"docker://{self.host}/{name}@{digest}", f"docker://{self.host}/{name}:{tag}"])
        if rc != 0:
            raise RegistryError(f"Tagging {self.host}/{name}@{digest} as {tag} failed: {last_line(err)}")


@contextlib.contextmanager
def registry_session(module, ecr=None):
    """A Registry with an ECR token in a private authentication file, removed afterwards.

    The registry is the module's `registry` option or, by default, the
    account's ECR registry. The token never leaves the file. The ECR client
    (unless given) and the token are fetched in a thread of their own while
    the caller reads its sources.
    """
    workdir = tempfile.mkdtemp(prefix="ecr-")  # mode 0700

    def credentials():
        # Errors are returned, not raised: the module fails from its own thread.
        try:
            client = ecr or module.client("ecr")
            authorization = client.get_authorization_token()["authorizationData"][0]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            return e
        ecr_host = authorization["proxyEndpoint"].split("://", 1)[-1].rstrip("/")
        host = module.params["registry"] or ecr_host
        return {"ecr": client, "host": host, "is_ecr": host == ecr_host,
                "authfile": write_authfile(workdir, host, authorization["authorizationToken"])}

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        yield Registry(module, workdir, pool.submit(credentials))
    finally:
        pool.shutdown(wait=True)
        shutil.rmtree(workdir, ignore_errors=True)
