# -*- coding: utf-8 -*-
# Lookups of what earlier phases made, shared by the modules that read them:
# EC2 resources by Name and ownership tags, IAM principals by ARN, and KMS
# keys by alias, CloudFormation stacks by name, and the account-wide settings
# a phase sets (each read as the module that sets it reads it). A phase's
# preflight reads all of them in one aws_context_info task;
# tagged_resource_info answers EC2 lookups the same way.

from __future__ import annotations

import json

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import ec2_tag_filters
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import tag_dict

from ansible_collections.amazon.aws.plugins.module_utils.arn import parse_aws_arn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_message
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

# type: (describe operation, result key, id key, whether it filters by vpc-id)
TAGGED_TYPES = {
    "vpc": ("describe_vpcs", "Vpcs", "VpcId", False),
    "subnet": ("describe_subnets", "Subnets", "SubnetId", True),
    "security_group": ("describe_security_groups", "SecurityGroups", "GroupId", True),
    "route_table": ("describe_route_tables", "RouteTables", "RouteTableId", True),
    "network_acl": ("describe_network_acls", "NetworkAcls", "NetworkAclId", True),
    "vpc_endpoint": ("describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId", True),
    "internet_gateway": ("describe_internet_gateways", "InternetGateways", "InternetGatewayId", False),
    "vpc_peering_connection": ("describe_vpc_peering_connections", "VpcPeeringConnections", "VpcPeeringConnectionId", False),
    "nat_gateway": ("describe_nat_gateways", "NatGateways", "NatGatewayId", True),
}

# Extra attributes worth returning, by type: (output key, boto3 key).
EXTRA_FIELDS = {
    "vpc": [("cidr_block", "CidrBlock"), ("state", "State"), ("tenancy", "InstanceTenancy")],
    "subnet": [("cidr_block", "CidrBlock"), ("availability_zone", "AvailabilityZone"), ("map_public_ip_on_launch", "MapPublicIpOnLaunch")],
    "security_group": [("group_name", "GroupName")],
    "vpc_endpoint": [("service_name", "ServiceName"), ("state", "State")],
}

ENDED_PEERING_STATES = ("deleted", "rejected", "failed", "expired")
# A deleted NAT gateway stays listed for about an hour, keeping its tags.
ENDED_NAT_GATEWAY_STATES = ("deleting", "deleted", "failed")


def summarize(resource_type, item):
    id_key = TAGGED_TYPES[resource_type][2]
    tags = tag_dict(item.get("Tags"))
    summary = {"type": resource_type, "id": item[id_key], "name": tags.get("Name"), "tags": tags}
    if "VpcId" in item:
        summary["vpc_id"] = item["VpcId"]
    for out_key, key in EXTRA_FIELDS.get(resource_type, []):
        if key in item:
            summary[out_key] = item[key]
    if resource_type == "internet_gateway":
        summary["attached_vpc_ids"] = [a["VpcId"] for a in item.get("Attachments", [])]
    if resource_type == "vpc_peering_connection":
        summary["status"] = item.get("Status", {}).get("Code")
        summary["requester_vpc_id"] = item.get("RequesterVpcInfo", {}).get("VpcId")
        summary["accepter_vpc_id"] = item.get("AccepterVpcInfo", {}).get("VpcId")
    if resource_type == "network_acl":
        # As describe_network_acls gives them: what amazon.aws.ec2_vpc_nacl compares.
        summary["entries"] = item.get("Entries", [])
        summary["subnet_ids"] = [a["SubnetId"] for a in item.get("Associations", []) if a.get("SubnetId")]
    if resource_type == "nat_gateway":
        summary["state"] = item.get("State")
        summary["subnet_id"] = item.get("SubnetId")
    return summary


def requested_names(module, resources):
    """{type: set of names} from the module's `resources` option, refusing unknown types."""
    wanted = {}
    for resource_type, names in (resources or {}).items():
        if resource_type not in TAGGED_TYPES:
            module.fail_json(msg=f"Unknown resource type {resource_type}; known: {', '.join(sorted(TAGGED_TYPES))}")
        if isinstance(names, str):
            names = [names]
        names = [str(name) for name in names or []]
        if names:
            wanted[resource_type] = names
    return wanted


def find_tagged(module, ec2, resources, ownership, vpc_id=None):
    """EC2 resources by Name, one describe call per type.

    Returns {resources, ids, missing, foreign}: those named and carrying every
    ownership tag by name, the names not found, and look-alikes whose
    ownership tags differ. Two owned resources with one name fail the module.
    """
    wanted = requested_names(module, resources)
    found, foreign, ambiguous = {}, [], []
    for resource_type, names in sorted(wanted.items()):
        operation, result_key, _id, by_vpc = TAGGED_TYPES[resource_type]
        filters = [{"Name": "tag:Name", "Values": sorted(set(names))}]
        if vpc_id and by_vpc:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        try:
            items = paginate(ec2, operation, result_key, Filters=filters)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to look up {resource_type} resources")
        for item in items:
            summary = summarize(resource_type, item)
            if summary["name"] not in names:
                continue
            if resource_type == "vpc_peering_connection" and summary["status"] in ENDED_PEERING_STATES:
                continue
            if resource_type == "nat_gateway" and summary["state"] in ENDED_NAT_GATEWAY_STATES:
                continue
            if any(summary["tags"].get(k) != v for k, v in ownership.items()):
                foreign.append(summary)
            elif summary["name"] in found:
                ambiguous.append(f"{resource_type} {summary['name']} ({found[summary['name']]['id']}, {summary['id']})")
            else:
                found[summary["name"]] = summary
    if ambiguous:
        module.fail_json(
            msg="More than one resource carries the same name and ownership tags: "
            + "; ".join(ambiguous)
            + ". Remove the duplicate or retag it before running again."
        )
    requested = [name for names in wanted.values() for name in names]
    return {
        "resources": found,
        "ids": {name: summary["id"] for name, summary in found.items()},
        "missing": [name for name in requested if name not in found],
        "foreign": foreign,
    }


def owned_vpc_ids(module, ec2, ownership):
    """Every VPC carrying all the ownership tags, whatever its name."""
    try:
        vpcs = paginate(ec2, "describe_vpcs", "Vpcs", Filters=ec2_tag_filters(ownership))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to list the toolkit's VPCs")
    return sorted(vpc["VpcId"] for vpc in vpcs)


def vpc_egress(module, ec2, vpc_id):
    """The internet gateways attached to a VPC and its live NAT gateways: its routes out."""
    try:
        gateways = paginate(ec2, "describe_internet_gateways", "InternetGateways",
                            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
        nat_gateways = paginate(ec2, "describe_nat_gateways", "NatGateways",
                                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "state", "Values": ["pending", "available"]}])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to list the gateways of {vpc_id}")
    return {
        "internet_gateway_ids": sorted(gateway["InternetGatewayId"] for gateway in gateways),
        "nat_gateways": [{"nat_gateway_id": nat["NatGatewayId"], "connectivity_type": nat.get("ConnectivityType", "public")}
                         for nat in nat_gateways],
    }


def default_nacls(module, ec2, vpc_ids):
    """By VPC ID, its default NACL: the ID, and how many rules it has each way besides the final deny."""
    if not vpc_ids:
        return {}
    try:
        nacls = paginate(ec2, "describe_network_acls", "NetworkAcls",
                         Filters=[{"Name": "vpc-id", "Values": sorted(vpc_ids)}, {"Name": "default", "Values": ["true"]}])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the VPCs' default NACLs")
    found = {}
    for nacl in nacls:
        # Rule 32767, the deny that ends each direction, cannot be removed (ec2_vpc_nacl_info omits it too).
        rules = [entry for entry in nacl.get("Entries", []) if entry["RuleNumber"] != 32767]
        found[nacl["VpcId"]] = {
            "nacl_id": nacl["NetworkAclId"],
            "ingress_rules": sum(1 for entry in rules if not entry["Egress"]),
            "egress_rules": sum(1 for entry in rules if entry["Egress"]),
        }
    return found


def live_vpc_endpoints(module, ec2, vpc_ids):
    """By VPC ID, the IDs of its endpoints that are pending or available, sorted."""
    if not vpc_ids:
        return {}
    try:
        endpoints = paginate(ec2, "describe_vpc_endpoints", "VpcEndpoints",
                             Filters=[{"Name": "vpc-id", "Values": sorted(vpc_ids)},
                                      {"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance", "pending", "available"]}])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to list the VPCs' endpoints")
    found = {vpc_id: [] for vpc_id in vpc_ids}
    for endpoint in endpoints:
        found.setdefault(endpoint["VpcId"], []).append(endpoint["VpcEndpointId"])
    return {vpc_id: sorted(ids) for vpc_id, ids in found.items()}


def images(module, ec2, owners, filters):
    """The AMIs matching the filters (and owned by one of the owners, when given), as ec2_ami_info names their fields."""
    kwargs = {"Filters": [{"Name": str(name), "Values": [str(v) for v in (value if isinstance(value, list) else [value])]}
                          for name, value in sorted(filters.items())]}
    if owners:
        kwargs["Owners"] = [str(owner) for owner in owners]
    try:
        found = ec2.describe_images(**kwargs)["Images"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to look up the image")
    return [{"image_id": image["ImageId"], "name": image.get("Name", ""), "creation_date": image.get("CreationDate", ""),
             "root_device_name": image.get("RootDeviceName", ""), "owner_id": image.get("OwnerId", "")}
            for image in found]


def key_pairs(module, ec2, names):
    """Of the named EC2 key pairs, those that exist: by name, their ID, fingerprint and tags (one call)."""
    try:
        # A filter, not KeyNames: a name that does not exist is then an empty answer, not an error.
        found = ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": list(names)}])["KeyPairs"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to look up the key pairs")
    return {pair["KeyName"]: {"key_pair_id": pair.get("KeyPairId", ""), "fingerprint": pair.get("KeyFingerprint", ""),
                              "tags": tag_dict(pair.get("Tags"))} for pair in found if pair["KeyName"] in names}


# ec2_vpcs' option: (DescribeVpcAttribute's Attribute, its answer's key and ModifyVpcAttribute's parameter).
VPC_DNS_ATTRIBUTES = {
    "dns_support": ("enableDnsSupport", "EnableDnsSupport"),
    "dns_hostnames": ("enableDnsHostnames", "EnableDnsHostnames"),
}


def vpc_dns_attributes(ec2, vpc_id):
    """A VPC's DNS support and DNS hostnames, as ec2_vpcs declares them (one DescribeVpcAttribute each)."""
    return {option: ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)[key]["Value"]
            for option, (attribute, key) in VPC_DNS_ATTRIBUTES.items()}


def log_group_arn(group):
    """A described log group's ARN as tagging takes it (DescribeLogGroups' arn ends in ':*')."""
    return group.get("logGroupArn") or group["arn"].removesuffix(":*")


def guardduty_settings(detector):
    """A GuardDuty detector's settings as guardduty_detector declares them."""
    s3 = ((detector.get("DataSources") or {}).get("S3Logs") or {}).get("Status")
    for feature in detector.get("Features") or []:
        if feature.get("Name") == "S3_DATA_EVENTS":
            s3 = feature.get("Status")
    return {"enabled": detector.get("Status") == "ENABLED", "s3_protection": s3 == "ENABLED",
            "finding_publishing_frequency": detector.get("FindingPublishingFrequency")}


def read_guardduty(guardduty):
    """(detector ID, its settings, its tags) of the region's detector; (None, None, None) when there is none."""
    ids = paginate(guardduty, "list_detectors", "DetectorIds")
    if not ids:
        return None, None, None
    detector = guardduty.get_detector(DetectorId=ids[0])
    return ids[0], guardduty_settings(detector), detector.get("Tags") or {}


def log_groups(module, logs, names, with_tags=False):
    """Of the named CloudWatch Logs groups, those that exist: by name, their ARN, key and retention (what
    log_groups sets), and with_tags, their tags."""
    found = {}
    for name in names:
        try:
            groups = paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=name)
            for group in groups:
                if group["logGroupName"] == name:
                    found[name] = {"arn": group.get("arn", ""), "kms_key_id": group.get("kmsKeyId"),
                                   "retention": group.get("retentionInDays")}
                    if with_tags:
                        found[name]["tags"] = logs.list_tags_for_resource(resourceArn=log_group_arn(group)).get("tags", {})
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to look up the log group {name}")
    return found


def stacks(module, cloudformation, names):
    """Of the named CloudFormation stacks, those that exist, in amazon.aws.cloudformation_info's shape
    (stack_description, stack_outputs, stack_parameters, stack_tags, stack_template), so that a task can
    take either's answer: by name, two reads each (DescribeStacks, GetTemplate)."""
    found = {}
    for name in names:
        try:
            described = cloudformation.describe_stacks(StackName=name)["Stacks"]
        except is_boto3_error_message("does not exist"):
            continue
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, f"Failed to read the stack {name}")
        for stack in described:
            try:
                template = cloudformation.get_template(StackName=name).get("TemplateBody")
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                fail_aws(module, e, f"Failed to read the template of the stack {name}")
            facts = {"stack_description": stack,
                     "stack_outputs": {o.get("OutputKey"): o.get("OutputValue") for o in stack.get("Outputs") or []},
                     "stack_parameters": {p.get("ParameterKey"): p.get("ParameterValue") for p in stack.get("Parameters") or []},
                     "stack_tags": boto3_tag_list_to_ansible_dict(stack.get("Tags") or []),
                     "stack_template": template}
            found[stack["StackName"]] = camel_dict_to_snake_dict(
                facts, ignore_list=("stack_outputs", "stack_parameters", "stack_tags", "stack_template"))
    return found


def split_arn(arn):
    """An ARN's partition, service, account and resource (amazon.aws's parse_aws_arn); None when it is no ARN."""
    parsed = parse_aws_arn(str(arn))
    if parsed is None:
        return None
    return {"partition": parsed["partition"], "service": parsed["service"], "account": parsed["account_id"],
            "resource": parsed["resource"]}


def _principal_arn(iam, kind, name):
    """The canonical ARN of an IAM role or user, or None when there is none."""
    try:
        if kind == "role":
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        return iam.get_user(UserName=name)["User"]["Arn"]
    except is_boto3_error_code("NoSuchEntity"):
        return None


def resolve_principal(module, iam, arn):
    """The canonical ARN of a role, user or account root ARN; None when it does not exist."""
    parsed = split_arn(arn)
    if parsed is None or parsed["service"] != "iam":
        module.fail_json(msg=f"'{arn}' is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>, :user/<name> or :root)")
    if "*" in arn or "?" in arn:
        module.fail_json(msg=f"'{arn}' is a pattern, not a principal")
    resource = parsed["resource"]
    if resource == "root":
        return arn
    kind, _, path_and_name = resource.partition("/")
    if kind not in ("role", "user") or not path_and_name:
        module.fail_json(msg=f"'{arn}' is neither an IAM role, an IAM user nor an account root")
    return _principal_arn(iam, kind, path_and_name.rsplit("/", 1)[-1])


def caller_principal(iam, caller_arn):
    """The IAM principal behind the caller: an assumed role's role, a federated user's user."""
    parsed = split_arn(caller_arn)
    if parsed and parsed["service"] == "sts" and parsed["resource"].startswith("assumed-role/"):
        role = parsed["resource"].split("/")[1]
        return _principal_arn(iam, "role", role) or f"arn:{parsed['partition']}:iam::{parsed['account']}:role/{role}"
    if parsed and parsed["service"] == "sts" and parsed["resource"].startswith("user/"):
        return f"arn:{parsed['partition']}:iam::{parsed['account']}:{parsed['resource']}"
    return caller_arn


def check_principals(module, iam, arns, caller_arn):
    """{principals, missing, caller_principal_arn} for the given role, user and root ARNs."""
    try:
        principals = []
        for arn in arns:
            canonical = resolve_principal(module, iam, arn)
            principals.append({"arn": arn, "exists": canonical is not None, "canonical_arn": canonical})
        caller = caller_principal(iam, caller_arn)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to look up IAM principals")
    return {
        "principals": principals,
        "missing": [p["arn"] for p in principals if not p["exists"]],
        "caller_principal_arn": caller,
    }


def alias_name(alias):
    """A KMS alias with its alias/ prefix, whether given with it or not."""
    return alias if alias.startswith("alias/") else f"alias/{alias}"


def keys_by_alias(module, kms, aliases, with_policy=False):
    """{alias: {key_arn, key_id, key_state}} for the aliases that name a key; one DescribeKey each, and with
    `with_policy` one GetKeyPolicy more for the key's policy (a dict)."""
    keys = {}
    for alias in aliases:
        name = alias_name(alias)
        try:
            metadata = kms.describe_key(KeyId=name)["KeyMetadata"]
        except is_boto3_error_code("NotFoundException"):
            continue
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            fail_aws(module, e, f"Failed to look up the key {name}")
        keys[alias] = {"key_arn": metadata["Arn"], "key_id": metadata["KeyId"], "key_state": metadata["KeyState"]}
        if with_policy:
            try:
                keys[alias]["policy"] = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"])
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                fail_aws(module, e, f"Failed to read the policy of the key {name}")
    return keys
