//! Tag generations and prefix drops: invalidation that costs O(1) at write time and a few
//! integer comparisons at read time.
//!
//! * Every tag is interned once as a [`TagCell`] holding a generation counter. An entry keeps
//!   `(cell, generation)` pairs taken when its load started; bumping a tag's counter makes
//!   every older entry of that tag fail the comparison on its next read.
//! * Every stored entry carries a sequence number taken from one global counter. A prefix drop
//!   (and clear-all, the empty prefix) records `(prefix, seq)`: entries with a smaller number
//!   under that prefix are dead. A read compares its entry's number with the newest drop's
//!   number first, so with no recent drop the check is one comparison.
//! * Drop records are pruned once every entry they could apply to has expired anyway.
//! * Bumped tags are forgotten the same way, once every entry stamped before their last bump
//!   has expired, so the state stays bounded by the tags bumped within the longest entry life.
//!   Generations are never handed out twice: a bump after a forgotten tag comes back starts
//!   above every generation forgotten so far (the floor), so a record stamped before the tag
//!   was forgotten cannot match it again.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::key::Key;
use crate::locks::{LockUnpoisoned, RwLockUnpoisoned};

/// The tag generation an entry was stored under.
#[derive(Clone, Debug)]
pub(crate) struct TagStamp {
    pub(crate) cell: Arc<TagCell>,
    pub(crate) generation: u64,
}

/// What validity is judged on: an entry's sequence number and the tag generations it was
/// stored under (the entry type lives above this module, which only reads these).
pub(crate) trait Stamped {
    /// The entry's insertion sequence number.
    fn seq(&self) -> u64;
    /// The tag generations the entry was stored under.
    fn tag_stamps(&self) -> &[TagStamp];
}

impl<T: Stamped + ?Sized> Stamped for Arc<T> {
    #[inline]
    fn seq(&self) -> u64 {
        (**self).seq()
    }

    #[inline]
    fn tag_stamps(&self) -> &[TagStamp] {
        (**self).tag_stamps()
    }
}

/// One interned tag and its generation counter.
#[derive(Debug)]
pub(crate) struct TagCell {
    /// The tag's name; the cell is its only holder (the interning set finds cells by it).
    pub(crate) name: Box<str>,
    pub(crate) generation: AtomicU64,
    /// The [`Invalidation::bump_clock`] value of this tag's latest bump (0: none seen since
    /// start), written before the generation moves: tags a loaded value names are stamped
    /// after the load, and one bumped meanwhile must not look current.
    pub(crate) bumped_at: AtomicU64,
    /// The generation the last forgetting pass saw, and when (clock ms) it first saw it: the
    /// tag's last bump happened no later than that, so once every entry life since then has
    /// run out, no record can carry an older generation of it. Only that pass, under the tag
    /// map's write lock, reads and writes them.
    seen_generation: AtomicU64,
    seen_at_ms: AtomicU64,
}

impl TagCell {
    fn new(name: &str, generation: u64) -> TagCell {
        TagCell {
            name: name.into(),
            generation: AtomicU64::new(generation),
            bumped_at: AtomicU64::new(0),
            seen_generation: AtomicU64::new(generation),
            seen_at_ms: AtomicU64::new(0),
        }
    }
}

/// A cell in the interning set, found by its name. A library walked daily interns two or
/// three tags per item (its fields and play state), hundreds of thousands of cells that are
/// not weighed against `memory_max`, so a cell is one pointer in the set and the name lives
/// only in the cell.
#[derive(Debug)]
struct Interned(Arc<TagCell>);

impl Borrow<str> for Interned {
    fn borrow(&self) -> &str {
        &self.0.name
    }
}

impl PartialEq for Interned {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Interned {}

impl Hash for Interned {
    // Must hash as the `str` it borrows as.
    fn hash<H: Hasher>(&self, state: &mut H) {
        (*self.0.name).hash(state);
    }
}

/// A recorded prefix drop.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct DropRecord {
    pub(crate) prefix: String,
    /// Entries stored with a smaller sequence number under `prefix` are dead.
    pub(crate) seq: u64,
    /// When the drop happened (clock ms), for pruning.
    pub(crate) at_ms: u64,
}

/// The persisted form of the invalidation state.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct InvalidationState {
    /// Tags whose generation is above zero.
    pub(crate) tags: Vec<(String, u64)>,
    pub(crate) drops: Vec<DropRecord>,
    /// Every sequence number handed out so far is below this.
    pub(crate) next_seq: u64,
    /// Longest entry life seen (ms), which bounds how long a drop record matters.
    pub(crate) max_life_ms: u64,
    /// Every generation of a forgotten tag is at most this; bumps start above it.
    pub(crate) generation_floor: u64,
}

/// The persisted form before forgotten tags had a floor (read when upgrading a store).
#[derive(Deserialize)]
pub(crate) struct InvalidationStateV1 {
    tags: Vec<(String, u64)>,
    drops: Vec<DropRecord>,
    next_seq: u64,
    max_life_ms: u64,
}

impl From<InvalidationStateV1> for InvalidationState {
    fn from(v1: InvalidationStateV1) -> Self {
        InvalidationState {
            tags: v1.tags,
            drops: v1.drops,
            next_seq: v1.next_seq,
            max_life_ms: v1.max_life_ms,
            generation_floor: 0,
        }
    }
}

/// Tag generations, prefix drops and the entry sequence counter.
#[derive(Debug, Default)]
pub(crate) struct Invalidation {
    tags: RwLock<HashSet<Interned>>,
    drops: RwLock<Vec<DropRecord>>,
    /// Sequence number of the newest drop (0: none).
    newest_drop_seq: AtomicU64,
    next_seq: AtomicU64,
    max_life_ms: AtomicU64,
    /// Every generation of a forgotten tag is at most this (see the module doc).
    generation_floor: AtomicU64,
    /// Counts tag bumps (memory only): a load notes it when it starts, and a tag whose
    /// `bumped_at` is above that was bumped while the load ran.
    bumps: AtomicU64,
    /// Bumped on every change, so the persister knows when to write.
    pub(crate) version: AtomicU64,
    /// What the persister has not written yet: tags whose generation moved, tags forgotten
    /// (their rows go), and whether it must write every tag (its first write).
    unwritten: std::sync::Mutex<Unwritten>,
}

/// Tag changes not yet persisted ([`Invalidation::take_tag_changes`]).
#[derive(Debug, Default)]
struct Unwritten {
    moved: std::collections::HashSet<Arc<str>>,
    forgotten: Vec<Arc<str>>,
    all_written: bool,
}

/// Tag generations to persist: rows to write and rows to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TagChanges {
    pub(crate) set: Vec<(String, u64)>,
    pub(crate) forget: Vec<String>,
}

impl Invalidation {
    /// Restores persisted state.
    pub(crate) fn restore(state: InvalidationState) -> Self {
        let this = Self::default();
        {
            let mut tags = this.tags.write_unpoisoned();
            for (name, generation) in state.tags {
                tags.insert(Interned(Arc::new(TagCell::new(&name, generation))));
            }
        }
        let newest = state.drops.iter().map(|d| d.seq).max().unwrap_or(0);
        this.newest_drop_seq.store(newest, Ordering::Release);
        this.next_seq
            .store(state.next_seq.max(newest + 1), Ordering::Release);
        this.max_life_ms.store(state.max_life_ms, Ordering::Release);
        this.generation_floor
            .store(state.generation_floor, Ordering::Release);
        *this.drops.write_unpoisoned() = state.drops;
        this
    }

    /// The interned cell for a tag.
    pub(crate) fn tag(&self, name: &str) -> Arc<TagCell> {
        if let Some(cell) = self.tags.read_unpoisoned().get(name) {
            return cell.0.clone();
        }
        let mut tags = self.tags.write_unpoisoned();
        if let Some(cell) = tags.get(name) {
            return cell.0.clone();
        }
        let cell = Arc::new(TagCell::new(name, 0));
        tags.insert(Interned(cell.clone()));
        cell
    }

    /// Bumps a tag's generation: every entry stored under the old one is dead.
    pub(crate) fn invalidate_tag(&self, name: &str) {
        let cell = self.tag(name);
        self.mark_bump(&cell);
        let floor = self.generation_floor.load(Ordering::Acquire);
        let _ = cell
            .generation
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |g| {
                Some(g.saturating_add(1).max(floor.saturating_add(1)))
            });
        self.note_moved(&cell.name);
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    fn note_moved(&self, name: &str) {
        let mut u = self.unwritten.lock_unpoisoned();
        if u.all_written && !u.moved.contains(name) {
            u.moved.insert(name.into());
        }
    }

    /// The tag generations changed since the last call (all of them on the first call), for
    /// the persister: a change costs a row, not a rewrite of every tag.
    pub(crate) fn take_tag_changes(&self) -> TagChanges {
        let mut u = self.unwritten.lock_unpoisoned();
        let tags = self.tags.read_unpoisoned();
        let generation = |name: &str| {
            tags.get(name)
                .map(|c| c.0.generation.load(Ordering::Acquire))
                .filter(|g| *g > 0)
        };
        let set: Vec<(String, u64)> = if u.all_written {
            u.moved
                .drain()
                .filter_map(|n| generation(&n).map(|g| (n.to_string(), g)))
                .collect()
        } else {
            u.all_written = true;
            u.moved.clear();
            tags.iter()
                .filter_map(|c| generation(&c.0.name).map(|g| (c.0.name.to_string(), g)))
                .collect()
        };
        // A tag forgotten and then bumped again keeps its (new) row.
        let forget = u
            .forgotten
            .drain(..)
            .filter(|n| generation(n).is_none())
            .map(|n| n.to_string())
            .collect();
        TagChanges { set, forget }
    }

    /// Records that `cell` is about to be bumped (before its generation moves).
    fn mark_bump(&self, cell: &TagCell) {
        let at = self.bumps.fetch_add(1, Ordering::SeqCst) + 1;
        cell.bumped_at.fetch_max(at, Ordering::SeqCst);
    }

    /// The bump counter now; [`Invalidation::stamps_after`] compares tags with it.
    pub(crate) fn bump_clock(&self) -> u64 {
        self.bumps.load(Ordering::SeqCst)
    }

    /// Adds to `stamps` the tags a loaded value names (those not already there), stamped now.
    /// A tag bumped since `since` ([`Invalidation::bump_clock`] when the load started) gets a
    /// generation it can never have again: the value may predate that change, so the entry
    /// is dead on arrival and the next read loads again.
    pub(crate) fn stamps_after(
        &self,
        stamps: Box<[TagStamp]>,
        extra: &[Arc<str>],
        since: u64,
    ) -> Box<[TagStamp]> {
        if extra.is_empty() {
            return stamps;
        }
        // The tags named once each, checked against the policy's own: an answer from the
        // library copy names two tags per item, and checking each against every tag added
        // before it was quadratic (a twentieth of storing a 50-item page).
        // A later copy of a tag is marked (found by sorting), the first kept in its place.
        let mut by_name: Vec<usize> = (0..extra.len()).collect();
        by_name.sort_unstable_by(|&a, &b| extra[a].cmp(&extra[b]).then(a.cmp(&b)));
        let mut again = vec![false; extra.len()];
        for pair in by_name.windows(2) {
            if extra[pair[0]] == extra[pair[1]] {
                again[pair[1]] = true;
            }
        }
        let mut out = stamps.into_vec();
        let own = out.len();
        out.reserve(extra.len());
        for (t, again) in extra.iter().zip(again) {
            if again || out[..own].iter().any(|s| *s.cell.name == **t) {
                continue;
            }
            let cell = self.tag(t);
            let mut generation = cell.generation.load(Ordering::SeqCst);
            if cell.bumped_at.load(Ordering::SeqCst) > since {
                generation = generation.wrapping_sub(1);
            }
            out.push(TagStamp { cell, generation });
        }
        out.into_boxed_slice()
    }

    /// Raises a tag's generation to at least `generation` (another instance invalidated it);
    /// true if it changed.
    pub(crate) fn raise_tag(&self, name: &str, generation: u64) -> bool {
        if generation == 0 {
            return false;
        }
        let cell = self.tag(name);
        if cell.generation.load(Ordering::Acquire) < generation {
            self.mark_bump(&cell);
        }
        let previous = cell.generation.fetch_max(generation, Ordering::AcqRel);
        if previous < generation {
            self.note_moved(&cell.name);
            self.version.fetch_add(1, Ordering::AcqRel);
        }
        previous < generation
    }

    /// A fresh sequence number for an entry about to be loaded or stored.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::AcqRel)
    }

    /// The next sequence number to be handed out (every number so far is below it).
    pub(crate) fn snapshot_next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Acquire)
    }

    /// Records the longest entry life seen, which bounds how long drop records are kept.
    pub(crate) fn note_life(&self, life_ms: u64) {
        if self.max_life_ms.load(Ordering::Relaxed) < life_ms {
            self.max_life_ms.fetch_max(life_ms, Ordering::AcqRel);
            self.version.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Records a prefix drop (the empty prefix drops everything) and returns its record.
    pub(crate) fn drop_prefix(&self, prefix: &str, now_ms: u64) -> DropRecord {
        let seq = self.next_seq();
        let record = DropRecord {
            prefix: prefix.to_owned(),
            seq,
            at_ms: now_ms,
        };
        let mut drops = self.drops.write_unpoisoned();
        if prefix.is_empty() {
            // Clear-all supersedes every earlier drop.
            drops.clear();
        }
        drops.push(record.clone());
        self.newest_drop_seq.fetch_max(seq, Ordering::AcqRel);
        self.version.fetch_add(1, Ordering::AcqRel);
        record
    }

    /// Whether an entry under `key` is still valid (not dropped, tags current).
    #[inline]
    pub(crate) fn is_valid(&self, key: &Key, entry: &impl Stamped) -> bool {
        let seq = entry.seq();
        if seq < self.newest_drop_seq.load(Ordering::Acquire) && self.is_dropped(key, seq) {
            return false;
        }
        entry
            .tag_stamps()
            .iter()
            .all(|s| s.cell.generation.load(Ordering::Acquire) == s.generation)
    }

    #[cold]
    fn is_dropped(&self, key: &Key, seq: u64) -> bool {
        self.drops
            .read_unpoisoned()
            .iter()
            .any(|d| seq < d.seq && key.as_str().starts_with(&d.prefix))
    }

    /// Forgets drop records that can no longer match a live entry: every entry stored before
    /// the drop has outlived its longest possible life.
    pub(crate) fn prune(&self, now_ms: u64) {
        let max_life = self.max_life_ms.load(Ordering::Acquire);
        let mut drops = self.drops.write_unpoisoned();
        let before = drops.len();
        drops.retain(|d| d.at_ms.saturating_add(max_life) >= now_ms);
        if drops.len() != before {
            self.version.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Forgets interned tags nobody holds any more, so a long-running cache does not keep
    /// every tag it ever saw: a tag never bumped (records on disk stamped with generation 0
    /// match it again when it comes back at 0), and a bumped one once every entry stamped
    /// before its last bump has outlived the longest entry life (`now_ms` is the clock).
    /// Returns how many were forgotten.
    pub(crate) fn forget_unused_tags(&self, now_ms: u64) -> usize {
        let max_life = self.max_life_ms.load(Ordering::Acquire);
        let mut floor = self.generation_floor.load(Ordering::Acquire);
        let mut tags = self.tags.write_unpoisoned();
        let before = tags.len();
        let mut rows_gone = Vec::new();
        tags.retain(|Interned(c)| {
            let generation = c.generation.load(Ordering::Acquire);
            if c.seen_generation.swap(generation, Ordering::Relaxed) != generation
                || c.seen_at_ms.load(Ordering::Relaxed) == 0
            {
                c.seen_at_ms.store(now_ms, Ordering::Relaxed);
            }
            let expired = c
                .seen_at_ms
                .load(Ordering::Relaxed)
                .saturating_add(max_life)
                < now_ms;
            let keep = Arc::strong_count(c) > 1 || (generation > 0 && !expired);
            if !keep && generation > 0 {
                floor = floor.max(generation);
                rows_gone.push(Arc::<str>::from(&*c.name));
            }
            keep
        });
        // A set grown for a busy hour keeps its table after the tags go (a table slot per
        // tag ever held at once): give most of it back.
        if tags.capacity() > 4 * tags.len().max(1024) {
            let keep = 2 * tags.len();
            tags.shrink_to(keep);
        }
        let forgotten = before - tags.len();
        drop(tags);
        if !rows_gone.is_empty() {
            let mut u = self.unwritten.lock_unpoisoned();
            if u.all_written {
                u.forgotten.extend(rows_gone);
            }
            self.version.fetch_add(1, Ordering::AcqRel);
        }
        if self.generation_floor.fetch_max(floor, Ordering::AcqRel) < floor {
            self.version.fetch_add(1, Ordering::AcqRel);
        }
        forgotten
    }

    /// How many tags are interned.
    pub(crate) fn tag_count(&self) -> usize {
        self.tags.read_unpoisoned().len()
    }

    /// The state to persist, every bumped tag included.
    pub(crate) fn snapshot(&self) -> InvalidationState {
        let tags = self
            .tags
            .read_unpoisoned()
            .iter()
            .filter_map(|Interned(c)| {
                let g = c.generation.load(Ordering::Acquire);
                (g > 0).then(|| (c.name.to_string(), g))
            })
            .collect();
        InvalidationState {
            tags,
            ..self.snapshot_head()
        }
    }

    /// The state to persist beside the tag rows ([`Invalidation::take_tag_changes`]): drops,
    /// counters and the floor, without the tags.
    pub(crate) fn snapshot_head(&self) -> InvalidationState {
        InvalidationState {
            tags: Vec::new(),
            drops: self.drops.read_unpoisoned().clone(),
            next_seq: self.next_seq.load(Ordering::Acquire),
            max_life_ms: self.max_life_ms.load(Ordering::Acquire),
            generation_floor: self.generation_floor.load(Ordering::Acquire),
        }
    }

    /// The current generation of each of `tags`.
    pub(crate) fn stamps(&self, tags: &[Arc<str>]) -> Box<[TagStamp]> {
        tags.iter()
            .map(|t| {
                let cell = self.tag(t);
                let generation = cell.generation.load(Ordering::Acquire);
                TagStamp { cell, generation }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_named_by_a_value_are_dead_if_bumped_during_the_load() {
        let inval = Invalidation::default();
        inval.invalidate_tag("before");
        let since = inval.bump_clock();
        let base = inval.stamps(&[Arc::from("route")]);
        inval.invalidate_tag("during");
        let extra: Vec<Arc<str>> = vec![
            Arc::from("route"),
            Arc::from("before"),
            Arc::from("during"),
            Arc::from("new"),
            Arc::from("before"),
            Arc::from("new"),
        ];
        let stamps = inval.stamps_after(base, &extra, since);
        let current: Vec<(String, bool)> = stamps
            .iter()
            .map(|s| {
                (
                    s.cell.name.to_string(),
                    s.cell.generation.load(Ordering::Acquire) == s.generation,
                )
            })
            .collect();
        assert_eq!(
            current,
            vec![
                ("route".to_owned(), true),
                ("before".to_owned(), true),
                ("during".to_owned(), false),
                ("new".to_owned(), true),
            ]
        );
    }

    #[test]
    fn unused_tags_are_forgotten_but_held_or_bumped_ones_are_kept() {
        let inval = Invalidation::default();
        let held = inval.stamps(&["held".into()]);
        let _ = inval.stamps(&["dropped".into()]);
        inval.invalidate_tag("bumped");
        assert_eq!(inval.tag_count(), 3);
        assert_eq!(inval.forget_unused_tags(1), 1);
        assert_eq!(inval.tag_count(), 2);
        // A re-interned tag starts at generation 0, matching entries stored under 0.
        assert_eq!(held[0].generation, 0);
        assert_eq!(inval.stamps(&["bumped".into()])[0].generation, 1);
    }

    #[test]
    fn bumped_tags_are_forgotten_after_the_longest_life_and_never_reuse_a_generation() {
        let inval = Invalidation::default();
        inval.note_life(1_000);
        inval.invalidate_tag("item:1");
        inval.invalidate_tag("item:1");
        // A record on disk stamped with the tag's current generation (2), stored after the
        // last bump; the memory tier no longer holds the tag.
        let on_disk = 2;
        // The first pass sees generation 2 at t=10; the tag is kept for a whole life after.
        assert_eq!(inval.forget_unused_tags(10), 0);
        assert_eq!(inval.forget_unused_tags(1_010), 0);
        assert_eq!(inval.tag_count(), 1);
        assert_eq!(inval.forget_unused_tags(1_011), 1);
        assert_eq!(inval.tag_count(), 0);
        assert_eq!(inval.snapshot().generation_floor, 2);
        // It comes back at 0; its next bump must not land on 2, or the record would match.
        assert_eq!(inval.stamps(&["item:1".into()])[0].generation, 0);
        inval.invalidate_tag("item:1");
        let now = inval.stamps(&["item:1".into()])[0].generation;
        assert_eq!(now, 3);
        assert_ne!(now, on_disk);
        // The floor survives a restart.
        let restored = Invalidation::restore(inval.snapshot());
        restored.invalidate_tag("item:7");
        assert_eq!(restored.stamps(&["item:7".into()])[0].generation, 3);
    }

    #[test]
    fn a_bump_seen_late_keeps_the_tag_for_a_life_after_it_was_seen() {
        let inval = Invalidation::default();
        inval.note_life(1_000);
        inval.invalidate_tag("a");
        assert_eq!(inval.forget_unused_tags(0), 0);
        inval.invalidate_tag("a");
        // Bumped again after the first pass: the clock starts over when a pass sees it.
        assert_eq!(inval.forget_unused_tags(900), 0);
        assert_eq!(inval.forget_unused_tags(1_500), 0);
        assert_eq!(inval.forget_unused_tags(1_901), 1);
    }

    #[test]
    fn tag_changes_are_everything_once_then_only_what_moved() {
        let inval = Invalidation::restore(InvalidationState {
            tags: vec![("a".into(), 2), ("b".into(), 1)],
            ..InvalidationState::default()
        });
        let mut first = inval.take_tag_changes();
        first.set.sort();
        assert_eq!(first.set, vec![("a".into(), 2), ("b".into(), 1)]);
        assert_eq!(inval.take_tag_changes(), TagChanges::default());
        inval.invalidate_tag("c");
        inval.raise_tag("a", 9);
        inval.raise_tag("b", 1);
        let mut next = inval.take_tag_changes();
        next.set.sort();
        assert_eq!(next.set, vec![("a".into(), 9), ("c".into(), 1)]);
        // Forgotten rows go, unless the tag was bumped again before they were written.
        inval.note_life(10);
        assert_eq!(inval.forget_unused_tags(1), 0);
        assert_eq!(inval.forget_unused_tags(100), 3);
        inval.invalidate_tag("c");
        let mut gone = inval.take_tag_changes();
        gone.forget.sort();
        assert_eq!(gone.forget, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(gone.set, vec![("c".into(), 10)]);
    }

    #[test]
    fn a_set_grown_for_many_tags_gives_its_table_back_once_they_are_forgotten() {
        let inval = Invalidation::default();
        let held: Vec<Arc<TagCell>> = (0..20_000)
            .map(|i| inval.tag(&format!("plex:item:{i}")))
            .collect();
        let kept = inval.tag("plex:item:kept");
        // The same name finds the same cell.
        assert!(Arc::ptr_eq(&kept, &inval.tag("plex:item:kept")));
        let grown = inval.tags.read().unwrap().capacity();
        assert!(grown >= 20_001);
        drop(held);
        assert_eq!(inval.forget_unused_tags(1), 20_000);
        assert_eq!(inval.tag_count(), 1);
        assert!(inval.tags.read().unwrap().capacity() < grown / 4);
        assert!(Arc::ptr_eq(&kept, &inval.tag("plex:item:kept")));
    }
}
