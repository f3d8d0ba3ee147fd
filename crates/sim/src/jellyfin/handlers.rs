//! The endpoint handlers. Each one is synchronous: it takes the library read guard and the state
//! mutex for as long as it needs them, releases them, and returns the response with the work it
//! did; [`super::dispatch`] then charges that work to the cost model (which may sleep) holding
//! no lock.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::library::ItemKind;
use crate::state::{PlaybackState, PlaylistKind, StateError, User};

use super::dto::{
    ClientCapabilities, PlayerStateInfo, PlaylistCreationResult, PlaylistDto, PublicSystemInfo,
    QueryResult, SessionInfo, SystemInfo, UserConfiguration, UserDto, UserPolicy, iso8601,
};
use super::ids::{IdSpace, JfId};
use super::items::{
    self, Fields, ItemQuery, Render, Target, Work, decode_id, playlist_id, user_item_data, view_id,
    visible_item,
};
use super::json::{Casing, json_response};
use super::request::{AuthInfo, QueryParams, body_field, body_str};
use super::routes::{PlayingReport, Route};
use super::{ApiError, DeviceSession, Front};

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
        Route::SystemPing => Ok(Reply::json(req.casing, &"Jellyfin Server", Work::default())),
        Route::UsersPublic => users_public(front, req),
        Route::AuthenticateByName => authenticate_by_name(front, req),
        Route::Users => users(front, req, need()?),
        Route::UsersMe => {
            let user = need()?;
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
        Route::Artists { .. } => {
            let user = front.effective_user(need()?, req.query.str("userId"))?;
            with_render(front, req, &user, |render| {
                let (result, work) = items::artists(render, &req.query)?;
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
                front.sim.scrobble(user.id, id)
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
        images: req.query.bool("EnableImages")?.unwrap_or(true),
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
        version: identity.jellyfin_version.clone(),
        product_name: "Jellyfin Server".to_owned(),
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
        has_password: !user.password.is_empty(),
        has_configured_password: !user.password.is_empty(),
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
    let query = ItemQuery::parse(front.sim.seed(), &req.query)?;
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
    with_render(front, req, &user, |render| {
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
    with_render(front, req, &user, |render| {
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
    with_render(front, req, caller, |render| {
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

/// `ImageType` values the server knows; any other is a 400.
const IMAGE_TYPES: [&str; 13] = [
    "Primary",
    "Art",
    "Backdrop",
    "Banner",
    "Logo",
    "Thumb",
    "Disc",
    "Box",
    "Screenshot",
    "Menu",
    "Chapter",
    "BoxRear",
    "Profile",
];

fn dimension(query: &QueryParams, name: &str) -> Result<Option<u32>, ApiError> {
    Ok(query
        .count(name)?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

/// `GET /Items/{id}/Images/{type}`: anonymous, as on the real server. Only `Primary` exists.
fn image(front: &Front, req: &Req, item: &str, image_type: &str) -> Result<Reply, ApiError> {
    if !IMAGE_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(image_type))
    {
        return Err(ApiError::invalid_value("imageType", image_type));
    }
    let target = decode_id(front.sim.seed(), item, "itemId")?.ok_or(ApiError::NotFound)?;
    if !image_type.eq_ignore_ascii_case("Primary") {
        return Err(ApiError::NotFound);
    }
    // When the image last changed (its item's update time; none for an artist by name).
    let (seed, aspect, modified) = {
        let lib = front.sim.library();
        match target {
            Target::Item(id) => {
                let item = lib.item(id).ok_or(ApiError::NotFound)?;
                let aspect = match item.kind() {
                    ItemKind::Movie | ItemKind::Show | ItemKind::Season => 2.0 / 3.0,
                    ItemKind::Episode => 16.0 / 9.0,
                    _ => 1.0,
                };
                (
                    mix_tag(item.content_hash(), item.updated_at()),
                    aspect,
                    Some(item.updated_at()),
                )
            }
            Target::View(id) => {
                let section = lib.section(id).ok_or(ApiError::NotFound)?;
                (
                    mix_tag(u64::from(section.id) << 32, section.created_at),
                    16.0 / 9.0,
                    Some(section.created_at),
                )
            }
            Target::Playlist(id) => {
                let state = front.sim.state();
                let playlist = state
                    .users()
                    .iter()
                    .find_map(|u| state.playlist(u.id, id))
                    .ok_or(ApiError::NotFound)?;
                (
                    mix_tag(u64::from(playlist.id), playlist.updated_at),
                    1.0,
                    Some(playlist.updated_at),
                )
            }
            Target::ArtistName(hash) => (mix_tag(hash, 0), 1.0, None),
        }
    };
    let query = &req.query;
    let (width, height) = super::image::target_size(
        aspect,
        dimension(query, "maxWidth")?.or(dimension(query, "width")?),
        dimension(query, "maxHeight")?.or(dimension(query, "height")?),
        dimension(query, "fillWidth")?,
        dimension(query, "fillHeight")?,
    );
    let tag = format!("{seed:016x}");
    let etag = format!("\"{tag}\"");
    let modified = modified.map(|secs| {
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(secs))
    });
    // The real server serves the image file with ASP.NET Core's file result, which answers
    // `If-None-Match` / `If-Modified-Since` with `304 Not Modified` and no body.
    if not_modified(&req.headers, &etag, modified) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, v);
        }
        return Ok(Reply {
            response,
            work: Work {
                scanned: 1,
                returned: 0,
            },
        });
    }
    let png = super::image::render_png(seed, width, height);
    let returned = 1;
    let mut response = (StatusCode::OK, png).into_response();
    let headers = response.headers_mut();
    if let Some(at) = modified
        && let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at))
    {
        headers.insert(header::LAST_MODIFIED, v);
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    let versioned = query
        .str("tag")
        .is_some_and(|t| t.eq_ignore_ascii_case(&tag));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "public"
        }),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    Ok(Reply {
        response,
        work: Work {
            scanned: 1,
            returned,
        },
    })
}

/// Whether a conditional request may be answered `304` (RFC 9110 §13.2.2): `If-None-Match`
/// naming the current tag (weak comparison) or `*`; without it, `If-Modified-Since` not
/// before the image's time.
fn not_modified(headers: &HeaderMap, etag: &str, modified: Option<std::time::SystemTime>) -> bool {
    let none_match: Vec<&str> = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if !none_match.is_empty() {
        return none_match
            .iter()
            .any(|t| *t == "*" || t.trim_start_matches("W/") == etag);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    matches!((since, modified), (Some(since), Some(at)) if at <= since)
}

/// The tag (and image seed) of an object: the same function as the `ImageTags` of its DTO.
fn mix_tag(content_hash: u64, updated_at: u32) -> u64 {
    crate::rng::mix(content_hash ^ u64::from(updated_at))
}

/// The media file of a playable item: synthetic bytes (the same as the Plex front end serves
/// for the item), whole or one `Range`.
fn media(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
    download: bool,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, req.query.str("userId"))?;
    let id = visible_item_id(front, &user, raw)?;
    let (hash, size, container, file_name) = {
        let lib = front.sim.library();
        let item = lib
            .item(id)
            .filter(|i| i.kind().is_playable())
            .ok_or(ApiError::NotFound)?;
        let path = item.file_path();
        let file_name = path.rsplit('/').next().unwrap_or_default().to_owned();
        (
            item.content_hash(),
            item.file_size(),
            item.container(),
            file_name,
        )
    };
    let content_type = match container {
        Some("flac") => "audio/flac",
        Some("mp3") => "audio/mpeg",
        _ => "video/x-matroska",
    };
    let mut response = crate::media::media_response(&req.headers, hash, size, content_type);
    if download {
        // Header values are ASCII: an ASCII fallback name plus the RFC 5987 UTF-8 form.
        let ascii: String = file_name
            .chars()
            .map(|c| {
                if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(&file_name, percent_encoding::NON_ALPHANUMERIC);
        let value = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(Reply {
        response,
        work: Work {
            scanned: 1,
            returned: 0,
        },
    })
}

pub(crate) fn session_info(front: &Front, user: &User, device: &DeviceSession) -> SessionInfo {
    let playing = {
        let state = front.sim.state();
        state
            .sessions()
            .iter()
            .find(|s| s.user == user.id && s.client_id == device.device_id)
            .cloned()
    };
    let mut play_state = PlayerStateInfo {
        can_seek: true,
        repeat_mode: "RepeatNone".to_owned(),
        playback_order: "Default".to_owned(),
        ..PlayerStateInfo::default()
    };
    let mut now_playing = None;
    if let Some(session) = &playing {
        play_state.position_ticks = Some(i64::from(session.view_offset_ms) * 10_000);
        play_state.is_paused = session.state == PlaybackState::Paused;
        play_state.play_method = Some("DirectPlay".to_owned());
        let lib = front.sim.library();
        let state = front.sim.state();
        let server_id = front.sim.identity().jellyfin_server_id.clone();
        let render = Render {
            lib: &lib,
            state: &state,
            user,
            server_id: &server_id,
            seed: front.sim.seed(),
            fields: Fields::default(),
            user_data: false,
            images: true,
        };
        now_playing = render.target(Target::Item(session.item)).map(Box::new);
        play_state.media_source_id = now_playing.as_ref().map(|item| item.id.clone());
    }
    let last = iso8601(i64::from(device.last_activity));
    SessionInfo {
        play_state,
        additional_users: Vec::new(),
        capabilities: ClientCapabilities {
            playable_media_types: vec!["Audio".to_owned(), "Video".to_owned()],
            supported_commands: Vec::new(),
            supports_media_control: false,
            supports_persistent_identifier: true,
        },
        remote_end_point: "127.0.0.1".to_owned(),
        playable_media_types: vec!["Audio".to_owned(), "Video".to_owned()],
        id: JfId::new(IdSpace::Session, device.number).encode(),
        user_id: user.jellyfin_id.clone(),
        user_name: user.name.clone(),
        client: device.client.clone(),
        last_activity_date: last.clone(),
        last_playback_check_in: last,
        device_name: device.device.clone(),
        device_id: device.device_id.clone(),
        application_version: device.version.clone(),
        is_active: true,
        supports_media_control: false,
        supports_remote_control: false,
        now_playing_item: now_playing,
        now_playing_queue: Vec::new(),
        now_playing_queue_full_items: Vec::new(),
        has_custom_device_name: false,
        server_id: front.sim.identity().jellyfin_server_id.clone(),
        supported_commands: Vec::new(),
    }
}

fn sessions(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    let controllable = match req.query.str("ControllableByUserId") {
        Some(raw) => Some(front.effective_user(caller, Some(raw))?.id),
        None => None,
    };
    let device_filter = req.query.str("DeviceId").map(str::to_owned);
    let active_within = req.query.int("ActiveWithinSeconds")?;
    let now = front.sim.now();
    let devices = front.devices_snapshot();
    let users: Vec<User> = front.sim.state().users().to_vec();
    let mut out = Vec::new();
    for device in &devices {
        if !caller.is_owner && device.user != caller.id {
            continue;
        }
        if controllable.is_some_and(|id| id != device.user)
            || device_filter
                .as_ref()
                .is_some_and(|d| *d != device.device_id)
            || active_within.is_some_and(|secs| {
                i64::from(now) - i64::from(device.last_activity) > i64::from(secs)
            })
        {
            continue;
        }
        if let Some(user) = users.iter().find(|u| u.id == device.user) {
            out.push(session_info(front, user, device));
        }
    }
    let work = Work {
        scanned: devices.len() as u64,
        returned: out.len() as u64,
    };
    Ok(Reply::json(req.casing, &out, work))
}

fn playing(
    front: &Front,
    req: &Req,
    caller: &User,
    report: PlayingReport,
) -> Result<Reply, ApiError> {
    if report == PlayingReport::Ping {
        return Ok(Reply::no_content());
    }
    let body = json_body(req)?;
    let raw_item = body_str(&body, "ItemId").ok_or_else(|| ApiError::missing("ItemId"))?;
    let item = visible_item_id(front, caller, raw_item)?;
    let ticks = match body_field(&body, "PositionTicks") {
        None => 0,
        Some(value) => value
            .as_i64()
            .ok_or_else(|| ApiError::invalid_value("PositionTicks", &value.to_string()))?,
    };
    let paused = body_field(&body, "IsPaused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let offset_ms = u32::try_from((ticks / 10_000).max(0)).unwrap_or(u32::MAX);
    let state = match report {
        PlayingReport::Stopped => PlaybackState::Stopped,
        _ if paused => PlaybackState::Paused,
        _ => PlaybackState::Playing,
    };
    let device = front.touch_device(caller, &req.auth);
    front.sim.report_playback(
        caller.id,
        item,
        state,
        offset_ms,
        &device.device_id,
        &device.client,
    );
    Ok(Reply::no_content())
}

/// Decodes an item id the user may see (400 malformed, 404 unknown or hidden).
fn visible_item_id(front: &Front, user: &User, raw: &str) -> Result<u32, ApiError> {
    match decode_id(front.sim.seed(), raw, "itemId")? {
        Some(Target::Item(id)) if visible_item(&front.sim.library(), user, id).is_some() => Ok(id),
        _ => Err(ApiError::NotFound),
    }
}

fn user_data_reply(
    front: &Front,
    req: &Req,
    id: u32,
    state: &crate::state::PlayState,
) -> Result<Reply, ApiError> {
    let (guid, duration) = {
        let lib = front.sim.library();
        let item = lib.item(id).ok_or(ApiError::NotFound)?;
        (item.guid_id(), item.duration_ms())
    };
    let data = user_item_data(state, &guid, duration);
    Ok(Reply::json(
        req.casing,
        &data,
        Work {
            scanned: 1,
            returned: 1,
        },
    ))
}

/// Item ids of a playlist request: decoded, visible to `user`, folders expanded to their
/// playable items (as the server does for a series or an album). A malformed id in a JSON
/// body is a 400 (the body does not bind); in the query it is skipped, as the server's
/// comma-list binder does.
fn playlist_item_ids(
    front: &Front,
    user: &User,
    raw: &[&str],
    from_body: bool,
) -> Result<Vec<u32>, ApiError> {
    let seed = front.sim.seed();
    let lib = front.sim.library();
    let mut out = Vec::new();
    for text in raw {
        if !from_body && !JfId::is_guid_syntax(text) {
            continue;
        }
        if let Some(Target::Item(id)) = decode_id(seed, text, "ids")?
            && let Some(item) = visible_item(&lib, user, id)
        {
            if item.kind().is_playable() {
                out.push(id);
            } else {
                out.extend(lib.leaves(id));
            }
        }
    }
    Ok(out)
}

/// String ids from a JSON array (or a comma list) field.
fn body_ids(body: &Value, name: &str) -> Option<Vec<String>> {
    match body_field(body, name)? {
        Value::Array(values) => Some(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Value::String(list) => Some(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

fn create_playlist(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    let body = json_body(req)?;
    let name = body_str(&body, "Name")
        .or(req.query.str("Name"))
        .ok_or_else(|| ApiError::missing("Name"))?
        .to_owned();
    let user_param = body_str(&body, "UserId").or(req.query.str("userId"));
    let user = front.effective_user(caller, user_param)?;
    let body_ids = body_ids(&body, "Ids");
    let from_body = body_ids.is_some();
    let raw_ids: Vec<String> = body_ids.unwrap_or_else(|| {
        req.query
            .list("Ids")
            .into_iter()
            .map(str::to_owned)
            .collect()
    });
    let raw: Vec<&str> = raw_ids.iter().map(String::as_str).collect();
    let ids = playlist_item_ids(front, &user, &raw, from_body)?;
    let media_type = body_str(&body, "MediaType").or(req.query.str("MediaType"));
    let kind = match media_type {
        Some(t) if t.eq_ignore_ascii_case("Audio") => PlaylistKind::Audio,
        Some(t) if t.eq_ignore_ascii_case("Video") => PlaylistKind::Video,
        Some(t) if !t.eq_ignore_ascii_case("Unknown") => {
            return Err(ApiError::invalid_value("MediaType", t));
        }
        _ => {
            let lib = front.sim.library();
            match ids
                .first()
                .and_then(|id| lib.item(*id))
                .map(|item| item.kind())
            {
                Some(ItemKind::Track) | None => PlaylistKind::Audio,
                Some(_) => PlaylistKind::Video,
            }
        }
    };
    let now = front.sim.now();
    let id = front
        .sim
        .state()
        .create_playlist(user.id, &name, kind, false, &ids, now);
    front.sim.playlist_changed(user.id, id);
    let work = Work {
        scanned: ids.len() as u64,
        returned: 1,
    };
    Ok(Reply::json(
        req.casing,
        &PlaylistCreationResult {
            id: playlist_id(id),
        },
        work,
    ))
}

/// The playlist number of an id the user owns (400 malformed, 404 otherwise).
fn owned_playlist(front: &Front, user: &User, raw: &str) -> Result<u32, ApiError> {
    match decode_id(front.sim.seed(), raw, "playlistId")? {
        Some(Target::Playlist(id)) if front.sim.state().playlist(user.id, id).is_some() => Ok(id),
        _ => Err(ApiError::NotFound),
    }
}

fn get_playlist(front: &Front, req: &Req, caller: &User, raw: &str) -> Result<Reply, ApiError> {
    let id = owned_playlist(front, caller, raw)?;
    let entries: Vec<u32> = front
        .sim
        .state()
        .playlist(caller.id, id)
        .map(|p| p.items.iter().map(|e| e.item).collect())
        .unwrap_or_default();
    let lib = front.sim.library();
    let item_ids: Vec<String> = entries
        .iter()
        .filter_map(|item| visible_item(&lib, caller, *item))
        .map(|item| item.guid_id())
        .collect();
    let work = Work {
        scanned: entries.len() as u64,
        returned: 1,
    };
    Ok(Reply::json(
        req.casing,
        &PlaylistDto {
            open_access: false,
            shares: Vec::new(),
            item_ids,
        },
        work,
    ))
}

fn update_playlist(front: &Front, req: &Req, caller: &User, raw: &str) -> Result<Reply, ApiError> {
    let id = owned_playlist(front, caller, raw)?;
    let body = json_body(req)?;
    let ids = match body_ids(&body, "Ids") {
        Some(raw_ids) => {
            let raw: Vec<&str> = raw_ids.iter().map(String::as_str).collect();
            Some(playlist_item_ids(front, caller, &raw, true)?)
        }
        None => None,
    };
    let now = front.sim.now();
    {
        let mut state = front.sim.state();
        let result = (|| -> Result<(), StateError> {
            if let Some(name) = body_str(&body, "Name") {
                state.edit_playlist(caller.id, id, Some(name), None, now)?;
            }
            if let Some(ids) = &ids {
                state.clear_playlist(caller.id, id, now)?;
                state.add_to_playlist(caller.id, id, ids, now)?;
            }
            Ok(())
        })();
        result.map_err(|_| ApiError::NotFound)?;
    }
    front.sim.playlist_changed(caller.id, id);
    Ok(Reply::no_content())
}

fn playlist_items(front: &Front, req: &Req, caller: &User, raw: &str) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, req.query.str("userId"))?;
    let id = owned_playlist(front, &user, raw)?;
    let query = ItemQuery::parse(front.sim.seed(), &req.query)?.for_playlist(id);
    with_render(front, req, &user, |render| {
        let (result, work) = items::run_items_query(render, &query, &front.sort_cache)?;
        Ok(Reply::json(req.casing, &result, work))
    })
}

fn add_to_playlist(front: &Front, req: &Req, caller: &User, raw: &str) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, req.query.str("userId"))?;
    let id = owned_playlist(front, &user, raw)?;
    let ids = playlist_item_ids(front, &user, &req.query.list("Ids"), false)?;
    let now = front.sim.now();
    front
        .sim
        .state()
        .add_to_playlist(user.id, id, &ids, now)
        .map_err(|_| ApiError::NotFound)?;
    front.sim.playlist_changed(user.id, id);
    Ok(Reply {
        response: StatusCode::NO_CONTENT.into_response(),
        work: Work {
            scanned: ids.len() as u64,
            returned: 0,
        },
    })
}

fn remove_from_playlist(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
) -> Result<Reply, ApiError> {
    let id = owned_playlist(front, caller, raw)?;
    let mut entries = Vec::new();
    // Entry ids bind as strings: anything that names no entry is skipped.
    for text in req.query.list("EntryIds") {
        if let Some(entry) = JfId::decode_in(text, IdSpace::PlaylistEntry) {
            entries.extend(u32::try_from(entry).ok());
        }
    }
    let now = front.sim.now();
    {
        let mut state = front.sim.state();
        for entry in &entries {
            // Unknown entries are skipped, as the server does.
            match state.remove_from_playlist(caller.id, id, *entry, now) {
                Ok(()) | Err(StateError::NoSuchEntry(_)) => {}
                Err(StateError::NoSuchPlaylist(_)) => return Err(ApiError::NotFound),
            }
        }
    }
    front.sim.playlist_changed(caller.id, id);
    Ok(Reply::no_content())
}

fn move_playlist_item(
    front: &Front,
    caller: &User,
    raw_playlist: &str,
    raw_entry: &str,
    raw_index: &str,
) -> Result<Reply, ApiError> {
    let id = owned_playlist(front, caller, raw_playlist)?;
    let index: usize = raw_index
        .parse()
        .map_err(|_| ApiError::invalid_value("newIndex", raw_index))?;
    if !JfId::is_guid_syntax(raw_entry) {
        return Err(ApiError::invalid_value("playlistItemId", raw_entry));
    }
    let entry = JfId::decode_in(raw_entry, IdSpace::PlaylistEntry)
        .and_then(|e| u32::try_from(e).ok())
        .ok_or(ApiError::NotFound)?;
    let now = front.sim.now();
    front
        .sim
        .state()
        .move_in_playlist_to(caller.id, id, entry, index, now)
        .map_err(|_| ApiError::NotFound)?;
    front.sim.playlist_changed(caller.id, id);
    Ok(Reply::no_content())
}
