//! The one place that writes what a gateway answer says about the cache: `X-Cache`,
//! `Cache-Status` (RFC 9211), `Age` and `Server-Timing` for cached reads, pass-through and
//! answers from the library index, and the JSON error answer. A leaf: the proxy and the
//! library copy's answers (`cachearr-copy`) use it, and it uses nothing of theirs.

use std::time::Instant;

use bytes::Bytes;
use cachearr_engine::{Lookup, Outcome};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Response};
use http_body_util::Either;

pub use crate::error_answer::{ErrorAnswer, ErrorKind};
use cachearr_wire::ResponseBody as ProxyBody;

/// Microseconds since `started`, saturating: the one way the gateway times a step for its
/// counters and headers (the engine's, so that timing a step enters no module of the
/// gateway's: a cached read's answer enters this one once, to mark its head).
pub(crate) use cachearr_engine::elapsed_us;

/// `X-Cache`: `HIT` or `MISS`, as caches have long written it.
pub(crate) const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// `Cache-Status` (RFC 9211).
pub(crate) const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");
/// `Server-Timing`: where the answer's time went.
pub(crate) const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// `Cache-Status` of an answer rendered from the library index.
pub(crate) const CACHE_STATUS_INDEX: &str = "cachearr; hit; detail=index";

/// Marks an answer rendered from the library index: a hit of the index, no age, the time it
/// took.
pub fn mark_index_answer(h: &mut HeaderMap, started: Instant) {
    h.insert(X_CACHE, HeaderValue::from_static("HIT"));
    h.insert(CACHE_STATUS, HeaderValue::from_static(CACHE_STATUS_INDEX));
    h.insert(header::AGE, HeaderValue::from(0u32));
    write_timing(h, elapsed_us(started), None, Some("index"));
}

/// Writes what an answer the library copy wrote on a cache miss says about the cache: a hit of
/// the copy (the server was not asked), stored for `ttl_s` seconds, of no age. Like
/// [`mark_cache_state`], with a place for `Server-Timing` ([`mark_copy_timing`]).
pub(crate) fn mark_copy_state(h: &mut HeaderMap, ttl_s: i64) {
    let mut status = Vec::with_capacity(48);
    status.extend_from_slice(b"cachearr; hit; ttl=");
    push_i64(&mut status, ttl_s);
    status.extend_from_slice(b"; detail=copy");
    h.insert(X_CACHE, HeaderValue::from_static("HIT"));
    if let Some(s) = header_value(status) {
        h.insert(CACHE_STATUS, s);
    }
    h.insert(header::AGE, HeaderValue::from(0u32));
    h.insert(SERVER_TIMING, HeaderValue::from_static("cache"));
}

/// Writes `Server-Timing` of an answer from the library copy: its time, described as the
/// copy's.
pub(crate) fn mark_copy_timing(h: &mut HeaderMap, total_us: u64) {
    write_timing(h, total_us, None, Some("copy"));
}

/// Writes the per-answer cache headers: `X-Cache`, `Cache-Status`, `Age`, `Server-Timing`.
pub(crate) fn mark_cached(
    h: &mut HeaderMap,
    lookup: &Lookup,
    now: u64,
    started: Instant,
    upstream_us: u64,
) {
    let (age_s, ttl_s) = lookup.entry.age_and_ttl(now);
    mark_cache_state(h, lookup.outcome, age_s, ttl_s);
    mark_timing(h, lookup.outcome, elapsed_us(started), upstream_us);
}

/// Writes what an answer says about the cache entry: `X-Cache`, `Cache-Status` and `Age`.
/// They depend only on the outcome and on the entry's age and time to live
/// ([`Entry::age_and_ttl`](cachearr_engine::Entry::age_and_ttl)), so an answer may be given a head
/// written for an earlier answer with the same three (`prepared` keeps one per entry).
pub(crate) fn mark_cache_state(h: &mut HeaderMap, outcome: Outcome, age_s: u64, ttl_s: i64) {
    // Built byte by byte, not with `format!`: `core::fmt` (floats above all) cost more than
    // the rest of the header work (docs/benchmarks.md).
    let mut status = Vec::with_capacity(64);
    let x_cache = match outcome {
        Outcome::Hit(tier) => {
            status.extend_from_slice(b"cachearr; hit; ttl=");
            push_i64(&mut status, ttl_s);
            status.extend_from_slice(b"; detail=");
            status.extend_from_slice(tier.as_str().as_bytes());
            "HIT"
        }
        Outcome::Miss => {
            status.extend_from_slice(b"cachearr; fwd=uri-miss; stored; ttl=");
            push_i64(&mut status, ttl_s);
            "MISS"
        }
        Outcome::Coalesced => {
            status.extend_from_slice(b"cachearr; fwd=uri-miss; collapsed; ttl=");
            push_i64(&mut status, ttl_s);
            "MISS"
        }
        Outcome::Stale => {
            status.extend_from_slice(b"cachearr; hit; ttl=");
            push_i64(&mut status, ttl_s);
            status.extend_from_slice(b"; detail=stale-while-revalidate");
            "STALE"
        }
        Outcome::StaleOnError => {
            status.extend_from_slice(b"cachearr; fwd=stale; ttl=");
            push_i64(&mut status, ttl_s);
            status.extend_from_slice(b"; detail=stale-if-error");
            "STALE"
        }
        Outcome::Passed => {
            status.extend_from_slice(b"cachearr; fwd=uri-miss; detail=not-stored");
            "MISS"
        }
    };
    h.insert(X_CACHE, HeaderValue::from_static(x_cache));
    if let Some(s) = header_value(status) {
        h.insert(CACHE_STATUS, s);
    }
    h.insert(header::AGE, HeaderValue::from(age_s));
    // A place for `Server-Timing`, which every answer sets anew ([`mark_timing`]): a head
    // cloned from this map then replaces a value instead of growing the map.
    h.insert(SERVER_TIMING, HeaderValue::from_static("cache"));
}

/// Writes `Server-Timing`: the answer's time so far (`total_us`), and the upstream's share on
/// a miss.
pub(crate) fn mark_timing(h: &mut HeaderMap, outcome: Outcome, total_us: u64, upstream_us: u64) {
    write_timing(h, total_us, upstream_share(outcome, upstream_us), None);
}

/// Appends the `Server-Timing` value [`mark_timing`] writes, for a head written as bytes.
pub(crate) fn push_timing(out: &mut Vec<u8>, outcome: Outcome, total_us: u64, upstream_us: u64) {
    push_timing_value(out, total_us, upstream_share(outcome, upstream_us), None);
}

/// The upstream's share of an answer's time: only a miss waited for it.
fn upstream_share(outcome: Outcome, upstream_us: u64) -> Option<u64> {
    (upstream_us > 0 && matches!(outcome, Outcome::Miss | Outcome::Passed)).then_some(upstream_us)
}

/// The one writer of `Server-Timing`: `cache;dur=` the answer's time `total_us` less the
/// upstream's share, then `upstream;dur=` that share when there is one, and a `desc`.
/// Milliseconds with three decimals, written byte by byte (`core::fmt` with floats cost more
/// than the rest of a hit's header work).
fn write_timing(h: &mut HeaderMap, total_us: u64, upstream_us: Option<u64>, desc: Option<&str>) {
    let mut timing = Vec::with_capacity(48);
    push_timing_value(&mut timing, total_us, upstream_us, desc);
    if let Some(t) = header_value(timing) {
        h.insert(SERVER_TIMING, t);
    }
}

fn push_timing_value(
    timing: &mut Vec<u8>,
    total_us: u64,
    upstream_us: Option<u64>,
    desc: Option<&str>,
) {
    timing.extend_from_slice(b"cache;dur=");
    match upstream_us {
        Some(us) => {
            push_ms3(timing, total_us.saturating_sub(us));
            timing.extend_from_slice(b", upstream;dur=");
            push_ms3(timing, us);
        }
        None => push_ms3(timing, total_us),
    }
    if let Some(desc) = desc {
        timing.extend_from_slice(b";desc=\"");
        timing.extend_from_slice(desc.as_bytes());
        timing.push(b'"');
    }
}

/// Appends `n` in decimal, with its sign.
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends microseconds as milliseconds with three decimals (`1234` → `1.234`): the same text
/// as `format!("{:.3}", us as f64 / 1000.0)`.
pub(crate) fn push_ms3(out: &mut Vec<u8>, us: u64) {
    cachearr_wire::lines::push_u64(out, us / 1000);
    let frac = us % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

/// A header value that takes `bytes` without copying them again.
pub(crate) fn header_value(bytes: Vec<u8>) -> Option<HeaderValue> {
    HeaderValue::from_maybe_shared(Bytes::from(bytes)).ok()
}

/// Microseconds as milliseconds, for `Server-Timing`.
pub(crate) fn us_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// A JSON error answer on a proxy listener ([`ErrorAnswer::proxy_response`]).
pub(crate) fn error_response(answer: &ErrorAnswer) -> Response<ProxyBody> {
    answer.proxy_response().map(Either::Left)
}

/// A JSON error answer on a proxy listener: `{"error": kind, "kind", "message", "status"}`,
/// with the kind's status.
pub(crate) fn problem(kind: ErrorKind, message: &str) -> Response<ProxyBody> {
    error_response(&ErrorAnswer::new(kind, message.to_owned()))
}

/// Marks an answer the server gave (passed through, a write, a failed load): `X-Cache`,
/// `Cache-Status`, `Server-Timing`, and the client table's outcome.
pub(crate) fn mark(
    resp: &mut Response<ProxyBody>,
    x_cache: &'static str,
    cache_status: &'static str,
    started: Instant,
    upstream_us: Option<u64>,
) {
    let h = resp.headers_mut();
    h.insert(X_CACHE, HeaderValue::from_static(x_cache));
    h.insert(CACHE_STATUS, HeaderValue::from_static(cache_status));
    write_timing(h, elapsed_us(started), upstream_us, None);
    // Every answer marked here went to the server (passed through, a write, a failed load).
    resp.extensions_mut().insert(crate::clients::Served::Server);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_numbers_match_format() {
        for us in [0u64, 7, 65, 999, 1000, 1234, 65_432, 300_123_456] {
            let mut v = Vec::new();
            push_ms3(&mut v, us);
            assert_eq!(
                String::from_utf8(v).unwrap(),
                format!("{:.3}", us as f64 / 1000.0)
            );
        }
        for n in [0i64, 5, -5, 3599, -12_345, i64::MIN, i64::MAX] {
            let mut v = Vec::new();
            push_i64(&mut v, n);
            assert_eq!(String::from_utf8(v).unwrap(), n.to_string());
        }
    }
}
