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
/// Reads four columns in one streaming pass and remembers, per event, a 128-bit hash of
/// (`eventid`, `recipientaccountid`) and where its first copy is (about 30 bytes per event,
/// independent of record size); the dropped copies are kept in full. A reader then leaves
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
    Ok(copies.finish())
}

/// Finds, batch by batch, the copies [`UNIQUE_VIEW`] leaves out: per event a 128-bit hash of
/// (`eventid`, `recipientaccountid`) and where its first copy is (about 30 bytes per event,
/// independent of record size); the dropped copies are kept in full.
#[derive(Debug)]
pub struct CopyTracker {
    /// Two independently keyed hashers make the 128-bit key.
    hashers: (std::hash::RandomState, std::hash::RandomState),
    paths: Vec<String>,
    path_ids: std::collections::HashMap<String, u32>,
    first: std::collections::HashMap<u128, (u32, i64)>,
    dropped: Vec<(u32, i64)>,
    records: u64,
}

impl Default for CopyTracker {
    fn default() -> Self {
        Self {
            hashers: (std::hash::RandomState::new(), std::hash::RandomState::new()),
            paths: Vec::new(),
            path_ids: Default::default(),
            first: Default::default(),
            dropped: Vec::new(),
            records: 0,
        }
    }
}

impl CopyTracker {
    fn key(&self, e: &str, a: Option<&str>) -> u128 {
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
        (u128::from(one(&self.hashers.0)) << 64) | u128::from(one(&self.hashers.1))
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
                    let p = self.paths.len() as u32;
                    self.paths.push(path.to_string());
                    self.path_ids.insert(path.to_string(), p);
                    p
                }
            };
            let loc = (pid, index.value(r));
            let k = self.key(ids.value(r), accts.is_valid(r).then(|| accts.value(r)));
            match self.first.entry(k) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(loc);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let kept = *o.get();
                    let paths = &self.paths;
                    let earlier = (paths[loc.0 as usize].as_str(), loc.1) < (paths[kept.0 as usize].as_str(), kept.1);
                    if earlier {
                        o.insert(loc);
                        self.dropped.push(kept);
                    } else {
                        self.dropped.push(loc);
                    }
                }
            }
        }
        Ok(())
    }

    /// The records seen and the copies to leave out, sorted.
    pub fn finish(self) -> DroppedCopies {
        let paths = self.paths;
        let mut dropped: Vec<EvidenceLocation> = self
            .dropped
            .into_iter()
            .map(|(p, i)| EvidenceLocation { path: paths[p as usize].clone(), index: i })
            .collect();
        dropped.sort_by(|a, b| (a.path.as_str(), a.index).cmp(&(b.path.as_str(), b.index)));
        DroppedCopies { records: self.records, table: None, dropped }
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
    let found = copies.finish();
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
