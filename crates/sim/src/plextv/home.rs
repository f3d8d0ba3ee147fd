//! The owner's Plex Home as it changes during a run: managed Home users created and removed
//! (python-plexapi's `createHomeUser`, `removeHomeUser`), and Home PINs — the owner's own
//! (`setPin`, `removePin`) and a managed user's (`setManagedUserPin`, `removeManagedUserPin`).
//!
//! A created Home user is a plex.tv record only ([`CreatedHomeUser`]): plex.tv lists it among
//! the owner's users and Home, keeps its PIN and the sections shared with it, and removes it;
//! the simulated server has no such user, so no token for the server is ever given for it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::plextv::{
    AccountKind, App, Caller, CreatedHomeUser, OWNER_ACCOUNT_ID, PlexTv, error, xml,
};
use cachearr_serverfmt::tree::El;

/// A created Home user as `/api/users` and `/api/home/users` list it: managed (no login, no
/// e-mail), `protected` while it has a PIN.
pub(crate) fn created_user(tv: &PlexTv, user: &CreatedHomeUser) -> El {
    El::new("User")
        .a("id", user.id)
        .a("uuid", user.uuid.as_str())
        .a("title", user.title.as_str())
        .a("username", "")
        .a("email", "")
        .a("thumb", "")
        .a("protected", tv.pin(user.id).is_some())
        .a("home", true)
        .a("admin", false)
        .a("guest", false)
        .a("restricted", true)
        .a("restrictionProfile", "")
        .a("allowTuners", 0u32)
        .a("allowSync", false)
        .a("allowCameraUpload", false)
        .a("allowChannels", false)
        .a("allowSubtitleAdmin", false)
        .a("filterAll", "")
        .a("filterMovies", "")
        .a("filterMusic", "")
        .a("filterPhotos", "")
        .a("filterTelevision", "")
}

/// `POST /api/home/users?title=…`: the owner creates a managed Home user; 201 with it.
pub(crate) fn create(app: &App, caller: &Caller, title: &str) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    let title = title.trim();
    if title.is_empty() {
        return error(StatusCode::BAD_REQUEST, "title is required");
    }
    let mut tv = app.sim.plextv();
    let taken = tv
        .created_home_users()
        .iter()
        .any(|u| u.title.eq_ignore_ascii_case(title))
        || app
            .sim
            .state()
            .users()
            .iter()
            .any(|u| u.name.eq_ignore_ascii_case(title));
    if taken {
        return error(
            StatusCode::BAD_REQUEST,
            "A user of that name already exists",
        );
    }
    let user = tv.create_home_user(title);
    let mut resp = xml(&created_user(&tv, &user));
    *resp.status_mut() = StatusCode::CREATED;
    resp
}

/// `DELETE /api/home/users/{id}`: the owner removes a Home user created during the run. The
/// simulator's own users stay (409): the server's users are fixed for a run.
pub(crate) async fn remove(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u32>,
) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    if app.sim.plextv().remove_created_home_user(id) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let configured = app
        .sim
        .state()
        .users()
        .iter()
        .any(|u| u.home && !u.is_owner && PlexTv::account_id(u) == id);
    if configured {
        return error(
            StatusCode::CONFLICT,
            "The simulator's configured users cannot be removed",
        );
    }
    error(StatusCode::NOT_FOUND, "No such Home user")
}

/// `PUT /api/home/users/{id}?pin=…&currentPin=…` (python-plexapi's `setPin`, `removePin`): the
/// caller's own Home PIN. With a PIN set, `currentPin` must match it (401 otherwise, and
/// nothing changes); an empty `pin` removes it.
pub(crate) async fn set_pin(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u32>,
) -> Response {
    if AccountKind::of(&caller.user) == AccountKind::Invited {
        return error(StatusCode::FORBIDDEN, "Not a member of a Plex Home");
    }
    if PlexTv::account_id(&caller.user) != id {
        return error(StatusCode::FORBIDDEN, "Only your own PIN");
    }
    let Some(pin) = caller.q("pin") else {
        return error(StatusCode::BAD_REQUEST, "pin is required");
    };
    let mut tv = app.sim.plextv();
    if let Some(current) = tv.pin(id)
        && caller.q("currentPin") != Some(current)
    {
        return error(StatusCode::UNAUTHORIZED, "Invalid PIN");
    }
    if !pin.is_empty() && !is_pin(pin) {
        return error(StatusCode::BAD_REQUEST, "A PIN is four digits");
    }
    tv.set_pin(id, (!pin.is_empty()).then(|| pin.to_string()));
    StatusCode::OK.into_response()
}

/// A managed user's PIN as the owner sets it through
/// `/api/v2/home/users/restricted/{id}` (`pin=…`, or `removePin=1`); None when the request
/// names no PIN. 404 for an account that is not a managed user.
pub(crate) fn managed_pin(app: &App, caller: &Caller, id: u32) -> Option<Response> {
    let pin = caller.q("pin");
    let remove = caller.q("removePin") == Some("1");
    if pin.is_none() && !remove {
        return None;
    }
    let managed = id != OWNER_ACCOUNT_ID
        && (app
            .sim
            .plextv()
            .created_home_users()
            .iter()
            .any(|u| u.id == id)
            || app.sim.state().users().iter().any(|u| {
                AccountKind::of(u) == AccountKind::Managed && PlexTv::account_id(u) == id
            }));
    if !managed {
        return Some(error(StatusCode::NOT_FOUND, "No such managed user"));
    }
    match (remove, pin) {
        (true, _) | (false, Some("")) => app.sim.plextv().set_pin(id, None),
        (false, Some(pin)) if is_pin(pin) => {
            app.sim.plextv().set_pin(id, Some(pin.to_string()));
        }
        _ => return Some(error(StatusCode::BAD_REQUEST, "A PIN is four digits")),
    }
    Some(StatusCode::NO_CONTENT.into_response())
}

/// A Home PIN is four digits.
fn is_pin(pin: &str) -> bool {
    pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit())
}
