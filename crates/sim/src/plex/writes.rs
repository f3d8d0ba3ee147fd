//! Write endpoints. Plex sends several of them as GET (scrobble, unscrobble, progress,
//! timeline, section refresh), so the router accepts the methods real clients use.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::listing::resolve_uri;
use super::lists::playlist_el;
use super::{Ctx, plex_error, reply};
use crate::Sim;
use crate::library::{ItemId, ItemKind};
use crate::state::{PlayState, PlaybackState, PlaylistKind, StateError};
use cachearr_serverfmt::tree::El;

/// The answer to a write that returns nothing (an empty `MediaContainer`), once the work on
/// `scanned` items is charged.
async fn empty_reply(sim: &Sim, ctx: &Ctx, scanned: u64) -> Response {
    sim.charge(scanned, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}

/// The item named by `key=` (a rating key or `/library/metadata/{rk}`), visible to the user.
fn target_item(sim: &Sim, ctx: &Ctx, param: &str) -> Result<ItemId, StatusCode> {
    let raw = ctx.q(param).ok_or(StatusCode::BAD_REQUEST)?;
    let raw = raw.strip_prefix("/library/metadata/").unwrap_or(raw);
    let id: ItemId = raw.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
    let lib = sim.library();
    lib.item(id)
        .filter(|i| ctx.user.plex_sees(i))
        .map(|i| i.id())
        .ok_or(StatusCode::NOT_FOUND)
}

/// The item a play-state write (`/:/scrobble`, `/:/unscrobble`, `/:/rate`, `/:/progress`) names
/// by `key=`; `identifier=`, when given, must be the library's.
fn library_item(sim: &Sim, ctx: &Ctx) -> Result<ItemId, StatusCode> {
    match ctx.q("identifier") {
        None | Some("com.plexapp.plugins.library") => target_item(sim, ctx, "key"),
        Some(_) => Err(StatusCode::BAD_REQUEST),
    }
}

/// Applies `mark` to every playable item under the item `key=` names (the item itself when it
/// is playable), charged per item marked.
async fn mark_leaves(sim: &Sim, ctx: &Ctx, mark: fn(&Sim, u32, ItemId) -> PlayState) -> Response {
    let id = match library_item(sim, ctx) {
        Ok(id) => id,
        Err(status) => return plex_error(status),
    };
    let leaves = sim.library().leaves(id);
    for &leaf in &leaves {
        mark(sim, ctx.user.id, leaf);
    }
    empty_reply(sim, ctx, leaves.len() as u64).await
}

/// `GET|PUT /:/scrobble?key=&identifier=com.plexapp.plugins.library`. Scrobbling a container
/// marks all its leaves played. A mark is not a play: history stays as it was (as on Plex;
/// plays come from players' timelines, see `Sim::report_playback`).
pub(crate) async fn scrobble(State(sim): State<Sim>, ctx: Ctx) -> Response {
    mark_leaves(&sim, &ctx, Sim::mark_played).await
}

/// `GET|PUT /:/unscrobble?key=&identifier=…`.
pub(crate) async fn unscrobble(State(sim): State<Sim>, ctx: Ctx) -> Response {
    mark_leaves(&sim, &ctx, Sim::unscrobble).await
}

/// The `rating=` of `/:/rate`: 0–10, or `None` for a negative one (which clears the rating).
fn parse_rating(ctx: &Ctx) -> Result<Option<f32>, StatusCode> {
    match ctx.q("rating").map(|r| r.parse::<f32>()) {
        Some(Ok(r)) if r < 0.0 => Ok(None),
        Some(Ok(r)) if r <= 10.0 => Ok(Some(r)),
        _ => Err(StatusCode::BAD_REQUEST),
    }
}

/// `PUT|GET /:/rate?key=&identifier=&rating=` (0–10; -1 clears).
pub(crate) async fn rate(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if let Some(id) = ctx.q("key").and_then(|k| k.parse::<u32>().ok())
        && super::collections::is_collection(&sim, id)
    {
        return rate_object(&sim, &ctx, id).await;
    }
    let rated = library_item(&sim, &ctx).and_then(|id| parse_rating(&ctx).map(|r| (id, r)));
    let (id, rating) = match rated {
        Ok(r) => r,
        Err(status) => return plex_error(status),
    };
    sim.rate(ctx.user.id, id, rating);
    empty_reply(&sim, &ctx, 0).await
}

/// `/:/rate` on a collection.
async fn rate_object(sim: &Sim, ctx: &Ctx, id: u32) -> Response {
    let rated = parse_rating(ctx).and_then(|r| super::collections::rate(sim, ctx, id, r));
    if let Err(status) = rated {
        return plex_error(status);
    }
    empty_reply(sim, ctx, 0).await
}

/// `GET|POST /:/timeline?ratingKey=&key=&state=&time=&duration=`: a player's heartbeat.
pub(crate) async fn timeline(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let param = if ctx.q("ratingKey").is_some() {
        "ratingKey"
    } else {
        "key"
    };
    let id = match target_item(&sim, &ctx, param) {
        Ok(id) => id,
        Err(status) => return plex_error(status),
    };
    let Some(state) = ctx.q("state").and_then(PlaybackState::from_plex_name) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let Some(Ok(time)) = ctx.q("time").map(|t| t.parse::<u32>()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let client = if ctx.client_id.is_empty() {
        "unknown-client"
    } else {
        ctx.client_id.as_str()
    };
    let product = if ctx.product.is_empty() {
        "Unknown"
    } else {
        ctx.product.as_str()
    };
    sim.report_playback(ctx.user.id, id, state, time, client, product);
    empty_reply(&sim, &ctx, 0).await
}

/// `GET|POST /:/progress?key=&identifier=&time=&state=`: stores a resume position.
pub(crate) async fn progress(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let id = match library_item(&sim, &ctx) {
        Ok(id) => id,
        Err(status) => return plex_error(status),
    };
    let Some(Ok(time)) = ctx.q("time").map(|t| t.parse::<u32>()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    sim.set_progress(ctx.user.id, id, time);
    empty_reply(&sim, &ctx, 0).await
}

/// `GET|POST|PUT /library/sections/{id}/refresh` (and `all`): starts asynchronous scans.
pub(crate) async fn refresh(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let sections: Vec<u32> = if id == "all" {
        sim.library()
            .sections()
            .iter()
            .map(|s| s.id)
            .filter(|&s| ctx.user.can_see_section(s))
            .collect()
    } else {
        match id.parse::<u32>() {
            Ok(s) if ctx.user.can_see_section(s) && sim.library().section(s).is_some() => vec![s],
            _ => return plex_error(StatusCode::NOT_FOUND),
        }
    };
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    for s in sections {
        sim.start_scan(s);
    }
    empty_reply(&sim, &ctx, 0).await
}

/// `PUT /library/sections/{id}/all?type=&id=1,2&title.value=…`: (batch) metadata edits.
/// Field values, locks and tag lists: see [`super::editing`].
pub(crate) async fn edit_all(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let Ok(section) = id.parse::<u32>() else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    if ctx.q("type") == Some(super::collections::COLLECTION_TYPE) {
        return super::collections::edit(sim, ctx, section).await;
    }
    let ids = match ctx.q("id") {
        Some(ids) => {
            let Ok(ids) = ids
                .split(',')
                .map(|s| s.trim().parse::<ItemId>())
                .collect::<Result<Vec<_>, _>>()
            else {
                return plex_error(StatusCode::BAD_REQUEST);
            };
            ids
        }
        // No ids: every item of `type=` in the section (locking a field on all of them).
        None => {
            let lib = sim.library();
            let kind = ctx
                .q("type")
                .and_then(|t| t.parse::<u32>().ok())
                .and_then(ItemKind::from_plex_type);
            match (lib.section(section), kind) {
                (Some(s), Some(k)) if s.kind.kinds().contains(&k) => s.items(k).to_vec(),
                (None, _) => return plex_error(StatusCode::NOT_FOUND),
                _ => return plex_error(StatusCode::BAD_REQUEST),
            }
        }
    };
    {
        let lib = sim.library();
        if ids
            .iter()
            .any(|&i| lib.item(i).is_none_or(|i| i.section().id != section))
        {
            return plex_error(StatusCode::NOT_FOUND);
        }
    }
    if let Err(status) = super::editing::apply(&sim, &ctx, &ids) {
        return plex_error(status);
    }
    empty_reply(&sim, &ctx, ids.len() as u64).await
}

/// `POST /playlists?uri=&type=audio|video&title=&smart=0|1`.
pub(crate) async fn create_playlist(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let Some(title) = ctx.q("title").filter(|t| !t.is_empty()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let kind = match ctx.q("type") {
        Some("audio") => PlaylistKind::Audio,
        Some("video") => PlaylistKind::Video,
        Some("photo") => PlaylistKind::Photo,
        _ => return plex_error(StatusCode::BAD_REQUEST),
    };
    let smart = ctx.flag("smart");
    let items = match ctx.q("uri") {
        Some(uri) => uri_items(&sim, &ctx, kind, uri),
        None if !smart => Ok(Vec::new()),
        None => Err(StatusCode::BAD_REQUEST),
    };
    let items = match items {
        Ok(items) => items,
        Err(status) => return plex_error(status),
    };
    let content = match (smart, ctx.q("uri").map(smart_content)) {
        (true, Some(Some(c))) => Some(c),
        (true, _) => return plex_error(StatusCode::BAD_REQUEST),
        (false, _) => None,
    };
    let id = {
        let now = sim.now();
        let mut state = sim.state();
        let id = state.create_playlist(ctx.user.id, title, kind, smart, &items, now);
        if content.is_some() {
            let _ = state.update_playlist(ctx.user.id, id, now, |p| p.content = content);
        }
        id
    };
    sim.playlist_changed(ctx.user.id, id);
    // The playlist was just made: not finding it is the server's fault.
    let Some(doc) = playlist_container(&sim, &ctx, id) else {
        return plex_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    sim.charge(items.len() as u64, 1).await;
    reply(ctx.json, &doc)
}

/// The section query of a smart playlist's `uri=` (`server://…/library/sections/{id}/all?…`):
/// what Plex shows as the playlist's `content`.
fn smart_content(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("server://")?;
    let (_, path) = rest.split_once('/')?;
    let path = path
        .strip_prefix("com.plexapp.plugins.library")
        .unwrap_or(path);
    path.starts_with("/library/sections/")
        .then(|| path.to_string())
}

/// The items a playlist's `uri=` names; a playlist of `kind` takes only items of its kind
/// (tracks, movies and episodes, or photos), so any other is Plex's 400.
fn uri_items(
    sim: &Sim,
    ctx: &Ctx,
    kind: PlaylistKind,
    uri: &str,
) -> Result<Vec<ItemId>, StatusCode> {
    let items = resolve_uri(sim, ctx, uri)?;
    let lib = sim.library();
    let fit = items.iter().all(|&i| {
        lib.item(i).is_some_and(|i| match kind {
            PlaylistKind::Audio => i.kind() == ItemKind::Track,
            PlaylistKind::Video => matches!(i.kind(), ItemKind::Movie | ItemKind::Episode),
            PlaylistKind::Photo => i.kind() == ItemKind::Photo,
        })
    });
    if fit {
        Ok(items)
    } else {
        Err(StatusCode::BAD_REQUEST)
    }
}

/// The user's playlist `{id}` of a `/playlists/{id}…` route: its id, kind and whether it is
/// smart (Plex's 404 for one the user does not have).
fn playlist_id(sim: &Sim, ctx: &Ctx, id: &str) -> Result<(u32, PlaylistKind, bool), StatusCode> {
    let id: u32 = id.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    let state = sim.state();
    let p = state
        .playlist(ctx.user.id, id)
        .ok_or(StatusCode::NOT_FOUND)?;
    Ok((p.id, p.kind, p.smart))
}

/// The user's playlist and one of its entries, as `/playlists/{id}/items/{playlistItemID}`
/// names them.
fn playlist_entry(sim: &Sim, ctx: &Ctx, id: &str, entry: &str) -> Result<(u32, u32), StatusCode> {
    let (id, _, _) = playlist_id(sim, ctx, id)?;
    let entry = entry.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    Ok((id, entry))
}

/// The user's playlist `id` in a `MediaContainer`, as the playlist routes answer with it.
fn playlist_container(sim: &Sim, ctx: &Ctx, id: u32) -> Option<El> {
    let lib = sim.library();
    let state = sim.state();
    let p = state.playlist(ctx.user.id, id)?;
    Some(El::container().a("size", 1u32).kid(playlist_el(&lib, p)))
}

/// Tells listeners the user's playlist `id` changed, once a write to it did; a write that
/// failed found no such playlist or entry (Plex's 404).
fn playlist_written(
    sim: &Sim,
    ctx: &Ctx,
    id: u32,
    written: Result<(), StateError>,
) -> Result<(), StatusCode> {
    written.map_err(|_| StatusCode::NOT_FOUND)?;
    sim.playlist_changed(ctx.user.id, id);
    Ok(())
}

/// The answer to a write to the user's playlist `id` that changes its items: the playlist as it
/// now is.
async fn playlist_reply(
    sim: &Sim,
    ctx: &Ctx,
    id: u32,
    written: Result<(), StateError>,
) -> Response {
    if let Err(status) = playlist_written(sim, ctx, id, written) {
        return plex_error(status);
    }
    let doc = playlist_container(sim, ctx, id).unwrap_or_else(|| El::container().a("size", 0u32));
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `PUT /playlists/{id}/items?uri=…`.
pub(crate) async fn add_to_playlist(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (id, kind, smart) = match playlist_id(&sim, &ctx, &id) {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    let Some(uri) = ctx.q("uri") else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    // A smart playlist takes no items: a new query replaces its filters.
    let content = match (smart, smart_content(uri)) {
        (true, Some(c)) => Some(c),
        (true, None) => return plex_error(StatusCode::BAD_REQUEST),
        (false, _) => None,
    };
    let items = match uri_items(&sim, &ctx, kind, uri) {
        Ok(i) => i,
        Err(status) => return plex_error(status),
    };
    let now = sim.now();
    let written = {
        let mut state = sim.state();
        match content {
            Some(content) => state
                .replace_playlist_items(ctx.user.id, id, &items, now)
                .and_then(|()| {
                    state.update_playlist(ctx.user.id, id, now, |p| p.content = Some(content))
                }),
            None => state.add_to_playlist(ctx.user.id, id, &items, now),
        }
    };
    playlist_reply(&sim, &ctx, id, written).await
}

/// `DELETE /playlists/{id}/items/{playlistItemID}`.
pub(crate) async fn remove_from_playlist(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, entry)): Path<(String, String)>,
) -> Response {
    let (id, entry) = match playlist_entry(&sim, &ctx, &id, &entry) {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    let written = sim
        .state()
        .remove_from_playlist(ctx.user.id, id, entry, sim.now());
    playlist_reply(&sim, &ctx, id, written).await
}

/// `PUT /playlists/{id}/items/{playlistItemID}/move?after={playlistItemID}`.
pub(crate) async fn move_in_playlist(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, entry)): Path<(String, String)>,
) -> Response {
    let (id, entry) = match playlist_entry(&sim, &ctx, &id, &entry) {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    let after = match ctx.q("after") {
        None | Some("") => None,
        Some(a) => match a.parse::<u32>() {
            Ok(a) => Some(a),
            Err(_) => return plex_error(StatusCode::BAD_REQUEST),
        },
    };
    let written = sim
        .state()
        .move_in_playlist(ctx.user.id, id, entry, after, sim.now());
    playlist_reply(&sim, &ctx, id, written).await
}

/// `DELETE /playlists/{id}/items`.
pub(crate) async fn clear_playlist(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (id, _, _) = match playlist_id(&sim, &ctx, &id) {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    let written = sim.state().clear_playlist(ctx.user.id, id, sim.now());
    playlist_reply(&sim, &ctx, id, written).await
}

/// `PUT /playlists/{id}?title=&summary=` (or `title.value=`, `titleSort.value=`,
/// `summary.value=` with `{field}.locked=`, as the edit mixins send them).
pub(crate) async fn edit_playlist(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (id, _, _) = match playlist_id(&sim, &ctx, &id) {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    // Both `title=` and the edit-mixin form `title.value=` are used by clients.
    let title = ctx
        .q("title")
        .or(ctx.q("title.value"))
        .filter(|t| !t.is_empty());
    let summary = ctx.q("summary").or(ctx.q("summary.value"));
    let title_sort = ctx.q("titleSort.value").map(str::to_string);
    let locks: Vec<(String, bool)> = ctx
        .query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_suffix(".locked")?.to_string(), v == "1")))
        .collect();
    let now = sim.now();
    let edited = {
        let mut state = sim.state();
        state
            .edit_playlist(ctx.user.id, id, title, summary, now)
            .and_then(|()| {
                state.update_playlist(ctx.user.id, id, now, |p| {
                    if let Some(ts) = title_sort {
                        p.title_sort = (!ts.is_empty()).then_some(ts);
                    }
                    for (field, locked) in locks {
                        p.locked.retain(|f| *f != field);
                        if locked {
                            p.locked.push(field);
                        }
                    }
                })
            })
    };
    if let Err(status) = playlist_written(&sim, &ctx, id, edited) {
        return plex_error(status);
    }
    empty_reply(&sim, &ctx, 0).await
}

/// `DELETE /playlists/{id}`.
pub(crate) async fn delete_playlist(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (id, _, _) = match playlist_id(&sim, &ctx, &id) {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    let deleted = sim.state().delete_playlist(ctx.user.id, id);
    if let Err(status) = playlist_written(&sim, &ctx, id, deleted) {
        return plex_error(status);
    }
    empty_reply(&sim, &ctx, 0).await
}
