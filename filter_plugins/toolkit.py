# -*- coding: utf-8 -*-
"""Checks every phase's preflight makes on the toolkit-wide inventory values."""

from __future__ import annotations

import re

OWNERSHIP_TAGS = ("Project", "Environment")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def as_bool(value):
    """A boolean from an inventory value, including the strings -e passes."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def toolkit_inventory_errors(account_id, emulated, tags):
    """Problems with the account id and ownership tags an inventory declares.

    Real-account inventories must name their 12-digit account (every run
    stops before any change when the caller is elsewhere); the local cloud
    needs none. Tags must carry the ownership tags resources are found by.
    """
    errors = []
    account_id = "" if account_id is None else str(account_id).strip()
    if not account_id:
        if not as_bool(emulated):
            errors.append(
                "toolkit_aws_account_id is empty: an inventory for a real account must name its 12-digit account id"
            )
    elif not _ACCOUNT_ID.match(account_id):
        errors.append(f"toolkit_aws_account_id '{account_id}' is not a 12-digit AWS account id")
    elif set(account_id) == {"0"}:
        errors.append(
            "toolkit_aws_account_id is still the placeholder 000000000000: set it to the account this inventory is for"
        )
    missing = [key for key in OWNERSHIP_TAGS if not (tags or {}).get(key)]
    if missing:
        errors.append(f"The tags (toolkit_tags) lack the ownership tags {', '.join(missing)}")
    return errors


def ownership_tags(tags):
    """The subset of `tags` that says which project and environment own a resource."""
    return {key: tags[key] for key in OWNERSHIP_TAGS if key in (tags or {})}


def tag_filters(tags):
    """EC2 describe filters ({"tag:Key": value}) matching every tag given."""
    return {f"tag:{key}": value for key, value in (tags or {}).items()}


def tags_are(current, wanted):
    """Whether a resource's tags are exactly `wanted`, as a module with purge_tags leaves them: AWS's own
    aws: tags aside, values compared as the strings AWS keeps."""
    have = {key: value for key, value in (current or {}).items() if not key.startswith("aws:")}
    return have == {str(key): str(value) for key, value in (wanted or {}).items()}


def log_groups_settled(found, declared, tags=None):
    """Whether aws_context_info's read of log groups (with their tags) shows each declared group as the
    log_groups module would leave it: there, with its key and retention where declared, and exactly
    `tags` (purge_tags) where given. Anything else means the module has work to do."""
    for group in declared:
        have = (found or {}).get(group["name"])
        if have is None:
            return False
        if group.get("kms_key_id") and have.get("kms_key_id") != group["kms_key_id"]:
            return False
        if group.get("retention") is not None and have.get("retention") != int(group["retention"]):
            return False
        if tags is not None and ("tags" not in have or not tags_are(have["tags"], tags)):
            return False
    return True


class FilterModule:
    def filters(self):
        return {
            "toolkit_inventory_errors": toolkit_inventory_errors,
            "tag_filters": tag_filters,
            "ownership_tags": ownership_tags,
            "tags_are": tags_are,
            "log_groups_settled": log_groups_settled,
        }
