//! trailsift-detect: the forensic knowledge. Key lineage (which credentials were derived
//! from a key), the bundled SQL detection pack and its runner, the findings they produce, and
//! the investigation model behind `trailsift key`. It reads tables through `trailsift-query`
//! and knows nothing of terminals or output formats.

pub mod investigate;
pub mod lineage;
pub mod rows;

pub use lineage::{DerivedKey, Lineage};

/// Errors of the detection layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The query layer failed (bad SQL in a detection, unreadable store, …).
    #[error(transparent)]
    Query(#[from] trailsift_query::QueryError),
    /// DataFusion failed while running a query.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed while converting a result.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A result could not be read back as JSON.
    #[error("cannot read a query result: {0}")]
    Json(#[from] serde_json::Error),
    /// A starting key is not an access key ID.
    #[error("{0:?} is not an access key ID (expected 16-128 upper-case letters and digits, e.g. AKIAIOSFODNN7EXAMPLE)")]
    BadKey(String),
}

/// Severity of a finding (chainsaw/hayabusa/Sigma vocabulary), lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Context, not a problem by itself.
    Informational,
    /// Worth a look.
    Low,
    /// Suspicious.
    Medium,
    /// Likely malicious.
    High,
    /// Act now.
    Critical,
}

/// One detection hit (placeholder shape until the runner lands; same fields).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Detection id.
    pub id: String,
    /// Detection title.
    pub title: String,
    /// Severity.
    pub level: Level,
    /// ATT&CK tags.
    pub tags: Vec<String>,
    /// First event's `eventid`.
    pub eventid: Option<String>,
    /// First event's time (RFC 3339 UTC).
    pub event_time: String,
    /// Principal ARN.
    pub principal: Option<String>,
    /// Access key.
    pub access_key_id: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Account.
    pub account_id: Option<String>,
    /// What happened.
    pub summary: String,
    /// Evidence file of the first event.
    pub evidence_path: String,
    /// Record index of the first event.
    pub evidence_index: i64,
    /// Events aggregated.
    pub count: u64,
    /// First event time.
    pub first_seen: String,
    /// Last event time.
    pub last_seen: String,
}
