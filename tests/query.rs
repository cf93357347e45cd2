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
    put(
        ev.path(),
        &ct_key("123456789012", "us-east-1", 0, "a"),
        &gz(&envelope(&[record("A", "AKIAX", "2024-08-01T00:00:00Z"), record("B", "AKIAY", "2024-08-01T00:00:01Z")])),
    );
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
