//! The evaluation sets (`crates/library/eval/`): loading them, matching them, and precision
//! and recall per part and per failure class.
//!
//! Each set is a library of real recordings (with their live, demo, acoustic, remix, edit and
//! karaoke versions, covers and compilation copies) and playlist entries spelled the way
//! Spotify, Apple Music, YouTube, Last.fm and M3U exports spell them, each with the library ids
//! that are right answers (none for traps). [`parts`] lists the sets kept in the repository
//! and the part each entry is counted in:
//!
//! - the generated set (`eval/`, made by `eval/generate.py`): its `dev` part (tuned on) and
//!   its `held-out` part (only measured), as each entry says;
//! - the hand-written tune part (`eval/handwritten/tune/`): real-world entries written one by
//!   one, tuned on;
//! - the hand-written held-out part (`eval/handwritten/held-out/`): written by someone who
//!   never saw the matcher's rules, only measured.
//!
//! A query is *accepted* when its band is `accept`. **precision** = accepted answers that are
//! right ÷ accepted answers; **accepted recall** = positives accepted with a right answer ÷
//! positives; **found recall** = positives whose right answer is accepted *or offered first in
//! review* ÷ positives (what a person confirming the review list still finds at once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::LibraryError;
use crate::matcher::{Band, MatchOutcome, Matcher, MatcherConfig, TrackQuery};
use crate::playlist::{PlaylistFormat, parse_playlist};
use crate::record::ItemRecord;
use crate::{LibraryIndex, Visibility};

/// One library track of the set.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalTrack {
    /// The track's id.
    pub id: String,
    /// Its section.
    #[serde(default = "default_section")]
    pub section_id: String,
    /// The title as a tagged library holds it.
    pub title: String,
    /// Track artists.
    pub artists: Vec<String>,
    /// The album artist ("Various Artists" on compilations).
    #[serde(default)]
    pub album_artist: Option<String>,
    /// The album.
    #[serde(default)]
    pub album: Option<String>,
    /// Duration in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u32>,
    /// MusicBrainz recording ids.
    #[serde(default)]
    pub musicbrainz_ids: Vec<String>,
    /// The ISRC.
    #[serde(default)]
    pub isrc: Option<String>,
}

fn default_section() -> String {
    "1".to_string()
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
    /// The part it is counted in: `dev` or `held-out` in the generated set; the hand-written
    /// sets are one part each, named by [`parts`] whatever their entries say.
    #[serde(default)]
    pub part: String,
    /// The failure class it tests.
    pub class: String,
    /// The export it is spelled like (`spotify`, `apple`, `youtube`, `lastfm`, `m3u`).
    #[serde(default)]
    pub source: String,
    /// The recording it is about (the unit of the generated set's split).
    #[serde(default)]
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

    /// Matches every entry against the set's own library with `config`; the queries as the
    /// matcher saw them and the outcomes, in the order of [`EvalSet::queries`].
    ///
    /// # Errors
    /// When the library cannot be indexed.
    pub fn run(
        &self,
        config: MatcherConfig,
    ) -> Result<(Vec<TrackQuery>, Vec<MatchOutcome>), LibraryError> {
        let index = LibraryIndex::build(&self.records())?;
        let matcher = Matcher::new(&index, &Visibility::everything(), config);
        let queries: Vec<TrackQuery> = self.queries.iter().map(EvalQuery::query).collect();
        let outcomes = matcher.match_all(&queries, &|_| {});
        Ok((queries, outcomes))
    }
}

/// The generated set's development part.
pub const GENERATED_DEV: &str = "generated dev";
/// The generated set's held-out part.
pub const GENERATED_HELD_OUT: &str = "generated held-out";
/// The hand-written part tuned on.
pub const HANDWRITTEN_TUNE: &str = "handwritten tune";
/// The hand-written part only measured.
pub const HANDWRITTEN_HELD_OUT: &str = "handwritten held-out";
/// The second hand-written part only measured: other sources (streaming-service exports
/// other than the first part's, radio and chart logs, scrobblers, soundtrack sites) and the
/// text exports and logs really write (encoded fields, entities, mojibake, swapped fields).
pub const HANDWRITTEN_HELD_OUT_2: &str = "handwritten held-out 2";

/// True for a part that is measured and never looked into: its failures are never listed.
pub fn is_held_out(part: &str) -> bool {
    part.contains("held-out")
}

/// One evaluation set on disk and how its entries are counted.
#[derive(Debug, Clone)]
pub struct EvalDir {
    /// The directory holding `library.json` and `queries.json`.
    pub dir: PathBuf,
    /// The part every entry is counted in, or `None` to take each entry's own `part`
    /// (prefixed "generated ").
    pub part: Option<&'static str>,
}

impl EvalDir {
    /// Loads the set, its entries labelled with the part they are counted in.
    ///
    /// # Errors
    /// When a file is missing or not a set.
    pub fn load(&self) -> Result<EvalSet, LibraryError> {
        let mut set = EvalSet::load(&self.dir)?;
        for query in &mut set.queries {
            query.part = match self.part {
                Some(part) => part.to_string(),
                None => format!("generated {}", query.part),
            };
        }
        Ok(set)
    }

    /// True when both files are there (the hand-written held-out part may not be yet).
    pub fn exists(&self) -> bool {
        self.dir.join("library.json").is_file() && self.dir.join("queries.json").is_file()
    }
}

/// The evaluation sets under `eval_root` (`crates/library/eval`): the generated set, the
/// hand-written tune part and the two hand-written held-out parts, in that order.
pub fn parts(eval_root: &Path) -> Vec<EvalDir> {
    vec![
        EvalDir {
            dir: eval_root.to_path_buf(),
            part: None,
        },
        EvalDir {
            dir: eval_root.join("handwritten").join("tune"),
            part: Some(HANDWRITTEN_TUNE),
        },
        EvalDir {
            dir: eval_root.join("handwritten").join("held-out"),
            part: Some(HANDWRITTEN_HELD_OUT),
        },
        EvalDir {
            dir: eval_root.join("handwritten").join("held-out-2"),
            part: Some(HANDWRITTEN_HELD_OUT_2),
        },
    ]
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
    /// Positives whose right answer is accepted or, in review, offered first.
    pub found: usize,
}

impl Tally {
    fn add(&mut self, query: &EvalQuery, outcome: &MatchOutcome) -> Verdict {
        self.queries += 1;
        self.positives += usize::from(query.is_positive());
        let right = |id: &str| query.expected.iter().any(|expected| expected == id);
        let Some(id) = outcome.accepted_id() else {
            let offered = outcome.band == Band::Review
                && outcome.best.as_ref().is_some_and(|best| right(&best.id));
            return if !query.is_positive() {
                Verdict::Right
            } else if offered {
                self.found += 1;
                Verdict::Offered
            } else {
                Verdict::Missed
            };
        };
        self.accepted += 1;
        if right(id) {
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

    /// Positives accepted with a right answer over positives (`None` without positives:
    /// traps only).
    pub fn accepted_recall(&self) -> Option<f64> {
        (self.positives > 0).then(|| self.correct as f64 / self.positives as f64)
    }

    /// Positives whose right answer is accepted or offered first in review, over positives
    /// (`None` without positives).
    pub fn found_recall(&self) -> Option<f64> {
        (self.positives > 0).then(|| self.found as f64 / self.positives as f64)
    }
}

/// How one entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A right answer accepted, or a trap not accepted.
    Right,
    /// A positive not accepted, its right answer offered first in review.
    Offered,
    /// A positive neither accepted nor offered first.
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
    /// Offered, missed or wrong.
    pub verdict: Verdict,
    /// The query as the matcher saw it.
    pub query: TrackQuery,
    /// Right answers.
    pub expected: Vec<String>,
    /// What the matcher answered.
    pub outcome: MatchOutcome,
}

/// Tallies the outcomes (in the order of `set.queries`) per part into `parts`; failures are
/// collected for the parts in `show_failures` only, and never for a held-out part
/// ([`is_held_out`]): held-out failures are not looked into while tuning.
pub fn report(
    set: &EvalSet,
    queries: &[TrackQuery],
    outcomes: &[MatchOutcome],
    show_failures: &[&str],
    parts: &mut BTreeMap<String, PartReport>,
) -> Vec<Failure> {
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
        let listed = show_failures.contains(&entry.part.as_str()) && !is_held_out(&entry.part);
        if verdict != Verdict::Right && listed {
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
    failures
}

/// A Markdown table of one part: a row per class (or source), then the whole part.
pub fn markdown_table(rows: &BTreeMap<String, Tally>, overall: &Tally, label: &str) -> String {
    let mut out = format!(
        "| {label} | queries | positives | traps | accepted | wrong | precision | accepted recall | found recall |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    let percent = |value: Option<f64>| {
        value.map_or_else(|| "–".to_string(), |r| format!("{:.2} %", r * 100.0))
    };
    let line = |name: &str, tally: &Tally| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {:.2} % | {} | {} |\n",
            tally.queries,
            tally.positives,
            tally.queries - tally.positives,
            tally.accepted,
            tally.accepted - tally.correct,
            tally.precision() * 100.0,
            percent(tally.accepted_recall()),
            percent(tally.found_recall()),
        )
    };
    for (name, tally) in rows {
        out.push_str(&line(name, tally));
    }
    out.push_str(&line("**all**", overall));
    out
}
