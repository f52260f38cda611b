#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_tagged_resources
short_description: Make sure named EC2 resources exist, each created together with its tags
description:
  - Finds each requested resource by its C(Name) tag and the ownership tags, and creates the missing
    ones with every tag in the create call itself (C(TagSpecifications)).
  - One describe call per resource type requested, and one create call per missing resource.
  - What it creates it waits for until EC2 finds it by its ID, since EC2's API is eventually consistent
    and the task after this one reads it by ID. It waits with amazon.aws's C(route_table_exists) and
    C(internet_gateway_exists) waiters, and with one of the same shape for NACLs, which amazon.aws lacks.
notes:
  - Why not M(amazon.aws.ec2_vpc_igw), M(amazon.aws.ec2_vpc_route_table) and M(amazon.aws.ec2_vpc_nacl)
    alone? Since amazon.aws 10 (10.1.2 is installed) all three create with their tags in the create
    call, so the reason this module was written for, an untagged resource left by a run killed between
    create and tag, is gone. What remains - M(amazon.aws.ec2_vpc_igw) finds a gateway by its VPC
    attachment, so a gateway made by a run killed before the attach is not found again and a second one
    is made, where this module finds it by its tags; the toolkit's M(ec2_route_tables) converges route
    tables by ID and creates none. For a NACL, M(amazon.aws.ec2_vpc_nacl) alone would do; the network
    and access phases still create theirs here, found by the ownership tags as the phases' other
    resources are.
  - Departs from the list contract (docs/modules.md) by design - it only creates, tagged in the create call;
    the module that manages each resource sets its tags and deletes it, so its ownership tags are its tags.
options:
  resources:
    description: The resources to make sure of.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description: The resource type.
        type: str
        required: true
        choices: [network_acl, route_table, internet_gateway]
      name:
        description: Its C(Name) tag.
        type: str
        required: true
      vpc_id:
        description: The VPC it belongs to; required for V(network_acl) and V(route_table).
        type: str
  tags:
    description:
      - Tags every resource is created with, besides its C(Name). A resource is found only when it carries
        all of them.
      - Changing tags of existing resources is left to the module that manages the resource.
    type: dict
    default: {}
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Make sure the private NACL exists, tagged from its first moment
  ec2_tagged_resources:
    tags: {Project: rna-seq-hipaa, Environment: production}
    resources:
      - {type: network_acl, name: rna-seq-private-nacl, vpc_id: vpc-0123456789abcdef0}
  register: created

- name: Manage its rules by ID
  amazon.aws.ec2_vpc_nacl:
    nacl_id: "{{ created.ids['rna-seq-private-nacl'] }}"
    vpc_id: vpc-0123456789abcdef0
"""

RETURN = r"""
changes:
  description:
    - By item, what was (or in check mode would be) changed - created, deleted, or the settings that
      differed. Items left as they were are not listed. Every list module returns it.
  returned: always
  type: dict
  sample: {rna-seq-private-nacl: [created]}
ids:
  description: Name to ID of every requested resource (empty in check mode for one that would be created).
  returned: always
  type: dict
  sample: {rna-seq-private-nacl: acl-0123456789abcdef0}
created:
  description: The names of the resources created (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [rna-seq-private-nacl]
"""

try:
    import botocore.exceptions
    import botocore.waiter
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import by_name
from ansible.module_utils.toolkit_aws import ec2_tag_filters
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.waiters import get_waiter

# type: (describe operation, result key, id key, tag specification resource type)
RESOURCE_TYPES = {
    "network_acl": ("describe_network_acls", "NetworkAcls", "NetworkAclId", "network-acl"),
    "route_table": ("describe_route_tables", "RouteTables", "RouteTableId", "route-table"),
    "internet_gateway": ("describe_internet_gateways", "InternetGateways", "InternetGatewayId", "internet-gateway"),
}
IN_A_VPC = {"network_acl", "route_table"}
# The waiter until a new resource is found by its ID: amazon.aws's where it has one.
EXISTS = {"route_table": ("route_table_exists", "RouteTableIds"),
          "internet_gateway": ("internet_gateway_exists", "InternetGatewayIds"),
          "network_acl": (None, "NetworkAclIds")}
NETWORK_ACL_EXISTS = {"version": 2, "waiters": {"NetworkAclExists": {
    "operation": "DescribeNetworkAcls", "delay": 2, "maxAttempts": 30,
    "acceptors": [{"matcher": "path", "expected": True, "argument": "length(NetworkAcls[]) > `0`", "state": "success"},
                  {"matcher": "error", "expected": "InvalidNetworkAclID.NotFound", "state": "retry"}]}}}


def find(module, ec2, resource_type, names, ownership):
    """{name: [resource, ...]} of the toolkit's resources of one type with the given names."""
    operation, result_key, _id_key, _spec = RESOURCE_TYPES[resource_type]
    try:
        return by_name(paginate(ec2, operation, result_key, Filters=ec2_tag_filters(ownership, names)))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to look up {resource_type} resources")


def create(module, ec2, resource, tags):
    _op, _key, id_key, spec_type = RESOURCE_TYPES[resource["type"]]
    tag_spec = [{"ResourceType": spec_type, "Tags": tag_list(tags)}]
    try:
        if resource["type"] == "network_acl":
            return ec2.create_network_acl(VpcId=resource["vpc_id"], TagSpecifications=tag_spec)["NetworkAcl"][id_key]
        if resource["type"] == "route_table":
            return ec2.create_route_table(VpcId=resource["vpc_id"], TagSpecifications=tag_spec)["RouteTable"][id_key]
        return ec2.create_internet_gateway(TagSpecifications=tag_spec)["InternetGateway"][id_key]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to create {resource['type']} {resource['name']}")


def wait_until_found(module, ec2, new_ids):
    """Wait until EC2 finds each new resource by its ID: one waiter per type."""
    for resource_type, ids in sorted(new_ids.items()):
        name, parameter = EXISTS[resource_type]
        if name:
            waiter = get_waiter(ec2, name)
        else:
            waiter = botocore.waiter.create_waiter_with_client(
                "NetworkAclExists", botocore.waiter.WaiterModel(NETWORK_ACL_EXISTS), ec2)
        try:
            waiter.wait(**{parameter: sorted(ids)})
        except botocore.exceptions.WaiterError as e:
            fail_aws(module, e, f"EC2 did not find the new {resource_type} {', '.join(sorted(ids))}")


def main():
    argument_spec = dict(
        resources=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(
                type=dict(type="str", required=True, choices=sorted(RESOURCE_TYPES)),
                name=dict(type="str", required=True),
                vpc_id=dict(type="str"),
            ),
        ),
        tags=dict(type="dict", default={}),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ownership = {str(k): str(v) for k, v in module.params["tags"].items() if k != "Name"}
    resources = module.params["resources"]
    for resource in resources:
        if resource["type"] in IN_A_VPC and not resource["vpc_id"]:
            module.fail_json(msg=f"{resource['type']} {resource['name']} needs vpc_id")

    ec2 = module.client("ec2")
    by_type = {}
    for resource in resources:
        by_type.setdefault(resource["type"], set()).add(resource["name"])
    found = {resource_type: find(module, ec2, resource_type, names, ownership) for resource_type, names in sorted(by_type.items())}

    ids, created, new_ids = {}, [], {}
    for resource in resources:
        _op, _key, id_key, _spec = RESOURCE_TYPES[resource["type"]]
        matches = [item for item in found[resource["type"]].get(resource["name"], [])
                   if resource["type"] not in IN_A_VPC or item["VpcId"] == resource["vpc_id"]]
        if len(matches) > 1:
            module.fail_json(
                msg=f"More than one {resource['type']} carries the name {resource['name']} and the ownership tags "
                f"({', '.join(item[id_key] for item in matches)}). Remove the duplicate or retag it before running again."
            )
        if matches:
            ids[resource["name"]] = matches[0][id_key]
            continue
        created.append(resource["name"])
        ids[resource["name"]] = "" if module.check_mode else create(module, ec2, resource, dict(ownership, Name=resource["name"]))
        if ids[resource["name"]]:
            new_ids.setdefault(resource["type"], []).append(ids[resource["name"]])
    wait_until_found(module, ec2, new_ids)

    module.exit_json(changed=bool(created), ids=ids, created=created, changes={name: ["created"] for name in created})


if __name__ == "__main__":
    main()
