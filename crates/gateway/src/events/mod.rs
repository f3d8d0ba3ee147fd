//! Change events: what changed on a media server, and which cache tags that touches.
//!
//! Four sources feed the same server-neutral [`ChangeEvent`]:
//! - [`plex::parse_webhook`]: Plex webhooks (`multipart/form-data`, a `payload` JSON part and an
//!   optional `thumb` part), received on the admin listener;
//! - [`plex::parse_notification`]: frames of Plex's websocket `/:/websockets/notifications`;
//! - [`jellyfin::parse_webhook`]: the Jellyfin webhook plugin's JSON body;
//! - [`jellyfin::parse_socket_message`]: messages of Jellyfin's `/socket`.
//!
//! [`ChangeEvent::tags`] maps an event to the tags it touches (the scheme in [`crate::tags`]:
//! `{up}:sections`, `{up}:section:{id}`, `{up}:item:{id}`, `{up}:recent`, `{up}:ondeck`,
//! `{up}:history`, `{up}:sessions`, `{up}:playlists`, `{up}:listings`, `{up}:across`,
//! `{up}:library`). [`subscriber`] keeps
//! cachearr's own websocket subscriptions open, reconnecting with backoff.
//!
//! Everything here parses data we did not produce: parsers return [`EventError`] (a clear 4xx on
//! the webhook receivers) and never panic; identifiers that do not look like identifiers are
//! dropped rather than spliced into a tag.

pub mod jellyfin;
pub mod plex;
pub mod subscriber;

use std::fmt;

/// Longest identifier accepted from a payload (Plex rating keys are short integers, Jellyfin ids
/// 32 hex digits); anything longer is not an id we would ever have tagged.
const MAX_ID_LEN: usize = 64;

/// What happened, independent of the server that said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Items were added to a library.
    Added,
    /// Items' metadata changed (edit, refresh, finished processing).
    Updated,
    /// Items were deleted.
    Removed,
    /// A library scan or refresh finished; the section (or the whole library) may have changed.
    ScanFinished,
    /// Watched state changed for a user: scrobble, unscrobble, "played to completion".
    Played,
    /// Playback stopped: the resume point moved and the session ended.
    PlaybackStopped,
    /// A session started, paused or resumed: only the live sessions list changed.
    SessionChanged,
    /// A rating or favourite changed: only the item itself.
    Rated,
    /// Plex says a new item appears in a user's On Deck.
    OnDeck,
}

impl Change {
    /// A short stable name, used in metrics labels and API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Updated => "updated",
            Change::Removed => "removed",
            Change::ScanFinished => "scan_finished",
            Change::Played => "played",
            Change::PlaybackStopped => "playback_stopped",
            Change::SessionChanged => "session_changed",
            Change::Rated => "rated",
            Change::OnDeck => "ondeck",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change, parsed from any source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    /// What happened.
    pub change: Change,
    /// The library section it happened in, when the source says.
    pub section: Option<String>,
    /// The items concerned, each followed by its parents (album, artist; season, show), because
    /// a parent's children listing changes with its children.
    pub items: Vec<String>,
    /// The items are playlists (Plex type 15, Jellyfin `Playlist`): playlist listings change.
    pub playlist: bool,
}

impl ChangeEvent {
    /// An event with no section, items or playlist flag.
    pub fn new(change: Change) -> Self {
        ChangeEvent {
            change,
            section: None,
            items: Vec::new(),
            playlist: false,
        }
    }

    /// Sets the section, if `section` looks like an identifier (Plex sends `-1` for "none").
    pub fn with_section(mut self, section: Option<&str>) -> Self {
        self.section = section
            .filter(|s| *s != "-1")
            .and_then(valid_id)
            .map(str::to_owned);
        self
    }

    /// Adds item ids (item first, then parents), skipping empty, invalid and repeated ones.
    pub fn with_items<'a>(mut self, ids: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        for id in ids.into_iter().flatten().filter_map(valid_id) {
            if !self.items.iter().any(|known| known == id) {
                self.items.push(id.to_owned());
            }
        }
        self
    }

    /// Marks the items as playlists.
    pub fn with_playlist(mut self, playlist: bool) -> Self {
        self.playlist = playlist;
        self
    }

    /// The tags this event touches on upstream `upstream`, deduplicated, in a stable order.
    ///
    /// Exactly what changes, no more: a session starting touches only `sessions`; a scrobble
    /// touches the item and its parents, the lists that show its play state (its section's and
    /// those spanning sections, or every list when the section is unknown), on deck and
    /// history; a new item touches itself, its parents, those lists, recently added and the
    /// sections list (which carries each section's update time). Metadata of other items is
    /// never touched, except by a scan with no section (or a reconnect after which events may
    /// have been missed), which touches everything. The gateway fills in the section from the
    /// library index when the source does not say (Jellyfin).
    pub fn tags(&self, upstream: &str) -> Vec<String> {
        use crate::tags;
        let mut out: Vec<String> = Vec::new();
        let items = |out: &mut Vec<String>| {
            out.extend(self.items.iter().map(|id| tags::item(upstream, id)));
        };
        // The lists that could show the items: their section's and those spanning sections;
        // every list when the section is unknown (metadata of other items is not touched).
        let listings = |out: &mut Vec<String>| match &self.section {
            Some(section) => {
                out.push(tags::section(upstream, section));
                out.push(tags::across(upstream));
            }
            None => out.push(tags::listings(upstream)),
        };
        match self.change {
            Change::Added | Change::Removed => {
                items(&mut out);
                listings(&mut out);
                out.push(tags::recent(upstream));
                out.push(tags::sections(upstream));
                if self.change == Change::Removed {
                    // A deleted item must leave every list that could still show it.
                    out.push(tags::ondeck(upstream));
                    out.push(tags::history(upstream));
                    out.push(tags::playlists(upstream));
                }
            }
            Change::Updated => {
                items(&mut out);
                listings(&mut out);
                out.push(tags::recent(upstream));
            }
            Change::ScanFinished => {
                match &self.section {
                    Some(_) => listings(&mut out),
                    // A scan of everything, or events possibly missed (a socket reconnected):
                    // anything may have changed.
                    None => out.push(tags::library(upstream)),
                }
                out.push(tags::recent(upstream));
                out.push(tags::sections(upstream));
            }
            // Play state shows in the item, its parents and every list that holds them.
            Change::Played => {
                items(&mut out);
                listings(&mut out);
                out.push(tags::ondeck(upstream));
                out.push(tags::history(upstream));
            }
            Change::PlaybackStopped => {
                items(&mut out);
                listings(&mut out);
                out.push(tags::ondeck(upstream));
                out.push(tags::sessions(upstream));
            }
            Change::SessionChanged => out.push(tags::sessions(upstream)),
            Change::Rated => {
                items(&mut out);
                listings(&mut out);
            }
            Change::OnDeck => out.push(tags::ondeck(upstream)),
        }
        if self.playlist {
            out.push(tags::playlists(upstream));
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|tag| seen.insert(tag.clone()));
        out
    }
}

/// Accepts `id` if it looks like a media-server identifier: 1 to 64 ASCII letters, digits,
/// `-`, `_` or `.`. Anything else (separators, spaces, control characters) could forge another
/// tag, so it is dropped.
pub fn valid_id(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(id)
}

/// Why a webhook or notification could not be understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The body is not valid JSON, or not the JSON shape expected.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The multipart body has no `payload` part (Plex webhooks always send one).
    #[error("multipart body has no `payload` part")]
    MissingPayload,
    /// The multipart body could not be read.
    #[error("malformed multipart body: {0}")]
    Multipart(String),
    /// The request body could not be read (too large, cut short).
    #[error("unreadable body: {0}")]
    Body(String),
    /// The request's content type is not one this receiver accepts.
    #[error("unsupported content type {0:?}: expected {1}")]
    ContentType(String, &'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_changes_touch_only_sessions() {
        let event = ChangeEvent::new(Change::SessionChanged).with_items([Some("7")]);
        assert_eq!(event.tags("plex"), vec!["plex:sessions"]);
    }

    #[test]
    fn played_touches_item_parents_ondeck_history() {
        let event = ChangeEvent::new(Change::Played)
            .with_section(Some("2"))
            .with_items([Some("10"), Some("9"), Some("8")]);
        assert_eq!(
            event.tags("p"),
            vec![
                "p:item:10",
                "p:item:9",
                "p:item:8",
                "p:section:2",
                "p:across",
                "p:ondeck",
                "p:history"
            ]
        );
    }

    #[test]
    fn added_with_section_touches_that_section_only() {
        let event = ChangeEvent::new(Change::Added)
            .with_section(Some("3"))
            .with_items([Some("55")]);
        assert_eq!(
            event.tags("p"),
            vec![
                "p:item:55",
                "p:section:3",
                "p:across",
                "p:recent",
                "p:sections"
            ]
        );
    }

    #[test]
    fn added_without_section_touches_every_listing() {
        let event = ChangeEvent::new(Change::Added).with_items([Some("abc")]);
        let tags = event.tags("j");
        assert!(tags.contains(&"j:listings".to_owned()));
        assert!(
            !tags.contains(&"j:library".to_owned()),
            "other items' metadata stays cached"
        );
    }

    #[test]
    fn removed_leaves_every_list() {
        let tags = ChangeEvent::new(Change::Removed)
            .with_items([Some("1")])
            .tags("p");
        for want in [
            "p:item:1",
            "p:listings",
            "p:recent",
            "p:ondeck",
            "p:history",
            "p:playlists",
        ] {
            assert!(
                tags.contains(&want.to_owned()),
                "{want} missing from {tags:?}"
            );
        }
    }

    #[test]
    fn playlists_flag_adds_playlists_tag() {
        let tags = ChangeEvent::new(Change::Updated)
            .with_items([Some("77")])
            .with_playlist(true)
            .tags("p");
        assert!(tags.contains(&"p:playlists".to_owned()));
    }

    #[test]
    fn forged_ids_are_dropped() {
        let event = ChangeEvent::new(Change::Rated).with_items([
            Some("1:sessions"),
            Some(""),
            Some("a b"),
            Some("x\n"),
            Some("ok-1"),
            Some("ok-1"),
        ]);
        assert_eq!(event.items, vec!["ok-1"]);
        let long = "9".repeat(65);
        assert!(valid_id(&long).is_none());
    }

    #[test]
    fn plex_minus_one_section_means_none() {
        let event = ChangeEvent::new(Change::ScanFinished).with_section(Some("-1"));
        assert_eq!(event.section, None);
        assert_eq!(event.tags("p"), vec!["p:library", "p:recent", "p:sections"]);
    }
}
