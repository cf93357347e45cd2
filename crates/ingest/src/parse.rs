//! Turning the decoded bytes of one file into `cloudtrail` rows.
//!
//! Accepted shapes: the delivery envelope `{"Records":[…]}`, a bare array of records, one
//! record alone, and one record (or one envelope) per line, as CloudTrail Lake and CloudWatch
//! Logs exports write them. A delivery envelope is read record by record straight from its
//! bytes ([`crate::direct`], the fast path). Otherwise the whole document is parsed with
//! simd-json in one go. When that fails — invalid JSON, invalid UTF-8, a truncated file — the file is split
//! into records by a byte scanner and each record is parsed alone, so a bad record is
//! rejected with its index and reason and every good record around it still loads.

use arrow::array::RecordBatch;
use simd_json::{Node, StaticNode};

use crate::builder::{BatchBuilder, RecordSource};
use crate::discover::PathInfo;
use crate::json::{skip, skip_ws, value_end};
use crate::prefilter::Prefilter;

/// A record that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    /// 0-based position of the record in its file.
    pub index: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// What parsing one file produced.
#[derive(Debug, Default, Clone)]
pub struct ParseOutcome {
    /// Records found (loaded + rejected + filtered).
    pub seen: u64,
    /// Records loaded.
    pub loaded: u64,
    /// Records passed over by a query's literal pre-filter (they cannot match it).
    pub filtered: u64,
    /// Of the records loaded, those read straight from the bytes ([`crate::direct`]); the
    /// others went through the simd-json tape (all of them when the direct reader gave the
    /// file up part-way).
    pub read_directly: u64,
    /// Records rejected, with index and reason.
    pub rejects: Vec<Reject>,
    /// A problem with the file as a whole (the records before it may still have loaded).
    pub error: Option<String>,
    /// The file is JSON but not CloudTrail (only decided for files not named as CloudTrail).
    pub not_cloudtrail: bool,
}

/// Where the rows go, and the file they come from.
pub struct Sink<'a> {
    /// Builder the rows are appended to.
    pub builder: &'a mut BatchBuilder,
    /// Rows per batch before `on_batch` is called.
    pub batch_rows: usize,
    /// Receives full batches; gives a batch back when it is done with it, so that the
    /// builder can reuse its memory ([`BatchBuilder::recycle`]).
    pub on_batch: &'a mut dyn FnMut(RecordBatch) -> Option<RecordBatch>,
    /// Records that cannot match this filter are counted, not built.
    pub prefilter: Option<&'a Prefilter>,
}

/// The file being parsed.
#[derive(Debug, Clone, Copy)]
pub struct FileSource<'a> {
    /// Path as shown to the user.
    pub path: &'a str,
    /// Partition values from the path.
    pub info: &'a PathInfo,
    /// Whether the file's name does not say it is CloudTrail, so its content must show it.
    pub candidate: bool,
}

struct State<'s, 'a> {
    sink: &'s mut Sink<'a>,
    file: FileSource<'s>,
    decided: bool,
    out: ParseOutcome,
    /// Records of this file whose rows were handed on in a batch (counted from the first).
    emitted: u64,
    /// The first records, already loaded by the direct path before it gave the file up: the
    /// tape path counts them without appending them again.
    skip: u64,
}

impl<'s> State<'s, '_> {
    fn reject(&mut self, reason: String) {
        self.out.rejects.push(Reject { index: self.out.seen, reason });
        self.out.seen += 1;
    }

    /// A value in record position: load it if it is an object, reject it otherwise.
    /// Returns false when the file turned out not to be CloudTrail.
    fn record(&mut self, nodes: &[Node<'_>], i: usize) -> bool {
        if let Node::Object { .. } = nodes[i] {
            if !self.decided {
                self.decided = true;
                if self.file.candidate && !looks_like_event(nodes, i) {
                    self.out.not_cloudtrail = true;
                    return false;
                }
            }
            if self.out.seen < self.skip {
                self.out.seen += 1;
                self.out.loaded += 1;
                return true;
            }
            if let Some(p) = self.sink.prefilter
                && !p.record_may_match(nodes, i)
            {
                self.out.seen += 1;
                self.out.filtered += 1;
                return true;
            }
            let src = self.source();
            self.sink.builder.append_record(nodes, i, &src);
            self.out.seen += 1;
            self.out.loaded += 1;
            self.maybe_flush();
        } else {
            self.reject(format!("record is not a JSON object (found {})", type_name(&nodes[i])));
        }
        true
    }

    /// Where the next record comes from.
    fn source(&self) -> RecordSource<'s> {
        RecordSource {
            path: self.file.path,
            index: self.out.seen,
            account: self.file.info.account.as_deref(),
            region: self.file.info.region.as_deref(),
            date: self.file.info.date,
        }
    }

    /// Hands the pending rows on once there are enough of them.
    fn maybe_flush(&mut self) {
        if self.sink.builder.len() >= self.sink.batch_rows
            && let Some(b) = self.sink.builder.finish()
        {
            if let Some(done) = (self.sink.on_batch)(b) {
                self.sink.builder.recycle(done);
            }
            self.emitted = self.out.seen;
        }
    }

    /// A parsed top-level value: an envelope, an array of records, or one record.
    fn document(&mut self, nodes: &[Node<'_>], root: usize) {
        match nodes[root] {
            Node::Object { .. } => match find_key(nodes, root, "Records") {
                Some(v) => match nodes[v] {
                    Node::Array { len, .. } => {
                        self.decided = true; // the envelope itself says CloudTrail
                        let mut j = v + 1;
                        for _ in 0..len {
                            self.record(nodes, j);
                            j = skip(nodes, j);
                        }
                    }
                    ref other => {
                        self.fail(format!("\"Records\" is {}, not an array", type_name(other)));
                    }
                },
                None if looks_like_event(nodes, root) => {
                    self.record(nodes, root);
                }
                None if self.file.candidate && !self.decided => self.out.not_cloudtrail = true,
                None => self.fail("JSON object has no \"Records\" array and is not a CloudTrail event".to_string()),
            },
            Node::Array { len, .. } => {
                let mut j = root + 1;
                for _ in 0..len {
                    if !self.record(nodes, j) {
                        return;
                    }
                    j = skip(nodes, j);
                }
            }
            ref other => {
                if self.file.candidate && !self.decided {
                    self.out.not_cloudtrail = true;
                } else {
                    self.fail(format!("document is a JSON {}, not CloudTrail records", type_name(other)));
                }
            }
        }
    }

    fn fail(&mut self, reason: String) {
        if self.out.error.is_none() {
            self.out.error = Some(reason);
        }
    }
}

fn type_name(n: &Node<'_>) -> &'static str {
    match n {
        Node::String(_) => "a string",
        Node::Object { .. } => "an object",
        Node::Array { .. } => "an array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "a boolean",
        Node::Static(_) => "a number",
    }
}

/// Value index of `key` in the object at `obj`, if present.
fn find_key(nodes: &[Node<'_>], obj: usize, key: &str) -> Option<usize> {
    let Node::Object { len, .. } = nodes[obj] else {
        return None;
    };
    let mut j = obj + 1;
    for _ in 0..len {
        if let Node::String(k) = nodes[j]
            && k == key
        {
            return Some(j + 1);
        }
        j = skip(nodes, j + 1);
    }
    None
}

/// Whether the object at `i` has a key only CloudTrail events have.
fn looks_like_event(nodes: &[Node<'_>], i: usize) -> bool {
    const KEYS: [&str; 5] = ["eventVersion", "eventTime", "eventName", "eventSource", "eventID"];
    KEYS.iter().any(|k| find_key(nodes, i, k).is_some())
}

/// Whether the document starts like a delivery envelope (`{` then `"Records"`).
fn starts_like_envelope(data: &[u8], at: usize) -> bool {
    data.get(at) == Some(&b'{') && data[skip_ws(data, at + 1)..].starts_with(b"\"Records\"")
}

/// Whether the content looks like one JSON value per line (so the one-document fast path
/// would fail anyway).
fn looks_like_lines(data: &[u8], start: usize) -> bool {
    if data.get(start) != Some(&b'{') {
        return false;
    }
    match memchr::memchr(b'\n', &data[start..]) {
        Some(nl) => data.get(skip_ws(data, start + nl + 1)) == Some(&b'{'),
        None => false,
    }
}

/// Parser buffers kept per thread: a file's parse reuses the previous file's allocations
/// (simd-json's aligned copy, string buffer and tape), which saves page faults on every file.
struct Scratch {
    buffers: simd_json::Buffers,
    tape: Option<simd_json::tape::Tape<'static>>,
}

thread_local! {
    /// Record ranges of the pre-filtered split, reused from file to file.
    static SPLIT: std::cell::RefCell<Vec<std::ops::Range<usize>>> = const { std::cell::RefCell::new(Vec::new()) };
    static SCRATCH: std::cell::RefCell<Scratch> =
        std::cell::RefCell::new(Scratch { buffers: simd_json::Buffers::default(), tape: None });
}

/// Parses the decoded content of one file into rows.
///
/// `reread` is called to get the original bytes back when the fast path fails (simd-json
/// parses in place, so `data` is no longer intact by then); it returns `None` if the file
/// can no longer be read.
pub fn parse_file(
    data: &mut Vec<u8>,
    truncated: Option<String>,
    file: FileSource<'_>,
    sink: &mut Sink<'_>,
    reread: &mut dyn FnMut(&mut Vec<u8>) -> Option<()>,
) -> ParseOutcome {
    let mut st = State { sink, file, decided: false, out: ParseOutcome::default(), emitted: 0, skip: 0 };
    let start = skip_ws(data, 0);
    if start >= data.len() {
        st.out.error = Some(if data.is_empty() {
            "file is empty: no content to read".to_string()
        } else {
            "file holds only whitespace: no records".to_string()
        });
        if let Some(t) = truncated {
            st.out.error = Some(t);
        }
        return st.out;
    }
    if !matches!(data[start], b'{' | b'[') {
        if file.candidate {
            st.out.not_cloudtrail = true;
        } else {
            st.out.error =
                Some(format!("not JSON (starts with byte 0x{:02x}); neither gzip nor a JSON document", data[start]));
        }
        return st.out;
    }
    if truncated.is_none()
        && let Some(p) = st.sink.prefilter
        && starts_like_envelope(data, start)
        && parse_matching_records(&mut st, p, data)
    {
        return finish(st);
    }
    if truncated.is_none()
        && st.sink.prefilter.is_none()
        && st.sink.builder.direct()
        && starts_like_envelope(data, start)
        && parse_direct(&mut st, data)
    {
        return finish(st);
    }
    if truncated.is_none() && !looks_like_lines(data, start) {
        let parsed = SCRATCH.with_borrow_mut(|scratch| {
            let mut tape = scratch.tape.take().unwrap_or_else(|| simd_json::tape::Tape(Vec::new())).reset();
            let ok = simd_json::fill_tape(&mut data[..], &mut scratch.buffers, &mut tape).is_ok();
            if ok {
                st.document(&tape.0, 0);
            }
            scratch.tape = Some(tape.reset());
            ok
        });
        if parsed {
            return finish(st);
        }
        if reread(data).is_none() {
            st.out.error = Some("file changed or vanished while being read".to_string());
            return st.out;
        }
    }
    if let Some(t) = truncated {
        st.fail(t);
    }
    salvage(&mut st, data);
    finish(st)
}

/// The pre-filtered path for a delivery envelope: split it into records without parsing
/// ([`crate::split`]) and tape-parse only the records whose bytes may hold the filter's
/// literals; the others are counted as filtered without being validated. Returns false, having
/// appended nothing, when the file is not a well-formed envelope or when most of its records
/// may match (one tape of the whole file is cheaper then).
fn parse_matching_records(st: &mut State<'_, '_>, p: &Prefilter, data: &mut [u8]) -> bool {
    let mut ranges = SPLIT.with_borrow_mut(std::mem::take);
    let done = crate::split::envelope_records(data, &mut ranges) && {
        let matching: Vec<bool> = ranges.iter().map(|r| p.file_may_match(&data[r.clone()])).collect();
        let n = matching.iter().filter(|m| **m).count();
        n * 2 <= ranges.len() && {
            st.decided = true;
            SCRATCH.with_borrow_mut(|scratch| {
                for (r, m) in ranges.iter().zip(matching) {
                    if !m {
                        st.out.seen += 1;
                        st.out.filtered += 1;
                        continue;
                    }
                    let mut tape = scratch.tape.take().unwrap_or_else(|| simd_json::tape::Tape(Vec::new())).reset();
                    match simd_json::fill_tape(&mut data[r.clone()], &mut scratch.buffers, &mut tape) {
                        Ok(()) => {
                            st.record(&tape.0, 0);
                        }
                        Err(e) => st.reject(format!("invalid JSON: {e}")),
                    }
                    scratch.tape = Some(tape.reset());
                }
            });
            true
        }
    };
    SPLIT.with_borrow_mut(|slot| *slot = ranges);
    done
}

/// The direct path for a delivery envelope: each record is read straight from the bytes into
/// the builder ([`crate::direct`]), without a tape. A record the direct reader is unsure of is
/// taken back and read alone with simd-json, as the tape path would read it. Returns false,
/// having taken back every row of the file, when the file is not valid UTF-8, not a
/// well-formed envelope, or holds a record simd-json refuses too: the tape path then reads
/// the whole file and reports its problems as it always has.
fn parse_direct(st: &mut State<'_, '_>, data: &[u8]) -> bool {
    let Ok(text) = simdutf8::basic::from_utf8(data) else {
        return false;
    };
    let first_row = st.sink.builder.len();
    st.decided = true; // the envelope itself says CloudTrail
    if read_envelope(st, text).is_err() {
        // Take back the rows not yet handed on; those that were are skipped by the tape path
        // (they are the file's first records, all loaded, and it would load them alike).
        st.sink.builder.truncate(if st.emitted > 0 { 0 } else { first_row });
        st.skip = st.emitted;
        st.out = ParseOutcome::default();
        st.decided = false;
        return false;
    }
    true
}

fn read_envelope(st: &mut State<'_, '_>, text: &str) -> crate::direct::Direct<()> {
    use crate::direct::{Bail, Cursor};
    let mut c = Cursor::new(text);
    c.ws();
    c.eat(b'{')?;
    c.ws();
    c.eat_str("\"Records\"")?;
    c.ws();
    c.eat(b':')?;
    c.ws();
    if c.peek()? != b'[' {
        return Err(Bail);
    }
    let mut tape_copy = Vec::new();
    if c.open(b']')? {
        loop {
            if c.peek()? != b'{' {
                return Err(Bail);
            }
            let at = c.pos;
            let rows = st.sink.builder.len();
            let src = st.source();
            if st.sink.builder.append_record_direct(&mut c, &src).is_ok() {
                st.out.seen += 1;
                st.out.loaded += 1;
                st.out.read_directly += 1;
                st.maybe_flush();
            } else {
                // Read this record alone with simd-json, as the tape path would.
                st.sink.builder.truncate(rows);
                let end = value_end(text.as_bytes(), at).ok_or(Bail)?;
                tape_copy.clear();
                tape_copy.extend_from_slice(&text.as_bytes()[at..end]);
                let tape = simd_json::to_tape(&mut tape_copy).map_err(|_| Bail)?;
                st.record(&tape.0, 0);
                c.pos = end;
            }
            if !c.next_or_close(b']')? {
                break;
            }
        }
    }
    c.ws();
    c.eat(b'}')?;
    c.ws();
    if c.at_end() { Ok(()) } else { Err(Bail) }
}

fn finish<'s, 'a>(st: State<'s, 'a>) -> ParseOutcome {
    let mut out = st.out;
    if out.not_cloudtrail {
        // Nothing was appended: the decision is taken before the first row.
        out.seen = 0;
        out.loaded = 0;
        out.filtered = 0;
        out.read_directly = 0;
        out.rejects.clear();
    }
    out
}

/// The slow path: walk top-level values with the byte scanner and parse records one by one.
fn salvage(st: &mut State<'_, '_>, data: &mut [u8]) {
    let mut pos = 0;
    loop {
        pos = skip_ws(data, pos);
        if pos >= data.len() || st.out.not_cloudtrail {
            return;
        }
        let end = value_end(data, pos);
        if starts_like_envelope(data, pos) {
            let stop = end.unwrap_or(data.len());
            // Try the whole envelope first: only its damaged records need the slow path.
            let mut copy = data[pos..stop].to_vec();
            if end.is_some()
                && let Ok(tape) = simd_json::to_tape(&mut copy)
            {
                st.document(&tape.0, 0);
                pos = stop;
                continue;
            }
            salvage_envelope(st, &mut data[pos..stop]);
            if end.is_none() {
                return;
            }
            pos = stop;
            continue;
        }
        match end {
            None => {
                st.reject(format!("record truncated: the input ends inside it (at byte {pos})"));
                st.fail("content ends inside a record (file truncated?)".to_string());
                return;
            }
            Some(end) => {
                // A stray delimiter (`]`, `,`, `}`) is a value of no length: it is rejected as
                // one byte, so that the walk always moves on.
                let end = end.max(pos + 1);
                if data[pos] == b'[' {
                    salvage_array(st, &mut data[pos..end], 0);
                } else {
                    one_record(st, &mut data[pos..end], true);
                }
                pos = end;
            }
        }
    }
}

/// One value in record position, parsed alone; a top-level value may also be an envelope.
fn one_record(st: &mut State<'_, '_>, bytes: &mut [u8], top_level: bool) {
    if bytes.first() != Some(&b'{') {
        let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        st.reject(format!("record is not a JSON object: {shown:?}"));
        return;
    }
    match simd_json::to_tape(bytes) {
        Ok(tape) if top_level => st.document(&tape.0, 0),
        Ok(tape) => {
            st.record(&tape.0, 0);
        }
        Err(e) => st.reject(format!("invalid JSON: {e}")),
    }
}

/// Records inside an envelope whose JSON is damaged somewhere.
fn salvage_envelope(st: &mut State<'_, '_>, bytes: &mut [u8]) {
    st.decided = true;
    let Some(k) = memchr::memmem::find(bytes, b"\"Records\"") else {
        return;
    };
    let colon = skip_ws(bytes, k + 9);
    let open = skip_ws(bytes, colon + 1);
    if bytes.get(colon) != Some(&b':') || bytes.get(open) != Some(&b'[') {
        st.fail("\"Records\" is not followed by an array".to_string());
        return;
    }
    salvage_array(st, bytes, open);
}

/// Elements of the array whose `[` is at `open`, each parsed alone.
fn salvage_array(st: &mut State<'_, '_>, bytes: &mut [u8], open: usize) {
    let mut pos = open + 1;
    loop {
        pos = skip_ws(bytes, pos);
        match bytes.get(pos) {
            None => {
                st.fail("content ends before the Records array is closed (file truncated?)".to_string());
                return;
            }
            Some(b']') => return,
            Some(b',') => {
                pos += 1;
                continue;
            }
            Some(_) => {}
        }
        match value_end(bytes, pos) {
            None => {
                st.reject(format!("record truncated: the input ends inside it (at byte {pos})"));
                st.fail("content ends inside a record (file truncated?)".to_string());
                return;
            }
            Some(end) => {
                let end = end.max(pos + 1);
                one_record(st, &mut bytes[pos..end], false);
                if st.out.not_cloudtrail {
                    return;
                }
                pos = end;
            }
        }
    }
}
