#!/usr/bin/env python3
"""Benchmark: the toolkit's list modules beside the upstream modules they stand in for.

    .venv/bin/python bench/upstream.py [--items 5]

For each pair, against a local cloud of its own: the toolkit's module makes
--items resources, then a run that changes nothing is measured twice, once
with the toolkit's module and once with the upstream module (amazon.aws or
community.aws) in a loop over the same resources, declaring the same state.
The upstream run is made once before it is measured, so that what it would
change by its own reading of the declaration (tags it adds, say) is done.
Both runs use Ansible's own linear strategy, ansible.cfg's default: each
loop item starts a module of its own. Reported: seconds, module runs, reads,
writes and changed, per pair.

The figures are what the modules' DOCUMENTATION notes quote ("Why not
M(...)?"). Naming pairs runs those alone. Merges {"upstream": ...} into bench/results.json and rewrites the
generated table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import yaml  # noqa: E402
from report import RESULTS, table, write_results  # noqa: E402
from support.cloud import LocalCloud, run_playbook  # noqa: E402

TAGS = {"Project": "bench", "Environment": "local"}
POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}'

# name: (the toolkit's task, the upstream task, what the upstream loop runs
# over). Both declare the same state of the items bench-<i> (bench_items).
PAIRS = {
    "iam_users": (
        {"iam_users": {"names": "{{ bench_items }}", "tags": TAGS}},
        {"amazon.aws.iam_user": {"name": "{{ item }}", "tags": TAGS, "purge_tags": False, "state": "present"}},
        "bench_items",
    ),
    "iam_managed_policies": (
        {"iam_managed_policies": {"policies": "{{ bench_items | map('community.general.dict_kv', 'name')"
                                              " | map('combine', {'policy': bench_policy}) }}", "tags": TAGS}},
        {"amazon.aws.iam_managed_policy": {"name": "{{ item }}", "policy": "{{ bench_policy }}", "tags": TAGS,
                                           "state": "present"}},
        "bench_items",
    ),
    "kms_keys": (
        {"kms_keys": {"keys": "{{ bench_items | map('regex_replace', '^', 'alias/') | map('community.general.dict_kv', 'alias')"
                              " | map('combine', {'description': 'bench', 'tags': bench_tags, 'policy': bench_key_policy}) }}"}},
        {"amazon.aws.kms_key": {"alias": "alias/{{ item }}", "description": "bench", "tags": "{{ bench_tags }}",
                                "policy": "{{ bench_key_policy }}", "enable_key_rotation": True}},
        "bench_items",
    ),
    "ec2_vpc_subnets": (
        {"ec2_vpc_subnets": {"vpc_id": "{{ vpc_id }}", "subnets": "{{ bench_subnets }}", "tags": TAGS}},
        {"amazon.aws.ec2_vpc_subnet": {"vpc_id": "{{ vpc_id }}", "cidr": "{{ item.cidr }}", "az": "{{ item.az }}",
                                       "tags": "{{ bench_tags | combine({'Name': item.name}) }}", "map_public": False}},
        "bench_subnets",
    ),
    "iam_roles": (
        {"iam_roles": {"roles": "{{ bench_items | map('community.general.dict_kv', 'name')"
                                " | map('combine', {'trust_policy': bench_trust, 'inline_policies': {'read': bench_policy}}) }}",
                       "tags": TAGS}},
        # Upstream, two modules a role: the role, then its inline policy.
        [{"amazon.aws.iam_role": {"name": "{{ item }}", "assume_role_policy_document": "{{ bench_trust }}",
                                  "tags": TAGS, "create_instance_profile": False, "state": "present"}},
         {"amazon.aws.iam_policy": {"iam_type": "role", "iam_name": "{{ item }}", "policy_name": "read",
                                    "policy_json": "{{ bench_policy }}", "state": "present"}}],
        "bench_items",
    ),
    "ec2_security_groups": (
        {"ec2_security_groups": {"vpc_id": "{{ vpc_id }}", "security_groups": "{{ bench_items | map('community.general.dict_kv', 'name')"
                                 " | map('combine', {'description': 'bench', 'rules': [bench_rule], 'rules_egress': [bench_rule]})"
                                 " }}"}},
        {"amazon.aws.ec2_security_group": {"vpc_id": "{{ vpc_id }}", "name": "{{ item }}", "description": "bench",
                                           "rules": ["{{ bench_rule }}"], "rules_egress": ["{{ bench_rule }}"]}},
        "bench_items",
    ),
    "ecr_repository": (
        {"ecr_repository": {"repositories": "{{ bench_items | map('regex_replace', '^', 'bench/')"
                                            " | map('community.general.dict_kv', 'name') }}"}},
        {"community.aws.ecs_ecr": {"name": "bench/{{ item }}", "scan_on_push": True, "image_tag_mutability": "immutable"}},
        "bench_items",
    ),
    "log_groups": (
        {"log_groups": {"log_groups": "{{ bench_items | map('regex_replace', '^', '/bench/') | map('community.general.dict_kv', 'name')"
                                      " | map('combine', {'retention': 30}) }}", "tags": TAGS}},
        {"amazon.aws.cloudwatchlogs_log_group": {"log_group_name": "/bench/{{ item }}", "retention": 30, "tags": TAGS,
                                                 "purge_tags": True, "state": "present"}},
        "bench_items",
    ),
    "eventbridge_rules": (
        {"eventbridge_rules": {"rules": "{{ bench_items | map('community.general.dict_kv', 'name')"
                                        " | map('combine', {'description': 'bench', 'event_pattern': bench_pattern,"
                                        " 'targets': [bench_target]}) }}"}},
        {"amazon.aws.cloudwatchevent_rule": {"name": "{{ item }}", "description": "bench",
                                             "event_pattern": "{{ bench_pattern | to_json(sort_keys=true) }}",
                                             "targets": ["{{ bench_target }}"], "state": "present"}},
        "bench_items",
    ),
}

# Made once, before the pairs: a VPC for the subnets.
SETUP = [
    {"name": "A VPC for the subnet pair", "ec2_vpcs": {"vpcs": [{"name": "bench-vpc", "cidr_block": "10.90.0.0/16"}],
                                                      "match_tags": TAGS, "tags": TAGS}, "register": "bench_vpc"},
    {"name": "The account, for the key policy", "amazon.aws.aws_caller_info": {}, "register": "bench_caller"},
]
TRUST_POLICY = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",'
                ' "Principal": {"Service": "ec2.amazonaws.com"}}]}')
# The key policy of the KMS pair: the account administers and uses the keys.
KEY_POLICY = ('{"Version": "2012-10-17", "Statement": [{"Sid": "Account", "Effect": "Allow", "Action": "kms:*",'
              ' "Resource": "*", "Principal": {"AWS": "arn:aws:iam::{{ bench_setup.account }}:root"}}]}')


def playbook(path: Path, tasks: list[dict], count: int) -> Path:
    play = {
        "hosts": "aws_account",
        "gather_facts": False,
        "module_defaults": {"group/rnaseq_hipaa.toolkit.aws": "{{ toolkit_aws_connection }}"},
        "vars": {
            "bench_items": [f"bench-{i}" for i in range(count)],
            "bench_subnets": [{"name": f"bench-subnet-{i}", "cidr": f"10.90.{i}.0/24", "az": "us-east-1a"} for i in range(count)],
            "bench_tags": TAGS,
            "bench_policy": POLICY,
            "bench_key_policy": KEY_POLICY,
            "bench_trust": TRUST_POLICY,
            "bench_rule": {"proto": "tcp", "ports": [443], "cidr_ip": "10.90.0.0/16"},
            "bench_pattern": {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]},
            "bench_target": {"id": "alarms", "arn": "arn:aws:sns:us-east-1:{{ bench_setup.account }}:bench-alarms"},
            "bench_setup": "{{ lookup('ansible.builtin.file', '%s') | from_json }}" % (path.parent / "setup.json"),
            "vpc_id": "{{ bench_setup.vpc_id }}",
        },
        "tasks": tasks,
    }
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def run(cloud: LocalCloud, path: Path) -> dict:
    with cloud.recording() as calls:
        start = time.monotonic()
        result = run_playbook(cloud, str(path), env={"ANSIBLE_STRATEGY": "linear"})
        seconds = time.monotonic() - start
    if not result.ok:
        raise SystemExit(f"{path.name} failed:\n{result.explain()}")
    assert calls, "the recording captured the run"
    modules = sum(len(task["hosts"]["localhost"].get("results", [None]))
                  for play in result.report["plays"] for task in play["tasks"])
    writes = [call for call in calls if call.is_write]
    return {"seconds": round(seconds, 1), "module_runs": modules, "reads": len(calls) - len(writes),
            "writes": len(writes), "changed": result.changed}


def measure(cloud: LocalCloud, work: Path, name: str, count: int) -> dict:
    ours, upstream, loop_over = PAIRS[name]
    mine = playbook(work / f"{name}-ours.yml", [ours], count)
    upstream = upstream if isinstance(upstream, list) else [upstream]
    theirs = playbook(work / f"{name}-upstream.yml", [{**task, "loop": f"{{{{ {loop_over} }}}}"} for task in upstream], count)
    run(cloud, mine)  # make the resources
    figures = {"ours": run(cloud, mine)}
    run(cloud, theirs)  # whatever the upstream module changes by its own reading, once
    figures["upstream"] = run(cloud, theirs)
    if figures["ours"]["changed"] or figures["ours"]["writes"]:
        raise SystemExit(f"{name}: the toolkit's module is not a no-op: {figures['ours']}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("pairs", nargs="*", default=list(PAIRS))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-upstream-") as state:
        work = Path(state)
        cloud = LocalCloud(work / "cloud").start()
        try:
            save = {"ansible.builtin.copy": {
                "content": "{{ {'vpc_id': bench_vpc.vpcs['bench-vpc'].id, 'account': bench_caller.account} | to_json }}",
                "dest": str(work / "setup.json"), "mode": "0600"}}
            setup = playbook(work / "setup.yml", [*SETUP, save], args.items)
            (work / "setup.json").write_text("{}")
            run(cloud, setup)
            for name in args.pairs:
                results[name] = {"items": args.items, **measure(cloud, work, name, args.items)}
                print(name, results[name], flush=True)
        finally:
            cloud.stop()
    # A run of some pairs keeps the figures of the others.
    earlier = json.loads(RESULTS.read_text()).get("upstream", {}) if RESULTS.exists() else {}
    merged = write_results({"upstream": {**earlier, **results}})
    print(table({"upstream": merged["upstream"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
