//! A simulated plex.tv: the accounts behind the Plex front end's users, the owner's shares of
//! the server with their sections and filters, the owner's Plex Home with its managed users
//! and their restriction profiles, and the answers python-plexapi's `MyPlexAccount` reads.
//!
//! Since 2026 an invited (shared) user reaches a Plex server with their plex.tv account token
//! and the server asks plex.tv whether that account may use it; what the user may see inside
//! the server (the share's sections, `filterMovies`, `filterTelevision`, `filterMusic`) is kept
//! by plex.tv, not by the server. Here plex.tv and the simulated server share one [`Sim`]: the
//! server's token check asks [`PlexTv::validate`], and a share changed on plex.tv changes at
//! once what the server shows that user (see `accounts`).
//!
//! # Map
//! - `accounts` — [`PlexTv`], plex.tv's records, and [`ShareChange`], how a share changes.
//! - `render` — the XML elements plex.tv answers with (`user`, `User`, `SharedServer`,
//!   `Server`, `resource`, `Device`).
//! - `account` — the caller's own account: `/api/v2/user`, sign-in and sign-out, resources,
//!   devices, webhooks, settings (view-state sync, privacy), the caller's address, the Home
//!   and its users.
//! - `opt_outs` — the caller's online media sources (Plex's own content shown in the apps).
//! - `pins` — PIN sign-in: a PIN made for a device, linked by a signed-in account, read back
//!   with that account's token.
//! - `home` — the Home as it changes during a run: managed users created and removed, the
//!   owner's and managed users' PINs.
//! - `shares` — the owner's shares: `/api/users`, `/api/servers/{id}/shared_servers`, the v2
//!   sharing and friends API.
//! - `control` — `/_sim/plextv/*`: accounts with their tokens, share changes and revocations
//!   during a run, an outage switch, counters.
//!
//! Served with [`serve`] on a listener of its own (`cachearr sim --plextv-listen`); clients
//! reach it by sending what they would send to `https://plex.tv` to that address instead
//! (docs/simulator.md shows how for python-plexapi).

mod account;
mod accounts;
mod control;
mod home;
mod opt_outs;
mod pins;
mod render;
mod shares;

pub use accounts::*;
pub use opt_outs::{ONLINE_MEDIA_SOURCES, OptOut, OptOutError};
pub use pins::{PIN_ID_BASE, Pin};

use std::sync::MutexGuard;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tokio::net::TcpListener;

use crate::state::User;
use crate::{Sim, SimError};
use cachearr_serverfmt::tree::El;

/// How plex.tv is served.
#[derive(Debug, Clone, Default)]
pub struct PlexTvOptions {
    /// The simulated server's address as clients reach it (`http://127.0.0.1:32400`): the
    /// connection plex.tv's resources list gives for the server. None lists no connection.
    pub server_url: Option<String>,
}

/// What every plex.tv handler holds.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) sim: Sim,
    pub(crate) options: PlexTvOptions,
}

impl Sim {
    /// plex.tv's records (do not hold across `.await`; take [`Sim::state`] first when both
    /// are needed).
    pub fn plextv(&self) -> MutexGuard<'_, PlexTv> {
        self.inner.plextv.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The plex.tv router, with its `/_sim/plextv/` control routes.
pub fn router(sim: Sim, options: PlexTvOptions) -> Router {
    let app = App { sim, options };
    Router::new()
        .without_v07_checks()
        .route("/api/v2/user", get(account::user))
        .route("/users/account", get(account::user))
        .route("/api/v2/users/signin", post(account::sign_in))
        .route(
            "/api/v2/users/signout",
            axum::routing::delete(account::sign_out),
        )
        .route("/api/v2/ping", get(account::ping))
        .route("/api/v2/resources", get(account::resources))
        .route("/api/resources", get(account::resources))
        .route("/devices.xml", get(account::devices))
        .route(
            "/api/v2/user/webhooks",
            get(account::webhooks).post(account::set_webhooks),
        )
        .route("/api/claim/token.json", get(account::claim_token))
        .route(
            "/api/v2/user/view_state_sync",
            get(account::view_state_sync).put(account::set_view_state_sync),
        )
        .route(
            "/api/v2/user/privacy",
            get(account::privacy).put(account::set_privacy),
        )
        .route(
            "/api/v2/user/{uuid}/settings/opt_outs",
            get(opt_outs::list).post(opt_outs::set),
        )
        .route("/api/v2/pins", post(pins::create))
        .route("/api/v2/pins/link", put(pins::link))
        .route("/api/v2/pins/{id}", get(pins::check))
        .route("/:/ip", get(account::public_ip))
        .route("/api/v2/geoip", get(account::geoip))
        .route(
            "/api/home/users",
            get(account::home_users).post(account::invite_to_home),
        )
        .route(
            "/api/invites/requested/{id}",
            axum::routing::delete(account::cancel_requested_invite),
        )
        .route(
            "/api/home/users/{id}",
            put(home::set_pin).delete(home::remove),
        )
        .route("/api/home/users/{id}/switch", post(account::switch))
        .route(
            "/api/v2/home/users/restricted/{id}",
            put(account::restrict).post(account::restrict),
        )
        .route("/api/users", get(shares::users))
        .route("/api/users/", get(shares::users))
        .route("/api/servers/{machine}", get(shares::server))
        .route(
            "/api/servers/{machine}/shared_servers",
            get(shares::shared_servers).post(shares::invite),
        )
        .route(
            "/api/servers/{machine}/shared_servers/{id}",
            get(shares::shared_server)
                .put(shares::update_sections)
                .delete(shares::remove_share),
        )
        .route(
            "/api/v2/sharings/{user}",
            put(shares::update_sharing).delete(shares::remove_friend),
        )
        .route("/api/v2/friends", get(shares::friends))
        .merge(control::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            front_door,
        ))
        .with_state(app)
}

/// Serves plex.tv on `listener` until the returned future is dropped.
pub fn serve(
    sim: &Sim,
    listener: TcpListener,
    options: PlexTvOptions,
) -> impl Future<Output = Result<(), SimError>> + Send + 'static {
    let app = router(sim.clone(), options);
    async move { axum::serve(listener, app).await.map_err(SimError::from) }
}

/// Counts each request under its route and answers 503 while plex.tv is down (control
/// routes excepted: a test must be able to bring it back).
async fn front_door(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sim/") {
        return next.run(req).await;
    }
    let route = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map_or("(unmatched)", MatchedPath::as_str)
    );
    let down = {
        let mut tv = app.sim.plextv();
        tv.count_request(route);
        tv.is_down()
    };
    if down {
        return error(StatusCode::SERVICE_UNAVAILABLE, "plex.tv is unavailable");
    }
    next.run(req).await
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not found")
}

/// An error as plex.tv writes it (`<errors><error …/></errors>`).
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => 1001,
        StatusCode::FORBIDDEN => 1003,
        StatusCode::NOT_FOUND => 1020,
        _ => 1000,
    };
    let doc = El::new("errors").kid(
        El::new("error")
            .a("code", code as u32)
            .a("message", message)
            .a("status", u32::from(status.as_u16())),
    );
    (status, [(header::CONTENT_TYPE, XML)], doc.to_xml()).into_response()
}

/// plex.tv's content type for XML answers.
pub(crate) const XML: &str = "application/xml; charset=utf-8";

/// A 200 XML answer.
pub(crate) fn xml(doc: &El) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, XML)], doc.to_xml()).into_response()
}

/// The caller: the account the request's token names.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: User,
    pub(crate) query: Vec<(String, String)>,
}

impl Caller {
    /// First value of a query parameter.
    pub(crate) fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The 403 answer unless the caller owns the server.
    pub(crate) fn refuse_unless_owner(&self) -> Option<Response> {
        (!self.user.is_owner)
            .then(|| error(StatusCode::FORBIDDEN, "Only the server's owner may do this"))
    }
}

/// The request's token: `X-Plex-Token` as a header or a query parameter.
fn token_of(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    headers
        .get("X-Plex-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("X-Plex-Token"))
                .map(|(_, v)| v.clone())
        })
}

impl FromRequestParts<App> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let token = token_of(&parts.headers, &query).unwrap_or_default();
        let user = {
            let state = app.sim.state();
            let tv = app.sim.plextv();
            tv.account_by_token(&state, &token).cloned()
        };
        match user {
            Some(user) => Ok(Caller { user, query }),
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                "User could not be authenticated",
            )),
        }
    }
}
