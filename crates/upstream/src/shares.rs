//! What each user of a server may see, read where the server reads it: the owner's shares at
//! the server's account service (its dialect's
//! [`ShareService`]; for Plex, plex.tv's
//! `shared_servers`), with the owner's token.
//!
//! [`ShareBook`] keeps the latest list, read again when it is older than [`REFRESH`] by the
//! upstream's clock, or at once after [`ShareBook::note_changed`] (the server's answers to a
//! user show their share changed). A user's share is found by the token they use: a share
//! that carries a server-scoped token (managed users) is theirs when the token is that one
//! (compared by keyed hashes: the tokens are not kept); any other token is asked of the
//! service once for its account id ([`ShareService::account_path`]),
//! and the share of that account is theirs.
//!
//! A list read again is compared with the one before: the users whose share changed (added,
//! removed, another restriction) are kept for [`ShareBook::take_changed`], by the tokens
//! known to be theirs, so that the caller, which holds the cache, drops every answer kept
//! for them. The index keeper reads the list on its schedule once it was read at all
//! ([`ShareBook::read_when_due`]): a share changes with no event from the server.
//!
//! Whenever this cannot be had — no owner token, the service unreachable or refusing, an
//! answer that does not read, a user with no share in the list — [`ShareBook::share_of`] says
//! `None` and the caller does what it did before shares were read: the server answers that
//! user. A list that could not be read again is dropped, not kept: a share tightened while
//! the service was away must not be answered by the looser one.
//!
//! The service gets the owner's token (for the list) and each user's own token (for their
//! account id: the service issued it) and nothing else; neither is logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;

use cachearr_config::UpstreamConfig;
use cachearr_dialect::model::shares::Share;
use cachearr_dialect::shares::ShareService;
use cachearr_engine::Clock;

use crate::keys::UserHash;
use crate::secret::Secret;
use crate::users::UserRecord;

/// How long a list of shares is used before it is read again: a share changed at the service
/// is followed within this (sooner when the server's answers show it).
pub const REFRESH: Duration = Duration::from_secs(5 * 60);

/// How long after a failed read the service is asked again.
pub const RETRY: Duration = Duration::from_secs(30);

/// The largest answer read from the service.
const MAX_BODY: usize = 8 << 20;

/// A share as kept: the service's, with the server-scoped token it carries replaced by that
/// token's keyed hash.
#[derive(Debug, Clone)]
pub struct KeptShare {
    /// The share (its `server_token` taken out).
    pub share: Arc<Share>,
    /// The keyed hash of the server-scoped token it carried.
    pub token_hash: Option<UserHash>,
}

#[derive(Default)]
struct BookState {
    /// The latest list and when it was read (clock ms).
    shares: Option<(Arc<Vec<KeptShare>>, u64)>,
    /// When the last read failed (clock ms).
    failed_at: Option<u64>,
    /// A change was seen: read the list again before using it.
    changed: bool,
    /// The server's id at the service, once read.
    server_id: Option<Arc<str>>,
    /// Account ids of user tokens, by the tokens' keyed hashes.
    accounts: HashMap<UserHash, Arc<str>>,
    /// Reads of the list made (successful or not).
    reads: u64,
    /// Whose share changed between two reads, until taken ([`ShareBook::take_changed`]).
    changed_users: Option<ChangedShares>,
}

/// The users whose share changed between two reads of the list: what they may see did, so
/// every answer kept for them may hold what the server now hides from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedShares {
    /// The keyed hashes of the tokens known to be theirs.
    pub tokens: Vec<UserHash>,
    /// A changed share's user has no token known here (none was asked of the service for
    /// its account): any user's token other than the owner's may be theirs.
    pub unknown: bool,
}

/// The shares of one upstream's server (see the module documentation).
pub struct ShareBook {
    /// The upstream's name (for logs).
    upstream: Arc<str>,
    profile: cachearr_dialect::Profile,
    /// The owner's token (memory only).
    owner: String,
    /// How long a read of the service may take.
    read_timeout: Duration,
    service: &'static dyn ShareService,
    /// `scheme://authority[/prefix]` of the service, without a trailing slash.
    base: String,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    clock: Arc<dyn Clock>,
    state: Mutex<BookState>,
    /// One read of the list at a time.
    reading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ShareBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareBook")
            .field("upstream", &self.upstream)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ShareBook {
    /// The book of an upstream's shares (configured by `config`), when its dialect reads them
    /// from a service, an address is configured and the owner's token is there to read them
    /// with.
    pub fn new(config: &UpstreamConfig, clock: Arc<dyn Clock>) -> Option<ShareBook> {
        let service = cachearr_dialect::of(config.profile).share_service()?;
        let url = config.account_service_url.as_ref()?;
        let owner = config.token.clone().filter(|t| !t.is_empty())?;
        let base = format!(
            "{}://{}{}",
            url.scheme_str()?,
            url.authority()?.as_str(),
            url.path().trim_end_matches('/')
        );
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(config.guard.connect_timeout));
        tcp.enforce_http(false);
        let tls =
            cachearr_config::tls::client_config(&cachearr_config::TlsConfig::default()).ok()?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Some(ShareBook {
            upstream: Arc::from(config.name.as_str()),
            profile: config.profile,
            owner,
            read_timeout: config.guard.read_timeout,
            service,
            base,
            client,
            clock,
            state: Mutex::new(BookState::default()),
            reading: tokio::sync::Mutex::new(()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BookState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server's answers show a share changed: the list is read again before it is used.
    pub fn note_changed(&self) {
        self.state().changed = true;
    }

    /// How many times the list was read from the service.
    pub fn reads(&self) -> u64 {
        self.state().reads
    }

    /// Whose share changed between the reads made since this was last asked, if anyone's:
    /// the caller drops their answers (it holds the cache; this book does not).
    pub fn take_changed(&self) -> Option<ChangedShares> {
        self.state().changed_users.take()
    }

    /// Whether the token hashed `user` is placed in the list: a share carries it, or the
    /// service named its account. A token not placed may be any user's (a server-scoped
    /// token the service does not know, answered by counts): when a share changes, its
    /// answers go too.
    pub fn places(&self, user: UserHash) -> bool {
        let state = self.state();
        state.accounts.contains_key(&user)
            || (state.shares.as_ref())
                .is_some_and(|(list, _)| list.iter().any(|s| s.token_hash == Some(user)))
    }

    /// The schedule (the index keeper's ticks): once the list has been read at all, it is
    /// read again when due, so that a changed share is found even while no user asks.
    pub async fn read_when_due(
        &self,
        secret: &Secret,
        identity: impl Future<Output = Option<Bytes>>,
    ) {
        let read_before = self.state().shares.is_some();
        if read_before && self.fresh().is_none() {
            let _ = self.current(secret, identity).await;
        }
    }

    /// `user`'s share, `None` when it cannot be had (see the module documentation).
    /// `identity` is the server's answer of its identity path
    /// ([`ShareService::identity_path`]),
    /// awaited only while the server's id is not known yet.
    pub async fn share_of(
        &self,
        secret: &Secret,
        user: &UserRecord,
        identity: impl Future<Output = Option<Bytes>>,
    ) -> Option<Arc<Share>> {
        let shares = self.current(secret, identity).await?;
        if let Some(kept) = shares.iter().find(|s| s.token_hash == Some(user.hash)) {
            return Some(kept.share.clone());
        }
        let account = self.account_of(user).await?;
        shares
            .iter()
            .find(|s| *s.share.account_id == *account)
            .map(|s| s.share.clone())
    }

    /// Every share of the server, read again when due; `None` when they cannot be had.
    pub async fn all(
        &self,
        secret: &Secret,
        identity: impl Future<Output = Option<Bytes>>,
    ) -> Option<Arc<Vec<KeptShare>>> {
        self.current(secret, identity).await
    }

    /// The list, read again when it is due.
    async fn current(
        &self,
        secret: &Secret,
        identity: impl Future<Output = Option<Bytes>>,
    ) -> Option<Arc<Vec<KeptShare>>> {
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let _reading = self.reading.lock().await;
        // Read by another caller while this one waited.
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let read = self.read_shares(secret, identity).await;
        let now = self.clock.now_ms();
        let mut state = self.state();
        state.reads += 1;
        state.changed = false;
        match read {
            Some(list) => {
                let list = Arc::new(list);
                if let Some((before, _)) = &state.shares {
                    let changed = changed_between(before, &list, &state.accounts);
                    if changed != ChangedShares::default() {
                        tracing::info!(
                            upstream = %self.upstream,
                            "users' shares changed at the account service: their cached \
                             answers are dropped"
                        );
                        let pending = state.changed_users.get_or_insert_default();
                        pending.tokens.extend(changed.tokens);
                        pending.unknown |= changed.unknown;
                    }
                }
                state.shares = Some((list.clone(), now));
                state.failed_at = None;
                Some(list)
            }
            None => {
                tracing::info!(
                    upstream = %self.upstream,
                    "the server's shares could not be read: its restricted users are answered \
                     by the server"
                );
                state.shares = None;
                state.failed_at = Some(now);
                None
            }
        }
    }

    /// `Some(list)` while the list need not be read again (`Some(None)`: a read failed
    /// lately, none is tried yet); `None` when it is due.
    fn fresh(&self) -> Option<Option<Arc<Vec<KeptShare>>>> {
        let now = self.clock.now_ms();
        let state = self.state();
        if state.changed {
            return None;
        }
        if let Some((list, at)) = &state.shares
            && now.saturating_sub(*at) < millis(REFRESH)
        {
            return Some(Some(list.clone()));
        }
        if let Some(at) = state.failed_at
            && now.saturating_sub(at) < millis(RETRY)
        {
            return Some(None);
        }
        None
    }

    async fn read_shares(
        &self,
        secret: &Secret,
        identity: impl Future<Output = Option<Bytes>>,
    ) -> Option<Vec<KeptShare>> {
        let server_id = self.server_id(identity).await?;
        let body = self
            .get(&self.service.shares_path(&server_id), &self.owner)
            .await?;
        let shares = self.service.shares(&body)?;
        Some(
            shares
                .into_iter()
                .map(|mut share| {
                    let token_hash = share.server_token.take().map(|t| secret.user_of(&t));
                    KeptShare {
                        share: Arc::new(share),
                        token_hash,
                    }
                })
                .collect(),
        )
    }

    /// The server's answer of `path`, read by someone else (the gateway's start-up check):
    /// when it is the service's identity path, the server's id at the service is taken from
    /// it, and the first read of the shares does not ask the server for it again (a request
    /// a restricted user's first answer would otherwise wait for).
    pub fn note_identity(&self, path: &str, identity: &[u8]) {
        if path != self.service.identity_path() {
            return;
        }
        if let Some(id) = self.service.server_id(identity) {
            self.state().server_id = Some(Arc::from(id));
        }
    }

    /// The server's id at the service, read from the server's `identity` answer once.
    async fn server_id(&self, identity: impl Future<Output = Option<Bytes>>) -> Option<Arc<str>> {
        if let Some(id) = self.state().server_id.clone() {
            return Some(id);
        }
        let body = identity.await?;
        let id: Arc<str> = Arc::from(self.service.server_id(&body)?);
        self.state().server_id = Some(id.clone());
        Some(id)
    }

    /// The account id of `user`'s token, asked of the service once.
    async fn account_of(&self, user: &UserRecord) -> Option<Arc<str>> {
        if let Some(id) = self.state().accounts.get(&user.hash).cloned() {
            return Some(id);
        }
        let body = self.get(self.service.account_path(), user.token()).await?;
        let id: Arc<str> = Arc::from(self.service.account_id(&body)?);
        self.state().accounts.insert(user.hash, id.clone());
        Some(id)
    }

    /// A GET of `path` at the service with `token`: the body of a 200, else `None`.
    async fn get(&self, path: &str, token: &str) -> Option<Bytes> {
        let dialect = cachearr_dialect::of(self.profile);
        let uri: http::Uri = format!("{}{path}", self.base).parse().ok()?;
        let mut req = http::Request::new(Empty::<Bytes>::new());
        *req.uri_mut() = uri;
        let headers = req.headers_mut();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/xml"));
        headers.insert(dialect.token_header(), HeaderValue::from_str(token).ok()?);
        dialect.mark_own_request(headers, "cachearr");
        let response = tokio::time::timeout(self.read_timeout, self.client.request(req))
            .await
            .ok()?
            .ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        let body = tokio::time::timeout(
            self.read_timeout,
            Limited::new(response.into_body(), MAX_BODY).collect(),
        )
        .await
        .ok()?
        .ok()?;
        Some(body.to_bytes())
    }
}

/// Whose share differs between `before` and `now` (added, removed, or another restriction),
/// by the tokens known to be theirs: a share's own server-scoped token, and the user tokens
/// whose `accounts` are the share's.
fn changed_between(
    before: &[KeptShare],
    now: &[KeptShare],
    accounts: &HashMap<UserHash, Arc<str>>,
) -> ChangedShares {
    let find = |list: &[KeptShare], account: &str| -> Option<KeptShare> {
        list.iter()
            .find(|kept| kept.share.account_id == account)
            .cloned()
    };
    let mut changed = ChangedShares::default();
    let every_account = (before.iter().chain(now)).map(|kept| kept.share.account_id.as_str());
    let mut seen = std::collections::HashSet::new();
    for account in every_account {
        if !seen.insert(account) {
            continue;
        }
        let (was, is) = (find(before, account), find(now, account));
        let same = match (&was, &is) {
            (Some(was), Some(is)) => was.share.restriction == is.share.restriction,
            _ => false,
        };
        if same {
            continue;
        }
        let mut known = false;
        for kept in [&was, &is].into_iter().flatten() {
            if let Some(hash) = kept.token_hash {
                changed.tokens.push(hash);
                known = true;
            }
        }
        for (hash, of) in accounts {
            if **of == *account {
                changed.tokens.push(*hash);
                known = true;
            }
        }
        changed.unknown |= !known;
    }
    let mut once = std::collections::HashSet::new();
    changed.tokens.retain(|hash| once.insert(*hash));
    changed
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_dialect::model::restriction::Restriction;

    fn kept(account: &str, blocked: &[&str], token: Option<UserHash>) -> KeptShare {
        let mut restriction = Restriction::default();
        restriction.music.blocked_labels = blocked.iter().map(|s| (*s).to_owned()).collect();
        KeptShare {
            share: Arc::new(Share {
                account_id: account.to_owned(),
                server_token: None,
                restriction,
            }),
            token_hash: token,
        }
    }

    #[test]
    fn a_changed_share_names_the_tokens_known_to_be_its_users() {
        let managed = UserHash(7);
        let before = [
            kept("1", &[], None),
            kept("2", &[], Some(managed)),
            kept("3", &[], None),
        ];
        let accounts =
            HashMap::from([(UserHash(1), Arc::from("1")), (UserHash(3), Arc::from("3"))]);

        let same = changed_between(&before, &before, &accounts);
        assert_eq!(same, ChangedShares::default(), "nothing changed");

        // Account 1 filtered, the managed user's share removed: both named, nobody unknown.
        let now = [kept("1", &["Explicit"], None), kept("3", &[], None)];
        let changed = changed_between(&before, &now, &accounts);
        assert_eq!(changed.tokens.len(), 2);
        assert!(changed.tokens.contains(&UserHash(1)) && changed.tokens.contains(&managed));
        assert!(!changed.unknown);

        // A new share for an account no token is known of: its user could be anyone's token.
        let mut added = before.to_vec();
        added.push(kept("4", &[], None));
        let changed = changed_between(&before, &added, &accounts);
        assert!(changed.tokens.is_empty());
        assert!(changed.unknown);
    }
}
