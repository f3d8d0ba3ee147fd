//! The server-neutral item record: what a crawler makes of a Plex `<Track>` or a Jellyfin
//! `Audio` item, and what the index gives back.

use serde::{Deserialize, Serialize};

/// What kind of library item a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemKind {
    /// A music track (Plex type 10, Jellyfin `Audio`).
    Track,
    /// A music album (Plex type 9, Jellyfin `MusicAlbum`).
    Album,
    /// A music artist (Plex type 8, Jellyfin `MusicArtist`).
    Artist,
    /// A movie (Plex type 1, Jellyfin `Movie`).
    Movie,
    /// A TV episode (Plex type 4, Jellyfin `Episode`).
    Episode,
    /// A TV show (Plex type 2). Indexed for the answers that list or count shows; the title
    /// search knows shows from their episodes.
    Show,
    /// A TV show's season (Plex type 3).
    Season,
}

impl ItemKind {
    /// Every kind, in the order of [`ItemKind::code`].
    pub const ALL: [ItemKind; 7] = [
        ItemKind::Track,
        ItemKind::Album,
        ItemKind::Artist,
        ItemKind::Movie,
        ItemKind::Episode,
        ItemKind::Show,
        ItemKind::Season,
    ];

    /// A stable small number for the kind (part of the snapshot format).
    pub fn code(self) -> u8 {
        match self {
            ItemKind::Track => 0,
            ItemKind::Album => 1,
            ItemKind::Artist => 2,
            ItemKind::Movie => 3,
            ItemKind::Episode => 4,
            ItemKind::Show => 5,
            ItemKind::Season => 6,
        }
    }

    /// The kind for a [`ItemKind::code`], if valid.
    pub fn from_code(code: u8) -> Option<ItemKind> {
        ItemKind::ALL.get(usize::from(code)).copied()
    }

    /// The lower-case name used in reports and JSON ("track", "album", …).
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Track => "track",
            ItemKind::Album => "album",
            ItemKind::Artist => "artist",
            ItemKind::Movie => "movie",
            ItemKind::Episode => "episode",
            ItemKind::Show => "show",
            ItemKind::Season => "season",
        }
    }
}

/// One library item, independent of the server it came from.
///
/// Field sources: Plex `ratingKey`, `librarySectionID`, `title`, `originalTitle` (track artist)
/// or `grandparentTitle` (album artist), `parentTitle` (album), `duration`, `year`,
/// `Media/Part@file`, `Guid[mbid://…]`, `addedAt`/`updatedAt`; Jellyfin `Id`, the library's
/// `ParentId`, `Name`, `Artists[]`, `AlbumArtist`, `Album`, `RunTimeTicks / 10_000`,
/// `ProductionYear`, `Path`, `ProviderIds.MusicBrainz*`, `DateCreated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The kind of item.
    pub kind: ItemKind,
    /// The server's id for the item (Plex `ratingKey`, Jellyfin `Id`); unique per index.
    pub id: String,
    /// The library section (Plex section id, Jellyfin library id) the item belongs to.
    pub section_id: String,
    /// The title as the server shows it (for episodes the episode title; for artists the
    /// artist name; for albums the album title).
    pub title: String,
    /// Track artists as credited (may hold "A feat. B"; the index splits them).
    pub artists: Vec<String>,
    /// The album artist (Plex `grandparentTitle`), if different or known.
    pub album_artist: Option<String>,
    /// The album title for tracks (Plex `parentTitle`); the show title for episodes.
    pub album: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: Option<u32>,
    /// Release year.
    pub year: Option<u16>,
    /// The file's path on the server (first part), for lookup by path.
    pub file_path: Option<String>,
    /// MusicBrainz ids (recording, track, release …) in any case, with or without
    /// `mbid://`.
    pub musicbrainz_ids: Vec<String>,
    /// The ISRC, if the server exposes one.
    pub isrc: Option<String>,
    /// When the item was added (epoch seconds).
    pub added_at: i64,
    /// When the item last changed (epoch seconds); a change drops remembered matches.
    pub updated_at: i64,
    /// The parent's server id: the album of a track, the season of an episode, the artist of
    /// an album (Plex `parentRatingKey`, Jellyfin `AlbumId` / `SeasonId` / `ParentId`).
    pub parent_id: Option<String>,
    /// The grandparent's server id: the artist of a track, the show of an episode (Plex
    /// `grandparentRatingKey`, Jellyfin `AlbumArtists[0].Id` / `SeriesId`).
    pub grandparent_id: Option<String>,
    /// Track number or episode number (Plex `index`, Jellyfin `IndexNumber`).
    pub index: Option<u32>,
    /// Disc number of a track, season number of an episode (Plex `parentIndex`, Jellyfin
    /// `ParentIndexNumber`).
    pub parent_index: Option<u32>,
}

impl ItemRecord {
    /// A track record with the given essentials; other fields empty.
    pub fn track(id: &str, section_id: &str, artist: &str, title: &str) -> ItemRecord {
        ItemRecord {
            kind: ItemKind::Track,
            id: id.to_string(),
            section_id: section_id.to_string(),
            title: title.to_string(),
            artists: vec![artist.to_string()],
            album_artist: None,
            album: None,
            duration_ms: None,
            year: None,
            file_path: None,
            musicbrainz_ids: Vec::new(),
            isrc: None,
            added_at: 0,
            updated_at: 0,
            parent_id: None,
            grandparent_id: None,
            index: None,
            parent_index: None,
        }
    }
}

/// Parses a MusicBrainz id (a UUID, any case, with or without dashes, optionally prefixed by
/// `mbid://` or `musicbrainz://`, or the last part of a MusicBrainz address as ListenBrainz
/// playlists and tags write it: `https://musicbrainz.org/recording/…`) into 128 bits.
///
/// ```
/// use cachearr_library::record::parse_mbid;
/// let id = parse_mbid("mbid://B1A9C0E9-D987-4042-AE91-78D6A3267D69");
/// assert_eq!(id, parse_mbid("b1a9c0e9d9874042ae9178d6a3267d69"));
/// assert_eq!(
///     id,
///     parse_mbid("https://musicbrainz.org/recording/b1a9c0e9-d987-4042-ae91-78d6a3267d69")
/// );
/// assert!(id.is_some());
/// assert_eq!(parse_mbid("not an id"), None);
/// ```
pub fn parse_mbid(raw: &str) -> Option<u128> {
    let raw = raw.trim();
    let raw = raw
        .strip_prefix("mbid://")
        .or_else(|| raw.strip_prefix("musicbrainz://"))
        .unwrap_or(raw);
    // An address: its last part ("…/recording/<id>", a trailing slash or query aside).
    let raw = match raw.split_once("://") {
        Some((_, rest)) => {
            let path = rest.split(['?', '#']).next().unwrap_or(rest);
            path.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(path)
        }
        None => raw,
    };
    let mut value: u128 = 0;
    let mut digits = 0;
    for c in raw.chars() {
        if c == '-' {
            continue;
        }
        let digit = c.to_digit(16)?;
        digits += 1;
        if digits > 32 {
            return None;
        }
        value = (value << 4) | u128::from(digit);
    }
    (digits == 32).then_some(value)
}

/// Formats 128 bits as a lower-case dashed UUID.
pub fn format_mbid(id: u128) -> String {
    let hex = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Normalises an ISRC ("us-rc1-76-07839" → "USRC17607839"); `None` unless it is 12
/// letters and digits.
///
/// ```
/// use cachearr_library::record::normalize_isrc;
/// assert_eq!(normalize_isrc("us-rc1-76-07839").as_deref(), Some("USRC17607839"));
/// assert_eq!(normalize_isrc("short"), None);
/// ```
pub fn normalize_isrc(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (cleaned.len() == 12 && cleaned.chars().all(|c| c.is_ascii_alphanumeric())).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbid_round_trips() {
        let raw = "b1a9c0e9-d987-4042-ae91-78d6a3267d69";
        let id = parse_mbid(raw).unwrap();
        assert_eq!(format_mbid(id), raw);
        assert_eq!(
            parse_mbid("musicbrainz://B1A9C0E9D9874042AE9178D6A3267D69"),
            Some(id)
        );
        assert_eq!(parse_mbid(""), None);
        assert_eq!(parse_mbid("b1a9c0e9-d987-4042-ae91-78d6a3267d6"), None);
        assert_eq!(parse_mbid("b1a9c0e9-d987-4042-ae91-78d6a3267d699"), None);
        assert_eq!(parse_mbid("zzzzzzzz-d987-4042-ae91-78d6a3267d69"), None);
        assert_eq!(
            parse_mbid("https://musicbrainz.org/recording/B1A9C0E9-D987-4042-AE91-78D6A3267D69/"),
            Some(id)
        );
        assert_eq!(
            parse_mbid("http://musicbrainz.org/track/b1a9c0e9d9874042ae9178d6a3267d69?x=1"),
            Some(id)
        );
        assert_eq!(parse_mbid("https://musicbrainz.org/recording/"), None);
    }

    #[test]
    fn kind_codes_round_trip() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ItemKind::from_code(9), None);
    }
}
