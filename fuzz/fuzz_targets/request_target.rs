//! What a client sends on the proxy port: the request target and headers, read for the token
//! (each server's rules), the cache key and the redacted form written to logs. Any target and
//! any headers: a token or none, a key or a refusal, never a panic; the key is a function of
//! the request (the same request gives the same key).
//!
//! Input layout: byte 0 picks the profile and method; the rest is text, line 1 the target
//! (`/path?query`), each further line a header `name: value` (lines that are not valid header
//! names or values are skipped, as hyper would have refused them).
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use cachearr_dialect::{self as dialect, Profile};
use cachearr_upstream::keys::{self, KeyInput, Secret};
use cachearr_upstream::redact;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let profile = if selector & 1 == 0 {
        Profile::Plex
    } else {
        Profile::Jellyfin
    };
    let method = if selector & 2 == 0 {
        Method::GET
    } else {
        Method::HEAD
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let target = lines.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let _ = redact::target(target);
    let _ = redact::headers(&headers);
    let token = dialect::token_of(profile, &headers, query);
    let secret = Secret::from_bytes([7; 16]);
    let user = token.as_deref().map(|t| secret.user_of(t));
    let input = KeyInput {
        upstream: "fuzz",
        profile,
        method: &method,
        path,
        query,
        headers: &headers,
        user,
    };
    let first = keys::build_key(&input);
    let second = keys::build_key(&input);
    assert_eq!(first, second, "a key is a function of the request");
});
