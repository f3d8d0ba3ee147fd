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
    use cachearr_library::evaluation;
    use cachearr_library::{LibraryIndex, Matcher, MatcherConfig, TrackQuery, Visibility};
    let set = load();
    let index = LibraryIndex::build(&set.records()).expect("the library builds");
    let matcher = Matcher::new(&index, &Visibility::everything(), MatcherConfig::default());
    let queries: Vec<TrackQuery> = set.queries.iter().map(|q| q.query()).collect();
    let outcomes = matcher.match_all(&queries, &|_| {});
    let (parts, failures) = evaluation::report(&set, &queries, &outcomes, &["dev"]);
    let dev = &parts["dev"].overall;
    let wrong: Vec<&str> = failures
        .iter()
        .filter(|f| f.verdict == evaluation::Verdict::Wrong)
        .map(|f| f.id.as_str())
        .collect();
    assert!(
        dev.precision() >= 0.995,
        "precision {dev:?}, wrong {wrong:?}"
    );
    let recall = dev.recall().expect("the part has positives");
    assert!(recall >= 0.985, "recall {recall:.4}");
    // Traps of another version kind are never accepted.
    let versions = &parts["dev"].classes["other-version"];
    assert_eq!(versions.accepted, 0, "{versions:?}");
}
