//! `trailsift key` end to end: the three report forms on raw evidence and on a store, the same
//! answers from both, and the HTML rendered by a real headless browser when one is installed.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

const SEED: &str = "AKIAQQQQQQQQQQQQQQQ1";
const CHILD: &str = "ASIAQQQQQQQQQQQQQQQ2";

/// Two files: the seed lists buckets, mints CHILD with AssumeRole, CHILD creates a user;
/// an unrelated key's events sit beside them.
fn archive(root: &Path) {
    let mut mint = record("AssumeRole", SEED, "2024-08-01T00:01:00Z");
    mint["eventSource"] = json!("sts.amazonaws.com");
    mint["requestParameters"] = json!({"roleArn": "arn:aws:iam::123456789012:role/ops", "roleSessionName": "x"});
    mint["responseElements"] = json!({"credentials": {"accessKeyId": CHILD}});
    mint["readOnly"] = json!(true);
    mint["eventID"] = json!("mint-1");
    let mut list = record("ListBuckets", SEED, "2024-08-01T00:00:00Z");
    list["readOnly"] = json!(true);
    list["eventID"] = json!("list-1");
    let mut cu = record("CreateUser", CHILD, "2024-08-01T02:30:00Z");
    cu["eventSource"] = json!("iam.amazonaws.com");
    cu["requestParameters"] = json!({"userName": "backdoor"});
    cu["readOnly"] = json!(false);
    cu["eventID"] = json!("cu-1");
    let other = record("ListBuckets", "AKIAOTHEROTHEROTHER1", "2024-08-01T00:02:00Z");
    put(root, &ct_key("123456789012", "us-east-1", 0, "a"), &gz(&envelope(&[list, mint, other])));
    put(root, &ct_key("123456789012", "us-east-1", 30, "b"), &gz(&envelope(&[cu])));
}

fn key_json(path: &Path) -> Value {
    let (code, text, err) = run_text(&["key", path.to_str().unwrap(), SEED, "--format", "json", "-q"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn key_report_on_raw_evidence_and_store() {
    let ev = tempfile::tempdir().unwrap();
    archive(ev.path());
    let raw = key_json(ev.path());
    assert_eq!(raw["key"], SEED);
    assert_eq!(raw["key_type"], "long-term");
    assert_eq!(raw["seen_in_evidence"], true);
    let lineage: Vec<(&str, Option<&str>)> = raw["lineage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["access_key_id"].as_str().unwrap(), k["parent_access_key_id"].as_str()))
        .collect();
    assert_eq!(lineage, vec![(SEED, None), (CHILD, Some(SEED))]);
    assert_eq!(raw["lineage"][1]["minted_by"], "AssumeRole");
    assert_eq!(raw["lineage"][1]["event_id"], "mint-1");
    assert_eq!(raw["total_events"], 3);
    assert_eq!(raw["keys"][0]["events"], 2);
    assert_eq!(raw["keys"][1]["events"], 1);
    assert_eq!(raw["keys"][0]["event_names"]["AssumeRole"], 1);
    assert_eq!(raw["impact"]["mutating_events"], 1);
    assert!(raw["containment"].as_array().unwrap().iter().any(|c| c["target"] == SEED));
    for field in ["findings", "timeline", "activity", "source_ips", "evidence"] {
        assert!(raw.get(field).is_some(), "missing {field}");
    }

    // The same answers from a store made of the same evidence.
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let (code, _, err) = run_text(&["ingest", ev.path().to_str().unwrap(), "--out", store.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    let stored = key_json(&store);
    for field in ["lineage", "keys", "total_events", "impact", "activity"] {
        let strip = |v: &Value| {
            // Evidence paths differ (raw file vs. the same file named in the store).
            let mut v = v.clone();
            strip_paths(&mut v);
            v
        };
        assert_eq!(strip(&raw[field]), strip(&stored[field]), "{field} differs between raw and store");
    }

    // Markdown has the playbook's sections; HTML is self-contained with the chart.
    let (code, md, _) = run_text(&["key", ev.path().to_str().unwrap(), SEED, "-q"]);
    assert_eq!(code, 0);
    for s in [
        "## 1. Validation",
        "## 2. Lineage",
        "## 3. Scope",
        "## 4. Impact",
        "## 5. Findings",
        "## 6. Containment",
        "## 7. Timeline",
    ] {
        assert!(md.contains(s), "markdown lacks {s}");
    }
    let html = out.path().join("report.html");
    let (code, _, err) = run_text(&["key", ev.path().to_str().unwrap(), SEED, "-o", html.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<svg"));
    // Self-contained: no script, stylesheet link, image source, import or url() to fetch.
    for bad in ["<script", "<link", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(bad), "the page holds {bad}: it must fetch nothing");
    }
    // An existing output file is not overwritten without -C.
    let (code, _, err) = run_text(&["key", ev.path().to_str().unwrap(), SEED, "-o", html.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("--clobber"), "{err}");
    // A missing key is a clear error.
    let (code, _, err) = run_text(&["key", ev.path().to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("KEY") || err.contains("access key"), "{err}");

    render_in_browser(&html, out.path());
}

/// Overlapping exports: the report counts the copies it collapsed and the ones that differ
/// (from the hunt's count when there are none, from a duplicate check when there are), and
/// every count rests on one copy per event.
#[test]
fn key_report_counts_duplicate_copies() {
    let ev = tempfile::tempdir().unwrap();
    archive(ev.path());
    let clean = key_json(ev.path());
    assert_eq!(clean["evidence"]["duplicates_collapsed"], 0);
    assert_eq!(clean["evidence"]["duplicate_conflicts"], 0);
    assert_eq!(clean["evidence"]["verification"], "not verified (no digests and public keys were given)");

    // A second export of the first file, and a third copy of the ListBuckets record whose
    // source address was changed.
    let first = ev.path().join(ct_key("123456789012", "us-east-1", 0, "a"));
    let copy = ev.path().join("second-export").join(ct_key("123456789012", "us-east-1", 0, "a"));
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&first, &copy).unwrap();
    let mut changed = record("ListBuckets", SEED, "2024-08-01T00:00:00Z");
    changed["readOnly"] = json!(true);
    changed["eventID"] = json!("list-1");
    changed["sourceIPAddress"] = json!("203.0.113.250");
    put(
        ev.path(),
        &format!("third-export/{}", ct_key("123456789012", "us-east-1", 0, "c")),
        &gz(&envelope(&[changed])),
    );

    let dup = key_json(ev.path());
    // list-1 has three copies, mint-1 two: three are collapsed, one of them differs.
    assert_eq!(dup["evidence"]["duplicates_collapsed"], 3);
    assert_eq!(dup["evidence"]["duplicate_conflicts"], 1);
    for field in ["lineage", "total_events", "keys"] {
        let (mut a, mut b) = (clean[field].clone(), dup[field].clone());
        strip_paths(&mut a);
        strip_paths(&mut b);
        assert_eq!(a, b, "{field} changed with duplicate copies");
    }
    assert_eq!(dup["total_events"], 3);
}

fn strip_paths(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("evidence_path");
            m.values_mut().for_each(strip_paths);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_paths),
        _ => {}
    }
}

/// Renders the page in headless Chromium (Debian's `chromium`) and checks the DOM it built;
/// skips with a message when no browser is installed.
fn render_in_browser(html: &Path, tmp: &Path) {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| std::process::Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        eprintln!("skipping the browser check: no chromium installed (apt-get install chromium)");
        return;
    };
    let out = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("--user-data-dir={}", tmp.join("chrome").display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(dom.contains("Exposed-key investigation"), "page did not render: {dom:.300}");
    assert!(dom.contains("<svg") && dom.contains("class=\"bar\""), "chart missing from the rendered DOM");
    let shot = tmp.join("shot.png");
    let out = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"])
        .arg(format!("--user-data-dir={}", tmp.join("chrome").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success());
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot is empty");
}
