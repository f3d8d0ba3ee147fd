//! The requests that watch a Plex user's play state (the library copy's `play_watch`), and how
//! their whole lists read.
//!
//! Per section with playable items, as its leaf type: the item the user played or started
//! last with how many they have (a play, a mark as played or a resume point sets
//! `lastViewedAt`; a mark as unplayed clears it, so the count falls), and how many they have
//! rated (a rating given or taken away). Plex filters and sorts by `lastViewedAt` but has no
//! filter or sort on `lastRatedAt`, so a rating changed from one value to another shows in
//! neither probe: sampled revalidation is what finds it.

use rustc_hash::FxHasher;
use serde_json::Value;
use std::hash::{Hash, Hasher};

use crate::model::library::{PlayStateItem, PlayStateProbe, UserSections};

/// The per-user values of an item as a listing shows them (also what the library copy keeps
/// of an item without: `kept.rs`).
pub(super) const STATE_FIELDS: [&str; 6] = [
    "viewCount",
    "viewOffset",
    "lastViewedAt",
    "userRating",
    "lastRatedAt",
    "skipCount",
];

pub(super) fn probes(sections: &UserSections) -> Vec<PlayStateProbe> {
    let mut probes = Vec::new();
    for section in &sections.sections {
        let leaf = match section.kind.as_str() {
            "movie" => 1,
            "show" => 4,
            "artist" => 10,
            _ => continue,
        };
        let id = &section.id;
        if !super::super::is_id(id) {
            continue;
        }
        let all = format!("/library/sections/{id}/all?type={leaf}");
        probes.push(PlayStateProbe {
            probe: format!(
                "{all}&lastViewedAt%3E%3E=1&sort=lastViewedAt%3Adesc\
                 &X-Plex-Container-Start=0&X-Plex-Container-Size=1"
            ),
            whole: format!("{all}&lastViewedAt%3E%3E=1"),
            section: Some(id.clone()),
        });
        probes.push(PlayStateProbe {
            probe: format!(
                "{all}&userRating%3E%3E=1&X-Plex-Container-Start=0&X-Plex-Container-Size=0"
            ),
            whole: format!("{all}&userRating%3E%3E=1"),
            section: Some(id.clone()),
        });
    }
    probes
}

pub(super) fn items(body: &[u8]) -> Option<Vec<PlayStateItem>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let container = v.get("MediaContainer")?;
    let Some(list) = container.get("Metadata").and_then(Value::as_array) else {
        // An empty listing has no `Metadata`.
        return Some(Vec::new());
    };
    let text = |m: &Value, k: &str| -> Option<String> {
        match m.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    Some(
        list.iter()
            .filter_map(|m| {
                let id = text(m, "ratingKey")?;
                let mut hasher = FxHasher::default();
                for field in STATE_FIELDS {
                    text(m, field).hash(&mut hasher);
                }
                Some(PlayStateItem {
                    id,
                    parents: ["parentRatingKey", "grandparentRatingKey"]
                        .iter()
                        .filter_map(|k| text(m, k))
                        .collect(),
                    state: hasher.finish(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::library::UserSection;

    fn section(id: &str, kind: &str) -> UserSection {
        UserSection {
            id: id.into(),
            title: id.into(),
            kind: kind.into(),
            uuid: None,
        }
    }

    #[test]
    fn two_probes_per_section_with_playable_items_as_its_leaf_type() {
        let sections = UserSections {
            sections: vec![
                section("1", "artist"),
                section("2", "movie"),
                section("5", "photo"),
                section("../x", "movie"),
            ],
        };
        let p = probes(&sections);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(
            p[0].probe
                .contains("/sections/1/all?type=10&lastViewedAt%3E%3E=1&sort=")
        );
        assert_eq!(
            p[0].whole,
            "/library/sections/1/all?type=10&lastViewedAt%3E%3E=1"
        );
        assert!(p[1].probe.ends_with("X-Plex-Container-Size=0"));
        assert_eq!(p[2].section.as_deref(), Some("2"));
        assert!(p[3].whole.contains("type=1&userRating"));
    }

    #[test]
    fn a_whole_list_gives_each_items_state_and_parents() {
        let body = br#"{"MediaContainer":{"size":2,"Metadata":[
            {"ratingKey":"11","parentRatingKey":"5","grandparentRatingKey":"2","viewCount":3,
             "lastViewedAt":1700000000,"title":"A"},
            {"ratingKey":"12","viewOffset":4000,"lastViewedAt":1700000100}]}}"#;
        let a = items(body).unwrap();
        assert_eq!(a[0].id, "11");
        assert_eq!(a[0].parents, ["5", "2"]);
        assert!(a[1].parents.is_empty());
        let played_again = br#"{"MediaContainer":{"Metadata":[
            {"ratingKey":"11","parentRatingKey":"5","grandparentRatingKey":"2","viewCount":4,
             "lastViewedAt":1700000000,"title":"A"}]}}"#;
        assert_ne!(items(played_again).unwrap()[0].state, a[0].state);
        let retitled = br#"{"MediaContainer":{"Metadata":[
            {"ratingKey":"11","parentRatingKey":"5","grandparentRatingKey":"2","viewCount":3,
             "lastViewedAt":1700000000,"title":"B"}]}}"#;
        assert_eq!(
            items(retitled).unwrap()[0].state,
            a[0].state,
            "only play state counts"
        );
        assert_eq!(items(br#"{"MediaContainer":{"size":0}}"#), Some(Vec::new()));
        assert_eq!(items(b"<MediaContainer/>"), None);
    }
}
