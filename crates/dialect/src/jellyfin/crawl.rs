//! How the library index reads a Jellyfin server ([`ServerLibrary`] for [`Jellyfin`]): the
//! libraries (`/Library/MediaFolders`), one page of a library's items of one type
//! (`/Items?ParentId=…&Recursive=true&IncludeItemTypes=…&StartIndex&Limit&Fields=…`), items
//! by id (for change events), the libraries a user sees (`/UserViews`) and a query's total.
//!
//! Only the item's own MusicBrainz ids are kept (a track's recording and track ids, an album's
//! release and release group, an artist's id): Jellyfin also hangs the album's and artist's ids
//! on every track, which would make a lookup by an album's id answer with its tracks.

use cachearr_library::{ItemKind, ItemRecord};
use serde_json::Value;

use super::Jellyfin;
use crate::library::{ItemsRequest, LibraryFacts, ProbeParent, ServerLibrary};
use crate::model::library::{SectionInfo, UserSection, UserSections};
use crate::model::restriction::{Marks, Restriction};
use crate::server_json::{json_number, json_text, records_of};

/// Jellyfin's library: the media folders for the owner, a user's views for them; documents
/// kept, a change event's items kept from the items answer itself.
static FACTS: LibraryFacts = LibraryFacts {
    sections_path: "/Library/MediaFolders",
    user_sections_in_server_form: false,
    keeps_elements: true,
    items_answer_is_kept: true,
};

impl ServerLibrary for Jellyfin {
    fn facts(&self) -> &'static LibraryFacts {
        &FACTS
    }

    fn parse_sections(&self, body: &Value) -> Vec<SectionInfo> {
        parse_sections(body)
    }

    fn parse_user_sections(&self, body: &[u8]) -> Option<UserSections> {
        user_sections(body)
    }

    fn section_word(&self, kind: &str) -> &'static str {
        section_word(kind)
    }

    fn index_kinds(&self, kind: &str) -> &'static [(ItemKind, &'static str)] {
        types_of_section(kind)
    }

    fn page_path(
        &self,
        section: &str,
        type_param: &str,
        start: u64,
        size: u64,
        since: Option<i64>,
    ) -> String {
        page_path(section, type_param, start, size, since)
    }

    fn listing_total(&self, body: &Value) -> Option<u64> {
        total_count(body)
    }

    fn count_path(&self, item_types: &[&str], since: Option<i64>) -> Option<String> {
        let mut path = format!(
            "/Items?Recursive=true&IncludeItemTypes={}&Limit=0&EnableTotalRecordCount=true",
            item_types.join(",")
        );
        if let Some(since) = since {
            path.push_str("&MinDateLastSaved=");
            path.push_str(&format_iso8601(since));
        }
        Some(path)
    }

    /// What a library walk lists besides the index's kinds (Emby for the kinds of its
    /// libraries, Jellyfin's clients alike): the names (genres, studios, tags; people across
    /// the server), folders, videos that are no films, collections.
    fn walked_types(&self, kind: Option<&str>) -> &'static [&'static str] {
        match kind {
            None => &["Person"],
            Some("music") => &["MusicGenre", "Studio", "Folder"],
            Some("movies") => &["Genre", "Tag", "Studio", "Video", "BoxSet", "Folder"],
            Some("shows") => &["Genre", "Tag", "Studio", "BoxSet", "Folder"],
            Some(_) => &[],
        }
    }

    /// The listing the walk reads, with no item and its total counted.
    fn type_count_path(&self, library: Option<&str>, item_type: &str) -> Option<String> {
        let mut path = format!(
            "/Items?Recursive=true&IncludeItemTypes={item_type}&Limit=0&EnableTotalRecordCount=true"
        );
        if let Some(library) = library {
            path.push_str("&ParentId=");
            path.push_str(library);
        }
        Some(path)
    }

    /// A Jellyfin item does not name its library: without `section`, no record.
    fn parse_items(&self, body: &Value, section: Option<&str>) -> (u64, Vec<ItemRecord>) {
        records_of(body.get("Items"), |item| {
            section.and_then(|library| record(item, library))
        })
    }

    fn restrictions_path(&self) -> Option<&'static str> {
        Some(super::policy::USERS_PATH)
    }

    fn parse_restrictions(&self, body: &[u8]) -> Option<Vec<(String, Restriction)>> {
        super::policy::parse_restrictions(body)
    }

    fn document_marks(&self, doc: &[u8]) -> Option<(Marks, &'static str)> {
        super::policy::document_marks(doc)
    }

    /// Each crawled library in turn (`other` ones are not crawled): an item does not say
    /// which library it is in, so each is asked for the ids.
    fn items_requests(&self, ids: &[String], sections: &[SectionInfo]) -> Vec<ItemsRequest> {
        sections
            .iter()
            .filter(|s| s.kind != "other")
            .map(|s| ItemsRequest {
                path: items_path(&s.id, ids),
                section: Some(s.id.clone()),
                gone_when_not_found: false,
            })
            .collect()
    }

    /// The server's `BaseItemDto`s are kept (`upstream_index::elements`, [`super::doc`]).
    fn listing_by_ids_path(&self, _: &str, _: ItemKind, _: &[&str]) -> Option<String> {
        None
    }

    /// Series and seasons: the copy answers a series' seasons from their documents.
    fn parent_types(&self, kind: &str) -> &'static [&'static str] {
        match kind {
            "shows" => &["Series", "Season"],
            _ => &[],
        }
    }

    fn parents_by_ids_path(&self, section: &str, type_param: &str, ids: &[&str]) -> Option<String> {
        Some(format!(
            "/Items?ParentId={section}&Recursive=true&IncludeItemTypes={type_param}&Ids={}\
             &Fields={FIELDS}",
            ids.join(",")
        ))
    }

    fn frame_probes(
        &self,
        _section: &str,
        kind: &str,
        parents: &[ProbeParent<'_>],
    ) -> Vec<(String, bool)> {
        frame_probes(kind, parents)
    }

    /// Each library's items of each indexed type in one page (the `BaseItemDto`s the crawl
    /// keeps; series and seasons are not read).
    fn whole_listing_paths(&self, sections: &Value) -> Vec<String> {
        parse_sections(sections)
            .iter()
            .flat_map(|library| {
                types_of_section(&library.kind)
                    .iter()
                    .map(|(_, item_type)| page_path(&library.id, item_type, 0, 1_000_000, None))
            })
            .collect()
    }
}

/// The fields every listing asks for: what [`record`] reads beyond the defaults (`Path`,
/// `ProviderIds`, `DateCreated`, `DateLastSaved`, `ParentId`) and every other field whose
/// properties the kept documents answer with ([`super::doc::GATED`]).
pub const FIELDS: &str = super::doc::CRAWL_FIELDS;

/// The Jellyfin item types the index reads per library kind.
pub fn types_of_section(kind: &str) -> &'static [(ItemKind, &'static str)] {
    match kind {
        "music" => &[
            (ItemKind::Artist, "MusicArtist"),
            (ItemKind::Album, "MusicAlbum"),
            (ItemKind::Track, "Audio"),
        ],
        "movies" => &[(ItemKind::Movie, "Movie")],
        "shows" => &[(ItemKind::Episode, "Episode")],
        _ => &[],
    }
}

/// The path of one page of a library's items of one type; `since` asks only for items saved
/// (added or changed) at or after it (epoch seconds).
pub fn page_path(
    library: &str,
    item_type: &str,
    start: u64,
    size: u64,
    since: Option<i64>,
) -> String {
    let mut path = format!(
        "/Items?ParentId={library}&Recursive=true&IncludeItemTypes={item_type}\
         &Fields={FIELDS}&StartIndex={start}&Limit={size}"
    );
    if let Some(since) = since {
        path.push_str("&MinDateLastSaved=");
        path.push_str(&format_iso8601(since));
    }
    path
}

/// Formats Unix seconds as `2024-01-02T03:04:05Z` (a `MinDateLastSaved` value).
pub fn format_iso8601(seconds: i64) -> String {
    format!("{}Z", cachearr_serverfmt::jellyfin::utc_date_time(seconds))
}

/// The reads `ServerLibrary::frame_probes` names for Jellyfin: a series' seasons and one
/// season's episodes as a request manager's scan reads them (`/Shows/{id}/Seasons`, then
/// `/Shows/{id}/Episodes?seasonId=…` for each season, no other option), for each season
/// given with its series. A tool's series walk with other options (a per-user `Fields`
/// list) is proven on its own answers. Other libraries' walks are not the copy's.
pub fn frame_probes(kind: &str, seasons: &[ProbeParent<'_>]) -> Vec<(String, bool)> {
    if kind != "shows" {
        return Vec::new();
    }
    let with_series = || seasons.iter().filter_map(|s| Some((s.id, s.grandparent?)));
    let series = with_series().map(|(_, series)| format!("/Shows/{series}/Seasons"));
    let episodes =
        with_series().map(|(season, series)| format!("/Shows/{series}/Episodes?seasonId={season}"));
    series.chain(episodes).map(|path| (path, true)).collect()
}

/// The index's word for a library kind as `/UserViews` names it (`CollectionType`).
pub(super) fn section_word(kind: &str) -> &'static str {
    match kind {
        "music" => "music",
        "movies" => "movies",
        "tvshows" => "shows",
        _ => "other",
    }
}

/// The path that fetches items of one library by id.
pub fn items_path(library: &str, ids: &[String]) -> String {
    format!(
        "/Items?ParentId={library}&Recursive=true&Ids={}&Fields={FIELDS}",
        ids.join(",")
    )
}

/// The libraries of `GET /Library/MediaFolders` (or `/UserViews`).
pub fn parse_sections(body: &Value) -> Vec<SectionInfo> {
    let Some(list) = body.get("Items").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|folder| {
            let kind = section_word(
                folder
                    .get("CollectionType")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
            Some(SectionInfo {
                id: json_text(folder, "Id")?,
                title: json_text(folder, "Name").unwrap_or_default(),
                kind: kind.to_string(),
                changed_at: None,
            })
        })
        .collect()
}

/// A user's libraries, from `/UserViews` (`{"Items":[{"Id","Name","CollectionType"}]}`).
fn user_sections(body: &[u8]) -> Option<UserSections> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let items = v.get("Items")?.as_array()?;
    let mut sections = Vec::with_capacity(items.len());
    for it in items {
        sections.push(UserSection {
            // As the server writes it: the crawl records library ids the same way.
            id: it.get("Id")?.as_str()?.to_string(),
            title: str_of(it, "Name"),
            kind: str_of(it, "CollectionType"),
            uuid: None,
        });
    }
    Some(UserSections { sections })
}

/// A string field, empty when absent or not a string.
fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `TotalRecordCount` of a query result.
pub fn total_count(body: &Value) -> Option<u64> {
    json_number(body, "TotalRecordCount").and_then(|n| u64::try_from(n).ok())
}

/// The kind of a Jellyfin item's `Type` (`None` for types the index does not keep).
fn kind_of(item: &Value) -> Option<ItemKind> {
    Some(match item.get("Type").and_then(Value::as_str)? {
        "Audio" => ItemKind::Track,
        "MusicAlbum" => ItemKind::Album,
        "MusicArtist" => ItemKind::Artist,
        "Movie" => ItemKind::Movie,
        "Episode" => ItemKind::Episode,
        _ => return None,
    })
}

/// An item's artists, album and who its parent and grandparent are, as its kind names them.
struct Family {
    artists: Vec<String>,
    album_artist: Option<String>,
    album: Option<String>,
    parent_id: Option<String>,
    grandparent_id: Option<String>,
}

impl Family {
    /// A track's parent is its album and its grandparent the album's first artist; an
    /// album's parent is that artist; an episode's are its season and series.
    fn of(item: &Value, kind: ItemKind) -> Family {
        let first_album_artist_id = item
            .get("AlbumArtists")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(|pair| json_text(pair, "Id"));
        let (artists, album_artist, album, parent_id, grandparent_id) = match kind {
            ItemKind::Track => (
                strings(item, "Artists"),
                json_text(item, "AlbumArtist"),
                json_text(item, "Album"),
                json_text(item, "AlbumId"),
                first_album_artist_id,
            ),
            ItemKind::Album => {
                let artist = json_text(item, "AlbumArtist");
                (
                    artist.clone().into_iter().collect(),
                    artist,
                    None,
                    first_album_artist_id,
                    None,
                )
            }
            ItemKind::Episode => (
                Vec::new(),
                None,
                json_text(item, "SeriesName"),
                json_text(item, "SeasonId"),
                json_text(item, "SeriesId"),
            ),
            // Series and seasons are not indexed from Jellyfin (the crawl reads none).
            ItemKind::Artist | ItemKind::Movie | ItemKind::Show | ItemKind::Season => {
                (Vec::new(), None, None, None, None)
            }
        };
        Family {
            artists,
            album_artist,
            album,
            parent_id,
            grandparent_id,
        }
    }
}

/// The non-empty strings of an item's array field `key` (none when absent).
fn strings(item: &Value, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The MusicBrainz ids naming the item itself (a track's recording, not its album's).
fn musicbrainz_ids(providers: Option<&Value>, kind: ItemKind) -> Vec<String> {
    let own_ids: &[&str] = match kind {
        ItemKind::Track => &["MusicBrainzRecording", "MusicBrainzTrack"],
        ItemKind::Album => &["MusicBrainzAlbum", "MusicBrainzReleaseGroup"],
        ItemKind::Artist => &["MusicBrainzArtist"],
        _ => &[],
    };
    own_ids
        .iter()
        .filter_map(|key| providers.and_then(|p| json_text(p, key)))
        .collect()
}

/// One Jellyfin item as a record (`None` for other types, or without id or name).
pub fn record(item: &Value, library: &str) -> Option<ItemRecord> {
    let kind = kind_of(item)?;
    let id = json_text(item, "Id")?;
    let title = json_text(item, "Name")?;
    let Family {
        artists,
        album_artist,
        album,
        parent_id,
        grandparent_id,
    } = Family::of(item, kind);
    let providers = item.get("ProviderIds");
    let musicbrainz_ids = musicbrainz_ids(providers, kind);
    let isrc = providers.and_then(|p| json_text(p, "ISRC").or_else(|| json_text(p, "Isrc")));
    let added_at = item
        .get("DateCreated")
        .and_then(Value::as_str)
        .and_then(parse_iso8601)
        .unwrap_or(0);
    let updated_at = item
        .get("DateLastSaved")
        .and_then(Value::as_str)
        .and_then(parse_iso8601)
        .unwrap_or(added_at);
    let small = |key: &str| json_number(item, key).and_then(|n| u32::try_from(n).ok());
    Some(ItemRecord {
        kind,
        id,
        section_id: library.to_string(),
        title,
        artists,
        album_artist,
        album,
        duration_ms: json_number(item, "RunTimeTicks")
            .and_then(|ticks| u32::try_from(ticks / 10_000).ok())
            .filter(|ms| *ms > 0),
        year: json_number(item, "ProductionYear")
            .and_then(|y| u16::try_from(y).ok())
            .filter(|y| *y > 0),
        file_path: json_text(item, "Path"),
        musicbrainz_ids,
        isrc,
        added_at,
        updated_at,
        parent_id,
        grandparent_id,
        index: matches!(kind, ItemKind::Track | ItemKind::Episode)
            .then(|| small("IndexNumber"))
            .flatten(),
        parent_index: matches!(kind, ItemKind::Track | ItemKind::Episode)
            .then(|| small("ParentIndexNumber"))
            .flatten(),
    })
}

/// Parses Jellyfin's dates (`2024-01-02T03:04:05[.fraction][Z]`) into Unix seconds.
use cachearr_serverfmt::jellyfin::parse_iso8601;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_round_trip() {
        for t in [0, 951_782_400, 1_714_564_800, 1_714_564_801 + 86_399] {
            assert_eq!(parse_iso8601(&format_iso8601(t)), Some(t));
        }
        assert_eq!(
            parse_iso8601("2024-05-01T12:00:00.0000000Z"),
            Some(1_714_564_800)
        );
        assert_eq!(parse_iso8601("garbage"), None);
    }

    /// A show library's probes read each season's series' seasons and the season's episodes
    /// as a request manager's scan asks them; a season without its series, and other
    /// libraries, are probed with nothing.
    #[test]
    fn show_libraries_probe_their_series_seasons_and_episodes() {
        let seasons = [
            ProbeParent {
                id: "s1",
                grandparent: Some("a"),
            },
            ProbeParent {
                id: "s2",
                grandparent: Some("b"),
            },
            ProbeParent {
                id: "s3",
                grandparent: None,
            },
        ];
        let probes = Jellyfin.frame_probes("lib", "shows", &seasons);
        let expected = [
            "/Shows/a/Seasons",
            "/Shows/b/Seasons",
            "/Shows/a/Episodes?seasonId=s1",
            "/Shows/b/Episodes?seasonId=s2",
        ];
        assert_eq!(
            probes,
            expected.map(|p| (p.to_string(), true)).to_vec(),
            "{probes:?}"
        );
        assert!(Jellyfin.frame_probes("lib", "movies", &seasons).is_empty());
        assert!(Jellyfin.frame_probes("lib", "music", &seasons).is_empty());
    }

    #[test]
    fn user_libraries() {
        let jf = br#"{"Items":[{"Id":"ABC","Name":"Music","CollectionType":"music"}]}"#;
        let s = Jellyfin.parse_user_sections(jf).unwrap();
        assert_eq!(s.ids(), vec!["ABC"]);
        assert_eq!(s.sections[0].kind, "music");
        assert!(Jellyfin.parse_user_sections(b"{}").is_none());
    }

    #[test]
    fn libraries_and_tracks() {
        let folders = json!({"Items": [
            {"Id": "a1", "Name": "Music", "CollectionType": "music"},
            {"Id": "b2", "Name": "Shows", "CollectionType": "tvshows"},
            {"Name": "no id"}
        ]});
        let sections = parse_sections(&folders);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[1].kind, "shows");

        let page = json!({"TotalRecordCount": 40, "Items": [
            {"Type": "Audio", "Id": "t1", "Name": "Song", "Artists": ["Band", ""],
             "AlbumArtist": "Band", "Album": "Record", "AlbumId": "al1",
             "AlbumArtists": [{"Name": "Band", "Id": "ar1"}], "RunTimeTicks": 2_000_000_000_i64,
             "ProductionYear": 2001, "Path": "/music/song.flac", "IndexNumber": 4,
             "ParentIndexNumber": 2, "DateCreated": "2024-05-01T12:00:00.0000000Z",
             "ProviderIds": {"MusicBrainzRecording": "b1a9c0e9-d987-4042-ae91-78d6a3267d69",
                             "MusicBrainzAlbum": "00000000-0000-0000-0000-000000000001"}},
            {"Type": "Season", "Id": "s1", "Name": "Season 1"}
        ]});
        assert_eq!(total_count(&page), Some(40));
        let (count, records) = Jellyfin.parse_items(&page, Some("a1"));
        assert_eq!((count, records.len()), (2, 1));
        let r = &records[0];
        assert_eq!(r.artists, ["Band"]);
        assert_eq!(r.duration_ms, Some(200_000));
        assert_eq!(
            r.musicbrainz_ids.len(),
            1,
            "the album's id is not the track's"
        );
        assert_eq!(
            (r.parent_id.as_deref(), r.grandparent_id.as_deref()),
            (Some("al1"), Some("ar1"))
        );
        assert_eq!((r.index, r.parent_index), (Some(4), Some(2)));
        assert_eq!((r.added_at, r.updated_at), (1_714_564_800, 1_714_564_800));
        assert!(
            page_path("a1", "Audio", 0, 10, Some(0))
                .ends_with("MinDateLastSaved=1970-01-01T00:00:00Z")
        );
    }
}
