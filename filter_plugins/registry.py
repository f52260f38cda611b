# -*- coding: utf-8 -*-
"""Filters of the registry phase: repository and lifecycle policies, input checks.

Pure functions; tests/unit/test_registry_filters.py covers them.
"""

from __future__ import annotations

import re

PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
PUSH_ACTIONS = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
_REPOSITORY = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_TRANSPORTS = ("docker://", "docker-archive:", "oci:", "oci-archive:", "docker-daemon:")


def ecr_repository_policy(scope):
    """A repository policy that admits only the pipeline's roles (pull) and the
    pushers (pull and push), each by exact ARN, and denies image access to
    every other principal.

    `scope`: partition, account_id, pull_role_names (exact role names),
    pusher_arns.
    """
    account = f"arn:{scope['partition']}:iam::{scope['account_id']}"
    pullers = sorted({f"{account}:role/{name}" for name in scope["pull_role_names"]})
    pushers = sorted(set(scope["pusher_arns"]))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PipelineRolesPull",
                "Effect": "Allow",
                "Principal": {"AWS": f"{account}:root"},
                "Action": PULL_ACTIONS,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": pullers}},
            },
            {
                "Sid": "PushersPullAndPush",
                "Effect": "Allow",
                "Principal": {"AWS": f"{account}:root"},
                "Action": PULL_ACTIONS + PUSH_ACTIONS,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": pushers}},
            },
            {
                "Sid": "DenyImageAccessToEveryoneElse",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": PULL_ACTIONS + PUSH_ACTIONS,
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted(set(pullers + pushers))}},
            },
        ],
    }


def ecr_lifecycle_policy(keep_images, untagged_days):
    """Expire untagged images after N days; keep the last N images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images {int(untagged_days)} days after their push",
                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                              "countNumber": int(untagged_days)},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {int(keep_images)} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": int(keep_images)},
                "action": {"type": "expire"},
            },
        ]
    }


def registry_input_errors(images, prefix):
    """Problems with the inventory's image list."""
    errors = []
    names = []
    for image in images or []:
        name = str(image.get("name", ""))
        names.append(name)
        repository = f"{prefix}{name}"
        if not _REPOSITORY.match(repository) or not 2 <= len(repository) <= 256:
            errors.append(f"Image {name}: {repository} is not a valid ECR repository name (lowercase letters, digits, . _ - and /)")
        if not _TAG.match(str(image.get("tag", ""))):
            errors.append(f"Image {name}: tag '{image.get('tag')}' is not a valid tag (letters, digits, . _ -, at most 128)")
        elif str(image.get("tag")).startswith("sha256-"):
            errors.append(f"Image {name}: tags starting with sha256- are the digest tags the toolkit adds")
        source = str(image.get("source", ""))
        if not source.startswith(_TRANSPORTS):
            errors.append(f"Image {name}: source '{source}' needs a transport ({', '.join(t.rstrip(':/') for t in _TRANSPORTS)})")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"Images listed twice: {', '.join(duplicates)}")
    return errors


def registry_repository_specs(images, prefix, settings):
    """ecr_repository's list: one repository per image, each with `settings`."""
    return [{"name": f"{prefix}{image['name']}", **settings} for image in images]


def registry_push_specs(images, prefix):
    """ecr_image's list: each image under its repository's full name."""
    return [{"name": f"{prefix}{image['name']}", "tag": str(image["tag"]), "source": image["source"]} for image in images]


def registry_image_tags(images, prefix):
    """ecr_image_info's list: each image's repository and release tag."""
    return [{"name": f"{prefix}{image['name']}", "tag": str(image["tag"])} for image in images]


class FilterModule:
    def filters(self):
        return {
            "ecr_repository_policy": ecr_repository_policy,
            "ecr_lifecycle_policy": ecr_lifecycle_policy,
            "registry_input_errors": registry_input_errors,
            "registry_repository_specs": registry_repository_specs,
            "registry_push_specs": registry_push_specs,
            "registry_image_tags": registry_image_tags,
        }
