# -*- coding: utf-8 -*-
# Shared boto3 plumbing for the toolkit's modules in library/.
#
# The modules build on amazon.aws's AnsibleAWSModule (argument spec for
# credentials/region/endpoint, client creation, fail_json_aws). What lives here
# is what the toolkit adds on top, once: readable connection errors, a retry
# decorator with jittered backoff, and paginated describe calls.

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit, urlunsplit

try:
    import botocore.exceptions
except ImportError:  # AnsibleAWSModule reports the missing dependency itself.
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_tag_filter_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.amazon.aws.plugins.module_utils.transformation import ansible_dict_to_boto3_filter_list

# Retries: one layer, botocore's. The inventory's connection settings
# (toolkit_aws_connection, aws_config) give every client, the toolkit's and
# amazon.aws's, botocore's adaptive retry mode with 10 attempts, which backs
# off on every service's throttling codes, 5xx answers and dropped connections,
# page by page in a paginator. The modules therefore make their clients
# without amazon.aws's AWSRetry decorator. On top of botocore it multiplied the
# attempts (10 botocore attempts for each of AWSRetry's 11), and it is the
# weaker layer: its codes lack ThrottlingException, how the JSON APIs (KMS,
# CloudWatch Logs, EventBridge among them) say "throttled", and S3's SlowDown,
# and it never sees a dropped connection. AWSRetry remains at four places only,
# to wait out one eventual-consistency code each, named there: a new security
# group's InvalidGroup.NotFound (ec2_security_groups), DependencyViolation
# while a VPC's network interfaces go (ec2_vpc_teardown), AWS Config's
# InvalidRoleException for a role made moments ago (aws_config) and
# CloudTrail's InvalidCloudWatchLogsRoleArnException for one (cloudtrail_trails). There
# it also retries its own throttling codes, on top of botocore's.

# Error codes that mean "the credentials are the problem", not the request.
_CREDENTIAL_ERROR_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidAccessKeyId",
    "AuthFailure",
}


# Error codes of an authorization failure, and how AWS words one: "User:
# arn:... is not authorized to perform: ec2:CreateVpc[ on resource: ...]".
_DENIED_ERROR_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_NOT_AUTHORIZED = re.compile(r"(?:User: )?(?P<caller>arn:\S+) is not authorized to perform: (?P<action>[\w-]+:\w+)")


def endpoint_in_use(module):
    """The endpoint URL the module's clients talk to, or None for AWS itself."""
    return module.params.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or None


def connection_problem(module, exception):
    """One line saying why AWS could not be reached or refused the caller.

    Returns None when the exception is not a connection or credential problem,
    so callers can fall back to fail_json_aws for ordinary API errors.
    """
    endpoint = endpoint_in_use(module)
    where = f"the endpoint {endpoint}" if endpoint else f"AWS in region {module.region}"
    if botocore is None:
        return None
    if isinstance(exception, botocore.exceptions.NoCredentialsError):
        return (
            "No AWS credentials found. For real AWS set AWS_PROFILE (or the inventory's toolkit_aws_profile); "
            'for the local cloud run: eval "$(scripts/local-cloud start)".'
        )
    if isinstance(exception, botocore.exceptions.ProfileNotFound):
        return f"AWS profile not found: {exception}. Check aws_profile in the inventory or AWS_PROFILE."
    if isinstance(
        exception,
        (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError,
        ),
    ):
        hint = " Is the local cloud running? (scripts/local-cloud status)" if endpoint else ""
        return f"Cannot reach {where}: {exception}.{hint}"
    if isinstance(exception, botocore.exceptions.ClientError):
        code = exception.response.get("Error", {}).get("Code", "")
        if code in _CREDENTIAL_ERROR_CODES:
            message = exception.response.get("Error", {}).get("Message", code)
            return f"AWS rejected the credentials ({code}: {message}). Refresh them (aws sso login, a new session token) and run again."
    return None


def is_access_denied(exception):
    """Whether the exception is AWS refusing the caller an action (whatever its message says)."""
    if botocore is None or not isinstance(exception, botocore.exceptions.ClientError):
        return False
    return exception.response.get("Error", {}).get("Code") in _DENIED_ERROR_CODES


def permission_problem(exception):
    """One line naming the action the caller may not take, or None when the
    exception is not an authorization failure (or does not name the action)."""
    if not is_access_denied(exception):
        return None
    found = _NOT_AUTHORIZED.search(exception.response["Error"].get("Message", ""))
    if not found:
        return None
    operation = exception.operation_name
    return (f"{found.group('caller')} is not authorized to perform {found.group('action')} ({operation}). "
            "Give it the deployer's policy of this inventory (playbooks/iam_policies.yml writes it; "
            "docs/iam/deployer-policy.json is an example), or the auditor's for verify.")


def fail_aws(module, exception, msg):
    """Fail with one readable line for connection, credential and permission
    problems, and with amazon.aws's usual detail for everything else."""
    problem = connection_problem(module, exception)
    if problem:
        module.fail_json(msg=problem)
    problem = permission_problem(exception)
    if problem:
        module.fail_json(msg=f"{msg}: {problem}")
    module.fail_json_aws(exception, msg=msg)


def paginate(client, operation, result_key, **kwargs):
    """All items of a paginated call (botocore retries each page's request)."""
    return client.get_paginator(operation).paginate(**kwargs).build_full_result().get(result_key, [])


def tag_dict(tag_list, key="Key", value="Value"):
    """[{'Key': k, 'Value': v}, ...] as {k: v}: amazon.aws's conversion (KMS names them TagKey and TagValue)."""
    return boto3_tag_list_to_ansible_dict(tag_list or [], key, value)


def by_name(items):
    """{Name tag: [item, ...]} of tagged EC2 items (several when a name repeats)."""
    found = {}
    for item in items:
        found.setdefault(tag_dict(item.get("Tags")).get("Name"), []).append(item)
    return found


def tag_changes(current, wanted, purge_tags=True):
    """(keys to remove, tags to set) to turn current tags into the wanted ones: amazon.aws's
    compare_aws_tags, which never removes AWS's own aws: tags (nor, without purge_tags, any other)."""
    to_set, to_unset = compare_aws_tags(current, wanted, purge_tags=purge_tags)
    return sorted(to_unset), to_set


def purged_tags(current, wanted, purge_tags):
    """tag_changes, and the tags a resource has after them (for a diff)."""
    stale, missing = tag_changes(current, wanted, purge_tags)
    return stale, missing, {**{k: v for k, v in current.items() if k not in stale}, **missing}


def existing_by_name(client, operation, result_key, name_key, prefix_parameter, names):
    """{name: item} of the named resources that exist, read with one paginated listing filtered by
    the names' common prefix (the whole listing when they share none); no call for no names."""
    if not names:
        return {}
    prefix = os.path.commonprefix(names)
    kwargs = {prefix_parameter: prefix} if prefix else {}
    return {item[name_key]: item for item in paginate(client, operation, result_key, **kwargs) if item[name_key] in names}


def record_changes(result, diff, name, changes):
    """A list module's record of one item's {part: (current, declared)}: its result's `changed`, and the diff."""
    result["changed"] = sorted(changes)
    if changes:
        diff["before"][name] = {part: old for part, (old, _new) in changes.items()}
        diff["after"][name] = {part: new for part, (_old, new) in changes.items()}


def changes_of(results, key="name"):
    """The list modules' common result from per-item results that say `created`, `deleted` and which
    settings `changed`: {item: [what changed]}, items left as they were not listed."""
    changes = {}
    for result in results:
        noted = (["created"] if result.get("created") else []) + (["deleted"] if result.get("deleted") else [])
        noted += list(result.get("changed") or [])
        if noted:
            changes[result[key]] = noted
    return changes


def changes_from_diff(before, after):
    """changes_of for a module whose diff is {item: settings}: an item absent before was created, one absent
    after was deleted, and otherwise the settings the diff shows changed."""
    changes = {}
    for item in sorted(set(before) | set(after)):
        if before.get(item) is None and after.get(item) is not None:
            changes[item] = ["created"]
        elif after.get(item) is None and before.get(item) is not None:
            changes[item] = ["deleted"]
        elif before.get(item) != after.get(item):
            changes[item] = sorted(set(before.get(item) or {}) | set(after.get(item) or {}))
    return changes


def tag_list(tags, key="Key", value="Value"):
    """{k: v} as [{'Key': k, 'Value': v}, ...], sorted by key (amazon.aws's conversion)."""
    return ansible_dict_to_boto3_tag_list(dict(sorted(tags.items())), key, value)


def ec2_tag_filters(tags, names=None):
    """EC2 describe filters for resources carrying all `tags` and, when given, one of the `names` as their Name."""
    filters = {"tag:Name": sorted(names)} if names is not None else {}
    return ansible_dict_to_boto3_filter_list({**filters, **ansible_dict_to_tag_filter_dict(tags)})


def sync_ec2_tags(ec2, resource_id, current, wanted, check_mode, purge_tags=True):
    """Make an EC2 resource's tags `wanted`, and only those unless purge_tags is false (nothing is sent in
    check mode); True when they differed."""
    stale, missing = tag_changes(current, wanted, purge_tags=purge_tags)
    if not check_mode:
        if stale:
            ec2.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in stale])
        if missing:
            ec2.create_tags(Resources=[resource_id], Tags=tag_list(missing))
    return bool(stale or missing)


def set_arn_tags(client, arn, stale, missing):
    """Remove the `stale` tag keys of a resource and set the `missing` tags, for a service whose
    UntagResource takes the keys and TagResource a {key: value} map, by ARN (GuardDuty, Security Hub)."""
    if stale:
        client.untag_resource(ResourceArn=arn, TagKeys=stale)
    if missing:
        client.tag_resource(ResourceArn=arn, Tags=missing)


def is_loopback_host(host):
    """Whether a host name or address is this machine's (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unprefix_account_host(client):
    """Let an S3 Control client reach an emulator on a loopback address.

    S3 Control puts the account id in front of the host name
    (123456789012.127.0.0.1:5500), which cannot resolve when the endpoint is an
    IP address or localhost. This removes the prefix before the request is
    signed, and only for such endpoints; AWS itself is never affected.
    """
    prefixed = re.compile(r"^\d{12}\.")

    def strip_prefix(request, **_kwargs):
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        if prefixed.match(host) and is_loopback_host(host.split(".", 1)[1]):
            request.url = urlunsplit(parts._replace(netloc=parts.netloc.split(".", 1)[1]))

    client.meta.events.register(f"before-sign.{client.meta.service_model.service_id.hyphenize()}", strip_prefix)
    return client


def warn(module, message):
    """Warn once, through the AnsibleModule underneath.

    AnsibleAWSModule.warn (amazon.aws 10.1) also puts its warnings back into
    the result, which ansible-core 2.19 reports as a deprecated use of
    `warnings`; the plain AnsibleModule warning is shown exactly once.
    """
    module._module.warn(message)  # pylint: disable=protected-access


def fail_on_repeated_names(module, names, kind):
    """Fail before any call when a list option names the same resource twice."""
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        module.fail_json(msg=f"{kind} declared more than once: {', '.join(repeated)}")
