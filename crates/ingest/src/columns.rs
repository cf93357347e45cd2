//! Column builders that can be cut back to a given number of rows.
//!
//! Arrow's own builders only grow. The direct parser ([`crate::direct`]) appends a file's
//! records as it reads them and, when a record turns out to need the tape parser after all,
//! it must take back what it appended. These builders keep their values in plain vectors, so
//! that taking back is a `truncate`, and hand them to Arrow without a copy when finished.

use arrow::array::builder::BooleanBufferBuilder;
use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, StringArray};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::ArrowNativeType;

/// Largest vector a builder takes back for its next batch. A batch of 8,192 ordinary records
/// fills at most a few MiB per column; one made of a few huge records (megabytes of
/// `requestParameters` each) is let go, so that one odd file does not keep its memory held
/// for the rest of an ingest.
pub const MAX_RECLAIMED_BYTES: usize = 32 << 20;

/// The vector behind `buffer`, emptied, when nothing else holds the buffer, it was made from
/// a vector of `T`, and it holds at most [`MAX_RECLAIMED_BYTES`] (`None` otherwise).
pub fn reclaim<T: ArrowNativeType>(buffer: Buffer) -> Option<Vec<T>> {
    if buffer.capacity() > MAX_RECLAIMED_BYTES {
        return None;
    }
    let mut v = buffer.into_vec::<T>().ok()?;
    v.clear();
    Some(v)
}

/// Takes back the offsets vector behind `offsets` into `into` (left as one leading 0, ready
/// for the next batch) when [`reclaim`] gives it back and it is bigger than `into`'s.
pub fn reclaim_offsets(offsets: OffsetBuffer<i32>, into: &mut Vec<i32>) {
    if let Some(mut v) = reclaim::<i32>(offsets.into_inner().into_inner())
        && v.capacity() > into.capacity()
    {
        v.push(0);
        *into = v;
    }
}

/// The concrete array behind `array`, with `array` itself dropped, so that the buffers are
/// held once (by the returned array) when nothing else held `array`.
pub fn unwrap_array<A: Array + Clone + 'static>(array: ArrayRef) -> Option<A> {
    let owned = array.as_any().downcast_ref::<A>()?.clone();
    drop(array);
    Some(owned)
}

/// Which rows of a column are null, kept as runs of null rows: a value costs one addition,
/// and the long runs of absent fields one entry each. Arrow's `NullBufferBuilder` sets a bit
/// for every row once the first null is met; with it, `TextBuilder::end_value` was 3.3 % of
/// ingest's perf samples, and this took 1.8 % of the instructions off ingest. The bitmap is
/// made once, when the column is finished.
#[derive(Debug, Default)]
pub struct Validity {
    len: usize,
    /// `(first row, rows)` of each run of nulls, in order; touching runs are one run.
    runs: Vec<(usize, usize)>,
}

impl Validity {
    /// Rows so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no rows were appended.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a row that holds a value.
    #[inline(always)]
    pub fn append_non_null(&mut self) {
        self.len += 1;
    }

    /// Appends a null row.
    #[inline]
    pub fn append_null(&mut self) {
        self.append_n_nulls(1);
    }

    /// Appends `n` null rows.
    #[inline]
    pub fn append_n_nulls(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        match self.runs.last_mut() {
            Some((first, rows)) if *first + *rows == self.len => *rows += n,
            _ => self.runs.push((self.len, n)),
        }
        self.len += n;
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        if rows >= self.len {
            return;
        }
        self.len = rows;
        while let Some((first, n)) = self.runs.last_mut() {
            if *first >= rows {
                self.runs.pop();
            } else {
                *n = (*n).min(rows - *first);
                break;
            }
        }
    }

    /// The null bitmap of the rows so far (`None` when none is null); starts again empty.
    pub fn finish(&mut self) -> Option<NullBuffer> {
        let len = std::mem::take(&mut self.len);
        if self.runs.is_empty() {
            return None;
        }
        let mut bits = BooleanBufferBuilder::new(len);
        let mut at = 0;
        for (first, n) in self.runs.drain(..) {
            bits.append_n(first - at, true);
            bits.append_n(n, false);
            at = first + n;
        }
        bits.append_n(len - at, true);
        Some(NullBuffer::new(bits.finish()))
    }
}

/// A UTF-8 column: values appended as `&str` (or written piecewise with
/// [`push_str`](Self::push_str) and closed with [`end_value`](Self::end_value)).
#[derive(Debug)]
pub struct TextBuilder {
    /// End offset of every row (the first entry is 0).
    offsets: Vec<i32>,
    /// Every value, back to back. A `String`, so it is valid UTF-8 by construction.
    data: String,
    nulls: Validity,
}

impl Default for TextBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TextBuilder {
    /// An empty column.
    pub fn new() -> Self {
        Self { offsets: vec![0], data: String::new(), nulls: Validity::default() }
    }

    /// Rows appended.
    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether no rows were appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a value.
    #[inline]
    pub fn append_value(&mut self, v: &str) {
        self.data.push_str(v);
        self.end_value();
    }

    /// Appends `v`, or a null for `None`.
    #[inline]
    pub fn append_option(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    /// Appends a null.
    #[inline]
    pub fn append_null(&mut self) {
        self.offsets.push(self.offsets[self.offsets.len() - 1]);
        self.nulls.append_null();
    }

    /// Appends `n` nulls.
    #[inline]
    pub fn append_nulls(&mut self, n: usize) {
        let end = self.offsets[self.offsets.len() - 1];
        self.offsets.resize(self.offsets.len() + n, end);
        self.nulls.append_n_nulls(n);
    }

    /// Adds text to the value being written (closed by [`end_value`](Self::end_value)).
    #[inline]
    pub fn push_str(&mut self, s: &str) {
        self.data.push_str(s);
    }

    /// Adds a character to the value being written.
    #[inline]
    pub fn push_char(&mut self, c: char) {
        self.data.push(c);
    }

    /// Closes the value written since the last row as a non-null row.
    #[inline]
    pub fn end_value(&mut self) {
        let end = i32::try_from(self.data.len()).expect("a column batch holds less than 2 GiB of text");
        self.offsets.push(end);
        self.nulls.append_non_null();
    }

    /// Drops whatever was written since the last row was closed.
    #[inline]
    pub fn abandon_value(&mut self) {
        self.data.truncate(self.offsets[self.offsets.len() - 1] as usize);
    }

    /// Keeps only the first `rows` rows (and drops any value being written).
    pub fn truncate(&mut self, rows: usize) {
        if rows < self.len() {
            self.offsets.truncate(rows + 1);
            self.nulls.truncate(rows);
        }
        self.abandon_value();
    }

    /// The column so far as an array; the builder starts again empty.
    pub fn finish(&mut self) -> StringArray {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let data = std::mem::take(&mut self.data).into_bytes();
        let nulls = self.nulls.finish();
        // SAFETY: the offsets start at 0 and never decrease (each is the length `data` had
        // when a row was closed, and `truncate` keeps a prefix of them together with the text
        // they cover); every offset was taken at the end of a `push_str`/`push` of a `String`,
        // so it falls on a character boundary, and `data` is a `String`, so valid UTF-8.
        unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                Buffer::from_vec(data),
                nulls,
            )
        }
    }

    /// Takes back the vectors of a column this builder finished, once the batch is written
    /// and nothing else holds them: the next batch then writes into memory that is already
    /// allocated (and warm) instead of growing new vectors from nothing, which copied every
    /// text byte again on each doubling (`realloc` was 4.5 % of ingest's instructions). Does
    /// nothing when the builder already holds rows or the array is not one of its own.
    pub fn recycle(&mut self, array: ArrayRef) {
        let Some(array) = unwrap_array::<StringArray>(array) else { return };
        if !self.is_empty() || !self.data.is_empty() {
            return;
        }
        let (offsets, values, _) = array.into_parts();
        if let Some(v) = reclaim::<u8>(values)
            && v.capacity() > self.data.capacity()
        {
            self.data = String::from_utf8(v).expect("an empty vector is UTF-8");
        }
        reclaim_offsets(offsets, &mut self.offsets);
    }
}

/// A column of fixed-width values (`Int64`, `Date32`, timestamps).
#[derive(Debug)]
pub struct PrimBuilder<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: Validity,
    data_type: arrow::datatypes::DataType,
}

impl<T: ArrowPrimitiveType> PrimBuilder<T> {
    /// An empty column of `T`'s default type.
    pub fn new() -> Self {
        Self::with_data_type(T::DATA_TYPE)
    }

    /// An empty column of `data_type` (e.g. a timestamp with a time zone).
    pub fn with_data_type(data_type: arrow::datatypes::DataType) -> Self {
        Self { values: Vec::new(), nulls: Validity::default(), data_type }
    }

    /// Rows appended.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no rows were appended.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Appends a value.
    #[inline]
    pub fn append_value(&mut self, v: T::Native) {
        self.values.push(v);
        self.nulls.append_non_null();
    }

    /// Appends `v`, or a null for `None`.
    #[inline]
    pub fn append_option(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.append_value(v),
            None => {
                self.values.push(T::Native::default());
                self.nulls.append_null();
            }
        }
    }

    /// Keeps only the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        if rows < self.values.len() {
            self.values.truncate(rows);
            self.nulls.truncate(rows);
        }
    }

    /// The column so far as an array; the builder starts again empty.
    pub fn finish(&mut self) -> PrimitiveArray<T> {
        let values = ScalarBuffer::from(std::mem::take(&mut self.values));
        PrimitiveArray::<T>::new(values, self.nulls.finish()).with_data_type(self.data_type.clone())
    }

    /// Takes back the values vector of a column this builder finished (as
    /// [`TextBuilder::recycle`] does).
    pub fn recycle(&mut self, array: ArrayRef) {
        let Some(array) = unwrap_array::<PrimitiveArray<T>>(array) else { return };
        if !self.values.is_empty() {
            return;
        }
        let (_, values, _) = array.into_parts();
        if let Some(v) = reclaim::<T::Native>(values.into_inner())
            && v.capacity() > self.values.capacity()
        {
            self.values = v;
        }
    }
}

impl<T: ArrowPrimitiveType> Default for PrimBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::Int64Type;

    use super::*;

    #[test]
    fn truncated_text_equals_text_never_appended() {
        let mut a = TextBuilder::new();
        a.append_value("one");
        a.append_null();
        a.append_value("héllo");
        a.push_str("half");
        a.truncate(2);
        a.append_value("three");
        a.push_str("dropped");
        a.abandon_value();
        a.push_str("fo");
        a.push_char('ü');
        a.end_value();
        let got = a.finish();
        let want = StringArray::from(vec![Some("one"), None, Some("three"), Some("foü")]);
        assert_eq!(got, want);
        // Finishing starts again from nothing.
        a.append_value("x");
        assert_eq!(a.finish(), StringArray::from(vec!["x"]));
    }

    /// The runs of nulls against Arrow's bitmap builder, over random appends, cuts and
    /// finishes.
    #[test]
    fn validity_runs_give_the_bitmap_arrow_builds() {
        use arrow::array::builder::NullBufferBuilder;
        let bools = |n: Option<NullBuffer>, len: usize| match n {
            Some(n) => {
                assert_eq!(n.len(), len);
                n.iter().collect::<Vec<bool>>()
            }
            None => vec![true; len],
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as usize
        };
        let (mut ours, mut arrow) = (Validity::default(), NullBufferBuilder::new(0));
        let mut finished = 0;
        for _ in 0..20_000 {
            match next(10) {
                0..=3 => {
                    ours.append_non_null();
                    arrow.append_non_null();
                }
                4 => {
                    ours.append_null();
                    arrow.append_null();
                }
                5 | 6 => {
                    let n = next(5);
                    ours.append_n_nulls(n);
                    arrow.append_n_nulls(n);
                }
                7 | 8 => {
                    let rows = next(ours.len() as u64 + 2);
                    ours.truncate(rows);
                    arrow.truncate(rows);
                }
                _ => {
                    let len = ours.len();
                    assert_eq!(len, arrow.len());
                    assert_eq!(bools(ours.finish(), len), bools(arrow.finish(), len));
                    assert!(ours.is_empty());
                    finished += 1;
                }
            }
            assert_eq!(ours.len(), arrow.len());
        }
        assert!(finished > 1000);
    }

    #[test]
    fn only_small_unshared_vectors_are_taken_back() {
        let mut b = TextBuilder::new();
        b.append_value("abc");
        let a: ArrayRef = Arc::new(b.finish());
        let held = a.clone();
        b.recycle(a);
        assert_eq!(b.data.capacity(), 0, "a shared array is left alone");
        b.recycle(held);
        assert!(b.data.capacity() >= 3, "the last holder's vector is taken back");
        assert_eq!((b.len(), b.data.as_str()), (0, ""));
        let big = Buffer::from_vec(vec![0u8; MAX_RECLAIMED_BYTES + 1]);
        assert!(reclaim::<u8>(big).is_none(), "a huge vector is let go");
        let fits = Buffer::from_vec(vec![7i32; 10]);
        assert_eq!(reclaim::<i32>(fits).map(|v| (v.len(), v.capacity() >= 10)), Some((0, true)));
    }

    #[test]
    fn truncated_numbers_equal_numbers_never_appended() {
        let mut b = PrimBuilder::<Int64Type>::new();
        b.append_value(1);
        b.append_option(None);
        b.append_value(3);
        b.truncate(2);
        b.truncate(5);
        b.append_value(4);
        let got = b.finish();
        assert_eq!(got, Int64Array::from(vec![Some(1), None, Some(4)]));
        assert_eq!(got.null_count(), 1);
    }
}
