//! Sessions and play state: `/Sessions`, the playing/progress/stopped reports, and the user
//! data endpoints (played, favourite).

use super::*;

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
            images: ImageOptions::default(),
            shuffle: shuffle_salt(front.sim.seed()),
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

pub(super) fn sessions(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    let controllable = match req.query.str("ControllableByUserId") {
        Some(raw) => Some(front.effective_user(caller, Some(raw))?.id),
        None => None,
    };
    let device_filter = req.query.str("DeviceId").map(str::to_owned);
    let active_within = req.query.int("ActiveWithinSeconds")?;
    let now = front.sim.now();
    let (out, scanned) = visible_sessions(front, caller, |device| {
        !(controllable.is_some_and(|id| id != device.user)
            || device_filter
                .as_ref()
                .is_some_and(|d| *d != device.device_id)
            || active_within.is_some_and(|secs| {
                i64::from(now) - i64::from(device.last_activity) > i64::from(secs)
            }))
    });
    let work = Work {
        scanned,
        returned: out.len() as u64,
    };
    Ok(Reply::json(req.casing, &out, work))
}

/// The sessions `caller` may see — every session for an administrator, their own for anyone
/// else — that `wanted` keeps, and how many sessions there are: what `/Sessions` lists and
/// what the socket's `Sessions` message carries (`SessionInfoWebSocketListener`).
pub(crate) fn visible_sessions(
    front: &Front,
    caller: &User,
    wanted: impl Fn(&DeviceSession) -> bool,
) -> (Vec<SessionInfo>, u64) {
    let devices = front.devices_snapshot();
    let users: Vec<User> = front.sim.state().users().to_vec();
    let mut out = Vec::new();
    for device in &devices {
        if !caller.is_owner && device.user != caller.id {
            continue;
        }
        if !wanted(device) {
            continue;
        }
        if let Some(user) = users.iter().find(|u| u.id == device.user) {
            out.push(session_info(front, user, device));
        }
    }
    (out, devices.len() as u64)
}

pub(super) fn playing(
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
pub(super) fn visible_item_id(front: &Front, user: &User, raw: &str) -> Result<u32, ApiError> {
    match decode_id(front.sim.seed(), raw, "itemId")? {
        Some(Target::Item(id)) if visible_item(&front.sim.library(), user, id).is_some() => Ok(id),
        _ => Err(ApiError::NotFound),
    }
}

pub(super) fn user_data_reply(
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
