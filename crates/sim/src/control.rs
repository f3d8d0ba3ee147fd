//! The `/_sim/` control API, mounted on every listener, and the bookkeeping behind it: request
//! counts per route ([`Stats`]) and injected faults ([`Faults`]).
//!
//! | route | what it does |
//! |---|---|
//! | `GET /_sim/stats` | requests per route and in total since the last reset, cost accounting, webhook counts |
//! | `POST /_sim/reset` | zeroes the counters and clears faults; `?state=1` also forgets play state, history, playlists and closes the notification sockets (a restart with other state) |
//! | `POST /_sim/sockets/silence` | every notification socket open now stays open but carries nothing either way (no events, keep-alive replies or pongs) |
//! | `POST /_sim/sockets/close` | every notification socket open now is closed (a restart) |
//! | `GET/POST/DELETE /_sim/faults` | read / set / clear [`Faults`] (JSON body) |
//! | `POST /_sim/library/add` | `{"kind":"track","parent":123,"title":"…"}` or `{"kind":"movie","section":2,"title":"…"}`, plus any real item fields (`duration`, `originalTitle`, `year`, `index`, `disc`, `musicbrainzId`, `isrc`, `guid`, `guids`, `labels`, `genres`, `contentRating`, `studio`, `summary`, `file`, `media` …, see `library::ItemFields`); `"count"` adds several |
//! | `POST /_sim/library/remove` | `{"ids":[1,2]}` removes the items and their descendants |
//! | `POST /_sim/library/rename` | `{"id":1,"title":"…"}` |
//! | `POST /_sim/library/refresh` | `{"section":1}` runs a scan (activity events) |
//! | `GET /_sim/tokens` | every user with name, password, Plex token and plex.tv account token, Jellyfin token and id, sections, restrictions (Plex share filters, Jellyfin policy) |
//! | `POST /_sim/tokens/revoke` | `{"token":"…"}`: the server refuses that token (401) until it is restored |
//! | `POST /_sim/tokens/restore` | `{"token":"…"}`: the server accepts it again |
//! | `POST /_sim/clock/advance?secs=N` | moves the server's clock on (the times of plays, edits and events made from then on), as a benchmark moves a gateway's in its measurement mode |
//!
//! Control requests are neither counted nor subject to faults.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Sim;
use crate::library::{ItemFields, ItemId, ItemKind, NewItem};

/// Request counters since the last reset.
#[derive(Debug, Default)]
pub struct Stats {
    total: AtomicU64,
    routes: Mutex<BTreeMap<String, RouteStats>>,
    items_scanned: AtomicU64,
    items_returned: AtomicU64,
    cost_us: AtomicU64,
    webhooks_sent: AtomicU64,
    webhooks_failed: AtomicU64,
    faults_injected: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

/// Counts one request as in flight until dropped (see [`Stats::enter`]).
pub(crate) struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counters of one route (`METHOD /path/{template}`).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteStats {
    /// Requests.
    pub requests: u64,
    /// Simulated cost charged, in microseconds.
    pub cost_us: u64,
}

/// A copy of the counters, as `GET /_sim/stats` returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// All requests except `/_sim/`.
    pub total: u64,
    /// Per route template, e.g. `GET /library/sections/{id}/all`.
    pub routes: BTreeMap<String, RouteStats>,
    /// Items scanned (cost model input).
    pub items_scanned: u64,
    /// Items returned (cost model input).
    pub items_returned: u64,
    /// Simulated cost charged, microseconds.
    pub cost_us: u64,
    /// Webhook posts answered with 2xx.
    pub webhooks_sent: u64,
    /// Webhook posts that failed.
    pub webhooks_failed: u64,
    /// Requests a fault was injected into.
    pub faults_injected: u64,
    /// Most requests handled at the same time since the last reset (how hard a client leaned
    /// on the server: a crawl on a background budget of 2 never shows more than 2).
    #[serde(default)]
    pub peak_in_flight: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Stats {
    pub(crate) fn count_request(&self, route: &str, cost_us: u64) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut routes = lock(&self.routes);
        if let Some(r) = routes.get_mut(route) {
            r.requests += 1;
            r.cost_us += cost_us;
        } else {
            routes.insert(
                route.to_string(),
                RouteStats {
                    requests: 1,
                    cost_us,
                },
            );
        }
    }

    /// Marks a request in flight (raising the peak) until the guard is dropped.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }

    pub(crate) fn add_work(&self, scanned: u64, returned: u64, cost_us: u64) {
        self.items_scanned.fetch_add(scanned, Ordering::Relaxed);
        self.items_returned.fetch_add(returned, Ordering::Relaxed);
        self.cost_us.fetch_add(cost_us, Ordering::Relaxed);
    }

    pub(crate) fn count_webhook(&self, ok: bool) {
        if ok {
            &self.webhooks_sent
        } else {
            &self.webhooks_failed
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_fault(&self) {
        self.faults_injected.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            total: self.total.load(Ordering::Relaxed),
            routes: lock(&self.routes).clone(),
            items_scanned: self.items_scanned.load(Ordering::Relaxed),
            items_returned: self.items_returned.load(Ordering::Relaxed),
            cost_us: self.cost_us.load(Ordering::Relaxed),
            webhooks_sent: self.webhooks_sent.load(Ordering::Relaxed),
            webhooks_failed: self.webhooks_failed.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            peak_in_flight: self.peak_in_flight.load(Ordering::Relaxed),
        }
    }

    /// Zeroes everything.
    pub fn reset(&self) {
        self.total.store(0, Ordering::Relaxed);
        lock(&self.routes).clear();
        for c in [
            &self.items_scanned,
            &self.items_returned,
            &self.cost_us,
            &self.webhooks_sent,
            &self.webhooks_failed,
            &self.faults_injected,
            &self.peak_in_flight,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Faults injected into front-end requests (never into `/_sim/`). Rates are probabilities in
/// `[0, 1]`, decided by a deterministic sequence so a test run is reproducible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of requests answered with `error_status` instead of the real answer.
    pub error_rate: f64,
    /// Status of injected errors (default 500).
    pub error_status: u16,
    /// Extra latency added to every request, milliseconds.
    pub latency_ms: u64,
    /// Share of requests whose connection is closed without any response.
    pub drop_rate: f64,
    /// Refuse every new connection (accepted and reset at once, as a dead server would).
    pub refuse: bool,
    /// Share of responses cut off half-way (the declared `Content-Length` is not honoured).
    pub truncate_rate: f64,
    /// Share of responses whose body is complete HTTP but broken XML/JSON.
    pub malformed_rate: f64,
    /// Share of image responses (`Content-Type: image/*`) sent complete and well framed (same
    /// length, same start and end) but with bytes in the middle damaged, as a half-written
    /// or bit-rotted file on the server would be.
    pub corrupt_image_rate: f64,
    /// Only requests whose path starts with this prefix are affected (None = all).
    pub path_prefix: Option<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_status: 500,
            latency_ms: 0,
            drop_rate: 0.0,
            refuse: false,
            truncate_rate: 0.0,
            malformed_rate: 0.0,
            corrupt_image_rate: 0.0,
            path_prefix: None,
        }
    }
}

impl Faults {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("error_rate", self.error_rate),
            ("drop_rate", self.drop_rate),
            ("truncate_rate", self.truncate_rate),
            ("malformed_rate", self.malformed_rate),
            ("corrupt_image_rate", self.corrupt_image_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be within 0..=1"));
            }
        }
        if !(100..=599).contains(&self.error_status) {
            return Err("error_status must be an HTTP status (100..=599)".into());
        }
        Ok(())
    }

    /// True when the faults apply to `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
    }
}

/// The `/_sim/` routes.
pub(crate) fn router(sim: Sim) -> Router {
    Router::new()
        .route("/_sim/stats", get(stats))
        .route("/_sim/reset", post(reset))
        .route(
            "/_sim/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/_sim/library/add", post(add))
        .route("/_sim/library/remove", post(remove))
        .route("/_sim/library/rename", post(rename))
        .route("/_sim/library/refresh", post(refresh))
        .route("/_sim/sockets/silence", post(silence_sockets))
        .route("/_sim/sockets/close", post(close_sockets))
        .route("/_sim/tokens", get(tokens))
        .route("/_sim/tokens/revoke", post(revoke_token))
        .route("/_sim/tokens/restore", post(restore_token))
        .route("/_sim/clock/advance", post(advance_clock))
        .with_state(sim)
}

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

async fn stats(State(sim): State<Sim>) -> Json<StatsSnapshot> {
    Json(sim.stats())
}

#[derive(Deserialize)]
struct ResetQuery {
    #[serde(default)]
    state: Option<String>,
}

async fn reset(State(sim): State<Sim>, Query(q): Query<ResetQuery>) -> Json<serde_json::Value> {
    sim.reset_stats();
    sim.set_faults(Faults::default());
    let state = matches!(q.state.as_deref(), Some("1" | "true"));
    if state {
        sim.reset_state();
    }
    Json(json!({"reset": true, "state": state}))
}

#[derive(Deserialize)]
struct AdvanceQuery {
    secs: u64,
}

async fn advance_clock(State(sim): State<Sim>, Query(q): Query<AdvanceQuery>) -> Response {
    if q.secs > 366 * 24 * 3600 {
        return bad("secs= is more than a year");
    }
    Json(json!({"offset_secs": sim.advance_clock(q.secs)})).into_response()
}

async fn silence_sockets(State(sim): State<Sim>) -> Json<serde_json::Value> {
    sim.silence_sockets();
    Json(json!({"silenced": true}))
}

async fn close_sockets(State(sim): State<Sim>) -> Json<serde_json::Value> {
    sim.close_sockets();
    Json(json!({"closed": true}))
}

async fn get_faults(State(sim): State<Sim>) -> Json<Faults> {
    Json(sim.faults())
}

async fn set_faults(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(err) => return bad(format!("bad faults JSON: {err}")),
    };
    if let Err(msg) = faults.validate() {
        return bad(msg);
    }
    sim.set_faults(faults.clone());
    Json(faults).into_response()
}

async fn clear_faults(State(sim): State<Sim>) -> Json<Faults> {
    sim.set_faults(Faults::default());
    Json(Faults::default())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    kind: String,
    #[serde(default)]
    section: Option<u32>,
    #[serde(default)]
    parent: Option<ItemId>,
    title: String,
    #[serde(default)]
    count: Option<u32>,
}

/// The body's own keys, then a real item's fields (duration, originalTitle, year, index, disc,
/// musicbrainzId, isrc, guid, guids, labels, genres, contentRating, studio, summary, file,
/// media…) from the rest; unknown names are refused (serde's `flatten` would drop them).
fn add_body(bytes: &[u8]) -> Result<(AddBody, ItemFields), String> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut own = serde_json::Map::new();
    for k in ["kind", "section", "parent", "title", "count"] {
        if let Some(v) = map.remove(k) {
            own.insert(k.to_string(), v);
        }
    }
    let body = serde_json::from_value(serde_json::Value::Object(own)).map_err(|e| e.to_string())?;
    let fields =
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())?;
    Ok((body, fields))
}

async fn add(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let (body, fields) = match add_body(&body) {
        Ok(b) => b,
        Err(err) => return bad(format!("bad JSON: {err}")),
    };
    let Some(kind) = ItemKind::from_plex_name(&body.kind) else {
        return bad(format!("unknown kind {:?}", body.kind));
    };
    let count = body.count.unwrap_or(1).clamp(1, 10_000);
    let mut ids = Vec::new();
    for n in 0..count {
        let title = if count == 1 {
            body.title.clone()
        } else {
            format!("{} {}", body.title, n + 1)
        };
        let new = NewItem {
            kind,
            section: body.section,
            parent: body.parent,
            title,
            added_at: sim.now(),
        };
        match sim.add_item_with(new, fields.clone()) {
            Ok(id) => ids.push(id),
            Err(err) => return bad(err.to_string()),
        }
    }
    Json(json!({"ids": ids})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveBody {
    ids: Vec<ItemId>,
}

async fn remove(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let body: RemoveBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(err) => return bad(format!("bad JSON: {err}")),
    };
    let mut removed = Vec::new();
    for id in body.ids {
        match sim.remove_item(id) {
            Ok(r) => removed.extend(r),
            Err(err) => {
                return (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": err.to_string(), "removed": removed})),
                )
                    .into_response();
            }
        }
    }
    Json(json!({"removed": removed})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    id: ItemId,
    title: String,
}

async fn rename(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let body: RenameBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(err) => return bad(format!("bad JSON: {err}")),
    };
    match sim.rename_item(body.id, &body.title) {
        Ok(()) => Json(json!({"id": body.id, "title": body.title})).into_response(),
        Err(err) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": err.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    section: u32,
}

async fn refresh(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let body: RefreshBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(err) => return bad(format!("bad JSON: {err}")),
    };
    match sim.start_scan(body.section) {
        Some(activity) => Json(json!({"activity": activity})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such section"})),
        )
            .into_response(),
    }
}

async fn tokens(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let users = sim.state().users().to_vec();
    let plextv = sim.plextv();
    let users: Vec<serde_json::Value> = users
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "name": u.name,
                "password": u.password,
                "owner": u.is_owner,
                "plex_token": u.plex_token,
                // What an invited user reaches the server with since 2026 (the owner's is
                // the server token; a managed user has no account of their own).
                "plex_account_token": plextv.account_token(u),
                "jellyfin_token": u.jellyfin_token,
                "jellyfin_id": u.jellyfin_id,
                "emby_token": u.emby_token(),
                "sections": u.sections,
                "home": u.home,
                "restrictions": restrictions_json(u),
            })
        })
        .collect();
    Json(json!({"users": users}))
}

/// A user's restrictions as each server names them (Plex share filters, Jellyfin policy).
pub fn restrictions_json(user: &crate::state::User) -> serde_json::Value {
    let r = &user.restrictions;
    json!({
        "plex": {
            "filterMovies": r.plex_movies.to_plex_string(),
            "filterTelevision": r.plex_television.to_plex_string(),
            "filterMusic": r.plex_music.to_plex_string(),
        },
        "jellyfin": {
            "MaxParentalRating": r.jellyfin.max_parental_rating,
            "BlockedTags": r.jellyfin.blocked_tags,
            "AllowedTags": r.jellyfin.allowed_tags,
        },
    })
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// The token of a `{"token":"…"}` body, or why it is not one.
fn token_body(body: &[u8]) -> Result<TokenBody, String> {
    let body: TokenBody = serde_json::from_slice(body).map_err(|err| format!("bad JSON: {err}"))?;
    if body.token.is_empty() {
        return Err("token must not be empty".into());
    }
    Ok(body)
}

async fn revoke_token(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match token_body(&body) {
        Ok(b) => {
            sim.state().revoke_token(&b.token);
            Json(json!({"revoked": true})).into_response()
        }
        Err(why) => bad(why),
    }
}

async fn restore_token(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match token_body(&body) {
        Ok(b) => {
            sim.state().restore_token(&b.token);
            Json(json!({"restored": true})).into_response()
        }
        Err(why) => bad(why),
    }
}
