#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpcs
short_description: Make VPCs, found by their Name and ownership tags, exactly as declared, in one task
description:
  - For each VPC, makes sure one VPC carries its C(Name) and every tag of O(match_tags), with the
    declared CIDR block, tenancy, DNS settings and the declared tags (only those, unless
    O(purge_tags=false)).
  - One C(DescribeVpcs) call finds every VPC of the task with its tags, and two
    C(DescribeVpcAttribute) calls a VPC read its DNS settings.
  - VPCs are created tagged, so a run killed after the create leaves a VPC the next run finds.
  - A VPC found with another CIDR block or tenancy, or two VPCs carrying the same tags, are refused
    before any change.
  - A VPC with O(vpcs[].state=absent) is deleted. EC2 refuses while the VPC holds anything but its
    defaults (subnets, gateways, endpoints); M(ec2_vpc_teardown) empties one first.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.ec2_vpc_net)? It reads a VPC, its tags and its attributes about ten times on a
    run that changes nothing (counted in its code), and takes one VPC per module run; here one
    C(DescribeVpcs) and two C(DescribeVpcAttribute) calls a VPC.
options:
  vpcs:
    description: The VPCs.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The VPC's C(Name) tag.
        type: str
        required: true
      cidr_block:
        description: The VPC's primary IPv4 CIDR block; required when present.
        type: str
      tenancy:
        description: The tenancy of instances launched in it.
        type: str
        choices: [default, dedicated]
        default: default
      dns_support:
        description: Whether the Amazon DNS server answers in the VPC.
        type: bool
        default: true
      dns_hostnames:
        description: Whether instances with public addresses get public DNS names.
        type: bool
        default: true
      state:
        description: Whether the VPC exists.
        type: str
        choices: [present, absent]
        default: present
  tags:
    description: Tags every VPC carries, with its C(Name); other tags are removed, unless O(purge_tags=false).
    type: dict
    default: {}
  purge_tags:
    description:
      - Whether tags a VPC carries besides O(tags) and its C(Name) are removed. AWS's own C(aws:) tags
        never are.
    type: bool
    default: true
  match_tags:
    description:
      - Tags, besides C(Name), a VPC must carry to be taken as the declared one (the ownership tags),
        so a same-named VPC of another environment is never adopted.
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
- name: The VPC without internet access, DNS support and hostnames on
  ec2_vpcs:
    vpcs:
      - {name: rna-seq-vpc, cidr_block: 10.0.0.0/16}
    tags: {Project: rna-seq-hipaa, Environment: production}
    match_tags: {Project: rna-seq-hipaa, Environment: production}
"""

RETURN = r"""
vpcs:
  description: By name, each VPC's ID (an empty string for a VPC only planned in check mode) and CIDR block.
  returned: always
  type: dict
  sample:
    rna-seq-vpc: {id: vpc-0123456789abcdef0, cidr_block: 10.0.0.0/16}
changes:
  description: By name, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    rna-seq-vpc: [dns_hostnames]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import by_name
from ansible.module_utils.toolkit_aws import ec2_tag_filters
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import sync_ec2_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list
from ansible.module_utils.toolkit_lookup import VPC_DNS_ATTRIBUTES
from ansible.module_utils.toolkit_lookup import vpc_dns_attributes

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.waiters import get_waiter

def find(module, ec2, specs):
    """{name: VPC} of the declared names carrying match_tags; refuses duplicates and CIDR or tenancy changes."""
    filters = ec2_tag_filters(module.params["match_tags"], [spec["name"] for spec in specs])
    found = by_name(paginate(ec2, "describe_vpcs", "Vpcs", Filters=filters))
    problems = []
    for spec in specs:
        vpcs = found.get(spec["name"], [])
        if len(vpcs) > 1:
            problems.append(f"{len(vpcs)} VPCs carry the tags of {spec['name']} ({', '.join(v['VpcId'] for v in vpcs)})")
        elif spec["state"] == "absent":
            continue
        elif vpcs and vpcs[0]["CidrBlock"] != spec["cidr_block"]:
            problems.append(f"{spec['name']} ({vpcs[0]['VpcId']}) has the CIDR block {vpcs[0]['CidrBlock']}, not {spec['cidr_block']}")
        elif vpcs and vpcs[0]["InstanceTenancy"] != spec["tenancy"]:
            problems.append(f"{spec['name']} ({vpcs[0]['VpcId']}) has {vpcs[0]['InstanceTenancy']} tenancy, not {spec['tenancy']}")
    if problems:
        module.fail_json(msg=f"Nothing was changed: {'; '.join(problems)}.")
    return {name: vpcs[0] for name, vpcs in found.items()}


def converge(module, ec2, spec, vpc, tags):
    """(result, changes, before, after) for one VPC."""
    check = module.check_mode
    if spec["state"] == "absent":
        if vpc is None:
            return {"id": "", "cidr_block": spec["cidr_block"]}, [], None, None
        if not check:
            ec2.delete_vpc(VpcId=vpc["VpcId"])
        return ({"id": vpc["VpcId"], "cidr_block": vpc["CidrBlock"]}, ["deleted"],
                {"cidr_block": vpc["CidrBlock"], "tenancy": vpc["InstanceTenancy"], "tags": tag_dict(vpc.get("Tags"))}, None)
    wanted = {"cidr_block": spec["cidr_block"], "tenancy": spec["tenancy"], "dns_support": spec["dns_support"],
              "dns_hostnames": spec["dns_hostnames"], "tags": tags}
    changes = []
    if vpc is None:
        changes.append("created")
        if check:
            return {"id": "", "cidr_block": spec["cidr_block"]}, changes, None, wanted
        vpc = ec2.create_vpc(CidrBlock=spec["cidr_block"], InstanceTenancy=spec["tenancy"],
                                    TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list(tags)}])["Vpc"]
        # EC2 is eventually consistent: a new VPC may be unknown to the first
        # reads. amazon.aws's vpc_exists rides that out; then it must be available.
        get_waiter(ec2, "vpc_exists").wait(VpcIds=[vpc["VpcId"]])
        get_waiter(ec2, "vpc_available").wait(VpcIds=[vpc["VpcId"]], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
        vpc["Tags"] = tag_list(tags)
    vpc_id = vpc["VpcId"]
    current = {"cidr_block": vpc["CidrBlock"], "tenancy": vpc["InstanceTenancy"], "tags": tag_dict(vpc.get("Tags")),
               **vpc_dns_attributes(ec2, vpc_id)}
    for option, (_attribute, parameter) in VPC_DNS_ATTRIBUTES.items():
        if current[option] != spec[option]:
            if "created" not in changes:
                changes.append(option)
            if not check:
                # One attribute per call: EC2 refuses both in one request.
                ec2.modify_vpc_attribute(VpcId=vpc_id, **{parameter: {"Value": spec[option]}})
    purge = module.params["purge_tags"]
    if sync_ec2_tags(ec2, vpc_id, current["tags"], tags, check, purge_tags=purge):
        changes.append("tags")  # never for a VPC just created: it was tagged in the create call
    wanted["tags"] = purged_tags(current["tags"], tags, purge)[2]
    before = None if changes[:1] == ["created"] else current
    return {"id": vpc_id, "cidr_block": vpc["CidrBlock"]}, changes, before, wanted


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpcs=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    cidr_block=dict(type="str"),
                    tenancy=dict(type="str", choices=["default", "dedicated"], default="default"),
                    dns_support=dict(type="bool", default=True),
                    dns_hostnames=dict(type="bool", default=True),
                    state=dict(type="str", choices=["present", "absent"], default="present"),
                ),
                required_if=[["state", "present", ["cidr_block"]]],
            ),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=True),
            match_tags=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    specs = module.params["vpcs"]
    fail_on_repeated_names(module, [spec["name"] for spec in specs], "VPCs")
    common = {str(k): str(v) for k, v in module.params["tags"].items()}
    ec2 = module.client("ec2")
    results, changes, before, after = {}, {}, {}, {}
    try:
        found = find(module, ec2, specs)
        for spec in specs:
            name = spec["name"]
            results[name], changed, before[name], after[name] = converge(module, ec2, spec, found.get(name), {**common, "Name": name})
            if changed:
                changes[name] = changed
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to converge the VPCs")
    module.exit_json(changed=bool(changes), vpcs=results, changes=changes, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
