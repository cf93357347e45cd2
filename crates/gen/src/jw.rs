//! Writing JSON straight into a byte buffer, for the noise records.
//!
//! Building a `serde_json::Value` per record and serialising it was about 60 % of `gen`'s
//! time, most of it in the allocator (every key a `String`, every object a `BTreeMap`). The
//! [`jw!`](crate::jw) macro takes the same syntax as `serde_json::json!` but appends the text
//! to a `Vec<u8>` as it goes: keys are copied as literals, strings are escaped once, numbers
//! are formatted in place and `format_args!` values are written without an intermediate
//! `String`. Keys come out in the order they are written (as AWS writes them), not sorted.

use std::cell::Cell;
use std::fmt;
use std::io::Write;

/// A value [`jw!`](crate::jw) can write.
pub(crate) trait Emit {
    /// Appends the value's JSON text to `w`.
    fn emit(&self, w: &mut Vec<u8>);
}

/// Appends `s` as a JSON string (quoted, escaped).
pub(crate) fn string(w: &mut Vec<u8>, s: &str) {
    w.push(b'"');
    escape_into(w, s.as_bytes());
    w.push(b'"');
}

/// Appends `b` escaped as the inside of a JSON string (valid UTF-8 is assumed).
fn escape_into(w: &mut Vec<u8>, b: &[u8]) {
    // Almost every string needs no escape: one branch-free pass (vectorised) says so.
    if b.iter().fold(true, |ok, &c| ok & (c >= 0x20) & (c != b'"') & (c != b'\\')) {
        w.extend_from_slice(b);
        return;
    }
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        w.extend_from_slice(&b[start..i]);
        match c {
            b'"' => w.extend_from_slice(b"\\\""),
            b'\\' => w.extend_from_slice(b"\\\\"),
            b'\n' => w.extend_from_slice(b"\\n"),
            b'\r' => w.extend_from_slice(b"\\r"),
            b'\t' => w.extend_from_slice(b"\\t"),
            c => {
                let _ = write!(w, "\\u{:04x}", c);
            }
        }
        start = i + 1;
    }
    w.extend_from_slice(&b[start..]);
}

impl Emit for str {
    fn emit(&self, w: &mut Vec<u8>) {
        string(w, self);
    }
}

impl Emit for String {
    fn emit(&self, w: &mut Vec<u8>) {
        string(w, self);
    }
}

impl Emit for bool {
    fn emit(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

macro_rules! emit_int {
    ($($t:ty),*) => {$(
        impl Emit for $t {
            fn emit(&self, w: &mut Vec<u8>) {
                let _ = write!(w, "{self}");
            }
        }
    )*};
}
emit_int!(u32, u64, i32, i64, usize);

impl<T: Emit + ?Sized> Emit for &T {
    fn emit(&self, w: &mut Vec<u8>) {
        (**self).emit(w);
    }
}

/// `None` is `null`.
impl<T: Emit> Emit for Option<T> {
    fn emit(&self, w: &mut Vec<u8>) {
        match self {
            Some(v) => v.emit(w),
            None => w.extend_from_slice(b"null"),
        }
    }
}

/// A `format_args!` value is written as a string, escaped, with no `String` in between.
impl Emit for fmt::Arguments<'_> {
    fn emit(&self, w: &mut Vec<u8>) {
        w.push(b'"');
        match self.as_str() {
            Some(s) => escape_into(w, s.as_bytes()),
            None => {
                let mut e = Escaper(w);
                let _ = fmt::write(&mut e, *self);
            }
        }
        w.push(b'"');
    }
}

/// Escapes what `fmt` writes into the buffer.
struct Escaper<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s.as_bytes());
        Ok(())
    }
}

/// A value written by a closure (nested arrays built in a loop): `With::new(|w| …)`.
pub(crate) struct With<F>(Cell<Option<F>>);

impl<F: FnOnce(&mut Vec<u8>)> With<F> {
    /// Wraps the closure; it runs once, when the value is written.
    pub fn new(f: F) -> Self {
        With(Cell::new(Some(f)))
    }
}

impl<F: FnOnce(&mut Vec<u8>)> Emit for With<F> {
    fn emit(&self, w: &mut Vec<u8>) {
        if let Some(f) = self.0.take() {
            f(w);
        }
    }
}

/// An array of `items`, each written by `f`: `"items": array(0..n, |w, i| jw!(w, {…}))`.
pub(crate) fn array<I, F>(items: I, mut f: F) -> With<impl FnOnce(&mut Vec<u8>)>
where
    I: IntoIterator,
    F: FnMut(&mut Vec<u8>, I::Item),
{
    With::new(move |w: &mut Vec<u8>| {
        w.push(b'[');
        for item in items {
            f(w, item);
            w.push(b',');
        }
        close(w, b']');
    })
}

/// Closes an object or array opened with `open`: the trailing `,` of its last member (if
/// any) becomes `close`.
pub(crate) fn close(w: &mut Vec<u8>, close: u8) {
    match w.last_mut() {
        Some(last) if *last == b',' => *last = close,
        _ => w.push(close),
    }
}

/// Appends JSON to a `Vec<u8>` with `serde_json::json!`'s syntax: `jw!(w, {"k": v, …})`,
/// `jw!(w, [a, b])`, `jw!(w, null)`, `jw!(w, expr)`. Values are [`Emit`]; nested `{…}` and
/// `[…]` are written in place. Keys are string literals, or `(expr)` for a computed key;
/// `"key"?: option` writes the member only when the option is `Some`.
macro_rules! jw {
    ($w:expr, null) => { $w.extend_from_slice(b"null") };
    ($w:expr, { $($body:tt)* }) => {{
        let w: &mut Vec<u8> = $w;
        w.push(b'{');
        $crate::jw::jw!(@obj w; $($body)*);
        $crate::jw::close(w, b'}');
    }};
    ($w:expr, [ $($body:tt)* ]) => {{
        let w: &mut Vec<u8> = $w;
        w.push(b'[');
        $crate::jw::jw!(@arr w; $($body)*);
        $crate::jw::close(w, b']');
    }};
    ($w:expr, $v:expr) => { $crate::jw::Emit::emit(&$v, $w) };

    (@obj $w:ident;) => {};
    // `"key"?: option`: the member is written only when the value is `Some`.
    (@obj $w:ident; $k:literal ?: $v:expr $(, $($rest:tt)*)?) => {
        if let Some(v) = &$v {
            $w.extend_from_slice(concat!("\"", $k, "\":").as_bytes());
            $crate::jw::Emit::emit(v, $w);
            $w.push(b',');
        }
        $crate::jw::jw!(@obj $w; $($($rest)*)?);
    };
    (@obj $w:ident; $k:literal : $($rest:tt)*) => {
        $w.extend_from_slice(concat!("\"", $k, "\":").as_bytes());
        $crate::jw::jw!(@val $w, obj; $($rest)*);
    };
    (@obj $w:ident; ($k:expr) : $($rest:tt)*) => {
        $crate::jw::string($w, &$k);
        $w.push(b':');
        $crate::jw::jw!(@val $w, obj; $($rest)*);
    };

    (@arr $w:ident;) => {};
    (@arr $w:ident; $($rest:tt)+) => { $crate::jw::jw!(@val $w, arr; $($rest)+); };

    // One value, then a comma and the rest of the object or array.
    (@val $w:ident, $kind:ident; null $(, $($rest:tt)*)?) => {
        $w.extend_from_slice(b"null,");
        $crate::jw::jw!(@$kind $w; $($($rest)*)?);
    };
    (@val $w:ident, $kind:ident; { $($v:tt)* } $(, $($rest:tt)*)?) => {
        $crate::jw::jw!($w, { $($v)* });
        $w.push(b',');
        $crate::jw::jw!(@$kind $w; $($($rest)*)?);
    };
    (@val $w:ident, $kind:ident; [ $($v:tt)* ] $(, $($rest:tt)*)?) => {
        $crate::jw::jw!($w, [ $($v)* ]);
        $w.push(b',');
        $crate::jw::jw!(@$kind $w; $($($rest)*)?);
    };
    (@val $w:ident, $kind:ident; $v:expr $(, $($rest:tt)*)?) => {
        $crate::jw::Emit::emit(&$v, $w);
        $w.push(b',');
        $crate::jw::jw!(@$kind $w; $($($rest)*)?);
    };
}
pub(crate) use jw;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> Value {
        let mut w = Vec::new();
        f(&mut w);
        serde_json::from_slice(&w).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&w)))
    }

    #[test]
    fn writes_what_json_macro_builds() {
        let name = String::from("bob \"the\" \\builder\n\u{1}é");
        let n = 3u64;
        let none: Option<&str> = None;
        let got = text(|w| {
            jw!(w, {
                "a": 1u32, "b": name, "c": { "d": [1i64, -2i64, "x", null, {}, []], "e": {} },
                "f": format_args!("{}-{n}", name), "g": none, "h": Some("s"), "i": true,
                ("k".repeat(2)): format_args!("plain"),
                "l": With::new(|w: &mut Vec<u8>| jw!(w, [array(0..n, |w, i| jw!(w, {"i": i}))])),
                "m": [], "n"?: none, "o"?: Some(2u32),
            })
        });
        let want = json!({
            "a": 1, "b": name, "c": {"d": [1, -2, "x", null, {}, []], "e": {}},
            "f": format!("{name}-3"), "g": null, "h": "s", "i": true, "kk": "plain",
            "l": [[{"i": 0}, {"i": 1}, {"i": 2}]], "m": [], "o": 2,
        });
        assert_eq!(got, want);
    }

    #[test]
    fn keeps_the_written_order() {
        let mut w = Vec::new();
        jw!(&mut w, {"z": 1u32, "a": [null, false]});
        assert_eq!(w, br#"{"z":1,"a":[null,false]}"#);
        let mut w = Vec::new();
        jw!(&mut w, {});
        jw!(&mut w, []);
        assert_eq!(w, b"{}[]");
    }
}
