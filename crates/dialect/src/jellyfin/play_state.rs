//! The requests that watch a Jellyfin user's play state (the library copy's `play_watch`), and how
//! their whole lists read.
//!
//! Across every library the user sees (the token's user): the item they played last with
//! how many they have played (a play or a mark as played sets `LastPlayedDate`; a mark as
//! unplayed lowers the count), the item they resumed last with how many are resumable (a
//! resume point), and how many are favourites. The socket carries `UserDataChanged` only to
//! the changed user's own sessions, so only the owner's changes reach cachearr that way.

use rustc_hash::FxHasher;
use serde_json::Value;
use std::hash::{Hash, Hasher};

use crate::model::library::{PlayStateItem, PlayStateProbe};

/// The lists, by their filter and sort.
const LISTS: [(&str, &str); 3] = [
    ("IsPlayed", "&SortBy=DatePlayed&SortOrder=Descending"),
    ("IsResumable", "&SortBy=DatePlayed&SortOrder=Descending"),
    ("IsFavorite", ""),
];

pub(super) fn probes() -> Vec<PlayStateProbe> {
    LISTS
        .iter()
        .map(|(filter, sort)| {
            let whole = format!(
                "/Items?Recursive=true&Filters={filter}&EnableUserData=true&EnableImages=false\
                 &Fields=ParentId"
            );
            let probe = if sort.is_empty() {
                format!("{whole}&Limit=0&EnableTotalRecordCount=true")
            } else {
                format!("{whole}{sort}&Limit=1&EnableTotalRecordCount=true")
            };
            PlayStateProbe {
                probe,
                whole,
                section: None,
            }
        })
        .collect()
}

pub(super) fn items(body: &[u8]) -> Option<Vec<PlayStateItem>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let list = v.get("Items")?.as_array()?;
    // Ids as the gateway's tags hold them: lower case.
    let id = |m: &Value, k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
    };
    Some(
        list.iter()
            .filter_map(|m| {
                let own = id(m, "Id")?;
                let mut hasher = FxHasher::default();
                m.get("UserData").map(Value::to_string).hash(&mut hasher);
                Some(PlayStateItem {
                    parents: ["AlbumId", "SeasonId", "SeriesId", "ParentId"]
                        .iter()
                        .filter_map(|k| id(m, k))
                        .filter(|p| *p != own)
                        .collect(),
                    id: own,
                    state: hasher.finish(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_probes_across_every_library() {
        let p = probes();
        assert_eq!(p.len(), 3);
        assert!(p[0].probe.contains("Filters=IsPlayed") && p[0].probe.contains("Limit=1"));
        assert!(p[2].probe.contains("Limit=0"));
        assert!(!p[0].whole.contains("Limit"));
        assert!(p.iter().all(|p| p.section.is_none()));
    }

    #[test]
    fn a_whole_list_gives_each_items_user_data_and_parents_in_lower_case() {
        let body = br#"{"Items":[{"Id":"AB12","AlbumId":"CD34","ParentId":"CD34",
            "UserData":{"PlayCount":2,"Played":true}},{"Id":"ef56"}],"TotalRecordCount":2}"#;
        let a = items(body).unwrap();
        assert_eq!(a[0].id, "ab12");
        assert_eq!(a[0].parents, ["cd34", "cd34"]);
        let again = br#"{"Items":[{"Id":"AB12","AlbumId":"CD34","ParentId":"CD34",
            "UserData":{"PlayCount":3,"Played":true}}]}"#;
        assert_ne!(items(again).unwrap()[0].state, a[0].state);
        assert_eq!(items(br#"{"Items":[]}"#), Some(Vec::new()));
        assert_eq!(items(b"[]"), None);
    }
}
