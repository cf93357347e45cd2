//! Key lineage: every credential derived, transitively, from a starting access key.
//! (Interface fixed; the implementation lands with the `key` report.)

use trailsift_query::Engine;

use crate::DetectError;

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
}

/// The starting keys and everything derived from them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lineage {
    /// Starting keys first, then derived keys in the order they were found.
    pub keys: Vec<DerivedKey>,
}

impl Lineage {
    /// Every access key ID in the lineage (starting keys included).
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.access_key_id.clone()).collect()
    }
}

/// Finds every key derived from `seeds`, to a fixpoint.
pub async fn derive(_engine: &Engine, seeds: &[String]) -> Result<Lineage, DetectError> {
    let keys = seeds
        .iter()
        .map(|s| DerivedKey {
            access_key_id: s.clone(),
            parent_access_key_id: None,
            minted_by: None,
            event_id: None,
            event_time: None,
            evidence_path: None,
            evidence_index: None,
        })
        .collect();
    Ok(Lineage { keys })
}
