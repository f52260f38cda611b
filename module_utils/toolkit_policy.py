# -*- coding: utf-8 -*-
# Decides what an IAM policy document says about one request, as AWS's policy
# evaluation does for the statements the toolkit writes: Effect, Principal,
# (Not)Action, (Not)Resource and Condition, with AWS's rules for a condition
# key the request lacks (negated operators and ...IfExists match, the others
# do not; ForAllValues matches an empty set).
#
# Pure Python, no Ansible and no boto3. Used by the local cloud's emulator
# (scripts/local-cloud-emulator) to evaluate bucket policies against each
# request's context, and by the tests to turn rendered policies into decisions.

from __future__ import annotations

import ipaddress
import re

ALLOW, DENY = "Allow", "Deny"

# Operators that match when the key is missing from the request.
_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericNotEquals",
    "NotIpAddress",
}


def _listify(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _wildcard(pattern, value, ignore_case=False):
    """IAM's * and ? wildcards (no character classes, unlike fnmatch)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(pattern))
    return re.fullmatch(regex, str(value), re.IGNORECASE if ignore_case else 0) is not None


def _arn_like(pattern, value):
    """ArnLike: each of the six colon-separated parts matched on its own."""
    pattern_parts, value_parts = str(pattern).split(":", 5), str(value).split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_wildcard(p, v) for p, v in zip(pattern_parts, value_parts))


def _number(value):
    return float(value)


_COMPARE = {
    "StringEquals": lambda expected, actual: str(actual) == str(expected),
    "StringEqualsIgnoreCase": lambda expected, actual: str(actual).lower() == str(expected).lower(),
    "StringLike": lambda expected, actual: _wildcard(expected, actual),
    "ArnEquals": lambda expected, actual: str(actual) == str(expected),
    "ArnLike": _arn_like,
    "Bool": lambda expected, actual: str(actual).lower() == str(expected).lower(),
    "NumericEquals": lambda expected, actual: _number(actual) == _number(expected),
    "NumericLessThan": lambda expected, actual: _number(actual) < _number(expected),
    "NumericLessThanEquals": lambda expected, actual: _number(actual) <= _number(expected),
    "NumericGreaterThan": lambda expected, actual: _number(actual) > _number(expected),
    "NumericGreaterThanEquals": lambda expected, actual: _number(actual) >= _number(expected),
    "IpAddress": lambda expected, actual: ipaddress.ip_address(str(actual)) in ipaddress.ip_network(str(expected), strict=False),
}
# A negated operator is its positive twin, inverted.
_POSITIVE = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "NotIpAddress": "IpAddress",
}


class UnsupportedCondition(ValueError):
    """A condition operator this evaluator does not know: never guess."""


def _context_values(context, key):
    """The request's values for a condition key (keys are case-insensitive), or None when absent."""
    lowered = {k.lower(): v for k, v in context.items()}
    if key.lower() not in lowered or lowered[key.lower()] is None:
        return None
    return [str(v) for v in _listify(lowered[key.lower()])]


def _condition_matches(operator, key, expected, context):
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator[: -len("IfExists")] if if_exists else operator
    expected = _listify(expected)
    actual = _context_values(context, key)

    if operator == "Null":
        want_absent = str(expected[0]).lower() == "true"
        return (actual is None) == want_absent
    if operator not in _COMPARE and operator not in _POSITIVE:
        raise UnsupportedCondition(f"condition operator {operator} is not supported")
    if actual is None:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or operator in _NEGATED

    negated = operator in _POSITIVE
    compare = _COMPARE[_POSITIVE.get(operator, operator)]

    def one(value):
        matched = any(compare(e, value) for e in expected)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual)
    # Single-valued keys and ForAnyValue: any of the request's values.
    return any(one(value) for value in actual)


def _principal_matches(principal, request):
    """Whether a statement's Principal names the caller.

    `request` may carry `principal` (an ARN: a user, a role, or an account's
    root), `account` (the caller's account) and `service` (when an AWS service
    calls on its own behalf).
    """
    if principal in ("*", {"AWS": "*"}):
        return True
    if not isinstance(principal, dict):
        return False
    for arn in _listify(principal.get("AWS")):
        arn = str(arn)
        if arn == "*" or arn == request.get("principal"):
            return True
        # An account (its id or its root) stands for every principal of it.
        account = arn if re.fullmatch(r"\d{12}", arn) else (arn.split(":")[4] if arn.endswith(":root") else None)
        if account and account == request.get("account"):
            return True
    return request.get("service") in _listify(principal.get("Service"))


def statement_applies(statement, request):
    """Whether one statement covers `request` (action, resource, principal, context)."""
    action = request["action"]
    if "Action" in statement and not any(_wildcard(a, action, ignore_case=True) for a in _listify(statement["Action"])):
        return False
    if "NotAction" in statement and any(_wildcard(a, action, ignore_case=True) for a in _listify(statement["NotAction"])):
        return False
    resource = request.get("resource", "*")
    if "Resource" in statement and not any(_wildcard(r, resource) for r in _listify(statement["Resource"])):
        return False
    if "NotResource" in statement and any(_wildcard(r, resource) for r in _listify(statement["NotResource"])):
        return False
    if "Principal" in statement and not _principal_matches(statement["Principal"], request):
        return False
    if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request):
        return False
    context = request.get("context") or {}
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition_matches(operator, key, expected, context):
                return False
    return True


def decide(document, request):
    """Deny when a Deny statement applies, Allow when an Allow does, else None (no opinion)."""
    decision = None
    for statement in _listify((document or {}).get("Statement")):
        if statement_applies(statement, request):
            if statement.get("Effect") == DENY:
                return DENY
            decision = ALLOW
    return decision


def matching_sids(document, request, effect=None):
    """The Sids of the statements that apply to `request` (for explaining a decision)."""
    return [s.get("Sid", "") for s in _listify((document or {}).get("Statement"))
            if (effect is None or s.get("Effect") == effect) and statement_applies(s, request)]
