//! Jellyfin documents rendered from the index (`library::answer`): `BaseItemDto` items in a `QueryResult`
//! (`Items`, `TotalRecordCount`, `StartIndex`) and `SearchHint`s in a `SearchHintResult`,
//! PascalCase, null properties omitted, as the server serialises them.
//!
//! What the index does not hold is left out (image tags, premiere dates, containers, the
//! user's `UserData` …); see docs/library-index.md "Answering from the index".

use cachearr_library::ItemKind;
use cachearr_library::index::ItemView;
use serde_json::{Map, Value, json};

/// Jellyfin's `Type` of a kind.
pub fn type_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Track => "Audio",
        ItemKind::Album => "MusicAlbum",
        ItemKind::Artist => "MusicArtist",
        ItemKind::Movie => "Movie",
        ItemKind::Episode => "Episode",
    }
}

/// What a Jellyfin `IncludeItemTypes` entry names: a kind the index holds, or `None` for
/// something else (series, seasons, playlists, folders …).
pub fn kind_of_type(name: &str) -> Option<ItemKind> {
    [
        ItemKind::Track,
        ItemKind::Album,
        ItemKind::Artist,
        ItemKind::Movie,
        ItemKind::Episode,
    ]
    .into_iter()
    .find(|k| type_name(*k).eq_ignore_ascii_case(name.trim()))
}

/// The kinds a library of this `CollectionType` holds that the index holds too, and whether
/// it also holds kinds the index does not (series and seasons).
pub fn library_kinds(collection_type: &str) -> (&'static [ItemKind], bool) {
    match collection_type {
        "music" => (&[ItemKind::Artist, ItemKind::Album, ItemKind::Track], false),
        "movies" => (&[ItemKind::Movie], false),
        "tvshows" => (&[ItemKind::Episode], true),
        _ => (&[], true),
    }
}

/// `"YYYY-MM-DDTHH:MM:SS.0000000Z"`, as .NET writes a UTC date (the simulator's own code).
pub use cachearr_serverfmt::jellyfin::iso8601;

const TICKS_PER_MS: i64 = 10_000;

/// Which optional `Fields` the request asked for.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// `Path`.
    pub path: bool,
    /// `SortName`.
    pub sort_name: bool,
    /// `DateCreated`.
    pub date_created: bool,
    /// `ParentId`.
    pub parent_id: bool,
}

impl Fields {
    /// From the `Fields` parameter (comma separated, any case).
    pub fn parse(raw: Option<&str>) -> Fields {
        let mut f = Fields::default();
        for name in raw.unwrap_or("").split(',').map(str::trim) {
            match name.to_ascii_lowercase().as_str() {
                "path" => f.path = true,
                "sortname" => f.sort_name = true,
                "datecreated" => f.date_created = true,
                "parentid" => f.parent_id = true,
                _ => {}
            }
        }
        f
    }
}

fn insert(obj: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    obj.insert(key.to_string(), value.into());
}

fn playable(kind: ItemKind) -> bool {
    matches!(kind, ItemKind::Track | ItemKind::Movie | ItemKind::Episode)
}

/// The `BaseItemDto` of one item.
pub fn item_dto(view: &ItemView<'_>, server_id: &str, fields: &Fields) -> Value {
    let kind = view.kind();
    let mut o = Map::new();
    insert(&mut o, "Name", view.title());
    insert(&mut o, "ServerId", server_id);
    insert(&mut o, "Id", view.id());
    if fields.date_created {
        insert(&mut o, "DateCreated", iso8601(view.added_at()));
    }
    if fields.sort_name {
        insert(
            &mut o,
            "SortName",
            cachearr_serverfmt::plex::title_sort(view.title()),
        );
    }
    if fields.path
        && let Some(path) = view.file_path()
    {
        insert(&mut o, "Path", path);
    }
    if playable(kind)
        && let Some(ms) = view.duration_ms()
    {
        insert(&mut o, "RunTimeTicks", i64::from(ms) * TICKS_PER_MS);
    }
    if let Some(year) = view.year() {
        insert(&mut o, "ProductionYear", year);
    }
    if matches!(kind, ItemKind::Track | ItemKind::Episode) {
        if let Some(n) = view.index() {
            insert(&mut o, "IndexNumber", n);
        }
        if let Some(n) = view.parent_index() {
            insert(&mut o, "ParentIndexNumber", n);
        }
    }
    insert(&mut o, "IsFolder", !playable(kind));
    if fields.parent_id {
        let parent = view.parent_id().unwrap_or(view.section_id());
        insert(&mut o, "ParentId", parent);
    }
    insert(&mut o, "Type", type_name(kind));
    match kind {
        ItemKind::Track => {
            if let Some(artist) = view.artists().first() {
                insert(&mut o, "Artists", json!([artist]));
            }
            if let Some(album) = view.album() {
                insert(&mut o, "Album", album);
            }
            if let Some(id) = view.parent_id() {
                insert(&mut o, "AlbumId", id);
            }
            if let Some(artist) = view.album_artist() {
                insert(&mut o, "AlbumArtist", artist);
                if let Some(id) = view.grandparent_id() {
                    insert(&mut o, "AlbumArtists", json!([{"Name": artist, "Id": id}]));
                }
            }
        }
        ItemKind::Album => {
            if let Some(artist) = view.album_artist() {
                insert(&mut o, "Artists", json!([artist]));
                if let Some(id) = view.parent_id() {
                    insert(&mut o, "ArtistItems", json!([{"Name": artist, "Id": id}]));
                }
                insert(&mut o, "AlbumArtist", artist);
                if let Some(id) = view.parent_id() {
                    insert(&mut o, "AlbumArtists", json!([{"Name": artist, "Id": id}]));
                }
            }
        }
        ItemKind::Episode => {
            if let Some(show) = view.album() {
                insert(&mut o, "SeriesName", show);
            }
            if let Some(id) = view.grandparent_id() {
                insert(&mut o, "SeriesId", id);
            }
            if let Some(id) = view.parent_id() {
                insert(&mut o, "SeasonId", id);
            }
        }
        ItemKind::Artist | ItemKind::Movie => {}
    }
    insert(
        &mut o,
        "MediaType",
        match kind {
            ItemKind::Track => "Audio",
            ItemKind::Movie | ItemKind::Episode => "Video",
            _ => "Unknown",
        },
    );
    insert(&mut o, "ImageTags", json!({}));
    insert(&mut o, "BackdropImageTags", json!([]));
    insert(&mut o, "LocationType", "FileSystem");
    Value::Object(o)
}

/// The `SearchHint` of one item.
pub fn search_hint(view: &ItemView<'_>) -> Value {
    let kind = view.kind();
    let mut o = Map::new();
    insert(&mut o, "ItemId", view.id());
    insert(&mut o, "Id", view.id());
    insert(&mut o, "Name", view.title());
    if matches!(kind, ItemKind::Track | ItemKind::Episode)
        && let Some(n) = view.index()
    {
        insert(&mut o, "IndexNumber", n);
    }
    if let Some(year) = view.year() {
        insert(&mut o, "ProductionYear", year);
    }
    if matches!(kind, ItemKind::Track | ItemKind::Episode)
        && let Some(n) = view.parent_index()
    {
        insert(&mut o, "ParentIndexNumber", n);
    }
    insert(&mut o, "Type", type_name(kind));
    insert(&mut o, "IsFolder", !playable(kind));
    if playable(kind)
        && let Some(ms) = view.duration_ms()
    {
        insert(&mut o, "RunTimeTicks", i64::from(ms) * TICKS_PER_MS);
    }
    insert(
        &mut o,
        "MediaType",
        match kind {
            ItemKind::Track => "Audio",
            ItemKind::Movie | ItemKind::Episode => "Video",
            _ => "Unknown",
        },
    );
    let mut artists: Vec<&str> = Vec::new();
    match kind {
        ItemKind::Track => {
            if let Some(album) = view.album() {
                insert(&mut o, "Album", album);
            }
            if let Some(id) = view.parent_id() {
                insert(&mut o, "AlbumId", id);
            }
            if let Some(artist) = view.album_artist() {
                insert(&mut o, "AlbumArtist", artist);
            }
            artists.extend(view.artists().first());
        }
        ItemKind::Album => {
            if let Some(artist) = view.album_artist() {
                insert(&mut o, "AlbumArtist", artist);
                artists.push(artist);
            }
        }
        ItemKind::Episode => {
            if let Some(show) = view.album() {
                insert(&mut o, "Series", show);
            }
        }
        ItemKind::Artist | ItemKind::Movie => {}
    }
    insert(&mut o, "Artists", json!(artists));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_types() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20.0000000Z");
        assert_eq!(kind_of_type("audio"), Some(ItemKind::Track));
        assert!(kind_of_type("Series").is_none());
        let f = Fields::parse(Some("Path, sortname,Overview"));
        assert!(f.path && f.sort_name && !f.date_created);
    }
}
