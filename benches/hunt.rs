//! Criterion benches of detection: one detection over a scan of raw evidence, and the whole
//! pack (`hunt`) over the same archive, reported as MB/s of uncompressed JSON. The corpus is
//! generated from a fixed seed at start-up (`TRAILSIFT_BENCH_RECORDS`, default 20,000).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trailsift_detect::{Catalog, HuntOptions, hunt};
use trailsift_query::{Engine, EngineOptions};

fn benches(c: &mut Criterion) {
    let records = std::env::var("TRAILSIFT_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = trailsift_gen::GenOptions { records, ..Default::default() };
    let answers = trailsift_gen::generate(dir.path(), &opts).expect("generate corpus");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let catalog = Catalog::bundled();
    let paths = vec![dir.path().to_path_buf()];
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(answers.json_bytes));
    g.sample_size(10);
    g.bench_function("one_detection_over_a_scan", |b| {
        b.iter(|| {
            rt.block_on(async {
                let engine = Engine::open(&paths, EngineOptions::default()).await.expect("open");
                let o = HuntOptions { detections: vec!["ct-discovery-0002".into()], ..Default::default() };
                black_box(hunt(&engine, &catalog, &o).await.expect("hunt"))
            })
        })
    });
    g.bench_function("full_hunt", |b| {
        b.iter(|| {
            rt.block_on(async {
                let engine = Engine::open(&paths, EngineOptions::default()).await.expect("open");
                black_box(hunt(&engine, &catalog, &HuntOptions::default()).await.expect("hunt"))
            })
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
