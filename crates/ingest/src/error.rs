//! Errors of the ingest crate. Problems with individual evidence files or records are not
//! errors: they are data (see [`crate::scan::FileReport`]). These are the failures that stop
//! a run.

use std::path::PathBuf;

/// A failure that stops an ingest run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The output already exists.
    #[error("output {} already exists (use --clobber to replace a trailsift store)", .path.display())]
    OutputExists {
        /// The output path.
        path: PathBuf,
    },
    /// The output exists, is not empty and is not a trailsift store: never replaced.
    #[error("output {} exists and is not a trailsift store (no manifest.json); refusing to replace it", .path.display())]
    NotAStore {
        /// The output path.
        path: PathBuf,
    },
    /// The output would be written inside the evidence.
    #[error("output {} is inside the evidence tree {}: evidence is read-only, write the store elsewhere", .out.display(), .evidence.display())]
    OutputInsideEvidence {
        /// The output path.
        out: PathBuf,
        /// The evidence root containing it.
        evidence: PathBuf,
    },
    /// An I/O error on a path.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    #[error("writing {}: {source}", .path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow error while preparing rows.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// `--strict` stopped at the first unreadable evidence.
    #[error("{path}: {reason} (stopped by --strict; without it trailsift reads everything it can and reports this)")]
    Strict {
        /// The evidence file.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl IngestError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IngestError::Io { path: path.into(), source }
    }
}
