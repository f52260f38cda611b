# -*- coding: utf-8 -*-
"""The network diagram of verify's evidence report (Mermaid): the production VPC,
the management VPC and the Batch resources, drawn from the state verify reads.
"""

from __future__ import annotations

import re


def _mermaid_id(value):
    return re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def network_diagram(state, baseline):
    """A Mermaid flowchart of the network as it is (not as it should be)."""
    vpc = state.get("vpc")
    if not vpc:
        return "flowchart LR\n  none[\"no toolkit VPC found\"]"
    lines = ["flowchart LR"]
    lines.append(f'  subgraph {_mermaid_id(vpc["id"])}["VPC {vpc.get("tags", {}).get("Name", "")} {vpc.get("cidr_block")}"]')
    for subnet in state.get("subnets", []):
        lines.append(
            f'    {_mermaid_id(subnet["id"])}["subnet {subnet.get("tags", {}).get("Name", subnet["id"])}<br/>'
            f'{subnet.get("cidr_block")} {subnet.get("availability_zone")}"]'
        )
    for group in state.get("security_groups", []):
        lines.append(f'    {_mermaid_id(group["group_id"])}{{{{"SG {group.get("group_name")}"}}}}')
    for endpoint in state.get("endpoints", []):
        service = str(endpoint.get("service_name", "")).split(".", 3)[-1]
        lines.append(f'    {_mermaid_id(endpoint["vpc_endpoint_id"])}(["endpoint {service}"])')
    for table in state.get("route_tables", []):
        lines.append(f'    {_mermaid_id(table["id"])}[/"route table {table.get("tags", {}).get("Name", table["id"])}"/]')
    lines.append("  end")
    lines.append('  S3[("Amazon S3")]')
    for endpoint in state.get("endpoints", []):
        endpoint_id = _mermaid_id(endpoint["vpc_endpoint_id"])
        for subnet_id in endpoint.get("subnet_ids", []) or []:
            lines.append(f"  {_mermaid_id(subnet_id)} --- {endpoint_id}")
        for group in endpoint.get("groups", []) or []:
            lines.append(f"  {endpoint_id} -.- {_mermaid_id(group.get('group_id'))}")
        if str(endpoint.get("service_name", "")).endswith(".s3") and not endpoint.get("subnet_ids"):
            lines.append(f"  {endpoint_id} --> S3")
            for table_id in endpoint.get("route_table_ids", []) or []:
                lines.append(f"  {_mermaid_id(table_id)} --- {endpoint_id}")
    for table in state.get("route_tables", []):
        for association in table.get("associations", []):
            if association.get("subnet_id"):
                lines.append(f"  {_mermaid_id(association['subnet_id'])} --> {_mermaid_id(table['id'])}")
    for gateway in state.get("internet_gateways", []):
        lines.append(f'  {_mermaid_id(gateway["internet_gateway_id"])}(("internet gateway (not expected)")) --- {_mermaid_id(vpc["id"])}')
    for gateway in state.get("nat_gateways", []):
        lines.append(f'  {_mermaid_id(gateway["nat_gateway_id"])}(("NAT gateway (not expected)"))')
    lines.extend(_batch_diagram(state.get("batch") or {}))
    lines.extend(_access_diagram(state.get("access") or {}, vpc["id"]))
    return "\n".join(lines)


def _access_diagram(access, production_vpc_id):
    """The management VPC as found: its subnets and hosts, its internet and
    NAT gateway routes, and the peering connection to production."""
    vpc = access.get("vpc")
    if not vpc:
        return []
    vpc_node = _mermaid_id(vpc["id"])
    lines = [f'  subgraph {vpc_node}["VPC {vpc.get("tags", {}).get("Name", "")} {vpc.get("cidr_block")}"]']
    for subnet in access.get("subnets") or []:
        lines.append(f'    {_mermaid_id(subnet["id"])}["subnet {subnet.get("tags", {}).get("Name", subnet["id"])}<br/>'
                     f'{subnet.get("cidr_block")}"]')
    for instance in access.get("instances") or []:
        tags = instance.get("tags") or {}
        address = instance.get("public_ip_address") or "no public address"
        lines.append(f'    {_mermaid_id(instance["instance_id"])}["{tags.get("Name", instance["instance_id"])}'
                     f'<br/>{instance.get("private_ip_address")} / {address}"]')
    lines.append("  end")
    for instance in access.get("instances") or []:
        if instance.get("subnet_id"):
            lines.append(f"  {_mermaid_id(instance['instance_id'])} --- {_mermaid_id(instance['subnet_id'])}")
    gateways = {route.get("gateway_id") for table in access.get("route_tables") or [] for route in table.get("routes") or []
                if str(route.get("gateway_id") or "").startswith("igw-")}
    for gateway in sorted(gateways):
        lines.append(f'  {_mermaid_id(gateway)}(("internet gateway")) --- {vpc_node}')
        lines.append(f'  Internet(("administrators")) --> {_mermaid_id(gateway)}')
    nat_gateways = {route.get("nat_gateway_id") for table in access.get("route_tables") or [] for route in table.get("routes") or []
                    if route.get("nat_gateway_id")}
    for gateway in sorted(nat_gateways):
        lines.append(f'  {_mermaid_id(gateway)}(("NAT gateway (the bastion\'s updates)")) --- {vpc_node}')
    for peering in access.get("peerings") or []:
        status = (peering.get("status") or {}).get("code")
        peer = (peering.get("accepter_vpc_info") or {}).get("vpc_id")
        if peer == production_vpc_id:
            lines.append(f'  {vpc_node} <-->|"peering {peering.get("vpc_peering_connection_id")} ({status})"| {_mermaid_id(peer)}')
    return lines


def _batch_diagram(batch):
    """AWS Batch as found: queues feeding compute environments, which launch
    into subnets with security groups."""
    lines = []
    environments = batch.get("compute_environments") or {}
    for name, environment in environments.items():
        node = _mermaid_id(f"ce_{name}")
        resources = environment.get("computeResources") or {}
        lines.append(f'  {node}[["Batch {name}<br/>{resources.get("type", "")} min {resources.get("minvCpus")} vCPUs"]]')
        for subnet_id in resources.get("subnets") or []:
            lines.append(f"  {node} --> {_mermaid_id(subnet_id)}")
        for group_id in resources.get("securityGroupIds") or []:
            lines.append(f"  {node} -.- {_mermaid_id(group_id)}")
    for name, queue in (batch.get("job_queues") or {}).items():
        node = _mermaid_id(f"jq_{name}")
        lines.append(f'  {node}>"queue {name}"]')
        for entry in sorted(queue.get("computeEnvironmentOrder") or [], key=lambda e: e.get("order", 0)):
            target = str(entry.get("computeEnvironment", "")).rsplit("/", 1)[-1]
            lines.append(f'  {node} -- "{entry.get("order")}" --> {_mermaid_id(f"ce_{target}")}')
    return lines


class FilterModule:
    def filters(self):
        return {"network_diagram": network_diagram}
