//! The `vpc_flow` table end to end: raw evidence and the store made from it give the same
//! answers; `ip_flow_activity` and the bundled VPC detections against hand-computed
//! expectations on a small fixture; pushdown prunes without changing answers.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{Value, json};
use trailsift_query::{Engine, EngineOptions, IpFlowActivity, ip_flow_activity};

const ATTACKER: &str = "203.0.113.66";
const SCANNER: &str = "198.51.100.7";

/// Two flow-log files with known contents (see the expectations in the tests below).
fn fixture(root: &Path) {
    let a = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/08/01/123456789012_vpcflowlogs_us-east-1_fl-0aa_20240801T1205Z_0001.log.gz";
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    let line = |eni: &str, src: &str, dst: &str, sp: u32, dp: u32, pk: u64, by: u64, t: u64, act: &str| {
        format!("2 123456789012 {eni} {src} {dst} {sp} {dp} 6 {pk} {by} {t} {} {act} OK\n", t + 60)
    };
    text += &line("eni-a", ATTACKER, "10.0.1.5", 50000, 22, 10, 1000, 1722513600, "ACCEPT");
    text += &line("eni-a", "10.0.1.5", ATTACKER, 22, 50000, 20, 2000, 1722513600, "ACCEPT");
    text += &line("eni-a", "10.0.1.5", ATTACKER, 40001, 443, 400000, 600000000, 1722513700, "ACCEPT");
    text += &line("eni-a", "10.0.1.5", ATTACKER, 40002, 443, 400000, 600000000, 1722513800, "ACCEPT");
    for port in 1..=12 {
        text += &line("eni-b", SCANNER, "10.0.1.6", 6000, port, 1, 40, 1722513650, "REJECT");
    }
    text += &line("eni-a", "10.0.1.5", "10.0.1.6", 33000, 22, 3, 300, 1722513600, "ACCEPT");
    text += "2 123456789012 eni-d - - - - - - - 1722513600 1722513660 - NODATA\n";
    put(root, a, &gz(text.as_bytes()));
    // Version 5, custom order, seen through a NAT: the attacker only in pkt-srcaddr.
    let b = "AWSLogs/123456789012/vpcflowlogs/us-west-2/2024/08/02/123456789012_vpcflowlogs_us-west-2_fl-0bb_20240802T0005Z_0002.log.gz";
    let text = "action bytes packets srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol start end interface-id account-id region flow-direction version log-status\n\
                ACCEPT 5000 5 10.0.2.9 10.0.1.6 203.0.113.66 10.0.1.6 1111 8080 6 1722556800 1722556860 eni-c 123456789012 us-west-2 ingress 5 OK\n";
    put(root, b, &gz(text.as_bytes()));
}

fn query(path: &Path, sql: &str) -> Vec<Value> {
    let (code, text, err) = run_text(&["query", path.to_str().unwrap(), "--format", "jsonl", "--sql", sql]);
    assert_eq!(code, 0, "{sql}\n{err}");
    jsonl(&text)
}

fn sorted(rows: Vec<Value>) -> Vec<String> {
    let mut v: Vec<String> = rows.into_iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

fn setup() -> (tempfile::TempDir, PathBuf, tempfile::TempDir, PathBuf) {
    let ev = tempfile::tempdir().unwrap();
    fixture(ev.path());
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let (code, _, err) = run_text(&["ingest", ev.path().to_str().unwrap(), "--out", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let evp = ev.path().to_path_buf();
    (ev, evp, out, store)
}

#[test]
fn raw_and_store_agree_and_manifest_counts_lines() {
    let (_ev, raw, _out, store) = setup();
    let manifest: Value = serde_json::from_slice(&std::fs::read(store.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["tables"]["vpc_flow"]["rows"], 19);
    assert_eq!(manifest["tables"]["cloudtrail"]["rows"], 0);
    assert_eq!(manifest["totals"]["flow_records_seen"], 19);
    assert_eq!(manifest["totals"]["flow_records_loaded"], 19);
    let files = manifest["files"].as_array().unwrap();
    let seen: Vec<u64> = files.iter().map(|f| f["records_seen"].as_u64().unwrap()).collect();
    assert_eq!(seen, [18, 1]);
    assert!(files.iter().all(|f| f["sha256"].as_str().unwrap().len() == 64));
    assert!(store.join("vpc_flow/account=123456789012/region=us-west-2/date=2024-08-02/part-00000.parquet").is_file());

    let queries = [
        "SELECT count(*) AS n, sum(bytes) AS b, sum(packets) AS p FROM vpc_flow",
        "SELECT srcaddr, sum(bytes) AS b, count(*) AS n FROM vpc_flow GROUP BY srcaddr",
        "SELECT action, count(*) AS n FROM vpc_flow GROUP BY action",
        "SELECT log_status, count(*) AS n FROM vpc_flow GROUP BY log_status",
        "SELECT * FROM vpc_flow",
        "SELECT evidence_index, start_ts FROM vpc_flow WHERE srcaddr = '198.51.100.7'",
        "SELECT count(*) AS n FROM vpc_flow WHERE path_region = 'us-west-2'",
        "SELECT count(*) AS n FROM vpc_flow WHERE start_ts >= '2024-08-02T00:00:00Z'",
        "SELECT count(*) AS n FROM vpc_flow WHERE dstaddr IN ('10.0.1.6', '10.0.1.5') OR srcaddr = '10.0.1.5'",
        "SELECT pkt_srcaddr, region, flow_direction FROM vpc_flow WHERE pkt_srcaddr IS NOT NULL",
        // No column is read: the scan must still report its row count.
        "SELECT count(*) AS n FROM vpc_flow",
    ];
    for sql in queries {
        assert_eq!(sorted(query(&raw, sql)), sorted(query(&store, sql)), "{sql}");
    }
    // Against the fixture, by hand.
    let total = &query(&raw, queries[0])[0];
    assert_eq!(total, &json!({"n": 19, "b": 1_200_008_780u64, "p": 800_050}));
    assert_eq!(query(&raw, queries[6])[0]["n"], 1);
    assert_eq!(query(&raw, queries[7])[0]["n"], 1);
    assert_eq!(query(&raw, queries[8])[0]["n"], 18);
    assert_eq!(query(&raw, queries[10])[0]["n"], 19);
    let scanned = query(&raw, queries[5]);
    assert_eq!(scanned.len(), 12);
    assert!(scanned.iter().all(|r| r["start_ts"] == "2024-08-01T12:00:50Z"), "{scanned:?}");
    let schema = run_text(&["schema"]).1;
    assert!(schema.contains("table vpc_flow") && schema.contains("pkt_dst_aws_service"));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn expected_attacker() -> IpFlowActivity {
    IpFlowActivity {
        ip: ATTACKER.into(),
        flows: 5,
        bytes: 1000 + 2000 + 1_200_000_000 + 5000,
        packets: 10 + 20 + 800_000 + 5,
        accepted: 5,
        rejected: 0,
        first_seen: Some("2024-08-01T12:00:00Z".into()),
        last_seen: Some("2024-08-02T00:01:00Z".into()),
        ports: vec![22, 443, 1111, 8080, 40001, 40002, 50000],
        interfaces: vec!["eni-a".into(), "eni-c".into()],
        inbound_bytes: 1000 + 5000,
        outbound_bytes: 2000 + 1_200_000_000,
    }
}

#[test]
fn ip_flow_activity_matches_hand_computation_raw_and_store() {
    let (_ev, raw, _out, store) = setup();
    let rt = runtime();
    let ips = vec!["192.0.2.200".to_string(), ATTACKER.to_string(), SCANNER.to_string(), ATTACKER.to_string()];
    let mut scanner_ports: Vec<i64> = (1..=12).collect();
    scanner_ports.push(6000);
    let scanner = IpFlowActivity {
        ip: SCANNER.into(),
        flows: 12,
        bytes: 480,
        packets: 12,
        accepted: 0,
        rejected: 12,
        first_seen: Some("2024-08-01T12:00:50Z".into()),
        last_seen: Some("2024-08-01T12:01:50Z".into()),
        ports: scanner_ports,
        interfaces: vec!["eni-b".into()],
        inbound_bytes: 480,
        outbound_bytes: 0,
    };
    for path in [&raw, &store] {
        let got = rt.block_on(async {
            let engine = Engine::open(std::slice::from_ref(path), EngineOptions::default()).await.unwrap();
            ip_flow_activity(&engine, &ips).await.unwrap()
        });
        assert_eq!(got, vec![expected_attacker(), scanner.clone()], "{}", path.display());
    }
    // No flow logs at all: empty.
    let empty = tempfile::tempdir().unwrap();
    put(empty.path(), "notes.txt", b"nothing here");
    let got = rt.block_on(async {
        let engine = Engine::open(&[empty.path().to_path_buf()], EngineOptions::default()).await.unwrap();
        ip_flow_activity(&engine, &ips).await.unwrap()
    });
    assert!(got.is_empty());
}

#[test]
fn pushdown_prunes_and_skips_without_changing_answers() {
    let (_ev, raw, _out, _store) = setup();
    let rt = runtime();
    rt.block_on(async {
        let engine = Engine::open(std::slice::from_ref(&raw), EngineOptions::default()).await.unwrap();
        let n = |sql: &'static str| {
            let engine = &engine;
            async move {
                let b = engine.sql(sql).await.unwrap().collect().await.unwrap();
                b.iter().map(|b| b.num_rows()).sum::<usize>()
            }
        };
        assert_eq!(n("SELECT * FROM vpc_flow WHERE path_region = 'us-west-2'").await, 1);
        assert_eq!(engine.scan_stats().files_pruned, 1);
        assert_eq!(n("SELECT * FROM vpc_flow WHERE srcaddr = '198.51.100.7'").await, 12);
        assert_eq!(engine.scan_stats().files_skipped, 1, "{:?}", engine.scan_stats());
        assert_eq!(n("SELECT * FROM vpc_flow WHERE start_ts < '2024-07-01T00:00:00Z'").await, 0);
        assert_eq!(n("SELECT * FROM vpc_flow WHERE srcaddr = '10.0.1.5' OR pkt_srcaddr = '203.0.113.66'").await, 5);
    });
}

fn detections_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/detect/detections/vpcflow")
}

fn detection_sql(id: &str) -> String {
    for tactic in std::fs::read_dir(detections_dir()).unwrap() {
        let p = tactic.unwrap().path().join(format!("{id}.sql"));
        if p.is_file() {
            return std::fs::read_to_string(p).unwrap();
        }
    }
    panic!("no detection {id}");
}

const FINDING_COLUMNS: [&str; 11] = [
    "event_ts",
    "evidence_path",
    "evidence_index",
    "account_id",
    "region",
    "principal",
    "access_key_id",
    "source_ip",
    "eventid",
    "summary",
    "count",
];

#[test]
fn vpc_detections_fire_on_the_fixture() {
    let (_ev, raw, _out, store) = setup();
    let rt = runtime();
    for path in [&raw, &store] {
        let results = rt.block_on(async {
            let engine = Engine::open(std::slice::from_ref(path), EngineOptions::default()).await.unwrap();
            let mut out = Vec::new();
            for id in ["vpc-0001", "vpc-0002", "vpc-0003"] {
                let sql = detection_sql(id);
                let header: Vec<&str> = sql.lines().take_while(|l| l.starts_with("-- ")).collect();
                assert!(header.contains(&"-- source: vpcflow"), "{id}");
                assert!(header.iter().any(|l| *l == format!("-- id: {id}")), "{id}");
                let df = engine.sql(&sql).await.unwrap();
                let names: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
                assert_eq!(names, FINDING_COLUMNS, "{id}");
                let batches = df.collect().await.unwrap();
                out.push((id, rows_json(&batches)));
            }
            out
        });
        let (_, r1) = &results[0];
        assert_eq!(r1.len(), 1, "{r1:?}");
        assert_eq!(r1[0]["source_ip"], ATTACKER);
        assert_eq!(r1[0]["count"], 1);
        assert_eq!(r1[0]["account_id"], "123456789012");
        assert_eq!(r1[0]["region"], "us-east-1");
        assert_eq!(r1[0]["evidence_index"], 1);
        assert_eq!(r1[0]["event_ts"], "2024-08-01T12:00:00Z");
        assert!(r1[0]["evidence_path"].as_str().unwrap().ends_with("_0001.log.gz"));
        let (_, r2) = &results[1];
        assert_eq!(r2.len(), 1, "{r2:?}");
        assert_eq!(r2[0]["source_ip"], ATTACKER);
        // The two large flows and the SSH reply (2000 bytes), the earliest being the reply.
        assert_eq!(r2[0]["count"], 3);
        assert_eq!(r2[0]["evidence_index"], 2);
        assert!(r2[0]["summary"].as_str().unwrap().starts_with("1200002000 bytes sent"), "{}", r2[0]["summary"]);
        let (_, r3) = &results[2];
        assert_eq!(r3.len(), 1, "{r3:?}");
        assert_eq!(r3[0]["source_ip"], SCANNER);
        assert_eq!(r3[0]["count"], 12);
        assert!(r3[0]["principal"].is_null() && r3[0]["eventid"].is_null());
    }
}

fn rows_json(batches: &[arrow::array::RecordBatch]) -> Vec<Value> {
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
    jsonl(&String::from_utf8(buf).unwrap())
}

#[test]
fn cidr_contains_in_sql() {
    let rt = runtime();
    let empty = tempfile::tempdir().unwrap();
    let rows = rt.block_on(async {
        let engine = Engine::open(&[empty.path().to_path_buf()], EngineOptions::default()).await.unwrap();
        let sql = "SELECT cidr_contains('10.0.0.0/8', '10.2.3.4') AS a, cidr_contains('2001:db8::/32', '2001:db8::5') AS b, \
                   cidr_contains('10.0.0.0/8', 'garbage') AS c, cidr_contains(NULL, '10.0.0.1') AS d, \
                   cidr_contains(x, '192.0.2.1') AS e FROM (VALUES ('192.0.2.0/24'), ('198.51.100.0/24'), (NULL)) t(x)";
        rows_json(&engine.sql(sql).await.unwrap().collect().await.unwrap())
    });
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0], json!({"a": true, "b": true, "c": false, "d": null, "e": true}));
    assert_eq!(rows[1]["e"], false);
    assert!(rows[2]["e"].is_null());
}

#[test]
fn vpc_format_flag_reads_headerless_exports() {
    let ev = tempfile::tempdir().unwrap();
    put(
        ev.path(),
        "export/vpcflowlogs/flows.log",
        b"2024-08-01T00:00:00.000Z eni-1 192.0.2.1 10 ACCEPT\n2024-08-01T00:00:01.000Z eni-1 192.0.2.1 32 ACCEPT\n",
    );
    let (code, text, err) = run_text(&[
        "query",
        ev.path().to_str().unwrap(),
        "--vpc-format",
        "${interface-id} ${srcaddr} ${bytes} ${action}",
        "--format",
        "jsonl",
        "--sql",
        "SELECT srcaddr, sum(bytes) AS b FROM vpc_flow GROUP BY srcaddr",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(jsonl(&text), vec![json!({"srcaddr": "192.0.2.1", "b": 42})]);
    let (code, _, err) = run_text(&["query", ev.path().to_str().unwrap(), "--vpc-format", "", "--sql", "SELECT 1"]);
    assert_ne!(code, 0);
    assert!(err.contains("vpc-format"), "{err}");
}

/// Each bundled VPC detection on its fixtures (`fixtures/detections/<id>/`): `fire.log` gives
/// the findings and count `expect.json` names, `quiet.log` none.
#[test]
fn vpc_detections_on_their_fixtures() {
    let rt = runtime();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/detections");
    for id in ["vpc-0001", "vpc-0002", "vpc-0003"] {
        let expect: Value = serde_json::from_slice(&std::fs::read(root.join(id).join("expect.json")).unwrap()).unwrap();
        for (name, want) in [("fire", expect["findings"].as_u64().unwrap() as usize), ("quiet", 0)] {
            let file = root.join(id).join(format!("{name}.log"));
            let rows = rt.block_on(async {
                let engine = Engine::open(std::slice::from_ref(&file), EngineOptions::default()).await.unwrap();
                let rows = rows_json(&engine.sql(&detection_sql(id)).await.unwrap().collect().await.unwrap());
                assert!(engine.problems().is_empty(), "{:?}", engine.problems());
                rows
            });
            assert_eq!(rows.len(), want, "{id} on {name}: {rows:?}");
            for r in &rows {
                assert_eq!(r["count"], expect["count"], "{id}");
                assert_eq!(r["account_id"], "123456789012");
                assert_eq!(r["evidence_index"], 1, "{id}: the first flow is the first line");
                assert!(r["evidence_path"].as_str().unwrap().ends_with("fire.log"));
            }
        }
    }
}
