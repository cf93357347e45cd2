//! trailsift-gen: deterministic synthetic CloudTrail and VPC Flow Log archives whose exact
//! answers are known.
//!
//! CloudTrail files are written in the S3 delivery layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 alnum>.json.gz`),
//! one file per five minutes per account and region when there is activity, each a gzip
//! (level 6) of `{"Records":[…]}`. Activity follows the working day and differs between
//! accounts and regions, so file sizes range from a few KB to a few MB. The noise is a
//! realistic and benign mix: IAM users with AKIA keys, console users, assumed roles with full
//! session context, EC2 instance roles, SSO permission sets, federated users, AWS services;
//! a few hundred event names with reads dominating; a few % of errors; S3 data events; nested
//! request and response objects of varying size. VPC flow logs go alongside
//! (`AWSLogs/<account>/vpcflowlogs/<region>/…/*.log.gz`, see [`vpc`]).
//!
//! [`Scenario::ExposedKey`] plants an exposed-key incident inside the noise: the same seed
//! gives the same noise with or without it. [`Answers`] records what was written — per file,
//! per access key, per event name, and for each planted incident its lineage, counts and
//! techniques — and is also written to `answers.json`.
//!
//! Generation is parallel (rayon), deterministic whatever the thread count (every file has its
//! own random stream, seeded from the seed and the file's account, region and time slot) and
//! streams file by file (memory does not grow with the corpus).
//!
//! This crate depends on nothing else of trailsift, so it can serve as an independent oracle.

mod catalog;
mod jw;
mod noise;
mod plant;
mod record;
pub mod vpc;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use plant::{FlowTotals, Incident, LineageEntry, Technique, detections_for};

/// A planted scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// A long-term access key leaks and an attacker uses it and every credential derived
    /// from it (see the crate's README section on `gen --plant exposed-key`).
    ExposedKey,
}

impl Scenario {
    /// The scenario's name on the command line and in `answers.json`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::ExposedKey => "exposed-key",
        }
    }
    /// Every scenario.
    pub const ALL: [Scenario; 1] = [Scenario::ExposedKey];
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown scenario {s:?} (known: exposed-key)"))
    }
}

/// Options for [`generate`].
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Seed: the same seed gives the same archive.
    pub seed: u64,
    /// Accounts.
    pub accounts: usize,
    /// Regions the noise uses (the first is the busiest).
    pub regions: Vec<String>,
    /// First day, as days since 1970-01-01.
    pub start_day: i64,
    /// Total number of noise records to write (planted records come on top).
    pub records: u64,
    /// Number of five-minute slots per account and region (the time span; 288 a day).
    pub files_per_region: u64,
    /// Gzip level (1 fast … 9 small; AWS's files compress about like 6).
    pub gzip_level: u32,
    /// Write VPC flow logs alongside the CloudTrail files.
    pub vpc: bool,
    /// Scenarios to plant.
    pub plant: Vec<Scenario>,
    /// Worker threads (0: rayon's default). The output does not depend on it.
    pub threads: usize,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 1,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            start_day: 19_935, // 2024-07-31
            records: 5_000,
            files_per_region: 24,
            gzip_level: 6,
            vpc: false,
            plant: Vec::new(),
            threads: 0,
        }
    }
}

/// What one generated CloudTrail file holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileAnswer {
    /// Path relative to the output directory.
    pub path: String,
    /// Records in the file.
    pub records: u64,
    /// Uncompressed size.
    pub json_bytes: u64,
}

/// What one generated VPC flow log file holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VpcFileAnswer {
    /// Path relative to the output directory.
    pub path: String,
    /// Flow lines (not counting the header line).
    pub lines: u64,
    /// Uncompressed size.
    pub text_bytes: u64,
    /// Log format version of the file's layout (2 for the default format, 5 for the custom one).
    pub format: u8,
}

/// The exact content of a generated archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answers {
    /// Seed used.
    pub seed: u64,
    /// Total CloudTrail records (noise and planted).
    pub total_records: u64,
    /// Total uncompressed JSON bytes.
    pub json_bytes: u64,
    /// Records per `userIdentity.accessKeyId` (records without a key are not counted).
    pub records_by_key: BTreeMap<String, u64>,
    /// Records per `eventName`.
    pub records_by_event: BTreeMap<String, u64>,
    /// Every CloudTrail file written, sorted by path.
    pub files: Vec<FileAnswer>,
    /// Accounts, in order (the first is the primary one).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regions the noise uses.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Total VPC flow lines (header lines not counted).
    #[serde(default)]
    pub vpc_lines: u64,
    /// Every VPC flow log file written, sorted by path.
    #[serde(default)]
    pub vpc_files: Vec<VpcFileAnswer>,
    /// Planted incidents with their exact answers.
    #[serde(default)]
    pub incidents: Vec<Incident>,
}

/// A small deterministic PRNG (SplitMix64): no dependency, stable across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Picks an element.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// True with probability `p` percent.
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Mixes values into one seed (order matters).
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3u64;
    for &p in parts {
        h = Rng::new(h ^ p).next_u64();
    }
    h
}

/// FNV-1a of a string (a stable seed part for names).
pub(crate) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

pub(crate) const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An access key ID with `prefix` (`AKIA`, `ASIA`) that encodes `account` the way AWS does
/// (account << 7 in the first 48 bits of the base32 body, with the top bit set as in keys
/// issued since 2019, whose fifth character is Q–Z or 2–7), so it decodes offline.
pub fn access_key_id(prefix: &str, account: u64, rng: &mut Rng) -> String {
    let z = (1 << 47) | ((account & 0xff_ffff_ffff) << 7) | rng.below(128);
    let mut bytes = [0u8; 10];
    bytes[..6].copy_from_slice(&z.to_be_bytes()[2..8]);
    let tail = rng.next_u64().to_be_bytes();
    bytes[6..].copy_from_slice(&tail[..4]);
    let mut out = String::from(prefix);
    let mut acc: u128 = 0;
    for b in bytes {
        acc = (acc << 8) | b as u128;
    }
    for i in (0..16).rev() {
        out.push(B32[((acc >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// A random token of `n` characters from `alphabet`.
pub(crate) fn token(rng: &mut Rng, n: usize, alphabet: &[u8]) -> String {
    // One 64-bit draw gives eight characters (a byte each, reduced modulo the alphabet).
    let mut out = String::with_capacity(n);
    let mut bits = 0u64;
    for i in 0..n {
        if i % 8 == 0 {
            bits = rng.next_u64();
        }
        out.push(alphabet[(bits & 0xff) as usize % alphabet.len()] as char);
        bits >>= 8;
    }
    out
}

/// A random UUID-shaped ID (lowercase hex, 8-4-4-4-12).
pub(crate) fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    fn hex(s: &mut String, v: u64, n: u32) {
        for i in (0..n).rev() {
            s.push(char::from(b"0123456789abcdef"[(v >> (4 * i) & 15) as usize]));
        }
    }
    let mut s = String::with_capacity(36);
    hex(&mut s, a >> 32, 8);
    s.push('-');
    hex(&mut s, a >> 16, 4);
    s.push('-');
    hex(&mut s, a, 4);
    s.push('-');
    hex(&mut s, b >> 48, 4);
    s.push('-');
    hex(&mut s, b, 12);
    s
}

/// Days since the epoch → (y, m, d).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch.
pub fn iso(secs: i64) -> String {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", r / 3600, r % 3600 / 60, r % 60);
    }
    // Written digit by digit: `gen` stamps every record.
    fn digits(s: &mut String, v: u32, n: u32) {
        for i in (0..n).rev() {
            s.push(char::from(b'0' + (v / 10u32.pow(i) % 10) as u8));
        }
    }
    let mut s = String::with_capacity(20);
    digits(&mut s, y as u32, 4);
    s.push('-');
    digits(&mut s, m, 2);
    s.push('-');
    digits(&mut s, d, 2);
    s.push('T');
    digits(&mut s, (r / 3600) as u32, 2);
    s.push(':');
    digits(&mut s, (r % 3600 / 60) as u32, 2);
    s.push(':');
    digits(&mut s, (r % 60) as u32, 2);
    s.push('Z');
    s
}

/// The `Mon D, YYYY, H:MM:SS AM` dates some AWS responses carry (STS expirations).
pub(crate) fn aws_date(secs: i64) -> String {
    const MON: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    let (h, ampm) = match r / 3600 {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!("{} {d}, {y}, {h}:{:02}:{:02} {ampm}", MON[m as usize - 1], r % 3600 / 60, r % 60)
}

/// `YYYYMMDDTHHMMZ` of seconds since the epoch (the timestamp in delivered file names).
pub(crate) fn compact_stamp(secs: i64) -> String {
    let s = iso(secs);
    format!("{}{}{}T{}{}Z", &s[0..4], &s[5..7], &s[8..10], &s[11..13], &s[14..16])
}

/// `YYYY/MM/DD` of seconds since the epoch.
pub(crate) fn date_dirs(secs: i64) -> String {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    format!("{y:04}/{m:02}/{d:02}")
}

/// The account IDs an archive of `n` accounts uses (the first is 123456789012). A scenario
/// that needs a second account uses the second of these even when `n` is 1.
pub fn account_ids(n: usize) -> Vec<String> {
    (0..n.max(1)).map(|i| format!("{:012}", 123_456_789_012u64 + i as u64 * 1_111)).collect()
}

/// The time span of an archive: first second and number of five-minute slots.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: i64,
    pub slots: u64,
}

impl Span {
    fn slot_of(&self, t: i64) -> i64 {
        (t - self.start).div_euclid(300)
    }
}

/// One CloudTrail file to write: noise records of (account, region, slot).
#[derive(Debug, Clone)]
struct Plan {
    account: usize,
    region: String,
    slot: i64,
    records: u64,
}

/// Relative activity of hour-of-day `h` (UTC): quiet nights, busy working hours.
fn diurnal(h: i64) -> f64 {
    match h {
        0..=5 => 0.25,
        6 | 7 => 0.6,
        8..=17 => 1.0,
        18..=20 => 0.55,
        _ => 0.35,
    }
}

fn plans(opts: &GenOptions, accounts: &[String], span: Span) -> Vec<Plan> {
    let mut weights = Vec::new();
    for (a, _) in accounts.iter().enumerate() {
        let aw = 1.0 / (1.0 + 0.6 * a as f64);
        for (r, region) in opts.regions.iter().enumerate() {
            let rw = if r == 0 { 1.0 } else { 0.35 / r as f64 };
            for slot in 0..span.slots as i64 {
                let t = span.start + slot * 300;
                let mut rng = Rng::new(mix(&[opts.seed, a as u64, fnv(region), slot as u64, 0x77]));
                // Bursty: a product of uniforms has a long tail.
                let burst = 0.15 + 2.0 * rng.unit() * rng.unit() * (if rng.percent(3) { 6.0 } else { 1.0 });
                weights.push((a, region.clone(), slot, aw * rw * diurnal(t.rem_euclid(86_400) / 3600) * burst));
            }
        }
    }
    let total: f64 = weights.iter().map(|w| w.3).sum::<f64>().max(f64::MIN_POSITIVE);
    let mut out = Vec::with_capacity(weights.len());
    let mut cum = 0.0;
    let mut given = 0u64;
    let n = weights.len();
    for (i, (account, region, slot, w)) in weights.into_iter().enumerate() {
        cum += w;
        let upto = if i + 1 == n { opts.records } else { ((opts.records as f64) * cum / total).round() as u64 };
        let upto = upto.clamp(given, opts.records);
        out.push(Plan { account, region, slot, records: upto - given });
        given = upto;
    }
    out
}

/// What the writer tallies for one access key of a planted lineage.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyStats {
    pub events: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub ips: BTreeSet<String>,
    pub names: BTreeMap<String, u64>,
}

impl KeyStats {
    fn add(&mut self, time: &str, ip: &str, name: &str) {
        self.events += 1;
        if self.first.as_deref().is_none_or(|f| time < f) {
            self.first = Some(time.to_string());
        }
        if self.last.as_deref().is_none_or(|l| time > l) {
            self.last = Some(time.to_string());
        }
        self.ips.insert(ip.to_string());
        *self.names.entry(name.to_string()).or_default() += 1;
    }
    fn merge(&mut self, o: KeyStats) {
        self.events += o.events;
        if let Some(f) = o.first
            && self.first.as_deref().is_none_or(|x| f.as_str() < x)
        {
            self.first = Some(f);
        }
        if let Some(l) = o.last
            && self.last.as_deref().is_none_or(|x| l.as_str() > x)
        {
            self.last = Some(l);
        }
        self.ips.extend(o.ips);
        for (k, v) in o.names {
            *self.names.entry(k).or_default() += v;
        }
    }
}

#[derive(Default)]
struct FileResult {
    file: Option<FileAnswer>,
    keys: BTreeMap<String, u64>,
    events: BTreeMap<String, u64>,
    watched: BTreeMap<String, KeyStats>,
}

impl FileResult {
    /// Counts one written record.
    fn count(&mut self, key: Option<&str>, time: &str, ip: &str, name: &str, watched: &BTreeSet<String>) {
        if let Some(k) = key {
            bump(&mut self.keys, k);
            if watched.contains(k) {
                self.watched.entry(k.to_string()).or_default().add(time, ip, name);
            }
        }
        bump(&mut self.events, name);
    }
}

/// Adds one to `map[key]` (allocating the key only the first time).
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The number of noise records that make about `bytes` of uncompressed CloudTrail JSON with
/// these options (measured on a sample of records drawn like the real ones).
pub fn records_for_size(opts: &GenOptions, bytes: u64) -> u64 {
    let accounts = account_ids(opts.accounts);
    let ids = noise::identities(opts.seed, &accounts[0]);
    let live = |_| true;
    let ctx = noise::Ctx { seed: opts.seed, account: &accounts[0], region: &opts.regions[0], chain_live: &live };
    let mut rng = Rng::new(mix(&[opts.seed, 0x5a5a]));
    let n = 4_000u64;
    let mut text = Vec::new();
    for i in 0..n {
        let id = noise::pick_identity(&ids, &mut rng);
        let t = opts.start_day * 86_400 + (i as i64 * 37) % 86_400;
        noise::api_call(&ctx, id, t, &iso(t), &mut rng, &mut text);
        text.push(b',');
    }
    let total = text.len() as u64;
    (bytes as f64 / (total as f64 / n as f64)).round().max(1.0) as u64
}

/// Writes the archive under `out/AWSLogs/…` and returns its exact answers (also written to
/// `out/answers.json`).
pub fn generate(out: &Path, opts: &GenOptions) -> io::Result<Answers> {
    if opts.regions.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "at least one region is needed"));
    }
    if opts.threads > 0 {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads)
            .build()
            .map_err(|e| io::Error::other(format!("cannot start {} threads: {e}", opts.threads)))?;
        pool.install(|| generate_inner(out, opts))
    } else {
        generate_inner(out, opts)
    }
}

fn generate_inner(out: &Path, opts: &GenOptions) -> io::Result<Answers> {
    let accounts = account_ids(opts.accounts);
    let span = Span { start: opts.start_day * 86_400, slots: opts.files_per_region.max(1) };
    let mut plans = plans(opts, &accounts, span);
    // Accounts a scenario needs beyond the configured ones (their files hold planted records only).
    let mut all_accounts = accounts.clone();
    let scenarios: Vec<plant::Planted> = opts.plant.iter().map(|s| plant::plant(*s, opts, &accounts, span)).collect();
    for p in &scenarios {
        for a in &p.accounts {
            if !all_accounts.contains(a) {
                all_accounts.push(a.clone());
            }
        }
    }
    let account_index = |a: &str| all_accounts.iter().position(|x| x == a).expect("planted account is known");
    // Planted records by file.
    let mut planted: BTreeMap<(usize, String, i64), Vec<record::Rec>> = BTreeMap::new();
    for p in &scenarios {
        for (acct, rec, t) in &p.records {
            planted
                .entry((account_index(acct), rec.aws_region.clone(), span.slot_of(*t)))
                .or_default()
                .push(rec.clone());
        }
    }
    for (a, region, slot) in planted.keys() {
        if !plans.iter().any(|p| p.account == *a && &p.region == region && p.slot == *slot) {
            plans.push(Plan { account: *a, region: region.clone(), slot: *slot, records: 0 });
        }
    }
    let watched: BTreeSet<String> = scenarios.iter().flat_map(|p| p.lineage_keys()).collect();
    // The noise chain runs in the first region of each account in hours whose :05 slot has room.
    let chain_hours: BTreeSet<(usize, i64)> = plans
        .iter()
        .filter(|p| {
            p.region == opts.regions[0] && p.slot.rem_euclid(12) == 1 && p.records >= 2 && p.account < accounts.len()
        })
        .map(|p| (p.account, (span.start + p.slot * 300).div_euclid(3600)))
        .collect();
    let identities: Vec<Vec<noise::Identity>> = all_accounts.iter().map(|a| noise::identities(opts.seed, a)).collect();

    let mut answers = Answers {
        seed: opts.seed,
        accounts: all_accounts.clone(),
        regions: opts.regions.clone(),
        ..Default::default()
    };
    let mut watched_stats: BTreeMap<String, KeyStats> = BTreeMap::new();
    for chunk in plans.chunks(256) {
        let results: Vec<io::Result<FileResult>> = chunk
            .par_iter()
            .map(|p| {
                let env = FileEnv {
                    out,
                    opts,
                    account: &all_accounts[p.account],
                    ids: &identities[p.account],
                    chain_hours: &chain_hours,
                    planted: planted.get(&(p.account, p.region.clone(), p.slot)).map(Vec::as_slice).unwrap_or(&[]),
                    watched: &watched,
                    span,
                };
                write_ct_file(&env, p)
            })
            .collect();
        for r in results {
            let r = r?;
            let Some(file) = r.file else { continue };
            answers.total_records += file.records;
            answers.json_bytes += file.json_bytes;
            for (k, n) in r.keys {
                *answers.records_by_key.entry(k).or_default() += n;
            }
            for (k, n) in r.events {
                *answers.records_by_event.entry(k).or_default() += n;
            }
            for (k, s) in r.watched {
                watched_stats.entry(k).or_default().merge(s);
            }
            answers.files.push(file);
        }
    }
    answers.files.sort_by(|a, b| a.path.cmp(&b.path));

    let mut flow_totals: BTreeMap<String, FlowTotals> = BTreeMap::new();
    if opts.vpc {
        let attacker: BTreeSet<String> = scenarios.iter().flat_map(|p| p.attacker_ips.iter().cloned()).collect();
        let (files, totals) = vpc::write_all(out, opts, &all_accounts, &plans, span, &scenarios, &attacker)?;
        answers.vpc_lines = files.iter().map(|f| f.lines).sum();
        answers.vpc_files = files;
        flow_totals = totals;
    }
    for p in scenarios {
        answers.incidents.push(p.finish(&watched_stats, &flow_totals, opts.vpc));
    }
    let mut text = serde_json::to_string_pretty(&answers)?;
    text.push('\n');
    fs::write(out.join("answers.json"), text)?;
    Ok(answers)
}

struct FileEnv<'a> {
    out: &'a Path,
    opts: &'a GenOptions,
    account: &'a str,
    ids: &'a [noise::Identity],
    chain_hours: &'a BTreeSet<(usize, i64)>,
    planted: &'a [record::Rec],
    watched: &'a BTreeSet<String>,
    span: Span,
}

fn write_ct_file(env: &FileEnv, p: &Plan) -> io::Result<FileResult> {
    let opts = env.opts;
    let region_seed = fnv(&p.region);
    let mut rng = Rng::new(mix(&[opts.seed, p.account as u64, region_seed, p.slot as u64, 0xc7]));
    let start = env.span.start + p.slot * 300;
    let chain_hours = env.chain_hours;
    let account_idx = p.account;
    let live = move |hour: i64| chain_hours.contains(&(account_idx, hour));
    let ctx = noise::Ctx { seed: opts.seed, account: env.account, region: &p.region, chain_live: &live };
    let mut times: Vec<i64> = (0..p.records)
        .map(|_| {
            if rng.below(1000) < 15 {
                start - 1 - rng.below(900) as i64 // a late record from an earlier window
            } else {
                start + rng.below(300) as i64
            }
        })
        .collect();
    times.sort_unstable();
    let hour = start.div_euclid(3600);
    let chain_here = p.region == opts.regions[0] && p.slot.rem_euclid(12) == 1 && live(hour);
    // Noise is written as text as it is made, in time order; the few records built as values
    // (the noise chain, planted records) are merged in by time after it. Equal times keep
    // noise first, as a stable sort of noise then the others would.
    let mut res = FileResult::default();
    let noise_n = if chain_here { times.len() - 2 } else { times.len() };
    let mut noise_text: Vec<u8> = Vec::with_capacity(noise_n * 1400);
    let mut noise_ends: Vec<usize> = Vec::with_capacity(noise_n);
    let stamps: Vec<String> = times[..noise_n].iter().map(|&t| iso(t)).collect();
    for (&t, stamp) in times[..noise_n].iter().zip(&stamps) {
        let login = if rng.below(50_000) == 0 {
            Some(noise::console_login(&ctx, None, t, &mut rng))
        } else {
            let id = noise::pick_identity(env.ids, &mut rng);
            if id.kind == noise::Kind::ConsoleUser && rng.percent(4) {
                Some(noise::console_login(&ctx, Some(id), t, &mut rng))
            } else {
                let w = noise::api_call(&ctx, id, t, stamp, &mut rng, &mut noise_text);
                res.count(w.key.as_deref(), stamp, &w.ip, w.event_name, env.watched);
                None
            }
        };
        if let Some(r) = login {
            serde_json::to_writer(&mut noise_text, &r)?;
            res.count(r.access_key(), stamp, &r.source_ip_address, &r.event_name, env.watched);
        }
        noise_ends.push(noise_text.len());
    }
    let mut others: Vec<&record::Rec> = Vec::new();
    let chain = if chain_here { noise::chain(&ctx, env.ids, hour, &mut rng).to_vec() } else { Vec::new() };
    others.extend(chain.iter());
    others.extend(env.planted.iter());
    others.sort_by(|a, b| a.event_time.cmp(&b.event_time));
    let total = noise_n + others.len();
    if total == 0 {
        return Ok(FileResult::default());
    }
    for r in &others {
        res.count(r.access_key(), &r.event_time, &r.source_ip_address, &r.event_name, env.watched);
    }

    let mut body = Vec::with_capacity(noise_text.len() + others.len() * 2000 + 16);
    body.extend_from_slice(b"{\"Records\":[");
    let mut other = others.iter().peekable();
    let mut from = 0;
    for (stamp, &end) in stamps.iter().zip(&noise_ends) {
        while let Some(r) = other.next_if(|r| r.event_time < *stamp) {
            serde_json::to_writer(&mut body, r)?;
            body.push(b',');
        }
        body.extend_from_slice(&noise_text[from..end]);
        body.push(b',');
        from = end;
    }
    for r in other {
        serde_json::to_writer(&mut body, r)?;
        body.push(b',');
    }
    body.pop();
    body.extend_from_slice(b"]}");

    let mut name_rng = Rng::new(mix(&[opts.seed, p.account as u64, region_seed, p.slot as u64, 0xf1]));
    let delivery = start + 300 + 60 + name_rng.below(240) as i64;
    let rel = format!(
        "AWSLogs/{acct}/CloudTrail/{region}/{dirs}/{acct}_CloudTrail_{region}_{stamp}_{tok}.json.gz",
        acct = env.account,
        region = p.region,
        dirs = date_dirs(start),
        stamp = compact_stamp(delivery),
        tok = token(&mut name_rng, 16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
    );
    write_gz(&env.out.join(&rel), &body, opts.gzip_level)?;
    res.file = Some(FileAnswer { path: rel, records: total as u64, json_bytes: body.len() as u64 });
    Ok(res)
}

/// Gzips `body` into `path` (creating its folder).
pub(crate) fn write_gz(path: &PathBuf, body: &[u8], level: u32) -> io::Result<()> {
    fs::create_dir_all(path.parent().expect("evidence paths have a parent"))?;
    fs::write(path, gzip(body, level)?)
}

/// A libdeflate compressor owned by one thread, for one level.
struct Compressor {
    raw: std::ptr::NonNull<libdeflate_sys::libdeflate_compressor>,
    level: u32,
}

impl Drop for Compressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libdeflate_alloc_compressor and is freed once.
        unsafe { libdeflate_sys::libdeflate_free_compressor(self.raw.as_ptr()) }
    }
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<Compressor>> = const { std::cell::RefCell::new(None) };
}

/// `body` as one gzip member, compressed at `level` (1–9, as gzip's levels) by libdeflate.
///
/// libdeflate compresses a whole buffer in one call. With zlib-rs's streaming encoder a 1 GiB
/// archive took 14.2 CPU-seconds, with libdeflate 13.1, for files of the same size. Since the
/// noise is written as text (module `jw`), level 6 is about 60 % of `gen`'s CPU time, and its files
/// are within 1 % of zlib's level 6 in size. The bytes depend only on `body` and `level`, so a
/// seed still gives the same archive.
pub fn gzip(body: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let level = level.clamp(1, 9);
    COMPRESSOR.with_borrow_mut(|slot| {
        if slot.as_ref().is_none_or(|c| c.level != level) {
            // SAFETY: plain allocation call; a null result is handled below.
            let raw = unsafe { libdeflate_sys::libdeflate_alloc_compressor(level as i32) };
            let raw = std::ptr::NonNull::new(raw).ok_or_else(|| io::Error::other("libdeflate: out of memory"))?;
            *slot = Some(Compressor { raw, level });
        }
        let c = slot.as_ref().expect("set above").raw.as_ptr();
        // SAFETY: `c` is a live compressor of this thread.
        let bound = unsafe { libdeflate_sys::libdeflate_gzip_compress_bound(c, body.len()) };
        let mut out = vec![0u8; bound];
        // SAFETY: `body` and `out` are valid for their lengths, and `out` holds `bound` bytes.
        let n = unsafe {
            libdeflate_sys::libdeflate_gzip_compress(
                c,
                body.as_ptr().cast(),
                body.len(),
                out.as_mut_ptr().cast(),
                bound,
            )
        };
        if n == 0 {
            return Err(io::Error::other("libdeflate: compressed data did not fit its bound"));
        }
        out.truncate(n);
        Ok(out)
    })
}

#[cfg(test)]
mod tests;
