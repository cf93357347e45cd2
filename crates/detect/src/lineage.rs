//! Key lineage: every credential derived, transitively, from one or more starting access keys.
//!
//! A key is derived from a key already in the lineage when a *successful* call made with the
//! lineage key minted it:
//!
//! - temporary (ASIA…) keys returned in `responseElements.credentials.accessKeyId` by
//!   `GetSessionToken`, `AssumeRole` (role chaining included: an ASIA key assuming a role),
//!   `GetFederationToken` and `AssumeRoot`;
//! - long-term (AKIA…) keys returned in `responseElements.accessKey.accessKeyId` by
//!   `CreateAccessKey`;
//! - long-term keys created, by anyone, for an IAM user that a lineage key created with
//!   `CreateUser` (same account): the parent is then the key that created the user.
//!
//! A failed call (`errorcode` set) mints nothing; failed attempts are kept in
//! [`Lineage::failed_mints`] for the report. Cross-account `AssumeRole` is logged in both
//! accounts with one `sharedeventid`; the copies found are listed on the derived key. The
//! search runs to a fixpoint, one round per generation, and a key seen before is never
//! expanded again, so a key that is (impossibly, or by tampering) its own descendant cannot
//! loop.

use std::collections::{BTreeMap, BTreeSet};

use trailsift_query::Engine;

use crate::DetectError;
use crate::rows::{Row, events_where, int_of, lit_list, rows, str_of};

/// Calls that return new credentials when made with an access key.
pub const MINTING_EVENTS: [&str; 5] =
    ["AssumeRole", "GetSessionToken", "GetFederationToken", "AssumeRoot", "CreateAccessKey"];

/// A record of the evidence: which event, where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventRef {
    /// `eventid`.
    pub event_id: Option<String>,
    /// `recipientaccountid`: the account whose trail logged it.
    pub account_id: Option<String>,
    /// Evidence file.
    pub evidence_path: String,
    /// Record index in the file.
    pub evidence_index: i64,
}

/// One access key in a lineage, and how it came to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DerivedKey {
    /// The access key ID.
    pub access_key_id: String,
    /// The key whose activity minted it (`None` for a starting key).
    pub parent_access_key_id: Option<String>,
    /// The minting call (`AssumeRole`, `GetSessionToken`, `CreateAccessKey`, …).
    pub minted_by: Option<String>,
    /// `eventid` of the minting event.
    pub event_id: Option<String>,
    /// `eventtime` of the minting event (RFC 3339 UTC).
    pub event_time: Option<String>,
    /// Evidence file of the minting event.
    pub evidence_path: Option<String>,
    /// Record index of the minting event in its file.
    pub evidence_index: Option<i64>,
    /// Generation: 0 for a starting key, 1 for its children, …
    #[serde(default)]
    pub depth: u32,
    /// What the key gives access to: the role assumed, the user a key was created for, or the
    /// federated user's name.
    #[serde(default)]
    pub grants: Option<String>,
    /// The account the key belongs to (from the minting event: the role's or the user's).
    #[serde(default)]
    pub account_id: Option<String>,
    /// Copies of the minting event logged in other accounts (same `sharedeventid`).
    #[serde(default)]
    pub copies: Vec<EventRef>,
}

impl DerivedKey {
    fn seed(id: &str) -> Self {
        Self {
            access_key_id: id.to_string(),
            parent_access_key_id: None,
            minted_by: None,
            event_id: None,
            event_time: None,
            evidence_path: None,
            evidence_index: None,
            depth: 0,
            grants: None,
            account_id: None,
            copies: Vec::new(),
        }
    }
}

/// An IAM user created by a key of the lineage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatedUser {
    /// The user name.
    pub user_name: String,
    /// The account it was created in.
    pub account_id: Option<String>,
    /// The lineage key that created it.
    pub created_by: String,
    /// `eventid` of the `CreateUser` call.
    pub event_id: Option<String>,
    /// When (RFC 3339 UTC).
    pub event_time: Option<String>,
}

/// A minting call made by a lineage key that failed (and so minted nothing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedMint {
    /// The key that tried.
    pub access_key_id: String,
    /// The call.
    pub event_name: String,
    /// Its error code.
    pub error_code: String,
    /// `eventid`.
    pub event_id: Option<String>,
    /// When (RFC 3339 UTC).
    pub event_time: Option<String>,
    /// What it tried to reach (role ARN, user name).
    pub target: Option<String>,
}

/// The starting keys and everything derived from them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lineage {
    /// Starting keys first, then derived keys generation by generation, each generation in
    /// the order of its minting events' times.
    pub keys: Vec<DerivedKey>,
    /// IAM users created by lineage keys.
    #[serde(default)]
    pub created_users: Vec<CreatedUser>,
    /// Minting calls by lineage keys that failed.
    #[serde(default)]
    pub failed_mints: Vec<FailedMint>,
}

impl Lineage {
    /// Every access key ID in the lineage (starting keys included).
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.access_key_id.clone()).collect()
    }

    /// The entry of `id`, if it is in the lineage.
    pub fn get(&self, id: &str) -> Option<&DerivedKey> {
        self.keys.iter().find(|k| k.access_key_id == id)
    }

    /// The children of `id` (keys whose parent it is), in lineage order.
    pub fn children(&self, id: &str) -> Vec<&DerivedKey> {
        self.keys.iter().filter(|k| k.parent_access_key_id.as_deref() == Some(id)).collect()
    }
}

/// Whether `s` looks like an access key ID (what a user may pass as a seed).
pub fn is_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

const MINT_COLUMNS: &str = "eventid, eventname, eventtime, event_ts, evidence_path, evidence_index, \
     useridentity.accesskeyid AS caller, errorcode, sharedeventid, recipientaccountid, \
     json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS temp_key, \
     json_extract_scalar(responseelements, '$.accessKey.accessKeyId') AS long_key, \
     json_extract_scalar(responseelements, '$.accessKey.userName') AS key_user, \
     json_extract_scalar(responseelements, '$.assumedRoleUser.arn') AS assumed_arn, \
     json_extract_scalar(responseelements, '$.federatedUser.arn') AS federated_arn, \
     json_extract_scalar(requestparameters, '$.roleArn') AS role_arn, \
     json_extract_scalar(requestparameters, '$.userName') AS user_name, \
     json_extract_scalar(requestparameters, '$.name') AS fed_name";

/// Most minting events held in memory for the search; beyond this, each round scans the
/// evidence instead (memory stays bounded on archives full of `AssumeRole` calls).
pub const MAX_HELD_MINTS: usize = 250_000;

/// Name of the in-memory table of the archive's minting events.
pub const MINT_EVENTS_TABLE: &str = "__trailsift_mint_events";

/// The SQL list of the event names the search reads: the minting calls and `CreateUser`.
fn mint_names() -> String {
    lit_list(MINTING_EVENTS.iter().chain(["CreateUser"].iter()))
}

/// Where the rounds of [`derive()`] read minting events from.
enum MintSource {
    /// The evidence, one scan per round.
    Evidence,
    /// [`MINT_EVENTS_TABLE`]: every minting (and `CreateUser`) event of the archive, one
    /// copy per event, as [`MINT_COLUMNS`], read in one scan.
    Held,
}

impl MintSource {
    /// Reads the archive's minting events into memory when there are at most `max_held`.
    async fn open(engine: &Engine, max_held: usize) -> Result<Self, DetectError> {
        if max_held == 0 {
            return Ok(MintSource::Evidence);
        }
        // One copy per event: the copies are found as the events stream in (the view's
        // window would hold every column of every matching record at once) and left out
        // of what is held, in the same pass.
        let df =
            engine.sql(&format!("SELECT {MINT_COLUMNS} FROM cloudtrail WHERE eventname IN {}", mint_names())).await?;
        let mut copies = trailsift_query::CopyTracker::default();
        let Some((schema, batches)) = engine.materialise_at_most(df, max_held, &mut |b| copies.observe(b)).await?
        else {
            return Ok(MintSource::Evidence);
        };
        let count = batches.iter().map(|b| b.num_rows() as u64).sum();
        let held = trailsift_query::Held { schema, rows: trailsift_query::HeldRows::Memory(batches), count }
            .without(&copies.finish()?.dropped)?;
        let trailsift_query::HeldRows::Memory(batches) = held.rows else { unreachable!("rows in memory stay there") };
        let table = datafusion::datasource::MemTable::try_new(held.schema, vec![batches])?;
        let ctx = engine.context();
        ctx.deregister_table(MINT_EVENTS_TABLE)?;
        ctx.register_table(MINT_EVENTS_TABLE, std::sync::Arc::new(table))?;
        Ok(MintSource::Held)
    }

    /// The query of the minting events matching `on_evidence` (over `cloudtrail`'s
    /// columns), or `on_held`, the same condition over [`MINT_COLUMNS`]' names: the
    /// columns of [`MINT_COLUMNS`], in time order.
    fn select(&self, engine: &Engine, on_evidence: &str, on_held: &str) -> String {
        let from = match self {
            MintSource::Evidence => format!("SELECT {MINT_COLUMNS} FROM {}", events_where(engine, on_evidence)),
            MintSource::Held => format!("SELECT * FROM {MINT_EVENTS_TABLE} WHERE {on_held}"),
        };
        format!("SELECT * FROM ({from}) AS mints ORDER BY event_ts, evidence_path, evidence_index")
    }
}

/// Finds every key derived from `seeds`, to a fixpoint.
///
/// Seeds are trimmed; each must look like an access key ID. The search reads one copy of
/// each event, as the `cloudtrail_unique` view keeps them (every `Engine` has it). The archive's minting events are read once, into memory, and every
/// round reads them from there; past [`MAX_HELD_MINTS`] of them, each round scans instead.
pub async fn derive(engine: &Engine, seeds: &[String]) -> Result<Lineage, DetectError> {
    derive_holding(engine, seeds, MAX_HELD_MINTS).await
}

/// [`derive()`], holding at most `max_held` minting events in memory (0: every round scans
/// the evidence). The answer is the same either way.
pub async fn derive_holding(engine: &Engine, seeds: &[String], max_held: usize) -> Result<Lineage, DetectError> {
    let mut lineage = Lineage::default();
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut frontier: Vec<String> = Vec::new();
    for s in seeds {
        let s = s.trim();
        if !is_access_key_id(s) {
            return Err(DetectError::BadKey(s.to_string()));
        }
        if known.insert(s.to_string()) {
            lineage.keys.push(DerivedKey::seed(s));
            frontier.push(s.to_string());
        }
    }
    let source = MintSource::open(engine, max_held).await?;
    // Users created by lineage keys: (account, user name) → creating key.
    let mut created: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut users_searched: BTreeSet<(String, String)> = BTreeSet::new();
    let mut depth = 0u32;
    while !frontier.is_empty() {
        depth += 1;
        let names = mint_names();
        let sql = source.select(
            engine,
            &format!("useridentity.accesskeyid IN {} AND eventname IN {names}", lit_list(&frontier)),
            &format!("caller IN {} AND eventname IN {names}", lit_list(&frontier)),
        );
        let found = rows(engine, &sql).await?;
        let mut next: Vec<String> = Vec::new();
        let mut shared: Vec<(String, String)> = Vec::new(); // (sharedeventid, minted key)
        for r in &found {
            let caller = str_of(r, "caller").unwrap_or_default();
            let name = str_of(r, "eventname").unwrap_or_default();
            let account = str_of(r, "recipientaccountid");
            if let Some(code) = str_of(r, "errorcode") {
                lineage.failed_mints.push(FailedMint {
                    access_key_id: caller,
                    event_name: name.clone(),
                    error_code: code,
                    event_id: str_of(r, "eventid"),
                    event_time: str_of(r, "event_ts"),
                    target: str_of(r, "role_arn").or_else(|| str_of(r, "user_name")).or_else(|| str_of(r, "fed_name")),
                });
                continue;
            }
            if name == "CreateUser" {
                if let Some(user) = str_of(r, "user_name") {
                    let acct = account.clone().unwrap_or_default();
                    if let std::collections::btree_map::Entry::Vacant(e) = created.entry((acct, user.clone())) {
                        e.insert(caller.clone());
                        lineage.created_users.push(CreatedUser {
                            user_name: user,
                            account_id: account.clone(),
                            created_by: caller.clone(),
                            event_id: str_of(r, "eventid"),
                            event_time: str_of(r, "event_ts"),
                        });
                    }
                }
                continue;
            }
            if let Some(k) = add_minted(&mut lineage, &mut known, r, &caller, depth) {
                if let Some(sid) = str_of(r, "sharedeventid") {
                    shared.push((sid, k.clone()));
                }
                next.push(k);
            }
        }
        // Keys created for users the lineage created, by whoever created them.
        let pending: Vec<(String, String)> = created.keys().filter(|u| !users_searched.contains(*u)).cloned().collect();
        if !pending.is_empty() {
            let users: BTreeSet<&String> = pending.iter().map(|(_, u)| u).collect();
            let users = lit_list(users.iter().map(|s| s.as_str()));
            let sql = source.select(
                engine,
                &format!(
                    "eventname = 'CreateAccessKey' AND errorcode IS NULL \
                     AND json_extract_scalar(requestparameters, '$.userName') IN {users}"
                ),
                &format!("eventname = 'CreateAccessKey' AND errorcode IS NULL AND user_name IN {users}"),
            );
            for r in rows(engine, &sql).await? {
                let acct = str_of(&r, "recipientaccountid").unwrap_or_default();
                let user = str_of(&r, "user_name").unwrap_or_default();
                let Some(creator) = created.get(&(acct, user)) else { continue };
                let caller = str_of(&r, "caller").filter(|c| known.contains(c)).unwrap_or_else(|| creator.clone());
                if let Some(k) = add_minted(&mut lineage, &mut known, &r, &caller, depth) {
                    next.push(k);
                }
            }
            users_searched.extend(pending);
        }
        if !shared.is_empty() {
            attach_copies(engine, &source, &mut lineage, &shared).await?;
        }
        frontier = next;
    }
    // The held minting events are not needed after the search: their memory goes now.
    engine.context().deregister_table(MINT_EVENTS_TABLE)?;
    Ok(lineage)
}

/// Adds the key minted by the event in `r` (made with `parent`), unless already known.
fn add_minted(
    lineage: &mut Lineage,
    known: &mut BTreeSet<String>,
    r: &Row,
    parent: &str,
    depth: u32,
) -> Option<String> {
    let name = str_of(r, "eventname")?;
    let minted = if name == "CreateAccessKey" { str_of(r, "long_key") } else { str_of(r, "temp_key") }?;
    if !known.insert(minted.clone()) {
        return None;
    }
    let grants = match name.as_str() {
        "CreateAccessKey" => str_of(r, "key_user").or_else(|| str_of(r, "user_name")),
        "AssumeRole" => str_of(r, "role_arn").or_else(|| str_of(r, "assumed_arn")),
        "GetFederationToken" => str_of(r, "federated_arn").or_else(|| str_of(r, "fed_name")),
        _ => None,
    };
    let account = match name.as_str() {
        "AssumeRole" => str_of(r, "role_arn").and_then(|a| arn_account(&a)),
        _ => None,
    }
    .or_else(|| str_of(r, "recipientaccountid"));
    lineage.keys.push(DerivedKey {
        access_key_id: minted.clone(),
        parent_access_key_id: Some(parent.to_string()),
        minted_by: Some(name),
        event_id: str_of(r, "eventid"),
        event_time: str_of(r, "event_ts"),
        evidence_path: str_of(r, "evidence_path"),
        evidence_index: Some(int_of(r, "evidence_index")),
        depth,
        grants,
        account_id: account,
        copies: Vec::new(),
    });
    Some(minted)
}

/// The account field of an ARN (`arn:aws:iam::123456789012:role/x` → `123456789012`).
pub fn arn_account(arn: &str) -> Option<String> {
    let acct = arn.split(':').nth(4)?;
    (!acct.is_empty()).then(|| acct.to_string())
}

/// Finds the other accounts' copies of minting events (same `sharedeventid`; a copy is the
/// same call, so it has the same event name and is among the held minting events).
async fn attach_copies(
    engine: &Engine,
    source: &MintSource,
    lineage: &mut Lineage,
    shared: &[(String, String)],
) -> Result<(), DetectError> {
    let pred = format!("sharedeventid IN {}", lit_list(shared.iter().map(|(s, _)| s.as_str())));
    let sql = format!(
        "SELECT sharedeventid, eventid, recipientaccountid, evidence_path, evidence_index FROM ({}) AS m \
         ORDER BY evidence_path, evidence_index",
        source.select(engine, &pred, &pred)
    );
    for r in rows(engine, &sql).await? {
        let Some(sid) = str_of(&r, "sharedeventid") else { continue };
        let path = str_of(&r, "evidence_path").unwrap_or_default();
        let index = int_of(&r, "evidence_index");
        for (s, key) in shared {
            if *s != sid {
                continue;
            }
            if let Some(k) = lineage.keys.iter_mut().find(|k| &k.access_key_id == key) {
                let is_origin = k.evidence_path.as_deref() == Some(path.as_str()) && k.evidence_index == Some(index);
                if !is_origin {
                    k.copies.push(EventRef {
                        event_id: str_of(&r, "eventid"),
                        account_id: str_of(&r, "recipientaccountid"),
                        evidence_path: path.clone(),
                        evidence_index: index,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_checked() {
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(is_access_key_id("ASIAY34FZKBOKMUTVV7A"));
        assert!(!is_access_key_id("akia"));
        assert!(!is_access_key_id("AKIA' OR '1'='1"));
        assert_eq!(arn_account("arn:aws:iam::111122223333:role/x").as_deref(), Some("111122223333"));
        assert_eq!(arn_account("nonsense"), None);
    }
}
