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
        "Hey Jude - Radio Mix",
        "Hey Jude (Single Mix)",
        "Hey Jude (7\" Version)",
        "Hey Jude (45 Version)",
        "Hey Jude (Full Length Version)",
        "Hey Jude - Soundtrack Version",
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
        ("Hey Jude (Tidal Radio Mix)", VersionTags::REMIX),
        ("Hey Jude (12\" Mix)", VersionTags::REMIX),
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
    fn our_edit_distance_is_strsims_on_long_near_strings(
        a in "[ab é日]{0,50}", b in "[ab é日]{0,70}",
    ) {
        proptest::prop_assert_eq!(osa_distance(&a, &b), strsim::osa_distance(&a, &b));
        proptest::prop_assert_eq!(osa_distance(&b, &a), strsim::osa_distance(&b, &a));
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
fn name_similarity_does_not_depend_on_the_order_of_the_names() {
    let names = [
        "dj ghost",
        "dj gohst",
        "ac dc",
        "acdc",
        "wind orchestra",
        "fire orchestra",
        "tschaikowsky",
        "tchaikovsky",
        "sergei rachmaninoff",
        "js bach",
        "johann sebastian bach",
        "red hot chili peppers",
        "rhcp",
        "marrow seven",
        "marrow 7",
        "boney m",
        "louis xiv",
        "louis 14",
        "кино",
        "kino",
        "周杰伦",
        "周杰倫",
        "jay chou",
        "坂本九",
        "kyu sakamoto",
        "아이유",
        "iu",
        "빅뱅",
        "bigbang",
        "فيروز",
        "fairuz",
        "ye",
        "kanye west",
        "",
    ];
    for a in names {
        for b in names {
            assert_eq!(
                name_similarity(a, b).to_bits(),
                name_similarity(b, a).to_bits(),
                "{a:?} and {b:?}"
            );
        }
    }
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
fn a_nickname_in_single_quotes_and_the_work_before_a_numbered_movement() {
    let quoted = |raw: &str| parse_title(raw).quoted;
    assert_eq!(
        quoted("Serenade No. 3 'Brineworks': II. Andante").as_deref(),
        Some("brineworks")
    );
    assert_eq!(
        quoted("Serenade No. 3 \u{2018}Brineworks\u{2019} - II. Andante").as_deref(),
        Some("brineworks")
    );
    // Apostrophes are not quotes.
    assert_eq!(quoted("Rock 'n' Roll Lantern"), None);
    assert_eq!(quoted("Singin' in the Brineworks"), None);
    assert_eq!(quoted("Brineworks' Lantern 'Til Dawn"), None);
    let head = |raw: &str| parse_title(raw).work.and_then(|w| w.head);
    assert_eq!(
        head("Brineworks Serenade: II. Andante").as_deref(),
        Some("brineworks serenade")
    );
}

#[test]
fn a_movement_number_after_a_colon_and_a_name_leaves_the_name_to_the_work() {
    for raw in [
        "Quince Suite: Lantern - 2nd movement",
        "Quince Suite: Lantern (2nd Movement)",
    ] {
        let work = parse_title(raw).work.expect("a work");
        assert_eq!(work.movement_number, Some(2), "{raw}");
        assert_eq!(work.movement, None, "{raw}");
        assert_eq!(work.head.as_deref(), Some("quince suite lantern"), "{raw}");
    }
}

#[test]
fn a_work_without_a_number_is_named_by_its_kind_and_key() {
    let numbered = |raw: &str| parse_title(raw).work.and_then(|w| w.numbered);
    assert_eq!(
        numbered("Harbour Concerto in E Minor, Op. 64: I. Allegro").as_deref(),
        Some("harbour concerto in e minor")
    );
    assert_eq!(
        numbered("Harbour Concerto in E minor - 1st movement").as_deref(),
        Some("harbour concerto in e minor")
    );
    // A number still names the work; a key without its mode, or a kind alone, does not.
    assert_eq!(
        numbered("Harbour Concerto No. 2 in E Minor, Op. 64").as_deref(),
        Some("harbour concerto no 2")
    );
    assert_eq!(numbered("Harbour Concerto in E, Op. 64: I. Allegro"), None);
    assert_eq!(numbered("Concerto in E Minor, Op. 64: I. Allegro"), None);
    assert_eq!(numbered("Lantern Ferry in E Minor, Op. 64"), None);
}

#[test]
fn a_piece_of_a_set_is_named_as_the_piece_without_the_sets_count_and_catalogue() {
    let piece = |raw: &str| parse_title(raw).work.and_then(|w| w.piece);
    assert_eq!(
        piece("3 Tidewracks: No. 1, Lent et grave").as_deref(),
        Some("tidewrack no 1 lent et grave")
    );
    assert_eq!(
        piece("Deux Quillworks, L. 40: No. 2").as_deref(),
        Some("quillwork no 2")
    );
    assert_eq!(
        piece("Brineworks Dances, WoO 3: No. 5 in G Minor").as_deref(),
        Some("brineworks dance no 5 in g minor")
    );
    // A movement, or a set whose name is no plural, names no piece so.
    assert_eq!(piece("Quince Suite, Op. 4: II. Lantern"), None);
    assert_eq!(piece("Quince Book 2: No. 3"), None);
}

#[test]
fn pieces_of_more_kinds_are_named_by_number_without_no() {
    use crate::normalize::numbered_shorthand;
    assert_eq!(
        numbered_shorthand("brineworks gymnopedie 3").as_deref(),
        Some("brineworks gymnopedie no 3")
    );
    assert_eq!(
        numbered_shorthand("mazurka 5").as_deref(),
        Some("mazurka no 5")
    );
    assert_eq!(numbered_shorthand("lantern 5"), None);
    // French ordinals before the kind, as French titles write them.
    for (work, named) in [
        ("premiere gymnopedie", "gymnopedie no 1"),
        ("1ere gymnopedie", "gymnopedie no 1"),
        ("2e mazurka", "mazurka no 2"),
        ("troisieme gymnopedie", "gymnopedie no 3"),
    ] {
        assert_eq!(numbered_shorthand(work).as_deref(), Some(named), "{work}");
    }
    assert_eq!(numbered_shorthand("premiere lantern"), None);
}

#[test]
fn a_tempo_heading_in_brackets_is_a_movement() {
    let work = parse_title("Harbour Serenade (Andante con moto)")
        .work
        .expect("a work");
    assert_eq!(work.movement.as_deref(), Some("andante con moto"));
    assert_eq!(
        parse_title("Harbour Serenade (Andante con moto)").base,
        parse_title("Harbour Serenade - Andante con moto").base
    );
    // A form word, or a bracket after a colon, stays as it was.
    assert!(parse_title("Lantern Ferry (Finale)").work.is_none());
    assert_eq!(
        parse_title("Harbour Serenade: II. Andante (Allegro Take)")
            .work
            .and_then(|w| w.movement_number),
        Some(2)
    );
}

#[test]
fn spoken_contractions_are_spelled_out_for_the_short_form_too() {
    let parsed = parse_title("I Wanna Sail with the Lantern (Who Keeps Me)");
    assert!(
        parsed
            .alternates()
            .contains(&"i want to sail with the lantern".to_string()),
        "{:?}",
        parsed.alternates()
    );
    assert_eq!(
        parse_title("Sweet Ferry O' Mine").spoken.as_deref(),
        Some("sweet ferry of mine")
    );
    assert_eq!(
        parse_title("Lovin' the Lantern").spoken.as_deref(),
        Some("loving the lantern")
    );
}

#[test]
fn abbreviations_are_written_out_as_another_form() {
    for (raw, spoken) in [
        (
            "Happy Xmas (Lantern Is Over)",
            "happy christmas lantern is over",
        ),
        ("Mr. Lantern Sky", "mister lantern sky"),
        ("Dr. Ferrygood", "doctor ferrygood"),
        ("Mt. Lantern", "mount lantern"),
        ("Let 'Em In the Lantern", "let them in the lantern"),
        ("Lil' Red Lantern", "little red lantern"),
        ("Alright Lantern", "all right lantern"),
    ] {
        assert_eq!(parse_title(raw).spoken.as_deref(), Some(spoken), "{raw}");
    }
    assert_eq!(parse_title("Lantern Ferry").spoken, None);
}

#[test]
fn the_credited_composer_before_a_work_is_no_part_of_the_title() {
    use crate::normalize::without_composer_prefix;
    let title = "Trevane: Suite lunaire, L. 44: II. Nuit de verre";
    assert_eq!(
        without_composer_prefix(title, "Anselm Trevane"),
        Some("Suite lunaire, L. 44: II. Nuit de verre")
    );
    // Another name, or a title that names no work, keeps its colon.
    assert_eq!(without_composer_prefix(title, "Corvid Almanac"), None);
    assert_eq!(
        without_composer_prefix("Trevane: Lantern Ferry", "Anselm Trevane"),
        None
    );
}

#[test]
fn nicknames_in_other_languages_and_before_a_named_movement() {
    let title = |raw: &str, artist: &str| nickname_title(&parse_title(raw), &[artist.to_string()]);
    assert_eq!(
        title("L'estate: III. Presto", "vivaldi").as_deref(),
        Some("Violin Concerto in G minor, Op. 8 No. 2, RV 315: 3. presto")
    );
    assert_eq!(
        title(
            "Die vier Jahreszeiten: Der Winter - I. Allegro non molto",
            "vivaldi"
        )
        .as_deref(),
        Some("Violin Concerto in F minor, Op. 8 No. 4, RV 297: 1. allegro non molto")
    );
    assert_eq!(
        title("Mondscheinsonate", "beethoven").as_deref(),
        Some("Piano Sonata No. 14 in C-sharp minor, Op. 27 No. 2")
    );
    // Another composer's, or a title the table does not hold: none.
    assert_eq!(title("L'estate: III. Presto", "trevane"), None);
    assert_eq!(title("Brineworks: II. Andante", "vivaldi"), None);
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
    // After "Number" or "No." a word is a number; "No One" is the pronoun.
    assert_eq!(base("Lantern Number Seven"), base("Lantern No. 7"));
    assert_eq!(base("Lantern Nr. Twelve"), "lantern no 12");
    assert_eq!(base("Lantern Numero 12"), "lantern no 12");
    assert_eq!(base("Lantern Nummer 12"), "lantern no 12");
    assert_eq!(base("Lantern No. Five"), "lantern no 5");
    assert_eq!(base("No One Tides"), "no one tides");
    // "N.5" is number 5; "Teil", "Partie", "Parte" before a number a part.
    assert_eq!(base("Lantern N.5"), "lantern no 5");
    assert_eq!(base("Lantern Ferry, Teil 2"), base("Lantern Ferry, Part 2"));
    assert_eq!(base("Parte de la Ferry"), "parte de la ferry");
    // A Roman numeral glued to its part, and a range of parts.
    assert_eq!(base("Lantern Ferry, Pt.II"), base("Lantern Ferry, Part II"));
    assert_eq!(
        base("Tidewater Suite Parts One to Five"),
        base("Tidewater Suite Pts. 1-5")
    );
    assert_eq!(base("Tidewater Suite Part 1-5"), "tidewater suite part 1 5");
    assert_eq!(base("Spare Parts"), "spare parts");
    // An ordinal word as digits, before "Movement" and elsewhere.
    assert_eq!(
        base("Harbour Serenade - First Movement"),
        base("Harbour Serenade - 1st Movement")
    );
    assert_eq!(base("First Light Harbour"), "1st light harbour");
    assert_eq!(base("Third Stone Harbour"), base("3rd Stone Harbour"));
    assert_eq!(base("The Nineteenth Lantern"), "19th lantern");
    assert_eq!(base("Twenty-First Lantern"), "21st lantern");
    assert_eq!(base("Lantern Ferry Twelfth"), "lantern ferry 12th");
    assert_eq!(base("The Fortieth Quay"), "40th quay");
    // Hundreds and thousands in words, also after "a".
    assert_eq!(base("One Hundred Lanterns"), base("100 Lanterns"));
    assert_eq!(base("A Thousand Lanterns"), base("1000 Lanterns"));
    assert_eq!(base("Five Hundred Quays"), "500 quays");
    assert_eq!(base("Nineteen Hundred and Eighty-Five Tides"), "1985 tides");
    assert_eq!(base("Three Hundred Twelve Tides"), "312 tides");
    assert_eq!(base("A Hundred Tides"), "100 tides");
    // Thousands written with a separator, and in words.
    assert_eq!(base("10,000 Lanterns"), "10000 lanterns");
    assert_eq!(base("Ten Thousand Lanterns"), base("10,000 Lanterns"));
    assert_eq!(base("1,000,000 Quays"), "1000000 quays");
    assert_eq!(base("Lantern 12, 345"), "lantern 12345");
    // Groups of other lengths stay apart ("Rainy Day Women #12 & 35").
    assert_eq!(base("Lantern 12 & 35"), "lantern 12 and 35");
    assert_eq!(base("Lantern 1, 2, 3, 4"), "lantern 1 2 3 4");
    assert_eq!(base("Lantern 0 123"), "lantern 0 123");
    // "Hundred" alone, and "a" before other words, stay words.
    assert_eq!(base("Hundred Lanterns"), "hundred lanterns");
    assert_eq!(base("A Lantern Ferry"), "a lantern ferry");
    // A year read in pairs.
    assert_eq!(base("Nineteen Eighty-Three Tides"), "1983 tides");
    assert_eq!(base("Twenty Twelve"), "2012");
    assert_eq!(base("Ten Twenty"), "10 20");
    assert_eq!(base("Twenty Two Tides"), "22 tides");
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

#[test]
fn qualifiers_are_what_a_title_says_beyond_the_song_and_its_known_wording() {
    let qualifiers = |title: &str| parse_title(title).qualifiers;
    assert_eq!(
        qualifiers("Harbour Lights (Rooftop Take)"),
        ["rooftop take"]
    );
    assert_eq!(qualifiers("Harbour Lights - 2031"), ["2031"]);
    assert_eq!(
        qualifiers("Harbour Lights (1997 Version)"),
        ["1997 version"]
    );
    assert_eq!(
        qualifiers("Harbour Lights - Zither Reworking"),
        ["zither reworking"]
    );
    assert_eq!(
        qualifiers("Harbour Lights (From the Boathouse)"),
        ["from the boathouse"]
    );
    for known in [
        "Harbour Lights - 2019 Remaster",
        "Harbour Lights (Stereo Mix)",
        "Harbour Lights (Mono Version)",
        "Harbour Lights [Explicit]",
        "Harbour Lights (From \"The Lantern Keeper\")",
        "Harbour Lights (Taken from the Album Tidewater)",
        "Harbour Lights (Official Video) (Closed Captioned)",
        "Harbour Lights (Live)",
        "Harbour Lights (feat. Noor Vale)",
        "항구의 불빛 (Harbour Lights)",
    ] {
        assert!(
            qualifiers(known).is_empty(),
            "{known}: {:?}",
            qualifiers(known)
        );
    }
    // A mix of the recording is not a remix; a dash suffix is looked up without it too.
    assert!(
        parse_title("Harbour Lights (Stereo Mix)")
            .version
            .is_original()
    );
    assert_eq!(
        parse_title("Harbour Lights - Zither Reworking")
            .short
            .as_deref(),
        Some("harbour lights")
    );
    assert!(names_recording("2014 re recording"));
    assert!(!names_recording("when the tide turns"));
    assert!(reads_as_subtitle("when the tide turns"));
    assert!(reads_as_subtitle("cap2 marea"));
    assert!(!reads_as_subtitle("kazoo cover"));
    assert!(!reads_as_subtitle("come true"));
    assert!(!reads_as_subtitle("taken from the boathouse"));
}
#[test]
fn movements_named_by_number_and_works_by_number_or_nickname() {
    let query = parse_title("Lighthouse Symphony (2nd Movement)");
    let work = query.work.as_deref().expect("a movement makes it a work");
    assert_eq!(work.movement_number, Some(2));
    assert_eq!(work.head.as_deref(), Some("lighthouse symphony"));
    for (title, number) in [
        ("Symphony No. 3 - 2nd movement", 2),
        ("Lighthouse Symphony Mvt. 3", 3),
        ("Lighthouse Symphony, Movement IV", 4),
    ] {
        let parsed = parse_title(title);
        let movement = parsed.work.as_deref().and_then(|w| w.movement_number);
        assert_eq!(movement, Some(number), "{title}");
    }
    // A movement's Roman numeral alone after a numbered work, with or without a separator.
    for (title, number) in [
        ("Symphony No. 3 - I", 1),
        ("Symphony No. 3: I", 1),
        ("Symphony No. 3 \"Lighthouse\" IV", 4),
        ("Sonata No. 2, Op. 9 No. 1 III", 3),
    ] {
        let parsed = parse_title(title);
        let movement = parsed.work.as_deref().and_then(|w| w.movement_number);
        assert_eq!(movement, Some(number), "{title}");
    }
    // A pop title that ends on a number is no movement, nor a numeral after an unnumbered
    // title that no table knows as a work ("Lighthouse Symphony II" may be the second one).
    assert!(parse_title("Movement 2 (Join In)").work.is_none());
    for title in [
        "Harbour Lights: I",
        "Harbour Lights II",
        "Lighthouse Symphony II",
    ] {
        let parsed = parse_title(title);
        let movement = parsed.work.as_deref().and_then(|w| w.movement_number);
        assert_eq!(movement, None, "{title}");
    }
    let library = parse_title("Symphony No. 3 in A minor, Op. 40 \"Lighthouse\": II. Largo");
    let work = library.work.as_deref().expect("a work");
    assert_eq!(work.numbered.as_deref(), Some("symphony no 3"));
    assert_eq!(work.nickname.as_deref(), Some("lighthouse symphony"));
    assert!(
        library
            .alternates()
            .contains(&"lighthouse symphony".to_string())
    );
}

#[test]
fn uploads_are_read_in_their_usual_shapes() {
    let read = |artist: &str, title: &str| {
        let (artist, title) = read_upload(artist, title);
        (artist, title)
    };
    let pair = |artist: &str, title: &str| (artist.to_string(), title.to_string());
    // The title first and the uploader after the dash.
    assert_eq!(
        read("Marrow Lane", "Tin Compass - Marrow Lane (Official Video)"),
        pair("Marrow Lane", "Tin Compass (Official Video)")
    );
    // A label's channel and the artist before the quoted title; the words after it kept in
    // brackets, to be weighed like any bracket.
    assert_eq!(
        read(
            "Gildhall Records",
            "ODESSI (오데시) 'Paper Comet' Official M/V"
        ),
        pair("ODESSI", "Paper Comet (Official MV)")
    );
    assert_eq!(
        read("ODESSI", "ODESSI 'Paper Comet' Dance Practice"),
        pair("ODESSI", "Paper Comet (Dance Practice)")
    );
    // A label's channel without words saying it is a video: not read as an artist.
    assert_eq!(
        read("Gildhall Records", "ODESSI 'Paper Comet' Dance Practice"),
        pair("Gildhall Records", "ODESSI 'Paper Comet' Dance Practice")
    );
    // Hashtags and video words after the last bracket.
    assert_eq!(
        read(
            "Marrow Lane",
            "Marrow Lane - Tin Compass (Lantern) Official Video #shorts #fyp"
        ),
        pair("Marrow Lane", "Tin Compass (Lantern) (Official Video)")
    );
    // An apostrophe is not a quote; a title naming no artist stays whole.
    assert_eq!(
        read("Marrow Lane", "Don't Wake the Orchard"),
        pair("Marrow Lane", "Don't Wake the Orchard")
    );
    assert_eq!(
        read("Marrow Lane", "Tin Compass - Live"),
        pair("Marrow Lane", "Tin Compass - Live")
    );
}

#[test]
fn a_movement_named_by_its_first_word_and_its_number_is_that_movement() {
    // Written for the test: a tempo word alone for the movement's full heading.
    let short = parse_title("Symphony No. 3 \"Lanterns\": II. Scherzo");
    let full =
        parse_title("Symphony No. 3 in D minor, Op. 12 \"Lanterns\": II. Scherzo. Allegro vivace");
    assert_ne!(compare_works(&short, &full), WorkVerdict::Conflict);
    // Another movement number, or a word that is not the heading's first: not that one.
    let other = parse_title("Symphony No. 3 \"Lanterns\": III. Scherzo");
    assert_eq!(compare_works(&other, &full), WorkVerdict::Conflict);
    let inner = parse_title("Symphony No. 3 \"Lanterns\": II. Vivace");
    assert_eq!(compare_works(&inner, &full), WorkVerdict::Conflict);
}

#[test]
fn a_dash_before_a_tempo_word_starts_a_movement() {
    // Written for the test.
    let work = parse_title("Harbour Serenade, Op. 7 - Andante con moto")
        .work
        .expect("a work");
    assert_eq!(work.movement.as_deref(), Some("andante con moto"));
    let plain = parse_title("Harbour Serenade - Lantern Song");
    assert!(
        plain.work.as_ref().is_none_or(|w| w.movement.is_none()),
        "{plain:?}"
    );
}

#[test]
fn a_nickname_after_the_name_of_its_set_stands_for_its_work() {
    let artists = vec!["antonio vivaldi".to_string()];
    for title in [
        "Four Seasons - Winter",
        "The Four Seasons: Winter",
        "Le quattro stagioni - Winter",
        "Winter (The Four Seasons)",
        "Winter - Four Seasons",
        "Winter",
    ] {
        assert_eq!(
            nickname_title(&parse_title(title), &artists).as_deref(),
            Some("Violin Concerto in F minor, Op. 8 No. 4, RV 297"),
            "{title}"
        );
    }
    // Another composer's set, or a set name alone, stands for nothing.
    let other = vec!["anselm trevane".to_string()];
    assert_eq!(
        nickname_title(&parse_title("Four Seasons - Winter"), &other),
        None
    );
    assert_eq!(nickname_title(&parse_title("Four Seasons"), &artists), None);
}

#[test]
fn movement_labels_before_a_numeral_and_more_catalogues() {
    // "Mvt. I" without a colon: the label is no part of the work.
    let parsed = parse_title("Quince Suite No. 4, Mvt. I");
    let work = parsed.work.as_deref().expect("a work");
    assert_eq!(work.movement_number, Some(1));
    assert_eq!(work.numbered.as_deref(), Some("quince suite no 4"));
    let parsed = parse_title("Quince Suite No. 4, Movement III");
    assert_eq!(parsed.work.and_then(|w| w.movement_number), Some(3));
    // Ravel's, Purcell's and Wagner's catalogues beside a title.
    let parsed = parse_title("Nuit de verre, M. 12");
    assert_eq!(
        parsed.work.as_deref().map(|w| w.catalogue.clone()),
        Some(vec![("m", 12)])
    );
    assert!(parsed.alternates().contains(&"nuit de verre".to_string()));
    assert_eq!(
        parse_title("Quince Fanfare, Z. 860")
            .work
            .map(|w| w.catalogue_keys),
        Some(vec!["z 860".to_string()])
    );
    assert_eq!(
        parse_title("Lampblack, WWV 86B: Act III")
            .work
            .map(|w| w.catalogue_keys),
        Some(vec!["wwv 86".to_string()])
    );
    // Glued to a number, a lone "M" or "Z" is a model's name, no catalogue.
    assert!(parse_title("Gorsefield M3").work.is_none());
}

#[test]
fn works_known_by_an_english_name_and_a_generational_numeral() {
    let title = |raw: &str, artist: &str| nickname_title(&parse_title(raw), &[artist.to_string()]);
    for raw in ["The Blue Danube", "Blue Danube Waltz"] {
        assert_eq!(
            title(raw, "johann strauss ii").as_deref(),
            Some("An der schönen blauen Donau, Op. 314"),
            "{raw}"
        );
    }
    assert_eq!(
        title("Ride of the Valkyries", "richard wagner").as_deref(),
        Some("Die Walküre, WWV 86B: Walkürenritt")
    );
    // Another composer's "Blue Danube" is not the waltz.
    assert_eq!(title("The Blue Danube", "anselm trevane"), None);
    assert!(is_generic_piece_word("allegro") && is_generic_piece_word("air"));
    assert!(!is_generic_piece_word("lampblack"));
}

#[test]
fn koechel_numbers_of_the_sixth_edition_are_the_first_editions() {
    let keys = |raw: &str| parse_title(raw).work.map(|w| w.catalogue_keys);
    let first = Some(vec!["k 331".to_string()]);
    for raw in [
        "Lampblack Sonata in A major, K. 331: III. Allegretto",
        "Lampblack Sonata in A major, K. 300i: III. Allegretto",
        "Lampblack Sonata in A major, KV 300i: III. Allegretto",
        "Lampblack Sonata in A major, K.331/300i: III. Allegretto",
        "Lampblack Sonata, KV300i",
    ] {
        assert_eq!(keys(raw), first, "{raw}");
    }
    // Two letters after the number ("173dB") are one entry of the table too.
    assert_eq!(
        keys("Quince Symphony in G minor, K. 173dB"),
        Some(vec!["k 183".to_string()])
    );
    // A number the sixth edition did not give is read as written; other catalogues keep
    // their letters' numbers.
    assert_eq!(
        keys("Lampblack Sonata, K. 300"),
        Some(vec!["k 300".to_string()])
    );
    assert_eq!(
        keys("Lampblack Sonata, BWV 300i"),
        Some(vec!["bwv 300".to_string()])
    );
}

#[test]
fn works_known_by_an_english_name_no_catalogue_title_carries() {
    let title = |raw: &str, artist: &str| nickname_title(&parse_title(raw), &[artist.to_string()]);
    for (raw, artist, expected) in [
        (
            "Spring Song",
            "felix mendelssohn",
            "Lieder ohne Worte, Op. 62 No. 6 in A major",
        ),
        (
            "Land of Hope and Glory",
            "edward elgar",
            "Pomp and Circumstance March No. 1 in D major, Op. 39 No. 1",
        ),
        (
            "The Swan",
            "camille saint saens",
            "Le carnaval des animaux: XIII. Le cygne",
        ),
        (
            "Elvira Madigan",
            "mozart",
            "Piano Concerto No. 21 in C major, K. 467: II. Andante",
        ),
        (
            "Can-Can",
            "jacques offenbach",
            "Orphée aux enfers: Galop infernal",
        ),
        (
            "Black Key Etude",
            "chopin",
            "Étude in G-flat major, Op. 10 No. 5",
        ),
        ("Largo", "handel", "Serse, HWV 40: Ombra mai fù"),
    ] {
        assert_eq!(title(raw, artist).as_deref(), Some(expected), "{raw}");
    }
    // Under another composer the name is no nickname ("Largo" and "The Swan" are common
    // titles).
    assert_eq!(title("Largo", "anselm trevane"), None);
    assert_eq!(title("The Swan", "anselm trevane"), None);
    assert_eq!(title("Spring Song", "bramble finch"), None);
}
