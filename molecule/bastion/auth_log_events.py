"""Prints the events of every stream in the local CloudWatch Logs' auth log
group, as {stream: [message, ...]}, creating the group first where it is
missing (a fresh or restarted emulator). molecule/bastion's verify.yml."""
import json
import sys

import boto3

GROUP = "/rnaseq/access-hosts/auth"
client = boto3.client("logs", endpoint_url=sys.argv[1])
if not client.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
    client.create_log_group(logGroupName=GROUP)
streams = client.describe_log_streams(logGroupName=GROUP)["logStreams"]
print(json.dumps({
    s["logStreamName"]: [e["message"] for e in client.get_log_events(
        logGroupName=GROUP, logStreamName=s["logStreamName"], startFromHead=True)["events"]]
    for s in streams}))
