//! The evidence manifest: every evidence file with its size, SHA-256, kind, record counts and
//! problems, plus run totals that reconcile (records seen = loaded + rejected). Written as
//! `STORE/manifest.json` by `ingest`; its content depends only on the evidence, so two runs
//! over the same evidence give the same manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::discover::WalkProblem;
use crate::scan::FileReport;

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// Totals over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Evidence files found.
    pub files: u64,
    /// Their size on disk.
    pub bytes: u64,
    /// Files per kind.
    pub files_by_kind: BTreeMap<String, u64>,
    /// Files with a file-level error.
    pub files_with_errors: u64,
    /// Records found in CloudTrail files.
    pub records_seen: u64,
    /// Records loaded.
    pub records_loaded: u64,
    /// Records rejected.
    pub records_rejected: u64,
    /// Problems met while walking the evidence (unreadable folders, symlink loops).
    pub walk_problems: u64,
    /// Flow records (lines, or Parquet rows) found in VPC Flow Logs files.
    #[serde(default)]
    pub flow_records_seen: u64,
    /// Flow records loaded into `vpc_flow`.
    #[serde(default)]
    pub flow_records_loaded: u64,
    /// Flow records rejected.
    #[serde(default)]
    pub flow_records_rejected: u64,
}

impl Totals {
    /// Totals of a set of file reports.
    pub fn of(files: &[FileReport], walk_problems: usize) -> Self {
        let mut t = Totals { walk_problems: walk_problems as u64, ..Default::default() };
        for f in files {
            t.files += 1;
            t.bytes += f.bytes;
            *t.files_by_kind.entry(f.kind.as_str().to_string()).or_default() += 1;
            t.files_with_errors += f.error.is_some() as u64;
            if f.kind.is_vpc_flow() {
                t.flow_records_seen += f.records_seen;
                t.flow_records_loaded += f.records_loaded;
                t.flow_records_rejected += f.records_rejected;
            } else {
                t.records_seen += f.records_seen;
                t.records_loaded += f.records_loaded;
                t.records_rejected += f.records_rejected;
            }
        }
        t
    }

    /// Whether any evidence could not be read (exit code 2).
    pub fn has_problems(&self) -> bool {
        self.files_with_errors > 0
            || self.records_rejected > 0
            || self.flow_records_rejected > 0
            || self.walk_problems > 0
    }
}

/// The manifest of a store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `trailsift`.
    pub tool: String,
    /// trailsift version that wrote it.
    pub version: String,
    /// Manifest format version.
    pub manifest_version: u32,
    /// Evidence paths as given on the command line.
    pub evidence_roots: Vec<String>,
    /// SHA-256 over the sorted per-file SHA-256s (one lowercase hex hash per line): two
    /// responders who get the same value analysed the same bytes.
    pub evidence_sha256: String,
    /// Run totals.
    pub totals: Totals,
    /// Rows written per table.
    pub tables: BTreeMap<String, TableInfo>,
    /// Problems met while walking the evidence.
    pub walk_problems: Vec<WalkProblem>,
    /// Every evidence file, sorted by path.
    pub files: Vec<FileReport>,
}

/// What a store holds for one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableInfo {
    /// Rows.
    pub rows: u64,
    /// Parquet files, relative to the store root.
    pub files: Vec<String>,
}

impl Manifest {
    /// A manifest over `files` (sorted here by path).
    pub fn new(roots: Vec<String>, mut files: Vec<FileReport>, walk_problems: Vec<WalkProblem>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Self {
            tool: "trailsift".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            manifest_version: MANIFEST_VERSION,
            evidence_roots: roots,
            evidence_sha256: evidence_digest(&files),
            totals: Totals::of(&files, walk_problems.len()),
            tables: BTreeMap::new(),
            walk_problems,
            files,
        }
    }
}

/// SHA-256 over the sorted per-file hashes.
pub fn evidence_digest(files: &[FileReport]) -> String {
    let mut hashes: Vec<&str> = files.iter().map(|f| f.sha256.as_str()).collect();
    hashes.sort_unstable();
    let mut h = Sha256::new();
    for x in hashes {
        h.update(x.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}
