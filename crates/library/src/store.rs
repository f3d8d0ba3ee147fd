//! Remembered match decisions (a permanent match cache, as playlist tools keep).
//!
//! An accepted match is remembered under a fingerprint of the query — everything that decides
//! the match: its normalised artist set, base title, version and its words, edit words
//! ("radio edit"), qualifiers ("2018", "take 3"), album, ISRC and MusicBrainz id — together with the item's id and
//! `updatedAt`. Durations jitter between sources, so they are not in the fingerprint; a
//! remembered item whose duration contradicts the query's (further apart than the matcher's
//! accept limit) is not used for it. A remembered match is used again only while that item
//! still exists, is visible to the asker and has the same `updatedAt`; otherwise it is dropped
//! and the query is matched afresh.
//!
//! The store persists in the same framed format as the index snapshot (magic, version,
//! length, CRC-32, postcard) and is written atomically.

use std::path::Path;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::LibraryError;
use crate::index::{LibraryIndex, Visibility};
use crate::matcher::{
    Band, Candidate, MatchMethod, MatchOutcome, Matcher, MatcherConfig, TrackQuery,
};
use crate::normalize;

const MAGIC: &[u8; 16] = b"cachearr-matches";
/// History: 1, fingerprints without edit words (a song and its radio edit shared one
/// memory); 2, with them; 3, with the title's qualifiers ("Song - 2018" and "Song (Take 3)" are
/// not "Song"), and decisions made since unknown qualifiers, extra credits and live albums
/// stopped being accepted. A store of an older version is read as empty: its keys may collide
/// and its decisions were made under rules that accepted other recordings.
const FORMAT_VERSION: u32 = 3;

/// One remembered decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Remembered {
    item_id: String,
    updated_at: i64,
    score: f32,
}

/// Remembered accepted matches, keyed by query fingerprint.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MatchStore {
    entries: FxHashMap<String, Remembered>,
}

impl MatchStore {
    /// An empty store.
    pub fn new() -> MatchStore {
        MatchStore::default()
    }

    /// Remembered matches.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The fingerprint of a query: equal for spellings the normaliser considers equal.
    pub fn fingerprint(query: &TrackQuery) -> String {
        let (artist, title) = normalize::read_upload(&query.artist, &query.title);
        let title = normalize::parse_title(&title);
        let mut artists = normalize::split_artists(&artist);
        artists.extend(title.featured.iter().cloned());
        artists.sort();
        artists.dedup();
        let album = query
            .album
            .as_deref()
            .map(normalize::normalize_album)
            .unwrap_or_default();
        let isrc = query
            .isrc
            .as_deref()
            .and_then(crate::record::normalize_isrc)
            .unwrap_or_default();
        let mbid = query
            .musicbrainz_id
            .as_deref()
            .and_then(crate::record::parse_mbid)
            .map(crate::record::format_mbid)
            .unwrap_or_default();
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            artists.join("\u{1e}"),
            title.base,
            title.version.bits(),
            title.version_text,
            title.edit_text,
            title.qualifiers.join("\u{1e}"),
            album,
            isrc,
            mbid
        )
    }

    /// The remembered match for `query`, if its item still exists unchanged and is visible.
    /// A remembered match whose item changed or disappeared is dropped.
    pub fn recall(
        &mut self,
        index: &LibraryIndex,
        visibility: &Visibility,
        query: &TrackQuery,
    ) -> Option<MatchOutcome> {
        let key = Self::fingerprint(query);
        let remembered = self.entries.get(&key)?;
        // Existence and change are judged over the whole index: an item the asker cannot see
        // is not stale, just not theirs.
        let current = index.by_id(&remembered.item_id, &Visibility::everything());
        match current {
            Some(view) if view.updated_at() == remembered.updated_at => {
                // Same words, contradicting length: another edit than the one remembered.
                if let (Some(asked), Some(known)) = (query.duration_ms, view.duration_ms())
                    && asked.abs_diff(known) > MatcherConfig::default().duration_accept_limit_ms
                {
                    return None;
                }
                let visible = index.by_id(&remembered.item_id, visibility)?;
                Some(MatchOutcome {
                    best: Some(Candidate {
                        item: visible.item_no(),
                        id: visible.id().to_string(),
                        section_id: visible.section_id().to_string(),
                        title: visible.title().to_string(),
                        artist: visible.artists().join(", "),
                        album: visible.album().map(str::to_string),
                        score: remembered.score,
                    }),
                    band: Band::Accept,
                    method: MatchMethod::Remembered,
                    runner_up: None,
                })
            }
            _ => {
                self.entries.remove(&key);
                None
            }
        }
    }

    /// Remembers an accepted outcome (other bands are not remembered).
    pub fn remember(&mut self, index: &LibraryIndex, query: &TrackQuery, outcome: &MatchOutcome) {
        let Some(best) = &outcome.best else { return };
        if outcome.band != Band::Accept || outcome.method == MatchMethod::Remembered {
            return;
        }
        if let Some(view) = index.by_id(&best.id, &Visibility::everything()) {
            self.entries.insert(
                Self::fingerprint(query),
                Remembered {
                    item_id: best.id.clone(),
                    updated_at: view.updated_at(),
                    score: best.score,
                },
            );
        }
    }

    /// Drops every remembered match whose item disappeared or changed; returns how many.
    pub fn prune(&mut self, index: &LibraryIndex) -> usize {
        let before = self.entries.len();
        let everything = Visibility::everything();
        self.entries.retain(|_, remembered| {
            index
                .by_id(&remembered.item_id, &everything)
                .is_some_and(|view| view.updated_at() == remembered.updated_at)
        });
        before - self.entries.len()
    }

    /// Matches a batch: remembered decisions first, the rest through `matcher`; accepted new
    /// matches are remembered.
    pub fn match_all(
        &mut self,
        matcher: &Matcher<'_>,
        visibility: &Visibility,
        queries: &[TrackQuery],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<MatchOutcome> {
        let index = matcher.index();
        let mut outcomes: Vec<Option<MatchOutcome>> = queries
            .iter()
            .map(|query| self.recall(index, visibility, query))
            .collect();
        let pending: Vec<usize> = (0..queries.len())
            .filter(|n| outcomes[*n].is_none())
            .collect();
        let recalled = queries.len() - pending.len();
        let fresh_queries: Vec<TrackQuery> = pending.iter().map(|n| queries[*n].clone()).collect();
        let fresh = matcher.match_all(&fresh_queries, &|done| progress(recalled + done));
        for (n, outcome) in pending.into_iter().zip(fresh) {
            self.remember(index, &queries[n], &outcome);
            outcomes[n] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(MatchOutcome::none))
            .collect()
    }

    /// Writes the store atomically.
    pub fn save(&self, path: &Path) -> Result<(), LibraryError> {
        let payload = postcard::to_stdvec(self).map_err(|err| LibraryError::Encode {
            what: "match store",
            reason: err.to_string(),
        })?;
        let mut bytes = Vec::with_capacity(payload.len() + 28);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        crate::snapshot::write_atomically(path, &bytes)
    }

    /// Reads a store written by [`MatchStore::save`]; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<MatchStore, LibraryError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(MatchStore::new()),
            Err(source) => {
                return Err(LibraryError::Io {
                    action: "reading",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let bad = |reason: &str| LibraryError::BadSnapshot {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        if bytes.len() < 24 || &bytes[..16] != MAGIC {
            return Err(bad("not a cachearr match store"));
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(&bytes[16..20]);
        let version = u32::from_le_bytes(word);
        if version < FORMAT_VERSION {
            // Remembered decisions are a cache: an older store is started afresh.
            return Ok(MatchStore::new());
        }
        if version != FORMAT_VERSION {
            return Err(bad("match store written by a newer cachearr"));
        }
        word.copy_from_slice(&bytes[20..24]);
        let payload = &bytes[24..];
        if crc32fast::hash(payload) != u32::from_le_bytes(word) {
            return Err(bad("checksum mismatch (damaged file)"));
        }
        postcard::from_bytes(payload).map_err(|err| bad(&format!("cannot decode: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ItemRecord;

    fn index(updated_at: i64, with_song: bool) -> LibraryIndex {
        let mut records = vec![ItemRecord::track(
            "other",
            "1",
            "Queen",
            "Bohemian Rhapsody",
        )];
        if with_song {
            let mut song = ItemRecord::track("song", "1", "The Beatles", "Hey Jude");
            song.updated_at = updated_at;
            records.push(song);
        }
        LibraryIndex::build(&records).unwrap()
    }

    #[test]
    fn fingerprints_ignore_spelling_and_duration_but_not_versions() {
        let a = TrackQuery::new("The Beatles", "Hey Jude - Remastered");
        let mut b = TrackQuery::new("beatles", "HEY JUDE");
        b.duration_ms = Some(1);
        assert_eq!(MatchStore::fingerprint(&a), MatchStore::fingerprint(&b));
        let live = TrackQuery::new("The Beatles", "Hey Jude (Live)");
        assert_ne!(MatchStore::fingerprint(&a), MatchStore::fingerprint(&live));
        // Words that may name another recording keep it apart too.
        for other in ["Hey Jude - 2018", "Hey Jude (Rooftop Take)"] {
            let other = TrackQuery::new("The Beatles", other);
            assert_ne!(MatchStore::fingerprint(&a), MatchStore::fingerprint(&other));
        }
    }

    #[test]
    fn remembered_matches_survive_reload_and_drop_when_the_item_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matches.bin");
        let all = Visibility::everything();
        let query = TrackQuery::new("Beatles", "Hey Jude");
        let first = index(10, true);
        let matcher = Matcher::new(&first, &all, MatcherConfig::default());
        let mut store = MatchStore::load(&path).unwrap();
        assert!(store.is_empty());
        let outcomes = store.match_all(&matcher, &all, std::slice::from_ref(&query), &|_| {});
        assert_eq!(outcomes[0].accepted_id(), Some("song"));
        assert_eq!(store.len(), 1);
        store.save(&path).unwrap();

        let mut store = MatchStore::load(&path).unwrap();
        let again = store.match_all(&matcher, &all, std::slice::from_ref(&query), &|_| {});
        assert_eq!(again[0].method, MatchMethod::Remembered);
        assert_eq!(again[0].accepted_id(), Some("song"));

        // Hidden from this user: not answered, but not forgotten either.
        let nobody = Visibility::sections(["2"]);
        assert!(store.recall(&first, &nobody, &query).is_none());
        assert_eq!(store.len(), 1);

        let changed = index(11, true);
        assert!(store.recall(&changed, &all, &query).is_none());
        assert!(store.is_empty(), "a changed item drops the memory");

        store.remember(
            &changed,
            &query,
            &Matcher::new(&changed, &all, MatcherConfig::default()).match_one(&query),
        );
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.prune(&index(11, false)),
            1,
            "a vanished item drops the memory"
        );
        assert!(store.is_empty());
    }

    #[test]
    fn a_song_and_its_radio_edit_are_remembered_apart() {
        let mut song = ItemRecord::track("song", "1", "Elbow", "One Day Like This");
        song.duration_ms = Some(395_000);
        let mut edit = ItemRecord::track("edit", "1", "Elbow", "One Day Like This (Radio Edit)");
        edit.duration_ms = Some(260_000);
        let built = LibraryIndex::build(&[song, edit]).unwrap();
        let all = Visibility::everything();
        let matcher = Matcher::new(&built, &all, MatcherConfig::default());
        let plain = TrackQuery::new("Elbow", "One Day Like This");
        let radio = TrackQuery::new("Elbow", "One Day Like This - Radio Edit");
        assert_ne!(
            MatchStore::fingerprint(&plain),
            MatchStore::fingerprint(&radio)
        );
        let mut store = MatchStore::new();
        let queries = [plain.clone(), radio.clone()];
        let first = store.match_all(&matcher, &all, &queries, &|_| {});
        assert_eq!(first[0].accepted_id(), Some("song"));
        assert_eq!(first[1].accepted_id(), Some("edit"));
        let again = store.match_all(&matcher, &all, &queries, &|_| {});
        assert_eq!(again[0].method, MatchMethod::Remembered);
        assert_eq!(again[0].accepted_id(), Some("song"));
        assert_eq!(again[1].accepted_id(), Some("edit"));

        // Remembered from an entry without a duration, asked with the edit's length: the
        // memory does not answer, the matcher does.
        let mut timed = plain.clone();
        timed.duration_ms = Some(261_000);
        assert!(store.recall(&built, &all, &timed).is_none());
    }

    #[test]
    fn older_stores_start_afresh_and_newer_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matches.bin");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        std::fs::write(&path, &bytes).unwrap();
        assert!(MatchStore::load(&path).unwrap().is_empty());
        bytes[16..20].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert!(MatchStore::load(&path).is_err());
    }

    #[test]
    fn damaged_store_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matches.bin");
        std::fs::write(&path, b"garbage").unwrap();
        assert!(MatchStore::load(&path).is_err());
        let mut store = MatchStore::new();
        let built = index(1, true);
        let all = Visibility::everything();
        let query = TrackQuery::new("Beatles", "Hey Jude");
        store.remember(
            &built,
            &query,
            &Matcher::new(&built, &all, MatcherConfig::default()).match_one(&query),
        );
        store.save(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(MatchStore::load(&path).is_err());
    }
}
