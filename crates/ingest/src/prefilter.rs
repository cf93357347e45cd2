//! Literal pre-filters: skip files and records that cannot match a query before they are
//! parsed or built.
//!
//! A [`Prefilter`] is a conjunction of groups; each group is a set of [`Term`]s (a field and
//! the literal it must equal) of which at least one must hold. A query such as `useridentity.accesskeyid = 'AKIA…' AND eventname IN
//! ('A', 'B')` gives two groups. The filter is *inexact* by design: it only ever says "cannot
//! match" when that is certain, and the exact predicate is applied afterwards by the query
//! engine.
//!
//! Two levels:
//! - **file**: the decompressed bytes are searched with `memmem` before the JSON is parsed. JSON
//!   may spell any character as a `\uXXXX` escape (and `/` as `\/`), so a file is skipped only
//!   if it has no escape that decodes to a character of some literal; literals with characters
//!   JSON must always escape (`"`, `\`, control characters) are refused by [`Prefilter::new`].
//! - **record**: after parsing (strings are unescaped by then), a record is built into Arrow
//!   only if, for every group, the field a term names equals its literal (or holds a value of
//!   another type, which only the exact filter can judge).

use std::collections::HashSet;

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;
use simd_json::Node;

/// One literal a column must equal: the column's JSON key path (e.g. `userIdentity`,
/// `accessKeyId`) and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// JSON keys from the record down to the field (matched as the builder matches them:
    /// exactly, or ignoring ASCII case).
    pub path: Vec<String>,
    /// The value the field must equal.
    pub literal: String,
}

/// A conjunction of any-of groups of [`Term`]s.
#[derive(Debug, Clone)]
pub struct Prefilter {
    groups: Vec<Group>,
    /// ASCII characters that occur in some literal.
    ascii: [bool; 128],
    /// Whether some literal has a non-ASCII character.
    non_ascii: bool,
}

/// One any-of group, arranged for its two checks.
#[derive(Debug, Clone)]
struct Group {
    /// The group's literals by field path: terms on one field (a key's lineage: thousands of
    /// `accessKeyId` values) cost one lookup of the field per record, not one per literal.
    fields: Vec<(Vec<String>, HashSet<String>)>,
    /// Finds any of the literals in raw bytes.
    search: Search,
}

/// A search for any of a group's literals.
#[derive(Debug, Clone)]
enum Search {
    /// A few literals: one SIMD `memmem` pass each.
    Few(Vec<Finder<'static>>),
    /// Many: one Aho-Corasick pass for all (5,839 keys were 5,839 passes over every file).
    Many(Box<AhoCorasick>),
}

/// Most literals a group searches for one at a time.
const FEW_LITERALS: usize = 8;

impl Search {
    fn new(literals: &[&str]) -> Self {
        if literals.len() > FEW_LITERALS
            && let Ok(ac) = AhoCorasick::new(literals)
        {
            return Search::Many(Box::new(ac));
        }
        Search::Few(literals.iter().map(|l| Finder::new(l.as_bytes()).into_owned()).collect())
    }

    fn is_match(&self, data: &[u8]) -> bool {
        match self {
            Search::Few(finders) => finders.iter().any(|f| f.find(data).is_some()),
            Search::Many(ac) => ac.is_match(data),
        }
    }
}

impl Prefilter {
    /// A filter requiring, for every group, one of its terms. Returns `None` when no group is
    /// usable; groups holding an empty or unsafe literal are dropped (they cannot prune).
    pub fn new(groups: impl IntoIterator<Item = Vec<Term>>) -> Option<Self> {
        let mut kept: Vec<Group> = Vec::new();
        let mut ascii = [false; 128];
        let mut non_ascii = false;
        for g in groups {
            if g.is_empty() || !g.iter().all(|t| is_safe_literal(t.literal.as_bytes()) && !t.path.is_empty()) {
                continue;
            }
            let mut fields: Vec<(Vec<String>, HashSet<String>)> = Vec::new();
            let mut literals: Vec<&str> = Vec::new();
            for t in &g {
                match fields.iter_mut().find(|(p, _)| *p == t.path) {
                    Some((_, set)) => {
                        set.insert(t.literal.clone());
                    }
                    None => fields.push((t.path.clone(), HashSet::from([t.literal.clone()]))),
                }
                if !literals.contains(&t.literal.as_str()) {
                    literals.push(&t.literal);
                }
                for &b in t.literal.as_bytes() {
                    match ascii.get_mut(b as usize) {
                        Some(slot) => *slot = true,
                        None => non_ascii = true,
                    }
                }
            }
            let search = Search::new(&literals);
            kept.push(Group { fields, search });
        }
        if kept.is_empty() {
            return None;
        }
        Some(Self { groups: kept, ascii, non_ascii })
    }

    /// Number of groups.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Whether the raw (decompressed, not yet parsed) content of a file may hold a match.
    pub fn file_may_match(&self, data: &[u8]) -> bool {
        self.groups.iter().all(|g| g.search.is_match(data)) || self.escape_may_hide(data)
    }

    /// Whether an escape sequence in `data` could spell a character of a literal, in which
    /// case a literal missing from the raw bytes may still be in a decoded value.
    fn escape_may_hide(&self, data: &[u8]) -> bool {
        if self.ascii[b'/' as usize] && memchr::memmem::find(data, b"\\/").is_some() {
            return true;
        }
        memchr::memmem::find_iter(data, b"\\u").any(|at| {
            let hex = data.get(at + 2..at + 6).and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                Some(cp) if cp < 128 => self.ascii[cp as usize],
                Some(_) => self.non_ascii,
                None => true,
            }
        })
    }

    /// Whether the parsed record at `nodes[i]` may match: for every group, one term's field is
    /// a string equal to its literal, or a value of another type (which the builder stores as
    /// text, so only the exact filter can decide).
    pub fn record_may_match(&self, nodes: &[Node<'_>], i: usize) -> bool {
        self.groups.iter().all(|g| g.fields.iter().any(|(path, lits)| field_may_be_in(nodes, i, path, lits)))
    }
}

/// Whether some field at `path` below the object at `i` may equal one of `lits` (every key
/// spelling the builder would accept is looked at, duplicates included).
fn field_may_be_in(nodes: &[Node<'_>], i: usize, path: &[String], lits: &HashSet<String>) -> bool {
    let Some((key, rest)) = path.split_first() else {
        return match nodes[i] {
            Node::String(s) => lits.contains(s),
            Node::Static(simd_json::StaticNode::Null) => false,
            _ => true,
        };
    };
    let Node::Object { len, .. } = nodes[i] else {
        return false;
    };
    let mut j = i + 1;
    for _ in 0..len {
        if let Node::String(k) = nodes[j]
            && k.eq_ignore_ascii_case(key)
            && field_may_be_in(nodes, j + 1, rest, lits)
        {
            return true;
        }
        j = crate::json::skip(nodes, j + 1);
    }
    false
}

/// Literals made only of characters JSON writers never need to escape.
fn is_safe_literal(l: &[u8]) -> bool {
    !l.is_empty() && l.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(path: &[&str], lit: &str) -> Term {
        Term { path: path.iter().map(|s| s.to_string()).collect(), literal: lit.to_string() }
    }

    fn key(lit: &str) -> Term {
        term(&["userIdentity", "accessKeyId"], lit)
    }

    fn record_check(p: &Prefilter, json: &str) -> bool {
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        p.record_may_match(&tape.0, 0)
    }

    #[test]
    fn file_level_needs_every_group() {
        let p = Prefilter::new([
            vec![key("AKIAEXAMPLE")],
            vec![term(&["eventName"], "GetObject"), term(&["eventName"], "PutObject")],
        ])
        .unwrap();
        assert!(p.file_may_match(br#"{"k":"AKIAEXAMPLE","e":"PutObject"}"#));
        assert!(!p.file_may_match(br#"{"k":"AKIAEXAMPLE","e":"ListBuckets"}"#));
        assert!(!p.file_may_match(br#"{"k":"ASIAOTHER","e":"GetObject"}"#));
    }

    #[test]
    fn escapes_are_never_skipped() {
        let p = Prefilter::new([vec![key("AKIAEXAMPLE")]]).unwrap();
        // "A" spelled as \u0041: the bytes do not contain the literal, the value does.
        assert!(p.file_may_match(br#"{"k":"\u0041KIAEXAMPLE"}"#));
        // An escape of a character no literal has cannot hide one.
        assert!(!p.file_may_match(br#"{"k":"AKIAOTHER","ua":"\u003cscript\u003e"}"#));
        assert!(p.file_may_match(br#"{"k":"AKIAEXAMPL\u0045"}"#));
        assert!(p.file_may_match(br#"{"k":"bad escape \uZZ"}"#));
        assert!(record_check(&p, r#"{"userIdentity":{"accessKeyId":"\u0041KIAEXAMPLE"}}"#));
        let arn = Prefilter::new([vec![term(&["userIdentity", "arn"], "arn:aws:iam::1:user/x")]]).unwrap();
        assert!(arn.file_may_match(br#"{"arn":"arn:aws:iam::1:user\/x"}"#));
        assert!(!arn.file_may_match(br#"{"arn":"arn:aws:iam::1:user/y"}"#));
    }

    #[test]
    fn unsafe_literals_do_not_prune() {
        assert!(Prefilter::new([vec![key("a\"b")]]).is_none());
        assert!(Prefilter::new([vec![key("")]]).is_none());
        assert!(Prefilter::new([vec![]]).is_none());
        let p = Prefilter::new([vec![key("a\\b")], vec![key("ok")]]).unwrap();
        assert_eq!(p.groups(), 1);
    }

    #[test]
    fn record_level_checks_the_field() {
        let p = Prefilter::new([vec![key("AKIAX")]]).unwrap();
        assert!(record_check(&p, r#"{"userIdentity":{"type":"IAMUser","accessKeyId":"AKIAX"}}"#));
        // Case-insensitive key spelling, as the builder accepts it.
        assert!(record_check(&p, r#"{"useridentity":{"ACCESSKEYID":"AKIAX"}}"#));
        // The literal elsewhere in the record is not a match.
        assert!(!record_check(&p, r#"{"userIdentity":{"accessKeyId":"AKIAY"},"x":"AKIAX"}"#));
        assert!(!record_check(&p, r#"{"userIdentity":{"accessKeyId":"AKIAXX"}}"#));
        assert!(!record_check(&p, r#"{"userIdentity":null}"#));
        assert!(!record_check(&p, r#"{"eventName":"AKIAX"}"#));
        // A value of another type is stored as text: only the exact filter may decide.
        assert!(record_check(&p, r#"{"userIdentity":{"accessKeyId":12}}"#));
        // Duplicated keys: any of them may be the one the builder kept.
        assert!(record_check(&p, r#"{"userIdentity":{"accessKeyId":"AKIAY","accessKeyId":"AKIAX"}}"#));
    }

    #[test]
    fn many_literals_are_searched_at_once_and_judged_alike() {
        // A lineage of thousands of keys, and a second field in the same group.
        let keys: Vec<String> = (0..3000).map(|n| format!("ASIAKEY{n:05}")).collect();
        let mut group: Vec<Term> = keys.iter().map(|k| key(k)).collect();
        group.push(term(&["sourceIPAddress"], "192.0.2.1"));
        let many = Prefilter::new([group.clone()]).unwrap();
        assert!(matches!(many.groups[0].search, Search::Many(_)));
        assert_eq!(many.groups[0].fields.len(), 2);
        let files: [&[u8]; 5] = [
            br#"{"k":"ASIAKEY02999"}"#,
            br#"{"k":"ASIAKEY00000"}"#,
            br#"{"k":"ASIAKEY3000"}"#,
            br#"{"ip":"192.0.2.1"}"#,
            br#"{"k":"ASIAKEY0299","ip":"192.0.2.10"}"#,
        ];
        let expect = [true, true, false, true, true];
        for (f, want) in files.iter().zip(expect) {
            assert_eq!(many.file_may_match(f), want, "{}", String::from_utf8_lossy(f));
            // The same answer as one memmem per literal.
            let one_by_one = group.iter().any(|t| memchr::memmem::find(f, t.literal.as_bytes()).is_some());
            assert_eq!(many.file_may_match(f), one_by_one);
        }
        assert!(record_check(&many, r#"{"userIdentity":{"accessKeyId":"ASIAKEY01234"}}"#));
        assert!(record_check(&many, r#"{"sourceIPAddress":"192.0.2.1"}"#));
        assert!(!record_check(&many, r#"{"userIdentity":{"accessKeyId":"ASIAKEY03000"}}"#));
        assert!(!record_check(&many, r#"{"userIdentity":{"accessKeyId":"ASIAKEY0123"}}"#));
        assert!(record_check(&many, r#"{"userIdentity":{"accessKeyId":"AKIAY","ACCESSKEYID":"ASIAKEY00007"}}"#));
        // Escapes still keep a file.
        assert!(many.file_may_match(br#"{"k":"\u0041SIAKEY00001"}"#));
    }

    #[test]
    fn any_term_of_a_group_suffices() {
        let p = Prefilter::new([vec![key("AKIAX"), term(&["sourceIPAddress"], "192.0.2.1")]]).unwrap();
        assert!(record_check(&p, r#"{"sourceIPAddress":"192.0.2.1"}"#));
        assert!(record_check(&p, r#"{"userIdentity":{"accessKeyId":"AKIAX"}}"#));
        assert!(!record_check(&p, r#"{"sourceIPAddress":"192.0.2.2"}"#));
    }
}
