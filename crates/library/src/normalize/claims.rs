//! What a title or album says about *which recording* it is, beyond the song: which wording is
//! known to name the same recording ([`names_same_recording`]), which words name another one
//! ([`names_recording`]), and whether the other side carries them ([`qualifiers_backed`],
//! [`album_claims`]).
//!
//! The rule is turned around: only wording known to name the same recording is passed over
//! (a remaster with or without its year, radio/single/album edits and versions, mono and
//! stereo mixes, explicit and clean, edition and video words). Anything else a title says — a
//! year alone, "1984 Version", "Take 3", "Slowed + Reverb", words never seen — must be carried
//! by the match as well, or the match is not accepted.

use super::*;

/// Words that name a recording, a take or a derivative of one ("Taylor's Version", "2016
/// Re-Recording", "Take 3", "The Basement Tapes", "Slowed + Reverb", "Guitar Cover", "Part
/// II"): a library title whose brackets say one of these names that recording, which a query
/// must ask for. (The query's own words are all claims, known or not.)
const RECORDING_WORDS: [&str; 71] = [
    "version",
    // Archival takes: a cut from a lacquer or a tape, kept apart from the release.
    "acetate",
    "acetates",
    "archive",
    "archives",
    "archival",
    "worktape",
    "recording",
    "recordings",
    "recorded",
    "rerecorded",
    "rerecording",
    "rerecord",
    "take",
    "takes",
    "outtake",
    "outtakes",
    "tape",
    "tapes",
    "session",
    "sessions",
    "rehearsal",
    "rehearsals",
    "demo",
    "mix",
    "cover",
    "covers",
    "slowed",
    "sped",
    "reverb",
    "nightcore",
    "remake",
    "remade",
    "reimagined",
    "alternate",
    "alternative",
    "alt",
    "early",
    "acapella",
    "cappella",
    "orchestral",
    "symphonic",
    "stripped",
    "extended",
    "reprise",
    "8d",
    "part",
    "parts",
    "new",
    "style",
    "tribute",
    "chopped",
    "screwed",
    "boosted",
    "bbc",
    "peel",
    "karaoke",
    "redux",
    // The same in the languages exports are most often written in besides English.
    "versao",
    "vivo",
    "directo",
    "acustico",
    "acustica",
    "acoustique",
    "sesion",
    "sessao",
    "grabacion",
    "gravacao",
    "fassung",
    "aufnahme",
    "enregistrement",
];

/// Words of an album that say its recordings are not the studio ones ("Live at Wembley",
/// "MTV Unplugged in New York", "The Kitchen Sessions", "Greatest Hits Re-Recorded").
const ALBUM_RECORDING_WORDS: [&str; 38] = [
    "live",
    // Archival takes ("Acetates 1966", "The Archive Series"): not the released recordings.
    "acetate",
    "acetates",
    "archive",
    "archives",
    "archival",
    "worktapes",
    "redux",
    "bootleg",
    "bbc",
    "storytellers",
    "alive",
    "unplugged",
    "acoustic",
    "concert",
    "demo",
    "demos",
    "session",
    "sessions",
    "tapes",
    "takes",
    "outtakes",
    "rehearsal",
    "rehearsals",
    "remix",
    "remixes",
    "remixed",
    "instrumental",
    "instrumentals",
    "karaoke",
    "covers",
    "tribute",
    "recorded",
    "rerecorded",
    "acapella",
    "stripped",
    "reimagined",
    "slowed",
];

/// Words that never decide which recording a qualifier names.
fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "the" | "a" | "an" | "of" | "and" | "in" | "on" | "at" | "to" | "for" | "by" | "from"
    )
}

/// A year from 1900 to 2099, written out ("2018").
fn is_year(word: &str) -> bool {
    word.len() == 4
        && word.bytes().all(|b| b.is_ascii_digit())
        && word
            .parse::<u32>()
            .is_ok_and(|year| (1900..=2099).contains(&year))
}

/// Edition words that on their own name the same recording: a remaster, an edit, a mix of
/// it, an edition, where it was posted. "Version" and an ordinal need one of these beside
/// them, and a year a remaster: "(2011 Remaster)" and "(Album Version)" name the recording,
/// "(1984 Version)" and "- 2018" name another.
fn is_evidence_word(word: &str) -> bool {
    is_noise_word(word)
        && !matches!(
            word,
            "version"
                | "and"
                | "a"
                | "of"
                | "in"
                | "the"
                | "track"
                | "mixed"
                | "master"
                | "reissue"
                | "only"
        )
        && !word.bytes().all(|b| b.is_ascii_digit())
        && !is_ordinal(word)
}

/// True when the words of an all-noise segment are known to name the same recording: one of
/// them is a remaster, edit, mono/stereo, explicit/clean, edition or video word.
///
/// ```
/// use cachearr_library::normalize::names_same_recording;
/// assert!(names_same_recording(&["2011", "remaster"]));
/// assert!(names_same_recording(&["album", "version"]));
/// assert!(!names_same_recording(&["1984", "version"]));
/// assert!(!names_same_recording(&["2018"]));
/// assert!(!names_same_recording(&["2014", "single", "version"]));
/// ```
pub fn names_same_recording(words: &[&str]) -> bool {
    // A year names the same recording only beside a remaster ("2011 Remaster"): "2014 Single
    // Version" or "1996 Stereo Mix" may be a new recording or mix of that year.
    let remaster = words.iter().any(|word| word.starts_with("remaster"));
    words.iter().any(|word| is_evidence_word(word))
        && (remaster || !words.iter().any(|word| is_year(word)))
}

/// True when a "from …" segment names where the recording was released ("From \"Frozen\"",
/// "From the Motion Picture Soundtrack"): the same recording. "From the Basement" or "From
/// the Vault" name other recordings (a session, a song left out) and are qualifiers.
pub(super) fn names_a_source(raw: &str, words: &[&str]) -> bool {
    const SOURCE_WORDS: [&str; 18] = [
        "album",
        "ep",
        "lp",
        "record",
        "soundtrack",
        "motion",
        "picture",
        "film",
        "movie",
        "series",
        "musical",
        "game",
        "ost",
        "netflix",
        "disney",
        "show",
        "tv",
        "season",
    ];
    let quoted = raw.contains(['"', '\u{201C}', '\u{201D}', '\u{2018}', '\u{2019}', '\'']);
    (quoted && words.len() > 1) || words.iter().any(|word| SOURCE_WORDS.contains(word))
}

/// True when a qualifier of a library title names a recording a query must ask for (a word
/// such as "version", "recorded", "take", "tapes", "session", "cover", "slowed", "part", or a
/// year): "Hold On (2016 Re-Recording)", "Love the Way You Lie (Part
/// II)". A bracket that is part of the song's name ("(I Can't Get No) Satisfaction") is not.
pub fn names_recording(qualifier: &str) -> bool {
    qualifier
        .split(' ')
        .any(|word| RECORDING_WORDS.contains(&word) || is_year(word))
}

/// The words of a title or album, normalised the way titles are (numbers one way), for
/// [`qualifiers_backed`]: every word, its brackets' and suffixes' too.
pub fn title_words(raw: &str) -> Vec<String> {
    normalize_title_words(&spell_accidentals(raw))
        .split(' ')
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}

/// True when `word` is among `words`, or a typo of one of five letters or more.
fn carried(word: &str, words: &[String]) -> bool {
    let value = number_value(word);
    words.iter().any(|other| {
        other == word
            || (word.len() >= 5 && is_typo_of(word, other))
            || value.is_some_and(|value| number_value(other) == Some(value))
    })
}

/// True when every number of a normalised base title (digits, or Roman numerals of two
/// letters or more) is among `words` by value: "Blue Monday 88" is "Blue Monday 1988", but
/// "Total Eclipse of the Heart 2010" or "Song 2" is not "Total Eclipse of the Heart" or "Song".
pub fn numbers_carried(base: &str, words: &[String]) -> bool {
    base.split(' ').all(|word| {
        let value = if word.len() >= 2 || word.bytes().all(|b| b.is_ascii_digit()) {
            number_value(word)
        } else {
            None
        };
        value.is_none_or(|value| {
            words
                .iter()
                .filter_map(|other| number_value(other))
                .any(|other| same_number(value, other))
        })
    })
}

/// The value of a number written in digits or Roman numerals ("2", "ii", "v"): "Part II" is
/// "Pt. 2", "Take 2" is not "Take 1".
fn number_value(word: &str) -> Option<u32> {
    if !word.is_empty() && word.len() <= 9 && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    roman_value(word)
}

/// Words a classical title's movement is named by ("1st Movement", "Mvt. 3"): its work parts
/// compare them ([`compare_works`]).
fn is_movement_word(word: &str) -> bool {
    matches!(word, "movement" | "movt" | "mvt" | "mov" | "mvmt" | "satz") || is_ordinal(word)
}

/// True when a query's qualifier reads as part of the song's name rather than a description
/// of a recording: three words or more beside numbers and edition words, none of them a word
/// that names a recording ("(I Think It's Going to Be a Long, Long Time)", "(Cash Rules Everything
/// Around Me)"), or a chapter of the album's story ("(Cap. 1: Augurio)"). Libraries often leave
/// such a subtitle out. "(Come True)" and "(Sped Up)" are too short to tell, and are claims.
pub fn reads_as_subtitle(qualifier: &str) -> bool {
    // "(Cap. 1: Augurio)", "(Chapter 2)": the track's place in its album's story (the dot of
    // "Cap.1" joins the label to its number).
    const CHAPTER_WORDS: [&str; 6] = [
        "cap", "chapter", "capitulo", "chapitre", "kapitel", "capitolo",
    ];
    let number = |word: &str| {
        (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
            || roman_value(word).is_some()
    };
    let mut leading = qualifier.split(' ');
    let first = leading.next().unwrap_or("");
    let label = first.trim_end_matches(|c: char| c.is_ascii_digit());
    if CHAPTER_WORDS.contains(&label)
        && (label.len() < first.len() || leading.next().is_some_and(number))
    {
        return true;
    }
    // Articles and prepositions count (a phrase has them: "(In Other Words)"); numbers and
    // edition words do not ("(Bagpipe Edition)" is two words of description).
    let words = qualifier
        .split(' ')
        .filter(|word| !word.is_empty() && !word.bytes().all(|b| b.is_ascii_digit()))
        .filter(|word| is_filler(word) || !is_noise_word(word))
        .count();
    // "(From the Basement)", "(Taken from …)" say where a recording comes from.
    let from = qualifier.split(' ').any(|word| word == "from");
    words >= 3 && !from && !names_recording(qualifier)
}

/// True when the words of every qualifier are among `words` (the other title's, from
/// [`title_words`]): "take 3" needs "take" and "3" there (or "iii"), "2018" needs "2018".
/// Articles and, for a classical title, the words and numbers of its movement (compared by its
/// work parts) are passed over.
///
/// ```
/// use cachearr_library::normalize::{parse_title, qualifiers_backed, title_words};
/// let query = parse_title("Waterloo Sunset (Kitchen Table Tape)");
/// assert!(!qualifiers_backed(&query.qualifiers, &title_words("Waterloo Sunset"), false));
/// assert!(qualifiers_backed(
///     &query.qualifiers,
///     &title_words("Waterloo Sunset - Kitchen Table Tape"),
///     false
/// ));
/// ```
pub fn qualifiers_backed(qualifiers: &[String], words: &[String], classical: bool) -> bool {
    qualifiers.iter().all(|qualifier| {
        qualifier.split(' ').all(|word| {
            word.is_empty()
                || is_filler(word)
                || (classical && (is_movement_word(word) || number_value(word).is_some()))
                || carried(word, words)
        })
    })
}

/// What an album says about its recordings that the match must carry in its album or title:
/// words that make it a live, session, demo, remix or re-recorded album ("Live at Wembley",
/// "MTV Unplugged", "The Basement Tapes"), and the words of its brackets that name a
/// recording ("1989 (Taylor's Version)"). Edition words ("Deluxe", "2011 Remaster") are none.
///
/// ```
/// use cachearr_library::normalize::album_claims;
/// assert_eq!(album_claims("Live at the Royal Albert Hall"), vec!["live".to_string()]);
/// assert_eq!(album_claims("Fearless (Taylor's Version)"), vec!["taylors".to_string(), "version".to_string()]);
/// assert!(album_claims("Rumours (Super Deluxe Edition)").is_empty());
/// assert!(album_claims("Their Greatest Hits (1971-1975)").is_empty());
/// assert_eq!(album_claims("Live Killers"), vec!["live".to_string()]);
/// assert!(album_claims("Live Through This").is_empty());
/// assert_eq!(album_claims("Greatest Hits: New Recordings"), vec!["recordings".to_string()]);
/// ```
pub fn album_claims(raw: &str) -> Vec<String> {
    let words = title_words(raw);
    let parsed = parse_title(raw);
    // "Live" names a live album before a place, a year or what it holds ("Live at Leeds",
    // "Live in Paris", "Live 1975-85", "Live Recordings"), alone or last ("Live!", "Greatest
    // Hits Live"), or in a bracket; not in "Live Through This" or "Long. Live. A$AP".
    let live_album = |at: usize| {
        const AFTER_LIVE: [&str; 25] = [
            "at",
            "in",
            "from",
            "on",
            "aus",
            "au",
            "a",
            "en",
            "ao",
            "im",
            "dal",
            "recordings",
            "recording",
            "album",
            "tracks",
            "songs",
            "versions",
            "performances",
            "sessions",
            "session",
            "edition",
            "set",
            "tour",
            "concert",
            "show",
        ];
        // First, "Live" names the album's recordings ("Live Killers", "Live Aid") unless a
        // phrase goes on ("Live Through This", "Live and Let Die", "Live Forever").
        const PHRASE_AFTER_LIVE: [&str; 13] = [
            "through", "and", "forever", "your", "to", "for", "like", "life", "love", "laugh",
            "it", "free", "or",
        ];
        parsed.version.contains(VersionTags::LIVE)
            || words.get(at + 1).is_none_or(|next| {
                AFTER_LIVE.contains(&next.as_str())
                    || next.bytes().all(|b| b.is_ascii_digit())
                    || (at == 0 && !PHRASE_AFTER_LIVE.contains(&next.as_str()))
            })
    };
    let mut claims: Vec<String> = words
        .iter()
        .enumerate()
        .filter(|(at, word)| {
            ALBUM_RECORDING_WORDS.contains(&word.as_str()) && (*word != "live" || live_album(*at))
        })
        .map(|(_, word)| word.clone())
        .collect();
    // "New Recordings", "Re-Recordings": the album's songs recorded again.
    for pair in words.windows(2) {
        if matches!(pair[0].as_str(), "new" | "re")
            && matches!(pair[1].as_str(), "recording" | "recordings")
            && !claims.contains(&pair[1])
        {
            claims.push(pair[1].clone());
        }
    }
    for qualifier in parsed
        .qualifiers
        .iter()
        .filter(|q| names_recording(q) && !spans_the_hits(q, raw))
    {
        for word in qualifier.split(' ') {
            if !word.is_empty() && !is_filler(word) && !claims.iter().any(|c| c == word) {
                claims.push(word.to_string());
            }
        }
    }
    concert_claims(&words, &mut claims);
    claims
}

/// The claims of an album naming a concert without the word "live": by its place ("At
/// Folsom Prison"), or in Portuguese, Spanish or Italian ("Ao Vivo", "En Directo").
fn concert_claims(words: &[String], claims: &mut Vec<String>) {
    // "At Folsom Prison", "Cheap Trick at Budokan", "At the Fillmore East", "At Carnegie
    // Hall": a concert named by where it was played, which the album's tracks do not say.
    // The place's word is the claim (carried by the same album however it is written), read
    // as live ([`claim_kind`]).
    if let Some(venue) = venue_of(words)
        && !claims.iter().any(|claim| claim == "live" || claim == venue)
    {
        claims.push(venue.clone());
    }
    // "Ao Vivo", "En Vivo", "En Directo", "Dal Vivo": "live" in Portuguese, Spanish and
    // Italian album names, claimed as "live" (which an English title carries) rather than
    // word by word.
    let concert_words = |pair: &[String]| {
        matches!(
            (pair[0].as_str(), pair[1].as_str()),
            ("ao" | "em" | "en" | "dal" | "al", "vivo") | ("en", "directo" | "concierto")
        )
    };
    if words.windows(2).any(concert_words) {
        claims.retain(|claim| {
            !matches!(
                claim.as_str(),
                "ao" | "em" | "en" | "dal" | "al" | "vivo" | "directo" | "concierto"
            )
        });
        if !claims.iter().any(|claim| claim == "live") {
            claims.push("live".to_string());
        }
    }
}

/// True for an album claim that says its recordings were played before an audience: "live",
/// "unplugged", or a venue's word ([`venue_of`]).
fn names_a_concert_claim(claim: &str) -> bool {
    matches!(claim, "live" | "unplugged") || VENUES.contains(&claim)
}

/// Words for a hall, a prison or a well-known concert venue, which "at" before them makes the
/// place of a concert.
const VENUES: [&str; 24] = [
    "prison",
    "hall",
    "theatre",
    "theater",
    "bowl",
    "arena",
    "stadium",
    "ballroom",
    "amphitheatre",
    "amphitheater",
    "coliseum",
    "palladium",
    "budokan",
    "fillmore",
    "apollo",
    "olympia",
    "vanguard",
    "newport",
    "montreux",
    "quentin",
    "folsom",
    "marquee",
    "paramount",
    "philharmonic",
];

/// The word of an album that names a concert by its place: "at" and, within the three words
/// after it, a word of [`VENUES`] ("At Folsom Prison", "Cheap Trick at Budokan"); none for
/// "At Last" or "At War with the Mystics".
fn venue_of(words: &[String]) -> Option<&String> {
    words.iter().enumerate().find_map(|(at, word)| {
        (word == "at")
            .then(|| {
                words
                    .iter()
                    .skip(at + 1)
                    .take(3)
                    .find(|next| VENUES.contains(&next.as_str()))
            })
            .flatten()
    })
}

/// True when an album's bracket (`qualifier`) holds the years a compilation's hits span
/// ("Greatest Hits (1971-1975)"), which say nothing of how they were recorded.
fn spans_the_hits(qualifier: &str, album: &str) -> bool {
    qualifier
        .split(' ')
        .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
        && super::names_a_compilation(album)
}

/// True when an album's name says it holds a concert, whatever else it says of its
/// recordings: a live album ([`album_claims`]) or an unplugged one ("MTV Unplugged in New
/// York": acoustic, and played live before an audience), whose plain titles a store lists as
/// "Song (Live)".
pub fn names_a_concert(raw: &str) -> bool {
    album_claims(raw)
        .iter()
        .any(|claim| names_a_concert_claim(claim))
}

/// The kind of recording an album claim names, if it names one ("live", "alive" and "concert"
/// live; "unplugged" acoustic; "remixes" a remix …).
pub fn claim_kind(word: &str) -> VersionTags {
    match word {
        "alive" => VersionTags::LIVE,
        venue if VENUES.contains(&venue) => VersionTags::LIVE,
        "remixes" | "remixed" => VersionTags::REMIX,
        "demos" => VersionTags::DEMO,
        "instrumentals" => VersionTags::INSTRUMENTAL,
        other => version_tag_of_word(other),
    }
}

/// True when every claim is among `words` (the other side's album and title words), or names
/// a kind of recording that `kinds` (the other side's) has: "unplugged" is carried by "(Live
/// Acoustic)".
pub fn claims_carried(claims: &[String], words: &[String], kinds: VersionTags) -> bool {
    claims.iter().all(|claim| {
        let kind = claim_kind(claim);
        carried(claim, words) || (!kind.is_original() && kinds.contains(kind))
    })
}

/// True when a library title (its base and as written) may have qualifiers that name a
/// recording ([`names_recording`]): a recording word among the base's (kept
/// brackets are in it), or a year as written (a year alone is not). A look that spares most
/// titles the parse.
pub fn title_may_name_recording(base: &str, raw: &str) -> bool {
    base.split(' ').any(|word| RECORDING_WORDS.contains(&word))
        || raw.as_bytes().windows(4).any(|four| {
            matches!(&four[..2], b"19" | b"20") && four[2..].iter().all(u8::is_ascii_digit)
        })
}

/// True when an album (its normalised form and as written) may make claims ([`album_claims`]):
/// a word that names recordings, "at" and a word for a concert venue, or a bracket that
/// starts with a digit (a year). A look that spares most albums the parse.
pub fn album_may_claim(normalized: &str, raw: &str) -> bool {
    normalized
        .split(' ')
        .any(|word| ALBUM_RECORDING_WORDS.contains(&word) || RECORDING_WORDS.contains(&word))
        || (normalized.split(' ').any(|word| word == "at")
            && normalized.split(' ').any(|word| VENUES.contains(&word)))
        || raw
            .as_bytes()
            .windows(2)
            .any(|pair| matches!(pair[0], b'(' | b'[') && pair[1].is_ascii_digit())
}

/// The kinds of recording an album's claims name ([`album_claims`]): live for "Live at
/// Wembley", acoustic for "MTV Unplugged in New York", none for "Long Live A$AP".
pub fn album_kinds(album: &str) -> VersionTags {
    claims_kinds(&album_claims(album))
}

/// The kinds of recording an album's claims name ([`album_claims`], [`album_kinds`]): for
/// claims already read, without reading the album again.
pub fn claims_kinds(claims: &[String]) -> VersionTags {
    claims
        .iter()
        .map(|claim| claim_kind(claim))
        .fold(VersionTags::NONE, VersionTags::union)
}

/// [`album_kinds`] and [`names_a_concert`] of one album, from one reading of its claims.
pub fn album_kinds_and_concert(album: &str) -> (VersionTags, bool) {
    let claims = album_claims(album);
    let kinds = claims_kinds(&claims);
    let concert = claims.iter().any(|claim| names_a_concert_claim(claim));
    (kinds, concert)
}

/// The kinds of recording a title's version tags and an album's words name together.
pub fn kinds_named(version: VersionTags, album: &str) -> VersionTags {
    title_words(album)
        .iter()
        .map(|word| claim_kind(word))
        .fold(version, VersionTags::union)
}

/// How well two titles' edit words agree ([`edit_agreement`]), worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EditAgreement {
    /// They name opposite edits of the recording: explicit and clean, mono and stereo.
    Opposite,
    /// The query says nothing of the edit and the library's is not the usual one: clean or
    /// mono (a plain query asks for the album's explicit, stereo recording).
    Unusual,
    /// Nothing for or against.
    Neutral,
    /// They name the same edit in other words ("Explicit" and "Explicit Version", "Mono" and
    /// "Mono Mix").
    Alike,
    /// The same edit words, or none on either side.
    Equal,
}

/// The edit words of a title ([`ParsedTitle::edit_text`]) with its album's ("Album \[Explicit\]",
/// "Album (Clean)"): a clean album holds clean edits.
pub fn edit_words(title_edit: &str, album: &str) -> String {
    // Most albums name no edit: a look at the letters spares the parse.
    const STEMS: [&[u8]; 6] = [
        b"xplicit", b"clean", b"dirty", b"ensored", b"mono", b"stereo",
    ];
    let bytes = album.as_bytes();
    let names_an_edit = STEMS.iter().any(|stem| {
        bytes
            .windows(stem.len())
            .any(|window| window.eq_ignore_ascii_case(stem))
    }) || album.contains("dited");
    if !names_an_edit || !album.contains(['(', '[', '-', '\u{2013}']) {
        return title_edit.to_string();
    }
    // The title's own words decide a pair it names ("Song (Mono)" on "Album (Mono & Stereo)").
    let title_names = |pair: &[&str]| title_edit.split(' ').any(|word| pair.contains(&word));
    let pairs: [&[&str]; 2] = [
        &[
            "explicit",
            "dirty",
            "uncensored",
            "clean",
            "censored",
            "edited",
        ],
        &["mono", "stereo"],
    ];
    let album_edit = parse_title(album)
        .edit_text
        .split(' ')
        .filter(|word| {
            !pairs
                .iter()
                .any(|pair| pair.contains(word) && title_names(pair))
        })
        .collect::<Vec<_>>()
        .join(" ");
    match (title_edit.is_empty(), album_edit.is_empty()) {
        (_, true) => title_edit.to_string(),
        (true, false) => album_edit,
        (false, false) => format!("{title_edit} {album_edit}"),
    }
}

/// Compares the edit words of two titles ([`ParsedTitle::edit_text`]): which of two edits the
/// library holds ("Song" and "Song (Clean)", "Song (Mono)" and "Song (Stereo)") a query asks
/// for. Both name the same recording: this only chooses between them.
///
/// ```
/// use cachearr_library::normalize::{edit_agreement, EditAgreement};
/// assert_eq!(edit_agreement("explicit", "clean"), EditAgreement::Opposite);
/// assert_eq!(edit_agreement("explicit", "explicit version"), EditAgreement::Alike);
/// assert_eq!(edit_agreement("mono", ""), EditAgreement::Neutral);
/// assert_eq!(edit_agreement("", "clean"), EditAgreement::Unusual);
/// assert_eq!(edit_agreement("", ""), EditAgreement::Equal);
/// assert_eq!(edit_agreement("single version", "radio edit"), EditAgreement::Alike);
/// assert_eq!(edit_agreement("", "radio edit"), EditAgreement::Unusual);
/// ```
pub fn edit_agreement(ours: &str, theirs: &str) -> EditAgreement {
    if ours == theirs {
        return EditAgreement::Equal;
    }
    // Each mark: Some(true) for one side of a pair, Some(false) for the other.
    let marks = |text: &str| -> [Option<bool>; 3] {
        let has = |words: &[&str]| text.split(' ').any(|word| words.contains(&word));
        let mark = |yes: &[&str], no: &[&str]| match (has(yes), has(no)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        // The single's edit, by any of its names ("Radio Edit", "Single Version", "Short
        // Version", "Edit" alone); the album's recording is the usual one.
        let words: Vec<&str> = text.split(' ').filter(|word| !word.is_empty()).collect();
        let single = (words
            .iter()
            .any(|word| matches!(*word, "radio" | "single" | "short"))
            || words == ["edit"])
        .then_some(true);
        [
            mark(
                &["explicit", "dirty", "uncensored"],
                &["clean", "censored", "edited"],
            ),
            mark(&["mono"], &["stereo"]),
            single,
        ]
    };
    let (a, b) = (marks(ours), marks(theirs));
    // The usual edit of each pair: explicit, stereo, the album's.
    const USUAL: [bool; 3] = [true, false, false];
    let mut agreement = EditAgreement::Neutral;
    for ((x, y), usual) in a.iter().zip(&b).zip(USUAL) {
        match (x, y) {
            (Some(x), Some(y)) if x != y => return EditAgreement::Opposite,
            (Some(_), Some(_)) => agreement = agreement.max(EditAgreement::Alike),
            (None, Some(y)) if *y != usual => agreement = agreement.min(EditAgreement::Unusual),
            _ => {}
        }
    }
    agreement
}
