//! `trailsift ingest` end to end, on evidence trees that mix good files with every kind of
//! bad input: each bad file must be named with a reason, each good one must load in full,
//! the totals must reconcile and the evidence must be byte-for-byte unchanged.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::{Value, json};

struct Expect {
    loaded: u64,
    rejected: u64,
    error: Option<&'static str>,
    kind: &'static str,
}

fn e(kind: &'static str, loaded: u64, rejected: u64, error: Option<&'static str>) -> Expect {
    Expect { loaded, rejected, error, kind }
}

/// Builds the mixed evidence tree; returns what each file must give.
fn build_tree(root: &Path) -> BTreeMap<String, Expect> {
    let mut want = BTreeMap::new();
    let k1 = "AKIAAAAAAAAAAAAAAAA1";
    let k2 = "ASIABBBBBBBBBBBBBBB2";
    let recs = |n: usize, key: &str| -> Vec<Value> {
        (0..n).map(|i| record(&format!("Ev{i}"), key, &format!("2024-08-01T00:0{}:00Z", i % 10))).collect()
    };
    let mut add = |rel: String, bytes: Vec<u8>, exp: Expect| {
        put(root, &rel, &bytes);
        want.insert(root.join(&rel).to_string_lossy().into_owned(), exp);
    };

    add(ct_key("123456789012", "us-east-1", 0, "good"), gz(&envelope(&recs(3, k1))), e("cloudtrail", 3, 0, None));
    // Multi-member gzip: one envelope split across two members.
    let body = envelope(&recs(5, k2));
    let mut mm = gz(&body[..body.len() / 2]);
    mm.extend(gz(&body[body.len() / 2..]));
    add(ct_key("123456789012", "us-east-1", 1, "multimember"), mm, e("cloudtrail", 5, 0, None));
    // Truncated gzip: the complete records before the cut load, the rest is reported.
    let big: Vec<Value> = (0..400).map(|i| record(&format!("T{i}"), k1, "2024-08-01T00:10:00Z")).collect();
    let z = gz(&envelope(&big));
    let cut = z[..z.len() / 2].to_vec();
    let text = gunzip_prefix(&cut);
    let (complete, partial) = count_complete_records(&text);
    assert!(complete > 10 && complete < 400);
    add(
        ct_key("123456789012", "us-east-1", 2, "truncated"),
        cut,
        e("cloudtrail", complete, partial, Some("ends early")),
    );
    // Corrupt gzip (deflate data overwritten): nothing from it can be trusted.
    let mut bad = gz(&envelope(&recs(50, k1)));
    let n = bad.len();
    for b in &mut bad[n / 3..n / 3 + 40] {
        *b ^= 0x5a;
    }
    add(ct_key("123456789012", "us-east-1", 3, "corrupt"), bad, e("cloudtrail", 0, 0, Some("corrupt gzip")));
    add(
        ct_key("123456789012", "us-east-1", 4, "notgzip"),
        b"this is not gzip at all\n".to_vec(),
        e("cloudtrail", 0, 0, Some("not JSON")),
    );
    add(ct_key("123456789012", "us-east-1", 5, "plainjson"), envelope(&recs(2, k2)), e("cloudtrail", 2, 0, None));
    add(ct_key("123456789012", "us-east-1", 6, "empty"), Vec::new(), e("cloudtrail", 0, 0, Some("empty")));
    let mut invalid =
        br#"{"Records":[{"eventName":"ok1","userIdentity":{"accessKeyId":"AKIAAAAAAAAAAAAAAAA1"}},{"eventName": tru},"#
            .to_vec();
    invalid.extend_from_slice(br#"{"eventName":"ok2","userIdentity":{"accessKeyId":"AKIAAAAAAAAAAAAAAAA1"}}]}"#);
    add(ct_key("123456789012", "us-east-1", 7, "invalidjson"), gz(&invalid), e("cloudtrail", 2, 1, None));
    add(
        ct_key("123456789012", "us-east-1", 8, "notobject"),
        gz(br#"{"Records":[1,{"eventName":"ok"},null,"x"]}"#),
        e("cloudtrail", 1, 3, None),
    );
    let mut utf8 = br#"{"Records":[{"eventName":"good"},{"eventName":"bad"#.to_vec();
    utf8.extend_from_slice(&[0xc3, 0x28, 0xff]);
    utf8.extend_from_slice(br#""}]}"#);
    add(ct_key("123456789012", "us-east-1", 9, "badutf8"), gz(&utf8), e("cloudtrail", 1, 1, None));
    let depth = 100_000;
    let deep = format!(
        r#"{{"Records":[{{"eventName":"deep","requestParameters":{}{}}}]}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    add(ct_key("123456789012", "us-east-1", 10, "deep"), gz(deep.as_bytes()), e("cloudtrail", 1, 0, None));
    // A gzip bomb: 64 MiB of spaces in a few tens of KB; the test caps files at 8 MiB.
    let bomb = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..64 {
            std::io::Write::write_all(&mut enc, &chunk).unwrap();
        }
        enc.finish().unwrap()
    };
    add(ct_key("123456789012", "us-east-1", 11, "bomb"), bomb, e("cloudtrail", 0, 0, Some("gzip bomb")));
    add(
        "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/08/01/123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20240801T010000Z.json.gz".into(),
        gz(br#"{"awsAccountId":"123456789012","digestStartTime":"2024-08-01T00:00:00Z","logFiles":[]}"#),
        e("cloudtrail_digest", 0, 0, None),
    );
    add("notes/README.txt".into(), b"hand notes".to_vec(), e("unknown", 0, 0, None));
    add("loose/other.json".into(), br#"{"foo": 1}"#.to_vec(), e("unknown", 0, 0, None));
    add(
        "loose/lake-export.jsonl".into(),
        format!(
            "{}\n{}\n",
            json!(record("L1", k2, "2024-08-01T01:00:00Z")),
            json!(record("L2", k2, "2024-08-01T01:00:01Z"))
        )
        .into_bytes(),
        e("cloudtrail", 2, 0, None),
    );
    want
}

fn gunzip_prefix(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(data);
    let mut buf = [0u8; 4096];
    loop {
        match std::io::Read::read(&mut d, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Records whose closing brace made it into `text`, and whether a partial one follows. In
/// this fixture every record ends with its `userIdentity` object (serde_json sorts keys).
fn count_complete_records(text: &[u8]) -> (u64, u64) {
    let s = String::from_utf8_lossy(text);
    let marker = "\"type\":\"IAMUser\"}}";
    let complete = s.matches(marker).count() as u64;
    let tail = &s[s.rfind(marker).map(|i| i + marker.len()).unwrap_or(0)..];
    (complete, tail.contains('{') as u64)
}

#[test]
fn mixed_good_and_bad_evidence() {
    let ev = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let want = build_tree(ev.path());
    let before = snapshot(ev.path());

    let (code, _stdout, stderr) = run_text(&[
        "ingest",
        ev.path().to_str().unwrap(),
        "--out",
        store.to_str().unwrap(),
        "--max-file-size",
        "8388608",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(snapshot(ev.path()), before, "evidence must be unchanged");

    let manifest: Value = serde_json::from_slice(&std::fs::read(store.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), want.len());
    let (mut seen, mut loaded, mut rejected) = (0, 0, 0);
    for f in files {
        let path = f["path"].as_str().unwrap();
        let w = &want[path];
        assert_eq!(f["kind"], w.kind, "{path}");
        assert_eq!(f["records_loaded"], w.loaded, "{path}: {f}");
        assert_eq!(f["records_rejected"], w.rejected, "{path}: {f}");
        match w.error {
            None => assert!(f["error"].is_null(), "{path}: {f}"),
            Some(part) => {
                let msg = f["error"].as_str().unwrap_or_else(|| panic!("{path} must have an error: {f}"));
                assert!(msg.contains(part), "{path}: {msg:?} should mention {part:?}");
                assert!(stderr.contains(path), "stderr must name {path}:\n{stderr}");
            }
        }
        if w.rejected > 0 {
            assert!(stderr.contains(path), "stderr must name {path}");
        }
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(f["bytes"], bytes.len());
        assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(&bytes), "{path}");
        assert_eq!(f["records_seen"].as_u64().unwrap(), w.loaded + w.rejected);
        seen += w.loaded + w.rejected;
        loaded += w.loaded;
        rejected += w.rejected;
    }
    let t = &manifest["totals"];
    assert_eq!(
        (t["records_seen"].as_u64(), t["records_loaded"].as_u64(), t["records_rejected"].as_u64()),
        (Some(seen), Some(loaded), Some(rejected))
    );
    assert_eq!(manifest["tables"]["cloudtrail"]["rows"], loaded);

    // errors.jsonl names every file-level error and every rejected record.
    let errors = jsonl(&std::fs::read_to_string(store.join("errors.jsonl")).unwrap());
    let n_file_errors = want.values().filter(|w| w.error.is_some()).count() as u64;
    assert_eq!(errors.len() as u64, n_file_errors + rejected);

    // The store answers the same counts, per file and per key.
    let (code, out_text, err) = run_text(&[
        "query",
        store.to_str().unwrap(),
        "--format",
        "jsonl",
        "--sql",
        "SELECT evidence_path, count(*) AS n FROM cloudtrail GROUP BY evidence_path ORDER BY evidence_path",
    ]);
    assert_eq!(code, 0, "{err}");
    let per_file: BTreeMap<String, u64> = jsonl(&out_text)
        .iter()
        .map(|r| (r["evidence_path"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap()))
        .collect();
    let expected: BTreeMap<String, u64> =
        want.iter().filter(|(_, w)| w.loaded > 0).map(|(p, w)| (p.clone(), w.loaded)).collect();
    assert_eq!(per_file, expected);
}

fn sha256_hex(bytes: &[u8]) -> String {
    // Independent of the code under test: the system's sha256sum.
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum is installed");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn store_is_deterministic_and_guarded() {
    let ev = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 3_000, files_per_region: 6, ..Default::default() };
    let answers = trailsift_gen::generate(ev.path(), &opts).unwrap();
    let out = tempfile::tempdir().unwrap();
    let s1 = out.path().join("s1");
    let s2 = out.path().join("s2");
    let evp = ev.path().to_str().unwrap();
    let (code, _, err) = run_text(&["ingest", evp, "--out", s1.to_str().unwrap(), "--threads", "2"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_text(&["ingest", evp, "--out", s2.to_str().unwrap(), "--threads", "1"]);
    assert_eq!(code, 0, "{err}");
    let a = snapshot(&s1);
    let b = snapshot(&s2);
    let strip = |m: &BTreeMap<std::path::PathBuf, Vec<u8>>, root: &Path| -> BTreeMap<String, Vec<u8>> {
        m.iter().map(|(k, v)| (k.strip_prefix(root).unwrap().to_string_lossy().into_owned(), v.clone())).collect()
    };
    assert_eq!(strip(&a, &s1), strip(&b, &s2), "two runs must give the same store");
    assert!(a.keys().any(|p| {
        p.to_string_lossy()
            .contains("cloudtrail/account=123456789012/region=us-east-1/date=2024-07-31/part-00000.parquet")
    }));

    // An existing store is not replaced without --clobber; with it, it is.
    let (code, _, err) = run_text(&["ingest", evp, "--out", s1.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("--clobber"), "{err}");
    let (code, _, err) = run_text(&["ingest", evp, "--out", s1.to_str().unwrap(), "-C"]);
    assert_eq!(code, 0, "{err}");

    // Never inside the evidence.
    let inside = ev.path().join("AWSLogs/store");
    let (code, _, err) = run_text(&["ingest", evp, "--out", inside.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("inside the evidence"), "{err}");
    assert!(!inside.exists());

    // Per-key counts from the store equal the generator's answers.
    let (code, text, err) = run_text(&[
        "query",
        s1.to_str().unwrap(),
        "--sql",
        "SELECT useridentity.accesskeyid AS k, count(*) AS n FROM cloudtrail WHERE useridentity.accesskeyid IS NOT NULL GROUP BY 1",
    ]);
    assert_eq!(code, 0, "{err}");
    let got: BTreeMap<String, u64> =
        jsonl(&text).iter().map(|r| (r["k"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap())).collect();
    assert_eq!(got, answers.records_by_key);
}

#[test]
fn strict_stops_at_first_problem() {
    let ev = tempfile::tempdir().unwrap();
    put(
        ev.path(),
        &ct_key("123456789012", "us-east-1", 0, "good"),
        &gz(&envelope(&[record("A", "AKIAX", "2024-08-01T00:00:00Z")])),
    );
    put(ev.path(), &ct_key("123456789012", "us-east-1", 1, "bad"), b"garbage");
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("s");
    let (code, _, err) =
        run_text(&["ingest", ev.path().to_str().unwrap(), "--out", store.to_str().unwrap(), "--strict"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("bad.json.gz") && err.contains("--strict"), "{err}");
    assert!(!store.exists(), "a failed strict run leaves no partial store");
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_unless_asked_and_loops_are_caught() {
    let ev = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    put(
        ev.path(),
        &ct_key("123456789012", "us-east-1", 0, "in"),
        &gz(&envelope(&[record("A", "AKIAX", "2024-08-01T00:00:00Z")])),
    );
    put(
        other.path(),
        &ct_key("123456789012", "us-east-1", 1, "out"),
        &gz(&envelope(&[record("B", "AKIAX", "2024-08-01T00:00:00Z")])),
    );
    std::os::unix::fs::symlink(other.path(), ev.path().join("linked")).unwrap();
    std::os::unix::fs::symlink(ev.path(), ev.path().join("AWSLogs/loop")).unwrap();
    let count = |extra: &[&str]| -> (i32, u64, String) {
        let mut args = vec!["query", ev.path().to_str().unwrap(), "--sql", "SELECT count(*) AS n FROM cloudtrail"];
        args.extend_from_slice(extra);
        let (code, text, err) = run_text(&args);
        (code, jsonl(&text).first().map(|r| r["n"].as_u64().unwrap()).unwrap_or(0), err)
    };
    let (code, n, err) = count(&[]);
    assert_eq!((code, n), (0, 1), "{err}");
    let (code, n, err) = count(&["--follow-symlinks"]);
    assert_eq!(n, 2, "{err}");
    assert_eq!(code, 2, "the loop is reported");
    assert!(err.contains("symlink loop"), "{err}");
}
