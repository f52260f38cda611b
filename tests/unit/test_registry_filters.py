"""The registry phase's filters: policies and input checks."""

from __future__ import annotations

import pytest

from registry import (
    ecr_lifecycle_policy,
    ecr_repository_policy,
    registry_image_tags,
    registry_input_errors,
    registry_push_specs,
    registry_repository_specs,
)

GOOD = [{"name": "fastqc", "tag": "0.12.1", "source": "docker://quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0"}]


def test_the_repository_policy_lets_pipeline_roles_pull_pushers_push_and_denies_the_rest():
    policy = ecr_repository_policy({"partition": "aws", "account_id": "111122223333",
                                    "pull_role_names": ["rnaseq-batch-instance-role"],
                                    "pusher_arns": ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice"]})
    pull, push, deny = policy["Statement"]
    # Exact ARNs: a role made later under a similar name is denied.
    assert pull["Condition"]["ArnEquals"]["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:role/rnaseq-batch-instance-role"]
    assert not {"ecr:PutImage", "ecr:InitiateLayerUpload"} & set(pull["Action"])
    assert push["Condition"]["ArnEquals"]["aws:PrincipalArn"] == ["arn:aws:iam::111122223333:user/alice"]
    assert "ecr:PutImage" in push["Action"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(deny["Action"]) == set(push["Action"])
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == [
        "arn:aws:iam::111122223333:role/rnaseq-batch-instance-role", "arn:aws:iam::111122223333:user/alice"]


def test_the_lifecycle_expires_untagged_images_then_keeps_the_last_n():
    rules = ecr_lifecycle_policy("12", 3)["rules"]
    assert rules[0]["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 3}
    assert rules[1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 12}
    assert [r["rulePriority"] for r in rules] == [1, 2], "'any' must be the last rule"


def test_good_images_pass_and_become_module_lists():
    assert registry_input_errors(GOOD, "rnaseq/") == []
    assert registry_push_specs(GOOD, "rnaseq/") == [{"name": "rnaseq/fastqc", "tag": "0.12.1", "source": GOOD[0]["source"]}]
    assert registry_image_tags(GOOD, "rnaseq/") == [{"name": "rnaseq/fastqc", "tag": "0.12.1"}]
    assert registry_repository_specs(GOOD, "rnaseq/", {"scan_on_push": True}) == [{"name": "rnaseq/fastqc", "scan_on_push": True}]


@pytest.mark.parametrize(
    "image, message",
    [
        ({"name": "FastQC", "tag": "1", "source": "oci:/x"}, "is not a valid ECR repository name"),
        ({"name": "fastqc", "tag": "no spaces", "source": "oci:/x"}, "is not a valid tag"),
        ({"name": "fastqc", "tag": "sha256-abc", "source": "oci:/x"}, "the digest tags the toolkit adds"),
        ({"name": "fastqc", "tag": "1", "source": "quay.io/biocontainers/fastqc:1"}, "needs a transport"),
    ],
)
def test_bad_images_say_what_is_wrong(image, message):
    errors = registry_input_errors([image], "rnaseq/")
    assert len(errors) == 1 and message in errors[0], errors


def test_an_image_listed_twice_is_refused():
    assert registry_input_errors(GOOD + GOOD, "rnaseq/") == ["Images listed twice: fastqc"]
