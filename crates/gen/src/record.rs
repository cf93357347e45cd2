//! One CloudTrail record, serialised with its fields in the order AWS writes them.

use serde::Serialize;
use serde_json::Value;

use crate::jw::{Emit, With, jw};

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
    /// A successful management `AwsApiCall` with no optional field set; callers set the rest
    /// with struct update syntax (`Rec { user_agent, ..Rec::management(…) }`).
    pub fn management(
        user_identity: Value,
        event_time: String,
        source: &str,
        name: &str,
        region: &str,
        account: &str,
    ) -> Rec {
        Rec {
            event_version: "1.09",
            user_identity,
            event_time,
            event_source: source.to_string(),
            event_name: name.to_string(),
            aws_region: region.to_string(),
            source_ip_address: String::new(),
            user_agent: String::new(),
            error_code: None,
            error_message: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            request_id: None,
            event_id: String::new(),
            read_only: false,
            resources: None,
            event_type: "AwsApiCall",
            api_version: None,
            management_event: true,
            recipient_account_id: account.to_string(),
            shared_event_id: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            event_category: "Management",
            tls_details: None,
            session_credential_from_console: None,
        }
    }

    /// The access key of the caller, if any.
    pub fn access_key(&self) -> Option<&str> {
        self.user_identity.get("accessKeyId").and_then(Value::as_str)
    }
}

/// The TLS details AWS records for an API endpoint.
pub(crate) struct Tls<'a> {
    /// The event source (`sts.amazonaws.com`).
    pub source: &'a str,
    /// The region of the call.
    pub region: &'a str,
    /// TLS 1.3 rather than 1.2.
    pub modern: bool,
}

impl Emit for Tls<'_> {
    fn emit(&self, w: &mut Vec<u8>) {
        let (version, suite) = if self.modern {
            ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
        } else {
            ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
        };
        let region = self.region;
        let host = With::new(|w: &mut Vec<u8>| match self.source.split_once('.') {
            Some(("s3", _)) => jw!(w, format_args!("s3.{region}.amazonaws.com")),
            Some(("iam", _)) => jw!(w, "iam.amazonaws.com"),
            Some((svc, _)) => jw!(w, format_args!("{svc}.{region}.amazonaws.com")),
            None => jw!(w, self.source),
        });
        jw!(w, {"tlsVersion": version, "cipherSuite": suite, "clientProvidedHostHeader": host});
    }
}

/// [`Tls`] as a value, for records built as values.
pub(crate) fn tls(source: &str, region: &str, modern: bool) -> Value {
    let mut w = Vec::new();
    Tls { source, region, modern }.emit(&mut w);
    serde_json::from_slice(&w).expect("the writer writes valid JSON")
}
