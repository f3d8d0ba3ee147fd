//! The requests that watch Plex users' play state (the library copy's `play_watch`), and how
//! their answers read.
//!
//! **Every user's plays, in one request**: the play history read with the owner's token,
//! `/status/sessions/history/all?sort=viewedAt:desc`, lists the plays of every account of the
//! server (python-plexapi's `history()` reads it so), each with its item, the item's parents
//! and section, `viewedAt` and the `accountID` (the owner is account 1 on every server).
//! Read from the last play seen (`viewedAt>=`), it is empty while nobody plays.
//!
//! **What the history does not list** — a mark as played or unplayed, a resume point saved
//! without a play, a rating — is probed per user, per section with playable items, as its
//! leaf type: the item the user played or started last with how many they have (a play, a
//! mark as played or a resume point sets `lastViewedAt`; a mark as unplayed clears it, so the
//! count falls), and how many they have rated (a rating given or taken away). Plex filters
//! and sorts by `lastViewedAt` but has no filter or sort on `lastRatedAt`, so a rating changed
//! from one value to another shows in neither probe: sampled revalidation is what finds it.

use rustc_hash::FxHasher;
use serde_json::Value;
use std::hash::{Hash, Hasher};

use crate::model::library::{
    PLAYS_PAGE, PlayCursor, PlayStateItem, PlayStateProbe, PlayedEntry, ProbeDigest, UserSections,
};

/// The owner's account id in a server's play history: 1 on every Plex server.
const OWNER_ACCOUNT: &str = "1";

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
                "{all}&userRating%3E%3E=-1&X-Plex-Container-Start=0&X-Plex-Container-Size=0"
            ),
            whole: format!("{all}&userRating%3E%3E=-1"),
            section: Some(id.clone()),
        });
    }
    probes
}

pub(super) fn items(body: &[u8]) -> Option<Vec<PlayStateItem>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    Some(items_in(v.get("MediaContainer")?))
}

/// A probe's page as what it says of play state: how many items the list holds (`totalSize`,
/// else `size`) and the state of those it shows ([`STATE_FIELDS`]), never their titles.
pub(super) fn digest(body: &[u8]) -> Option<ProbeDigest> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let container = v.get("MediaContainer")?;
    let mut hasher = FxHasher::default();
    let count = container.get("totalSize").or_else(|| container.get("size"));
    count.map(Value::to_string).hash(&mut hasher);
    for item in items_in(container) {
        item.id.hash(&mut hasher);
        item.state.hash(&mut hasher);
    }
    // `totalSize` alone is the whole list's count (`size` is the page's).
    let total = container.get("totalSize").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    });
    Some(ProbeDigest {
        state: hasher.finish(),
        total,
    })
}

fn items_in(container: &Value) -> Vec<PlayStateItem> {
    let Some(list) = container.get("Metadata").and_then(Value::as_array) else {
        // An empty listing has no `Metadata`.
        return Vec::new();
    };
    let text = |m: &Value, k: &str| -> Option<String> {
        match m.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    };
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
        .collect()
}

/// The play history from `cursor` on (`viewedAt>=` its time: plays of that same second are
/// read again, told apart by their ids), newest first, page `start`; without a cursor, the
/// newest play alone.
pub(super) fn plays_since(cursor: Option<&PlayCursor>, start: usize) -> String {
    const HISTORY: &str = "/status/sessions/history/all?sort=viewedAt%3Adesc";
    match cursor {
        None => format!("{HISTORY}&X-Plex-Container-Start=0&X-Plex-Container-Size=1"),
        Some(c) => {
            // The time goes back to the server as it wrote it: digits only.
            let at: String = c.at.chars().filter(char::is_ascii_digit).collect();
            let at = if at.is_empty() { "0" } else { at.as_str() };
            format!(
                "{HISTORY}&viewedAt%3E={at}&X-Plex-Container-Start={start}\
                 &X-Plex-Container-Size={PLAYS_PAGE}"
            )
        }
    }
}

/// The plays of a play-history answer (JSON), newest first.
pub(super) fn played_entries(body: &[u8]) -> Option<Vec<PlayedEntry>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let container = v.get("MediaContainer")?;
    let Some(list) = container.get("Metadata").and_then(Value::as_array) else {
        return Some(Vec::new());
    };
    let text = |m: &Value, k: &str| -> Option<String> {
        match m.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    Some(
        list.iter()
            .filter_map(|m| {
                // `historyKey` is `/status/sessions/history/{id}`.
                let id = text(m, "historyKey")?.rsplit('/').next()?.parse().ok()?;
                Some(PlayedEntry {
                    id,
                    at: text(m, "viewedAt")?,
                    item: text(m, "ratingKey")?,
                    parents: ["parentRatingKey", "grandparentRatingKey"]
                        .iter()
                        .filter_map(|k| text(m, k))
                        .collect(),
                    section: text(m, "librarySectionID"),
                    by_owner: text(m, "accountID").map(|a| a == OWNER_ACCOUNT),
                    user: None,
                })
            })
            .collect(),
    )
}

/// The sections an answer shows items of: each `librarySectionID` in it (XML attribute or
/// JSON field; Plex writes it on a section's listing, an item's metadata and children, and
/// on each item of an answer that spans sections). `None` when it names none.
pub(super) fn sections_shown(body: &[u8]) -> Option<Vec<String>> {
    const NAME: &[u8] = b"librarySectionID";
    let mut out: Vec<String> = Vec::new();
    for at in memchr::memmem::find_iter(body, NAME) {
        // `librarySectionID="3"` or `"librarySectionID":3` / `:"3"`.
        let rest = &body[at + NAME.len()..];
        let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
        let Some(rest) = rest.strip_prefix(b"=").or_else(|| rest.strip_prefix(b":")) else {
            continue;
        };
        let rest = rest.trim_ascii_start();
        let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            continue;
        }
        let id = &rest[..digits];
        if !out.iter().any(|s| s.as_bytes() == id) {
            out.push(String::from_utf8_lossy(id).into_owned());
        }
    }
    (!out.is_empty()).then_some(out)
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
        // Every rating counts, 0 and 1 included (`>>` is "greater than").
        assert!(p[3].whole.ends_with("type=1&userRating%3E%3E=-1"), "{p:?}");
    }

    #[test]
    fn the_history_is_read_from_the_cursor_on_and_each_play_says_whose() {
        assert!(plays_since(None, 0).ends_with("X-Plex-Container-Size=1"));
        let cursor = PlayCursor {
            at: "1700000000".into(),
            id: 7,
        };
        let path = plays_since(Some(&cursor), 50);
        assert!(path.contains("&viewedAt%3E=1700000000&X-Plex-Container-Start=50&"));
        let forged = PlayCursor {
            at: "1&x=2".into(),
            id: 0,
        };
        assert!(plays_since(Some(&forged), 0).contains("viewedAt%3E=12&"));
        let body = br#"{"MediaContainer":{"size":2,"Metadata":[
            {"historyKey":"/status/sessions/history/9","ratingKey":"11","parentRatingKey":"5",
             "grandparentRatingKey":"2","librarySectionID":"1","viewedAt":1700000100,
             "accountID":3},
            {"historyKey":"/status/sessions/history/8","ratingKey":"40",
             "librarySectionID":"2","viewedAt":1700000000,"accountID":1}]}}"#;
        let plays = played_entries(body).unwrap();
        assert_eq!(plays.len(), 2);
        assert_eq!(
            plays[0],
            PlayedEntry {
                id: 9,
                at: "1700000100".into(),
                item: "11".into(),
                parents: vec!["5".into(), "2".into()],
                section: Some("1".into()),
                by_owner: Some(false),
                user: None,
            }
        );
        assert_eq!(plays[1].by_owner, Some(true));
        assert_eq!(
            played_entries(br#"{"MediaContainer":{"size":0}}"#),
            Some(Vec::new())
        );
        assert_eq!(played_entries(b"<MediaContainer/>"), None);
    }

    #[test]
    fn a_probe_says_its_lists_count_and_a_renamed_item_leaves_it() {
        let empty = br#"{"MediaContainer":{"size":0,"totalSize":0}}"#;
        assert_eq!(digest(empty).unwrap().total, Some(0));
        let one = |title: &str| {
            format!(
                r#"{{"MediaContainer":{{"size":1,"totalSize":"7","Metadata":[
                {{"ratingKey":"5","title":"{title}","viewCount":2,"lastViewedAt":9}}]}}}}"#
            )
        };
        let first = digest(one("A").as_bytes()).unwrap();
        assert_eq!(first.total, Some(7), "its whole list holds seven");
        assert_eq!(first.state, digest(one("B").as_bytes()).unwrap().state);
        assert_ne!(first.state, digest(empty).unwrap().state);
        // A page with no `totalSize` says nothing of the whole list.
        assert_eq!(
            digest(br#"{"MediaContainer":{"size":0}}"#).unwrap().total,
            None
        );
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

    #[test]
    fn sections_shown_reads_every_section_id_once() {
        let xml = br#"<MediaContainer size="2" librarySectionID="3"><Video ratingKey="1" librarySectionID="3"/><Track librarySectionID="12"/></MediaContainer>"#;
        assert_eq!(
            super::sections_shown(xml),
            Some(vec!["3".into(), "12".into()])
        );
        let json = br#"{"MediaContainer":{"Metadata":[{"librarySectionID":4},{"librarySectionID": "7"}]}}"#;
        assert_eq!(
            super::sections_shown(json),
            Some(vec!["4".into(), "7".into()])
        );
        assert_eq!(
            super::sections_shown(br#"<MediaContainer size="0"/>"#),
            None
        );
        assert_eq!(super::sections_shown(br#"{"librarySectionID":""}"#), None);
    }
}
