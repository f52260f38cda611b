# -*- coding: utf-8 -*-
"""The controls `playbooks/verify.yml` audits, as pure functions.

verify gathers the live state with read-only modules; these filters compare
that state with a baseline and return one result per control:

    {id, title, phase, tag, repair, hipaa, standards, resource,
     expected, found, status: pass|fail|not evaluated}

A control is "not evaluated" only when what it reads is not where verify
runs (the VPN's PKI, kept on the controller that ran access.yml); the report
counts it apart and says why.

Each control names the HIPAA Security Rule safeguard it serves (45 CFR
164.308/164.312) and its CIS AWS Foundations or AWS Foundational Security
Best Practices (FSBP) identifier where one exists. tests/unit/test_controls.py
covers them with recorded state.

This file is the shared part: Control, the safeguards, the checks more than
one phase makes, and the report's filters. Each phase's controls are in
filter_plugins/<phase>_controls.py (docs/phases.md maps every file of a
phase).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

# The phases whose controls verify evaluates, in site.yml's order; each has
# filter_plugins/<phase>_controls.py.
PHASES = ["network", "identity", "storage", "audit", "registry", "batch", "access"]


def _module_util(name):
    """A file of module_utils/, as a module: Ansible loads filter plugins by path."""
    path = Path(__file__).resolve().parents[1] / "module_utils" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"toolkit_module_utils_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Endpoint policies are turned into decisions as AWS would make them (NET-15).
_policy = _module_util("toolkit_policy")


# The HIPAA Security Rule safeguards (45 CFR Part 164, Subpart C) the controls serve.
TRANSMISSION_SECURITY = "164.312(e)(1) Transmission security"
ACCESS_CONTROL = "164.312(a)(1) Access control"
ENCRYPTION = "164.312(a)(2)(iv) Encryption and decryption"
AUDIT_CONTROLS = "164.312(b) Audit controls"
INTEGRITY = "164.312(c)(1) Integrity"
AUTHENTICATION = "164.312(d) Person or entity authentication"
ACCESS_MANAGEMENT = "164.308(a)(4) Information access management"
PASSWORD_MANAGEMENT = "164.308(a)(5)(ii)(D) Password management"
DATA_BACKUP = "164.308(a)(7)(ii)(A) Data backup plan"
DISPOSAL = "164.310(d)(2)(i) Disposal"
MALICIOUS_SOFTWARE = "164.308(a)(5)(ii)(B) Protection from malicious software"
RISK_MANAGEMENT = "164.308(a)(1)(ii)(B) Risk management"
SECURITY_INCIDENTS = "164.308(a)(6)(ii) Security incident response and reporting"


class Control:
    """One control's metadata; `result()` makes its verdict."""

    def __init__(self, control_id, title, phase, tag, hipaa, standards=(), note=""):
        self.id = control_id
        self.title = title
        self.phase = phase
        self.tag = tag
        self.hipaa = list(hipaa)
        self.standards = list(standards)
        # What the control leaves out, and why (docs/controls.md prints it).
        self.note = note

    def result(self, resource, expected, found, passed):
        return {
            "id": self.id,
            "title": self.title,
            "phase": self.phase,
            "tag": self.tag,
            "repair": f"ansible-playbook playbooks/{self.phase}.yml --tags {self.tag}",
            "hipaa": self.hipaa,
            "standards": self.standards,
            "resource": resource,
            "expected": expected,
            "found": found,
            "status": "not evaluated" if passed is None else "pass" if passed else "fail",
        }


def _listify(value):
    """A policy field as a list: absent is empty, one value is a list of one."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# The ARN namespace of the resources on whose behalf each service assumes a
# role: what aws:SourceArn must name (BAT-07, AUD-12).
SOURCE_ARN_SERVICE = {"batch.amazonaws.com": "batch", "ecs-tasks.amazonaws.com": "ecs", "vpc-flow-logs.amazonaws.com": "ec2"}


def trust_problems(document, service, scope):
    """What lets `service` assume a role other than on behalf of this
    account's own resources: each Allow must name the service alone, with
    aws:SourceAccount equal to the account and every aws:SourceArn an ARN of
    the service's resources in this account and region. `scope`: partition,
    region, account_id."""
    account = str(scope["account_id"])
    statements = (document or {}).get("Statement") or []
    allows = [st for st in _listify(statements) if st.get("Effect") == "Allow"]
    if not allows:
        return ["no statement admits the service"]
    problems = []
    prefix = f"arn:{scope['partition']}:{SOURCE_ARN_SERVICE[service]}:{scope['region']}:{account}:"
    for statement in allows:
        principal = statement.get("Principal") or {}
        if principal != {"Service": service} and principal != {"Service": [service]}:
            problems.append(f"admits {json.dumps(principal, sort_keys=True)}")
            continue
        condition = statement.get("Condition") or {}
        accounts = _listify((condition.get("StringEquals") or {}).get("aws:SourceAccount"))
        if accounts != [account]:
            problems.append(f"aws:SourceAccount {', '.join(accounts) or 'not required'}")
        arns = _listify((condition.get("ArnLike") or {}).get("aws:SourceArn")
                        or (condition.get("ArnEquals") or {}).get("aws:SourceArn"))
        outside = [arn for arn in arns if not arn.startswith(prefix) or len(arn) == len(prefix)]
        if not arns or outside:
            problems.append(f"aws:SourceArn {', '.join(outside or arns) or 'not required'}")
    return problems


def _trusted_roles_result(control, roles, baseline):
    """One result for the roles of `baseline['trusted_roles']` ({name, service})."""
    problems = []
    for role in baseline["trusted_roles"]:
        found = (roles or {}).get(role["name"])
        if not found:
            problems.append(f"{role['name']} missing")
            continue
        problems += [f"{role['name']}: {p}" for p in trust_problems(found.get("trust_policy"), role["service"], baseline)]
    return control.result(
        ", ".join(r["name"] for r in baseline["trusted_roles"]),
        f"each role trusts its service only with aws:SourceAccount {baseline['account_id']} and aws:SourceArn "
        f"in this account and {baseline['region']}",
        "; ".join(problems) or "as expected", not problems)


def _actions(statement):
    return _listify(statement.get("Action"))


def _is_everyone(principal):
    return principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))


def controls_summary(results):
    count = {status: len([r for r in results if r["status"] == status]) for status in ("pass", "fail", "not evaluated")}
    return {"total": len(results), "evaluated": count["pass"] + count["fail"], "passed": count["pass"],
            "failed": count["fail"], "not_evaluated": count["not evaluated"]}


def control_failures(results):
    """One line per failed control, as verify prints them."""
    return [
        f"{r['id']} FAIL {r['title']}: {r['resource']}: found {r['found']} (repair: {r['repair']})"
        for r in results
        if r["status"] == "fail"
    ]


def markdown_cell(value):
    """Text safe inside one Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", "<br>")


def _importable():
    """Ansible loads filter plugins by path: make the phases' files importable by name."""
    directory = str(Path(__file__).parent)
    if directory not in sys.path:
        sys.path.append(directory)


def catalogue():
    """Every control verify checks, by id, in the order of the phases (docs/controls.md)."""
    _importable()
    found = {}
    for phase in PHASES:
        module = importlib.import_module(f"{phase}_controls")
        found.update(module.CONTROLS)
    return found


def phase_controls(state, phase, baseline):
    """One phase's results: <phase>_controls(state, baseline) of filter_plugins/<phase>_controls.py."""
    if phase not in PHASES:
        raise ValueError(f"no controls for phase {phase!r}; the phases with controls are {', '.join(PHASES)}")
    _importable()
    return getattr(importlib.import_module(f"{phase}_controls"), f"{phase}_controls")(state, baseline)


class FilterModule:
    def filters(self):
        return {
            "phase_controls": phase_controls,
            "controls_summary": controls_summary,
            "control_failures": control_failures,
            "markdown_cell": markdown_cell,
        }
