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
