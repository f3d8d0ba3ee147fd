//! Jellyfin's rules.
//!
//! * `token.rs` — the server's reading of a request's token (authorization parameters,
//!   `X-Emby-Token`, `ApiKey`/`api_key`), and its split of authorization parameters.
//! * `prefetch.rs` — the listings whose follow-ups are prefetched, and what they name.
//! * `routes.rs` — the built-in route table: what is cached, under which class and tags, and
//!   what is a write.
//! * `events.rs` — the server's change events: its webhooks and its notification socket.
//! * `play_state.rs` — the activity log read for every user's plays, and the requests that
//!   watch a user's play state where the log shows no change of it, and how their whole
//!   lists read (the library copy's `play_watch`).
//! * `crawl.rs` — how the library index reads the server (`ServerLibrary`): the pages it
//!   asks for, the kinds it keeps per section, and the reading of the answers (sections,
//!   items, totals, a user's own sections).
//! * `doc.rs` — the server's own `BaseItemDto`s as the crawl keeps them, in the server's
//!   property order, and their projection to a request's `Fields` and image and user data
//!   options.
//! * `paging.rs` — how a listing is paged (`StartIndex`, `Limit`, the frame's `StartIndex`),
//!   for reading a walk's next pages in one request.
//! * `render.rs` — the documents an answer from the index is written in: `BaseItemDto`s and
//!   `SearchHint`s from the index's records, the type names of kinds.
//! * `search_route.rs` — a search's route (`answers::SearchRoutes`): which search, the user
//!   it names, its query; read before anything else of its answer.
//! * `search.rs` — how a search answered from the index reads once its route is read: the
//!   kinds it asks, the parameters that change nothing, the order of its results.
//! * `answer.rs` — those searches answered from the library copy `cachearr-copy` hands in
//!   (`answers::CopyView`), and how the copy's answers page (`CopyAnswers`).
//! * `user_state.rs` — the asking user's `UserData` in such an answer, and the listings
//!   that give it.
//! * Key rules: query names are case-insensitive on the server, so they are written
//!   lower-case; there are no client parameters to fold (paging is `StartIndex`/`Limit`).
//! * A client names itself with `Client=` in its authorization header, or `X-Emby-Client`.

mod answer;
pub mod crawl;
pub mod doc;
pub mod events;
mod items_shown;
pub(crate) mod paging;
mod play_state;
pub mod policy;
mod prefetch;
pub mod render;
pub(crate) mod routes;
pub mod search;
mod search_route;
pub(crate) mod token;
pub mod user_state;

use std::borrow::Cow;

use http::{HeaderMap, HeaderName};

use super::{
    AUTH_HEADERS, Candidates, Dialect, DialectFacts, KeyRules, ServerReading, StartupProbes,
    Trigger, UserRoutes, text_header,
};
use crate::Profile;
use crate::model::library::{PlayCursor, PlayStateItem, PlayStateProbe, PlayedEntry, UserSections};
use crate::model::{Class, Scope};
use crate::walk::{IdAt, SingleRead, SingleShape, WalkRead, at_path_end};

/// Jellyfin.
#[derive(Debug, Clone, Copy)]
pub struct Jellyfin;

pub(crate) static KEY_RULES: KeyRules = KeyRules {
    lowercase_names: true,
    client: None,
};

/// Jellyfin: the token in `X-Emby-Token`; images shared (Jellyfin serves
/// `/Items/{id}/Images/*` to anyone, without a token — `GetItemImage` has no `[Authorize]`,
/// jellyfin/jellyfin#13988 — so sharing them among accepted tokens shows no one anything
/// the server would not); ids are GUIDs it matches in any case (answers' tags hold them
/// lowercased); its release read from `/System/Info/Public`'s `Version` (`10.11.11`,
/// `12.0.0`: 12 refuses the legacy credentials and lists `GetItems` by other rules than
/// 10.11); every capability of the copy's, its listings paged for windows.
static FACTS: DialectFacts = DialectFacts {
    profile: Profile::Jellyfin,
    token_header: HeaderName::from_static("x-emby-token"),
    routes: &routes::ROUTES,
    key_rules: &KEY_RULES,
    image_scope: Scope::Shared,
    default_warm: &["/UserViews", "/Items/Latest", "/UserItems/Resume"],
    events: &Jellyfin,
    library: &Jellyfin,
    answers: Some(&Jellyfin),
    search_routes: Some(&Jellyfin),
    walk_batch: &WALK_BATCH,
    paged_listing: Some(&paging::PAGED_LISTING),
    startup_probes: StartupProbes {
        identity: "/System/Info/Public",
        token: "/Users/Me",
        owner: "/Users",
    },
    user_routes: UserRoutes {
        own: Some("/Users/Me"),
        admins_only: None,
        sole_administrator: None,
        sections: "/UserViews",
    },
    version_reader: Some(token::server_version),
    ids_ignore_case: true,
    caches_by_the_standard: false,
    route_prefixes: &[],
};

impl Dialect for Jellyfin {
    fn facts(&self) -> &'static DialectFacts {
        &FACTS
    }

    /// A sign-in (`AuthenticateByName`, `AuthenticateWithQuickConnect`) or `/Users/Me`.
    fn who_answer(&self, method: &http::Method, path: &str) -> Option<super::WhoAnswer> {
        token::who_answer(method, path)
    }

    fn read_who(&self, kind: super::WhoAnswer, body: &[u8]) -> Option<super::Named> {
        token::read_who(kind, body)
    }

    fn items_shown(&self, body: &[u8], shown: &mut Vec<String>, named: &mut Vec<String>) {
        items_shown::scan_json_ids(body, shown, named);
    }

    fn server_token<'a>(
        &self,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
        seen: &mut Candidates<'a>,
    ) -> Option<Cow<'a, str>> {
        token::server_token(headers, query, seen)
    }

    /// From 12 on, only `Authorization: MediaBrowser …` and `ApiKey`.
    fn server_token_at<'a>(
        &self,
        version: &str,
        headers: &'a HeaderMap,
        query: Option<&'a str>,
    ) -> Option<Option<Cow<'a, str>>> {
        token::refuses_legacy(version).then(|| token::current_token(headers, query))
    }

    /// `Authorization: MediaBrowser Token="…"`: the one form 10.10, 10.11 and 12 all read
    /// (12 refuses `X-Emby-Token` and `api_key` by default). Only the token: a `Device` or
    /// `Version` here would rename the device the token was issued to.
    fn own_credential(&self, token: &http::HeaderValue) -> Option<(HeaderName, http::HeaderValue)> {
        token::own_credential(token.as_bytes()).map(|value| (http::header::AUTHORIZATION, value))
    }

    /// `/System/Info/Public` and images (`GetItemImage` has no `[Authorize]`) answer anyone:
    /// their 2xx says nothing about who asked.
    fn authenticates(&self, class: Class) -> bool {
        !matches!(class, Class::Identity | Class::Pass | Class::Images)
    }

    fn prefetch_trigger(&self, path: &str) -> Option<Trigger> {
        prefetch::trigger(path)
    }

    fn follow_ups(
        &self,
        trigger: Trigger,
        path: &str,
        query: Option<&str>,
        body: &[u8],
        max: usize,
    ) -> Vec<String> {
        prefetch::follow_ups(trigger, path, query, body, max)
    }

    fn client_name(&self, headers: &HeaderMap) -> Option<String> {
        const EMBY_CLIENT: HeaderName = HeaderName::from_static("x-emby-client");
        AUTH_HEADERS
            .iter()
            .find_map(|name| text_header(headers, name).and_then(|v| auth_param(v, "client")))
            .or_else(|| text_header(headers, &EMBY_CLIENT).map(str::to_string))
    }

    fn player_id(&self, headers: &HeaderMap, query: Option<&str>) -> Option<String> {
        const EMBY_DEVICE: HeaderName = HeaderName::from_static("x-emby-device-id");
        AUTH_HEADERS
            .iter()
            .find_map(|name| text_header(headers, name).and_then(|v| auth_param(v, "deviceid")))
            .or_else(|| text_header(headers, &EMBY_DEVICE).map(str::to_string))
            .or_else(|| {
                form_urlencoded::parse(query?.as_bytes())
                    .find(|(k, _)| k.eq_ignore_ascii_case("DeviceId"))
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

    fn play_state_probes(&self, _sections: &UserSections) -> Vec<PlayStateProbe> {
        play_state::probes()
    }

    /// Every library at once: the probes name none.
    fn play_state_probes_by_section(&self) -> bool {
        false
    }

    fn play_state_items(&self, body: &[u8]) -> Option<Vec<PlayStateItem>> {
        play_state::items(body)
    }

    fn play_state_digest(&self, body: &[u8]) -> Option<crate::model::library::ProbeDigest> {
        play_state::digest(body)
    }

    /// The activity log: each playback's start and stop, every user's (`play_state.rs`).
    fn plays_since(&self, cursor: Option<&PlayCursor>, start: usize) -> Option<String> {
        Some(play_state::plays_since(cursor, start))
    }

    fn played_entries(&self, body: &[u8]) -> Option<Vec<PlayedEntry>> {
        play_state::played_entries(body)
    }
}

/// A library's listing page (`/Users/{uid}/Items`, `/Items`), then each of its items read
/// singly, as Jellyseerr scans: `/Users/{uid}/Items/{id}` in releases before 2.5.0,
/// `/Items?ids={id}&fields=…` since (its `getItemData`). Jellyseerr reads a page's items
/// twenty at a time, in any order inside a bundle, so two items within 32 places of each
/// other are one walk.
static WALK_BATCH: super::WalkBatch = super::WalkBatch {
    read: walk_read,
    window: 32,
    json_items: &["Items"],
    id_name: "Id",
    parent_names: &[],
    parents_listed_skipped: false,
    single_frame_fixed: true,
    items_max: 100,
};

/// `/Users/{uid}/Items/{id}` and `/Items/{id}`: the item alone. Many are
/// `/Users/{uid}/Items?Ids=…` with every field a single answer always has (the single read's
/// own query asks nothing of the item's fields).
pub(crate) static ITEM_PATH: SingleShape = SingleShape {
    bare: true,
    batch_target: |before, ids, _| {
        let listing = before.trim_end_matches('/');
        format!("{listing}?Ids={ids}&Fields={}", all_fields())
    },
};

/// `/Items?ids={id}&…` (or under `/Users/{uid}`): a listing of the one item. Many are the same
/// listing with the ids joined where the one was, every other parameter as written: the
/// server answers each item of it as it answers the item alone.
pub(crate) static IDS_QUERY: SingleShape = SingleShape {
    bare: false,
    batch_target: crate::walk::ids_in_place,
};

/// What a read is to a walk, Jellyfin's ids being GUIDs.
fn walk_read<'a>(path: &'a str, query: Option<&'a str>) -> Option<WalkRead<'a>> {
    walk_read_of(path, query, is_guid)
}

/// What a read is to a walk when `is_id` takes the server's item ids: an item listing is a
/// page, but a listing of one item by its id (`ids`, in any case, and nothing that pages
/// it) is that item's single read, as is `/Items/{id}`.
pub(crate) fn walk_read_of<'a>(
    path: &'a str,
    query: Option<&'a str>,
    is_id: fn(&str) -> bool,
) -> Option<WalkRead<'a>> {
    if let Some(id) = item_path_id(path, is_id) {
        return Some(WalkRead::Single(at_path_end(path, id, &ITEM_PATH)));
    }
    if !is_items_listing(path) {
        return None;
    }
    let single = query
        .and_then(one_id_asked)
        .filter(|(id, _)| is_id(id))
        .map(|(id, at)| SingleRead {
            id,
            at: IdAt::Query(at),
            shape: &IDS_QUERY,
        });
    Some(single.map_or(WalkRead::Page, WalkRead::Single))
}

/// The one id a listing's `query` asks for by `ids` (the server reads the name in any case)
/// and where it is written, when the query names no other `ids` and does not page its answer
/// (`StartIndex`, `Limit`: a page of many items is not each item's page of one).
fn one_id_asked(query: &str) -> Option<(&str, usize)> {
    let mut found = None;
    let mut at = 0;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name.eq_ignore_ascii_case("ids") {
            if found.is_some() || value.contains(',') {
                return None;
            }
            found = Some((value, at + name.len() + 1));
        } else if name.eq_ignore_ascii_case("startindex") || name.eq_ignore_ascii_case("limit") {
            return None;
        }
        at += pair.len() + 1;
    }
    found
}

/// Every `ItemFields` name a single item is answered with (the server's `new DtoOptions()`:
/// all of them but `SeasonUserData` and `RefreshState`), joined by commas.
pub(crate) fn all_fields() -> String {
    cachearr_serverfmt::jellyfin::ITEM_FIELDS
        .iter()
        .filter(|name| !matches!(**name, "SeasonUserData" | "RefreshState"))
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `id` is a Jellyfin item id: a GUID, with or without dashes.
fn is_guid(id: &str) -> bool {
    let hex = id.bytes().filter(|b| *b != b'-').count();
    hex == 32 && id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

/// The last segment of `/Users/{uid}/Items/{id}` or `/Items/{id}` when nothing follows it and
/// `is_id` takes it (each server writes its item ids its own way).
pub(crate) fn item_path_id(path: &str, is_id: impl Fn(&str) -> bool) -> Option<&str> {
    let mut parts = path.trim_start_matches('/').split('/');
    let (first, second) = (parts.next()?, parts.next()?);
    let id = if first.eq_ignore_ascii_case("users") && !second.is_empty() {
        if !parts.next()?.eq_ignore_ascii_case("items") {
            return None;
        }
        parts.next()?
    } else if first.eq_ignore_ascii_case("items") {
        second
    } else {
        return None;
    };
    (parts.next().is_none() && is_id(id)).then_some(id)
}

/// Whether `path` is an item listing, `/Users/{uid}/Items` or `/Items`.
pub(crate) fn is_items_listing(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [items] => items.eq_ignore_ascii_case("items"),
        [users, uid, items] => {
            users.eq_ignore_ascii_case("users")
                && !uid.is_empty()
                && items.eq_ignore_ascii_case("items")
        }
        _ => false,
    }
}

/// A parameter of a MediaBrowser/Emby authorization header (`Client="Kodi", Device="…"`), split
/// the way the server splits it (the last of a repeated key wins).
fn auth_param(value: &str, wanted: &str) -> Option<String> {
    let (_, params) = value.split_once(' ')?;
    token::auth_params(params)
        .into_iter()
        .rev()
        .find(|(key, _)| key.eq_ignore_ascii_case(wanted))
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}
