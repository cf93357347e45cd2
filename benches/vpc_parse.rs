//! Criterion benches of VPC flow-log reading, reported as MB/s of *uncompressed* text:
//!
//! - `inflate`: read + gunzip every file (the floor; compare with `gzip -dc` on the same files);
//! - `parse/all_columns`: inflate + split + every `vpc_flow` column, one thread;
//! - `parse/address_columns`: the same building only addresses, bytes and time;
//! - `scan_2_threads/all_columns`: the parallel scan (what `ingest` and `query` run).
//!
//! The corpus (version-5 layout, gzip files of ~1 MB of text in the S3 layout) is generated
//! from a fixed seed at start-up; `TRAILSIFT_BENCH_VPC_MB` sets its size in MB of text
//! (default 64). `TRAILSIFT_BENCH_VPC_KEEP=DIR` writes it to DIR and keeps it, for timing
//! `gzip -dc` on the same files.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailsift_ingest::decode::read_file;
use trailsift_ingest::discover::{DiscoverOptions, EvidenceFile, discover};
use trailsift_ingest::scan::{ScanEvent, ScanOptions, spawn_scan};
use trailsift_ingest::vpc::{self, VpcBuilder, parse_text};

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path";

/// A small xorshift generator: deterministic corpora without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes flow-log files holding about `mb` MB of text under `root`; returns the text size.
fn generate(root: &Path, mb: u64) -> u64 {
    let mut rng = Rng(0x5eed_f10e);
    let mut total = 0u64;
    let mut file = 0u32;
    while total < mb << 20 {
        let mut text = String::with_capacity(1 << 21);
        text.push_str(HEADER);
        text.push('\n');
        let t0 = 1_722_470_400 + file as u64 * 300;
        while text.len() < 1 << 20 {
            let (internal, external) = (
                format!("10.0.{}.{}", rng.below(16), rng.below(250) + 1),
                format!("{}.{}.{}.{}", rng.below(200) + 20, rng.below(256), rng.below(256), rng.below(254) + 1),
            );
            let inbound = rng.below(2) == 0;
            let (src, dst) = if inbound { (&external, &internal) } else { (&internal, &external) };
            let nodata = rng.below(50) == 0;
            let start = t0 + rng.below(240);
            if nodata {
                text += &format!(
                    "5 123456789012 eni-{:017x} - - - - - - - {start} {} - NODATA vpc-0abc subnet-0abc i-{:017x} - IPv4 - - us-east-1 use1-az1 - - - - - -\n",
                    rng.below(64),
                    start + 60,
                    rng.below(64)
                );
                continue;
            }
            text += &format!(
                "5 123456789012 eni-{:017x} {src} {dst} {} {} 6 {} {} {start} {} {} OK vpc-0abc subnet-0abc i-{:017x} {} IPv4 {src} {dst} us-east-1 use1-az1 - - {} - {} {}\n",
                rng.below(64),
                rng.below(64511) + 1024,
                [22u64, 80, 443, 3389, 5432][rng.below(5) as usize],
                rng.below(1000) + 1,
                rng.below(10_000_000) + 40,
                start + 60,
                if rng.below(10) == 0 { "REJECT" } else { "ACCEPT" },
                rng.below(64),
                rng.below(32),
                if rng.below(3) == 0 { "AMAZON" } else { "-" },
                if inbound { "ingress" } else { "egress" },
                rng.below(8) + 1,
            );
        }
        let rel = format!(
            "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/08/01/123456789012_vpcflowlogs_us-east-1_fl-0bench_20240801T{:02}{:02}Z_{file:08x}.log.gz",
            (file / 12) % 24,
            (file % 12) * 5
        );
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dirs");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(text.as_bytes()).expect("gzip");
        std::fs::write(&path, gz.finish().expect("gzip")).expect("write corpus");
        total += text.len() as u64;
        file += 1;
    }
    total
}

fn parse_all(files: &[EvidenceFile], projection: Option<&[usize]>) -> u64 {
    let mut builder = VpcBuilder::new(projection);
    let mut buf = Vec::new();
    let mut rows = 0u64;
    for f in files {
        assert!(read_file(&f.path, u64::MAX / 4, false, &mut buf).decoded.is_ok());
        let mut on_batch = |b: arrow::array::RecordBatch| rows += b.num_rows() as u64;
        black_box(parse_text(&buf, &f.display, &f.info, None, None, false, &mut builder, 8192, &mut on_batch));
    }
    rows + builder.finish().map(|b| b.num_rows() as u64).unwrap_or(0)
}

fn benches(c: &mut Criterion) {
    let mb = std::env::var("TRAILSIFT_BENCH_VPC_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::env::var("TRAILSIFT_BENCH_VPC_KEEP").map(std::path::PathBuf::from).unwrap_or(tmp.path().into());
    let text_bytes = generate(&root, mb);
    let files: Vec<EvidenceFile> =
        discover(&[&root], &DiscoverOptions::default()).files.into_iter().filter(|f| f.kind.is_vpc_flow()).collect();
    let mut g = c.benchmark_group("vpc");
    g.throughput(Throughput::Bytes(text_bytes));
    g.sample_size(10);
    g.bench_function("inflate", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            for f in &files {
                black_box(read_file(&f.path, u64::MAX / 4, false, &mut buf).decoded.is_ok());
            }
        })
    });
    g.bench_function("parse/all_columns", |b| b.iter(|| parse_all(&files, None)));
    let addr = [3, 4, 9, vpc::COL_START_TS, vpc::COL_EVIDENCE_PATH, vpc::COL_EVIDENCE_INDEX];
    g.bench_function("parse/address_columns", |b| b.iter(|| parse_all(&files, Some(&addr))));
    let shared = Arc::new(files.clone());
    g.bench_function("scan_2_threads/all_columns", |b| {
        b.iter(|| {
            let rx = spawn_scan(shared.clone(), ScanOptions { threads: 2, ..ScanOptions::default() });
            let mut rows = 0;
            for ev in rx {
                if let ScanEvent::Batch { batch, .. } = ev {
                    rows += batch.num_rows();
                }
            }
            black_box(rows)
        })
    });
    g.finish();
}

criterion_group!(vpc_benches, benches);
criterion_main!(vpc_benches);
