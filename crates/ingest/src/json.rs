//! Small JSON helpers around the simd-json tape: writing a subtree back out as JSON text,
//! skipping subtrees, and a byte scanner that finds where a value ends without parsing it
//! (used to split a damaged file into records so that one bad record costs only itself).
//!
//! Everything here is iterative: deeply nested input cannot overflow the stack.

use simd_json::{Node, StaticNode};

/// The tape index just past the value that starts at `i`.
#[inline]
pub fn skip(nodes: &[Node<'_>], i: usize) -> usize {
    match nodes[i] {
        Node::Object { count, .. } | Node::Array { count, .. } => i + 1 + count,
        _ => i + 1,
    }
}

/// Appends `s` to `out` as a JSON string literal.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a scalar as JSON text. Floats keep a decimal point so that `1.0` stays a float.
pub fn write_static(out: &mut String, v: &StaticNode) {
    use std::fmt::Write;
    match v {
        StaticNode::Null => out.push_str("null"),
        StaticNode::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        StaticNode::I64(n) => {
            let _ = write!(out, "{n}");
        }
        StaticNode::U64(n) => {
            let _ = write!(out, "{n}");
        }
        StaticNode::F64(f) => {
            if f.is_finite() {
                let _ = write!(out, "{f:?}");
            } else {
                out.push_str("null");
            }
        }
    }
}

/// Appends a scalar as plain text (strings unquoted), for string columns that received a
/// non-string scalar: `true`, `42`, `1.5`.
pub fn write_scalar_text(out: &mut String, v: &StaticNode) {
    write_static(out, v)
}

/// Appends the value starting at tape index `start` as compact JSON text; returns the index
/// just past it.
pub fn write_value(nodes: &[Node<'_>], start: usize, out: &mut String) -> usize {
    // Each open container: (is_object, elements still to write).
    let mut stack: Vec<(bool, usize)> = Vec::new();
    let mut i = start;
    loop {
        // Write one value at `i`.
        match nodes[i] {
            Node::String(s) => {
                write_str(out, s);
                i += 1;
            }
            Node::Static(ref v) => {
                write_static(out, v);
                i += 1;
            }
            Node::Object { len, .. } => {
                i += 1;
                if len == 0 {
                    out.push_str("{}");
                } else {
                    out.push('{');
                    stack.push((true, len));
                    i = write_key(nodes, i, out);
                    continue;
                }
            }
            Node::Array { len, .. } => {
                i += 1;
                if len == 0 {
                    out.push_str("[]");
                } else {
                    out.push('[');
                    stack.push((false, len));
                    continue;
                }
            }
        }
        // Close finished containers; start the next element of the innermost open one.
        loop {
            let Some((is_obj, remaining)) = stack.last_mut() else {
                return i;
            };
            *remaining -= 1;
            if *remaining == 0 {
                out.push(if *is_obj { '}' } else { ']' });
                stack.pop();
            } else {
                out.push(',');
                if *is_obj {
                    i = write_key(nodes, i, out);
                }
                break;
            }
        }
    }
}

fn write_key(nodes: &[Node<'_>], i: usize, out: &mut String) -> usize {
    if let Node::String(k) = nodes[i] {
        write_str(out, k);
    } else {
        // simd-json only puts strings in key position; keep the output valid regardless.
        out.push_str("\"\"");
    }
    out.push(':');
    i + 1
}

/// Byte position just past the JSON value that starts at `start` (after any whitespace), or
/// `None` when the input ends first. Strings are skipped with their escapes; nothing is
/// validated beyond what is needed to find the end.
pub fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = skip_ws(bytes, start);
    match *bytes.get(i)? {
        b'{' | b'[' => {
            let mut depth = 0usize;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        b'"' => string_end(bytes, i),
        _ => {
            // A bare scalar (number, literal, or garbage): up to the next delimiter.
            while i < bytes.len() && !matches!(bytes[i], b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                i += 1;
            }
            Some(i)
        }
    }
}

/// Position just past the closing quote of the string whose opening quote is at `open`.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        let off = memchr::memchr2(b'"', b'\\', &bytes[i..])?;
        i += off;
        if bytes[i] == b'\\' {
            i += 2;
            if i > bytes.len() {
                return None;
            }
        } else {
            return Some(i + 1);
        }
    }
}

/// First position at or after `i` that is not JSON whitespace.
pub fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let mut out = String::new();
        let end = write_value(&tape.0, 0, &mut out);
        assert_eq!(end, tape.0.len());
        out
    }

    #[test]
    fn write_value_is_compact_and_equivalent() {
        let text = r#"{"a": [1, -2, 3.5, 1.0, true, null, "x\"y\\z\n\u0001"], "b": {}, "c": [], "d": {"e": [[]]}}"#;
        let out = roundtrip(text);
        let a: serde_json::Value = serde_json::from_str(text).unwrap();
        let b: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(a, b);
        assert!(!out.contains(' '));
    }

    #[test]
    fn skip_counts_whole_subtree() {
        let mut bytes = br#"[{"a":{"b":[1,2]}},7]"#.to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let first = 1;
        let second = skip(&tape.0, first);
        assert!(matches!(tape.0[second], Node::Static(StaticNode::I64(7)) | Node::Static(StaticNode::U64(7))));
        assert_eq!(skip(&tape.0, 0), tape.0.len());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 200_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let mut bytes = text.clone().into_bytes();
        if let Ok(tape) = simd_json::to_tape(&mut bytes) {
            let mut out = String::new();
            write_value(&tape.0, 0, &mut out);
            assert_eq!(out, text);
        }
        assert_eq!(value_end(text.as_bytes(), 0), Some(text.len()));
    }

    #[test]
    fn value_end_handles_strings_and_truncation() {
        let t = br#"  {"a":"}\"{","b":[1]} , {"#;
        assert_eq!(value_end(t, 0), Some(22));
        assert_eq!(value_end(t, 24), None);
        assert_eq!(value_end(b"123,", 0), Some(3));
        assert_eq!(value_end(br#""ab\"c" x"#, 0), Some(7));
    }
}
