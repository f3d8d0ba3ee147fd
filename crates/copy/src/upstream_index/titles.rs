//! Server-semantics title search over an installed [`LibraryIndex`].
//!
//! Plex's and Jellyfin's search endpoints match a query as a case- and accent-insensitive
//! *substring* of the title (Jellyfin's `/Items?SearchTerm=` also of the original title).
//! The index's own ranked search is word-based over normalised titles (leading "The",
//! punctuation and edition noise dropped), which suits matching but would return a
//! different set than the server. So answering uses this side structure: every item's folded
//! title in one byte arena, separated by NUL, scanned with a SIMD substring search
//! (`memchr::memmem`). At a million items that is one pass over ~25 MB (a few ms); a typical
//! library of tens of thousands of tracks takes well under a millisecond.
//!
//! Built once per installed index (the index is immutable; a rebuild installs a new one) and
//! kept next to it ([`super::folded`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cachearr_library::index::ItemNo;
use cachearr_library::{ItemKind, LibraryIndex, Visibility};

/// The servers' search folding, shared with the simulator so that both fold alike.
use cachearr_serverfmt::search::{fold, fold_into};

/// How a title matched, and one match: the words the dialects' answer writers read the
/// search's hits in (the leaf [`cachearr_dialect::model`]).
use cachearr_dialect::model::library::{Rank, TitleHit};

/// Folded titles (and track artists that differ from the album artist, Plex's
/// `originalTitle`) of every item, in index order.
#[derive(Debug)]
pub struct FoldedTitles {
    /// `\0title\0title…\0`: item `i`'s title is `titles[starts[i]..starts[i + 1] - 1]`.
    titles: Vec<u8>,
    starts: Vec<u32>,
    originals: Vec<u8>,
    original_starts: Vec<u32>,
    /// Per item: kind code and section position in `sections`.
    kinds: Vec<ItemKind>,
    sections: Vec<u16>,
    section_ids: Vec<String>,
    /// Items per (section position, kind): what the index holds of each section.
    counts: Vec<(u16, ItemKind, u64)>,
    /// Shows as the title search knows them, from their episodes
    /// (`grandparent_id` and the show title): folded titles and who they are.
    show_titles: Vec<u8>,
    show_starts: Vec<u32>,
    shows: Vec<Show>,
    /// Who is whose: items by their parent's id (an album's tracks, a season's episodes, an
    /// artist's albums) and by their grandparent's (an artist's tracks, a show's episodes),
    /// in index order, for the answers of `…/children` and `…/allLeaves`.
    children: HashMap<Box<str>, Vec<ItemNo>>,
    grandchildren: HashMap<Box<str>, Vec<ItemNo>>,
    /// Sections (positions in `section_ids`) holding a show or a season without an episode.
    empty_parents: Vec<u16>,
    /// Sections' items in the orders walks asked for, found and sorted once for this index
    /// (a listing page of a large section sorted the whole section again): see
    /// [`Self::walk_order`].
    walk_orders: Mutex<HashMap<String, Arc<Vec<ItemNo>>>>,
}

/// Most walk orders kept for one index (a few per section and kind are ever asked for).
const MAX_WALK_ORDERS: usize = 256;

/// A show known from its episodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Show {
    /// The server's id of the show.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its section.
    pub section_id: String,
}

/// The number of `section` among `section_ids`, added when new (`u16::MAX` past the last
/// number a `u16` holds).
fn section_no(section_ids: &mut Vec<String>, section: &str) -> u16 {
    let at = match section_ids.iter().position(|s| s == section) {
        Some(at) => at,
        None => {
            section_ids.push(section.to_string());
            section_ids.len() - 1
        }
    };
    u16::try_from(at).unwrap_or(u16::MAX)
}

/// The shows' folded titles, each ended by a 0 after a leading 0, and where each starts (one
/// more start than shows: the end).
fn fold_show_titles(shows: &[Show], buf: &mut String) -> (Vec<u8>, Vec<u32>) {
    let mut show_titles = vec![0u8];
    let mut show_starts = Vec::with_capacity(shows.len() + 1);
    for show in shows {
        show_starts.push(show_titles.len() as u32);
        fold_into(&show.title, buf);
        show_titles.extend_from_slice(buf.as_bytes());
        show_titles.push(0);
    }
    show_starts.push(show_titles.len() as u32);
    (show_titles, show_starts)
}

/// How many items of each kind each section holds, in the order first met (items of no
/// section, `u16::MAX`, are not counted).
fn count_kinds(sections: &[u16], kinds: &[ItemKind]) -> Vec<(u16, ItemKind, u64)> {
    let mut counts: Vec<(u16, ItemKind, u64)> = Vec::new();
    for (&section, &kind) in sections.iter().zip(kinds) {
        if section == u16::MAX {
            continue;
        }
        match counts.iter_mut().find(|c| c.0 == section && c.1 == kind) {
            Some(c) => c.2 += 1,
            None => counts.push((section, kind, 1)),
        }
    }
    counts
}

impl FoldedTitles {
    /// Folds every title of `index`.
    pub fn build(index: &LibraryIndex) -> FoldedTitles {
        let everything = Visibility::everything();
        let mut titles = Vec::with_capacity(index.stats().text_bytes / 3 + 16);
        let mut originals = Vec::new();
        let mut starts = Vec::with_capacity(index.len() + 1);
        let mut original_starts = Vec::with_capacity(index.len() + 1);
        let mut kinds = Vec::with_capacity(index.len());
        let mut sections = Vec::with_capacity(index.len());
        let mut section_ids: Vec<String> = Vec::new();
        let mut buf = String::new();
        let mut shows: Vec<Show> = Vec::new();
        let mut show_ids: HashMap<String, usize> = HashMap::new();
        let mut children: HashMap<Box<str>, Vec<ItemNo>> = HashMap::new();
        let mut grandchildren: HashMap<Box<str>, Vec<ItemNo>> = HashMap::new();
        titles.push(0);
        originals.push(0);
        for item in 0..index.len() as u32 {
            starts.push(titles.len() as u32);
            original_starts.push(originals.len() as u32);
            if let Some(view) = index.item(ItemNo(item), &everything) {
                fold_into(view.title(), &mut buf);
                titles.extend_from_slice(buf.as_bytes());
                if let Some(original) = original_title(&view) {
                    fold_into(original, &mut buf);
                    originals.extend_from_slice(buf.as_bytes());
                }
                kinds.push(view.kind());
                if let Some(parent) = view.parent_id() {
                    children
                        .entry(parent.into())
                        .or_default()
                        .push(ItemNo(item));
                }
                if let Some(grandparent) = view.grandparent_id() {
                    grandchildren
                        .entry(grandparent.into())
                        .or_default()
                        .push(ItemNo(item));
                }
                if view.kind() == ItemKind::Episode
                    && let (Some(id), Some(title)) = (view.grandparent_id(), view.album())
                    && !show_ids.contains_key(id)
                {
                    show_ids.insert(id.to_string(), shows.len());
                    shows.push(Show {
                        id: id.to_string(),
                        title: title.to_string(),
                        section_id: view.section_id().to_string(),
                    });
                }
                sections.push(section_no(&mut section_ids, view.section_id()));
            } else {
                kinds.push(ItemKind::Track);
                sections.push(u16::MAX);
            }
            titles.push(0);
            originals.push(0);
        }
        starts.push(titles.len() as u32);
        original_starts.push(originals.len() as u32);
        titles.shrink_to_fit();
        originals.shrink_to_fit();
        let (show_titles, show_starts) = fold_show_titles(&shows, &mut buf);
        let counts = count_kinds(&sections, &kinds);
        let mut empty_parents = Vec::new();
        for (no, (&kind, &section)) in kinds.iter().zip(&sections).enumerate() {
            let leaves = match kind {
                ItemKind::Show => &grandchildren,
                ItemKind::Season => &children,
                _ => continue,
            };
            let Some(view) = index.item(ItemNo(no as u32), &everything) else {
                continue;
            };
            if !leaves.contains_key(view.id()) && !empty_parents.contains(&section) {
                empty_parents.push(section);
            }
        }
        FoldedTitles {
            children,
            grandchildren,
            empty_parents,
            counts,
            show_titles,
            show_starts,
            shows,
            titles,
            starts,
            originals,
            original_starts,
            kinds,
            sections,
            section_ids,
            walk_orders: Mutex::default(),
        }
    }

    /// The items kept as `order` (a section, a kind and an order, named by the caller), made
    /// by `make` the first time it is asked for this index.
    pub fn walk_order(&self, order: &str, make: impl FnOnce() -> Vec<ItemNo>) -> Arc<Vec<ItemNo>> {
        if let Some(kept) = self
            .walk_orders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(order)
        {
            return kept.clone();
        }
        // Made outside the lock: two first askers may both sort; both get the same order.
        let made = Arc::new(make());
        let mut orders = self.walk_orders.lock().unwrap_or_else(|e| e.into_inner());
        if orders.len() >= MAX_WALK_ORDERS {
            orders.clear();
        }
        orders.insert(order.to_string(), made.clone());
        made
    }

    /// [`Self::walk_order`] for a list that `make` may fail to make whole (`None`, not kept:
    /// a restricted user's items where an item's verdict could not be given).
    pub fn walk_order_if(
        &self,
        order: &str,
        make: impl FnOnce() -> Option<Vec<ItemNo>>,
    ) -> Option<Arc<Vec<ItemNo>>> {
        if let Some(kept) = self
            .walk_orders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(order)
        {
            return Some(kept.clone());
        }
        let made = Arc::new(make()?);
        let mut orders = self.walk_orders.lock().unwrap_or_else(|e| e.into_inner());
        if orders.len() >= MAX_WALK_ORDERS {
            orders.clear();
        }
        orders.insert(order.to_string(), made.clone());
        Some(made)
    }

    /// The items whose parent is `id` (an album's tracks, an artist's albums, a season's
    /// episodes), in index order; empty when none is held.
    pub fn children(&self, id: &str) -> &[ItemNo] {
        self.children.get(id).map_or(&[], Vec::as_slice)
    }

    /// The items whose grandparent is `id` (an artist's tracks, a show's episodes), in index
    /// order; empty when none is held.
    pub fn grandchildren(&self, id: &str) -> &[ItemNo] {
        self.grandchildren.get(id).map_or(&[], Vec::as_slice)
    }

    /// Whether every item of `kind` in `section` holds a leaf the index holds (every show
    /// and every season an episode): then a user the server shows every leaf of the section
    /// is shown every one of them too. `false` for the other kinds.
    pub fn held_by_leaves(&self, section: &str, kind: ItemKind) -> bool {
        matches!(kind, ItemKind::Show | ItemKind::Season)
            && self
                .section_ids
                .iter()
                .position(|s| s.eq_ignore_ascii_case(section))
                .is_some_and(|at| !self.empty_parents.iter().any(|&e| usize::from(e) == at))
    }

    /// How many items of `kind` the index holds in section `section`.
    pub fn count(&self, section: &str, kind: ItemKind) -> u64 {
        let Some(at) = self
            .section_ids
            .iter()
            .position(|s| s.eq_ignore_ascii_case(section))
        else {
            return 0;
        };
        self.counts
            .iter()
            .find(|c| usize::from(c.0) == at && c.1 == kind)
            .map_or(0, |c| c.2)
    }

    fn item_at(starts: &[u32], offset: usize) -> usize {
        starts
            .partition_point(|start| *start as usize <= offset)
            .saturating_sub(1)
    }

    /// How a match of `len` bytes at `at` in entry `n` of an arena (entries starting at
    /// `starts`, each ended by a NUL) ranks: the whole entry, its start, or inside it.
    fn rank_at(starts: &[u32], n: usize, at: usize, len: usize) -> Rank {
        let start = starts[n] as usize;
        let end = starts[n + 1] as usize - 1;
        if at == start && end - start == len {
            Rank::Exact
        } else if at == start {
            Rank::Prefix
        } else {
            Rank::Contains
        }
    }

    /// Every item of `kinds` in the `allowed` sections, in index order (ranked exact): a
    /// listing with no filter.
    pub fn all(&self, kinds: &[ItemKind], allowed: &[&str]) -> Vec<TitleHit> {
        let section_ok: Vec<bool> = self
            .section_ids
            .iter()
            .map(|id| allowed.contains(&id.as_str()))
            .collect();
        (0..self.kinds.len())
            .filter(|&item| {
                self.sections
                    .get(item)
                    .and_then(|s| section_ok.get(usize::from(*s)))
                    .copied()
                    .unwrap_or(false)
                    && kinds.contains(&self.kinds[item])
            })
            .map(|item| TitleHit {
                item: ItemNo(item as u32),
                rank: Rank::Exact,
            })
            .collect()
    }

    /// Items of `kinds` in the sections `allowed` whose folded title contains the folded
    /// `query` (and, with `originals`, those whose original title does), with their rank,
    /// in index order. An empty query matches nothing. The query is used as given: the
    /// search endpoints trim it first, Plex's `title=` filter does not.
    pub fn find(
        &self,
        query: &str,
        kinds: &[ItemKind],
        allowed: &[&str],
        originals: bool,
    ) -> Vec<TitleHit> {
        let needle = fold(query);
        if needle.is_empty() || needle.contains('\0') {
            return Vec::new();
        }
        let section_ok: Vec<bool> = self
            .section_ids
            .iter()
            .map(|id| allowed.contains(&id.as_str()))
            .collect();
        let ok = |item: usize| {
            self.sections
                .get(item)
                .and_then(|s| section_ok.get(usize::from(*s)))
                .copied()
                .unwrap_or(false)
                && self.kinds.get(item).is_some_and(|k| kinds.contains(k))
        };
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let mut ranks: HashMap<usize, Rank> = HashMap::new();
        let mut last = usize::MAX;
        for at in finder.find_iter(&self.titles) {
            let item = Self::item_at(&self.starts, at);
            if item == last || !ok(item) {
                continue;
            }
            last = item;
            ranks.insert(item, Self::rank_at(&self.starts, item, at, needle.len()));
        }
        if originals {
            let mut last = usize::MAX;
            for at in finder.find_iter(&self.originals) {
                let item = Self::item_at(&self.original_starts, at);
                if item == last || !ok(item) {
                    continue;
                }
                last = item;
                ranks.entry(item).or_insert(Rank::Contains);
            }
        }
        let mut hits: Vec<TitleHit> = ranks
            .into_iter()
            .map(|(item, rank)| TitleHit {
                item: ItemNo(item as u32),
                rank,
            })
            .collect();
        hits.sort_by_key(|h| h.item);
        hits
    }

    /// Shows in the sections `allowed` whose folded title contains the folded `query`, with
    /// their rank, in the order their first episodes appear.
    pub fn find_shows(&self, query: &str, allowed: &[&str]) -> Vec<(&Show, Rank)> {
        let needle = fold(query);
        if needle.is_empty() || needle.contains('\0') {
            return Vec::new();
        }
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let mut out: Vec<(&Show, Rank)> = Vec::new();
        let mut last = usize::MAX;
        for at in finder.find_iter(&self.show_titles) {
            let n = Self::item_at(&self.show_starts, at);
            if n == last {
                continue;
            }
            last = n;
            let Some(show) = self.shows.get(n) else {
                continue;
            };
            if !allowed.contains(&show.section_id.as_str()) {
                continue;
            }
            out.push((show, Self::rank_at(&self.show_starts, n, at, needle.len())));
        }
        out
    }

    /// Items whose folded title equals the folded `query` (Plex's `title==`).
    pub fn find_exact(&self, query: &str, kinds: &[ItemKind], allowed: &[&str]) -> Vec<TitleHit> {
        self.find(query, kinds, allowed, false)
            .into_iter()
            .filter(|h| h.rank == Rank::Exact)
            .collect()
    }
}

/// Plex's `originalTitle` of a track: its credited artist when that differs from the album
/// artist.
pub fn original_title<'a>(view: &cachearr_library::index::ItemView<'a>) -> Option<&'a str> {
    if view.kind() != ItemKind::Track {
        return None;
    }
    let artist = view.artists().into_iter().next()?;
    let album_artist = view.album_artist()?;
    (artist != album_artist).then_some(artist)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cachearr_library::ItemRecord;

    fn index() -> Arc<LibraryIndex> {
        let mut records = vec![
            ItemRecord::track("1", "3", "Abba", "Dancing Queen"),
            ItemRecord::track("2", "3", "Abba", "Queen of Hearts (Live)"),
            ItemRecord::track("3", "4", "Queen", "Bohemian Rhapsody"),
            ItemRecord::track("4", "3", "Beyoncé", "Café Queen"),
            ItemRecord::track("5", "3", "Queen", "queen"),
        ];
        records[2].album_artist = Some("Queen".into());
        records[3].album_artist = Some("Various".into());
        Arc::new(LibraryIndex::build(&records).unwrap())
    }

    #[test]
    fn counts_what_the_index_holds_per_section_and_kind() {
        let folded = FoldedTitles::build(&index());
        assert_eq!(folded.count("3", ItemKind::Track), 4);
        assert_eq!(folded.count("4", ItemKind::Track), 1);
        assert_eq!(folded.count("3", ItemKind::Album), 0);
        assert_eq!(folded.count("9", ItemKind::Track), 0);
    }

    #[test]
    fn a_walk_order_is_made_once_per_index_and_name() {
        let folded = FoldedTitles::build(&index());
        let made = std::cell::Cell::new(0);
        let make = |items: Vec<ItemNo>| {
            made.set(made.get() + 1);
            items
        };
        let items: Vec<ItemNo> = folded
            .all(&[ItemKind::Track], &["3"])
            .into_iter()
            .map(|h| h.item)
            .collect();
        let first = folded.walk_order("3/Track/", || make(items.clone()));
        let again = folded.walk_order("3/Track/", || make(Vec::new()));
        assert_eq!((made.get(), &*again), (1, &*first));
        assert_eq!(first.len(), 4);
        let other = folded.walk_order("3/Track/id", || make(Vec::new()));
        assert!(other.is_empty());
        assert_eq!(made.get(), 2);
    }

    #[test]
    fn substring_rank_and_visibility() {
        let index = index();
        let titles = FoldedTitles::build(&index);
        let all = [ItemKind::Track];
        let hits = titles.find("QUEEN", &all, &["3", "4"], false);
        let got: Vec<(u32, Rank)> = hits.iter().map(|h| (h.item.0, h.rank)).collect();
        assert_eq!(
            got,
            vec![
                (0, Rank::Contains),
                (1, Rank::Prefix),
                (3, Rank::Contains),
                (4, Rank::Exact)
            ]
        );
        // Section 4 hidden: item 2 never appears even when its original title would match.
        let hits = titles.find("rhapsody", &all, &["3"], true);
        assert!(hits.is_empty());
        // Accents fold both ways; live stays in the title for the server.
        assert_eq!(titles.find("cafe", &all, &["3"], false).len(), 1);
        assert_eq!(titles.find("(live)", &all, &["3"], false).len(), 1);
        // Original titles (track artist differing from album artist) only when asked.
        assert!(titles.find("beyonce", &all, &["3"], false).is_empty());
        assert_eq!(titles.find("beyonce", &all, &["3"], true).len(), 1);
        assert_eq!(titles.find_exact("Queen", &all, &["3"]).len(), 1);
        assert!(titles.find("", &all, &["3"], false).is_empty());
    }
}
