//! Matching playlist entries to library tracks.
//!
//! # Order of evidence
//! 1. **Ids**: a MusicBrainz id or ISRC that the index knows decides (method `mbid`/`isrc`).
//! 2. **Exact keys**: the normalised base title + version tags + one normalised artist; the
//!    candidates found are still scored (to pick the right album among duplicates).
//! 3. **Fuzzy candidates**: the tracks of the query's artists (exact or misspelt names, via
//!    artist-name trigrams) and the tracks sharing the most title trigrams, scored on title,
//!    artist, album and duration.
//!
//! # Versions are never confused
//! A candidate whose [`crate::VersionTags`] differ from the query's is not a candidate at all: a live,
//! remix, acoustic, instrumental, demo or karaoke version never matches the original, nor the
//! original a version, nor a live version a remix.
//!
//! # Bands
//! `accept` when the score reaches [`MatcherConfig::accept`], title and artist each clear
//! their floors, and the best candidate leads the best *different song* by at least
//! [`MatcherConfig::margin`] (duplicates of the same song — the album and a compilation
//! — do not count against it), and the candidate carries everything the query says: its
//! title's qualifiers and words (a slip of typing aside), its album's release, every artist
//! it credits under a name the library knows; `review` from [`MatcherConfig::review`] up, or
//! for a candidate that would be accepted but for what the query says more; `reject` below.
//!
//! # Scoring and strsim
//! Similarities are `1 − OSA distance / longer length` (strsim's `osa_distance`: a swapped
//! pair of letters is one edit). strsim is already in the dependency tree through clap, so it
//! costs no compile time; candidate lists are bounded (a few hundred per fuzzy query), so a
//! faster scorer would not change the batch time much (see `docs/library-index.md`).
//!
//! # Parallelism
//! [`Matcher::match_all`] splits the batch over scoped std threads (one per core). The work is
//! uniform and embarrassingly parallel; rayon would bring five crates for no gain here.
//!
//! # Map
//! This file holds the query and outcome types, [`Matcher`]'s public calls and the order of
//! evidence (`match_with`) and the decision between candidates; `candidates` finds candidates
//! beyond the exact keys, `score` scores one against the query, `claims` checks that a
//! candidate carries what the query says about which recording it wants. Tests are in
//! `matcher/tests.rs`.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::index::{ItemNo, ItemView, LibraryIndex, SectionMask, TitleShape, Visibility};
use crate::japanese;
use crate::korean;
use crate::normalize::{
    self, ParsedTitle, Script, VersionTags, WorkVerdict, similarity, similarity_at_least,
};
use crate::record::{self, ItemKind};

mod candidates;
mod claims;
mod rereads;
mod score;

/// One playlist entry to match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackQuery {
    /// The artist credit ("A feat. B" allowed).
    pub artist: String,
    /// The track title.
    pub title: String,
    /// The album, if known.
    #[serde(default)]
    pub album: Option<String>,
    /// Duration in milliseconds, if known.
    #[serde(default)]
    pub duration_ms: Option<u32>,
    /// ISRC, if known.
    #[serde(default)]
    pub isrc: Option<String>,
    /// MusicBrainz recording (or track) id, if known.
    #[serde(default)]
    pub musicbrainz_id: Option<String>,
}

impl TrackQuery {
    /// A query with artist and title only.
    pub fn new(artist: &str, title: &str) -> TrackQuery {
        TrackQuery {
            artist: artist.to_string(),
            title: title.to_string(),
            ..TrackQuery::default()
        }
    }
}

/// How confident a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Safe to use without asking.
    Accept,
    /// Plausible; a person should confirm.
    Review,
    /// No usable match.
    Reject,
}

/// Which evidence decided the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// The MusicBrainz id.
    Mbid,
    /// The ISRC.
    Isrc,
    /// The normalised exact key (title, version, artist).
    ExactKey,
    /// Fuzzy candidates and scoring.
    Fuzzy,
    /// A remembered earlier decision ([`crate::MatchStore`]).
    Remembered,
    /// Nothing found.
    None,
}

/// A scored candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Position in the index.
    #[serde(skip)]
    pub item: ItemNo,
    /// The server's id.
    pub id: String,
    /// The section it belongs to.
    pub section_id: String,
    /// The track title.
    pub title: String,
    /// The artist credits, joined with ", ".
    pub artist: String,
    /// The album.
    pub album: Option<String>,
    /// The combined score in `0.0..=1.0`.
    pub score: f32,
}

/// The result for one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchOutcome {
    /// The best candidate, if any cleared the minimum title similarity.
    pub best: Option<Candidate>,
    /// The band of `best`.
    pub band: Band,
    /// The evidence used.
    pub method: MatchMethod,
    /// The next candidate: the best different song if there is one, else a duplicate.
    pub runner_up: Option<Candidate>,
}

impl MatchOutcome {
    /// No match: nothing found, band `reject`.
    pub fn none() -> MatchOutcome {
        MatchOutcome {
            best: None,
            band: Band::Reject,
            method: MatchMethod::None,
            runner_up: None,
        }
    }

    /// The accepted item's id, if the band is `accept`.
    pub fn accepted_id(&self) -> Option<&str> {
        match (&self.best, self.band) {
            (Some(best), Band::Accept) => Some(&best.id),
            _ => None,
        }
    }
}

/// Thresholds and weights of the matcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatcherConfig {
    /// Minimum score for `accept`.
    pub accept: f32,
    /// Minimum score for `review`.
    pub review: f32,
    /// Minimum lead of the best over the best different song for `accept`.
    pub margin: f32,
    /// Minimum title similarity for `accept`.
    pub title_floor: f32,
    /// Minimum artist similarity for `accept`.
    pub artist_floor: f32,
    /// Weights of title, artist, album and duration (normalised over the fields present).
    pub weights: [f32; 4],
    /// Tolerance on duration (ms) within which durations count as equal.
    pub duration_tolerance_ms: u32,
    /// Durations further apart than this (both known) rule out `accept`: another edit.
    pub duration_accept_limit_ms: u32,
    /// Most title-trigram candidates scored per fuzzy query.
    pub max_gram_candidates: usize,
    /// Artist blocks larger than this are not scored whole (e.g. "Various Artists").
    pub max_block: usize,
}

impl Default for MatcherConfig {
    fn default() -> MatcherConfig {
        MatcherConfig {
            accept: 0.88,
            review: 0.65,
            margin: 0.05,
            title_floor: 0.8,
            artist_floor: 0.75,
            weights: [0.45, 0.3, 0.1, 0.15],
            duration_tolerance_ms: 3_000,
            duration_accept_limit_ms: 10_000,
            max_gram_candidates: 60,
            max_block: 5_000,
        }
    }
}

/// A query taken apart once.
struct Prepared {
    title: ParsedTitle,
    /// The base title without a mistyped leading "The" ("Teh Wall" → "wall"), if it has one.
    base_without_article: Option<String>,
    /// Artist similarities already computed for this query, by the candidate's artist ids
    /// and album artist: an artist's tracks share them, and the comparison is the costly
    /// part of scoring.
    artist_cache: std::cell::RefCell<Vec<(Vec<u32>, u32, f32)>>,
    /// What each candidate's album names, by album ([`Prepared::album_kinds_of`]).
    their_album_kinds: std::cell::RefCell<FxHashMap<u32, (VersionTags, bool)>>,
    /// Shapes of the two, for the cheap candidate filter.
    shape: TitleShape,
    shape_without_article: Option<TitleShape>,
    /// The base title in Latin letters when it is written in another script.
    latin_base: Option<String>,
    /// The title as written has letters beyond ASCII (another script, or accents that
    /// normalising folded away: "Kalašnjikov").
    raw_title_beyond_ascii: bool,
    /// The other forms of the title ([`ParsedTitle::alternates`]).
    alternates: Vec<String>,
    /// The classical ones among them ([`ParsedTitle::work_forms`]).
    work_forms: Vec<String>,
    artists: Vec<String>,
    /// The credit read as a leader and a band ([`normalize::leader_and_band`]).
    leader_and_band: Option<[String; 2]>,
    artists_joined: String,
    /// The credit with its number words as digits ("marrow 7" for "Marrow Seven"), when it
    /// has some ([`normalize::number_words_as_digits`]).
    artists_in_digits: Option<String>,
    /// The whole credit, normalised ("guns and roses"): a name the credit's split at "and"
    /// may be said as ([`normalize::spoken_name`]).
    credit: String,
    /// The credit as it is said ([`normalize::spoken_name`]), when that differs: compared with
    /// every candidate's credit said so.
    credit_said: Option<String>,
    /// The whole credit with "and" written "n" ("guns n roses" for "Guns and Roses"), when
    /// it says "and".
    credit_with_n: Option<String>,
    /// The credit of an act whose name is only symbols ("!!!", "+/-"), which normalising
    /// leaves without a name ([`normalize::symbol_name`]).
    symbol_artist: Option<String>,
    /// The script the artist credit is written in.
    artist_script: Script,
    album: Option<String>,
    duration_ms: Option<u32>,
    /// The title names a music video ("Official Video", "M/V", "Videoclip"): its length is the
    /// video's, which runs longer than the recording (an intro, an ending).
    video_length: bool,
    /// The base title names a number (digits, or a Roman numeral of two letters or more).
    base_has_number: bool,
    /// Every word of the title as written, brackets and suffixes too
    /// ([`normalize::title_words`]): what a library title's qualifiers must find here.
    title_words: Vec<String>,
    /// What the album says of its recordings ([`normalize::album_claims`]): "live" for "Live
    /// at Wembley", "taylors version" for "1989 (Taylor's Version)".
    album_claims: Vec<String>,
    /// Every word of the album as written ([`normalize::title_words`]).
    album_words: Vec<String>,
    /// The kinds of recording the album names ([`normalize::album_kinds`]): live for "Live at
    /// Wembley", acoustic for "MTV Unplugged".
    album_kinds: VersionTags,
    /// The edit words of the title and the album together ("explicit" for "Song" on "Album
    /// [Explicit]"): which edit the query asks for.
    edit_words: String,
}

impl Prepared {
    fn new(query: &TrackQuery) -> Prepared {
        // Classical stores write the composer before the work ("Mozart: Serenade No. 13 …"):
        // the credited composer's name is no word of the title, nor an uploader's.
        let query_title =
            normalize::without_composer_prefix(&query.title, &query.artist).unwrap_or(&query.title);
        let (artist, raw_title) = normalize::read_upload(&query.artist, query_title);
        let upload = !query.artist.trim().is_empty()
            && (raw_title.trim() != query_title.trim() || artist.trim() != query.artist.trim())
            && !normalize::is_topic_channel(&query.artist);
        // "Du bist die Nacht (You Are the Night)": the title before the translation an export writes after it.
        let raw_title = match normalize::without_translation(&raw_title) {
            Some(own) => own.to_string(),
            None => raw_title,
        };
        let mut title = normalize::parse_title(&raw_title);
        let edit_words =
            normalize::edit_words(&title.edit_text, query.album.as_deref().unwrap_or(""));
        let base_has_number = title.base.split(' ').any(|word| {
            (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
                || (word.len() >= 2 && normalize::roman_value(word).is_some())
        });
        let mut artists = normalize::split_artists(&artist);
        for name in &title.featured {
            if !artists.contains(name) {
                artists.push(name.clone());
            }
        }
        // A work named by a nickname the library's title may not carry ("Air on the G
        // String"): matched as the catalogue title it stands for.
        // The title as written stays one of its forms: a library may carry it so ("Jesu, Joy
        // of Man's Desiring").
        let mut title_words = normalize::title_words(&raw_title);
        let mut as_written: Vec<String> = Vec::new();
        if let Some(catalogue_title) = normalize::nickname_title(&title, &artists) {
            let written = std::mem::replace(&mut title, normalize::parse_title(&catalogue_title));
            as_written.push(written.base);
            title_words.extend(normalize::title_words(&catalogue_title));
        }
        let artists_joined = artists.join(" ");
        let artists_in_digits = normalize::number_words_as_digits(&artists_joined);
        let symbol_artist = normalize::symbol_name(&artist);
        let credit = normalize::normalize_text(&artist);
        let credit_with_n = credit_with_n(&credit);
        let artist_script = normalize::script_of(&artists_joined);
        let album = query
            .album
            .as_deref()
            .map(normalize::normalize_album)
            .filter(|album| !album.is_empty());
        // The album's kinds are its claims' ([`normalize::album_kinds`]): read once for both.
        let album_claims = query
            .album
            .as_deref()
            .map(normalize::album_claims)
            .unwrap_or_default();
        let base_without_article = title
            .base
            .split_once(' ')
            .filter(|(first, _)| normalize::is_typo_of(first, "the"))
            .map(|(_, rest)| rest.to_string());
        Prepared {
            artist_cache: std::cell::RefCell::new(Vec::new()),
            their_album_kinds: std::cell::RefCell::new(FxHashMap::default()),
            shape: TitleShape::of(&title.base),
            shape_without_article: base_without_article.as_deref().map(TitleShape::of),
            base_without_article,
            latin_base: normalize::latin_form(&title.base),
            raw_title_beyond_ascii: !query.title.is_ascii(),
            alternates: alternate_forms(&title, &artists, as_written, &raw_title),
            work_forms: title.work_forms(),
            title,
            artists,
            leader_and_band: normalize::leader_and_band(&artist),
            artists_joined,
            artists_in_digits,
            credit_said: normalize::spoken_name(&credit),
            credit,
            credit_with_n,
            symbol_artist,
            artist_script,
            album,
            duration_ms: query.duration_ms.and_then(plausible_length),
            // An upload whose title names the artist again ("Artist - Title") or a channel's
            // ("ArtistVEVO") is a video too, whatever words it has.
            video_length: names_a_video(&title_words) || upload,
            title_words,
            base_has_number,
            album_kinds: normalize::claims_kinds(&album_claims),
            album_claims,
            album_words: query
                .album
                .as_deref()
                .map(normalize::title_words)
                .unwrap_or_default(),
            edit_words,
        }
    }
}

impl Prepared {
    /// The kinds of recording a candidate's album names and whether it names a concert
    /// ([`normalize::album_kinds_and_concert`]). Asked for every candidate of another kind
    /// than the query's, and an album's tracks are candidates together: each album is read
    /// once per query.
    fn album_kinds_of(&self, view: &ItemView<'_>) -> (VersionTags, bool) {
        let read = || normalize::album_kinds_and_concert(view.album().unwrap_or(""));
        match self.their_album_kinds.try_borrow_mut() {
            Ok(mut known) => *known.entry(view.album_no()).or_insert_with(read),
            Err(_) => read(),
        }
    }
}

/// A credit with "and" written "n" ("Guns and Roses" for "Guns N' Roses"), when it has one.
fn credit_with_n(credit: &str) -> Option<String> {
    credit.split(' ').any(|word| word == "and").then(|| {
        credit
            .split(' ')
            .map(|word| if word == "and" { "n" } else { word })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// The other forms of a title a library may carry it under ([`ParsedTitle::alternates`]),
/// with the work's head, the title in the other language, the title `as_written` before a
/// nickname was read, the number after "#" bare, and the movement without its catalogue.
fn alternate_forms(
    title: &ParsedTitle,
    artists: &[String],
    as_written: Vec<String>,
    raw_title: &str,
) -> Vec<String> {
    let mut forms = title.alternates();
    if let Some(head) = title.work.as_deref().and_then(|w| w.head.clone())
        && head != title.base
        && !forms.contains(&head)
    {
        forms.push(head);
    }
    // A well-known song's title in the other language, for its act ("Spring Day"
    // and "봄날").
    if let Some(other) = normalize::translated_title(&title.base, artists)
        && other != title.base
        && !forms.iter().any(|form| form == other)
    {
        forms.push(other.to_string());
    }
    // A film's theme titled the other way round ("Ironwood Theme" for "Theme from
    // Ironwood").
    for form in normalize::theme_forms(raw_title) {
        if form != title.base && !forms.contains(&form) {
            forms.push(form);
        }
    }
    for written in as_written {
        if written != title.base && !forms.contains(&written) {
            forms.push(written);
        }
    }
    // A number written after "#" ("Song #2") read as "No. 2": the title may carry
    // the bare number.
    if raw_title.contains('#') {
        let words: Vec<&str> = title.base.split(' ').collect();
        let bare: Vec<&str> = words
            .iter()
            .enumerate()
            .filter(|(at, word)| {
                !(**word == "no"
                    && words
                        .get(at + 1)
                        .is_some_and(|next| next.bytes().all(|b| b.is_ascii_digit())))
            })
            .map(|(_, word)| *word)
            .collect();
        let bare = bare.join(" ");
        if bare != title.base && !forms.contains(&bare) {
            forms.push(bare);
        }
    }
    // The title before its bracket without its catalogue number ("clair de lune"
    // for "Clair de Lune, L. 32 (Suite bergamasque)"): the movement, which the
    // library's title may name under the work in the bracket.
    if let Some(short) = title.short.as_deref()
        && let Some(bare) = normalize::without_catalogue(&normalize::parse_title(short))
        && !bare.is_empty()
        && bare != title.base
        && !forms.contains(&bare)
    {
        forms.push(bare);
    }
    forms
}

/// A length as exports garble it, read back: milliseconds written where seconds belong
/// (a day or more: 245,000 "seconds") and seconds where milliseconds belong (under a second:
/// 245 "ms"); `None` for no length at all.
fn plausible_length(ms: u32) -> Option<u32> {
    const DAY_MS: u32 = 86_400_000;
    match ms {
        0 => None,
        1..1_000 => Some(ms * 1_000),
        DAY_MS.. => Some(ms / 1_000),
        _ => Some(ms),
    }
}

/// True when a title's words name a music video: "video", "mv", "videoclip", "clip" — not
/// "Video Version" or "Video Edit", which name an edit of the recording.
fn names_a_video(words: &[String]) -> bool {
    words.iter().enumerate().any(|(at, word)| {
        matches!(
            word.as_str(),
            "video" | "mv" | "videoclip" | "videoclipe" | "clip" | "musikvideo"
        ) && !words
            .get(at + 1)
            .is_some_and(|next| matches!(next.as_str(), "version" | "edit" | "mix"))
    })
}

/// How much longer than the recording a music video may run (an intro, an ending, a scene).
const VIDEO_EXTRA_MS: u32 = 120_000;

/// Titles less similar than this are not candidates: they could neither be accepted nor come
/// within the margin of an accepted match, and skipping them spares the artist comparison.
const TITLE_FLOOR: f32 = 0.6;

/// In the exact-key stage the other tracks of the artist only matter when they could come
/// within the margin of an exact title (similarity 1.0).
const NEAR_TITLE_FLOOR: f32 = 0.8;

/// Most title-trigram postings one fuzzy query walks (beyond its three rarest grams).
const GRAM_POSTINGS_BUDGET: usize = 40_000;

/// Per-thread scratch space: a dense counter over items (reset through the touched list).
struct Scratch {
    counts: Vec<u8>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(items: usize) -> Scratch {
        Scratch {
            counts: vec![0; items],
            touched: Vec::new(),
        }
    }

    fn bump(&mut self, item: u32) {
        if let Some(count) = self.counts.get_mut(item as usize) {
            if *count == 0 {
                self.touched.push(item);
            }
            *count = count.saturating_add(1);
        }
    }

    fn clear(&mut self) {
        for item in self.touched.drain(..) {
            if let Some(count) = self.counts.get_mut(item as usize) {
                *count = 0;
            }
        }
    }
}

/// Parts of a candidate's score, kept for the bands.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    item: u32,
    score: f32,
    title: f32,
    artist: f32,
    /// Both durations known and further apart than the accept limit.
    durations_disagree: bool,
    /// How the edit words agree ("" and "", "radio edit" and "radio edit"; "explicit" and
    /// "clean" are opposite): breaks ties between "Song" and "Song - Radio Edit", "Song" and
    /// "Song (Clean)".
    edit: normalize::EditAgreement,
    /// For versions: the version descriptions differ ("Live" vs "Live at Wembley"). The kind
    /// agrees, so it may be accepted, but a candidate whose words agree is preferred.
    version_text_differs: bool,
    /// For remixes: nothing says this is the remix asked for (the query names no remixer and
    /// the library's remixer is not among the query's artists) — never accepted.
    version_unconfirmed: bool,
    /// Everything the query says about which recording it wants is carried by the candidate
    /// too, and the candidate's title names no recording the query did not ask for
    /// ([`Matcher::claims_backed`]); the titles differ by slips of typing at most
    /// ([`normalize::differ_by_slips`]). Never accepted without; only worked out for a candidate
    /// whose score could be accepted.
    claims_backed: bool,
    /// The number of the movement the candidate's classical title names when the query names
    /// the work alone (`u32::MAX` otherwise): of the movements of one work offered for
    /// review, the first is offered first.
    movement: u32,
    /// Found by the name or number of its work alone, where one of the titles names a
    /// movement and the other does not ([`ShortForm::work_only`]), without the lengths to
    /// tell: offered, never accepted, and after a candidate found otherwise that scores alike.
    whole_or_part: bool,
    /// The artist credit is a name the library does not carry (another script, another
    /// name of the act) and the title, the candidate's own album and a length within 2 s
    /// agree: accepted in place of the artist when no other song has the title.
    vouched: bool,
}

/// Title similarity from which the only song of its title is offered for review under an
/// artist the library does not carry.
const UNKNOWN_ARTIST_TITLE_FLOOR: f32 = 0.95;

/// Album similarity from which two albums count as the same ("Abbey Road" and "Abbey Road
/// (Remastered)" are equal once edition noise is gone; a typo still agrees).
const ALBUM_AGREES: f32 = 0.9;

/// Scores are sums of `f32` products: a score that lands on a threshold in exact arithmetic
/// may come out a rounding error below it (0.45 × 0.8 + 0.3 is 0.66, divided by 0.75 is
/// exactly 0.88). Thresholds are compared with this much slack.
const SCORE_SLACK: f32 = 1e-5;

/// Durations this close (ms) identify a track among its artist's tracks when the titles are
/// written in different scripts ("Hakujitsu" for "白日").
const SAME_LENGTH_MS: u32 = 2_000;

/// A different song of the same artist this close in length (ms) makes the length an
/// unsafe identifier.
const LENGTH_AMBIGUITY_MS: u32 = 10_000;

/// Title similarity of a title written in its short form ("Rocket Man" for "Rocket Man (I
/// Think It's Going to Be a Long, Long Time)"), either way round.
const SHORT_FORM_SIMILARITY: f32 = 0.95;

/// A candidate found by another form of its title or the query's ([`ParsedTitle::alternates`]).
#[derive(Debug, Clone, Copy)]
struct ShortForm {
    item: u32,
    /// Every form it was found by is one word ("aria", "jupiter"): for classical titles that
    /// is not enough to accept — the work must be confirmed too; a distinctive word is
    /// offered, never accepted.
    one_word: bool,
    /// Every form it was found by is one word naming a kind of piece, a tempo or a form
    /// ("allegro", "aria", "nocturne": [`normalize::is_generic_piece_word`]): without the
    /// work confirmed, not a candidate at all.
    generic: bool,
    /// Found only by the first words of its movement's heading
    /// ([`Matcher::headings_begun`]): offered, never accepted.
    partial: bool,
    /// Found by a name or catalogue number of the work both titles share, where the artist
    /// did not lead to it ([`Matcher::other_form`]): a classical recording is credited to
    /// its composer or its performers, so the artist is left out of the score when the
    /// works agree; offered, never accepted.
    by_work: bool,
    /// Every form it was found by names the work, not a movement ("op 67", "symphony no 5",
    /// "moonlight sonata": [`normalize::WorkParts::identity_forms`]): when only one of the
    /// titles names a movement, a whole work and one of its movements share it, so the
    /// lengths must agree too.
    work_only: bool,
    /// Found as a piece of a set named as the piece ([`Matcher::pieces_of_sets`]): compared
    /// as that piece; offered, never accepted.
    piece: bool,
}

/// Matches queries against one index, within one user's [`Visibility`].
pub struct Matcher<'a> {
    index: &'a LibraryIndex,
    mask: SectionMask,
    config: MatcherConfig,
}

impl<'a> Matcher<'a> {
    /// A matcher over `index` that only ever returns items `visibility` allows.
    pub fn new(index: &'a LibraryIndex, visibility: &Visibility, config: MatcherConfig) -> Self {
        Matcher {
            mask: index.mask(visibility),
            index,
            config,
        }
    }

    /// The index matched against.
    pub fn index(&self) -> &'a LibraryIndex {
        self.index
    }

    /// Matches one query.
    pub fn match_one(&self, query: &TrackQuery) -> MatchOutcome {
        let mut scratch = Scratch::new(self.index.len());
        self.match_with(query, &mut scratch)
    }

    /// Matches a batch on every core; `progress` is called with the number done so far
    /// (from any thread, at most every 64 queries and once at the end).
    pub fn match_all(
        &self,
        queries: &[TrackQuery],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<MatchOutcome> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.match_all_on(queries, threads, progress)
    }

    /// Like [`Matcher::match_all`] on exactly `threads` threads (at least one).
    pub fn match_all_on(
        &self,
        queries: &[TrackQuery],
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<MatchOutcome> {
        let threads = threads.max(1);
        let chunk = queries.len().div_ceil(threads).max(1);
        let done = AtomicUsize::new(0);
        let mut outcomes: Vec<MatchOutcome> = Vec::with_capacity(queries.len());
        std::thread::scope(|scope| {
            let workers: Vec<_> = queries
                .chunks(chunk)
                .map(|part| {
                    let done = &done;
                    scope.spawn(move || {
                        let mut scratch = Scratch::new(self.index.len());
                        let mut out = Vec::with_capacity(part.len());
                        for (n, query) in part.iter().enumerate() {
                            out.push(self.match_with(query, &mut scratch));
                            if n % 64 == 63 {
                                progress(done.fetch_add(64, Ordering::Relaxed) + 64);
                            }
                        }
                        done.fetch_add(part.len() % 64, Ordering::Relaxed);
                        out
                    })
                })
                .collect();
            for worker in workers {
                match worker.join() {
                    Ok(part) => outcomes.extend(part),
                    // A panic in matching is a bug; surface it rather than return short.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        progress(queries.len());
        outcomes
    }

    fn match_with(&self, query: &TrackQuery, scratch: &mut Scratch) -> MatchOutcome {
        if let Some(outcome) = self.match_by_id(query) {
            return outcome;
        }
        let outcome = self.match_stages(query, scratch);
        if outcome.band == Band::Accept {
            return outcome;
        }
        match self.reread(query, scratch, outcome) {
            ControlFlow::Break(accepted) | ControlFlow::Continue(accepted) => accepted,
        }
    }

    /// The entry's text as written, through every stage but the ids and the rereadings
    /// (`rereads`).
    fn match_stages(&self, query: &TrackQuery, scratch: &mut Scratch) -> MatchOutcome {
        let outcome = self.match_text(query, scratch);
        if outcome.band == Band::Accept {
            return outcome;
        }
        let outcome = match self.by_either_name(query, scratch, outcome) {
            ControlFlow::Break(accepted) => return accepted,
            ControlFlow::Continue(outcome) => outcome,
        };
        let outcome = match self.by_title_halves(query, scratch, outcome) {
            ControlFlow::Break(accepted) => return accepted,
            ControlFlow::Continue(outcome) => outcome,
        };
        let outcome = self.as_label_upload(query, scratch, outcome);
        let outcome = match self.without_composer(query, scratch, outcome) {
            ControlFlow::Break(accepted) => return accepted,
            ControlFlow::Continue(outcome) => outcome,
        };
        if outcome.band != Band::Reject {
            return outcome;
        }
        self.original_of_unnamed_mix(query, scratch)
            .unwrap_or(outcome)
    }

    /// An act written in two scripts, the other in brackets ("방탄소년단 (BTS)") or after it
    /// ("周杰倫 Jay Chou"): either name may be the one the library carries. A reading by one of
    /// them stands (`Break`) when it accepts, or offers where the whole found nothing.
    fn by_either_name(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        mut outcome: MatchOutcome,
    ) -> ControlFlow<MatchOutcome, MatchOutcome> {
        let names = normalize::names_in_two_scripts(&query.artist)
            .or_else(|| normalize::halves_in_two_scripts(&query.artist));
        if let Some((name, other)) = names {
            for artist in [name, other] {
                let reread = TrackQuery {
                    artist,
                    ..query.clone()
                };
                let by_name = self.match_text(&reread, scratch);
                if by_name.band == Band::Accept {
                    return ControlFlow::Break(by_name);
                }
                if outcome.band == Band::Reject && by_name.band == Band::Review {
                    outcome = by_name;
                }
            }
        }
        ControlFlow::Continue(outcome)
    }

    /// A title written in two scripts one after the other ("晴天 Qing Tian"): each half is
    /// read alone. Accepted (`Break`) when both halves find the same track and one accepts it
    /// (a half alone may be another song: "東京 Love Story"); offered where the whole found
    /// nothing and a half offers or accepts.
    fn by_title_halves(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        mut outcome: MatchOutcome,
    ) -> ControlFlow<MatchOutcome, MatchOutcome> {
        if outcome.band != Band::Accept
            && let Some((first, second)) = normalize::halves_in_two_scripts(&query.title)
        {
            let read = |title: String, scratch: &mut Scratch| {
                let reread = TrackQuery {
                    title,
                    ..query.clone()
                };
                self.match_text(&reread, scratch)
            };
            let (first, second) = (read(first, scratch), read(second, scratch));
            let same = matches!(
                (&first.best, &second.best),
                (Some(a), Some(b)) if a.id == b.id
            );
            let mut halves = [first, second];
            halves.sort_by_key(|half| half.band != Band::Accept);
            let [best, _] = halves;
            if same && best.band == Band::Accept {
                return ControlFlow::Break(best);
            }
            if outcome.band == Band::Reject && best.band != Band::Reject {
                outcome = MatchOutcome {
                    band: Band::Review,
                    ..best
                };
            }
        }
        ControlFlow::Continue(outcome)
    }

    /// An upload titled "Label – Artist - Title (Official MV)" reads as the label's "Artist -
    /// Title" at first; when that accepts nothing, as the artist's title, which stands when it
    /// accepts, or offers where the first found nothing.
    fn as_label_upload(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        outcome: MatchOutcome,
    ) -> MatchOutcome {
        match normalize::label_upload(&query.title) {
            Some((artist, title)) => {
                let reread = TrackQuery {
                    artist,
                    title,
                    ..query.clone()
                };
                let other = self.match_text(&reread, scratch);
                if other.band == Band::Accept
                    || (outcome.band == Band::Reject && other.band == Band::Review)
                {
                    other
                } else {
                    outcome
                }
            }
            None => outcome,
        }
    }

    /// A composer's name before the work where the credit is the performer's ("Yo-Yo Ma" –
    /// "Bach: Cello Suite No. 1 - Prelude"), as compilations and uploads title classical
    /// tracks: the work is read without it. Accepted (`Break`) when the track found credits
    /// that composer too; else offered where nothing else was found.
    fn without_composer(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
        outcome: MatchOutcome,
    ) -> ControlFlow<MatchOutcome, MatchOutcome> {
        ControlFlow::Continue(match normalize::composer_prefix(&query.title) {
            Some((composer, work)) if outcome.band != Band::Accept => {
                let reread = TrackQuery {
                    title: work.to_string(),
                    ..query.clone()
                };
                let other = self.match_text(&reread, scratch);
                let surname = composer.rsplit(' ').next().unwrap_or(&composer);
                let credits_composer = other.best.as_ref().is_some_and(|best| {
                    normalize::normalize_text(&best.artist)
                        .split(' ')
                        .any(|word| word == surname)
                });
                if other.band == Band::Accept && credits_composer {
                    return ControlFlow::Break(other);
                }
                if outcome.band == Band::Reject && other.band != Band::Reject {
                    MatchOutcome {
                        band: Band::Review,
                        ..other
                    }
                } else {
                    outcome
                }
            }
            _ => outcome,
        })
    }

    /// A mix the library does not hold, named by no remixer ("(US Mix)", "(Remixed)",
    /// "(Alternate Mix)"): the recording it was mixed from, where the library holds it, is
    /// offered — another mix is not the recording asked for, so never accepted, but it is
    /// what a person confirming the list looks for. A remixer's remix ("(Pumice Remix)") is
    /// another recording made from it, and offers nothing.
    fn original_of_unnamed_mix(
        &self,
        query: &TrackQuery,
        scratch: &mut Scratch,
    ) -> Option<MatchOutcome> {
        let title = normalize::parse_title(&query.title);
        if title.version.contains(VersionTags::REMIX)
            && !title.base.is_empty()
            && normalize::version_identity(&title.version_text)
                .iter()
                .all(|word| normalize::is_unnamed_mix_word(word))
        {
            let reread = TrackQuery {
                title: title.base,
                ..query.clone()
            };
            let original = self.match_text(&reread, scratch);
            if original.best.is_some() && original.band != Band::Reject {
                return Some(MatchOutcome {
                    band: Band::Review,
                    ..original
                });
            }
        }
        None
    }

    fn match_text(&self, query: &TrackQuery, scratch: &mut Scratch) -> MatchOutcome {
        let prepared = Prepared::new(query);
        if prepared.title.base.is_empty() {
            return MatchOutcome::none();
        }
        let artist_ids = self.known_artists(&prepared);
        let exact = self.exact_items(&prepared, &artist_ids);
        // Other forms of the titles: the library's title without its bracketed words equals
        // the query's, or the other way round; the title in its other script; a classical
        // title without its key and catalogue numbers, or by its movement. Looked up under
        // the query's artists and the names that contain them ("Vivaldi" for "Antonio
        // Vivaldi").
        let similar = self.similar_to_unknown(&prepared, scratch);
        let short_forms = self.short_forms(&prepared, &artist_ids, &similar, &exact);
        // A review the exact keys and other forms of the titles offer stands where the later
        // stages find nothing.
        let by_form = match self.by_keys_and_forms(&prepared, &artist_ids, exact, &short_forms) {
            Some(outcome) if outcome.band == Band::Accept => return outcome,
            by_form => by_form,
        };

        // Fuzzy candidates: artist blocks (exact and misspelt artists) and title trigrams.
        let mut artists = artist_ids;
        artists.extend(similar);
        let candidates = self.block_candidates(&prepared, &artists);
        let mut scored: Vec<Scored> = candidates
            .iter()
            .filter_map(|item| self.score(&prepared, *item))
            .collect();
        if !scored.is_empty() {
            let outcome = self.decide(scored.clone(), MatchMethod::Fuzzy);
            if outcome.band == Band::Accept {
                return outcome;
            }
        }
        // The artist did not settle it (unknown, misspelt beyond repair, or credited
        // differently): candidates by title trigrams.
        let by_grams = self.gram_candidates(&prepared, scratch);
        let mut by_work: Vec<ShortForm> = Vec::new();
        for item in by_grams {
            if candidates.binary_search(&item).is_ok() {
                continue;
            }
            // Found by another form of a title ("Red Flavor" for "빨간 맛 (Red Flavor)") when
            // the artist did not lead to it (written in another script, or another name).
            let scored_item = match self.other_form(&prepared, item) {
                // Found by its work alone: weighed last, where nothing else is found.
                Some(form) if form.by_work => {
                    by_work.push(form);
                    self.score(&prepared, item)
                }
                Some(form) => self.score_with(&prepared, item, NEAR_TITLE_FLOOR, Some(form)),
                None => self.score(&prepared, item),
            };
            scored.extend(scored_item);
        }
        let mut outcome = self.decide(scored, MatchMethod::Fuzzy);
        if outcome.band == Band::Accept {
            return outcome;
        }
        if outcome.band == Band::Reject
            && let Some(review) = by_form
        {
            outcome = review;
        }
        // The last resorts accept, or offer for review what the query says more than their
        // track (an album, a guest, words of the title): a review they offer stands only
        // where nothing else was found.
        let by_length = self.match_by_length(&prepared, &artists);
        if let Some(found) = by_length
            .as_ref()
            .filter(|found| found.band == Band::Accept)
        {
            return found.clone();
        }
        if outcome.band != Band::Reject {
            return outcome;
        }
        let last = match self.match_by_album_and_length(&prepared, &artists) {
            Some(by_album) if by_album.band == Band::Accept => return by_album,
            by_album => by_length.or(by_album).unwrap_or(outcome),
        };
        if last.band != Band::Reject {
            return last;
        }
        let loose = self.loose_forms(&prepared, &artists, by_work);
        let scored: Vec<Scored> = loose
            .iter()
            .filter_map(|known| {
                self.score_with(&prepared, known.item, NEAR_TITLE_FLOOR, Some(*known))
            })
            .collect();
        match self.decide(scored, MatchMethod::Fuzzy) {
            offered if offered.band == Band::Review => offered,
            _ => last,
        }
    }

    /// The ids of the query's artists the library knows, and of the other names of a
    /// well-known act it may carry instead ("Kanye West" for "Ye").
    fn known_artists(&self, prepared: &Prepared) -> Vec<u32> {
        let mut artist_ids: Vec<u32> = prepared
            .artists
            .iter()
            .filter_map(|name| self.index.artist_id(name))
            .collect();
        // "Marrow Seven" for the library's "Marrow 7".
        if let Some(id) = prepared
            .artists_in_digits
            .as_deref()
            .and_then(|name| self.index.artist_id(name))
            && !artist_ids.contains(&id)
        {
            artist_ids.push(id);
        }
        // "Guns and Roses" for the library's "Guns N' Roses", "Salt and Pepa" for
        // "Salt-N-Pepa": the whole credit, which the names split at "and".
        if let Some(id) = prepared
            .credit_with_n
            .as_deref()
            .and_then(|name| self.index.artist_id(name))
            && !artist_ids.contains(&id)
        {
            artist_ids.push(id);
        }
        for name in &prepared.artists {
            for other in normalize::other_names_of_act(name) {
                if let Some(id) = self.index.artist_id(other)
                    && !artist_ids.contains(&id)
                {
                    artist_ids.push(id);
                }
            }
        }
        artist_ids
    }

    /// The artists whose names are like those of the query's artists the library does not
    /// know.
    fn similar_to_unknown(&self, prepared: &Prepared, scratch: &mut Scratch) -> Vec<u32> {
        let mut similar: Vec<u32> = Vec::new();
        for name in &prepared.artists {
            if self.index.artist_id(name).is_none() {
                similar.extend(self.similar_artists(name, scratch));
            }
        }
        similar
    }

    /// The items whose exact key (title, version, artist) is the query's.
    fn exact_items(&self, prepared: &Prepared, artist_ids: &[u32]) -> Vec<u32> {
        let mut exact: Vec<u32> = Vec::new();
        for artist in artist_ids {
            for item in
                self.index
                    .exact_items(&prepared.title.base, prepared.title.version, *artist)
            {
                if !exact.contains(&item) {
                    exact.push(item);
                }
            }
        }
        exact
    }

    /// The items found by another form of the titles under `artist_ids` and the `similar`
    /// artists, less those in `exact`, with how each was found.
    fn short_forms(
        &self,
        prepared: &Prepared,
        artist_ids: &[u32],
        similar: &[u32],
        exact: &[u32],
    ) -> Vec<ShortForm> {
        let mut short_forms: Vec<ShortForm> = Vec::new();
        for artist in artist_ids.iter().chain(similar) {
            let version = prepared.title.version;
            let mut found: Vec<(u32, &str)> = self
                .index
                .short_items(&prepared.title.base, version, *artist)
                .map(|item| (item, prepared.title.base.as_str()))
                .collect();
            for form in &prepared.alternates {
                found.extend(
                    self.index
                        .exact_items(form, version, *artist)
                        .map(|item| (item, form.as_str())),
                );
            }
            for form in &prepared.alternates {
                let work_form = prepared.work_forms.contains(form);
                // An item with the exact key is left out below: its title is not parsed.
                for item in self
                    .index
                    .short_items(form, version, *artist)
                    .filter(|item| !exact.contains(item))
                {
                    // A short form meeting the library's short form would only say that two
                    // titles share a bracket; meeting a movement ("Aria (Goldberg
                    // Variations)" and "Goldberg Variations: Aria") it names the piece.
                    let meets_work = work_form
                        || self
                            .index
                            .view_masked(item, &self.mask)
                            .is_some_and(|view| {
                                normalize::parse_title(view.title())
                                    .work_forms()
                                    .contains(form)
                            });
                    if meets_work {
                        found.push((item, form.as_str()));
                    }
                }
            }
            for (item, form) in found {
                if exact.contains(&item) {
                    continue;
                }
                let one_word = !form.contains(' ');
                let generic = one_word && normalize::is_generic_piece_word(form);
                let work_only = self.names_the_work(prepared, item, form);
                match short_forms.iter_mut().find(|known| known.item == item) {
                    Some(known) => {
                        known.one_word &= one_word;
                        known.generic &= generic;
                        known.work_only &= work_only;
                    }
                    None => short_forms.push(ShortForm {
                        item,
                        one_word,
                        generic,
                        work_only,
                        partial: false,
                        by_work: false,
                        piece: false,
                    }),
                }
            }
        }
        short_forms
    }

    /// The decision among the exact keys and other forms of the titles, with the artists'
    /// other tracks, so the runner-up and the margin rule see the nearest different song
    /// ("Love Me Do" against "Love Me Too"): an acceptance or a review, else `None`.
    fn by_keys_and_forms(
        &self,
        prepared: &Prepared,
        artist_ids: &[u32],
        exact: Vec<u32>,
        short_forms: &[ShortForm],
    ) -> Option<MatchOutcome> {
        if exact.is_empty() && short_forms.is_empty() {
            return None;
        }
        let mut pool = exact;
        for artist in artist_ids {
            if self.index.artist_block(*artist).len() <= self.config.max_block {
                pool.extend_from_slice(self.block_within(prepared, *artist, NEAR_TITLE_FLOOR));
            }
        }
        pool.sort_unstable();
        pool.dedup();
        let mut scored: Vec<Scored> = pool
            .iter()
            .filter(|item| !short_forms.iter().any(|known| known.item == **item))
            .filter_map(|item| self.score_from(prepared, *item, NEAR_TITLE_FLOOR))
            .collect();
        scored.extend(short_forms.iter().filter_map(|known| {
            self.score_with(prepared, known.item, NEAR_TITLE_FLOOR, Some(*known))
        }));
        let outcome = self.decide(scored, MatchMethod::ExactKey);
        (outcome.band != Band::Reject).then_some(outcome)
    }

    /// The candidates of the artists' blocks within reach of the query's title, with their
    /// titles in the other script (kanji and its romanisation), sorted.
    fn block_candidates(&self, prepared: &Prepared, artists: &[u32]) -> Vec<u32> {
        let mut candidates: Vec<u32> = Vec::new();
        for artist in artists {
            if self.index.artist_block(*artist).len() <= self.config.max_block {
                candidates.extend_from_slice(self.block_within(prepared, *artist, TITLE_FLOOR));
                // A romanised title and its kanji ("Hakujitsu" and `白日`) differ in length
                // beyond what the length window allows: the artist's titles in another script
                // are candidates whatever their length.
                if prepared.shape.ascii {
                    candidates.extend(self.index.artist_block(*artist).iter().filter(|item| {
                        !self.index.title_shape(**item).ascii
                            && self
                                .index
                                .view_masked(**item, &self.mask)
                                .is_some_and(|view| japanese::has_kanji(view.title_norm()))
                    }));
                } else if japanese::has_kanji(&prepared.title.base) {
                    // The other way round: a title in kanji, the library's romanised ("光"
                    // and "Hikari").
                    candidates.extend(
                        self.index
                            .artist_block(*artist)
                            .iter()
                            .filter(|item| self.index.title_shape(**item).ascii),
                    );
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }

    /// The candidates by title trigrams. A title in another script is also looked up by its
    /// Latin letters, which a title in Latin letters is indexed by as well ("红豆" and "Hong
    /// Dou").
    fn gram_candidates(&self, prepared: &Prepared, scratch: &mut Scratch) -> Vec<u32> {
        let mut by_grams = self.title_gram_candidates(&prepared.title.base, scratch);
        if let Some(latin) = prepared.latin_base.as_deref() {
            for item in self.title_gram_candidates(latin, scratch) {
                if !by_grams.contains(&item) {
                    by_grams.push(item);
                }
            }
        }
        by_grams
    }

    /// Where nothing else is found, what names a classical piece loosely is offered, never
    /// accepted: a movement by the first words of its heading ("Kyrie" for "Kyrie eleison",
    /// "Dance of the Knights" for "No. 13, Dance of the Knights"), and a work credited to its
    /// performers where the query credits its composer (`by_work`).
    fn loose_forms(
        &self,
        prepared: &Prepared,
        artists: &[u32],
        by_work: Vec<ShortForm>,
    ) -> Vec<ShortForm> {
        let mut loose: Vec<ShortForm> = by_work;
        for artist in artists {
            for item in self.headings_begun(prepared, *artist) {
                if !loose.iter().any(|known| known.item == item) {
                    loose.push(ShortForm {
                        item,
                        one_word: false,
                        generic: false,
                        work_only: false,
                        partial: true,
                        by_work: false,
                        piece: false,
                    });
                }
            }
            // A piece of a set named as the piece ("Gymnopédie No. 1" for "3 Gymnopédies:
            // No. 1, Lent et douloureux").
            for item in self.pieces_of_sets(prepared, *artist) {
                if !loose.iter().any(|known| known.item == item) {
                    loose.push(ShortForm {
                        item,
                        one_word: false,
                        generic: false,
                        work_only: false,
                        partial: true,
                        by_work: false,
                        piece: true,
                    });
                }
            }
        }
        loose
    }

    fn decide(&self, mut scored: Vec<Scored>, method: MatchMethod) -> MatchOutcome {
        if scored.is_empty() {
            return MatchOutcome::none();
        }
        scored.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.claims_backed.cmp(&a.claims_backed))
                .then(a.whole_or_part.cmp(&b.whole_or_part))
                .then(a.version_text_differs.cmp(&b.version_text_differs))
                .then(b.edit.cmp(&a.edit))
                .then(a.item.cmp(&b.item))
        });
        let best = &scored[0];
        // A candidate whose title or album names another recording than the query's does not
        // stand against one that carries what the query says ("Song" against "Song (Taylor's
        // Version)" for a query "Song").
        let different = scored[1..].iter().find(|other| {
            !self.same_song(best.item, other.item) && (other.claims_backed || !best.claims_backed)
        });
        let runner = different.or_else(|| scored.get(1));
        // The margin rule, except that agreeing version and edit words beat a tie with a title
        // that only differs by them ("Song" vs "Song - Radio Edit", "Song - Live at X" vs
        // "Song (Live)").
        let exactness = |s: &Scored| (!s.version_text_differs, s.edit);
        let margin_ok = different.is_none_or(|other| {
            best.score - other.score >= self.config.margin
                || (exactness(best) > exactness(other) && best.score >= other.score)
        });
        // The only song of its title: no different song's title comes near it.
        let title_unique = || {
            !scored[1..].iter().any(|other| {
                other.title + SCORE_SLACK >= UNKNOWN_ARTIST_TITLE_FLOOR
                    && !self.same_song(best.item, other.item)
            })
        };
        let band = if best.score + SCORE_SLACK >= self.config.accept
            && best.title + SCORE_SLACK >= self.config.title_floor
            && (best.artist >= self.config.artist_floor || (best.vouched && title_unique()))
            && !best.durations_disagree
            && !best.version_unconfirmed
            && best.claims_backed
            && margin_ok
        {
            Band::Accept
        } else if best.score >= self.config.review
            || (best.title + SCORE_SLACK >= UNKNOWN_ARTIST_TITLE_FLOOR
                && !scored[1..].iter().any(|other| {
                    other.title + SCORE_SLACK >= UNKNOWN_ARTIST_TITLE_FLOOR
                        && !self.same_song(best.item, other.item)
                }))
        {
            // The only song of its title, under another name of the artist ("Yusuf Islam" for
            // "Cat Stevens", which the library does not carry): worth a person's look.
            Band::Review
        } else {
            Band::Reject
        };
        // Offered, not accepted: of the movements of one work the query may mean as a whole
        // ("Quince Suite No. 4" where the library holds its movements), the first one first.
        if band == Band::Review
            && best.whole_or_part
            && best.movement != u32::MAX
            && let Some(first) = self.first_movement_offered(best, &scored)
        {
            return MatchOutcome {
                best: self.candidate(first.item, first.score),
                band,
                method,
                runner_up: self.candidate(best.item, best.score),
            };
        }
        MatchOutcome {
            best: self.candidate(best.item, best.score),
            band,
            method,
            runner_up: runner.and_then(|other| self.candidate(other.item, other.score)),
        }
    }

    /// A candidate with a lower movement number than `best` of the same work (the same work
    /// words, key and catalogue numbers, by one of its artists) that scores for review too.
    fn first_movement_offered<'s>(
        &self,
        best: &Scored,
        scored: &'s [Scored],
    ) -> Option<&'s Scored> {
        let work_of = |item: u32| {
            let view = self.index.view_masked(item, &self.mask)?;
            let parsed = normalize::parse_title(view.title());
            let work = parsed.work?;
            Some((
                work.work_words.clone(),
                work.key.clone(),
                work.catalogue.clone(),
                view.artist_ids().to_vec(),
            ))
        };
        let (words, key, catalogue, artists) = work_of(best.item)?;
        if words.is_empty() && catalogue.is_empty() {
            return None;
        }
        scored
            .iter()
            .filter(|other| {
                other.whole_or_part
                    && other.movement < best.movement
                    && other.score >= self.config.review
            })
            .filter(|other| {
                work_of(other.item).is_some_and(|(w, k, c, a)| {
                    w == words
                        && k == key
                        && c == catalogue
                        && a.iter().any(|id| artists.contains(id))
                })
            })
            .min_by_key(|other| other.movement)
    }
}

#[cfg(test)]
mod tests;
