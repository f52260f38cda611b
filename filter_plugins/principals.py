# -*- coding: utf-8 -*-
"""The IAM policies of the toolkit's own principals, from the roles' declarations.

Each phase role declares, in meta/iam.yml, the statements its tasks need, for
the deployer (who runs site.yml) and, for the verify role, the auditor (who
runs verify.yml). playbooks/iam_policies.yml renders them for an inventory;
this file turns the rendered declarations into one policy document per
principal and says what would make one unacceptable.

Pure functions; tests/unit/test_principal_policies.py covers them.
"""

from __future__ import annotations

import json

# IAM's quotas: a managed policy holds 6,144 characters (whitespace
# excluded), and a role or user takes 10 managed policies by default. The
# deployer's policy is larger than one managed policy holds, so it is also
# written in parts that each fit one.
MANAGED_POLICY_MAX_CHARS = 6144
MANAGED_POLICIES_PER_PRINCIPAL = 10
# What the auditor's actions may start with: it only reads.
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Lookup")


def _listify(value):
    return value if isinstance(value, list) else [value]


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def principal_policy(declarations, principal):
    """One policy document for `principal` (deployer or auditor).

    `declarations`: {role: {principal: [statement, ...]}} as the roles'
    meta/iam.yml declare them, rendered. A statement has a sid, actions,
    resources, and may have a condition and a `when` (left out when false).
    Statements of one Sid, from one role or several, become one: their
    actions and resources are united, so a Sid must only be shared by grants
    that belong together. They must agree on their condition.
    """
    merged = {}
    for role in sorted(declarations):
        for statement in (declarations[role] or {}).get(principal) or []:
            if "when" in statement and not _truthy(statement["when"]):
                continue
            sid = statement["sid"]
            condition = statement.get("condition") or {}
            found = merged.setdefault(sid, {"actions": set(), "resources": set(), "condition": condition, "roles": []})
            if found["condition"] != condition:
                raise ValueError(f"Statement {sid} of the role {role} has another condition than the role(s) {', '.join(found['roles'])}")
            found["actions"] |= set(_listify(statement["actions"]))
            found["resources"] |= {str(r) for r in _listify(statement["resources"])}
            found["roles"].append(role)
    statements = []
    for sid, found in merged.items():
        resources = sorted(found["resources"])
        statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(found["actions"]),
                     "Resource": "*" if "*" in resources else resources}
        if found["condition"]:
            statement["Condition"] = found["condition"]
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _size(document):
    return len(json.dumps(document, separators=(",", ":")))


def split_policy(document, limit=MANAGED_POLICY_MAX_CHARS):
    """The document's statements, in order, packed into as few documents as
    fit `limit` characters each (to attach as managed policies)."""
    parts = []
    for statement in document.get("Statement", []):
        if parts and _size({**parts[-1], "Statement": parts[-1]["Statement"] + [statement]}) <= limit:
            parts[-1]["Statement"].append(statement)
        else:
            parts.append({"Version": document.get("Version", "2012-10-17"), "Statement": [statement]})
    return parts


def policy_part_files(policies):
    """[(file name, document)] of each principal's policy that is larger than
    one managed policy holds, split: <principal>-policy-part<N>.json."""
    files = []
    for principal, document in sorted(policies.items()):
        parts = split_policy(document)
        if len(parts) > 1:
            files += [(f"{principal}-policy-part{n}.json", part) for n, part in enumerate(parts, 1)]
    return files


def principal_policy_problems(document, principal):
    """What makes a rendered policy unacceptable: an action that is a wildcard
    of a whole service, a write in the auditor's, a Sid used twice, or a size
    that the managed policies one principal takes cannot hold."""
    problems = []
    sids = [s.get("Sid") for s in document.get("Statement", [])]
    for sid in sorted({s for s in sids if sids.count(s) > 1}):
        problems.append(f"Statement {sid} appears twice")
    for statement in document.get("Statement", []):
        for action in _listify(statement.get("Action", [])):
            service, _, name = action.partition(":")
            if action == "*" or name == "*":
                problems.append(f"Statement {statement.get('Sid')} allows every action of {service or 'every service'}")
            elif principal == "auditor" and not name.startswith(READ_PREFIXES):
                problems.append(f"Statement {statement.get('Sid')} lets the auditor call {action}, which is not a read")
    for statement in document.get("Statement", []):
        if _size({"Version": "2012-10-17", "Statement": [statement]}) > MANAGED_POLICY_MAX_CHARS:
            problems.append(f"Statement {statement.get('Sid')} alone is larger than a managed policy holds ({MANAGED_POLICY_MAX_CHARS})")
    parts = len(split_policy(document))
    if parts > MANAGED_POLICIES_PER_PRINCIPAL:
        problems.append(f"The {principal}'s policy needs {parts} managed policies; a principal takes {MANAGED_POLICIES_PER_PRINCIPAL}")
    return problems


class FilterModule:
    def filters(self):
        return {
            "principal_policy": principal_policy,
            "principal_policy_problems": principal_policy_problems,
            "split_policy": split_policy,
            "policy_part_files": policy_part_files,
        }
