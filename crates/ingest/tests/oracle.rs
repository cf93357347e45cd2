//! The parser against an independent oracle: serde_json reads the same bytes, and every
//! column of every row must equal what the Athena mapping says it should hold.

mod common;

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, TimestampMicrosecondArray};
use serde_json::{Map, Value, json};
use trailsift_ingest::builder::BatchBuilder;
use trailsift_ingest::parse::ParseOutcome;
use trailsift_ingest::prefilter::{Prefilter, Term};
use trailsift_ingest::schema::{self, Kind, Leaves, Projection, RECORD_FIELDS, Spec};

fn parse_bytes(bytes: &[u8], projection: Projection) -> (Vec<RecordBatch>, ParseOutcome) {
    parse_filtered(bytes, projection, None)
}

fn parse_filtered(
    bytes: &[u8],
    projection: Projection,
    prefilter: Option<&Prefilter>,
) -> (Vec<RecordBatch>, ParseOutcome) {
    common::parse_with(bytes, BatchBuilder::new(projection), 7, prefilter)
}

/// Rows as JSON objects, through arrow's own JSON writer (explicit nulls).
fn rows_as_json(batches: &[RecordBatch]) -> Vec<Map<String, Value>> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::LineDelimited>(&mut buf);
        for b in batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap();
    }
    String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| match serde_json::from_str::<Value>(l).unwrap() {
            Value::Object(m) => m,
            _ => panic!("row is not an object"),
        })
        .collect()
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// What the column for `spec` must hold for the source value `v`.
fn expected(spec: &Spec, v: Option<&Value>) -> Value {
    match (spec.kind, v) {
        (_, None | Some(Value::Null)) => Value::Null,
        (Kind::Str, Some(Value::String(s))) => Value::String(s.clone()),
        (Kind::Str, Some(Value::Bool(b))) => Value::String(b.to_string()),
        (Kind::Str, Some(Value::Number(n))) => Value::String(n.to_string()),
        (Kind::Str | Kind::Json, Some(other)) => json!({ "$json": other }),
        (Kind::Struct(children), Some(Value::Object(o))) => {
            Value::Object(children.iter().map(|c| (c.name.to_string(), expected(c, get(o, c.key)))).collect())
        }
        (Kind::ListOfStruct(children), Some(Value::Array(items))) => Value::Array(
            items
                .iter()
                .map(|it| match it {
                    Value::Object(o) => Value::Object(
                        children.iter().map(|c| (c.name.to_string(), expected(c, get(o, c.key)))).collect(),
                    ),
                    _ => Value::Null,
                })
                .collect(),
        ),
        (Kind::Struct(_) | Kind::ListOfStruct(_), Some(_)) => Value::Null,
    }
}

/// Compares, reading `{"$json": v}` as "a string holding JSON equal to v".
fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::String(s)) if e.len() == 1 && e.contains_key("$json") => {
            serde_json::from_str::<Value>(s).map(|p| p == e["$json"]).unwrap_or(false)
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len() && e.iter().all(|(k, v)| a.get(k).is_some_and(|x| same(v, x)))
        }
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(x, y)| same(x, y)),
        _ => expected == actual,
    }
}

fn check_records(records: &[Value]) {
    let text = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    let (batches, outcome) = parse_bytes(&text, Projection::all());
    assert_eq!(outcome.seen, records.len() as u64);
    assert_eq!(outcome.loaded, records.len() as u64, "{:?}", outcome.rejects);
    let rows = rows_as_json(&batches);
    assert_eq!(rows.len(), records.len());
    for (i, (rec, row)) in records.iter().zip(&rows).enumerate() {
        let obj = rec.as_object().unwrap();
        for spec in RECORD_FIELDS {
            let want = expected(spec, get(obj, spec.key));
            let got = row.get(spec.name).cloned().unwrap_or(Value::Null);
            assert!(same(&want, &got), "record {i} column {}: want {want} got {got}", spec.name);
        }
        assert_eq!(row["evidence_index"], json!(i));
        assert_eq!(row["evidence_path"], json!("mem.json"));
        assert_eq!(row["path_account"], json!("123456789012"));
    }
    // event_ts equals eventTime read independently.
    let mut i = 0;
    for b in &batches {
        let ts = b.column(schema::COL_EVENT_TS).as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
        for r in 0..ts.len() {
            let want = records[i]["eventTime"].as_str().and_then(oracle_time);
            assert_eq!(ts.is_valid(r).then(|| ts.value(r)), want, "record {i} event_ts");
            i += 1;
        }
    }
}

/// Independent reading of `YYYY-MM-DDTHH:MM:SSZ` by counting days year by year.
fn oracle_time(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (s, frac_us) = match s.split_once('.') {
        Some((whole, frac)) => (whole, format!("{frac:0<6}")[..6].parse::<i64>().ok()?),
        None => (s, 0),
    };
    if s.len() != 19 {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (n(0, 4)?, n(5, 7)?, n(8, 10)?, n(11, 13)?, n(14, 16)?, n(17, 19)?);
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days = 0i64;
    for yy in 1970..y {
        days += if leap(yy) { 366 } else { 365 };
    }
    let ml = [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    days += ml[..(mo - 1) as usize].iter().sum::<i64>() + d - 1;
    Some(((days * 24 + h) * 60 + mi) * 60 * 1_000_000 + se * 1_000_000 + frac_us)
}

#[test]
fn generated_records_match_serde_json() {
    let dir = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 600, files_per_region: 2, ..Default::default() };
    let answers = trailsift_gen::generate(dir.path(), &opts).unwrap();
    for f in &answers.files {
        let raw = std::fs::read(dir.path().join(&f.path)).unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut text).unwrap();
        let doc: Value = serde_json::from_slice(&text).unwrap();
        check_records(doc["Records"].as_array().unwrap());
    }
}

#[test]
fn hand_written_drift_matches_serde_json() {
    let records = vec![
        json!({"eventVersion": "1.08", "eventTime": "2024-01-02T03:04:05Z", "eventName": "X", "readOnly": true,
               "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAEXAMPLE", "sessionContext": {"attributes": {"mfaAuthenticated": "true", "creationDate": "2024-01-02T00:00:00Z"}}},
               "requestParameters": {"a": [1, 2.5, {"b": null}], "s": "é\"\\\n"}, "responseElements": null}),
        // Values of unexpected types and unknown fields.
        json!({"eventTime": 12345, "errorCode": {"nested": true}, "awsRegion": 7, "resources": [{"ARN": "arn:1", "accountId": "1"}, null, {"arn": "lower"}],
               "userIdentity": "not an object", "brandNewField": {"x": 1}, "tlsDetails": {"tlsVersion": "TLSv1.2", "extraKey": 1}}),
        json!({}),
        json!({"eventTime": "2024-02-29T23:59:59Z", "requestParameters": "just a string", "additionalEventData": [1, 2], "resources": "weird",
               "useridentity": {"TYPE": "Root", "accesskeyid": "ASIAXYZ"}, "serviceEventDetails": 3.0e10}),
        json!({"eventTime": "2024-03-01T00:00:00.123Z", "sharedEventID": "s", "insightDetails": {"state": "Start"}, "addendum": {"reason": "DELIVERY_DELAY", "originalEventID": "e"}}),
    ];
    check_records(&records);
}

#[test]
fn extra_keeps_what_typed_columns_cannot() {
    let rec = json!({"eventTime": "2024-01-02T03:04:05Z", "brandNewField": {"x": [1, 2]}, "errorCode": {"nested": true},
                     "userIdentity": {"type": "IAMUser", "unknownInside": 1}, "eventName": "A"});
    let text = serde_json::to_vec(&json!({ "Records": [rec, {"eventName": "B"}] })).unwrap();
    let (batches, _) = parse_bytes(&text, Projection::new([schema::COL_EXTRA]));
    let rows = rows_as_json(&batches);
    let extra: Value = serde_json::from_str(rows[0]["extra"].as_str().unwrap()).unwrap();
    assert_eq!(
        extra,
        json!({"brandNewField": {"x": [1, 2]}, "errorCode": {"nested": true}, "userIdentity": {"type": "IAMUser", "unknownInside": 1}})
    );
    assert_eq!(rows[1]["extra"], Value::Null);
}

#[test]
fn projection_builds_only_requested_columns() {
    let text = br#"{"Records":[{"eventName":"A","eventTime":"2024-01-01T00:00:00Z"},{"eventName":"B"}]}"#;
    let p = Projection::new([schema::COL_EVIDENCE_INDEX, 4]);
    let (batches, _) = parse_bytes(text, p.clone());
    assert_eq!(batches[0].schema(), p.schema());
    let rows = rows_as_json(&batches);
    assert_eq!(
        rows[1],
        serde_json::from_value::<Map<String, Value>>(json!({"evidence_index": 1, "eventname": "B"})).unwrap()
    );
    // No columns at all (count(*)): rows are still counted.
    let (batches, outcome) = parse_bytes(text, Projection::new([]));
    assert_eq!(outcome.loaded, 2);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
}

#[test]
fn shapes_envelope_array_lines_single() {
    let a = r#"{"eventName":"A","eventTime":"2024-01-01T00:00:00Z"}"#;
    let b = r#"{"eventName":"B"}"#;
    for text in [
        format!("{{\"Records\":[{a},{b}]}}"),
        format!("{{\n  \"Records\": [\n    {a},\n    {b}\n  ]\n}}\n"),
        format!("[{a},{b}]"),
        format!("{a}\n{b}\n"),
        format!("{a}\r\n\r\n{b}"),
        format!("{{\"Records\":[{a}]}}\n{{\"Records\":[{b}]}}\n"),
    ] {
        let (batches, outcome) = parse_bytes(text.as_bytes(), Projection::new([4, schema::COL_EVIDENCE_INDEX]));
        assert_eq!((outcome.seen, outcome.loaded, outcome.error.as_deref()), (2, 2, None), "{text}");
        let rows = rows_as_json(&batches);
        assert_eq!(rows[0]["eventname"], "A");
        assert_eq!(rows[1]["eventname"], "B");
        assert_eq!(rows[1]["evidence_index"], 1);
    }
    let (_, outcome) = parse_bytes(a.as_bytes(), Projection::all());
    assert_eq!(outcome.loaded, 1);
}

#[test]
fn damaged_records_are_rejected_alone() {
    // Record 1 is invalid JSON, record 2 is not an object, record 4 has invalid UTF-8.
    let mut text =
        br#"{"Records":[{"eventName":"A"},{"eventName":"B",,},"str",{"eventName":"D"},{"eventName":"X"#.to_vec();
    text.extend_from_slice(&[0xff, 0xfe]);
    text.extend_from_slice(br#""},{"eventName":"F"}]}"#);
    let (batches, outcome) = parse_bytes(&text, Projection::new([4, schema::COL_EVIDENCE_INDEX]));
    assert_eq!(outcome.seen, 6);
    assert_eq!(outcome.loaded, 3);
    let idx: Vec<u64> = outcome.rejects.iter().map(|r| r.index).collect();
    assert_eq!(idx, vec![1, 2, 4]);
    assert!(outcome.rejects[1].reason.contains("not a JSON object"));
    let rows = rows_as_json(&batches);
    let got: Vec<(&str, i64)> =
        rows.iter().map(|r| (r["eventname"].as_str().unwrap(), r["evidence_index"].as_i64().unwrap())).collect();
    assert_eq!(got, vec![("A", 0), ("D", 3), ("F", 5)]);
    assert!(outcome.error.is_none());
}

#[test]
fn truncated_json_keeps_complete_records() {
    let text = br#"{"Records":[{"eventName":"A"},{"eventName":"B"},{"eventNa"#;
    let (_, outcome) = parse_bytes(text, Projection::new([4]));
    assert_eq!((outcome.seen, outcome.loaded), (3, 2));
    assert_eq!(outcome.rejects[0].index, 2);
    assert!(outcome.error.as_deref().unwrap().contains("truncated"));
}

#[test]
fn batches_are_arrow_valid() {
    let recs: Vec<Value> = (0..50)
        .map(|i| json!({"eventName": format!("E{i}"), "resources": [{"ARN": "a"}], "userIdentity": {"type": "T"}}))
        .collect();
    let text = serde_json::to_vec(&json!({ "Records": recs })).unwrap();
    let (batches, _) = parse_bytes(&text, Projection::all());
    assert!(batches.len() >= 7, "batch_rows=7 must split 50 rows");
    for b in &batches {
        for c in b.columns() {
            c.to_data().validate_full().unwrap();
        }
        let _ = Arc::clone(&b.schema());
    }
}

fn key_filter(key: &str) -> Prefilter {
    let term = Term { path: vec!["userIdentity".into(), "accessKeyId".into()], literal: key.into() };
    Prefilter::new([vec![term]]).unwrap()
}

/// The pre-filtered path (records split without parsing, only those holding the literal
/// parsed) loads exactly the rows the full parse loads for that key, with the same indices.
#[test]
fn prefiltered_split_loads_what_the_full_parse_loads() {
    let dir = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 3000, files_per_region: 3, ..Default::default() };
    let answers = trailsift_gen::generate(dir.path(), &opts).unwrap();
    let p = Projection::new([schema::COL_EVIDENCE_INDEX, 4, 9]);
    let (mut split_files, mut checked_rows) = (0, 0);
    for f in &answers.files {
        let raw = std::fs::read(dir.path().join(&f.path)).unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut text).unwrap();
        let doc: Value = serde_json::from_slice(&text).unwrap();
        let records = doc["Records"].as_array().unwrap();
        // A key present in a minority of this file's records, so the split path is taken.
        let mut keys: Vec<&str> = records.iter().filter_map(|r| r["userIdentity"]["accessKeyId"].as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys.iter().take(3) {
            let want: Vec<i64> = records
                .iter()
                .enumerate()
                .filter(|(_, r)| r["userIdentity"]["accessKeyId"].as_str() == Some(key))
                .map(|(i, _)| i as i64)
                .collect();
            let (batches, outcome) = parse_filtered(&text, p.clone(), Some(&key_filter(key)));
            let got: Vec<i64> = rows_as_json(&batches).iter().map(|r| r["evidence_index"].as_i64().unwrap()).collect();
            assert_eq!(got, want, "{} {key}", f.path);
            assert_eq!(outcome.seen as usize, records.len());
            assert_eq!(outcome.loaded + outcome.filtered, outcome.seen);
            split_files += usize::from(want.len() * 2 <= records.len());
            checked_rows += want.len();
        }
    }
    assert!(split_files > 10 && checked_rows > 100, "{split_files} files, {checked_rows} rows");
}

/// A damaged record holding the literal is rejected with the index the salvage path gives;
/// one without it is passed over as filtered; a file that is not a clean envelope takes the
/// full path.
#[test]
fn prefiltered_split_rejects_damaged_matching_records() {
    let text = br#"{"Records":[{"eventName":"A","userIdentity":{"accessKeyId":"AKIAK"}},{"eventName":"B",,},
        {"eventName":"C","userIdentity":{"accessKeyId":"AKIAK",}},{"eventName":"D"},{"eventName":"E"},
        {"eventName":"F","userIdentity":{"accessKeyId":"AKIAK"}},{"eventName":"G"}]}"#;
    let filter = key_filter("AKIAK");
    let (batches, outcome) = parse_filtered(text, Projection::new([4, schema::COL_EVIDENCE_INDEX]), Some(&filter));
    let rows = rows_as_json(&batches);
    let got: Vec<(&str, i64)> =
        rows.iter().map(|r| (r["eventname"].as_str().unwrap(), r["evidence_index"].as_i64().unwrap())).collect();
    assert_eq!(got, vec![("A", 0), ("F", 5)]);
    assert_eq!((outcome.seen, outcome.loaded, outcome.filtered), (7, 2, 4));
    let idx: Vec<u64> = outcome.rejects.iter().map(|r| r.index).collect();
    assert_eq!(idx, vec![2]);
    // The same damage without the split (a scalar element makes the file no clean envelope):
    // the salvage path rejects both damaged records, and loads the same two.
    let mut other = text.to_vec();
    let at = other.len() - 2;
    other.splice(at..at, b",7".iter().copied());
    let (batches, outcome) = parse_filtered(&other, Projection::new([4, schema::COL_EVIDENCE_INDEX]), Some(&filter));
    assert_eq!(rows_as_json(&batches).len(), 2);
    let idx: Vec<u64> = outcome.rejects.iter().map(|r| r.index).collect();
    assert_eq!(idx, vec![1, 2, 7]);
}

/// A projection naming some fields of a struct builds those and leaves the rest null.
#[test]
fn struct_leaves_build_only_the_named_fields() {
    let text = br#"{"Records":[{"userIdentity":{"type":"IAMUser","arn":"arn:x","accessKeyId":"AKIAK",
        "sessionContext":{"sessionIssuer":{"arn":"arn:role","userName":"r"},"attributes":{"mfaAuthenticated":"true"}}}}]}"#;
    let mut leaves = Leaves::Some(Vec::new());
    leaves.add(&["accesskeyid".to_string()]);
    leaves.add(&["sessioncontext".to_string(), "sessionissuer".to_string(), "arn".to_string()]);
    let (batches, _) = parse_bytes(text, Projection::new([1]).with_leaves(1, leaves));
    let rows = rows_as_json(&batches);
    let ui = &rows[0]["useridentity"];
    assert_eq!(ui["accesskeyid"], "AKIAK");
    assert_eq!(ui["sessioncontext"]["sessionissuer"]["arn"], "arn:role");
    for unbuilt in [
        &ui["type"],
        &ui["arn"],
        &ui["sessioncontext"]["sessionissuer"]["username"],
        &ui["sessioncontext"]["attributes"],
    ] {
        assert!(unbuilt.is_null(), "{ui}");
    }
    let (all, _) = parse_bytes(text, Projection::new([1]));
    assert_eq!(rows_as_json(&all)[0]["useridentity"]["type"], "IAMUser");
}
