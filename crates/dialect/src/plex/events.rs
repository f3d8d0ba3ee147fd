//! Plex change events: webhooks and websocket notifications ([`crate::events::ServerEvents`]).
//!
//! Shapes follow Plex's webhooks and notification socket: the webhook `payload` is
//! `{event, Account, Server, Player, Metadata{librarySectionID, ratingKey, parentRatingKey,
//! grandparentRatingKey, type, …}}`; a websocket frame is
//! `{"NotificationContainer":{"type", "size", <Child>[]}}` with `TimelineEntry[]`,
//! `ActivityNotification[]` or `PlaySessionStateNotification[]` children. Plex is loose with
//! types (ids and `size` arrive as numbers or strings), so fields are read through [`id_of`].

use std::collections::HashMap;

use serde_json::Value;

use http::{HeaderName, HeaderValue};

use super::Plex;
use crate::events::{
    Change, ChangeEvent, EventError, ServerEvents, SocketMessage, SocketReader, WebhookBody,
};

/// Timeline `state` codes ([PAPI] alert.py): 0 created, 5 processed, 9 deleted. The states in
/// between (matching, downloading, processing) are intermediate and change nothing we serve.
const TIMELINE_CREATED: i64 = 0;
const TIMELINE_PROCESSED: i64 = 5;
const TIMELINE_DELETED: i64 = 9;

/// Plex metadata type of playlists.
const TYPE_PLAYLIST: i64 = 15;

/// Activity types whose end means a section's content changed ([PXP] clears on these).
const SCAN_ACTIVITIES: [&str; 3] = [
    "library.update.section",
    "library.refresh.items",
    "media.generate.intros",
];

/// Reads an identifier that Plex sends as a string or as a number.
pub fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_of(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a webhook's `payload` part into the event it reports, or `None` for events that
/// change nothing we cache (`admin.database.backup`, `device.new`, unknown future events).
///
/// # Errors
/// [`EventError::Json`] when the payload is not a JSON object, [`EventError::MissingField`] when
/// it has no `event`.
pub fn parse_webhook(payload: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
    let value: Value = serde_json::from_slice(payload)?;
    let object = value.as_object().ok_or(EventError::MissingField("event"))?;
    let event = object
        .get("event")
        .and_then(Value::as_str)
        .ok_or(EventError::MissingField("event"))?;
    let metadata = object.get("Metadata");
    let field = |name: &str| id_of(metadata.and_then(|m| m.get(name)));
    let section = field("librarySectionID");
    let item = field("ratingKey");
    let parent = field("parentRatingKey");
    let grandparent = field("grandparentRatingKey");
    let playlist = metadata.and_then(|m| m.get("type")).and_then(Value::as_str) == Some("playlist");
    let change = match event {
        "library.new" => Change::Added,
        "library.on.deck" => Change::OnDeck,
        "media.play" | "media.pause" | "media.resume" | "playback.started" => {
            Change::SessionChanged
        }
        "media.stop" => Change::PlaybackStopped,
        "media.scrobble" => Change::Played,
        "media.rate" => Change::Rated,
        _ => return Ok(None),
    };
    // `owner`: the webhook's account owns the server; `user`: that account made the event.
    // Both true: the owner played; the owner's webhook with `user` false: someone else did;
    // another account's webhook reports its own events.
    let flag = |name: &str| object.get(name).and_then(Value::as_bool);
    let by_owner = match (flag("owner"), flag("user")) {
        (Some(owner), Some(user)) => Some(owner && user),
        _ => None,
    };
    Ok(Some(
        ChangeEvent::new(change)
            .with_section(section.as_deref())
            .with_items([item.as_deref()])
            .with_parents([parent.as_deref(), grandparent.as_deref()])
            .with_owner(by_owner)
            .with_playlist(playlist),
    ))
}

/// Remembers the last playback state per session so that the `playing` notifications Plex sends
/// every few seconds during playback cause an invalidation only when the state changes.
#[derive(Debug, Default)]
pub struct PlayStates {
    by_session: HashMap<String, String>,
}

impl PlayStates {
    /// More sessions than this means we missed the `stopped` notifications (a reconnect); start
    /// over rather than grow without bound.
    const MAX_SESSIONS: usize = 4096;

    /// Records `state` for `session`; true when it differs from the last one recorded.
    fn changed(&mut self, session: &str, state: &str) -> bool {
        if state == "stopped" {
            self.by_session.remove(session);
            return true;
        }
        if self.by_session.get(session).map(String::as_str) == Some(state) {
            return false;
        }
        if self.by_session.len() >= Self::MAX_SESSIONS {
            self.by_session.clear();
        }
        self.by_session.insert(session.to_owned(), state.to_owned());
        true
    }
}

/// Parses one websocket notification frame into the events it reports (often none).
///
/// # Errors
/// [`EventError::Json`] when the frame is not JSON, [`EventError::MissingField`] when it has no
/// `NotificationContainer`.
pub fn parse_notification(
    frame: &str,
    states: &mut PlayStates,
) -> Result<Vec<ChangeEvent>, EventError> {
    let value: Value = serde_json::from_str(frame)?;
    let container = value
        .get("NotificationContainer")
        .ok_or(EventError::MissingField("NotificationContainer"))?;
    let children = |name: &str| {
        container
            .get(name)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let mut events = Vec::new();
    match container
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
    {
        "timeline" => {
            for entry in children("TimelineEntry") {
                if let Some(event) = timeline_event(entry) {
                    events.push(event);
                }
            }
        }
        "activity" => {
            for note in children("ActivityNotification") {
                if note.get("event").and_then(Value::as_str) != Some("ended") {
                    continue;
                }
                let activity = note.get("Activity");
                let kind = activity.and_then(|a| a.get("type")).and_then(Value::as_str);
                if !kind.is_some_and(|k| SCAN_ACTIVITIES.contains(&k)) {
                    continue;
                }
                let section = id_of(
                    activity
                        .and_then(|a| a.get("Context"))
                        .and_then(|c| c.get("librarySectionID")),
                );
                events
                    .push(ChangeEvent::new(Change::ScanFinished).with_section(section.as_deref()));
            }
        }
        // A transcoder's start, progress and end show in the sessions list.
        "transcodeSession.start" | "transcodeSession.update" | "transcodeSession.end" => {
            events.push(ChangeEvent::new(Change::SessionChanged));
        }
        "playing" => {
            for note in children("PlaySessionStateNotification") {
                let session = id_of(note.get("sessionKey")).unwrap_or_default();
                let state = note
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let item = id_of(note.get("ratingKey"));
                if !states.changed(&session, state) {
                    // A beat in the same state moved the session's progress: the live
                    // sessions list, and nothing else, changed.
                    events.push(
                        ChangeEvent::new(Change::SessionChanged).with_items([item.as_deref()]),
                    );
                    continue;
                }
                let change = if state == "stopped" {
                    Change::PlaybackStopped
                } else {
                    Change::SessionChanged
                };
                events.push(ChangeEvent::new(change).with_items([item.as_deref()]));
            }
        }
        _ => {}
    }
    Ok(events)
}

/// A library timeline entry: created (0) is an addition, processed (5) an update (metadata is
/// final), deleted (9) a removal. Entries from other identifiers (not the library) are ignored.
fn timeline_event(entry: &Value) -> Option<ChangeEvent> {
    let identifier = entry.get("identifier").and_then(Value::as_str);
    if identifier.is_some_and(|id| id != "com.plexapp.plugins.library") {
        return None;
    }
    let change = match int_of(entry.get("state"))? {
        TIMELINE_CREATED => Change::Added,
        TIMELINE_PROCESSED => Change::Updated,
        TIMELINE_DELETED => Change::Removed,
        _ => return None,
    };
    let section = id_of(entry.get("sectionID"));
    let item = id_of(entry.get("itemID"));
    let parent = id_of(entry.get("parentItemID"));
    let root = id_of(entry.get("rootItemID"));
    let playlist = int_of(entry.get("type")) == Some(TYPE_PLAYLIST);
    Some(
        ChangeEvent::new(change)
            .with_section(section.as_deref())
            .with_items([item.as_deref()])
            .with_parents([parent.as_deref(), root.as_deref()])
            .with_playlist(playlist),
    )
}

impl ServerEvents for Plex {
    /// Plex posts `multipart/form-data` with a `payload` JSON part and an optional `thumb`.
    fn webhook_body(&self) -> WebhookBody {
        WebhookBody::MultipartPart("payload")
    }

    fn parse_webhook(&self, json: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
        parse_webhook(json)
    }

    fn webhook_source(&self) -> &'static str {
        "plex_webhook"
    }

    fn socket_source(&self) -> &'static str {
        "plex_socket"
    }

    fn socket_path(&self) -> &'static str {
        "/:/websockets/notifications"
    }

    fn socket_sign_in(
        &self,
        token: &str,
    ) -> Result<(HeaderName, HeaderValue), http::header::InvalidHeaderValue> {
        Ok((super::token::X_PLEX_TOKEN, HeaderValue::from_str(token)?))
    }

    fn socket_reader(&self) -> Box<dyn SocketReader> {
        Box::<PlayStates>::default()
    }

    /// Plex keeps the socket open by itself.
    fn keep_alive_message(&self) -> Option<&'static str> {
        None
    }

    /// Every session's state and position reach the socket as `playing` notifications (a
    /// client reports its timeline every few seconds while it plays, and the server passes
    /// each report on), a transcoder's as `transcodeSession.*`.
    fn announces_sessions(&self) -> bool {
        true
    }
}

impl SocketReader for PlayStates {
    fn read(&mut self, text: &str) -> Result<SocketMessage, EventError> {
        Ok(SocketMessage {
            events: parse_notification(text, self)?,
            keep_alive_secs: None,
            sessions_listed: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCROBBLE: &str = r#"{"event":"media.scrobble","user":true,"owner":true,
        "Account":{"id":1,"thumb":"https://plex.tv/users/x/avatar","title":"owner"},
        "Server":{"title":"Sim","uuid":"abc"},
        "Player":{"local":true,"publicAddress":"1.2.3.4","title":"Kodi","uuid":"p1"},
        "Metadata":{"librarySectionType":"show","ratingKey":"1936","key":"/library/metadata/1936",
          "parentRatingKey":"1935","grandparentRatingKey":"1934","type":"episode",
          "librarySectionID":2,"title":"Pilot"}}"#;

    #[test]
    fn webhook_scrobble_maps_to_played_with_parents() {
        let event = parse_webhook(SCROBBLE.as_bytes()).unwrap().unwrap();
        assert_eq!(event.change, Change::Played);
        assert_eq!(event.section.as_deref(), Some("2"));
        assert_eq!(event.items, vec!["1936", "1935", "1934"]);
        assert_eq!(
            event.tags("plex"),
            vec![
                "plex:oplays:1936",
                "plex:plays:1936",
                "plex:oplays:1935",
                "plex:plays:1935",
                "plex:oplays:1934",
                "plex:plays:1934",
                "plex:section:2",
                "plex:across",
                "plex:ondeck",
                "plex:history",
                "plex:items"
            ]
        );
    }

    #[test]
    fn webhook_library_new_touches_section_and_recent() {
        let body = r#"{"event":"library.new","Metadata":{"ratingKey":"99","librarySectionID":"4","type":"movie"}}"#;
        let tags = parse_webhook(body.as_bytes()).unwrap().unwrap().tags("p");
        assert_eq!(
            tags,
            vec![
                "p:item:99",
                "p:section:4",
                "p:across",
                "p:members:4",
                "p:recent",
                "p:sections",
                "p:items"
            ]
        );
    }

    #[test]
    fn webhook_play_touches_sessions_only() {
        let body = r#"{"event":"media.play","Metadata":{"ratingKey":"5"}}"#;
        assert_eq!(
            parse_webhook(body.as_bytes()).unwrap().unwrap().tags("p"),
            vec!["p:sessions"]
        );
    }

    #[test]
    fn webhook_unknown_event_is_ignored_not_an_error() {
        let body = r#"{"event":"admin.database.backup"}"#;
        assert!(parse_webhook(body.as_bytes()).unwrap().is_none());
    }

    #[test]
    fn malformed_webhooks_are_errors() {
        assert!(matches!(
            parse_webhook(b"not json"),
            Err(EventError::Json(_))
        ));
        assert!(matches!(
            parse_webhook(b"[1,2]"),
            Err(EventError::MissingField("event"))
        ));
        assert!(matches!(
            parse_webhook(b"{\"Metadata\":{}}"),
            Err(EventError::MissingField(_))
        ));
        assert!(matches!(
            parse_webhook(b"{\"event\":7}"),
            Err(EventError::MissingField(_))
        ));
    }

    #[test]
    fn timeline_created_processed_deleted() {
        let frame = r#"{"NotificationContainer":{"type":"timeline","size":"3","TimelineEntry":[
            {"identifier":"com.plexapp.plugins.library","sectionID":"2","itemID":"100","parentItemID":"99","rootItemID":"98","type":4,"state":0,"metadataState":"created"},
            {"identifier":"com.plexapp.plugins.library","sectionID":"2","itemID":"100","type":4,"state":3},
            {"identifier":"com.plexapp.plugins.library","sectionID":"2","itemID":"100","type":4,"state":5},
            {"identifier":"com.plexapp.plugins.library","sectionID":"2","itemID":"101","type":4,"state":9,"metadataState":"deleted"}
        ]}}"#;
        let events = parse_notification(frame, &mut PlayStates::default()).unwrap();
        let changes: Vec<_> = events.iter().map(|e| e.change).collect();
        assert_eq!(
            changes,
            vec![Change::Added, Change::Updated, Change::Removed]
        );
        assert_eq!(events[0].items, vec!["100", "99", "98"]);
        assert_eq!(events[2].tags("p")[0], "p:item:101");
    }

    #[test]
    fn timeline_playlist_entry_touches_playlists() {
        let frame = r#"{"NotificationContainer":{"type":"timeline","TimelineEntry":[
            {"identifier":"com.plexapp.plugins.library","sectionID":"-1","itemID":"500","type":15,"state":5}]}}"#;
        let events = parse_notification(frame, &mut PlayStates::default()).unwrap();
        let tags = events[0].tags("p");
        assert!(tags.contains(&"p:playlists".to_owned()));
        assert!(
            tags.contains(&"p:listings".to_owned()),
            "section -1 means unknown: {tags:?}"
        );
    }

    #[test]
    fn activity_ended_scan_maps_to_scan_finished() {
        let frame = r#"{"NotificationContainer":{"type":"activity","size":2,"ActivityNotification":[
            {"event":"updated","Activity":{"type":"library.update.section","Context":{"librarySectionID":"3"}}},
            {"event":"ended","Activity":{"type":"library.update.section","progress":100,"Context":{"librarySectionID":"3"}}},
            {"event":"ended","Activity":{"type":"provider.subscriptions.process"}}
        ]}}"#;
        let events = parse_notification(frame, &mut PlayStates::default()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].tags("p"),
            vec![
                "p:section:3",
                "p:across",
                "p:members:3",
                "p:recent",
                "p:sections"
            ]
        );
    }

    #[test]
    fn playing_notifications_change_play_state_only_on_state_changes() {
        let frame = |state: &str| {
            format!(
                r#"{{"NotificationContainer":{{"type":"playing","PlaySessionStateNotification":[
                {{"sessionKey":"7","ratingKey":"42","state":"{state}","viewOffset":1000}}]}}}}"#
            )
        };
        let mut states = PlayStates::default();
        let count = |states: &mut PlayStates, s: &str| {
            parse_notification(&frame(s), states)
                .unwrap()
                .into_iter()
                .map(|e| e.change)
                .collect::<Vec<_>>()
        };
        assert_eq!(count(&mut states, "playing"), vec![Change::SessionChanged]);
        assert_eq!(
            count(&mut states, "playing"),
            vec![Change::SessionChanged],
            "a repeated beat moves the session's progress"
        );
        let beat = parse_notification(&frame("playing"), &mut states).unwrap();
        assert_eq!(
            beat[0].tags("p"),
            vec!["p:sessions"],
            "a beat touches the sessions list alone"
        );
        assert_eq!(count(&mut states, "paused"), vec![Change::SessionChanged]);
        assert_eq!(count(&mut states, "stopped"), vec![Change::PlaybackStopped]);
        let stopped = parse_notification(&frame("stopped"), &mut PlayStates::default()).unwrap();
        assert_eq!(
            stopped[0].tags("p"),
            vec![
                "p:oplays:42",
                "p:plays:42",
                "p:listings",
                "p:ondeck",
                "p:sessions",
                "p:items"
            ]
        );
    }

    #[test]
    fn malformed_frames_are_errors_and_unknown_types_empty() {
        let mut states = PlayStates::default();
        assert!(parse_notification("{", &mut states).is_err());
        assert!(parse_notification("{}", &mut states).is_err());
        let other = r#"{"NotificationContainer":{"type":"reachability","size":1}}"#;
        assert!(parse_notification(other, &mut states).unwrap().is_empty());
        let wrong = r#"{"NotificationContainer":{"type":"timeline","TimelineEntry":{"x":1}}}"#;
        assert!(parse_notification(wrong, &mut states).unwrap().is_empty());
    }
}
