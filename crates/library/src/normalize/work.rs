//! Classical titles: which work and which part of it a title names ([`WorkParts`]: key,
//! catalogue numbers, movement), and whether two titles name the same one ([`compare_works`]).

use super::*;

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
    /// ("gymnopedie no 1" for "Gymnopédie No. 1: Lent et douloureux"), or before a numbered
    /// movement ("moonlight sonata" for "Moonlight Sonata: I. Adagio"). Looked up for a
    /// query only: a library title's head would let a whole work stand for one movement.
    pub head: Option<String>,
    /// The work by its name and number alone, without key, catalogue or nickname ("symphony
    /// no 5" for "Symphony No. 5 in C minor, Op. 67: I. Allegro con brio", "piano sonata no
    /// 14"), or by its kind and key when it has no number ("violin concerto in e minor"):
    /// how shorthand names it. A work's identity, not a movement's: found by it, a movement
    /// needs its number or length to agree.
    pub numbered: Option<String>,
    /// The work by its nickname and kind ("moonlight sonata" for a sonata nicknamed
    /// "Moonlight", "pathetique symphony"): found by it, like [`WorkParts::numbered`].
    pub nickname: Option<String>,
    /// A piece of a set named as the piece, with what its heading says after the number
    /// ("gymnopedie no 1 lent et douloureux" for "3 Gymnopédies: No. 1, Lent et douloureux",
    /// "hungarian dance no 5 in g minor" for "Hungarian Dances, WoO 1: No. 5 in G Minor"):
    /// how playlists name it. The set's catalogue number is left out, so one number may
    /// name pieces of several sets ("Nocturnes, Op. 9: No. 2" and "Nocturnes, Op. 27: No. 2"
    /// are both "nocturne no 2"): found by it, a piece is offered, never accepted.
    pub piece: Option<String>,
}

impl WorkParts {
    /// The forms that name the work, not one of its movements: its catalogue identities, its
    /// name and number ("symphony no 5"), its nickname ("moonlight sonata"), and the work a
    /// movement named by number alone belongs to. A title found by one of these is the work's
    /// and, when only one of the two names a movement, may be the whole work instead.
    pub fn identity_forms(&self) -> impl Iterator<Item = &String> {
        let head = self
            .head
            .as_ref()
            .filter(|_| self.movement_number.is_some() && self.movement.is_none());
        // After an unnumbered subtitle ("Gymnopédie No. 1: Lent et douloureux") the number
        // names the piece itself.
        let subtitled = self.movement.is_some() && self.movement_number.is_none();
        let named = [&self.numbered, &self.nickname]
            .into_iter()
            .flatten()
            .filter(move |_| !subtitled);
        self.catalogue_keys.iter().chain(named).chain(head)
    }
}

/// The catalogue "number" of a posthumous opus ("Op. posth.").
pub const POSTHUMOUS: u32 = u32::MAX;

/// Catalogue labels, normalised, and the label they stand for.
pub(super) fn catalogue_label(word: &str) -> Option<&'static str> {
    Some(match word {
        "op" | "opus" => "op",
        "bwv" => "bwv",
        "k" | "kv" => "k",
        "rv" => "rv",
        // Debussy's works by Lesure: "L." and, in the 2003 catalogue, "CD" ("Suite
        // bergamasque, CD 82, L. 75"): one catalogue renumbered.
        "l" | "cd" => "l",
        "woo" => "woo",
        "hwv" => "hwv",
        "d" => "d",
        "sz" => "sz",
        "s" => "s",
        "twv" => "twv",
        // Wagner's works (WWV), Buxtehude's (BuxWV), Purcell's (Zimmerman, "Z."), Ravel's
        // (Marnat, "M."), Poulenc's (FP) and Bartók's (BB), as stores write them beside a
        // title ("Boléro, M. 81").
        "wwv" => "wwv",
        "buxwv" => "buxwv",
        "z" => "z",
        "m" => "m",
        "fp" => "fp",
        "bb" => "bb",
        "wab" => "wab",
        "trv" => "trv",
        "no" | "nr" | "n" | "number" | "num" | "numero" | "nummer" => "no",
        _ => return None,
    })
}

/// A catalogue number: digits with at most one letter after them ("71a"), or "posth".
pub(super) fn catalogue_number(word: &str) -> Option<u32> {
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

/// Köchel's sixth edition (1964) renumbered many of Mozart's works, adding a letter to the
/// number of the work it now follows ("K. 300i"); stores and labels write either number, or
/// both ("K. 331/300i", "KV 331 (300i)"). The first edition's number for each of the
/// best-known works' sixth-edition numbers, so both meet at one catalogue identity.
const KOECHEL_SIXTH: [(&str, u32); 52] = [
    ("123a", 381),
    ("125a", 136),
    ("125b", 137),
    ("125c", 138),
    ("158a", 165),
    ("173db", 183),
    ("186a", 201),
    ("186c", 358),
    ("186e", 191),
    ("189d", 279),
    ("189e", 280),
    ("189f", 281),
    ("189g", 282),
    ("189h", 283),
    ("189k", 200),
    ("205b", 284),
    ("248b", 250),
    ("284b", 309),
    ("284c", 311),
    ("285c", 313),
    ("285d", 314),
    ("293a", 301),
    ("293b", 302),
    ("293c", 303),
    ("293d", 305),
    ("297c", 299),
    ("300a", 297),
    ("300c", 304),
    ("300d", 310),
    ("300e", 265),
    ("300h", 330),
    ("300i", 331),
    ("300k", 332),
    ("300l", 306),
    ("315c", 333),
    ("316a", 365),
    ("320b", 334),
    ("320d", 364),
    ("368b", 370),
    ("370a", 361),
    ("373a", 379),
    ("375a", 448),
    ("383a", 394),
    ("384a", 388),
    ("385f", 396),
    ("385g", 397),
    ("385p", 414),
    ("386b", 412),
    ("386c", 407),
    ("387a", 413),
    ("387b", 415),
    ("417b", 421),
];

/// The number of a Köchel catalogue entry as the first edition wrote it ("300i" is 331, "525"
/// stays 525; see [`KOECHEL_SIXTH`]).
fn koechel_number(word: &str) -> Option<u32> {
    KOECHEL_SIXTH
        .iter()
        .find(|(sixth, _)| *sixth == word)
        .map(|(_, first)| *first)
        .or_else(|| catalogue_number(word))
}

/// The number of catalogue `label` written as `word`: Köchel's by its first edition.
fn labelled_number(label: &str, word: &str) -> Option<u32> {
    if label == "k" {
        koechel_number(word)
    } else {
        catalogue_number(word)
    }
}

/// A label and number written together ("k525", "no14", "bwv1008").
pub(super) fn glued_catalogue(word: &str) -> Option<(&'static str, u32)> {
    let letters = word.bytes().take_while(u8::is_ascii_lowercase).count();
    if letters == 0 || letters == word.len() {
        return None;
    }
    let label = catalogue_label(&word[..letters])?;
    // A lone "M" or "Z" glued to a number is a model's name more often than a catalogue's
    // ("M3", "Z4"): only written apart ("M. 81") do they name one.
    if matches!(label, "m" | "z") {
        return None;
    }
    Some((label, labelled_number(label, &word[letters..])?))
}

/// Words that never name a work on their own.
pub(super) fn is_work_stopword(word: &str) -> bool {
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
pub(super) fn scan_work(normalized: &str) -> (Option<String>, Vec<(&'static str, u32)>, Vec<&str>) {
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
        let entry = catalogue_label(word)
            .and_then(|label| Some((label, labelled_number(label, words.get(at + 1)?)?)));
        let entry = match entry {
            Some(entry) => Some((entry, 2)),
            None => glued_catalogue(word).map(|entry| (entry, 1)),
        };
        if let Some((entry, used)) = entry {
            catalogue.push(entry);
            at += used;
            // "K. 331/300i": the same work's number in Köchel's sixth edition after it.
            if entry.0 == "k"
                && words.get(at).is_some_and(|w| {
                    KOECHEL_SIXTH
                        .iter()
                        .any(|(sixth, first)| sixth == w && *first == entry.1)
                })
            {
                at += 1;
            }
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
pub(super) fn catalogue_keys(catalogue: &[(&'static str, u32)]) -> Vec<String> {
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
pub(super) fn movement_numeral(text: &str) -> (Option<u32>, &str) {
    let text = text.trim_start();
    // A Roman numeral alone ("Symphony No. 9 - IV") is the movement's number, without a name.
    let bare = text.trim_end_matches(['.', ' ']);
    if bare.len() >= 2
        && bare.bytes().all(|b| b"IVX".contains(&b))
        && let Some(value) = roman_value(&bare.to_ascii_lowercase())
    {
        return (Some(value), "");
    }
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
pub(super) fn split_movement(raw: &str) -> Option<(&str, Option<u32>, &str)> {
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
            // "Symphony No. 5 - I": a movement by its number alone.
            (None, name) if after_colon && bare_movement_number(name, &raw[..at]).is_some() => {
                return Some((&raw[..at], bare_movement_number(name, &raw[..at]), ""));
            }
            // "Gymnopédie No. 3 - Lent et grave": a numbered piece and its subtitle;
            // "Eine kleine Nachtmusik - Allegro": a movement by its tempo or form.
            (None, name)
                if colon.is_none()
                    && (names_piece_number(&raw[..at]) || names_a_movement(name)) =>
            {
                return Some((&raw[..at], None, name));
            }
            _ => {}
        }
    }
    let Some(at) = colon else {
        // "Moonlight Sonata III", "Symphony No. 6 \"Pathétique\" IV": a Roman numeral after
        // the work without a separator.
        let (work, numeral) = raw.trim_end().rsplit_once(char::is_whitespace)?;
        let work = work.trim_end_matches([' ', ',']);
        // "Symphony No. 40, Mvt. I", "Movement II": the numeral belongs to its label, which
        // [`movement_phrase`] reads; the label is no part of the work.
        let label = work
            .rsplit(|c: char| !c.is_alphanumeric())
            .find(|word| !word.is_empty())
            .is_some_and(|word| is_movement_label(&word.to_lowercase()));
        if label {
            return None;
        }
        return bare_movement_number(numeral, work).map(|number| (work, Some(number), ""));
    };
    match movement_numeral(&raw[at + 1..]) {
        // "Symphony No. 5: I".
        (None, name) if bare_movement_number(name, &raw[..at]).is_some() => {
            Some((&raw[..at], bare_movement_number(name, &raw[..at]), ""))
        }
        (number, name) => Some((&raw[..at], number, name)),
    }
}

/// A movement's number written alone after its work ("I", "III"), without a name, as
/// scrobbles and ripped tags write it: a Roman numeral in capitals from I to XII, after a
/// work that names its number ("Symphony No. 5", "Op. 27 No. 2") or a well-known nickname
/// ("Moonlight Sonata"). A lone "I" after any other title is no movement ("Love: I").
fn bare_movement_number(text: &str, work: &str) -> Option<u32> {
    let text = text.trim().trim_end_matches('.');
    if text.is_empty() || !text.bytes().all(|b| b"IVX".contains(&b)) {
        return None;
    }
    let value = roman_value(&text.to_ascii_lowercase())?;
    let numbered = names_numbered_work(work) || super::nicknames::names_a_nicknamed_work(work);
    ((1..=12).contains(&value) && numbered).then_some(value)
}

/// Tempo and form words a movement's heading starts with ("Allegro con brio", "Menuetto.
/// Allegretto", "Finale", "Prélude"): what a dash before them introduces.
const MOVEMENT_WORDS: [&str; 31] = [
    "allegro",
    "allegretto",
    "adagio",
    "adagietto",
    "andante",
    "andantino",
    "largo",
    "larghetto",
    "lento",
    "presto",
    "prestissimo",
    "vivace",
    "moderato",
    "maestoso",
    "scherzo",
    "menuetto",
    "minuet",
    "menuet",
    "rondo",
    "finale",
    "prelude",
    "fugue",
    "fuga",
    "aria",
    "sarabande",
    "gigue",
    "courante",
    "allemande",
    "gavotte",
    "toccata",
    "intermezzo",
];

/// A title ending in a movement's tempo heading in brackets, without a colon or a dash
/// before it ("Eine kleine Nachtmusik (Allegro)"), written with a dash ("Eine kleine
/// Nachtmusik - Allegro"), as stores write it otherwise. Only tempo words: a form word in
/// brackets ("(Prelude)", "(Finale)") may be a pop song's part.
pub(super) fn movement_bracket_as_dash(raw: &str) -> Option<String> {
    const TEMPO_WORDS: [&str; 15] = [
        "allegro",
        "allegretto",
        "adagio",
        "adagietto",
        "andante",
        "andantino",
        "largo",
        "larghetto",
        "lento",
        "presto",
        "prestissimo",
        "vivace",
        "moderato",
        "menuetto",
        "scherzo",
    ];
    let inner = raw.trim_end().strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let (before, heading) = (inner[..open].trim_end(), &inner[open + 1..]);
    if before.is_empty()
        || before.contains([':', '(', '['])
        || DASH_SEPARATORS
            .iter()
            .any(|separator| before.contains(separator))
    {
        return None;
    }
    let words = normalize_title_words(heading);
    let first = words.split(' ').next()?;
    (TEMPO_WORDS.contains(&first) && words.split(' ').count() <= 4)
        .then(|| format!("{before} - {heading}"))
}

/// True when a dash suffix is a movement's heading: it starts with a tempo or form word.
fn names_a_movement(suffix: &str) -> bool {
    normalize_title_words(suffix)
        .split(' ')
        .next()
        .is_some_and(|first| MOVEMENT_WORDS.contains(&first))
}

/// True when a title part ends with a catalogue or piece number ("Gymnopédie No. 3", "Op.
/// 28"): what a subtitle after a dash belongs to.
pub(super) fn names_piece_number(raw: &str) -> bool {
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
pub(super) const SET_COUNT_WORDS: [&str; 16] = [
    "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "douze", "zwei", "drei", "vier",
    "funf", "sechs", "sieben", "acht", "zwolf",
];

/// A piece of a numbered set named as the piece ("gymnopedie no 1" for "3 Gymnopédies: No.
/// 1, Lent et douloureux", "nocturne no 2" for "Nocturnes: No. 2"): the set's name without
/// its count and plural, and the piece's number. `set` and `piece` are normalised.
pub(super) fn set_piece(set: &str, piece: &str) -> Option<String> {
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

/// Words that name a movement beside its number ("1st Movement", "Mvt. 3", "Movement II").
pub(super) fn is_movement_label(word: &str) -> bool {
    matches!(word, "movement" | "movt" | "mvt" | "mov" | "mvmt" | "satz")
}

/// The value of an ordinal ("1st", "third"), also in French, as Satie's and Debussy's titles
/// and French catalogues write it ("Première Gymnopédie", "1ère", "2e", "troisième").
pub(super) fn ordinal_value(word: &str) -> Option<u32> {
    const WORDS: [&str; 6] = ["first", "second", "third", "fourth", "fifth", "sixth"];
    const FRENCH: [&[&str]; 6] = [
        &["premiere", "premier"],
        &["deuxieme", "seconde", "second"],
        &["troisieme"],
        &["quatrieme"],
        &["cinquieme"],
        &["sixieme"],
    ];
    if let Some(at) = WORDS.iter().position(|w| *w == word) {
        return Some(at as u32 + 1);
    }
    if let Some(at) = FRENCH.iter().position(|forms| forms.contains(&word)) {
        return Some(at as u32 + 1);
    }
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let french = digits > 0 && matches!(&word[digits..], "e" | "er" | "ere" | "eme");
    if !is_ordinal(word) && !french {
        return None;
    }
    word[..digits].parse().ok()
}

/// A movement named by its number alone at the end of a normalised title ("moonlight sonata
/// 1st movement", "symphony no 5 mvt 1", "winter movement iii"): the number, and the title
/// without those words.
pub fn movement_phrase(normalized: &str) -> Option<(u32, String)> {
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    for at in 0..words.len() {
        if !is_movement_label(words[at]) {
            continue;
        }
        let before = at.checked_sub(1).and_then(|b| ordinal_value(words[b]));
        let after = words.get(at + 1).and_then(|w| {
            (w.bytes().all(|b| b.is_ascii_digit()) && w.len() <= 2)
                .then(|| w.parse().ok())
                .flatten()
                .or_else(|| roman_value(w))
        });
        let (number, from, to) = match (before, after) {
            (Some(number), _) => (number, at - 1, at + 1),
            (None, Some(number)) => (number, at, at + 2),
            _ => continue,
        };
        // At the end: "Movement 2 (Join In)" names no movement of a work.
        if to != words.len() {
            continue;
        }
        let rest: Vec<&str> = words[..from].iter().chain(&words[to..]).copied().collect();
        return Some((number, rest.join(" ")));
    }
    None
}

/// Kinds of classical work ("sonata", "symphony"): with a nickname, how shorthand names the
/// work ("Moonlight Sonata").
const WORK_KINDS: [&str; 30] = [
    "sonata",
    "symphony",
    "concerto",
    "suite",
    "quartet",
    "quintet",
    "trio",
    "serenade",
    "overture",
    "etude",
    "nocturne",
    "prelude",
    "fugue",
    "waltz",
    "mass",
    "requiem",
    "variations",
    "rhapsody",
    "fantasia",
    "partita",
    "cantata",
    "march",
    "polonaise",
    "mazurka",
    "ballade",
    "scherzo",
    "impromptu",
    "bagatelle",
    "sonatina",
    "divertimento",
];

/// True when a text names a numbered classical work: a kind of work and a number
/// ("orchestral suite no 3", "the four seasons violin concerto no 4", "bwv 1068").
pub(super) fn names_numbered_work(text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let kind = words.iter().any(|w| WORK_KINDS.contains(&w.as_str()));
    let numbered = words.iter().any(|w| w.bytes().all(|b| b.is_ascii_digit()));
    kind && numbered
}

/// The work by name and number alone ([`WorkParts::numbered`]): its words without key,
/// nickname and catalogue numbers other than a "No." before them ("piano sonata no 14" for
/// "piano sonata no 14 in c sharp minor op 27 no 2 moonlight"), when it keeps a number; a
/// work without a number by its kind and key ("violin concerto in e minor").
pub(super) fn numbered_work(work: &str, nickname: Option<&str>) -> Option<String> {
    if let Some(shorthand) = numbered_shorthand(work) {
        return Some(shorthand);
    }
    let words: Vec<&str> = work.split(' ').filter(|w| !w.is_empty()).collect();
    let nickname: Vec<&str> = nickname.map_or_else(Vec::new, |n| n.split(' ').collect());
    let mut out: Vec<&str> = Vec::new();
    let mut numbered = false;
    // The key with its mode, and the words of the name before it.
    let mut keyed: Option<(usize, &[&str])> = None;
    let mut at = 0;
    while at < words.len() {
        let word = words[at];
        // The key: "in c sharp minor".
        if word == "in"
            && words
                .get(at + 1)
                .is_some_and(|w| w.len() == 1 && (b'a'..=b'g').contains(&w.as_bytes()[0]))
        {
            let start = at;
            at += 2;
            while words
                .get(at)
                .is_some_and(|w| matches!(*w, "sharp" | "flat" | "major" | "minor"))
            {
                at += 1;
            }
            if keyed.is_none() && matches!(words[at - 1], "major" | "minor") {
                keyed = Some((out.len(), &words[start..at]));
            }
            continue;
        }
        if let Some(label) = catalogue_label(word) {
            if label == "no"
                && !numbered
                && words
                    .get(at + 1)
                    .is_some_and(|w| catalogue_number(w).is_some())
            {
                out.push("no");
                out.push(words[at + 1]);
                numbered = true;
                at += 2;
                continue;
            }
            // Any other catalogue number, and the numbers that follow it, end the name.
            break;
        }
        if glued_catalogue(word).is_some() {
            break;
        }
        if !nickname.contains(&word) {
            out.push(word);
        }
        at += 1;
    }
    if numbered {
        return (out.len() >= 3).then(|| out.join(" "));
    }
    // A work without a number is named by its kind and key ("violin concerto in e minor" for
    // "Violin Concerto in E Minor, Op. 64: I. Allegro molto appassionato"), when its name
    // before the key is a kind of work of two words or more.
    let (before, key) = keyed?;
    let name = &out[..before];
    (name.len() >= 2 && name.last().is_some_and(|kind| WORK_KINDS.contains(kind)))
        .then(|| format!("{} {}", name.join(" "), key.join(" ")))
}

/// Kinds of work shorthand numbers without "No." ("Symphony 5", "5th Symphony", "Cello Suite
/// 1"): the unambiguous ones ("March 5" may be a date).
const NUMBERED_KINDS: [&str; 25] = [
    "symphony",
    "sonata",
    "concerto",
    "quartet",
    "quintet",
    "suite",
    "etude",
    "nocturne",
    "prelude",
    "partita",
    "cantata",
    "serenade",
    "gymnopedie",
    "gnossienne",
    "waltz",
    "mazurka",
    "polonaise",
    "ballade",
    "impromptu",
    "rhapsody",
    "arabesque",
    "bagatelle",
    "invention",
    "scherzo",
    "fantasia",
];

/// A work written in shorthand without "No." ("symphony 5", "5th symphony", "cello suite 1")
/// as its name and number ("symphony no 5"), when that is all the text is (besides a
/// composer's name before it: "beethoven 5th symphony").
pub fn numbered_shorthand(work: &str) -> Option<String> {
    let words: Vec<&str> = work.split(' ').filter(|w| !w.is_empty()).collect();
    let kind_at = words
        .iter()
        .position(|word| NUMBERED_KINDS.contains(word))?;
    let small = |word: &str| {
        (word.len() <= 2 && word.bytes().all(|b| b.is_ascii_digit()))
            .then(|| word.parse::<u32>().ok())
            .flatten()
    };
    // "symphony 5" (the number last), or "5th symphony" (the kind last).
    if kind_at + 2 == words.len()
        && let Some(number) = words.get(kind_at + 1).and_then(|w| small(w))
    {
        return Some(format!("{} no {number}", words[..=kind_at].join(" ")));
    }
    if kind_at + 1 == words.len()
        && let Some(number) = kind_at
            .checked_sub(1)
            .and_then(|before| ordinal_value(words[before]))
    {
        let kind_words: Vec<&str> = words[..kind_at - 1]
            .iter()
            .copied()
            .filter(|word| NUMBERED_KINDS.contains(word) || WORK_KINDS.contains(word))
            .collect();
        let mut name = kind_words;
        name.push(words[kind_at]);
        return Some(format!("{} no {number}", name.join(" ")));
    }
    None
}

/// The work by nickname and kind ([`WorkParts::nickname`]): "moonlight sonata" for a sonata
/// quoted "Moonlight".
pub(super) fn nickname_form(quoted: &str, work_words: &[String]) -> Option<String> {
    let kind = work_words
        .iter()
        .rev()
        .find(|word| WORK_KINDS.contains(&word.as_str()))?;
    (!quoted.is_empty() && !quoted.split(' ').any(|w| w == kind))
        .then(|| format!("{quoted} {kind}"))
}

/// The classical parts of a title (`raw` without its version, noise and featuring parts;
/// `base` its normalised form), or `None` when it names no key, catalogue number or movement.
pub(super) fn work_parts(raw: &str, base: &str) -> Option<WorkParts> {
    let mut parts = WorkParts::default();
    let (key, catalogue, kept) = scan_work(base);
    let mut work_text = base.to_string();
    if let Some(work) = read_movement(&mut parts, raw) {
        work_text = work;
    }
    // A movement named by its number alone: "Moonlight Sonata (1st Movement)", "Symphony No. 5
    // - 1st movement", "Moonlight Sonata 3rd Movement".
    if parts.movement_number.is_none() {
        let named = parts.movement.as_deref().and_then(movement_phrase);
        if let Some((number, rest)) = named {
            // "The Four Seasons: Winter - 1st movement": what comes before the number is
            // still the work's name.
            if !rest.is_empty() {
                work_text = format!("{work_text} {rest}");
            }
            parts.movement = None;
            parts.movement_head = None;
            parts.movement_number = Some(number);
            parts.without_numeral = Some(work_text.clone());
            parts.head = Some(work_text.clone());
        } else if parts.movement.is_none()
            && let Some((number, rest)) =
                movement_phrase(&work_text).filter(|(_, rest)| !rest.is_empty())
        {
            parts.movement_number = Some(number);
            parts.without_numeral = Some(rest.clone());
            parts.head = Some(rest.clone()).filter(|rest| !rest.is_empty());
            work_text = rest;
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
    if parts.key.is_none()
        && parts.catalogue.is_empty()
        && parts.movement.is_none()
        && parts.movement_number.is_none()
        && numbered_shorthand(&work_text).is_none()
    {
        return None;
    }
    let (_, _, work_kept) = scan_work(&work_text);
    parts.work_words = work_kept
        .into_iter()
        .filter(|word| !is_work_stopword(word))
        .map(str::to_string)
        .collect();
    let quoted = quoted_words(raw).map(normalize_text);
    parts.numbered = numbered_work(&work_text, quoted.as_deref()).filter(|form| form != base);
    parts.nickname = quoted
        .as_deref()
        .and_then(|quoted| nickname_form(quoted, &parts.work_words))
        .filter(|form| form != base);
    Some(parts)
}

/// Reads the movement a title names after its work ("Moonlight Sonata: I. Adagio",
/// "Symphony No. 9 - IV") into `parts`: the work's text when it is what remains to be read
/// as the work, `None` when the whole title stays the work.
fn read_movement(parts: &mut WorkParts, raw: &str) -> Option<String> {
    let (work, number, name) = split_movement(raw)?;
    let movement = normalize_title_words(name);
    let work = normalize_title_words(work);
    // "Nocturnes, Op. 9: No. 2" and "3 Gymnopédies: No. 1, …" name a piece of a set, not
    // a movement: the whole title stays the work (its catalogue numbers say which).
    let piece_of_set = movement.split_once(' ').is_some_and(|(label, rest)| {
        label == "no" && catalogue_number(rest.split(' ').next().unwrap_or("")).is_some()
    });
    if piece_of_set && number.is_none() {
        parts.head = set_piece(&work, &movement);
        let (_, _, set_name) = scan_work(&work);
        parts.piece = set_piece(&join_words(set_name), &movement).map(|piece| {
            let after_number = movement.split(' ').skip(2).filter(|w| !w.is_empty());
            std::iter::once(piece.as_str())
                .chain(after_number)
                .collect::<Vec<_>>()
                .join(" ")
        });
    } else if movement.is_empty() && number.is_some() && !work.is_empty() {
        // "Symphony No. 9 - IV": a movement by its number alone.
        parts.movement_number = number;
        parts.without_numeral = Some(work.clone());
        parts.head = Some(work.clone());
        return Some(work);
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
        // "Moonlight Sonata: I. Adagio", "Moonlight Sonata - Adagio": the work before a
        // movement, where the library names the work otherwise; the movement's number and
        // name still decide.
        if parts.head.is_none() {
            parts.head = Some(work.clone());
        }
        parts.movement = Some(movement);
        parts.movement_number = number;
        return Some(work);
    }
    None
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

/// Catalogues whose numbers a later edition revised, so stores write a work under either:
/// Lesure's of Debussy (1977 and 2003, "L." and "CD"), Köchel's of Mozart (1862 and 1964), Deutsch's of
/// Schubert (1951 and 1978).
const RENUMBERED: [&str; 3] = ["l", "k", "d"];

/// When two classical titles differ in the number of a renumbered catalogue ("Clair de
/// Lune, L. 32" and "Suite bergamasque, L. 75: III. Clair de lune"), the two titles without
/// that catalogue's numbers, to compare the rest; `None` otherwise. Two numbers of one
/// catalogue may be the old and the new number of one work, or two works: never known, so a
/// candidate found so is only offered.
pub fn without_renumbered_catalogue(
    a: &ParsedTitle,
    b: &ParsedTitle,
) -> Option<(ParsedTitle, ParsedTitle)> {
    let (x, y) = (a.work.as_deref()?, b.work.as_deref()?);
    let numbers = |parts: &WorkParts, label: &str| -> Vec<u32> {
        parts
            .catalogue
            .iter()
            .filter(|(l, _)| *l == label)
            .map(|(_, n)| *n)
            .collect()
    };
    let differing: Vec<&str> = RENUMBERED
        .into_iter()
        .filter(|label| {
            let (ours, theirs) = (numbers(x, label), numbers(y, label));
            !ours.is_empty() && !theirs.is_empty() && !ours.iter().any(|n| theirs.contains(n))
        })
        .collect();
    if differing.is_empty() {
        return None;
    }
    let strip = |title: &ParsedTitle| {
        let mut title = title.clone();
        if let Some(work) = title.work.as_deref_mut() {
            work.catalogue
                .retain(|(label, _)| !differing.contains(label));
            let drop_number = |text: &mut String| {
                let words: Vec<&str> = text.split(' ').collect();
                let mut kept = Vec::with_capacity(words.len());
                let mut at = 0;
                while at < words.len() {
                    let label = catalogue_label(words[at]);
                    if label.is_some_and(|label| differing.contains(&label))
                        && words
                            .get(at + 1)
                            .is_some_and(|n| catalogue_number(n).is_some())
                    {
                        at += 2;
                        continue;
                    }
                    kept.push(words[at]);
                    at += 1;
                }
                *text = kept.join(" ");
            };
            if let Some(text) = work.without_numeral.as_mut() {
                drop_number(text);
            }
            drop_number(&mut title.base);
        }
        title
    };
    Some((strip(a), strip(b)))
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

pub(super) fn keys_agree(a: &str, b: &str) -> bool {
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

pub(super) fn movements_alike(a: &WorkParts, b: &WorkParts) -> Option<bool> {
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
    // With the same movement number, a heading's first word alone ("IV. Finale" for "IV.
    // Finale. Adagio lamentoso").
    let numbered = a.movement_number.is_some() && a.movement_number == b.movement_number;
    let first_word = |short: &str, long: &str| numbered && long.starts_with(&format!("{short} "));
    Some(ours.iter().any(|x| {
        theirs.iter().any(|y| {
            similarity_at_least(x, y, 0.8).is_some()
                || within(x, y)
                || within(y, x)
                || first_word(x, y)
                || first_word(y, x)
        })
    }))
}

/// The title without the composer's name before a classical work ("Mozart: Serenade No. 13
/// in G major, K. 525: I. Allegro"), when that name is the credited artist's or its surname
/// ("Mozart" for "Wolfgang Amadeus Mozart") and what follows names a work (a key, a
/// catalogue number or a movement); else `None`. "Mission: Impossible" keeps its colon.
pub fn without_composer_prefix<'t>(raw: &'t str, artist: &str) -> Option<&'t str> {
    let (prefix, rest) = composer_prefix(raw)?;
    let surname = |name: &str| name.rsplit(' ').next().map(str::to_string);
    let credited = super::split_artists(artist).iter().any(|name| {
        *name == prefix || (surname(name).is_some() && surname(name) == surname(&prefix))
    });
    credited.then_some(rest)
}

/// A name before a classical work ("Bach: Cello Suite No. 1 in G major, BWV 1007: I.
/// Prélude"), normalised, and the work after it; `None` when the title has no such name or
/// what follows names no work (a key, a catalogue number or a movement). Whose name it is
/// the caller decides: the credited artist's, or a composer's before a performer's credit.
pub fn composer_prefix(raw: &str) -> Option<(String, &str)> {
    let (prefix, rest) = raw.split_once(": ")?;
    let prefix = normalize_text(prefix);
    if prefix.is_empty()
        || prefix.split(' ').count() > 4
        || prefix.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    let rest = rest.trim();
    work_parts(rest, &normalize_title_words(rest)).map(|_| (prefix, rest))
}

/// `ours` with `theirs`'s movement, when `ours` names a movement without a number by the
/// first words of `theirs`'s heading ("adagio" for "adagio sostenuto"); else `None`.
pub fn with_movement_of(ours: &ParsedTitle, theirs: &ParsedTitle) -> Option<ParsedTitle> {
    let (our_work, their_work) = (ours.work.as_deref()?, theirs.work.as_deref()?);
    if our_work.movement_number.is_some() {
        return None;
    }
    let (short, long) = (
        our_work.movement.as_deref()?,
        their_work.movement.as_deref()?,
    );
    if short == long || !long.starts_with(&format!("{short} ")) {
        return None;
    }
    let mut work = our_work.clone();
    work.movement = Some(long.to_string());
    work.movement_number = their_work.movement_number;
    let mut title = ours.clone();
    title.work = Some(Box::new(work));
    Some(title)
}

/// The query's title under the other's movement heading, when both name the movement by
/// the same number under different headings ("Symphony No. 9: IV. Finale" for "IV. Presto -
/// Allegro assai"): the same movement written from another edition, or by a generic
/// heading. The work must still agree; offered, never accepted, since a heading that differs
/// may also be a slip in the number.
pub fn with_movement_renamed(ours: &ParsedTitle, theirs: &ParsedTitle) -> Option<ParsedTitle> {
    let (our_work, their_work) = (ours.work.as_deref()?, theirs.work.as_deref()?);
    let number = our_work.movement_number?;
    if their_work.movement_number != Some(number)
        || our_work.movement.is_none()
        || their_work.movement.is_none()
        || our_work.movement == their_work.movement
    {
        return None;
    }
    let mut work = our_work.clone();
    work.movement.clone_from(&their_work.movement);
    work.movement_head.clone_from(&their_work.movement_head);
    let mut title = ours.clone();
    title.work = Some(Box::new(work));
    Some(title)
}

/// The query's title under the other's last movement, when the query names the movement
/// "Finale" without its number ("Symphony No. 41 \"Jupiter\" - Finale") and the other
/// names a movement by a number of three or more under another heading ("IV. Molto
/// allegro"): a finale is the last movement, which the heading alone does not say. The
/// work must still agree; the movement's number is returned to offer the highest first.
/// Offered, never accepted: the library may not hold the work's last movement.
pub fn with_finale_of(ours: &ParsedTitle, theirs: &ParsedTitle) -> Option<(ParsedTitle, u32)> {
    let (our_work, their_work) = (ours.work.as_deref()?, theirs.work.as_deref()?);
    let named = our_work.movement.as_deref()?;
    if our_work.movement_number.is_some() || !(named == "finale" || named.starts_with("finale ")) {
        return None;
    }
    let number = their_work.movement_number.filter(|n| *n >= 3)?;
    if their_work
        .movement
        .as_deref()
        .is_some_and(|m| m == "finale" || m.starts_with("finale "))
    {
        return None;
    }
    let mut work = our_work.clone();
    work.movement.clone_from(&their_work.movement);
    work.movement_head.clone_from(&their_work.movement_head);
    work.movement_number = Some(number);
    let mut title = ours.clone();
    title.work = Some(Box::new(work));
    Some((title, number))
}

/// Words that name a kind of piece, a movement's tempo or its form rather than one piece
/// ("Allegro", "Aria", "Nocturne", "Finale", "Air"): a title found by one of these alone says
/// nothing about which work it is. A distinctive one-word name ("Jupiter", "Lacrimosa",
/// "Boléro") does.
pub fn is_generic_piece_word(word: &str) -> bool {
    const OTHER: [&str; 30] = [
        "air",
        "canon",
        "chorus",
        "chorale",
        "coda",
        "dance",
        "theme",
        "variation",
        "variations",
        "introduction",
        "intro",
        "overture",
        "ouverture",
        "sinfonia",
        "recitative",
        "romance",
        "romanza",
        "song",
        "lied",
        "bourree",
        "passacaglia",
        "chaconne",
        "capriccio",
        "pastorale",
        "berceuse",
        "barcarolle",
        "grave",
        "vivo",
        "trio",
        "valse",
    ];
    MOVEMENT_WORDS.contains(&word) || WORK_KINDS.contains(&word) || OTHER.contains(&word)
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
