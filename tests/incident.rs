//! Acceptance: the exposed-key investigation on generated archives, as it will be checked.
//! Each archive holds a planted incident inside realistic noise; the generator writes the
//! exact answers (`answers.json`). `trailsift key` must find exactly the planted lineage, the
//! exact event counts, every planted technique's detections and the attacker addresses' flow
//! totals; the same noise without the incident must raise no high or critical finding.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use serde_json::Value;
use trailsift_gen::{Answers, GenOptions, Scenario, generate};

/// A derived key as the report and the answers both give it: key, parent, minting call, event.
type Link = (String, Option<String>, Option<String>, Option<String>);

/// Seeds other than the demo's, so the answers are not tuned to one archive.
const SEEDS: [u64; 2] = [20_261_206, 77];

fn archive(dir: &Path, seed: u64, plant: bool) -> Answers {
    let opts = GenOptions {
        records: 4000,
        seed,
        vpc: true,
        plant: if plant { vec![Scenario::ExposedKey] } else { Vec::new() },
        ..Default::default()
    };
    generate(dir, &opts).unwrap()
}

fn key_report(dir: &Path, key: &str) -> Value {
    let (code, text, err) = run_text(&["key", dir.to_str().unwrap(), key, "--format", "json", "-q"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&text).unwrap()
}

fn hunt(dir: &Path, min_level: &str) -> Vec<Value> {
    let (code, text, err) =
        run_text(&["hunt", dir.to_str().unwrap(), "--min-level", min_level, "--format", "jsonl", "-q"]);
    assert_eq!(code, 0, "{err}");
    jsonl(&text)
}

#[test]
fn planted_incident_is_found_exactly() {
    for seed in SEEDS {
        let dir = tempfile::tempdir().unwrap();
        let answers = archive(dir.path(), seed, true);
        let inc = &answers.incidents[0];
        let report = key_report(dir.path(), &inc.key);

        // Lineage: exactly the planted keys, each with its parent, minting call and event.
        let got: BTreeSet<Link> = report["lineage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let s = |f: &str| k[f].as_str().map(str::to_string);
                (s("access_key_id").unwrap(), s("parent_access_key_id"), s("minted_by"), s("event_id"))
            })
            .collect();
        let want: BTreeSet<Link> = inc
            .lineage
            .iter()
            .map(|l| (l.access_key_id.clone(), l.parent_access_key_id.clone(), l.minted_by.clone(), l.event_id.clone()))
            .collect();
        assert_eq!(got, want, "seed {seed}: lineage");

        // Scope: the exact totals, per key and overall.
        assert_eq!(report["total_events"], inc.total_events, "seed {seed}");
        let per_key: BTreeMap<String, u64> = report["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["events"].as_u64().unwrap() > 0)
            .map(|k| (k["access_key_id"].as_str().unwrap().to_string(), k["events"].as_u64().unwrap()))
            .collect();
        assert_eq!(per_key, inc.events, "seed {seed}: events per key");
        let first = report["keys"].as_array().unwrap().iter().filter_map(|k| k["first_seen"].as_str()).min();
        let last = report["keys"].as_array().unwrap().iter().filter_map(|k| k["last_seen"].as_str()).max();
        assert_eq!((first, last), (Some(inc.first_seen.as_str()), Some(inc.last_seen.as_str())), "seed {seed}");

        // Findings: every planted technique raises each of its detections.
        let fired: BTreeSet<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
        let mut missed = Vec::new();
        for t in &inc.techniques {
            for d in &t.detections {
                if !fired.contains(d.as_str()) {
                    missed.push(format!("{} → {d}", t.technique));
                }
            }
        }
        assert!(missed.is_empty(), "seed {seed}: techniques without their finding: {missed:?}\nfired: {fired:?}");
        // Each finding of the report points at evidence of the lineage (or at AWS's action on its user).
        for f in report["findings"].as_array().unwrap() {
            assert!(f["count"].as_u64().unwrap() >= 1, "{f}");
            assert!(!f["evidence"].as_array().unwrap().is_empty(), "{f}");
        }

        // Network: the attacker addresses' flows, to the byte.
        for (ip, totals) in &inc.vpc {
            let n = report["network"].as_array().unwrap().iter().find(|n| n["ip"] == ip.as_str());
            let n = n.unwrap_or_else(|| panic!("seed {seed}: no network activity for {ip}"));
            assert_eq!(n["bytes"], totals.bytes, "seed {seed}: {ip}");
            assert_eq!(n["packets"], totals.packets, "seed {seed}: {ip}");
            assert_eq!(n["flows"], totals.flows, "seed {seed}: {ip}");
        }

        // Over the whole archive, the high and critical findings are the incident's own.
        let planted: BTreeSet<&str> =
            inc.techniques.iter().flat_map(|t| t.event_ids.iter().map(String::as_str)).collect();
        let lineage_keys: BTreeSet<&str> = inc.lineage.iter().map(|l| l.access_key_id.as_str()).collect();
        let high = hunt(dir.path(), "high");
        assert!(high.len() >= 5, "seed {seed}: the incident's high findings are missing: {high:?}");
        for f in high {
            let key = f["access_key_id"].as_str().unwrap_or("");
            let ev = f["eventid"].as_str().unwrap_or("");
            assert!(
                planted.contains(ev) || lineage_keys.contains(key),
                "seed {seed}: a high finding outside the incident: {f}"
            );
        }
    }
}

#[test]
fn noise_alone_raises_no_high_finding() {
    for seed in SEEDS {
        let dir = tempfile::tempdir().unwrap();
        let answers = archive(dir.path(), seed, false);
        assert!(answers.incidents.is_empty());
        assert!(answers.total_records >= 4000);
        let high = hunt(dir.path(), "high");
        assert!(high.is_empty(), "seed {seed}: {} high/critical finding(s) on noise: {:?}", high.len(), high.first());
    }
}
