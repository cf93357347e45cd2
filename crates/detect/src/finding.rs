//! Levels, statuses and findings: the vocabulary of chainsaw and hayabusa/Sigma.

use std::sync::Arc;

use std::fmt;
use std::str::FromStr;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Context, not suspicious by itself.
    Informational,
    /// Worth a look in an investigation.
    Low,
    /// Suspicious; ordinary administration can do it too.
    Medium,
    /// Likely malicious or a serious change of security posture.
    High,
    /// Almost certainly an attack or a severe exposure.
    Critical,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];

    /// The lowercase name (`informational`, `low`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Level::Informational),
            "low" => Ok(Level::Low),
            "medium" | "med" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" | "crit" => Ok(Level::Critical),
            other => Err(format!("unknown level '{other}' (use informational, low, medium, high or critical)")),
        }
    }
}

/// Maturity of a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Tested, low noise.
    Stable,
    /// New or noisier; runs by default.
    Experimental,
    /// Kept for reference; runs only when asked.
    Deprecated,
}

impl Status {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stable" => Ok(Status::Stable),
            "experimental" | "test" => Ok(Status::Experimental),
            "deprecated" => Ok(Status::Deprecated),
            other => Err(format!("unknown status '{other}' (use stable, experimental or deprecated)")),
        }
    }
}

/// One hit of one detection: a single event, or the first event of an aggregate (a burst).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Detection id (shared by the detection's findings: a hunt can hold hundreds of
    /// thousands).
    #[serde(with = "shared_str")]
    pub id: Arc<str>,
    /// Detection title (shared).
    #[serde(with = "shared_str")]
    pub title: Arc<str>,
    /// Detection level.
    pub level: Level,
    /// Detection tags (`attack.…`; shared).
    #[serde(with = "shared_list")]
    pub tags: Arc<[String]>,
    /// `eventid` of the (first) event.
    pub eventid: Option<String>,
    /// Time of the (first) event, RFC 3339 UTC (`2024-07-31T00:10:00Z`).
    pub event_time: String,
    /// Principal ARN (or name) that made the call.
    pub principal: Option<String>,
    /// Access key ID used.
    pub access_key_id: Option<String>,
    /// Source IP address (or AWS service name).
    pub source_ip: Option<String>,
    /// Region of the call.
    pub region: Option<String>,
    /// Account that received the event.
    pub account_id: Option<String>,
    /// One line saying what happened.
    pub summary: String,
    /// Evidence file of the (first) event.
    pub evidence_path: String,
    /// 0-based record index of the (first) event in its file.
    pub evidence_index: i64,
    /// Number of events this finding stands for (1 for a single event).
    pub count: u64,
    /// Time of the first event (RFC 3339 UTC).
    pub first_seen: String,
    /// Time of the last event (RFC 3339 UTC); equals `first_seen` for a single event.
    pub last_seen: String,
}

/// (De)serialises an `Arc<str>` as a string (serde's own impl needs its `rc` feature, which
/// would rebuild every crate that uses serde).
mod shared_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(d).map(Into::into)
    }
}

/// (De)serialises an `Arc<[String]>` as a list of strings.
mod shared_list {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Arc<[String]>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[String]>, D::Error> {
        Vec::<String>::deserialize(d).map(Into::into)
    }
}
