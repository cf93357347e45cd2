//! Planted incidents and their exact answers.
//!
//! The exposed-key story: the long-term key of the IAM user `dave.ops` (who also works
//! normally from the office throughout the archive) leaks. From attacker addresses in the
//! documentation ranges (203.0.113.0/24, 198.51.100.0/24, 2001:db8::/32) the key and every
//! credential minted from it recon, probe permissions, read S3 and Secrets Manager, mint
//! session, role, chained-role, cross-account and federation credentials (and fail to assume
//! one role), create a backdoor user with an administrator policy and a key of its own, and
//! then try the usual impact and evasion moves. Each planted event belongs to named
//! techniques (stable slugs) so that detections can be mapped to them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::noise::{self, LEAK_USER};
use crate::record::{Rec, tls};
use crate::{B32, GenOptions, KeyStats, Rng, Scenario, Span, access_key_id, aws_date, iso, mix, token, uuid};

/// One credential in a lineage: the leaked key (no parent) or a key minted from another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineageEntry {
    /// The access key ID.
    pub access_key_id: String,
    /// The key whose call minted it (`None` for the leaked key).
    pub parent_access_key_id: Option<String>,
    /// The minting event name (`AssumeRole`, `GetSessionToken`, `GetFederationToken`,
    /// `CreateAccessKey`), `None` for the leaked key.
    pub minted_by: Option<String>,
    /// The minting event's `eventID` (for a cross-account mint: the record in the caller's account).
    pub event_id: Option<String>,
    /// The minting event's `eventTime`.
    pub event_time: Option<String>,
    /// The account the key belongs to (decodable from the key ID).
    pub account_id: String,
}

/// A planted technique: a stable slug and the planted events that carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Technique {
    /// Stable slug, e.g. `defense-evasion-stop-logging`.
    pub technique: String,
    /// Distinct event names of its events, sorted.
    pub event_names: Vec<String>,
    /// `eventID`s of its events, in time order.
    pub event_ids: Vec<String>,
    /// IDs of the bundled detections that must raise a finding on these events (see
    /// [`detections_for`]); a run of the pack that misses one of them has missed the technique.
    pub detections: Vec<String>,
}

/// The bundled detections (`trailsift detections list`) that a planted technique must raise.
///
/// Kept here, beside the scenario that plants the events, so that `answers.json` is complete
/// on its own; the acceptance tests check the pack against it. An unknown slug has none.
pub fn detections_for(technique: &str) -> &'static [&'static str] {
    match technique {
        "recon-get-caller-identity" => &["ct-discovery-0001"],
        "discovery-permission-probing" => &["ct-discovery-0002"],
        "tooling-offensive-user-agent" => &["ct-defense-evasion-0012"],
        "collection-s3-read" => &["ct-collection-0001"],
        "credential-access-secrets" => &["ct-credential-access-0001"],
        "credential-mint-session-token" => &["ct-defense-evasion-0013"],
        "credential-mint-federation-token" => &["ct-persistence-0008"],
        "privilege-escalation-assume-role" => &[],
        "privilege-escalation-assume-role-denied" => &[],
        "lateral-movement-role-chaining" => &["ct-privilege-escalation-0004"],
        "lateral-movement-cross-account" => &["ct-lateral-movement-0001"],
        "persistence-trust-policy-backdoor" => &["ct-persistence-0006", "ct-persistence-0007"],
        "defense-evasion-guardduty-delete" => &["ct-defense-evasion-0003"],
        "persistence-create-user" => &["ct-persistence-0001"],
        "persistence-create-access-key" => &["ct-persistence-0002"],
        "privilege-escalation-attach-admin-policy" => &["ct-privilege-escalation-0001"],
        "persistence-login-profile" => &["ct-persistence-0003"],
        "defense-evasion-stop-logging" => &["ct-defense-evasion-0001"],
        "exfiltration-snapshot-share" => &["ct-exfiltration-0002"],
        "exfiltration-public-bucket-policy" => &["ct-exfiltration-0005"],
        "discovery-new-region" => &["ct-initial-access-0004"],
        "impact-gpu-run-instances" => &["ct-impact-0001"],
        "impact-service-quota-increase" => &["ct-impact-0004"],
        "impact-bedrock-abuse" => &["ct-impact-0005", "ct-impact-0006"],
        "impact-ses-abuse" => &["ct-impact-0007"],
        "response-aws-quarantine-policy" => &["ct-initial-access-0005"],
        _ => &[],
    }
}

/// VPC flow totals of one address (flows where it is the source or the destination).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlowTotals {
    /// Flow lines.
    pub flows: u64,
    /// Sum of `bytes`.
    pub bytes: u64,
    /// Sum of `packets`.
    pub packets: u64,
}

/// The exact answers of one planted incident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    /// Scenario name (`exposed-key`).
    pub scenario: String,
    /// The leaked key.
    pub key: String,
    /// The account that owns the leaked key.
    pub account_id: String,
    /// The IAM user that owns the leaked key.
    pub user_name: String,
    /// The leaked key first, then every key minted from it or its descendants, in mint order.
    pub lineage: Vec<LineageEntry>,
    /// Records whose `userIdentity.accessKeyId` is in the lineage, across all accounts and
    /// regions, noise included (the leaked key's owner also works normally). The
    /// cross-account AssumeRole is two records (one per account) and counts twice.
    pub total_events: u64,
    /// Those records per lineage key.
    pub events: BTreeMap<String, u64>,
    /// Earliest `eventTime` of those records.
    pub first_seen: String,
    /// Latest `eventTime` of those records.
    pub last_seen: String,
    /// Distinct `sourceIPAddress` of those records, sorted.
    pub source_ips: Vec<String>,
    /// Those records per event name.
    pub event_names: BTreeMap<String, u64>,
    /// The attacker's addresses, sorted.
    pub attacker_ips: Vec<String>,
    /// Time of the attacker's first call.
    pub leak_time: String,
    /// The planted techniques.
    pub techniques: Vec<Technique>,
    /// `eventID`s of mint attempts that failed (they mint nothing and are not in the lineage).
    pub failed_mint_event_ids: Vec<String>,
    /// The cross-account AssumeRole: its `sharedEventID` and the two records' `eventID`s
    /// (caller's account first).
    pub cross_account: CrossAccount,
    /// The region the account never used before the attacker did.
    pub new_region: String,
    /// Records the scenario added to the noise.
    pub planted_events: u64,
    /// VPC flow totals per attacker address (empty when the archive has no flow logs).
    pub vpc: BTreeMap<String, FlowTotals>,
}

/// The two records of a cross-account AssumeRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CrossAccount {
    /// The `sharedEventID` both records carry.
    pub shared_event_id: String,
    /// `eventID` of the record in the caller's account.
    pub caller_event_id: String,
    /// `eventID` of the record in the role's account.
    pub target_event_id: String,
    /// The role's account.
    pub target_account_id: String,
}

/// A planted VPC flow.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub account: String,
    pub region: String,
    pub start: i64,
    pub interface_id: String,
    pub src: String,
    pub dst: String,
    pub srcport: u16,
    pub dstport: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    pub action: &'static str,
}

/// A scenario's planted records and the skeleton of its answers.
pub(crate) struct Planted {
    pub accounts: Vec<String>,
    /// (account folder, record, time)
    pub records: Vec<(String, Rec, i64)>,
    pub flows: Vec<Flow>,
    pub attacker_ips: Vec<String>,
    incident: Incident,
}

impl Planted {
    /// The keys whose records the writer must tally.
    pub fn lineage_keys(&self) -> Vec<String> {
        self.incident.lineage.iter().map(|l| l.access_key_id.clone()).collect()
    }

    /// Completes the answers from what the writers tallied.
    pub fn finish(
        mut self,
        stats: &BTreeMap<String, KeyStats>,
        flows: &BTreeMap<String, FlowTotals>,
        vpc: bool,
    ) -> Incident {
        let mut all = KeyStats::default();
        for k in self.lineage_keys() {
            let s = stats.get(&k).cloned().unwrap_or_default();
            self.incident.events.insert(k, s.events);
            all.merge(s);
        }
        let inc = &mut self.incident;
        inc.total_events = all.events;
        inc.first_seen = all.first.unwrap_or_default();
        inc.last_seen = all.last.unwrap_or_default();
        inc.source_ips = all.ips.into_iter().collect();
        inc.event_names = all.names;
        if vpc {
            inc.vpc =
                self.attacker_ips.iter().map(|ip| (ip.clone(), flows.get(ip).cloned().unwrap_or_default())).collect();
        }
        self.incident
    }
}

/// Plants `scenario` into an archive of `accounts` over `span`.
pub(crate) fn plant(scenario: Scenario, opts: &GenOptions, accounts: &[String], span: Span) -> Planted {
    match scenario {
        Scenario::ExposedKey => exposed_key(opts, accounts, span),
    }
}

/// Who makes a planted call.
#[derive(Clone)]
struct Who {
    ui: Value,
    account: String,
}

struct Story {
    rng: Rng,
    records: Vec<(String, Rec, i64)>,
    techniques: Vec<(&'static str, Vec<(String, String)>)>,
    base: i64,
    scale: f64,
    last: i64,
    ip: String,
    agent: String,
    region: String,
    new_region: String,
}

const KALI_AGENT: &str =
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024 prompt/off command/sts.get-caller-identity";
const PACU_AGENT: &str = "Boto3/1.34.69 Python/3.11.8 Linux/6.6.9-amd64 Botocore/1.34.69 Pacu/1.5.2";
const ATTACKER_AGENT: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";

struct Call<'a> {
    who: &'a Who,
    at: i64,
    source: &'a str,
    name: &'a str,
    req: Value,
    resp: Value,
    error: Option<(&'a str, &'a str)>,
    techniques: &'a [&'static str],
}

impl Story {
    /// Time of the story's second `offset` (scaled to the archive's span, strictly increasing).
    fn time(&mut self, offset: i64) -> i64 {
        let t = (self.base + (offset as f64 * self.scale) as i64).max(self.last + 1);
        self.last = t;
        t
    }

    fn tag(&mut self, techniques: &[&'static str], name: &str, id: &str) {
        for &slug in techniques {
            match self.techniques.iter_mut().find(|(s, _)| *s == slug) {
                Some((_, v)) => v.push((name.to_string(), id.to_string())),
                None => self.techniques.push((slug, vec![(name.to_string(), id.to_string())])),
            }
        }
    }

    fn call(&mut self, c: Call) -> (String, i64) {
        let t = self.time(c.at);
        let rng = &mut self.rng;
        let data = c.source == "s3.amazonaws.com" && matches!(c.name, "GetObject" | "ListObjects" | "PutObject");
        let read_only = ["Get", "List", "Describe", "Head", "Lookup"].iter().any(|p| c.name.starts_with(p))
            || c.name == "InvokeModel";
        let (resources, additional) = if c.source == "s3.amazonaws.com" {
            let b = c.req["bucketName"].as_str().unwrap_or("").to_string();
            let mut res = Vec::new();
            if let Some(k) = c.req["key"].as_str() {
                res.push(json!({"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{b}/{k}")}));
            }
            if !b.is_empty() {
                res.push(
                    json!({"type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{b}"), "accountId": c.who.account}),
                );
            }
            let out = if c.name == "GetObject" { 1_000_000 + rng.below(40_000_000) } else { 0 };
            (
                (!res.is_empty()).then_some(Value::Array(res)),
                Some(
                    json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": token(rng, 56, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), "bytesTransferredOut": out}),
                ),
            )
        } else {
            (None, None)
        };
        let rec = Rec {
            event_version: if data { "1.10" } else { "1.09" },
            user_identity: c.who.ui.clone(),
            event_time: iso(t),
            event_source: c.source.to_string(),
            event_name: c.name.to_string(),
            aws_region: self.region.clone(),
            source_ip_address: self.ip.clone(),
            user_agent: self.agent.clone(),
            error_code: c.error.map(|e| e.0.to_string()),
            error_message: c.error.map(|e| e.1.to_string()),
            request_parameters: c.req,
            response_elements: if c.error.is_some() { Value::Null } else { c.resp },
            additional_event_data: additional,
            request_id: Some(uuid(rng)),
            event_id: uuid(rng),
            read_only,
            resources,
            event_type: "AwsApiCall",
            api_version: None,
            management_event: !data,
            recipient_account_id: c.who.account.clone(),
            shared_event_id: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            event_category: if data { "Data" } else { "Management" },
            tls_details: Some(tls(c.source, &self.region, true)),
            session_credential_from_console: None,
        };
        let id = rec.event_id.clone();
        let mut tags: Vec<&'static str> = c.techniques.to_vec();
        if self.agent.contains("Pacu") || self.agent.contains("kali") {
            tags.push("tooling-offensive-user-agent");
        }
        if self.region == self.new_region {
            tags.push("discovery-new-region");
        }
        self.tag(&tags, c.name, &id);
        self.records.push((c.who.account.clone(), rec, t));
        (id, t)
    }
}

const NEW_REGIONS: [&str; 4] = ["ap-southeast-3", "me-central-1", "af-south-1", "il-central-1"];

fn creds(key: &str, t: i64, rng: &mut Rng) -> Value {
    json!({"accessKeyId": key, "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", token(rng, 160, B32)), "expiration": aws_date(t + 43_200)})
}

fn role_ui(account: &str, role: &str, session: &str, key: &str, created: i64, rng: &mut Rng) -> Value {
    let rid = format!("AROA{}", token(rng, 17, B32));
    json!({
        "type": "AssumedRole", "principalId": format!("{rid}:{session}"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"), "accountId": account, "accessKeyId": key,
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": rid, "arn": format!("arn:aws:iam::{account}:role/{role}"), "accountId": account, "userName": role},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"}},
    })
}

fn exposed_key(opts: &GenOptions, accounts: &[String], span: Span) -> Planted {
    let a = accounts[0].clone();
    let b = crate::account_ids(2)[1].clone();
    let a_num: u64 = a.parse().unwrap_or(0);
    let b_num: u64 = b.parse().unwrap_or(0);
    let mut krng = Rng::new(mix(&[opts.seed, 0x0e4b_05ed]));
    // Values inside request and response objects.
    let mut vr = Rng::new(mix(&[opts.seed, 0x7a1]));
    let ids = noise::identities(opts.seed, &a);
    let dave = ids.iter().find(|i| i.name == LEAK_USER).expect("the leak user exists");
    let leaked = dave.key.clone().expect("the leak user has a key");
    let k1 = access_key_id("ASIA", a_num, &mut krng);
    let k2 = access_key_id("ASIA", a_num, &mut krng);
    let k3 = access_key_id("ASIA", a_num, &mut krng);
    let k4 = access_key_id("ASIA", b_num, &mut krng);
    let k5 = access_key_id("ASIA", a_num, &mut krng);
    let k6 = access_key_id("AKIA", a_num, &mut krng);
    let backdoor = format!("backdoor-{}", token(&mut krng, 6, b"abcdefghijklmnopqrstuvwxyz0123456789"));
    let ip1 = format!("203.0.113.{}", 50 + krng.below(150));
    let ip2 = format!("198.51.100.{}", 20 + krng.below(200));
    let ip6 = format!("2001:db8:{:x}::{:x}", 0x100 + krng.below(0xe00), 1 + krng.below(0xffff));
    let new_region = NEW_REGIONS
        .iter()
        .find(|r| !opts.regions.iter().any(|x| x == *r))
        .copied()
        .unwrap_or("ap-southeast-3")
        .to_string();
    let r0 = opts.regions[0].clone();
    let r1 = opts.regions.get(1).cloned().unwrap_or_else(|| r0.clone());

    // The story takes about an hour and a half from ~40 % into the span, compressed on short spans.
    let avail = (span.slots * 300) as f64;
    let story_len = 5_000.0;
    let scale = (avail * 0.5 / story_len).min(1.0);
    let base = span.start + (avail * 0.4) as i64;
    let mut s = Story {
        rng: Rng::new(mix(&[opts.seed, 0x57_0e7])),
        records: Vec::new(),
        techniques: Vec::new(),
        base,
        scale,
        last: base - 1,
        ip: ip1.clone(),
        agent: KALI_AGENT.to_string(),
        region: r0.clone(),
        new_region: new_region.clone(),
    };
    let user = Who {
        ui: json!({"type": "IAMUser", "principalId": dave.principal, "arn": format!("arn:aws:iam::{a}:user/{LEAK_USER}"), "accountId": a, "accessKeyId": leaked, "userName": LEAK_USER}),
        account: a.clone(),
    };
    let mut lineage = vec![LineageEntry {
        access_key_id: leaked.clone(),
        parent_access_key_id: None,
        minted_by: None,
        event_id: None,
        event_time: None,
        account_id: a.clone(),
    }];
    let mut minted = |key: &str, parent: &str, by: &str, id: &str, t: i64, acct: &str| {
        lineage.push(LineageEntry {
            access_key_id: key.into(),
            parent_access_key_id: Some(parent.into()),
            minted_by: Some(by.into()),
            event_id: Some(id.into()),
            event_time: Some(iso(t)),
            account_id: acct.into(),
        });
    };
    let sts = "sts.amazonaws.com";
    let iam = "iam.amazonaws.com";

    // Recon.
    s.call(Call {
        who: &user,
        at: 0,
        source: sts,
        name: "GetCallerIdentity",
        req: Value::Null,
        resp: json!({"userId": dave.principal, "account": a, "arn": format!("arn:aws:iam::{a}:user/{LEAK_USER}")}),
        error: None,
        techniques: &["recon-get-caller-identity"],
    });
    // Permission probing: a burst of denied List/Describe calls across services.
    s.agent = PACU_AGENT.to_string();
    let probes: [(&str, &str); 14] = [
        (iam, "ListUsers"),
        (iam, "ListRoles"),
        (iam, "ListGroups"),
        (iam, "ListPolicies"),
        (iam, "GetAccountAuthorizationDetails"),
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("ec2.amazonaws.com", "DescribeSecurityGroups"),
        ("lambda.amazonaws.com", "ListFunctions20150331"),
        ("rds.amazonaws.com", "DescribeDBInstances"),
        ("dynamodb.amazonaws.com", "ListTables"),
        ("organizations.amazonaws.com", "DescribeOrganization"),
        ("kms.amazonaws.com", "ListKeys"),
        ("eks.amazonaws.com", "ListClusters"),
        ("guardduty.amazonaws.com", "ListDetectors"),
    ];
    for (i, (src, name)) in probes.iter().enumerate() {
        let err = if *src == "ec2.amazonaws.com" {
            ("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")
        } else {
            ("AccessDenied", "User is not authorized to perform this action because no identity-based policy allows it")
        };
        s.call(Call {
            who: &user,
            at: 60 + i as i64 * 4,
            source: src,
            name,
            req: Value::Null,
            resp: Value::Null,
            error: Some(err),
            techniques: &["discovery-permission-probing"],
        });
    }
    s.agent = ATTACKER_AGENT.to_string();
    // S3 reads.
    let s3 = "s3.amazonaws.com";
    let host = format!("s3.{r0}.amazonaws.com");
    s.call(Call {
        who: &user,
        at: 200,
        source: s3,
        name: "ListBuckets",
        req: json!({"Host": host}),
        resp: Value::Null,
        error: None,
        techniques: &["collection-s3-read"],
    });
    let buckets = [format!("data-lake-raw-{a}"), format!("backups-{a}"), format!("app-artifacts-{a}")];
    for (i, bk) in buckets.iter().enumerate() {
        s.call(Call {
            who: &user,
            at: 210 + i as i64 * 3,
            source: s3,
            name: "GetBucketAcl",
            req: json!({"bucketName": bk, "Host": format!("{bk}.s3.{r0}.amazonaws.com"), "acl": ""}),
            resp: Value::Null,
            error: None,
            techniques: &["collection-s3-read"],
        });
    }
    for i in 0..5 {
        let bk = &buckets[i % 2];
        s.call(Call { who: &user, at: 240 + i as i64 * 9, source: s3, name: "GetObject", req: json!({"bucketName": bk, "Host": format!("{bk}.s3.{r0}.amazonaws.com"), "key": format!("exports/customers-2024-0{}.csv.gz", i + 1)}), resp: Value::Null, error: None, techniques: &["collection-s3-read"] });
    }
    // Secrets.
    let sm = "secretsmanager.amazonaws.com";
    s.call(Call {
        who: &user,
        at: 330,
        source: sm,
        name: "ListSecrets",
        req: json!({"maxResults": 100}),
        resp: Value::Null,
        error: None,
        techniques: &["credential-access-secrets"],
    });
    for name in ["prod/db-master", "prod/stripe-api"] {
        s.call(Call {
            who: &user,
            at: 345,
            source: sm,
            name: "GetSecretValue",
            req: json!({"secretId": format!("arn:aws:secretsmanager:{r0}:{a}:secret:{name}-Xy12Ab")}),
            resp: Value::Null,
            error: None,
            techniques: &["credential-access-secrets"],
        });
    }
    // GetSessionToken → k1.
    let t_now = s.last + 1;
    let resp = json!({"credentials": creds(&k1, t_now, &mut vr)});
    let (id, t) = s.call(Call {
        who: &user,
        at: 420,
        source: sts,
        name: "GetSessionToken",
        req: json!({"durationSeconds": 43_200}),
        resp,
        error: None,
        techniques: &["credential-mint-session-token"],
    });
    minted(&k1, &leaked, "GetSessionToken", &id, t, &a);
    let w1 = Who {
        ui: json!({"type": "IAMUser", "principalId": dave.principal, "arn": format!("arn:aws:iam::{a}:user/{LEAK_USER}"), "accountId": a, "accessKeyId": k1, "userName": LEAK_USER,
            "sessionContext": {"attributes": {"creationDate": iso(t), "mfaAuthenticated": "false"}}}),
        account: a.clone(),
    };
    s.call(Call {
        who: &w1,
        at: 440,
        source: sts,
        name: "GetCallerIdentity",
        req: Value::Null,
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    s.call(Call {
        who: &w1,
        at: 450,
        source: "ec2.amazonaws.com",
        name: "DescribeRegions",
        req: json!({"regionSet": {}, "allRegions": true}),
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    s.call(Call {
        who: &w1,
        at: 460,
        source: s3,
        name: "ListBuckets",
        req: json!({"Host": host}),
        resp: Value::Null,
        error: None,
        techniques: &["collection-s3-read"],
    });

    // AssumeRole OpsAdmin → k2.
    let assume = |role_acct: &str, role: &str, session: &str, key: &str, t: i64, rng: &mut Rng| json!({"credentials": creds(key, t, rng), "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", token(rng, 17, B32)), "arn": format!("arn:aws:sts::{role_acct}:assumed-role/{role}/{session}")}});
    let t_now = s.last + 1;
    let resp = assume(&a, "OpsAdmin", "ops", &k2, t_now, &mut vr);
    let (id, t2) = s.call(Call { who: &user, at: 600, source: sts, name: "AssumeRole", req: json!({"roleArn": format!("arn:aws:iam::{a}:role/OpsAdmin"), "roleSessionName": "ops", "durationSeconds": 3600}), resp, error: None, techniques: &["privilege-escalation-assume-role"] });
    minted(&k2, &leaked, "AssumeRole", &id, t2, &a);
    let w2 = Who { ui: role_ui(&a, "OpsAdmin", "ops", &k2, t2, &mut vr), account: a.clone() };
    s.call(Call {
        who: &w2,
        at: 620,
        source: "ec2.amazonaws.com",
        name: "DescribeInstances",
        req: json!({"instancesSet": {}, "filterSet": {}}),
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    s.call(Call {
        who: &w2,
        at: 630,
        source: iam,
        name: "ListRoles",
        req: Value::Null,
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    // Role chaining: k2 assumes DataAccess → k3.
    let t_now = s.last + 1;
    let resp = assume(&a, "DataAccess", "etl", &k3, t_now, &mut vr);
    let (id, t3) = s.call(Call { who: &w2, at: 700, source: sts, name: "AssumeRole", req: json!({"roleArn": format!("arn:aws:iam::{a}:role/DataAccess"), "roleSessionName": "etl", "durationSeconds": 3600}), resp, error: None, techniques: &["lateral-movement-role-chaining"] });
    minted(&k3, &k2, "AssumeRole", &id, t3, &a);
    let w3 = Who { ui: role_ui(&a, "DataAccess", "etl", &k3, t3, &mut vr), account: a.clone() };
    for i in 0..3 {
        let bk = &buckets[0];
        s.call(Call { who: &w3, at: 720 + i * 10, source: s3, name: "GetObject", req: json!({"bucketName": bk, "Host": format!("{bk}.s3.{r0}.amazonaws.com"), "key": format!("warehouse/orders/part-{i:05}.parquet")}), resp: Value::Null, error: None, techniques: &["collection-s3-read"] });
    }
    // Trust-policy backdoor and GuardDuty with the chained-from role.
    s.call(Call { who: &w2, at: 800, source: iam, name: "UpdateAssumeRolePolicy", req: json!({"roleName": "OpsAdmin", "policyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]}).to_string()}), resp: Value::Null, error: None, techniques: &["persistence-trust-policy-backdoor"] });
    s.call(Call {
        who: &w2,
        at: 820,
        source: "guardduty.amazonaws.com",
        name: "ListDetectors",
        req: Value::Null,
        resp: json!({"detectorIds": ["12abc34d567e8fa901bc2d34e56789f0"]}),
        error: None,
        techniques: &[],
    });
    s.call(Call {
        who: &w2,
        at: 830,
        source: "guardduty.amazonaws.com",
        name: "DeleteDetector",
        req: json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}),
        resp: Value::Null,
        error: None,
        techniques: &["defense-evasion-guardduty-delete"],
    });

    // Cross-account AssumeRole → k4, logged in both accounts.
    let t_now = s.last + 1;
    let resp = assume(&b, "CrossAccountAuditRole", "audit", &k4, t_now, &mut vr);
    let req = json!({"roleArn": format!("arn:aws:iam::{b}:role/CrossAccountAuditRole"), "roleSessionName": "audit", "durationSeconds": 3600});
    let (caller_id, t4) = s.call(Call {
        who: &user,
        at: 900,
        source: sts,
        name: "AssumeRole",
        req: req.clone(),
        resp: resp.clone(),
        error: None,
        techniques: &["lateral-movement-cross-account"],
    });
    let shared = uuid(&mut vr);
    let mut target = s.records.last().expect("just pushed").1.clone();
    s.records.last_mut().expect("just pushed").1.shared_event_id = Some(shared.clone());
    target.event_id = uuid(&mut vr);
    target.request_id = Some(uuid(&mut vr));
    target.recipient_account_id = b.clone();
    target.shared_event_id = Some(shared.clone());
    target.user_identity =
        json!({"type": "AWSAccount", "principalId": dave.principal, "accountId": a, "accessKeyId": leaked});
    target.resources = Some(
        json!([{"accountId": b, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{b}:role/CrossAccountAuditRole")}]),
    );
    let target_id = target.event_id.clone();
    s.tag(&["lateral-movement-cross-account"], "AssumeRole", &target_id);
    s.records.push((b.clone(), target, t4));
    minted(&k4, &leaked, "AssumeRole", &caller_id, t4, &b);
    let w4 = Who { ui: role_ui(&b, "CrossAccountAuditRole", "audit", &k4, t4, &mut vr), account: b.clone() };
    s.call(Call {
        who: &w4,
        at: 920,
        source: sts,
        name: "GetCallerIdentity",
        req: Value::Null,
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    s.call(Call {
        who: &w4,
        at: 930,
        source: s3,
        name: "ListBuckets",
        req: json!({"Host": host}),
        resp: Value::Null,
        error: None,
        techniques: &["collection-s3-read"],
    });
    s.call(Call {
        who: &w4,
        at: 940,
        source: "ec2.amazonaws.com",
        name: "DescribeInstances",
        req: json!({"instancesSet": {}, "filterSet": {}}),
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    let bk = format!("finance-reports-{b}");
    s.call(Call {
        who: &w4,
        at: 950,
        source: s3,
        name: "GetObject",
        req: json!({"bucketName": bk, "Host": format!("{bk}.s3.{r0}.amazonaws.com"), "key": "2024/q2/ledger.xlsx"}),
        resp: Value::Null,
        error: None,
        techniques: &["collection-s3-read"],
    });

    // A denied AssumeRole mints nothing.
    let (denied, _) = s.call(Call { who: &user, at: 1000, source: sts, name: "AssumeRole", req: json!({"roleArn": format!("arn:aws:iam::{a}:role/BreakGlassAdmin"), "roleSessionName": "bg", "durationSeconds": 3600}), resp: Value::Null,
        error: Some(("AccessDenied", &format!("User: arn:aws:iam::{a}:user/{LEAK_USER} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{a}:role/BreakGlassAdmin"))), techniques: &["privilege-escalation-assume-role-denied"] });

    // GetFederationToken → k5.
    let t_now = s.last + 1;
    let resp = json!({"credentials": creds(&k5, t_now, &mut vr), "federatedUser": {"federatedUserId": format!("{a}:backup"), "arn": format!("arn:aws:sts::{a}:federated-user/backup")}, "packedPolicySize": 6});
    let (id, t5) = s.call(Call { who: &user, at: 1100, source: sts, name: "GetFederationToken", req: json!({"name": "backup", "durationSeconds": 129_600, "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}), resp, error: None, techniques: &["credential-mint-federation-token"] });
    minted(&k5, &leaked, "GetFederationToken", &id, t5, &a);
    let w5 = Who {
        ui: json!({"type": "FederatedUser", "principalId": format!("{a}:backup"), "arn": format!("arn:aws:sts::{a}:federated-user/backup"), "accountId": a, "accessKeyId": k5,
            "sessionContext": {"sessionIssuer": {"type": "IAMUser", "principalId": dave.principal, "arn": format!("arn:aws:iam::{a}:user/{LEAK_USER}"), "accountId": a, "userName": LEAK_USER},
                "attributes": {"creationDate": iso(t5), "mfaAuthenticated": "false"}}}),
        account: a.clone(),
    };
    s.call(Call {
        who: &w5,
        at: 1120,
        source: s3,
        name: "ListBuckets",
        req: json!({"Host": host}),
        resp: Value::Null,
        error: None,
        techniques: &["collection-s3-read"],
    });
    s.call(Call {
        who: &w5,
        at: 1130,
        source: "ec2.amazonaws.com",
        name: "DescribeInstances",
        req: json!({"instancesSet": {}, "filterSet": {}}),
        resp: Value::Null,
        error: None,
        techniques: &[],
    });

    // Persistence: backdoor user, its key, an admin policy, a console password.
    let t_now = s.last + 1;
    s.call(Call { who: &user, at: 1200, source: iam, name: "CreateUser", req: json!({"userName": backdoor}), resp: json!({"user": {"path": "/", "userName": backdoor, "userId": format!("AIDA{}", token(&mut vr, 17, B32)), "arn": format!("arn:aws:iam::{a}:user/{backdoor}"), "createDate": aws_date(t_now)}}), error: None, techniques: &["persistence-create-user"] });
    let t_now = s.last + 1;
    let (id, t6) = s.call(Call { who: &user, at: 1210, source: iam, name: "CreateAccessKey", req: json!({"userName": backdoor}), resp: json!({"accessKey": {"accessKeyId": k6, "status": "Active", "userName": backdoor, "createDate": aws_date(t_now)}}), error: None, techniques: &["persistence-create-access-key"] });
    minted(&k6, &leaked, "CreateAccessKey", &id, t6, &a);
    s.call(Call {
        who: &user,
        at: 1220,
        source: iam,
        name: "AttachUserPolicy",
        req: json!({"userName": backdoor, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        resp: Value::Null,
        error: None,
        techniques: &["privilege-escalation-attach-admin-policy"],
    });
    s.call(Call { who: &user, at: 1230, source: iam, name: "CreateLoginProfile", req: json!({"userName": backdoor, "passwordResetRequired": false}), resp: json!({"loginProfile": {"userName": backdoor, "createDate": aws_date(t_now + 20), "passwordResetRequired": false}}), error: None, techniques: &["persistence-login-profile"] });
    // Defense evasion with the leaked key itself.
    s.call(Call {
        who: &user,
        at: 1300,
        source: "cloudtrail.amazonaws.com",
        name: "StopLogging",
        req: json!({"name": format!("arn:aws:cloudtrail:{r0}:{a}:trail/org-trail")}),
        resp: Value::Null,
        error: None,
        techniques: &["defense-evasion-stop-logging"],
    });

    // The backdoor key, from the second address and IPv6.
    let w6 = Who {
        ui: json!({"type": "IAMUser", "principalId": format!("AIDA{}", token(&mut vr, 17, B32)), "arn": format!("arn:aws:iam::{a}:user/{backdoor}"), "accountId": a, "accessKeyId": k6, "userName": backdoor}),
        account: a.clone(),
    };
    s.ip = ip2.clone();
    s.call(Call {
        who: &w6,
        at: 3600,
        source: sts,
        name: "GetCallerIdentity",
        req: Value::Null,
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    s.call(Call { who: &w6, at: 3620, source: "ec2.amazonaws.com", name: "ModifySnapshotAttribute", req: json!({"snapshotId": format!("snap-0{}", token(&mut vr, 16, b"0123456789abcdef")), "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"}), resp: json!({"requestId": uuid(&mut vr), "_return": true}), error: None, techniques: &["exfiltration-snapshot-share"] });
    let pb = format!("static-site-{a}");
    s.call(Call { who: &w6, at: 3640, source: s3, name: "PutBucketPolicy", req: json!({"bucketName": pb, "Host": format!("{pb}.s3.{r0}.amazonaws.com"), "policy": json!({"Version": "2012-10-17", "Statement": [{"Sid": "public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{pb}/*")}]}).to_string()}), resp: Value::Null, error: None, techniques: &["exfiltration-public-bucket-policy"] });
    // GPU instances in a region the account never used.
    s.region = new_region.clone();
    s.agent = PACU_AGENT.to_string();
    s.call(Call {
        who: &w6,
        at: 3700,
        source: "ec2.amazonaws.com",
        name: "DescribeRegions",
        req: json!({"regionSet": {}}),
        resp: Value::Null,
        error: None,
        techniques: &[],
    });
    s.call(Call { who: &w6, at: 3710, source: "ec2.amazonaws.com", name: "RunInstances", req: json!({"instancesSet": {"items": [{"imageId": "ami-0a1b2c3d4e5f67890", "minCount": 4, "maxCount": 4}]}, "instanceType": "p4d.24xlarge", "blockDeviceMapping": {}, "monitoring": {"enabled": false}}), resp: Value::Null, error: Some(("Server.InsufficientInstanceCapacity", "We currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you requested.")), techniques: &["impact-gpu-run-instances"] });
    let iid = format!("i-0{}", token(&mut vr, 16, b"0123456789abcdef"));
    s.call(Call { who: &w6, at: 3730, source: "ec2.amazonaws.com", name: "RunInstances", req: json!({"instancesSet": {"items": [{"imageId": "ami-0a1b2c3d4e5f67890", "minCount": 2, "maxCount": 2}]}, "instanceType": "g5.12xlarge", "blockDeviceMapping": {}, "monitoring": {"enabled": false}}),
        resp: json!({"requestId": uuid(&mut vr), "reservationId": format!("r-0{}", token(&mut vr, 16, b"0123456789abcdef")), "ownerId": a, "instancesSet": {"items": [{"instanceId": iid, "instanceType": "g5.12xlarge", "instanceState": {"code": 0, "name": "pending"}, "privateIpAddress": "10.20.1.5", "placement": {"availabilityZone": format!("{new_region}a")}}]}}), error: None, techniques: &["impact-gpu-run-instances"] });
    s.call(Call { who: &w6, at: 3760, source: "servicequotas.amazonaws.com", name: "RequestServiceQuotaIncrease", req: json!({"serviceCode": "ec2", "quotaCode": "L-417A185B", "desiredValue": 384.0}), resp: json!({"requestedQuota": {"id": uuid(&mut vr), "serviceCode": "ec2", "quotaCode": "L-417A185B", "desiredValue": 384.0, "status": "PENDING"}}), error: None, techniques: &["impact-service-quota-increase"] });
    // Bedrock and SES, back in the main region.
    s.region = r0.clone();
    s.ip = ip6.clone();
    s.agent = ATTACKER_AGENT.to_string();
    s.call(Call {
        who: &w6,
        at: 4000,
        source: "bedrock.amazonaws.com",
        name: "PutUseCaseForModelAccess",
        req: json!({"formData": "<sensitiveDataRemoved>"}),
        resp: Value::Null,
        error: None,
        techniques: &["impact-bedrock-abuse"],
    });
    for i in 0..8 {
        s.call(Call {
            who: &w6,
            at: 4020 + i * 5,
            source: "bedrock.amazonaws.com",
            name: "InvokeModel",
            req: json!({"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}),
            resp: Value::Null,
            error: None,
            techniques: &["impact-bedrock-abuse"],
        });
    }
    s.call(Call {
        who: &w6,
        at: 4200,
        source: "ses.amazonaws.com",
        name: "GetSendQuota",
        req: Value::Null,
        resp: Value::Null,
        error: None,
        techniques: &["impact-ses-abuse"],
    });
    s.call(Call {
        who: &w6,
        at: 4210,
        source: "ses.amazonaws.com",
        name: "UpdateAccountSendingEnabled",
        req: json!({"enabled": true}),
        resp: Value::Null,
        error: None,
        techniques: &["impact-ses-abuse"],
    });
    // AWS quarantines the leaked user at the end (no access key: not part of the lineage).
    s.ip = "AWS Internal".to_string();
    s.agent = "AWS Internal".to_string();
    let aws = Who { ui: json!({"type": "AWSService", "invokedBy": "iam.amazonaws.com"}), account: a.clone() };
    s.call(Call {
        who: &aws,
        at: 4800,
        source: iam,
        name: "AttachUserPolicy",
        req: json!({"userName": LEAK_USER, "policyArn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"}),
        resp: Value::Null,
        error: None,
        techniques: &["response-aws-quarantine-policy"],
    });

    // VPC flows of the attacker addresses (account A).
    let mut frng = Rng::new(mix(&[opts.seed, 0xf10e]));
    let mut flows = Vec::new();
    let eni = |rng: &mut Rng| format!("eni-0{}", token(rng, 16, b"0123456789abcdef"));
    let ssh_eni = eni(&mut frng);
    let t_ssh = s
        .records
        .iter()
        .find(|r| r.1.event_name == "RunInstances" && r.1.error_code.is_none())
        .map(|r| r.2)
        .unwrap_or(base)
        + 120;
    for i in 0..4 {
        let (pk, by) = (20 + frng.below(200), 4_000 + frng.below(60_000));
        flows.push(Flow {
            account: a.clone(),
            region: new_region.clone(),
            start: t_ssh + i * 60,
            interface_id: ssh_eni.clone(),
            src: ip2.clone(),
            dst: "10.20.1.5".into(),
            srcport: 40_000 + frng.below(20_000) as u16,
            dstport: 22,
            protocol: 6,
            packets: pk,
            bytes: by,
            action: "ACCEPT",
        });
        flows.push(Flow {
            account: a.clone(),
            region: new_region.clone(),
            start: t_ssh + i * 60,
            interface_id: ssh_eni.clone(),
            src: "10.20.1.5".into(),
            dst: ip2.clone(),
            srcport: 22,
            dstport: 40_000 + frng.below(20_000) as u16,
            protocol: 6,
            packets: pk + 3,
            bytes: by * 3,
            action: "ACCEPT",
        });
    }
    let data_eni = eni(&mut frng);
    let t_exfil = s
        .records
        .iter()
        .find(|r| r.1.event_name == "GetObject" && r.1.source_ip_address == ip1)
        .map(|r| r.2)
        .unwrap_or(base);
    for i in 0..6 {
        flows.push(Flow {
            account: a.clone(),
            region: r0.clone(),
            start: t_exfil + i * 60,
            interface_id: data_eni.clone(),
            src: "10.0.3.17".into(),
            dst: ip1.clone(),
            srcport: 443,
            dstport: 50_000 + i as u16,
            protocol: 6,
            packets: 400_000 + frng.below(100_000),
            bytes: 600_000_000 + frng.below(200_000_000),
            action: "ACCEPT",
        });
    }
    let scan_eni = eni(&mut frng);
    for (i, port) in [22u16, 23, 80, 443, 445, 1433, 3306, 3389, 5432, 6379, 8080, 9200].iter().enumerate() {
        flows.push(Flow {
            account: a.clone(),
            region: r1.clone(),
            start: t_exfil - 600 + i as i64 * 7,
            interface_id: scan_eni.clone(),
            src: ip6.clone(),
            dst: "fd00:a1b2:c3d4:20::15".into(),
            srcport: 61_000 + i as u16,
            dstport: *port,
            protocol: 6,
            packets: 1,
            bytes: 74,
            action: "REJECT",
        });
    }
    for (i, port) in [21u16, 25, 110, 135, 139, 5900, 8443, 27017].iter().enumerate() {
        flows.push(Flow {
            account: a.clone(),
            region: r0.clone(),
            start: base - 300 + i as i64 * 5,
            interface_id: data_eni.clone(),
            src: ip1.clone(),
            dst: "10.0.3.17".into(),
            srcport: 55_000 + i as u16,
            dstport: *port,
            protocol: 6,
            packets: 1,
            bytes: 60,
            action: "REJECT",
        });
    }

    let leak_time = iso(base);
    let mut techniques: Vec<Technique> = s
        .techniques
        .into_iter()
        .map(|(slug, evs)| {
            let names: BTreeSet<String> = evs.iter().map(|e| e.0.clone()).collect();
            Technique {
                technique: slug.to_string(),
                event_names: names.into_iter().collect(),
                event_ids: evs.into_iter().map(|e| e.1).collect(),
                detections: detections_for(slug).iter().map(|d| d.to_string()).collect(),
            }
        })
        .collect();
    techniques.sort_by(|x, y| x.technique.cmp(&y.technique));
    let mut attacker_ips = vec![ip1, ip2, ip6];
    attacker_ips.sort();
    let incident = Incident {
        scenario: Scenario::ExposedKey.name().to_string(),
        key: leaked,
        account_id: a.clone(),
        user_name: LEAK_USER.to_string(),
        lineage,
        total_events: 0,
        events: BTreeMap::new(),
        first_seen: String::new(),
        last_seen: String::new(),
        source_ips: Vec::new(),
        event_names: BTreeMap::new(),
        attacker_ips: attacker_ips.clone(),
        leak_time,
        techniques,
        failed_mint_event_ids: vec![denied],
        cross_account: CrossAccount {
            shared_event_id: shared,
            caller_event_id: caller_id,
            target_event_id: target_id,
            target_account_id: b.clone(),
        },
        new_region,
        planted_events: s.records.len() as u64,
        vpc: BTreeMap::new(),
    };
    Planted { accounts: vec![a, b], records: s.records, flows, attacker_ips, incident }
}
