//! The endpoint handlers. Each one is synchronous: it takes the library read guard and the state
//! mutex for as long as it needs them, releases them, and returns the response with the work it
//! did; [`super::dispatch`] then charges that work to the cost model (which may sleep) holding
//! no lock.
//!
//! # Map
//! This file holds the request and reply types, the dispatch table ([`handle`]), system info,
//! users, items and views; `images` serves images and media, `playback` sessions and play
//! state, `playlists` the playlist endpoints.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::events::{PlayStateReason, SimEvent};
use crate::library::ItemKind;
use crate::state::{PlaybackState, PlaylistKind, StateError, User};

use super::dto::{
    ClientCapabilities, PlayerStateInfo, PlaylistCreationResult, PlaylistDto, PublicSystemInfo,
    QueryResult, SessionInfo, SystemInfo, UserConfiguration, UserDto, UserPolicy, iso8601,
    parse_iso8601,
};
use super::ids::{IdSpace, JfId};
use super::items::{
    self, Fields, ImageOptions, ItemQuery, Render, Target, Work, decode_id, playlist_id,
    shuffle_salt, user_item_data, view_id, visible_item,
};
use super::json::{Casing, json_response};
use super::request::{AuthInfo, QueryParams, body_field, body_str};
use super::routes::{PlayingReport, Route};
use super::{ApiError, DeviceSession, Front};

mod activity;
mod images;
mod playback;
mod playlists;
mod system;
use activity::*;
use images::*;
pub(crate) use playback::*;
use playlists::*;
use system::*;

/// One parsed request.
pub(crate) struct Req {
    /// The HTTP method.
    pub(crate) method: Method,
    /// The matched route.
    pub(crate) route: Route,
    /// Query parameters.
    pub(crate) query: QueryParams,
    /// Request headers.
    pub(crate) headers: HeaderMap,
    /// The raw body.
    pub(crate) body: Bytes,
    /// Response casing.
    pub(crate) casing: Casing,
    /// Credentials.
    pub(crate) auth: AuthInfo,
}

/// A handler's answer and the work it did.
pub(crate) struct Reply {
    /// The response.
    pub(crate) response: Response,
    /// Work for the cost model.
    pub(crate) work: Work,
}

impl Reply {
    fn json<T: Serialize>(casing: Casing, body: &T, work: Work) -> Self {
        Reply {
            response: json_response(casing, body),
            work,
        }
    }

    fn no_content() -> Self {
        Reply {
            response: StatusCode::NO_CONTENT.into_response(),
            work: Work::default(),
        }
    }
}

/// Routes a request to its handler.
pub(crate) fn handle(front: &Front, req: &Req) -> Result<Reply, ApiError> {
    // Long: a match over every route, each arm its handler or the few lines that are one.
    let caller = if req.route.is_anonymous() {
        None
    } else {
        Some(front.authenticate(&req.auth)?)
    };
    let caller = caller.as_ref();
    let need = || caller.ok_or(ApiError::Unauthorized);
    match &req.route {
        Route::SystemInfoPublic => Ok(Reply::json(
            req.casing,
            &public_info(front, req),
            Work::default(),
        )),
        Route::SystemInfo => system_info(front, req),
        Route::SystemStorage => system_storage(front, req, need()?),
        Route::ScheduledTasks => scheduled_tasks(front, req, need()?),
        Route::ScheduledTask(id) => scheduled_task(front, req, need()?, id),
        // Quick Connect is off here (`TryConnect` throws, the controller answers 401).
        Route::QuickConnectInitiate => Err(ApiError::Unauthorized),
        Route::CriticReviews => {
            need()?;
            let empty: QueryResult<Value> = QueryResult {
                items: Vec::new(),
                total_record_count: 0,
                start_index: 0,
            };
            Ok(Reply::json(req.casing, &empty, Work::default()))
        }
        Route::EasyPassword => {
            need()?;
            Err(ApiError::Forbidden)
        }
        Route::SystemPing => Ok(Reply::json(req.casing, &"Jellyfin Server", Work::default())),
        Route::UsersPublic => users_public(front, req),
        Route::AuthenticateByName => authenticate_by_name(front, req),
        Route::Users => users(front, req, need()?),
        Route::AuthKeys => auth_keys(req, need()?),
        Route::UsersMe => {
            let user = need()?;
            if !front.rules().own_user_routes {
                // Emby's `/Users/{Id}`, whose handler reads `Me` as a GUID.
                return Err(ApiError::UnrecognizedGuid);
            }
            Ok(Reply::json(
                req.casing,
                &user_dto(front, user, true),
                Work::default(),
            ))
        }
        Route::User(id) => {
            let user = front.effective_user(need()?, Some(id))?;
            Ok(Reply::json(
                req.casing,
                &user_dto(front, &user, true),
                Work::default(),
            ))
        }
        Route::Items(path_user) => list_items(front, req, need()?, path_user.as_deref()),
        Route::Item(path_user, id) => get_item(front, req, need()?, path_user.as_deref(), id),
        Route::DeleteItem(raw) => delete_item(front, need()?, raw),
        Route::Latest(path_user) => latest(front, req, need()?, path_user.as_deref()),
        Route::Counts => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            with_render(front, req, &user, |render| {
                let (counts, work) = items::counts(render);
                Ok(Reply::json(req.casing, &counts, work))
            })
        }
        Route::Views(path_user) => views(front, req, need()?, path_user.as_deref()),
        Route::Resume(path_user) => {
            let user =
                front.effective_user(need()?, path_user.as_deref().or(req.query.str("userId")))?;
            let query = ItemQuery::parse(front.sim.seed(), &req.query)?.for_resume();
            with_render(front, req, &user, |render| {
                let (result, work) = items::run_items_query(render, &query, &front.sort_cache)?;
                Ok(Reply::json(req.casing, &result, work))
            })
        }
        Route::NextUp => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            with_render(front, req, &user, |render| {
                let (result, work) = items::next_up(render, &req.query)?;
                Ok(Reply::json(req.casing, &result, work))
            })
        }
        Route::MediaFolders => media_folders(front, req, need()?),
        Route::Artists { album_artists } => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            with_render(front, req, &user, |render| {
                let (result, work) = items::artists(render, &req.query, *album_artists)?;
                Ok(Reply::json(req.casing, &result, work))
            })
        }
        Route::SearchHints => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            with_render(front, req, &user, |render| {
                let (result, work) = items::search_hints(render, &req.query)?;
                Ok(Reply::json(req.casing, &result, work))
            })
        }
        Route::Names(kind) => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            with_render(front, req, &user, |render| {
                let (result, work) = items::names(render, &req.query, *kind)?;
                Ok(Reply::json(req.casing, &result, work))
            })
        }
        Route::Similar(raw) => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            let Some(Target::Item(id)) = decode_id(front.sim.seed(), raw, "itemId")? else {
                return Err(ApiError::NotFound);
            };
            with_render(front, req, &user, |render| {
                let (result, work) = items::similar(render, &req.query, id)?;
                Ok(Reply::json(req.casing, &result, work))
            })
        }
        Route::VirtualFolders => virtual_folders(front, req, need()?),
        Route::Shows { series, episodes } => shows(front, req, need()?, series, *episodes),
        Route::Image { item, image_type } => image(front, req, item, image_type),
        Route::Media { item, download } => media(front, req, need()?, item, *download),
        Route::Sessions => sessions(front, req, need()?),
        Route::ActivityLog => activity_entries(front, req, need()?),
        Route::Playing(report) => playing(front, req, need()?, *report),
        Route::Capabilities => {
            need()?;
            Ok(Reply::no_content())
        }
        Route::Played { user, item, played } => {
            let user =
                front.effective_user(need()?, user.as_deref().or(req.query.str("userId")))?;
            let id = visible_item_id(front, &user, item)?;
            let state = if *played {
                // `datePlayed` becomes the play's date (`UserDataManager.UpdatePlayState`).
                let at = match req.query.str("datePlayed") {
                    None => front.sim.now(),
                    Some(raw) => parse_iso8601(raw)
                        .and_then(|at| u32::try_from(at).ok())
                        .ok_or_else(|| ApiError::invalid_value("datePlayed", raw))?,
                };
                let state = front.sim.state().scrobble(user.id, id, at);
                front.sim.emit(SimEvent::PlayStateChanged {
                    user: user.id,
                    item: id,
                    state,
                    reason: PlayStateReason::Scrobble,
                });
                state
            } else {
                front.sim.unscrobble(user.id, id)
            };
            user_data_reply(front, req, id, &state)
        }
        Route::Favorite {
            user,
            item,
            favorite,
        } => {
            let user =
                front.effective_user(need()?, user.as_deref().or(req.query.str("userId")))?;
            let id = visible_item_id(front, &user, item)?;
            let state = front.sim.set_favorite(user.id, id, *favorite);
            user_data_reply(front, req, id, &state)
        }
        Route::LibraryRefresh => {
            if !need()?.is_owner {
                return Err(ApiError::Forbidden);
            }
            let sections: Vec<u32> = front
                .sim
                .library()
                .sections()
                .iter()
                .map(|s| s.id)
                .collect();
            for section in sections {
                front.sim.start_scan(section);
            }
            Ok(Reply::no_content())
        }
        Route::CreatePlaylist => create_playlist(front, req, need()?),
        Route::GetPlaylist(id) => get_playlist(front, req, need()?, id),
        Route::UpdatePlaylist(id) => update_playlist(front, req, need()?, id),
        Route::PlaylistItems(id) => playlist_items(front, req, need()?, id),
        Route::AddToPlaylist(id) => add_to_playlist(front, req, need()?, id),
        Route::RemoveFromPlaylist(id) => remove_from_playlist(front, req, need()?, id),
        Route::MovePlaylistItem {
            playlist,
            entry,
            index,
        } => move_playlist_item(front, need()?, playlist, entry, index),
    }
}

/// Runs `f` with a renderer for `user` (library and state locked for its duration).
fn with_render<T>(
    front: &Front,
    req: &Req,
    user: &User,
    f: impl FnOnce(&Render<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let lib = front.sim.library();
    let state = front.sim.state();
    let server_id = front.sim.identity().jellyfin_server_id.clone();
    let render = Render {
        lib: &lib,
        state: &state,
        user,
        server_id: &server_id,
        seed: front.sim.seed(),
        fields: Fields::parse(&req.query),
        user_data: req.query.bool("EnableUserData")?.unwrap_or(true),
        images: ImageOptions::parse(&req.query)?,
        shuffle: shuffle_salt(front.sim.seed()),
    };
    f(&render)
}

fn public_info(front: &Front, req: &Req) -> PublicSystemInfo {
    let identity = front.sim.identity();
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8096");
    PublicSystemInfo {
        local_address: format!("http://{host}"),
        server_name: identity.friendly_name.clone(),
        version: front.version_string().to_owned(),
        product_name: (front.dialect == super::Dialect::Jellyfin)
            .then(|| "Jellyfin Server".to_owned()),
        operating_system: String::new(),
        id: identity.jellyfin_server_id.clone(),
        startup_wizard_completed: true,
    }
}

fn system_info(front: &Front, req: &Req) -> Result<Reply, ApiError> {
    let public = public_info(front, req);
    let info = SystemInfo {
        public,
        operating_system_display_name: "Linux".to_owned(),
        package_name: "cachearr-sim".to_owned(),
        has_pending_restart: false,
        is_shutting_down: false,
        supports_library_monitor: true,
        web_socket_port_number: 8096,
        completed_installations: Vec::new(),
        can_self_restart: false,
        can_launch_web_browser: false,
        program_data_path: "/config".to_owned(),
        web_path: "/usr/share/jellyfin/web".to_owned(),
        items_by_name_path: "/config/metadata".to_owned(),
        cache_path: "/cache".to_owned(),
        log_path: "/config/log".to_owned(),
        internal_metadata_path: "/config/metadata".to_owned(),
        transcoding_temp_path: "/cache/transcodes".to_owned(),
        cast_receiver_applications: Vec::new(),
        has_update_available: false,
        encoder_location: "System".to_owned(),
        system_architecture: "X64".to_owned(),
    };
    Ok(Reply::json(req.casing, &info, Work::default()))
}

/// A user as `UserDto`; `full` adds `Configuration` and `Policy`.
pub(crate) fn user_dto(front: &Front, user: &User, full: bool) -> UserDto {
    let last = front
        .last_activity(user.id)
        .map(|at| iso8601(i64::from(at)));
    let policy = full.then(|| {
        let jellyfin = &user.restrictions.jellyfin;
        UserPolicy {
            max_parental_rating: jellyfin.max_parental_rating,
            blocked_tags: jellyfin.blocked_tags.clone(),
            allowed_tags: jellyfin.allowed_tags.clone(),
            ..UserPolicy::new(
                user.is_owner,
                user.sections
                    .as_ref()
                    .map(|ids| ids.iter().map(|id| view_id(*id)).collect()),
            )
        }
    });
    UserDto {
        name: user.name.clone(),
        server_id: front.sim.identity().jellyfin_server_id.clone(),
        id: user.jellyfin_id.clone(),
        // 12 marks both obsolete and always writes true.
        has_password: front.rules().password_flags_obsolete || !user.password.is_empty(),
        has_configured_password: front.rules().password_flags_obsolete || !user.password.is_empty(),
        has_configured_easy_password: false,
        enable_auto_login: false,
        last_login_date: last.clone(),
        last_activity_date: last,
        configuration: full.then(UserConfiguration::default),
        policy,
    }
}

fn users_public(front: &Front, req: &Req) -> Result<Reply, ApiError> {
    let users: Vec<User> = front.sim.state().users().to_vec();
    let dtos: Vec<UserDto> = users.iter().map(|u| user_dto(front, u, false)).collect();
    Ok(Reply::json(req.casing, &dtos, Work::default()))
}

fn users(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let users: Vec<User> = front.sim.state().users().to_vec();
    let dtos: Vec<UserDto> = users.iter().map(|u| user_dto(front, u, true)).collect();
    let work = Work {
        scanned: dtos.len() as u64,
        returned: dtos.len() as u64,
    };
    Ok(Reply::json(req.casing, &dtos, work))
}

/// `GET /Auth/Keys`: the server's API keys with their tokens (`AccessToken`), shown to
/// administrators only. The simulator mints no API key (every token is a user's), so the list
/// is empty: a token shown the user list is then its one administrator's, as a client that
/// reads this list may tell.
fn auth_keys(req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let none: QueryResult<Value> = QueryResult {
        items: Vec::new(),
        total_record_count: 0,
        start_index: 0,
    };
    Ok(Reply::json(req.casing, &none, Work::default()))
}

/// Parses a JSON body; an empty body is an empty object.
fn json_body(req: &Req) -> Result<Value, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(&req.body).map_err(|err| ApiError::BadRequest {
        field: "$".to_owned(),
        message: format!("The request body is not valid JSON: {err}"),
    })
}

fn authenticate_by_name(front: &Front, req: &Req) -> Result<Reply, ApiError> {
    let body = json_body(req)?;
    let name = body_str(&body, "Username").ok_or_else(|| ApiError::missing("Username"))?;
    let password = body_str(&body, "Pw").unwrap_or_default();
    let (user, token) = {
        let mut state = front.sim.state();
        let user = state
            .user_by_name(name)
            .filter(|u| u.password == password)
            .cloned()
            .ok_or(ApiError::Unauthorized)?;
        let token = state.issue_jellyfin_token(user.id);
        (user, token)
    };
    let session = front.touch_device(&user, &req.auth);
    let result = super::dto::AuthenticationResult {
        user: user_dto(front, &user, true),
        session_info: session_info(front, &user, &session),
        access_token: token,
        server_id: front.sim.identity().jellyfin_server_id.clone(),
    };
    Ok(Reply::json(req.casing, &result, Work::default()))
}

fn list_items(
    front: &Front,
    req: &Req,
    caller: &User,
    path_user: Option<&str>,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, path_user.or(req.query.str("userId")))?;
    if front.dialect == super::Dialect::Emby
        && let Some(names) = super::emby::NameQuery::of(&req.query)
    {
        return with_render(front, req, &user, |render| {
            let (result, work) = names.answer(render, &req.query, |query| {
                let query = ItemQuery::parse(front.sim.seed(), query)?.for_release(front.rules());
                items::run_items_query(render, &query, &front.sort_cache)
            })?;
            Ok(Reply::json(req.casing, &result, work))
        });
    }
    let query = ItemQuery::parse(front.sim.seed(), &req.query)?.for_release(front.rules());
    with_render(front, req, &user, |render| {
        let (result, work) = items::run_items_query(render, &query, &front.sort_cache)?;
        Ok(Reply::json(req.casing, &result, work))
    })
}

fn get_item(
    front: &Front,
    req: &Req,
    caller: &User,
    path_user: Option<&str>,
    id: &str,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, path_user.or(req.query.str("userId")))?;
    let target = decode_id(front.sim.seed(), id, "itemId")?.ok_or(ApiError::NotFound)?;
    // The server answers a single item with `new DtoOptions()` whatever the query says
    // (`UserLibraryController.GetItem` binds only `userId`).
    with_full_render(front, &user, |render| {
        let dto = render.target(target).ok_or(ApiError::NotFound)?;
        Ok(Reply::json(
            req.casing,
            &dto,
            Work {
                scanned: 1,
                returned: 1,
            },
        ))
    })
}

/// Runs `f` with a renderer that writes what the server's `new DtoOptions()` writes — every
/// field, every image, the user's data — for the endpoints that build their answers with it
/// whatever the query says: a single item, the user's views, the media folders.
fn with_full_render<T>(
    front: &Front,
    user: &User,
    f: impl FnOnce(&Render<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let lib = front.sim.library();
    let state = front.sim.state();
    let server_id = front.sim.identity().jellyfin_server_id.clone();
    let render = Render {
        lib: &lib,
        state: &state,
        user,
        server_id: &server_id,
        seed: front.sim.seed(),
        fields: Fields::all(),
        user_data: true,
        images: ImageOptions::default(),
        shuffle: shuffle_salt(front.sim.seed()),
    };
    f(&render)
}

fn latest(
    front: &Front,
    req: &Req,
    caller: &User,
    path_user: Option<&str>,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, path_user.or(req.query.str("userId")))?;
    with_render(front, req, &user, |render| {
        let (list, work) = items::latest(render, &req.query)?;
        Ok(Reply::json(req.casing, &list, work))
    })
}

fn views(
    front: &Front,
    req: &Req,
    caller: &User,
    path_user: Option<&str>,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, path_user.or(req.query.str("userId")))?;
    // `UserViewsController` builds the views with `new DtoOptions()`: every always-written
    // field (`Etag`, `SortName`, `ChildCount`…) whatever `Fields` says.
    with_full_render(front, &user, |render| {
        let items: Vec<_> = render
            .lib
            .sections()
            .iter()
            .filter(|s| user.can_see_section(s.id))
            .map(|s| render.view(s))
            .collect();
        let work = Work {
            scanned: items.len() as u64,
            returned: items.len() as u64,
        };
        let total = items.len();
        Ok(Reply::json(
            req.casing,
            &QueryResult {
                items,
                total_record_count: total,
                start_index: 0,
            },
            work,
        ))
    })
}

fn media_folders(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    // `LibraryController.GetMediaFolders` uses `new DtoOptions()` too.
    with_full_render(front, caller, |render| {
        let items: Vec<_> = render
            .lib
            .sections()
            .iter()
            .map(|s| render.view(s))
            .collect();
        let work = Work {
            scanned: items.len() as u64,
            returned: items.len() as u64,
        };
        let total = items.len();
        Ok(Reply::json(
            req.casing,
            &QueryResult {
                items,
                total_record_count: total,
                start_index: 0,
            },
            work,
        ))
    })
}

/// `DELETE /Items/{id}`: deletes one of the caller's playlists, or — for administrators, as
/// `EnableContentDeletion` allows only them by default — removes a library item and its
/// children (the core emits the removal events). Others get 403 for items they can see.
fn delete_item(front: &Front, caller: &User, raw: &str) -> Result<Reply, ApiError> {
    match decode_id(front.sim.seed(), raw, "itemId")? {
        Some(Target::Playlist(id)) => {
            front
                .sim
                .state()
                .delete_playlist(caller.id, id)
                .map_err(|_| ApiError::NotFound)?;
            front.sim.playlist_changed(caller.id, id);
            Ok(Reply::no_content())
        }
        Some(Target::Item(_)) => {
            let id = visible_item_id(front, caller, raw)?;
            if !caller.is_owner {
                return Err(ApiError::Forbidden);
            }
            front.sim.remove_item(id).map_err(|_| ApiError::NotFound)?;
            Ok(Reply::no_content())
        }
        _ => Err(ApiError::NotFound),
    }
}

/// `GET /Library/VirtualFolders`: the libraries with their folders (administrators).
fn virtual_folders(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let scanning = front.sim.state().scanning_sections();
    let folders: Vec<Value> = front
        .sim
        .library()
        .sections()
        .iter()
        .map(|section| {
            let id = view_id(section.id);
            serde_json::json!({
                "Name": section.title,
                "Locations": [section.location],
                "CollectionType": items::collection_type(section.kind),
                "LibraryOptions": {
                    "Enabled": true,
                    "EnableRealtimeMonitor": true,
                    "PathInfos": [{"Path": section.location}],
                },
                "ItemId": id,
                "PrimaryImageItemId": id,
                "RefreshStatus": if scanning.contains(&section.id) { "Active" } else { "Idle" },
            })
        })
        .collect();
    let work = Work {
        scanned: folders.len() as u64,
        returned: folders.len() as u64,
    };
    Ok(Reply::json(req.casing, &folders, work))
}

fn shows(
    front: &Front,
    req: &Req,
    caller: &User,
    series: &str,
    episodes: bool,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, req.query.str("userId"))?;
    let seed = front.sim.seed();
    let Some(Target::Item(series_id)) = decode_id(seed, series, "seriesId")? else {
        return Err(ApiError::NotFound);
    };
    let season_filter = match req.query.str("SeasonId") {
        Some(raw) => match decode_id(seed, raw, "seasonId")? {
            Some(Target::Item(id)) => Some(id),
            _ => return Err(ApiError::NotFound),
        },
        None => None,
    };
    let start = req.query.count("StartIndex")?.unwrap_or(0);
    let limit = req.query.count("Limit")?.unwrap_or(usize::MAX);
    with_render(front, req, &user, |render| {
        let show = visible_item(render.lib, &user, series_id)
            .filter(|item| item.kind() == ItemKind::Show)
            .ok_or(ApiError::NotFound)?;
        let ids: Vec<u32> = if episodes {
            render
                .lib
                .leaves(show.id())
                .into_iter()
                .filter(|id| {
                    season_filter.is_none_or(|season| {
                        render
                            .lib
                            .item(*id)
                            .and_then(|e| e.parent())
                            .is_some_and(|p| p.id() == season)
                    })
                })
                .collect()
        } else {
            show.children().to_vec()
        };
        let total = ids.len();
        let items: Vec<_> = ids
            .iter()
            .skip(start)
            .take(limit)
            .filter_map(|id| visible_item(render.lib, &user, *id))
            .map(|item| render.item(item))
            .collect();
        let work = Work {
            scanned: total as u64,
            returned: items.len() as u64,
        };
        Ok(Reply::json(
            req.casing,
            &QueryResult {
                items,
                total_record_count: total,
                start_index: start,
            },
            work,
        ))
    })
}
