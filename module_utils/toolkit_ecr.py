# -*- coding: utf-8 -*-
# ECR reads shared by ecr_repository and ecr_repository_info.

from __future__ import annotations

import json

from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import tag_dict

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code


def describe_repositories(ecr, names):
    """{name: repository} for the named repositories that exist.

    One call for all of them; ECR refuses the whole call when one is missing,
    and only then are all the registry's repositories listed instead.
    """
    names = sorted(set(names))
    if not names:
        return {}
    try:
        found = paginate(ecr, "describe_repositories", "repositories", repositoryNames=names)
    except is_boto3_error_code("RepositoryNotFoundException"):
        found = [r for r in paginate(ecr, "describe_repositories", "repositories") if r["repositoryName"] in names]
    return {repository["repositoryName"]: repository for repository in found}


def summary(repository):
    """The settings of a described repository, in the modules' option names."""
    encryption = repository.get("encryptionConfiguration") or {"encryptionType": "AES256"}
    return {
        "name": repository["repositoryName"],
        "arn": repository["repositoryArn"],
        "uri": repository["repositoryUri"],
        "registry_id": repository.get("registryId"),
        "tag_mutability": repository.get("imageTagMutability", "MUTABLE"),
        "scan_on_push": bool((repository.get("imageScanningConfiguration") or {}).get("scanOnPush", False)),
        "encryption": {"type": encryption.get("encryptionType", "AES256"), "kms_key": encryption.get("kmsKey")},
    }


def read_lifecycle_policy(ecr, name):
    try:
        return json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
    except is_boto3_error_code("LifecyclePolicyNotFoundException"):
        return None


def read_repository_policy(ecr, name):
    try:
        return json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
    except is_boto3_error_code("RepositoryPolicyNotFoundException"):
        return None


def read_tags(ecr, arn):
    return tag_dict(ecr.list_tags_for_resource(resourceArn=arn).get("tags", []))
