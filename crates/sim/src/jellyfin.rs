//! The simulated Jellyfin server: the Jellyfin front end over the shared [`crate::Sim`] core.
//!
//! Served with [`Sim::serve_jellyfin`] (or [`Sim::start_jellyfin_test_server`] in tests); the
//! core adds `/_sim/`, request counting, faults and the cost model around it.
//!
//! # Map
//! - this file: [`JellyfinOptions`], the front end's shared state (`Front`: the core plus the
//!   device sessions Jellyfin keeps per client), and `dispatch`, which every request goes
//!   through: route, authenticate, handle, charge the work, label the route for the counters.
//! - `routes` — the routing table. ASP.NET routes ignore case (jellyfin-apiclient-python asks
//!   for `system/info/public`), so the front end matches paths itself instead of with axum's
//!   case-sensitive router.
//! - `request` — query parameters with case-insensitive names and .NET parsing, credentials
//!   from every place the server reads them (`Authorization: MediaBrowser …`,
//!   `X-Emby-Authorization`, `X-Emby-Token`, `X-MediaBrowser-Token`, `ApiKey`, `api_key`).
//! - `handlers` — system, users and login, sessions and playback reports, play state,
//!   favourites, playlists, images, media streams, virtual folders, library refresh.
//! - `items` — `BaseItemDto` rendering and the item queries (`/Items`, views, `/Items/Latest`,
//!   resume and next up, `/Artists`, `/Search/Hints`, genres and studios, similar items,
//!   playlist items) with the cost accounting and the sorted-listing cache.
//! - `events` — the `/socket` websocket (`LibraryChanged`, `UserDataChanged`, `Sessions`,
//!   `RefreshProgress`) and the webhook plugin's JSON posts.
//! - `dto` — the wire objects, PascalCase as the server writes them; `json` — the camelCase
//!   profile (`Accept: application/json; profile="CamelCase"`).
//! - `ids` — GUID-style ids for views, playlists, entries, sessions, artists known only by
//!   name, genres and studios; `image` — small PNGs.
//! - `error` — 400 problem details, 401, 403, 404 as the server answers them.
//! - `version` — the releases followed ([`JellyfinVersion`]: 10.10.7, 10.11.11, 12.0.0) and
//!   every rule that differs between them; `POST /_sim/jellyfin/version` changes the release
//!   of a running server (an upgrade under a running client: sockets are dropped).
//! - [`emby`] — the Emby 4.9 dialect ([`Sim::serve_emby`]): the same handlers, with Emby's
//!   numeric ids, identity, rules and socket path; everything Emby does differently is there.
//!
//! Users, tokens and passwords are the core's ([`crate::state::State`]): `AuthenticateByName`
//! takes a user's name and password and issues a new token; every user's ready-made
//! `jellyfin_token` works too. Users restricted to some sections see only those libraries;
//! anything outside them is a 404, like an id that does not exist.

mod dto;
pub mod emby;
mod error;
mod events;
mod handlers;
mod ids;
mod image;
mod items;
mod json;
mod request;
mod routes;
mod version;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::events::{FrontEnd, spawn_webhook_dispatcher};
use crate::serve::RouteLabel;
use crate::state::User;
use crate::{Sim, SimError, TestServer};

pub(crate) use error::ApiError;
use handlers::Req;
use ids::JfId;
use json::Casing;
use request::{AuthInfo, QueryParams};
pub(crate) use version::Rules;
pub use version::{JellyfinVersion, UnknownVersion};

/// Which server the front end is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Jellyfin, at the release its `release` says.
    Jellyfin,
    /// Emby 4.9 (see [`emby`]).
    Emby,
}

/// Largest request body the front end reads (playlist creation with many ids, playback
/// reports); larger bodies are refused with 413.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Options of the Jellyfin front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JellyfinOptions {
    /// How long `LibraryChanged` socket messages gather changes before they are sent. The real
    /// server's `LibraryUpdateDuration` is 30 s; the simulator defaults to zero (send at once)
    /// so that tests and demos need not wait.
    pub library_update_delay: Duration,
    /// The timeout announced in `ForceKeepAlive`, in seconds (the server's default is 60).
    pub keep_alive_secs: u64,
    /// 10.11's `EnableLegacyAuthorization`: accept the legacy credential forms (`Emby`
    /// scheme, `X-Emby-Authorization`, `X-Emby-Token`, `X-MediaBrowser-Token`, `api_key`).
    /// Default: on, as in 10.11. 10.10 has no such setting and always accepts them; 12.0
    /// never does (its default is off and the upgrade turns it off).
    pub legacy_authorization: bool,
    /// The release the server is at start (default 10.11.11).
    pub version: JellyfinVersion,
}

impl Default for JellyfinOptions {
    fn default() -> Self {
        JellyfinOptions {
            library_update_delay: Duration::ZERO,
            keep_alive_secs: events::DEFAULT_KEEP_ALIVE.as_secs(),
            legacy_authorization: true,
            version: JellyfinVersion::default(),
        }
    }
}

/// A client device signed in as a user: Jellyfin's notion of a session (`GET /Sessions` lists
/// them whether or not they are playing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceSession {
    /// Stable number of the session (its id derives from it).
    pub(crate) number: u64,
    /// The core user id.
    pub(crate) user: u32,
    /// `Client="…"`.
    pub(crate) client: String,
    /// `Device="…"`.
    pub(crate) device: String,
    /// `DeviceId="…"`.
    pub(crate) device_id: String,
    /// `Version="…"`.
    pub(crate) version: String,
    /// Epoch seconds of the last request.
    pub(crate) last_activity: u32,
}

/// The front end's shared state.
pub(crate) struct Front {
    /// The simulator core.
    pub(crate) sim: Sim,
    /// Options.
    pub(crate) options: JellyfinOptions,
    /// Device sessions by (user, device id).
    devices: Mutex<BTreeMap<(u32, String), DeviceSession>>,
    /// Sorted flat listings, reused while the library is unchanged.
    pub(crate) sort_cache: items::SortCache,
    /// The release the server is at now; sockets watch it and close when it changes.
    release: tokio::sync::watch::Sender<JellyfinVersion>,
    /// Jellyfin or Emby.
    pub(crate) dialect: Dialect,
    /// Emby's numeric ids (unused by Jellyfin).
    emby_ids: emby::IdMap,
    /// The session manager's own events, which the sockets subscribed to the sessions list
    /// (`SessionsStart`) hear: `true` for those sent at once (a session started), `false`
    /// for those the subscription's interval throttles (activity of an idle session).
    session_events: tokio::sync::broadcast::Sender<bool>,
}

impl Front {
    /// The release the server is at.
    pub(crate) fn version(&self) -> JellyfinVersion {
        *self.release.borrow()
    }

    /// The current release's rules (Emby's are its own).
    pub(crate) fn rules(&self) -> Rules {
        match self.dialect {
            Dialect::Jellyfin => self.version().rules(),
            Dialect::Emby => emby::RULES,
        }
    }

    /// The version string `/System/Info` reports.
    pub(crate) fn version_string(&self) -> &'static str {
        match self.dialect {
            Dialect::Jellyfin => self.version().version_string(),
            Dialect::Emby => emby::EMBY_VERSION,
        }
    }

    /// A socket message as this server writes it (Emby's ids are numbers).
    pub(crate) fn socket_message(&self, text: String) -> axum::extract::ws::Message {
        let text = match self.dialect {
            Dialect::Jellyfin => text,
            Dialect::Emby => self.emby_ids.outbound(self.sim.seed(), &text),
        };
        axum::extract::ws::Message::text(text)
    }

    /// Whether legacy credentials count now.
    fn legacy_authorization(&self) -> bool {
        self.rules()
            .legacy_authorization(self.options.legacy_authorization)
    }

    fn devices(&self) -> std::sync::MutexGuard<'_, BTreeMap<(u32, String), DeviceSession>> {
        self.devices
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user a request's token belongs to (401 without a known token); records the device.
    pub(crate) fn authenticate(&self, auth: &AuthInfo) -> Result<User, ApiError> {
        let token = auth.token.as_deref().ok_or(ApiError::Unauthorized)?;
        let user = match self.dialect {
            Dialect::Jellyfin => self.sim.state().user_by_jellyfin_token(token).cloned(),
            // Emby: the user's `emby_token`, or one its sign-in issued (never the Jellyfin one).
            Dialect::Emby => {
                let state = self.sim.state();
                emby::user_by_token(&state, token)
                    .or_else(|| {
                        state
                            .user_by_jellyfin_token(token)
                            .filter(|u| u.jellyfin_token != token)
                    })
                    .cloned()
            }
        };
        let user = user.ok_or(ApiError::Unauthorized)?;
        self.touch_device(&user, auth);
        Ok(user)
    }

    /// Records (or refreshes) the device session of `user` named by `auth`.
    pub(crate) fn touch_device(&self, user: &User, auth: &AuthInfo) -> DeviceSession {
        let now = self.sim.now();
        let device_id = auth
            .device_id
            .clone()
            .unwrap_or_else(|| "unknown-device".to_owned());
        let mut devices = self.devices();
        let next = devices.len() as u64 + 1;
        let mut started = false;
        let session = devices
            .entry((user.id, device_id.clone()))
            .or_insert_with(|| {
                started = true;
                DeviceSession {
                    number: next,
                    user: user.id,
                    client: String::new(),
                    device: String::new(),
                    device_id,
                    version: String::new(),
                    last_activity: now,
                }
            });
        // `SessionManager.LogSessionActivity`: a new session is `SessionStarted`; a known one
        // is `SessionActivity` only when it was idle for more than 10 s.
        let idle = now.saturating_sub(session.last_activity) > 10;
        session.client = auth.client.clone().unwrap_or_else(|| "Unknown".to_owned());
        session.device = auth.device.clone().unwrap_or_else(|| "Unknown".to_owned());
        session.version = auth.version.clone().unwrap_or_else(|| "0.0.0".to_owned());
        session.last_activity = now;
        let session = session.clone();
        drop(devices);
        if started || idle {
            // No subscriber is fine: no socket asked for the sessions list.
            let _ = self.session_events.send(started);
        }
        session
    }

    /// The session manager's events, for a socket's subscription to the sessions list.
    pub(crate) fn session_events(&self) -> tokio::sync::broadcast::Receiver<bool> {
        self.session_events.subscribe()
    }

    /// All device sessions, in a stable order.
    pub(crate) fn devices_snapshot(&self) -> Vec<DeviceSession> {
        self.devices().values().cloned().collect()
    }

    /// Epoch seconds of the user's last request, if any.
    pub(crate) fn last_activity(&self, user: u32) -> Option<u32> {
        self.devices()
            .values()
            .filter(|d| d.user == user)
            .map(|d| d.last_activity)
            .max()
    }

    /// The user a request acts for: `requested` (a `userId` parameter or path segment) when
    /// given, else the caller. Another user's id needs an administrator (403 otherwise); a
    /// malformed id is a 400 and an unknown one a 404.
    pub(crate) fn effective_user(
        &self,
        caller: &User,
        requested: Option<&str>,
    ) -> Result<User, ApiError> {
        let Some(raw) = requested else {
            return Ok(caller.clone());
        };
        if !JfId::is_guid_syntax(raw) {
            return Err(ApiError::invalid_value("userId", raw));
        }
        let user = self
            .sim
            .state()
            .user_by_jellyfin_id(raw)
            .cloned()
            .ok_or(ApiError::NotFound)?;
        if user.id != caller.id && !caller.is_owner {
            return Err(ApiError::Forbidden);
        }
        Ok(user)
    }
}

/// The id of the library view (collection folder) of section `section`.
pub fn view_id(section: u32) -> String {
    items::view_id(section)
}

/// The Jellyfin front end as a router (serve it with [`Sim::serve_router`]).
pub fn router(sim: Sim, options: JellyfinOptions) -> Router {
    jellyfin_router(front(sim, options, Dialect::Jellyfin))
}

/// The Jellyfin routes over `front`: the API and the release control.
fn jellyfin_router(front: Arc<Front>) -> Router {
    Router::new()
        .route(
            "/_sim/jellyfin/version",
            axum::routing::get(current_version).post(change_version),
        )
        .fallback(dispatch)
        .with_state(front)
}

/// A webhook post with `ServerVersion` set to `version` instead of the identity's `written`:
/// a textual swap, so the plugin's property order stays as rendered.
fn with_server_version(
    body: crate::events::WebhookBody,
    written: &str,
    version: &str,
) -> crate::events::WebhookBody {
    match body {
        crate::events::WebhookBody::Json(text) => {
            let from = format!("\"ServerVersion\":{}", serde_json::json!(written));
            let to = format!("\"ServerVersion\":{}", serde_json::json!(version));
            crate::events::WebhookBody::Json(text.replacen(&from, &to, 1))
        }
        other => other,
    }
}

/// The shared state of a front end of `dialect`.
fn front(sim: Sim, options: JellyfinOptions, dialect: Dialect) -> Arc<Front> {
    let release = tokio::sync::watch::Sender::new(options.version);
    Arc::new(Front {
        sim,
        options,
        devices: Mutex::new(BTreeMap::new()),
        sort_cache: items::SortCache::default(),
        release,
        dialect,
        emby_ids: emby::IdMap::default(),
        session_events: tokio::sync::broadcast::Sender::new(64),
    })
}

/// `GET /_sim/jellyfin/version`: `{"version": "10.11.11"}`.
async fn current_version(State(front): State<Arc<Front>>) -> Response {
    axum::Json(serde_json::json!({ "version": front.version().version_string() })).into_response()
}

/// `POST /_sim/jellyfin/version` with `{"version": "12.0.0"}`: the server is at that release
/// from the next request on, as after an upgrade and restart; open sockets are dropped (the
/// clients reconnect under the new release's rules). An unknown version is a 400.
async fn change_version(State(front): State<Arc<Front>>, body: axum::body::Bytes) -> Response {
    let wanted = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned));
    let Some(wanted) = wanted else {
        return (
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"version\": \"12.0.0\"}",
        )
            .into_response();
    };
    match wanted.parse::<JellyfinVersion>() {
        Ok(version) => {
            front.release.send_replace(version);
            current_version(State(front)).await
        }
        Err(err) => (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    }
}

/// Every request: route, authenticate, handle, charge the work, label the route.
async fn dispatch(State(front): State<Arc<Front>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let rules = front.rules();
    let path = rules.api_path(parts.uri.path());
    let matched = routes::match_route(&parts.method, path)
        .and_then(|(route, template)| rules.admit(&parts.method, route, template));
    let (route, template) = match matched {
        Ok(found) => found,
        Err(err) => {
            let socket_path = match front.dialect {
                Dialect::Jellyfin => "/socket",
                Dialect::Emby => "/embywebsocket",
            };
            // Checked before the prefix cut too: `/embywebsocket` starts with `/emby`.
            if path.eq_ignore_ascii_case(socket_path)
                || parts.uri.path().eq_ignore_ascii_case(socket_path)
            {
                return socket(front, &mut parts).await;
            }
            front.sim.charge(0, 0).await;
            return err.into_response();
        }
    };
    let query = QueryParams::parse(parts.uri.query());
    let auth = AuthInfo::from_request(&parts.headers, &query, front.legacy_authorization());
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let req = Req {
        method: parts.method.clone(),
        casing: Casing::from_headers(&parts.headers),
        route,
        query,
        headers: parts.headers,
        body,
        auth,
    };
    let (mut response, work) = match handlers::handle(&front, &req) {
        Ok(reply) => (reply.response, reply.work),
        Err(err) => (err.into_response(), items::Work::default()),
    };
    front.sim.charge(work.scanned, work.returned).await;
    if req.method == Method::HEAD {
        *response.body_mut() = axum::body::Body::empty();
    }
    response.extensions_mut().insert(RouteLabel(template));
    response
}

/// `GET /socket` (Emby: `/embywebsocket`): authenticates (the header, `ApiKey`, or where legacy credentials count
/// `api_key`), then upgrades. No token at all is a 403 "Token is required" (the server's
/// `WebSocketManager` throws a `SecurityException`), an unknown one a 401.
async fn socket(front: Arc<Front>, parts: &mut axum::http::request::Parts) -> Response {
    let query = QueryParams::parse(parts.uri.query());
    let mut auth = AuthInfo::from_request(&parts.headers, &query, front.legacy_authorization());
    if auth.device_id.is_none() {
        auth.device_id = query.str("deviceId").map(str::to_owned);
    }
    let authenticated = match auth.token {
        None => Err((StatusCode::FORBIDDEN, "Token is required").into_response()),
        Some(_) => front
            .authenticate(&auth)
            .map_err(IntoResponse::into_response),
    };
    let mut response = match authenticated {
        Err(refused) => refused,
        Ok(user) => match WebSocketUpgrade::from_request_parts(parts, &()).await {
            Ok(upgrade) => {
                // Subscribe before answering, as the Plex socket does: a client that saw the
                // handshake complete must get every event from then on, even one emitted
                // before the upgraded connection's task first runs. The release is watched
                // from here on too: a change drops the socket.
                let events = front.sim.subscribe();
                let sessions = front.session_events();
                let release = front.release.subscribe();
                upgrade
                    .on_upgrade(move |socket| {
                        events::run_socket(front, user, (events, sessions), release, socket)
                    })
                    .into_response()
            }
            Err(rejection) => rejection.into_response(),
        },
    };
    response.extensions_mut().insert(RouteLabel("/socket"));
    response
}

impl Sim {
    /// Serves the Jellyfin API (plus `/_sim/`) on `listener` until the returned future is
    /// dropped, and posts the webhook plugin's JSON to the Jellyfin `--webhook` targets.
    pub fn serve_jellyfin(
        &self,
        listener: TcpListener,
        options: JellyfinOptions,
    ) -> impl Future<Output = Result<(), SimError>> + Send + 'static {
        let front = front(self.clone(), options, Dialect::Jellyfin);
        // The webhook plugin names the release the server is at now.
        let release = front.release.subscribe();
        let render = move |sim: &Sim, event: &crate::events::Event| {
            let version = release.borrow().version_string();
            let written = sim.identity().jellyfin_version.clone();
            events::render_webhooks(sim, event)
                .into_iter()
                .map(|body| with_server_version(body, &written, version))
                .collect()
        };
        spawn_webhook_dispatcher(self, FrontEnd::Jellyfin, Arc::new(render));
        self.serve_router(listener, jellyfin_router(front))
    }

    /// Serves this simulator's Jellyfin API on `127.0.0.1:0` for a test; the returned
    /// server's `token` is the owner's Jellyfin access token.
    pub async fn start_jellyfin_test_server(
        &self,
        options: JellyfinOptions,
    ) -> Result<TestServer, SimError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let serving = self.serve_jellyfin(listener, options);
        let task = tokio::spawn(async move {
            if let Err(err) = serving.await {
                tracing::error!(%err, "simulated Jellyfin server stopped");
            }
        });
        Ok(TestServer {
            sim: self.clone(),
            base_url: format!("http://{addr}"),
            addr,
            token: self.state().owner().jellyfin_token.clone(),
            task,
        })
    }
}
