#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: securityhub_account
short_description: Turn on Security Hub and the security standards the account offers
description:
  - Enables Security Hub in the region (without its default standards) and subscribes to each standard in
    O(standards), matched by the standard's ARN ending (such as V(standards/aws-foundational-security-best-practices/v/1.0.0)
    or V(standards/cis-aws-foundations-benchmark/v/3.0.0)). A standard the account does not offer is
    reported in RV(unavailable), not failed.
  - Makes the hub's tags O(tags) (one C(ListTagsForResource) call when the hub is on).
  - Never disables Security Hub or unsubscribes a standard.
  - Supports check mode and diff (of the tags).
notes:
  - Departs from the list contract (docs/modules.md) by design - the region's one hub, not a list, and a
    baseline teardown keeps, so no C(state).
options:
  standards:
    description: Ends of the ARNs of the standards to subscribe to.
    type: list
    elements: str
    default: []
  tags:
    description:
      - Tags of the hub. Omitted, the tags of a hub that is on are left as they are.
    type: dict
  purge_tags:
    description: Whether tags not in O(tags) are removed (AWS's own C(aws:) tags never are).
    type: bool
    default: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Security Hub with FSBP and CIS
  securityhub_account:
    standards:
      - standards/aws-foundational-security-best-practices/v/1.0.0
      - standards/cis-aws-foundations-benchmark/v/3.0.0
"""

RETURN = r"""
hub_arn:
  description: The hub's ARN (none in check mode when it was off).
  returned: always
  type: str
enabled_standards:
  description: The standards subscribed to (or that would be), by ARN.
  returned: always
  type: list
  elements: str
unavailable:
  description: Standards asked for that the account does not offer.
  returned: always
  type: list
  elements: str
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import set_arn_tags

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(standards=dict(type="list", elements="str", default=[]), tags=dict(type="dict"),
                         purge_tags=dict(type="bool", default=True))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    hub = module.client("securityhub")
    changed, hub_arn, enabled, unavailable, diff = False, None, [], [], {"before": {}, "after": {}}
    try:
        try:
            hub_arn = hub.describe_hub()["HubArn"]
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] not in ("InvalidAccessException", "ResourceNotFoundException"):
                raise
        if not hub_arn:
            changed = True
            if not module.check_mode:
                params = {"EnableDefaultStandards": False}
                if p["tags"]:
                    params["Tags"] = p["tags"]
                hub.enable_security_hub(**params)
                hub_arn = hub.describe_hub()["HubArn"]
            diff["after"]["tags"] = p["tags"] or {}
        elif p["tags"] is not None:
            tags = hub.list_tags_for_resource(ResourceArn=hub_arn).get("Tags") or {}
            stale, missing, after = purged_tags(tags, p["tags"], p["purge_tags"])
            if stale or missing:
                changed = True
                diff["before"]["tags"], diff["after"]["tags"] = tags, after
                if not module.check_mode:
                    set_arn_tags(hub, hub_arn, stale, missing)
        if module.params["standards"]:
            offered = [s["StandardsArn"] for s in paginate(hub, "describe_standards", "Standards")]
            subscribed = {} if not hub_arn else {
                s["StandardsArn"]: s for s in paginate(hub, "get_enabled_standards", "StandardsSubscriptions")
                if s.get("StandardsStatus") not in ("DELETING", "FAILED")}
            wanted = []
            for end in module.params["standards"]:
                match = [arn for arn in offered if arn.endswith(end)]
                if not match:
                    unavailable.append(end)
                else:
                    wanted.append(match[0])
            missing = [arn for arn in wanted if arn not in subscribed]
            enabled = sorted(set(subscribed) | set(wanted))
            if missing:
                changed = True
                if not module.check_mode:
                    hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": arn} for arn in missing])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to turn on Security Hub")
    if unavailable:
        module.warn(f"Security Hub does not offer these standards here: {', '.join(unavailable)}")
    module.exit_json(changed=changed, hub_arn=hub_arn, enabled_standards=enabled, unavailable=unavailable, diff=diff)


if __name__ == "__main__":
    main()
