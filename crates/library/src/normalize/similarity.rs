//! How alike two normalised names or titles are: edit-distance similarity, name similarity
//! across initials, containment and scripts (Latin letters of other scripts, consonant
//! skeletons of abjads), and the trigrams the index finds names by.

use super::*;

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
pub(super) const SHORT: usize = 48;

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), as
/// `strsim::osa_distance`, without allocating for short strings.
///
/// Every title and name compared goes through here, so the table is not filled cell by cell:
/// Hyyrö's bit-parallel form of it (2003, as RapidFuzz computes it) keeps one column of the
/// table in a machine word's bits — `a` of up to [`SHORT`] characters — and moves it on by
/// one character of `b` in a dozen word operations. The distance is the same.
pub(super) fn osa_distance(a: &str, b: &str) -> usize {
    // Where each character of `a` stands, as bits: ASCII by table, the others by a short list.
    let mut ascii = [0u64; 128];
    let mut others = [('\0', 0u64); SHORT];
    let (mut len_a, mut len_others) = (0, 0);
    for c in a.chars() {
        if len_a == SHORT {
            return strsim::osa_distance(a, b);
        }
        let bit = 1u64 << len_a;
        if c.is_ascii() {
            ascii[c as usize] |= bit;
        } else if let Some(known) = others[..len_others].iter_mut().find(|(o, _)| *o == c) {
            known.1 |= bit;
        } else {
            others[len_others] = (c, bit);
            len_others += 1;
        }
        len_a += 1;
    }
    if len_a == 0 {
        return b.chars().count();
    }
    let positions = |c: char| {
        if c.is_ascii() {
            ascii[c as usize]
        } else {
            others[..len_others]
                .iter()
                .find(|(o, _)| *o == c)
                .map_or(0, |(_, bits)| *bits)
        }
    };
    let last = 1u64 << (len_a - 1);
    let (mut vp, mut vn, mut d0, mut previous) = (!0u64, 0u64, 0u64, 0u64);
    let mut distance = len_a;
    for c in b.chars() {
        let pm = positions(c);
        let transposed = ((!d0 & pm) << 1) & previous;
        d0 = (((pm & vp).wrapping_add(vp)) ^ vp) | pm | vn | transposed;
        let hp = vn | !(d0 | vp);
        let hn = d0 & vp;
        if hp & last != 0 {
            distance += 1;
        } else if hn & last != 0 {
            distance -= 1;
        }
        let hp = (hp << 1) | 1;
        let hn = hn << 1;
        vp = hn | !(d0 | hp);
        vn = hp & d0;
        previous = pm;
    }
    distance
}

/// Similarity of two normalised *names* (artists): the lower of the character similarity and
/// the word similarity (each word's best match on the other side, averaged over both sides),
/// so a shared long word does not make two names alike ("wind orchestra" vs "fire
/// orchestra" is 0.63, not 0.79), while a typo in one word still scores high. Names equal
/// but for spaces ("ac dc", "acdc") are equal. The order of the two names does not matter
/// (the matcher compares each pair of names once, whichever side it came from).
pub fn name_similarity(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    // Two names of one well-known act ("Ye" and "Kanye West", `방탄소년단` and "BTS").
    if super::same_act(a, b) {
        return super::SAME_ACT_SIMILARITY;
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
    // A name in Latin letters written in Hangul as Korean writes foreign names: its letters
    // spelt out (`아이유` "IU") or the word transcribed (`빅뱅` "BIGBANG").
    if latin < READING_SIMILARITY
        && (crate::korean::reads_as(a, b) || crate::korean::reads_as(b, a))
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
pub(super) const LOOSE_NAME_SIMILARITY: f32 = 0.9;

/// Two Latin names less alike than this are not compared in their [`loose_latin`] forms:
/// transliterations of one name are at least this alike as spelled.
pub(super) const LOOSE_NAME_FLOOR: f32 = 0.45;

/// What a name known by another form scores: initials ("rhcp" for "red hot chili peppers")
/// and a name inside a longer credit ("jimi hendrix" in "jimi hendrix experience", "simon" in
/// "paul simon"). Below an exact or near-exact spelling, above the artist floor.
pub(super) const ALIAS_SIMILARITY: f32 = 0.85;

/// True when `short` is the initials of `long`'s words (at least two words and two letters).
pub(super) fn is_initialism(short: &str, long: &str) -> bool {
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
pub(super) fn is_contained_name(short: &str, long: &str) -> bool {
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
pub(super) fn with_digits(name: &str) -> Option<String> {
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
pub(super) fn push_once(out: &mut String, c: char) {
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

/// True when the text has katakana, which Japanese writes foreign words and names in
/// ("ビリー・ジーン" for "Billie Jean").
pub fn has_katakana(text: &str) -> bool {
    text.chars().any(|c| matches!(c, '\u{30A1}'..='\u{30FA}'))
}

/// The consonants an English word and its katakana spelling share, in order: vowels, "h",
/// "w" and "y" left out, "l" as "r" and "v" as "b" (katakana has neither), "c", "q" as "k",
/// "z" and "j" as "s" (ジ reads "zi"), doubled letters once. On the katakana side the small "tsu" and the long-vowel
/// mark, which only lengthen a sound, are dropped before it is read in Latin letters; on the
/// English side an "r" before a consonant or at the end, which katakana leaves unwritten
/// ("Yesterday", イエスタデイ), and "th" as "s", "ph" as "f". "ビリー・ジーン" and "billie jean"
/// are both "brsn", "プラスティック・ラブ" and "plastic love" "prstkrb".
///
/// ```
/// use cachearr_library::normalize::katakana_skeleton;
/// assert_eq!(katakana_skeleton("ビリー・ジーン"), katakana_skeleton("billie jean"));
/// assert_eq!(katakana_skeleton("イエスタデイ"), katakana_skeleton("yesterday"));
/// assert_ne!(katakana_skeleton("ビリー・ジーン"), katakana_skeleton("beat it"));
/// assert_eq!(katakana_skeleton("ベルベット・ハーバー"), katakana_skeleton("velvet harbor"));
/// ```
pub fn katakana_skeleton(text: &str) -> String {
    let letters: Vec<u8> = if has_katakana(text) {
        let kept: String = text.chars().filter(|c| !matches!(c, 'ッ' | 'ー')).collect();
        deunicode::deunicode(&kept)
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .map(|b| b.to_ascii_lowercase())
            .collect()
    } else {
        // Words apart: "th" and "ph" are read within a word ("velvet harbor" has no "th").
        let raw: Vec<u8> = text
            .bytes()
            .map(|b| {
                if b.is_ascii_alphabetic() {
                    b.to_ascii_lowercase()
                } else {
                    b' '
                }
            })
            .collect();
        let vowel = |b: Option<&u8>| matches!(b, Some(b'a' | b'e' | b'i' | b'o' | b'u' | b'y'));
        let mut out = Vec::with_capacity(raw.len());
        let mut at = 0;
        while at < raw.len() {
            let (c, next) = (raw[at], raw.get(at + 1));
            match (c, next) {
                (b't', Some(b'h')) => {
                    out.push(b's');
                    at += 2;
                    continue;
                }
                (b'p', Some(b'h')) => {
                    out.push(b'f');
                    at += 2;
                    continue;
                }
                // A written "r" after a vowel and before a consonant or the end is not sounded.
                (b'r', _) if at > 0 && vowel(raw.get(at - 1)) && !vowel(next) => {}
                _ => out.push(c),
            }
            at += 1;
        }
        out
    };
    let mut out = String::new();
    for c in letters {
        let mapped = match c {
            b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'h' | b'w' | b' ' => continue,
            b'l' => 'r',
            b'v' => 'b',
            b'c' | b'q' => 'k',
            b'z' | b'j' => 's',
            b'x' => {
                push_once(&mut out, 'k');
                's'
            }
            c => char::from(c),
        };
        push_once(&mut out, mapped);
    }
    out
}

/// What equal consonant skeletons of an abjad text and a Latin one score.
pub(super) const SKELETON_SIMILARITY: f32 = 0.9;

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
    if let Some(katakana) = katakana_similarity(a, b) {
        best = best.max(katakana);
    }
    best
}

/// An English title or name and its katakana spelling ("ビリー・ジーン", "billie jean"): equal
/// [`katakana_skeleton`]s of four consonants or more score as equal abjad skeletons do;
/// `None` otherwise, or when neither side is in katakana and the other in plain Latin.
pub fn katakana_similarity(a: &str, b: &str) -> Option<f32> {
    let one_each = (has_katakana(a) && b.is_ascii()) || (has_katakana(b) && a.is_ascii());
    if !one_each {
        return None;
    }
    let (x, y) = (katakana_skeleton(a), katakana_skeleton(b));
    (x == y && x.len() >= 4).then_some(SKELETON_SIMILARITY)
}

pub(super) fn name_similarity_same_script(a: &str, b: &str) -> f32 {
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

pub(super) fn name_similarity_spelling(a: &str, b: &str) -> f32 {
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

/// True when two titles in Latin letters differ only by slips of typing: every word of each
/// is a word of the other or a slip of one (a letter dropped, added or doubled in a word of
/// four letters or more, two neighbouring letters swapped, one letter changed in a word of
/// six letters or more), or the titles are such a slip apart once their spaces are gone
/// ("Hey Ya" and "Heya"). A word of one title the other does not account for — "Too" for
/// "Do", "Love" for "Live", "Ghost" for "Host" — names something else: such titles are alike,
/// not the same. Numbers and their labels ("Part II", "Pt. 2", "No. 5") are left to
/// [`numbers_agree`]; only the labels' kind is compared here.
///
/// ```
/// use cachearr_library::normalize::differ_by_slips;
/// assert!(differ_by_slips("harbour ligths", "harbour lights"));
/// assert!(differ_by_slips("wall part ii", "wall pt 2"));
/// assert!(!differ_by_slips("love me too", "love me do"));
/// ```
pub fn differ_by_slips(a: &str, b: &str) -> bool {
    let (ours, theirs) = (words_beside_numbers(a), words_beside_numbers(b));
    if word_slip(&ours.concat(), &theirs.concat()) {
        return true;
    }
    let covered = |from: &[Vec<char>], into: &[Vec<char>]| {
        from.iter()
            .all(|word| into.iter().any(|other| word_slip(word, other)))
    };
    covered(&ours, &theirs) && covered(&theirs, &ours)
}

/// True when the normalised title `theirs` is `ours` with a number added — a part, a
/// sequel or a volume ("ring ding dong ii", "lantern ferry pt 2" for "lantern ferry") — and
/// `ours` names none: another song, whatever the similarity of the letters.
///
/// ```
/// use cachearr_library::normalize::adds_a_number;
/// assert!(adds_a_number("lantern ferry ii", "lantern ferry"));
/// assert!(adds_a_number("lantern ferry part 2", "lantern ferry"));
/// assert!(!adds_a_number("lantern ferry", "lantern ferry"));
/// assert!(!adds_a_number("lantern ferry 2", "lantern ferry 2"));
/// assert!(!adds_a_number("lantern ferry 525600 minutes", "lantern ferry"));
/// ```
pub fn adds_a_number(theirs: &str, ours: &str) -> bool {
    if title_numbers(theirs).as_slice().is_empty() || !title_numbers(ours).as_slice().is_empty() {
        return false;
    }
    let words = |title: &str| -> Vec<Vec<char>> {
        words_beside_numbers(title)
            .into_iter()
            .filter(|word| {
                !matches!(
                    word.iter().collect::<String>().as_str(),
                    "part" | "no" | "vol"
                )
            })
            .collect()
    };
    words(theirs) == words(ours)
}

/// A title's words without its numbers, labels of numbers in one spelling ("pt", "parts" as
/// "part"; "nr", "number", "numero", "nummer" as "no"; "volume" as "vol").
fn words_beside_numbers(title: &str) -> Vec<Vec<char>> {
    let roman = |word: &str| !word.is_empty() && word.chars().all(|c| "ivxlcdm".contains(c));
    let mut after_label = false;
    let mut words = Vec::new();
    for word in title.split_whitespace() {
        let label = match word {
            "part" | "parts" | "pt" | "pts" => Some("part"),
            "no" | "nos" | "nr" | "number" | "numero" | "nummer" => Some("no"),
            "vol" | "vols" | "volume" => Some("vol"),
            _ => None,
        };
        if let Some(label) = label {
            words.push(label.chars().collect());
            after_label = true;
            continue;
        }
        let digits = word.chars().all(|c| c.is_ascii_digit());
        // A Roman numeral after a label ("Part I", "Parts I V"), or of two letters or more
        // that reads as one ("II", "XIV"; not "mild" or "mix").
        let numeral = roman(word)
            && (after_label
                || (word.len() >= 2
                    && word.trim_start_matches('x').trim_start_matches("ix").len() <= 4
                    && ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", ""]
                        .contains(&word.trim_start_matches('x'))));
        if digits || numeral {
            continue;
        }
        after_label = false;
        words.push(word.chars().collect());
    }
    words
}
/// Equal, or one slip apart (see [`differ_by_slips`]).
fn word_slip(a: &[char], b: &[char]) -> bool {
    if a.is_empty() || b.is_empty() {
        return a == b;
    }
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        // One letter dropped, added or doubled.
        1 => {
            long.len() >= 4
                && (0..long.len())
                    .any(|at| long[..at] == short[..at] && long[at + 1..] == short[at..])
        }
        0 => {
            let differ: Vec<usize> = (0..a.len()).filter(|at| a[*at] != b[*at]).collect();
            match differ.as_slice() {
                // One letter changed.
                [_] => a.len() >= 6,
                // Two neighbours swapped.
                [x, y] => a.len() >= 3 && *y == x + 1 && a[*x] == b[*y] && a[*y] == b[*x],
                _ => false,
            }
        }
        _ => false,
    }
}
