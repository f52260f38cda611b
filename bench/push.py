#!/usr/bin/env python3
"""Benchmark: ecr_image's first push against a plain skopeo copy, and a no-op push.

    .venv/bin/python bench/push.py [--payload-mb 500] [--rounds 5] [--images 5]

Against a local cloud of its own (emulator plus registry on loopback):

- first push: the same image (one layer of --payload-mb of incompressible
  bytes) copied by `skopeo copy --preserve-digests`, and pushed by the
  ecr_image module (run in-process, as Ansible would run it, so Ansible's own
  start-up is left out), each into a registry of its own started for that
  measurement: skopeo remembers where it has put a blob and mounts it instead
  of uploading it again, which would make every push after the first free.
  Rounds alternate which goes first; the medians are compared.
- no-op push: --images images already in place pushed again; the registry's
  access log counts what the module asked of it.

Prints a table, merges {"push": ...} into bench/results.json and rewrites
the generated table in docs/performance.md.

The module's fixed cost (an ECR client and token, one digest read, the
second tag: about 0.13 s here) weighs on small images; the default payload
is the size of a typical pipeline image. The emulator's ECR backend is
warmed up first (two token requests), as it answers its first requests
slowly where ECR does not.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from report import write_results  # noqa: E402
from support.cloud import LocalCloud  # noqa: E402
from support.module_harness import load_module, run_module  # noqa: E402

ecr_image = load_module("ecr_image")


@contextlib.contextmanager
def fresh_registry(directory: Path):
    """An empty registry on a free loopback port; yields its host:port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory.mkdir(parents=True)
    config = directory / "config.yml"
    config.write_text(f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {directory / 'data'}}}}}\n"
                      f"http: {{addr: 127.0.0.1:{port}}}\n")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def make_image(out: Path, name: str, payload_mb: int, seed: int) -> None:
    subprocess.run([sys.executable, str(REPO / "scripts" / "make-oci-image"), "--out", str(out), "--name", name,
                    "--version", "1", "--payload-mb", str(payload_mb), "--seed", str(seed)], check=True, capture_output=True)


def module_args(cloud: LocalCloud, images: list[dict], registry: str | None = None) -> dict:
    return {"images": images, "registry": registry or cloud.registry, "tls_verify": False, "scan": False, "ecr_scan_findings": False,
            "endpoint_url": cloud.endpoint, "region": cloud.region}


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def registry_log_lines(cloud: LocalCloud) -> list[str]:
    return (cloud.state_dir / "registry.log").read_text().splitlines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payload-mb", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        tmp = Path(tmp)
        cloud = LocalCloud(tmp / "cloud").start()
        os.environ.update(cloud.env)
        try:
            layout = tmp / "image"
            make_image(layout, "payload", args.payload_mb, 7)
            # The emulator loads its ECR backend on the first requests (0.2 to
            # 0.5 s each for the first two, then 5 ms); real ECR has no such
            # start, so it is not charged to the module's first rounds.
            for _ in range(2):
                cloud.client("ecr").get_authorization_token()
            plain, module = [], []
            def plain_copy(registry):
                subprocess.run(["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false", f"oci:{layout}",
                                f"docker://{registry}/bench/payload:1"], check=True)

            def module_push(registry):
                result = run_module(ecr_image, module_args(cloud, [{"name": "bench/payload", "tag": "1", "source": f"oci:{layout}"}], registry))
                assert result.get("changed") and not result.get("failed"), result

            for round_number in range(args.rounds):
                order = [("plain", plain_copy, plain), ("module", module_push, module)]
                for label, action, times in (order if round_number % 2 == 0 else order[::-1]):
                    with fresh_registry(tmp / f"registry-{round_number}-{label}") as registry:
                        times.append(timed(lambda act=action, reg=registry: act(reg)))

            images = []
            for index in range(args.images):
                make_image(tmp / f"small-{index}", f"tool{index}", 0, index)
                images.append({"name": f"bench/tool{index}", "tag": "1", "source": f"oci:{tmp / f'small-{index}'}"})
            run_module(ecr_image, module_args(cloud, images))
            before = len(registry_log_lines(cloud))
            noop_seconds = timed(lambda: run_module(ecr_image, module_args(cloud, images)))
            requests = registry_log_lines(cloud)[before:]
        finally:
            cloud.stop()

    manifest_reads = [r for r in requests if "/manifests/" in r and ('"GET ' in r or '"HEAD ' in r)]
    writes = [r for r in requests if any(f'"{verb} /v2/' in r for verb in ("PUT", "POST", "PATCH", "DELETE"))]
    result = {
        "payload_mb": args.payload_mb,
        "rounds": args.rounds,
        "skopeo_copy_seconds": round(statistics.median(plain), 3),
        "ecr_image_seconds": round(statistics.median(module), 3),
        "ratio": round(statistics.median(module) / statistics.median(plain), 3),
        "noop_images": args.images,
        "noop_seconds": round(noop_seconds, 3),
        "noop_registry_requests": len(requests),
        "noop_manifest_reads": len(manifest_reads),
        "noop_writes": len(writes),
    }
    print(f"first push of a {args.payload_mb} MiB image (median of {args.rounds})")
    print(f"  skopeo copy        {result['skopeo_copy_seconds']:8.2f} s")
    print(f"  ecr_image          {result['ecr_image_seconds']:8.2f} s   ratio {result['ratio']:.3f} (target <= 1.1)")
    print(f"no-op push of {args.images} images: {result['noop_seconds']:.2f} s, {result['noop_registry_requests']} registry requests "
          f"({result['noop_manifest_reads']} manifest reads, {result['noop_writes']} writes)")

    write_results({"push": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
