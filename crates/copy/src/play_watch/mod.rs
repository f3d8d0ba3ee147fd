//! Play state changed where cachearr does not see it: probed for each recently seen user.
//!
//! Most plays happen on clients connected straight to the server (TV apps, Plexamp, the web
//! app), and the servers tell cachearr of few of them: Plex's notification socket carries a
//! session's state (`playing`) but no mark as played or unplayed and no rating, its
//! `media.scrobble` and `media.rate` webhooks need a Plex Pass and a hand-made setting and
//! never say "unplayed"; Jellyfin's socket sends `UserDataChanged` only to the sessions of the
//! user whose data changed, so cachearr's own socket hears the owner alone. An answer that
//! shows a user's play state (view counts, resume points, ratings, `UserData`) would then
//! stay as it was for as long as the change feed keeps it fresh.
//!
//! So every [`FeedConfig::play_state_probe`](crate::config::FeedConfig::play_state_probe)
//! (15 s), each user seen within
//! [`play_state_watch`](crate::config::FeedConfig::play_state_watch) (30 min) is probed: the
//! dialect's [`play_state_probes`](crate::dialect::Dialect::play_state_probes) — pages of one
//! item or none (the user's most recently played item with how many they have played, how
//! many they rated …) which change with any play, mark, rating or resume point — are read as
//! that user on the background budget, past the cache, and each answer is hashed. When a
//! hash differs from the last round's, the whole list that probe pages is read and compared
//! item by item with the one kept from before: the items whose play state changed (and their
//! parents, whose viewed counts follow them) are announced to the cache as a play-state
//! change event of that user would be ([`ChangeEvent::tags`]), and the user's state tag is
//! bumped. The first round of a user keeps their lists and bumps their watch tag, which every
//! answer of theirs that shows play state carries: what was filled before could show a state
//! changed since (a restart of cachearr with answers kept on disk, changes made before the
//! round). A user not seen for `play_state_watch` is no longer probed but their lists are kept
//! (with the user's record), so the first round after their return finds what changed while
//! they were away.
//!
//! A change is so seen within two probe periods (a round starts every period); the cost is
//! the dialect's probes (Plex: two per section with playable items; Jellyfin: three) per
//! watched user per period, and a whole list when one changed (`docs/change-feed.md` "Play
//! state changed on other clients").

use std::sync::Arc;

use cachearr_engine::Fill;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Uri};
use rustc_hash::FxHashMap;

use crate::Gateway;
use crate::events::{Change, ChangeEvent};
use crate::policy::Class;
use crate::upstream::Upstream;
use crate::users::{PlayList, UNKNOWN_STATE, UserRecord};

/// What one round of probes did ([`probe_round`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Users probed.
    pub users: u64,
    /// Requests made.
    pub probes: u64,
    /// Users whose play state changed: the changed items were announced and the user's
    /// state tag bumped.
    pub changed: u64,
    /// Items whose play state changed, in all.
    pub items: u64,
    /// Users probed for the first time: their lists are kept, nothing compared.
    pub first: u64,
    /// Users whose probes failed: nothing is concluded about them this round.
    pub failed: u64,
    /// Users who left the watch this round.
    pub lapsed: u64,
}

/// One round on `up`: probes every user seen within `play_state_watch` and announces the
/// items whose play state changed since their last round. [`spawn_play_watch`] runs it
/// every `play_state_probe`; tests call it by hand.
pub async fn probe_round(gw: &Gateway, up: &Arc<Upstream>) -> Round {
    let users = gw.recent_users(&up.name, gw.config().feed.play_state_watch);
    let mut round = Round::default();
    for user in up.users.all() {
        let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        if book.watching && !users.iter().any(|u| u.hash == user.hash) {
            book.watching = false;
            round.lapsed += 1;
        }
    }
    for user in users.iter().filter(|u| !u.is_refused()) {
        round.users += 1;
        match probe_user(gw, up, user, &mut round).await {
            Some(Found::First) => round.first += 1,
            Some(Found::Changed) => round.changed += 1,
            Some(Found::Same) => {}
            None => round.failed += 1,
        }
    }
    if let Some(feed) = gw.feed(&up.name) {
        feed.count_play_round(|w| {
            w.watched_users = round.users;
            w.rounds += 1;
            w.probes += round.probes;
            w.changes += round.changed;
            w.items += round.items;
            w.failures += round.failed;
            w.lapsed += round.lapsed;
        });
    }
    round
}

/// What one user's round found.
enum Found {
    First,
    Changed,
    Same,
}

/// Probes `user`: reads each probe, and the whole list of each that changed, and announces
/// what changed. `None` when an answer could not be had (nothing is concluded then; what was
/// read stays for the next round to compare with).
async fn probe_user(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    round: &mut Round,
) -> Option<Found> {
    let dialect = crate::dialect::of(up.profile);
    let sections = crate::library::visibility::user_sections(gw, up, user).await?;
    let first = {
        let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        book.watching = true;
        book.lists.is_empty()
    };
    let by_owner = up.config.token.as_deref() == Some(user.token());
    let mut changed_items = 0u64;
    for probe in dialect.play_state_probes(&sections) {
        round.probes += 1;
        let (status, body) = read(gw, up, user, &probe.probe).await?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&status.to_le_bytes());
        if (200..300).contains(&status) {
            hasher.update(&body);
        }
        // (never `UNKNOWN_STATE`, which marks a list to read whole)
        let hash = hasher.digest().min(UNKNOWN_STATE - 1);
        let known = user
            .play_lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lists
            .get(&probe.probe)
            .map(|l| l.probe);
        if known == Some(hash) {
            continue;
        }
        // Changed, or not read before: the whole list says which items.
        let items = if (200..300).contains(&status) {
            round.probes += 1;
            let (status, body) = read(gw, up, user, &probe.whole).await?;
            if (200..300).contains(&status) {
                dialect.play_state_items(&body)?
            } else {
                Vec::new()
            }
        } else {
            Vec::new()
        };
        let items: FxHashMap<String, (u64, Vec<String>)> = items
            .into_iter()
            .map(|i| (i.id, (i.state, i.parents)))
            .collect();
        let before = user
            .play_lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lists
            .insert(
                probe.probe.clone(),
                PlayList {
                    probe: hash,
                    items: items.clone(),
                },
            );
        let Some(before) = before else {
            continue;
        };
        let (ids, parents) = differ(&before.items, &items);
        if ids.is_empty() {
            continue;
        }
        changed_items += ids.len() as u64;
        let event = ChangeEvent::new(Change::Played)
            .with_section(probe.section.as_deref())
            .with_items(ids.iter().map(|s| Some(s.as_str())))
            .with_parents(parents.iter().map(|s| Some(s.as_str())))
            .with_owner(Some(by_owner));
        gw.invalidate_tags(&up.name, &event.tags(&up.name));
    }
    round.items += changed_items;
    if first {
        // What the user was answered before now could show a state changed since: read again.
        gw.cache().invalidate_tag(&user.watch_tag);
        return Some(Found::First);
    }
    if changed_items == 0 {
        return Some(Found::Same);
    }
    gw.cache().invalidate_tag(&user.state_tag);
    tracing::debug!(upstream = %up.name, items = changed_items, "play state changed on the server");
    Some(Found::Changed)
}

/// The items whose play state differs between two readings of one list (in either, not
/// both, or both with another state), and their parents.
fn differ(
    before: &FxHashMap<String, (u64, Vec<String>)>,
    now: &FxHashMap<String, (u64, Vec<String>)>,
) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut parents = Vec::new();
    let mut note = |id: &String, item_parents: &Vec<String>| {
        ids.push(id.clone());
        parents.extend(item_parents.iter().cloned());
    };
    for (id, (state, item_parents)) in now {
        if before.get(id).is_none_or(|(old, _)| old != state) {
            note(id, item_parents);
        }
    }
    for (id, (_, item_parents)) in before {
        if !now.contains_key(id) {
            note(id, item_parents);
        }
    }
    ids.sort();
    parents.sort();
    parents.dedup();
    (ids, parents)
}

/// Reads `path` as `user`, past the cache, on the background budget: its status and body, or
/// `None` when the answer says nothing about play state (a refused token, a server in
/// trouble, no answer).
async fn read(
    gw: &Gateway,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
) -> Option<(u16, bytes::Bytes)> {
    // As the user's own client would ask: their identity headers and token.
    let mut headers: HeaderMap = user.identity_headers();
    headers.insert(
        crate::dialect::token_header(up.profile),
        HeaderValue::from_str(user.token()).ok()?,
    );
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let uri: Uri = path.parse().ok()?;
    let fill = crate::fetch::fetch_uncached(gw, up, user, Class::Listing, uri, headers)
        .await
        .ok()?;
    let value = match fill {
        Fill::Store(v) | Fill::Negative(v) | Fill::Pass(v) => v,
        Fill::NotModified => return None,
    };
    // Another refusal (a section the user may not list this way) stays what it is.
    if value.status == 401 || value.status >= 500 {
        return None;
    }
    Some((value.status, value.body.clone()))
}

/// Runs [`probe_round`] for every upstream every `play_state_probe` until `stop`, unless
/// probing is off (`0s`).
pub fn spawn_play_watch(
    gw: &Gateway,
    stop: &tokio_util::sync::CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let period = gw.config().feed.play_state_probe;
    if period.is_zero() {
        return None;
    }
    let gw = gw.clone();
    let stop = stop.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {
                    for up in gw.upstreams() {
                        probe_round(&gw, up).await;
                    }
                }
            }
        }
    }))
}
