//! Reading one evidence file: memory-map it read-only (files over 4 MiB; smaller ones are read
//! into a reused buffer, which is faster for the kilobyte files CloudTrail writes), hash it
//! (SHA-256 of the bytes on disk), and inflate it when it is gzip (every member of a
//! multi-member file) under a cap on the expanded size, so that a gzip bomb is rejected with a
//! reason instead of exhausting memory. A file that is one gzip member is inflated in one call
//! by libdeflate (CRC-32 and length checked); anything else goes through flate2's streaming
//! decoder, which also reports truncation and damage precisely.
//!
//! gzip is recognised by its magic bytes, not by the file name: a `.json.gz` that holds plain
//! JSON is read as plain JSON (and says so), garbage is rejected by the parser.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Default cap on the expanded size of one evidence file (1 GiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// How a file's bytes were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Plain (not gzip) content, copied as is.
    Plain,
    /// gzip, inflated completely; `members` gzip members were read.
    Gzip {
        /// Number of gzip members.
        members: u32,
    },
    /// gzip that ends early: `data` holds what could be inflated before the input ran out.
    Truncated {
        /// What went wrong.
        reason: String,
    },
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The file could not be opened, mapped or read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The gzip stream is corrupt (bad header, bad deflate data, CRC or length mismatch).
    #[error("corrupt gzip: {0}")]
    CorruptGzip(String),
    /// The content expands beyond the cap.
    #[error("expands to more than {limit} bytes (possible gzip bomb); raise --max-file-size to read it")]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
}

/// The outcome of reading a file: its hash (always, when it could be read) and its content.
#[derive(Debug)]
pub struct FileRead {
    /// Bytes on disk.
    pub bytes: u64,
    /// SHA-256 of the bytes on disk, lowercase hex (empty when the file could not be read).
    pub sha256: String,
    /// How the content was obtained, or why it could not be.
    pub decoded: Result<Decoded, DecodeError>,
}

/// Whether `data` starts with the gzip magic bytes.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// Reads `path` into `out` (cleared first): hashes the raw bytes, then inflates gzip or copies
/// plain content, never letting `out` grow past `max_bytes` (+ a little padding).
pub fn read_file(path: &Path, max_bytes: u64, hash: bool, out: &mut Vec<u8>) -> FileRead {
    out.clear();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return FileRead { bytes: 0, sha256: String::new(), decoded: Err(DecodeError::Io(e.to_string())) };
        }
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        let sha256 = if hash { hex::encode(Sha256::digest([])) } else { String::new() };
        return FileRead { bytes: 0, sha256, decoded: Ok(Decoded::Plain) };
    }
    if len <= MMAP_THRESHOLD {
        // Small files (CloudTrail's are mostly kilobytes) are read into a reused buffer:
        // mapping and unmapping thousands of them costs more than copying (every munmap in
        // a multi-threaded process interrupts the other cores to flush their TLBs).
        return RAW.with_borrow_mut(|raw| {
            raw.clear();
            if let Err(e) = (&file).take(MMAP_THRESHOLD + 1).read_to_end(raw) {
                return FileRead { bytes: len, sha256: String::new(), decoded: Err(DecodeError::Io(e.to_string())) };
            }
            decode_raw(raw, hash, max_bytes, out)
        });
    }
    // SAFETY: the map is read-only and private to this call. Evidence is treated as immutable;
    // if another process truncated the file while it is mapped, reads could fault (SIGBUS) —
    // the same risk ripgrep accepts for its opt-in mmap. We never write through the map.
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(m) => m,
        Err(e) => {
            return FileRead { bytes: len, sha256: String::new(), decoded: Err(DecodeError::Io(e.to_string())) };
        }
    };
    decode_raw(&map, hash, max_bytes, out)
}

/// Files up to this size are read, larger ones memory-mapped.
const MMAP_THRESHOLD: u64 = 4 << 20;

thread_local! {
    static RAW: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn decode_raw(raw: &[u8], hash: bool, max_bytes: u64, out: &mut Vec<u8>) -> FileRead {
    let sha256 = if hash { hex::encode(Sha256::digest(raw)) } else { String::new() };
    let decoded = if is_gzip(raw) { inflate(raw, max_bytes, out) } else { copy_plain(raw, max_bytes, out) };
    FileRead { bytes: raw.len() as u64, sha256, decoded }
}

fn copy_plain(raw: &[u8], max_bytes: u64, out: &mut Vec<u8>) -> Result<Decoded, DecodeError> {
    if raw.len() as u64 > max_bytes {
        return Err(DecodeError::TooLarge { limit: max_bytes });
    }
    out.extend_from_slice(raw);
    Ok(Decoded::Plain)
}

/// A libdeflate decompressor owned by one thread.
struct Libdeflate(std::ptr::NonNull<libdeflate_sys::libdeflate_decompressor>);

impl Drop for Libdeflate {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libdeflate_alloc_decompressor and is freed once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

thread_local! {
    static LIBDEFLATE: Option<Libdeflate> =
        // SAFETY: allocation has no preconditions; NULL (out of memory) disables the fast path.
        std::ptr::NonNull::new(unsafe { libdeflate_sys::libdeflate_alloc_decompressor() }).map(Libdeflate);
}

/// The whole-file fast path: a file that is exactly one gzip member, whose trailer's length
/// (ISIZE) fits the cap, is inflated in one call by libdeflate, which checks the CRC-32 and
/// the length. Returns false (with `out` cleared) for anything else — several members,
/// trailing bytes, a wrong ISIZE, damage — which the streaming decoder then handles and
/// reports.
fn inflate_whole(raw: &[u8], max_bytes: u64, out: &mut Vec<u8>) -> bool {
    if raw.len() < 18 {
        return false;
    }
    let isize = u32::from_le_bytes(raw[raw.len() - 4..].try_into().expect("4 bytes")) as usize;
    // Deflate expands at most ~1032:1; a larger ISIZE is a lie, and would only make us
    // reserve memory the data cannot fill.
    if isize as u64 > max_bytes || isize == 0 || isize as u64 > raw.len() as u64 * 1032 {
        return false;
    }
    LIBDEFLATE.with(|d| {
        let Some(d) = d else { return false };
        out.clear();
        out.reserve(isize);
        let (mut used_in, mut used_out) = (0usize, 0usize);
        // SAFETY: `raw` is a valid slice; libdeflate writes at most `isize` bytes into the
        // spare capacity of `out` (reserved above) and reports how many it wrote; only those
        // are exposed by set_len, and only on success.
        let rc = unsafe {
            libdeflate_sys::libdeflate_gzip_decompress_ex(
                d.0.as_ptr(),
                raw.as_ptr().cast(),
                raw.len(),
                out.as_mut_ptr().cast(),
                isize,
                &mut used_in,
                &mut used_out,
            )
        };
        if rc == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS && used_in == raw.len() && used_out == isize {
            // SAFETY: libdeflate initialised the first `used_out` bytes.
            unsafe { out.set_len(used_out) };
            true
        } else {
            out.clear();
            false
        }
    })
}

/// Inflates every gzip member of `raw` into `out` (its previous content is dropped).
pub fn inflate(raw: &[u8], max_bytes: u64, out: &mut Vec<u8>) -> Result<Decoded, DecodeError> {
    if inflate_whole(raw, max_bytes, out) {
        return Ok(Decoded::Gzip { members: 1 });
    }
    inflate_stream(raw, max_bytes, out)
}

/// The streaming decoder (flate2): every member, capped, truncation and damage reported.
pub fn inflate_stream(raw: &[u8], max_bytes: u64, out: &mut Vec<u8>) -> Result<Decoded, DecodeError> {
    out.clear();
    // ISIZE (the last member's size mod 2^32) is a good first guess for a single-member file.
    if raw.len() >= 18 {
        let isize = u32::from_le_bytes(raw[raw.len() - 4..].try_into().expect("4 bytes")) as u64;
        out.reserve(isize.min(max_bytes) as usize + 64);
    }
    let mut members = 0u32;
    let mut rest = raw;
    while !rest.is_empty() {
        if !is_gzip(rest) {
            if members > 0 && rest.iter().all(|&b| b == 0) {
                break; // zero padding after the last member, as some copy tools leave
            }
            return Err(DecodeError::CorruptGzip(format!(
                "{} bytes of non-gzip data after gzip member {members}",
                rest.len()
            )));
        }
        let mut dec = flate2::bufread::GzDecoder::new(rest);
        let room = max_bytes.saturating_sub(out.len() as u64);
        let res = (&mut dec).take(room + 1).read_to_end(out);
        match res {
            Ok(_) if out.len() as u64 > max_bytes => {
                return Err(DecodeError::TooLarge { limit: max_bytes });
            }
            Ok(_) => {
                members += 1;
                rest = dec.into_inner();
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(Decoded::Truncated {
                    reason: format!(
                        "gzip stream ends early (file truncated?) in member {} after {} inflated bytes",
                        members + 1,
                        out.len()
                    ),
                });
            }
            Err(e) => {
                return Err(DecodeError::CorruptGzip(format!("member {}: {e}", members + 1)));
            }
        }
    }
    Ok(Decoded::Gzip { members })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn multi_member_reads_all() {
        let mut raw = gz(b"hello ");
        raw.extend(gz(b"world"));
        let mut out = Vec::new();
        assert_eq!(inflate(&raw, 1 << 20, &mut out), Ok(Decoded::Gzip { members: 2 }));
        assert_eq!(out, b"hello world");
    }

    #[test]
    fn fast_path_and_stream_agree() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let raw = gz(&data);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert!(inflate_whole(&raw, u64::MAX / 2, &mut a));
        assert_eq!(inflate_stream(&raw, u64::MAX / 2, &mut b), Ok(Decoded::Gzip { members: 1 }));
        assert_eq!(a, data);
        assert_eq!(a, b);
        // Two members: the fast path declines, the stream reads both.
        let mut two = raw.clone();
        two.extend(gz(b"tail"));
        assert!(!inflate_whole(&two, u64::MAX / 2, &mut a));
        assert!(a.is_empty());
        assert_eq!(inflate(&two, u64::MAX / 2, &mut b), Ok(Decoded::Gzip { members: 2 }));
        assert_eq!(&b[data.len()..], b"tail");
        // A lying ISIZE or a bad CRC: declined, then reported by the stream.
        let mut bad = raw.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff;
        assert!(!inflate_whole(&bad, u64::MAX / 2, &mut a));
        assert!(matches!(inflate(&bad, u64::MAX / 2, &mut b), Err(DecodeError::CorruptGzip(_))));
        let mut lie = raw.clone();
        lie[n - 4..].copy_from_slice(&10u32.to_le_bytes());
        assert!(!inflate_whole(&lie, u64::MAX / 2, &mut a));
        // Over the cap by ISIZE: the stream enforces the cap.
        assert!(!inflate_whole(&raw, 1000, &mut a));
        assert_eq!(inflate(&raw, 1000, &mut b), Err(DecodeError::TooLarge { limit: 1000 }));
    }

    #[test]
    fn bomb_is_capped() {
        let raw = gz(&vec![b'a'; 10 << 20]);
        let mut out = Vec::new();
        assert_eq!(inflate(&raw, 1 << 20, &mut out), Err(DecodeError::TooLarge { limit: 1 << 20 }));
        assert!(out.len() <= (1 << 20) + 1);
    }

    #[test]
    fn truncated_keeps_prefix_and_corrupt_fails() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let raw = gz(&data);
        let mut out = Vec::new();
        let r = inflate(&raw[..raw.len() / 2], u64::MAX / 2, &mut out);
        assert!(matches!(r, Ok(Decoded::Truncated { .. })), "{r:?}");
        assert!(!out.is_empty() && data.starts_with(&out));

        let mut bad = raw.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // CRC
        assert!(matches!(inflate(&bad, u64::MAX / 2, &mut Vec::new()), Err(DecodeError::CorruptGzip(_))));
        let mut bad = raw.clone();
        for b in &mut bad[20..60] {
            *b = 0xff;
        }
        assert!(matches!(inflate(&bad, u64::MAX / 2, &mut Vec::new()), Err(DecodeError::CorruptGzip(_))));
    }
}
