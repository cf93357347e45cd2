//! The store's merged files: a partition written in many chunks holds the same rows as one
//! written in a single chunk, in one file whose row groups keep their statistics, page
//! indexes and bloom filters.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
use trailsift_ingest::discover::{DiscoverOptions, discover};
use trailsift_ingest::manifest::Manifest;
use trailsift_ingest::scan::ScanOptions;
use trailsift_ingest::store::{StoreOptions, write_store};

fn ingest(evidence: &Path, out: &Path, chunk_bytes: u64) -> Manifest {
    let found = discover(&[evidence], &DiscoverOptions::default());
    let opts = StoreOptions {
        out: out.to_path_buf(),
        clobber: false,
        strict: false,
        scan: ScanOptions::default(),
        chunk_bytes,
    };
    write_store(&found, vec![evidence.display().to_string()], &opts, &mut |_| {}).unwrap()
}

/// Every Parquet file under `dir`, by path relative to it.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The record batches of a Parquet file, in order.
fn batches(path: &Path) -> Vec<arrow::array::RecordBatch> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap().build().unwrap();
    reader.map(Result::unwrap).collect()
}

/// The rows of a file as JSON lines, sorted.
fn rows(path: &Path) -> Vec<String> {
    let mut w = arrow::json::LineDelimitedWriter::new(Vec::new());
    for b in batches(path) {
        w.write(&b).unwrap();
    }
    w.finish().unwrap();
    let mut lines: Vec<String> = String::from_utf8(w.into_inner()).unwrap().lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn partitions_written_in_many_chunks_merge_into_one_file() {
    let ev = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 3_000, files_per_region: 6, accounts: 1, ..Default::default() };
    trailsift_gen::generate(ev.path(), &opts).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (whole, split) = (out.path().join("whole"), out.path().join("split"));
    let one = ingest(ev.path(), &whole, u64::MAX);
    // One chunk per evidence file: every busy partition is written in several parts.
    let many = ingest(ev.path(), &split, 1);

    let (a, b) = (&one.tables["cloudtrail"], &many.tables["cloudtrail"]);
    assert_eq!((a.rows, &a.files), (b.rows, &b.files), "same files and rows in the manifest");
    let files = parquet_files(&split.join("cloudtrail"));
    assert_eq!(files, parquet_files(&whole.join("cloudtrail")), "one file per partition, nothing left over");
    let mut merged = 0;
    let mut groups_by_file = BTreeMap::new();
    for f in &files {
        let (a, b) = (whole.join("cloudtrail").join(f), split.join("cloudtrail").join(f));
        assert_eq!(rows(&a), rows(&b), "{}", f.display());
        let file = fs::File::open(&b).unwrap();
        let meta = ParquetMetaDataReader::new()
            .with_page_index_policy(PageIndexPolicy::Required)
            .parse_and_finish(&file)
            .unwrap();
        let kv = meta.file_metadata().key_value_metadata().expect("the Arrow schema is kept");
        assert!(kv.iter().any(|k| k.key == "ARROW:schema"));
        let groups = meta.row_groups();
        groups_by_file.insert(f.clone(), groups.len());
        if groups.len() > 1 {
            merged += 1;
        }
        let offsets = meta.offset_index().expect("page indexes are kept");
        let at = |name: &str| groups[0].columns().iter().position(|c| c.column_path().string() == name).unwrap();
        let (ip, time) = (at("sourceipaddress"), at("eventtime"));
        let index = meta.column_index().expect("column indexes are kept");
        for (g, group) in groups.iter().enumerate() {
            assert!(!offsets[g][ip].page_locations().is_empty());
            let stats = group.columns()[time].statistics().expect("statistics are kept");
            assert!(stats.min_bytes_opt().is_some() && stats.max_bytes_opt().is_some(), "eventtime has a range");
            assert!(!matches!(index[g][time], parquet::file::page_index::column_index::ColumnIndexMetaData::NONE));
            let column = &group.columns()[ip];
            // Unordered columns prune with their bloom filter, not a min/max that spans all.
            assert!(column.statistics().is_none_or(|s| s.min_bytes_opt().is_none()), "no range for addresses");
            let bloom = Sbbf::read_from_column_chunk(column, &file).unwrap().expect("bloom filters are kept");
            let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&b).unwrap())
                .unwrap()
                .with_row_groups(vec![g])
                .build()
                .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let ips = batch.column_by_name("sourceipaddress").unwrap();
                let ips = arrow::array::AsArray::as_string::<i32>(ips);
                for v in ips.iter().flatten() {
                    assert!(bloom.check(&v), "{v} is in the bloom filter of row group {g} of {}", f.display());
                }
            }
        }
    }
    assert!(merged > 0, "some partition had several parts: {groups_by_file:?}");
}

/// `(evidence_path, evidence_index)` of every row of a file, in the file's order.
fn provenance(path: &Path) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for b in batches(path) {
        let paths = arrow::array::AsArray::as_string::<i32>(b.column_by_name("evidence_path").unwrap()).clone();
        let index = b.column_by_name("evidence_index").unwrap();
        let index = arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(index);
        out.extend(paths.iter().zip(index.iter()).map(|(p, i)| (p.unwrap().to_string(), i.unwrap())));
    }
    out
}

#[test]
fn rows_are_in_evidence_order() {
    let ev = tempfile::tempdir().unwrap();
    let opts = trailsift_gen::GenOptions { records: 2_000, files_per_region: 5, accounts: 2, ..Default::default() };
    trailsift_gen::generate(ev.path(), &opts).unwrap();
    let out = tempfile::tempdir().unwrap();
    for (name, chunk_bytes) in [("one", u64::MAX), ("per_file", 1), ("small", 20_000)] {
        let store = out.path().join(name);
        let manifest = ingest(ev.path(), &store, chunk_bytes);
        let mut total = 0;
        for f in parquet_files(&store.join("cloudtrail")) {
            let rows = provenance(&store.join("cloudtrail").join(&f));
            // Files in path order, each file's records in their order, every record once.
            for pair in rows.windows(2) {
                assert!(pair[0] < pair[1], "{name}: {:?} before {:?} in {}", pair[0], pair[1], f.display());
            }
            let mut per_file: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for (p, i) in &rows {
                per_file.entry(p).or_default().push(*i);
            }
            for (p, idx) in per_file {
                let loaded = manifest.files.iter().find(|r| r.path == p).unwrap().records_loaded as i64;
                assert_eq!(idx, (0..loaded).collect::<Vec<_>>(), "{name}: every record of {p}, in order");
            }
            total += rows.len() as u64;
        }
        assert_eq!(total, manifest.totals.records_loaded, "{name}");
        assert_eq!(total, 2_000, "{name}");
    }
}
