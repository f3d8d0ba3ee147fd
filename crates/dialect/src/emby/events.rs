//! Emby change events ([`crate::events::ServerEvents`]): the notification socket at
//! `/embywebsocket`, whose messages are Jellyfin's (`LibraryChanged`, `UserDataChanged`,
//! `Sessions`, `ForceKeepAlive`: Jellyfin kept them) plus `UserUpdated` and `UserDeleted`;
//! and Emby's own webhooks, `{"Event": "library.new", "Item": {"Id", "SeriesId", …}, …}`.
//!
//! Emby ties a socket to a session by its `api_key` and `deviceId` query parameters, and sends
//! a user's library changes only to that user's sessions: the owner's token goes in `api_key`
//! as well as in `X-Emby-Token`.
//!
//! A user updated (their policy: which libraries they see, parental rating; also their last
//! sign-in, which Emby saves as an update) or deleted changes what that user's answers hold,
//! and a deleted user's token must stop being answered from the cache: both are
//! [`Change::UserChanged`] naming the user, which drops that user's answers only — the
//! library did not change, and the other users' answers stay.

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::Emby;
use crate::events::{
    Change, ChangeEvent, EventError, ServerEvents, SessionsSubscription, SocketMessage,
    SocketReader, WebhookBody,
};
use crate::jellyfin::{Jellyfin, events::SocketState};

fn str_of<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

/// Parses one of Emby's webhooks into the event it reports, or `None` for one that changes
/// nothing cached (sign-ins, plugins, tests, unknown events).
///
/// # Errors
/// [`EventError::Json`] when the body is not JSON, [`EventError::MissingField`] when it has no
/// `Event`.
pub fn parse_webhook(body: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
    let value: Value = serde_json::from_slice(body)?;
    let kind = str_of(&value, "Event").ok_or(EventError::MissingField("Event"))?;
    let change = match kind {
        "library.new" => Change::Added,
        "library.deleted" => Change::Removed,
        "item.markplayed" | "item.markunplayed" => Change::Played,
        "item.rate" => Change::Rated,
        "playback.start" | "playback.pause" | "playback.unpause" => Change::SessionChanged,
        "playback.stop" => Change::PlaybackStopped,
        "item.update" | "item.updated" => Change::Updated,
        "user.policyupdated" | "user.deleted" => {
            let user = value.get("User").unwrap_or(&Value::Null);
            return Ok(Some(
                ChangeEvent::new(Change::UserChanged).with_items([str_of(user, "Id")]),
            ));
        }
        _ => return Ok(None),
    };
    let item = value.get("Item").unwrap_or(&Value::Null);
    Ok(Some(
        ChangeEvent::new(change)
            .with_items([str_of(item, "Id")])
            .with_parents([
                str_of(item, "SeasonId"),
                str_of(item, "SeriesId"),
                str_of(item, "AlbumId"),
                str_of(item, "ParentId"),
            ])
            .with_playlist(str_of(item, "Type") == Some("Playlist")),
    ))
}

/// One connection's reader: Jellyfin's, and a user updated or deleted named as such.
#[derive(Debug, Default)]
struct EmbySocket {
    jellyfin: SocketState,
}

impl SocketReader for EmbySocket {
    fn read(&mut self, text: &str) -> Result<SocketMessage, EventError> {
        let value: Value = serde_json::from_str(text)?;
        match str_of(&value, "MessageType") {
            Some("UserUpdated" | "UserDeleted") => Ok(SocketMessage {
                // `UserUpdated` carries the user (`Data.Id`), `UserDeleted` their id alone.
                events: vec![
                    ChangeEvent::new(Change::UserChanged).with_items([value
                        .get("Data")
                        .and_then(|data| data.as_str().or_else(|| str_of(data, "Id")))]),
                ],
                keep_alive_secs: None,
                sessions_listed: false,
            }),
            _ => self.jellyfin.read(text),
        }
    }
}

impl ServerEvents for Emby {
    /// Emby's webhooks post JSON.
    fn webhook_body(&self) -> WebhookBody {
        WebhookBody::Json
    }

    fn parse_webhook(&self, json: &[u8]) -> Result<Option<ChangeEvent>, EventError> {
        parse_webhook(json)
    }

    fn webhook_source(&self) -> &'static str {
        "emby_webhook"
    }

    fn socket_source(&self) -> &'static str {
        "emby_socket"
    }

    fn socket_path(&self) -> &'static str {
        "/embywebsocket?deviceId=cachearr-events"
    }

    fn socket_sign_in(
        &self,
        token: &str,
    ) -> Result<(HeaderName, HeaderValue), http::header::InvalidHeaderValue> {
        Ok((
            HeaderName::from_static("x-emby-token"),
            HeaderValue::from_str(token)?,
        ))
    }

    fn socket_token_param(&self) -> Option<&'static str> {
        Some("api_key")
    }

    fn socket_reader(&self) -> Box<dyn SocketReader> {
        Box::<EmbySocket>::default()
    }

    fn keep_alive_message(&self) -> Option<&'static str> {
        Jellyfin.keep_alive_message()
    }

    fn announce_delay(&self) -> std::time::Duration {
        Jellyfin.announce_delay()
    }

    fn announces_sessions(&self) -> bool {
        Jellyfin.announces_sessions()
    }

    fn sessions_subscription(&self) -> Option<SessionsSubscription> {
        Jellyfin.sessions_subscription()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_user_changes_name_the_user_and_library_changes_are_jellyfins() {
        let mut reader = Emby.socket_reader();
        for text in [
            r#"{"MessageType":"UserUpdated","Data":{"Id":"abc","Name":"x"}}"#,
            r#"{"MessageType":"UserDeleted","Data":"abc"}"#,
        ] {
            let message = reader.read(text).expect("reads");
            assert_eq!(message.events.len(), 1);
            assert_eq!(message.events[0].change, Change::UserChanged);
            assert_eq!(message.events[0].items, ["abc"]);
            assert!(
                message.events[0].tags("emby").is_empty(),
                "no library answer"
            );
        }
        let changed = r#"{"MessageType":"LibraryChanged","Data":{"ItemsAdded":["1234"],"ItemsUpdated":[],"ItemsRemoved":[],"FoldersAddedTo":["7"],"FoldersRemovedFrom":[],"CollectionFolders":["7"]}}"#;
        let message = reader.read(changed).expect("reads");
        assert_eq!(message.events.len(), 1);
        assert_eq!(message.events[0].change, Change::Added);
        assert!(message.events[0].items.contains(&"1234".to_owned()));
        assert!(reader.read("not json").is_err());
    }

    #[test]
    fn the_socket_is_embys_and_its_token_goes_in_api_key_too() {
        assert!(Emby.socket_path().starts_with("/embywebsocket?"));
        assert!(Emby.socket_path().contains("deviceId="));
        assert_eq!(Emby.socket_token_param(), Some("api_key"));
        let (name, value) = Emby.socket_sign_in("tok").expect("a header");
        assert_eq!(name.as_str(), "x-emby-token");
        assert_eq!(value, "tok");
    }

    #[test]
    fn webhooks_read_embys_events() {
        let new = br#"{"Title":"x","Event":"library.new","Item":{"Id":"55","Type":"Episode","SeriesId":"50","SeasonId":"54"}}"#;
        let event = parse_webhook(new).unwrap().expect("an event");
        assert_eq!(event.change, Change::Added);
        assert_eq!(event.items[0], "55");
        assert!(event.items.contains(&"50".to_owned()));
        let played = br#"{"Event":"item.markplayed","Item":{"Id":"9"},"User":{"Id":"u"}}"#;
        assert_eq!(
            parse_webhook(played).unwrap().unwrap().change,
            Change::Played
        );
        let policy = br#"{"Event":"user.policyupdated","User":{"Name":"kid","Id":"12"}}"#;
        let event = parse_webhook(policy).unwrap().expect("an event");
        assert_eq!(event.change, Change::UserChanged);
        assert_eq!(event.items, ["12"]);
        let test = br#"{"Event":"system.notificationtest"}"#;
        assert!(parse_webhook(test).unwrap().is_none());
        assert!(parse_webhook(br#"{"NotificationType":"ItemAdded"}"#).is_err());
        assert!(parse_webhook(b"nope").is_err());
    }
}
