//! Title search ([`LibraryIndex::search`]): every query word in the title, ranked exact,
//! prefix, phrase, substring, any order, shorter titles first.

use super::*;

impl LibraryIndex {
    /// Searches titles for `query` (normalised like everything else): every query word must
    /// occur in the title; results are ranked exact, prefix, phrase, substring, any order,
    /// shorter titles first. Only items of `kinds` (all kinds when empty) in visible sections.
    pub fn search(
        &self,
        query: &str,
        kinds: &[ItemKind],
        visibility: &Visibility,
        limit: usize,
    ) -> Vec<SearchHit> {
        let normalized = normalize::normalize_text(query);
        if normalized.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mask = self.mask(visibility);
        let words: Vec<&str> = normalized.split(' ').collect();
        let kind_ok =
            |slot: &Slot| kinds.is_empty() || kinds.iter().any(|kind| kind.code() == slot.kind);
        let pack = |w: &[u8]| {
            (1 << 24) | (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2])
        };
        // Fast path: titles that start with the query rank above every other match (exact
        // 1.0, prefix 0.85–0.9, the rest ≤ 0.8). When they alone fill the limit, the scan of
        // every title containing the words is not needed.
        let prefixed = self.prefix_hits(&normalized, &words, &mask, &kind_ok, limit);
        if prefixed.len() >= limit {
            return prefixed;
        }
        // Candidate lists: each query word's trigrams (a word of three bytes or more), or the
        // word-start gram " ab" for a two-byte word. The shortest list drives the walk; the
        // next shortest filters it (lists are sorted by item, so a binary search suffices).
        let mut lists: Vec<&[u32]> = Vec::new();
        for word in &words {
            let bytes = word.as_bytes();
            if bytes.len() >= 3 {
                lists.extend(bytes.windows(3).map(|w| self.title_grams.get(pack(w))));
            } else if bytes.len() == 2 {
                lists.push(self.title_grams.get(pack(&[b' ', bytes[0], bytes[1]])));
            }
        }
        lists.sort_by_key(|items| items.len());
        let mut hits: Vec<(f32, u8, u32)> = Vec::new();
        let mut consider = |item: u32| {
            let Some(slot) = self.slot(item) else { return };
            if !mask.allows(slot.section) || !kind_ok(slot) {
                return;
            }
            let title = self.data.str(slot.title_norm);
            if let Some(score) = rank_title(title, &normalized, &words) {
                hits.push((score, slot.kind, item));
            }
        };
        match lists.as_slice() {
            [] => {
                // Only one-letter words: titles with a word starting with that letter.
                let first = words.first().and_then(|w| w.bytes().next()).unwrap_or(b' ');
                let low = pack(&[b' ', first, 0]);
                let high = pack(&[b' ', first, 255]);
                let from = self.title_grams.keys.partition_point(|key| *key < low);
                let to = self.title_grams.keys.partition_point(|key| *key <= high);
                let mut items: Vec<u32> = Vec::new();
                for at in from..to {
                    let start = self.title_grams.offsets[at] as usize;
                    let end = self.title_grams.offsets[at + 1] as usize;
                    items.extend_from_slice(&self.title_grams.items[start..end]);
                }
                items.sort_unstable();
                items.dedup();
                items.into_iter().for_each(&mut consider);
            }
            [only] => only.iter().for_each(|item| consider(*item)),
            [driver, filter, ..] => driver
                .iter()
                .filter(|item| filter.binary_search(item).is_ok())
                .for_each(|item| consider(*item)),
        }
        let order = |a: &(f32, u8, u32), b: &(f32, u8, u32)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        hits.into_iter()
            .map(|(score, _, item)| SearchHit {
                item: ItemNo(item),
                score,
            })
            .collect()
    }
}

impl LibraryIndex {
    /// The best `limit` visible items whose normalised titles start with `normalized`
    /// (all of them, ranked, when there are fewer).
    fn prefix_hits(
        &self,
        normalized: &str,
        words: &[&str],
        mask: &SectionMask,
        kind_ok: &dyn Fn(&Slot) -> bool,
        limit: usize,
    ) -> Vec<SearchHit> {
        let title = |item: u32| {
            self.slot(item)
                .map_or("", |slot| self.data.str(slot.title_norm))
        };
        let from = self
            .by_title
            .partition_point(|item| title(*item) < normalized);
        let mut hits: Vec<(f32, u8, u32)> = Vec::new();
        for item in &self.by_title[from..] {
            let Some(slot) = self.slot(*item) else {
                continue;
            };
            let text = self.data.str(slot.title_norm);
            if !text.starts_with(normalized) {
                break;
            }
            if mask.allows(slot.section)
                && kind_ok(slot)
                && let Some(score) = rank_title(text, normalized, words)
            {
                hits.push((score, slot.kind, *item));
            }
        }
        let order = |a: &(f32, u8, u32), b: &(f32, u8, u32)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        hits.into_iter()
            .map(|(score, _, item)| SearchHit {
                item: ItemNo(item),
                score,
            })
            .collect()
    }
}

pub(super) fn rank_title(title: &str, query: &str, words: &[&str]) -> Option<f32> {
    let base = if title == query {
        1.0
    } else if title.starts_with(query)
        && title.as_bytes().get(query.len()).is_none_or(|b| *b == b' ')
    {
        0.9
    } else if title.starts_with(query) {
        0.85
    } else if let Some(at) = title.find(query) {
        let word_start = at == 0 || title.as_bytes().get(at - 1) == Some(&b' ');
        let word_end = title
            .as_bytes()
            .get(at + query.len())
            .is_none_or(|b| *b == b' ');
        if word_start && word_end { 0.8 } else { 0.7 }
    } else if words.iter().all(|word| title.contains(word)) {
        0.6
    } else {
        return None;
    };
    let extra = title.len().saturating_sub(query.len()).min(100) as f32;
    Some(base - extra * 0.0005)
}
