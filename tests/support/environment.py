"""The local inventory's environment counted by kind: how the fault and AWS-model tests see a duplicate."""

from __future__ import annotations

# The local inventory's environment, counted by kind. A duplicate from a
# re-run shows up as one too many.
EXPECTED_COUNTS = {
    "toolkit VPCs": 2,
    # Production's private NACL and the management subnet's.
    "NACLs besides the defaults": 2,
    # Production's private one, and the management VPC's public and private ones.
    "route tables besides the main ones": 3,
    "internet gateways": 1,
    # The VPN host's and the management NAT gateway's.
    "Elastic IPs": 2,
    "NAT gateways": 1,
    "instances": 2,
    "customer managed keys": 2,
    "trails": 1,
    "stacks": 1,
    "compute environments": 2,
}

def environment_counts(cloud) -> dict[str, int]:
    ec2 = cloud.client("ec2")
    owned = [{"Name": "tag:ManagedBy", "Values": ["rnaseq-hipaa-toolkit"]}]
    instances = [i for r in ec2.describe_instances(Filters=owned)["Reservations"] for i in r["Instances"]
                 if i["State"]["Name"] != "terminated"]
    kms = cloud.client("kms")
    keys = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    return {
        "toolkit VPCs": len(ec2.describe_vpcs(Filters=owned)["Vpcs"]),
        "NACLs besides the defaults": len([n for n in ec2.describe_network_acls()["NetworkAcls"] if not n["IsDefault"]]),
        "route tables besides the main ones": len([t for t in ec2.describe_route_tables()["RouteTables"]
                                                   if not any(a.get("Main") for a in t["Associations"])]),
        "internet gateways": len(ec2.describe_internet_gateways()["InternetGateways"]),
        "Elastic IPs": len(ec2.describe_addresses()["Addresses"]),
        "NAT gateways": len([n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] in ("pending", "available")]),
        "instances": len(instances),
        "customer managed keys": len([k for k in keys if k["KeyManager"] == "CUSTOMER" and k["KeyState"] == "Enabled"]),
        "trails": len(cloud.client("cloudtrail").describe_trails()["trailList"]),
        "stacks": len(cloud.client("cloudformation").describe_stacks()["Stacks"]),
        "compute environments": len(cloud.client("batch").describe_compute_environments()["computeEnvironments"]),
    }
