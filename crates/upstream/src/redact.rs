//! Token redaction for log lines: query parameters and headers that carry a token are replaced
//! by `REDACTED` before anything is formatted.
//!
//! The names redacted are the media servers' own ([`TOKEN_PARAMS`]), the bearer token any API
//! may take in a query ([`BEARER_PARAMS`]) and the credential parameters an operator names for
//! an `http` upstream ([`add_credential_params`], registered when the upstream is built): a log
//! line is written far from the upstream whose names it holds, so the names are the process's.

use std::fmt::Write as _;
use std::sync::RwLock;

use cachearr_dialect::{TOKEN_PARAMS, is_credential_header, is_token_param, nested};

/// The replacement text.
pub const REDACTED: &str = "REDACTED";

/// Query parameters that are a credential on any API, beside the media servers' token
/// parameters: RFC 6750's bearer token (§2.3).
pub const BEARER_PARAMS: [&str; 1] = ["access_token"];

/// The operators' credential parameters (lower case), added by [`add_credential_params`].
static OPERATOR_PARAMS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds query parameter names whose values are credentials (an `http` upstream's
/// `credential_params`): from now on [`target`] and [`text`] redact them too, on every log
/// line of the process. Names already known are not added twice.
pub fn add_credential_params<'a>(names: impl IntoIterator<Item = &'a str>) {
    let mut known = OPERATOR_PARAMS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for name in names {
        let name = name.to_ascii_lowercase();
        let built_in =
            is_token_param(&name) || BEARER_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p));
        if !name.is_empty() && !built_in && !known.contains(&name) {
            known.push(name);
        }
    }
}

/// Whether a (decoded) query parameter name carries a token: a media server's, a bearer token,
/// or one an operator named.
pub fn is_secret_param(name: &str) -> bool {
    is_token_param(name)
        || BEARER_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p))
        || OPERATOR_PARAMS
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(|p| name.eq_ignore_ascii_case(p))
}

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
        if is_secret_param(&decoded) || nested_token {
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
/// ([`TOKEN_PARAMS`], its headers' names among them), the bearer token ([`BEARER_PARAMS`]),
/// and `x-api-key`, the key the *arr APIs and many others take, which the http profile reads
/// as a credential by default.
fn token_names() -> impl Iterator<Item = &'static str> {
    TOKEN_PARAMS
        .into_iter()
        .chain(BEARER_PARAMS)
        .chain(["x-api-key"])
}

/// How a name found in text must be followed (and preceded) for what follows to be a token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A name that is a token's wherever it appears: any separator before the value.
    Anywhere,
    /// `token` inside a longer name (`Token="…"`, `access_token=`): only with `=`.
    Assigned,
    /// An operator's name, often a plain word (`key`, `sig`): only as a query parameter,
    /// after `?`, `&` or `;` (or their percent-encoded forms) and with `=`.
    QueryParam,
}

/// The first place at or after `from` where `name` appears in `lower` as `reading` wants it.
fn find_name(lower: &str, from: usize, name: &str, reading: Reading) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + lower.get(at..)?.find(name)?;
        if reading != Reading::QueryParam {
            return Some(i);
        }
        let before = &lower[..i];
        if ["?", "&", ";", "%3f", "%26"]
            .iter()
            .any(|b| before.ends_with(b))
        {
            return Some(i);
        }
        at = i + name.len();
    }
}

/// Any text (a formatted log line from any crate) with every token value replaced: the
/// values after the names `token_names` gives, after `token=` (`Token="…"` in an
/// authorization header, `access_token=`) and after an operator's credential parameter in a
/// query. Borrowed when there is nothing to replace. The last line of defence for log output
/// whose fields cachearr does not build itself (dependencies' traces).
pub fn text(line: &str) -> std::borrow::Cow<'_, str> {
    let lower = line.to_ascii_lowercase();
    let operator = OPERATOR_PARAMS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let named: Vec<&str> = operator
        .iter()
        .map(String::as_str)
        .filter(|n| lower.contains(n))
        .collect();
    if !lower.contains("token") && !lower.contains("api") && named.is_empty() {
        return std::borrow::Cow::Borrowed(line);
    }
    let names: Vec<(&str, Reading)> = token_names()
        .map(|n| (n, Reading::Anywhere))
        .chain([("token", Reading::Assigned)])
        .chain(named.iter().map(|n| (*n, Reading::QueryParam)))
        .collect();
    let bytes = line.as_bytes();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while at < lower.len() {
        let found = names
            .iter()
            .filter_map(|&(n, reading)| find_name(&lower, at, n, reading).map(|i| (i, n, reading)))
            .min_by_key(|(i, n, _)| (*i, std::cmp::Reverse(n.len())));
        let Some((i, name, reading)) = found else {
            break;
        };
        let mut v = i + name.len();
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
        if v > start && (reading == Reading::Anywhere && seps > 0 || saw_equals) {
            ranges.push((start, v));
        }
        at = v.max(i + name.len());
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
    fn a_bearer_token_and_an_operators_credential_parameters_are_redacted() {
        // RFC 6750's query token: in a target, a URL in any text, a JSON body's field.
        let t = target("/me?access_token=abc123&x=1");
        assert!(!t.contains("abc123") && t.ends_with("&x=1"), "{t}");
        let t = target("/me?Access_Token=abc123");
        assert!(!t.contains("abc123"), "{t}");
        for line in [
            "GET /me?access_token=abc123 HTTP/1.1",
            r#"{"access_token": "abc123", "expires_in": 3600}"#,
        ] {
            let out = text(line);
            assert!(!out.contains("abc123") && out.contains(REDACTED), "{out}");
        }
        // An operator's name, registered when its upstream is built: in a query only, so a
        // plain word is left alone elsewhere.
        let (t, line) = (
            "/feed?sigparam=abc123&page=2",
            "upstream=api target=/feed?page=2&sigparam=abc123",
        );
        assert!(target(t).contains("abc123") && text(line).contains("abc123"));
        add_credential_params(["SigParam", "access_token", ""]);
        add_credential_params(["sigparam"]);
        // (Other tests of this process register their own names in the same list.)
        let params = OPERATOR_PARAMS.read().unwrap().clone();
        assert_eq!(
            params.iter().filter(|p| p.as_str() == "sigparam").count(),
            1,
            "a repeat is not added: {params:?}"
        );
        assert!(
            !params.iter().any(|p| p == "access_token" || p.is_empty()),
            "built-in names are not added: {params:?}"
        );
        let t = target(t);
        assert!(!t.contains("abc123") && t.ends_with("&page=2"), "{t}");
        let out = text(line);
        assert!(!out.contains("abc123") && out.contains(REDACTED), "{out}");
        let out = text("url=%2Ffeed%3Fsigparam%3Dabc123");
        assert!(!out.contains("abc123"), "{out}");
        for line in ["the sigparam=abc123 of the setting", "sigparam: abc123"] {
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
