//! Text normalisation shared by the index, the matcher and search.
//!
//! Library and query text go through the *same* functions, so two spellings of one song meet
//! at one key: "Beyoncé & JAY-Z" and "beyonce and jay z" both become the artist set
//! `{beyonce, jay z}`; "Hey Jude - Remastered 2015" and "hey jude" both have the base title
//! `hey jude`. What makes a *different recording* (live, remix, acoustic, instrumental, demo,
//! karaoke) is never thrown away: it is kept apart in [`VersionTags`] so the matcher can refuse
//! to confuse a version with its original.
//!
//! # Map
//! This file holds [`VersionTags`], character folding and [`normalize_text`], [`script_of`],
//! video uploads ([`read_upload`]) and the numbers in titles ([`numbers_agree`]); `title` splits
//! artist credits and parses titles, `claims` says which wording names the same recording and
//! which another, `work` reads classical titles, `nicknames` holds the famous works' nicknames,
//! `similarity` compares names and titles and makes their trigrams. Tests are in `normalize/tests.rs`.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

mod aliases;
mod claims;
mod nicknames;
mod repair;
mod similarity;
mod title;
mod translations;
mod work;
pub use aliases::*;
pub use claims::*;
pub use nicknames::*;
pub use repair::*;
pub use similarity::*;
pub use title::*;
pub use translations::*;
pub use work::*;

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
        // The increment sign written for the Greek capital delta ("∆" for "Δ").
        '\u{2206}' => {
            token.push('δ');
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
    let mut chars = raw.nfkd().peekable();
    while let Some(c) = chars.next() {
        // An exclamation mark inside a name stands for an I ("P!nk", "Sk!p"); at a word's
        // end or alone it is punctuation ("Hey Ya!", "!!!").
        if c == '!'
            && token.chars().last().is_some_and(char::is_alphabetic)
            && chars.peek().is_some_and(|next| next.is_alphabetic())
        {
            token.push('i');
            continue;
        }
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

/// The two names of an act written in two scripts, the other in brackets ("방탄소년단
/// (BTS)", "BTS (방탄소년단)", "Кино (Kino)"): `Some((name, bracketed))`, else `None`.
///
/// ```
/// use cachearr_library::normalize::names_in_two_scripts;
/// assert_eq!(
///     names_in_two_scripts("아이유 (IU)"),
///     Some(("아이유".to_string(), "IU".to_string()))
/// );
/// assert_eq!(names_in_two_scripts("Prince (The Artist)"), None);
/// ```
pub fn names_in_two_scripts(raw: &str) -> Option<(String, String)> {
    let raw = raw.trim();
    let inner_end = raw.strip_suffix(')')?;
    let open = inner_end.rfind('(')?;
    let (outer, inner) = (inner_end[..open].trim(), inner_end[open + 1..].trim());
    let (a, b) = (script_of(outer), script_of(inner));
    (a != Script::None && b != Script::None && a != b)
        .then(|| (outer.to_string(), inner.to_string()))
}

/// A name or title written in two scripts one after the other, without brackets ("周杰倫 Jay
/// Chou", "晴天 Qing Tian"), as Asian stores and uploads write them: `Some((first,
/// second))`, each in one script, else `None`.
///
/// ```
/// use cachearr_library::normalize::halves_in_two_scripts;
/// assert_eq!(
///     halves_in_two_scripts("晴天 Qing Tian"),
///     Some(("晴天".to_string(), "Qing Tian".to_string()))
/// );
/// assert_eq!(halves_in_two_scripts("Qing Tian"), None);
/// assert_eq!(halves_in_two_scripts("晴天 Qing 天"), None);
/// ```
pub fn halves_in_two_scripts(raw: &str) -> Option<(String, String)> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    let scripts: Vec<Script> = words.iter().map(|word| script_of(word)).collect();
    if scripts.contains(&Script::None) {
        return None;
    }
    let at = scripts.windows(2).position(|pair| pair[0] != pair[1])? + 1;
    if scripts[at..].iter().any(|script| *script != scripts[at]) {
        return None;
    }
    Some((words[..at].join(" "), words[at..].join(" ")))
}

/// True for YouTube's auto-generated "Artist - Topic" channels, whose uploads are the
/// releases' audio at their length.
pub fn is_topic_channel(raw: &str) -> bool {
    let name = raw.trim();
    name.ends_with(" - Topic") || name.ends_with(" – Topic")
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
/// "\[Lyrics\]" — is dropped later with the other edition noise).
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
    let title = upload_title(title);
    let title = title.as_str();
    if let Some(quoted) = quoted_upload(&name, title) {
        return quoted;
    }
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
        // The other way round, "Title - Artist (Official Video)": the uploader's name after
        // the dash, its brackets kept with the title.
        let (right_name, right_brackets) = match right.find(['(', '[']) {
            Some(at) => (right[..at].trim(), right[at..].trim()),
            None => (right, ""),
        };
        let names_the_artist_last = !left.is_empty()
            && !right_name.is_empty()
            && !name.is_empty()
            && (compact_name(right_name) == compact_name(&name)
                || name_similarity(&normalize_text(right_name), &normalize_text(&name)) >= 0.8);
        if names_the_artist_last {
            let title = format!("{left} {right_brackets}");
            return (name.to_string(), title.trim().to_string());
        }
    }
    (name.to_string(), title.trim().to_string())
}

/// Reads an upload a label's channel posts as the artist's title: `Label – Artist - Title
/// (Official MV)`, `Artist - Title (Official MV)` and `[MV] Artist - Title` give
/// `Some((artist, title))` with the title's brackets kept, when brackets at either end say it
/// is a video; any other title gives `None`. [`read_upload`] reads the first as the label's
/// `Artist - Title` and the others as the uploader's whole title; this is the other reading,
/// for the matcher to try when that one accepts nothing.
pub fn label_upload(title: &str) -> Option<(String, String)> {
    let says_video = |brackets: &str| {
        let words = normalize_text(brackets);
        words.split(' ').any(|word| matches!(word, "mv" | "video"))
            && words.split(' ').all(title::is_noise_word)
    };
    let title = upload_title(title);
    let mut rest = title.trim();
    // A bracket of video words before the title ("[MV] Artist - Title").
    let mut video = false;
    if let Some(open) = rest.chars().next().filter(|c| matches!(c, '(' | '['))
        && let Some(close) = title::closing_bracket(rest, 0, open)
        && says_video(&rest[1..close])
    {
        video = true;
        rest = rest[close + 1..].trim_start();
    }
    // After a video bracket, Korean labels part the artist and the title by an underscore
    // ("[MV] Artist(아티스트) _ Title(제목)").
    let underscore = [" _ "];
    let separators: &[&str] = if video && !DASH_SEPARATORS.iter().any(|s| rest.contains(s)) {
        &underscore
    } else {
        &DASH_SEPARATORS
    };
    let mut parts: Vec<&str> = Vec::new();
    while let Some((at, separator_len)) = separators
        .iter()
        .filter_map(|separator| rest.find(separator).map(|at| (at, separator.len())))
        .min_by_key(|(at, _)| *at)
    {
        parts.push(rest[..at].trim());
        rest = &rest[at + separator_len..];
    }
    parts.push(rest.trim());
    let (artist, song) = match parts.as_slice() {
        [_, artist, song] | [artist, song] => (*artist, *song),
        _ => return None,
    };
    // The brackets the title ends with, last first, as long as they are noise ("(Official
    // Video) [4K]", "(Official Video) (HD)"): one of them says it is a video.
    let mut tail = song.trim_end();
    while !video
        && let Some(close) = tail.chars().next_back().filter(|c| matches!(c, ')' | ']'))
        && let Some(at) = tail.rfind(if close == ')' { '(' } else { '[' })
    {
        let words = normalize_text(&tail[at..]);
        if !words.split(' ').all(title::is_noise_word) {
            break;
        }
        video = says_video(&tail[at..]);
        tail = tail[..at].trim_end();
    }
    // A name written with its other script in brackets ("IU(아이유)"): the name.
    let artist = match artist.find(['(', '[']) {
        Some(at) if at > 0 && artist.ends_with([')', ']']) => artist[..at].trim(),
        _ => artist,
    };
    (parts.iter().all(|part| !part.is_empty()) && video)
        .then(|| (artist.to_string(), song.to_string()))
}

/// An upload's title without what the site adds around it: the hashtags it ends with
/// ("#shorts"), "M/V" written as one word, and video words after the last bracket put in
/// brackets ("Title (Lies) Official MV" → "Title (Lies) (Official MV)").
fn upload_title(title: &str) -> String {
    let mut rest = title.trim_end();
    while let Some(at) = rest.rfind(" #") {
        let tag = &rest[at + 2..];
        // A hashtag starts with a letter: "Mambo #5" keeps its number.
        if !tag.starts_with(char::is_alphabetic)
            || !tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            break;
        }
        rest = rest[..at].trim_end();
    }
    let mut title = rest.replace("M/V", "MV").replace("m/v", "mv");
    if let Some(close) = title.rfind([')', ']'])
        && close + 1 < title.len()
    {
        let tail = title[close + 1..].trim();
        let words = normalize_text(tail);
        if !words.is_empty() && words.split(' ').all(title::is_noise_word) {
            title = format!("{} ({tail})", title[..=close].trim_end());
        }
    }
    title
}

/// Reads the way Korean and Japanese labels title their uploads: `Artist 'Title' M/V`,
/// `Artist (아티스트) "Title" Official MV`, `Artist「Title」Music Video`. The title is the
/// quoted text; what follows it is kept in brackets (so it is weighed like any other
/// bracket: "Official MV" is where it was posted, "Dance Practice" is something else). The
/// text before the quote is the artist when it names the uploader, or when the uploader is a
/// channel of another name and the words after the quote say it is a video.
fn quoted_upload(uploader: &str, title: &str) -> Option<(String, String)> {
    const QUOTES: [(char, char); 6] = [
        ('\'', '\''),
        ('\u{2018}', '\u{2019}'),
        ('"', '"'),
        ('\u{201C}', '\u{201D}'),
        ('\u{300C}', '\u{300D}'),
        ('\u{300E}', '\u{300F}'),
    ];
    for (open, close) in QUOTES {
        // An opening quote after a space (or a bracket), not an apostrophe inside a word.
        let Some(start) = title.char_indices().find_map(|(at, c)| {
            (c == open
                && at > 0
                && title[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|before| before.is_whitespace() || before == ')' || open != '\''))
            .then_some(at)
        }) else {
            continue;
        };
        let inner_start = start + open.len_utf8();
        let Some(length) = title[inner_start..].char_indices().find_map(|(at, c)| {
            let after = &title[inner_start + at + c.len_utf8()..];
            (c == close
                && at > 0
                && (close != '\''
                    || after.is_empty()
                    || after.starts_with(|c: char| c.is_whitespace() || c == '(' || c == '[')))
            .then_some(at)
        }) else {
            continue;
        };
        let quoted = title[inner_start..inner_start + length].trim();
        let mut before = title[..start].trim();
        let after = title[inner_start + length + close.len_utf8()..].trim();
        // Video words before the quote ("Artist MV「Title」", "Artist Official MV 'Title'").
        let mut video_before = false;
        while let Some((rest, word)) = before.rsplit_once(' ')
            && matches!(normalize_text(word).as_str(), "mv" | "pv" | "official")
        {
            video_before |= normalize_text(word) != "official";
            before = rest.trim_end();
        }
        // The artist without a bracketed other name ("BTS (방탄소년단)").
        let artist = match before.find(['(', '[']) {
            Some(at) if at > 0 => before[..at].trim(),
            _ => before,
        };
        if quoted.is_empty() || artist.is_empty() {
            continue;
        }
        let names_uploader = !uploader.is_empty()
            && (compact_name(artist) == compact_name(uploader)
                || name_similarity(&normalize_text(artist), &normalize_text(uploader)) >= 0.8);
        let after_words = normalize_text(after);
        let says_video = video_before
            || (after_words
                .split(' ')
                .any(|word| matches!(word, "mv" | "video"))
                && after_words.split(' ').all(title::is_noise_word));
        if !(names_uploader || says_video) {
            continue;
        }
        let title = if after.is_empty() {
            quoted.to_string()
        } else if after.starts_with(['(', '[']) {
            format!("{quoted} {after}")
        } else {
            format!("{quoted} ({after})")
        };
        return Some((artist.to_string(), title));
    }
    None
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

/// True for a word that says which mix of a recording a version is without naming a
/// remixer ("US", "LP", "alternate", "rough", a year): "(US Mix)", "(1999 Remix)"; also the
/// mixes a label makes of one recording for clubs, dance floors and formats, named by their
/// use, length or medium ("(Extended Mix)", "(Club Mix)", "(12\" Version)", "(Dub Mix)",
/// "(Full Length Mix)", "(Vinyl Mix)").
pub fn is_unnamed_mix_word(word: &str) -> bool {
    const FORMAT_WORDS: [&str; 15] = [
        "extended",
        "club",
        "dance",
        "disco",
        "dub",
        "vocal",
        "long",
        "short",
        "full",
        "length",
        "vinyl",
        "cd",
        "promo",
        "headphone",
        "re",
    ];
    if FORMAT_WORDS.contains(&word) {
        return true;
    }
    const WORDS: [&str; 15] = [
        "us",
        "uk",
        "lp",
        "ep",
        "alternate",
        "alternative",
        "alt",
        "rough",
        "early",
        "new",
        "original",
        "final",
        "first",
        "unreleased",
        "mix",
    ];
    WORDS.contains(&word) || (word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()))
}

/// Words after which a numeral names a part, number or catalogue entry ("Part II", "No. 5",
/// "Op. 27", "K. 525").
const NUMBER_CONTEXT_WORDS: [&str; 15] = [
    "part", "pt", "pts", "no", "nos", "number", "vol", "volume", "chapter", "act", "book", "op",
    "opus", "movement", "k",
];

/// The value of a Roman numeral from I to XX ("ii", "iv", "xii"), canonical forms only.
pub(crate) fn roman_value(word: &str) -> Option<u32> {
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
pub(crate) fn same_number(a: u32, b: u32) -> bool {
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
/// assert!(numbers_agree("1 2 3 4", "1234"));
/// assert!(!numbers_agree("1 2 3 4", "1243"));
/// ```
pub fn numbers_agree(a: &str, b: &str) -> bool {
    let agree = |a: &str, b: &str| {
        let (ours, theirs) = (title_numbers(a), title_numbers(b));
        ours.within(&theirs) || theirs.within(&ours)
    };
    // Digits written apart are also the number they spell joined ("1 2 3 4" and "1234").
    agree(a, b)
        || match (joined_digits(a), joined_digits(b)) {
            (None, None) => false,
            (ours, theirs) => agree(ours.as_deref().unwrap_or(a), theirs.as_deref().unwrap_or(b)),
        }
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

#[cfg(test)]
mod tests;
