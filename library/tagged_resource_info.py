#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tagged_resource_info
short_description: Find the toolkit's EC2 and VPC resources by Name and ownership tags
description:
  - The one lookup every phase uses to find what earlier phases made, so no phase needs IDs
    pasted by hand.
  - A resource is the toolkit's when its C(Name) tag is the requested name and it carries every
    ownership tag in O(tags) (project and environment). Resources with the requested name but other
    ownership tags are returned separately in RV(foreign), so a playbook can refuse to adopt them.
  - One describe call per resource type, whatever the number of names.
  - Read-only; safe in check mode.
options:
  resources:
    description:
      - What to find, as a mapping of resource type to the C(Name) tags to find of that type.
      - Types are V(vpc), V(subnet), V(security_group), V(route_table), V(network_acl), V(vpc_endpoint),
        V(internet_gateway) and V(vpc_peering_connection).
      - Names are unique across types within one call.
    type: dict
    required: true
  tags:
    description: Ownership tags every match must carry (for example C(Project) and C(Environment)).
    type: dict
    default: {}
  vpc_id:
    description: Only look inside this VPC (ignored for O(resources.type=vpc)).
    type: str
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the production VPC and its subnets made by the network phase
  tagged_resource_info:
    tags:
      Project: rna-seq-hipaa
      Environment: production
    resources:
      vpc: [rna-seq-hipaa-vpc]
      subnet: [rna-seq-private-subnet-az1, rna-seq-private-subnet-az2]
      security_group: [rna-seq-compute-sg]
  register: batch_network

- name: Use the compute security group's id
  ansible.builtin.debug:
    msg: "{{ batch_network.resources['rna-seq-compute-sg'].id }}"
"""

RETURN = r"""
resources:
  description: The toolkit's resources found, keyed by name.
  returned: always
  type: dict
  sample:
    rna-seq-hipaa-vpc:
      type: vpc
      id: vpc-0123456789abcdef0
      vpc_id: vpc-0123456789abcdef0
      cidr_block: 10.0.0.0/16
      tags: {Name: rna-seq-hipaa-vpc, Project: rna-seq-hipaa, Environment: production}
    rna-seq-private-subnet-az1:
      type: subnet
      id: subnet-0123456789abcdef0
      vpc_id: vpc-0123456789abcdef0
      cidr_block: 10.0.0.0/20
      availability_zone: us-east-1a
      tags: {Name: rna-seq-private-subnet-az1}
ids:
  description: The same, name to id only.
  returned: always
  type: dict
  sample: {rna-seq-hipaa-vpc: vpc-0123456789abcdef0}
missing:
  description: Requested names with no match among the toolkit's resources.
  returned: always
  type: list
  elements: str
  sample: [rna-seq-compute-sg]
foreign:
  description: Resources with a requested name whose ownership tags differ (another project or environment).
  returned: always
  type: list
  elements: dict
  sample: [{type: vpc, name: rna-seq-hipaa-vpc, id: vpc-0fedcba9876543210, tags: {Environment: validation}}]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import tag_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# type: (describe operation, result key, id key, whether it filters by vpc-id)
RESOURCE_TYPES = {
    "vpc": ("describe_vpcs", "Vpcs", "VpcId", False),
    "subnet": ("describe_subnets", "Subnets", "SubnetId", True),
    "security_group": ("describe_security_groups", "SecurityGroups", "GroupId", True),
    "route_table": ("describe_route_tables", "RouteTables", "RouteTableId", True),
    "network_acl": ("describe_network_acls", "NetworkAcls", "NetworkAclId", True),
    "vpc_endpoint": ("describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId", True),
    "internet_gateway": ("describe_internet_gateways", "InternetGateways", "InternetGatewayId", False),
    "vpc_peering_connection": ("describe_vpc_peering_connections", "VpcPeeringConnections", "VpcPeeringConnectionId", False),
}

# Extra attributes worth returning, by type: (output key, boto3 key).
EXTRA_FIELDS = {
    "vpc": [("cidr_block", "CidrBlock"), ("state", "State")],
    "subnet": [("cidr_block", "CidrBlock"), ("availability_zone", "AvailabilityZone")],
    "security_group": [("group_name", "GroupName")],
    "vpc_endpoint": [("service_name", "ServiceName"), ("state", "State")],
    "vpc_peering_connection": [("status", "Status")],
}


def summarize(resource_type, item):
    _op, _key, id_key, _vpc = RESOURCE_TYPES[resource_type]
    tags = tag_dict(item.get("Tags"))
    summary = {"type": resource_type, "id": item[id_key], "name": tags.get("Name"), "tags": tags}
    if "VpcId" in item:
        summary["vpc_id"] = item["VpcId"]
    elif resource_type == "vpc":
        summary["vpc_id"] = item["VpcId"]
    for out_key, key in EXTRA_FIELDS.get(resource_type, []):
        if key in item:
            summary[out_key] = item[key]
    if resource_type == "internet_gateway":
        summary["attached_vpc_ids"] = [a["VpcId"] for a in item.get("Attachments", [])]
    if resource_type == "vpc_peering_connection":
        summary["status"] = item.get("Status", {}).get("Code")
    return summary


def find(module, ec2, resource_type, names, vpc_id):
    operation, result_key, _id, by_vpc = RESOURCE_TYPES[resource_type]
    filters = [{"Name": "tag:Name", "Values": sorted(names)}]
    if vpc_id and by_vpc:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    try:
        return paginate(ec2, operation, result_key, Filters=filters)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to look up {resource_type} resources")


def main():
    argument_spec = dict(
        resources=dict(type="dict", required=True),
        tags=dict(type="dict", default={}),
        vpc_id=dict(type="str"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ownership = {str(k): str(v) for k, v in module.params["tags"].items()}

    wanted, requested = {}, []
    for resource_type, names in module.params["resources"].items():
        if resource_type not in RESOURCE_TYPES:
            module.fail_json(msg=f"Unknown resource type {resource_type}; known: {', '.join(sorted(RESOURCE_TYPES))}")
        if isinstance(names, str):
            names = [names]
        names = [str(name) for name in names or []]
        if names:
            wanted[resource_type] = set(names)
            requested.extend(names)

    ec2 = module.client("ec2")
    resources, foreign, ambiguous = {}, [], []
    for resource_type, names in sorted(wanted.items()):
        for item in find(module, ec2, resource_type, names, module.params["vpc_id"]):
            summary = summarize(resource_type, item)
            if summary["name"] not in names:
                continue
            if resource_type == "vpc_peering_connection" and summary["status"] in ("deleted", "rejected", "failed", "expired"):
                continue
            if any(summary["tags"].get(k) != v for k, v in ownership.items()):
                foreign.append(summary)
            elif summary["name"] in resources:
                ambiguous.append(f"{resource_type} {summary['name']} ({resources[summary['name']]['id']}, {summary['id']})")
            else:
                resources[summary["name"]] = summary
    if ambiguous:
        module.fail_json(
            msg="More than one resource carries the same name and ownership tags: "
            + "; ".join(ambiguous)
            + ". Remove the duplicate or retag it before running again."
        )

    module.exit_json(
        changed=False,
        resources=resources,
        ids={name: summary["id"] for name, summary in resources.items()},
        missing=[name for name in requested if name not in resources],
        foreign=foreign,
    )


if __name__ == "__main__":
    main()
