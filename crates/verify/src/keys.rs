//! The two inputs that come from outside the evidence: CloudTrail's public keys (the JSON
//! `aws cloudtrail list-public-keys` prints) and the signatures of the newest digests (S3
//! object metadata, collected when the evidence was acquired).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use serde_json::Value;

use crate::VerifyError;

/// One CloudTrail public key and the time window in which it signed digests.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// `Fingerprint` as AWS lists it (lowercase hex).
    pub fingerprint: String,
    /// Start of the validity window, microseconds since the epoch (`None`: open).
    pub valid_from: Option<i64>,
    /// End of the validity window, microseconds since the epoch (`None`: open).
    pub valid_until: Option<i64>,
    /// The RSA key.
    pub key: RsaPublicKey,
}

impl PublicKey {
    /// Whether the key was valid at `t` (microseconds since the epoch; bounds inclusive).
    pub fn valid_at(&self, t: i64) -> bool {
        self.valid_from.is_none_or(|f| f <= t) && self.valid_until.is_none_or(|u| t <= u)
    }
}

/// The public keys given with `--public-keys`.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    /// Every key read, in file order.
    pub keys: Vec<PublicKey>,
}

/// How a fingerprint lookup at a given time ended.
#[derive(Debug)]
pub enum KeyLookup<'a> {
    /// A key with that fingerprint, valid at that time.
    Found(&'a PublicKey),
    /// Keys with that fingerprint exist, but none was valid at that time (expired or not yet
    /// valid).
    NotValidAt,
    /// No key has that fingerprint.
    Unknown,
}

impl PublicKeys {
    /// Reads the keys from a file (see [`PublicKeys::from_json`]).
    pub fn load(path: &Path) -> Result<Self, VerifyError> {
        let text = std::fs::read_to_string(path).map_err(|e| VerifyError::Io { path: path.into(), source: e })?;
        Self::from_json(&text).map_err(|reason| VerifyError::PublicKeys { path: path.into(), reason })
    }

    /// Parses the output of `aws cloudtrail list-public-keys`: `{"PublicKeyList": [{"Value",
    /// "ValidityStartTime", "ValidityEndTime", "Fingerprint"}]}` (a bare list of those objects
    /// is taken too). `Value` is the base64 DER of the key, as PKCS#1 `RSAPublicKey` (what
    /// AWS serves) or X.509 `SubjectPublicKeyInfo`. Validity times are ISO-8601 strings (AWS
    /// CLI v2) or seconds since the epoch (CLI v1 and the raw API).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let list = match &v {
            Value::Array(a) => a,
            Value::Object(o) => match o.get("PublicKeyList").or_else(|| o.get("publicKeyList")) {
                Some(Value::Array(a)) => a,
                _ => {
                    return Err(
                        "no \"PublicKeyList\" array (expected the output of `aws cloudtrail list-public-keys`)".into(),
                    );
                }
            },
            _ => return Err("expected a JSON object with \"PublicKeyList\"".into()),
        };
        let mut keys = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let field = |name: &str| item.get(name).or_else(|| item.get(lower_first(name).as_str()));
            let fingerprint = match field("Fingerprint") {
                Some(Value::String(s)) => s.trim().to_ascii_lowercase(),
                _ => return Err(format!("key {i}: no \"Fingerprint\" string")),
            };
            let value = match field("Value") {
                Some(Value::String(s)) => s,
                _ => return Err(format!("key {i} ({fingerprint}): no \"Value\" string")),
            };
            let key = parse_key(value).map_err(|e| format!("key {i} ({fingerprint}): {e}"))?;
            let valid_from =
                field("ValidityStartTime").map(parse_time).transpose().map_err(|e| format!("key {i}: {e}"))?.flatten();
            let valid_until =
                field("ValidityEndTime").map(parse_time).transpose().map_err(|e| format!("key {i}: {e}"))?.flatten();
            keys.push(PublicKey { fingerprint, valid_from, valid_until, key });
        }
        Ok(Self { keys })
    }

    /// The key with `fingerprint` valid at `t` (microseconds since the epoch).
    pub fn find(&self, fingerprint: &str, t: i64) -> KeyLookup<'_> {
        let fp = fingerprint.trim().to_ascii_lowercase();
        let mut known = false;
        for k in &self.keys {
            if k.fingerprint == fp {
                known = true;
                if k.valid_at(t) {
                    return KeyLookup::Found(k);
                }
            }
        }
        if known { KeyLookup::NotValidAt } else { KeyLookup::Unknown }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_ascii_lowercase().to_string() + c.as_str()).unwrap_or_default()
}

/// Decodes a base64 DER public key, PKCS#1 or SubjectPublicKeyInfo.
pub fn parse_key(b64: &str) -> Result<RsaPublicKey, String> {
    let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|e| format!("\"Value\" is not base64: {e}"))?;
    RsaPublicKey::from_pkcs1_der(&der)
        .or_else(|_| RsaPublicKey::from_public_key_der(&der))
        .map_err(|e| format!("\"Value\" is not a DER RSA public key (PKCS#1 or SubjectPublicKeyInfo): {e}"))
}

fn parse_time(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let secs = n.as_f64().ok_or("validity time is not a number")?;
            Ok(Some((secs * 1e6).round() as i64))
        }
        Value::String(s) => trailsift_ingest::time::parse_timestamp_micros(s.trim())
            .map(Some)
            .ok_or_else(|| format!("validity time {s:?} is not an ISO-8601 time")),
        _ => Err("validity time is neither a string nor a number".into()),
    }
}

/// Signatures of digest files (`--signatures`): `{"bucket/key": "hex signature"}`. A value may
/// also be an object with a `signature` field (the S3 metadata as `head-object` prints it).
#[derive(Debug, Clone, Default)]
pub struct Signatures {
    /// By `bucket/key` (a leading `s3://` is dropped).
    pub by_object: BTreeMap<String, String>,
}

impl Signatures {
    /// Reads a signatures file.
    pub fn load(path: &Path) -> Result<Self, VerifyError> {
        let text = std::fs::read_to_string(path).map_err(|e| VerifyError::Io { path: path.into(), source: e })?;
        Self::from_json(&text).map_err(|reason| VerifyError::Signatures { path: path.into(), reason })
    }

    /// Parses `{"bucket/key": "hexsig", …}`.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(map) = v else {
            return Err("expected a JSON object mapping \"bucket/key\" of a digest to its hex signature".into());
        };
        let mut by_object = BTreeMap::new();
        for (k, v) in map {
            let sig = match &v {
                Value::String(s) => s.clone(),
                Value::Object(o) => match o.get("signature").or_else(|| o.get("Signature")) {
                    Some(Value::String(s)) => s.clone(),
                    _ => return Err(format!("{k}: no \"signature\" string")),
                },
                _ => return Err(format!("{k}: the signature must be a hex string")),
            };
            by_object.insert(normalise_object(&k), sig.trim().to_ascii_lowercase());
        }
        Ok(Self { by_object })
    }

    /// The signature recorded for `bucket`/`key`.
    pub fn get(&self, bucket: &str, key: &str) -> Option<&str> {
        self.by_object.get(&format!("{bucket}/{key}")).map(String::as_str)
    }
}

fn normalise_object(k: &str) -> String {
    k.trim().strip_prefix("s3://").unwrap_or(k.trim()).to_string()
}
