//! Duplicate events. Overlapping exports (an organisation trail beside an account trail, an
//! event-history export beside the trail, two copies of one folder) deliver the same event
//! more than once. `cloudtrail` keeps every record as delivered; the view
//! [`UNIQUE_VIEW`] (`cloudtrail_unique`) keeps one row per (`eventid`,
//! `recipientaccountid`): the first by (`evidence_path`, `evidence_index`), so the choice is
//! the same on every run. Records without an `eventid` are all kept.
//!
//! [`duplicate_report`] counts the records the view collapses and lists the conflicts: two
//! records with the same (`eventid`, `recipientaccountid`) whose content differs (possible
//! tampering). Content is every event column — the record's own fields, `extra` included —
//! and not the columns trailsift derives from where and how the record was read
//! ([`NON_CONTENT_COLUMNS`]); two values are compared through Arrow's row format, which
//! is equal exactly when the values (nested ones included) are equal.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use trailsift_ingest::schema::cloudtrail_schema;

use crate::{Engine, QueryError};

/// One event's copies being compared: its (eventid, account), the kept copy's location and
/// the rows seen so far.
type Group = ((String, Option<String>), EvidenceLocation, Vec<OwnedRow>);
/// Name of the view with one row per event.
pub const UNIQUE_VIEW: &str = "cloudtrail_unique";

/// Columns that say where and how a record was read, not what it says: ignored when two
/// copies of an event are compared.
pub const NON_CONTENT_COLUMNS: &[&str] = &[
    "event_ts",
    "evidence_path",
    "evidence_index",
    "path_account",
    "path_region",
    "path_date",
    "evidence_verification",
];

/// The SQL of [`UNIQUE_VIEW`].
pub fn unique_view_sql() -> String {
    unique_sql(None)
}

/// One row per event of `cloudtrail`, of the records matching `predicate` when one is given.
fn unique_sql(predicate: Option<&str>) -> String {
    let cols: Vec<String> = cloudtrail_schema().fields().iter().map(|f| format!("\"{}\"", f.name())).collect();
    let filter = predicate.map(|p| format!(" WHERE {p}")).unwrap_or_default();
    format!(
        "SELECT {} FROM (SELECT *, row_number() OVER (PARTITION BY eventid, recipientaccountid \
         ORDER BY evidence_path, evidence_index) AS __trailsift_copy FROM cloudtrail{filter}) \
         WHERE eventid IS NULL OR __trailsift_copy = 1",
        cols.join(", ")
    )
}

/// A parenthesised subquery (usable after `FROM`) of the unique events that match
/// `predicate`, a SQL condition over `cloudtrail`'s columns.
///
/// `SELECT … FROM cloudtrail_unique WHERE p` gives the same rows when `p` holds for all
/// copies of an event or for none (true of every condition on the record's own fields,
/// since copies of one event are identical; conflicting copies are reported by
/// [`duplicate_report`]), but DataFusion cannot move `p` below the view's window, so it
/// numbers every record of the archive first. Here `p` is applied to the scan, where the
/// evidence table's pruning and literal pre-filters use it: a key lookup reads only the
/// files that can hold the key, and memory holds only the matching records.
pub fn unique_where(predicate: &str) -> String {
    format!("({})", unique_sql(Some(predicate)))
}

/// Registers [`UNIQUE_VIEW`] over the session's `cloudtrail` table.
pub async fn register_unique_view(ctx: &SessionContext) -> Result<(), QueryError> {
    let view = ctx.sql(&unique_view_sql()).await?.into_view();
    ctx.register_table(UNIQUE_VIEW, view)?;
    Ok(())
}

/// Where a record was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceLocation {
    /// `evidence_path`.
    pub path: String,
    /// `evidence_index`.
    pub index: i64,
}

/// Two records with the same (`eventid`, `recipientaccountid`) and different content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateConflict {
    /// The event ID.
    pub eventid: String,
    /// The recipient account (NULL in the evidence: `None`).
    pub recipientaccountid: Option<String>,
    /// The copy `cloudtrail_unique` keeps.
    pub kept: EvidenceLocation,
    /// A copy whose content differs from it.
    pub other: EvidenceLocation,
    /// The columns that differ.
    pub differing_columns: Vec<String>,
}

/// Duplicates among the `cloudtrail` records of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateReport {
    /// Records that `cloudtrail_unique` drops (copies beyond the first of each event).
    pub collapsed: u64,
    /// Events delivered more than once.
    pub duplicated_events: u64,
    /// Copies whose content differs from the kept one, sorted by event then location.
    pub conflicts: Vec<DuplicateConflict>,
}

/// Counts the duplicates `cloudtrail_unique` collapses and lists the conflicting copies.
pub async fn duplicate_report(engine: &Engine) -> Result<DuplicateReport, QueryError> {
    duplicate_report_where(engine, "TRUE").await
}

/// [`duplicate_report`] over the records matching `predicate` (a SQL condition over
/// `cloudtrail`'s columns): e.g. the events of the keys under investigation, which the scan's
/// pre-filters find without reading the rest of the archive.
pub async fn duplicate_report_where(engine: &Engine, predicate: &str) -> Result<DuplicateReport, QueryError> {
    let sql = format!(
        "SELECT c.* FROM cloudtrail c JOIN (SELECT eventid AS __e, recipientaccountid AS __a \
         FROM cloudtrail WHERE eventid IS NOT NULL AND ({predicate}) GROUP BY eventid, recipientaccountid \
         HAVING count(*) > 1) d ON c.eventid = d.__e AND c.recipientaccountid IS NOT DISTINCT FROM d.__a \
         WHERE {predicate} ORDER BY c.eventid, c.recipientaccountid, c.evidence_path, c.evidence_index"
    );
    let batches = engine.sql(&sql).await?.collect().await?;
    report_from_batches(&batches).map_err(|e| QueryError::DataFusion(e.into()))
}

/// The records a de-duplicated reading must leave out, found in one streaming pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DroppedCopies {
    /// Records that matched the predicate (every copy counted).
    pub records: u64,
    /// Name of the in-memory table of [`DroppedCopies::dropped`] that
    /// [`unique_scan`] registered (`None` when nothing is dropped).
    pub table: Option<String>,
    /// Copies beyond the first of each (`eventid`, `recipientaccountid`), by (`evidence_path`,
    /// `evidence_index`): the same records `cloudtrail_unique` leaves out. Sorted.
    pub dropped: Vec<EvidenceLocation>,
}

/// Finds the copies [`UNIQUE_VIEW`] would leave out among the records matching `predicate`,
/// without the view's window over every record.
///
/// Reads four columns in one streaming pass; a [`CopyTracker`] keeps 24 bytes per record (a
/// 128-bit hash of (`eventid`, `recipientaccountid`) and its place), in memory up to 48 MiB
/// and in temporary files past that; the dropped copies are kept in full. A reader then leaves
/// them out with an anti-join on (`evidence_path`, `evidence_index`), below which every
/// filter still reaches the scan.
pub async fn dropped_copies(engine: &Engine, predicate: &str) -> Result<DroppedCopies, QueryError> {
    use futures::StreamExt;
    let sql =
        format!("SELECT eventid, recipientaccountid, evidence_path, evidence_index FROM cloudtrail WHERE {predicate}");
    let mut stream = engine.sql(&sql).await?.execute_stream().await?;
    let mut copies = CopyTracker::default();
    while let Some(batch) = stream.next().await {
        copies.observe(&batch?)?;
    }
    copies.finish()
}

/// Finds, batch by batch, the copies [`UNIQUE_VIEW`] leaves out, in bounded memory.
///
/// Each record with an `eventid` becomes a 24-byte entry: a 128-bit hash of (`eventid`,
/// `recipientaccountid`) and its place (file, index). At the end the entries are sorted by
/// (hash, path, index): the copies of one event lie side by side, the first kept and the
/// others dropped. Up to [`COPY_ENTRIES_IN_MEMORY`] entries are kept in memory; past that they
/// are spread by hash over [`COPY_BUCKETS`] temporary files, each sorted alone at the end, so
/// memory no longer grows with the archive. (A hash map of every event's first place took
/// 920 MB for the 7.6 million events of 10 GiB.) The dropped copies are kept in full.
#[derive(Debug)]
pub struct CopyTracker {
    /// Two independently keyed hashers make the 128-bit key.
    hashers: (std::hash::RandomState, std::hash::RandomState),
    paths: Vec<String>,
    path_ids: std::collections::HashMap<String, u32>,
    entries: Vec<Entry>,
    budget: usize,
    spill: Option<Spill>,
    records: u64,
}

/// Hash (high, low) and place (file id << 32 | index).
type Entry = [u64; 3];

/// Entries held in memory before they go to disk (48 MiB).
pub const COPY_ENTRIES_IN_MEMORY: usize = 2 << 20;
/// Temporary files the entries are spread over once they go to disk.
pub const COPY_BUCKETS: usize = 64;

/// The temporary files of a [`CopyTracker`] past its budget.
#[derive(Debug)]
struct Spill {
    _dir: tempfile::TempDir,
    paths: Vec<std::path::PathBuf>,
    files: Vec<std::io::BufWriter<std::fs::File>>,
}

fn spill_error(e: impl std::fmt::Display) -> QueryError {
    QueryError::Spill { reason: format!("duplicate tracking: {e}") }
}

impl Spill {
    fn new() -> Result<Self, QueryError> {
        let dir = tempfile::Builder::new().prefix("trailsift-copies-").tempdir().map_err(spill_error)?;
        let mut paths = Vec::with_capacity(COPY_BUCKETS);
        let mut files = Vec::with_capacity(COPY_BUCKETS);
        for b in 0..COPY_BUCKETS {
            let path = dir.path().join(format!("bucket-{b:02}"));
            let f = std::fs::File::create(&path).map_err(spill_error)?;
            files.push(std::io::BufWriter::with_capacity(64 << 10, f));
            paths.push(path);
        }
        Ok(Self { _dir: dir, paths, files })
    }

    /// Appends `entries` to their buckets (by the hash's top bits).
    fn write(&mut self, entries: &[Entry]) -> Result<(), QueryError> {
        use std::io::Write;
        for e in entries {
            let bucket = (e[0] >> 58) as usize % COPY_BUCKETS;
            let mut bytes = [0u8; 24];
            for (i, w) in e.iter().enumerate() {
                bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
            }
            self.files[bucket].write_all(&bytes).map_err(spill_error)?;
        }
        Ok(())
    }

    /// The entries of bucket `b` (after every write is flushed).
    fn read(&self, b: usize) -> Result<Vec<Entry>, QueryError> {
        let bytes = std::fs::read(&self.paths[b]).map_err(spill_error)?;
        Ok(bytes
            .chunks_exact(24)
            .map(|c| {
                let w = |i: usize| u64::from_le_bytes(c[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
                [w(0), w(1), w(2)]
            })
            .collect())
    }
}

impl Default for CopyTracker {
    fn default() -> Self {
        Self::with_budget(COPY_ENTRIES_IN_MEMORY)
    }
}

impl CopyTracker {
    /// A tracker that keeps at most `entries` entries in memory before it spills.
    pub fn with_budget(entries: usize) -> Self {
        Self {
            hashers: (std::hash::RandomState::new(), std::hash::RandomState::new()),
            paths: Vec::new(),
            path_ids: Default::default(),
            entries: Vec::new(),
            budget: entries.max(1),
            spill: None,
            records: 0,
        }
    }

    fn key(&self, e: &str, a: Option<&str>) -> (u64, u64) {
        use std::hash::{BuildHasher, Hasher};
        let one = |b: &std::hash::RandomState| {
            let mut h = b.build_hasher();
            h.write(e.as_bytes());
            h.write_u8(0xff);
            match a {
                Some(a) => {
                    h.write_u8(1);
                    h.write(a.as_bytes());
                }
                None => h.write_u8(0),
            }
            h.finish()
        };
        (one(&self.hashers.0), one(&self.hashers.1))
    }

    /// Takes in the records of `batch`, which must have the columns `eventid`,
    /// `recipientaccountid`, `evidence_path` and `evidence_index` (any others are ignored).
    pub fn observe(&mut self, b: &RecordBatch) -> Result<(), QueryError> {
        let col = |name: &str| -> Result<ArrayRef, QueryError> {
            let c = b.column_by_name(name).ok_or_else(|| {
                datafusion::error::DataFusionError::Internal(format!("duplicate tracking needs the column {name}"))
            })?;
            let target = if name == "evidence_index" { DataType::Int64 } else { DataType::Utf8 };
            Ok(cast(c, &target).map_err(datafusion::error::DataFusionError::from)?)
        };
        let (ids, accts, ps, index) =
            (col("eventid")?, col("recipientaccountid")?, col("evidence_path")?, col("evidence_index")?);
        let (ids, accts, ps) = (ids.as_string::<i32>(), accts.as_string::<i32>(), ps.as_string::<i32>());
        let index = index.as_primitive::<arrow::datatypes::Int64Type>();
        for r in 0..b.num_rows() {
            self.records += 1;
            if ids.is_null(r) {
                continue; // without an eventid every record is kept
            }
            let path = ps.value(r);
            let pid = match self.path_ids.get(path) {
                Some(&p) => p,
                None => {
                    let p = u32::try_from(self.paths.len()).map_err(spill_error)?;
                    self.paths.push(path.to_string());
                    self.path_ids.insert(path.to_string(), p);
                    p
                }
            };
            let idx = u32::try_from(index.value(r))
                .map_err(|_| spill_error(format!("record index {} of {path} is out of range", index.value(r))))?;
            let (hi, lo) = self.key(ids.value(r), accts.is_valid(r).then(|| accts.value(r)));
            self.entries.push([hi, lo, (u64::from(pid) << 32) | u64::from(idx)]);
            if self.entries.len() >= self.budget {
                let spill = match &mut self.spill {
                    Some(s) => s,
                    None => self.spill.insert(Spill::new()?),
                };
                spill.write(&self.entries)?;
                self.entries.clear();
            }
        }
        Ok(())
    }

    /// The records seen and the copies to leave out, sorted.
    ///
    /// # Errors
    /// [`QueryError::Spill`] when the temporary files cannot be read back.
    pub fn finish(mut self) -> Result<DroppedCopies, QueryError> {
        // Places compare as (path, index): file ids are ranked by path first.
        let mut order: Vec<u32> = (0..self.paths.len() as u32).collect();
        order.sort_by(|&a, &b| self.paths[a as usize].cmp(&self.paths[b as usize]));
        let mut rank = vec![0u32; self.paths.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let place = |e: &Entry| (rank[(e[2] >> 32) as usize], e[2] as u32);
        let mut dropped: Vec<u64> = Vec::new();
        let mut sweep = |mut entries: Vec<Entry>| {
            entries.sort_unstable_by(|a, b| (a[0], a[1], place(a)).cmp(&(b[0], b[1], place(b))));
            for pair in entries.windows(2) {
                if (pair[0][0], pair[0][1]) == (pair[1][0], pair[1][1]) {
                    dropped.push(pair[1][2]);
                }
            }
        };
        match self.spill.take() {
            None => sweep(std::mem::take(&mut self.entries)),
            Some(mut spill) => {
                spill.write(&self.entries)?;
                self.entries = Vec::new();
                for f in &mut spill.files {
                    std::io::Write::flush(f).map_err(spill_error)?;
                }
                for b in 0..COPY_BUCKETS {
                    sweep(spill.read(b)?);
                }
            }
        }
        let paths = self.paths;
        let mut dropped: Vec<EvidenceLocation> = dropped
            .into_iter()
            .map(|p| EvidenceLocation { path: paths[(p >> 32) as usize].clone(), index: i64::from(p as u32) })
            .collect();
        dropped.sort_by(|a, b| (a.path.as_str(), a.index).cmp(&(b.path.as_str(), b.index)));
        Ok(DroppedCopies { records: self.records, table: None, dropped })
    }

    /// Whether the entries went to temporary files.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }
}

/// The unique events matching `predicate`, held (see [`Engine::hold`]) after one pass over
/// the evidence: the records are held as they stream in while a [`CopyTracker`] watches
/// them, and the dropped copies are then taken out of what is held. [`unique_scan`] followed
/// by a hold reads the evidence twice for the same rows.
pub async fn hold_unique(
    engine: &Engine,
    predicate: &str,
    budget: usize,
) -> Result<(crate::Held, DroppedCopies), QueryError> {
    let df = engine.sql(&format!("SELECT * FROM cloudtrail WHERE {predicate}")).await?;
    let mut copies = CopyTracker::default();
    let held = engine.hold_with(df, budget, &mut |b| copies.observe(b)).await?;
    let found = copies.finish()?;
    if found.dropped.is_empty() {
        return Ok((held, found));
    }
    let held = held.without(&found.dropped)?;
    Ok((held, found))
}

/// Name prefix of the in-memory tables [`unique_scan`] registers.
pub const DROPPED_TABLE_PREFIX: &str = "__trailsift_dropped_";

/// A query over the unique events matching `predicate` whose filters (this one and any a
/// reader adds) reach the evidence scan: `cloudtrail` anti-joined with the copies
/// [`dropped_copies`] found, registered as a small in-memory table. Returns the SQL and the
/// counts; the SQL's rows are those of `SELECT * FROM cloudtrail_unique WHERE predicate`.
pub async fn unique_scan(engine: &Engine, predicate: &str) -> Result<(String, DroppedCopies), QueryError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut found = dropped_copies(engine, predicate).await?;
    if found.dropped.is_empty() {
        return Ok((format!("SELECT * FROM cloudtrail WHERE {predicate}"), found));
    }
    let name = format!("{DROPPED_TABLE_PREFIX}{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let paths = arrow::array::StringArray::from_iter_values(found.dropped.iter().map(|d| d.path.as_str()));
    let index = arrow::array::Int64Array::from_iter_values(found.dropped.iter().map(|d| d.index));
    let batch = RecordBatch::try_from_iter(vec![
        ("__path", Arc::new(paths) as ArrayRef),
        ("__index", Arc::new(index) as ArrayRef),
    ])
    .map_err(datafusion::error::DataFusionError::from)?;
    let table = datafusion::datasource::MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    engine.context().register_table(name.as_str(), Arc::new(table))?;
    let sql = format!(
        "SELECT c.* FROM cloudtrail c LEFT ANTI JOIN {name} d \
         ON c.evidence_path = d.__path AND c.evidence_index = d.__index WHERE {predicate}"
    );
    found.table = Some(name);
    Ok((sql, found))
}

fn strings(a: &ArrayRef) -> Result<Vec<Option<String>>, arrow::error::ArrowError> {
    let s = cast(a, &DataType::Utf8)?;
    let s = s.as_string::<i32>();
    Ok((0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i).to_string())).collect())
}

/// The report from the duplicated records, sorted by event, account, path and index.
fn report_from_batches(batches: &[RecordBatch]) -> Result<DuplicateReport, arrow::error::ArrowError> {
    let mut report = DuplicateReport::default();
    let Some(first) = batches.first() else { return Ok(report) };
    let schema = first.schema();
    let content: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !NON_CONTENT_COLUMNS.contains(&schema.field(i).name().as_str()))
        .collect();
    let mut converters: Vec<RowConverter> = content
        .iter()
        .map(|&i| RowConverter::new(vec![SortField::new(schema.field(i).data_type().clone())]))
        .collect::<Result<_, _>>()?;
    let col = |b: &RecordBatch, name: &str| -> Result<ArrayRef, arrow::error::ArrowError> {
        b.column_by_name(name)
            .cloned()
            .ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("no column {name}")))
    };
    // The kept copy of the current event: key, location, content.
    let mut current: Option<Group> = None;
    for b in batches {
        let ids = strings(&col(b, "eventid")?)?;
        let accounts = strings(&col(b, "recipientaccountid")?)?;
        let paths = strings(&col(b, "evidence_path")?)?;
        let index = cast(&col(b, "evidence_index")?, &DataType::Int64)?;
        let index = index.as_primitive::<arrow::datatypes::Int64Type>();
        let rows: Vec<arrow::row::Rows> = content
            .iter()
            .zip(converters.iter_mut())
            .map(|(&c, conv)| conv.convert_columns(&[b.column(c).clone()]))
            .collect::<Result<_, _>>()?;
        for r in 0..b.num_rows() {
            let key = (ids[r].clone().unwrap_or_default(), accounts[r].clone());
            let loc = EvidenceLocation { path: paths[r].clone().unwrap_or_default(), index: index.value(r) };
            match &current {
                Some((k, kept, values)) if *k == key => {
                    report.collapsed += 1;
                    let differing: Vec<String> = content
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| values[*j].row() != rows[*j].row(r))
                        .map(|(_, &c)| schema.field(c).name().clone())
                        .collect();
                    if !differing.is_empty() {
                        report.conflicts.push(DuplicateConflict {
                            eventid: key.0.clone(),
                            recipientaccountid: key.1.clone(),
                            kept: kept.clone(),
                            other: loc,
                            differing_columns: differing,
                        });
                    }
                }
                _ => {
                    report.duplicated_events += 1;
                    let values = rows.iter().map(|rs| rs.row(r).owned()).collect();
                    current = Some((key, loc, values));
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow::array::{Int64Array, StringArray};

    use super::*;

    /// Records in scan order (files interleaved, as parallel scans deliver them), with copies
    /// of events across files and accounts, and records without an `eventid`.
    fn batches() -> Vec<RecordBatch> {
        let mut out = Vec::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for chunk in 0..40 {
            let (mut ids, mut accts, mut paths, mut index) = (vec![], vec![], vec![], vec![]);
            for r in 0..250i64 {
                let n = next();
                // 3,000 distinct events over 10,000 records: most have copies.
                ids.push((n % 50 != 0).then(|| format!("evt-{}", n % 3000)));
                accts.push(match n % 7 {
                    0 => None,
                    1 => Some("222222222222".to_string()),
                    _ => Some("111111111111".to_string()),
                });
                paths.push(format!("ev/f{:03}.json.gz", (chunk * 37 + r as usize) % 101));
                index.push(chunk as i64 * 1000 + r);
            }
            out.push(
                RecordBatch::try_from_iter(vec![
                    ("eventid", Arc::new(StringArray::from(ids)) as ArrayRef),
                    ("recipientaccountid", Arc::new(StringArray::from(accts)) as ArrayRef),
                    ("evidence_path", Arc::new(StringArray::from(paths)) as ArrayRef),
                    ("evidence_index", Arc::new(Int64Array::from(index)) as ArrayRef),
                ])
                .unwrap(),
            );
        }
        out
    }

    /// The oracle: per (eventid, account) by value, every place; all but the least dropped.
    fn oracle(batches: &[RecordBatch]) -> Vec<EvidenceLocation> {
        type Event = (String, Option<String>);
        let mut by_event: BTreeMap<Event, Vec<(String, i64)>> = BTreeMap::new();
        for b in batches {
            let s = |i: usize| b.column(i).as_string::<i32>().clone();
            let (ids, accts, paths) = (s(0), s(1), s(2));
            let index = b.column(3).as_primitive::<arrow::datatypes::Int64Type>();
            for r in 0..b.num_rows() {
                if ids.is_valid(r) {
                    let key = (ids.value(r).to_string(), accts.is_valid(r).then(|| accts.value(r).to_string()));
                    by_event.entry(key).or_default().push((paths.value(r).to_string(), index.value(r)));
                }
            }
        }
        let mut dropped: Vec<EvidenceLocation> = by_event
            .into_values()
            .flat_map(|mut places| {
                places.sort();
                places.into_iter().skip(1).map(|(path, index)| EvidenceLocation { path, index })
            })
            .collect();
        dropped.sort_by(|a, b| (a.path.as_str(), a.index).cmp(&(b.path.as_str(), b.index)));
        dropped
    }

    #[test]
    fn copies_found_in_memory_and_on_disk_match_the_oracle() {
        let batches = batches();
        let want = oracle(&batches);
        assert!(want.len() > 4000, "the corpus has many copies: {}", want.len());
        for budget in [COPY_ENTRIES_IN_MEMORY, 1000, 7, 1] {
            let mut t = CopyTracker::with_budget(budget);
            for b in &batches {
                t.observe(b).unwrap();
            }
            assert_eq!(t.spilled(), budget < 10_000, "budget {budget}");
            let found = t.finish().unwrap();
            assert_eq!(found.records, 10_000);
            assert_eq!(found.dropped, want, "budget {budget}");
        }
    }
}
