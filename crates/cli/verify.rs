//! `trailsift verify` (offline validation of CloudTrail digest chains and log files),
//! `trailsift manifest` (the chain-of-custody summary of a store), and the `--public-keys` /
//! `--signatures` flags of `ingest` and `query`, which record each file's verification status
//! in the manifest and in the `evidence_verification` column.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use trailsift_ingest::discover::{EvidenceFile, discover};
use trailsift_ingest::manifest::Manifest;
use trailsift_ingest::scan::ScanOptions;
use trailsift_verify::{PublicKeys, Signatures, VerifyOptions, VerifyReport};

use crate::Done;
use crate::args::Common;

const VERIFY_AFTER_HELP: &str = "\
Statuses:
  digests    valid, invalid_signature, invalid_format, missing, no_key, moved (signature valid
             but stored away from its digestS3Object), unverified_no_signature (no digest
             follows it and --signatures has no entry for it)
  log files  valid, modified, missing, unverifiable (its digest is not valid), not_covered
Exit codes: 0 every digest and log file is valid; 2 anything else; 1 failed.

Examples:
  aws cloudtrail list-public-keys --start-time 2024-01-01 > keys.json
  trailsift verify evidence/ --public-keys keys.json --signatures sigs.json
  trailsift verify evidence/ --public-keys keys.json --format json -o verify.json";

/// `trailsift verify`.
#[derive(Debug, Args)]
#[command(after_help = VERIFY_AFTER_HELP)]
pub struct VerifyArgs {
    /// Evidence files or directories (digests under CloudTrail-Digest/ and the log files).
    #[arg(required = true, help_heading = "Input")]
    pub evidence: Vec<PathBuf>,
    /// The JSON `aws cloudtrail list-public-keys` prints (keys valid over the evidence's time).
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub public_keys: PathBuf,
    /// JSON object {"bucket/key": "hex signature"} of digests whose signature is only in S3
    /// metadata (at least the newest digest of each chain).
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub signatures: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", help_heading = "Output")]
    pub format: VerifyFormat,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short = 'C', long, help_heading = "Output")]
    pub clobber: bool,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// Output formats of `verify` and `manifest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// Aligned text.
    Table,
    /// One JSON object.
    Json,
}

/// `trailsift manifest`.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// A store made by `trailsift ingest`.
    pub store: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: VerifyFormat,
}

/// `--public-keys` / `--signatures` of `ingest` and `query`.
#[derive(Debug, Args, Clone, Default)]
pub struct IntegrityArgs {
    /// Verify the evidence's digests with these CloudTrail public keys (the JSON of `aws
    /// cloudtrail list-public-keys`) and record each file's status.
    #[arg(long, value_name = "FILE", help_heading = "Integrity")]
    pub public_keys: Option<PathBuf>,
    /// Signatures of the newest digests ({"bucket/key": "hex signature"}); needs --public-keys.
    #[arg(long, value_name = "FILE", requires = "public_keys", help_heading = "Integrity")]
    pub signatures: Option<PathBuf>,
}

fn load_options(keys: &Path, sigs: Option<&Path>, c: &Common) -> Result<VerifyOptions> {
    let keys = PublicKeys::load(keys).context("--public-keys")?;
    let signatures = match sigs {
        Some(p) => Signatures::load(p).context("--signatures")?,
        None => Signatures::default(),
    };
    Ok(VerifyOptions { keys, signatures, max_file_bytes: c.max_file_size })
}

fn rayon_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("cannot start worker threads")
}

fn run_verify(files: &[EvidenceFile], opts: &VerifyOptions, threads: usize) -> Result<VerifyReport> {
    Ok(rayon_pool(threads)?.install(|| trailsift_verify::verify(files, opts)))
}

/// Runs verification for `ingest` when `--public-keys` is given: every file's status, by
/// path, for the scan to record.
pub(crate) fn statuses_for(
    files: &[EvidenceFile],
    i: &IntegrityArgs,
    c: &Common,
) -> Result<Option<Arc<BTreeMap<String, String>>>> {
    let Some(keys) = &i.public_keys else { return Ok(None) };
    let opts = load_options(keys, i.signatures.as_deref(), c)?;
    let report = run_verify(files, &opts, c.threads)?;
    if !c.quiet {
        eprintln!("[+] verification: {}", summary_line(&report));
    }
    Ok(Some(Arc::new(status_map(&report))))
}

/// Scan options of `query` with verification statuses when `--public-keys` is given (raw
/// evidence only: a store's column was filled when it was ingested).
pub(crate) fn scan_with_verification(
    mut scan: ScanOptions,
    paths: &[PathBuf],
    i: &IntegrityArgs,
    c: &Common,
) -> Result<ScanOptions> {
    if i.public_keys.is_none() {
        return Ok(scan);
    }
    if paths.iter().any(|p| trailsift_query::is_store(p)) {
        if !c.quiet {
            eprintln!("[!] --public-keys ignored: a store's evidence_verification was set when it was ingested");
        }
        return Ok(scan);
    }
    let found = discover(paths, &crate::discover_options(c));
    scan.verification = statuses_for(&found.files, i, c)?;
    Ok(scan)
}

fn status_map(report: &VerifyReport) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> =
        report.log_statuses().into_iter().map(|(p, s)| (p, s.as_str().to_string())).collect();
    m.extend(report.digest_statuses().into_iter().map(|(p, s)| (p, s.as_str().to_string())));
    m
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
}

fn summary_line(r: &VerifyReport) -> String {
    format!(
        "digests: {}; log files: {}; gaps: {}",
        counts(&r.summary.digests),
        counts(&r.summary.log_files),
        r.summary.gaps
    )
}

fn open_output(output: &Option<PathBuf>, clobber: bool) -> Result<Box<dyn Write>> {
    Ok(match output {
        Some(path) => {
            if path.exists() && !clobber {
                bail!("{} already exists (use --clobber to overwrite)", path.display());
            }
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    })
}

/// `trailsift verify`.
pub(crate) fn verify(a: VerifyArgs) -> Result<Done> {
    let opts = load_options(&a.public_keys, a.signatures.as_deref(), &a.common)?;
    let found = discover(&a.evidence, &crate::discover_options(&a.common));
    if found.files.is_empty() && found.problems.is_empty() {
        bail!("no files found under {} (check the path)", join_paths(&a.evidence));
    }
    if a.common.strict
        && let Some(p) = found.problems.first()
    {
        bail!("{}: {} (--strict)", p.path, p.reason);
    }
    let report = run_verify(&found.files, &opts, a.common.threads)?;
    let mut out = open_output(&a.output, a.clobber)?;
    match a.format {
        VerifyFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        VerifyFormat::Table => write_table(&mut out, &report)?,
    }
    out.flush()?;
    for p in &found.problems {
        eprintln!("[!] {}: {}", p.path, p.reason);
    }
    if !a.common.quiet {
        eprintln!("[+] {}", summary_line(&report));
    }
    Ok(if report.all_valid() && found.problems.is_empty() { Done::Clean } else { Done::Partial })
}

fn join_paths(p: &[PathBuf]) -> String {
    p.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

fn write_rows(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| if i + 1 == n { c.to_string() } else { format!("{c:<w$}", w = widths[i]) })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()).trim_end())?;
    }
    Ok(())
}

fn write_table(out: &mut dyn Write, r: &VerifyReport) -> std::io::Result<()> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    writeln!(out, "DIGESTS ({})", r.digests.len())?;
    let rows: Vec<Vec<String>> = r
        .digests
        .iter()
        .map(|d| vec![d.status.as_str().to_string(), opt(&d.end_time), d.path.clone(), opt(&d.reason)])
        .collect();
    write_rows(out, &["status", "digest_end_time", "path", "reason"], &rows)?;
    writeln!(out, "\nLOG FILES ({})", r.log_files.len())?;
    let rows: Vec<Vec<String>> =
        r.log_files.iter().map(|l| vec![l.status.as_str().to_string(), l.path.clone(), opt(&l.reason)]).collect();
    write_rows(out, &["status", "path", "reason"], &rows)?;
    writeln!(out, "\nGAPS ({})", r.gaps.len())?;
    let rows: Vec<Vec<String>> = r
        .gaps
        .iter()
        .map(|g| {
            vec![
                g.kind.clone(),
                g.from.clone().unwrap_or_else(|| "?".into()),
                g.to.clone().unwrap_or_else(|| "?".into()),
                g.missing_digests.to_string(),
                g.chain.clone(),
            ]
        })
        .collect();
    write_rows(out, &["kind", "from", "to", "missing", "chain"], &rows)?;
    writeln!(out, "\nCHAINS ({})", r.chains.len())?;
    let rows: Vec<Vec<String>> = r
        .chains
        .iter()
        .map(|c| {
            vec![
                c.digests.to_string(),
                opt(&c.first_start),
                opt(&c.last_end),
                if c.backfill { "backfill".into() } else { String::new() },
                c.chain.clone(),
            ]
        })
        .collect();
    write_rows(out, &["digests", "first_start", "last_end", "kind", "chain"], &rows)?;
    writeln!(
        out,
        "\nSUMMARY: digests: {}; log files: {}; gaps: {}; {}",
        counts(&r.summary.digests),
        counts(&r.summary.log_files),
        r.summary.gaps,
        if r.all_valid() { "everything present is valid" } else { "NOT everything is valid" }
    )
}

/// How `evidence_sha256` is computed, for a second responder to recompute it.
pub const EVIDENCE_SHA256_METHOD: &str = "SHA-256 of the lowercase hex SHA-256 of every evidence file's bytes on disk, \
sorted, one per line, each line ending in \\n; recompute with: find EVIDENCE... -type f -exec sha256sum {} + | cut -d' ' -f1 | LC_ALL=C sort | sha256sum";

fn now_utc() -> String {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 * 1_000_000)
        .unwrap_or(0);
    trailsift_ingest::time::format_micros(us)
}

/// `trailsift manifest`.
pub(crate) fn manifest(a: &ManifestArgs) -> Result<Done> {
    let path = a.store.join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("cannot read {} (is {} a store made by `trailsift ingest`?)", path.display(), a.store.display())
    })?;
    let m: Manifest =
        serde_json::from_str(&text).with_context(|| format!("{} is not a trailsift manifest", path.display()))?;
    let written = std::fs::metadata(&path)
        .and_then(|md| md.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| trailsift_ingest::time::format_micros(d.as_secs() as i64 * 1_000_000));
    let mut verification: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for f in &m.files {
        if let Some(v) = &f.verification {
            *verification.entry(f.kind.as_str().to_string()).or_default().entry(v.clone()).or_default() += 1;
        }
    }
    let t = &m.totals;
    let mut out = std::io::stdout().lock();
    match a.format {
        VerifyFormat::Json => {
            let v = serde_json::json!({
                "store": a.store.display().to_string(),
                "tool": m.tool,
                "tool_version": m.version,
                "manifest_version": m.manifest_version,
                "store_written": written,
                "report_time": now_utc(),
                "evidence_roots": m.evidence_roots,
                "files": t.files,
                "bytes": t.bytes,
                "files_by_kind": t.files_by_kind,
                "files_with_errors": t.files_with_errors,
                "records_seen": t.records_seen,
                "records_loaded": t.records_loaded,
                "records_rejected": t.records_rejected,
                "evidence_sha256": m.evidence_sha256,
                "evidence_sha256_method": EVIDENCE_SHA256_METHOD,
                "verification": if verification.is_empty() { serde_json::Value::Null } else { serde_json::json!(verification) },
            });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        VerifyFormat::Table => {
            writeln!(out, "store:            {}", a.store.display())?;
            writeln!(out, "tool:             {} {} (manifest format {})", m.tool, m.version, m.manifest_version)?;
            writeln!(out, "store written:    {}", written.unwrap_or_else(|| "unknown".into()))?;
            writeln!(out, "report time:      {}", now_utc())?;
            writeln!(out, "evidence roots:   {}", m.evidence_roots.join(", "))?;
            writeln!(out, "files:            {} ({} bytes on disk)", t.files, t.bytes)?;
            let kinds: Vec<String> = t.files_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(out, "files by kind:    {}", kinds.join(", "))?;
            writeln!(
                out,
                "records:          {} seen = {} loaded + {} rejected; {} file(s) with errors",
                t.records_seen, t.records_loaded, t.records_rejected, t.files_with_errors
            )?;
            writeln!(out, "evidence sha256:  {}", m.evidence_sha256)?;
            writeln!(out, "  computed as:    {EVIDENCE_SHA256_METHOD}")?;
            if verification.is_empty() {
                writeln!(out, "verification:     not done (ingest with --public-keys to record it)")?;
            } else {
                for (kind, c) in &verification {
                    writeln!(out, "verification:     {kind}: {}", counts(c))?;
                }
            }
        }
    }
    Ok(Done::Clean)
}
