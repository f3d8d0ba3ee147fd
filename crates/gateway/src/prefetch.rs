//! Prefetch: after answering a listing, fetch in the background what the user is most
//! likely to open next, so that their next click is a cache hit.
//!
//! Two rules, as the seed's Kodi add-on does them:
//! - **a show's seasons → their episodes**: Plex `/library/metadata/{show}/children` answering
//!   seasons → each `/library/metadata/{season}/children`; Jellyfin `/Shows/{id}/Seasons` →
//!   each `/Shows/{id}/Episodes?seasonId={season}`;
//! - **a continue-watching hub → its items' metadata**: Plex `/hubs/continueWatching`,
//!   `/hubs/home/continueWatching`, `/library/onDeck` → each `/library/metadata/{ratingKey}`;
//!   Jellyfin `/UserItems/Resume`, `/Users/{id}/Items/Resume` → each item.
//!
//! [`after_listing`] is called by the proxy once the response is on its way: it decides from
//! the path alone (a few string comparisons, no allocation) whether this is a trigger, and only
//! then spawns a task, so the response is never delayed. The task parses the body
//! ([`follow_ups`], XML or JSON), takes at most `max_per_listing` targets and fetches them one
//! after another through [`crate::Gateway::fetch_as`], i.e. through the cache (a fresh entry
//! costs nothing) on the upstream's background budget, which yields to clients. At most
//! [`MAX_TASKS`] prefetch tasks run at once per process; a listing beyond that is not prefetched
//! (and counted as `dropped`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::Value;

use crate::Gateway;
use crate::policy::Profile;
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// Prefetch tasks allowed at once across the process.
pub const MAX_TASKS: usize = 8;

/// Listing bodies larger than this are not parsed for prefetch targets (a continue-watching hub
/// or a show's seasons are a few KB; anything much larger is not one of them).
const MAX_BODY: usize = 4 * 1024 * 1024;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Follow-ups already worked out, by cached body. A hot listing is answered again and again
/// from the same cached `Bytes`, and parsing it on every answer cost ~100 µs of CPU per hit
/// (a 1,000-request burst on one album spent most of its time here). Holding a clone of the
/// `Bytes` keeps its allocation alive, so its address and length name the same immutable bytes
/// for as long as the memo holds it.
static PARSED: Mutex<VecDeque<Parsed>> = Mutex::new(VecDeque::new());
/// Bodies remembered at most (each at most [`MEMO_MAX_BODY`]: ≤ 16 MiB held in all).
const MEMO_ENTRIES: usize = 64;
const MEMO_MAX_BODY: usize = 256 * 1024;

struct Parsed {
    body: Bytes,
    trigger: Trigger,
    max: usize,
    targets: Arc<[String]>,
}

fn same_body(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

fn memo_get(body: &Bytes, trigger: Trigger, max: usize) -> Option<Arc<[String]>> {
    let memo = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    memo.iter()
        .find(|p| p.trigger == trigger && p.max == max && same_body(&p.body, body))
        .map(|p| Arc::clone(&p.targets))
}

fn memo_put(body: &Bytes, trigger: Trigger, max: usize, targets: Arc<[String]>) {
    if body.len() > MEMO_MAX_BODY {
        return;
    }
    let mut memo = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if memo.len() >= MEMO_ENTRIES {
        memo.pop_front();
    }
    memo.push_back(Parsed {
        body: body.clone(),
        trigger,
        max,
        targets,
    });
}

/// What kind of listing triggered a prefetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A show's (or any parent's) children: prefetch the children of those that are seasons.
    Seasons,
    /// A continue-watching / on-deck / resume listing: prefetch each item's metadata.
    ContinueWatching,
}

/// Whether a GET of `path` on a `profile` server is a prefetch trigger.
pub fn trigger(profile: Profile, path: &str) -> Option<Trigger> {
    match profile {
        Profile::Plex => {
            if path == "/hubs/continueWatching"
                || path == "/hubs/home/continueWatching"
                || path == "/library/onDeck"
            {
                return Some(Trigger::ContinueWatching);
            }
            let rest = path.strip_prefix("/library/metadata/")?;
            let id = rest.strip_suffix("/children")?;
            is_id(id).then_some(Trigger::Seasons)
        }
        Profile::Jellyfin => {
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
    }
}

fn is_id(s: &str) -> bool {
    crate::events::valid_id(s).is_some()
}

/// Reads a query parameter (case-insensitively for Jellyfin, whose parameters are).
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
        .filter(|v| is_id(v))
}

/// The paths to prefetch after a `trigger` listing at `path?query` answered `body`, at most
/// `max` of them, in listing order.
pub fn follow_ups(
    profile: Profile,
    trigger: Trigger,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    max: usize,
) -> Vec<String> {
    if max == 0 || body.len() > MAX_BODY {
        return Vec::new();
    }
    let mut out = Vec::new();
    match profile {
        Profile::Plex => {
            for item in plex_items(body) {
                if out.len() >= max {
                    break;
                }
                let target = match trigger {
                    Trigger::Seasons if item.kind.as_deref() == Some("season") => {
                        format!("/library/metadata/{}/children", item.id)
                    }
                    Trigger::Seasons => continue,
                    Trigger::ContinueWatching => format!("/library/metadata/{}", item.id),
                };
                if !out.contains(&target) {
                    out.push(target);
                }
            }
        }
        Profile::Jellyfin => {
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
        }
    }
    out
}

/// `/Users/{id}/…` → the id.
fn users_segment(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    let (Some(""), Some(users), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    (users.eq_ignore_ascii_case("users") && is_id(id)).then(|| id.to_owned())
}

/// An item of a Plex listing: its rating key and type.
#[derive(Debug, PartialEq, Eq)]
struct PlexItem {
    id: String,
    kind: Option<String>,
}

/// The items of a Plex listing, JSON (`MediaContainer.Metadata[]`, `MediaContainer.Hub[].Metadata[]`)
/// or XML (`<Directory|Video|Track|Photo ratingKey= type=>` at any depth).
fn plex_items(body: &[u8]) -> Vec<PlexItem> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        let container = value.get("MediaContainer");
        let direct = container
            .and_then(|c| c.get("Metadata"))
            .and_then(Value::as_array);
        let hubs = container
            .and_then(|c| c.get("Hub"))
            .and_then(Value::as_array);
        let from_hubs = hubs
            .into_iter()
            .flatten()
            .filter_map(|hub| hub.get("Metadata").and_then(Value::as_array))
            .flatten();
        direct
            .into_iter()
            .flatten()
            .chain(from_hubs)
            .filter_map(|m| {
                let id = crate::events::plex::id_of(m.get("ratingKey"))?;
                is_id(&id).then(|| PlexItem {
                    id,
                    kind: m.get("type").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect()
    } else {
        plex_xml_items(body)
    }
}

fn plex_xml_items(body: &[u8]) -> Vec<PlexItem> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut items = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let name = e.name();
                if matches!(name.as_ref(), b"Directory" | b"Video" | b"Track" | b"Photo") {
                    let mut id = None;
                    let mut kind = None;
                    for attr in e.attributes().flatten() {
                        let value = String::from_utf8_lossy(&attr.value).into_owned();
                        match attr.key.as_ref() {
                            b"ratingKey" => id = Some(value),
                            b"type" => kind = Some(value),
                            _ => {}
                        }
                    }
                    if let Some(id) = id.filter(|i| is_id(i)) {
                        items.push(PlexItem { id, kind });
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    items
}

/// Releases a prefetch slot when the task ends, however it ends.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        RUNNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_TASKS).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Called by the proxy after it answered a cached GET of `path?query` for `user`: if the path is
/// a trigger, prefetches the follow-ups in the background. Returns at once either way.
pub fn after_listing(
    gateway: &Gateway,
    upstream: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
    query: Option<&str>,
    body: &Bytes,
) {
    let settings = &upstream.config.prefetch;
    if !settings.enabled || settings.max_per_listing == 0 {
        return;
    }
    let Some(trigger) = trigger(upstream.profile, path) else {
        return;
    };
    let max = settings.max_per_listing;
    let known = memo_get(body, trigger, max);
    if known.as_ref().is_some_and(|t| t.is_empty()) {
        // This very body was parsed before and names nothing to prefetch (an album's tracks).
        return;
    }
    let metrics = gateway.metrics().clone();
    let label = Arc::new(upstream.name.to_string());
    let Some(slot) = Slot::take() else {
        metrics.prefetch(&label, "dropped");
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let gateway = gateway.clone();
    let upstream = Arc::clone(upstream);
    let user = Arc::clone(user);
    let path = path.to_owned();
    let query = query.map(str::to_owned);
    // `Bytes` is shared: the body is not copied.
    let body = body.clone();
    runtime.spawn(async move {
        let _slot = slot;
        let targets = match known {
            Some(targets) => targets,
            None => {
                let targets: Arc<[String]> = follow_ups(
                    upstream.profile,
                    trigger,
                    &path,
                    query.as_deref(),
                    &body,
                    max,
                )
                .into();
                memo_put(&body, trigger, max, Arc::clone(&targets));
                targets
            }
        };
        for target in targets.iter() {
            metrics.prefetch(&label, "queued");
            match gateway.fetch_as(&upstream.name, &user, target).await {
                Ok(_) => metrics.prefetch(&label, "fetched"),
                Err(err) => {
                    metrics.prefetch(&label, "failed");
                    tracing::debug!(upstream = %upstream.name, error = %err, "prefetch failed");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_are_remembered_by_the_very_body_not_its_content() {
        let body = Bytes::from(b"{\"MediaContainer\":{\"Metadata\":[]}}".to_vec());
        let twin = Bytes::from(body.to_vec());
        let targets: Arc<[String]> = vec!["/library/metadata/7/children".to_string()].into();
        memo_put(&body, Trigger::Seasons, 3, Arc::clone(&targets));
        assert_eq!(memo_get(&body.clone(), Trigger::Seasons, 3), Some(targets));
        // Same bytes in another allocation, another trigger or another limit: not this memo.
        assert_eq!(memo_get(&twin, Trigger::Seasons, 3), None);
        assert_eq!(memo_get(&body, Trigger::ContinueWatching, 3), None);
        assert_eq!(memo_get(&body, Trigger::Seasons, 4), None);
    }

    #[test]
    fn triggers_by_path() {
        assert_eq!(
            trigger(Profile::Plex, "/library/metadata/12/children"),
            Some(Trigger::Seasons)
        );
        assert_eq!(
            trigger(Profile::Plex, "/hubs/continueWatching"),
            Some(Trigger::ContinueWatching)
        );
        assert_eq!(
            trigger(Profile::Plex, "/library/onDeck"),
            Some(Trigger::ContinueWatching)
        );
        assert_eq!(trigger(Profile::Plex, "/library/metadata/12"), None);
        assert_eq!(
            trigger(Profile::Plex, "/library/metadata/a b/children"),
            None
        );
        assert_eq!(trigger(Profile::Plex, "/library/sections/1/all"), None);
        assert_eq!(
            trigger(Profile::Jellyfin, "/Shows/abc123/Seasons"),
            Some(Trigger::Seasons)
        );
        assert_eq!(
            trigger(Profile::Jellyfin, "/Users/u1/Items/Resume"),
            Some(Trigger::ContinueWatching)
        );
        assert_eq!(
            trigger(Profile::Jellyfin, "/UserItems/Resume"),
            Some(Trigger::ContinueWatching)
        );
        assert_eq!(trigger(Profile::Jellyfin, "/Items"), None);
    }

    #[test]
    fn plex_seasons_xml_to_episode_listings() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="3" key="20" parentTitle="Show">
  <Directory leafCount="10" key="/library/metadata/20/allLeaves" title="All episodes" />
  <Directory ratingKey="21" key="/library/metadata/21/children" type="season" title="Season 1" />
  <Directory ratingKey="22" key="/library/metadata/22/children" type="season" title="Season 2" />
  <Directory ratingKey="23" key="/library/metadata/23/children" type="season" title="Season 3" />
</MediaContainer>"#;
        let got = follow_ups(
            Profile::Plex,
            Trigger::Seasons,
            "/library/metadata/20/children",
            None,
            xml,
            2,
        );
        assert_eq!(
            got,
            vec![
                "/library/metadata/21/children",
                "/library/metadata/22/children"
            ]
        );
    }

    #[test]
    fn plex_children_that_are_not_seasons_trigger_nothing() {
        let xml = br#"<MediaContainer><Track ratingKey="31" type="track"/><Track ratingKey="32" type="track"/></MediaContainer>"#;
        let got = follow_ups(
            Profile::Plex,
            Trigger::Seasons,
            "/library/metadata/30/children",
            None,
            xml,
            20,
        );
        assert!(got.is_empty());
    }

    #[test]
    fn plex_continue_watching_json_hubs_to_metadata() {
        let json = br#"{"MediaContainer":{"size":1,"Hub":[{"hubIdentifier":"home.continue","Metadata":[
            {"ratingKey":"101","type":"episode"},{"ratingKey":102,"type":"movie"},{"ratingKey":"101","type":"episode"},
            {"ratingKey":"../../x","type":"movie"}]}]}}"#;
        let got = follow_ups(
            Profile::Plex,
            Trigger::ContinueWatching,
            "/hubs/continueWatching",
            None,
            json,
            20,
        );
        assert_eq!(got, vec!["/library/metadata/101", "/library/metadata/102"]);
    }

    #[test]
    fn plex_on_deck_xml_videos() {
        let xml = br#"<MediaContainer size="2"><Video ratingKey="7" type="episode"><Media/></Video><Video ratingKey="8" type="movie"/></MediaContainer>"#;
        let got = follow_ups(
            Profile::Plex,
            Trigger::ContinueWatching,
            "/library/onDeck",
            None,
            xml,
            20,
        );
        assert_eq!(got, vec!["/library/metadata/7", "/library/metadata/8"]);
    }

    #[test]
    fn jellyfin_seasons_and_resume() {
        let seasons = br#"{"Items":[{"Id":"s1","Type":"Season"},{"Id":"s2","Type":"Season"}],"TotalRecordCount":2}"#;
        let got = follow_ups(
            Profile::Jellyfin,
            Trigger::Seasons,
            "/Shows/show9/Seasons",
            Some("userId=u1&Fields=Overview"),
            seasons,
            20,
        );
        assert_eq!(
            got,
            vec![
                "/Shows/show9/Episodes?seasonId=s1&userId=u1",
                "/Shows/show9/Episodes?seasonId=s2&userId=u1"
            ]
        );
        let resume = br#"{"Items":[{"Id":"e5"},{"Id":"bad id"}]}"#;
        let got = follow_ups(
            Profile::Jellyfin,
            Trigger::ContinueWatching,
            "/Users/u2/Items/Resume",
            None,
            resume,
            20,
        );
        assert_eq!(got, vec!["/Items/e5?userId=u2"]);
    }

    #[test]
    fn garbage_bodies_yield_nothing() {
        for body in [
            &b""[..],
            b"{",
            b"<MediaContainer><Directory",
            b"\xff\xfe",
            b"[1,2,3]",
        ] {
            for profile in [Profile::Plex, Profile::Jellyfin] {
                for trig in [Trigger::Seasons, Trigger::ContinueWatching] {
                    assert!(
                        follow_ups(profile, trig, "/Shows/x/Seasons", None, body, 20).is_empty()
                    );
                }
            }
        }
    }
}
