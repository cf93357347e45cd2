//! trailsift-gen: deterministic synthetic CloudTrail archives whose exact answers are known.
//!
//! Files are written in the S3 delivery layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<rand>.json.gz`),
//! one file per five minutes per account and region, each a gzip of `{"Records":[…]}`. The
//! identities are IAM users with AKIA keys, assumed roles with ASIA keys and session context,
//! root, and AWS services; reads dominate, a few calls fail, request and response objects vary
//! in shape and size. The same seed always gives the same bytes. [`Answers`] records what was
//! written — per file and per access key — so tests can compare exactly.
//!
//! This crate depends on nothing else of trailsift, so it can serve as an independent oracle.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{Value, json};

/// Options for [`generate`].
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Seed: the same seed gives the same archive.
    pub seed: u64,
    /// Accounts.
    pub accounts: usize,
    /// Regions.
    pub regions: Vec<String>,
    /// First day, as days since 1970-01-01.
    pub start_day: i64,
    /// Total number of records to write (approximately spread over the files).
    pub records: u64,
    /// Number of five-minute files per account and region (the time span).
    pub files_per_region: u64,
    /// Gzip level (1 fast … 9 small; AWS's files compress about like 6).
    pub gzip_level: u32,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 1,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            start_day: 19_935, // 2024-07-31
            records: 5_000,
            files_per_region: 24,
            gzip_level: 6,
        }
    }
}

/// What one generated file holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileAnswer {
    /// Path relative to the output directory.
    pub path: String,
    /// Records in the file.
    pub records: u64,
    /// Uncompressed size.
    pub json_bytes: u64,
}

/// The exact content of a generated archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answers {
    /// Seed used.
    pub seed: u64,
    /// Total records.
    pub total_records: u64,
    /// Total uncompressed JSON bytes.
    pub json_bytes: u64,
    /// Records per `userIdentity.accessKeyId` (records without a key are not counted).
    pub records_by_key: BTreeMap<String, u64>,
    /// Records per `eventName`.
    pub records_by_event: BTreeMap<String, u64>,
    /// Every file written, sorted by path.
    pub files: Vec<FileAnswer>,
}

/// A small deterministic PRNG (SplitMix64): no dependency, stable across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Picks an element.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// True with probability `p` percent.
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An access key ID with `prefix` (`AKIA`, `ASIA`) that encodes `account` the way AWS does
/// (account << 7 in the first 48 bits of the base32 body, with the top bit set as in keys
/// issued since 2019, whose fifth character is Q–Z or 2–7), so it decodes offline.
pub fn access_key_id(prefix: &str, account: u64, rng: &mut Rng) -> String {
    let z = (1 << 47) | ((account & 0xff_ffff_ffff) << 7) | rng.below(128);
    let mut bytes = [0u8; 10];
    bytes[..6].copy_from_slice(&z.to_be_bytes()[2..8]);
    let tail = rng.next_u64().to_be_bytes();
    bytes[6..].copy_from_slice(&tail[..4]);
    let mut out = String::from(prefix);
    let mut acc: u128 = 0;
    for b in bytes {
        acc = (acc << 8) | b as u128;
    }
    for i in (0..16).rev() {
        out.push(B32[((acc >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// A random token of `n` characters from `alphabet`.
fn token(rng: &mut Rng, n: usize, alphabet: &[u8]) -> String {
    (0..n).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char).collect()
}

fn uuid(rng: &mut Rng) -> String {
    let h = |rng: &mut Rng, n| token(rng, n, b"0123456789abcdef");
    format!("{}-{}-{}-{}-{}", h(rng, 8), h(rng, 4), h(rng, 4), h(rng, 4), h(rng, 12))
}

/// Days since the epoch → (y, m, d).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch.
pub fn iso(secs: i64) -> String {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", r / 3600, r % 3600 / 60, r % 60)
}

#[derive(Debug, Clone)]
struct Identity {
    kind: &'static str,
    name: String,
    account: String,
    key: Option<String>,
    role: Option<String>,
}

fn identities(account: &str, rng: &mut Rng) -> Vec<Identity> {
    let acct: u64 = account.parse().unwrap_or(0);
    let mut out = Vec::new();
    for name in ["alice", "bob", "ci-deploy", "backup-svc", "carol"] {
        out.push(Identity {
            kind: "IAMUser",
            name: name.into(),
            account: account.into(),
            key: Some(access_key_id("AKIA", acct, rng)),
            role: None,
        });
    }
    for role in ["AdminRole", "ReadOnly", "LambdaExec", "EKSNodeRole"] {
        for _ in 0..2 {
            out.push(Identity {
                kind: "AssumedRole",
                name: format!("session-{}", token(rng, 6, b"abcdefghijklmnopqrstuvwxyz0123456789")),
                account: account.into(),
                key: Some(access_key_id("ASIA", acct, rng)),
                role: Some(role.into()),
            });
        }
    }
    out.push(Identity { kind: "Root", name: "root".into(), account: account.into(), key: None, role: None });
    out.push(Identity {
        kind: "AWSService",
        name: "cloudformation.amazonaws.com".into(),
        account: account.into(),
        key: None,
        role: None,
    });
    out
}

/// (eventSource, eventName, readOnly, weight)
const EVENTS: &[(&str, &str, bool, u64)] = &[
    ("s3.amazonaws.com", "GetObject", true, 30),
    ("s3.amazonaws.com", "ListBuckets", true, 6),
    ("s3.amazonaws.com", "PutObject", false, 6),
    ("ec2.amazonaws.com", "DescribeInstances", true, 20),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", true, 6),
    ("ec2.amazonaws.com", "RunInstances", false, 2),
    ("sts.amazonaws.com", "GetCallerIdentity", true, 8),
    ("sts.amazonaws.com", "AssumeRole", false, 5),
    ("iam.amazonaws.com", "ListUsers", true, 3),
    ("iam.amazonaws.com", "GetRole", true, 3),
    ("kms.amazonaws.com", "Decrypt", true, 12),
    ("lambda.amazonaws.com", "Invoke", false, 4),
    ("logs.amazonaws.com", "PutLogEvents", false, 8),
    ("dynamodb.amazonaws.com", "Query", true, 6),
    ("secretsmanager.amazonaws.com", "GetSecretValue", true, 2),
    ("cloudtrail.amazonaws.com", "LookupEvents", true, 1),
];

const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/s3.cp",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0",
    "console.amazonaws.com",
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.660]",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",
];

fn source_ip(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!("2001:db8:{:x}::{:x}", rng.below(65_536), rng.below(65_536)),
        1 | 2 => format!("198.51.100.{}", rng.below(254) + 1),
        3..=6 => format!("203.0.113.{}", rng.below(254) + 1),
        _ => format!("192.0.2.{}", rng.below(254) + 1),
    }
}

fn request_parameters(name: &str, rng: &mut Rng) -> Value {
    match name {
        "GetObject" | "PutObject" => json!({
            "bucketName": format!("data-{}", rng.below(20)),
            "Host": "s3.amazonaws.com",
            "key": format!("reports/{}/part-{:05}.csv", rng.below(365), rng.below(99_999)),
        }),
        "DescribeInstances" => json!({
            "instancesSet": {"items": (0..rng.below(3)).map(|_| json!({"instanceId": format!("i-{}", token(rng, 17, b"0123456789abcdef"))})).collect::<Vec<_>>()},
            "filterSet": {},
        }),
        "AssumeRole" => json!({
            "roleArn": format!("arn:aws:iam::123456789012:role/{}", ["AdminRole", "ReadOnly"][rng.below(2) as usize]),
            "roleSessionName": format!("s{}", rng.below(1000)),
            "durationSeconds": 3600,
        }),
        "RunInstances" => {
            json!({"instanceType": "t3.micro", "minCount": 1, "maxCount": 1, "monitoring": {"enabled": false}})
        }
        "Decrypt" => {
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:x"}})
        }
        "Query" => {
            json!({"tableName": "orders", "limit": rng.below(100), "consistentRead": rng.percent(50), "ratio": 0.25})
        }
        _ if rng.percent(30) => Value::Null,
        _ => json!({"maxResults": 50 + rng.below(50)}),
    }
}

fn record(id: &Identity, region: &str, time: i64, rng: &mut Rng) -> Value {
    let total: u64 = EVENTS.iter().map(|e| e.3).sum();
    let mut roll = rng.below(total);
    let ev = EVENTS
        .iter()
        .find(|e| {
            if roll < e.3 {
                true
            } else {
                roll -= e.3;
                false
            }
        })
        .expect("roll is below the total");
    let (source, name, read_only, _) = *ev;
    let arn = match id.kind {
        "IAMUser" => format!("arn:aws:iam::{}:user/{}", id.account, id.name),
        "AssumedRole" => {
            format!("arn:aws:sts::{}:assumed-role/{}/{}", id.account, id.role.as_deref().unwrap_or(""), id.name)
        }
        "Root" => format!("arn:aws:iam::{}:root", id.account),
        _ => String::new(),
    };
    let mut ui = json!({"type": id.kind});
    if id.kind == "AWSService" {
        ui["invokedBy"] = json!(id.name);
    } else {
        ui["principalId"] = json!(format!("AIDA{}", token(rng, 17, B32)));
        ui["arn"] = json!(arn);
        ui["accountId"] = json!(id.account);
    }
    if let Some(k) = &id.key {
        ui["accessKeyId"] = json!(k);
    }
    if id.kind == "IAMUser" {
        ui["userName"] = json!(id.name);
    }
    if let Some(role) = &id.role {
        ui["sessionContext"] = json!({
            "sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", token(rng, 17, B32)),
                "arn": format!("arn:aws:iam::{}:role/{role}", id.account), "accountId": id.account, "userName": role},
            "attributes": {"creationDate": iso(time - 600), "mfaAuthenticated": "false"},
        });
    }
    let failed = rng.percent(4);
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": ui,
        "eventTime": iso(time),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": if id.kind == "AWSService" { id.name.clone() } else { source_ip(rng) },
        "userAgent": rng.pick(AGENTS),
        "requestParameters": request_parameters(name, rng),
        "responseElements": if failed || read_only { Value::Null } else { json!({"requestId": uuid(rng)}) },
        "requestID": uuid(rng),
        "eventID": uuid(rng),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": source != "s3.amazonaws.com",
        "recipientAccountId": id.account,
        "eventCategory": if source == "s3.amazonaws.com" { "Data" } else { "Management" },
    });
    if failed {
        r["errorCode"] = json!("AccessDenied");
        r["errorMessage"] = json!(format!("User: {arn} is not authorized to perform: {name}"));
    }
    if source == "s3.amazonaws.com" {
        r["resources"] = json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::data-{}/x", rng.below(20))},
            {"accountId": id.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::data-{}", rng.below(20))},
        ]);
        r["additionalEventData"] =
            json!({"SignatureVersion": "SigV4", "bytesTransferredIn": 0, "x-amz-id-2": token(rng, 24, B32)});
    }
    if rng.percent(70) {
        r["tlsDetails"] = json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{source}")});
    }
    r
}

struct FilePlan {
    account: String,
    region: String,
    slot: u64,
    records: u64,
}

/// Writes the archive under `out/AWSLogs/…` and returns its exact answers (also written to
/// `out/answers.json`).
pub fn generate(out: &Path, opts: &GenOptions) -> io::Result<Answers> {
    let accounts: Vec<String> =
        (0..opts.accounts.max(1)).map(|i| format!("{:012}", 123_456_789_012u64 + i as u64 * 1_111)).collect();
    let mut plans = Vec::new();
    let slots = opts.files_per_region.max(1);
    let per_file_total = (accounts.len() * opts.regions.len()) as u64 * slots;
    let mut rng = Rng::new(opts.seed);
    let mut left = opts.records;
    for a in &accounts {
        for r in &opts.regions {
            for slot in 0..slots {
                let base = opts.records / per_file_total;
                let n = if plans.len() as u64 == per_file_total - 1 {
                    left
                } else {
                    (base + rng.below(base / 2 + 2)).min(left)
                };
                left -= n;
                plans.push(FilePlan { account: a.clone(), region: r.clone(), slot, records: n });
            }
        }
    }
    let results: Vec<io::Result<FileResult>> =
        plans.par_iter().enumerate().map(|(i, p)| write_file(out, opts, p, i as u64)).collect();
    let mut answers = Answers { seed: opts.seed, ..Default::default() };
    for r in results {
        let (file, keys, events) = r?;
        answers.total_records += file.records;
        answers.json_bytes += file.json_bytes;
        for (k, n) in keys {
            *answers.records_by_key.entry(k).or_default() += n;
        }
        for (k, n) in events {
            *answers.records_by_event.entry(k).or_default() += n;
        }
        answers.files.push(file);
    }
    answers.files.sort_by(|a, b| a.path.cmp(&b.path));
    fs::write(out.join("answers.json"), serde_json::to_string_pretty(&answers)? + "\n")?;
    Ok(answers)
}

type FileResult = (FileAnswer, BTreeMap<String, u64>, BTreeMap<String, u64>);

fn write_file(out: &Path, opts: &GenOptions, p: &FilePlan, n: u64) -> io::Result<FileResult> {
    let mut rng = Rng::new(opts.seed.wrapping_mul(1_000_003).wrapping_add(n));
    // Identities are drawn from a per-account seed so keys are the same in every file.
    let acct_seed = opts.seed ^ p.account.parse::<u64>().unwrap_or(0);
    let ids = identities(&p.account, &mut Rng::new(acct_seed));
    let start = opts.start_day * 86_400 + p.slot as i64 * 300;
    let mut times: Vec<i64> = (0..p.records).map(|_| start + rng.below(300) as i64).collect();
    times.sort_unstable();
    let mut keys: BTreeMap<String, u64> = BTreeMap::new();
    let mut events: BTreeMap<String, u64> = BTreeMap::new();
    let records: Vec<Value> = times
        .iter()
        .map(|&t| {
            let id = rng.pick(&ids).clone();
            let r = record(&id, &p.region, t, &mut rng);
            if let Some(k) = &id.key {
                *keys.entry(k.clone()).or_default() += 1;
            }
            *events.entry(r["eventName"].as_str().unwrap_or_default().to_string()).or_default() += 1;
            r
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "Records": records }))?;
    let delivery = start + 300 + 300; // end of the slot plus delivery delay
    let (y, m, d) = civil(delivery.div_euclid(86_400));
    let stamp = iso(delivery);
    let compact: String = stamp[..16].chars().filter(|c| *c != '-' && *c != ':').collect();
    let rel: PathBuf = [
        "AWSLogs".to_string(),
        p.account.clone(),
        "CloudTrail".into(),
        p.region.clone(),
        format!("{y:04}"),
        format!("{m:02}"),
        format!("{d:02}"),
        format!(
            "{}_CloudTrail_{}_{}Z_{}.json.gz",
            p.account,
            p.region,
            compact,
            token(&mut rng, 16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        ),
    ]
    .iter()
    .collect();
    let path = out.join(&rel);
    fs::create_dir_all(path.parent().expect("has a parent"))?;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(opts.gzip_level));
    enc.write_all(&body)?;
    fs::write(&path, enc.finish()?)?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    Ok((FileAnswer { path: rel, records: p.records, json_bytes: body.len() as u64 }, keys, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_encodes_account() {
        // The public decoding: base32-decode the 16 characters after the prefix, take the
        // first 6 bytes big-endian, mask 0x7fffffffff80, shift right 7.
        let mut rng = Rng::new(1);
        let key = access_key_id("AKIA", 123_456_789_012, &mut rng);
        assert_eq!(key.len(), 20);
        assert!(matches!(key.as_bytes()[4], b'Q'..=b'Z' | b'2'..=b'7'), "newer-format key: {key}");
        let mut acc: u128 = 0;
        for c in key[4..].bytes() {
            acc = (acc << 5) | B32.iter().position(|&b| b == c).unwrap() as u128;
        }
        let first6 = (acc >> 32) as u64;
        assert_eq!((first6 & 0x7fff_ffff_ff80) >> 7, 123_456_789_012);
    }

    #[test]
    fn iso_formats() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(19_935 * 86_400 + 3661), "2024-07-31T01:01:01Z");
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = tempdir("a");
        let b = tempdir("b");
        let opts = GenOptions { records: 300, files_per_region: 3, ..Default::default() };
        let x = generate(&a, &opts).unwrap();
        let y = generate(&b, &opts).unwrap();
        assert_eq!(x, y);
        assert_eq!(x.total_records, 300);
        for f in &x.files {
            assert_eq!(fs::read(a.join(&f.path)).unwrap(), fs::read(b.join(&f.path)).unwrap());
        }
        let _ = fs::remove_dir_all(&a);
        let _ = fs::remove_dir_all(&b);
    }

    fn tempdir(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("trailsift-gen-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        p
    }
}
