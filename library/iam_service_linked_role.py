#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iam_service_linked_role
short_description: Make sure AWS services' service-linked roles exist, and return their ARNs
description:
  - Creates the service-linked role of each listed AWS service that does not have one yet. AWS creates
    these roles itself the first time a service needs one; a key policy that must name one (so that
    EC2 Auto Scaling can encrypt volumes with a customer managed key, say) cannot wait for that, as
    KMS refuses a policy naming a role that does not exist.
  - Existing roles are never changed or deleted.
  - Supports check mode.
notes:
  - Departs from the list contract (docs/modules.md) by design - one role AWS owns per service, which a service
    may still use, so it is made and never deleted here.
options:
  services:
    description: Service principals, such as V(autoscaling.amazonaws.com) and V(spot.amazonaws.com).
    type: list
    elements: str
    required: true
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The roles EC2 Auto Scaling and EC2 Spot encrypt volumes with
  iam_service_linked_role:
    services: [autoscaling.amazonaws.com, spot.amazonaws.com]
  register: storage_service_linked_roles
"""

RETURN = r"""
roles:
  description: Each service's role ARN (or, in check mode for one that would be created, the ARN it will have).
  returned: always
  type: dict
  sample: {autoscaling.amazonaws.com: "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"}
created:
  description: The services whose role was created (or would be).
  returned: always
  type: list
  elements: str
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_iam import service_linked_role_arns

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

# The role names AWS gives the service-linked roles the toolkit needs; any
# other service's role is found by its path.
KNOWN_NAMES = {
    "autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling",
    "spot.amazonaws.com": "AWSServiceRoleForEC2Spot",
    "spotfleet.amazonaws.com": "AWSServiceRoleForEC2SpotFleet",
    "ec2fleet.amazonaws.com": "AWSServiceRoleForEC2Fleet",
    "batch.amazonaws.com": "AWSServiceRoleForBatch",
}


def main():
    module = AnsibleAWSModule(argument_spec=dict(services=dict(type="list", elements="str", required=True)), supports_check_mode=True)
    iam = module.client("iam")
    roles, created = {}, []
    try:
        existing = service_linked_role_arns(iam, module.params["services"])
        for service in module.params["services"]:
            if service in existing:
                roles[service] = existing[service]
                continue
            created.append(service)
            if module.check_mode:
                caller = module.client("sts").get_caller_identity()
                partition, name = caller["Arn"].split(":")[1], KNOWN_NAMES.get(service, "(named by AWS)")
                roles[service] = f"arn:{partition}:iam::{caller['Account']}:role/aws-service-role/{service}/{name}"
                continue
            roles[service] = iam.create_service_linked_role(AWSServiceName=service)["Role"]["Arn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to make sure the service-linked roles exist")
    module.exit_json(changed=bool(created), roles=roles, created=created)


if __name__ == "__main__":
    main()
