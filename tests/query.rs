//! `trailsift query`: the same answers from raw evidence and from the store made from it,
//! checked against an independent reading of the generated files with serde_json.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;

/// Every generated record, read with serde_json, with its file path and index.
fn oracle(root: &Path, answers: &trailsift_gen::Answers) -> Vec<(String, u64, Value)> {
    let mut out = Vec::new();
    for f in &answers.files {
        let path = root.join(&f.path);
        let doc: Value = serde_json::from_slice(&gunzip(&std::fs::read(&path).unwrap())).unwrap();
        for (i, r) in doc["Records"].as_array().unwrap().iter().enumerate() {
            out.push((path.to_string_lossy().into_owned(), i as u64, r.clone()));
        }
    }
    out
}

fn query(path: &Path, sql: &str) -> Vec<Value> {
    let (code, text, err) = run_text(&["query", path.to_str().unwrap(), "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{sql}\n{err}");
    jsonl(&text)
}

/// One CloudTrail file with records A (key AKIAX) and B (key ASIAY).
fn two_records(root: &Path) {
    put(
        root,
        &ct_key("123456789012", "us-east-1", 0, "a"),
        &gz(&envelope(&[record("A", "AKIAX", "2024-08-01T00:00:00Z"), record("B", "ASIAY", "2024-08-01T00:00:01Z")])),
    );
}

fn sorted(mut rows: Vec<Value>) -> Vec<String> {
    let mut v: Vec<String> = rows.drain(..).map(|r| r.to_string()).collect();
    v.sort();
    v
}

#[test]
fn raw_and_store_agree_with_the_oracle() {
    let ev = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 4_000, files_per_region: 8, accounts: 2, ..Default::default() };
    let answers = trailsift_gen::generate(ev.path(), &opts).unwrap();
    let records = oracle(ev.path(), &answers);
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let (code, _, err) = run_text(&["ingest", ev.path().to_str().unwrap(), "--out", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    let key = answers.records_by_key.iter().max_by_key(|(_, n)| **n).unwrap().0.clone();
    let role_arn = "arn:aws:iam::123456789012:role/AdminRole";
    let queries = [
        "SELECT count(*) AS n FROM cloudtrail".to_string(),
        "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY eventname".to_string(),
        format!("SELECT evidence_path, evidence_index, eventid, eventtime, event_ts FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'"),
        format!("SELECT count(*) AS n FROM cloudtrail WHERE useridentity.sessioncontext.sessionissuer.arn = '{role_arn}'"),
        "SELECT errorcode, count(*) AS n, count(DISTINCT sourceipaddress) AS ips FROM cloudtrail WHERE errorcode IS NOT NULL GROUP BY 1".to_string(),
        "SELECT path_account, path_region, path_date, count(*) AS n FROM cloudtrail GROUP BY 1, 2, 3".to_string(),
        "SELECT count(*) AS n FROM cloudtrail WHERE event_ts >= TIMESTAMP '2024-07-31T00:20:00Z' AND event_ts < TIMESTAMP '2024-07-31T00:30:00Z'".to_string(),
        "SELECT resources[1]['arn'] AS a FROM cloudtrail WHERE eventname = 'GetObject' AND resources IS NOT NULL ORDER BY evidence_path, evidence_index LIMIT 20".to_string(),
        "SELECT json_extract_scalar(requestparameters, '$.bucketName') AS b, count(*) AS n FROM cloudtrail GROUP BY 1".to_string(),
        "SELECT access_key_type(useridentity.accesskeyid) AS t, access_key_account(useridentity.accesskeyid) AS a, count(*) AS n FROM cloudtrail GROUP BY 1, 2".to_string(),
        "SELECT count(*) AS n FROM cloudtrail WHERE from_iso8601_timestamp(eventtime) = event_ts AND to_unixtime(event_ts) > 0".to_string(),
        // Trino's field access after a subscript, as Athena queries write it.
        "SELECT resources[1].arn AS a FROM cloudtrail WHERE eventname = 'GetObject' AND resources IS NOT NULL ORDER BY evidence_path, evidence_index LIMIT 20".to_string(),
        // Only some fields of a struct are built on raw evidence (the store has them all).
        "SELECT useridentity.type AS t, useridentity.sessioncontext.sessionissuer.username AS u, count(*) AS n FROM cloudtrail GROUP BY 1, 2".to_string(),
        format!("SELECT useridentity.arn AS arn, tlsdetails.tlsversion AS v, useridentity AS whole FROM cloudtrail WHERE useridentity.accesskeyid = '{key}'"),
    ];
    for q in &queries {
        let raw = sorted(query(ev.path(), q));
        let st = sorted(query(&store, q));
        assert_eq!(raw, st, "raw and store differ for {q}");
    }

    // Independent answers.
    let total = query(&store, &queries[0]);
    assert_eq!(total[0]["n"], answers.total_records);
    let by_event: BTreeMap<String, u64> = query(ev.path(), &queries[1])
        .iter()
        .map(|r| (r["eventname"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_event, answers.records_by_event);

    let mut want_key: Vec<(String, u64, String)> = records
        .iter()
        .filter(|(_, _, r)| r["userIdentity"]["accessKeyId"] == key.as_str())
        .map(|(p, i, r)| (p.clone(), *i, r["eventID"].as_str().unwrap().to_string()))
        .collect();
    want_key.sort();
    let mut got_key: Vec<(String, u64, String)> = query(ev.path(), &queries[2])
        .iter()
        .map(|r| {
            assert_eq!(r["eventtime"], r["event_ts"], "event_ts prints as RFC 3339 UTC like eventtime");
            (
                r["evidence_path"].as_str().unwrap().to_string(),
                r["evidence_index"].as_u64().unwrap(),
                r["eventid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got_key.sort();
    assert_eq!(got_key, want_key);

    let want_role = records
        .iter()
        .filter(|(_, _, r)| r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role_arn)
        .count();
    assert_eq!(query(ev.path(), &queries[3])[0]["n"], want_role);

    let want_window = records
        .iter()
        .filter(|(_, _, r)| {
            let t = r["eventTime"].as_str().unwrap();
            ("2024-07-31T00:20:00Z".."2024-07-31T00:30:00Z").contains(&t)
        })
        .count();
    assert_eq!(query(&store, &queries[6])[0]["n"], want_window);

    let mut want_buckets: BTreeMap<String, u64> = BTreeMap::new();
    for (_, _, r) in &records {
        let b = match &r["requestParameters"]["bucketName"] {
            Value::String(s) => s.clone(),
            _ => "null".to_string(),
        };
        *want_buckets.entry(b).or_default() += 1;
    }
    let got_buckets: BTreeMap<String, u64> = query(&store, &queries[8])
        .iter()
        .map(|r| (r["b"].as_str().unwrap_or("null").to_string(), r["n"].as_u64().unwrap()))
        .collect();
    assert_eq!(got_buckets, want_buckets);
    assert_eq!(query(ev.path(), &queries[11]), query(ev.path(), &queries[7]));
    assert!(!query(ev.path(), &queries[11]).is_empty());
    let with_ts = records.iter().filter(|(_, _, r)| r["eventTime"].is_string()).count();
    assert_eq!(query(ev.path(), &queries[10])[0]["n"], with_ts);
    for r in query(&store, &queries[9]) {
        match r["t"].as_str() {
            Some("long-term" | "temporary") => {
                let a = r["a"].as_str().expect("generated keys decode to their account");
                assert!(a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()), "{a}");
            }
            None => assert!(r["a"].is_null()),
            Some(other) => panic!("unexpected key type {other}"),
        }
    }
}

#[test]
fn query_errors_are_clear() {
    let ev = tempfile::tempdir().unwrap();
    put(
        ev.path(),
        &ct_key("123456789012", "us-east-1", 0, "a"),
        &gz(&envelope(&[record("A", "AKIAX", "2024-08-01T00:00:00Z")])),
    );
    let p = ev.path().to_str().unwrap();
    let (code, _, err) = run_text(&["query", p, "--sql", "SELECT nosuchcolumn FROM cloudtrail"]);
    assert_eq!(code, 1);
    assert!(err.contains("nosuchcolumn"), "{err}");
    let (code, _, err) = run_text(&["query", p, "--sql", "SELEC 1"]);
    assert_eq!(code, 1);
    assert!(err.contains("error"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn formats_csv_json_parquet() {
    let ev = tempfile::tempdir().unwrap();
    two_records(ev.path());
    let p = ev.path().to_str().unwrap();
    let sql = "SELECT eventname, event_ts, errorcode FROM cloudtrail ORDER BY eventname";
    let (code, text, _) = run_text(&["query", p, "--format", "json", "--sql", sql]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"eventname": "A", "event_ts": "2024-08-01T00:00:00Z", "errorcode": null},
            {"eventname": "B", "event_ts": "2024-08-01T00:00:01Z", "errorcode": null}
        ])
    );
    let (code, text, _) = run_text(&["query", p, "--format", "csv", "--sql", sql]);
    assert_eq!(code, 0);
    assert_eq!(text, "eventname,event_ts,errorcode\nA,2024-08-01T00:00:00Z,\nB,2024-08-01T00:00:01Z,\n");
    let out = tempfile::tempdir().unwrap();
    let pq = out.path().join("r.parquet");
    let (code, _, err) = run_text(&["query", p, "--format", "parquet", "-o", pq.to_str().unwrap(), "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&pq).unwrap())
            .unwrap()
            .build()
            .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    assert_eq!(batches[0].schema().field(0).name(), "eventname");
    let (code, _, err) = run_text(&["query", p, "--format", "parquet", "-o", pq.to_str().unwrap(), "--sql", sql]);
    assert_eq!(code, 1, "existing output is not overwritten without --clobber: {err}");
}

/// A CloudTrail S3 key for `day` (YYYY/MM/DD) and hour.
fn day_key(day: &str, hour: u32, tag: &str) -> String {
    let compact = day.replace('/', "");
    format!(
        "AWSLogs/123456789012/CloudTrail/us-east-1/{day}/123456789012_CloudTrail_us-east-1_{compact}T{hour:02}00Z_{tag}.json.gz"
    )
}

/// Counters from the `[+] … scanned` status line of a query.
fn scan_line(err: &str) -> (u64, u64, u64, u64, u64, u64) {
    let line = err.lines().find(|l| l.contains("scanned")).unwrap_or_else(|| panic!("no scan line in:\n{err}"));
    let nums: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    // rows, opened-and-parsed, considered, pruned, skipped, parsed, built
    assert_eq!(nums.len(), 7, "{line}");
    (nums[1], nums[2], nums[3], nums[4], nums[5], nums[6])
}

/// r3: pushdown is real — a key filter parses only the files that hold the key, and a time
/// filter opens no file outside the range; the answers stay exact.
#[test]
fn r3_pushdown_skips_files_and_keeps_answers() {
    let ev = tempfile::tempdir().unwrap();
    let days = ["2024/08/01", "2024/08/05", "2024/08/09"];
    let mut with_key = 0;
    let mut key_rows = 0;
    for (d, day) in days.iter().enumerate() {
        for hour in 0..4u32 {
            let iso = format!("{}T{:02}", day.replace('/', "-"), hour);
            let mut recs: Vec<Value> =
                (0..5).map(|i| record("ListBuckets", "AKIAOTHER", &format!("{iso}:0{i}:00Z"))).collect();
            if hour == 1 {
                recs.push(record("GetObject", "AKIATARGET", &format!("{iso}:30:00Z")));
                recs.push(record("PutObject", "AKIATARGET", &format!("{iso}:31:00Z")));
                with_key += 1;
                key_rows += 2;
            }
            // The key appears in another field only: the file is parsed, the record not built.
            if hour == 2 && d == 0 {
                let mut r = record("GetObject", "AKIAOTHER", &format!("{iso}:40:00Z"));
                r["requestParameters"] = serde_json::json!({"note": "AKIATARGET"});
                recs.push(r);
            }
            put(ev.path(), &day_key(day, hour + 1, &format!("{d}{hour}")), &gz(&envelope(&recs)));
        }
    }
    // The key spelled with a JSON escape: its bytes lack the literal, the file must be read.
    let escaped = br#"{"Records":[{"eventVersion":"1.09","eventTime":"2024-08-09T10:00:00Z","eventName":"GetObject","userIdentity":{"accessKeyId":"\u0041KIATARGET"},"eventID":"esc"}]}"#;
    put(ev.path(), &day_key("2024/08/09", 11, "esc"), &gz(escaped));
    let p = ev.path().to_str().unwrap();

    let sql = "SELECT eventid FROM cloudtrail WHERE useridentity.accesskeyid = 'AKIATARGET' ORDER BY eventid";
    let (code, text, err) = run_text(&["query", p, "--format", "jsonl", "--threads", "2", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(&text);
    assert_eq!(rows.len(), key_rows + 1, "{text}");
    assert!(rows.iter().any(|r| r["eventid"] == "esc"));
    let (parsed_files, considered, pruned, skipped, parsed, built) = scan_line(&err);
    assert_eq!(considered, 13);
    assert_eq!(pruned, 0);
    // Files with the key, the one with the key elsewhere, and the escaped one are parsed.
    assert_eq!(parsed_files, with_key + 2, "{err}");
    assert_eq!(skipped, 13 - parsed_files, "{err}");
    assert_eq!(built, key_rows as u64 + 1, "only matching records are built: {err}");
    assert!(parsed > built);

    // IN lists and OR of literal filters prune too, and stay exact.
    let sql = "SELECT count(*) AS n FROM cloudtrail WHERE eventname IN ('PutObject', 'NoSuchCall') OR sourceipaddress = '203.0.113.250'";
    let (code, text, err) = run_text(&["query", p, "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(jsonl(&text)[0]["n"], 3);
    assert_eq!(scan_line(&err).0, 3, "only the files holding PutObject are parsed: {err}");

    // A time range opens only files delivered in or within a day after it.
    let sql = "SELECT count(*) AS n FROM cloudtrail WHERE event_ts >= TIMESTAMP '2024-08-05T00:00:00Z' AND event_ts < TIMESTAMP '2024-08-06T00:00:00Z'";
    let (code, text, err) = run_text(&["query", p, "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(jsonl(&text)[0]["n"], 4 * 5 + 2);
    let (parsed_files, considered, pruned, _, _, _) = scan_line(&err);
    assert_eq!((considered, pruned, parsed_files), (13, 9, 4), "{err}");
    // The same with eventtime strings, as Athena queries write it.
    let sql = "SELECT count(*) AS n FROM cloudtrail WHERE eventtime BETWEEN '2024-08-05T00:00:00Z' AND '2024-08-05T23:59:59Z'";
    let (code, text, err) = run_text(&["query", p, "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(jsonl(&text)[0]["n"], 4 * 5 + 2);
    assert_eq!(scan_line(&err).2, 9, "{err}");
    // Region and account filters prune by path.
    let sql = "SELECT count(*) AS n FROM cloudtrail WHERE awsregion = 'eu-west-1'";
    let (_, text, err) = run_text(&["query", p, "--format", "jsonl", "--sql", sql]);
    assert_eq!(jsonl(&text)[0]["n"], 0);
    assert_eq!(scan_line(&err).2, 13, "{err}");
}

/// r3: Athena's table and schema names resolve, so pasted playbook queries run unchanged.
#[test]
fn r3_athena_names_resolve() {
    let ev = tempfile::tempdir().unwrap();
    two_records(ev.path());
    let p = ev.path().to_str().unwrap();
    for table in ["cloudtrail", "default.cloudtrail", "cloudtrail_logs", "awsdatacatalog.default.cloudtrail_logs"] {
        let sql = format!("SELECT count(*) AS n FROM {table}");
        let (code, text, err) = run_text(&["query", p, "--format", "jsonl", "--sql", &sql]);
        assert_eq!(code, 0, "{sql}: {err}");
        assert_eq!(jsonl(&text)[0]["n"], 2, "{sql}");
    }
}

/// r3: the shell reads statements (multi-line, `;`-terminated) and `\d` from stdin.
#[test]
fn r3_shell_runs_statements_from_stdin() {
    use std::io::Write;
    let ev = tempfile::tempdir().unwrap();
    two_records(ev.path());
    let hist = ev.path().join("history");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_trailsift"))
        .args(["shell", ev.path().join("AWSLogs").to_str().unwrap(), "--history", hist.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\\d\n\\d cloudtrail\nSELECT eventname\n  FROM cloudtrail\n  ORDER BY eventname;\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("cloudtrail_logs"), "\\d lists the tables: {stdout}");
    assert!(stdout.contains("useridentity") && stdout.contains("evidence_index"), "\\d cloudtrail: {stdout}");
    let a = stdout.find("| A ").expect("row A");
    let b = stdout.find("| B ").expect("row B");
    assert!(a < b, "{stdout}");
}

/// Athena's Trino forms (`CROSS JOIN UNNEST`, `if`, `try`, `regexp_extract`, `max_by`, …) and
/// Trino's result column names give the oracle's answers, from raw evidence and from the store.
#[test]
fn trino_forms_agree_with_the_oracle() {
    let ev = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 2_000, files_per_region: 4, accounts: 2, ..Default::default() };
    let answers = trailsift_gen::generate(ev.path(), &opts).unwrap();
    let records: Vec<Value> = oracle(ev.path(), &answers).into_iter().map(|(_, _, r)| r).collect();
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let (code, _, err) = run_text(&["ingest", ev.path().to_str().unwrap(), "--out", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Both sources give the same rows; the answer is read from the raw evidence.
    let both = |sql: &str| {
        let raw = query(ev.path(), sql);
        assert_eq!(sorted(raw.clone()), sorted(query(&store, sql)), "raw and store differ for {sql}");
        raw
    };
    let counts = |rows: &[Value], key: &str, n: &str| -> BTreeMap<String, u64> {
        rows.iter().map(|r| (r[key].as_str().unwrap_or("null").to_string(), r[n].as_u64().unwrap())).collect()
    };
    let str_of = |v: &Value| v.as_str().unwrap_or("null").to_string();

    // UNNEST of an array of rows: one name is the whole row, several are its fields.
    let mut want_arns: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_types: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        for res in r["resources"].as_array().into_iter().flatten() {
            *want_arns.entry(str_of(&res["ARN"])).or_default() += 1;
            *want_types.entry(str_of(&res["type"])).or_default() += 1;
        }
    }
    assert!(want_arns.values().sum::<u64>() > 0, "the corpus has resources");
    let rows =
        both("SELECT t.r.arn AS arn, count(*) AS n FROM cloudtrail CROSS JOIN UNNEST(resources) AS t(r) GROUP BY 1");
    assert_eq!(counts(&rows, "arn", "n"), want_arns);
    let rows = both(
        "SELECT type, count(*) AS n FROM cloudtrail c, UNNEST(c.resources) AS u(arn, accountid, type) GROUP BY type",
    );
    assert_eq!(counts(&rows, "type", "n"), want_types);

    // WITH ORDINALITY: each element's position, from 1, with the element or its fields.
    let mut want_positions: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_position_types: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        for (i, res) in r["resources"].as_array().into_iter().flatten().enumerate() {
            *want_positions.entry((i + 1).to_string()).or_default() += 1;
            *want_position_types.entry(format!("{} {}", i + 1, str_of(&res["type"]))).or_default() += 1;
        }
    }
    assert!(want_positions.len() > 1, "the corpus has records with several resources");
    let rows = both(
        "SELECT CAST(t.n AS VARCHAR) AS n, count(*) AS c FROM cloudtrail CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n) GROUP BY 1",
    );
    assert_eq!(counts(&rows, "n", "c"), want_positions);
    let rows = both(
        "SELECT CAST(n AS VARCHAR) || ' ' || coalesce(type, 'null') AS k, count(*) AS c FROM cloudtrail CROSS JOIN UNNEST(resources) WITH ORDINALITY AS u(arn, accountid, type, n) GROUP BY 1",
    );
    assert_eq!(counts(&rows, "k", "c"), want_position_types);

    // LEFT JOIN UNNEST … ON TRUE: a record without resources (NULL or empty) is kept once,
    // with NULLs.
    let mut want_left_types = want_types.clone();
    let without = records.iter().filter(|r| r["resources"].as_array().is_none_or(|a| a.is_empty())).count();
    assert!(without > 0, "the corpus has records without resources");
    *want_left_types.entry("null".into()).or_default() += without as u64;
    let rows = both(
        "SELECT type, count(*) AS n FROM cloudtrail LEFT JOIN UNNEST(resources) AS u(arn, accountid, type) ON TRUE GROUP BY type",
    );
    assert_eq!(counts(&rows, "type", "n"), want_left_types);
    let rows = both(
        "SELECT CAST(t.n AS VARCHAR) AS n, count(*) AS c FROM cloudtrail LEFT JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n) ON TRUE GROUP BY 1",
    );
    let mut want_left_positions = want_positions.clone();
    *want_left_positions.entry("null".into()).or_default() += without as u64;
    assert_eq!(counts(&rows, "n", "c"), want_left_positions);

    // Result names: a struct field by its name, an unaliased expression by its position.
    let mut want_by_arn: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        *want_by_arn.entry(str_of(&r["userIdentity"]["arn"])).or_default() += 1;
    }
    let rows = both("SELECT useridentity.arn, count(*) FROM cloudtrail GROUP BY 1");
    let sql = "SELECT useridentity.arn, count(*) FROM cloudtrail GROUP BY 1 LIMIT 1";
    let (code, text, err) = run_text(&["query", ev.path().to_str().unwrap(), "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{err}");
    assert!(text.starts_with("{\"arn\":") && text.contains(",\"_col1\":"), "{text}");
    assert_eq!(counts(&rows, "arn", "_col1"), want_by_arn);

    // regexp_extract with a group, if, and a regexp_replace that replaces every match.
    let mut want_users: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_outcome: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        let user = r["userIdentity"]["arn"].as_str().and_then(|a| a.split_once(":user/")).map(|(_, u)| u.to_string());
        *want_users.entry(user.unwrap_or_else(|| "null".into())).or_default() += 1;
        let outcome = if r["errorCode"].is_string() { "failed" } else { "ok" };
        *want_outcome.entry(outcome.into()).or_default() += 1;
    }
    let rows = both(
        "SELECT regexp_extract(useridentity.arn, ':user/(.+)$', 1) AS u, count(*) AS n FROM cloudtrail GROUP BY 1",
    );
    assert_eq!(counts(&rows, "u", "n"), want_users);
    let rows = both("SELECT if(errorcode IS NULL, 'ok', 'failed') AS s, count(*) AS n FROM cloudtrail GROUP BY 1");
    assert_eq!(counts(&rows, "s", "n"), want_outcome);
    let rows = both(
        "SELECT count(*) AS n FROM cloudtrail WHERE regexp_replace(eventtime, '[0-9]', 'd') = 'dddd-dd-ddTdd:dd:ddZ' \
         AND try(CAST(substr(eventtime, 1, 4) AS integer)) > 2000 AND try(CAST(eventname AS integer)) IS NULL",
    );
    assert_eq!(rows[0]["n"], records.len());

    // max_by: the last event of each key (eventtime, then eventID, orders them uniquely).
    let mut want_last: BTreeMap<String, (String, String)> = BTreeMap::new();
    for r in &records {
        let Some(k) = r["userIdentity"]["accessKeyId"].as_str() else { continue };
        let at = format!("{}{}", r["eventTime"].as_str().unwrap(), r["eventID"].as_str().unwrap());
        let e = want_last.entry(k.to_string()).or_insert_with(|| (at.clone(), str_of(&r["eventID"])));
        if at > e.0 {
            *e = (at, str_of(&r["eventID"]));
        }
    }
    let rows = both(
        "SELECT useridentity.accesskeyid AS k, max_by(eventid, eventtime || eventid) AS last FROM cloudtrail \
         WHERE useridentity.accesskeyid IS NOT NULL GROUP BY 1",
    );
    let got: BTreeMap<String, String> = rows.iter().map(|r| (str_of(&r["k"]), str_of(&r["last"]))).collect();
    let want: BTreeMap<String, String> = want_last.into_iter().map(|(k, (_, id))| (k, id)).collect();
    assert_eq!(got, want);

    // A zoned timestamp prints as the same instant in UTC; NULLs sort last either way.
    for r in
        both("SELECT event_ts AT TIME ZONE 'America/New_York' AS x, eventtime FROM cloudtrail ORDER BY eventid LIMIT 5")
    {
        assert_eq!(r["x"], r["eventtime"]);
    }
    let max_error = records.iter().filter_map(|r| r["errorCode"].as_str()).max().expect("the corpus has errors");
    let rows = both("SELECT errorcode FROM cloudtrail ORDER BY errorcode DESC LIMIT 1");
    assert_eq!(rows[0]["errorcode"], max_error);

    // Lambdas: any_match, all_match and none_match keep Trino's three values (a NULL
    // predicate with no match is NULL, which WHERE drops), transform and filter map and keep
    // elements, and a lambda reads a column of its row (recipientaccountid).
    let common = want_types.iter().filter(|(t, _)| *t != "null").max_by_key(|(_, n)| **n).unwrap().0.clone();
    let types = |r: &Value| -> Option<Vec<Option<String>>> {
        r["resources"].as_array().map(|a| a.iter().map(|x| x["type"].as_str().map(str::to_string)).collect())
    };
    let count = |f: &dyn Fn(&Value) -> bool| records.iter().filter(|r| f(r)).count() as u64;
    let any = count(&|r| types(r).is_some_and(|t| t.iter().any(|x| x.as_deref() == Some(common.as_str()))));
    let all = count(&|r| types(r).is_some_and(|t| t.iter().all(|x| x.as_deref() == Some(common.as_str()))));
    let none = count(&|r| types(r).is_some_and(|t| t.iter().all(|x| x.is_some() && x.as_deref() != Some(&common))));
    assert!(any > 0 && all > 0 && none > 0, "the corpus tests each of them: {any} {all} {none}");
    for (f, want) in [("any_match", any), ("all_match", all), ("none_match", none)] {
        let rows =
            both(&format!("SELECT count(*) AS n FROM cloudtrail WHERE {f}(resources, r -> r.type = '{common}')"));
        assert_eq!(rows[0]["n"], want, "{f}");
    }
    let s3 = records
        .iter()
        .flat_map(|r| r["resources"].as_array().into_iter().flatten())
        .filter(|x| x["ARN"].as_str().is_some_and(|a| a.to_ascii_lowercase().starts_with("arn:aws:s3")))
        .count();
    assert!(s3 > 0, "the corpus has S3 resources");
    let rows = both(
        "SELECT sum(cardinality(filter(transform(resources, r -> lower(r.arn)), a -> a LIKE 'arn:aws:s3%'))) AS n FROM cloudtrail",
    );
    assert_eq!(rows[0]["n"], s3);
    let own = count(&|r| {
        r["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["accountId"] == r["recipientAccountId"] && x["accountId"].is_string())
    });
    assert!(own > 0, "the corpus has resources of the recipient account");
    let rows = both(
        "SELECT count(*) AS n FROM cloudtrail WHERE any_match(resources, (r) -> r.accountid = recipientaccountid)",
    );
    assert_eq!(rows[0]["n"], own);

    // CAST(json AS ARRAY(JSON)), then UNNEST of it: the EC2 instances a request named.
    let mut want_instances: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        for item in r["requestParameters"]["instancesSet"]["items"].as_array().into_iter().flatten() {
            *want_instances.entry(str_of(&item["instanceId"])).or_default() += 1;
        }
    }
    assert!(want_instances.values().sum::<u64>() > 1, "the corpus names instances");
    let rows = both(
        "SELECT json_extract_scalar(i, '$.instanceId') AS id, count(*) AS n FROM cloudtrail \
         CROSS JOIN UNNEST(CAST(json_extract(requestparameters, '$.instancesSet.items') AS ARRAY(JSON))) AS t(i) GROUP BY 1",
    );
    assert_eq!(counts(&rows, "id", "n"), want_instances);

    // CAST(json AS MAP(VARCHAR, JSON)), indexed: the records that name a bucket.
    let buckets = count(&|r| r["requestParameters"]["bucketName"].is_string());
    assert!(buckets > 0, "the corpus names buckets");
    let rows = both(
        "SELECT count(*) AS n FROM cloudtrail \
         WHERE element_at(CAST(requestparameters AS MAP(VARCHAR, JSON)), 'bucketName') LIKE '\"%\"'",
    );
    assert_eq!(rows[0]["n"], buckets);
}
