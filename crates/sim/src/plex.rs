//! The Plex Media Server front end.
//!
//! XML by default, JSON with `Accept: application/json`; the token comes from the
//! `X-Plex-Token` header or query parameter (every `X-Plex-*` header may be sent as a query
//! parameter, as on the real server); 401 without a valid token except on `/identity`.
//! Paging by `X-Plex-Container-Start`/`-Size` as headers or query parameters; `Size=0` returns
//! only the count; paged answers carry `totalSize`/`offset` and the paging response headers.
//!
//! Documents are `cachearr_serverfmt::tree::El` trees (XML or JSON, shared with
//! the gateway). Modules: `metadata` (item elements), `listing` (the listing engine the read
//! endpoints share: filters, sorts, paging, and the items that ids and `server://` URIs name),
//! `browse` (sections, section listings, metadata, children), `lists` (search, hubs, recently
//! added, on deck, sessions, history, activities, playlists), `writes` (scrobble, rate,
//! timeline, progress, edits, refresh, playlist edits), `media` (artwork, media parts with
//! `Range`, and the choice of artwork), `notify` (websocket notifications and webhooks),
//! `prefs` (server and section settings), `playqueue` (play queues), `collections` (regular
//! and smart collections), with their state in `objects`; `m3u` (playlists imported from
//! playlist files); `editing` (metadata edits: values, locks, tags), `server` (butler, agents,
//! accounts, the plex.tv account the server is signed in to, devices, the file browser).

pub(crate) mod browse;
pub(crate) mod collections;
pub(crate) mod editing;
pub(crate) mod listing;
pub(crate) mod lists;
pub(crate) mod m3u;
pub(crate) mod media;
pub(crate) mod meta;
pub(crate) mod metadata;
pub(crate) mod notify;
pub(crate) mod objects;
pub(crate) mod playqueue;
pub(crate) mod prefs;
pub(crate) mod server;
pub(crate) mod statistics;
pub(crate) mod writes;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use futures_util::StreamExt;

use crate::Sim;
use crate::state::User;
use cachearr_serverfmt::tree::El;

/// The Plex API router (without `/_sim/`; [`Sim::serve_plex`] adds it).
pub fn router(sim: Sim) -> Router {
    // Long: the route table, one `.route` per path, read top to bottom.
    // Plex paths have segments like `/:/scrobble`; axum 0.7-style `:capture` checks must be off.
    Router::new()
        .without_v07_checks()
        .route("/identity", get(browse::identity))
        .route("/", get(browse::root))
        .route("/library", get(browse::library_root))
        .route("/library/sections", get(browse::sections))
        // The same list under the name the OpenAPI document gives it.
        .route("/library/sections/all", get(browse::sections))
        .route("/library/sections/{id}", get(browse::section))
        .route(
            "/library/sections/{id}/all",
            get(browse::section_all).put(writes::edit_all),
        )
        .route("/library/all", get(browse::library_all))
        .route(
            "/library/sections/{id}/timeline",
            get(browse::section_timeline),
        )
        .route("/library/sections/{id}/common", get(browse::section_common))
        .route("/hubs/sections/{id}", get(browse::section_hubs))
        .route(
            "/video/:/transcode/universal/{file}",
            get(media::transcode_start),
        )
        .route("/library/tags", get(browse::library_tags))
        .route("/library/sections/{id}/albums", get(browse::section_albums))
        .route(
            "/library/sections/{id}/onDeck",
            get(browse::section_on_deck),
        )
        .route(
            "/hubs/sections/{id}/continueWatching/items",
            get(browse::section_on_deck),
        )
        .route("/library/metadata/{id}/matches", get(browse::matches_of))
        .route("/library/metadata/{id}/related", get(browse::related))
        .route("/library/metadata/{id}/similar", get(browse::similar))
        .route(
            "/library/metadata/{id}/nearest",
            get(browse::sonic::nearest),
        )
        .route(
            "/library/sections/{id}/computePath",
            get(browse::sonic::compute_path),
        )
        .route(
            "/library/metadata/{id}/refresh",
            put(server::item_maintenance).post(server::item_maintenance),
        )
        .route(
            "/library/metadata/{id}/analyze",
            put(server::item_maintenance),
        )
        .route(
            "/library/sections/{id}/{filter}",
            get(browse::filter_choices),
        )
        .route("/library/metadata/{ids}", get(browse::metadata))
        .route("/library/metadata/{id}/children", get(browse::children))
        .route("/library/metadata/{id}/prefs", put(editing::edit_prefs))
        .route("/library/metadata/{id}/allLeaves", get(browse::all_leaves))
        .route("/library/metadata/{id}/thumb/{ts}", get(media::thumb))
        .route("/library/metadata/{id}/art/{ts}", get(media::art))
        .route(
            "/library/metadata/{id}/posters",
            get(media::posters).post(media::upload_poster),
        )
        .route("/library/metadata/{id}/poster", put(media::select_poster))
        .route(
            "/library/metadata/{id}/arts",
            get(media::arts).post(media::upload_art),
        )
        .route("/library/metadata/{id}/art", put(media::select_art))
        .route(
            "/library/metadata/{id}/themes",
            get(media::themes).post(media::upload_theme),
        )
        .route("/library/metadata/{id}/theme", put(media::select_theme))
        .route("/photo/:/transcode", get(media::transcode))
        .route("/library/parts/{id}/{ts}/{file}", get(media::part))
        .route("/library/sections/{id}/search", get(lists::section_search))
        .route(
            "/library/sections/{id}/collections",
            get(collections::section_collections),
        )
        .route(
            "/library/sections/{id}/prefs",
            get(prefs::get_section_prefs).put(prefs::put_section_prefs),
        )
        .route("/:/prefs", get(prefs::get_prefs).put(prefs::put_prefs))
        .route("/library/collections", post(collections::create))
        .route(
            "/library/collections/{id}",
            get(collections::get).delete(collections::delete),
        )
        .route(
            "/library/collections/{id}/children",
            get(collections::children),
        )
        .route(
            "/library/collections/{id}/items",
            put(collections::put_items),
        )
        .route(
            "/library/collections/{id}/items/{item}",
            delete(collections::remove_item),
        )
        .route(
            "/library/collections/{id}/items/{item}/move",
            put(collections::move_item),
        )
        .route(
            "/library/collections/{id}/prefs",
            put(collections::put_prefs),
        )
        .route(
            "/library/collections/{id}/posters",
            get(collections::posters),
        )
        .route("/library/collections/{id}/arts", get(collections::arts))
        .route("/playQueues", post(playqueue::create))
        .route("/playQueues/{id}", get(playqueue::get).put(playqueue::add))
        .route("/playQueues/{id}/items", delete(playqueue::clear))
        .route(
            "/playQueues/{id}/items/{entry}",
            delete(playqueue::remove_item),
        )
        .route(
            "/playQueues/{id}/items/{entry}/move",
            put(playqueue::move_item),
        )
        .route("/playQueues/{id}/shuffle", put(playqueue::shuffle_queue))
        .route(
            "/playQueues/{id}/unshuffle",
            put(playqueue::unshuffle_queue),
        )
        .route(
            "/library/sections/{id}/recentlyAdded",
            get(lists::section_recently_added),
        )
        .route(
            "/library/sections/{id}/refresh",
            get(writes::refresh)
                .post(writes::refresh)
                .put(writes::refresh)
                .delete(server::section_maintenance),
        )
        .route(
            "/library/sections/{id}/emptyTrash",
            put(server::section_maintenance),
        )
        .route(
            "/library/sections/{id}/analyze",
            put(server::section_maintenance),
        )
        .route(
            "/library/sections/{id}/indexes",
            delete(server::section_maintenance),
        )
        .route("/library/clean/bundles", put(server::maintenance))
        .route("/library/optimize", put(server::maintenance))
        .route("/hubs/search", get(lists::hub_search))
        .route("/library/recentlyAdded", get(lists::recently_added))
        .route("/hubs/home/recentlyAdded", get(lists::hubs_recently_added))
        .route("/library/onDeck", get(lists::on_deck))
        .route("/hubs/continueWatching", get(lists::continue_watching))
        .route("/hubs/continueWatching/items", get(lists::on_deck))
        .route("/status/sessions", get(lists::sessions))
        .route("/status/sessions/history/all", get(lists::history))
        .route("/activities", get(lists::activities))
        .route(
            "/playlists",
            get(lists::playlists).post(writes::create_playlist),
        )
        .route("/playlists/upload", post(m3u::upload))
        .route(
            "/playlists/{id}",
            get(lists::playlist)
                .put(writes::edit_playlist)
                .delete(writes::delete_playlist),
        )
        .route(
            "/playlists/{id}/items",
            get(lists::playlist_items)
                .put(writes::add_to_playlist)
                .delete(writes::clear_playlist),
        )
        .route(
            "/playlists/{id}/items/{entry}",
            delete(writes::remove_from_playlist),
        )
        .route(
            "/playlists/{id}/items/{entry}/move",
            put(writes::move_in_playlist),
        )
        .route("/:/scrobble", get(writes::scrobble).put(writes::scrobble))
        .route(
            "/:/unscrobble",
            get(writes::unscrobble).put(writes::unscrobble),
        )
        .route("/:/rate", get(writes::rate).put(writes::rate))
        .route("/:/timeline", get(writes::timeline).post(writes::timeline))
        .route("/:/progress", get(writes::progress).post(writes::progress))
        .route("/butler", get(server::butler))
        .route("/butler/{task}", axum::routing::post(server::run_butler))
        .route("/system/agents", get(server::agents))
        .route("/:/plugins/{agent}/prefs", get(server::agent_prefs))
        .route("/accounts", get(server::accounts))
        .route(
            "/myplex/account",
            get(server::myplex_account).delete(server::unclaim),
        )
        .route("/myplex/claim", post(server::claim))
        .route("/statistics/bandwidth", get(statistics::bandwidth))
        .route("/clients", get(server::clients))
        .route("/media/providers", get(server::media_providers))
        .route("/diagnostics/logs", get(server::diagnostics_logs))
        .route("/diagnostics/databases", get(server::diagnostics_databases))
        .route(
            "/updater/check",
            put(server::updater_check).post(server::updater_check),
        )
        .route("/updater/status", get(server::updater_status))
        .route("/devices", get(server::devices))
        .route("/services/browse", get(server::browse_root))
        .route("/services/browse/{*path}", get(server::browse))
        .route("/:/websockets/notifications", get(notify::websocket))
        .route("/:/websocket/notifications", get(notify::websocket))
        .fallback(not_found)
        .with_state(sim)
}

/// Starts the Plex front end's background work for `sim` (once): webhook delivery.
pub(crate) fn start_background(sim: &Sim) {
    notify::start(sim);
}

async fn not_found() -> Response {
    plex_error(StatusCode::NOT_FOUND)
}

/// Ids of play queues and collections start here, apart from library items (dense from 1)
/// and playlists (from 2,000,000,000).
pub(crate) const OBJECT_ID_BASE: u32 = 1_900_000_000;

/// The empty 200 answer of a write.
pub(crate) fn empty(ctx: &Ctx) -> Response {
    reply(ctx.json, &El::container().a("size", 0u32))
}

/// An error page as Plex sends it (HTML).
pub(crate) fn plex_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<html><head><title>{reason}</title></head><body><h1>{} {reason}</h1></body></html>",
        status.as_u16()
    );
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// The authenticated context of a Plex request.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) user: User,
    pub(crate) json: bool,
    pub(crate) query: Vec<(String, String)>,
    /// `X-Plex-Container-Start` (header or query).
    pub(crate) start: Option<usize>,
    /// `X-Plex-Container-Size` (header or query).
    pub(crate) size: Option<usize>,
    pub(crate) client_id: String,
    pub(crate) product: String,
}

impl Ctx {
    /// First value of a query parameter.
    pub(crate) fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A query flag (`1`/`true`).
    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.q(key), Some("1" | "true"))
    }
}

/// The user a token names, as the server decides it: a server-scoped token (the owner's, a
/// managed user's, an older share's) while plex.tv still lets that user use the server, or
/// else an account token that the server checks with plex.tv (an invited user's since 2026),
/// refused once the share is revoked there or while plex.tv cannot be reached.
pub(crate) fn authenticate(sim: &Sim, token: &str) -> Option<User> {
    let state = sim.state();
    let mut plextv = sim.plextv();
    if let Some(user) = state.user_by_plex_token(token) {
        return plextv.admits(user).then(|| user.clone());
    }
    plextv.validate(&state, token).cloned()
}

/// Reads `X-Plex-*` values from the header or the query string.
fn plex_value(headers: &HeaderMap, query: &[(String, String)], name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        })
}

pub(crate) fn parse_query(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

impl FromRequestParts<Sim> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Self::Rejection> {
        let query = parse_query(parts);
        let token = plex_value(&parts.headers, &query, "X-Plex-Token").unwrap_or_default();
        let Some(user) = authenticate(sim, &token) else {
            return Err(plex_error(StatusCode::UNAUTHORIZED));
        };
        let number = |name: &str| -> Result<Option<usize>, StatusCode> {
            match plex_value(&parts.headers, &query, name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| StatusCode::BAD_REQUEST),
            }
        };
        let start = number("X-Plex-Container-Start").map_err(plex_error)?;
        let size = number("X-Plex-Container-Size").map_err(plex_error)?;
        Ok(Ctx {
            json: wants_json(&parts.headers),
            start,
            size,
            client_id: plex_value(&parts.headers, &query, "X-Plex-Client-Identifier")
                .unwrap_or_default(),
            product: plex_value(&parts.headers, &query, "X-Plex-Product").unwrap_or_default(),
            query,
            user,
        })
    }
}

/// A 200 answer in the format the client asked for.
pub(crate) fn reply(json: bool, doc: &El) -> Response {
    let (ctype, body) = if json {
        ("application/json", doc.to_json())
    } else {
        ("text/xml;charset=utf-8", doc.to_xml())
    };
    let mut resp = (StatusCode::OK, [(header::CONTENT_TYPE, ctype)], body).into_response();
    resp.headers_mut()
        .insert("X-Plex-Protocol", HeaderValue::from_static("1.0"));
    resp
}

/// A 200 answer of a paged container, with the paging response headers.
pub(crate) fn reply_paged(json: bool, doc: &El, start: usize, total: usize) -> Response {
    let mut resp = reply(json, doc);
    resp.headers_mut()
        .insert("X-Plex-Container-Start", HeaderValue::from(start));
    resp.headers_mut()
        .insert("X-Plex-Container-Total-Size", HeaderValue::from(total));
    resp
}

/// Answers with more items than this are streamed in chunks of this many.
pub(crate) const STREAM_AFTER: usize = 500;

/// A 200 answer around a ready body (content type, protocol and paging headers).
pub(crate) fn finish(
    json: bool,
    body: axum::body::Body,
    paging: Option<(usize, usize)>,
) -> Response {
    let ctype = if json {
        "application/json"
    } else {
        "text/xml;charset=utf-8"
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert("X-Plex-Protocol", HeaderValue::from_static("1.0"));
    if let Some((start, total)) = paging {
        h.insert("X-Plex-Container-Start", HeaderValue::from(start));
        h.insert("X-Plex-Container-Total-Size", HeaderValue::from(total));
    }
    resp
}

/// Streams `container` with the items `ids` as children, rendering `STREAM_AFTER` items per
/// chunk (the library and state locks are taken per chunk, never across an await).
pub(crate) fn stream_items(
    sim: Sim,
    json: bool,
    container: El,
    ids: Vec<crate::library::ItemId>,
    user: u32,
    opts: metadata::RenderOpts,
) -> axum::body::Body {
    let (open, close) = if json {
        (container.json_open("Metadata"), "]}}".to_string())
    } else {
        (container.xml_open(), container.xml_close())
    };
    let chunks: Vec<Vec<crate::library::ItemId>> = ids
        .chunks(STREAM_AFTER)
        .map(<[crate::library::ItemId]>::to_vec)
        .collect();
    let head =
        futures_util::stream::once(
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(open)) },
        );
    let mut first = true;
    let body = futures_util::stream::iter(chunks).map(move |chunk| {
        let mut out = String::with_capacity(chunk.len() * 1_500);
        let lib = sim.library();
        let state = sim.state();
        for id in chunk {
            if let Some(item) = lib.item(id) {
                let el = metadata::item_el(&lib, &state, user, &item, opts);
                if json {
                    if !first {
                        out.push(',');
                    }
                    out.push_str(&el.json_fragment());
                } else {
                    out.push('\n');
                    el.write_xml_into(&mut out);
                }
                first = false;
            }
        }
        Ok::<_, std::io::Error>(bytes::Bytes::from(out))
    });
    let tail =
        futures_util::stream::once(
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(close)) },
        );
    axum::body::Body::from_stream(head.chain(body).chain(tail))
}

/// The window `[start, start+size)` of `total` items asked for by the context; `None` size
/// means "everything from start".
pub(crate) fn window(ctx: &Ctx, total: usize) -> (usize, usize) {
    let start = ctx.start.unwrap_or(0).min(total);
    let end = match ctx.size {
        Some(size) => start.saturating_add(size).min(total),
        None => total,
    };
    (start, end)
}
