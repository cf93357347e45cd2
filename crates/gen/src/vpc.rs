//! VPC Flow Logs alongside the CloudTrail files.
//!
//! Files follow the S3 delivery layout
//! (`AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/<account>_vpcflowlogs_<region>_fl-<17 hex>_<YYYYMMDDTHHMMZ>_<8 hex>.log.gz`),
//! one per five minutes per account and region with CloudTrail activity, each a gzip of
//! space-separated text with a header line. Most use the default (version 2) format
//! ([`V2_FIELDS`]); the first account's second region uses a custom version 5 layout
//! ([`V5_FIELDS`]). A few lines are `NODATA` (with `-` fields) or `SKIPDATA`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use rayon::prelude::*;

use crate::plant::{Flow, FlowTotals, Planted};
use crate::{GenOptions, Plan, Rng, Span, VpcFileAnswer, compact_stamp, date_dirs, fnv, mix, token, write_gz};

/// The default flow log format (version 2).
pub const V2_FIELDS: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// The custom layout one account/region uses (version 5 fields after the default ones).
pub const V5_FIELDS: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id flow-direction traffic-path";

/// Whether (account index, region) uses the custom version 5 layout.
fn is_v5(opts: &GenOptions, account: usize, region: &str) -> bool {
    account == 0 && opts.regions.len() > 1 && opts.regions[1] == region
}

struct Line {
    start: i64,
    text: String,
    /// (src, dst, packets, bytes) for tallies; None for NODATA/SKIPDATA.
    tally: Option<(String, String, u64, u64)>,
}

struct VpcPlan {
    account: usize,
    region: String,
    slot: i64,
    lines: u64,
}

fn hex(rng: &mut Rng, n: usize) -> String {
    token(rng, n, b"0123456789abcdef")
}

fn format_line(v5: bool, account: &str, region: &str, f: &Flow, end: i64, extra: &Extra) -> String {
    let mut s = String::with_capacity(200);
    let _ = write!(
        s,
        "{} {account} {} {} {} {} {} {} {} {} {} {end} {} OK",
        if v5 { 5 } else { 2 },
        f.interface_id,
        f.src,
        f.dst,
        f.srcport,
        f.dstport,
        f.protocol,
        f.packets,
        f.bytes,
        f.start,
        f.action
    );
    if v5 {
        let _ = write!(
            s,
            " {} {} {} {} {} {} {} {region} {} {} {}",
            extra.vpc,
            extra.subnet,
            extra.instance,
            if f.protocol == 6 { extra.tcp_flags.to_string() } else { "0".into() },
            if f.src.contains(':') { "IPv6" } else { "IPv4" },
            f.src,
            f.dst,
            extra.az,
            if f.src.starts_with("10.") || f.src.starts_with("fd00") { "egress" } else { "ingress" },
            extra.path
        );
    }
    s
}

struct Extra {
    vpc: String,
    subnet: String,
    instance: String,
    tcp_flags: u8,
    az: String,
    path: u8,
}

fn extra(rng: &mut Rng, region: &str, eni_index: u64) -> Extra {
    let mut er = Rng::new(eni_index);
    Extra {
        vpc: format!("vpc-0{}", hex(&mut er, 16)),
        subnet: format!("subnet-0{}", hex(&mut er, 16)),
        instance: if eni_index.is_multiple_of(5) { "-".into() } else { format!("i-0{}", hex(&mut er, 16)) },
        tcp_flags: *rng.pick(&[2u8, 3, 18, 19, 1]),
        az: format!("{}-az{}", region.split('-').map(|p| &p[..p.len().min(2)]).collect::<String>(), 1 + er.below(3)),
        path: *rng.pick(&[1u8, 1, 1, 2, 8]),
    }
}

fn noise_flow(rng: &mut Rng, account: &str, region: &str, start: i64, enis: &[String]) -> Flow {
    let e = rng.below(enis.len() as u64) as usize;
    let own = format!("10.{}.{}.{}", e % 4, (e * 7) % 32, 10 + e % 200);
    let (src, dst, sp, dp, proto) = match rng.below(10) {
        0..=4 => (
            own.clone(),
            format!("10.{}.{}.{}", rng.below(4), rng.below(32), 1 + rng.below(254)),
            32_768 + rng.below(28_000) as u16,
            *rng.pick(&[443u16, 5432, 6379, 8080, 9092, 2049]),
            6u8,
        ),
        5 | 6 => (
            format!("192.0.2.{}", 10 + rng.below(6)),
            own.clone(),
            49_152 + rng.below(16_000) as u16,
            *rng.pick(&[443u16, 22, 80]),
            6,
        ),
        7 => (
            own.clone(),
            format!("100.{}.{}.{}", 64 + rng.below(32), rng.below(256), 1 + rng.below(254)),
            32_768 + rng.below(28_000) as u16,
            443,
            6,
        ),
        8 => (own.clone(), format!("10.{}.0.2", e % 4), 32_768 + rng.below(28_000) as u16, 53, 17),
        _ => (
            format!("fd00:a1b2:c3d4:10::{:x}", 1 + rng.below(0xffff)),
            format!("fd00:a1b2:c3d4:20::{:x}", 1 + e),
            49_152 + rng.below(16_000) as u16,
            443,
            6,
        ),
    };
    let packets = 1 + rng.below(2_000);
    let bytes = packets * (60 + rng.below(1_400));
    Flow {
        account: account.to_string(),
        region: region.to_string(),
        start,
        interface_id: enis[e].clone(),
        src,
        dst,
        srcport: sp,
        dstport: dp,
        protocol: proto,
        packets,
        bytes,
        action: if rng.below(100) < 5 { "REJECT" } else { "ACCEPT" },
    }
}

type VpcResult = (VpcFileAnswer, BTreeMap<String, FlowTotals>);

/// Writes the flow log files of an archive: one per CloudTrail noise file's (account, region,
/// slot), plus the files planted flows fall into. Returns the files and the flow totals of
/// the `watch`ed addresses.
pub(crate) fn write_all(
    out: &Path,
    opts: &GenOptions,
    accounts: &[String],
    plans: &[Plan],
    span: Span,
    scenarios: &[Planted],
    watch: &BTreeSet<String>,
) -> io::Result<(Vec<VpcFileAnswer>, BTreeMap<String, FlowTotals>)> {
    let mut vplans: Vec<VpcPlan> = plans
        .iter()
        .filter(|p| p.records > 0)
        .map(|p| VpcPlan { account: p.account, region: p.region.clone(), slot: p.slot, lines: 3 + p.records / 4 })
        .collect();
    let mut planted: BTreeMap<(usize, String, i64), Vec<&Flow>> = BTreeMap::new();
    for f in scenarios.iter().flat_map(|s| s.flows.iter()) {
        let a = accounts.iter().position(|x| *x == f.account).expect("planted flow account is known");
        planted.entry((a, f.region.clone(), (f.start - span.start).div_euclid(300))).or_default().push(f);
    }
    for (a, region, slot) in planted.keys() {
        if !vplans.iter().any(|p| p.account == *a && &p.region == region && p.slot == *slot) {
            vplans.push(VpcPlan { account: *a, region: region.clone(), slot: *slot, lines: 0 });
        }
    }
    let mut files = Vec::new();
    let mut totals: BTreeMap<String, FlowTotals> = BTreeMap::new();
    for chunk in vplans.chunks(256) {
        let results: Vec<io::Result<VpcResult>> = chunk
            .par_iter()
            .map(|p| {
                let extra = planted.get(&(p.account, p.region.clone(), p.slot)).map(Vec::as_slice).unwrap_or(&[]);
                write_file(out, opts, &accounts[p.account], p, span, extra, watch)
            })
            .collect();
        for r in results {
            let (f, t) = r?;
            for (ip, x) in t {
                let e = totals.entry(ip).or_default();
                e.flows += x.flows;
                e.bytes += x.bytes;
                e.packets += x.packets;
            }
            files.push(f);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, totals))
}

fn write_file(
    out: &Path,
    opts: &GenOptions,
    account: &str,
    p: &VpcPlan,
    span: Span,
    planted: &[&Flow],
    watch: &BTreeSet<String>,
) -> io::Result<VpcResult> {
    let rs = fnv(&p.region);
    let mut rng = Rng::new(mix(&[opts.seed, p.account as u64, rs, p.slot as u64, 0x7fc]));
    let v5 = is_v5(opts, p.account, &p.region);
    let mut erng = Rng::new(mix(&[opts.seed, p.account as u64, rs, 0xe11]));
    let enis: Vec<String> = (0..24).map(|_| format!("eni-0{}", hex(&mut erng, 16))).collect();
    let start = span.start + p.slot * 300;
    let mut lines: Vec<Line> = Vec::with_capacity(p.lines as usize + planted.len());
    for _ in 0..p.lines {
        let t = start - 60 + rng.below(300) as i64;
        let roll = rng.below(100);
        if roll < 2 {
            let eni = rng.pick(&enis).clone();
            let status = if roll == 0 { "SKIPDATA" } else { "NODATA" };
            let mut text =
                format!("{} {account} {eni} - - - - - - - {t} {} - {status}", if v5 { 5 } else { 2 }, t + 60);
            if v5 {
                text.push_str(" - - - - - - - - - - -");
            }
            lines.push(Line { start: t, text, tally: None });
            continue;
        }
        let f = noise_flow(&mut rng, account, &p.region, t, &enis);
        let ei = enis.iter().position(|e| *e == f.interface_id).unwrap_or(0) as u64;
        let x = extra(&mut rng, &p.region, mix(&[opts.seed, ei, rs]));
        let end = t + 60;
        lines.push(Line {
            start: t,
            text: format_line(v5, account, &p.region, &f, end, &x),
            tally: Some((f.src, f.dst, f.packets, f.bytes)),
        });
    }
    for f in planted {
        let x = extra(&mut rng, &p.region, mix(&[opts.seed, fnv(&f.interface_id), rs]));
        lines.push(Line {
            start: f.start,
            text: format_line(v5, account, &p.region, f, f.start + 60, &x),
            tally: Some((f.src.clone(), f.dst.clone(), f.packets, f.bytes)),
        });
    }
    lines.sort_by_key(|l| l.start);
    let mut body = String::with_capacity(lines.len() * 120 + 300);
    body.push_str(if v5 { V5_FIELDS } else { V2_FIELDS });
    body.push('\n');
    let mut totals: BTreeMap<String, FlowTotals> = BTreeMap::new();
    for l in &lines {
        body.push_str(&l.text);
        body.push('\n');
        if let Some((src, dst, packets, bytes)) = &l.tally {
            for ip in [src, dst] {
                if watch.contains(ip) {
                    let e = totals.entry(ip.clone()).or_default();
                    e.flows += 1;
                    e.bytes += bytes;
                    e.packets += packets;
                }
            }
        }
    }
    let mut name_rng = Rng::new(mix(&[opts.seed, p.account as u64, rs, 0xf1d]));
    let flow_log_id = format!("fl-0{}", hex(&mut name_rng, 16));
    let mut file_rng = Rng::new(mix(&[opts.seed, p.account as u64, rs, p.slot as u64, 0xf1e]));
    let rel = format!(
        "AWSLogs/{account}/vpcflowlogs/{region}/{dirs}/{account}_vpcflowlogs_{region}_{flow_log_id}_{stamp}_{tail}.log.gz",
        region = p.region,
        dirs = date_dirs(start),
        stamp = compact_stamp(start + 300),
        tail = hex(&mut file_rng, 8),
    );
    write_gz(&out.join(&rel), body.as_bytes(), opts.gzip_level)?;
    Ok((
        VpcFileAnswer {
            path: rel,
            lines: lines.len() as u64,
            text_bytes: body.len() as u64,
            format: if v5 { 5 } else { 2 },
        },
        totals,
    ))
}
