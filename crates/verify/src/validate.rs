//! Offline validation of CloudTrail digest chains and of the log files they list.
//!
//! 1. Every digest file among the evidence is inflated, hashed (SHA-256 of the uncompressed
//!    bytes) and parsed; every CloudTrail log file is inflated and hashed the same way.
//! 2. A digest's signature is the `previousDigestSignature` of the digest that follows it in
//!    its chain (the one whose `previousDigestS3Object` names it), or, for the newest digest
//!    (whose signature lives only in S3 object metadata), the `--signatures` entry for its
//!    `bucket/key`. It is checked with RSA PKCS#1 v1.5 / SHA-256 over AWS's string to sign,
//!    with the public key whose fingerprint the digest names and whose validity window holds
//!    `digestEndTime`.
//! 3. Gaps: a `previousDigestS3Object` that is not among the evidence is a missing digest;
//!    digests are hourly, so the time between the digest before the gap and the one after it
//!    tells how many are missing (their names are predicted from the known one). A digest
//!    whose `previousDigestSignature` is null after older digests of the same chain starts a
//!    new chain: logging or validation was off in between (a coverage gap, not a deletion).
//! 4. Log files are matched to digest entries by S3 key suffix (evidence is a local copy) and
//!    their hash compared with the entry's `hashValue`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use rsa::Pkcs1v15Sign;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use trailsift_ingest::decode;
use trailsift_ingest::discover::{EvidenceFile, FileKind};
use trailsift_ingest::time::format_micros;

use crate::digest::Digest;
use crate::keys::{KeyLookup, PublicKeys, Signatures};

/// Status of one digest file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestStatus {
    /// The signature verifies: the digest is what CloudTrail wrote.
    Valid,
    /// The signature does not verify: the digest (or the digest after it) was altered.
    InvalidSignature,
    /// Not a readable digest: not gzip/JSON, or a required field is missing.
    InvalidFormat,
    /// Part of the chain, but not among the evidence (deleted, or not copied).
    Missing,
    /// No public key with the digest's fingerprint is valid at its `digestEndTime` (unknown
    /// fingerprint, or a key that had expired or was not yet valid).
    NoKey,
    /// The signature verifies, but the file is stored somewhere other than its
    /// `digestS3Object` (AWS's validator reports it as moved from its original location).
    Moved,
    /// Its signature is nowhere to be found: it is the newest digest of its chain (or the
    /// digest after it is missing) and `--signatures` has no entry for it.
    UnverifiedNoSignature,
}

impl DigestStatus {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestStatus::Valid => "valid",
            DigestStatus::InvalidSignature => "invalid_signature",
            DigestStatus::InvalidFormat => "invalid_format",
            DigestStatus::Missing => "missing",
            DigestStatus::NoKey => "no_key",
            DigestStatus::Moved => "moved",
            DigestStatus::UnverifiedNoSignature => "unverified_no_signature",
        }
    }

    /// Whether the digest's content is proven authentic (its signature verifies), so the
    /// hashes it lists can be trusted.
    pub fn is_authentic(self) -> bool {
        matches!(self, DigestStatus::Valid | DigestStatus::Moved)
    }
}

/// Status of one log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStatus {
    /// Its SHA-256 matches the one a signed digest lists.
    Valid,
    /// Its SHA-256 differs from the one a signed digest lists (or it can no longer be
    /// decompressed).
    Modified,
    /// Listed in a signed digest, but not among the evidence.
    Missing,
    /// Listed only in digests that could not be verified.
    Unverifiable,
    /// No digest among the evidence lists it.
    NotCovered,
}

impl LogStatus {
    /// The name used in reports and in the `evidence_verification` column.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Valid => "valid",
            LogStatus::Modified => "modified",
            LogStatus::Missing => "missing",
            LogStatus::Unverifiable => "unverifiable",
            LogStatus::NotCovered => "not_covered",
        }
    }
}

/// The result for one digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestResult {
    /// Local path; for a missing digest, `s3://bucket/key`.
    pub path: String,
    /// Status.
    pub status: DigestStatus,
    /// `digestS3Bucket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// `digestS3Object`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_object: Option<String>,
    /// The chain it belongs to (bucket and key without date and time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Whether it belongs to a `_backfill` chain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfill: bool,
    /// `digestStartTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `digestEndTime` (for a predicted missing digest: the expected one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `digestPublicKeyFingerprint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Where the signature that verified came from: `next_digest` or `signatures_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_source: Option<String>,
    /// Log files it lists.
    pub log_files: usize,
    /// SHA-256 of its uncompressed content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// For a missing digest: the evidence that names it (a digest's path, or the signatures
    /// file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_by: Option<String>,
    /// For a missing digest: its name was inferred from the hourly schedule, not read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub predicted: bool,
    /// What is wrong, or worth knowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The result for one log file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogResult {
    /// Local path; for a missing log, `s3://bucket/key`.
    pub path: String,
    /// Status.
    pub status: LogStatus,
    /// The S3 key of the digest entry it matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_object: Option<String>,
    /// Local path of the digest that lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// SHA-256 the digest lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    /// SHA-256 of its uncompressed content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_sha256: Option<String>,
    /// What is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A time range of a chain with no verified coverage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gap {
    /// The chain.
    pub chain: String,
    /// `missing_digests` (digests of the chain are absent) or `chain_restarted` (a new chain
    /// began: logging or log file validation was off, so no digest covers the time).
    pub kind: String,
    /// End of the last digest before the gap (`None` when the gap is before the first one).
    pub from: Option<String>,
    /// Start of the first digest after the gap.
    pub to: Option<String>,
    /// Digests missing in it (0 for a restart).
    pub missing_digests: usize,
    /// Explanation.
    pub reason: String,
}

/// One chain of digests (one trail, account, region and bucket; backfill chains apart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainSummary {
    /// Chain name.
    pub chain: String,
    /// A `_backfill` chain.
    pub backfill: bool,
    /// Digests present.
    pub digests: usize,
    /// `digestStartTime` of its oldest digest.
    pub first_start: Option<String>,
    /// `digestEndTime` of its newest digest.
    pub last_end: Option<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Digests per status.
    pub digests: BTreeMap<String, u64>,
    /// Log files per status.
    pub log_files: BTreeMap<String, u64>,
    /// Gaps found.
    pub gaps: u64,
    /// Whether every digest and log file is `valid` (exit code 0).
    pub all_valid: bool,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Every digest: present ones by path, then missing ones.
    pub digests: Vec<DigestResult>,
    /// Every CloudTrail log file among the evidence, and the listed ones that are missing.
    pub log_files: Vec<LogResult>,
    /// Time ranges without verified coverage.
    pub gaps: Vec<Gap>,
    /// The chains found.
    pub chains: Vec<ChainSummary>,
    /// Counts.
    pub summary: Summary,
}

impl VerifyReport {
    /// Whether every digest and every log file is `valid`.
    pub fn all_valid(&self) -> bool {
        self.digests.iter().all(|d| d.status == DigestStatus::Valid)
            && self.log_files.iter().all(|l| l.status == LogStatus::Valid)
    }

    /// Status of each local log file, by its path as discovery shows it (the
    /// `evidence_path` of its records). A CloudTrail file absent from the map is
    /// `not_covered`.
    pub fn log_statuses(&self) -> BTreeMap<String, LogStatus> {
        self.log_files.iter().filter(|l| !l.path.starts_with("s3://")).map(|l| (l.path.clone(), l.status)).collect()
    }

    /// Status of each local digest file, by path.
    pub fn digest_statuses(&self) -> BTreeMap<String, DigestStatus> {
        self.digests.iter().filter(|d| !d.path.starts_with("s3://")).map(|d| (d.path.clone(), d.status)).collect()
    }
}

/// Options of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// CloudTrail's public keys.
    pub keys: PublicKeys,
    /// Signatures of digests from S3 metadata (the newest of each chain at least).
    pub signatures: Signatures,
    /// Cap on the expanded size of one file (0: the ingest default).
    pub max_file_bytes: u64,
}

/// Whether the local path `local` is a copy of S3 key `key`: the key is a suffix of the path
/// (by whole components), or the path is a suffix of the key (a copy made from inside the
/// tree), or the copy dropped the trail's key prefix before `AWSLogs/`.
pub fn path_matches(local: &str, key: &str) -> bool {
    let l: Vec<&str> = local.split(['/', '\\']).filter(|c| !c.is_empty() && *c != ".").collect();
    let k: Vec<&str> = key.split('/').filter(|c| !c.is_empty()).collect();
    let common = l.iter().rev().zip(k.iter().rev()).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return false;
    }
    if common == k.len() || common == l.len() {
        return true;
    }
    match k.iter().position(|c| *c == "AWSLogs") {
        Some(pos) => common >= k.len() - pos,
        None => false,
    }
}

fn file_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn is_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit)
}

/// The chain a digest key belongs to: bucket and key without the `YYYY/MM/DD/` folders and
/// the `_YYYYMMDDTHHMMSSZ` time of the name.
pub fn chain_of(bucket: &str, key: &str) -> String {
    let comps: Vec<&str> = key.split('/').collect();
    let n = comps.len();
    let mut kept: Vec<String> = Vec::with_capacity(n);
    for (i, c) in comps.iter().enumerate() {
        let date_part =
            n >= 4 && i + 4 >= n && i + 1 < n && !c.is_empty() && c.len() <= 4 && c.bytes().all(|b| b.is_ascii_digit());
        if date_part {
            continue;
        }
        if i + 1 == n {
            let name = c.strip_suffix(".gz").unwrap_or(c);
            let name = name.strip_suffix(".json").unwrap_or(name);
            let parts: Vec<&str> = name.split('_').filter(|p| !is_stamp(p)).collect();
            kept.push(parts.join("_"));
        } else {
            kept.push(c.to_string());
        }
    }
    format!("{bucket}/{}", kept.join("/"))
}

/// The key a digest of the same chain as `key` would have if it ended at `end_us`: the
/// `YYYY/MM/DD` folders and the `YYYYMMDDTHHMMSSZ` stamp replaced.
pub fn retime_key(key: &str, end_us: i64) -> Option<String> {
    let stamp = {
        let t = format_micros(end_us - end_us.rem_euclid(1_000_000));
        // 2024-08-01T13:45:07Z -> 20240801T134507Z
        t.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>()
    };
    if stamp.len() != 16 {
        return None;
    }
    let mut comps: Vec<String> = key.split('/').map(str::to_string).collect();
    let n = comps.len();
    if n < 4 {
        return None;
    }
    let name = comps[n - 1].clone();
    let at = (0..name.len().saturating_sub(15))
        .rev()
        .find(|&i| name.get(i..i + 16).is_some_and(is_stamp) && (i == 0 || name.as_bytes()[i - 1] == b'_'))?;
    comps[n - 1] = format!("{}{stamp}{}", &name[..at], &name[at + 16..]);
    let date_ok = |c: &String, len: usize| c.len() == len && c.bytes().all(|b| b.is_ascii_digit());
    if date_ok(&comps[n - 4], 4) && date_ok(&comps[n - 3], 2) && date_ok(&comps[n - 2], 2) {
        comps[n - 4] = stamp[0..4].to_string();
        comps[n - 3] = stamp[4..6].to_string();
        comps[n - 2] = stamp[6..8].to_string();
    }
    Some(comps.join("/"))
}

/// A file read for validation: hash of its uncompressed content, and that content.
struct Read {
    sha256: Result<String, String>,
    content: Vec<u8>,
}

fn read_content(file: &EvidenceFile, max: u64, keep: bool) -> Read {
    let mut buf = Vec::new();
    let r = decode::read_file(&file.path, max, false, &mut buf);
    let sha256 = match r.decoded {
        Ok(decode::Decoded::Truncated { reason }) => Err(format!("cannot be decompressed completely: {reason}")),
        Ok(_) => Ok(hex::encode(Sha256::digest(&buf))),
        Err(e) => Err(e.to_string()),
    };
    Read { sha256, content: if keep { buf } else { Vec::new() } }
}

/// A digest among the evidence.
struct Present {
    path: String,
    sha256: Result<String, String>,
    parsed: Result<Digest, String>,
}

const HOUR_US: i64 = 3_600_000_000;

/// Validates the digests and log files among `files` (as discovery returned them).
pub fn verify(files: &[EvidenceFile], opts: &VerifyOptions) -> VerifyReport {
    let max = if opts.max_file_bytes == 0 { decode::DEFAULT_MAX_FILE_BYTES } else { opts.max_file_bytes };
    let digest_files: Vec<&EvidenceFile> = files.iter().filter(|f| f.kind == FileKind::CloudtrailDigest).collect();
    let log_files: Vec<&EvidenceFile> = files
        .iter()
        .filter(|f| matches!(f.kind, FileKind::Cloudtrail | FileKind::CloudtrailInsight | FileKind::JsonCandidate))
        .collect();

    let present: Vec<Present> = digest_files
        .par_iter()
        .map(|f| {
            let r = read_content(f, max, true);
            let parsed = match &r.sha256 {
                Ok(_) => Digest::parse(&r.content),
                Err(e) => Err(e.clone()),
            };
            Present { path: f.display.clone(), sha256: r.sha256, parsed }
        })
        .collect();
    let log_hashes: Vec<Result<String, String>> =
        log_files.par_iter().map(|f| read_content(f, max, false).sha256).collect();

    // Digests by the location they say they were delivered to.
    let mut by_object: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, p) in present.iter().enumerate() {
        if let Ok(d) = &p.parsed {
            by_object.entry((d.bucket.clone(), d.object.clone())).or_default().push(i);
        }
    }
    // Successors: digests naming each digest as their previous one.
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); present.len()];
    for (i, p) in present.iter().enumerate() {
        if let Ok(d) = &p.parsed
            && let (Some(pb), Some(po)) = (&d.previous_bucket, &d.previous_object)
            && let Some(prev) = by_object.get(&(pb.clone(), po.clone()))
        {
            for &j in prev {
                successors[j].push(i);
            }
        }
    }

    let mut results: Vec<DigestResult> =
        present.iter().enumerate().map(|(i, p)| check_digest(i, p, &present, &successors[i], opts)).collect();

    let mut missing: BTreeMap<(String, String), DigestResult> = BTreeMap::new();
    let mut gaps: Vec<Gap> = Vec::new();
    let mut add_missing = |bucket: &str, key: &str, end_us: Option<i64>, by: &str, predicted: bool, reason: String| {
        missing.entry((bucket.to_string(), key.to_string())).or_insert_with(|| DigestResult {
            path: format!("s3://{bucket}/{key}"),
            status: DigestStatus::Missing,
            bucket: Some(bucket.to_string()),
            s3_object: Some(key.to_string()),
            chain: Some(chain_of(bucket, key)),
            backfill: chain_of(bucket, key).to_ascii_lowercase().contains("backfill"),
            start_time: None,
            end_time: end_us.map(format_micros),
            fingerprint: None,
            signature_source: None,
            log_files: 0,
            sha256: None,
            referenced_by: Some(by.to_string()),
            predicted,
            reason: Some(reason),
        });
    };

    // Chains: walk each chain's digests in time order, looking for breaks.
    let mut chains: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in present.iter().enumerate() {
        if let Ok(d) = &p.parsed {
            chains.entry(chain_of(&d.bucket, &d.object)).or_default().push(i);
        }
    }
    let mut chain_summaries = Vec::new();
    for (chain, members) in &chains {
        let d = |i: usize| present[i].parsed.as_ref().expect("chains hold parsed digests");
        // One entry per delivered object (copies of one digest count once).
        let mut order: Vec<usize> = members.clone();
        order.sort_by(|&a, &b| {
            (d(a).end_us, &d(a).object, &present[a].path).cmp(&(d(b).end_us, &d(b).object, &present[b].path))
        });
        order.dedup_by(|a, b| d(*a).object == d(*b).object && d(*a).bucket == d(*b).bucket);
        for (k, &cur) in order.iter().enumerate() {
            let dc = d(cur);
            let older = k.checked_sub(1).map(|j| order[j]);
            match (&dc.previous_bucket, &dc.previous_object) {
                (Some(pb), Some(po)) if !by_object.contains_key(&(pb.clone(), po.clone())) => {
                    // The digest before this one is not among the evidence.
                    add_missing(
                        pb,
                        po,
                        Some(dc.start_us),
                        &present[cur].path,
                        false,
                        "named as previousDigestS3Object by the next digest, but not among the evidence".into(),
                    );
                    let mut count = 1;
                    if let Some(o) = older {
                        let span = dc.start_us - d(o).end_us;
                        let hours = ((span as f64) / HOUR_US as f64).round() as i64;
                        for h in 1..hours {
                            let end = d(o).end_us + h * HOUR_US;
                            if let Some(key) = retime_key(po, end) {
                                count += 1;
                                add_missing(
                                    pb,
                                    &key,
                                    Some(end),
                                    &present[cur].path,
                                    true,
                                    format!(
                                        "CloudTrail writes a digest every hour; none covers {} to {} (name predicted)",
                                        format_micros(end - HOUR_US),
                                        format_micros(end)
                                    ),
                                );
                            }
                        }
                    }
                    gaps.push(Gap {
                        chain: chain.clone(),
                        kind: "missing_digests".into(),
                        from: older.map(|o| d(o).end_time.clone()),
                        to: Some(dc.start_time.clone()),
                        missing_digests: count,
                        reason: format!(
                            "{count} digest(s) of the chain are not among the evidence (deleted, or not copied)"
                        ),
                    });
                }
                (None, _) | (_, None) if older.is_some() => {
                    let o = d(older.expect("checked"));
                    gaps.push(Gap {
                        chain: chain.clone(),
                        kind: "chain_restarted".into(),
                        from: Some(o.end_time.clone()),
                        to: Some(dc.start_time.clone()),
                        missing_digests: 0,
                        reason: "a new digest chain starts here: logging or log file validation was off (or the \
                                 trail was re-created), so no digest covers this time"
                            .into(),
                    });
                }
                _ => {}
            }
        }
        let first = order.first().map(|&i| d(i).start_time.clone());
        let last = order.last().map(|&i| d(i).end_time.clone());
        chain_summaries.push(ChainSummary {
            chain: chain.clone(),
            backfill: chain.to_ascii_lowercase().contains("backfill"),
            digests: members.len(),
            first_start: first,
            last_end: last,
        });
    }
    // Digests the signatures file names that are not among the evidence (the newest ones).
    for key in opts.signatures.by_object.keys() {
        let Some((bucket, object)) = key.split_once('/') else { continue };
        if object.contains("CloudTrail-Digest") && !by_object.contains_key(&(bucket.to_string(), object.to_string())) {
            add_missing(
                bucket,
                object,
                None,
                "signatures file",
                false,
                "the signatures file has its signature, but the digest is not among the evidence".into(),
            );
        }
    }
    results.extend(missing.into_values());

    // Log files.
    let mut entries_by_name: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    for (i, p) in present.iter().enumerate() {
        if let Ok(d) = &p.parsed {
            for (j, l) in d.logs.iter().enumerate() {
                entries_by_name.entry(file_name(&l.object)).or_default().push((i, j));
            }
        }
    }
    let mut matched_entries: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut logs: Vec<LogResult> = Vec::new();
    for (f, hash) in log_files.iter().zip(&log_hashes) {
        let cands: Vec<(usize, usize)> = entries_by_name
            .get(file_name(&f.display))
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&(i, j)| {
                        path_matches(&f.display, &present[i].parsed.as_ref().expect("parsed").logs[j].object)
                    })
                    .collect()
            })
            .unwrap_or_default();
        matched_entries.extend(cands.iter().copied());
        if cands.is_empty() {
            if f.kind != FileKind::JsonCandidate {
                logs.push(LogResult {
                    path: f.display.clone(),
                    status: LogStatus::NotCovered,
                    s3_object: None,
                    digest: None,
                    expected_sha256: None,
                    actual_sha256: hash.as_ref().ok().cloned(),
                    reason: Some("no digest among the evidence lists this file".into()),
                });
            }
            continue;
        }
        let authentic: Vec<(usize, usize)> =
            cands.iter().copied().filter(|&(i, _)| results[i].status.is_authentic()).collect();
        let (i, j) = authentic.first().copied().unwrap_or(cands[0]);
        let entry = &present[i].parsed.as_ref().expect("parsed").logs[j];
        let mut r = LogResult {
            path: f.display.clone(),
            status: LogStatus::Unverifiable,
            s3_object: Some(entry.object.clone()),
            digest: Some(present[i].path.clone()),
            expected_sha256: Some(entry.hash.clone()),
            actual_sha256: hash.as_ref().ok().cloned(),
            reason: None,
        };
        if authentic.is_empty() {
            r.reason = Some(format!("its digest is {}", results[i].status.as_str()));
        } else {
            match hash {
                Ok(h)
                    if authentic
                        .iter()
                        .any(|&(i, j)| &present[i].parsed.as_ref().expect("parsed").logs[j].hash == h) =>
                {
                    r.status = LogStatus::Valid;
                }
                Ok(_) => {
                    r.status = LogStatus::Modified;
                    r.reason = Some("SHA-256 of its uncompressed content differs from the one the digest lists".into());
                }
                Err(e) => {
                    r.status = LogStatus::Modified;
                    r.reason = Some(format!("content cannot be read as delivered: {e}"));
                }
            }
        }
        logs.push(r);
    }
    for (i, p) in present.iter().enumerate() {
        let Ok(d) = &p.parsed else { continue };
        if !results[i].status.is_authentic() {
            continue;
        }
        for (j, l) in d.logs.iter().enumerate() {
            if matched_entries.contains(&(i, j)) {
                continue;
            }
            let path = format!("s3://{}/{}", l.bucket, l.object);
            if logs.iter().any(|x| x.path == path) {
                continue;
            }
            logs.push(LogResult {
                path,
                status: LogStatus::Missing,
                s3_object: Some(l.object.clone()),
                digest: Some(p.path.clone()),
                expected_sha256: Some(l.hash.clone()),
                actual_sha256: None,
                reason: Some("listed in a signed digest, but not among the evidence".into()),
            });
        }
    }
    logs.sort_by(|a, b| a.path.cmp(&b.path));

    let mut report =
        VerifyReport { digests: results, log_files: logs, gaps, chains: chain_summaries, summary: Summary::default() };
    for d in &report.digests {
        *report.summary.digests.entry(d.status.as_str().to_string()).or_default() += 1;
    }
    for l in &report.log_files {
        *report.summary.log_files.entry(l.status.as_str().to_string()).or_default() += 1;
    }
    report.summary.gaps = report.gaps.len() as u64;
    report.summary.all_valid = report.all_valid();
    report
}

fn check_digest(i: usize, p: &Present, all: &[Present], successors: &[usize], opts: &VerifyOptions) -> DigestResult {
    let mut r = DigestResult {
        path: p.path.clone(),
        status: DigestStatus::InvalidFormat,
        bucket: None,
        s3_object: None,
        chain: None,
        backfill: false,
        start_time: None,
        end_time: None,
        fingerprint: None,
        signature_source: None,
        log_files: 0,
        sha256: p.sha256.as_ref().ok().cloned(),
        referenced_by: None,
        predicted: false,
        reason: None,
    };
    let (d, sha) = match (&p.parsed, &p.sha256) {
        (Ok(d), Ok(sha)) => (d, sha),
        (Err(e), _) => {
            r.reason = Some(format!("not a readable digest: {e}"));
            return r;
        }
        (_, Err(e)) => {
            r.reason = Some(e.clone());
            return r;
        }
    };
    let chain = chain_of(&d.bucket, &d.object);
    r.backfill = chain.to_ascii_lowercase().contains("backfill");
    r.chain = Some(chain);
    r.bucket = Some(d.bucket.clone());
    r.s3_object = Some(d.object.clone());
    r.start_time = Some(d.start_time.clone());
    r.end_time = Some(d.end_time.clone());
    r.fingerprint = Some(d.fingerprint.clone());
    r.log_files = d.logs.len();
    let _ = i;
    let mut notes: Vec<String> = Vec::new();
    // The next digest records this one's hash too: a mismatch is worth naming.
    for &s in successors {
        if let Ok(next) = &all[s].parsed
            && let Some(h) = &next.previous_hash
            && h != sha
        {
            notes.push(format!("{} records a different previousDigestHashValue for it", all[s].path));
        }
    }
    if let Some(alg) = &d.signature_algorithm
        && !alg.eq_ignore_ascii_case("SHA256withRSA")
    {
        r.reason = Some(format!("unsupported digestSignatureAlgorithm {alg:?}"));
        return r;
    }
    let key = match opts.keys.find(&d.fingerprint, d.end_us) {
        KeyLookup::Found(k) => k,
        KeyLookup::NotValidAt => {
            r.status = DigestStatus::NoKey;
            r.reason = Some(format!(
                "the public key with fingerprint {} was not valid at digestEndTime {} (expired or not yet valid)",
                d.fingerprint, d.end_time
            ));
            return r;
        }
        KeyLookup::Unknown => {
            r.status = DigestStatus::NoKey;
            r.reason = Some(format!(
                "no public key with fingerprint {} in --public-keys (list them with `aws cloudtrail list-public-keys` for the digest's region and time)",
                d.fingerprint
            ));
            return r;
        }
    };
    let mut candidates: Vec<(String, &'static str)> = Vec::new();
    for &s in successors {
        if let Ok(next) = &all[s].parsed
            && let Some(sig) = &next.previous_signature
            && !candidates.iter().any(|(c, _)| c == sig)
        {
            candidates.push((sig.clone(), "next_digest"));
        }
    }
    if let Some(sig) = opts.signatures.get(&d.bucket, &d.object)
        && !candidates.iter().any(|(c, _)| c == sig)
    {
        candidates.push((sig.to_string(), "signatures_file"));
    }
    if candidates.is_empty() {
        r.status = DigestStatus::UnverifiedNoSignature;
        notes.insert(
            0,
            format!(
                "no signature for it: no digest among the evidence follows it, and --signatures has no entry for {}/{}",
                d.bucket, d.object
            ),
        );
        r.reason = Some(notes.join("; "));
        return r;
    }
    let hashed = Sha256::digest(d.string_to_sign(sha).as_bytes());
    let verified = candidates.iter().find(|(sig, _)| {
        hex::decode(sig).is_ok_and(|bytes| key.key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &bytes).is_ok())
    });
    match verified {
        Some((_, source)) => {
            r.signature_source = Some(source.to_string());
            if path_matches(&p.path, &d.object) {
                r.status = DigestStatus::Valid;
            } else {
                r.status = DigestStatus::Moved;
                notes.insert(0, format!("stored at {}, but it was delivered to {}", p.path, d.object));
            }
        }
        None => {
            r.status = DigestStatus::InvalidSignature;
            let sources: Vec<&str> = candidates.iter().map(|c| c.1).collect();
            notes.insert(
                0,
                format!(
                    "signature verification failed (signature from {}): the digest was altered",
                    sources.join(", ")
                ),
            );
        }
    }
    if !notes.is_empty() {
        r.reason = Some(notes.join("; "));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matching() {
        let key = "AWSLogs/1/CloudTrail/us-east-1/2024/01/01/1_CloudTrail_us-east-1_20240101T0000Z_a.json.gz";
        assert!(path_matches(&format!("/x/y/{key}"), key));
        assert!(path_matches(key, key));
        assert!(path_matches("1_CloudTrail_us-east-1_20240101T0000Z_a.json.gz", key));
        assert!(path_matches(&format!("copy/{key}"), &format!("prefix/{key}")));
        assert!(!path_matches("/x/y/other/1_CloudTrail_us-east-1_20240101T0000Z_a.json.gz", key));
        assert!(!path_matches(
            "/x/AWSLogs/1/CloudTrail/us-east-1/2024/01/02/1_CloudTrail_us-east-1_20240101T0000Z_a.json.gz",
            key
        ));
    }

    #[test]
    fn chains_and_predicted_names() {
        let k = "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/01/1_CloudTrail-Digest_us-east-1_t_us-east-1_20240101T235500Z.json.gz";
        assert_eq!(
            chain_of("b", k),
            "b/AWSLogs/1/CloudTrail-Digest/us-east-1/1_CloudTrail-Digest_us-east-1_t_us-east-1"
        );
        let end = trailsift_ingest::time::parse_timestamp_micros("2024-01-02T00:55:00Z").unwrap();
        assert_eq!(
            retime_key(k, end).unwrap(),
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/02/1_CloudTrail-Digest_us-east-1_t_us-east-1_20240102T005500Z.json.gz"
        );
        let b = "AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/01/1_CloudTrail-Digest_us-east-1_t_us-east-1_backfill_20240101T235500Z.json.gz";
        assert_ne!(chain_of("b", b), chain_of("b", k));
        assert!(chain_of("b", b).contains("backfill"));
    }
}
