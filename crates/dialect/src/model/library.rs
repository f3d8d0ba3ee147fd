//! The words the library index and the servers' dialects share: a server's sections as its
//! crawl lists them ([`SectionInfo`]), the sections one user may see ([`UserSections`]), and
//! the hits of the copy's title search ([`TitleHit`], [`Rank`]) its answers are written from.
//! A dialect reads them out of its server's answers
//! ([`crate::ServerLibrary`]); the index keeps and reports them. Here, in the leaf,
//! so that neither side imports the other for them.

use cachearr_library::index::ItemNo;
use serde::{Deserialize, Serialize};

/// How a title matched the query (best first), as both servers' simple rankers order it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// The whole title.
    Exact = 0,
    /// The start of the title.
    Prefix = 1,
    /// Anywhere in the title (or, for Jellyfin items, in the original title).
    Contains = 2,
}

/// One match of the copy's title search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TitleHit {
    /// The item.
    pub item: ItemNo,
    /// How it matched.
    pub rank: Rank,
}

/// One library section (Plex section, Jellyfin library), as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionInfo {
    /// The server's id (Plex section key, Jellyfin library item id).
    pub id: String,
    /// Its title.
    pub title: String,
    /// `music`, `movies`, `shows` or `other` (not crawled).
    pub kind: String,
    /// The server's mark of the section's last change of content (Plex `contentChangedAt`),
    /// where it keeps one: equal marks say nothing was added, edited or removed between two
    /// readings of the sections list. (Always written: the build journal's encoding,
    /// postcard, knows no absent field; `default` reads older JSON metadata without it.)
    #[serde(default)]
    pub changed_at: Option<i64>,
}

/// One section (library) the user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSection {
    /// Plex section key / Jellyfin library id (as the index's `section_id`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Plex `type` (`artist`, `movie`, `show`, `photo`) or Jellyfin `CollectionType`
    /// (`music`, `movies`, `tvshows` …).
    pub kind: String,
    /// Plex section `uuid`.
    pub uuid: Option<String>,
}

/// The sections a user may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSections {
    /// In the server's order.
    pub sections: Vec<UserSection>,
}

impl UserSections {
    /// The section with this id, if the user may see it.
    pub fn get(&self, id: &str) -> Option<&UserSection> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// Every visible section id.
    pub fn ids(&self) -> Vec<&str> {
        self.sections.iter().map(|s| s.id.as_str()).collect()
    }
}

/// One of the requests that watch a user's play state ([`crate::Dialect::play_state_probes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayStateProbe {
    /// A page of one item or none whose answer changes with any change of the list.
    pub probe: String,
    /// The same list whole: what says which items changed.
    pub whole: String,
    /// The section the list is of, when it is one section's.
    pub section: Option<String>,
}

/// Where the server's list of every user's plays was read up to
/// ([`crate::Dialect::plays_since`]): the time of the newest play read, as the server writes
/// it (given back to it as the list's lower bound), and that play's id (ids grow with each
/// play recorded, so a play with a greater id is new).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayCursor {
    /// The newest play's time, in the server's own form.
    pub at: String,
    /// The newest play's id.
    pub id: u64,
}

/// Plays asked for per page of the list of every user's plays.
pub const PLAYS_PAGE: usize = 50;

/// One play in the server's list of every user's plays ([`crate::Dialect::played_entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayedEntry {
    /// The play's id (grows with each play recorded).
    pub id: u64,
    /// When, in the server's own form ([`PlayCursor::at`]).
    pub at: String,
    /// The item played, as the gateway's tags name it; empty for an entry of the list that
    /// is not a play (Jellyfin's activity log lists sign-ins too): it moves the cursor and
    /// announces nothing.
    pub item: String,
    /// Its parents named by the entry (album and artist; season and show).
    pub parents: Vec<String>,
    /// Its section, when the entry names it.
    pub section: Option<String>,
    /// Whether the server's owner played it (`None`: the entry does not say).
    pub by_owner: Option<bool>,
    /// The server's id of the user who played it, when the entry names it by that id
    /// (Jellyfin's `UserId`; whether that is the owner is then the gateway's to say).
    pub user: Option<String>,
}

/// What a play-state probe's answer says ([`crate::Dialect::play_state_digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeDigest {
    /// How many items its list holds and the play state of those it shows, as one number —
    /// not their titles or anything else an edit changes.
    pub state: u64,
    /// How many items the whole list holds, where the answer says: at zero the whole list is
    /// empty and need not be read.
    pub total: Option<u64>,
}

/// One item of a whole play-state list, as the gateway's tags name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayStateItem {
    /// Its id.
    pub id: String,
    /// Its parents' ids (album and artist; season and show), whose viewed counts follow it.
    pub parents: Vec<String>,
    /// A hash of the play state the list shows of it.
    pub state: u64,
}
