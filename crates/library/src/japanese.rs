//! Japanese names and titles in Latin letters: does "Kyu Sakamoto" read `坂本九`, "Hakujitsu"
//! `白日`, "Joe Hisaishi" `久石譲`?
//!
//! Kana spell their sounds, so their Latin letters (deunicode) are what a romanisation writes.
//! Kanji do not: deunicode reads them as Chinese (`坂本九` → "ban ben jiu"), and which of a
//! kanji's readings a word uses takes a dictionary of words. A matcher does not need to *pick*
//! the reading, only to know whether a given romanisation is *one of* them: each kanji is read
//! by any of its on and kun readings (the kun readings also by their stems, as okurigana
//! follow in kana), voiced after the first character (rendaku: `田` "ta" in "Yamada"), or cut
//! short before a doubled consonant ("Nippon"). The readings are those of the Unicode Han
//! Database for the kanji of everyday and name use (`data/kanji-readings.tsv`, some 3,000
//! characters, 64 KB); others are read as deunicode reads them.
//!
//! Both sides are compared in one reduced form that the usual romanisations (Hepburn,
//! Kunrei, and the long vowels written "ou", "oh", "ō" or not at all) all reach; a text of ten
//! letters or more may differ in one of them ("Joe" for `譲` "jō").

use std::collections::HashMap;
use std::sync::OnceLock;

/// The readings table: kanji, on readings, kun readings (lower case, space-separated).
const TABLE: &str = include_str!("../data/kanji-readings.tsv");

/// A text of this many reduced letters or more may differ from a reading in one letter.
const ONE_SLIP_FROM: usize = 10;

/// Fewest reduced letters a romanisation must have to be compared at all.
const MIN_LETTERS: usize = 4;

/// The readings of each kanji, reduced.
fn readings() -> &'static HashMap<char, Vec<Vec<u8>>> {
    static READINGS: OnceLock<HashMap<char, Vec<Vec<u8>>>> = OnceLock::new();
    READINGS.get_or_init(|| {
        let mut map = HashMap::new();
        for line in TABLE.lines().filter(|line| !line.starts_with('#')) {
            let mut fields = line.split('\t');
            let Some(kanji) = fields.next().and_then(|k| k.chars().next()) else {
                continue;
            };
            let on = fields.next().unwrap_or("");
            let kun = fields.next().unwrap_or("");
            let mut forms: Vec<Vec<u8>> = Vec::new();
            let mut add = |form: Vec<u8>| {
                if !form.is_empty() && !forms.contains(&form) {
                    forms.push(form);
                }
            };
            for reading in on.split(' ').filter(|r| !r.is_empty()) {
                let reduced = reduce(reading);
                // Cut short before a doubled consonant: "nichi" in "nippon", "gaku" in
                // "gakkou" (the doubled letter counts once in the reduced form).
                for tail in [&b"tu"[..], b"ti", b"ku", b"ki"] {
                    if reduced.len() > tail.len() + 1 && reduced.ends_with(tail) {
                        add(reduced[..reduced.len() - tail.len()].to_vec());
                    }
                }
                add(reduced);
            }
            for reading in kun.split(' ').filter(|r| !r.is_empty()) {
                let reduced = reduce(reading);
                // The stem: what the kanji itself stands for before its okurigana ("aru" of
                // "aruku" in `歩こう`, "hisa" of "hisashii" in `久石`).
                let shortest = reduced.len().saturating_sub(4).max(2);
                for end in shortest..reduced.len() {
                    add(reduced[..end].to_vec());
                }
                add(reduced);
            }
            map.insert(kanji, forms);
        }
        map
    })
}

/// True for a kanji (CJK unified ideographs and their extension A, compatibility forms).
fn is_kanji(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// True for hiragana, katakana (and their phonetic extensions and half-width forms).
fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF66}'..='\u{FF9F}')
}

/// True when the text has a kanji: what deunicode cannot read the Japanese way.
pub fn has_kanji(text: &str) -> bool {
    text.chars().any(is_kanji)
}

/// The form every romanisation of one Japanese text reaches: letters only, Hepburn spellings
/// as Kunrei ones ("shi" → "si", "chi" → "ti", "tsu" → "tu", "fu" → "hu", "ji" → "zi", "sh" →
/// "sy", "ch" → "ty", "j" → "zy"), "m" before "b", "p", "m" as "n", "ou" and "oh" before a
/// consonant as "o", "wo" as "o", and doubled letters once (long vowels, doubled consonants).
pub(crate) fn reduce(text: &str) -> Vec<u8> {
    let letters: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    const SPELLINGS: [(&[u8], &[u8]); 11] = [
        (b"tsu", b"tu"),
        (b"shi", b"si"),
        (b"chi", b"ti"),
        (b"ji", b"zi"),
        (b"di", b"zi"),
        (b"du", b"zu"),
        (b"fu", b"hu"),
        (b"sh", b"sy"),
        (b"ch", b"ty"),
        (b"wo", b"o"),
        (b"j", b"zy"),
    ];
    let mut spelled: Vec<u8> = Vec::with_capacity(letters.len() + 4);
    let mut rest = letters.as_slice();
    while let Some(&first) = rest.first() {
        if let Some((from, to)) = SPELLINGS.iter().find(|(from, _)| rest.starts_with(from)) {
            spelled.extend_from_slice(to);
            rest = &rest[from.len()..];
            continue;
        }
        let next = rest.get(1).copied();
        spelled.push(
            if first == b'm' && matches!(next, Some(b'b' | b'p' | b'm')) {
                b'n'
            } else {
                first
            },
        );
        rest = &rest[1..];
    }
    let mut out: Vec<u8> = Vec::with_capacity(spelled.len());
    for (n, &c) in spelled.iter().enumerate() {
        let previous = out.last().copied();
        let next = spelled.get(n + 1).copied();
        let vowel = |c: Option<u8>| matches!(c, Some(b'a' | b'e' | b'i' | b'o' | b'u'));
        let long_o = previous == Some(b'o')
            && (c == b'u' || (c == b'h' && !vowel(next) && next != Some(b'y')));
        if previous == Some(c) || long_o {
            continue;
        }
        out.push(c);
    }
    out
}

/// One character (or run of kana or Latin letters) of the Japanese side, with the ways it
/// may be read.
struct Unit {
    forms: Vec<Vec<u8>>,
}

/// Voiced forms of a reading (rendaku): k → g, s → z, t → d and z, h → b and p.
fn voiced(form: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let voicings: &[u8] = match form.first() {
        Some(b'k') => b"g",
        Some(b's') => b"z",
        Some(b't') => b"dz",
        Some(b'h') => b"bp",
        _ => b"",
    };
    voicings.iter().map(move |v| {
        let mut out = form.to_vec();
        out[0] = *v;
        // "di" and "du" are written "zi" and "zu" in the reduced form.
        if out.starts_with(b"di") || out.starts_with(b"du") {
            out[0] = b'z';
        }
        out
    })
}

fn units(text: &str) -> Vec<Unit> {
    let table = readings();
    let mut units: Vec<Unit> = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, units: &mut Vec<Unit>| {
        if !run.is_empty() {
            let reduced = reduce(&deunicode::deunicode(run));
            if !reduced.is_empty() {
                units.push(Unit {
                    forms: vec![reduced],
                });
            }
            run.clear();
        }
    };
    for c in text.chars() {
        if is_kanji(c) {
            flush(&mut run, &mut units);
            let mut forms: Vec<Vec<u8>> = match table.get(&c) {
                Some(forms) => forms.clone(),
                None => vec![reduce(deunicode::deunicode_char(c).unwrap_or(""))],
            };
            if !units.is_empty() {
                let extra: Vec<Vec<u8>> = forms.iter().flat_map(|f| voiced(f)).collect();
                for form in extra {
                    if !forms.contains(&form) {
                        forms.push(form);
                    }
                }
            }
            forms.retain(|form| !form.is_empty());
            if !forms.is_empty() {
                units.push(Unit { forms });
            }
        } else if c.is_alphanumeric() || is_kana(c) {
            // Kana and Latin letters read as written, a whole run at once (so that "きゃ" is
            // "kya", not "kiya").
            run.push(c);
        } else {
            flush(&mut run, &mut units);
        }
    }
    flush(&mut run, &mut units);
    units
}

/// True when the Latin text `latin` is a reading of the Japanese `japanese` (which has a
/// kanji): every character read by one of its readings, in order, the whole text used.
/// `any_order` lets the Latin words come in another order (a name written given name first:
/// "Kyu Sakamoto" for `坂本九`).
pub fn reads_as(latin: &str, japanese: &str, any_order: bool) -> bool {
    if !latin.is_ascii() || !has_kanji(japanese) {
        return false;
    }
    let units = units(japanese);
    if units.is_empty() {
        return false;
    }
    let words: Vec<&str> = latin.split_whitespace().collect();
    if words.is_empty() || words.len() > 8 {
        return false;
    }
    let mut orders: Vec<Vec<&str>> = vec![words.clone()];
    if any_order && words.len() > 1 {
        if words.len() <= 3 {
            let mut all = Vec::new();
            permutations(
                &words,
                &mut Vec::new(),
                &mut vec![false; words.len()],
                &mut all,
            );
            orders = all;
        } else {
            orders.push(words.iter().rev().copied().collect());
        }
    }
    orders.iter().any(|order| {
        let query = reduce(&order.concat());
        query.len() >= MIN_LETTERS && spells(&query, &units)
    })
}

/// The first two letters of the readings of a name's first character, when the name has a
/// kanji (a one-letter reading ends in `*`): the keys under which a romanisation of the name
/// may be looked for.
pub fn reading_starts(japanese: &str) -> Vec<[u8; 2]> {
    if !has_kanji(japanese) {
        return Vec::new();
    }
    let units = units(japanese);
    let Some(first) = units.first() else {
        return Vec::new();
    };
    let mut starts: Vec<[u8; 2]> = first.forms.iter().map(|form| start_of(form)).collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// The keys of [`reading_starts`] a romanised name may be found under: the first letters of
/// each of its words (any word may come first), and the one-letter forms.
pub fn word_starts(latin: &str) -> Vec<[u8; 2]> {
    if !latin.is_ascii() {
        return Vec::new();
    }
    let words: Vec<&str> = latin.split_whitespace().collect();
    let mut starts = Vec::new();
    for (n, word) in words.iter().enumerate() {
        // A word of one letter runs into the next.
        let text: String = words[n..].concat();
        let reduced = reduce(if word.len() > 1 { word } else { &text });
        if let Some(&first) = reduced.first() {
            starts.push(start_of(&reduced));
            starts.push([first, b'*']);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

fn start_of(form: &[u8]) -> [u8; 2] {
    match form {
        [] => [b'*', b'*'],
        [one] => [*one, b'*'],
        [a, b, ..] => [*a, *b],
    }
}

fn permutations<'a>(
    words: &[&'a str],
    current: &mut Vec<&'a str>,
    used: &mut Vec<bool>,
    out: &mut Vec<Vec<&'a str>>,
) {
    if current.len() == words.len() {
        out.push(current.clone());
        return;
    }
    for n in 0..words.len() {
        if !used[n] {
            used[n] = true;
            current.push(words[n]);
            permutations(words, current, used, out);
            current.pop();
            used[n] = false;
        }
    }
}

/// True when `query` (reduced) is the units read one after the other, with at most one slip
/// (a letter another or one too many) in a text of [`ONE_SLIP_FROM`] letters or more.
fn spells(query: &[u8], units: &[Unit]) -> bool {
    const NONE: u8 = u8::MAX;
    let slips = if query.len() >= ONE_SLIP_FROM { 1 } else { 0 };
    // Fewest slips to have read the units so far up to each position of the query.
    let mut reached = vec![NONE; query.len() + 1];
    reached[0] = 0;
    for unit in units {
        let mut next = vec![NONE; query.len() + 1];
        for at in 0..=query.len() {
            let spent = reached[at];
            if spent == NONE {
                continue;
            }
            for form in &unit.forms {
                // Where the reduced query already holds the form's first letter (a doubled
                // letter or long "ou" across two characters counts once).
                let merged = at > 0
                    && (query[at - 1] == form[0] || (query[at - 1] == b'o' && form[0] == b'u'));
                let starts: &[usize] = if merged { &[0, 1] } else { &[0] };
                for &skip in starts {
                    let form = &form[skip..];
                    let end = at + form.len();
                    if end > query.len() {
                        continue;
                    }
                    let differing = query[at..end]
                        .iter()
                        .zip(form)
                        .filter(|(a, b)| a != b)
                        .count();
                    let cost = spent.saturating_add(differing as u8);
                    if usize::from(cost) <= slips && (differing == 0 || form.len() >= 3) {
                        next[end] = next[end].min(cost);
                    }
                }
            }
        }
        // A letter of the query that no reading has ("Joe" for "jo").
        for at in 0..query.len() {
            if next[at] != NONE && usize::from(next[at]) < slips {
                next[at + 1] = next[at + 1].min(next[at] + 1);
            }
        }
        if next.iter().all(|spent| *spent == NONE) {
            return false;
        }
        reached = next;
    }
    reached[query.len()] != NONE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanised_kanji_read_as_one_of_their_readings() {
        assert!(reads_as("kyu sakamoto", "坂本九", true));
        assert!(reads_as("sakamoto kyu", "坂本九", true));
        assert!(reads_as("hakujitsu", "白日", false));
        assert!(reads_as("joe hisaishi", "久石譲", true));
        assert!(reads_as("ue o muite aruko", "上を向いて歩こう", false));
        assert!(reads_as("ue wo muite arukou", "上を向いて歩こう", false));
        assert!(reads_as("yamada", "山田", false));
        assert!(reads_as("nippon", "日本", false));
        assert!(reads_as("tokyo", "東京", false));
        assert!(reads_as(
            "mayonaka no door stay with me",
            "真夜中のドア stay with me",
            false
        ));
    }

    #[test]
    fn other_words_do_not_read_as_kanji() {
        assert!(!reads_as("summer", "久石譲", true));
        assert!(!reads_as("sakamoto", "坂本九", true));
        assert!(!reads_as("kyu sakamoto", "坂本龍一", true));
        assert!(!reads_as("ryuichi sakamoto", "坂本九", true));
        assert!(!reads_as("hakujitsu", "白夜", false));
        assert!(!reads_as("kino", "キノ", false));
        assert!(!reads_as("hisaishi joe", "久石", true));
        assert!(!reads_as("tokyo", "京東", false));
    }

    #[test]
    fn romanisations_reduce_to_one_form() {
        assert_eq!(reduce("kyu"), reduce("kyuu"));
        assert_eq!(reduce("tokyo"), reduce("toukyou"));
        assert_eq!(reduce("Satoh"), reduce("satou"));
        assert_eq!(reduce("shinbun"), reduce("shimbun"));
        assert_eq!(reduce("tsuchi"), reduce("tuti"));
        assert_eq!(reduce("Jou"), reduce("zyo"));
    }
}
