//! Splitting a delivery envelope into its records without parsing them.
//!
//! A query with a literal pre-filter (a key, an event name, an address) usually needs a few
//! records of a file that holds the literal somewhere. Building simd-json's tape for the whole
//! file costs about half of such a scan, so instead [`envelope_records`] finds where each
//! record of `{"Records":[…]}` begins and ends with a structural scan in the manner of
//! simdjson's first stage: 64 bytes at a time, bit masks of quotes, backslashes and brackets,
//! escapes resolved, string interiors masked by a prefix XOR, and only the brackets outside
//! strings looked at one by one. The caller then parses only the records whose bytes may hold
//! the literal.
//!
//! Nothing is validated beyond the structure: a record's JSON is checked when (and if) it is
//! parsed. Anything but exactly an envelope of objects — other keys, a trailing comma, a
//! scalar element, unbalanced brackets, a string left open — makes the split give up, and the
//! full parser (with its salvage of damaged files) decides instead. The ranges agree with
//! [`crate::json::value_end`], which the salvage path uses, so record indices are the same
//! either way.

use std::ops::Range;

use crate::json::skip_ws;

/// Bit masks of one 64-byte block: quotes, backslashes, opening and closing brackets.
struct Masks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

/// How a block's masks and a prefix XOR are computed: portable code, or x86 vector
/// instructions chosen at run time.
trait Kernel {
    fn masks(block: &[u8; 64]) -> Masks;

    /// Sets every bit from each set bit of `x` up to (not including) the next one: with quote
    /// bits, the bits of the opening quote and the string's interior.
    #[inline(always)]
    fn prefix_xor(mut x: u64) -> u64 {
        x ^= x << 1;
        x ^= x << 2;
        x ^= x << 4;
        x ^= x << 8;
        x ^= x << 16;
        x ^= x << 32;
        x
    }
}

/// Byte-at-a-time masks: for other architectures, and the reference in tests.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    fn masks(block: &[u8; 64]) -> Masks {
        let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
        for (i, &b) in block.iter().enumerate() {
            let bit = 1u64 << i;
            match b {
                b'"' => m.quote |= bit,
                b'\\' => m.backslash |= bit,
                b'{' | b'[' => m.open |= bit,
                b'}' | b']' => m.close |= bit,
                _ => {}
            }
        }
        m
    }
}

/// SSE2 compares (part of the x86_64 baseline).
#[cfg(target_arch = "x86_64")]
struct Sse2;

#[cfg(target_arch = "x86_64")]
impl Kernel for Sse2 {
    #[inline(always)]
    fn masks(block: &[u8; 64]) -> Masks {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
        // available; each unaligned load reads 16 bytes inside the 64-byte array.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            // `{` is 0x7b and `[` 0x5b, `}` 0x7d and `]` 0x5d: setting bit 0x20 folds each pair.
            let fold = _mm_set1_epi8(0x20);
            let open = _mm_set1_epi8(b'{' as i8);
            let close = _mm_set1_epi8(b'}' as i8);
            for k in 0..4 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
                let folded = _mm_or_si128(v, fold);
                let bits = |x| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
                m.quote |= bits(_mm_cmpeq_epi8(v, quote));
                m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
                m.open |= bits(_mm_cmpeq_epi8(folded, open));
                m.close |= bits(_mm_cmpeq_epi8(folded, close));
            }
        }
        m
    }
}

/// AVX2 compares and a carry-less multiply for the prefix XOR; used only when the CPU has
/// them (checked at run time).
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx2 {
    #[inline(always)]
    fn masks(block: &[u8; 64]) -> Masks {
        use std::arch::x86_64::{
            __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
        };
        let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
        // SAFETY: only reached through `envelope_records_avx2`, called after the CPU was
        // found to support AVX2; each unaligned load reads 32 bytes inside the 64-byte array.
        unsafe {
            let quote = _mm256_set1_epi8(b'"' as i8);
            let backslash = _mm256_set1_epi8(b'\\' as i8);
            let fold = _mm256_set1_epi8(0x20);
            let open = _mm256_set1_epi8(b'{' as i8);
            let close = _mm256_set1_epi8(b'}' as i8);
            for k in 0..2 {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * k).cast::<__m256i>());
                let folded = _mm256_or_si256(v, fold);
                let bits = |x| u64::from(_mm256_movemask_epi8(x) as u32) << (32 * k);
                m.quote |= bits(_mm256_cmpeq_epi8(v, quote));
                m.backslash |= bits(_mm256_cmpeq_epi8(v, backslash));
                m.open |= bits(_mm256_cmpeq_epi8(folded, open));
                m.close |= bits(_mm256_cmpeq_epi8(folded, close));
            }
        }
        m
    }

    #[inline(always)]
    fn prefix_xor(x: u64) -> u64 {
        use std::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x, _mm_set1_epi8};
        // SAFETY: as above; PCLMULQDQ is checked with AVX2. Multiplying by all ones without
        // carries is the prefix XOR.
        unsafe { _mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0)) as u64 }
    }
}

/// The characters escaped by a backslash in this block. `carry` says the previous block ended
/// with a backslash that escapes this block's first character, and is set for the next.
#[inline]
fn escaped(backslash: u64, carry: &mut bool) -> u64 {
    if backslash == 0 && !*carry {
        return 0;
    }
    let mut out = 0u64;
    let mut bits = backslash;
    if *carry {
        out = 1;
        bits &= !1;
    }
    *carry = false;
    while bits != 0 {
        let i = bits.trailing_zeros();
        if i == 63 {
            *carry = true;
            break;
        }
        out |= 2u64 << i;
        // The escaped character is consumed, even when it is a backslash itself.
        bits &= !(3u64 << i);
    }
    out
}

fn only_ws(b: &[u8]) -> bool {
    b.iter().all(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
}

/// `ws , ws` between two records.
fn is_separator(b: &[u8]) -> bool {
    let i = skip_ws(b, 0);
    b.get(i) == Some(&b',') && only_ws(&b[i + 1..])
}

/// Fills `out` with the byte ranges of the records of `data` when it is exactly a delivery
/// envelope `{"Records":[{…},{…},…]}` (whitespace allowed where JSON allows it), each range
/// from a record's `{` to just past its `}`. Returns false (and `out` is then meaningless)
/// for any other shape or damaged structure.
pub fn envelope_records(data: &[u8], out: &mut Vec<Range<usize>>) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("pclmulqdq") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { envelope_records_avx2(data, out) };
        }
        split::<Sse2>(data, out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    split::<Portable>(data, out)
}

/// [`split`] compiled for AVX2 and PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,pclmulqdq")]
unsafe fn envelope_records_avx2(data: &[u8], out: &mut Vec<Range<usize>>) -> bool {
    split::<Avx2>(data, out)
}

#[inline(always)]
fn split<K: Kernel>(data: &[u8], out: &mut Vec<Range<usize>>) -> bool {
    out.clear();
    let mut p = skip_ws(data, 0);
    if data.get(p) != Some(&b'{') {
        return false;
    }
    p = skip_ws(data, p + 1);
    if !data[p..].starts_with(b"\"Records\"") {
        return false;
    }
    p = skip_ws(data, p + 9);
    if data.get(p) != Some(&b':') {
        return false;
    }
    p = skip_ws(data, p + 1);
    if data.get(p) != Some(&b'[') {
        return false;
    }
    let base = p + 1;
    let mut depth = 0isize;
    let mut record_start = 0usize;
    // Where the bytes between records begin (just past `[` or the previous record).
    let mut gap_start = base;
    let mut escape_carry = false;
    let mut in_string = 0u64;
    let mut tail: [u8; 64];
    let mut at = base;
    while at < data.len() {
        let block: &[u8; 64] = match data.get(at..at + 64) {
            Some(b) => b.try_into().expect("64 bytes"),
            None => {
                // Zero padding: NUL is never structural.
                tail = [0u8; 64];
                tail[..data.len() - at].copy_from_slice(&data[at..]);
                &tail
            }
        };
        let m = K::masks(block);
        let quotes = m.quote & !escaped(m.backslash, &mut escape_carry);
        let inside = K::prefix_xor(quotes) ^ in_string;
        in_string = ((inside as i64) >> 63) as u64;
        let mut structural = (m.open | m.close) & !inside;
        // No record can start or end in this block when it has no bracket that could bring
        // the depth back to the array's level.
        let closes = (m.close & structural).count_ones() as isize;
        if depth > closes {
            depth += (m.open & structural).count_ones() as isize - closes;
            structural = 0;
        }
        while structural != 0 {
            let bit = structural.trailing_zeros();
            structural &= structural - 1;
            let opens = (m.open >> bit & 1) as isize;
            depth += 2 * opens - 1;
            // Only a record's first `{`, its last `}` and the array's `]` matter here.
            if depth > opens {
                continue;
            }
            let pos = at + bit as usize;
            if opens == 1 {
                let gap = &data[gap_start..pos];
                let ok = if gap_start == base { only_ws(gap) } else { is_separator(gap) };
                if !ok || data[pos] != b'{' {
                    return false;
                }
                record_start = pos;
            } else if depth == 0 {
                if data[pos] != b'}' {
                    return false;
                }
                out.push(record_start..pos + 1);
                gap_start = pos + 1;
            } else {
                // The bracket closing the Records array, then the envelope's `}` and nothing.
                if data[pos] != b']' || !only_ws(&data[gap_start..pos]) {
                    return false;
                }
                let q = skip_ws(data, pos + 1);
                return data.get(q) == Some(&b'}') && skip_ws(data, q + 1) == data.len();
            }
        }
        at += 64;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::value_end;

    /// The ranges the salvage path would find: `value_end` from each element's start.
    fn reference(data: &[u8]) -> Option<Vec<Range<usize>>> {
        let k = memchr::memmem::find(data, b"[")?;
        let mut out = Vec::new();
        let mut pos = k + 1;
        loop {
            pos = skip_ws(data, pos);
            match data.get(pos)? {
                b']' => return Some(out),
                b',' if !out.is_empty() => pos += 1,
                _ => {}
            }
            pos = skip_ws(data, pos);
            let end = value_end(data, pos)?;
            out.push(pos..end);
            pos = end;
        }
    }

    fn split(data: &[u8]) -> Option<Vec<Range<usize>>> {
        let mut out = Vec::new();
        envelope_records(data, &mut out).then_some(out)
    }

    #[test]
    fn splits_records_with_tricky_strings() {
        let doc = br#"{"Records": [ {"a":"x}\"{","b":[1,{"c":"\\"}]}, {"d":"]"} ,{"e":"\\\\\"}"}
        ]}
"#;
        let got = split(doc).unwrap();
        assert_eq!(got, reference(doc).unwrap());
        let texts: Vec<&str> = got.iter().map(|r| std::str::from_utf8(&doc[r.clone()]).unwrap()).collect();
        assert_eq!(texts, [r#"{"a":"x}\"{","b":[1,{"c":"\\"}]}"#, r#"{"d":"]"}"#, r#"{"e":"\\\\\"}"}"#]);
        assert_eq!(split(br#"{"Records":[]}"#).unwrap(), Vec::<Range<usize>>::new());
    }

    #[test]
    fn refuses_anything_but_an_envelope_of_objects() {
        for bad in [
            &br#"{"Records":[{"a":1},]}"#[..],
            br#"{"Records":[{"a":1} {"b":2}]}"#,
            br#"{"Records":[1,{"a":1}]}"#,
            br#"{"Records":[{"a":1}],"x":2}"#,
            br#"{"Records":[{"a":1}]} trailing"#,
            br#"{"Records":[{"a":"open}]}"#,
            br#"{"Records":[{"a":1}"#,
            br#"{"Records":[{"a":1]]}"#,
            br#"[{"a":1}]"#,
            br#"{"Other":[{"a":1}]}"#,
        ] {
            assert!(split(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }

    /// Records with strings full of brackets, quotes and backslash runs, placed so that
    /// escapes and strings cross the 64-byte block boundaries at every offset.
    #[test]
    fn agrees_with_the_byte_scanner_across_block_boundaries() {
        let pieces = ["{", "}", "[", "]", "\\\\", "\\\"", "x", "\\\\\\\"", "\\n", "é"];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let mut doc = String::from("{\"Records\":[");
            let n = 1 + next() % 6;
            for r in 0..n {
                if r > 0 {
                    doc.push_str(if next() % 2 == 0 { "," } else { " ,\n " });
                }
                doc.push_str("{\"pad\":\"");
                for _ in 0..(round % 70) {
                    doc.push('p');
                }
                doc.push_str("\",\"s\":\"");
                for _ in 0..next() % 40 {
                    doc.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                }
                doc.push_str("\",\"n\":[{\"k\":[]},{}]}");
            }
            doc.push_str("]}");
            let bytes = doc.as_bytes();
            assert_eq!(split(bytes), reference(bytes), "{doc}");
            // Every kernel this machine can run finds the same ranges.
            let mut other = Vec::new();
            assert!(super::split::<Portable>(bytes, &mut other));
            assert_eq!(Some(other.clone()), split(bytes));
            #[cfg(target_arch = "x86_64")]
            {
                assert!(super::split::<Sse2>(bytes, &mut other));
                assert_eq!(Some(other), split(bytes));
            }
            let parsed: serde_json::Value = serde_json::from_str(&doc).expect("generated JSON is valid");
            let records = parsed["Records"].as_array().unwrap();
            let got = split(bytes).unwrap();
            assert_eq!(got.len(), records.len());
            for (r, want) in got.iter().zip(records) {
                let alone: serde_json::Value = serde_json::from_slice(&bytes[r.clone()]).unwrap();
                assert_eq!(&alone, want);
            }
        }
    }
}
