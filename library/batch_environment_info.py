#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: batch_environment_info
short_description: Read AWS Batch compute environments, job queues and job definitions
description:
  - For each named compute environment and job queue, its description (or that it does not exist);
    for each named job definition, its newest ACTIVE revision.
  - Read-only; safe in check mode.
options:
  compute_environments:
    description: Compute environment names.
    type: list
    elements: str
    default: []
  job_queues:
    description: Job queue names.
    type: list
    elements: str
    default: []
  job_definitions:
    description: Job definition names.
    type: list
    elements: str
    default: []
author:
  - RNA-seq HIPAA toolkit maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the pipeline's Batch environment
  batch_environment_info:
    compute_environments: [rnaseq-on-demand, rnaseq-spot]
    job_queues: [rnaseq-priority, rnaseq-default]
    job_definitions: [rnaseq-fastqc]
  register: verify_batch
"""

RETURN = r"""
compute_environments:
  description: Descriptions by name, in the API's shape; names that do not exist are left out.
  returned: always
  type: dict
job_queues:
  description: Descriptions by name, in the API's shape.
  returned: always
  type: dict
job_definitions:
  description: The newest ACTIVE revision by name, in the API's shape.
  returned: always
  type: dict
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_batch import compute_environments
from ansible.module_utils.toolkit_batch import job_queues
from ansible.module_utils.toolkit_batch import latest_job_definitions

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main():
    argument_spec = dict(
        compute_environments=dict(type="list", elements="str", default=[]),
        job_queues=dict(type="list", elements="str", default=[]),
        job_definitions=dict(type="list", elements="str", default=[]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    batch = module.client("batch")
    try:
        result = dict(
            compute_environments=compute_environments(batch, module.params["compute_environments"]),
            job_queues=job_queues(batch, module.params["job_queues"]),
            job_definitions=latest_job_definitions(batch, module.params["job_definitions"]),
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the Batch environment")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
