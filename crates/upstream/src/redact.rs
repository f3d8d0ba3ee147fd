//! Token redaction for log lines: query parameters and headers that carry a token are replaced
//! by `REDACTED` before anything is formatted.

use std::fmt::Write as _;

use cachearr_dialect::{TOKEN_PARAMS, is_credential_header, is_token_param, nested};

/// The replacement text.
pub const REDACTED: &str = "REDACTED";

/// [`target`] of a request's URI: its path and query (`/` when it has neither).
pub fn uri_target(uri: &http::Uri) -> String {
    target(uri.path_and_query().map_or("/", |p| p.as_str()))
}

/// `path?query` with every token parameter's value replaced.
pub fn target(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_string();
    };
    let mut out = String::with_capacity(path_and_query.len());
    out.push_str(path);
    for (i, pair) in query.split('&').enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
        let value = pair.get(name.len() + 1..).unwrap_or("");
        // A value holding a nested token (or too deeply encoded to tell) is not written at all.
        let nested_token =
            nested::worth_a_look(value) && !matches!(nested::find(value), Ok(t) if t.is_empty());
        if is_token_param(&decoded) || nested_token {
            let _ = write!(out, "{name}={REDACTED}");
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// Names whose value is a token wherever they appear in text, with `:`, `=`, `%3D`, quotes
/// or spaces between name and value (a token header in a request dump, `"name": "v"` in a
/// header map's debug form, `name=v` in a URL): every name either server takes a token in
/// ([`TOKEN_PARAMS`], its headers' names among them), and `x-api-key`, the key the *arr APIs
/// and many others take, which the http profile reads as a credential by default.
fn token_names() -> impl Iterator<Item = &'static str> {
    TOKEN_PARAMS.into_iter().chain(["x-api-key"])
}

/// Any text (a formatted log line from any crate) with every token value replaced: the
/// values after the names `token_names` gives and after `token=` (`Token="…"` in an
/// authorization header). Borrowed when there is nothing to replace. The last line of defence
/// for log output whose fields cachearr does not build itself (dependencies' traces).
pub fn text(line: &str) -> std::borrow::Cow<'_, str> {
    let lower = line.to_ascii_lowercase();
    if !lower.contains("token") && !lower.contains("api") {
        return std::borrow::Cow::Borrowed(line);
    }
    let bytes = line.as_bytes();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < lower.len() {
        let rest = &lower[at..];
        let found = token_names()
            .map(|n| (n, true))
            .chain(std::iter::once(("token", false)))
            .filter_map(|(n, loose)| rest.find(n).map(|i| (i, n, loose)))
            .min_by_key(|(i, n, _)| (*i, std::cmp::Reverse(n.len())));
        let Some((i, name, loose)) = found else { break };
        let mut v = at + i + name.len();
        // Separators between the name and the value.
        let mut seps = 0;
        let mut saw_equals = false;
        while v < bytes.len() && seps < 6 {
            if lower[v..].starts_with("%3d") {
                v += 3;
                saw_equals = true;
            } else if matches!(bytes[v], b'=' | b':' | b'"' | b'\'' | b' ' | b'\\') {
                saw_equals |= bytes[v] == b'=';
                v += 1;
            } else {
                break;
            }
            seps += 1;
        }
        let start = v;
        while v < bytes.len() && !is_value_end(bytes[v]) {
            v += 1;
        }
        if v > start && (loose && seps > 0 || saw_equals) {
            ranges.push((start, v));
        }
        at = v.max(at + i + name.len());
    }
    if ranges.is_empty() {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut from = 0;
    for (a, b) in ranges {
        out.push_str(&line[from..a]);
        out.push_str(REDACTED);
        from = b;
    }
    out.push_str(&line[from..]);
    std::borrow::Cow::Owned(out)
}

fn is_value_end(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'&' | b'"' | b'\'' | b',' | b';' | b')' | b'}' | b']' | b'>' | b'<' | b'\\' | b'%'
        )
}

/// Whether a header carries a credential (its value must never be logged): those either
/// server reads a token from ([`is_credential_header`]) and HTTP's own.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    is_credential_header(&n)
        || matches!(
            n.as_str(),
            "authorization" | "x-api-key" | "cookie" | "set-cookie" | "proxy-authorization"
        )
}

/// Headers as `name: value` lines with credentials replaced, for debug logs.
pub fn headers(h: &http::HeaderMap) -> String {
    let mut out = String::new();
    for (name, value) in h {
        let v = if is_secret_header(name.as_str()) {
            REDACTED
        } else {
            value.to_str().unwrap_or("<binary>")
        };
        let _ = write!(out, "{name}: {v}; ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uris_target_is_redacted_and_never_empty() {
        let uri: http::Uri = "/library/sections?X-Plex-Token=abc123&type=10"
            .parse()
            .unwrap();
        let out = uri_target(&uri);
        assert!(!out.contains("abc123") && out.contains(REDACTED), "{out}");
        assert!(
            out.starts_with("/library/sections?") && out.ends_with("&type=10"),
            "{out}"
        );
        let authority_only: http::Uri = "http://plex:32400".parse().unwrap();
        assert_eq!(uri_target(&authority_only), "/");
    }

    #[test]
    fn tokens_are_redacted_in_any_text() {
        for (line, secret) in [
            (
                r#"Request: "GET /:/websockets/notifications HTTP/1.1\r\nx-plex-token: cs3v2-2_tj\r\n\r\n""#,
                "cs3v2-2_tj",
            ),
            ("GET ws://h/socket?api_key=abc123&deviceId=x", "abc123"),
            (
                r#"headers: {"x-emby-token": "abc123", "accept": "*/*"}"#,
                "abc123",
            ),
            (r#"MediaBrowser Client="c", Token="abc123""#, "abc123"),
            ("url=%2Fa%3FX-Plex-Token%3Dabc123", "abc123"),
            ("ApiKey=abc123", "abc123"),
            ("X-Api-Key: abc123\r\naccept: */*", "abc123"),
        ] {
            let out = text(line);
            assert!(!out.contains(secret), "{line} -> {out}");
            assert!(out.contains(REDACTED), "{out}");
        }
        // Lines without a token are untouched (and not copied).
        for line in [
            "upstream plex: the owner token is accepted (owner / administrator)",
            "token_trust = 3600",
            "the api answered 200",
        ] {
            assert!(
                matches!(text(line), std::borrow::Cow::Borrowed(_)),
                "{line}"
            );
        }
    }

    #[test]
    fn tokens_are_redacted_in_queries_and_headers() {
        let t = target("/library/sections?X-Plex-Token=abc123&type=1&api_key=zzz");
        assert!(!t.contains("abc123") && !t.contains("zzz"), "{t}");
        assert!(t.contains("type=1"));
        let t = target("/photo/:/transcode?width=1&url=%2Fa%3FX-Plex-Token%3Dabc123");
        assert!(!t.contains("abc123") && t.contains("width=1"), "{t}");
        let mut h = http::HeaderMap::new();
        h.insert("x-plex-token", http::HeaderValue::from_static("abc123"));
        h.insert("x-api-key", http::HeaderValue::from_static("def456"));
        h.insert("accept", http::HeaderValue::from_static("application/json"));
        let s = headers(&h);
        assert!(
            !s.contains("abc123") && !s.contains("def456") && s.contains("application/json"),
            "{s}"
        );
    }
}
