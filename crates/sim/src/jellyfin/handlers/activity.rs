//! `GET /System/ActivityLog/Entries` (administrators): the server's activity log, of which
//! the simulator keeps what playback writes — `{Video|Audio}Playback` when a playback starts,
//! `{Video|Audio}PlaybackStopped` when it stops, each with the user and the item
//! (`PlaybackStartLogger`, `PlaybackStopLogger`) — newest first.
//!
//! The query is 10.10's, which 10.11 and 12 keep: `startIndex`, `limit` (100 when absent),
//! `minDate` (entries at or after it) and `hasUserId`; 12's added filters are not read. An
//! entry is written as the server writes it: no null field, ids as 32 hex digits, the date
//! in UTC with seven fraction digits.

use super::*;

use crate::state::PlaybackRecord;

/// `ActivityLogEntry`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ActivityLogEntry {
    id: u64,
    name: String,
    r#type: &'static str,
    item_id: String,
    date: String,
    user_id: String,
    severity: &'static str,
}

pub(super) fn activity_entries(front: &Front, req: &Req, caller: &User) -> Result<Reply, ApiError> {
    if !caller.is_owner {
        return Err(ApiError::Forbidden);
    }
    let start = req.query.count("startIndex")?.unwrap_or(0);
    let limit = req.query.count("limit")?.unwrap_or(100);
    let since = match req.query.str("minDate") {
        None => None,
        Some(raw) => {
            Some(parse_iso8601(raw).ok_or_else(|| ApiError::invalid_value("minDate", raw))?)
        }
    };
    // Every playback entry has a user: `hasUserId=false` lists none of them.
    let with_users = req.query.bool("hasUserId")?.unwrap_or(true);
    let mut records: Vec<PlaybackRecord> = front
        .sim
        .state()
        .playbacks()
        .iter()
        .filter(|r| with_users && since.is_none_or(|s| i64::from(r.at) >= s))
        .cloned()
        .collect();
    records.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    let total = records.len();
    let users: Vec<User> = front.sim.state().users().to_vec();
    let lib = front.sim.library();
    let items: Vec<ActivityLogEntry> = records
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| entry(&lib, &users, r))
        .collect();
    let work = Work {
        scanned: total as u64,
        returned: items.len() as u64,
    };
    let page = QueryResult {
        items,
        total_record_count: total,
        start_index: start,
    };
    Ok(Reply::json(req.casing, &page, work))
}

/// One record as the server's loggers write it.
fn entry(lib: &crate::library::Library, users: &[User], r: &PlaybackRecord) -> ActivityLogEntry {
    let user = users.iter().find(|u| u.id == r.user);
    let item = lib.item_any(r.item);
    let audio = item.is_some_and(|i| i.kind() == ItemKind::Track);
    let name = item.map_or_else(String::new, |i| {
        // `GetItemName`: the artist or the series before the title.
        match i.kind() {
            ItemKind::Track | ItemKind::Episode => i.grandparent().map_or_else(
                || i.title().to_owned(),
                |g| format!("{} - {}", g.title(), i.title()),
            ),
            _ => i.title().to_owned(),
        }
    });
    let who = user.map_or("", |u| u.name.as_str());
    let text = if r.stopped {
        format!("{who} has finished playing {name} on {}", r.device)
    } else {
        format!("{who} is playing {name} on {}", r.device)
    };
    ActivityLogEntry {
        id: r.id,
        name: text,
        r#type: match (audio, r.stopped) {
            (true, false) => "AudioPlayback",
            (true, true) => "AudioPlaybackStopped",
            (false, false) => "VideoPlayback",
            (false, true) => "VideoPlaybackStopped",
        },
        item_id: item.map(|i| i.guid_id()).unwrap_or_default(),
        date: iso8601(i64::from(r.at)),
        user_id: user.map(|u| u.jellyfin_id.clone()).unwrap_or_default(),
        severity: "Information",
    }
}
