//! VPC Flow Logs: the `vpc_flow` table, and reading flow-log files into it.
//!
//! Text files as S3 delivers them start with a header naming the fields (`version account-id
//! interface-id …`); every line after it is one flow record, its fields separated by spaces,
//! `-` meaning "no value". Columns are mapped by the header's names, never by position, so
//! any custom format (any subset and order of the fields of versions 2 to 8) is read. Files
//! without a header (CloudWatch Logs exports, where each line may also start with a
//! timestamp) are read with the default version-2 layout or a format the user gives
//! ([`VpcFormat::parse`], AWS's `${field} ${field}` syntax or plain names). Fields the table
//! does not know (e.g. Transit Gateway flow-log fields) are kept as JSON in `extra`.
//!
//! Parsing is a byte-level split on newlines and spaces (no regex, no UTF-8 decoding of
//! numeric fields). A line with the wrong number of fields, or with text in an integer field,
//! is rejected with its 0-based line index and a reason; every other line of the file loads.
//!
//! Parquet flow logs (AWS's `.parquet` delivery, columns named with `_`) are read column by
//! column into the same schema.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, Date32Builder, Int32Builder, Int64Array, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use memchr::memmem::Finder;

use crate::decode::{self, Decoded};
use crate::discover::{EvidenceFile, FileKind, PathInfo};
use crate::parse::Reject;
use crate::scan::{FileReport, ScanOptions};

/// Storage type of a flow-log field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpcType {
    /// 32-bit integer (ports, protocol, flags, small codes).
    Int32,
    /// 64-bit integer (counters, Unix times).
    Int64,
    /// Text.
    Str,
}

/// One flow-log field and the column it lands in.
#[derive(Debug, Clone, Copy)]
pub struct VpcField {
    /// Column name (AWS name with `-` as `_`).
    pub name: &'static str,
    /// The name AWS writes in headers and format strings.
    pub aws: &'static str,
    /// Storage type.
    pub ty: VpcType,
    /// One-line description for `trailsift schema`.
    pub doc: &'static str,
}

const fn f(name: &'static str, aws: &'static str, ty: VpcType, doc: &'static str) -> VpcField {
    VpcField { name, aws, ty, doc }
}

use VpcType::{Int32 as I32, Int64 as I64, Str as S};

/// Every flow-log field of versions 2 to 8, in AWS's order.
pub const VPC_FIELDS: &[VpcField] = &[
    f("version", "version", I32, "flow log format version"),
    f("account_id", "account-id", S, "account of the interface's owner"),
    f("interface_id", "interface-id", S, "network interface (eni-…)"),
    f("srcaddr", "srcaddr", S, "source address (of the interface's side of the flow)"),
    f("dstaddr", "dstaddr", S, "destination address"),
    f("srcport", "srcport", I32, "source port"),
    f("dstport", "dstport", I32, "destination port"),
    f("protocol", "protocol", I32, "IANA protocol number (6 TCP, 17 UDP, 1 ICMP)"),
    f("packets", "packets", I64, "packets in the flow during the window"),
    f("bytes", "bytes", I64, "bytes in the flow during the window"),
    f("start", "start", I64, "window start, Unix seconds"),
    f("end", "end", I64, "window end, Unix seconds"),
    f("action", "action", S, "ACCEPT or REJECT"),
    f("log_status", "log-status", S, "OK, NODATA or SKIPDATA"),
    f("vpc_id", "vpc-id", S, "VPC (v3)"),
    f("subnet_id", "subnet-id", S, "subnet (v3)"),
    f("instance_id", "instance-id", S, "instance (v3)"),
    f("tcp_flags", "tcp-flags", I32, "OR of the TCP flags seen (v3)"),
    f("type", "type", S, "IPv4, IPv6 or EFA (v3)"),
    f("pkt_srcaddr", "pkt-srcaddr", S, "packet-level source address (v3)"),
    f("pkt_dstaddr", "pkt-dstaddr", S, "packet-level destination address (v3)"),
    f("region", "region", S, "region of the interface (v4)"),
    f("az_id", "az-id", S, "availability zone ID (v4)"),
    f("sublocation_type", "sublocation-type", S, "wavelength, outpost or localzone (v4)"),
    f("sublocation_id", "sublocation-id", S, "sublocation ID (v4)"),
    f("pkt_src_aws_service", "pkt-src-aws-service", S, "AWS service of pkt_srcaddr (v5)"),
    f("pkt_dst_aws_service", "pkt-dst-aws-service", S, "AWS service of pkt_dstaddr (v5)"),
    f("flow_direction", "flow-direction", S, "ingress or egress (v5)"),
    f("traffic_path", "traffic-path", I32, "path egress traffic took, 1-8 (v5)"),
    f("ecs_cluster_arn", "ecs-cluster-arn", S, "ECS cluster ARN (v7)"),
    f("ecs_cluster_name", "ecs-cluster-name", S, "ECS cluster name (v7)"),
    f("ecs_container_instance_arn", "ecs-container-instance-arn", S, "ECS container instance ARN (v7)"),
    f("ecs_container_instance_id", "ecs-container-instance-id", S, "ECS container instance ID (v7)"),
    f("ecs_container_id", "ecs-container-id", S, "Docker ID of the first container (v7)"),
    f("ecs_second_container_id", "ecs-second-container-id", S, "Docker ID of the second container (v7)"),
    f("ecs_service_name", "ecs-service-name", S, "ECS service (v7)"),
    f("ecs_task_definition_arn", "ecs-task-definition-arn", S, "ECS task definition ARN (v7)"),
    f("ecs_task_arn", "ecs-task-arn", S, "ECS task ARN (v7)"),
    f("ecs_task_id", "ecs-task-id", S, "ECS task ID (v7)"),
    f("reject_reason", "reject-reason", S, "why traffic was rejected, e.g. BPA (v8)"),
];

/// Number of flow-log fields.
pub const NUM_FIELDS: usize = VPC_FIELDS.len();
/// Column index of `start_ts`.
pub const COL_START_TS: usize = NUM_FIELDS;
/// Column index of `end_ts`.
pub const COL_END_TS: usize = NUM_FIELDS + 1;
/// Column index of `evidence_path`.
pub const COL_EVIDENCE_PATH: usize = NUM_FIELDS + 2;
/// Column index of `evidence_index`.
pub const COL_EVIDENCE_INDEX: usize = NUM_FIELDS + 3;
/// Column index of `path_account`.
pub const COL_PATH_ACCOUNT: usize = NUM_FIELDS + 4;
/// Column index of `path_region`.
pub const COL_PATH_REGION: usize = NUM_FIELDS + 5;
/// Column index of `path_date`.
pub const COL_PATH_DATE: usize = NUM_FIELDS + 6;
/// Column index of `extra`.
pub const COL_EXTRA: usize = NUM_FIELDS + 7;
/// Number of columns of `vpc_flow`.
pub const NUM_COLUMNS: usize = NUM_FIELDS + 8;

const DERIVED: [(&str, &str, &str); 8] = [
    ("start_ts", "timestamp (UTC)", "`start` as a timestamp"),
    ("end_ts", "timestamp (UTC)", "`end` as a timestamp"),
    ("evidence_path", "string", "file the line was read from"),
    ("evidence_index", "bigint", "0-based line of the record in its file (the header is line 0)"),
    ("path_account", "string", "account from the file's S3 key"),
    ("path_region", "string", "region from the file's S3 key"),
    ("path_date", "date", "date from the file's S3 key"),
    ("extra", "string (JSON)", "fields the table does not know (e.g. Transit Gateway fields), as JSON"),
];

/// The index of the field whose AWS or column name is `name` (any case; `-`/`_` alike;
/// `${…}` around it allowed).
pub fn field_index(name: &str) -> Option<usize> {
    let n = name.trim().trim_start_matches("${").trim_end_matches('}');
    VPC_FIELDS.iter().position(|f| {
        f.aws.len() == n.len()
            && f.aws.bytes().zip(n.bytes()).all(|(a, b)| {
                let b = b.to_ascii_lowercase();
                a == b || (a == b'-' && b == b'_')
            })
    })
}

fn arrow_type(ty: VpcType) -> DataType {
    match ty {
        VpcType::Int32 => DataType::Int32,
        VpcType::Int64 => DataType::Int64,
        VpcType::Str => DataType::Utf8,
    }
}

/// The `vpc_flow` schema.
pub fn vpc_flow_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> =
                VPC_FIELDS.iter().map(|f| Field::new(f.name, arrow_type(f.ty), true)).collect();
            let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            fields.push(Field::new("start_ts", ts.clone(), true));
            fields.push(Field::new("end_ts", ts, true));
            fields.push(Field::new("evidence_path", DataType::Utf8, false));
            fields.push(Field::new("evidence_index", DataType::Int64, false));
            fields.push(Field::new("path_account", DataType::Utf8, true));
            fields.push(Field::new("path_region", DataType::Utf8, true));
            fields.push(Field::new("path_date", DataType::Date32, true));
            fields.push(Field::new("extra", DataType::Utf8, true));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// Name, type and description of every `vpc_flow` column, for `trailsift schema`.
pub fn column_docs() -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = VPC_FIELDS
        .iter()
        .map(|f| {
            let ty = match f.ty {
                VpcType::Int32 => "int",
                VpcType::Int64 => "bigint",
                VpcType::Str => "string",
            };
            (f.name.to_string(), ty.to_string(), format!("{} (`{}`)", f.doc, f.aws))
        })
        .collect();
    out.extend(DERIVED.iter().map(|(n, t, d)| (n.to_string(), t.to_string(), d.to_string())));
    out
}

/// A flow-log line layout: which field each space-separated position holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcFormat {
    /// Per position: the field index, or `Err(name)` for a field the table does not know.
    slots: Vec<Result<usize, String>>,
}

impl VpcFormat {
    /// The default format (version 2): `version account-id interface-id srcaddr dstaddr
    /// srcport dstport protocol packets bytes start end action log-status`.
    pub fn default_v2() -> Self {
        Self { slots: (0..14).map(Ok).collect() }
    }

    /// Parses a format: AWS's format string (`${version} ${account-id} …`) or field names
    /// separated by spaces (either `-` or `_` spelling). Unknown names are kept (their values
    /// go to `extra`); a name twice, or no name at all, is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut slots = Vec::new();
        for tok in text.split_ascii_whitespace() {
            let name = tok.trim_start_matches("${").trim_end_matches('}');
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(format!("'{tok}' is not a flow-log field name"));
            }
            let slot = field_index(name).ok_or_else(|| name.to_ascii_lowercase());
            if slots.contains(&slot) {
                return Err(format!("field '{name}' appears twice"));
            }
            slots.push(slot);
        }
        if slots.is_empty() {
            return Err("empty format: give field names, e.g. \"${version} ${account-id} ${srcaddr}\"".into());
        }
        Ok(Self { slots })
    }

    /// Number of fields per line.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the format has no field (never true for a parsed format).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The format as AWS writes it in headers (`version account-id …`).
    pub fn header(&self) -> String {
        let names: Vec<&str> = self
            .slots
            .iter()
            .map(|s| match s {
                Ok(i) => VPC_FIELDS[*i].aws,
                Err(n) => n.as_str(),
            })
            .collect();
        names.join(" ")
    }

    /// A header line if `line` is one: every token a name, at least one of them a known field.
    fn from_header(line: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(line).ok()?;
        let mut known = false;
        for tok in text.split_ascii_whitespace() {
            if !tok.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                || !tok.as_bytes()[0].is_ascii_alphabetic()
            {
                return None;
            }
            known |= field_index(tok).is_some();
        }
        if !known {
            return None;
        }
        Self::parse(text).ok()
    }
}

/// Options of VPC flow-log reading inside a scan ([`ScanOptions::vpc`]).
#[derive(Debug, Clone, Default)]
pub struct VpcScanOptions {
    /// Layout of files without a header (default: version 2).
    pub format: Option<Arc<VpcFormat>>,
    /// Columns of `vpc_flow` to build, in output order (`None`: all).
    pub projection: Option<Vec<usize>>,
    /// Literal pre-filter of a query.
    pub filter: Option<Arc<VpcFilter>>,
}

/// A literal pre-filter over `vpc_flow` text columns: for every group, some term's column must
/// equal its literal. Inexact like [`crate::prefilter::Prefilter`]: it only drops lines that
/// certainly cannot match.
#[derive(Debug, Clone)]
pub struct VpcFilter {
    groups: Vec<Vec<(usize, String, Finder<'static>)>>,
}

impl VpcFilter {
    /// A filter from groups of (column index, literal); `None` when no group is usable
    /// (unknown or non-text columns, empty or space-holding literals).
    pub fn new(groups: impl IntoIterator<Item = Vec<(usize, String)>>) -> Option<Self> {
        let mut kept = Vec::new();
        for g in groups {
            let usable = !g.is_empty()
                && g.iter().all(|(c, lit)| {
                    *c < NUM_FIELDS
                        && VPC_FIELDS[*c].ty == VpcType::Str
                        && !lit.is_empty()
                        && lit != "-"
                        && !lit.bytes().any(|b| b.is_ascii_whitespace())
                });
            if usable {
                kept.push(
                    g.into_iter()
                        .map(|(c, lit)| {
                            let finder = Finder::new(lit.as_bytes()).into_owned();
                            (c, lit, finder)
                        })
                        .collect(),
                );
            }
        }
        (!kept.is_empty()).then_some(Self { groups: kept })
    }

    /// Number of groups.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Whether a text file's content may hold a matching line.
    pub fn file_may_match(&self, data: &[u8]) -> bool {
        self.groups.iter().all(|g| g.iter().any(|(_, _, f)| f.find(data).is_some()))
    }

    fn line_may_match(&self, vals: &[Option<&[u8]>; NUM_FIELDS]) -> bool {
        self.groups.iter().all(|g| g.iter().any(|(c, lit, _)| vals[*c] == Some(lit.as_bytes())))
    }
}

enum ColBuilder {
    I32(Int32Builder),
    I64(Int64Builder),
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    Date(Date32Builder),
}

impl ColBuilder {
    fn for_column(c: usize) -> Self {
        match c {
            COL_START_TS | COL_END_TS => ColBuilder::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            COL_EVIDENCE_INDEX => ColBuilder::I64(Int64Builder::new()),
            COL_PATH_DATE => ColBuilder::Date(Date32Builder::new()),
            c if c < NUM_FIELDS => match VPC_FIELDS[c].ty {
                VpcType::Int32 => ColBuilder::I32(Int32Builder::new()),
                VpcType::Int64 => ColBuilder::I64(Int64Builder::new()),
                VpcType::Str => ColBuilder::Str(StringBuilder::new()),
            },
            _ => ColBuilder::Str(StringBuilder::new()),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::I32(b) => Arc::new(b.finish()),
            ColBuilder::I64(b) => Arc::new(b.finish()),
            ColBuilder::Str(b) => Arc::new(b.finish()),
            ColBuilder::Ts(b) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
        }
    }
}

/// One parsed line, ready to append.
struct Row<'a> {
    vals: [Option<&'a [u8]>; NUM_FIELDS],
    ints: [Option<i64>; NUM_FIELDS],
    extra: Option<String>,
    index: i64,
}

/// Builds `vpc_flow` record batches (the projected columns only).
pub struct VpcBuilder {
    columns: Vec<usize>,
    builders: Vec<ColBuilder>,
    schema: SchemaRef,
    rows: usize,
}

impl VpcBuilder {
    /// A builder of the columns `projection` (indexes into [`vpc_flow_schema`]; `None`: all).
    pub fn new(projection: Option<&[usize]>) -> Self {
        let columns: Vec<usize> = match projection {
            Some(p) => p.iter().copied().filter(|&c| c < NUM_COLUMNS).collect(),
            None => (0..NUM_COLUMNS).collect(),
        };
        let schema = Arc::new(vpc_flow_schema().project(&columns).expect("projection in range"));
        let builders = columns.iter().map(|&c| ColBuilder::for_column(c)).collect();
        Self { columns, builders, schema, rows: 0 }
    }

    /// The schema of the batches built.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows appended since the last batch.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn append(&mut self, row: &Row<'_>, path: &str, info: &PathInfo) {
        for (b, &c) in self.builders.iter_mut().zip(&self.columns) {
            match b {
                ColBuilder::I32(b) => b.append_option(row.ints[c].map(|v| v as i32)),
                ColBuilder::I64(b) if c == COL_EVIDENCE_INDEX => b.append_value(row.index),
                ColBuilder::I64(b) => b.append_option(row.ints[c]),
                ColBuilder::Ts(b) => {
                    let src = if c == COL_START_TS { 10 } else { 11 };
                    b.append_option(row.ints[src].and_then(|s| s.checked_mul(1_000_000)))
                }
                ColBuilder::Date(b) => b.append_option(info.date),
                ColBuilder::Str(b) => match c {
                    COL_EVIDENCE_PATH => b.append_value(path),
                    COL_PATH_ACCOUNT => b.append_option(info.account.as_deref()),
                    COL_PATH_REGION => b.append_option(info.region.as_deref()),
                    COL_EXTRA => b.append_option(row.extra.as_deref()),
                    _ => match row.vals[c] {
                        // Validated as UTF-8 when the line was split.
                        Some(v) => b.append_value(std::str::from_utf8(v).unwrap_or_default()),
                        None => b.append_null(),
                    },
                },
            }
        }
        self.rows += 1;
    }

    /// The pending rows as a batch (`None` when there are none).
    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.rows == 0 {
            return None;
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(ColBuilder::finish).collect();
        // An empty projection (`count(*)`) still has rows: give the count explicitly.
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        Some(
            RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
                .expect("builders follow the schema"),
        )
    }
}

/// What reading one flow-log file produced.
#[derive(Debug, Default, Clone)]
pub struct VpcOutcome {
    /// Lines holding a record (loaded + rejected + filtered).
    pub seen: u64,
    /// Lines loaded.
    pub loaded: u64,
    /// Lines passed over by a query's pre-filter.
    pub filtered: u64,
    /// Rejected lines with index and reason.
    pub rejects: Vec<Reject>,
    /// Something worth knowing (header-less file, unknown fields).
    pub note: Option<String>,
}

/// Fast ASCII integer parse (optional leading `-`); `None` on anything else or overflow.
fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        let x = d.wrapping_sub(b'0');
        if x > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(x as i64)?;
    }
    Some(if neg { -v } else { v })
}

/// Whether `tok` looks like the timestamp CloudWatch Logs exports put before each message.
fn is_timestamp_prefix(tok: &[u8]) -> bool {
    if tok.len() == 13 && tok.iter().all(u8::is_ascii_digit) {
        return true; // epoch milliseconds
    }
    tok.len() >= 10
        && tok[0].is_ascii_digit()
        && tok[4] == b'-'
        && std::str::from_utf8(tok).ok().and_then(crate::time::parse_timestamp_micros).is_some()
}

/// Parses the decoded text of one flow-log file, appending rows to `builder` (full batches go
/// to `on_batch`). `truncated` is set when the file's gzip stream ended early: its last,
/// incomplete line is then rejected rather than loaded.
#[allow(clippy::too_many_arguments)]
pub fn parse_text(
    data: &[u8],
    path: &str,
    info: &PathInfo,
    format: Option<&VpcFormat>,
    filter: Option<&VpcFilter>,
    truncated: bool,
    builder: &mut VpcBuilder,
    batch_rows: usize,
    on_batch: &mut dyn FnMut(RecordBatch),
) -> VpcOutcome {
    let mut out = VpcOutcome::default();
    let default_format = VpcFormat::default_v2();
    let base: &VpcFormat = format.unwrap_or(&default_format);
    let mut header: Option<VpcFormat> = None;
    let mut pos = 0usize;
    let mut index: i64 = 0;
    let mut first = true;
    let mut toks: Vec<&[u8]> = Vec::with_capacity(64);
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |e| pos + e);
        let complete = end < data.len();
        let mut line = &data[pos..end];
        pos = end + 1;
        let this = index;
        index += 1;
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if first {
            first = false;
            if let Some(h) = VpcFormat::from_header(line) {
                let unknown: Vec<&str> = h.slots.iter().filter_map(|s| s.as_ref().err().map(String::as_str)).collect();
                if !unknown.is_empty() {
                    out.note = Some(format!("fields not in vpc_flow kept in `extra`: {}", unknown.join(", ")));
                }
                header = Some(h);
                continue;
            }
            out.note = Some(format!("no header line: read with the format '{}'", base.header()));
        }
        let format = header.as_ref().unwrap_or(base);
        out.seen += 1;
        if !complete && truncated {
            out.rejects
                .push(Reject { index: this as u64, reason: "line cut short by the end of the truncated file".into() });
            continue;
        }
        toks.clear();
        toks.extend(line.split(|b| *b == b' ' || *b == b'\t').filter(|t| !t.is_empty()));
        let n = format.len();
        let fields: &[&[u8]] = if toks.len() == n + 1 && is_timestamp_prefix(toks[0]) { &toks[1..] } else { &toks };
        if fields.len() != n {
            out.rejects.push(Reject {
                index: this as u64,
                reason: format!("expected {n} fields (format '{}'), found {}", format.header(), fields.len()),
            });
            continue;
        }
        match make_row(format, fields, this) {
            Ok(row) => {
                if let Some(f) = filter
                    && !f.line_may_match(&row.vals)
                {
                    out.filtered += 1;
                    continue;
                }
                builder.append(&row, path, info);
                out.loaded += 1;
                if builder.len() >= batch_rows
                    && let Some(b) = builder.finish()
                {
                    on_batch(b);
                }
            }
            Err(reason) => out.rejects.push(Reject { index: this as u64, reason }),
        }
    }
    out
}

fn make_row<'a>(format: &VpcFormat, fields: &[&'a [u8]], index: i64) -> Result<Row<'a>, String> {
    let mut row = Row { vals: [None; NUM_FIELDS], ints: [None; NUM_FIELDS], extra: None, index };
    for (slot, &tok) in format.slots.iter().zip(fields) {
        match slot {
            Ok(c) => {
                if tok == b"-" {
                    continue;
                }
                match VPC_FIELDS[*c].ty {
                    VpcType::Str => {
                        if std::str::from_utf8(tok).is_err() {
                            return Err(format!("field {}: not valid UTF-8", VPC_FIELDS[*c].aws));
                        }
                        row.vals[*c] = Some(tok);
                    }
                    ty => {
                        let v = parse_int(tok).filter(|v| ty == VpcType::Int64 || i32::try_from(*v).is_ok());
                        match v {
                            Some(v) => row.ints[*c] = Some(v),
                            None => {
                                return Err(format!(
                                    "field {}: not an integer: '{}'",
                                    VPC_FIELDS[*c].aws,
                                    String::from_utf8_lossy(&tok[..tok.len().min(40)])
                                ));
                            }
                        }
                    }
                }
            }
            Err(name) => {
                if tok == b"-" {
                    continue;
                }
                let Ok(v) = std::str::from_utf8(tok) else {
                    return Err(format!("field {name}: not valid UTF-8"));
                };
                let extra = row.extra.get_or_insert_with(|| "{".to_string());
                if extra.len() > 1 {
                    extra.push(',');
                }
                let _ = write!(extra, "{}:{}", serde_json::Value::from(name.as_str()), serde_json::Value::from(v));
            }
        }
    }
    if let Some(e) = &mut row.extra {
        e.push('}');
    }
    Ok(row)
}

/// Reads one flow-log file (text or Parquet) into `builder`, returning its report.
pub fn process_file(
    index: usize,
    file: &EvidenceFile,
    opts: &ScanOptions,
    builder: &mut VpcBuilder,
    buf: &mut Vec<u8>,
    on_batch: &mut dyn FnMut(RecordBatch),
) -> FileReport {
    let mut report = FileReport {
        file: index,
        path: file.display.clone(),
        bytes: file.size,
        sha256: String::new(),
        content_bytes: 0,
        kind: file.kind,
        records_seen: 0,
        records_loaded: 0,
        records_rejected: 0,
        records_filtered: 0,
        skipped: false,
        error: None,
        note: None,
        rejected_records: Vec::new(),
        verification: crate::scan::file_verification(opts, file),
    };
    let read = decode::read_file(&file.path, opts.max_file_bytes, opts.hash, buf);
    report.bytes = read.bytes;
    report.sha256 = read.sha256;
    let decoded = match read.decoded {
        Ok(d) => d,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.content_bytes = buf.len() as u64;
    if file.kind == FileKind::VpcFlowParquet || buf.starts_with(b"PAR1") {
        report.kind = FileKind::VpcFlowParquet;
        let batch_rows = opts.batch_rows.max(1);
        match read_parquet(buf, &file.display, &file.info, builder, batch_rows, on_batch) {
            Ok((rows, note)) => {
                report.records_seen = rows;
                report.records_loaded = rows;
                report.note = note;
            }
            Err(e) => {
                report.error = Some(format!("cannot read Parquet flow log: {e}"));
            }
        }
        return report;
    }
    let truncated = match &decoded {
        Decoded::Truncated { reason } => {
            report.error = Some(format!("truncated: {reason} (the lines before it were loaded)"));
            true
        }
        _ => false,
    };
    let filter = opts.vpc.filter.as_deref();
    if let Some(f) = filter
        && !truncated
        && !f.file_may_match(buf)
    {
        report.skipped = true;
        return report;
    }
    let out = parse_text(
        buf,
        &file.display,
        &file.info,
        opts.vpc.format.as_deref(),
        filter,
        truncated,
        builder,
        opts.batch_rows.max(1),
        on_batch,
    );
    report.records_seen = out.seen;
    report.records_loaded = out.loaded;
    report.records_filtered = out.filtered;
    report.records_rejected = out.rejects.len() as u64;
    report.rejected_records = out.rejects;
    report.note = out.note;
    report
}

/// Reads a Parquet flow-log file held in `data`: columns are matched by name (`-` or `_`, any
/// case) and cast to the table's types. Returns the row count and a note on ignored columns.
fn read_parquet(
    data: &[u8],
    path: &str,
    info: &PathInfo,
    builder: &mut VpcBuilder,
    batch_rows: usize,
    on_batch: &mut dyn FnMut(RecordBatch),
) -> Result<(u64, Option<String>), String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    // Rows already pending in the builder go out first: Parquet rows are assembled column-wise.
    if let Some(b) = builder.finish() {
        on_batch(b);
    }
    let bytes = bytes::Bytes::copy_from_slice(data);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| e.to_string())?
        .with_batch_size(batch_rows)
        .build()
        .map_err(|e| e.to_string())?;
    let schema = builder.schema();
    let mut rows = 0u64;
    let mut ignored: Vec<String> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let n = batch.num_rows();
        let mut by_field: Vec<Option<ArrayRef>> = vec![None; NUM_FIELDS];
        for (i, fld) in batch.schema().fields().iter().enumerate() {
            match field_index(fld.name()) {
                Some(c) => {
                    let target = arrow_type(VPC_FIELDS[c].ty);
                    let arr = arrow::compute::cast(batch.column(i), &target)
                        .map_err(|e| format!("column {}: {e}", fld.name()))?;
                    by_field[c] = Some(arr);
                }
                None => {
                    if !ignored.contains(fld.name()) {
                        ignored.push(fld.name().clone());
                    }
                }
            }
        }
        let secs = |c: usize| -> ArrayRef {
            let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            match &by_field[c] {
                Some(a) => {
                    let a = a.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
                    let us: Int64Array = a.iter().map(|v| v.and_then(|s| s.checked_mul(1_000_000))).collect();
                    arrow::compute::cast(&us, &ts).expect("Int64 casts to a timestamp")
                }
                None => arrow::array::new_null_array(&ts, n),
            }
        };
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(builder.columns.len());
        for &c in &builder.columns {
            let col: ArrayRef = match c {
                c if c < NUM_FIELDS => by_field[c]
                    .clone()
                    .unwrap_or_else(|| arrow::array::new_null_array(&arrow_type(VPC_FIELDS[c].ty), n)),
                COL_START_TS => secs(10),
                COL_END_TS => secs(11),
                COL_EVIDENCE_PATH => Arc::new(arrow::array::StringArray::from(vec![path; n])),
                COL_EVIDENCE_INDEX => Arc::new(Int64Array::from_iter_values(rows as i64..(rows + n as u64) as i64)),
                COL_PATH_ACCOUNT => Arc::new(arrow::array::StringArray::from(vec![info.account.as_deref(); n])),
                COL_PATH_REGION => Arc::new(arrow::array::StringArray::from(vec![info.region.as_deref(); n])),
                COL_PATH_DATE => Arc::new(arrow::array::Date32Array::from(vec![info.date; n])),
                _ => arrow::array::new_null_array(&DataType::Utf8, n),
            };
            cols.push(col);
        }
        rows += n as u64;
        if n > 0 {
            on_batch(RecordBatch::try_new(schema.clone(), cols).map_err(|e| e.to_string())?);
        }
    }
    let note =
        (!ignored.is_empty()).then(|| format!("Parquet columns not in vpc_flow ignored: {}", ignored.join(", ")));
    Ok((rows, note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, StringArray};
    use arrow::datatypes::Int32Type;

    fn parse(text: &str, format: Option<&VpcFormat>) -> (VpcOutcome, Vec<RecordBatch>) {
        let mut b = VpcBuilder::new(None);
        let mut batches = Vec::new();
        let info = PathInfo::default();
        let out = parse_text(text.as_bytes(), "f", &info, format, None, false, &mut b, 1000, &mut |x| batches.push(x));
        batches.extend(b.finish());
        (out, batches)
    }

    #[test]
    fn names_and_formats() {
        assert_eq!(field_index("log-status"), Some(13));
        assert_eq!(field_index("LOG_STATUS"), Some(13));
        assert_eq!(field_index("${pkt-srcaddr}"), Some(19));
        assert_eq!(field_index("tgw-id"), None);
        let f = VpcFormat::parse("${version} ${srcaddr} ${tgw-id}").unwrap();
        assert_eq!(f.header(), "version srcaddr tgw-id");
        assert!(VpcFormat::parse("").is_err());
        assert!(VpcFormat::parse("version version").is_err());
        assert!(VpcFormat::parse("a=b").is_err());
        assert_eq!(vpc_flow_schema().fields().len(), NUM_COLUMNS);
        assert_eq!(vpc_flow_schema().field(COL_EXTRA).name(), "extra");
        assert_eq!(column_docs().len(), NUM_COLUMNS);
    }

    #[test]
    fn header_maps_by_name_and_nulls() {
        let text = "srcport srcaddr log-status tgw-id\n443 192.0.2.1 OK tgw-1\n- - NODATA -\n";
        let (out, batches) = parse(text, None);
        assert_eq!((out.seen, out.loaded, out.rejects.len()), (2, 2, 0));
        let b = &batches[0];
        let port = b.column(5).as_primitive::<Int32Type>();
        assert_eq!((port.value(0), port.is_null(1)), (443, true));
        let src = b.column(3).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((src.value(0), src.is_null(1)), ("192.0.2.1", true));
        let extra = b.column(COL_EXTRA).as_string::<i32>();
        assert_eq!(extra.value(0), r#"{"tgw-id":"tgw-1"}"#);
        assert!(extra.is_null(1));
        let idx = b.column(COL_EVIDENCE_INDEX).as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!((idx.value(0), idx.value(1)), (1, 2));
        assert!(out.note.unwrap().contains("tgw-id"));
    }

    #[test]
    fn bad_lines_are_rejected_with_index() {
        let text = "version srcport\n2 80\n2\n2 http\n2 99999999999\n\n2 22\n";
        let (out, _) = parse(text, None);
        assert_eq!((out.seen, out.loaded), (5, 2));
        let idx: Vec<u64> = out.rejects.iter().map(|r| r.index).collect();
        assert_eq!(idx, [2, 3, 4]);
        assert!(out.rejects[0].reason.contains("expected 2 fields"), "{}", out.rejects[0].reason);
        assert!(out.rejects[1].reason.contains("srcport"));
    }

    #[test]
    fn headerless_with_and_without_timestamp() {
        let line = "2 123456789012 eni-1 192.0.2.1 198.51.100.2 1 2 6 3 400 1700000000 1700000060 ACCEPT OK";
        let text = format!("{line}\n2024-01-01T00:00:00.000Z {line}\n1704067200000 {line}\n");
        let (out, batches) = parse(&text, None);
        assert_eq!((out.seen, out.loaded), (3, 3), "{:?}", out.rejects);
        assert_eq!(batches[0].column(9).as_primitive::<arrow::datatypes::Int64Type>().value(2), 400);
        let f = VpcFormat::parse("${srcaddr} ${bytes}").unwrap();
        let (out, _) = parse("192.0.2.9 77\n", Some(&f));
        assert_eq!(out.loaded, 1);
    }

    #[test]
    fn ints() {
        assert_eq!(parse_int(b"123"), Some(123));
        assert_eq!(parse_int(b"-5"), Some(-5));
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_int(b"1a"), None);
        assert_eq!(parse_int(b"99999999999999999999"), None);
    }
}
