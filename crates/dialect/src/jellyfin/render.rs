//! Jellyfin's `SearchHint`s of answers from the index (`upstream_index::answer`), made from the
//! server's kept documents ([`super::doc`]), and the type names of kinds. `/Items` answers are
//! the kept documents themselves.
//!
//! See docs/library-index.md "Answering from the index".

use cachearr_library::ItemKind;

use super::doc::Doc;

/// Jellyfin's `Type` of a kind.
pub fn type_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Track => "Audio",
        ItemKind::Album => "MusicAlbum",
        ItemKind::Artist => "MusicArtist",
        ItemKind::Movie => "Movie",
        ItemKind::Episode => "Episode",
        ItemKind::Show => "Series",
        ItemKind::Season => "Season",
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

/// The `SearchHint` of an item, from the server's kept `BaseItemDto` of it, as the server's
/// `SearchController` fills one from the item, in `SearchHint`'s property order: name,
/// numbers, year, primary image tag, type, `IsFolder` (folders only), run time, media type,
/// series, album, album artist, artists, channel, primary image aspect ratio. No
/// `SongCount`/`EpisodeCount` (the server never sets them in a hint).
///
/// `None` when the hint cannot be known from the document: the server writes a hint's thumb
/// and backdrop from the item or the nearest parent that has one, which a document with a
/// thumb or backdrop of its own or inherited does not pin down.
pub fn search_hint(doc: &Doc) -> Option<Doc> {
    let own_thumb = doc.get("ImageTags").and_then(|t| t.get("Thumb")).is_some();
    let own_backdrop = matches!(doc.get("BackdropImageTags"), Some(Doc::Array(b)) if !b.is_empty());
    let inherited = ["ParentThumbItemId", "ParentBackdropItemId"]
        .iter()
        .any(|k| doc.get(k).is_some());
    if own_thumb || own_backdrop || inherited {
        return None;
    }
    let mut o: Vec<(String, Doc)> = Vec::new();
    let copy = |to: &str, from: &str, o: &mut Vec<(String, Doc)>| {
        if let Some(v) = doc.get(from) {
            o.push((to.to_owned(), v.clone()));
        }
    };
    let id = doc.get("Id")?.clone();
    o.push(("ItemId".to_owned(), id.clone()));
    o.push(("Id".to_owned(), id));
    copy("Name", "Name", &mut o);
    copy("IndexNumber", "IndexNumber", &mut o);
    copy("ProductionYear", "ProductionYear", &mut o);
    copy("ParentIndexNumber", "ParentIndexNumber", &mut o);
    let primary = doc.get("ImageTags").and_then(|tags| tags.get("Primary"));
    if let Some(tag) = primary {
        o.push(("PrimaryImageTag".to_owned(), tag.clone()));
    }
    copy("Type", "Type", &mut o);
    if matches!(doc.get("IsFolder"), Some(Doc::Bool(true))) {
        o.push(("IsFolder".to_owned(), Doc::Bool(true)));
    }
    copy("RunTimeTicks", "RunTimeTicks", &mut o);
    copy("MediaType", "MediaType", &mut o);
    copy("EndDate", "EndDate", &mut o);
    copy("Series", "SeriesName", &mut o);
    copy("Album", "Album", &mut o);
    copy("AlbumId", "AlbumId", &mut o);
    copy("AlbumArtist", "AlbumArtist", &mut o);
    let artists = doc
        .get("Artists")
        .cloned()
        .unwrap_or(Doc::Array(Vec::new()));
    o.push(("Artists".to_owned(), artists));
    copy("ChannelId", "ChannelId", &mut o);
    if primary.is_some() {
        copy("PrimaryImageAspectRatio", "PrimaryImageAspectRatio", &mut o);
    }
    Some(Doc::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_serverfmt::jellyfin::iso8601;

    #[test]
    fn dates_and_types() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20.0000000Z");
        assert_eq!(kind_of_type("audio"), Some(ItemKind::Track));
        assert!(kind_of_type("Series").is_none());
    }
}
