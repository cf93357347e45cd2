//! Column builders that can be cut back to a given number of rows.
//!
//! Arrow's own builders only grow. The direct parser ([`crate::direct`]) appends a file's
//! records as it reads them and, when a record turns out to need the tape parser after all,
//! it must take back what it appended. These builders keep their values in plain vectors, so
//! that taking back is a `truncate`, and hand them to Arrow without a copy when finished.

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{ArrowPrimitiveType, PrimitiveArray, StringArray};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};

/// A UTF-8 column: values appended as `&str` (or written piecewise with
/// [`push_str`](Self::push_str) and closed with [`end_value`](Self::end_value)).
#[derive(Debug)]
pub struct TextBuilder {
    /// End offset of every row (the first entry is 0).
    offsets: Vec<i32>,
    /// Every value, back to back. A `String`, so it is valid UTF-8 by construction.
    data: String,
    nulls: NullBufferBuilder,
}

impl Default for TextBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TextBuilder {
    /// An empty column.
    pub fn new() -> Self {
        Self { offsets: vec![0], data: String::new(), nulls: NullBufferBuilder::new(0) }
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
}

/// A column of fixed-width values (`Int64`, `Date32`, timestamps).
#[derive(Debug)]
pub struct PrimBuilder<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: NullBufferBuilder,
    data_type: arrow::datatypes::DataType,
}

impl<T: ArrowPrimitiveType> PrimBuilder<T> {
    /// An empty column of `T`'s default type.
    pub fn new() -> Self {
        Self::with_data_type(T::DATA_TYPE)
    }

    /// An empty column of `data_type` (e.g. a timestamp with a time zone).
    pub fn with_data_type(data_type: arrow::datatypes::DataType) -> Self {
        Self { values: Vec::new(), nulls: NullBufferBuilder::new(0), data_type }
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
}

impl<T: ArrowPrimitiveType> Default for PrimBuilder<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int64Array};
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
