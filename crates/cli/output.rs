//! `trailsift query`: runs the SQL and writes the result as a table, CSV, JSON, JSON lines or
//! Parquet. Rows stream straight to the output (except `table`, which must see every row to
//! align columns). Timestamps print as RFC 3339 UTC.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::FormatOptions;
use futures::StreamExt;
use trailsift_query::{Engine, EngineOptions};

use crate::args::{Format, QueryArgs};
use crate::{Done, discover_options, report_problems, scan_options};

/// chrono format of timestamps with a zone (ours are UTC) and without one (taken as UTC).
const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

pub(crate) async fn query(a: QueryArgs) -> Result<Done> {
    let sql = match (&a.sql, &a.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read SQL file {}", f.display()))?
        }
        (None, None) => bail!("give the SQL with --sql or -f FILE"),
    };
    let format = a.format.unwrap_or(if a.output.is_none() && std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Jsonl
    });
    if format == Format::Parquet && a.output.is_none() {
        bail!("--format parquet needs an output file: add -o FILE.parquet");
    }
    let scan = crate::verify::scan_with_verification(scan_options(&a.common), &a.paths, &a.integrity, &a.common)?;
    let opts = EngineOptions { scan, discover: discover_options(&a.common), batch_rows: None };
    let engine = Engine::open(&a.paths, opts).await?;
    let df = engine.sql(&sql).await.context("query failed")?;
    let names = trailsift_query::output_names(&sql, df.schema().as_arrow());
    let schema = df.schema().inner().clone();
    let mut stream = df.execute_stream().await.context("query failed")?;

    let sink: Box<dyn Write + Send> = match &a.output {
        Some(path) => {
            if path.exists() && !a.clobber {
                bail!("{} already exists (use --clobber to overwrite)", path.display());
            }
            Box::new(File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => Box::new(std::io::stdout()),
    };
    let mut w = BufWriter::with_capacity(1 << 16, sink);
    let rows = write_stream(&mut stream, schema, Some(&names), format, &mut w).await?;
    w.flush()?;
    drop(w);
    if !a.common.quiet {
        let st = engine.scan_stats();
        if st.scans > 0 {
            eprintln!(
                "[+] {rows} row(s); scanned {} of {} file(s) ({} pruned by path, {} skipped by literal pre-filter); {} record(s) parsed, {} built",
                st.files_read - st.files_skipped,
                st.files_considered,
                st.files_pruned,
                st.files_skipped,
                st.records_seen,
                st.records_loaded
            );
        } else {
            eprintln!("[+] {rows} row(s)");
        }
    }
    let problems = engine.problems();
    report_problems(engine.walk_problems(), &problems, 50, None);
    Ok(if problems.is_empty() && engine.walk_problems().is_empty() { Done::Clean } else { Done::Partial })
}

/// Writes every batch of `stream` to `w` in `format`, its columns renamed to `names` when
/// given; returns the number of rows.
pub(crate) async fn write_stream(
    stream: &mut datafusion::physical_plan::SendableRecordBatchStream,
    schema: SchemaRef,
    names: Option<&[String]>,
    format: Format,
    mut w: &mut (dyn Write + Send),
) -> Result<usize> {
    let schema = output_schema(&schema, names);
    let mut stream = stream.map(|b| b.map_err(anyhow::Error::from).and_then(|b| present(&b, &schema)));
    let stream = &mut stream;
    let mut rows = 0usize;
    match format {
        Format::Table => {
            let mut batches = Vec::new();
            while let Some(b) = stream.next().await {
                let b = b.context("query failed")?;
                rows += b.num_rows();
                batches.push(b);
            }
            let opts = FormatOptions::default()
                .with_null("NULL")
                .with_timestamp_format(Some(TS_FORMAT))
                .with_timestamp_tz_format(Some(TS_FORMAT));
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema.clone()));
            }
            let table = arrow::util::pretty::pretty_format_batches_with_options(&batches, &opts)?;
            writeln!(w, "{table}")?;
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_format(TS_FORMAT.into())
                .with_timestamp_tz_format(TS_FORMAT.into())
                .build(&mut w);
            while let Some(b) = stream.next().await {
                let b = b.context("query failed")?;
                rows += b.num_rows();
                writer.write(&b)?;
            }
        }
        Format::Json | Format::Jsonl => {
            let builder = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .with_timestamp_format(TS_FORMAT.into())
                .with_timestamp_tz_format(TS_FORMAT.into());
            if format == Format::Json {
                let mut writer = builder.build::<_, arrow::json::writer::JsonArray>(&mut w);
                while let Some(b) = stream.next().await {
                    let b = b.context("query failed")?;
                    rows += b.num_rows();
                    writer.write(&b)?;
                }
                writer.finish()?;
                if rows == 0 {
                    write!(w, "[]")?;
                }
                writeln!(w)?;
            } else {
                let mut writer = builder.build::<_, arrow::json::writer::LineDelimited>(&mut w);
                while let Some(b) = stream.next().await {
                    let b = b.context("query failed")?;
                    rows += b.num_rows();
                    writer.write(&b)?;
                }
                writer.finish()?;
            }
        }
        Format::Parquet => {
            let mut writer = parquet_writer(&mut w, schema.clone())?;
            while let Some(b) = stream.next().await {
                let b = b.context("query failed")?;
                rows += b.num_rows();
                writer.write(&b)?;
            }
            writer.close()?;
        }
    }
    Ok(rows)
}

/// The schema rows are written with: `names` (when given) for the column names, and every
/// timestamp with a zone in UTC, so that all of them print as RFC 3339 UTC.
fn output_schema(schema: &SchemaRef, names: Option<&[String]>) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = names.and_then(|n| n.get(i)).unwrap_or(f.name());
            let data_type = match f.data_type() {
                DataType::Timestamp(unit, Some(_)) => DataType::Timestamp(*unit, Some("UTC".into())),
                other => other.clone(),
            };
            Field::new(name, data_type, f.is_nullable()).with_metadata(f.metadata().clone())
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` in the output `schema`: renamed, and its zoned timestamps moved to UTC (the same
/// instants).
fn present(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { cast(c, f.data_type()) })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn parquet_writer<W: Write + Send>(w: W, schema: SchemaRef) -> Result<parquet::arrow::ArrowWriter<W>> {
    Ok(parquet::arrow::ArrowWriter::try_new(w, schema, Some(trailsift_ingest::store::writer_properties()))?)
}
