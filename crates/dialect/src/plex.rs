//! Plex Media Server's rules.
//!
//! * `token.rs` — the server's reading of a request's token (`X-Plex-Token` header, else
//!   query parameter).
//! * `prefetch.rs` — the listings whose follow-ups are prefetched, and what they name.
//! * `routes.rs` — the built-in route table: what is cached, under which class and tags, and
//!   what is a write.
//! * `events.rs` — the server's change events: its webhooks and its notification socket.
//! * `play_state.rs` — the requests that watch a user's play state where the server
//!   announces no change of it, and how their whole lists read (the library copy's `play_watch`).
//! * `crawl.rs` — how the library index reads the server (`ServerLibrary`): the pages it
//!   asks for, the kinds it keeps per section, and the reading of the answers (sections,
//!   items, totals, a user's own sections).
//! * `render.rs` — the documents an answer from the index is written in: the Plex names of
//!   kinds and type numbers, and the document tree.
//! * `search_route.rs` — a search's route (`answers::SearchRoutes`): which search, the
//!   section it spans, its query; read before anything else of its answer.
//! * `search.rs` — how a search answered from the index reads once its route is read: the
//!   kind it asks, the parameters that change nothing, the fixed parts of its answer.
//! * `answer.rs` — those searches' answers, written from the library copy `cachearr-copy`
//!   hands in (`answers::CopyView`), and a section's natural order.
//! * `shares.rs` — plex.tv, where the server's shares and their filters are read
//!   (`shares::ShareService`).
//! * `kept.rs` — its listings as the library copy keeps them (elements by rating key, less
//!   each user's values) and a kept element written back as the server writes it.
//! * `user_state.rs` — the asking user's play state in such an answer: the per-user values
//!   as the server writes them, where in an element, and the listings that give them.
//! * Key rules: every `X-Plex-*` parameter may be sent as a header or in the query; paging and
//!   language are written in one form, the client's identity (product, device, platform …)
//!   is dropped. Query names keep their case (Plex compares them exactly).
//! * A client names itself with `X-Plex-Product` (and `X-Plex-Device-Name` when one product
//!   runs on several devices).

mod answer;
pub mod crawl;
pub mod events;
mod items_shown;
pub mod kept;
mod play_state;
mod prefetch;
pub mod render;
pub(crate) mod routes;
pub mod search;
mod search_route;
pub mod shares;
pub(crate) mod token;
pub mod user_state;

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{
    Candidates, ClientParams, Dialect, DialectFacts, KeyRules, ServerReading, StartupProbes,
    Trigger, UserRoutes, text_header,
};
use crate::Profile;
use crate::model::library::{PlayStateItem, PlayStateProbe, UserSections};
use crate::model::{Class, Scope};

/// Plex Media Server.
#[derive(Debug, Clone, Copy)]
pub struct Plex;

/// `X-Plex-*` parameters that change the answer and so stay in the key; every other `X-Plex-*`
/// parameter identifies the client and is dropped from the key.
const KEPT: [&str; 3] = [
    "x-plex-container-focus-key",
    "x-plex-language",
    "x-plex-pms-api-version",
];

static KEY_RULES: KeyRules = KeyRules {
    lowercase_names: false,
    client: Some(ClientParams {
        prefix: "x-plex-",
        start: HeaderName::from_static("x-plex-container-start"),
        size: HeaderName::from_static("x-plex-container-size"),
        language: HeaderName::from_static("x-plex-language"),
        kept: &KEPT,
    }),
};

/// Plex: the token in `X-Plex-Token`, images per user (Plex checks every artwork request
/// against the token: a thumb, art or `/photo/:/transcode` of an item the user may not see
/// is a 404, and what a shared user may see is decided per item — library sharing, plus
/// label and content-rating restrictions — so one user's cached image must never answer
/// another), every capability of the copy's, walks batched, pages read as asked.
static FACTS: DialectFacts = DialectFacts {
    profile: Profile::Plex,
    token_header: token::X_PLEX_TOKEN,
    routes: &routes::ROUTES,
    key_rules: &KEY_RULES,
    image_scope: Scope::User,
    default_warm: &[
        "/library/sections",
        "/library/onDeck",
        "/library/recentlyAdded",
    ],
    events: &Plex,
    library: &Plex,
    answers: Some(&Plex),
    search_routes: Some(&Plex),
    walk_batch: &WALK_BATCH,
    paged_listing: None,
    startup_probes: StartupProbes {
        identity: "/identity",
        token: "/library/sections",
        owner: "/accounts",
    },
    user_routes: UserRoutes {
        own: None,
        admins_only: None,
        sole_administrator: None,
        sections: crawl::SECTIONS_PATH,
    },
    version_reader: None,
    ids_ignore_case: false,
    caches_by_the_standard: false,
    route_prefixes: &[],
};

impl Dialect for Plex {
    fn facts(&self) -> &'static DialectFacts {
        &FACTS
    }

    fn share_service(&self) -> Option<&'static dyn crate::shares::ShareService> {
        Some(&Plex)
    }

    /// Plex asks every client to name itself; the server's own logs and its devices list
    /// then show cachearr's requests as cachearr's.
    fn mark_own_request(&self, headers: &mut HeaderMap, client: &'static str) {
        headers.insert(
            HeaderName::from_static("x-plex-client-identifier"),
            HeaderValue::from_static(client),
        );
        headers.insert(
            HeaderName::from_static("x-plex-product"),
            HeaderValue::from_static("cachearr"),
        );
    }

    /// Plex clients name themselves in `X-Plex-*` headers (product, version, platform,
    /// device); the token and the page asked are not the client.
    fn is_client_identity(&self, name: &str) -> bool {
        name.starts_with("x-plex-")
            && name != "x-plex-token"
            && name != "x-plex-container-start"
            && name != "x-plex-container-size"
    }

    fn items_shown(&self, body: &[u8], shown: &mut Vec<String>, named: &mut Vec<String>) {
        items_shown::scan_rating_keys(body, shown, named);
    }

    fn server_token<'a>(
        &self,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> Option<Cow<'a, str>> {
        token::server_token(headers, query, seen)
    }

    /// Plex checks the token on artwork too (an item a user may not see is a 404), so an
    /// image's 2xx proves it; `/identity` answers anyone.
    fn authenticates(&self, class: Class) -> bool {
        !matches!(class, Class::Identity | Class::Pass)
    }

    /// The server's settings (`/:/prefs`) and a section's (`/library/sections/{id}/prefs`):
    /// Plex answers a shared or managed user's token there with a 401, as it answers an
    /// unknown one.
    /// The settings above, and the live sessions: since 2026 an invited user's account token
    /// gets a 401 from `/status/sessions` (only the owner and Home users read it), while it
    /// reads the libraries shared with it.
    fn refuses_valid_tokens(&self, path: &str) -> bool {
        self.owner_only(path) || path == "/status/sessions"
    }

    fn owner_only(&self, path: &str) -> bool {
        path == "/:/prefs"
            || path
                .strip_prefix("/library/sections/")
                .and_then(|rest| rest.strip_suffix("/prefs"))
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    }

    fn prefetch_trigger(&self, path: &str) -> Option<Trigger> {
        prefetch::trigger(path)
    }

    fn follow_ups(
        &self,
        trigger: Trigger,
        _path: &str,
        _query: Option<&str>,
        body: &[u8],
        max: usize,
    ) -> Vec<String> {
        prefetch::follow_ups(trigger, body, max)
    }

    fn client_name(&self, headers: &HeaderMap) -> Option<String> {
        const PRODUCT: HeaderName = HeaderName::from_static("x-plex-product");
        const DEVICE: HeaderName = HeaderName::from_static("x-plex-device-name");
        text_header(headers, &PRODUCT).map(|product| match text_header(headers, &DEVICE) {
            Some(device) if device != product => format!("{product} ({device})"),
            _ => product.to_string(),
        })
    }

    fn player_id(&self, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
        const CLIENT: HeaderName = HeaderName::from_static("x-plex-client-identifier");
        text_header(headers, &CLIENT)
            .map(str::to_owned)
            .or_else(|| {
                form_urlencoded::parse(query?.as_bytes())
                    .find(|(k, _)| k.eq_ignore_ascii_case("X-Plex-Client-Identifier"))
                    .map(|(_, v)| v.into_owned())
                    .filter(|v| !v.is_empty())
            })
    }

    fn read_request<'a>(
        &self,
        path: &str,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> ServerReading<'a> {
        ServerReading::of(self, path, headers, query, seen)
    }

    fn play_state_probes(&self, sections: &UserSections) -> Vec<PlayStateProbe> {
        play_state::probes(sections)
    }

    fn play_state_items(&self, body: &[u8]) -> Option<Vec<PlayStateItem>> {
        play_state::items(body)
    }

    fn play_state_digest(&self, body: &[u8]) -> Option<crate::model::library::ProbeDigest> {
        play_state::digest(body)
    }

    fn sections_shown(&self, body: &[u8]) -> Option<Vec<String>> {
        play_state::sections_shown(body)
    }

    fn plays_since(
        &self,
        cursor: Option<&crate::model::library::PlayCursor>,
        start: usize,
    ) -> Option<String> {
        Some(play_state::plays_since(cursor, start))
    }

    fn played_entries(&self, body: &[u8]) -> Option<Vec<crate::model::library::PlayedEntry>> {
        play_state::played_entries(body)
    }
}

/// A section's (or the whole library's) listing page, then `/library/metadata/{id}` of its
/// items one after the other: Plex answers `/library/metadata/{id1},{id2},…` with all of them
/// in one `MediaContainer` (python-plexapi's `fetchItems` uses it). Kometa and
/// PlexKodiConnect read a page's items in order; Overseerr reads a page of 50 all at once
/// (`Promise.all`), so its reads arrive in any order: two items within 32 places of each
/// other are one walk, as for Jellyseerr. A playlist indexer (Plexist) reads each listed
/// track's artist and album instead (`track.artist()`, `track.album()`): the page's
/// grandparents and parents are walks of their own.
static WALK_BATCH: super::WalkBatch = super::WalkBatch {
    read: walk_read,
    window: 32,
    json_items: &["MediaContainer", "Metadata"],
    id_name: "ratingKey",
    parent_names: &["grandparentRatingKey", "parentRatingKey"],
    parents_listed_skipped: false,
    single_frame_fixed: false,
    items_max: 100,
};

/// `/library/metadata/{id}`: the item in a `MediaContainer` of one; many are
/// `/library/metadata/{id1},{id2},…` with the single read's query.
static METADATA: crate::SingleShape = crate::SingleShape {
    bare: false,
    batch_target: crate::walk::ids_in_place,
};

/// What a read is to a walk: a walked listing's page, or an item's metadata.
fn walk_read<'a>(path: &'a str, _query: Option<&'a str>) -> Option<crate::WalkRead<'a>> {
    if is_walked_listing(path) {
        return Some(crate::WalkRead::Page);
    }
    let id = single_metadata_id(path)?;
    Some(crate::WalkRead::Single(crate::walk::at_path_end(
        path, id, &METADATA,
    )))
}

/// Whether `path` is a listing whose items (or their parents) a walk reads next: a section's
/// plain listing (`/library/sections/{id}/all`) or the whole library's. Asked of every read
/// the batcher sees, a cached hit's too: written out without closures, it is one call.
fn is_walked_listing(path: &str) -> bool {
    if path == "/library/all" {
        return true;
    }
    let Some(id) = path
        .strip_prefix("/library/sections/")
        .and_then(|rest| rest.strip_suffix("/all"))
    else {
        return false;
    };
    if id.is_empty() {
        return false;
    }
    for b in id.bytes() {
        if !b.is_ascii_digit() {
            return false;
        }
    }
    true
}

/// `id` of `/library/metadata/{id}` (one item, nothing after it).
pub(crate) fn single_metadata_id(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/library/metadata/")?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}
