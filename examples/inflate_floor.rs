//! The in-process floor a key lookup is measured against: inflate every CloudTrail file of an
//! archive (flate2, every gzip member) on N threads and count the occurrences of a literal
//! with memmem, without parsing anything. trailsift cannot be faster than this on the same
//! machine; `benches/compare.py` reports trailsift's times as a ratio to it.
//!
//! ```text
//! cargo run --example inflate_floor -- ARCHIVE [LITERAL] [THREADS] [flate2|best]
//! ```
//!
//! `flate2` (the default) inflates with flate2's streaming decoder (zlib-rs backend); `best`
//! with trailsift's own decoder, which takes libdeflate's whole-file path where it can.

#![allow(clippy::print_stdout)] // an example program: its output is the point

use std::io::Read;
use std::time::Instant;

use rayon::prelude::*;
use trailsift_ingest::discover::{DiscoverOptions, discover};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: inflate_floor ARCHIVE [LITERAL] [THREADS] [flate2|best]");
        std::process::exit(1);
    };
    let literal = args.next().unwrap_or_default();
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(2);
    let best = args.next().as_deref() == Some("best");
    let found = discover(&[&root], &DiscoverOptions::default());
    let files: Vec<_> = found.files.into_iter().filter(|f| f.kind.is_cloudtrail()).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let finder = memchr::memmem::Finder::new(literal.as_bytes());
    let started = Instant::now();
    let (bytes, hits) = pool.install(|| {
        files
            .par_iter()
            .map_init(Vec::new, |buf: &mut Vec<u8>, f| {
                buf.clear();
                let raw = std::fs::read(&f.path).unwrap_or_default();
                if raw.starts_with(&[0x1f, 0x8b]) && best {
                    let _ = trailsift_ingest::decode::inflate(&raw, u64::MAX / 4, buf);
                } else if raw.starts_with(&[0x1f, 0x8b]) {
                    let _ = flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(buf);
                } else {
                    buf.extend_from_slice(&raw);
                }
                let hits = if literal.is_empty() { 0 } else { finder.find_iter(buf).count() };
                (buf.len() as u64, hits as u64)
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"files\":{},\"json_bytes\":{bytes},\"hits\":{hits},\"seconds\":{secs:.4},\"mb_per_s\":{:.0}}}",
        files.len(),
        bytes as f64 / 1e6 / secs
    );
}
