"""The audit and access controls, on state verify recorded from a converged local cloud.

fixtures/audit_state.json and fixtures/access_state.json hold what verify
gathered (and the baseline it compared with); each test breaks one thing in
a copy and expects the matching control, and only it, to fail.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from access_controls import access_controls
from audit_controls import audit_controls, records_data_event
from controls import control_failures, controls_summary
from diagram import network_diagram

FIXTURES = Path(__file__).parent / "fixtures"
AUDIT = json.loads((FIXTURES / "audit_state.json").read_text())
ACCESS = json.loads((FIXTURES / "access_state.json").read_text())


@pytest.fixture
def audit():
    return copy.deepcopy(AUDIT["state"]), copy.deepcopy(AUDIT["baseline"])


@pytest.fixture
def access():
    return copy.deepcopy(ACCESS["state"]), copy.deepcopy(ACCESS["baseline"])


def failed(results):
    return sorted({r["id"] for r in results if r["status"] == "fail"})


def assert_only_failure(results, control, words):
    """`control` alone fails, and its finding says `words`."""
    assert failed(results) == [control]
    assert words in next(r["found"] for r in results if r["id"] == control)


def test_the_recorded_audit_phase_passes_every_control(audit):
    results = audit_controls(*audit)
    assert failed(results) == []
    assert sorted({r["id"] for r in results}) == [f"AUD-{n:02d}" for n in range(1, 17)]
    # One AUD-06 per log group, one AUD-10 per toolkit VPC.
    assert [r["resource"] for r in results if r["id"] == "AUD-06"] == [
        "/aws/cloudtrail/rnaseq", "/aws/vpc/flow-logs/rnaseq", "/aws/ssm/sessions/rnaseq", "/rnaseq/access-hosts/auth"]
    assert len([r for r in results if r["id"] == "AUD-10"]) == 2
    for result in results:
        assert result["hipaa"] and result["repair"].startswith("ansible-playbook playbooks/audit.yml --tags ")


@pytest.mark.parametrize("kind, change, found", [
    ("guardduty", {"state": "DISABLED"}, "rnaseq-findings-guardduty disabled"),
    ("securityhub", {"event_pattern": {"source": ["aws.securityhub"]}}, "rnaseq-findings-securityhub another event pattern"),
    ("config", {"targets": ["arn:aws:sns:us-east-1:123456789012:elsewhere"]}, "rnaseq-findings-config not targeting the topic"),
    ("config", None, "rnaseq-findings-config missing"),
])
def test_findings_that_do_not_reach_the_topic_fail_aud_15(audit, kind, change, found):
    state, baseline = audit
    rules = state["services"]["event_rules"]
    if change is None:
        del rules[f"rnaseq-findings-{kind}"]
    else:
        rules[f"rnaseq-findings-{kind}"].update(change)
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-15"]
    assert next(r for r in results if r["id"] == "AUD-15")["found"] == found


def test_the_finding_rules_send_each_kind_of_finding_the_issue_names():
    import yaml

    rules = {r["name"].rsplit("}}", 1)[-1]: r["event_pattern"]
             for r in yaml.safe_load((Path(__file__).parents[2] / "roles/audit/vars/main.yml").read_text())["audit_finding_rules"]}
    assert rules["guardduty"]["detail"]["severity"] == [{"numeric": [">=", 4]}], "medium (4.0) and above"
    assert rules["securityhub"]["detail"]["findings"]["Severity"]["Label"] == ["CRITICAL", "HIGH"]
    assert rules["securityhub"]["detail"]["findings"]["Compliance"]["Status"] == ["FAILED"]
    assert rules["config"]["detail"]["newEvaluationResult"]["complianceType"] == ["NON_COMPLIANT"]


def test_a_stopped_trail_fails_aud_02_and_says_so(audit):
    state, baseline = audit
    state["trail"]["is_logging"] = False
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-02"]
    assert control_failures(results) == [
        "AUD-02 FAIL The trail is logging: rnaseq-trail: found logging stopped "
        "(repair: ansible-playbook playbooks/audit.yml --tags trail)"
    ]


@pytest.mark.parametrize("setting", ["is_multi_region_trail", "include_global_service_events", "log_file_validation_enabled"])
def test_a_single_region_trail_or_one_without_validation_fails_aud_01(audit, setting):
    state, baseline = audit
    state["trail"][setting] = False
    assert failed(audit_controls(state, baseline)) == ["AUD-01"]


def test_a_trail_with_another_key_or_no_log_group_fails_aud_03(audit):
    state, baseline = audit
    state["trail"]["kms_key_id"] = "arn:aws:kms:us-east-1:123456789012:key/other"
    assert failed(audit_controls(state, baseline)) == ["AUD-03"]
    state, baseline = copy.deepcopy(AUDIT["state"]), AUDIT["baseline"]
    state["trail"]["cloud_watch_logs_log_group_arn"] = None
    assert failed(audit_controls(state, baseline)) == ["AUD-03"]


def test_no_trail_fails_the_three_trail_controls(audit):
    state, baseline = audit
    state["trail"] = None
    assert failed(audit_controls(state, baseline)) == ["AUD-01", "AUD-02", "AUD-03"]


def test_audit_key_rotation_off_fails_aud_04(audit):
    state, baseline = audit
    state["key"]["enable_key_rotation"] = False
    assert failed(audit_controls(state, baseline)) == ["AUD-04"]


def test_log_bucket_versioning_suspended_or_plain_http_allowed_fails_aud_05(audit):
    state, baseline = audit
    state["log_bucket"]["bucket_versioning"]["Status"] = "Suspended"
    assert failed(audit_controls(state, baseline)) == ["AUD-05"]
    state, baseline = copy.deepcopy(AUDIT["state"]), AUDIT["baseline"]
    policy = json.loads(state["log_bucket"]["bucket_policy"]["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DenyInsecureTransport"]
    state["log_bucket"]["bucket_policy"]["Policy"] = json.dumps(policy)
    assert failed(audit_controls(state, baseline)) == ["AUD-05"]


def test_an_audit_log_bucket_whose_access_is_not_logged_fails_aud_11(audit):
    state, baseline = audit
    state["log_bucket"]["bucket_logging"] = {}
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-11"]
    assert next(r for r in results if r["id"] == "AUD-11")["found"] == "logging off"
    state["log_bucket"]["bucket_logging"] = {"LoggingEnabled": {"TargetBucket": baseline["log_bucket"], "TargetPrefix": ""}}
    assert failed(audit_controls(state, baseline)) == ["AUD-11"]


@pytest.mark.parametrize("lock, found", [
    ({}, "no Object Lock"),
    ({"mode": "GOVERNANCE", "days": 30}, "Object Lock, GOVERNANCE mode, 30 days"),
    ({"mode": None, "days": None}, "Object Lock, None mode, None days"),
])
def test_an_audit_log_bucket_without_object_lock_or_with_a_short_retention_fails_aud_13(audit, lock, found):
    state, baseline = audit
    state["services"]["object_lock"][baseline["log_bucket"]] = lock
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-13"]
    result = next(r for r in results if r["id"] == "AUD-13")
    assert result["found"] == found and result["repair"] == "ansible-playbook playbooks/audit.yml --tags log_bucket"


def test_compliance_mode_passes_aud_13_where_governance_is_asked_but_not_the_other_way(audit):
    state, baseline = audit
    state["services"]["object_lock"][baseline["log_bucket"]]["mode"] = "COMPLIANCE"
    assert failed(audit_controls(state, baseline)) == []
    state["services"]["object_lock"][baseline["log_bucket"]]["mode"] = "GOVERNANCE"
    baseline["lock_mode"] = "COMPLIANCE"
    assert failed(audit_controls(state, baseline)) == ["AUD-13"]


def _selectors(state):
    return state["services"]["event_selectors"]["AdvancedEventSelectors"]


@pytest.mark.parametrize("breakage, missing", [
    # The data events of one bucket dropped.
    (lambda sel: sel[1]["FieldSelectors"][2].update(StartsWith=["arn:aws:s3:::another-bucket/"]),
     "GetObject in rnaseq-hipaa-data-bucket, PutObject in rnaseq-hipaa-data-bucket, DeleteObject in rnaseq-hipaa-data-bucket"),
    # Only writes in the log buckets.
    (lambda sel: sel[2]["FieldSelectors"].append({"Field": "readOnly", "Equals": ["false"]}),
     "GetObject in rnaseq-hipaa-data-bucket-access-logs, GetObject in rnaseq-hipaa-data-bucket-audit-logs"),
    # Deletions excluded too.
    (lambda sel: sel[2]["FieldSelectors"][3].update(NotEquals=["PutObject", "DeleteObject"]),
     "DeleteObject in rnaseq-hipaa-data-bucket-access-logs, DeleteObject in rnaseq-hipaa-data-bucket-audit-logs"),
    # Management events only.
    (lambda sel: sel.__delitem__(slice(1, None)), "GetObject in rnaseq-hipaa-data-bucket,"),
])
def test_a_bucket_whose_object_events_go_unrecorded_fails_aud_14(audit, breakage, missing):
    state, baseline = audit
    breakage(_selectors(state))
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-14"]
    result = next(r for r in results if r["id"] == "AUD-14")
    assert result["found"].startswith(f"not recorded: {missing}")
    assert result["repair"] == "ansible-playbook playbooks/audit.yml --tags trail"


def test_basic_event_selectors_count_for_aud_14_when_they_cover_every_bucket(audit):
    state, baseline = audit
    state["services"]["event_selectors"] = {"AdvancedEventSelectors": [], "EventSelectors": [{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}
    assert failed(audit_controls(state, baseline)) == []
    state["services"]["event_selectors"]["EventSelectors"][0]["ReadWriteType"] = "WriteOnly"
    assert failed(audit_controls(state, baseline)) == ["AUD-14"]


def test_the_log_buckets_uploads_are_the_one_event_left_unrecorded():
    selectors = AUDIT["state"]["services"]["event_selectors"]
    log = "arn:aws:s3:::rnaseq-hipaa-data-bucket-audit-logs/cloudtrail/AWSLogs/file.json.gz"
    assert not records_data_event(selectors, log, "PutObject", False)
    assert records_data_event(selectors, log, "GetObject", True)
    assert records_data_event(selectors, log, "PutObjectRetention", False)
    assert records_data_event(selectors, "arn:aws:s3:::rnaseq-hipaa-data-bucket/raw-data/x.fastq", "PutObject", False)
    # A bucket whose name starts like a toolkit bucket's is not one.
    assert not records_data_event(selectors, "arn:aws:s3:::rnaseq-hipaa-data-bucket-copy/x", "GetObject", True)


@pytest.mark.parametrize("breakage, words", [
    (lambda st: st["Condition"].pop("StringEquals"), "aws:SourceAccount not required"),
    (lambda st: st["Condition"].pop("ArnLike"), "aws:SourceArn not required"),
    (lambda st: st["Condition"]["ArnLike"].update({"aws:SourceArn": ["arn:aws:ec2:us-east-1:210987654321:vpc-flow-log/*"]}),
     "aws:SourceArn arn:aws:ec2:us-east-1:210987654321:vpc-flow-log/*"),
    (lambda st: st.update(Principal={"Service": ["vpc-flow-logs.amazonaws.com", "ec2.amazonaws.com"]}), "admits"),
])
def test_a_flow_logs_role_open_to_other_accounts_resources_fails_aud_12(audit, breakage, words):
    state, baseline = audit
    breakage(state["roles"]["rnaseq-vpc-flow-logs"]["trust_policy"]["Statement"][0])
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-12"]
    assert words in next(r for r in results if r["id"] == "AUD-12")["found"]
    state["roles"] = {}
    assert next(r for r in audit_controls(state, baseline) if r["id"] == "AUD-12")["found"] == "rnaseq-vpc-flow-logs missing"


def test_short_retention_or_an_unencrypted_log_group_fails_aud_06(audit):
    state, baseline = audit
    state["log_groups"][0]["retention_in_days"] = 30
    state["log_groups"][1].pop("kms_key_id")
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-06"]
    assert len([r for r in results if r["status"] == "fail"]) == 2


def test_a_missing_alarm_or_one_without_the_topic_fails_aud_07(audit):
    state, baseline = audit
    state["alarms"] = state["alarms"][1:]
    state["alarms"][0]["alarm_actions"] = []
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-07"]
    found = next(r["found"] for r in results if r["id"] == "AUD-07")
    assert "rnaseq-cis-unauthorized-api-calls" in found and "rnaseq-cis-console-signin-without-mfa" in found


def test_config_not_recording_or_delivering_elsewhere_fails_aud_08(audit):
    state, baseline = audit
    state["services"]["config_recorders"][0]["recording"] = False
    assert failed(audit_controls(state, baseline)) == ["AUD-08"]
    state, baseline = copy.deepcopy(AUDIT["state"]), AUDIT["baseline"]
    state["services"]["delivery_channels"][0]["s3_bucket_name"] = "somewhere-else"
    assert failed(audit_controls(state, baseline)) == ["AUD-08"]


def test_guardduty_off_or_without_s3_protection_fails_aud_09(audit):
    state, baseline = audit
    state["services"]["guardduty_detectors"][0]["s3_protection"] = False
    assert failed(audit_controls(state, baseline)) == ["AUD-09"]
    baseline["guardduty_s3_protection"] = False
    assert failed(audit_controls(state, baseline)) == []
    state["services"]["guardduty_detectors"] = []
    assert failed(audit_controls(state, baseline)) == ["AUD-09"]


def test_a_vpc_without_an_all_traffic_flow_log_fails_aud_10_for_that_vpc(audit):
    state, baseline = audit
    state["services"]["flow_logs"][1]["traffic_type"] = "REJECT"
    results = audit_controls(state, baseline)
    assert failed(results) == ["AUD-10"]
    failing = [r["resource"] for r in results if r["status"] == "fail"]
    assert failing == [f"rna-seq-management-vpc ({state['vpcs']['rna-seq-management-vpc']})"]


def test_the_recorded_access_phase_passes_every_control(access):
    results = access_controls(*access)
    assert failed(results) == []
    assert sorted({r["id"] for r in results}) == [f"ACC-{n:02d}" for n in range(1, 14)]
    assert all(r["repair"].startswith("ansible-playbook playbooks/access.yml --tags ") for r in results)


def test_the_management_vpcs_default_group_with_its_aws_default_rules_fails_acc_07(access):
    state, baseline = access
    default = next(g for g in state["security_groups"] if g["group_name"] == "default")
    default["ip_permissions_egress"] = [{"ip_protocol": "-1", "user_id_group_pairs": [], "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}],
                                         "ipv6_ranges": [], "prefix_list_ids": []}]
    results = access_controls(state, baseline)
    assert failed(results) == ["ACC-07"]
    assert next(r for r in results if r["id"] == "ACC-07")["repair"] == "ansible-playbook playbooks/access.yml --tags security_groups"


def test_no_management_vpc_fails_acc_01_only(access):
    state, baseline = access
    state["vpc"] = None
    assert [r["id"] for r in access_controls(state, baseline)] == ["ACC-01"]
    assert failed(access_controls(state, baseline)) == ["ACC-01"]


def test_an_isolated_environment_fails_the_peering_and_its_routes(access):
    state, baseline = access
    state["peerings"] = []
    # isolate.yml leaves the routes blackholed until it removes them.
    assert failed(access_controls(state, baseline)) == ["ACC-02", "ACC-03"]


def test_a_second_peering_fails_acc_02(access):
    state, baseline = access
    other = copy.deepcopy(state["peerings"][0])
    other["vpc_peering_connection_id"] = "pcx-other"
    other["accepter_vpc_info"]["vpc_id"] = "vpc-someone-else"
    state["peerings"].append(other)
    assert failed(access_controls(state, baseline)) == ["ACC-02"]


def test_a_route_to_anything_undeclared_fails_acc_03(access):
    state, baseline = access
    table = next(t for t in state["route_tables"] if t["tags"].get("Name"))
    peering = state["peerings"][0]["vpc_peering_connection_id"]
    table["routes"].append({"destination_cidr_block": "10.0.0.0/16", "vpc_peering_connection_id": peering})
    results = access_controls(state, baseline)
    assert failed(results) == ["ACC-03"]
    assert f"10.0.0.0/16 -> {peering}" in str(next(r["found"] for r in results if r["id"] == "ACC-03"))


@pytest.mark.parametrize("source", [{"ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]},
                                    # the administrators' own range: they come in through the VPN host
                                    {"ip_ranges": [{"cidr_ip": "203.0.113.0/24"}]}])
def test_ssh_to_the_bastion_from_anything_but_the_vpn_host_fails_acc_04(access, source):
    state, baseline = access
    bastion = next(g for g in state["security_groups"] if g["group_name"] == baseline["bastion_sg_name"])
    bastion["ip_permissions"].append({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, **source})
    results = access_controls(state, baseline)
    assert failed(results) == ["ACC-04"]
    assert next(r for r in results if r["id"] == "ACC-04")["expected"].startswith("tcp/22 from rna-seq-openvpn-sg (sg-")


def test_ssh_to_the_vpn_host_from_another_range_or_another_port_fails_acc_05(access):
    state, baseline = access
    vpn = next(g for g in state["security_groups"] if g["group_name"] == baseline["openvpn_sg_name"])
    vpn["ip_permissions"].append({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "ip_ranges": [{"cidr_ip": "192.0.2.0/24"}]})
    assert failed(access_controls(state, baseline)) == ["ACC-05"]
    vpn["ip_permissions"].pop()
    vpn["ip_permissions"].append({"ip_protocol": "udp", "from_port": 1195, "to_port": 1195, "ip_ranges": [{"cidr_ip": "198.51.100.0/24"}]})
    assert failed(access_controls(state, baseline)) == ["ACC-05"]


@pytest.mark.parametrize("drift", ["imds_v1", "hop_limit", "stopped", "profile", "missing"])
def test_a_host_without_imdsv2_its_profile_or_running_fails_acc_06(access, drift):
    state, baseline = access
    host = next(i for i in state["instances"] if i["tags"]["Name"] == baseline["openvpn_name"])
    if drift == "imds_v1":
        host["metadata_options"]["http_tokens"] = "optional"
    elif drift == "hop_limit":
        host["metadata_options"]["http_put_response_hop_limit"] = 2
    elif drift == "stopped":
        host["state"]["name"] = "stopped"
    elif drift == "profile":
        host["iam_instance_profile"] = None
    else:
        state["instances"].remove(host)
    assert failed(access_controls(state, baseline)) == ["ACC-06"]


def test_the_diagram_shows_the_management_vpc_its_hosts_and_the_peering(access):
    state, _ = access
    production = {"vpc": {"id": state["production_vpc_id"], "cidr_block": "10.0.0.0/16", "tags": {"Name": "rna-seq-hipaa-vpc"}},
                  "access": state}
    source = network_diagram(production, {})
    assert 'VPC rna-seq-management-vpc 10.1.0.0/16' in source
    assert "rna-seq-bastion<br/>10.1.1.10 / no public address" in source and "rna-seq-openvpn<br/>10.1.0.10" in source
    assert "NAT gateway (the bastion's updates)" in source
    peering = state["peerings"][0]["vpc_peering_connection_id"]
    assert f'<-->|"peering {peering} (active)"| vpc_' in source
    state["peerings"] = []
    assert "peering" not in network_diagram(production, {})


def management_nacl(state, default=False):
    return next(n for n in state["nacls"] if n["is_default"] is default)


@pytest.mark.parametrize("breakage, words", [
    (lambda st: management_nacl(st)["subnets"].clear(), "rna-seq-management-public-subnet does not use it"),
    (lambda st: management_nacl(st)["ingress"].append([150, "tcp", "allow", "192.0.2.0/24", None, None, 22, 22]),
     "ingress extra rule 150 tcp 192.0.2.0/24 22-22"),
    (lambda st: management_nacl(st)["egress"].pop(0), "egress missing rule 100 tcp 0.0.0.0/0 443-443"),
    # The management VPC's default NACL as AWS makes it: everything, from anywhere.
    (lambda st: management_nacl(st, default=True)["ingress"].append([100, "all", "allow", "0.0.0.0/0", None, None, 0, 65535]),
     "open to the world: acl-0default0management rule 100 all 0.0.0.0/0 0-65535"),
    (lambda st: st.update(nacls=[management_nacl(st, default=True)]), "no management NACL"),
])
def test_a_management_nacl_not_as_declared_or_one_open_to_the_world_fails_acc_08(access, breakage, words):
    state, baseline = access
    breakage(state)
    assert_only_failure(access_controls(state, baseline), "ACC-08", words)


def session_inputs(state):
    return state["services"]["documents"]["SSM-SessionManagerRunShell"]["inputs"]


@pytest.mark.parametrize("breakage, failing, words", [
    (lambda st: session_inputs(st).update(cloudWatchLogGroupName=""), ["AUD-16"], "sessions logged to no log group"),
    (lambda st: session_inputs(st).update(cloudWatchEncryptionEnabled=False), ["AUD-16"], "an unencrypted log group allowed"),
    (lambda st: session_inputs(st).update(idleSessionTimeout=""), ["AUD-16"], "no idle timeout"),
    (lambda st: st["services"].update(documents={"SSM-SessionManagerRunShell": {}}), ["AUD-16"], "no preferences"),
    # The log group's key removed: AUD-06 fails for it, and AUD-16, as Session Manager would then refuse to log.
    (lambda st: st["log_groups"][2].pop("kms_key_id"), ["AUD-06", "AUD-16"], "the log group not encrypted with the audit key"),
])
def test_session_manager_preferences_that_would_not_log_every_session_encrypted_fail_aud_16(audit, breakage, failing, words):
    state, baseline = audit
    breakage(state)
    results = audit_controls(state, baseline)
    assert failed(results) == failing
    assert words in next(r["found"] for r in results if r["id"] == "AUD-16")


def host_group(state, name):
    return next(g for g in state["security_groups"] if g["group_name"] == name)


def drop_egress_target(group, cidr):
    for permission in group["ip_permissions_egress"]:
        permission["ip_ranges"] = [r for r in permission.get("ip_ranges") or [] if r["cidr_ip"] != cidr]


@pytest.mark.parametrize("breakage, words", [
    # Plain HTTP out again, as the hosts had before apt went HTTPS only.
    (lambda st: host_group(st, "rna-seq-bastion-sg")["ip_permissions_egress"].append(
        {"ip_protocol": "tcp", "from_port": 80, "to_port": 80, "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}), "extra tcp/80 0.0.0.0/0"),
    # Everything, anywhere: what a new security group sends out.
    (lambda st: host_group(st, "rna-seq-openvpn-sg")["ip_permissions_egress"].append(
        {"ip_protocol": "-1", "ip_ranges": [{"cidr_ip": "0.0.0.0/0"}]}), "extra all/all 0.0.0.0/0"),
    # The bastion's SSH to the VPN host, as the hosts had before the bastion went private.
    (lambda st: host_group(st, "rna-seq-bastion-sg")["ip_permissions_egress"].append(
        {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "ip_ranges": [{"cidr_ip": "10.1.0.10/32"}]}), "extra tcp/22 10.1.0.10/32"),
    (lambda st: host_group(st, "rna-seq-bastion-sg")["ip_permissions_egress"].clear(), "missing tcp/443 0.0.0.0/0"),
    (lambda st: drop_egress_target(host_group(st, "rna-seq-openvpn-sg"), "10.0.16.0/20"), "missing tcp/443 10.0.16.0/20"),
    (lambda st: drop_egress_target(host_group(st, "rna-seq-openvpn-sg"), "10.1.1.10/32"), "missing tcp/22 10.1.1.10/32"),
])
def test_a_host_sending_out_more_or_less_than_declared_fails_acc_09(access, breakage, words):
    state, baseline = access
    breakage(state)
    results = access_controls(state, baseline)
    assert failed(results) == ["ACC-09"]
    assert words in " ".join(r["found"] for r in results if r["id"] == "ACC-09")


def test_each_hosts_egress_is_one_acc_09_result(access):
    results = [r for r in access_controls(*access) if r["id"] == "ACC-09"]
    assert [r["resource"].split(" ")[0] for r in results] == ["rna-seq-bastion-sg", "rna-seq-openvpn-sg"]
    assert all(r["status"] == "pass" and r["found"] == "as declared" for r in results)
    assert "tcp/80" not in " ".join(r["expected"] for r in results)


PKI = {"dir": "/srv/toolkit/.pki/production", "found": True, "read_at": "2026-12-04T12:00:00Z",
       "certificates": {"/srv/toolkit/.pki/production/ca.crt": "20361202120000Z",
                        "/srv/toolkit/.pki/production/server.crt": "20271204120000Z",
                        "/srv/toolkit/.pki/production/issued/jdoe.crt": "20271130120000Z"},
       "crl": {"next_update": "20270602120000Z"}}


def acc_10(state, baseline, pki):
    state["vpn_pki"] = pki
    return next(r for r in access_controls(state, baseline) if r["id"] == "ACC-10")


def test_a_pki_far_from_its_end_passes_acc_10_and_names_what_ends_first(access):
    result = acc_10(*access, copy.deepcopy(PKI))
    assert result["status"] == "pass"
    assert result["found"] == "4 checked; the first to end is crl.pem (next update), 2027-06-02 (180 days)"
    assert result["repair"] == "ansible-playbook playbooks/access.yml --tags openvpn"
    exactly_thirty_days = copy.deepcopy(PKI) | {"crl": {"next_update": "20270103120000Z"}}
    assert acc_10(*access, exactly_thirty_days)["status"] == "pass"


@pytest.mark.parametrize("change, words", [
    (lambda p: p["certificates"].update({"/srv/toolkit/.pki/production/issued/jdoe.crt": "20261220120000Z"}),
     "issued/jdoe.crt ends 2026-12-20 (16 days)"),
    # The boundary: less than openvpn_renew_days whole days left, where access.yml signs the list again.
    (lambda p: p.update(crl={"next_update": "20270103110000Z"}), "crl.pem (next update) ends 2027-01-03 (29 days)"),
    (lambda p: p["certificates"].update({"/srv/toolkit/.pki/production/server.crt": "20261201120000Z"}),
     "server.crt ended 2026-12-01 (-3 days)"),
    (lambda p: p.update(crl=None), "no crl.pem"),
    (lambda p: p["certificates"].pop("/srv/toolkit/.pki/production/server.crt"), "no server.crt"),
])
def test_a_certificate_or_crl_near_its_end_or_missing_fails_acc_10(access, change, words):
    state, baseline = access
    pki = copy.deepcopy(PKI)
    change(pki)
    result = acc_10(state, baseline, pki)
    assert result["status"] == "fail" and words in result["found"], result["found"]
    assert failed(access_controls(state, baseline)) == ["ACC-10"]


def test_without_a_pki_on_the_controller_acc_10_is_not_evaluated_and_counted_apart(access):
    state, baseline = access
    result = acc_10(state, baseline, {"dir": "/srv/toolkit/.pki/production", "found": False})
    assert result["status"] == "not evaluated" and "run verify where access.yml runs" in result["found"]
    results = access_controls(state, baseline)
    summary = controls_summary(results)
    assert summary == {"total": len(results), "evaluated": len(results) - 1, "passed": len(results) - 1,
                       "failed": 0, "not_evaluated": 1}
    assert control_failures(results) == []


def named(items, name):
    return next(item for item in items if (item.get("tags") or {}).get("Name") == name)


@pytest.mark.parametrize("breakage, words", [
    # The bastion as it was launched before: a public address of its own.
    (lambda st, b: named(st["instances"], b["bastion_name"]).update(public_ip_address="198.51.100.20"),
     "rna-seq-bastion has public address 198.51.100.20"),
    (lambda st, b: named(st["instances"], b["bastion_name"]).update(
        subnet_id=named(st["subnets"], b["subnet_name"])["id"]), "rna-seq-bastion is in subnet-"),
    (lambda st, b: named(st["subnets"], b["private_subnet_name"]).update(map_public_ip_on_launch=True),
     "rna-seq-management-private-subnet gives public addresses on launch"),
])
def test_a_public_address_on_anything_but_the_vpn_host_fails_acc_11(access, breakage, words):
    state, baseline = access
    breakage(state, baseline)
    assert_only_failure(access_controls(state, baseline), "ACC-11", words)


def test_the_vpn_hosts_elastic_ip_is_the_one_public_address_acc_11_admits(access):
    state, baseline = access
    assert named(state["instances"], baseline["openvpn_name"])["public_ip_address"]
    assert named(state["instances"], baseline["bastion_name"]).get("public_ip_address") is None
    assert next(r for r in access_controls(state, baseline) if r["id"] == "ACC-11")["status"] == "pass"


@pytest.mark.parametrize("breakage, words", [
    # The bastion's subnet routed to the internet gateway: it could then take a public address.
    (lambda st, b: named(st["route_tables"], b["private_route_table_name"])["routes"][1].update(
        nat_gateway_id=None, gateway_id="igw-0123456789abcdef0"), "0.0.0.0/0 -> igw-0123456789abcdef0; no route to a NAT gateway"),
    (lambda st, b: named(st["route_tables"], b["private_route_table_name"])["routes"].append(
        {"destination_cidr_block": "10.0.0.0/16", "vpc_peering_connection_id": "pcx-0123456789abcdef0"}),
     "10.0.0.0/16 -> pcx-0123456789abcdef0"),
    (lambda st, b: named(st["route_tables"], b["private_route_table_name"]).update(associations=[]),
     "rna-seq-management-private-subnet does not use it"),
    (lambda st, b: st.update(route_tables=[t for t in st["route_tables"] if t["tags"].get("Name") != b["private_route_table_name"]]),
     "no private route table"),
])
def test_a_private_subnet_with_any_way_out_but_the_nat_gateway_fails_acc_12(access, breakage, words):
    state, baseline = access
    breakage(state, baseline)
    assert_only_failure(access_controls(state, baseline), "ACC-12", words)


def test_an_internet_gateway_route_outside_the_public_route_table_fails_acc_03(access):
    state, baseline = access
    main = next(t for t in state["route_tables"] if not t["tags"].get("Name"))
    main["routes"].append({"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-0123456789abcdef0"})
    assert failed(access_controls(state, baseline)) == ["ACC-03"]


def _auth_log_policy(state):
    return next(p for p in state["host_role_policies"] if p["policy_name"] == "send-auth-logs")["policy_document"]


@pytest.mark.parametrize("breakage, words", [
    (lambda st: st["host_role_policies"].remove(next(p for p in st["host_role_policies"] if p["policy_name"] == "send-auth-logs")),
     "logs:CreateLogStream on rna-seq-bastion's stream"),
    (lambda st: _auth_log_policy(st)["Statement"][0].update(Action=["logs:CreateLogStream"]),
     "logs:PutLogEvents on rna-seq-openvpn's stream"),
    # Written into another log group: the host's own is still out of reach.
    (lambda st: _auth_log_policy(st)["Statement"][0].update(
        Resource=["arn:aws:logs:us-east-1:123456789012:log-group:/elsewhere:*"]), "logs:PutLogEvents on rna-seq-bastion's stream"),
    (lambda st: st["host_role_policies"].append({"policy_name": "deny", "policy_document": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "logs:PutLogEvents", "Resource": "*"}]}}),
     "logs:PutLogEvents on rna-seq-bastion's stream"),
    (lambda st: st.update(host_role_policies=[]), "logs:CreateLogStream on rna-seq-openvpn's stream"),
])
def test_a_host_role_that_cannot_write_the_hosts_auth_log_streams_fails_acc_13(access, breakage, words):
    state, baseline = access
    breakage(state)
    assert_only_failure(access_controls(state, baseline), "ACC-13", words)


def test_acc_13_reads_policies_as_iam_returns_them_and_as_json_text(access):
    state, baseline = access
    for policy in state["host_role_policies"]:
        policy["policy_document"] = json.dumps(policy["policy_document"])
    assert next(r for r in access_controls(state, baseline) if r["id"] == "ACC-13")["status"] == "pass"
