//! VPC flow-log reading against independent oracles: hand-written values for every field of
//! every format version (in shuffled orders), the public samples in `../shared/realdata`
//! counted with flate2 and a plain split, Parquet files written here, and bad lines.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use trailsift_ingest::discover::{DiscoverOptions, discover};
use trailsift_ingest::scan::{FileReport, ScanEvent, ScanOptions, spawn_scan};
use trailsift_ingest::vpc::{self, VPC_FIELDS, VpcFormat, VpcScanOptions};

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn put(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

fn key(account: &str, tag: &str, ext: &str) -> String {
    format!(
        "AWSLogs/{account}/vpcflowlogs/us-east-1/2024/08/01/{account}_vpcflowlogs_us-east-1_fl-0{tag}_20240801T1200Z_abcd1234.{ext}"
    )
}

/// Scans `root` and returns the rows as string maps (column → text, NULL absent), in
/// (evidence_path, evidence_index) order, with the file reports.
fn scan(root: &Path, format: Option<&str>) -> (Vec<BTreeMap<String, String>>, Vec<FileReport>) {
    let found = discover(&[root], &DiscoverOptions::default());
    let vpc = VpcScanOptions { format: format.map(|f| Arc::new(VpcFormat::parse(f).unwrap())), ..Default::default() };
    let rx = spawn_scan(Arc::new(found.files), ScanOptions { threads: 2, batch_rows: 3, vpc, ..Default::default() });
    let mut rows = Vec::new();
    let mut reports = Vec::new();
    for ev in rx {
        match ev {
            ScanEvent::Batch { batch, .. } => rows.extend(batch_rows(&batch)),
            ScanEvent::FileDone(r) => reports.push(r),
        }
    }
    rows.sort_by(|a: &BTreeMap<String, String>, b| {
        (&a["evidence_path"], a["evidence_index"].parse::<i64>().unwrap())
            .cmp(&(&b["evidence_path"], b["evidence_index"].parse::<i64>().unwrap()))
    });
    reports.sort_by(|a, b| a.path.cmp(&b.path));
    (rows, reports)
}

fn batch_rows(b: &RecordBatch) -> Vec<BTreeMap<String, String>> {
    assert_eq!(b.schema().fields().len(), vpc::NUM_COLUMNS);
    let text: Vec<ArrayRef> = b.columns().iter().map(|c| arrow::compute::cast(c, &DataType::Utf8).unwrap()).collect();
    (0..b.num_rows())
        .map(|r| {
            let mut m = BTreeMap::new();
            for (i, f) in b.schema().fields().iter().enumerate() {
                let a = text[i].as_any().downcast_ref::<StringArray>().unwrap();
                if !a.is_null(r) {
                    m.insert(f.name().clone(), a.value(r).to_string());
                }
            }
            m
        })
        .collect()
}

/// A distinct, hand-chosen value for every field in row `n` (`-` for some, to test NULLs).
fn value(field: &str, n: usize) -> String {
    match field {
        "version" => "5".into(),
        "account-id" => "123456789012".into(),
        "interface-id" => format!("eni-{n:017}"),
        "srcaddr" => format!("192.0.2.{n}"),
        "dstaddr" => format!("198.51.100.{n}"),
        "srcport" => format!("{}", 40000 + n),
        "dstport" => {
            if n == 2 {
                "-".into()
            } else {
                "443".into()
            }
        }
        "protocol" => "6".into(),
        "packets" => format!("{}", 10 + n),
        "bytes" => format!("{}", 5_000_000_000u64 + n as u64),
        "start" => format!("{}", 1_722_513_600 + n),
        "end" => format!("{}", 1_722_513_660 + n),
        "action" => {
            if n.is_multiple_of(2) {
                "ACCEPT".into()
            } else {
                "REJECT".into()
            }
        }
        "log-status" => "OK".into(),
        "tcp-flags" => "19".into(),
        "traffic-path" => {
            if n == 1 {
                "-".into()
            } else {
                "8".into()
            }
        }
        "type" => "IPv4".into(),
        "pkt-srcaddr" => format!("203.0.113.{n}"),
        "pkt-dstaddr" => format!("198.51.100.{}", 100 + n),
        "flow-direction" => "ingress".into(),
        other => format!("{other}-v{n}"),
    }
}

/// AWS's default field list of each format version (each adds to the one before).
fn version_fields(v: u32) -> Vec<&'static str> {
    let upto = match v {
        2 => "log-status",
        3 => "pkt-dstaddr",
        4 => "sublocation-id",
        5 => "traffic-path",
        7 => "ecs-task-id",
        _ => "reject-reason",
    };
    let end = VPC_FIELDS.iter().position(|f| f.aws == upto).unwrap() + 1;
    VPC_FIELDS[..end].iter().map(|f| f.aws).collect()
}

/// A deterministic shuffle (rotation + reversal of halves) so no version keeps AWS's order.
fn shuffle(mut v: Vec<&'static str>, seed: usize) -> Vec<&'static str> {
    let n = v.len();
    v.rotate_left(seed % n);
    let half = n / 2;
    v[..half].reverse();
    v
}

#[test]
fn every_version_and_field_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected: Vec<(String, usize, Vec<&'static str>)> = Vec::new();
    for (k, v) in [2u32, 3, 4, 5, 7, 8].into_iter().enumerate() {
        for (order, fields) in [version_fields(v), shuffle(version_fields(v), k * 3 + 1)].into_iter().enumerate() {
            let mut text = fields.join(" ") + "\n";
            for n in 0..4 {
                text += &fields.iter().map(|f| value(f, n)).collect::<Vec<_>>().join(" ");
                text.push('\n');
            }
            let rel = key("123456789012", &format!("{v}{order}"), "log.gz");
            let p = put(dir.path(), &rel, &gz(text.as_bytes()));
            expected.push((p.to_string_lossy().into_owned(), 4, fields));
        }
    }
    // A custom subset in a custom order, plus an unknown (Transit Gateway) field.
    let custom = "bytes tgw-id srcaddr action";
    let p =
        put(dir.path(), &key("123456789012", "c", "log"), format!("{custom}\n7 tgw-1 192.0.2.77 ACCEPT\n").as_bytes());

    let (rows, reports) = scan(dir.path(), None);
    assert_eq!(rows.len(), 6 * 2 * 4 + 1);
    for r in &reports {
        assert_eq!(r.records_seen, r.records_loaded + r.records_rejected, "{}", r.path);
        assert_eq!(r.records_rejected, 0, "{:?}", r.rejected_records);
    }
    for (path, n, fields) in &expected {
        let mine: Vec<&BTreeMap<String, String>> = rows.iter().filter(|r| &r["evidence_path"] == path).collect();
        assert_eq!(mine.len(), *n);
        for (i, row) in mine.iter().enumerate() {
            assert_eq!(row["evidence_index"], (i + 1).to_string());
            for f in VPC_FIELDS {
                let raw = value(f.aws, i);
                let want = (fields.contains(&f.aws) && raw != "-").then_some(raw);
                assert_eq!(row.get(f.name), want.as_ref(), "{path} row {i} column {}", f.name);
            }
            if fields.contains(&"start") {
                let secs: i64 = value("start", i).parse().unwrap();
                let ts = trailsift_ingest::time::format_micros(secs * 1_000_000);
                // Arrow's text of a UTC timestamp: `2024-08-01T12:00:00Z`.
                assert_eq!(row["start_ts"], ts, "{path}");
            } else {
                assert!(!row.contains_key("start_ts"));
            }
            assert_eq!(row["path_account"], "123456789012");
            assert_eq!(row["path_region"], "us-east-1");
            assert_eq!(row["path_date"], "2024-08-01");
            assert!(!row.contains_key("extra"));
        }
    }
    let c = rows.iter().find(|r| r["evidence_path"] == p.to_string_lossy()).unwrap();
    assert_eq!((c["bytes"].as_str(), c["srcaddr"].as_str(), c["action"].as_str()), ("7", "192.0.2.77", "ACCEPT"));
    assert_eq!(c["extra"], r#"{"tgw-id":"tgw-1"}"#);
    assert!(!c.contains_key("version"));
}

#[test]
fn headerless_files_default_and_custom_format() {
    let dir = tempfile::tempdir().unwrap();
    let line = "2 123456789012 eni-0a 192.0.2.1 198.51.100.1 1234 22 6 3 180 1722513600 1722513660 ACCEPT OK";
    let nodata = "2 123456789012 eni-0a - - - - - - - 1722513600 1722513660 - NODATA";
    let text = format!(
        "{line}\n2024-08-01T12:00:05.000Z {line}\n{nodata}\n2024-08-01T12:00:06.000Z {nodata}\n1722513607000 {line}\n"
    );
    put(dir.path(), "cwl/vpcflowlogs/export-1.log", text.as_bytes());
    let (rows, reports) = scan(dir.path(), None);
    assert_eq!(reports[0].records_seen, 5);
    assert_eq!(reports[0].records_loaded, 5, "{:?}", reports[0].rejected_records);
    assert!(reports[0].note.as_deref().unwrap().contains("no header"));
    assert_eq!(rows.iter().filter(|r| r.get("log_status").map(String::as_str) == Some("NODATA")).count(), 2);
    let nd = rows.iter().find(|r| r["log_status"] == "NODATA").unwrap();
    assert!(!nd.contains_key("srcaddr") && !nd.contains_key("bytes") && !nd.contains_key("action"));
    assert_eq!(nd["start"], "1722513600");
    let idx: Vec<&str> = rows.iter().map(|r| r["evidence_index"].as_str()).collect();
    assert_eq!(idx, ["0", "1", "2", "3", "4"]);

    // The user's format, AWS syntax, for header-less lines.
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        "cwl/vpcflowlogs/export-2.log",
        b"eni-0b 203.0.113.5 10.0.0.1 REJECT 60\n2024-08-01T00:00:00Z eni-0b 203.0.113.6 10.0.0.1 ACCEPT 61\n",
    );
    let (rows, reports) = scan(dir.path(), Some("${interface-id} ${srcaddr} ${dstaddr} ${action} ${bytes}"));
    assert_eq!(reports[0].records_loaded, 2, "{:?}", reports[0].rejected_records);
    assert_eq!(rows[1]["srcaddr"], "203.0.113.6");
    assert_eq!(rows[1]["bytes"], "61");
    assert!(!rows[0].contains_key("version"));
    // A file with a header ignores the user's format.
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), &key("123456789012", "h", "log"), b"srcaddr bytes\n192.0.2.1 5\n");
    let (rows, _) = scan(dir.path(), Some("bytes srcaddr"));
    assert_eq!((rows[0]["srcaddr"].as_str(), rows[0]["bytes"].as_str()), ("192.0.2.1", "5"));
}

#[test]
fn bad_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let text = "version srcaddr dstaddr srcport dstport bytes\n\
                2 192.0.2.1 198.51.100.1 1 2 3\n\
                2 192.0.2.1 198.51.100.1 1 2\n\
                2 192.0.2.1 198.51.100.1 http 2 3\n\
                2 192.0.2.1 198.51.100.1 1 2 3 4\n\
                2 192.0.2.1 198.51.100.1 70000000000 2 3\n\
                2 192.0.2.2 198.51.100.1 1 2 3";
    let p = put(dir.path(), &key("123456789012", "b", "log.gz"), &gz(text.as_bytes()));
    let (rows, reports) = scan(dir.path(), None);
    let r = &reports[0];
    assert_eq!(r.path, p.to_string_lossy());
    assert_eq!((r.records_seen, r.records_loaded, r.records_rejected), (6, 2, 4));
    let idx: Vec<u64> = r.rejected_records.iter().map(|x| x.index).collect();
    assert_eq!(idx, [2, 3, 4, 5]);
    assert!(r.rejected_records[1].reason.contains("srcport") && r.rejected_records[1].reason.contains("http"));
    assert!(r.rejected_records[0].reason.contains("expected 6 fields"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["evidence_index"], "6");

    // A truncated gzip: the complete lines load, the file is flagged.
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("version bytes\n");
    for i in 0..20_000 {
        body += &format!("2 {i}\n");
    }
    let z = gz(body.as_bytes());
    put(dir.path(), &key("123456789012", "t", "log.gz"), &z[..z.len() / 2]);
    let (rows, reports) = scan(dir.path(), None);
    let r = &reports[0];
    assert!(r.error.as_deref().unwrap().contains("truncated"), "{:?}", r.error);
    assert_eq!(r.records_seen, r.records_loaded + r.records_rejected);
    assert!(r.records_loaded > 0 && (rows.len() as u64) == r.records_loaded);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["bytes"], i.to_string());
    }
}

#[test]
fn parquet_flow_logs() {
    let dir = tempfile::tempdir().unwrap();
    // AWS's Parquet delivery: `_` names, int32 ports, int64 counters and times.
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int32, true),
        Field::new("account_id", DataType::Utf8, true),
        Field::new("srcaddr", DataType::Utf8, true),
        Field::new("dstport", DataType::Int32, true),
        Field::new("bytes", DataType::Int64, true),
        Field::new("start", DataType::Int64, true),
        Field::new("log_status", DataType::Utf8, true),
        Field::new("something_new", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![Some(5), Some(5), Some(5)])),
            Arc::new(StringArray::from(vec![Some("123456789012"); 3])),
            Arc::new(StringArray::from(vec![Some("192.0.2.1"), None, Some("192.0.2.3")])),
            Arc::new(Int32Array::from(vec![Some(22), None, Some(3389)])),
            Arc::new(Int64Array::from(vec![Some(100), None, Some(300)])),
            Arc::new(Int64Array::from(vec![Some(1_722_513_600), Some(1_722_513_601), None])),
            Arc::new(StringArray::from(vec![Some("OK"), Some("NODATA"), Some("OK")])),
            Arc::new(StringArray::from(vec![Some("x"), None, None])),
        ],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let p = put(
        dir.path(),
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=08/day=01/f.parquet",
        &buf,
    );
    let (rows, reports) = scan(dir.path(), None);
    assert_eq!(reports[0].kind, trailsift_ingest::discover::FileKind::VpcFlowParquet);
    assert_eq!((reports[0].records_seen, reports[0].records_loaded), (3, 3));
    assert!(reports[0].note.as_deref().unwrap().contains("something_new"));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["evidence_path"], p.to_string_lossy());
    assert_eq!(rows[0]["srcaddr"], "192.0.2.1");
    assert_eq!(rows[0]["dstport"], "22");
    assert_eq!(rows[0].get("start_ts").map(String::as_str), Some("2024-08-01T12:00:00Z"), "{:?}", rows[0]);
    assert_eq!(rows[0]["path_region"], "eu-west-1");
    assert!(!rows[1].contains_key("srcaddr") && !rows[1].contains_key("bytes"));
    assert_eq!(rows[1]["log_status"], "NODATA");
    assert_eq!(rows[2]["bytes"], "300");
    assert!(!rows[2].contains_key("interface_id"));
    let idx: Vec<&str> = rows.iter().map(|r| r["evidence_index"].as_str()).collect();
    assert_eq!(idx, ["0", "1", "2"]);
}

/// The public samples: line counts and byte sums from flate2 and a plain split on the header.
#[test]
fn realdata_samples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realdata/vpcflow");
    if !root.is_dir() {
        eprintln!("skipped: {} not present", root.display());
        return;
    }
    let (rows, reports) = scan(&root, None);
    let mut total = 0usize;
    for r in &reports {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&r.path).unwrap()).read_to_string(&mut text).unwrap();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        let data: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(r.records_seen as usize, data.len(), "{}", r.path);
        assert_eq!(r.records_loaded, r.records_seen, "{}: {:?}", r.path, r.rejected_records);
        let mine: Vec<&BTreeMap<String, String>> = rows.iter().filter(|x| x["evidence_path"] == r.path).collect();
        assert_eq!(mine.len(), data.len());
        // Every known field's text, by header position, equals the column (NULL for `-`).
        for (line, row) in data.iter().zip(&mine) {
            assert_eq!(line.len(), header.len(), "{}", r.path);
            for (name, v) in header.iter().zip(line) {
                if let Some(f) = VPC_FIELDS.iter().find(|f| f.aws == *name) {
                    let want = (*v != "-").then(|| v.to_string());
                    assert_eq!(row.get(f.name), want.as_ref(), "{} {}", r.path, f.name);
                }
            }
        }
        total += data.len();
    }
    assert_eq!(reports.len(), 10);
    assert_eq!(total, 36);
    let layouts: std::collections::BTreeSet<String> = reports
        .iter()
        .map(|r| {
            let mut t = String::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(&r.path).unwrap()).read_to_string(&mut t).unwrap();
            t.lines().next().unwrap().to_string()
        })
        .collect();
    assert_eq!(layouts.len(), 7);
}
