//! cachearr-dialect: what cachearr knows of each media server, and the words it says it in.
//! Every name of Plex or Jellyfin, every route, header, token form, JSON field and event
//! message of theirs the gateway needs is written here; no other crate of the gateway names a
//! server but where `scripts/server-names` still allows it (the configuration's
//! `--plex`/`--jellyfin` options and its example), and that count only goes down. The
//! simulator and the formats both share (`cachearr-serverfmt`) speak the servers' words by
//! design. The crate does no I/O: it reads and writes requests, answers and messages handed
//! to it, and the gateway does the rest.
//!
//! [`Dialect`] is what differs between Plex and Jellyfin: how the server reads a request's
//! token, its built-in route table, how its change events read, how its query parameters
//! enter a cache key, which listings trigger a prefetch and what they name, how a client names
//! itself, and how the library index reads the server ([`DialectFacts::library`]). [`of`] gives an
//! upstream's dialect from its [`Profile`], once; each is a unit struct behind a
//! `&'static dyn Dialect` (a call through a vtable, no allocation, no lookup).
//!
//! # Map
//! * This file — [`Profile`], the [`Dialect`] trait and what it returns ([`KeyRules`],
//!   [`ClientParams`], [`Trigger`], [`PagedListing`], …), and [`identity`]: who a request is,
//!   as the server will see it: no token, one token, or **ambiguous** (two different tokens in
//!   any forms). Every part of cachearr that needs the requesting user (proxy, index answers,
//!   matching, keys, logs) calls it; the proxy reads a request it has not seen before once,
//!   through [`caller`]: its identity, the name its client goes by ([`client_name`]) and the
//!   prefetch its path triggers.
//! * [`plex`] / [`jellyfin`] / [`emby`] — the implementations, one folder each (Emby's holds
//!   only what differs from Jellyfin's, whose API forked from it) (`token.rs`: the
//!   server's reading of a token, with its precedence and quoting; `routes.rs`: its route
//!   table; `events.rs`: its webhooks and notification socket; `prefetch.rs`: its follow-ups;
//!   `crawl.rs`: its [`ServerLibrary`], the pages the index reads and how their answers read).
//! * [`http_api`] — any HTTP API (`profile = "http"`): no server rules, the HTTP caching
//!   standard's ([`DialectFacts::caches_by_the_standard`]); a null [`ServerLibrary`] and events.
//! * [`answers`] — [`CopyAnswers`], how the library copy's answers (`cachearr-copy`'s
//!   `upstream_index::answer`) are framed for a server: how a search's path and query read
//!   ([`answers::SearchRoutes`], each server's `search_route.rs`), how a request names its page, what a page's container and
//!   headers say of it, how `type=` names a kind, where a token's own user id is read, a
//!   section's natural order, how a series walk's request reads ([`answers::SeriesWalk`]),
//!   and each server's searches answered from the copy `cachearr-copy` hands in
//!   ([`answers::CopyView`]); a trait object of its own ([`DialectFacts::answers`]),
//!   implemented in `plex/answer.rs` and `jellyfin/answer.rs`.
//! * [`answer_body`] — [`answer_body::AnswerBody`], an answer from the copy before the asking
//!   user's own state is put in (a document tree, items kept written in halves, kept
//!   documents, or a text), and its writing with that state by the server's rules
//!   (`plex/user_state.rs`, `jellyfin/user_state.rs`), read through the copy's
//!   [`ReadAsUser`]: generic functions the copy calls with its reader, so that no trait
//!   object has to carry a generic read.
//! * [`library`] — [`ServerLibrary`], what the library index asks of every server (sections,
//!   pages of items, items by id, a user's sections, totals), a trait object of its own
//!   beside [`Dialect`] (its module docs say why). `server_json.rs`: the lenient reading of
//!   the servers' JSON that both implementations share.
//! * [`nested`] — tokens hidden in query values (a whole URL with `?X-Plex-Token=` inside
//!   `url=`, at any percent-encoding depth): found for [`identity`], removed from keys and logs.
//! * [`model`] — the vocabulary the dialects and the gateway's route table share: [`Class`],
//!   [`Scope`], the words a route table is written in ([`model::route`]) and the library
//!   index's sections ([`model::library`]). A leaf.
//! * [`events`] — server-neutral change events ([`events::ChangeEvent`]) and what each server's
//!   webhooks and notification socket must say ([`events::ServerEvents`]); an event maps to the
//!   cache tags it touches.
//! * [`shares`] — [`shares::ShareService`]: where a server's shares and their filters are
//!   read when the server does not keep them itself (Plex: plex.tv), and how its answers read.
//! * [`tags`] — the tag vocabulary shared by the proxy and the event side
//!   (`{up}:item:{id}` …). A leaf.
//! * [`walk`] — [`WalkBatch`]: which reads are a walk's listing pages and single items, and
//!   how a page's single reads are asked for in one request (the gateway's `batch`).
//!
//! Why "ambiguous" exists: a cache keyed on one reading of the token while the server uses
//! another reading answers one user with another user's entry. Instead of betting on which
//! reading a given server version uses, every value that *any* reading could take is
//! collected (the server's forms, the other server's forms, names the server ignores,
//! authorization parameters read with and without quoting, nested tokens); two different
//! values and the request is passed through uncached.
//!
//! The dialect says what a server's routes are; compiling and matching them stays in the
//! gateway's `policy` (which asks [`of`] for them), in the words of [`model::route`].
//! Likewise the dialect reads its library's answers into the index's words (the leaf
//! [`model::library`]); the crawl, its journal and the index are the copy's (`cachearr-copy`).

pub mod answer_body;
pub mod answers;
pub mod emby;
pub mod events;
pub mod http_api;
pub mod jellyfin;
pub mod kept;
pub mod library;
pub mod model;
pub mod nested;
pub mod plex;
mod server_json;
pub mod shares;
pub mod tags;
pub mod walk;

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};
use serde::Deserialize;

pub use crate::answers::CopyAnswers;
use crate::events::ServerEvents;
use crate::model::route::DefaultRoutes;
use crate::model::{Class, Scope};
pub use library::ServerLibrary;
pub use walk::{IdAt, SingleRead, SingleShape, WalkBatch, WalkRead};

/// Which API an upstream speaks: the one name of a server outside its dialect (in the
/// configuration's `profile`), which [`of`] turns into its rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Plex Media Server.
    Plex,
    /// Jellyfin (paths are case-insensitive).
    Jellyfin,
    /// Emby (Jellyfin's ancestor: the same API with numeric item ids, its routes under
    /// `/emby/` too, its own notification socket).
    Emby,
    /// Any HTTP API, cached as the HTTP caching standard says (RFC 9111): the responses'
    /// own `Cache-Control`, `Expires`, validators and `Vary` decide.
    Http,
}

impl Profile {
    /// Every profile, in the order an operator's help lists them.
    pub const ALL: [Profile; 4] = [
        Profile::Plex,
        Profile::Jellyfin,
        Profile::Emby,
        Profile::Http,
    ];

    /// `plex`, `jellyfin`, `emby` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Plex => "plex",
            Profile::Jellyfin => "jellyfin",
            Profile::Emby => "emby",
            Profile::Http => "http",
        }
    }
}

/// An answer that tells which server user a token is ([`Dialect::who_answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoAnswer {
    /// A sign-in: the answer hands out a new token and names the user it is for.
    SignIn,
    /// The asking token's own user record.
    OwnUser,
}

/// What such an answer names ([`Dialect::read_who`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Named {
    /// The server's id of the user, in one canonical form (the same user always reads the
    /// same).
    pub user_id: String,
    /// The token a sign-in hands out (`None` for the asking token's own record).
    pub token: Option<String>,
}

/// Never shows the token.
impl std::fmt::Debug for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Named")
            .field("user_id", &self.user_id)
            .field("token", &self.token.as_ref().map(|_| ".."))
            .finish()
    }
}

/// The paths the gateway's `startup::check_upstream` asks an upstream.
#[derive(Debug, Clone, Copy)]
pub struct StartupProbes {
    /// Anonymous: the server is there and is what the profile says.
    pub identity: &'static str,
    /// Needs a token: a 401 refuses it.
    pub token: &'static str,
    /// Answers only the owner or an administrator: a 2xx says the token is theirs.
    pub owner: &'static str,
}

/// How a server says whose a token is and which libraries that user sees
/// ([`DialectFacts::user_routes`]).
#[derive(Debug, Clone, Copy)]
pub struct UserRoutes {
    /// The asking token's own user record, whose id is the token's user (Jellyfin's
    /// `/Users/Me`, read by [`answers::CopyAnswers::own_user_id`]): what a request naming a
    /// user ([`answers::SearchRoute::named_user`]) is compared with, and the user a user's
    /// play state is read for. `None`: the server has no such route (Emby reads `/Users/Me`
    /// as a user id and answers a 500), or its requests name no user besides the token's.
    pub own: Option<&'static str>,
    /// A route the server answers only its administrators (and API keys), refusing any other
    /// user with a 403: a token the server answered a route naming one user
    /// ([`Dialect::named_user`]) and refuses here is that user's own, where an administrator
    /// may read any user's routes. `None`: not needed ([`UserRoutes::own`] says it).
    pub admins_only: Option<&'static str>,
    /// How a token answered at [`UserRoutes::admins_only`] is told to be its server's one
    /// administrator's, where no route says whose a token is ([`SoleAdministrator`]). `None`:
    /// not told.
    pub sole_administrator: Option<SoleAdministrator>,
    /// The libraries a user sees, read with their token; `{user}` stands for the user's id on
    /// the server where the route names it (Emby's `/Users/{user}/Views`: a token whose user
    /// is not known has no such read).
    pub sections: &'static str,
}

/// How a token shown the user list of [`UserRoutes::admins_only`] is proven its server's one
/// administrator's: that list is shown only to administrators and API keys, so a token shown
/// it on a server with one administrator is that administrator's, or an API key (no user's).
/// The API keys are listed, by their tokens, at `keys` (administrators only): a token not
/// among them is the administrator's. Two administrators or more: nothing tells which.
#[derive(Debug, Clone, Copy)]
pub struct SoleAdministrator {
    /// The route listing the server's API keys with their tokens (Emby's `/Auth/Keys`).
    pub keys: &'static str,
    /// The ids of the administrators in the user list's answer (`None`: not read).
    pub administrators: fn(&[u8]) -> Option<Vec<String>>,
    /// Whether the answer of `keys` lists the token (`None`: not read).
    pub lists_key: fn(&[u8], &str) -> Option<bool>,
}

impl UserRoutes {
    /// The place of the user's id in [`UserRoutes::sections`].
    pub const USER: &'static str = "{user}";

    /// [`UserRoutes::sections`] for the user of server id `user_id` (`None` where the path
    /// names the user and the id is not known).
    pub fn sections_of(&self, user_id: Option<&str>) -> Option<String> {
        Self::path_for(self.sections, user_id).map(Cow::into_owned)
    }

    /// `path` for the user of server id `user_id`: its [`UserRoutes::USER`] replaced by the
    /// id (`None` where the path names the user and the id is not known); a path naming no
    /// user as it is.
    pub fn path_for<'p>(path: &'p str, user_id: Option<&str>) -> Option<Cow<'p, str>> {
        if !path.contains(Self::USER) {
            return Some(Cow::Borrowed(path));
        }
        Some(Cow::Owned(path.replace(Self::USER, user_id?)))
    }
}

/// Reads the release a server runs from an answer of its identity route
/// ([`DialectFacts::version_reader`]); `None`: the answer does not say.
pub type VersionReader = fn(identity: &[u8]) -> Option<String>;

/// What a server is as plain data, the same for every request ([`Dialect::facts`]): which
/// server, where its token goes, its built-in routes and key rules, the capabilities it
/// answers (events, library pages, answers from kept documents, search routes), how its walks
/// are batched and paged, what the startup check asks. Read through the methods of
/// `dyn Dialect` of the same names.
#[derive(Debug)]
pub struct DialectFacts {
    /// Which server.
    pub profile: Profile,
    /// The header a request made on a user's behalf carries their token in.
    pub token_header: HeaderName,
    /// The server's built-in routes, which the gateway's `policy::RouteTable` compiles with
    /// the upstream's overrides.
    pub routes: &'static DefaultRoutes,
    /// How the server's query parameters enter a cache key.
    pub key_rules: &'static KeyRules,
    /// Who may share a cached image by default: only its user unless the server serves
    /// images to anyone (an operator whose users all see everything can set
    /// `scope = "shared"`).
    pub image_scope: Scope,
    /// The paths warmed for each recently seen user by default (`[[upstream]] warm`);
    /// `{user}` stands for the user's id on the server ([`UserRoutes::USER`]): a user whose
    /// id is not known is not warmed such a path.
    pub default_warm: &'static [&'static str],
    /// The server's change events: where its webhooks carry them, its notification socket
    /// and how both read.
    pub events: &'static dyn ServerEvents,
    /// How the library index reads the server: its sections, pages of items, items by id,
    /// a user's sections (see [`library`]).
    pub library: &'static dyn ServerLibrary,
    /// How the library copy's answers are framed for the server (see [`answers`]); `None`
    /// for a server the copy does not answer.
    pub answers: Option<&'static dyn CopyAnswers>,
    /// How the server's searches read ([`answers::SearchRoutes`]); `None` for a server the
    /// copy does not answer.
    pub search_routes: Option<&'static dyn answers::SearchRoutes>,
    /// How a walk of single items after a listing page is batched (the gateway's `batch`).
    pub walk_batch: &'static WalkBatch,
    /// How the server pages its listings, for reading a walk's next pages in one request
    /// (`batch::windows`); `None`: pages are read as asked.
    pub paged_listing: Option<&'static PagedListing>,
    /// The paths the startup check asks (the gateway's `startup::check_upstream`).
    pub startup_probes: StartupProbes,
    /// Where a token's user and their libraries are read.
    pub user_routes: UserRoutes,
    /// How the release the server runs is read from an answer of its identity route
    /// ([`StartupProbes::identity`]; the reader's `None`: the body does not say). `None` for
    /// a server whose release the gateway does not follow. A server whose release changes
    /// under the gateway is answered afresh (`cachearr-gateway`'s `server_version`).
    pub version_reader: Option<VersionReader>,
    /// Whether the server matches its item ids without regard to case (events naming an id
    /// in capitals then concern the lowercased id the cache's tags carry).
    pub ids_ignore_case: bool,
    /// Whether every request is cached as the HTTP caching standard says (RFC 9111: the
    /// response's own lifetime, validators and `Vary`) instead of by a route table: the
    /// [`http_api`] dialect's way. None of the media servers'.
    pub caches_by_the_standard: bool,
    /// Lower-case prefixes the server answers every route under as it answers the route
    /// itself (Emby's `/emby`): a request's path is read without one ([`api_path`]), so that
    /// both spellings are one route, one key and one answer.
    pub route_prefixes: &'static [&'static str],
}

/// The server's facts read one by one, as the rest of the workspace asks them of an
/// upstream's dialect (`dialect::of(profile).routes()` …).
impl dyn Dialect {
    /// [`DialectFacts::profile`].
    pub fn profile(&self) -> Profile {
        self.facts().profile
    }

    /// [`DialectFacts::token_header`].
    pub fn token_header(&self) -> HeaderName {
        self.facts().token_header.clone()
    }

    /// [`DialectFacts::routes`].
    pub fn routes(&self) -> &'static DefaultRoutes {
        self.facts().routes
    }

    /// [`DialectFacts::key_rules`].
    pub fn key_rules(&self) -> &'static KeyRules {
        self.facts().key_rules
    }

    /// [`DialectFacts::image_scope`].
    pub fn image_scope(&self) -> Scope {
        self.facts().image_scope
    }

    /// [`DialectFacts::default_warm`].
    pub fn default_warm(&self) -> &'static [&'static str] {
        self.facts().default_warm
    }

    /// [`DialectFacts::events`].
    pub fn events(&self) -> &'static dyn ServerEvents {
        self.facts().events
    }

    /// [`DialectFacts::library`].
    pub fn library(&self) -> &'static dyn ServerLibrary {
        self.facts().library
    }

    /// [`DialectFacts::answers`].
    pub fn answers(&self) -> Option<&'static dyn CopyAnswers> {
        self.facts().answers
    }

    /// [`DialectFacts::search_routes`].
    pub fn search_routes(&self) -> Option<&'static dyn answers::SearchRoutes> {
        self.facts().search_routes
    }

    /// [`DialectFacts::walk_batch`].
    pub fn walk_batch(&self) -> &'static WalkBatch {
        self.facts().walk_batch
    }

    /// [`DialectFacts::paged_listing`].
    pub fn paged_listing(&self) -> Option<&'static PagedListing> {
        self.facts().paged_listing
    }

    /// [`DialectFacts::startup_probes`].
    pub fn startup_probes(&self) -> StartupProbes {
        self.facts().startup_probes
    }

    /// [`DialectFacts::user_routes`].
    pub fn user_routes(&self) -> UserRoutes {
        self.facts().user_routes
    }

    /// [`DialectFacts::version_reader`].
    pub fn version_reader(&self) -> Option<VersionReader> {
        self.facts().version_reader
    }

    /// [`DialectFacts::ids_ignore_case`].
    pub fn ids_ignore_case(&self) -> bool {
        self.facts().ids_ignore_case
    }

    /// [`DialectFacts::caches_by_the_standard`].
    pub fn caches_by_the_standard(&self) -> bool {
        self.facts().caches_by_the_standard
    }

    /// `path` without a leading [`DialectFacts::route_prefixes`] entry (any case, followed by
    /// `/`), as the server routes it; `None`: the path has none.
    pub fn api_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        api_path(self.facts().route_prefixes, path)
    }
}

/// `path` without the first of `prefixes` it starts with (any case) where a `/` follows it:
/// `/emby/Items` is `/Items`, `/embywebsocket` and `/emby` stay as they are.
pub fn api_path<'p>(prefixes: &[&str], path: &'p str) -> Option<&'p str> {
    prefixes.iter().find_map(|prefix| {
        let head = path.get(..prefix.len())?;
        let rest = &path[prefix.len()..];
        (head.eq_ignore_ascii_case(prefix) && rest.starts_with('/')).then_some(rest)
    })
}

/// One media server's rules. See the module docs; [`of`] gives an upstream's.
pub trait Dialect: Send + Sync + std::fmt::Debug + 'static {
    /// What the server is as plain data: the same for every request.
    fn facts(&self) -> &'static DialectFacts;

    /// The token the server takes from this request (`None`: it reads none); a reading that
    /// cannot be trusted is marked on `seen`.
    fn server_token<'a>(
        &self,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> Option<Cow<'a, str>>;

    /// The token the server at release `version` ([`DialectFacts::version_reader`]) takes
    /// from this request where that release reads fewer forms than [`Self::server_token`]
    /// (Jellyfin 12 refuses the legacy ones); `None`: the release reads what
    /// [`Self::server_token`] does.
    fn server_token_at<'a>(
        &self,
        _version: &str,
        _headers: &'a HeaderMap,
        _query: Option<&'a str>,
    ) -> Option<Option<Cow<'a, str>>> {
        None
    }

    /// The header and value a request cachearr makes itself (a crawl, a probe, a read on a
    /// user's behalf) carries `token` in: a form every release of the server reads. `None`
    /// for a token that cannot be written so.
    fn own_credential(&self, token: &http::HeaderValue) -> Option<(HeaderName, http::HeaderValue)> {
        Some((self.facts().token_header.clone(), token.clone()))
    }

    /// Whether the server checks the token on routes of `class`: only a 2xx from such a
    /// route proves a token.
    fn authenticates(&self, class: Class) -> bool;

    /// Whether the server answers a GET of `path` only for its owner, refusing every other
    /// valid token with a 401 (so that such a 401 says nothing of the token: see
    /// `cachearr-upstream`'s `users::Users::record_verdict`).
    fn owner_only(&self, _path: &str) -> bool {
        false
    }

    /// Whether the server answers a GET of `path` with a 401 to some tokens it accepts
    /// elsewhere (the owner-only routes, and routes closed to some kinds of user), so that
    /// such a 401 says nothing of the token. Unlike [`Dialect::owner_only`], a 2xx there does
    /// not say whose the token is.
    fn refuses_valid_tokens(&self, path: &str) -> bool {
        self.owner_only(path)
    }

    /// Whether a 2xx answer to `method path` tells which server user a token is, and how
    /// ([`WhoAnswer`]): what lets the tokens of one user share the answers scoped to the user
    /// (`cachearr-upstream`'s `users::Users::confirm`). `None`: it tells nothing of it.
    fn who_answer(&self, _method: &http::Method, _path: &str) -> Option<WhoAnswer> {
        None
    }

    /// The server user a 2xx answer of kind `kind` names ([`Self::who_answer`]), and for a
    /// sign-in the token it hands out; `None` for a body that does not read as such.
    fn read_who(&self, _kind: WhoAnswer, _body: &[u8]) -> Option<Named> {
        None
    }

    /// The server user a GET of `path` (the API's path, [`api_path`] applied) reads
    /// as, where the server answers it only for that user and its administrators (Emby's
    /// `/Users/{id}/…`): a 2xx to a token there says it is that user's or an administrator's,
    /// which [`UserRoutes::admins_only`] tells apart. `None`: the path names no user, or the
    /// server has [`UserRoutes::own`] to say whose a token is.
    fn named_user<'a>(&self, _path: &'a str) -> Option<&'a str> {
        None
    }

    /// Whether a GET of `path` is a listing whose follow-ups are worth prefetching.
    fn prefetch_trigger(&self, path: &str) -> Option<Trigger>;

    /// The paths to prefetch after a `trigger` listing at `path?query` answered `body`, at
    /// most `max` of them, in listing order.
    fn follow_ups(
        &self,
        trigger: Trigger,
        path: &str,
        query: Option<&str>,
        body: &[u8],
        max: usize,
    ) -> Vec<String>;

    /// The name a client gives itself in its request headers, if it gives one.
    fn client_name(&self, headers: &HeaderMap) -> Option<String>;

    /// The player a request comes from, as the server tells its sessions apart (Plex
    /// `X-Plex-Client-Identifier`; Jellyfin and Emby the authorization's `DeviceId`), if it
    /// says: two players of one user are two playbacks.
    fn player_id(&self, _headers: &HeaderMap, _query: Option<&str>) -> Option<String> {
        None
    }

    /// What the server reads of a request as it arrives, in one question: its token
    /// ([`Self::server_token`]), the client's own name ([`Self::client_name`]) and the
    /// prefetch its path triggers ([`Self::prefetch_trigger`]). Each dialect answers it
    /// itself, so that a request's reading enters the server's module once
    /// ([`ServerReading::of`] writes it).
    fn read_request<'a>(
        &self,
        path: &str,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> ServerReading<'a>;

    /// Requests whose answers, read as one user, change whenever that user's play state
    /// does (a play, a mark, a rating, a resume point, a favourite), each a page of one
    /// item or none with the whole list it pages: what the library copy's `play_watch` reads for
    /// every recently seen user, since the server tells cachearr of no such change made on another
    /// client. `sections` are those the user sees.
    fn play_state_probes(
        &self,
        sections: &crate::model::library::UserSections,
    ) -> Vec<crate::model::library::PlayStateProbe>;

    /// Whether [`Self::play_state_probes`] reads the user's sections (Plex's are per
    /// section). Where they span every library the user sees (Jellyfin's, Emby's), `play_watch`
    /// reads no sections for them: for a user new to cachearr that read is a request of its
    /// own, made while their tool's first read (its views) is still on its way.
    fn play_state_probes_by_section(&self) -> bool {
        true
    }

    /// The sections whose items an answer about library content shows, so that the library
    /// copy's `play_watch` knows which sections a user's cached answers come from (a returning
    /// user is probed there alone). `None`: the answer does not say, and every section counts.
    fn sections_shown(&self, _body: &[u8]) -> Option<Vec<String>> {
        None
    }

    /// The items of a whole play-state list's answer (JSON), `None` for an answer that is
    /// not such a list.
    fn play_state_items(&self, body: &[u8]) -> Option<Vec<crate::model::library::PlayStateItem>>;

    /// What a probe's answer (JSON, [`Self::play_state_probes`]) says of play state alone: how
    /// many items its list holds and the play state of those it shows, as one number — not
    /// their titles or anything else an edit changes, so that a renamed item leaves it as it
    /// was — and the whole list's count. `None` for an answer that is not such a page (the
    /// watch then compares the whole answer).
    fn play_state_digest(&self, _body: &[u8]) -> Option<crate::model::library::ProbeDigest> {
        None
    }

    /// The one request, read with the owner's token, that lists every user's plays newest
    /// first (Plex's play history, Jellyfin's activity log): from `cursor` on, page `start`
    /// of [`crate::model::library::PLAYS_PAGE`]; without a cursor, the newest play alone
    /// (where to start). `None`: the server has no such list, and each user's own probes
    /// ([`Self::play_state_probes`]) are all the play-state watch has.
    fn plays_since(
        &self,
        _cursor: Option<&crate::model::library::PlayCursor>,
        _start: usize,
    ) -> Option<String> {
        None
    }

    /// The plays of an answer to [`Self::plays_since`] (JSON), newest first; `None` for an
    /// answer that is not such a list.
    fn played_entries(&self, _body: &[u8]) -> Option<Vec<crate::model::library::PlayedEntry>> {
        None
    }

    /// Adds what the server expects on every request cachearr makes itself (the startup
    /// check, the index crawl, the copy's proofs) beside the token; `client` names the part
    /// of cachearr asking.
    fn mark_own_request(&self, _headers: &mut HeaderMap, _client: &'static str) {}

    /// Whether a request header says who the client is (its product, device, platform), so
    /// that requests made on that user's behalf (warming, prefetch) repeat it. Never a token,
    /// nor a header that belongs to one request (paging).
    fn is_client_identity(&self, _name: &str) -> bool {
        false
    }

    /// The ids of the items an answer `body` shows (`shown`) and of those it names as their
    /// parents, whose titles and artwork it repeats (`named`): what the change feed tags it
    /// with (`cachearr-upstream`'s `feed::value_tags`). None for a server without a library.
    fn items_shown(&self, _body: &[u8], _shown: &mut Vec<String>, _named: &mut Vec<String>) {}

    /// Where the server's shares and what each lets its user see are read (see [`shares`]);
    /// `None` for a server that keeps them itself.
    fn share_service(&self) -> Option<&'static dyn shares::ShareService> {
        None
    }
}

/// What a dialect writing the asking user's play state into an index answer asks of the
/// library (`upstream_index::user_state::AsUser`): a read of a path on the server as that user,
/// through the cache, fresh for a few seconds at most and parsed by `parse` once per version
/// of its body; `None` when it cannot be had (or would not be the user's own), and then the
/// answer is the server's to give. A trait of the dialect's, so that it imports no `library`.
pub trait ReadAsUser: Sync {
    /// The answer to a GET of `path` (with its query), parsed.
    fn read<T: std::any::Any + Send + Sync>(
        &self,
        path: String,
        parse: fn(&[u8]) -> Option<T>,
    ) -> impl std::future::Future<Output = Option<std::sync::Arc<T>>> + Send;

    /// The answers to GETs of `paths`, each parsed, in their order: every read an answer
    /// needs asked at once (classified, keyed and loaded together, where the reader can),
    /// rather than one after the other.
    fn read_all<T: std::any::Any + Send + Sync>(
        &self,
        paths: Vec<String>,
        parse: fn(&[u8]) -> Option<T>,
    ) -> impl std::future::Future<Output = Vec<Option<std::sync::Arc<T>>>> + Send {
        futures_util::future::join_all(paths.into_iter().map(move |path| self.read(path, parse)))
    }

    /// The user's own id on the server (where the dialect's
    /// [`UserRoutes::own`] says it, read
    /// with their token): what a server whose listings name their user is asked for that
    /// user's state with. `None` when it cannot be had.
    fn own_id(&self) -> impl std::future::Future<Output = Option<std::sync::Arc<str>>> + Send;

    /// One read whose answer holds the state of the answer's items, where the copy has one
    /// (Plex: `/library/metadata/{ids}` of the heads of the user's listings, for a count's one
    /// item): one request where the listings a section's state is read from are two or
    /// three per section and kind, and on a large section each a scan of the server's.
    /// `None`: the listings are read.
    fn items_read(&self) -> Option<&str> {
        None
    }
}

/// How a server pages a listing (`batch::windows`): which reads are pages of a walk,
/// where a page's first item and size are in its query, where its items are, and how a page's
/// frame names where it starts.
#[derive(Debug)]
pub struct PagedListing {
    /// Whether `path` is a listing a walk reads page after page.
    pub is_listing: fn(path: &str) -> bool,
    /// The page `query` asks: its first item's index and its size, when it names both.
    pub page_of: fn(query: &str) -> Option<(usize, usize)>,
    /// `query` asking for the page of `size` items from `start` instead, every other
    /// parameter as written.
    pub with_page: fn(query: &str, start: usize, size: usize) -> Option<String>,
    /// The property path to the items array of a JSON answer.
    pub json_items: &'static [&'static str],
    /// The frame of the page of `to.1` items from `to.0`, from the frame of the page of
    /// `from.1` items from `from.0` (both pages of the listing `query` reads); `None` when it
    /// cannot be written.
    pub reframe: Reframe,
    /// The listing's whole count as the frame of a page of `query` gives it, when it does.
    pub total: fn(frame: PageFrame<'_>, query: &str) -> Option<usize>,
    /// Whether `query` counts a listing (one item and the count, no place): what a sync
    /// asks before walking that listing's pages.
    pub announces: fn(query: &str) -> bool,
    /// The listing `query` reads, whatever page, size and counting it asks: a count and the
    /// pages of the walk it announces read the same one.
    pub listing_of: fn(query: &str) -> String,
}

/// A page's frame: the bytes before its first item and after its last.
#[derive(Debug, Clone, Copy)]
pub struct PageFrame<'a> {
    /// The bytes before the first item.
    pub head: &'a [u8],
    /// The bytes after the last item.
    pub tail: &'a [u8],
}

/// A page's frame written anew: the bytes before its first item and after its last.
pub type PageFrameOwned = (Vec<u8>, Vec<u8>);

/// [`PagedListing::reframe`]: from the frame of the page at `from` (its start and item count)
/// of the listing `query` reads, the frame of the page at `to`.
pub type Reframe = fn(
    frame: PageFrame<'_>,
    query: &str,
    from: (usize, usize),
    to: (usize, usize),
) -> Option<PageFrameOwned>;

/// The dialect of an upstream of `profile`: the one place a profile becomes server rules.
pub fn of(profile: Profile) -> &'static dyn Dialect {
    match profile {
        Profile::Plex => &plex::Plex,
        Profile::Jellyfin => &jellyfin::Jellyfin,
        Profile::Emby => &emby::Emby,
        Profile::Http => &http_api::HttpApi,
    }
}

/// Every dialect, for readings that must consider both servers ([`every_token`]).
const ALL: [&dyn Dialect; 3] = [&plex::Plex, &jellyfin::Jellyfin, &emby::Emby];

/// The media servers cachearr speaks (every profile but `http`), each with its webhooks
/// (`/webhooks/{name}`, by [`Profile::as_str`]) and its notification socket.
pub fn media_servers() -> impl Iterator<Item = Profile> {
    ALL.into_iter().map(|d| d.profile())
}

/// How a server's query parameters enter a cache key (`cachearr-upstream`'s `keys`).
#[derive(Debug)]
pub struct KeyRules {
    /// Parameter names are case-insensitive on the server: they are written lower-case.
    pub lowercase_names: bool,
    /// Parameters a client may send as headers or in the query (Plex's `X-Plex-*`).
    pub client: Option<ClientParams>,
}

/// Client parameters that may come as headers or in the query: paging and language are
/// written in one form, the rest identify the client and are dropped, except `kept`.
#[derive(Debug)]
pub struct ClientParams {
    /// The names' common prefix, lower case (`x-plex-`).
    pub prefix: &'static str,
    /// The first item of a page. Header names, not strings, here and below: a header lookup
    /// by `&str` parses the name on every request.
    pub start: HeaderName,
    /// The size of a page.
    pub size: HeaderName,
    /// The answer's language.
    pub language: HeaderName,
    /// Prefixed parameters that change the answer and so stay in the key (lower case).
    pub kept: &'static [&'static str],
}

/// What kind of listing triggered a prefetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A show's (or any parent's) children: prefetch the children of those that are seasons.
    Seasons,
    /// A continue-watching / on-deck / resume listing: prefetch each item's metadata.
    ContinueWatching,
}

/// Whether `s` is an item id cachearr puts in a path (see [`crate::events::valid_id`]).
pub(crate) fn is_id(s: &str) -> bool {
    crate::events::valid_id(s).is_some()
}

/// Who a request is, as the server will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity<'a> {
    /// No token the server reads (a value only in a form the server ignores counts as none).
    Anonymous,
    /// One token, read the server's way.
    Token(Cow<'a, str>),
    /// Two different tokens in one request (or a value too deeply encoded to read): which
    /// one the server uses is not something a cache may guess.
    Ambiguous,
}

impl Identity<'_> {
    /// The token, when there is exactly one.
    pub fn token(&self) -> Option<&str> {
        match self {
            Identity::Token(t) => Some(t),
            _ => None,
        }
    }
}

impl Identity<'_> {
    /// The same identity holding its own copy of the token, to outlive the request it was
    /// read from.
    pub fn into_owned(self) -> Identity<'static> {
        match self {
            Identity::Anonymous => Identity::Anonymous,
            Identity::Token(t) => Identity::Token(Cow::Owned(t.into_owned())),
            Identity::Ambiguous => Identity::Ambiguous,
        }
    }
}

/// What the gateway reads of a request before it routes it, in one reading of its head: who
/// it is, the name its client goes by, and whether its answer is a listing worth prefetching
/// after. Read once per request the gateway has not seen before; a repeat of one recalls it.
#[derive(Debug)]
pub struct Caller<'a> {
    /// Who the request is, as the server will see it.
    pub identity: Identity<'a>,
    /// The name the client gives itself ([`client_name`]), not yet cleaned for display.
    pub client: Option<String>,
    /// The prefetch a `GET` of this path triggers ([`Dialect::prefetch_trigger`]).
    pub prefetch: Option<Trigger>,
}

/// What a dialect reads of a request as it arrives ([`Dialect::read_request`]).
#[derive(Debug)]
pub struct ServerReading<'a> {
    /// The token the server takes ([`Dialect::server_token`]).
    pub token: Option<Cow<'a, str>>,
    /// The name the client gives itself ([`Dialect::client_name`]).
    pub client: Option<String>,
    /// The prefetch a `GET` of the path triggers ([`Dialect::prefetch_trigger`]).
    pub prefetch: Option<Trigger>,
}

impl<'a> ServerReading<'a> {
    /// `dialect`'s reading of a request: what each dialect's [`Dialect::read_request`] is.
    pub fn of<D: Dialect + ?Sized>(
        dialect: &D,
        path: &str,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> ServerReading<'a> {
        ServerReading {
            token: dialect.server_token(headers, query, seen),
            client: dialect.client_name(headers),
            prefetch: dialect.prefetch_trigger(path),
        }
    }
}

/// Reads `profile`'s server's view of a request of `path?query` with `headers` ([`Caller`]),
/// the server at release `version` when it is known ([`Dialect::server_token_at`]: a token
/// only in a form that release refuses is none).
pub fn caller<'a>(
    profile: Profile,
    version: Option<&str>,
    path: &str,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Caller<'a> {
    let mut seen = Candidates::default();
    collect_every_form(headers, query, &mut seen);
    let dialect = of(profile);
    let reading = dialect.read_request(path, headers, query, &mut seen);
    let token = match version.and_then(|v| dialect.server_token_at(v, headers, query)) {
        Some(at_release) => at_release,
        None => reading.token,
    };
    Caller {
        identity: identity_of(token, seen),
        client: reading.client.or_else(|| agent_product(headers)),
        prefetch: reading.prefetch,
    }
}

/// The name a client goes by: the server's own naming of it ([`Dialect::client_name`]), else
/// the first product of its `User-Agent` without the version ("python-requests/2.31.0 …" →
/// "python-requests"). Never its token.
pub fn client_name(profile: Profile, headers: &HeaderMap) -> Option<String> {
    of(profile)
        .client_name(headers)
        .or_else(|| agent_product(headers))
}

/// The first product of a request's `User-Agent`, without its version.
fn agent_product(headers: &HeaderMap) -> Option<String> {
    text_header(headers, &http::header::USER_AGENT).map(|agent| {
        let product = agent.split_whitespace().next().unwrap_or(agent);
        product.split('/').next().unwrap_or(product).to_string()
    })
}

/// Reads the identity of a request the way `profile`'s server does.
pub fn identity<'a>(
    profile: Profile,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Identity<'a> {
    let mut seen = Candidates::default();
    collect_every_form(headers, query, &mut seen);
    let server = of(profile).server_token(headers, query, &mut seen);
    identity_of(server, seen)
}

/// The identity a request carrying the server's token `server` is, given every token form
/// `seen` in it.
fn identity_of<'a>(server: Option<Cow<'a, str>>, mut seen: Candidates<'a>) -> Identity<'a> {
    if let Some(t) = &server {
        seen.add(t.clone());
    }
    if seen.ambiguous {
        return Identity::Ambiguous;
    }
    match server {
        Some(t) if !t.is_empty() => Identity::Token(t),
        _ => Identity::Anonymous,
    }
}

/// Every distinct token value any reading could take from a request: the users a write with
/// an ambiguous identity may have changed (their play state is invalidated).
pub fn every_token(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let mut seen = Candidates {
        all: Some(Vec::new()),
        ..Candidates::default()
    };
    collect_every_form(headers, query, &mut seen);
    for dialect in ALL {
        let mut ignored = Candidates::default();
        if let Some(t) = dialect.server_token(headers, query, &mut ignored) {
            seen.add(t);
        }
    }
    seen.all.unwrap_or_default()
}

/// The token of a request, if it carries exactly one (see [`identity`]).
pub fn token_of<'a>(
    profile: Profile,
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    match identity(profile, headers, query) {
        Identity::Token(t) => Some(t),
        _ => None,
    }
}

/// Whether `profile`'s server checks the token on routes of `class` ([`Dialect::authenticates`]).
pub fn authenticates(profile: Profile, class: Class) -> bool {
    of(profile).authenticates(class)
}

/// Puts `token` in `headers` as a request cachearr makes itself carries it on `profile`'s
/// server ([`Dialect::own_credential`]); a token that cannot be written so is left out (the
/// server then answers as to no token).
pub fn insert_own_credential(profile: Profile, headers: &mut HeaderMap, token: &http::HeaderValue) {
    if let Some((name, value)) = of(profile).own_credential(token) {
        headers.insert(name, value);
    }
}

/// Query parameter names that carry a token on either server, lower case: what
/// [`is_token_param`] takes, and what log redaction (`cachearr-upstream`'s `redact::text`) looks
/// for in any text.
pub const TOKEN_PARAMS: [&str; 5] = [
    "x-plex-token",
    "api_key",
    "apikey",
    "x-emby-token",
    "x-mediabrowser-token",
];

/// Query parameter names that carry a token on either server (any case).
pub fn is_token_param(name: &str) -> bool {
    TOKEN_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p))
}

/// What one query parameter is to whoever reads a request for tokens: a key, the request's
/// identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryParam {
    /// Its name carries a token ([`is_token_param`]).
    Token,
    /// Its value could hold a token nested in it ([`nested::worth_a_look`]): a whole URL.
    MayNest,
    /// Neither.
    Plain,
}

/// What the parameter `name` (decoded) with the raw value `raw_value` is, asked in one call:
/// a reader walking a query asks this once per parameter.
pub fn query_param(name: &str, raw_value: &str) -> QueryParam {
    if is_token_param(name) {
        QueryParam::Token
    } else if nested::worth_a_look(raw_value) {
        QueryParam::MayNest
    } else {
        QueryParam::Plain
    }
}

/// Whether a header carries a credential on either server (a token, or authorization
/// parameters that may hold one; any case): the headers [`identity`] reads a token from,
/// whose values log lines never show (`cachearr-upstream`'s `redact::is_secret_header`).
pub fn is_credential_header(name: &str) -> bool {
    TOKEN_HEADERS
        .iter()
        .chain(&AUTH_HEADERS)
        .any(|h| name.eq_ignore_ascii_case(h.as_str()))
}

/// What replaces a token in keys and log lines.
pub(crate) const REDACTED_VALUE: &str = "REDACTED";

/// Headers that carry a token on either server.
///
/// Names, not strings: a lookup by `&str` parses the name on every request.
const TOKEN_HEADERS: [HeaderName; 3] = [
    HeaderName::from_static("x-plex-token"),
    HeaderName::from_static("x-emby-token"),
    HeaderName::from_static("x-mediabrowser-token"),
];

/// Headers holding `Scheme key=value, …` authorization parameters.
pub(crate) const AUTH_HEADERS: [HeaderName; 2] = [
    http::header::AUTHORIZATION,
    HeaderName::from_static("x-emby-authorization"),
];

/// A header's value as trimmed text, `None` when absent, empty or not text: how the client's
/// self-description (product, device, user agent) is read. By name, not by `&str`, which
/// would parse the name on every request.
pub fn text_header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Every token value any reading could take from a request.
#[derive(Default)]
pub struct Candidates<'a> {
    first: Option<Cow<'a, str>>,
    ambiguous: bool,
    /// Every distinct value, kept only when asked for ([`every_token`]).
    all: Option<Vec<String>>,
}

impl<'a> Candidates<'a> {
    /// A value one reading takes; empty values carry no token.
    pub(crate) fn add(&mut self, value: Cow<'a, str>) {
        if value.is_empty() {
            return;
        }
        if let Some(all) = &mut self.all
            && !all.iter().any(|v| *v == *value)
        {
            all.push(value.to_string());
        }
        match &self.first {
            None => self.first = Some(value),
            Some(first) if *first != value => self.ambiguous = true,
            Some(_) => {}
        }
    }

    /// The request cannot be read with certainty.
    pub(crate) fn give_up(&mut self) {
        self.ambiguous = true;
    }

    /// Whether any value was seen.
    pub(crate) fn any(&self) -> bool {
        self.first.is_some()
    }
}

/// Adds every value any server, any version or any lenient reader could take as a token.
fn collect_every_form<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    seen: &mut Candidates<'a>,
) {
    for name in &TOKEN_HEADERS {
        for v in headers.get_all(name) {
            match v.to_str() {
                Ok(s) => seen.add(Cow::Borrowed(s.trim())),
                // A token header that is not text: no reading of it can be trusted.
                Err(_) => seen.give_up(),
            }
        }
    }
    for name in &AUTH_HEADERS {
        for v in headers.get_all(name) {
            let Ok(s) = v.to_str() else {
                seen.give_up();
                continue;
            };
            // Any scheme: one server ignores `Foo Token="…"`, a lenient reader would not.
            let params = s.trim_start().split_once(' ').map_or(s, |(_, p)| p);
            for (key, value) in jellyfin::token::auth_params(params) {
                if key.eq_ignore_ascii_case("token") {
                    seen.add(value);
                }
            }
            for (key, value) in jellyfin::token::auth_params_quoted(params) {
                if key.eq_ignore_ascii_case("token") {
                    seen.add(value);
                }
            }
            for part in params.split(',') {
                if let Some((key, value)) = part.split_once('=')
                    && key.trim().eq_ignore_ascii_case("token")
                {
                    seen.add(form_decode(value.trim().trim_matches('"')));
                }
            }
        }
    }
    let Some(q) = query else { return };
    for pair in q.split('&') {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(raw_name);
        match query_param(&name, raw_value) {
            QueryParam::Token => seen.add(form_decode(raw_value)),
            QueryParam::MayNest => match nested::find(raw_value) {
                Ok(tokens) => tokens.into_iter().for_each(|t| seen.add(Cow::Owned(t))),
                Err(nested::TooDeep) => seen.give_up(),
            },
            QueryParam::Plain => {}
        }
    }
}

/// `application/x-www-form-urlencoded` decoding of one name or value (`+` is a space, `%XX`
/// a byte), as both servers read query strings; borrowed when there is nothing to decode.
pub fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The query values named `name` (server rule: case-insensitive or exact), decoded.
pub(crate) fn query_values<'a>(
    query: Option<&'a str>,
    matches: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = Cow<'a, str>> + 'a {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(move |pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            matches(&form_decode(n)).then(|| form_decode(v))
        })
}

#[cfg(test)]
mod in_flight;
#[cfg(test)]
mod tests;
