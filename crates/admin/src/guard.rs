//! What keeps web pages in the operator's browser away from the admin listener.
//!
//! A page on any site can make the browser send requests to `127.0.0.1:8485`: GETs, plain HTML
//! form POSTs and no-cors `fetch`es go out without asking anyone, and DNS rebinding (the page's
//! own name made to resolve to 127.0.0.1) even lets it read the answers. Three checks, in
//! [`guard`], run before any admin route:
//!
//! 1. **Host** — the `Host` header must be a loopback name (`localhost`), an IP address (a
//!    rebinding page always sends its own *name*), the listener's configured host, or one of
//!    `admin_allowed_hosts`. Otherwise 403. A request without `Host` (HTTP/1.0 tools) passes: a
//!    browser always sends one.
//! 2. **Cross-site** — a request that changes something (any method but GET, HEAD, OPTIONS) is
//!    refused (403) when the browser says it comes from elsewhere: `Sec-Fetch-Site` other than
//!    `same-origin` or `none`, or an `Origin` that is not this host.
//! 3. **Not a form** — such a request must also carry `X-Cachearr-Request` or a content type a
//!    form cannot send (anything but `application/x-www-form-urlencoded`, `multipart/form-data`,
//!    `text/plain` or none); a page can only set those with a CORS preflight, which the admin
//!    listener never grants. Old browsers that send neither `Origin` nor `Sec-Fetch-Site` are
//!    stopped here. The dashboard and the `cachearr` commands send the header.
//!
//! Webhooks (`/webhooks/…`) are exempt from 2 and 3: the media server posts them as multipart
//! forms, and they are authenticated by the webhook secret instead
//! ([`super::webhook_secret`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use cachearr_gateway::error_answer::{ErrorAnswer, ErrorKind};

/// The header that marks a request as sent by a script that could have been preflighted.
pub const REQUEST_HEADER: &str = "x-cachearr-request";

/// The names the admin listener answers to (besides IP addresses and loopback names).
#[derive(Debug, Clone, Default)]
pub struct AdminGuard {
    names: Vec<String>,
}

impl AdminGuard {
    /// Allows `localhost`, any IP address, the host of `listen` and each of `extra`
    /// (host names, compared without case and port).
    pub fn new(listen: SocketAddr, extra: &[String]) -> Self {
        let mut names: Vec<String> = extra.iter().map(|h| normalise(h)).collect();
        names.push(normalise(&listen.ip().to_string()));
        Self { names }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = normalise(strip_port(host));
        name == "localhost" || name.parse::<IpAddr>().is_ok() || self.names.contains(&name)
    }

    /// Check 1: `Err` with the reason to refuse when the `Host` is not one of ours.
    fn check_host(&self, headers: &HeaderMap) -> Result<(), HostRefused> {
        let Some(host) = headers.get(header::HOST) else {
            return Ok(());
        };
        match host.to_str() {
            Ok(h) if self.host_allowed(h) => Ok(()),
            Ok(h) => Err(HostRefused::NotOurs(h.to_owned())),
            Err(_) => Err(HostRefused::Malformed),
        }
    }

    /// Checks 2 and 3 for a request that changes something.
    fn check_same_origin(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        if let Some(site) = headers.get("sec-fetch-site") {
            let site = site.as_bytes();
            if !(site.eq_ignore_ascii_case(b"same-origin") || site.eq_ignore_ascii_case(b"none")) {
                return Err(
                    "cross-site request refused: the admin API only takes changes from its own \
                     dashboard and from tools",
                );
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = match (origin.to_str(), headers.get(header::HOST)) {
                (Ok(o), Some(host)) => origin_authority(o)
                    .is_some_and(|a| host.to_str().is_ok_and(|h| a.eq_ignore_ascii_case(h))),
                _ => false,
            };
            if !same {
                return Err("cross-origin request refused: the Origin is not this admin listener");
            }
        }
        if headers.contains_key(REQUEST_HEADER) || !form_content_type(headers) {
            return Ok(());
        }
        Err(
            "send the header `X-Cachearr-Request: 1` (or a JSON body) with requests that change \
             something: a plain form post could come from any web page",
        )
    }
}

/// Lower case, without a trailing dot or IPv6 brackets.
fn normalise(host: &str) -> String {
    host.trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// `host:port` → `host`, `[v6]:port` → `[v6]`; a bare IPv6 address stays whole.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// `http://host:port` → `host:port` (`None` for `null` and other non-URLs).
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    Some(rest.trim_end_matches('/'))
}

/// True when the content type is one an HTML form (or a no-cors fetch) can send: none, or a
/// CORS-safelisted one.
fn form_content_type(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "" | "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
    )
}

/// Why check 1 refuses a request's `Host`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum HostRefused {
    /// A name this listener was not told it has.
    #[error(
        "Host {0:?} is not a name of this admin listener (a guard against DNS rebinding): use \
         localhost or an IP address, or add the name to admin_allowed_hosts"
    )]
    NotOurs(String),
    /// Not text.
    #[error("malformed Host header")]
    Malformed,
}

fn refuse(message: &str) -> Response {
    ErrorAnswer::new(ErrorKind::Forbidden, message.to_owned()).into_response()
}

/// The middleware: checks 1–3 before the admin routes.
pub async fn guard(State(g): State<Arc<AdminGuard>>, request: Request, next: Next) -> Response {
    if let Err(why) = g.check_host(request.headers()) {
        return refuse(&why.to_string());
    }
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads
        && !request.uri().path().starts_with("/webhooks/")
        && let Err(why) = g.check_same_origin(request.headers())
    {
        return refuse(why);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn guard() -> AdminGuard {
        AdminGuard::new(
            "127.0.0.1:8485".parse().unwrap(),
            &["cachearr.home.lan".into()],
        )
    }

    #[test]
    fn hosts() {
        let g = guard();
        for ok in [
            "localhost",
            "localhost:8485",
            "LOCALHOST.",
            "127.0.0.1:8485",
            "[::1]:8485",
            "::1",
            "192.168.1.5",
            "cachearr.home.lan:8485",
            "Cachearr.Home.Lan",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8485",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        assert!(g.check_host(&headers(&[])).is_ok());
        assert!(
            g.check_host(&headers(&[("host", "rebound.example:8485")]))
                .is_err()
        );
    }

    #[test]
    fn changes_must_be_same_origin_and_not_a_form() {
        let g = guard();
        let ok =
            |pairs: &[(&'static str, &'static str)]| g.check_same_origin(&headers(pairs)).is_ok();
        // Tools: no browser headers, but the marker or a JSON body.
        assert!(ok(&[("x-cachearr-request", "1")]));
        assert!(ok(&[("content-type", "application/json")]));
        // A form post or a body-less no-cors fetch, even without browser headers.
        assert!(!ok(&[]));
        assert!(!ok(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )]));
        assert!(!ok(&[("content-type", "multipart/form-data; boundary=x")]));
        assert!(!ok(&[("content-type", "text/plain;charset=UTF-8")]));
        // The dashboard: same origin.
        assert!(ok(&[
            ("host", "127.0.0.1:8485"),
            ("origin", "http://127.0.0.1:8485"),
            ("sec-fetch-site", "same-origin"),
            ("x-cachearr-request", "1"),
        ]));
        // Another site, or another port of the same host.
        assert!(!ok(&[
            ("host", "127.0.0.1:8485"),
            ("sec-fetch-site", "cross-site"),
            ("x-cachearr-request", "1"),
        ]));
        assert!(!ok(&[
            ("host", "127.0.0.1:8485"),
            ("sec-fetch-site", "same-site"),
            ("x-cachearr-request", "1"),
        ]));
        assert!(!ok(&[
            ("host", "127.0.0.1:8485"),
            ("origin", "http://127.0.0.1:3000"),
            ("x-cachearr-request", "1"),
        ]));
        assert!(!ok(&[
            ("host", "127.0.0.1:8485"),
            ("origin", "null"),
            ("content-type", "application/json"),
        ]));
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("a.b"), "a.b");
    }
}
