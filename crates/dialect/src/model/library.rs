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
#[derive(Debug, Clone, Default)]
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
