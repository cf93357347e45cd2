//! The generator's answers checked against an independent reading of what it wrote
//! (flate2 + serde_json over every file), its determinism, and the planted incident's
//! consistency with the records that carry it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trailsift_gen::{Answers, GenOptions, Scenario, generate};

fn gunzip(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
    out
}

/// Every file under `root` with its bytes (answers.json included).
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// (path, index, record) of every CloudTrail record, read independently.
fn records(root: &Path, answers: &Answers) -> Vec<(String, usize, Value)> {
    let mut out = Vec::new();
    for f in &answers.files {
        let doc: Value = serde_json::from_slice(&gunzip(&root.join(&f.path))).unwrap();
        for (i, r) in doc["Records"].as_array().unwrap().iter().enumerate() {
            out.push((f.path.clone(), i, r.clone()));
        }
    }
    out
}

fn small(plant: bool) -> GenOptions {
    GenOptions {
        records: 6_000,
        files_per_region: 72,
        accounts: 2,
        vpc: true,
        plant: if plant { vec![Scenario::ExposedKey] } else { vec![] },
        ..Default::default()
    }
}

fn key_of(r: &Value) -> Option<&str> {
    r["userIdentity"]["accessKeyId"].as_str()
}

/// The keys a successful record mints (from its responseElements).
fn minted(r: &Value) -> Option<&str> {
    if r.get("errorCode").is_some() {
        return None;
    }
    let re = &r["responseElements"];
    re["credentials"]["accessKeyId"].as_str().or_else(|| re["accessKey"]["accessKeyId"].as_str())
}

#[test]
fn same_seed_same_bytes_whatever_the_threads() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let x = generate(a.path(), &GenOptions { threads: 1, ..small(true) }).unwrap();
    let y = generate(b.path(), &GenOptions { threads: 3, ..small(true) }).unwrap();
    assert_eq!(x, y);
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (p, bytes) in &ta {
        assert!(bytes == &tb[p], "{} differs between 1 and 3 threads", p.display());
    }
    // A different seed gives a different archive.
    let c = tempfile::tempdir().unwrap();
    let z = generate(c.path(), &GenOptions { seed: 7, ..small(true) }).unwrap();
    assert_ne!(x.records_by_key, z.records_by_key);
}

#[test]
fn answers_match_an_independent_reading() {
    let dir = tempfile::tempdir().unwrap();
    let answers = generate(dir.path(), &small(true)).unwrap();
    let on_disk: Answers = serde_json::from_slice(&std::fs::read(dir.path().join("answers.json")).unwrap()).unwrap();
    assert_eq!(on_disk, answers);
    let recs = records(dir.path(), &answers);
    assert_eq!(recs.len() as u64, answers.total_records);
    assert_eq!(answers.total_records, 6_000 + answers.incidents[0].planted_events);
    let mut by_key: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_event: BTreeMap<String, u64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for (_, _, r) in &recs {
        if let Some(k) = key_of(r) {
            *by_key.entry(k.to_string()).or_default() += 1;
        }
        *by_event.entry(r["eventName"].as_str().unwrap().to_string()).or_default() += 1;
        assert!(ids.insert(r["eventID"].as_str().unwrap().to_string()), "eventIDs are unique");
    }
    assert_eq!(by_key, answers.records_by_key);
    assert_eq!(by_event, answers.records_by_event);
    assert!(answers.records_by_event.len() >= 120, "{} event names", answers.records_by_event.len());
    let mut json_bytes = 0;
    let mut gz_bytes = 0;
    for f in &answers.files {
        let text = gunzip(&dir.path().join(&f.path));
        json_bytes += text.len() as u64;
        gz_bytes += std::fs::metadata(dir.path().join(&f.path)).unwrap().len();
        assert_eq!(text.len() as u64, f.json_bytes, "{}", f.path);
        // AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 alnum>.json.gz
        let parts: Vec<&str> = f.path.split('/').collect();
        assert_eq!(parts.len(), 8, "{}", f.path);
        assert_eq!((parts[0], parts[2]), ("AWSLogs", "CloudTrail"));
        let name = parts[7].strip_suffix(".json.gz").unwrap();
        let fields: Vec<&str> = name.split('_').collect();
        assert_eq!(fields.len(), 5, "{name}");
        assert_eq!((fields[0], fields[1], fields[2]), (parts[1], "CloudTrail", parts[3]));
        assert_eq!(fields[3].len(), 14);
        assert_eq!(&fields[3][..8], format!("{}{}{}", parts[4], parts[5], parts[6]));
        assert!(fields[4].len() == 16 && fields[4].bytes().all(|b| b.is_ascii_alphanumeric()));
        // Records lie within the file's window (delivered 6–10 minutes after its start), or up to
        // 15 minutes earlier (late records).
        let stamp = format!(
            "{}-{}-{}T{}:{}",
            &fields[3][..4],
            &fields[3][4..6],
            &fields[3][6..8],
            &fields[3][9..11],
            &fields[3][11..13]
        );
        for (p, _, r) in recs.iter().filter(|(p, _, _)| *p == f.path) {
            let t = r["eventTime"].as_str().unwrap();
            assert!(t[..16] <= *stamp.as_str(), "{p}: {t} after delivery {stamp}");
            assert_eq!(r["awsRegion"], parts[3], "{p}");
        }
    }
    assert_eq!(json_bytes, answers.json_bytes);
    let ratio = json_bytes as f64 / gz_bytes as f64;
    // Small files (~20 records here) compress less than busy ones (8–9× at a few hundred records).
    assert!((5.0..25.0).contains(&ratio), "compression ratio {ratio:.1}");

    // VPC flow logs: header, field counts, line counts, attacker totals.
    assert!(!answers.vpc_files.is_empty());
    let inc = &answers.incidents[0];
    let mut totals: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut formats = BTreeSet::new();
    let mut nodata = 0;
    for f in &answers.vpc_files {
        assert!(f.path.contains("/vpcflowlogs/") && f.path.ends_with(".log.gz"), "{}", f.path);
        let text = String::from_utf8(gunzip(&dir.path().join(&f.path))).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(' ').collect();
        assert_eq!(header[..14].join(" "), trailsift_gen::vpc::V2_FIELDS);
        formats.insert(header.len());
        let mut n = 0;
        for l in lines {
            n += 1;
            let v: Vec<&str> = l.split(' ').collect();
            assert_eq!(v.len(), header.len(), "{l}");
            let get = |name: &str| v[header.iter().position(|h| *h == name).unwrap()];
            if get("log-status") != "OK" {
                nodata += 1;
                assert_eq!(get("srcaddr"), "-");
                continue;
            }
            for ip in [get("srcaddr"), get("dstaddr")] {
                if inc.attacker_ips.iter().any(|a| a == ip) {
                    let e = totals.entry(ip.to_string()).or_default();
                    e.0 += 1;
                    e.1 += get("bytes").parse::<u64>().unwrap();
                    e.2 += get("packets").parse::<u64>().unwrap();
                }
            }
        }
        assert_eq!(n, f.lines, "{}", f.path);
    }
    assert_eq!(formats.len(), 2, "default and custom layouts");
    assert!(nodata > 0);
    let want: BTreeMap<String, (u64, u64, u64)> =
        inc.vpc.iter().map(|(ip, t)| (ip.clone(), (t.flows, t.bytes, t.packets))).collect();
    assert_eq!(totals, want);
    assert!(want.values().all(|t| t.0 > 0), "every attacker address has flows: {want:?}");
}

#[test]
fn planted_incident_is_consistent_with_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let answers = generate(dir.path(), &small(true)).unwrap();
    let recs = records(dir.path(), &answers);
    let inc = &answers.incidents[0];
    let by_id: BTreeMap<&str, &Value> = recs.iter().map(|(_, _, r)| (r["eventID"].as_str().unwrap(), r)).collect();

    // Lineage recomputed from the records: follow successful mints from the leaked key.
    let mut lineage = BTreeSet::from([inc.key.clone()]);
    let mut queue = VecDeque::from([inc.key.clone()]);
    while let Some(k) = queue.pop_front() {
        for (_, _, r) in &recs {
            if key_of(r) == Some(k.as_str())
                && let Some(m) = minted(r)
                && lineage.insert(m.to_string())
            {
                queue.push_back(m.to_string());
            }
        }
    }
    let want: BTreeSet<String> = inc.lineage.iter().map(|l| l.access_key_id.clone()).collect();
    assert_eq!(lineage, want);
    assert_eq!(inc.lineage.len(), 7, "the leaked key and six derived keys");
    assert_eq!(inc.lineage[0].parent_access_key_id, None);
    for l in &inc.lineage[1..] {
        let r = by_id[l.event_id.as_deref().unwrap()];
        assert_eq!(minted(r), Some(l.access_key_id.as_str()), "{l:?}");
        assert_eq!(key_of(r), l.parent_access_key_id.as_deref());
        assert_eq!(r["eventName"], l.minted_by.as_deref().unwrap());
        assert_eq!(r["eventTime"], l.event_time.as_deref().unwrap());
        // A minted key is used only after its mint.
        let first_use = recs
            .iter()
            .filter(|(_, _, r)| key_of(r) == Some(l.access_key_id.as_str()))
            .map(|(_, _, r)| r["eventTime"].as_str().unwrap())
            .min();
        assert!(first_use.is_some_and(|t| t >= l.event_time.as_deref().unwrap()), "{l:?}");
    }
    let mints: BTreeSet<&str> = inc.lineage.iter().filter_map(|l| l.minted_by.as_deref()).collect();
    assert_eq!(mints, BTreeSet::from(["AssumeRole", "CreateAccessKey", "GetFederationToken", "GetSessionToken"]));
    // The denied mint minted nothing.
    for id in &inc.failed_mint_event_ids {
        let r = by_id[id.as_str()];
        assert!(r.get("errorCode").is_some() && r["responseElements"].is_null());
        assert_eq!(key_of(r), Some(inc.key.as_str()));
    }
    // The cross-account AssumeRole is logged in both accounts.
    let x = &inc.cross_account;
    let (c, t) = (by_id[x.caller_event_id.as_str()], by_id[x.target_event_id.as_str()]);
    assert_eq!(c["sharedEventID"], x.shared_event_id.as_str());
    assert_eq!(t["sharedEventID"], x.shared_event_id.as_str());
    assert_ne!(c["recipientAccountId"], t["recipientAccountId"]);
    assert_eq!(t["recipientAccountId"], x.target_account_id.as_str());
    assert_eq!(minted(c), minted(t));
    let k4 = minted(c).unwrap();
    let k4_accounts: BTreeSet<&str> = recs
        .iter()
        .filter(|(_, _, r)| key_of(r) == Some(k4))
        .map(|(_, _, r)| r["recipientAccountId"].as_str().unwrap())
        .collect();
    assert_eq!(k4_accounts, BTreeSet::from([x.target_account_id.as_str()]));

    // Counts over every record of the lineage (noise of the leaked key's owner included).
    let mine: Vec<&Value> =
        recs.iter().map(|(_, _, r)| r).filter(|r| key_of(r).is_some_and(|k| lineage.contains(k))).collect();
    assert_eq!(inc.total_events, mine.len() as u64);
    let mut per_key: BTreeMap<String, u64> = BTreeMap::new();
    let mut names: BTreeMap<String, u64> = BTreeMap::new();
    for r in &mine {
        *per_key.entry(key_of(r).unwrap().to_string()).or_default() += 1;
        *names.entry(r["eventName"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(per_key, inc.events);
    assert_eq!(names, inc.event_names);
    let ips: BTreeSet<String> = mine.iter().map(|r| r["sourceIPAddress"].as_str().unwrap().to_string()).collect();
    assert_eq!(ips.into_iter().collect::<Vec<_>>(), inc.source_ips);
    assert_eq!(mine.iter().map(|r| r["eventTime"].as_str().unwrap()).min().unwrap(), inc.first_seen);
    assert_eq!(mine.iter().map(|r| r["eventTime"].as_str().unwrap()).max().unwrap(), inc.last_seen);
    assert!(inc.total_events > inc.techniques.iter().map(|t| t.event_ids.len()).sum::<usize>() as u64 / 4);
    for ip in &inc.attacker_ips {
        assert!(mine.iter().any(|r| r["sourceIPAddress"] == ip.as_str()), "{ip} is used");
    }

    // Techniques name real events.
    let slugs: BTreeSet<&str> = inc.techniques.iter().map(|t| t.technique.as_str()).collect();
    for s in [
        "recon-get-caller-identity",
        "discovery-permission-probing",
        "persistence-create-user",
        "defense-evasion-stop-logging",
        "defense-evasion-guardduty-delete",
        "exfiltration-snapshot-share",
        "exfiltration-public-bucket-policy",
        "impact-gpu-run-instances",
        "impact-bedrock-abuse",
        "impact-ses-abuse",
        "tooling-offensive-user-agent",
        "discovery-new-region",
        "persistence-trust-policy-backdoor",
        "response-aws-quarantine-policy",
    ] {
        assert!(slugs.contains(s), "technique {s}");
    }
    for t in &inc.techniques {
        let names: BTreeSet<String> =
            t.event_ids.iter().map(|id| by_id[id.as_str()]["eventName"].as_str().unwrap().to_string()).collect();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), t.event_names, "{}", t.technique);
    }
    let region_files =
        answers.files.iter().filter(|f| f.path.contains(&format!("/CloudTrail/{}/", inc.new_region))).count();
    assert!(region_files > 0 && !answers.regions.contains(&inc.new_region));
}

/// Event names that only the planted incident makes.
const ALARMING: [&str; 12] = [
    "StopLogging",
    "DeleteTrail",
    "DeleteDetector",
    "ModifySnapshotAttribute",
    "PutBucketPolicy",
    "AttachUserPolicy",
    "GetFederationToken",
    "CreateLoginProfile",
    "UpdateAssumeRolePolicy",
    "PutUseCaseForModelAccess",
    "UpdateAccountSendingEnabled",
    "RequestServiceQuotaIncrease",
];

#[test]
fn noise_is_the_same_without_the_incident_and_benign() {
    let with = tempfile::tempdir().unwrap();
    let without = tempfile::tempdir().unwrap();
    let a = generate(with.path(), &small(true)).unwrap();
    let b = generate(without.path(), &small(false)).unwrap();
    assert!(b.incidents.is_empty());
    let planted: BTreeSet<String> = {
        let inc = &a.incidents[0];
        inc.techniques.iter().flat_map(|t| t.event_ids.iter().cloned()).collect()
    };
    // Every noise file is in the planted archive, with the same records once planted ones are removed.
    let with_recs = records(with.path(), &a);
    let mut removed = 0;
    let noise_files: BTreeSet<&str> = b.files.iter().map(|f| f.path.as_str()).collect();
    for f in &a.files {
        let mut kept = Vec::new();
        for (_, _, r) in with_recs.iter().filter(|(p, _, _)| *p == f.path) {
            let planted_rec =
                r["sourceIPAddress"].as_str().is_some_and(|ip| a.incidents[0].attacker_ips.iter().any(|x| x == ip))
                    || planted.contains(r["eventID"].as_str().unwrap());
            if planted_rec {
                removed += 1;
            } else {
                kept.push(r.clone());
            }
        }
        if noise_files.contains(f.path.as_str()) {
            let noise: Value = serde_json::from_slice(&gunzip(&without.path().join(&f.path))).unwrap();
            assert_eq!(&Value::Array(kept), &noise["Records"], "{}", f.path);
        } else {
            assert!(kept.is_empty(), "{} holds noise but is not in the noise-only archive", f.path);
        }
    }
    assert!(b.files.iter().all(|f| a.files.iter().any(|x| x.path == f.path)));
    assert_eq!(removed, a.incidents[0].planted_events);
    assert!(removed > 30);
    // Noise alone: no attacker addresses or ranges, no alarming calls, no offensive tools, no root API calls.
    for f in &b.files {
        let text = String::from_utf8(gunzip(&without.path().join(&f.path))).unwrap();
        for bad in
            ["203.0.113.", "198.51.100.", "2001:db8:", "Pacu", "kali", "AdministratorAccess", "\"Principal\":\"*\""]
        {
            assert!(!text.contains(bad), "{bad} in noise file {}", f.path);
        }
        let doc: Value = serde_json::from_str(&text).unwrap();
        for r in doc["Records"].as_array().unwrap() {
            let name = r["eventName"].as_str().unwrap();
            assert!(!ALARMING.contains(&name), "{name} in noise");
            if r["userIdentity"]["type"] == "Root" {
                assert_eq!(name, "ConsoleLogin");
            }
        }
    }
    for f in &b.vpc_files {
        let text = String::from_utf8(gunzip(&without.path().join(&f.path))).unwrap();
        for bad in ["203.0.113.", "198.51.100.", "2001:db8:"] {
            assert!(!text.contains(bad), "{bad} in noise flow file {}", f.path);
        }
    }
}
