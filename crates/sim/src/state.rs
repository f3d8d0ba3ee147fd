//! Users and everything they change: per-user play state, history, playlists, sessions, scans
//! in progress. One [`State`] lives behind a mutex in the [`crate::Sim`]; the write endpoints of
//! both front ends mutate it through [`crate::Sim`] methods, which also emit the change events.
//!
//! # Map
//! This file holds users, play state, history, sessions and activities; `restrictions` is what
//! a user may see, `playlists` the playlist changes. Tests are in `state/tests.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::library::{
    Item, ItemId, LOSSLESS_MUSIC_SECTION, Library, MOVIES_SECTION, MUSIC_SECTION, SHOWS_SECTION,
    SectionKind,
};
use crate::rng::{mix, uuid_from};

mod playbacks;
mod playlists;
mod restrictions;
pub use playbacks::PlaybackRecord;
pub use restrictions::*;

/// A user of the simulated server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Server-local account id (the owner is 1, as in Plex webhooks).
    pub id: u32,
    /// Login name (Jellyfin `AuthenticateByName`) and display name.
    pub name: String,
    /// Password for Jellyfin authentication.
    pub password: String,
    /// The user's Plex server token (`X-Plex-Token`).
    pub plex_token: String,
    /// A ready Jellyfin access token (what `AuthenticateByName` hands out first).
    pub jellyfin_token: String,
    /// GUID-like user id for Jellyfin (32 hex digits).
    pub jellyfin_id: String,
    /// The server owner (admin); sees everything.
    pub is_owner: bool,
    /// Sections the user may see; `None` = all.
    pub sections: Option<Vec<u32>>,
    /// A managed user of the owner's Plex Home (a restricted profile rather than a share).
    pub home: bool,
    /// What the servers hide from this user inside the sections they may see.
    pub restrictions: Restrictions,
}

impl User {
    /// True when the user may see section `id`.
    pub fn can_see_section(&self, id: u32) -> bool {
        self.sections.as_ref().is_none_or(|s| s.contains(&id))
    }

    /// True when the Plex front end shows `item` to this user: its section is shared with
    /// them and the share's filter for that kind of section lets it through.
    pub fn plex_sees(&self, item: &Item<'_>) -> bool {
        let section = item.section();
        self.can_see_section(section.id)
            && self
                .restrictions
                .plex_filter(section.kind)
                .is_none_or(|f| f.allows(item))
    }

    /// True when the Jellyfin front end shows `item` to this user: the library is among the
    /// user's enabled folders and the parental policy lets it through.
    pub fn jellyfin_sees(&self, item: &Item<'_>) -> bool {
        self.can_see_section(item.section().id) && self.restrictions.jellyfin.allows(item)
    }

    /// True when some Plex share filter applies to this user (item-level checks needed).
    pub fn plex_restricted(&self) -> bool {
        self.restrictions.plex_filters().any(|f| !f.is_open())
    }

    /// True when a Jellyfin parental policy applies to this user.
    pub fn jellyfin_restricted(&self) -> bool {
        !self.restrictions.jellyfin.is_open()
    }

    /// The user's access token on the simulated Emby server: derived from their Jellyfin
    /// token, so each server has its own and neither works on the other.
    pub fn emby_token(&self) -> String {
        let digest = sha1_smol::Sha1::from(format!("emby:{}", self.jellyfin_token))
            .digest()
            .to_string();
        digest[..32].to_owned()
    }
}

/// One user's state for one item.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlayState {
    /// Completed plays.
    pub view_count: u32,
    /// Resume position in milliseconds (0 = none).
    pub view_offset_ms: u32,
    /// Epoch seconds of the last play or progress report (0 = never).
    pub last_viewed_at: u32,
    /// User rating 0–10 (`None` = unrated).
    pub rating: Option<f32>,
    /// Epoch seconds of the last rating (0 = never; Plex `lastRatedAt`).
    pub last_rated_at: u32,
    /// Skips (Plex `skipCount`).
    pub skip_count: u32,
    /// Jellyfin favourite flag.
    pub favorite: bool,
}

/// One completed play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEntry {
    /// History id (Plex `historyKey`).
    pub id: u64,
    /// Who played it.
    pub user: u32,
    /// What.
    pub item: ItemId,
    /// When (epoch seconds).
    pub viewed_at: u32,
}

/// Audio, video or photo playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistKind {
    /// Tracks.
    Audio,
    /// Movies and episodes.
    Video,
    /// Photos.
    Photo,
}

impl PlaylistKind {
    /// Plex's `playlistType`.
    pub fn plex_name(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Photo => "photo",
        }
    }
}

/// One entry of a playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaylistEntry {
    /// Plex `playlistItemID` / Jellyfin `PlaylistItemId`; unique over the whole server.
    pub entry_id: u32,
    /// The item.
    pub item: ItemId,
}

/// A user's playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Playlist {
    /// Id, above [`PLAYLIST_ID_BASE`] so it never collides with a library item.
    pub id: u32,
    /// Owner user id.
    pub owner: u32,
    /// Title.
    pub title: String,
    /// Description.
    pub summary: String,
    /// Audio or video.
    pub kind: PlaylistKind,
    /// Smart playlists are defined by a query; the simulator stores their resolved items.
    pub smart: bool,
    /// A smart playlist's query (Plex `content`: `/library/sections/{id}/all?…`).
    pub content: Option<String>,
    /// Sort title, when it was set apart from the title.
    pub title_sort: Option<String>,
    /// Fields locked by edits (Plex `Field locked="1"`).
    pub locked: Vec<String>,
    /// The playlist file it was imported from (Plex `/playlists/upload`).
    pub source: Option<String>,
    /// Entries in order.
    pub items: Vec<PlaylistEntry>,
    /// Epoch seconds.
    pub added_at: u32,
    /// Epoch seconds of the last change.
    pub updated_at: u32,
}

/// Playlist ids start here (library ids are dense from 1).
pub const PLAYLIST_ID_BASE: u32 = 2_000_000_000;

/// What a player reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackState {
    /// Playing.
    Playing,
    /// Paused.
    Paused,
    /// Buffering.
    Buffering,
    /// Stopped: the session ends.
    Stopped,
}

impl PlaybackState {
    /// Plex's name (`playing`, `paused`, `buffering`, `stopped`).
    pub fn plex_name(self) -> &'static str {
        match self {
            Self::Playing => "playing",
            Self::Paused => "paused",
            Self::Buffering => "buffering",
            Self::Stopped => "stopped",
        }
    }

    /// Parses Plex's name.
    pub fn from_plex_name(s: &str) -> Option<Self> {
        Some(match s {
            "playing" => Self::Playing,
            "paused" => Self::Paused,
            "buffering" => Self::Buffering,
            "stopped" => Self::Stopped,
            _ => return None,
        })
    }
}

/// A playback session (`/status/sessions`, Jellyfin `/Sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session key.
    pub session_key: u32,
    /// User id.
    pub user: u32,
    /// Item being played.
    pub item: ItemId,
    /// Player state.
    pub state: PlaybackState,
    /// Position in milliseconds.
    pub view_offset_ms: u32,
    /// The client's identifier (`X-Plex-Client-Identifier` / `DeviceId`).
    pub client_id: String,
    /// The client's product name.
    pub product: String,
    /// Epoch seconds of the last report.
    pub updated_at: u32,
}

/// A server activity (a scan in progress).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// UUID.
    pub uuid: String,
    /// Plex activity type, e.g. `library.update.section`.
    pub kind: String,
    /// Title, e.g. `Scanning Music`.
    pub title: String,
    /// Percent done (0–100).
    pub progress: u32,
    /// Section being scanned.
    pub section: u32,
}

/// All mutable per-user and server state.
#[derive(Debug)]
pub struct State {
    users: Vec<User>,
    play: HashMap<(u32, ItemId), PlayState>,
    history: Vec<HistoryEntry>,
    /// Playbacks started and stopped (Jellyfin's activity log lists them).
    playbacks: playbacks::PlaybackLog,
    playlists: BTreeMap<u32, Playlist>,
    sessions: Vec<Session>,
    activities: Vec<Activity>,
    /// Extra Jellyfin tokens handed out by `AuthenticateByName`, token → user id.
    issued_tokens: BTreeMap<String, u32>,
    /// Tokens the server refuses for now (signed out, device removed, share revoked).
    revoked: BTreeSet<String>,
    next_history: u64,
    next_playlist: u32,
    next_entry: u32,
    next_session: u32,
    next_activity: u64,
    seed: u64,
}

/// Errors of state mutations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    /// No such playlist, or not the user's.
    #[error("no playlist {0}")]
    NoSuchPlaylist(u32),
    /// No such playlist entry.
    #[error("no playlist entry {0}")]
    NoSuchEntry(u32),
}

fn token(seed: u64, salt: u64, len: usize, alphabet: &[u8]) -> String {
    let mut x = mix(seed ^ salt);
    (0..len)
        .map(|_| {
            x = mix(x);
            char::from(alphabet[(x % alphabet.len() as u64) as usize])
        })
        .collect()
}

const PLEX_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_";
const HEX: &[u8] = b"0123456789abcdef";

impl State {
    /// The default users: `admin` (owner, everything), `alice` (everything), `bob` (music only)
    /// and `kid` (movies and shows only), then three whose servers hide items inside their
    /// sections:
    /// - `carol`, shared everything but what is labelled `Explicit` (Plex `filterMusic` and
    ///   `filterMovies` `label!=Explicit`; Jellyfin `BlockedTags` `Explicit`);
    /// - `dave`, limited by content rating (Plex movies `contentRating=G,PG,PG-13`, television
    ///   `contentRating!=R,TV-MA`; Jellyfin `MaxParentalRating` 13);
    /// - `emma`, a managed Plex Home user with music and movies only (Plex music
    ///   `label=Family`, movies `contentRating=G,PG`; Jellyfin `AllowedTags` `Family` and
    ///   `MaxParentalRating` 10).
    ///
    /// Tokens derive from the seed; passwords are `<name>-password`.
    pub fn new(seed: u64) -> Self {
        let mk = |id: u32, name: &str, owner: bool, sections: Option<Vec<u32>>| User {
            id,
            name: name.to_string(),
            password: format!("{name}-password"),
            plex_token: token(seed, 0x504C_4558 + u64::from(id), 20, PLEX_ALPHABET),
            jellyfin_token: token(seed, 0x4A46_0000 + u64::from(id), 32, HEX),
            jellyfin_id: uuid_from(seed ^ 0x5553_4552 ^ u64::from(id) << 8).replace('-', ""),
            is_owner: owner,
            sections,
            home: false,
            restrictions: Restrictions::default(),
        };
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let carol = User {
            restrictions: Restrictions {
                plex_music: PlexFilter::parse("label!=Explicit"),
                plex_movies: PlexFilter::parse("label!=Explicit"),
                jellyfin: JellyfinPolicy {
                    blocked_tags: strings(&["Explicit"]),
                    ..JellyfinPolicy::default()
                },
                ..Restrictions::default()
            },
            ..mk(5, "carol", false, None)
        };
        let dave = User {
            restrictions: Restrictions {
                plex_movies: PlexFilter::parse("contentRating=G,PG,PG-13"),
                plex_television: PlexFilter::parse("contentRating!=R,TV-MA"),
                jellyfin: JellyfinPolicy {
                    max_parental_rating: Some(13),
                    ..JellyfinPolicy::default()
                },
                ..Restrictions::default()
            },
            ..mk(6, "dave", false, None)
        };
        let emma = User {
            home: true,
            restrictions: Restrictions {
                plex_music: PlexFilter::parse("label=Family"),
                plex_movies: PlexFilter::parse("contentRating=G,PG"),
                jellyfin: JellyfinPolicy {
                    max_parental_rating: Some(10),
                    allowed_tags: strings(&["Family"]),
                    ..JellyfinPolicy::default()
                },
                ..Restrictions::default()
            },
            ..mk(
                7,
                "emma",
                false,
                Some(vec![MUSIC_SECTION, LOSSLESS_MUSIC_SECTION, MOVIES_SECTION]),
            )
        };
        let users = vec![
            mk(1, "admin", true, None),
            mk(2, "alice", false, None),
            mk(
                3,
                "bob",
                false,
                Some(vec![MUSIC_SECTION, LOSSLESS_MUSIC_SECTION]),
            ),
            mk(4, "kid", false, Some(vec![MOVIES_SECTION, SHOWS_SECTION])),
            carol,
            dave,
            emma,
        ];
        Self {
            users,
            play: HashMap::new(),
            history: Vec::new(),
            playbacks: playbacks::PlaybackLog::default(),
            playlists: BTreeMap::new(),
            sessions: Vec::new(),
            activities: Vec::new(),
            issued_tokens: BTreeMap::new(),
            revoked: BTreeSet::new(),
            next_history: 1,
            next_playlist: PLAYLIST_ID_BASE,
            next_entry: 1,
            next_session: 1,
            next_activity: 1,
            seed,
        }
    }

    /// Forgets all play state, history, playlists, sessions and issued tokens (users stay).
    pub fn reset(&mut self) {
        *self = Self::new(self.seed);
    }

    /// All users, owner first.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Replaces what the servers hide from user `id` (the owner editing a share or a policy:
    /// neither server sends an event for it). False when there is no such user.
    pub fn set_restrictions(&mut self, id: u32, restrictions: Restrictions) -> bool {
        match self.users.iter_mut().find(|u| u.id == id) {
            Some(user) => {
                user.restrictions = restrictions;
                true
            }
            None => false,
        }
    }

    /// Replaces the sections user `id` may see (`None`: all), as the owner changing a share
    /// does. False when there is no such user.
    pub fn set_sections(&mut self, id: u32, sections: Option<Vec<u32>>) -> bool {
        match self.users.iter_mut().find(|u| u.id == id) {
            Some(user) => {
                user.sections = sections;
                true
            }
            None => false,
        }
    }

    /// The owner.
    pub fn owner(&self) -> &User {
        // `new` always creates the owner first.
        &self.users[0]
    }

    /// A user by id.
    pub fn user(&self, id: u32) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user a Plex token belongs to.
    pub fn user_by_plex_token(&self, token: &str) -> Option<&User> {
        if token.is_empty() || self.revoked.contains(token) {
            return None;
        }
        self.users.iter().find(|u| u.plex_token == token)
    }

    /// Whether the server refuses `token` for now ([`State::revoke_token`]).
    pub fn is_revoked(&self, token: &str) -> bool {
        self.revoked.contains(token)
    }

    /// The user a Jellyfin token belongs to (built-in or issued by authentication).
    pub fn user_by_jellyfin_token(&self, token: &str) -> Option<&User> {
        if token.is_empty() || self.revoked.contains(token) {
            return None;
        }
        if let Some(u) = self.users.iter().find(|u| u.jellyfin_token == token) {
            return Some(u);
        }
        self.issued_tokens.get(token).and_then(|id| self.user(*id))
    }

    /// A user by Jellyfin id (case-insensitive, with or without dashes).
    pub fn user_by_jellyfin_id(&self, id: &str) -> Option<&User> {
        let clean: String = id
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_lowercase();
        self.users.iter().find(|u| u.jellyfin_id == clean)
    }

    /// A user by name (case-insensitive, as Jellyfin does).
    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }

    /// From now on the server refuses `token` (401), as after a sign-out or a revoked share.
    pub fn revoke_token(&mut self, token: &str) {
        self.revoked.insert(token.to_string());
    }

    /// The server accepts `token` again.
    pub fn restore_token(&mut self, token: &str) {
        self.revoked.remove(token);
    }

    /// Records a new Jellyfin access token for `user` (after a successful login).
    pub fn issue_jellyfin_token(&mut self, user: u32) -> String {
        let n = self.issued_tokens.len() as u64;
        let t = token(self.seed, 0x1550_0000 + n * 131 + u64::from(user), 32, HEX);
        self.issued_tokens.insert(t.clone(), user);
        t
    }

    /// The user's state for an item (default when never touched).
    pub fn play_state(&self, user: u32, item: ItemId) -> PlayState {
        self.play.get(&(user, item)).copied().unwrap_or_default()
    }

    fn play_mut(&mut self, user: u32, item: ItemId) -> &mut PlayState {
        self.play.entry((user, item)).or_default()
    }

    /// Marks played: viewCount + 1, resume position cleared, a history entry.
    pub fn scrobble(&mut self, user: u32, item: ItemId, now: u32) -> PlayState {
        let id = self.next_history;
        self.next_history += 1;
        self.history.push(HistoryEntry {
            id,
            user,
            item,
            viewed_at: now,
        });
        let p = self.play_mut(user, item);
        p.view_count += 1;
        p.view_offset_ms = 0;
        p.last_viewed_at = now;
        *p
    }

    /// Marks played without a play (Plex's `/:/scrobble`): viewCount + 1, resume position
    /// cleared, and no history entry — Plex's history lists plays, not marks.
    pub fn mark_played(&mut self, user: u32, item: ItemId, now: u32) -> PlayState {
        let p = self.play_mut(user, item);
        p.view_count += 1;
        p.view_offset_ms = 0;
        p.last_viewed_at = now;
        *p
    }

    /// Marks unplayed: viewCount 0, no resume position.
    pub fn unscrobble(&mut self, user: u32, item: ItemId) -> PlayState {
        let p = self.play_mut(user, item);
        p.view_count = 0;
        p.view_offset_ms = 0;
        p.last_viewed_at = 0;
        *p
    }

    /// Records a resume position.
    pub fn set_progress(&mut self, user: u32, item: ItemId, offset_ms: u32, now: u32) -> PlayState {
        let p = self.play_mut(user, item);
        p.view_offset_ms = offset_ms;
        p.last_viewed_at = now;
        *p
    }

    /// Sets (Some) or clears (None) the rating.
    pub fn rate(&mut self, user: u32, item: ItemId, rating: Option<f32>, now: u32) -> PlayState {
        let p = self.play_mut(user, item);
        p.rating = rating;
        if rating.is_some() {
            p.last_rated_at = now;
        }
        *p
    }

    /// Sets Jellyfin's favourite flag.
    pub fn set_favorite(&mut self, user: u32, item: ItemId, favorite: bool) -> PlayState {
        let p = self.play_mut(user, item);
        p.favorite = favorite;
        *p
    }

    /// History, newest first, optionally for one user.
    pub fn history(&self, user: Option<u32>) -> Vec<HistoryEntry> {
        let mut h: Vec<HistoryEntry> = self
            .history
            .iter()
            .filter(|e| user.is_none_or(|u| u == e.user))
            .copied()
            .collect();
        h.sort_by(|a, b| b.viewed_at.cmp(&a.viewed_at).then(b.id.cmp(&a.id)));
        h
    }

    /// "On deck" / continue watching for a user: items in progress (newest first), then the
    /// next unwatched episode of each show the user has watched an episode of.
    pub fn on_deck(&self, user: u32, lib: &Library) -> Vec<ItemId> {
        let mut in_progress: Vec<(u32, ItemId)> = self
            .play
            .iter()
            .filter(|((u, _), p)| *u == user && p.view_offset_ms > 0)
            .filter(|((_, item), _)| lib.item(*item).is_some_and(|i| i.kind().is_playable()))
            .map(|((_, item), p)| (p.last_viewed_at, *item))
            .collect();
        in_progress.sort_by(|a, b| b.cmp(a));
        let mut out: Vec<ItemId> = in_progress.iter().map(|x| x.1).collect();
        // Next episodes: for each show with a watched episode, the first unwatched one after it.
        let mut shows: BTreeMap<ItemId, (u32, ItemId)> = BTreeMap::new();
        for ((u, item), p) in &self.play {
            if *u != user || p.view_count == 0 {
                continue;
            }
            if let Some(ep) = lib.item(*item)
                && ep.kind() == crate::library::ItemKind::Episode
                && let Some(show) = ep.grandparent()
            {
                let e = shows.entry(show.id()).or_insert((0, 0));
                if p.last_viewed_at >= e.0 {
                    *e = (p.last_viewed_at, *item);
                }
            }
        }
        let mut next: Vec<(u32, ItemId)> = Vec::new();
        for (show, (when, last)) in shows {
            let eps = lib.leaves(show);
            if let Some(pos) = eps.iter().position(|&e| e == last)
                && let Some(&n) = eps[pos + 1..]
                    .iter()
                    .find(|&&e| self.play_state(user, e).view_count == 0)
                && !out.contains(&n)
            {
                next.push((when, n));
            }
        }
        next.sort_by(|a, b| b.cmp(a));
        out.extend(next.into_iter().map(|x| x.1));
        out
    }

    /// Live sessions (all users).
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// Records a player report; a `Stopped` state ends the session. Returns the session key.
    #[allow(clippy::too_many_arguments)]
    pub fn report_playback(
        &mut self,
        user: u32,
        item: ItemId,
        state: PlaybackState,
        offset_ms: u32,
        client_id: &str,
        product: &str,
        now: u32,
    ) -> u32 {
        let pos = self
            .sessions
            .iter()
            .position(|s| s.user == user && s.client_id == client_id);
        // A playback's start and its stop are logged (Jellyfin's activity log).
        let started = pos.is_none_or(|i| self.sessions[i].item != item);
        if state == PlaybackState::Stopped || started {
            self.log_playback(user, item, state == PlaybackState::Stopped, product, now);
        }
        let key = match pos {
            Some(i) if self.sessions[i].item == item => self.sessions[i].session_key,
            _ => {
                let k = self.next_session;
                self.next_session += 1;
                k
            }
        };
        if let Some(i) = pos {
            self.sessions.remove(i);
        }
        if state != PlaybackState::Stopped {
            self.sessions.push(Session {
                session_key: key,
                user,
                item,
                state,
                view_offset_ms: offset_ms,
                client_id: client_id.to_string(),
                product: product.to_string(),
                updated_at: now,
            });
        }
        key
    }

    /// Running activities.
    pub fn activities(&self) -> &[Activity] {
        &self.activities
    }

    /// Starts a scan activity; returns its UUID.
    pub fn start_activity(&mut self, section: u32, title: &str) -> String {
        let uuid = uuid_from(self.seed ^ 0x4143_5400_0000 ^ self.next_activity);
        self.next_activity += 1;
        self.activities.push(Activity {
            uuid: uuid.clone(),
            kind: "library.update.section".to_string(),
            title: title.to_string(),
            progress: 0,
            section,
        });
        uuid
    }

    /// Updates an activity's progress.
    pub fn update_activity(&mut self, uuid: &str, progress: u32) {
        if let Some(a) = self.activities.iter_mut().find(|a| a.uuid == uuid) {
            a.progress = progress.min(100);
        }
    }

    /// Ends an activity.
    pub fn end_activity(&mut self, uuid: &str) -> Option<Activity> {
        let pos = self.activities.iter().position(|a| a.uuid == uuid)?;
        Some(self.activities.remove(pos))
    }

    /// True while a scan of `section` runs.
    pub fn is_scanning(&self, section: u32) -> bool {
        self.activities.iter().any(|a| a.section == section)
    }

    /// Sections being scanned.
    pub fn scanning_sections(&self) -> BTreeSet<u32> {
        self.activities.iter().map(|a| a.section).collect()
    }
}

#[cfg(test)]
mod tests;
