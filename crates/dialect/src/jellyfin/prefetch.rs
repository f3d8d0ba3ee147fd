//! Jellyfin listings whose follow-ups are prefetched (the gateway's `prefetch`):
//! `/Shows/{id}/Seasons` → each `/Shows/{id}/Episodes?seasonId={season}`; `/UserItems/Resume`,
//! `/Users/{id}/Items/Resume` → each `/Items/{id}`. The user id of the listing (`userId=` or
//! the path's) is carried over, so the follow-ups are the requests the client makes next.

use serde_json::Value;

use super::super::{Trigger, is_id};

/// Whether a GET of `path` is a prefetch trigger (paths are case-insensitive).
pub(super) fn trigger(path: &str) -> Option<Trigger> {
    let lower = path.to_ascii_lowercase();
    if lower == "/useritems/resume"
        || (lower.starts_with("/users/") && lower.ends_with("/items/resume"))
    {
        return Some(Trigger::ContinueWatching);
    }
    let rest = lower.strip_prefix("/shows/")?;
    let id = rest.strip_suffix("/seasons")?;
    is_id(id).then_some(Trigger::Seasons)
}

/// The paths to prefetch after a `trigger` listing at `path?query` answered `body`, at most
/// `max`.
pub(super) fn follow_ups(
    trigger: Trigger,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    max: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return out;
    };
    let user = query_param(query, "userId").or_else(|| users_segment(path));
    let show = path.split('/').nth(2).filter(|s| is_id(s));
    let items = value
        .get("Items")
        .and_then(Value::as_array)
        .map(Vec::as_slice);
    for item in items.unwrap_or_default() {
        if out.len() >= max {
            break;
        }
        let Some(id) = item.get("Id").and_then(Value::as_str).filter(|s| is_id(s)) else {
            continue;
        };
        let target = match (trigger, show, &user) {
            (Trigger::Seasons, Some(show), Some(user)) => {
                format!("/Shows/{show}/Episodes?seasonId={id}&userId={user}")
            }
            (Trigger::Seasons, Some(show), None) => {
                format!("/Shows/{show}/Episodes?seasonId={id}")
            }
            (Trigger::Seasons, None, _) => continue,
            (Trigger::ContinueWatching, _, Some(user)) => {
                format!("/Items/{id}?userId={user}")
            }
            (Trigger::ContinueWatching, _, None) => format!("/Items/{id}"),
        };
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

/// Reads a query parameter, case-insensitively (Jellyfin's are), when it is an id.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
        .filter(|v| is_id(v))
}

/// `/Users/{id}/…` → the id.
fn users_segment(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    let (Some(""), Some(users), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    (users.eq_ignore_ascii_case("users") && is_id(id)).then(|| id.to_owned())
}
