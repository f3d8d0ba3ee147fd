//! Play state changed where cachearr does not see it: read from the server's one list of
//! every user's plays, and probed per user for what that list does not show — at a cost that
//! grows with what changes and with the users being read, never with time at rest.
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
//! # Who is watched
//!
//! A user is **active** while answers of theirs that show play state were read within
//! [`play_state_active`](cachearr_config::FeedConfig::play_state_active) (3 min; the proxy notes
//! each such read, `Feed::note_play_read`). Nothing below runs for anyone else, and with no
//! active user nothing runs at all: an idle gateway asks the server nothing. The first such
//! read of a user who was not active wakes the watch at once.
//!
//! # Every user's plays, one request ([`signal`])
//!
//! While some user is active, every
//! [`play_state_probe`](cachearr_config::FeedConfig::play_state_probe) (15 s) the dialect's
//! [`plays_since`](cachearr_dialect::Dialect::plays_since) is read with the owner's token from
//! where it was read up to (the cursor: the newest play's time and id, kept in the data
//! directory): Plex's play history lists the plays of every account, Jellyfin's activity log
//! every user's playbacks started and stopped (read with an administrator's token; an entry
//! names the item and the user's id, the library index adds the item's section and parents).
//! Each play not read before is announced as that play's change event would be (the item,
//! its parents, its section, the owner's or another user's: [`ChangeEvent::tags`]), whoever
//! played it. Plays made while nobody read (or while cachearr was down, the cursor being
//! kept) are found item by item at the next reading.
//!
//! # What no list of plays shows: each active user's own probes
//!
//! A mark as played or unplayed, a rating, a favourite reach no such list. Every
//! [`play_state_user_probe`](cachearr_config::FeedConfig::play_state_user_probe) (2 min) each
//! active user is probed — after their first reading, only in the sections their cached
//! answers come from (below): the dialect's
//! [`play_state_probes`](cachearr_dialect::Dialect::play_state_probes) — pages of one item or
//! none which change with any play, mark, rating or resume point — are read as that user on
//! the background budget, past the cache, and each answer is hashed. When a hash differs from
//! the last reading's, the whole list that probe pages is read and compared item by item with
//! the one kept from before: the items whose play state changed (and their parents, whose
//! viewed counts follow them) are announced, and nothing else is dropped.
//!
//! # Items, never users: the first reading of a user
//!
//! Without a reading to compare with, a user's first lists say nothing of what changed. What
//! could then be missed is a change made after an answer of theirs was filled and before the
//! first reading was taken: once taken, every later change differs from it. So the first
//! reading is taken as soon as the user is first read in this process (the proxy wakes the
//! watch on that read), its probes read at once, and when it is in, the user's watch tag —
//! carried by every answer of theirs that shows play state, stamped when its load starts — is
//! bumped once. That drops exactly the answers whose load started before the reading was in:
//! those kept from an earlier run of cachearr (a change since could be in them) and those
//! filled in the moments the reading took. Every answer filled after it is compared against a
//! reading older than itself, so nothing it shows can change unseen; the answers a tool reads
//! again 8 s later stay. Plays are also covered the other way: the list of every user's plays,
//! read from its cursor, announces each play item by item whatever the user's readings.
//!
//! The first reading is per section: a section is read the first time when the user reads
//! from it (a section's list says so before it is loaded, any other answer when it is stored:
//! `UserRecord::note_sections`), so a section the user never reads is never probed for them.
//! Each answer of theirs carries one watch tag per section it shows
//! ([`user_section_watch`](cachearr_dialect::tags::user_section_watch); naming none, the one
//! that counts for every section), bumped by that section's first reading, which so drops only
//! that section's answers loaded before it; the user's own watch tag is bumped at their first
//! round. A read of a section's list waits for the section's first reading before it is loaded
//! (`Feed::await_sections_read`), so that it is not dropped by it. Where sections are not told
//! apart (probes that span every library, a cache shared with other gateways), the first
//! reading reads every section, as one.
//!
//! A user who is no longer active keeps their lists (with the user's record), so the first
//! round after their return compares item by item with them and drops only what changed
//! while they were away. Every round after the first reading, a return included, probes only
//! the sections their cached answers come from: every answer of
//! theirs about library content notes, when stored, the sections it shows
//! ([`FilledSections`](cachearr_upstream::users::FilledSections)), and a section they filled
//! nothing from since their first reading holds nothing a change could have made stale (its
//! next reading, a period on, is compared with the one kept). Where that is not known (readings
//! kept from before a restart, an answer naming no section, a cache shared on Redis with
//! gateways whose fills this one does not see), every section. A probe that fails (a refusal,
//! the server down) concludes nothing.
//!
//! # Kept across restarts (`play_watch/kept.rs`)
//!
//! What the watch last read of each user (their lists, when they were probed and read) is
//! kept in the data directory after every round that probed someone, and taken up when the
//! user is next active after a start: the restarted gateway compares with it as if it had
//! not stopped — no first reading, no watch-tag bump, and a user who was active when it
//! stopped is probed when their probes fall due, not at once. With the plays' cursor kept
//! too, a restart costs the server no probe round per user.
//!
//! A change is so seen within two `play_state_probe` periods when the list of plays shows it,
//! and within `play_state_user_probe` and a period otherwise (`/api/stats` → `feed` →
//! `bounds`); the cost is one request a period while someone reads, plus the dialect's probes
//! (Plex: two per section with playable items; Jellyfin: three) per active user per
//! `play_state_user_probe`, and a whole list when one changed (`docs/change-feed.md` "Play
//! state changed on other clients").

mod kept;
pub mod signal;

use std::sync::Arc;
use std::time::Duration;

use cachearr_engine::Fill;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Uri};
use rustc_hash::{FxHashMap, FxHashSet};

use cachearr_config::policy::Class;
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_dialect::model::library::{PlayStateProbe, ProbeDigest, UserSections};
use cachearr_gateway::background::{Background, Role};
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::feed::BackgroundKind;
use cachearr_upstream::users::{EmptyList, PlayList, PlayLists, UNKNOWN_STATE, UserRecord};

/// What one round of the watch did ([`probe_round`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Users probed.
    pub users: u64,
    /// Requests made (the list of plays and the users' probes).
    pub probes: u64,
    /// Users whose play state changed: the changed items were announced.
    pub changed: u64,
    /// Items whose play state changed, in all (found by the users' probes).
    pub items: u64,
    /// Users read for the first time in this process: their lists are kept, nothing
    /// compared.
    pub first: u64,
    /// Users whose probes failed: nothing is concluded about them this round.
    pub failed: u64,
    /// Users who stopped being active this round.
    pub lapsed: u64,
    /// Reads of the server's list of every user's plays.
    pub signal: u64,
    /// Plays found in it and announced.
    pub plays: u64,
}

/// One round on `up` at the engine clock's now: reads the list of every user's plays when a
/// period has passed since the last reading and some user is active, and probes each active
/// user whose own probes are due (never read in this process, back after a pause, or
/// `play_state_user_probe` since the last; `play_state_probe` where there is no list of
/// plays). A round with nothing due asks the server nothing. [`spawn_play_watch`] runs it
/// every second and when a reader wakes it; tests call it by hand.
pub async fn probe_round(library: &crate::Library, up: &Arc<Upstream>) -> Round {
    let index = library.index(&up.name).map(|i| &**i);
    round(library.reads(), index, up).await
}

/// [`probe_round`] on `up`, reading through `reads`; `index` (the upstream's library copy)
/// completes what the list of plays leaves out.
async fn round(
    reads: &ReadThrough,
    index: Option<&crate::UpstreamIndex>,
    up: &Arc<Upstream>,
) -> Round {
    let now = reads.clock().now_ms();
    let config = &reads.config().feed;
    let mut round = Round::default();
    let active = active_users(reads, up, now, &mut round);
    if !active.is_empty() {
        signal::read_plays(reads, index, up, now, &mut round).await;
    }
    // Without a list of every user's plays (the dialect has none, or no owner token to read
    // it), the users' own probes are all that sees a play: they keep the list's period.
    let signal = cachearr_dialect::of(up.profile)
        .plays_since(None, 0)
        .is_some()
        && crate::upstream_index::visibility::owner_of(reads, up).is_some();
    let user_period = ms(if signal {
        config.play_state_user_probe
    } else {
        config.play_state_probe
    });
    let active = name_tokens(reads, up, active, (now, &mut round)).await;
    restore_kept(reads, up, &active, now);
    let probed = probe_due(reads, up, &active, (now, user_period), &mut round).await;
    if !probed.is_empty() {
        keep_probed(reads, up, &probed, now);
    }
    if let Some(feed) = reads.feed(&up.name) {
        feed.count_play_round(|w| {
            w.watched_users = active.len() as u64;
            if round.users > 0 || round.signal > 0 {
                w.rounds += 1;
            }
            w.probes += round.probes;
            w.changes += round.changed;
            w.items += round.items;
            w.failures += round.failed;
            w.lapsed += round.lapsed;
            w.signal_reads += round.signal;
            w.signal_plays += round.plays;
        });
    }
    round
}

/// Probes the users among `active` whose probes are due at `now_ms` (`user_period` after
/// their last), the longest unprobed first, while the users' probes' budget holds anything
/// ([`cachearr_upstream::feed::Feed::probe_budget_open`]): the rest wait for a later round.
/// Returns the users probed.
async fn probe_due<'a>(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    active: &'a [Arc<UserRecord>],
    (now, user_period): (u64, u64),
    round: &mut Round,
) -> Vec<&'a Arc<UserRecord>> {
    let feed = reads.feed(&up.name);
    let mut due: Vec<(u64, &Arc<UserRecord>, bool)> = Vec::new();
    for user in active {
        let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        let period = !book.baselined || !book.watching || now >= book.probed_ms + user_period;
        // Readings just taken up: what they do not cover is dropped at once
        // (`settle_restored`), whether or not a probe is due.
        if period || book.reading_wanted() || book.restored {
            let last = if book.baselined { book.probed_ms } else { 0 };
            due.push((last, user, period));
        }
    }
    due.sort_by_key(|(last, _, _)| *last);
    let (mut probed, mut spent) = (Vec::new(), 0);
    for (_, user, period_due) in due {
        if feed.is_some_and(|feed| !feed.probe_budget_open(now)) {
            break;
        }
        let (failed_before, probes_before) = (round.failed, round.probes);
        let found = probe_user(reads, up, user, (now, period_due), round).await;
        let made = round.probes - probes_before;
        if let Some(feed) = feed {
            feed.spend_probe_budget(made);
        }
        match found {
            Some(Found::First) => round.first += 1,
            Some(Found::Changed) => round.changed += 1,
            Some(Found::Same) => {}
            // Kept readings taken up that cover what the user reads: not probed.
            Some(Found::Nothing) => continue,
            None => round.failed += 1,
        }
        user.play_lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failing = round.failed > failed_before;
        round.users += 1;
        spent += made;
        probed.push(user);
    }
    if let Some(feed) = feed {
        feed.note_probe_turns(round.users, spent);
    }
    probed
}

/// The active users of `up` at `now_ms` (answers showing play state read within
/// `play_state_active`, not refused), one record per user (the records of one user share
/// their lists; the most recently read one is probed with). Users who stopped being active
/// leave the watch, their lists kept.
fn active_users(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    now_ms: u64,
    round: &mut Round,
) -> Vec<Arc<UserRecord>> {
    let since = now_ms.saturating_sub(ms(reads.config().feed.play_state_active));
    let mut users = up.users.all();
    users.sort_by_key(|u| std::cmp::Reverse(u.play_read_ms()));
    let mut seen: FxHashSet<*const PlayLists> = FxHashSet::default();
    let mut active = Vec::new();
    for user in users {
        let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.insert(std::ptr::from_ref::<PlayLists>(&book)) {
            continue;
        }
        let read = user.play_read_ms();
        if read > 0 && read >= since && !user.is_refused() {
            drop(book);
            active.push(user);
        } else if book.watching {
            book.watching = false;
            round.lapsed += 1;
        }
    }
    active
}

/// The active users with each token whose user the gateway has not been told found out:
/// tokens signed in on the server itself (not through the gateway) are each a user of their
/// own until their user's own record passes through, and the watch would probe each — 200
/// tokens of one user made 200 users' probes. A token read for the first time in this process
/// (its lists not read yet) whose server has a record of the asking user (Jellyfin's
/// `/Users/Me`) is named by it, once: one request, where its own first reading costs a user's
/// probes. Confirmed, its record is the user's (the lists of the user's other tokens); one
/// record per user is kept. A token the server does not name stays a user of its own.
async fn name_tokens(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    active: Vec<Arc<UserRecord>>,
    (now_ms, round): (u64, &mut Round),
) -> Vec<Arc<UserRecord>> {
    let asks_own_record = cachearr_dialect::of(up.profile).user_routes().own.is_some();
    if !asks_own_record || !active.iter().any(|u| unnamed_and_unread(u)) {
        return active;
    }
    // Addresses, not pointers: the set is held across the awaits of a task that moves.
    let mut seen: FxHashSet<usize> = FxHashSet::default();
    let mut named = Vec::with_capacity(active.len());
    for user in active {
        let unnamed = unnamed_and_unread(&user);
        if unnamed && user.server_user_id().is_none() {
            // The server is asked whose the token is: a probe of the watch's, counted and
            // budgeted so. Out of budget, the token waits for a later round.
            let feed = reads.feed(&up.name);
            if feed.is_some_and(|feed| !feed.probe_budget_open(now_ms)) {
                continue;
            }
            round.probes += 1;
            if let Some(feed) = feed {
                feed.count_background(BackgroundKind::Probes, 1, now_ms);
                feed.spend_probe_budget(1);
            }
        }
        let user = if unnamed
            && let Some(id) = crate::upstream_index::user_state::own_user_id(up, &user).await
        {
            let scope = reads.secret().scope_of_user(&up.name, &id);
            let confirmed = up
                .users
                .confirm(&up.name, (user.hash, user.token()), scope, now_ms);
            // Still active: the token's reads were its record's.
            confirmed.note_play_read(user.play_read_ms());
            confirmed
        } else {
            user
        };
        let lists = {
            let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
            std::ptr::from_ref::<PlayLists>(&book).addr()
        };
        if seen.insert(lists) {
            named.push(user);
        }
    }
    named
}

/// Whether nothing has said whose `user`'s token is and its lists were never read here.
fn unnamed_and_unread(user: &UserRecord) -> bool {
    !user.is_confirmed() && {
        let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        !book.baselined
    }
}

/// Takes up the kept readings ([`kept`]) of the active users who have none in this process
/// yet (the first round after a start, or a user first seen since).
fn restore_kept(reads: &ReadThrough, up: &Upstream, active: &[Arc<UserRecord>], now_ms: u64) {
    let unread = |user: &&Arc<UserRecord>| {
        let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        !book.baselined
    };
    if !active.iter().any(|u| unread(&u)) {
        return;
    }
    let mut all = kept::load(&kept::path_of(reads, &up.name));
    let active_ms = ms(reads.config().feed.play_state_active);
    for user in active.iter().filter(unread) {
        if let Some(user_kept) = all.remove(&user.scope.to_string()) {
            let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
            kept::restore(&mut book, user_kept, now_ms, active_ms);
        }
    }
}

/// Keeps the readings of the users probed this round ([`kept`]).
fn keep_probed(reads: &ReadThrough, up: &Upstream, probed: &[&Arc<UserRecord>], now_ms: u64) {
    let users = probed
        .iter()
        .map(|user| {
            let book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
            (user.scope.to_string(), kept::of(&book, user.play_read_ms()))
        })
        .collect();
    kept::keep(&kept::path_of(reads, &up.name), users, now_ms);
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What one user's round found.
enum Found {
    First,
    Changed,
    Same,
    /// Nothing was due after all (nothing read, nothing bumped).
    Nothing,
}

/// Probes `user`: reads each probe, and the whole list of each that changed, and announces
/// what changed. `None` when an answer could not be had (nothing is concluded then; what was
/// read stays for the next round to compare with).
async fn probe_user(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    (now_ms, period_due): (u64, bool),
    round: &mut Round,
) -> Option<Found> {
    let feed = reads.feed(&up.name);
    let count = |n: u64| {
        if let Some(feed) = feed {
            feed.count_background(BackgroundKind::Probes, n, now_ms);
        }
    };
    let (plan, probes) = plan_round(reads, up, user, (now_ms, period_due)).await?;
    if probes.is_empty() && plan.nothing_to_bump() {
        return Some(Found::Nothing);
    }
    let by_owner = crate::upstream_index::visibility::is_owner(reads, up, user);
    let mut changed_items = 0u64;
    // Read at once, not one after the other: a first reading's watch-tag bump drops what the
    // user's tool filled while the reading was being taken, so the shorter it takes, the
    // fewer answers that tool has to fill again.
    round.probes += probes.len() as u64;
    count(probes.len() as u64);
    let answers = futures_util::future::join_all(
        (probes.iter()).map(|probe| read_probe(reads, up, user, probe, now_ms)),
    )
    .await;
    for (probe, answer) in probes.into_iter().zip(answers) {
        let (status, body, digest) = answer?;
        let hash = answer_hash(status, &body, digest.map(|d| d.state));
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
        // Changed, or not read before: the whole list says which items — unless the probe
        // says it holds none (a user who never rated, never left anything half seen).
        let empty = digest.is_some_and(|d| d.total == Some(0));
        let items = if (200..300).contains(&status) && !empty {
            round.probes += 1;
            count(1);
            whole_list(reads, up, user, &probe.whole).await?
        } else {
            FxHashMap::default()
        };
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
        reads.invalidate_tags(&up.name, &event.tags(&up.name));
    }
    round.items += changed_items;
    user.play_lists
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .baselined = true;
    first_reading_in(reads, feed, user, &plan);
    if plan.first {
        return Some(Found::First);
    }
    if changed_items == 0 {
        return Some(Found::Same);
    }
    tracing::debug!(upstream = %up.name, items = changed_items, "play state changed on the server");
    Some(Found::Changed)
}

/// The sections `user`'s probes are made for (`None`: they cannot be had). Probes that span
/// every library (Jellyfin's, Emby's) name no section: the user's are not read for them,
/// which for a user new to cachearr is a request of its own.
async fn probed_sections(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
) -> Option<UserSections> {
    if !cachearr_dialect::of(up.profile).play_state_probes_by_section() {
        return Some(UserSections::default());
    }
    crate::upstream_index::visibility::user_sections(reads, up, user).await
}

/// What this round reads of `user` ([`start_reading`]) and the probes it reads: of the
/// sections the user sees, those it reads. `None` when the user's sections cannot be had.
async fn plan_round(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    (now_ms, period_due): (u64, bool),
) -> Option<(Plan, Vec<PlayStateProbe>)> {
    let sections = probed_sections(reads, up, user).await?;
    let all_probes = cachearr_dialect::of(up.profile).play_state_probes(&sections);
    let seen: Vec<String> = sections.sections.iter().map(|s| s.id.clone()).collect();
    settle_restored(reads, user, &all_probes, &seen);
    let plan = start_reading(reads, user, (&all_probes, &seen), (now_ms, period_due));
    let probes = (all_probes.into_iter())
        .filter(|p| plan.reads(p.section.as_deref()))
        .collect();
    Some((plan, probes))
}

/// Reads `probe` as `user`: its answer's status, body and what the dialect reads of it; and
/// keeps, or forgets, that the whole list it pages is empty ([`note_empty`]).
async fn read_probe(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    probe: &PlayStateProbe,
    now_ms: u64,
) -> Option<(u16, bytes::Bytes, Option<ProbeDigest>)> {
    let stamp = reads.cache().fetch_started();
    let (status, body) = read(reads, up, user, &probe.probe).await?;
    let digest = cachearr_dialect::of(up.profile).play_state_digest(&body);
    let ok = (200..300).contains(&status);
    note_empty(user, &probe.whole, ok, digest, || EmptyList {
        read_ms: now_ms,
        stamp,
        body: body.clone(),
    });
    Some((status, body, digest))
}

/// Keeps, or forgets, that the whole list at `whole` holds nothing, as its probe's answer
/// (`ok`: a 2xx; `digest`: the dialect's reading of it) says: the library copy then writes
/// the user's play state from it without reading that list ([`PlayLists::empty`]).
fn note_empty(
    user: &UserRecord,
    whole: &str,
    ok: bool,
    digest: Option<ProbeDigest>,
    empty: impl FnOnce() -> EmptyList,
) {
    let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
    if ok && digest.is_some_and(|d| d.total == Some(0)) {
        book.empty.insert(whole.to_owned(), empty());
    } else {
        book.empty.remove(whole);
    }
}

/// The whole list a probe pages, read as `user`: each item's play-state hash and parents
/// (none for a refusal). `None` when it could not be had.
async fn whole_list(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
) -> Option<FxHashMap<String, (u64, Vec<String>)>> {
    let (status, body) = read(reads, up, user, path).await?;
    let items = if (200..300).contains(&status) {
        cachearr_dialect::of(up.profile).play_state_items(&body)?
    } else {
        Vec::new()
    };
    Some(
        items
            .into_iter()
            .map(|i| (i.id, (i.state, i.parents)))
            .collect(),
    )
}

/// What one round reads of a user ([`start_reading`]).
struct Plan {
    /// The user's first reading in this process (nothing kept to compare with).
    first: bool,
    /// The sections read for the first time in this process: what the user's answers come
    /// from that was not read yet.
    fresh: FxHashSet<String>,
    /// Every section the user sees is read by the end of this round, for the first time for
    /// some: the answers naming no section are dropped then.
    everywhere: bool,
    /// The probes span every library: this round's reading is every section's.
    spanning: bool,
    /// The sections read before that are due again (the user's period is due): `None`, none;
    /// `Some(None)`, every one; `Some(Some(ids))`, those.
    again: Option<Option<FxHashSet<String>>>,
}

impl Plan {
    /// Whether the round's end bumps no watch tag: no first reading of the user, of a
    /// section, or of every section.
    fn nothing_to_bump(&self) -> bool {
        !self.first && self.fresh.is_empty() && !self.everywhere
    }

    /// Whether a probe of `section` (`None`: one that spans every section) is read.
    fn reads(&self, section: Option<&str>) -> bool {
        match section {
            Some(id) if self.fresh.contains(id) => true,
            Some(id) => match &self.again {
                Some(Some(ids)) => ids.contains(id),
                Some(None) => true,
                None => false,
            },
            None => self.first || self.again.is_some() || !self.fresh.is_empty(),
        }
    }
}

/// Marks `user` probed at `now_ms` when their period is `due`, and says what this round
/// reads ([`Plan`]) of the sections the user sees (`seen`, with their `probes`).
///
/// A section is read the first time when an answer of the user's from it is read or filled
/// (`PlayLists::wanted`), never before: a section the user never reads is never probed for
/// them. Every section at once where that is not told apart: a dialect whose probes span
/// every section, an answer naming none, a cache shared with other gateways (what they fill
/// is not known here).
///
/// After its first reading, a section is probed where answers of theirs can be cached — in
/// every round, a return after a pause included: a section they never filled an answer from
/// since holds nothing a change could have made stale, and its next reading, when they do,
/// is compared with the one kept (what changed meanwhile is dropped then, which is only more
/// than needed). With a cache shared with other gateways, what they filled is not known
/// here: every section.
fn start_reading(
    reads: &ReadThrough,
    user: &UserRecord,
    (probes, seen): (&[PlayStateProbe], &[String]),
    (now_ms, due): (u64, bool),
) -> Plan {
    let shared_cache = reads.cache().redis().is_some();
    let spanning = probes.iter().any(|p| p.section.is_none());
    let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
    let first = !book.baselined;
    let everywhere = (spanning || shared_cache || book.wanted.all) && !book.all_read;
    let fresh: FxHashSet<String> = if everywhere {
        (seen.iter().chain(&book.wanted.ids))
            .filter(|id| !book.is_read(id))
            .cloned()
            .collect()
    } else {
        (book.wanted.ids.iter())
            .filter(|id| !book.is_read(id))
            .cloned()
            .collect()
    };
    let again = (due && !first).then(|| {
        let known = !shared_cache && !book.filled.all;
        let read = &book.read;
        Some(if known {
            book.filled.ids.intersection(read).cloned().collect()
        } else {
            read.clone()
        })
    });
    book.watching = true;
    if due {
        book.probed_ms = now_ms;
    }
    Plan {
        first,
        fresh,
        everywhere,
        spanning,
        again: again.map(|ids| ids.filter(|_| !spanning)),
    }
}

/// The lists of `user` taken up from a kept reading ([`kept`]) cover the sections whose every
/// probe they hold: those count as read, as within one run. An answer of theirs kept from the
/// last run in any other section (or naming none) was filled after no reading that is kept:
/// its section's watch tag is bumped, and its first reading in this run is taken when they
/// read from it.
fn settle_restored(
    reads: &ReadThrough,
    user: &UserRecord,
    probes: &[PlayStateProbe],
    seen: &[String],
) {
    let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
    if !book.restored {
        return;
    }
    book.restored = false;
    let covered = |section: Option<&str>| {
        (probes.iter())
            .filter(|p| p.section.is_none() || p.section.as_deref() == section)
            .all(|p| book.lists.contains_key(&p.probe))
    };
    let (read, unread): (Vec<&String>, Vec<&String>) =
        seen.iter().partition(|id| covered(Some(id.as_str())));
    let everywhere = unread.is_empty() && covered(None);
    book.read.extend(read.into_iter().cloned());
    let mut bumps: Vec<Option<&str>> = unread.iter().map(|id| Some(id.as_str())).collect();
    if everywhere {
        book.all_read = true;
    } else {
        bumps.push(None);
    }
    drop(book);
    for section in bumps {
        let tag = cachearr_dialect::tags::user_section_watch(&user.watch_tag, section);
        reads.cache().invalidate_tag(&tag);
    }
}

/// A round's readings are in (`plan`): what was filled before the first reading of the user
/// in this process (kept from an earlier run, or filled while it was taken), and before the
/// first reading of each section `fresh` in that section, could show a state changed since;
/// everything filled from now on is compared against them (the module docs). So the user's
/// watch tag is bumped at their first reading, each fresh section's at its own, and the one
/// of the answers naming no section once every section was read.
///
/// The lists found empty stay known empty ([`note_empty`]): the bumps change nothing on the
/// server, yet as tags bumped after the probes they would make the copy read each of them
/// again at once — two requests a section for lists the server has just said hold nothing.
/// A list is kept only when the bumps made here are the only ones since its probe was read
/// (or since the last such bumps); any other (a play through cachearr, a change event) still
/// voids it.
fn first_reading_in(
    reads: &ReadThrough,
    feed: Option<&Arc<cachearr_upstream::feed::Feed>>,
    user: &UserRecord,
    plan: &Plan,
) {
    let cache = reads.cache();
    let mut tags: Vec<String> = Vec::new();
    {
        let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
        if plan.first {
            book.filled = cachearr_upstream::users::FilledSections::none();
            tags.push(user.watch_tag.to_string());
        }
        for id in &plan.fresh {
            book.filled.ids.remove(id);
            book.read.insert(id.clone());
            tags.push(cachearr_dialect::tags::user_section_watch(
                &user.watch_tag,
                Some(id),
            ));
        }
        if plan.everywhere && !book.all_read {
            book.all_read = true;
            // Probes across every library read every section, listed or not (their ids are
            // not read for such probes): none waits for a reading of its own later.
            book.every_section = plan.spanning;
            tags.push(cachearr_dialect::tags::user_section_watch(
                &user.watch_tag,
                None,
            ));
        }
    }
    if tags.is_empty() {
        return;
    }
    for tag in &tags {
        cache.invalidate_tag(tag);
    }
    if let Some(feed) = feed {
        feed.note_sections_first_read();
    }
    let after = cache.fetch_started();
    let mine = tags.len() as u64;
    let mut book = user.play_lists.lock().unwrap_or_else(|e| e.into_inner());
    for empty in book.empty.values_mut() {
        if empty.stamp.bumps_until(&after) == mine {
            empty.stamp = after;
        }
    }
}

/// A probe's answer as one number: its status and, for a 2xx, what it says of play state
/// (`digest`, the dialect's reading: the list's count and its items' state, so that an item
/// renamed or otherwise edited does not read as a change and cost the whole list), else its
/// body. Never [`UNKNOWN_STATE`], which marks a list to read whole.
fn answer_hash(status: u16, body: &[u8], digest: Option<u64>) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&status.to_le_bytes());
    if (200..300).contains(&status) {
        match digest {
            Some(digest) => hasher.update(&digest.to_le_bytes()),
            None => hasher.update(body),
        }
    }
    hasher.digest().min(UNKNOWN_STATE - 1)
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

/// Reads `path` as `user`, past the cache, on the background budget, as `class`: its status
/// and body, or `None` when the answer says nothing about play state (a refused token, a
/// server in trouble, no answer).
async fn read_as(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    class: Class,
    path: &str,
) -> Option<(u16, bytes::Bytes)> {
    // As the user's own client would ask: their identity headers and token.
    let mut headers: HeaderMap = user.identity_headers();
    cachearr_dialect::insert_own_credential(
        up.profile,
        &mut headers,
        &HeaderValue::from_str(user.token()).ok()?,
    );
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    let uri: Uri = path.parse().ok()?;
    let fill = cachearr_gateway::fetch::fetch_uncached(reads, None, up, user, class, uri, headers)
        .await
        .ok()?;
    let value = match fill {
        Fill::Store(v) | Fill::Negative(v) | Fill::Refusal(v, _) | Fill::Pass(v) => v,
        Fill::NotModified => return None,
    };
    // Another refusal (a section the user may not list this way) stays what it is.
    if value.status == 401 || value.status >= 500 {
        return None;
    }
    Some((value.status, value.body.clone()))
}

/// [`read_as`] a listing.
async fn read(
    reads: &ReadThrough,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    path: &str,
) -> Option<(u16, bytes::Bytes)> {
    read_as(reads, up, user, Class::Listing, path).await
}

/// Runs the watch of every upstream until `stop`, unless it is off (`play_state_probe` `0s`):
/// [`probe_round`] once a second (a round with nothing due asks nothing) and whenever a user
/// who was not active reads an answer showing play state; and once a second, the upstream's
/// count of background requests for the budget in `/api/stats`.
/// Each upstream of `library` is watched in the role `background` gives this gateway for it.
pub fn spawn_play_watch(
    library: &crate::Library,
    background: &Background,
    stop: &tokio_util::sync::CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if library.reads().config().feed.play_state_probe.is_zero() {
        return None;
    }
    let watched: Vec<Watched> = (library.upstreams().iter())
        .map(|up| Watched {
            reads: library.reads().clone(),
            index: library.index(&up.name).cloned(),
            role: background.role(&up.name).cloned(),
            up: up.clone(),
        })
        .collect();
    let stop = stop.clone();
    Some(tokio::spawn(async move {
        let mut watches = tokio::task::JoinSet::new();
        for one in watched {
            let stop = stop.clone();
            watches.spawn(async move { watch(&one, &stop).await });
        }
        while watches.join_next().await.is_some() {}
    }))
}

/// What one upstream's watch runs with ([`spawn_play_watch`]).
struct Watched {
    reads: ReadThrough,
    /// The upstream's library copy: what the list of plays leaves out is completed from it.
    index: Option<Arc<crate::UpstreamIndex>>,
    /// This gateway's background role for the upstream among gateways sharing a Redis.
    role: Option<Arc<Role>>,
    up: Arc<Upstream>,
}

/// One upstream's watch ([`spawn_play_watch`]).
async fn watch(watched: &Watched, stop: &tokio_util::sync::CancellationToken) {
    let Watched {
        reads,
        index,
        role,
        up,
    } = watched;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = reads.feed(&up.name).cloned();
    if let Some(feed) = &feed {
        feed.note_watch_runs(true);
    }
    loop {
        let woken = async {
            match &feed {
                Some(feed) => feed.play_reader_woke().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
            () = woken => {}
        }
        if let Some(feed) = &feed {
            let all = up
                .guard
                .counters
                .background_requests
                .load(std::sync::atomic::Ordering::Relaxed);
            feed.note_background_all(all, reads.clock().now_ms());
        }
        if holder_probes_for_us(reads, role.as_deref(), up) {
            continue;
        }
        round(reads, index.as_deref(), up).await;
    }
    if let Some(feed) = &feed {
        feed.note_watch_runs(false);
    }
}

/// Among gateways sharing a Redis, whether the gateway holding `up`'s background probes
/// every user this one would (its heartbeat names their keyed hashes): then this one skips
/// its round and learns the changes as the holder's tag bumps.
fn holder_probes_for_us(reads: &ReadThrough, role: Option<&Role>, up: &Upstream) -> bool {
    let Some(role) = role else {
        return false;
    };
    if role.works() {
        return false;
    }
    let ours = cachearr_gateway::background::watched_users(reads, up);
    role.holder_watches(&ours.into_iter().collect())
}
