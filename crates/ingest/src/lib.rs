//! trailsift-ingest: finds evidence files, reads them (memory-mapped, gzip with every member,
//! size-capped), and parses CloudTrail records straight into Arrow record batches in the
//! `cloudtrail` schema (Athena column names, plus provenance columns): delivery envelopes with
//! a direct reader ([`direct`]), anything else or anything unsure with simd-json.
//!
//! Problems with evidence are data, not errors: every file gets a [`scan::FileReport`] with
//! its record counts (seen = loaded + rejected) and reasons. This crate knows nothing of SQL,
//! terminals or command lines; it reports progress through callbacks. VPC Flow Logs are read
//! into the `vpc_flow` table by the same scan (see [`vpc`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use trailsift_ingest::{discover, scan};
//!
//! let found = discover::discover(&["evidence/"], &discover::DiscoverOptions::default());
//! let rx = scan::spawn_scan(Arc::new(found.files), scan::ScanOptions::default());
//! for event in rx {
//!     if let scan::ScanEvent::Batch { batch, .. } = event {
//!         println!("{} rows", batch.num_rows());
//!     }
//! }
//! ```

pub mod builder;
pub mod columns;
pub mod decode;
pub mod direct;
pub mod discover;
pub mod error;
pub mod json;
pub mod manifest;
pub mod parse;
pub mod prefilter;
pub mod scan;
pub mod schema;
pub mod split;
pub mod store;
pub mod time;
pub mod vpc;

pub use error::IngestError;
