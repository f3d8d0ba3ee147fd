//! What the library index asks of a Jellyfin server: the libraries, and one page of a
//! library's items of one type (the answers are read by `library::crawl_jellyfin`).

use cachearr_library::ItemKind;

/// The fields every listing asks for (what `library::crawl_jellyfin::record` reads beyond
/// the defaults).
pub const FIELDS: &str = "Path,ProviderIds,DateCreated,DateLastSaved,ParentId";

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
         &Fields={FIELDS}&EnableImages=false&EnableUserData=false\
         &StartIndex={start}&Limit={size}"
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

/// The index's word for a library kind as `/UserViews` names it (`CollectionType`).
pub(super) fn section_word(kind: &str) -> &'static str {
    match kind {
        "music" => "music",
        "movies" => "movies",
        "tvshows" => "shows",
        _ => "other",
    }
}
