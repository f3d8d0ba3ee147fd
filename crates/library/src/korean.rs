//! Korean names in Latin letters that are not romanisations: does "IU" read `아이유`, "BIGBANG"
//! `빅뱅`, "BLACKPINK" `블랙핑크`?
//!
//! A romanised Korean name ("Bangtan Sonyeondan" for `방탄소년단`) is already met by
//! deunicode's Latin letters, which follow the Revised Romanization. Many acts are named in
//! Latin letters, though, and written in Hangul *as Korean writes foreign words*: the letters'
//! names spelt out (`아이유` "I-U", `비티에스` "B-T-S"), or the English word transcribed by the
//! rules of the loanword orthography (외래어 표기법: `빅뱅` for "Big Bang", `세븐틴` for
//! "Seventeen", a vowel `ㅡ` after a consonant cluster or a final consonant: `블랙핑크`
//! "beul-raek-ping-keu"). Neither is a reading deunicode gives, and both are rules, not a
//! dictionary:
//!
//! - **letter names**: the Hangul is cut into the Korean names of the Latin letters (`에이`,
//!   `비`, `씨`, … `제트`), which must spell the Latin name letter for letter;
//! - **transcriptions**: both sides are reduced to the consonants a transcription keeps, in
//!   the classes the loanword rules map them to (p/b/f/v, t/d, k/g/c/q, s/z/j/ch/sh, l/r,
//!   m, n, ng; vowels, h, w, y and an r after a vowel left out; a final `ㅅ` is a t); the two
//!   must agree and hold at least four consonants, so short names ("TWICE", `트와이스`: t-s)
//!   are never met by their consonants alone.
//!
//! Syllables are taken apart by the arithmetic of the Unicode standard (§3.12: initial consonant, vowel and
//! tail jamo of a precomposed syllable), so no crate is needed.

use unicode_normalization::UnicodeNormalization;

/// First precomposed Hangul syllable (`가`) and the number of them.
const SYLLABLE_BASE: u32 = 0xAC00;
const SYLLABLES: u32 = 11_172;
/// Vowels × tails per initial consonant, tails per vowel.
const PER_INITIAL: u32 = 21 * 28;
const PER_VOWEL: u32 = 28;

/// True for a precomposed Hangul syllable.
pub fn is_syllable(c: char) -> bool {
    (SYLLABLE_BASE..SYLLABLE_BASE + SYLLABLES).contains(&u32::from(c))
}

/// True when the text has Hangul syllables.
pub fn has_hangul(text: &str) -> bool {
    text.chars().any(is_syllable)
}

/// True when the text has Hangul, whole syllables or taken apart into conjoining jamo (as
/// normalised text holds them): a look before the text is put together again.
fn may_have_hangul(text: &str) -> bool {
    text.chars()
        .any(|c| is_syllable(c) || ('\u{1100}'..='\u{11FF}').contains(&c))
}

/// The initial consonant, vowel and tail indexes of a syllable (tail 0: none).
fn jamo(c: char) -> Option<(u32, u32, u32)> {
    let offset = u32::from(c).checked_sub(SYLLABLE_BASE)?;
    (offset < SYLLABLES).then_some((
        offset / PER_INITIAL,
        (offset % PER_INITIAL) / PER_VOWEL,
        offset % PER_VOWEL,
    ))
}

/// The Korean names of the Latin letters, common variants included ("C" is `씨` or `시`, "R"
/// `알` or `아르`, "Z" `지`, `제트` or `즈`).
const LETTER_NAMES: [(char, &[&str]); 26] = [
    ('a', &["에이", "에"]),
    ('b', &["비"]),
    ('c', &["씨", "시"]),
    ('d', &["디"]),
    ('e', &["이"]),
    ('f', &["에프"]),
    ('g', &["지", "쥐"]),
    ('h', &["에이치", "에치"]),
    ('i', &["아이"]),
    ('j', &["제이"]),
    ('k', &["케이"]),
    ('l', &["엘"]),
    ('m', &["엠"]),
    ('n', &["엔"]),
    ('o', &["오"]),
    ('p', &["피"]),
    ('q', &["큐"]),
    ('r', &["알", "아르"]),
    ('s', &["에스"]),
    ('t', &["티"]),
    ('u', &["유"]),
    ('v', &["브이", "뷔"]),
    ('w', &["더블유", "더블류"]),
    ('x', &["엑스"]),
    ('y', &["와이"]),
    ('z', &["지", "제트", "즈", "젯"]),
];

/// True when `hangul` spells the letters of `latin` by their Korean names ("iu" and `아이유`,
/// "exid" and `이엑스아이디`). Spaces and punctuation on either side are left out; the Latin
/// side must be two to eight letters.
pub fn spells_letters(latin: &str, hangul: &str) -> bool {
    let letters: Vec<char> = latin
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !(2..=8).contains(&letters.len()) || latin.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let syllables: String = hangul.chars().filter(|c| is_syllable(*c)).collect();
    if syllables.is_empty()
        || hangul
            .chars()
            .any(|c| !is_syllable(c) && c.is_alphanumeric())
    {
        return false;
    }
    fn spell(letters: &[char], rest: &str) -> bool {
        let Some((first, others)) = letters.split_first() else {
            return rest.is_empty();
        };
        let Some((_, names)) = LETTER_NAMES.iter().find(|(letter, _)| letter == first) else {
            return false;
        };
        names.iter().any(|name| {
            rest.strip_prefix(name)
                .is_some_and(|after| spell(others, after))
        })
    }
    spell(&letters, &syllables)
}

/// The consonant classes a loanword transcription keeps, in order, consecutive repeats once:
/// `P` p/b/f/v, `T` t/d, `K` k/g/c/q, `S` s/z/j/ch/sh, `L` l/r, `M`, `N`, `G` ng.
fn hangul_consonants(hangul: &str) -> Option<Vec<u8>> {
    // Leads: ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ ㅈ ㅉ ㅊ ㅋ ㅌ ㅍ ㅎ.
    const INITIALS: &[u8; 19] = b"KKNTTLMPPSS-SSSKTP-";
    // Tails: none ㄱ ㄲ ㄳ ㄴ ㄵ ㄶ ㄷ ㄹ ㄺ ㄻ ㄼ ㄽ ㄾ ㄿ ㅀ ㅁ ㅂ ㅄ ㅅ ㅆ ㅇ ㅈ ㅊ ㅋ ㅌ ㅍ ㅎ
    // (a final ㅅ transcribes a t: `벨벳` "velvet").
    const TAILS: [&[u8]; 28] = [
        b"", b"K", b"K", b"K", b"N", b"N", b"N", b"T", b"L", b"L", b"L", b"L", b"L", b"L", b"L",
        b"L", b"M", b"P", b"P", b"T", b"T", b"G", b"T", b"T", b"K", b"T", b"P", b"",
    ];
    let mut out: Vec<u8> = Vec::new();
    let push = |class: u8, out: &mut Vec<u8>| {
        if class != b'-' && out.last() != Some(&class) {
            out.push(class);
        }
    };
    for c in hangul.chars() {
        match jamo(c) {
            Some((initial, _, tail)) => {
                push(INITIALS[initial as usize], &mut out);
                for class in TAILS[tail as usize] {
                    push(*class, &mut out);
                }
            }
            None if c.is_alphanumeric() => return None,
            None => {}
        }
    }
    Some(out)
}

/// The same classes for an English name as Korean transcribes it.
fn latin_consonants(latin: &str) -> Option<Vec<u8>> {
    let letters: Vec<u8> = latin
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    if latin.bytes().any(|b| b.is_ascii_digit()) || !latin.is_ascii() {
        return None;
    }
    let is_vowel = |b: Option<&u8>| matches!(b, Some(b'a' | b'e' | b'i' | b'o' | b'u' | b'y'));
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < letters.len() {
        let next = letters.get(i + 1);
        let after_vowel = i > 0 && is_vowel(letters.get(i - 1));
        let (class, used): (u8, usize) = match (letters[i], next) {
            // Not heard after a vowel ("light", `라이트`).
            (b'g', Some(b'h')) if after_vowel => (b'-', 2),
            (b'c', Some(b'k')) => (b'K', 2),
            (b'c' | b's', Some(b'h')) => (b'S', 2),
            (b'p', Some(b'h')) => (b'P', 2),
            (b't', Some(b'h')) => (b'S', 2),
            (b'n', Some(b'g')) => (b'G', 2),
            (b'n', Some(b'k')) => (b'G', 1),
            (b'q', Some(b'u')) => (b'K', 2),
            (b'c', Some(b'e' | b'i' | b'y')) => (b'S', 1),
            (b'c' | b'k' | b'g' | b'q', _) => (b'K', 1),
            (b'p' | b'b' | b'f' | b'v', _) => (b'P', 1),
            (b't' | b'd', _) => (b'T', 1),
            (b's' | b'z' | b'j', _) => (b'S', 1),
            (b'x', _) => {
                out.extend_from_slice(b"KS");
                i += 1;
                continue;
            }
            (b'l', _) => (b'L', 1),
            // An r before a vowel is transcribed (`레드` "red"); after one it is not heard.
            (b'r', next) if is_vowel(next) => (b'L', 1),
            (b'm', _) => (b'M', 1),
            (b'n', _) => (b'N', 1),
            _ => (b'-', 1),
        };
        if class != b'-' && out.last() != Some(&class) {
            out.push(class);
        }
        i += used;
    }
    Some(out)
}

/// The keys under which a name is looked up across the two scripts: the letters a Hangul name
/// spells by their names (or a short Latin name's letters), and the consonant classes of a
/// transcription (four or more). A Latin name and a Hangul name that [`reads_as`] each other
/// share a key.
pub fn lookup_keys(name: &str) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    if name.is_ascii() {
        let letters: Vec<u8> = name
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .map(|b| b.to_ascii_lowercase())
            .collect();
        if (2..=8).contains(&letters.len()) && !name.bytes().any(|b| b.is_ascii_digit()) {
            keys.push([b"L".as_slice(), &letters].concat());
        }
        if let Some(consonants) = latin_consonants(name).filter(|c| c.len() >= 4) {
            keys.push([b"C".as_slice(), &consonants].concat());
        }
        return keys;
    }
    if !may_have_hangul(name) {
        return keys;
    }
    let hangul: String = name.nfc().collect();
    if !has_hangul(&hangul) {
        return keys;
    }
    let syllables: String = hangul.chars().filter(|c| is_syllable(*c)).collect();
    if !hangul
        .chars()
        .any(|c| !is_syllable(c) && c.is_alphanumeric())
    {
        let mut spelt: Vec<Vec<u8>> = Vec::new();
        fn spell(rest: &str, so_far: &mut Vec<u8>, out: &mut Vec<Vec<u8>>) {
            if out.len() >= 8 || so_far.len() > 8 {
                return;
            }
            if rest.is_empty() {
                if so_far.len() >= 2 {
                    out.push([b"L".as_slice(), so_far].concat());
                }
                return;
            }
            for (letter, names) in LETTER_NAMES {
                for name in names {
                    if let Some(after) = rest.strip_prefix(name) {
                        so_far.push(letter as u8);
                        spell(after, so_far, out);
                        so_far.pop();
                    }
                }
            }
        }
        spell(&syllables, &mut Vec::new(), &mut spelt);
        keys.extend(spelt);
    }
    if let Some(consonants) = hangul_consonants(&hangul).filter(|c| c.len() >= 4) {
        keys.push([b"C".as_slice(), &consonants].concat());
    }
    keys
}

/// True when `hangul` writes the Latin name `latin` as Korean writes foreign names: its
/// letters spelt by their names, or the word transcribed (at least four consonants agreeing).
///
/// ```
/// use cachearr_library::korean::reads_as;
/// assert!(reads_as("IU", "아이유"));
/// assert!(reads_as("BIGBANG", "빅뱅"));
/// assert!(reads_as("Blackpink", "블랙핑크"));
/// assert!(reads_as("Red Velvet", "레드벨벳"));
/// assert!(!reads_as("IU", "아이린"));
/// assert!(!reads_as("Twice", "트와이스")); // two consonants: too few to tell
/// ```
pub fn reads_as(latin: &str, hangul: &str) -> bool {
    if !latin.is_ascii() || !may_have_hangul(hangul) {
        return false;
    }
    // Normalised text holds its syllables taken apart (NFKD): put them together again.
    let hangul: String = hangul.nfc().collect();
    let hangul = hangul.as_str();
    if !has_hangul(hangul) {
        return false;
    }
    if spells_letters(latin, hangul) {
        return true;
    }
    match (latin_consonants(latin), hangul_consonants(hangul)) {
        (Some(ours), Some(theirs)) => ours.len() >= 4 && ours == theirs,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_spelt_by_their_names() {
        assert!(spells_letters("IU", "아이유"));
        assert!(spells_letters("B.T.S.", "비티에스"));
        assert!(spells_letters("exid", "이엑스아이디"));
        assert!(spells_letters("GD", "지디"));
        assert!(!spells_letters("IU", "아이"));
        assert!(!spells_letters("I", "아이"));
        assert!(!spells_letters("2NE1", "투애니원"));
        assert!(!spells_letters("IU", "아이유2"));
    }

    #[test]
    fn transcriptions_keep_their_consonants() {
        // Names written for the test: a transcription and its word meet, another word does not.
        assert!(reads_as("Starlight Parade", "스타라이트 퍼레이드"));
        assert!(reads_as("Silver Lantern", "실버 랜턴"));
        assert!(reads_as("Seventeen", "세븐틴"));
        assert!(!reads_as("Silver Lantern", "실버 라이트"));
        assert!(!reads_as("Starlight Parade", "스타라이트 퍼레이스"));
        // Too few consonants to tell: left to the album and the length.
        assert!(!reads_as("Aespa", "에스파"));
        assert!(!reads_as("Moon", "문"));
        // Not Hangul, not Latin.
        assert!(!reads_as("Kino", "Кино"));
        assert!(!reads_as("방탄", "방탄"));
        // Normalised text holds the syllables taken apart.
        let taken_apart: String = "빅뱅".nfkd().collect();
        assert!(reads_as("bigbang", &taken_apart));
    }

    #[test]
    fn names_that_read_each_other_share_a_lookup_key() {
        for (latin, hangul) in [
            ("iu", "아이유"),
            ("bigbang", "빅뱅"),
            ("silver lantern", "실버 랜턴"),
        ] {
            let ours = lookup_keys(latin);
            assert!(
                lookup_keys(hangul).iter().any(|key| ours.contains(key)),
                "{latin} / {hangul}"
            );
        }
        assert!(lookup_keys("twice").iter().all(|key| key[0] == b'L'));
        assert!(lookup_keys("방탄소년단").iter().all(|key| key[0] == b'C'));
    }
}
