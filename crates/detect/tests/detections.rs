//! The bundled pack against its fixtures: every detection ships `fire` and `quiet` events
//! (`fixtures/detections/<id>/`); the fire file must give exactly the expected findings (and
//! each finding must point at a record of the file whose eventID it reports, read
//! independently with serde_json), the quiet file none. A meta-test fails when a detection
//! lacks a fixture, and the lint must pass on every header and plan.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trailsift_detect::{Catalog, HuntOptions, hunt};
use trailsift_query::{Engine, EngineOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/detections")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn every_detection_has_fire_and_quiet_fixtures() {
    let c = Catalog::bundled();
    let mut missing = Vec::new();
    for d in c.detections() {
        let dir = fixtures().join(&d.id);
        let ext = if d.source == "vpcflow" { "log" } else { "json" };
        for name in ["fire", "quiet"] {
            let f = dir.join(format!("{name}.{ext}"));
            if !f.is_file() {
                missing.push(f.display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "detections without fixtures:\n{}", missing.join("\n"));
}

#[test]
fn bundled_headers_lint_clean_and_plan() {
    let c = Catalog::bundled();
    assert!(c.lint().is_empty(), "{:#?}", c.lint());
    assert!(c.rejected().is_empty());
    assert!(c.detections().len() >= 45, "only {} detections", c.detections().len());
    let plans = runtime().block_on(c.check_plans());
    assert!(plans.is_empty(), "{}", plans.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"));
}

fn records(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["Records"].as_array().unwrap().clone()
}

#[test]
fn every_detection_fires_on_fire_and_not_on_quiet() {
    let c = Catalog::bundled();
    let rt = runtime();
    let mut errors = Vec::new();
    for d in c.detections() {
        if d.source != "cloudtrail" {
            continue;
        }
        let dir = fixtures().join(&d.id);
        let expect: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expect.json")).unwrap_or_else(|_| b"{}".to_vec()))
                .expect("expect.json is JSON");
        let want = expect["findings"].as_u64().unwrap_or(1) as usize;
        let want_count = expect["count"].as_u64().unwrap_or(1);
        for (name, n) in [("fire", want), ("quiet", 0)] {
            let file = dir.join(format!("{name}.json"));
            let opts = HuntOptions { detections: vec![d.id.clone()], ..Default::default() };
            let result = rt.block_on(async {
                let engine = Engine::open(std::slice::from_ref(&file), EngineOptions::default()).await.unwrap();
                hunt(&engine, &c, &opts).await.unwrap()
            });
            if !result.failed.is_empty() {
                errors.push(format!("{} on {name}: failed: {:?}", d.id, result.failed));
                continue;
            }
            assert_eq!(result.detections_run, 1);
            assert_eq!(result.events_in_scope, records(&file).len() as u64, "{} {name}", d.id);
            if result.findings.len() != n {
                errors.push(format!(
                    "{} on {name}: {} finding(s), expected {n}: {:#?}",
                    d.id,
                    result.findings.len(),
                    result.findings
                ));
                continue;
            }
            let recs = records(&file);
            for f in &result.findings {
                let rec = &recs[f.evidence_index as usize];
                if f.eventid.as_deref() != rec["eventID"].as_str()
                    || f.event_time != rec["eventTime"].as_str().unwrap()
                    || !f.evidence_path.ends_with(&format!("{name}.json"))
                {
                    errors.push(format!("{}: finding does not point at its record: {f:?}", d.id));
                }
                if f.count != want_count {
                    errors.push(format!("{}: count {} expected {want_count}", d.id, f.count));
                }
                if f.summary.is_empty() || f.level != d.level || *f.title != *d.title {
                    errors.push(format!("{}: metadata not attached: {f:?}", d.id));
                }
                assert!(f.last_seen >= f.first_seen);
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
