//! What the library index asks of a Plex server: the sections, and one page of a section's
//! items of one type (the answers are read by `library::crawl_plex`).

use cachearr_library::ItemKind;

/// The Plex `type` numbers the index reads per section kind (shows and seasons are not
/// indexed: episodes carry their show's title).
pub fn types_of_section(kind: &str) -> &'static [(ItemKind, &'static str)] {
    match kind {
        "music" => &[
            (ItemKind::Artist, "8"),
            (ItemKind::Album, "9"),
            (ItemKind::Track, "10"),
        ],
        "movies" => &[(ItemKind::Movie, "1")],
        "shows" => &[(ItemKind::Episode, "4")],
        _ => &[],
    }
}

/// The path of one page of a section's items of one type; `since` asks only for items
/// updated at or after it (epoch seconds; Plex sets `updatedAt` when an item is added, too).
pub fn page_path(
    section: &str,
    plex_type: &str,
    start: u64,
    size: u64,
    since: Option<i64>,
) -> String {
    let mut path = format!(
        "/library/sections/{section}/all?type={plex_type}&includeGuids=1\
         &X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"
    );
    if let Some(since) = since {
        // `updatedAt>=T`: Plex reads the `>` ending the key as "at least".
        path.push_str(&format!("&updatedAt%3E={since}"));
    }
    path
}

/// The index's word for a section kind as `/library/sections` names it.
pub(super) fn section_word(kind: &str) -> &'static str {
    match kind {
        "artist" => "music",
        "movie" => "movies",
        "show" => "shows",
        _ => "other",
    }
}
