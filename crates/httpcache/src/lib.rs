//! cachearr-httpcache: HTTP caching as the standards write it, as pure functions. Nothing here
//! does I/O, keeps state or reads a clock: every function that needs the time takes `now_ms`
//! (milliseconds since the Unix epoch) from the caller's clock — the engine's `Clock` in the
//! gateway, a manual one in tests — so freshness arithmetic is tested without sleeping.
//!
//! It is the rule book of the generic HTTP upstream: the gateway's proxy core asks it what a
//! response allows and keeps the entries; the rules themselves live only here.
//!
//! # Map
//! - [`directives`] — `Cache-Control` of requests and responses (RFC 9111 §5.2), read
//!   tolerantly: names in any case, quoted values, duplicates, malformed members, numbers past
//!   2^31 saturating to 2^31 (§1.2.2); and `CDN-Cache-Control` and other targeted fields
//!   (RFC 9213), a Structured Fields dictionary that replaces `Cache-Control` and `Expires`
//!   for the cache it targets.
//! - [`fields`] — the single-valued fields: `Date`, `Expires`, `Last-Modified` (HTTP dates)
//!   and `Age`, with the standard's answer for repeated or invalid values.
//! - [`storable`] — whether a response may be stored (§3), with the `Authorization` rule
//!   (§3.5), the status codes cachearr understands, `must-understand`, and the reason when
//!   not.
//! - [`freshness`] — [`freshness::Stored`]: a stored response's freshness lifetime (§4.2.1),
//!   heuristic freshness for the statuses that allow it (§4.2.2), its current age (§4.2.3);
//!   and [`freshness::Stored::reuse`], whether a request may be answered from it fresh, stale
//!   (`max-stale`, `stale-while-revalidate` of RFC 5861) or only after validation (request
//!   `max-age`, `min-fresh`, `no-cache`, response `no-cache`, `must-revalidate`,
//!   `proxy-revalidate`, `s-maxage`), and whether it may answer when the origin fails
//!   (`stale-if-error`).
//! - [`vary`] — `Vary` (§4.1): the selecting header fields, the normalised secondary key a
//!   request's values make, `Vary: *` that never matches, a bound on the number of fields.
//! - [`validate`] — revalidation (§4.3): the conditional request's validators, which stored
//!   response a `304` freshens (§4.3.4) and its header update (§3.2).
//! - [`invalidate`] — what an unsafe method invalidates (§4.4): the target URI and the
//!   same-origin `Location` and `Content-Location`.
//! - [`cache_status`] — the `Cache-Status` field value (RFC 9211).
//! - [`steering`] — request fields no key holds that steer the origin's answer: forwarding
//!   and rewrite fields (removed before the origin sees them), method overrides (the request
//!   is the method they name), the fields a request's `Connection` names.
//! - [`range`] — a `Range` request answered from a stored complete response (RFC 9110 §14):
//!   the one byte range it asks, and whether `If-Range` allows a part.
//!
//! The cache's role is a parameter ([`Role`]): a shared cache (s-maxage, `private`,
//! `Authorization`) or one user's cache, which is what a per-credential scope of the gateway
//! is. What the standard leaves to the operator — a lifetime for responses without one, stale
//! windows, the heuristic fraction and its cap — comes in [`Options`].
//!
//! Dependencies: `http` (header types) and `httpdate` (HTTP dates), both already built by the
//! gateway.

pub mod cache_status;
pub mod directives;
pub mod fields;
pub mod freshness;
pub mod invalidate;
pub mod range;
pub mod steering;
pub mod storable;
pub mod validate;
pub mod vary;

/// Test helper: a header map of `(name, value)` pairs, repeated names appended in order.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn test_headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (n, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

pub use cache_status::CacheStatus;
pub use directives::{RequestDirectives, ResponseDirectives};
pub use freshness::{Reuse, Stored};
pub use storable::NotStorable;
pub use vary::{SecondaryKey, Vary};

use http::HeaderName;

/// The largest delta-seconds value kept: 2^31, which RFC 9111 §1.2.2 says a larger value, or
/// an overflowing calculation, is taken as.
pub const DELTA_MAX: u32 = 1 << 31;

/// Which kind of cache is asking, for the rules that differ (RFC 9111 §3, §3.5, §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A cache whose entries answer many users: `private` responses are not stored,
    /// `s-maxage` applies, `Authorization` needs the response's permission.
    Shared,
    /// A cache for one user (the gateway's per-credential scope): `private` responses are
    /// stored and `s-maxage` is ignored.
    Private,
}

/// How heuristic freshness (RFC 9111 §4.2.2) is computed when a response has no explicit
/// lifetime: a fraction of the time since `Last-Modified`, capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heuristic {
    /// The fraction of (`Date` − `Last-Modified`), in percent; 0 turns heuristics off. The
    /// RFC's typical figure is 10 %.
    pub percent: u32,
    /// The longest heuristic lifetime, in seconds.
    pub max_secs: u32,
}

impl Default for Heuristic {
    fn default() -> Self {
        Self {
            percent: 10,
            max_secs: 24 * 3600,
        }
    }
}

/// What the standard leaves to the cache's operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Shared, or one user's.
    pub role: Role,
    /// Targeted cache-control fields this cache obeys, most specific first (RFC 9213 §2.2):
    /// the first one present with a valid value replaces `Cache-Control` and `Expires`.
    pub targeted: Vec<HeaderName>,
    /// Heuristic freshness.
    pub heuristic: Heuristic,
    /// A lifetime, in seconds, for responses that carry no explicit one (no `max-age`,
    /// `s-maxage` or `Expires`) and whose status allows heuristic freshness: the operator's
    /// forced lifetime for APIs that send no caching headers. Used instead of the heuristic.
    pub fallback_lifetime: Option<u32>,
    /// A stale-while-revalidate window, in seconds, granted beside the response's own (the
    /// larger applies). Never where the response forbids serving stale.
    pub stale_while_revalidate: u32,
    /// A stale-if-error window, in seconds, granted beside the response's and the request's
    /// own (the largest applies). Never where the response forbids serving stale.
    pub stale_if_error: u32,
}

impl Default for Options {
    /// A shared cache obeying `CDN-Cache-Control`, the RFC's typical heuristic (10 %, at most
    /// a day), no lifetime or stale window of its own.
    fn default() -> Self {
        Self {
            role: Role::Shared,
            targeted: vec![http::header::CDN_CACHE_CONTROL],
            heuristic: Heuristic::default(),
            fallback_lifetime: None,
            stale_while_revalidate: 0,
            stale_if_error: 0,
        }
    }
}

/// Parses delta-seconds (`1*DIGIT`), saturating at [`DELTA_MAX`]; `None` when `s` is not one.
pub fn parse_delta(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        n = n * 10 + u64::from(b - b'0');
        if n >= u64::from(DELTA_MAX) {
            return Some(DELTA_MAX);
        }
    }
    u32::try_from(n).ok()
}

#[cfg(test)]
pub(crate) mod testclock;
