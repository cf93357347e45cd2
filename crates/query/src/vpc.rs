//! The `vpc_flow` table over raw VPC Flow Logs (streamed through the ingest scan, like
//! [`crate::EvidenceTable`]), what it learns from a query's filters, and the correlation the
//! exposed-key playbook asks for: [`ip_flow_activity`], the network activity of a set of
//! addresses.
//!
//! Pushdown (inexact, DataFusion still applies every filter): `account_id`/`path_account` and
//! `region`/`path_region` equality or `IN` prune files by their S3 key; `start_ts`,
//! `end_ts`, `start`, `end` and `path_date` ranges prune files by their delivery time or folder
//! date; equality or `IN` on text columns (addresses, interfaces, …) become a literal
//! pre-filter that skips files and lines without the value.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::ScalarValue;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::{Between, InList};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use trailsift_ingest::discover::{EvidenceFile, PathInfo};
use trailsift_ingest::scan::ScanOptions;
use trailsift_ingest::time::{days_from_civil, format_micros, parse_timestamp_micros};
use trailsift_ingest::vpc::{self as ivpc, VpcFilter, VpcScanOptions, VpcType, vpc_flow_schema};

use crate::evidence::{EvidencePartition, ScanLog, SharedScan};
use crate::pushdown::{EARLY_SLACK_US, LATE_SLACK_US};
use crate::{Engine, QueryError};

const DAY_US: i64 = 86_400_000_000;

/// The `vpc_flow` table over flow-log files.
pub struct VpcEvidenceTable {
    files: Arc<Vec<EvidenceFile>>,
    options: ScanOptions,
    log: Arc<ScanLog>,
}

impl fmt::Debug for VpcEvidenceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VpcEvidenceTable").field("files", &self.files.len()).finish()
    }
}

impl VpcEvidenceTable {
    /// A table over `files` (flow-log files among them are read; others are ignored).
    pub fn new(files: Vec<EvidenceFile>, options: ScanOptions, log: Arc<ScanLog>) -> Self {
        let files = files.into_iter().filter(|f| f.kind.is_vpc_flow()).collect();
        Self { files: Arc::new(files), options, log }
    }
}

#[async_trait]
impl TableProvider for VpcEvidenceTable {
    fn schema(&self) -> SchemaRef {
        vpc_flow_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if VpcPushdown::understands(f) {
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
        let columns: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..ivpc::NUM_COLUMNS).collect(),
        };
        let schema = Arc::new(vpc_flow_schema().project(&columns)?);
        let push = VpcPushdown::from_filters(filters);
        let files: Vec<EvidenceFile> = self.files.iter().filter(|f| push.may_hold(&f.info)).cloned().collect();
        let pruned = self.files.len() - files.len();
        let vpc = VpcScanOptions {
            format: self.options.vpc.format.clone(),
            projection: Some(columns),
            filter: push.filter().map(Arc::new),
        };
        let options = ScanOptions { vpc, prefilter: None, ..self.options.clone() };
        let shared = Arc::new(SharedScan::new(Arc::new(files), options, self.log.clone(), pruned));
        let partitions = state.config().target_partitions().max(1);
        let streams: Vec<Arc<dyn PartitionStream>> =
            (0..partitions).map(|_| Arc::new(EvidencePartition::new(schema.clone(), shared.clone())) as _).collect();
        Ok(Arc::new(StreamingTableExec::try_new(schema, streams, None, Vec::new(), false, limit)?))
    }
}

/// Facts drawn from the filters of a `vpc_flow` scan.
#[derive(Debug, Default, Clone)]
pub struct VpcPushdown {
    accounts: Option<BTreeSet<String>>,
    regions: Option<BTreeSet<String>>,
    time_lo: Option<i64>,
    time_hi: Option<i64>,
    date_lo: Option<i32>,
    date_hi: Option<i32>,
    groups: Vec<Vec<(usize, String)>>,
}

enum Fact {
    Accounts(BTreeSet<String>),
    Regions(BTreeSet<String>),
    TimeLo(i64),
    TimeHi(i64),
    DateLo(i32),
    DateHi(i32),
    Literals(Vec<(usize, String)>),
}

impl VpcPushdown {
    /// Collects what `filters` (a conjunction) say about files and lines.
    pub fn from_filters(filters: &[Expr]) -> Self {
        let mut p = Self::default();
        for f in filters {
            for e in split_conjunction(f) {
                for fact in facts(e) {
                    p.add(fact);
                }
            }
        }
        p
    }

    /// Whether the scan can use `filter` at all.
    pub fn understands(filter: &Expr) -> bool {
        split_conjunction(filter).iter().any(|e| !facts(e).is_empty())
    }

    fn add(&mut self, fact: Fact) {
        fn meet(slot: &mut Option<BTreeSet<String>>, set: BTreeSet<String>) {
            *slot = Some(match slot.take() {
                Some(old) => old.intersection(&set).cloned().collect(),
                None => set,
            });
        }
        match fact {
            Fact::Accounts(s) => meet(&mut self.accounts, s),
            Fact::Regions(s) => meet(&mut self.regions, s),
            Fact::TimeLo(t) => self.time_lo = Some(self.time_lo.map_or(t, |o| o.max(t))),
            Fact::TimeHi(t) => self.time_hi = Some(self.time_hi.map_or(t, |o| o.min(t))),
            Fact::DateLo(d) => self.date_lo = Some(self.date_lo.map_or(d, |o| o.max(d))),
            Fact::DateHi(d) => self.date_hi = Some(self.date_hi.map_or(d, |o| o.min(d))),
            Fact::Literals(t) => self.groups.push(t),
        }
    }

    /// The literal pre-filter, if the filters give one.
    pub fn filter(&self) -> Option<VpcFilter> {
        VpcFilter::new(self.groups.iter().cloned())
    }

    /// Whether a file with these partition values may hold matching lines.
    pub fn may_hold(&self, info: &PathInfo) -> bool {
        if let (Some(set), Some(a)) = (&self.accounts, &info.account)
            && !set.contains(a)
        {
            return false;
        }
        if let (Some(set), Some(r)) = (&self.regions, &info.region)
            && !set.contains(r)
        {
            return false;
        }
        if let Some(d) = info.date
            && (self.date_lo.is_some_and(|lo| d < lo) || self.date_hi.is_some_and(|hi| d > hi))
        {
            return false;
        }
        let window = match (info.file_time, info.date) {
            (Some(t), _) => Some((t - LATE_SLACK_US, t + EARLY_SLACK_US)),
            (None, Some(d)) => {
                let start = d as i64 * DAY_US;
                Some((start - LATE_SLACK_US, start + DAY_US + EARLY_SLACK_US))
            }
            (None, None) => None,
        };
        if let Some((first, last)) = window
            && (self.time_lo.is_some_and(|lo| last < lo) || self.time_hi.is_some_and(|hi| first > hi))
        {
            return false;
        }
        true
    }
}

fn column(e: &Expr) -> Option<&str> {
    match e {
        Expr::Column(c) => Some(c.name.as_str()),
        Expr::Alias(a) => column(&a.expr),
        Expr::Cast(c) => column(&c.expr),
        _ => None,
    }
}

fn scalar(e: &Expr) -> Option<&ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v),
        Expr::Cast(c) => scalar(&c.expr),
        Expr::TryCast(c) => scalar(&c.expr),
        _ => None,
    }
}

fn string_lit(e: &Expr) -> Option<String> {
    match scalar(e)? {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn date_days(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: u32 = s.get(5..7)?.parse().ok()?;
    let d: u32 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) as i32)
}

/// A time literal in microseconds; `secs` says the column holds Unix seconds (`start`, `end`).
fn time_lit(e: &Expr, secs: bool) -> Option<i64> {
    match scalar(e)? {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        ScalarValue::Date32(Some(d)) => Some(*d as i64 * DAY_US),
        ScalarValue::Int64(Some(v)) if secs => v.checked_mul(1_000_000),
        ScalarValue::Int32(Some(v)) if secs => (*v as i64).checked_mul(1_000_000),
        _ => {
            let s = string_lit(e)?;
            parse_timestamp_micros(&s).or_else(|| date_days(&s).map(|d| d as i64 * DAY_US))
        }
    }
}

fn facts(e: &Expr) -> Vec<Fact> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            if *op == Operator::Or {
                return or_literals(e).map(|t| vec![Fact::Literals(t)]).unwrap_or_default();
            }
            let (col, lit, op) = match (column(left), column(right)) {
                (Some(c), None) => (c, right.as_ref(), *op),
                (None, Some(c)) => match op.swap() {
                    Some(op) => (c, left.as_ref(), op),
                    None => return Vec::new(),
                },
                _ => return Vec::new(),
            };
            compare(col, op, lit)
        }
        Expr::InList(InList { expr, list, negated: false }) => {
            let Some(col) = column(expr) else { return Vec::new() };
            let Some(values) = list.iter().map(string_lit).collect::<Option<Vec<_>>>() else {
                return Vec::new();
            };
            equal_any(col, values)
        }
        Expr::Between(Between { expr, negated: false, low, high }) => {
            let Some(col) = column(expr) else { return Vec::new() };
            let mut out = compare(col, Operator::GtEq, low);
            out.extend(compare(col, Operator::LtEq, high));
            out
        }
        _ => Vec::new(),
    }
}

fn compare(col: &str, op: Operator, lit: &Expr) -> Vec<Fact> {
    let secs = matches!(col, "start" | "end");
    match (col, op) {
        (_, Operator::Eq) => string_lit(lit).map(|v| equal_any(col, vec![v])).unwrap_or_default(),
        ("start_ts" | "end_ts" | "start" | "end", Operator::Gt | Operator::GtEq) => {
            time_lit(lit, secs).map(|t| vec![Fact::TimeLo(t)]).unwrap_or_default()
        }
        ("start_ts" | "end_ts" | "start" | "end", Operator::Lt | Operator::LtEq) => {
            time_lit(lit, secs).map(|t| vec![Fact::TimeHi(t)]).unwrap_or_default()
        }
        ("path_date", Operator::Gt | Operator::GtEq) => {
            date_lit(lit).map(|d| vec![Fact::DateLo(if op == Operator::Gt { d + 1 } else { d })]).unwrap_or_default()
        }
        ("path_date", Operator::Lt | Operator::LtEq) => {
            date_lit(lit).map(|d| vec![Fact::DateHi(if op == Operator::Lt { d - 1 } else { d })]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

fn date_lit(e: &Expr) -> Option<i32> {
    match scalar(e)? {
        ScalarValue::Date32(Some(d)) => Some(*d),
        _ => date_days(&string_lit(e)?),
    }
}

fn equal_any(col: &str, values: Vec<String>) -> Vec<Fact> {
    let set = || values.iter().cloned().collect::<BTreeSet<_>>();
    let mut out = Vec::new();
    match col {
        "account_id" | "path_account" => out.push(Fact::Accounts(set())),
        "region" | "path_region" => out.push(Fact::Regions(set())),
        "path_date" => {
            if let [v] = values.as_slice()
                && let Some(d) = date_days(v)
            {
                out.push(Fact::DateLo(d));
                out.push(Fact::DateHi(d));
            }
        }
        _ => {}
    }
    if let Some(terms) = literal_terms(col, &values) {
        out.push(Fact::Literals(terms));
    }
    out
}

fn literal_terms(col: &str, values: &[String]) -> Option<Vec<(usize, String)>> {
    let c = ivpc::VPC_FIELDS.iter().position(|f| f.name == col)?;
    if ivpc::VPC_FIELDS[c].ty != VpcType::Str {
        return None;
    }
    Some(values.iter().map(|v| (c, v.clone())).collect())
}

fn or_literals(e: &Expr) -> Option<Vec<(usize, String)>> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            let mut l = or_literals(left)?;
            l.extend(or_literals(right)?);
            Some(l)
        }
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => {
            let (col, lit) = match (column(left), column(right)) {
                (Some(c), None) => (c, right),
                (None, Some(c)) => (c, left),
                _ => return None,
            };
            literal_terms(col, &[string_lit(lit)?])
        }
        Expr::InList(InList { expr, list, negated: false }) => {
            let values = list.iter().map(string_lit).collect::<Option<Vec<_>>>()?;
            literal_terms(column(expr)?, &values)
        }
        _ => None,
    }
}

/// Most ports and interfaces listed per address by [`ip_flow_activity`].
pub const ACTIVITY_LIST_CAP: usize = 64;

/// The network activity of one address, as [`ip_flow_activity`] reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IpFlowActivity {
    /// The address.
    pub ip: String,
    /// Flow records where it appears (`srcaddr`, `dstaddr`, `pkt_srcaddr` or `pkt_dstaddr`).
    pub flows: u64,
    /// Bytes of those flows.
    pub bytes: u64,
    /// Packets of those flows.
    pub packets: u64,
    /// Flows with `action = 'ACCEPT'`.
    pub accepted: u64,
    /// Flows with `action = 'REJECT'`.
    pub rejected: u64,
    /// Earliest `start_ts` of those flows, RFC 3339.
    pub first_seen: Option<String>,
    /// Latest `end_ts` of those flows, RFC 3339.
    pub last_seen: Option<String>,
    /// Distinct ports seen on either side of those flows, sorted (at most
    /// [`ACTIVITY_LIST_CAP`]).
    pub ports: Vec<i64>,
    /// Distinct network interfaces the flows were logged on, sorted (at most
    /// [`ACTIVITY_LIST_CAP`]).
    pub interfaces: Vec<String>,
    /// Bytes of flows where the address was the source (`srcaddr` or `pkt_srcaddr`): traffic
    /// from it into the logged network.
    pub inbound_bytes: u64,
    /// Bytes of flows where the address was the destination (`dstaddr` or `pkt_dstaddr`):
    /// traffic from the logged network to it.
    pub outbound_bytes: u64,
}

/// An address's activity being summed: ports, interfaces, first start and last end.
type Acc = (IpFlowActivity, BTreeSet<i64>, BTreeSet<String>, Option<i64>, Option<i64>);

fn get(a: &arrow::array::StringArray, r: usize) -> Option<&str> {
    (!a.is_null(r)).then(|| a.value(r))
}

fn sql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The playbook's question for a set of addresses: which flows had one of `ips` as
/// `srcaddr`, `dstaddr`, `pkt_srcaddr` or `pkt_dstaddr`, with bytes, packets, ports,
/// interfaces, accepts/rejects and first/last seen. Works on raw evidence and on stores.
///
/// Addresses are compared as text, exactly as the logs write them. One entry per address
/// that has at least one flow, in the order given (duplicates once); empty when there are no
/// flow logs or no address matches. A flow counts once per address even if the address is in
/// several of its columns.
pub async fn ip_flow_activity(engine: &Engine, ips: &[String]) -> Result<Vec<IpFlowActivity>, QueryError> {
    let mut wanted: Vec<&str> = Vec::new();
    for ip in ips {
        let ip = ip.trim();
        if !ip.is_empty() && !wanted.contains(&ip) {
            wanted.push(ip);
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let list = wanted.iter().map(|s| sql_quote(s)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, srcport, dstport, interface_id, action, bytes, \
         packets, start_ts, end_ts FROM vpc_flow WHERE srcaddr IN ({list}) OR dstaddr IN ({list}) \
         OR pkt_srcaddr IN ({list}) OR pkt_dstaddr IN ({list})"
    );
    let batches = engine.sql(&sql).await?.collect().await?;
    let index: HashMap<&str, usize> = wanted.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let mut acc: Vec<Acc> = wanted
        .iter()
        .map(|ip| {
            (IpFlowActivity { ip: ip.to_string(), ..Default::default() }, BTreeSet::new(), BTreeSet::new(), None, None)
        })
        .collect();
    for b in &batches {
        // Stores may hand strings back as views: bring every column to the table's type.
        let cast = |i: usize, t: &DataType| arrow::compute::cast(b.column(i), t).map_err(DataFusionError::from);
        let text: Vec<ArrayRef> =
            [0, 1, 2, 3, 6, 7].iter().map(|&i| cast(i, &DataType::Utf8)).collect::<Result<_>>()?;
        let ints: Vec<ArrayRef> = [4, 5, 8, 9].iter().map(|&i| cast(i, &DataType::Int64)).collect::<Result<_>>()?;
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        let times: Vec<ArrayRef> = [10, 11].iter().map(|&i| cast(i, &ts)).collect::<Result<_>>()?;
        let s = |i: usize| text[i].as_string::<i32>();
        let (src, dst, psrc, pdst, eni, action) = (s(0), s(1), s(2), s(3), s(4), s(5));
        let n = |i: usize| ints[i].as_primitive::<Int64Type>();
        let (sport, dport, bytes, packets) = (n(0), n(1), n(2), n(3));
        let (start, end) =
            (times[0].as_primitive::<TimestampMicrosecondType>(), times[1].as_primitive::<TimestampMicrosecondType>());
        for r in 0..b.num_rows() {
            let is_src: Vec<usize> =
                [get(src, r), get(psrc, r)].into_iter().flatten().filter_map(|v| index.get(v).copied()).collect();
            let is_dst: Vec<usize> =
                [get(dst, r), get(pdst, r)].into_iter().flatten().filter_map(|v| index.get(v).copied()).collect();
            let mut hit: Vec<usize> = is_src.iter().chain(&is_dst).copied().collect();
            hit.sort_unstable();
            hit.dedup();
            let nbytes = if bytes.is_null(r) { 0 } else { bytes.value(r).max(0) as u64 };
            let npackets = if packets.is_null(r) { 0 } else { packets.value(r).max(0) as u64 };
            for i in hit {
                let (a, ports, enis, first, last) = &mut acc[i];
                a.flows += 1;
                a.bytes += nbytes;
                a.packets += npackets;
                match get(action, r) {
                    Some("ACCEPT") => a.accepted += 1,
                    Some("REJECT") => a.rejected += 1,
                    _ => {}
                }
                if is_src.contains(&i) {
                    a.inbound_bytes += nbytes;
                }
                if is_dst.contains(&i) {
                    a.outbound_bytes += nbytes;
                }
                for p in [sport, dport] {
                    if !p.is_null(r) && (ports.len() < ACTIVITY_LIST_CAP || ports.contains(&p.value(r))) {
                        ports.insert(p.value(r));
                    }
                }
                if let Some(e) = get(eni, r)
                    && enis.len() < ACTIVITY_LIST_CAP
                {
                    enis.insert(e.to_string());
                }
                if !start.is_null(r) {
                    let v = start.value(r);
                    *first = Some(first.map_or(v, |f| f.min(v)));
                }
                if !end.is_null(r) {
                    let v = end.value(r);
                    *last = Some(last.map_or(v, |l| l.max(v)));
                }
            }
        }
    }
    Ok(acc
        .into_iter()
        .filter(|(a, ..)| a.flows > 0)
        .map(|(mut a, ports, enis, first, last)| {
            a.ports = ports.into_iter().collect();
            a.interfaces = enis.into_iter().collect();
            a.first_seen = first.map(format_micros);
            a.last_seen = last.map(format_micros);
            a
        })
        .collect())
}
