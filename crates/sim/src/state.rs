//! Users and everything they change: per-user play state, history, playlists, sessions, scans
//! in progress. One [`State`] lives behind a mutex in the [`crate::Sim`]; the write endpoints of
//! both front ends mutate it through [`crate::Sim`] methods, which also emit the change events.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::library::{
    Item, ItemId, LOSSLESS_MUSIC_SECTION, Library, MOVIES_SECTION, MUSIC_SECTION, SHOWS_SECTION,
    SectionKind,
};
use crate::rng::{mix, uuid_from};

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
}

/// What a server hides from one user inside the sections that user may see.
///
/// Plex keeps one filter per kind of section on a share (or on a managed user's restricted
/// profile): `filterMovies`, `filterTelevision`, `filterMusic`. Jellyfin keeps one policy per
/// user: `MaxParentalRating`, `BlockedTags`, `AllowedTags` (10.9 and later). Section access
/// itself is [`User::sections`] on both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Plex `filterMovies`.
    pub plex_movies: PlexFilter,
    /// Plex `filterTelevision`.
    pub plex_television: PlexFilter,
    /// Plex `filterMusic`.
    pub plex_music: PlexFilter,
    /// The Jellyfin user policy.
    pub jellyfin: JellyfinPolicy,
}

impl Restrictions {
    /// The Plex filter for a section of `kind`, `None` when it lets everything through.
    pub fn plex_filter(&self, kind: SectionKind) -> Option<&PlexFilter> {
        let f = match kind {
            SectionKind::Movies => &self.plex_movies,
            SectionKind::Shows => &self.plex_television,
            SectionKind::Music => &self.plex_music,
            // Plex's share filters cover movies, television and music only.
            SectionKind::Photos => return None,
        };
        (!f.is_open()).then_some(f)
    }

    fn plex_filters(&self) -> impl Iterator<Item = &PlexFilter> {
        [&self.plex_movies, &self.plex_television, &self.plex_music].into_iter()
    }
}

/// One Plex share filter, as plex.tv stores it: `label=a,b` (only items carrying one of the
/// labels), `label!=a` (none carrying it), `contentRating=G,PG` (only these ratings; an item
/// without a rating does not match) and `contentRating!=R`, joined with `|`. Labels and the
/// content rating reach down: an album's label hides its tracks, a show's rating its episodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlexFilter {
    /// `label=`: only items carrying one of these.
    pub allow_labels: Vec<String>,
    /// `label!=`: no item carrying one of these.
    pub deny_labels: Vec<String>,
    /// `contentRating=`: only items rated one of these.
    pub allow_ratings: Vec<String>,
    /// `contentRating!=`: no item rated one of these.
    pub deny_ratings: Vec<String>,
}

impl PlexFilter {
    /// Parses plex.tv's filter string (`label!=Explicit|contentRating=G,PG`); unknown fields
    /// are ignored, as Plex ignores them.
    pub fn parse(s: &str) -> PlexFilter {
        let mut f = PlexFilter::default();
        for clause in s.split('|').filter(|c| !c.is_empty()) {
            let (field, negated, values) = match clause.split_once("!=") {
                Some((field, values)) => (field, true, values),
                None => match clause.split_once('=') {
                    Some((field, values)) => (field, false, values),
                    None => continue,
                },
            };
            let values = values
                .split(',')
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            match (field, negated) {
                ("label", false) => f.allow_labels.extend(values),
                ("label", true) => f.deny_labels.extend(values),
                ("contentRating", false) => f.allow_ratings.extend(values),
                ("contentRating", true) => f.deny_ratings.extend(values),
                _ => {}
            }
        }
        f
    }

    /// The filter string plex.tv would show (`label!=Explicit|contentRating=G,PG`).
    pub fn to_plex_string(&self) -> String {
        let mut clauses = Vec::new();
        for (field, op, values) in [
            ("label", "=", &self.allow_labels),
            ("label", "!=", &self.deny_labels),
            ("contentRating", "=", &self.allow_ratings),
            ("contentRating", "!=", &self.deny_ratings),
        ] {
            if !values.is_empty() {
                clauses.push(format!("{field}{op}{}", values.join(",")));
            }
        }
        clauses.join("|")
    }

    /// True when the filter lets everything through.
    pub fn is_open(&self) -> bool {
        self.allow_labels.is_empty()
            && self.deny_labels.is_empty()
            && self.allow_ratings.is_empty()
            && self.deny_ratings.is_empty()
    }

    /// True when `item` passes (its own and its ancestors' labels, its effective rating).
    pub fn allows(&self, item: &Item<'_>) -> bool {
        let has = |wanted: &[String]| {
            item.lineage()
                .any(|i| i.labels().iter().any(|l| wanted.iter().any(|w| w == l)))
        };
        if !self.allow_labels.is_empty() && !has(&self.allow_labels) {
            return false;
        }
        if !self.deny_labels.is_empty() && has(&self.deny_labels) {
            return false;
        }
        let rating = item.effective_content_rating();
        if !self.allow_ratings.is_empty()
            && !rating.is_some_and(|r| self.allow_ratings.iter().any(|a| a == r))
        {
            return false;
        }
        !rating.is_some_and(|r| self.deny_ratings.iter().any(|d| d == r))
    }
}

/// A Jellyfin user's parental policy. `BlockedTags` and `AllowedTags` match an item's own tags
/// and those it inherits from its ancestors (a blocked album hides its tracks; an allowed
/// show lets its episodes through); `MaxParentalRating` compares the rating's value, an
/// episode taking its series' rating, and lets unrated items through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JellyfinPolicy {
    /// `MaxParentalRating` (a rating value: PG 10, PG-13 13, TV-14 14, R 17).
    pub max_parental_rating: Option<u32>,
    /// `BlockedTags`.
    pub blocked_tags: Vec<String>,
    /// `AllowedTags`: when not empty, only items reached by one of these.
    pub allowed_tags: Vec<String>,
}

impl JellyfinPolicy {
    /// True when the policy lets everything through.
    pub fn is_open(&self) -> bool {
        self.max_parental_rating.is_none()
            && self.blocked_tags.is_empty()
            && self.allowed_tags.is_empty()
    }

    /// True when `item` passes.
    pub fn allows(&self, item: &Item<'_>) -> bool {
        let has = |wanted: &[String]| {
            item.lineage().any(|i| {
                i.labels()
                    .iter()
                    .any(|l| wanted.iter().any(|w| w.eq_ignore_ascii_case(l)))
            })
        };
        if !self.allowed_tags.is_empty() && !has(&self.allowed_tags) {
            return false;
        }
        if !self.blocked_tags.is_empty() && has(&self.blocked_tags) {
            return false;
        }
        match (self.max_parental_rating, item.effective_content_rating()) {
            (Some(max), Some(rating)) => parental_rating_value(rating).is_none_or(|v| v <= max),
            _ => true,
        }
    }
}

/// The value Jellyfin gives a US content rating (`None`: unrated, as `NR` is).
pub fn parental_rating_value(rating: &str) -> Option<u32> {
    match rating {
        "G" | "TV-Y" | "TV-G" => Some(0),
        "TV-Y7" => Some(7),
        "PG" | "TV-PG" => Some(10),
        "PG-13" => Some(13),
        "TV-14" => Some(14),
        "R" | "TV-MA" => Some(17),
        "NC-17" => Some(18),
        _ => None,
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

    /// A user's playlists (the owner's own; shared users see only theirs).
    pub fn playlists(&self, user: u32) -> Vec<&Playlist> {
        self.playlists
            .values()
            .filter(|p| p.owner == user)
            .collect()
    }

    /// A playlist if `user` owns it.
    pub fn playlist(&self, user: u32, id: u32) -> Option<&Playlist> {
        self.playlists.get(&id).filter(|p| p.owner == user)
    }

    fn playlist_mut(&mut self, user: u32, id: u32) -> Result<&mut Playlist, StateError> {
        self.playlists
            .get_mut(&id)
            .filter(|p| p.owner == user)
            .ok_or(StateError::NoSuchPlaylist(id))
    }

    fn entries(&mut self, items: &[ItemId]) -> Vec<PlaylistEntry> {
        items
            .iter()
            .map(|&item| {
                let entry_id = self.next_entry;
                self.next_entry += 1;
                PlaylistEntry { entry_id, item }
            })
            .collect()
    }

    /// Creates a playlist; returns its id.
    pub fn create_playlist(
        &mut self,
        owner: u32,
        title: &str,
        kind: PlaylistKind,
        smart: bool,
        items: &[ItemId],
        now: u32,
    ) -> u32 {
        let id = self.next_playlist;
        self.next_playlist += 1;
        let items = self.entries(items);
        self.playlists.insert(
            id,
            Playlist {
                id,
                owner,
                title: title.to_string(),
                summary: String::new(),
                kind,
                smart,
                content: None,
                title_sort: None,
                locked: Vec::new(),
                source: None,
                items,
                added_at: now,
                updated_at: now,
            },
        );
        id
    }

    /// Applies `change` to a user's playlist and stamps its update time.
    pub fn update_playlist(
        &mut self,
        user: u32,
        id: u32,
        now: u32,
        change: impl FnOnce(&mut Playlist),
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        change(p);
        p.updated_at = now;
        Ok(())
    }

    /// Replaces a playlist's items (a smart playlist whose query changed).
    pub fn replace_playlist_items(
        &mut self,
        user: u32,
        id: u32,
        items: &[ItemId],
        now: u32,
    ) -> Result<(), StateError> {
        let entries = self.entries(items);
        self.update_playlist(user, id, now, |p| p.items = entries)
    }

    /// Appends items.
    pub fn add_to_playlist(
        &mut self,
        user: u32,
        id: u32,
        items: &[ItemId],
        now: u32,
    ) -> Result<(), StateError> {
        self.playlist_mut(user, id)?;
        let entries = self.entries(items);
        let p = self.playlist_mut(user, id)?;
        p.items.extend(entries);
        p.updated_at = now;
        Ok(())
    }

    /// Removes one entry.
    pub fn remove_from_playlist(
        &mut self,
        user: u32,
        id: u32,
        entry: u32,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        let pos = p
            .items
            .iter()
            .position(|e| e.entry_id == entry)
            .ok_or(StateError::NoSuchEntry(entry))?;
        p.items.remove(pos);
        p.updated_at = now;
        Ok(())
    }

    /// Moves an entry after another (`None` = to the front).
    pub fn move_in_playlist(
        &mut self,
        user: u32,
        id: u32,
        entry: u32,
        after: Option<u32>,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        let pos = p
            .items
            .iter()
            .position(|e| e.entry_id == entry)
            .ok_or(StateError::NoSuchEntry(entry))?;
        if let Some(a) = after
            && !p.items.iter().any(|e| e.entry_id == a)
        {
            return Err(StateError::NoSuchEntry(a));
        }
        let moved = p.items.remove(pos);
        let at = match after {
            None => 0,
            Some(a) => p
                .items
                .iter()
                .position(|e| e.entry_id == a)
                .map(|i| i + 1)
                .unwrap_or(p.items.len()),
        };
        p.items.insert(at, moved);
        p.updated_at = now;
        Ok(())
    }

    /// Moves an entry to index `to` (Jellyfin's move).
    pub fn move_in_playlist_to(
        &mut self,
        user: u32,
        id: u32,
        entry: u32,
        to: usize,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        let pos = p
            .items
            .iter()
            .position(|e| e.entry_id == entry)
            .ok_or(StateError::NoSuchEntry(entry))?;
        let moved = p.items.remove(pos);
        let at = to.min(p.items.len());
        p.items.insert(at, moved);
        p.updated_at = now;
        Ok(())
    }

    /// Removes every entry.
    pub fn clear_playlist(&mut self, user: u32, id: u32, now: u32) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        p.items.clear();
        p.updated_at = now;
        Ok(())
    }

    /// Changes title and/or summary.
    pub fn edit_playlist(
        &mut self,
        user: u32,
        id: u32,
        title: Option<&str>,
        summary: Option<&str>,
        now: u32,
    ) -> Result<(), StateError> {
        let p = self.playlist_mut(user, id)?;
        if let Some(t) = title {
            p.title = t.to_string();
        }
        if let Some(s) = summary {
            p.summary = s.to_string();
        }
        p.updated_at = now;
        Ok(())
    }

    /// Deletes a playlist.
    pub fn delete_playlist(&mut self, user: u32, id: u32) -> Result<(), StateError> {
        self.playlist_mut(user, id)?;
        self.playlists.remove(&id);
        Ok(())
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
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_resolve() {
        let s = State::new(1);
        let tokens: BTreeSet<&str> = s.users().iter().map(|u| u.plex_token.as_str()).collect();
        assert_eq!(tokens.len(), 7);
        assert_eq!(
            s.user_by_plex_token(&s.users()[2].plex_token).map(|u| u.id),
            Some(3)
        );
        assert!(s.user_by_plex_token("").is_none());
        assert!(s.user_by_plex_token("nope").is_none());
        assert_ne!(State::new(2).owner().plex_token, s.owner().plex_token);
    }

    #[test]
    fn play_state_is_per_user() {
        let mut s = State::new(1);
        s.scrobble(2, 10, 100);
        assert_eq!(s.play_state(2, 10).view_count, 1);
        assert_eq!(s.play_state(3, 10).view_count, 0);
        assert_eq!(s.history(Some(2)).len(), 1);
        assert!(s.history(Some(3)).is_empty());
    }

    #[test]
    fn playlist_moves() {
        let mut s = State::new(1);
        let id = s.create_playlist(1, "p", PlaylistKind::Audio, false, &[10, 11, 12], 1);
        let entries: Vec<u32> = s
            .playlist(1, id)
            .map(|p| p.items.iter().map(|e| e.entry_id).collect())
            .unwrap_or_default();
        s.move_in_playlist(1, id, entries[2], None, 2)
            .expect("move");
        let items: Vec<ItemId> = s
            .playlist(1, id)
            .map(|p| p.items.iter().map(|e| e.item).collect())
            .unwrap_or_default();
        assert_eq!(items, vec![12, 10, 11]);
        s.move_in_playlist(1, id, entries[2], Some(entries[1]), 3)
            .expect("move");
        let items: Vec<ItemId> = s
            .playlist(1, id)
            .map(|p| p.items.iter().map(|e| e.item).collect())
            .unwrap_or_default();
        assert_eq!(items, vec![10, 11, 12]);
        assert_eq!(
            s.move_in_playlist(2, id, entries[0], None, 4),
            Err(StateError::NoSuchPlaylist(id))
        );
    }
}
