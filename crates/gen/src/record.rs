//! One CloudTrail record, serialised with its fields in the order AWS writes them.

use serde::Serialize;
use serde_json::Value;

/// A CloudTrail record. Nested objects are `serde_json::Value`s; the top level is a struct so
/// that the fields come out in AWS's order (`eventVersion`, `userIdentity`, `eventTime`, …).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rec {
    pub event_version: &'static str,
    pub user_identity: Value,
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub request_parameters: Value,
    pub response_elements: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    pub event_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    pub management_event: bool,
    pub recipient_account_id: String,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_account_id: Option<String>,
    pub event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_credential_from_console: Option<&'static str>,
}

impl Rec {
    /// The access key of the caller, if any.
    pub fn access_key(&self) -> Option<&str> {
        self.user_identity.get("accessKeyId").and_then(Value::as_str)
    }
}

/// The TLS details AWS records for an API endpoint.
pub(crate) fn tls(source: &str, region: &str, modern: bool) -> Value {
    let host = match source.split_once('.') {
        Some(("s3", _)) => format!("s3.{region}.amazonaws.com"),
        Some(("iam", _)) => "iam.amazonaws.com".to_string(),
        Some((svc, _)) => format!("{svc}.{region}.amazonaws.com"),
        None => source.to_string(),
    };
    if modern {
        serde_json::json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host})
    } else {
        serde_json::json!({"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256", "clientProvidedHostHeader": host})
    }
}
