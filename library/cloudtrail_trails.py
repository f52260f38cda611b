#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudtrail_trails
short_description: CloudTrail trails with their delivery, logging, tags and S3 object-level events, as one list
description:
  - Creates or updates each trail, delivering to O(trails.s3_bucket_name) (and, where given, to a CloudWatch
    Logs log group), encrypted with O(trails.kms_key_id); turns logging on or off; sets its tags.
  - Sets each trail's advanced event selectors to all management events plus the S3 object-level (data)
    events of O(trails.data_events), so every read and change of an object is on record. Basic event
    selectors a trail has are replaced.
  - O(trails.data_events.buckets) have every object event recorded.
  - O(trails.data_events.log_buckets) are buckets that AWS services deliver log files into (the trail's own
    bucket, a server access log bucket). Every object event but an upload (C(PutObject)) is recorded there.
    Recording the uploads would feed each delivery back as a new event. The trail would log its own
    deliveries, and server access logging would log those uploads into the access log bucket, whose uploads
    the trail would log again, without end. Reads, deletions, copies, multipart uploads and retention
    changes are recorded.
  - The selectors use no field with both an including and an excluding operator.
  - IAM is eventually consistent; CloudTrail refuses a logs role made moments ago as if it lacked
    permissions (C(InvalidCloudWatchLogsRoleArnException)). The module waits that error out, for up
    to about a minute.
  - A setting left out (O(trails.s3_key_prefix), O(trails.kms_key_id), the CloudWatch Logs pair) is left as the
    trail has it.
  - Supports check mode and diff; in check mode a trail that does not exist yet is planned.
notes:
  - Why not M(amazon.aws.cloudtrail)? It does not manage event selectors, so the S3 data events took a
    second module after it, and that second module run cost about 0.9 s of a no-op site.yml on the
    toolkit's benchmark machine (docs/performance.md). It also does not wait out the IAM propagation
    error above, which the task had to retry whole.
options:
  trails:
    description: The trails.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The trail's name.
        type: str
        required: true
      s3_bucket_name:
        description: The bucket the trail delivers its log files to. Required unless O(state=absent).
        type: str
      s3_key_prefix:
        description: The key prefix of the log files in O(trails.s3_bucket_name).
        type: str
      is_multi_region_trail:
        description: Whether the trail records every region's events.
        type: bool
        default: true
      include_global_service_events:
        description: Whether the trail records global services' events (IAM, STS, CloudFront).
        type: bool
        default: true
      enable_log_file_validation:
        description: Whether CloudTrail writes digest files that prove the log files unchanged.
        type: bool
        default: true
      enable_logging:
        description: Whether the trail is logging.
        type: bool
        default: true
      kms_key_id:
        description: The KMS key (ARN or key ID) that encrypts the log files (SSE-S3 for a new trail without one).
        type: str
      cloudwatch_logs_log_group_arn:
        description: The ARN of the log group the trail also delivers to (ending in C(:*)).
        type: str
      cloudwatch_logs_role_arn:
        description: The role CloudTrail delivers to O(trails.cloudwatch_logs_log_group_arn) with.
        type: str
      data_events:
        description: The buckets whose object-level events are recorded. Omitted, management events only.
        type: dict
        suboptions:
          buckets:
            description: Buckets whose every object-level event is recorded.
            type: list
            elements: str
            default: []
          log_buckets:
            description: Buckets AWS services deliver log files into; every object-level event but an upload is
              recorded.
            type: list
            elements: str
            default: []
  partition:
    description: The AWS partition of the data event buckets' ARNs.
    type: str
    default: aws
  tags:
    description: Every trail's tags; others are removed, unless O(purge_tags=false). Omitted, the tags are
      left alone.
    type: dict
  purge_tags:
    description: Whether tags not in O(tags) are removed. AWS's own C(aws:) tags never are.
    type: bool
    default: true
  state:
    description: Whether the trails exist. C(absent) deletes them (their log files stay in the bucket).
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
- name: One multi-region trail, encrypted, into a bucket and a log group, recording the buckets' object events
  cloudtrail_trails:
    trails:
      - name: rnaseq-trail
        s3_bucket_name: rnaseq-hipaa-data-bucket-audit-logs
        s3_key_prefix: cloudtrail
        kms_key_id: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
        cloudwatch_logs_log_group_arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/cloudtrail/rnaseq:*"
        cloudwatch_logs_role_arn: arn:aws:iam::123456789012:role/rnaseq-cloudtrail-logs
        data_events:
          buckets: [rnaseq-hipaa-data-bucket]
          log_buckets: [rnaseq-hipaa-data-bucket-access-logs, rnaseq-hipaa-data-bucket-audit-logs]
    tags: {Project: rnaseq}
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rnaseq-trail: [event_selectors, tags]}
trails:
  description: Each trail's ARN, its advanced event selectors after the run (or as they would be), and what
    changed.
  returned: always
  type: list
  elements: dict
  sample:
    - name: rnaseq-trail
      arn: arn:aws:cloudtrail:us-east-1:123456789012:trail/rnaseq-trail
      created: false
      deleted: false
      changed: [advanced_event_selectors]
      advanced_event_selectors: [{Name: Management events, FieldSelectors: [{Field: eventCategory, Equals: [Management]}]}]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import changes_of
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import record_changes
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")

# IAM is eventually consistent: CloudTrail refuses a logs role made moments
# ago with InvalidCloudWatchLogsRoleArnException, for seconds (the audit phase
# makes it just before).
NEW_ROLE_RETRY = AWSRetry.jittered_backoff(retries=8, delay=2, max_delay=10, catch_extra_error_codes=["InvalidCloudWatchLogsRoleArnException"])

# The trail's settings: (describe_trails field, create_trail/update_trail parameter, option).
SETTINGS = (
    ("S3BucketName", "S3BucketName", "s3_bucket_name"),
    ("S3KeyPrefix", "S3KeyPrefix", "s3_key_prefix"),
    ("IsMultiRegionTrail", "IsMultiRegionTrail", "is_multi_region_trail"),
    ("IncludeGlobalServiceEvents", "IncludeGlobalServiceEvents", "include_global_service_events"),
    ("LogFileValidationEnabled", "EnableLogFileValidation", "enable_log_file_validation"),
    ("KmsKeyId", "KmsKeyId", "kms_key_id"),
    ("CloudWatchLogsLogGroupArn", "CloudWatchLogsLogGroupArn", "cloudwatch_logs_log_group_arn"),
    ("CloudWatchLogsRoleArn", "CloudWatchLogsRoleArn", "cloudwatch_logs_role_arn"),
)


def wanted_selectors(data_events, partition):
    """The advanced event selectors: management events, then the buckets' object events."""
    buckets = (data_events or {}).get("buckets") or []
    log_buckets = (data_events or {}).get("log_buckets") or []

    def objects(names):
        return [{"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": [f"arn:{partition}:s3:::{name}/" for name in names]}]

    selectors = [{"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    if buckets:
        selectors.append({"Name": "Every object event in the toolkit's buckets", "FieldSelectors": objects(buckets)})
    if log_buckets:
        selectors.append({"Name": "Every object event but log delivery in the log buckets",
                          "FieldSelectors": objects(log_buckets) + [{"Field": "eventName", "NotEquals": ["PutObject"]}]})
    return selectors


def normal(selectors):
    """Advanced event selectors, order of fields and values aside."""
    result = []
    for selector in selectors or []:
        fields = []
        for field in selector.get("FieldSelectors") or []:
            entry = {"Field": field["Field"]}
            entry.update({op: sorted(field[op]) for op in OPERATORS if field.get(op)})
            fields.append(entry)
        result.append({"Name": selector.get("Name", ""), "FieldSelectors": sorted(fields, key=lambda f: f["Field"])})
    return sorted(result, key=lambda s: s["Name"])


def same_setting(field, have, want):
    """Whether the trail's setting is the declared one; one not declared (None) is left as it is."""
    if want is None:
        return True
    if field == "KmsKeyId" and have:
        # CloudTrail answers with the key's ARN; a key ID names the same key.
        return have == want or have.endswith("/" + want)
    return (have or None) == (want or None)


def trail_parameters(spec):
    """create_trail's and update_trail's parameters for the declared settings."""
    return {parameter: spec[option] for _field, parameter, option in SETTINGS if spec[option] is not None}


def converge(module, cloudtrail, spec, trail, wanted_selectors_):
    """Bring an existing trail to its declaration. Returns {part: (current, declared)}."""
    name, arn = spec["name"], trail["TrailARN"]
    changes = {}
    settings = {option: (trail.get(field), spec[option]) for field, _parameter, option in SETTINGS
                if not same_setting(field, trail.get(field), spec[option])}
    if settings:
        changes.update(settings)
        if not module.check_mode:
            NEW_ROLE_RETRY(cloudtrail.update_trail)(Name=name, **trail_parameters(spec))
    logging = cloudtrail.get_trail_status(Name=arn).get("IsLogging", False)
    if logging != spec["enable_logging"]:
        changes["logging"] = (logging, spec["enable_logging"])
        if not module.check_mode:
            (cloudtrail.start_logging if spec["enable_logging"] else cloudtrail.stop_logging)(Name=arn)
    if module.params["tags"] is not None:
        listed = cloudtrail.list_tags(ResourceIdList=[arn]).get("ResourceTagList") or [{}]
        tags = tag_dict(listed[0].get("TagsList"))
        stale, missing, tags_after = purged_tags(tags, module.params["tags"], module.params["purge_tags"])
        if stale or missing:
            changes["tags"] = (tags, tags_after)
            if not module.check_mode:
                if stale:
                    cloudtrail.remove_tags(ResourceId=arn, TagsList=[{"Key": key} for key in stale])
                if missing:
                    cloudtrail.add_tags(ResourceId=arn, TagsList=tag_list(missing))
    current = cloudtrail.get_event_selectors(TrailName=arn)
    # Basic event selectors, where a trail has them, are replaced.
    have = {"EventSelectors": current.get("EventSelectors") or [],
            "AdvancedEventSelectors": normal(current.get("AdvancedEventSelectors"))}
    if have != {"EventSelectors": [], "AdvancedEventSelectors": normal(wanted_selectors_)}:
        changes["advanced_event_selectors"] = (have, wanted_selectors_)
        if not module.check_mode:
            cloudtrail.put_event_selectors(TrailName=arn, AdvancedEventSelectors=wanted_selectors_)
    return changes


def create(module, cloudtrail, spec, wanted_selectors_):
    """Create the trail, start its logging and set its selectors. Returns its ARN."""
    parameters = trail_parameters(spec)
    if module.params["tags"]:
        parameters["TagsList"] = tag_list(module.params["tags"])
    arn = NEW_ROLE_RETRY(cloudtrail.create_trail)(Name=spec["name"], **parameters)["TrailARN"]
    if spec["enable_logging"]:
        cloudtrail.start_logging(Name=arn)
    cloudtrail.put_event_selectors(TrailName=arn, AdvancedEventSelectors=wanted_selectors_)
    return arn


def main():
    argument_spec = dict(
        trails=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            s3_bucket_name=dict(type="str"),
            s3_key_prefix=dict(type="str"),
            is_multi_region_trail=dict(type="bool", default=True),
            include_global_service_events=dict(type="bool", default=True),
            enable_log_file_validation=dict(type="bool", default=True),
            enable_logging=dict(type="bool", default=True),
            kms_key_id=dict(type="str"),
            cloudwatch_logs_log_group_arn=dict(type="str"),
            cloudwatch_logs_role_arn=dict(type="str"),
            data_events=dict(type="dict", options=dict(
                buckets=dict(type="list", elements="str", default=[]),
                log_buckets=dict(type="list", elements="str", default=[]),
            )),
        )),
        partition=dict(type="str", default="aws"),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    specs, present = module.params["trails"], module.params["state"] == "present"
    fail_on_repeated_names(module, [s["name"] for s in specs], "Trails")
    for spec in specs:
        if present and not spec.get("s3_bucket_name"):
            module.fail_json(msg=f"Trail {spec['name']}: s3_bucket_name is required unless state is absent")
        data_events = spec.get("data_events") or {}
        overlap = sorted(set(data_events.get("buckets") or []) & set(data_events.get("log_buckets") or []))
        if overlap:
            module.fail_json(msg=f"Trail {spec['name']}: a bucket is either in data_events.buckets or in "
                                 f"data_events.log_buckets, not both: {', '.join(overlap)}")
    cloudtrail = module.client("cloudtrail")
    results, diff = [], {"before": {}, "after": {}}
    try:
        found = cloudtrail.describe_trails(trailNameList=[s["name"] for s in specs], includeShadowTrails=False)
        trails = {t["Name"]: t for t in found.get("trailList") or []}
        for spec in specs:
            name, trail = spec["name"], trails.get(spec["name"])
            result = {"name": name, "arn": trail["TrailARN"] if trail else None,
                      "created": False, "deleted": False, "changed": []}
            results.append(result)
            if not present:
                if trail:
                    result["deleted"] = True
                    diff["before"][name], diff["after"][name] = {"exists": True}, {"exists": False}
                    if not module.check_mode:
                        cloudtrail.delete_trail(Name=name)
                continue
            selectors = result["advanced_event_selectors"] = wanted_selectors(spec.get("data_events"), module.params["partition"])
            if trail:
                record_changes(result, diff, name, converge(module, cloudtrail, spec, trail, selectors))
                continue
            result["created"] = True
            diff["before"][name] = {"exists": False}
            diff["after"][name] = {"exists": True, **trail_parameters(spec), "logging": spec["enable_logging"],
                                   "advanced_event_selectors": selectors}
            if not module.check_mode:
                result["arn"] = create(module, cloudtrail, spec, selectors)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to manage the trails")
    changed = any(r["created"] or r["deleted"] or r["changed"] for r in results)
    module.exit_json(changed=changed, trails=results, changes=changes_of(results), diff=diff)


if __name__ == "__main__":
    main()
