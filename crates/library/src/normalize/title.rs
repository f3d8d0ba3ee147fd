//! Artist credits and track titles: [`split_artists`], [`parse_title`] (base title, version
//! tags and edition noise), spoken forms of text-speak and number words.

use super::*;

/// Words that introduce featured artists.
pub(super) const FEAT_WORDS: [&str; 4] = ["feat", "ft", "featuring", "with"];

/// Words that join artists in one credit ("A & B", "A, B", "A vs B").
pub(super) fn is_artist_separator_word(word: &str) -> bool {
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

/// The two names of an act credited as a leader and a band, "A & the B" ("Prince & The
/// Revolution", "Diana Ross and the Supremes", "Florence + the Machine"), normalised: one act,
/// which libraries often credit by either name alone.
///
/// ```
/// use cachearr_library::normalize::leader_and_band;
/// assert_eq!(
///     leader_and_band("Prince & The Revolution"),
///     Some(["prince".to_string(), "revolution".to_string()])
/// );
/// assert_eq!(leader_and_band("Queen & David Bowie"), None);
/// ```
pub fn leader_and_band(raw: &str) -> Option<[String; 2]> {
    let (at, len) = [" & the ", " and the ", " + the "]
        .iter()
        .find_map(|joiner| {
            raw.as_bytes()
                .windows(joiner.len())
                .position(|window| window.eq_ignore_ascii_case(joiner.as_bytes()))
                .map(|at| (at, joiner.len()))
        })?;
    let leader = normalize_text(&raw[..at]);
    let band = normalize_text(raw.get(at + len..)?);
    let single = |name: &str| !name.is_empty() && split_artists(name).len() == 1;
    (single(&leader) && single(&band)).then_some([leader, band])
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
    /// What the title's brackets and dash suffix say beyond the song's name and what is known
    /// to name the same recording, normalised, one entry a part: "taylors version", "take 3",
    /// "slowed and reverb", "2018" for "Song - 2018", "1984 version". Not versions (live,
    /// remix …: [`ParsedTitle::version`]), featured artists, or edition words that name the
    /// same recording ("2011 Remaster", "Radio Edit", "Mono", "Explicit", "Official Video");
    /// not a bracket written in another script than the rest (the title in that script). A
    /// match must carry these words too ([`super::qualifiers_backed`]).
    pub qualifiers: Vec<String>,
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
            work.and_then(|w| w.numbered.as_ref()),
            work.and_then(|w| w.nickname.as_ref()),
        ];
        let catalogue = work.map_or(&[][..], |w| w.catalogue_keys.as_slice());
        for form in candidates.into_iter().flatten().chain(catalogue) {
            if !form.is_empty() && *form != self.base && !forms.contains(form) {
                forms.push(form.clone());
            }
        }
        // Digits written apart joined ("1234" for "1, 2, 3, 4").
        if let Some(joined) = joined_digits(&self.base)
            && !forms.contains(&joined)
        {
            forms.push(joined);
        }
        // The short form spelled out too ("i want to dance with somebody" for "I Wanna Dance
        // with Somebody (Who Loves Me)").
        if let Some(spoken) = self.short.as_deref().and_then(spoken_form)
            && spoken != self.base
            && !forms.contains(&spoken)
        {
            forms.push(spoken);
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
            &work.numbered,
            &work.nickname,
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
pub(super) const EDIT_WORDS: [&str; 11] = [
    "edit",
    "radio",
    "single",
    "mono",
    "stereo",
    "clean",
    "explicit",
    "dirty",
    "censored",
    "uncensored",
    "edited",
];

/// What one bracketed or dash-separated part of a title is.
pub(super) enum Segment {
    Featured(Vec<String>),
    Version(VersionTags, String),
    /// Edition noise known to name the same recording; the words are kept when they name
    /// another edit ("radio edit").
    Noise(String),
    /// Edition-like words not known to name the same recording (a year alone, "1984
    /// Version"): left out of the base title like noise, kept as a qualifier.
    Qualifier(String),
    Keep,
}

/// True when `word` is `target` mistyped the way people mistype: a doubled letter ("liive"),
/// two neighbours swapped ("deom"), or — for words of five letters or more — any one edit
/// ("acoutic"). Short words get no substitutions: "love" must not read as "live".
pub(crate) fn is_typo_of(word: &str, target: &str) -> bool {
    if word == target {
        return true;
    }
    // Every word of a title is tried against each version word: compared in place, no
    // allocation, and no edit distance for a word whose length alone rules out one edit.
    let mut previous = None;
    let collapsed = word.chars().filter(|c| previous.replace(*c) != Some(*c));
    if collapsed.eq(target.chars()) {
        return true;
    }
    if word.chars().count().abs_diff(target.chars().count()) > 1 {
        return false;
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

pub(super) fn version_tag_of_word(word: &str) -> VersionTags {
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
pub(super) const NOISE_TYPO_TARGETS: [&str; 7] = [
    "remaster",
    "remastered",
    "deluxe",
    "edition",
    "expanded",
    "anniversary",
    "version",
];

/// Words that only describe an edition, never a different performance.
pub(super) fn is_noise_word(word: &str) -> bool {
    matches!(
        word,
        "remaster"
            | "remastered"
            | "remasterd"
            | "remastering"
            | "digitally"
            | "remasterizado"
            | "remasterizada"
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
            | "main"
            | "digital"
            | "reissue"
            | "special"
            | "collectors"
            | "limited"
            | "hd"
            | "hq"
            | "4k"
            | "official"
            | "oficial"
            | "officiel"
            | "ufficiale"
            | "offiziell"
            | "letra"
            | "paroles"
            | "legendado"
            | "subtitulado"
            | "sub"
            | "subs"
            | "subtitles"
            | "musikvideo"
            | "offizielles"
            | "videoclipe"
            | "closed"
            | "captioned"
            | "translation"
            | "traduccion"
            | "traducao"
            | "performance"
            | "animated"
            | "vertical"
            | "restored"
            | "upscaled"
            | "1080p"
            | "720p"
            | "60fps"
            | "colour"
            | "color"
            | "dirty"
            | "censored"
            | "edited"
            | "uncensored"
            | "only"
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

pub(super) fn is_ordinal(word: &str) -> bool {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&word[digits..], "st" | "nd" | "rd" | "th")
}

pub(super) fn classify_segment(raw: &str) -> Segment {
    let tokens = tokenize(raw);
    let mut words: Vec<&str> = tokens
        .iter()
        .map(|token| match token {
            Token::Word(word) => word.as_str(),
            Token::Ampersand => "and",
        })
        .collect();
    // Names joined by a slash ("Radio Mix / Club Mix") say the recording is each of them:
    // when one is known to name the same recording and another names a version, neither
    // decides, and the whole is a qualifier the candidate's title must carry (review).
    if let Some(alternatives) = slash_alternatives(raw) {
        let segments: Vec<Segment> = alternatives
            .iter()
            .map(|part| classify_segment(part))
            .collect();
        let plain = segments.iter().any(|s| matches!(s, Segment::Noise(_)));
        let version = segments.iter().any(|s| matches!(s, Segment::Version(..)));
        if plain && version {
            return Segment::Qualifier(join_words(words.iter().copied()));
        }
    }
    single_edit_names(&mut words);
    mix_names_of_edits(&mut words);
    if is_surround_mix(&words) {
        return Segment::Qualifier(join_words(words.iter().copied()));
    }
    let words = words;
    let Some(first) = words.first() else {
        return Segment::Noise(String::new());
    };
    // "(with Lyrics)" is where it was posted, not a guest.
    let noise_after_feat = FEAT_WORDS.contains(first)
        && words.len() > 1
        && words[1..].iter().all(|word| is_noise_word(word));
    if FEAT_WORDS.contains(first) && !noise_after_feat {
        // Re-split the raw text after the feat word so separators are honoured.
        let after = raw.trim_start();
        let after = after
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map(|(at, _)| &after[at..])
            .unwrap_or("");
        return Segment::Featured(split_artists(after));
    }
    // "Original Mix" and "Main Mix" are how shops label the plain recording (beside its
    // instrumental or TV mix), "Stereo Mix" and "Mono Mix" how reissues label the mixes of
    // it: noise, not a remix. "Instrumental Mix" is the instrumental.
    let plain_mix = |at: usize| {
        words[at] == "mix"
            && at.checked_sub(1).is_some_and(|before| {
                matches!(
                    words[before],
                    "original" | "main" | "stereo" | "mono" | "instrumental"
                )
            })
    };
    if is_reissue_mix(&words) {
        return Segment::Qualifier(join_words(words.iter().copied()));
    }
    let mut tags = VersionTags::NONE;
    for (at, word) in words.iter().enumerate() {
        if !plain_mix(at) {
            tags = tags.union(version_tag_of_word(word));
        }
    }
    if !tags.is_original() {
        return Segment::Version(tags, join_words(words.iter().copied()));
    }
    // "[Monstercat Release]", "(Spinnin' Records)": the label that put it out.
    if words.len() > 1 && matches!(words.last(), Some(&("records" | "release"))) {
        return Segment::Noise(String::new());
    }
    let all_noise = (0..words.len()).all(|at| plain_mix(at) || is_noise_word(words[at]));
    // "(Taken from the Album …)" is a "from" segment.
    let from = *first == "from" || (*first == "taken" && words.get(1) == Some(&"from"));
    if from || all_noise || noise_after_feat {
        return noise_or_qualifier(raw, &words, from);
    }
    Segment::Keep
}

/// The names shops give a single's edit, read in one vocabulary: a 7-inch or 45 single's
/// edit is the single's, a 12-inch one the extended mix, "Short Version", "Radio Cut" and
/// "Promo Edit" the radio edit, a market before an edit ("US Radio Edit") the same edit.
fn single_edit_names(words: &mut Vec<&str>) {
    // A 7-inch or 45 single's edit ("7\" Version", "7 Inch Edit", "45 Version") is the
    // single's: read as "single". A 12-inch one is the extended mix: read as that.
    if let Some(at) = words.iter().position(|word| matches!(*word, "7" | "45")) {
        let inch = usize::from(matches!(words.get(at + 1), Some(&("inch" | "rpm"))));
        if words
            .get(at + 1 + inch)
            .is_some_and(|next| matches!(*next, "version" | "edit" | "mix" | "single"))
        {
            words.splice(at..=at + inch, ["single"]);
        }
    }
    if let Some(at) = words.iter().position(|word| *word == "12") {
        let inch = usize::from(words.get(at + 1) == Some(&"inch"));
        if words
            .get(at + 1 + inch)
            .is_some_and(|next| matches!(*next, "version" | "edit" | "mix"))
        {
            words.splice(at..=at + inch + 1, ["extended", "mix"]);
        }
    }
    // A single's edit by the other names shops give it: "Short Version", "Short Edit",
    // "Radio Cut", "Promo Edit" are the radio edit; a market before an edit ("US Radio
    // Edit", "UK Single Version") names which country's single, the same edit.
    for at in 0..words.len() {
        match (words[at], words.get(at + 1).copied()) {
            ("short" | "promo", Some("version" | "edit")) => {
                words[at] = "radio";
                words[at + 1] = "edit";
            }
            ("radio", Some("cut")) => words[at + 1] = "edit",
            _ => {}
        }
    }
    if words.len() >= 3
        && matches!(words[0], "us" | "uk")
        && matches!(words[1], "radio" | "single" | "album")
        && matches!(words[2], "edit" | "version")
    {
        words.remove(0);
    }
    // "Extended Version", "Extended Edit" and "Extended" alone name the extended mix, "Club
    // Version" and "Club Edit" the club mix: a remix by what it is, as "Extended Mix" and
    // "Club Mix" are.
    for at in 0..words.len() {
        if matches!(words[at], "extended" | "club") {
            match words.get(at + 1) {
                Some(&("version" | "edit")) => words[at + 1] = "mix",
                None if words.len() == 1 && words[at] == "extended" => words.push("mix"),
                _ => {}
            }
        }
    }
}

/// Mixes named as edits are read as those edits ("Radio Mix" as "Radio Edit"), and the names
/// of the album's recording as "Album Version".
fn mix_names_of_edits(words: &mut Vec<&str>) {
    // "Radio Mix", "Single Mix" and "Album Mix" are how some shops write the edits "Radio
    // Edit", "Single Version" and "Album Version" name: read as those, not as remixes. A
    // remixer's radio mix ("Tidal Radio Mix") stays a remix.
    let only_noise_beside_mix = words
        .iter()
        .all(|word| *word == "mix" || is_noise_word(word));
    for at in 1..words.len() {
        if only_noise_beside_mix && words[at] == "mix" {
            match words[at - 1] {
                "radio" => words[at] = "edit",
                "single" | "album" => words[at] = "version",
                _ => {}
            }
        }
    }
    // "Full Length Version", "Full Version" and "Soundtrack Version" name the album's
    // recording, as "Album Version" does.
    if let [.., before, "version"] = words.as_slice() {
        let album_words = match *before {
            "full" | "soundtrack" => 1,
            "length" if words.len() >= 3 && words[words.len() - 3] == "full" => 2,
            _ => 0,
        };
        if album_words > 0 {
            let at = words.len() - 1 - album_words;
            words.splice(at..words.len() - 1, ["album"]);
        }
    }
    // "Clean Mix", "Explicit Mix", "Dirty Mix", "Video Mix": the edit they name, as "Clean
    // Version" and "Video Version" are, not a remix.
    for at in 1..words.len() {
        if words[at] == "mix"
            && matches!(
                words[at - 1],
                "clean" | "dirty" | "explicit" | "censored" | "uncensored" | "video"
            )
        {
            words[at] = "version";
        }
    }
}

/// A surround or immersive mix ("Quad Mix", "5.1 Mix", "Dolby Atmos Mix"): the recording
/// mixed again, like a year's mix ([`is_reissue_mix`]).
fn is_surround_mix(words: &[&str]) -> bool {
    let surround = |word: &str| {
        matches!(
            word,
            "quad"
                | "quadraphonic"
                | "surround"
                | "atmos"
                | "dolby"
                | "spatial"
                | "51"
                | "71"
                | "binaural"
        )
    };
    words.iter().any(|word| surround(word))
        && words.iter().any(|word| matches!(*word, "mix" | "remix"))
        && words.iter().all(|word| {
            surround(word) || matches!(*word, "mix" | "remix" | "stereo" | "mono" | "audio")
        })
}

/// A mix named by its year alone ("2019 Mix", "2011 Remix", "2009 Stereo Mix"): the recording
/// mixed again, by no remixer. Not a remix, not the recording as released: a qualifier the
/// candidate's title must carry (offered with the recording otherwise).
fn is_reissue_mix(words: &[&str]) -> bool {
    let is_year = |word: &str| {
        word.len() == 4
            && word.bytes().all(|b| b.is_ascii_digit())
            && (word.starts_with("19") || word.starts_with("20"))
    };
    // So is a reissue's mix named by its occasion or by being new ("50th Anniversary Mix",
    // "Remixed 2019", "Stereo Remix"): not a remixer's, which has a name. A remastered stereo
    // or mono mix is that mix as released ("Remastered Stereo Mix").
    let is_ordinal = |word: &str| {
        let digits = word.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && matches!(&word[digits..], "st" | "nd" | "rd" | "th")
    };
    let mixed = |word: &str| matches!(word, "mix" | "remix" | "remixed");
    let occasion = words
        .iter()
        .any(|word| is_year(word) || matches!(*word, "anniversary" | "new"))
        || (words.contains(&"remix") || words.contains(&"remixed"))
            && words.iter().any(|word| matches!(*word, "stereo" | "mono"));
    occasion
        && words.iter().any(|word| mixed(word))
        && words.iter().all(|word| {
            is_year(word)
                || is_ordinal(word)
                || mixed(word)
                || matches!(
                    *word,
                    "stereo" | "mono" | "new" | "anniversary" | "remastered" | "remaster"
                )
        })
}

/// A segment of noise words, or one saying where the recording is from: noise (with the edit
/// it names, if any) when it is known to name the same recording, else a qualifier.
fn noise_or_qualifier(raw: &str, words: &[&str], from: bool) -> Segment {
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
    let known = if from {
        names_a_source(raw, words)
    } else {
        names_same_recording(words)
    };
    if known {
        Segment::Noise(edit)
    } else {
        Segment::Qualifier(join_words(words.iter().copied()))
    }
}

/// The parts of a segment written as alternatives joined by a slash ("Radio Mix / Club
/// Mix"), each of two words or more; `None` for one part or a slash inside a name ("AC/DC").
fn slash_alternatives(raw: &str) -> Option<Vec<&str>> {
    if !raw.contains('/') {
        return None;
    }
    let parts: Vec<&str> = raw.split('/').map(str::trim).collect();
    (parts.len() >= 2
        && parts
            .iter()
            .all(|part| part.split_whitespace().count() >= 2))
    .then_some(parts)
}

/// A movement with the work it is from in brackets ("Air (from Orchestral Suite No. 3)") is
/// the movement of that work, as "Air (Orchestral Suite No. 3)" is: the title without the
/// "from", which would read the bracket as where the song was released; "Air from Orchestral
/// Suite No. 3" is read so too. `None` when no numbered work follows the "from" ("(From
/// \"Frozen\")", "The Girl from Ipanema").
fn work_without_from(raw: &str) -> Option<String> {
    let mut rest = raw;
    let mut offset = 0;
    while let Some(open) = rest.find(['(', '[']) {
        let at = offset + open;
        let open_char = raw[at..].chars().next()?;
        let close = closing_bracket(raw, at, open_char)?;
        let inner = &raw[at + 1..close];
        let trimmed = inner.trim_start();
        if trimmed
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("from "))
            && super::work::names_numbered_work(&trimmed[5..])
        {
            let from_at = at + 1 + (inner.len() - trimmed.len());
            return Some(format!("{}{}", &raw[..from_at], &raw[from_at + 5..]));
        }
        offset = close + 1;
        rest = &raw[offset..];
    }
    // Written without brackets: "Air from Orchestral Suite No. 3", "Air - from …".
    let at = raw.to_ascii_lowercase().find(" from ")?;
    let after = &raw[at + 6..];
    let end = after.find(['(', '[']).unwrap_or(after.len());
    let work = after[..end].trim();
    let head = raw[..at].trim_end();
    let head = DASH_SEPARATORS
        .iter()
        .find_map(|separator| head.strip_suffix(separator.trim_end()))
        .unwrap_or(head)
        .trim_end();
    (!head.is_empty() && super::work::names_numbered_work(work)).then(|| {
        format!("{head} ({work}) {}", &after[end..])
            .trim_end()
            .to_string()
    })
}

/// Finds the closing bracket for the opening one at byte `open`, honouring nesting.
pub(super) fn closing_bracket(text: &str, open: usize, open_char: char) -> Option<usize> {
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

/// Separators that introduce a suffix ("Song - Live", "Song – Radio Edit", "Song | Official
/// Video").
pub(crate) const DASH_SEPARATORS: [&str; 4] = [" - ", " \u{2013} ", " \u{2014} ", " | "];

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
    let unsourced = work_without_from(raw);
    let raw = unsourced.as_deref().unwrap_or(raw);
    let spelled = spell_accidentals(raw);
    let raw = spelled.as_ref();
    let dashed = movement_bracket_as_dash(raw);
    let raw = dashed.as_deref().unwrap_or(raw);
    let mut read = SegmentsRead::default();
    // 1. Bracketed segments, anywhere in the title.
    let brackets = read_brackets(raw, &mut read);
    let kept_brackets = !brackets.kept_texts.is_empty();
    // 2. Dash suffixes, right to left, while they are version, noise or featuring.
    let (remaining, kept_tail) = read_dash_suffixes(&brackets.outside, &mut read);
    // 3. Inline "feat." / "ft." / "featuring" (not "with": "Dancing with Myself").
    let mut parsed = ParsedTitle {
        base: base_and_featured(remaining, &mut read.featured),
        featured: read.featured,
        version: read.version,
        version_text: read.version_texts.join(" "),
        edit_text: read.edit_texts.join(" "),
        ..ParsedTitle::default()
    };
    if parsed.base.is_empty() {
        // A title that is nothing but a bracket ("(Untitled)") keeps its words.
        parsed.base = normalize_text(raw);
    }
    // Kept brackets and the kept dash suffix say something the song's name may not: they are
    // qualifiers too, unless written in another script than the rest (the title in that
    // script: "Gangnam Style (강남스타일)").
    let rest_script = if kept_brackets {
        script_of(&brackets.without_kept)
    } else {
        script_of(remaining)
    };
    let mut qualifiers = read.qualifiers;
    for text in (brackets.kept_texts.iter().copied()).chain(kept_tail.map(|(_, tail)| tail)) {
        let script = script_of(text);
        if script != rest_script && script != Script::None && rest_script != Script::None {
            continue;
        }
        let words = normalize_title_words(text);
        if !words.is_empty() && !qualifiers.contains(&words) {
            qualifiers.push(words);
        }
    }
    parsed.qualifiers = qualifiers;
    if kept_brackets {
        short_without_brackets(&mut parsed, &brackets);
    }
    // "Song - Pennine Version" is also looked up as "Song", as a bracket's title is without
    // its bracket: found, then weighed by its qualifier.
    if parsed.short.is_none()
        && let Some((before, _)) = kept_tail
    {
        let short = parse_title(before).base;
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

/// What the segments of a title [`classify_segment`] read say, gathered while
/// [`parse_title`] reads its brackets and dash suffixes.
#[derive(Default)]
struct SegmentsRead {
    featured: Vec<String>,
    version: VersionTags,
    version_texts: Vec<String>,
    edit_texts: Vec<String>,
    qualifiers: Vec<String>,
}

impl SegmentsRead {
    /// Takes in one segment; one that stays in the base (`text`) is added to `kept`.
    fn apply(&mut self, segment: Segment, kept: &mut String, text: &str) {
        match segment {
            Segment::Featured(names) => {
                for name in names {
                    if !self.featured.contains(&name) {
                        self.featured.push(name);
                    }
                }
            }
            Segment::Version(tags, words) => {
                self.version = self.version.union(tags);
                self.version_texts.push(words);
            }
            Segment::Noise(edit) => {
                if !edit.is_empty() {
                    self.edit_texts.push(edit);
                }
            }
            Segment::Qualifier(words) => {
                if !self.qualifiers.contains(&words) {
                    self.qualifiers.push(words);
                }
            }
            Segment::Keep => {
                // A colon inside brackets is not where a classical title's movement starts
                // ("Sunflower (Spider-Man: Into the Spider-Verse)").
                kept.push(' ');
                kept.extend(text.chars().map(|c| if c == ':' { ' ' } else { c }));
                kept.push(' ');
            }
        }
    }
}

/// A title with its bracketed segments read.
struct Brackets<'r> {
    /// The title without its brackets, with the words of those that stay in the base.
    outside: String,
    /// The title without the bracketed words that stay in the base, for the short form.
    without_kept: String,
    /// The text of each bracket that stays in the base.
    kept_texts: Vec<&'r str>,
}

/// Reads the bracketed segments of `raw`, anywhere in the title, into `read`.
fn read_brackets<'r>(raw: &'r str, read: &mut SegmentsRead) -> Brackets<'r> {
    let mut outside = String::with_capacity(raw.len());
    let mut without_kept = String::with_capacity(raw.len());
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
                    kept_texts.push(inner);
                    without_kept.push(' ');
                } else {
                    without_kept.push_str(&rest[open..=close]);
                }
                read.apply(segment, &mut outside, inner);
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
    Brackets {
        outside,
        without_kept,
        kept_texts,
    }
}

/// Reads the dash suffixes of `outside` into `read`, right to left, while they are version,
/// noise or featuring: the title before them, and the suffix that stays in the base ("Song -
/// Pennine Version") with the title before it, if any.
fn read_dash_suffixes<'o>(
    outside: &'o str,
    read: &mut SegmentsRead,
) -> (&'o str, Option<(&'o str, &'o str)>) {
    let mut head = outside;
    loop {
        let split = DASH_SEPARATORS
            .iter()
            .filter_map(|separator| head.rfind(separator).map(|at| (at, separator.len())))
            .max_by_key(|(at, _)| *at);
        let Some((at, separator_len)) = split else {
            return (head, None);
        };
        if head[..at].trim().is_empty() {
            return (head, None);
        }
        let tail = &head[at + separator_len..];
        match classify_segment(tail) {
            Segment::Keep => return (head, Some((&head[..at], tail))),
            segment => {
                let mut ignored = String::new();
                read.apply(segment, &mut ignored, tail);
                head = &head[..at];
            }
        }
    }
}

/// The base words of what is left of a title, its numbers written one way; the names after
/// an inline "feat." / "ft." / "featuring" go to `featured` (not "with": "Dancing with
/// Myself").
fn base_and_featured(remaining: &str, featured: &mut Vec<String>) -> String {
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
            if !featured.contains(&name) {
                featured.push(name);
            }
        }
    }
    join_words(canonical_numbers(&words).iter().map(String::as_str))
}

/// The title without the brackets that stay in its base, as its short form, and a lone
/// bracket's words (the title in another script, or a title of its own) as its bracketed
/// form.
fn short_without_brackets(parsed: &mut ParsedTitle, brackets: &Brackets<'_>) {
    // `without_kept` has no kept brackets left, so this parses it once more at most.
    let short = parse_title(&brackets.without_kept).base;
    if let [inner] = brackets.kept_texts.as_slice()
        && !short.is_empty()
        && (script_of(inner) != script_of(&short) || normalize_text(inner).split(' ').count() >= 2)
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

/// Text-speak words and what they spell out.
pub(super) const TEXT_SPEAK: [(&str, &str); 61] = [
    // Spoken contractions and dropped letters, as titles write them ("I Wanna Dance with
    // Somebody", "Sweet Child O' Mine", "Rock 'n' Roll", "Lovin' You").
    ("wanna", "want to"),
    ("gonna", "going to"),
    ("gotta", "got to"),
    ("gimme", "give me"),
    ("lemme", "let me"),
    ("kinda", "kind of"),
    ("outta", "out of"),
    ("ya", "you"),
    ("til", "until"),
    ("till", "until"),
    ("o", "of"),
    ("n", "and"),
    ("lovin", "loving"),
    ("livin", "living"),
    ("rockin", "rocking"),
    ("rollin", "rolling"),
    ("feelin", "feeling"),
    ("nothin", "nothing"),
    ("somethin", "something"),
    ("goin", "going"),
    ("comin", "coming"),
    ("doin", "doing"),
    ("talkin", "talking"),
    ("walkin", "walking"),
    ("dancin", "dancing"),
    ("dreamin", "dreaming"),
    ("fallin", "falling"),
    ("cryin", "crying"),
    ("tryin", "trying"),
    ("movin", "moving"),
    ("runnin", "running"),
    ("singin", "singing"),
    ("thinkin", "thinking"),
    ("waitin", "waiting"),
    ("lookin", "looking"),
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
    // Abbreviations and contractions titles are also written out in ("Happy Xmas" and "Happy
    // Christmas", "Mr. Blue Sky" and "Mister Blue Sky", "Let 'Em In", "Lil' Red Riding Hood").
    ("xmas", "christmas"),
    ("mr", "mister"),
    ("dr", "doctor"),
    ("mt", "mount"),
    ("em", "them"),
    ("lil", "little"),
    ("wit", "with"),
    ("tha", "the"),
    ("alright", "all right"),
    ("ok", "okay"),
    ("sk8", "skate"),
    ("sk8er", "skater"),
    ("l8r", "later"),
];

/// A normalised title with its single digits written apart joined into one number ("1 2 3
/// 4" → "1234", as "1, 2, 3, 4" and "1-2-3-4" normalise), or `None` when it has no run of
/// two or more. Stores write such a title both ways (Feist's "1234").
///
/// ```
/// use cachearr_library::normalize::joined_digits;
/// assert_eq!(joined_digits("1 2 3 4").as_deref(), Some("1234"));
/// assert_eq!(joined_digits("1 2 step").as_deref(), Some("12 step"));
/// assert_eq!(joined_digits("song 2"), None);
/// ```
pub fn joined_digits(normalized: &str) -> Option<String> {
    let single = |word: &str| word.len() == 1 && word.bytes().all(|b| b.is_ascii_digit());
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    if !words
        .windows(2)
        .any(|pair| single(pair[0]) && single(pair[1]))
    {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut previous_single = false;
    for word in words {
        if single(word) && previous_single {
            out.last_mut()?.push_str(word);
        } else {
            out.push(word.to_string());
        }
        previous_single = single(word);
    }
    Some(out.join(" "))
}

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

/// The text between the first pair of double quotes ("…", “…”, „…“, «…»), if any; else
/// between single quotes that open a word and close one ('Pathétique', ‘Eroica’), of three
/// letters or more — not an apostrophe ("Rock 'n' Roll", "Singin' in the Rain").
pub(super) fn quoted_words(raw: &str) -> Option<&str> {
    let Some((open_at, open)) = raw
        .char_indices()
        .find(|(_, c)| matches!(c, '"' | '\u{201C}' | '\u{201E}' | '\u{00AB}'))
    else {
        return single_quoted_words(raw);
    };
    let closes: &[char] = match open {
        '\u{00AB}' => &['\u{00BB}'],
        '"' => &['"'],
        _ => &['\u{201D}', '\u{201C}'],
    };
    let inner = &raw[open_at + open.len_utf8()..];
    let close_at = inner.find(closes)?;
    Some(&inner[..close_at]).filter(|text| !text.trim().is_empty())
}

/// The text between single quotes that open a word (after a space or at the start) and close
/// one (before a space, a stop or the end), of three letters or more.
fn single_quoted_words(raw: &str) -> Option<&str> {
    let chars: Vec<(usize, char)> = raw.char_indices().collect();
    let opens = |at: usize| {
        matches!(chars[at].1, '\'' | '\u{2018}')
            && (at == 0 || chars[at - 1].1.is_whitespace())
            && chars.get(at + 1).is_some_and(|(_, c)| c.is_alphanumeric())
    };
    let closes = |at: usize| {
        matches!(chars[at].1, '\'' | '\u{2019}')
            && at > 0
            && !chars[at - 1].1.is_whitespace()
            && chars.get(at + 1).is_none_or(|(_, c)| {
                c.is_whitespace() || matches!(c, ':' | ',' | ';' | ')' | ']' | '.')
            })
    };
    let open = (0..chars.len()).find(|at| opens(*at))?;
    let close = (open + 1..chars.len()).find(|at| closes(*at))?;
    let inner = &raw[chars[open].0 + chars[open].1.len_utf8()..chars[close].0];
    (inner.chars().filter(|c| c.is_alphabetic()).count() >= 3).then_some(inner)
}

/// Writes a key's accidentals as words: "E♭" and "Eb major" as "E flat", "C♯" and "C#" as
/// "C sharp" — how stores that avoid the symbols write them ("E-Flat", "C sharp"). A "#"
/// elsewhere ("#1") and a "b" that is not a note's ("Bb" only before "major"/"minor") stay.
pub(super) fn spell_accidentals(raw: &str) -> std::borrow::Cow<'_, str> {
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
pub(super) fn normalize_title_words(raw: &str) -> String {
    let normalized = normalize_text(raw);
    let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    join_words(canonical_numbers(&words).iter().map(String::as_str))
}

/// Ordinal number words that [`canonical_numbers`] writes as digits with their suffix.
const ORDINAL_UNITS: [&str; 19] = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const ORDINAL_TENS: [&str; 8] = [
    "twentieth",
    "thirtieth",
    "fortieth",
    "fiftieth",
    "sixtieth",
    "seventieth",
    "eightieth",
    "ninetieth",
];

/// An ordinal written in words at `at` ("third", "nineteenth", "twenty first", "fortieth"):
/// its value and how many words it took.
fn ordinal_words(words: &[&str], at: usize) -> Option<(u32, usize)> {
    let word = *words.get(at)?;
    let unit = |w: &str| {
        ORDINAL_UNITS
            .iter()
            .position(|o| *o == w)
            .map(|p| p as u32 + 1)
    };
    if let Some(value) = unit(word) {
        return Some((value, 1));
    }
    if let Some(tens) = ORDINAL_TENS.iter().position(|t| *t == word) {
        return Some(((tens as u32 + 2) * 10, 1));
    }
    let tens = TENS.iter().position(|t| *t == word)?;
    let value = unit(words.get(at + 1)?).filter(|u| *u < 10)?;
    Some(((tens as u32 + 2) * 10 + value, 2))
}

/// The suffix of an ordinal written in digits: "st", "nd", "rd", "th" ("21st", "12th").
fn ordinal_suffix(value: u32) -> &'static str {
    match (value % 10, value % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// Number words that [`canonical_numbers`] writes as digits.
pub(super) const UNITS: [&str; 20] = [
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
pub(super) const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// True when a word names a number: digits, a Roman numeral, a number word.
fn names_number(word: &str) -> bool {
    (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
        || super::roman_value(word).is_some()
        || UNITS.contains(&word)
        || TENS.contains(&word)
}

/// Words that name a part or number, each written one way ("pt" and "part", "nr", "number",
/// "numero", "nummer" and "no", "volume" and "vol").
pub(super) fn canonical_number_word(word: &str) -> &str {
    match word {
        "pt" => "part",
        "pts" => "parts",
        "nr" | "number" | "num" | "numero" | "nummer" => "no",
        "volume" => "vol",
        other => other,
    }
}

/// Title words with numbers written one way, so that the ways people write one number meet
/// at one key: number words as digits ("Nine to Five" and "9 to 5", "Twenty Two" and "22",
/// "One Hundred" and "100", "A Thousand" and "1000", "Third" and "3rd", but "no one" stays a
/// pronoun), a part or number word and its digits apart ("No.5" and "No.
/// 5"), and the part/number words in one spelling ("Pt." and "Part", "Number" and "No.").
pub(super) fn canonical_numbers(words: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut at = 0;
    while at < words.len() {
        let word = words[at];
        // "Third Stone", "Nineteenth", "Twenty-First" as "3rd", "19th", "21st".
        if let Some((value, used)) = ordinal_words(words, at) {
            out.push(format!("{value}{}", ordinal_suffix(value)));
            at += used;
            continue;
        }
        // "10,000 Hours" (read "10 000") and "10000 Hours": groups of three digits after
        // a number of one to three are its thousands.
        let is_digits = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
        if is_digits(word)
            && word.len() <= 3
            && !word.starts_with('0')
            && words
                .get(at + 1)
                .is_some_and(|next| next.len() == 3 && is_digits(next))
        {
            let mut joined = word.to_string();
            at += 1;
            while let Some(group) = words.get(at).filter(|w| w.len() == 3 && is_digits(w)) {
                joined.push_str(group);
                at += 1;
            }
            out.push(joined);
            continue;
        }
        // "A Thousand Miles" and "1000 Miles", "A Hundred Days".
        if word == "a"
            && let Some((value, used)) = scaled_words(words, 1, at + 1)
        {
            out.push(value.to_string());
            at += 1 + used;
            continue;
        }
        // "No One" is a pronoun; "No. Five", "Number Five" and "Nr. Five" are numbers.
        let after_no = at > 0 && words[at - 1] == "no" && word == "one";
        // "One Hundred Years", "Five Hundred Miles", "Nineteen Hundred and Eighty-Five".
        if let Some((low, low_used)) = two_digit_words(words, at)
            .or_else(|| unit(word).filter(|u| *u > 0).map(|u| (u as u32, 1)))
            && let Some((value, used)) = scaled_words(words, low, at + low_used)
        {
            out.push(value.to_string());
            at += low_used + used;
            continue;
        }
        if let Some((value, used)) = two_digit_words(words, at) {
            // A year read in pairs: "Nineteen Ninety-Nine" is 1999, "Twenty Twelve" 2012.
            match two_digit_words(words, at + used).filter(|_| value >= 11) {
                Some((low, more)) => {
                    out.push((value * 100 + low).to_string());
                    at += used + more;
                }
                None if value >= 20 || !after_no => {
                    out.push(value.to_string());
                    at += used;
                }
                None => {
                    out.push(word.to_string());
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
        at = push_labelled_number(words, at, &mut out);
    }
    out
}

/// The value of a number word below twenty ("one", "twelve").
fn unit(word: &str) -> Option<usize> {
    UNITS.iter().position(|u| *u == word)
}

/// A number of two digits written in words at `at` ("nineteen", "ninety nine"), and how many
/// words it took.
fn two_digit_words(words: &[&str], at: usize) -> Option<(u32, usize)> {
    let word = *words.get(at)?;
    if let Some(tens) = TENS.iter().position(|t| *t == word) {
        let value = (tens as u32 + 2) * 10;
        return Some(
            match words
                .get(at + 1)
                .and_then(|w| unit(w))
                .filter(|u| (1..10).contains(u))
            {
                Some(u) => (value + u as u32, 2),
                None => (value, 1),
            },
        );
    }
    unit(word)
        .filter(|u| (10..20).contains(u))
        .map(|u| (u as u32, 1))
}

/// A count of hundreds or a thousand after a number (`value`) that took the words up to `at`
/// ("one hundred", "five hundred and one", "a thousand"): the number and how many more words
/// it took.
fn scaled_words(words: &[&str], value: u32, at: usize) -> Option<(u32, usize)> {
    match *words.get(at)? {
        "thousand" => Some((value * 1000, 1)),
        "hundred" => {
            let and = usize::from(words.get(at + 1) == Some(&"and"));
            let rest = two_digit_words(words, at + 1 + and).or_else(|| {
                unit(words.get(at + 1 + and)?)
                    .filter(|u| (1..10).contains(u))
                    .map(|u| (u as u32, 1))
            });
            Some(match rest {
                Some((low, more)) => (value * 100 + low, 1 + and + more),
                None => (value * 100, 1),
            })
        }
        _ => None,
    }
}

/// Writes the word at `at` with a part or number label in one spelling, apart from its
/// number when glued to it; where the words continue.
fn push_labelled_number(words: &[&str], at: usize, out: &mut Vec<String>) -> usize {
    let word = words[at];
    // "no5", "pt2", "vol1", "op27": the word and the number apart; "ptii" ("Pt.II")
    // the part and its Roman numeral.
    let letters = word.bytes().take_while(u8::is_ascii_lowercase).count();
    let (prefix, digits) = word.split_at(letters);
    // "N.5" (read "n5") is the Italian and Spanish "N. 5", number 5.
    let glued = matches!(
        prefix,
        "no" | "nr" | "n" | "pt" | "pts" | "part" | "vol" | "op" | "opus" | "bwv" | "kv" | "hwv"
    ) && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit());
    let glued_roman = ["pt", "pts", "part", "vol"].iter().find_map(|label| {
        let numeral = word.strip_prefix(label)?;
        (numeral.len() >= 2 && super::roman_value(numeral).is_some()).then_some((*label, numeral))
    });
    if glued {
        out.push(canonical_number_word(if prefix == "n" { "no" } else { prefix }).to_string());
        out.push(digits.to_string());
    } else if let Some((label, numeral)) = glued_roman {
        out.push(canonical_number_word(label).to_string());
        out.push(numeral.to_string());
    } else if matches!(word, "teil" | "partie" | "parte")
        && words.get(at + 1).is_some_and(|next| names_number(next))
    {
        // "Teil 2", "Partie 2", "Parte 2": the German, French, Italian and Spanish part.
        out.push("part".to_string());
    } else if matches!(word, "parts" | "pts")
        && words.get(at + 1).is_some_and(|next| names_number(next))
    {
        // "Parts 1-5" and "Pts. 1-5" as "Part 1-5"; "Parts One to Five" as "Part 1 5".
        out.push("part".to_string());
        if let (Some(first), Some(to), Some(last)) =
            (words.get(at + 1), words.get(at + 2), words.get(at + 3))
            && matches!(*to, "to" | "through" | "thru")
            && names_number(first)
            && names_number(last)
        {
            out.extend(canonical_numbers(&[first, last]));
            return at + 4;
        }
    } else {
        out.push(canonical_number_word(word).to_string());
    }
    at + 1
}
