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
