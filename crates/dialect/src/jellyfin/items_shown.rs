//! Which items a Jellyfin answer shows and which it names as parents, for the change feed's
//! tags (the gateway's `feed::value_tags`). Jellyfin's answers are JSON only, with ids in named
//! fields, so they are read with serde_json.

/// Jellyfin fields naming an item whose own fields (name, artwork) an answer shows. Not
/// `ParentId`: the fields an item repeats of its parent come with the parent's own field
/// (`Album` with `AlbumId`, `SeasonName` with `SeasonId`, `SeriesName` with `SeriesId`, the
/// images with their owners'), and where `ParentId` names anything else — a film's library
/// folder, which every add announces in `FoldersAddedTo` — the answer shows nothing of it.
const PARENT_REFS: [&str; 8] = [
    "SeriesId",
    "SeasonId",
    "AlbumId",
    "ParentLogoItemId",
    "ParentBackdropItemId",
    "ParentThumbItemId",
    "ParentArtItemId",
    "ParentPrimaryImageItemId",
];

/// Jellyfin: the items of `Items` (or the answer itself, one item) are shown; their parent
/// fields and the artists they list (`AlbumArtists`, `ArtistItems`) are named.
pub(super) fn scan_json_ids(body: &[u8], shown: &mut Vec<String>, named: &mut Vec<String>) {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let items: Vec<&serde_json::Value> = match answer.get("Items").and_then(|v| v.as_array()) {
        Some(items) => items.iter().collect(),
        None => vec![&answer],
    };
    let id_of = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str)
            .and_then(crate::events::valid_id)
            .map(str::to_owned)
    };
    for item in items {
        shown.extend(id_of(item.get("Id")));
        for field in PARENT_REFS {
            named.extend(id_of(item.get(field)));
        }
        for list in ["AlbumArtists", "ArtistItems"] {
            for artist in item
                .get(list)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                named.extend(id_of(artist.get("Id")));
            }
        }
    }
}
