//! trailsift-verify: offline validation of CloudTrail log file integrity.
//!
//! CloudTrail writes an hourly digest per region listing the SHA-256 of every log file it
//! delivered in that hour, signs it (RSA PKCS#1 v1.5, SHA-256), and chains each digest to
//! the previous one by its signature. AWS's own validator (`aws cloudtrail validate-logs`)
//! only works online against S3; this crate does the same checks on a local copy of the
//! evidence, with the public keys (`aws cloudtrail list-public-keys`) and the newest
//! digests' signatures (S3 object metadata) supplied as files. See [`validate`] for the
//! algorithm and the meaning of every status.
//!
//! It only verifies with public keys; it never decrypts or signs (so the timing attack on
//! RSA decryption, RUSTSEC-2023-0071, does not apply).
//!
//! ```no_run
//! use trailsift_ingest::discover::{DiscoverOptions, discover};
//! use trailsift_verify::{PublicKeys, VerifyOptions, verify};
//!
//! let found = discover(&["evidence/"], &DiscoverOptions::default());
//! let keys = PublicKeys::load("keys.json".as_ref()).unwrap();
//! let report = verify(&found.files, &VerifyOptions { keys, ..Default::default() });
//! println!("all valid: {}", report.all_valid());
//! ```

pub mod digest;
pub mod keys;
pub mod validate;

use std::path::PathBuf;

pub use keys::{PublicKey, PublicKeys, Signatures};
pub use validate::{
    ChainSummary, DigestResult, DigestStatus, Gap, LogResult, LogStatus, Summary, VerifyOptions, VerifyReport, verify,
};

/// Errors reading the inputs of a verification (the evidence itself never causes one: its
/// problems are statuses in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The public keys file is not what `aws cloudtrail list-public-keys` prints.
    #[error(
        "{path} is not a public keys file ({reason}); give the JSON that `aws cloudtrail list-public-keys --start-time … --end-time …` prints"
    )]
    PublicKeys {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The signatures file is not a JSON object of `bucket/key` to hex signature.
    #[error("{path} is not a signatures file ({reason}); expected {{\"bucket/key-of-digest\": \"hex signature\", …}}")]
    Signatures {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
