//! Plex change notifications: the websocket `/:/websockets/notifications` and multipart
//! webhooks, both rendered from the core's [`crate::events::Event`]s.
//!
//! | core event | websocket frame | webhook |
//! |---|---|---|
//! | ItemAdded | `timeline` state 0 (`metadataState=created`), then state 5 | `library.new` |
//! | ItemUpdated | `timeline` state 5 | — |
//! | ItemRemoved | `timeline` state 9 (`metadataState=deleted`) | — |
//! | Scan* | `activity` started / updated / ended (`library.update.section`) | — |
//! | Playing | `playing` (`PlaySessionStateNotification`) | `media.play/pause/resume/stop` |
//! | PlayStateChanged | — | `media.scrobble`, `media.rate` |
//! | PlaylistChanged | `timeline` state 5 of the playlist (type 15) | — |

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::plex_error;
use crate::Sim;
use crate::events::{
    Event, FrontEnd, PlayStateReason, SimEvent, WebhookBody, spawn_webhook_dispatcher,
};
use crate::library::{Item, ItemKind, Library};
use crate::sockets::Fate;
use crate::state::{PlaybackState, User};

/// Starts the Plex webhook dispatcher (once per simulator).
pub(crate) fn start(sim: &Sim) {
    spawn_webhook_dispatcher(sim, FrontEnd::Plex, Arc::new(webhooks));
}

fn timeline_entry(item: &Item<'_>, state: u32, metadata_state: Option<&str>) -> Value {
    let mut e = json!({
        "identifier": "com.plexapp.plugins.library",
        "sectionID": item.section().id.to_string(),
        "itemID": item.id().to_string(),
        "type": item.kind().plex_type(),
        "title": item.title(),
        "state": state,
        "updatedAt": item.updated_at(),
        "queueSize": 0,
    });
    if let Some(p) = item.parent() {
        e["parentItemID"] = json!(p.id().to_string());
    }
    let root = item.grandparent().or(item.parent());
    if let Some(r) = root {
        e["rootItemID"] = json!(r.id().to_string());
    }
    if let Some(m) = metadata_state {
        e["metadataState"] = json!(m);
    }
    e
}

fn frame(kind: &str, child: &str, entries: Vec<Value>) -> String {
    json!({"NotificationContainer": {"type": kind, "size": entries.len(), child: entries}})
        .to_string()
}

/// The websocket frames one event produces for `user` (play events of other users are only
/// shown to the owner).
pub(crate) fn frames(sim: &Sim, user: &User, event: &Event) -> Vec<String> {
    let lib = sim.library();
    match &event.kind {
        SimEvent::ItemAdded { item, section }
        | SimEvent::ItemUpdated { item, section }
        | SimEvent::ItemRemoved { item, section } => {
            if !user.can_see_section(*section) {
                return Vec::new();
            }
            lib.item_any(*item)
                .map(|i| item_frames(&event.kind, &i))
                .unwrap_or_default()
        }
        SimEvent::ScanStarted { section, activity }
        | SimEvent::ScanProgress {
            section, activity, ..
        }
        | SimEvent::ScanFinished { section, activity } => {
            if !user.is_owner {
                return Vec::new();
            }
            scan_frames(&lib, &event.kind, *section, activity)
        }
        SimEvent::Playing {
            user: who,
            item,
            session_key,
            state,
            view_offset_ms,
            ..
        } => {
            if !(user.is_owner || user.id == *who) {
                return Vec::new();
            }
            vec![frame(
                "playing",
                "PlaySessionStateNotification",
                vec![json!({
                    "sessionKey": session_key.to_string(),
                    "clientIdentifier": "",
                    "guid": "",
                    "ratingKey": item.to_string(),
                    "url": "",
                    "key": format!("/library/metadata/{item}"),
                    "viewOffset": view_offset_ms,
                    "playQueueItemID": 0,
                    "state": state.plex_name(),
                })],
            )]
        }
        SimEvent::PlaylistChanged {
            user: who,
            playlist,
        } => {
            if user.id != *who {
                return Vec::new();
            }
            vec![frame(
                "timeline",
                "TimelineEntry",
                vec![json!({
                    "identifier": "com.plexapp.plugins.library",
                    "sectionID": "-1",
                    "itemID": playlist.to_string(),
                    "type": 15,
                    "title": "",
                    "state": 5,
                    "updatedAt": event.at,
                    "queueSize": 0,
                })],
            )]
        }
        SimEvent::PlayStateChanged { .. } => Vec::new(),
    }
}

/// The timeline frames of an item added, updated or removed.
fn item_frames(kind: &SimEvent, item: &Item<'_>) -> Vec<String> {
    match kind {
        SimEvent::ItemAdded { .. } => vec![
            frame(
                "timeline",
                "TimelineEntry",
                vec![timeline_entry(item, 0, Some("created"))],
            ),
            frame(
                "timeline",
                "TimelineEntry",
                vec![timeline_entry(item, 5, None)],
            ),
        ],
        SimEvent::ItemUpdated { .. } => vec![frame(
            "timeline",
            "TimelineEntry",
            vec![timeline_entry(item, 5, None)],
        )],
        _ => vec![frame(
            "timeline",
            "TimelineEntry",
            vec![timeline_entry(item, 9, Some("deleted"))],
        )],
    }
}

/// The activity frame of a scan starting, going on or finished.
fn scan_frames(lib: &Library, kind: &SimEvent, section: u32, activity: &str) -> Vec<String> {
    let (ev, progress) = match kind {
        SimEvent::ScanStarted { .. } => ("started", 0),
        SimEvent::ScanProgress { progress, .. } => ("updated", *progress),
        _ => ("ended", 100),
    };
    let title = lib
        .section(section)
        .map(|s| format!("Scanning {}", s.title))
        .unwrap_or_default();
    vec![frame(
        "activity",
        "ActivityNotification",
        vec![json!({
            "event": ev,
            "uuid": activity,
            "Activity": {
                "uuid": activity,
                "type": "library.update.section",
                "cancellable": false,
                "userID": 1,
                "title": title,
                "subtitle": "",
                "progress": progress,
                "Context": {"librarySectionID": section.to_string()},
            }
        })],
    )]
}

/// `GET /:/websockets/notifications?X-Plex-Token=` (also `/:/websocket/notifications`).
pub(crate) async fn websocket(State(sim): State<Sim>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let query = super::parse_query(&parts);
    let token = parts
        .headers
        .get("X-Plex-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "X-Plex-Token")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    let Some(user) = super::authenticate(&sim, &token) else {
        return plex_error(StatusCode::UNAUTHORIZED);
    };
    let upgrade =
        match <WebSocketUpgrade as axum::extract::FromRequestParts<Sim>>::from_request_parts(
            &mut parts, &sim,
        )
        .await
        {
            Ok(u) => u,
            Err(rejection) => return rejection.into_response(),
        };
    // Subscribe before answering so no event between the handshake and the first read is lost.
    let rx = sim.subscribe();
    upgrade.on_upgrade(move |socket| pump(sim, user, rx, socket))
}

async fn pump(
    sim: Sim,
    user: User,
    mut rx: tokio::sync::broadcast::Receiver<Arc<Event>>,
    mut socket: WebSocket,
) {
    let mut control = sim.socket_watch();
    loop {
        tokio::select! {
            // A silence or close applies before anything that came after it.
            biased;
            fate = control.changed() => match fate {
                Fate::Serve => {}
                Fate::Silent => return control.hold(socket).await,
                Fate::Close => return,
            },
            event = rx.recv() => {
                let event = match event {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                for f in frames(&sim, &user, &event) {
                    if socket.send(Message::Text(f.into())).await.is_err() {
                        return;
                    }
                }
            }
            incoming = socket.recv() => {
                match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

fn metadata_json(item: &Item<'_>) -> Value {
    let mut m = json!({
        "librarySectionType": item.section().kind.plex_type(),
        "librarySectionID": item.section().id,
        "librarySectionTitle": item.section().title,
        "librarySectionKey": format!("/library/sections/{}", item.section().id),
        "ratingKey": item.id().to_string(),
        "key": format!("/library/metadata/{}", item.id()),
        "guid": item.plex_guid(),
        "type": item.kind().plex_name(),
        "title": item.title(),
        "index": item.index(),
        "addedAt": item.added_at(),
        "updatedAt": item.updated_at(),
        "thumb": super::metadata::thumb(item),
    });
    if item.duration_ms() > 0 {
        m["duration"] = json!(item.duration_ms());
    }
    if let Some(p) = item.parent() {
        m["parentRatingKey"] = json!(p.id().to_string());
        m["parentKey"] = json!(format!("/library/metadata/{}", p.id()));
        m["parentTitle"] = json!(p.title());
        m["parentGuid"] = json!(p.plex_guid());
        m["parentIndex"] = json!(if item.kind() == ItemKind::Track {
            item.disc()
        } else {
            p.index()
        });
    }
    if let Some(g) = item.grandparent() {
        m["grandparentRatingKey"] = json!(g.id().to_string());
        m["grandparentKey"] = json!(format!("/library/metadata/{}", g.id()));
        m["grandparentTitle"] = json!(g.title());
        m["grandparentGuid"] = json!(g.plex_guid());
    }
    if let Some(o) = item.original_title() {
        m["originalTitle"] = json!(o);
    }
    let mut guids = Vec::new();
    if let Some(mbid) = item.musicbrainz_id() {
        guids.push(json!({"id": format!("mbid://{mbid}")}));
    }
    if let Some((imdb, tmdb, tvdb)) = item.external_ids() {
        guids.push(json!({"id": format!("imdb://{imdb}")}));
        guids.push(json!({"id": format!("tmdb://{tmdb}")}));
        guids.push(json!({"id": format!("tvdb://{tvdb}")}));
    }
    if !guids.is_empty() {
        m["Guid"] = Value::Array(guids);
    }
    m
}

/// The Plex webhook posts of one event (multipart, `payload` JSON part).
fn webhooks(sim: &Sim, event: &Event) -> Vec<WebhookBody> {
    let lib = sim.library();
    let state = sim.state();
    let identity = sim.identity();
    let (name, user_id, item, rating) = match &event.kind {
        SimEvent::ItemAdded { item, .. } => ("library.new", 1, *item, None),
        SimEvent::Playing {
            user,
            item,
            state: s,
            previous,
            ..
        } => {
            let name = match (s, previous) {
                (PlaybackState::Playing, None) => "media.play",
                (PlaybackState::Playing, Some(PlaybackState::Paused)) => "media.resume",
                (PlaybackState::Paused, Some(p)) if *p != PlaybackState::Paused => "media.pause",
                (PlaybackState::Paused, None) => "media.pause",
                (PlaybackState::Stopped, _) => "media.stop",
                _ => return Vec::new(),
            };
            (name, *user, *item, None)
        }
        SimEvent::PlayStateChanged {
            user,
            item,
            state: ps,
            reason: PlayStateReason::Scrobble,
        } => {
            let _ = ps;
            ("media.scrobble", *user, *item, None)
        }
        SimEvent::PlayStateChanged {
            user,
            item,
            state: ps,
            reason: PlayStateReason::Rate,
        } => (
            "media.rate",
            *user,
            *item,
            Some(
                ps.rating
                    .map(|r| format!("{r}"))
                    .unwrap_or_else(|| "-1".into()),
            ),
        ),
        _ => return Vec::new(),
    };
    let Some(item) = lib.item_any(item) else {
        return Vec::new();
    };
    let user = state
        .user(user_id)
        .cloned()
        .unwrap_or_else(|| state.owner().clone());
    let mut payload = json!({
        "event": name,
        "user": true,
        "owner": user.is_owner,
        "Account": {"id": user.id, "thumb": "", "title": user.name},
        "Server": {"title": identity.friendly_name, "uuid": identity.machine_identifier},
        "Player": {"local": true, "publicAddress": "127.0.0.1", "title": "cachearr-sim player", "uuid": "cachearr-sim-player"},
        "Metadata": metadata_json(&item),
    });
    if let Some(r) = rating {
        payload["rating"] = json!(r);
    }
    vec![WebhookBody::Multipart {
        payload: payload.to_string(),
        thumb: None,
    }]
}
