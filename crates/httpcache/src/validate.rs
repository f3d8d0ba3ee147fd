//! Validation (RFC 9111 §4.3): the conditional request that revalidates a stored response,
//! which stored response a `304 Not Modified` freshens (§4.3.4), and how its header fields
//! update the stored ones (§3.2).
//!
//! The update replaces each stored field the `304` carries, except those that describe the
//! stored content itself and would no longer match it: `Content-Length`, `Content-Encoding`,
//! `Content-Range`, `Content-MD5`, and `ETag` (the stored body is the one its validator
//! names), together with the fields never stored ([`crate::storable::never_stored`]). `Date` and `Age` describe the moment of
//! the response: a `304` without them removes the stored ones, so the freshened response's age
//! is counted from the `304` ([`crate::freshness::Stored::new`] is then called again with the
//! revalidation's times).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// The validators of a stored response as a conditional request's fields: `If-None-Match`
/// from `ETag`, `If-Modified-Since` from `Last-Modified` (§4.3.1). Empty when it has none.
pub fn conditional_headers(stored: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    if let Some(etag) = stored.get(header::ETAG) {
        out.insert(header::IF_NONE_MATCH, etag.clone());
    }
    if let Some(lm) = stored.get(header::LAST_MODIFIED) {
        out.insert(header::IF_MODIFIED_SINCE, lm.clone());
    }
    out
}

/// An entity tag: whether weak, and its opaque part with the quotes.
fn etag(v: &HeaderValue) -> Option<(bool, &[u8])> {
    let b = v.as_bytes().trim_ascii();
    let (weak, tag) = match b.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, b),
    };
    (tag.len() >= 2 && tag[0] == b'"' && tag[tag.len() - 1] == b'"').then_some((weak, tag))
}

/// Whether a `304` freshens this stored response (§4.3.4): a strong `ETag` in the `304`
/// must be the stored one, strongly; a weak one must match it weakly; without an `ETag`, a
/// `Last-Modified` in the `304` must equal the stored one; a `304` with no validator at all
/// answers the conditional request the cache made for this response, and freshens it.
///
/// The rule exists to pick among several stored responses. A cache that sent the validators of
/// one stored response only may take any `304` as being about it (nginx does, and
/// http-cache-tests' `304-etag-update-response-ETag` expects it); [`update_headers`] keeps the
/// stored `ETag` either way.
pub fn freshens(stored: &HeaderMap, not_modified: &HeaderMap) -> bool {
    if let Some(new) = not_modified.get(header::ETAG) {
        let Some((new_weak, new_tag)) = etag(new) else {
            return false;
        };
        let Some((old_weak, old_tag)) = stored.get(header::ETAG).and_then(etag) else {
            return false;
        };
        if !new_weak {
            return !old_weak && old_tag == new_tag;
        }
        return old_tag == new_tag;
    }
    if let Some(lm) = not_modified.get(header::LAST_MODIFIED) {
        return stored.get(header::LAST_MODIFIED).is_some_and(|old| {
            crate::fields::parse_http_date(old.to_str().unwrap_or(""))
                .zip(crate::fields::parse_http_date(lm.to_str().unwrap_or("")))
                .is_some_and(|(a, b)| a == b)
        });
    }
    true
}

/// Fields a `304` never updates (see the module docs).
fn kept(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-length" | "content-encoding" | "content-range" | "content-md5" | "etag"
    ) || crate::storable::never_stored(name)
}

/// Updates a stored response's header fields from a `304` (§3.2, §4.3.4).
pub fn update_headers(stored: &mut HeaderMap, not_modified: &HeaderMap) {
    // Fields the 304's `Connection` names are for that hop only.
    let hop = crate::storable::connection_fields(not_modified);
    for name in not_modified.keys() {
        if kept(name) || hop.contains(name) {
            continue;
        }
        stored.remove(name);
        for v in not_modified.get_all(name) {
            stored.append(name.clone(), v.clone());
        }
    }
    for name in [header::DATE, header::AGE] {
        if !not_modified.contains_key(&name) {
            stored.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use crate::test_headers as map;

    #[test]
    fn conditional_request_carries_both_validators() {
        let c = conditional_headers(&map(&[
            ("etag", "\"v1\""),
            ("last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"),
        ]));
        assert_eq!(c.get("if-none-match").unwrap(), "\"v1\"");
        assert_eq!(
            c.get("if-modified-since").unwrap(),
            "Wed, 01 Jan 2020 00:00:00 GMT"
        );
        assert!(conditional_headers(&map(&[("x", "1")])).is_empty());
    }

    #[test]
    fn a_304_freshens_only_the_response_its_validator_names() {
        let stored = map(&[
            ("etag", "\"a\""),
            ("last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"),
        ]);
        assert!(freshens(&stored, &map(&[("etag", "\"a\"")])));
        assert!(!freshens(&stored, &map(&[("etag", "\"b\"")])));
        assert!(freshens(&stored, &map(&[("etag", "W/\"a\"")])));
        assert!(!freshens(
            &map(&[("etag", "W/\"a\"")]),
            &map(&[("etag", "\"a\"")])
        ));
        assert!(!freshens(&stored, &map(&[("etag", "junk")])));
        assert!(freshens(
            &stored,
            &map(&[("last-modified", "Wednesday, 01-Jan-20 00:00:00 GMT")])
        ));
        assert!(!freshens(
            &stored,
            &map(&[("last-modified", "Thu, 02 Jan 2020 00:00:00 GMT")])
        ));
        assert!(freshens(
            &stored,
            &map(&[("date", "Thu, 02 Jan 2020 00:00:00 GMT")])
        ));
    }

    #[test]
    fn a_304_updates_fields_but_not_those_of_the_stored_content() {
        let mut stored = map(&[
            ("content-type", "text/plain"),
            ("content-length", "10"),
            ("content-encoding", "gzip"),
            ("etag", "\"a\""),
            ("cache-control", "max-age=1"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("x-kept", "old"),
            ("date", "Wed, 01 Jan 2020 00:00:00 GMT"),
            ("age", "5"),
        ]);
        let nm = map(&[
            ("content-type", "text/html"),
            ("content-length", "0"),
            ("content-encoding", "br"),
            ("etag", "\"b\""),
            ("cache-control", "max-age=3600"),
            ("set-cookie", "c=3"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("proxy-authenticate", "Basic"),
        ]);
        update_headers(&mut stored, &nm);
        assert_eq!(stored.get("content-type").unwrap(), "text/html");
        assert_eq!(stored.get("content-length").unwrap(), "10");
        assert_eq!(stored.get("content-encoding").unwrap(), "gzip");
        assert_eq!(stored.get("etag").unwrap(), "\"a\"");
        assert_eq!(stored.get("cache-control").unwrap(), "max-age=3600");
        let cookies: Vec<_> = stored.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["c=3"]);
        assert_eq!(stored.get("x-kept").unwrap(), "old");
        assert!(!stored.contains_key("x-hop"));
        assert!(!stored.contains_key("connection"));
        assert!(!stored.contains_key("transfer-encoding"));
        assert!(!stored.contains_key("proxy-authenticate"));
        assert!(
            !stored.contains_key("date"),
            "a 304 without Date drops the old one"
        );
        assert!(!stored.contains_key("age"));
    }
}
