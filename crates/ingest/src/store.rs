//! The Parquet store written by `trailsift ingest`: ingest once, query many times.
//!
//! Layout (Hive-style, readable by DataFusion, DuckDB, Spark, Athena/Trino):
//!
//! ```text
//! STORE/manifest.json                       evidence manifest (see crate::manifest)
//! STORE/errors.jsonl                        one line per unreadable file or rejected record
//! STORE/cloudtrail/account=<id>/region=<r>/date=<YYYY-MM-DD>/part-00000.parquet
//! STORE/vpc_flow/account=<id>/region=<r>/date=<YYYY-MM-DD>/part-00000.parquet
//! ```
//!
//! Partition values come from the evidence file's S3 key (`__unknown__` when the path has
//! none). Files are zstd-compressed, with page statistics and a bloom filter on
//! `useridentity.accesskeyid` and `sourceipaddress` (`srcaddr`/`dstaddr` for `vpc_flow`).
//! Rows are in evidence order: files by path (for CloudTrail's names, by delivery time
//! within a partition), records as they are in their file. The same evidence therefore
//! always gives the same files, whatever order the workers finish in.
//!
//! The evidence is cut into chunks of consecutive files of one partition (at most
//! [`CHUNK_BYTES`] on disk, and about a [`MIN_CHUNKS`]th of a small archive), taken largest
//! first. A worker takes a chunk, parses its files in order and streams the rows into the
//! chunk's Parquet file as they are built, so memory is one batch and one row group per
//! worker whatever the size of the evidence. Once all are written, the parts
//! of a partition are merged into one file (column chunks copied, not encoded again), so
//! that a query opens one file per partition.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::builder::BatchBuilder;
use crate::discover::{Discovery, EvidenceFile};
use crate::error::IngestError;
use crate::manifest::{Manifest, TableInfo};
use crate::scan::{self, FileReport, ScanOptions};
use crate::schema::{self, Projection};
use crate::vpc::{self, VpcBuilder, VpcScanOptions};

/// Most compressed bytes of evidence that go into one part file. The rows are streamed, so
/// this does not bound memory (a worker holds one batch and one row group of at most
/// [`ROW_GROUP_ROWS`]); it sets how evenly the work spreads over the workers (a partition is
/// cut into chunks that different workers write) and how many row groups are cut short at
/// the end of a part. Chunks are taken largest first, so the last ones are small. On 2 GB
/// of JSON (245 MB compressed, 2 workers), the median of 5 ingests took 3.97 s with 4 MiB
/// chunks and 3.90 s with 16 MiB chunks: every column chunk of a row group creates its own
/// zstd contexts in parquet-rs, and fewer, fuller row groups create fewer.
pub const CHUNK_BYTES: u64 = 16 << 20;
/// An archive smaller than this many [`CHUNK_BYTES`] is cut into this many chunks or more
/// (down to [`MIN_CHUNK_BYTES`] each), so that its work is still shared out between the
/// workers.
pub const MIN_CHUNKS: u64 = 8;
/// Least size of a chunk cut to share an archive out. Each chunk is a Parquet file with its
/// own column writers (dictionaries, compressors, footer): on 125 MB of JSON (15 MB of
/// gzip), chunks of 1 MB took 3.8 % more instructions than chunks of 4 MB. A chunk also ends
/// with its partition, so it can be smaller.
pub const MIN_CHUNK_BYTES: u64 = 4 << 20;
/// Partition value used when the path has none.
pub const UNKNOWN_PARTITION: &str = "__unknown__";
/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Options for [`write_store`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Store directory.
    pub out: PathBuf,
    /// Replace an existing trailsift store.
    pub clobber: bool,
    /// Stop at the first unreadable evidence.
    pub strict: bool,
    /// Scan options (projection, hashing and batching are set by the writer).
    pub scan: ScanOptions,
    /// Most compressed bytes of evidence per chunk ([`CHUNK_BYTES`] unless measuring).
    pub chunk_bytes: u64,
}

/// Refuses an output inside any evidence directory (evidence is read-only).
pub fn check_output_outside(out: &Path, evidence: &[PathBuf]) -> Result<(), IngestError> {
    let out_abs = absolute_lexical(out);
    for ev in evidence {
        let canon = fs::canonicalize(ev).unwrap_or_else(|_| absolute_lexical(ev));
        let root = if canon.is_dir() { canon } else { canon.parent().map(Path::to_path_buf).unwrap_or(canon) };
        // Compare both the literal and the resolved form of the output's existing ancestor.
        let resolved = resolve_existing_prefix(&out_abs);
        if out_abs.starts_with(&root) || resolved.starts_with(&root) {
            return Err(IngestError::OutputInsideEvidence { out: out.to_path_buf(), evidence: ev.clone() });
        }
    }
    Ok(())
}

fn absolute_lexical(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Canonicalises the longest existing prefix of `p` and appends the rest.
fn resolve_existing_prefix(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
    let mut out = fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

fn prepare_output(opts: &StoreOptions) -> Result<(), IngestError> {
    let out = &opts.out;
    if out.exists() {
        let empty = fs::read_dir(out).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty {
            if !out.join("manifest.json").is_file() {
                return Err(IngestError::NotAStore { path: out.clone() });
            }
            if !opts.clobber {
                return Err(IngestError::OutputExists { path: out.clone() });
            }
            fs::remove_dir_all(out).map_err(|e| IngestError::io(out, e))?;
        }
    }
    fs::create_dir_all(out).map_err(|e| IngestError::io(out, e))
}

/// The relative directory of a file's partition.
fn partition_dir(f: &EvidenceFile) -> String {
    let table = if f.kind.is_vpc_flow() { "vpc_flow" } else { "cloudtrail" };
    let clean = |s: Option<String>| {
        s.filter(|v| !v.is_empty())
            .map(|v| v.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect())
            .unwrap_or_else(|| UNKNOWN_PARTITION.to_string())
    };
    format!(
        "{table}/account={}/region={}/date={}",
        clean(f.info.account.clone()),
        clean(f.info.region.clone()),
        clean(f.info.date_string())
    )
}

/// A run of consecutive files of one partition, written as one Parquet file.
#[derive(Debug)]
struct Chunk {
    rel_path: String,
    vpc: bool,
    files: Vec<usize>,
}

/// What one store worker takes at a time: a chunk to parse and write, or a file that is
/// only hashed and reported (digests, unknown files).
#[derive(Debug, Clone, Copy)]
enum Unit {
    Chunk(usize),
    Other(usize),
}

/// What store workers tell the thread that gathers the manifest.
enum Done {
    File(FileReport),
    Part(Result<(String, u64), IngestError>),
}

/// Writes the store for the discovered evidence and returns its manifest.
///
/// `on_file` sees every file report as it completes (for progress bars).
pub fn write_store(
    discovery: &Discovery,
    roots: Vec<String>,
    opts: &StoreOptions,
    on_file: &mut dyn FnMut(&FileReport),
) -> Result<Manifest, IngestError> {
    prepare_output(opts)?;
    let result = write_store_inner(discovery, roots, opts, on_file);
    if result.is_err() {
        // Only what this run created is removed; a partial store is worse than none.
        let _ = fs::remove_dir_all(&opts.out);
    }
    result
}

/// Cuts the files into chunks (consecutive files of one partition, at most `chunk_bytes` on
/// disk) and lists the work, largest first.
fn plan(files: &[EvidenceFile], chunk_bytes: u64) -> (Vec<Chunk>, Vec<Unit>) {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut units = Vec::new();
    let mut parts_per_dir: HashMap<String, usize> = HashMap::new();
    let mut current: Option<(String, u64)> = None;
    for (i, f) in files.iter().enumerate() {
        if !f.kind.is_cloudtrail() && !f.kind.is_vpc_flow() {
            units.push(Unit::Other(i));
            continue;
        }
        let dir = partition_dir(f);
        let start_new = match &current {
            Some((d, bytes)) => *d != dir || bytes + f.size > chunk_bytes,
            None => true,
        };
        if start_new {
            let n = parts_per_dir.entry(dir.clone()).or_default();
            chunks.push(Chunk {
                rel_path: format!("{dir}/part-{n:05}.parquet"),
                vpc: f.kind.is_vpc_flow(),
                files: Vec::new(),
            });
            units.push(Unit::Chunk(chunks.len() - 1));
            *n += 1;
            current = Some((dir, 0));
        }
        chunks.last_mut().expect("a chunk").files.push(i);
        if let Some((_, bytes)) = &mut current {
            *bytes += f.size;
        }
    }
    // Largest first, so that the last units to finish are small ones and no worker waits
    // long for another at the end. The order of the work does not change the store: each
    // chunk has its own part file, and the reports are sorted into the manifest.
    let size = |u: &Unit| match *u {
        Unit::Chunk(c) => chunks[c].files.iter().map(|&i| files[i].size).sum(),
        Unit::Other(i) => files[i].size,
    };
    units.sort_by_cached_key(|u| std::cmp::Reverse(size(u)));
    (chunks, units)
}

fn write_store_inner(
    discovery: &Discovery,
    roots: Vec<String>,
    opts: &StoreOptions,
    on_file: &mut dyn FnMut(&FileReport),
) -> Result<Manifest, IngestError> {
    if opts.strict
        && let Some(p) = discovery.problems.first()
    {
        return Err(IngestError::Strict { path: p.path.clone(), reason: p.reason.clone() });
    }
    let files = &discovery.files;
    let vpc = VpcScanOptions { format: opts.scan.vpc.format.clone(), projection: None, filter: None };
    let scan =
        ScanOptions { projection: Projection::all(), hash: true, batch_per_file: false, vpc, ..opts.scan.clone() };
    // A small archive is still cut into several chunks to share out. The cut depends on the
    // evidence alone, not on the number of workers, so the store is the same file for file.
    let total: u64 = files.iter().map(|f| f.size).sum();
    let share = (total / MIN_CHUNKS).max(MIN_CHUNK_BYTES);
    let (chunks, units) = plan(files, opts.chunk_bytes.min(share));
    let workers = scan.worker_count().max(1).min(units.len().max(1));
    // Each worker parses a chunk's files in order and streams the rows straight into that
    // chunk's Parquet file, so a part holds its evidence in order and memory is one batch
    // and one row group per worker. The reports go through a bounded channel.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Done>(workers * 4);
    let next = AtomicUsize::new(0);
    let mut reports: Vec<FileReport> = Vec::with_capacity(files.len());
    let mut written: Vec<(String, u64)> = Vec::new();
    let (out, scan, chunks, units, next) = (&opts.out, &scan, &chunks, &units, &next);
    let gathered: Result<(), IngestError> = std::thread::scope(|sc| {
        for _ in 0..workers {
            let tx = tx.clone();
            sc.spawn(move || store_worker(files, chunks, units, next, scan, out, &tx));
        }
        drop(tx);
        // Owned by this closure: dropped when it returns, so that the workers stop at their
        // next message when the ingest stops early.
        let rx = rx;
        for done in rx {
            match done {
                Done::File(report) => {
                    on_file(&report);
                    if opts.strict && report.has_problem() {
                        let reason = report.error.clone().unwrap_or_else(|| {
                            let r = &report.rejected_records[0];
                            format!("record {} rejected: {}", r.index, r.reason)
                        });
                        return Err(IngestError::Strict { path: report.path.clone(), reason });
                    }
                    reports.push(report);
                }
                Done::Part(res) => {
                    let (rel, rows) = res?;
                    if rows > 0 {
                        written.push((rel, rows));
                    }
                }
            }
        }
        Ok(())
    });
    gathered?;
    written.sort();
    let written = merge_parts(out, written)?;
    let mut manifest = Manifest::new(roots, reports, discovery.problems.clone());
    for table in ["cloudtrail", "vpc_flow"] {
        let mine: Vec<&(String, u64)> = written.iter().filter(|w| w.0.starts_with(&format!("{table}/"))).collect();
        manifest.tables.insert(
            table.into(),
            TableInfo { rows: mine.iter().map(|w| w.1).sum(), files: mine.iter().map(|w| w.0.clone()).collect() },
        );
    }
    write_errors(&opts.out, &manifest)?;
    let path = opts.out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    fs::write(&path, text + "\n").map_err(|e| IngestError::io(&path, e))?;
    Ok(manifest)
}

/// One store worker: takes units in order until none is left or nobody listens.
fn store_worker(
    files: &[EvidenceFile],
    chunks: &[Chunk],
    units: &[Unit],
    next: &AtomicUsize,
    opts: &ScanOptions,
    out: &Path,
    tx: &SyncSender<Done>,
) {
    let mut builder = BatchBuilder::new(opts.projection.clone());
    let mut vpc_builder: Option<VpcBuilder> = None;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(&unit) = units.get(next.fetch_add(1, Ordering::Relaxed)) {
        let chunk = match unit {
            Unit::Other(i) => {
                let report = scan::process_file(i, &files[i], opts, &mut builder, &mut buf, &mut |_| None);
                if tx.send(Done::File(report)).is_err() {
                    return;
                }
                continue;
            }
            Unit::Chunk(c) => &chunks[c],
        };
        let mut part = PartWriter::new(out, &chunk.rel_path, chunk.vpc);
        for &i in &chunk.files {
            let report = if chunk.vpc {
                let v = vpc_builder.get_or_insert_with(|| VpcBuilder::new(None));
                vpc::process_file(i, &files[i], opts, v, &mut buf, &mut |b| part.write(&b))
            } else {
                scan::process_file(i, &files[i], opts, &mut builder, &mut buf, &mut |b| {
                    part.write(&b);
                    Some(b)
                })
            };
            if tx.send(Done::File(report)).is_err() {
                return;
            }
            // Big buffers from one huge file are not kept for the rest of the ingest.
            if buf.capacity() > 256 << 20 {
                buf = Vec::new();
            }
        }
        if chunk.vpc {
            if let Some(b) = vpc_builder.as_mut().and_then(VpcBuilder::finish) {
                part.write(&b);
            }
        } else if let Some(b) = builder.finish() {
            part.write(&b);
            builder.recycle(b);
        }
        let res = part.close().map(|rows| (chunk.rel_path.clone(), rows));
        if tx.send(Done::Part(res)).is_err() {
            return;
        }
    }
}

/// The Parquet file of one chunk, created with its first row; a write error is kept and
/// returned by [`PartWriter::close`] (later rows are dropped, as the ingest fails anyway).
struct PartWriter {
    path: PathBuf,
    vpc: bool,
    writer: Option<ArrowWriter<fs::File>>,
    rows: u64,
    error: Option<IngestError>,
}

impl PartWriter {
    fn new(out: &Path, rel: &str, vpc: bool) -> Self {
        Self { path: out.join(rel), vpc, writer: None, rows: 0, error: None }
    }

    fn write(&mut self, batch: &RecordBatch) {
        if self.error.is_some() || batch.num_rows() == 0 {
            return;
        }
        if let Err(e) = self.try_write(batch) {
            self.error = Some(e);
        }
    }

    fn try_write(&mut self, batch: &RecordBatch) -> Result<(), IngestError> {
        let pq = |source| IngestError::Parquet { path: self.path.clone(), source };
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent() {
                fs::create_dir_all(dir).map_err(|e| IngestError::io(dir, e))?;
            }
            let file = fs::File::create(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
            let (schema, props) = if self.vpc {
                (vpc::vpc_flow_schema(), vpc_writer_properties())
            } else {
                (schema::cloudtrail_schema(), writer_properties())
            };
            self.writer = Some(ArrowWriter::try_new(file, schema, Some(props)).map_err(pq)?);
        }
        self.writer.as_mut().expect("opened above").write(batch).map_err(pq)?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes the file; returns its row count (no file is written for 0 rows).
    fn close(self) -> Result<u64, IngestError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(w) = self.writer {
            w.close().map_err(|source| IngestError::Parquet { path: self.path.clone(), source })?;
        }
        Ok(self.rows)
    }
}

fn write_errors(out: &Path, manifest: &Manifest) -> Result<(), IngestError> {
    let path = out.join("errors.jsonl");
    let mut text = String::new();
    for p in &manifest.walk_problems {
        text += &serde_json::json!({"path": p.path, "index": null, "reason": p.reason}).to_string();
        text.push('\n');
    }
    for f in &manifest.files {
        if let Some(e) = &f.error {
            text += &serde_json::json!({"path": f.path, "index": null, "reason": e}).to_string();
            text.push('\n');
        }
        for r in &f.rejected_records {
            text += &serde_json::json!({"path": f.path, "index": r.index, "reason": r.reason}).to_string();
            text.push('\n');
        }
    }
    let mut file = fs::File::create(&path).map_err(|e| IngestError::io(&path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| IngestError::io(&path, e))
}

/// Top-level `cloudtrail` columns written without a dictionary: the IDs and record indexes,
/// all different, and the event times, which repeat a few times a second and which zstd packs
/// as well without one (the 2 GB store was 131 MB this way, 135 MB with their dictionaries).
pub const PLAIN_COLUMNS: [&str; 6] =
    ["eventid", "requestid", "sharedeventid", "event_ts", "eventtime", "evidence_index"];

/// Integer columns that rise through a file, written as deltas (`DELTA_BINARY_PACKED`): the
/// record's index in its file and the event time.
pub const DELTA_COLUMNS: [&str; 2] = ["evidence_index", "event_ts"];

/// Top-level `cloudtrail` columns written without min/max statistics: values that are all
/// different or nearly so and come in no order (IDs, user agents, source addresses), so that
/// the range of every page spans nearly all values and prunes nothing. Lookups of a source
/// address are served by its bloom filter instead.
pub const UNORDERED_COLUMNS: [&str; 5] = ["eventid", "requestid", "sharedeventid", "useragent", "sourceipaddress"];

/// Writer settings of the store's Parquet files.
///
/// Statistics, page indexes and bloom filters are written where a query can prune with them,
/// and nowhere else: computing a page's min and max compares every value, so it costs most on
/// the long, dense string columns that it helps least.
/// - Page statistics on the top-level scalar columns: the event times and provenance columns
///   rise through a file, the partition columns are constant, and for the categorical ones
///   (`eventname`, `errorcode`, …) the null counts skip the pages where a field is absent.
/// - None on [`UNORDERED_COLUMNS`], on the JSON text columns (no query prunes on the byte
///   order of a JSON document) and on the fields of struct and list columns (DataFusion 55
///   prunes nothing on a struct field; see `Engine::sql` in trailsift-query).
/// - Bloom filters on `sourceipaddress` and `useridentity.accesskeyid` (for other readers of
///   the store, and for when DataFusion prunes on struct fields).
/// - No dictionary for [`PLAIN_COLUMNS`] (the writer hashed every value to find few repeats)
///   nor for the JSON text columns; deltas for [`DELTA_COLUMNS`].
///
/// Dictionaries and statistics took ingest of 2 GB from 13.0 to 12.2 CPU-seconds and the store
/// from 139 to 131 MB; statistics limited to where they prune took another 4 % of the
/// instructions (callgrind, 125 MB of evidence: 5.22 → 5.0 billion).
pub fn writer_properties() -> WriterProperties {
    let col = |p: &[&str]| ColumnPath::new(p.iter().map(|s| s.to_string()).collect());
    let mut b = WriterProperties::builder()
        .set_created_by(format!("trailsift {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid")))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::None)
        .set_column_bloom_filter_enabled(col(&["useridentity", "accesskeyid"]), true)
        .set_column_bloom_filter_enabled(col(&["sourceipaddress"]), true);
    for name in PLAIN_COLUMNS {
        b = b.set_column_dictionary_enabled(col(&[name]), false);
    }
    for name in DELTA_COLUMNS {
        b = b.set_column_encoding(col(&[name]), parquet::basic::Encoding::DELTA_BINARY_PACKED);
    }
    let schema = schema::cloudtrail_schema();
    for field in schema.fields() {
        let name = field.name().as_str();
        let json = schema::RECORD_FIELDS.iter().any(|f| f.name == name && matches!(f.kind, schema::Kind::Json))
            || name == "extra";
        if json {
            b = b.set_column_dictionary_enabled(col(&[name]), false);
        } else if !field.data_type().is_nested() && !UNORDERED_COLUMNS.contains(&name) {
            b = b.set_column_statistics_enabled(col(&[name]), EnabledStatistics::Page);
        }
    }
    b.build()
}

/// Writer settings of the store's `vpc_flow` Parquet files (bloom filters on the addresses).
pub fn vpc_writer_properties() -> WriterProperties {
    let col = |p: &str| ColumnPath::new(vec![p.to_string()]);
    WriterProperties::builder()
        .set_created_by(format!("trailsift {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid")))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_bloom_filter_enabled(col("srcaddr"), true)
        .set_column_bloom_filter_enabled(col("dstaddr"), true)
        .build()
}

/// Most bytes of one Parquet file made by merging the parts of a partition.
pub const MERGED_FILE_BYTES: u64 = 256 << 20;

/// Merges the part files of each partition folder (one per chunk of evidence, so a busy
/// partition has many) into as few files as [`MERGED_FILE_BYTES`] allows, each part's row
/// groups becoming row groups of the merged file. The column chunks are copied as they are,
/// with their statistics, page indexes and bloom filters: nothing is decoded or encoded
/// again, and memory stays that of one column chunk.
///
/// Every file a query opens costs its footer, schema and pruning set-up: on a 2 GB archive,
/// 76 parts of 4 MiB of evidence each made a store key lookup take 0.12 s, and the same rows
/// in 28 files 0.10 s. `written` is `(path, rows)` sorted by path; the result is the same
/// for the merged files.
fn merge_parts(out: &Path, written: Vec<(String, u64)>) -> Result<Vec<(String, u64)>, IngestError> {
    use rayon::prelude::*;
    // Consecutive parts of one folder, cut where the merged file would pass the limit.
    let mut groups: Vec<Vec<(String, u64)>> = Vec::new();
    let mut group_bytes = 0u64;
    for (rel, rows) in written {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let bytes = fs::metadata(out.join(&rel)).map(|m| m.len()).unwrap_or(0);
        let same_dir = groups.last().and_then(|g| g.first()).is_some_and(|(r, _)| r.starts_with(&format!("{dir}/")));
        if same_dir && group_bytes + bytes <= MERGED_FILE_BYTES {
            group_bytes += bytes;
            groups.last_mut().expect("a group").push((rel, rows));
        } else {
            group_bytes = bytes;
            groups.push(vec![(rel, rows)]);
        }
    }
    groups
        .into_par_iter()
        .map(|group| {
            if group.len() == 1 {
                return Ok(group.into_iter().next().expect("one part"));
            }
            let rows = group.iter().map(|(_, r)| r).sum();
            let parts: Vec<PathBuf> = group.iter().map(|(rel, _)| out.join(rel)).collect();
            let merged = out.join(format!("{}.merging", group[0].0));
            concat_parquet(&parts, &merged)?;
            for p in &parts {
                fs::remove_file(p).map_err(|e| IngestError::io(p, e))?;
            }
            fs::rename(&merged, &parts[0]).map_err(|e| IngestError::io(&merged, e))?;
            Ok((group[0].0.clone(), rows))
        })
        .collect()
}

/// Writes the row groups of `parts` (files of one schema, as [`PartWriter`] writes them),
/// in order, to the new file `to`, copying each column chunk with its statistics, page index
/// and bloom filter.
fn concat_parquet(parts: &[PathBuf], to: &Path) -> Result<(), IngestError> {
    use parquet::bloom_filter::Sbbf;
    use parquet::column::writer::ColumnCloseResult;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
    use parquet::file::writer::SerializedFileWriter;

    let file = fs::File::create(to).map_err(|e| IngestError::io(to, e))?;
    let mut writer: Option<SerializedFileWriter<fs::File>> = None;
    let mut out_file = Some(file);
    for part in parts {
        let pq = |source| IngestError::Parquet { path: part.clone(), source };
        let input = fs::File::open(part).map_err(|e| IngestError::io(part, e))?;
        let metadata = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .parse_and_finish(&input)
            .map_err(pq)?;
        let file_meta = metadata.file_metadata();
        let w = match &mut writer {
            Some(w) => {
                if w.schema_descr().root_schema() != file_meta.schema_descr().root_schema() {
                    return Err(IngestError::Parquet {
                        path: part.clone(),
                        source: parquet::errors::ParquetError::General(format!(
                            "its schema differs from {}'s: cannot merge them",
                            parts[0].display()
                        )),
                    });
                }
                w
            }
            None => {
                let props = Arc::new(
                    WriterProperties::builder().set_key_value_metadata(file_meta.key_value_metadata().cloned()).build(),
                );
                let root = file_meta.schema_descr().root_schema_ptr();
                let file = out_file.take().expect("the output is opened once");
                writer.insert(SerializedFileWriter::new(file, root, props).map_err(pq)?)
            }
        };
        for (g, group) in metadata.row_groups().iter().enumerate() {
            let mut out_group = w.next_row_group().map_err(pq)?;
            for (c, column) in group.columns().iter().enumerate() {
                let close = ColumnCloseResult {
                    bytes_written: column.compressed_size() as u64,
                    rows_written: group.num_rows() as u64,
                    metadata: column.clone(),
                    bloom_filter: Sbbf::read_from_column_chunk(column, &input).map_err(pq)?,
                    column_index: metadata.column_index().and_then(|i| i.get(g)).and_then(|i| i.get(c)).cloned(),
                    offset_index: metadata.offset_index().and_then(|i| i.get(g)).and_then(|i| i.get(c)).cloned(),
                };
                out_group.append_column(&input, close).map_err(pq)?;
            }
            out_group.close().map_err(pq)?;
        }
    }
    if let Some(w) = writer {
        w.close().map_err(|source| IngestError::Parquet { path: to.to_path_buf(), source })?;
    }
    Ok(())
}
