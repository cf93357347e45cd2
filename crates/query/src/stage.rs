//! Raw evidence read once into a temporary store, for work that reads it many times.
//!
//! A whole-archive hunt runs some forty detections, and over raw evidence each of them
//! inflates and parses every file again: on 2 GB of CloudTrail that is about 70 s, against
//! 5 s to write a store and 8.5 s to hunt over it. [`Engine::open_staged`] writes that store
//! into a fresh temporary folder (never inside the evidence), opens it like any store, and
//! removes it when the engine is dropped. The engine answers as the raw one would: the same
//! rows with the same `evidence_path` and `evidence_index`, and the same problems (the
//! unreadable files and rejected records the ingest met).

use std::path::{Path, PathBuf};

use trailsift_ingest::discover::{Discovery, FileKind, discover};
use trailsift_ingest::scan::FileReport;
use trailsift_ingest::store::{CHUNK_BYTES, StoreOptions, check_output_outside, write_store};

use crate::pushdown::Pushdown;
use crate::{Engine, EngineOptions, QueryError};

/// Where and what to stage.
#[derive(Debug, Clone, Default)]
pub struct StageOptions {
    /// Folder the temporary store is made in (`None`: the system's temporary folder, which
    /// `TMPDIR` sets).
    pub dir: Option<PathBuf>,
    /// Earliest event time that will be asked for, in microseconds since the epoch: files
    /// whose path shows they cannot hold such events are not staged.
    pub time_lo: Option<i64>,
    /// Latest event time that will be asked for (inclusive), as `time_lo`.
    pub time_hi: Option<i64>,
}

/// What [`Engine::open_staged`] tells its caller as it goes (for progress bars).
#[derive(Debug)]
pub enum StageProgress<'a> {
    /// The files to stage are known.
    Start {
        /// How many.
        files: usize,
        /// Their size on disk.
        bytes: u64,
    },
    /// One file was read.
    File(&'a FileReport),
}

/// What staging read.
#[derive(Debug, Clone, Default)]
pub struct StageSummary {
    /// Evidence files staged.
    pub files: usize,
    /// Their size on disk.
    pub bytes: u64,
    /// Files left out because their paths place them outside the time range.
    pub pruned: usize,
    /// Bytes of the store written.
    pub store_bytes: u64,
    /// Where the temporary store is (removed with the engine).
    pub dir: PathBuf,
}

impl Engine {
    /// Writes the raw evidence under `paths` into a temporary store and opens that.
    ///
    /// `progress` hears of the files to stage, then of each file as it is read. Digest files and files of
    /// unknown kind are not staged: no table reads them. The temporary folder is removed
    /// when the engine is dropped, and by this function when staging fails.
    ///
    /// # Errors
    /// [`QueryError::Stage`] when the folder cannot be made or written (full disk, no
    /// permission) or lies inside the evidence; the caller can fall back to
    /// [`Engine::open`].
    pub async fn open_staged(
        paths: &[PathBuf],
        opts: EngineOptions,
        stage: &StageOptions,
        progress: &mut dyn FnMut(StageProgress<'_>),
    ) -> Result<(Self, StageSummary), QueryError> {
        let fail = |reason: String| QueryError::Stage { reason };
        let found = discover(paths, &opts.discover);
        let times = Pushdown::time_range(stage.time_lo, stage.time_hi);
        let mut files = Vec::new();
        let mut pruned = 0;
        for f in found.files {
            match f.kind {
                FileKind::CloudtrailDigest | FileKind::Unknown => {}
                FileKind::Cloudtrail | FileKind::CloudtrailInsight | FileKind::JsonCandidate if !times.may_hold(&f) => {
                    pruned += 1
                }
                _ => files.push(f),
            }
        }
        let base = match &stage.dir {
            Some(d) => d.clone(),
            None => std::env::temp_dir(),
        };
        // Checked before anything is made: the folder must not land in the evidence.
        check_output_outside(&base.join("trailsift-stage"), paths).map_err(|e| fail(e.to_string()))?;
        let tmp = tempfile::Builder::new()
            .prefix("trailsift-stage-")
            .tempdir_in(&base)
            .map_err(|e| fail(format!("cannot make a folder in {}: {e}", base.display())))?;
        let out = tmp.path().join("store");
        let discovery = Discovery { files, problems: found.problems };
        let summary = StageSummary {
            files: discovery.files.len(),
            bytes: discovery.total_bytes(),
            pruned,
            store_bytes: 0,
            dir: tmp.path().to_path_buf(),
        };
        let store_opts = StoreOptions {
            out: out.clone(),
            clobber: false,
            strict: false,
            scan: opts.scan.clone(),
            chunk_bytes: CHUNK_BYTES,
        };
        progress(StageProgress::Start { files: summary.files, bytes: summary.bytes });
        let roots = paths.iter().map(|p| p.display().to_string()).collect();
        let manifest = write_store(&discovery, roots, &store_opts, &mut |r| progress(StageProgress::File(r)))
            .map_err(|e| fail(format!("cannot write the store in {}: {e}", tmp.path().display())))?;
        let mut engine = Engine::open(std::slice::from_ref(&out), opts).await?;
        engine.walk_problems = manifest.walk_problems;
        engine.staged_problems = manifest.files.into_iter().filter(FileReport::has_problem).collect();
        let store_bytes = dir_bytes(&out);
        engine._stage = Some(tmp);
        Ok((engine, StageSummary { store_bytes, ..summary }))
    }
}

/// Bytes of the files below `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
