//! The caller's own account: who they are, signing in and out, the servers and devices they
//! reach, the owner's webhooks, and the Plex Home (its users, switching to one, a managed
//! user's restriction profile).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::plextv::{
    AccountKind, App, Caller, PlexTv, RestrictionProfile, ShareChange, XML, error, render, xml,
};
use cachearr_serverfmt::tree::El;

/// `GET /api/v2/user`: the caller's account.
pub(crate) async fn user(State(app): State<App>, caller: Caller) -> Response {
    let state = app.sim.state();
    let tv = app.sim.plextv();
    xml(&render::account(&tv, &state, &caller.user))
}

/// The fields of a form body (`login=…&password=…`).
fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `POST /api/v2/users/signin`: a login (name or e-mail) and password as a form. Managed
/// users have no login of their own.
pub(crate) async fn sign_in(State(app): State<App>, body: axum::body::Bytes) -> Response {
    let fields = form(&body);
    let field = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let (Some(login), Some(password)) = (field("login"), field("password")) else {
        return error(StatusCode::BAD_REQUEST, "login and password are required");
    };
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let found = state.users().iter().find(|u| {
        AccountKind::of(u) != AccountKind::Managed
            && (u.name.eq_ignore_ascii_case(&login)
                || render::email(u).eq_ignore_ascii_case(&login))
            && u.password == password
    });
    match found {
        Some(user) => {
            let mut resp = xml(&render::account(&tv, &state, user));
            *resp.status_mut() = StatusCode::CREATED;
            resp
        }
        None => error(
            StatusCode::UNAUTHORIZED,
            "Invalid email, username, or password.",
        ),
    }
}

/// `DELETE /api/v2/users/signout`: the token stops working on plex.tv and on the server.
pub(crate) async fn sign_out(
    State(app): State<App>,
    headers: HeaderMap,
    caller: Caller,
) -> Response {
    let token = headers
        .get("X-Plex-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| caller.q("X-Plex-Token").map(str::to_string))
        .unwrap_or_default();
    app.sim.plextv().sign_out(&token);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /api/v2/ping`.
pub(crate) async fn ping(_caller: Caller) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, XML)],
        "<pong>true</pong>",
    )
        .into_response()
}

/// `GET /api/v2/resources`: the server, as the caller reaches it, while they may.
pub(crate) async fn resources(State(app): State<App>, caller: Caller) -> Response {
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let mut doc = El::new("resources");
    if tv.admits(&caller.user) {
        doc = doc.kid(render::resource(
            &tv,
            app.sim.identity(),
            state.owner(),
            &caller.user,
            app.options.server_url.as_deref(),
        ));
    }
    xml(&doc.a("size", u32::from(tv.admits(&caller.user))))
}

/// `GET /devices.xml`: the owner's devices (the server).
pub(crate) async fn devices(State(app): State<App>, caller: Caller) -> Response {
    let mut doc = El::container().a("publicAddress", "127.0.0.1");
    if caller.user.is_owner {
        doc = doc.kid(render::device(
            app.sim.identity(),
            &caller.user.plex_token,
            app.options.server_url.as_deref(),
        ));
    }
    xml(&doc)
}

fn webhooks_doc(urls: &[String]) -> El {
    let mut doc = El::new("webhooks");
    for url in urls {
        doc = doc.kid(El::new("webhook").a("url", url.as_str()));
    }
    doc
}

/// `GET /api/v2/user/webhooks`: a Plex Pass feature (the owner has one, no one else).
pub(crate) async fn webhooks(State(app): State<App>, caller: Caller) -> Response {
    if !caller.user.is_owner {
        return error(StatusCode::FORBIDDEN, "Webhooks need a Plex Pass");
    }
    xml(&webhooks_doc(app.sim.plextv().webhooks()))
}

/// `POST /api/v2/user/webhooks`: `urls[]=…` (repeated) replaces the list; `urls=` empties it.
pub(crate) async fn set_webhooks(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Response {
    if !caller.user.is_owner {
        return error(StatusCode::FORBIDDEN, "Webhooks need a Plex Pass");
    }
    let urls: Vec<String> = form(&body)
        .into_iter()
        .filter(|(k, v)| k == "urls[]" && !v.is_empty())
        .map(|(_, v)| v)
        .collect();
    let mut tv = app.sim.plextv();
    tv.set_webhooks(urls);
    xml(&webhooks_doc(tv.webhooks()))
}

/// `GET /api/claim/token.json`.
pub(crate) async fn claim_token(State(app): State<App>, caller: Caller) -> Response {
    let uuid = app.sim.plextv().account_uuid(&caller.user);
    let body = serde_json::json!({ "token": format!("claim-{uuid}") });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /api/home/users`: the owner's Plex Home (the owner and the managed users).
pub(crate) async fn home_users(State(app): State<App>, caller: Caller) -> Response {
    if AccountKind::of(&caller.user) == AccountKind::Invited {
        return error(StatusCode::FORBIDDEN, "Not a member of a Plex Home");
    }
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let members: Vec<_> = state
        .users()
        .iter()
        .filter(|u| u.is_owner || u.home)
        .collect();
    let mut doc = El::container()
        .a("friendlyName", "myPlex")
        .a("identifier", "com.plexapp.plugins.myplex")
        .a("machineIdentifier", "")
        .a("totalSize", members.len())
        .a("size", members.len());
    for u in members {
        let managed = AccountKind::of(u) == AccountKind::Managed;
        doc = doc.kid(
            El::new("User")
                .a("id", PlexTv::account_id(u))
                .a("uuid", tv.account_uuid(u))
                .a("admin", u.is_owner)
                .a("guest", false)
                .a("restricted", managed)
                .a(
                    "restrictionProfile",
                    tv.profile(u.id).map_or("", RestrictionProfile::name),
                )
                .a("hasPassword", false)
                .a("protected", tv.pin(PlexTv::account_id(u)).is_some())
                .a("title", u.name.as_str())
                .a("username", render::username(u))
                .a("email", render::email(u))
                .a("thumb", ""),
        );
    }
    for created in tv.created_home_users() {
        doc = doc.kid(super::home::created_user(&tv, created));
    }
    let members = doc.kids.len();
    doc.set("totalSize", members);
    doc.set("size", members);
    xml(&doc)
}

/// `POST /api/home/users?invitedEmail=…` (python-plexapi's `createExistingUser`; with `title=`
/// instead, `createHomeUser`, see `home`): the owner
/// invites a friend, by login or e-mail, into the Plex Home; plex.tv lists them as a Home
/// user from then on (`/api/users`, `home="1"`) until the invitation is withdrawn.
pub(crate) async fn invite_to_home(State(app): State<App>, caller: Caller) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    let Some(login) = caller.q("invitedEmail").map(str::to_lowercase) else {
        return match caller.q("title") {
            Some(title) => super::home::create(&app, &caller, title),
            None => error(StatusCode::BAD_REQUEST, "invitedEmail or title is required"),
        };
    };
    let state = app.sim.state();
    let mut tv = app.sim.plextv();
    let friend = state.users().iter().find(|u| {
        AccountKind::of(u) == AccountKind::Invited
            && (render::username(u).to_lowercase() == login
                || render::email(u).to_lowercase() == login)
    });
    let Some(friend) = friend else {
        return error(StatusCode::NOT_FOUND, "No such user");
    };
    tv.set_home_invited(friend.id, true);
    let lib = app.sim.library();
    xml(&render::user(&tv, app.sim.identity(), &lib, friend))
}

/// `DELETE /api/invites/requested/{id}?friend=0&server=0&home=1` (the suite's way of
/// withdrawing a Home invitation): the friend leaves the Home list and stays a friend.
/// Friend and server invitations are not kept as pending here, so only `home=1` changes
/// anything; an account that has no such invitation is a 404.
pub(crate) async fn cancel_requested_invite(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u32>,
) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    let state = app.sim.state();
    let mut tv = app.sim.plextv();
    let invited = state
        .users()
        .iter()
        .find(|u| PlexTv::account_id(u) == id && tv.home_invited(u.id))
        .map(|u| u.id);
    match (invited, caller.q("home")) {
        (Some(user), Some("1")) => {
            tv.set_home_invited(user, false);
            StatusCode::OK.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "No such invitation"),
    }
}

/// `POST /api/home/users/{id}/switch`: the account of another member of the caller's Home,
/// with its token (`authenticationToken`).
pub(crate) async fn switch(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    if AccountKind::of(&caller.user) == AccountKind::Invited {
        return error(StatusCode::FORBIDDEN, "Not a member of a Plex Home");
    }
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let target = state
        .users()
        .iter()
        .find(|u| (u.is_owner || u.home) && id.parse::<u32>().ok() == Some(PlexTv::account_id(u)));
    match target {
        Some(u) => {
            let mut el = render::account(&tv, &state, u);
            el.set("authenticationToken", tv.account_token(u));
            let mut resp = xml(&el);
            *resp.status_mut() = StatusCode::CREATED;
            resp
        }
        None => error(StatusCode::NOT_FOUND, "No such Home user"),
    }
}

/// `PUT /api/v2/home/users/restricted/{id}?restrictionProfile=teen`: a managed user's
/// profile, or its PIN (`pin=`, `removePin=1`; see `home`); other settings are accepted and
/// ignored.
pub(crate) async fn restrict(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<u32>,
) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    if let Some(resp) = super::home::managed_pin(&app, &caller, id) {
        return resp;
    }
    let Some(value) = caller.q("restrictionProfile") else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let profile = match value {
        "" => None,
        name => match RestrictionProfile::parse(name) {
            Some(p) => Some(p),
            None => return error(StatusCode::BAD_REQUEST, "Unknown restriction profile"),
        },
    };
    let change = ShareChange {
        profile: Some(profile),
        ..ShareChange::default()
    };
    let mut state = app.sim.state();
    let result = app.sim.plextv().change_share(&mut state, id, change);
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, &err.to_string()),
    }
}

fn json(value: &serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// `GET /api/v2/user/view_state_sync`: whether watch state syncs through plex.tv (JSON).
pub(crate) async fn view_state_sync(State(app): State<App>, caller: Caller) -> Response {
    let settings = app.sim.plextv().account_settings(caller.user.id);
    json(&serde_json::json!({ "consent": settings.view_state_sync }))
}

/// `PUT /api/v2/user/view_state_sync?consent=true` (python-plexapi sends `True`/`False`).
pub(crate) async fn set_view_state_sync(State(app): State<App>, caller: Caller) -> Response {
    let Some(consent) = caller
        .q("consent")
        .map(|c| c.eq_ignore_ascii_case("true") || c == "1")
    else {
        return error(StatusCode::BAD_REQUEST, "consent is required");
    };
    app.sim
        .plextv()
        .change_account_settings(caller.user.id, |s| s.view_state_sync = consent);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /api/v2/user/privacy`.
pub(crate) async fn privacy(State(app): State<App>, caller: Caller) -> Response {
    let settings = app.sim.plextv().account_settings(caller.user.id);
    xml(&El::new("privacy")
        .a("optOutPlayback", settings.opt_out_playback)
        .a("optOutLibraryStats", settings.opt_out_library_stats))
}

/// `PUT /api/v2/user/privacy` with a form `optOutPlayback=1&optOutLibraryStats=0`.
pub(crate) async fn set_privacy(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Response {
    let fields = form(&body);
    let flag = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v == "1" || v.eq_ignore_ascii_case("true"))
    };
    let (playback, library) = (flag("optOutPlayback"), flag("optOutLibraryStats"));
    app.sim
        .plextv()
        .change_account_settings(caller.user.id, |s| {
            s.opt_out_playback = playback.unwrap_or(s.opt_out_playback);
            s.opt_out_library_stats = library.unwrap_or(s.opt_out_library_stats);
        });
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /:/ip`: the caller's public address, as plain text.
pub(crate) async fn public_ip(_caller: Caller) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        "127.0.0.1\n",
    )
        .into_response()
}

/// `GET /api/v2/geoip?ip_address=…`: where an address is (every address is in one place here).
pub(crate) async fn geoip(caller: Caller) -> Response {
    if caller.q("ip_address").is_none_or(str::is_empty) {
        return error(StatusCode::BAD_REQUEST, "ip_address is required");
    }
    xml(&El::new("location")
        .a("code", "US")
        .a("continent_code", "NA")
        .a("country", "United States")
        .a("city", "New York")
        .a("european_union_member", false)
        .a("in_privacy_restricted_country", false)
        .a("postal_code", "10001")
        .a("subdivisions", "New York")
        .a("time_zone", "America/New_York")
        .a("coordinates", "40.7128, -74.006"))
}
