//! trailsift-detect: the forensic knowledge. Key lineage (which credentials were derived
//! from a key), the bundled SQL detection pack and its runner, and the findings they produce.
//! It reads tables through `trailsift-query` and knows nothing of terminals or output formats.

pub mod lineage;

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
}
