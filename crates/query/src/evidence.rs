//! The `cloudtrail` table over raw evidence files: a DataFusion [`TableProvider`] whose scan
//! runs trailsift's parallel ingest pipeline and streams its batches through a bounded
//! channel. Only the projected columns are built (projection pushdown into the parser);
//! files whose path rules them out are never opened, and a literal pre-filter skips files and
//! records that cannot match (see [`crate::pushdown`]).
//!
//! Every file report of a scan is kept in a [`ScanLog`], so the caller can name the evidence
//! that could not be read once the query has run.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use futures::StreamExt;
use trailsift_ingest::discover::EvidenceFile;
use trailsift_ingest::scan::{FileReport, ScanEvent, ScanOptions, start_scan};
use trailsift_ingest::schema::{Leaves, Projection, cloudtrail_schema};

use crate::pushdown::Pushdown;

/// Reports of the files the scans of a session could not read completely, by path (the last
/// report of a file wins), and counters that show what pushdown saved.
#[derive(Debug, Default)]
pub struct ScanLog {
    reports: Mutex<BTreeMap<String, FileReport>>,
    stats: Mutex<ScanStats>,
}

/// What the scans of a session did, summed over scans.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Scans started.
    pub scans: u64,
    /// CloudTrail files the scans could have read.
    pub files_considered: u64,
    /// Files never opened: their path shows they cannot hold matching rows.
    pub files_pruned: u64,
    /// Files read and decompressed.
    pub files_read: u64,
    /// Files read but not parsed: the literal pre-filter found no match in their bytes.
    pub files_skipped: u64,
    /// Records parsed.
    pub records_seen: u64,
    /// Records passed over by the literal pre-filter after parsing (never built).
    pub records_filtered: u64,
    /// Records built into rows.
    pub records_loaded: u64,
}

impl ScanLog {
    fn record(&self, r: FileReport) {
        {
            let mut st = self.stats.lock().expect("scan log lock");
            st.files_read += 1;
            st.files_skipped += r.skipped as u64;
            st.records_seen += r.records_seen;
            st.records_filtered += r.records_filtered;
            st.records_loaded += r.records_loaded;
        }
        // Only problems are kept: a clean report needs no memory, so a scan of many files
        // stays small. A later scan does not wipe a problem out: its literal pre-filter may
        // have passed the file over unparsed, or parsed only some of its records. Of two
        // reports of a problem, the one naming more rejected records is kept.
        if r.has_problem() {
            let mut reports = self.reports.lock().expect("scan log lock");
            let fuller = reports.get(&r.path).is_none_or(|old| r.rejected_records.len() >= old.rejected_records.len());
            if fuller {
                reports.insert(r.path.clone(), r);
            }
        }
    }

    fn started(&self, considered: usize, pruned: usize) {
        let mut st = self.stats.lock().expect("scan log lock");
        st.scans += 1;
        st.files_considered += considered as u64;
        st.files_pruned += pruned as u64;
    }

    /// The counters so far.
    pub fn stats(&self) -> ScanStats {
        *self.stats.lock().expect("scan log lock")
    }

    /// Reports of files that could not be read completely, sorted by path.
    pub fn problems(&self) -> Vec<FileReport> {
        self.reports.lock().expect("scan log lock").values().cloned().collect()
    }
}

/// The `cloudtrail` table over evidence files.
pub struct EvidenceTable {
    files: Arc<Vec<EvidenceFile>>,
    options: ScanOptions,
    log: Arc<ScanLog>,
    /// The fields of struct columns the query reads (set by [`crate::leaves::StructLeaves`]).
    leaves: Vec<(usize, Leaves)>,
}

impl fmt::Debug for EvidenceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceTable").field("files", &self.files.len()).finish()
    }
}

impl EvidenceTable {
    /// A table over `files` (CloudTrail files among them are read; others are ignored).
    pub fn new(files: Vec<EvidenceFile>, options: ScanOptions, log: Arc<ScanLog>) -> Self {
        let files = files.into_iter().filter(|f| f.kind.is_cloudtrail()).collect();
        Self { files: Arc::new(files), options, log, leaves: Vec::new() }
    }

    /// The same table, building only `leaves` of its struct columns (column index and the
    /// fields read).
    pub(crate) fn with_leaves(&self, leaves: Vec<(usize, Leaves)>) -> Self {
        Self { files: self.files.clone(), options: self.options.clone(), log: self.log.clone(), leaves }
    }

    /// The fields of struct columns this table builds (none listed: every field).
    pub(crate) fn leaves(&self) -> &[(usize, Leaves)] {
        &self.leaves
    }
}

#[async_trait]
impl TableProvider for EvidenceTable {
    fn schema(&self) -> SchemaRef {
        cloudtrail_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: the scan uses what it understands to skip work, DataFusion still applies
        // every filter exactly.
        Ok(filters
            .iter()
            .map(|f| {
                if Pushdown::understands(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut projection = match projection {
            Some(p) => Projection::new(p.iter().copied()),
            None => Projection::all(),
        };
        for (column, leaves) in &self.leaves {
            projection = projection.with_leaves(*column, leaves.clone());
        }
        let schema = projection.schema();
        let push = Pushdown::from_filters(filters);
        let files: Vec<EvidenceFile> = self.files.iter().filter(|f| push.may_hold(f)).cloned().collect();
        let pruned = self.files.len() - files.len();
        let options = ScanOptions { projection, prefilter: push.prefilter().map(Arc::new), ..self.options.clone() };
        let shared = Arc::new(SharedScan {
            files: Arc::new(files),
            options,
            log: self.log.clone(),
            rx: Mutex::new(None),
            pruned,
        });
        let partitions = state.config().target_partitions().max(1);
        let streams: Vec<Arc<dyn PartitionStream>> = (0..partitions)
            .map(|_| Arc::new(EvidencePartition { schema: schema.clone(), shared: shared.clone() }) as _)
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(schema, streams, None, Vec::new(), false, limit)?))
    }
}

/// One scan shared by the partitions of a plan: started by the first partition executed;
/// every partition pulls from the same bounded channel.
pub(crate) struct SharedScan {
    files: Arc<Vec<EvidenceFile>>,
    options: ScanOptions,
    log: Arc<ScanLog>,
    rx: Mutex<Option<flume::Receiver<ScanEvent>>>,
    pruned: usize,
}

impl SharedScan {
    /// A scan of `files` (`pruned` more were ruled out by their path), not started yet.
    pub(crate) fn new(files: Arc<Vec<EvidenceFile>>, options: ScanOptions, log: Arc<ScanLog>, pruned: usize) -> Self {
        Self { files, options, log, rx: Mutex::new(None), pruned }
    }

    fn receiver(&self) -> flume::Receiver<ScanEvent> {
        let mut guard = self.rx.lock().expect("scan lock");
        if let Some(rx) = guard.as_ref() {
            return rx.clone();
        }
        self.log.started(self.files.len() + self.pruned, self.pruned);
        let (tx, rx) = flume::bounded(self.options.worker_count().max(1) * 2);
        // File reports go straight to the log from the scan's threads: one channel event per
        // file would wake the query's threads thousands of times for nothing to compute.
        let log = self.log.clone();
        start_scan(
            self.files.clone(),
            self.options.clone(),
            Arc::new(move |ev| match ev {
                ScanEvent::FileDone(report) => {
                    log.record(report);
                    !tx.is_disconnected()
                }
                batch => tx.send(batch).is_ok(),
            }),
        );
        *guard = Some(rx.clone());
        rx
    }
}

pub(crate) struct EvidencePartition {
    schema: SchemaRef,
    shared: Arc<SharedScan>,
}

impl EvidencePartition {
    /// A partition of `shared` giving batches of `schema`.
    pub(crate) fn new(schema: SchemaRef, shared: Arc<SharedScan>) -> Self {
        Self { schema, shared }
    }
}

impl fmt::Debug for EvidencePartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EvidencePartition")
    }
}

impl PartitionStream for EvidencePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let rx = self.shared.receiver();
        let log = self.shared.log.clone();
        let stream = rx.into_stream().filter_map(move |ev| {
            let out = match ev {
                ScanEvent::Batch { batch, .. } => Some(Ok(batch)),
                // `SharedScan::receiver` records reports from the scan threads; one that
                // arrives here anyway is recorded too.
                ScanEvent::FileDone(report) => {
                    log.record(report);
                    None
                }
            };
            futures::future::ready(out)
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}
