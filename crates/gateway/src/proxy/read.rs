//! A cached read, phase by phase ([`Call::read`]): **admit** — who reads, their standing for
//! the entry's scope, the reading's key and policy ([`Call::admit`]); **remember** the reading
//! for a repeat; **hold** while a batch or window that will fill the key is on its way;
//! **look up** through the cache, whose load goes to the library copy or the server (a fresh
//! entry in memory is answered without awaiting, before the holds' and the look-up's futures
//! are built: none of them would hold it);
//! **learn** what the outcome teaches (batches, windows, the walks the copy writes ahead, the
//! change feed's samples);
//! **respond** with the entry's prepared answer or a `304`; **follow up** with the prefetch
//! the answer triggers and the read's metrics. A phase that refuses the cache passes the
//! request through ([`super::pass`]), saying why.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cachearr_engine::{EngineError, Key, Lookup, Outcome};
use http::request::Parts;
use http::{HeaderMap, Request};

use super::failure::engine_error_response;
use super::pass::Bypass;
use super::repeat::{Fingerprint, KeptReading, Reading};
use super::{Call, Who, WireHead};
use crate::batch::{BatchedRead, Looked};
use crate::fetch::{ClientBody, CopySource, HttpLoader, LoaderState, owned_request};
use crate::metrics::ReadOutcome;
use crate::prepared::{Asked, Load};
use crate::respond::{ErrorKind, problem, us_ms};
use cachearr_config::policy::{Class, ResolvedPolicy, Scope};
use cachearr_dialect::Trigger;
use cachearr_upstream::entry::keyed_policy;
use cachearr_upstream::keys::{KeyInput, UserHash};
use cachearr_upstream::users::{UserRecord, Users};
use cachearr_wire::Reply;

/// Where a cached read's [`Reading`] comes from.
pub(super) enum ReadFrom<'a> {
    /// The route table's decision: the reading is made from the request.
    Route {
        /// Who asks.
        who: Who,
        policy: &'a ResolvedPolicy,
        tags: Vec<Arc<str>>,
        user_state: bool,
        /// Where the listener remembers the reading for a repeat of this request (`None`: not
        /// remembered).
        remember: Option<Fingerprint>,
        /// What may answer a miss instead of the server (the library copy's walks).
        copy: Option<Arc<dyn CopySource>>,
        /// The prefetch the answer triggers.
        prefetch: Option<Trigger>,
    },
    /// A recent request, which this one repeats byte for byte; its user is the one it was read
    /// as (the same token).
    Repeat(KeptReading),
}

/// A read the cache may answer: who reads, for which scope, under which reading.
pub(super) struct Admitted {
    user: Arc<UserRecord>,
    /// The entry's user (`None`: a shared entry).
    scope_user: Option<UserHash>,
    /// A 2xx of the route proves the token.
    authenticates: bool,
    reading: Arc<Reading>,
    /// Where to remember the reading for a repeat (`None`: not remembered, or a repeat).
    remember: Option<Fingerprint>,
    /// The sections the read's route names (`Some(None)`: it spans every section), when one
    /// of them waits for the play-state watch's first reading for the user: the load waits
    /// for it ([`cachearr_upstream::feed::Feed::await_sections_read`]).
    unread_sections: Option<Box<Option<Vec<String>>>>,
}

/// How long a read waits for its section's first reading at most: two probes, read at once.
const FIRST_READING_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Why a read was not admitted.
enum Refused {
    /// Passed through to the server, as `user` when there is one, for this reason.
    Pass(Option<Arc<UserRecord>>, Bypass),
    /// A repeat whose kept reading was keyed for another scope than the user's standing gives
    /// now: read afresh, as a request not seen before.
    Stale,
    /// A query that cannot be read at all.
    BadQuery(cachearr_upstream::keys::KeyError),
}

/// One admitted cached read: what its phases after admission share.
struct CachedRead<'a> {
    call: &'a Call<'a>,
    user: &'a Arc<UserRecord>,
    scope_user: Option<UserHash>,
    authenticates: bool,
    uri: &'a http::Uri,
    client_headers: &'a HeaderMap,
    key: &'a Key,
    class: Class,
    feed: Option<&'a Arc<cachearr_upstream::feed::Feed>>,
    now: u64,
}

/// How far a cached read got without waiting ([`Call::read_at_once`]).
pub(super) enum AtOnce {
    /// Answered.
    Answered(Reply<WireHead>),
    /// What is left, for [`Call::read_later`].
    Later(Later),
    /// A repeat to read afresh, as a request not seen before (routed again): the token's
    /// scope changed since its reading was kept.
    Afresh(Request<ClientBody>),
}

/// What is left of a cached read once nothing more could be done without waiting.
pub(super) enum Later {
    /// Passed through to the server, as the user when there is one, for this reason.
    Pass(Request<ClientBody>, Option<Arc<UserRecord>>, Bypass),
    /// Admitted and remembered, not a fresh hit in memory: the look-up and what follows
    /// (the request's parts, the admission, the read's time).
    Look(Parts, Admitted, u64),
}

impl Call<'_> {
    /// A cached read: admitted, or passed through saying why; then answered by
    /// [`CachedRead`]'s phases.
    pub(super) async fn read(
        &self,
        req: Request<ClientBody>,
        from: ReadFrom<'_>,
    ) -> Reply<WireHead> {
        match self.read_at_once(req, from) {
            AtOnce::Answered(reply) => reply,
            AtOnce::Later(later) => self.read_later(later).await,
            // Only a repeat's kept reading goes stale; a routed read's key is made now. Were
            // one to come here, the server answers it.
            AtOnce::Afresh(req) => self.pass(req, None, Bypass::Uncacheable).await,
        }
    }

    /// The phases of a cached read that wait for nothing: admit, remember, and answer a fresh
    /// entry in memory. A request answered here (the repeated hit, most of a poller's
    /// requests) is never moved into a future; else what is left, for [`Self::read_later`].
    pub(super) fn read_at_once(&self, req: Request<ClientBody>, from: ReadFrom<'_>) -> AtOnce {
        let now = self.gw.clock().now_ms();
        let admitted = match self.admit(&req, from, now) {
            Ok(admitted) => admitted,
            Err(Refused::Pass(user, why)) => return AtOnce::Later(Later::Pass(req, user, why)),
            Err(Refused::Stale) => return AtOnce::Afresh(req),
            Err(Refused::BadQuery(e)) => {
                return AtOnce::Answered(problem(ErrorKind::BadQuery, &e.to_string()).into());
            }
        };
        // The request's parts stay here: a hit reads them and makes no loader (the engine asks
        // for one only to load, refresh or warm), and a loader takes its own copy of the target
        // and the headers, deriving the upstream's headers only when a load actually runs.
        let (parts, _body) = req.into_parts();
        let read = self.cached_read(&parts, &admitted, now);
        read.remember(&parts, &admitted.reading, admitted.remember);
        // A fresh entry in memory is answered here, with nothing awaited: the look-up's
        // layered futures are not built, and their states (memory of the connection's future
        // a hit would otherwise write) are not touched.
        match read.fresh_hit(&admitted.reading) {
            Some(reply) => AtOnce::Answered(reply),
            None => AtOnce::Later(Later::Look(parts, admitted, now)),
        }
    }

    /// What is left of a cached read: passed through, or looked up and answered.
    pub(super) async fn read_later(&self, later: Later) -> Reply<WireHead> {
        match later {
            Later::Pass(req, user, why) => self.pass(req, user, why).await,
            Later::Look(parts, admitted, now) => {
                if let (Some(sections), Some(feed)) =
                    (&admitted.unread_sections, self.conn.feed.as_ref())
                {
                    let sections = sections.as_deref();
                    (feed.await_sections_read(&admitted.user, sections, FIRST_READING_WAIT)).await;
                }
                let read = self.cached_read(&parts, &admitted, now);
                read.answer(&admitted.reading).await
            }
        }
    }

    /// The admitted read of the request `parts` at `now`.
    fn cached_read<'a>(
        &'a self,
        parts: &'a Parts,
        admitted: &'a Admitted,
        now: u64,
    ) -> CachedRead<'a> {
        CachedRead {
            call: self,
            user: &admitted.user,
            scope_user: admitted.scope_user,
            authenticates: admitted.authenticates,
            uri: &parts.uri,
            client_headers: &parts.headers,
            key: &admitted.reading.key,
            class: admitted.reading.class,
            feed: self.conn.feed.as_ref(),
            now,
        }
    }

    /// Admit: who reads ([`Call::reader`]), their standing for the entry's scope
    /// ([`Call::standing`]), and the reading — a repeat's, or made from the request (its key
    /// and policy) with the fingerprint to remember it by.
    fn admit(
        &self,
        req: &Request<ClientBody>,
        from: ReadFrom<'_>,
        now: u64,
    ) -> Result<Admitted, Refused> {
        let user = self
            .reader(&from, now)
            .map_err(|why| Refused::Pass(None, why))?;
        let (scope, authenticates) = match &from {
            ReadFrom::Route { policy, .. } => (policy.scope, policy.authenticates),
            ReadFrom::Repeat(KeptReading { reading, .. }) => (reading.scope, reading.authenticates),
        };
        let scope_user = match self.standing(&user, scope, authenticates, now) {
            Ok(scope_user) => scope_user,
            Err(why) => return Err(Refused::Pass(Some(user), why)),
        };
        let (reading, remember) = match from {
            // A repeat keyed for another scope than the user's standing gives now (the token
            // confirmed as its user's since — by the play-state watch naming it, or its own
            // record passing through — or its trust run out): its key is not the one the
            // request has now, so it is read afresh, as a request not seen before, and the
            // route decides.
            ReadFrom::Repeat(KeptReading { reading, .. }) if reading.scope_user != scope_user => {
                return Err(Refused::Stale);
            }
            ReadFrom::Repeat(KeptReading { reading, .. }) => (reading, None),
            ReadFrom::Route {
                who: _,
                policy,
                tags,
                user_state,
                remember,
                copy,
                prefetch,
            } => match self.reading_of(req, &user, scope_user, policy, tags, user_state) {
                Ok(reading) => (
                    Arc::new(Reading {
                        copy,
                        prefetch,
                        ..reading
                    }),
                    remember,
                ),
                Err(cachearr_upstream::keys::KeyError::Ambiguous) => {
                    return Err(Refused::Pass(Some(user), Bypass::AmbiguousQuery));
                }
                Err(e) => return Err(Refused::BadQuery(e)),
            },
        };
        // The play-state watch follows the users whose answers showing play state are read.
        let mut unread_sections = None;
        if scope_user.is_some()
            && cachearr_upstream::feed::item_tagged(reading.class)
            && let Some(feed) = self.conn.feed.as_ref()
        {
            feed.note_play_read(&user, now);
            unread_sections = self.sections_named(&user, &reading.engine.routed().tags, feed);
        }
        Ok(Admitted {
            user,
            scope_user,
            authenticates,
            reading,
            remember,
            unread_sections,
        })
    }

    /// The sections a read's route `tags` name — a section's list names its section, a list
    /// that spans sections every one (`None`) — noted for `user`'s play-state watch before
    /// the read is loaded, which reads those it has not read yet at once
    /// ([`cachearr_upstream::feed::Feed::note_sections_read`]). Those, when one is not read
    /// yet and the watch is this gateway's alone (no cache shared with others): what the
    /// load waits for.
    fn sections_named(
        &self,
        user: &UserRecord,
        tags: &[Arc<str>],
        feed: &cachearr_upstream::feed::Feed,
    ) -> Option<Box<Option<Vec<String>>>> {
        let up = &self.up.name;
        let named = if tags
            .iter()
            .any(|tag| cachearr_dialect::tags::is_across(up, tag))
        {
            None
        } else {
            let ids: Vec<String> = (tags.iter())
                .filter_map(|tag| cachearr_dialect::tags::section_of(up, tag))
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                return None;
            }
            Some(ids)
        };
        feed.note_sections_read(user, named.as_deref());
        if self.gw.reads().cache().redis().is_some() {
            return None;
        }
        let unread = (user.play_lists.lock().unwrap_or_else(|e| e.into_inner()))
            .waits_for_reading(named.as_deref());
        unread.then(|| Box::new(named))
    }

    /// Who reads: a repeat's user (the same token: its record while the table holds it, else
    /// looked up again by its hash; marked seen), or the user the route step identified; no
    /// token, or two, is a pass.
    fn reader(&self, from: &ReadFrom<'_>, now: u64) -> Result<Arc<UserRecord>, Bypass> {
        let up = self.up;
        match from {
            ReadFrom::Repeat(KeptReading { user: before, .. }) => {
                Ok(up.users.touch_again(&up.name, before, now))
            }
            ReadFrom::Route { who, .. } => match who {
                Who::User(user) => Ok(user.clone()),
                Who::NoToken => Err(Bypass::NoToken),
                Who::Ambiguous => {
                    up.guard
                        .counters
                        .ambiguous_identity
                        .fetch_add(1, Ordering::Relaxed);
                    Err(Bypass::AmbiguousIdentity)
                }
            },
        }
    }

    /// The user's standing for an entry of `scope`, read afresh on every read: a token the
    /// server refused last gets nothing cached; a shared entry goes only to a token proved
    /// recently; an entry scoped to the user is its server user's, shared by the user's
    /// tokens, when the server said whose the token is and accepted it recently, else the
    /// token's own ([`Users::key_scope`]). Gives the key's scope (`None` for a shared entry).
    fn standing(
        &self,
        user: &UserRecord,
        scope: Scope,
        authenticates: bool,
        now: u64,
    ) -> Result<Option<UserHash>, Bypass> {
        if user.is_refused() {
            self.up
                .guard
                .counters
                .refused_token
                .fetch_add(1, Ordering::Relaxed);
            return Err(Bypass::RefusedToken { authenticates });
        }
        let trust = self.gw.config().token_trust.as_millis();
        let trust_ms = u64::try_from(trust).unwrap_or(u64::MAX);
        match scope {
            Scope::User => Ok(Some(Users::key_scope(user, now, trust_ms))),
            Scope::Shared => {
                if Users::trusted(user, now, trust_ms) {
                    Ok(None)
                } else {
                    Err(Bypass::UntrustedToken { authenticates })
                }
            }
        }
    }

    /// What a cached read of `req` by `user` is, on the route `policy`.
    fn reading_of(
        &self,
        req: &Request<ClientBody>,
        user: &UserRecord,
        scope_user: Option<UserHash>,
        policy: &ResolvedPolicy,
        tags: Vec<Arc<str>>,
        user_state: bool,
    ) -> Result<Reading, cachearr_upstream::keys::KeyError> {
        let input = KeyInput {
            upstream: &self.up.name,
            profile: self.up.profile,
            method: req.method(),
            path: req.uri().path(),
            query: req.uri().query(),
            headers: req.headers(),
            user: scope_user,
        };
        let (key, engine) = keyed_policy(user, &input, policy, tags, user_state)?;
        Ok(Reading {
            class: policy.class,
            scope: policy.scope,
            scope_user,
            authenticates: policy.authenticates,
            key,
            engine: engine.into(),
            gzip: crate::encoding::accepts_gzip(req.headers()),
            copy: None,
            prefetch: None,
        })
    }
}

impl CachedRead<'_> {
    /// Remember: notes whether this reads an entry a prefetch filled, and keeps the reading
    /// for a repeat of its request.
    fn remember(&self, parts: &Parts, reading: &Arc<Reading>, at: Option<Fingerprint>) {
        let Call {
            up, conn, client, ..
        } = self.call;
        up.prefetched
            .note_read(self.user.hash, parts.uri.path(), self.key, self.now);
        if let Some(print) = at {
            let kept = KeptReading {
                reading: reading.clone(),
                client: client.clone(),
                user: self.user.clone(),
                release: up.release_changes(),
            };
            conn.recent
                .remember(&conn.last_print, print, &parts.uri, &parts.headers, kept);
        }
    }

    /// Look up a fresh entry in memory, without waiting; found, learn, respond and follow up
    /// as [`Self::answer`] would (`None`: [`Self::answer`] looks it up).
    fn fresh_hit(&self, reading: &Reading) -> Option<Reply<WireHead>> {
        let Call { gw, peer, .. } = *self.call;
        let policy = self.policy(reading);
        let lookup = gw.cache().memory_hit(self.key, policy, || {
            Arc::new(HttpLoader(Arc::new(
                self.loader(peer, reading.copy.clone()),
            )))
        })?;
        let looked = Looked {
            result: Ok(lookup),
            made: None,
            by_copy: None,
            copy: reading.copy.clone(),
        };
        gw.batcher().learn(&self.batched(reading), &looked);
        Some(self.answered(looked, reading))
    }

    /// Look up (held and watched by the batches), learn, respond and follow up.
    async fn answer(&self, reading: &Reading) -> Reply<WireHead> {
        let gw = self.call.gw;
        // Right after a start on a kept copy, what was kept may predate a change made while
        // cachearr was down: wait for the catch-up pass to drop it.
        if let Some(feed) = self.feed
            && cachearr_upstream::feed::FEED_CLASSES.contains(&self.class)
        {
            feed.caught_up(cachearr_upstream::feed::CATCH_UP_WAIT).await;
        }
        let policy = self.policy(reading);
        // Pinned here and handed to the batches' layers by reference (see `Batcher::around`).
        let look_up = std::pin::pin!(self.look_up(policy, reading.copy.clone()));
        let looked = gw.batcher().around(self.batched(reading), look_up).await;
        self.answered(looked, reading)
    }

    /// The reading's engine policy at this read's moment, as the change feed sets it.
    fn policy<'r>(&self, reading: &'r Reading) -> &'r cachearr_engine::Policy {
        match self.feed {
            Some(feed) => feed.policy(&reading.engine, self.class, self.now),
            None => reading.engine.routed(),
        }
    }

    /// This read as the batches see it.
    fn batched(&self, reading: &Reading) -> BatchedRead<'_> {
        let Call { gw, up, .. } = self.call;
        BatchedRead {
            reads: gw.batches(),
            up,
            user: self.user,
            scope_user: self.scope_user,
            uri: self.uri,
            headers: self.client_headers,
            key: self.key,
            copy: reading.copy.clone(),
        }
    }

    /// Learn, respond and follow up, once looked up.
    fn answered(&self, looked: Looked, reading: &Reading) -> Reply<WireHead> {
        let lookup = match looked.result {
            Ok(lookup) => lookup,
            Err(e) => return self.failed(&e),
        };
        self.learn(&lookup);
        let load = Load {
            // The foreground load's time upstream (none for a hit, which made no loader).
            upstream_us: looked
                .made
                .as_ref()
                .map_or(0, |l| l.upstream_us.load(Ordering::Relaxed)),
            by_copy: looked.by_copy == Some(true),
        };
        let (reply, total_us) = self.respond(&lookup, reading.gzip, load);
        self.follow_up(&lookup, reading.prefetch, total_us, load.upstream_us);
        reply
    }

    /// Look up: memory, disk, Redis, else one load for every reader of the key (from the
    /// library copy when the reading has one, else the server) under `policy` (the feed's
    /// freshness applied). Gives the loader this read made, if it made one.
    async fn look_up(
        &self,
        policy: &cachearr_engine::Policy,
        copy: Option<Arc<dyn CopySource>>,
    ) -> (Result<Lookup, EngineError>, Option<Arc<LoaderState>>) {
        let Call { gw, peer, .. } = *self.call;
        let mut made: Option<Arc<LoaderState>> = None;
        let result = gw
            .cache()
            .get_or_load_with(self.key, policy, || {
                let state = Arc::new(self.loader(peer, copy));
                made = Some(state.clone());
                Arc::new(HttpLoader(state))
            })
            .await;
        (result, made)
    }

    /// The loader's state for this read's key, made only when the engine asks for a load.
    fn loader(&self, peer: SocketAddr, copy: Option<Arc<dyn CopySource>>) -> LoaderState {
        let Call { gw, up, .. } = self.call;
        LoaderState {
            reads: gw.reads().clone(),
            up: (*up).clone(),
            user: self.user.clone(),
            authenticates: self.authenticates,
            user_scoped: self.scope_user.is_some(),
            uri: self.uri.clone(),
            client_headers: self.client_headers.clone(),
            peer,
            for_client: true,
            upstream_us: AtomicU64::new(0),
            answered_by_copy: Default::default(),
            copy_ids: Default::default(),
            copy_tags: Default::default(),
            copy_declines_user: Default::default(),
            item_tagged: cachearr_upstream::feed::item_tagged(self.class),
            copy,
            walks: (gw.copy()).map(|c| c.clone() as Arc<dyn crate::fetch::WalkSources>),
        }
    }

    /// Learn what the batches do not: a load remembers the client's identity headers and may
    /// be sampled by the change feed; an answer from the cache counts as a request saved.
    fn learn(&self, lookup: &Lookup) {
        let Call { up, .. } = self.call;
        let (user, uri, headers) = (self.user, self.uri, self.client_headers);
        match lookup.outcome {
            Outcome::Miss => {
                Users::set_identity(user, headers, cachearr_dialect::of(up.profile));
                if let Some(feed) = self.feed
                    && feed.samples(self.class)
                    && let Some((uri, headers)) = owned_request(uri, headers)
                {
                    feed.remember(self.key, self.class, uri, headers, user);
                }
            }
            Outcome::Hit(_) | Outcome::Stale | Outcome::Coalesced | Outcome::StaleOnError => {
                up.guard.counters.saved.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Passed => {}
        }
    }

    /// Respond: the entry's prepared answer, or a `304` to a matching validator
    /// ([`crate::prepared::PreparedHeaders::reply`]). Gives the answer and the read's time so
    /// far.
    fn respond(&self, lookup: &Lookup, gzip: bool, load: Load) -> (Reply<WireHead>, u64) {
        let Call {
            gw,
            conn,
            via,
            started,
            ..
        } = *self.call;
        let asked = Asked {
            headers: self.client_headers,
            gzip,
            now: self.now,
            started,
            head_bytes: via.takes_head_bytes(),
            slot: &conn.slot,
        };
        gw.prepared().reply(lookup, &asked, load)
    }

    /// Follow up: the prefetch the answered listing triggers (`prefetch`, read from the path
    /// when the request came; spawned, never awaited) and the read's metrics.
    fn follow_up(
        &self,
        lookup: &Lookup,
        prefetch: Option<Trigger>,
        total_us: u64,
        upstream_us: u64,
    ) {
        let Call {
            gw,
            up,
            conn,
            client,
            ..
        } = self.call;
        let (uri, class) = (self.uri, self.class);
        let value = &lookup.entry.value;
        if let Some(trigger) = prefetch
            && value.status == 200
            && !matches!(lookup.outcome, Outcome::Passed)
        {
            crate::prefetch::after_listing(gw, up, self.user, client, trigger, uri, &value.body);
        }
        let outcome = match lookup.outcome {
            Outcome::Hit(_) => ReadOutcome::Hit,
            Outcome::Miss | Outcome::Passed => ReadOutcome::Miss,
            Outcome::Coalesced => ReadOutcome::Coalesced,
            Outcome::Stale | Outcome::StaleOnError => ReadOutcome::Stale,
        };
        conn.reads.observe(class, outcome, us_ms(total_us) / 1000.0);
        if upstream_us > 0 {
            conn.reads
                .observe_upstream(class, us_ms(upstream_us) / 1000.0);
        }
        tracing::debug!(
            upstream = %up.name,
            target = %cachearr_upstream::redact::uri_target(uri),
            class = class.as_str(),
            status = value.status,
            outcome = ?lookup.outcome,
            "cached"
        );
    }

    /// A load that failed with no stale copy to serve: said in the log and the metrics, and
    /// answered as its error's kind.
    fn failed(&self, e: &EngineError) -> Reply<WireHead> {
        let Call {
            up, conn, started, ..
        } = *self.call;
        tracing::info!(
            upstream = %up.name,
            target = %cachearr_upstream::redact::uri_target(self.uri),
            error = %cachearr_engine::Chain(e),
            "upstream load failed, no stale copy"
        );
        let seconds = started.elapsed().as_secs_f64();
        conn.reads.observe(self.class, ReadOutcome::Error, seconds);
        engine_error_response(up, e, started).into()
    }
}
