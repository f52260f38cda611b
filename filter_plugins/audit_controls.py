# -*- coding: utf-8 -*-
"""The audit phase's controls (AUD-*): the audit key, trail, log bucket and
groups, alarms, Config, GuardDuty, Security Hub and flow logs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Ansible loads plugins by path: make filter_plugins/controls.py, the shared part, importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

import controls as shared  # noqa: E402
from storage_controls import (  # noqa: E402
    _bucket_policy,
    _public_access_blocked,
    _denies_insecure_transport,
    _access_logs_to,
)


CONTROLS = {
    c.id: c
    for c in [
        shared.Control("AUD-01", "One multi-region trail records global service events, with log file validation",
                "audit", "trail", [shared.AUDIT_CONTROLS, shared.INTEGRITY], ["CIS AWS 3.1", "CIS AWS 3.2", "AWS FSBP CloudTrail.1", "AWS FSBP CloudTrail.4"]),
        shared.Control("AUD-02", "The trail is logging", "audit", "trail", [shared.AUDIT_CONTROLS], ["CIS AWS 3.1"]),
        shared.Control("AUD-03", "The trail is encrypted with the audit key and delivers to its CloudWatch log group",
                "audit", "trail", [shared.AUDIT_CONTROLS, shared.ENCRYPTION], ["CIS AWS 3.5", "AWS FSBP CloudTrail.2", "AWS FSBP CloudTrail.5"]),
        shared.Control("AUD-04", "The audit key exists, is enabled and rotates", "audit", "key", [shared.ENCRYPTION], ["CIS AWS 3.6", "AWS FSBP KMS.4"]),
        shared.Control("AUD-05", "The audit log bucket blocks public access, keeps versions and refuses plain HTTP",
                "audit", "log_bucket", [shared.AUDIT_CONTROLS, shared.INTEGRITY, shared.TRANSMISSION_SECURITY], ["CIS AWS 2.1.1", "CIS AWS 2.1.4", "AWS FSBP S3.5", "AWS FSBP S3.8"]),
        shared.Control("AUD-06", "The audit log groups are encrypted with the audit key and kept for the retention period",
                "audit", "log_groups", [shared.AUDIT_CONTROLS, shared.ENCRYPTION], ["AWS FSBP CloudWatch.16"]),
        shared.Control("AUD-07", "Every CIS monitoring alarm exists and notifies the security topic", "audit", "alarms",
                [shared.AUDIT_CONTROLS, shared.RISK_MANAGEMENT], ["CIS AWS 4.1-4.15"]),
        shared.Control("AUD-08", "AWS Config records every supported resource, global ones included, into the audit log bucket",
                "audit", "config", [shared.AUDIT_CONTROLS, shared.RISK_MANAGEMENT], ["CIS AWS 3.3", "AWS FSBP Config.1"]),
        shared.Control("AUD-09", "GuardDuty is enabled, with S3 protection", "audit", "detection",
                [shared.MALICIOUS_SOFTWARE, shared.RISK_MANAGEMENT], ["AWS FSBP GuardDuty.1"]),
        shared.Control("AUD-10", "Every toolkit VPC logs all its traffic to the flow log group", "audit", "flow_logs",
                [shared.AUDIT_CONTROLS], ["CIS AWS 3.7", "AWS FSBP EC2.6"]),
        shared.Control("AUD-11", "Access to the audit log bucket is logged to the access log bucket", "audit", "log_bucket",
                [shared.AUDIT_CONTROLS], ["CIS AWS 3.4", "AWS FSBP S3.9"]),
        shared.Control("AUD-12", "VPC Flow Logs may assume its delivery role only on behalf of this account's flow logs in this "
                "region (aws:SourceAccount and aws:SourceArn)", "audit", "log_groups", [shared.ACCESS_CONTROL, shared.AUDIT_CONTROLS],
                note="The role CloudTrail delivers to CloudWatch Logs with trusts CloudTrail with no condition: CloudTrail's "
                     "guide says confused-deputy prevention does not apply to that role, which supports neither "
                     "aws:SourceArn nor aws:SourceAccount."),
        shared.Control("AUD-13", "The audit log bucket is write-once: S3 Object Lock keeps every new log file for at least the "
                "retention period, in the inventory's mode or compliance mode", "audit", "log_bucket",
                [shared.AUDIT_CONTROLS, shared.INTEGRITY], ["AWS FSBP S3.15"],
                note="Object Lock's default retention applies to log files written after it was set; files already in "
                     "the bucket keep the retention they had."),
        shared.Control("AUD-14", "The trail records object-level events in every toolkit bucket: reads, uploads and deletions "
                "in the data bucket, and reads and deletions in the access log and audit log buckets", "audit", "trail",
                [shared.AUDIT_CONTROLS], ["CIS AWS 3.8", "CIS AWS 3.9", "AWS FSBP S3.22", "AWS FSBP S3.23"],
                note="Uploads into the two log buckets are not recorded: they are the services' own log deliveries, and "
                     "recording them would feed each delivery back into the trail without end. The trail's log file "
                     "validation and the audit log bucket's Object Lock guard those files instead."),
        shared.Control("AUD-15", "GuardDuty findings of medium severity and above, Security Hub's failed critical and high findings "
                "and AWS Config's non-compliance reach the security topic: each EventBridge rule is enabled, has the "
                "toolkit's event pattern and targets the topic", "audit", "findings",
                [shared.SECURITY_INCIDENTS, shared.RISK_MANAGEMENT],
                note="The topic reaches a person only through its subscriptions; production refuses to run without one "
                     "(audit_alarm_subscribers_required)."),
        shared.Control("AUD-16", "Session Manager logs every session to its log group, encrypted with the audit key, and ends idle "
                "sessions", "audit", "session_manager", [shared.AUDIT_CONTROLS, shared.ENCRYPTION],
                note="The preferences are the account's SSM-SessionManagerRunShell document; a session started with "
                     "another Session document of the caller's choosing is not bound by them. AUD-06 checks the log "
                     "group's key and retention."),
    ]
}


# What AUD-14 asks of the trail: per bucket role, the object events it must record
# (event name, read only).
DATA_EVENT_PROBES = {
    "data": [("GetObject", True), ("PutObject", False), ("DeleteObject", False)],
    "log": [("GetObject", True), ("DeleteObject", False)],
}


def _field_matches(field, value):
    """An advanced field selector on a value: any including operator matches, and no excluding one."""
    including = {"Equals": lambda v: value == v, "StartsWith": value.startswith, "EndsWith": value.endswith}
    excluding = {"NotEquals": lambda v: value == v, "NotStartsWith": value.startswith, "NotEndsWith": value.endswith}
    given = [op for op in including if field.get(op)]
    if given and not any(including[op](v) for op in given for v in field[op]):
        return False
    return not any(excluding[op](v) for op in excluding for v in field.get(op) or [])


def records_data_event(selectors, object_arn, event_name, read_only):
    """Whether a trail with these event selectors (get_event_selectors' answer) records
    an S3 object event on object_arn."""
    event = {"eventCategory": "Data", "resources.type": "AWS::S3::Object", "resources.ARN": object_arn,
             "eventName": event_name, "readOnly": "true" if read_only else "false"}
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = selector.get("FieldSelectors") or []
        if fields and all(f.get("Field") in event and _field_matches(f, event[f["Field"]]) for f in fields):
            return True
    for selector in selectors.get("EventSelectors") or []:
        kind = selector.get("ReadWriteType", "All")
        if kind != "All" and (kind == "ReadOnly") != read_only:
            continue
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") == "AWS::S3::Object" and any(
                    object_arn.startswith(v) for v in resource.get("Values") or []):
                return True
    return False


def audit_controls(state, baseline):
    """The audit phase's controls: trail, audit key, log bucket, log groups,
    alarms, Config, GuardDuty and flow logs."""
    c = CONTROLS
    results = []
    trail = state.get("trail") or {}
    key = state.get("key") or {}
    name = baseline["trail_name"]
    results.append(c["AUD-01"].result(
        name, "multi-region, global service events, log file validation",
        {k: trail.get(k) for k in ("is_multi_region_trail", "include_global_service_events", "log_file_validation_enabled")}
        if trail else "no trail",
        bool(trail) and all(trail.get(k) for k in ("is_multi_region_trail", "include_global_service_events",
                                                   "log_file_validation_enabled")),
    ))
    results.append(c["AUD-02"].result(
        name, "logging", ("logging" if trail.get("is_logging") else "logging stopped") if trail else "no trail",
        bool(trail.get("is_logging")),
    ))
    group_arn = str(trail.get("cloud_watch_logs_log_group_arn") or "")
    delivers = group_arn.split(":log-group:")[-1].split(":")[0] == baseline["trail_log_group"]
    encrypted = _encrypted_with(trail.get("kms_key_id"), key)
    results.append(c["AUD-03"].result(
        name, f"KMS key {key.get('key_arn', 'the audit key')}; log group {baseline['trail_log_group']}",
        f"KMS key {trail.get('kms_key_id')}; log group {group_arn or None}" if trail else "no trail",
        bool(trail) and encrypted and delivers,
    ))
    results.append(c["AUD-04"].result(
        "audit key", "enabled, rotation on",
        f"state {key.get('key_state')}, rotation {key.get('enable_key_rotation')}" if key else "no key",
        key.get("key_state") == "Enabled" and key.get("enable_key_rotation") is True,
    ))
    bucket = state.get("log_bucket") or {}
    policy = _bucket_policy(bucket)
    versioned = (bucket.get("bucket_versioning") or {}).get("Status") == "Enabled"
    bucket_arn = f"arn:{baseline.get('partition', 'aws')}:s3:::{baseline['log_bucket']}"
    resources = [bucket_arn, f"{bucket_arn}/*"]
    results.append(c["AUD-05"].result(
        baseline["log_bucket"], "public access blocked, versioning enabled, TLS only",
        (f"public access blocked {_public_access_blocked(bucket)}, versioning "
         f"{(bucket.get('bucket_versioning') or {}).get('Status')}, TLS only {_denies_insecure_transport(policy, resources)}")
        if bucket else "no bucket",
        bool(bucket) and _public_access_blocked(bucket) and versioned and _denies_insecure_transport(policy, resources),
    ))
    groups = {g.get("log_group_name"): g for g in state.get("log_groups") or []}
    for group_name in (baseline["trail_log_group"], baseline["flow_log_group"], baseline["session_log_group"],
                       baseline["host_log_group"]):
        group = groups.get(group_name)
        retention = (group or {}).get("retention_in_days")
        ok = bool(group) and _encrypted_with(group.get("kms_key_id"), key) and retention is not None \
            and int(retention) >= int(baseline["log_retention_days"])
        results.append(c["AUD-06"].result(
            group_name, f"KMS key the audit key; retention at least {baseline['log_retention_days']} days",
            f"KMS key {group.get('kms_key_id')}; retention {retention}" if group else "no log group", ok,
        ))
    alarms = {a.get("alarm_name"): a for a in state.get("alarms") or []}
    missing = [n for n in baseline["alarms"] if n not in alarms]
    silent = [n for n in baseline["alarms"] if n in alarms and not any(
        str(action).endswith(f":{baseline['topic_name']}") for action in alarms[n].get("alarm_actions") or [])]
    results.append(c["AUD-07"].result(
        f"{len(baseline['alarms'])} alarms", f"each notifying {baseline['topic_name']}",
        f"missing {missing or 'none'}; not notifying {silent or 'none'}", not missing and not silent,
    ))
    services = state.get("services") or {}
    rules = services.get("event_rules") or {}
    wrong = []
    for expected in baseline.get("finding_rules") or []:
        rule = rules.get(expected["name"]) or {}
        problems = (["missing"] if not rule else
                    (["disabled"] if rule.get("state") != "ENABLED" else [])
                    + (["another event pattern"] if rule.get("event_pattern") != expected["event_pattern"] else [])
                    + ([] if any(str(t).endswith(f":{baseline['topic_name']}") for t in rule.get("targets") or [])
                       else ["not targeting the topic"]))
        wrong += [f"{expected['name']} {', '.join(problems)}"] if problems else []
    results.append(c["AUD-15"].result(
        f"{len(baseline.get('finding_rules') or [])} EventBridge rules", f"enabled, the toolkit's patterns, targeting {baseline['topic_name']}",
        "; ".join(wrong) or "as expected", bool(baseline.get("finding_rules")) and not wrong,
    ))
    preferences = (services.get("documents") or {}).get(baseline["session_document"]) or {}
    inputs = preferences.get("inputs") or {}
    session_group = groups.get(baseline["session_log_group"]) or {}
    problems = (["no preferences"] if not preferences else
                ([f"sessions logged to {inputs.get('cloudWatchLogGroupName') or 'no log group'}"]
                 if inputs.get("cloudWatchLogGroupName") != baseline["session_log_group"] else [])
                + ([] if inputs.get("cloudWatchEncryptionEnabled") is True else ["an unencrypted log group allowed"])
                + ([] if str(inputs.get("idleSessionTimeout") or "").isdigit() else ["no idle timeout"])
                + ([] if _encrypted_with(session_group.get("kms_key_id"), key) else ["the log group not encrypted with the audit key"]))
    results.append(c["AUD-16"].result(
        baseline["session_document"], f"every session to {baseline['session_log_group']}, encrypted with the audit key; idle timeout",
        "; ".join(problems) or "as expected", not problems,
    ))
    recorders = services.get("config_recorders") or []
    channels = services.get("delivery_channels") or []
    recording = [r for r in recorders if r.get("recording") and r.get("all_supported") and r.get("include_global_resource_types")]
    delivering = [ch for ch in channels if ch.get("s3_bucket_name") == baseline["log_bucket"]]
    results.append(c["AUD-08"].result(
        "AWS Config", f"recording all resources, global included, delivering to {baseline['log_bucket']}",
        f"recorders {[{k: r.get(k) for k in ('name', 'recording', 'all_supported', 'include_global_resource_types')} for r in recorders]}; "
        f"delivery to {[ch.get('s3_bucket_name') for ch in channels]}",
        bool(recording) and bool(delivering),
    ))
    detectors = services.get("guardduty_detectors") or []
    enabled = [d for d in detectors if d.get("status") == "ENABLED"
               and (d.get("s3_protection") or not baseline.get("guardduty_s3_protection", True))]
    results.append(c["AUD-09"].result(
        "GuardDuty", "an enabled detector" + (" with S3 protection" if baseline.get("guardduty_s3_protection", True) else ""),
        [{k: d.get(k) for k in ("detector_id", "status", "s3_protection")} for d in detectors] or "no detector",
        bool(enabled),
    ))
    flow_logs = services.get("flow_logs") or []
    vpcs = state.get("vpcs") or {}
    for vpc_name in baseline["vpc_names"]:
        vpc_id = vpcs.get(vpc_name)
        if vpc_id is None:
            continue  # the VPC's own phase reports it missing
        logs = [f for f in flow_logs if f.get("resource_id") == vpc_id]
        ok = any(f.get("traffic_type") == "ALL" and f.get("log_group_name") == baseline["flow_log_group"]
                 and f.get("status", "ACTIVE") == "ACTIVE" for f in logs)
        results.append(c["AUD-10"].result(
            f"{vpc_name} ({vpc_id})", f"ALL traffic to {baseline['flow_log_group']}",
            [{k: f.get(k) for k in ("traffic_type", "log_group_name", "status")} for f in logs] or "no flow log", ok,
        ))

    target = f"{baseline['access_log_bucket']}/{baseline['access_log_prefix']}"
    logs_to = _access_logs_to(state.get("log_bucket"))
    results.append(c["AUD-11"].result(baseline["log_bucket"], f"access logs to {target}", logs_to or "logging off",
                                      logs_to == target))
    results.append(shared._trusted_roles_result(c["AUD-12"], state.get("roles"), baseline))

    lock = (services.get("object_lock") or {}).get(baseline["log_bucket"]) or {}
    mode_ok = lock.get("mode") in (baseline["lock_mode"], "COMPLIANCE")
    results.append(c["AUD-13"].result(
        baseline["log_bucket"], f"Object Lock, {baseline['lock_mode']} mode, at least {baseline['lock_days']} days",
        f"Object Lock, {lock.get('mode')} mode, {lock.get('days')} days" if lock else "no Object Lock",
        bool(lock) and mode_ok and int(lock.get("days") or 0) >= int(baseline["lock_days"]),
    ))

    selectors = services.get("event_selectors") or {}
    partition = baseline.get("partition", "aws")
    buckets = [(baseline["data_bucket"], "data"), (baseline["access_log_bucket"], "log"), (baseline["log_bucket"], "log")]
    unrecorded = [f"{event} in {bucket}" for bucket, role in buckets for event, read_only in DATA_EVENT_PROBES[role]
                  if not records_data_event(selectors, f"arn:{partition}:s3:::{bucket}/any-object", event, read_only)]
    results.append(c["AUD-14"].result(
        name, "; ".join(f"{bucket}: {', '.join(e for e, _ in DATA_EVENT_PROBES[role])}" for bucket, role in buckets),
        f"not recorded: {', '.join(unrecorded)}" if unrecorded else "all recorded", not unrecorded,
    ))
    return results


def _encrypted_with(key_id, key):
    return bool(key) and bool(key_id) and key_id in (key.get("key_arn"), key.get("key_id"))


class FilterModule:
    def filters(self):
        return {"audit_controls": audit_controls}
