//! Request fields that steer what an origin answers although no cache key holds them: a
//! response chosen by one of them and stored for its URL is served to every later client,
//! whatever they sent (cache poisoning). An origin steered by them rarely names them in
//! `Vary`, so a cache cannot leave them to the origin.
//!
//! Three kinds, each handled its own way by [`strip`] and [`method_override`]:
//! - **forwarding** fields ([`is_forwarding`]: `Forwarded`, `X-Forwarded-*`, `X-Real-IP` and
//!   the other client-address fields): a client's values are claims about hops before the
//!   cache that it cannot prove; the cache removes them and says only what it knows (the
//!   address it was asked from);
//! - **rewrite** fields ([`is_rewrite`]: `X-Original-URL`, `X-Rewrite-URL`, `X-Original-URI`):
//!   some frameworks route by them instead of the request target, so one URL's key would
//!   hold another path's answer; removed;
//! - **method overrides** ([`METHOD_OVERRIDES`]): some frameworks run the method they name
//!   instead of the request's, so a `GET` may delete; such a request is taken as the
//!   overridden method (passed through, and invalidating as that method would).
//!
//! And the fields a request's own `Connection` names (RFC 9110 §7.6.1), which belong to the
//! one connection and go no further.

use http::{HeaderMap, HeaderName, Method};

/// The fields that ask a framework to run another method than the request's.
pub const METHOD_OVERRIDES: [&str; 3] = [
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// Whether a field carries a claim about where a request came from or how it was addressed
/// before it reached the cache: `Forwarded` (RFC 7239), every `X-Forwarded-*`, and the
/// single-address fields proxies and CDNs set.
pub fn is_forwarding(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("x-forwarded-")
        || matches!(
            name,
            "forwarded"
                | "x-real-ip"
                | "x-client-ip"
                | "true-client-ip"
                | "x-cluster-client-ip"
                | "x-originating-ip"
        )
}

/// Whether a field names another target than the request's, which some frameworks (IIS,
/// Symfony, Zend) route by.
pub fn is_rewrite(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "x-original-url" | "x-rewrite-url" | "x-original-uri"
    )
}

/// The method a request's override fields ask for, if it carries any: an unsafe one when any
/// value names one (what the origin may run), else the first. A value that is not a method
/// is taken as `POST`: what the origin makes of it cannot be told, so it counts as a write.
pub fn method_override(headers: &HeaderMap) -> Option<Method> {
    // Asked of every request, which rarely carries one: a pass over its few names costs less
    // than hashing the three names for three look-ups.
    if !headers
        .keys()
        .any(|n| METHOD_OVERRIDES.contains(&n.as_str()))
    {
        return None;
    }
    let mut first = None;
    for name in METHOD_OVERRIDES {
        for value in headers.get_all(name) {
            let method = std::str::from_utf8(value.as_bytes())
                .ok()
                .map(|v| v.trim().to_ascii_uppercase())
                .and_then(|v| Method::from_bytes(v.as_bytes()).ok())
                .unwrap_or(Method::POST);
            if !crate::invalidate::is_safe(&method) {
                return Some(method);
            }
            first.get_or_insert(method);
        }
    }
    first
}

/// Removes from a request's headers the fields that must not reach the origin from a client:
/// those its `Connection` names, the forwarding fields and the rewrite fields. Returns how
/// many were removed.
pub fn strip(headers: &mut HeaderMap) -> usize {
    let mut names = crate::storable::connection_fields(headers);
    names.retain(|n| n != http::header::CONNECTION);
    names.extend(
        headers
            .keys()
            .filter(|n| is_forwarding(n) || is_rewrite(n))
            .cloned(),
    );
    let mut removed = 0;
    for name in names {
        if headers.remove(&name).is_some() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::test_headers as map;

    #[test]
    fn forwarding_rewrite_and_connection_named_fields_are_removed() {
        let mut h = map(&[
            ("x-forwarded-host", "evil.example"),
            ("X-Forwarded-Proto", "https"),
            ("x-forwarded-for", "10.0.0.1"),
            ("x-forwarded-prefix", "/evil"),
            ("forwarded", "host=evil.example"),
            ("x-real-ip", "10.0.0.1"),
            ("x-original-url", "/admin"),
            ("x-rewrite-url", "/admin"),
            ("connection", "keep-alive, X-Secret, http2-settings"),
            ("x-secret", "1"),
            ("http2-settings", "AAMAAABkAAQCAAAAAAIAAAAA"),
            ("accept", "application/json"),
            ("authorization", "Bearer a"),
        ]);
        assert_eq!(strip(&mut h), 10);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "authorization", "connection"]);
    }

    #[test]
    fn an_override_is_read_as_the_method_it_names() {
        let o = |pairs: &[(&str, &str)]| method_override(&map(pairs));
        assert_eq!(o(&[]), None);
        assert_eq!(
            o(&[("x-http-method-override", "delete")]),
            Some(Method::DELETE)
        );
        assert_eq!(o(&[("X-HTTP-Method", " PUT ")]), Some(Method::PUT));
        assert_eq!(o(&[("x-method-override", "GET")]), Some(Method::GET));
        // An unsafe value wins over a safe one, whichever field comes first.
        assert_eq!(
            o(&[
                ("x-http-method-override", "GET"),
                ("x-method-override", "PATCH")
            ]),
            Some(Method::PATCH)
        );
        assert_eq!(o(&[("x-http-method", "not a method")]), Some(Method::POST));
    }
}
