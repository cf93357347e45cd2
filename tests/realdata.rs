//! Real-world samples from other projects (`../shared/realdata/cloudtrail`, see its
//! SOURCES.md): every record must be loaded or explained, with counts and values computed
//! independently here with serde_json. Skips with a message when the folder is absent.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn realdata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realdata/cloudtrail");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} not found (real-world samples live beside the repo in shared/realdata)", p.display());
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// (path, index) → (eventid, eventname, accesskeyid, eventtime) read with serde_json.
type Oracle = BTreeMap<(String, u64), [Value; 4]>;

fn oracle(root: &Path) -> (Oracle, usize) {
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut out = Oracle::new();
    let mut digests = 0;
    for f in files {
        let s = f.to_string_lossy().into_owned();
        if s.contains("CloudTrail-Digest") {
            digests += 1;
            continue;
        }
        let doc: Value = serde_json::from_slice(&gunzip(&std::fs::read(&f).unwrap())).unwrap();
        for (i, r) in doc["Records"].as_array().unwrap().iter().enumerate() {
            let key = r["userIdentity"].get("accessKeyId").cloned().unwrap_or(Value::Null);
            out.insert(
                (s.clone(), i as u64),
                [r.get("eventID").cloned().unwrap_or(Value::Null), r["eventName"].clone(), key, r["eventTime"].clone()],
            );
        }
    }
    (out, digests)
}

#[test]
fn realdata_cloudtrail_loads_every_record() {
    let Some(root) = realdata() else { return };
    let (want, digests) = oracle(&root);
    assert!(want.len() >= 500, "SOURCES.md promises 509 records, oracle read {}", want.len());

    let (code, text, err) = run_text(&[
        "query",
        root.to_str().unwrap(),
        "--format",
        "jsonl",
        "--sql",
        "SELECT evidence_path, evidence_index, eventid, eventname, useridentity.accesskeyid AS k, eventtime FROM cloudtrail",
    ]);
    assert_eq!(code, 0, "every real record must load:\n{err}");
    let mut got = Oracle::new();
    for r in jsonl(&text) {
        let key = (r["evidence_path"].as_str().unwrap().to_string(), r["evidence_index"].as_u64().unwrap());
        assert!(
            got.insert(key, [r["eventid"].clone(), r["eventname"].clone(), r["k"].clone(), r["eventtime"].clone()])
                .is_none()
        );
    }
    assert_eq!(got.len(), want.len());
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "{k:?}");
    }

    // The store made from it holds the same, and its manifest reconciles.
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let (code, _, err) = run_text(&["ingest", root.to_str().unwrap(), "--out", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let m: Value = serde_json::from_slice(&std::fs::read(store.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["totals"]["records_loaded"], want.len());
    assert_eq!(m["totals"]["records_rejected"], 0);
    assert_eq!(m["totals"]["files_by_kind"]["cloudtrail_digest"], digests);
    let per_key = |path: &str| -> BTreeMap<String, u64> {
        let (code, text, err) = run_text(&[
            "query",
            path,
            "--sql",
            "SELECT coalesce(useridentity.accesskeyid, '<none>') AS k, count(*) AS n FROM cloudtrail GROUP BY 1",
        ]);
        assert_eq!(code, 0, "{err}");
        jsonl(&text).iter().map(|r| (r["k"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap())).collect()
    };
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for v in want.values() {
        *expected.entry(v[2].as_str().unwrap_or("<none>").to_string()).or_default() += 1;
    }
    assert_eq!(per_key(root.to_str().unwrap()), expected);
    assert_eq!(per_key(store.to_str().unwrap()), expected);
}

/// Pushdown on real archives: key lookups (literal pre-filter) and one-day time ranges (path
/// pruning) give exactly the records serde_json finds, so neither drops a real record.
#[test]
fn realdata_pushdown_is_exact() {
    let Some(root) = realdata() else { return };
    let (want, _) = oracle(&root);
    let root_s = root.to_str().unwrap();
    let count = |sql: &str| -> u64 {
        let (code, text, err) = run_text(&["query", root_s, "--format", "jsonl", "--sql", sql]);
        assert_eq!(code, 0, "{sql}\n{err}");
        jsonl(&text)[0]["n"].as_u64().unwrap()
    };
    let mut by_key: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_day: BTreeMap<String, u64> = BTreeMap::new();
    for v in want.values() {
        if let Some(k) = v[2].as_str() {
            *by_key.entry(k.to_string()).or_default() += 1;
        }
        if let Some(t) = v[3].as_str() {
            *by_day.entry(t[..10].to_string()).or_default() += 1;
        }
    }
    for (k, n) in by_key.iter().take(12) {
        let sql = format!("SELECT count(*) AS n FROM cloudtrail WHERE useridentity.accesskeyid = '{k}'");
        assert_eq!(count(&sql), *n, "{sql}");
    }
    for (day, n) in by_day.iter().take(12) {
        let sql = format!(
            "SELECT count(*) AS n FROM cloudtrail WHERE eventtime >= '{day}T00:00:00Z' AND eventtime < '{day}T23:59:59.999Z'"
        );
        let late = want
            .values()
            .filter(|v| v[3].as_str().is_some_and(|t| t.starts_with(day.as_str()) && &t[11..] >= "23:59:59.999"))
            .count() as u64;
        assert_eq!(count(&sql) + late, *n, "{sql}");
    }
}
