//! The matcher's tests: one table of playlist entries per rule of evidence, read top to bottom
//! (over ~800 lines because each case is written out, not generated).

use super::*;
use crate::record::ItemRecord;

fn track(id: &str, artist: &str, title: &str, album: &str, seconds: u32) -> ItemRecord {
    ItemRecord {
        album: Some(album.to_string()),
        album_artist: Some(artist.to_string()),
        duration_ms: Some(seconds * 1000),
        ..ItemRecord::track(id, "1", artist, title)
    }
}

fn library() -> LibraryIndex {
    let mut records = vec![
        track("jude", "The Beatles", "Hey Jude", "Hey Jude", 431),
        track(
            "jude-live",
            "The Beatles",
            "Hey Jude (Live)",
            "Live at the BBC",
            440,
        ),
        track(
            "jude-comp",
            "The Beatles",
            "Hey Jude - Remastered 2015",
            "1",
            431,
        ),
        track("yesterday", "The Beatles", "Yesterday", "Help!", 125),
        track(
            "umbrella",
            "Rihanna",
            "Umbrella (feat. Jay-Z)",
            "Good Girl Gone Bad",
            275,
        ),
        track(
            "umbrella-rmx",
            "Rihanna",
            "Umbrella (Seamus Haji Remix)",
            "Remixes",
            380,
        ),
        track("ewf", "Earth, Wind & Fire", "September", "The Best Of", 215),
        track("sigur", "Sigur Rós", "Hoppípolla", "Takk...", 268),
        track("love1", "Lovers", "Love Me Do", "A", 140),
        track("love2", "Lovers", "Love Me Too", "B", 200),
    ];
    records[3].musicbrainz_ids = vec!["11111111-2222-3333-4444-555555555555".into()];
    records[6].isrc = Some("USSM17800001".into());
    let mut hidden = track("hidden", "Hidden Artist", "Secret Song", "X", 100);
    hidden.section_id = "2".into();
    records.push(hidden);
    LibraryIndex::build(&records).unwrap()
}

fn run(index: &LibraryIndex, query: TrackQuery) -> MatchOutcome {
    Matcher::new(
        index,
        &Visibility::sections(["1"]),
        MatcherConfig::default(),
    )
    .match_one(&query)
}

#[test]
fn ids_come_first() {
    let index = library();
    let mut query = TrackQuery::new("Nobody", "Nothing");
    query.musicbrainz_id = Some("11111111222233334444555555555555".into());
    let outcome = run(&index, query);
    assert_eq!(outcome.accepted_id(), Some("yesterday"));
    assert_eq!(outcome.method, MatchMethod::Mbid);
    let mut query = TrackQuery::new("EWF", "Sept");
    query.isrc = Some("us-sm1-78-00001".into());
    let outcome = run(&index, query);
    assert_eq!(outcome.accepted_id(), Some("ewf"));
    assert_eq!(outcome.method, MatchMethod::Isrc);
}

#[test]
fn perturbed_spellings_match_exactly_or_fuzzily() {
    let index = library();
    let cases = [
        (TrackQuery::new("beatles", "HEY JUDE"), "jude"),
        (TrackQuery::new("The Beatles", "Yesterdya"), "yesterday"),
        (TrackQuery::new("Beatels", "Yesterday"), "yesterday"),
        (TrackQuery::new("Rihanna ft. Jay Z", "Umbrella"), "umbrella"),
        (
            TrackQuery::new("Rihanna", "Umbrella feat. JAY-Z"),
            "umbrella",
        ),
        (TrackQuery::new("Earth Wind and Fire", "September"), "ewf"),
        (TrackQuery::new("Sigur Ros", "Hoppipolla"), "sigur"),
    ];
    for (query, expected) in cases {
        let outcome = run(&index, query.clone());
        assert_eq!(
            outcome.accepted_id(),
            Some(expected),
            "{query:?} → {outcome:?}"
        );
    }
}

#[test]
fn duplicates_of_one_song_do_not_block_acceptance() {
    let index = library();
    let outcome = run(&index, TrackQuery::new("The Beatles", "Hey Jude"));
    assert!(matches!(outcome.accepted_id(), Some("jude" | "jude-comp")));
    let runner = outcome.runner_up.expect("the duplicate is reported");
    assert!(runner.id == "jude" || runner.id == "jude-comp");
    let mut with_album = TrackQuery::new("The Beatles", "Hey Jude");
    with_album.album = Some("1".into());
    assert_eq!(run(&index, with_album).accepted_id(), Some("jude-comp"));
}

#[test]
fn versions_never_match_originals_and_vice_versa() {
    let index = library();
    let live = run(&index, TrackQuery::new("The Beatles", "Hey Jude - Live"));
    assert_eq!(live.accepted_id(), Some("jude-live"));
    let acoustic = run(
        &index,
        TrackQuery::new("The Beatles", "Hey Jude (Acoustic)"),
    );
    assert_eq!(acoustic.best, None, "{acoustic:?}");
    let remix = run(
        &index,
        TrackQuery::new("Rihanna", "Umbrella (Seamus Haji Remix)"),
    );
    assert_eq!(remix.accepted_id(), Some("umbrella-rmx"));
    let other_remix = run(
        &index,
        TrackQuery::new("Rihanna", "Umbrella (Other Guy Remix)"),
    );
    assert_ne!(other_remix.band, Band::Accept, "{other_remix:?}");
    let instrumental = run(
        &index,
        TrackQuery::new("The Beatles", "Yesterday (Instrumental)"),
    );
    assert_eq!(instrumental.accepted_id(), None);
    let karaoke = run(
        &index,
        TrackQuery::new("Rihanna", "Umbrella (Karaoke Version)"),
    );
    assert_eq!(karaoke.accepted_id(), None);
}

#[test]
fn songs_not_in_the_library_and_near_misses_are_not_accepted() {
    let index = library();
    for query in [
        TrackQuery::new("The Beatles", "Let It Be"),
        TrackQuery::new("Unknown Artist", "Completely Different"),
        TrackQuery::new("Lovers", "Love Me Forever"),
        TrackQuery::new("", ""),
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.accepted_id(), None, "{query:?} → {outcome:?}");
    }
    let close = run(&index, TrackQuery::new("Lovers", "Love Me Do"));
    assert_eq!(close.accepted_id(), Some("love1"));
    assert_eq!(close.runner_up.map(|c| c.id), Some("love2".to_string()));
}

#[test]
fn hidden_sections_are_never_matched() {
    let index = library();
    let outcome = run(&index, TrackQuery::new("Hidden Artist", "Secret Song"));
    assert_eq!(outcome.best, None);
    let everything = Matcher::new(&index, &Visibility::everything(), MatcherConfig::default());
    let outcome = everything.match_one(&TrackQuery::new("Hidden Artist", "Secret Song"));
    assert_eq!(outcome.accepted_id(), Some("hidden"));
}

#[test]
fn batches_keep_order_and_report_progress() {
    let index = library();
    let matcher = Matcher::new(
        &index,
        &Visibility::sections(["1"]),
        MatcherConfig::default(),
    );
    let queries: Vec<TrackQuery> = (0..300)
        .map(|n| {
            if n % 2 == 0 {
                TrackQuery::new("The Beatles", "Yesterday")
            } else {
                TrackQuery::new("Rihanna", "Umbrella")
            }
        })
        .collect();
    let last = AtomicUsize::new(0);
    let outcomes = matcher.match_all(&queries, &|done| {
        last.fetch_max(done, Ordering::Relaxed);
    });
    assert_eq!(last.load(Ordering::Relaxed), 300);
    assert_eq!(outcomes.len(), 300);
    for (n, outcome) in outcomes.iter().enumerate() {
        let expected = if n % 2 == 0 { "yesterday" } else { "umbrella" };
        assert_eq!(outcome.accepted_id(), Some(expected));
    }
}

#[test]
fn classical_titles_match_by_work_and_movement_never_across_movements() {
    let index = LibraryIndex::build(&[
        track(
            "moonlight",
            "Ludwig van Beethoven",
            "Piano Sonata No. 14 in C-Sharp Minor, Op. 27 No. 2: I. Adagio sostenuto",
            "Piano Sonatas",
            362,
        ),
        track(
            "spring",
            "Antonio Vivaldi",
            "The Four Seasons, Violin Concerto No. 1 in E Major, RV 269 \"Spring\": I. Allegro",
            "The Four Seasons",
            212,
        ),
        track(
            "autumn",
            "Antonio Vivaldi",
            "The Four Seasons, Violin Concerto No. 3 in F Major, RV 293 \"Autumn\": I. Allegro",
            "The Four Seasons",
            300,
        ),
        track(
            "nocturne",
            "Frédéric Chopin",
            "Nocturne in E-Flat Major, Op. 9 No. 2",
            "Nocturnes",
            274,
        ),
    ])
    .unwrap();
    for (artist, title, expected) in [
        (
            "Beethoven",
            "Moonlight Sonata: I. Adagio sostenuto",
            "moonlight",
        ),
        (
            "Beethoven",
            "Piano Sonata No.14 - 1. Adagio sostenuto",
            "moonlight",
        ),
        ("Vivaldi", "Spring: I. Allegro", "spring"),
        ("Antonio Vivaldi", "Autumn: I. Allegro", "autumn"),
        ("Frederic Chopin", "Nocturne Op. 9 No. 2", "nocturne"),
    ] {
        let outcome = run(&index, TrackQuery::new(artist, title));
        assert_eq!(
            outcome.accepted_id(),
            Some(expected),
            "{title} → {outcome:?}"
        );
    }
    for (artist, title) in [
        (
            "Antonio Vivaldi",
            "The Four Seasons, Violin Concerto No. 1 in E Major, RV 269 \"Spring\": II. Largo",
        ),
        ("Antonio Vivaldi", "Winter: I. Allegro non molto"),
        ("Frédéric Chopin", "Nocturne in E-Flat Major, Op. 55 No. 2"),
        ("Frédéric Chopin", "Nocturne in C-Sharp Minor"),
    ] {
        let outcome = run(&index, TrackQuery::new(artist, title));
        assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
    }
}

#[test]
fn names_and_titles_in_another_script_must_be_known_to_agree() {
    let index = LibraryIndex::build(&[
        track("dynamite", "Dune Parade", "Dynamite", "BE", 199),
        track("hakujitsu", "King Gnu", "白日", "Sympa", 278),
        track("other", "King Gnu", "飛行艇", "Sympa", 250),
        track("near", "King Gnu", "Teenager Forever", "Ceremony", 289),
    ])
    .unwrap();
    let with_length = |artist: &str, title: &str, seconds: u32| TrackQuery {
        duration_ms: Some(seconds * 1000),
        ..TrackQuery::new(artist, title)
    };
    // An artist in another script that is no reading of the library's name: the title and
    // the length agree, but the library does not carry the name. Offered, not accepted.
    for query in [
        with_length("푸른고래", "Dynamite", 200),
        TrackQuery::new("푸른고래", "Dynamite"),
    ] {
        let outcome = run(&index, query);
        assert_eq!(outcome.band, Band::Review, "{outcome:?}");
        assert_eq!(outcome.best.map(|b| b.id), Some("dynamite".to_string()));
    }
    // A translated title: the artist's one track of that length in the other script.
    let outcome = run(&index, with_length("King Gnu", "Daylight", 277));
    assert_eq!(outcome.accepted_id(), Some("hakujitsu"), "{outcome:?}");
    // Not within 2 s of it, or another song of the artist within 10 s: not the length's.
    for seconds in [265, 279] {
        let outcome = run(&index, with_length("King Gnu", "Daylight", seconds));
        assert_eq!(outcome.accepted_id(), None, "{seconds} s → {outcome:?}");
    }
    // A romanised title reads its kanji, with or without a length.
    let outcome = run(&index, TrackQuery::new("King Gnu", "Hakujitsu"));
    assert_eq!(outcome.accepted_id(), Some("hakujitsu"), "{outcome:?}");
    let outcome = run(&index, with_length("King Gnu", "Hikoutei", 250));
    assert_eq!(outcome.accepted_id(), Some("other"), "{outcome:?}");
    // Nor does a length that contradicts it, or a romanisation of other kanji.
    let outcome = run(&index, with_length("King Gnu", "Hakujitsu", 265));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
    let outcome = run(&index, TrackQuery::new("King Gnu", "Byakuya"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn the_album_tells_apart_songs_of_one_length_for_a_translated_title() {
    let index = LibraryIndex::build(&[
        track("moon", "鄧麗君", "月亮代表我的心", "島國之情歌第四集", 210),
        track("sweet", "鄧麗君", "甜蜜蜜", "甜蜜蜜", 211),
    ])
    .unwrap();
    let entry = |album: Option<&str>, seconds: u32| TrackQuery {
        album: album.map(str::to_string),
        duration_ms: Some(seconds * 1000),
        ..TrackQuery::new("鄧麗君", "Moonlit Harbor Letter")
    };
    // A translated title no table holds: its length fits both songs; the album names one of
    // them.
    let outcome = run(
        &index,
        entry(Some("島國之情歌第四集 (Expanded Edition)"), 210),
    );
    assert_eq!(outcome.accepted_id(), Some("moon"), "{outcome:?}");
    // Without the album, or with an album neither is on, the length alone is ambiguous.
    for album in [None, Some("Greatest Hits")] {
        let outcome = run(&index, entry(album, 210));
        assert_eq!(outcome.accepted_id(), None, "{album:?} → {outcome:?}");
    }
}

#[test]
fn a_title_cut_short_is_found_by_its_album_and_length() {
    let index = LibraryIndex::build(&[
        track(
            "softly",
            "Fugees",
            "Killing Me Softly with His Song",
            "The Score",
            298,
        ),
        track("ready", "Fugees", "Ready or Not", "The Score", 226),
        track("peremen", "Кино", "Перемен", "Последний герой", 295),
    ])
    .unwrap();
    let entry = |artist: &str, title: &str, album: Option<&str>, seconds: Option<u32>| TrackQuery {
        album: album.map(str::to_string),
        duration_ms: seconds.map(|s| s * 1000),
        ..TrackQuery::new(artist, title)
    };
    let outcome = run(
        &index,
        entry("Fugees", "Killing Me Softly", Some("The Score"), Some(297)),
    );
    assert_eq!(outcome.accepted_id(), Some("softly"), "{outcome:?}");
    // A word the library's title lacks ("Хочу") is something the query says and the library
    // does not: offered for review.
    let outcome = run(
        &index,
        entry("Кино", "Хочу перемен", Some("Последний герой"), Some(296)),
    );
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(
        outcome.best.as_ref().map(|best| best.id.as_str()),
        Some("peremen")
    );
    for query in [
        // Without the album or the length, or with another length: a cut title is also
        // how another song looks.
        entry("Fugees", "Killing Me Softly", None, Some(297)),
        entry("Fugees", "Killing Me Softly", Some("The Score"), None),
        entry("Fugees", "Killing Me Softly", Some("The Score"), Some(240)),
        // Album and length alone: two songs of one album are often a second apart.
        entry("Fugees", "Fu-Gee-La", Some("The Score"), Some(226)),
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.accepted_id(), None, "{query:?} → {outcome:?}");
    }
}

#[test]
fn text_speak_meets_the_words_it_spells() {
    let index = LibraryIndex::build(&[
        track("good4u", "Olivia Rodrigo", "good 4 u", "SOUR", 178),
        track("sk8er", "Avril Lavigne", "Sk8er Boi", "Let Go", 204),
        track("song2", "Blur", "Song 2", "Blur", 122),
    ])
    .unwrap();
    let found = [
        ("Olivia Rodrigo", "Good for You"),
        ("Avril Lavigne", "Skater Boy"),
    ];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found.iter().zip(&ids).zip(["good4u", "sk8er"]) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    // A number at the end of a title stays a number.
    let never = [("Blur", "Song To"), ("Olivia Rodrigo", "Good 2 U")];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn pieces_of_a_set_and_movements_after_a_dash_are_found() {
    let index = LibraryIndex::build(&[
        track("gym1", "Erik Satie", "Gymnopédie No. 1", "Piano", 186),
        track("gym3", "Erik Satie", "Gymnopédie No. 3", "Piano", 152),
        track(
            "spring",
            "Antonio Vivaldi",
            "The Four Seasons, Violin Concerto No. 1 in E Major, RV 269 \"Spring\": I. Allegro",
            "The Four Seasons",
            212,
        ),
        track(
            "nocturne",
            "Frédéric Chopin",
            "Nocturne in E-Flat Major, Op. 9 No. 2",
            "Nocturnes",
            274,
        ),
    ])
    .unwrap();
    let found = [
        ("Erik Satie", "3 Gymnopédies: No. 1, Lent et douloureux"),
        ("Erik Satie", "Trois Gymnopédies: No. 3. Lent et grave"),
        ("Erik Satie", "Gymnopedie No. 3 - Lent et grave"),
        ("Vivaldi", "The Four Seasons: Spring - I. Allegro"),
        (
            "Antonio Vivaldi",
            "Concerto No. 1 in E Major, Op. 8, RV 269 \"Spring\": I. Allegro",
        ),
        ("Chopin", "Nocturnes, Op. 9: No. 2 in E-Flat Major"),
    ];
    let expected = ["gym1", "gym3", "gym3", "spring", "spring", "nocturne"];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found.iter().zip(&ids).zip(expected) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    let never = [
        ("Erik Satie", "3 Gymnopédies: No. 2, Lent et triste"),
        ("Vivaldi", "The Four Seasons: Spring - II. Largo"),
        ("Chopin", "Nocturnes, Op. 9: No. 1 in B-Flat Minor"),
        (
            "Antonio Vivaldi",
            "Concerto No. 2 in G Minor, Op. 8, RV 315 \"Summer\": I. Allegro",
        ),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn a_name_in_another_script_sharing_a_latin_name_is_offered_by_album_and_length() {
    let index = LibraryIndex::build(&[
        track(
            "plastic",
            "竹内まりや",
            "プラスティック・ラヴ",
            "VARIETY",
            293,
        ),
        track("other", "Mariya Nishiuchi", "Love Story", "Love Story", 293),
    ])
    .unwrap();
    let entry = |album: Option<&str>, seconds: u32| TrackQuery {
        album: album.map(str::to_string),
        duration_ms: Some(seconds * 1000),
        // Shares "Mariya" with `竹内まりや`, but "Takenaka" is not a reading of `竹内`.
        ..TrackQuery::new("Mariya Takenaka", "Plastic Love")
    };
    // The album and the length find the track; the name is not known to be the library's.
    let outcome = run(&index, entry(Some("VARIETY"), 292));
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("plastic".to_string()));
    // Her name romanised reads the kanji: the artist's one track of that length.
    let outcome = run(
        &index,
        TrackQuery {
            duration_ms: Some(292_000),
            ..TrackQuery::new("Mariya Takeuchi", "Plastic Love")
        },
    );
    assert_eq!(outcome.accepted_id(), Some("plastic"), "{outcome:?}");
    // The length alone, another album, or another length: not enough.
    for (album, seconds) in [(None, 292), (Some("Request"), 292), (Some("VARIETY"), 281)] {
        let outcome = run(&index, entry(album, seconds));
        assert_eq!(
            outcome.accepted_id(),
            None,
            "{album:?} {seconds} → {outcome:?}"
        );
    }
}

#[test]
fn a_year_meets_its_last_two_digits() {
    let index = LibraryIndex::build(&[
        track("88", "New Order", "Blue Monday '88", "Substance", 249),
        track("69", "Bryan Adams", "Summer of '69", "Reckless", 216),
    ])
    .unwrap();
    let found = [
        ("New Order", "Blue Monday 1988"),
        ("Bryan Adams", "Summer of 1969"),
    ];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found.iter().zip(&ids).zip(["88", "69"]) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    let never = [
        ("New Order", "Blue Monday 1989"),
        ("Bryan Adams", "Summer of 1970"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn another_name_of_the_artist_is_offered_when_title_album_and_length_agree() {
    let index = LibraryIndex::build(&[
        track(
            "father",
            "Cat Stevens",
            "Father and Son",
            "Tea for the Tillerman",
            220,
        ),
        track("cover", "Boyzone", "Father and Son", "Said and Done", 168),
    ])
    .unwrap();
    let entry = |album: Option<&str>, seconds: Option<u32>| TrackQuery {
        album: album.map(str::to_string),
        duration_ms: seconds.map(|s| s * 1000),
        ..TrackQuery::new("Bramble Finch", "Father and Son")
    };
    // The library does not carry the name, and a cover shares the title: offered for review
    // with the track, not accepted.
    let outcome = run(&index, entry(Some("Tea for the Tillerman"), Some(221)));
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(
        outcome.best.as_ref().map(|best| best.id.as_str()),
        Some("father")
    );
    // The album or the length alone is not enough: a cover shares the title.
    for query in [
        entry(Some("Tea for the Tillerman"), None),
        entry(None, Some(220)),
        entry(Some("Tea for the Tillerman"), Some(236)),
        entry(Some("Greatest Hits"), Some(220)),
        entry(None, None),
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.accepted_id(), None, "{query:?} → {outcome:?}");
    }
}

/// Accepted ids of `(artist, title)` queries without album or duration.
fn accepted(index: &LibraryIndex, cases: &[(&str, &str)]) -> Vec<Option<String>> {
    cases
        .iter()
        .map(|(artist, title)| {
            run(index, TrackQuery::new(artist, title))
                .accepted_id()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn numbers_written_differently_meet_and_other_numbers_never_do() {
    let index = LibraryIndex::build(&[
        track("925", "Dolly Parton", "9 to 5", "9 to 5", 165),
        track(
            "brick2",
            "Pink Floyd",
            "Another Brick in the Wall, Pt. 2",
            "The Wall",
            239,
        ),
        track(
            "brick1",
            "Pink Floyd",
            "Another Brick in the Wall, Pt. 1",
            "The Wall",
            190,
        ),
        track(
            "mambo",
            "Lou Bega",
            "Mambo No. 5 (A Little Bit of...)",
            "Mambo",
            219,
        ),
        track("22", "Taylor Swift", "22", "Red", 230),
        track(
            "army",
            "The White Stripes",
            "Seven Nation Army",
            "Elephant",
            232,
        ),
        track("noone", "Alicia Keys", "No One", "As I Am", 253),
    ])
    .unwrap();
    let found = [
        ("Dolly Parton", "Nine to Five"),
        ("Pink Floyd", "Another Brick in the Wall, Part Two"),
        ("Pink Floyd", "Another Brick In The Wall Part II"),
        ("Lou Bega", "Mambo No.5"),
        ("Lou Bega", "Mambo Number 5"),
        ("Lou Bega", "Mambo #5"),
        ("Taylor Swift", "Twenty Two"),
        ("The White Stripes", "7 Nation Army"),
        ("Alicia Keys", "No One"),
    ];
    let expected = [
        "925", "brick2", "brick2", "mambo", "mambo", "mambo", "22", "army", "noone",
    ];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found.iter().zip(&ids).zip(expected) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    let never = [
        ("Pink Floyd", "Another Brick in the Wall, Part Three"),
        ("Lou Bega", "Mambo No. 6"),
        ("Taylor Swift", "Twenty One"),
        ("Alicia Keys", "No. 1"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn classical_titles_meet_however_stores_write_them() {
    let index = LibraryIndex::build(&[
        track(
            "elise",
            "Ludwig van Beethoven",
            "Bagatelle No. 25 in A Minor, WoO 59 \"Für Elise\"",
            "Piano",
            175,
        ),
        track(
            "turca",
            "Wolfgang Amadeus Mozart",
            "Piano Sonata No. 11 in A Major, K. 331: III. Rondo alla turca",
            "Sonatas",
            210,
        ),
        track("gym", "Erik Satie", "Gymnopédie No. 1", "Piano", 200),
        track(
            "waltz",
            "Frédéric Chopin",
            "Waltz in D-Flat Major, Op. 64 No. 1 \"Minute Waltz\"",
            "Waltzes",
            110,
        ),
        track(
            "rach",
            "Sergei Rachmaninoff",
            "Piano Concerto No. 2 in C Minor, Op. 18: I. Moderato",
            "Concertos",
            660,
        ),
        track(
            "air",
            "Johann Sebastian Bach",
            "Orchestral Suite No. 3 in D Major, BWV 1068: II. Air",
            "Suites",
            330,
        ),
        track(
            "dance",
            "Johannes Brahms",
            "Hungarian Dance No. 5 in G Minor",
            "Dances",
            140,
        ),
        track(
            "b5",
            "Ludwig van Beethoven",
            "Symphony No. 5 in C Minor, Op. 67: I. Allegro con brio",
            "Symphonies",
            447,
        ),
    ])
    .unwrap();
    let found = [
        ("Beethoven", "Für Elise"),
        ("Beethoven", "Fur Elise, WoO 59"),
        ("Mozart", "Piano Sonata No. 11, K. 331: III. Alla Turca"),
        ("Erik Satie", "Gymnopédie No. 1: Lent et douloureux"),
        ("Chopin", "Waltz Op. 64/1"),
        ("Frederic Chopin", "Waltz in D♭ major, Op. 64 No. 1"),
        ("Frederic Chopin", "Waltz in Db major, op. 64 no. 1"),
        (
            "Rachmaninov",
            "Piano Concerto No.2 in C Minor Op.18 - 1. Moderato",
        ),
        (
            "J.S. Bach",
            "Orchestral Suite No. 3 in D major, BWV 1068: Air",
        ),
        ("Brahms", "Hungarian Dance No. 5"),
        (
            "Beethoven",
            "Sinfonie Nr. 5 c-Moll, op. 67: I. Allegro con brio",
        ),
    ];
    let expected = [
        "elise", "elise", "turca", "gym", "waltz", "waltz", "waltz", "rach", "air", "dance", "b5",
    ];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found.iter().zip(&ids).zip(expected) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    let never = [
        // Another number of the same opus, another key, another movement.
        ("Chopin", "Waltz Op. 64/2"),
        ("Chopin", "Waltz in C♯ minor, Op. 64 No. 2"),
        ("Brahms", "Hungarian Dance No. 6"),
        (
            "Beethoven",
            "Symphony No. 5 in C Minor, Op. 67: II. Andante con moto",
        ),
        // The whole work by its catalogue number alone, for one movement of it.
        ("Beethoven", "Symphony in C minor, Op. 67"),
        ("Erik Satie", "Gymnopédie No. 2: Lent et triste"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn transliterations_meet() {
    let index = LibraryIndex::build(&[
        track(
            "kalash",
            "Горан Бреговић",
            "Kalašnjikov",
            "Underground",
            307,
        ),
        track("beirut", "Fairuz", "Li Beirut", "Li Beirut", 300),
        track("iskala", "Земфира", "Искала", "Прости меня моя любовь", 228),
        track("sotak", "Mohamed Mounir", "Ali Sotak", "Ali Sotak", 250),
    ])
    .unwrap();
    let found = [
        ("Goran Bregovic", "Kalashnikov"),
        ("Fairuz", "لبيروت"),
        ("Zemfira", "Iskala"),
        // Both in Arabic letters: the name is found by its consonants ("mhmdmnr").
        ("محمد منير", "علي صوتك"),
    ];
    let ids = accepted(&index, &found);
    let expected = ["kalash", "beirut", "iskala", "sotak"];
    for ((case, id), expected) in found.iter().zip(&ids).zip(expected) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    let never = [
        ("Zemfira", "Iskra"),
        ("Fairuz", "لبنان"),
        ("محمد منير", "لبنان"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn romanised_japanese_names_and_titles_read_their_kanji() {
    let index = LibraryIndex::build(&[
        track("eve", "山下達郎", "クリスマス・イブ", "Melodies", 266),
        track("ride", "山下達郎", "Ride on Time", "Ride on Time", 356),
        track(
            "river",
            "美空ひばり",
            "川の流れのように",
            "川の流れのように",
            262,
        ),
        track("other-eve", "Tinashe", "Christmas Eve", "Joyride", 200),
    ])
    .unwrap();
    let found = [
        // The name given name first, a title spelled in Latin letters by both.
        ("Tatsuro Yamashita", "Ride on Time"),
        ("Yamashita Tatsurou", "Ride on Time"),
        // A title romanised from kanji and kana.
        ("Hibari Misora", "Kawa no Nagare no You ni"),
        ("Misora Hibari", "Kawa no Nagare no Yō ni"),
    ];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found
        .iter()
        .zip(&ids)
        .zip(["ride", "ride", "river", "river"])
    {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    // A translated title: the artist's one track of its length, and only with the length.
    let translated = TrackQuery {
        duration_ms: Some(265_000),
        ..TrackQuery::new("Tatsuro Yamashita", "Christmas Eve")
    };
    assert_eq!(run(&index, translated).accepted_id(), Some("eve"));
    let never = [
        // Another name, the title alone (another artist has it), other words.
        ("Tatsuya Yamashita", "Ride on Time"),
        ("Tatsuro Yamashita", "Christmas Eve"),
        ("Hibari Misora", "Kawa no Nagare"),
        ("Hibari Misora", "Umi no Nagare no You ni"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn duration_counts_when_both_sides_know_it() {
    let index = library();
    let mut near = TrackQuery::new("Lovers", "Love Me Do");
    near.duration_ms = Some(141_000);
    let mut far = near.clone();
    far.duration_ms = Some(300_000);
    let near = run(&index, near).best.unwrap().score;
    let far = run(&index, far).best.unwrap().score;
    assert!(near > far, "{near} vs {far}");
}

#[test]
fn the_only_song_of_a_title_under_another_name_is_offered_for_review() {
    let index = LibraryIndex::build(&[
        track("vane", "Orla Finch", "Weathervane", "Compass", 201),
        track("home-a", "Orla Finch", "Home", "Compass", 180),
        track("home-b", "Tam Reed", "Home", "Doors", 240),
    ])
    .unwrap();
    // Another name of the artist, which the library does not carry: shown, not accepted.
    let alias = run(&index, TrackQuery::new("Olive Kestrel", "Weathervane"));
    assert_eq!(alias.band, Band::Review, "{alias:?}");
    assert_eq!(alias.best.map(|b| b.id), Some("vane".to_string()));
    // A title many songs share says nothing about which.
    let common = run(
        &index,
        TrackQuery {
            duration_ms: Some(400_000),
            ..TrackQuery::new("Olive Kestrel", "Home")
        },
    );
    assert_eq!(common.band, Band::Reject, "{common:?}");
}

#[test]
fn classical_shorthand_finds_a_movement_by_number_and_its_work_by_number_or_nickname() {
    let index = LibraryIndex::build(&[
        track(
            "largo",
            "Edda Marwick",
            "Symphony No. 3 in A minor, Op. 40 \"Lighthouse\": II. Largo",
            "Symphonies",
            512,
        ),
        track(
            "finale",
            "Edda Marwick",
            "Symphony No. 3 in A minor, Op. 40 \"Lighthouse\": IV. Finale",
            "Symphonies",
            431,
        ),
    ])
    .unwrap();
    for title in [
        "Lighthouse Symphony (2nd Movement)",
        "Symphony No. 3 - 2nd movement",
        "Lighthouse Symphony Mvt. 2",
        "Symphony 3 - II",
        "3rd Symphony - 2nd movement",
        "Symphony No. 3 II",
        "Symphony No. 3 \"Lighthouse\" II",
        "Symphony No. 3 in A minor: II",
    ] {
        let outcome = run(&index, TrackQuery::new("Marwick", title));
        assert_eq!(
            outcome.accepted_id(),
            Some("largo"),
            "{title} → {outcome:?}"
        );
    }
    // Another movement, or the whole work without a length to tell, is not one of these.
    for title in [
        "Lighthouse Symphony (1st Movement)",
        "Lighthouse Symphony",
        "Symphony No. 3 - I",
        "Symphony No. 3 III",
    ] {
        let outcome = run(&index, TrackQuery::new("Edda Marwick", title));
        assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
    }
}

#[test]
fn a_title_in_another_script_without_its_bracket_stands_beside_an_artist_in_another_script() {
    let index = LibraryIndex::build(&[
        track(
            "garden",
            "MOONLIT",
            "달빛정원 (Moon Garden)",
            "Orchard",
            212,
        ),
        track("other", "MOONLIT", "새벽 (Dawn)", "Orchard", 190),
    ])
    .unwrap();
    let outcome = run(&index, TrackQuery::new("문릿", "달빛정원"));
    assert_eq!(outcome.accepted_id(), Some("garden"), "{outcome:?}");
}

#[test]
fn a_title_in_another_script_is_found_by_its_latin_letters_without_the_artist() {
    let index = LibraryIndex::build(&[
        track("hills", "林月", "青山远方", "山", 230),
        track("other", "林月", "夜雨", "山", 200),
    ])
    .unwrap();
    // An English name the library does not carry: not accepted, but offered.
    let outcome = run(&index, TrackQuery::new("Luna Lin", "Qing Shan Yuan Fang"));
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("hills".to_string()));
}

#[test]
fn a_famous_nickname_reaches_a_title_that_does_not_carry_it() {
    let index = LibraryIndex::build(&[
        track(
            "adagio",
            "Ludwig van Beethoven",
            "Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2: I. Adagio sostenuto",
            "Sonatas",
            360,
        ),
        track(
            "presto",
            "Ludwig van Beethoven",
            "Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2: III. Presto agitato",
            "Sonatas",
            420,
        ),
    ])
    .unwrap();
    let first = run(
        &index,
        TrackQuery::new("Beethoven", "Moonlight Sonata (1st Movement)"),
    );
    assert_eq!(first.accepted_id(), Some("adagio"), "{first:?}");
    let third = run(
        &index,
        TrackQuery::new("Beethoven", "Moonlight Sonata Mvt. 3"),
    );
    assert_eq!(third.accepted_id(), Some("presto"), "{third:?}");
    // Only the composer's nickname: another composer's "Moonlight Sonata" is not this one.
    let other = run(
        &index,
        TrackQuery::new("Clara Voss", "Moonlight Sonata (1st Movement)"),
    );
    assert_eq!(other.accepted_id(), None, "{other:?}");
}

#[test]
fn initials_before_a_surname_find_the_full_name() {
    let index = LibraryIndex::build(&[track(
        "suite",
        "Carl Philipp Emanuel Weiss",
        "Flute Sonata No. 4 in G major, Wq. 133: II. Allegro",
        "Sonatas",
        240,
    )])
    .unwrap();
    let outcome = run(
        &index,
        TrackQuery::new("C.P.E. Weiss", "Flute Sonata No. 4 in G major: II. Allegro"),
    );
    assert_eq!(outcome.accepted_id(), Some("suite"), "{outcome:?}");
}

#[test]
fn names_and_titles_in_two_scripts_one_after_the_other_are_read_by_either_half() {
    let index = LibraryIndex::build(&[
        track("hills", "林月", "青山远方", "山", 230),
        track("river", "林月", "江水", "山", 201),
        track("tide", "푸른고래", "밀물", "물결", 198),
    ])
    .unwrap();
    for (artist, title, id) in [
        ("林月", "青山远方 Qing Shan Yuan Fang", "hills"),
        ("林月 Dune Parade", "青山远方", "hills"),
        ("Dune Parade 林月", "青山远方 Qing Shan Yuan Fang", "hills"),
        ("푸른고래", "밀물 Milmul", "tide"),
    ] {
        let outcome = run(&index, TrackQuery::new(artist, title));
        assert_eq!(outcome.accepted_id(), Some(id), "{title} → {outcome:?}");
    }
    // Halves that name two songs, or a song the library does not hold, accept nothing.
    for title in ["江水 Qing Shan Yuan Fang", "海边 Hai Bian"] {
        let outcome = run(&index, TrackQuery::new("林月", title));
        assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
    }
}

#[test]
fn another_artist_in_another_script_is_offered_unless_album_and_length_vouch() {
    let index = LibraryIndex::build(&[
        track("letter", "푸른고래", "초승달 편지", "물결", 214),
        track("tide", "푸른고래", "밀물", "물결", 198),
        track("lantern", "실버 랜턴", "등대지기", "항구", 233),
        track("hills", "林月", "青山远方", "山", 230),
    ])
    .unwrap();
    let entry = |artist: &str, title: &str, album: Option<&str>, seconds: Option<u32>| TrackQuery {
        album: album.map(str::to_string),
        duration_ms: seconds.map(|s| s * 1000),
        ..TrackQuery::new(artist, title)
    };
    // "Velvet Harbor" is no reading of `푸른고래`, nor "Dune Parade" of `林月`: the title
    // alone, and the album or the length beside it, do not make them the library's artist.
    for (query, id) in [
        (entry("Velvet Harbor", "초승달 편지", None, None), "letter"),
        (
            entry("Velvet Harbor", "초승달 편지", None, Some(214)),
            "letter",
        ),
        (
            entry("Velvet Harbor", "초승달 편지", Some("물결"), None),
            "letter",
        ),
        (
            entry("Velvet Harbor", "초승달 편지", Some("물결"), Some(217)),
            "letter",
        ),
        (entry("Dune Parade", "青山远方", None, None), "hills"),
        (entry("Dune Parade", "青山远方", Some("山"), None), "hills"),
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.band, Band::Review, "{query:?} → {outcome:?}");
        assert_eq!(
            outcome.best.as_ref().map(|best| best.id.as_str()),
            Some(id),
            "{query:?}"
        );
    }
    // The same title, the candidate's own album and a length within 2 s vouch for the name.
    for (query, id) in [
        (
            entry("Velvet Harbor", "초승달 편지", Some("물결"), Some(214)),
            "letter",
        ),
        (
            entry("Dune Parade", "青山远方", Some("山"), Some(230)),
            "hills",
        ),
        (
            entry("Dune Parade", "Qing Shan Yuan Fang", Some("山"), Some(231)),
            "hills",
        ),
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.accepted_id(), Some(id), "{query:?} → {outcome:?}");
    }
    // A translated title under that name, found by the album and the length: offered.
    let outcome = run(
        &index,
        entry("Velvet Harbor", "Crescent Letter", Some("물결"), Some(214)),
    );
    assert_ne!(outcome.band, Band::Accept, "{outcome:?}");
    // Known to be the same: a reading of the library's name, or the library's own credit.
    let outcome = run(&index, entry("Silver Lantern", "등대지기", None, None));
    assert_eq!(outcome.accepted_id(), Some("lantern"), "{outcome:?}");
    let mut credited = track("credited", "푸른고래", "새벽 항로", "Dawn Route", 240);
    credited.album_artist = Some("Velvet Harbor".into());
    let index = LibraryIndex::build(&[credited]).unwrap();
    let outcome = run(&index, entry("Velvet Harbor", "새벽 항로", None, None));
    assert_eq!(outcome.accepted_id(), Some("credited"), "{outcome:?}");
}

#[test]
fn a_number_of_a_renumbered_catalogue_is_offered_not_accepted() {
    let index = LibraryIndex::build(&[
        track(
            "glass",
            "Anselm Trevane",
            "Suite lunaire, L. 44: II. Nuit de verre",
            "Suite lunaire",
            305,
        ),
        track(
            "dawn",
            "Anselm Trevane",
            "Suite lunaire, L. 44: III. Aube grise",
            "Suite lunaire",
            240,
        ),
        track(
            "serenade",
            "Anselm Trevane",
            "Serenade in G major, K. 212: I. Allegro",
            "Serenades",
            330,
        ),
        track(
            "nocturne",
            "Anselm Trevane",
            "Nocturne in E minor, Op. 19",
            "Nocturnes",
            280,
        ),
    ])
    .unwrap();
    // The catalogue's old and new numbers of one work, or two works: not known, so offered
    // with the track shown, whichever way round and however the rest is written.
    for (title, id) in [
        ("Nuit de verre, L. 51", "glass"),
        ("Suite lunaire, L. 51: II. Nuit de verre", "glass"),
        ("Nuit de verre (Suite lunaire, L. 51)", "glass"),
        ("Nuit de verre, L. 51 (Suite lunaire)", "glass"),
        ("Suite lunaire, CD 51: II. Nuit de verre", "glass"),
        ("Nuit de verre, CD51", "glass"),
        ("Serenade in G major, K. 189b: I. Allegro", "serenade"),
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(outcome.band, Band::Review, "{title} → {outcome:?}");
        assert_eq!(outcome.best.map(|b| b.id), Some(id.to_string()), "{title}");
    }
    // The same number is the work; another movement, key or opus number is another piece.
    for title in [
        "Nuit de verre, L. 44",
        "Nuit de verre, L. 44 (Suite lunaire)",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(
            outcome.accepted_id(),
            Some("glass"),
            "{title} → {outcome:?}"
        );
    }
    for title in [
        "Suite lunaire, L. 51: I. Prélude",
        "Serenade in D major, K. 189b: I. Allegro",
        "Nocturne in E minor, Op. 72",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
        assert_ne!(
            outcome.best.as_ref().map(|b| b.id.as_str()),
            Some("glass"),
            "{title} → {outcome:?}"
        );
    }
}

#[test]
fn a_movement_from_a_numbered_work_is_that_works_movement() {
    let index = LibraryIndex::build(&[
        track(
            "gavotte",
            "Anselm Trevane",
            "Quince Suite No. 2 in F major, Op. 7: III. Gavotte",
            "Quince Suites",
            214,
        ),
        track(
            "gavotte-1",
            "Anselm Trevane",
            "Quince Suite No. 1 in C major, Op. 6: IV. Gavotte",
            "Quince Suites",
            190,
        ),
    ])
    .unwrap();
    for title in [
        "Gavotte (from Quince Suite No. 2)",
        "Gavotte [From Quince Suite No. 2]",
        "Gavotte (Quince Suite No. 2)",
        "Gavotte from Quince Suite No. 2",
        "Gavotte - from Quince Suite No. 2",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(
            outcome.accepted_id(),
            Some("gavotte"),
            "{title} → {outcome:?}"
        );
    }
    let outcome = run(
        &index,
        TrackQuery::new("Anselm Trevane", "Gavotte (from Quince Suite No. 3)"),
    );
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
    // A film, a show or an album the song is from is still only where it was released.
    assert_eq!(
        normalize::parse_title("Gavotte (From \"Quince Garden\")").base,
        "gavotte"
    );
    assert_eq!(
        normalize::parse_title("The Gavotte from Quince Garden").base,
        "gavotte from quince garden"
    );
    // Letters beyond ASCII where "from " would be are no bracket of this kind.
    assert_eq!(
        normalize::parse_title("Gavotte (Rondé Suite No. 2)").base,
        "gavotte ronde suite no 2"
    );
}

#[test]
fn a_whole_work_asked_for_offers_its_first_movement() {
    let index = LibraryIndex::build(&[
        track(
            "sarabande",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: II. Sarabande",
            "Quince Suites",
            260,
        ),
        track(
            "overture",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: I. Overture",
            "Quince Suites",
            301,
        ),
        track(
            "gigue",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: III. Gigue",
            "Quince Suites",
            150,
        ),
    ])
    .unwrap();
    // The library holds the movements, not the whole: not the recording asked for, but what
    // a person looks for, the first movement first.
    for query in [
        TrackQuery::new("Anselm Trevane", "Quince Suite No. 4"),
        TrackQuery::new("Anselm Trevane", "Quince Suite No. 4 in D minor, Op. 11"),
        TrackQuery {
            duration_ms: Some(711_000),
            ..TrackQuery::new("Anselm Trevane", "Quince Suite No. 4")
        },
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.band, Band::Review, "{query:?} → {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some("overture".to_string()),
            "{query:?}"
        );
    }
    // A movement asked for by name is offered before the first one, even when its length
    // is another recording's.
    let query = TrackQuery {
        duration_ms: Some(240_000),
        ..TrackQuery::new("Anselm Trevane", "Sarabande (from Quince Suite No. 4)")
    };
    let outcome = run(&index, query);
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("sarabande".to_string()));
    // Another suite is not offered.
    let outcome = run(
        &index,
        TrackQuery::new("Anselm Trevane", "Quince Suite No. 5"),
    );
    assert_eq!(outcome.best, None, "{outcome:?}");
}

#[test]
fn a_work_before_a_numbered_movement_or_its_nickname_in_single_quotes_finds_the_movement() {
    let index = LibraryIndex::build(&[
        track(
            "andante",
            "Anselm Trevane",
            "Serenade No. 3 in G major, Op. 12 \"Brineworks\": II. Andante con moto",
            "Serenades",
            312,
        ),
        track(
            "presto",
            "Anselm Trevane",
            "Serenade No. 3 in G major, Op. 12 \"Brineworks\": III. Presto",
            "Serenades",
            201,
        ),
    ])
    .unwrap();
    for title in [
        "Brineworks Serenade: II. Andante",
        "Serenade No. 3 'Brineworks': II. Andante",
        "Serenade No. 3 'Brineworks' - II. Andante con moto",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(
            outcome.accepted_id(),
            Some("andante"),
            "{title} → {outcome:?}"
        );
    }
    // Another movement's number, or another movement's name under the number: not accepted.
    for title in [
        "Brineworks Serenade: I. Andante",
        "Brineworks Serenade: II. Presto",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(outcome.accepted_id(), None, "{title} → {outcome:?}");
    }
    // A heading's first word without the number: offered, for another movement may start
    // so too.
    let outcome = run(
        &index,
        TrackQuery::new("Anselm Trevane", "Brineworks Serenade - Andante"),
    );
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("andante".to_string()));
}

#[test]
fn a_title_in_traditional_characters_meets_its_simplified_form() {
    let index = LibraryIndex::build(&[
        track("hills", "林月", "青山遠方", "山", 230),
        track("river", "林月", "江水长流", "山", 251),
    ])
    .unwrap();
    let outcome = run(&index, TrackQuery::new("林月", "青山远方"));
    assert_eq!(outcome.accepted_id(), Some("hills"), "{outcome:?}");
    let outcome = run(&index, TrackQuery::new("林月", "江水長流"));
    assert_eq!(outcome.accepted_id(), Some("river"), "{outcome:?}");
    // Other characters are another title.
    let outcome = run(&index, TrackQuery::new("林月", "青山明月"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn an_act_written_in_two_scripts_is_known_by_either_name() {
    let index = LibraryIndex::build(&[
        track("tide", "푸른고래", "밀물", "물결", 198),
        track("lights", "Velvet Harbor", "Tidewater Lights", "Harbor", 240),
    ])
    .unwrap();
    for (artist, title, id) in [
        ("Velvet Harbor (푸른고래)", "밀물", "tide"),
        ("푸른고래 (Velvet Harbor)", "밀물", "tide"),
        ("푸른고래 (Velvet Harbor)", "Tidewater Lights", "lights"),
    ] {
        let outcome = run(&index, TrackQuery::new(artist, title));
        assert_eq!(outcome.accepted_id(), Some(id), "{artist} → {outcome:?}");
    }
    // Neither name the library's: offered at most.
    let outcome = run(&index, TrackQuery::new("Dune Parade (林月)", "밀물"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn another_name_of_a_well_known_act_is_known() {
    // Names of one act from the table of well-known acts, with titles written for the test.
    let index = LibraryIndex::build(&[
        track(
            "dusk",
            "Lady Antebellum",
            "Saltmarsh Evening",
            "Kettles",
            215,
        ),
        track("tide", "방탄소년단", "밀물 편지", "물결", 198),
    ])
    .unwrap();
    for (artist, title, id) in [
        ("Lady A", "Saltmarsh Evening", "dusk"),
        ("BTS", "밀물 편지", "tide"),
        ("Bangtan Boys", "밀물 편지", "tide"),
    ] {
        let outcome = run(&index, TrackQuery::new(artist, title));
        assert_eq!(outcome.accepted_id(), Some(id), "{artist} → {outcome:?}");
    }
    // What else the query says still counts: another release, a name the table does not
    // hold.
    let other_album = TrackQuery {
        album: Some("Kettles\u{b2}".to_string()),
        ..TrackQuery::new("Lady A", "Saltmarsh Evening")
    };
    let outcome = run(&index, other_album);
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    let outcome = run(&index, TrackQuery::new("Velvet Harbor", "밀물 편지"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn a_number_after_a_hash_may_be_the_bare_number() {
    let index =
        LibraryIndex::build(&[track("two", "Corvid Almanac", "Lantern 2", "Ferry", 122)]).unwrap();
    let outcome = run(&index, TrackQuery::new("Corvid Almanac", "Lantern #2"));
    assert_eq!(outcome.accepted_id(), Some("two"), "{outcome:?}");
    let outcome = run(&index, TrackQuery::new("Corvid Almanac", "Lantern #3"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn a_well_known_songs_title_in_the_other_language_is_its_title_for_its_act() {
    let index = LibraryIndex::build(&[
        track("spring", "방탄소년단", "봄날", "Saltbox", 274),
        track("moon", "Dune Parade", "Changes", "Harbor", 201),
    ])
    .unwrap();
    let outcome = run(&index, TrackQuery::new("BTS", "Spring Day"));
    assert_eq!(outcome.accepted_id(), Some("spring"), "{outcome:?}");
    // Another act's title, or another title: not the song.
    let outcome = run(&index, TrackQuery::new("Velvet Harbor", "Spring Day"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
    let outcome = run(&index, TrackQuery::new("Kino", "Changes"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn a_title_in_kanji_reads_as_the_librarys_romanised_title() {
    let index = LibraryIndex::build(&[
        track("light", "Orrery Kestrel", "Hikari", "Lanterns", 240),
        track("dusk", "Orrery Kestrel", "Yuugure", "Lanterns", 251),
    ])
    .unwrap();
    let outcome = run(&index, TrackQuery::new("Orrery Kestrel", "光"));
    assert_eq!(outcome.accepted_id(), Some("light"), "{outcome:?}");
    // Kanji that read otherwise are another title.
    let outcome = run(&index, TrackQuery::new("Orrery Kestrel", "闇"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn a_movement_named_by_one_distinctive_word_alone_is_offered() {
    let index = LibraryIndex::build(&[
        track(
            "tidewrack",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: V. Tidewrack",
            "Quince Suites",
            240,
        ),
        track(
            "gavotte",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: III. Gavotte",
            "Quince Suites",
            150,
        ),
    ])
    .unwrap();
    // One word that names one piece, without its work: what a person looks for, but the
    // work is not confirmed — offered, never accepted, also at the right length.
    for query in [
        TrackQuery::new("Anselm Trevane", "Tidewrack"),
        TrackQuery {
            duration_ms: Some(240_000),
            ..TrackQuery::new("Trevane", "Tidewrack")
        },
    ] {
        let outcome = run(&index, query.clone());
        assert_eq!(outcome.band, Band::Review, "{query:?} → {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some("tidewrack".to_string()),
            "{query:?}"
        );
    }
    // A word for a kind of piece alone names no piece: nothing is offered for it.
    let outcome = run(&index, TrackQuery::new("Anselm Trevane", "Gavotte"));
    assert_ne!(outcome.band, Band::Accept, "{outcome:?}");
    assert_ne!(
        outcome.best.map(|b| b.id),
        Some("gavotte".to_string()),
        "a form word alone"
    );
}

#[test]
fn the_same_movement_number_under_another_heading_is_offered() {
    let index = LibraryIndex::build(&[
        track(
            "presto",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: IV. Presto tempestoso",
            "Quince Suites",
            300,
        ),
        track(
            "largo",
            "Anselm Trevane",
            "Quince Suite No. 4 in D minor, Op. 11: III. Largo",
            "Quince Suites",
            420,
        ),
    ])
    .unwrap();
    // "IV. Finale": the fourth movement under a generic heading. Offered, never accepted:
    // a heading that differs may also be a slip in the number.
    let outcome = run(
        &index,
        TrackQuery::new("Anselm Trevane", "Quince Suite No. 4: IV. Finale"),
    );
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("presto".to_string()));
    // Another number is another movement; another work is no candidate.
    for title in [
        "Quince Suite No. 4: II. Finale",
        "Quince Suite No. 5: IV. Finale",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_ne!(outcome.band, Band::Accept, "{title}: {outcome:?}");
        assert!(
            outcome.best.as_ref().is_none_or(|b| b.id != "presto"),
            "{title}: {outcome:?}"
        );
    }
}

#[test]
fn a_movement_named_by_the_first_words_of_its_heading_is_offered() {
    let index = LibraryIndex::build(&[
        track(
            "procession",
            "Anselm Trevane",
            "Quince Cantata, Op. 12: Act I: No. 6, Lampblack Procession",
            "Quince Cantata",
            330,
        ),
        track(
            "fenwhistle",
            "Anselm Trevane",
            "Quince Cantata, Op. 12: Fenwhistle. Allegro con moto",
            "Quince Cantata",
            260,
        ),
    ])
    .unwrap();
    for (title, expected) in [
        ("Lampblack Procession", "procession"),
        ("Quince Cantata: Lampblack Procession", "procession"),
        ("Quince Cantata: Fenwhistle", "fenwhistle"),
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        assert_eq!(outcome.band, Band::Review, "{title}: {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some(expected.to_string()),
            "{title}"
        );
    }
    // Words inside a heading, not at its start, name no movement.
    let outcome = run(&index, TrackQuery::new("Trevane", "Procession"));
    assert!(
        outcome.best.as_ref().is_none_or(|b| b.id != "procession"),
        "{outcome:?}"
    );
}

#[test]
fn a_movement_named_by_a_part_of_its_heading_is_offered() {
    let index = LibraryIndex::build(&[
        track(
            "fairy",
            "Anselm Trevane",
            "Quince Ballet, Op. 71, Act II: No. 14c, Variation II. Dance of the Lampblack Fairy",
            "Quince Ballet",
            110,
        ),
        track(
            "chorus",
            "Anselm Trevane",
            "Quince Oratorio, Op. 56: No. 44, Chorus. Fenwhistle",
            "Quince Oratorio",
            230,
        ),
    ])
    .unwrap();
    for (title, expected) in [
        // The name after a number's label and a kind of piece.
        ("Dance of the Lampblack Fairy", "fairy"),
        ("Quince Ballet: Dance of the Lampblack Fairy", "fairy"),
        ("Quince Oratorio: Fenwhistle", "chorus"),
        ("Fenwhistle (from Quince Oratorio)", "chorus"),
        // The work's name and the movement's without a colon.
        ("Quince Oratorio - Fenwhistle", "chorus"),
        ("Quince Ballet Dance of the Lampblack Fairy", "fairy"),
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        assert_eq!(outcome.band, Band::Review, "{title}: {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some(expected.to_string()),
            "{title}"
        );
    }
    // A kind of piece alone names no part ("Variation"), nor do words inside a part, nor a
    // name after another work's.
    for title in [
        "Quince Ballet: Variation",
        "Lampblack Fairy",
        "Brineworks Suite - Fenwhistle",
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        assert!(
            outcome
                .best
                .as_ref()
                .is_none_or(|b| b.id != "fairy" && b.id != "chorus"),
            "{title}: {outcome:?}"
        );
    }
}

#[test]
fn a_piece_of_a_set_named_as_the_piece_is_offered() {
    let index = LibraryIndex::build(&[
        track(
            "tidewrack-1",
            "Anselm Trevane",
            "3 Tidewracks: No. 1, Lent et grave",
            "Piano Works",
            200,
        ),
        track(
            "tidewrack-2",
            "Anselm Trevane",
            "3 Tidewracks: No. 2, Lent et triste",
            "Piano Works",
            170,
        ),
        track(
            "quillwork",
            "Anselm Trevane",
            "Quillworks, Op. 7: No. 5 in G Minor",
            "Piano Works",
            140,
        ),
    ])
    .unwrap();
    for (title, expected) in [
        ("Tidewrack No. 1", "tidewrack-1"),
        ("Tidewrack No. 2", "tidewrack-2"),
        // The set's catalogue number is left out of the piece's name.
        ("Quillwork No. 5", "quillwork"),
        ("Quillwork No. 5 in G minor", "quillwork"),
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        // Another set may number its pieces alike: offered, never accepted.
        assert_eq!(outcome.band, Band::Review, "{title}: {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some(expected.to_string()),
            "{title}"
        );
    }
    // Another number, or another key, is another piece.
    for title in [
        "Tidewrack No. 3",
        "Quillwork No. 4",
        "Quillwork No. 5 in E minor",
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        assert!(
            outcome
                .best
                .as_ref()
                .is_none_or(|b| b.id != "quillwork" && !b.id.starts_with("tidewrack")),
            "{title}: {outcome:?}"
        );
    }
}

#[test]
fn a_composers_name_before_a_performers_work_is_read_without_it() {
    let mut both = track(
        "credited",
        "Bramble Finch",
        "Quince Suite No. 1 in G Major, Op. 7: I. Sarabande",
        "Quince Suites",
        150,
    );
    both.artists = vec!["Anselm Trevane".into(), "Bramble Finch".into()];
    let index = LibraryIndex::build(&[
        both,
        track(
            "performer-only",
            "Lampblack Quartet",
            "Quince Suite No. 2 in D Minor, Op. 8: I. Sarabande",
            "Quince Suites",
            170,
        ),
    ])
    .unwrap();
    // The track credits the composer named: accepted.
    let outcome = run(
        &index,
        TrackQuery::new("Bramble Finch", "Trevane: Quince Suite No. 1 - Sarabande"),
    );
    assert_eq!(outcome.band, Band::Accept, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("credited".to_string()));
    // The library credits the performers alone: offered.
    let outcome = run(
        &index,
        TrackQuery::new(
            "Lampblack Quartet",
            "Trevane: Quince Suite No. 2 - Sarabande",
        ),
    );
    assert_eq!(outcome.band, Band::Review, "{outcome:?}");
    assert_eq!(
        outcome.best.map(|b| b.id),
        Some("performer-only".to_string())
    );
    // Another work is still another work.
    let outcome = run(
        &index,
        TrackQuery::new("Bramble Finch", "Trevane: Quince Suite No. 3 - Sarabande"),
    );
    assert_ne!(outcome.band, Band::Accept, "{outcome:?}");
    // A colon before words that name no work is part of the title.
    assert_eq!(normalize::composer_prefix("Lantern: Quince Ferry"), None);
    assert_eq!(
        normalize::composer_prefix("Trevane: Quince Suite No. 1, Op. 7").map(|(name, _)| name),
        Some("trevane".to_string())
    );
}

#[test]
fn a_movement_by_number_of_a_work_named_by_its_kind_and_key_is_found() {
    let index = LibraryIndex::build(&[
        track(
            "first",
            "Anselm Trevane",
            "Harbour Concerto in E Minor, Op. 64: I. Allegro molto appassionato",
            "Harbour Concerto",
            760,
        ),
        track(
            "second",
            "Anselm Trevane",
            "Harbour Concerto in E Minor, Op. 64: II. Andante",
            "Harbour Concerto",
            500,
        ),
    ])
    .unwrap();
    for (title, expected) in [
        ("Harbour Concerto in E minor - 1st movement", "first"),
        ("Harbour Concerto in E minor, 2nd mvt", "second"),
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        assert_eq!(outcome.band, Band::Accept, "{title}: {outcome:?}");
        assert_eq!(outcome.best.map(|b| b.id), Some(expected.to_string()));
    }
    // Another movement, or another key, is not found.
    for title in [
        "Harbour Concerto in E minor - 3rd movement",
        "Harbour Concerto in D minor - 1st movement",
    ] {
        let outcome = run(&index, TrackQuery::new("Trevane", title));
        assert_ne!(outcome.band, Band::Accept, "{title}: {outcome:?}");
    }
}

#[test]
fn a_title_with_a_number_added_is_another_song() {
    let index = LibraryIndex::build(&[
        track(
            "sequel",
            "Gorsefield",
            "Lighthouse Rehearsal II",
            "Saltmarsh Hours",
            214,
        ),
        track(
            "part",
            "Bramble Finch",
            "Lighthouse Rehearsal, Pt. 2",
            "Tidewrack",
            190,
        ),
    ])
    .unwrap();
    for (artist, expected) in [("Gorsefield", "sequel"), ("Bramble Finch", "part")] {
        // Asked for without the number: offered, never accepted.
        let outcome = run(&index, TrackQuery::new(artist, "Lighthouse Rehearsal"));
        assert_eq!(outcome.band, Band::Review, "{artist}: {outcome:?}");
        assert_eq!(outcome.best.map(|b| b.id), Some(expected.to_string()));
    }
    // With its number, the song is accepted.
    let outcome = run(
        &index,
        TrackQuery::new("Gorsefield", "Lighthouse Rehearsal II"),
    );
    assert_eq!(outcome.band, Band::Accept, "{outcome:?}");
    let outcome = run(
        &index,
        TrackQuery::new("Bramble Finch", "Lighthouse Rehearsal (Part Two)"),
    );
    assert_eq!(outcome.band, Band::Accept, "{outcome:?}");
}

#[test]
fn an_albums_number_in_roman_numerals_is_the_same_release_in_digits() {
    let index = LibraryIndex::build(&[track(
        "fourth",
        "Gorsefield",
        "Saltmarsh Hours",
        "Brineworks IV",
        301,
    )])
    .unwrap();
    for album in [
        "Brineworks 4",
        "Brineworks Four",
        "Brineworks IV (Remaster)",
    ] {
        let outcome = run(
            &index,
            TrackQuery {
                album: Some(album.to_string()),
                ..TrackQuery::new("Gorsefield", "Saltmarsh Hours")
            },
        );
        assert_eq!(outcome.band, Band::Accept, "{album}: {outcome:?}");
    }
    // Another number is another release: what the query says of it is not carried.
    for album in ["Brineworks 3", "Brineworks II"] {
        let outcome = run(
            &index,
            TrackQuery {
                album: Some(album.to_string()),
                ..TrackQuery::new("Gorsefield", "Saltmarsh Hours")
            },
        );
        assert_ne!(outcome.band, Band::Accept, "{album}: {outcome:?}");
    }
}

#[test]
fn a_mix_the_library_does_not_hold_offers_the_recording_it_was_mixed_from() {
    let index = LibraryIndex::build(&[track(
        "parade",
        "Gorsefield",
        "Dune Parade",
        "Saltmarsh Hours",
        214,
    )])
    .unwrap();
    // Another mix is not the recording asked for: never accepted, but offered.
    for title in [
        "Dune Parade (US Mix)",
        "Dune Parade (Remixed)",
        "Dune Parade (Remix)",
        "Dune Parade - Alternate Mix",
        // Mixes for clubs and formats, named by use, length or medium.
        "Dune Parade (Extended Mix)",
        "Dune Parade - Club Mix",
        "Dune Parade (12\" Version)",
        "Dune Parade (Full Length Mix)",
    ] {
        let outcome = run(&index, TrackQuery::new("Gorsefield", title));
        assert_eq!(outcome.band, Band::Review, "{title}: {outcome:?}");
        assert_eq!(outcome.best.map(|b| b.id), Some("parade".to_string()));
    }
    // A remixer's remix, or a live recording, is another recording: nothing is offered.
    for title in [
        "Dune Parade (Lampblack Remix)",
        "Dune Parade (Lampblack Club Mix)",
        "Dune Parade (Live)",
    ] {
        let outcome = run(&index, TrackQuery::new("Gorsefield", title));
        assert_eq!(outcome.band, Band::Reject, "{title}: {outcome:?}");
    }
}

#[test]
fn a_work_credited_to_its_performers_is_offered_for_its_composer() {
    let index = LibraryIndex::build(&[
        track(
            "sarabande",
            "Lampblack Quartet",
            "Quince Suite No. 4 in D minor, Op. 11: II. Sarabande",
            "Quince Suites",
            260,
        ),
        track(
            "other",
            "Lampblack Quartet",
            "Tidewrack Nocturne",
            "Quince Suites",
            200,
        ),
    ])
    .unwrap();
    // The composer where the library credits the performers: the same work and movement,
    // offered, never accepted (the library does not say who composed it).
    for title in [
        "Quince Suite No. 4: Sarabande",
        "Quince Suite No. 4 in D minor, Op. 11: II. Sarabande",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(outcome.band, Band::Review, "{title}: {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some("sarabande".to_string()),
            "{title}"
        );
    }
    // Another suite or another movement is not the work.
    for title in [
        "Quince Suite No. 5: Sarabande",
        "Quince Suite No. 4: III. Gigue",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert!(
            outcome.best.as_ref().is_none_or(|b| b.id != "sarabande"),
            "{title}: {outcome:?}"
        );
    }
}

#[test]
fn a_nickname_the_library_carries_as_its_title_is_found_as_written() {
    let index = LibraryIndex::build(&[track(
        "jesu",
        "Johann Sebastian Bach",
        "Jesu, Joy of Man's Desiring",
        "Favourites",
        200,
    )])
    .unwrap();
    // The table reads the nickname as its cantata's movement; the library's title is the
    // nickname itself, which the query's title, as written, still finds.
    let outcome = run(
        &index,
        TrackQuery::new("Bach", "Jesu Joy Of Man's Desiring"),
    );
    assert_eq!(outcome.accepted_id(), Some("jesu"), "{outcome:?}");
}

#[test]
fn digits_written_apart_find_the_number_they_spell() {
    let index = LibraryIndex::build(&[track(
        "digits",
        "Gorsefield",
        "1234",
        "Saltmarsh Hours",
        183,
    )])
    .unwrap();
    for title in ["1, 2, 3, 4", "1-2-3-4", "One Two Three Four"] {
        let outcome = run(&index, TrackQuery::new("Gorsefield", title));
        assert_ne!(outcome.band, Band::Reject, "{title}: {outcome:?}");
        assert_eq!(
            outcome.best.map(|b| b.id),
            Some("digits".to_string()),
            "{title}"
        );
    }
    // Other digits are another title: never accepted.
    let outcome = run(&index, TrackQuery::new("Gorsefield", "1, 2, 4, 3"));
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
}

#[test]
fn an_english_title_written_in_katakana_finds_its_track() {
    let index = LibraryIndex::build(&[
        track(
            "harbor",
            "Gorsefield",
            "Velvet Harbor",
            "Saltmarsh Hours",
            241,
        ),
        track(
            "parade",
            "Gorsefield",
            "Dune Parade",
            "Saltmarsh Hours",
            214,
        ),
    ])
    .unwrap();
    // "ベルベット・ハーバー" is how Japanese stores write "Velvet Harbor": the consonants both keep.
    let outcome = run(
        &index,
        TrackQuery::new("Gorsefield", "ベルベット・ハーバー"),
    );
    assert_ne!(outcome.band, Band::Reject, "{outcome:?}");
    assert_eq!(outcome.best.map(|b| b.id), Some("harbor".to_string()));
    // Other words in katakana are another title.
    let outcome = run(
        &index,
        TrackQuery::new("Gorsefield", "ベルベット・ドリーム"),
    );
    assert_eq!(outcome.accepted_id(), None, "{outcome:?}");
    assert!(
        outcome.best.as_ref().is_none_or(|b| b.id != "harbor") || outcome.band == Band::Review,
        "{outcome:?}"
    );
}

#[test]
fn ordinals_and_hundreds_in_words_are_their_digits() {
    let index = LibraryIndex::build(&[
        track(
            "stone",
            "Bramble Finch",
            "3rd Stone Harbour",
            "Tidewrack",
            240,
        ),
        track(
            "lanterns",
            "Bramble Finch",
            "100 Lanterns",
            "Tidewrack",
            200,
        ),
        track(
            "quays",
            "Bramble Finch",
            "A Thousand Quays",
            "Tidewrack",
            210,
        ),
    ])
    .unwrap();
    let found = [
        ("Bramble Finch", "Third Stone Harbour"),
        ("Bramble Finch", "One Hundred Lanterns"),
        ("Bramble Finch", "1000 Quays"),
    ];
    let ids = accepted(&index, &found);
    for ((case, id), expected) in found.iter().zip(&ids).zip(["stone", "lanterns", "quays"]) {
        assert_eq!(id.as_deref(), Some(expected), "{case:?}");
    }
    let never = [
        ("Bramble Finch", "Fourth Stone Harbour"),
        ("Bramble Finch", "Two Hundred Lanterns"),
        ("Bramble Finch", "A Hundred Quays"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn a_surname_is_found_inside_the_full_name_as_another_convention_romanises_it() {
    let index = LibraryIndex::build(&[
        track(
            "concerto",
            "Anselm Quillmaninoff",
            "Quince Concerto No. 2 in C minor, Op. 18: I. Moderato",
            "Quince Concertos",
            640,
        ),
        track(
            "gorse",
            "Anselm Quillmaninoff",
            "Gorsefield Prelude in G minor, Op. 23 No. 5",
            "Preludes",
            230,
        ),
    ])
    .unwrap();
    let found = [
        ("Quillmaninov", "Quince Concerto No. 2 - 1st Movement"),
        ("Quillmaninow", "Quince Concerto No. 2 - 1st Movement"),
    ];
    let ids = accepted(&index, &found);
    for (case, id) in found.iter().zip(&ids) {
        assert_eq!(id.as_deref(), Some("concerto"), "{case:?}");
    }
    // Another surname, or another movement, finds nothing to accept.
    let never = [
        ("Quillmanko", "Quince Concerto No. 2 - 1st Movement"),
        ("Quillmaninov", "Quince Concerto No. 2 - 2nd Movement"),
    ];
    for (case, id) in never.iter().zip(accepted(&index, &never)) {
        assert_eq!(id, None, "{case:?}");
    }
}

#[test]
fn a_finale_offers_the_works_last_movement_and_is_never_accepted() {
    let index = LibraryIndex::build(&[
        track(
            "first",
            "Anselm Trevane",
            "Quince Symphony No. 4 in D minor, Op. 12: I. Allegro",
            "Quince Symphonies",
            600,
        ),
        track(
            "third",
            "Anselm Trevane",
            "Quince Symphony No. 4 in D minor, Op. 12: III. Scherzo. Vivace",
            "Quince Symphonies",
            400,
        ),
        track(
            "fourth",
            "Anselm Trevane",
            "Quince Symphony No. 4 in D minor, Op. 12: IV. Presto",
            "Quince Symphonies",
            500,
        ),
        track(
            "other",
            "Anselm Trevane",
            "Quince Symphony No. 5 in F major, Op. 20: IV. Allegro",
            "Quince Symphonies",
            500,
        ),
    ])
    .unwrap();
    for title in [
        "Quince Symphony No. 4 - Finale",
        "Quince Symphony No. 4 in D minor: Finale",
    ] {
        let outcome = run(&index, TrackQuery::new("Anselm Trevane", title));
        assert_eq!(outcome.band, Band::Review, "{title}");
        assert_eq!(
            outcome.best.as_ref().map(|c| c.id.as_str()),
            Some("fourth"),
            "{title}"
        );
    }
    // Another work's finale offers none of this one's movements.
    let outcome = run(
        &index,
        TrackQuery::new("Anselm Trevane", "Quince Symphony No. 6 - Finale"),
    );
    assert!(
        outcome
            .best
            .as_ref()
            .is_none_or(|c| !["first", "third", "fourth"].contains(&c.id.as_str())),
        "{outcome:?}"
    );
}
