//! Matching quality on the evaluation set (`tests/data/eval-set.json`, made by
//! `examples/gen_eval_set.rs` from the simulator's library): precision ≥ 99.5 %,
//! recall ≥ 98 %, and no version ever matched to its original or the reverse (nor to
//! another kind of version).
//!
//! precision = accepted matches that are right / all accepted matches (positives and
//! negatives); recall = positives accepted with a right answer / all positives. A `review`
//! band counts as not accepted.

use std::collections::HashSet;

use cachearr_library::{
    ItemKind, LibraryIndex, Matcher, MatcherConfig, TrackQuery, Visibility, normalize, sim,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct EvalQuery {
    kind: String,
    source_id: String,
    #[serde(default)]
    perturbations: Vec<String>,
    artist: String,
    title: String,
    album: Option<String>,
    duration_ms: Option<u32>,
    musicbrainz_id: Option<String>,
    expected: Vec<String>,
}

#[derive(Deserialize)]
struct EvalSet {
    sim_seed: u64,
    sim_tracks: u32,
    visible_sections: Vec<String>,
    held_out: Vec<String>,
    queries: Vec<EvalQuery>,
}

#[test]
fn precision_and_recall_meet_the_targets() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/eval-set.json"
    ))
    .expect("the evaluation set is in the repository");
    let set: EvalSet = serde_json::from_str(&text).expect("valid evaluation set");
    assert!(set.queries.len() >= 500, "at least 500 queries");

    let held_out: HashSet<&str> = set.held_out.iter().map(String::as_str).collect();
    let library = sim::music_library(set.sim_tracks, set.sim_seed);
    let records: Vec<_> = sim::records(&library)
        .filter(|record| !held_out.contains(record.id.as_str()))
        .collect();
    let index = LibraryIndex::build(&records).unwrap();
    // The set must still describe this library: every expected id exists.
    let all = Visibility::everything();
    for query in &set.queries {
        for id in &query.expected {
            let view = index
                .by_id(id, &all)
                .unwrap_or_else(|| panic!("expected id {id} exists"));
            assert_eq!(view.kind(), ItemKind::Track);
        }
    }

    let visibility = Visibility::sections(set.visible_sections.clone());
    let matcher = Matcher::new(&index, &visibility, MatcherConfig::default());
    let queries: Vec<TrackQuery> = set
        .queries
        .iter()
        .map(|q| TrackQuery {
            artist: q.artist.clone(),
            title: q.title.clone(),
            album: q.album.clone(),
            duration_ms: q.duration_ms,
            isrc: None,
            musicbrainz_id: q.musicbrainz_id.clone(),
        })
        .collect();
    let outcomes = matcher.match_all(&queries, &|_| {});

    let (mut accepted, mut correct, mut positives, mut found) = (0usize, 0usize, 0usize, 0usize);
    let mut version_confusions = 0usize;
    let mut failures: Vec<String> = Vec::new();
    for (query, outcome) in set.queries.iter().zip(&outcomes) {
        let is_positive = query.kind == "positive";
        positives += usize::from(is_positive);
        let Some(id) = outcome.accepted_id() else {
            if is_positive {
                failures.push(format!(
                    "MISSED {} {:?} – {:?} ({:?}, album {:?}, {:?} ms) → {:?} {:?}; runner-up {:?}",
                    query.source_id,
                    query.artist,
                    query.title,
                    query.perturbations,
                    query.album,
                    query.duration_ms,
                    outcome.band,
                    outcome.best.as_ref().map(|b| (&b.id, &b.title, b.score)),
                    outcome
                        .runner_up
                        .as_ref()
                        .map(|b| (&b.id, &b.title, &b.album, b.score))
                ));
            }
            continue;
        };
        accepted += 1;
        if query.expected.iter().any(|expected| expected == id) {
            correct += 1;
            found += usize::from(is_positive);
        } else {
            // A confusion is another *kind* of recording (live for studio, remix for live);
            // another performance of the same kind ("Live at Paléo" for "(Live)") is a wrong
            // answer the precision counts, not a confusion of kinds.
            let accepted_kind = outcome
                .best
                .as_ref()
                .map(|best| normalize::parse_title(&best.title).version);
            let asked_kind = normalize::parse_title(&query.title).version;
            version_confusions +=
                usize::from(query.kind == "version-negative" && accepted_kind != Some(asked_kind));
            failures.push(format!(
                "WRONG {} {} {:?} – {:?} ({:?}) → {} {:?}",
                query.kind,
                query.source_id,
                query.artist,
                query.title,
                query.perturbations,
                id,
                outcome
                    .best
                    .as_ref()
                    .map(|b| (&b.title, &b.artist, b.score))
            ));
        }
    }
    let precision = correct as f64 / accepted.max(1) as f64;
    let recall = found as f64 / positives.max(1) as f64;
    println!(
        "evaluation: {} queries, {positives} positive; accepted {accepted}, correct {correct}; \
         precision {:.2} %, recall {:.2} %",
        set.queries.len(),
        precision * 100.0,
        recall * 100.0
    );
    for failure in &failures {
        println!("  {failure}");
    }
    assert_eq!(
        version_confusions, 0,
        "a version matched its original or the reverse"
    );
    assert!(
        precision >= 0.995,
        "precision {:.3} below 99.5 %",
        precision * 100.0
    );
    assert!(recall >= 0.98, "recall {:.3} below 98 %", recall * 100.0);
}
