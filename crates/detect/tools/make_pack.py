#!/usr/bin/env python3
"""Authoring helper for the bundled detection pack: writes each detection's .sql file
(crates/detect/detections/cloudtrail/<tactic>/<id>.sql) and its fixtures
(fixtures/detections/<id>/fire.json, quiet.json, expect.json) from the specs below.

Run from the repository root: python3 crates/detect/tools/make_pack.py
The .sql files are the source of truth once written; this script only keeps the pack and its
fixtures consistent while it is authored. Fixtures use account 123456789012 and
documentation IP ranges."""

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ACCOUNT = "123456789012"
OTHER = "210987654321"
BASE = datetime(2024, 7, 31, 0, 0, 0, tzinfo=timezone.utc)
KEY = "AKIA3EXAMPLEKEY7QWER"  # the leaked key of the fixtures
KEY2 = "AKIA3EXAMPLEADMIN001"  # an administrator's key
ASIA = "ASIA3EXAMPLESESS0001"
CLI_UA = "aws-cli/2.17.20 Python/3.11.9 Linux/6.8.0-39-generic exe/x86_64.ubuntu.24"
BOTO_UA = "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.144"
CONSOLE_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

_counter = [0]


def ident(kind="user", key=KEY, user="dev-ci"):
    if kind == "user":
        return {"type": "IAMUser", "principalId": "AIDA3EXAMPLE" + user.upper().replace("-", "")[:8].ljust(8, "X"),
                "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT, "accessKeyId": key, "userName": user}
    if kind == "role":
        return {"type": "AssumedRole", "principalId": "AROA3EXAMPLEROLE0001:" + user,
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/{user}", "accountId": ACCOUNT, "accessKeyId": key,
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROA3EXAMPLEROLE0001",
                                                     "arn": f"arn:aws:iam::{ACCOUNT}:role/ops-admin", "accountId": ACCOUNT,
                                                     "userName": "ops-admin"},
                                   "attributes": {"creationDate": "2024-07-31T00:00:00Z", "mfaAuthenticated": "false"}}}
    if kind == "root":
        d = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
        if key:
            d["accessKeyId"] = key
        return d
    raise ValueError(kind)


def ev(name, source, t=0, key=KEY, user="dev-ci", kind=None, ip="203.0.113.45", region="us-east-1", req=None,
       resp=None, err=None, ua=CLI_UA, readonly=None, etype="AwsApiCall", extra=None, category="Management"):
    _counter[0] += 1
    if kind is None:
        kind = "role" if key and key.startswith("ASIA") else "user"
    rec = {
        "eventVersion": "1.09",
        "userIdentity": ident(kind, key, user),
        "eventTime": (BASE + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": ua,
    }
    if err:
        rec["errorCode"] = err
        rec["errorMessage"] = f"User: {rec['userIdentity']['arn']} is not authorized to perform: {name}" if "Denied" in err or "Unauthorized" in err else err
    rec["requestParameters"] = req
    rec["responseElements"] = None if err else resp
    rec["requestID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"req-{_counter[0]}"))
    rec["eventID"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"evt-{_counter[0]}"))
    rec["readOnly"] = bool(readonly) if readonly is not None else name.startswith(("Get", "List", "Describe"))
    rec["eventType"] = etype
    rec["managementEvent"] = category == "Management"
    rec["recipientAccountId"] = ACCOUNT
    rec["eventCategory"] = category
    if extra:
        rec.update(extra)
    return rec


def burst(n, fn, step=20):
    return [fn(i, i * step) for i in range(n)]


COLS = """SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       {summary} AS summary, 1 AS count
FROM events
WHERE {where}"""


def single(where, summary):
    return COLS.format(where=where.strip(), summary=summary.strip())


def burst_sql(where, what, threshold, group="useridentity.accesskeyid", gap="10 minutes"):
    return f"""WITH hits AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
           {group} AS grp
    FROM events
    WHERE {where.strip()}
), marked AS (
    SELECT *, CASE WHEN lag(event_ts) OVER (PARTITION BY grp ORDER BY event_ts, evidence_path, evidence_index)
                        >= event_ts - INTERVAL '{gap}' THEN 0 ELSE 1 END AS brk
    FROM hits
), bursts AS (
    SELECT *, sum(brk) OVER (PARTITION BY grp ORDER BY event_ts, evidence_path, evidence_index
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS burst
    FROM marked
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY grp, burst ORDER BY event_ts, evidence_path, evidence_index) AS rn,
           count(*) OVER (PARTITION BY grp, burst) AS n,
           max(event_ts) OVER (PARTITION BY grp, burst) AS last_ts
    FROM bursts
)
SELECT event_ts, evidence_path, evidence_index, eventid, account_id, region, principal, access_key_id, source_ip,
       concat(CAST(n AS VARCHAR), ' {what} in ', CAST(date_diff('minute', event_ts, last_ts) AS VARCHAR),
              ' minute(s)') AS summary,
       n AS count, last_ts
FROM ranked
WHERE rn = 1 AND n >= {threshold}"""


RP = "requestparameters"
DETS = []


def det(id, tactic, title, level, tags, description, sql, fire, quiet, fp="", refs="", expect=None):
    DETS.append(dict(id=id, tactic=tactic, title=title, level=level, tags=tags, description=description, sql=sql,
                     fire=fire, quiet=quiet, fp=fp, refs=refs, expect=expect or {"findings": 1, "count": 1}))


def S(x):
    """SQL string literal."""
    return "'" + x.replace("'", "''") + "'"


def names(*n):
    return ", ".join(S(x) for x in n)


# ---------------------------------------------------------------- discovery / recon
det("ct-discovery-0001", "discovery", "First use of a long-term key is GetCallerIdentity", "low",
    "attack.discovery, attack.t1087.004",
    "The first call ever recorded for a long-term (AKIA) access key is sts:GetCallerIdentity: the classic "
    "validation of a found or stolen key (whoami) before using it.",
    """WITH firsts AS (
    SELECT useridentity.accesskeyid AS k, min(event_ts) AS t0
    FROM cloudtrail
    WHERE useridentity.accesskeyid IS NOT NULL
    GROUP BY useridentity.accesskeyid
), cand AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip
    FROM events
    WHERE eventsource = 'sts.amazonaws.com' AND eventname = 'GetCallerIdentity'
      AND useridentity.accesskeyid LIKE 'AKIA%'
)
SELECT c.event_ts, c.evidence_path, c.evidence_index, c.eventid, c.account_id, c.region, c.principal,
       c.access_key_id, c.source_ip,
       concat('first call of key ', c.access_key_id, ' is GetCallerIdentity from ', c.source_ip) AS summary,
       1 AS count
FROM cand c JOIN firsts f ON c.access_key_id = f.k AND c.event_ts = f.t0""",
    [ev("GetCallerIdentity", "sts.amazonaws.com", 0, resp=None), ev("ListBuckets", "s3.amazonaws.com", 30)],
    [ev("ListBuckets", "s3.amazonaws.com", 0), ev("GetCallerIdentity", "sts.amazonaws.com", 30)],
    fp="a new CI key whose first step checks its identity", refs="https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html")

DENIED = "errorcode IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation', 'UnauthorizedAccess', 'AuthorizationError')"
_probe = ["ListUsers", "ListRoles", "DescribeInstances", "ListBuckets", "GetAccountAuthorizationDetails", "ListSecrets"]
_probe_src = {"ListUsers": "iam", "ListRoles": "iam", "DescribeInstances": "ec2", "ListBuckets": "s3",
              "GetAccountAuthorizationDetails": "iam", "ListSecrets": "secretsmanager"}
det("ct-discovery-0002", "discovery", "Permission probing: burst of access-denied errors", "medium",
    "attack.discovery, attack.t1580, attack.t1526",
    "One key received ten or more AccessDenied/UnauthorizedOperation errors with no gap over ten minutes: "
    "a tool enumerating what a found key may do (enumerate-iam, pacu).",
    burst_sql(DENIED, "access-denied errors", 10),
    burst(12, lambda i, t: ev(_probe[i % 6], _probe_src[_probe[i % 6]] + ".amazonaws.com", t,
                              err="Client.UnauthorizedOperation" if _probe[i % 6] == "DescribeInstances" else "AccessDenied")),
    burst(6, lambda i, t: ev("ListUsers", "iam.amazonaws.com", t, err="AccessDenied"))
    + burst(6, lambda i, t: ev("ListRoles", "iam.amazonaws.com", 3600 + t, err="AccessDenied")),
    expect={"findings": 1, "count": 12}, fp="a misconfigured application retrying a forbidden call")

_bucket_reads = ["ListBuckets", "GetBucketAcl", "GetBucketPolicy", "GetBucketLocation", "GetBucketPolicyStatus",
                 "GetBucketPublicAccessBlock", "GetBucketVersioning", "GetBucketEncryption", "GetBucketLogging"]
det("ct-discovery-0003", "discovery", "S3 bucket enumeration burst", "low",
    "attack.discovery, attack.t1619",
    "ListBuckets and bucket-metadata reads (four or more with no gap over ten minutes) (ACL, policy, location, …) from one key: a bucket "
    "inventory as recon tools run it.",
    burst_sql("eventsource = 's3.amazonaws.com' AND eventname IN (" + names(*_bucket_reads) + ")",
              "bucket listing/metadata reads", 4),
    [ev("ListBuckets", "s3.amazonaws.com", 0, req={"Host": "s3.amazonaws.com"})]
    + burst(10, lambda i, t: ev("GetBucketAcl", "s3.amazonaws.com", 5 + t, req={"bucketName": f"corp-data-{i}", "acl": "", "Host": f"corp-data-{i}.s3.amazonaws.com"}), step=3),
    [ev("ListBuckets", "s3.amazonaws.com", 0)]
    + burst(2, lambda i, t: ev("GetBucketAcl", "s3.amazonaws.com", 5 + t, req={"bucketName": f"corp-data-{i}", "acl": ""}))
    + [ev("GetBucketAcl", "s3.amazonaws.com", 1800, req={"bucketName": "corp-data-9", "acl": ""})],
    expect={"findings": 1, "count": 11}, fp="security scanners and inventory tools")

det("ct-discovery-0004", "discovery", "Secrets Manager listing", "low",
    "attack.discovery, attack.t1526",
    "A principal listed Secrets Manager secrets (the step before reading them).",
    single("eventsource = 'secretsmanager.amazonaws.com' AND eventname = 'ListSecrets' AND errorcode IS NULL",
           "concat('ListSecrets in ', awsregion)"),
    [ev("ListSecrets", "secretsmanager.amazonaws.com", 0, req={"maxResults": 100})],
    [ev("DescribeSecret", "secretsmanager.amazonaws.com", 0, req={"secretId": "prod/db"}),
     ev("ListSecrets", "secretsmanager.amazonaws.com", 10, err="AccessDeniedException")],
    fp="secret rotation tooling; console browsing")

det("ct-discovery-0005", "discovery", "Offensive cloud recon tool user agent", "medium",
    "attack.discovery, attack.t1526, attack.t1580",
    "Calls whose user agent names a cloud reconnaissance tool (ScoutSuite, CloudFox, PMapper, enumerate-iam, "
    "CloudMapper, Cloudsplaining).",
    single("regexp_like(lower(useragent), 'scout ?suite|cloudfox|pmapper|principalmapper|enumerate-iam|cloudmapper|cloudsplaining')",
           "concat(eventname, ' by recon tool: ', substr(useragent, 1, 120))"),
    [ev("ListRoles", "iam.amazonaws.com", 0, ua="Scout Suite/5.14.0 Boto3/1.34.0 Python/3.11.4 Linux/6.1.0 Botocore/1.34.0")],
    [ev("ListRoles", "iam.amazonaws.com", 0, ua=BOTO_UA)],
    fp="an authorised security assessment")

det("ct-discovery-0006", "discovery", "Prowler security assessment user agent", "low",
    "attack.discovery, attack.t1526",
    "Calls made by Prowler (user agent): usually an authorised assessment, but attackers run it too.",
    single("lower(useragent) LIKE '%prowler%'", "concat(eventname, ' by Prowler')"),
    [ev("GetAccountPasswordPolicy", "iam.amazonaws.com", 0, ua="Boto3/1.34.0 Python/3.11.4 Linux/6.1.0 Botocore/1.34.0 APN/1.0 Prowler/4.2.0")],
    [ev("GetAccountPasswordPolicy", "iam.amazonaws.com", 0, ua=BOTO_UA)],
    fp="scheduled Prowler scans")

det("ct-discovery-0007", "discovery", "Bedrock model availability reconnaissance", "low",
    "attack.discovery, attack.t1526",
    "Calls that check which Bedrock foundation models exist, are enabled or are logged "
    "(ListFoundationModels, GetFoundationModelAvailability, GetModelInvocationLoggingConfiguration): "
    "the first step of LLMjacking.",
    single("eventsource = 'bedrock.amazonaws.com' AND eventname IN ('ListFoundationModels', 'GetFoundationModelAvailability', "
           "'GetModelInvocationLoggingConfiguration', 'ListFoundationModelAgreementOffers', 'GetUseCaseForModelAccess')",
           "concat(eventname, ' in ', awsregion)"),
    [ev("GetModelInvocationLoggingConfiguration", "bedrock.amazonaws.com", 0, region="us-west-2")],
    [ev("ListCustomModels", "bedrock.amazonaws.com", 0, region="us-west-2")],
    fp="developers exploring Bedrock", refs="https://permiso.io/blog/exploiting-hosted-models")

det("ct-discovery-0008", "discovery", "SES sending capacity and identity enumeration", "low",
    "attack.discovery, attack.t1526",
    "Calls that check what an account can send by e-mail (GetSendQuota, ListIdentities, GetAccount, "
    "ListEmailIdentities): spammers test found keys this way.",
    single("eventsource = 'ses.amazonaws.com' AND eventname IN ('GetSendQuota', 'ListIdentities', 'GetAccountSendingEnabled', "
           "'ListEmailIdentities', 'GetAccount', 'GetSendStatistics', 'ListVerifiedEmailAddresses')",
           "concat(eventname, ' in ', awsregion)"),
    [ev("GetSendQuota", "ses.amazonaws.com", 0)],
    [ev("SendEmail", "ses.amazonaws.com", 0, readonly=False)],
    fp="mail-sending applications checking their quota")

# ---------------------------------------------------------------- credential access
det("ct-credential-access-0001", "credential-access", "Burst of Secrets Manager secret reads", "medium",
    "attack.credential-access, attack.t1555.006",
    "One key read two or more secrets (GetSecretValue/BatchGetSecretValue) with no gap over ten minutes: a found key harvesting credentials.",
    burst_sql("eventsource = 'secretsmanager.amazonaws.com' AND eventname IN ('GetSecretValue', 'BatchGetSecretValue') AND errorcode IS NULL",
              "secret reads", 2),
    burst(6, lambda i, t: ev("GetSecretValue", "secretsmanager.amazonaws.com", t, req={"secretId": f"prod/service-{i}"})),
    [ev("GetSecretValue", "secretsmanager.amazonaws.com", 0, req={"secretId": "prod/db"}),
     ev("GetSecretValue", "secretsmanager.amazonaws.com", 3600, req={"secretId": "prod/db"}),
     ev("GetSecretValue", "secretsmanager.amazonaws.com", 3610, req={"secretId": "prod/db"}, err="AccessDeniedException")],
    expect={"findings": 1, "count": 6}, fp="an application starting many workers that each read a secret")

det("ct-credential-access-0002", "credential-access", "SSM parameters read with decryption", "low",
    "attack.credential-access, attack.t1552",
    "GetParameter(s)/GetParametersByPath with withDecryption=true: SecureString values read in clear.",
    single("eventsource = 'ssm.amazonaws.com' AND eventname IN ('GetParameter', 'GetParameters', 'GetParametersByPath') "
           f"AND lower(json_extract_scalar({RP}, '$.withDecryption')) = 'true' AND errorcode IS NULL",
           "concat(eventname, ' with decryption: ', coalesce(json_extract_scalar(requestparameters, '$.name'), json_extract_scalar(requestparameters, '$.path'), json_extract(requestparameters, '$.names'), ''))"),
    [ev("GetParametersByPath", "ssm.amazonaws.com", 0, req={"path": "/prod/", "recursive": True, "withDecryption": True})],
    [ev("GetParametersByPath", "ssm.amazonaws.com", 0, req={"path": "/prod/", "recursive": True, "withDecryption": False})],
    fp="applications reading their own configuration at start")

det("ct-credential-access-0003", "credential-access", "EC2 user data read", "medium",
    "attack.credential-access, attack.t1552.005",
    "DescribeInstanceAttribute for userData: user data often holds bootstrap secrets.",
    single(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'DescribeInstanceAttribute' AND json_extract_scalar({RP}, '$.attribute') = 'userData'",
           "concat('user data read of ', coalesce(json_extract_scalar(requestparameters, '$.instanceId'), '?'))"),
    [ev("DescribeInstanceAttribute", "ec2.amazonaws.com", 0, req={"instanceId": "i-0a1b2c3d4e5f60718", "attribute": "userData"})],
    [ev("DescribeInstanceAttribute", "ec2.amazonaws.com", 0, req={"instanceId": "i-0a1b2c3d4e5f60718", "attribute": "instanceType"})],
    fp="configuration management tools")

det("ct-credential-access-0004", "credential-access", "Burst of failed console logins", "medium",
    "attack.credential-access, attack.t1110",
    "Five or more failed ConsoleLogin attempts from one source IP with no gap over ten minutes.",
    burst_sql("eventname = 'ConsoleLogin' AND (errorcode IS NOT NULL OR json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure')",
              "failed console logins", 5, group="sourceipaddress"),
    burst(5, lambda i, t: ev("ConsoleLogin", "signin.amazonaws.com", t, key=None, user=f"admin{i}", ip="198.51.100.77", ua=CONSOLE_UA,
                              etype="AwsConsoleSignIn", resp={"ConsoleLogin": "Failure"}, err="Failed authentication",
                              extra={"additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No"}})),
    burst(2, lambda i, t: ev("ConsoleLogin", "signin.amazonaws.com", t, key=None, user="admin", ip="198.51.100.77", ua=CONSOLE_UA,
                              etype="AwsConsoleSignIn", resp={"ConsoleLogin": "Failure"}, err="Failed authentication")),
    expect={"findings": 1, "count": 5}, fp="a user who forgot a password")

# ---------------------------------------------------------------- persistence
det("ct-persistence-0001", "persistence", "IAM user created", "medium",
    "attack.persistence, attack.t1136.003",
    "A new IAM user: attackers create users to keep access after the leaked key is revoked.",
    single("eventsource = 'iam.amazonaws.com' AND eventname = 'CreateUser' AND errorcode IS NULL",
           "concat('created user ', coalesce(json_extract_scalar(requestparameters, '$.userName'), '?'))"),
    [ev("CreateUser", "iam.amazonaws.com", 0, req={"userName": "backup-svc"},
        resp={"user": {"path": "/", "userName": "backup-svc", "userId": "AIDA3EXAMPLEBACKUP01", "arn": f"arn:aws:iam::{ACCOUNT}:user/backup-svc", "createDate": "Jul 31, 2024 12:00:00 AM"}})],
    [ev("CreateUser", "iam.amazonaws.com", 0, req={"userName": "backup-svc"}, err="AccessDenied")],
    fp="onboarding by administrators")

det("ct-persistence-0002", "persistence", "Access key created for another user", "medium",
    "attack.persistence, attack.t1098.001",
    "CreateAccessKey where the target user is not the caller: a new long-term key for someone else.",
    single(f"eventsource = 'iam.amazonaws.com' AND eventname = 'CreateAccessKey' AND errorcode IS NULL "
           f"AND json_extract_scalar({RP}, '$.userName') IS NOT NULL "
           f"AND json_extract_scalar({RP}, '$.userName') <> coalesce(useridentity.username, '')",
           "concat('access key ', coalesce(json_extract_scalar(responseelements, '$.accessKey.accessKeyId'), '?'), ' created for user ', json_extract_scalar(requestparameters, '$.userName'))"),
    [ev("CreateAccessKey", "iam.amazonaws.com", 0, req={"userName": "backup-svc"},
        resp={"accessKey": {"userName": "backup-svc", "accessKeyId": "AKIA3EXAMPLENEWKEY01", "status": "Active", "createDate": "Jul 31, 2024 12:00:00 AM"}})],
    [ev("CreateAccessKey", "iam.amazonaws.com", 0, req={"userName": "dev-ci"},
        resp={"accessKey": {"userName": "dev-ci", "accessKeyId": "AKIA3EXAMPLENEWKEY02", "status": "Active", "createDate": "Jul 31, 2024 12:00:00 AM"}}),
     ev("CreateAccessKey", "iam.amazonaws.com", 10, req=None,
        resp={"accessKey": {"userName": "dev-ci", "accessKeyId": "AKIA3EXAMPLENEWKEY03", "status": "Active", "createDate": "Jul 31, 2024 12:00:00 AM"}})],
    fp="administrators issuing keys for service users")

det("ct-persistence-0003", "persistence", "Console password created or changed for a user", "medium",
    "attack.persistence, attack.t1098",
    "CreateLoginProfile/UpdateLoginProfile: console access given to, or taken over from, a user.",
    single("eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile') AND errorcode IS NULL",
           "concat(eventname, ' for user ', coalesce(json_extract_scalar(requestparameters, '$.userName'), useridentity.username, '?'))"),
    [ev("CreateLoginProfile", "iam.amazonaws.com", 0, req={"userName": "backup-svc", "passwordResetRequired": False},
        resp={"loginProfile": {"userName": "backup-svc", "createDate": "Jul 31, 2024 12:00:00 AM", "passwordResetRequired": False}})],
    [ev("GetLoginProfile", "iam.amazonaws.com", 0, req={"userName": "backup-svc"})],
    fp="administrators onboarding users")

det("ct-persistence-0004", "persistence", "MFA device registered", "low",
    "attack.persistence, attack.t1098.005",
    "CreateVirtualMFADevice/EnableMFADevice: an attacker registering their own MFA locks the owner out.",
    single("eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateVirtualMFADevice', 'EnableMFADevice') AND errorcode IS NULL",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.virtualMFADeviceName'), ''))"),
    [ev("EnableMFADevice", "iam.amazonaws.com", 0, req={"userName": "backup-svc", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/backup-svc"})],
    [ev("ListMFADevices", "iam.amazonaws.com", 0, req={"userName": "backup-svc"})],
    fp="users enrolling MFA")

det("ct-persistence-0005", "persistence", "SAML or OIDC identity provider created or changed", "medium",
    "attack.persistence, attack.t1484.002",
    "A new or changed federation trust (SAML or OpenID Connect provider) lets outside identities in.",
    single("eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateSAMLProvider', 'UpdateSAMLProvider', "
           "'CreateOpenIDConnectProvider', 'AddClientIDToOpenIDConnectProvider', 'UpdateOpenIDConnectProviderThumbprint') AND errorcode IS NULL",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.name'), json_extract_scalar(requestparameters, '$.url'), json_extract_scalar(requestparameters, '$.sAMLProviderArn'), ''))"),
    [ev("CreateOpenIDConnectProvider", "iam.amazonaws.com", 0, req={"url": "https://token.example.net", "clientIDList": ["sts.amazonaws.com"], "thumbprintList": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]},
        resp={"openIDConnectProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.net"})],
    [ev("ListOpenIDConnectProviders", "iam.amazonaws.com", 0)],
    fp="new SSO integration set up by administrators")

det("ct-persistence-0006", "persistence", "Role trust policy changed", "low",
    "attack.persistence, attack.t1098",
    "UpdateAssumeRolePolicy: who may assume a role changed.",
    single("eventsource = 'iam.amazonaws.com' AND eventname = 'UpdateAssumeRolePolicy' AND errorcode IS NULL",
           "concat('trust policy of role ', coalesce(json_extract_scalar(requestparameters, '$.roleName'), '?'), ' changed')"),
    [ev("UpdateAssumeRolePolicy", "iam.amazonaws.com", 0, req={"roleName": "deploy", "policyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})})],
    [ev("GetRole", "iam.amazonaws.com", 0, req={"roleName": "deploy"})],
    fp="infrastructure-as-code deployments")

_foreign = "regexp_like(regexp_replace(json_extract_scalar(requestparameters, '$.policyDocument'), recipientaccountid, '', 'g'), '[0-9]{12}|\"AWS\"\\s*:\\s*\"\\*\"|\"AWS\"\\s*:\\s*\\[[^]]*\"\\*\"')"
det("ct-persistence-0007", "persistence", "Role trust policy opened to another account or to everyone", "high",
    "attack.persistence, attack.t1098.003",
    "UpdateAssumeRolePolicy whose new trust policy names an account other than the role's own, or any AWS "
    "principal (\"*\"): a backdoor role an outsider can assume.",
    single(f"eventsource = 'iam.amazonaws.com' AND eventname = 'UpdateAssumeRolePolicy' AND errorcode IS NULL AND {_foreign}",
           "concat('trust policy of role ', coalesce(json_extract_scalar(requestparameters, '$.roleName'), '?'), ' now trusts an outside principal')"),
    [ev("UpdateAssumeRolePolicy", "iam.amazonaws.com", 0, req={"roleName": "deploy", "policyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "sts:AssumeRole"}]})})],
    [ev("UpdateAssumeRolePolicy", "iam.amazonaws.com", 0, req={"roleName": "deploy", "policyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"}, "Action": "sts:AssumeRole"}]})})],
    fp="cross-account access set up on purpose (check the account is yours)")

det("ct-persistence-0008", "persistence", "Federation token minted", "medium",
    "attack.persistence, attack.t1550.001",
    "GetFederationToken by an IAM user: temporary credentials that survive the deletion of the user's access key.",
    single("eventsource = 'sts.amazonaws.com' AND eventname = 'GetFederationToken' AND errorcode IS NULL",
           "concat('federation token ', coalesce(json_extract_scalar(responseelements, '$.credentials.accessKeyId'), '?'), ' for ', coalesce(json_extract_scalar(requestparameters, '$.name'), '?'))"),
    [ev("GetFederationToken", "sts.amazonaws.com", 0, req={"name": "svc", "durationSeconds": 129600},
        resp={"credentials": {"accessKeyId": "ASIA3EXAMPLEFEDTOK01", "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Aug 1, 2024, 12:00:00 PM"},
              "federatedUser": {"federatedUserId": f"{ACCOUNT}:svc", "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/svc"}})],
    [ev("GetFederationToken", "sts.amazonaws.com", 0, req={"name": "svc"}, err="AccessDenied")],
    fp="legacy federation brokers")

det("ct-persistence-0009", "persistence", "New role created that trusts another account", "medium",
    "attack.persistence, attack.t1098.003",
    "CreateRole whose trust policy names an account other than the caller's own, or any AWS principal.",
    single(f"eventsource = 'iam.amazonaws.com' AND eventname = 'CreateRole' AND errorcode IS NULL AND {_foreign.replace('policyDocument', 'assumeRolePolicyDocument')}",
           "concat('role ', coalesce(json_extract_scalar(requestparameters, '$.roleName'), '?'), ' created trusting an outside principal')"),
    [ev("CreateRole", "iam.amazonaws.com", 0, req={"roleName": "support-access", "assumeRolePolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "sts:AssumeRole"}]})})],
    [ev("CreateRole", "iam.amazonaws.com", 0, req={"roleName": "lambda-exec", "assumeRolePolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})})],
    fp="vendor integrations that need a cross-account role")

# ---------------------------------------------------------------- privilege escalation
det("ct-privilege-escalation-0001", "privilege-escalation", "AdministratorAccess policy attached", "high",
    "attack.privilege-escalation, attack.t1098.003",
    "The AWS-managed AdministratorAccess policy attached to a user, role or group.",
    single("eventsource = 'iam.amazonaws.com' AND eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy') "
           f"AND errorcode IS NULL AND json_extract_scalar({RP}, '$.policyArn') LIKE '%:policy/AdministratorAccess'",
           "concat('AdministratorAccess attached to ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.groupName'), '?'))"),
    [ev("AttachUserPolicy", "iam.amazonaws.com", 0, req={"userName": "backup-svc", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})],
    [ev("AttachUserPolicy", "iam.amazonaws.com", 0, req={"userName": "backup-svc", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})],
    fp="break-glass administrators set up on purpose")

_star = ("regexp_like(regexp_replace(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '\\s', '', 'g'), "
         "'\"Action\":(\\[)?\"\\*\"') AND regexp_like(regexp_replace(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '\\s', '', 'g'), "
         "'\"Resource\":(\\[)?\"\\*\"') AND regexp_like(regexp_replace(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '\\s', '', 'g'), '\"Effect\":\"Allow\"')")
_admin_doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
_ro_doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
det("ct-privilege-escalation-0002", "privilege-escalation", "Policy granting * on * written", "high",
    "attack.privilege-escalation, attack.t1098.003",
    "An inline or managed policy (PutUserPolicy/PutRolePolicy/PutGroupPolicy/CreatePolicy/CreatePolicyVersion) "
    "allowing every action on every resource.",
    single("eventsource = 'iam.amazonaws.com' AND eventname IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy', 'CreatePolicy', 'CreatePolicyVersion') "
           f"AND errorcode IS NULL AND {_star}",
           "concat(eventname, ' allowing *:* ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.groupName'), json_extract_scalar(requestparameters, '$.policyName'), json_extract_scalar(requestparameters, '$.policyArn'), ''))"),
    [ev("PutUserPolicy", "iam.amazonaws.com", 0, req={"userName": "backup-svc", "policyName": "full", "policyDocument": _admin_doc})],
    [ev("PutUserPolicy", "iam.amazonaws.com", 0, req={"userName": "backup-svc", "policyName": "read", "policyDocument": _ro_doc})],
    fp="administrator roles written by infrastructure-as-code")

det("ct-privilege-escalation-0003", "privilege-escalation", "New default policy version", "medium",
    "attack.privilege-escalation, attack.t1098",
    "CreatePolicyVersion with setAsDefault=true or SetDefaultPolicyVersion: a managed policy's rights changed "
    "in place (a classic escalation when the caller may edit a policy attached to itself).",
    single("eventsource = 'iam.amazonaws.com' AND errorcode IS NULL AND (eventname = 'SetDefaultPolicyVersion' OR "
           f"(eventname = 'CreatePolicyVersion' AND lower(json_extract_scalar({RP}, '$.setAsDefault')) = 'true'))",
           "concat(eventname, ' on ', coalesce(json_extract_scalar(requestparameters, '$.policyArn'), '?'))"),
    [ev("CreatePolicyVersion", "iam.amazonaws.com", 0, req={"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/ci-deploy", "policyDocument": _ro_doc, "setAsDefault": True})],
    [ev("CreatePolicyVersion", "iam.amazonaws.com", 0, req={"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/ci-deploy", "policyDocument": _ro_doc, "setAsDefault": False})],
    fp="policy updates by infrastructure-as-code")

det("ct-privilege-escalation-0004", "privilege-escalation", "Role chaining: AssumeRole with temporary credentials", "low",
    "attack.privilege-escalation, attack.t1548",
    "AssumeRole called with an ASIA (temporary) key: a session used to reach another role.",
    single("eventsource = 'sts.amazonaws.com' AND eventname = 'AssumeRole' AND errorcode IS NULL AND useridentity.accesskeyid LIKE 'ASIA%' "
           "AND useridentity.invokedby IS NULL",
           "concat('role chaining to ', coalesce(json_extract_scalar(requestparameters, '$.roleArn'), '?'))"),
    [ev("AssumeRole", "sts.amazonaws.com", 0, key=ASIA, req={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/prod-admin", "roleSessionName": "x"},
        resp={"credentials": {"accessKeyId": "ASIA3EXAMPLECHAIN001", "sessionToken": "IQoJEXAMPLE", "expiration": "Jul 31, 2024, 1:00:00 AM"},
              "assumedRoleUser": {"assumedRoleId": "AROA3EXAMPLEPRODADM:x", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/prod-admin/x"}})],
    [ev("AssumeRole", "sts.amazonaws.com", 0, key=KEY, req={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/prod-admin", "roleSessionName": "x"},
        resp={"credentials": {"accessKeyId": "ASIA3EXAMPLECHAIN002", "sessionToken": "IQoJEXAMPLE", "expiration": "Jul 31, 2024, 1:00:00 AM"}})],
    fp="hub-and-spoke role designs; CI pipelines")

det("ct-privilege-escalation-0005", "privilege-escalation", "Role passed to new compute by a long-term key", "medium",
    "attack.privilege-escalation, attack.t1548",
    "RunInstances with an instance profile, or Lambda CreateFunction with a role, by a long-term (AKIA) key: "
    "iam:PassRole used to run code with the role's rights.",
    single("errorcode IS NULL AND useridentity.accesskeyid LIKE 'AKIA%' AND ("
           f"(eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances' AND json_extract({RP}, '$.iamInstanceProfile') IS NOT NULL) OR "
           f"(eventsource = 'lambda.amazonaws.com' AND eventname LIKE 'CreateFunction%' AND json_extract_scalar({RP}, '$.role') IS NOT NULL))",
           "concat(eventname, ' passing ', coalesce(json_extract_scalar(requestparameters, '$.role'), json_extract_scalar(requestparameters, '$.iamInstanceProfile.arn'), json_extract_scalar(requestparameters, '$.iamInstanceProfile.name'), '?'))"),
    [ev("CreateFunction20150331", "lambda.amazonaws.com", 0, req={"functionName": "sync", "runtime": "python3.12", "role": f"arn:aws:iam::{ACCOUNT}:role/prod-admin", "handler": "index.handler"})],
    [ev("CreateFunction20150331", "lambda.amazonaws.com", 0, key=ASIA, req={"functionName": "sync", "runtime": "python3.12", "role": f"arn:aws:iam::{ACCOUNT}:role/lambda-exec", "handler": "index.handler"})],
    fp="deployments run with user keys")

det("ct-privilege-escalation-0006", "privilege-escalation", "User added to an administrators group", "medium",
    "attack.privilege-escalation, attack.t1098",
    "AddUserToGroup into a group whose name suggests administrative rights.",
    single(f"eventsource = 'iam.amazonaws.com' AND eventname = 'AddUserToGroup' AND errorcode IS NULL AND regexp_like(lower(json_extract_scalar({RP}, '$.groupName')), 'admin')",
           "concat('user ', coalesce(json_extract_scalar(requestparameters, '$.userName'), '?'), ' added to ', json_extract_scalar(requestparameters, '$.groupName'))"),
    [ev("AddUserToGroup", "iam.amazonaws.com", 0, req={"groupName": "Admins", "userName": "backup-svc"})],
    [ev("AddUserToGroup", "iam.amazonaws.com", 0, req={"groupName": "developers", "userName": "backup-svc"})],
    fp="onboarding of administrators")

# ---------------------------------------------------------------- defense evasion
def simple(id, title, level, tags, desc, source, names_, fire_name, fire_req, quiet_name, quiet_req=None, extra_where="", fp="", summary=None, region="us-east-1", fire_resp=None):
    where = f"eventsource = '{source}' AND eventname IN ({names(*names_)}) AND errorcode IS NULL" + (f" AND {extra_where}" if extra_where else "")
    det(id, id.split("-", 1)[1].rsplit("-", 1)[0], title, level, tags, desc,
        single(where, summary or "concat(eventname, ' in ', awsregion)"),
        [ev(fire_name, source, 0, req=fire_req, resp=fire_resp, region=region)],
        [ev(quiet_name, source, 0, req=quiet_req, region=region)] + [ev(fire_name, source, 10, req=fire_req, err="AccessDenied", region=region)],
        fp=fp)


simple("ct-defense-evasion-0001", "CloudTrail logging stopped or trail deleted", "high",
       "attack.defense-evasion, attack.t1562.008",
       "StopLogging or DeleteTrail: the account's audit log switched off.", "cloudtrail.amazonaws.com",
       ["StopLogging", "DeleteTrail"], "StopLogging", {"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"},
       "StartLogging", {"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"},
       summary="concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.name'), '?'))",
       fp="trail migrations by administrators")
simple("ct-defense-evasion-0002", "CloudTrail trail or event selectors changed", "medium",
       "attack.defense-evasion, attack.t1562.008",
       "UpdateTrail/PutEventSelectors/PutInsightSelectors: what is logged, or where, changed.", "cloudtrail.amazonaws.com",
       ["UpdateTrail", "PutEventSelectors", "PutAdvancedEventSelectors", "PutInsightSelectors"], "PutEventSelectors",
       {"trailName": "org-trail", "eventSelectors": [{"readWriteType": "WriteOnly", "includeManagementEvents": False, "dataResources": []}]},
       "GetEventSelectors", {"trailName": "org-trail"},
       summary="concat(eventname, ' on ', coalesce(json_extract_scalar(requestparameters, '$.trailName'), json_extract_scalar(requestparameters, '$.name'), '?'))",
       fp="logging configuration changes by administrators")

det("ct-defense-evasion-0003", "defense-evasion", "GuardDuty disabled, suspended or findings suppressed", "high",
    "attack.defense-evasion, attack.t1562.001",
    "DeleteDetector, UpdateDetector with enable=false, an auto-archive filter (CreateFilter/UpdateFilter with "
    "action ARCHIVE), a trusted IP list, or leaving the administrator account.",
    single("eventsource = 'guardduty.amazonaws.com' AND errorcode IS NULL AND ("
           "eventname IN ('DeleteDetector', 'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount', 'DeleteMembers', 'StopMonitoringMembers', 'CreateIPSet', 'DeletePublishingDestination') "
           f"OR (eventname = 'UpdateDetector' AND lower(json_extract_scalar({RP}, '$.enable')) = 'false') "
           f"OR (eventname IN ('CreateFilter', 'UpdateFilter') AND upper(json_extract_scalar({RP}, '$.action')) = 'ARCHIVE'))",
           "concat('GuardDuty ', eventname, ' in ', awsregion)"),
    [ev("UpdateDetector", "guardduty.amazonaws.com", 0, req={"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": False})],
    [ev("UpdateDetector", "guardduty.amazonaws.com", 0, req={"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": True, "findingPublishingFrequency": "FIFTEEN_MINUTES"}),
     ev("CreateFilter", "guardduty.amazonaws.com", 5, req={"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "name": "noisy", "action": "NOOP", "findingCriteria": {"criterion": {}}})],
    fp="GuardDuty reconfiguration by the security team")

simple("ct-defense-evasion-0004", "AWS Config recording stopped or deleted", "high",
       "attack.defense-evasion, attack.t1562.001",
       "StopConfigurationRecorder, DeleteConfigurationRecorder, DeleteDeliveryChannel or DeleteConfigRule.",
       "config.amazonaws.com",
       ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel", "DeleteConfigRule", "DeleteConformancePack"],
       "StopConfigurationRecorder", {"configurationRecorderName": "default"}, "DescribeConfigurationRecorders", None,
       fp="Config re-deployment")
simple("ct-defense-evasion-0005", "Security Hub disabled or standards turned off", "high",
       "attack.defense-evasion, attack.t1562.001",
       "DisableSecurityHub, BatchDisableStandards or DisableImportFindingsForProduct.", "securityhub.amazonaws.com",
       ["DisableSecurityHub", "BatchDisableStandards", "DisableImportFindingsForProduct", "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount"],
       "BatchDisableStandards", {"StandardsSubscriptionArns": [f"arn:aws:securityhub:us-east-1:{ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0"]},
       "GetEnabledStandards", None, fp="Security Hub reconfiguration")
simple("ct-defense-evasion-0006", "VPC flow logs deleted", "high",
       "attack.defense-evasion, attack.t1562.008",
       "DeleteFlowLogs: network logging removed.", "ec2.amazonaws.com", ["DeleteFlowLogs"], "DeleteFlowLogs",
       {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": "fl-0123456789abcdef0"}}}, "DescribeFlowLogs", None,
       fp="network re-architecture")
simple("ct-defense-evasion-0007", "Route 53 Resolver query logging removed", "high",
       "attack.defense-evasion, attack.t1562.008",
       "DeleteResolverQueryLogConfig or DisassociateResolverQueryLogConfig: DNS query logs switched off.",
       "route53resolver.amazonaws.com", ["DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig"],
       "DisassociateResolverQueryLogConfig", {"resolverQueryLogConfigId": "rqlc-8ca61fe7c055415a", "resourceId": "vpc-0a1b2c3d4e5f60718"},
       "ListResolverQueryLogConfigs", None, fp="DNS logging changes")
simple("ct-defense-evasion-0008", "Bedrock model invocation logging removed", "high",
       "attack.defense-evasion, attack.t1562.008",
       "DeleteModelInvocationLoggingConfiguration: prompts and completions no longer logged (LLMjacking hides its use).",
       "bedrock.amazonaws.com", ["DeleteModelInvocationLoggingConfiguration"], "DeleteModelInvocationLoggingConfiguration", None,
       "GetModelInvocationLoggingConfiguration", None, region="us-west-2", fp="Bedrock logging reconfiguration")
simple("ct-defense-evasion-0009", "Account left its organization", "critical",
       "attack.defense-evasion, attack.t1666",
       "LeaveOrganization: the account escaped its organization's SCPs and central logging.",
       "organizations.amazonaws.com", ["LeaveOrganization"], "LeaveOrganization", None, "DescribeOrganization", None,
       fp="planned account migrations between organizations")

det("ct-defense-evasion-0010", "defense-evasion", "CloudTrail log group or stream deleted", "high",
    "attack.defense-evasion, attack.t1562.008",
    "DeleteLogGroup/DeleteLogStream of a CloudWatch Logs group whose name says it holds CloudTrail logs.",
    single(f"eventsource = 'logs.amazonaws.com' AND eventname IN ('DeleteLogGroup', 'DeleteLogStream') AND errorcode IS NULL AND lower(json_extract_scalar({RP}, '$.logGroupName')) LIKE '%cloudtrail%'",
           "concat(eventname, ' ', json_extract_scalar(requestparameters, '$.logGroupName'))"),
    [ev("DeleteLogGroup", "logs.amazonaws.com", 0, req={"logGroupName": "aws-cloudtrail-logs-123456789012-org"})],
    [ev("DeleteLogGroup", "logs.amazonaws.com", 0, req={"logGroupName": "/aws/lambda/sync"})],
    fp="log group clean-up after a trail migration")

det("ct-defense-evasion-0011", "defense-evasion", "MFA device deactivated or deleted", "medium",
    "attack.defense-evasion, attack.t1556.006",
    "DeactivateMFADevice/DeleteVirtualMFADevice: a user's second factor removed.",
    single("eventsource = 'iam.amazonaws.com' AND eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice') AND errorcode IS NULL",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.serialNumber'), ''))"),
    [ev("DeactivateMFADevice", "iam.amazonaws.com", 0, req={"userName": "alice", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice"})],
    [ev("EnableMFADevice", "iam.amazonaws.com", 0, req={"userName": "alice", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice"})],
    fp="lost devices replaced by the help desk")

det("ct-defense-evasion-0012", "defense-evasion", "Calls from an offensive security distribution or attack tool", "high",
    "attack.defense-evasion, attack.execution, attack.t1059.009",
    "User agents of Pacu, Stratus Red Team, or the AWS CLI on Kali or Parrot Linux: attack tooling "
    "(GuardDuty's PenTest findings look for the same).",
    single("regexp_like(lower(useragent), 'pacu|stratus-red-team|kali|parrot|pentoo|blackarch')",
           "concat(eventname, ' from attack tooling: ', substr(useragent, 1, 120))"),
    [ev("ListUsers", "iam.amazonaws.com", 0, ua="aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off command/iam.list-users")],
    [ev("ListUsers", "iam.amazonaws.com", 0, ua="aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.ubuntu.22 prompt/off command/iam.list-users")],
    fp="authorised penetration tests")

# ---------------------------------------------------------------- initial access
det("ct-initial-access-0001", "initial-access", "Root user activity", "medium",
    "attack.initial-access, attack.privilege-escalation, attack.t1078.004",
    "API calls made as the account's root user (console sign-in events and calls made by AWS services "
    "for root excluded).",
    single("useridentity.type = 'Root' AND useridentity.invokedby IS NULL AND coalesce(eventtype, '') <> 'AwsConsoleSignIn' "
           "AND coalesce(sourceipaddress, '') NOT LIKE '%.amazonaws.com'",
           "concat('root called ', eventname)"),
    [ev("ListUsers", "iam.amazonaws.com", 0, kind="root", key="ASIA3EXAMPLEROOTCON1", extra={"sessionCredentialFromConsole": "true"})],
    [ev("ConsoleLogin", "signin.amazonaws.com", 0, kind="root", key=None, etype="AwsConsoleSignIn", ua=CONSOLE_UA,
        resp={"ConsoleLogin": "Success"}, extra={"additionalEventData": {"MFAUsed": "Yes"}}),
     ev("ListUsers", "iam.amazonaws.com", 10)],
    fp="documented root-only tasks")

det("ct-initial-access-0002", "initial-access", "Root access key used", "high",
    "attack.initial-access, attack.t1078.004",
    "A root user's long-term access key (AKIA) made an API call: root keys should not exist.",
    single("useridentity.type = 'Root' AND useridentity.accesskeyid LIKE 'AKIA%' AND coalesce(sessioncredentialfromconsole, 'false') <> 'true' "
           "AND useridentity.invokedby IS NULL",
           "concat('root access key ', useridentity.accesskeyid, ' called ', eventname)"),
    [ev("DescribeInstances", "ec2.amazonaws.com", 0, kind="root", key="AKIA3EXAMPLEROOTKEY1")],
    [ev("DescribeInstances", "ec2.amazonaws.com", 0, kind="root", key="ASIA3EXAMPLEROOTCON1", extra={"sessionCredentialFromConsole": "true"})],
    fp="none expected")

det("ct-initial-access-0003", "initial-access", "Console login without MFA", "medium",
    "attack.initial-access, attack.t1078.004",
    "A successful ConsoleLogin of an IAM user or root without MFA.",
    single("eventname = 'ConsoleLogin' AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success' "
           "AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No' AND useridentity.type IN ('IAMUser', 'Root')",
           "concat('console login without MFA as ', coalesce(useridentity.username, useridentity.arn, '?'))"),
    [ev("ConsoleLogin", "signin.amazonaws.com", 0, key=None, user="alice", ua=CONSOLE_UA, etype="AwsConsoleSignIn",
        resp={"ConsoleLogin": "Success"}, extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"}})],
    [ev("ConsoleLogin", "signin.amazonaws.com", 0, key=None, user="alice", ua=CONSOLE_UA, etype="AwsConsoleSignIn",
        resp={"ConsoleLogin": "Success"}, extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"}})],
    fp="users without MFA enforced (fix the policy)")

det("ct-initial-access-0004", "initial-access", "Activity in a region the account never used before", "medium",
    "attack.initial-access, attack.defense-evasion, attack.t1535",
    "The first event of an account in a region, more than an hour after the account's first event anywhere in "
    "the evidence (the baseline is the whole cloudtrail table): attackers favour unused regions.",
    """WITH acct AS (
    SELECT recipientaccountid AS a, min(event_ts) AS t0 FROM cloudtrail GROUP BY recipientaccountid
), reg AS (
    SELECT recipientaccountid AS a, awsregion AS r, min(event_ts) AS t1, count(*) AS n
    FROM cloudtrail GROUP BY recipientaccountid, awsregion
), firsts AS (
    -- Only the events at their region's first instant are numbered (a window over every
    -- event would sort the whole archive in memory): the small table of regions is joined
    -- first, and the earliest copy by evidence position wins ties.
    SELECT e.event_ts, e.evidence_path, e.evidence_index, e.eventid, e.recipientaccountid AS account_id,
           e.awsregion AS region, coalesce(e.useridentity.arn, e.useridentity.username, e.useridentity.invokedby) AS principal,
           e.useridentity.accesskeyid AS access_key_id, e.sourceipaddress AS source_ip, e.eventname, reg.n,
           row_number() OVER (PARTITION BY e.recipientaccountid, e.awsregion
                              ORDER BY e.event_ts, e.evidence_path, e.evidence_index) AS rn
    FROM reg JOIN events e ON reg.a = e.recipientaccountid AND reg.r = e.awsregion AND reg.t1 = e.event_ts
    WHERE e.awsregion IS NOT NULL AND e.recipientaccountid IS NOT NULL
)
SELECT f.event_ts, f.evidence_path, f.evidence_index, f.eventid, f.account_id, f.region, f.principal,
       f.access_key_id, f.source_ip,
       concat('first activity of account ', f.account_id, ' in ', f.region, ' (', f.eventname, '); ',
              CAST(f.n AS VARCHAR), ' event(s) there in all') AS summary,
       1 AS count
FROM firsts f
JOIN acct ON acct.a = f.account_id
WHERE f.rn = 1 AND f.event_ts > acct.t0 + INTERVAL '1 hour'""",
    [ev("DescribeInstances", "ec2.amazonaws.com", 0, region="us-east-1"),
     ev("DescribeInstances", "ec2.amazonaws.com", 7200, region="ap-southeast-3"),
     ev("DescribeInstances", "ec2.amazonaws.com", 7300, region="ap-southeast-3")],
    [ev("DescribeInstances", "ec2.amazonaws.com", 0, region="us-east-1"),
     ev("DescribeInstances", "ec2.amazonaws.com", 600, region="ap-southeast-3"),
     ev("DescribeInstances", "ec2.amazonaws.com", 7200, region="us-east-1")],
    fp="a team starting to use a new region")

det("ct-initial-access-0005", "initial-access", "AWS quarantine policy attached: AWS reports the key as exposed", "high",
    "attack.initial-access, attack.t1078.004",
    "AWS attached AWSCompromisedKeyQuarantine (V1/V2/V3) to a user: AWS found the user's access key in public "
    "(e.g. on GitHub). Treat the key as leaked.",
    single(f"eventsource = 'iam.amazonaws.com' AND eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy') AND json_extract_scalar({RP}, '$.policyArn') LIKE 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine%'",
           "concat(json_extract_scalar(requestparameters, '$.policyArn'), ' attached to ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), '?'))"),
    [ev("AttachUserPolicy", "iam.amazonaws.com", 0, key="ASIA3EXAMPLEAWSSUPP1", user="AWSSupport", ip="support.amazonaws.com", ua="support.amazonaws.com",
        req={"userName": "dev-ci", "policyArn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"})],
    [ev("AttachUserPolicy", "iam.amazonaws.com", 0, req={"userName": "dev-ci", "policyArn": "arn:aws:iam::aws:policy/AWSDenyAll"})],
    fp="none: AWS only attaches it when it found the key exposed", refs="https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCompromisedKeyQuarantineV3.html")

# ---------------------------------------------------------------- exfiltration
def snap_req(item):
    return {"snapshotId": "snap-0123456789abcdef0", "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [item]}}}


det("ct-exfiltration-0001", "exfiltration", "EBS snapshot made public", "critical",
    "attack.exfiltration, attack.t1537",
    "ModifySnapshotAttribute adding createVolumePermission for group all: anyone can copy the disk.",
    single(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifySnapshotAttribute' AND errorcode IS NULL "
           f"AND regexp_like(coalesce(json_extract({RP}, '$.createVolumePermission.add'), ''), '\"group\"\\s*:\\s*\"all\"')",
           "concat('snapshot ', coalesce(json_extract_scalar(requestparameters, '$.snapshotId'), '?'), ' made public')"),
    [ev("ModifySnapshotAttribute", "ec2.amazonaws.com", 0, req=snap_req({"group": "all"}), resp={"_return": True})],
    [ev("ModifySnapshotAttribute", "ec2.amazonaws.com", 0, req={"snapshotId": "snap-0123456789abcdef0", "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"remove": {"items": [{"group": "all"}]}}})],
    fp="none expected for data volumes")

det("ct-exfiltration-0002", "exfiltration", "EBS snapshot shared with another account", "high",
    "attack.exfiltration, attack.t1537",
    "ModifySnapshotAttribute adding createVolumePermission for an account other than the snapshot's own.",
    single(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifySnapshotAttribute' AND errorcode IS NULL "
           f"AND regexp_like(regexp_replace(coalesce(json_extract({RP}, '$.createVolumePermission.add'), ''), recipientaccountid, '', 'g'), '\"userId\"\\s*:\\s*\"[0-9]+\"')",
           "concat('snapshot ', coalesce(json_extract_scalar(requestparameters, '$.snapshotId'), '?'), ' shared: ', json_extract(requestparameters, '$.createVolumePermission.add'))"),
    [ev("ModifySnapshotAttribute", "ec2.amazonaws.com", 0, req=snap_req({"userId": OTHER}), resp={"_return": True})],
    [ev("ModifySnapshotAttribute", "ec2.amazonaws.com", 0, req=snap_req({"userId": ACCOUNT}), resp={"_return": True})],
    fp="backup copies to your own accounts (check the account ID)")

det("ct-exfiltration-0003", "exfiltration", "AMI shared with another account or made public", "high",
    "attack.exfiltration, attack.t1537",
    "ModifyImageAttribute adding launchPermission for another account or for group all.",
    single(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifyImageAttribute' AND errorcode IS NULL "
           f"AND regexp_like(regexp_replace(coalesce(json_extract({RP}, '$.launchPermission.add'), ''), recipientaccountid, '', 'g'), '\"userId\"\\s*:\\s*\"[0-9]+\"|\"group\"\\s*:\\s*\"all\"')",
           "concat('image ', coalesce(json_extract_scalar(requestparameters, '$.imageId'), '?'), ' shared: ', json_extract(requestparameters, '$.launchPermission.add'))"),
    [ev("ModifyImageAttribute", "ec2.amazonaws.com", 0, req={"imageId": "ami-0123456789abcdef0", "launchPermission": {"add": {"items": [{"group": "all"}]}}, "attributeType": "launchPermission"})],
    [ev("ModifyImageAttribute", "ec2.amazonaws.com", 0, req={"imageId": "ami-0123456789abcdef0", "description": {"value": "golden image"}})],
    fp="AMIs published on purpose")

det("ct-exfiltration-0004", "exfiltration", "RDS snapshot shared with another account or made public", "high",
    "attack.exfiltration, attack.t1537",
    "ModifyDBSnapshotAttribute/ModifyDBClusterSnapshotAttribute adding restore permission for an account or all.",
    single(f"eventsource = 'rds.amazonaws.com' AND eventname IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute') AND errorcode IS NULL "
           f"AND lower(json_extract_scalar({RP}, '$.attributeName')) = 'restore' AND json_array_length(json_extract({RP}, '$.valuesToAdd')) > 0",
           "concat('DB snapshot ', coalesce(json_extract_scalar(requestparameters, '$.dBSnapshotIdentifier'), json_extract_scalar(requestparameters, '$.dBClusterSnapshotIdentifier'), '?'), ' shared with ', json_extract(requestparameters, '$.valuesToAdd'))"),
    [ev("ModifyDBSnapshotAttribute", "rds.amazonaws.com", 0, req={"dBSnapshotIdentifier": "prod-db-2024-07-30", "attributeName": "restore", "valuesToAdd": [OTHER]})],
    [ev("ModifyDBSnapshotAttribute", "rds.amazonaws.com", 0, req={"dBSnapshotIdentifier": "prod-db-2024-07-30", "attributeName": "restore", "valuesToRemove": [OTHER]})],
    fp="snapshot copies to your own backup account")

_pub_pol = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "pub", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::corp-data/*"}]})
_own_pol = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "own", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::corp-data/*"}]})
det("ct-exfiltration-0005", "exfiltration", "Bucket policy opened to everyone", "high",
    "attack.exfiltration, attack.t1530",
    "PutBucketPolicy with a statement whose principal is \"*\" (or {\"AWS\":\"*\"}).",
    single("eventsource = 's3.amazonaws.com' AND eventname = 'PutBucketPolicy' AND errorcode IS NULL "
           f"AND regexp_like(regexp_replace(coalesce(json_extract({RP}, '$.bucketPolicy'), json_extract_scalar({RP}, '$.policy'), ''), '\\s', '', 'g'), '\"Principal\":(\"\\*\"|\\{{\"AWS\":(\\[)?\"\\*\")')",
           "concat('bucket ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), ' policy allows Principal *')"),
    [ev("PutBucketPolicy", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "policy": "", "Host": "corp-data.s3.amazonaws.com", "bucketPolicy": json.loads(_pub_pol)}),
     ev("PutBucketPolicy", "s3.amazonaws.com", 60, req={"bucketName": "corp-site", "Host": "corp-site.s3.amazonaws.com", "policy": _pub_pol.replace(" ", "")})],
    [ev("PutBucketPolicy", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "policy": "", "Host": "corp-data.s3.amazonaws.com", "bucketPolicy": json.loads(_own_pol)})],
    expect={"findings": 2, "count": 1}, fp="static websites served from a bucket")

det("ct-exfiltration-0006", "exfiltration", "Bucket ACL grants public access", "high",
    "attack.exfiltration, attack.t1530",
    "PutBucketAcl/PutObjectAcl granting AllUsers or AuthenticatedUsers, or a public canned ACL.",
    single("eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketAcl', 'PutObjectAcl') AND errorcode IS NULL "
           "AND regexp_like(coalesce(requestparameters, ''), 'acs.amazonaws.com/groups/global/(AllUsers|AuthenticatedUsers)|\"x-amz-acl\"\\s*:\\s*\\[?\\s*\"(public-read|public-read-write|authenticated-read)\"')",
           "concat(eventname, ' made ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), ' public')"),
    [ev("PutBucketAcl", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "acl": "", "Host": "corp-data.s3.amazonaws.com", "x-amz-acl": ["public-read"]})],
    [ev("PutBucketAcl", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "acl": "", "Host": "corp-data.s3.amazonaws.com", "x-amz-acl": ["private"]})],
    fp="public download buckets")

det("ct-exfiltration-0007", "exfiltration", "S3 Block Public Access removed or relaxed", "medium",
    "attack.exfiltration, attack.defense-evasion, attack.t1530",
    "DeleteBucketPublicAccessBlock/DeletePublicAccessBlock, or a Put…PublicAccessBlock with a setting false.",
    single("eventsource IN ('s3.amazonaws.com', 's3-control.amazonaws.com') AND errorcode IS NULL AND ("
           "eventname IN ('DeleteBucketPublicAccessBlock', 'DeletePublicAccessBlock', 'DeleteAccountPublicAccessBlock') OR "
           "(eventname IN ('PutBucketPublicAccessBlock', 'PutPublicAccessBlock', 'PutAccountPublicAccessBlock') AND "
           "regexp_like(coalesce(requestparameters, ''), '\"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)\"\\s*:\\s*\"?false')))",
           "concat(eventname, ' on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), 'the account'))"),
    [ev("PutBucketPublicAccessBlock", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "publicAccessBlock": "", "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}})],
    [ev("PutBucketPublicAccessBlock", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "publicAccessBlock": "", "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}})],
    fp="buckets made public on purpose")

simple("ct-exfiltration-0008", "S3 bucket replication configured", "medium",
       "attack.exfiltration, attack.t1537",
       "PutBucketReplication: objects copied automatically to another bucket, possibly another account's.",
       "s3.amazonaws.com", ["PutBucketReplication"], "PutBucketReplication",
       {"bucketName": "corp-data", "replication": "", "ReplicationConfiguration": {"Role": f"arn:aws:iam::{ACCOUNT}:role/repl", "Rule": {"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::exfil-bucket-7731", "Account": OTHER}}}},
       "GetBucketReplication", {"bucketName": "corp-data", "replication": ""},
       summary="concat('replication configured on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'))",
       fp="disaster-recovery replication")

det("ct-exfiltration-0009", "exfiltration", "Data export task started", "medium",
    "attack.exfiltration, attack.t1537",
    "CreateExportTask (CloudWatch Logs), StartExportTask (RDS snapshot to S3), CreateInstanceExportTask, "
    "ExportSnapshot (Lightsail) or ExportImage: bulk data moved to S3.",
    single("errorcode IS NULL AND eventname IN ('CreateExportTask', 'StartExportTask', 'CreateInstanceExportTask', 'ExportSnapshot', 'ExportImage', 'ExportTableToPointInTime')",
           "concat(eventname, ' to ', coalesce(json_extract_scalar(requestparameters, '$.destination'), json_extract_scalar(requestparameters, '$.s3BucketName'), json_extract_scalar(requestparameters, '$.s3Bucket'), '?'))"),
    [ev("StartExportTask", "rds.amazonaws.com", 0, req={"exportTaskIdentifier": "x1", "sourceArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:prod-db-2024-07-30", "s3BucketName": "exfil-bucket-7731", "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/export", "kmsKeyId": "alias/aws/rds"})],
    [ev("DescribeExportTasks", "rds.amazonaws.com", 0, req={})],
    fp="scheduled analytics exports")

# ---------------------------------------------------------------- impact
GPU = "regexp_like(lower(coalesce(json_extract_scalar(requestparameters, '$.instanceType'), '')), '^(p[0-9]|g[0-9]|gr[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|vt[0-9]|f[0-9])')"


def run_req(itype):
    return {"instancesSet": {"items": [{"imageId": "ami-0123456789abcdef0", "minCount": 1, "maxCount": 4}]}, "instanceType": itype,
            "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False,
            "clientToken": "e3b0c442-98fc-1c14-9afb-f4c8996fb924"}


det("ct-impact-0001", "impact", "GPU or accelerated instance launched or attempted", "medium",
    "attack.impact, attack.t1496.001",
    "RunInstances of an accelerated type (p*, g*, inf*, trn*, dl*, f*, vt*), successful or not: "
    "cryptomining and model hosting on stolen keys.",
    single(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances' AND {GPU}",
           "concat('RunInstances ', json_extract_scalar(requestparameters, '$.instanceType'), ' in ', awsregion, CASE WHEN errorcode IS NULL THEN '' ELSE concat(' (failed: ', errorcode, ')') END)"),
    [ev("RunInstances", "ec2.amazonaws.com", 0, req=run_req("p4d.24xlarge"), region="us-east-2", err="VcpuLimitExceeded")],
    [ev("RunInstances", "ec2.amazonaws.com", 0, req=run_req("m5.large"), region="us-east-2",
        resp={"reservationId": "r-0123456789abcdef0", "ownerId": ACCOUNT, "instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60718", "instanceType": "m5.large"}]}})],
    fp="ML and rendering teams")

det("ct-impact-0002", "impact", "Burst of GPU instance launch attempts", "high",
    "attack.impact, attack.t1496.001",
    "Two or more accelerated-instance RunInstances attempts by one key with no gap over thirty minutes, "
    "or across regions: a miner looking for capacity and quota.",
    burst_sql(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances' AND {GPU}", "GPU/accelerated launch attempts", 2, gap="30 minutes"),
    [ev("RunInstances", "ec2.amazonaws.com", i * 60, req=run_req(t), region=r, err=e)
     for i, (t, r, e) in enumerate([("p3.16xlarge", "us-east-1", "VcpuLimitExceeded"), ("g5.12xlarge", "us-west-2", "VcpuLimitExceeded"),
                                    ("g4dn.12xlarge", "eu-west-1", None), ("p4d.24xlarge", "us-east-2", "InsufficientInstanceCapacity")])],
    [ev("RunInstances", "ec2.amazonaws.com", 0, req=run_req("g4dn.xlarge")), ev("RunInstances", "ec2.amazonaws.com", 7200, req=run_req("g4dn.xlarge")),
     ev("RunInstances", "ec2.amazonaws.com", 7210, req=run_req("m5.xlarge"))],
    expect={"findings": 1, "count": 4}, fp="ML teams scaling a training cluster")

det("ct-impact-0003", "impact", "Service quota probing", "low",
    "attack.impact, attack.discovery, attack.t1496",
    "GetServiceQuota/ListServiceQuotas/GetAWSDefaultServiceQuota/ListRequestedServiceQuotaChangeHistory: what "
    "can this account run?",
    single("eventsource = 'servicequotas.amazonaws.com' AND eventname IN ('GetServiceQuota', 'ListServiceQuotas', 'GetAWSDefaultServiceQuota', 'ListAWSDefaultServiceQuotas', 'ListRequestedServiceQuotaChangeHistory')",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.serviceCode'), ''), ' ', coalesce(json_extract_scalar(requestparameters, '$.quotaCode'), ''))"),
    [ev("GetServiceQuota", "servicequotas.amazonaws.com", 0, req={"serviceCode": "ec2", "quotaCode": "L-417A185B"})],
    [ev("ListServices", "servicequotas.amazonaws.com", 0, req={})],
    fp="capacity planning")

det("ct-impact-0004", "impact", "Service quota increase requested", "medium",
    "attack.impact, attack.t1496",
    "RequestServiceQuotaIncrease: more capacity asked for (GPU vCPUs, SES sending, Bedrock tokens).",
    single("eventsource = 'servicequotas.amazonaws.com' AND eventname = 'RequestServiceQuotaIncrease'",
           "concat('quota increase ', coalesce(json_extract_scalar(requestparameters, '$.serviceCode'), ''), ' ', coalesce(json_extract_scalar(requestparameters, '$.quotaCode'), ''), ' to ', coalesce(json_extract_scalar(requestparameters, '$.desiredValue'), '?'))"),
    [ev("RequestServiceQuotaIncrease", "servicequotas.amazonaws.com", 0, req={"serviceCode": "ec2", "quotaCode": "L-417A185B", "desiredValue": 256.0})],
    [ev("GetRequestedServiceQuotaChange", "servicequotas.amazonaws.com", 0, req={"requestId": "d1a6c0b5"})],
    fp="capacity planning")

det("ct-impact-0005", "impact", "Bedrock model access enabled", "high",
    "attack.impact, attack.t1496",
    "PutFoundationModelEntitlement, PutUseCaseForModelAccess or CreateFoundationModelAgreement: foundation "
    "models switched on (LLMjacking).",
    single("eventsource = 'bedrock.amazonaws.com' AND eventname IN ('PutFoundationModelEntitlement', 'PutUseCaseForModelAccess', 'CreateFoundationModelAgreement')",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.modelId'), ''), ' in ', awsregion)"),
    [ev("PutUseCaseForModelAccess", "bedrock.amazonaws.com", 0, region="us-east-1", req={"formData": "***"}),
     ev("CreateFoundationModelAgreement", "bedrock.amazonaws.com", 30, region="us-east-1", req={"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0", "offerToken": "***"})],
    [ev("ListFoundationModelAgreementOffers", "bedrock.amazonaws.com", 0, req={"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"})],
    expect={"findings": 2, "count": 1}, fp="teams onboarding Bedrock (confirm with them)")

det("ct-impact-0006", "impact", "Burst of Bedrock model invocations", "medium",
    "attack.impact, attack.t1496",
    "Five or more InvokeModel/Converse (and streaming variants) by one key with no gap over ten minutes.",
    burst_sql("eventsource = 'bedrock.amazonaws.com' AND eventname IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream')",
              "Bedrock model invocations", 5),
    burst(20, lambda i, t: ev("InvokeModel" if i % 2 else "Converse", "bedrock.amazonaws.com", t, region="us-east-1", req={"modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0"}, category="Management"), step=15),
    burst(4, lambda i, t: ev("InvokeModel", "bedrock.amazonaws.com", t, req={"modelId": "amazon.titan-text-express-v1"})),
    expect={"findings": 1, "count": 20}, fp="applications built on Bedrock (check the key and source IP)")

det("ct-impact-0007", "impact", "SES sending enabled or production access requested", "medium",
    "attack.impact, attack.t1496",
    "UpdateAccountSendingEnabled(enabled=true), PutAccountDetails (production access request), "
    "VerifyEmailIdentity/VerifyDomainIdentity/CreateEmailIdentity: an account being readied for spam.",
    single("eventsource = 'ses.amazonaws.com' AND errorcode IS NULL AND ("
           "eventname IN ('PutAccountDetails', 'VerifyEmailIdentity', 'VerifyDomainIdentity', 'CreateEmailIdentity', 'VerifyEmailAddress') OR "
           f"(eventname = 'UpdateAccountSendingEnabled' AND lower(coalesce(json_extract_scalar({RP}, '$.enabled'), 'true')) = 'true'))",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.emailAddress'), json_extract_scalar(requestparameters, '$.emailIdentity'), json_extract_scalar(requestparameters, '$.domain'), ''))"),
    [ev("PutAccountDetails", "ses.amazonaws.com", 0, req={"mailType": "MARKETING", "websiteURL": "https://example.net", "useCaseDescription": "***", "productionAccessEnabled": True})],
    [ev("UpdateAccountSendingEnabled", "ses.amazonaws.com", 0, req={"enabled": False})],
    fp="teams setting up transactional mail")

det("ct-impact-0008", "impact", "Destructive delete of data stores", "medium",
    "attack.impact, attack.t1485",
    "DeleteBucket, DeleteDBInstance, DeleteDBCluster, DeleteSecret, DeleteTable (DynamoDB), DeleteFileSystem, "
    "DeleteBackupVault or DeleteSnapshot.",
    single("errorcode IS NULL AND eventname IN ('DeleteBucket', 'DeleteDBInstance', 'DeleteDBCluster', 'DeleteSecret', 'DeleteFileSystem', 'DeleteBackupVault', 'DeleteRecoveryPoint', 'DeleteGlobalCluster') "
           "OR (errorcode IS NULL AND eventsource = 'dynamodb.amazonaws.com' AND eventname = 'DeleteTable')",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), json_extract_scalar(requestparameters, '$.dBInstanceIdentifier'), json_extract_scalar(requestparameters, '$.dBClusterIdentifier'), json_extract_scalar(requestparameters, '$.secretId'), json_extract_scalar(requestparameters, '$.tableName'), ''))"),
    [ev("DeleteDBInstance", "rds.amazonaws.com", 0, req={"dBInstanceIdentifier": "prod-db", "skipFinalSnapshot": True, "deleteAutomatedBackups": True})],
    [ev("DeleteDBInstance", "rds.amazonaws.com", 0, req={"dBInstanceIdentifier": "prod-db", "skipFinalSnapshot": True}, err="InvalidDBInstanceState")],
    fp="decommissioning")

det("ct-impact-0009", "impact", "Mass instance termination", "high",
    "attack.impact, attack.t1485",
    "Ten or more TerminateInstances calls by one key with no gap over ten minutes (calls made by AWS services, "
    "e.g. Auto Scaling, excluded).",
    burst_sql("eventsource = 'ec2.amazonaws.com' AND eventname = 'TerminateInstances' AND errorcode IS NULL "
              "AND useridentity.invokedby IS NULL AND coalesce(sourceipaddress, '') NOT LIKE '%amazonaws.com'",
              "TerminateInstances calls", 10),
    burst(10, lambda i, t: ev("TerminateInstances", "ec2.amazonaws.com", t, req={"instancesSet": {"items": [{"instanceId": f"i-0a1b2c3d4e5f6{i:04d}"}]}})),
    burst(10, lambda i, t: ev("TerminateInstances", "ec2.amazonaws.com", t, key="ASIA3EXAMPLEASGSESS1", ip="autoscaling.amazonaws.com", ua="autoscaling.amazonaws.com",
                              req={"instancesSet": {"items": [{"instanceId": f"i-0a1b2c3d4e5f6{i:04d}"}]}})),
    expect={"findings": 1, "count": 10}, fp="planned tear-downs")

det("ct-impact-0010", "impact", "S3 object written with a customer-provided key (SSE-C)", "high",
    "attack.impact, attack.t1486",
    "CopyObject/PutObject with x-amz-server-side-encryption-customer-algorithm: objects re-encrypted with a key "
    "AWS does not keep (S3 ransomware).",
    single("eventsource = 's3.amazonaws.com' AND eventname IN ('CopyObject', 'PutObject', 'CompleteMultipartUpload', 'UploadPart') AND errorcode IS NULL "
           "AND (lower(coalesce(requestparameters, '')) LIKE '%x-amz-server-side-encryption-customer-algorithm%' OR "
           "lower(coalesce(additionaleventdata, '')) LIKE '%\"ssecustomeralgorithm\"%' OR lower(coalesce(additionaleventdata, '')) LIKE '%sse-c%')",
           "concat(eventname, ' with SSE-C on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), '/', coalesce(json_extract_scalar(requestparameters, '$.key'), '?'))"),
    [ev("CopyObject", "s3.amazonaws.com", 0, category="Data", req={"bucketName": "corp-data", "key": "reports/q2.pdf", "x-amz-copy-source": "corp-data/reports/q2.pdf", "x-amz-server-side-encryption-customer-algorithm": "AES256", "Host": "corp-data.s3.amazonaws.com"},
        extra={"additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredIn": 0, "SSEApplied": "SSE_C", "x-amz-id-2": "EXAMPLE"}})],
    [ev("CopyObject", "s3.amazonaws.com", 0, category="Data", req={"bucketName": "corp-data", "key": "reports/q2.pdf", "x-amz-copy-source": "corp-data/reports/q2.pdf", "x-amz-server-side-encryption": "aws:kms", "Host": "corp-data.s3.amazonaws.com"},
        extra={"additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredIn": 0, "SSEApplied": "SSE_KMS", "x-amz-id-2": "EXAMPLE"}})],
    fp="applications that use SSE-C by design")

det("ct-impact-0011", "impact", "Bucket default encryption set to another account's KMS key", "high",
    "attack.impact, attack.t1486",
    "PutBucketEncryption naming a KMS key ARN in an account other than the bucket's: the attacker holds the key.",
    single("eventsource = 's3.amazonaws.com' AND eventname = 'PutBucketEncryption' AND errorcode IS NULL "
           "AND regexp_like(coalesce(requestparameters, ''), 'arn:aws:kms:[a-z0-9-]+:[0-9]{12}:') "
           "AND NOT regexp_like(coalesce(requestparameters, ''), concat('arn:aws:kms:[a-z0-9-]+:', recipientaccountid, ':'))",
           "concat('bucket ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), ' encrypted with a foreign KMS key')"),
    [ev("PutBucketEncryption", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "encryption": "", "ServerSideEncryptionConfiguration": {"Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": f"arn:aws:kms:us-east-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}}})],
    [ev("PutBucketEncryption", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "encryption": "", "ServerSideEncryptionConfiguration": {"Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}}})],
    fp="central KMS accounts in an organization (check the account)")

det("ct-impact-0012", "impact", "Mass S3 object deletion", "medium",
    "attack.impact, attack.t1485",
    "Fifty or more DeleteObject/DeleteObjects calls by one key with no gap over ten minutes (data events).",
    burst_sql("eventsource = 's3.amazonaws.com' AND eventname IN ('DeleteObject', 'DeleteObjects') AND errorcode IS NULL",
              "object deletions", 50),
    burst(50, lambda i, t: ev("DeleteObject", "s3.amazonaws.com", t, category="Data", req={"bucketName": "corp-data", "key": f"reports/{i:04d}.pdf", "Host": "corp-data.s3.amazonaws.com"}), step=2),
    burst(10, lambda i, t: ev("DeleteObject", "s3.amazonaws.com", t, category="Data", req={"bucketName": "corp-data", "key": f"tmp/{i:04d}", "Host": "corp-data.s3.amazonaws.com"})),
    expect={"findings": 1, "count": 50}, fp="clean-up jobs")

det("ct-impact-0013", "impact", "Bucket lifecycle rule with a very short expiration", "medium",
    "attack.impact, attack.t1485",
    "PutBucketLifecycleConfiguration (PutBucketLifecycle) expiring objects after one day or less: data "
    "deleted by S3 itself.",
    single("eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketLifecycle', 'PutBucketLifecycleConfiguration') AND errorcode IS NULL "
           "AND regexp_like(regexp_replace(coalesce(requestparameters, ''), '\\s', '', 'g'), '\"Expiration\":\\{[^}]*\"Days\":\"?[01]\"?[,}]')",
           "concat('short expiration lifecycle on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'))"),
    [ev("PutBucketLifecycle", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "lifecycle": "", "Host": "corp-data.s3.amazonaws.com",
                                                         "LifecycleConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Rule": {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}}})],
    [ev("PutBucketLifecycle", "s3.amazonaws.com", 0, req={"bucketName": "corp-data", "lifecycle": "", "Host": "corp-data.s3.amazonaws.com",
                                                         "LifecycleConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Rule": {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 30}}}})],
    fp="scratch buckets")

det("ct-impact-0014", "impact", "KMS key scheduled for deletion or disabled", "high",
    "attack.impact, attack.t1485",
    "ScheduleKeyDeletion or DisableKey: data encrypted with the key becomes unreadable.",
    single("eventsource = 'kms.amazonaws.com' AND eventname IN ('ScheduleKeyDeletion', 'DisableKey') AND errorcode IS NULL AND useridentity.invokedby IS NULL",
           "concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.keyId'), '?'))"),
    [ev("ScheduleKeyDeletion", "kms.amazonaws.com", 0, req={"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "pendingWindowInDays": 7})],
    [ev("CancelKeyDeletion", "kms.amazonaws.com", 0, req={"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"})],
    fp="key rotation clean-up")

det("ct-impact-0015", "impact", "EC2 instance user data changed", "medium",
    "attack.impact, attack.execution, attack.t1496",
    "ModifyInstanceAttribute setting userData: code that runs at the next boot (miners, backdoors).",
    single(f"eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifyInstanceAttribute' AND errorcode IS NULL AND json_extract({RP}, '$.userData') IS NOT NULL",
           "concat('user data changed on ', coalesce(json_extract_scalar(requestparameters, '$.instanceId'), '?'))"),
    [ev("ModifyInstanceAttribute", "ec2.amazonaws.com", 0, req={"instanceId": "i-0a1b2c3d4e5f60718", "userData": "<sensitiveDataRemoved>"})],
    [ev("ModifyInstanceAttribute", "ec2.amazonaws.com", 0, req={"instanceId": "i-0a1b2c3d4e5f60718", "instanceType": {"value": "m5.xlarge"}})],
    fp="configuration changes by administrators")



det("ct-lateral-movement-0001", "lateral-movement", "Role assumed in another account", "low",
    "attack.lateral-movement, attack.t1550.001",
    "AssumeRole of a role whose ARN names an account other than the caller's: movement across accounts.",
    single(f"eventsource = 'sts.amazonaws.com' AND eventname = 'AssumeRole' AND errorcode IS NULL "
           f"AND json_extract_scalar({RP}, '$.roleArn') LIKE 'arn:aws:iam::%' "
           f"AND split_part(json_extract_scalar({RP}, '$.roleArn'), ':', 5) <> coalesce(useridentity.accountid, recipientaccountid)",
           "concat('assumed ', json_extract_scalar(requestparameters, '$.roleArn'))"),
    [ev("AssumeRole", "sts.amazonaws.com", 0, req={"roleArn": f"arn:aws:iam::{OTHER}:role/CrossAccountAudit", "roleSessionName": "audit", "durationSeconds": 3600},
        resp={"credentials": {"accessKeyId": "ASIA3EXAMPLEXACCT001", "sessionToken": "IQoJEXAMPLE", "expiration": "Jul 31, 2024, 1:00:00 AM"}})],
    [ev("AssumeRole", "sts.amazonaws.com", 0, req={"roleArn": f"arn:aws:iam::{ACCOUNT}:role/CrossAccountAudit", "roleSessionName": "audit", "durationSeconds": 3600},
        resp={"credentials": {"accessKeyId": "ASIA3EXAMPLEXACCT002", "sessionToken": "IQoJEXAMPLE", "expiration": "Jul 31, 2024, 1:00:00 AM"}})],
    fp="organizations with cross-account roles (most of them)")

det("ct-defense-evasion-0013", "defense-evasion", "Session token minted from a long-term key", "low",
    "attack.defense-evasion, attack.lateral-movement, attack.t1550.001",
    "GetSessionToken with an AKIA key: temporary credentials that keep working for up to 36 hours after the "
    "long-term key is deactivated.",
    single("eventsource = 'sts.amazonaws.com' AND eventname = 'GetSessionToken' AND errorcode IS NULL AND useridentity.accesskeyid LIKE 'AKIA%'",
           "concat('session token ', coalesce(json_extract_scalar(responseelements, '$.credentials.accessKeyId'), '?'), ' minted')"),
    [ev("GetSessionToken", "sts.amazonaws.com", 0, req={"durationSeconds": 129600},
        resp={"credentials": {"accessKeyId": "ASIA3EXAMPLESESTOK01", "sessionToken": "IQoJEXAMPLE", "expiration": "Aug 1, 2024, 12:00:00 PM"}})],
    [ev("GetSessionToken", "sts.amazonaws.com", 0, req={"durationSeconds": 129600}, err="AccessDenied")],
    fp="users who need MFA-backed sessions from the CLI")

det("ct-collection-0001", "collection", "Burst of S3 downloads by a long-term key", "low",
    "attack.collection, attack.t1530",
    "Five or more GetObject calls by one long-term (AKIA) key with no gap over ten minutes (data events): "
    "bulk download with a user's key rather than an application role.",
    burst_sql("eventsource = 's3.amazonaws.com' AND eventname = 'GetObject' AND errorcode IS NULL AND useridentity.accesskeyid LIKE 'AKIA%'",
              "S3 object downloads", 5),
    burst(5, lambda i, t: ev("GetObject", "s3.amazonaws.com", t, category="Data", req={"bucketName": "corp-data", "key": f"exports/customers-{i}.csv.gz", "Host": "corp-data.s3.amazonaws.com"}), step=9),
    burst(5, lambda i, t: ev("GetObject", "s3.amazonaws.com", t, key=ASIA, category="Data", req={"bucketName": "corp-data", "key": f"exports/customers-{i}.csv.gz", "Host": "corp-data.s3.amazonaws.com"}), step=9),
    expect={"findings": 1, "count": 5}, fp="people syncing buckets with the CLI")

# ---------------------------------------------------------------- writer
def header(d):
    lines = [f"-- id: {d['id']}", f"-- title: {d['title']}", "-- source: cloudtrail", f"-- level: {d['level']}",
             "-- status: stable", f"-- tags: {d['tags']}", "-- author: trailsift maintainers", "-- created: 2026-12-02"]
    techs = [t.split(".", 1)[1].upper() for t in d["tags"].split(", ") if t.startswith("attack.t")]
    refs = [f"https://attack.mitre.org/techniques/{t.replace('.', '/')}/" for t in techs]
    if d["refs"]:
        refs.append(d["refs"])
    lines.append(f"-- references: {', '.join(refs)}")
    if d["fp"]:
        lines.append(f"-- falsepositives: {d['fp']}")
    lines.append(f"-- description: {d['description']}")
    return "\n".join(lines) + "\n"


def main():
    ids = set()
    for d in DETS:
        assert d["id"] not in ids, d["id"]
        ids.add(d["id"])
        sql_dir = os.path.join(ROOT, "crates", "detect", "detections", "cloudtrail", d["tactic"])
        os.makedirs(sql_dir, exist_ok=True)
        with open(os.path.join(sql_dir, d["id"] + ".sql"), "w") as f:
            f.write(header(d) + d["sql"].strip() + "\n")
        fx = os.path.join(ROOT, "fixtures", "detections", d["id"])
        os.makedirs(fx, exist_ok=True)
        for name in ("fire", "quiet"):
            with open(os.path.join(fx, name + ".json"), "w") as f:
                # One record per line: readable, and small enough to commit.
                f.write('{"Records": [\n' + ",\n".join(json.dumps(r, separators=(",", ":")) for r in d[name]) + "\n]}\n")
        with open(os.path.join(fx, "expect.json"), "w") as f:
            json.dump(d["expect"], f)
            f.write("\n")
    print(len(DETS), "detections")


if __name__ == "__main__":
    main()
