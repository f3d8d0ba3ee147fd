//! Requests of an upstream cached as the HTTP caching standard says (RFC 9111; the `http`
//! profile, [`cachearr_dialect::DialectFacts::caches_by_the_standard`]).
//!
//! Every caching decision is `cachearr_httpcache`'s: whether a response may be stored and in
//! whose scope, its lifetime, whether a request may be answered from it (the request's own
//! `no-cache`, `max-age`, `min-fresh`, `max-stale`, `only-if-cached`), the conditional
//! request that validates it and what a `304` changes, the variant `Vary` selects, and what
//! a write invalidates. What the standard leaves to the operator comes from the request's
//! route ([`StandardRoute`]: a lifetime for answers without one, one that overrides the
//! origin's, stale windows, scope, tags, pass-through, GraphQL queries). This module knows
//! no server.
//!
//! A request goes through these phases, in [`serve`]:
//! 1. **identify** — the credential (`Authorization`, `Cookie`, the operator's headers and
//!    query parameters, `access_token`) and so the scope: shared, or one credential's
//!    ([`identify`]); before it, what a client may not steer the origin with is removed
//!    (forwarding and rewrite fields, those `Connection` names: [`steering::strip`]), and a
//!    method override makes the request the method it names;
//! 2. **decide** — pass-through (a read with a body too), a write, a GraphQL query or a read
//!    ([`serve`]);
//! 3. **look up** — the stored response of the scope and variant ([`entries::look_up`]), read
//!    once per entry: its headers, meta line and freshness ([`prepared`]);
//! 4. **reuse** — fresh, stale allowed, stale while revalidating (answered, refreshed in the
//!    background), or validate first ([`read`]); a `Range` request is cut from a stored
//!    complete response that may answer as it is ([`part_of_stored`]), else passed through;
//! 5. **fill** — one request upstream per key at a time, the others waiting for it
//!    ([`exchange::fill`]);
//! 6. **account** — the engine's statistics and `/metrics` ([`account`]).
//!
//! Modules: [`entries`] (keys, stored values and variants), [`prepared`] (a stored value read
//! once per entry, with a hit's head kept as bytes), [`exchange`] (the upstream's side:
//! fills, refreshes, writes, pass-through), [`answer`] (answers from a stored response and
//! the `Cache-Status` field), [`graphql`] (GraphQL bodies).

mod answer;
mod entries;
mod exchange;
mod graphql;
mod prepared;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cachearr_engine::Noted;
use cachearr_httpcache::cache_status::Fwd;
use cachearr_httpcache::{Options, RequestDirectives, Reuse, range, steering};
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Body as _;

use super::WireHead;
use crate::fetch::{ClientBody, ProxyBody};
use crate::read_through::ReadThrough;
use crate::respond::{ErrorKind, problem};
use cachearr_config::policy::standard::{HttpSettings, StandardRoute, StandardScope};
use cachearr_dialect::{Identity, is_token_param};
use cachearr_upstream::client::{Joined, Upstream};
use cachearr_upstream::keys::UserHash;
use cachearr_wire::Reply;

/// This cache's name in `Cache-Status`.
const NAME: &str = "cachearr";

/// The engine's class name and the metrics' class label of this profile's entries.
const CLASS: &str = "http";

/// The largest GraphQL body read to key it; a larger one is passed through.
const MAX_GRAPHQL_BODY: usize = 256 * 1024;

/// One request, as the phases pass it on. Owned, so a background refresh can keep it.
#[derive(Clone)]
struct Ask {
    reads: ReadThrough,
    up: Arc<Upstream>,
    route: Arc<StandardRoute>,
    peer: SocketAddr,
    /// `GET` for reads and `HEAD`s of a stored `GET`; `POST` for a GraphQL query.
    method: Method,
    uri: http::Uri,
    /// The client's request headers.
    headers: HeaderMap,
    /// A GraphQL query's body (empty otherwise).
    body: Bytes,
    /// The scope's user: `None` for the shared scope.
    user: Option<UserHash>,
    /// What the key is made of beside upstream, scope and variant: `GET target` or
    /// `POST target g=…`.
    resource: String,
    /// The lifetime a GraphQL operation is given (the route's `fresh` otherwise).
    lifetime: Option<u32>,
}

impl Ask {
    /// The standard's options of a scope, with the operation's lifetime.
    fn options(&self, private: bool) -> Cow<'_, Options> {
        let opts = self.route.options(private);
        if self.lifetime == opts.fallback_lifetime {
            Cow::Borrowed(opts)
        } else {
            Cow::Owned(Options {
                fallback_lifetime: self.lifetime,
                ..opts.clone()
            })
        }
    }

    /// A response's headers as the standard's arithmetic reads them: the origin's, or, on a
    /// route that overrides the origin, with its lifetime directives replaced by the route's
    /// (`Cache-Control: max-age=…`; `Expires`, `Pragma` and the targeted fields dropped).
    fn effective<'h>(&self, headers: &'h HeaderMap) -> Cow<'h, HeaderMap> {
        let Some(lifetime) = self.lifetime.filter(|_| self.route.override_origin) else {
            return Cow::Borrowed(headers);
        };
        let mut h = headers.clone();
        for name in [header::CACHE_CONTROL, header::EXPIRES, header::PRAGMA] {
            h.remove(name);
        }
        for name in &self.route.shared.targeted {
            h.remove(name);
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&format!("max-age={lifetime}"))
                .unwrap_or(HeaderValue::from_static("max-age=0")),
        );
        Cow::Owned(h)
    }

    fn directives(&self) -> RequestDirectives {
        RequestDirectives::from_headers(&self.headers)
    }
}

/// What came of a request, for the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Hit,
    Stale,
    Coalesced,
    Miss,
    Revalidated,
    Passed,
    Error,
}

impl Outcome {
    fn metric(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Stale => "stale",
            Outcome::Coalesced => "coalesced",
            Outcome::Miss | Outcome::Revalidated => "miss",
            Outcome::Passed => "bypass",
            Outcome::Error => "error",
        }
    }

    /// Where the answer came from, for the client table.
    fn served(self) -> crate::clients::Served {
        match self {
            Outcome::Hit | Outcome::Stale | Outcome::Coalesced => crate::clients::Served::Cache,
            Outcome::Miss | Outcome::Revalidated | Outcome::Passed | Outcome::Error => {
                crate::clients::Served::Server
            }
        }
    }

    fn x_cache(self) -> &'static str {
        match self {
            Outcome::Hit | Outcome::Coalesced => "HIT",
            Outcome::Stale => "STALE",
            Outcome::Miss | Outcome::Revalidated | Outcome::Error => "MISS",
            Outcome::Passed => "BYPASS",
        }
    }
}

/// What answers a request: a response, or a hit whose head may go as bytes.
enum Answered {
    Response(Response<ProxyBody>),
    /// A stored `200` answered whole from the store ([`answer::hit`]).
    Hit(answer::Hit),
}

impl From<Response<ProxyBody>> for Answered {
    fn from(resp: Response<ProxyBody>) -> Self {
        Answered::Response(resp)
    }
}

/// Answers one request by the standard and the route's settings. With `head_bytes` (the
/// connection's own HTTP/1.1), a hit's head goes as the bytes kept in its entry's memo.
/// `identity` is the dialect's reading of the request's token forms, made as it arrived.
#[allow(
    clippy::disallowed_methods,
    reason = "a request's latency for the metrics is a real span"
)]
pub(super) async fn serve(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    route: &Arc<StandardRoute>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    head_bytes: bool,
    identity: Identity<'static>,
) -> Reply<WireHead> {
    let started = Instant::now();
    let (answered, outcome) = decide(reads, up, route, req, peer, identity).await;
    account(reads, up, outcome, started);
    let mut resp = match answered {
        Answered::Hit(hit) if head_bytes => {
            let (response, head) = hit.wire();
            let outcome = match outcome {
                Outcome::Stale => cachearr_engine::Outcome::Stale,
                _ => cachearr_engine::Outcome::Hit(cachearr_engine::TierKind::Memory),
            };
            return Reply {
                response,
                head: Some(WireHead {
                    head,
                    outcome,
                    total_us: 0,
                    upstream_us: 0,
                    server_timing: false,
                }),
            };
        }
        Answered::Hit(hit) => hit.response(),
        Answered::Response(resp) => resp,
    };
    resp.headers_mut()
        .insert(answer::X_CACHE, HeaderValue::from_static(outcome.x_cache()));
    resp.extensions_mut().insert(outcome.served());
    resp.into()
}

/// Phases 1 and 2: who asks, and what kind of request it is.
async fn decide(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    route: &Arc<StandardRoute>,
    mut req: Request<ClientBody>,
    peer: SocketAddr,
    identity: Identity<'static>,
) -> (Answered, Outcome) {
    let Some(settings) = up.routes.standard() else {
        return (
            problem(ErrorKind::Internal, "no standard routes").into(),
            Outcome::Error,
        );
    };
    let settings = &settings.settings;
    // What no key holds must not choose the origin's answer: a client's forwarding and
    // rewrite fields and those its `Connection` names go no further, on every request.
    let stripped = steering::strip(req.headers_mut());
    // A method override makes the request the method it names: passed through whole, and
    // invalidating as that method would ([`exchange::write`]).
    if steering::method_override(req.headers()).is_some() {
        let req = exchange::upstream_request(&reads.config().limits, req);
        return (
            exchange::write(reads, up, route, req, peer, false)
                .await
                .into(),
            Outcome::Passed,
        );
    }
    // The dialect's reading is the request's still unless the strip took a field from it.
    let read = (stripped == 0).then_some(identity);
    let credential = match identify(reads, settings, req.headers(), req.uri().query(), read) {
        Ok(c) => c,
        // Two credentials: whose answer it is cannot be told, so nothing is kept or served.
        Err(Ambiguous) => {
            let resp = exchange::pass(
                reads,
                up,
                req,
                peer,
                Fwd::Bypass,
                Some("ambiguous-credential"),
            );
            return (resp.await.into(), Outcome::Passed);
        }
    };
    let safe = req.method() == Method::GET || req.method() == Method::HEAD;
    let graphql_post = req.method() == Method::POST && route.graphql.is_some();
    // A read with a body: what the origin makes of the body no key holds, and a read sent
    // without the body its framing declares would leave the origin reading the next
    // request on the connection as that body. Passed through whole, its framing with it.
    if safe && !req.body().is_end_stream() {
        let resp = exchange::pass(reads, up, req, peer, Fwd::Bypass, Some("request-body")).await;
        return (resp.into(), Outcome::Passed);
    }
    if !route.cache {
        if safe {
            let resp = exchange::pass(reads, up, req, peer, Fwd::Bypass, Some("route")).await;
            return (resp.into(), Outcome::Passed);
        }
        let req = exchange::upstream_request(&reads.config().limits, req);
        return (
            exchange::write(reads, up, route, req, peer, false)
                .await
                .into(),
            Outcome::Passed,
        );
    }
    let user = match (route.scope, credential) {
        (StandardScope::Shared, _) => None,
        (StandardScope::User, None) if safe || graphql_post => {
            let resp =
                exchange::pass(reads, up, req, peer, Fwd::Bypass, Some("no-credential")).await;
            return (resp.into(), Outcome::Passed);
        }
        (_, c) => c,
    };
    if !safe && !graphql_post {
        let req = exchange::upstream_request(&reads.config().limits, req);
        return (
            exchange::write(reads, up, route, req, peer, false)
                .await
                .into(),
            Outcome::Passed,
        );
    }
    cached(reads, up, route, req, peer, user, settings).await
}

/// A read (or a GraphQL query) the route caches, as `user`'s entry (`None`: shared): a part of
/// a response cut from a stored one, a GraphQL query keyed by its text, else the read itself.
async fn cached(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    route: &Arc<StandardRoute>,
    req: Request<ClientBody>,
    peer: SocketAddr,
    user: Option<UserHash>,
    settings: &HttpSettings,
) -> (Answered, Outcome) {
    let graphql_post = req.method() == Method::POST && route.graphql.is_some();
    let target = key_target(req.uri(), settings);
    let ask_for = |uri: http::Uri, headers: HeaderMap| Ask {
        reads: reads.clone(),
        up: up.clone(),
        route: route.clone(),
        peer,
        method: Method::GET,
        uri,
        headers,
        body: Bytes::new(),
        user,
        resource: ["GET ", &target].concat(),
        lifetime: route.fresh,
    };
    // A part of a response: cut from a stored complete one that may answer as it is, else
    // the origin's (nothing partial is stored).
    if req.headers().contains_key(header::RANGE) {
        if req.method() == Method::GET
            && let Some(answered) =
                part_of_stored(&ask_for(req.uri().clone(), req.headers().clone())).await
        {
            return (answered.0.into(), answered.1);
        }
        let resp = exchange::pass(reads, up, req, peer, Fwd::Bypass, Some("range")).await;
        return (resp.into(), Outcome::Passed);
    }
    let (mut parts, body) = req.into_parts();
    let head = parts.method == Method::HEAD;
    if !graphql_post {
        // The request's own target and fields become the read's: moved, not copied.
        let ask = ask_for(
            std::mem::take(&mut parts.uri),
            std::mem::take(&mut parts.headers),
        );
        return read(ask, head).await;
    }
    // A GraphQL query: keyed by its body, which is read whole.
    let mut ask = ask_for(parts.uri.clone(), parts.headers.clone());
    let bytes = match Limited::new(body, MAX_GRAPHQL_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return (
                problem(
                    ErrorKind::BadBody,
                    "a GraphQL body broke off or is larger than 256 KiB",
                )
                .into(),
                Outcome::Error,
            );
        }
    };
    match graphql::read(&bytes) {
        graphql::Operation::Query { text, name } => {
            let hash = reads.secret().user_of(&text).hex();
            ask.method = Method::POST;
            ask.resource = format!("POST {target} g={}", String::from_utf8_lossy(&hash));
            ask.lifetime = route.operation_lifetime(name.as_deref());
            ask.body = bytes;
        }
        graphql::Operation::Other => {
            let req = Request::from_parts(parts, exchange::full(bytes));
            let resp = exchange::write(reads, up, route, req, peer, true).await;
            return (resp.into(), Outcome::Passed);
        }
    }
    read(ask, head).await
}

/// Phases 3 to 5: a read answered from what is stored, or filled.
async fn read(ask: Ask, head: bool) -> (Answered, Outcome) {
    let now = ask.reads.clock().now_ms();
    let directives = ask.directives();
    let found = entries::look_up(&ask).await;
    let Some(found) = found else {
        if directives.only_if_cached {
            return (answer::gateway_timeout().into(), Outcome::Error);
        }
        let fwd = if head { Fwd::Method } else { Fwd::UriMiss };
        let (resp, outcome) = fill_once(ask, head, fwd).await;
        return (resp.into(), outcome);
    };
    match found.reuse(&ask, &directives, now) {
        Reuse::Fresh | Reuse::StaleAccepted => {
            let stale = !found.stored.is_fresh(now);
            let outcome = if stale { Outcome::Stale } else { Outcome::Hit };
            (answer::hit(found, &ask.headers, head, now, stale), outcome)
        }
        Reuse::StaleWhileRevalidate => {
            exchange::refresh_behind(&ask, &found);
            (
                answer::hit(found, &ask.headers, head, now, true),
                Outcome::Stale,
            )
        }
        Reuse::Validate(_) if directives.only_if_cached => {
            (answer::gateway_timeout().into(), Outcome::Error)
        }
        Reuse::Validate(why) => {
            let fwd = match why {
                cachearr_httpcache::freshness::Why::Stale
                | cachearr_httpcache::freshness::Why::NoCache => Fwd::Stale,
                _ => Fwd::Request,
            };
            let (resp, outcome) = exchange::fill(&ask, head, fwd, Some(found)).await;
            (resp.into(), outcome)
        }
    }
}

/// A `Range` request answered from a stored complete (`200`) response that may answer it as
/// it is (fresh, or stale as the request allows), when `If-Range` allows a part and the
/// client's own conditionals do not make it a `304` question: `206` with the bytes asked, or
/// `416` when none of them exists. `None` leaves the request to the origin.
async fn part_of_stored(ask: &Ask) -> Option<(Response<ProxyBody>, Outcome)> {
    if ask.headers.contains_key(header::IF_NONE_MATCH)
        || ask.headers.contains_key(header::IF_MODIFIED_SINCE)
    {
        return None;
    }
    let now = ask.reads.clock().now_ms();
    let found = entries::look_up(ask).await?;
    if found.entry.value.status != 200
        || !matches!(
            found.reuse(ask, &ask.directives(), now),
            Reuse::Fresh | Reuse::StaleAccepted
        )
        || !range::if_range_allows(&ask.headers, &found.headers)
    {
        return None;
    }
    let len = found.entry.value.body.len() as u64;
    let part = range::part(&ask.headers, len);
    let outcome = if found.stored.is_fresh(now) {
        Outcome::Hit
    } else {
        Outcome::Stale
    };
    Some((answer::stored_part(&found, part, now)?, outcome))
}

/// A miss: the first request for a key fills it; the ones that come meanwhile wait for that
/// fill and answer from what it stored (or, when it stored nothing they may use, ask
/// themselves).
async fn fill_once(ask: Ask, head: bool, fwd: Fwd) -> (Response<ProxyBody>, Outcome) {
    let flight_key = entries::flight_key(&ask);
    match ask.up.flights.join(&flight_key) {
        Joined::Lead(guard) => {
            let answer = exchange::fill(&ask, head, fwd, None).await;
            drop(guard);
            answer
        }
        Joined::Wait(rx) => {
            let limit = ask.up.config.guard.read_timeout;
            let _ =
                tokio::time::timeout(limit, cachearr_upstream::client::wait_for_flight(rx)).await;
            let now = ask.reads.clock().now_ms();
            if let Some(found) = entries::look_up(&ask).await
                && found.reuse(&ask, &ask.directives(), now).answers()
            {
                let via = answer::Via::Collapsed;
                let resp = answer::stored(&found, &ask.headers, head, now, via);
                return (resp, Outcome::Coalesced);
            }
            exchange::fill(&ask, head, fwd, None).await
        }
    }
}

/// Warms `path_and_query` of an upstream cached by the standard: asked as a client without
/// credential headers would ask it (so it fills the shared entry, or that of a credential
/// parameter in its query), on the background budget, unless a fresh stored answer is there
/// already. Returns whether a usable answer is stored now.
pub(crate) async fn warm(reads: &ReadThrough, up: &Arc<Upstream>, path_and_query: &str) -> bool {
    let Some(table) = up.routes.standard() else {
        return false;
    };
    let Ok(uri) = path_and_query.parse::<http::Uri>() else {
        return false;
    };
    let route = table.route(uri.path()).clone();
    // A credential in the warm path's query (an *arr's `apikey`) makes it that credential's
    // entry, as a client's request with it would be.
    let Ok(user) = identify(reads, &table.settings, &HeaderMap::new(), uri.query(), None) else {
        return false;
    };
    let user = match route.scope {
        StandardScope::Shared => None,
        StandardScope::User if user.is_none() => return false,
        _ => user,
    };
    if !route.cache {
        return false;
    }
    let target = key_target(&uri, &table.settings);
    let ask = Ask {
        reads: reads.clone(),
        up: up.clone(),
        lifetime: route.fresh,
        route,
        peer: SocketAddr::from(([127, 0, 0, 1], 0)),
        method: Method::GET,
        uri,
        headers: HeaderMap::new(),
        body: Bytes::new(),
        user,
        resource: format!("GET {target}"),
    };
    let now = reads.clock().now_ms();
    let current = entries::look_up(&ask).await;
    if current.as_ref().is_some_and(|f| f.stored.is_fresh(now)) {
        return true;
    }
    let (_, outcome) = exchange::warm(&ask, current).await;
    matches!(outcome, Outcome::Miss | Outcome::Revalidated)
        && entries::look_up(&ask).await.is_some()
}

/// Phase 6: the engine's statistics for the class and `/metrics` for the upstream.
fn account(reads: &ReadThrough, up: &Upstream, outcome: Outcome, started: Instant) {
    let noted = match outcome {
        Outcome::Hit => Noted::Hit(cachearr_engine::TierKind::Memory),
        Outcome::Stale => Noted::Stale,
        Outcome::Coalesced => Noted::Coalesced,
        Outcome::Miss | Outcome::Error => Noted::Miss,
        Outcome::Revalidated => Noted::Revalidated,
        Outcome::Passed => Noted::Passed,
    };
    reads.cache().note(CLASS, noted);
    reads.metrics().observe_request(
        &up.metrics_name,
        CLASS,
        outcome.metric(),
        started.elapsed().as_secs_f64(),
    );
}

/// Two different values of one credential field or parameter.
struct Ambiguous;

/// The keyed hash of a request's credential: `Authorization`, `Cookie`, the operator's
/// credential headers and query parameters and the built-in ones ([`BEARER_PARAMS`], the
/// media servers' token names), together (one user is one combination of them). `None`
/// without any. `read` is the dialect's reading of the token forms when it was made already.
fn identify<'a>(
    reads: &ReadThrough,
    settings: &HttpSettings,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    read: Option<Identity<'a>>,
) -> Result<Option<UserHash>, Ambiguous> {
    let mut parts: Vec<Cow<'_, str>> = Vec::new();
    let dialect = read.unwrap_or_else(|| {
        cachearr_dialect::identity(cachearr_dialect::Profile::Http, headers, query)
    });
    match dialect {
        Identity::Anonymous => {}
        Identity::Token(t) => parts.push(t),
        Identity::Ambiguous => return Err(Ambiguous),
    }
    for name in &settings.credential_headers {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else { continue };
        if values.next().is_some() {
            return Err(Ambiguous);
        }
        let Ok(value) = first.to_str() else {
            return Err(Ambiguous);
        };
        if !value.trim().is_empty() {
            parts.push(Cow::Owned(format!("{name}: {}", value.trim())));
        }
    }
    let mut from_query: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if is_credential_param(settings, &name) && !value.is_empty() {
            if from_query.iter().any(|(n, v)| *n == name && *v != value) {
                return Err(Ambiguous);
            }
            from_query.push((name.into_owned(), value.into_owned()));
        }
    }
    from_query.sort();
    from_query.dedup();
    parts.extend(
        from_query
            .into_iter()
            .map(|(n, v)| Cow::Owned(format!("?{n}={v}"))),
    );
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(reads.secret().user_of(&parts.join("\n"))))
}

/// Query parameters that are a credential on any API, beside the operator's and the media
/// servers' token parameters: RFC 6750's bearer token (§2.3).
const BEARER_PARAMS: [&str; 1] = ["access_token"];

fn is_credential_param(settings: &HttpSettings, name: &str) -> bool {
    settings
        .credential_params
        .iter()
        .map(String::as_str)
        .chain(BEARER_PARAMS)
        .any(|p| p.eq_ignore_ascii_case(name))
        || is_token_param(name)
}

/// The request's path and query as its key holds them: the query in the request's order and
/// spelling, without credential parameters (their keyed hash is the scope).
fn key_target(uri: &http::Uri, settings: &HttpSettings) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(n, _)| n);
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            !is_credential_param(settings, &name)
        })
        .collect();
    if kept.is_empty() && !query.is_empty() {
        return path.to_owned();
    }
    format!("{path}?{}", kept.join("&"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn credential_parameters_leave_the_key() {
        let s = HttpSettings::default();
        let t = |u: &str| key_target(&u.parse().unwrap(), &s);
        assert_eq!(t("/api/v3/series?apikey=secret"), "/api/v3/series");
        assert_eq!(t("/a?b=1&ApiKey=x&c=2"), "/a?b=1&c=2");
        assert_eq!(t("/a?b=2&a=1"), "/a?b=2&a=1");
        assert_eq!(t("/a?api%5Fkey=x&b"), "/a?b");
        assert_eq!(t("/me?access_token=secret&x=1"), "/me?x=1");
        assert_eq!(t("/me?Access_Token=secret"), "/me");
        assert_eq!(t("/a"), "/a");
    }
}
