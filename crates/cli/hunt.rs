//! `trailsift hunt`: runs the detection pack over raw evidence or a store — everything, or the
//! activity of the given keys and every key derived from them — and prints a timeline of
//! findings (table, CSV, JSON or JSON lines), with a summary on stderr.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use clap::{Args, ValueEnum};
use trailsift_detect::{Catalog, Finding, HuntOptions, Level};
use trailsift_query::{Engine, EngineOptions, StageOptions, StageProgress};

use crate::args::{Common, Format};
use crate::{Done, discover_options, report_problems, scan_options};

/// Output formats of `hunt` and `detections list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned table (default on a terminal).
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line (default when stdout is not a terminal).
    Jsonl,
}

impl ListFormat {
    /// The format asked for, or table on a terminal and jsonl otherwise.
    pub fn resolve(f: Option<ListFormat>, to_file: bool) -> ListFormat {
        f.unwrap_or(if !to_file && std::io::stdout().is_terminal() { ListFormat::Table } else { ListFormat::Jsonl })
    }

    fn query_format(self) -> Format {
        match self {
            ListFormat::Table => Format::Table,
            ListFormat::Csv => Format::Csv,
            ListFormat::Json => Format::Json,
            ListFormat::Jsonl => Format::Jsonl,
        }
    }
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

/// `trailsift hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Evidence files/directories, or stores made by `trailsift ingest`.
    #[arg(required = true, help_heading = "Input")]
    pub paths: Vec<PathBuf>,
    /// Hunt only over this access key and every key derived from it (repeatable).
    #[arg(long = "key", value_name = "KEY", help_heading = "Scope")]
    pub keys: Vec<String>,
    /// Earliest event time (RFC 3339, inclusive).
    #[arg(long, value_name = "TIME", help_heading = "Scope")]
    pub from: Option<String>,
    /// Latest event time (RFC 3339, inclusive).
    #[arg(long, value_name = "TIME", help_heading = "Scope")]
    pub to: Option<String>,
    /// Run only detections at or above this level.
    #[arg(short = 'm', long, value_parser = parse_level, default_value = "informational", help_heading = "Detections")]
    pub min_level: Level,
    /// Run only this detection (repeatable).
    #[arg(long = "detection", value_name = "ID", help_heading = "Detections")]
    pub detection: Vec<String>,
    /// Also load the detections (*.sql) under this directory.
    #[arg(long = "detections", value_name = "DIR", help_heading = "Detections")]
    pub detections_dir: Option<PathBuf>,
    /// Run deprecated detections too.
    #[arg(long, help_heading = "Detections")]
    pub include_deprecated: bool,
    /// Scan the raw evidence once per detection instead of reading it once into a temporary
    /// store first (a whole-archive hunt of raw evidence stages it by default; its store is
    /// about 6 % of the JSON's size).
    #[arg(long, help_heading = "Input")]
    pub no_stage: bool,
    /// Folder for the temporary store of a staged hunt [default: the system's temporary
    /// folder, as TMPDIR sets it]. Never inside the evidence; removed when the hunt ends.
    #[arg(long, value_name = "DIR", help_heading = "Input")]
    pub stage_dir: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this level.
    #[arg(long, value_parser = parse_level, value_name = "LEVEL", help_heading = "Output")]
    pub fail_on: Option<Level>,
    /// Output format.
    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<ListFormat>,
    /// Write findings to this file instead of stdout.
    #[arg(short, long, help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(short = 'C', long, help_heading = "Output")]
    pub clobber: bool,
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
}

/// Loads the bundled catalog plus `dir`'s detections.
pub(crate) fn load_catalog(dir: Option<&PathBuf>) -> Result<Catalog> {
    let c = Catalog::bundled();
    match dir {
        Some(d) => c.with_dir(d).with_context(|| format!("cannot load detections from {}", d.display())),
        None => Ok(c),
    }
}

/// Opens the output (stdout or a file; refuses to overwrite without --clobber).
pub(crate) fn sink(output: Option<&PathBuf>, clobber: bool) -> Result<BufWriter<Box<dyn Write + Send>>> {
    let w: Box<dyn Write + Send> = match output {
        Some(path) => {
            if path.exists() && !clobber {
                bail!("{} already exists (use --clobber to overwrite)", path.display());
            }
            Box::new(File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout()),
    };
    Ok(BufWriter::with_capacity(1 << 16, w))
}

/// Writes one batch through the query output writers.
pub(crate) async fn write_batch(batch: RecordBatch, format: ListFormat, w: &mut (dyn Write + Send)) -> Result<usize> {
    let schema = batch.schema();
    let stream = datafusion::physical_plan::memory::MemoryStream::try_new(vec![batch], schema.clone(), None)?;
    let mut stream: datafusion::physical_plan::SendableRecordBatchStream = Box::pin(stream);
    crate::output::write_stream(&mut stream, schema, None, format.query_format(), w).await
}

fn strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

/// Findings as a RecordBatch (every field; `tags` comma-joined). `brief` keeps the columns a
/// person reads in a terminal.
pub(crate) fn findings_batch(findings: &[Finding], brief: bool) -> Result<RecordBatch> {
    let s = |f: fn(&Finding) -> Option<&str>| strings(findings.iter().map(f));
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("event_time", s(|f| Some(f.event_time.as_str()))),
        ("level", s(|f| Some(f.level.as_str()))),
        ("id", s(|f| Some(&*f.id))),
    ];
    if !brief {
        cols.push(("title", s(|f| Some(&*f.title))));
    }
    cols.push(("principal", s(|f| f.principal.as_deref())));
    cols.push(("access_key_id", s(|f| f.access_key_id.as_deref())));
    cols.push(("source_ip", s(|f| f.source_ip.as_deref())));
    cols.push(("region", s(|f| f.region.as_deref())));
    cols.push(("summary", s(|f| Some(f.summary.as_str()))));
    cols.push(("count", Arc::new(UInt64Array::from_iter_values(findings.iter().map(|f| f.count)))));
    if !brief {
        cols.push(("account_id", s(|f| f.account_id.as_deref())));
        cols.push(("eventid", s(|f| f.eventid.as_deref())));
        cols.push(("first_seen", s(|f| Some(f.first_seen.as_str()))));
        cols.push(("last_seen", s(|f| Some(f.last_seen.as_str()))));
        let tags: Vec<String> = findings.iter().map(|f| f.tags.join(",")).collect();
        cols.push(("tags", strings(tags.iter().map(|t| Some(t.as_str())))));
        cols.push(("evidence_path", s(|f| Some(f.evidence_path.as_str()))));
        cols.push((
            "evidence_index",
            Arc::new(Int64Array::from_iter_values(findings.iter().map(|f| f.evidence_index))),
        ));
    }
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| {
            Field::new(
                *n,
                a.data_type().clone(),
                *a.data_type() != DataType::UInt64 && *a.data_type() != DataType::Int64,
            )
        })
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols.into_iter().map(|(_, a)| a).collect())?)
}

/// Fewest detections for which a whole-archive hunt of raw evidence is staged: writing the
/// store costs about as much as three scans of the evidence (2 GB: 5.2 s to stage, 1.7 s per
/// scan), and every detection over the store then takes a fraction of one.
pub const STAGE_MIN_DETECTIONS: usize = 3;

/// Rows per batch in a hunt's queries. Four detections run side by side, each with a batch
/// in flight in every operator of every partition (Parquet decoding, filters, coalescing,
/// windows). Measured on the 10 GiB corpus's store (whole hunt, 173,779 findings, the same
/// either way): 8192 rows peaked at 541 MiB in 40.2 s, 4096 at 500 MiB in 39.6 s, 2048 at
/// 500 MiB in 39.3 s.
const HUNT_BATCH_ROWS: usize = 4096;

/// The engine a hunt reads: raw evidence staged into a temporary store when the hunt covers
/// the whole archive with enough detections to pay for it, else the inputs as given.
async fn open_engine(a: &HuntArgs, catalog: &Catalog, opts: EngineOptions) -> Result<Engine> {
    let quiet = a.common.quiet;
    let probe = HuntOptions {
        min_level: a.min_level,
        detections: a.detection.clone(),
        include_deprecated: a.include_deprecated,
        ..HuntOptions::default()
    };
    let selected = trailsift_detect::runner::select(catalog, &probe)?.len();
    let raw = !a.paths.iter().any(|p| trailsift_query::is_store(p));
    if a.no_stage || !a.keys.is_empty() || !raw || selected < STAGE_MIN_DETECTIONS {
        return Ok(Engine::open(&a.paths, opts).await?);
    }
    let micros = |t: &Option<String>| -> Result<Option<i64>> {
        t.as_deref().map(trailsift_detect::runner::parse_time).transpose().map_err(Into::into)
    };
    let stage = StageOptions { dir: a.stage_dir.clone(), time_lo: micros(&a.from)?, time_hi: micros(&a.to)? };
    let started = std::time::Instant::now();
    let mut bar = indicatif::ProgressBar::hidden();
    let staged = Engine::open_staged(&a.paths, opts.clone(), &stage, &mut |p| match p {
        StageProgress::Start { files, bytes } => {
            if !quiet {
                eprintln!(
                    "[+] staging {files} evidence file(s) ({bytes} bytes) into a temporary store for {selected} \
                     detections (--no-stage scans the evidence once per detection instead)"
                );
            }
            bar = crate::progress_bar(quiet, bytes);
        }
        StageProgress::File(r) => bar.inc(r.bytes),
    })
    .await;
    bar.finish_and_clear();
    // Staging's buffers are freed, but glibc keeps the free space of its per-thread arenas;
    // the detections' scans then grow other arenas on top of it.
    crate::release_free_memory();
    match staged {
        Ok((engine, s)) => {
            if !quiet {
                let pruned = if s.pruned > 0 {
                    format!("; {} file(s) outside the time range left out", s.pruned)
                } else {
                    String::new()
                };
                eprintln!(
                    "[+] staged in {:.2}s: {} bytes of Parquet in {}{pruned}",
                    started.elapsed().as_secs_f64(),
                    s.store_bytes,
                    s.dir.display()
                );
            }
            Ok(engine)
        }
        Err(e) => {
            eprintln!("[!] {e}; scanning the evidence once per detection instead");
            Ok(Engine::open(&a.paths, opts).await?)
        }
    }
}

pub(crate) async fn hunt(a: HuntArgs) -> Result<Done> {
    let catalog = load_catalog(a.detections_dir.as_ref())?;
    let format = ListFormat::resolve(a.format, a.output.is_some());
    let opts = EngineOptions {
        scan: scan_options(&a.common),
        discover: discover_options(&a.common),
        batch_rows: Some(HUNT_BATCH_ROWS),
    };
    let quiet = a.common.quiet;
    let engine = open_engine(&a, &catalog, opts).await?;
    let keys = if a.keys.is_empty() {
        None
    } else {
        let lineage = trailsift_detect::lineage::derive(&engine, &a.keys).await.context("key lineage failed")?;
        let ids = lineage.key_ids();
        if !quiet && ids.len() > a.keys.len() {
            // A busy CI user's key can mint thousands of session keys: name a few.
            const SHOWN: usize = 8;
            let more = match ids.len().saturating_sub(SHOWN) {
                0 => String::new(),
                n => format!(" … and {n} more (`trailsift key` lists them all)"),
            };
            eprintln!(
                "[+] {} key(s) given, {} with derived keys: {}{more}",
                a.keys.len(),
                ids.len(),
                ids[..ids.len().min(SHOWN)].join(", ")
            );
        }
        Some(ids)
    };
    let hopts = HuntOptions {
        keys,
        related_users: Vec::new(),
        from: a.from.clone(),
        to: a.to.clone(),
        min_level: a.min_level,
        detections: a.detection.clone(),
        include_deprecated: a.include_deprecated,
        concurrency: 0,
        key_records: None,
    };
    let result = trailsift_detect::hunt(&engine, &catalog, &hopts).await.context("hunt failed")?;

    let mut w = sink(a.output.as_ref(), a.clobber)?;
    match format {
        ListFormat::Jsonl => {
            for f in &result.findings {
                serde_json::to_writer(&mut w, f)?;
                writeln!(w)?;
            }
        }
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut w, &result.findings)?;
            writeln!(w)?;
        }
        ListFormat::Table | ListFormat::Csv => {
            let batch = findings_batch(&result.findings, format == ListFormat::Table)?;
            write_batch(batch, format, &mut w).await?;
        }
    }
    w.flush()?;
    drop(w);

    if !quiet {
        let per_level: Vec<String> = Level::ALL
            .iter()
            .rev()
            .map(|l| format!("{} {l}", result.findings.iter().filter(|f| f.level == *l).count()))
            .collect();
        eprintln!(
            "[+] {} finding(s): {}; {} detection(s) run, {} failed, {} skipped; {} event(s) in scope{}, \
             {} duplicate record(s) collapsed",
            result.findings.len(),
            per_level.join(", "),
            result.detections_run,
            result.failed.len(),
            result.skipped.len(),
            result.events_in_scope,
            if result.materialised { " (held)" } else { "" },
            result.duplicates_collapsed
        );
        for (id, why) in &result.skipped {
            eprintln!("[-] skipped {id}: {why}");
        }
    }
    for (id, why) in &result.failed {
        eprintln!("[!] detection {id} failed: {why}");
    }
    let problems = engine.problems();
    report_problems(engine.walk_problems(), &problems, 50, None);
    if let Some(level) = a.fail_on {
        let n = result.findings.iter().filter(|f| f.level >= level).count();
        if n > 0 {
            bail!("{n} finding(s) at or above {level} (--fail-on {level})");
        }
    }
    Ok(if problems.is_empty() && engine.walk_problems().is_empty() && result.failed.is_empty() {
        Done::Clean
    } else {
        Done::Partial
    })
}
