"""ec2_instances: named instances launched tagged, kept as declared, given their Elastic IPs, read in one call."""

from __future__ import annotations

import boto3
import pytest

from support.module_harness import load_module, run_module

ec2_instances = load_module("ec2_instances")
TAGS = {"Project": "p", "Environment": "production"}


@pytest.fixture
def place(ec2, vpc_id):
    """A subnet, two security groups, an image, an instance profile and a key for the hosts."""
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    groups = [ec2.create_security_group(VpcId=vpc_id, GroupName=name, Description=name)["GroupId"] for name in ("a", "b")]
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    boto3.client("iam", region_name="us-east-1").create_instance_profile(InstanceProfileName="host-profile")
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    return {"subnet_id": subnet_id, "groups": groups, "image_id": image_id, "key_arn": key_arn}


def declared(place, **vpn):
    host = {"image_id": place["image_id"], "instance_type": "t3.micro", "subnet_id": place["subnet_id"],
            "iam_instance_profile": "host-profile",
            "root_volume": {"device_name": "/dev/xvda", "size_gib": 8, "kms_key_id": place["key_arn"]}}
    return {"tags": TAGS, "match_tags": TAGS, "instances": [
        {**host, "name": "bastion", "security_group_ids": [place["groups"][0]], "assign_public_ip": True, "tags": {"Role": "bastion"}},
        {**host, "name": "vpn", "security_group_ids": [place["groups"][1]], "private_ip_address": "10.0.1.10",
         "tags": {"Role": "openvpn"}, "elastic_ip": "vpn-eip", **vpn}]}


def live(ec2):
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])
    return {tag["Value"]: i for r in reservations["Reservations"] for i in r["Instances"] for tag in i["Tags"] if tag["Key"] == "Name"}


def tags_of(item):
    return {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}


def test_launches_tagged_hosts_with_imdsv2_encrypted_volumes_and_the_vpn_eip_then_does_nothing(ec2, place):
    first = run_module(ec2_instances, declared(place))
    assert first["changed"] is True
    assert first["changes"] == {"bastion": ["launched"], "vpn": ["launched", "elastic_ip allocated", "elastic_ip associated"]}
    hosts = live(ec2)
    assert [r["id"] for r in first["instances"]] == [hosts["bastion"]["InstanceId"], hosts["vpn"]["InstanceId"]]
    vpn = hosts["vpn"]
    assert vpn["State"]["Name"] == "running" and vpn["PrivateIpAddress"] == "10.0.1.10"
    assert vpn["MetadataOptions"]["HttpTokens"] == "required" and vpn["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert vpn["IamInstanceProfile"]["Arn"].endswith("/host-profile")
    assert [g["GroupId"] for g in vpn["NetworkInterfaces"][0]["Groups"]] == [place["groups"][1]]
    assert tags_of(vpn) == {**TAGS, "Name": "vpn", "Role": "openvpn"}
    (volume,) = ec2.describe_volumes(VolumeIds=[vpn["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]])["Volumes"]
    assert volume["Encrypted"] and volume["KmsKeyId"] == place["key_arn"] and tags_of(volume) == tags_of(vpn)
    (address,) = ec2.describe_addresses()["Addresses"]
    assert address["InstanceId"] == vpn["InstanceId"] and tags_of(address) == {**TAGS, "Name": "vpn-eip"}
    assert first["instances"][1]["elastic_ip_allocation_id"] == address["AllocationId"]

    again = run_module(ec2_instances, declared(place))
    assert again["changed"] is False and again["changes"] == {}
    assert [r["id"] for r in again["instances"]] == [r["id"] for r in first["instances"]]


def test_check_mode_plans_without_writing(ec2, place):
    planned = run_module(ec2_instances, {**declared(place), "_ansible_check_mode": True})
    assert planned["changed"] is True and [r["id"] for r in planned["instances"]] == ["", ""]
    assert planned["changes"]["vpn"] == ["launched", "elastic_ip allocated", "elastic_ip associated"]
    assert live(ec2) == {} and ec2.describe_addresses()["Addresses"] == []


def test_drift_in_groups_metadata_tags_state_and_the_eips_tags_is_repaired(ec2, place):
    run_module(ec2_instances, declared(place))
    vpn = live(ec2)["vpn"]["InstanceId"]
    eni = live(ec2)["vpn"]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, Groups=place["groups"])
    ec2.modify_instance_metadata_options(InstanceId=vpn, HttpTokens="optional")
    ec2.delete_tags(Resources=[vpn], Tags=[{"Key": "Role"}])
    ec2.create_tags(Resources=[vpn], Tags=[{"Key": "Owner", "Value": "someone"}])
    ec2.stop_instances(InstanceIds=[vpn])
    (address,) = ec2.describe_addresses()["Addresses"]
    ec2.create_tags(Resources=[address["AllocationId"]], Tags=[{"Key": "Stray", "Value": "x"}])

    repaired = run_module(ec2_instances, declared(place))
    assert repaired["changes"] == {"vpn": ["security_group_ids", "metadata_options", "tags", "started", "elastic_ip tags"]}
    host = live(ec2)["vpn"]
    assert host["State"]["Name"] == "running" and host["MetadataOptions"]["HttpTokens"] == "required"
    assert [g["GroupId"] for g in host["NetworkInterfaces"][0]["Groups"]] == [place["groups"][1]]
    # purge_tags (the default): the tags are made exactly the declared ones, the host's and the Elastic IP's.
    assert tags_of(host) == {**TAGS, "Name": "vpn", "Role": "openvpn"}
    assert tags_of(ec2.describe_addresses()["Addresses"][0]) == {**TAGS, "Name": "vpn-eip"}
    assert run_module(ec2_instances, declared(place))["changed"] is False


def test_with_purge_tags_false_tags_set_by_hand_stay_and_declared_ones_are_set(ec2, place):
    run_module(ec2_instances, declared(place))
    vpn = live(ec2)["vpn"]["InstanceId"]
    (address,) = ec2.describe_addresses()["Addresses"]
    ec2.create_tags(Resources=[vpn], Tags=[{"Key": "Owner", "Value": "someone"}, {"Key": "Role", "Value": "other"}])
    ec2.create_tags(Resources=[address["AllocationId"]], Tags=[{"Key": "Stray", "Value": "x"}])
    kept = run_module(ec2_instances, {**declared(place), "purge_tags": False})
    assert kept["changes"] == {"vpn": ["tags"]}
    assert tags_of(live(ec2)["vpn"]) == {**TAGS, "Name": "vpn", "Role": "openvpn", "Owner": "someone"}
    assert tags_of(ec2.describe_addresses()["Addresses"][0]) == {**TAGS, "Name": "vpn-eip", "Stray": "x"}
    assert run_module(ec2_instances, {**declared(place), "purge_tags": False})["changed"] is False


def test_a_replaced_vpn_host_gets_the_same_elastic_ip_back(ec2, place):
    first = run_module(ec2_instances, declared(place))
    ec2.terminate_instances(InstanceIds=[first["instances"][1]["id"]])
    # AWS disassociates a terminated instance's address; moto leaves it.
    ec2.disassociate_address(AssociationId=ec2.describe_addresses()["Addresses"][0]["AssociationId"])
    replaced = run_module(ec2_instances, declared(place))
    assert replaced["changes"] == {"vpn": ["launched", "elastic_ip associated"]}
    (address,) = ec2.describe_addresses()["Addresses"]
    assert address["InstanceId"] == replaced["instances"][1]["id"] != first["instances"][1]["id"]
    assert address["AllocationId"] == first["instances"][1]["elastic_ip_allocation_id"]


def test_what_needs_a_new_instance_is_refused_before_any_change(ec2, place):
    run_module(ec2_instances, declared(place))
    vpn = live(ec2)["vpn"]["InstanceId"]
    ec2.modify_instance_metadata_options(InstanceId=vpn, HttpTokens="optional")
    result = run_module(ec2_instances, declared(place, instance_type="t3.small", private_ip_address="10.0.1.11"))
    assert result["failed"] is True and result["msg"].startswith("Nothing was changed")
    assert "vpn: its instance_type is t3.micro, not t3.small; stop it and change its type" in result["msg"]
    assert "its private_ip_address is 10.0.1.10, not 10.0.1.11" in result["msg"]
    assert live(ec2)["vpn"]["MetadataOptions"]["HttpTokens"] == "optional"


def test_an_elastic_ip_held_by_another_instance_or_a_duplicate_name_is_refused(ec2, place):
    run_module(ec2_instances, declared(place))
    hosts = live(ec2)
    (address,) = ec2.describe_addresses()["Addresses"]
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=hosts["bastion"]["InstanceId"], AllowReassociation=True)
    result = run_module(ec2_instances, declared(place))
    assert result["failed"] is True
    assert f"its Elastic IP vpn-eip is associated with {hosts['bastion']['InstanceId']}; disassociate it first" in result["msg"]

    ec2.run_instances(ImageId=place["image_id"], MinCount=1, MaxCount=1, SubnetId=place["subnet_id"],
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "bastion"},
                                          *[{"Key": k, "Value": v} for k, v in TAGS.items()]]}])
    result = run_module(ec2_instances, declared(place))
    assert result["failed"] is True and "bastion: 2 instances carry this Name" in result["msg"]


def test_an_instance_without_the_ownership_tags_is_not_one_of_them(ec2, place):
    ec2.run_instances(ImageId=place["image_id"], MinCount=1, MaxCount=1, SubnetId=place["subnet_id"],
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "bastion"}]}])
    result = run_module(ec2_instances, declared(place))
    assert result["changes"]["bastion"] == ["launched"]


def test_another_instance_profile_replaces_the_one_it_has(ec2, place):
    run_module(ec2_instances, declared(place))
    boto3.client("iam", region_name="us-east-1").create_instance_profile(InstanceProfileName="other-profile")
    wanted = declared(place)
    for host in wanted["instances"]:
        host["iam_instance_profile"] = "other-profile"
    changed = run_module(ec2_instances, wanted)
    assert changed["changes"] == {"bastion": ["iam_instance_profile"], "vpn": ["iam_instance_profile"]}
    # moto records the new association but keeps describing the instance with
    # the old profile, so a second run is not checked here; AWS shows the new one.
    associations = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [live(ec2)["vpn"]["InstanceId"]]}])["IamInstanceProfileAssociations"]
    assert [a["IamInstanceProfile"]["Arn"].rsplit("/", 1)[-1] for a in associations] == ["other-profile"]


def gone():
    """What teardown declares: the names, the Elastic IP's name and the ownership tags; nothing to launch with."""
    return {"match_tags": TAGS, "state": "absent", "instances": [{"name": "bastion"}, {"name": "vpn", "elastic_ip": "vpn-eip"}]}


def test_state_absent_is_planned_then_terminates_the_hosts_and_releases_the_elastic_ip_once(ec2, place):
    launched = run_module(ec2_instances, declared(place))
    stranger = ec2.run_instances(ImageId=place["image_id"], MinCount=1, MaxCount=1, SubnetId=place["subnet_id"], TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "bastion"}]}])["Instances"][0]["InstanceId"]
    planned = run_module(ec2_instances, {**gone(), "_ansible_check_mode": True})
    assert planned["changes"] == {"bastion": ["terminated"], "vpn": ["terminated", "elastic_ip released"]}
    assert planned["diff"]["after"] == {"bastion": None, "vpn": None} and len(live(ec2)) == 2
    assert len(ec2.describe_addresses()["Addresses"]) == 1, "check mode wrote nothing"

    removed = run_module(ec2_instances, gone())
    assert removed["changed"] is True and [r["id"] for r in removed["instances"]] == [i["id"] for i in launched["instances"]]
    states = {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert [states[i["id"]] for i in launched["instances"]] == ["terminated", "terminated"]
    assert states[stranger] == "running", "an instance without the ownership tags is not one of them"
    assert ec2.describe_addresses()["Addresses"] == []
    again = run_module(ec2_instances, gone())
    assert again["changed"] is False and again["changes"] == {}


def test_state_absent_refuses_an_elastic_ip_held_by_another_instance_and_state_present_names_what_it_lacks(ec2, place):
    run_module(ec2_instances, declared(place))
    (address,) = ec2.describe_addresses()["Addresses"]
    other = live(ec2)["bastion"]["InstanceId"]
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=other, AllowReassociation=True)
    refused = run_module(ec2_instances, {**gone(), "instances": [{"name": "vpn", "elastic_ip": "vpn-eip"}]})
    assert refused["failed"] is True and refused["msg"] == (
        f"Nothing was changed: vpn: its Elastic IP vpn-eip is associated with {other}, which is not one of these "
        "instances; disassociate it first.")
    assert len(live(ec2)) == 2
    lacking = run_module(ec2_instances, {"instances": [{"name": "vpn"}]})
    assert lacking["failed"] is True and lacking["msg"] == (
        "These instances lack what state=present needs to launch them: vpn: image_id, instance_type, subnet_id, "
        "security_group_ids, root_volume.")
