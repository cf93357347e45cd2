//! What the evidence table learns from a query's filters before it opens a file.
//!
//! - **Partition pruning**: the S3 key of a CloudTrail file names its account, region and day
//!   (and the file name its delivery time), so filters on `recipientaccountid`, `awsregion`,
//!   `event_ts`/`eventtime` and on the path columns let whole files go unopened.
//! - **Literal pre-filter**: equality and `IN` filters on string columns become a
//!   [`Prefilter`], which skips files whose bytes lack the literal and records whose field
//!   differs, before either is parsed or built.
//!
//! Both are *inexact*: they only drop what cannot match, and DataFusion applies every filter
//! exactly afterwards. Time pruning allows for CloudTrail's delivery delay: an event is in a
//! file delivered at or after it happened (up to [`EARLY_SLACK_US`] of clock skew), and at
//! most [`LATE_SLACK_US`] later.

use std::collections::BTreeSet;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{Between, InList, ScalarFunction};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use trailsift_ingest::discover::{EvidenceFile, PathInfo};
use trailsift_ingest::prefilter::{Prefilter, Term};
use trailsift_ingest::schema::json_key_path;
use trailsift_ingest::time::parse_timestamp_micros;

const DAY_US: i64 = 86_400_000_000;
/// How long after it happened an event may still be delivered (CloudTrail delivers most
/// events within 15 minutes and documents no bound; a day covers the late ones seen in
/// practice).
pub const LATE_SLACK_US: i64 = DAY_US;
/// How far an event's time may be after its file's delivery time (clock skew).
pub const EARLY_SLACK_US: i64 = 3_600_000_000;

/// Facts drawn from a scan's filters.
#[derive(Debug, Default, Clone)]
pub struct Pushdown {
    /// Accounts the rows must belong to (`recipientaccountid` or `path_account`).
    accounts: Option<BTreeSet<String>>,
    /// Regions the rows must belong to (`awsregion` or `path_region`).
    regions: Option<BTreeSet<String>>,
    /// Inclusive bounds on the event time, microseconds since the epoch.
    time_lo: Option<i64>,
    time_hi: Option<i64>,
    /// Inclusive bounds on `path_date` (days since the epoch).
    date_lo: Option<i32>,
    date_hi: Option<i32>,
    /// Literal groups for the pre-filter.
    groups: Vec<Vec<Term>>,
}

/// What a filter can tell the scan.
enum Fact {
    Accounts(BTreeSet<String>),
    Regions(BTreeSet<String>),
    PathAccounts(BTreeSet<String>),
    PathRegions(BTreeSet<String>),
    TimeLo(i64),
    TimeHi(i64),
    DateLo(i32),
    DateHi(i32),
    Literals(Vec<Term>),
}

impl Pushdown {
    /// Facts of an event-time range alone (inclusive bounds, microseconds since the epoch).
    pub fn time_range(lo: Option<i64>, hi: Option<i64>) -> Self {
        Self { time_lo: lo, time_hi: hi, ..Self::default() }
    }

    /// Collects what `filters` (a conjunction) say about files and records.
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

    /// Whether the scan can use `filter` at all (for `supports_filters_pushdown`).
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
            Fact::Accounts(s) | Fact::PathAccounts(s) => meet(&mut self.accounts, s),
            Fact::Regions(s) | Fact::PathRegions(s) => meet(&mut self.regions, s),
            Fact::TimeLo(t) => self.time_lo = Some(self.time_lo.map_or(t, |o| o.max(t))),
            Fact::TimeHi(t) => self.time_hi = Some(self.time_hi.map_or(t, |o| o.min(t))),
            Fact::DateLo(d) => self.date_lo = Some(self.date_lo.map_or(d, |o| o.max(d))),
            Fact::DateHi(d) => self.date_hi = Some(self.date_hi.map_or(d, |o| o.min(d))),
            Fact::Literals(terms) => self.groups.push(terms),
        }
    }

    /// The literal pre-filter, if the filters give one.
    pub fn prefilter(&self) -> Option<Prefilter> {
        Prefilter::new(self.groups.iter().cloned())
    }

    /// Whether `file` may hold matching rows, judged from its path alone.
    pub fn may_hold(&self, file: &EvidenceFile) -> bool {
        self.info_may_hold(&file.info)
    }

    fn info_may_hold(&self, info: &PathInfo) -> bool {
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
        // The window of event times a file can hold.
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

/// The dotted column path an expression reads, if it is a column or nested field access.
fn column_path(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Column(c) => Some(vec![c.name.clone()]),
        Expr::ScalarFunction(ScalarFunction { func, args }) if func.name() == "get_field" && args.len() >= 2 => {
            let mut path = column_path(&args[0])?;
            for a in &args[1..] {
                path.push(string_lit(a)?);
            }
            Some(path)
        }
        Expr::Alias(a) => column_path(&a.expr),
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
        ScalarValue::Dictionary(_, v) => string_lit(&Expr::Literal((**v).clone(), None)),
        _ => None,
    }
}

/// A time literal as microseconds since the epoch: a timestamp of any unit, or an ISO-8601
/// string (a date alone means its midnight UTC).
fn time_lit(e: &Expr) -> Option<i64> {
    match scalar(e)? {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v.div_euclid(1_000)),
        ScalarValue::Date32(Some(d)) => Some(*d as i64 * DAY_US),
        _ => {
            let s = string_lit(e)?;
            parse_timestamp_micros(&s).or_else(|| date_days(&s).map(|d| d as i64 * DAY_US))
        }
    }
}

fn date_lit(e: &Expr) -> Option<i32> {
    match scalar(e)? {
        ScalarValue::Date32(Some(d)) => Some(*d),
        _ => date_days(&string_lit(e)?),
    }
}

/// `YYYY-MM-DD` (possibly followed by more) as days since the epoch.
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
    Some(trailsift_ingest::time::days_from_civil(y, m, d) as i32)
}

/// The facts one conjunct gives (none when it is not understood).
fn facts(e: &Expr) -> Vec<Fact> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            if *op == Operator::Or {
                return or_literals(e).map(|t| vec![Fact::Literals(t)]).unwrap_or_default();
            }
            let (col, lit, op) = match (column_path(left), column_path(right)) {
                (Some(c), None) => (c, right.as_ref(), *op),
                (None, Some(c)) => match op.swap() {
                    Some(op) => (c, left.as_ref(), op),
                    None => return Vec::new(),
                },
                _ => return Vec::new(),
            };
            compare(&col, op, lit)
        }
        Expr::InList(InList { expr, list, negated: false }) => {
            let Some(col) = column_path(expr) else { return Vec::new() };
            let Some(values) = list.iter().map(string_lit).collect::<Option<Vec<_>>>() else {
                return Vec::new();
            };
            equal_any(&col, values)
        }
        Expr::Between(Between { expr, negated: false, low, high }) => {
            let Some(col) = column_path(expr) else { return Vec::new() };
            let mut out = compare(&col, Operator::GtEq, low);
            out.extend(compare(&col, Operator::LtEq, high));
            out
        }
        _ => Vec::new(),
    }
}

fn compare(col: &[String], op: Operator, lit: &Expr) -> Vec<Fact> {
    let name: Vec<&str> = col.iter().map(String::as_str).collect();
    match (name.as_slice(), op) {
        (_, Operator::Eq) => string_lit(lit).map(|v| equal_any(col, vec![v])).unwrap_or_default(),
        (["event_ts"] | ["eventtime"], Operator::Gt | Operator::GtEq) => {
            time_lit(lit).map(|t| vec![Fact::TimeLo(t)]).unwrap_or_default()
        }
        (["event_ts"] | ["eventtime"], Operator::Lt | Operator::LtEq) => {
            // `eventtime < '2024-01-02'` keeps times before that midnight; rounding is covered
            // by the slack.
            time_lit(lit).map(|t| vec![Fact::TimeHi(t)]).unwrap_or_default()
        }
        (["path_date"], Operator::Gt | Operator::GtEq) => {
            date_lit(lit).map(|d| vec![Fact::DateLo(if op == Operator::Gt { d + 1 } else { d })]).unwrap_or_default()
        }
        (["path_date"], Operator::Lt | Operator::LtEq) => {
            date_lit(lit).map(|d| vec![Fact::DateHi(if op == Operator::Lt { d - 1 } else { d })]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Facts from `col IN (values)` / `col = value`.
fn equal_any(col: &[String], values: Vec<String>) -> Vec<Fact> {
    let name: Vec<&str> = col.iter().map(String::as_str).collect();
    let set = || values.iter().cloned().collect::<BTreeSet<_>>();
    let mut out = Vec::new();
    match name.as_slice() {
        ["recipientaccountid"] => out.push(Fact::Accounts(set())),
        ["awsregion"] => out.push(Fact::Regions(set())),
        ["path_account"] => out.push(Fact::PathAccounts(set())),
        ["path_region"] => out.push(Fact::PathRegions(set())),
        ["path_date"] => {
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

fn literal_terms(col: &[String], values: &[String]) -> Option<Vec<Term>> {
    let name: Vec<&str> = col.iter().map(String::as_str).collect();
    let path = json_key_path(&name)?;
    Some(values.iter().map(|v| Term { path: path.clone(), literal: v.clone() }).collect())
}

/// `a = 'x' OR b IN ('y', 'z') OR …` over string columns: one literal group.
fn or_literals(e: &Expr) -> Option<Vec<Term>> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            let mut l = or_literals(left)?;
            l.extend(or_literals(right)?);
            Some(l)
        }
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => {
            let (col, lit) = match (column_path(left), column_path(right)) {
                (Some(c), None) => (c, right),
                (None, Some(c)) => (c, left),
                _ => return None,
            };
            literal_terms(&col, &[string_lit(lit)?])
        }
        Expr::InList(InList { expr, list, negated: false }) => {
            let values = list.iter().map(string_lit).collect::<Option<Vec<_>>>()?;
            literal_terms(&column_path(expr)?, &values)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn info(account: &str, region: &str, day: &str, file_time: Option<&str>) -> PathInfo {
        PathInfo {
            org: None,
            account: Some(account.into()),
            region: Some(region.into()),
            date: date_days(day),
            file_time: file_time.and_then(parse_timestamp_micros),
        }
    }

    #[test]
    fn accounts_and_regions_prune() {
        let p = Pushdown::from_filters(&[col("awsregion").eq(lit("eu-west-1"))]);
        assert!(p.info_may_hold(&info("123456789012", "eu-west-1", "2024-01-01", None)));
        assert!(!p.info_may_hold(&info("123456789012", "us-east-1", "2024-01-01", None)));
        let p = Pushdown::from_filters(&[col("recipientaccountid").in_list(vec![lit("1"), lit("2")], false)]);
        assert!(p.info_may_hold(&info("2", "x", "2024-01-01", None)));
        assert!(!p.info_may_hold(&info("3", "x", "2024-01-01", None)));
        // Unknown partition values never prune.
        assert!(p.info_may_hold(&PathInfo::default()));
    }

    #[test]
    fn time_ranges_prune_with_slack() {
        let p = Pushdown::from_filters(&[col("eventtime")
            .gt_eq(lit("2024-03-10T00:00:00Z"))
            .and(col("eventtime").lt(lit("2024-03-11T00:00:00Z")))]);
        assert!(p.info_may_hold(&info("1", "r", "2024-03-10", Some("2024-03-10T12:00:00Z"))));
        // Delivered the next morning: may hold late events of the 10th.
        assert!(p.info_may_hold(&info("1", "r", "2024-03-11", Some("2024-03-11T06:00:00Z"))));
        // Delivered before the range began, beyond clock skew: cannot.
        assert!(!p.info_may_hold(&info("1", "r", "2024-03-09", Some("2024-03-09T20:00:00Z"))));
        // Delivered more than a day after the range: cannot.
        assert!(!p.info_may_hold(&info("1", "r", "2024-03-13", Some("2024-03-13T00:00:00Z"))));
        // Only a folder date: the whole day plus slack.
        assert!(p.info_may_hold(&info("1", "r", "2024-03-11", None)));
        assert!(!p.info_may_hold(&info("1", "r", "2024-03-08", None)));
    }

    #[test]
    fn literals_become_prefilter_groups() {
        let key = datafusion::functions::core::expr_fn::get_field(col("useridentity"), "accesskeyid");
        let p = Pushdown::from_filters(&[key
            .clone()
            .eq(lit("AKIAEXAMPLE"))
            .and(col("eventname").in_list(vec![lit("A"), lit("B")], false))]);
        assert_eq!(p.groups.len(), 2);
        assert_eq!(p.groups[0][0].path, ["userIdentity", "accessKeyId"]);
        assert_eq!(p.groups[1].len(), 2);
        let p = Pushdown::from_filters(&[key.eq(lit("AKIAX")).or(col("sourceipaddress").eq(lit("192.0.2.1")))]);
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].len(), 2);
        // Not understood: LIKE, JSON columns, negations.
        assert!(!Pushdown::understands(&col("eventname").like(lit("Get%"))));
        assert!(!Pushdown::understands(&col("requestparameters").eq(lit("{}"))));
        assert!(!Pushdown::understands(&col("eventname").in_list(vec![lit("A")], true)));
        assert!(Pushdown::understands(&col("eventname").eq(lit("A"))));
    }
}
