"""Each module's DOCUMENTATION says exactly what its argument spec accepts.

What ansible-test sanity's validate-modules checks for a collection, done
here for library/: the argument spec is captured from the module's own
main() (AnsibleAWSModule is stopped before it parses anything), then
compared with the documented options, nested ones included: names,
aliases, type, elements, required, default and choices.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from support.module_harness import load_module

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "library").glob("*.py"))

# scripts/gen-docs, as a module: docs/modules.md reads each DOCUMENTATION with the reader used here.
_LOADER = importlib.machinery.SourceFileLoader("gen_docs", str(REPO / "scripts" / "gen-docs"))
GEN_DOCS = importlib.util.module_from_spec(importlib.util.spec_from_loader("gen_docs", _LOADER))
_LOADER.exec_module(GEN_DOCS)


class _Captured(Exception):
    def __init__(self, kwargs):
        super().__init__()
        self.kwargs = kwargs


def argument_spec(name):
    return construction(load_module(name), name)["argument_spec"]


def upstream_construction(fqcn):
    """What an amazon.aws or community.aws module passes to AnsibleAWSModule (its argument spec and check
    mode), and its source."""
    namespace, collection, name = fqcn.split(".")
    module = importlib.import_module(f"ansible_collections.{namespace}.{collection}.plugins.modules.{name}")
    return {**construction(module, fqcn), "source": Path(module.__file__).read_text()}


def construction(module, name):

    def capture(**kwargs):
        raise _Captured(kwargs)

    module.AnsibleAWSModule = capture
    try:
        module.main()
    except _Captured as captured:
        return captured.kwargs
    raise AssertionError(f"{name}: main() built no AnsibleAWSModule")


def documentation(name):
    return GEN_DOCS._documentation(REPO / "library" / f"{name}.py")


def differences(documented, spec, path=""):
    """Where the documented options and the argument spec disagree, as readable lines."""
    found = []
    for option in sorted(set(documented) - set(spec)):
        found.append(f"{path}{option}: documented, not in the argument spec")
    for option in sorted(set(spec) - set(documented)):
        found.append(f"{path}{option}: in the argument spec, not documented")
    for option in sorted(set(documented) & set(spec)):
        doc, arg = documented[option] or {}, spec[option]
        where = f"{path}{option}"
        for key, default in (("type", "str"), ("elements", None), ("required", False), ("default", None)):
            if doc.get(key, default) != arg.get(key, default):
                found.append(f"{where}: {key} is {doc.get(key, default)!r} in the docs, {arg.get(key, default)!r} in the spec")
        if sorted(doc.get("choices") or []) != sorted(arg.get("choices") or []):
            found.append(f"{where}: choices are {doc.get('choices')!r} in the docs, {arg.get('choices')!r} in the spec")
        if sorted(doc.get("aliases", [])) != sorted(arg.get("aliases", [])):
            found.append(f"{where}: aliases differ")
        doc_sub, arg_sub = doc.get("suboptions", {}), arg.get("options", {})
        if doc_sub or arg_sub:
            found += differences(doc_sub or {}, arg_sub or {}, f"{where}.")
    return found


@pytest.mark.parametrize("name", MODULES)
def test_the_documented_options_are_the_argument_spec(name):
    assert differences(documentation(name).get("options", {}), argument_spec(name)) == []


@pytest.mark.parametrize("name", MODULES)
def test_every_module_documents_the_amazon_aws_connection_options(name):
    fragments = documentation(name).get("extends_documentation_fragment", [])
    assert {"amazon.aws.common.modules", "amazon.aws.region.modules", "amazon.aws.boto3"} <= set(fragments)


def test_a_difference_is_found():
    """The comparison itself: an undocumented option, a wrong type and a missing choice are each reported."""
    documented = {"items": {"type": "list", "elements": "dict", "suboptions": {"name": {"required": True}}},
                  "state": {"choices": ["present"]}}
    spec = {"items": {"type": "list", "elements": "dict", "options": {"name": {"required": True}, "size": {"type": "int"}}},
            "state": {"choices": ["present", "absent"]}, "wait": {"type": "bool"}}
    assert differences(documented, spec) == [
        "wait: in the argument spec, not documented",
        "items.size: in the argument spec, not documented",
        "state: choices are ['present'] in the docs, ['present', 'absent'] in the spec",
    ]


# The modules that stand in for an upstream one, and what in the installed
# upstream module their "Why not" note rests on: an option it lacks, or its
# lack of check mode. A note whose reason is gone fails here, as the stale
# premise of ec2_tagged_resources would have.
def lacks(*options):
    return lambda spec: not set(options) & set(spec["argument_spec"])


def no_check_mode(spec):
    return not spec.get("supports_check_mode", False)


def no_kms_option(spec):
    return not any("kms" in option for option in spec["argument_spec"])


def never_calls(operation):
    """The upstream module's source makes no call of this boto3 operation."""
    return lambda spec: f".{operation}(" not in spec["source"]


STANDS_IN_FOR = {
    "batch_compute_environment": {"community.aws.batch_compute_environment": lacks("launch_template", "allocation_strategy")},
    "batch_job_queue": {"community.aws.batch_job_queue": lacks("tags")},
    "batch_job_definition": {"community.aws.batch_job_definition": lacks("timeout", "retry_strategy", "log_configuration",
                                                                         "platform_capabilities", "tags")},
    "ecr_repository": {"community.aws.ecs_ecr": lacks("tags")},
    "aws_config": {"community.aws.config_recorder": no_check_mode, "community.aws.config_delivery_channel": no_check_mode,
                   "community.aws.config_rule": no_check_mode},
    "sns_topics": {"community.aws.sns_topic": no_kms_option},
    "cloudtrail_trails": {"amazon.aws.cloudtrail": lacks("advanced_event_selectors", "event_selectors")},
    "s3_buckets": {"amazon.aws.s3_bucket": no_check_mode},
    "backup_vault_lock": {"amazon.aws.backup_vault": None},
    "iam_users": {"amazon.aws.iam_user": None},
    "iam_groups": {"amazon.aws.iam_group": None},
    "iam_roles": {"amazon.aws.iam_role": None, "amazon.aws.iam_policy": None},
    "iam_roles_info": {"amazon.aws.iam_role_info": None},
    "iam_managed_policies": {"amazon.aws.iam_managed_policy": None},
    "iam_account_password_policy": {"amazon.aws.iam_password_policy": None},
    "kms_keys": {"amazon.aws.kms_key": None},
    "ec2_vpcs": {"amazon.aws.ec2_vpc_net": None},
    "ec2_vpc_subnets": {"amazon.aws.ec2_vpc_subnet": None},
    "ec2_security_groups": {"amazon.aws.ec2_security_group": None},
    "ec2_route_tables": {"amazon.aws.ec2_vpc_route_table": None},
    "ec2_instances": {"amazon.aws.ec2_instance": None, "amazon.aws.ec2_eip": None},
    "s3_objects": {"amazon.aws.s3_object": None},
    "log_groups": {"amazon.aws.cloudwatchlogs_log_group": never_calls("associate_kms_key")},
    "eventbridge_rules": {"amazon.aws.cloudwatchevent_rule": no_check_mode},
    "log_metric_alarms": {"amazon.aws.cloudwatchlogs_log_group_metric_filter": None,
                          "amazon.aws.cloudwatch_metric_alarm": None},
}


@pytest.mark.parametrize("name", sorted(STANDS_IN_FOR))
def test_a_module_that_stands_in_for_an_upstream_one_says_why_in_its_notes(name):
    notes = " ".join(documentation(name).get("notes", []))
    assert notes.startswith("Why not"), f"{name}: its notes do not open with why it is not the upstream module"
    for upstream, premise in STANDS_IN_FOR[name].items():
        assert f"M({upstream})" in notes, f"{name}: its notes do not name {upstream}"
        if premise is not None:
            assert premise(upstream_construction(upstream)), f"{name}: the installed {upstream} no longer lacks what its note says"


def test_every_module_a_note_names_is_installed():
    named = {fqcn for name in MODULES for note in documentation(name).get("notes", [])
             for fqcn in re.findall(r"M\((\w+\.\w+\.\w+)\)", note)}
    assert named
    for fqcn in sorted(named):
        assert upstream_construction(fqcn)["argument_spec"], fqcn


def test_a_premise_that_no_longer_holds_is_noticed():
    """The checks themselves: community.aws.sns_topic has check mode and ecs_ecr has a policy option."""
    assert not no_check_mode(upstream_construction("community.aws.sns_topic"))
    assert not lacks("policy")(upstream_construction("community.aws.ecs_ecr"))


def test_botocore_is_the_one_retry_layer():
    """No client is made with amazon.aws's retry decorator, whose AWSRetry would retry on top of botocore's
    retries, and no call is wrapped in AWSRetry except where it waits out one eventual-consistency error,
    named at the call."""
    sources = {path: path.read_text() for path in [*(REPO / "library").glob("*.py"), *(REPO / "module_utils").glob("*.py")]}
    decorated = [f"{path.name}: {line.strip()}" for path, text in sources.items() for line in text.splitlines()
                 if "retry_decorator=" in line or "aws_retry=" in line]
    assert not decorated, decorated
    backoffs = [f"{path.name}: {line.strip()}" for path, text in sources.items() for line in text.splitlines()
                if "AWSRetry." in line and "catch_extra_error_codes=" not in line]
    assert not backoffs, backoffs


def test_docs_modules_md_names_where_a_module_departs_from_the_list_module_contract(tmp_path):
    def row(options):
        path = tmp_path / "made_up.py"
        path.write_text(f"DOCUMENTATION = r'''\n{yaml.safe_dump({'module': 'made_up', 'options': options})}'''\n")
        return GEN_DOCS.module_row(path).rsplit("|", 2)[-2].strip()

    items = {"things": {"type": "list", "elements": "dict", "suboptions": {"name": {"type": "str"}}}}
    owned = {"description": "Tags a thing found by its name must carry.", "type": "dict"}
    assert row({**items, "tags": {"type": "dict"}, "purge_tags": {"type": "bool"}, "match_tags": owned,
                "state": {"type": "str"}}) == "follows it"
    assert row({**items, "tags": {"type": "dict"}, "adopt_tags": owned}) == (
        "`tags` without `purge_tags`; ownership is `adopt_tags`; no `state`")
    assert row({"tags": {"type": "dict"}, "purge_tags": {"type": "bool"}, "state": {"type": "str"}}) == "no list option"


def test_every_module_follows_the_list_contract_or_says_in_its_notes_why_not():
    """docs/modules.md's last column: the work that remains, which is none; a departure is by design, and says why."""
    undone = {}
    for path in sorted((REPO / "library").glob("*.py")):
        departs = GEN_DOCS.module_row(path).rsplit("|", 2)[-2].strip()
        if departs not in ("follows it", "reads only") and "(by design: " not in departs:
            undone[path.stem] = departs
    assert not undone, undone


def test_every_list_module_returns_changes_by_item_the_contracts_common_result():
    missing = []
    for path in sorted((REPO / "library").glob("*.py")):
        row = GEN_DOCS.module_row(path).split("|")
        if row[2].strip() == "-" or row[-2].strip() == "reads only":
            continue  # no list option, or reads only
        assigned = {t.id: n.value.value for n in ast.parse(path.read_text()).body if isinstance(n, ast.Assign)
                    and isinstance(n.value, ast.Constant) for t in n.targets if isinstance(t, ast.Name)}
        returned = yaml.safe_load(assigned.get("RETURN") or "") or {}
        if (returned.get("changes") or {}).get("type") != "dict":
            missing.append(path.stem)
    assert not missing, f"list modules without a documented changes result: {missing}"
