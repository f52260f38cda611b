"""A model of AWS's timing and consistency, as a loopback proxy in front of the emulator.

The emulator answers in milliseconds, creates everything at once and is
always consistent. Through this proxy it behaves as AWS does, in four ways,
each switched on and scaled on its own:

- Latency: every call waits `latency_ms` before it reaches the emulator.
- Creation delays: a resource AWS takes time to make is reported as still
  being made until its delay, divided by `time_scale`, has passed since the
  call that made it. AWS refuses a job queue on a compute environment that is
  not VALID yet, and so does the model. An image's ECR scan is IN_PROGRESS,
  without findings, for its delay after the image is put or a scan started.
- Read-after-create: for CONSISTENCY_S (divided by `lag_scale`) after an
  EC2 call creates a resource, a Describe call that names it by ID is
  answered as AWS answers an ID it does not know yet (InvalidVpcID.NotFound,
  ...). AWS documents that its EC2 API is eventually consistent this way.
  Not modelled yet: a new resource or tag missing from a filtered listing.
- Role propagation: for ROLE_PROPAGATION_S (divided by `lag_scale`) after
  a role is created or put in an instance profile, the services that assume
  it (CloudTrail, AWS Config, EC2's RunInstances) refuse it, with the error
  each gives for a role it cannot use.

The two lags have a scale of their own, 1 by default: they are seconds
long on AWS already, and a run that rides them out at AWS's own length
proves more than one that meets a tenth of them.

DELAYS holds each number and where it comes from (docs/performance.md lists
them too). Point AWS_ENDPOINT_URL at `model.url`.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.etree import ElementTree

from .api_calls import ApiCall
from .fault_proxy import FaultProxy, Reply, Request


@dataclass(frozen=True)
class Delay:
    seconds: float
    source: str


# How long AWS takes to make each resource, in AWS seconds.
DELAYS = {
    "stack": Delay(150.0, "CloudFormation holds the stack CREATE_IN_PROGRESS until its interface endpoints are "
                          "available: typically 2 to 3 minutes for a stack of interface endpoints (observed)"),
    "compute_environment": Delay(45.0, "AWS Batch reports a managed compute environment CREATING for under a "
                                       "minute (observed; the AWS Batch user guide gives no figure)"),
    "job_queue": Delay(15.0, "AWS Batch reports a job queue CREATING for seconds (observed)"),
    "instance": Delay(30.0, "EC2 reports an instance pending until it boots, typically under a minute "
                            "(EC2 user guide, instance lifecycle)"),
    "nat_gateway": Delay(90.0, "a NAT gateway stays pending for one to a few minutes (observed; the VPC user "
                               "guide says it takes a few minutes to become available)"),
    "ecr_scan": Delay(30.0, "ECR's basic scan on push reports IN_PROGRESS for seconds to a minute or two, by the "
                            "image's size (observed; the ECR user guide gives no figure)"),
}
# Which wait must follow which, whoever runs them: Batch refuses a job queue
# on a compute environment that is not VALID yet. No other wait of a first
# converge needs another to be over (the hosts launch while their NAT gateway
# is still pending; the endpoints need only the VPC's subnets and groups).
AFTER = {"job_queue": "compute_environment"}


def critical_path(delays: dict[str, Delay] = DELAYS, after: dict[str, str] = AFTER) -> tuple[float, list[str]]:
    """The longest chain of dependent waits, in AWS seconds, and the waits on it, first to last."""
    def chain(kind: str) -> list[str]:
        return (chain(after[kind]) if kind in after else []) + [kind]
    longest = max((chain(kind) for kind in delays), key=lambda waits: sum(delays[w].seconds for w in waits))
    return sum(delays[w].seconds for w in longest), longest


# How long a new EC2 resource may be missing from reads, in AWS seconds
# (EC2 API reference, "Eventual consistency": typically a few seconds).
CONSISTENCY_S = 3.0
# How long a new role may not yet be assumed by a service, in AWS seconds
# (IAM user guide, "Changes that I make are not always immediately visible":
# typically seconds; observed up to about ten).
ROLE_PROPAGATION_S = 10.0

# EC2 IDs by prefix, with the code AWS answers an ID it does not know with.
_EC2_NOT_FOUND = {
    "vpc": "InvalidVpcID.NotFound", "subnet": "InvalidSubnetID.NotFound", "rtb": "InvalidRouteTableID.NotFound",
    "sg": "InvalidGroup.NotFound", "acl": "InvalidNetworkAclID.NotFound", "igw": "InvalidInternetGatewayID.NotFound",
    "nat": "NatGatewayNotFound", "eipalloc": "InvalidAllocationID.NotFound", "i": "InvalidInstanceID.NotFound",
    "lt": "InvalidLaunchTemplateId.NotFound", "pcx": "InvalidVpcPeeringConnectionID.NotFound",
}
_EC2_ID = re.compile(r"\b(" + "|".join(sorted(_EC2_NOT_FOUND, key=len, reverse=True)) + r")-[0-9a-f]{8,17}\b")


def _ec2_error(code: str, message: str) -> Reply:
    body = (f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>aws-model</RequestID></Response>").encode()
    return 400, {"Content-Type": "text/xml"}, body


def _query_error(code: str, message: str) -> Reply:
    """An error of a query API (CloudFormation, IAM): a sender fault, as AWS answers it."""
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>aws-model</RequestId></ErrorResponse>").encode()
    return 400, {"Content-Type": "text/xml"}, body


def _json_error(code: str, message: str, version: str = "1.1") -> Reply:
    body = json.dumps({"__type": code, "message": message}).encode()
    return 400, {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-ErrorType": code}, body


class AwsModel(FaultProxy):
    def __init__(self, upstream: str, latency_ms: float = 40.0, time_scale: float = 1.0, delays: bool = True,
                 consistency: bool = True, role_propagation: bool = True, lag_scale: float = 1.0):
        super().__init__(upstream)
        self.latency_ms, self.time_scale, self.lag_scale = latency_ms, time_scale, lag_scale
        self.delays, self.consistency, self.role_propagation = delays, consistency, role_propagation
        self._made: dict[tuple[str, str], float] = {}  # (kind, id or name) -> when it was made
        self._state = threading.Lock()
        self.refused: list[tuple[str, str]] = []  # (operation, why) of every answer the model gave itself
        self.in_progress: collections.Counter = collections.Counter()  # answers that said "still being made", by kind

    def scaled(self, seconds: float) -> float:
        """A creation delay at the model's time scale."""
        return seconds / self.time_scale

    def lag(self, seconds: float) -> float:
        """A consistency or propagation lag at the model's lag scale."""
        return seconds / self.lag_scale

    def _age(self, kind: str, key: str) -> float | None:
        with self._state:
            made = self._made.get((kind, key))
        return None if made is None else time.monotonic() - made

    def _note(self, kind: str, key: str) -> None:
        with self._state:
            self._made[(kind, key)] = time.monotonic()

    def _young(self, kind: str, key: str, seconds: float) -> bool:
        age = self._age(kind, key)
        return age is not None and age < seconds

    def _refuse(self, call: ApiCall, why: str, reply: Reply) -> Reply:
        with self._state:
            self.refused.append((call.operation, why))
        return reply

    # -- before the emulator -------------------------------------------------

    def before(self, call: ApiCall, request: Request) -> Reply | None:
        early = super().before(call, request)
        if early is not None:
            return early
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.consistency and call.service == "ec2" and call.operation.startswith("Describe"):
            # IDs asked for by name (VpcId.1, AllocationId.1, ...); a filter's
            # values only narrow a listing, which AWS answers without them.
            form = parse_qs(request.body.decode("utf-8", "replace"))
            named = " ".join(v for key, values in form.items() if not key.startswith("Filter.") for v in values)
            for match in _EC2_ID.finditer(named):
                if self._young("ec2", match.group(0), self.lag(CONSISTENCY_S)):
                    code = _EC2_NOT_FOUND[match.group(1)]
                    return self._refuse(call, match.group(0), _ec2_error(code, f"The ID '{match.group(0)}' does not exist"))
        if self.role_propagation:
            refusal = self._unassumable(call, request)
            if refusal is not None:
                return self._refuse(call, "role propagation", refusal)
        if self.delays and call.service == "cloudformation" and call.operation in ("UpdateStack", "DeleteStack"):
            # AWS refuses to change a stack that is still being made.
            name = parse_qs(request.body.decode()).get("StackName", [""])[0]
            if self._young("stack", name, self.scaled(DELAYS["stack"].seconds)):
                return self._refuse(call, name, _query_error(
                    "ValidationError", f"Stack:{name} is in CREATE_IN_PROGRESS state and can not be updated."))
        if self.delays and call.operation == "REST POST /v1/createjobqueue":
            order = json.loads(request.body or b"{}").get("computeEnvironmentOrder", [])
            for entry in order:
                name = entry.get("computeEnvironment", "").rsplit("/", 1)[-1]
                if self._young("compute_environment", name, self.scaled(DELAYS["compute_environment"].seconds)):
                    body = json.dumps({"message": f"computeEnvironment {entry['computeEnvironment']} is not in VALID state"})
                    return self._refuse(call, name, (400, {"Content-Type": "application/json",
                                                           "x-amzn-ErrorType": "ClientException"}, body.encode()))
        return None

    def _unassumable(self, call: ApiCall, request: Request) -> Reply | None:
        """The refusal of a service asked to use a role it cannot assume yet."""
        if call.service == "ec2" and call.operation == "RunInstances":
            form = parse_qs(request.body.decode())
            for field in ("IamInstanceProfile.Name", "IamInstanceProfile.Arn"):
                for value in form.get(field, []):
                    if self._young("instance_profile", value.rsplit("/", 1)[-1], self.lag(ROLE_PROPAGATION_S)):
                        parameter = "iamInstanceProfile." + field.rsplit(".", 1)[1].lower()
                        return _ec2_error("InvalidParameterValue",
                                          f"Value ({value}) for parameter {parameter} is invalid. Invalid IAM Instance Profile name")
            return None
        target = request.headers.get("X-Amz-Target", "")
        if not target:
            return None
        document = json.loads(request.body or b"{}")
        if call.service == "cloudtrail" and call.operation in ("CreateTrail", "UpdateTrail"):
            role = document.get("CloudWatchLogsRoleArn", "")
            if role and self._young("role", role.rsplit("/", 1)[-1], self.lag(ROLE_PROPAGATION_S)):
                return _json_error("InvalidCloudWatchLogsRoleArnException",
                                   "Access denied. Verify in IAM that the role has adequate permissions.")
        if call.service == "config" and call.operation == "PutConfigurationRecorder":
            role = document.get("ConfigurationRecorder", {}).get("roleARN", "")
            if role and self._young("role", role.rsplit("/", 1)[-1], self.lag(ROLE_PROPAGATION_S)):
                return _json_error("InvalidRoleException", f"The role {role} cannot be assumed by AWS Config.")
        return None

    # -- after the emulator --------------------------------------------------

    def after(self, call: ApiCall, request: Request, reply: Reply) -> Reply:
        status, headers, body = reply
        if status >= 300:
            return reply
        self._record(call, request, body)
        if self.delays:
            body = self._in_progress(call, body)
        return status, headers, body

    def _record(self, call: ApiCall, request: Request, body: bytes) -> None:
        """Note when each resource this call made was made."""
        operation = call.operation
        if call.service == "ec2" and re.match(r"(Create|Run|Allocate)[A-Z]", operation) and operation != "CreateTags":
            asked, text = request.body.decode("utf-8", "replace"), body.decode("utf-8", "replace")
            for match in _EC2_ID.finditer(text):
                if match.group(0) not in asked:
                    self._note("ec2", match.group(0))
            if operation == "RunInstances":
                for instance in re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text):
                    self._note("instance", instance)
            if operation == "CreateNatGateway":
                for nat in re.findall(r"<natGatewayId>(nat-[0-9a-f]+)</natGatewayId>", text):
                    self._note("nat_gateway", nat)
        elif call.service == "iam" and operation in ("CreateRole", "AddRoleToInstanceProfile"):
            form = parse_qs(request.body.decode())
            if operation == "CreateRole":
                self._note("role", form["RoleName"][0])
            else:
                self._note("instance_profile", form["InstanceProfileName"][0])
        elif call.service == "cloudformation" and operation in ("CreateStack", "UpdateStack"):
            for stack in re.findall(rb"<StackId>([^<]+)</StackId>", body):
                self._note("stack", stack.decode())
            self._note("stack", parse_qs(request.body.decode())["StackName"][0])
        elif call.service == "ecr" and operation in ("PutImage", "StartImageScan"):
            document = json.loads(body)
            digest = (document.get("image") or document).get("imageId", {}).get("imageDigest")
            if digest:
                self._note("ecr_scan", digest)
        elif operation == "REST POST /v1/createcomputeenvironment":
            self._note("compute_environment", json.loads(body)["computeEnvironmentName"])
        elif operation == "REST POST /v1/createjobqueue":
            self._note("job_queue", json.loads(body)["jobQueueName"])

    def _in_progress(self, call: ApiCall, body: bytes) -> bytes:
        """The emulator's answer, with what is still being made reported so."""
        operation = call.operation
        # The create calls too: AWS answers them "pending", and amazon.aws.ec2_vpc_nat_gateway skips its
        # wait when the create's answer says "available", as the emulator's does.
        if operation in ("DescribeStacks", "DescribeInstances", "DescribeNatGateways", "CreateNatGateway", "RunInstances"):
            return self._rewrite_xml(body)
        if call.service == "ecr" and operation == "DescribeImageScanFindings":
            document = json.loads(body)
            digest = document.get("imageId", {}).get("imageDigest", "")
            if self._young("ecr_scan", digest, self.scaled(DELAYS["ecr_scan"].seconds)):
                # As ECR answers a scan under way: its status, and no findings yet.
                document["imageScanStatus"] = {"status": "IN_PROGRESS", "description": "being scanned (AWS model)"}
                document.pop("imageScanFindings", None)
                self.in_progress["ecr_scan"] += 1
                return json.dumps(document).encode()
            return body
        if operation in ("REST POST /v1/describecomputeenvironments", "REST POST /v1/describejobqueues"):
            kind, field, name = (("compute_environment", "computeEnvironments", "computeEnvironmentName")
                                 if "compute" in operation else ("job_queue", "jobQueues", "jobQueueName"))
            document = json.loads(body)
            for entry in document.get(field, []):
                if entry.get("status") == "VALID" and self._young(kind, entry[name], self.scaled(DELAYS[kind].seconds)):
                    entry["status"], entry["statusReason"] = "CREATING", "being created (AWS model)"
                    self.in_progress[kind] += 1
            return json.dumps(document).encode()
        return body

    def _rewrite_xml(self, body: bytes) -> bytes:
        """Stacks, instances and NAT gateways still being made, marked so in a Describe answer."""
        root = ElementTree.fromstring(body)
        namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        changed = False
        for element in root.iter():
            children = {child.tag.rsplit("}", 1)[-1]: child for child in element}
            if "StackId" in children and "StackStatus" in children:
                status = children["StackStatus"]
                if status.text in ("CREATE_COMPLETE", "UPDATE_COMPLETE") \
                        and self._young("stack", children["StackId"].text, self.scaled(DELAYS["stack"].seconds)):
                    status.text, changed = status.text.replace("COMPLETE", "IN_PROGRESS"), True
                    self.in_progress["stack"] += 1
            elif "instanceId" in children and "instanceState" in children:
                state = {c.tag.rsplit("}", 1)[-1]: c for c in children["instanceState"]}
                if state["name"].text == "running" and self._young("instance", children["instanceId"].text,
                                                                    self.scaled(DELAYS["instance"].seconds)):
                    state["code"].text, state["name"].text, changed = "0", "pending", True
                    self.in_progress["instance"] += 1
            elif "natGatewayId" in children and "state" in children:
                if children["state"].text == "available" and self._young("nat_gateway", children["natGatewayId"].text,
                                                                          self.scaled(DELAYS["nat_gateway"].seconds)):
                    children["state"].text, changed = "pending", True
                    self.in_progress["nat_gateway"] += 1
        if not changed:
            return body
        if namespace:
            ElementTree.register_namespace("", namespace)
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
