#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_route_tables
short_description: Give route tables exactly the declared routes, subnets and tags, in one task
description:
  - For each route table, found by its ID, makes sure it has exactly the declared routes (besides the
    VPC's local route and the routes gateway endpoints add), is associated with exactly the declared
    subnets, and carries exactly the declared tags.
  - One C(DescribeRouteTables) call reads every table of the task with its routes, associations and
    tags; a subnet associated with another table costs one more to find that association.
  - The tables themselves are made beforehand, tagged, by M(ec2_tagged_resources), so a run killed
    halfway never leaves an untagged table behind.
  - A declared route whose target changed is replaced; a route not declared is deleted.
  - A table with O(route_tables[].state=absent) has its subnets disassociated and is deleted; one already
    gone is left so. A VPC's main route table cannot be deleted and is refused before any change.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.ec2_vpc_route_table)? It reads a table, its tags and its subnets seven or eight
    times on a run that changes nothing (counted in its code), takes one table per module run, and warns
    about every gateway endpoint route.
options:
  route_tables:
    description: The route tables.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description:
          - The table's ID. An empty ID is a table only planned in check mode; it is reported as
            created with its routes and subnets.
        type: str
        required: true
      routes:
        description:
          - The routes, each with C(dest) (an IPv4 CIDR block) and one of C(gateway_id),
            C(vpc_peering_connection_id) or C(nat_gateway_id).
        type: list
        elements: dict
        default: []
      subnets:
        description: IDs of the subnets associated with it; other subnets are disassociated, unless O(route_tables[].purge_subnets=false).
        type: list
        elements: str
        default: []
      purge_subnets:
        description: Whether subnets associated with the table but not in O(route_tables[].subnets) are disassociated.
        type: bool
        default: true
      tags:
        description: The table's tags; others are removed, unless O(route_tables[].purge_tags=false).
        type: dict
        default: {}
      purge_tags:
        description: Whether tags not in O(route_tables[].tags) are removed.
        type: bool
        default: true
      state:
        description: Whether the table exists.
        type: str
        choices: [present, absent]
        default: present
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The private route table, its local and peering routes only, both private subnets
  ec2_route_tables:
    route_tables:
      - id: "{{ network_route_table_id }}"
        routes:
          - {dest: 10.1.0.10/32, vpc_peering_connection_id: "{{ network_peering_id }}"}
        subnets: "{{ network_subnet_ids }}"
        tags: {Name: rna-seq-private-rt, Project: rna-seq-hipaa, Environment: production}
"""

RETURN = r"""
changes:
  description: By table ID, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    rtb-0123456789abcdef0: [routes, subnets]
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import purged_tags
from ansible.module_utils.toolkit_aws import sync_ec2_tags
from ansible.module_utils.toolkit_aws import tag_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# Route option: the field naming that target in a route.
TARGETS = {"gateway_id": "GatewayId", "vpc_peering_connection_id": "VpcPeeringConnectionId", "nat_gateway_id": "NatGatewayId"}
# Every field a route may name its target with, declared or not.
ROUTE_TARGET_FIELDS = ("GatewayId", "VpcPeeringConnectionId", "NatGatewayId", "TransitGatewayId", "NetworkInterfaceId",
                       "InstanceId", "LocalGatewayId", "CarrierGatewayId", "EgressOnlyInternetGatewayId", "CoreNetworkArn")


def declared_routes(module, routes):
    """{dest: (target field, target)}; a route without exactly one target is refused."""
    found = {}
    for route in routes:
        targets = [(field, route[option]) for option, field in TARGETS.items() if route.get(option)]
        if not route.get("dest") or len(targets) != 1:
            module.fail_json(msg=f"A route has a dest and exactly one of {', '.join(TARGETS)}: {route}")
        found[route["dest"]] = targets[0]
    return found


def managed_routes(table):
    """{dest: (target field, target)} of the routes this module manages: IPv4 routes someone created,
    not the local route, propagated routes, or the prefix-list routes a gateway endpoint adds."""
    routes = {}
    for route in table.get("Routes", []):
        dest = route.get("DestinationCidrBlock")
        # Propagated (VPN gateway) routes cannot be deleted one by one; they are the gateway's.
        if not dest or route.get("GatewayId") == "local" or route.get("Origin") in ("CreateRouteTable", "EnableVgwRoutePropagation"):
            continue
        target = next(((field, route[field]) for field in ROUTE_TARGET_FIELDS if route.get(field)), ("", ""))
        routes[dest] = target
    return routes


def readable(routes):
    return sorted(f"{dest} -> {target}" for dest, (_, target) in routes.items())


class RouteTables:
    def __init__(self, module):
        self.module = module
        self.ec2 = module.client("ec2")
        self.check = module.check_mode
        self.before, self.after, self.changes = {}, {}, {}

    def note(self, table_id, change):
        self.changes.setdefault(table_id, []).append(change)

    def read(self, ids, required):
        """The tables of these IDs, by ID, in one call (a filter, so a table already deleted is no error);
        fails naming those of `required` that do not exist."""
        if not ids:
            return {}
        tables = paginate(self.ec2, "describe_route_tables", "RouteTables",
                          Filters=[{"Name": "route-table-id", "Values": sorted(ids)}])
        found = {table["RouteTableId"]: table for table in tables}
        missing = sorted(set(required) - set(found))
        if missing:
            self.module.fail_json(msg=f"These route tables do not exist: {', '.join(missing)}")
        mains = sorted(table_id for table_id, table in found.items() if table_id not in required
                       and any(a.get("Main") for a in table.get("Associations", [])))
        if mains:
            self.module.fail_json(msg=f"A VPC's main route table cannot be deleted, and nothing was changed: {', '.join(mains)}")
        return found

    def delete(self, spec, table):
        if table is None:
            return
        table_id = table["RouteTableId"]
        self.before[table_id] = {"routes": readable(managed_routes(table)), "tags": tag_dict(table.get("Tags")),
                                 "subnets": sorted(a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId"))}
        self.after[table_id] = None
        self.note(table_id, "deleted")
        if not self.check:
            for association in table.get("Associations", []):
                self.ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
            self.ec2.delete_route_table(RouteTableId=table_id)

    def converge(self, spec, table):
        key = spec["id"] or "(planned)"
        wanted = declared_routes(self.module, spec["routes"])
        if table is None:
            self.after[key] = {"routes": readable(wanted), "subnets": sorted(spec["subnets"]), "tags": spec["tags"]}
            self.before[key] = None
            self.note(key, "created")
            return
        table_id = table["RouteTableId"]
        current = managed_routes(table)
        associated = {a["SubnetId"]: a["RouteTableAssociationId"] for a in table.get("Associations", []) if a.get("SubnetId")}
        tags = tag_dict(table.get("Tags"))
        self.before[key] = {"routes": readable(current), "subnets": sorted(associated), "tags": tags}
        kept_subnets = set() if spec["purge_subnets"] else set(associated)
        self.after[key] = {"routes": readable(wanted), "subnets": sorted(set(spec["subnets"]) | kept_subnets),
                           "tags": purged_tags(tags, spec["tags"], spec["purge_tags"])[2]}

        stale = [dest for dest in current if dest not in wanted]
        changed = {dest: target for dest, target in wanted.items() if dest in current and current[dest] != target}
        missing = {dest: target for dest, target in wanted.items() if dest not in current}
        if stale or changed or missing:
            self.note(key, "routes")
            if not self.check:
                for dest in stale:
                    self.ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock=dest)
                for operation, routes in ((self.ec2.replace_route, changed), (self.ec2.create_route, missing)):
                    for dest, (field, target) in routes.items():
                        operation(RouteTableId=table_id, DestinationCidrBlock=dest, **{field: target})

        leaving = [subnet for subnet in associated if subnet not in spec["subnets"] and spec["purge_subnets"]]
        joining = [subnet for subnet in spec["subnets"] if subnet not in associated]
        if leaving or joining:
            self.note(key, "subnets")
            if not self.check:
                for subnet in leaving:
                    self.ec2.disassociate_route_table(AssociationId=associated[subnet])
                self.associate(table_id, joining)

        if sync_ec2_tags(self.ec2, table_id, tags, spec["tags"], self.check, purge_tags=spec["purge_tags"]):
            self.note(key, "tags")

    def associate(self, table_id, subnets):
        """Associate the subnets, moving any that another table holds explicitly."""
        if not subnets:
            return
        elsewhere = {}
        filters = [{"Name": "association.subnet-id", "Values": sorted(subnets)}]
        for table in paginate(self.ec2, "describe_route_tables", "RouteTables", Filters=filters):
            for association in table.get("Associations", []):
                if association.get("SubnetId") in subnets:
                    elsewhere[association["SubnetId"]] = association["RouteTableAssociationId"]
        for subnet in subnets:
            if subnet in elsewhere:
                self.ec2.replace_route_table_association(AssociationId=elsewhere[subnet], RouteTableId=table_id)
            else:
                self.ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            route_tables=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    id=dict(type="str", required=True),
                    routes=dict(type="list", elements="dict", default=[]),
                    subnets=dict(type="list", elements="str", default=[]),
                    purge_subnets=dict(type="bool", default=True),
                    tags=dict(type="dict", default={}),
                    purge_tags=dict(type="bool", default=True),
                    state=dict(type="str", choices=["present", "absent"], default="present"),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    specs = module.params["route_tables"]
    planned = [spec for spec in specs if not spec["id"] and spec["state"] == "present"]
    if planned and not module.check_mode:
        module.fail_json(msg="A route table without an ID is only planned in check mode: make it first (ec2_tagged_resources)")
    for spec in specs:
        spec["tags"] = {str(k): str(v) for k, v in spec["tags"].items()}
        declared_routes(module, spec["routes"])
    tables = RouteTables(module)
    try:
        found = tables.read({spec["id"] for spec in specs if spec["id"]},
                            {spec["id"] for spec in specs if spec["id"] and spec["state"] == "present"})
        for spec in specs:
            if spec["state"] == "present":
                tables.converge(spec, found.get(spec["id"]))
            else:
                tables.delete(spec, found.get(spec["id"]))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to converge the route tables")
    module.exit_json(changed=bool(tables.changes), changes=tables.changes, diff={"before": tables.before, "after": tables.after})


if __name__ == "__main__":
    main()
