//! Precision, accepted recall and found recall of the matcher on the evaluation sets (`eval/`),
//! per part and per failure class, as Markdown tables (or JSON with `--json`).
//!
//! ```sh
//! cargo run -p cachearr-library --example eval_report                 # every part
//! cargo run -p cachearr-library --example eval_report -- --failures   # and tuned parts' failures
//! cargo run -p cachearr-library --example eval_report -- --json
//! ```
//!
//! The parts: the generated set's `dev` and `held-out`, the hand-written tune part and the
//! hand-written held-out part (left out while its files are not there). Failures are listed for
//! the generated dev part and the hand-written tune part only: a held-out part is measured, not
//! looked into.

use std::collections::BTreeMap;
use std::path::Path;

use cachearr_library::MatcherConfig;
use cachearr_library::evaluation::{self, GENERATED_DEV, HANDWRITTEN_TUNE, PartReport, Tally};

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval");
    let show: &[&str] = if failures {
        &[GENERATED_DEV, HANDWRITTEN_TUNE]
    } else {
        &[]
    };
    let mut parts: BTreeMap<String, PartReport> = BTreeMap::new();
    let mut failed = Vec::new();
    let mut sizes = Vec::new();
    for dir in evaluation::parts(&root) {
        if !dir.exists() {
            sizes.push(format!("{}: not there", dir.dir.display()));
            continue;
        }
        let set = dir.load()?;
        let (queries, outcomes) = set.run(MatcherConfig::default())?;
        failed.extend(evaluation::report(
            &set, &queries, &outcomes, show, &mut parts,
        ));
        sizes.push(format!(
            "{}: {} library tracks, {} queries",
            dir.dir.strip_prefix(&root).map_or_else(
                |_| dir.dir.display().to_string(),
                |p| { format!("eval/{}", p.display()) }
            ),
            set.library.len(),
            set.queries.len()
        ));
    }
    if json {
        let value = serde_json::json!({ "parts": parts, "failures": failed });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    for line in &sizes {
        println!("{line}");
    }
    println!();
    let totals: BTreeMap<String, Tally> = parts
        .iter()
        .map(|(name, part)| (name.clone(), part.overall))
        .collect();
    let all = totals.values().fold(Tally::default(), |mut sum, t| {
        sum.queries += t.queries;
        sum.positives += t.positives;
        sum.accepted += t.accepted;
        sum.correct += t.correct;
        sum.found += t.found;
        sum
    });
    println!("{}", evaluation::markdown_table(&totals, &all, "part"));
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
    let show = |c: &cachearr_library::matcher::Candidate| {
        format!("{} {:?} – {:?} ({:.3})", c.id, c.artist, c.title, c.score)
    };
    for failure in &failed {
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
            failure.outcome.best.as_ref().map(show),
            failure.outcome.runner_up.as_ref().map(show),
        );
    }
    Ok(())
}
