//! Everything the proxy does not answer from the cache: requests passed through to the upstream
//! unchanged (streams, ranges, writes, uncacheable routes; a write then bumps its tags) and
//! upgraded connections (websockets) spliced both ways; and [`Bypass`], why a request was not
//! answered from the cache.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};

use super::failure::upstream_error_response;
use super::{Call, WireHead};
use crate::fetch::{ClientBody, ProxyBody, append_forwarded_for, empty_body, is_hop_by_hop};
use crate::respond::{ErrorKind, mark, problem, us_ms};
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_upstream::client::{BoxError, Budget, Upstream, UpstreamBody, UpstreamError};
use cachearr_upstream::users::{UserRecord, Users};
use cachearr_wire::Reply;

/// Why a request was not answered from the cache.
pub(super) enum Bypass {
    Uncacheable,
    Range,
    NoToken,
    /// Two different tokens in one request: which one the server reads is not a cache's guess.
    AmbiguousIdentity,
    /// A parameter given twice with different values ([`cachearr_upstream::keys::KeyError::Ambiguous`]):
    /// no key can say which one the server reads.
    AmbiguousQuery,
    /// A shared entry, and the token was not proved recently; `authenticates`: the route's 2xx
    /// proves the token.
    UntrustedToken {
        authenticates: bool,
    },
    /// The server refused this token last: nothing cached goes to it until it accepts it.
    RefusedToken {
        authenticates: bool,
    },
    Write {
        tags: Vec<Arc<str>>,
        user_state: bool,
        heartbeat: Option<(String, String)>,
    },
}

impl Bypass {
    /// The class label for metrics.
    pub(super) fn class(&self) -> &'static str {
        match self {
            Bypass::Write { .. } => "write",
            _ => "pass",
        }
    }

    /// Whether a 2xx to this request proves its token (the route is one the server
    /// authenticates; writes and unknown routes prove nothing).
    pub(super) fn authenticates(&self) -> bool {
        matches!(
            self,
            Bypass::UntrustedToken {
                authenticates: true
            } | Bypass::RefusedToken {
                authenticates: true
            }
        )
    }

    /// The `Cache-Status` of an answer passed through for this reason.
    pub(super) fn cache_status(&self) -> &'static str {
        match self {
            Bypass::Uncacheable => "cachearr; fwd=bypass",
            Bypass::Range => "cachearr; fwd=bypass; detail=range",
            Bypass::NoToken => "cachearr; fwd=bypass; detail=no-token",
            Bypass::AmbiguousIdentity => "cachearr; fwd=bypass; detail=ambiguous-identity",
            Bypass::AmbiguousQuery => "cachearr; fwd=bypass; detail=ambiguous-query",
            Bypass::UntrustedToken { .. } => "cachearr; fwd=bypass; detail=token-not-verified",
            Bypass::RefusedToken { .. } => "cachearr; fwd=bypass; detail=token-refused",
            Bypass::Write { .. } => "cachearr; fwd=method; detail=write",
        }
    }
}

pub(super) fn forward_headers(
    h: &HeaderMap,
    up: &Upstream,
    peer: SocketAddr,
    keep_upgrade: bool,
) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(h.len() + 2);
    for (name, value) in h {
        if name == header::HOST {
            continue;
        }
        if is_hop_by_hop(name)
            && !(keep_upgrade && (name == header::UPGRADE || name == header::CONNECTION))
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    if let Ok(v) = HeaderValue::from_str(up.host()) {
        out.insert(header::HOST, v);
    }
    append_forwarded_for(&mut out, h, peer);
    out
}

impl Call<'_> {
    /// Pass: sends `req` to the server as it came and answers with what it says, on behalf of
    /// `user` (the request's one token's, identified once; `None`: no token or an ambiguous
    /// one); a write that succeeds then invalidates what it changed.
    pub(super) async fn pass(
        &self,
        req: Request<ClientBody>,
        user: Option<Arc<UserRecord>>,
        why: Bypass,
    ) -> Reply<WireHead> {
        // Boxed: a pass-through's future is large, and most requests are cached reads.
        Box::pin(self.pass_through(req, user, why)).await.into()
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "the upstream's latency for the metrics is a real span"
    )]
    async fn pass_through(
        &self,
        req: Request<ClientBody>,
        user: Option<Arc<UserRecord>>,
        why: Bypass,
    ) -> Response<ProxyBody> {
        let Call {
            gw, up, started, ..
        } = *self;
        let now = gw.clock().now_ms();
        let dialect = cachearr_dialect::of(up.profile);
        let owner_only = dialect.owner_only(req.uri().path());
        let refuses_valid = dialect.refuses_valid_tokens(req.uri().path());
        let who = dialect.who_answer(req.method(), req.uri().path());
        let (path_and_query, uri) = match upstream_target(up, req.uri()) {
            Ok(target) => target,
            Err(refused) => return *refused,
        };
        let method = req.method().clone();
        // Kept for a write whose identity is not one clear token (see [`Call::invalidate`]).
        let anonymous_write = (user.is_none() && matches!(why, Bypass::Write { .. }))
            .then(|| (req.headers().clone(), req.uri().query().map(str::to_owned)));
        // A heartbeat is a change or a repeat of its own player's last one.
        let player = match &why {
            Bypass::Write {
                heartbeat: Some(_), ..
            } => dialect.player_id(req.headers(), req.uri().query()),
            _ => None,
        };
        // Fair shares go by server user: a user's many tokens are one asker.
        let asker = user.as_ref().map_or_else(
            || cachearr_upstream::client::Asker::address(self.peer.ip()),
            |u| cachearr_upstream::client::Asker::user(u.scope),
        );
        let t = Instant::now();
        let (result, too_large) = self.send(req, uri, asker).await;
        let upstream_us = crate::respond::elapsed_us(t);
        let resp = match result {
            Ok(r) => r,
            Err(e) => return self.pass_failed(&e, &path_and_query, &why, too_large),
        };
        let status = resp.status();
        if let Some(u) = &user {
            Users::record_verdict(u, status, why.authenticates(), refuses_valid, now);
            // Only the owner's tokens get a 2xx on a route the server answers only for its
            // owner: the token is the owner's.
            if owner_only && status.is_success() {
                let owner = gw.secret().scope_of_user(&up.name, OWNER);
                up.users.confirm(&up.name, (u.hash, u.token()), owner, now);
            }
        }
        if status.is_success() || status.is_redirection() {
            self.invalidate(&why, (user.as_ref(), player.as_deref()), anonymous_write);
        }
        tracing::debug!(
            upstream = %up.name,
            method = %method,
            target = %cachearr_upstream::redact::target(&path_and_query),
            status = status.as_u16(),
            "passed through"
        );
        let m = gw.metrics();
        let seconds = started.elapsed().as_secs_f64();
        m.observe_request(&up.metrics_name, why.class(), "bypass", seconds);
        m.observe_upstream(&up.metrics_name, why.class(), us_ms(upstream_us) / 1000.0);
        match who {
            Some(kind) if status.is_success() => {
                let resp = self.learn_who(resp, kind, user.as_deref(), now).await;
                relayed(resp, &why, started, upstream_us)
            }
            _ => {
                let (parts, body) = resp.into_parts();
                let resp = Response::from_parts(parts, Either::Right(body));
                relayed(resp, &why, started, upstream_us)
            }
        }
    }

    /// A 2xx answer that says which server user a token is (a sign-in's, the token's own
    /// record: [`cachearr_dialect::Dialect::who_answer`]), read whole (a small answer; one
    /// larger than [`WHO_MAX_BYTES`], or broken off, teaches nothing and is answered as a
    /// failed exchange) and relayed as read: the token it names (a sign-in's new token, else
    /// the asking `user`'s) is confirmed as that user's ([`Users::confirm`]).
    async fn learn_who(
        &self,
        resp: Response<hyper::body::Incoming>,
        kind: cachearr_dialect::WhoAnswer,
        user: Option<&UserRecord>,
        now: u64,
    ) -> Response<ProxyBody> {
        let Call { gw, up, .. } = *self;
        let (parts, body) = resp.into_parts();
        let Ok(collected) = Limited::new(body, WHO_MAX_BYTES).collect().await else {
            return problem(
                ErrorKind::UpstreamError,
                "the server's answer broke off or was larger than a sign-in's",
            );
        };
        let body = collected.to_bytes();
        if let Some(named) = cachearr_dialect::of(up.profile).read_who(kind, &body) {
            let scope = gw.secret().scope_of_user(&up.name, &named.user_id);
            match (named.token.as_deref(), user) {
                (Some(token), _) => {
                    let hash = gw.secret().user_of(token);
                    let user = up.users.confirm(&up.name, (hash, token), scope, now);
                    user.note_server_user_id(&named.user_id);
                }
                (None, Some(u)) => {
                    let user = up.users.confirm(&up.name, (u.hash, u.token()), scope, now);
                    user.note_server_user_id(&named.user_id);
                }
                (None, None) => {}
            }
        }
        Response::from_parts(parts, Either::Left(Full::new(body)))
    }

    /// Sends the request on to `uri`: a bodiless read as an idempotent request (retried by the
    /// guard), anything else once, its body streamed under the size limit. Gives the result and
    /// whether the body went past the limit.
    async fn send(
        &self,
        req: Request<ClientBody>,
        uri: http::Uri,
        asker: cachearr_upstream::client::Asker,
    ) -> (Result<Response<hyper::body::Incoming>, UpstreamError>, bool) {
        let Call { gw, up, peer, .. } = *self;
        let (parts, body) = req.into_parts();
        let headers = forward_headers(&parts.headers, up, peer, false);
        let method = parts.method;
        if (method == Method::GET || method == Method::HEAD)
            && http_body::Body::is_end_stream(&body)
        {
            let make = || {
                let mut r = Request::new(empty_body());
                *r.method_mut() = method.clone();
                *r.uri_mut() = uri.clone();
                *r.headers_mut() = headers.clone();
                r.extensions_mut().insert(asker);
                Ok(r)
            };
            return (up.send_idempotent(&make, Budget::Client).await, false);
        }
        // Set when a streamed (chunked) request body goes past the limit.
        let too_large = Arc::new(AtomicBool::new(false));
        let max = usize::try_from(gw.config().limits.max_body_bytes).unwrap_or(usize::MAX);
        let flag = too_large.clone();
        let body: UpstreamBody = Limited::new(body, max)
            .map_err(move |e| -> BoxError {
                if e.is::<http_body_util::LengthLimitError>() {
                    flag.store(true, Ordering::Relaxed);
                }
                e
            })
            .boxed();
        let mut r = Request::new(body);
        *r.method_mut() = method;
        *r.uri_mut() = uri;
        *r.headers_mut() = headers;
        r.extensions_mut().insert(asker);
        let result = up.send_once(r, Budget::Client).await;
        (result, too_large.load(Ordering::Relaxed))
    }

    /// The answer to a pass-through the upstream failed (or whose body broke off or went
    /// past the limit), said in the log and the metrics.
    fn pass_failed(
        &self,
        e: &UpstreamError,
        path_and_query: &str,
        why: &Bypass,
        too_large: bool,
    ) -> Response<ProxyBody> {
        let Call {
            gw, up, started, ..
        } = *self;
        tracing::info!(upstream = %up.name, target = %cachearr_upstream::redact::target(path_and_query), error = %cachearr_engine::Chain(e), "pass-through failed");
        let mut resp = match e {
            UpstreamError::ClientBody if too_large => problem(
                ErrorKind::BodyTooLarge,
                &format!(
                    "the request body is larger than {} bytes",
                    gw.config().limits.max_body_bytes
                ),
            ),
            UpstreamError::ClientBody => problem(ErrorKind::BadBody, "the request body broke off"),
            _ => upstream_error_response(up, e),
        };
        mark(&mut resp, "BYPASS", why.cache_status(), started, None);
        let seconds = started.elapsed().as_secs_f64();
        gw.metrics()
            .observe_request(&up.metrics_name, why.class(), "error", seconds);
        resp
    }

    /// After a write the server accepted, before the client sees the answer (so its next read
    /// is fresh): the write's tags and the writer's play state are invalidated, and the index
    /// answers none of the changed items until the keeper has read them again. `anonymous`: a
    /// write without one clear token, its headers and query.
    fn invalidate(
        &self,
        why: &Bypass,
        (user, player): (Option<&Arc<UserRecord>>, Option<&str>),
        anonymous: Option<(HeaderMap, Option<String>)>,
    ) {
        let Call { gw, up, .. } = *self;
        let Bypass::Write {
            tags,
            user_state,
            heartbeat,
        } = why
        else {
            return;
        };
        // A heartbeat that repeats the last state changes nothing but the sessions list.
        let repeat = match (heartbeat, user) {
            (Some((item, state)), Some(u)) => {
                !up.heartbeat_changed(u.hash, player, (item.as_str(), state.as_str()))
            }
            _ => false,
        };
        let sessions_only = [Arc::from(cachearr_dialect::tags::sessions(&up.name))];
        let (tags, user_state) = if repeat {
            (&sessions_only[..], false)
        } else {
            (&tags[..], *user_state)
        };
        // A play-state write of one user whose items the index places: what it changes, as
        // the play's (or rating's) change event says, instead of the item's own fields for
        // everyone and every answer of the user's that shows play state.
        let played = user
            .filter(|_| user_state)
            .and_then(|u| self.play_state_write(tags, u));
        for tag in tags {
            let item_level = cachearr_dialect::tags::item_id(&up.name, tag).is_some()
                || cachearr_dialect::tags::plays_item(&up.name, tag).is_some()
                || cachearr_dialect::tags::owner_plays_item(&up.name, tag).is_some();
            if played.is_none() || !item_level {
                gw.cache().invalidate_tag(tag);
            }
        }
        if let Some(event) = &played {
            gw.invalidate_tags(&up.name, &event.tags(&up.name));
        }
        let n = tags.len() + usize::from(user_state && user.is_some() && played.is_none());
        gw.metrics().invalidated(&up.metrics_name, "write", n);
        // A write that changes items (not play state, which the index and the kept elements
        // leave out): the index answers none of them until the keeper has read them again.
        if !user_state && let Some(copy) = gw.copy() {
            let mut items = tags
                .iter()
                .filter_map(|t| cachearr_dialect::tags::item_id(&up.name, t));
            copy.note_write(&up.name, &mut items);
        }
        if !user_state {
            return;
        }
        if let Some(u) = user {
            if played.is_none() {
                gw.cache().invalidate_tag(&u.state_tag);
            }
            u.note_play_write(&up.name, tags);
        }
        // A write without one clear token (two tokens, or one in a form the server may read
        // after all) changed the state of whichever user the server read: drop the state of
        // every user it names.
        if let Some((headers, query)) = anonymous {
            for token in cachearr_dialect::every_token(&headers, query.as_deref()) {
                let hash = gw.secret().user_of(&token);
                if let Some(named) = up.users.get(hash) {
                    named.note_play_write(&up.name, tags);
                }
                gw.cache()
                    .invalidate_tag(&cachearr_dialect::tags::user_state(
                        &up.name,
                        &hash.to_string(),
                    ));
            }
        }
    }
}

/// The id the owner's scope is made from ([`cachearr_upstream::secret::Secret::scope_of_user`]): no
/// server user's id (it starts with a NUL), and the owner's tokens are confirmed only by
/// the owner's routes.
const OWNER: &str = "\0owner";

/// Most bytes of an answer read whole to learn whose a token is: a sign-in's answer is a few
/// kilobytes.
const WHO_MAX_BYTES: usize = 256 * 1024;

impl Call<'_> {
    /// The change a play-state write of `user` made to the items it names (the
    /// [`cachearr_dialect::tags::plays`] tags among `tags`): a play (its parents' viewed counts with it)
    /// when the write touches what the user continues with, else a rating or a favourite (the
    /// item alone), in the section the library index holds the items in, by the owner or not.
    /// `None` when the write names no item or the index does not place them all in one
    /// section: the user's play-state answers are dropped instead.
    fn play_state_write(&self, tags: &[Arc<str>], user: &UserRecord) -> Option<ChangeEvent> {
        let Call { gw, up, .. } = *self;
        let ids: Vec<&str> = tags
            .iter()
            .filter_map(|t| cachearr_dialect::tags::plays_item(&up.name, t))
            .collect();
        if ids.is_empty() {
            return None;
        }
        let index = gw.copy()?.ready_index(&up.name)?;
        let everything = cachearr_library::Visibility::everything();
        let mut section = None;
        let mut parents = Vec::new();
        for id in &ids {
            let item = index.by_id(id, &everything)?;
            if section.get_or_insert(item.section_id()) != &item.section_id() {
                return None;
            }
            parents.extend(
                [item.parent_id(), item.grandparent_id()]
                    .into_iter()
                    .flatten(),
            );
        }
        let ondeck = cachearr_dialect::tags::ondeck(&up.name);
        let played = tags.iter().any(|t| **t == *ondeck);
        let by_owner = up
            .config
            .token
            .as_deref()
            .filter(|t| !t.is_empty())
            .is_some_and(|token| gw.secret().user_of(token) == user.hash);
        let event = ChangeEvent::new(if played {
            Change::Played
        } else {
            Change::Rated
        })
        .with_section(section)
        .with_items(ids.iter().map(|id| Some(*id)))
        .with_owner(Some(by_owner));
        Some(if played {
            event.with_parents(parents.into_iter().map(Some))
        } else {
            event
        })
    }
}

/// The server's answer relayed to the client: its hop-by-hop headers dropped, ours added.
fn relayed(
    resp: Response<ProxyBody>,
    why: &Bypass,
    started: Instant,
    upstream_us: u64,
) -> Response<ProxyBody> {
    let (mut parts, body) = resp.into_parts();
    let mut headers = HeaderMap::with_capacity(parts.headers.len() + 3);
    for (name, value) in parts.headers.drain().filter_map(|(n, v)| n.map(|n| (n, v))) {
        if !is_hop_by_hop(&name) {
            headers.append(name, value);
        }
    }
    parts.headers = headers;
    let mut out = Response::from_parts(parts, body);
    mark(
        &mut out,
        "BYPASS",
        why.cache_status(),
        started,
        Some(upstream_us),
    );
    out
}

/// The request's target on the upstream: its path and query (`/` when it has none) and the
/// upstream's URI for them, or the answer that refuses a target the upstream cannot take.
pub(super) fn upstream_target(
    up: &Upstream,
    uri: &http::Uri,
) -> Result<(String, http::Uri), Box<Response<ProxyBody>>> {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    match up.uri_for(&path_and_query) {
        Ok(target) => Ok((path_and_query, target)),
        Err(bad) => Err(Box::new(problem(ErrorKind::BadTarget, &bad.to_string()))),
    }
}

/// WebSocket (and any other HTTP/1.1 upgrade) pass-through: the upgrade request goes upstream;
/// on `101` both sides are spliced together byte for byte.
impl Call<'_> {
    pub(super) async fn upgrade(&self, req: Request<ClientBody>) -> Response<ProxyBody> {
        upgrade(self.up, req, self.peer, self.started).await
    }
}

async fn upgrade(
    up: &Arc<Upstream>,
    mut req: Request<ClientBody>,
    peer: SocketAddr,
    started: Instant,
) -> Response<ProxyBody> {
    let client_side = hyper::upgrade::on(&mut req);
    let (_, uri) = match upstream_target(up, req.uri()) {
        Ok(target) => target,
        Err(refused) => return *refused,
    };
    let mut up_req = Request::new(empty_body());
    *up_req.method_mut() = req.method().clone();
    *up_req.uri_mut() = uri;
    *up_req.headers_mut() = forward_headers(req.headers(), up, peer, true);
    let mut resp = match up.send_once(up_req, Budget::Client).await {
        Ok(r) => r,
        Err(e) => {
            let mut resp = upstream_error_response(up, &e);
            mark(
                &mut resp,
                "BYPASS",
                "cachearr; fwd=bypass; detail=upgrade",
                started,
                None,
            );
            return resp;
        }
    };
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (parts, body) = resp.into_parts();
        let mut out = Response::from_parts(parts, Either::Right(body));
        mark(
            &mut out,
            "BYPASS",
            "cachearr; fwd=bypass; detail=upgrade",
            started,
            None,
        );
        return out;
    }
    let upstream_side = hyper::upgrade::on(&mut resp);
    let name = up.name.clone();
    tokio::spawn(async move {
        match (client_side.await, upstream_side.await) {
            (Ok(c), Ok(u)) => {
                let mut c = hyper_util::rt::TokioIo::new(c);
                let mut u = hyper_util::rt::TokioIo::new(u);
                let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
            }
            (c, u) => {
                tracing::debug!(upstream = %name, client_ok = c.is_ok(), upstream_ok = u.is_ok(), "upgrade failed");
            }
        }
    });
    let mut out = Response::new(Either::Left(Full::new(Bytes::new())));
    *out.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *out.headers_mut() = resp.headers().clone();
    mark(
        &mut out,
        "BYPASS",
        "cachearr; fwd=bypass; detail=upgrade",
        started,
        None,
    );
    out
}
