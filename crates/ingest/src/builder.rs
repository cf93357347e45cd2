//! Arrow column builders filled one record at a time, either from a simd-json tape or
//! straight from the record's bytes ([`crate::direct`]); both ways build the same rows.
//!
//! Only the projected columns are built. Nested structs (`useridentity`, `tlsdetails`, …) are
//! built whole when projected, unless the projection names the fields a query reads
//! ([`Leaves`]): the others are then left null. Whatever a typed column cannot hold without
//! loss (an unknown key, a duplicate key, an object where a string was expected) is kept
//! verbatim in the `extra` column when that column is projected.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray, RecordBatch, RecordBatchOptions, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{Date32Type, Field, Fields, Int64Type, SchemaRef, TimestampMicrosecondType};
use simd_json::{Node, StaticNode};

use crate::columns::{PrimBuilder, TextBuilder, Validity, reclaim_offsets, unwrap_array};
use crate::direct::{Bufs, Cursor, Direct};
use crate::json::{skip, write_scalar_text, write_str, write_value};
use crate::schema::{self, Kind, Leaves, Projection, RECORD_FIELDS, Spec};

/// Looks a JSON key up among a struct's known keys: exact match first, then ignoring ASCII
/// case (CloudTrail has changed the case of a few keys over the years, e.g. `ARN`/`arn`).
///
/// It also guesses the next key. CloudTrail writes an object's keys in nearly the same order
/// every time, so the key that followed a field last time is tried first, as the bytes
/// `"key":` straight in the input ([`Cursor::eat_key`]): one comparison instead of scanning
/// the key's string and searching the index.
#[derive(Debug)]
struct KeyIndex {
    specs: &'static [Spec],
    by_len: Vec<Vec<(&'static [u8], usize)>>,
    /// `"key":` for each spec this index finds (empty for the others).
    patterns: Vec<Box<[u8]>>,
    /// For each spec, then for the start of an object (last slot): the field that came next
    /// last time, or [`NO_GUESS`].
    next: Vec<u32>,
}

/// No guess: the key that came next is not known, or is not one this index finds.
const NO_GUESS: u32 = u32::MAX;

impl KeyIndex {
    fn new(specs: &'static [Spec]) -> Self {
        Self::only(specs, |_| true)
    }

    /// An index of the specs `keep` accepts (their positions in `specs` are kept); other
    /// keys are not found, so a record's keys that no built column needs cost one miss.
    fn only(specs: &'static [Spec], keep: impl Fn(usize) -> bool) -> Self {
        let max = specs.iter().map(|s| s.key.len()).max().unwrap_or(0);
        let mut by_len = vec![Vec::new(); max + 1];
        let mut patterns = vec![Box::default(); specs.len()];
        for (i, s) in specs.iter().enumerate().filter(|(i, _)| keep(*i)) {
            by_len[s.key.len()].push((s.key.as_bytes(), i));
            patterns[i] = format!("\"{}\":", s.key).into_bytes().into_boxed_slice();
        }
        Self { specs, by_len, patterns, next: vec![NO_GUESS; specs.len() + 1] }
    }

    /// The slot of [`next`](Self::next) for the start of an object.
    #[inline]
    fn start(&self) -> usize {
        self.specs.len()
    }

    #[inline]
    fn find(&self, key: &str) -> Option<usize> {
        let k = key.as_bytes();
        let bucket = self.by_len.get(k.len())?;
        bucket
            .iter()
            .find(|(c, _)| same_len_eq(c, k))
            .or_else(|| bucket.iter().find(|(c, _)| c.eq_ignore_ascii_case(k)))
            .map(|&(_, i)| i)
    }

    /// Reads the key at the cursor (and the colon after it); `prev` is the field read just
    /// before in this object ([`start`](Self::start) for the first, `None` after an unknown
    /// key). Returns the key as written and its field, if this index finds it.
    #[inline(always)]
    fn read_key<'a>(&mut self, c: &mut Cursor<'a>, prev: Option<usize>) -> Direct<(&'a str, Option<usize>)> {
        if let Some(p) = prev {
            let g = self.next[p];
            if g != NO_GUESS && c.eat_key(&self.patterns[g as usize]) {
                return Ok((self.specs[g as usize].key, Some(g as usize)));
            }
        }
        let key = c.key()?;
        let f = self.find(key);
        if let (Some(p), Some(f)) = (prev, f) {
            self.next[p] = f as u32;
        }
        Ok((key, f))
    }
}

/// Equality of two byte strings of the same length, without a call to `memcmp` for the short
/// keys CloudTrail uses (this runs for every key of every record).
#[inline(always)]
fn same_len_eq(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        // Two overlapping loads cover every byte.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// A struct column. Its children are padded with nulls lazily: a child holds rows only up to
/// its last value, and is filled up to the struct's row count when its next value comes or
/// when the struct is finished (most records lack most fields, and a null that is never
/// appended one at a time costs nothing). A child that already holds the current row has
/// seen its key before in the same object: a duplicate.
#[derive(Debug)]
struct StructCol {
    fields: Fields,
    keys: KeyIndex,
    children: Vec<Col>,
    validity: Validity,
}

/// Where a struct member's value goes ([`StructCol::member`]).
enum Member<'c> {
    /// Into this child, already padded up to the current row.
    Fill(&'c mut Col),
    /// Nowhere, without loss: the child is not built.
    Skip,
    /// Nowhere, with loss: the key is unknown or a duplicate.
    Lost,
}

#[derive(Debug)]
enum Col {
    Str(TextBuilder),
    Json(TextBuilder),
    Struct(Box<StructCol>),
    List {
        item: Box<StructCol>,
        offsets: Vec<i32>,
        validity: Validity,
    },
    /// A field that is not built: only its length is kept, and it finishes as all nulls.
    Nulls {
        data_type: arrow::datatypes::DataType,
        len: usize,
    },
}

impl StructCol {
    fn new(specs: &'static [Spec], leaves: &Leaves) -> Self {
        let sub: Vec<Option<&Leaves>> = specs.iter().map(|s| leaves.child(s.name)).collect();
        Self {
            fields: schema::struct_fields(specs),
            keys: KeyIndex::new(specs),
            children: specs
                .iter()
                .zip(&sub)
                .map(|(s, l)| match l {
                    Some(l) => Col::new(s.kind, l),
                    None => Col::Nulls { data_type: schema::data_type(s.kind), len: 0 },
                })
                .collect(),
            validity: Validity::default(),
        }
    }

    /// Rows of the struct (its children may hold fewer: see [`StructCol`]).
    #[inline]
    fn len(&self) -> usize {
        self.validity.len()
    }

    fn append_null(&mut self) {
        self.validity.append_null();
    }

    /// Where `key`'s value goes in the object being appended as row `row`.
    #[inline]
    fn member(&mut self, key: &str, row: usize) -> Member<'_> {
        let f = self.keys.find(key);
        self.member_at(f, row)
    }

    /// Where the value of field `f` (`None`: an unknown key) goes in the object being
    /// appended as row `row`.
    #[inline]
    fn member_at(&mut self, f: Option<usize>, row: usize) -> Member<'_> {
        let Some(f) = f else { return Member::Lost };
        let child = &mut self.children[f];
        if matches!(child, Col::Nulls { .. }) {
            return Member::Skip;
        }
        if child.len() > row {
            return Member::Lost;
        }
        child.pad_to(row);
        Member::Fill(child)
    }

    /// Appends the object at `i`; returns the next index and whether it fitted without loss.
    fn append_object(&mut self, nodes: &[Node<'_>], i: usize, scratch: &mut String) -> (usize, bool) {
        let Node::Object { len, .. } = nodes[i] else { unreachable!("caller checks for an object") };
        let row = self.len();
        let mut lossless = true;
        let mut j = i + 1;
        for _ in 0..len {
            let key = match nodes[j] {
                Node::String(k) => k,
                _ => "",
            };
            j += 1;
            match self.member(key, row) {
                Member::Fill(child) => {
                    let (next, ok) = child.append(nodes, j, scratch);
                    lossless &= ok;
                    j = next;
                }
                // A field no query reads is left null, unexamined (`extra`, which needs
                // `lossless`, turns this off).
                Member::Skip => j = skip(nodes, j),
                Member::Lost => {
                    lossless = false;
                    j = skip(nodes, j);
                }
            }
        }
        self.validity.append_non_null();
        (j, lossless)
    }

    /// Keeps the first `rows` rows.
    fn truncate(&mut self, rows: usize) {
        for c in &mut self.children {
            c.truncate(rows);
        }
        self.validity.truncate(rows);
    }

    /// [`append_object`](Self::append_object) read straight from the bytes (the cursor is
    /// at `{`).
    fn append_object_direct(&mut self, c: &mut Cursor<'_>, bufs: &mut Bufs) -> Direct<bool> {
        let row = self.len();
        let mut lossless = true;
        if c.open(b'}')? {
            let mut prev = Some(self.keys.start());
            loop {
                let (_, f) = self.keys.read_key(c, prev)?;
                prev = f;
                match self.member_at(f, row) {
                    Member::Fill(child) => lossless &= child.append_direct(c, bufs)?,
                    Member::Skip => c.skip(bufs)?,
                    Member::Lost => {
                        lossless = false;
                        c.skip(bufs)?;
                    }
                }
                if !c.next_or_close(b'}')? {
                    break;
                }
            }
        }
        self.validity.append_non_null();
        Ok(lossless)
    }

    fn finish(&mut self) -> StructArray {
        let rows = self.len();
        let children: Vec<ArrayRef> = self
            .children
            .iter_mut()
            .map(|c| {
                c.pad_to(rows);
                c.finish()
            })
            .collect();
        StructArray::try_new(self.fields.clone(), children, self.validity.finish())
            .expect("struct children are built in lockstep")
    }

    /// Hands the children of a struct this column finished back to their builders
    /// ([`TextBuilder::recycle`]).
    fn recycle(&mut self, array: ArrayRef) {
        let Some(array) = unwrap_array::<StructArray>(array) else { return };
        let (_, children, _) = array.into_parts();
        for (c, a) in self.children.iter_mut().zip(children) {
            c.recycle(a);
        }
    }
}

impl Col {
    fn new(kind: Kind, leaves: &Leaves) -> Self {
        match kind {
            Kind::Str => Col::Str(TextBuilder::new()),
            Kind::Json => Col::Json(TextBuilder::new()),
            Kind::Struct(specs) => Col::Struct(Box::new(StructCol::new(specs, leaves))),
            Kind::ListOfStruct(specs) => Col::List {
                item: Box::new(StructCol::new(specs, &Leaves::All)),
                offsets: vec![0],
                validity: Validity::default(),
            },
        }
    }

    fn append_null(&mut self) {
        match self {
            Col::Str(b) | Col::Json(b) => b.append_null(),
            Col::Nulls { len, .. } => *len += 1,
            Col::Struct(s) => s.append_null(),
            Col::List { offsets, validity, .. } => {
                offsets.push(*offsets.last().expect("offsets start at 0"));
                validity.append_null();
            }
        }
    }

    /// Rows appended.
    #[inline]
    fn len(&self) -> usize {
        match self {
            Col::Str(b) | Col::Json(b) => b.len(),
            Col::Nulls { len, .. } => *len,
            Col::Struct(s) => s.len(),
            Col::List { offsets, .. } => offsets.len() - 1,
        }
    }

    /// Appends nulls up to `rows` rows.
    #[inline(always)]
    fn pad_to(&mut self, rows: usize) {
        if self.len() < rows {
            self.pad_more(rows);
        }
    }

    /// [`pad_to`](Self::pad_to) when nulls are missing (out of line: most calls find none).
    #[inline(never)]
    fn pad_more(&mut self, rows: usize) {
        let n = rows - self.len();
        match self {
            Col::Str(b) | Col::Json(b) => b.append_nulls(n),
            Col::Nulls { len, .. } => *len = rows,
            Col::Struct(s) => s.validity.append_n_nulls(n),
            Col::List { offsets, validity, .. } => {
                let last = *offsets.last().expect("offsets start at 0");
                offsets.resize(offsets.len() + n, last);
                validity.append_n_nulls(n);
            }
        }
    }

    /// Appends the value at tape index `i`; returns the next index and whether the value was
    /// represented without loss.
    fn append(&mut self, nodes: &[Node<'_>], i: usize, scratch: &mut String) -> (usize, bool) {
        match self {
            Col::Nulls { len, .. } => {
                *len += 1;
                (skip(nodes, i), true)
            }
            Col::Str(b) => match nodes[i] {
                Node::String(s) => {
                    b.append_value(s);
                    (i + 1, true)
                }
                Node::Static(StaticNode::Null) => {
                    b.append_null();
                    (i + 1, true)
                }
                Node::Static(ref v) => {
                    scratch.clear();
                    write_scalar_text(scratch, v);
                    b.append_value(&*scratch);
                    (i + 1, true)
                }
                Node::Object { .. } | Node::Array { .. } => {
                    scratch.clear();
                    let next = write_value(nodes, i, scratch);
                    b.append_value(&*scratch);
                    (next, false)
                }
            },
            Col::Json(b) => match nodes[i] {
                Node::Static(StaticNode::Null) => {
                    b.append_null();
                    (i + 1, true)
                }
                _ => {
                    scratch.clear();
                    let next = write_value(nodes, i, scratch);
                    b.append_value(&*scratch);
                    (next, true)
                }
            },
            Col::Struct(s) => match nodes[i] {
                Node::Object { .. } => s.append_object(nodes, i, scratch),
                Node::Static(StaticNode::Null) => {
                    s.append_null();
                    (i + 1, true)
                }
                _ => {
                    s.append_null();
                    (skip(nodes, i), false)
                }
            },
            Col::List { item, offsets, validity } => match nodes[i] {
                Node::Array { len, .. } => {
                    let mut lossless = true;
                    let mut j = i + 1;
                    for _ in 0..len {
                        match nodes[j] {
                            Node::Object { .. } => {
                                let (next, ok) = item.append_object(nodes, j, scratch);
                                lossless &= ok;
                                j = next;
                            }
                            Node::Static(StaticNode::Null) => {
                                item.append_null();
                                j += 1;
                            }
                            _ => {
                                item.append_null();
                                lossless = false;
                                j = skip(nodes, j);
                            }
                        }
                    }
                    let last = *offsets.last().expect("offsets start at 0");
                    offsets.push(last + len as i32);
                    validity.append_non_null();
                    (j, lossless)
                }
                Node::Static(StaticNode::Null) => {
                    self.append_null();
                    (i + 1, true)
                }
                _ => {
                    self.append_null();
                    (skip(nodes, i), false)
                }
            },
        }
    }

    /// Keeps the first `rows` rows.
    fn truncate(&mut self, rows: usize) {
        match self {
            Col::Str(b) | Col::Json(b) => b.truncate(rows),
            Col::Nulls { len, .. } => *len = (*len).min(rows),
            Col::Struct(s) => s.truncate(rows),
            Col::List { item, offsets, validity } => {
                // The items of a list cut short mid-way (no offset yet) go too.
                let keep = rows.min(offsets.len() - 1);
                item.truncate(offsets[keep] as usize);
                offsets.truncate(keep + 1);
                validity.truncate(rows);
            }
        }
    }

    /// [`append`](Self::append) read straight from the bytes: appends the value at the
    /// cursor and moves past it; returns whether it was represented without loss.
    fn append_direct(&mut self, c: &mut Cursor<'_>, bufs: &mut Bufs) -> Direct<bool> {
        match self {
            Col::Nulls { len, .. } => {
                c.skip(bufs)?;
                *len += 1;
                Ok(true)
            }
            Col::Str(b) => match c.peek()? {
                b'"' => {
                    c.string()?.unescape_into(b, bufs)?;
                    b.end_value();
                    Ok(true)
                }
                b'{' | b'[' => {
                    c.json(b, bufs)?;
                    b.end_value();
                    Ok(false)
                }
                _ if c.null()? => {
                    b.append_null();
                    Ok(true)
                }
                _ => {
                    c.scalar_text(b, bufs)?;
                    b.end_value();
                    Ok(true)
                }
            },
            Col::Json(b) => {
                if c.null()? {
                    b.append_null();
                } else {
                    c.json_text(b, bufs)?;
                    b.end_value();
                }
                Ok(true)
            }
            Col::Struct(s) => match c.peek()? {
                b'{' => s.append_object_direct(c, bufs),
                _ => self.null_direct(c, bufs),
            },
            Col::List { item, offsets, validity } => match c.peek()? {
                b'[' => {
                    let mut lossless = true;
                    let mut len = 0;
                    if c.open(b']')? {
                        loop {
                            len += 1;
                            match c.peek()? {
                                b'{' => lossless &= item.append_object_direct(c, bufs)?,
                                _ if c.null()? => item.append_null(),
                                _ => {
                                    c.skip(bufs)?;
                                    item.append_null();
                                    lossless = false;
                                }
                            }
                            if !c.next_or_close(b']')? {
                                break;
                            }
                        }
                    }
                    let last = *offsets.last().expect("offsets start at 0");
                    offsets.push(last + len);
                    validity.append_non_null();
                    Ok(lossless)
                }
                _ => self.null_direct(c, bufs),
            },
        }
    }

    /// A struct or list column met `null` (kept as a null) or a value of another type (a
    /// null too, but not without loss).
    fn null_direct(&mut self, c: &mut Cursor<'_>, bufs: &mut Bufs) -> Direct<bool> {
        let is_null = c.null()?;
        if !is_null {
            c.skip(bufs)?;
        }
        self.append_null();
        Ok(is_null)
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Str(b) | Col::Json(b) => Arc::new(b.finish()),
            Col::Nulls { data_type, len } => arrow::array::new_null_array(data_type, std::mem::take(len)),
            Col::Struct(s) => Arc::new(s.finish()),
            Col::List { item, offsets, validity } => {
                let values = item.finish();
                let field = Arc::new(Field::new("item", values.data_type().clone(), true));
                let offs = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                Arc::new(
                    ListArray::try_new(field, offs, Arc::new(values), validity.finish())
                        .expect("list offsets are built in lockstep"),
                )
            }
        }
    }

    /// Hands the vectors of a column this builder finished back to it
    /// ([`TextBuilder::recycle`]).
    fn recycle(&mut self, array: ArrayRef) {
        match self {
            Col::Str(b) | Col::Json(b) => b.recycle(array),
            Col::Nulls { .. } => {}
            Col::Struct(s) => s.recycle(array),
            Col::List { item, offsets, .. } => {
                let Some(list) = unwrap_array::<ListArray>(array) else { return };
                let (_, offs, values, _) = list.into_parts();
                item.recycle(values);
                if offsets.len() == 1 {
                    reclaim_offsets(offs, offsets);
                }
            }
        }
    }
}

/// Where a record came from: the provenance and partition values stored beside it.
#[derive(Debug, Clone, Copy)]
pub struct RecordSource<'a> {
    /// Evidence file path as reported to the user.
    pub path: &'a str,
    /// 0-based position of the record in its file.
    pub index: u64,
    /// Account ID from the S3 key, if the path has one.
    pub account: Option<&'a str>,
    /// Region from the S3 key.
    pub region: Option<&'a str>,
    /// Delivery date from the S3 key, as days since the epoch.
    pub date: Option<i32>,
}

/// Position of `eventTime` in [`RECORD_FIELDS`].
const EVENT_TIME: usize = 2;

/// Builds `cloudtrail` record batches for a projection, one record at a time.
#[derive(Debug)]
pub struct BatchBuilder {
    projection: Projection,
    schema: SchemaRef,
    keys: KeyIndex,
    /// For each of [`RECORD_FIELDS`], its builder, if it is built.
    cols: Vec<Option<Col>>,
    event_ts: Option<PrimBuilder<TimestampMicrosecondType>>,
    evidence_path: Option<TextBuilder>,
    evidence_index: Option<PrimBuilder<Int64Type>>,
    path_account: Option<TextBuilder>,
    path_region: Option<TextBuilder>,
    path_date: Option<PrimBuilder<Date32Type>>,
    extra: Option<TextBuilder>,
    evidence_verification: Option<TextBuilder>,
    /// Verification status of the file being read (a per-file constant, like its path).
    verification: Option<String>,
    rows: usize,
    scratch: String,
    extra_buf: String,
    bufs: Bufs,
    direct: bool,
}

impl BatchBuilder {
    /// A builder for the given projection of the `cloudtrail` schema.
    pub fn new(projection: Projection) -> Self {
        let wants = |c: usize| projection.columns().contains(&c);
        let want_extra = wants(schema::COL_EXTRA);
        // `extra` needs to know what every typed column could not hold, so it builds them all.
        let cols = RECORD_FIELDS
            .iter()
            .enumerate()
            .map(|(i, f)| (want_extra || wants(i)).then(|| Col::new(f.kind, projection.leaves(i))))
            .collect();
        Self {
            schema: projection.schema(),
            // Without `extra`, keys of columns that are not built need not be told apart from
            // unknown ones (`eventTime` is always found: `event_ts` is made from it).
            keys: KeyIndex::only(RECORD_FIELDS, |i| want_extra || wants(i) || i == EVENT_TIME),
            cols,
            event_ts: wants(schema::COL_EVENT_TS).then(|| PrimBuilder::with_data_type(schema::event_ts_type())),
            evidence_path: wants(schema::COL_EVIDENCE_PATH).then(TextBuilder::new),
            evidence_index: wants(schema::COL_EVIDENCE_INDEX).then(PrimBuilder::new),
            path_account: wants(schema::COL_PATH_ACCOUNT).then(TextBuilder::new),
            path_region: wants(schema::COL_PATH_REGION).then(TextBuilder::new),
            path_date: wants(schema::COL_PATH_DATE).then(PrimBuilder::new),
            extra: want_extra.then(TextBuilder::new),
            evidence_verification: wants(schema::COL_EVIDENCE_VERIFICATION).then(TextBuilder::new),
            verification: None,
            projection,
            rows: 0,
            scratch: String::new(),
            extra_buf: String::new(),
            bufs: Bufs::default(),
            direct: std::env::var_os("TRAILSIFT_TAPE_ONLY").is_none(),
        }
    }

    /// Whether envelopes are read straight from their bytes ([`crate::direct`]; on by
    /// default). Off, every record goes through the simd-json tape (the tests compare both).
    pub fn direct(&self) -> bool {
        self.direct
    }

    /// Turns the direct reader on or off.
    pub fn set_direct(&mut self, on: bool) {
        self.direct = on;
    }

    /// The schema of the batches this builder produces.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Sets the `evidence_verification` value of the records appended next (the status of
    /// the file they come from; `None` when no verification was asked).
    pub fn set_verification(&mut self, status: Option<&str>) {
        if self.verification.as_deref() != status {
            self.verification = status.map(str::to_string);
        }
    }

    /// Whether field `f` is met for the first time in the record being appended (a key met
    /// again is lost, as an unknown one is). A built column that already holds this row has
    /// had its key, since columns are padded lazily; of the fields not built, only
    /// `eventTime` matters (`event_ts` is made from it), and `event_time_met` tells.
    #[inline]
    fn first_time(&self, f: usize, event_time_met: bool) -> bool {
        match &self.cols[f] {
            Some(col) => col.len() <= self.rows,
            None => f != EVENT_TIME || !event_time_met,
        }
    }

    /// Appends the record whose object starts at tape index `i`.
    ///
    /// # Panics
    /// If `nodes[i]` is not an object: callers reject non-object records before this.
    pub fn append_record(&mut self, nodes: &[Node<'_>], i: usize, src: &RecordSource<'_>) {
        let Node::Object { len, .. } = nodes[i] else { panic!("append_record needs an object") };
        let want_extra = self.extra.is_some();
        self.extra_buf.clear();
        let mut event_time: Option<&str> = None;
        let mut event_time_met = false;
        let mut j = i + 1;
        for _ in 0..len {
            let key = match nodes[j] {
                Node::String(k) => k,
                _ => "",
            };
            let value_at = j + 1;
            let field = self.keys.find(key).filter(|&f| self.first_time(f, event_time_met));
            let next = match field {
                Some(f) => {
                    if f == EVENT_TIME {
                        event_time_met = true;
                        if let Node::String(t) = nodes[value_at] {
                            event_time = Some(t);
                        }
                    }
                    match &mut self.cols[f] {
                        Some(col) => {
                            col.pad_to(self.rows);
                            let (next, lossless) = col.append(nodes, value_at, &mut self.scratch);
                            if !lossless && want_extra {
                                push_extra(&mut self.extra_buf, nodes, key, value_at);
                            }
                            next
                        }
                        None => skip(nodes, value_at),
                    }
                }
                None => {
                    if want_extra {
                        push_extra(&mut self.extra_buf, nodes, key, value_at);
                    }
                    skip(nodes, value_at)
                }
            };
            j = next;
        }
        let ts = event_time.and_then(crate::time::parse_timestamp_micros);
        self.end_record(ts, src);
    }

    /// Appends the record whose object starts at the cursor (at its `{`), read straight from
    /// the bytes, and moves the cursor past it. On [`Bail`](crate::direct::Bail) the record
    /// is partly appended: the caller must [`truncate`](Self::truncate) to the rows it had.
    pub fn append_record_direct(&mut self, c: &mut Cursor<'_>, src: &RecordSource<'_>) -> Direct<()> {
        let want_extra = self.extra.is_some();
        self.extra_buf.clear();
        let mut event_time_at = None;
        if c.open(b'}')? {
            let mut prev = Some(self.keys.start());
            loop {
                let (key, f) = self.keys.read_key(c, prev)?;
                prev = f;
                let value_at = c.pos;
                match f.filter(|&f| self.first_time(f, event_time_at.is_some())) {
                    Some(f) => {
                        if f == EVENT_TIME {
                            event_time_at = Some(value_at);
                        }
                        match &mut self.cols[f] {
                            Some(col) => {
                                col.pad_to(self.rows);
                                if !col.append_direct(c, &mut self.bufs)? && want_extra {
                                    let mut again = c.clone();
                                    again.pos = value_at;
                                    push_extra_direct(&mut self.extra_buf, key, &mut again, &mut self.bufs)?;
                                }
                            }
                            None => c.skip(&mut self.bufs)?,
                        }
                    }
                    None if want_extra => push_extra_direct(&mut self.extra_buf, key, c, &mut self.bufs)?,
                    None => c.skip(&mut self.bufs)?,
                }
                if !c.next_or_close(b'}')? {
                    break;
                }
            }
        }
        let mut ts = None;
        if let Some(at) = event_time_at {
            let mut t = c.clone();
            t.pos = at;
            if t.peek()? == b'"' {
                let s = t.string()?;
                ts = match s.plain() {
                    Some(p) => crate::time::parse_timestamp_micros(p),
                    None => {
                        let mut text = String::new();
                        s.unescape_into(&mut text, &mut self.bufs)?;
                        crate::time::parse_timestamp_micros(&text)
                    }
                };
            }
        }
        self.end_record(ts, src);
        Ok(())
    }

    /// Keeps only the first `rows` pending rows: takes back records appended since (also one
    /// cut short by a [`Bail`](crate::direct::Bail)).
    pub fn truncate(&mut self, rows: usize) {
        for col in self.cols.iter_mut().flatten() {
            col.truncate(rows);
        }
        let texts = [
            &mut self.evidence_path,
            &mut self.path_account,
            &mut self.path_region,
            &mut self.extra,
            &mut self.evidence_verification,
        ];
        for b in texts.into_iter().flatten() {
            b.truncate(rows);
        }
        if let Some(b) = &mut self.event_ts {
            b.truncate(rows);
        }
        if let Some(b) = &mut self.evidence_index {
            b.truncate(rows);
        }
        if let Some(b) = &mut self.path_date {
            b.truncate(rows);
        }
        self.rows = self.rows.min(rows);
    }

    /// Appends a record's derived and provenance columns. Its missing fields are not filled
    /// here: a column is padded with nulls when its next value comes, or when it is finished.
    fn end_record(&mut self, event_ts: Option<i64>, src: &RecordSource<'_>) {
        if let Some(b) = &mut self.event_ts {
            b.append_option(event_ts);
        }
        if let Some(b) = &mut self.evidence_path {
            b.append_value(src.path);
        }
        if let Some(b) = &mut self.evidence_index {
            b.append_value(src.index as i64);
        }
        if let Some(b) = &mut self.path_account {
            b.append_option(src.account);
        }
        if let Some(b) = &mut self.path_region {
            b.append_option(src.region);
        }
        if let Some(b) = &mut self.path_date {
            b.append_option(src.date);
        }
        if let Some(b) = &mut self.evidence_verification {
            b.append_option(self.verification.as_deref());
        }
        if let Some(b) = &mut self.extra {
            if self.extra_buf.is_empty() {
                b.append_null();
            } else {
                self.extra_buf.push('}');
                b.append_value(&self.extra_buf);
            }
        }
        self.rows += 1;
    }

    /// Takes the pending rows as a batch (`None` when there are none).
    pub fn finish(&mut self) -> Option<RecordBatch> {
        if self.rows == 0 {
            return None;
        }
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.projection.columns().len());
        for &c in self.projection.columns() {
            let a: ArrayRef = match c {
                c if c < schema::FIRST_DERIVED => {
                    let col = self.cols[c].as_mut().expect("projected column is built");
                    col.pad_to(self.rows);
                    col.finish()
                }
                schema::COL_EVENT_TS => Arc::new(self.event_ts.as_mut().expect("projected").finish()),
                schema::COL_EVIDENCE_PATH => Arc::new(self.evidence_path.as_mut().expect("projected").finish()),
                schema::COL_EVIDENCE_INDEX => Arc::new(self.evidence_index.as_mut().expect("projected").finish()),
                schema::COL_PATH_ACCOUNT => Arc::new(self.path_account.as_mut().expect("projected").finish()),
                schema::COL_PATH_REGION => Arc::new(self.path_region.as_mut().expect("projected").finish()),
                schema::COL_PATH_DATE => Arc::new(self.path_date.as_mut().expect("projected").finish()),
                schema::COL_EVIDENCE_VERIFICATION => {
                    Arc::new(self.evidence_verification.as_mut().expect("projected").finish())
                }
                _ => Arc::new(self.extra.as_mut().expect("projected").finish()),
            };
            arrays.push(a);
        }
        // Columns built only for `extra` are reset too, so the next batch starts clean.
        for (c, col) in self.cols.iter_mut().enumerate() {
            if let Some(col) = col
                && !self.projection.columns().contains(&c)
            {
                let done = col.finish();
                col.recycle(done);
            }
        }
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        Some(
            RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
                .expect("builders match the projected schema"),
        )
    }

    /// Takes back the vectors of a batch this builder finished, once it has been written
    /// and nothing else holds its columns, so that the next batch reuses them (see
    /// [`TextBuilder::recycle`]). A batch from elsewhere, or one still shared, changes nothing.
    pub fn recycle(&mut self, batch: RecordBatch) {
        if !Arc::ptr_eq(&batch.schema(), &self.schema) {
            return;
        }
        let arrays = batch.columns().to_vec();
        drop(batch);
        for (&c, a) in self.projection.columns().iter().zip(arrays) {
            match c {
                c if c < schema::FIRST_DERIVED => {
                    if let Some(col) = self.cols[c].as_mut() {
                        col.recycle(a);
                    }
                }
                schema::COL_EVENT_TS => {
                    if let Some(b) = self.event_ts.as_mut() {
                        b.recycle(a);
                    }
                }
                schema::COL_EVIDENCE_INDEX => {
                    if let Some(b) = self.evidence_index.as_mut() {
                        b.recycle(a);
                    }
                }
                schema::COL_PATH_DATE => {
                    if let Some(b) = self.path_date.as_mut() {
                        b.recycle(a);
                    }
                }
                _ => {
                    let text = match c {
                        schema::COL_EVIDENCE_PATH => &mut self.evidence_path,
                        schema::COL_PATH_ACCOUNT => &mut self.path_account,
                        schema::COL_PATH_REGION => &mut self.path_region,
                        schema::COL_EVIDENCE_VERIFICATION => &mut self.evidence_verification,
                        _ => &mut self.extra,
                    };
                    if let Some(b) = text {
                        b.recycle(a);
                    }
                }
            }
        }
    }
}

fn push_extra_direct(buf: &mut String, key: &str, c: &mut Cursor<'_>, bufs: &mut Bufs) -> Direct<()> {
    buf.push(if buf.is_empty() { '{' } else { ',' });
    write_str(buf, key);
    buf.push(':');
    c.json(buf, bufs)
}

fn push_extra(buf: &mut String, nodes: &[Node<'_>], key: &str, value_at: usize) {
    buf.push(if buf.is_empty() { '{' } else { ',' });
    write_str(buf, key);
    buf.push(':');
    write_value(nodes, value_at, buf);
}

#[cfg(test)]
mod tests {
    use super::same_len_eq;

    #[test]
    fn short_key_equality_is_exact() {
        let keys = [
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
        ];
        for k in keys {
            assert!(same_len_eq(k.as_bytes(), k.as_bytes()), "{k}");
            // Any one byte changed is seen, wherever it is.
            for i in 0..k.len() {
                let mut other = k.as_bytes().to_vec();
                other[i] ^= 0x20;
                assert!(!same_len_eq(k.as_bytes(), &other), "{k} at {i}");
            }
        }
    }
}
