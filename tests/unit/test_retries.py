"""One retry layer, botocore's, as the inventories configure it (module_utils/toolkit_aws.py says why).

The toolkit's modules run against an in-process moto server through the
fault proxy, which throttles as each service does: ThrottlingException for
the JSON APIs (CloudWatch Logs), Throttling for the query APIs (IAM).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from support.fault_proxy import FaultProxy
from support.module_harness import load_module, run_module

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = sorted(p for p in (REPO / "inventories").glob("*/group_vars/all/*.yml")
                     if "toolkit_aws_connection" in (yaml.safe_load(p.read_text()) or {}))
log_groups = load_module("log_groups")
iam_groups = load_module("iam_groups")


def aws_config(inventory: Path) -> dict:
    return yaml.safe_load(inventory.read_text())["toolkit_aws_connection"]["aws_config"]


def create_groups(endpoint: str, config: dict, names: list[str]) -> dict:
    return run_module(log_groups, {"endpoint_url": endpoint, "aws_config": config,
                                   "log_groups": [{"name": name, "retention": 365} for name in names],
                                   "tags": {"Project": "rnaseq-hipaa", "Environment": "test"}})


def test_every_inventory_sets_the_same_retries():
    assert [p.parent.parent.parent.name for p in INVENTORIES] == ["local", "local-production", "production", "validation"]
    assert all(aws_config(p) == {"retries": {"mode": "adaptive", "max_attempts": 10}} for p in INVENTORIES)


def test_the_premise_amazon_aws_retry_codes_lack_the_json_apis_throttling():
    """Why AWSRetry is not the layer: the code CloudWatch Logs, KMS and EventBridge throttle with is not in its list."""
    assert AWSRetry.found("Throttling") and not AWSRetry.found("ThrottlingException") and not AWSRetry.found("SlowDown")


def test_a_module_rides_out_throttling_with_the_inventorys_retries(emulator):
    with FaultProxy(emulator, throttle_every=2) as proxy:
        result = create_groups(proxy.url, aws_config(INVENTORIES[0]), ["/retries/a", "/retries/b", "/retries/c"])
    assert not result.get("failed"), result
    assert result["changed"] and len(proxy.throttled) >= 3
    # Every throttled call was sent again, and once only: answered calls and throttled ones alternate.
    assert len(proxy.calls) in (2 * len(proxy.throttled), 2 * len(proxy.throttled) + 1)


def test_a_call_throttled_every_time_is_retried_as_often_as_the_inventory_says_and_no_more(emulator):
    """botocore's max_attempts counts the retries after the first try. IAM throttles with Throttling, a code
    AWSRetry knows: stacked on botocore's retries, it would send the call 11 times as often."""
    with FaultProxy(emulator, throttle_every=1) as proxy:
        result = run_module(iam_groups, {"endpoint_url": proxy.url, "aws_config": {"retries": {"mode": "adaptive", "max_attempts": 3}},
                                         "groups": [{"name": "RetriedGroup"}]})
    assert result.get("failed") and "Throttling" in str(result)
    assert len(proxy.calls) == 1 + 3
    assert {call.operation for call in proxy.calls} == {proxy.calls[0].operation}
