//! Text normalisation shared by the index, the matcher and search.
//!
//! Library and query text go through the *same* functions, so two spellings of one song meet
//! at one key: "Beyoncé & JAY-Z" and "beyonce and jay z" both become the artist set
//! `{beyonce, jay z}`; "Hey Jude - Remastered 2015" and "hey jude" both have the base title
//! `hey jude`. What makes a *different recording* (live, remix, acoustic, instrumental, demo,
//! karaoke) is never thrown away: it is kept apart in [`VersionTags`] so the matcher can refuse
//! to confuse a version with its original.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The kinds of alternate recording a title can announce. A set of them, as bits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct VersionTags(u8);

impl VersionTags {
    /// No version tag: the original recording.
    pub const NONE: VersionTags = VersionTags(0);
    /// A live recording ("(Live)", "- Live at Wembley").
    pub const LIVE: VersionTags = VersionTags(1);
    /// A remix or alternate mix ("(Club Mix)", "- X Remix").
    pub const REMIX: VersionTags = VersionTags(2);
    /// An acoustic or unplugged recording.
    pub const ACOUSTIC: VersionTags = VersionTags(4);
    /// An instrumental.
    pub const INSTRUMENTAL: VersionTags = VersionTags(8);
    /// A demo.
    pub const DEMO: VersionTags = VersionTags(16);
    /// A karaoke (backing-track) version.
    pub const KARAOKE: VersionTags = VersionTags(32);

    /// The raw bits (stable: they are part of the snapshot format).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Rebuilds a set from [`VersionTags::bits`]; unknown bits are dropped.
    pub fn from_bits(bits: u8) -> VersionTags {
        VersionTags(bits & 63)
    }

    /// True when no tag is set (the original recording).
    pub fn is_original(self) -> bool {
        self.0 == 0
    }

    /// True when every tag of `other` is also in `self`.
    pub fn contains(self, other: VersionTags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two sets.
    pub fn union(self, other: VersionTags) -> VersionTags {
        VersionTags(self.0 | other.0)
    }

    /// True when two sets name the same kind of recording. Equal sets agree; beyond that,
    /// "live" and "acoustic" qualify another kind ("Acoustic Demo" is a demo, a "Live Remix"
    /// a remix), and an acoustic set is acoustic whether or not it says live ("Acoustic Live"
    /// and "MTV Unplugged"). Live is never studio, acoustic never electric, a remix never
    /// the original.
    pub fn same_kind(self, other: VersionTags) -> bool {
        if self == other {
            return true;
        }
        let qualifiers = VersionTags::LIVE.0 | VersionTags::ACOUSTIC.0;
        let (core, other_core) = (self.0 & !qualifiers, other.0 & !qualifiers);
        if core != other_core {
            return false;
        }
        core != 0 || (self.contains(VersionTags::ACOUSTIC) && other.contains(VersionTags::ACOUSTIC))
    }

    /// Names of the tags set, for reports ("live", "remix", …).
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(VersionTags, &str); 6] = [
            (VersionTags::LIVE, "live"),
            (VersionTags::REMIX, "remix"),
            (VersionTags::ACOUSTIC, "acoustic"),
            (VersionTags::INSTRUMENTAL, "instrumental"),
            (VersionTags::DEMO, "demo"),
            (VersionTags::KARAOKE, "karaoke"),
        ];
        NAMES
            .iter()
            .filter(|(tag, _)| self.contains(*tag))
            .map(|(_, name)| *name)
            .collect()
    }
}

/// Appends the normalised form of one character (already NFKD-decomposed) to `token`, or
/// reports that it separates tokens.
enum CharClass {
    /// Part of a word; the folded text was appended.
    Word,
    /// Dropped without separating words (accents, apostrophes, dots: "R.E.M." → "rem").
    Joiner,
    /// Separates words (spaces, most punctuation).
    Separator,
    /// `&` or `+`: separates words and reads as "and".
    And,
}

fn classify_and_fold(c: char, token: &mut String) -> CharClass {
    if is_combining_mark(c) {
        // Kana voicing marks make another syllable ("ブ" is "bu", "フ" is "fu"): kept, by
        // composing the kana again, so that the Latin letters of kana stay right.
        if matches!(c, '\u{3099}' | '\u{309A}')
            && let Some(kana) = token.pop()
        {
            let mut pair = String::with_capacity(8);
            pair.push(kana);
            pair.push(c);
            let composed: String = pair.nfc().collect();
            token.push_str(if composed.chars().count() == 1 {
                &composed
            } else {
                &pair[..kana.len_utf8()]
            });
        }
        return CharClass::Joiner;
    }
    match c {
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}' | '.' => CharClass::Joiner,
        '&' | '+' => CharClass::And,
        // A dollar sign inside a name stands for an S ("Ke$ha", "A$AP Rocky", "L$D").
        '$' => {
            token.push('s');
            CharClass::Word
        }
        // Letters NFKD leaves whole; folded the way people type them without the key.
        // The capital sharp s lower-cases to 'ß', so it folds the same way.
        'ß' | 'ẞ' => {
            token.push_str("ss");
            CharClass::Word
        }
        'æ' | 'Æ' => {
            token.push_str("ae");
            CharClass::Word
        }
        'œ' | 'Œ' => {
            token.push_str("oe");
            CharClass::Word
        }
        'ø' | 'Ø' => {
            token.push('o');
            CharClass::Word
        }
        'đ' | 'Đ' | 'ð' | 'Ð' => {
            token.push('d');
            CharClass::Word
        }
        'ł' | 'Ł' => {
            token.push('l');
            CharClass::Word
        }
        'þ' | 'Þ' => {
            token.push_str("th");
            CharClass::Word
        }
        'ı' => {
            token.push('i');
            CharClass::Word
        }
        c if c.is_alphanumeric() => {
            let mut pushed = false;
            for lower in c.to_lowercase() {
                // Lower-casing can produce a composed letter or a mark ('İ' → "i̇"):
                // decompose again so the output is a fixed point of this function.
                for part in std::iter::once(lower).nfkd() {
                    if is_combining_mark(part) {
                        continue;
                    }
                    if part.is_alphanumeric() {
                        token.push(part);
                        pushed = true;
                    }
                }
            }
            if pushed {
                CharClass::Word
            } else {
                CharClass::Joiner
            }
        }
        _ => CharClass::Separator,
    }
}

/// A token produced by [`tokenize`]: a word, or the `&`/`+` separator (which reads as "and").
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Ampersand,
}

fn tokenize(raw: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut token = String::new();
    for c in raw.nfkd() {
        match classify_and_fold(c, &mut token) {
            CharClass::Word | CharClass::Joiner => {}
            CharClass::Separator => {
                if !token.is_empty() {
                    tokens.push(Token::Word(std::mem::take(&mut token)));
                }
            }
            CharClass::And => {
                if !token.is_empty() {
                    tokens.push(Token::Word(std::mem::take(&mut token)));
                }
                tokens.push(Token::Ampersand);
            }
        }
    }
    if !token.is_empty() {
        tokens.push(Token::Word(token));
    }
    tokens
}

/// Joins words with single spaces after dropping leading "the"s (never the last word).
fn join_words<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.into_iter().collect();
    let mut start = 0;
    while words.len() - start > 1 && words[start] == "the" {
        start += 1;
    }
    words[start..].join(" ")
}

/// Normalises free text: NFKD with marks stripped, lower case, `ß`→`ss`-style folds,
/// apostrophes and dots dropped, other punctuation as spaces, `&`/`+` → "and", single
/// spaces, leading "The" dropped. The result is a fixed point: normalising it again changes
/// nothing.
///
/// ```
/// use cachearr_library::normalize::normalize_text;
/// assert_eq!(normalize_text("The Beatles"), "beatles");
/// assert_eq!(normalize_text("Beyoncé & JAY-Z"), "beyonce and jay z");
/// assert_eq!(normalize_text("Don’t Stop Me Now!"), "dont stop me now");
/// ```
pub fn normalize_text(raw: &str) -> String {
    let tokens = tokenize(raw);
    join_words(tokens.iter().map(|token| match token {
        Token::Word(word) => word.as_str(),
        Token::Ampersand => "and",
    }))
}

/// Words that introduce featured artists.
const FEAT_WORDS: [&str; 4] = ["feat", "ft", "featuring", "with"];

/// Words that join artists in one credit ("A & B", "A, B", "A vs B").
fn is_artist_separator_word(word: &str) -> bool {
    matches!(
        word,
        "feat" | "ft" | "featuring" | "with" | "and" | "vs" | "x"
    )
}

/// Splits an artist credit into normalised artist names: "A feat. B & C" → `[a, b, c]`.
///
/// Separators: `feat.`/`ft.`/`featuring`/`with`, `&`/`and`/`+`, `,`, `;`, `/`, `vs`, `x`.
/// Both the library and the query are split the same way, so "Simon & Garfunkel" is the set
/// `{simon, garfunkel}` on both sides. Duplicates are removed; order is kept (the first name
/// is the primary artist).
pub fn split_artists(raw: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    // Commas, semicolons and slashes separate names; split on them before tokenising, since
    // the tokeniser turns them into plain spaces.
    for chunk in raw.split([',', ';', '/', '\u{3001}']) {
        let tokens = tokenize(chunk);
        let mut current: Vec<&str> = Vec::new();
        let mut flush = |current: &mut Vec<&str>| {
            if !current.is_empty() {
                let name = join_words(current.drain(..));
                if !name.is_empty() && !names.contains(&name) {
                    names.push(name);
                }
            }
        };
        for (position, token) in tokens.iter().enumerate() {
            match token {
                Token::Ampersand => flush(&mut current),
                // A separator word at the very start is a name ("With Confidence", "X Japan"
                // keeps its "x" only as first word), elsewhere it separates.
                Token::Word(word) if position > 0 && is_artist_separator_word(word) => {
                    flush(&mut current)
                }
                Token::Word(word) => current.push(word),
            }
        }
        flush(&mut current);
    }
    names
}

/// A title taken apart: base words, version tags and featured artists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedTitle {
    /// The normalised title without edition noise, version segments or featured artists.
    pub base: String,
    /// The kinds of alternate recording the title announces.
    pub version: VersionTags,
    /// The normalised words of the version segments ("x remix", "live at wembley").
    pub version_text: String,
    /// Featured artists named in the title ("(feat. X)"), normalised.
    pub featured: Vec<String>,
    /// The normalised words of noise segments that name another *edit* of the same
    /// recording ("radio edit", "single version", "mono"): not a version, but used to prefer
    /// "Song" over "Song - Radio Edit" when nothing else tells them apart.
    pub edit_text: String,
    /// The base title without its bracketed words when the title has words outside them too
    /// ("rocket man" for "Rocket Man (I Think It's Going to Be a Long, Long Time)", "reaper"
    /// for "(Don't Fear) The Reaper"): how people often write such titles.
    pub short: Option<String>,
    /// The words of the one bracket kept in the title, when they can be a title of their own:
    /// written in another script than the rest ("red flavor" for "빨간 맛 (Red Flavor)",
    /// "강남스타일" for "Gangnam Style (강남스타일)"), or of two words or more ("i feel good"
    /// for "I Got You (I Feel Good)").
    pub bracketed: Option<String>,
    /// What a classical title says about which work and which part of it it is, when it says
    /// anything (a key, a catalogue number, a movement).
    pub work: Option<Box<WorkParts>>,
    /// The words in double quotes, when the title has them besides other words: the name the
    /// piece is known by ("fur elise" for "Bagatelle No. 25 in A Minor, WoO 59 \"Für
    /// Elise\"").
    pub quoted: Option<String>,
    /// The title with its text-speak spelled out, when it has some ("good for you" for "good 4
    /// u", "skater boy" for "Sk8er Boi", "nothing compares to you" for "Nothing Compares 2
    /// U").
    pub spoken: Option<String>,
}

impl ParsedTitle {
    /// Other forms the title is known by, besides its base: the short form, the form in the
    /// other script, and for classical titles the title without key and catalogue numbers,
    /// the movement's name and the movement's name before its subtitle ("jupiter" for "IV.
    /// Jupiter, the Bringer of Jollity"). Distinct, never the base.
    pub fn alternates(&self) -> Vec<String> {
        let mut forms: Vec<String> = Vec::new();
        let work = self.work.as_deref();
        let candidates = [
            self.short.as_ref(),
            self.bracketed.as_ref(),
            self.quoted.as_ref(),
            self.spoken.as_ref(),
            work.and_then(|w| w.bare.as_ref()),
            work.and_then(|w| w.without_key.as_ref()),
            work.and_then(|w| w.movement.as_ref()),
            work.and_then(|w| w.movement_head.as_ref()),
        ];
        let catalogue = work.map_or(&[][..], |w| w.catalogue_keys.as_slice());
        for form in candidates.into_iter().flatten().chain(catalogue) {
            if !form.is_empty() && *form != self.base && !forms.contains(form) {
                forms.push(form.clone());
            }
        }
        forms
    }

    /// The classical forms among [`ParsedTitle::alternates`] (bare form, movement): these
    /// also meet the same form of another title ("adagio sostenuto" on both sides), where a
    /// short form meeting a short form would only say two titles share a bracket.
    pub fn work_forms(&self) -> Vec<String> {
        let Some(work) = self.work.as_deref() else {
            return Vec::new();
        };
        [
            &work.bare,
            &work.without_key,
            &work.movement,
            &work.movement_head,
        ]
        .into_iter()
        .flatten()
        .chain(&work.catalogue_keys)
        .filter(|form| !form.is_empty() && **form != self.base)
        .cloned()
        .collect()
    }
}

/// Words that make an edition segment name a different edit rather than a reissue.
const EDIT_WORDS: [&str; 6] = ["edit", "radio", "single", "mono", "clean", "explicit"];

/// What one bracketed or dash-separated part of a title is.
enum Segment {
    Featured(Vec<String>),
    Version(VersionTags, String),
    /// Edition noise; the words are kept when they name another edit ("radio edit").
    Noise(String),
    Keep,
}

/// True when `word` is `target` mistyped the way people mistype: a doubled letter ("liive"),
/// two neighbours swapped ("deom"), or — for words of five letters or more — any one edit
/// ("acoutic"). Short words get no substitutions: "love" must not read as "live".
pub(crate) fn is_typo_of(word: &str, target: &str) -> bool {
    if word == target {
        return true;
    }
    let mut collapsed = String::with_capacity(word.len());
    for c in word.chars() {
        if !collapsed.ends_with(c) {
            collapsed.push(c);
        }
    }
    if collapsed == target {
        return true;
    }
    let distance = strsim::osa_distance(word, target);
    if distance != 1 {
        return false;
    }
    if target.chars().count() >= 5 {
        return true;
    }
    let mut a: Vec<char> = word.chars().collect();
    let mut b: Vec<char> = target.chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn version_tag_of_word(word: &str) -> VersionTags {
    let exact = match word {
        "live" | "concert" => VersionTags::LIVE,
        "remix" | "remixed" | "rmx" | "mix" | "dub" | "rework" | "bootleg" => VersionTags::REMIX,
        "acoustic" | "unplugged" => VersionTags::ACOUSTIC,
        "instrumental" => VersionTags::INSTRUMENTAL,
        "demo" => VersionTags::DEMO,
        "karaoke" => VersionTags::KARAOKE,
        _ => VersionTags::NONE,
    };
    if !exact.is_original() || word.len() < 4 {
        return exact;
    }
    // A mistyped version word still announces a version: better an unmatched query than a
    // live recording matched to the studio one.
    const TYPO_TARGETS: [(&str, VersionTags); 7] = [
        ("live", VersionTags::LIVE),
        ("remix", VersionTags::REMIX),
        ("acoustic", VersionTags::ACOUSTIC),
        ("unplugged", VersionTags::ACOUSTIC),
        ("instrumental", VersionTags::INSTRUMENTAL),
        ("demo", VersionTags::DEMO),
        ("karaoke", VersionTags::KARAOKE),
    ];
    TYPO_TARGETS
        .iter()
        .find(|(target, _)| is_typo_of(word, target))
        .map_or(VersionTags::NONE, |(_, tag)| *tag)
}

/// Edition words also recognised when mistyped ("Remasterd", "Ediiton").
const NOISE_TYPO_TARGETS: [&str; 7] = [
    "remaster",
    "remastered",
    "deluxe",
    "edition",
    "expanded",
    "anniversary",
    "version",
];

/// Words that only describe an edition, never a different performance.
fn is_noise_word(word: &str) -> bool {
    matches!(
        word,
        "remaster"
            | "remastered"
            | "remasterd"
            | "remastering"
            | "deluxe"
            | "edition"
            | "expanded"
            | "anniversary"
            | "bonus"
            | "track"
            | "version"
            | "edit"
            | "radio"
            | "single"
            | "album"
            | "mono"
            | "stereo"
            | "explicit"
            | "clean"
            | "original"
            | "digital"
            | "reissue"
            | "special"
            | "collectors"
            | "limited"
            | "hd"
            | "hq"
            | "4k"
            | "official"
            | "video"
            | "videoclip"
            | "clip"
            | "audio"
            | "lyrics"
            | "lyric"
            | "visualizer"
            | "visualiser"
            | "music"
            | "mv"
            | "lp"
            | "ep"
            | "mixed"
            | "master"
            | "mastered"
            | "and"
            | "a"
            | "of"
            | "in"
            | "the"
    ) || word.bytes().all(|b| b.is_ascii_digit())
        || is_ordinal(word)
        || (word.len() >= 5
            && NOISE_TYPO_TARGETS
                .iter()
                .any(|target| is_typo_of(word, target)))
}

fn is_ordinal(word: &str) -> bool {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&word[digits..], "st" | "nd" | "rd" | "th")
}

fn classify_segment(raw: &str) -> Segment {
    let tokens = tokenize(raw);
    let words: Vec<&str> = tokens
        .iter()
        .map(|token| match token {
            Token::Word(word) => word.as_str(),
            Token::Ampersand => "and",
        })
        .collect();
    let Some(first) = words.first() else {
        return Segment::Noise(String::new());
    };
    if FEAT_WORDS.contains(first) {
        // Re-split the raw text after the feat word so separators are honoured.
        let after = raw.trim_start();
        let after = after
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map(|(at, _)| &after[at..])
            .unwrap_or("");
        return Segment::Featured(split_artists(after));
    }
    // "Original Mix" is how shops label the plain recording: noise, not a remix.
    let original_mix = words.windows(2).any(|pair| pair == ["original", "mix"]);
    let mut tags = VersionTags::NONE;
    if !original_mix {
        for word in &words {
            tags = tags.union(version_tag_of_word(word));
        }
    }
    if !tags.is_original() {
        return Segment::Version(tags, join_words(words.iter().copied()));
    }
    if original_mix || *first == "from" || words.iter().all(|word| is_noise_word(word)) {
        // "Video Version" is a different edit; "Official Video" is only where it was posted.
        let names_an_edit = words.iter().any(|word| EDIT_WORDS.contains(word))
            || words
                .windows(2)
                .any(|pair| pair == ["video", "version"] || pair == ["video", "edit"]);
        let edit = if names_an_edit {
            join_words(words.iter().copied())
        } else {
            String::new()
        };
        return Segment::Noise(edit);
    }
    Segment::Keep
}

/// Finds the closing bracket for the opening one at byte `open`, honouring nesting.
fn closing_bracket(text: &str, open: usize, open_char: char) -> Option<usize> {
    let close_char = match open_char {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        _ => return None,
    };
    let mut depth = 0usize;
    for (at, c) in text[open..].char_indices() {
        if c == open_char {
            depth += 1;
        } else if c == close_char {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(open + at);
            }
        }
    }
    None
}

/// Dash separators that introduce a suffix ("Song - Live", "Song – Radio Edit").
const DASH_SEPARATORS: [&str; 3] = [" - ", " \u{2013} ", " \u{2014} "];

/// Splits a title into base words, version tags and featured artists; drops edition noise.
///
/// ```
/// use cachearr_library::normalize::{parse_title, VersionTags};
/// let plain = parse_title("Hey Jude - Remastered 2015");
/// assert_eq!(plain.base, "hey jude");
/// assert!(plain.version.is_original());
/// let live = parse_title("Hey Jude (Live at the Cavern)");
/// assert_eq!(live.base, "hey jude");
/// assert_eq!(live.version, VersionTags::LIVE);
/// let feat = parse_title("Empire State of Mind (feat. Alicia Keys)");
/// assert_eq!(feat.featured, vec!["alicia keys".to_string()]);
/// ```
pub fn parse_title(raw: &str) -> ParsedTitle {
    let spelled = spell_accidentals(raw);
    let raw = spelled.as_ref();
    let mut parsed = ParsedTitle::default();
    let mut version_texts: Vec<String> = Vec::new();
    let mut edit_texts: Vec<String> = Vec::new();
    let mut apply = |segment: Segment, kept: &mut String, text: &str| match segment {
        Segment::Featured(names) => {
            for name in names {
                if !parsed.featured.contains(&name) {
                    parsed.featured.push(name);
                }
            }
        }
        Segment::Version(tags, words) => {
            parsed.version = parsed.version.union(tags);
            version_texts.push(words);
        }
        Segment::Noise(edit) => {
            if !edit.is_empty() {
                edit_texts.push(edit);
            }
        }
        Segment::Keep => {
            // A colon inside brackets is not where a classical title's movement starts
            // ("Sunflower (Spider-Man: Into the Spider-Verse)").
            kept.push(' ');
            kept.extend(text.chars().map(|c| if c == ':' { ' ' } else { c }));
            kept.push(' ');
        }
    };

    // 1. Bracketed segments, anywhere in the title. `without_kept` is the title without the
    // bracketed words that stay in the base, for the short form.
    let mut outside = String::with_capacity(raw.len());
    let mut without_kept = String::with_capacity(raw.len());
    let mut kept_brackets = false;
    let mut kept_texts: Vec<&str> = Vec::new();
    let mut rest = raw;
    while let Some((open, open_char)) = rest.char_indices().find(|(_, c)| "([{".contains(*c)) {
        outside.push_str(&rest[..open]);
        without_kept.push_str(&rest[..open]);
        match closing_bracket(rest, open, open_char) {
            Some(close) => {
                let inner = &rest[open + open_char.len_utf8()..close];
                let segment = classify_segment(inner);
                if matches!(segment, Segment::Keep) {
                    kept_brackets = true;
                    kept_texts.push(inner);
                    without_kept.push(' ');
                } else {
                    without_kept.push_str(&rest[open..=close]);
                }
                apply(segment, &mut outside, inner);
                rest = &rest[close + 1..];
            }
            None => {
                // Unclosed: the bracket is just punctuation.
                outside.push(' ');
                without_kept.push(' ');
                rest = &rest[open + open_char.len_utf8()..];
            }
        }
    }
    outside.push_str(rest);
    without_kept.push_str(rest);

    // 2. Dash suffixes, right to left, while they are version, noise or featuring.
    let mut head = outside.as_str();
    loop {
        let split = DASH_SEPARATORS
            .iter()
            .filter_map(|separator| head.rfind(separator).map(|at| (at, separator.len())))
            .max_by_key(|(at, _)| *at);
        let Some((at, separator_len)) = split else {
            break;
        };
        if head[..at].trim().is_empty() {
            break;
        }
        let tail = &head[at + separator_len..];
        match classify_segment(tail) {
            Segment::Keep => break,
            segment => {
                let mut ignored = String::new();
                apply(segment, &mut ignored, tail);
                head = &head[..at];
            }
        }
    }
    let remaining = head;

    // 3. Inline "feat." / "ft." / "featuring" (not "with": "Dancing with Myself").
    let tokens = tokenize(remaining);
    let mut words: Vec<&str> = Vec::with_capacity(tokens.len());
    let mut featured_from: Option<usize> = None;
    for (position, token) in tokens.iter().enumerate() {
        match token {
            Token::Word(word)
                if position > 0 && matches!(word.as_str(), "feat" | "ft" | "featuring") =>
            {
                featured_from = Some(position + 1);
                break;
            }
            Token::Word(word) => words.push(word),
            Token::Ampersand => words.push("and"),
        }
    }
    if let Some(from) = featured_from {
        let names: Vec<&str> = tokens[from..]
            .iter()
            .map(|token| match token {
                Token::Word(word) => word.as_str(),
                Token::Ampersand => "&",
            })
            .collect();
        for name in split_artists(&names.join(" ")) {
            if !parsed.featured.contains(&name) {
                parsed.featured.push(name);
            }
        }
    }
    parsed.base = join_words(canonical_numbers(&words).iter().map(String::as_str));
    if parsed.base.is_empty() {
        // A title that is nothing but a bracket ("(Untitled)") keeps its words.
        parsed.base = normalize_text(raw);
    }
    parsed.version_text = version_texts.join(" ");
    parsed.edit_text = edit_texts.join(" ");
    if kept_brackets {
        // `without_kept` has no kept brackets left, so this parses it once more at most.
        let short = parse_title(&without_kept).base;
        if let [inner] = kept_texts.as_slice()
            && !short.is_empty()
            && (script_of(inner) != script_of(&short)
                || normalize_text(inner).split(' ').count() >= 2)
        {
            let other = normalize_text(inner);
            if !other.is_empty() && other != short {
                parsed.bracketed = Some(other);
            }
        }
        if !short.is_empty() && short != parsed.base {
            parsed.short = Some(short);
        }
    }
    parsed.work = work_parts(remaining, &parsed.base).map(Box::new);
    parsed.quoted = quoted_words(raw)
        .map(normalize_text)
        .filter(|quoted| !quoted.is_empty() && *quoted != parsed.base);
    parsed.spoken = spoken_form(&parsed.base);
    parsed
}

/// Text-speak words and what they spell out.
const TEXT_SPEAK: [(&str, &str); 16] = [
    ("u", "you"),
    ("ur", "your"),
    ("r", "are"),
    ("boi", "boy"),
    ("luv", "love"),
    ("thru", "through"),
    ("nite", "night"),
    ("tonite", "tonight"),
    ("2nite", "tonight"),
    ("cuz", "because"),
    ("b4", "before"),
    ("4ever", "forever"),
    ("gr8", "great"),
    ("sk8", "skate"),
    ("sk8er", "skater"),
    ("l8r", "later"),
];

/// A normalised title with its text-speak spelled out ("good 4 u" → "good for you"), or
/// `None` when it has none. A lone "2" or "4" reads as "to" or "for" only between two words
/// that are not numbers, and not after a part or number word: "Song 2", "Take 5", "Part 2"
/// and "9 to 5" keep their numbers.
pub fn spoken_form(normalized: &str) -> Option<String> {
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    let is_word = |w: &str| !w.is_empty() && !w.bytes().all(|b| b.is_ascii_digit());
    let mut changed = false;
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for (at, word) in words.iter().enumerate() {
        let spelled = match TEXT_SPEAK.iter().find(|(short, _)| short == word) {
            Some((_, long)) => Some(*long),
            None if matches!(*word, "2" | "4") => {
                let before = at.checked_sub(1).and_then(|b| words.get(b)).copied();
                let after = words.get(at + 1).copied();
                let between_words = before.is_some_and(|w| is_word(w) && roman_value(w).is_none())
                    && after.is_some_and(is_word)
                    && before.is_some_and(|w| !NUMBER_CONTEXT_WORDS.contains(&w));
                between_words.then_some(if *word == "2" { "to" } else { "for" })
            }
            None => None,
        };
        match spelled {
            Some(long) => {
                changed = true;
                out.push(long);
            }
            None => out.push(word),
        }
    }
    changed.then(|| out.join(" "))
}

/// The text between the first pair of double quotes ("…", “…”, „…“, «…»), if any.
fn quoted_words(raw: &str) -> Option<&str> {
    let (open_at, open) = raw
        .char_indices()
        .find(|(_, c)| matches!(c, '"' | '\u{201C}' | '\u{201E}' | '\u{00AB}'))?;
    let closes: &[char] = match open {
        '\u{00AB}' => &['\u{00BB}'],
        '"' => &['"'],
        _ => &['\u{201D}', '\u{201C}'],
    };
    let inner = &raw[open_at + open.len_utf8()..];
    let close_at = inner.find(closes)?;
    Some(&inner[..close_at]).filter(|text| !text.trim().is_empty())
}

/// Writes a key's accidentals as words: "E♭" and "Eb major" as "E flat", "C♯" and "C#" as
/// "C sharp" — how stores that avoid the symbols write them ("E-Flat", "C sharp"). A "#"
/// elsewhere ("#1") and a "b" that is not a note's ("Bb" only before "major"/"minor") stay.
fn spell_accidentals(raw: &str) -> std::borrow::Cow<'_, str> {
    let names_mode = || {
        raw.as_bytes().windows(5).any(|w| {
            w.eq_ignore_ascii_case(b"major")
                || w.eq_ignore_ascii_case(b"minor")
                || w[..4].eq_ignore_ascii_case(b"moll")
                || w[..3].eq_ignore_ascii_case(b"dur")
        })
    };
    let has_accidental = raw.contains(['♭', '♯', '#']) || (raw.contains('b') && names_mode());
    if !has_accidental {
        return raw.into();
    }
    let chars: Vec<char> = raw.chars().collect();
    let is_note = |at: usize| {
        chars
            .get(at)
            .is_some_and(|c| matches!(c, 'A'..='G' | 'a'..='g'))
            && (at == 0 || !chars[at - 1].is_alphanumeric())
    };
    let mode_follows = |at: usize| {
        let rest: String = chars[at..].iter().collect();
        let rest = rest.trim_start_matches([' ', '-']).to_lowercase();
        ["major", "minor", "dur", "moll"]
            .iter()
            .any(|mode| rest.starts_with(mode))
    };
    let mut out = String::with_capacity(raw.len() + 8);
    let mut changed = false;
    for (at, c) in chars.iter().enumerate() {
        let after_note = at > 0 && is_note(at - 1);
        let ends_word = chars.get(at + 1).is_none_or(|next| !next.is_alphanumeric());
        let word = match c {
            '♭' if after_note => Some(" flat"),
            '♯' if after_note => Some(" sharp"),
            '#' if after_note && ends_word => Some(" sharp"),
            '#' if chars.get(at + 1).is_some_and(char::is_ascii_digit) => Some(" No. "),
            'b' if after_note && ends_word && mode_follows(at + 1) => Some(" flat"),
            _ => None,
        };
        match word {
            Some(word) => {
                out.push_str(word);
                changed = true;
            }
            None => out.push(*c),
        }
    }
    if changed { out.into() } else { raw.into() }
}

/// Normalises part of a title the way [`parse_title`] normalises its base: [`normalize_text`]
/// with numbers written one way ([`canonical_numbers`]).
fn normalize_title_words(raw: &str) -> String {
    let normalized = normalize_text(raw);
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    join_words(canonical_numbers(&words).iter().map(String::as_str))
}

/// Number words that [`canonical_numbers`] writes as digits.
const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Words that name a part or number, each written one way ("pt" and "part", "nr", "number"
/// and "no", "volume" and "vol").
fn canonical_number_word(word: &str) -> &str {
    match word {
        "pt" => "part",
        "pts" => "parts",
        "nr" | "number" | "num" => "no",
        "volume" => "vol",
        other => other,
    }
}

/// Title words with numbers written one way, so that the ways people write one number meet
/// at one key: number words as digits ("Nine to Five" and "9 to 5", "Twenty Two" and "22",
/// but "no one" stays a pronoun), a part or number word and its digits apart ("No.5" and "No.
/// 5"), and the part/number words in one spelling ("Pt." and "Part", "Number" and "No.").
fn canonical_numbers(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut at = 0;
    while at < words.len() {
        let word = words[at];
        let unit = |w: &str| UNITS.iter().position(|u| *u == w);
        let after_no = out.last().is_some_and(|w| w == "no");
        if let Some(tens) = TENS.iter().position(|t| *t == word) {
            let value = (tens as u32 + 2) * 10;
            match words
                .get(at + 1)
                .and_then(|w| unit(w))
                .filter(|u| (1..10).contains(u))
            {
                Some(u) => {
                    out.push((value + u as u32).to_string());
                    at += 2;
                }
                None => {
                    out.push(value.to_string());
                    at += 1;
                }
            }
            continue;
        }
        if let Some(value) = unit(word).filter(|_| !after_no) {
            out.push(value.to_string());
            at += 1;
            continue;
        }
        // "no5", "pt2", "vol1", "op27": the word and the number apart.
        let letters = word.bytes().take_while(u8::is_ascii_lowercase).count();
        let (prefix, digits) = word.split_at(letters);
        let glued = matches!(
            prefix,
            "no" | "nr" | "pt" | "pts" | "part" | "vol" | "op" | "opus" | "bwv" | "kv" | "hwv"
        ) && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit());
        if glued {
            out.push(canonical_number_word(prefix).to_string());
            out.push(digits.to_string());
        } else {
            out.push(canonical_number_word(word).to_string());
        }
        at += 1;
    }
    out
}

/// The writing system of a text's letters, coarsely: Latin (with its accents) or another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// No letters at all (digits, punctuation).
    None,
    /// Latin letters only.
    Latin,
    /// Some letters of another script (Cyrillic, Greek, Han, kana, Hangul, Arabic …).
    Other,
}

/// The script of a text: [`Script::Other`] as soon as one letter is not Latin.
pub fn script_of(text: &str) -> Script {
    let mut script = Script::None;
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        // Latin letters, with their accented and extended forms.
        let latin = c.is_ascii()
            || ('\u{00C0}'..='\u{024F}').contains(&c)
            || ('\u{1E00}'..='\u{1EFF}').contains(&c);
        if !latin {
            return Script::Other;
        }
        script = Script::Latin;
    }
    script
}

/// What a classical title says about which work and which part of it it is ("Piano Sonata
/// No. 14 in C-Sharp Minor, Op. 27 No. 2: I. Adagio sostenuto"). Stores and players write
/// these titles in many orders and lengths ("Moonlight Sonata: I. Adagio sostenuto", "Piano
/// Sonata No.14 - 1. Adagio sostenuto"); these parts are what they keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkParts {
    /// The key ("c sharp minor", "d"), when the title names one.
    pub key: Option<String>,
    /// Catalogue and work numbers by label ("op" 27, "no" 14, "bwv" 1008, "k" 525; "Op.
    /// posth." is [`POSTHUMOUS`]).
    pub catalogue: Vec<(&'static str, u32)>,
    /// The movement's number ("III." or "3."), when written.
    pub movement_number: Option<u32>,
    /// The normalised title without the movement's number, when it has one: the text whose
    /// numbers are compared ("I." is not among a work's numbers when the other side leaves
    /// it out).
    pub without_numeral: Option<String>,
    /// The movement's name, normalised, without its number ("adagio sostenuto").
    pub movement: Option<String>,
    /// The movement's name before its first comma, when it has a subtitle ("jupiter").
    pub movement_head: Option<String>,
    /// The words that name the work (not its key, numbers or movement): "piano sonata".
    pub work_words: Vec<String>,
    /// The whole title without key and catalogue numbers, when it names a key with its mode
    /// or a catalogue number ("fur elise" for "Für Elise, WoO 59", "nocturne" for "Nocturne in
    /// E-Flat Major, Op. 9 No. 2").
    pub bare: Option<String>,
    /// The whole title without its key, when it names one ("hungarian dance no 5" for
    /// "Hungarian Dance No. 5 in G Minor").
    pub without_key: Option<String>,
    /// The work's identity by catalogue: each catalogue number other than a plain "No." with
    /// the "No." numbers that follow it ("op 27 no 2", "bwv 1068", "d 839"). Stores write the
    /// rest of a classical title in many ways; these they keep.
    pub catalogue_keys: Vec<String>,
    /// The work before an unnumbered subtitle, when it names a number or key of its own
    /// ("gymnopedie no 1" for "Gymnopédie No. 1: Lent et douloureux"). Looked up for a
    /// query only: a library title's head would let a whole work stand for one movement.
    pub head: Option<String>,
}

/// The catalogue "number" of a posthumous opus ("Op. posth.").
pub const POSTHUMOUS: u32 = u32::MAX;

/// Catalogue labels, normalised, and the label they stand for.
fn catalogue_label(word: &str) -> Option<&'static str> {
    Some(match word {
        "op" | "opus" => "op",
        "bwv" => "bwv",
        "k" | "kv" => "k",
        "rv" => "rv",
        "l" => "l",
        "woo" => "woo",
        "hwv" => "hwv",
        "d" => "d",
        "sz" => "sz",
        "s" => "s",
        "twv" => "twv",
        "wab" => "wab",
        "trv" => "trv",
        "no" | "nr" | "n" | "number" | "num" => "no",
        _ => return None,
    })
}

/// A catalogue number: digits with at most one letter after them ("71a"), or "posth".
fn catalogue_number(word: &str) -> Option<u32> {
    if word == "posth" {
        return Some(POSTHUMOUS);
    }
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 6 || word.len() - digits > 1 {
        return None;
    }
    if !word[digits..].bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    word[..digits].parse().ok()
}

/// A label and number written together ("k525", "no14", "bwv1008").
fn glued_catalogue(word: &str) -> Option<(&'static str, u32)> {
    let letters = word.bytes().take_while(u8::is_ascii_lowercase).count();
    if letters == 0 || letters == word.len() {
        return None;
    }
    let label = catalogue_label(&word[..letters])?;
    Some((label, catalogue_number(&word[letters..])?))
}

/// Words that never name a work on their own.
fn is_work_stopword(word: &str) -> bool {
    matches!(
        word,
        "the" | "and" | "for" | "from" | "with" | "major" | "minor" | "sharp" | "flat" | "nos"
    ) || word.chars().count() < 3
        || word.bytes().all(|b| b.is_ascii_digit())
        || roman_value(word).is_some()
        || catalogue_label(word).is_some()
        || glued_catalogue(word).is_some()
}

/// Words of a normalised text with the key and catalogue numbers taken out: (key, catalogue,
/// other words).
fn scan_work(normalized: &str) -> (Option<String>, Vec<(&'static str, u32)>, Vec<&str>) {
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    let mut key: Option<String> = None;
    let mut catalogue = Vec::new();
    let mut kept = Vec::new();
    let mut at = 0;
    while at < words.len() {
        let word = words[at];
        let note = words
            .get(at + 1)
            .filter(|w| w.len() == 1 && w.as_bytes()[0].is_ascii_lowercase())
            .filter(|w| (b'a'..=b'g').contains(&w.as_bytes()[0]));
        if word == "in"
            && key.is_none()
            && let Some(note) = note
        {
            let mut parts = vec![*note];
            let mut next = at + 2;
            if let Some(accidental) = words.get(next).filter(|w| matches!(**w, "sharp" | "flat")) {
                parts.push(accidental);
                next += 1;
            }
            if let Some(mode) = words.get(next).filter(|w| matches!(**w, "major" | "minor")) {
                parts.push(mode);
                next += 1;
            }
            // "in a" is mostly an article ("Stuck in a Moment"): a bare note is a key only at
            // the end or before a catalogue number ("Canon in D", "Prelude in C, BWV 846").
            let bare_note_is_key = *note != "a"
                && words
                    .get(next)
                    .is_none_or(|w| catalogue_label(w).is_some() || glued_catalogue(w).is_some());
            if parts.len() > 1 || bare_note_is_key {
                key = Some(parts.join(" "));
                at = next;
                continue;
            }
        }
        let entry =
            match catalogue_label(word).zip(words.get(at + 1).and_then(|w| catalogue_number(w))) {
                Some(entry) => Some((entry, 2)),
                None => glued_catalogue(word).map(|entry| (entry, 1)),
            };
        if let Some((entry, used)) = entry {
            catalogue.push(entry);
            at += used;
            // "Op. 27/2" is "Op. 27 No. 2": a bare number right after an opus number.
            if entry.0 == "op"
                && let Some(number) = words
                    .get(at)
                    .filter(|w| w.len() <= 3 && w.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|w| w.parse().ok())
            {
                catalogue.push(("no", number));
                at += 1;
            }
            continue;
        }
        kept.push(word);
        at += 1;
    }
    (key, catalogue, kept)
}

/// The catalogue identities of a title ([`WorkParts::catalogue_keys`]); "Op. posth." is not
/// one (many works share it).
fn catalogue_keys(catalogue: &[(&'static str, u32)]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (at, (label, number)) in catalogue.iter().enumerate() {
        if *label == "no" || *number == POSTHUMOUS {
            continue;
        }
        let mut key = format!("{label} {number}");
        for (next, n) in catalogue[at + 1..].iter().take_while(|(l, _)| *l == "no") {
            key.push_str(&format!(" {next} {n}"));
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// A movement's number written before its name ("III. Presto", "1. Allegro"), and the rest.
fn movement_numeral(text: &str) -> (Option<u32>, &str) {
    let text = text.trim_start();
    let Some((numeral, rest)) = text.split_once(". ") else {
        return (None, text);
    };
    let value = if numeral.len() <= 2 && numeral.bytes().all(|b| b.is_ascii_digit()) {
        numeral.parse().ok()
    } else if numeral.bytes().all(|b| b"IVXivx".contains(&b)) {
        roman_value(&numeral.to_ascii_lowercase())
    } else {
        None
    };
    match value {
        Some(value) => (Some(value), rest),
        None => (None, text),
    }
}

/// A title split at its movement: the work before the last colon ("The Planets, Op. 32:
/// IV. Jupiter"), or before a dash that a movement number follows ("Serenade No. 13 - 1.
/// Allegro"). Returns the work, the movement's number and its name.
fn split_movement(raw: &str) -> Option<(&str, Option<u32>, &str)> {
    let colon = raw.rfind(':');
    let dash = DASH_SEPARATORS
        .iter()
        .filter_map(|separator| raw.rfind(separator).map(|at| (at, separator.len())))
        .max_by_key(|(at, _)| *at);
    if let Some((at, separator_len)) = dash {
        let after_colon = colon.is_none_or(|colon| at > colon);
        match movement_numeral(&raw[at + separator_len..]) {
            // "The Four Seasons: Spring - I. Allegro": the numbered movement after the dash.
            (Some(number), name) if after_colon => return Some((&raw[..at], Some(number), name)),
            // "Gymnopédie No. 3 - Lent et grave": a numbered piece and its subtitle.
            (None, name) if colon.is_none() && names_piece_number(&raw[..at]) => {
                return Some((&raw[..at], None, name));
            }
            _ => {}
        }
    }
    let at = colon?;
    let (number, name) = movement_numeral(&raw[at + 1..]);
    Some((&raw[..at], number, name))
}

/// True when a title part ends with a catalogue or piece number ("Gymnopédie No. 3", "Op.
/// 28"): what a subtitle after a dash belongs to.
fn names_piece_number(raw: &str) -> bool {
    let normalized = normalize_title_words(raw);
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    match words.as_slice() {
        [.., label, number] => {
            catalogue_label(label).is_some() && catalogue_number(number).is_some()
        }
        [.., glued] => glued_catalogue(glued).is_some(),
        [] => false,
    }
}

/// Number words that count the pieces of a set ("Trois Gymnopédies", "Deux Arabesques",
/// "Drei Romanzen"); English ones are digits already.
const SET_COUNT_WORDS: [&str; 16] = [
    "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "douze", "zwei", "drei", "vier",
    "funf", "sechs", "sieben", "acht", "zwolf",
];

/// A piece of a numbered set named as the piece ("gymnopedie no 1" for "3 Gymnopédies: No.
/// 1, Lent et douloureux", "nocturne no 2" for "Nocturnes: No. 2"): the set's name without
/// its count and plural, and the piece's number. `set` and `piece` are normalised.
fn set_piece(set: &str, piece: &str) -> Option<String> {
    let mut piece_words = piece.split(' ');
    let (label, number) = (piece_words.next()?, piece_words.next()?);
    if label != "no" || catalogue_number(number).is_none() {
        return None;
    }
    let mut words: Vec<&str> = set.split(' ').filter(|w| !w.is_empty()).collect();
    if words
        .first()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()) || SET_COUNT_WORDS.contains(w))
    {
        words.remove(0);
    }
    // Only the set's name: "Nocturnes, Op. 9" names its pieces by catalogue already.
    if words.is_empty() || words.iter().any(|w| is_work_stopword(w) && w.len() < 3) {
        return None;
    }
    let last = words.pop()?;
    let singular = if ["zes", "xes", "ses", "ches", "shes"]
        .iter()
        .any(|ending| last.ends_with(ending))
    {
        &last[..last.len() - 2]
    } else if last.len() > 3 && last.ends_with('s') && !last.ends_with("ss") {
        &last[..last.len() - 1]
    } else {
        return None;
    };
    words.push(singular);
    Some(format!("{} no {number}", words.join(" ")))
}

/// The classical parts of a title (`raw` without its version, noise and featuring parts;
/// `base` its normalised form), or `None` when it names no key, catalogue number or movement.
fn work_parts(raw: &str, base: &str) -> Option<WorkParts> {
    let mut parts = WorkParts::default();
    let (key, catalogue, kept) = scan_work(base);
    let mut work_text = base.to_string();
    if let Some((work, number, name)) = split_movement(raw) {
        let movement = normalize_title_words(name);
        let work = normalize_title_words(work);
        // "Nocturnes, Op. 9: No. 2" and "3 Gymnopédies: No. 1, …" name a piece of a set, not
        // a movement: the whole title stays the work (its catalogue numbers say which).
        let piece_of_set = movement.split_once(' ').is_some_and(|(label, rest)| {
            label == "no" && catalogue_number(rest.split(' ').next().unwrap_or("")).is_some()
        });
        if piece_of_set && number.is_none() {
            parts.head = set_piece(&work, &movement);
        } else if !movement.is_empty() && !work.is_empty() {
            parts.movement_head = name
                .split_once(',')
                .map(|(head, _)| normalize_text(head))
                .filter(|head| !head.is_empty() && *head != movement);
            if number.is_some() {
                parts.without_numeral = Some(format!("{work} {movement}"));
            }
            // "Gymnopédie No. 1: Lent et douloureux": a numbered piece and its subtitle, where
            // other stores write the piece alone.
            let (work_key, work_catalogue, _) = scan_work(&work);
            if number.is_none() && (work_key.is_some() || !work_catalogue.is_empty()) {
                parts.head = Some(work.clone());
            }
            parts.movement = Some(movement);
            parts.movement_number = number;
            work_text = work;
        }
    }
    let named = key
        .as_deref()
        .is_some_and(|k| k.ends_with("major") || k.ends_with("minor"))
        || catalogue.iter().any(|(label, _)| *label != "no");
    if named {
        let bare = join_words(kept.iter().copied());
        if !bare.is_empty() && bare != base {
            parts.bare = Some(bare);
        }
    }
    if let Some(key) = &key {
        let without = base.replacen(&format!("in {key}"), " ", 1);
        let without = join_words(without.split(' ').filter(|w| !w.is_empty()));
        if !without.is_empty() && without != base {
            parts.without_key = Some(without);
        }
    }
    parts.catalogue_keys = catalogue_keys(&catalogue);
    parts.key = key;
    parts.catalogue = catalogue;
    if parts.key.is_none() && parts.catalogue.is_empty() && parts.movement.is_none() {
        return None;
    }
    let (_, _, work_kept) = scan_work(&work_text);
    parts.work_words = work_kept
        .into_iter()
        .filter(|word| !is_work_stopword(word))
        .map(str::to_string)
        .collect();
    Some(parts)
}

/// The numbers text of a classical title without its catalogue numbers ("concerto spring
/// allegro" for "Concerto No. 1 in E Major, Op. 8, RV 269 \"Spring\": I. Allegro"): what is
/// left to compare once [`compare_works`] has compared the catalogue label by label.
pub fn without_catalogue(title: &ParsedTitle) -> Option<String> {
    let work = title.work.as_deref()?;
    let text = work.without_numeral.as_deref().unwrap_or(&title.base);
    let (_, _, kept) = scan_work(text);
    Some(join_words(kept))
}

/// True when two classical titles share a catalogue identity ("rv 269" in both): the same
/// work, whatever other catalogue numbers one of them adds ("Op. 8").
pub fn share_catalogue_identity(a: &ParsedTitle, b: &ParsedTitle) -> bool {
    let keys = |title: &ParsedTitle| {
        title
            .work
            .as_deref()
            .map_or(&[][..], |work| work.catalogue.as_slice())
            .iter()
            .filter(|(label, number)| *label != "no" && *number != POSTHUMOUS)
            .copied()
            .collect::<Vec<_>>()
    };
    let theirs = keys(b);
    keys(a).iter().any(|entry| theirs.contains(entry))
}

/// How two titles' classical parts compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkVerdict {
    /// They name different keys, catalogue numbers or movements: different pieces.
    Conflict,
    /// Something beyond the title words says they are one piece: the same key, a shared
    /// catalogue number, or the same movement of works that share a word.
    Confirmed,
    /// Nothing for or against.
    Neutral,
}

fn keys_agree(a: &str, b: &str) -> bool {
    let pitch = |key: &str| {
        key.split(' ')
            .filter(|w| !matches!(*w, "major" | "minor"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mode = |key: &str| {
        key.split(' ')
            .find(|w| matches!(*w, "major" | "minor"))
            .map(str::to_string)
    };
    pitch(a) == pitch(b)
        && match (mode(a), mode(b)) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

fn movements_alike(a: &WorkParts, b: &WorkParts) -> Option<bool> {
    let forms = |parts: &WorkParts| -> Vec<String> {
        parts
            .movement
            .iter()
            .chain(&parts.movement_head)
            .cloned()
            .collect()
    };
    let (ours, theirs) = (forms(a), forms(b));
    if ours.is_empty() || theirs.is_empty() {
        return None;
    }
    // The same name, or one the other's name cut short ("alla turca" for "rondo alla turca").
    let within = |short: &str, long: &str| {
        short.contains(' ') && format!(" {long} ").contains(&format!(" {short} "))
    };
    Some(ours.iter().any(|x| {
        theirs
            .iter()
            .any(|y| similarity_at_least(x, y, 0.8).is_some() || within(x, y) || within(y, x))
    }))
}

/// Compares the classical parts of two parsed titles. Either side may leave things out —
/// the key, the catalogue, the work's name, the movement — but what both name must agree.
pub fn compare_works(a: &ParsedTitle, b: &ParsedTitle) -> WorkVerdict {
    let empty = WorkParts::default();
    let (x, y) = (
        a.work.as_deref().unwrap_or(&empty),
        b.work.as_deref().unwrap_or(&empty),
    );
    if let (Some(k1), Some(k2)) = (&x.key, &y.key)
        && !keys_agree(k1, k2)
    {
        return WorkVerdict::Conflict;
    }
    if let (Some(n1), Some(n2)) = (x.movement_number, y.movement_number)
        && n1 != n2
    {
        return WorkVerdict::Conflict;
    }
    let alike = movements_alike(x, y);
    if alike == Some(false) {
        return WorkVerdict::Conflict;
    }
    let mut shared_number = false;
    for label in x.catalogue.iter().map(|(label, _)| *label) {
        let numbers = |parts: &WorkParts| -> Vec<u32> {
            parts
                .catalogue
                .iter()
                .filter(|(l, _)| *l == label)
                .map(|(_, n)| *n)
                .collect()
        };
        let (ours, theirs) = (numbers(x), numbers(y));
        if theirs.is_empty() {
            continue;
        }
        let within = |part: &[u32], whole: &[u32]| part.iter().all(|n| whole.contains(n));
        if !within(&ours, &theirs) && !within(&theirs, &ours) {
            return WorkVerdict::Conflict;
        }
        if label != "no" && ours.iter().any(|n| theirs.contains(n)) {
            shared_number = true;
        }
    }
    let keys_equal = x.key.is_some() && y.key.is_some();
    // The work's words: a title without a movement is all work (less the other side's
    // movement: "Aria (Goldberg Variations)" against "Goldberg Variations: Aria").
    let work_words = |parts: &WorkParts, base: &str, other: &WorkParts| -> Vec<String> {
        if parts.movement.is_some() {
            return parts.work_words.clone();
        }
        let movement: Vec<&str> = other
            .movement
            .iter()
            .chain(&other.movement_head)
            .flat_map(|m| m.split(' '))
            .collect();
        base.split(' ')
            .filter(|w| !is_work_stopword(w) && !movement.contains(w))
            .map(str::to_string)
            .collect()
    };
    let (w1, w2) = (work_words(x, &a.base, y), work_words(y, &b.base, x));
    let shared_word = w1.iter().any(|w| w2.contains(w));
    // One side's movement is the other's whole title, or its short form.
    let names_movement = |parts: &WorkParts, other: &ParsedTitle| {
        [&parts.movement, &parts.movement_head]
            .into_iter()
            .flatten()
            .any(|m| *m == other.base || other.short.as_ref() == Some(m))
    };
    let same_movement = alike == Some(true) || names_movement(x, b) || names_movement(y, a);
    if shared_number || keys_equal || (same_movement && shared_word) {
        WorkVerdict::Confirmed
    } else {
        WorkVerdict::Neutral
    }
}

/// Strips what a video site adds to an uploader's name: YouTube's auto-generated
/// "Artist - Topic" channels, "ArtistVEVO" and "Artist Official". Returns the name and whether
/// it was a channel name.
fn uploader_name(raw: &str) -> (std::borrow::Cow<'_, str>, bool) {
    let (name, channel) = uploader_channel(raw);
    // Channel names are written together: "Gotyefeat.KimbraVEVO".
    if channel && !name.contains(' ') && name.contains("feat.") {
        return (name.replace("feat.", " feat. ").into(), true);
    }
    (name.into(), channel)
}

fn uploader_channel(raw: &str) -> (&str, bool) {
    let name = raw.trim();
    for suffix in [
        " - Topic",
        " – Topic",
        "VEVO",
        "Vevo",
        " Official",
        " official",
    ] {
        if let Some(stripped) = name.strip_suffix(suffix)
            && !stripped.trim().is_empty()
        {
            return (stripped.trim(), true);
        }
    }
    (name, false)
}

/// The letters of a name without spaces or a leading "the": how a channel name written
/// together ("TheRollingStones") compares with the credit ("The Rolling Stones").
fn compact_name(raw: &str) -> String {
    let compact: String = normalize_text(raw).chars().filter(|c| *c != ' ').collect();
    match compact.strip_prefix("the") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => compact,
    }
}

/// Reads an entry the way video sites and their exports write it: the uploader as artist
/// ("Queen - Topic", "QueenVEVO", "Queen Official") and often the artist again in the title
/// ("Queen - Bohemian Rhapsody (Official Video)"). Returns the artist and title the entry
/// names; anything else comes back unchanged (the title's video noise — "(Official Video)",
/// "[Lyrics]" — is dropped later with the other edition noise).
///
/// ```
/// use cachearr_library::normalize::read_upload;
/// assert_eq!(
///     read_upload("TheRollingStonesVEVO", "The Rolling Stones - Paint It, Black (Official Video)"),
///     ("The Rolling Stones".to_string(), "Paint It, Black (Official Video)".to_string())
/// );
/// assert_eq!(read_upload("Queen - Topic", "Bohemian Rhapsody"), ("Queen".to_string(), "Bohemian Rhapsody".to_string()));
/// assert_eq!(read_upload("Queen", "Love of My Life - Live"), ("Queen".to_string(), "Love of My Life - Live".to_string()));
/// ```
pub fn read_upload(artist: &str, title: &str) -> (String, String) {
    let (name, _) = uploader_name(artist);
    let split = DASH_SEPARATORS
        .iter()
        .filter_map(|separator| title.find(separator).map(|at| (at, separator.len())))
        .min_by_key(|(at, _)| *at);
    if let Some((at, separator_len)) = split {
        let left = title[..at].trim();
        let right = title[at + separator_len..].trim();
        let names_the_artist = !left.is_empty()
            && !right.is_empty()
            && (name.is_empty()
                || compact_name(left) == compact_name(&name)
                || name_similarity(&normalize_text(left), &normalize_text(&name)) >= 0.8);
        if names_the_artist {
            return (left.to_string(), right.to_string());
        }
    }
    (name.to_string(), title.trim().to_string())
}

/// The words of a version description that say *which* version it is — a remixer, "club",
/// "extended" — without the kind ("remix", "live") or edition noise ("radio edit").
pub fn version_identity(version_text: &str) -> Vec<&str> {
    version_text
        .split(' ')
        .filter(|word| {
            !word.is_empty() && version_tag_of_word(word).is_original() && !is_noise_word(word)
        })
        .collect()
}

/// Words after which a numeral names a part, number or catalogue entry ("Part II", "No. 5",
/// "Op. 27", "K. 525").
const NUMBER_CONTEXT_WORDS: [&str; 15] = [
    "part", "pt", "pts", "no", "nos", "number", "vol", "volume", "chapter", "act", "book", "op",
    "opus", "movement", "k",
];

/// The value of a Roman numeral from I to XX ("ii", "iv", "xii"), canonical forms only.
fn roman_value(word: &str) -> Option<u32> {
    const NUMERALS: [&str; 20] = [
        "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv",
        "xv", "xvi", "xvii", "xviii", "xix", "xx",
    ];
    NUMERALS
        .iter()
        .position(|numeral| *numeral == word)
        .map(|at| at as u32 + 1)
}

/// The numbers a normalised title names: digits ("2", "1999"), digits after a short prefix
/// written together ("no14", "k525"), Roman numerals of two letters or more ("ii", "iv"),
/// and single-letter numerals or number words after a part/number word ("part i", "no
/// one").
///
/// At most [`MAX_TITLE_NUMBERS`] are kept, on the stack: this runs for every scored candidate.
fn title_numbers(normalized: &str) -> TitleNumbers {
    const WORDS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    let mut numbers = TitleNumbers::default();
    let mut previous = "";
    for word in normalized.split(' ').filter(|w| !w.is_empty()) {
        let letters = word.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (prefix, digits) = word.split_at(letters);
        let after_context = NUMBER_CONTEXT_WORDS.contains(&previous);
        let value = if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && prefix.len() <= 3
        {
            digits
                .get(digits.len().saturating_sub(9)..)
                .and_then(|d| d.parse().ok())
        } else if word.len() >= 2 || after_context {
            roman_value(word).or_else(|| {
                after_context
                    .then(|| WORDS.iter().position(|w| w == &word))
                    .flatten()
                    .map(|at| at as u32 + 1)
            })
        } else {
            None
        };
        if let Some(value) = value {
            numbers.push(value);
        }
        previous = word;
    }
    numbers
}

/// Most numbers of one title compared (no real title names more).
const MAX_TITLE_NUMBERS: usize = 16;

/// A title's numbers, without allocating.
#[derive(Default)]
struct TitleNumbers {
    values: [u32; MAX_TITLE_NUMBERS],
    len: usize,
}

impl TitleNumbers {
    fn push(&mut self, value: u32) {
        if let Some(slot) = self.values.get_mut(self.len) {
            *slot = value;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u32] {
        &self.values[..self.len]
    }

    /// True when every number here is also in `whole`, each used once.
    fn within(&self, whole: &TitleNumbers) -> bool {
        let mut used = [false; MAX_TITLE_NUMBERS];
        self.as_slice().iter().all(|n| {
            match whole
                .as_slice()
                .iter()
                .zip(used.iter_mut())
                .find(|(m, taken)| same_number(**m, *n) && !**taken)
            {
                Some((_, taken)) => {
                    *taken = true;
                    true
                }
                None => false,
            }
        })
    }
}

/// True when two title numbers are one: equal, or a year and its last two digits ("Blue
/// Monday '88" and "Blue Monday 1988", "Summer of '69" and "Summer of 1969").
fn same_number(a: u32, b: u32) -> bool {
    let year = |full: u32, short: u32| {
        (10..=99).contains(&short) && (full == 1900 + short || full == 2000 + short)
    };
    a == b || year(a, b) || year(b, a)
}

/// True unless two normalised titles name different numbers: one's numbers must all be
/// among the other's ("symphony no 9 iv presto" agrees with "symphony no 9 op 125 iv
/// presto"; "part 1" never agrees with "part 2", nor "ii" with "3").
///
/// ```
/// use cachearr_library::normalize::numbers_agree;
/// assert!(numbers_agree("another brick in the wall part ii", "another brick in the wall pt 2"));
/// assert!(!numbers_agree("nocturne op 55 no 2", "nocturne op 9 no 2"));
/// assert!(numbers_agree("hey jude", "hey jude"));
/// assert!(numbers_agree("blue monday 88", "blue monday 1988"));
/// assert!(!numbers_agree("blue monday 88", "blue monday 1989"));
/// ```
pub fn numbers_agree(a: &str, b: &str) -> bool {
    let (ours, theirs) = (title_numbers(a), title_numbers(b));
    ours.within(&theirs) || theirs.within(&ours)
}

/// True when the shorter of two normalised titles is a run of whole words of the longer one
/// ("killing me softly" in "killing me softly with his song", "перемен" in "хочу перемен"),
/// and has four letters or more.
///
/// ```
/// use cachearr_library::normalize::words_within;
/// assert!(words_within("killing me softly", "killing me softly with his song"));
/// assert!(!words_within("love", "lovers"));
/// assert!(!words_within("me", "love me do"));
/// ```
pub fn words_within(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.chars().filter(|c| c.is_alphanumeric()).count() >= 4
        && format!(" {long} ").contains(&format!(" {short} "))
}

/// Normalises an album title like a track title, without its edition noise
/// ("Abbey Road (Remastered)" → "abbey road"); version words stay in (a live album is a
/// different album).
pub fn normalize_album(raw: &str) -> String {
    let parsed = parse_title(raw);
    if parsed.version_text.is_empty() {
        parsed.base
    } else {
        format!("{} {}", parsed.base, parsed.version_text)
    }
}

/// Similarity of two normalised strings in `0.0..=1.0`: one minus the optimal-string-alignment
/// edit distance (a transposition costs one edit) over the longer length.
pub fn similarity(a: &str, b: &str) -> f32 {
    similarity_at_least(a, b, 0.0).unwrap_or(0.0)
}

/// [`similarity`] when it can reach `floor`, else `None` — decided first from cheap upper
/// bounds (length difference; characters one side has and the other lacks), so most
/// hopeless pairs never pay for the edit distance.
pub fn similarity_at_least(a: &str, b: &str, floor: f32) -> Option<f32> {
    if a == b {
        return Some(1.0);
    }
    let (len_a, len_b) = (a.chars().count(), b.chars().count());
    let longest = len_a.max(len_b);
    if longest == 0 {
        return Some(1.0);
    }
    let bound = |distance: usize| 1.0 - distance as f32 / longest as f32;
    if bound(len_a.abs_diff(len_b)) < floor {
        return None;
    }
    // Every edit fixes at most one unmatched character on each side, so the distance is at
    // least the larger one-sided multiset difference (buckets only make the bound weaker).
    let mut buckets = [0i16; 64];
    for c in a.chars() {
        buckets[(c as usize) & 63] += 1;
    }
    for c in b.chars() {
        buckets[(c as usize) & 63] -= 1;
    }
    let only_a: usize = buckets
        .iter()
        .filter(|n| **n > 0)
        .map(|n| *n as usize)
        .sum();
    let only_b: usize = buckets
        .iter()
        .filter(|n| **n < 0)
        .map(|n| n.unsigned_abs() as usize)
        .sum();
    if bound(only_a.max(only_b)) < floor {
        return None;
    }
    let similarity = bound(osa_distance(a, b));
    (similarity >= floor).then_some(similarity)
}

/// Titles and names are short: up to this many characters the edit distance runs on the
/// stack without allocating (strsim allocates four vectors per call, which showed in profiles).
const SHORT: usize = 48;

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), as
/// `strsim::osa_distance`, without allocating for short strings.
fn osa_distance(a: &str, b: &str) -> usize {
    let mut left = ['\0'; SHORT];
    let mut right = ['\0'; SHORT];
    let mut len_a = 0;
    for c in a.chars() {
        if len_a == SHORT {
            return strsim::osa_distance(a, b);
        }
        left[len_a] = c;
        len_a += 1;
    }
    let mut len_b = 0;
    for c in b.chars() {
        if len_b == SHORT {
            return strsim::osa_distance(a, b);
        }
        right[len_b] = c;
        len_b += 1;
    }
    let (a, b) = (&left[..len_a], &right[..len_b]);
    // Three rows, rotated by swapping references (copying the arrays showed in profiles).
    let mut rows = [[0u16; SHORT + 1]; 3];
    let [row0, row1, row2] = &mut rows;
    let (mut before_previous, mut previous, mut current) = (row0, row1, row2);
    for (j, cell) in previous.iter_mut().enumerate().take(len_b + 1) {
        *cell = j as u16;
    }
    for i in 1..=len_a {
        current[0] = i as u16;
        for j in 1..=len_b {
            let cost = u16::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before_previous[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before_previous, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    usize::from(previous[len_b])
}

/// Similarity of two normalised *names* (artists): the lower of the character similarity and
/// the word similarity (each word's best match on the other side, averaged over both sides),
/// so a shared long word does not make two names alike ("wind orchestra" vs "fire
/// orchestra" is 0.63, not 0.79), while a typo in one word still scores high. Names equal
/// but for spaces ("ac dc", "acdc") are equal.
pub fn name_similarity(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    let direct = name_similarity_same_script(a, b);
    if direct >= LOOSE_NAME_SIMILARITY {
        return direct;
    }
    if a.is_ascii() && b.is_ascii() {
        // Two Latin transliterations of one name ("Tchaikovsky" and "Tschaikowsky",
        // "Rachmaninoff" and "Rachmaninov"): below an exact spelling, above the floor. Names
        // that are not alike to begin with are not compared again (most pairs scored).
        if direct < LOOSE_NAME_FLOOR {
            return direct;
        }
        let loose = name_similarity_same_script(&loose_latin(a), &loose_latin(b));
        return direct.max(loose.min(LOOSE_NAME_SIMILARITY));
    }
    // "Кино" and "Kino", "周杰伦" and "周杰倫": compare the Latin letters of both.
    let latin_a = latin_form(a);
    let latin_b = latin_form(b);
    let (la, lb) = (
        latin_a.as_deref().unwrap_or(a),
        latin_b.as_deref().unwrap_or(b),
    );
    if (la, lb) == (a, b) {
        return direct;
    }
    let latin = direct.max(name_similarity_same_script(la, lb));
    // A name in kanji, which deunicode reads as Chinese ("ban ben jiu" for `坂本九`), and its
    // romanisation ("Kyu Sakamoto"), given name first or last.
    if latin < READING_SIMILARITY
        && (crate::japanese::reads_as(a, b, true) || crate::japanese::reads_as(b, a, true))
    {
        return READING_SIMILARITY;
    }
    // The loose forms only for names already somewhat alike, or written in an abjad (whose
    // Latin letters lack the vowels): most pairs scored are simply different names.
    if latin >= LOOSE_NAME_SIMILARITY
        || (latin < LOOSE_NAME_FLOOR && !has_abjad(a) && !has_abjad(b))
    {
        return latin;
    }
    latin.max(transliterated_similarity(a, b, name_similarity_same_script))
}

/// True when one name is in another script than the other and their Latin letters share a
/// whole word of four letters or more ("mariya" in "mariya takeuchi" and `竹内まりや`, whose
/// kanji read as Chinese: "zhu nei mariya"). Only a hint that they may be one name.
pub fn shares_latin_name(a: &str, b: &str) -> bool {
    if a.is_ascii() == b.is_ascii() {
        return false;
    }
    let (la, lb) = (latin_form(a), latin_form(b));
    let (la, lb) = (la.as_deref().unwrap_or(a), lb.as_deref().unwrap_or(b));
    la.split(' ')
        .filter(|word| word.chars().count() >= 4)
        .any(|word| lb.split(' ').any(|other| other == word))
}

/// What a romanised name or title scores against the kanji it reads
/// ([`crate::japanese::reads_as`]): below an exact spelling, above the artist floor and the
/// title floor of an accepted match.
pub const READING_SIMILARITY: f32 = 0.9;

/// The most two Latin names that only meet in their [`loose_latin`] forms score.
const LOOSE_NAME_SIMILARITY: f32 = 0.9;

/// Two Latin names less alike than this are not compared in their [`loose_latin`] forms:
/// transliterations of one name are at least this alike as spelled.
const LOOSE_NAME_FLOOR: f32 = 0.45;

/// What a name known by another form scores: initials ("rhcp" for "red hot chili peppers")
/// and a name inside a longer credit ("jimi hendrix" in "jimi hendrix experience", "simon" in
/// "paul simon"). Below an exact or near-exact spelling, above the artist floor.
const ALIAS_SIMILARITY: f32 = 0.85;

/// True when `short` is the initials of `long`'s words (at least two words and two letters).
fn is_initialism(short: &str, long: &str) -> bool {
    if short.contains(' ') || short.chars().count() < 2 {
        return false;
    }
    let words: Vec<&str> = long
        .split(' ')
        .filter(|w| !w.is_empty() && *w != "and" && *w != "of")
        .collect();
    words.len() >= 2
        && words.len() == short.chars().count()
        && words
            .iter()
            .zip(short.chars())
            .all(|(word, letter)| word.starts_with(letter))
}

/// True when the words of `short` appear, in order and together, in `long` (which has more),
/// and carry enough letters to be a name rather than a common word.
fn is_contained_name(short: &str, long: &str) -> bool {
    let short_words: Vec<&str> = short.split(' ').filter(|w| !w.is_empty()).collect();
    let long_words: Vec<&str> = long.split(' ').filter(|w| !w.is_empty()).collect();
    let letters: usize = short_words.iter().map(|w| w.chars().count()).sum();
    // A surname alone names its bearer ("bach" for "johann sebastian bach") from four
    // letters; other parts of a name need five ("jimi hendrix" in "jimi hendrix experience").
    // Initials before the surname: "js bach", "j s bach", "w a mozart".
    if let [initials @ .., surname] = short_words.as_slice()
        && !initials.is_empty()
        && long_words.last() == Some(surname)
        && surname.chars().count() >= 4
        && initials.iter().all(|w| w.chars().count() <= 3)
    {
        let letters: Vec<char> = initials.iter().flat_map(|w| w.chars()).collect();
        let given = &long_words[..long_words.len() - 1];
        if letters.len() <= given.len()
            && letters
                .iter()
                .zip(given)
                .all(|(letter, word)| word.starts_with(*letter))
            && given.iter().any(|word| word.chars().count() > 1)
        {
            return true;
        }
    }
    let surname = short_words.len() == 1 && long_words.last() == short_words.first();
    if short_words.is_empty()
        || long_words.len() <= short_words.len()
        || letters < if surname { 4 } else { 5 }
    {
        return false;
    }
    if long_words
        .windows(short_words.len())
        .any(|window| window == short_words.as_slice())
    {
        return true;
    }
    // A middle name left out: "fela kuti" in "fela anikulapo kuti" (first and last agree).
    short_words.len() >= 2
        && short_words.first() == long_words.first()
        && short_words.last() == long_words.last()
        && {
            let mut rest = long_words.iter();
            short_words
                .iter()
                .all(|word| rest.by_ref().any(|other| other == word))
        }
}

/// A name with its Roman numerals as digits ("boyz ii men" → "boyz 2 men"), when it has any.
fn with_digits(name: &str) -> Option<String> {
    let mut changed = false;
    let words: Vec<String> = name
        .split(' ')
        .map(|word| match roman_value(word).filter(|_| word.len() >= 2) {
            Some(value) => {
                changed = true;
                value.to_string()
            }
            None => word.to_string(),
        })
        .collect();
    changed.then(|| words.join(" "))
}

/// The normalised Latin letters of normalised text in another script ("кино" → "kino"), or
/// `None` when it has nothing but ASCII already.
pub fn latin_form(normalized: &str) -> Option<String> {
    if normalized.is_ascii() {
        return None;
    }
    let latin = normalize_text(&deunicode::deunicode(normalized));
    (latin != normalized && !latin.is_empty()).then_some(latin)
}

/// A form of Latin text that the usual ways of transliterating one name all reach: digraphs
/// as one letter ("sh", "ch", "zh", "kh", "ts" — and "tch", "shch", "sch"), "j" and "y" as
/// "i", "w" as "v", "x" as "ks", doubled letters once. "Chaikovskii" and "Tchaikovsky",
/// "Iurii" and "Yuriy", "Bregovitsh" and "Bregovic", "Kalasnjikov" and "Kalashnikov" meet.
/// Only ever used when one side was written in another script or with letters a keyboard
/// does not have: between two plain Latin spellings it would only blur differences.
///
/// ```
/// use cachearr_library::normalize::loose_latin;
/// assert_eq!(loose_latin("tchaikovsky"), loose_latin("chaikovskii"));
/// assert_eq!(loose_latin("mumiy troll"), loose_latin("mumii trol"));
/// assert_ne!(loose_latin("kino"), loose_latin("kina"));
/// ```
pub fn loose_latin(normalized: &str) -> String {
    const DIGRAPHS: [(&str, char); 14] = [
        ("shch", 's'),
        ("sch", 's'),
        ("tsh", 'c'),
        ("tch", 'c'),
        ("ch", 'c'),
        ("sh", 's'),
        ("zh", 'z'),
        ("kh", 'h'),
        ("ts", 'c'),
        ("tz", 'c'),
        ("cz", 'c'),
        ("sz", 's'),
        ("ph", 'f'),
        ("ck", 'k'),
    ];
    let mut out = String::with_capacity(normalized.len());
    let mut rest = normalized;
    while let Some(c) = rest.chars().next() {
        // "-off" and "-ow" are older spellings of the "-ov" ending ("Rachmaninoff").
        if let Some(after) = rest.strip_prefix("ff").or_else(|| rest.strip_prefix("w"))
            && after.starts_with(' ') | after.is_empty()
            && out.ends_with('o')
        {
            push_once(&mut out, 'v');
            rest = after;
            continue;
        }
        if let Some((digraph, letter)) = DIGRAPHS.iter().find(|(d, _)| rest.starts_with(d)) {
            push_once(&mut out, *letter);
            rest = &rest[digraph.len()..];
            continue;
        }
        match c {
            'j' | 'y' => push_once(&mut out, 'i'),
            'w' => push_once(&mut out, 'v'),
            'q' => push_once(&mut out, 'k'),
            'x' => {
                push_once(&mut out, 'k');
                push_once(&mut out, 's');
            }
            c => push_once(&mut out, c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Pushes `c` unless the text already ends with it (doubled letters count once).
fn push_once(out: &mut String, c: char) {
    if !out.ends_with(c) {
        out.push(c);
    }
}

/// True when the text has letters of a script that leaves short vowels unwritten (Arabic,
/// Hebrew, Syriac, Thaana): its Latin letters are little more than consonants ("tmly mk" for
/// "تملي معاك", "Tamally Maak").
pub fn has_abjad(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c,
            '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
    })
}

/// The consonants of [`loose_latin`] text without spaces, vowels or the letters that stand
/// for long vowels in an abjad ("v", "i" from "w", "y"): how a name written in Arabic or
/// Hebrew letters compares with its spelling in Latin ones ("lbyrwt" and "li beirut" are both
/// "lbrt"). Lossy by design: used only against a text in such a script.
pub fn consonant_skeleton(normalized: &str) -> String {
    let mut out = String::new();
    for c in loose_latin(normalized).chars() {
        if !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'v' | ' ') {
            push_once(&mut out, c);
        }
    }
    out
}

/// What equal consonant skeletons of an abjad text and a Latin one score.
const SKELETON_SIMILARITY: f32 = 0.9;

/// Similarity of two normalised texts of which one was written in another script or with
/// letters beyond plain Latin (the caller knows): their [`loose_latin`] forms, and for an
/// abjad their consonant skeletons (equal skeletons of three consonants or more score 0.9).
/// `compare` scores the two loose forms ([`similarity`] for titles, the word-aware
/// [`name_similarity`] for names).
pub fn transliterated_similarity(a: &str, b: &str, compare: fn(&str, &str) -> f32) -> f32 {
    let latin_a = latin_form(a).unwrap_or_else(|| a.to_string());
    let latin_b = latin_form(b).unwrap_or_else(|| b.to_string());
    let (loose_a, loose_b) = (loose_latin(&latin_a), loose_latin(&latin_b));
    // Romanisations cut words differently ("Yue Liang" and "Yueliang"): also without spaces.
    let joined = |text: &str| text.replace(' ', "");
    let mut best =
        compare(&loose_a, &loose_b).max(similarity(&joined(&loose_a), &joined(&loose_b)));
    if has_abjad(a) || has_abjad(b) {
        let (x, y) = (consonant_skeleton(&latin_a), consonant_skeleton(&latin_b));
        if x == y && x.chars().count() >= 3 {
            best = best.max(SKELETON_SIMILARITY);
        }
    }
    best
}

fn name_similarity_same_script(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    let alias = if is_initialism(a, b)
        || is_initialism(b, a)
        || is_contained_name(a, b)
        || is_contained_name(b, a)
    {
        ALIAS_SIMILARITY
    } else {
        0.0
    };
    let spelled = name_similarity_spelling(a, b);
    let numerals = match (with_digits(a), with_digits(b)) {
        (None, None) => 0.0,
        (a_digits, b_digits) => name_similarity_spelling(
            a_digits.as_deref().unwrap_or(a),
            b_digits.as_deref().unwrap_or(b),
        ),
    };
    spelled.max(alias).max(numerals)
}

fn name_similarity_spelling(a: &str, b: &str) -> f32 {
    let chars = similarity(a, b);
    let words_a: Vec<&str> = a.split(' ').filter(|w| !w.is_empty()).collect();
    let words_b: Vec<&str> = b.split(' ').filter(|w| !w.is_empty()).collect();
    if words_a.len() <= 1 && words_b.len() <= 1 {
        return chars;
    }
    if a.chars()
        .filter(|c| *c != ' ')
        .eq(b.chars().filter(|c| *c != ' '))
    {
        return 1.0;
    }
    let best = |word: &str, pool: &[&str]| {
        pool.iter()
            .map(|other| similarity(word, other))
            .fold(0.0f32, f32::max)
    };
    let total: f32 = words_a.iter().map(|w| best(w, &words_b)).sum::<f32>()
        + words_b.iter().map(|w| best(w, &words_a)).sum::<f32>();
    let words = total / (words_a.len() + words_b.len()).max(1) as f32;
    chars.min(words)
}

/// The trigrams of a normalised string, padded with a space on each side so short words
/// still have grams; each packed into a `u32` (three bytes of the UTF-8 text plus a marker
/// bit so that `"ab "` and `"ab"` differ). Duplicates are removed.
pub fn trigrams(normalized: &str) -> Vec<u32> {
    let mut padded = Vec::with_capacity(normalized.len() + 2);
    padded.push(b' ');
    padded.extend_from_slice(normalized.as_bytes());
    padded.push(b' ');
    let mut grams: Vec<u32> = padded
        .windows(3)
        .map(|w| (1 << 24) | (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]))
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The trigrams a name is found by: those of the name, and for a name in another script also
/// those of its Latin letters ([`latin_form`]), without duplicates.
pub fn name_trigrams(normalized: &str) -> Vec<u32> {
    let mut grams = trigrams(normalized);
    if let Some(latin) = latin_form(normalized) {
        grams.extend(trigrams(&latin));
        grams.sort_unstable();
        grams.dedup();
    }
    grams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_accents_punctuation_and_the() {
        assert_eq!(normalize_text("  The   Rolling Stones "), "rolling stones");
        assert_eq!(normalize_text("Sigur Rós"), "sigur ros");
        assert_eq!(normalize_text("Motörhead"), "motorhead");
        assert_eq!(normalize_text("Straße"), "strasse");
        assert_eq!(normalize_text("STRAẞE"), "strasse");
        assert_eq!(normalize_text("ẞ"), normalize_text(&normalize_text("ẞ")));
        assert_eq!(normalize_text("R.E.M."), "rem");
        assert_eq!(normalize_text("AC/DC"), "ac dc");
        assert_eq!(normalize_text("Guns N' Roses"), "guns n roses");
        assert_eq!(normalize_text("Rock & Roll"), "rock and roll");
        assert_eq!(normalize_text("The"), "the");
        assert_eq!(normalize_text("The The"), "the");
        assert_eq!(normalize_text("¿Qué?"), "que");
        assert_eq!(normalize_text("Ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
        assert_eq!(normalize_text(""), "");
        assert_eq!(normalize_text("!!!"), "");
    }

    #[test]
    fn splits_artist_credits_into_sets() {
        assert_eq!(
            split_artists("Jay-Z feat. Alicia Keys"),
            ["jay z", "alicia keys"]
        );
        assert_eq!(split_artists("Simon & Garfunkel"), ["simon", "garfunkel"]);
        assert_eq!(split_artists("Simon and Garfunkel"), ["simon", "garfunkel"]);
        assert_eq!(split_artists("A ft. B, C & D"), ["a", "b", "c", "d"]);
        assert_eq!(
            split_artists("Florence + The Machine"),
            ["florence", "machine"]
        );
        assert_eq!(split_artists("The Beatles"), ["beatles"]);
        assert_eq!(split_artists("With Confidence"), ["with confidence"]);
        assert_eq!(split_artists("A & A"), ["a"]);
        assert!(split_artists(" , & ").is_empty());
    }

    #[test]
    fn strips_edition_noise_but_keeps_versions_apart() {
        for raw in [
            "Hey Jude",
            "Hey Jude (Remastered 2015)",
            "Hey Jude - Remastered 2015",
            "Hey Jude - 2015 Remaster",
            "Hey Jude [Deluxe Edition]",
            "Hey Jude - Radio Edit",
            "Hey Jude (Single Version)",
            "Hey Jude - Original Mix",
            "HEY JUDE!",
            "Hey Jude (From \"The Movie\")",
            "Hey Jude - Remasterd 2015",
            "Hey Jude [Deluxe Ediiton]",
        ] {
            let parsed = parse_title(raw);
            assert_eq!(parsed.base, "hey jude", "{raw}");
            assert!(parsed.version.is_original(), "{raw}");
        }
        let cases = [
            ("Hey Jude (Live)", VersionTags::LIVE),
            ("Hey Jude - Live at Wembley 1986", VersionTags::LIVE),
            ("Hey Jude (DJ Snake Remix)", VersionTags::REMIX),
            ("Hey Jude - Extended Mix", VersionTags::REMIX),
            ("Hey Jude (Acoustic Version)", VersionTags::ACOUSTIC),
            ("Hey Jude [Instrumental]", VersionTags::INSTRUMENTAL),
            ("Hey Jude (Demo)", VersionTags::DEMO),
            ("Hey Jude (Karaoke Version)", VersionTags::KARAOKE),
            ("Hey Jude (Live) [Remastered]", VersionTags::LIVE),
            ("Hey Jude (LLive)", VersionTags::LIVE),
            ("Hey Jude (Deom)", VersionTags::DEMO),
            ("Hey Jude (Acoutic)", VersionTags::ACOUSTIC),
        ];
        for (raw, tag) in cases {
            let parsed = parse_title(raw);
            assert_eq!(parsed.base, "hey jude", "{raw}");
            assert_eq!(parsed.version, tag, "{raw}");
        }
    }

    #[test]
    fn short_words_near_version_words_are_not_versions() {
        assert!(parse_title("Song (Love)").version.is_original());
        assert!(parse_title("Song (Dome)").version.is_original());
        assert!(parse_title("Song - Life").version.is_original());
    }

    #[test]
    fn version_words_inside_the_title_are_title_words() {
        let parsed = parse_title("Live Forever");
        assert_eq!(parsed.base, "live forever");
        assert!(parsed.version.is_original());
        let parsed = parse_title("Mix Tape - Part 2");
        assert_eq!(parsed.base, "mix tape part 2");
        let parsed = parse_title("(I Can't Get No) Satisfaction");
        assert_eq!(parsed.base, "i cant get no satisfaction");
    }

    #[test]
    fn featured_artists_leave_the_title() {
        for raw in [
            "Umbrella (feat. Jay-Z)",
            "Umbrella [ft. Jay-Z]",
            "Umbrella feat. Jay-Z",
            "Umbrella (with Jay-Z)",
            "Umbrella - feat. Jay-Z",
        ] {
            let parsed = parse_title(raw);
            assert_eq!(parsed.base, "umbrella", "{raw}");
            assert_eq!(parsed.featured, ["jay z"], "{raw}");
        }
        assert_eq!(
            parse_title("Dancing with Myself").base,
            "dancing with myself"
        );
    }

    #[test]
    fn odd_titles_do_not_lose_everything() {
        assert_eq!(parse_title("(Untitled)").base, "untitled");
        assert_eq!(parse_title("Song (unclosed").base, "song unclosed");
        assert_eq!(parse_title("- Live").base, "live");
        assert_eq!(parse_title("").base, "");
    }

    proptest::proptest! {
        #[test]
        fn our_edit_distance_is_strsims(a in "\\PC{0,60}", b in "\\PC{0,60}") {
            proptest::prop_assert_eq!(osa_distance(&a, &b), strsim::osa_distance(&a, &b));
        }

        #[test]
        fn our_edit_distance_is_strsims_on_near_strings(a in "[abé]{0,12}", b in "[abé]{0,12}") {
            proptest::prop_assert_eq!(osa_distance(&a, &b), strsim::osa_distance(&a, &b));
        }

        #[test]
        fn the_cheap_bounds_never_reject_a_pair_that_reaches_the_floor(
            a in "[a-e ]{0,12}", b in "[a-e ]{0,12}", floor in 0.0f32..1.0,
        ) {
            let exact = similarity(&a, &b);
            let bounded = similarity_at_least(&a, &b, floor);
            if exact >= floor {
                proptest::prop_assert_eq!(bounded, Some(exact));
            } else {
                proptest::prop_assert_eq!(bounded, None);
            }
        }
    }

    #[test]
    fn similarity_counts_transpositions_once() {
        assert_eq!(similarity("yesterday", "yesterday"), 1.0);
        assert!(similarity("yesterday", "yesterdya") > 0.88);
        assert!(similarity("yesterday", "tomorrow") < 0.3);
        assert_eq!(similarity("", ""), 1.0);
    }

    #[test]
    fn name_similarity_is_not_fooled_by_a_shared_word() {
        assert!(name_similarity("wind orchestra", "fire orchestra") < 0.7);
        assert!(name_similarity("machine quartet", "wave quartet") < 0.7);
        assert!(name_similarity("dj ghost", "dj gohst") > 0.85);
        assert_eq!(name_similarity("ac dc", "acdc"), 1.0);
        assert!(name_similarity("beatles", "beatels") > 0.85);
    }

    #[test]
    fn classical_titles_are_taken_apart() {
        let sonata =
            parse_title("Piano Sonata No. 14 in C-Sharp Minor, Op. 27 No. 2: I. Adagio sostenuto");
        let work = sonata.work.as_deref().expect("a classical title");
        assert_eq!(work.key.as_deref(), Some("c sharp minor"));
        assert_eq!(work.catalogue, [("no", 14), ("op", 27), ("no", 2)]);
        assert_eq!(work.movement_number, Some(1));
        assert_eq!(work.movement.as_deref(), Some("adagio sostenuto"));
        assert_eq!(work.work_words, ["piano", "sonata"]);
        let jupiter = parse_title("The Planets, Op. 32: IV. Jupiter, the Bringer of Jollity");
        let work = jupiter.work.as_deref().unwrap();
        assert_eq!(work.movement_head.as_deref(), Some("jupiter"));
        assert_eq!(work.movement_number, Some(4));
        let serenade = parse_title("Serenade No.13 in G major, K.525 - 1. Allegro");
        let work = serenade.work.as_deref().unwrap();
        assert_eq!(work.catalogue, [("no", 13), ("k", 525)]);
        assert_eq!(work.movement.as_deref(), Some("allegro"));
        let elise = parse_title("Für Elise, WoO 59");
        assert_eq!(elise.alternates(), ["fur elise", "woo 59"]);
        assert_eq!(
            parse_title("Nocturne in E-Flat Major, Op. 9 No. 2").alternates(),
            ["nocturne", "nocturne op 9 no 2", "op 9 no 2"]
        );
        assert!(parse_title("Hey Jude").work.is_none());
        assert!(
            parse_title("Stuck in a Moment You Can't Get Out Of")
                .work
                .is_none()
        );
        assert!(parse_title("Love in C Major Town").work.is_some());
        assert_eq!(
            parse_title("Canon in D").work.and_then(|w| w.key),
            Some("d".to_string())
        );
        assert!(
            parse_title("Another Brick in the Wall, Pt. 2")
                .work
                .is_none()
        );
    }

    #[test]
    fn classical_titles_compare_by_what_both_name() {
        let verdict = |a: &str, b: &str| compare_works(&parse_title(a), &parse_title(b));
        let spring =
            "The Four Seasons, Violin Concerto No. 1 in E Major, RV 269 \"Spring\": I. Allegro";
        assert_eq!(
            verdict("Spring: I. Allegro", spring),
            WorkVerdict::Confirmed
        );
        assert_eq!(
            verdict(
                "The Four Seasons, Violin Concerto No. 1 in E Major, RV 269 \"Spring\": II. Largo",
                spring
            ),
            WorkVerdict::Conflict
        );
        assert_eq!(verdict("Autumn: I. Allegro", spring), WorkVerdict::Neutral);
        let sonata = "Piano Sonata No. 14 in C-Sharp Minor, Op. 27 No. 2: I. Adagio sostenuto";
        assert_eq!(
            verdict("Moonlight Sonata: I. Adagio sostenuto", sonata),
            WorkVerdict::Confirmed
        );
        assert_eq!(
            verdict(
                "Serenade No.13 in G major, K.525 - 1. Allegro",
                "Eine kleine Nachtmusik, K. 525: I. Allegro"
            ),
            WorkVerdict::Confirmed
        );
        let nocturne = "Nocturne in E-Flat Major, Op. 9 No. 2";
        assert_eq!(
            verdict("Nocturne Op. 9 No. 2", nocturne),
            WorkVerdict::Confirmed
        );
        assert_eq!(
            verdict("Nocturne in E-Flat Major, Op. 55 No. 2", nocturne),
            WorkVerdict::Conflict
        );
        assert_eq!(
            verdict(
                "Nocturne No. 20 in C sharp minor",
                "Nocturne in C-Sharp Minor, Op. posth."
            ),
            WorkVerdict::Confirmed
        );
        assert_eq!(
            verdict("Nocturne No. 20 in C sharp minor", nocturne),
            WorkVerdict::Conflict
        );
        assert_eq!(
            verdict(
                "Aria (Goldberg Variations)",
                "Goldberg Variations, BWV 988: Aria"
            ),
            WorkVerdict::Confirmed
        );
    }

    #[test]
    fn titles_in_two_scripts_keep_the_other_one() {
        assert_eq!(
            parse_title("빨간 맛 (Red Flavor)").alternates(),
            [normalize_text("빨간 맛"), "red flavor".to_string()]
        );
        assert_eq!(
            parse_title("GANGNAM STYLE (강남스타일)").bracketed,
            Some(normalize_text("강남스타일"))
        );
        assert_eq!(
            parse_title("I Got You (I Feel Good)").alternates(),
            ["i got you", "i feel good"]
        );
        assert_eq!(parse_title("Song (Interlude)").bracketed, None);
    }

    #[test]
    fn numbers_keys_and_catalogues_are_written_one_way() {
        let base = |raw: &str| parse_title(raw).base;
        assert_eq!(base("Nine to Five"), base("9 to 5"));
        assert_eq!(base("Twenty-Two"), "22");
        assert_eq!(base("Mambo No.5"), base("Mambo Number 5"));
        assert_eq!(base("Mambo #5"), "mambo no 5");
        assert_eq!(base("Love, Pt. 2"), "love part 2");
        assert_eq!(base("No One"), "no one");
        let key = |raw: &str| parse_title(raw).work.and_then(|w| w.key);
        for raw in [
            "Waltz in D♭ Major",
            "Waltz in Db major",
            "Waltz in D-flat major",
            "Waltz in D flat Major",
        ] {
            assert_eq!(key(raw).as_deref(), Some("d flat major"), "{raw}");
        }
        assert_eq!(
            key("Nocturne in C# minor").as_deref(),
            Some("c sharp minor")
        );
        assert_eq!(
            key("Nocturne in C♯ Minor").as_deref(),
            Some("c sharp minor")
        );
        let keys = |raw: &str| {
            parse_title(raw)
                .work
                .map(|w| w.catalogue_keys)
                .unwrap_or_default()
        };
        assert_eq!(keys("Piano Sonata No. 14, Op. 27 No. 2"), ["op 27 no 2"]);
        assert_eq!(keys("Sonata Op.27/2"), ["op 27 no 2"]);
        assert_eq!(keys("sonata op 27 no 2"), ["op 27 no 2"]);
        assert_eq!(
            keys("Ave Maria, Op. 52 No. 6, D. 839"),
            ["op 52 no 6", "d 839"]
        );
        assert!(keys("Nocturne, Op. posth.").is_empty());
        assert!(keys("Hungarian Dance No. 5").is_empty());
        assert_eq!(
            parse_title("Bagatelle in A Minor, WoO 59 \"Für Elise\"")
                .quoted
                .as_deref(),
            Some("fur elise")
        );
        assert_eq!(
            parse_title("Hungarian Dance No. 5 in G Minor")
                .work
                .and_then(|w| w.without_key)
                .as_deref(),
            Some("hungarian dance no 5")
        );
    }

    #[test]
    fn names_meet_across_transliterations_and_initials() {
        assert!(name_similarity("tschaikowsky", "tchaikovsky") >= 0.85);
        assert!(name_similarity("rachmaninov", "sergei rachmaninoff") >= 0.8);
        assert!(name_similarity("js bach", "johann sebastian bach") >= 0.8);
        assert!(name_similarity("w a mozart", "wolfgang amadeus mozart") >= 0.8);
        assert!(name_similarity("okean elzy", &normalize_text("Океан Ельзи")) >= 0.85);
        assert!(name_similarity("amr diab", &normalize_text("عمرو دياب")) >= 0.85);
        assert!(name_similarity("cp bach", "johann sebastian bach") < 0.75);
        assert!(name_similarity("kesha", "sasha") < 0.75);
    }

    #[test]
    fn kana_keep_their_voicing() {
        assert_eq!(
            latin_form(&normalize_text("さくらんぼ")).as_deref(),
            Some("sakuranbo")
        );
        let once = normalize_text("ブギウギ");
        assert_eq!(normalize_text(&once), once);
    }

    #[test]
    fn trigrams_are_padded_and_unique() {
        assert_eq!(trigrams("ab").len(), 2);
        assert_eq!(trigrams("aaaa").len(), 3);
        assert!(trigrams("").is_empty());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn normalize_is_idempotent(raw in "\\PC{0,40}") {
                let once = normalize_text(&raw);
                prop_assert_eq!(normalize_text(&once), once.clone());
            }

            #[test]
            fn normalized_text_is_lowercase_words(raw in "\\PC{0,40}") {
                let normalized = normalize_text(&raw);
                prop_assert!(!normalized.starts_with(' ') && !normalized.ends_with(' '));
                prop_assert!(!normalized.contains("  "));
                prop_assert!(normalized.chars().all(|c| c == ' ' || c.is_alphanumeric()));
            }

            #[test]
            fn case_and_accents_never_change_the_key(word in "[a-z]{1,12}( [a-z]{1,12}){0,3}") {
                let shouted = word.to_uppercase();
                let accented: String = word
                    .chars()
                    .map(|c| match c { 'e' => 'é', 'a' => 'à', 'o' => 'ö', other => other })
                    .collect();
                prop_assert_eq!(normalize_text(&shouted), normalize_text(&word));
                prop_assert_eq!(normalize_text(&accented), normalize_text(&word));
            }

            #[test]
            fn parse_title_base_is_normalized(raw in "\\PC{0,60}") {
                let parsed = parse_title(&raw);
                prop_assert_eq!(normalize_text(&parsed.base), parsed.base.clone());
            }

            #[test]
            fn edition_suffix_never_changes_base(
                title in "[A-Z][a-z]{2,10}( [a-z]{2,10}){0,3}",
                year in 1960u32..2030,
            ) {
                let plain = parse_title(&title);
                let remastered = parse_title(&format!("{title} - Remastered {year}"));
                prop_assert_eq!(&remastered.base, &plain.base);
                prop_assert_eq!(remastered.version, plain.version);
                let live = parse_title(&format!("{title} (Live)"));
                prop_assert_eq!(&live.base, &plain.base);
                prop_assert!(live.version.contains(VersionTags::LIVE));
            }

            #[test]
            fn split_artists_never_yields_empty_names(raw in "\\PC{0,40}") {
                for name in split_artists(&raw) {
                    prop_assert!(!name.is_empty());
                    prop_assert_eq!(normalize_text(&name), name.clone());
                }
            }
        }
    }
}
