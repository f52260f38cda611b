#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: log_metric_alarms
short_description: Metric filters on a CloudWatch Logs group, each with an alarm, as one list
description:
  - For each entry, a metric filter on O(log_group) that counts matching events into a metric, and a
    CloudWatch alarm on that metric that notifies O(alarm_actions) when the count reaches the threshold
    (the CIS AWS Foundations monitoring pattern).
  - Reads the log group's filters and the alarms once; writes only what differs. A filter is replaced by
    deleting and putting it, so a service that keeps a second filter under the same name on a second put
    (the local emulator) still ends with one.
  - Filters and alarms named with O(name_prefix) that the list does not declare are deleted when
    O(purge=true). An entry with O(alarms[].state=absent) has its filter and alarm deleted, whatever
    O(purge) says; the alarms go in one C(DeleteAlarms) call.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.cloudwatchlogs_log_group_metric_filter) and
    M(amazon.aws.cloudwatch_metric_alarm)? Each takes one filter or alarm per module run, so the CIS
    monitoring set (15 filters and 15 alarms) would cost 30 module runs on every run; here one.
options:
  log_group:
    description: The log group the filters read (the trail's).
    type: str
    required: true
  namespace:
    description: The metric namespace.
    type: str
    default: CISBenchmark
  alarm_actions:
    description: ARNs notified when an alarm fires (an SNS topic).
    type: list
    elements: str
    default: []
  name_prefix:
    description: Prefix of every filter, metric and alarm name this module owns.
    type: str
    default: ""
  purge:
    description: Delete owned filters and alarms that the list does not declare.
    type: bool
    default: true
  alarms:
    description: The filters and their alarms.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the filter, its metric and its alarm (after O(name_prefix)).
        type: str
        required: true
      pattern:
        description: The metric filter pattern; required when present.
        type: str
      description:
        description: The alarm's description.
        type: str
        default: ""
      threshold:
        description: Alarm when the sum over the period reaches this.
        type: int
        default: 1
      period:
        description: Seconds per evaluation period.
        type: int
        default: 300
      state:
        description: Whether the filter and its alarm exist.
        type: str
        choices: [present, absent]
        default: present
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: CIS monitoring alarms on the trail's log group
  log_metric_alarms:
    log_group: /aws/cloudtrail/rnaseq
    name_prefix: rnaseq-cis-
    alarm_actions: ["arn:aws:sns:us-east-1:123456789012:rnaseq-security-alarms"]
    alarms:
      - name: root-account-usage
        pattern: '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-cis-root-usage: [filter replaced, alarm updated]}
alarms:
  description: Each entry's filter and alarm name and what was done.
  returned: always
  type: list
  elements: dict
  sample: [{name: rnaseq-cis-root-account-usage, filter: unchanged, alarm: created}]
deleted:
  description: Owned filters and alarms deleted because the list no longer declares them.
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

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def wanted_filter(entry, name, namespace):
    return {"filterPattern": entry["pattern"],
            "metricTransformations": [{"metricName": name, "metricNamespace": namespace, "metricValue": "1"}]}


def current_filter(found):
    transformations = [{key: t.get(key) for key in ("metricName", "metricNamespace", "metricValue")}
                       for t in found.get("metricTransformations", [])]
    return {"filterPattern": found.get("filterPattern"), "metricTransformations": transformations}


def wanted_alarm(entry, name, namespace, actions):
    return {"AlarmName": name, "AlarmDescription": entry["description"], "MetricName": name, "Namespace": namespace,
            "Statistic": "Sum", "Period": entry["period"], "EvaluationPeriods": 1, "Threshold": float(entry["threshold"]),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
            "ActionsEnabled": True, "AlarmActions": sorted(actions)}


def current_alarm(found):
    alarm = {key: found.get(key) for key in ("AlarmName", "AlarmDescription", "MetricName", "Namespace", "Statistic", "Period",
                                             "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData",
                                             "ActionsEnabled")}
    alarm["AlarmDescription"] = alarm["AlarmDescription"] or ""
    alarm["Threshold"] = float(alarm["Threshold"]) if alarm["Threshold"] is not None else None
    alarm["AlarmActions"] = sorted(found.get("AlarmActions") or [])
    return alarm


def main():
    argument_spec = dict(
        log_group=dict(type="str", required=True),
        namespace=dict(type="str", default="CISBenchmark"),
        alarm_actions=dict(type="list", elements="str", default=[]),
        name_prefix=dict(type="str", default=""),
        purge=dict(type="bool", default=True),
        alarms=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            pattern=dict(type="str"),
            description=dict(type="str", default=""),
            threshold=dict(type="int", default=1),
            period=dict(type="int", default=300),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ), required_if=[["state", "present", ["pattern"]]]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    group, prefix, namespace = params["log_group"], params["name_prefix"], params["namespace"]
    logs, cloudwatch = module.client("logs"), module.client("cloudwatch")
    results, deleted, before, after, gone_alarms = [], [], {}, {}, []
    try:
        filters = {}
        for found in paginate(logs, "describe_metric_filters", "metricFilters", logGroupName=group, **({"filterNamePrefix": prefix} if prefix else {})):
            filters.setdefault(found["filterName"], []).append(found)
        names = [prefix + entry["name"] for entry in params["alarms"]]
        alarms = {}
        if prefix:
            for found in paginate(cloudwatch, "describe_alarms", "MetricAlarms", AlarmNamePrefix=prefix):
                alarms[found["AlarmName"]] = found
        else:
            for start in range(0, len(names), 100):
                for found in cloudwatch.describe_alarms(AlarmNames=names[start:start + 100])["MetricAlarms"]:
                    alarms[found["AlarmName"]] = found
        for entry, name in zip(params["alarms"], names):
            result = {"name": name, "filter": "unchanged", "alarm": "unchanged"}
            if entry["state"] == "absent":
                if filters.get(name):
                    result["filter"] = "deleted"
                    before.setdefault(name, {})["filter"] = current_filter(filters[name][0])
                    after.setdefault(name, {})["filter"] = None
                    if not module.check_mode:
                        for _each in filters[name]:
                            logs.delete_metric_filter(logGroupName=group, filterName=name)
                if alarms.get(name):
                    result["alarm"] = "deleted"
                    before.setdefault(name, {})["alarm"], after.setdefault(name, {})["alarm"] = current_alarm(alarms[name]), None
                    gone_alarms.append(name)
                results.append(result)
                continue
            want_filter = wanted_filter(entry, name, namespace)
            have = filters.get(name, [])
            if not have or len(have) > 1 or current_filter(have[0]) != want_filter:
                result["filter"] = "replaced" if have else "created"
                before.setdefault(name, {})["filter"] = current_filter(have[0]) if have else None
                after.setdefault(name, {})["filter"] = want_filter
                if not module.check_mode:
                    for _duplicate in have:
                        logs.delete_metric_filter(logGroupName=group, filterName=name)
                    logs.put_metric_filter(logGroupName=group, filterName=name, **want_filter)
            want_alarm = wanted_alarm(entry, name, namespace, params["alarm_actions"])
            have_alarm = alarms.get(name)
            if not have_alarm or current_alarm(have_alarm) != want_alarm:
                result["alarm"] = "updated" if have_alarm else "created"
                before.setdefault(name, {})["alarm"] = current_alarm(have_alarm) if have_alarm else None
                after.setdefault(name, {})["alarm"] = want_alarm
                if not module.check_mode:
                    cloudwatch.put_metric_alarm(**want_alarm)
            results.append(result)
        if params["purge"] and prefix:
            for name in sorted(set(filters) - set(names)):
                deleted.append(f"filter {name}")
                if not module.check_mode:
                    for _each in filters[name]:
                        logs.delete_metric_filter(logGroupName=group, filterName=name)
            stale = sorted(set(alarms) - set(names))
            deleted += [f"alarm {name}" for name in stale]
            gone_alarms += stale
        if gone_alarms and not module.check_mode:
            cloudwatch.delete_alarms(AlarmNames=gone_alarms)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the metric filters and alarms")
    changed = bool(deleted) or any(r["filter"] != "unchanged" or r["alarm"] != "unchanged" for r in results)
    changes = {r["name"]: [f"{part} {r[part]}" for part in ("filter", "alarm") if r[part] != "unchanged"] for r in results}
    for purged in deleted:
        part, name = purged.split(" ", 1)
        changes.setdefault(name, []).append(f"{part} deleted")
    module.exit_json(changed=changed, alarms=results, deleted=deleted, changes={k: v for k, v in changes.items() if v},
                     diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
