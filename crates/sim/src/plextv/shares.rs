//! The owner's shares of the server: who it is shared with (`/api/users`), each share's
//! sections and filters (`/api/servers/{machine}/shared_servers`), inviting, changing and
//! removing a share (the v1 shared-servers and v2 sharings routes python-plexapi calls), and
//! the v2 friends list. Every change goes through [`PlexTv::change_share`], so the simulated
//! server applies it to its next answer.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::plextv::{
    AccountKind, App, Caller, PlexTv, SECTION_ID_BASE, SHARE_ID_BASE, ShareChange, error, render,
    xml,
};
use crate::state::{PlexFilter, State as UserState, User};
use cachearr_serverfmt::tree::El;

/// A filter as plex.tv receives it: python-plexapi joins values with a literal `%2C`.
fn filter(s: &str) -> PlexFilter {
    PlexFilter::parse(&percent_encoding::percent_decode_str(s).decode_utf8_lossy())
}

/// The refusal of an owner's request about server `machine`: 403 for anyone but the owner,
/// 404 for another server.
fn refuse(app: &App, caller: &Caller, machine: &str) -> Option<Response> {
    caller.refuse_unless_owner().or_else(|| {
        (app.sim.identity().machine_identifier != machine)
            .then(|| error(StatusCode::NOT_FOUND, "No such server"))
    })
}

/// The non-owner with plex.tv account id `id`.
fn shared_user(state: &UserState, id: u32) -> Option<User> {
    state
        .users()
        .iter()
        .find(|u| !u.is_owner && PlexTv::account_id(u) == id)
        .cloned()
}

/// `GET /api/users`: the owner's friends and managed users, each with their share.
pub(crate) async fn users(State(app): State<App>, caller: Caller) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let lib = app.sim.library();
    let others: Vec<&User> = state.users().iter().filter(|u| !u.is_owner).collect();
    let mut doc = El::container()
        .a("friendlyName", "myPlex")
        .a("identifier", "com.plexapp.plugins.myplex")
        .a(
            "machineIdentifier",
            app.sim.identity().machine_identifier.as_str(),
        )
        .a("totalSize", others.len())
        .a("size", others.len());
    for u in others {
        doc = doc.kid(render::user(&tv, app.sim.identity(), &lib, u));
    }
    for created in tv.created_home_users() {
        doc = doc.kid(super::home::created_user(&tv, created));
    }
    let listed = doc.kids.len();
    doc.set("totalSize", listed);
    doc.set("size", listed);
    xml(&doc)
}

/// `GET /api/servers/{machine}`: the server and its sections (with plex.tv's section ids).
pub(crate) async fn server(
    State(app): State<App>,
    caller: Caller,
    Path(machine): Path<String>,
) -> Response {
    if let Some(resp) = refuse(&app, &caller, &machine) {
        return resp;
    }
    let lib = app.sim.library();
    xml(&render::server(
        app.sim.identity(),
        &lib,
        app.options.server_url.as_deref(),
    ))
}

fn shares_doc(app: &App, only: Option<u32>) -> El {
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let lib = app.sim.library();
    let id = app.sim.identity();
    let shares: Vec<&User> = state
        .users()
        .iter()
        .filter(|u| !u.is_owner && tv.admits(u))
        .filter(|u| only.is_none_or(|s| s == SHARE_ID_BASE + u.id))
        .collect();
    let mut doc = El::container()
        .a("friendlyName", "myPlex")
        .a("identifier", "com.plexapp.plugins.myplex")
        .a("machineIdentifier", id.machine_identifier.as_str())
        .a("size", shares.len());
    for u in shares {
        doc = doc.kid(render::shared_server(&tv, id, &lib, u));
    }
    doc
}

/// `GET /api/servers/{machine}/shared_servers`: every standing share of the server.
pub(crate) async fn shared_servers(
    State(app): State<App>,
    caller: Caller,
    Path(machine): Path<String>,
) -> Response {
    if let Some(resp) = refuse(&app, &caller, &machine) {
        return resp;
    }
    xml(&shares_doc(&app, None))
}

/// `GET /api/servers/{machine}/shared_servers/{id}`: one share with its sections.
pub(crate) async fn shared_server(
    State(app): State<App>,
    caller: Caller,
    Path((machine, id)): Path<(String, u32)>,
) -> Response {
    if let Some(resp) = refuse(&app, &caller, &machine) {
        return resp;
    }
    let doc = shares_doc(&app, Some(id));
    if doc.kids.is_empty() {
        return error(StatusCode::NOT_FOUND, "No such share");
    }
    xml(&doc)
}

/// The JSON body of the v1 shared-servers writes.
#[derive(Debug, Default, Deserialize)]
struct ShareBody {
    #[serde(default)]
    shared_server: SharedServerBody,
    #[serde(default)]
    sharing_settings: Option<SettingsBody>,
}

#[derive(Debug, Default, Deserialize)]
struct SharedServerBody {
    #[serde(default)]
    library_section_ids: Vec<u32>,
    #[serde(default)]
    invited_email: Option<String>,
    /// A number, or the number as a string (python-plexapi sends the `id` it read from XML).
    #[serde(default, deserialize_with = "number_or_string")]
    invited_id: Option<u32>,
}

fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u32),
        Text(String),
    }
    match Option::<Id>::deserialize(d)? {
        None => Ok(None),
        Some(Id::Number(n)) => Ok(Some(n)),
        Some(Id::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("invited_id {t:?} is not a number"))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsBody {
    allow_sync: Option<String>,
    allow_camera_upload: Option<String>,
    allow_channels: Option<String>,
    filter_movies: Option<String>,
    filter_television: Option<String>,
    filter_music: Option<String>,
}

fn flag(v: Option<&str>) -> Option<bool> {
    v.map(|v| matches!(v, "1" | "true"))
}

/// Server section keys of plex.tv section ids; an empty list shares every section.
fn section_keys(ids: &[u32]) -> Option<Vec<u32>> {
    (!ids.is_empty()).then(|| {
        ids.iter()
            .map(|id| id.checked_sub(SECTION_ID_BASE).unwrap_or(*id))
            .collect()
    })
}

fn parse_body(body: &[u8]) -> Result<ShareBody, String> {
    serde_json::from_slice(body).map_err(|err| format!("bad share JSON: {err}"))
}

/// Applies `change` to account `id`'s share: the error answer when there is no such user or
/// the change is refused.
fn change_share_of(app: &App, id: u32, change: ShareChange) -> Result<(), Box<Response>> {
    let mut state = app.sim.state();
    let Some(user) = shared_user(&state, id) else {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "No such user")));
    };
    let user = user.id;
    app.sim
        .plextv()
        .change_share(&mut state, user, change)
        .map_err(|err| Box::new(error(StatusCode::BAD_REQUEST, &err.to_string())))
}

/// Applies `change` to account `id`'s share and answers with the share.
fn apply(app: &App, id: u32, change: ShareChange) -> Response {
    match change_share_of(app, id, change) {
        Ok(()) => xml(&shares_doc(app, Some(SHARE_ID_BASE + id))),
        Err(answer) => *answer,
    }
}

/// `POST /api/servers/{machine}/shared_servers`: shares the server with a user named by
/// e-mail, name or account id, with sections, settings and filters (again, after a removal).
pub(crate) async fn invite(
    State(app): State<App>,
    caller: Caller,
    Path(machine): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(resp) = refuse(&app, &caller, &machine) {
        return resp;
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let invited = {
        let state = app.sim.state();
        state
            .users()
            .iter()
            .filter(|u| !u.is_owner)
            .find(|u| {
                let named = body
                    .shared_server
                    .invited_email
                    .as_deref()
                    .is_some_and(|e| {
                        e.eq_ignore_ascii_case(&render::email(u)) || e.eq_ignore_ascii_case(&u.name)
                    });
                named || body.shared_server.invited_id == Some(PlexTv::account_id(u))
            })
            .map(PlexTv::account_id)
    };
    let Some(id) = invited else {
        return share_with_created(&app, &body);
    };
    let settings = body.sharing_settings.unwrap_or_default();
    let change = ShareChange {
        sections: Some(section_keys(&body.shared_server.library_section_ids)),
        filter_movies: settings.filter_movies.as_deref().map(filter),
        filter_television: settings.filter_television.as_deref().map(filter),
        filter_music: settings.filter_music.as_deref().map(filter),
        allow_sync: flag(settings.allow_sync.as_deref()),
        allow_camera_upload: flag(settings.allow_camera_upload.as_deref()),
        allow_channels: flag(settings.allow_channels.as_deref()),
        active: Some(true),
        ..ShareChange::default()
    };
    apply(&app, id, change)
}

/// A share for a Home user created during the run (named by `invited_id`): plex.tv keeps its
/// sections; the server has no such user. 404 when no created user has that id either.
fn share_with_created(app: &App, body: &ShareBody) -> Response {
    let Some(id) = body.shared_server.invited_id else {
        return error(StatusCode::NOT_FOUND, "No such user");
    };
    let lib = app.sim.library();
    let sections = section_keys(&body.shared_server.library_section_ids)
        .unwrap_or_else(|| lib.sections().iter().map(|s| s.id).collect());
    if !app.sim.plextv().share_with_created(id, sections) {
        return error(StatusCode::NOT_FOUND, "No such user");
    }
    let identity = app.sim.identity();
    xml(&El::container().kid(
        El::new("SharedServer")
            .a("id", SHARE_ID_BASE + id)
            .a("userID", id)
            .a("name", identity.friendly_name.as_str())
            .a("machineIdentifier", identity.machine_identifier.as_str())
            .a("accessToken", ""),
    ))
}

/// `PUT /api/servers/{machine}/shared_servers/{id}`: the share's sections.
pub(crate) async fn update_sections(
    State(app): State<App>,
    caller: Caller,
    Path((machine, share)): Path<(String, u32)>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(resp) = refuse(&app, &caller, &machine) {
        return resp;
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let change = ShareChange {
        sections: Some(section_keys(&body.shared_server.library_section_ids)),
        ..ShareChange::default()
    };
    apply(&app, share.saturating_sub(SHARE_ID_BASE), change)
}

/// `DELETE /api/servers/{machine}/shared_servers/{id}`: removes the share; the server
/// refuses the user from now on.
pub(crate) async fn remove_share(
    State(app): State<App>,
    caller: Caller,
    Path((machine, share)): Path<(String, u32)>,
) -> Response {
    if let Some(resp) = refuse(&app, &caller, &machine) {
        return resp;
    }
    revoke(&app, share.saturating_sub(SHARE_ID_BASE))
}

fn revoke(app: &App, id: u32) -> Response {
    let change = ShareChange {
        active: Some(false),
        ..ShareChange::default()
    };
    match change_share_of(app, id, change) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(answer) => *answer,
    }
}

/// `PUT /api/v2/sharings/{user}?filterMovies=…&allowSync=1`: a share's filters and settings.
pub(crate) async fn update_sharing(
    State(app): State<App>,
    caller: Caller,
    Path(user): Path<u32>,
) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    let change = ShareChange {
        filter_movies: caller.q("filterMovies").map(filter),
        filter_television: caller.q("filterTelevision").map(filter),
        filter_music: caller.q("filterMusic").map(filter),
        allow_sync: flag(caller.q("allowSync")),
        allow_camera_upload: flag(caller.q("allowCameraUpload")),
        allow_channels: flag(caller.q("allowChannels")),
        ..ShareChange::default()
    };
    apply(&app, user, change)
}

/// `DELETE /api/v2/sharings/{user}`: removes the friend's share.
pub(crate) async fn remove_friend(
    State(app): State<App>,
    caller: Caller,
    Path(user): Path<u32>,
) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    revoke(&app, user)
}

/// `GET /api/v2/friends` (JSON, as the v2 API answers): the owner's friends with their
/// shared servers, libraries and filters.
pub(crate) async fn friends(State(app): State<App>, caller: Caller) -> Response {
    if let Some(resp) = caller.refuse_unless_owner() {
        return resp;
    }
    let state = app.sim.state();
    let tv = app.sim.plextv();
    let lib = app.sim.library();
    let id = app.sim.identity();
    let owner = PlexTv::account_id(state.owner());
    let friends: Vec<serde_json::Value> = state
        .users()
        .iter()
        .filter(|u| AccountKind::of(u) == AccountKind::Invited)
        .map(|u| {
            let libraries: Vec<serde_json::Value> = lib
                .sections()
                .iter()
                .filter(|s| u.can_see_section(s.id))
                .map(|s| {
                    json!({"id": SECTION_ID_BASE + s.id, "key": s.id, "title": s.title,
                           "type": s.kind.plex_type()})
                })
                .collect();
            let r = &u.restrictions;
            let s = tv.settings(u.id);
            let servers: Vec<serde_json::Value> = tv
                .admits(u)
                .then(|| {
                    json!({
                        "id": SHARE_ID_BASE + u.id, "ownerId": owner,
                        "invitedId": PlexTv::account_id(u), "serverId": SECTION_ID_BASE,
                        "machineIdentifier": id.machine_identifier, "name": id.friendly_name,
                        "numLibraries": libraries.len(), "allLibraries": u.sections.is_none(),
                        "libraries": libraries, "allowSync": s.allow_sync,
                        "allowCameraUpload": s.allow_camera_upload,
                        "allowChannels": s.allow_channels,
                        "filterMovies": r.plex_movies.to_plex_string(),
                        "filterTelevision": r.plex_television.to_plex_string(),
                        "filterMusic": r.plex_music.to_plex_string(),
                        "filterPhotos": "", "filterAll": "",
                    })
                })
                .into_iter()
                .collect();
            json!({
                "id": PlexTv::account_id(u), "uuid": tv.account_uuid(u), "title": u.name,
                "username": u.name, "email": render::email(u), "restricted": false,
                "home": false, "status": "accepted", "friendlyName": u.name,
                "thumb": "", "sharedSources": [], "sharedServers": servers,
            })
        })
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::Value::Array(friends).to_string(),
    )
        .into_response()
}
