//! Token redaction for log lines: query parameters and headers that carry a token are replaced
//! by `REDACTED` before anything is formatted.

use std::fmt::Write as _;

use crate::dialect::{is_token_param, nested};

/// The replacement text.
pub const REDACTED: &str = "REDACTED";

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

/// Whether a header carries a credential (its value must never be logged).
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "x-plex-token"
            | "authorization"
            | "x-emby-authorization"
            | "x-emby-token"
            | "x-mediabrowser-token"
            | "cookie"
            | "set-cookie"
            | "proxy-authorization"
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
    fn tokens_are_redacted_in_queries_and_headers() {
        let t = target("/library/sections?X-Plex-Token=abc123&type=1&api_key=zzz");
        assert!(!t.contains("abc123") && !t.contains("zzz"), "{t}");
        assert!(t.contains("type=1"));
        let t = target("/photo/:/transcode?width=1&url=%2Fa%3FX-Plex-Token%3Dabc123");
        assert!(!t.contains("abc123") && t.contains("width=1"), "{t}");
        let mut h = http::HeaderMap::new();
        h.insert("x-plex-token", http::HeaderValue::from_static("abc123"));
        h.insert("accept", http::HeaderValue::from_static("application/json"));
        let s = headers(&h);
        assert!(
            !s.contains("abc123") && s.contains("application/json"),
            "{s}"
        );
    }
}
