//! Text as exports, logs and scrapers garble it, read back: URL-encoded fields, HTML entities,
//! UTF-8 read as Latin-1, sort names ("Beatles, The"), a cue's number before a soundtrack's
//! title, number words in act names; and the album names that say a release gathers
//! recordings made for other releases (compilations, soundtracks).

use super::*;

/// The text a garbled field stands for, when it is garbled in a way that can be read back
/// exactly: URL encoding (`+` for spaces, `%27`), HTML entities (`&amp;`, `&#39;`), and UTF-8
/// read as Latin-1 or Windows-1252 (`CafÃ©` for `Café`). `None` when nothing changes.
///
/// ```
/// use cachearr_library::normalize::repaired_text;
/// assert_eq!(repaired_text("Don%27t+Stop").as_deref(), Some("Don't Stop"));
/// assert_eq!(repaired_text("Beyonc%E9").as_deref(), Some("Beyoncé"));
/// assert_eq!(repaired_text("Rock &amp; Roll").as_deref(), Some("Rock & Roll"));
/// assert_eq!(repaired_text("CafÃ© Ã‰lan").as_deref(), Some("Café Élan"));
/// assert_eq!(repaired_text("Mr.+Brightside").as_deref(), Some("Mr. Brightside"));
/// assert_eq!(repaired_text("Love + Hate"), None);
/// assert_eq!(repaired_text("Café"), None);
/// ```
pub fn repaired_text(raw: &str) -> Option<String> {
    let mut text = raw.to_string();
    // Twice, for a field encoded twice ("&amp;#39;", "%2527").
    for _ in 0..2 {
        if let Some(decoded) = url_decoded(&text) {
            text = decoded;
        }
        if let Some(decoded) = html_decoded(&text) {
            text = decoded;
        }
    }
    // Twice too: UTF-8 read as Latin-1 and written out again ("CafÃƒÂ©").
    for _ in 0..2 {
        if let Some(decoded) = utf8_from_latin1(&text) {
            text = decoded;
        }
    }
    let text = text.trim().to_string();
    (text != raw.trim() && !text.is_empty()).then_some(text)
}

/// A field URL-encoded: `%XX` escapes, or `+` for every space (a field with no space and a
/// `+` between two words). The bytes are read as UTF-8, else as Latin-1.
fn url_decoded(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let escapes = bytes
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    // A word may end in a mark before the `+` ("Mr.+Brightside", "Don't+Stop!+Now").
    let plus_for_space = !raw.contains(' ')
        && bytes.windows(3).any(|w| {
            w[1] == b'+'
                && (w[0].is_ascii_alphanumeric() || b".,!?')".contains(&w[0]))
                && w[2].is_ascii_alphanumeric()
        });
    if !escapes && !plus_for_space {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' if bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit) =>
            {
                let hex = std::str::from_utf8(&bytes[at + 1..at + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                at += 3;
            }
            b'+' if plus_for_space => {
                out.push(b' ');
                at += 1;
            }
            byte => {
                out.push(byte);
                at += 1;
            }
        }
    }
    // Escapes of Latin-1 or Windows-1252 bytes ("Beyonc%E9"), as older pages write them,
    // where the bytes make no UTF-8.
    let text = match String::from_utf8(out) {
        Ok(text) => text,
        Err(error) => error
            .into_bytes()
            .into_iter()
            .map(latin1_char)
            .collect::<Option<String>>()?,
    };
    (text != raw).then_some(text)
}

/// The character a byte stands for in Latin-1, or in Windows-1252's 0x80–0x9F.
fn latin1_char(byte: u8) -> Option<char> {
    if !(0x80..0xA0).contains(&byte) {
        return Some(char::from(byte));
    }
    CP1252.iter().find(|(_, b)| *b == byte).map(|(c, _)| *c)
}

/// HTML entities read back: the five of XML, numeric ones, and the named letters and
/// punctuation titles use.
fn html_decoded(raw: &str) -> Option<String> {
    if !raw.contains('&') || !raw.contains(';') {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut changed = false;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let entity = after
            .find(';')
            .filter(|end| *end <= 10)
            .and_then(|end| entity_char(&after[..end]).map(|c| (c, end)));
        match entity {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
                changed = true;
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

fn entity_char(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "rsquo" | "lsquo" => '\'',
        "ldquo" | "rdquo" => '"',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "eacute" => 'é',
        "Eacute" => 'É',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "aacute" => 'á',
        "agrave" => 'à',
        "acirc" => 'â',
        "iacute" => 'í',
        "oacute" => 'ó',
        "ocirc" => 'ô',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "Ntilde" => 'Ñ',
        "ccedil" => 'ç',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "aring" => 'å',
        "Aring" => 'Å',
        "oslash" => 'ø',
        "Oslash" => 'Ø',
        "aelig" => 'æ',
        _ => return None,
    })
}

/// UTF-8 that was read as Latin-1 or Windows-1252 ("CafÃ©", "BeyoncÃ©", "Ð\u{9f}Ð¾Ð»Ðµ"),
/// read back: every letter maps back to one byte and the bytes make UTF-8 with a letter
/// beyond ASCII. Text written in Latin-1 on purpose almost never does.
fn utf8_from_latin1(raw: &str) -> Option<String> {
    if raw.is_ascii() {
        return None;
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(raw.len());
    for c in raw.chars() {
        bytes.push(latin1_byte(c)?);
    }
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_ascii() && text != raw).then_some(text)
}

/// Windows-1252's letters and marks at 0x80–0x9F, where Latin-1 has control codes.
const CP1252: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

/// The byte a character stands for in Latin-1, or in Windows-1252's 0x80–0x9F.
fn latin1_byte(c: char) -> Option<u8> {
    if let Ok(byte) = u8::try_from(u32::from(c)) {
        return Some(byte);
    }
    CP1252
        .iter()
        .find(|(letter, _)| *letter == c)
        .map(|(_, byte)| *byte)
}

/// A name written as a sort name, its article after a comma ("Beatles, The", "Pogues, The",
/// "Ramones, Los"), turned back: `Some("The Beatles")`; `None` for any other name.
///
/// ```
/// use cachearr_library::normalize::sort_name_unfolded;
/// assert_eq!(sort_name_unfolded("Kinks, The").as_deref(), Some("The Kinks"));
/// assert_eq!(sort_name_unfolded("Earth, Wind & Fire"), None);
/// ```
pub fn sort_name_unfolded(raw: &str) -> Option<String> {
    let (name, article) = raw.trim().rsplit_once(',')?;
    let article = article.trim();
    let known = [
        "the", "a", "an", "los", "las", "el", "la", "le", "les", "die", "der", "das", "il", "de",
    ];
    (!name.trim().is_empty()
        && !name.contains(',')
        && known.contains(&article.to_lowercase().as_str()))
    .then(|| format!("{article} {}", name.trim()))
}

/// A soundtrack's title with the cue's or the track's number before it, as score and game
/// releases and rips write them ("12 - Crossing the Ridge", "Iron Meadow OST: 100 - The
/// Ridge", "OST - 3. Title"): the title alone, else `None`.
///
/// ```
/// use cachearr_library::normalize::without_cue_number;
/// assert_eq!(without_cue_number("Film OST: 100 - Far Shore").as_deref(), Some("Far Shore"));
/// assert_eq!(without_cue_number("07. Far Shore").as_deref(), Some("Far Shore"));
/// assert_eq!(without_cue_number("1-04 Far Shore").as_deref(), Some("Far Shore"));
/// assert_eq!(without_cue_number("99 Red Balloons"), None);
/// assert_eq!(without_cue_number("1999"), None);
/// ```
pub fn without_cue_number(title: &str) -> Option<String> {
    let mut rest = title.trim();
    // "Film OST:", "Game Soundtrack -", "O.S.T.:": what names the release before the cue.
    if let Some(at) = rest.find([':', '-', '–']) {
        let head = normalize_text(&rest[..at]);
        if head
            .split(' ')
            .any(|word| matches!(word, "ost" | "soundtrack" | "score"))
        {
            rest = rest[at + rest[at..].chars().next().map_or(1, char::len_utf8)..].trim();
        }
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return (rest != title.trim() && !rest.is_empty()).then(|| rest.to_string());
    }
    let mut after = &rest[digits..];
    // A disc's number and the track's ("1-04").
    if let Some(track) = after.strip_prefix('-') {
        let more = track.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=3).contains(&more) && track[more..].starts_with(' ') {
            after = &track[more..];
        }
    }
    let separated = after.trim_start().strip_prefix(['-', '–', '.', ')', ':']);
    let name = match separated {
        Some(name) => name,
        // "1-04 Title" without a dash after.
        None if after.len() < rest.len() - digits => after,
        None => return None,
    }
    .trim();
    (!name.is_empty() && name.chars().any(char::is_alphabetic)).then(|| name.to_string())
}

/// A normalised act's name as it is said, so that the ways of writing one name meet: its
/// numbers as digits, hundreds, thousands and ordinals too ("ten thousand maniacs" and "10
/// 000 maniacs" as "10000 maniacs", "fifth harmony" as "5th harmony", "haircut one hundred"
/// as "haircut 100"), a lone "n" as "and" ("guns n roses", "salt n pepa"), the titles
/// "mr", "dr", "st" and "mt" spelt out, and "degrees" after a number left out ("98°"
/// keeps only its digits). `None` when the name is said as it is written.
///
/// ```
/// use cachearr_library::normalize::spoken_name;
/// assert_eq!(spoken_name("ten thousand maniacs"), spoken_name("10 000 maniacs"));
/// assert_eq!(spoken_name("guns n roses").as_deref(), Some("guns and roses"));
/// assert_eq!(spoken_name("doctor hook"), None);
/// ```
pub fn spoken_name(name: &str) -> Option<String> {
    let words: Vec<&str> = name
        .split(' ')
        .filter(|word| !word.is_empty())
        .map(|word| match word {
            "n" => "and",
            "mr" => "mister",
            "dr" => "doctor",
            "st" => "saint",
            "mt" => "mount",
            other => other,
        })
        .collect();
    let mut said = super::title::canonical_numbers(&words);
    let mut at = 1;
    while at < said.len() {
        if said[at] == "degrees" && said[at - 1].bytes().all(|b| b.is_ascii_digit()) {
            said.remove(at);
        } else {
            at += 1;
        }
    }
    let said = said.join(" ");
    (said != name).then_some(said)
}

/// The other ways a film's, series' or game's theme is titled, for a title that is one:
/// "Theme from Ironwood", "Ironwood Theme", "Ironwood: Main Theme", "Ironwood (Main Theme)",
/// "Main Theme (Ironwood)", and the love theme's likewise ("Love Theme from Ironwood",
/// "Ironwood Love Theme"). Soundtracks and stores put the work's name before or after the
/// word, and "main" or not, for one cue. Normalised title words; none for another title.
///
/// ```
/// use cachearr_library::normalize::theme_forms;
/// assert!(theme_forms("Ironwood - Main Theme").contains(&"theme from ironwood".to_string()));
/// assert!(theme_forms("Love Theme (From \"Ironwood\")")
///     .contains(&"ironwood love theme".to_string()));
/// assert!(theme_forms("Themes of Ironwood").is_empty());
/// ```
pub fn theme_forms(raw: &str) -> Vec<String> {
    let text = normalize_text(raw);
    let mut words: Vec<&str> = text.split(' ').filter(|word| !word.is_empty()).collect();
    if words.first() == Some(&"the") {
        words.remove(0);
    }
    let Some(at) = words.iter().position(|word| *word == "theme") else {
        return Vec::new();
    };
    let (kind, name): (&[&str], &[&str]) = if at + 1 < words.len() {
        // "[Main] Theme [from] [the] Ironwood".
        let mut name = &words[at + 1..];
        if name.first() == Some(&"from") {
            name = &name[1..];
        }
        (&words[..at], name)
    } else {
        // "Ironwood [Main] Theme".
        let before = &words[..at];
        match before.last() {
            Some(&("main" | "love")) => (&before[before.len() - 1..], &before[..before.len() - 1]),
            _ => (&[][..], before),
        }
    };
    let love = match kind {
        [] | ["main"] => false,
        ["love"] => true,
        _ => return Vec::new(),
    };
    if name.is_empty() || name.iter().any(|word| matches!(*word, "theme" | "from")) {
        return Vec::new();
    }
    let name = name.join(" ");
    let forms: Vec<String> = if love {
        vec![
            format!("{name} love theme"),
            format!("love theme from {name}"),
        ]
    } else {
        vec![
            format!("{name} theme"),
            format!("theme from {name}"),
            format!("{name} main theme"),
            format!("main theme from {name}"),
        ]
    };
    let own = normalize_title_words(raw);
    let mut out: Vec<String> = Vec::new();
    for form in forms {
        let form = normalize_title_words(&form);
        if form != own && !out.contains(&form) {
            out.push(form);
        }
    }
    out
}

/// Number words in a normalised name written as digits ("maroon five" → "maroon 5",
/// "matchbox twenty" → "matchbox 20"), when it has one; compared both ways with the name's
/// digits ("Matchbox 20").
///
/// ```
/// use cachearr_library::normalize::number_words_as_digits;
/// assert_eq!(number_words_as_digits("maroon five").as_deref(), Some("maroon 5"));
/// assert_eq!(number_words_as_digits("matchbox twenty").as_deref(), Some("matchbox 20"));
/// assert_eq!(number_words_as_digits("maroon 5"), None);
/// ```
pub fn number_words_as_digits(name: &str) -> Option<String> {
    // The words the title's numbers are written with: units to nineteen, then the tens.
    use super::title::{TENS, UNITS};
    let value_of = |word: &str| {
        UNITS
            .iter()
            .position(|w| *w == word)
            .map(|at| at as u32)
            .or_else(|| {
                TENS.iter()
                    .position(|w| *w == word)
                    .map(|at| 20 + 10 * at as u32)
            })
    };
    if !name.split(' ').any(|word| value_of(word).is_some()) {
        return None;
    }
    // Tens and a unit after them are one number ("forty one" → "41").
    let words: Vec<&str> = name.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut at = 0;
    while at < words.len() {
        match value_of(words[at]) {
            Some(tens) if tens >= 20 && tens % 10 == 0 => {
                match words.get(at + 1).and_then(|next| value_of(next)) {
                    Some(unit) if (1..10).contains(&unit) => {
                        out.push((tens + unit).to_string());
                        at += 2;
                    }
                    _ => {
                        out.push(tens.to_string());
                        at += 1;
                    }
                }
            }
            Some(value) => {
                out.push(value.to_string());
                at += 1;
            }
            None => {
                out.push(words[at].to_string());
                at += 1;
            }
        }
    }
    Some(out.join(" "))
}

/// An act's name made only of symbols or punctuation ("!!!", "+/-", "†††"), which
/// normalising leaves empty, with or without a bracket saying how to say it ("!!! (Chk Chk
/// Chk)"): its characters without spaces, lower case; `None` for a name with letters or
/// digits.
///
/// ```
/// use cachearr_library::normalize::symbol_name;
/// assert_eq!(symbol_name(" !!! ").as_deref(), Some("!!!"));
/// assert_eq!(symbol_name("+/-").as_deref(), Some("+/-"));
/// assert_eq!(symbol_name("!!! (Tok Tok Tok)").as_deref(), Some("!!!"));
/// assert_eq!(symbol_name("Mø"), None);
/// assert_eq!(symbol_name("Mø (!!)"), None);
/// ```
pub fn symbol_name(raw: &str) -> Option<String> {
    // "!!! (Chk Chk Chk)": the name is the symbols, the bracket how to say them.
    let raw = match raw.split_once(" (") {
        Some((name, said)) if said.ends_with(')') && !name.trim().is_empty() => name,
        _ => raw,
    };
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    (!compact.is_empty() && !raw.chars().any(char::is_alphanumeric)).then_some(compact)
}

/// True when a normalised name names an ensemble or a label rather than an act: an
/// orchestra, a choir, a chamber group, a studio's or a game maker's sound team ("london
/// symphony orchestra", "rundfunkchor", "square enix music", "nintendo sound team"), as
/// scores and recordings of classical music credit them beside the composer.
///
/// ```
/// use cachearr_library::normalize::names_an_ensemble;
/// assert!(names_an_ensemble("harbour philharmonic orchestra"));
/// assert!(names_an_ensemble("tarvel sound team"));
/// assert!(!names_an_ensemble("orla finch"));
/// assert!(!names_an_ensemble("music"));
/// ```
pub fn names_an_ensemble(name: &str) -> bool {
    let words: Vec<&str> = name.split(' ').collect();
    words.len() >= 2
        && words.iter().enumerate().any(|(at, word)| {
            matches!(
                *word,
                "orchestra"
                    | "orchester"
                    | "orchestre"
                    | "orquesta"
                    | "orchestra's"
                    | "philharmonic"
                    | "philharmonia"
                    | "philharmoniker"
                    | "symphony"
                    | "symphoniker"
                    | "sinfonia"
                    | "sinfonietta"
                    | "ensemble"
                    | "choir"
                    | "chorus"
                    | "chor"
                    | "rundfunkchor"
                    | "voices"
                    | "singers"
                    | "consort"
                    | "camerata"
                    | "pops"
                    | "strings"
            ) || (*word == "sound" && words.get(at + 1) == Some(&"team"))
                || (*word == "music" && at + 1 == words.len())
        })
}

/// True when an album's name says it is a soundtrack or a score ("… (Original Motion
/// Picture Soundtrack)", "… OST", "Music from the Series …", "… (Original Score)").
pub fn names_a_soundtrack(album: &str) -> bool {
    let words = normalize_text(album);
    let words: Vec<&str> = words.split(' ').collect();
    words.iter().enumerate().any(|(at, word)| {
        matches!(*word, "soundtrack" | "ost" | "soundtracks")
            || (*word == "score" && at > 0)
            || (*word == "music"
                && words.get(at + 1).is_some_and(|next| *next == "from")
                && at + 2 < words.len())
            || (*word == "motion" && words.get(at + 1) == Some(&"picture"))
    })
}

/// True when two albums name one soundtrack however stores write it: "Ironwood OST",
/// "Ironwood (Original Motion Picture Soundtrack)" and "Music from Ironwood" are one, once
/// the words that say "soundtrack" are gone; at least one of them names a soundtrack, and
/// the film's name is left on both.
///
/// ```
/// use cachearr_library::normalize::same_soundtrack;
/// assert!(same_soundtrack("Ironwood OST", "Ironwood (Original Motion Picture Soundtrack)"));
/// assert!(!same_soundtrack("Ironwood II OST", "Ironwood (Original Score)"));
/// assert!(!same_soundtrack("Soundtrack", "Original Score"));
/// ```
pub fn same_soundtrack(ours: &str, theirs: &str) -> bool {
    let (a, b) = (soundtrack_stem(ours), soundtrack_stem(theirs));
    (names_a_soundtrack(ours) || names_a_soundtrack(theirs)) && !a.is_empty() && a == b
}

/// A soundtrack's name without the words that say "soundtrack": the film's, series' or
/// game's name ("ironwood" for "Music from Ironwood (Original Motion Picture Soundtrack)").
fn soundtrack_stem(album: &str) -> String {
    normalize_text(album)
        .split(' ')
        .filter(|word| {
            !matches!(
                *word,
                "original"
                    | "motion"
                    | "picture"
                    | "soundtrack"
                    | "soundtracks"
                    | "ost"
                    | "score"
                    | "music"
                    | "from"
                    | "the"
                    | "film"
                    | "movie"
                    | "series"
                    | "game"
                    | "video"
                    | "television"
                    | "tv"
                    | "netflix"
                    | "official"
            )
        })
        .collect::<Vec<&str>>()
        .join(" ")
}

/// True when `text` — words a soundtrack's entry carries beside the cue's title: its
/// bracket ("(From Ironwood)"), what comes before its dash ("Ironwood - Far Shore"), or the
/// artist field of an export that credits the work ("Ironwood OST") — names the film, series
/// or game `album` holds the music of: its name once the words that say "soundtrack" are
/// gone, four letters or more, is the album's, or begins a soundtrack's name ("Ironwood"
/// for "Ironwood: The Long Night (Original Score)").
///
/// ```
/// use cachearr_library::normalize::names_the_work;
/// assert!(names_the_work("From Ironwood", "Ironwood (Original Motion Picture Soundtrack)"));
/// assert!(names_the_work("Ironwood OST", "Ironwood"));
/// assert!(names_the_work("Ironwood", "Ironwood: The Long Night (Original Score)"));
/// assert!(!names_the_work("Ironwood", "Ironwood Nights"));
/// assert!(!names_the_work("Ironwood II", "Ironwood (Original Score)"));
/// ```
pub fn names_the_work(text: &str, album: &str) -> bool {
    let ours = soundtrack_stem(text);
    if ours.chars().filter(|c| c.is_alphanumeric()).count() < 4 {
        return false;
    }
    let theirs = soundtrack_stem(album);
    ours == theirs
        || (names_a_soundtrack(album)
            && theirs
                .strip_prefix(ours.as_str())
                .is_some_and(|rest| rest.starts_with(' ')))
}

/// The ways a soundtrack's entry may write the film's, series' or game's name into the cue's
/// title, as (the name, the title without it): in a closing bracket ("Far Shore (From
/// Ironwood)", "Far Shore \[Ironwood\]") or before a dash or colon ("Ironwood - Far Shore",
/// "Ironwood: Far Shore"). Whether the name is the work's is for [`names_the_work`] to say
/// against the album of the track found.
///
/// ```
/// use cachearr_library::normalize::title_and_work;
/// assert_eq!(
///     title_and_work("Far Shore (From \"Ironwood\")"),
///     vec![("From \"Ironwood\"".to_string(), "Far Shore".to_string())]
/// );
/// assert_eq!(
///     title_and_work("Ironwood - Far Shore"),
///     vec![("Ironwood".to_string(), "Far Shore".to_string())]
/// );
/// assert!(title_and_work("Far Shore").is_empty());
/// ```
pub fn title_and_work(title: &str) -> Vec<(String, String)> {
    let title = title.trim();
    let mut readings = Vec::new();
    for (open, close) in [('(', ')'), ('[', ']')] {
        if title.ends_with(close)
            && let Some(at) = title.rfind(open)
        {
            let work = title[at + 1..title.len() - 1].trim();
            let rest = title[..at].trim();
            if !work.is_empty() && rest.chars().any(char::is_alphanumeric) {
                readings.push((work.to_string(), rest.to_string()));
            }
        }
    }
    if let Some((work, rest)) = [" - ", " – ", ": "]
        .iter()
        .find_map(|separator| title.split_once(separator))
    {
        let (work, rest) = (work.trim(), rest.trim());
        if !work.is_empty() && rest.chars().any(char::is_alphanumeric) {
            readings.push((work.to_string(), rest.to_string()));
        }
    }
    readings
}

/// True when an album's name says it gathers recordings released elsewhere: a soundtrack
/// ([`names_a_soundtrack`]), hits, a best-of, a collection, an anthology of a year or a
/// span of years ("Summer Anthems 2019", "Hits 1990-2000", "Now That's What I Call Music!").
pub fn names_a_compilation(album: &str) -> bool {
    if names_a_soundtrack(album) {
        return true;
    }
    let words = normalize_text(album);
    let words: Vec<&str> = words.split(' ').collect();
    words.iter().enumerate().any(|(at, word)| {
        matches!(
            *word,
            "hits"
                | "greatest"
                | "collection"
                | "essential"
                | "essentials"
                | "anthems"
                | "compilation"
                | "classics"
                | "singles"
                | "playlist"
                | "favourites"
                | "favorites"
        ) || (*word == "best" && words.get(at + 1) == Some(&"of"))
            || (*word == "very" && words.get(at + 1) == Some(&"best"))
            || (matches!(*word, "now" | "top")
                && words.get(at + 1).is_some_and(|next| {
                    *next == "thats" || next.bytes().all(|b| b.is_ascii_digit())
                }))
            // A decade's hits: "80s", "1980s".
            || (word.len() >= 3
                && word.ends_with("0s")
                && word[..word.len() - 1].bytes().all(|b| b.is_ascii_digit()))
            // The years the hits span: "Past to Present 1977-1990".
            || (at + 1 < words.len()
                && [*word, words[at + 1]].iter().all(|year| {
                    year.len() == 4
                        && year.bytes().all(|b| b.is_ascii_digit())
                        && (year.starts_with("19") || year.starts_with("20"))
                })
                && *word < words[at + 1])
    })
}

/// True when a normalised text (`ours`) is the library's (`theirs`, `theirs_raw` as the
/// library writes it) spelt otherwise, by what scans and keyboards without accents do to
/// it: the library's accented letters transliterated ("ueber bruecken" for "Über
/// Brücken", "soeren" for "Søren", "aang" for "Ång"), or letters an OCR confuses: `1`, `I`
/// and `l`, `0` and `o`, `5` and `s` beside a letter or alone ("Marrow S" for "Marrow 5"),
/// `rn` and `m` ("Buming" for "Burning", "Bom" for "Born"), `vv` and `w` ("Novv"), `v` and
/// `y` ("Sundav"), and inside a word of six letters or more `cl` and `d`. One confusion in a text of under eight letters, else one per four letters (four at
/// most): the scan of a short name is trusted little. (The price: "Burn Notes" reads as the
/// library's "Bum Notes" by the same act; the entry must still accept on every other rule.)
///
/// ```
/// use cachearr_library::normalize::spelt_alike;
/// assert!(spelt_alike("ueber bruecken", "uber brucken", "Über Brücken"));
/// assert!(spelt_alike("midnight carouse1", "midnight carousel", "Midnight Carousel"));
/// assert!(spelt_alike("rai1road lu11aby", "railroad lullaby", "Railroad Lullaby"));
/// assert!(spelt_alike("buming orchard", "burning orchard", "Burning Orchard"));
/// assert!(spelt_alike("bom to run", "born to run", "Born to Run"));
/// assert!(spelt_alike("marrow s", "marrow 5", "Marrow 5"));
/// assert!(spelt_alike("sundav rnoming", "sunday morning", "Sunday Morning"));
/// assert!(spelt_alike("come back novv", "come back now", "Come Back Now"));
/// assert!(spelt_alike("ciocks", "clocks", "Clocks"));
/// assert!(spelt_alike("coldpiay", "coldplay", "Coldplay"));
/// assert!(!spelt_alike("torn notes", "bum notes", "Bum Notes"));
/// assert!(!spelt_alike("toe jam", "to jam", "To Jam"));
/// ```
pub fn spelt_alike(ours: &str, theirs: &str, theirs_raw: &str) -> bool {
    if ours == theirs {
        return false;
    }
    if !theirs_raw.is_ascii() {
        let mut spelt = String::with_capacity(theirs_raw.len() + 8);
        for c in theirs_raw.chars() {
            match c {
                'ä' | 'Ä' | 'æ' | 'Æ' => spelt.push_str("ae"),
                'ö' | 'Ö' | 'ø' | 'Ø' | 'œ' | 'Œ' => spelt.push_str("oe"),
                'ü' | 'Ü' => spelt.push_str("ue"),
                'å' | 'Å' => spelt.push_str("aa"),
                _ => spelt.push(c),
            }
        }
        if normalize_text(&spelt) == ours {
            return true;
        }
    }
    let letters = theirs.chars().filter(|c| c.is_alphanumeric()).count();
    let ((folded, pairs_ours), (other, pairs_theirs)) = (ocr_folded(ours), ocr_folded(theirs));
    if letters < 3 || folded != other {
        return false;
    }
    // A pair read as one letter ("rn" as "m") is one confusion but two edits.
    let confusions = strsim::osa_distance(ours, theirs).saturating_sub(pairs_ours + pairs_theirs);
    confusions
        <= if letters < 8 {
            1
        } else {
            (letters / 4).clamp(2, 4)
        }
}

/// A normalised text as an OCR may have read it, each confusable letter in one form: `1`,
/// `i` and `l` as `l`, `0` as `o`, `5` as `s` beside a letter or alone, `y` as `v`, `rn` and
/// `vv` as `m` and `w`, and inside a word of six letters or more `cl` (and `ci`, `c1`, its `l`
/// misread) as `d` ("clone" and "done" stay apart); and how many pairs were read as one letter.
fn ocr_folded(text: &str) -> (String, usize) {
    let mut folded = String::with_capacity(text.len());
    let mut pairs = 0;
    for (at, word) in text.split(' ').enumerate() {
        if at > 0 {
            folded.push(' ');
        }
        let chars: Vec<char> = word.chars().collect();
        let long = chars.len() >= 6;
        let mut i = 0;
        while i < chars.len() {
            let next = chars.get(i + 1).copied();
            match (chars[i], next) {
                ('r', Some('n')) => {
                    folded.push('m');
                    i += 2;
                    pairs += 1;
                    continue;
                }
                ('v', Some('v')) => {
                    folded.push('w');
                    i += 2;
                    pairs += 1;
                    continue;
                }
                // "ci" and "c1" too: "i" and "1" are the "l" of "cl" misread ("CIocks").
                ('c', Some('l' | 'i' | '1')) if long => {
                    folded.push('d');
                    i += 2;
                    pairs += 1;
                    continue;
                }
                _ => {}
            }
            let letter_beside =
                (i > 0 && chars[i - 1].is_alphabetic()) || next.is_some_and(char::is_alphabetic);
            folded.push(match chars[i] {
                '1' | 'i' => 'l',
                '0' => 'o',
                '5' if letter_beside || chars.len() == 1 => 's',
                'y' => 'v',
                c => c,
            });
            i += 1;
        }
    }
    (folded, pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbled_text_is_read_back_and_plain_text_left_alone() {
        for (raw, read) in [
            ("Kestrel%20Vane", "Kestrel Vane"),
            ("Tin+Roof+Blues", "Tin Roof Blues"),
            ("Orla &amp;amp; Ben", "Orla & Ben"),
            ("Don&rsquo;t", "Don't"),
            ("&#x4F;rla", "Orla"),
            ("Ã\u{89}lan", "Élan"),
            ("SÃ¸ren â€“ Tide", "Søren – Tide"),
            ("CafÃƒÂ©", "Café"),
        ] {
            assert_eq!(repaired_text(raw).as_deref(), Some(read), "{raw}");
        }
        for raw in [
            "Café Élan",
            "+/-",
            "AT&T",
            "Tide & Stone",
            "100%",
            "Søren",
            "C++",
        ] {
            assert_eq!(repaired_text(raw), None, "{raw}");
        }
    }

    #[test]
    fn letters_a_scan_confuses_are_alike_and_other_letters_are_not() {
        for (ours, theirs) in [
            ("larnplight vvillow", "lamplight willow"),
            ("rai1road lu11aby", "railroad lullaby"),
            ("raiiroad luiiaby", "railroad lullaby"),
            ("0wen pryce", "owen pryce"),
            ("cold harbour", "coid harbour"),
            ("b1ur", "blur"),
            ("tum tide", "turn tide"),
            ("clevil s clance", "devil s dance"),
        ] {
            assert!(spelt_alike(ours, theirs, theirs), "{ours} / {theirs}");
        }
        for (ours, theirs) in [
            // Other letters, or too many confusions for the text's length.
            ("lamplight glue", "lamplight glow"),
            ("b11r", "blur"),
            ("m1ll1on m1l3s", "million miles"),
            ("clone", "done"),
            ("tam tide", "turn tide"),
        ] {
            assert!(!spelt_alike(ours, theirs, theirs), "{ours} / {theirs}");
        }
    }

    #[test]
    fn sort_names_cue_numbers_and_number_words() {
        assert_eq!(
            sort_name_unfolded("Lanterns, The").as_deref(),
            Some("The Lanterns")
        );
        assert_eq!(sort_name_unfolded("Vane, Kestrel"), None);
        assert_eq!(
            without_cue_number("3. Far Shore").as_deref(),
            Some("Far Shore")
        );
        assert_eq!(
            without_cue_number("Iron Meadow Soundtrack - 14 - Far Shore").as_deref(),
            Some("Far Shore")
        );
        assert_eq!(without_cue_number("Far Shore"), None);
        assert_eq!(without_cue_number("7 Seas"), None);
        assert_eq!(
            number_words_as_digits("the forty thieves").as_deref(),
            Some("the 40 thieves")
        );
        assert_eq!(
            number_words_as_digits("sum forty one").as_deref(),
            Some("sum 41")
        );
        assert_eq!(number_words_as_digits("someone"), None);
    }

    #[test]
    fn soundtracks_and_compilations_by_their_names() {
        for album in [
            "Iron Meadow (Original Motion Picture Soundtrack)",
            "Iron Meadow OST",
            "Music from the Series Night Shift",
            "Iron Meadow (Original Score)",
        ] {
            assert!(names_a_soundtrack(album), "{album}");
            assert!(names_a_compilation(album), "{album}");
        }
        for album in [
            "Summer Anthems 2019",
            "Greatest Hits",
            "The Best of Orla Finch",
        ] {
            assert!(names_a_compilation(album), "{album}");
        }
        for album in [
            "Score",
            "Music",
            "Glasshouse",
            "Best Friends",
            "Hits Me Hard",
        ] {
            assert!(!names_a_soundtrack(album), "{album}");
        }
        assert!(!names_a_compilation("Glasshouse II"));
    }
}
