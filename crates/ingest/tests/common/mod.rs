//! What the parser's tests share: parsing bytes held in memory as one evidence file.

use arrow::array::RecordBatch;
use trailsift_ingest::builder::BatchBuilder;
use trailsift_ingest::discover::PathInfo;
use trailsift_ingest::parse::{FileSource, ParseOutcome, Sink, parse_file};
use trailsift_ingest::prefilter::Prefilter;

/// Parses `bytes` as the file `mem.json` (account 123456789012, us-east-1) into `builder`,
/// `batch_rows` rows per batch; returns every batch, the last one included.
pub fn parse_with(
    bytes: &[u8],
    mut builder: BatchBuilder,
    batch_rows: usize,
    prefilter: Option<&Prefilter>,
) -> (Vec<RecordBatch>, ParseOutcome) {
    let mut batches = Vec::new();
    let info = PathInfo {
        account: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        date: Some(19_935),
        ..Default::default()
    };
    let original = bytes.to_vec();
    let mut data = bytes.to_vec();
    let outcome = {
        let mut on_batch = |b| {
            batches.push(b);
            None
        };
        let mut sink = Sink { builder: &mut builder, batch_rows, on_batch: &mut on_batch, prefilter };
        let src = FileSource { path: "mem.json", info: &info, candidate: false };
        let mut reread = |out: &mut Vec<u8>| {
            out.clear();
            out.extend_from_slice(&original);
            Some(())
        };
        parse_file(&mut data, None, src, &mut sink, &mut reread)
    };
    batches.extend(builder.finish());
    (batches, outcome)
}
