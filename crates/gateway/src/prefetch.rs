//! Prefetch: after answering a listing, fetch in the background what the user is most
//! likely to open next, so that their next click is a cache hit.
//!
//! Two rules, as a media-center add-on browses:
//! - **a show's seasons → their episodes**: Plex `/library/metadata/{show}/children` answering
//!   seasons → each `/library/metadata/{season}/children`; Jellyfin `/Shows/{id}/Seasons` →
//!   each `/Shows/{id}/Episodes?seasonId={season}`;
//! - **a continue-watching hub → its items' metadata**: Plex `/hubs/continueWatching`,
//!   `/hubs/home/continueWatching`, `/library/onDeck` → each `/library/metadata/{ratingKey}`;
//!   Jellyfin `/UserItems/Resume`, `/Users/{id}/Items/Resume` → each item.
//!
//! Which paths trigger and what a listing names are the dialect's
//! ([`cachearr_dialect::Dialect::prefetch_trigger`], [`cachearr_dialect::Dialect::follow_ups`]);
//! this file holds what is the same for every server: the memo, the task slots, the fetches.
//!
//! [`after_listing`] is called by the proxy once the response is on its way: it decides from
//! the path alone (a few string comparisons, no allocation) whether this is a trigger, and only
//! then spawns a task, so the response is never delayed. The task parses the body
//! ([`follow_ups`], XML or JSON), takes at most `max_per_listing` targets and fetches them one
//! after another through [`crate::gateway::Gateway::fetch_as`], i.e. through the cache (a fresh entry
//! costs nothing) on the upstream's background budget, which yields to clients. At most
//! [`MAX_TASKS`] prefetch tasks run at once per process; a listing beyond that is not prefetched
//! (and counted as `dropped`).
//!
//! **Not while syncing.** A client that counts a listing before walking it (Jellyfin for
//! Kodi) is syncing the library: for a minute after such a count its user's seasons listings
//! are not followed (the listing windows, `batch::windows`, remember the counts).
//!
//! **Only what is read.** A prefetch only pays when the client then reads the very entries it
//! filled: Jellyfin for Kodi lists a series' seasons and then pages through the whole series'
//! episodes, never one season's, so each season's episodes prefetched after its seasons
//! listing cost the server a request nobody reads. Each upstream's
//! [`Ledger`](cachearr_upstream::client::Ledger) watches the entries it filled: a client reading
//! one of a listing's targets says the prefetch was read; the same user reading a target's path
//! under another key (other parameters) while none of the listing's targets was read says it was
//! not. Per trigger and client name, once the listings prefetched lately
//! ([`VERDICTS`](cachearr_upstream::client::VERDICTS)) have all gone unread, that client's listings
//! are no longer followed, except one in [`PROBE_EVERY`](cachearr_upstream::client::PROBE_EVERY)
//! (its first target only), so a changed habit is seen again. A target is watched for
//! [`WATCH_MS`](cachearr_upstream::client::WATCH_MS) at most, so a ledger with nothing left to
//! watch costs a client's read one atomic load.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::gateway::Gateway;
use cachearr_dialect::Profile;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

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

use cachearr_dialect::Trigger;

/// The paths to prefetch after a `trigger` listing at `path?query` answered `body`, at most
/// `max` of them, in listing order (the dialect reads the listing; bodies over `MAX_BODY`
/// are not read).
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
    cachearr_dialect::of(profile).follow_ups(trigger, path, query, body, max)
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

/// Called by the proxy after it answered a cached GET of `uri` for `user` of `client`, a
/// listing that is a `trigger` (the dialect read the path when the request came): if this
/// client's listings of it are followed, prefetches the follow-ups in the background. Returns
/// at once either way.
pub fn after_listing(
    gateway: &Gateway,
    upstream: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    client: &Arc<str>,
    trigger: Trigger,
    uri: &http::Uri,
    body: &Bytes,
) {
    let settings = &upstream.config.prefetch;
    if !settings.enabled || settings.max_per_listing == 0 {
        return;
    }
    let (path, query) = (uri.path(), uri.query());
    // The metrics' label is made only past the early returns a hit takes (an allocation).
    let label = || Arc::new(upstream.name.to_string());
    // A client syncing the library (it counts each listing before walking it) reads a
    // series' episodes as a walk of its own, never one season's: a seasons listing of it
    // names nothing it reads.
    if trigger == Trigger::Seasons
        && gateway
            .batcher()
            .windows
            .syncing(&upstream.name, user.hash, gateway.clock().now_ms())
    {
        gateway.metrics().prefetch(&label(), "unread");
        return;
    }
    let max = settings.max_per_listing;
    let known = memo_get(body, trigger, max);
    if known.as_ref().is_some_and(|t| t.is_empty()) {
        // This very body was parsed before and names nothing to prefetch (an album's tracks).
        return;
    }
    let metrics = gateway.metrics().clone();
    let label = label();
    // A listing known to name targets is judged now; one not parsed yet once it is (a listing
    // that names nothing is never judged).
    let followed = match known {
        Some(_) => match upstream.prefetched.follow(trigger, client) {
            Some(followed) => Some(followed),
            None => {
                metrics.prefetch(&label, "unread");
                return;
            }
        },
        None => None,
    };
    let Some(slot) = Slot::take() else {
        metrics.prefetch(&label, "dropped");
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // `Bytes` is shared: the body is not copied.
    let job = FollowUps {
        slot,
        gateway: gateway.clone(),
        upstream: Arc::clone(upstream),
        user: Arc::clone(user),
        client: Arc::clone(client),
        path: path.to_owned(),
        query: query.map(str::to_owned),
        body: body.clone(),
        trigger,
        max,
        known,
        followed,
        metrics,
        label,
    };
    runtime.spawn(job.run());
}

/// A listing's follow-ups to prefetch in the background, holding a prefetch slot until done.
struct FollowUps {
    slot: Slot,
    gateway: Gateway,
    upstream: Arc<Upstream>,
    user: Arc<UserRecord>,
    client: Arc<str>,
    path: String,
    query: Option<String>,
    body: Bytes,
    trigger: Trigger,
    max: usize,
    /// The targets, when this very body was parsed before.
    known: Option<Arc<[String]>>,
    /// Whether the listing is followed (and how), when judged before the task was started.
    followed: Option<((u64, usize), bool)>,
    metrics: crate::metrics::Metrics,
    label: Arc<String>,
}

impl FollowUps {
    /// Parses the body's targets (once per body), judges the listing when not judged yet,
    /// and fetches the targets (only the first of a probe) as the listing's user.
    async fn run(self) {
        let FollowUps {
            slot: _slot,
            gateway,
            upstream,
            user,
            client,
            path,
            query,
            body,
            trigger,
            max,
            known,
            followed,
            metrics,
            label,
        } = self;
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
        if targets.is_empty() {
            return;
        }
        let Some((listing, probe)) =
            followed.or_else(|| upstream.prefetched.follow(trigger, &client))
        else {
            metrics.prefetch(&label, "unread");
            return;
        };
        let targets = if probe {
            &targets[..targets.len().min(1)]
        } else {
            &targets[..]
        };
        for target in targets {
            if let Some(key) =
                crate::fetch::background_key(gateway.reads(), &upstream, &user, target)
            {
                let path = target.split('?').next().unwrap_or(target);
                upstream
                    .prefetched
                    .watch(listing, key, path, user.hash, gateway.clock().now_ms());
            }
            metrics.prefetch(&label, "queued");
            match gateway.fetch_as(&upstream.name, &user, target).await {
                Ok(_) => metrics.prefetch(&label, "fetched"),
                Err(err) => {
                    metrics.prefetch(&label, "failed");
                    tracing::debug!(upstream = %upstream.name, error = %cachearr_engine::Chain(&err), "prefetch failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_engine::Key;
    use cachearr_upstream::client::{Ledger, PROBE_EVERY, VERDICTS, WATCH_MS};
    use cachearr_upstream::keys::UserHash;

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
    fn a_clients_listings_are_followed_while_their_targets_are_read() {
        let ledger = Ledger::default();
        let (kodi, seerr): (Arc<str>, Arc<str>) = (Arc::from("Kodi"), Arc::from("Seerr"));
        let user = UserHash(7);
        let target = |n: u32| Key::new(format!("jf/shows/s{n}/episodes?seasonid=x"));
        let other = |n: u32| Key::new(format!("jf/shows/s{n}/episodes?limit=1"));
        // A client that pages through the whole series instead: each listing's targets are
        // passed by (the same path, another key), and after `VERDICTS` of them its listings
        // are no longer followed.
        for n in 0..u32::try_from(VERDICTS).unwrap() {
            let (listing, probe) = ledger.follow(Trigger::Seasons, &kodi).expect("followed");
            assert!(!probe);
            ledger.watch(
                listing,
                target(n),
                &format!("/Shows/s{n}/Episodes"),
                user,
                0,
            );
            // Another user's read of the path says nothing of this one's client.
            ledger.note_read(UserHash(8), &format!("/Shows/s{n}/Episodes"), &other(n), 0);
            ledger.note_read(user, &format!("/shows/S{n}/episodes"), &other(n), 0);
        }
        let followed = (0..PROBE_EVERY)
            .filter(|_| ledger.follow(Trigger::Seasons, &kodi).is_some())
            .count();
        assert_eq!(followed, 1, "one probe in PROBE_EVERY listings");
        // Another client, and another trigger of the same client, are judged apart.
        assert!(ledger.follow(Trigger::ContinueWatching, &kodi).is_some());
        // A client that reads the targets keeps being followed.
        for n in 10..20 {
            let (listing, _) = ledger.follow(Trigger::Seasons, &seerr).expect("followed");
            ledger.watch(
                listing,
                target(n),
                &format!("/Shows/s{n}/Episodes"),
                user,
                0,
            );
            ledger.watch(
                listing,
                target(n + 100),
                &format!("/Shows/s{n}/Episodes"),
                user,
                0,
            );
            ledger.note_read(user, &format!("/Shows/s{n}/Episodes"), &target(n + 100), 0);
            // Judged once: the listing's other target is no longer watched.
            ledger.note_read(user, &format!("/Shows/s{n}/Episodes"), &other(n), 0);
        }
        assert!(ledger.follow(Trigger::Seasons, &seerr).is_some());
        // Once the probe is read, the client is followed again.
        let probe = loop {
            if let Some((listing, probe)) = ledger.follow(Trigger::Seasons, &kodi) {
                assert!(probe);
                break listing;
            }
        };
        ledger.watch(probe, target(50), "/Shows/s50/Episodes", user, 0);
        ledger.note_read(user, "/Shows/s50/Episodes", &target(50), 0);
        assert!(ledger.follow(Trigger::Seasons, &kodi).is_some());
        // A target watched for longer than `WATCH_MS` is forgotten, unjudged, and a read then
        // looks at nothing.
        let (listing, _) = ledger.follow(Trigger::Seasons, &seerr).expect("followed");
        ledger.watch(listing, target(60), "/Shows/s60/Episodes", user, 1_000);
        ledger.note_read(
            user,
            "/Shows/s60/Episodes",
            &other(60),
            1_000 + WATCH_MS + 1,
        );
        assert!(ledger.follow(Trigger::Seasons, &seerr).is_some());
        assert_eq!(ledger.watching(), 0);
    }

    /// Whether a GET of `path` on a `profile` server is a prefetch trigger, as the proxy
    /// reads it when a request comes.
    fn trigger(profile: Profile, path: &str) -> Option<Trigger> {
        cachearr_dialect::caller(profile, None, path, &http::HeaderMap::new(), None).prefetch
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
