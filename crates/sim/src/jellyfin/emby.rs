//! The Emby dialect of the front end: an Emby 4.9 server over the same library, sharing every
//! handler with Jellyfin (the two servers' APIs are one API that forked) and keeping here all
//! that differs:
//!
//! - **ids**: Emby's item ids are short numbers (its database's `InternalId`), not GUIDs.
//!   Requests are read by translating every id a client can send (numeric path segments after
//!   a segment that names an object, query parameters and JSON body properties named `…Id` or
//!   `…Ids`) to the Jellyfin form, and answers — HTTP bodies and socket messages — are written
//!   by translating every id the simulator minted back (`IdMap`). User, server and session
//!   ids stay 32-hex GUIDs, as on Emby.
//! - **the rules**: legacy credentials always count (`X-Emby-Token`, `api_key`, the `Emby`
//!   scheme), every route answers under `/emby/` too, none of Jellyfin 12's changes, and
//!   none of the routes Jellyfin added for the token's own user without naming it
//!   (`/Users/Me` is a 500, `/UserViews`, `/Items/Latest`, `/UserItems/Resume` are 404s:
//!   Emby's own generated client, `embyclient` 4.9.0.33, lists only
//!   `/Users/{UserId}/Views`, `…/Items/Latest`, `…/Items/Resume`).
//! - **identity**: `/System/Info/Public` without `ProductName`, with Emby's `Version`
//!   ([`EMBY_VERSION`]); each user's access token is their `emby_token`
//!   ([`crate::state::User::emby_token`]).
//! - **socket**: `/embywebsocket?api_key=…&deviceId=…`.
//! - **names as items**: the item query lists genres and studios (`IncludeItemTypes=Genre`)
//!   and finds them and artists known by name only by id (`NameQuery`); Jellyfin keeps
//!   them to `/Genres`, `/Studios` and `/Artists`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::Response;
use tokio::net::TcpListener;

use super::dto::{BaseItemDto, QueryResult};
use super::ids::{IdSpace, JfId};
use super::items::{self, NameKind, Render, Work};
use super::request::QueryParams;
use super::{ApiError, JellyfinOptions};
use crate::library::{guid_for_id, id_from_guid};
use crate::state::{State as CoreState, User};
use crate::{Sim, SimError, TestServer};

/// The version the simulated Emby server reports.
pub const EMBY_VERSION: &str = "4.9.5.0";

/// The user whose `emby_token` is `token`, unless the token is refused for now.
pub(crate) fn user_by_token<'s>(state: &'s CoreState, token: &str) -> Option<&'s User> {
    if token.is_empty() || state.is_revoked(token) {
        return None;
    }
    state.users().iter().find(|u| u.emby_token() == token)
}

/// Emby's rules: what Jellyfin kept from it until 12 (legacy credentials always, `/emby/`
/// routes), nothing Jellyfin added since (no storage page, no 12.0 query rules).
pub(crate) const RULES: super::Rules = super::Rules {
    legacy_setting: super::version::LegacySetting::Always,
    legacy_prefixes: true,
    storage_page: false,
    obsolete_routes: true,
    filters_imply_recursive: false,
    sort_name_tiebreak: false,
    password_flags_obsolete: false,
    sessions_for_every_user: false,
    own_user_routes: false,
};

/// The Emby front end as a router (serve it with [`Sim::serve_router`]).
pub fn router(sim: Sim, options: JellyfinOptions) -> axum::Router {
    let front = super::front(sim, options, super::Dialect::Emby);
    axum::Router::new().fallback(dispatch).with_state(front)
}

impl Sim {
    /// Serves an Emby 4.9 API over this simulator's library (plus `/_sim/`) on `listener`
    /// until the returned future is dropped. `options.version` is ignored (Emby has its own).
    pub fn serve_emby(
        &self,
        listener: TcpListener,
        options: JellyfinOptions,
    ) -> impl Future<Output = Result<(), SimError>> + Send + 'static {
        self.serve_router(listener, router(self.clone(), options))
    }

    /// Serves this simulator's Emby API on `127.0.0.1:0` for a test; the returned server's
    /// `token` is the owner's `emby_token`.
    pub async fn start_emby_test_server(
        &self,
        options: JellyfinOptions,
    ) -> Result<TestServer, SimError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let serving = self.serve_emby(listener, options);
        let task = tokio::spawn(async move {
            if let Err(err) = serving.await {
                tracing::error!(%err, "simulated Emby server stopped");
            }
        });
        Ok(TestServer {
            sim: self.clone(),
            base_url: format!("http://{addr}"),
            addr,
            token: self.state().owner().emby_token(),
            task,
        })
    }
}

/// Numbers above every item id (a `u32`), one block of 10¹⁰ per kind of simulator id.
const BLOCK: u64 = 10_000_000_000;
const VIEW_BASE: u64 = BLOCK;
const PLAYLIST_BASE: u64 = 2 * BLOCK;
const ENTRY_BASE: u64 = 3 * BLOCK;
/// Names (artists known by name, genres, studios) are hashes: they get a number from their
/// hash, remembered for the way back.
const NAME_BASE: u64 = 4 * BLOCK;

/// The translation between Emby's numeric ids and the simulator's GUIDs.
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    /// Names' numbers and the GUIDs they stand for.
    names: Mutex<HashMap<u64, String>>,
}

impl IdMap {
    /// The Emby number of a GUID the simulator minted, if it is one.
    fn number_of(&self, seed: u64, guid: &str) -> Option<u64> {
        if let Some(item) = id_from_guid(seed, guid) {
            return Some(u64::from(item));
        }
        let id = JfId::decode(guid)?;
        match id.space {
            IdSpace::View => Some(VIEW_BASE + id.number % BLOCK),
            IdSpace::Playlist => Some(PLAYLIST_BASE + id.number % BLOCK),
            IdSpace::PlaylistEntry => Some(ENTRY_BASE + id.number % BLOCK),
            IdSpace::ArtistName | IdSpace::Name => {
                let number = NAME_BASE + id.number % BLOCK;
                let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
                names.insert(number, guid.to_ascii_lowercase());
                Some(number)
            }
            // Sessions keep their GUIDs on Emby.
            IdSpace::Session => None,
        }
    }

    /// The GUID an Emby number stands for; an unknown number becomes the empty GUID, which
    /// names nothing (a 404, as on Emby).
    fn guid_of(&self, seed: u64, number: u64) -> String {
        let known = match number {
            n if n >= NAME_BASE => {
                let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
                names.get(&n).cloned()
            }
            n if n >= ENTRY_BASE => Some(super::ids::jf_id(IdSpace::PlaylistEntry, n - ENTRY_BASE)),
            n if n >= PLAYLIST_BASE => {
                Some(super::ids::jf_id(IdSpace::Playlist, n - PLAYLIST_BASE))
            }
            n if n >= VIEW_BASE => Some(super::ids::jf_id(IdSpace::View, n - VIEW_BASE)),
            n => u32::try_from(n).ok().map(|item| guid_for_id(seed, item)),
        };
        known.unwrap_or_else(|| "0".repeat(32))
    }

    /// `text` with every quoted 32-hex id the simulator minted replaced by its Emby number
    /// (`"Id":"3f…"` → `"Id":"1234"`); everything else byte for byte, so property order and
    /// formatting stay the server's.
    pub(crate) fn outbound(&self, seed: u64, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut at = 0;
        while at + 34 <= bytes.len() {
            let candidate = bytes[at] == b'"'
                && bytes[at + 33] == b'"'
                && bytes[at + 1..at + 33].iter().all(u8::is_ascii_hexdigit);
            if candidate && let Some(number) = self.number_of(seed, &text[at + 1..at + 33]) {
                out.push_str(&text[copied..at]);
                out.push('"');
                out.push_str(&number.to_string());
                out.push('"');
                at += 34;
                copied = at;
            } else {
                at += 1;
            }
        }
        out.push_str(&text[copied..]);
        out
    }

    /// A path with its numeric object ids replaced by GUIDs: a numeric segment counts as an id
    /// when the segment before it names a kind of object (`Items/123`, `Users/…/Items/123`,
    /// `Playlists/9…/Items/9…`), never an index (`Move/2`, `Images/Primary/0`).
    fn inbound_path(&self, seed: u64, path: &str) -> String {
        const OWNERS: [&str; 12] = [
            "items",
            "playlists",
            "shows",
            "audio",
            "videos",
            "playeditems",
            "favoriteitems",
            "userplayeditems",
            "userfavoriteitems",
            "artists",
            "genres",
            "studios",
        ];
        let mut previous = String::new();
        let segments: Vec<String> = path
            .split('/')
            .map(|segment| {
                let owned = OWNERS.contains(&previous.as_str());
                previous = segment.to_ascii_lowercase();
                match segment.parse::<u64>() {
                    Ok(number) if owned => self.guid_of(seed, number),
                    _ => segment.to_owned(),
                }
            })
            .collect();
        segments.join("/")
    }

    /// A query string with the numbers in `…Id` / `…Ids` parameters replaced by GUIDs.
    fn inbound_query(&self, seed: u64, query: &str) -> String {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| {
                let value = if names_an_id(&name) {
                    self.inbound_list(seed, &value)
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    /// A comma list with its numbers replaced by GUIDs.
    fn inbound_list(&self, seed: u64, value: &str) -> String {
        value
            .split(',')
            .map(|entry| match entry.trim().parse::<u64>() {
                Ok(number) => self.guid_of(seed, number),
                Err(_) => entry.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A JSON body with the numbers in `…Id` / `…Ids` properties replaced by GUIDs.
    fn inbound_json(&self, seed: u64, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    if names_an_id(key) {
                        match inner {
                            serde_json::Value::String(text) => {
                                *text = self.inbound_list(seed, text);
                            }
                            serde_json::Value::Array(items) => {
                                for item in items.iter_mut() {
                                    if let serde_json::Value::String(text) = item {
                                        *text = self.inbound_list(seed, text);
                                    }
                                }
                            }
                            other => self.inbound_json(seed, other),
                        }
                    } else {
                        self.inbound_json(seed, inner);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|v| self.inbound_json(seed, v));
            }
            _ => {}
        }
    }
}

/// Whether a parameter or property name holds ids (`ParentId`, `Ids`, `ArtistIds`, `ItemId`).
fn names_an_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("id") || lower.ends_with("ids")
}

/// A request with its Emby ids read as the simulator's GUIDs (path, query, JSON body).
pub(crate) async fn inbound(front: &super::Front, request: Request) -> Result<Request, Response> {
    let seed = front.sim.seed();
    let (mut parts, body) = request.into_parts();
    let path = front.emby_ids.inbound_path(seed, parts.uri.path());
    let query = parts
        .uri
        .query()
        .map(|q| front.emby_ids.inbound_query(seed, q));
    let path_and_query = match &query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
    };
    if let Ok(uri) = path_and_query.parse::<Uri>() {
        parts.uri = uri;
    }
    let bytes = axum::body::to_bytes(body, super::MAX_BODY)
        .await
        .map_err(|_| axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response_now())?;
    let bytes = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) if !bytes.is_empty() => {
            front.emby_ids.inbound_json(seed, &mut value);
            serde_json::to_vec(&value).map(Bytes::from).unwrap_or(bytes)
        }
        _ => bytes,
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A response with the simulator's ids written as Emby's numbers (JSON bodies only).
pub(crate) async fn outbound(front: &super::Front, response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response_now();
    };
    let text = String::from_utf8_lossy(&bytes);
    let translated = front.emby_ids.outbound(front.sim.seed(), &text);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(translated.len()));
    Response::from_parts(parts, Body::from(translated))
}

/// `into_response` for a status, without importing the trait at every call.
trait IntoResponseNow {
    fn into_response_now(self) -> Response;
}

impl IntoResponseNow for axum::http::StatusCode {
    fn into_response_now(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

/// The Emby front end's entry: ids in, the shared dispatch, ids out.
pub(crate) async fn dispatch(
    State(front): State<std::sync::Arc<super::Front>>,
    request: Request,
) -> Response {
    let request = match inbound(&front, request).await {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let response = super::dispatch(State(front.clone()), request).await;
    outbound(&front, response).await
}

/// An item query Emby answers with genres or studios, which are items of their own there
/// (Jellyfin keeps them to `/Genres` and `/Studios`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameQuery {
    /// `IncludeItemTypes=Genre`, `MusicGenre`, `Studio` or `Tag` (one of them): the names on
    /// the user's items under `ParentId`, as `/Genres` lists them.
    Listing(NameKind),
    /// `Ids=` naming genres, studios or artists known by name only (by their name-derived
    /// ids): each is an item of its own on Emby, listed with the library items the other ids
    /// name (`others`, answered by the item query).
    Ids {
        named: Vec<NamedId>,
        others: Vec<String>,
    },
}

/// An id derived from a name, and what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamedId {
    /// A genre or studio.
    Name(u64),
    /// An artist known by name only (a track's "A feat. B").
    Artist(u64),
}

impl NameQuery {
    /// What `query` asks for, if it asks for names.
    pub(crate) fn of(query: &QueryParams) -> Option<Self> {
        let ids = query.list("Ids");
        if !ids.is_empty() {
            let (mut named, mut others) = (Vec::new(), Vec::new());
            for raw in ids {
                match JfId::decode(raw).map(|id| (id.space, id.number)) {
                    Some((IdSpace::Name, hash)) => named.push(NamedId::Name(hash)),
                    Some((IdSpace::ArtistName, hash)) => named.push(NamedId::Artist(hash)),
                    _ => others.push(raw.to_owned()),
                }
            }
            return (!named.is_empty()).then_some(NameQuery::Ids { named, others });
        }
        let types = query.list("IncludeItemTypes");
        let [only] = types.as_slice() else {
            return None;
        };
        [
            NameKind::Genre,
            NameKind::MusicGenre,
            NameKind::Studio,
            NameKind::Tag,
        ]
        .into_iter()
        .find(|kind| kind.type_name().eq_ignore_ascii_case(only))
        .map(NameQuery::Listing)
    }

    /// The answer: an item query's page of name items (uncounted unless asked, as every item
    /// query: `EnableTotalRecordCount=false` answers the page's own count).
    /// `others` answers the item query for the library items among `Ids` (their query).
    pub(crate) fn answer(
        &self,
        render: &Render<'_>,
        query: &QueryParams,
        others: impl FnOnce(&QueryParams) -> Result<(QueryResult<BaseItemDto>, Work), ApiError>,
    ) -> Result<(QueryResult<BaseItemDto>, Work), ApiError> {
        let (mut result, work) = match self {
            NameQuery::Listing(kind) => items::names(render, query, *kind)?,
            NameQuery::Ids { named, others: ids } => {
                let (listed, mut work) = if ids.is_empty() {
                    (Vec::new(), Work::default())
                } else {
                    let (page, work) = others(&query.with("Ids", &ids.join(",")))?;
                    (page.items, work)
                };
                let mut items = listed;
                items.extend(named.iter().filter_map(|&named| {
                    match named {
                        NamedId::Name(hash) => items::name_by_hash(render, hash)
                            .map(|(name, kind)| items::name_item(render, name, kind)),
                        NamedId::Artist(hash) => render.artist_by_name(hash),
                    }
                }));
                work.scanned += named.len() as u64;
                work.returned = items.len() as u64;
                let total = items.len();
                let page = QueryResult {
                    items,
                    total_record_count: total,
                    start_index: 0,
                };
                (page, work)
            }
        };
        if !query.bool("EnableTotalRecordCount")?.unwrap_or(true) {
            result.total_record_count = result.items.len();
        }
        Ok((result, work))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_go_out_as_numbers_and_come_back_as_guids() {
        let map = IdMap::default();
        let seed = 3;
        let item = guid_for_id(seed, 42);
        let view = super::super::ids::jf_id(IdSpace::View, 2);
        let artist = super::super::ids::jf_id(IdSpace::ArtistName, 0xdead_beef_1234);
        let user = "0123456789abcdef0123456789abcdef";
        let text = format!(
            r#"{{"Id":"{item}","ParentId":"{view}","ArtistItems":[{{"Id":"{artist}"}}],"UserId":"{user}","Etag":"0011223344556677"}}"#
        );
        let out = map.outbound(seed, &text);
        let value: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(value["Id"], "42");
        assert_eq!(value["ParentId"], "10000000002");
        assert_eq!(value["UserId"], user, "user ids stay GUIDs");
        assert_eq!(value["Etag"], "0011223344556677");
        let artist_number = value["ArtistItems"][0]["Id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert_eq!(
            map.inbound_path(seed, "/Users/u/Items/42"),
            format!("/Users/u/Items/{item}")
        );
        assert_eq!(
            map.inbound_path(seed, "/Playlists/20000000001/Items/30000000003/Move/2"),
            format!(
                "/Playlists/{}/Items/{}/Move/2",
                super::super::ids::jf_id(IdSpace::Playlist, 1),
                super::super::ids::jf_id(IdSpace::PlaylistEntry, 3)
            )
        );
        assert_eq!(
            map.inbound_path(seed, "/Items/42/Images/Primary/0"),
            format!("/Items/{item}/Images/Primary/0")
        );
        let query = map.inbound_query(
            seed,
            &format!("ParentId=10000000002&ArtistIds={artist_number},42&Limit=20"),
        );
        let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs["ParentId"], view);
        assert_eq!(pairs["ArtistIds"], format!("{artist},{item}"));
        assert_eq!(pairs["Limit"], "20");
        assert_eq!(map.guid_of(seed, 4 * BLOCK + 7), "0".repeat(32));
        assert_eq!(map.guid_of(seed, u64::MAX), "0".repeat(32));
    }
}
