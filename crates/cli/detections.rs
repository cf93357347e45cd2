//! `trailsift detections list|show|lint`: the bundled pack (and `--detections DIR`), one
//! detection's metadata and SQL, and a lint that reports every problem of every file at once.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use clap::{Args, Subcommand};
use trailsift_detect::Catalog;

use crate::Done;
use crate::hunt::{ListFormat, load_catalog, sink, write_batch};

/// `trailsift detections`.
#[derive(Debug, Args)]
pub struct DetectionsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DetectionsAction,
}

/// `detections` subcommands.
#[derive(Debug, Subcommand)]
pub enum DetectionsAction {
    /// List the detections: id, level, status, tactic, title.
    List {
        /// Also list the detections (*.sql) under this directory.
        #[arg(long = "detections", value_name = "DIR")]
        detections_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Print one detection's metadata and SQL.
    Show {
        /// Detection id.
        id: String,
        /// Also look in the detections (*.sql) under this directory.
        #[arg(long = "detections", value_name = "DIR")]
        detections_dir: Option<PathBuf>,
    },
    /// Check detection files (the bundled pack, or DIR): header keys and values, id and file
    /// name, SQL syntax, and (cloudtrail) that the SQL plans and returns the finding columns.
    Lint {
        /// Directory of *.sql detections (default: the bundled pack).
        dir: Option<PathBuf>,
    },
}

pub(crate) async fn detections(a: DetectionsArgs) -> Result<Done> {
    match a.action {
        DetectionsAction::List { detections_dir, format } => {
            let c = load_catalog(detections_dir.as_ref())?;
            warn_rejected(&c);
            let ds = c.detections();
            let col = |f: &dyn Fn(&trailsift_detect::Detection) -> String| -> ArrayRef {
                Arc::new(StringArray::from_iter_values(ds.iter().map(f)))
            };
            let cols: Vec<(&str, ArrayRef)> = vec![
                ("id", col(&|d| d.id.clone())),
                ("level", col(&|d| d.level.to_string())),
                ("status", col(&|d| d.status.to_string())),
                ("source", col(&|d| d.source.clone())),
                ("tactic", col(&|d| d.tactic().to_string())),
                ("title", col(&|d| d.title.clone())),
                ("origin", col(&|d| d.origin.clone())),
            ];
            let schema = Schema::new(
                cols.iter().map(|(n, _)| Field::new(*n, arrow::datatypes::DataType::Utf8, false)).collect::<Vec<_>>(),
            );
            let batch = RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect())?;
            let mut w = sink(None, false)?;
            write_batch(batch, ListFormat::resolve(format, false), &mut w).await?;
            w.flush()?;
            Ok(Done::Clean)
        }
        DetectionsAction::Show { id, detections_dir } => {
            let c = load_catalog(detections_dir.as_ref())?;
            let Some(d) = c.get(&id) else {
                bail!("no detection with id '{id}' (see `trailsift detections list`)");
            };
            let mut w = sink(None, false)?;
            writeln!(w, "id:             {}", d.id)?;
            writeln!(w, "title:          {}", d.title)?;
            writeln!(w, "level:          {}", d.level)?;
            writeln!(w, "status:         {}", d.status)?;
            writeln!(w, "source:         {}", d.source)?;
            writeln!(w, "tactic:         {}", d.tactic())?;
            writeln!(w, "techniques:     {}", d.techniques().join(", "))?;
            writeln!(w, "tags:           {}", d.tags.join(", "))?;
            writeln!(w, "author:         {}", d.author)?;
            writeln!(w, "created:        {}", d.created)?;
            writeln!(w, "origin:         {} ({})", d.origin, d.path)?;
            writeln!(w, "description:    {}", d.description)?;
            writeln!(w, "falsepositives: {}", d.falsepositives.join("; "))?;
            for r in &d.references {
                writeln!(w, "reference:      {r}")?;
            }
            writeln!(w, "\n{}", d.sql)?;
            w.flush()?;
            Ok(Done::Clean)
        }
        DetectionsAction::Lint { dir } => {
            let c = match &dir {
                Some(d) => Catalog::empty().with_dir(d)?,
                None => Catalog::bundled(),
            };
            let mut problems = c.lint();
            problems.extend(c.check_plans().await);
            let files: std::collections::BTreeSet<&str> = problems.iter().map(|p| p.file.as_str()).collect();
            for p in &problems {
                eprintln!("{p}");
            }
            let checked = c.detections().len() + c.rejected().len();
            if problems.is_empty() {
                eprintln!("[+] {checked} detection file(s), no problems");
                Ok(Done::Clean)
            } else {
                bail!("{} problem(s) in {} of {checked} detection file(s)", problems.len(), files.len())
            }
        }
    }
}

fn warn_rejected(c: &Catalog) {
    for p in c.lint() {
        eprintln!("[!] {p}");
    }
}
