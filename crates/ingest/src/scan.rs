//! The parallel scan: worker threads take evidence files in order, read, inflate and parse
//! them, and send record batches and per-file reports through a *bounded* channel, so memory
//! stays flat however large the archive is. Dropping the receiver stops the workers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::builder::BatchBuilder;
use crate::decode::{self, Decoded};
use crate::discover::{EvidenceFile, FileKind};
use crate::parse::{self, FileSource, Reject, Sink};
use crate::prefilter::Prefilter;
use crate::schema::Projection;
use crate::vpc::VpcBuilder;

/// Options of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Cap on the expanded size of one file.
    pub max_file_bytes: u64,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Columns to build.
    pub projection: Projection,
    /// Compute the SHA-256 of every file (for manifests).
    pub hash: bool,
    /// Flush the batch at the end of every file, so that each batch holds one file's rows.
    pub batch_per_file: bool,
    /// Literal pre-filter of a query: files and records that cannot match are not parsed or
    /// built (only for queries; an ingest loads everything).
    pub prefilter: Option<Arc<Prefilter>>,
    /// How VPC flow-log files are read (their rows go to `vpc_flow` batches).
    pub vpc: crate::vpc::VpcScanOptions,
    /// Verification status per evidence path (from `trailsift-verify`): fills the
    /// `evidence_verification` column and the reports' `verification`. `None`: not verified.
    pub verification: Option<Arc<BTreeMap<String, String>>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            max_file_bytes: decode::DEFAULT_MAX_FILE_BYTES,
            batch_rows: 8192,
            projection: Projection::all(),
            hash: false,
            batch_per_file: false,
            prefilter: None,
            vpc: Default::default(),
            verification: None,
        }
    }
}

impl ScanOptions {
    /// Verification status of the file at `path`: its entry in [`Self::verification`], or
    /// `not_covered` when verification was asked but no digest lists the file.
    pub fn verification_of(&self, path: &str) -> Option<&str> {
        self.verification.as_ref().map(|m| m.get(path).map(String::as_str).unwrap_or("not_covered"))
    }

    /// The number of worker threads this scan uses.
    pub fn worker_count(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            self.threads
        }
    }
}

/// What happened to one evidence file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    /// Position of the file in the scanned list.
    #[serde(skip)]
    pub file: usize,
    /// Path as shown to the user.
    pub path: String,
    /// Bytes on disk.
    pub bytes: u64,
    /// SHA-256 of the bytes on disk (empty when not computed or unreadable).
    pub sha256: String,
    /// Bytes of content after decompression (0 when not read).
    #[serde(default)]
    pub content_bytes: u64,
    /// What the file is (after looking at its content, for JSON of unknown kind).
    pub kind: FileKind,
    /// Records found.
    pub records_seen: u64,
    /// Records loaded.
    pub records_loaded: u64,
    /// Records rejected.
    pub records_rejected: u64,
    /// Records a query's pre-filter passed over (never set by an ingest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_filtered: u64,
    /// The file was read but not parsed: a query's pre-filter showed it cannot match.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Problem with the file as a whole, if any.
    pub error: Option<String>,
    /// Something worth knowing that is not a problem (e.g. gzip name but plain content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Digest verification status of the file, when verification was asked (`trailsift
    /// verify` statuses: `valid`, `modified`, `not_covered`, … for logs, the digest's own
    /// status for digest files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// Rejected records with index and reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_records: Vec<Reject>,
}

impl FileReport {
    /// Whether some of this file's evidence could not be read.
    pub fn has_problem(&self) -> bool {
        self.error.is_some() || self.records_rejected > 0
    }
}

/// An event of a scan.
#[derive(Debug)]
pub enum ScanEvent {
    /// Rows: of `cloudtrail`, or of `vpc_flow` for flow-log files (see the batch's schema).
    /// `file` is set when the scan flushes per file.
    Batch {
        /// File the rows came from (only with [`ScanOptions::batch_per_file`]).
        file: Option<usize>,
        /// The rows.
        batch: RecordBatch,
    },
    /// A file is done (sent after all of its batches when flushing per file).
    FileDone(FileReport),
}

/// Where scan events go: returns false when nobody listens any more (the scan then stops).
/// It should block when the consumer is behind: that is what bounds memory.
pub type EventSender = Arc<dyn Fn(ScanEvent) -> bool + Send + Sync>;

/// Starts a scan of `files` on its own threads; events arrive on the returned receiver,
/// which holds at most a few batches per worker. Drop it to stop the scan early.
pub fn spawn_scan(files: Arc<Vec<EvidenceFile>>, opts: ScanOptions) -> Receiver<ScanEvent> {
    let (tx, rx): (SyncSender<ScanEvent>, _) = sync_channel(opts.worker_count().max(1) * 2);
    start_scan(files, opts, Arc::new(move |ev| tx.send(ev).is_ok()));
    rx
}

/// Starts a scan of `files` on its own threads, sending events to `send`; returns at once.
pub fn start_scan(files: Arc<Vec<EvidenceFile>>, opts: ScanOptions, send: EventSender) {
    let workers = opts.worker_count().max(1).min(files.len().max(1));
    let next = Arc::new(AtomicUsize::new(0));
    let opts = Arc::new(opts);
    for _ in 0..workers {
        let (files, opts, send, next) = (files.clone(), opts.clone(), send.clone(), next.clone());
        std::thread::Builder::new()
            .name("trailsift-scan".into())
            .spawn(move || worker(&files, &opts, &*send, &next))
            .expect("can spawn scan threads");
    }
}

fn worker(files: &[EvidenceFile], opts: &ScanOptions, send: &dyn Fn(ScanEvent) -> bool, next: &AtomicUsize) {
    let mut builder = BatchBuilder::new(opts.projection.clone());
    let mut buf: Vec<u8> = Vec::new();
    // Flow-log files give `vpc_flow` rows, built apart (made on the first such file).
    let mut vpc: Option<VpcBuilder> = None;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(file) = files.get(i) else { break };
        let mut pending: Vec<RecordBatch> = Vec::new();
        let report = if file.kind.is_vpc_flow() {
            let v = vpc.get_or_insert_with(|| VpcBuilder::new(opts.vpc.projection.as_deref()));
            crate::vpc::process_file(i, file, opts, v, &mut buf, &mut |b| pending.push(b))
        } else {
            process_file(i, file, opts, &mut builder, &mut buf, &mut |b| {
                pending.push(b);
                None
            })
        };
        if opts.batch_per_file {
            pending.extend(builder.finish());
            pending.extend(vpc.as_mut().and_then(VpcBuilder::finish));
        }
        for batch in pending {
            let file = opts.batch_per_file.then_some(i);
            if !send(ScanEvent::Batch { file, batch }) {
                return;
            }
        }
        if !send(ScanEvent::FileDone(report)) {
            return;
        }
        // Big buffers from one huge file are not kept for the rest of the scan.
        if buf.capacity() > 256 << 20 {
            buf = Vec::new();
        }
    }
    if let Some(batch) = builder.finish() {
        send(ScanEvent::Batch { file: None, batch });
    }
    if let Some(batch) = vpc.as_mut().and_then(VpcBuilder::finish) {
        send(ScanEvent::Batch { file: None, batch });
    }
}

/// Reads, inflates and parses one file, appending its rows to `builder` (full batches go to
/// `on_batch`, which may give them back for reuse, as in [`Sink`]). Files that are not
/// CloudTrail are hashed and reported, not parsed.
pub fn process_file(
    index: usize,
    file: &EvidenceFile,
    opts: &ScanOptions,
    builder: &mut BatchBuilder,
    buf: &mut Vec<u8>,
    on_batch: &mut dyn FnMut(RecordBatch) -> Option<RecordBatch>,
) -> FileReport {
    let mut report = FileReport {
        file: index,
        path: file.display.clone(),
        bytes: file.size,
        sha256: String::new(),
        content_bytes: 0,
        kind: file.kind,
        records_seen: 0,
        records_loaded: 0,
        records_rejected: 0,
        records_filtered: 0,
        skipped: false,
        error: None,
        note: None,
        verification: file_verification(opts, file),
        rejected_records: Vec::new(),
    };
    if !file.kind.is_cloudtrail() {
        if opts.hash {
            report.sha256 = hash_only(&file.path).unwrap_or_else(|e| {
                report.error = Some(format!("cannot read file: {e}"));
                String::new()
            });
        }
        return report;
    }
    let read = decode::read_file(&file.path, opts.max_file_bytes, opts.hash, buf);
    report.bytes = read.bytes;
    report.sha256 = read.sha256;
    let decoded = match read.decoded {
        Ok(d) => d,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.content_bytes = buf.len() as u64;
    let truncated = match &decoded {
        Decoded::Truncated { reason } => Some(reason.clone()),
        Decoded::Plain if is_gz_name(&file.display) && !buf.is_empty() => {
            report.note = Some("named .gz but not gzip-compressed: read as plain content".into());
            None
        }
        _ => None,
    };
    if let Some(p) = &opts.prefilter
        && truncated.is_none()
        && !p.file_may_match(buf)
    {
        report.skipped = true;
        return report;
    }
    builder.set_verification(opts.verification_of(&file.display));
    let mut sink = Sink { builder, batch_rows: opts.batch_rows.max(1), on_batch, prefilter: opts.prefilter.as_deref() };
    let source = FileSource { path: &file.display, info: &file.info, candidate: file.kind == FileKind::JsonCandidate };
    let path = file.path.clone();
    let max = opts.max_file_bytes;
    let mut reread = |out: &mut Vec<u8>| -> Option<()> {
        let again = decode::read_file(&path, max, false, out);
        again.decoded.ok().map(|_| ())
    };
    let outcome = parse::parse_file(buf, truncated, source, &mut sink, &mut reread);
    if outcome.not_cloudtrail {
        report.kind = FileKind::Unknown;
        report.note = Some("JSON, but not CloudTrail records: not loaded".into());
        return report;
    }
    if report.kind == FileKind::JsonCandidate {
        report.kind = FileKind::Cloudtrail;
    }
    report.records_seen = outcome.seen;
    report.records_loaded = outcome.loaded;
    report.records_rejected = outcome.rejects.len() as u64;
    report.records_filtered = outcome.filtered;
    report.rejected_records = outcome.rejects;
    report.error = outcome.error;
    report
}

/// The manifest's `verification` of a file: CloudTrail files default to `not_covered`, other
/// kinds (digests) carry only the status verification gave them.
/// Verification status recorded for `file` (cloudtrail logs not named by any digest are
/// `not_covered`; other kinds only when listed).
pub(crate) fn file_verification(opts: &ScanOptions, file: &EvidenceFile) -> Option<String> {
    if file.kind.is_cloudtrail() {
        opts.verification_of(&file.display).map(str::to_string)
    } else {
        opts.verification.as_ref().and_then(|m| m.get(&file.display).cloned())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_gz_name(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".gz")
}

fn hash_only(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}
