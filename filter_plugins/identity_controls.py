# -*- coding: utf-8 -*-
"""The identity phase's controls (IAM-*): the administrators' and operators'
groups and policies, and the account password policy.
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
        shared.Control("IAM-01", "The administrators' group has the administrator policy attached, and nothing else", "identity", "policy",
                [shared.ACCESS_MANAGEMENT], ["CIS AWS 1.14"]),
        shared.Control("IAM-02", "The administrator policy allows no wildcard or IAM action and nothing without MFA", "identity", "policy",
                [shared.AUTHENTICATION, shared.ACCESS_MANAGEMENT], ["CIS AWS 1.15", "AWS FSBP IAM.1"]),
        shared.Control("IAM-03", "The administrators are the group's members, with no active access key and MFA for any console password",
                "identity", "administrators", [shared.ACCESS_MANAGEMENT, shared.AUTHENTICATION], ["CIS AWS 1.9", "CIS AWS 1.10", "AWS FSBP IAM.5"]),
        shared.Control("IAM-04", "The account password policy asks for 14+ characters of four classes, remembers 24, expires within 90 days",
                "identity", "password_policy", [shared.PASSWORD_MANAGEMENT], ["CIS AWS 1.7", "CIS AWS 1.8", "AWS FSBP IAM.7"]),
    ]
}


def identity_controls(state, baseline):
    """Evaluate the identity controls.

    `state`: group (iam_group_info's result), password_policy.
    `baseline`: group_name, policy_name, administrators (names),
    exclusive_membership, min_length, reuse_prevention, max_age.
    """
    c = CONTROLS
    group = state.get("group") or {}
    name = baseline["group_name"]
    attached = [p["name"] for p in group.get("attached_policies", [])]
    inline = group.get("inline_policies", [])
    results = [c["IAM-01"].result(
        name,
        f"only {baseline['policy_name']} attached, no inline policy",
        "group missing" if not group.get("exists") else f"attached: {', '.join(attached) or 'none'}; inline: {', '.join(inline) or 'none'}",
        bool(group.get("exists")) and attached == [baseline["policy_name"]] and not inline,
    )]

    policy = next((p for p in group.get("attached_policies", []) if p["name"] == baseline["policy_name"]), None)
    problems = []
    if policy:
        for statement in policy.get("document", {}).get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            sid = statement.get("Sid", "?")
            if str(statement.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent")).lower() != "true":
                problems.append(f"{sid} without MFA")
            for action in shared._actions(statement):
                if action in ("*", "*:*") or action.endswith(":*") or action.lower().startswith("iam:"):
                    problems.append(f"{sid} allows {action}")
            if "NotAction" in statement:
                problems.append(f"{sid} uses NotAction")
    results.append(c["IAM-02"].result(
        baseline["policy_name"], "every Allow behind MFA; no *, service:* or iam: action",
        "policy not attached" if not policy else ("; ".join(problems) or "as expected"), bool(policy) and not problems))

    members = {u["name"]: u for u in group.get("users", [])}
    wanted = list(baseline["administrators"])
    issues = [f"{n} not a member" for n in wanted if n not in members]
    if baseline.get("exclusive_membership"):
        issues += [f"{n} is a member but not an administrator" for n in members if n not in wanted]
    for member in members.values():
        if any(k.get("status") == "Active" for k in member.get("access_keys", [])):
            issues.append(f"{member['name']} has an active access key")
        if member.get("login_profile") and not member.get("mfa_devices"):
            issues.append(f"{member['name']} has a console password without MFA")
    results.append(c["IAM-03"].result(
        name, f"members {', '.join(wanted) or '(none listed)'}; no active access key; MFA with any console password",
        "group missing" if not group.get("exists") else ("; ".join(issues) or "as expected"), bool(group.get("exists")) and not issues))

    pw = state.get("password_policy") or {}
    min_length = max(14, int(baseline.get("min_length", 14)))
    reuse = max(24, int(baseline.get("reuse_prevention", 24)))
    max_age = min(90, int(baseline.get("max_age", 90)))
    passed = (
        int(pw.get("min_length", 0)) >= min_length
        and all(pw.get(k) for k in ("require_symbols", "require_numbers", "require_uppercase", "require_lowercase"))
        and int(pw.get("reuse_prevention", 0)) >= reuse
        and 0 < int(pw.get("max_age", 0)) <= max_age
    )
    results.append(c["IAM-04"].result(
        "account password policy",
        f"length >= {min_length}, symbols, numbers, upper and lower case, reuse >= {reuse}, max age 1-{max_age} days",
        f"length {pw.get('min_length')}, symbols {pw.get('require_symbols')}, numbers {pw.get('require_numbers')}, "
        f"upper {pw.get('require_uppercase')}, lower {pw.get('require_lowercase')}, reuse {pw.get('reuse_prevention')}, "
        f"max age {pw.get('max_age')}",
        passed,
    ))
    return results


class FilterModule:
    def filters(self):
        return {"identity_controls": identity_controls}
