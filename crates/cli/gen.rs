//! `trailsift gen`: write a synthetic CloudTrail (and VPC flow log) archive with exactly known
//! answers, optionally with planted incidents.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::Done;
use crate::args::GenArgs;

/// Parses a size such as `10GiB`, `100MB`, `1.5G`, `250k` or `1048576` into bytes
/// (k/M/G/T are powers of 1000, KiB/MiB/GiB/TiB powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (try 100MB, 1GiB, 10GiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit {u:?} in {s:?} (use B, KB, MB, GB, KiB, MiB, GiB)")),
    };
    Ok((n * mult).round() as u64)
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
fn parse_day(s: &str) -> Result<i64> {
    let parts: Vec<&str> = s.split('-').collect();
    let bad = || anyhow::anyhow!("--start {s:?} is not a date (use YYYY-MM-DD)");
    if parts.len() != 3 {
        return Err(bad());
    }
    let (y, m, d): (i64, i64, i64) = (
        parts[0].parse().map_err(|_| bad())?,
        parts[1].parse().map_err(|_| bad())?,
        parts[2].parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

/// Runs `trailsift gen`.
pub(crate) fn run(a: GenArgs) -> Result<Done> {
    if a.out.exists() && std::fs::read_dir(&a.out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not empty: generate into a new directory", a.out.display());
    }
    if a.regions.is_empty() || a.regions.iter().any(|r| r.is_empty()) {
        bail!("--regions needs at least one region name, e.g. --regions us-east-1,eu-west-1");
    }
    let mut opts = trailsift_gen::GenOptions {
        seed: a.seed,
        accounts: a.accounts.max(1),
        regions: a.regions.clone(),
        gzip_level: a.gzip_level.min(9),
        vpc: !a.no_vpc,
        plant: a.plant.clone(),
        threads: a.threads,
        ..Default::default()
    };
    if let Some(start) = &a.start {
        opts.start_day = parse_day(start)?;
    }
    opts.records = match a.size {
        Some(bytes) => trailsift_gen::records_for_size(&opts, bytes),
        None => a.records.unwrap_or(20_000),
    };
    opts.files_per_region = match (a.days, a.files_per_region) {
        (Some(d), _) if d > 0.0 => (d * 288.0).ceil() as u64,
        (Some(_), _) => bail!("--days must be positive"),
        (None, Some(n)) => n.max(1),
        // About 200 records per five-minute file of the busiest region on average.
        (None, None) => (opts.records / (200 * opts.accounts as u64 * opts.regions.len() as u64)).clamp(12, 288 * 366),
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let started = Instant::now();
    let answers = trailsift_gen::generate(&a.out, &opts)
        .with_context(|| format!("cannot write the archive into {}", a.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let gz: u64 =
        answers.files.iter().filter_map(|f| std::fs::metadata(a.out.join(&f.path)).ok()).map(|m| m.len()).sum();
    eprintln!(
        "[+] wrote {} CloudTrail records in {} files ({:.1} MB of JSON, {:.1} MB gzip, {:.1}×) over {:.1} days{} in {:.1} s ({:.0} MB/s of JSON)",
        answers.total_records,
        answers.files.len(),
        answers.json_bytes as f64 / 1e6,
        gz as f64 / 1e6,
        answers.json_bytes as f64 / gz.max(1) as f64,
        opts.files_per_region as f64 / 288.0,
        if opts.vpc {
            format!(", {} VPC flow lines in {} files", answers.vpc_lines, answers.vpc_files.len())
        } else {
            String::new()
        },
        secs,
        answers.json_bytes as f64 / 1e6 / secs.max(1e-9),
    );
    for inc in &answers.incidents {
        eprintln!(
            "[+] planted {}: key {} ({} derived keys, {} events, {} techniques) in account {}",
            inc.scenario,
            inc.key,
            inc.lineage.len() - 1,
            inc.total_events,
            inc.techniques.len(),
            inc.account_id
        );
    }
    eprintln!("[+] answers in {}", Path::new(&a.out).join("answers.json").display());
    Ok(Done::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_days_parse() {
        assert_eq!(parse_size("10GiB"), Ok(10 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert_eq!(parse_day("1970-01-01").unwrap(), 0);
        assert_eq!(parse_day("2024-07-31").unwrap(), 19_935);
        assert!(parse_day("2024-13-01").is_err());
    }
}
