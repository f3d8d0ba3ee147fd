//! Jellyfin change events: the webhook plugin's JSON and the `/socket` messages
//! ([`crate::events::ServerEvents`]).
//!
//! Shapes follow Jellyfin's webhook plugin and its websocket messages. The webhook body is whatever the
//! admin's template produces; we expect the plugin's "send all properties" object
//! (`NotificationType`, `ItemId`, `ItemType`, `SeriesId`, `SeasonId`, `SaveReason`, …) and read
//! only those fields. Socket messages are `{"MessageType", "MessageId", "Data"}`; we act on
//! `LibraryChanged`, `UserDataChanged` and `Sessions` (the live sessions list, sent once
//! asked for with `SessionsStart`), and answer `ForceKeepAlive`.

use std::collections::HashMap;

use serde_json::Value;

use http::{HeaderName, HeaderValue};

use super::Jellyfin;
use crate::events::{
    Change, ChangeEvent, EventError, ServerEvents, SessionsSubscription, SocketMessage,
    SocketReader, WebhookBody,
};

fn str_of<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

fn ids_of<'a>(value: &'a Value, name: &str) -> impl Iterator<Item = Option<&'a str>> {
    value
        .get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(Value::as_str)
}

/// Parses a webhook body into the event it reports, or `None` for notifications that change
/// nothing we cache (authentication, users, plugins, playback progress beats, unknown types).
///
/// # Errors
/// [`EventError::Json`] when the body is not JSON, [`EventError::MissingField`] when it has no
/// `NotificationType`.
pub fn parse_webhook(body: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
    let value: Value = serde_json::from_slice(body)?;
    let kind =
        str_of(&value, "NotificationType").ok_or(EventError::MissingField("NotificationType"))?;
    let item_type = str_of(&value, "ItemType").unwrap_or_default();
    let change = match kind {
        "ItemAdded" => Change::Added,
        "ItemDeleted" => Change::Removed,
        "PlaybackStart" | "SessionStart" => Change::SessionChanged,
        "PlaybackStop" => Change::PlaybackStopped,
        "UserDataSaved" => match str_of(&value, "SaveReason").unwrap_or_default() {
            "PlaybackFinished" | "TogglePlayed" | "Import" => Change::Played,
            "UpdateUserRating" | "UpdateUserData" => Change::Rated,
            // PlaybackStart / PlaybackProgress: a resume point moving, reported again on stop.
            _ => return Ok(None),
        },
        "TaskCompleted" if is_library_scan(&value) => Change::ScanFinished,
        _ => return Ok(None),
    };
    Ok(Some(
        ChangeEvent::new(change)
            .with_items([str_of(&value, "ItemId")])
            .with_parents([
                str_of(&value, "SeasonId"),
                str_of(&value, "SeriesId"),
                str_of(&value, "AlbumId"),
            ])
            .with_playlist(item_type == "Playlist"),
    ))
}

/// Jellyfin's library scan task is "Scan Media Library" (key `RefreshLibrary`); templates name
/// it differently, so look at every field that could carry it.
fn is_library_scan(value: &Value) -> bool {
    ["TaskKey", "TaskName", "Name", "TaskId"]
        .iter()
        .filter_map(|f| str_of(value, f))
        .any(|s| {
            s.eq_ignore_ascii_case("RefreshLibrary") || s.eq_ignore_ascii_case("Scan Media Library")
        })
}

/// The last user data seen per item, so that `UserDataChanged` messages that only move a resume
/// point (sent throughout playback) do not invalidate anything.
#[derive(Debug, Default)]
pub struct UserDataStates {
    by_item: HashMap<(String, String), UserData>,
}

/// The parts of a user's data on an item that listings show.
#[derive(Debug, Clone, PartialEq)]
struct UserData {
    played: bool,
    play_count: i64,
    favorite: bool,
    rating: Option<String>,
}

impl UserDataStates {
    /// Bound on remembered items; beyond it we forget and treat the next change as new.
    const MAX_ITEMS: usize = 65_536;

    /// Records `state` for (`user`, `item`); returns the change it represents, if any.
    fn change(&mut self, user: &str, item: &str, data: &Value) -> Option<Change> {
        let now = UserData {
            played: data.get("Played").and_then(Value::as_bool).unwrap_or(false),
            play_count: data.get("PlayCount").and_then(Value::as_i64).unwrap_or(0),
            favorite: data
                .get("IsFavorite")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            rating: data.get("Rating").map(Value::to_string),
        };
        let key = (user.to_owned(), item.to_owned());
        if self.by_item.len() >= Self::MAX_ITEMS && !self.by_item.contains_key(&key) {
            self.by_item.clear();
        }
        match self.by_item.insert(key, now.clone()) {
            None => Some(Change::Played),
            Some(b) if b.played != now.played || b.play_count != now.play_count => {
                Some(Change::Played)
            }
            Some(b) if b.favorite != now.favorite || b.rating != now.rating => Some(Change::Rated),
            Some(_) => None,
        }
    }
}

/// Parses one `/socket` message.
///
/// # Errors
/// [`EventError::Json`] when the message is not JSON, [`EventError::MissingField`] when it has
/// no `MessageType`.
pub fn parse_socket_message(
    text: &str,
    user_data: &mut UserDataStates,
) -> Result<SocketMessage, EventError> {
    let value: Value = serde_json::from_str(text)?;
    let kind = str_of(&value, "MessageType").ok_or(EventError::MissingField("MessageType"))?;
    let data = value.get("Data").unwrap_or(&Value::Null);
    let mut message = SocketMessage::default();
    match kind {
        "ForceKeepAlive" => {
            message.keep_alive_secs = data.as_u64().or_else(|| data.as_str()?.parse().ok());
        }
        "LibraryChanged" => {
            // Jellyfin 10.9+ lists the libraries touched; with exactly one we can be precise.
            let folders: Vec<&str> = ids_of(data, "CollectionFolders").flatten().collect();
            let section = match folders.as_slice() {
                [one] => Some(*one),
                _ => None,
            };
            let lists = [
                (Change::Added, "ItemsAdded", Some("FoldersAddedTo")),
                (Change::Updated, "ItemsUpdated", None),
                (Change::Removed, "ItemsRemoved", Some("FoldersRemovedFrom")),
            ];
            for (change, items, folders) in lists {
                let event = ChangeEvent::new(change)
                    .with_section(section)
                    .with_items(ids_of(data, items))
                    .with_parents(folders.into_iter().flat_map(|f| ids_of(data, f)));
                if !event.items.is_empty() {
                    message.events.push(event);
                }
            }
        }
        "UserDataChanged" => {
            let user = str_of(data, "UserId").unwrap_or_default();
            let mut played = ChangeEvent::new(Change::Played);
            let mut rated = ChangeEvent::new(Change::Rated);
            for entry in data
                .get("UserDataList")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(item) = str_of(entry, "ItemId") else {
                    continue;
                };
                match user_data.change(user, item, entry) {
                    Some(Change::Played) => played = played.with_items([Some(item)]),
                    Some(_) => rated = rated.with_items([Some(item)]),
                    None => {}
                }
            }
            message
                .events
                .extend([played, rated].into_iter().filter(|e| !e.items.is_empty()));
        }
        _ => {}
    }
    Ok(message)
}

/// What one connection remembers between its messages: the user data seen, and the last
/// sessions list's content.
#[derive(Debug, Default)]
pub struct SocketState {
    user_data: UserDataStates,
    /// A digest of the last `Sessions` message's list, less its times of activity (`None`:
    /// none yet on this connection).
    sessions: Option<u64>,
}

/// The fields of a `SessionInfoDto` that move with every request its client makes
/// (`SessionManager.LogSessionActivity`), which the server announces only after 10 s of
/// idleness. Left out of the comparison: every request cachearr sends on moves them, so
/// comparing them would have cachearr's own reads drop the list they filled. A list kept
/// under the socket is refreshed at [`SESSIONS_FRESH_FOR`] at the latest, which bounds how
/// old they are.
const ACTIVITY_FIELDS: [&str; 2] = ["LastActivityDate", "LastPlaybackCheckIn"];

/// How long a sessions list kept under the socket stays fresh: what the server does not
/// announce — times of activity, a session idle past a client's `ActiveWithinSeconds` — is at
/// most this old.
pub const SESSIONS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// A digest of a `Sessions` list, less the times of activity; `None` when `data` is not a list.
fn sessions_digest(data: &Value) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for session in data.as_array()? {
        match session.as_object() {
            Some(fields) => {
                for (name, value) in fields {
                    if !ACTIVITY_FIELDS.contains(&name.as_str()) {
                        name.hash(&mut hasher);
                        value.to_string().hash(&mut hasher);
                    }
                }
            }
            None => session.to_string().hash(&mut hasher),
        }
        // Sessions apart: two sessions' fields never read as one's.
        0xffu8.hash(&mut hasher);
    }
    Some(hasher.finish())
}

impl SocketState {
    /// A `Sessions` message: the live sessions list, a change when its content differs from
    /// the last one's on this connection (the first one always: whatever was cached before
    /// the list was followed may be older than it).
    fn sessions(&mut self, data: &Value) -> SocketMessage {
        let Some(digest) = sessions_digest(data) else {
            return SocketMessage::default();
        };
        let changed = self.sessions.replace(digest) != Some(digest);
        SocketMessage {
            events: changed
                .then(|| ChangeEvent::new(Change::SessionChanged))
                .into_iter()
                .collect(),
            keep_alive_secs: None,
            sessions_listed: true,
        }
    }
}

impl SocketReader for SocketState {
    fn read(&mut self, text: &str) -> Result<SocketMessage, EventError> {
        let value: Value = serde_json::from_str(text)?;
        if str_of(&value, "MessageType") == Some("Sessions") {
            return Ok(self.sessions(value.get("Data").unwrap_or(&Value::Null)));
        }
        parse_socket_message(text, &mut self.user_data)
    }
}

impl ServerEvents for Jellyfin {
    /// The webhook plugin posts JSON (its "send all properties" object).
    fn webhook_body(&self) -> WebhookBody {
        WebhookBody::Json
    }

    fn parse_webhook(&self, json: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
        parse_webhook(json)
    }

    fn webhook_source(&self) -> &'static str {
        "jellyfin_webhook"
    }

    fn socket_source(&self) -> &'static str {
        "jellyfin_socket"
    }

    fn socket_path(&self) -> &'static str {
        "/socket?deviceId=cachearr-events"
    }

    fn socket_sign_in(
        &self,
        token: &str,
    ) -> Result<(HeaderName, HeaderValue), http::header::InvalidHeaderValue> {
        let auth = format!(
            "MediaBrowser Client=\"cachearr\", Device=\"cachearr\", \
             DeviceId=\"cachearr-events\", Version=\"{}\", Token=\"{}\"",
            env!("CARGO_PKG_VERSION"),
            token
        );
        Ok((http::header::AUTHORIZATION, HeaderValue::from_str(&auth)?))
    }

    fn socket_reader(&self) -> Box<dyn SocketReader> {
        Box::<SocketState>::default()
    }

    /// Jellyfin drops a socket that stays silent past the timeout it announces in
    /// `ForceKeepAlive`.
    fn keep_alive_message(&self) -> Option<&'static str> {
        Some(r#"{"MessageType":"KeepAlive"}"#)
    }

    /// `LibraryChanged` is batched for `LibraryUpdateDuration`, 30 s by default.
    fn announce_delay(&self) -> std::time::Duration {
        std::time::Duration::from_secs(30)
    }

    /// Once subscribed, the server sends the sessions list at once when a session starts or
    /// ends and when a playback starts, stops or reports progress, and when an idle session
    /// is active again (`SessionInfoWebSocketListener`).
    fn announces_sessions(&self) -> bool {
        true
    }

    /// `SessionsStart` with no initial delay (the server ignores it) and the 1.5 s interval
    /// Jellyfin's web dashboard asks for, which throttles only the activity messages. 10.11
    /// and later take it from any user (a non-administrator hears of their own sessions);
    /// 10.10 only from an administrator, and a refused subscription sends nothing, so the
    /// list is not followed.
    fn sessions_subscription(&self) -> Option<SessionsSubscription> {
        Some(SessionsSubscription {
            start: r#"{"MessageType":"SessionsStart","Data":"0,1500"}"#,
            fresh_for: SESSIONS_FRESH_FOR,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_item_added_touches_item_series_and_every_listing() {
        let body = r#"{"ServerId":"s","ServerName":"jf","NotificationType":"ItemAdded",
            "ItemId":"0123abcd","ItemType":"Episode","SeriesId":"5555","SeasonId":"4444",
            "Name":"Pilot","Timestamp":"2026-01-01T00:00:00Z"}"#;
        let event = parse_webhook(body.as_bytes()).unwrap().unwrap();
        assert_eq!(event.change, Change::Added);
        assert_eq!(
            event.tags("jf"),
            vec![
                "jf:item:0123abcd",
                "jf:item:4444",
                "jf:item:5555",
                "jf:oplays:4444",
                "jf:plays:4444",
                "jf:oplays:5555",
                "jf:plays:5555",
                "jf:listings",
                "jf:recent",
                "jf:sections",
                "jf:items"
            ]
        );
    }

    #[test]
    fn webhook_user_data_saved_by_reason() {
        let body = |reason: &str| {
            format!(
                r#"{{"NotificationType":"UserDataSaved","ItemId":"a1","SaveReason":"{reason}"}}"#
            )
        };
        let change = |reason: &str| {
            parse_webhook(body(reason).as_bytes())
                .unwrap()
                .map(|e| e.change)
        };
        assert_eq!(change("PlaybackFinished"), Some(Change::Played));
        assert_eq!(change("TogglePlayed"), Some(Change::Played));
        assert_eq!(change("UpdateUserRating"), Some(Change::Rated));
        assert_eq!(change("PlaybackProgress"), None);
    }

    #[test]
    fn webhook_task_completed_only_for_library_scans() {
        let scan = br#"{"NotificationType":"TaskCompleted","TaskName":"Scan Media Library"}"#;
        let other = br#"{"NotificationType":"TaskCompleted","TaskName":"Clean Logs"}"#;
        assert_eq!(
            parse_webhook(scan).unwrap().unwrap().change,
            Change::ScanFinished
        );
        assert!(parse_webhook(other).unwrap().is_none());
    }

    #[test]
    fn webhook_playlist_and_ignored_and_malformed() {
        let body = br#"{"NotificationType":"ItemAdded","ItemId":"p1","ItemType":"Playlist"}"#;
        assert!(
            parse_webhook(body)
                .unwrap()
                .unwrap()
                .tags("j")
                .contains(&"j:playlists".into())
        );
        assert!(
            parse_webhook(br#"{"NotificationType":"AuthenticationSuccess"}"#)
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            parse_webhook(b"{}"),
            Err(EventError::MissingField(_))
        ));
        assert!(matches!(parse_webhook(b"<xml/>"), Err(EventError::Json(_))));
    }

    #[test]
    fn socket_library_changed_splits_by_kind() {
        let text = r#"{"MessageType":"LibraryChanged","MessageId":"m","Data":{
            "ItemsAdded":["a1","a2"],"ItemsUpdated":["u1"],"ItemsRemoved":[],
            "FoldersAddedTo":["f1"],"FoldersRemovedFrom":[],"CollectionFolders":["lib9"],"IsEmpty":false}}"#;
        let message = parse_socket_message(text, &mut UserDataStates::default()).unwrap();
        assert_eq!(message.events.len(), 2);
        assert_eq!(message.events[0].change, Change::Added);
        assert_eq!(message.events[0].items, vec!["a1", "a2", "f1"]);
        assert_eq!(message.events[0].section.as_deref(), Some("lib9"));
        assert_eq!(
            message.events[1].tags("j"),
            vec![
                "j:item:u1",
                "j:section:lib9",
                "j:across",
                "j:members:lib9",
                "j:recent",
                "j:section-times",
                "j:items"
            ]
        );
    }

    #[test]
    fn socket_user_data_acts_on_state_not_position() {
        let msg = |played: bool, pos: u64, fav: bool| {
            format!(
                r#"{{"MessageType":"UserDataChanged","Data":{{"UserId":"u","UserDataList":[
                {{"ItemId":"i1","Played":{played},"PlayCount":0,"PlaybackPositionTicks":{pos},"IsFavorite":{fav}}}]}}}}"#
            )
        };
        let mut states = UserDataStates::default();
        let mut changes = |text: String| {
            parse_socket_message(&text, &mut states)
                .unwrap()
                .events
                .into_iter()
                .map(|e| e.change)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            changes(msg(false, 10, false)),
            vec![Change::Played],
            "first sighting"
        );
        assert!(
            changes(msg(false, 20, false)).is_empty(),
            "resume point moved only"
        );
        assert_eq!(changes(msg(false, 20, true)), vec![Change::Rated]);
        assert_eq!(changes(msg(true, 0, true)), vec![Change::Played]);
    }

    #[test]
    fn a_sessions_list_is_a_change_when_its_content_differs() {
        let list = |paused: bool, activity: &str| {
            format!(
                r#"{{"MessageType":"Sessions","MessageId":"m","Data":[{{"Id":"s1","UserId":"u",
                "LastActivityDate":"{activity}","LastPlaybackCheckIn":"{activity}",
                "PlayState":{{"IsPaused":{paused},"PositionTicks":10}},
                "NowPlayingItem":{{"Id":"i1"}}}}]}}"#
            )
        };
        let mut reader = SocketState::default();
        let mut read = |text: String| {
            let message = reader.read(&text).unwrap();
            assert!(message.sessions_listed);
            message
                .events
                .into_iter()
                .map(|e| e.change)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            read(list(false, "2026-01-01T00:00:00Z")),
            vec![Change::SessionChanged],
            "the first list: what was cached before may be older"
        );
        assert!(
            read(list(false, "2026-01-01T00:00:00Z")).is_empty(),
            "the same list again"
        );
        assert!(
            read(list(false, "2026-01-01T00:00:12Z")).is_empty(),
            "only a session's activity moved"
        );
        assert_eq!(
            read(list(true, "2026-01-01T00:00:12Z")),
            vec![Change::SessionChanged],
            "the playback paused"
        );
        let ended = r#"{"MessageType":"Sessions","Data":[]}"#.to_owned();
        assert_eq!(read(ended), vec![Change::SessionChanged]);
    }

    #[test]
    fn a_sessions_message_that_is_no_list_changes_nothing() {
        let mut reader = SocketState::default();
        let message = reader
            .read(r#"{"MessageType":"Sessions","Data":"x"}"#)
            .unwrap();
        assert_eq!(message, SocketMessage::default());
        assert!(reader.read("not json").is_err());
    }

    #[test]
    fn socket_keep_alive_and_garbage() {
        let mut states = UserDataStates::default();
        let keep = r#"{"MessageType":"ForceKeepAlive","MessageId":"x","Data":60}"#;
        assert_eq!(
            parse_socket_message(keep, &mut states)
                .unwrap()
                .keep_alive_secs,
            Some(60)
        );
        assert!(parse_socket_message("nope", &mut states).is_err());
        assert!(parse_socket_message(r#"{"Data":1}"#, &mut states).is_err());
        let odd = r#"{"MessageType":"LibraryChanged","Data":"x"}"#;
        assert!(
            parse_socket_message(odd, &mut states)
                .unwrap()
                .events
                .is_empty()
        );
    }
}
