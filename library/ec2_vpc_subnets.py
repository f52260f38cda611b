#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_subnets
short_description: Make a VPC's subnets, found by CIDR, exactly as declared, in one task
description:
  - For each subnet, makes sure the VPC has a subnet with that CIDR block in that zone, with the
    declared public IPv4 setting and the declared tags (only those, unless O(purge_tags=false)).
  - One C(DescribeSubnets) call reads every subnet of the VPC with its tags.
  - Subnets are created tagged, so a run killed after the create leaves a subnet the next run finds
    by its CIDR, already carrying its name.
  - A subnet cannot move to another zone; one found in a zone other than declared is refused, before
    any change. A subnet with O(subnets[].state=absent) is deleted (EC2 refuses while anything, such as an
    instance or an endpoint's interface, is in it). Subnets not declared are left alone.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.ec2_vpc_subnet)? It takes one subnet per module run and reads it, with its
    tags, four or five times. Measured by bench/upstream.py (5 resources, a run that changes nothing,
    Ansible's linear strategy) - 5 module runs and 25 reads in 4.4 s in a loop; 1 run and 1 read in 1.5 s
    here.
options:
  vpc_id:
    description: The VPC.
    type: str
    required: true
  subnets:
    description: The subnets.
    type: list
    elements: dict
    required: true
    suboptions:
      cidr:
        description: The subnet's IPv4 CIDR block, inside the VPC's.
        type: str
        required: true
      az:
        description: The subnet's availability zone; required when present.
        type: str
      map_public:
        description: Whether instances launched in it get a public IPv4 address by default.
        type: bool
        default: false
      name:
        description: The subnet's C(Name) tag.
        type: str
      state:
        description: Whether the subnet exists.
        type: str
        choices: [present, absent]
        default: present
  tags:
    description: Tags every subnet carries, with its C(Name); other tags are removed, unless O(purge_tags=false).
    type: dict
    default: {}
  purge_tags:
    description:
      - Whether tags a subnet carries besides O(tags) and its C(Name) are removed. AWS's own C(aws:)
        tags never are.
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
- name: Two private subnets, no public IPv4 address on launch
  ec2_vpc_subnets:
    vpc_id: "{{ network_vpc_id }}"
    subnets:
      - {name: rna-seq-private-subnet-1, cidr: 10.0.1.0/24, az: us-east-1a}
      - {name: rna-seq-private-subnet-2, cidr: 10.0.2.0/24, az: us-east-1b}
    tags: {Project: rna-seq-hipaa, Environment: production}
"""

RETURN = r"""
subnets:
  description: The subnets in the order declared, each with its ID (an empty string for a subnet only planned in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {cidr: 10.0.1.0/24, az: us-east-1a, id: subnet-0123456789abcdef0}
changes:
  description: By CIDR, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    10.0.1.0/24: [created]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import sync_ec2_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.waiters import get_waiter


def subnet_state(subnet):
    """What the diff shows of a subnet."""
    return {"az": subnet["AvailabilityZone"], "map_public": subnet.get("MapPublicIpOnLaunch", False),
            "tags": tag_dict(subnet.get("Tags"))}


def converge(module, ec2, vpc_id, specs, found):
    check = module.check_mode
    results, changes, before, after, created = [], {}, {}, {}, []
    for spec in specs:
        cidr, subnet = spec["cidr"], found.get(spec["cidr"])
        if spec["state"] == "absent":
            before[cidr], after[cidr] = (subnet_state(subnet) if subnet else None), None
            if subnet is not None:
                changes[cidr] = ["deleted"]
                if not check:
                    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
            results.append({"cidr": cidr, "az": subnet["AvailabilityZone"] if subnet else spec["az"],
                            "id": subnet["SubnetId"] if subnet else ""})
            continue
        after[cidr] = {"az": spec["az"], "map_public": spec["map_public"], "tags": spec["tags"]}
        if subnet is None:
            changes[cidr], before[cidr] = ["created"], None
            subnet_id = ""
            if not check:
                params = {"VpcId": vpc_id, "CidrBlock": cidr, "AvailabilityZone": spec["az"]}
                if spec["tags"]:
                    params["TagSpecifications"] = [{"ResourceType": "subnet", "Tags": tag_list(spec["tags"])}]
                subnet_id = ec2.create_subnet(**params)["Subnet"]["SubnetId"]
                created.append(subnet_id)
                if spec["map_public"]:
                    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
            results.append({"cidr": cidr, "az": spec["az"], "id": subnet_id})
            continue
        subnet_id = subnet["SubnetId"]
        current = before[cidr] = subnet_state(subnet)
        results.append({"cidr": cidr, "az": current["az"], "id": subnet_id})
        if current["map_public"] != spec["map_public"]:
            changes.setdefault(cidr, []).append("map_public")
            if not check:
                ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": spec["map_public"]})
        purge = module.params["purge_tags"]
        if sync_ec2_tags(ec2, subnet_id, current["tags"], spec["tags"], check, purge_tags=purge):
            changes.setdefault(cidr, []).append("tags")
        after[cidr]["tags"] = purged_tags(current["tags"], spec["tags"], purge)[2]
    if created:
        # On AWS a new subnet may be unknown to the first reads (EC2 is
        # eventually consistent: amazon.aws's subnet_exists rides that out),
        # then pending for a moment; what follows (route table associations,
        # instances) needs it available.
        get_waiter(ec2, "subnet_exists").wait(SubnetIds=created)
        get_waiter(ec2, "subnet_available").wait(SubnetIds=created, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    return results, changes, before, after


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            subnets=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    cidr=dict(type="str", required=True),
                    az=dict(type="str"),
                    map_public=dict(type="bool", default=False),
                    name=dict(type="str"),
                    state=dict(type="str", choices=["present", "absent"], default="present"),
                ),
                required_if=[["state", "present", ["az"]]],
            ),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    vpc_id, specs = module.params["vpc_id"], module.params["subnets"]
    fail_on_repeated_names(module, [spec["cidr"] for spec in specs], "Subnet CIDRs")
    tags = {str(k): str(v) for k, v in module.params["tags"].items()}
    for spec in specs:
        spec["tags"] = {**tags, "Name": spec["name"]} if spec["name"] else tags
    ec2 = module.client("ec2")
    try:
        subnets = paginate(ec2, "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        found = {subnet["CidrBlock"]: subnet for subnet in subnets}
        moved = [f"{spec['cidr']} is in {found[spec['cidr']]['AvailabilityZone']}, not {spec['az']}"
                 for spec in specs if spec["state"] == "present" and spec["cidr"] in found
                 and found[spec["cidr"]]["AvailabilityZone"] != spec["az"]]
        if moved:
            module.fail_json(msg=f"A subnet cannot move to another zone, and nothing was changed: {'; '.join(moved)}. "
                                 "Declare the zone it is in, or delete the subnet first.")
        results, changes, before, after = converge(module, ec2, vpc_id, specs, found)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to converge the subnets of {vpc_id}")
    module.exit_json(changed=bool(changes), subnets=results, changes=changes, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
