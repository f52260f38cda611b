# -*- coding: utf-8 -*-
"""The registry phase's controls (ECR-*): the repositories and the pushed images.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Ansible loads plugins by path: make filter_plugins/controls.py, the shared part, importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

import controls as shared  # noqa: E402


CONTROLS = {
    c.id: c
    for c in [
        shared.Control("ECR-01", "Every pipeline repository scans images on push", "registry", "repositories",
                [shared.MALICIOUS_SOFTWARE], ["AWS FSBP ECR.1"]),
        shared.Control("ECR-02", "Every pipeline repository has immutable tags", "registry", "repositories",
                [shared.INTEGRITY], ["AWS FSBP ECR.2"]),
        shared.Control("ECR-03", "Every pipeline repository is encrypted with the pipeline key", "registry", "repositories", [shared.ENCRYPTION]),
        shared.Control("ECR-04", "Every pipeline repository has a lifecycle policy", "registry", "repositories",
                [shared.RISK_MANAGEMENT], ["AWS FSBP ECR.3"]),
        shared.Control("ECR-05", "Every pipeline repository's policy denies image access to principals it does not name by exact ARN", "registry",
                "repositories", [shared.ACCESS_CONTROL]),
        shared.Control("ECR-06", "Every pipeline image's release tag holds an image, pinned by digest", "registry", "images", [shared.INTEGRITY]),
    ]
}


def registry_controls(state, baseline):
    """Evaluate the registry controls.

    `state`: repositories (ecr_repository_info's, by name), images
    (ecr_image_info's), key_arn.
    `baseline`: repositories (names), images (name and tag each).
    """
    c = CONTROLS
    repositories = state.get("repositories") or {}
    names = list(baseline["repositories"])

    def per_repository(control, expected, check):
        problems = []
        for name in names:
            found = repositories.get(name) or {}
            if not found.get("exists"):
                problems.append(f"{name} missing")
            else:
                problem = check(found)
                if problem:
                    problems.append(f"{name}: {problem}")
        return control.result(", ".join(names), expected, "; ".join(problems) or "as expected", not problems)

    key_arn = state.get("key_arn")

    def denies_others(found):
        statements = shared._listify((found.get("repository_policy") or {}).get("Statement"))
        named = [arn for st in statements if st.get("Effect") == "Deny" and shared._is_everyone(st.get("Principal"))
                 and "ecr:BatchGetImage" in shared._actions(st)
                 for operator in ("ArnNotLike", "ArnNotEquals")
                 for arn in shared._listify((st.get("Condition") or {}).get(operator, {}).get("aws:PrincipalArn"))]
        if not named:
            return "no Deny of image access to unnamed principals"
        wildcards = sorted({arn for arn in named if "*" in arn or "?" in arn})
        return f"names principals by pattern: {', '.join(wildcards)}" if wildcards else None

    results = [
        per_repository(c["ECR-01"], "scan on push", lambda f: None if f.get("scan_on_push") else "scan on push off"),
        per_repository(c["ECR-02"], "IMMUTABLE tags", lambda f: None if f.get("tag_mutability") == "IMMUTABLE" else f.get("tag_mutability")),
        per_repository(c["ECR-03"], f"KMS with {key_arn}",
                       lambda f: None if (f.get("encryption") or {}).get("type") == "KMS" and key_arn
                       and (f.get("encryption") or {}).get("kms_key") == key_arn else str(f.get("encryption"))),
        per_repository(c["ECR-04"], "a lifecycle policy with rules",
                       lambda f: None if (f.get("lifecycle_policy") or {}).get("rules") else "no lifecycle policy"),
        per_repository(c["ECR-05"], "Deny image access to every principal not named by exact ARN", denies_others),
    ]
    images = {(i["name"], i["tag"]): i for i in state.get("images") or []}
    missing = [f"{i['name']}:{i['tag']}" for i in baseline["images"] if not (images.get((i["name"], str(i["tag"]))) or {}).get("digest")]
    results.append(c["ECR-06"].result(
        ", ".join(f"{i['name']}:{i['tag']}" for i in baseline["images"]), "each tag holds an image (a digest)",
        f"empty: {', '.join(missing)}" if missing else "; ".join(i["reference"] for i in state.get("images") or []),
        not missing,
    ))
    return results


class FilterModule:
    def filters(self):
        return {"registry_controls": registry_controls}
