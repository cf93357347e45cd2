//! Benign background activity: the identities of an account and the records they make.
//!
//! Every identity works from its own addresses (office NAT in 192.0.2.0/24, CI runners in
//! 100.64.0.0/10, instances behind VPC endpoints in 10.0.0.0/8, a few IPv6 clients in a ULA
//! range, AWS services by name), so the attacker ranges of a planted incident never appear in
//! noise. Role sessions rotate every hour; their keys are a function of (seed, account, role,
//! hour, session), so the same session key shows up across files and regions.

use serde_json::{Value, json};

use crate::catalog::{self, CONSOLE_AGENTS, EventType, Profile, SDK_AGENTS};
use crate::record::{Rec, tls};
use crate::{B32, Rng, access_key_id, iso, mix, token, uuid};

/// How an identity shows up in `userIdentity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// IAM user with a long-term AKIA key.
    KeyUser,
    /// IAM user who works in the console (console sessions use ASIA keys).
    ConsoleUser,
    /// An assumed role (sessions rotate hourly).
    Role,
    /// An EC2 instance profile role (`ec2RoleDelivery`).
    Ec2Role,
    /// An IAM Identity Center (SSO) permission set role.
    Sso,
    /// A federated user.
    Federated,
    /// An AWS service (`invokedBy`).
    Service,
}

/// Where an identity's calls come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Office,
    Ci,
    Vpc,
    Service,
}

/// One principal of an account.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub kind: Kind,
    pub name: String,
    pub principal: String,
    pub key: Option<String>,
    pub profile: Profile,
    pub origin: Origin,
    pub weight: u64,
    /// Never mints credentials nor fails (the user whose key a scenario leaks).
    pub quiet: bool,
}

/// The user whose long-term key the exposed-key scenario leaks.
pub(crate) const LEAK_USER: &str = "dave.ops";
/// The role the noise chain assumes first, and the one it chains into.
pub(crate) const CHAIN_ROLES: [&str; 2] = ["DeployRole", "DataPipelineRole"];

/// The principals of `account` (the same for every file: drawn from (seed, account)).
pub(crate) fn identities(seed: u64, account: &str) -> Vec<Identity> {
    let acct: u64 = account.parse().unwrap_or(0);
    let mut rng = Rng::new(mix(&[seed, acct, 0x1d]));
    let mut out = Vec::new();
    let mut push = |kind, name: &str, profile, origin, weight, rng: &mut Rng| {
        let prefix = match kind {
            Kind::KeyUser | Kind::ConsoleUser => "AIDA",
            Kind::Service => "",
            _ => "AROA",
        };
        let key = (kind == Kind::KeyUser).then(|| access_key_id("AKIA", acct, rng));
        out.push(Identity {
            kind,
            name: name.to_string(),
            principal: format!("{prefix}{}", token(rng, 17, B32)),
            key,
            profile,
            origin,
            weight,
            quiet: name == LEAK_USER,
        });
    };
    push(Kind::KeyUser, "ci-deploy", Profile::Deploy, Origin::Ci, 50, &mut rng);
    push(Kind::KeyUser, "terraform", Profile::Admin, Origin::Ci, 25, &mut rng);
    push(Kind::KeyUser, "backup-svc", Profile::Data, Origin::Vpc, 40, &mut rng);
    push(Kind::KeyUser, LEAK_USER, Profile::Reader, Origin::Office, 25, &mut rng);
    push(Kind::KeyUser, "monitoring-exporter", Profile::Reader, Origin::Ci, 40, &mut rng);
    for u in ["alice", "bob", "carol"] {
        push(Kind::ConsoleUser, u, Profile::Admin, Origin::Office, 12, &mut rng);
    }
    push(Kind::Role, "AdminRole", Profile::Admin, Origin::Office, 30, &mut rng);
    push(Kind::Role, "ReadOnly", Profile::Reader, Origin::Office, 30, &mut rng);
    push(Kind::Role, CHAIN_ROLES[0], Profile::Deploy, Origin::Ci, 80, &mut rng);
    push(Kind::Role, CHAIN_ROLES[1], Profile::Data, Origin::Vpc, 110, &mut rng);
    push(Kind::Role, "LambdaExecutionRole", Profile::Function, Origin::Ci, 160, &mut rng);
    push(Kind::Ec2Role, "EKSNodeRole", Profile::Node, Origin::Vpc, 200, &mut rng);
    push(Kind::Ec2Role, "AppServerRole", Profile::Node, Origin::Vpc, 90, &mut rng);
    push(Kind::Sso, "AWSReservedSSO_PowerUserAccess_3f2a1b0c9d8e7f6a", Profile::Admin, Origin::Office, 25, &mut rng);
    push(Kind::Sso, "AWSReservedSSO_ReadOnlyAccess_9a8b7c6d5e4f3a2b", Profile::Reader, Origin::Office, 20, &mut rng);
    push(Kind::Federated, "partner-sync", Profile::Reader, Origin::Ci, 8, &mut rng);
    for s in [
        "autoscaling.amazonaws.com",
        "cloudformation.amazonaws.com",
        "config.amazonaws.com",
        "ecs.amazonaws.com",
        "lambda.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
    ] {
        push(Kind::Service, s, Profile::Service, Origin::Service, 25, &mut rng);
    }
    out
}

/// The ASIA key of session `session` of `role` in `hour` (hours since the epoch).
pub(crate) fn session_key(seed: u64, account: &str, role: &str, hour: i64, session: u64) -> String {
    let acct: u64 = account.parse().unwrap_or(0);
    let mut rng = Rng::new(mix(&[seed, acct, crate::fnv(role), hour as u64, session, 0x5e55]));
    access_key_id("ASIA", acct, &mut rng)
}

/// When, in `hour`, the noise chain mints session 0 of the chain roles (seconds since the epoch).
pub(crate) fn chain_times(hour: i64) -> [i64; 2] {
    [hour * 3600 + 305, hour * 3600 + 320]
}

/// A random address of an origin.
pub(crate) fn address(origin: Origin, rng: &mut Rng) -> String {
    match origin {
        Origin::Office if rng.percent(8) => format!("fd00:a1b2:c3d4:10::{:x}", rng.below(0xffff) + 1),
        Origin::Office => format!("192.0.2.{}", 10 + rng.below(6)),
        Origin::Ci => {
            let i = rng.below(40);
            format!("100.{}.{}.{}", 64 + i % 32, (i * 37) % 256, 1 + (i * 101) % 254)
        }
        Origin::Vpc => {
            let i = rng.below(64);
            format!("10.{}.{}.{}", i % 4, (i * 7) % 32, 10 + i)
        }
        Origin::Service => "AWS Internal".to_string(),
    }
}

/// Context of one noise record.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub seed: u64,
    pub account: &'a str,
    pub region: &'a str,
    /// Whether the noise role chain ran in an hour (hours since the epoch): session 0 of the
    /// chain roles exists only from its mint on.
    pub chain_live: &'a (dyn Fn(i64) -> bool + Sync),
}

fn session_of(ctx: &Ctx, id: &Identity, t: i64, rng: &mut Rng) -> (u64, String) {
    let hour = t.div_euclid(3600);
    let mut s = rng.below(3);
    let chained = CHAIN_ROLES.contains(&id.name.as_str());
    if chained && s == 0 && !((ctx.chain_live)(hour) && t > chain_times(hour)[1]) {
        s = 1;
    }
    (s, session_key(ctx.seed, ctx.account, &id.name, hour, s))
}

/// The `userIdentity` of `id` at time `t`; returns it with the access key used.
pub(crate) fn user_identity(ctx: &Ctx, id: &Identity, t: i64, rng: &mut Rng) -> Value {
    let acct = ctx.account;
    match id.kind {
        Kind::KeyUser => json!({
            "type": "IAMUser", "principalId": id.principal, "arn": format!("arn:aws:iam::{acct}:user/{}", id.name),
            "accountId": acct, "accessKeyId": id.key, "userName": id.name,
        }),
        Kind::ConsoleUser => {
            let hour = t.div_euclid(3600);
            json!({
                "type": "IAMUser", "principalId": id.principal, "arn": format!("arn:aws:iam::{acct}:user/{}", id.name),
                "accountId": acct, "accessKeyId": session_key(ctx.seed, acct, &id.name, hour / 8, 0), "userName": id.name,
                "sessionContext": {"attributes": {"creationDate": iso((hour / 8) * 8 * 3600 + 420), "mfaAuthenticated": "true"}},
            })
        }
        Kind::Role | Kind::Ec2Role | Kind::Sso => {
            let (s, key) = session_of(ctx, id, t, rng);
            let hour = t.div_euclid(3600);
            let session = match id.kind {
                Kind::Ec2Role => format!("i-0{:016x}", mix(&[ctx.seed, crate::fnv(&id.name), s]) >> 4),
                Kind::Sso => ["alice@example.com", "bob@example.com", "erin@example.com"][s as usize].to_string(),
                _ => format!("{}-{}-{s}", id.name.to_lowercase(), hour),
            };
            let role_path = if id.kind == Kind::Sso { "aws-reserved/sso.amazonaws.com/" } else { "" };
            let mut ui = json!({
                "type": "AssumedRole",
                "principalId": format!("{}:{session}", id.principal),
                "arn": format!("arn:aws:sts::{acct}:assumed-role/{}/{session}", id.name),
                "accountId": acct,
                "accessKeyId": key,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": id.principal,
                        "arn": format!("arn:aws:iam::{acct}:role/{role_path}{}", id.name), "accountId": acct, "userName": id.name},
                    "attributes": {"creationDate": iso(hour * 3600 + 60 + s as i64 * 7), "mfaAuthenticated": "false"},
                },
            });
            if id.kind == Kind::Ec2Role {
                ui["sessionContext"]["ec2RoleDelivery"] = json!("2.0");
            }
            if id.kind == Kind::Role && CHAIN_ROLES.contains(&id.name.as_str()) && s == 0 {
                ui["sessionContext"]["attributes"]["creationDate"] =
                    json!(iso(chain_times(hour)[id.name.as_str().eq(CHAIN_ROLES[1]) as usize]));
            }
            ui
        }
        Kind::Federated => {
            let hour = t.div_euclid(3600);
            json!({
                "type": "FederatedUser",
                "principalId": format!("{acct}:{}", id.name),
                "arn": format!("arn:aws:sts::{acct}:federated-user/{}", id.name),
                "accountId": acct,
                "accessKeyId": session_key(ctx.seed, acct, &id.name, hour / 12, 0),
                "sessionContext": {
                    "sessionIssuer": {"type": "IAMUser", "principalId": id.principal,
                        "arn": format!("arn:aws:iam::{acct}:user/partner-broker"), "accountId": acct, "userName": "partner-broker"},
                    "attributes": {"creationDate": iso((hour / 12) * 12 * 3600 + 30), "mfaAuthenticated": "false"},
                },
            })
        }
        Kind::Service => json!({"type": "AWSService", "invokedBy": id.name}),
    }
}

fn hex(rng: &mut Rng, n: usize) -> String {
    token(rng, n, b"0123456789abcdef")
}

/// One of `size` long-lived resource IDs of the account (instances, keys, subnets…):
/// real fleets are small, so the same IDs recur (and compress as in real trails).
fn pooled(ctx: &Ctx, rng: &mut Rng, kind: &str, size: u64) -> String {
    let h = mix(&[ctx.seed, crate::fnv(ctx.account), crate::fnv(kind), rng.below(size)]);
    match kind {
        "kms" => format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            (h >> 40) & 0xfff,
            h & 0xffff_ffff_ffff
        ),
        "i" => format!("i-0{:016x}", h)[..19].to_string(),
        "ls" => format!("{h:016x}{:016x}", h.rotate_left(17)),
        "res" => format!("{h:012x}")[..12].to_string(),
        k => format!("{k}-0{:016x}", h)[..k.len() + 18].to_string(),
    }
}

fn bucket(account: &str, rng: &mut Rng) -> String {
    let names = [
        "app-artifacts",
        "data-lake-raw",
        "data-lake-curated",
        "backups",
        "logs-archive",
        "static-site",
        "ml-datasets",
    ];
    format!("{}-{account}", rng.pick(&names))
}

/// Request parameters for a noise call (shapes follow the real APIs; sizes vary).
fn request_parameters(e: &EventType, ctx: &Ctx, id: &Identity, rng: &mut Rng) -> Value {
    let acct = ctx.account;
    match e.name {
        "GetObject"
        | "PutObject"
        | "HeadObject"
        | "DeleteObject"
        | "CopyObject"
        | "UploadPart"
        | "CreateMultipartUpload"
        | "CompleteMultipartUpload" => json!({
            "bucketName": bucket(acct, rng),
            "Host": format!("{}.s3.{}.amazonaws.com", bucket(acct, rng), ctx.region),
            "key": format!("{}/{}/part-{:05}.{}", rng.pick(&["events", "reports", "exports", "models", "tmp"]), 2024 - rng.below(3) as i64, rng.below(99_999), rng.pick(&["parquet", "csv", "json.gz", "bin"])),
        }),
        "ListObjects" | "ListObjectsV2" => {
            json!({"bucketName": bucket(acct, rng), "Host": format!("s3.{}.amazonaws.com", ctx.region), "prefix": format!("events/{}/", rng.below(365)), "list-type": 2, "max-keys": 1000})
        }
        n if n.starts_with("GetBucket") || n == "HeadBucket" || n == "PutBucketTagging" => {
            json!({"bucketName": bucket(acct, rng), "Host": format!("s3.{}.amazonaws.com", ctx.region), n.trim_start_matches("GetBucket").to_lowercase(): ""})
        }
        "ListBuckets" => json!({"Host": format!("s3.{}.amazonaws.com", ctx.region)}),
        "DescribeInstances" | "DescribeInstanceStatus" => {
            let n = if rng.percent(20) { 5 + rng.below(40) } else { rng.below(3) };
            let items: Vec<Value> = (0..n).map(|_| json!({"instanceId": pooled(ctx, rng, "i", 64)})).collect();
            let mut p = json!({"instancesSet": {"items": items}, "filterSet": {}});
            if rng.percent(30) {
                p["filterSet"] = json!({"items": [{"name": "tag:Environment", "valueSet": {"items": [{"value": rng.pick(&["prod", "staging", "dev"])}]}}, {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]});
            }
            p
        }
        "RunInstances" => json!({
            "instancesSet": {"items": [{"imageId": pooled(ctx, rng, "ami", 6), "minCount": 1, "maxCount": 1}]},
            "instanceType": rng.pick(&["t3.micro", "t3.medium", "m6i.large", "c6g.xlarge"]),
            "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false,
            "subnetId": pooled(ctx, rng, "subnet", 8),
            "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": format!("worker-{}", rng.below(100))}, {"key": "Team", "value": "platform"}]}]},
            "userData": "<sensitiveDataRemoved>",
        }),
        "AssumeRole" => json!({
            "roleArn": format!("arn:aws:iam::{acct}:role/{}", rng.pick(&["AdminRole", "ReadOnly", "LambdaExecutionRole", "AuditRole"])),
            "roleSessionName": format!("{}-{}", id.name, rng.below(100_000)),
            "durationSeconds": 3600,
        }),
        "AssumeRoleWithWebIdentity" => {
            json!({"roleArn": format!("arn:aws:iam::{acct}:role/EKSNodeRole"), "roleSessionName": format!("botocore-session-{}", rng.below(10_000_000_000))})
        }
        "AssumeRoleWithSAML" => {
            json!({"roleArn": format!("arn:aws:iam::{acct}:role/ReadOnly"), "principalArn": format!("arn:aws:iam::{acct}:saml-provider/Okta"), "durationSeconds": 3600})
        }
        "Decrypt" | "GenerateDataKey" | "Encrypt" | "ReEncrypt" => json!({
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "keyId": format!("arn:aws:kms:{}:{acct}:key/{}", ctx.region, pooled(ctx, rng, "kms", 6)),
            "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::{}/x", bucket(acct, rng))},
        }),
        "PutRolePolicy" => json!({
            "roleName": "LambdaExecutionRole", "policyName": "read-orders-table",
            "policyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": format!("arn:aws:dynamodb:{}:{acct}:table/orders", ctx.region)}]}).to_string(),
        }),
        "CreateUser" => {
            json!({"userName": format!("svc-report-{}", rng.below(100)), "tags": [{"key": "owner", "value": "data-team"}]})
        }
        "CreateAccessKey" => {
            // Key rotation: users rotate their own key; admins rotate the CI user's.
            let user =
                if matches!(id.kind, Kind::KeyUser | Kind::ConsoleUser) { id.name.as_str() } else { "ci-deploy" };
            json!({"userName": user})
        }
        "GetSecretValue" | "DescribeSecret" | "PutSecretValue" | "RotateSecret" => {
            json!({"secretId": format!("arn:aws:secretsmanager:{}:{acct}:secret:prod/{}-{}", ctx.region, rng.pick(&["db", "api", "stripe", "smtp"]), token(rng, 6, b"AbCdEfGhIjKlMn"))})
        }
        "GetParameter" | "GetParameters" | "GetParametersByPath" => {
            json!({"name": format!("/{}/{}", rng.pick(&["prod", "staging"]), rng.pick(&["db/host", "feature-flags", "api/url"])), "withDecryption": rng.percent(50)})
        }
        "Invoke" => {
            json!({"functionName": format!("arn:aws:lambda:{}:{acct}:function:{}", ctx.region, rng.pick(&["orders-api", "thumbnailer", "etl-step"]))})
        }
        "GetMetricData" => {
            let n = 1 + rng.below(12);
            json!({"metricDataQueries": (0..n).map(|i| json!({"id": format!("m{i}"), "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": pooled(ctx, rng, "i", 64)}]}, "period": 60, "stat": "Average"}})).collect::<Vec<_>>(),
                   "startTime": "Jul 31, 2024, 12:00:00 AM", "endTime": "Jul 31, 2024, 1:00:00 AM"})
        }
        "DescribeTable" | "DescribeContinuousBackups" | "DescribeTimeToLive" => {
            json!({"tableName": rng.pick(&["orders", "sessions", "inventory"])})
        }
        "CreateLogStream" => {
            json!({"logGroupName": format!("/aws/lambda/{}", rng.pick(&["orders-api", "thumbnailer"])), "logStreamName": format!("2024/07/31/[$LATEST]{}", pooled(ctx, rng, "ls", 20))})
        }
        "GetRole" | "ListAttachedRolePolicies" | "ListRolePolicies" => {
            json!({"roleName": rng.pick(&["AdminRole", "ReadOnly", "EKSNodeRole", "LambdaExecutionRole"])})
        }
        "ConsoleLogin" => Value::Null,
        n if n.starts_with("List") || n.starts_with("Describe") => {
            if rng.percent(45) {
                Value::Null
            } else {
                json!({"maxResults": *rng.pick(&[50, 100, 1000])})
            }
        }
        _ if rng.percent(30) => Value::Null,
        _ => {
            json!({"resourceArn": format!("arn:aws:{}:{}:{acct}:{}", e.source.trim_end_matches(".amazonaws.com"), ctx.region, pooled(ctx, rng, "res", 40))})
        }
    }
}

fn response_elements(e: &EventType, ctx: &Ctx, req: &Value, rng: &mut Rng, t: i64) -> Value {
    let acct = ctx.account;
    match e.name {
        "AssumeRole" | "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML" | "GetSessionToken" => json!({
            "credentials": {"accessKeyId": access_key_id("ASIA", acct.parse().unwrap_or(0), rng),
                "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", token(rng, 120, B32)), "expiration": crate::aws_date(t + 3600)},
            "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{}", token(rng, 17, B32), rng.below(100_000)), "arn": format!("arn:aws:sts::{acct}:assumed-role/ReadOnly/{}", rng.below(100_000))},
        }),
        "CreateAccessKey" => {
            json!({"accessKey": {"accessKeyId": access_key_id("AKIA", acct.parse().unwrap_or(0), rng), "status": "Active", "userName": req["userName"], "createDate": crate::aws_date(t)}})
        }
        "CreateUser" => {
            let name = req["userName"].as_str().unwrap_or("svc-report");
            json!({"user": {"path": "/", "userName": name, "userId": format!("AIDA{}", token(rng, 17, B32)), "arn": format!("arn:aws:iam::{acct}:user/{name}"), "createDate": crate::aws_date(t)}})
        }
        "RunInstances" => {
            let n = 1 + rng.below(4);
            json!({"requestId": uuid(rng), "reservationId": format!("r-0{}", hex(rng, 16)), "ownerId": acct, "groupSet": {},
                "instancesSet": {"items": (0..n).map(|i| json!({
                    "instanceId": format!("i-0{}", hex(rng, 16)), "imageId": pooled(ctx, rng, "ami", 6),
                    "instanceState": {"code": 0, "name": "pending"}, "privateDnsName": format!("ip-10-0-{}-{}.ec2.internal", rng.below(255), rng.below(255)),
                    "amiLaunchIndex": i, "productCodes": {}, "instanceType": "t3.micro", "launchTime": t * 1000,
                    "placement": {"availabilityZone": format!("{}a", ctx.region), "tenancy": "default"},
                    "monitoring": {"state": "disabled"}, "subnetId": pooled(ctx, rng, "subnet", 8), "vpcId": pooled(ctx, rng, "vpc", 2),
                    "privateIpAddress": format!("10.0.{}.{}", rng.below(255), rng.below(255)), "sourceDestCheck": true,
                    "groupSet": {"items": [{"groupId": pooled(ctx, rng, "sg", 10), "groupName": "default"}]},
                    "architecture": "x86_64", "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda", "blockDeviceMapping": {},
                    "virtualizationType": "hvm", "hypervisor": "xen", "tagSet": {"items": [{"key": "Name", "value": "worker"}]},
                    "networkInterfaceSet": {"items": [{"networkInterfaceId": format!("eni-0{}", hex(rng, 16)), "status": "in-use", "macAddress": "0e:12:34:56:78:9a"}]},
                    "ebsOptimized": false, "enaSupport": true, "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
                    "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"},
                })).collect::<Vec<_>>()}})
        }
        "CreateTags" | "DeleteTags" => json!({"requestId": uuid(rng), "_return": true}),
        "CreateLogStream" | "PutMetricAlarm" | "PutEvaluations" => Value::Null,
        "ConsoleLogin" => json!({"ConsoleLogin": "Success"}),
        _ if e.read_only => Value::Null,
        _ => json!({"requestId": uuid(rng)}),
    }
}

/// Picks an identity by weight.
pub(crate) fn pick_identity<'a>(ids: &'a [Identity], rng: &mut Rng) -> &'a Identity {
    let total: u64 = ids.iter().map(|i| i.weight).sum();
    let mut roll = rng.below(total);
    for id in ids {
        if roll < id.weight {
            return id;
        }
        roll -= id.weight;
    }
    &ids[ids.len() - 1]
}

/// A console sign-in (an IAM user, or root — rarely, with MFA).
pub(crate) fn console_login(ctx: &Ctx, id: Option<&Identity>, t: i64, rng: &mut Rng) -> Rec {
    let acct = ctx.account;
    let ui = match id {
        Some(id) => {
            json!({"type": "IAMUser", "principalId": id.principal, "arn": format!("arn:aws:iam::{acct}:user/{}", id.name), "accountId": acct, "userName": id.name})
        }
        None => {
            json!({"type": "Root", "principalId": acct, "arn": format!("arn:aws:iam::{acct}:root"), "accountId": acct})
        }
    };
    Rec {
        event_version: "1.09",
        user_identity: ui,
        event_time: iso(t),
        event_source: "signin.amazonaws.com".into(),
        event_name: "ConsoleLogin".into(),
        aws_region: ctx.region.to_string(),
        source_ip_address: address(Origin::Office, rng),
        user_agent: rng.pick(&CONSOLE_AGENTS[..3]).to_string(),
        error_code: None,
        error_message: None,
        request_parameters: Value::Null,
        response_elements: json!({"ConsoleLogin": "Success"}),
        additional_event_data: Some(
            json!({"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true", "MobileVersion": "No", "MFAIdentifier": format!("arn:aws:iam::{acct}:mfa/{}", id.map_or("root-account-mfa-device", |i| i.name.as_str())), "MFAUsed": "Yes"}),
        ),
        request_id: None,
        event_id: uuid(rng),
        read_only: false,
        resources: None,
        event_type: "AwsConsoleSignIn",
        api_version: None,
        management_event: true,
        recipient_account_id: acct.to_string(),
        shared_event_id: None,
        vpc_endpoint_id: None,
        vpc_endpoint_account_id: None,
        event_category: "Management",
        tls_details: None,
        session_credential_from_console: None,
    }
}

/// One ordinary API call of `id` at time `t`.
pub(crate) fn api_call(ctx: &Ctx, id: &Identity, t: i64, rng: &mut Rng) -> Rec {
    let table = catalog::table(id.profile);
    let mut e = *table.pick(rng.below(table.total()));
    if id.quiet && !e.read_only {
        e = *catalog::table(Profile::Reader).pick(rng.below(catalog::table(Profile::Reader).total()));
    }
    let acct = ctx.account;
    let ui = user_identity(ctx, id, t, rng);
    let ip = if id.kind == Kind::Service {
        if rng.percent(70) { id.name.clone() } else { "AWS Internal".to_string() }
    } else {
        address(id.origin, rng)
    };
    let agent = match id.kind {
        Kind::Service => id.name.clone(),
        Kind::ConsoleUser | Kind::Sso if rng.percent(60) => rng.pick(CONSOLE_AGENTS).to_string(),
        _ => rng.pick(SDK_AGENTS).to_string(),
    };
    let failed = !id.quiet && rng.below(1000) < 28;
    let (error_code, error_message) = if failed {
        let (c, m) = catalog::error_for(e.source, e.name, rng.below(1000));
        (Some(c.to_string()), Some(m.to_string()))
    } else {
        (None, None)
    };
    let s3 = e.source == "s3.amazonaws.com";
    let data_event =
        s3 && matches!(
            e.name,
            "GetObject"
                | "PutObject"
                | "HeadObject"
                | "DeleteObject"
                | "CopyObject"
                | "ListObjects"
                | "ListObjectsV2"
                | "UploadPart"
                | "CreateMultipartUpload"
                | "CompleteMultipartUpload"
        ) || matches!(e.name, "Invoke" | "GetRecords" | "PutRecordBatch");
    let request_parameters = request_parameters(&e, ctx, id, rng);
    let response_elements = if failed { Value::Null } else { response_elements(&e, ctx, &request_parameters, rng, t) };
    let (resources, additional) = if s3 {
        let b = request_parameters["bucketName"].as_str().map(str::to_string).unwrap_or_else(|| bucket(acct, rng));
        let mut res = vec![json!({"type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}"), "accountId": acct})];
        if let Some(k) = request_parameters["key"].as_str() {
            res.insert(0, json!({"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{b}/{k}")}));
        }
        let out = if e.name == "GetObject" && !failed { rng.below(50_000_000) } else { 0 };
        let inb = if e.name == "PutObject" || e.name == "UploadPart" { rng.below(20_000_000) } else { 0 };
        (
            Some(Value::Array(res)),
            Some(
                json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": inb, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": token(rng, 56, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"), "bytesTransferredOut": out}),
            ),
        )
    } else if e.name == "Decrypt" || e.name == "GenerateDataKey" {
        (
            Some(
                json!([{"accountId": acct, "type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:{}:{acct}:key/{}", ctx.region, pooled(ctx, rng, "kms", 6))}]),
            ),
            None,
        )
    } else {
        (None, None)
    };
    let vpce = (id.origin == Origin::Vpc && rng.percent(70)).then(|| pooled(ctx, rng, "vpce", 3));
    Rec {
        event_version: if s3 { "1.10" } else { "1.09" },
        user_identity: ui,
        event_time: iso(t),
        event_source: e.source.to_string(),
        event_name: e.name.to_string(),
        aws_region: ctx.region.to_string(),
        source_ip_address: ip,
        user_agent: agent,
        error_code,
        error_message,
        request_parameters,
        response_elements,
        additional_event_data: additional,
        request_id: Some(if s3 { token(rng, 16, b"0123456789ABCDEF") } else { uuid(rng) }),
        event_id: uuid(rng),
        read_only: e.read_only,
        resources,
        event_type: if id.kind == Kind::Service && rng.percent(10) { "AwsServiceEvent" } else { "AwsApiCall" },
        api_version: (e.source == "ec2.amazonaws.com" && rng.percent(5)).then_some("2016-11-15"),
        management_event: !data_event,
        recipient_account_id: acct.to_string(),
        shared_event_id: None,
        vpc_endpoint_account_id: vpce.as_ref().map(|_| acct.to_string()),
        vpc_endpoint_id: vpce,
        event_category: if data_event { "Data" } else { "Management" },
        tls_details: (id.kind != Kind::Service || rng.percent(20)).then(|| tls(e.source, ctx.region, rng.percent(80))),
        session_credential_from_console: (matches!(id.kind, Kind::ConsoleUser)
            || (id.kind == Kind::Sso && rng.percent(50)))
        .then_some("true"),
    }
}

/// The noise role chain of `hour`: the CI user assumes the deploy role (session 0), which
/// assumes the data-pipeline role (session 0). Both minted keys are used in later noise.
pub(crate) fn chain(ctx: &Ctx, ids: &[Identity], hour: i64, rng: &mut Rng) -> [Rec; 2] {
    let acct = ctx.account;
    let ci = ids.iter().find(|i| i.name == "ci-deploy").expect("ci-deploy exists");
    let deploy = ids.iter().find(|i| i.name == CHAIN_ROLES[0]).expect("chain role exists");
    let times = chain_times(hour);
    let k0 = session_key(ctx.seed, acct, CHAIN_ROLES[0], hour, 0);
    let k1 = session_key(ctx.seed, acct, CHAIN_ROLES[1], hour, 0);
    let live = Ctx { chain_live: &|_| true, ..*ctx };
    let mk = |caller: &Identity, t: i64, role: &str, key: &str, rng: &mut Rng| {
        let e = EventType { source: "sts.amazonaws.com", name: "AssumeRole", weight: 1, read_only: false };
        let mut r = api_call(&live, caller, t, rng);
        r.user_identity = user_identity(&live, caller, t + 1, rng);
        let session = format!("{}-{hour}-0", role.to_lowercase());
        r.event_source = e.source.into();
        r.event_name = e.name.into();
        r.read_only = false;
        r.error_code = None;
        r.error_message = None;
        r.resources = Some(
            json!([{"accountId": acct, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{acct}:role/{role}")}]),
        );
        r.additional_event_data = None;
        r.management_event = true;
        r.event_category = "Management";
        r.event_type = "AwsApiCall";
        r.vpc_endpoint_id = None;
        r.vpc_endpoint_account_id = None;
        r.tls_details = Some(tls("sts.amazonaws.com", ctx.region, true));
        r.request_parameters = json!({"roleArn": format!("arn:aws:iam::{acct}:role/{role}"), "roleSessionName": session, "durationSeconds": 3600});
        r.response_elements = json!({
            "credentials": {"accessKeyId": key, "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", token(rng, 120, B32)), "expiration": crate::aws_date(t + 3600)},
            "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", token(rng, 17, B32)), "arn": format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}")},
        });
        r
    };
    let mut first = mk(ci, times[0], CHAIN_ROLES[0], &k0, rng);
    first.event_time = iso(times[0]);
    let mut second = mk(deploy, times[1], CHAIN_ROLES[1], &k1, rng);
    // The deploy role's session 0 makes the second call.
    second.user_identity["accessKeyId"] = json!(k0);
    second.user_identity["arn"] = json!(format!(
        "arn:aws:sts::{acct}:assumed-role/{}/{}-{hour}-0",
        CHAIN_ROLES[0],
        CHAIN_ROLES[0].to_lowercase()
    ));
    second.user_identity["principalId"] =
        json!(format!("{}:{}-{hour}-0", deploy.principal, CHAIN_ROLES[0].to_lowercase()));
    second.user_identity["sessionContext"]["attributes"]["creationDate"] = json!(iso(times[0]));
    second.event_time = iso(times[1]);
    [first, second]
}
