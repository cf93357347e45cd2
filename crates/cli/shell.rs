//! `trailsift shell`: an interactive SQL prompt over evidence or a store, with line editing,
//! history and multi-line statements (a statement ends with `;`). Backslash commands:
//! `\d` lists the tables, `\d TABLE` its columns, `\q` quits, `\?` shows help.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use trailsift_query::{Engine, EngineOptions};

use crate::args::{Format, ShellArgs};
use crate::output::write_stream;
use crate::{Done, discover_options, report_problems, scan_options};

const HELP: &str = "\
  SQL statements end with ';' and may span lines. Tables: cloudtrail.
  \\d            list tables
  \\d TABLE      list the columns of TABLE
  \\q            quit (or Ctrl-D)
  \\?            this help";

pub(crate) async fn shell(a: ShellArgs) -> Result<Done> {
    let opts = EngineOptions { scan: scan_options(&a.common), discover: discover_options(&a.common), batch_rows: None };
    let engine = Engine::open(&a.paths, opts).await?;
    let interactive = std::io::stdin().is_terminal();
    if interactive && !a.common.quiet {
        eprintln!("[+] trailsift {} shell; \\? for help, \\q to quit", env!("CARGO_PKG_VERSION"));
    }
    let mut rl = DefaultEditor::new().context("cannot start the line editor")?;
    let history = a.history.clone().or_else(default_history);
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut pending = String::new();
    let mut failed = false;
    loop {
        let prompt = if pending.is_empty() { "trailsift> " } else { "       ..> " };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read from the terminal"),
        };
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('\\') {
            let _ = rl.add_history_entry(trimmed);
            match meta(&engine, trimmed).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    failed = true;
                    eprintln!("[x] {e:#}");
                }
            }
            continue;
        }
        if trimmed.is_empty() && pending.is_empty() {
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut pending);
        let _ = rl.add_history_entry(sql.trim_end());
        if let Err(e) = run(&engine, &sql).await {
            failed = true;
            eprintln!("[x] {e:#}");
        }
    }
    if !pending.trim().is_empty() {
        // Input ended inside a statement: run it rather than lose it.
        if let Err(e) = run(&engine, &pending).await {
            failed = true;
            eprintln!("[x] {e:#}");
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    let problems = engine.problems();
    report_problems(engine.walk_problems(), &problems, 50, None);
    if failed && !interactive {
        anyhow::bail!("some statements failed (see above)");
    }
    Ok(if problems.is_empty() && engine.walk_problems().is_empty() { Done::Clean } else { Done::Partial })
}

fn default_history() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".trailsift_history"))
}

async fn run(engine: &Engine, sql: &str) -> Result<()> {
    let started = std::time::Instant::now();
    let df = engine.sql(sql).await.context("query failed")?;
    let names = trailsift_query::output_names(sql, df.schema().as_arrow());
    let schema = df.schema().inner().clone();
    let mut stream = df.execute_stream().await.context("query failed")?;
    let mut out = std::io::stdout();
    let rows = write_stream(&mut stream, schema, Some(&names), Format::Table, &mut out).await?;
    out.flush()?;
    eprintln!("({rows} row(s) in {:.3}s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs a backslash command; returns true to quit.
async fn meta(engine: &Engine, cmd: &str) -> Result<bool> {
    let mut parts = cmd.split_whitespace();
    match (parts.next().unwrap_or(""), parts.next()) {
        ("\\q" | "\\quit", _) => Ok(true),
        ("\\?" | "\\h" | "\\help", _) => {
            eprintln!("{HELP}");
            Ok(false)
        }
        ("\\d", None) => {
            run(
                engine,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'default' ORDER BY table_name;",
            )
            .await?;
            Ok(false)
        }
        ("\\d", Some(table)) => {
            let table = table.trim_end_matches(';').replace('\'', "''");
            run(
                engine,
                &format!(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_schema = 'default' AND table_name = '{table}' ORDER BY ordinal_position;"
                ),
            )
            .await?;
            Ok(false)
        }
        (other, _) => anyhow::bail!("unknown command {other} (\\? lists the commands)"),
    }
}
