//! Recently seen users: the keyed hash of each token, when it was last seen, and when the
//! upstream last accepted it.
//!
//! Two uses: shared-scope entries (identity, Jellyfin images) are served only to a token the
//! upstream accepted within `token_trust`; and warming runs the configured warm list for the users
//! seen recently, which needs their token. Tokens live here in memory only — never in a key, a log
//! line, a metric label or a file.
//!
//! Refusals outlive a restart: the keyed hashes of refused tokens (never the tokens) are kept
//! in a file per upstream ([`RefusalMarks`]), so a token revoked before a restart reads no
//! entry cached for it afterwards, before the server has refused it again.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use http::HeaderMap;
use rustc_hash::FxHashMap;

use crate::keys::UserHash;
use crate::parsed::ParsedAnswers;
use cachearr_dialect::Dialect;

/// Most users remembered per upstream; the least recently seen are forgotten first.
const MAX_USERS: usize = 10_000;

/// How finely a user's last request is kept: the time is written again only once it moved
/// this far. It orders which users are forgotten first and which were seen lately; written on
/// every request, it moved its cache line between the cores on every cached hit.
const SEEN_STEP_MS: u64 = 1_000;

/// One token of one upstream, and the server user it belongs to once the server has said so.
pub struct UserRecord {
    /// The keyed hash of the token: what refusals, acceptances and the table go by.
    pub hash: UserHash,
    /// The scope of the token's answers scoped to the user ([`Users::key_scope`]): the keyed
    /// hash of the server user's id ([`crate::secret::Secret::scope_of_user`]) once the server
    /// has said whose the token is ([`Users::confirm`]), shared by all that user's tokens;
    /// until then `hash` itself. Fixed for the record's life: a token confirmed later gets a
    /// new record in the table.
    pub scope: UserHash,
    /// `hash` as 32 hex digits.
    pub hash_hex: Arc<str>,
    /// The token (memory only).
    token: Arc<str>,
    /// The client's identity headers from its latest request, replayed by warming.
    identity: RwLock<HeaderMap>,
    /// Last request, engine clock ms (to [`SEEN_STEP_MS`]).
    last_seen_ms: AtomicU64,
    /// Forgotten by its upstream's table (a newer record of the same token may be there).
    forgotten: AtomicBool,
    /// Last 2xx from the upstream for this token on a route the upstream authenticates,
    /// engine clock ms (0: never, or refused since).
    accepted_ms: AtomicU64,
    /// The upstream's last verdict on this token was a refusal (401): no cached answer
    /// goes to it, fresh or stale, until the upstream accepts it again.
    refused: AtomicBool,
    /// The user's play-state tag, built once from `scope` (so a user's tokens share it).
    pub state_tag: Arc<str>,
    /// Carried by every answer of the user's that shows play state, listings and items
    /// alike; bumped once, when the play-state watch has read the user's state for the first
    /// time in this process (the library copy's `play_watch`, which says why that is safe
    /// and costs only what was filled moments before).
    pub watch_tag: Arc<str>,
    /// Carried by every answer kept in the user's scope, whatever it shows: bumped when what
    /// the user may see changes (a restriction changed on the server), which can change any
    /// answer of theirs, views and counts included.
    pub scope_tag: Arc<str>,
    /// When an answer of the user's that shows play state was last read (engine clock ms, to
    /// [`SEEN_STEP_MS`]; 0: never): the play-state watch follows only users read lately.
    play_read_ms: AtomicU64,
    /// What the play-state watch last read of the user (the library copy's `play_watch`),
    /// shared by the records of one `scope`.
    pub play_lists: Arc<Mutex<PlayLists>>,
    /// The server's id of the token's user (Jellyfin `/Users/Me` `Id`, a sign-in's `User`),
    /// once asked or seen: a token belongs to one user for its whole life.
    server_user_id: tokio::sync::OnceCell<Arc<str>>,
    /// Which user the server's answers to routes naming one (Emby's `/Users/{id}/…`) said the
    /// token may read as ([`UserRecord::note_named_user`]).
    named_user: Mutex<NamedUser>,
    /// What the server's route only administrators are answered said of the token, once
    /// asked ([`UserRecord::note_administrator`]): 0 not asked, 1 refused (no
    /// administrator's), 2 answered (an administrator's or an API key).
    administrator: std::sync::atomic::AtomicU8,
    /// Where this upstream keeps refusals across restarts, if anywhere.
    marks: Option<Arc<RefusalMarks>>,
    /// What was derived from this user's cached answers ([`ParsedAnswers`]), shared by the
    /// records of one `scope`.
    pub answers: Arc<ParsedAnswers>,
}

/// What the server's answers to routes naming a user said of a token: the token is that user's
/// or an administrator's (who may read any user's routes) until something tells them apart.
#[derive(Debug, Default, Clone)]
enum NamedUser {
    /// No such answer yet.
    #[default]
    Unseen,
    /// Every route naming a user the server answered the token named this one.
    One(Arc<str>),
    /// The server answered the token two users' routes: an administrator's token (or an API
    /// key), whose user no such route says.
    NotTheirs,
}

/// What the play-state watch last read of one user (the library copy's `play_watch`).
#[derive(Debug, Default)]
pub struct PlayLists {
    /// Probed in the last round (active: answers showing play state read lately).
    pub watching: bool,
    /// The lists were read once in this process: a later reading is compared with them.
    pub baselined: bool,
    /// When the user's own probes were last read (engine clock ms).
    pub probed_ms: u64,
    /// By probe path.
    pub lists: FxHashMap<String, PlayList>,
    /// The sections the user's answers showing play state were filled from.
    pub filled: FilledSections,
    /// The sections whose state the watch has read for the user in this process, or taken up
    /// from a kept reading: every answer of theirs from one of them that is kept was loaded
    /// after a reading it is compared against. A section not among them is not probed.
    pub read: rustc_hash::FxHashSet<String>,
    /// Every section the user sees is among `read`, and the answers naming no section (their
    /// `{watch}/*` tag) were dropped since.
    pub all_read: bool,
    /// The user's first reading was of probes spanning every library (Jellyfin's, Emby's):
    /// every section is read with it, whether or not its id was ever listed in `read`.
    pub every_section: bool,
    /// The sections the user's answers were read or filled from in this process: each waits
    /// for its first reading until it is in `read`.
    pub wanted: WantedSections,
    /// The lists were taken up from a kept reading and the sections they cover are not told
    /// apart yet (`read` is set from them at the user's next round).
    pub restored: bool,
    /// The user's last round failed (their sections or a probe could not be had): a read
    /// does not wait for a first reading then, which may not come soon.
    pub failing: bool,
    /// The whole lists the user's probes found empty when last read, by path: when (engine
    /// clock ms, and the cache's stamp of that moment) and the probe's answer, which reads as
    /// a list of no items. The library copy writes a user's play state from those lists; one
    /// its probe found empty moments ago, with no change dropped from the cache since, is
    /// not read again (a returning user's pass starts with the probes, then those reads).
    pub empty: FxHashMap<String, EmptyList>,
}

impl PlayLists {
    /// Whether a section the user's answers come from waits for its first reading.
    pub fn reading_wanted(&self) -> bool {
        (self.wanted.all && !self.all_read) || self.wanted.ids.iter().any(|id| !self.is_read(id))
    }

    /// Whether a read of `sections` (`None`: one naming none, so every section) waits for a
    /// first reading: one of them is not read yet, and the user's rounds are not failing.
    pub fn waits_for_reading(&self, sections: Option<&[String]>) -> bool {
        !self.failing
            && match sections {
                Some(ids) => ids.iter().any(|id| !self.is_read(id)),
                None => !self.all_read,
            }
    }

    /// Whether section `id` had its first reading in this process.
    pub fn is_read(&self, id: &str) -> bool {
        self.every_section || self.read.contains(id)
    }
}

/// The sections a user's answers were read or filled from ([`PlayLists::wanted`]).
#[derive(Debug, Default)]
pub struct WantedSections {
    /// An answer named no section, or too many were named: every section is wanted.
    pub all: bool,
    /// The sections' ids.
    pub ids: rustc_hash::FxHashSet<String>,
}

/// A whole list a probe found empty ([`PlayLists::empty`]).
#[derive(Debug, Clone)]
pub struct EmptyList {
    /// When the probe was read (engine clock ms).
    pub read_ms: u64,
    /// The cache's stamp of the moment before it was read: a tag bumped since (a play made
    /// through cachearr, a change event) makes it unusable.
    pub stamp: cachearr_engine::FetchStamp,
    /// The probe's answer (a page of the list, empty).
    pub body: bytes::Bytes,
}

/// The sections a user's answers showing play state were filled from since the play-state
/// watch's first reading of the user in this process dropped every earlier one: where a
/// returning user's cached answers can be, so the only sections their return must probe.
#[derive(Debug)]
pub struct FilledSections {
    /// Not known (answers kept from before, or one that did not say its sections): every
    /// section counts.
    pub all: bool,
    /// The sections' ids, when not `all`.
    pub ids: rustc_hash::FxHashSet<String>,
}

/// Most sections told apart; past it, every section counts.
const MAX_FILLED_SECTIONS: usize = 256;

impl Default for FilledSections {
    /// Nothing known yet: every section counts.
    fn default() -> Self {
        FilledSections {
            all: true,
            ids: rustc_hash::FxHashSet::default(),
        }
    }
}

impl FilledSections {
    /// None yet: what the watch's first reading of the user leaves (everything filled before
    /// it is dropped).
    pub fn none() -> Self {
        FilledSections {
            all: false,
            ids: rustc_hash::FxHashSet::default(),
        }
    }

    /// Whether answers from section `id` may be cached.
    pub fn holds(&self, id: &str) -> bool {
        self.all || self.ids.contains(id)
    }

    /// An answer showing the items of `sections` was filled (`None`: it did not say which).
    pub fn note(&mut self, sections: Option<Vec<String>>) {
        if self.all {
            return;
        }
        match sections {
            Some(ids) if self.ids.len() + ids.len() <= MAX_FILLED_SECTIONS => self.ids.extend(ids),
            _ => {
                self.all = true;
                self.ids.clear();
            }
        }
    }
}

/// One play-state probe's last answer and the whole list it pages.
#[derive(Debug)]
pub struct PlayList {
    /// The hash of the probe's answer ([`UNKNOWN_STATE`]: read the list whole next time).
    pub probe: u64,
    /// Each item's play-state hash and parents, by id.
    pub items: FxHashMap<String, (u64, Vec<String>)>,
}

/// A state no reading has: what a write through cachearr leaves its items at, so the next
/// reading of their list finds them changed whatever it shows.
pub const UNKNOWN_STATE: u64 = u64::MAX;

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("hash", &self.hash_hex)
            .field("confirmed", &self.is_confirmed())
            .field("last_seen_ms", &self.last_seen_ms.load(Ordering::Relaxed))
            .field("accepted_ms", &self.accepted_ms.load(Ordering::Relaxed))
            .field("refused", &self.refused.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    /// A record of `token` (hashed `hash`) in `scope`; `mate`: a record of the same scope,
    /// whose per-user state this one shares.
    fn new(
        upstream: &str,
        (hash, token): (UserHash, &str),
        (scope, mate): (UserHash, Option<&UserRecord>),
        now_ms: u64,
        marks: Option<Arc<RefusalMarks>>,
    ) -> Arc<UserRecord> {
        let refused = marks.as_ref().is_some_and(|m| m.holds(hash));
        let hash_hex: Arc<str> = Arc::from(hash.to_string());
        let scope_hex = scope.to_string();
        Arc::new(UserRecord {
            hash,
            scope,
            state_tag: Arc::from(cachearr_dialect::tags::user_state(upstream, &scope_hex)),
            watch_tag: Arc::from(cachearr_dialect::tags::user_watch(upstream, &scope_hex)),
            scope_tag: Arc::from(cachearr_dialect::tags::user_scope(upstream, &scope_hex)),
            play_lists: mate.map_or_else(Arc::default, |m| m.play_lists.clone()),
            play_read_ms: AtomicU64::new(0),
            hash_hex,
            token: Arc::from(token),
            identity: RwLock::new(HeaderMap::new()),
            last_seen_ms: AtomicU64::new(now_ms),
            forgotten: AtomicBool::new(false),
            accepted_ms: AtomicU64::new(0),
            refused: AtomicBool::new(refused),
            server_user_id: tokio::sync::OnceCell::new(),
            named_user: Mutex::new(NamedUser::Unseen),
            administrator: std::sync::atomic::AtomicU8::new(0),
            marks,
            answers: mate.map_or_else(Arc::default, |m| m.answers.clone()),
        })
    }

    /// Whether the server has said which user the token is ([`Users::confirm`]).
    pub fn is_confirmed(&self) -> bool {
        self.scope != self.hash
    }

    /// Whether the upstream's table no longer holds this record: forgotten as the oldest, or
    /// replaced by the token's record in another scope ([`Users::confirm`]).
    pub fn is_forgotten(&self) -> bool {
        self.forgotten.load(Ordering::Relaxed)
    }

    /// Whether nothing says whose the token is (neither confirmed nor its server id learnt):
    /// a change to any user may be a change to its user, so its scope goes with theirs.
    pub fn is_unnamed(&self) -> bool {
        !self.is_confirmed() && self.server_user_id().is_none()
    }

    /// A play-state write of the user's went through cachearr, touching the items of the
    /// [`cachearr_dialect::tags::plays`] tags among `tags`. Their answers were dropped and may be filled
    /// again at once with the state the write made, which the lists the play-state watch keeps
    /// never showed: a later change back (a mark as unplayed on another client after a mark as
    /// played through cachearr) would look like no change. So the items are marked unknown in
    /// every list of the user, and each list is read whole at the next round.
    pub fn note_play_write(&self, upstream: &str, tags: &[Arc<str>]) {
        let ids: Vec<&str> = tags
            .iter()
            .filter_map(|t| cachearr_dialect::tags::plays_item(upstream, t))
            .collect();
        if ids.is_empty() {
            return;
        }
        let mut book = self.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        for list in book.lists.values_mut() {
            list.probe = UNKNOWN_STATE;
            for id in &ids {
                list.items
                    .entry((*id).to_owned())
                    .and_modify(|(state, _)| *state = UNKNOWN_STATE)
                    .or_insert((UNKNOWN_STATE, Vec::new()));
            }
        }
    }

    /// What the user may see changed on the server (a policy, a share). The play-state
    /// watch's lists were read over what they saw before, and a probe counting over other
    /// items can come out the same (a favourite hidden by the change, another made on a
    /// client cachearr does not see): each list is read whole at the next round and compared
    /// item by item, and no list is known to be empty any more.
    pub fn note_visibility_changed(&self) {
        let mut book = self.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        for list in book.lists.values_mut() {
            list.probe = UNKNOWN_STATE;
        }
        book.empty.clear();
    }

    /// An answer of the user's that shows play state is read at `now_ms`. Gives when the
    /// previous one was (0: never), so that the reader can wake the play-state watch for a
    /// user who was not active. Written only once the time moved `SEEN_STEP_MS` on, as
    /// the time last seen.
    pub fn note_play_read(&self, now_ms: u64) -> u64 {
        let before = self.play_read_ms.load(Ordering::Relaxed);
        if now_ms >= before + SEEN_STEP_MS {
            self.play_read_ms.store(now_ms.max(1), Ordering::Relaxed);
        }
        before
    }

    /// An answer of the user's about library content (`body`, a 2xx) is stored: notes the
    /// sections it shows, as `dialect` reads them ([`FilledSections`], [`Self::note_sections`]),
    /// and gives the watch tags it carries for them ([`Self::section_watch_tags`]) and whether
    /// one of them waits for its first reading.
    pub fn note_filled(&self, dialect: &dyn Dialect, body: &[u8]) -> (Vec<Arc<str>>, bool) {
        let sections = dialect.sections_shown(body);
        let wake = self.note_sections(sections.as_deref());
        let tags = self.section_watch_tags(sections.as_deref());
        self.play_lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .filled
            .note(sections);
        (tags, wake)
    }

    /// An answer of the user's showing the items of `sections` (`None`: it names none, so
    /// every section counts) is read or filled: notes them wanted ([`PlayLists::wanted`]).
    /// Whether one of them waits for its first reading and was not wanted before (the
    /// play-state watch is then woken).
    pub fn note_sections(&self, sections: Option<&[String]>) -> bool {
        let mut book = self.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        let book = &mut *book;
        // A section named is wanted by its id even once every section is: one the user does
        // not see is then read (as nothing) all the same, and stops waiting.
        match sections {
            Some(ids) if book.wanted.ids.len() + ids.len() <= MAX_FILLED_SECTIONS => {
                let mut new = false;
                for id in ids {
                    if !book.is_read(id) && !book.wanted.ids.contains(id) {
                        book.wanted.ids.insert(id.clone());
                        new = true;
                    }
                }
                new
            }
            _ if book.wanted.all => false,
            _ => {
                book.wanted.all = true;
                !book.all_read
            }
        }
    }

    /// The watch tags an answer of the user's showing the items of `sections` carries (`None`:
    /// it names none): one per section, or the one of answers naming none
    /// ([`cachearr_dialect::tags::user_section_watch`]). Each is bumped by the section's first
    /// reading, as `watch_tag` is by the user's.
    pub fn section_watch_tags(&self, sections: Option<&[String]>) -> Vec<Arc<str>> {
        let one = |id: Option<&str>| {
            Arc::from(cachearr_dialect::tags::user_section_watch(
                &self.watch_tag,
                id,
            ))
        };
        match sections {
            Some(ids) => ids.iter().map(|id| one(Some(id))).collect(),
            None => vec![one(None)],
        }
    }

    /// When an answer of the user's that shows play state was last read (engine clock ms, 0:
    /// never).
    pub fn play_read_ms(&self) -> u64 {
        self.play_read_ms.load(Ordering::Relaxed)
    }

    /// A record of a token that is not counted among the seen users (nor warmed for): the
    /// owner's configured token, for reads cachearr makes on its own account.
    pub fn unlisted(upstream: &str, hash: UserHash, token: &str) -> Arc<UserRecord> {
        UserRecord::new(upstream, (hash, token), (hash, None), 0, None)
    }

    /// The token, for requests made on the user's behalf (warming, prefetch).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The client-identity headers to send with requests made on the user's behalf.
    pub fn identity_headers(&self) -> HeaderMap {
        self.identity
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Marks the user seen at `now_ms`, written only once it moved [`SEEN_STEP_MS`] on.
    fn mark_seen(&self, now_ms: u64) {
        if now_ms >= self.last_seen_ms.load(Ordering::Relaxed) + SEEN_STEP_MS {
            self.last_seen_ms.store(now_ms, Ordering::Relaxed);
        }
    }

    /// When the user was last seen (engine clock ms, to a second).
    pub fn last_seen_ms(&self) -> u64 {
        self.last_seen_ms.load(Ordering::Relaxed)
    }

    /// When the upstream last accepted the token (engine clock ms, 0 if never).
    pub fn accepted_ms(&self) -> u64 {
        self.accepted_ms.load(Ordering::Relaxed)
    }

    /// The server's id of the token's user, if learnt ([`UserRecord::server_user_id_or`]).
    pub fn server_user_id(&self) -> Option<Arc<str>> {
        self.server_user_id.get().cloned()
    }

    /// The server said which user the token is (a sign-in's answer names the user it hands
    /// the token to): later asks need not ask. An id already known stays.
    pub fn note_server_user_id(&self, id: &str) {
        let _ = self.server_user_id.set(Arc::from(id));
    }

    /// The server answered the token a GET of a route only user `id` and administrators are
    /// answered (Emby's `/Users/{id}/…`): the token is that user's, unless it is an
    /// administrator's ([`UserRecord::named_user`]).
    pub fn note_named_user(&self, id: &str) {
        let mut named = self.named_user.lock().unwrap_or_else(|e| e.into_inner());
        *named = match &*named {
            NamedUser::Unseen => NamedUser::One(Arc::from(id)),
            NamedUser::One(seen) if seen.eq_ignore_ascii_case(id) => return,
            NamedUser::One(_) | NamedUser::NotTheirs => NamedUser::NotTheirs,
        };
    }

    /// The server answered (`true`) or refused (`false`, a 403) the token a route only
    /// administrators and API keys are answered. Answered, no route naming a user says whose
    /// the token is.
    pub fn note_administrator(&self, answered: bool) {
        let state = if answered { 2 } else { 1 };
        self.administrator.store(state, Ordering::Relaxed);
    }

    /// Whether the server answered the token its route only administrators are answered
    /// (`None`: not asked yet).
    pub fn administrator(&self) -> Option<bool> {
        match self.administrator.load(Ordering::Relaxed) {
            0 => None,
            state => Some(state == 2),
        }
    }

    /// The one user whose routes the server answered the token, while nothing says it is an
    /// administrator's: its own user, once a route only administrators are answered refuses
    /// it.
    pub fn named_user(&self) -> Option<Arc<str>> {
        if self.administrator() == Some(true) {
            return None;
        }
        match &*self.named_user.lock().unwrap_or_else(|e| e.into_inner()) {
            NamedUser::One(id) => Some(id.clone()),
            NamedUser::Unseen | NamedUser::NotTheirs => None,
        }
    }

    /// The server's id of the token's user, asked with `ask` the first time: concurrent
    /// callers wait for that one answer instead of each asking (a failed ask is not kept).
    pub async fn server_user_id_or<F>(&self, ask: F) -> Option<Arc<str>>
    where
        F: std::future::Future<Output = Option<Arc<str>>>,
    {
        self.server_user_id
            .get_or_try_init(|| async { ask.await.ok_or(()) })
            .await
            .ok()
            .cloned()
    }

    /// Whether the upstream refused the token last (see [`Users::refused`]).
    pub fn is_refused(&self) -> bool {
        self.refused.load(Ordering::Acquire)
    }
}

/// The users of one upstream.
#[derive(Debug, Default)]
pub struct Users {
    /// FxHash: the keys are keyed hashes of tokens (secret to clients), so they cannot be
    /// chosen to collide.
    map: RwLock<FxHashMap<UserHash, Arc<UserRecord>>>,
    /// Refusals kept across restarts ([`Users::keep_refusals_in`]).
    marks: OnceLock<Arc<RefusalMarks>>,
    /// Whose each confirmed token is ([`Users::confirm`]): a token's hash to its user's scope,
    /// both keyed hashes, in memory only; for a record made again after the table forgot it.
    confirmed: Mutex<Confirmed>,
}

/// Forgets the least recently seen user when the table holds [`MAX_USERS`], before one is
/// added.
fn make_room(map: &mut FxHashMap<UserHash, Arc<UserRecord>>) {
    if map.len() >= MAX_USERS
        && let Some(oldest) = map
            .values()
            // A refused token's mark is what keeps cached answers from it: forget users
            // the upstream accepts first, so new tokens cannot push a refusal out.
            .min_by_key(|u| (u.is_refused(), u.last_seen_ms.load(Ordering::Relaxed)))
            .map(|u| u.hash)
        && let Some(forgotten) = map.remove(&oldest)
    {
        forgotten.forgotten.store(true, Ordering::Relaxed);
    }
}

/// Tokens' hashes to their users' scopes, at most [`MAX_USERS`], the oldest forgotten first.
#[derive(Debug, Default)]
struct Confirmed {
    scope_of: FxHashMap<UserHash, UserHash>,
    order: VecDeque<UserHash>,
}

impl Confirmed {
    fn insert(&mut self, token: UserHash, scope: UserHash) {
        if self.scope_of.insert(token, scope).is_none() {
            self.order.push_back(token);
        }
        while self.order.len() > MAX_USERS {
            if let Some(oldest) = self.order.pop_front() {
                self.scope_of.remove(&oldest);
            }
        }
    }
}

impl Users {
    /// Keeps refusals in `path` from now on, reading those kept there before (at start, before
    /// any user is seen).
    pub fn keep_refusals_in(&self, path: PathBuf) {
        let _ = self.marks.set(Arc::new(RefusalMarks::load(path)));
    }

    /// The user `before`, found for an earlier request of the same token, marked seen at
    /// `now_ms`: the record itself while the table still holds it (a record leaves the table
    /// only when forgotten), else the user found or added again by [`Self::touch`]. A repeated
    /// request takes no lock for its user.
    pub fn touch_again(
        &self,
        upstream: &str,
        before: &Arc<UserRecord>,
        now_ms: u64,
    ) -> Arc<UserRecord> {
        if before.forgotten.load(Ordering::Relaxed) {
            return self.touch(upstream, before.hash, before.token(), now_ms);
        }
        before.mark_seen(now_ms);
        before.clone()
    }

    /// Finds or adds the user of `token` and marks them seen at `now_ms`.
    pub fn touch(
        &self,
        upstream: &str,
        hash: UserHash,
        token: &str,
        now_ms: u64,
    ) -> Arc<UserRecord> {
        if let Some(u) = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
        {
            // `mark_seen` written out, not called: `scripts/request-path` would count the call
            // as this module's work between a search's phases.
            if now_ms >= u.last_seen_ms.load(Ordering::Relaxed) + SEEN_STEP_MS {
                u.last_seen_ms.store(now_ms, Ordering::Relaxed);
            }
            return u.clone();
        }
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        make_room(&mut map);
        if let Some(u) = map.get(&hash) {
            return u.clone();
        }
        let scope = self
            .confirmed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scope_of
            .get(&hash)
            .copied()
            .unwrap_or(hash);
        let mate = (scope != hash)
            .then(|| map.values().find(|u| u.scope == scope).cloned())
            .flatten();
        let marks = self.marks.get().cloned();
        let user = UserRecord::new(
            upstream,
            (hash, token),
            (scope, mate.as_deref()),
            now_ms,
            marks,
        );
        map.insert(hash, user.clone());
        user
    }

    /// The server said, accepting `token` (hashed `hash`) at `now_ms`, which of its users the
    /// token is: `scope`, the keyed hash of that user's id on this upstream
    /// ([`crate::secret::Secret::scope_of_user`]). The server says so in a sign-in's answer
    /// (the token it hands out and whose it is), in the user's own record asked with the
    /// token, or by answering a route it answers only for its owner. From now on the token's
    /// answers scoped to the user are the user's, shared with the user's other confirmed
    /// tokens ([`Self::key_scope`]); the background work counts the user once
    /// ([`Self::seen_since`]). A record of the token in another scope is replaced (its
    /// acceptance, identity and last-seen time kept), so requests holding it find the new one.
    pub fn confirm(
        &self,
        upstream: &str,
        (hash, token): (UserHash, &str),
        scope: UserHash,
        now_ms: u64,
    ) -> Arc<UserRecord> {
        self.confirmed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash, scope);
        let user = {
            let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
            let before = map.get(&hash).cloned();
            match before {
                Some(held) if held.scope == scope => held,
                before => {
                    if before.is_none() {
                        make_room(&mut map);
                    }
                    let mate = map.values().find(|u| u.scope == scope).cloned();
                    let marks = self.marks.get().cloned();
                    let user = UserRecord::new(
                        upstream,
                        (hash, token),
                        (scope, mate.as_deref()),
                        now_ms,
                        marks,
                    );
                    if let Some(before) = before {
                        let identity = before.identity_headers();
                        *user.identity.write().unwrap_or_else(|e| e.into_inner()) = identity;
                        let seen = before.last_seen_ms().max(now_ms);
                        user.last_seen_ms.store(seen, Ordering::Relaxed);
                        before.forgotten.store(true, Ordering::Relaxed);
                    }
                    map.insert(hash, user.clone());
                    user
                }
            }
        };
        Users::accepted(&user, now_ms);
        user
    }

    /// The scope of `user`'s answers scoped to the user at `now_ms`: its server user's
    /// ([`UserRecord::scope`]) when the token is confirmed and the server accepted it within
    /// `trust_ms`, else the token's own hash, as for a token never confirmed. A token whose
    /// last acceptance is older reads only what was cached for itself until the server
    /// accepts it again, so a token revoked since reads nothing its user's other tokens
    /// cached after it.
    pub fn key_scope(user: &UserRecord, now_ms: u64, trust_ms: u64) -> UserHash {
        if user.is_confirmed() && Users::trusted(user, now_ms, trust_ms) {
            user.scope
        } else {
            user.hash
        }
    }

    /// Remembers the client-identity headers of the user's latest request (on misses only, to
    /// keep the hit path free of this copy): those the dialect says name the client, its
    /// `User-Agent` and `Accept`. Paging belongs to one request: warm and prefetch requests
    /// made on the user's behalf must not inherit the page the user asked for last.
    pub fn set_identity(user: &UserRecord, headers: &HeaderMap, dialect: &dyn Dialect) {
        let mut id = HeaderMap::new();
        for (name, value) in headers {
            let n = name.as_str();
            let keep = dialect.is_client_identity(n) || n == "user-agent" || n == "accept";
            if keep {
                id.append(name.clone(), value.clone());
            }
        }
        *user.identity.write().unwrap_or_else(|e| e.into_inner()) = id;
    }

    /// The upstream accepted this user's token at `now_ms` on a route it authenticates (a
    /// 2xx from an anonymous route proves nothing about the token).
    pub fn accepted(user: &UserRecord, now_ms: u64) {
        user.accepted_ms.store(now_ms, Ordering::Relaxed);
        if user.refused.swap(false, Ordering::AcqRel)
            && let Some(marks) = &user.marks
        {
            marks.set(user.hash, false);
        }
    }

    /// Reads what an upstream answer of `status` says of the token it was sent with: a 401 is
    /// a refusal of the token ([`Users::refused`]); a 2xx on a route the upstream
    /// authenticates is an acceptance. A 403 says nothing of the token: both servers answer it
    /// for a resource the token may not see (another user's items, an admin route), while an
    /// unknown, revoked or expired token gets a 401 from Plex and Jellyfin alike.
    ///
    /// `refuses_valid`: the route is one the server answers with a 401 to some valid tokens
    /// (Plex's settings, for all but the owner; its live sessions, for invited users). A 401
    /// there says nothing of the token either: read as a refusal, a shared user's settings
    /// read (Kometa reads them first) or sessions poll (a dashboard's every few seconds) would
    /// send every cached read of theirs to the server until the next acceptance. A revoked
    /// token is still refused on its next request anywhere else.
    pub fn record_verdict(
        user: &UserRecord,
        status: http::StatusCode,
        authenticates: bool,
        refuses_valid: bool,
        now_ms: u64,
    ) {
        if status == http::StatusCode::UNAUTHORIZED {
            if !refuses_valid {
                Users::refused(user);
            }
        } else if status.is_success() && authenticates {
            Users::accepted(user, now_ms);
        }
    }

    /// The upstream refused this user's token (401): no cached answer — user or shared,
    /// fresh or stale — goes to it until the upstream accepts it again.
    pub fn refused(user: &UserRecord) {
        user.accepted_ms.store(0, Ordering::Relaxed);
        if !user.refused.swap(true, Ordering::AcqRel)
            && let Some(marks) = &user.marks
        {
            marks.set(user.hash, true);
        }
    }

    /// Whether the token was accepted within `trust_ms` of `now_ms`.
    pub fn trusted(user: &UserRecord, now_ms: u64, trust_ms: u64) -> bool {
        let a = user.accepted_ms.load(Ordering::Relaxed);
        a != 0 && now_ms.saturating_sub(a) <= trust_ms
    }

    /// Every user remembered.
    pub fn all(&self) -> Vec<Arc<UserRecord>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Users seen since `since_ms`, most recent first: one record per user
    /// ([`UserRecord::scope`]), the user's most recently seen token the server has not refused
    /// (a refused one only when all are), so that N tokens of one user are one user to the
    /// background work.
    pub fn seen_since(&self, since_ms: u64) -> Vec<Arc<UserRecord>> {
        let mut v: Vec<_> = self
            .map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|u| u.last_seen_ms.load(Ordering::Relaxed) >= since_ms)
            .cloned()
            .collect();
        v.sort_by_key(|u| {
            (
                u.is_refused(),
                std::cmp::Reverse(u.last_seen_ms.load(Ordering::Relaxed)),
            )
        });
        let mut users = rustc_hash::FxHashSet::default();
        v.retain(|u| users.insert(u.scope));
        v.sort_by_key(|u| std::cmp::Reverse(u.last_seen_ms.load(Ordering::Relaxed)));
        v
    }

    /// Finds a user by hash.
    pub fn get(&self, hash: UserHash) -> Option<Arc<UserRecord>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            .cloned()
    }
}

/// The keyed hashes of one upstream's refused tokens, kept in a file (one 32-hex-digit hash a
/// line, mode 0600 like every file in the data directory) so that refusals outlive a restart.
/// At most as many as users are remembered (10,000) are kept, the oldest forgotten first. The file is rewritten (to a
/// temporary file, then renamed) at most once a second, by a task, so a flood of refused
/// tokens costs one small write a second; outside a runtime (tests, tools) it is written at
/// once.
pub struct RefusalMarks {
    path: PathBuf,
    held: Mutex<VecDeque<UserHash>>,
    write_pending: AtomicBool,
}

impl std::fmt::Debug for RefusalMarks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusalMarks")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RefusalMarks {
    /// The marks kept in `path` (none if it is missing; lines that are not a hash are skipped).
    pub fn load(path: PathBuf) -> RefusalMarks {
        let held: VecDeque<UserHash> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| u128::from_str_radix(line.trim(), 16).ok())
            .map(UserHash)
            .take(MAX_USERS)
            .collect();
        RefusalMarks {
            path,
            held: Mutex::new(held),
            write_pending: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<UserHash>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `hash` is marked refused.
    pub fn holds(&self, hash: UserHash) -> bool {
        self.lock().contains(&hash)
    }

    /// Marks `hash` refused or not, and has the file rewritten.
    pub fn set(self: &Arc<Self>, hash: UserHash, refused: bool) {
        {
            let mut held = self.lock();
            held.retain(|h| *h != hash);
            if refused {
                if held.len() >= MAX_USERS {
                    held.pop_front();
                }
                held.push_back(hash);
            }
        }
        if self.write_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let marks = Arc::clone(self);
                runtime.spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    let _ = tokio::task::spawn_blocking(move || marks.write()).await;
                });
            }
            Err(_) => self.write(),
        }
    }

    fn write(&self) {
        self.write_pending.store(false, Ordering::Release);
        let text: String = self.lock().iter().map(|h| format!("{h}\n")).collect();
        let tmp = self.path.with_extension("refused.tmp");
        let written = (|| -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            std::io::Write::write_all(&mut opts.open(&tmp)?, text.as_bytes())?;
            std::fs::rename(&tmp, &self.path)
        })();
        if let Err(error) = written {
            tracing::warn!(
                path = %self.path.display(),
                %error,
                "cannot keep token refusals on disk: a token refused now may read cached \
                 answers after a restart until the server refuses it again"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeated request takes the user's record again while the table holds it; once the
    /// table forgot it, the token's user is found again there, so a refusal marked on the
    /// table's record is not missed.
    #[test]
    fn a_user_is_taken_again_only_while_the_table_holds_the_record() {
        let users = Users::default();
        let first = users.touch("plex", UserHash(1), "first-token", 0);
        let again = users.touch_again("plex", &first, 5_000);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.last_seen_ms(), 5_000);
        // Seen again within a second: the time is not written.
        users.touch_again("plex", &first, 5_500);
        assert_eq!(first.last_seen_ms(), 5_000);
        // Others seen since push the first user out: the least recently seen go first.
        for n in 2..=MAX_USERS as u64 + 1 {
            users.touch("plex", UserHash(n.into()), "other", 10_000);
        }
        assert!(
            users.get(UserHash(1)).is_none(),
            "the first user is forgotten"
        );
        let found = users.touch_again("plex", &first, 20_000);
        assert!(
            !Arc::ptr_eq(&first, &found),
            "a forgotten record taken again"
        );
        assert!(Arc::ptr_eq(&found, &users.get(UserHash(1)).unwrap()));
        Users::refused(&found);
        assert!(users.touch_again("plex", &found, 21_000).is_refused());
    }

    /// Tokens the server confirmed as one user share that user's scope, tags and per-user
    /// state and are one user to the background work; another user's never; a confirmation
    /// replaces the token's per-token record; the sharing holds only while the token's last
    /// acceptance is within the trust.
    #[test]
    fn tokens_of_one_user_are_one_user_and_trust_bounds_the_sharing() {
        let users = Users::default();
        let (one, two, other) = (UserHash(1), UserHash(2), UserHash(3));
        let (alice, bob) = (UserHash(100), UserHash(200));
        let before = users.touch("jf", one, "token-1", 5);
        assert!(!before.is_confirmed());
        assert_eq!(Users::key_scope(&before, 5, 1_000), one);

        let first = users.confirm("jf", (one, "token-1"), alice, 10);
        assert!(first.is_confirmed() && !Arc::ptr_eq(&before, &first));
        assert!(Arc::ptr_eq(&users.touch_again("jf", &before, 11), &first));
        assert_eq!(Users::key_scope(&first, 10, 1_000), alice);
        // A token first seen in its sign-in's answer.
        let second = users.confirm("jf", (two, "token-2"), alice, 20);
        assert!(Arc::ptr_eq(&second.play_lists, &first.play_lists));
        assert!(Arc::ptr_eq(&second.answers, &first.answers));
        assert_eq!(
            (&second.state_tag, &second.watch_tag),
            (&first.state_tag, &first.watch_tag)
        );
        let third = users.confirm("jf", (other, "token-3"), bob, 30);
        assert!(!Arc::ptr_eq(&third.play_lists, &first.play_lists));
        assert_ne!(third.state_tag, first.state_tag);
        assert_ne!(Users::key_scope(&third, 30, 1_000), alice);

        let seen: Vec<UserHash> = users.seen_since(0).iter().map(|u| u.hash).collect();
        assert_eq!(
            seen,
            [other, two],
            "one record per user, the latest token's"
        );
        Users::refused(&second);
        let seen: Vec<UserHash> = users.seen_since(0).iter().map(|u| u.hash).collect();
        assert_eq!(
            seen,
            [other, one],
            "a refused token stands for its user last"
        );

        // Not accepted within the trust: the token's own scope again, until accepted.
        assert_eq!(Users::key_scope(&first, 1_011, 1_000), one);
        Users::accepted(&first, 1_011);
        assert_eq!(Users::key_scope(&first, 1_011, 1_000), alice);
        // A refused token keeps its own hash for its marks; its standing is refused.
        assert!(second.is_refused() && second.hash == two);

        // Sign-ins beyond the table's size push the least recently seen out, as requests do.
        for n in 10..MAX_USERS as u128 + 20 {
            users.confirm("jf", (UserHash(n), "minted"), alice, 2_000 + n as u64);
        }
        assert_eq!(users.all().len(), MAX_USERS);
    }

    #[test]
    fn a_401_on_an_owner_only_route_says_nothing_of_the_token() {
        let users = Users::default();
        let user = users.touch("plex", UserHash(7), "shared-token", 1);
        Users::record_verdict(&user, http::StatusCode::OK, true, false, 5);
        // A shared user reading the server's settings: refused as not the owner.
        Users::record_verdict(&user, http::StatusCode::UNAUTHORIZED, true, true, 6);
        assert!(!user.is_refused());
        assert!(Users::trusted(&user, 6, 10));
        // The same status anywhere else is a refused token.
        Users::record_verdict(&user, http::StatusCode::UNAUTHORIZED, true, false, 7);
        assert!(user.is_refused());
        assert!(!Users::trusted(&user, 7, 10));
    }

    #[test]
    fn a_refusal_outlives_a_restart_and_an_acceptance_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library/plex.refused");
        let (revoked, fine) = (UserHash(0xdead_beef), UserHash(42));
        let users = Users::default();
        users.keep_refusals_in(path.clone());
        let user = users.touch("plex", revoked, "revoked-token", 1);
        users.touch("plex", fine, "fine-token", 1);
        Users::refused(&user);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{revoked}\n"));
        assert!(!text.contains("revoked-token"), "a token in a file");

        // After a restart: the revoked token is refused before the server says so again.
        let restarted = Users::default();
        restarted.keep_refusals_in(path.clone());
        assert!(
            restarted
                .touch("plex", revoked, "revoked-token", 2)
                .is_refused()
        );
        assert!(!restarted.touch("plex", fine, "fine-token", 2).is_refused());

        // Accepted again: the mark goes, and stays gone after the next restart.
        Users::accepted(&restarted.touch("plex", revoked, "revoked-token", 3), 3);
        let again = Users::default();
        again.keep_refusals_in(path.clone());
        assert!(
            !again
                .touch("plex", revoked, "revoked-token", 4)
                .is_refused()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");

        // A damaged file costs the marks it held, not the start.
        std::fs::write(&path, "not a hash\n\u{0}\u{1}\n").unwrap();
        let damaged = Users::default();
        damaged.keep_refusals_in(path);
        assert!(
            !damaged
                .touch("plex", revoked, "revoked-token", 5)
                .is_refused()
        );
    }
}
