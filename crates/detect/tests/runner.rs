//! The runner: scope by key and time, level filter, failing and malformed user detections,
//! vpcflow detections without a `vpc_flow` table. Evidence is a small hand-built file whose
//! answers are known by construction.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trailsift_detect::{Catalog, DetectError, HuntOptions, Level, hunt};
use trailsift_query::{Engine, EngineOptions};

const A: &str = "AKIA3EXAMPLEKEYAAAAA";
const B: &str = "AKIA3EXAMPLEKEYBBBBB";

fn record(i: usize, key: &str, user: &str, time: &str, source: &str, name: &str, req: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA3EXAMPLE0000000", "arn": format!("arn:aws:iam::123456789012:user/{user}"),
                         "accountId": "123456789012", "accessKeyId": key, "userName": user},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.17.20", "requestParameters": req, "responseElements": null,
        "requestID": format!("req-{i}"), "eventID": format!("00000000-0000-4000-8000-{i:012}"), "readOnly": false,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "123456789012", "eventCategory": "Management"
    })
}

/// A: CreateUser 00:00, StopLogging 01:00; B: CreateUser 00:10.
fn evidence(dir: &Path) -> PathBuf {
    let recs = vec![
        record(0, A, "alice", "2024-07-31T00:00:00Z", "iam.amazonaws.com", "CreateUser", json!({"userName": "x1"})),
        record(1, B, "bob", "2024-07-31T00:10:00Z", "iam.amazonaws.com", "CreateUser", json!({"userName": "x2"})),
        record(
            2,
            A,
            "alice",
            "2024-07-31T01:00:00Z",
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"name": "main"}),
        ),
    ];
    let p = dir.join("events.json");
    std::fs::write(&p, serde_json::to_vec(&json!({"Records": recs})).unwrap()).unwrap();
    p
}

fn run(dir: &Path, catalog: &Catalog, opts: HuntOptions) -> Result<trailsift_detect::HuntResult, DetectError> {
    let file = evidence(dir);
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(async {
        let engine = Engine::open(&[file], EngineOptions::default()).await.unwrap();
        hunt(&engine, catalog, &opts).await
    })
}

const CREATE_USER: &str = "ct-persistence-0001";
const STOP_LOGGING: &str = "ct-defense-evasion-0001";

fn ids(r: &trailsift_detect::HuntResult) -> Vec<(String, Option<String>)> {
    r.findings.iter().map(|f| (f.id.to_string(), f.access_key_id.clone())).collect()
}

/// The three findings of the whole evidence, in order.
fn every_finding() -> Vec<(String, Option<String>)> {
    vec![
        (CREATE_USER.to_string(), Some(A.to_string())),
        (CREATE_USER.to_string(), Some(B.to_string())),
        (STOP_LOGGING.to_string(), Some(A.to_string())),
    ]
}

#[test]
fn whole_archive_finds_every_key() {
    let t = tempfile::tempdir().unwrap();
    let r = run(t.path(), &Catalog::bundled(), HuntOptions::default()).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.events_in_scope, 3);
    assert!(!r.materialised);
    // Flow-log detections are skipped: this archive has no flow logs.
    let cloudtrail = Catalog::bundled().detections().iter().filter(|d| d.source == "cloudtrail").count();
    assert_eq!(r.detections_run, cloudtrail);
    assert_eq!(ids(&r), every_finding());
    assert_eq!(r.findings[0].event_time, "2024-07-31T00:00:00Z");
    assert_eq!(r.findings[2].summary, "StopLogging main");
}

#[test]
fn scope_by_key_materialises_only_that_key() {
    let t = tempfile::tempdir().unwrap();
    let opts = HuntOptions { keys: Some(vec![A.to_string()]), ..Default::default() };
    let r = run(t.path(), &Catalog::bundled(), opts).unwrap();
    assert!(r.materialised);
    assert_eq!(r.events_in_scope, 2);
    assert_eq!(
        ids(&r),
        vec![(CREATE_USER.to_string(), Some(A.to_string())), (STOP_LOGGING.to_string(), Some(A.to_string()))]
    );
    let none = HuntOptions { keys: Some(vec![]), ..Default::default() };
    assert_eq!(run(t.path(), &Catalog::bundled(), none).unwrap().events_in_scope, 0);
    let bad = HuntOptions { keys: Some(vec!["AKIA' OR 1=1 --".into()]), ..Default::default() };
    assert!(matches!(run(t.path(), &Catalog::bundled(), bad), Err(DetectError::BadKey(_))));
}

#[test]
fn time_range_is_inclusive_and_checked() {
    let t = tempfile::tempdir().unwrap();
    let opts = HuntOptions {
        from: Some("2024-07-31T00:10:00Z".into()),
        to: Some("2024-07-31T01:00:00Z".into()),
        ..Default::default()
    };
    let r = run(t.path(), &Catalog::bundled(), opts).unwrap();
    assert_eq!(r.events_in_scope, 2);
    assert_eq!(
        ids(&r),
        vec![(CREATE_USER.to_string(), Some(B.to_string())), (STOP_LOGGING.to_string(), Some(A.to_string()))]
    );
    let bad = HuntOptions { from: Some("yesterday".into()), ..Default::default() };
    assert!(matches!(run(t.path(), &Catalog::bundled(), bad), Err(DetectError::BadTime { .. })));
}

#[test]
fn min_level_and_detection_selection() {
    let t = tempfile::tempdir().unwrap();
    let r = run(t.path(), &Catalog::bundled(), HuntOptions { min_level: Level::High, ..Default::default() }).unwrap();
    assert_eq!(ids(&r), vec![(STOP_LOGGING.to_string(), Some(A.to_string()))]);
    assert!(r.detections_run < Catalog::bundled().detections().len());
    let only = HuntOptions { detections: vec![CREATE_USER.into()], ..Default::default() };
    let r = run(t.path(), &Catalog::bundled(), only).unwrap();
    assert_eq!(r.detections_run, 1);
    assert_eq!(r.findings.len(), 2);
    let unknown = HuntOptions { detections: vec!["no-such".into()], ..Default::default() };
    assert!(matches!(run(t.path(), &Catalog::bundled(), unknown), Err(DetectError::UnknownDetection(_))));
}

const HEADER: &str = "-- title: t\n-- source: cloudtrail\n-- level: low\n-- status: experimental\n\
                      -- tags: attack.discovery\n-- description: d\n";

#[test]
fn failing_and_malformed_user_detections_are_reported_and_others_run() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("mine");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    // Plans but fails at run time? Not needed: an unknown column fails when planned.
    std::fs::write(dir.join("u-broken.sql"), format!("-- id: u-broken\n{HEADER}SELECT nosuchcolumn FROM events\n"))
        .unwrap();
    std::fs::write(
        dir.join("sub/u-badhdr.sql"),
        format!("-- id: u-badhdr\n-- colour: red\n{HEADER}SELECT 1 FROM events\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("u-good.sql"),
        format!(
            "-- id: u-good\n{HEADER}SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id, \
             awsregion AS region, useridentity.arn AS principal, useridentity.accesskeyid AS access_key_id, \
             sourceipaddress AS source_ip, eventname AS summary, 1 AS count FROM events WHERE eventname = 'StopLogging'\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("u-flow.sql"),
        "-- id: u-flow\n-- title: t\n-- source: vpcflow\n-- level: low\n-- status: experimental\n\
         -- tags: attack.exfiltration\n-- description: d\nSELECT * FROM vpc_flow\n",
    )
    .unwrap();
    let catalog = Catalog::bundled().with_dir(&dir).unwrap();
    let bad_file = dir.join("sub/u-badhdr.sql").display().to_string();
    assert_eq!(catalog.rejected(), std::slice::from_ref(&bad_file));
    assert!(catalog.lint().iter().any(|p| p.file == bad_file && p.message.contains("unknown header key 'colour'")));
    assert!(catalog.get("u-good").is_some_and(|d| d.origin.ends_with("u-good.sql")));

    let r = run(t.path(), &catalog, HuntOptions::default()).unwrap();
    let failed: Vec<&str> = r.failed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(failed, vec![bad_file.as_str(), "u-broken"], "{:?}", r.failed);
    assert!(r.failed[0].1.contains("colour"));
    assert!(r.failed[1].1.contains("nosuchcolumn"), "{}", r.failed[1].1);
    let user_skipped: Vec<&str> =
        r.skipped.iter().map(|(id, _)| id.as_str()).filter(|id| !id.starts_with("vpc-")).collect();
    assert_eq!(user_skipped, vec!["u-flow"]);
    let found: Vec<&str> = r.findings.iter().map(|f| &*f.id).collect();
    assert_eq!(found, vec![CREATE_USER, CREATE_USER, STOP_LOGGING, "u-good"]);
    assert!(matches!(Catalog::bundled().with_dir(&t.path().join("absent")), Err(DetectError::Io { .. })));
}

/// Two overlapping exports: the file twice (another folder), plus a third copy of one event
/// whose content differs. `events` holds each event once, as `cloudtrail_unique` does, and the
/// hunt says how many copies it left out, whole-archive and by key.
#[test]
fn duplicates_are_collapsed_like_the_unique_view() {
    let t = tempfile::tempdir().unwrap();
    let file = evidence(t.path());
    let copy = t.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(&file, copy.join("events.json")).unwrap();
    let mut odd =
        record(0, A, "alice", "2024-07-31T00:00:00Z", "iam.amazonaws.com", "CreateUser", json!({"userName": "x9"}));
    odd["sourceIPAddress"] = json!("198.51.100.1");
    std::fs::write(t.path().join("zz.json"), serde_json::to_vec(&json!({"Records": [odd]})).unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let engine = Engine::open(&[t.path().to_path_buf()], EngineOptions::default()).await.unwrap();
        // The oracle: the window view's rows.
        let unique = engine.sql("SELECT evidence_path, evidence_index FROM cloudtrail_unique ORDER BY 1, 2").await.unwrap();
        let unique = unique.collect().await.unwrap().iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!(unique, 3);

        let r = hunt(&engine, &Catalog::bundled(), &HuntOptions::default()).await.unwrap();
        assert_eq!((r.events_in_scope, r.duplicates_collapsed), (3, 4));
        assert_eq!(
            ids(&r),
            every_finding()
        );
        // The kept copies are the first by (path, index): the copy folder sorts first.
        let kept: Vec<&str> = r.findings.iter().map(|f| f.evidence_path.as_str()).collect();
        assert!(kept.iter().all(|p| p.ends_with("copy/events.json")), "{kept:?}");
        // The view `events` equals the oracle row for row.
        let sql = "SELECT evidence_path, evidence_index FROM events EXCEPT SELECT evidence_path, evidence_index FROM cloudtrail_unique";
        let diff = engine.sql(sql).await.unwrap().collect().await.unwrap();
        assert_eq!(diff.iter().map(|b| b.num_rows()).sum::<usize>(), 0);

        let dropped_tables = || {
            let ctx = engine.context();
            let schema = ctx.catalog("awsdatacatalog").and_then(|c| c.schema("default")).unwrap();
            let names: Vec<String> = schema
                .table_names()
                .into_iter()
                .filter(|n| n.starts_with(trailsift_query::duplicates::DROPPED_TABLE_PREFIX))
                .collect();
            names
        };
        // The whole-archive hunt reads the evidence with an anti-join on its table of
        // dropped copies; a second hunt replaces it.
        assert_eq!(dropped_tables().len(), 1, "{:?}", dropped_tables());
        hunt(&engine, &Catalog::bundled(), &HuntOptions::default()).await.unwrap();
        assert_eq!(dropped_tables().len(), 1, "only the last hunt's table stays: {:?}", dropped_tables());

        let opts = HuntOptions { keys: Some(vec![A.to_string()]), ..Default::default() };
        let r = hunt(&engine, &Catalog::bundled(), &opts).await.unwrap();
        assert_eq!((r.events_in_scope, r.duplicates_collapsed), (2, 3));
        assert_eq!(r.findings.len(), 2);
        // A keyed hunt holds its records without the copies (one pass, no table of them),
        // and the earlier hunt's table is gone.
        assert!(dropped_tables().is_empty(), "{:?}", dropped_tables());

        // The same hunt over the records `investigate` already read (no second scan): the
        // same events, copies and findings. A key set that differs, or a time range, makes
        // the hunt scan again.
        let inv = trailsift_detect::investigate::investigate(
            &engine,
            &trailsift_detect::investigate::InvestigateOptions::new(A),
        )
        .await
        .unwrap();
        let held = inv.key_records.clone().expect("investigate keeps the lineage's records");
        assert_eq!((held.keys.clone(), held.records, held.dropped), (vec![A.to_string()], 2, 3));
        // Detections with a baseline over the whole archive scan either way; reading the
        // key's records takes one scan (records and copies in the same pass), which held
        // records save.
        let s0 = stats(&engine);
        hunt(&engine, &Catalog::bundled(), &opts).await.unwrap();
        let s1 = stats(&engine);
        let reuse = HuntOptions { keys: Some(vec![A.to_string()]), key_records: Some(held.clone()), ..Default::default() };
        let again = hunt(&engine, &Catalog::bundled(), &reuse).await.unwrap();
        let s2 = stats(&engine);
        assert_eq!((s1 - s0) - (s2 - s1), 1, "the hunt over held records read the key's records again");
        assert_eq!((again.events_in_scope, again.duplicates_collapsed), (r.events_in_scope, r.duplicates_collapsed));
        assert_eq!(ids(&again), ids(&r));
        let places = |h: &trailsift_detect::HuntResult| -> Vec<(String, i64)> {
            h.findings.iter().map(|f| (f.evidence_path.clone(), f.evidence_index)).collect()
        };
        assert_eq!(places(&again), places(&r));
        let other = HuntOptions { keys: Some(vec![A.to_string(), B.to_string()]), key_records: Some(held.clone()), ..Default::default() };
        let both = hunt(&engine, &Catalog::bundled(), &other).await.unwrap();
        assert_eq!(stats(&engine) - s2, s1 - s0, "another key set must be read from the evidence");
        assert_eq!(both.events_in_scope, 3);
        let ranged = HuntOptions { from: Some("2024-07-31T00:30:00Z".into()), ..reuse };
        let late = hunt(&engine, &Catalog::bundled(), &ranged).await.unwrap();
        assert_eq!(late.events_in_scope, 1, "a time range narrows the held records' hunt too");

        // Held on disk (a budget of no bytes): the same report, and the same hunt over them.
        let mut small = trailsift_detect::investigate::InvestigateOptions::new(A);
        small.held_bytes = 0;
        let spilled = trailsift_detect::investigate::investigate(&engine, &small).await.unwrap();
        let on_disk = spilled.key_records.clone().unwrap();
        assert!(on_disk.held.is_spilled() && !held.held.is_spilled());
        assert_eq!(serde_json::to_value(&spilled).unwrap(), serde_json::to_value(&inv).unwrap());
        let from_disk = HuntOptions { keys: Some(vec![A.to_string()]), key_records: Some(on_disk), ..Default::default() };
        let disk = hunt(&engine, &Catalog::bundled(), &from_disk).await.unwrap();
        assert_eq!((disk.events_in_scope, disk.duplicates_collapsed), (r.events_in_scope, r.duplicates_collapsed));
        assert_eq!(ids(&disk), ids(&r));
        assert_eq!(places(&disk), places(&r));
    });
}

/// Scans the engine has started so far.
fn stats(engine: &Engine) -> u64 {
    engine.scan_stats().scans
}
