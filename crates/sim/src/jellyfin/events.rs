//! Change events as Jellyfin sends them: the `/socket` websocket and the webhook plugin.
//!
//! **Socket.** After the upgrade the server sends `ForceKeepAlive` (the client must answer
//! `KeepAlive` within that many seconds; the simulator answers every `KeepAlive` with one),
//! then, for each core [`Event`] the connected user may see:
//! - `LibraryChanged` `{ItemsAdded, ItemsUpdated, ItemsRemoved, FoldersAddedTo,
//!   FoldersRemovedFrom, CollectionFolders, IsEmpty}`, batched over
//!   [`super::JellyfinOptions::library_update_delay`] like the server's `LibraryUpdateDuration`
//!   (30 s on a real server; the simulator defaults to sending at once so tests need not wait);
//! - `UserDataChanged` `{UserId, UserDataList}` to the user whose data changed, only;
//! - `RefreshProgress` `{ItemId, Progress}` while a library scan runs;
//! - `Sessions` `[SessionInfoDto…]` to a socket that asked with `SessionsStart`
//!   (`Data: "{initial delay ms},{interval ms}"`) until it sends `SessionsStop`
//!   ([`SessionsFeed`]).
//!
//! **Webhooks.** The webhook plugin's "send all properties" JSON, posted by the core's
//! dispatcher to every `--webhook` URL meant for Jellyfin: `ItemAdded`, `ItemDeleted`,
//! `UserDataSaved` (with `SaveReason`), `PlaybackStart` / `PlaybackProgress` /
//! `PlaybackStop`, and `TaskCompleted` for a finished library scan. The real plugin delays
//! `ItemAdded` until metadata arrives (30 s – 5 min); the simulator posts at once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::Sim;
use crate::events::{Event, PlayStateReason, SimEvent, WebhookBody};
use crate::library::{ItemKind, Library};
use crate::rng::mix;
use crate::sockets::Fate;
use crate::state::{PlaybackState, PlaylistKind, User};

use super::Front;
use super::dto::{LibraryUpdateInfo, UserDataChangeInfo, WebSocketMessage, iso8601};
use super::items::{playlist_id, user_item_data, view_id};

/// A message id: 32 hex digits derived from the event's sequence number and a salt.
fn message_id(seq: u64, salt: u64) -> String {
    format!(
        "{:016x}{:016x}",
        mix(seq ^ salt),
        mix(seq.wrapping_add(salt) ^ 0x4d53_4749_4400)
    )
}

fn frame<T: serde::Serialize>(message_type: &str, message_id: String, data: T) -> Option<String> {
    let message = WebSocketMessage {
        message_type: message_type.to_owned(),
        message_id,
        data,
    };
    serde_json::to_string(&message).ok()
}

/// What one core event means for one connected user.
enum SocketUpdate {
    /// Part of a `LibraryChanged` batch.
    Library(LibraryUpdateInfo),
    /// A message to send as it is.
    Message(String),
}

fn merge(into: &mut LibraryUpdateInfo, from: LibraryUpdateInfo) {
    let lists = [
        (&mut into.items_added, from.items_added),
        (&mut into.items_updated, from.items_updated),
        (&mut into.items_removed, from.items_removed),
        (&mut into.folders_added_to, from.folders_added_to),
        (&mut into.folders_removed_from, from.folders_removed_from),
        (&mut into.collection_folders, from.collection_folders),
    ];
    for (list, more) in lists {
        for id in more {
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
    into.is_empty = false;
}

/// The parent folder id of an item (its parent item, or its library view at the top).
fn folder_of(lib: &Library, item: u32) -> Option<String> {
    let item = lib.item_any(item)?;
    Some(match item.parent() {
        Some(parent) => parent.guid_id(),
        None => view_id(item.section().id),
    })
}

fn socket_updates(front: &Front, user: &User, event: &Event) -> Vec<SocketUpdate> {
    let lib_change =
        |item: u32, section: u32, change: fn(&mut LibraryUpdateInfo, String, Option<String>)| {
            if !user.can_see_section(section) {
                return Vec::new();
            }
            let lib = front.sim.library();
            let Some(guid) = lib.item_any(item).map(|i| i.guid_id()) else {
                return Vec::new();
            };
            let mut info = LibraryUpdateInfo {
                collection_folders: vec![view_id(section)],
                ..LibraryUpdateInfo::default()
            };
            change(&mut info, guid, folder_of(&lib, item));
            vec![SocketUpdate::Library(info)]
        };
    match &event.kind {
        SimEvent::ItemAdded { item, section } => lib_change(*item, *section, |info, id, folder| {
            info.items_added.push(id);
            info.folders_added_to.extend(folder);
        }),
        SimEvent::ItemUpdated { item, section } => {
            lib_change(*item, *section, |info, id, _| info.items_updated.push(id))
        }
        SimEvent::ItemRemoved { item, section } => {
            lib_change(*item, *section, |info, id, folder| {
                info.items_removed.push(id);
                info.folders_removed_from.extend(folder);
            })
        }
        SimEvent::ScanProgress {
            section, progress, ..
        } if user.can_see_section(*section) => frame(
            "RefreshProgress",
            message_id(event.seq, 0x5250),
            json!({"ItemId": view_id(*section), "Progress": format!("{progress}")}),
        )
        .map(SocketUpdate::Message)
        .into_iter()
        .collect(),
        SimEvent::ScanFinished { section, .. } if user.can_see_section(*section) => frame(
            "RefreshProgress",
            message_id(event.seq, 0x5250),
            json!({"ItemId": view_id(*section), "Progress": "100"}),
        )
        .map(SocketUpdate::Message)
        .into_iter()
        .collect(),
        SimEvent::PlayStateChanged {
            user: changed,
            item,
            state,
            ..
        } if *changed == user.id => {
            let (guid, duration) = {
                let lib = front.sim.library();
                match lib.item_any(*item) {
                    Some(i) => (i.guid_id(), i.duration_ms()),
                    None => return Vec::new(),
                }
            };
            let data = UserDataChangeInfo {
                user_id: user.jellyfin_id.clone(),
                user_data_list: vec![user_item_data(state, &guid, duration)],
            };
            frame("UserDataChanged", message_id(event.seq, 0x5544), data)
                .map(SocketUpdate::Message)
                .into_iter()
                .collect()
        }
        SimEvent::PlaylistChanged {
            user: owner,
            playlist,
        } if *owner == user.id => {
            let id = playlist_id(*playlist);
            let mut info = LibraryUpdateInfo::default();
            match front.sim.state().playlist(*owner, *playlist) {
                // Created this second and not edited since: a new item (same-second edits read as
                // new too, which only over-invalidates).
                Some(p) if p.added_at == p.updated_at => info.items_added.push(id),
                Some(_) => info.items_updated.push(id),
                None => info.items_removed.push(id),
            }
            vec![SocketUpdate::Library(info)]
        }
        _ => Vec::new(),
    }
}

/// Serves one authenticated `/socket` connection until either side closes it, with `events`
/// (the core's and the session manager's) subscribed before the handshake was answered.
pub(crate) async fn run_socket(
    front: Arc<Front>,
    user: User,
    (mut events, mut session_events): (
        tokio::sync::broadcast::Receiver<Arc<Event>>,
        tokio::sync::broadcast::Receiver<bool>,
    ),
    mut release: tokio::sync::watch::Receiver<super::JellyfinVersion>,
    mut socket: WebSocket,
) {
    // Long: one select over everything a connection hears — the server's control, its
    // release, the client, the session manager, the core's events, the library batch — with
    // each arm short; split, the arms would share the loop's state through parameters.
    let mut control = front.sim.socket_watch();
    let keep_alive = front.options.keep_alive_secs;
    let hello = frame("ForceKeepAlive", message_id(0, 0x4b41), keep_alive);
    if let Some(hello) = hello
        && socket.send(front.socket_message(hello)).await.is_err()
    {
        return;
    }
    let delay = front.options.library_update_delay;
    let mut pending: Option<LibraryUpdateInfo> = None;
    let mut flush_at = Instant::now();
    let mut batches: u64 = 0;
    let mut sessions = SessionsFeed::default();
    loop {
        tokio::select! {
            // A silence or close applies before anything that came after it.
            biased;
            fate = control.changed() => match fate {
                Fate::Serve => {}
                Fate::Silent => return control.hold(socket).await,
                Fate::Close => return,
            },
            // Another release: the server restarted, its sockets are gone.
            _ = release.changed() => return,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    batches += 1;
                    if !read_message(&front, &user, &mut socket, &mut sessions, batches, text.as_str()).await {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            // `SessionInfoWebSocketListener`: a session started or ended, a playback's start,
            // stop or progress (a client's report) send at once; activity only once the
            // interval has passed.
            event = session_events.recv() => {
                let force = match event {
                    Ok(force) => force,
                    // Some were missed: whatever they were, the list is due.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                };
                if !sessions.send(&front, &user, &mut socket, force).await {
                    return;
                }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    if matches!(event.kind, SimEvent::Playing { .. })
                        && !sessions.send(&front, &user, &mut socket, true).await
                    {
                        return;
                    }
                    for update in socket_updates(&front, &user, &event) {
                        match update {
                            SocketUpdate::Message(text) => {
                                if socket.send(front.socket_message(text)).await.is_err() {
                                    return;
                                }
                            }
                            SocketUpdate::Library(info) => {
                                if pending.is_none() {
                                    flush_at = Instant::now() + delay;
                                }
                                merge(pending.get_or_insert_with(LibraryUpdateInfo::default), info);
                            }
                        }
                    }
                    if delay.is_zero()
                        && let Some(info) = pending.take()
                    {
                        batches += 1;
                        if !send_library(&front, &mut socket, batches, info).await {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a Jellyfin socket lagged behind the events");
                }
                Err(RecvError::Closed) => return,
            },
            () = tokio::time::sleep_until(flush_at), if pending.is_some() => {
                if let Some(info) = pending.take() {
                    batches += 1;
                    if !send_library(&front, &mut socket, batches, info).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Acts on one message from the client: `KeepAlive` is answered, `SessionsStart` and
/// `SessionsStop` change its subscriptions, anything else is ignored. False when the
/// connection is gone.
async fn read_message(
    front: &Front,
    user: &User,
    socket: &mut WebSocket,
    sessions: &mut SessionsFeed,
    seq: u64,
    text: &str,
) -> bool {
    let kind = serde_json::from_str::<Value>(text).ok().and_then(|v| {
        v.get("MessageType")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    match kind.as_deref() {
        Some("KeepAlive") => {
            let reply = frame("KeepAlive", message_id(seq, 0x4b50), Value::Null);
            if let Some(reply) = reply {
                return socket.send(front.socket_message(reply)).await.is_ok();
            }
        }
        Some("SessionsStart") => sessions.start(front, user, text),
        Some("SessionsStop") => sessions.stop(),
        _ => {}
    }
    true
}

/// A connection's subscriptions to the sessions list, as `BasePeriodicWebSocketListener`
/// keeps them: each `SessionsStart` adds one (two starts, two messages an event), each
/// `SessionsStop` ends the first. Nothing is sent when one starts, whatever its initial delay
/// (the server keeps it and never reads it): the first message goes with the next session
/// event. An event sent "at once" goes to every subscription; an activity event only to
/// those whose last message is at least their interval old.
#[derive(Default)]
struct SessionsFeed {
    /// Per subscription: its interval, and when its last message went.
    subscriptions: Vec<(Duration, Option<Instant>)>,
    sent: u64,
}

impl SessionsFeed {
    /// `SessionsStart`: refused (nothing changes, the connection stays) when its `Data` is not
    /// two integers, and before 10.11 to anyone but an administrator (`Only admin users can
    /// subscribe to session information`); from 10.11 on every signed-in user may subscribe
    /// and hears of their own sessions only.
    fn start(&mut self, front: &Front, user: &User, text: &str) {
        let data = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get("Data").and_then(Value::as_str).map(str::to_owned));
        let mut parts = data.as_deref().unwrap_or_default().split(',');
        let (Some(Ok(_due_ms)), Some(Ok(interval_ms))) = (
            parts.next().map(|p| p.trim().parse::<i64>()),
            parts.next().map(|p| p.trim().parse::<i64>()),
        ) else {
            return;
        };
        if !user.is_owner && !front.rules().sessions_for_every_user {
            return;
        }
        let interval = Duration::from_millis(u64::try_from(interval_ms).unwrap_or(0));
        self.subscriptions.push((interval, None));
    }

    /// `SessionsStop`.
    fn stop(&mut self) {
        if !self.subscriptions.is_empty() {
            self.subscriptions.remove(0);
        }
    }

    /// Sends the sessions list to each subscription due (`force`: all of them); false when the
    /// connection is gone.
    async fn send(
        &mut self,
        front: &Front,
        user: &User,
        socket: &mut WebSocket,
        force: bool,
    ) -> bool {
        let now = Instant::now();
        for (interval, last) in &mut self.subscriptions {
            if !force && last.is_some_and(|at| now.duration_since(at) < *interval) {
                continue;
            }
            let (list, _) = super::handlers::visible_sessions(front, user, |_| true);
            self.sent += 1;
            let Some(text) = frame("Sessions", message_id(self.sent, 0x5353), list) else {
                continue;
            };
            if socket.send(front.socket_message(text)).await.is_err() {
                return false;
            }
            *last = Some(Instant::now());
        }
        true
    }
}

async fn send_library(
    front: &Front,
    socket: &mut WebSocket,
    batch: u64,
    info: LibraryUpdateInfo,
) -> bool {
    match frame("LibraryChanged", message_id(batch, 0x4c43), info) {
        Some(text) => socket.send(front.socket_message(text)).await.is_ok(),
        None => true,
    }
}

/// How long a socket may stay quiet before the real server drops it (`ForceKeepAlive`).
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(60);

/// The webhook plugin's base object (`GetBaseDataObject`).
fn base_object(sim: &Sim, notification: &str, at: u32) -> Map<String, Value> {
    let identity = sim.identity();
    let mut object = Map::new();
    object.insert("ServerId".into(), json!(identity.jellyfin_server_id));
    object.insert("ServerName".into(), json!(identity.friendly_name));
    object.insert("ServerVersion".into(), json!(identity.jellyfin_version));
    object.insert("ServerUrl".into(), json!("localhost:8096"));
    object.insert("NotificationType".into(), json!(notification));
    object.insert("Timestamp".into(), json!(iso8601(i64::from(at))));
    object.insert("UtcTimestamp".into(), json!(iso8601(i64::from(at))));
    object
}

fn hh_mm_ss(ticks: i64) -> String {
    let secs = ticks / 10_000_000;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `AddBaseItemData`: the item's fields, as the plugin flattens them.
fn add_item_data(object: &mut Map<String, Value>, lib: &Library, item: u32) -> bool {
    let Some(item) = lib.item_any(item) else {
        return false;
    };
    let ticks = i64::from(item.duration_ms()) * 10_000;
    object.insert("Name".into(), json!(item.title()));
    object.insert("Overview".into(), json!(item.summary()));
    object.insert("Tagline".into(), json!(""));
    object.insert("ItemId".into(), json!(item.guid_id()));
    object.insert("ItemType".into(), json!(item.kind().jellyfin_name()));
    object.insert("RunTimeTicks".into(), json!(ticks));
    object.insert("RunTime".into(), json!(hh_mm_ss(ticks)));
    if item.year() > 0 {
        object.insert("Year".into(), json!(item.year()));
        object.insert(
            "PremiereDate".into(),
            json!(format!("{:04}-01-01", item.year())),
        );
    }
    if let Some(genre) = item.genre() {
        object.insert("Genres".into(), json!(genre));
    }
    object.insert("Path".into(), json!(item.file_path()));
    add_family(object, &item);
    if let Some(mbid) = item.musicbrainz_id() {
        let key = match item.kind() {
            ItemKind::Track => "Provider_musicbrainzrecording",
            ItemKind::Album => "Provider_musicbrainzalbum",
            _ => "Provider_musicbrainzartist",
        };
        object.insert(key.into(), json!(mbid));
    }
    if let Some((imdb, tmdb, tvdb)) = item.external_ids() {
        object.insert("Provider_imdb".into(), json!(imdb));
        object.insert("Provider_tmdb".into(), json!(tmdb.to_string()));
        if item.kind() == ItemKind::Show {
            object.insert("Provider_tvdb".into(), json!(tvdb.to_string()));
        }
    }
    true
}

/// The item's place: its season and show, its album and artist, its numbers.
fn add_family(object: &mut Map<String, Value>, item: &crate::library::Item<'_>) {
    match item.kind() {
        ItemKind::Season => {
            if let Some(show) = item.parent() {
                object.insert("SeriesName".into(), json!(show.title()));
                object.insert("SeriesId".into(), json!(show.guid_id()));
            }
            object.insert("SeasonNumber".into(), json!(item.index()));
            object.insert(
                "SeasonNumber00".into(),
                json!(format!("{:02}", item.index())),
            );
            object.insert(
                "SeasonNumber000".into(),
                json!(format!("{:03}", item.index())),
            );
        }
        ItemKind::Episode => {
            if let Some(season) = item.parent() {
                object.insert("SeasonId".into(), json!(season.guid_id()));
                object.insert("SeasonNumber".into(), json!(season.index()));
                object.insert(
                    "SeasonNumber00".into(),
                    json!(format!("{:02}", season.index())),
                );
                object.insert(
                    "SeasonNumber000".into(),
                    json!(format!("{:03}", season.index())),
                );
                if let Some(show) = season.parent() {
                    object.insert("SeriesName".into(), json!(show.title()));
                    object.insert("SeriesId".into(), json!(show.guid_id()));
                }
            }
            object.insert("EpisodeNumber".into(), json!(item.index()));
            object.insert(
                "EpisodeNumber00".into(),
                json!(format!("{:02}", item.index())),
            );
            object.insert(
                "EpisodeNumber000".into(),
                json!(format!("{:03}", item.index())),
            );
        }
        ItemKind::Track => {
            if let Some(album) = item.parent() {
                object.insert("Album".into(), json!(album.title()));
                object.insert("AlbumId".into(), json!(album.guid_id()));
            }
            let artist = item
                .original_title()
                .or_else(|| item.grandparent().map(|a| a.title()));
            if let Some(artist) = artist {
                object.insert("Artist".into(), json!(artist));
            }
        }
        ItemKind::Album => {
            if let Some(artist) = item.parent() {
                object.insert("Artist".into(), json!(artist.title()));
            }
        }
        ItemKind::Movie
        | ItemKind::Show
        | ItemKind::Artist
        | ItemKind::Photo
        | ItemKind::PhotoAlbum => {}
    }
}

fn add_user(object: &mut Map<String, Value>, user: &User, at: u32) {
    object.insert("NotificationUsername".into(), json!(user.name));
    object.insert("UserId".into(), json!(user.jellyfin_id));
    object.insert("LastLoginDate".into(), json!(iso8601(i64::from(at))));
    object.insert("LastActivityDate".into(), json!(iso8601(i64::from(at))));
}

fn body(object: Map<String, Value>) -> Vec<WebhookBody> {
    serde_json::to_string(&Value::Object(object))
        .map(WebhookBody::Json)
        .into_iter()
        .collect()
}

/// Renders a core event as the webhook plugin's posts.
pub(crate) fn render_webhooks(sim: &Sim, event: &Event) -> Vec<WebhookBody> {
    let at = event.at;
    match &event.kind {
        SimEvent::ItemAdded { item, .. } | SimEvent::ItemRemoved { item, .. } => {
            let kind = if matches!(event.kind, SimEvent::ItemAdded { .. }) {
                "ItemAdded"
            } else {
                "ItemDeleted"
            };
            let mut object = base_object(sim, kind, at);
            if !add_item_data(&mut object, &sim.library(), *item) {
                return Vec::new();
            }
            body(object)
        }
        SimEvent::PlayStateChanged { .. } => user_data_saved(sim, event),
        SimEvent::Playing { .. } => playback(sim, event),
        SimEvent::ScanFinished { activity, .. } => scan_completed(sim, at, activity),
        SimEvent::PlaylistChanged { user, playlist } => playlist_added(sim, at, *user, *playlist),
        SimEvent::ItemUpdated { .. }
        | SimEvent::ScanStarted { .. }
        | SimEvent::ScanProgress { .. } => Vec::new(),
    }
}

/// `UserDataSaved`: a user's play state of an item changed.
fn user_data_saved(sim: &Sim, event: &Event) -> Vec<WebhookBody> {
    let SimEvent::PlayStateChanged {
        user,
        item,
        state,
        reason,
    } = &event.kind
    else {
        return Vec::new();
    };
    let at = event.at;
    let Some(user) = sim.state().user(*user).cloned() else {
        return Vec::new();
    };
    let mut object = base_object(sim, "UserDataSaved", at);
    if !add_item_data(&mut object, &sim.library(), *item) {
        return Vec::new();
    }
    add_user(&mut object, &user, at);
    let ticks = i64::from(state.view_offset_ms) * 10_000;
    object.insert("Likes".into(), json!(false));
    object.insert("Rating".into(), json!(state.rating.unwrap_or(0.0)));
    object.insert("PlaybackPositionTicks".into(), json!(ticks));
    object.insert("PlaybackPosition".into(), json!(hh_mm_ss(ticks)));
    object.insert("PlayCount".into(), json!(state.view_count));
    object.insert("Favorite".into(), json!(state.favorite));
    object.insert("Played".into(), json!(state.view_count > 0));
    object.insert("AudioStreamIndex".into(), json!(-1));
    object.insert("SubtitleStreamIndex".into(), json!(-1));
    if state.last_viewed_at > 0 {
        object.insert(
            "LastPlayedDate".into(),
            json!(iso8601(i64::from(state.last_viewed_at))),
        );
    }
    let save_reason = match reason {
        PlayStateReason::Scrobble | PlayStateReason::Unscrobble => "TogglePlayed",
        PlayStateReason::Rate => "UpdateUserRating",
        PlayStateReason::Favorite => "UpdateUserData",
        PlayStateReason::Progress => "PlaybackProgress",
    };
    object.insert("SaveReason".into(), json!(save_reason));
    body(object)
}

/// `PlaybackStart`, `PlaybackProgress`, `PlaybackStop`: a session playing an item.
fn playback(sim: &Sim, event: &Event) -> Vec<WebhookBody> {
    let SimEvent::Playing {
        user,
        item,
        session_key,
        state,
        previous,
        view_offset_ms,
    } = &event.kind
    else {
        return Vec::new();
    };
    let at = event.at;
    let notification = match (state, previous) {
        (PlaybackState::Stopped, _) => "PlaybackStop",
        (_, None) => "PlaybackStart",
        _ => "PlaybackProgress",
    };
    let (user, client) = {
        let st = sim.state();
        let client = st
            .sessions()
            .iter()
            .find(|s| s.session_key == *session_key)
            .map(|s| (s.client_id.clone(), s.product.clone()));
        (st.user(*user).cloned(), client)
    };
    let Some(user) = user else { return Vec::new() };
    let (device_id, client_name) = client.unwrap_or_default();
    let mut object = base_object(sim, notification, at);
    if !add_item_data(&mut object, &sim.library(), *item) {
        return Vec::new();
    }
    add_user(&mut object, &user, at);
    let ticks = i64::from(*view_offset_ms) * 10_000;
    object.insert("PlaybackPositionTicks".into(), json!(ticks));
    object.insert("PlaybackPosition".into(), json!(hh_mm_ss(ticks)));
    object.insert("MediaSourceId".into(), object["ItemId"].clone());
    object.insert("IsPaused".into(), json!(*state == PlaybackState::Paused));
    object.insert("IsAutomated".into(), json!(false));
    object.insert("DeviceId".into(), json!(device_id));
    object.insert("DeviceName".into(), json!(client_name));
    object.insert("ClientName".into(), json!(client_name));
    if *state == PlaybackState::Stopped {
        let duration = object
            .get("RunTimeTicks")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        object.insert(
            "PlayedToCompletion".into(),
            json!(duration > 0 && ticks * 10 >= duration * 9),
        );
    }
    body(object)
}

/// `TaskCompleted`: a library scan finished.
fn scan_completed(sim: &Sim, at: u32, activity: &str) -> Vec<WebhookBody> {
    let mut object = base_object(sim, "TaskCompleted", at);
    object.insert("TaskId".into(), json!(activity));
    object.insert("TaskName".into(), json!("Scan Media Library"));
    object.insert("TaskKey".into(), json!("RefreshLibrary"));
    object.insert("TaskCategory".into(), json!("Library"));
    object.insert(
        "TaskDescription".into(),
        json!("Scans your media library for new files and refreshes metadata."),
    );
    object.insert("ResultStatus".into(), json!("Completed"));
    body(object)
}

/// `ItemAdded` for a new playlist, which is a new library item; nothing for a change to one.
fn playlist_added(sim: &Sim, at: u32, user: u32, playlist: u32) -> Vec<WebhookBody> {
    // A new playlist is a new library item: the plugin reports ItemAdded.
    let (created, name, kind, user) = {
        let st = sim.state();
        match st.playlist(user, playlist) {
            Some(p) if p.added_at == p.updated_at => {
                (true, p.title.clone(), p.kind, st.user(user).cloned())
            }
            _ => (false, String::new(), PlaylistKind::Audio, None),
        }
    };
    if !created {
        return Vec::new();
    }
    let mut object = base_object(sim, "ItemAdded", at);
    object.insert("Name".into(), json!(name));
    object.insert("ItemId".into(), json!(playlist_id(playlist)));
    object.insert("ItemType".into(), json!("Playlist"));
    object.insert(
        "MediaType".into(),
        json!(if kind == PlaylistKind::Audio {
            "Audio"
        } else {
            "Video"
        }),
    );
    if let Some(user) = user {
        add_user(&mut object, &user, at);
    }
    body(object)
}
