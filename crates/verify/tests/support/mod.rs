//! Builds a signed CloudTrail evidence tree for tests: generated log files, hourly digests
//! chained and signed the way CloudTrail does (RSA PKCS#1 v1.5 / SHA-256 over AWS's string to
//! sign), a public keys file in `aws cloudtrail list-public-keys` format and a signatures
//! file. Shared by `crates/verify/tests/chain.rs` and the end-to-end `tests/verify.rs`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use rand::SeedableRng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};

pub const BUCKET: &str = "example-trail-bucket";
pub const ACCOUNT: &str = "123456789012";

/// A signing key and its published form.
pub struct Signer {
    pub key: RsaPrivateKey,
    pub fingerprint: String,
    pub der_b64: String,
}

fn make_signer(seed: u64) -> Signer {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // 1024 bits keeps key generation quick in debug builds; the algorithm is the same.
    let key = RsaPrivateKey::new(&mut rng, 1024).expect("key generation");
    let der = key.to_public_key().to_pkcs1_der().expect("encodes").as_bytes().to_vec();
    let fingerprint = hex::encode(&Sha256::digest(&der)[..16]);
    Signer { key, fingerprint, der_b64: base64::engine::general_purpose::STANDARD.encode(der) }
}

/// The main key (valid 2020–2030) and a second one that expired on 2024-03-01T02:00:00Z.
pub fn signers() -> &'static (Signer, Signer) {
    static S: OnceLock<(Signer, Signer)> = OnceLock::new();
    S.get_or_init(|| (make_signer(7), make_signer(11)))
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn put(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// What was written.
#[derive(Debug, Clone)]
pub struct DigestInfo {
    pub region: String,
    pub key: String,
    pub end_time: String,
    pub signature: String,
    pub logs: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Tree {
    /// Digests in time order per region.
    pub digests: Vec<DigestInfo>,
    /// Every log file key.
    pub logs: Vec<String>,
    /// Log files of hours without a digest.
    pub uncovered: Vec<String>,
    pub keys_file: PathBuf,
    pub signatures_file: PathBuf,
    /// All signatures by "bucket/key".
    pub signatures: BTreeMap<String, String>,
}

/// How to sign digest `hour` of `region`: which key (0 main, 1 expired), whether to name
/// an unknown fingerprint, and whether validation was off that hour (logs written, no
/// digest; the next digest starts a new chain).
pub type SignPlan = fn(region: &str, hour: u32) -> (usize, bool, bool);

pub fn default_plan(_: &str, _: u32) -> (usize, bool, bool) {
    (0, false, false)
}

fn record(region: &str, hour: u32, file: u32, i: u32) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "alice"},
        "eventTime": format!("2024-03-01T{:02}:{:02}:{:02}Z", hour, 10 + file * 20, i),
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.15.0",
        "requestID": format!("REQ{region}{hour}{file}{i}"),
        "eventID": format!("00000000-0000-4000-8000-{:04}{:02}{:02}{:04}", region.len(), hour, file, i),
        "readOnly": true,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT
    })
}

/// Writes `hours` hourly digests per region (chained, signed) over two log files per hour,
/// under `root/AWSLogs/…`, plus `root/../keys.json` and `root/../signatures.json` (the
/// signature of each chain's newest digest only).
pub fn build(root: &Path, regions: &[(&str, u32)], plan: SignPlan) -> Tree {
    let (main, expired) = signers();
    let mut tree = Tree::default();
    for &(region, hours) in regions {
        let mut prev: Option<(String, String, String)> = None; // key, sha, signature
        for h in 0..hours {
            let mut listed = Vec::new();
            for f in 0..2u32 {
                let text = serde_json::json!({"Records": (0..3).map(|i| record(region, h, f, i)).collect::<Vec<_>>()})
                    .to_string();
                let key = format!(
                    "AWSLogs/{ACCOUNT}/CloudTrail/{region}/2024/03/01/{ACCOUNT}_CloudTrail_{region}_20240301T{h:02}{:02}Z_f{h}x{f}.json.gz",
                    15 + f * 20
                );
                put(root, &key, &gz(text.as_bytes()));
                listed.push(serde_json::json!({
                    "s3Bucket": BUCKET,
                    "s3Object": key,
                    "hashValue": hex::encode(Sha256::digest(text.as_bytes())),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": format!("2024-03-01T{h:02}:{:02}:02Z", 10 + f * 20),
                    "oldestEventTime": format!("2024-03-01T{h:02}:{:02}:00Z", 10 + f * 20),
                }));
                tree.logs.push(key);
            }
            let (which, unknown, off) = plan(region, h);
            if off {
                tree.uncovered.extend(tree.logs[tree.logs.len() - 2..].iter().cloned());
                prev = None;
                continue;
            }
            let start =
                if h == 0 { "2024-02-29T23:58:30Z".to_string() } else { format!("2024-03-01T{:02}:58:30Z", h - 1) };
            let end = format!("2024-03-01T{h:02}:58:30Z");
            let key = format!(
                "AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/2024/03/01/{ACCOUNT}_CloudTrail-Digest_{region}_main-trail_us-east-1_20240301T{h:02}5830Z.json.gz"
            );
            let signer = if which == 0 { main } else { expired };
            let fingerprint =
                if unknown { "0123456789abcdef0123456789abcdef".to_string() } else { signer.fingerprint.clone() };
            let doc = serde_json::json!({
                "awsAccountId": ACCOUNT,
                "digestStartTime": start,
                "digestEndTime": end,
                "digestS3Bucket": BUCKET,
                "digestS3Object": key,
                "digestPublicKeyFingerprint": fingerprint,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": format!("2024-03-01T{h:02}:30:02Z"),
                "oldestEventTime": format!("2024-03-01T{h:02}:10:00Z"),
                "previousDigestS3Bucket": prev.as_ref().map(|_| BUCKET),
                "previousDigestS3Object": prev.as_ref().map(|p| p.0.clone()),
                "previousDigestHashValue": prev.as_ref().map(|p| p.1.clone()),
                "previousDigestHashAlgorithm": prev.as_ref().map(|_| "SHA-256"),
                "previousDigestSignature": prev.as_ref().map(|p| p.2.clone()),
                "logFiles": listed,
            });
            let content = doc.to_string();
            let sha = hex::encode(Sha256::digest(content.as_bytes()));
            let to_sign =
                format!("{end}\n{BUCKET}/{key}\n{sha}\n{}", prev.as_ref().map(|p| p.2.as_str()).unwrap_or("null"));
            let sig = signer.key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(to_sign.as_bytes())).unwrap();
            let sig = hex::encode(sig);
            put(root, &key, &gz(content.as_bytes()));
            tree.signatures.insert(format!("{BUCKET}/{key}"), sig.clone());
            tree.digests.push(DigestInfo {
                region: region.to_string(),
                key: key.clone(),
                end_time: end,
                signature: sig.clone(),
                logs: tree.logs[tree.logs.len() - 2..].to_vec(),
            });
            prev = Some((key, sha, sig));
        }
    }
    let parent = root.parent().unwrap();
    tree.keys_file = parent.join("keys.json");
    let keys = serde_json::json!({"PublicKeyList": [
        {"Value": main.der_b64, "ValidityStartTime": "2020-01-01T00:00:00+00:00", "ValidityEndTime": "2030-01-01T00:00:00+00:00", "Fingerprint": main.fingerprint},
        {"Value": expired.der_b64, "ValidityStartTime": 1577836800.0, "ValidityEndTime": "2024-03-01T02:00:00Z", "Fingerprint": expired.fingerprint},
    ]});
    std::fs::write(&tree.keys_file, serde_json::to_string_pretty(&keys).unwrap()).unwrap();
    tree.signatures_file = parent.join("signatures.json");
    let newest: BTreeMap<String, String> = regions
        .iter()
        .filter_map(|(r, _)| tree.digests.iter().rev().find(|d| d.region == *r))
        .map(|d| (format!("{BUCKET}/{}", d.key), d.signature.clone()))
        .collect();
    std::fs::write(&tree.signatures_file, serde_json::to_string_pretty(&newest).unwrap()).unwrap();
    tree
}
