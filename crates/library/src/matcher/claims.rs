//! Whether a candidate carries what the query says about *which recording* it wants.
//!
//! A title, an album and a credit can name another recording of the same song: a re-recording
//! ("(Taylor's Version)", "- 2016 Re-Recording", "- 2018"), a take or session ("(Take 3)",
//! "(Pennine Version)"), a derivative ("(Slowed + Reverb)", "(Guitar Cover)"), a live album
//! ("MTV Unplugged in New York" with a plain title), a remix or cover credited with a guest
//! ("A feat. B" where the library credits B alone). Only wording known to name the same
//! recording is passed over ([`normalize::names_same_recording`]); whatever else the query
//! says must be carried by the candidate, or the candidate goes to review, never to accept.

use super::*;

/// How the query's artist credit stands to a candidate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Credit {
    /// Every credited artist is the candidate's (or the credit meets none of them: another
    /// name or script, which the score weighs).
    Carried,
    /// The first-credited artist is the candidate's; a guest is not ("Dua Lipa feat. DaBaby" for "Dua
    /// Lipa"): a library that leaves guests out, or a remix with a guest.
    ExtraGuest,
    /// A guest is the candidate's artist, the first-credited one is not ("Pentatonix feat. Dolly Parton" for
    /// "Dolly Parton"): a cover or remix credited with the original artist.
    OtherFirst,
}

/// True when two normalised album names name one release or one of its editions: alike or a
/// slip of typing apart ("Abbey Road" and "Abbey Raod"; "Vol. 1" is not "Vol. 2"), one name running whole inside the other ("Songs from the
/// Big Chair" in "Songs from the Big Chair Super Deluxe Edition", "Symphonies Nos 5 and 7" in
/// "Beethoven Symphonies Nos 5 and 7"), or so in Latin letters when one is written in another
/// script ("Gruppa krovi" and `Группа крови`). What an edition's name says of its recordings
/// ("Live", "Taylor's Version") is weighed apart, by the album's claims.
pub(super) fn same_release(ours: &str, theirs: &str) -> bool {
    // A volume or part one name has and the other has not is another release ("Tidewater
    // Vol. 2", "Greatest Hits II", read "greatest hits 2"); a year or an anniversary is an
    // edition ("Thriller 25").
    let sequel = |text: &str| -> Vec<String> {
        let words: Vec<&str> = text.split(' ').collect();
        let mut marks: Vec<String> = words
            .iter()
            .enumerate()
            .filter(|(at, word)| {
                matches!(
                    **word,
                    "vol" | "volume" | "part" | "pt" | "chapter" | "ii" | "iii" | "iv"
                ) || (word.len() == 1
                    && word.chars().all(|c| c.is_ascii_digit())
                    && (*at + 1 == words.len() || *at > 0))
            })
            // A Roman numeral is the number it reads ("Led Zeppelin IV" and "Led Zeppelin 4").
            .map(|(_, word)| match *word {
                "ii" => "2".to_string(),
                "iii" => "3".to_string(),
                "iv" => "4".to_string(),
                _ => (*word).to_string(),
            })
            .collect();
        // A digit glued to the last word, as a superscript reads ("Tillerman²" is
        // "tillerman2"): the second of the name.
        if let Some(last) = words.last()
            && let Some(stem) = last.strip_suffix(|c: char| c.is_ascii_digit())
            && stem.len() >= 3
            && stem.chars().all(|c| c.is_ascii_lowercase())
        {
            marks.push(last[stem.len()..].to_string());
        }
        marks
    };
    let alike = |a: &str, b: &str| {
        sequel(a) == sequel(b)
            && (similarity(a, b) >= ALBUM_AGREES
                || normalize::words_within(a, b)
                || (normalize::differ_by_slips(a, b) && normalize::numbers_agree(a, b)))
    };
    if alike(ours, theirs) {
        return true;
    }
    // The same name with an edition's words after it ("21 (Legacy Edition)", "OK Computer
    // (Japan Edition)", "Back in Black - Disc 1"), which a short name ("21", "AM") does not
    // hold whole enough to be found inside the longer.
    let (bare_ours, bare_theirs) = (without_edition(ours), without_edition(theirs));
    if (bare_ours != ours || bare_theirs != theirs) && bare_ours == bare_theirs {
        return true;
    }
    let latin =
        |text: &str| normalize::latin_form(text).map(|latin| normalize::loose_latin(&latin));
    match (latin(ours), latin(theirs)) {
        (None, None) => false,
        (ours_latin, theirs_latin) => alike(
            &ours_latin.unwrap_or_else(|| normalize::loose_latin(ours)),
            &theirs_latin.unwrap_or_else(|| normalize::loose_latin(theirs)),
        ),
    }
}

/// A normalised album name without the edition its last words name ("21 legacy edition" →
/// "21", "back in black disc 1" → "back in black", "7 ep" → "7"): words that name an
/// edition, ending in "edition", "version", "remastered", "reissue" or "ep", or a disc's
/// number. A version that names a recording ("Taylor's Version", "Live Edition") is not one
/// of them and stays; the name is returned whole when nothing would be left.
fn without_edition(album: &str) -> &str {
    const EDITION: [&str; 36] = [
        "legacy",
        "tour",
        "definitive",
        "standard",
        "international",
        "japan",
        "japanese",
        "uk",
        "us",
        "european",
        "complete",
        "expanded",
        "extended",
        "deluxe",
        "super",
        "special",
        "anniversary",
        "bonus",
        "track",
        "tracks",
        "remastered",
        "remaster",
        "original",
        "recording",
        "digital",
        "collectors",
        "limited",
        "platinum",
        "edition",
        "version",
        "reissue",
        "the",
        "ep",
        "cd",
        "disc",
        "digitally",
    ];
    let mut words: Vec<&str> = album.split(' ').collect();
    // "Disc 1", "CD 2": a disc of the release.
    if let [.., label, number] = words.as_slice()
        && matches!(*label, "disc" | "cd")
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        words.truncate(words.len() - 2);
    }
    let ends_edition = words.last().is_some_and(|last| {
        matches!(
            *last,
            "edition" | "version" | "remastered" | "remaster" | "reissue" | "ep"
        )
    });
    if ends_edition {
        while words.len() > 1
            && words.last().is_some_and(|w| {
                EDITION.contains(w) || w.bytes().all(|b| b.is_ascii_digit()) || {
                    // "30th", as an anniversary edition counts.
                    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
                    digits > 0 && matches!(&w[digits..], "st" | "nd" | "rd" | "th")
                }
            })
        {
            words.pop();
        }
    }
    let kept = words.iter().map(|w| w.len()).sum::<usize>() + words.len().saturating_sub(1);
    if kept == 0 || kept > album.len() {
        return album;
    }
    &album[..kept]
}

impl<'a> Matcher<'a> {
    /// True when the candidate carries what the query says of its recording:
    /// - the query title's qualifiers are words of the candidate's title;
    /// - the candidate title's qualifiers that name a recording ("Part II", "Re-Recorded",
    ///   "Take 3", a year) are words of the query's title;
    /// - the query album's claims ("live", "sessions", "taylors version") are words of the
    ///   candidate's album or title, or kinds of its recording, and the candidate album's
    ///   claims are the query's, and the album it names is the candidate's release or an
    ///   edition of it (`same_release`);
    /// - every artist the query credits is among the candidate's credits ([`Credit`]): a
    ///   guest the library does not credit, or another first-credited artist, is something
    ///   the query says and the library does not, whatever the album and the length say (a
    ///   remix or a cover with a guest is often on the same album, of the same length).
    pub(super) fn claims_backed(&self, query: &Prepared, view: &ItemView<'_>) -> bool {
        let raw = view.title();
        // A title without brackets or a dash suffix has no qualifiers, version or edit words:
        // most library titles are spared the parse.
        let has_parts = raw.contains(['(', '[', '{'])
            || normalize::DASH_SEPARATORS
                .iter()
                .any(|separator| raw.contains(separator));
        let ours: Vec<&String> = query
            .title
            .qualifiers
            .iter()
            .filter(|qualifier| !normalize::reads_as_subtitle(qualifier))
            .collect();
        let theirs = (!ours.is_empty()
            || (has_parts && normalize::title_may_name_recording(view.title_norm(), raw)))
        .then(|| normalize::parse_title(raw));
        // The title's words, where something is to be found among them.
        let base_numbers = query.title.work.is_none() && query.base_has_number;
        let their_words = if !ours.is_empty()
            || !query.album_claims.is_empty()
            || query.artists.len() > 1
            || base_numbers
        {
            normalize::title_words(raw)
        } else {
            Vec::new()
        };
        let classical = query.title.work.is_some()
            || theirs.as_ref().is_some_and(|theirs| theirs.work.is_some());
        if !ours.is_empty() {
            let ours: Vec<String> = ours.into_iter().cloned().collect();
            if !normalize::qualifiers_backed(&ours, &their_words, classical) {
                return false;
            }
        }
        // A number the query's title names and the candidate's does not: another song or
        // another recording ("Song 2", "Total Eclipse of the Heart 2010"). Classical titles
        // compare their numbers by label; a title in another script ("One Summer's Day" for
        // "あの夏へ") says nothing of the numbers.
        if base_numbers
            && !classical
            && normalize::script_of(&query.title.base) == normalize::script_of(view.title_norm())
            && !normalize::numbers_carried(&query.title.base, &their_words)
        {
            return false;
        }
        // The other way round: the candidate's title is the query's with a number added ("Song
        // II", "Song, Pt. 2" for "Song"), a sequel or another part the query did not ask for.
        if !classical && normalize::adds_a_number(view.title_norm(), &query.title.base) {
            return false;
        }
        let named: Vec<String> = theirs
            .as_ref()
            .map(|theirs| {
                theirs
                    .qualifiers
                    .iter()
                    .filter(|qualifier| normalize::names_recording(qualifier))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !normalize::qualifiers_backed(&named, &query.title_words, classical) {
            return false;
        }
        albums_agree(query, view, &their_words, &named)
            && self.credit(query, view, &their_words) == Credit::Carried
    }

    /// How the query's credited artists stand to the candidate's credits (track artists,
    /// album artist, the artists and remixer its title names). A name in another script than
    /// an unmatched name of the candidate is not counted against it (`BTS` beside
    /// `방탄소년단`), nor the band of a leader and band ("Prince & The Revolution").
    pub(super) fn credit(
        &self,
        query: &Prepared,
        view: &ItemView<'_>,
        their_words: &[String],
    ) -> Credit {
        if query.artists.len() < 2 {
            // One name: it is the candidate's, or the artist similarity weighs it.
            return Credit::Carried;
        }
        let mut names: Vec<&str> = view
            .artist_ids()
            .iter()
            .map(|id| self.index.artist_name(*id))
            .collect();
        if let Some(id) = view.album_artist_id() {
            let name = self.index.artist_name(id);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // "Earth Wind and Fire" splits otherwise than "Earth, Wind & Fire".
        if normalize::name_similarity(&query.artists_joined, &names.join(" ")) >= 0.9 {
            return Credit::Carried;
        }
        // "Guns and Roses" splits where "Guns N' Roses" is one name: the whole credit, said.
        if let Some(said) = normalize::spoken_name(&names.join(" "))
            && normalize::spoken_name(&query.credit).unwrap_or_else(|| query.credit.clone()) == said
        {
            return Credit::Carried;
        }
        // The release credits more than the track may: the album artist's names one by one
        // ("Queen & David Bowie") and the guests its album's name credits ("Work (feat.
        // Drake) - Single").
        let mut release_names: Vec<String> = view
            .album_artist()
            .map(normalize::split_artists)
            .unwrap_or_default();
        if let Some(album) = view.album()
            && album.contains(['(', '[', '-'])
        {
            release_names.extend(normalize::parse_title(album).featured);
        }
        for name in &release_names {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let floor = self.config.artist_floor;
        let meets = |ours: &str, theirs: &str| normalize::name_similarity(ours, theirs) >= floor;
        let named_in_title = |name: &str| {
            name.split(' ')
                .all(|word| word.is_empty() || their_words.iter().any(|w| w == word))
        };
        let mut covered: Vec<bool> = query
            .artists
            .iter()
            .map(|ours| names.iter().any(|theirs| meets(ours, theirs)) || named_in_title(ours))
            .collect();
        if !covered.contains(&true) {
            return Credit::Carried;
        }
        // One act under two names: either name carries the other.
        if let Some(pair) = &query.leader_and_band {
            let in_pair = |name: &String| pair.contains(name);
            let pair_covered = query
                .artists
                .iter()
                .zip(&covered)
                .any(|(name, covered)| *covered && in_pair(name));
            if pair_covered {
                for (name, covered) in query.artists.iter().zip(covered.iter_mut()) {
                    *covered |= in_pair(name);
                }
            }
        }
        let unmatched_theirs: Vec<&str> = names
            .iter()
            .copied()
            .filter(|theirs| !query.artists.iter().any(|ours| meets(ours, theirs)))
            .collect();
        let extra = |ours: &String| {
            let script = normalize::script_of(ours);
            !unmatched_theirs
                .iter()
                .any(|theirs| normalize::script_of(theirs) != script)
        };
        let mut credit = Credit::Carried;
        for (at, (ours, covered)) in query.artists.iter().zip(&covered).enumerate() {
            if !covered && extra(ours) {
                if at == 0 {
                    return Credit::OtherFirst;
                }
                credit = Credit::ExtraGuest;
            }
        }
        credit
    }
}

/// The same recording on another release: a compilation or a soundtrack gathers recordings
/// made for the artists' own albums, so where one of the two albums is one
/// ([`normalize::names_a_compilation`]) and the lengths agree within 2 s, the other album
/// says nothing against the recording. Another studio album, a live one or a sequel still
/// does.
fn same_recording_elsewhere(query: &Prepared, view: &ItemView<'_>, ours: &str) -> bool {
    // A scrobble or a chart line gives no length: the compilation it names by its name
    // ("Greatest Hits", "Now 45", a film's soundtrack) gathers the released recordings, and
    // what it claims of them ("Live", "Re-Recorded") is weighed by the album's claims. Where
    // only the library's album is one, the entry's may be a live album named without the
    // word ("Stop Making Sense"): the length must tell. A compilation of other versions
    // ("Acoustic Hits", "Piano Classics", "Karaoke Hits") holds other recordings.
    if query.duration_ms.is_none() {
        return normalize::names_a_compilation(ours)
            && normalize::kinds_named(VersionTags::NONE, ours).is_original()
            && !ours.split(' ').any(|word| {
                matches!(
                    word,
                    "piano"
                        | "lullaby"
                        | "lullabies"
                        | "karaoke"
                        | "tribute"
                        | "covers"
                        | "orchestral"
                        | "symphonic"
                        | "reimagined"
                        | "rerecorded"
                        | "versions"
                )
            });
    }
    query
        .duration_ms
        .zip(view.duration_ms())
        .is_some_and(|(a, b)| a.abs_diff(b) <= SAME_LENGTH_MS)
        && (normalize::names_a_compilation(ours)
            || normalize::names_a_compilation(view.album_norm())
            || view
                .album_artist()
                .is_some_and(|artist| normalize::normalize_text(artist) == "various artists"))
}

/// Whether the albums agree: the album the query names is the candidate's release, its
/// claims are carried by the candidate, and what the candidate's album claims is said by the
/// query too.
fn albums_agree(
    query: &Prepared,
    view: &ItemView<'_>,
    their_words: &[String],
    named: &[String],
) -> bool {
    // The album the query names must be the candidate's: another release ("Delicate Sound
    // of Thunder" for the song on "The Dark Side of the Moon") may hold another recording
    // — live, re-recorded, another edit — whatever its name says.
    // A single named for the song ("Song (Radio Edit)", "Song - Single") holds the song.
    if let Some(ours) = query.album.as_deref()
        && !view.album_norm().is_empty()
        && !same_release(ours, view.album_norm())
        && ours != query.title.base
        && !same_recording_elsewhere(query, view, ours)
    {
        return false;
    }
    let their_album = view.album().unwrap_or("");
    if !query.album_claims.is_empty() {
        let mut words = normalize::title_words(their_album);
        words.extend(their_words.iter().cloned());
        let kinds = normalize::kinds_named(view.version(), their_album);
        if !normalize::claims_carried(&query.album_claims, &words, kinds) {
            return false;
        }
    }
    // The candidate's album may say its recording is live, a session or a re-recording
    // ("MTV Unplugged in New York", "1989 (Taylor's Version)") where its title is plain: the
    // query must say so too. (A title that names its version or qualifier has been weighed
    // by it already: "Dynamite (Tropical Remix)" on "Dynamite (DayTime Version)".)
    if view.version().is_original()
        && named.is_empty()
        && normalize::album_may_claim(view.album_norm(), their_album)
    {
        let their_claims = normalize::album_claims(their_album);
        if !their_claims.is_empty() {
            let mut words = query.title_words.clone();
            words.extend(query.album_words.iter().cloned());
            let ours = query.album.as_deref().unwrap_or("");
            let mut kinds = normalize::kinds_named(query.title.version, ours);
            // "Song (Live)" asks for a concert, and an unplugged album is one.
            if query.title.version == VersionTags::LIVE && normalize::names_a_concert(their_album) {
                kinds = kinds.union(VersionTags::ACOUSTIC);
            }
            if !normalize::claims_carried(&their_claims, &words, kinds) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    //! Names and wording written for these tests, in no evaluation set: the rule must hold for
    //! words the matcher has never seen.

    use crate::matcher::{Band, MatchOutcome, Matcher, MatcherConfig, TrackQuery};
    use crate::record::ItemRecord;
    use crate::{LibraryIndex, Visibility};

    fn track(id: &str, artists: &[&str], title: &str, album: &str, seconds: u32) -> ItemRecord {
        ItemRecord {
            artists: artists.iter().map(|a| a.to_string()).collect(),
            album: Some(album.to_string()),
            album_artist: artists.first().map(|a| a.to_string()),
            duration_ms: Some(seconds * 1000),
            ..ItemRecord::track(id, "1", "", title)
        }
    }

    fn library() -> LibraryIndex {
        LibraryIndex::build(&[
            track(
                "harbour",
                &["The Velvet Orchards"],
                "Harbour Lights",
                "Tidewater",
                233,
            ),
            track(
                "quarry",
                &["The Velvet Orchards"],
                "Quarry Song",
                "Tidewater",
                187,
            ),
            track(
                "glass",
                &["Mina Sol"],
                "Glass Orchard (2014 Re-Recording)",
                "Glass",
                201,
            ),
            track("lamp", &["Mina Sol"], "Lamplighter", "Glass", 244),
            track(
                "lamp-take",
                &["Mina Sol"],
                "Lamplighter (Attic Take)",
                "Glass Demos",
                251,
            ),
            track(
                "duet",
                &["Ada Quill", "Mina Sol"],
                "Two Kettles",
                "Kettles",
                199,
            ),
            track("ada", &["Ada Quill"], "Saltmarsh", "Kettles", 215),
        ])
        .expect("the library builds")
    }

    fn run(index: &LibraryIndex, query: TrackQuery) -> MatchOutcome {
        Matcher::new(index, &Visibility::everything(), MatcherConfig::default()).match_one(&query)
    }

    fn with(artist: &str, title: &str, album: Option<&str>, seconds: Option<u32>) -> TrackQuery {
        TrackQuery {
            album: album.map(str::to_string),
            duration_ms: seconds.map(|s| s * 1000),
            ..TrackQuery::new(artist, title)
        }
    }

    /// In review with the candidate shown, never accepted.
    fn assert_offered(index: &LibraryIndex, query: TrackQuery, id: &str) {
        let outcome = run(index, query.clone());
        assert_eq!(outcome.band, Band::Review, "{query:?} → {outcome:?}");
        assert_eq!(
            outcome.best.as_ref().map(|best| best.id.as_str()),
            Some(id),
            "{query:?}"
        );
    }

    #[test]
    fn unknown_qualifiers_go_to_review_with_the_candidate() {
        let index = library();
        for title in [
            "Harbour Lights (Rooftop Take)",
            "Harbour Lights (Kazoo Cover)",
            "Harbour Lights (Marzipan Version)",
            "Harbour Lights (Half-Speed Reverb)",
            "Harbour Lights - Zither Reworking",
            "Harbour Lights - 2031",
            "Harbour Lights (1997 Version)",
            "Harbour Lights (Version)",
            "Harbour Lights (Tuesday Tapes)",
            "Harbour Lights (Fjord Sessions)",
            "Harbour Lights - 2009 Stereo Mix",
            "Harbour Lights (2014 Single Version)",
        ] {
            let query = with("The Velvet Orchards", title, Some("Tidewater"), Some(233));
            assert_offered(&index, query, "harbour");
        }
    }

    /// Another act, song and wording, also written for this test and checked to be in no
    /// evaluation set (`tests/library/real_world_eval.rs`,
    /// `the_unit_tests_invented_names_are_in_no_evaluation_set`).
    fn ferry_library() -> LibraryIndex {
        LibraryIndex::build(&[
            track(
                "ferry",
                &["Corvid Almanac"],
                "Lantern Ferry",
                "Copperplate",
                246,
            ),
            track(
                "belljar",
                &["Corvid Almanac"],
                "Belljar",
                "Copperplate",
                192,
            ),
            track("moth", &["Moth Choir"], "Dovetail", "Orrery", 208),
        ])
        .expect("the library builds")
    }

    #[test]
    fn qualifiers_never_seen_go_to_review_and_known_wording_is_accepted() {
        let index = ferry_library();
        // Words in brackets or after a dash that name no known edition, edit or posting: the
        // candidate is shown for review, whatever the album and the length say.
        for title in [
            "Lantern Ferry (Saltbox Version)",
            "Lantern Ferry (Lighthouse Rehearsal)",
            "Lantern Ferry - Quillwork Rendition",
            "Lantern Ferry (Wintergreen Edit)",
            "Lantern Ferry (Greenhouse)",
            "Lantern Ferry [Pumice]",
            "Lantern Ferry - 2042",
            "Lantern Ferry (2042 Version)",
            "Lantern Ferry (Take 4)",
            "Lantern Ferry - Saltbox Mono Version",
        ] {
            let query = with("Corvid Almanac", title, Some("Copperplate"), Some(246));
            assert_offered(&index, query, "ferry");
        }
        // An artist the library does not credit, an album it does not carry.
        assert_offered(
            &index,
            with(
                "Corvid Almanac feat. Pell Marrow",
                "Lantern Ferry",
                Some("Copperplate"),
                Some(246),
            ),
            "ferry",
        );
        assert_offered(
            &index,
            with(
                "Corvid Almanac",
                "Lantern Ferry",
                Some("Northern Quays"),
                Some(246),
            ),
            "ferry",
        );
        // The same song in the wording known to name its recording: accepted.
        for title in [
            "Lantern Ferry",
            "Lantern Ferry - 2024 Remaster",
            "Lantern Ferry (Remastered)",
            "Lantern Ferry - Single Version",
            "Lantern Ferry (Stereo Mix)",
            "Lantern Ferry [Official Audio]",
            "Lantern Ferry (Explicit)",
        ] {
            let query = with("Corvid Almanac", title, Some("Copperplate"), Some(246));
            let outcome = run(&index, query.clone());
            assert_eq!(
                outcome.accepted_id(),
                Some("ferry"),
                "{query:?} → {outcome:?}"
            );
        }
    }

    #[test]
    fn an_unknown_qualifier_beside_known_wording_still_goes_to_review() {
        let index = ferry_library();
        // Known wording ("Remaster", "Mono") does not vouch for the words beside it.
        for title in [
            "Lantern Ferry (Belljar Session) [2024 Remaster]",
            "Lantern Ferry - Remastered 2011 / Moth Choir Version",
            "Lantern Ferry (Mono) (Orrery Take)",
            "Lantern Ferry (Dovetail Version) - Single Edit",
        ] {
            let query = with("Corvid Almanac", title, Some("Copperplate"), Some(246));
            assert_offered(&index, query, "ferry");
        }
    }

    #[test]
    fn wording_known_to_name_the_same_recording_is_accepted() {
        let index = library();
        for title in [
            "Harbour Lights - 2019 Remaster",
            "Harbour Lights (Remastered 2003)",
            "Harbour Lights (Digitally Remastered)",
            "Harbour Lights - Radio Edit",
            "Harbour Lights (Single Version)",
            "Harbour Lights (Album Version)",
            "Harbour Lights - Mono",
            "Harbour Lights (Stereo Mix)",
            "Harbour Lights [Explicit]",
            "Harbour Lights (Clean Version)",
            "Harbour Lights (Official Video) [HD]",
            "Harbour Lights (Video Oficial)",
            "Harbour Lights (From \"The Lantern Keeper\")",
            "Harbour Lights (Deluxe Edition)",
            "Harbour Lights [Gullwing Records]",
            "Harbour Lights | Official Video",
            "Harbour Lights - Main Mix",
            "Harbour Lights (Main Version)",
        ] {
            let query = with("The Velvet Orchards", title, None, Some(233));
            let outcome = run(&index, query.clone());
            assert_eq!(
                outcome.accepted_id(),
                Some("harbour"),
                "{query:?} → {outcome:?}"
            );
        }
        // A subtitle of three words or more is part of the song's name.
        let outcome = run(
            &index,
            with(
                "The Velvet Orchards",
                "Harbour Lights (When the Tide Turns)",
                None,
                None,
            ),
        );
        assert_eq!(outcome.accepted_id(), Some("harbour"), "{outcome:?}");
    }

    #[test]
    fn a_recording_the_library_names_is_asked_for_by_name() {
        let index = library();
        // The library holds the take and the song: each query gets its own.
        let take = run(
            &index,
            with("Mina Sol", "Lamplighter (Attic Take)", None, None),
        );
        assert_eq!(take.accepted_id(), Some("lamp-take"), "{take:?}");
        let song = run(&index, with("Mina Sol", "Lamplighter", None, None));
        assert_eq!(song.accepted_id(), Some("lamp"), "{song:?}");
        // The library holds only the re-recording: a plain query is not sure of it.
        assert_offered(
            &index,
            with("Mina Sol", "Glass Orchard", None, None),
            "glass",
        );
        let named = run(
            &index,
            with("Mina Sol", "Glass Orchard - 2014 Re-Recording", None, None),
        );
        assert_eq!(named.accepted_id(), Some("glass"), "{named:?}");
    }

    #[test]
    fn an_album_that_names_other_recordings_is_not_accepted() {
        let index = library();
        for album in [
            "Live at the Corn Exchange",
            "The Tidewater Sessions",
            "Tidewater (Re-Recorded)",
        ] {
            let query = with("The Velvet Orchards", "Harbour Lights", Some(album), None);
            assert_offered(&index, query, "harbour");
        }
        let deluxe = with(
            "The Velvet Orchards",
            "Harbour Lights",
            Some("Tidewater (Deluxe Edition)"),
            None,
        );
        assert_eq!(run(&index, deluxe).accepted_id(), Some("harbour"));
    }

    #[test]
    fn a_music_videos_longer_length_says_nothing() {
        let index = ferry_library();
        // The video runs 40 s longer than the recording: still the recording.
        for title in [
            "Corvid Almanac - Lantern Ferry (Official Video)",
            "Corvid Almanac 'Lantern Ferry' M/V",
            "Lantern Ferry (Videoclip Oficial)",
            // An upload naming the artist again, or on the artist's VEVO channel, is a video
            // whatever words it has.
            "Corvid Almanac - Lantern Ferry",
        ] {
            let query = with("Corvid Almanac", title, None, Some(286));
            let outcome = run(&index, query.clone());
            assert_eq!(
                outcome.accepted_id(),
                Some("ferry"),
                "{query:?} → {outcome:?}"
            );
        }
        let query = with("CorvidAlmanacVEVO", "Lantern Ferry", None, Some(286));
        assert_eq!(run(&index, query).accepted_id(), Some("ferry"));
        // A shorter one is another edit, and without a video the length still counts: a
        // plain entry, or the audio a "Topic" channel posts at the release's length.
        for (artist, title, seconds) in [
            ("Corvid Almanac", "Lantern Ferry (Official Video)", 200),
            ("Corvid Almanac", "Corvid Almanac - Lantern Ferry", 200),
            ("Corvid Almanac", "Lantern Ferry (Video Version)", 286),
            ("Corvid Almanac", "Lantern Ferry", 286),
            ("Corvid Almanac - Topic", "Lantern Ferry", 286),
        ] {
            let query = with(artist, title, None, Some(seconds));
            let outcome = run(&index, query.clone());
            assert_eq!(outcome.accepted_id(), None, "{query:?} → {outcome:?}");
        }
    }

    #[test]
    fn a_guest_the_release_credits_is_known() {
        let mut single = track(
            "ferry-single",
            &["Corvid Almanac"],
            "Lantern Ferry",
            "Lantern Ferry (feat. Pell Marrow) - Single",
            246,
        );
        single.album_artist = Some("Corvid Almanac".to_string());
        let mut duet = track("belljar", &["Moth Choir"], "Belljar", "Orrery", 192);
        duet.album_artist = Some("Moth Choir & Pell Marrow".to_string());
        let plain = track("dovetail", &["Moth Choir"], "Dovetail", "Orrery", 208);
        let index = LibraryIndex::build(&[single, duet, plain]).expect("the library builds");
        // The album's name or the album artist credits the guest: accepted.
        for (artist, title, id) in [
            (
                "Corvid Almanac feat. Pell Marrow",
                "Lantern Ferry",
                "ferry-single",
            ),
            ("Moth Choir, Pell Marrow", "Belljar", "belljar"),
        ] {
            let outcome = run(&index, with(artist, title, None, None));
            assert_eq!(outcome.accepted_id(), Some(id), "{artist} → {outcome:?}");
        }
        // A track whose release credits no guest: still review.
        assert_offered(
            &index,
            with("Moth Choir feat. Pell Marrow", "Dovetail", None, None),
            "dovetail",
        );
    }

    #[test]
    fn a_credited_artist_the_library_does_not_credit_goes_to_review() {
        let index = library();
        // A guest the library leaves out: review, whatever the album and the length say (a
        // remix or a cover with a guest is often on the same album, of the same length).
        for (album, seconds) in [
            (None, None),
            (Some("Harbour Lights (Noor Vale Mix Single)"), Some(233)),
            (Some("Tidewater"), Some(233)),
        ] {
            assert_offered(
                &index,
                with(
                    "The Velvet Orchards feat. Noor Vale",
                    "Harbour Lights",
                    album,
                    seconds,
                ),
                "harbour",
            );
        }
        assert_offered(
            &index,
            with(
                "The Velvet Orchards",
                "Harbour Lights (feat. Noor Vale)",
                Some("Tidewater"),
                Some(233),
            ),
            "harbour",
        );
        // Another first-credited artist crediting the library's as a guest: a cover, even on
        // the library's album.
        for album in [None, Some("Kettles")] {
            assert_offered(
                &index,
                with("Noor Vale feat. Ada Quill", "Saltmarsh", album, Some(215)),
                "ada",
            );
        }
        // Credits the library holds, in any order and form.
        for artist in [
            "Ada Quill & Mina Sol",
            "Mina Sol, Ada Quill",
            "Ada Quill feat. Mina Sol",
        ] {
            let outcome = run(&index, with(artist, "Two Kettles", None, None));
            assert_eq!(
                outcome.accepted_id(),
                Some("duet"),
                "{artist} → {outcome:?}"
            );
        }
        // A leader and band is one act, credited by either name.
        let band = run(
            &index,
            with("Ada Quill & the Lampposts", "Saltmarsh", None, None),
        );
        assert_eq!(band.accepted_id(), Some("ada"), "{band:?}");
    }

    #[test]
    fn the_edit_asked_for_is_chosen_among_the_librarys() {
        let index = LibraryIndex::build(&[
            track("kite", &["Noor Vale"], "Copper Kite", "Kites", 200),
            track(
                "kite-clean",
                &["Noor Vale"],
                "Copper Kite (Clean)",
                "Kites",
                200,
            ),
            track(
                "boat-mono",
                &["Noor Vale"],
                "Paper Boat (Mono)",
                "Boats",
                150,
            ),
            track(
                "boat-stereo",
                &["Noor Vale"],
                "Paper Boat (Stereo)",
                "Boats",
                151,
            ),
        ])
        .expect("the library builds");
        for (title, id) in [
            ("Copper Kite [Explicit]", "kite"),
            ("Copper Kite (Dirty)", "kite"),
            ("Copper Kite (Clean Version)", "kite-clean"),
            ("Copper Kite", "kite"),
            ("Paper Boat - Mono Mix", "boat-mono"),
            ("Paper Boat (Stereo Version)", "boat-stereo"),
        ] {
            let outcome = run(&index, with("Noor Vale", title, None, None));
            assert_eq!(outcome.accepted_id(), Some(id), "{title} → {outcome:?}");
        }
    }

    #[test]
    fn a_single_or_radio_mix_is_the_single_or_radio_edit() {
        let index = LibraryIndex::build(&[
            track(
                "ferry",
                &["Corvid Almanac"],
                "Lantern Ferry",
                "Copperplate",
                246,
            ),
            track(
                "ferry-radio",
                &["Corvid Almanac"],
                "Lantern Ferry (Radio Edit)",
                "Copperplate",
                201,
            ),
            track(
                "belljar",
                &["Corvid Almanac"],
                "Belljar",
                "Copperplate",
                192,
            ),
        ])
        .expect("the library builds");
        for (title, seconds, id) in [
            ("Lantern Ferry - Radio Mix", None, "ferry-radio"),
            ("Lantern Ferry (Radio Mix)", Some(201), "ferry-radio"),
            ("Lantern Ferry (Album Mix)", Some(246), "ferry"),
            ("Belljar (7\" Version)", None, "belljar"),
            ("Belljar - 7 Inch Single Mix", Some(192), "belljar"),
            ("Belljar (45 RPM Version)", None, "belljar"),
            ("Belljar (Short Version)", None, "belljar"),
            ("Belljar (Radio Cut)", None, "belljar"),
            ("Belljar (UK Radio Edit)", None, "belljar"),
            ("Lantern Ferry (Short Edit)", Some(201), "ferry-radio"),
            ("Lantern Ferry (US Radio Edit)", None, "ferry-radio"),
            ("Lantern Ferry (Promo Edit)", None, "ferry-radio"),
            // The library's single edit by another of its names, without a length; a plain
            // title is the album's.
            ("Lantern Ferry (Single Version)", None, "ferry-radio"),
            ("Lantern Ferry - Edit", None, "ferry-radio"),
            ("Lantern Ferry (Radio Version)", None, "ferry-radio"),
            ("Lantern Ferry", None, "ferry"),
        ] {
            let outcome = run(&index, with("Corvid Almanac", title, None, seconds));
            assert_eq!(outcome.accepted_id(), Some(id), "{title} → {outcome:?}");
        }
        // Another length than the library's edit: another edit, not accepted.
        let outcome = run(
            &index,
            with("Corvid Almanac", "Belljar (7\" Mix)", None, Some(160)),
        );
        assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
        // A market alone is no edit: "UK Version" may be another recording.
        let outcome = run(
            &index,
            with("Corvid Almanac", "Belljar (UK Version)", None, None),
        );
        assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
        // A 12-inch mix is an extended one: not the album's track.
        let outcome = run(
            &index,
            with("Corvid Almanac", "Belljar (12\" Mix)", None, None),
        );
        assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
    }

    #[test]
    fn a_mix_named_by_its_year_is_offered_with_the_recording() {
        let index = ferry_library();
        // Mixed again, by no remixer: not the recording as released, nor a remix of it.
        for title in [
            "Lantern Ferry - 2019 Mix",
            "Lantern Ferry (2011 Remix)",
            "Lantern Ferry (2009 Stereo Mix)",
            "Lantern Ferry (Stereo Remix)",
            "Lantern Ferry - 50th Anniversary Mix",
            "Lantern Ferry (Remixed 2019)",
        ] {
            assert_offered(&index, with("Corvid Almanac", title, None, None), "ferry");
        }
        // A mix with a name before it is a remixer's: not offered as the recording.
        let outcome = run(
            &index,
            with("Corvid Almanac", "Lantern Ferry (Pumice Remix)", None, None),
        );
        assert_eq!(outcome.best.map(|best| best.id), None);
        // A surround mix is offered the same way; a clean or explicit "mix" is that edit.
        for title in [
            "Lantern Ferry (Dolby Atmos Mix)",
            "Lantern Ferry - Quad Mix",
        ] {
            assert_offered(&index, with("Corvid Almanac", title, None, None), "ferry");
        }
        let outcome = run(
            &index,
            with("Corvid Almanac", "Lantern Ferry (Explicit Mix)", None, None),
        );
        assert_eq!(outcome.accepted_id(), Some("ferry"), "{outcome:?}");
        // The library's own year mix is the one asked for.
        let index = LibraryIndex::build(&[
            track(
                "ferry",
                &["Corvid Almanac"],
                "Lantern Ferry",
                "Copperplate",
                246,
            ),
            track(
                "ferry-2019",
                &["Corvid Almanac"],
                "Lantern Ferry (2019 Mix)",
                "Copperplate (Deluxe)",
                247,
            ),
        ])
        .expect("the library builds");
        let outcome = run(
            &index,
            with("Corvid Almanac", "Lantern Ferry - 2019 Mix", None, None),
        );
        assert_eq!(outcome.accepted_id(), Some("ferry-2019"), "{outcome:?}");
    }

    #[test]
    fn a_labels_upload_names_the_artist_after_the_label() {
        let index = ferry_library();
        for (uploader, title) in [
            (
                "Corvid Almanac",
                "Orrery Records – Corvid Almanac - Lantern Ferry (Official MV)",
            ),
            (
                "Orrery Records",
                "Orrery Records – Corvid Almanac - Lantern Ferry (Official MV)",
            ),
            (
                "Orrery Records",
                "Orrery Records - Corvid Almanac - Lantern Ferry [Official Video]",
            ),
            (
                "Orrery Records",
                "Corvid Almanac - Lantern Ferry (Official MV)",
            ),
            ("Orrery Records", "[MV] Corvid Almanac - Lantern Ferry"),
            // Noise after the video's bracket, an underscore after a video bracket, the
            // artist's name in another script beside it, video words before a quote.
            (
                "Orrery Records",
                "Corvid Almanac - Lantern Ferry (Official Video) [4K]",
            ),
            (
                "Pell Marrow",
                "Corvid Almanac - Lantern Ferry (Official Video) HD",
            ),
            (
                "Orrery Records",
                "[MV] Corvid Almanac(까마귀 연감) _ Lantern Ferry",
            ),
            (
                "Corvid Almanac",
                "Corvid Almanac MV\u{300C}Lantern Ferry\u{300D}",
            ),
            (
                "Orrery Records",
                "Corvid Almanac \u{300E}Lantern Ferry\u{300F} MV",
            ),
        ] {
            let outcome = run(&index, with(uploader, title, None, None));
            assert_eq!(
                outcome.accepted_id(),
                Some("ferry"),
                "{title} → {outcome:?}"
            );
        }
        // What the title says beyond the library's still goes to review; another artist is
        // not the library's.
        assert_offered(
            &index,
            with(
                "Orrery Records",
                "Orrery Records – Corvid Almanac - Lantern Ferry (Saltbox Version) (Official MV)",
                None,
                None,
            ),
            "ferry",
        );
        let outcome = run(
            &index,
            with(
                "Orrery Records",
                "Orrery Records – Moth Choir - Lantern Ferry (Official MV)",
                None,
                None,
            ),
        );
        assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
        // Without video words it is no upload of that shape.
        assert_eq!(
            crate::normalize::label_upload("Orrery Records – Corvid Almanac - Lantern Ferry"),
            None
        );
        assert_eq!(
            crate::normalize::label_upload("Corvid Almanac - Lantern Ferry (Live) [4K]"),
            None
        );
        assert_eq!(
            crate::normalize::label_upload("Corvid Almanac _ Lantern Ferry (Official Video)"),
            None
        );
    }

    #[test]
    fn a_remix_that_names_more_than_the_librarys_is_offered() {
        let index = LibraryIndex::build(&[track(
            "ferry-rmx",
            &["Corvid Almanac"],
            "Lantern Ferry (Dovetail Remix)",
            "Copperplate",
            301,
        )])
        .expect("the library builds");
        // Who made it is the same; which of its edits is not known.
        assert_offered(
            &index,
            with(
                "Corvid Almanac",
                "Lantern Ferry (Dovetail Extended Remix)",
                None,
                Some(301),
            ),
            "ferry-rmx",
        );
        let outcome = run(
            &index,
            with(
                "Corvid Almanac",
                "Lantern Ferry (Dovetail Remix)",
                None,
                None,
            ),
        );
        assert_eq!(outcome.accepted_id(), Some("ferry-rmx"), "{outcome:?}");
    }

    #[test]
    fn a_mix_is_known_by_the_names_shops_give_it() {
        let index = LibraryIndex::build(&[
            track(
                "ferry",
                &["Corvid Almanac"],
                "Lantern Ferry",
                "Copperplate",
                246,
            ),
            track(
                "ferry-ext",
                &["Corvid Almanac"],
                "Lantern Ferry (Extended Mix)",
                "Copperplate",
                402,
            ),
            track(
                "belljar-club",
                &["Corvid Almanac"],
                "Belljar (Club Version)",
                "Copperplate",
                371,
            ),
            track(
                "belljar-inst",
                &["Corvid Almanac"],
                "Belljar (Instrumental)",
                "Copperplate",
                192,
            ),
        ])
        .expect("the library builds");
        for (title, id) in [
            ("Lantern Ferry - Extended Version", "ferry-ext"),
            ("Lantern Ferry (Extended)", "ferry-ext"),
            ("Lantern Ferry (12\" Version)", "ferry-ext"),
            ("Lantern Ferry - 12 Inch Mix", "ferry-ext"),
            ("Belljar (Club Mix)", "belljar-club"),
            ("Belljar - Club Edit", "belljar-club"),
            ("Belljar (Instrumental Mix)", "belljar-inst"),
        ] {
            let outcome = run(&index, with("Corvid Almanac", title, None, None));
            assert_eq!(outcome.accepted_id(), Some(id), "{title} → {outcome:?}");
        }
        // Another remixer's mix is not one of these.
        for title in [
            "Lantern Ferry (Pumice Extended Remix)",
            "Belljar (Pumice Mix)",
        ] {
            let outcome = run(&index, with("Corvid Almanac", title, None, None));
            assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
        }
        let outcome = run(
            &index,
            with("Corvid Almanac", "Lantern Ferry", None, Some(246)),
        );
        assert_eq!(outcome.accepted_id(), Some("ferry"), "{outcome:?}");
    }

    #[test]
    fn an_edit_and_a_remix_joined_by_a_slash_go_to_review() {
        let index = LibraryIndex::build(&[track(
            "ferry",
            &["Corvid Almanac"],
            "Lantern Ferry",
            "Copperplate",
            246,
        )])
        .expect("the library builds");
        // One name the library's track answers to, one it does not: neither decides, and the
        // track is offered, not accepted nor left out.
        for title in [
            "Lantern Ferry - Radio Mix / Pumice Mix",
            "Lantern Ferry (Album Version / Dovetail Remix)",
        ] {
            assert_offered(
                &index,
                with("Corvid Almanac", title, Some("Copperplate"), Some(246)),
                "ferry",
            );
        }
        // A remix alone is still another recording.
        let outcome = run(
            &index,
            with(
                "Corvid Almanac",
                "Lantern Ferry (Pumice Mix)",
                None,
                Some(246),
            ),
        );
        assert_eq!(outcome.best, None, "{outcome:?}");
    }

    #[test]
    fn an_albums_edit_words_mark_its_tracks() {
        let index = LibraryIndex::build(&[
            track("kite", &["Noor Vale"], "Copper Kite", "Kites", 200),
            track(
                "kite-clean",
                &["Noor Vale"],
                "Copper Kite",
                "Kites (Clean)",
                200,
            ),
        ])
        .expect("the library builds");
        for (title, album, id) in [
            ("Copper Kite", Some("Kites [Explicit]"), "kite"),
            ("Copper Kite", Some("Kites (Edited)"), "kite-clean"),
            ("Copper Kite (Clean)", None, "kite-clean"),
            ("Copper Kite", None, "kite"),
        ] {
            let outcome = run(&index, with("Noor Vale", title, album, None));
            assert_eq!(
                outcome.accepted_id(),
                Some(id),
                "{title} {album:?} → {outcome:?}"
            );
        }
    }

    #[test]
    fn a_live_album_with_plain_titles_is_asked_for_as_live() {
        let index = LibraryIndex::build(&[
            track(
                "field",
                &["Noor Vale"],
                "Lantern Field",
                "Live at the Granary",
                240,
            ),
            track(
                "salt",
                &["Noor Vale"],
                "Saltmarsh",
                "Long Live Saltmarsh",
                210,
            ),
        ])
        .expect("the library builds");
        assert_offered(
            &index,
            with("Noor Vale", "Lantern Field", None, None),
            "field",
        );
        for query in [
            with("Noor Vale", "Lantern Field - Live", None, None),
            with(
                "Noor Vale",
                "Lantern Field",
                Some("Live at the Granary"),
                None,
            ),
        ] {
            let outcome = run(&index, query.clone());
            assert_eq!(
                outcome.accepted_id(),
                Some("field"),
                "{query:?} → {outcome:?}"
            );
        }
        // "Long Live …" is not a live album.
        let salt = run(&index, with("Noor Vale", "Saltmarsh", None, None));
        assert_eq!(salt.accepted_id(), Some("salt"), "{salt:?}");
    }

    #[test]
    fn a_live_album_not_named_live_is_met_by_its_album_and_length() {
        let index = LibraryIndex::build(&[
            // A concert film's album, its name saying nothing of the stage.
            track(
                "ferry",
                &["Noor Vale"],
                "Ferry Lights",
                "Night at the Granary Door",
                301,
            ),
            track("hollow", &["Noor Vale"], "Hollow Reed", "Reedbeds", 232),
            // Concerts named in other languages and unplugged.
            track("brasa", &["Noor Vale"], "Brasa", "Marés (Ao Vivo)", 226),
            track(
                "kettle",
                &["Noor Vale"],
                "Kettle Song",
                "Lanternlight Unplugged",
                261,
            ),
        ])
        .expect("the library builds");
        for query in [
            with(
                "Noor Vale",
                "Ferry Lights (Live)",
                Some("Night at the Granary Door"),
                Some(302),
            ),
            with(
                "Noor Vale",
                "Ferry Lights - Live",
                Some("Night at the Granary Door (Deluxe Edition)"),
                Some(300),
            ),
            with("Noor Vale", "Brasa (Live)", None, Some(226)),
            with("Noor Vale", "Kettle Song (Live)", None, None),
        ] {
            let outcome = run(&index, query.clone());
            assert_eq!(outcome.band, Band::Accept, "{query:?} → {outcome:?}");
        }
        // A live bonus track on a studio album's edition runs otherwise than the studio
        // recording, and without a length nothing tells the two apart.
        for query in [
            with(
                "Noor Vale",
                "Hollow Reed (Live)",
                Some("Reedbeds (Deluxe)"),
                Some(251),
            ),
            with(
                "Noor Vale",
                "Hollow Reed (Live)",
                Some("Reedbeds (Deluxe)"),
                None,
            ),
            with("Noor Vale", "Hollow Reed - Live", None, Some(232)),
        ] {
            let outcome = run(&index, query.clone());
            assert_ne!(outcome.band, Band::Accept, "{query:?} → {outcome:?}");
        }
        // A plain title is not asked for on a concert the album names in Portuguese.
        assert_offered(&index, with("Noor Vale", "Brasa", None, Some(226)), "brasa");
    }

    #[test]
    fn numbers_in_qualifiers_are_compared_by_value() {
        let index = LibraryIndex::build(&[
            track("take1", &["Noor Vale"], "Tin Roof (Take 1)", "Roofs", 180),
            track(
                "part2",
                &["Noor Vale"],
                "Ferry Rope (Part II)",
                "Ropes",
                190,
            ),
        ])
        .expect("the library builds");
        let other_take = run(&index, with("Noor Vale", "Tin Roof (Take 2)", None, None));
        assert_eq!(other_take.accepted_id(), None, "{other_take:?}");
        let same_part = run(&index, with("Noor Vale", "Ferry Rope (Pt. 2)", None, None));
        assert_eq!(same_part.accepted_id(), Some("part2"), "{same_part:?}");
    }

    #[test]
    fn a_number_the_library_title_lacks_is_another_song_or_recording() {
        let index = LibraryIndex::build(&[
            track(
                "water",
                &["Noor Vale"],
                "Lights Over the Long Water",
                "Mills",
                200,
            ),
            track("mill-88", &["Noor Vale"], "Red Mill 1988", "Mills", 210),
        ])
        .expect("the library builds");
        for title in [
            "Lights Over the Long Water 2010",
            "Lights Over the Long Water 2",
        ] {
            let outcome = run(&index, with("Noor Vale", title, None, Some(200)));
            assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
        }
        let year = run(&index, with("Noor Vale", "Red Mill '88", None, None));
        assert_eq!(year.accepted_id(), Some("mill-88"), "{year:?}");
    }

    #[test]
    fn another_name_of_the_artist_goes_to_review() {
        let index = library();
        // A name the library does not carry: the title alone, or beside the album or a
        // length, or a length 3 s off, does not vouch for it.
        for query in [
            with("Bramble Finch", "Saltmarsh", None, None),
            with("Bramble Finch", "Saltmarsh", Some("Kettles"), None),
            with("Bramble Finch", "Saltmarsh", None, Some(215)),
            with("Bramble Finch", "Saltmarsh", Some("Kettles"), Some(218)),
            // A name the library carries is another act, whatever agrees.
            with("Mina Sol", "Saltmarsh", Some("Kettles"), Some(215)),
        ] {
            assert_offered(&index, query, "ada");
        }
    }

    #[test]
    fn another_name_vouched_for_by_title_album_and_length_is_accepted() {
        let index = library();
        // The only song of its title, on the candidate's own album, within 2 s.
        for seconds in [215, 217] {
            let query = with("Bramble Finch", "Saltmarsh", Some("Kettles"), Some(seconds));
            assert_eq!(run(&index, query).accepted_id(), Some("ada"));
        }
        // Not when another song shares the title, nor on a compilation, which holds other
        // acts' recordings of it too.
        let mut records = vec![
            track("ada", &["Ada Quill"], "Saltmarsh", "Kettles", 215),
            track(
                "other",
                &["The Velvet Orchards"],
                "Saltmarsh",
                "Tidewater",
                240,
            ),
        ];
        let shared = LibraryIndex::build(&records).expect("the library builds");
        let query = with("Bramble Finch", "Saltmarsh", Some("Kettles"), Some(215));
        assert_offered(&shared, query.clone(), "ada");
        records.truncate(1);
        records[0].album_artist = Some("Various Artists".to_string());
        let compilation = LibraryIndex::build(&records).expect("the library builds");
        assert_offered(&compilation, query, "ada");
    }

    #[test]
    fn a_short_album_name_with_an_editions_words_is_the_release() {
        let index = LibraryIndex::build(&[track(
            "lullaby",
            &["Bramble Finch"],
            "Tidewrack Lullaby",
            "XQ",
            201,
        )])
        .expect("the library builds");
        let query =
            |album: &str| with("Bramble Finch", "Tidewrack Lullaby", Some(album), Some(201));
        for album in [
            "XQ (Legacy Edition)",
            "XQ (Japan Edition)",
            "XQ [Tour Edition]",
            "XQ (10th Anniversary Edition)",
            "XQ - Disc 1",
            "XQ EP",
        ] {
            let outcome = run(&index, query(album));
            assert_eq!(
                outcome.accepted_id(),
                Some("lullaby"),
                "{album} → {outcome:?}"
            );
        }
        // Another release, or an edition that names other recordings, stays in review.
        for album in ["XQ 2", "XQ (Taylor's Version)", "XQ (Live Edition)", "XQZ"] {
            assert_offered(&index, query(album), "lullaby");
        }
    }

    #[test]
    fn an_album_that_names_another_release_goes_to_review() {
        let index = library();
        for album in [
            "Lanterns of the North Pier",
            "Tidewater Vol. 2",
            "Tidewater II",
            "Tidewater\u{b2}",
            "Tidewater 2",
        ] {
            assert_offered(
                &index,
                with(
                    "The Velvet Orchards",
                    "Harbour Lights",
                    Some(album),
                    Some(233),
                ),
                "harbour",
            );
        }
        // Editions of the library's album, and a single named for the song, are the release;
        // a compilation holds the same recording where the lengths agree within 2 s.
        for album in [
            "Orchard Hits 1990-2000",
            "Tidewater (Super Deluxe Edition)",
            "Tidewater 30th Anniversary Edition",
            "The Velvet Orchards: Tidewater",
            "Harbour Lights (Radio Edit)",
            "Tidewatre",
        ] {
            let query = with(
                "The Velvet Orchards",
                "Harbour Lights",
                Some(album),
                Some(233),
            );
            let outcome = run(&index, query.clone());
            assert_eq!(
                outcome.accepted_id(),
                Some("harbour"),
                "{query:?} → {outcome:?}"
            );
        }
        // The library's album in another script, asked for in Latin letters.
        let index = LibraryIndex::build(&[track(
            "steppe",
            &["Noor Vale"],
            "Steppe Wind",
            "Дорога домой",
            205,
        )])
        .expect("the library builds");
        let outcome = run(
            &index,
            with("Noor Vale", "Steppe Wind", Some("Doroga domoj"), Some(205)),
        );
        assert_eq!(outcome.accepted_id(), Some("steppe"), "{outcome:?}");
    }

    #[test]
    fn a_title_alike_but_with_another_word_goes_to_review() {
        let index = LibraryIndex::build(&[
            track("cart", &["Noor Vale"], "Wooden Cart Do", "Carts", 200),
            track("ligths", &["Noor Vale"], "Lantern Harbour", "Carts", 230),
        ])
        .expect("the library builds");
        // A slip of typing is accepted …
        for title in ["Wooden Crat Do", "Woden Cart Do", "Lantern Harbuor"] {
            let outcome = run(&index, with("Noor Vale", title, Some("Carts"), None));
            assert!(outcome.accepted_id().is_some(), "{title} → {outcome:?}");
        }
        // … another word is not.
        assert_offered(
            &index,
            with("Noor Vale", "Wooden Cart Too", Some("Carts"), Some(200)),
            "cart",
        );
    }

    #[test]
    fn a_title_cut_short_is_found_by_album_and_length_but_a_longer_one_is_offered() {
        let index = LibraryIndex::build(&[
            track(
                "wall",
                &["Noor Vale"],
                "Salt Wind over the Harbour Wall",
                "Coastal",
                200,
            ),
            track("gull", &["Noor Vale"], "Gull", "Coastal", 260),
        ])
        .expect("the library builds");
        let short = run(
            &index,
            with("Noor Vale", "Salt Wind", Some("Coastal"), Some(200)),
        );
        assert_eq!(short.accepted_id(), Some("wall"), "{short:?}");
        let index = LibraryIndex::build(&[
            track("wind", &["Noor Vale"], "Salt Wind", "Coastal", 200),
            track("gull", &["Noor Vale"], "Gull", "Coastal", 260),
        ])
        .expect("the library builds");
        assert_offered(
            &index,
            with(
                "Noor Vale",
                "Salt Wind over the Harbour Wall",
                Some("Coastal"),
                Some(200),
            ),
            "wind",
        );
    }
}
