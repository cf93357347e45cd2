//! `trailsift hunt` and `trailsift detections` end to end: a small archive with a planted
//! exposed-key incident (key A) next to benign activity (key B); the expected findings are
//! known by construction.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::{Value, json};

const A: &str = "AKIA3EXAMPLELEAKED01";
const B: &str = "AKIA3EXAMPLEBENIGN01";

fn rec(i: usize, key: &str, time: &str, source: &str, name: &str, req: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA3EXAMPLE0000000", "arn": "arn:aws:iam::123456789012:user/dev",
                         "accountId": "123456789012", "accessKeyId": key, "userName": "dev"},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.17.20", "requestParameters": req, "responseElements": null,
        "requestID": format!("req-{i}"), "eventID": format!("00000000-0000-4000-8000-{i:012}"), "readOnly": false,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "123456789012", "eventCategory": "Management"
    })
}

fn archive(root: &Path) {
    let day = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/07/31";
    let f1 = vec![
        rec(0, B, "2024-07-31T00:00:00Z", "s3.amazonaws.com", "ListBuckets", json!({})),
        rec(1, A, "2024-07-31T00:05:00Z", "sts.amazonaws.com", "GetCallerIdentity", json!(null)),
        rec(2, A, "2024-07-31T00:06:00Z", "iam.amazonaws.com", "CreateUser", json!({"userName": "backdoor"})),
    ];
    let f2 = vec![
        rec(
            3,
            A,
            "2024-07-31T00:07:00Z",
            "iam.amazonaws.com",
            "AttachUserPolicy",
            json!({"userName": "backdoor", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        rec(4, A, "2024-07-31T00:08:00Z", "cloudtrail.amazonaws.com", "StopLogging", json!({"name": "main"})),
        rec(5, B, "2024-07-31T00:09:00Z", "s3.amazonaws.com", "ListBuckets", json!({})),
    ];
    put(
        root,
        &format!("{day}/123456789012_CloudTrail_us-east-1_20240731T0005Z_a.json.gz"),
        &gz(&serde_json::to_vec(&json!({"Records": f1})).unwrap()),
    );
    put(
        root,
        &format!("{day}/123456789012_CloudTrail_us-east-1_20240731T0010Z_b.json.gz"),
        &gz(&serde_json::to_vec(&json!({"Records": f2})).unwrap()),
    );
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn hunt_jsonl_has_every_key_and_the_planted_findings() {
    let t = tempfile::tempdir().unwrap();
    archive(t.path());
    let ev = t.path().to_str().unwrap();
    let (code, out, err) = run_text(&["hunt", ev, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert_eq!(
        ids(&rows),
        ["ct-discovery-0001", "ct-persistence-0001", "ct-privilege-escalation-0001", "ct-defense-evasion-0001"],
        "{out}"
    );
    for r in &rows {
        for k in [
            "id",
            "title",
            "level",
            "eventid",
            "event_time",
            "principal",
            "access_key_id",
            "source_ip",
            "region",
            "summary",
            "evidence_path",
            "evidence_index",
            "count",
            "account_id",
            "tags",
        ] {
            assert!(r.get(k).is_some(), "missing {k} in {r}");
        }
        assert_eq!(r["access_key_id"], A);
    }
    // Provenance: the StopLogging finding names record 1 of the second file.
    let stop = &rows[3];
    assert_eq!(stop["level"], "high");
    assert_eq!(stop["event_time"], "2024-07-31T00:08:00Z");
    assert_eq!(stop["eventid"], "00000000-0000-4000-8000-000000000004");
    assert_eq!(stop["evidence_index"], 1);
    assert!(stop["evidence_path"].as_str().unwrap().ends_with("_b.json.gz"));
    assert!(err.contains("4 finding(s): 0 critical, 2 high, 1 medium, 1 low, 0 informational"), "{err}");
    assert!(err.contains("6 event(s) in scope"), "{err}");
}

#[test]
fn hunt_by_key_min_level_and_fail_on() {
    let t = tempfile::tempdir().unwrap();
    archive(t.path());
    let ev = t.path().to_str().unwrap();
    let (code, out, err) = run_text(&["hunt", ev, "--key", B, "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert!(lines(&out).is_empty(), "{out}");
    assert!(err.contains("2 event(s) in scope"), "{err}");

    let (code, out, err) = run_text(&["hunt", ev, "--key", A, "-m", "high", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert_eq!(ids(&rows), ["ct-privilege-escalation-0001", "ct-defense-evasion-0001"]);
    assert!(rows.iter().all(|r| r["level"] == "high" || r["level"] == "critical"));

    let (code, _, err) = run_text(&["hunt", ev, "--fail-on", "high", "--format", "jsonl"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--fail-on high"), "{err}");
    let (code, _, _) = run_text(&["hunt", ev, "--fail-on", "critical", "--format", "jsonl"]);
    assert_eq!(code, 0);

    let (code, out, _) =
        run_text(&["hunt", ev, "--from", "2024-07-31T00:07:00Z", "--to", "2024-07-31T00:07:59Z", "--format", "csv"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().next().unwrap().starts_with("event_time,level,id,title,"), "{out}");

    let (code, _, err) = run_text(&["hunt", ev, "--detection", "no-such-id"]);
    assert_eq!(code, 1);
    assert!(err.contains("no detection with id 'no-such-id'"), "{err}");
    let (code, _, err) = run_text(&["hunt", ev, "--from", "last tuesday"]);
    assert_eq!(code, 1);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn detections_list_show_lint() {
    let (code, out, err) = run_text(&["detections", "list", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert!(rows.len() >= 45, "{}", rows.len());
    let tactics: BTreeSet<&str> = rows.iter().map(|r| r["tactic"].as_str().unwrap()).collect();
    for t in ["discovery", "persistence", "privilege-escalation", "defense-evasion", "exfiltration", "impact"] {
        assert!(tactics.contains(t), "{tactics:?}");
    }
    let (code, out, _) = run_text(&["detections", "show", "ct-defense-evasion-0001"]);
    assert_eq!(code, 0);
    assert!(out.contains("level:          high") && out.contains("FROM events"), "{out}");
    let (code, _, err) = run_text(&["detections", "show", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no detection with id 'nope'"));

    let (code, _, err) = run_text(&["detections", "lint"]);
    assert_eq!(code, 0, "{err}");
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("a.sql"), "-- id: b\n-- level: loud\n-- shape: round\nSELECT 1 FROM events\n")
        .unwrap();
    std::fs::write(t.path().join("c.sql"), "-- id: c\nSELECT 1\n").unwrap();
    let (code, _, err) = run_text(&["detections", "lint", t.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    for needle in [
        "differs from the file name",
        "unknown level 'loud'",
        "unknown header key 'shape'",
        "missing header key 'title'",
        "c.sql",
        "does not read the events table",
    ] {
        assert!(err.contains(needle), "missing {needle} in {err}");
    }
}

/// `hunt` with `TMPDIR` set; exit code, stdout and stderr.
fn hunt_with_tmp(tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_trailsift"))
        .arg("hunt")
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The lines of stderr that name problems with the evidence, and the summary.
fn problem_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| l.starts_with("    ") || l.contains("finding(s):") || l.contains("could not be read"))
        .collect()
}

#[test]
fn whole_hunt_stages_raw_evidence_and_answers_as_the_scan_does() {
    let t = tempfile::tempdir().unwrap();
    let ev = t.path().join("ev");
    archive(&ev);
    let day = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/07/31";
    // A second copy of a file (its records are collapsed), a file with one bad record among
    // good ones, a file that is not gzip, and a digest (never loaded).
    let first =
        std::fs::read(ev.join(format!("{day}/123456789012_CloudTrail_us-east-1_20240731T0005Z_a.json.gz"))).unwrap();
    put(&ev, &format!("copy/{day}/123456789012_CloudTrail_us-east-1_20240731T0005Z_a.json.gz"), &first);
    let bad = format!(
        "{{\"Records\":[{},42,{}]}}",
        rec(6, A, "2024-07-31T00:11:00Z", "cloudtrail.amazonaws.com", "DeleteTrail", json!({"name": "main"})),
        rec(7, B, "2024-07-31T00:12:00Z", "s3.amazonaws.com", "ListBuckets", json!({}))
    );
    put(&ev, &format!("{day}/123456789012_CloudTrail_us-east-1_20240731T0015Z_c.json.gz"), &gz(bad.as_bytes()));
    put(&ev, &format!("{day}/123456789012_CloudTrail_us-east-1_20240731T0020Z_d.json.gz"), b"not gzip at all");
    put(&ev, "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/07/31/d.json.gz", &gz(b"{}"));
    let before = snapshot(&ev);
    let tmp = t.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let evs = ev.to_str().unwrap();

    let (code, staged, err) = hunt_with_tmp(&tmp, &[evs, "--format", "jsonl"]);
    assert_eq!(code, 2, "problems in the evidence give exit code 2: {err}");
    assert!(err.contains("[+] staging 5 evidence file(s)") && err.contains("[+] staged in"), "{err}");
    let (code, scanned, err_scan) = hunt_with_tmp(&tmp, &[evs, "--format", "jsonl", "--no-stage"]);
    assert_eq!(code, 2, "{err_scan}");
    assert!(!err_scan.contains("staging"), "{err_scan}");
    assert_eq!(staged, scanned, "the staged hunt finds what the scans find");
    assert_eq!(problem_lines(&err), problem_lines(&err_scan));
    let ids = ids(&lines(&staged));
    assert!(ids.contains(&"ct-defense-evasion-0001".to_string()), "{staged}");
    assert!(err.contains("8 event(s) in scope, 3 duplicate record(s) collapsed"), "{err}");
    assert!(err.contains("_c.json.gz [record 1]: "), "{err}");
    assert!(err.contains("_d.json.gz: "), "{err}");

    // A time range leaves out the files whose paths place them outside it, with the same answer.
    let range = ["--from", "2024-07-31T00:11:00Z", "--to", "2024-07-31T00:11:59Z", "--format", "jsonl"];
    let (_, staged, err) = hunt_with_tmp(&tmp, &[&[evs][..], &range[..]].concat());
    let (_, scanned, err_scan) = hunt_with_tmp(&tmp, &[&[evs, "--no-stage"][..], &range[..]].concat());
    assert_eq!(staged, scanned);
    assert_eq!(problem_lines(&err), problem_lines(&err_scan));
    assert!(err.contains("1 event(s) in scope"), "{err}");
    let later = ["--from", "2024-08-05T00:00:00Z", "--format", "jsonl"];
    let (_, staged, err) = hunt_with_tmp(&tmp, &[&[evs][..], &later[..]].concat());
    assert!(staged.is_empty() && err.contains("5 file(s) outside the time range left out"), "{err}");

    // One detection is not worth a store; nor is a key's activity (held in one pass).
    let (_, _, err) = hunt_with_tmp(&tmp, &[evs, "--detection", "ct-defense-evasion-0001"]);
    assert!(!err.contains("staging"), "{err}");
    let (_, _, err) = hunt_with_tmp(&tmp, &[evs, "--key", A]);
    assert!(!err.contains("staging"), "{err}");

    // A stage folder inside the evidence is refused before anything is made there.
    let inside = ev.join("AWSLogs");
    let (_, staged, err) = hunt_with_tmp(&tmp, &[evs, "--format", "jsonl", "--stage-dir", inside.to_str().unwrap()]);
    assert!(err.contains("inside the evidence") && err.contains("scanning the evidence once per detection"), "{err}");
    assert_eq!(staged, scanned_whole(&tmp, evs));

    assert_eq!(snapshot(&ev), before, "the evidence is read-only");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the temporary store is removed");
}

fn scanned_whole(tmp: &Path, ev: &str) -> String {
    hunt_with_tmp(tmp, &[ev, "--format", "jsonl", "--no-stage"]).1
}
