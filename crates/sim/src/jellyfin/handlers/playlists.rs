//! Playlists: create, read, update, list, add, remove and move entries; only the owner may
//! change one.

use super::*;

/// Item ids of a playlist request: decoded, visible to `user`, folders expanded to their
/// playable items (as the server does for a series or an album). A malformed id in a JSON
/// body is a 400 (the body does not bind); in the query it is skipped, as the server's
/// comma-list binder does.
pub(super) fn playlist_item_ids(
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
pub(super) fn body_ids(body: &Value, name: &str) -> Option<Vec<String>> {
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

pub(super) fn create_playlist(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
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
pub(super) fn owned_playlist(front: &Front, user: &User, raw: &str) -> Result<u32, ApiError> {
    match decode_id(front.sim.seed(), raw, "playlistId")? {
        Some(Target::Playlist(id)) if front.sim.state().playlist(user.id, id).is_some() => Ok(id),
        _ => Err(ApiError::NotFound),
    }
}

pub(super) fn get_playlist(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
) -> Result<Reply, ApiError> {
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

pub(super) fn update_playlist(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
) -> Result<Reply, ApiError> {
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

pub(super) fn playlist_items(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, req.query.str("userId"))?;
    let id = owned_playlist(front, &user, raw)?;
    let query = ItemQuery::parse(front.sim.seed(), &req.query)?.for_playlist(id);
    with_render(front, req, &user, |render| {
        let (result, work) = items::run_items_query(render, &query, &front.sort_cache)?;
        Ok(Reply::json(req.casing, &result, work))
    })
}

pub(super) fn add_to_playlist(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
) -> Result<Reply, ApiError> {
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

pub(super) fn remove_from_playlist(
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

pub(super) fn move_playlist_item(
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
