//! Criterion benches of the ingest hot path, reported as MB/s of *uncompressed* JSON:
//!
//! - `inflate`: read + gunzip every file (the floor parsing has to beat);
//! - `decode_parse/all_columns`: inflate + simd-json + every Arrow column, one thread;
//! - `decode_parse/key_columns`: the same building only the columns a key lookup needs;
//! - `scan_2_threads/all_columns`: the whole parallel pipeline (what `query` runs);
//! - `prefilter/lineage_5000_keys`: inflate + the literal pre-filter of a 5,000-key lineage
//!   (`useridentity.accesskeyid IN (…)`, none present), one thread — near `inflate` when
//!   the many-literal search costs little;
//! - `encode_parquet`: the corpus's Arrow batches (built once beforehand) written with the
//!   store's Parquet settings, one thread — the encoding share of `ingest`, alone;
//! - `write_store_2_threads`: the whole of `ingest` (scan, encode, merge, manifest) into a
//!   temporary folder.
//!
//! The corpus is generated from a fixed seed in a temporary folder at start-up
//! (`TRAILSIFT_BENCH_RECORDS` sets its size; default 60,000 records ≈ 70 MB of JSON).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailsift_ingest::builder::BatchBuilder;
use trailsift_ingest::decode::read_file;
use trailsift_ingest::discover::{DiscoverOptions, EvidenceFile, discover};
use trailsift_ingest::parse::{FileSource, Sink, parse_file};
use trailsift_ingest::prefilter::{Prefilter, Term};
use trailsift_ingest::scan::{ScanEvent, ScanOptions, spawn_scan};
use trailsift_ingest::schema::{self, Projection};
use trailsift_ingest::store::{CHUNK_BYTES, StoreOptions, write_store, writer_properties};

struct Corpus {
    _dir: tempfile::TempDir,
    files: Vec<EvidenceFile>,
    json_bytes: u64,
}

fn corpus() -> Corpus {
    let records = std::env::var("TRAILSIFT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = trailsift_gen::GenOptions { records, files_per_region: 60, ..Default::default() };
    let answers = trailsift_gen::generate(dir.path(), &opts).expect("generate corpus");
    let found = discover(&[dir.path()], &DiscoverOptions::default());
    let files = found.files.into_iter().filter(|f| f.kind.is_cloudtrail()).collect();
    Corpus { _dir: dir, files, json_bytes: answers.json_bytes }
}

fn parse_all(files: &[EvidenceFile], projection: &Projection) -> u64 {
    let mut rows = 0u64;
    let last = parse_each(files, projection, &mut |b| {
        rows += b.num_rows() as u64;
        Some(b)
    });
    rows + last.map(|b| b.num_rows() as u64).unwrap_or(0)
}

/// Parses every file, handing each full batch to `on_batch` (which may give it back for
/// reuse); returns the last, partial one.
fn parse_each(
    files: &[EvidenceFile],
    projection: &Projection,
    on_batch: &mut dyn FnMut(arrow::array::RecordBatch) -> Option<arrow::array::RecordBatch>,
) -> Option<arrow::array::RecordBatch> {
    let mut builder = BatchBuilder::new(projection.clone());
    let mut buf = Vec::new();
    for f in files {
        let r = read_file(&f.path, u64::MAX / 4, false, &mut buf);
        assert!(r.decoded.is_ok());
        let mut sink = Sink { builder: &mut builder, batch_rows: 8192, on_batch: &mut *on_batch, prefilter: None };
        let src = FileSource { path: &f.display, info: &f.info, candidate: false };
        let path = f.path.clone();
        let mut reread = |out: &mut Vec<u8>| read_file(&path, u64::MAX / 4, false, out).decoded.ok().map(|_| ());
        black_box(parse_file(&mut buf, None, src, &mut sink, &mut reread));
    }
    builder.finish()
}

fn benches(c: &mut Criterion) {
    let corpus = corpus();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(corpus.json_bytes));
    g.sample_size(10);
    g.bench_function("inflate", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            for f in &corpus.files {
                black_box(read_file(&f.path, u64::MAX / 4, false, &mut buf).decoded.is_ok());
            }
        })
    });
    let all = Projection::all();
    let key_cols = Projection::new([1, 4, schema::COL_EVENT_TS, schema::COL_EVIDENCE_PATH, schema::COL_EVIDENCE_INDEX]);
    g.bench_function("decode_parse/all_columns", |b| b.iter(|| parse_all(&corpus.files, &all)));
    g.bench_function("decode_parse/key_columns", |b| b.iter(|| parse_all(&corpus.files, &key_cols)));
    let lineage: Vec<Term> = (0..5000)
        .map(|n| Term {
            path: vec!["userIdentity".into(), "accessKeyId".into()],
            literal: format!("ASIAZZZZBENCH{n:07}"),
        })
        .collect();
    let lineage = Prefilter::new([lineage]).expect("a usable filter");
    g.bench_function("prefilter/lineage_5000_keys", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            let mut kept = 0;
            for f in &corpus.files {
                assert!(read_file(&f.path, u64::MAX / 4, false, &mut buf).decoded.is_ok());
                kept += usize::from(lineage.file_may_match(&buf));
            }
            black_box(kept)
        })
    });
    let files = Arc::new(corpus.files.clone());
    g.bench_function("scan_2_threads/all_columns", |b| {
        b.iter(|| {
            let rx = spawn_scan(files.clone(), ScanOptions { threads: 2, ..ScanOptions::default() });
            let mut rows = 0;
            for ev in rx {
                if let ScanEvent::Batch { batch, .. } = ev {
                    rows += batch.num_rows();
                }
            }
            black_box(rows)
        })
    });
    let mut batches = Vec::new();
    let last = parse_each(&corpus.files, &all, &mut |b| {
        batches.push(b);
        None
    });
    batches.extend(last);
    g.bench_function("encode_parquet", |b| {
        b.iter(|| {
            let mut w = parquet::arrow::ArrowWriter::try_new(
                std::io::sink(),
                schema::cloudtrail_schema(),
                Some(writer_properties()),
            )
            .expect("writer");
            for batch in &batches {
                w.write(batch).expect("write");
            }
            black_box(w.close().expect("close").file_metadata().num_rows())
        })
    });
    drop(batches);
    let found = discover(&[corpus._dir.path()], &DiscoverOptions::default());
    g.bench_function("write_store_2_threads", |b| {
        b.iter(|| {
            let out = tempfile::tempdir().expect("temp dir");
            let opts = StoreOptions {
                out: out.path().join("store"),
                clobber: false,
                strict: false,
                scan: ScanOptions { threads: 2, ..ScanOptions::default() },
                chunk_bytes: CHUNK_BYTES,
            };
            black_box(write_store(&found, Vec::new(), &opts, &mut |_| {}).expect("ingest").totals.records_loaded)
        })
    });
    g.finish();
}

criterion_group!(ingest, benches);
criterion_main!(ingest);
