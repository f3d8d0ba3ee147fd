//! The asking user's play state for answers from the index, read from the server as that
//! user through the cache (`AsUser`): which listings, and how the state is read out of them
//! and written into an answer, is each dialect's (its `user_state.rs`).
//!
//! The listings are user-scoped cache entries, fresh for at most [`FRESH`] (a play or a
//! rating made through cachearr drops them at once with the user's play-state tag), read once
//! per answer and parsed once per version: the parse is kept with the user, by a hash of the
//! listing's body. When a listing cannot be had, or the route would not be user-scoped, the
//! answer is not given from the index: the server answers.
//!
//! Who the asking user is on the server, where a request may name another user, is asked of
//! the server once per token (`own_user_id`; the path and its reading are the dialect's), or
//! where the server has no such route (Emby) proven from what it answered the token.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};

use cachearr_dialect::ReadAsUser;
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

/// How stale a user's play state in an index answer may be, at most, when it changed on the
/// server without a word to cachearr (a play on a TV app, with no webhook): a listing older
/// than this is read again.
pub const FRESH: Duration = Duration::from_secs(10);

/// Reads as `user`, through the cache (JSON, fresh for at most [`FRESH`]), each answer parsed
/// once per version of its body: what the dialects write a user's play state from.
pub(crate) struct AsUser<'a> {
    pub(crate) reads: &'a ReadThrough,
    pub(crate) up: &'a Arc<Upstream>,
    pub(crate) user: &'a Arc<UserRecord>,
    /// The one read that holds the state of every item of the answer, where the copy has one
    /// ([`ReadAsUser::items_read`]).
    pub(crate) items_read: Option<String>,
}

impl ReadAsUser for AsUser<'_> {
    async fn read<T: Any + Send + Sync>(
        &self,
        path: String,
        parse: fn(&[u8]) -> Option<T>,
    ) -> Option<Arc<T>> {
        if let Some(empty) = known_empty(self.reads, self.user, &path) {
            return parse(&empty).map(Arc::new);
        }
        read_parsed(self.reads, self.up, self.user, &path, parse).await
    }

    async fn own_id(&self) -> Option<Arc<str>> {
        own_user_id(self.up, self.user).await
    }

    async fn read_all<T: Any + Send + Sync>(
        &self,
        paths: Vec<String>,
        parse: fn(&[u8]) -> Option<T>,
    ) -> Vec<Option<Arc<T>>> {
        let known: Vec<_> = (paths.iter())
            .map(|path| known_empty(self.reads, self.user, path))
            .collect();
        let unknown: Vec<String> = (paths.iter().zip(&known))
            .filter(|(_, empty)| empty.is_none())
            .map(|(path, _)| path.clone())
            .collect();
        let mut read = cachearr_gateway::fetch::fetch_all_parsed_as_user_within(
            self.reads,
            self.up,
            self.user,
            &unknown,
            &json_accepted(),
            FRESH,
            parse,
        )
        .await
        .into_iter();
        (known.into_iter())
            .map(|empty| match empty {
                Some(body) => parse(&body).map(Arc::new),
                None => read.next().flatten(),
            })
            .collect()
    }

    fn items_read(&self) -> Option<&str> {
        self.items_read.as_deref()
    }
}

/// The token's own user id on the server, for a server whose requests may name another user
/// ([`UserRoutes`](cachearr_dialect::UserRoutes)): said by a sign-in seen through cachearr, or
/// asked of the server once per token and kept with the user (not through the cache: the
/// answer may carry activity dates clients must get fresh, so it is no cached route). `None`
/// when it cannot be had, or the server's requests name no other user.
pub(crate) async fn own_user_id(up: &Arc<Upstream>, user: &Arc<UserRecord>) -> Option<Arc<str>> {
    user.server_user_id_or(ask_own_id(up, user)).await
}

/// The user's own id, asked of the server with the user's token: its own record where the
/// server has one ([`UserRoutes::own`](cachearr_dialect::UserRoutes::own)), else proven.
async fn ask_own_id(up: &Arc<Upstream>, user: &Arc<UserRecord>) -> Option<Arc<str>> {
    let dialect = cachearr_dialect::of(up.profile);
    let answers = dialect.answers()?;
    let routes = dialect.user_routes();
    let Some(own) = routes.own else {
        return prove_user(up, user, &routes).await;
    };
    let (status, body) = ask_with_token(up, user, own, true).await?;
    if status != StatusCode::OK {
        return None;
    }
    Some(Arc::from(answers.own_user_id(&body)?))
}

/// The token's user, proven from what the server answers it where no route says whose a
/// token is (Emby), by `admins_only`, asked once per token
/// ([`UserRecord::administrator`]):
///
/// - a 403 there proves the token no administrator's, so the one user whose routes the
///   server answered it (`/Users/{id}/…`, answered that user and administrators,
///   [`UserRecord::named_user`]) is its own;
/// - a 2xx proves it an administrator's or an API key's (no user's): on a server with one
///   administrator, a token the server's list of API keys does not hold is that
///   administrator's ([`prove_sole_administrator`]).
///
/// Nothing is asked for a token with no such answer (a failed ask is asked again).
async fn prove_user(
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    routes: &cachearr_dialect::UserRoutes,
) -> Option<Arc<str>> {
    let admins_only = routes.admins_only?;
    let administrator = match user.administrator() {
        Some(known) => known,
        None => {
            let (status, body) = ask_with_token(up, user, admins_only, true).await?;
            if status == StatusCode::FORBIDDEN {
                user.note_administrator(false);
                false
            } else if status == StatusCode::OK {
                user.note_administrator(true);
                return prove_sole_administrator(up, user, routes, &body).await;
            } else {
                return None;
            }
        }
    };
    if administrator {
        // Asked before and not proven: an administrator's token (of several) or an API key.
        return None;
    }
    user.named_user()
}

/// The server's one administrator, when the token was shown its user list (`users`, the
/// answer of [`UserRoutes::admins_only`](cachearr_dialect::UserRoutes::admins_only)) and is
/// none of its API keys ([`SoleAdministrator`](cachearr_dialect::SoleAdministrator)): only
/// administrators and API keys are shown that list, and an API key is no user's. `None` with
/// two administrators or more, or for an API key.
async fn prove_sole_administrator(
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    routes: &cachearr_dialect::UserRoutes,
    users: &[u8],
) -> Option<Arc<str>> {
    let sole = routes.sole_administrator?;
    let [admin] = <[String; 1]>::try_from((sole.administrators)(users)?).ok()?;
    let (status, keys) = ask_with_token(up, user, sole.keys, true).await?;
    if status != StatusCode::OK || (sole.lists_key)(&keys, user.token())? {
        return None;
    }
    Some(Arc::from(admin))
}

/// A GET of `path` with the user's token, not through the cache: its status, and its body
/// (at most 1 MiB) when `read` and the status is a 200 (empty when it broke off or was
/// larger; `None`: the request failed).
async fn ask_with_token(
    up: &Arc<Upstream>,
    user: &UserRecord,
    path: &str,
    read: bool,
) -> Option<(StatusCode, bytes::Bytes)> {
    let uri = up.uri_for(path).ok()?;
    let token = HeaderValue::from_str(user.token()).ok()?;
    let make = || Ok(up.owner_request(&uri, Some(&token), "cachearr"));
    let response = up
        .send_idempotent(&make, cachearr_upstream::client::Budget::Client)
        .await
        .ok()?;
    let status = response.status();
    if !(read && status == StatusCode::OK) {
        return Some((status, bytes::Bytes::new()));
    }
    // A body that broke off or is larger is no answer to read (empty), but its status
    // stands: a user list too long to read is not asked again and again.
    let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
        response.into_body(),
        1 << 20,
    ))
    .await
    .map(|body| body.to_bytes())
    .unwrap_or_default();
    Some((status, body))
}

/// The answer of the play-state watch's probe of `path` when it found that whole list empty
/// within [`FRESH`] with nothing dropped from the cache since (a play or rating through
/// cachearr, a change event): as good as reading the list now, and the server is not asked.
/// A returning user's pass starts with their probes, then reads these lists.
fn known_empty(reads: &ReadThrough, user: &UserRecord, path: &str) -> Option<bytes::Bytes> {
    let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
    let empty = book.empty.get(path)?;
    let age = reads.clock().now_ms().saturating_sub(empty.read_ms);
    let fresh = u128::from(age) <= FRESH.as_millis() && !reads.cache().bumped_since(&empty.stamp);
    fresh.then(|| empty.body.clone())
}

/// Reads `path` as `user` through the cache (JSON, fresh for at most [`FRESH`]) and parses it
/// with `parse`, once per version of the body: the parse is kept with the user by a hash of
/// the body.
async fn read_parsed<T: Any + Send + Sync>(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
    parse: fn(&[u8]) -> Option<T>,
) -> Option<Arc<T>> {
    // Play state is per user: a route an operator made shared is not read (an error).
    cachearr_gateway::fetch::fetch_parsed_as_user(
        reads,
        up,
        user,
        path,
        json_accepted(),
        Some(FRESH),
        parse,
    )
    .await
}

/// The headers the copy's reads as a user add: their answers are read as JSON.
pub(crate) fn json_accepted() -> HeaderMap {
    let mut extra = HeaderMap::new();
    extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    extra
}
