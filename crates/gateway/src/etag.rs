//! Validators of cached answers (RFC 9110 §8.8.3) and `If-None-Match` (§13.1.2).
//!
//! A cached answer's `ETag` is the upstream's when it sent a well-formed one, otherwise a strong
//! one made from the body: `"` + the XXH3-128 of the body in hex + `"`, computed once per entry
//! (in [`crate::prepared`]). The same body gives the same tag on every instance and after a
//! restart. A gzip answer is a different representation, so it gets its own tag: the identity
//! tag with `-gzip` before the closing quote, as Apache and nginx do.
//!
//! Parsing the client's header never allocates and never panics: a malformed list stops being
//! read where it breaks (what was matched before still counts), so hostile input costs one scan.

use http::HeaderMap;
use http::header::{HeaderValue, IF_NONE_MATCH};

/// A strong validator for `body`.
pub(crate) fn from_body(body: &[u8]) -> HeaderValue {
    let hash = xxhash_rust::xxh3::xxh3_128(body);
    let mut text = [0u8; 34];
    text[0] = b'"';
    text[33] = b'"';
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in hash.to_be_bytes().iter().enumerate() {
        text[1 + 2 * i] = HEX[usize::from(byte >> 4)];
        text[2 + 2 * i] = HEX[usize::from(byte & 0xf)];
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::copy_from_slice(&text))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// Whether `value` is one entity-tag: `[W/] "etagc*"` and nothing else.
pub(crate) fn is_valid(value: &[u8]) -> bool {
    let rest = value.strip_prefix(b"W/").unwrap_or(value);
    rest.len() >= 2
        && rest[0] == b'"'
        && rest[rest.len() - 1] == b'"'
        && rest[1..rest.len() - 1].iter().all(|b| is_etagc(*b))
}

/// `etagc = %x21 / %x23-7E / obs-text`.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80
}

/// The tag of another representation of the same content: `"x"` → `"x-{suffix}"`, keeping a
/// weak tag weak. `None` if `tag` is not an entity-tag.
pub(crate) fn variant(tag: &HeaderValue, suffix: &str) -> Option<HeaderValue> {
    let b = tag.as_bytes();
    if !is_valid(b) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() + 1 + suffix.len());
    out.extend_from_slice(&b[..b.len() - 1]);
    out.push(b'-');
    out.extend_from_slice(suffix.as_bytes());
    out.push(b'"');
    HeaderValue::from_maybe_shared(bytes::Bytes::from(out)).ok()
}

/// The opaque part of an entity-tag (quotes included), for weak comparison.
fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

/// What the request's `If-None-Match` says about the current representations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoneMatch {
    /// No `If-None-Match` (or one that names nothing current): answer in full.
    Absent,
    /// `*`: the client has some current representation.
    Any,
    /// The client has `candidates[i]` (the first one named, by weak comparison).
    Names(usize),
    /// A list that names none of the candidates: answer in full.
    NoMatch,
}

/// Compares the request's `If-None-Match` fields with `candidates` by weak comparison
/// (RFC 9110 §8.8.3.2: `W/"a"` matches `"a"`).
pub(crate) fn none_match(headers: &HeaderMap, candidates: &[&HeaderValue]) -> NoneMatch {
    let mut seen = false;
    for value in headers.get_all(IF_NONE_MATCH) {
        seen = true;
        let mut s = value.as_bytes();
        loop {
            // Skip list separators and whitespace.
            while let [b' ' | b'\t' | b',', rest @ ..] = s {
                s = rest;
            }
            if s.is_empty() {
                break;
            }
            if s[0] == b'*' {
                return NoneMatch::Any;
            }
            let start = s;
            if let Some(rest) = s.strip_prefix(b"W/") {
                s = rest;
            }
            let Some(rest) = s.strip_prefix(b"\"") else {
                break; // malformed: stop reading this field
            };
            let Some(end) = rest.iter().position(|b| *b == b'"') else {
                break;
            };
            let tag = &start[..start.len() - rest.len() + end + 1];
            if let Some(i) = candidates
                .iter()
                .position(|c| opaque(c.as_bytes()) == opaque(tag))
            {
                return NoneMatch::Names(i);
            }
            s = &rest[end + 1..];
        }
    }
    if seen {
        NoneMatch::NoMatch
    } else {
        NoneMatch::Absent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inm(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(IF_NONE_MATCH, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn body_tags_are_strong_stable_and_differ_by_body() {
        let a = from_body(b"hello");
        assert_eq!(a, from_body(b"hello"));
        assert_ne!(a, from_body(b"hello!"));
        assert!(is_valid(a.as_bytes()));
        assert_eq!(a.len(), 34);
        assert!(!a.as_bytes().starts_with(b"W/"));
    }

    #[test]
    fn variants_keep_strength() {
        let v = variant(&HeaderValue::from_static("\"abc\""), "gzip").unwrap();
        assert_eq!(v, "\"abc-gzip\"");
        let w = variant(&HeaderValue::from_static("W/\"abc\""), "gzip").unwrap();
        assert_eq!(w, "W/\"abc-gzip\"");
        assert!(variant(&HeaderValue::from_static("abc"), "gzip").is_none());
        assert!(variant(&HeaderValue::from_static("\"a\"b\""), "gzip").is_none());
        assert!(variant(&HeaderValue::from_static("\""), "gzip").is_none());
    }

    #[test]
    fn if_none_match_is_compared_weakly_and_reads_lists() {
        let id = HeaderValue::from_static("\"abc\"");
        let gz = HeaderValue::from_static("\"abc-gzip\"");
        let c = [&id, &gz];
        assert_eq!(none_match(&HeaderMap::new(), &c), NoneMatch::Absent);
        assert_eq!(none_match(&inm(&[b"\"abc\""]), &c), NoneMatch::Names(0));
        assert_eq!(none_match(&inm(&[b"W/\"abc\""]), &c), NoneMatch::Names(0));
        assert_eq!(
            none_match(&inm(&[b"\"x\", W/\"abc-gzip\""]), &c),
            NoneMatch::Names(1)
        );
        assert_eq!(
            none_match(&inm(&[b"\"x\"", b"\"abc\""]), &c),
            NoneMatch::Names(0)
        );
        assert_eq!(none_match(&inm(&[b"*"]), &c), NoneMatch::Any);
        assert_eq!(none_match(&inm(&[b" , *"]), &c), NoneMatch::Any);
        assert_eq!(none_match(&inm(&[b"\"abcd\""]), &c), NoneMatch::NoMatch);
        assert_eq!(none_match(&inm(&[b"\"ab\""]), &c), NoneMatch::NoMatch);
        // Unquoted tags are not entity-tags: no match, no panic.
        assert_eq!(none_match(&inm(&[b"abc"]), &c), NoneMatch::NoMatch);
        assert_eq!(none_match(&inm(&[b"\"abc"]), &c), NoneMatch::NoMatch);
        assert_eq!(none_match(&inm(&[b"W/"]), &c), NoneMatch::NoMatch);
        assert_eq!(none_match(&inm(&[b"\"\""]), &c), NoneMatch::NoMatch);
        // A comma inside the quotes is part of the tag.
        let comma = HeaderValue::from_static("\"a,b\"");
        assert_eq!(
            none_match(&inm(&[b"\"a,b\""]), &[&comma]),
            NoneMatch::Names(0)
        );
        assert_eq!(none_match(&inm(&[b"\"a\""]), &[&comma]), NoneMatch::NoMatch);
        // A weak candidate (the upstream's) still matches its strong spelling.
        let weak = HeaderValue::from_static("W/\"v1\"");
        assert_eq!(
            none_match(&inm(&[b"\"v1\""]), &[&weak]),
            NoneMatch::Names(0)
        );
    }

    #[test]
    fn hostile_if_none_match_is_linear_and_calm() {
        let long = "\"x\", ".repeat(40_000) + "W/\"abc\"";
        let id = HeaderValue::from_static("\"abc\"");
        let h = inm(&[long.as_bytes()]);
        assert_eq!(none_match(&h, &[&id]), NoneMatch::Names(0));
        for junk in [
            &b"W/W/W/\"abc\""[..],
            b"\xff\xfe\"abc\"",
            b"\"\xff\", \"abc\"",
            b",,,,,,",
            b"W",
            b"\"",
        ] {
            let _ = none_match(&inm(&[junk]), &[&id]);
        }
        assert_eq!(
            none_match(&inm(&[b"\"\xff\", \"abc\""]), &[&id]),
            NoneMatch::Names(0)
        );
    }
}
