//! Change events: what changed on a media server, and which cache tags that touches.
//!
//! Every server's webhooks and notification socket feed the same server-neutral
//! [`ChangeEvent`]. What differs per server — where its webhook carries the event, how its
//! JSON reads, its socket's path and sign-in, how a socket message reads and whether it must be
//! kept alive — is [`ServerEvents`], which each dialect implements
//! (`plex/events.rs`: Plex webhooks, multipart with a `payload` JSON part, and frames of
//! `/:/websockets/notifications`; `jellyfin/events.rs`: the webhook plugin's JSON and
//! messages of `/socket`). The webhook receivers and `cachearr-upstream`'s `subscriber`, which
//! keeps cachearr's own websocket subscriptions open and reconnects with backoff, are the same for
//! every server.
//!
//! [`ChangeEvent::tags`] maps an event to the tags it touches (the scheme in [`crate::tags`]:
//! `{up}:sections`, `{up}:section:{id}`, `{up}:item:{id}`, `{up}:recent`, `{up}:ondeck`,
//! `{up}:history`, `{up}:sessions`, `{up}:playlists`, `{up}:listings`, `{up}:across`,
//! `{up}:library`).
//!
//! Everything here parses data we did not produce: parsers return [`EventError`] (a clear 4xx on
//! the webhook receivers) and never panic; identifiers that do not look like identifiers are
//! dropped rather than spliced into a tag.

use std::fmt;

use http::{HeaderName, HeaderValue};

/// One server's change events: its webhooks and its notification socket. Each dialect
/// implements it (`crate::DialectFacts::events`); what an event invalidates, the
/// receivers and the subscription's reconnects do not depend on the server.
pub trait ServerEvents: Send + Sync + std::fmt::Debug + 'static {
    /// Where a webhook carries its event.
    fn webhook_body(&self) -> WebhookBody;

    /// The change a webhook's JSON reports, or `None` for one that changes nothing we cache.
    ///
    /// # Errors
    /// [`EventError`] when the JSON is not what the server sends.
    fn parse_webhook(&self, json: &[u8]) -> Result<Option<ChangeEvent>, EventError>;

    /// The source label of this server's webhooks (`plex_webhook`), in metrics and logs.
    fn webhook_source(&self) -> &'static str;

    /// The source label of this server's notification socket (`plex_socket`).
    fn socket_source(&self) -> &'static str;

    /// The notification socket's path and query on the server.
    fn socket_path(&self) -> &'static str;

    /// The header that signs the socket's request in with the owner's token (a header, never
    /// the URL, so that no error message or log line can carry the token).
    ///
    /// # Errors
    /// When the token cannot be sent in a header.
    fn socket_sign_in(
        &self,
        token: &str,
    ) -> Result<(HeaderName, HeaderValue), http::header::InvalidHeaderValue>;

    /// The query parameter the socket's request must carry the token in as well, where the
    /// server ties a socket to a session only by it (Emby's `api_key`); `None`: the header of
    /// [`Self::socket_sign_in`] is all. The URL is then a secret: it is never logged or shown.
    fn socket_token_param(&self) -> Option<&'static str> {
        None
    }

    /// A reader of one connection's messages (it remembers what it needs between them).
    fn socket_reader(&self) -> Box<dyn SocketReader>;

    /// The message that keeps the socket open, when the server wants one: sent with every
    /// liveness probe (`cachearr-upstream`'s `subscriber::Liveness`), at least at half the timeout
    /// the server announces ([`SocketMessage::keep_alive_secs`]).
    fn keep_alive_message(&self) -> Option<&'static str>;

    /// How long the server may hold a change before announcing it on its socket, at its
    /// default settings (part of the staleness the feed states; none by default).
    fn announce_delay(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Whether the socket announces every change of the live sessions list — each session's
    /// start, state and progress — so that, while it is open, the list may stay cached until
    /// it says otherwise instead of being read again every few seconds (none by default).
    fn announces_sessions(&self) -> bool {
        false
    }

    /// Where the socket announces the live sessions list only to a client that asks
    /// (Jellyfin's `SessionsStart`): the message that asks, sent on every connection once the
    /// server has answered, and how long a list kept under it stays fresh. The list follows
    /// the socket only once the server has sent one on the connection (it may refuse the
    /// subscription: [`SocketMessage::sessions_listed`]). `None` where the server announces
    /// the list unasked, or not at all.
    fn sessions_subscription(&self) -> Option<SessionsSubscription> {
        None
    }
}

/// A subscription to the live sessions list ([`ServerEvents::sessions_subscription`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionsSubscription {
    /// The message that asks for the list.
    pub start: &'static str,
    /// How long a sessions list kept under the subscription stays fresh: what the server
    /// announces nothing of (times of activity, a session leaving a list filtered by
    /// activity) is at most this old.
    pub fresh_for: std::time::Duration,
}

/// Reads one connection's notification messages, in order.
pub trait SocketReader: Send {
    /// What one message asks of us.
    ///
    /// # Errors
    /// [`EventError`] when the message is not what the server sends.
    fn read(&mut self, text: &str) -> Result<SocketMessage, EventError>;
}

/// What a socket message asks of us.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SocketMessage {
    /// Changes to apply.
    pub events: Vec<ChangeEvent>,
    /// The server's keep-alive timeout in seconds: send the keep-alive message at half this
    /// interval or be disconnected.
    pub keep_alive_secs: Option<u64>,
    /// The message is a live sessions list: the server accepted the connection's
    /// subscription ([`ServerEvents::sessions_subscription`]), so its changes arrive.
    pub sessions_listed: bool,
}

/// Where a server's webhook carries its event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookBody {
    /// A `multipart/form-data` body whose part of this name is the JSON (the other parts, a
    /// thumbnail, are read and dropped); a bare JSON body is taken too, for relays and tests.
    MultipartPart(&'static str),
    /// A JSON body, sent as `application/json`, as `text/plain` (some templates) or with no
    /// content type.
    Json,
}

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
    /// A user's account or policy changed, or the user was deleted (Emby's `UserUpdated` and
    /// `UserDeleted`, its `user.policyupdated` webhook): what that user may see, and so any
    /// answer of theirs, may have changed. The event's item is the user's server id; its
    /// tags are none of the library's: the gateway drops that user's scope.
    UserChanged,
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
            Change::UserChanged => "user_changed",
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
    /// The items concerned (the first [`ChangeEvent::own`]), then their parents (album,
    /// artist; season, show; Jellyfin's folders), because a parent's children listing and
    /// counts change with its children.
    pub items: Vec<String>,
    /// How many of `items` the change is about; the rest are their parents.
    pub own: usize,
    /// For a play-state change: whether the server's owner made it (`None`: not known). A
    /// play by another user does not change what the owner's configured token is answered,
    /// so those answers are spared.
    pub by_owner: Option<bool>,
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
            own: 0,
            by_owner: None,
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

    /// Adds the ids of items the change is about, skipping empty, invalid and repeated ones.
    /// Call before [`ChangeEvent::with_parents`].
    pub fn with_items<'a>(mut self, ids: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        for id in ids.into_iter().flatten().filter_map(valid_id) {
            if !self.items.iter().any(|known| known == id) {
                self.items.push(id.to_owned());
            }
        }
        self.own = self.items.len();
        self
    }

    /// Adds the ids of the items' parents (or folders), skipping empty, invalid and repeated
    /// ones.
    pub fn with_parents<'a>(mut self, ids: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        for id in ids.into_iter().flatten().filter_map(valid_id) {
            if !self.items.iter().any(|known| known == id) {
                self.items.push(id.to_owned());
            }
        }
        self
    }

    /// The items the change is about.
    pub fn own_items(&self) -> &[String] {
        &self.items[..self.own.min(self.items.len())]
    }

    /// Their parents.
    pub fn parents(&self) -> &[String] {
        &self.items[self.own.min(self.items.len())..]
    }

    /// Says who changed the play state (the server's owner or another user), when known.
    pub fn with_owner(mut self, by_owner: Option<bool>) -> Self {
        self.by_owner = by_owner;
        self
    }

    /// Marks the items as playlists.
    pub fn with_playlist(mut self, playlist: bool) -> Self {
        self.playlist = playlist;
        self
    }

    /// The tags this event touches on upstream `upstream`, deduplicated, in a stable order.
    ///
    /// Exactly what changes, no more (`docs/change-feed.md`): a session starting touches only
    /// `sessions`. An edit touches the item's own tag — its metadata, its children listing and
    /// every answer that shows it or names it as a parent — and its section's lists, whose
    /// order or filters it may change (plain listings through `members`), not its parents. A
    /// play-state change touches the play-state tags of the item and its parents (their
    /// viewed counts) and the lists that filter or sort by play state (`section`), on deck and
    /// history; not the plain listings, nor anything showing the item's own fields. An addition
    /// or removal touches the item, its parents' counts (and for an addition their children
    /// listings), every list of its section, recently added and the sections list. With the section unknown, every list
    /// (`listings`) stands in for the section's. Metadata of other items is never touched,
    /// except by a scan with no section (or a reconnect after which events may have been
    /// missed), which touches everything. A user's change touches no answer of the library's
    /// (its item is a user: the gateway drops that user's scope). The gateway fills in the
    /// section (and the parents) from the library index when the source does not say
    /// (Jellyfin).
    pub fn tags(&self, upstream: &str) -> Vec<String> {
        use crate::tags;
        let own = self.own_items();
        let parents = self.parents();
        let mut t = TagList {
            out: Vec::new(),
            upstream,
            event: self,
        };
        match self.change {
            Change::Added | Change::Removed => {
                t.items(own);
                // A new item is in no answer yet: its parents' children listings (whose
                // route carries the parent's tag) must go. A removed one is in every answer
                // that listed it, which its own tag reaches; its parents' fields are as they
                // were (refreshing everything that names them would cost, for a track, every
                // album listing of its artist).
                if self.change == Change::Added {
                    t.items(parents);
                }
                t.counts(parents);
                t.lists();
                t.members();
                t.out.push(tags::recent(upstream));
                t.out.push(tags::sections(upstream));
                if self.change == Change::Removed {
                    // A deleted item must leave every list that could still show it.
                    t.out.push(tags::ondeck(upstream));
                    t.out.push(tags::history(upstream));
                    t.out.push(tags::playlists(upstream));
                }
            }
            Change::Updated => {
                t.items(own);
                t.lists();
                // A section's plain listing shows its top-level items (movies, shows,
                // artists): only their edits can reorder it. Without parents an item is
                // taken for top-level (the gateway adds the parents the index knows).
                if parents.is_empty() {
                    t.members();
                }
                t.out.push(tags::recent(upstream));
                // The sections list shows each section's update time; which sections there
                // are and their settings stay as they were.
                t.out.push(tags::section_times(upstream));
            }
            Change::ScanFinished => {
                match &self.section {
                    Some(_) => {
                        t.lists();
                        t.members();
                    }
                    // A scan of everything, or events possibly missed (a socket reconnected):
                    // anything may have changed, the live sessions too (a list the socket
                    // keeps fresh, whose announcements may be among those missed).
                    None => {
                        t.out.push(tags::library(upstream));
                        t.out.push(tags::sessions(upstream));
                    }
                }
                t.out.push(tags::recent(upstream));
                t.out.push(tags::sections(upstream));
            }
            // Play state shows with the item, its parents' viewed counts, and the lists that
            // filter or sort by it.
            Change::Played => {
                t.plays(own);
                t.plays(parents);
                t.lists();
                t.out.push(tags::ondeck(upstream));
                t.out.push(tags::history(upstream));
            }
            Change::PlaybackStopped => {
                t.plays(own);
                t.plays(parents);
                t.lists();
                t.out.push(tags::ondeck(upstream));
                t.out.push(tags::sessions(upstream));
            }
            Change::SessionChanged => t.out.push(tags::sessions(upstream)),
            // A rating shows with the item itself.
            Change::Rated => {
                t.plays(own);
                t.lists();
            }
            Change::OnDeck => t.out.push(tags::ondeck(upstream)),
            // No answer of the library's changed; the user's own are the gateway's to drop
            // (their scope's tag, which only it can name).
            Change::UserChanged => {}
        }
        t.finish()
    }
}

/// The tags of one event as [`ChangeEvent::tags`] writes them, and the groups of tags its
/// kinds of change share.
struct TagList<'a> {
    out: Vec<String>,
    upstream: &'a str,
    event: &'a ChangeEvent,
}

impl TagList<'_> {
    /// The items' own tags.
    fn items(&mut self, ids: &[String]) {
        let upstream = self.upstream;
        self.out
            .extend(ids.iter().map(|id| crate::tags::item(upstream, id)));
    }

    /// Play state as the configured owner token sees it (`oplays`) and as every other token
    /// does (`plays`; the owner's other devices have tokens of their own): counts change for
    /// everyone (an addition, a removal), a play by another user not for the owner.
    fn counts(&mut self, ids: &[String]) {
        for id in ids {
            self.out.push(crate::tags::owner_plays(self.upstream, id));
            self.out.push(crate::tags::plays(self.upstream, id));
        }
    }

    /// The play-state tags of a play: the owner's only when the owner played.
    fn plays(&mut self, ids: &[String]) {
        for id in ids {
            if self.event.by_owner != Some(false) {
                self.out.push(crate::tags::owner_plays(self.upstream, id));
            }
            self.out.push(crate::tags::plays(self.upstream, id));
        }
    }

    /// The lists that filter or sort by anything (play state included): their section's
    /// and those spanning sections; every list when the section is unknown.
    fn lists(&mut self) {
        match &self.event.section {
            Some(section) => {
                self.out.push(crate::tags::section(self.upstream, section));
                self.out.push(crate::tags::across(self.upstream));
            }
            None => self.out.push(crate::tags::listings(self.upstream)),
        }
    }

    /// The plain listings (which items, in which order).
    fn members(&mut self) {
        match &self.event.section {
            Some(section) => self.out.push(crate::tags::members(self.upstream, section)),
            None => self.out.push(crate::tags::listings(self.upstream)),
        }
    }

    /// The tags once each, in the order first written, with those every such event adds.
    fn finish(mut self) -> Vec<String> {
        let (event, upstream) = (self.event, self.upstream);
        // Answers too large to carry each item's tags carry this one.
        if !event.items.is_empty()
            && !matches!(
                event.change,
                Change::SessionChanged | Change::OnDeck | Change::UserChanged
            )
        {
            self.out.push(crate::tags::any_item(upstream));
        }
        if event.playlist {
            self.out.push(crate::tags::playlists(upstream));
        }
        let mut seen = std::collections::HashSet::new();
        self.out.retain(|tag| seen.insert(tag.clone()));
        self.out
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
    #[error("malformed JSON")]
    Json(#[from] serde_json::Error),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The multipart body has no `payload` part (Plex webhooks always send one).
    #[error("multipart body has no `payload` part")]
    MissingPayload,
    /// The multipart body could not be read; the HTTP framework's error is the source.
    #[error("malformed multipart body")]
    Multipart(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The request body could not be read (too large, cut short); the HTTP framework's error
    /// is the source.
    #[error("unreadable body")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
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
    fn played_touches_play_state_of_item_and_parents() {
        let event = ChangeEvent::new(Change::Played)
            .with_section(Some("2"))
            .with_items([Some("10")])
            .with_parents([Some("9"), Some("8")]);
        assert_eq!(
            event.tags("p"),
            vec![
                "p:oplays:10",
                "p:plays:10",
                "p:oplays:9",
                "p:plays:9",
                "p:oplays:8",
                "p:plays:8",
                "p:section:2",
                "p:across",
                "p:ondeck",
                "p:history",
                "p:items"
            ]
        );
    }

    #[test]
    fn updated_touches_the_item_not_its_parents() {
        let event = ChangeEvent::new(Change::Updated)
            .with_section(Some("2"))
            .with_items([Some("10")])
            .with_parents([Some("9"), Some("8")]);
        assert_eq!(
            event.tags("p"),
            vec![
                "p:item:10",
                "p:section:2",
                "p:across",
                "p:recent",
                "p:section-times",
                "p:items"
            ]
        );
        // A top-level item's edit may reorder the section's plain listing.
        let movie = ChangeEvent::new(Change::Updated)
            .with_section(Some("1"))
            .with_items([Some("5")]);
        assert!(movie.tags("p").contains(&"p:members:1".to_owned()));
    }

    #[test]
    fn a_play_by_another_user_spares_the_owners_answers() {
        let played = |by_owner| {
            ChangeEvent::new(Change::Played)
                .with_section(Some("2"))
                .with_items([Some("10")])
                .with_owner(by_owner)
                .tags("p")
        };
        let other = played(Some(false));
        assert!(other.contains(&"p:plays:10".to_owned()));
        assert!(!other.contains(&"p:oplays:10".to_owned()));
        for by_owner in [Some(true), None] {
            let tags = played(by_owner);
            assert!(tags.contains(&"p:plays:10".to_owned()), "{tags:?}");
            assert!(tags.contains(&"p:oplays:10".to_owned()), "{tags:?}");
        }
    }

    #[test]
    fn added_with_section_touches_that_section_only() {
        let event = ChangeEvent::new(Change::Added)
            .with_section(Some("3"))
            .with_items([Some("55")])
            .with_parents([Some("54")]);
        assert_eq!(
            event.tags("p"),
            vec![
                "p:item:55",
                "p:item:54",
                "p:oplays:54",
                "p:plays:54",
                "p:section:3",
                "p:across",
                "p:members:3",
                "p:recent",
                "p:sections",
                "p:items"
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
            .with_parents([Some("2")])
            .tags("p");
        assert!(
            !tags.contains(&"p:item:2".to_owned()),
            "the parent's own fields did not change: {tags:?}"
        );
        for want in [
            "p:plays:2",
            "p:oplays:2",
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
        assert_eq!(
            event.tags("p"),
            vec!["p:library", "p:sessions", "p:recent", "p:sections"]
        );
    }
}
