//! The exposed-key investigation behind `trailsift key`: from one access key, its lineage,
//! the scope of every key in it, the impact (mutating calls, new principals, shared
//! resources), findings, a containment checklist and a timeline. The steps follow AWS's
//! incident-response playbook for exposed credentials (validate → scope → impact → contain).
//!
//! [`investigate`] gathers everything but findings; the caller runs the detection pack over
//! the lineage and hands them to [`Investigation::attach_findings`], then
//! [`Investigation::finish`] derives the containment checklist and the timeline. The
//! structure serialises to the documented JSON form of the report (field names are stable;
//! new fields may be added).

use std::collections::{BTreeMap, BTreeSet};

use trailsift_query::Engine;

use crate::lineage::{CreatedUser, DerivedKey, FailedMint, derive};
use crate::rows::{Row, int_of, lit, lit_list, rows, str_of};
use crate::{DetectError, Finding, Level};

/// Name under which the events of the lineage are registered for the report's queries (a
/// view of [`LINEAGE_RECORDS_TABLE`] with short column names).
pub const KEY_EVENTS_TABLE: &str = "key_events";

/// Name of the in-memory table of the lineage's records: every `cloudtrail` column, one row
/// per event (duplicate copies left out, as `cloudtrail_unique` does).
pub const LINEAGE_RECORDS_TABLE: &str = "lineage_records";

/// The lineage's records as [`investigate`] read them (also registered as
/// [`LINEAGE_RECORDS_TABLE`]): the hunt over the same keys takes them from here instead of
/// scanning the evidence again. Cloning shares them.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecords {
    /// The keys whose records these are, sorted.
    pub keys: Vec<String>,
    /// The records, one per event, with `cloudtrail`'s schema: in memory, or in a temporary
    /// Parquet file when they are many ([`InvestigateOptions::held_bytes`]).
    pub held: trailsift_query::Held,
    /// Rows in `held`.
    pub records: u64,
    /// Duplicate copies left out.
    pub dropped: u64,
}

impl KeyRecords {
    /// Whether these are the records of exactly `keys` (in any order, repeats allowed).
    pub fn are_of(&self, keys: &[String]) -> bool {
        sorted_unique(keys) == self.keys
    }
}

fn sorted_unique(keys: &[String]) -> Vec<String> {
    let mut v = keys.to_vec();
    v.sort();
    v.dedup();
    v
}

/// A value and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Count {
    /// The value (an IP, a region, a user agent, …).
    pub value: String,
    /// Events with it.
    pub count: u64,
}

/// Who a key belongs to, as the logs show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    /// `useridentity.arn`.
    pub arn: Option<String>,
    /// `useridentity.type` (IAMUser, AssumedRole, Root, FederatedUser, …).
    pub principal_type: Option<String>,
    /// `useridentity.username`, or the session issuer's name for roles.
    pub user_name: Option<String>,
    /// `useridentity.accountid`.
    pub account_id: Option<String>,
}

/// The scope of one key of the lineage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyScope {
    /// The key.
    pub access_key_id: String,
    /// `long-term`, `temporary`, … (see `access_key_type`).
    pub key_type: String,
    /// Whom the key acted as.
    pub principal: Option<Principal>,
    /// Events made with it.
    pub events: u64,
    /// Of which failed (errorcode set).
    pub errors: u64,
    /// First event (RFC 3339 UTC).
    pub first_seen: Option<String>,
    /// Last event (RFC 3339 UTC).
    pub last_seen: Option<String>,
    /// Source IPs, sorted.
    pub source_ips: Vec<String>,
    /// Events per event name.
    pub event_names: BTreeMap<String, u64>,
    /// Failed events per event name (names without failures are left out).
    pub event_errors: BTreeMap<String, u64>,
    /// Events per source IP, most first.
    pub source_ip_counts: Vec<Count>,
    /// Events per region, most first.
    pub regions: Vec<Count>,
    /// Events per service (`eventsource`), most first.
    pub services: Vec<Count>,
    /// Events per user agent, most first.
    pub user_agents: Vec<Count>,
    /// Accounts whose trails logged its events.
    pub accounts: Vec<String>,
}

/// A call that changed something (or tried to).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImpactEvent {
    /// When (RFC 3339 UTC).
    pub event_time: String,
    /// Key that made it.
    pub access_key_id: String,
    /// Service.
    pub event_source: Option<String>,
    /// Call.
    pub event_name: String,
    /// Region.
    pub region: Option<String>,
    /// Account whose trail logged it.
    pub account_id: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// Error code when it failed.
    pub error_code: Option<String>,
    /// The request parameters, compact and shortened.
    pub request: Option<String>,
    /// Resource ARNs or names it touched, where the record says.
    pub resources: Vec<String>,
    /// `eventid`.
    pub event_id: Option<String>,
    /// Evidence file.
    pub evidence_path: String,
    /// Record index.
    pub evidence_index: i64,
    /// The full request parameters (not serialised; used to name containment targets).
    #[serde(skip)]
    pub request_params: Option<serde_json::Value>,
}

/// The impact section: what was changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Impact {
    /// Mutating calls in total (successful and failed).
    pub mutating_events: u64,
    /// Of which failed.
    pub failed: u64,
    /// Mutating calls per event name.
    pub by_event_name: BTreeMap<String, u64>,
    /// The calls, oldest first (at most the limit given to [`investigate`]).
    pub events: Vec<ImpactEvent>,
    /// Whether `events` was cut at the limit.
    pub truncated: bool,
}

/// One evidence location.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// `eventid`.
    pub event_id: Option<String>,
    /// Evidence file.
    pub evidence_path: String,
    /// Record index.
    pub evidence_index: i64,
    /// Time (RFC 3339 UTC).
    pub event_time: String,
    /// The finding's summary for this hit.
    pub summary: String,
}

/// A detection that fired on the lineage, with all its hits folded together.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FindingSummary {
    /// Detection id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: Level,
    /// ATT&CK tags.
    pub tags: Vec<String>,
    /// Events behind it (summed over hits).
    pub count: u64,
    /// Hits (rows the detection returned).
    pub hits: u64,
    /// First event.
    pub first_seen: String,
    /// Last event.
    pub last_seen: String,
    /// Keys involved.
    pub access_key_ids: Vec<String>,
    /// Evidence of the hits (at most 20).
    pub evidence: Vec<Evidence>,
}

/// One step of the containment checklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainmentItem {
    /// Order of urgency: 1 first.
    pub priority: u8,
    /// What to do, as a short verb phrase.
    pub action: String,
    /// On what (key ID, user, role ARN, snapshot, bucket, …).
    pub target: String,
    /// Why: what in the evidence calls for it.
    pub reason: String,
    /// An AWS CLI command that does it, where one fits.
    pub command: Option<String>,
}

/// Events per hour of one key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HourBucket {
    /// Start of the hour (RFC 3339 UTC).
    pub hour: String,
    /// The key.
    pub access_key_id: String,
    /// Events in that hour.
    pub events: u64,
    /// Of which failed.
    pub errors: u64,
}

/// A line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineEntry {
    /// When (RFC 3339 UTC).
    pub time: String,
    /// `first-seen`, `last-seen`, `mint`, `failed-mint`, `new-user`, `change`, `finding`.
    pub kind: String,
    /// Key involved.
    pub access_key_id: Option<String>,
    /// Level, for findings.
    pub level: Option<Level>,
    /// What happened.
    pub text: String,
    /// `eventid`, where one event stands behind it.
    pub event_id: Option<String>,
}

/// The whole investigation: the JSON form of `trailsift key`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Investigation {
    /// Tool and version that made it.
    pub tool: String,
    /// The key under investigation.
    pub key: String,
    /// Its type (`long-term` for AKIA, `temporary` for ASIA, …).
    pub key_type: String,
    /// The account the key ID encodes (decoded offline; `None` for legacy keys).
    pub account_id: Option<String>,
    /// Whether the key appears in the evidence at all.
    pub seen_in_evidence: bool,
    /// Whom it belongs to, as the logs show it.
    pub owner: Option<Principal>,
    /// The evidence read.
    pub evidence: EvidenceInfo,
    /// The key and every key derived from it.
    pub lineage: Vec<DerivedKey>,
    /// IAM users created by lineage keys.
    pub created_users: Vec<CreatedUser>,
    /// Minting calls by lineage keys that failed.
    pub failed_mints: Vec<FailedMint>,
    /// Scope per key, in lineage order.
    pub keys: Vec<KeyScope>,
    /// Events of the key and every key derived from it.
    pub total_events: u64,
    /// Of which failed.
    pub total_errors: u64,
    /// Source IPs across the lineage, most events first.
    pub source_ips: Vec<Count>,
    /// What the lineage changed.
    pub impact: Impact,
    /// Detections that fired on the lineage, most severe first.
    pub findings: Vec<FindingSummary>,
    /// What to do now.
    pub containment: Vec<ContainmentItem>,
    /// Events per hour per key (for the activity chart).
    pub activity: Vec<HourBucket>,
    /// Notable moments, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// VPC flow-log activity of the lineage's source addresses (empty without flow logs).
    pub network: Vec<trailsift_query::IpFlowActivity>,
    /// Where the lineage's records are held in this session (not part of the report).
    #[serde(skip)]
    pub key_records: Option<KeyRecords>,
}

/// What evidence the report rests on.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvidenceInfo {
    /// Paths given on the command line.
    pub paths: Vec<String>,
    /// Table the events were read from (`cloudtrail_unique` when duplicates are collapsed).
    pub table: String,
    /// Evidence files considered.
    pub files: Option<u64>,
    /// Evidence files that could not be read completely.
    pub files_with_problems: Option<u64>,
    /// Duplicate records collapsed (overlapping exports), when known.
    pub duplicates_collapsed: Option<u64>,
    /// Duplicated events whose copies differ (possible tampering), when known.
    pub duplicate_conflicts: Option<u64>,
    /// Digest verification status of the evidence, when known.
    pub verification: Option<String>,
}

/// Options for [`investigate`].
#[derive(Debug, Clone)]
pub struct InvestigateOptions {
    /// The key under investigation.
    pub key: String,
    /// Most impact events listed in full.
    pub impact_limit: usize,
    /// Evidence paths, for the record.
    pub paths: Vec<String>,
    /// Most bytes of the lineage's records held in memory; past it they are read from a
    /// temporary Parquet file ([`trailsift_query::held`]).
    pub held_bytes: usize,
}

impl InvestigateOptions {
    /// Options for `key` with the default limits.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into(), impact_limit: 5_000, paths: Vec::new(), held_bytes: trailsift_query::HELD_BYTES }
    }
}

/// Events and failures per event name, of one key.
type NameCounts = (BTreeMap<String, u64>, BTreeMap<String, u64>);

fn source_table(engine: &Engine) -> &'static str {
    match engine.context().table_exist("cloudtrail_unique") {
        Ok(true) => "cloudtrail_unique",
        _ => "cloudtrail",
    }
}

/// Event names that change nothing, by prefix (used when a record lacks `readOnly`).
const READ_PREFIXES: [&str; 22] = [
    "Get",
    "List",
    "Describe",
    "Head",
    "Lookup",
    "Search",
    "Select",
    "Scan",
    "Query",
    "BatchGet",
    "Check",
    "Validate",
    "Test",
    "Preview",
    "Estimate",
    "Simulate",
    "View",
    "Download",
    "Decrypt",
    "Generate",
    "ConsoleLogin",
    "Verify",
];

/// The SQL predicate for "this event changed something (or tried to)".
fn mutating_predicate() -> String {
    let reads: Vec<String> = READ_PREFIXES.iter().map(|p| format!("starts_with(eventname, {})", lit(p))).collect();
    format!("(CASE WHEN readonly IS NOT NULL THEN lower(readonly) <> 'true' ELSE NOT ({}) END)", reads.join(" OR "))
}

/// Runs the investigation of `opts.key` (everything but findings; see the module doc).
pub async fn investigate(engine: &Engine, opts: &InvestigateOptions) -> Result<Investigation, DetectError> {
    let key = opts.key.trim().to_string();
    let lineage = derive(engine, std::slice::from_ref(&key)).await?;
    let table = source_table(engine);
    let ids = lineage.key_ids();

    // Validation: the key's type and account, decoded offline.
    let v = rows(
        engine,
        &format!("SELECT access_key_type({k}) AS t, CAST(access_key_account({k}) AS VARCHAR) AS a", k = lit(&key)),
    )
    .await?;
    let key_type = v.first().and_then(|r| str_of(r, "t")).unwrap_or_else(|| "unknown".into());
    let account_id = v.first().and_then(|r| str_of(r, "a")).map(|a| format!("{a:0>12}"));

    // The lineage's records, once, into memory (every column: the hunt over the lineage
    // reads them too): every later query reads them from there. One streaming pass holds
    // them and finds the duplicate copies, which are then left out (as `cloudtrail_unique`
    // would, without its window over every record).
    let (held, found) = trailsift_query::hold_unique(
        engine,
        &format!("useridentity.accesskeyid IN {}", lit_list(&ids)),
        opts.held_bytes,
    )
    .await?;
    let ctx = engine.context();
    ctx.deregister_table(LINEAGE_RECORDS_TABLE)?;
    ctx.register_table(LINEAGE_RECORDS_TABLE, held.table()?)?;
    let key_records = KeyRecords {
        keys: sorted_unique(&ids),
        held,
        records: found.records - found.dropped.len() as u64,
        dropped: found.dropped.len() as u64,
    };
    let view = engine
        .sql(&format!(
            "SELECT useridentity.accesskeyid AS k, event_ts, eventid, eventsource, eventname, awsregion, \
             sourceipaddress, useragent, errorcode, readonly, recipientaccountid, useridentity.arn AS arn, \
             useridentity.type AS ptype, useridentity.username AS uname, useridentity.accountid AS uacct, \
             useridentity.sessioncontext.sessionissuer.username AS issuer, requestparameters, \
             responseelements, resources, evidence_path, evidence_index, evidence_verification \
             FROM {LINEAGE_RECORDS_TABLE}"
        ))
        .await?
        .into_view();
    ctx.deregister_table(KEY_EVENTS_TABLE)?;
    ctx.register_table(KEY_EVENTS_TABLE, view)?;
    let t = KEY_EVENTS_TABLE;

    let mut keys = Vec::new();
    let per_key = rows(
        engine,
        &format!(
            "SELECT k, count(*) AS n, count(errorcode) AS e, min(event_ts) AS f, max(event_ts) AS l, \
             access_key_type(k) AS kt FROM {t} GROUP BY k"
        ),
    )
    .await?;
    let per_key: BTreeMap<String, Row> = per_key.into_iter().filter_map(|r| str_of(&r, "k").map(|k| (k, r))).collect();
    let dims = [
        ("sourceipaddress", "ip"),
        ("awsregion", "region"),
        ("eventsource", "service"),
        ("useragent", "ua"),
        ("recipientaccountid", "acct"),
    ];
    let mut counts: BTreeMap<(String, &str), Vec<Count>> = BTreeMap::new();
    for (col, dim) in dims {
        let sql = format!(
            "SELECT k, {col} AS v, count(*) AS n FROM {t} WHERE {col} IS NOT NULL GROUP BY k, {col} ORDER BY k, n DESC, v"
        );
        for r in rows(engine, &sql).await? {
            let (Some(k), Some(v)) = (str_of(&r, "k"), str_of(&r, "v")) else { continue };
            counts.entry((k, dim)).or_default().push(Count { value: v, count: int_of(&r, "n") as u64 });
        }
    }
    let mut names: BTreeMap<String, NameCounts> = BTreeMap::new();
    for r in rows(
        engine,
        &format!("SELECT k, eventname AS v, count(*) AS n, count(errorcode) AS e FROM {t} GROUP BY k, eventname"),
    )
    .await?
    {
        let (Some(k), Some(v)) = (str_of(&r, "k"), str_of(&r, "eventname").or_else(|| str_of(&r, "v"))) else {
            continue;
        };
        let entry = names.entry(k).or_default();
        entry.0.insert(v.clone(), int_of(&r, "n") as u64);
        let e = int_of(&r, "e") as u64;
        if e > 0 {
            entry.1.insert(v, e);
        }
    }
    let mut principals: BTreeMap<String, Principal> = BTreeMap::new();
    for r in rows(
        engine,
        &format!(
            "SELECT k, arn, ptype, coalesce(uname, issuer) AS uname, uacct, count(*) AS n FROM {t} \
             GROUP BY k, arn, ptype, coalesce(uname, issuer), uacct ORDER BY k, n DESC, arn"
        ),
    )
    .await?
    {
        let Some(k) = str_of(&r, "k") else { continue };
        principals.entry(k).or_insert_with(|| Principal {
            arn: str_of(&r, "arn"),
            principal_type: str_of(&r, "ptype"),
            user_name: str_of(&r, "uname"),
            account_id: str_of(&r, "uacct"),
        });
    }
    let mut total_events = 0;
    let mut total_errors = 0;
    for d in &lineage.keys {
        let k = &d.access_key_id;
        let r = per_key.get(k);
        let take = |dim: &str| counts.get(&(k.clone(), dim)).cloned().unwrap_or_default();
        let ips = take("ip");
        let mut source_ips: Vec<String> = ips.iter().map(|c| c.value.clone()).collect();
        source_ips.sort();
        let (event_names, event_errors) = names.get(k).cloned().unwrap_or_default();
        let scope = KeyScope {
            access_key_id: k.clone(),
            key_type: r.and_then(|r| str_of(r, "kt")).unwrap_or_else(|| key_type_of(k).into()),
            principal: principals.get(k).cloned(),
            events: r.map(|r| int_of(r, "n") as u64).unwrap_or(0),
            errors: r.map(|r| int_of(r, "e") as u64).unwrap_or(0),
            first_seen: r.and_then(|r| str_of(r, "f")),
            last_seen: r.and_then(|r| str_of(r, "l")),
            source_ips,
            event_names,
            event_errors,
            source_ip_counts: ips,
            regions: take("region"),
            services: take("service"),
            user_agents: take("ua"),
            accounts: take("acct").into_iter().map(|c| c.value).collect(),
        };
        total_events += scope.events;
        total_errors += scope.errors;
        keys.push(scope);
    }
    let source_ips = rows(
        engine,
        &format!(
            "SELECT sourceipaddress AS v, count(*) AS n FROM {t} WHERE sourceipaddress IS NOT NULL \
             GROUP BY sourceipaddress ORDER BY n DESC, v"
        ),
    )
    .await?
    .iter()
    .filter_map(|r| Some(Count { value: str_of(r, "v")?, count: int_of(r, "n") as u64 }))
    .collect();

    let impact = impact(engine, opts.impact_limit).await?;
    let activity = rows(
        engine,
        &format!(
            "SELECT date_trunc('hour', event_ts) AS h, k, count(*) AS n, count(errorcode) AS e FROM {t} \
             GROUP BY 1, 2 ORDER BY 1, 2"
        ),
    )
    .await?
    .iter()
    .filter_map(|r| {
        Some(HourBucket {
            hour: str_of(r, "h")?,
            access_key_id: str_of(r, "k")?,
            events: int_of(r, "n") as u64,
            errors: int_of(r, "e") as u64,
        })
    })
    .collect();

    let owner = principals.get(&key).cloned();
    let seen = per_key.contains_key(&key);
    Ok(Investigation {
        tool: format!("trailsift {}", env!("CARGO_PKG_VERSION")),
        key,
        key_type,
        account_id,
        seen_in_evidence: seen,
        owner,
        evidence: EvidenceInfo { paths: opts.paths.clone(), table: table.to_string(), ..Default::default() },
        lineage: lineage.keys,
        created_users: lineage.created_users,
        failed_mints: lineage.failed_mints,
        keys,
        total_events,
        total_errors,
        source_ips,
        impact,
        findings: Vec::new(),
        containment: Vec::new(),
        activity,
        timeline: Vec::new(),
        network: Vec::new(),
        key_records: Some(key_records),
    })
}

fn key_type_of(k: &str) -> &'static str {
    match k.get(..4) {
        Some("AKIA") => "long-term",
        Some("ASIA") => "temporary",
        _ => "unknown",
    }
}

async fn impact(engine: &Engine, limit: usize) -> Result<Impact, DetectError> {
    let t = KEY_EVENTS_TABLE;
    let pred = mutating_predicate();
    let mut out = Impact::default();
    for r in rows(
        engine,
        &format!(
            "SELECT eventname AS v, count(*) AS n, count(errorcode) AS e FROM {t} WHERE {pred} GROUP BY eventname"
        ),
    )
    .await?
    {
        let n = int_of(&r, "n") as u64;
        out.mutating_events += n;
        out.failed += int_of(&r, "e") as u64;
        if let Some(v) = str_of(&r, "v") {
            out.by_event_name.insert(v, n);
        }
    }
    let sql = format!(
        "SELECT event_ts, k, eventsource, eventname, awsregion, recipientaccountid, sourceipaddress, errorcode, \
         requestparameters, responseelements, resources, eventid, evidence_path, evidence_index FROM {t} \
         WHERE {pred} ORDER BY event_ts, evidence_path, evidence_index LIMIT {}",
        limit + 1
    );
    let found = rows(engine, &sql).await?;
    out.truncated = found.len() > limit;
    for r in found.iter().take(limit) {
        out.events.push(ImpactEvent {
            event_time: str_of(r, "event_ts").unwrap_or_default(),
            access_key_id: str_of(r, "k").unwrap_or_default(),
            event_source: str_of(r, "eventsource"),
            event_name: str_of(r, "eventname").unwrap_or_default(),
            region: str_of(r, "awsregion"),
            account_id: str_of(r, "recipientaccountid"),
            source_ip: str_of(r, "sourceipaddress"),
            error_code: str_of(r, "errorcode"),
            request: str_of(r, "requestparameters").map(|s| shorten(&s, 400)),
            request_params: str_of(r, "requestparameters").and_then(|s| serde_json::from_str(&s).ok()),
            resources: resources_of(r),
            event_id: str_of(r, "eventid"),
            evidence_path: str_of(r, "evidence_path").unwrap_or_default(),
            evidence_index: int_of(r, "evidence_index"),
        });
    }
    Ok(out)
}

/// Cuts `s` to at most `max` bytes (at a character boundary), marking the cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Resource names of an event: the `resources` ARNs, else well-known request parameters.
fn resources_of(r: &Row) -> Vec<String> {
    let mut out = BTreeSet::new();
    if let Some(serde_json::Value::Array(items)) = r.get("resources") {
        for it in items {
            if let Some(a) = it.get("arn").and_then(|a| a.as_str()) {
                out.insert(a.to_string());
            }
        }
    }
    let req: Option<serde_json::Value> = str_of(r, "requestparameters").and_then(|s| serde_json::from_str(&s).ok());
    if let Some(req) = &req {
        for f in [
            "userName",
            "roleName",
            "roleArn",
            "policyArn",
            "policyName",
            "groupName",
            "bucketName",
            "snapshotId",
            "imageId",
            "dBSnapshotIdentifier",
            "dbSnapshotIdentifier",
            "name",
            "trailName",
            "detectorId",
            "functionName",
            "secretId",
            "instanceType",
            "modelId",
            "serialNumber",
        ] {
            if let Some(v) = req.get(f).and_then(|v| v.as_str()) {
                out.insert(format!("{f}={v}"));
            }
        }
    }
    out.into_iter().collect()
}

/// A string field of an impact event's request parameters.
fn req_str(e: &ImpactEvent, field: &str) -> Option<String> {
    e.request_params.as_ref()?.get(field).and_then(|v| v.as_str()).map(|s| s.to_string())
}

impl Investigation {
    /// Folds the detection hits on the lineage into [`Investigation::findings`] (most severe
    /// first, then by first time), and adds them to the timeline.
    pub fn attach_findings(&mut self, findings: &[Finding]) {
        let mut by_id: BTreeMap<String, FindingSummary> = BTreeMap::new();
        for f in findings {
            let s = by_id.entry(f.id.to_string()).or_insert_with(|| FindingSummary {
                id: f.id.to_string(),
                title: f.title.to_string(),
                level: f.level,
                tags: f.tags.to_vec(),
                count: 0,
                hits: 0,
                first_seen: f.first_seen.clone(),
                last_seen: f.last_seen.clone(),
                access_key_ids: Vec::new(),
                evidence: Vec::new(),
            });
            s.count += f.count.max(1);
            s.hits += 1;
            if f.first_seen < s.first_seen {
                s.first_seen = f.first_seen.clone();
            }
            if f.last_seen > s.last_seen {
                s.last_seen = f.last_seen.clone();
            }
            if let Some(k) = &f.access_key_id
                && !s.access_key_ids.contains(k)
            {
                s.access_key_ids.push(k.clone());
            }
            if s.evidence.len() < 20 {
                s.evidence.push(Evidence {
                    event_id: f.eventid.clone(),
                    evidence_path: f.evidence_path.clone(),
                    evidence_index: f.evidence_index,
                    event_time: f.event_time.clone(),
                    summary: f.summary.clone(),
                });
            }
            self.timeline.push(TimelineEntry {
                time: f.event_time.clone(),
                kind: "finding".into(),
                access_key_id: f.access_key_id.clone(),
                level: Some(f.level),
                text: format!("{} — {}", f.title, f.summary),
                event_id: f.eventid.clone(),
            });
        }
        let mut list: Vec<FindingSummary> = by_id.into_values().collect();
        list.sort_by(|a, b| b.level.cmp(&a.level).then(a.first_seen.cmp(&b.first_seen)).then(a.id.cmp(&b.id)));
        self.findings = list;
    }

    /// Derives the containment checklist and completes the timeline. Call once, after
    /// [`Investigation::attach_findings`].
    pub fn finish(&mut self) {
        self.containment = containment(self);
        let mut tl = std::mem::take(&mut self.timeline);
        for k in &self.keys {
            if let Some(t) = &k.first_seen {
                tl.push(TimelineEntry {
                    time: t.clone(),
                    kind: "first-seen".into(),
                    access_key_id: Some(k.access_key_id.clone()),
                    level: None,
                    text: format!("first event of {} ({} events in all)", k.access_key_id, k.events),
                    event_id: None,
                });
            }
            if let Some(t) = &k.last_seen {
                tl.push(TimelineEntry {
                    time: t.clone(),
                    kind: "last-seen".into(),
                    access_key_id: Some(k.access_key_id.clone()),
                    level: None,
                    text: format!("last event of {}", k.access_key_id),
                    event_id: None,
                });
            }
        }
        for d in self.lineage.iter().filter(|d| d.parent_access_key_id.is_some()) {
            tl.push(TimelineEntry {
                time: d.event_time.clone().unwrap_or_default(),
                kind: "mint".into(),
                access_key_id: d.parent_access_key_id.clone(),
                level: None,
                text: format!(
                    "{} minted {}{}",
                    d.minted_by.as_deref().unwrap_or("?"),
                    d.access_key_id,
                    d.grants.as_deref().map(|g| format!(" ({g})")).unwrap_or_default()
                ),
                event_id: d.event_id.clone(),
            });
        }
        for f in &self.failed_mints {
            tl.push(TimelineEntry {
                time: f.event_time.clone().unwrap_or_default(),
                kind: "failed-mint".into(),
                access_key_id: Some(f.access_key_id.clone()),
                level: None,
                text: format!(
                    "{} failed ({}){}",
                    f.event_name,
                    f.error_code,
                    f.target.as_deref().map(|t| format!(" for {t}")).unwrap_or_default()
                ),
                event_id: f.event_id.clone(),
            });
        }
        for u in &self.created_users {
            tl.push(TimelineEntry {
                time: u.event_time.clone().unwrap_or_default(),
                kind: "new-user".into(),
                access_key_id: Some(u.created_by.clone()),
                level: None,
                text: format!("created IAM user {}", u.user_name),
                event_id: u.event_id.clone(),
            });
        }
        for e in self.impact.events.iter().filter(|e| e.error_code.is_none()) {
            tl.push(TimelineEntry {
                time: e.event_time.clone(),
                kind: "change".into(),
                access_key_id: Some(e.access_key_id.clone()),
                level: None,
                text: format!(
                    "{}{}",
                    e.event_name,
                    if e.resources.is_empty() { String::new() } else { format!(" {}", e.resources.join(", ")) }
                ),
                event_id: e.event_id.clone(),
            });
        }
        tl.sort_by(|a, b| a.time.cmp(&b.time).then(a.kind.cmp(&b.kind)).then(a.text.cmp(&b.text)));
        tl.dedup();
        self.timeline = tl;
    }
}

/// The containment checklist: keys first, then principals, then shared data and changes.
fn containment(inv: &Investigation) -> Vec<ContainmentItem> {
    let mut items: Vec<ContainmentItem> = Vec::new();
    let mut push = |priority: u8, action: &str, target: String, reason: String, command: Option<String>| {
        let item = ContainmentItem { priority, action: action.into(), target, reason, command };
        if !items.contains(&item) {
            items.push(item);
        }
    };
    let scope_of = |k: &str| inv.keys.iter().find(|s| s.access_key_id == k);
    for d in &inv.lineage {
        let k = &d.access_key_id;
        let events = scope_of(k).map(|s| s.events).unwrap_or(0);
        let origin = match (&d.minted_by, &d.parent_access_key_id) {
            (Some(m), Some(p)) => format!("minted by {m} from {p}"),
            _ => "the exposed key".to_string(),
        };
        if k.starts_with("AKIA") {
            let user = scope_of(k)
                .and_then(|s| s.principal.as_ref())
                .and_then(|p| p.user_name.clone())
                .or_else(|| d.grants.clone());
            let user_flag = user.as_deref().map(|u| format!(" --user-name {u}")).unwrap_or_default();
            push(
                1,
                "deactivate, then delete, the long-term access key",
                k.clone(),
                format!("{origin}; {events} events"),
                Some(format!("aws iam update-access-key --access-key-id {k} --status Inactive{user_flag}")),
            );
        } else if k.starts_with("ASIA") {
            let via = d.minted_by.as_deref().unwrap_or("");
            let (action, command) = match via {
                "AssumeRole" => {
                    let role = d.grants.as_deref().and_then(|a| a.rsplit('/').next()).unwrap_or("ROLE");
                    (
                        "revoke the role's active sessions (deny tokens issued before now)",
                        Some(format!(
                            "aws iam put-role-policy --role-name {role} --policy-name AWSRevokeOlderSessions --policy-document file://revoke-older-sessions.json"
                        )),
                    )
                }
                _ => (
                    "invalidate the temporary key: deny its issuing user tokens issued before now (deactivating the parent key does not end it)",
                    None,
                ),
            };
            push(2, action, k.clone(), format!("{origin}; {events} events"), command);
        }
    }
    for u in &inv.created_users {
        push(
            2,
            "disable and (after preserving evidence) delete the IAM user created by the attacker, with its login profile, keys and MFA devices",
            u.user_name.clone(),
            format!("created by {} at {}", u.created_by, u.event_time.as_deref().unwrap_or("?")),
            Some(format!("aws iam delete-login-profile --user-name {}", u.user_name)),
        );
    }
    if let Some(owner) = &inv.owner
        && let Some(arn) = &owner.arn
    {
        push(
            3,
            "review the exposed key's principal: rotate its credentials, check its policies and MFA",
            arn.clone(),
            "owner of the exposed key".into(),
            None,
        );
    }
    for e in inv.impact.events.iter().filter(|e| e.error_code.is_none()) {
        let name = e.event_name.as_str();
        let on = |f: &str| req_str(e, f).unwrap_or_else(|| "?".into());
        let why = format!(
            "{} by {} at {} (event {})",
            name,
            e.access_key_id,
            e.event_time,
            e.event_id.as_deref().unwrap_or("?")
        );
        match name {
            "ModifySnapshotAttribute" => push(
                1,
                "revoke the snapshot's sharing (createVolumePermission)",
                on("snapshotId"),
                why,
                Some(format!(
                    "aws ec2 modify-snapshot-attribute --snapshot-id {} --attribute createVolumePermission --operation-type remove --user-ids ACCOUNT",
                    on("snapshotId")
                )),
            ),
            "ModifyImageAttribute" => push(1, "revoke the AMI's launch permissions", on("imageId"), why, None),
            "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => push(
                1,
                "revoke the RDS snapshot's restore permission",
                req_str(e, "dBSnapshotIdentifier")
                    .or_else(|| req_str(e, "dBClusterSnapshotIdentifier"))
                    .unwrap_or_else(|| "?".into()),
                why,
                None,
            ),
            "PutBucketPolicy"
            | "PutBucketAcl"
            | "DeletePublicAccessBlock"
            | "DeleteBucketPolicy"
            | "PutBucketPublicAccessBlock" => push(
                1,
                "restore the bucket's policy, ACL and Block Public Access",
                on("bucketName"),
                why,
                Some(format!(
                    "aws s3api put-public-access-block --bucket {} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
                    on("bucketName")
                )),
            ),
            "PutBucketReplication" => {
                push(1, "remove the bucket replication rule (data copied out)", on("bucketName"), why, None)
            }
            "StopLogging" | "DeleteTrail" | "UpdateTrail" | "PutEventSelectors" | "PutInsightSelectors" => push(
                1,
                "restore CloudTrail logging",
                on("name"),
                why,
                Some(format!("aws cloudtrail start-logging --name {}", on("name"))),
            ),
            "DeleteDetector"
            | "UpdateDetector"
            | "CreateFilter"
            | "DeleteMembers"
            | "DisassociateFromMasterAccount" => push(
                1,
                "restore GuardDuty (detector, findings filters)",
                req_str(e, "detectorId").unwrap_or_else(|| e.region.clone().unwrap_or_default()),
                why,
                None,
            ),
            "StopConfigurationRecorder" | "DeleteConfigurationRecorder" | "DeleteDeliveryChannel" => {
                push(1, "restart AWS Config recording", e.region.clone().unwrap_or_default(), why, None)
            }
            "DisableSecurityHub" | "BatchDisableStandards" => {
                push(1, "re-enable Security Hub", e.region.clone().unwrap_or_default(), why, None)
            }
            "DeleteFlowLogs"
            | "DeleteResolverQueryLogConfig"
            | "DisassociateResolverQueryLogConfig"
            | "DeleteModelInvocationLoggingConfiguration"
            | "DeleteLogGroup" => push(1, "restore the deleted logging", name.to_string(), why, None),
            "UpdateAssumeRolePolicy" => {
                push(1, "restore the role's trust policy (possible backdoor)", on("roleName"), why, None)
            }
            "CreateLoginProfile" | "UpdateLoginProfile" => push(
                2,
                "delete or reset the console password",
                on("userName"),
                why,
                Some(format!("aws iam delete-login-profile --user-name {}", on("userName"))),
            ),
            "CreateVirtualMFADevice" | "EnableMFADevice" | "DeactivateMFADevice" | "ResyncMFADevice" => push(
                2,
                "review MFA devices of the user",
                req_str(e, "userName").unwrap_or_else(|| on("serialNumber")),
                why,
                None,
            ),
            "AttachUserPolicy"
            | "AttachRolePolicy"
            | "AttachGroupPolicy"
            | "PutUserPolicy"
            | "PutRolePolicy"
            | "PutGroupPolicy"
            | "CreatePolicyVersion"
            | "SetDefaultPolicyVersion"
            | "AddUserToGroup" => {
                let arn = req_str(e, "policyArn").unwrap_or_default();
                if arn.contains("AWSCompromisedKeyQuarantine") {
                    push(
                        3,
                        "keep AWS's quarantine policy attached until containment is complete",
                        on("userName"),
                        why,
                        None,
                    );
                } else {
                    let target = req_str(e, "userName")
                        .or_else(|| req_str(e, "roleName"))
                        .or_else(|| req_str(e, "groupName"))
                        .or_else(|| req_str(e, "policyArn"))
                        .unwrap_or_else(|| "?".into());
                    push(
                        2,
                        "revert the permission change",
                        format!(
                            "{target} {}",
                            if arn.is_empty() { req_str(e, "policyName").unwrap_or_default() } else { arn }
                        )
                        .trim()
                        .to_string(),
                        why,
                        None,
                    );
                }
            }
            "CreateRole" => push(2, "review or delete the role created by the attacker", on("roleName"), why, None),
            "CreateSAMLProvider" | "CreateOpenIDConnectProvider" | "UpdateSAMLProvider" => push(
                1,
                "delete the identity provider added by the attacker",
                req_str(e, "name").or_else(|| req_str(e, "url")).unwrap_or_else(|| "?".into()),
                why,
                None,
            ),
            "RunInstances" => push(
                2,
                "isolate and terminate instances launched by the attacker (check for crypto-mining, keep a snapshot for forensics)",
                req_str(e, "instanceType")
                    .map(|t| format!("{t} in {}", e.region.clone().unwrap_or_default()))
                    .unwrap_or_else(|| e.region.clone().unwrap_or_default()),
                why,
                None,
            ),
            "CreateFunction20150331" | "CreateFunction" | "UpdateFunctionCode20150331v2" | "UpdateFunctionCode" => {
                push(2, "review or delete the Lambda function", on("functionName"), why, None)
            }
            "RequestServiceQuotaIncrease" => {
                push(3, "cancel or review the quota increase request", e.region.clone().unwrap_or_default(), why, None)
            }
            "PutUseCaseForModelAccess" | "PutFoundationModelEntitlement" | "CreateFoundationModelAgreement" => push(
                2,
                "revoke Bedrock model access enabled by the attacker (LLMjacking) and check the bill",
                e.region.clone().unwrap_or_default(),
                why,
                None,
            ),
            "UpdateAccountSendingEnabled" | "PutAccountDetails" | "VerifyEmailIdentity" | "CreateEmailIdentity" => {
                push(
                    2,
                    "disable SES sending and remove identities added by the attacker",
                    e.region.clone().unwrap_or_default(),
                    why,
                    None,
                )
            }
            "CreateAccessKey" | "CreateUser" | "GetSessionToken" | "AssumeRole" | "GetFederationToken" => {}
            _ => {}
        }
    }
    let critical = inv.findings.iter().filter(|f| f.level >= Level::High).count();
    if critical > 0 {
        push(
            1,
            "open the high and critical findings below and confirm each",
            format!("{critical} detection(s)"),
            "detections on the lineage's activity".into(),
            None,
        );
    }
    if !inv.source_ips.is_empty() {
        let ips: Vec<&str> = inv.source_ips.iter().take(10).map(|c| c.value.as_str()).collect();
        push(
            3,
            "block or watch the source addresses and search other logs (VPC flow, WAF, GuardDuty) for them",
            ips.join(", "),
            "addresses that used the lineage's keys".into(),
            None,
        );
    }
    items.sort_by_key(|i| i.priority);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_char_boundary() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("ééé", 3), "é…");
    }

    #[test]
    fn mutating_predicate_names_read_prefixes() {
        let p = mutating_predicate();
        assert!(p.contains("starts_with(eventname, 'Describe')"));
    }
}
