"""Bad identity and storage input: one clear message, before any change."""

from __future__ import annotations

import pytest

from support.refusals import assert_refused

CASES = {
    "a bucket name S3 refuses": ("playbooks/storage.yml", {"storage_bucket_name": "RNAseq_Data"},
                                 "storage_bucket_name 'RNAseq_Data' may hold only lowercase letters"),
    "a bucket name like an IP address": ("playbooks/storage.yml", {"storage_bucket_name": "192.168.1.1"}, "must not look like an IP address"),
    "an unknown principal in the key policy": (
        "playbooks/storage.yml", {"storage_key_admin_arns": ["arn:aws:iam::123456789012:role/NoSuchKeyAdmin"]},
        "Unknown principal arn:aws:iam::123456789012:role/NoSuchKeyAdmin: no such IAM role or user"),
    "a principal pattern in the key policy": (
        "playbooks/storage.yml", {"storage_key_admin_arns": ["arn:aws:iam::123456789012:role/Admin*"]}, "is a pattern, not a principal"),
    "a key user named by pattern": ("playbooks/storage.yml", {"storage_key_user_role_names": ["rnaseq-*"]},
                                    'storage_key_user_role_names: "rnaseq-*" is a pattern; name the role exactly'),
    # The local cloud's caller (user/moto) administers the key, so it may not be one of its users too.
    "a key administrator among the key's users": (
        "playbooks/storage.yml", {"identity_administrators": [{"name": "moto"}]},
        "arn:aws:iam::123456789012:user/moto would both administer and use the pipeline key"),
    "synthetic data in production": ("playbooks/storage.yml", {"storage_synthetic_data": True, "toolkit_environment": "production"},
                                     "production never receives test data"),
    "the VPC restriction without the VPC": ("playbooks/storage.yml", {"storage_restrict_to_vpc": True},
                                            "storage_restrict_to_vpc needs the VPC rna-seq-hipaa-vpc: run playbooks/network.yml first"),
    "an empty administrator list in production": ("playbooks/identity.yml", {"toolkit_environment": "production", "identity_administrators": []},
                                                  "identity_administrators is empty"),
    "an invalid administrator name": ("playbooks/identity.yml", {"identity_administrators": [{"name": "bad name!"}]},
                                      "is not a valid IAM user name"),
    "a policy path IAM refuses": ("playbooks/identity.yml", {"identity_policy_path": "admins"},
                                  "identity_policy_path admins must start and end with /"),
    "a weak password policy": ("playbooks/identity.yml", {"identity_password_min_length": 8}, "identity_password_min_length must be at least 14"),
}


@pytest.fixture(scope="module")
def empty_cloud(local_cloud):
    local_cloud.reset()
    return local_cloud


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_identity_or_storage_input_fails_with_one_clear_message_and_changes_nothing(empty_cloud, case):
    playbook, extra_vars, message = CASES[case]
    assert_refused(empty_cloud, playbook, extra_vars, message)
