//! The real-world evaluation set (`eval/`): its shape (sizes, traps, the split keeping each
//! recording on one side, every expected id in the library) and the matcher's precision and
//! recall on it. `examples/eval_report.rs` prints the per-class tables.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use cachearr_library::evaluation::EvalSet;

fn load() -> EvalSet {
    EvalSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("eval"))
        .expect("the evaluation set is in the repository")
}

#[test]
fn the_set_is_large_varied_and_split_by_recording() {
    let set = load();
    assert!(set.queries.len() >= 2_000, "{} queries", set.queries.len());
    let recordings: HashSet<&str> = set
        .queries
        .iter()
        .filter(|q| q.is_positive())
        .map(|q| q.recording.as_str())
        .collect();
    assert!(recordings.len() >= 500, "{} recordings", recordings.len());
    let traps = set.queries.iter().filter(|q| !q.is_positive()).count();
    assert!(
        traps * 4 >= set.queries.len(),
        "{traps} traps of {}",
        set.queries.len()
    );
    let ids: HashSet<&str> = set.library.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), set.library.len(), "library ids are unique");
    let mut part_of: HashMap<&str, &str> = HashMap::new();
    for query in &set.queries {
        for id in &query.expected {
            assert!(
                ids.contains(id.as_str()),
                "{}: {id} is in the library",
                query.id
            );
        }
        assert!(matches!(query.part.as_str(), "dev" | "held-out"));
        let part = part_of.entry(&query.recording).or_insert(&query.part);
        assert_eq!(*part, query.part, "{} stays on one side", query.recording);
        assert!(
            query.m3u.is_some() || query.title.is_some(),
            "{} has a title",
            query.id
        );
    }
    let held_out = set.queries.iter().filter(|q| q.part == "held-out").count();
    assert!((held_out * 100 / set.queries.len()).abs_diff(30) <= 5);
    for script in [
        |c: char| ('\u{0400}'..='\u{04FF}').contains(&c),
        |c: char| ('\u{AC00}'..='\u{D7AF}').contains(&c),
        |c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c),
        |c: char| ('\u{00C0}'..='\u{017F}').contains(&c),
    ] {
        assert!(
            set.library
                .iter()
                .filter(|t| t.title.chars().any(script))
                .count()
                >= 5,
            "titles in each script"
        );
    }
}

/// The development part is what the matcher is tuned on: its precision must stay at the
/// target and its recall must not fall back. The held-out part is measured by
/// `examples/eval_report.rs`, not asserted here (a test that fails on it would invite tuning
/// on it).
#[test]
fn the_development_part_keeps_its_precision_and_recall() {
    use cachearr_library::MatcherConfig;
    use cachearr_library::evaluation::{self, GENERATED_DEV};
    let mut set = load();
    for query in &mut set.queries {
        query.part = format!("generated {}", query.part);
    }
    let (queries, outcomes) = set
        .run(MatcherConfig::default())
        .expect("the library builds");
    let mut parts = std::collections::BTreeMap::new();
    let failures = evaluation::report(&set, &queries, &outcomes, &[GENERATED_DEV], &mut parts);
    let dev = &parts[GENERATED_DEV].overall;
    let wrong: Vec<&str> = failures
        .iter()
        .filter(|f| f.verdict == evaluation::Verdict::Wrong)
        .map(|f| f.id.as_str())
        .collect();
    assert!(
        dev.precision() >= 0.995,
        "precision {dev:?}, wrong {wrong:?}"
    );
    // A guest the generated library leaves out of its credits ("Rihanna feat. Drake" for
    // "Rihanna") and an artist named in another script that is no reading of the library's
    // name ("방탄소년단" for "BTS") are something the query says and the library does not:
    // offered for review, not accepted, unless a table of well-known acts, or the title, the
    // album and the length together, vouch for the name. Such entries stay found.
    let recall = dev.accepted_recall().expect("the part has positives");
    assert!(recall >= 0.945, "recall {recall:.4}");
    let found = dev.found_recall().expect("the part has positives");
    assert!(found >= 0.995, "found recall {found:.4}");
    // Traps of another version kind are never accepted.
    let versions = &parts[GENERATED_DEV].classes["other-version"];
    assert_eq!(versions.accepted, 0, "{versions:?}");
}

/// The hand-written parts (`eval/handwritten/{tune,held-out,held-out-2}/`): entries written
/// one by one from real exports, ids prefixed "w" (tune), "h" (held-out) or "k" (held-out 2)
/// so they never meet the generated set's or each other's, a quarter of them traps or more
/// (the second held-out part, written to measure recall on what exports and logs write, a
/// tenth, in at least three classes), every expected id in their own library, several
/// classes of each kind. A part whose files are not there yet is skipped. Messages give
/// counts only: a held-out part is not looked into.
#[test]
fn the_handwritten_parts_are_well_formed() {
    use cachearr_library::evaluation::{self, HANDWRITTEN_HELD_OUT_2, HANDWRITTEN_TUNE};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    for dir in evaluation::parts(&root)
        .into_iter()
        .filter(|d| d.part.is_some())
    {
        if !dir.exists() {
            assert_ne!(
                dir.part,
                Some(HANDWRITTEN_TUNE),
                "the tune part is in the repository"
            );
            continue;
        }
        let part = dir.part.unwrap_or_default();
        let prefix = match part {
            HANDWRITTEN_TUNE => "w",
            HANDWRITTEN_HELD_OUT_2 => "k",
            _ => "h",
        };
        // The recall part holds fewer traps: its classes are ways of writing a right answer.
        let (trap_share, trap_classes) = if part == HANDWRITTEN_HELD_OUT_2 {
            (10, 3)
        } else {
            (4, 5)
        };
        let set = dir.load().expect("a hand-written part loads");
        assert!(
            set.queries.len() >= 150,
            "{part}: {} queries",
            set.queries.len()
        );
        let ids: HashSet<&str> = set.library.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids.len(),
            set.library.len(),
            "{part}: library ids are unique"
        );
        let unprefixed = set
            .library
            .iter()
            .filter(|t| !t.id.starts_with(prefix))
            .count()
            + set
                .queries
                .iter()
                .filter(|q| !q.id.starts_with(prefix))
                .count();
        assert_eq!(unprefixed, 0, "{part}: ids without the prefix {prefix:?}");
        let unknown = set
            .queries
            .iter()
            .flat_map(|q| &q.expected)
            .filter(|id| !ids.contains(id.as_str()))
            .count();
        assert_eq!(unknown, 0, "{part}: expected ids not in the library");
        let untitled = set
            .queries
            .iter()
            .filter(|q| q.m3u.is_none() && q.title.is_none())
            .count();
        assert_eq!(untitled, 0, "{part}: entries without a title");
        let traps = set.queries.iter().filter(|q| !q.is_positive()).count();
        assert!(
            traps * trap_share >= set.queries.len(),
            "{part}: {traps} traps of {}",
            set.queries.len()
        );
        let classes = |positive: bool| {
            set.queries
                .iter()
                .filter(|q| q.is_positive() == positive)
                .map(|q| q.class.as_str())
                .collect::<HashSet<&str>>()
                .len()
        };
        assert!(
            classes(true) >= 8,
            "{part}: {} positive classes",
            classes(true)
        );
        assert!(
            classes(false) >= trap_classes,
            "{part}: {} trap classes",
            classes(false)
        );
    }
}

/// The hand-written tune part is tuned on: its figures must not fall back below where this
/// round left them (precision 100 %, accepted recall 91.6 %, found recall 99.7 %, with the
/// entries of the same recording on another album — a compilation or a soundtrack named by
/// its film alone, a live album named otherwise than live — among them). A guest the
/// library does not credit, an artist named in another script that is no reading of the
/// library's name and an album that names another release go to review, not to accept; what
/// the library's own credits, readings and edit words make known is accepted.
/// The held-out hand-written part's targets (precision ≥ 99.5 %, found ≥ 98 %, accepted
/// ≥ 90 %) are measured by `examples/eval_report.rs`, not asserted.
#[test]
fn the_handwritten_tune_part_keeps_its_figures() {
    use cachearr_library::MatcherConfig;
    use cachearr_library::evaluation::{self, HANDWRITTEN_TUNE};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let dir = evaluation::parts(&root)
        .into_iter()
        .find(|dir| dir.part == Some(HANDWRITTEN_TUNE))
        .expect("the tune part is listed");
    let set = dir.load().expect("the tune part loads");
    let (queries, outcomes) = set
        .run(MatcherConfig::default())
        .expect("its library builds");
    let mut parts = std::collections::BTreeMap::new();
    let failures = evaluation::report(&set, &queries, &outcomes, &[HANDWRITTEN_TUNE], &mut parts);
    let tune = &parts[HANDWRITTEN_TUNE].overall;
    let wrong: Vec<&str> = failures
        .iter()
        .filter(|f| f.verdict == evaluation::Verdict::Wrong)
        .map(|f| f.id.as_str())
        .collect();
    assert!(tune.precision() >= 0.995, "{tune:?}, wrong {wrong:?}");
    let accepted = tune.accepted_recall().expect("the part has positives");
    let found = tune.found_recall().expect("the part has positives");
    assert!(accepted >= 0.915, "accepted recall {accepted:.4}");
    assert!(found >= 0.995, "found recall {found:.4}");
    // No trap of a re-recording, a year, a take, a derivative, a cover or remix with a guest
    // or a live album is accepted: the words that say so are never passed over, and an album
    // that names another release is never taken for the candidate's.
    for class in [
        "re-recording",
        "year-suffix",
        "alt-take",
        "derivative",
        "cover-with-guest",
        "remix-feat",
        "live-album",
    ] {
        let tally = &parts[HANDWRITTEN_TUNE].classes[class];
        assert_eq!(tally.accepted, 0, "{class}: {tally:?}");
    }
}

/// The names and wording the matcher's unit tests invent for the rule that unknown wording
/// goes to review (`matcher/claims.rs`) must be in no evaluation set, held-out parts
/// included: a rule that holds on them holds for words never seen. Only a count is given.
#[test]
fn the_unit_tests_invented_names_are_in_no_evaluation_set() {
    use cachearr_library::evaluation;
    const INVENTED: [&str; 31] = [
        "corvid almanac",
        "lantern ferry",
        "copperplate",
        "belljar",
        "moth choir",
        "dovetail",
        "orrery",
        "saltbox",
        "lighthouse rehearsal",
        "quillwork",
        "wintergreen",
        "pumice",
        "pell marrow",
        "northern quays",
        "velvet harbor",
        "dune parade",
        "푸른고래",
        "초승달",
        "anselm trevane",
        "suite lunaire",
        "nuit de verre",
        "quince suite",
        "brineworks",
        "bramble finch",
        "tidewrack",
        "lampblack",
        "fenwhistle",
        "gorsefield",
        "saltmarsh hours",
        "stone harbour",
        "quillmanin",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let mut found = 0usize;
    for dir in evaluation::parts(&root).into_iter().filter(|d| d.exists()) {
        let set = dir.load().expect("a part loads");
        let texts = set
            .queries
            .iter()
            .flat_map(|q| [&q.artist, &q.title, &q.album, &q.m3u])
            .flatten()
            .chain(set.library.iter().flat_map(|t| {
                [Some(&t.title), t.album.as_ref(), t.album_artist.as_ref()]
                    .into_iter()
                    .flatten()
                    .chain(&t.artists)
            }));
        found += texts
            .filter(|text| {
                let text = text.to_lowercase();
                INVENTED.iter().any(|word| text.contains(word))
            })
            .count();
    }
    assert_eq!(found, 0, "texts holding an invented name");
}
