//! `cachearr match FILE`: match a playlist file against a library index — a local one
//! (a snapshot or the simulator's library) or a running gateway's (`--gateway`, through
//! `POST /api/match`, which `cachearr playlist sync` uses too).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use cachearr_copy::upstream_index::matching::{
    MatchAnswer, MatchEntry, MatchSummary, USER_TOKEN_HEADER,
};
use cachearr_library::playlist::{PlaylistFormat, read_playlist};
use cachearr_library::{Band, MatchOutcome, MatchStore, Matcher, MatcherConfig, TrackQuery};

use super::admin::AdminTarget;
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

The library is a snapshot (--index, from `cachearr index build`), the simulator's synthetic
library (--sim-tracks N --sim-seed S), or a running gateway's index of a real server
(--gateway [ADMIN_URL], default CACHEARR_ADMIN_URL or http://127.0.0.1:8485): the file is sent
to its POST /api/match, which answers from the index it keeps (no request to the server) and
remembers accepted matches. With --user TOKEN only that user's sections are matched.";

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
    #[command(flatten)]
    gateway: GatewayMatch,
    /// Print JSON (one object per entry plus a summary) instead of text.
    #[arg(long)]
    json: bool,
}

/// Matching with a running gateway's index (shared with `cachearr playlist sync`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct GatewayMatch {
    /// Match with a running gateway's index (its admin URL; without a value the address
    /// `cachearr stats` uses: CACHEARR_ADMIN_URL, else http://127.0.0.1:8485).
    #[arg(
        long,
        value_name = "ADMIN_URL",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["index", "sim_tracks", "sections", "store"]
    )]
    gateway: Option<String>,
    /// The upstream whose index to use (needed when the gateway has several).
    #[arg(long, value_name = "NAME", requires = "gateway")]
    upstream: Option<String>,
    /// A media-server user token: match only against the sections this user may see.
    /// Without it the gateway's admin token is used and every section is matched.
    #[arg(long, value_name = "TOKEN", requires = "gateway")]
    user: Option<String>,
    /// The gateway's admin token (needed without --user when the gateway has one).
    #[arg(long, env = "CACHEARR_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// The admin URL `--gateway` names (empty: the usual address).
pub(crate) fn admin_url(given: &str) -> String {
    if given.is_empty() {
        std::env::var("CACHEARR_ADMIN_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "http://127.0.0.1:8485".to_string())
    } else {
        given.to_string()
    }
}

/// Sends the playlist file to the gateway's `POST /api/match`. A 503 (index not built yet)
/// is retried every 2 s for up to `wait`.
#[allow(
    clippy::disallowed_methods,
    reason = "a command's wait on a running server and its timing are real time"
)]
pub(crate) async fn match_via_gateway(
    admin_url: &str,
    admin_token: Option<&str>,
    upstream: Option<&str>,
    user: Option<&str>,
    file: &Path,
    wait: Duration,
) -> anyhow::Result<MatchAnswer> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the playlist {}", file.display()))?;
    let format = PlaylistFormat::from_path(file).unwrap_or_else(|| PlaylistFormat::sniff(&text));
    let format = match format {
        PlaylistFormat::Csv => "csv",
        PlaylistFormat::Json => "json",
        PlaylistFormat::M3u => "m3u",
    };
    let target = AdminTarget {
        admin_url: admin_url.to_string(),
        admin_token: admin_token.map(str::to_string),
    };
    let client = AdminTarget::client()?;
    let mut query = vec![("format", format)];
    if let Some(upstream) = upstream {
        query.push(("upstream", upstream));
    }
    let deadline = Instant::now() + wait;
    loop {
        let mut request = client
            .post(target.url("/api/match"))
            .query(&query)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.clone());
        if let Some(user) = user {
            request = request.header(USER_TOKEN_HEADER, user);
        }
        match target.send(request).await {
            Ok(response) => {
                return response
                    .json::<MatchAnswer>()
                    .await
                    .context("the gateway answered something that is not a match answer");
            }
            Err(err) if not_ready(&err) && Instant::now() < deadline => {
                tracing::info!("{err:#}; waiting for the index");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Whether the gateway said the index is not ready yet: its error kind `not_ready`, or, from
/// a gateway that gives no kind, a 503.
fn not_ready(err: &anyhow::Error) -> bool {
    err.downcast_ref::<super::admin::AdminApiError>()
        .is_some_and(|e| match e.kind.as_deref() {
            Some(kind) => kind == "not_ready",
            None => e.status == reqwest::StatusCode::SERVICE_UNAVAILABLE,
        })
}

fn describe(query: &TrackQuery) -> String {
    match query.artist.is_empty() {
        true => query.title.clone(),
        false => format!("{} – {}", query.artist, query.title),
    }
}

/// One line for the best item of an entry: `[id] Artist – Title (Album) (0.97, exact_key)`.
pub(crate) fn describe_best(entry: &MatchEntry) -> String {
    match &entry.best {
        Some(best) => format!(
            "[{}] {} – {}{} ({:.2}, {})",
            best.id,
            best.artists.join(", "),
            best.title,
            best.album
                .as_deref()
                .map(|album| format!(" ({album})"))
                .unwrap_or_default(),
            best.score,
            serde_json::to_value(entry.method)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ),
        None => "no match".to_string(),
    }
}

/// The text report of `cachearr match`: one line per entry (and its runner-up when not
/// accepted), then the counts.
fn print_answer(answer: &MatchAnswer) {
    for entry in &answer.entries {
        let band = match entry.band {
            Band::Accept => "ACCEPT",
            Band::Review => "REVIEW",
            Band::Reject => "REJECT",
        };
        println!(
            "{band}  {}  →  {}",
            describe(&entry.query),
            describe_best(entry)
        );
        if entry.band != Band::Accept
            && let Some(runner) = &entry.runner_up
        {
            println!(
                "        runner-up: [{}] {} – {} ({:.2})",
                runner.id,
                runner.artists.join(", "),
                runner.title,
                runner.score
            );
        }
    }
    let s = &answer.summary;
    let from = if answer.upstream.is_empty() {
        String::new()
    } else {
        format!(
            " with gateway index of {} ({} scope, {} remembered)",
            answer.upstream, answer.scope, s.remembered
        )
    };
    println!(
        "{} entries: {} accepted, {} to review, {} rejected ({:.3} s){from}",
        s.entries, s.accepted, s.review, s.rejected, s.seconds
    );
}

/// Runs `cachearr match`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let answer = match &args.gateway.gateway {
        Some(url) => {
            match_via_gateway(
                &admin_url(url),
                args.gateway.admin_token.as_deref(),
                args.gateway.upstream.as_deref(),
                args.gateway.user.as_deref(),
                &args.file,
                Duration::ZERO,
            )
            .await?
        }
        None => match_locally(&args)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print_answer(&answer);
    }
    Ok(())
}

#[allow(
    clippy::disallowed_methods,
    reason = "a command's wait on a running server and its timing are real time"
)]
fn match_locally(args: &Args) -> anyhow::Result<MatchAnswer> {
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
    let entries: Vec<MatchEntry> = queries
        .iter()
        .zip(&outcomes)
        .map(|(query, outcome)| MatchEntry::of(&index, query, outcome))
        .collect();
    let summary = MatchSummary::count(&entries, elapsed.as_secs_f64(), 0);
    Ok(MatchAnswer {
        scope: if args.sections.is_some() {
            "sections".to_string()
        } else {
            "everything".to_string()
        },
        sections: args.sections.clone(),
        index_items: index.len(),
        entries,
        summary,
        ..MatchAnswer::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::admin::AdminApiError;

    #[test]
    fn waits_only_while_the_gateway_says_not_ready() {
        let answer = |status, body: &str| -> anyhow::Error {
            anyhow::Error::from(AdminApiError::from_answer(status, body)).context("matching")
        };
        let unavailable = reqwest::StatusCode::SERVICE_UNAVAILABLE;
        assert!(not_ready(&answer(
            unavailable,
            r#"{"error": "x", "kind": "not_ready"}"#
        )));
        assert!(
            not_ready(&answer(unavailable, r#"{"error": "x"}"#)),
            "an older gateway"
        );
        assert!(!not_ready(&answer(
            unavailable,
            r#"{"error": "x", "kind": "upstream_unavailable"}"#
        )));
        assert!(!not_ready(&answer(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"error": "503 in the text"}"#
        )));
        assert!(!not_ready(&anyhow::anyhow!("answered 503")));
    }
}
