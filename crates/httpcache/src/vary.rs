//! `Vary` (RFC 9111 §4.1): which request fields select a stored response, and the secondary
//! key a request's values of them make.
//!
//! A stored response is used for a request only when the request's values of every field its
//! `Vary` names equal those of the request that fetched it. Values are compared after
//! normalising what cannot change the origin's choice: the field lines of one name are
//! combined into one list, whitespace around list commas and at the ends is dropped, and the
//! `Accept*` fields, whose tokens are case-insensitive, are lower-cased. Credentials
//! (`Authorization`, `Proxy-Authorization`, `Cookie`) are compared exactly. A field the
//! request lacks differs from any value, even an empty one.
//!
//! `Vary: *` (alone or in a list, on any line) never matches, nor does a field name that is
//! not a token. A response naming more than [`MAX_FIELDS`] distinct fields gets no variant
//! key either: a clear "not stored" instead of a key built from hundreds of headers.
//!
//! The key is bytes ([`SecondaryKey`]) holding request header values as sent — possibly a
//! credential, with `Vary: Authorization` or `Cookie`. It is for comparing and hashing: the
//! gateway puts it through its keyed hash before it reaches a cache key, and never logs it.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::directives::is_tchar;

/// The most distinct fields a `Vary` may name and still key variants.
pub const MAX_FIELDS: usize = 32;

/// What a response's `Vary` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vary {
    /// No `Vary` (or only empty members): one response for every request.
    None,
    /// The fields, lower case, sorted, without repeats.
    Fields(Vec<HeaderName>),
    /// `*`, or a member that is not a field name: matches no request.
    Star,
    /// More than [`MAX_FIELDS`] fields.
    TooMany,
}

impl Vary {
    /// Reads every `Vary` line of a response.
    pub fn from_headers(response: &HeaderMap) -> Self {
        let mut fields: Vec<HeaderName> = Vec::new();
        for line in response.get_all(http::header::VARY) {
            for member in line.as_bytes().split(|&b| b == b',') {
                let m = member.trim_ascii();
                if m.is_empty() {
                    continue;
                }
                if m == b"*" || !m.iter().all(|&b| is_tchar(b)) {
                    return Vary::Star;
                }
                let Ok(name) = HeaderName::from_bytes(m) else {
                    return Vary::Star;
                };
                if !fields.contains(&name) {
                    if fields.len() == MAX_FIELDS {
                        return Vary::TooMany;
                    }
                    fields.push(name);
                }
            }
        }
        if fields.is_empty() {
            return Vary::None;
        }
        fields.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Vary::Fields(fields)
    }

    /// The secondary key of `request` for these fields: `None` for `*` and too many fields
    /// (no request matches), an empty key for no `Vary`.
    pub fn key(&self, request: &HeaderMap) -> Option<SecondaryKey> {
        let fields = match self {
            Vary::None => return Some(SecondaryKey(Vec::new())),
            Vary::Fields(f) => f,
            Vary::Star | Vary::TooMany => return None,
        };
        let mut out = Vec::new();
        for name in fields {
            out.extend_from_slice(name.as_str().as_bytes());
            out.push(0);
            let mut lines = request.get_all(name).into_iter().peekable();
            if lines.peek().is_none() {
                out.push(1); // absent
                continue;
            }
            out.push(2);
            let value = normalise(name, lines);
            out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&value);
        }
        Some(SecondaryKey(out))
    }
}

/// A request's values of a response's `Vary` fields, normalised: equal keys select the same
/// stored response. Holds raw request values (see the module docs): hash it, never log it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecondaryKey(Vec<u8>);

impl SecondaryKey {
    /// The key's bytes, for hashing.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the response varies on nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecondaryKey {
    /// The length only: the key may hold a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecondaryKey({} bytes)", self.0.len())
    }
}

/// Whether a field's list members are case-insensitive tokens (content negotiation).
fn case_insensitive(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "accept" | "accept-encoding" | "accept-language" | "accept-charset"
    )
}

/// Whether a field carries credentials: its value is compared byte for byte, so two
/// credentials that differ only in spacing never share a variant.
fn credential(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    )
}

/// The lines of one field as one list, whitespace around commas and at the ends dropped
/// (credentials: the lines as they are, each ended by a byte no field value holds).
fn normalise<'a>(name: &HeaderName, lines: impl Iterator<Item = &'a HeaderValue>) -> Vec<u8> {
    let mut out = Vec::new();
    if credential(name) {
        for line in lines {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        return out;
    }
    let lower = case_insensitive(name);
    let mut first = true;
    for line in lines {
        for member in line.as_bytes().split(|&b| b == b',') {
            if !first {
                out.push(b',');
            }
            first = false;
            let m = member.trim_ascii();
            if lower {
                out.extend(m.iter().map(u8::to_ascii_lowercase));
            } else {
                out.extend_from_slice(m);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use crate::test_headers as map;

    fn vary(v: &[&str]) -> Vary {
        Vary::from_headers(&map(&v.iter().map(|v| ("vary", *v)).collect::<Vec<_>>()))
    }

    #[test]
    fn fields_are_combined_lowered_sorted_and_deduplicated() {
        let v = vary(&["Foo, accept", "ACCEPT", " ,bar"]);
        let names: Vec<_> = match v {
            Vary::Fields(f) => f.iter().map(|n| n.as_str().to_owned()).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(names, ["accept", "bar", "foo"]);
        assert_eq!(vary(&[]), Vary::None);
        assert_eq!(vary(&[" , "]), Vary::None);
    }

    #[test]
    fn star_anywhere_never_matches() {
        for v in [
            &["*"][..],
            &["*, *"],
            &["*", "*"],
            &[", *"],
            &["", "*"],
            &["*, Foo"],
            &["Foo, *"],
        ] {
            let v = vary(v);
            assert_eq!(v, Vary::Star);
            assert_eq!(v.key(&map(&[])), None);
        }
        assert_eq!(vary(&["Foo Bar"]), Vary::Star);
        assert_eq!(vary(&["\"Foo\""]), Vary::Star);
    }

    #[test]
    fn hundreds_of_fields_give_no_key() {
        let many: Vec<String> = (0..300).map(|i| format!("x-h{i}")).collect();
        let v = vary(&[&many.join(", ")]);
        assert_eq!(v, Vary::TooMany);
        assert_eq!(v.key(&map(&[])), None);
        let just: Vec<String> = (0..MAX_FIELDS).map(|i| format!("x-h{i}")).collect();
        assert!(matches!(vary(&[&just.join(",")]), Vary::Fields(f) if f.len() == MAX_FIELDS));
    }

    #[test]
    fn keys_match_equal_values_and_differ_otherwise() {
        let v = vary(&["Accept-Language, X-Foo"]);
        let k = |pairs: &[(&str, &str)]| v.key(&map(pairs)).unwrap();
        let base = k(&[("accept-language", "en, fr"), ("x-foo", "a")]);
        assert_eq!(base, k(&[("accept-language", "EN ,fr"), ("x-foo", "a")]));
        assert_eq!(
            base,
            k(&[
                ("accept-language", "en"),
                ("accept-language", "fr"),
                ("x-foo", "a")
            ])
        );
        assert_eq!(
            base,
            k(&[
                ("x-foo", "a"),
                ("accept-language", "en,  fr"),
                ("cookie", "c")
            ])
        );
        assert_ne!(base, k(&[("accept-language", "en, fr"), ("x-foo", "A")]));
        assert_ne!(base, k(&[("accept-language", "en, fr")]));
        assert_ne!(base, k(&[("accept-language", "fr, en"), ("x-foo", "a")]));
    }

    #[test]
    fn an_absent_field_differs_from_an_empty_one() {
        let v = vary(&["X-Foo"]);
        let absent = v.key(&map(&[])).unwrap();
        let empty = v.key(&map(&[("x-foo", "")])).unwrap();
        assert_ne!(absent, empty);
        assert_eq!(absent, v.key(&map(&[("x-bar", "1")])).unwrap());
    }

    #[test]
    fn keys_of_different_field_lists_differ() {
        let req = map(&[("x-a", "1"), ("x-b", "1")]);
        assert_ne!(vary(&["X-A"]).key(&req), vary(&["X-B"]).key(&req));
        assert!(Vary::None.key(&req).unwrap().is_empty());
    }

    #[test]
    fn credentials_are_compared_exactly() {
        let v = vary(&["Authorization"]);
        let k = |a: &str| v.key(&map(&[("authorization", a)])).unwrap();
        assert_ne!(k("Bearer a, b"), k("Bearer a,b"));
        assert_ne!(k("Bearer A"), k("Bearer a"));
        assert_eq!(k("Bearer a"), k("Bearer a"));
    }

    #[test]
    fn debug_shows_no_value() {
        let k = vary(&["Authorization"])
            .key(&map(&[("authorization", "Bearer s3cret")]))
            .unwrap();
        assert!(!format!("{k:?}").contains("s3cret"));
    }
}
