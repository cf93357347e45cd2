//! trailsift-detect: the forensic knowledge. Key lineage (which credentials were derived
//! from a key), the bundled SQL detection pack and its runner, the findings they produce, and
//! the investigation model behind `trailsift key`. It reads tables through `trailsift-query`
//! and knows nothing of terminals or output formats.

pub mod catalog;
pub mod finding;
pub mod investigate;
pub mod lineage;
pub mod rows;
pub mod runner;

pub use catalog::{Catalog, Detection, LintProblem};
pub use finding::{Finding, Level, Status};
pub use lineage::{DerivedKey, Lineage};
pub use runner::{EVENTS_VIEW, HuntOptions, HuntResult, SOURCE_TABLE, hunt};

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
    /// A detections directory could not be read.
    #[error("cannot read detections from {path}: {source} (check the --detections path)")]
    Io {
        /// The directory or file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A detection id that is not in the catalog.
    #[error("no detection with id '{0}' (see `trailsift detections list`)")]
    UnknownDetection(String),
    /// A time that is not RFC 3339.
    #[error("cannot read time '{value}': {reason} (use RFC 3339, e.g. 2024-07-31T00:00:00Z)")]
    BadTime {
        /// The text given.
        value: String,
        /// Why it could not be read.
        reason: String,
    },
    /// An access key ID with characters other than A-Z and 0-9.
    #[error("'{0}' is not an access key ID (expected letters and digits, e.g. AKIAIOSFODNN7EXAMPLE)")]
    BadKey(String),
}
