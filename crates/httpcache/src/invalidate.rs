//! What a response to an unsafe method invalidates (RFC 9111 §4.4).
//!
//! A non-error response (2xx or 3xx) to a method that is not known to be safe — anything but
//! GET, HEAD, OPTIONS and TRACE, so also methods cachearr has never heard of — invalidates
//! the request's target and the URIs in the response's `Location` and `Content-Location`,
//! those only when they have the request's origin (scheme, host and port): a response must
//! not be able to evict another site's entries. References are resolved against the target
//! (RFC 3986 §5.2), fragments dropped; the result is each target's path and query, as the
//! cache keys them.

use http::{HeaderMap, Method, StatusCode};

/// Whether `method` is safe (RFC 9110 §9.2.1): one that cannot change the origin's state.
pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The request's origin: how the client addressed the cache.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The `Host` the request named (`host[:port]`).
    pub authority: &'a str,
}

/// The paths (with their queries) invalidated by a response with `status` and `response`
/// headers to `method` on `target` (a path with an optional query) at `origin`: the target
/// first, then the same-origin `Location` and `Content-Location`, without repeats. Empty for
/// safe methods and error statuses.
pub fn targets(
    method: &Method,
    status: StatusCode,
    origin: Origin<'_>,
    target: &str,
    response: &HeaderMap,
) -> Vec<String> {
    if is_safe(method) || !(status.is_success() || status.is_redirection()) {
        return Vec::new();
    }
    let base = strip_fragment(target);
    let mut out = vec![base.to_owned()];
    for name in [http::header::LOCATION, http::header::CONTENT_LOCATION] {
        let Some(v) = response.get(&name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        if let Some(p) = resolve(origin, base, v.trim())
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    out
}

fn strip_fragment(s: &str) -> &str {
    s.split_once('#').map_or(s, |(a, _)| a)
}

/// The default port of a scheme.
fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    }
}

/// `host[:port]` lower-cased with the scheme's default port removed; userinfo dropped.
fn normal_authority(scheme: &str, authority: &str) -> String {
    let a = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let a = a.to_ascii_lowercase();
    match (a.rsplit_once(':'), default_port(scheme)) {
        // `[::1]:80`: the part after the last colon is a port only past the bracket.
        (Some((host, port)), Some(d)) if port == d && !port.contains(']') => host.to_owned(),
        _ => a,
    }
}

/// Resolves `reference` against the path `base` at `origin`; `None` when it has another
/// origin or is not a reference cachearr can read.
fn resolve(origin: Origin<'_>, base: &str, reference: &str) -> Option<String> {
    let r = strip_fragment(reference);
    if r.chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return None;
    }
    let scheme_end = r.find(':').filter(|&i| {
        i > 0
            && r[..i].bytes().enumerate().all(|(j, b)| {
                b.is_ascii_alphabetic() || (j > 0 && (b.is_ascii_digit() || b"+-.".contains(&b)))
            })
            && !r[..i].contains('/')
    });
    let (scheme, rest) = match scheme_end {
        Some(i) => (r[..i].to_ascii_lowercase(), &r[i + 1..]),
        None => (origin.scheme.to_ascii_lowercase(), r),
    };
    if let Some(net) = rest.strip_prefix("//") {
        let end = net.find(['/', '?']).unwrap_or(net.len());
        let (authority, path) = net.split_at(end);
        let same = scheme.eq_ignore_ascii_case(origin.scheme)
            && normal_authority(&scheme, authority)
                == normal_authority(origin.scheme, origin.authority);
        if !same {
            return None;
        }
        let path = if path.is_empty() || path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        return Some(remove_dots_keep_query(&path));
    }
    if scheme_end.is_some() {
        // `scheme:path` without an authority (`mailto:`, `urn:`): never this origin.
        return None;
    }
    let (base_path, _) = base.split_once('?').unwrap_or((base, ""));
    let merged = if rest.is_empty() {
        base.to_owned()
    } else if rest.starts_with('/') {
        rest.to_owned()
    } else if rest.starts_with('?') {
        format!("{base_path}{rest}")
    } else {
        let dir = base_path.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{rest}")
    };
    Some(remove_dots_keep_query(&merged))
}

/// RFC 3986 §5.2.4 on the path; the query untouched.
fn remove_dots_keep_query(s: &str) -> String {
    let (path, query) = match s.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (s, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate().skip(1) {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut p = String::from("/");
    p.push_str(&out.join("/"));
    if let Some(q) = query {
        p.push('?');
        p.push_str(q);
    }
    p
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const AT: Origin<'static> = Origin {
        scheme: "http",
        authority: "cache.example:8080",
    };

    use crate::test_headers as map;

    fn t(method: &str, status: u16, target: &str, resp: &[(&str, &str)]) -> Vec<String> {
        targets(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            StatusCode::from_u16(status).unwrap(),
            AT,
            target,
            &map(resp),
        )
    }

    #[test]
    fn unsafe_methods_invalidate_their_target_on_success() {
        for m in ["POST", "PUT", "DELETE", "PATCH", "M-SEARCH"] {
            assert_eq!(t(m, 200, "/a?b=1", &[]), ["/a?b=1"], "{m}");
            assert_eq!(t(m, 303, "/a", &[]), ["/a"], "{m}");
            assert!(t(m, 500, "/a", &[]).is_empty(), "{m}");
            assert!(t(m, 404, "/a", &[]).is_empty(), "{m}");
        }
        for m in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            assert!(t(m, 200, "/a", &[]).is_empty(), "{m}");
        }
    }

    #[test]
    fn location_and_content_location_of_the_same_origin() {
        let got = t(
            "POST",
            201,
            "/dir/list",
            &[
                ("location", "/items/1"),
                ("content-location", "other?x=1#frag"),
            ],
        );
        assert_eq!(got, ["/dir/list", "/items/1", "/dir/other?x=1"]);
        let abs = t(
            "PUT",
            200,
            "/a",
            &[("location", "HTTP://Cache.Example:8080/b")],
        );
        assert_eq!(abs, ["/a", "/b"]);
        let net = t(
            "PUT",
            200,
            "/a",
            &[("location", "//cache.example:8080/c/./d/../e")],
        );
        assert_eq!(net, ["/a", "/c/e"]);
        let query = t("PUT", 200, "/a/b?old", &[("location", "?new")]);
        assert_eq!(query, ["/a/b?old", "/a/b?new"]);
        let up = t("PUT", 200, "/a/b/c", &[("location", "../x")]);
        assert_eq!(up, ["/a/b/c", "/a/x"]);
    }

    #[test]
    fn other_origins_are_left_alone() {
        for loc in [
            "http://elsewhere.example:8080/b",
            "https://cache.example:8080/b",
            "http://cache.example/b",
            "//cache.example:9090/b",
            "mailto:someone@example.org",
            "/has space",
        ] {
            assert_eq!(t("POST", 200, "/a", &[("location", loc)]), ["/a"], "{loc}");
        }
    }

    #[test]
    fn default_ports_are_the_same_origin() {
        let at = Origin {
            scheme: "http",
            authority: "cache.example",
        };
        let got = targets(
            &Method::POST,
            StatusCode::OK,
            at,
            "/a",
            &map(&[("location", "http://cache.example:80/b")]),
        );
        assert_eq!(got, ["/a", "/b"]);
    }

    #[test]
    fn repeats_are_listed_once() {
        assert_eq!(
            t(
                "DELETE",
                204,
                "/a",
                &[("location", "/a"), ("content-location", "/a")]
            ),
            ["/a"]
        );
    }
}
