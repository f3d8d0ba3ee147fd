//! Requests of an upstream cached as the HTTP caching standard says (RFC 9111; the `http`
//! profile, [`crate::dialect::Dialect::caches_by_the_standard`]).
//!
//! Every decision is `cachearr_httpcache`'s: whether a response may be stored and in whose
//! scope, its lifetime, whether a request may be answered from it (the request's own
//! `no-cache`, `max-age`, `min-fresh`, `max-stale`, `only-if-cached`), the conditional
//! request that validates it and what a `304` changes, the variant `Vary` selects, and what
//! a write invalidates. This module only keeps entries in the engine and talks to the
//! upstream; it knows no server.
//!
//! An entry is stored with the engine times the response itself gives ([`engine_policy`]):
//! fresh for its freshness lifetime, then kept while it can still serve (its stale windows)
//! or be validated (it has a validator). The times the standard's age needs (when the
//! request went out and the response came back) and the variant's key travel with the
//! stored headers in one line whose name no response can carry ([`META`]).
//!
//! Scopes: a request without a credential reads and fills the shared entry; one with a
//! credential (the dialect's, hashed with the installation secret) reads its own entry,
//! then the shared one if the shared one may answer it (`Stored::answers_authorized`), and
//! fills the shared entry only when the response allows sharing, its own otherwise.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bytes::Bytes;
use cachearr_engine::{CachedValue, Entry, Key, Policy};
use cachearr_httpcache::cache_status::{CacheStatus, Fwd, append};
use cachearr_httpcache::directives::ResponseDirectives;
use cachearr_httpcache::storable::{self, Exchange};
use cachearr_httpcache::{
    Options, RequestDirectives, Reuse, Role, Stored, Vary, invalidate, validate,
};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};

use crate::Gateway;
use crate::dialect::Identity;
use crate::fetch::{ClientBody, ProxyBody, empty_body, is_hop_by_hop};
use crate::keys::UserHash;
use crate::respond::{CACHE_STATUS, ErrorKind, problem};
use crate::upstream::{BoxError, Budget, Upstream, UpstreamBody};

use super::pass::{forward_headers, upstream_target};
use super::upstream_error_response;

/// This cache's name in `Cache-Status`.
const NAME: &str = "cachearr";

/// The stored line holding what the standard's arithmetic needs beside the response's own
/// headers: `request_ms response_ms variant` (the variant a keyed hash of the request's
/// `Vary` values, or `-`). A header name cannot hold `:`, so no response carries it.
const META: &str = ":http-cache";

/// How long an entry with a validator is kept past its freshness (and stale windows) to be
/// validated instead of fetched whole again.
const KEEP_FOR_VALIDATION: Duration = Duration::from_secs(24 * 3600);

/// The engine's class name for entries of this kind (statistics).
const CLASS: &str = "http";

/// What the standard leaves to the operator, for a shared scope and for one user's.
static SHARED: LazyLock<Options> = LazyLock::new(Options::default);
static PRIVATE: LazyLock<Options> = LazyLock::new(|| Options {
    role: Role::Private,
    ..Options::default()
});

/// A stored response, read back.
struct Found {
    entry: Arc<Entry>,
    key: Key,
    headers: HeaderMap,
    stored: Stored,
    opts: &'static Options,
}

/// Answers one request by the standard.
pub(super) async fn serve(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
) -> Response<ProxyBody> {
    let user = match crate::dialect::identity(up.profile, req.headers(), req.uri().query()) {
        Identity::Anonymous => None,
        Identity::Token(t) => Some(gw.secret().user_of(&t)),
        // Two credentials: whose answer it is cannot be told, so nothing is kept or served.
        Identity::Ambiguous => {
            return forward(gw, up, req, peer, Fwd::Bypass, Some("ambiguous-identity")).await;
        }
    };
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return write(gw, up, req, peer).await;
    }
    // A part of a response: the origin knows its bytes (nothing partial is stored).
    if req.headers().contains_key(header::RANGE) {
        return forward(gw, up, req, peer, Fwd::Bypass, Some("range")).await;
    }
    let now = gw.clock().now_ms();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let directives = RequestDirectives::from_headers(req.headers());
    let found = look_up(gw, up, &target, user, req.headers()).await;
    let Some(found) = found else {
        if directives.only_if_cached {
            return gateway_timeout();
        }
        let fwd = if method == Method::HEAD {
            Fwd::Method
        } else {
            Fwd::UriMiss
        };
        return fill(gw, up, req, peer, user, &target, fwd, None).await;
    };
    match found.stored.reuse(&directives, now, found.opts) {
        Reuse::Fresh | Reuse::StaleAccepted | Reuse::StaleWhileRevalidate => {
            answer_stored(&found, &req, now, Fwd::Bypass, None, true)
        }
        Reuse::Validate(_) if directives.only_if_cached => gateway_timeout(),
        Reuse::Validate(why) => {
            let fwd = match why {
                cachearr_httpcache::freshness::Why::Stale
                | cachearr_httpcache::freshness::Why::NoCache => Fwd::Stale,
                _ => Fwd::Request,
            };
            fill(gw, up, req, peer, user, &target, fwd, Some(found)).await
        }
    }
}

/// The stored response that may answer a request for `target` by `user`: theirs, else the
/// shared one if it may answer them; of the request's variant.
async fn look_up(
    gw: &Gateway,
    up: &Upstream,
    target: &str,
    user: Option<UserHash>,
    request: &HeaderMap,
) -> Option<Found> {
    let scopes = [user, None];
    let tried = if user.is_some() {
        &scopes[..]
    } else {
        &scopes[1..]
    };
    for scope in tried {
        let key = key_of(up, scope.as_ref(), target);
        let Some(lookup) = gw.cache().get(&key).await else {
            continue;
        };
        let Some((headers, meta)) = read_entry(&lookup.entry.value) else {
            continue;
        };
        let opts: &'static Options = if scope.is_some() { &PRIVATE } else { &SHARED };
        let status = StatusCode::from_u16(lookup.entry.value.status).ok()?;
        let stored = Stored::new(status, &headers, meta.request_ms, meta.response_ms, opts);
        if scope.is_none() && user.is_some() && request.contains_key(header::AUTHORIZATION) {
            // §3.5 holds for using a shared entry too.
            if !stored.answers_authorized() {
                continue;
            }
        }
        if variant_of(gw, &headers, request) != meta.variant {
            continue;
        }
        return Some(Found {
            entry: lookup.entry,
            key,
            headers,
            stored,
            opts,
        });
    }
    None
}

/// The engine key of `target` in a scope (`None`: shared).
fn key_of(up: &Upstream, user: Option<&UserHash>, target: &str) -> Key {
    let scope = user.map_or_else(
        || "-".to_owned(),
        |u| String::from_utf8_lossy(&u.hex()).into_owned(),
    );
    Key::new(format!("{}|std|{scope}|{target}", up.name))
}

/// The tag every scope's entry of a target carries, so a write drops them all at once.
fn target_tag(up: &Upstream, target: &str) -> String {
    format!("{}|std-target|{target}", up.name)
}

/// The keyed hash of the request's values of the fields the response's `Vary` names
/// (`-` without `Vary`; `None` for one that never matches). The values may be credentials:
/// only their keyed hash is kept.
fn variant_of(gw: &Gateway, response: &HeaderMap, request: &HeaderMap) -> Option<String> {
    let key = Vary::from_headers(response).key(request)?;
    if key.is_empty() {
        return Some("-".to_owned());
    }
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    Some(String::from_utf8_lossy(&gw.secret().user_of(&hex).hex()).into_owned())
}

/// What [`META`] holds.
struct Meta {
    request_ms: u64,
    response_ms: u64,
    variant: Option<String>,
}

/// A stored value's headers (without [`META`]) and its meta line.
fn read_entry(value: &CachedValue) -> Option<(HeaderMap, Meta)> {
    let mut headers = HeaderMap::with_capacity(value.headers.len());
    let mut meta = None;
    for (n, v) in &value.headers {
        if n == META {
            let mut parts = v.split(' ');
            meta = Some(Meta {
                request_ms: parts.next()?.parse().ok()?,
                response_ms: parts.next()?.parse().ok()?,
                variant: parts.next().map(str::to_owned),
            });
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return None;
        };
        headers.append(name, value);
    }
    Some((headers, meta?))
}

/// The value to store for a response: its storable headers, then [`META`].
fn stored_value(
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
    meta: &Meta,
) -> Option<CachedValue> {
    let mut kept = headers.clone();
    storable::strip_unstored(&mut kept);
    let mut lines = Vec::with_capacity(kept.len() + 1);
    for (n, v) in &kept {
        if is_hop_by_hop(n) {
            continue;
        }
        lines.push((n.as_str().to_owned(), v.to_str().ok()?.to_owned()));
    }
    lines.push((
        META.to_owned(),
        format!(
            "{} {} {}",
            meta.request_ms,
            meta.response_ms,
            meta.variant.as_deref().unwrap_or("-")
        ),
    ));
    Some(CachedValue {
        status: status.as_u16(),
        headers: lines,
        body,
    })
}

/// The engine times of a stored response: fresh for its own freshness lifetime, then kept
/// while it may still answer stale or be validated.
fn engine_policy(up: &Upstream, target: &str, stored: &Stored, opts: &Options, now: u64) -> Policy {
    let fresh = Duration::from_millis(stored.fresh_until_ms().saturating_sub(now));
    let stale = Duration::from_secs(u64::from(
        stored
            .stale_while_revalidate(opts)
            .max(stored.stale_if_error(opts)),
    ));
    let keep = if stored.has_validator {
        stale.max(KEEP_FOR_VALIDATION)
    } else {
        // A request's `max-stale` may still take it: kept a while after it goes stale.
        stale.max(Duration::from_secs(3600))
    };
    Policy::new(CLASS, fresh)
        .with_stale_if_error(keep)
        .with_tag(target_tag(up, target))
}

/// Answers from a stored response: its status and headers, `Age`, our `Cache-Status`; no
/// body for `HEAD`. `validated`: the origin has just confirmed it.
fn answer_stored(
    found: &Found,
    req: &Request<ClientBody>,
    now: u64,
    fwd: Fwd,
    fwd_status: Option<u16>,
    hit: bool,
) -> Response<ProxyBody> {
    let value = &found.entry.value;
    let mut headers = found.headers.clone();
    if hit {
        for name in found.stored.unvalidated_omits() {
            headers.remove(name);
        }
    }
    headers.insert(header::AGE, HeaderValue::from(found.stored.age_secs(now)));
    let status = if client_matches(req.headers(), &headers) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::from_u16(value.status).unwrap_or(StatusCode::BAD_GATEWAY)
    };
    let ours = if hit {
        CacheStatus::hit(NAME).ttl(found.stored.ttl_secs(now))
    } else {
        let mut s = CacheStatus::forward(NAME, fwd).stored();
        if let Some(code) = fwd_status {
            s = s.fwd_status(code);
        }
        s.ttl(found.stored.ttl_secs(now))
    };
    set_cache_status(&mut headers, &ours);
    let body = if req.method() == Method::HEAD || status == StatusCode::NOT_MODIFIED {
        Bytes::new()
    } else {
        // The framing says the length of what is sent.
        headers.remove(header::CONTENT_LENGTH);
        value.body.clone()
    };
    if status == StatusCode::NOT_MODIFIED {
        headers.remove(header::CONTENT_LENGTH);
    }
    let mut resp = Response::new(Either::Left(Full::new(body)));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// Whether the client's own `If-None-Match` matches the stored response's `ETag` (weak
/// comparison, RFC 9110 §13.1.2): the client has it already.
fn client_matches(request: &HeaderMap, response: &HeaderMap) -> bool {
    let Some(etag) = response.get(header::ETAG).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

/// Appends our entry to the response's `Cache-Status`, after any upstream cache's.
fn set_cache_status(headers: &mut HeaderMap, ours: &CacheStatus<'_>) {
    let upstream: Vec<u8> = headers
        .get_all(CACHE_STATUS)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect::<Vec<_>>()
        .join(&b", "[..]);
    let upstream = (!upstream.is_empty()).then_some(&upstream[..]);
    if let Ok(v) = HeaderValue::from_bytes(&append(upstream, ours)) {
        headers.insert(CACHE_STATUS, v);
    }
}

/// `504`: `only-if-cached` and nothing stored may answer (RFC 9111 §5.2.1.7).
fn gateway_timeout() -> Response<ProxyBody> {
    let mut resp = Response::new(Either::Left(Full::new(Bytes::new())));
    *resp.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    let mut h = HeaderMap::new();
    set_cache_status(
        &mut h,
        &CacheStatus::forward(NAME, Fwd::Miss).detail("only-if-cached"),
    );
    *resp.headers_mut() = h;
    resp
}

/// A `GET` or `HEAD` that nothing stored answers: sent upstream (conditionally when
/// `current` has validators), the answer stored when the standard allows it.
#[allow(clippy::too_many_arguments)]
async fn fill(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    user: Option<UserHash>,
    target: &str,
    fwd: Fwd,
    current: Option<Found>,
) -> Response<ProxyBody> {
    let (_, uri) = match upstream_target(up, req.uri()) {
        Ok(t) => t,
        Err(refused) => return *refused,
    };
    let mut headers = forward_headers(req.headers(), up, peer, false);
    let conditional = current
        .as_ref()
        .filter(|_| req.method() == Method::GET)
        .map(|c| validate::conditional_headers(&c.headers))
        .filter(|h| !h.is_empty());
    if let Some(extra) = &conditional {
        // The client's own conditionals are about its copy, not ours.
        for name in [header::IF_MODIFIED_SINCE, header::IF_NONE_MATCH] {
            headers.remove(name);
        }
        for (n, v) in extra {
            headers.insert(n.clone(), v.clone());
        }
    }
    let request_ms = gw.clock().now_ms();
    let method = req.method().clone();
    let mut upstream_req = Request::new(empty_body());
    *upstream_req.method_mut() = method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.headers_mut() = headers;
    // Sent once: a 5xx is the origin's answer, which the standard handles (a retry would be
    // a request the client did not make).
    let resp = match up.send_once(upstream_req, Budget::Client).await {
        Ok(r) => r,
        Err(e) => {
            let now = gw.clock().now_ms();
            let directives = RequestDirectives::from_headers(req.headers());
            if let Some(c) = &current
                && c.stored.usable_on_error(&directives, now, c.opts)
            {
                return answer_stored(c, &req, now, Fwd::Stale, None, true);
            }
            let mut resp = upstream_error_response(up, &e);
            set_cache_status(resp.headers_mut(), &CacheStatus::forward(NAME, fwd));
            return resp;
        }
    };
    let response_ms = gw.clock().now_ms();
    let status = resp.status();
    let (mut parts, body) = resp.into_parts();
    let mut response_headers = std::mem::take(&mut parts.headers);
    // The connection's own fields and those its `Connection` names go no further (§3.1).
    storable::strip_unstored(&mut response_headers);
    let hop: Vec<HeaderName> = response_headers
        .keys()
        .filter(|n| is_hop_by_hop(n))
        .cloned()
        .collect();
    for name in hop {
        response_headers.remove(name);
    }
    if let Some(mut c) = current {
        if conditional.is_some() && status == StatusCode::NOT_MODIFIED {
            // The 304 answers the validators we sent, which are this response's.
            validate::update_headers(&mut c.headers, &response_headers);
            let stored = Stored::new(c.stored.status, &c.headers, request_ms, response_ms, c.opts);
            let meta = Meta {
                request_ms,
                response_ms,
                variant: variant_of(gw, &c.headers, req.headers()),
            };
            if let Some(value) = stored_value(
                c.stored.status,
                &c.headers,
                c.entry.value.body.clone(),
                &meta,
            ) {
                let policy = engine_policy(up, target, &stored, c.opts, response_ms);
                gw.cache().insert(&c.key, &policy, value).await;
                if let Some(entry) = gw.cache().get(&c.key).await {
                    c.entry = entry.entry;
                }
            }
            c.stored = stored;
            return answer_stored(&c, &req, response_ms, Fwd::Stale, Some(304), false);
        }
        if status.is_server_error() {
            let directives = RequestDirectives::from_headers(req.headers());
            if c.stored.usable_on_error(&directives, response_ms, c.opts) {
                return answer_stored(&c, &req, response_ms, Fwd::Stale, None, true);
            }
        }
    }
    // Where it may be kept, if anywhere.
    let request_directives = RequestDirectives::from_headers(req.headers());
    let scope = scope_for(
        req.method(),
        req.headers(),
        &request_directives,
        status,
        &response_headers,
        user,
    );
    let mut ours = CacheStatus::forward(NAME, fwd).fwd_status(status.as_u16());
    match scope {
        Ok(scope) => {
            let opts: &'static Options = if scope.is_some() { &PRIVATE } else { &SHARED };
            let cap =
                usize::try_from(gw.config().limits.max_cached_body_bytes).unwrap_or(usize::MAX);
            let collected = Limited::new(body, cap).collect().await;
            let Ok(collected) = collected else {
                let mut resp = problem(
                    ErrorKind::UpstreamError,
                    "the upstream's body broke off or is too large to keep",
                );
                set_cache_status(resp.headers_mut(), &ours);
                return resp;
            };
            let bytes = Bytes::copy_from_slice(&collected.to_bytes());
            let stored = Stored::new(status, &response_headers, request_ms, response_ms, opts);
            let meta = Meta {
                request_ms,
                response_ms,
                variant: variant_of(gw, &response_headers, req.headers()),
            };
            if let Some(value) = stored_value(status, &response_headers, bytes.clone(), &meta) {
                let policy = engine_policy(up, target, &stored, opts, response_ms);
                gw.cache()
                    .insert(&key_of(up, scope.as_ref(), target), &policy, value)
                    .await;
                ours = ours.stored();
            }
            ours = ours.ttl(stored.ttl_secs(response_ms));
            set_cache_status(&mut response_headers, &ours);
            parts.headers = response_headers;
            let body = if req.method() == Method::HEAD {
                Bytes::new()
            } else {
                bytes
            };
            Response::from_parts(parts, Either::Left(Full::new(body)))
        }
        Err(why) => {
            ours = ours.detail(why.as_str());
            set_cache_status(&mut response_headers, &ours);
            parts.headers = response_headers;
            Response::from_parts(parts, Either::Right(body))
        }
    }
}

/// The scope a response may be kept in: shared (`Ok(None)`), the requesting user's, or not
/// at all (why). A credentialed request's answer is shared only when the response allows
/// sharing an authorized answer (`public`, `s-maxage`, `must-revalidate`, §3.5), whether
/// the credential is `Authorization` or a cookie.
fn scope_for(
    method: &Method,
    request: &HeaderMap,
    request_directives: &RequestDirectives,
    status: StatusCode,
    response: &HeaderMap,
    user: Option<UserHash>,
) -> Result<Option<UserHash>, storable::NotStorable> {
    let check = |opts: &Options| {
        let directives = ResponseDirectives::from_headers(response, &opts.targeted);
        let ex = Exchange {
            method,
            request,
            request_directives,
            status,
            response,
            directives: &directives,
        };
        (storable::check(&ex, opts), directives)
    };
    let (shared, directives) = check(&SHARED);
    let Some(user) = user else {
        return shared.map(|()| None);
    };
    let allows_sharing =
        directives.public || directives.s_maxage.is_some() || directives.must_revalidate;
    if shared.is_ok() && allows_sharing {
        return Ok(None);
    }
    check(&PRIVATE).0.map(|()| Some(user))
}

/// Any other method: sent upstream with its body; a success invalidates what the standard
/// says it does (the target, and the same-origin `Location` / `Content-Location`), in every
/// scope and variant, before the client sees the answer.
async fn write(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
) -> Response<ProxyBody> {
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let authority = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(http::uri::Authority::as_str))
        .unwrap_or("")
        .to_owned();
    let method = req.method().clone();
    let resp = forward(gw, up, req, peer, Fwd::Method, None).await;
    let origin = invalidate::Origin {
        scheme: "http",
        authority: &authority,
    };
    for path in invalidate::targets(&method, resp.status(), origin, &target, resp.headers()) {
        gw.cache().invalidate_tag(&target_tag(up, &path));
    }
    resp
}

/// Sends the request upstream as it is (body streamed, within the body limit) and streams
/// the answer back, with our `Cache-Status`.
async fn forward(
    gw: &Gateway,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    fwd: Fwd,
    detail: Option<&'static str>,
) -> Response<ProxyBody> {
    let (_, uri) = match upstream_target(up, req.uri()) {
        Ok(t) => t,
        Err(refused) => return *refused,
    };
    let (parts, body) = req.into_parts();
    let headers = forward_headers(&parts.headers, up, peer, false);
    let max = usize::try_from(gw.config().limits.max_body_bytes).unwrap_or(usize::MAX);
    let body: UpstreamBody = Limited::new(body, max)
        .map_err(|e| -> BoxError { e })
        .boxed();
    let mut r = Request::new(body);
    *r.method_mut() = parts.method;
    *r.uri_mut() = uri;
    *r.headers_mut() = headers;
    let mut ours = CacheStatus::forward(NAME, fwd);
    if let Some(d) = detail {
        ours = ours.detail(d);
    }
    match up.send_once(r, Budget::Client).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            let mut headers = HeaderMap::with_capacity(parts.headers.len() + 1);
            for (name, value) in parts.headers.drain().filter_map(|(n, v)| n.map(|n| (n, v))) {
                if !is_hop_by_hop(&name) {
                    headers.append(name, value);
                }
            }
            ours = ours.fwd_status(parts.status.as_u16());
            set_cache_status(&mut headers, &ours);
            parts.headers = headers;
            Response::from_parts(parts, Either::Right(body))
        }
        Err(e) => {
            let mut resp = upstream_error_response(up, &e);
            set_cache_status(resp.headers_mut(), &ours);
            resp
        }
    }
}
