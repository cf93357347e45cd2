//! The hunt runner: defines the view `events` (the source table, restricted to the keys and
//! time range under investigation), runs the selected detections concurrently, and turns
//! their rows into sorted [`Finding`]s. A failing detection is reported; the others still run.
//!
//! Materialisation: with `keys`, `events` is small (one key's activity), so it is collected
//! once and held (or taken from what `investigate` held, see [`HuntOptions::key_records`]):
//! in memory, or past [`trailsift_query::HELD_BYTES`] in a temporary Parquet file, and every
//! detection reads it there instead of re-scanning the evidence. For a whole-archive hunt
//! nothing is materialised (memory stays bounded by the scans): `events` is a view over
//! `cloudtrail` minus the duplicate copies (see `define_events`), and each detection's filters
//! reach the scan (file pruning by time/path, literal pre-filter of event names on raw
//! evidence, statistics and bloom filters on a store).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use trailsift_query::Engine;

use crate::DetectError;
use crate::catalog::{Catalog, Detection, FINDING_COLUMNS, LAST_TS_COLUMN};
use crate::finding::{Finding, Level, Status};

/// The rows `events` holds: those of this view (one per event), read without it (see
/// `define_events`).
pub const SOURCE_TABLE: &str = "cloudtrail_unique";

/// The view detections read.
pub const EVENTS_VIEW: &str = "events";

/// The VPC Flow Logs table `vpcflow` detections read.
pub const VPC_FLOW_TABLE: &str = "vpc_flow";

/// What to hunt over and with which detections.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// The already-expanded key set (the CLI expands lineage); `None` = the whole archive.
    pub keys: Option<Vec<String>>,
    /// With `keys`: IAM user names whose AWS-service events (calls made by AWS itself on
    /// the user, such as attaching AWS's quarantine policy to a user whose key AWS found
    /// exposed) join `events`; they carry no access key, so `keys` alone would miss them.
    pub related_users: Vec<String>,
    /// Earliest event time, RFC 3339 (inclusive).
    pub from: Option<String>,
    /// Latest event time, RFC 3339 (inclusive).
    pub to: Option<String>,
    /// Detections below this level are not run.
    pub min_level: Level,
    /// Only these detection ids, when non-empty (deprecated ones included if named).
    pub detections: Vec<String>,
    /// Run deprecated detections too.
    pub include_deprecated: bool,
    /// Detections run at once (0 = 4).
    pub concurrency: usize,
    /// The records of exactly `keys`, already held (read by
    /// [`investigate`](crate::investigate::investigate)): used instead of scanning the
    /// evidence again when no time range is given.
    pub key_records: Option<crate::investigate::KeyRecords>,
}

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            keys: None,
            related_users: Vec::new(),
            from: None,
            to: None,
            min_level: Level::Informational,
            detections: Vec::new(),
            include_deprecated: false,
            concurrency: 0,
            key_records: None,
        }
    }
}

/// What a hunt found.
#[derive(Debug, Clone, Default)]
pub struct HuntResult {
    /// Findings sorted by event time, then detection id, then evidence position.
    pub findings: Vec<Finding>,
    /// Events in `events` (the keys and time range in scope), one per event.
    pub events_in_scope: u64,
    /// Duplicate copies of events (overlapping exports) left out of `events`.
    pub duplicates_collapsed: u64,
    /// Detections that ran to completion.
    pub detections_run: usize,
    /// Detections that failed, and files rejected by the catalog: (id or file, error).
    pub failed: Vec<(String, String)>,
    /// Detections not run, and why (e.g. no `vpc_flow` table): (id, reason).
    pub skipped: Vec<(String, String)>,
    /// Whether `events` was materialised (key-scoped hunts): held in memory, or in a
    /// temporary file when large.
    pub materialised: bool,
}

/// The detections of `catalog` that `opts` selects (by ID, or by level and status).
///
/// # Errors
/// [`DetectError::UnknownDetection`] when an ID asked for is not in the catalog.
pub fn select<'c>(catalog: &'c Catalog, opts: &HuntOptions) -> Result<Vec<&'c Detection>, DetectError> {
    for id in &opts.detections {
        if catalog.get(id).is_none() {
            return Err(DetectError::UnknownDetection(id.clone()));
        }
    }
    Ok(catalog
        .detections()
        .iter()
        .filter(|d| {
            if !opts.detections.is_empty() {
                return opts.detections.contains(&d.id);
            }
            d.level >= opts.min_level && (d.status != Status::Deprecated || opts.include_deprecated)
        })
        .collect())
}

/// Runs the catalog's detections over `engine` as `opts` says.
pub async fn hunt(engine: &Engine, catalog: &Catalog, opts: &HuntOptions) -> Result<HuntResult, DetectError> {
    let selected = select(catalog, opts)?;
    let mut result = HuntResult::default();
    for file in catalog.rejected() {
        result.failed.push((file.clone(), rejected_reason(catalog, file)));
    }

    let ctx = engine.context();
    let (events_in_scope, duplicates, materialised) = define_events(engine, opts).await?;
    result.events_in_scope = events_in_scope;
    result.duplicates_collapsed = duplicates;
    result.materialised = materialised;
    let vpc_ready = vpc_flow_ready(ctx).await;

    let mut runnable = Vec::new();
    for d in selected {
        match d.source.as_str() {
            "vpcflow" if !vpc_ready => result.skipped.push((
                d.id.clone(),
                format!("no {VPC_FLOW_TABLE} table, or it is empty (no VPC flow logs in the evidence)"),
            )),
            _ => runnable.push(d),
        }
    }
    let concurrency = if opts.concurrency == 0 { 4 } else { opts.concurrency };
    // With `events` in memory, detections that read it alone run side by side; those that
    // also scan the evidence (a baseline over the whole archive) run one at a time after
    // them: each scan already keeps every core busy, and side by side their memory adds up.
    let (scanning, in_memory): (Vec<&Detection>, Vec<&Detection>) =
        runnable.into_iter().partition(|d| materialised && reads_evidence(&d.sql));
    let mut outcomes: Vec<(&Detection, Result<Vec<Finding>, String>)> = futures::stream::iter(in_memory)
        .map(|d| async move { (d, run_detection(engine, d).await) })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for d in scanning {
        outcomes.push((d, run_detection(engine, d).await));
    }
    // The findings are gathered into the largest detection's list (taken first), so the
    // lists are not all held twice while they are merged (a hunt of 10 GiB has 170,000).
    let total: usize = outcomes.iter().map(|(_, o)| o.as_ref().map_or(0, Vec::len)).sum();
    outcomes.sort_by_key(|(_, o)| std::cmp::Reverse(o.as_ref().map_or(0, Vec::len)));
    for (d, outcome) in outcomes {
        match outcome {
            Ok(f) => {
                result.detections_run += 1;
                if result.findings.is_empty() {
                    result.findings = f;
                    result.findings.reserve_exact(total - result.findings.len());
                } else {
                    result.findings.extend(f);
                }
            }
            Err(e) => result.failed.push((d.id.clone(), e)),
        }
    }
    result.failed.sort();
    result.skipped.sort();
    sort_findings(&mut result.findings);
    Ok(result)
}

/// Whether `sql` names a table of the evidence (rather than `events` alone). Comments and
/// strings count too: a false "yes" only costs running that detection alone.
fn reads_evidence(sql: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| {
        ["cloudtrail", "cloudtrail_logs", SOURCE_TABLE, VPC_FLOW_TABLE].iter().any(|t| w.eq_ignore_ascii_case(t))
    })
}

/// Sorts findings by event time, then detection id, then evidence position.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.event_time, &a.id, &a.evidence_path, a.evidence_index).cmp(&(
            &b.event_time,
            &b.id,
            &b.evidence_path,
            b.evidence_index,
        ))
    });
}

fn rejected_reason(catalog: &Catalog, file: &str) -> String {
    let msgs: Vec<String> = catalog
        .lint()
        .into_iter()
        .filter(|p| p.file == file)
        .map(|p| match p.line {
            Some(l) => format!("line {l}: {}", p.message),
            None => p.message,
        })
        .collect();
    format!("rejected, not run: {}", msgs.join("; "))
}

/// Parses an RFC 3339 time into microseconds since the epoch (UTC).
pub fn parse_time(s: &str) -> Result<i64, DetectError> {
    arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(s.trim())
        .map(|ns| ns.div_euclid(1000))
        .map_err(|e| DetectError::BadTime { value: s.to_string(), reason: e.to_string() })
}

/// Formats microseconds since the epoch as RFC 3339 UTC (`2024-07-31T00:10:00Z`; fractions
/// only when non-zero).
pub fn format_time(micros: i64) -> String {
    match arrow::temporal_conversions::timestamp_us_to_datetime(micros) {
        Some(t) if micros.rem_euclid(1_000_000) == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => String::new(),
    }
}

/// (Re)defines the view `events`; returns its row count, the duplicate copies it leaves
/// out, and whether it was materialised.
///
/// `events` holds one row per event (as `cloudtrail_unique`), but is not defined over that
/// view: DataFusion cannot move a filter below the view's window, so every detection would
/// number and parse every record of the archive. Instead one streaming pass finds the
/// duplicate copies ([`trailsift_query::unique_scan`]) and `events` is `cloudtrail` minus
/// those copies, an anti-join below which each detection's filters still reach the scan.
async fn define_events(engine: &Engine, opts: &HuntOptions) -> Result<(u64, u64, bool), DetectError> {
    let ctx = engine.context();
    let mut scope: Vec<String> = Vec::new();
    let ts = |v: &str| -> Result<String, DetectError> { Ok(format!("TIMESTAMP '{}'", format_time(parse_time(v)?))) };
    if let Some(from) = &opts.from {
        scope.push(format!("event_ts >= {}", ts(from)?));
    }
    if let Some(to) = &opts.to {
        scope.push(format!("event_ts <= {}", ts(to)?));
    }
    let mut parts: Vec<String> = Vec::new();
    match &opts.keys {
        None => parts.push(if scope.is_empty() { "TRUE".to_string() } else { scope.join(" AND ") }),
        Some(keys) => {
            for k in keys {
                if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(DetectError::BadKey(k.clone()));
                }
            }
            let with_scope = |p: String| if scope.is_empty() { p } else { format!("{p} AND {}", scope.join(" AND ")) };
            parts.push(with_scope(if keys.is_empty() {
                "FALSE".to_string()
            } else {
                format!("useridentity.accesskeyid IN {}", crate::rows::lit_list(keys))
            }));
            if !opts.related_users.is_empty() {
                // A second scan (an OR would defeat the key's literal pre-filter); the two
                // sets are disjoint (with a key / without one).
                parts.push(with_scope(format!(
                    "useridentity.accesskeyid IS NULL AND useridentity.type = 'AWSService' \
                     AND eventsource = 'iam.amazonaws.com' AND eventname IN ('AttachUserPolicy', 'PutUserPolicy') \
                     AND json_extract_scalar(requestparameters, '$.userName') IN {}",
                    crate::rows::lit_list(&opts.related_users)
                )));
            }
        }
    }
    // The previous hunt's tables of dropped copies are no longer read.
    let state = ctx.state();
    let names = &state.config().options().catalog;
    if let Some(schema) = ctx.catalog(&names.default_catalog).and_then(|c| c.schema(&names.default_schema)) {
        for name in schema.table_names() {
            if name.starts_with(trailsift_query::duplicates::DROPPED_TABLE_PREFIX) {
                ctx.deregister_table(name.as_str())?;
            }
        }
    }
    // The keys' records, when the caller already holds them (and no time range
    // narrows them): the first part is read from there.
    let held = match (&opts.keys, &opts.key_records) {
        (Some(keys), Some(held)) if scope.is_empty() && held.are_of(keys) => Some(held),
        _ => None,
    };
    let (mut rows, mut dropped) = (0u64, 0u64);
    let mut selects = Vec::new();
    // With keys: the rows of every part, for one table read many times.
    let mut held_parts: Vec<trailsift_query::Held> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if let (0, Some(held)) = (i, held) {
            rows += held.records;
            dropped += held.dropped;
            held_parts.push(held.held.clone());
            continue;
        }
        let found = if opts.keys.is_some() {
            // One key's activity: held once (in memory unless large), so detections do
            // not rescan; the duplicate copies are found in the same pass.
            let (part, found) = trailsift_query::hold_unique(engine, p, trailsift_query::HELD_BYTES).await?;
            held_parts.push(part);
            found
        } else {
            let (sql, found) = trailsift_query::unique_scan(engine, p).await?;
            selects.push(sql);
            found
        };
        rows += found.records - found.dropped.len() as u64;
        dropped += found.dropped.len() as u64;
    }
    ctx.deregister_table(EVENTS_VIEW)?;
    if held_parts.is_empty() {
        let df = engine.sql(&selects.join(" UNION ALL ")).await?;
        ctx.register_table(EVENTS_VIEW, df.into_view())?;
        Ok((rows, dropped, false))
    } else {
        ctx.register_table(EVENTS_VIEW, trailsift_query::Held::table_of(&held_parts)?)?;
        Ok((rows, dropped, true))
    }
}

async fn vpc_flow_ready(ctx: &SessionContext) -> bool {
    if !ctx.table_exist(VPC_FLOW_TABLE).unwrap_or(false) {
        return false;
    }
    match ctx.sql(&format!("SELECT 1 FROM {VPC_FLOW_TABLE} LIMIT 1")).await {
        Ok(df) => df.collect().await.map(|b| b.iter().any(|b| b.num_rows() > 0)).unwrap_or(false),
        Err(_) => false,
    }
}

/// Checks a detection's output columns: every finding column, and nothing else but `last_ts`.
pub fn check_columns(names: &[String]) -> Result<(), String> {
    let missing: Vec<&str> = FINDING_COLUMNS.iter().copied().filter(|c| !names.iter().any(|n| n == c)).collect();
    let extra: Vec<&str> =
        names.iter().map(String::as_str).filter(|n| !FINDING_COLUMNS.contains(n) && *n != LAST_TS_COLUMN).collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut msg = String::from("the query must return exactly the columns ");
    msg.push_str(&FINDING_COLUMNS.join(", "));
    msg.push_str(" (optionally last_ts)");
    if !missing.is_empty() {
        msg.push_str(&format!("; missing: {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        msg.push_str(&format!("; unexpected: {}", extra.join(", ")));
    }
    Err(msg)
}

/// Runs one detection and converts its rows; errors come back as text.
pub async fn run_detection(engine: &Engine, d: &Detection) -> Result<Vec<Finding>, String> {
    let df = engine.sql(&d.sql).await.map_err(|e| format!("{e}"))?;
    let names: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
    check_columns(&names)?;
    let batches = df.collect().await.map_err(|e| format!("{e}"))?;
    // Sized exactly: one detection can give most of a hunt's findings, and a list grown by
    // doubling holds up to twice the room it needs.
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    let shared = Shared { id: d.id.as_str().into(), title: d.title.as_str().into(), tags: d.tags.as_slice().into() };
    for b in &batches {
        to_findings(d, &shared, b, &mut out).map_err(|e| format!("cannot read the detection's output: {e}"))?;
    }
    Ok(out)
}

fn column(b: &RecordBatch, name: &str, ty: &DataType) -> Result<Option<ArrayRef>, arrow::error::ArrowError> {
    match b.schema().index_of(name) {
        Ok(i) => Ok(Some(arrow::compute::cast(b.column(i), ty)?)),
        Err(_) => Ok(None),
    }
}

/// What all findings of one detection share (one copy, however many findings).
struct Shared {
    id: Arc<str>,
    title: Arc<str>,
    tags: Arc<[String]>,
}

fn to_findings(
    d: &Detection,
    shared: &Shared,
    b: &RecordBatch,
    out: &mut Vec<Finding>,
) -> Result<(), arrow::error::ArrowError> {
    let ts_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let need = |name: &str, ty: &DataType| {
        column(b, name, ty)?.ok_or_else(|| arrow::error::ArrowError::SchemaError(format!("no column {name}")))
    };
    let ts = need("event_ts", &ts_type)?;
    let ts = ts.as_primitive::<TimestampMicrosecondType>();
    let last = column(b, LAST_TS_COLUMN, &ts_type)?;
    let last = last.as_ref().map(|a| a.as_primitive::<TimestampMicrosecondType>());
    let idx = need("evidence_index", &DataType::Int64)?;
    let idx = idx.as_primitive::<Int64Type>();
    let count = need("count", &DataType::Int64)?;
    let count = count.as_primitive::<Int64Type>();
    let strings: Vec<ArrayRef> =
        ["evidence_path", "eventid", "account_id", "region", "principal", "access_key_id", "source_ip", "summary"]
            .iter()
            .map(|n| need(n, &DataType::Utf8))
            .collect::<Result<_, _>>()?;
    let s = |c: usize, row: usize| -> Option<String> {
        let a = strings[c].as_string::<i32>();
        (!a.is_null(row)).then(|| a.value(row).to_string())
    };
    for row in 0..b.num_rows() {
        let first = if ts.is_null(row) { String::new() } else { format_time(ts.value(row)) };
        let last_seen = match last {
            Some(l) if !l.is_null(row) => format_time(l.value(row)),
            _ => first.clone(),
        };
        out.push(Finding {
            id: shared.id.clone(),
            title: shared.title.clone(),
            level: d.level,
            tags: shared.tags.clone(),
            eventid: s(1, row),
            event_time: first.clone(),
            principal: s(4, row),
            access_key_id: s(5, row),
            source_ip: s(6, row),
            region: s(3, row),
            account_id: s(2, row),
            summary: s(7, row).unwrap_or_default(),
            evidence_path: s(0, row).unwrap_or_default(),
            evidence_index: if idx.is_null(row) { -1 } else { idx.value(row) },
            count: if count.is_null(row) { 1 } else { count.value(row).max(0) as u64 },
            first_seen: first,
            last_seen,
        });
    }
    Ok(())
}

/// A session with empty `cloudtrail`, `cloudtrail_logs` and `events` tables (the real schema)
/// and trailsift's functions: for planning detections without evidence.
pub(crate) fn empty_context() -> SessionContext {
    let ctx = SessionContext::new();
    trailsift_query::udf::register(&ctx);
    let schema = trailsift_ingest::schema::cloudtrail_schema();
    for name in [SOURCE_TABLE, "cloudtrail", "cloudtrail_logs", EVENTS_VIEW] {
        if ctx.table_exist(name).unwrap_or(false) {
            continue;
        }
        let t = MemTable::try_new(schema.clone(), vec![vec![]]).expect("empty table with a valid schema");
        ctx.register_table(name, Arc::new(t)).expect("register an empty table");
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::reads_evidence;

    #[test]
    fn evidence_tables_are_told_from_events() {
        assert!(!reads_evidence("SELECT * FROM events WHERE eventname = 'CreateUser'"));
        assert!(!reads_evidence("SELECT cloudtrail_x FROM events"));
        assert!(reads_evidence("WITH f AS (SELECT min(event_ts) FROM cloudtrail) SELECT * FROM events, f"));
        assert!(reads_evidence("SELECT * FROM events e JOIN CloudTrail_Unique u ON e.eventid = u.eventid"));
        assert!(reads_evidence("SELECT * FROM vpc_flow"));
    }
}
