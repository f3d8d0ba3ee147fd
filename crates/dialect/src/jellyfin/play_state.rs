//! The requests that watch Jellyfin users' play state (the library copy's `play_watch`), and
//! how their answers read.
//!
//! **Every user's plays, in one request**: the activity log read with the owner's (an
//! administrator's) token, `/System/ActivityLog/Entries?hasUserId=true&minDate=…`, newest
//! first. The server writes an entry when a playback starts (`VideoPlayback`,
//! `AudioPlayback`) and when it stops (`VideoPlaybackStopped`, `AudioPlaybackStopped`), each
//! with the user's `UserId` and the item's `ItemId` (`PlaybackStartLogger`,
//! `PlaybackStopLogger`); a playback is when a user's data changes (its start counts the
//! play and sets `LastPlayedDate`, its stop the resume point or the played mark). 10.10,
//! 10.11 and 12 all read `startIndex`, `limit`, `minDate` (at or after) and `hasUserId`, and
//! sort by date, newest first; the log also lists sign-ins and sessions (no item).
//!
//! **What the log does not list** — a mark as played or unplayed, a favourite, a rating — is
//! probed per user, across every library the user sees (the token's user): the item they
//! played last with how many they have played (a play or a mark as played sets
//! `LastPlayedDate`; a mark as unplayed lowers the count), the item they resumed last with
//! how many are resumable (a resume point), and how many are favourites. The socket carries
//! `UserDataChanged` only to the changed user's own sessions (`UserDataChangeNotifier`), so
//! only the owner's changes reach cachearr that way.

use rustc_hash::FxHasher;
use serde_json::Value;
use std::hash::{Hash, Hasher};

use crate::model::library::{
    PLAYS_PAGE, PlayCursor, PlayStateItem, PlayStateProbe, PlayedEntry, ProbeDigest,
};

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
    items_in(&v)
}

/// A probe's page as what it says of play state: how many items the list holds
/// (`TotalRecordCount`) and the `UserData` of those it shows, never their names.
pub(super) fn digest(body: &[u8]) -> Option<ProbeDigest> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let mut hasher = FxHasher::default();
    let count = v.get("TotalRecordCount");
    count.map(Value::to_string).hash(&mut hasher);
    for item in items_in(&v)? {
        item.id.hash(&mut hasher);
        item.state.hash(&mut hasher);
    }
    Some(ProbeDigest {
        state: hasher.finish(),
        total: count.and_then(Value::as_u64),
    })
}

fn items_in(v: &Value) -> Option<Vec<PlayStateItem>> {
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

/// The activity log from `cursor` on (`minDate` its time: entries of that same moment are
/// read again, told apart by their ids), newest first, page `start`; without a cursor, the
/// newest entry alone.
pub(super) fn plays_since(cursor: Option<&PlayCursor>, start: usize) -> String {
    const LOG: &str = "/System/ActivityLog/Entries?hasUserId=true";
    match cursor {
        None => format!("{LOG}&startIndex=0&limit=1"),
        Some(c) => {
            // No date yet (the log was empty when first read): from the beginning.
            let at = date_param(&c.at);
            let since = if at.len() >= 10 {
                format!("&minDate={at}")
            } else {
                String::new()
            };
            format!("{LOG}{since}&startIndex={start}&limit={PLAYS_PAGE}")
        }
    }
}

/// A date the server wrote, given back to it in a query: an ISO 8601 date's characters only,
/// colons written `%3A`.
fn date_param(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            ':' => out.push_str("%3A"),
            c if c.is_ascii_digit() || matches!(c, '-' | 'T' | '.' | 'Z') => out.push(c),
            _ => {}
        }
    }
    out
}

/// The entries of an activity-log answer (JSON), newest first: each playback's item and
/// user; any other entry (a sign-in, a session) with no item, so that it still moves the
/// cursor.
pub(super) fn played_entries(body: &[u8]) -> Option<Vec<PlayedEntry>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let list = v.get("Items")?.as_array()?;
    let text = |m: &Value, k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
    };
    Some(
        list.iter()
            .filter_map(|m| {
                let id = m.get("Id")?.as_u64()?;
                let at = m.get("Date")?.as_str()?.to_owned();
                let playback = m
                    .get("Type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.contains("Playback"));
                let item = text(m, "ItemId").filter(|_| playback).unwrap_or_default();
                Some(PlayedEntry {
                    id,
                    at,
                    item,
                    parents: Vec::new(),
                    section: None,
                    by_owner: None,
                    user: text(m, "UserId").map(|u| u.replace('-', "")),
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
    fn the_activity_log_is_read_from_the_cursor_on_and_each_playback_says_whose() {
        assert!(plays_since(None, 0).ends_with("hasUserId=true&startIndex=0&limit=1"));
        let cursor = PlayCursor {
            at: "2026-11-28T10:00:00.1234567Z".into(),
            id: 7,
        };
        let path = plays_since(Some(&cursor), 50);
        assert!(
            path.ends_with("&minDate=2026-11-28T10%3A00%3A00.1234567Z&startIndex=50&limit=50"),
            "{path}"
        );
        let forged = PlayCursor {
            at: "2026-11-28&limit=1#".into(),
            id: 0,
        };
        assert!(plays_since(Some(&forged), 0).contains("&minDate=2026-11-281&startIndex=0&"));
        let empty_log = PlayCursor {
            at: "0".into(),
            id: 0,
        };
        assert!(plays_since(Some(&empty_log), 0).ends_with("hasUserId=true&startIndex=0&limit=50"));
        let body = br#"{"Items":[
            {"Id":12,"Name":"alice is playing A on TV","Type":"VideoPlayback",
             "ItemId":"AB12CD34AB12CD34AB12CD34AB12CD34","Date":"2026-11-28T10:00:01.5Z",
             "UserId":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","Severity":"Information"},
            {"Id":11,"Name":"alice has authenticated","Type":"AuthenticationSucceeded",
             "Date":"2026-11-28T10:00:00Z","UserId":"0f1e2d3c4b5a69788796a5b4c3d2e1f0",
             "Severity":"Information"},
            {"Name":"no id","Type":"VideoPlayback","Date":"2026-11-28T10:00:00Z"}],
            "TotalRecordCount":3,"StartIndex":0}"#;
        let plays = played_entries(body).unwrap();
        assert_eq!(plays.len(), 2, "{plays:?}");
        assert_eq!(
            plays[0],
            PlayedEntry {
                id: 12,
                at: "2026-11-28T10:00:01.5Z".into(),
                item: "ab12cd34ab12cd34ab12cd34ab12cd34".into(),
                parents: Vec::new(),
                section: None,
                by_owner: None,
                user: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
            }
        );
        assert_eq!(
            plays[1].item, "",
            "a sign-in moves the cursor, names no play"
        );
        assert_eq!(
            played_entries(br#"{"Items":[],"TotalRecordCount":0}"#),
            Some(Vec::new())
        );
        assert_eq!(played_entries(b"[]"), None);
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
