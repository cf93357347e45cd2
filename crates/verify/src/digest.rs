//! A CloudTrail digest file, as CloudTrail writes it (gzip of one JSON object), read into
//! the fields validation needs. Field names are AWS's: `digestStartTime`, `digestEndTime`,
//! `digestS3Bucket`, `digestS3Object`, `digestPublicKeyFingerprint`,
//! `digestSignatureAlgorithm`, `previousDigestS3Bucket`, `previousDigestS3Object`,
//! `previousDigestHashValue`, `previousDigestHashAlgorithm`, `previousDigestSignature`, and
//! `logFiles[]` with `s3Bucket`, `s3Object`, `hashValue`, `hashAlgorithm`,
//! `newestEventTime`, `oldestEventTime`.

use serde_json::{Map, Value};
use trailsift_ingest::time::parse_timestamp_micros;

/// One log file listed in a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLog {
    /// `s3Bucket`.
    pub bucket: String,
    /// `s3Object`: the S3 key the log was delivered to.
    pub object: String,
    /// `hashValue`: hex SHA-256 of the log's uncompressed content (lowercased).
    pub hash: String,
    /// `hashAlgorithm` (`SHA-256`).
    pub algorithm: Option<String>,
    /// `oldestEventTime`.
    pub oldest_event: Option<String>,
    /// `newestEventTime`.
    pub newest_event: Option<String>,
}

/// The fields of a digest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// `awsAccountId`.
    pub account: Option<String>,
    /// `digestStartTime` as written.
    pub start_time: String,
    /// `digestEndTime` as written (part of the string to sign, byte for byte).
    pub end_time: String,
    /// `digestStartTime`, microseconds since the epoch.
    pub start_us: i64,
    /// `digestEndTime`, microseconds since the epoch.
    pub end_us: i64,
    /// `digestS3Bucket`.
    pub bucket: String,
    /// `digestS3Object`: where CloudTrail delivered this digest.
    pub object: String,
    /// `digestPublicKeyFingerprint`.
    pub fingerprint: String,
    /// `digestSignatureAlgorithm` (`SHA256withRSA`).
    pub signature_algorithm: Option<String>,
    /// `previousDigestS3Bucket` (`None` for the first digest of a chain).
    pub previous_bucket: Option<String>,
    /// `previousDigestS3Object`.
    pub previous_object: Option<String>,
    /// `previousDigestHashValue`: hex SHA-256 of the previous digest's uncompressed content.
    pub previous_hash: Option<String>,
    /// `previousDigestSignature`: the previous digest's signature (`None` when JSON null).
    pub previous_signature: Option<String>,
    /// `logFiles`.
    pub logs: Vec<ListedLog>,
}

impl Digest {
    /// Parses a digest's uncompressed content. The error says what is wrong with it.
    pub fn parse(content: &[u8]) -> Result<Self, String> {
        let v: Value = serde_json::from_slice(content).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(o) = v else { return Err("not a JSON object".into()) };
        let start_time = req_str(&o, "digestStartTime")?;
        let end_time = req_str(&o, "digestEndTime")?;
        let start_us = parse_timestamp_micros(&start_time)
            .ok_or_else(|| format!("digestStartTime {start_time:?} is not a time"))?;
        let end_us =
            parse_timestamp_micros(&end_time).ok_or_else(|| format!("digestEndTime {end_time:?} is not a time"))?;
        // AWS requires the key to be present; its value is null for the first of a chain.
        let previous_signature = match o.get("previousDigestSignature") {
            None => return Err("no \"previousDigestSignature\" field".into()),
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_ascii_lowercase()),
            Some(_) => return Err("\"previousDigestSignature\" is neither a string nor null".into()),
        };
        let logs = match o.get("logFiles") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let Value::Object(l) = l else { return Err(format!("logFiles[{i}] is not an object")) };
                    Ok(ListedLog {
                        bucket: opt_str(l, "s3Bucket").unwrap_or_default(),
                        object: req_str(l, "s3Object").map_err(|e| format!("logFiles[{i}]: {e}"))?,
                        hash: req_str(l, "hashValue").map_err(|e| format!("logFiles[{i}]: {e}"))?.to_ascii_lowercase(),
                        algorithm: opt_str(l, "hashAlgorithm"),
                        oldest_event: opt_str(l, "oldestEventTime"),
                        newest_event: opt_str(l, "newestEventTime"),
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("\"logFiles\" is not an array".into()),
        };
        Ok(Self {
            account: opt_str(&o, "awsAccountId"),
            start_time,
            end_time,
            start_us,
            end_us,
            bucket: req_str(&o, "digestS3Bucket")?,
            object: req_str(&o, "digestS3Object")?,
            fingerprint: req_str(&o, "digestPublicKeyFingerprint")?,
            signature_algorithm: opt_str(&o, "digestSignatureAlgorithm"),
            previous_bucket: opt_str(&o, "previousDigestS3Bucket"),
            previous_object: opt_str(&o, "previousDigestS3Object"),
            previous_hash: opt_str(&o, "previousDigestHashValue").map(|h| h.to_ascii_lowercase()),
            previous_signature,
            logs,
        })
    }

    /// AWS's string to sign: `digestEndTime` `\n` `digestS3Bucket/digestS3Object` `\n` hex
    /// SHA-256 of the uncompressed digest `\n` `previousDigestSignature` (`null` for the
    /// first digest of a chain).
    pub fn string_to_sign(&self, content_sha256: &str) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.end_time,
            self.bucket,
            self.object,
            content_sha256,
            self.previous_signature.as_deref().unwrap_or("null")
        )
    }
}

fn req_str(o: &Map<String, Value>, key: &str) -> Result<String, String> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("\"{key}\" is not a string")),
        None => Err(format!("no \"{key}\" field")),
    }
}

fn opt_str(o: &Map<String, Value>, key: &str) -> Option<String> {
    match o.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_of_chain_signs_null() {
        let d = Digest::parse(
            br#"{"digestStartTime":"2024-01-01T00:00:00Z","digestEndTime":"2024-01-01T01:00:00Z",
            "digestS3Bucket":"b","digestS3Object":"AWSLogs/1/CloudTrail-Digest/r/x.json.gz",
            "digestPublicKeyFingerprint":"ab","previousDigestSignature":null,"logFiles":[]}"#,
        )
        .unwrap();
        assert_eq!(
            d.string_to_sign("00ff"),
            "2024-01-01T01:00:00Z\nb/AWSLogs/1/CloudTrail-Digest/r/x.json.gz\n00ff\nnull"
        );
        assert!(d.previous_object.is_none());
    }

    #[test]
    fn missing_required_field_is_format_error() {
        let e = Digest::parse(br#"{"digestStartTime":"2024-01-01T00:00:00Z"}"#).unwrap_err();
        assert!(e.contains("digestEndTime"), "{e}");
        assert!(Digest::parse(b"not json").is_err());
    }
}
