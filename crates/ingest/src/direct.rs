//! Reading JSON straight from the bytes, without a tape: the cursor the direct record builder
//! walks ([`crate::builder::BatchBuilder::append_record_direct`]).
//!
//! The tape parser (simd-json) writes every value of a document into a tape, which the
//! builder then reads again. For a CloudTrail record whose keys and types are known, that
//! tape is most of the parsing cost. The direct reader instead parses each value where the
//! builder needs it: a string goes straight into its column, an object kept as JSON text
//! is written out in canonical form as it is read.
//!
//! It is strict: anything it is not sure to read exactly as simd-json would (a raw control
//! character in a string, an unpaired surrogate, a number that is not a short integer, …)
//! is either handed to simd-json for that one value (numbers) or makes it give up with
//! [`Bail`], and the caller reads the record with the tape parser instead. Whatever it
//! accepts it answers identically to the tape path; `tests/direct.rs` checks that.

use simd_json::StaticNode;

use crate::columns::TextBuilder;
use crate::json::{write_static, write_str};

/// The direct reader cannot read this value exactly as the tape parser would: the caller
/// must read the record with the tape parser instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// Result of a direct read.
pub type Direct<T> = Result<T, Bail>;

/// Where canonical JSON text goes: a string, a column's value being written, or nowhere
/// (the value is only checked).
pub trait Out {
    /// Appends text.
    fn put(&mut self, s: &str);
}

impl Out for String {
    #[inline]
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Out for TextBuilder {
    #[inline]
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// Discards the text: the value is only checked and skipped.
pub struct Discard;

impl Out for Discard {
    #[inline]
    fn put(&mut self, _: &str) {}
}

/// Reusable buffers of the direct reader.
#[derive(Debug, Default)]
pub struct Bufs {
    /// An unescaped string.
    text: String,
    /// A string written back with escapes.
    escaped: String,
    /// A number handed to simd-json.
    num: Vec<u8>,
    /// Open containers of the JSON value being written (`b'}'` or `b']'`).
    stack: Vec<u8>,
}

/// A string value as found in the input.
#[derive(Debug, Clone, Copy)]
pub struct Str<'a> {
    /// The text between the quotes, escapes as written.
    raw: &'a str,
    /// Whether `raw` holds a backslash escape.
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The text itself when it has no escapes (most CloudTrail strings).
    #[inline]
    pub fn plain(&self) -> Option<&'a str> {
        (!self.escaped).then_some(self.raw)
    }

    /// Appends the string's text (escapes resolved) to `out`.
    #[inline]
    pub fn unescape_into(&self, out: &mut impl Out, bufs: &mut Bufs) -> Direct<()> {
        if !self.escaped {
            out.put(self.raw);
            return Ok(());
        }
        bufs.text.clear();
        unescape(self.raw, &mut bufs.text)?;
        out.put(&bufs.text);
        Ok(())
    }

    /// Appends the string as a JSON literal, escaped as [`write_str`] escapes it.
    #[inline]
    fn write_json(&self, out: &mut impl Out, bufs: &mut Bufs) -> Direct<()> {
        if !self.escaped {
            // No backslash and no control character (the reader bails on those), so the
            // text needs no escapes: it is already what `write_str` would write.
            out.put("\"");
            out.put(self.raw);
            out.put("\"");
            return Ok(());
        }
        bufs.text.clear();
        unescape(self.raw, &mut bufs.text)?;
        bufs.escaped.clear();
        write_str(&mut bufs.escaped, &bufs.text);
        out.put(&bufs.escaped);
        Ok(())
    }
}

/// Resolves the escapes of a string's raw text, as simd-json does; bails on what simd-json
/// would refuse or read oddly (bad escapes, unpaired surrogates).
fn unescape(raw: &str, out: &mut String) -> Direct<()> {
    let b = raw.as_bytes();
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[from..]) {
        let at = from + k;
        out.push_str(&raw[from..at]);
        let esc = *b.get(at + 1).ok_or(Bail)?;
        from = at + 2;
        let c = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b, at + 2)?;
                from = at + 6;
                match hi {
                    0xD800..=0xDBFF => {
                        if b.get(from) != Some(&b'\\') || b.get(from + 1) != Some(&b'u') {
                            return Err(Bail);
                        }
                        let lo = hex4(b, from + 2)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(Bail);
                        }
                        from += 6;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).ok_or(Bail)?
                    }
                    0xDC00..=0xDFFF => return Err(Bail),
                    cp => char::from_u32(cp).ok_or(Bail)?,
                }
            }
            _ => return Err(Bail),
        };
        out.push(c);
    }
    out.push_str(&raw[from..]);
    Ok(())
}

fn hex4(b: &[u8], at: usize) -> Direct<u32> {
    let digits = b.get(at..at + 4).ok_or(Bail)?;
    let mut v = 0u32;
    for &d in digits {
        let x = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(Bail),
        };
        v = v << 4 | u32::from(x);
    }
    Ok(v)
}

/// Position of the first `"`, `\\` or control character at or after `at`: eight bytes at a
/// time (the strings of CloudTrail are short, so a call into a vectorised search costs
/// more than it saves).
#[inline(always)]
fn string_stop(b: &[u8], mut at: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(at..at + 8) {
        let v = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = v ^ (ONES * u64::from(b'"'));
        let slash = v ^ (ONES * u64::from(b'\\'));
        // Each term marks its lowest matching byte exactly (a borrow can only mark bytes
        // above a true match), so the lowest mark of the three is the first stop.
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (v.wrapping_sub(ONES * 0x20) & !v);
        let hits = hits & HIGH;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    b[at.min(b.len())..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|k| at + k)
}

/// A position in a document being read directly. The document is valid UTF-8 (checked
/// once for the whole file), so text between two ASCII bytes can be sliced as `str`.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    /// Byte offset of the next unread byte.
    pub pos: usize,
    /// Set when the text read since it was last cleared differs from its canonical form
    /// (whitespace between tokens, an escape, a number the tape path prints otherwise).
    altered: bool,
}

/// A scalar as text: literals and numbers in the form the tape path writes them.
enum Scalar<'a> {
    Text(&'a str),
    Number(StaticNode),
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text, b: text.as_bytes(), pos: 0, altered: false }
    }

    /// Skips JSON whitespace.
    #[inline]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
                self.altered = true;
            } else {
                break;
            }
        }
    }

    /// The next byte (bails at the end of the input).
    #[inline(always)]
    pub fn peek(&self) -> Direct<u8> {
        self.b.get(self.pos).copied().ok_or(Bail)
    }

    /// Whether the input is used up.
    pub fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// Consumes `c`, or bails.
    #[inline]
    pub fn eat(&mut self, c: u8) -> Direct<()> {
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Consumes `s`, or bails.
    pub fn eat_str(&mut self, s: &str) -> Direct<()> {
        if self.b[self.pos..].starts_with(s.as_bytes()) {
            self.pos += s.len();
            Ok(())
        } else {
            Err(Bail)
        }
    }

    /// Reads a string (the cursor is at its opening quote).
    #[inline(always)]
    pub fn string(&mut self) -> Direct<Str<'a>> {
        if self.peek()? != b'"' {
            return Err(Bail);
        }
        let start = self.pos + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            at = string_stop(self.b, at).ok_or(Bail)?;
            match self.b[at] {
                b'"' => break,
                b'\\' => {
                    // The escaped byte is skipped here and checked by `unescape`.
                    escaped = true;
                    if *self.b.get(at + 1).ok_or(Bail)? < 0x20 {
                        return Err(Bail);
                    }
                    at += 2;
                }
                // A raw control character: simd-json's handling of it is not ours to guess.
                _ => return Err(Bail),
            }
        }
        self.pos = at + 1;
        if escaped {
            self.altered = true;
        }
        Ok(Str { raw: &self.text[start..at], escaped })
    }

    /// Consumes `pattern` (a key with its quotes and the colon after it) and the whitespace
    /// after it, if the input goes on with exactly those bytes; otherwise moves nothing.
    #[inline(always)]
    pub fn eat_key(&mut self, pattern: &[u8]) -> bool {
        let n = pattern.len();
        let Some(here) = self.b.get(self.pos..self.pos + n) else { return false };
        let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
        let same = if n >= 8 {
            // Eight bytes at a time, the last word overlapping the one before.
            let mut at = 0;
            let mut same = true;
            while at + 8 < n && same {
                same = word(here, at) == word(pattern, at);
                at += 8;
            }
            same && word(here, n - 8) == word(pattern, n - 8)
        } else {
            here == pattern
        };
        if same {
            self.pos += n;
            self.ws();
        }
        same
    }

    /// Reads an object key and the colon after it; bails on keys with escapes.
    #[inline(always)]
    pub fn key(&mut self) -> Direct<&'a str> {
        let k = self.string()?.plain().ok_or(Bail)?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Ok(k)
    }

    /// After a member or element: consumes `,` (true: another follows) or `close` (false).
    #[inline(always)]
    pub fn next_or_close(&mut self, close: u8) -> Direct<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.ws();
                Ok(true)
            }
            c if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(Bail),
        }
    }

    /// Opens an object or array (the cursor is at `{` or `[`): true when it has members.
    #[inline(always)]
    pub fn open(&mut self, close: u8) -> Direct<bool> {
        self.pos += 1;
        self.ws();
        if self.peek()? == close {
            self.pos += 1;
            Ok(false)
        } else {
            Ok(true)
        }
    }

    /// Consumes `null`; false (consuming nothing) when the value is something else.
    #[inline(always)]
    pub fn null(&mut self) -> Direct<bool> {
        if self.peek()? != b'n' {
            return Ok(false);
        }
        self.eat_str("null")?;
        Ok(true)
    }

    /// Reads a literal or a number.
    fn scalar(&mut self, bufs: &mut Bufs) -> Direct<Scalar<'a>> {
        let c = self.peek()?;
        let lit = match c {
            b't' => "true",
            b'f' => "false",
            b'n' => "null",
            _ => return self.number(bufs),
        };
        self.eat_str(lit)?;
        Ok(Scalar::Text(lit))
    }

    /// Reads a number. A short integer is kept as written (the tape path prints an integer
    /// back as its digits); anything else is parsed by simd-json itself, so that its value
    /// and printed form are the tape path's.
    fn number(&mut self, bufs: &mut Bufs) -> Direct<Scalar<'a>> {
        let b = self.b;
        let start = self.pos;
        let mut p = start;
        let negative = b.get(p) == Some(&b'-');
        p += usize::from(negative);
        let digits_from = p;
        match b.get(p) {
            Some(b'0') => p += 1,
            Some(b'1'..=b'9') => {
                while b.get(p).is_some_and(u8::is_ascii_digit) {
                    p += 1;
                }
            }
            _ => return Err(Bail),
        }
        let mut simple = p - digits_from <= 18 && !(negative && b[digits_from] == b'0');
        if b.get(p) == Some(&b'.') {
            p += 1;
            simple = false;
            let from = p;
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            if p == from {
                return Err(Bail);
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            simple = false;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            let from = p;
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            if p == from {
                return Err(Bail);
            }
        }
        self.pos = p;
        if simple {
            return Ok(Scalar::Text(&self.text[start..p]));
        }
        self.altered = true;
        bufs.num.clear();
        bufs.num.extend_from_slice(&b[start..p]);
        let tape = simd_json::to_tape(&mut bufs.num).map_err(|_| Bail)?;
        match tape.0.first() {
            Some(simd_json::Node::Static(n)) => Ok(Scalar::Number(*n)),
            _ => Err(Bail),
        }
    }

    /// Appends a scalar (not a string) as the tape path writes it into a text column:
    /// `true`, `42`, `1.5`.
    pub fn scalar_text(&mut self, out: &mut impl Out, bufs: &mut Bufs) -> Direct<()> {
        match self.scalar(bufs)? {
            Scalar::Text(t) => out.put(t),
            Scalar::Number(n) => {
                bufs.escaped.clear();
                write_static(&mut bufs.escaped, &n);
                out.put(&bufs.escaped);
            }
        }
        Ok(())
    }

    /// Skips a value, checking it.
    #[inline]
    pub fn skip(&mut self, bufs: &mut Bufs) -> Direct<()> {
        self.json(&mut Discard, bufs)
    }

    /// Reads any value into a JSON text column: [`json`](Self::json), but a value already in
    /// canonical form (compact, no escapes, short integers: nearly all of CloudTrail's) is
    /// checked first and then copied in one piece.
    pub fn json_text(&mut self, out: &mut TextBuilder, bufs: &mut Bufs) -> Direct<()> {
        let start = self.pos;
        self.altered = false;
        self.json(&mut Discard, bufs)?;
        if self.altered {
            self.pos = start;
            self.json(out, bufs)
        } else {
            out.push_str(&self.text[start..self.pos]);
            Ok(())
        }
    }

    /// Reads any value and appends it as compact JSON text, exactly as
    /// [`crate::json::write_value`] writes it from the tape (duplicate keys kept, in order).
    pub fn json(&mut self, out: &mut impl Out, bufs: &mut Bufs) -> Direct<()> {
        let mut stack = std::mem::take(&mut bufs.stack);
        stack.clear();
        let r = self.json_with(out, bufs, &mut stack);
        bufs.stack = stack;
        r
    }

    fn json_with(&mut self, out: &mut impl Out, bufs: &mut Bufs, stack: &mut Vec<u8>) -> Direct<()> {
        'value: loop {
            match self.peek()? {
                b'"' => self.string()?.write_json(out, bufs)?,
                b'{' => {
                    out.put("{");
                    if self.open(b'}')? {
                        stack.push(b'}');
                        self.member_key(out, bufs)?;
                        continue 'value;
                    }
                    out.put("}");
                }
                b'[' => {
                    out.put("[");
                    if self.open(b']')? {
                        stack.push(b']');
                        continue 'value;
                    }
                    out.put("]");
                }
                _ => self.scalar_text(out, bufs)?,
            }
            // A value is complete: close containers until one has another member.
            loop {
                let Some(&close) = stack.last() else { return Ok(()) };
                if self.next_or_close(close)? {
                    out.put(",");
                    if close == b'}' {
                        self.member_key(out, bufs)?;
                    }
                    continue 'value;
                }
                out.put(if close == b'}' { "}" } else { "]" });
                stack.pop();
            }
        }
    }

    /// A member's key inside a JSON value, written with its colon.
    fn member_key(&mut self, out: &mut impl Out, bufs: &mut Bufs) -> Direct<()> {
        self.string()?.write_json(out, bufs)?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        out.put(":");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eat_key_takes_exactly_the_pattern_and_the_whitespace_after_it() {
        for key in ["a", "arn", "type12", "userName", "principalId", "sessionIssuer", "clientProvidedHostHeader"] {
            let pattern = format!("\"{key}\":");
            // The pattern itself, with or without whitespace and a value after it.
            for (input, rest) in
                [(format!("{pattern}1"), "1"), (format!("{pattern} \n\t\"v\""), "\"v\""), (pattern.clone(), "")]
            {
                let mut c = Cursor::new(&input);
                assert!(c.eat_key(pattern.as_bytes()), "{input}");
                assert_eq!(&input[c.pos..], rest, "{input}");
            }
            // Anything else is left for the slow path, with the cursor where it was: one
            // byte changed anywhere, a longer or shorter key, space before the colon, the
            // input ending inside the pattern.
            let mut others = Vec::new();
            for at in 0..pattern.len() {
                let mut b = pattern.clone().into_bytes();
                b[at] = if b[at] == b'x' { b'y' } else { b'x' };
                others.push(String::from_utf8(b).unwrap() + "1");
            }
            others.push(format!("\"{key}x\":1"));
            others.push(format!("\"{}\":1", &key[..key.len() - 1]));
            others.push(format!("\"{key}\" :1"));
            others.push(pattern[..pattern.len() - 1].to_string());
            for input in others {
                let mut c = Cursor::new(&input);
                assert!(!c.eat_key(pattern.as_bytes()), "{input} is not {pattern}");
                assert_eq!(c.pos, 0, "{input}");
            }
        }
    }

    #[test]
    fn string_stop_finds_the_first_stop_byte_as_a_plain_search_does() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for len in 0..80 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Mostly ordinary text, sometimes a stop byte or a byte next to one.
                        match x % 23 {
                            0 => b'"',
                            1 => b'\\',
                            2 => (x >> 8) as u8 % 0x20,
                            3 => 0x80 | (x >> 8) as u8,
                            4 => b'!',
                            5 => b'#',
                            6 => b' ',
                            _ => b'a' + (x >> 8) as u8 % 26,
                        }
                    })
                    .collect();
                for from in 0..=len {
                    let want =
                        bytes[from..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|k| from + k);
                    assert_eq!(string_stop(&bytes, from), want, "{bytes:?} from {from}");
                }
            }
        }
    }

    #[test]
    fn canonical_values_are_copied_and_others_rewritten() {
        let text = r#"{"a":[1,"x"],"b":{}} { "a" : 1.50 , "b":"\/" }"#;
        let mut c = Cursor::new(text);
        let mut bufs = Bufs::default();
        let mut col = TextBuilder::new();
        c.json_text(&mut col, &mut bufs).unwrap();
        col.end_value();
        c.ws();
        c.json_text(&mut col, &mut bufs).unwrap();
        col.end_value();
        let got = col.finish();
        assert_eq!(got.value(0), r#"{"a":[1,"x"],"b":{}}"#);
        assert_eq!(got.value(1), r#"{"a":1.5,"b":"/"}"#);
    }
}
