//! Whether a response may be stored (RFC 9111 §3), and why not.
//!
//! In order: the request method is GET (HEAD is answered from a stored GET; other methods'
//! responses are not kept); the status is final and one cachearr can store whole (206 and 304
//! are not stored: partial content is passed through); `must-understand` with a status not
//! understood; `no-store` in the request or the response (ignored beside `must-understand` for
//! an understood status, §5.2.2.3); `private` in a shared cache; `Authorization` in the
//! request of a shared cache without the response's permission (`public`, `s-maxage` or
//! `must-revalidate`, §3.5); `Set-Cookie` in a shared cache (the cookie is one client's); a
//! lifetime the response gives or allows (`max-age`, `s-maxage`,
//! `Expires`, `public`, `private` to a private cache, or a status that allows heuristic
//! freshness, §4.2.2); and `Vary` that can match something (not `*`, not more fields than
//! [`crate::vary::MAX_FIELDS`]).
//!
//! [`strip_unstored`] removes from a response what a cache never stores (§3.1): the
//! connection's own fields and those its `Connection` names, and the proxy authentication
//! fields.

use http::{HeaderMap, HeaderName, Method, StatusCode};

use crate::directives::{RequestDirectives, ResponseDirectives, Source};
use crate::vary::Vary;
use crate::{Options, Role};

/// Why a response was not stored: each a word for `Cache-Status`'s `detail` and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStorable {
    /// The request method's responses are not kept.
    Method,
    /// A status cachearr does not store (1xx, 206, 304).
    Status,
    /// `must-understand` with a status cachearr does not understand.
    MustUnderstand,
    /// `no-store` in the request.
    RequestNoStore,
    /// `no-store` in the response.
    NoStore,
    /// `private`, and this cache is shared.
    Private,
    /// The request carried `Authorization` and the response does not allow sharing it.
    Authorization,
    /// `Set-Cookie`, and this cache is shared: the cookie is the one client's who asked.
    SetCookie,
    /// The response gives no lifetime and its status allows no heuristic one.
    NoLifetime,
    /// `Vary: *`, or more fields than a variant key takes.
    Vary,
}

impl NotStorable {
    /// The reason as a token.
    pub fn as_str(self) -> &'static str {
        match self {
            NotStorable::Method => "method",
            NotStorable::Status => "status",
            NotStorable::MustUnderstand => "must-understand",
            NotStorable::RequestNoStore => "request-no-store",
            NotStorable::NoStore => "no-store",
            NotStorable::Private => "private",
            NotStorable::Authorization => "authorization",
            NotStorable::SetCookie => "set-cookie",
            NotStorable::NoLifetime => "no-lifetime",
            NotStorable::Vary => "vary",
        }
    }
}

/// One exchange with the origin, as far as storing it is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The request's headers (as sent to the origin).
    pub request: &'a HeaderMap,
    /// The request's cache directives.
    pub request_directives: &'a RequestDirectives,
    /// The response's status.
    pub status: StatusCode,
    /// The response's headers.
    pub response: &'a HeaderMap,
    /// The response's cache directives ([`ResponseDirectives::from_headers`]).
    pub directives: &'a ResponseDirectives,
}

/// Whether cachearr understands `status` (RFC 9110 §15 and the registered codes it handles
/// like any other): what `must-understand` asks of a cache (RFC 9111 §5.2.2.3).
pub fn understood(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200..=205
            | 300..=305
            | 307
            | 308
            | 400..=417
            | 421
            | 422
            | 426
            | 428
            | 429
            | 431
            | 451
            | 500..=505
            | 511
    )
}

/// Whether `status` is heuristically cacheable (RFC 9110 §15.1): a response with it may be
/// given a heuristic lifetime. 206 is among them, but cachearr does not store partial content.
pub fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Whether the response may be stored; the first rule it breaks otherwise.
pub fn check(ex: &Exchange<'_>, opts: &Options) -> Result<(), NotStorable> {
    let d = ex.directives;
    let shared = opts.role == Role::Shared;
    if ex.method != Method::GET {
        return Err(NotStorable::Method);
    }
    let code = ex.status.as_u16();
    if code < 200 || code == 206 || code == 304 {
        return Err(NotStorable::Status);
    }
    if d.must_understand && !understood(ex.status) {
        return Err(NotStorable::MustUnderstand);
    }
    if ex.request_directives.no_store {
        return Err(NotStorable::RequestNoStore);
    }
    if d.no_store && !d.must_understand {
        return Err(NotStorable::NoStore);
    }
    // A qualified `private` names fields for one user; a shared cache could store the rest,
    // but keeps none of it rather than trust the list.
    if shared && d.private.is_present() {
        return Err(NotStorable::Private);
    }
    if shared
        && ex.request.contains_key(http::header::AUTHORIZATION)
        && !(d.public || d.s_maxage.is_some() || d.must_revalidate)
    {
        return Err(NotStorable::Authorization);
    }
    // A session the origin starts or renews belongs to the client that asked; a shared copy
    // would hand it to every later client (RFC 6265 §8.6 leaves it to the cache).
    if shared && ex.response.contains_key(http::header::SET_COOKIE) {
        return Err(NotStorable::SetCookie);
    }
    let expires =
        d.source == Source::CacheControl && ex.response.contains_key(http::header::EXPIRES);
    let explicit = d.max_age.is_some() || (shared && d.s_maxage.is_some()) || expires;
    let allowed = explicit
        || d.public
        || (!shared && d.private.is_present())
        || heuristically_cacheable(ex.status);
    if !allowed {
        return Err(NotStorable::NoLifetime);
    }
    match Vary::from_headers(ex.response) {
        Vary::Star | Vary::TooMany => Err(NotStorable::Vary),
        _ => Ok(()),
    }
}

/// Whether a field belongs to one connection or to proxy authentication: never stored, never
/// updated from a `304` (RFC 9111 §3.1; RFC 9110 §7.6.1).
pub fn never_stored(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "proxy-authenticate"
            | "proxy-authentication-info"
            | "proxy-authorization"
    )
}

/// The field names a message's `Connection` nominates (RFC 9110 §7.6.1), lower case.
pub fn connection_fields(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .filter_map(|n| HeaderName::from_bytes(n.trim_ascii()).ok())
        .collect()
}

/// Removes what a cache never stores from a response's headers (§3.1): the fields
/// [`never_stored`] names and those its `Connection` nominates.
pub fn strip_unstored(headers: &mut HeaderMap) {
    for name in connection_fields(headers) {
        headers.remove(name);
    }
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| never_stored(n))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests;
