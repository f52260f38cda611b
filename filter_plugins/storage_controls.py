# -*- coding: utf-8 -*-
"""The storage phase's controls (S3-*): the pipeline key, the data bucket, its
policy and fence, its access logs, lifecycle and backup.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

# Ansible loads plugins by path: make filter_plugins/controls.py, the shared part, importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

import controls as shared  # noqa: E402


def _bucket_policy(bucket):
    policy = (bucket or {}).get("bucket_policy") or {}
    text = policy.get("Policy") if isinstance(policy, dict) else policy
    if not text:
        return {}
    return json.loads(text) if isinstance(text, str) else text


def _public_access_blocked(bucket):
    config = ((bucket or {}).get("public_access_block") or {}).get("PublicAccessBlockConfiguration", {})
    return all(config.get(k) is True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))


def _denies_insecure_transport(policy, resources):
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Deny" or not shared._is_everyone(statement.get("Principal")):
            continue
        if not ({"s3:*"} & set(shared._actions(statement))):
            continue
        covered = statement.get("Resource", [])
        covered = covered if isinstance(covered, list) else [covered]
        if str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false" and set(resources) <= set(covered):
            return True
    return False


def _access_logs_to(bucket):
    """Where a bucket's server access logs go, as "target bucket/prefix" (s3_bucket_info's
    bucket_logging), or None when logging is off (S3-08, AUD-11)."""
    logging = ((bucket or {}).get("bucket_logging") or {}).get("LoggingEnabled")
    return f"{logging.get('TargetBucket')}/{logging.get('TargetPrefix')}" if logging else None


CONTROLS = {
    c.id: c
    for c in [
        shared.Control("KMS-01", "The pipeline key is a customer managed key, enabled, with rotation on", "storage", "key",
                [shared.ENCRYPTION], ["CIS AWS 3.6", "AWS FSBP KMS.4"]),
        shared.Control("KMS-02", "The pipeline key's policy allows no one at large, and names each principal that may use it "
                "exactly, with no wildcard", "storage", "key", [shared.ACCESS_CONTROL, shared.ENCRYPTION]),
        shared.Control("KMS-03", "The pipeline key's administrators are not among its users: they may encrypt, decrypt or create "
                "grants with it only through S3, EC2 or AWS Backup (kms:ViaService) or for AWS resources (kms:GrantIsForAWSResource)",
                "storage", "key", [shared.ACCESS_CONTROL, shared.ENCRYPTION],
                note="An administrator may still change the key policy (kms:PutKeyPolicy), and so could give itself use: "
                     "KMS lets whoever maintains a key policy rewrite it. Such a change is recorded by the trail, and "
                     "verify fails KMS-02 and KMS-03 on the rewritten policy."),
        shared.Control("S3-01", "The data bucket blocks public access and has ACLs disabled", "storage", "bucket",
                [shared.ACCESS_CONTROL], ["CIS AWS 2.1.4", "AWS FSBP S3.8", "AWS FSBP S3.12"]),
        shared.Control("S3-02", "S3 public access is blocked for the whole account", "storage", "public_access_block",
                [shared.ACCESS_CONTROL], ["CIS AWS 2.1.4", "AWS FSBP S3.1"]),
        shared.Control("S3-03", "The data bucket is versioned", "storage", "bucket", [shared.INTEGRITY, shared.DATA_BACKUP], ["AWS FSBP S3.14"]),
        shared.Control("S3-04", "The data bucket encrypts by default with the pipeline key (SSE-KMS, bucket key on)", "storage", "bucket",
                [shared.ENCRYPTION], ["AWS FSBP S3.17"]),
        shared.Control("S3-05", "The data bucket's policy denies every request not made over TLS", "storage", "bucket_policy",
                [shared.TRANSMISSION_SECURITY], ["CIS AWS 2.1.1", "AWS FSBP S3.5"]),
        shared.Control("S3-06", "The data bucket's policy denies uploads that ask for other encryption than the pipeline key", "storage",
                "bucket_policy", [shared.ENCRYPTION]),
        shared.Control("S3-07", "Where required, the data bucket denies every S3 action on it and its objects that does not come "
                "from the production VPC, exempting only principals it names exactly", "storage",
                "bucket_policy", [shared.ACCESS_CONTROL, shared.TRANSMISSION_SECURITY],
                note="Evaluated on the policy document (module_utils/toolkit_policy.py): a principal the policy does not "
                "name is refused outside the VPC on the bucket and its objects, for each S3 action the toolkit knows and "
                "for one it does not (only s3:* denies that), and allowed object access from inside it."),
        shared.Control("S3-08", "The data bucket's access is logged to the access log bucket", "storage", "access_logging",
                [shared.AUDIT_CONTROLS], ["AWS FSBP S3.9"]),
        shared.Control("S3-09", "The access log bucket blocks public access, is versioned, encrypted and TLS only", "storage",
                "access_logging", [shared.AUDIT_CONTROLS, shared.INTEGRITY], ["CIS AWS 2.1.1", "CIS AWS 2.1.4", "AWS FSBP S3.5", "AWS FSBP S3.8"],
                note="The access log bucket does not log its own access: its logs would be delivered into itself, "
                "each delivery making another log to deliver. The trail records its object reads and deletions instead "
                "(AUD-14)."),
        shared.Control("S3-10", "The data bucket archives raw data and expires noncurrent versions by lifecycle rules", "storage",
                "lifecycle", [shared.DISPOSAL], ["AWS FSBP S3.13"],
                note="Lifecycle expiry is disposal, not a backup: S3-12 covers the data backup plan "
                "(164.308(a)(7)(ii)(A))."),
        shared.Control("S3-11", "Where required, only the principals the data bucket's policy names exactly may change its policy, "
                "versioning, replication, Object Lock or lifecycle, even from inside the production VPC", "storage",
                "bucket_policy", [shared.ACCESS_CONTROL, shared.INTEGRITY],
                note="Evaluated on the policy document, for a principal it does not name. The account's root user can "
                "still replace or delete the policy: S3 allows it that, so that nobody is locked out of a bucket."),
        shared.Control("S3-12", "AWS Backup backs up the data bucket with the backup role into a vault encrypted with the pipeline "
                "key, keeps each recovery point the required days, and the vault is locked where required", "storage",
                "backup", [shared.DATA_BACKUP, shared.INTEGRITY], ["AWS FSBP Backup.1"],
                note="Checks the plan, its selection and the vault as configured; whether a backup job has run and "
                "succeeded is AWS Backup's job report, which the local cloud cannot produce (moto runs no jobs). A vault "
                "lock in governance mode can be removed by whoever holds backup:DeleteBackupVaultLockConfiguration; "
                "compliance mode (storage_backup_vault_lock) cannot be, once its grace time has passed. The backup role "
                "trusts AWS Backup with no condition: AWS Backup's confused-deputy guidance covers resource policies (SNS "
                "topics, key policies), not the role a backup plan passes it, which iam:PassRole guards."),
    ]
}


def _default_encryption(bucket):
    rules = (((bucket or {}).get("bucket_encryption") or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
    if not rules:
        return {}, False
    return rules[0].get("ApplyServerSideEncryptionByDefault", {}), bool(rules[0].get("BucketKeyEnabled"))


# The actions that use a key, or let someone use it (a grant).
_KEY_USE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom",
            "kms:ReEncryptTo", "kms:CreateGrant")


def _granted(statement, actions):
    """Which of `actions` the statement's Action (wildcards allowed) covers."""
    patterns = [a.lower() for a in shared._actions(statement)]
    return [a for a in actions if any(fnmatch.fnmatchcase(a.lower(), p) for p in patterns)]


def _grants_key_use(statement):
    return bool(_granted(statement, _KEY_USE))


def _aws_principals(statement):
    principal = statement.get("Principal") or {}
    return shared._listify(principal.get("AWS")) if isinstance(principal, dict) else shared._listify(principal)


def key_use_principals(policy):
    """The ARNs a key policy lets use the key for data: named as the Principal or by aws:PrincipalArn in an
    Allow that grants kms:Decrypt (the pipeline key names its users by the condition, under the account)."""
    document = json.loads(policy) if isinstance(policy, str) else (policy or {})
    allows = [st for st in shared._listify(document.get("Statement")) if st.get("Effect") == "Allow"]
    return sorted({arn for st in allows if _granted(st, ("kms:Decrypt",))
                   for arn in _aws_principals(st) + _condition_values(st, "aws:PrincipalArn")})


def _condition_values(statement, key):
    """The values a statement's conditions give `key`, whatever the operator."""
    values = []
    for operator in (statement.get("Condition") or {}).values():
        for name, value in operator.items():
            if name.lower() == key.lower():
                values += shared._listify(value)
    return values


def _key_administrators_using(allows):
    """How the principals that may change the key policy could use the key
    themselves (KMS-03)."""
    # Everyone ("*") is not an administrator: KMS-02 fails such a statement.
    admins = sorted({arn for st in allows if _granted(st, ["kms:PutKeyPolicy"]) for arn in _aws_principals(st) if "*" not in arn})
    problems = []
    for statement in allows:
        actions = _granted(statement, _KEY_USE)
        if not actions:
            continue
        sid = statement.get("Sid", "?")
        principals = _aws_principals(statement)
        through = [v for v in _condition_values(statement, "kms:ViaService") if v.split(".")[0] in ("s3", "ec2", "backup")]
        for_resources = [str(v).lower() for v in _condition_values(statement, "kms:GrantIsForAWSResource")] == ["true"]
        for admin in [a for a in admins if a in principals and not a.endswith(":root")]:
            problems += [f"{sid} lets {admin} {action} directly" for action in actions
                         if not through and not (action == "kms:CreateGrant" and for_resources)]
        if any(p.endswith(":root") for p in principals):
            users = _condition_values(statement, "aws:PrincipalArn")
            if not users:
                problems += [f"{sid} delegates {action} to every principal of the account, the administrators included"
                             for action in actions]
            problems += [f"{admin} is among the users of {sid}" for admin in admins
                         if any(fnmatch.fnmatchcase(admin, u) for u in users)]
    return sorted(set(problems))


# The settings S3-11 requires the fence to keep from all but its named principals.
FENCED_SETTINGS = ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutReplicationConfiguration",
                   "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration"]
# What S3-07 asks of the bucket and of its objects: S3 actions the toolkit
# knows, and one it does not, which only a Deny of s3:* refuses.
_UNKNOWN_S3_ACTION = "s3:AnActionS3AddsLater"
_FENCED_BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
                          "s3:PutReplicationConfiguration", _UNKNOWN_S3_ACTION]
_FENCED_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectAttributes", "s3:PutObject",
                          "s3:PutObjectAcl", "s3:DeleteObjectVersion", "s3:RestoreObject", _UNKNOWN_S3_ACTION]


def _fence_findings(policy, bucket_arn, vpc_id, account, partition):
    """What S3-07 and S3-11 find of the data bucket's fence: ["present"], or
    what is wrong. Decisions on the policy document for a principal it does
    not name, as AWS's evaluation makes them (module_utils/toolkit_policy.py)."""
    if not vpc_id:
        return {"outside": ["no production VPC"], "settings": ["no production VPC"]}
    statements = shared._listify((policy or {}).get("Statement"))
    patterns = sorted({f"{operator} {arn}" for s in statements if s.get("Effect") == "Deny"
                       for operator, values in (s.get("Condition") or {}).items() if operator.startswith("Arn")
                       for arn in shared._listify((values or {}).get("aws:PrincipalArn"))
                       if operator in ("ArnLike", "ArnNotLike") or any(ch in arn for ch in "*?")})
    stranger = f"arn:{partition}:iam::{account}:role/not-named-by-the-bucket-policy"

    def denied(action, resource, **context):
        request = {"action": action, "resource": resource, "principal": stranger, "account": account,
                   "context": {"aws:SecureTransport": "true", "aws:PrincipalArn": stranger, "aws:PrincipalAccount": account,
                               **context}}
        try:
            return shared._policy.decide(policy or {}, request) == shared._policy.DENY
        except shared._policy.UnsupportedCondition:
            return False

    inside = {"aws:SourceVpc": vpc_id}

    def denied_outside(action, resource):
        # From the internet (no VPC) and from another VPC.
        return denied(action, resource) and denied(action, resource, **{"aws:SourceVpc": "vpc-0elsewhere"})

    open_outside = ([f"{a} on the bucket" for a in _FENCED_BUCKET_ACTIONS if not denied_outside(a, bucket_arn)]
                    + [f"{a} on its objects" for a in _FENCED_OBJECT_ACTIONS if not denied_outside(a, f"{bucket_arn}/key")])
    closed_inside = [a for a in ("s3:GetObject", "s3:PutObject") if denied(a, f"{bucket_arn}/key", **inside)]
    open_settings = [a for a in FENCED_SETTINGS if not denied(a, bucket_arn, **inside)]
    by_pattern = [f"exempts by pattern {', '.join(patterns)}"] if patterns else []
    return {
        "outside": ((["allows from outside the VPC " + ", ".join(open_outside)] if open_outside else [])
                    + (["denies the VPC " + ", ".join(closed_inside)] if closed_inside else []) + by_pattern) or ["present"],
        "settings": ((["allows " + ", ".join(open_settings)] if open_settings else []) + by_pattern) or ["present"],
    }


def storage_controls(state, baseline):
    """Evaluate the storage controls.

    `state`: key (kms_key_info's), bucket and log_bucket (s3_bucket_info's),
    account_public_access_block, vpc_id.
    `baseline`: partition, account_id, key_alias, bucket, log_bucket,
    log_prefix, restrict_to_vpc, account_public_access_block.
    """
    c = CONTROLS
    p = baseline.get("partition", "aws")
    results = []
    key = state.get("key") or {}
    results.append(c["KMS-01"].result(
        baseline["key_alias"], "customer managed, enabled, rotation on",
        "no such key" if not key else f"{key.get('key_manager')}, {key.get('key_state')}, rotation {key.get('enable_key_rotation')}",
        bool(key) and key.get("key_manager") == "CUSTOMER" and key.get("key_state") == "Enabled" and key.get("enable_key_rotation") is True,
    ))

    policies = [json.loads(d) if isinstance(d, str) else d for d in key.get("key_policies", [])]
    allows = [st for document in policies for st in shared._listify(document.get("Statement")) if st.get("Effect") == "Allow"]
    open_statements = []
    for statement in allows:
        if shared._is_everyone(statement.get("Principal")) and not statement.get("Condition"):
            open_statements.append(statement.get("Sid", "?"))
        if "kms:Decrypt" in shared._actions(statement) and not statement.get("Condition") \
                and str(statement.get("Principal", {}).get("AWS", "")).endswith(":root"):
            open_statements.append(f"{statement.get('Sid', '?')} (use delegated to the whole account)")
        if _grants_key_use(statement):
            named = _aws_principals(statement) + _condition_values(statement, "aws:PrincipalArn")
            wildcards = sorted({arn for arn in named if "*" in arn or "?" in arn})
            if wildcards:
                open_statements.append(f"{statement.get('Sid', '?')} admits {', '.join(wildcards)}")
    results.append(c["KMS-02"].result(
        baseline["key_alias"], "no Allow to everyone; use limited to principals named by exact ARN",
        "no such key" if not key else ("; ".join(open_statements) or "as expected"), bool(key) and not open_statements))
    problems = _key_administrators_using(allows)
    results.append(c["KMS-03"].result(
        baseline["key_alias"], "the administrators use the key only through S3, EC2 or AWS Backup or for AWS resources, and are not its users",
        "no such key" if not key else ("; ".join(problems) or "as expected"), bool(key) and not problems))

    bucket = state.get("bucket")
    name = baseline["bucket"]
    ownership = (((bucket or {}).get("bucket_ownership_controls") or {}).get("OwnershipControls") or {}).get("Rules", [{}])[0].get("ObjectOwnership")
    results.append(c["S3-01"].result(
        name, "all four public access blocks on; object ownership BucketOwnerEnforced",
        "no such bucket" if not bucket else f"public access blocked {_public_access_blocked(bucket)}; ownership {ownership}",
        bool(bucket) and _public_access_blocked(bucket) and ownership == "BucketOwnerEnforced",
    ))

    account = state.get("account_public_access_block") or {}
    required = baseline.get("account_public_access_block", True)
    blocked = account.get("readable", False) and all((account.get("configuration") or {}).values())
    results.append(c["S3-02"].result(
        "the account", "all four account-level blocks on" if required else "not required by the inventory",
        "not readable by the caller" if not account.get("readable") else f"{account.get('configuration')}",
        blocked or not required,
    ))

    versioning = ((bucket or {}).get("bucket_versioning") or {}).get("Status")
    results.append(c["S3-03"].result(name, "versioning Enabled", f"versioning {versioning}", versioning == "Enabled"))

    default, bucket_key = _default_encryption(bucket)
    key_arn = key.get("key_arn")
    results.append(c["S3-04"].result(
        name, f"SSE-KMS with {baseline['key_alias']} ({key_arn}), bucket key on",
        f"{default.get('SSEAlgorithm')} with {default.get('KMSMasterKeyID')}, bucket key {bucket_key}",
        default.get("SSEAlgorithm") == "aws:kms" and bool(key_arn) and default.get("KMSMasterKeyID") in (key_arn, key.get("key_id"))
        and bucket_key,
    ))

    policy = _bucket_policy(bucket)
    bucket_arn = f"arn:{p}:s3:::{name}"
    results.append(c["S3-05"].result(
        name, "Deny s3:* to everyone on the bucket and its objects when aws:SecureTransport is false",
        "no policy" if not policy else ("present" if _denies_insecure_transport(policy, [bucket_arn, f"{bucket_arn}/*"]) else "missing"),
        _denies_insecure_transport(policy, [bucket_arn, f"{bucket_arn}/*"]),
    ))

    encryption_denies = {
        s.get("Sid") for s in policy.get("Statement", [])
        if s.get("Effect") == "Deny" and "s3:PutObject" in shared._actions(s)
        and set(s.get("Condition", {}).get("StringNotEquals", {})) & {"s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"}
    }
    wrong_key = [s for s in policy.get("Statement", []) if s.get("Effect") == "Deny"
                 and s.get("Condition", {}).get("StringNotEquals", {}).get("s3:x-amz-server-side-encryption-aws-kms-key-id") == key_arn]
    results.append(c["S3-06"].result(
        name, "Deny uploads asking for other than SSE-KMS, or for another key than the pipeline key",
        f"{len(encryption_denies)} such statement(s)" + ("" if wrong_key else "; none names the pipeline key"),
        len(encryption_denies) >= 2 and bool(wrong_key),
    ))

    vpc_id = state.get("vpc_id")
    restrict = baseline.get("restrict_to_vpc", False)
    fence = _fence_findings(policy, bucket_arn, vpc_id, baseline.get("account_id") or "000000000000", p)
    results.append(c["S3-07"].result(
        name, f"Deny every S3 action not from {vpc_id or 'the production VPC'} to all but exactly named principals"
        if restrict else "not required in this environment",
        "; ".join(fence["outside"]) if restrict else "not evaluated",
        fence["outside"] == ["present"] or not restrict,
    ))
    target = f"{baseline['log_bucket']}/{baseline['log_prefix']}"
    logs_to = _access_logs_to(bucket)
    results.append(c["S3-08"].result(name, f"access logs to {target}", logs_to or "logging off", logs_to == target))

    log_bucket = state.get("log_bucket")
    log_arn = f"arn:{p}:s3:::{baseline['log_bucket']}"
    log_default, _ = _default_encryption(log_bucket)
    log_checks = {
        "public access blocked": _public_access_blocked(log_bucket),
        "versioned": ((log_bucket or {}).get("bucket_versioning") or {}).get("Status") == "Enabled",
        "encrypted": log_default.get("SSEAlgorithm") in ("AES256", "aws:kms"),
        "TLS only": _denies_insecure_transport(_bucket_policy(log_bucket), [log_arn, f"{log_arn}/*"]),
    }
    results.append(c["S3-09"].result(
        baseline["log_bucket"], "public access blocked, versioned, encrypted, TLS only",
        "no such bucket" if not log_bucket else ", ".join(f"{k} {v}" for k, v in log_checks.items()),
        bool(log_bucket) and all(log_checks.values()),
    ))

    rules = ((bucket or {}).get("bucket_lifecycle_configuration") or {}).get("Rules", [])
    archive = any(r.get("Status") == "Enabled" and r.get("Transitions") and (r.get("Filter") or {}).get("Prefix") == "raw-data/" for r in rules)
    noncurrent = any(r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration") for r in rules)
    results.append(c["S3-10"].result(
        name, "an enabled rule archiving raw-data/ and one expiring noncurrent versions",
        f"archive rule {archive}; noncurrent expiration {noncurrent}", archive and noncurrent,
    ))
    results.append(c["S3-11"].result(
        name, "Deny " + ", ".join(a[3:] for a in FENCED_SETTINGS) + " to all but exactly named principals"
        if restrict else "not required in this environment",
        "; ".join(fence["settings"]) if restrict else "not evaluated",
        fence["settings"] == ["present"] or not restrict,
    ))
    results.append(_backup_result(c["S3-12"], state.get("backup") or {}, baseline, key.get("key_arn"), f"arn:{p}:s3:::{name}"))
    return results


def _backup_result(control, backup, baseline, key_arn, bucket_arn):
    """S3-12: the plan's rule, its selection of the bucket, the vault's key and lock."""
    want = baseline.get("backup") or {}
    days, lock = int(want.get("retention_days") or 0), want.get("vault_lock", "none")
    plan, vault = backup.get("plan") or {}, backup.get("vault") or {}
    rules = [r for r in (plan.get("backup_plan") or {}).get("rules", []) if r.get("target_backup_vault_name") == want.get("vault")]
    kept = max([int((r.get("lifecycle") or {}).get("delete_after_days") or 0) for r in rules] or [0])
    selected = [sel for sel in backup.get("selections") or []
                if bucket_arn in (sel.get("resources") or []) and sel.get("iam_role_arn") == want.get("role_arn")]
    problems = []
    if not plan:
        problems.append(f"no plan {want.get('plan')}")
    elif not rules:
        problems.append(f"no rule of the plan backs up into {want.get('vault')}")
    elif kept < days:
        problems.append(f"recovery points kept {kept} days, not {days}")
    if plan and not selected:
        problems.append(f"no selection of the plan covers {bucket_arn} with {want.get('role_arn')}")
    if not vault:
        problems.append(f"no vault {want.get('vault')}")
    elif not key_arn or vault.get("encryption_key_arn") != key_arn:
        problems.append(f"vault encrypted with {vault.get('encryption_key_arn') or 'an AWS owned key'}, not the pipeline key")
    if vault and lock != "none":
        if not vault.get("locked"):
            problems.append("vault not locked")
        elif int(vault.get("min_retention_days") or 0) < days:
            problems.append(f"vault lock's minimum retention {vault.get('min_retention_days')} days, not {days}")
        elif lock == "compliance" and not vault.get("lock_date"):
            problems.append("vault lock in governance mode, not compliance")
    expected = f"{want.get('plan')} into {want.get('vault')} ({key_arn or 'the pipeline key'}), kept {days} days" + (
        f", vault locked ({lock})" if lock != "none" else "")
    return control.result(want.get("vault", "backup"), expected, "; ".join(problems) or "as expected", not problems)


class FilterModule:
    def filters(self):
        return {"storage_controls": storage_controls, "key_use_principals": key_use_principals}
