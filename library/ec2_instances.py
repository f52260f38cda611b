#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_instances
short_description: Make named EC2 instances run as declared, with their Elastic IPs, in one task
description:
  - For each instance, makes sure one instance with that C(Name) and the ownership tags (O(match_tags))
    is pending, running, stopping or stopped; launches it when there is none, and starts it when it
    is stopped.
  - A new instance is launched with every tag, on itself and on its volumes, in the launch call, so a
    run killed after the launch leaves an instance the next run finds.
  - An existing instance's security groups, instance metadata options and instance profile are set as
    declared, and its tags are made the declared ones (with O(purge_tags=false), its missing or changed
    tags are set and others are left alone).
  - What cannot change without replacing or stopping the instance (its instance type, subnet, private
    address and key pair) is refused, before any change to any instance of the task, with what to do
    instead. Its image and root volume are what it was launched with and are not compared, so a newer
    approved image does not replace a running host.
  - O(instances[].elastic_ip) names an Elastic IP the instance gets; it is allocated, tagged in the same
    call, when no address has that C(Name), and associated with the instance. Its tags are made O(tags)
    plus its C(Name), as O(purge_tags) says. An address of that name associated with another instance is refused.
  - The instances launched or started are waited for together until they run.
  - With O(state=absent), the instances with these names and the ownership tags are terminated and waited
    for together until they are gone, and then their Elastic IPs are released. An Elastic IP of that name
    associated with an instance that is not one of these is refused, before any change.
  - Supports check mode and diff.
notes:
  - Why not M(amazon.aws.ec2_instance), M(amazon.aws.ec2_eip) and M(amazon.aws.ec2_tag)? They take one
    instance or address per module run and read each instance about ten times on a run that changes
    nothing (counted in their code); here one C(DescribeInstances) and one C(DescribeAddresses) read
    them all.
options:
  instances:
    description: The instances.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Its C(Name) tag, unique among the instances with O(match_tags).
        type: str
        required: true
      image_id:
        description: The image it is launched from. Required with O(state=present), as are O(instances[].instance_type),
          O(instances[].subnet_id), O(instances[].security_group_ids) and O(instances[].root_volume).
        type: str
      instance_type:
        description: Its instance type.
        type: str
      subnet_id:
        description: The subnet of its network interface.
        type: str
      security_group_ids:
        description: Its security groups, exactly.
        type: list
        elements: str
      assign_public_ip:
        description: Whether it is launched with a public IPv4 address (not compared afterwards).
        type: bool
        default: false
      private_ip_address:
        description: Its fixed private IPv4 address; by default the subnet chooses one.
        type: str
      key_name:
        description: The key pair it is launched with.
        type: str
      iam_instance_profile:
        description: The name of its instance profile.
        type: str
      metadata_options:
        description: Its instance metadata service settings.
        type: dict
        default: {}
        suboptions:
          http_endpoint:
            description: Whether the metadata service answers.
            type: str
            choices: [enabled, disabled]
            default: enabled
          http_tokens:
            description: V(required) answers session (IMDSv2) requests only.
            type: str
            choices: [required, optional]
            default: required
          http_put_response_hop_limit:
            description: How many network hops a session token's response may travel.
            type: int
            default: 1
      root_volume:
        description: Its root volume, always encrypted and deleted with the instance.
        type: dict
        suboptions:
          device_name:
            description: The image's root device name.
            type: str
            required: true
          size_gib:
            description: Its size in GiB.
            type: int
            required: true
          volume_type:
            description: Its EBS volume type.
            type: str
            default: gp3
          kms_key_id:
            description: The KMS key (ARN) it is encrypted with; by default the account's EBS key.
            type: str
      tags:
        description: Tags of this instance only, on top of O(tags).
        type: dict
        default: {}
      elastic_ip:
        description: The C(Name) tag of the Elastic IP it gets, if any.
        type: str
  tags:
    description: Tags every instance, its volumes and its Elastic IP carry, besides their C(Name).
    type: dict
    default: {}
  purge_tags:
    description:
      - Whether an existing instance's or Elastic IP's tags that are not declared (O(tags), the instance's
        own O(instances[].tags) and its C(Name)) are removed. AWS's own C(aws:) tags never are.
    type: bool
    default: true
  match_tags:
    description: Tags an instance or Elastic IP must carry, besides its C(Name), to be one of these.
    type: dict
    default: {}
  state:
    description:
      - V(present) launches or converges the instances; V(absent) terminates them and releases their Elastic IPs.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description: Seconds to wait for the instances launched or started to run, or terminated to be gone.
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
- name: A bastion and a VPN host with its Elastic IP, IMDSv2 only, encrypted root volumes
  ec2_instances:
    tags: {Project: rna-seq-hipaa, Environment: production}
    match_tags: {Project: rna-seq-hipaa, Environment: production}
    instances:
      - name: rna-seq-bastion
        image_id: ami-0123456789abcdef0
        instance_type: t3.micro
        subnet_id: subnet-0123456789abcdef0
        security_group_ids: [sg-0123456789abcdef0]
        assign_public_ip: true
        key_name: rna-seq-admin
        iam_instance_profile: rna-seq-access-host-role
        root_volume: {device_name: /dev/xvda, size_gib: 8, kms_key_id: "arn:aws:kms:us-east-1:111122223333:key/..."}
        tags: {Role: bastion}
      - name: rna-seq-openvpn
        image_id: ami-0123456789abcdef0
        instance_type: t3.micro
        subnet_id: subnet-0123456789abcdef0
        security_group_ids: [sg-0fedcba9876543210]
        private_ip_address: 10.1.0.10
        key_name: rna-seq-admin
        iam_instance_profile: rna-seq-access-host-role
        root_volume: {device_name: /dev/xvda, size_gib: 8}
        tags: {Role: openvpn}
        elastic_ip: rna-seq-openvpn-eip
"""

RETURN = r"""
instances:
  description: The instances in the order declared; C(id) is empty for one only planned in check mode.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: rna-seq-openvpn, id: i-0123456789abcdef0, private_ip: 10.1.0.10, elastic_ip_allocation_id: eipalloc-0123456789abcdef0}
changes:
  description: By name, what was (or in check mode would be) changed.
  returned: always
  type: dict
  sample:
    rna-seq-openvpn: [launched, elastic_ip allocated, elastic_ip associated]
"""

import time
import uuid

try:
    import botocore.exceptions
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.toolkit_aws import by_name
from ansible.module_utils.toolkit_aws import ec2_tag_filters
from ansible.module_utils.toolkit_aws import fail_aws
from ansible.module_utils.toolkit_aws import fail_on_repeated_names
from ansible.module_utils.toolkit_aws import paginate
from ansible.module_utils.toolkit_aws import sync_ec2_tags
from ansible.module_utils.toolkit_aws import tag_dict
from ansible.module_utils.toolkit_aws import tag_list

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

LIVE_STATES = ["pending", "running", "stopping", "stopped"]
# A just-created instance profile is unknown to EC2 for a few seconds.
PROFILE_PROPAGATION_SECONDS = 60


def find_instances(ec2, match_tags, names):
    """{name: [instance, ...]} of the live instances with these names and the ownership tags."""
    filters = ec2_tag_filters(match_tags, names) + [{"Name": "instance-state-name", "Values": LIVE_STATES}]
    return by_name(instance for reservation in paginate(ec2, "describe_instances", "Reservations", Filters=filters)
                   for instance in reservation["Instances"])


def find_addresses(ec2, match_tags, names):
    """{name: [address, ...]} of the Elastic IPs with these names and the ownership tags."""
    if not names:
        return {}
    # DescribeAddresses has no paginator and answers in one page.
    return by_name(ec2.describe_addresses(Filters=ec2_tag_filters(match_tags, names))["Addresses"])


def primary_interface(instance):
    """The network interface at device index 0: its security groups are the instance's."""
    return next((eni for eni in instance.get("NetworkInterfaces", []) if eni.get("Attachment", {}).get("DeviceIndex") == 0), None)


def security_group_ids(instance):
    interface = primary_interface(instance)
    groups = interface["Groups"] if interface else instance.get("SecurityGroups", [])
    return sorted(group["GroupId"] for group in groups)


def profile_name(instance):
    arn = instance.get("IamInstanceProfile", {}).get("Arn", "")
    return arn.rsplit("/", 1)[-1] if arn else None


def instance_state(instance):
    """What the diff shows of an instance, in the options' terms."""
    metadata = instance.get("MetadataOptions", {})
    return {
        "state": instance["State"]["Name"],
        "instance_type": instance["InstanceType"],
        "subnet_id": instance.get("SubnetId"),
        "private_ip_address": instance.get("PrivateIpAddress"),
        "key_name": instance.get("KeyName"),
        "security_group_ids": security_group_ids(instance),
        "iam_instance_profile": profile_name(instance),
        "metadata_options": {"http_endpoint": metadata.get("HttpEndpoint"), "http_tokens": metadata.get("HttpTokens"),
                             "http_put_response_hop_limit": metadata.get("HttpPutResponseHopLimit")},
        "tags": tag_dict(instance.get("Tags")),
    }


def refusals(spec, instances, addresses):
    """Why this instance cannot be converged in place; empty when it can."""
    name = spec["name"]
    if len(instances) > 1:
        return [f"{name}: {len(instances)} instances carry this Name ({', '.join(i['InstanceId'] for i in instances)}); "
                "terminate the extra ones"]
    problems = []
    if instances:
        current = instance_state(instances[0])
        for option, hint in (("instance_type", "stop it and change its type, or terminate it to relaunch it"),
                             ("subnet_id", "terminate it to relaunch it there"),
                             ("private_ip_address", "terminate it to relaunch it with that address"),
                             ("key_name", "terminate it to relaunch it with that key pair")):
            if spec[option] is not None and current[option] != spec[option]:
                problems.append(f"{name}: its {option} is {current[option]}, not {spec[option]}; {hint}")
    if spec["elastic_ip"]:
        held = addresses.get(spec["elastic_ip"], [])
        if len(held) > 1:
            problems.append(f"{name}: {len(held)} Elastic IPs are named {spec['elastic_ip']}; release the extra ones")
        elif held and held[0].get("InstanceId") and (not instances or held[0]["InstanceId"] != instances[0]["InstanceId"]):
            problems.append(f"{name}: its Elastic IP {spec['elastic_ip']} is associated with {held[0]['InstanceId']}; "
                            "disassociate it first")
    return problems


def launch(ec2, spec):
    interface = {"DeviceIndex": 0, "SubnetId": spec["subnet_id"], "Groups": spec["security_group_ids"],
                 "AssociatePublicIpAddress": spec["assign_public_ip"], "DeleteOnTermination": True}
    if spec["private_ip_address"]:
        interface["PrivateIpAddress"] = spec["private_ip_address"]
    volume = spec["root_volume"]
    ebs = {"VolumeSize": volume["size_gib"], "VolumeType": volume["volume_type"], "Encrypted": True, "DeleteOnTermination": True}
    if volume["kms_key_id"]:
        ebs["KmsKeyId"] = volume["kms_key_id"]
    metadata = spec["metadata_options"]
    params = {
        "ImageId": spec["image_id"],
        "InstanceType": spec["instance_type"],
        "MinCount": 1,
        "MaxCount": 1,
        "NetworkInterfaces": [interface],
        "BlockDeviceMappings": [{"DeviceName": volume["device_name"], "Ebs": ebs}],
        "MetadataOptions": {"HttpEndpoint": metadata["http_endpoint"], "HttpTokens": metadata["http_tokens"],
                            "HttpPutResponseHopLimit": metadata["http_put_response_hop_limit"]},
        "TagSpecifications": [{"ResourceType": kind, "Tags": tag_list(spec["all_tags"])} for kind in ("instance", "volume")],
    }
    if spec["key_name"]:
        params["KeyName"] = spec["key_name"]
    if spec["iam_instance_profile"]:
        params["IamInstanceProfile"] = {"Name": spec["iam_instance_profile"]}
    deadline = time.monotonic() + PROFILE_PROPAGATION_SECONDS
    while True:
        # Retries of one launch request are idempotent (botocore's retries
        # resend it with this token); a later attempt or run launches anew.
        params["ClientToken"] = str(uuid.uuid4())
        try:
            return ec2.run_instances(**params)["Instances"][0]
        except botocore.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            if not (error.get("Code") == "InvalidParameterValue" and "iamInstanceProfile" in error.get("Message", "")
                    and time.monotonic() < deadline):
                raise
            time.sleep(5)


def converge_instance(module, ec2, spec, instance, changes):
    """Bring one existing instance to its declared settings; True when it is to be started."""
    check, instance_id = module.check_mode, instance["InstanceId"]
    current = instance_state(instance)
    if sorted(spec["security_group_ids"]) != current["security_group_ids"]:
        changes.append("security_group_ids")
        if not check:
            ec2.modify_network_interface_attribute(
                NetworkInterfaceId=primary_interface(instance)["NetworkInterfaceId"], Groups=spec["security_group_ids"])
    if spec["metadata_options"] != current["metadata_options"]:
        changes.append("metadata_options")
        if not check:
            metadata = spec["metadata_options"]
            ec2.modify_instance_metadata_options(
                InstanceId=instance_id, HttpEndpoint=metadata["http_endpoint"], HttpTokens=metadata["http_tokens"],
                HttpPutResponseHopLimit=metadata["http_put_response_hop_limit"])
    if spec["iam_instance_profile"] and spec["iam_instance_profile"] != current["iam_instance_profile"]:
        changes.append("iam_instance_profile")
        if not check:
            profile = {"Name": spec["iam_instance_profile"]}
            associations = ec2.describe_iam_instance_profile_associations(
                Filters=[{"Name": "instance-id", "Values": [instance_id]}, {"Name": "state", "Values": ["associated"]}]
            )["IamInstanceProfileAssociations"]
            if associations:
                ec2.replace_iam_instance_profile_association(
                    IamInstanceProfile=profile, AssociationId=associations[0]["AssociationId"])
            else:
                ec2.associate_iam_instance_profile(IamInstanceProfile=profile, InstanceId=instance_id)
    if sync_ec2_tags(ec2, instance_id, current["tags"], spec["all_tags"], check, module.params["purge_tags"]):
        changes.append("tags")
    if current["state"] in ("stopping", "stopped"):
        changes.append("started")
        if not check:
            if current["state"] == "stopping":
                ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id])
            ec2.start_instances(InstanceIds=[instance_id])
        return True
    return False


def converge_address(module, ec2, spec, address, instance_id, tags, changes):
    """Allocate (tagged) and associate the instance's Elastic IP and make its tags the declared ones; its allocation ID."""
    check, wanted = module.check_mode, {**tags, "Name": spec["elastic_ip"]}
    if address is None:
        changes.append("elastic_ip allocated")
        if check:
            address = {"AllocationId": ""}
        else:
            address = ec2.allocate_address(
                Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tag_list(wanted)}])
    elif sync_ec2_tags(ec2, address["AllocationId"], tag_dict(address.get("Tags")), wanted, check, module.params["purge_tags"]):
        changes.append("elastic_ip tags")
    if address.get("InstanceId") != instance_id:
        changes.append("elastic_ip associated")
        if not check:
            ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=instance_id, AllowReassociation=False)
    return address["AllocationId"]


def converge(module, ec2, specs, instances, addresses, tags):
    check = module.check_mode
    results, changes, before, after, to_wait = [], {}, {}, {}, []
    for spec in specs:
        name, found = spec["name"], instances.get(spec["name"], [])
        noted = changes.setdefault(name, [])
        after[name] = {"state": "running", "instance_type": spec["instance_type"],
                       "security_group_ids": sorted(spec["security_group_ids"]),
                       "iam_instance_profile": spec["iam_instance_profile"], "metadata_options": spec["metadata_options"],
                       "tags": spec["all_tags"], "elastic_ip": spec["elastic_ip"]}
        if found:
            instance = found[0]
            before[name] = {**instance_state(instance), "elastic_ip": spec["elastic_ip"] if addresses.get(spec["elastic_ip"]) else None}
            if converge_instance(module, ec2, spec, instance, noted):
                to_wait.append(instance["InstanceId"])
        else:
            before[name] = None
            noted.append("launched")
            instance = {"InstanceId": ""} if check else launch(ec2, spec)
            if instance["InstanceId"]:
                to_wait.append(instance["InstanceId"])
        results.append({"name": name, "id": instance["InstanceId"], "private_ip": instance.get("PrivateIpAddress", "")})
    if to_wait and not check:
        # An Elastic IP is associated with a running instance only; all are waited for together.
        delay = 5
        ec2.get_waiter("instance_running").wait(
            InstanceIds=to_wait, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, module.params["wait_timeout"] // delay)})
    for spec, result in zip(specs, results):
        if spec["elastic_ip"]:
            held = addresses.get(spec["elastic_ip"], [None])[0]
            result["elastic_ip_allocation_id"] = converge_address(module, ec2, spec, held, result["id"], tags, changes[spec["name"]])
    return results, {name: noted for name, noted in changes.items() if noted}, before, after


def remove(module, ec2, specs, instances, addresses):
    """Terminate the named instances, wait until they are gone, then release their Elastic IPs."""
    check, delay = module.check_mode, 5
    results, changes, before, to_terminate, to_release = [], {}, {}, [], []
    for spec in specs:
        name, found = spec["name"], instances.get(spec["name"], [])
        held = addresses.get(spec["elastic_ip"], []) if spec["elastic_ip"] else []
        noted = changes.setdefault(name, [])
        before[name] = {**instance_state(found[0]), "elastic_ip": spec["elastic_ip"] if held else None} if found else None
        if found:
            noted.append("terminated")
            to_terminate += [instance["InstanceId"] for instance in found]
        if held:
            noted.append("elastic_ip released")
            to_release += held
        results.append({"name": name, "id": found[0]["InstanceId"] if found else ""})
    if not check:
        # Disassociated first, so that the release after the wait finds each address free.
        for address in to_release:
            if address.get("AssociationId"):
                ec2.disassociate_address(AssociationId=address["AssociationId"])
        if to_terminate:
            ec2.terminate_instances(InstanceIds=to_terminate)
            ec2.get_waiter("instance_terminated").wait(
                InstanceIds=to_terminate, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, module.params["wait_timeout"] // delay)})
        for address in to_release:
            ec2.release_address(AllocationId=address["AllocationId"])
    return results, {name: noted for name, noted in changes.items() if noted}, before, {name: None for name in before if changes[name]}


def removal_refusals(spec, instances, addresses):
    """Why this instance's Elastic IP cannot be released with it; empty when it can."""
    ours = {instance["InstanceId"] for instance in instances}
    return [f"{spec['name']}: its Elastic IP {spec['elastic_ip']} is associated with {address['InstanceId']}, "
            "which is not one of these instances; disassociate it first"
            for address in (addresses.get(spec["elastic_ip"], []) if spec["elastic_ip"] else [])
            if address.get("InstanceId") and address["InstanceId"] not in ours]


LAUNCH_OPTIONS = ("image_id", "instance_type", "subnet_id", "security_group_ids", "root_volume")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instances=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    image_id=dict(type="str"),
                    instance_type=dict(type="str"),
                    subnet_id=dict(type="str"),
                    security_group_ids=dict(type="list", elements="str"),
                    assign_public_ip=dict(type="bool", default=False),
                    private_ip_address=dict(type="str"),
                    key_name=dict(type="str"),
                    iam_instance_profile=dict(type="str"),
                    metadata_options=dict(
                        type="dict",
                        default={},
                        options=dict(
                            http_endpoint=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
                            http_tokens=dict(type="str", choices=["required", "optional"], default="required"),
                            http_put_response_hop_limit=dict(type="int", default=1),
                        ),
                    ),
                    root_volume=dict(
                        type="dict",
                        options=dict(
                            device_name=dict(type="str", required=True),
                            size_gib=dict(type="int", required=True),
                            volume_type=dict(type="str", default="gp3"),
                            kms_key_id=dict(type="str"),
                        ),
                    ),
                    tags=dict(type="dict", default={}),
                    elastic_ip=dict(type="str"),
                ),
            ),
            tags=dict(type="dict", default={}),
            purge_tags=dict(type="bool", default=True),
            match_tags=dict(type="dict", default={}),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    specs = module.params["instances"]
    fail_on_repeated_names(module, [spec["name"] for spec in specs], "Instance names")
    fail_on_repeated_names(module, [spec["elastic_ip"] for spec in specs if spec["elastic_ip"]], "Elastic IP names")
    tags = {str(k): str(v) for k, v in module.params["tags"].items()}
    match_tags = {str(k): str(v) for k, v in module.params["match_tags"].items()}
    for spec in specs:
        spec["all_tags"] = {**tags, **{str(k): str(v) for k, v in spec["tags"].items()}, "Name": spec["name"]}
    present = module.params["state"] == "present"
    if present:
        missing = [f"{spec['name']}: {', '.join(o for o in LAUNCH_OPTIONS if spec[o] is None)}"
                   for spec in specs if any(spec[o] is None for o in LAUNCH_OPTIONS)]
        if missing:
            module.fail_json(msg=f"These instances lack what state=present needs to launch them: {'; '.join(missing)}.")
    ec2 = module.client("ec2")
    try:
        instances = find_instances(ec2, match_tags, [spec["name"] for spec in specs])
        addresses = find_addresses(ec2, match_tags, [spec["elastic_ip"] for spec in specs if spec["elastic_ip"]])
        check = refusals if present else removal_refusals
        problems = [problem for spec in specs for problem in check(spec, instances.get(spec["name"], []), addresses)]
        if problems:
            module.fail_json(msg=f"Nothing was changed: {'; '.join(problems)}.")
        if present:
            results, changes, before, after = converge(module, ec2, specs, instances, addresses, tags)
        else:
            results, changes, before, after = remove(module, ec2, specs, instances, addresses)
    except botocore.exceptions.WaiterError as e:
        module.fail_json(msg=f"The instances did not reach the {'running' if present else 'terminated'} state "
                             f"within {module.params['wait_timeout']} s: {e}")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        fail_aws(module, e, "Failed to converge the instances")
    module.exit_json(changed=bool(changes), instances=results, changes=changes, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
