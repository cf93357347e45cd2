//! End-to-end: `trailsift verify` on a signed chain generated here (and broken), `ingest` and
//! `query` with `--public-keys` (manifest `verification` and the `evidence_verification`
//! column), the `cloudtrail_unique` view and the duplicate report, and `trailsift manifest`.

mod common;
#[path = "../crates/verify/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use common::{run_text, snapshot};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{BUCKET, build, default_plan, gz, put};

fn verify_json(root: &Path, keys: &Path, sigs: Option<&Path>) -> (i32, Value) {
    let mut args =
        vec!["verify".to_string(), root.display().to_string(), "--public-keys".into(), keys.display().to_string()];
    if let Some(s) = sigs {
        args.push("--signatures".into());
        args.push(s.display().to_string());
    }
    args.extend(["--format".into(), "json".into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run_text(&refs);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")))
}

/// status by key relative to the evidence root (or the s3 key for missing entries).
fn statuses(v: &Value, section: &str, root: &Path) -> BTreeMap<String, String> {
    let prefix = format!("{}/", root.display());
    v[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let p = d["path"].as_str().unwrap();
            let k = p.strip_prefix(&prefix).unwrap_or(p.trim_start_matches(&format!("s3://{BUCKET}/")));
            (k.to_string(), d["status"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn verify_reports_every_break() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let tree = build(&root, &[("us-east-1", 6), ("eu-west-1", 2)], default_plan);
    let before = snapshot(&root);
    let (code, v) = verify_json(&root, &tree.keys_file, Some(&tree.signatures_file));
    assert_eq!(code, 0, "{v:#}");
    assert!(statuses(&v, "digests", &root).values().all(|s| s == "valid"));
    assert!(statuses(&v, "log_files", &root).values().all(|s| s == "valid"));
    assert_eq!(v["gaps"].as_array().unwrap().len(), 0);
    assert_eq!(snapshot(&root), before, "verify must not touch the evidence");

    // Without the signatures file the newest digests cannot be verified: exit 2.
    let (code, v) = verify_json(&root, &tree.keys_file, None);
    assert_eq!(code, 2);
    let d = statuses(&v, "digests", &root);
    assert_eq!(d[&tree.digests[5].key], "unverified_no_signature");
    assert_eq!(d[&tree.digests[7].key], "unverified_no_signature");
    assert_eq!(d[&tree.digests[4].key], "valid");

    // Break it: modify a log, delete another, delete two digests in a row.
    let modified = tree.digests[0].logs[0].clone();
    put(&root, &modified, &gz(b"{\"Records\":[]}"));
    let deleted = tree.digests[5].logs[1].clone();
    std::fs::remove_file(root.join(&deleted)).unwrap();
    for d in &tree.digests[2..4] {
        std::fs::remove_file(root.join(&d.key)).unwrap();
    }
    std::fs::write(&tree.signatures_file, serde_json::to_string(&tree.signatures).unwrap()).unwrap();
    let (code, v) = verify_json(&root, &tree.keys_file, Some(&tree.signatures_file));
    assert_eq!(code, 2);
    let d = statuses(&v, "digests", &root);
    let mut want: BTreeMap<String, String> = tree.digests.iter().map(|d| (d.key.clone(), "valid".into())).collect();
    want.insert(tree.digests[2].key.clone(), "missing".into());
    want.insert(tree.digests[3].key.clone(), "missing".into());
    assert_eq!(d, want);
    let l = statuses(&v, "log_files", &root);
    let mut want: BTreeMap<String, String> = tree.logs.iter().map(|k| (k.clone(), "valid".into())).collect();
    want.insert(modified.clone(), "modified".into());
    want.insert(deleted.clone(), "missing".into());
    for d in &tree.digests[2..4] {
        for k in &d.logs {
            want.insert(k.clone(), "not_covered".into());
        }
    }
    assert_eq!(l, want);
    assert_eq!(v["gaps"][0]["missing_digests"], 2);

    // The table format says the same.
    let (code, out, _) = run_text(&[
        "verify",
        root.to_str().unwrap(),
        "--public-keys",
        tree.keys_file.to_str().unwrap(),
        "--signatures",
        tree.signatures_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        out.contains("modified") && out.contains("missing_digests") && out.contains("NOT everything is valid"),
        "{out}"
    );
}

#[test]
fn verify_rejects_a_bad_keys_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let _tree = build(&root, &[("us-east-1", 1)], default_plan);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"Keys\": []}").unwrap();
    let (code, _, err) = run_text(&["verify", root.to_str().unwrap(), "--public-keys", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("list-public-keys") && err.contains("bad.json"), "{err}");
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[test]
fn ingest_records_verification_and_manifest_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let tree = build(&root, &[("us-east-1", 3)], default_plan);
    let modified = tree.digests[1].logs[0].clone();
    let text = common::gunzip(&std::fs::read(root.join(&modified)).unwrap());
    let text = String::from_utf8(text).unwrap().replace("GetObject", "PutObject");
    put(&root, &modified, &gz(text.as_bytes()));
    // A log file no digest lists.
    let extra_log = format!(
        "AWSLogs/{}/CloudTrail/us-east-1/2024/03/01/{}_CloudTrail_us-east-1_20240301T0955Z_extra.json.gz",
        support::ACCOUNT,
        support::ACCOUNT
    );
    let rec = r#"{"Records":[{"eventVersion":"1.08","eventTime":"2024-03-01T09:50:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","eventID":"extra-1","recipientAccountId":"123456789012"}]}"#;
    put(&root, &extra_log, &gz(rec.as_bytes()));

    let store = dir.path().join("store");
    let (code, _, err) = run_text(&[
        "ingest",
        root.to_str().unwrap(),
        "--out",
        store.to_str().unwrap(),
        "--public-keys",
        tree.keys_file.to_str().unwrap(),
        "--signatures",
        tree.signatures_file.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(store.join("manifest.json")).unwrap()).unwrap();
    let by_path: BTreeMap<String, String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["verification"].as_str().unwrap_or("-").to_string()))
        .collect();
    let p = |k: &str| root.join(k).display().to_string();
    assert_eq!(by_path[&p(&modified)], "modified");
    assert_eq!(by_path[&p(&extra_log)], "not_covered");
    assert_eq!(by_path[&p(&tree.digests[0].logs[1])], "valid");
    assert_eq!(by_path[&p(&tree.digests[2].key)], "valid");

    // The column, from the store and from raw evidence with the same flags.
    let sql = "SELECT evidence_verification AS v, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 1";
    let want = "{\"v\":\"modified\",\"n\":3}\n{\"v\":\"not_covered\",\"n\":1}\n{\"v\":\"valid\",\"n\":15}\n";
    let (code, out, err) = run_text(&["query", store.to_str().unwrap(), "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, want);
    let (code, out, err) = run_text(&[
        "query",
        root.to_str().unwrap(),
        "--format",
        "jsonl",
        "--public-keys",
        tree.keys_file.to_str().unwrap(),
        "--signatures",
        tree.signatures_file.to_str().unwrap(),
        "--sql",
        sql,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, want);
    // Without the flags the column is NULL.
    let (_, out, _) = run_text(&["query", root.to_str().unwrap(), "--format", "jsonl", "--sql", sql]);
    assert_eq!(out, "{\"v\":null,\"n\":19}\n");

    // `manifest`: the evidence hash recomputed independently (sorted hex SHA-256 of every
    // file's bytes, one per line).
    let (code, out, err) = run_text(&["manifest", store.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let m: Value = serde_json::from_str(&out).unwrap();
    let mut hashes: Vec<String> = common::snapshot(&root).values().map(|b| sha_hex(b)).collect();
    hashes.sort();
    let lines: String = hashes.iter().map(|h| format!("{h}\n")).collect();
    assert_eq!(m["evidence_sha256"], sha_hex(lines.as_bytes()));
    assert_eq!(m["files"], hashes.len());
    assert_eq!(m["files_by_kind"]["cloudtrail_digest"], 3);
    assert_eq!(m["verification"]["cloudtrail"]["valid"], 5);
    assert_eq!(m["verification"]["cloudtrail"]["modified"], 1);
    assert_eq!(m["verification"]["cloudtrail_digest"]["valid"], 3);
    assert_eq!(m["tool_version"], env!("CARGO_PKG_VERSION"));
    let (code, out, _) = run_text(&["manifest", store.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains(m["evidence_sha256"].as_str().unwrap()) && out.contains("sha256sum"), "{out}");
}

/// Two copies of the same export, one record of the second copy altered, one record with
/// no eventID in each.
fn duplicated_evidence(root: &Path) {
    let rec = |id: Option<&str>, ip: &str, t: &str| {
        let mut v = serde_json::json!({"eventVersion":"1.08","eventTime":t,"eventSource":"sts.amazonaws.com",
            "eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":ip,
            "recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","accessKeyId":"AKIAIOSFODNN7EXAMPLE"}});
        if let Some(id) = id {
            v["eventID"] = id.into();
        }
        v
    };
    let key = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/123456789012_CloudTrail_us-east-1_20240301T0100Z_dup.json.gz";
    let records = |tampered: bool| {
        serde_json::json!({"Records": [
            rec(Some("e-1"), "192.0.2.1", "2024-03-01T00:50:00Z"),
            rec(Some("e-2"), if tampered { "203.0.113.66" } else { "192.0.2.2" }, "2024-03-01T00:51:00Z"),
            rec(Some("e-3"), "192.0.2.3", "2024-03-01T00:52:00Z"),
            rec(None, "192.0.2.4", "2024-03-01T00:53:00Z"),
        ]})
        .to_string()
    };
    put(&root.join("copy-a"), key, &gz(records(false).as_bytes()));
    put(&root.join("copy-b"), key, &gz(records(true).as_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_view_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    duplicated_evidence(&root);
    let store = dir.path().join("store");
    let (code, _, err) = run_text(&["ingest", root.to_str().unwrap(), "--out", store.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    for input in [root.clone(), store.clone()] {
        let engine = trailsift_query::Engine::open(std::slice::from_ref(&input), Default::default()).await.unwrap();
        let batches = engine
            .sql("SELECT count(*) AS n, count(eventid) AS ids FROM cloudtrail_unique")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        // 3 events once each + the two records without an eventID.
        assert!(text.contains("| 5 | 3   |"), "{input:?}\n{text}");
        // The kept copy is the first by path: copy-a.
        let batches = engine
            .sql("SELECT DISTINCT evidence_path FROM cloudtrail_unique WHERE eventid IS NOT NULL")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        assert!(text.contains("copy-a") && !text.contains("copy-b"), "{text}");

        let report = trailsift_query::duplicate_report(&engine).await.unwrap();
        assert_eq!(report.collapsed, 3, "{report:?}");
        assert_eq!(report.duplicated_events, 3);
        assert_eq!(report.conflicts.len(), 1, "{report:?}");
        let c = &report.conflicts[0];
        assert_eq!(c.eventid, "e-2");
        assert_eq!(c.recipientaccountid.as_deref(), Some("123456789012"));
        assert!(c.kept.path.contains("copy-a") && c.other.path.contains("copy-b"));
        assert_eq!((c.kept.index, c.other.index), (1, 1));
        assert_eq!(c.differing_columns, vec!["sourceipaddress".to_string()]);
    }
}
