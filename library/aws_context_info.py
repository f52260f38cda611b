#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_context_info
short_description: Read the account, region and regional facts a phase needs before it changes anything
description:
  - The preflight read every phase starts with. One task answers who the caller is, which
    availability zones the region offers, the CIDRs of AWS-managed prefix lists (such as S3's)
    and which VPC endpoint services exist in the region.
  - Fails with one readable line, and before any change, when credentials are missing or
    rejected, the endpoint cannot be reached, the region is unknown, or the caller's account
    is not the one the inventory names.
  - Read-only; safe in check mode.
options:
  expected_account_id:
    description:
      - The 12-digit account the inventory is written for. When set and the caller's account
        differs, the module fails.
    type: str
  prefix_list_services:
    description:
      - Short service names (for example V(s3), V(dynamodb)) whose AWS-managed prefix lists to
        return, with their CIDRs.
    type: list
    elements: str
    default: []
  endpoint_services:
    description:
      - Short service names (for example V(ecr.api), V(logs)) to look up as VPC endpoint
        services of the region. Names the region does not offer are returned in RV(missing_endpoint_services).
    type: list
    elements: str
    default: []
  allow_endpoint_url:
    description:
      - Whether a custom endpoint (an emulator) may answer. Inventories for real accounts set
        V(false), so a C(AWS_ENDPOINT_URL) left over from the local cloud fails the run
        instead of sending it to the emulator.
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
- name: Read the account and the regional facts of the network phase
  aws_context_info:
    expected_account_id: "{{ aws_account_id | default(omit) }}"
    prefix_list_services: [s3]
    endpoint_services: [ecr.api, ecr.dkr, logs, sts]
  register: network_context

- name: Use the S3 prefix list's CIDRs
  ansible.builtin.debug:
    msg: "{{ network_context.prefix_lists.s3.cidrs }}"
"""

RETURN = r"""
account_id:
  description: The caller's account.
  returned: always
  type: str
  sample: "123456789012"
caller_arn:
  description: The caller's ARN.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:user/alice
partition:
  description: The caller's partition.
  returned: always
  type: str
  sample: aws
region:
  description: The region the module talked to.
  returned: always
  type: str
  sample: us-east-1
endpoint_url:
  description: The custom endpoint in use (an emulator), or null for AWS itself.
  returned: always
  type: str
  sample: http://127.0.0.1:5500
availability_zones:
  description: Names of the region's available zones that need no opt-in, sorted.
  returned: always
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
prefix_lists:
  description: For each requested service, its AWS-managed prefix list.
  returned: always
  type: dict
  sample:
    s3:
      id: pl-63a5400a
      name: com.amazonaws.us-east-1.s3
      cidrs: [3.5.0.0/19, 52.216.0.0/15, 54.231.0.0/16]
endpoint_services:
  description: For each requested short name the region offers, its service name and endpoint types.
  returned: always
  type: dict
  sample:
    ecr.api:
      service_name: com.amazonaws.us-east-1.ecr.api
      types: [Interface]
missing_endpoint_services:
  description: Requested short names the region does not offer as endpoint services.
  returned: always
  type: list
  elements: str
  sample: []
"""

try:
    import boto3
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import RETRY
from ansible.module_utils.toolkit_aws import endpoint_in_use
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def check_region_known(module):
    """Against AWS itself, refuse a region botocore has never heard of.

    An emulator answers for any region, so there the check is skipped.
    """
    region = module.region
    if not region:
        module.fail_json(msg="No AWS region set: set toolkit_aws_region in the inventory (or AWS_REGION).")
    if endpoint_in_use(module):
        return
    session = boto3.session.Session()
    known = set()
    for partition in session.get_available_partitions():
        known.update(session.get_available_regions("ec2", partition_name=partition))
    if region not in known:
        module.fail_json(msg=f"Unknown AWS region '{region}'. Check toolkit_aws_region in the inventory.")


def caller_identity(module):
    # The first call doubles as the connectivity probe: an unreachable endpoint
    # or missing credentials should fail in seconds, not after the ten
    # backed-off attempts the inventory's retry settings allow for the rest.
    sts = module.client("sts", aws_config={"retries": {"mode": "standard", "max_attempts": 2}, "connect_timeout": 5})
    try:
        identity = RETRY(sts.get_caller_identity)()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the caller identity")
    return identity


def availability_zones(module, ec2):
    try:
        zones = RETRY(ec2.describe_availability_zones)(
            Filters=[
                {"Name": "state", "Values": ["available"]},
                {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
            ]
        )["AvailabilityZones"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to list the region's availability zones")
    return sorted(zone["ZoneName"] for zone in zones if zone.get("ZoneType", "availability-zone") == "availability-zone")


def prefix_lists(module, ec2, services):
    result = {}
    if not services:
        return result
    names = {f"com.amazonaws.{module.region}.{service}": service for service in services}
    try:
        lists = paginate(
            ec2,
            "describe_managed_prefix_lists",
            "PrefixLists",
            Filters=[{"Name": "prefix-list-name", "Values": sorted(names)}],
        )
        for prefix_list in lists:
            service = names.get(prefix_list["PrefixListName"])
            if service is None or prefix_list.get("OwnerId") not in ("AWS", None):
                continue
            entries = paginate(ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=prefix_list["PrefixListId"])
            result[service] = {
                "id": prefix_list["PrefixListId"],
                "name": prefix_list["PrefixListName"],
                "cidrs": sorted(entry["Cidr"] for entry in entries),
            }
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the AWS-managed prefix lists")
    missing = sorted(set(services) - set(result))
    if missing:
        module.fail_json(msg=f"Region {module.region} has no AWS-managed prefix list for: {', '.join(missing)}")
    return result


def endpoint_services(module, ec2, services):
    found = {}
    if not services:
        return found, []
    names = {f"com.amazonaws.{module.region}.{service}": service for service in services}
    try:
        try:
            details = paginate(ec2, "describe_vpc_endpoint_services", "ServiceDetails", ServiceNames=sorted(names))
        except botocore.exceptions.ClientError as e:
            # AWS refuses the whole call when one name is unknown; only then
            # list every service of the region to tell which names are missing.
            if e.response.get("Error", {}).get("Code") != "InvalidServiceName":
                raise
            details = paginate(ec2, "describe_vpc_endpoint_services", "ServiceDetails")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to list the region's VPC endpoint services")
    for detail in details:
        service = names.get(detail["ServiceName"])
        if service is None:
            continue
        entry = found.setdefault(service, {"service_name": detail["ServiceName"], "types": []})
        for service_type in detail.get("ServiceType", []):
            if service_type["ServiceType"] not in entry["types"]:
                entry["types"].append(service_type["ServiceType"])
    for entry in found.values():
        entry["types"].sort()
    return found, sorted(set(services) - set(found))


def main():
    argument_spec = dict(
        expected_account_id=dict(type="str"),
        prefix_list_services=dict(type="list", elements="str", default=[]),
        endpoint_services=dict(type="list", elements="str", default=[]),
        allow_endpoint_url=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    endpoint = endpoint_in_use(module)
    if endpoint and not module.params["allow_endpoint_url"]:
        module.fail_json(
            msg=f"A custom AWS endpoint is set ({endpoint}) but this inventory targets a real AWS account. "
            "Unset AWS_ENDPOINT_URL (it is left over from scripts/local-cloud) and run again."
        )

    check_region_known(module)
    identity = caller_identity(module)
    account_id = identity["Account"]
    expected = module.params["expected_account_id"]
    if expected and str(expected) != account_id:
        module.fail_json(
            msg=f"Wrong AWS account: the caller is in {account_id} but the inventory is for {expected}. "
            "Nothing was changed. Switch credentials (AWS_PROFILE) or use the matching inventory."
        )

    ec2 = module.client("ec2")
    zones = availability_zones(module, ec2)
    lists = prefix_lists(module, ec2, module.params["prefix_list_services"])
    services, missing = endpoint_services(module, ec2, module.params["endpoint_services"])

    module.exit_json(
        changed=False,
        account_id=account_id,
        caller_arn=identity["Arn"],
        partition=identity["Arn"].split(":")[1],
        region=module.region,
        endpoint_url=endpoint_in_use(module),
        availability_zones=zones,
        prefix_lists=lists,
        endpoint_services=services,
        missing_endpoint_services=missing,
    )


if __name__ == "__main__":
    main()
