#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_context_info
short_description: Read the account, region and regional facts a phase needs before it changes anything
description:
  - The preflight read every phase starts with. One task answers who the caller is and, as
    asked, which availability zones the region offers, the CIDRs of AWS-managed prefix lists
    (such as S3's), which VPC endpoint services exist in the region, whether the IAM principals
    a policy names exist, which keys the given aliases name, the EC2 resources of earlier
    phases found by Name and ownership tags (and of their VPCs, the default NACL, the endpoints and
    the routes out), the images that match a lookup, which key pairs, service-linked roles and log groups exist, and
    CloudFormation stacks with their templates.
  - One task instead of one per lookup, so a phase's preflight costs one module run, and each
    lookup one API call per alias, principal or resource type.
  - Fails with one readable line, and before any change, when credentials are missing or
    rejected, the endpoint cannot be reached, the region is unknown, or the caller's account
    is not the one the inventory names.
  - Read-only; safe in check mode.
options:
  expected_account_id:
    description:
      - The 12-digit account the inventory is written for. When set and the caller's account
        differs, the module fails.
    type: str
  prefix_list_services:
    description:
      - Short service names (for example V(s3), V(dynamodb)) whose AWS-managed prefix lists to
        return, with their CIDRs.
    type: list
    elements: str
    default: []
  endpoint_services:
    description:
      - Short service names (for example V(ecr.api), V(logs)) to look up as VPC endpoint
        services of the region. Names the region does not offer are returned in RV(missing_endpoint_services).
    type: list
    elements: str
    default: []
  availability_zones:
    description:
      - Whether to list the region's availability zones (one C(DescribeAvailabilityZones) call).
    type: bool
    default: false
  principal_arns:
    description:
      - IAM role, user and account root ARNs to check exist (for key and bucket policies). Their
        canonical ARNs are returned in RV(principals), those that do not exist in RV(missing_principals).
    type: list
    elements: str
    default: []
  resolve_caller:
    description:
      - Return RV(caller_principal_arn), the IAM role or user behind the caller (an assumed
        role's role). Implied by O(principal_arns).
    type: bool
    default: false
  key_aliases:
    description:
      - KMS key aliases (with or without the C(alias/) prefix) to look up, one C(DescribeKey) each.
        Those that name a key are returned in RV(aliased_keys); the rest in RV(missing_keys).
    type: list
    elements: str
    default: []
  key_policies:
    description:
      - Return each aliased key's policy too, in RV(aliased_keys) (one C(GetKeyPolicy) more per key found).
    type: bool
    default: false
  tagged:
    description:
      - EC2 resources of earlier phases to find by name, as in the tagged_resource_info module.
      - Resources whose ownership tags differ are returned as RV(tagged.foreign); two owned
        resources with one name fail the module.
    type: dict
    suboptions:
      tags:
        description: Ownership tags every returned resource must carry.
        type: dict
        default: {}
      resources:
        description: Names to find, by type (V(vpc), V(subnet), V(security_group), V(route_table),
          V(network_acl), V(vpc_endpoint), V(internet_gateway), V(vpc_peering_connection), V(nat_gateway)).
        type: dict
        required: true
  vpc_egress_of:
    description:
      - Names of VPCs looked up through O(tagged) whose routes out to list in RV(vpc_egress), that is
        the internet gateways attached to each and its live NAT gateways.
    type: list
    elements: str
    default: []
  owned_vpc_tags:
    description:
      - When set, RV(owned_vpc_ids) lists every VPC carrying all of these tags, whatever its name.
    type: dict
  default_nacl_of:
    description:
      - Names of VPCs looked up through O(tagged) whose default NACL to return in RV(default_nacls)
        (one C(DescribeNetworkAcls) call for all of them).
    type: list
    elements: str
    default: []
  vpc_endpoints_of:
    description:
      - Names of VPCs looked up through O(tagged) whose pending and available endpoints to list in
        RV(vpc_endpoints) (one C(DescribeVpcEndpoints) call for all of them).
    type: list
    elements: str
    default: []
  vpc_attributes_of:
    description:
      - Names of VPCs looked up through O(tagged) whose DNS support and DNS hostnames to return in
        RV(vpc_attributes), as M(ec2_vpcs) reads them (two C(DescribeVpcAttribute) calls each).
    type: list
    elements: str
    default: []
  images:
    description:
      - An image lookup, as M(amazon.aws.ec2_ami_info) makes it (one C(DescribeImages) call). The
        images found are returned in RV(images).
    type: dict
    suboptions:
      owners:
        description: Account IDs or aliases (V(amazon), V(self)) that must own the image.
        type: list
        elements: str
        default: []
      filters:
        description: C(DescribeImages) filters, a value or a list of values each.
        type: dict
        required: true
  service_linked_roles:
    description:
      - Service principals (for example V(config.amazonaws.com)) whose service-linked roles to look up,
        one C(ListRoles) call each. Those that exist are returned in RV(service_linked_roles), the rest in
        RV(missing_service_linked_roles), for M(iam_service_linked_role) to make.
    type: list
    elements: str
    default: []
  account_settings:
    description:
      - Account-wide settings of the region to read, each as the module that sets it reads it, returned
        in RV(account_settings). V(s3_public_access_block) is the account's S3 Block Public Access
        (as M(s3_account_public_access_block) reads it, one C(GetPublicAccessBlock) call);
        V(guardduty), the region's GuardDuty detector, its settings and tags (as M(guardduty_detector) reads
        them, two calls);
        V(ebs_encryption_default), whether EBS encryption by default is on, and V(ebs_default_kms_key),
        the region's default EBS key (as M(ebs_encryption_default) reads them, one call each).
      - A setting the caller may not read is returned as V(null), for the module that sets it to report.
    type: list
    elements: str
    choices: [s3_public_access_block, guardduty, ebs_encryption_default, ebs_default_kms_key]
    default: []
  s3_keys:
    description:
      - Object keys of a bucket to look up (such as folder markers), with one C(ListObjectsV2) listing under
        their common prefix, as M(s3_objects) reads them. Returned in RV(s3_keys).
    type: dict
    suboptions:
      bucket:
        description: The bucket.
        type: str
        required: true
      keys:
        description: The keys.
        type: list
        elements: str
        required: true
        no_log: false
  key_pairs:
    description:
      - EC2 key pair names to look up (one C(DescribeKeyPairs) call for all of them). Those that exist
        are returned in RV(key_pairs), the rest in RV(missing_key_pairs).
    type: list
    elements: str
    default: []
    no_log: false
  log_groups:
    description:
      - CloudWatch Logs group names to look up (one C(DescribeLogGroups) call each). Those that exist
        are returned in RV(log_groups), the rest in RV(missing_log_groups).
    type: list
    elements: str
    default: []
  log_group_tags:
    description:
      - Whether RV(log_groups) holds each group's tags too (one C(ListTagsForResource) call each), as
        M(log_groups) reads them.
    type: bool
    default: false
  stacks:
    description:
      - CloudFormation stack names to read with their template (C(DescribeStacks) and C(GetTemplate) each).
        Those that exist are returned in RV(stacks).
    type: list
    elements: str
    default: []
  allow_endpoint_url:
    description:
      - Whether a custom endpoint (an emulator) may answer. Inventories for real accounts set
        V(false), so a C(AWS_ENDPOINT_URL) left over from the local cloud fails the run
        instead of sending it to the emulator.
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
- name: Read the account and the regional facts of the network phase
  aws_context_info:
    expected_account_id: "{{ aws_account_id | default(omit) }}"
    availability_zones: true
    prefix_list_services: [s3]
    endpoint_services: [ecr.api, ecr.dkr, logs, sts]
  register: network_context

- name: Use the S3 prefix list's CIDRs
  ansible.builtin.debug:
    msg: "{{ network_context.prefix_lists.s3.cidrs }}"

- name: Read the account, the key administrators, the pipeline key and the VPC in one task
  aws_context_info:
    principal_arns: "{{ key_admin_arns }}"
    key_aliases: [alias/rna-seq-pipeline]
    tagged:
      tags: {Project: rna-seq, Environment: production}
      resources:
        vpc: [rna-seq-vpc]
  register: storage_context
"""

RETURN = r"""
account_id:
  description: The caller's account.
  returned: always
  type: str
  sample: "123456789012"
caller_arn:
  description: The caller's ARN.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:user/alice
partition:
  description: The caller's partition.
  returned: always
  type: str
  sample: aws
region:
  description: The region the module talked to.
  returned: always
  type: str
  sample: us-east-1
endpoint_url:
  description: The custom endpoint in use (an emulator), or null for AWS itself.
  returned: always
  type: str
  sample: http://127.0.0.1:5500
availability_zones:
  description: Names of the region's available zones that need no opt-in, sorted.
  returned: when O(availability_zones) is true
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
prefix_lists:
  description: For each requested service, its AWS-managed prefix list.
  returned: always
  type: dict
  sample:
    s3:
      id: pl-63a5400a
      name: com.amazonaws.us-east-1.s3
      cidrs: [3.5.0.0/19, 52.216.0.0/15, 54.231.0.0/16]
endpoint_services:
  description:
    - For each requested short name the region offers, its service name, endpoint types, and whether its
      endpoints take an endpoint policy (C(policy_supported)).
  returned: always
  type: dict
  sample:
    ecr.api:
      service_name: com.amazonaws.us-east-1.ecr.api
      types: [Interface]
      policy_supported: true
missing_endpoint_services:
  description: Requested short names the region does not offer as endpoint services.
  returned: always
  type: list
  elements: str
  sample: []
principals:
  description: Each of O(principal_arns), whether it exists and its canonical ARN.
  returned: always
  type: list
  elements: dict
  sample: [{arn: "arn:aws:iam::123456789012:role/KeyAdmin", exists: true, canonical_arn: "arn:aws:iam::123456789012:role/KeyAdmin"}]
missing_principals:
  description: The O(principal_arns) that name no existing role or user.
  returned: always
  type: list
  elements: str
  sample: []
caller_principal_arn:
  description: The IAM role or user behind the caller.
  returned: when O(principal_arns) is set or O(resolve_caller) is true
  type: str
  sample: arn:aws:iam::123456789012:role/Admin
aliased_keys:
  description:
    - For each of O(key_aliases) that names a key, its ARN, ID and state, and with O(key_policies) its
      policy document.
    - Not called C(keys), which a template would read as the dictionary method.
  returned: always
  type: dict
  sample:
    alias/rna-seq-pipeline:
      key_arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
      key_id: 1234abcd-12ab-34cd-56ef-1234567890ab
      key_state: Enabled
      policy: {Version: "2012-10-17", Statement: []}
missing_keys:
  description: The O(key_aliases) that name no key.
  returned: always
  type: list
  elements: str
  sample: []
tagged:
  description: What O(tagged) found, shaped as tagged_resource_info returns it.
  returned: when O(tagged) is set
  type: dict
  contains:
    resources:
      description: By name, each owned resource found (type, id, name, tags, vpc_id and type-specific fields).
      type: dict
    ids:
      description: By name, the ID of each owned resource found.
      type: dict
    missing:
      description: Requested names with no owned resource.
      type: list
      elements: str
    foreign:
      description: Resources with a requested name whose ownership tags differ.
      type: list
      elements: dict
vpc_egress:
  description: For each of O(vpc_egress_of) that was found, its internet gateways and live NAT gateways.
  returned: always
  type: dict
  sample:
    rna-seq-vpc:
      internet_gateway_ids: []
      nat_gateways: [{nat_gateway_id: nat-0123456789abcdef0, connectivity_type: public}]
default_nacls:
  description:
    - For each of O(default_nacl_of) that was found, its default NACL's ID and how many rules it has
      in each direction besides the final deny (rule 32767, which cannot be removed).
  returned: always
  type: dict
  sample:
    rna-seq-vpc: {nacl_id: acl-0123456789abcdef0, ingress_rules: 0, egress_rules: 0}
vpc_endpoints:
  description: For each of O(vpc_endpoints_of) that was found, the IDs of its pending and available endpoints.
  returned: always
  type: dict
  sample:
    rna-seq-vpc: [vpce-0123456789abcdef0]
vpc_attributes:
  description: For each of O(vpc_attributes_of) that was found, its DNS support and DNS hostnames.
  returned: always
  type: dict
  sample:
    rna-seq-vpc: {dns_support: true, dns_hostnames: true}
images:
  description: The images O(images) found, with the fields of M(amazon.aws.ec2_ami_info) the phases use.
  returned: when O(images) is set
  type: list
  elements: dict
  sample: [{image_id: ami-0123456789abcdef0, name: debian-12-amd64-20250101-1234, creation_date: "2025-01-01T00:00:00.000Z",
            root_device_name: /dev/xvda, owner_id: "136693071363"}]
service_linked_roles:
  description: For each of O(service_linked_roles) that has its service-linked role, the role's ARN.
  returned: always
  type: dict
  sample:
    config.amazonaws.com: arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig
missing_service_linked_roles:
  description: The O(service_linked_roles) whose role does not exist.
  returned: always
  type: list
  elements: str
  sample: []
account_settings:
  description:
    - Each of O(account_settings), or V(null) where the caller may not read it. C(guardduty) is V({}) in a
      region without a detector.
  returned: always
  type: dict
  sample:
    s3_public_access_block: {block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true}
    guardduty:
      detector_id: 12abc34d567e8fa901bc2d34e56789f0
      settings: {enabled: true, s3_protection: true, finding_publishing_frequency: FIFTEEN_MINUTES}
      tags: {Project: rna-seq-hipaa}
    ebs_encryption_default: true
    ebs_default_kms_key: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
s3_keys:
  description:
    - Of O(s3_keys), the keys the bucket holds and those it does not (all of them when the bucket does not exist);
      V(null) when the caller may not list the bucket.
  returned: when O(s3_keys) is set
  type: dict
  sample: {present: [raw-data/, results/], missing: [logs/]}
key_pairs:
  description: For each of O(key_pairs) that exists, its ID, fingerprint and tags.
  returned: always
  type: dict
  sample:
    rna-seq-access-admin: {key_pair_id: key-0123456789abcdef0, fingerprint: "1f:51:ae:28", tags: {Project: rnaseq}}
missing_key_pairs:
  description: The O(key_pairs) that do not exist.
  returned: always
  type: list
  elements: str
  sample: []
log_groups:
  description: For each of O(log_groups) that exists, its ARN, KMS key, retention in days and, with O(log_group_tags), tags.
  returned: always
  type: dict
  sample:
    /aws/vpc/flow-logs: {arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/flow-logs:*", kms_key_id: null, retention: 365}
missing_log_groups:
  description: The O(log_groups) that do not exist.
  returned: always
  type: list
  elements: str
  sample: []
stacks:
  description:
    - For each of O(stacks) that exists, what M(amazon.aws.cloudformation_info) returns of it with
      C(stack_template=true) (C(stack_description), C(stack_outputs), C(stack_parameters), C(stack_tags),
      C(stack_template)), so a task can take either's answer.
  returned: always
  type: dict
owned_vpc_ids:
  description: The VPCs carrying every tag of O(owned_vpc_tags).
  returned: when O(owned_vpc_tags) is set
  type: list
  elements: str
  sample: [vpc-0123456789abcdef0]
"""

from urllib.parse import urlsplit

try:
    import boto3
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import endpoint_in_use
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import is_access_denied
from ansible.module_utils.toolkit_aws import is_loopback_host
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import unprefix_account_host
from ansible.module_utils.toolkit_iam import service_linked_role_arns
from ansible.module_utils.toolkit_lookup import check_principals
from ansible.module_utils.toolkit_lookup import default_nacls
from ansible.module_utils.toolkit_lookup import find_tagged
from ansible.module_utils.toolkit_lookup import images
from ansible.module_utils.toolkit_lookup import key_pairs
from ansible.module_utils.toolkit_lookup import keys_by_alias
from ansible.module_utils.toolkit_lookup import live_vpc_endpoints
from ansible.module_utils.toolkit_lookup import log_groups
from ansible.module_utils.toolkit_lookup import owned_vpc_ids
from ansible.module_utils.toolkit_lookup import read_guardduty
from ansible.module_utils.toolkit_lookup import stacks
from ansible.module_utils.toolkit_lookup import vpc_dns_attributes
from ansible.module_utils.toolkit_lookup import vpc_egress
from ansible.module_utils.toolkit_s3 import listed_sizes
from ansible.module_utils.toolkit_s3 import read_account_public_access_block

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def check_region_known(module):
    """Against AWS itself, refuse a region botocore has never heard of.

    An emulator answers for any region, so there the check is skipped.
    """
    region = module.region
    if not region:
        module.fail_json(msg="No AWS region set: set toolkit_aws_region in the inventory (or AWS_REGION).")
    if endpoint_in_use(module):
        return
    session = boto3.session.Session()
    known = set()
    for partition in session.get_available_partitions():
        known.update(session.get_available_regions("ec2", partition_name=partition))
    if region not in known:
        module.fail_json(msg=f"Unknown AWS region '{region}'. Check toolkit_aws_region in the inventory.")


def caller_identity(module):
    # The first call doubles as the connectivity probe: an unreachable endpoint
    # or missing credentials should fail in seconds, not after the ten
    # backed-off retries the inventory's retry settings allow for the rest.
    sts = module.client("sts", aws_config={"retries": {"mode": "standard", "max_attempts": 2}, "connect_timeout": 5})
    try:
        identity = sts.get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the caller identity")
    return identity


def availability_zones(module, ec2):
    try:
        zones = ec2.describe_availability_zones(
            Filters=[
                {"Name": "state", "Values": ["available"]},
                {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
            ]
        )["AvailabilityZones"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to list the region's availability zones")
    return sorted(zone["ZoneName"] for zone in zones if zone.get("ZoneType", "availability-zone") == "availability-zone")


def prefix_lists(module, ec2, services):
    result = {}
    if not services:
        return result
    names = {f"com.amazonaws.{module.region}.{service}": service for service in services}
    try:
        lists = paginate(
            ec2,
            "describe_managed_prefix_lists",
            "PrefixLists",
            Filters=[{"Name": "prefix-list-name", "Values": sorted(names)}],
        )
        for prefix_list in lists:
            service = names.get(prefix_list["PrefixListName"])
            if service is None or prefix_list.get("OwnerId") not in ("AWS", None):
                continue
            entries = paginate(ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=prefix_list["PrefixListId"])
            result[service] = {
                "id": prefix_list["PrefixListId"],
                "name": prefix_list["PrefixListName"],
                "cidrs": sorted(entry["Cidr"] for entry in entries),
            }
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the AWS-managed prefix lists")
    missing = sorted(set(services) - set(result))
    if missing:
        module.fail_json(msg=f"Region {module.region} has no AWS-managed prefix list for: {', '.join(missing)}")
    return result


def endpoint_services(module, ec2, services):
    found = {}
    if not services:
        return found, []
    names = {f"com.amazonaws.{module.region}.{service}": service for service in services}
    try:
        try:
            details = paginate(ec2, "describe_vpc_endpoint_services", "ServiceDetails", ServiceNames=sorted(names))
        except botocore.exceptions.ClientError as e:
            # AWS refuses the whole call when one name is unknown; only then
            # list every service of the region to tell which names are missing.
            if e.response.get("Error", {}).get("Code") != "InvalidServiceName":
                raise
            details = paginate(ec2, "describe_vpc_endpoint_services", "ServiceDetails")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to list the region's VPC endpoint services")
    for detail in details:
        service = names.get(detail["ServiceName"])
        if service is None:
            continue
        entry = found.setdefault(service, {"service_name": detail["ServiceName"], "types": [], "policy_supported": False})
        entry["policy_supported"] = entry["policy_supported"] or bool(detail.get("VpcEndpointPolicySupported"))
        for service_type in detail.get("ServiceType", []):
            if service_type["ServiceType"] not in entry["types"]:
                entry["types"].append(service_type["ServiceType"])
    for entry in found.values():
        entry["types"].sort()
    return found, sorted(set(services) - set(found))


def s3_keys(module, bucket, keys):
    """Which of the keys the bucket holds; None when the caller may not list it."""
    try:
        sizes = listed_sizes(module.client("s3"), bucket, keys)
    except is_boto3_error_code("NoSuchBucket"):
        sizes = {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        if is_access_denied(e):
            return None
        fail_aws(module, e, f"Failed to list bucket {bucket}")
    return {"present": [key for key in keys if key in sizes], "missing": [key for key in keys if key not in sizes]}


def account_settings(module, ec2, account_id, names):
    """The account-wide settings asked for, each None where the caller may not read it."""

    def guardduty():
        detector_id, settings, tags = read_guardduty(module.client("guardduty"))
        return {"detector_id": detector_id, "settings": settings, "tags": tags} if detector_id else {}

    readers = {
        "s3_public_access_block": lambda: read_account_public_access_block(unprefix_account_host(module.client("s3control")), account_id),
        "guardduty": guardduty,
        "ebs_encryption_default": lambda: ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
        "ebs_default_kms_key": lambda: ec2.get_ebs_default_kms_key_id()["KmsKeyId"],
    }
    found = {}
    for name in names:
        try:
            found[name] = readers[name]()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            if not is_access_denied(e):
                fail_aws(module, e, f"Failed to read the account's {name.replace('_', ' ')}")
            found[name] = None
    return found


def main():
    argument_spec = dict(
        expected_account_id=dict(type="str"),
        prefix_list_services=dict(type="list", elements="str", default=[]),
        endpoint_services=dict(type="list", elements="str", default=[]),
        availability_zones=dict(type="bool", default=False),
        principal_arns=dict(type="list", elements="str", default=[]),
        resolve_caller=dict(type="bool", default=False),
        key_aliases=dict(type="list", elements="str", default=[], no_log=False),
        key_policies=dict(type="bool", default=False),
        tagged=dict(
            type="dict",
            options=dict(tags=dict(type="dict", default={}), resources=dict(type="dict", required=True)),
        ),
        vpc_egress_of=dict(type="list", elements="str", default=[]),
        owned_vpc_tags=dict(type="dict"),
        default_nacl_of=dict(type="list", elements="str", default=[]),
        vpc_endpoints_of=dict(type="list", elements="str", default=[]),
        vpc_attributes_of=dict(type="list", elements="str", default=[]),
        images=dict(
            type="dict",
            options=dict(owners=dict(type="list", elements="str", default=[]), filters=dict(type="dict", required=True)),
        ),
        service_linked_roles=dict(type="list", elements="str", default=[]),
        account_settings=dict(type="list", elements="str", default=[],
                              choices=["s3_public_access_block", "guardduty", "ebs_encryption_default", "ebs_default_kms_key"]),
        key_pairs=dict(type="list", elements="str", default=[], no_log=False),
        s3_keys=dict(type="dict", options=dict(bucket=dict(type="str", required=True),
                                               keys=dict(type="list", elements="str", required=True, no_log=False))),
        log_groups=dict(type="list", elements="str", default=[]),
        log_group_tags=dict(type="bool", default=False),
        stacks=dict(type="list", elements="str", default=[]),
        allow_endpoint_url=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    endpoint = endpoint_in_use(module)
    if endpoint and not module.params["allow_endpoint_url"]:
        module.fail_json(
            msg=f"A custom AWS endpoint is set ({endpoint}) but this inventory targets a real AWS account. "
            "Unset AWS_ENDPOINT_URL (it is left over from scripts/local-cloud) and run again."
        )
    if endpoint and not is_loopback_host(urlsplit(endpoint).hostname or ""):
        # The local inventories take the caller's credentials from the
        # environment: they may only ever go to an emulator on this machine.
        module.fail_json(
            msg=f"The endpoint {endpoint} is not on this machine's loopback, where the local cloud answers; "
            "an inventory for the local cloud never talks to anything else. Check AWS_ENDPOINT_URL."
        )

    check_region_known(module)
    identity = caller_identity(module)
    account_id = identity["Account"]
    expected = module.params["expected_account_id"]
    if expected and str(expected) != account_id:
        module.fail_json(
            msg=f"Wrong AWS account: the caller is in {account_id} but the inventory is for {expected}. "
            "Nothing was changed. Switch credentials (AWS_PROFILE) or use the matching inventory."
        )

    params = module.params
    result = dict(
        changed=False,
        account_id=account_id,
        caller_arn=identity["Arn"],
        partition=identity["Arn"].split(":")[1],
        region=module.region,
        endpoint_url=endpoint_in_use(module),
    )
    needs_ec2 = any(params[name] for name in ("availability_zones", "prefix_list_services", "endpoint_services", "tagged", "images",
                                              "key_pairs")) or any(name.startswith("ebs_") for name in params["account_settings"])
    ec2 = module.client("ec2") if needs_ec2 or params["owned_vpc_tags"] is not None else None
    if params["availability_zones"]:
        result["availability_zones"] = availability_zones(module, ec2)
    result["prefix_lists"] = prefix_lists(module, ec2, params["prefix_list_services"])
    services, missing = endpoint_services(module, ec2, params["endpoint_services"])
    result.update(endpoint_services=services, missing_endpoint_services=missing)

    result.update(principals=[], missing_principals=[])
    if params["principal_arns"] or params["resolve_caller"]:
        principals = check_principals(module, module.client("iam"), params["principal_arns"], identity["Arn"])
        result.update(principals=principals["principals"], missing_principals=principals["missing"],
                      caller_principal_arn=principals["caller_principal_arn"])

    keys = keys_by_alias(module, module.client("kms"), params["key_aliases"], params["key_policies"]) if params["key_aliases"] else {}
    result.update(aliased_keys=keys, missing_keys=[alias for alias in params["key_aliases"] if alias not in keys])

    if params["tagged"]:
        ownership = {str(k): str(v) for k, v in params["tagged"]["tags"].items()}
        result["tagged"] = find_tagged(module, ec2, params["tagged"]["resources"], ownership)
    found = result.get("tagged", {}).get("resources", {})
    result["vpc_egress"] = {name: vpc_egress(module, ec2, found[name]["id"]) for name in params["vpc_egress_of"]
                            if found.get(name, {}).get("type") == "vpc"}
    # Of a VPC the run is about to make there is nothing to read yet: a name
    # not found is left out, and the phase reads it after making the VPC.
    for option, key, read in (("default_nacl_of", "default_nacls", default_nacls),
                              ("vpc_endpoints_of", "vpc_endpoints", live_vpc_endpoints)):
        vpcs = {found[name]["id"]: name for name in params[option] if found.get(name, {}).get("type") == "vpc"}
        result[key] = {vpcs[vpc_id]: answer for vpc_id, answer in read(module, ec2, list(vpcs)).items() if vpc_id in vpcs}
    try:
        result["vpc_attributes"] = {name: vpc_dns_attributes(ec2, found[name]["id"]) for name in params["vpc_attributes_of"]
                                    if found.get(name, {}).get("type") == "vpc"}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to read the VPCs' DNS attributes")
    if params["images"] is not None:
        result["images"] = images(module, ec2, params["images"]["owners"], params["images"]["filters"])
    pairs = key_pairs(module, ec2, params["key_pairs"]) if params["key_pairs"] else {}
    result.update(key_pairs=pairs, missing_key_pairs=[name for name in params["key_pairs"] if name not in pairs])
    roles = {}
    if params["service_linked_roles"]:
        try:
            roles = service_linked_role_arns(module.client("iam"), params["service_linked_roles"])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            fail_aws(module, e, "Failed to look up the service-linked roles")
    result.update(service_linked_roles=roles,
                  missing_service_linked_roles=[service for service in params["service_linked_roles"] if service not in roles])
    groups = log_groups(module, module.client("logs"), params["log_groups"], params["log_group_tags"]) if params["log_groups"] else {}
    result.update(log_groups=groups, missing_log_groups=[name for name in params["log_groups"] if name not in groups])
    result["stacks"] = stacks(module, module.client("cloudformation"), params["stacks"]) if params["stacks"] else {}
    result["account_settings"] = account_settings(module, ec2, account_id, params["account_settings"])
    if params["s3_keys"] is not None:
        result["s3_keys"] = s3_keys(module, params["s3_keys"]["bucket"], params["s3_keys"]["keys"])
    if params["owned_vpc_tags"] is not None:
        result["owned_vpc_ids"] = owned_vpc_ids(module, ec2, {str(k): str(v) for k, v in params["owned_vpc_tags"].items()})

    module.exit_json(**result)


if __name__ == "__main__":
    main()
