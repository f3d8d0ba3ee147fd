//! `POST /api/match` on the admin listener: a playlist matched against an upstream's library
//! index, within the sections the asking user may see, with remembered matches.
//!
//! # Who sees what
//! * A request carrying a **media-server token** (`X-Cachearr-User-Token`, or the server's own
//!   header: `X-Plex-Token`; `X-Emby-Token`, `X-MediaBrowser-Token` or
//!   `Authorization: MediaBrowser Token="…"`) is answered only from the sections that token
//!   may read, learnt with [`super::visibility::user_sections`] (Plex `GET /library/sections`,
//!   Jellyfin `GET /UserViews`, as that user, through the cache: 5 minutes fresh, the same
//!   entry the user's own clients read). When the server refuses the token or cannot say, the
//!   answer is a 401. The admin token is not needed: the server vouches for the user and the
//!   answer holds nothing that user cannot already read. Sections where the server hides part
//!   of the items from the user (share filters, parental policies: see
//!   [`super::visibility::whole_sections`]) are not matched at all and are listed in
//!   `withheld_sections`.
//! * A request **without** a user token is the administrator's: it needs the admin token
//!   (when one is configured, as every admin mutation does) and matches against every section.
//!
//! # Remembered matches
//! Accepted matches are kept in a [`MatchStore`] per upstream, in
//! `{data_dir}/library/{upstream}.matches`, loaded on first use and written (atomically) after
//! a request that changed it. A remembered match is used again only while its item is in the
//! index with the same `updatedAt` (checked on every read), and when a new index has been
//! installed since the last request (a refresh swapped it) the whole store is pruned against
//! it first, so memories of changed or vanished items are dropped and written out at once.
//!
//! # Not ready
//! Until the upstream's index is built, the answer is a 503 with a JSON body saying so: a
//! playlist tool should wait (`Retry-After`) rather than fall back to thousands of searches.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cachearr_library::playlist::{PlaylistFormat, parse_playlist};
use cachearr_library::{
    Band, LibraryIndex, MatchMethod, MatchOutcome, MatchStore, Matcher, MatcherConfig, TrackQuery,
    Visibility,
};
use serde::{Deserialize, Serialize};

use crate::Library;
use cachearr_dialect::Profile;
use cachearr_gateway::error_answer::ErrorAnswer;
use cachearr_upstream::client::Upstream;

/// Largest playlist body accepted (a 10,000-track CSV export is about 2 MB).
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The neutral header a tool talking to several upstreams may carry the user's token in.
pub const USER_TOKEN_HEADER: &str = "x-cachearr-user-token";

/// One matched (or candidate) library item, as the API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedItem {
    /// The server's id (Plex `ratingKey`, Jellyfin `Id`).
    pub id: String,
    /// The track title as the library has it.
    pub title: String,
    /// The track's artist credits.
    pub artists: Vec<String>,
    /// The album.
    pub album: Option<String>,
    /// The library section (Plex section id, Jellyfin library id).
    pub section: String,
    /// This candidate's score in `0..=1`.
    pub score: f32,
}

/// The answer for one playlist entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchEntry {
    /// The entry as read from the playlist.
    pub query: TrackQuery,
    /// `accept`, `review` or `reject`.
    pub band: Band,
    /// The best candidate's score (`None` when nothing came close).
    pub score: Option<f32>,
    /// Which evidence decided (`mbid`, `isrc`, `exact_key`, `fuzzy`, `remembered`, `none`).
    pub method: MatchMethod,
    /// The best candidate, even when rejected.
    pub best: Option<MatchedItem>,
    /// The next candidate (the best different song if there is one).
    pub runner_up: Option<MatchedItem>,
}

/// Counts over the whole playlist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchSummary {
    /// Entries read.
    pub entries: usize,
    /// Entries in band `accept`.
    pub accepted: usize,
    /// Entries in band `review`.
    pub review: usize,
    /// Entries in band `reject`.
    pub rejected: usize,
    /// Accepted entries answered from a remembered match (no matching work).
    pub remembered: usize,
    /// Remembered matches dropped by this request because their item changed or vanished.
    pub forgotten: usize,
    /// Seconds spent matching.
    pub seconds: f64,
}

/// The answer of `POST /api/match` (and of `cachearr match --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchAnswer {
    /// The upstream matched against (empty for an offline `cachearr match`).
    #[serde(default)]
    pub upstream: String,
    /// `plex` or `jellyfin` (empty offline).
    #[serde(default)]
    pub profile: String,
    /// The upstream's proxy listener (`host:port`) when its port is fixed, for tools that
    /// write through the gateway next (`cachearr playlist sync`).
    #[serde(default)]
    pub proxy: Option<String>,
    /// `user` (the sections the token may read) or `everything` (the administrator).
    #[serde(default)]
    pub scope: String,
    /// The sections matched against, for `user` scope.
    #[serde(default)]
    pub sections: Option<Vec<String>>,
    /// Sections the user may open but where the server hides part of the items from them
    /// (a share filtered by label or content rating, a parental policy): the index cannot
    /// tell which, so nothing in them is matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld_sections: Option<Vec<String>>,
    /// Items in the index.
    #[serde(default)]
    pub index_items: usize,
    /// One answer per entry, in playlist order.
    pub entries: Vec<MatchEntry>,
    /// Counts.
    pub summary: MatchSummary,
}

impl MatchedItem {
    fn of(index: &LibraryIndex, candidate: &cachearr_library::matcher::Candidate) -> MatchedItem {
        let artists = index
            .by_id(&candidate.id, &Visibility::everything())
            .map(|view| view.artists().into_iter().map(str::to_string).collect())
            .unwrap_or_else(|| {
                candidate
                    .artist
                    .split(", ")
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect()
            });
        MatchedItem {
            id: candidate.id.clone(),
            title: candidate.title.clone(),
            artists,
            album: candidate.album.clone(),
            section: candidate.section_id.clone(),
            score: candidate.score,
        }
    }
}

impl MatchEntry {
    /// The API form of one outcome (`index` supplies the artists of the items).
    pub fn of(index: &LibraryIndex, query: &TrackQuery, outcome: &MatchOutcome) -> MatchEntry {
        MatchEntry {
            query: query.clone(),
            band: outcome.band,
            score: outcome.best.as_ref().map(|best| best.score),
            method: outcome.method,
            best: outcome.best.as_ref().map(|c| MatchedItem::of(index, c)),
            runner_up: outcome
                .runner_up
                .as_ref()
                .map(|c| MatchedItem::of(index, c)),
        }
    }
}

impl MatchSummary {
    /// Counts of `entries`; `seconds` and `forgotten` are the caller's.
    pub fn count(entries: &[MatchEntry], seconds: f64, forgotten: usize) -> MatchSummary {
        let band = |b: Band| entries.iter().filter(|e| e.band == b).count();
        MatchSummary {
            entries: entries.len(),
            accepted: band(Band::Accept),
            review: band(Band::Review),
            rejected: band(Band::Reject),
            remembered: entries
                .iter()
                .filter(|e| e.method == MatchMethod::Remembered)
                .count(),
            forgotten,
            seconds,
        }
    }
}

/// The remembered matches of one upstream.
struct StoreSlot {
    path: PathBuf,
    /// Loaded on first use.
    store: Option<MatchStore>,
    /// The index the store was last pruned against (weak: a swapped-out index is freed).
    pruned_against: Weak<LibraryIndex>,
}

impl StoreSlot {
    fn store(&mut self) -> &mut MatchStore {
        let path = &self.path;
        self.store.get_or_insert_with(|| match MatchStore::load(path) {
            Ok(store) => store,
            Err(err) => {
                // A damaged file costs the memories, never the request; the next save replaces it.
                tracing::warn!(path = %path.display(), error = %err, "match store unreadable; starting empty");
                MatchStore::new()
            }
        })
    }
}

/// The state behind `POST /api/match`.
pub struct MatchService {
    library: Arc<Library>,
    /// One slot per upstream, in configuration order.
    stores: Vec<Arc<Mutex<StoreSlot>>>,
}

impl std::fmt::Debug for MatchService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchService").finish_non_exhaustive()
    }
}

/// `{data_dir}/library/{upstream}.matches`, with the name made safe for a file name.
pub fn store_path(data_dir: &Path, upstream: &str) -> PathBuf {
    let safe: String = upstream
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    data_dir.join("library").join(format!("{safe}.matches"))
}

/// Why a request could not be answered: a status and a message for the JSON body.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
    /// The index status (`GET /api/index`'s form), for a 503.
    index: Option<serde_json::Value>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            index: None,
        }
    }
}

/// Who is asking.
enum Asker {
    /// The administrator: every section.
    Admin,
    /// A media-server user, by token.
    User(String),
}

impl MatchService {
    /// The service over `library` (nothing is read from disk until the first request).
    pub fn new(library: Arc<Library>) -> MatchService {
        let data_dir = library.reads().config().data_dir.clone();
        let stores = library
            .upstreams()
            .iter()
            .map(|up| {
                Arc::new(Mutex::new(StoreSlot {
                    path: store_path(&data_dir, &up.name),
                    store: None,
                    pruned_against: Weak::new(),
                }))
            })
            .collect();
        MatchService { library, stores }
    }

    /// The section ids `token` may read on `up` (through the cache, as that user): those it
    /// is shown to see whole, and those where the server hides part of the items from it.
    async fn user_sections(
        &self,
        up: &Arc<Upstream>,
        token: &str,
        index: &Arc<LibraryIndex>,
    ) -> Result<(Vec<String>, Vec<String>), Refusal> {
        let gw = self.library.reads();
        let user = up.users.touch(
            &up.name,
            gw.secret().user_of(token),
            token,
            gw.clock().now_ms(),
        );
        match super::visibility::user_sections(gw, up, &user).await {
            Some(sections) => {
                // The index's own counts are the yardstick only without an owner token (the
                // proof does not read them then).
                let folded = super::folded::folded(index).await;
                let whole = super::visibility::whole_sections(
                    gw,
                    up,
                    &user,
                    &sections,
                    |id, k| folded.as_ref().map_or(u64::MAX, |f| f.count(id, k)),
                    |id, k| folded.as_ref().is_some_and(|f| f.held_by_leaves(id, k)),
                )
                .await;
                let partial = sections
                    .ids()
                    .into_iter()
                    .filter(|id| !whole.iter().any(|w| w == id))
                    .map(str::to_string)
                    .collect();
                Ok((whole, partial))
            }
            None => Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "upstream {} did not say which sections this user token may read (the \
                     token was refused, or the server cannot be reached)",
                    up.name
                ),
            )),
        }
    }

    /// Matches `queries` for upstream `upstream` (the whole request after parsing).
    async fn answer(
        &self,
        upstream: Option<&str>,
        asker: Asker,
        queries: Vec<TrackQuery>,
    ) -> Result<MatchAnswer, Refusal> {
        let upstreams = self.library.upstreams();
        let n = match upstream {
            Some(name) => upstreams
                .iter()
                .position(|u| &*u.name == name)
                .ok_or_else(|| {
                    Refusal::new(StatusCode::NOT_FOUND, format!("no upstream named {name:?}"))
                })?,
            None if upstreams.len() == 1 => 0,
            None => {
                let names: Vec<&str> = upstreams.iter().map(|u| &*u.name).collect();
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("say which upstream: ?upstream= one of {names:?}"),
                ));
            }
        };
        let up = upstreams[n].clone();
        let handle = self.library.index(&up.name);
        let Some(index) = handle.and_then(|h| h.ready()) else {
            let status = handle.map(|h| h.status());
            let why = match &status {
                Some(s) if s.state == super::status::IndexState::Disabled => {
                    "is turned off ([index] enabled = false); matching needs it"
                }
                Some(s) if s.state == super::status::IndexState::Failed => {
                    "failed to build (see GET /api/index); matching needs it"
                }
                _ => "is not built yet; matching needs it (it is built automatically: retry later)",
            };
            let mut refusal = Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the library index of upstream {:?} {why}", up.name),
            );
            refusal.index = status.and_then(|s| serde_json::to_value(s).ok());
            return Err(refusal);
        };
        let (scope, visibility, sections, withheld) = match asker {
            Asker::Admin => ("everything", Visibility::everything(), None, None),
            Asker::User(token) => {
                let (sections, withheld) = self.user_sections(&up, &token, &index).await?;
                (
                    "user",
                    Visibility::sections(sections.iter().cloned()),
                    Some(sections),
                    Some(withheld).filter(|w: &Vec<String>| !w.is_empty()),
                )
            }
        };
        let slot = self.stores[n].clone();
        let work_index = index.clone();
        let (entries, forgotten, seconds) = tokio::task::spawn_blocking(move || {
            match_with_store(&slot, &work_index, &visibility, &queries)
        })
        .await
        .map_err(|err| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("matching failed: {err}"),
            )
        })?;
        let listen = up.config.listen;
        let proxy = (listen.port() != 0).then(|| {
            if listen.ip().is_unspecified() {
                format!("127.0.0.1:{}", listen.port())
            } else {
                listen.to_string()
            }
        });
        let summary = MatchSummary::count(&entries, seconds, forgotten);
        tracing::info!(
            upstream = %up.name,
            scope,
            entries = summary.entries,
            accepted = summary.accepted,
            review = summary.review,
            rejected = summary.rejected,
            remembered = summary.remembered,
            seconds,
            "playlist matched"
        );
        Ok(MatchAnswer {
            upstream: up.name.to_string(),
            profile: up.profile.as_str().to_string(),
            proxy,
            scope: scope.to_string(),
            sections,
            withheld_sections: withheld,
            index_items: index.len(),
            entries,
            summary,
        })
    }
}

/// Prunes the store if the index changed since the last request, matches (remembered
/// decisions first), and writes the store if it changed. Returns the entries, how many
/// memories were dropped and the seconds spent.
#[allow(
    clippy::disallowed_methods,
    reason = "a matching run's duration is real time"
)]
fn match_with_store(
    slot: &Mutex<StoreSlot>,
    index: &Arc<LibraryIndex>,
    visibility: &Visibility,
    queries: &[TrackQuery],
) -> (Vec<MatchEntry>, usize, f64) {
    let started = Instant::now();
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    // The store was pruned against this very index before, so every memory left names an
    // item as it is now: only an index swap can make one stale.
    let mut forgotten = 0;
    let swapped = slot.pruned_against.as_ptr() != Arc::as_ptr(index);
    if swapped {
        forgotten = slot.store().prune(index);
        slot.pruned_against = Arc::downgrade(index);
    }
    let store = slot.store();
    let before = store.len();
    let matcher = Matcher::new(index, visibility, MatcherConfig::default());
    let outcomes = store.match_all(&matcher, visibility, queries, &|_| {});
    let after = store.len();
    let fresh_accepts = outcomes
        .iter()
        .any(|o| o.band == Band::Accept && o.method != MatchMethod::Remembered);
    let changed = fresh_accepts || forgotten > 0 || before != after;
    if changed {
        let path = slot.path.clone();
        let written = match path.parent() {
            Some(dir) => std::fs::create_dir_all(dir).map_err(|e| e.to_string()),
            None => Ok(()),
        }
        .and_then(|()| {
            slot.store
                .as_ref()
                .map_or(Ok(()), |s| s.save(&path).map_err(|e| e.to_string()))
        });
        if let Err(err) = written {
            // The answer stands; only the memory of it is lost.
            tracing::warn!(path = %path.display(), error = %err, "cannot write the match store");
        }
    }
    let entries = queries
        .iter()
        .zip(&outcomes)
        .map(|(query, outcome)| MatchEntry::of(index, query, outcome))
        .collect();
    (entries, forgotten, started.elapsed().as_secs_f64())
}

/// Query of `POST /api/match`.
#[derive(Debug, Default, Deserialize)]
struct MatchQuery {
    upstream: Option<String>,
    /// `csv`, `json` or `m3u`; default from the content type, else from the content.
    format: Option<String>,
    /// The admin token, for callers that cannot send a header.
    token: Option<String>,
}

/// The playlist format a request names (`format=` first, then `Content-Type`).
fn format_of(
    param: Option<&str>,
    headers: &HeaderMap,
    text: &str,
) -> Result<PlaylistFormat, Refusal> {
    if let Some(name) = param {
        return match name.to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Ok(PlaylistFormat::Csv),
            "json" => Ok(PlaylistFormat::Json),
            "m3u" | "m3u8" => Ok(PlaylistFormat::M3u),
            other => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("unknown format {other:?}: use csv, json or m3u"),
            )),
        };
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    Ok(match content_type.as_str() {
        "text/csv" | "text/tab-separated-values" => PlaylistFormat::Csv,
        "application/json" => PlaylistFormat::Json,
        "audio/x-mpegurl"
        | "audio/mpegurl"
        | "application/x-mpegurl"
        | "application/vnd.apple.mpegurl" => PlaylistFormat::M3u,
        _ => PlaylistFormat::sniff(text),
    })
}

/// The user's media-server token, if the request carries one.
fn user_token(profiles: &[Profile], headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(USER_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
    {
        return Some(t.to_string());
    }
    profiles
        .iter()
        .find_map(|&profile| cachearr_dialect::token_of(profile, headers, None))
        .map(|t| t.into_owned())
}

fn json_error(refusal: Refusal) -> Response {
    let not_ready = refusal.status == StatusCode::SERVICE_UNAVAILABLE;
    let mut answer = ErrorAnswer::of_status(refusal.status, refusal.message)
        .with_field("ready", (!not_ready).into());
    if let Some(index) = refusal.index {
        answer = answer.with_field("index", index);
    }
    if not_ready {
        answer = answer.retry_after(30);
    }
    answer.into_response()
}

async fn post_match(
    State(service): State<Arc<MatchService>>,
    headers: HeaderMap,
    query: Result<Query<MatchQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Response {
    let Ok(Query(query)) = query else {
        return json_error(Refusal::new(
            StatusCode::BAD_REQUEST,
            "malformed query: use ?upstream=NAME&format=csv|json|m3u",
        ));
    };
    // The upstream's server decides which headers carry a user token. An unknown upstream
    // is reported by `answer`: until then its token is read as any configured server would
    // read it, so that a user's mistyped name is told so rather than asked for the admin
    // token.
    let upstreams = service.library.upstreams();
    let named = match &query.upstream {
        Some(name) => upstreams.iter().find(|u| &*u.name == name),
        None => upstreams.first(),
    };
    let profiles: Vec<Profile> = match named {
        Some(up) => vec![up.profile],
        None => upstreams.iter().map(|u| u.profile).collect(),
    };
    let asker = match user_token(&profiles, &headers) {
        Some(token) => Asker::User(token),
        None => {
            if let Err(denied) = cachearr_gateway::auth::authorize_token(
                service.library.reads().config().admin_token.as_deref(),
                &headers,
                query.token.as_deref(),
            ) {
                return denied.into_response();
            }
            Asker::Admin
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return json_error(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the playlist is not UTF-8 text",
        ));
    };
    let format = match format_of(query.format.as_deref(), &headers, text) {
        Ok(f) => f,
        Err(refusal) => return json_error(refusal),
    };
    let queries = match parse_playlist(text, format, "request body") {
        Ok(q) => q,
        Err(err) => return json_error(Refusal::new(StatusCode::BAD_REQUEST, err.to_string())),
    };
    match service
        .answer(query.upstream.as_deref(), asker, queries)
        .await
    {
        Ok(answer) => {
            let mut response = axum::Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(refusal) => json_error(refusal),
    }
}

/// The routes of the matching API, merged into the admin router.
pub fn router(library: Arc<Library>) -> Router {
    Router::new()
        .route("/api/match", post(post_match))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Arc::new(MatchService::new(library)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_param_content_type_or_content() {
        let mut h = HeaderMap::new();
        assert_eq!(
            format_of(Some("M3U"), &h, "").ok(),
            Some(PlaylistFormat::M3u)
        );
        assert!(format_of(Some("xls"), &h, "").is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        assert_eq!(format_of(None, &h, "[]").ok(), Some(PlaylistFormat::Csv));
        h.clear();
        assert_eq!(format_of(None, &h, "[{}]").ok(), Some(PlaylistFormat::Json));
    }

    #[test]
    fn store_paths_are_safe_file_names() {
        let p = store_path(Path::new("/data"), "../plex one");
        assert_eq!(p, Path::new("/data/library/___plex_one.matches"));
    }
}
