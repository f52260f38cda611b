"""Toolkit-wide inventory checks every phase's preflight makes."""

from __future__ import annotations

from toolkit import ownership_tags, toolkit_inventory_errors

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

