//! The `cloudtrail` table: its columns, their CloudTrail JSON keys and their Arrow types.
//!
//! Column names and nesting follow AWS's Athena DDL for CloudTrail (all lowercase, so
//! `useridentity.sessioncontext.sessionissuer.arn` needs no quoting in SQL). Free-form
//! objects (`requestparameters`, `responseelements`, …) are kept as JSON text, as Athena
//! keeps them. trailsift adds its own columns in snake_case: `event_ts`, the provenance
//! columns `evidence_path`/`evidence_index`, the partition values read from the S3 key
//! (`path_account`, `path_region`, `path_date`), and `extra`, which holds whatever part of a
//! record the typed columns could not represent, so that nothing in the evidence is lost.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// How a field of the CloudTrail JSON is stored.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string; other scalars are stored as their JSON text, objects and arrays as JSON.
    Str,
    /// Any JSON value, stored as JSON text (`null` becomes SQL NULL).
    Json,
    /// An object with known fields.
    Struct(&'static [Spec]),
    /// An array of objects with known fields.
    ListOfStruct(&'static [Spec]),
}

/// One field of the CloudTrail JSON and the column it lands in.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Column name (Athena spelling, lowercase).
    pub name: &'static str,
    /// The key CloudTrail writes (matched exactly first, then ignoring ASCII case).
    pub key: &'static str,
    /// Storage kind.
    pub kind: Kind,
    /// One-line description for `trailsift schema`.
    pub doc: &'static str,
}

const fn s(name: &'static str, key: &'static str, doc: &'static str) -> Spec {
    Spec { name, key, kind: Kind::Str, doc }
}
const fn j(name: &'static str, key: &'static str, doc: &'static str) -> Spec {
    Spec { name, key, kind: Kind::Json, doc }
}

const ATTRIBUTES: &[Spec] = &[
    s("mfaauthenticated", "mfaAuthenticated", "whether the session was MFA-authenticated ('true'/'false')"),
    s("creationdate", "creationDate", "when the temporary credentials were issued"),
];

const SESSION_ISSUER: &[Spec] = &[
    s("type", "type", "issuer type: Role, IAMUser, Root, …"),
    s("principalid", "principalId", "issuer principal ID"),
    s("arn", "arn", "issuer ARN (the role behind an ASIA key)"),
    s("accountid", "accountId", "issuer account"),
    s("username", "userName", "issuer name"),
];

const WEB_ID: &[Spec] = &[
    s("federatedprovider", "federatedProvider", "web identity provider"),
    j("attributes", "attributes", "provider attributes (JSON text)"),
];

const SESSION_CONTEXT: &[Spec] = &[
    Spec { name: "attributes", key: "attributes", kind: Kind::Struct(ATTRIBUTES), doc: "session attributes" },
    Spec {
        name: "sessionissuer",
        key: "sessionIssuer",
        kind: Kind::Struct(SESSION_ISSUER),
        doc: "who issued the temporary credentials",
    },
    s("ec2roledelivery", "ec2RoleDelivery", "IMDS version that delivered EC2 role credentials"),
    Spec {
        name: "webidfederationdata",
        key: "webIdFederationData",
        kind: Kind::Struct(WEB_ID),
        doc: "web identity federation data",
    },
    s("sourceidentity", "sourceIdentity", "source identity set on the session"),
];

const ON_BEHALF_OF: &[Spec] = &[
    s("userid", "userId", "Identity Center user ID"),
    s("identitystorearn", "identityStoreArn", "Identity Center identity store ARN"),
];

const USER_IDENTITY: &[Spec] = &[
    s("type", "type", "IAMUser, AssumedRole, Root, FederatedUser, AWSService, …"),
    s("principalid", "principalId", "principal ID"),
    s("arn", "arn", "principal ARN"),
    s("accountid", "accountId", "account that owns the principal"),
    s("invokedby", "invokedBy", "AWS service that made the call on the principal's behalf"),
    s("accesskeyid", "accessKeyId", "access key ID used (AKIA… long-term, ASIA… temporary)"),
    s("username", "userName", "user name"),
    Spec {
        name: "onbehalfof",
        key: "onBehalfOf",
        kind: Kind::Struct(ON_BEHALF_OF),
        doc: "Identity Center user the call was made for",
    },
    Spec {
        name: "sessioncontext",
        key: "sessionContext",
        kind: Kind::Struct(SESSION_CONTEXT),
        doc: "temporary-credential session context",
    },
    s("identityprovider", "identityProvider", "identity provider of a federated/SAML user"),
    s("credentialid", "credentialId", "credential ID (service credentials)"),
];

const RESOURCE: &[Spec] = &[
    s("arn", "ARN", "resource ARN"),
    s("accountid", "accountId", "account that owns the resource"),
    s("type", "type", "resource type"),
];

const ADDENDUM: &[Spec] = &[
    s("reason", "reason", "why the event was delivered late or changed"),
    s("updatedfields", "updatedFields", "fields that changed"),
    s("originalrequestid", "originalRequestID", "request ID of the original event"),
    s("originaleventid", "originalEventID", "event ID of the original event"),
];

const TLS_DETAILS: &[Spec] = &[
    s("tlsversion", "tlsVersion", "TLS version"),
    s("ciphersuite", "cipherSuite", "TLS cipher suite"),
    s("clientprovidedhostheader", "clientProvidedHostHeader", "host header the client sent"),
];

/// The CloudTrail record fields, in column order.
pub const RECORD_FIELDS: &[Spec] = &[
    s("eventversion", "eventVersion", "record format version"),
    Spec { name: "useridentity", key: "userIdentity", kind: Kind::Struct(USER_IDENTITY), doc: "who made the call" },
    s("eventtime", "eventTime", "event time as written by CloudTrail (ISO-8601 text)"),
    s("eventsource", "eventSource", "service endpoint, e.g. iam.amazonaws.com"),
    s("eventname", "eventName", "API action, e.g. CreateAccessKey"),
    s("awsregion", "awsRegion", "region the call was made to"),
    s("sourceipaddress", "sourceIPAddress", "caller's IP address or AWS service name"),
    s("useragent", "userAgent", "caller's user agent"),
    s("errorcode", "errorCode", "error code, NULL when the call succeeded"),
    s("errormessage", "errorMessage", "error message"),
    j("requestparameters", "requestParameters", "request parameters (JSON text)"),
    j("responseelements", "responseElements", "response elements (JSON text)"),
    j("additionaleventdata", "additionalEventData", "additional event data (JSON text)"),
    s("requestid", "requestID", "request ID"),
    s("eventid", "eventID", "event ID (unique per account)"),
    s("readonly", "readOnly", "'true' for read-only calls"),
    Spec { name: "resources", key: "resources", kind: Kind::ListOfStruct(RESOURCE), doc: "resources the call touched" },
    s("eventtype", "eventType", "AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, AwsCloudTrailInsight, …"),
    s("apiversion", "apiVersion", "API version"),
    s("managementevent", "managementEvent", "'true' for management events"),
    s("recipientaccountid", "recipientAccountId", "account that received the event"),
    j("serviceeventdetails", "serviceEventDetails", "service event details (JSON text)"),
    s("sharedeventid", "sharedEventID", "links copies of one cross-account event"),
    s("vpcendpointid", "vpcEndpointId", "VPC endpoint the call came through"),
    s("vpcendpointaccountid", "vpcEndpointAccountId", "account that owns the VPC endpoint"),
    s("eventcategory", "eventCategory", "Management, Data, NetworkActivity or Insight"),
    Spec { name: "addendum", key: "addendum", kind: Kind::Struct(ADDENDUM), doc: "late-delivery addendum" },
    s(
        "sessioncredentialfromconsole",
        "sessionCredentialFromConsole",
        "'true' when the credentials came from the console",
    ),
    j("edgedevicedetails", "edgeDeviceDetails", "edge device details (JSON text)"),
    Spec { name: "tlsdetails", key: "tlsDetails", kind: Kind::Struct(TLS_DETAILS), doc: "TLS details of the call" },
    j("insightdetails", "insightDetails", "CloudTrail Insights details (JSON text)"),
];

/// trailsift's own columns, appended after [`RECORD_FIELDS`].
pub const DERIVED_COLUMNS: &[(&str, &str)] = &[
    ("event_ts", "eventtime as a UTC timestamp (NULL when eventtime is missing or unreadable)"),
    ("evidence_path", "evidence file the record was read from"),
    ("evidence_index", "0-based position of the record in its file (Records element, or line for JSON lines)"),
    ("path_account", "account ID from the file's S3 key (AWSLogs/<account>/…)"),
    ("path_region", "region from the file's S3 key"),
    ("path_date", "delivery date from the file's S3 key (YYYY/MM/DD)"),
    ("extra", "JSON object with the record's fields the typed columns could not hold (NULL when none)"),
    (
        "evidence_verification",
        "digest verification status of the record's file (valid, modified, unverifiable, not_covered; NULL when not verified)",
    ),
];

/// Index of the first derived column in the full schema.
pub const FIRST_DERIVED: usize = RECORD_FIELDS.len();
/// Column index of `event_ts`.
pub const COL_EVENT_TS: usize = FIRST_DERIVED;
/// Column index of `evidence_path`.
pub const COL_EVIDENCE_PATH: usize = FIRST_DERIVED + 1;
/// Column index of `evidence_index`.
pub const COL_EVIDENCE_INDEX: usize = FIRST_DERIVED + 2;
/// Column index of `path_account`.
pub const COL_PATH_ACCOUNT: usize = FIRST_DERIVED + 3;
/// Column index of `path_region`.
pub const COL_PATH_REGION: usize = FIRST_DERIVED + 4;
/// Column index of `path_date`.
pub const COL_PATH_DATE: usize = FIRST_DERIVED + 5;
/// Column index of `extra`.
pub const COL_EXTRA: usize = FIRST_DERIVED + 6;
/// Column index of `evidence_verification`.
pub const COL_EVIDENCE_VERIFICATION: usize = FIRST_DERIVED + 7;
/// Number of columns in the full schema.
pub const NUM_COLUMNS: usize = FIRST_DERIVED + DERIVED_COLUMNS.len();

/// The Arrow data type of a record field.
pub fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str | Kind::Json => DataType::Utf8,
        Kind::Struct(fields) => DataType::Struct(struct_fields(fields)),
        Kind::ListOfStruct(fields) => {
            DataType::List(Arc::new(Field::new("item", DataType::Struct(struct_fields(fields)), true)))
        }
    }
}

/// The Arrow fields of a struct made of `specs`.
pub fn struct_fields(specs: &[Spec]) -> Fields {
    specs.iter().map(|f| Field::new(f.name, data_type(f.kind), true)).collect()
}

/// The Arrow type of `event_ts`.
pub fn event_ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The full `cloudtrail` schema.
pub fn cloudtrail_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> =
                RECORD_FIELDS.iter().map(|f| Field::new(f.name, data_type(f.kind), true)).collect();
            fields.push(Field::new("event_ts", event_ts_type(), true));
            fields.push(Field::new("evidence_path", DataType::Utf8, false));
            fields.push(Field::new("evidence_index", DataType::Int64, false));
            fields.push(Field::new("path_account", DataType::Utf8, true));
            fields.push(Field::new("path_region", DataType::Utf8, true));
            fields.push(Field::new("path_date", DataType::Date32, true));
            fields.push(Field::new("extra", DataType::Utf8, true));
            fields.push(Field::new("evidence_verification", DataType::Utf8, true));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// A one-line description of every column (nested ones with dotted names), for `trailsift schema`.
pub fn column_docs() -> Vec<(String, String, String)> {
    fn walk(prefix: &str, specs: &[Spec], out: &mut Vec<(String, String, String)>) {
        for f in specs {
            let name = if prefix.is_empty() { f.name.to_string() } else { format!("{prefix}.{}", f.name) };
            let ty = match f.kind {
                Kind::Str => "string".to_string(),
                Kind::Json => "string (JSON)".to_string(),
                Kind::Struct(_) => "struct".to_string(),
                Kind::ListOfStruct(_) => "array<struct>".to_string(),
            };
            out.push((name.clone(), ty, f.doc.to_string()));
            match f.kind {
                Kind::Struct(sub) => walk(&name, sub, out),
                Kind::ListOfStruct(sub) => walk(&format!("{name}[]"), sub, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk("", RECORD_FIELDS, &mut out);
    let types = ["timestamp (UTC)", "string", "bigint", "string", "string", "date", "string (JSON)"];
    for ((name, doc), ty) in DERIVED_COLUMNS.iter().zip(types) {
        out.push((name.to_string(), ty.to_string(), doc.to_string()));
    }
    out
}

/// The CloudTrail JSON keys of the string column at `columns` (e.g. `["useridentity",
/// "accesskeyid"]` gives `["userIdentity", "accessKeyId"]`); `None` unless it is a `Str` field
/// reached through structs only.
pub fn json_key_path(columns: &[&str]) -> Option<Vec<String>> {
    let mut specs = RECORD_FIELDS;
    let mut out = Vec::new();
    for (n, name) in columns.iter().enumerate() {
        let f = specs.iter().find(|f| f.name == *name)?;
        out.push(f.key.to_string());
        match f.kind {
            Kind::Str if n + 1 == columns.len() => return Some(out),
            Kind::Struct(sub) => specs = sub,
            _ => return None,
        }
    }
    None
}

/// Which fields of a struct column are built: all of them, or only those named (each with
/// the fields it needs in turn, when it is a struct itself). The others are built as nulls,
/// which costs nothing per record; a query that reads only `useridentity.accesskeyid` need
/// not copy the rest of `useridentity` out of every record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leaves {
    /// Every field.
    All,
    /// Only these fields (by column name); the others are null.
    Some(Vec<(String, Leaves)>),
}

impl Leaves {
    /// What is needed of the field `name`: `None` when it is not built.
    pub fn child(&self, name: &str) -> Option<&Leaves> {
        match self {
            Leaves::All => Some(&Leaves::All),
            Leaves::Some(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, l)| l),
        }
    }

    /// Adds the field at `path` (all of it from there down); an empty path means everything.
    pub fn add(&mut self, path: &[String]) {
        let Some((first, rest)) = path.split_first() else {
            *self = Leaves::All;
            return;
        };
        if let Leaves::Some(fields) = self {
            match fields.iter_mut().find(|(n, _)| n == first) {
                Some((_, sub)) => sub.add(rest),
                None => {
                    let mut sub = Leaves::Some(Vec::new());
                    sub.add(rest);
                    // Kept in name order, so equal needs compare equal.
                    let at = fields.partition_point(|(n, _)| n < first);
                    fields.insert(at, (first.clone(), sub));
                }
            }
        }
    }
}

/// Which columns of the full schema to build. `None` in a scan means all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    columns: Vec<usize>,
    /// For struct columns, the fields a query reads (unlisted columns are built whole).
    leaves: Vec<(usize, Leaves)>,
}

impl Projection {
    /// All columns.
    pub fn all() -> Self {
        Self { columns: (0..NUM_COLUMNS).collect(), leaves: Vec::new() }
    }

    /// The given column indexes of the full schema, in the given order.
    ///
    /// Indexes out of range are ignored.
    pub fn new(columns: impl IntoIterator<Item = usize>) -> Self {
        Self { columns: columns.into_iter().filter(|&c| c < NUM_COLUMNS).collect(), leaves: Vec::new() }
    }

    /// Builds only `leaves` of the struct column `column` (the schema does not change: the
    /// other fields are null). Ignored for columns that are not structs, and whenever `extra`
    /// is built, since `extra` must see every field.
    pub fn with_leaves(mut self, column: usize, leaves: Leaves) -> Self {
        let is_struct = RECORD_FIELDS.get(column).is_some_and(|f| matches!(f.kind, Kind::Struct(_)));
        self.leaves.retain(|(c, _)| *c != column);
        if is_struct && leaves != Leaves::All {
            self.leaves.push((column, leaves));
        }
        self
    }

    /// The fields of column `column` that are built.
    pub fn leaves(&self, column: usize) -> &Leaves {
        if self.columns.contains(&COL_EXTRA) {
            return &Leaves::All;
        }
        self.leaves.iter().find(|(c, _)| *c == column).map_or(&Leaves::All, |(_, l)| l)
    }

    /// Column indexes, in output order.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// The projected schema.
    pub fn schema(&self) -> SchemaRef {
        let full = cloudtrail_schema();
        Arc::new(full.project(&self.columns).expect("projection indexes are in range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_key_paths_follow_the_schema() {
        assert_eq!(json_key_path(&["useridentity", "accesskeyid"]).unwrap(), ["userIdentity", "accessKeyId"]);
        assert_eq!(json_key_path(&["eventname"]).unwrap(), ["eventName"]);
        assert_eq!(json_key_path(&["sourceipaddress"]).unwrap(), ["sourceIPAddress"]);
        assert!(json_key_path(&["useridentity"]).is_none());
        assert!(json_key_path(&["requestparameters"]).is_none());
        assert!(json_key_path(&["nosuch"]).is_none());
    }

    #[test]
    fn leaves_merge_paths() {
        let mut l = Leaves::Some(Vec::new());
        l.add(&["sessioncontext".into(), "sessionissuer".into(), "arn".into()]);
        l.add(&["accesskeyid".into()]);
        l.add(&["sessioncontext".into(), "sessionissuer".into()]);
        assert_eq!(l.child("accesskeyid"), Some(&Leaves::All));
        assert_eq!(l.child("sessioncontext").and_then(|s| s.child("sessionissuer")), Some(&Leaves::All));
        assert_eq!(l.child("arn"), None);
        let p = Projection::new([1, 4]).with_leaves(1, l.clone()).with_leaves(4, l.clone());
        assert_eq!(p.leaves(1), &l);
        assert_eq!(p.leaves(4), &Leaves::All, "eventname is no struct");
        let with_extra = Projection::new([1, COL_EXTRA]).with_leaves(1, l);
        assert_eq!(with_extra.leaves(1), &Leaves::All);
    }

    #[test]
    fn derived_column_indexes_match_schema() {
        let schema = cloudtrail_schema();
        assert_eq!(schema.fields().len(), NUM_COLUMNS);
        assert_eq!(schema.field(COL_EVENT_TS).name(), "event_ts");
        assert_eq!(schema.field(COL_EVIDENCE_INDEX).name(), "evidence_index");
        assert_eq!(schema.field(COL_EXTRA).name(), "extra");
        assert_eq!(schema.field(1).name(), "useridentity");
    }

    #[test]
    fn names_are_lowercase_and_unique() {
        let schema = cloudtrail_schema();
        let mut names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
        assert!(names.iter().all(|n| n.chars().all(|c| !c.is_ascii_uppercase())));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), NUM_COLUMNS);
    }
}
