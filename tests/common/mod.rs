//! Helpers shared by the end-to-end tests: run the real binary, write evidence, snapshot a
//! tree's bytes to prove it was not modified.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `trailsift` with `args`; stdin closed.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailsift"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the trailsift binary runs")
}

/// Exit code, stdout and stderr of a run.
pub fn run_text(args: &[&str]) -> (i32, String, String) {
    let o = run(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// gzip of `data`.
pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Inflates every member of a gzip file.
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

/// Writes `bytes` at `root/rel`, creating folders.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Every file below `root` with its bytes, to compare before and after a run.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p);
            } else if md.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Parses JSON lines output.
pub fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A CloudTrail S3 key for `account`, `region` and a 5-minute `slot` of 2024-08-01.
pub fn ct_key(account: &str, region: &str, slot: u32, tag: &str) -> String {
    let (h, m) = (slot / 12, slot % 12 * 5);
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/2024/08/01/{account}_CloudTrail_{region}_20240801T{h:02}{m:02}Z_{tag}.json.gz"
    )
}

/// A minimal CloudTrail record.
pub fn record(name: &str, key: &str, time: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "eventTime": time,
        "eventName": name,
        "eventSource": "iam.amazonaws.com",
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "IAMUser", "accessKeyId": key, "arn": "arn:aws:iam::123456789012:user/u"},
        "eventID": format!("{name}-{key}-{time}"),
        "recipientAccountId": "123456789012",
    })
}

/// `{"Records":[…]}` of `records`.
pub fn envelope(records: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap()
}
