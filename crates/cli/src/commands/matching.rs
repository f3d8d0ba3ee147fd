//! `cachearr match FILE`: match a playlist file against a library index.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use cachearr_library::playlist::read_playlist;
use cachearr_library::{Band, MatchOutcome, MatchStore, Matcher, MatcherConfig, TrackQuery};

use super::index::{IndexSource, progress_bar, visibility};

/// What `cachearr match --help` explains.
pub(crate) const LONG_ABOUT: &str = "\
Match a playlist file against a library index.

For each entry of FILE: the best library track, its score, a band (accept / review / reject)
and the runner-up. Evidence in order: MusicBrainz id or ISRC, then normalised exact keys
(title, version, artist), then fuzzy candidates scored on title, artist, album and duration.
A live, remix, acoustic, instrumental, demo or karaoke version never matches the original,
nor the original a version.

FILE is CSV with a header row (artist, title, album, duration_ms or duration, isrc, mbid;
Exportify's column names work), JSON (an array of objects with those keys) or M3U/EXTM3U
(#EXTINF:seconds,Artist - Title).

The library is a snapshot (--index, from `cachearr index build`) or, until the gateway's crawl
of real servers exists, the simulator's synthetic library (--sim-tracks N --sim-seed S).";

/// Arguments of `cachearr match`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The playlist file (.csv, .json, .m3u, .m3u8; other names are recognised by content).
    file: PathBuf,
    #[command(flatten)]
    source: IndexSource,
    /// Only match against these section ids (comma-separated); default: all sections.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    sections: Option<Vec<String>>,
    /// Remember accepted matches in this file and reuse them next time (dropped when the
    /// item changes or disappears).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
    /// Print JSON (one object per entry plus a summary) instead of text.
    #[arg(long)]
    json: bool,
}

fn describe(query: &TrackQuery) -> String {
    match query.artist.is_empty() {
        true => query.title.clone(),
        false => format!("{} – {}", query.artist, query.title),
    }
}

/// Runs `cachearr match`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let queries = read_playlist(&args.file)
        .with_context(|| format!("reading the playlist {}", args.file.display()))?;
    let index = args.source.load()?;
    let visibility = visibility(&args.sections);
    let matcher = Matcher::new(&index, &visibility, MatcherConfig::default());
    let mut store = match &args.store {
        Some(path) => Some(
            MatchStore::load(path)
                .with_context(|| format!("reading the match store {}", path.display()))?,
        ),
        None => None,
    };

    let bar = progress_bar(queries.len() as u64, "matching");
    let started = Instant::now();
    let progress = |done: usize| bar.set_position(done as u64);
    let outcomes: Vec<MatchOutcome> = match store.as_mut() {
        Some(store) => store.match_all(&matcher, &visibility, &queries, &progress),
        None => matcher.match_all(&queries, &progress),
    };
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    if let (Some(store), Some(path)) = (&store, &args.store) {
        store
            .save(path)
            .with_context(|| format!("writing the match store {}", path.display()))?;
    }

    let count = |band: Band| {
        outcomes
            .iter()
            .filter(|outcome| outcome.band == band)
            .count()
    };
    let (accepted, review, rejected) = (
        count(Band::Accept),
        count(Band::Review),
        count(Band::Reject),
    );
    if args.json {
        let entries: Vec<serde_json::Value> = queries
            .iter()
            .zip(&outcomes)
            .map(|(query, outcome)| {
                serde_json::json!({
                    "query": query,
                    "band": outcome.band,
                    "method": outcome.method,
                    "best": outcome.best,
                    "runner_up": outcome.runner_up,
                })
            })
            .collect();
        let value = serde_json::json!({
            "entries": entries,
            "summary": {
                "entries": queries.len(),
                "accepted": accepted,
                "review": review,
                "rejected": rejected,
                "seconds": elapsed.as_secs_f64(),
            }
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    for (query, outcome) in queries.iter().zip(&outcomes) {
        let band = match outcome.band {
            Band::Accept => "ACCEPT",
            Band::Review => "REVIEW",
            Band::Reject => "REJECT",
        };
        let best = match &outcome.best {
            Some(best) => format!(
                "[{}] {} – {}{} ({:.2}, {})",
                best.id,
                best.artist,
                best.title,
                best.album
                    .as_deref()
                    .map(|album| format!(" ({album})"))
                    .unwrap_or_default(),
                best.score,
                serde_json::to_value(outcome.method)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ),
            None => "no match".to_string(),
        };
        println!("{band}  {}  →  {best}", describe(query));
        if outcome.band != Band::Accept
            && let Some(runner) = &outcome.runner_up
        {
            println!(
                "        runner-up: [{}] {} – {} ({:.2})",
                runner.id, runner.artist, runner.title, runner.score
            );
        }
    }
    println!(
        "{} entries: {accepted} accepted, {review} to review, {rejected} rejected ({:.3} s)",
        queries.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
