//! `trailsift key`: the exposed-key investigation. Opens the evidence (raw or a store), builds
//! the lineage and the scope of every key in it, runs the detection pack over their activity,
//! and writes the report as Markdown, JSON or self-contained HTML.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use trailsift_detect::investigate::{InvestigateOptions, investigate};
use trailsift_detect::lineage::is_access_key_id;
use trailsift_query::{Engine, EngineOptions};
use trailsift_report::{ReportFormat, render};

use crate::args::{KeyArgs, ReportFmt};
use crate::{Done, discover_options, report_problems, scan_options};

/// Splits `PATH… KEY` (the key may stand anywhere; it is the one argument that looks like an
/// access key ID and is not an existing path).
fn split_key(items: &[String]) -> Result<(Vec<PathBuf>, String)> {
    let is_key = |s: &str| is_access_key_id(s.trim()) && !Path::new(s).exists();
    let keys: Vec<&String> = items.iter().filter(|s| is_key(s)).collect();
    match keys.as_slice() {
        [k] => {
            let paths: Vec<PathBuf> = items.iter().filter(|s| s != k).map(PathBuf::from).collect();
            if paths.is_empty() {
                bail!("no evidence given: trailsift key EVIDENCE_OR_STORE… {k}");
            }
            Ok((paths, k.trim().to_string()))
        }
        [] => bail!(
            "no access key ID among the arguments (expected e.g. AKIAIOSFODNN7EXAMPLE or ASIA…, upper-case letters and digits): trailsift key EVIDENCE_OR_STORE… KEY"
        ),
        _ => bail!(
            "more than one access key ID given ({}): investigate one key per report (its derived keys are found for you)",
            keys.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub(crate) async fn key(a: KeyArgs) -> Result<Done> {
    let (paths, key) = split_key(&a.items)?;
    let format = match (a.format, &a.output) {
        (Some(f), _) => f,
        (None, Some(o)) if o.extension().is_some_and(|e| e.eq_ignore_ascii_case("html")) => ReportFmt::Html,
        (None, Some(o)) if o.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) => ReportFmt::Json,
        _ => ReportFmt::Md,
    };
    if let Some(o) = &a.output
        && o.exists()
        && !a.clobber
    {
        bail!("{} already exists (use --clobber to overwrite)", o.display());
    }
    let quiet = a.common.quiet;
    let opts = EngineOptions { scan: scan_options(&a.common), discover: discover_options(&a.common), batch_rows: None };
    let engine = Engine::open(&paths, opts).await?;
    let mut iopts = InvestigateOptions::new(key.clone());
    iopts.paths = paths.iter().map(|p| p.display().to_string()).collect();
    let mut inv = investigate(&engine, &iopts).await.with_context(|| format!("investigation of {key} failed"))?;
    let hunted = crate::findings_for_keys(&engine, &inv).await?;
    let findings = hunted.findings;
    // Duplicates collapsed and the evidence's digest verification, for the report's header.
    let ids: Vec<String> = inv.lineage.iter().map(|k| k.access_key_id.clone()).collect();
    let lineage_records = format!("useridentity.accesskeyid IN {}", trailsift_detect::rows::lit_list(&ids));
    // The hunt counted the copies it left out of the lineage's records (and of the AWS calls
    // on its users): none there means none to report, without two more scans.
    let dups = if hunted.duplicates_collapsed == 0 {
        trailsift_query::DuplicateReport::default()
    } else {
        trailsift_query::duplicate_report_where(&engine, &lineage_records).await.context("duplicate check failed")?
    };
    inv.evidence.duplicates_collapsed = Some(dups.collapsed);
    inv.evidence.duplicate_conflicts = Some(dups.conflicts.len() as u64);
    // Of the records the report rests on: the lineage's events, already in memory.
    let ver = trailsift_detect::rows::rows(
        &engine,
        &format!(
            "SELECT evidence_verification AS v, count(*) AS n FROM {} GROUP BY 1 ORDER BY 1",
            trailsift_detect::investigate::KEY_EVENTS_TABLE
        ),
    )
    .await?;
    let parts: Vec<String> = ver
        .iter()
        .filter_map(|r| {
            let v = trailsift_detect::rows::str_of(r, "v")?;
            Some(format!("{v}: {} record(s)", trailsift_detect::rows::int_of(r, "n")))
        })
        .collect();
    inv.evidence.verification = Some(if parts.is_empty() {
        "not verified (no digests and public keys were given)".to_string()
    } else {
        parts.join(", ")
    });
    // Network activity of the addresses that used the lineage's keys (VPC flow logs).
    let ips: Vec<String> = inv.source_ips.iter().map(|c| c.value.clone()).collect();
    inv.network = trailsift_query::ip_flow_activity(&engine, &ips).await.context("flow-log correlation failed")?;
    inv.attach_findings(&findings);
    let problems = engine.problems();
    // Files in the evidence (the scan counters add up every scan the report ran).
    inv.evidence.files = engine.evidence_files().map(|n| n as u64);
    inv.evidence.files_with_problems = Some((problems.len() + engine.walk_problems().len()) as u64);
    inv.finish();

    let text = render(
        &inv,
        match format {
            ReportFmt::Md => ReportFormat::Markdown,
            ReportFmt::Json => ReportFormat::Json,
            ReportFmt::Html => ReportFormat::Html,
        },
    );
    match &a.output {
        Some(o) => std::fs::write(o, text.as_bytes()).with_context(|| format!("cannot write {}", o.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    if !quiet {
        let worst = inv.findings.iter().map(|f| f.level).max();
        eprintln!(
            "[+] {key} ({}): {} key(s) in the lineage, {} event(s), {} mutating call(s), {} detection(s) fired{}",
            inv.key_type,
            inv.lineage.len(),
            inv.total_events,
            inv.impact.mutating_events,
            inv.findings.len(),
            worst.map(|l| format!(" (worst: {l:?})")).unwrap_or_default()
        );
        if !inv.seen_in_evidence {
            eprintln!("[!] {key} does not appear in the evidence: check the key ID and what the export covers");
        }
        if let Some(o) = &a.output {
            eprintln!("[+] report written to {}", o.display());
        } else if format == ReportFmt::Html && std::io::stdout().is_terminal() {
            eprintln!("[!] HTML went to the terminal: use -o report.html");
        }
    }
    report_problems(engine.walk_problems(), &problems, 50, None);
    Ok(if problems.is_empty() && engine.walk_problems().is_empty() { Done::Clean } else { Done::Partial })
}

#[cfg(test)]
mod tests {
    use super::split_key;

    #[test]
    fn key_is_found_anywhere() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (p, k) = split_key(&v(&["ev1", "ev2", "AKIAIOSFODNN7EXAMPLE"])).unwrap();
        assert_eq!((p.len(), k.as_str()), (2, "AKIAIOSFODNN7EXAMPLE"));
        let (p, k) = split_key(&v(&["ASIAIOSFODNN7EXAMPLE", "ev"])).unwrap();
        assert_eq!((p.len(), k.as_str()), (1, "ASIAIOSFODNN7EXAMPLE"));
        assert!(split_key(&v(&["ev"])).is_err());
        assert!(split_key(&v(&["AKIAIOSFODNN7EXAMPLE"])).is_err());
        assert!(split_key(&v(&["ev", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLF"])).is_err());
    }
}
