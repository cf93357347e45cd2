//! Benign background activity: the identities of an account and the records they make.
//!
//! Every identity works from its own addresses (office NAT in 192.0.2.0/24, CI runners in
//! 100.64.0.0/10, instances behind VPC endpoints in 10.0.0.0/8, a few IPv6 clients in a ULA
//! range, AWS services by name), so the attacker ranges of a planted incident never appear in
//! noise. Role sessions rotate every hour; their keys are a function of (seed, account, role,
//! hour, session), so the same session key shows up across files and regions.

use serde_json::{Value, json};

use crate::catalog::{self, CONSOLE_AGENTS, EventType, Profile, SDK_AGENTS};
use crate::jw::{With, array, jw};
use crate::record::{Rec, Tls, tls};
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

/// Writes the `userIdentity` of `id` at time `t` into `w`; returns the access key used.
pub(crate) fn user_identity(ctx: &Ctx, id: &Identity, t: i64, rng: &mut Rng, w: &mut Vec<u8>) -> Option<String> {
    let acct = ctx.account;
    let hour = t.div_euclid(3600);
    match id.kind {
        Kind::KeyUser => {
            jw!(w, {
                "type": "IAMUser", "principalId": id.principal, "arn": format_args!("arn:aws:iam::{acct}:user/{}", id.name),
                "accountId": acct, "accessKeyId": id.key, "userName": id.name,
            });
            id.key.clone()
        }
        Kind::ConsoleUser => {
            let key = session_key(ctx.seed, acct, &id.name, hour / 8, 0);
            jw!(w, {
                "type": "IAMUser", "principalId": id.principal, "arn": format_args!("arn:aws:iam::{acct}:user/{}", id.name),
                "accountId": acct, "accessKeyId": key, "userName": id.name,
                "sessionContext": {"attributes": {"creationDate": iso((hour / 8) * 8 * 3600 + 420), "mfaAuthenticated": "true"}},
            });
            Some(key)
        }
        Kind::Role | Kind::Ec2Role | Kind::Sso => {
            let (s, key) = session_of(ctx, id, t, rng);
            let session = match id.kind {
                Kind::Ec2Role => format!("i-0{:016x}", mix(&[ctx.seed, crate::fnv(&id.name), s]) >> 4),
                Kind::Sso => ["alice@example.com", "bob@example.com", "erin@example.com"][s as usize].to_string(),
                _ => format!("{}-{}-{s}", id.name.to_lowercase(), hour),
            };
            let role_path = if id.kind == Kind::Sso { "aws-reserved/sso.amazonaws.com/" } else { "" };
            // Session 0 of a chain role exists from the chain's mint on.
            let created = if id.kind == Kind::Role && CHAIN_ROLES.contains(&id.name.as_str()) && s == 0 {
                chain_times(hour)[(id.name == CHAIN_ROLES[1]) as usize]
            } else {
                hour * 3600 + 60 + s as i64 * 7
            };
            jw!(w, {
                "type": "AssumedRole",
                "principalId": format_args!("{}:{session}", id.principal),
                "arn": format_args!("arn:aws:sts::{acct}:assumed-role/{}/{session}", id.name),
                "accountId": acct,
                "accessKeyId": key,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": id.principal,
                        "arn": format_args!("arn:aws:iam::{acct}:role/{role_path}{}", id.name), "accountId": acct, "userName": id.name},
                    "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"},
                    "ec2RoleDelivery"?: (id.kind == Kind::Ec2Role).then_some("2.0"),
                },
            });
            Some(key)
        }
        Kind::Federated => {
            let key = session_key(ctx.seed, acct, &id.name, hour / 12, 0);
            jw!(w, {
                "type": "FederatedUser",
                "principalId": format_args!("{acct}:{}", id.name),
                "arn": format_args!("arn:aws:sts::{acct}:federated-user/{}", id.name),
                "accountId": acct,
                "accessKeyId": key,
                "sessionContext": {
                    "sessionIssuer": {"type": "IAMUser", "principalId": id.principal,
                        "arn": format_args!("arn:aws:iam::{acct}:user/partner-broker"), "accountId": acct, "userName": "partner-broker"},
                    "attributes": {"creationDate": iso((hour / 12) * 12 * 3600 + 30), "mfaAuthenticated": "false"},
                },
            });
            Some(key)
        }
        Kind::Service => {
            jw!(w, {"type": "AWSService", "invokedBy": id.name});
            None
        }
    }
}

/// The `userIdentity` of `id` at time `t` as a value (for records that are edited after).
pub(crate) fn user_identity_value(ctx: &Ctx, id: &Identity, t: i64, rng: &mut Rng) -> Value {
    let mut w = Vec::new();
    user_identity(ctx, id, t, rng, &mut w);
    serde_json::from_slice(&w).expect("the writer writes valid JSON")
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
        "i" => format!("i-0{h:016x}"),
        "ls" => format!("{h:016x}{:016x}", h.rotate_left(17)),
        "res" => format!("{:012x}", h >> 16),
        k => format!("{k}-0{h:016x}"),
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

/// What later parts of a record need from its request parameters.
#[derive(Default)]
struct Req {
    /// `bucketName` (S3).
    bucket: Option<String>,
    /// `key` (S3 objects).
    key: Option<String>,
    /// `userName` (IAM).
    user: Option<String>,
}

/// Writes the request parameters of a noise call (shapes follow the real APIs; sizes vary).
fn request_parameters(e: &EventType, ctx: &Ctx, id: &Identity, rng: &mut Rng, w: &mut Vec<u8>) -> Req {
    let acct = ctx.account;
    let region = ctx.region;
    let mut req = Req::default();
    match e.name {
        "GetObject"
        | "PutObject"
        | "HeadObject"
        | "DeleteObject"
        | "CopyObject"
        | "UploadPart"
        | "CreateMultipartUpload"
        | "CompleteMultipartUpload" => {
            let b = bucket(acct, rng);
            let key = format!(
                "{}/{}/part-{:05}.{}",
                rng.pick(&["events", "reports", "exports", "models", "tmp"]),
                2024 - rng.below(3) as i64,
                rng.below(99_999),
                rng.pick(&["parquet", "csv", "json.gz", "bin"])
            );
            jw!(w, {"bucketName": b, "Host": format_args!("{b}.s3.{region}.amazonaws.com"), "key": key});
            (req.bucket, req.key) = (Some(b), Some(key));
        }
        "ListObjects" | "ListObjectsV2" => {
            let b = bucket(acct, rng);
            jw!(w, {"bucketName": b, "Host": format_args!("s3.{region}.amazonaws.com"), "prefix": format_args!("events/{}/", rng.below(365)), "list-type": 2u32, "max-keys": 1000u32});
            req.bucket = Some(b);
        }
        n if n.starts_with("GetBucket") || n == "HeadBucket" || n == "PutBucketTagging" => {
            let b = bucket(acct, rng);
            jw!(w, {"bucketName": b, "Host": format_args!("s3.{region}.amazonaws.com"), (n.trim_start_matches("GetBucket").to_lowercase()): ""});
            req.bucket = Some(b);
        }
        "ListBuckets" => jw!(w, {"Host": format_args!("s3.{region}.amazonaws.com")}),
        "DescribeInstances" | "DescribeInstanceStatus" => {
            let n = if rng.percent(20) { 5 + rng.below(40) } else { rng.below(3) };
            jw!(w, {
                "instancesSet": {"items": array(0..n, |w, _| jw!(w, {"instanceId": pooled(ctx, rng, "i", 64)}))},
                "filterSet": With::new(|w: &mut Vec<u8>| if rng.percent(30) {
                    jw!(w, {"items": [{"name": "tag:Environment", "valueSet": {"items": [{"value": rng.pick(&["prod", "staging", "dev"])}]}}, {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]});
                } else {
                    jw!(w, {});
                }),
            });
        }
        "RunInstances" => jw!(w, {
            "instancesSet": {"items": [{"imageId": pooled(ctx, rng, "ami", 6), "minCount": 1u32, "maxCount": 1u32}]},
            "instanceType": rng.pick(&["t3.micro", "t3.medium", "m6i.large", "c6g.xlarge"]),
            "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false,
            "subnetId": pooled(ctx, rng, "subnet", 8),
            "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": format_args!("worker-{}", rng.below(100))}, {"key": "Team", "value": "platform"}]}]},
            "userData": "<sensitiveDataRemoved>",
        }),
        "AssumeRole" => jw!(w, {
            "roleArn": format_args!("arn:aws:iam::{acct}:role/{}", rng.pick(&["AdminRole", "ReadOnly", "LambdaExecutionRole", "AuditRole"])),
            "roleSessionName": format_args!("{}-{}", id.name, rng.below(100_000)),
            "durationSeconds": 3600u32,
        }),
        "AssumeRoleWithWebIdentity" => {
            jw!(w, {"roleArn": format_args!("arn:aws:iam::{acct}:role/EKSNodeRole"), "roleSessionName": format_args!("botocore-session-{}", rng.below(10_000_000_000))})
        }
        "AssumeRoleWithSAML" => {
            jw!(w, {"roleArn": format_args!("arn:aws:iam::{acct}:role/ReadOnly"), "principalArn": format_args!("arn:aws:iam::{acct}:saml-provider/Okta"), "durationSeconds": 3600u32})
        }
        "Decrypt" | "GenerateDataKey" | "Encrypt" | "ReEncrypt" => jw!(w, {
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "keyId": format_args!("arn:aws:kms:{region}:{acct}:key/{}", pooled(ctx, rng, "kms", 6)),
            "encryptionContext": {"aws:s3:arn": format_args!("arn:aws:s3:::{}/x", bucket(acct, rng))},
        }),
        "PutRolePolicy" => {
            let mut doc = Vec::new();
            jw!(&mut doc, {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": format_args!("arn:aws:dynamodb:{region}:{acct}:table/orders")}]});
            let doc = String::from_utf8(doc).expect("the writer writes UTF-8");
            jw!(w, {"roleName": "LambdaExecutionRole", "policyName": "read-orders-table", "policyDocument": doc});
        }
        "CreateUser" => {
            let user = format!("svc-report-{}", rng.below(100));
            jw!(w, {"userName": user, "tags": [{"key": "owner", "value": "data-team"}]});
            req.user = Some(user);
        }
        "CreateAccessKey" => {
            // Key rotation: users rotate their own key; admins rotate the CI user's.
            let user =
                if matches!(id.kind, Kind::KeyUser | Kind::ConsoleUser) { id.name.as_str() } else { "ci-deploy" };
            jw!(w, {"userName": user});
            req.user = Some(user.to_string());
        }
        "GetSecretValue" | "DescribeSecret" | "PutSecretValue" | "RotateSecret" => {
            jw!(w, {"secretId": format_args!("arn:aws:secretsmanager:{region}:{acct}:secret:prod/{}-{}", rng.pick(&["db", "api", "stripe", "smtp"]), token(rng, 6, b"AbCdEfGhIjKlMn"))})
        }
        "GetParameter" | "GetParameters" | "GetParametersByPath" => {
            jw!(w, {"name": format_args!("/{}/{}", rng.pick(&["prod", "staging"]), rng.pick(&["db/host", "feature-flags", "api/url"])), "withDecryption": rng.percent(50)})
        }
        "Invoke" => {
            jw!(w, {"functionName": format_args!("arn:aws:lambda:{region}:{acct}:function:{}", rng.pick(&["orders-api", "thumbnailer", "etl-step"]))})
        }
        "GetMetricData" => {
            let n = 1 + rng.below(12);
            jw!(w, {
                "metricDataQueries": array(0..n, |w, i| jw!(w, {"id": format_args!("m{i}"), "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization", "dimensions": [{"name": "InstanceId", "value": pooled(ctx, rng, "i", 64)}]}, "period": 60u32, "stat": "Average"}})),
                "startTime": "Jul 31, 2024, 12:00:00 AM", "endTime": "Jul 31, 2024, 1:00:00 AM",
            })
        }
        "DescribeTable" | "DescribeContinuousBackups" | "DescribeTimeToLive" => {
            jw!(w, {"tableName": rng.pick(&["orders", "sessions", "inventory"])})
        }
        "CreateLogStream" => {
            jw!(w, {"logGroupName": format_args!("/aws/lambda/{}", rng.pick(&["orders-api", "thumbnailer"])), "logStreamName": format_args!("2024/07/31/[$LATEST]{}", pooled(ctx, rng, "ls", 20))})
        }
        "GetRole" | "ListAttachedRolePolicies" | "ListRolePolicies" => {
            jw!(w, {"roleName": rng.pick(&["AdminRole", "ReadOnly", "EKSNodeRole", "LambdaExecutionRole"])})
        }
        "ConsoleLogin" => jw!(w, null),
        n if n.starts_with("List") || n.starts_with("Describe") => {
            if rng.percent(45) {
                jw!(w, null)
            } else {
                jw!(w, {"maxResults": *rng.pick(&[50u32, 100, 1000])})
            }
        }
        _ if rng.percent(30) => jw!(w, null),
        _ => {
            jw!(w, {"resourceArn": format_args!("arn:aws:{}:{region}:{acct}:{}", e.source.trim_end_matches(".amazonaws.com"), pooled(ctx, rng, "res", 40))})
        }
    }
    req
}

/// Writes the response elements of a successful noise call.
fn response_elements(e: &EventType, ctx: &Ctx, req: &Req, rng: &mut Rng, t: i64, w: &mut Vec<u8>) {
    let acct = ctx.account;
    let region = ctx.region;
    let acct_n: u64 = acct.parse().unwrap_or(0);
    match e.name {
        "AssumeRole" | "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML" | "GetSessionToken" => jw!(w, {
            "credentials": {"accessKeyId": access_key_id("ASIA", acct_n, rng),
                "sessionToken": format_args!("IQoJb3JpZ2luX2VjE{}", token(rng, 120, B32)), "expiration": crate::aws_date(t + 3600)},
            "assumedRoleUser": {"assumedRoleId": format_args!("AROA{}:{}", token(rng, 17, B32), rng.below(100_000)), "arn": format_args!("arn:aws:sts::{acct}:assumed-role/ReadOnly/{}", rng.below(100_000))},
        }),
        "CreateAccessKey" => {
            jw!(w, {"accessKey": {"accessKeyId": access_key_id("AKIA", acct_n, rng), "status": "Active", "userName": req.user, "createDate": crate::aws_date(t)}})
        }
        "CreateUser" => {
            let name = req.user.as_deref().unwrap_or("svc-report");
            jw!(w, {"user": {"path": "/", "userName": name, "userId": format_args!("AIDA{}", token(rng, 17, B32)), "arn": format_args!("arn:aws:iam::{acct}:user/{name}"), "createDate": crate::aws_date(t)}})
        }
        "RunInstances" => {
            let n = 1 + rng.below(4);
            jw!(w, {"requestId": uuid(rng), "reservationId": format_args!("r-0{}", hex(rng, 16)), "ownerId": acct, "groupSet": {},
            "instancesSet": {"items": array(0..n, |w, i| jw!(w, {
                "instanceId": format_args!("i-0{}", hex(rng, 16)), "imageId": pooled(ctx, rng, "ami", 6),
                "instanceState": {"code": 0u32, "name": "pending"}, "privateDnsName": format_args!("ip-10-0-{}-{}.ec2.internal", rng.below(255), rng.below(255)),
                "amiLaunchIndex": i, "productCodes": {}, "instanceType": "t3.micro", "launchTime": t * 1000,
                "placement": {"availabilityZone": format_args!("{region}a"), "tenancy": "default"},
                "monitoring": {"state": "disabled"}, "subnetId": pooled(ctx, rng, "subnet", 8), "vpcId": pooled(ctx, rng, "vpc", 2),
                "privateIpAddress": format_args!("10.0.{}.{}", rng.below(255), rng.below(255)), "sourceDestCheck": true,
                "groupSet": {"items": [{"groupId": pooled(ctx, rng, "sg", 10), "groupName": "default"}]},
                "architecture": "x86_64", "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda", "blockDeviceMapping": {},
                "virtualizationType": "hvm", "hypervisor": "xen", "tagSet": {"items": [{"key": "Name", "value": "worker"}]},
                "networkInterfaceSet": {"items": [{"networkInterfaceId": format_args!("eni-0{}", hex(rng, 16)), "status": "in-use", "macAddress": "0e:12:34:56:78:9a"}]},
                "ebsOptimized": false, "enaSupport": true, "cpuOptions": {"coreCount": 1u32, "threadsPerCore": 2u32},
                "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2u32, "httpEndpoint": "enabled"},
            }))}})
        }
        "CreateTags" | "DeleteTags" => jw!(w, {"requestId": uuid(rng), "_return": true}),
        "CreateLogStream" | "PutMetricAlarm" | "PutEvaluations" => jw!(w, null),
        "ConsoleLogin" => jw!(w, {"ConsoleLogin": "Success"}),
        _ if e.read_only => jw!(w, null),
        _ => jw!(w, {"requestId": uuid(rng)}),
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
        source_ip_address: address(Origin::Office, rng),
        user_agent: rng.pick(&CONSOLE_AGENTS[..3]).to_string(),
        response_elements: json!({"ConsoleLogin": "Success"}),
        additional_event_data: Some(
            json!({"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true", "MobileVersion": "No", "MFAIdentifier": format!("arn:aws:iam::{acct}:mfa/{}", id.map_or("root-account-mfa-device", |i| i.name.as_str())), "MFAUsed": "Yes"}),
        ),
        event_id: uuid(rng),
        event_type: "AwsConsoleSignIn",
        ..Rec::management(ui, iso(t), "signin.amazonaws.com", "ConsoleLogin", ctx.region, acct)
    }
}

/// What the file writer needs to know of a record written as text by [`api_call`].
pub(crate) struct Written {
    /// The caller's access key.
    pub key: Option<String>,
    /// `eventName`.
    pub event_name: &'static str,
    /// `sourceIPAddress`.
    pub ip: String,
}

/// Writes one ordinary API call of `id` at time `t` (`stamp` is [`iso`] of it) into `w` (a
/// JSON object, fields in the order of [`Rec`]).
pub(crate) fn api_call(ctx: &Ctx, id: &Identity, t: i64, stamp: &str, rng: &mut Rng, w: &mut Vec<u8>) -> Written {
    let table = catalog::table(id.profile);
    let mut e = *table.pick(rng.below(table.total()));
    if id.quiet && !e.read_only {
        e = *catalog::table(Profile::Reader).pick(rng.below(catalog::table(Profile::Reader).total()));
    }
    let acct = ctx.account;
    let region = ctx.region;
    let ip = if id.kind == Kind::Service {
        if rng.percent(70) { id.name.clone() } else { "AWS Internal".to_string() }
    } else {
        address(id.origin, rng)
    };
    let agent = match id.kind {
        Kind::Service => id.name.as_str(),
        Kind::ConsoleUser | Kind::Sso if rng.percent(60) => *rng.pick(CONSOLE_AGENTS),
        _ => *rng.pick(SDK_AGENTS),
    };
    let failed = !id.quiet && rng.below(1000) < 28;
    let error = failed.then(|| catalog::error_for(e.source, e.name, rng.below(1000)));
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
    let kms = e.name == "Decrypt" || e.name == "GenerateDataKey";
    let vpce = (id.origin == Origin::Vpc && rng.percent(70)).then(|| pooled(ctx, rng, "vpce", 3));
    let mut key = None;
    let mut req = Req::default();
    jw!(w, {
        "eventVersion": if s3 { "1.10" } else { "1.09" },
        "userIdentity": With::new(|w: &mut Vec<u8>| key = user_identity(ctx, id, t, rng, w)),
        "eventTime": stamp,
        "eventSource": e.source,
        "eventName": e.name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "errorCode"?: error.map(|x| x.0),
        "errorMessage"?: error.map(|x| x.1),
        "requestParameters": With::new(|w: &mut Vec<u8>| req = request_parameters(&e, ctx, id, rng, w)),
        "responseElements": With::new(|w: &mut Vec<u8>| if failed {
            jw!(w, null)
        } else {
            response_elements(&e, ctx, &req, rng, t, w)
        }),
        "additionalEventData"?: s3.then_some(With::new(|w: &mut Vec<u8>| {
            let out = if e.name == "GetObject" && !failed { rng.below(50_000_000) } else { 0 };
            let inb = if e.name == "PutObject" || e.name == "UploadPart" { rng.below(20_000_000) } else { 0 };
            jw!(w, {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": inb, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": token(rng, 56, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"), "bytesTransferredOut": out});
        })),
        "requestID": if s3 { token(rng, 16, b"0123456789ABCDEF") } else { uuid(rng) },
        "eventID": uuid(rng),
        "readOnly": e.read_only,
        "resources"?: (s3 || kms).then_some(With::new(|w: &mut Vec<u8>| if s3 {
            let b = req.bucket.take().unwrap_or_else(|| bucket(acct, rng));
            // The object, when there is one, comes before its bucket.
            w.push(b'[');
            if let Some(k) = &req.key {
                jw!(w, {"type": "AWS::S3::Object", "ARN": format_args!("arn:aws:s3:::{b}/{k}")});
                w.push(b',');
            }
            jw!(w, {"type": "AWS::S3::Bucket", "ARN": format_args!("arn:aws:s3:::{b}"), "accountId": acct});
            w.push(b']');
        } else {
            jw!(w, [{"accountId": acct, "type": "AWS::KMS::Key", "ARN": format_args!("arn:aws:kms:{region}:{acct}:key/{}", pooled(ctx, rng, "kms", 6))}]);
        })),
        "eventType": if id.kind == Kind::Service && rng.percent(10) { "AwsServiceEvent" } else { "AwsApiCall" },
        "apiVersion"?: (e.source == "ec2.amazonaws.com" && rng.percent(5)).then_some("2016-11-15"),
        "managementEvent": !data_event,
        "recipientAccountId": acct,
        "vpcEndpointId"?: vpce,
        "vpcEndpointAccountId"?: vpce.as_ref().map(|_| acct),
        "eventCategory": if data_event { "Data" } else { "Management" },
        "tlsDetails"?: (id.kind != Kind::Service || rng.percent(20)).then(|| Tls { source: e.source, region, modern: rng.percent(80) }),
        "sessionCredentialFromConsole"?: (matches!(id.kind, Kind::ConsoleUser) || (id.kind == Kind::Sso && rng.percent(50))).then_some("true"),
    });
    Written { key, event_name: e.name, ip }
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
        let session = format!("{}-{hour}-0", role.to_lowercase());
        let user_identity = user_identity_value(&live, caller, t + 1, rng);
        Rec {
            source_ip_address: address(caller.origin, rng),
            user_agent: rng.pick(SDK_AGENTS).to_string(),
            request_parameters: json!({"roleArn": format!("arn:aws:iam::{acct}:role/{role}"), "roleSessionName": session, "durationSeconds": 3600}),
            response_elements: json!({
                "credentials": {"accessKeyId": key, "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", token(rng, 120, B32)), "expiration": crate::aws_date(t + 3600)},
                "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", token(rng, 17, B32)), "arn": format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}")},
            }),
            request_id: Some(uuid(rng)),
            event_id: uuid(rng),
            resources: Some(
                json!([{"accountId": acct, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{acct}:role/{role}")}]),
            ),
            tls_details: Some(tls("sts.amazonaws.com", ctx.region, true)),
            ..Rec::management(user_identity, iso(t), "sts.amazonaws.com", "AssumeRole", ctx.region, acct)
        }
    };
    let first = mk(ci, times[0], CHAIN_ROLES[0], &k0, rng);
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
    [first, second]
}
