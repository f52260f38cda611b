"""Reads the emulator's request recording into API calls, each read or write.

moto records every request it receives (/moto-api/recorder/...). Tests use
this to prove that check mode and no-op runs send no write call, and the
benchmark uses it to count calls per phase.
"""

from __future__ import annotations

import base64
import collections
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

# Operation names that only read. Everything else counts as a write.
READ_PREFIXES = ("Describe", "Get", "List", "Head", "Lookup", "Search", "Select", "BatchGet", "Query", "Scan")
# The one-off reads whose names do not start like the rest.
READ_OPERATIONS = {"ValidateTemplate", "EstimateTemplateCost"}

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_RPC_V2_PATH = re.compile(r"/service/[^/]+/operation/([A-Za-z0-9]+)")


@dataclass(frozen=True)
class ApiCall:
    service: str
    operation: str
    method: str

    @property
    def is_write(self) -> bool:
        if self.operation.startswith(READ_PREFIXES) or self.operation in READ_OPERATIONS:
            return False
        if self.operation.startswith("REST "):
            if self.method in ("GET", "HEAD"):
                return False
            # Batch's REST API reads with POST: /v1/describejobqueues, /v1/listjobs.
            action = self.operation.rsplit("/", 1)[-1]
            return not (self.service == "batch" and action.startswith(("describe", "list")))
        return True

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


def _body_text(entry) -> str:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    return body


def _operation(entry) -> str:
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    url = urlparse(entry.get("url", ""))
    match = _RPC_V2_PATH.search(url.path)
    if match:
        return match.group(1)
    for source in (url.query, _body_text(entry)):
        try:
            action = parse_qs(source).get("Action")
        except (TypeError, ValueError):
            action = None
        if action:
            return action[0]
    # REST APIs (S3, Batch, ...): the method says whether it writes.
    return f"REST {entry.get('method')} {url.path}"


def _service(entry) -> str:
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    match = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    return match.group(1) if match else "unknown"


def call_of(entry, method: str | None = None) -> ApiCall:
    """The API call one recorded (or proxied) request makes; `method` when the entry lacks it."""
    return ApiCall(_service(entry), _operation(entry), method or entry.get("method", ""))


def parse_recording(text: str) -> list[ApiCall]:
    calls = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if urlparse(entry.get("url", "")).path.startswith("/moto-api"):
            continue
        calls.append(call_of(entry))
    return calls


def writes(calls: list[ApiCall]) -> list[ApiCall]:
    return [call for call in calls if call.is_write]


# The calls that create a resource AWS knows by an ID, ARN or name of its
# own. Not resources: tags, a NACL's entries and a route table's routes (they
# have no identity outside their table), and settings (Put*Policy, Attach*,
# Associate*, Authorize*, Enable*, Modify*, Update*).
_CREATES = re.compile(r"(Create|Allocate|Import|Register|Run)[A-Z]")
_NOT_RESOURCES = {"CreateTags", "CreateNetworkAclEntry", "CreateRoute", "CreateStack"}
# Put calls that create a named resource rather than set one's setting.
_NAMED_PUTS = {"PutMetricFilter", "PutMetricAlarm", "PutConfigRule", "PutConfigurationRecorder", "PutDeliveryChannel"}
# REST creates, by service and path: Batch's, GuardDuty's detector, Security Hub's hub.
_REST_CREATES = re.compile(r"REST POST (/v1/(create|register)\w+|/detector|/accounts)")


def created_resources(calls: list[ApiCall]) -> collections.Counter:
    """How many resources of each kind the calls create, as "service:Operation": one a
    creating call, and for S3 one a bucket written to (its settings share its path).

    CloudFormation stacks are left out: count the resources in them instead."""
    created: collections.Counter = collections.Counter()
    buckets = set()
    for call in calls:
        if not call.is_write:
            continue
        if call.service == "s3" and call.operation.startswith("REST PUT /"):
            path = call.operation[len("REST PUT /"):]
            if path and "/" not in path:
                buckets.add(path)
        elif call.operation in _NAMED_PUTS or _REST_CREATES.fullmatch(call.operation) or (
            _CREATES.match(call.operation) and call.operation not in _NOT_RESOURCES
        ):
            created[str(call)] += 1
    if buckets:
        created["s3:bucket"] = len(buckets)
    return created
