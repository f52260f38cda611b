"""Toolkit-wide inventory checks every phase's preflight makes."""

from __future__ import annotations

from toolkit import log_groups_settled, ownership_tags, tags_are, toolkit_inventory_errors

TAGS = {"Project": "rna-seq-hipaa", "Environment": "production", "ManagedBy": "x"}


def test_the_local_cloud_needs_no_account_id():
    assert toolkit_inventory_errors("", True, TAGS) == []


def test_a_real_account_inventory_must_name_a_real_account_id():
    assert "must name its 12-digit account id" in toolkit_inventory_errors("", False, TAGS)[0]
    assert "still the placeholder" in toolkit_inventory_errors("000000000000", False, TAGS)[0]
    assert "is not a 12-digit" in toolkit_inventory_errors("1234", False, TAGS)[0]
    assert toolkit_inventory_errors("123456789012", False, TAGS) == []
    assert toolkit_inventory_errors(123456789012, False, TAGS) == []


def test_the_ownership_tags_are_required_and_extracted():
    assert "lack the ownership tags Environment" in toolkit_inventory_errors("", True, {"Project": "p"})[0]
    assert ownership_tags(TAGS) == {"Project": "rna-seq-hipaa", "Environment": "production"}



def test_tags_are_the_wanted_ones_as_strings_aws_own_tags_aside():
    assert tags_are({"Name": "igw", "Port": "1194", "aws:cloudformation:stack-name": "s"}, {"Name": "igw", "Port": 1194})
    assert not tags_are({"Name": "igw", "Owner": "someone"}, {"Name": "igw"})
    assert not tags_are({"Name": "igw"}, {"Name": "igw", "Project": "p"})
    assert not tags_are({"Name": "other"}, {"Name": "igw"})
    assert tags_are(None, {}) and tags_are({}, None)


def test_log_groups_are_settled_only_when_each_is_there_with_its_declared_key_retention_and_tags():
    found = {"/a": {"kms_key_id": "k", "retention": 365, "tags": {"Project": "p"}}}
    declared = [{"name": "/a", "kms_key_id": "k", "retention": "365"}]
    assert log_groups_settled(found, declared, {"Project": "p"})
    assert log_groups_settled(found, [{"name": "/a", "kms_key_id": None, "retention": None}], None), "undeclared is left alone"
    assert not log_groups_settled(found, declared + [{"name": "/b"}], {"Project": "p"}), "missing"
    assert not log_groups_settled(found, [{**declared[0], "kms_key_id": "other"}], {"Project": "p"})
    assert not log_groups_settled(found, [{**declared[0], "retention": 30}], {"Project": "p"})
    assert not log_groups_settled(found, declared, {"Project": "q"})
    assert not log_groups_settled({"/a": {"kms_key_id": "k", "retention": 365}}, declared, {"Project": "p"}), "tags unread"
