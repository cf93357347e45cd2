//! Signed digest chains generated here, then broken one way at a time: each break must give
//! its documented status, and everything untouched must stay `valid`. The oracle is the
//! generator itself: it knows which file it broke.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{BUCKET, Tree, build, default_plan, gz, put};
use trailsift_ingest::discover::{DiscoverOptions, discover};
use trailsift_verify::{DigestStatus, LogStatus, PublicKeys, Signatures, VerifyOptions, VerifyReport, verify};

const REGIONS: &[(&str, u32)] = &[("us-east-1", 6), ("eu-west-1", 3)];

fn run(root: &Path, tree: &Tree, signatures: bool) -> VerifyReport {
    let found = discover(&[root], &DiscoverOptions::default());
    let keys = PublicKeys::load(&tree.keys_file).unwrap();
    let signatures = if signatures { Signatures::load(&tree.signatures_file).unwrap() } else { Signatures::default() };
    verify(&found.files, &VerifyOptions { keys, signatures, max_file_bytes: 0 })
}

fn local(root: &Path, key: &str) -> String {
    root.join(key).display().to_string()
}

/// Digest statuses by S3 key (present ones by their local path's key, missing by s3 key).
fn digests(root: &Path, r: &VerifyReport) -> BTreeMap<String, DigestStatus> {
    let prefix = format!("{}/", root.display());
    r.digests
        .iter()
        .map(|d| {
            let k = d
                .path
                .strip_prefix(&prefix)
                .map(str::to_string)
                .unwrap_or_else(|| d.path.trim_start_matches(&format!("s3://{BUCKET}/")).to_string());
            (k, d.status)
        })
        .collect()
}

fn logs(root: &Path, r: &VerifyReport) -> BTreeMap<String, LogStatus> {
    let prefix = format!("{}/", root.display());
    r.log_files
        .iter()
        .map(|l| {
            let k = l
                .path
                .strip_prefix(&prefix)
                .map(str::to_string)
                .unwrap_or_else(|| l.path.trim_start_matches(&format!("s3://{BUCKET}/")).to_string());
            (k, l.status)
        })
        .collect()
}

/// Expected statuses: every digest and log valid, except the overrides.
fn expect(
    tree: &Tree,
    r: &VerifyReport,
    root: &Path,
    digest_over: &[(&str, DigestStatus)],
    log_over: &[(&str, LogStatus)],
) {
    let mut want_d: BTreeMap<String, DigestStatus> =
        tree.digests.iter().map(|d| (d.key.clone(), DigestStatus::Valid)).collect();
    for (k, s) in digest_over {
        want_d.insert(k.to_string(), *s);
    }
    let mut want_l: BTreeMap<String, LogStatus> = tree.logs.iter().map(|k| (k.clone(), LogStatus::Valid)).collect();
    for (k, s) in log_over {
        want_l.insert(k.to_string(), *s);
    }
    assert_eq!(digests(root, r), want_d, "digests: {:#?}", r.digests);
    assert_eq!(logs(root, r), want_l, "log files: {:#?}", r.log_files);
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, Tree) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let tree = build(&root, REGIONS, default_plan);
    (dir, root, tree)
}

#[test]
fn untouched_chain_is_valid() {
    let (_d, root, tree) = setup();
    let r = run(&root, &tree, true);
    expect(&tree, &r, &root, &[], &[]);
    assert!(r.all_valid());
    assert!(r.gaps.is_empty(), "{:?}", r.gaps);
    assert_eq!(r.chains.len(), 2);
    // Which digest vouches for which: all but the newest by the next digest.
    let from_file: Vec<&str> = r
        .digests
        .iter()
        .filter(|d| d.signature_source.as_deref() == Some("signatures_file"))
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(from_file.len(), 2, "{from_file:?}");
}

#[test]
fn newest_without_signatures_file_is_unverified() {
    let (_d, root, tree) = setup();
    let r = run(&root, &tree, false);
    let newest_us = &tree.digests[5];
    let newest_eu = &tree.digests[8];
    let mut log_over: Vec<(&str, LogStatus)> = Vec::new();
    for d in [newest_us, newest_eu] {
        for l in &d.logs {
            log_over.push((l, LogStatus::Unverifiable));
        }
    }
    expect(
        &tree,
        &r,
        &root,
        &[(&newest_us.key, DigestStatus::UnverifiedNoSignature), (&newest_eu.key, DigestStatus::UnverifiedNoSignature)],
        &log_over,
    );
    assert!(!r.all_valid());
}

#[test]
fn modified_log() {
    let (_d, root, tree) = setup();
    let victim = &tree.digests[2].logs[0];
    let text = String::from_utf8(support_gunzip(&std::fs::read(root.join(victim)).unwrap())).unwrap();
    put(&root, victim, &gz(text.replace("192.0.2.10", "198.51.100.7").as_bytes()));
    let r = run(&root, &tree, true);
    expect(&tree, &r, &root, &[], &[(victim, LogStatus::Modified)]);
    // Recompressing the same content differently is not a modification: the hash is over
    // the uncompressed bytes.
    let other = &tree.digests[3].logs[1];
    let raw = support_gunzip(&std::fs::read(root.join(other)).unwrap());
    put(&root, other, &raw);
    let r = run(&root, &tree, true);
    expect(&tree, &r, &root, &[], &[(victim, LogStatus::Modified)]);
}

fn support_gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(b).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn deleted_log() {
    let (_d, root, tree) = setup();
    let victim = &tree.digests[1].logs[1];
    std::fs::remove_file(root.join(victim)).unwrap();
    let r = run(&root, &tree, true);
    expect(&tree, &r, &root, &[], &[(victim, LogStatus::Missing)]);
}

#[test]
fn deleted_digest_in_the_middle() {
    let (_d, root, tree) = setup();
    let gone = &tree.digests[2];
    std::fs::remove_file(root.join(&gone.key)).unwrap();
    // Without its successor, digest 1's signature comes only from the signatures file: with
    // the newest only there, it cannot be verified; with all of them, it can.
    let r = run(&root, &tree, true);
    let mut log_over: Vec<(&str, LogStatus)> = gone.logs.iter().map(|l| (l.as_str(), LogStatus::NotCovered)).collect();
    log_over.extend(tree.digests[1].logs.iter().map(|l| (l.as_str(), LogStatus::Unverifiable)));
    expect(
        &tree,
        &r,
        &root,
        &[(&gone.key, DigestStatus::Missing), (&tree.digests[1].key, DigestStatus::UnverifiedNoSignature)],
        &log_over,
    );
    assert_eq!(r.gaps.len(), 1, "{:?}", r.gaps);
    assert_eq!(r.gaps[0].missing_digests, 1);
    assert_eq!(r.gaps[0].kind, "missing_digests");

    std::fs::write(&tree.signatures_file, serde_json::to_string(&tree.signatures).unwrap()).unwrap();
    let r = run(&root, &tree, true);
    let log_over: Vec<(&str, LogStatus)> = gone.logs.iter().map(|l| (l.as_str(), LogStatus::NotCovered)).collect();
    expect(&tree, &r, &root, &[(&gone.key, DigestStatus::Missing)], &log_over);
}

#[test]
fn two_deleted_digests_in_a_row() {
    let (_d, root, tree) = setup();
    std::fs::write(&tree.signatures_file, serde_json::to_string(&tree.signatures).unwrap()).unwrap();
    for d in &tree.digests[2..4] {
        std::fs::remove_file(root.join(&d.key)).unwrap();
    }
    let r = run(&root, &tree, true);
    let log_over: Vec<(&str, LogStatus)> =
        tree.digests[2..4].iter().flat_map(|d| d.logs.iter().map(|l| (l.as_str(), LogStatus::NotCovered))).collect();
    // Both are named: the one the next digest points to, and the one before it predicted
    // from the hourly schedule.
    expect(
        &tree,
        &r,
        &root,
        &[(&tree.digests[2].key, DigestStatus::Missing), (&tree.digests[3].key, DigestStatus::Missing)],
        &log_over,
    );
    let predicted: Vec<bool> =
        r.digests.iter().filter(|d| d.status == DigestStatus::Missing).map(|d| d.predicted).collect();
    assert_eq!(predicted, vec![true, false]);
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].missing_digests, 2);
    assert_eq!(r.gaps[0].from.as_deref(), Some(tree.digests[1].end_time.as_str()));
}

#[test]
fn tampered_digest() {
    let (_d, root, tree) = setup();
    let victim = &tree.digests[3];
    let text = String::from_utf8(support_gunzip(&std::fs::read(root.join(&victim.key)).unwrap())).unwrap();
    // Hide a log file from the digest.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut v = v;
    v["logFiles"].as_array_mut().unwrap().pop();
    put(&root, &victim.key, &gz(v.to_string().as_bytes()));
    let r = run(&root, &tree, true);
    expect(
        &tree,
        &r,
        &root,
        &[(&victim.key, DigestStatus::InvalidSignature)],
        &[(&victim.logs[0], LogStatus::Unverifiable), (&victim.logs[1], LogStatus::NotCovered)],
    );
    let d = r.digests.iter().find(|d| d.path.ends_with(&victim.key)).unwrap();
    assert!(d.reason.as_deref().unwrap().contains("previousDigestHashValue"), "{:?}", d.reason);

    // Garbage instead of a digest.
    put(&root, &victim.key, b"not a digest");
    let r = run(&root, &tree, true);
    let d = r.digests.iter().find(|d| d.path.ends_with(&victim.key)).unwrap();
    assert_eq!(d.status, DigestStatus::InvalidFormat);
}

#[test]
fn digest_under_the_wrong_path() {
    let (_d, root, tree) = setup();
    let victim = &tree.digests[4];
    let moved = victim.key.replace("/2024/03/01/", "/2024/03/02/");
    std::fs::create_dir_all(root.join(&moved).parent().unwrap()).unwrap();
    std::fs::rename(root.join(&victim.key), root.join(&moved)).unwrap();
    let r = run(&root, &tree, true);
    let mut want = digests(&root, &r);
    assert_eq!(want.remove(&moved), Some(DigestStatus::Moved), "{:#?}", r.digests);
    assert!(want.values().all(|s| *s == DigestStatus::Valid), "{want:#?}");
    assert_eq!(want.len(), tree.digests.len() - 1);
    // Its content is authentic (the signature verifies), so its log files are checked.
    assert!(r.log_files.iter().all(|l| l.status == LogStatus::Valid));
    assert!(!r.all_valid());
}

#[test]
fn expired_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    // us-east-1 hour 3 (ends 03:58:30) signed with the key that expired at 02:00; hour 1
    // (ends 01:58:30) with the same key while it was still valid; eu-west-1 hour 1 names an
    // unknown fingerprint.
    fn plan(region: &str, hour: u32) -> (usize, bool, bool) {
        match (region, hour) {
            ("us-east-1", 1 | 3) => (1, false, false),
            ("eu-west-1", 1) => (0, true, false),
            _ => (0, false, false),
        }
    }
    let tree = build(&root, REGIONS, plan);
    let r = run(&root, &tree, true);
    let d3 = &tree.digests[3];
    let eu1 = &tree.digests[7];
    let mut log_over: Vec<(&str, LogStatus)> = d3.logs.iter().map(|l| (l.as_str(), LogStatus::Unverifiable)).collect();
    log_over.extend(eu1.logs.iter().map(|l| (l.as_str(), LogStatus::Unverifiable)));
    expect(&tree, &r, &root, &[(&d3.key, DigestStatus::NoKey), (&eu1.key, DigestStatus::NoKey)], &log_over);
    let reason = r.digests.iter().find(|d| d.path.ends_with(&d3.key)).unwrap().reason.clone().unwrap();
    assert!(reason.contains("not valid at"), "{reason}");
}

#[test]
fn validation_off_for_two_hours_is_a_coverage_gap() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    fn plan(region: &str, hour: u32) -> (usize, bool, bool) {
        (0, false, region == "us-east-1" && (hour == 2 || hour == 3))
    }
    let tree = build(&root, REGIONS, plan);
    assert_eq!(tree.digests.len(), 7);
    // The last digest before the break has no successor: its signature is only in S3
    // metadata, so the signatures file must hold it.
    let r = run(&root, &tree, true);
    let d1 = r.digests.iter().find(|d| d.path.ends_with(&tree.digests[1].key)).unwrap();
    assert_eq!(d1.status, DigestStatus::UnverifiedNoSignature);
    std::fs::write(&tree.signatures_file, serde_json::to_string(&tree.signatures).unwrap()).unwrap();
    let r = run(&root, &tree, true);
    let log_over: Vec<(&str, LogStatus)> = tree.uncovered.iter().map(|l| (l.as_str(), LogStatus::NotCovered)).collect();
    // Every digest is valid: the restart is not a deletion.
    expect(&tree, &r, &root, &[], &log_over);
    assert_eq!(r.gaps.len(), 1, "{:?}", r.gaps);
    assert_eq!(r.gaps[0].kind, "chain_restarted");
    assert_eq!(r.gaps[0].from.as_deref(), Some("2024-03-01T01:58:30Z"));
    assert_eq!(r.gaps[0].to.as_deref(), Some("2024-03-01T03:58:30Z"));
}

#[test]
fn real_digest_sample_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realdata/cloudtrail/AWSLogs/123456789123");
    if !root.exists() {
        eprintln!("skipped: {} not present", root.display());
        return;
    }
    let found = discover(&[&root], &DiscoverOptions::default());
    let r = verify(&found.files, &VerifyOptions::default());
    assert_eq!(r.digests.iter().filter(|d| !d.path.starts_with("s3://")).count(), 1);
    let d = r.digests.iter().find(|d| !d.path.starts_with("s3://")).unwrap();
    // AWS's key is not in an empty key set.
    assert_eq!(d.status, DigestStatus::NoKey, "{d:?}");
    assert_eq!(d.fingerprint.as_deref(), Some("47aaa19f7eec22e9bd0b5e58cfade8cb"));
    assert_eq!(d.log_files, 3);
    assert_eq!(d.end_time.as_deref(), Some("2020-09-11T19:36:49Z"));
    // Its predecessor (named by previousDigestS3Object) is not in the sample.
    assert!(
        r.digests.iter().any(|d| d.status == DigestStatus::Missing && d.path.ends_with("20200911T183649Z.json.gz"))
    );
    // The sample's log files are listed but its digest cannot be verified.
    for l in r.log_files.iter().filter(|l| l.digest.is_some()) {
        assert_eq!(l.status, LogStatus::Unverifiable, "{l:?}");
    }
}

#[test]
fn local_path_helper_is_used() {
    let (_d, root, tree) = setup();
    assert!(Path::new(&local(&root, &tree.logs[0])).exists());
}

#[test]
fn key_and_signature_file_formats() {
    use base64::Engine as _;
    use rsa::pkcs8::EncodePublicKey;
    let (main, _) = support::signers();
    let spki = main.key.to_public_key().to_public_key_der().unwrap();
    let spki_b64 = base64::engine::general_purpose::STANDARD.encode(spki.as_bytes());
    // A bare list, SubjectPublicKeyInfo, epoch-second times, upper-case fingerprint.
    let text = serde_json::json!([
        {"Value": spki_b64, "ValidityStartTime": 1_700_000_000, "ValidityEndTime": 1_800_000_000, "Fingerprint": "ABCD"},
        {"Value": main.der_b64, "Fingerprint": "ef01"},
    ])
    .to_string();
    let keys = PublicKeys::from_json(&text).unwrap();
    assert_eq!(keys.keys.len(), 2);
    assert_eq!(keys.keys[0].key, keys.keys[1].key);
    let t = |s: &str| trailsift_ingest::time::parse_timestamp_micros(s).unwrap();
    assert!(matches!(keys.find("abcd", t("2024-01-01T00:00:00Z")), trailsift_verify::keys::KeyLookup::Found(_)));
    assert!(matches!(keys.find("abcd", t("2030-01-01T00:00:00Z")), trailsift_verify::keys::KeyLookup::NotValidAt));
    assert!(matches!(keys.find("9999", t("2024-01-01T00:00:00Z")), trailsift_verify::keys::KeyLookup::Unknown));
    for bad in [
        "[]x",
        "{\"Keys\":[]}",
        "[{\"Value\":\"!!\",\"Fingerprint\":\"a\"}]",
        "[{\"Value\":\"AAAA\",\"Fingerprint\":\"a\"}]",
    ] {
        assert!(PublicKeys::from_json(bad).is_err(), "{bad}");
    }
    let sigs = Signatures::from_json(r#"{"s3://b/AWSLogs/x.json.gz": "AB01", "b/y": {"signature": "cd"}}"#).unwrap();
    assert_eq!(sigs.get("b", "AWSLogs/x.json.gz"), Some("ab01"));
    assert_eq!(sigs.get("b", "y"), Some("cd"));
    assert!(Signatures::from_json("[1]").is_err());
    assert!(Signatures::from_json(r#"{"b/k": 5}"#).is_err());
}
