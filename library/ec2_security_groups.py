#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_security_groups
short_description: Make a VPC's security groups, their rules and tags exactly as declared, in one task
description:
  - For each security group, makes sure a group of that name exists in the VPC, with exactly the
    declared inbound and outbound rules and, where O(security_groups[].tags) is given, exactly those tags.
  - One C(DescribeSecurityGroups) call reads every group of the task, their rules and their tags. Why
    not M(amazon.aws.ec2_security_group)? It reads each group three times, its tags, and the caller's
    account, five calls a group on a run that changes nothing, and one group per task.
  - A group is created tagged. A rule may name another group of the same task by O(group_name), so a
    group and the group it allows in can be made in one task.
  - Rules are compared by protocol, ports and source or destination. A declared rule with a
    different description gets its description updated; a rule without O(rule_desc) keeps whatever
    description it has.
  - EC2 cannot change a group's description; a different one is reported as a warning.
  - Groups with O(security_groups[].state=absent) are deleted after the others are converged; rules of
    theirs that name a group are revoked first, so groups that name each other go together. EC2 refuses
    to delete a group still in use (by an instance, an interface or another group's rule); the VPC's
    C(default) group cannot be deleted and is refused before any change.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.ec2_security_group)? It takes one group per module run and reads each group
    three times, its tags and the caller's account. Measured by bench/upstream.py (5 resources, a run
    that changes nothing, Ansible's linear strategy), one inbound and one outbound rule each - 5 module
    runs and 20 reads in 5.1 s in a loop; 1 run and 1 read in 1.5 s here.
options:
  vpc_id:
    description: The VPC the groups belong to.
    type: str
    required: true
  security_groups:
    description: The groups, in the order they are made.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The group's name, unique in the VPC. V(default) is the VPC's default group.
        type: str
        required: true
      description:
        description: The group's description, set when it is created; required when present.
        type: str
      rules:
        description:
          - Inbound rules; others are revoked. Each has C(proto) (V(tcp), V(udp), V(icmp), or V(-1) / V(all)),
            C(ports) (a list of ports or C(from-to) ranges; for ICMP the type, or C(type-code)), and one
            of C(cidr_ip), C(cidr_ipv6), C(ip_prefix) (a managed prefix list ID), C(group_id), or
            C(group_name) (a group of this VPC, or of this task), and optionally C(rule_desc).
        type: list
        elements: dict
        default: []
      purge_rules:
        description: Whether inbound rules not in O(security_groups[].rules) are revoked.
        type: bool
        default: true
      rules_egress:
        description: Outbound rules, as O(security_groups[].rules); others are revoked, unless O(security_groups[].purge_rules_egress=false).
        type: list
        elements: dict
        default: []
      purge_rules_egress:
        description: Whether outbound rules not in O(security_groups[].rules_egress) are revoked.
        type: bool
        default: true
      tags:
        description: The group's tags; others are removed, unless O(security_groups[].purge_tags=false).
          Omitted, the tags are left alone.
        type: dict
      purge_tags:
        description: Whether tags not in O(security_groups[].tags) are removed. AWS's own C(aws:) tags never are.
        type: bool
        default: true
      state:
        description: Whether the group exists.
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
- name: The bastion's group, and the VPN host's, which lets SSH in from the bastion only
  ec2_security_groups:
    vpc_id: "{{ access_vpc_id }}"
    security_groups:
      - name: rna-seq-bastion-sg
        description: Bastion - SSH from the administrators' ranges only
        rules:
          - {proto: tcp, ports: [22], cidr_ip: 203.0.113.0/24, rule_desc: SSH from an administrators range}
        rules_egress:
          - {proto: tcp, ports: [22], cidr_ip: 10.1.0.0/24, rule_desc: SSH to the VPN host}
        tags: {Name: rna-seq-bastion-sg}
      - name: rna-seq-openvpn-sg
        description: VPN - OpenVPN from its allowed ranges, SSH from the bastion only
        rules:
          - {proto: udp, ports: [1194], cidr_ip: 0.0.0.0/0}
          - {proto: tcp, ports: [22], group_name: rna-seq-bastion-sg}
        tags: {Name: rna-seq-openvpn-sg}

- name: Strip every rule from the VPC's default group
  ec2_security_groups:
    vpc_id: "{{ network_vpc_id }}"
    security_groups:
      - {name: default, description: default VPC security group, rules: [], rules_egress: []}
"""

RETURN = r"""
security_groups:
  description: By name, each group's ID. An empty string for a group only planned in check mode.
  returned: always
  type: dict
  sample:
    rna-seq-bastion-sg: {group_id: sg-0123456789abcdef0}
changes:
  description: By group name, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    rna-seq-bastion-sg: [created, rules]
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
from ansible.module_utils.toolkit_aws import warn

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# A group just created may not be visible to the next call for a moment.
NEW_GROUP_RETRY = AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=10, catch_extra_error_codes=["InvalidGroup.NotFound"])

# Rule option: (IpPermission list, the field naming the peer in each item).
PEERS = {
    "cidr_ip": ("IpRanges", "CidrIp"),
    "cidr_ipv6": ("Ipv6Ranges", "CidrIpv6"),
    "ip_prefix": ("PrefixListIds", "PrefixListId"),
    "group_id": ("UserIdGroupPairs", "GroupId"),
}
PROTOCOLS = {"all": "-1", "-1": "-1", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp"}


class RuleError(ValueError):
    pass


def port_ranges(rule, protocol):
    """[(from, to)] of a declared rule; [(None, None)] for all protocols."""
    if protocol == "-1":
        return [(None, None)]
    ports = rule.get("ports")
    if not ports:
        raise RuleError(f"a {protocol} rule needs ports: {rule}")
    ranges = []
    for port in ports if isinstance(ports, list) else [ports]:
        low, _, high = str(port).partition("-")
        try:
            ranges.append((int(low), int(high or low)))
        except ValueError as e:
            raise RuleError(f"ports are numbers or from-to ranges: {port!r} in {rule}") from e
    return ranges


def declared_rules(rules, group_ids):
    """{(protocol, from, to, peer kind, peer): description or None} of the declared rules.

    group_ids maps the names a rule may use in group_name to IDs; a group only planned in check
    mode has none, and its rules are keyed by name.
    """
    atoms = {}
    for rule in rules:
        protocol = PROTOCOLS.get(str(rule.get("proto", "")).lower())
        if protocol is None:
            raise RuleError(f"proto is one of tcp, udp, icmp, -1 (all): {rule}")
        peers = [(kind, rule[kind]) for kind in (*PEERS, "group_name") if rule.get(kind)]
        if len(peers) != 1:
            raise RuleError(f"a rule names exactly one of {', '.join((*PEERS, 'group_name'))}: {rule}")
        kind, peer = peers[0]
        if kind == "group_name":
            kind, peer = "group_id", group_ids.get(peer, f"(planned {peer})")
        for low, high in port_ranges(rule, protocol):
            atoms[(protocol, low, high, kind, peer)] = rule.get("rule_desc")
    return atoms


def existing_rules(permissions):
    """The same shape as declared_rules, read from a group's IpPermissions."""
    atoms = {}
    for permission in permissions:
        protocol = PROTOCOLS.get(permission["IpProtocol"], permission["IpProtocol"])
        low, high = (None, None) if protocol == "-1" else (permission.get("FromPort"), permission.get("ToPort"))
        for kind, (field, key) in PEERS.items():
            for item in permission.get(field, []):
                atoms[(protocol, low, high, kind, item[key])] = item.get("Description")
    return atoms


def ip_permissions(atoms):
    """IpPermissions for authorize/revoke/update calls, one per rule."""
    permissions = []
    for (protocol, low, high, kind, peer), description in sorted(atoms.items(), key=lambda a: str(a[0])):
        field, key = PEERS[kind]
        item = {key: peer}
        if description:
            item["Description"] = description
        permission = {"IpProtocol": protocol, field: [item]}
        if protocol != "-1":
            permission.update(FromPort=low, ToPort=high)
        permissions.append(permission)
    return permissions


def readable(atoms):
    """Rules as sorted strings, for the diff."""
    return sorted(f"{p} {'all' if lo is None else lo if lo == hi else f'{lo}-{hi}'} {kind}={peer}"
                  + (f" ({d})" if d else "") for (p, lo, hi, kind, peer), d in atoms.items())


class SecurityGroups:
    # option: (field, authorize, revoke, update descriptions, purge option)
    DIRECTIONS = {
        "rules": ("IpPermissions", "authorize_security_group_ingress", "revoke_security_group_ingress",
                  "update_security_group_rule_descriptions_ingress", "purge_rules"),
        "rules_egress": ("IpPermissionsEgress", "authorize_security_group_egress", "revoke_security_group_egress",
                         "update_security_group_rule_descriptions_egress", "purge_rules_egress"),
    }

    def __init__(self, module):
        self.module = module
        self.ec2 = module.client("ec2")
        self.vpc_id = module.params["vpc_id"]
        self.check = module.check_mode
        self.before, self.after, self.changes, self.found = {}, {}, {}, {}
        self.group_ids = {}

    def note(self, name, change):
        self.changes.setdefault(name, []).append(change)

    def read(self, names, referenced):
        """The VPC's groups among names and the names rules refer to, by name: one call."""
        filters = [{"Name": "vpc-id", "Values": [self.vpc_id]}, {"Name": "group-name", "Values": sorted(set(names) | referenced)}]
        groups = paginate(self.ec2, "describe_security_groups", "SecurityGroups", Filters=filters)
        found = {group["GroupName"]: group for group in groups}
        self.group_ids.update({name: group["GroupId"] for name, group in found.items()})
        return found

    def converge(self, spec, group):
        name = spec["name"]
        created = group is None
        if created:
            group = self.create(spec)  # None in check mode
        else:
            self.found[name] = {"group_id": group["GroupId"]}
            if group.get("Description", "") != spec["description"]:
                warn(self.module, f"EC2 cannot change the description of the security group {name} "
                                  f"({group['GroupId']}): it keeps {group.get('Description', '')!r}.")
        before, after = {}, {}
        for option, (field, authorize, revoke, describe, purge) in self.DIRECTIONS.items():
            wanted = declared_rules(spec[option], self.group_ids)
            current = existing_rules(group[field]) if group else {}
            missing = {atom: d for atom, d in wanted.items() if atom not in current}
            stale = {atom: d for atom, d in current.items() if atom not in wanted} if spec[purge] else {}
            redescribed = {atom: d for atom, d in wanted.items() if atom in current and d is not None and current[atom] != d}
            kept = {} if spec[purge] else current
            before[option], after[option] = readable(current), readable({**kept, **wanted})
            if missing or stale or redescribed:
                self.note(name, option)
            if self.check:
                continue
            calls = ((revoke, stale), (authorize, missing), (describe, redescribed))
            for operation, atoms in calls:
                if atoms:
                    getattr(self.ec2, operation)(GroupId=group["GroupId"], IpPermissions=ip_permissions(atoms))
        if spec["tags"] is not None:
            current_tags = tag_dict(group["Tags"]) if group else {}
            before["tags"], after["tags"] = current_tags, purged_tags(current_tags, spec["tags"], spec["purge_tags"])[2]
            # A group just created was tagged in the create call.
            if not created and sync_ec2_tags(self.ec2, group["GroupId"], current_tags, spec["tags"], self.check,
                                             purge_tags=spec["purge_tags"]):
                self.note(name, "tags")
        self.before[name] = None if created else before
        self.after[name] = after

    def remove(self, groups):
        """Delete the found groups of this list: first their rules that name a group, then the groups."""
        found = [(spec["name"], group) for spec, group in groups if group is not None]
        for name, group in found:
            self.note(name, "deleted")
            self.found[name] = {"group_id": group["GroupId"]}
            self.before[name], self.after[name] = {"group_id": group["GroupId"]}, None
        if self.check:
            return
        for _name, group in found:
            for field, revoke in (("IpPermissions", "revoke_security_group_ingress"),
                                  ("IpPermissionsEgress", "revoke_security_group_egress")):
                naming = [permission for permission in group[field] if permission.get("UserIdGroupPairs")]
                if naming:
                    getattr(self.ec2, revoke)(GroupId=group["GroupId"], IpPermissions=naming)
        for _name, group in found:
            self.ec2.delete_security_group(GroupId=group["GroupId"])

    def create(self, spec):
        """Create the group tagged; the group as described, or None in check mode."""
        name = spec["name"]
        self.note(name, "created")
        self.found[name] = {"group_id": ""}
        if self.check:
            return None
        params = {"GroupName": name, "Description": spec["description"], "VpcId": self.vpc_id}
        if spec["tags"]:
            params["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tag_list(spec["tags"])}]
        group_id = self.ec2.create_security_group(**params)["GroupId"]
        self.found[name] = {"group_id": group_id}
        self.group_ids[name] = group_id
        # Read back the rules EC2 gave it (all traffic out, IPv6 too in a dual-stack VPC), so that
        # the comparison revokes whichever are not declared.
        return NEW_GROUP_RETRY(self.ec2.describe_security_groups)(GroupIds=[group_id])["SecurityGroups"][0]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            vpc_id=dict(type="str", required=True),
            security_groups=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    description=dict(type="str"),
                    rules=dict(type="list", elements="dict", default=[]),
                    purge_rules=dict(type="bool", default=True),
                    rules_egress=dict(type="list", elements="dict", default=[]),
                    purge_rules_egress=dict(type="bool", default=True),
                    tags=dict(type="dict"),
                    purge_tags=dict(type="bool", default=True),
                    state=dict(type="str", choices=["present", "absent"], default="present"),
                ),
                required_if=[["state", "present", ["description"]]],
            ),
        ),
        supports_check_mode=True,
    )
    specs = module.params["security_groups"]
    fail_on_repeated_names(module, [spec["name"] for spec in specs], "Security groups")
    if any(spec["name"] == "default" and spec["state"] == "absent" for spec in specs):
        module.fail_json(msg="The VPC's default security group cannot be deleted: declare its rules empty instead")
    absent = [spec for spec in specs if spec["state"] == "absent"]
    specs = [spec for spec in specs if spec["state"] == "present"]
    for spec in specs:
        if spec["tags"] is not None:
            spec["tags"] = {str(k): str(v) for k, v in spec["tags"].items()}
    referenced = {rule["group_name"] for spec in specs for option in ("rules", "rules_egress")
                  for rule in spec[option] if rule.get("group_name")}
    groups = SecurityGroups(module)
    try:
        # Every rule is checked before any call, so a bad one changes nothing.
        for spec in specs:
            for option in ("rules", "rules_egress"):
                declared_rules(spec[option], {})
        found = groups.read([spec["name"] for spec in specs + absent], referenced)
        unknown = sorted(referenced - set(found) - {spec["name"] for spec in specs})
        # In check mode an earlier task may only have planned the group a rule names.
        if unknown and not module.check_mode:
            module.fail_json(msg=f"Rules name security groups that are in neither the VPC {module.params['vpc_id']} "
                                 f"nor this task: {', '.join(unknown)}")
        for spec in specs:
            groups.converge(spec, found.get(spec["name"]))
        groups.remove([(spec, found.get(spec["name"])) for spec in absent])
    except RuleError as e:
        module.fail_json(msg=f"Invalid security group rule: {e}")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, f"Failed to converge the security groups of {module.params['vpc_id']}")
    module.exit_json(changed=bool(groups.changes), security_groups=groups.found, changes=groups.changes,
                     diff={"before": groups.before, "after": groups.after})


if __name__ == "__main__":
    main()
