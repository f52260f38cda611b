#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_teardown
short_description: Delete VPCs with everything inside them, in the order EC2 requires
description:
  - Deletes each given VPC after what it holds, in the order EC2 accepts. Flow logs, VPC endpoints (waiting
    until they are gone), NAT gateways (waiting, then releasing their Elastic IPs), peering connections,
    internet gateways (detached first), the rules of its security groups (so groups that refer to each other
    can go) and the groups, subnets, route tables, network ACLs, and the VPC.
  - Refuses, before deleting anything, a VPC that still has instances, which belong to a phase that must
    be torn down first. In check mode it warns instead, since a plan's earlier steps would remove them.
  - A VPC that does not exist is skipped, so a run that was interrupted can be run again.
  - Supports check mode, reporting what it would delete.
notes:
  - Departs from the list contract (docs/modules.md) by design - it only deletes (a VPC and what is left in
    it), so a C(state) would have one value.
options:
  vpc_ids:
    description: The VPCs to delete.
    type: list
    elements: str
    required: true
  wait_timeout:
    description: Seconds to wait for endpoints and NAT gateways to finish deleting.
    type: int
    default: 600
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Delete the management and production VPCs with their contents
  ec2_vpc_teardown:
    vpc_ids: [vpc-0abc, vpc-0def]
"""

RETURN = r"""
deleted:
  description: For each VPC, the IDs of what was deleted (or would be, in check mode), the VPC last.
  returned: always
  type: dict
  sample: {vpc-0abc: [fl-0abc, vpce-0abc, igw-0abc, sg-0abc, subnet-0abc, rtb-0abc, acl-0abc, vpc-0abc]}
"""

import time

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import warn

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

GONE_ENDPOINT = {"deleted", "deleting", "failed", "rejected", "expired"}
GONE_NAT = {"deleted", "deleting", "failed"}
GONE_PEERING = {"deleted", "deleting", "rejected", "failed", "expired"}

# Deletions that race AWS's own clean-up (an endpoint's or a NAT gateway's
# network interfaces) answer DependencyViolation for a while: retry those.
RETRY_DEPENDENCY = AWSRetry.jittered_backoff(retries=10, delay=2, max_delay=30, catch_extra_error_codes=["DependencyViolation"])


def vpc_filter(vpc_id, name="vpc-id"):
    return [{"Name": name, "Values": [vpc_id]}]


def inventory(ec2, vpc_id):
    """Everything in the VPC, in deletion order."""
    found = {
        "flow_logs": [f["FlowLogId"] for f in paginate(ec2, "describe_flow_logs", "FlowLogs", Filters=vpc_filter(vpc_id, "resource-id"))],
        "endpoints": [e["VpcEndpointId"] for e in paginate(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=vpc_filter(vpc_id))
                      if e["State"].lower() not in GONE_ENDPOINT],
        "nat_gateways": [n for n in paginate(ec2, "describe_nat_gateways", "NatGateways", Filter=vpc_filter(vpc_id))
                         if n["State"] not in GONE_NAT],
        "peerings": [],
        "internet_gateways": [g["InternetGatewayId"] for g in paginate(
            ec2, "describe_internet_gateways", "InternetGateways", Filters=vpc_filter(vpc_id, "attachment.vpc-id"))],
        "security_groups": [g for g in paginate(ec2, "describe_security_groups", "SecurityGroups", Filters=vpc_filter(vpc_id))
                            if g["GroupName"] != "default"],
        "subnets": [s["SubnetId"] for s in paginate(ec2, "describe_subnets", "Subnets", Filters=vpc_filter(vpc_id))],
        "route_tables": [t for t in paginate(ec2, "describe_route_tables", "RouteTables", Filters=vpc_filter(vpc_id))
                         if not any(a.get("Main") for a in t.get("Associations", []))],
        "network_acls": [],
        "default_network_acl": None,
    }
    for acl in paginate(ec2, "describe_network_acls", "NetworkAcls", Filters=vpc_filter(vpc_id)):
        if acl.get("IsDefault"):
            found["default_network_acl"] = acl["NetworkAclId"]
        else:
            found["network_acls"].append(acl)
    for side in ("requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"):
        for peering in paginate(ec2, "describe_vpc_peering_connections", "VpcPeeringConnections", Filters=vpc_filter(vpc_id, side)):
            if peering["Status"]["Code"] not in GONE_PEERING and peering["VpcPeeringConnectionId"] not in found["peerings"]:
                found["peerings"].append(peering["VpcPeeringConnectionId"])
    return found


def running_instances(ec2, vpc_id):
    """Instances still in the VPC: they belong to a phase torn down earlier."""
    reservations = paginate(ec2, "describe_instances", "Reservations", Filters=vpc_filter(vpc_id) + [
        {"Name": "instance-state-name", "Values": ["pending", "running", "shutting-down", "stopping", "stopped"]}])
    return [i["InstanceId"] for r in reservations for i in r["Instances"]]


def wait_until_gone(module, describe, what):
    deadline = time.monotonic() + module.params["wait_timeout"]
    while True:
        remaining = describe()
        if not remaining:
            return
        if time.monotonic() > deadline:
            module.fail_json(msg=f"Timed out waiting for {what} to be deleted: {', '.join(remaining)}")
        time.sleep(5)


def endpoints_remaining(ec2, ids):
    """The given endpoints that are not deleted yet."""
    try:
        endpoints = paginate(ec2, "describe_vpc_endpoints", "VpcEndpoints", VpcEndpointIds=ids)
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] in ("InvalidVpcEndpointId.NotFound", "InvalidVpcEndpoint.NotFound"):
            return []
        raise
    return [e["VpcEndpointId"] for e in endpoints if e["State"].lower() not in ("deleted", "failed")]


def delete_contents(module, ec2, vpc_id, found):
    if found["flow_logs"]:
        ec2.delete_flow_logs(FlowLogIds=found["flow_logs"])
    if found["endpoints"]:
        ec2.delete_vpc_endpoints(VpcEndpointIds=found["endpoints"])
        wait_until_gone(module, lambda: endpoints_remaining(ec2, found["endpoints"]), "VPC endpoints")
    for nat in found["nat_gateways"]:
        ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    if found["nat_gateways"]:
        ids = [n["NatGatewayId"] for n in found["nat_gateways"]]
        wait_until_gone(module, lambda: [n["NatGatewayId"] for n in paginate(
            ec2, "describe_nat_gateways", "NatGateways", NatGatewayIds=ids) if n["State"] != "deleted"], "NAT gateways")
        for nat in found["nat_gateways"]:
            for address in nat.get("NatGatewayAddresses", []):
                if address.get("AllocationId"):
                    ec2.release_address(AllocationId=address["AllocationId"])
    for peering_id in found["peerings"]:
        ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
    for gateway_id in found["internet_gateways"]:
        ec2.detach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
        ec2.delete_internet_gateway(InternetGatewayId=gateway_id)
    # Groups may refer to each other: empty them all before deleting any.
    for group in found["security_groups"]:
        if group.get("IpPermissions"):
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
        if group.get("IpPermissionsEgress"):
            ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    for group in found["security_groups"]:
        RETRY_DEPENDENCY(ec2.delete_security_group)(GroupId=group["GroupId"])
    for table in found["route_tables"]:
        for association in table.get("Associations", []):
            ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    # A subnet always has a NACL: hand ours back to the default before both go.
    for acl in found["network_acls"]:
        for association in acl.get("Associations", []):
            ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"],
                                                       NetworkAclId=found["default_network_acl"])
    for subnet_id in found["subnets"]:
        RETRY_DEPENDENCY(ec2.delete_subnet)(SubnetId=subnet_id)
    for table in found["route_tables"]:
        RETRY_DEPENDENCY(ec2.delete_route_table)(RouteTableId=table["RouteTableId"])
    for acl in found["network_acls"]:
        RETRY_DEPENDENCY(ec2.delete_network_acl)(NetworkAclId=acl["NetworkAclId"])
    RETRY_DEPENDENCY(ec2.delete_vpc)(VpcId=vpc_id)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_ids=dict(type="list", elements="str", required=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    ec2 = module.client("ec2")
    plans = {}
    try:
        existing = [v["VpcId"] for v in paginate(ec2, "describe_vpcs", "Vpcs", Filters=[
            {"Name": "vpc-id", "Values": module.params["vpc_ids"]}])] if module.params["vpc_ids"] else []
        problems = []
        for vpc_id in existing:
            plans[vpc_id] = inventory(ec2, vpc_id)
            instances = running_instances(ec2, vpc_id)
            if instances:
                problems.append(f"{vpc_id} still has instances {', '.join(instances)}")
        if problems and module.check_mode:
            # A plan of the whole teardown: the earlier steps would have
            # terminated these instances by now.
            warn(module, "A real run deletes these VPCs only once their instances are gone: " + " | ".join(problems))
        elif problems:
            module.fail_json(msg="Nothing was deleted: tear down what uses these VPCs first. " + " | ".join(problems))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the VPCs to delete")

    deleted = {}
    for vpc_id, found in plans.items():
        deleted[vpc_id] = (found["flow_logs"] + found["endpoints"] + [n["NatGatewayId"] for n in found["nat_gateways"]]
                           + found["peerings"] + found["internet_gateways"] + [g["GroupId"] for g in found["security_groups"]]
                           + found["subnets"] + [t["RouteTableId"] for t in found["route_tables"]] + [a["NetworkAclId"] for a in found["network_acls"]] + [vpc_id])
        if module.check_mode:
            continue
        try:
            delete_contents(module, ec2, vpc_id, found)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, f"Failed to delete {vpc_id} and its contents")
    module.exit_json(changed=bool(plans), deleted=deleted, diff={"before": {"vpcs": sorted(plans)}, "after": {"vpcs": []}})


if __name__ == "__main__":
    main()
