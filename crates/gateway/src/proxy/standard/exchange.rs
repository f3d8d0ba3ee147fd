//! The upstream's side of the standard-following profile: fills (conditional when a stored
//! response has validators), refreshes behind a stale answer, writes that invalidate, and
//! requests passed through as they are.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cachearr_httpcache::cache_status::{CacheStatus, Fwd};
use cachearr_httpcache::directives::ResponseDirectives;
use cachearr_httpcache::storable::{self, Exchange};
use cachearr_httpcache::{RequestDirectives, Stored, invalidate, steering, validate};
use http::header::{self, HeaderName};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};

use super::answer::{self, Via};
use super::entries::{self, Found, Meta};
use super::{Ask, NAME, Outcome};
use crate::fetch::{ClientBody, ProxyBody, empty_body, is_hop_by_hop};
use crate::proxy::failure::upstream_error_response;
use crate::proxy::pass::{forward_headers, upstream_target};
use crate::read_through::ReadThrough;
use crate::respond::{ErrorKind, problem};
use cachearr_config::policy::standard::StandardRoute;
use cachearr_upstream::client::{BoxError, Budget, Joined, Upstream, UpstreamBody};
use cachearr_upstream::keys::UserHash;

/// A read that nothing stored answers: sent upstream (conditionally when `current` has
/// validators), the answer stored when the standard allows it. `HEAD` goes as `HEAD` and its
/// answer is not kept (it has no body to keep).
pub(super) async fn fill(
    ask: &Ask,
    head: bool,
    fwd: Fwd,
    current: Option<Found>,
) -> (Response<ProxyBody>, Outcome) {
    exchange(ask, head, fwd, current, Budget::Client).await
}

/// Refreshes a stale response served within `stale-while-revalidate`, in the background on
/// the background budget, once at a time per key.
pub(super) fn refresh_behind(ask: &Ask, _served: &Found) {
    let Joined::Lead(guard) = ask.up.flights.join(&entries::flight_key(ask)) else {
        return;
    };
    ask.reads
        .cache()
        .note(super::CLASS, cachearr_engine::Noted::RefreshStarted);
    let ask = ask.clone();
    tokio::spawn(async move {
        let current = entries::look_up(&ask).await;
        let _ = exchange(&ask, false, Fwd::Stale, current, Budget::Background).await;
        drop(guard);
    });
}

/// A warming fill: as [`fill`], on the background budget.
pub(super) async fn warm(ask: &Ask, current: Option<Found>) -> (Response<ProxyBody>, Outcome) {
    exchange(ask, false, Fwd::Miss, current, Budget::Background).await
}

/// One exchange with the origin for `ask`: the request sent (conditionally when `current`
/// has validators), then its answer — a `304` that revalidates `current`, a failure that a
/// stale `current` may answer, or a response stored when the standard allows it.
async fn exchange(
    ask: &Ask,
    head: bool,
    fwd: Fwd,
    current: Option<Found>,
    budget: Budget,
) -> (Response<ProxyBody>, Outcome) {
    let (upstream_req, conditional) = match origin_request(ask, head, current.as_ref()) {
        Ok(made) => made,
        Err(refused) => return (*refused, Outcome::Error),
    };
    let request_ms = ask.reads.clock().now_ms();
    // Sent once: a 5xx is the origin's answer, which the standard handles (a retry would be
    // a request the client did not make).
    let resp = match ask.up.send_once(upstream_req, budget).await {
        Ok(r) => r,
        Err(e) => return failed(ask, head, fwd, current.as_ref(), &e),
    };
    let response_ms = ask.reads.clock().now_ms();
    let status = resp.status();
    let (mut parts, body) = resp.into_parts();
    let response_headers = origin_headers(std::mem::take(&mut parts.headers));
    if let Some(c) = current {
        let answered = OriginAnswer {
            status,
            headers: &response_headers,
            request_ms,
            response_ms,
        };
        let sent_validators = conditional.is_some();
        if let Ok(answer) = revalidated(ask, head, fwd, c, sent_validators, answered).await {
            return answer;
        }
    }
    parts.headers = response_headers;
    let origin = Response::from_parts(parts, body);
    keep(ask, head, fwd, origin, (request_ms, response_ms)).await
}

/// An answer that refuses the request before it is sent.
type Refused = Box<Response<ProxyBody>>;

/// What the origin answered: its status and kept fields, and when it was asked and answered.
struct OriginAnswer<'a> {
    status: StatusCode,
    headers: &'a HeaderMap,
    request_ms: u64,
    response_ms: u64,
}

/// The request to the origin: the client's, its hop-by-hop fields dropped, as `HEAD` when
/// asked; conditional on `current`'s validators when it has them (given back too, so the
/// answer can be read as a `304` to them).
fn origin_request(
    ask: &Ask,
    head: bool,
    current: Option<&Found>,
) -> Result<(Request<UpstreamBody>, Option<HeaderMap>), Refused> {
    let (_, uri) = upstream_target(&ask.up, &ask.uri)?;
    let mut headers = forward_headers(&ask.headers, &ask.up, ask.peer, false);
    let conditional = current
        .filter(|_| !head)
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
    let method = if head {
        Method::HEAD
    } else {
        ask.method.clone()
    };
    // The framing says what is sent: nothing, or the GraphQL body read whole. A client's
    // own framing describes a body that does not go along.
    for name in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::EXPECT,
    ] {
        headers.remove(name);
    }
    let body = if ask.body.is_empty() {
        empty_body()
    } else {
        headers.insert(header::CONTENT_LENGTH, ask.body.len().into());
        full(ask.body.clone())
    };
    let mut upstream_req = Request::new(body);
    *upstream_req.method_mut() = method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.headers_mut() = headers;
    Ok((upstream_req, conditional))
}

/// An exchange the upstream failed: the stored response when the standard lets it answer on
/// error, else the failure's answer.
fn failed(
    ask: &Ask,
    head: bool,
    fwd: Fwd,
    current: Option<&Found>,
    e: &cachearr_upstream::client::UpstreamError,
) -> (Response<ProxyBody>, Outcome) {
    let now = ask.reads.clock().now_ms();
    if let Some(c) = current
        && c.stored
            .usable_on_error(&ask.directives(), now, &ask.options(c.private))
    {
        return (
            answer::stored(c, &ask.headers, head, now, Via::Hit),
            Outcome::Stale,
        );
    }
    let mut resp = upstream_error_response(&ask.up, e);
    answer::set_cache_status(resp.headers_mut(), &CacheStatus::forward(NAME, fwd));
    (resp, Outcome::Error)
}

/// The origin's response fields as a cache may keep them: the connection's own fields and
/// those its `Connection` names go no further (§3.1).
fn origin_headers(mut response_headers: HeaderMap) -> HeaderMap {
    storable::strip_unstored(&mut response_headers);
    let hop: Vec<HeaderName> = response_headers
        .keys()
        .filter(|n| is_hop_by_hop(n))
        .cloned()
        .collect();
    for name in hop {
        response_headers.remove(name);
    }
    response_headers
}

/// What the origin's answer does to the stored response `c`: a `304` to the validators sent
/// refreshes it and it answers; a 5xx lets it answer when the standard allows stale on error.
/// Otherwise the stored response is given back.
async fn revalidated(
    ask: &Ask,
    head: bool,
    fwd: Fwd,
    mut c: Found,
    sent_validators: bool,
    origin: OriginAnswer<'_>,
) -> Result<(Response<ProxyBody>, Outcome), Found> {
    let OriginAnswer {
        status,
        headers: response_headers,
        request_ms,
        response_ms,
    } = origin;
    if sent_validators && status == StatusCode::NOT_MODIFIED {
        // The 304 answers the validators we sent, which are this response's.
        validate::update_headers(Arc::make_mut(&mut c.headers), response_headers);
        c.reread(ask, request_ms, response_ms);
        let meta = Meta {
            request_ms,
            response_ms,
            variant: entries::variant_of(ask, &c.headers, &ask.headers),
        };
        if let Some(entry) = entries::restore(ask, &c, meta).await {
            c.entry = entry;
        }
        let via = Via::Forwarded(fwd, Some(304));
        return Ok((
            answer::stored(&c, &ask.headers, head, response_ms, via),
            Outcome::Revalidated,
        ));
    }
    if status.is_server_error()
        && c.stored
            .usable_on_error(&ask.directives(), response_ms, &ask.options(c.private))
    {
        return Ok((
            answer::stored(&c, &ask.headers, head, response_ms, Via::Hit),
            Outcome::Stale,
        ));
    }
    Err(c)
}

/// The origin's response, kept when the standard allows (its scope, a size within the cap,
/// no GraphQL errors) and answered with our `Cache-Status`; streamed on unkept when it may
/// not be stored.
async fn keep(
    ask: &Ask,
    head: bool,
    fwd: Fwd,
    origin: Response<hyper::body::Incoming>,
    (request_ms, response_ms): (u64, u64),
) -> (Response<ProxyBody>, Outcome) {
    let status = origin.status();
    let (mut parts, body) = origin.into_parts();
    let mut response_headers = std::mem::take(&mut parts.headers);
    let mut ours = CacheStatus::forward(NAME, fwd).fwd_status(status.as_u16());
    let scope = if head {
        Err(storable::NotStorable::Method)
    } else {
        scope_for(ask, status, &response_headers)
    };
    let cap =
        usize::try_from(ask.reads.config().limits.max_cached_body_bytes).unwrap_or(usize::MAX);
    let too_large = content_length(&response_headers).is_some_and(|n| n > cap);
    let scope = match scope {
        Ok(scope) if !too_large => scope,
        why => {
            let why = why.err().map_or("too-large", storable::NotStorable::as_str);
            ours = ours.detail(why);
            answer::set_cache_status(&mut response_headers, &ours);
            parts.headers = response_headers;
            return (
                Response::from_parts(parts, Either::Right(body)),
                Outcome::Miss,
            );
        }
    };
    let Ok(collected) = Limited::new(body, cap).collect().await else {
        let mut resp = problem(
            ErrorKind::UpstreamError,
            "the upstream's body broke off or is too large to keep",
        );
        answer::set_cache_status(resp.headers_mut(), &ours);
        return (resp, Outcome::Error);
    };
    let bytes = collected.to_bytes();
    let private = scope.is_some();
    let stored = Stored::new(
        status,
        &ask.effective(&response_headers),
        request_ms,
        response_ms,
        &ask.options(private),
    );
    // A GraphQL answer that reports errors is the server's answer, not one to keep.
    let graphql_errors = ask.method == Method::POST && has_graphql_errors(&bytes);
    if graphql_errors {
        ours = ours.detail("graphql-errors");
    } else {
        let meta = Meta {
            request_ms,
            response_ms,
            variant: entries::variant_of(ask, &response_headers, &ask.headers),
        };
        let kept = entries::store(
            ask,
            scope.as_ref(),
            status,
            &response_headers,
            bytes.clone(),
            meta,
            &stored,
        )
        .await;
        if kept {
            ours = ours.stored();
        }
    }
    ours = ours.ttl(stored.ttl_secs(response_ms));
    answer::set_cache_status(&mut response_headers, &ours);
    response_headers.remove(header::CONTENT_LENGTH);
    parts.headers = response_headers;
    (
        Response::from_parts(parts, Either::Left(Full::new(bytes))),
        Outcome::Miss,
    )
}

/// A response's `Content-Length`, when it has one readable value.
fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a GraphQL response body is a JSON object with a non-empty `errors` member.
fn has_graphql_errors(body: &Bytes) -> bool {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) => e
            .errors
            .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty())),
        // Not JSON: nothing says it failed.
        Err(_) => false,
    }
}

/// The scope a response may be kept in: shared (`Ok(None)`), the requesting user's, or not
/// at all (why). A credentialed request's answer is shared only when the response allows
/// sharing an authorized answer (`public`, `s-maxage`, `must-revalidate`, §3.5), whether the
/// credential is `Authorization` or another; on a route whose scope is `shared`, the
/// operator says every client gets the same answer, so the credential does not count.
fn scope_for(
    ask: &Ask,
    status: StatusCode,
    response: &HeaderMap,
) -> Result<Option<UserHash>, storable::NotStorable> {
    let effective = ask.effective(response);
    let request_directives = RequestDirectives::from_headers(&ask.headers);
    // A GraphQL query is a read: the operator said so by marking the route.
    let method = Method::GET;
    let mut request = std::borrow::Cow::Borrowed(&ask.headers);
    if ask.user.is_none() && request.contains_key(header::AUTHORIZATION) {
        request.to_mut().remove(header::AUTHORIZATION);
    }
    let check = |private: bool| {
        let opts = ask.options(private);
        let directives = ResponseDirectives::from_headers(&effective, &opts.targeted);
        let ex = Exchange {
            method: &method,
            request: &request,
            request_directives: &request_directives,
            status,
            response: &effective,
            directives: &directives,
        };
        (storable::check(&ex, &opts), directives)
    };
    let (shared, directives) = check(false);
    let Some(user) = ask.user else {
        return shared.map(|()| None);
    };
    let allows_sharing =
        directives.public || directives.s_maxage.is_some() || directives.must_revalidate;
    if shared.is_ok() && allows_sharing {
        return Ok(None);
    }
    check(true).0.map(|()| Some(user))
}

/// A method that is not a read: sent upstream with its body; a success invalidates what the
/// standard says it does (the target, and the same-origin `Location` / `Content-Location`),
/// in every scope and variant, before the client sees the answer. A GraphQL mutation's
/// success (`graphql`) also drops every entry of its route and the route's tags.
pub(super) async fn write(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    route: &StandardRoute,
    req: Request<UpstreamBody>,
    peer: SocketAddr,
    graphql: bool,
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
    // A method override that names an unsafe method may have been run as that method.
    let method = steering::method_override(req.headers())
        .filter(|m| !invalidate::is_safe(m))
        .unwrap_or_else(|| req.method().clone());
    let resp = send(up, req, peer, Fwd::Method, None).await;
    let origin = invalidate::Origin {
        scheme: "http",
        authority: &authority,
    };
    let settings = up.routes.standard().map(|s| &s.settings);
    let mut dropped = 0;
    for path in invalidate::targets(&method, resp.status(), origin, &target, resp.headers()) {
        let path = match (settings, path.parse::<http::Uri>()) {
            (Some(s), Ok(uri)) => super::key_target(&uri, s),
            _ => path,
        };
        reads
            .cache()
            .invalidate_tag(&entries::target_tag(&up.name, &path));
        dropped += 1;
    }
    if graphql && resp.status().is_success() {
        for tag in &route.tags {
            reads.cache().invalidate_tag(tag);
            dropped += 1;
        }
    }
    if dropped > 0 {
        reads
            .metrics()
            .invalidated(&up.metrics_name, "write", dropped);
    }
    resp
}

/// A client's request passed through as it is (body streamed, within the body limit), with
/// our `Cache-Status`.
pub(super) async fn pass(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    fwd: Fwd,
    detail: Option<&'static str>,
) -> Response<ProxyBody> {
    send(
        up,
        upstream_request(&reads.config().limits, req),
        peer,
        fwd,
        detail,
    )
    .await
}

/// A client's request with its body made the upstream's kind, streamed within the body limit
/// of `limits`.
pub(super) fn upstream_request(
    limits: &cachearr_config::RequestLimits,
    req: Request<ClientBody>,
) -> Request<UpstreamBody> {
    let max = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
    req.map(|body| {
        Limited::new(body, max)
            .map_err(|e| -> BoxError { e })
            .boxed()
    })
}

/// A body of bytes already read.
pub(super) fn full(bytes: Bytes) -> UpstreamBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// Sends a request upstream as it is and streams the answer back, with our `Cache-Status`.
async fn send(
    up: &Arc<Upstream>,
    req: Request<UpstreamBody>,
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
            answer::set_cache_status(&mut headers, &ours);
            parts.headers = headers;
            Response::from_parts(parts, Either::Right(body))
        }
        Err(e) => {
            let mut resp = upstream_error_response(up, &e);
            answer::set_cache_status(resp.headers_mut(), &ours);
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_errors_are_told_from_answers() {
        let t = |s: &'static str| has_graphql_errors(&Bytes::from_static(s.as_bytes()));
        assert!(t(r#"{"errors":[{"message":"no"}],"data":null}"#));
        assert!(t(r#"{"data":{"a":1},"errors":[{"message":"partial"}]}"#));
        assert!(!t(r#"{"data":{"a":1}}"#));
        assert!(!t(r#"{"data":{"a":1},"errors":[]}"#));
        assert!(!t(r#"{"data":{"a":1},"errors":null}"#));
        assert!(!t("not json"));
    }
}
