//! `/_sim/plextv/*` on the plex.tv listener: what a test reads and changes during a run.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /_sim/plextv/accounts` | every account: id, plex.tv account id, name, kind (`owner`, `invited`, `managed`), account token, server token, whether its share stands, sections, filters, profile |
//! | `POST /_sim/plextv/shares/{user}` | changes a share (user by server id or name): any of `sections` (keys, `null` = all), `filterMovies`, `filterTelevision`, `filterMusic`, `restrictionProfile` (`little_kid`, `older_kid`, `teen`, `""`), `allowSync`, `allowCameraUpload`, `allowChannels`, `active` (false revokes, true restores) |
//! | `DELETE /_sim/plextv/shares/{user}` | revokes the share: the server refuses the user's tokens |
//! | `POST /_sim/plextv/outage` | `{"down":true}`: plex.tv answers 503 and the server can no longer check account tokens; `{"down":false}` ends it |
//! | `GET /_sim/plextv/stats` | requests per route, and how often the server asked about a token |
//! | `POST /_sim/plextv/reset` | every share, setting, profile and counter as at start |
//!
//! Neither counted nor stopped by an outage.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::plextv::{AccountKind, App, PlexTv, RestrictionProfile, ShareChange};
use crate::state::{PlexFilter, User};

pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/_sim/plextv/accounts", get(accounts))
        .route("/_sim/plextv/shares/{user}", post(change).delete(revoke))
        .route("/_sim/plextv/outage", post(outage))
        .route("/_sim/plextv/stats", get(stats))
        .route("/_sim/plextv/reset", post(reset))
}

fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

/// One account as the control API shows it.
pub(crate) fn account_json(tv: &PlexTv, user: &User) -> Value {
    let r = &user.restrictions;
    json!({
        "id": user.id,
        "account_id": PlexTv::account_id(user),
        "name": user.name,
        "kind": AccountKind::of(user).name(),
        "account_token": tv.account_token(user),
        "server_token": user.plex_token,
        "share_active": tv.admits(user),
        "sections": user.sections,
        "filterMovies": r.plex_movies.to_plex_string(),
        "filterTelevision": r.plex_television.to_plex_string(),
        "filterMusic": r.plex_music.to_plex_string(),
        "restrictionProfile": tv.profile(user.id).map(RestrictionProfile::name),
    })
}

async fn accounts(State(app): State<App>) -> Json<Value> {
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let accounts: Vec<Value> = state.users().iter().map(|u| account_json(&tv, u)).collect();
    Json(json!({ "accounts": accounts }))
}

/// The user a path names: server account id or name.
fn user_id(app: &App, user: &str) -> Option<u32> {
    let state = app.sim.state();
    match user.parse::<u32>() {
        Ok(id) => state.user(id).map(|u| u.id),
        Err(_) => state.user_by_name(user).map(|u| u.id),
    }
}

/// A share change from the control body; unknown keys are refused.
fn parse_change(body: &[u8]) -> Result<ShareChange, String> {
    let map: Map<String, Value> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut change = ShareChange::default();
    for (k, v) in &map {
        let text = || v.as_str().ok_or(format!("{k} must be a string"));
        let boolean = || v.as_bool().ok_or(format!("{k} must be true or false"));
        match k.as_str() {
            "sections" => {
                change.sections = Some(match v {
                    Value::Null => None,
                    v => Some(serde_json::from_value(v.clone()).map_err(|e| e.to_string())?),
                });
            }
            "filterMovies" => change.filter_movies = Some(PlexFilter::parse(text()?)),
            "filterTelevision" => change.filter_television = Some(PlexFilter::parse(text()?)),
            "filterMusic" => change.filter_music = Some(PlexFilter::parse(text()?)),
            "restrictionProfile" => {
                change.profile = Some(match text()? {
                    "" => None,
                    name => Some(
                        RestrictionProfile::parse(name)
                            .ok_or(format!("unknown restriction profile {name:?}"))?,
                    ),
                });
            }
            "allowSync" => change.allow_sync = Some(boolean()?),
            "allowCameraUpload" => change.allow_camera_upload = Some(boolean()?),
            "allowChannels" => change.allow_channels = Some(boolean()?),
            "active" => change.active = Some(boolean()?),
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    Ok(change)
}

fn apply(app: &App, user: &str, change: ShareChange) -> Response {
    let Some(id) = user_id(app, user) else {
        return bad(StatusCode::NOT_FOUND, format!("no user {user:?}"));
    };
    let mut state = app.sim.state();
    let mut tv = app.sim.plextv();
    match tv.change_share(&mut state, id, change) {
        Ok(()) => match state.user(id) {
            Some(u) => Json(account_json(&tv, u)).into_response(),
            None => bad(StatusCode::NOT_FOUND, format!("no user {user:?}")),
        },
        Err(err) => bad(StatusCode::BAD_REQUEST, err.to_string()),
    }
}

async fn change(
    State(app): State<App>,
    Path(user): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    match parse_change(&body) {
        Ok(change) => apply(&app, &user, change),
        Err(why) => bad(StatusCode::BAD_REQUEST, format!("bad share JSON: {why}")),
    }
}

async fn revoke(State(app): State<App>, Path(user): Path<String>) -> Response {
    let change = ShareChange {
        active: Some(false),
        ..ShareChange::default()
    };
    apply(&app, &user, change)
}

async fn outage(State(app): State<App>, body: axum::body::Bytes) -> Response {
    let down = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("down").and_then(Value::as_bool));
    match down {
        Some(down) => {
            app.sim.plextv().set_down(down);
            Json(json!({ "down": down })).into_response()
        }
        None => bad(StatusCode::BAD_REQUEST, "expected {\"down\": true|false}"),
    }
}

async fn stats(State(app): State<App>) -> Json<Value> {
    let tv = app.sim.plextv();
    Json(json!({
        "routes": tv.requests(),
        "total": tv.requests().values().sum::<u64>(),
        "validations": tv.validations(),
    }))
}

async fn reset(State(app): State<App>) -> Json<Value> {
    app.sim.plextv().reset();
    Json(json!({ "reset": true }))
}
