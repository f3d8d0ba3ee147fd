//! Precision and recall of the matcher on the real-world evaluation set (`eval/`), per part
//! (`dev`, `held-out`) and per failure class, as Markdown tables (or JSON with `--json`).
//!
//! ```sh
//! cargo run -p cachearr-library --example eval_report                 # both parts
//! cargo run -p cachearr-library --example eval_report -- --failures   # and dev's failures
//! cargo run -p cachearr-library --example eval_report -- --json
//! ```
//!
//! Failures are only ever listed for the development part: the held-out part is measured, not
//! looked into.

use std::path::Path;

use cachearr_library::evaluation::{self, EvalSet};
use cachearr_library::{LibraryIndex, Matcher, MatcherConfig, TrackQuery, Visibility};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let failures = args.iter().any(|a| a == "--failures");
    if let Some(unknown) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--json" | "--failures"))
    {
        return Err(format!("unknown argument {unknown}; use --json and/or --failures").into());
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let set = EvalSet::load(&dir)?;
    let records = set.records();
    let index = LibraryIndex::build(&records)?;
    let matcher = Matcher::new(&index, &Visibility::everything(), MatcherConfig::default());
    let queries: Vec<TrackQuery> = set.queries.iter().map(|q| q.query()).collect();
    let outcomes = matcher.match_all(&queries, &|_| {});
    let show: &[&str] = if failures { &["dev"] } else { &[] };
    let (parts, failed) = evaluation::report(&set, &queries, &outcomes, show);
    if json {
        let value = serde_json::json!({ "parts": parts, "failures": failed });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "{} library tracks, {} queries\n",
        set.library.len(),
        set.queries.len()
    );
    for (name, part) in &parts {
        println!("## {name}\n");
        println!(
            "{}",
            evaluation::markdown_table(&part.classes, &part.overall, "class")
        );
        println!(
            "{}",
            evaluation::markdown_table(&part.sources, &part.overall, "source")
        );
    }
    for failure in &failed {
        let best = failure
            .outcome
            .best
            .as_ref()
            .map(|b| format!("{} {:?} – {:?} ({:.3})", b.id, b.artist, b.title, b.score));
        let runner = failure
            .outcome
            .runner_up
            .as_ref()
            .map(|b| format!("{} {:?} – {:?} ({:.3})", b.id, b.artist, b.title, b.score));
        println!(
            "{:?} {} [{}] {:?} – {:?} (album {:?}, {:?} ms) expected {:?} → {:?} {:?}; runner-up {:?}",
            failure.verdict,
            failure.id,
            failure.class,
            failure.query.artist,
            failure.query.title,
            failure.query.album,
            failure.query.duration_ms,
            failure.expected,
            failure.outcome.band,
            best,
            runner,
        );
    }
    Ok(())
}
