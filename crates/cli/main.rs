//! The `trailsift` binary: clap arguments in, library calls, results on stdout, status and
//! progress on stderr. Exit codes: 0 clean, 2 finished but some evidence could not be read,
//! 1 failed.

mod args;
mod detections;
#[path = "gen.rs"]
mod gen_cmd;
mod hunt;
mod key;
mod output;
mod shell;
mod verify;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trailsift_ingest::discover::{DiscoverOptions, WalkProblem, discover};
use trailsift_ingest::scan::{FileReport, ScanOptions};
use trailsift_ingest::store::{StoreOptions, check_output_outside, write_store};

use args::{Cli, Command, Common};

/// Outcome of a command that completed.
enum Done {
    Clean,
    /// Completed, but some evidence could not be read.
    Partial,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(a) => {
            keep_freed_memory();
            ingest(a)
        }
        Command::Query(a) => run_async(a.common.threads, output::query(a)),
        Command::Shell(a) => run_async(a.common.threads, shell::shell(a)),
        Command::Schema(a) => schema(&a).map(|_| Done::Clean),
        Command::Key(a) => {
            return_freed_memory();
            run_async(a.common.threads, key::key(a))
        }
        Command::Gen(a) => gen_cmd::run(a),
        Command::Verify(a) => verify::verify(a),
        Command::Manifest(a) => verify::manifest(&a),
        Command::Hunt(a) => {
            return_freed_memory();
            run_async(a.common.threads, hunt::hunt(a))
        }
        Command::Detections(a) => run_async(0, detections::detections(a)),
    };
    match result {
        Ok(Done::Clean) => ExitCode::SUCCESS,
        Ok(Done::Partial) => ExitCode::from(2),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[x] error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Makes the allocator give large blocks (256 KiB and up) back to the system when they are
/// freed, for the investigations (`key`, `hunt`): they run one query after another, each
/// with its own scan and working memory, and glibc's default keeps raising the size it hands
/// back, so the peak of one query stayed resident through the next. Measured on a 2 GB
/// archive, the `key` report's peak RSS fell from 391 to 230 MiB at the same speed; `ingest`
/// and single queries gain nothing from it (ingest spent 0.8 s more in the kernel), so they
/// keep the default.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes glibc's allocation policy and takes its own locks; any
    // threshold is valid, and blocks allocated before keep being freed correctly.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Gives the free memory of every allocator arena back to the system (`malloc_trim`), after a
/// phase whose working memory is done with (a hunt's staging).
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes glibc's arena locks itself and only releases free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Makes the allocator keep large freed blocks for reuse, for `ingest`: every batch frees
/// its parse buffers and column builders and allocates them again. Given back to the system
/// (glibc's default above a moving threshold), each such block cost an unmap, which makes the
/// other core flush its TLB, and fresh zeroed pages when allocated again. Measured on the
/// 2 GB archive (3 alternating runs each, medians): 1.78 -> 1.10 s in the kernel, 6.10 ->
/// 5.86 s in all, peak RSS 131 -> 146 MiB. `gen` showed no difference.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as in `return_freed_memory`: `mallopt` only changes glibc's policy.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn run_async<F: std::future::Future<Output = Result<Done>>>(threads: usize, f: F) -> Result<Done> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        rt.worker_threads(threads);
    }
    rt.enable_all().build().context("cannot start the async runtime")?.block_on(f)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Library options from the shared flags (the one place where clap meets the libraries).
fn scan_options(c: &Common) -> ScanOptions {
    let vpc = trailsift_ingest::vpc::VpcScanOptions {
        format: c.vpc_format.clone().map(std::sync::Arc::new),
        ..Default::default()
    };
    ScanOptions { threads: c.threads, max_file_bytes: c.max_file_size, vpc, ..ScanOptions::default() }
}

fn discover_options(c: &Common) -> DiscoverOptions {
    DiscoverOptions { follow_symlinks: c.follow_symlinks }
}

/// Findings of the detection pack over the activity of the investigation's lineage.
pub(crate) async fn findings_for_keys(
    engine: &trailsift_query::Engine,
    inv: &trailsift_detect::investigate::Investigation,
) -> Result<trailsift_detect::HuntResult> {
    let catalog = trailsift_detect::Catalog::bundled();
    let keys = inv.lineage.iter().map(|k| k.access_key_id.clone()).collect();
    // The IAM users behind the lineage (owners of its long-term keys, users it created):
    // what AWS itself did to them (its quarantine policy) belongs in the report too.
    let mut users: std::collections::BTreeSet<String> = inv.created_users.iter().map(|u| u.user_name.clone()).collect();
    for k in &inv.keys {
        if let Some(p) = &k.principal
            && p.principal_type.as_deref() == Some("IAMUser")
            && let Some(u) = &p.user_name
        {
            users.insert(u.clone());
        }
    }
    let opts = trailsift_detect::HuntOptions {
        keys: Some(keys),
        related_users: users.into_iter().collect(),
        key_records: inv.key_records.clone(),
        ..Default::default()
    };
    let result = trailsift_detect::hunt(engine, &catalog, &opts).await.context("the detection pack failed")?;
    for (id, why) in &result.failed {
        eprintln!("[!] detection {id} failed: {why}");
    }
    Ok(result)
}

fn status(quiet: bool, msg: impl AsRef<str>) {
    if !quiet {
        eprintln!("{}", msg.as_ref());
    }
}

fn progress_bar(quiet: bool, total: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// Names every unreadable file and record on stderr (at most `limit` lines, then a count).
pub(crate) fn report_problems(walk: &[WalkProblem], files: &[FileReport], limit: usize, more_in: Option<&str>) {
    let mut lines: Vec<String> = walk.iter().map(|p| format!("    {}: {}", p.path, p.reason)).collect();
    for f in files {
        if let Some(e) = &f.error {
            lines.push(format!("    {}: {e}", f.path));
        }
        for r in &f.rejected_records {
            lines.push(format!("    {} [record {}]: {}", f.path, r.index, r.reason));
        }
    }
    if lines.is_empty() {
        return;
    }
    let n_files = walk.len() + files.iter().filter(|f| f.has_problem()).count();
    eprintln!("[!] {n_files} evidence file(s) could not be read completely:");
    for l in lines.iter().take(limit) {
        eprintln!("{l}");
    }
    if lines.len() > limit {
        let rest = lines.len() - limit;
        match more_in {
            Some(p) => eprintln!("    … and {rest} more, all listed in {p}"),
            None => eprintln!("    … and {rest} more"),
        }
    }
}

fn ingest(a: args::IngestArgs) -> Result<Done> {
    let started = Instant::now();
    let quiet = a.common.quiet;
    check_output_outside(&a.out, &a.evidence)?;
    let found = discover(&a.evidence, &discover_options(&a.common));
    if found.files.is_empty() && found.problems.is_empty() {
        bail!(
            "no files found under {} (check the path)",
            a.evidence.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    status(
        quiet,
        format!(
            "[+] trailsift {} ingest: {} files, {} bytes",
            env!("CARGO_PKG_VERSION"),
            found.files.len(),
            found.total_bytes()
        ),
    );
    let bar = progress_bar(quiet, found.total_bytes());
    let mut scan = scan_options(&a.common);
    scan.verification = verify::statuses_for(&found.files, &a.integrity, &a.common)?;
    let opts = StoreOptions {
        out: a.out.clone(),
        clobber: a.clobber,
        strict: a.common.strict,
        scan,
        chunk_bytes: trailsift_ingest::store::CHUNK_BYTES,
    };
    let roots: Vec<String> = a.evidence.iter().map(|p| p.display().to_string()).collect();
    let mut content_bytes = 0u64;
    let manifest = write_store(&found, roots, &opts, &mut |r| {
        bar.inc(r.bytes);
        content_bytes += r.content_bytes;
    })
    .with_context(|| format!("ingest into {} failed", a.out.display()))?;
    bar.finish_and_clear();
    let t = &manifest.totals;
    let secs = started.elapsed().as_secs_f64();
    if !quiet {
        let kinds: Vec<String> = t.files_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        eprintln!("[+] evidence: {} files, {} bytes on disk ({})", t.files, t.bytes, kinds.join(", "));
        eprintln!(
            "[+] records: {} seen = {} loaded + {} rejected",
            t.records_seen, t.records_loaded, t.records_rejected
        );
        if t.flow_records_seen > 0 {
            eprintln!(
                "[+] flow records: {} seen = {} loaded + {} rejected",
                t.flow_records_seen, t.flow_records_loaded, t.flow_records_rejected
            );
        }
        let table = manifest.tables.get("cloudtrail").cloned().unwrap_or_default();
        eprintln!(
            "[+] store: {} ({} rows in {} Parquet files), manifest.json, errors.jsonl",
            a.out.display(),
            table.rows,
            table.files.len()
        );
        eprintln!("[+] evidence sha256 (over sorted file hashes): {}", manifest.evidence_sha256);
        eprintln!(
            "[+] done in {secs:.2}s: {:.0} MB/s of uncompressed JSON",
            content_bytes as f64 / 1e6 / secs.max(1e-9)
        );
    }
    let errors_path = a.out.join("errors.jsonl");
    report_problems(&manifest.walk_problems, &manifest.files, 20, Some(&errors_path.display().to_string()));
    Ok(if t.has_problems() { Done::Partial } else { Done::Clean })
}

fn schema(a: &args::SchemaArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if let (Some(args::Ddl::Athena), Some(loc)) = (a.ddl, &a.location) {
        write!(out, "{}", athena_ddl(loc))?;
        return Ok(());
    }
    writeln!(out, "table cloudtrail  (one row per CloudTrail record; Athena CloudTrail column names)")?;
    for (name, ty, doc) in trailsift_ingest::schema::column_docs() {
        writeln!(out, "  {name:<52} {ty:<16} {doc}")?;
    }
    writeln!(out)?;
    writeln!(out, "table vpc_flow  (one row per VPC flow-log record; AWS field names with '-' as '_')")?;
    for (name, ty, doc) in trailsift_ingest::vpc::column_docs() {
        writeln!(out, "  {name:<52} {ty:<16} {doc}")?;
    }
    Ok(())
}

/// Hive/Athena type of an Arrow type, as Athena's Parquet reader expects it.
fn hive_type(t: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType as T;
    match t {
        T::Utf8 | T::LargeUtf8 | T::Utf8View => "string".into(),
        T::Int64 => "bigint".into(),
        T::Int32 => "int".into(),
        T::Boolean => "boolean".into(),
        T::Float64 => "double".into(),
        T::Date32 => "date".into(),
        T::Timestamp(..) => "timestamp".into(),
        T::Struct(fields) => {
            let inner: Vec<String> =
                fields.iter().map(|f| format!("{}:{}", f.name(), hive_type(f.data_type()))).collect();
            format!("struct<{}>", inner.join(","))
        }
        T::List(f) | T::LargeList(f) => format!("array<{}>", hive_type(f.data_type())),
        other => format!("string /* {other} */"),
    }
}

/// `CREATE EXTERNAL TABLE` for a store copied to `location` (its `cloudtrail/` folder below).
fn athena_ddl(location: &str) -> String {
    let schema = trailsift_ingest::schema::cloudtrail_schema();
    let cols: Vec<String> =
        schema.fields().iter().map(|f| format!("  `{}` {}", f.name(), hive_type(f.data_type()))).collect();
    let loc = location.trim_end_matches('/');
    format!(
        "-- trailsift {} store, copied to {loc}/ (e.g. aws s3 sync STORE/ {loc}/)\n\
         CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail (\n{}\n)\n\
         PARTITIONED BY (`account` string, `region` string, `date` string)\n\
         STORED AS PARQUET\n\
         LOCATION '{loc}/cloudtrail/'\n\
         TBLPROPERTIES ('parquet.compression' = 'ZSTD');\n\
         -- load the partitions (account=/region=/date= folders):\n\
         MSCK REPAIR TABLE cloudtrail;\n",
        env!("CARGO_PKG_VERSION"),
        cols.join(",\n")
    )
}
