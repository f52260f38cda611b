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
        V(internet_gateway), V(vpc_peering_connection) and V(nat_gateway) (those deleted or failed left out).
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

from ansible.module_utils.toolkit_lookup import find_tagged


from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(
        resources=dict(type="dict", required=True),
        tags=dict(type="dict", default={}),
        vpc_id=dict(type="str"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ownership = {str(k): str(v) for k, v in module.params["tags"].items()}
    found = find_tagged(module, module.client("ec2"), module.params["resources"], ownership, module.params["vpc_id"])
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
