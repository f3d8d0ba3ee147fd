//! The real-world evaluation set (`crates/library/eval/`): loading it, matching it, and
//! precision / recall per part and per failure class.
//!
//! The set is a library of real recordings (with their live, demo, acoustic, remix, edit and
//! karaoke versions, covers and compilation copies) and playlist entries spelled the way
//! Spotify, Apple Music, YouTube, Last.fm and M3U exports spell them, each with the library ids
//! that are right answers (none for traps). Every entry belongs to the `dev` part (tuned on)
//! or the `held-out` part (only measured); `eval/README.md` says how the set was made.
//!
//! A query is *accepted* when its band is `accept`. **precision** = accepted answers that are
//! right ÷ accepted answers; **recall** = positives accepted with a right answer ÷ positives.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::LibraryError;
use crate::matcher::{MatchOutcome, TrackQuery};
use crate::playlist::{PlaylistFormat, parse_playlist};
use crate::record::ItemRecord;

/// One library track of the set.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalTrack {
    /// The track's id.
    pub id: String,
    /// Its section.
    pub section_id: String,
    /// The title as a tagged library holds it.
    pub title: String,
    /// Track artists.
    pub artists: Vec<String>,
    /// The album artist ("Various Artists" on compilations).
    pub album_artist: Option<String>,
    /// The album.
    pub album: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: Option<u32>,
    /// MusicBrainz recording ids.
    #[serde(default)]
    pub musicbrainz_ids: Vec<String>,
    /// The ISRC.
    #[serde(default)]
    pub isrc: Option<String>,
}

impl EvalTrack {
    /// The index record of this track.
    pub fn record(&self) -> ItemRecord {
        let mut record = ItemRecord::track(&self.id, &self.section_id, "", &self.title);
        record.artists = self.artists.clone();
        record.album_artist = self.album_artist.clone();
        record.album = self.album.clone();
        record.duration_ms = self.duration_ms;
        record.musicbrainz_ids = self.musicbrainz_ids.clone();
        record.isrc = self.isrc.clone();
        record
    }
}

/// One playlist entry of the set.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalQuery {
    /// The entry's id (`q00001`).
    pub id: String,
    /// `dev` or `held-out`.
    pub part: String,
    /// The failure class it tests.
    pub class: String,
    /// The export it is spelled like (`spotify`, `apple`, `youtube`, `lastfm`, `m3u`).
    pub source: String,
    /// The recording it is about (the unit of the split).
    pub recording: String,
    /// Artist credit (absent for M3U entries, which carry `m3u`).
    #[serde(default)]
    pub artist: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Album.
    #[serde(default)]
    pub album: Option<String>,
    /// Duration in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u32>,
    /// ISRC.
    #[serde(default)]
    pub isrc: Option<String>,
    /// MusicBrainz recording id.
    #[serde(default)]
    pub musicbrainz_id: Option<String>,
    /// The entry as M3U text, read by the playlist reader.
    #[serde(default)]
    pub m3u: Option<String>,
    /// Right answers; empty for a trap.
    pub expected: Vec<String>,
}

impl EvalQuery {
    /// The query the matcher sees (M3U text goes through the playlist reader).
    pub fn query(&self) -> TrackQuery {
        if let Some(text) = &self.m3u {
            return parse_playlist(text, PlaylistFormat::M3u, &self.id)
                .ok()
                .and_then(|mut queries| queries.pop())
                .unwrap_or_default();
        }
        TrackQuery {
            artist: self.artist.clone().unwrap_or_default(),
            title: self.title.clone().unwrap_or_default(),
            album: self.album.clone(),
            duration_ms: self.duration_ms,
            isrc: self.isrc.clone(),
            musicbrainz_id: self.musicbrainz_id.clone(),
        }
    }

    /// True when the library holds a right answer.
    pub fn is_positive(&self) -> bool {
        !self.expected.is_empty()
    }
}

/// The whole set.
#[derive(Debug, Clone)]
pub struct EvalSet {
    /// The library.
    pub library: Vec<EvalTrack>,
    /// The playlist entries.
    pub queries: Vec<EvalQuery>,
}

impl EvalSet {
    /// Loads `library.json` and `queries.json` from `dir`.
    pub fn load(dir: &Path) -> Result<EvalSet, LibraryError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| LibraryError::Io {
                action: "reading",
                path,
                source,
            })
        };
        let bad = |name: &str, err: serde_json::Error| LibraryError::BadPlaylist {
            path: dir.join(name).display().to_string(),
            line: err.line() as u64,
            reason: err.to_string(),
        };
        let library =
            serde_json::from_str(&read("library.json")?).map_err(|err| bad("library.json", err))?;
        let queries =
            serde_json::from_str(&read("queries.json")?).map_err(|err| bad("queries.json", err))?;
        Ok(EvalSet { library, queries })
    }

    /// The index records of the library.
    pub fn records(&self) -> Vec<ItemRecord> {
        self.library.iter().map(EvalTrack::record).collect()
    }
}

/// Counts for one slice of the set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Entries.
    pub queries: usize,
    /// Entries with a right answer in the library.
    pub positives: usize,
    /// Entries accepted.
    pub accepted: usize,
    /// Accepted entries whose answer is right.
    pub correct: usize,
    /// Positives accepted with a right answer.
    pub found: usize,
}

impl Tally {
    fn add(&mut self, query: &EvalQuery, outcome: &MatchOutcome) -> Verdict {
        self.queries += 1;
        self.positives += usize::from(query.is_positive());
        let Some(id) = outcome.accepted_id() else {
            return if query.is_positive() {
                Verdict::Missed
            } else {
                Verdict::Right
            };
        };
        self.accepted += 1;
        if query.expected.iter().any(|expected| expected == id) {
            self.correct += 1;
            self.found += 1;
            Verdict::Right
        } else {
            Verdict::Wrong
        }
    }

    /// Right accepted answers over accepted answers (1.0 when nothing was accepted).
    pub fn precision(&self) -> f64 {
        if self.accepted == 0 {
            1.0
        } else {
            self.correct as f64 / self.accepted as f64
        }
    }

    /// Positives found over positives (`None` without positives: traps only).
    pub fn recall(&self) -> Option<f64> {
        (self.positives > 0).then(|| self.found as f64 / self.positives as f64)
    }
}

/// How one entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A right answer accepted, or a trap not accepted.
    Right,
    /// A positive not accepted.
    Missed,
    /// A wrong answer accepted.
    Wrong,
}

/// Precision and recall of one part, overall, per class and per export source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartReport {
    /// Every entry of the part.
    pub overall: Tally,
    /// By failure class.
    pub classes: BTreeMap<String, Tally>,
    /// By export source.
    pub sources: BTreeMap<String, Tally>,
}

/// One entry that went wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The entry's id.
    pub id: String,
    /// Its class.
    pub class: String,
    /// Missed or wrong.
    pub verdict: Verdict,
    /// The query as the matcher saw it.
    pub query: TrackQuery,
    /// Right answers.
    pub expected: Vec<String>,
    /// What the matcher answered.
    pub outcome: MatchOutcome,
}

/// Tallies the outcomes (in the order of `set.queries`) per part; failures are collected for
/// the parts in `show_failures` only (never look at held-out failures while tuning).
pub fn report(
    set: &EvalSet,
    queries: &[TrackQuery],
    outcomes: &[MatchOutcome],
    show_failures: &[&str],
) -> (BTreeMap<String, PartReport>, Vec<Failure>) {
    let mut parts: BTreeMap<String, PartReport> = BTreeMap::new();
    let mut failures = Vec::new();
    for ((entry, query), outcome) in set.queries.iter().zip(queries).zip(outcomes) {
        let part = parts.entry(entry.part.clone()).or_default();
        let verdict = part.overall.add(entry, outcome);
        part.classes
            .entry(entry.class.clone())
            .or_default()
            .add(entry, outcome);
        part.sources
            .entry(entry.source.clone())
            .or_default()
            .add(entry, outcome);
        if verdict != Verdict::Right && show_failures.contains(&entry.part.as_str()) {
            failures.push(Failure {
                id: entry.id.clone(),
                class: entry.class.clone(),
                verdict,
                query: query.clone(),
                expected: entry.expected.clone(),
                outcome: outcome.clone(),
            });
        }
    }
    (parts, failures)
}

/// A Markdown table of one part: a row per class (or source), then the whole part.
pub fn markdown_table(rows: &BTreeMap<String, Tally>, overall: &Tally, label: &str) -> String {
    let mut out = format!(
        "| {label} | queries | positives | traps | accepted | wrong | precision | recall |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let line = |name: &str, tally: &Tally| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {:.2} % | {} |\n",
            tally.queries,
            tally.positives,
            tally.queries - tally.positives,
            tally.accepted,
            tally.accepted - tally.correct,
            tally.precision() * 100.0,
            tally
                .recall()
                .map_or_else(|| "–".to_string(), |r| format!("{:.2} %", r * 100.0)),
        )
    };
    for (name, tally) in rows {
        out.push_str(&line(name, tally));
    }
    out.push_str(&line("**all**", overall));
    out
}
