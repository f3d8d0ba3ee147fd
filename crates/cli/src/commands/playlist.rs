//! `cachearr playlist sync FILE --name NAME`: match a playlist file with a running gateway's
//! index (`POST /api/match`: no search reaches the server), then create the playlist on the
//! server in one request, or bring the user's existing playlist of that name up to date with
//! the fewest writes.
//!
//! # Where the requests go
//! Reads and writes go through the gateway's **proxy listener** of the upstream, not straight
//! to the server: the gateway recognises the playlist writes and drops its cached
//! `/playlists` listings for that user, so every other client sees the new playlist at once
//! (a direct write would leave them a stale copy for up to the listing TTL), and the reads the
//! sync needs (`/identity`, `/playlists`) are served from the gateway's cache when it has them.
//!
//! # Fewest writes
//! The plan compares the playlist's current entries with the matched tracks (as multisets, so a
//! track listed twice stays twice): entries no longer wanted are removed, missing tracks are
//! added (appended), and the order is then made that of the file by moving the fewest entries
//! (all but a longest increasing subsequence). That costs, on Plex, one `DELETE` per removed
//! entry, one `PUT …/items?uri=` per 500 added and one `PUT …/move` per moved entry; when
//! clearing the playlist and adding everything again is cheaper (one `DELETE …/items` and the
//! adds) that is done instead. On Jellyfin, `POST /Playlists/{id}` with `Ids` replaces the
//! items in one request, so a change never costs more than one write: removals alone or
//! appends alone use their own one request (keeping the other entries' ids), anything else
//! the replacement.
//!
//! # Map
//! This file holds the command, the plan (fewest writes from the current entries to the wanted
//! ones) and the sync itself; `server` talks to the media server. Tests are in
//! `playlist/tests.rs`.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cachearr_copy::upstream_index::matching::{MatchAnswer, MatchEntry};
use cachearr_library::Band;
use serde::Serialize;
use serde_json::Value;

use super::matching::{admin_url, describe_best, match_via_gateway};

mod server;
use server::*;

/// Ids per Plex `uri=` (the URL stays a few KB).
const PLEX_IDS_PER_REQUEST: usize = 500;
/// Ids per Jellyfin query-string write (`?Ids=`, `?EntryIds=`): 33 bytes each, and Kestrel
/// refuses request lines past 8 KB; larger changes go in a JSON body.
const JELLYFIN_IDS_IN_QUERY: usize = 100;

/// What `cachearr playlist sync --help` explains.
pub(crate) const SYNC_ABOUT: &str = "\
Match a playlist file with a running gateway's library index, then create the playlist on the
media server or bring the existing one up to date.

Matching goes to the gateway's POST /api/match (the index it keeps of the server: no search
reaches the server). Only accepted matches go into the playlist; entries to review and missing
ones are listed. The playlist belongs to the user of --user TOKEN (a Plex or Jellyfin token,
also CACHEARR_USER_TOKEN) and only that user's sections are matched. An existing playlist of
that user with the same name is updated with the fewest writes: remove what is no longer in
the file, append what is missing, move the fewest entries to follow the file's order (or
replace the items in one request when that is fewer writes).

Reads and writes go through the gateway's proxy listener (--server URL, default: the one the
gateway reports), so the gateway sees the writes and refreshes its cached playlists.";

/// Arguments of `cachearr playlist`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Match a playlist file with the gateway's index, then create or update it on the server.
    #[command(long_about = SYNC_ABOUT)]
    Sync(SyncArgs),
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// The playlist file (.csv, .json, .m3u, .m3u8).
    file: PathBuf,
    /// The playlist's name on the server.
    #[arg(long)]
    name: String,
    /// The upstream (needed when the gateway has several).
    #[arg(long, value_name = "NAME")]
    upstream: Option<String>,
    /// The token of the user the playlist belongs to (Plex or Jellyfin).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CACHEARR_USER_TOKEN",
        hide_env_values = true
    )]
    user: Option<String>,
    /// The gateway's admin URL.
    #[arg(
        long,
        value_name = "ADMIN_URL",
        env = "CACHEARR_ADMIN_URL",
        default_value = "http://127.0.0.1:8485"
    )]
    gateway: String,
    /// The gateway's admin token (only needed without --user, for a --dry-run).
    #[arg(long, env = "CACHEARR_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The gateway's proxy listener for the upstream (default: the address the gateway
    /// reports for it).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Wait up to this many seconds for the gateway's index to be built.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Match and plan, but write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Runs `cachearr playlist …`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Sub::Sync(args) => sync(args).await,
    }
}

/// One entry of a playlist on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Plex `playlistItemID`, Jellyfin `PlaylistItemId`.
    entry: String,
    /// The library item.
    item: String,
}

/// The writes that bring a playlist from its current entries to the wanted items.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Entries to remove.
    remove: Vec<String>,
    /// Items to append, in the file's order.
    add: Vec<String>,
    /// Entries to move afterwards so the order is the file's.
    moves: usize,
}

/// Positions in `wanted` of each item of `sequence` (equal items take them in order).
fn positions(sequence: &[&str], wanted: &[String]) -> Vec<usize> {
    let mut slots: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (p, item) in wanted.iter().enumerate() {
        slots.entry(item.as_str()).or_default().push_back(p);
    }
    sequence
        .iter()
        .map(|item| {
            slots
                .get_mut(item)
                .and_then(VecDeque::pop_front)
                .unwrap_or(usize::MAX)
        })
        .collect()
}

/// Indices (into `values`) of one longest strictly increasing subsequence.
fn longest_increasing(values: &[usize]) -> Vec<usize> {
    // tails[k]: index of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; values.len()];
    for (i, &v) in values.iter().enumerate() {
        let k = tails.partition_point(|&t| values[t] < v);
        previous[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(i) = at {
        out.push(i);
        at = previous[i];
    }
    out.reverse();
    out
}

/// The plan: keep what is wanted (in current order), remove the rest, append what is missing,
/// then count the moves the order needs.
fn plan(current: &[Entry], wanted: &[String]) -> Plan {
    let mut need: HashMap<&str, usize> = HashMap::new();
    for item in wanted {
        *need.entry(item.as_str()).or_default() += 1;
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut remove = Vec::new();
    for e in current {
        match need.get_mut(e.item.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                kept.push(e.item.as_str());
            }
            _ => remove.push(e.entry.clone()),
        }
    }
    let mut add = Vec::new();
    for item in wanted {
        if let Some(n) = need.get_mut(item.as_str())
            && *n > 0
        {
            *n -= 1;
            add.push(item.clone());
        }
    }
    let sequence: Vec<&str> = kept
        .iter()
        .copied()
        .chain(add.iter().map(String::as_str))
        .collect();
    let order = positions(&sequence, wanted);
    let moves = sequence.len() - longest_increasing(&order).len();
    Plan { remove, add, moves }
}

/// The moves that put `current` (already holding exactly the wanted items) in `wanted`'s
/// order: `(entry, after)` pairs, `after = None` meaning "to the top".
fn moves(current: &[Entry], wanted: &[String]) -> Vec<(String, Option<String>)> {
    let sequence: Vec<&str> = current.iter().map(|e| e.item.as_str()).collect();
    let order = positions(&sequence, wanted);
    let mut in_place = vec![false; current.len()];
    for i in longest_increasing(&order) {
        in_place[i] = true;
    }
    // by_position[p]: the index in `current` of the entry that belongs at position p.
    let mut by_position: Vec<Option<usize>> = vec![None; wanted.len()];
    for (i, &p) in order.iter().enumerate() {
        if let Some(slot) = by_position.get_mut(p) {
            *slot = Some(i);
        }
    }
    let mut out = Vec::new();
    let mut previous: Option<&str> = None;
    for slot in by_position.into_iter().flatten() {
        if !in_place[slot] {
            out.push((current[slot].entry.clone(), previous.map(str::to_string)));
        }
        previous = Some(&current[slot].entry);
    }
    out
}

/// What the sync did (or would do), for the report.
#[derive(Debug, Default, Serialize)]
struct Outcome {
    /// The playlist's name.
    name: String,
    /// The server's id of the playlist (`None` for a dry run that would create it).
    id: Option<String>,
    /// `created`, `updated`, `unchanged`, `nothing to add`, or the same with `would ` for a
    /// dry run.
    action: String,
    /// Tracks in the playlist afterwards.
    tracks: usize,
    /// Items added.
    added: usize,
    /// Entries removed.
    removed: usize,
    /// Entries moved.
    moved: usize,
    /// Whether the items were replaced in one go instead of edited.
    replaced: bool,
    /// Write requests sent (or that would be sent).
    writes: usize,
    /// Read requests sent through the gateway (some are answered from its cache).
    reads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plex,
    Jellyfin,
}

/// Creates the playlist (Plex: one `POST /playlists` with the first 500 ids, the rest added
/// in `PUT`s of 500; Jellyfin: one `POST /Playlists`).
async fn create(server: &mut Server, name: &str, wanted: &[String]) -> anyhow::Result<String> {
    match server.kind {
        Kind::Plex => {
            let mut machine = None;
            let mut chunks = wanted.chunks(PLEX_IDS_PER_REQUEST);
            let first = chunks.next().unwrap_or(&[]);
            let uri = server.plex_uri(&mut machine, first).await?;
            let path = format!(
                "/playlists?{}",
                query(&[
                    ("type", "audio"),
                    ("title", name),
                    ("smart", "0"),
                    ("uri", &uri)
                ])
            );
            let v = server.send(reqwest::Method::POST, &path, None).await?;
            let id = array(&v["MediaContainer"]["Metadata"])
                .first()
                .and_then(|p| text(&p["ratingKey"]))
                .context("the server created the playlist but did not say its id")?;
            for chunk in chunks {
                let uri = server.plex_uri(&mut machine, chunk).await?;
                let path = format!("/playlists/{id}/items?{}", query(&[("uri", &uri)]));
                server.send(reqwest::Method::PUT, &path, None).await?;
            }
            Ok(id)
        }
        Kind::Jellyfin => {
            let body = serde_json::json!({ "Name": name, "Ids": wanted, "MediaType": "Audio" });
            let v = server
                .send(reqwest::Method::POST, "/Playlists", Some(body))
                .await?;
            text(&v["Id"]).context("the server created the playlist but did not say its id")
        }
    }
}

/// Writes a plan's cost: `(incremental, replace)`.
fn costs(kind: Kind, current: &[Entry], wanted: &[String], plan: &Plan) -> (usize, usize) {
    match kind {
        Kind::Plex => {
            let incremental =
                plan.remove.len() + plan.add.len().div_ceil(PLEX_IDS_PER_REQUEST) + plan.moves;
            let replace =
                usize::from(!current.is_empty()) + wanted.len().div_ceil(PLEX_IDS_PER_REQUEST);
            (incremental, replace)
        }
        Kind::Jellyfin => {
            let too_long =
                plan.remove.len() > JELLYFIN_IDS_IN_QUERY || plan.add.len() > JELLYFIN_IDS_IN_QUERY;
            let incremental = if too_long {
                usize::MAX
            } else {
                usize::from(!plan.remove.is_empty())
                    + usize::from(!plan.add.is_empty())
                    + plan.moves
            };
            (incremental, 1)
        }
    }
}

/// Brings playlist `id` from `current` to `wanted`; fills the counts of `outcome`.
async fn update(
    server: &mut Server,
    id: &str,
    current: &[Entry],
    wanted: &[String],
    dry_run: bool,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let plan = plan(current, wanted);
    if plan.remove.is_empty() && plan.add.is_empty() && plan.moves == 0 {
        outcome.action = "unchanged".into();
        return Ok(());
    }
    let (incremental, replace) = costs(server.kind, current, wanted, &plan);
    outcome.action = if dry_run { "would update" } else { "updated" }.into();
    if replace < incremental {
        outcome.replaced = true;
        outcome.added = plan.add.len();
        outcome.removed = plan.remove.len();
        if dry_run {
            outcome.writes = replace;
            return Ok(());
        }
        return replace_whole(server, id, current, wanted).await;
    }
    outcome.added = plan.add.len();
    outcome.removed = plan.remove.len();
    outcome.moved = plan.moves;
    if dry_run {
        outcome.writes = incremental;
        return Ok(());
    }
    apply_plan(server, id, &plan, wanted).await
}

/// Replaces the whole of playlist `id` (holding `current`) with `wanted`.
async fn replace_whole(
    server: &mut Server,
    id: &str,
    current: &[Entry],
    wanted: &[String],
) -> anyhow::Result<()> {
    match server.kind {
        Kind::Plex => {
            if !current.is_empty() {
                server
                    .send(
                        reqwest::Method::DELETE,
                        &format!("/playlists/{id}/items"),
                        None,
                    )
                    .await?;
            }
            let mut machine = None;
            for chunk in wanted.chunks(PLEX_IDS_PER_REQUEST) {
                let uri = server.plex_uri(&mut machine, chunk).await?;
                let path = format!("/playlists/{id}/items?{}", query(&[("uri", &uri)]));
                server.send(reqwest::Method::PUT, &path, None).await?;
            }
        }
        Kind::Jellyfin => {
            let body = serde_json::json!({ "Ids": wanted });
            server
                .send(
                    reqwest::Method::POST,
                    &format!("/Playlists/{id}"),
                    Some(body),
                )
                .await?;
        }
    }
    Ok(())
}

/// Applies `plan` to playlist `id` entry by entry: removals, additions, then the moves that
/// put the entries in `wanted`'s order.
async fn apply_plan(
    server: &mut Server,
    id: &str,
    plan: &Plan,
    wanted: &[String],
) -> anyhow::Result<()> {
    match server.kind {
        Kind::Plex => {
            for entry in &plan.remove {
                server
                    .send(
                        reqwest::Method::DELETE,
                        &format!("/playlists/{id}/items/{entry}"),
                        None,
                    )
                    .await?;
            }
            let mut machine = None;
            for chunk in plan.add.chunks(PLEX_IDS_PER_REQUEST) {
                let uri = server.plex_uri(&mut machine, chunk).await?;
                let path = format!("/playlists/{id}/items?{}", query(&[("uri", &uri)]));
                server.send(reqwest::Method::PUT, &path, None).await?;
            }
            if plan.moves > 0 {
                // The added entries' ids are only known now.
                let now = server.entries(id).await?;
                for (entry, after) in moves(&now, wanted) {
                    let path = match after {
                        Some(after) => format!("/playlists/{id}/items/{entry}/move?after={after}"),
                        None => format!("/playlists/{id}/items/{entry}/move"),
                    };
                    server.send(reqwest::Method::PUT, &path, None).await?;
                }
            }
        }
        Kind::Jellyfin => {
            if !plan.remove.is_empty() {
                let path = format!("/Playlists/{id}/Items?EntryIds={}", plan.remove.join(","));
                server.send(reqwest::Method::DELETE, &path, None).await?;
            }
            if !plan.add.is_empty() {
                let path = format!("/Playlists/{id}/Items?Ids={}", plan.add.join(","));
                server.send(reqwest::Method::POST, &path, None).await?;
            }
        }
    }
    Ok(())
}

/// The proxy base URL: `--server`, else the address the gateway reported.
fn proxy_base(given: Option<&str>, answer: &MatchAnswer) -> anyhow::Result<String> {
    let base = match (given, &answer.proxy) {
        (Some(url), _) => url.to_string(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => bail!(
            "the gateway did not report a proxy address for upstream {}: pass --server URL \
             (its proxy listener)",
            answer.upstream
        ),
    };
    Ok(base.trim_end_matches('/').to_string())
}

#[allow(
    clippy::disallowed_methods,
    reason = "how long a command took is real time"
)]
async fn sync(args: SyncArgs) -> anyhow::Result<()> {
    if args.user.is_none() && !args.dry_run {
        bail!(
            "the playlist belongs to a media-server user: pass --user TOKEN (or set \
             CACHEARR_USER_TOKEN); --dry-run works without it"
        );
    }
    let started = Instant::now();
    let answer = match_via_gateway(
        &admin_url(&args.gateway),
        args.admin_token.as_deref(),
        args.upstream.as_deref(),
        args.user.as_deref(),
        &args.file,
        Duration::from_secs(args.wait),
    )
    .await?;
    let wanted: Vec<String> = answer
        .entries
        .iter()
        .filter(|e| e.band == Band::Accept)
        .filter_map(|e| e.best.as_ref().map(|b| b.id.clone()))
        .collect();
    let kind = match answer.profile.as_str() {
        "jellyfin" => Kind::Jellyfin,
        _ => Kind::Plex,
    };
    let mut outcome = Outcome {
        name: args.name.clone(),
        tracks: wanted.len(),
        ..Outcome::default()
    };
    if let Some(token) = &args.user {
        let mut server = Server {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .context("cannot build an HTTP client")?,
            base: proxy_base(args.server.as_deref(), &answer)?,
            kind,
            token: token.clone(),
            reads: 0,
            writes: 0,
        };
        match server.find(&args.name).await? {
            Some(id) => {
                let current = server.entries(&id).await?;
                update(
                    &mut server,
                    &id,
                    &current,
                    &wanted,
                    args.dry_run,
                    &mut outcome,
                )
                .await?;
                outcome.id = Some(id);
            }
            None if wanted.is_empty() => outcome.action = "nothing to add".into(),
            None if args.dry_run => {
                outcome.action = "would create".into();
                outcome.added = wanted.len();
                outcome.writes = match kind {
                    Kind::Plex => wanted.len().div_ceil(PLEX_IDS_PER_REQUEST),
                    Kind::Jellyfin => 1,
                };
            }
            None => {
                outcome.id = Some(create(&mut server, &args.name, &wanted).await?);
                outcome.action = "created".into();
                outcome.added = wanted.len();
            }
        }
        if !args.dry_run {
            outcome.writes = server.writes;
        }
        outcome.reads = server.reads;
    } else {
        outcome.action = "would create or update (no --user: the server was not asked)".into();
    }
    let seconds = started.elapsed().as_secs_f64();
    report(&answer, &outcome, seconds, args.json)
}

fn report(answer: &MatchAnswer, outcome: &Outcome, seconds: f64, json: bool) -> anyhow::Result<()> {
    let review: Vec<&MatchEntry> = answer
        .entries
        .iter()
        .filter(|e| e.band == Band::Review)
        .collect();
    let missing: Vec<&MatchEntry> = answer
        .entries
        .iter()
        .filter(|e| e.band == Band::Reject)
        .collect();
    if json {
        let value = serde_json::json!({
            "upstream": answer.upstream,
            "scope": answer.scope,
            "withheld_sections": answer.withheld_sections,
            "match": answer.summary,
            "matched": answer.entries.iter().filter(|e| e.band == Band::Accept).collect::<Vec<_>>(),
            "review": review,
            "missing": missing,
            "playlist": outcome,
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let s = &answer.summary;
    println!(
        "matched {} entries with the index of {} ({} scope): {} accepted ({} remembered), {} to \
         review, {} missing",
        s.entries, answer.upstream, answer.scope, s.accepted, s.remembered, s.review, s.rejected
    );
    if let Some(withheld) = answer.withheld_sections.as_ref().filter(|w| !w.is_empty()) {
        println!(
            "not matched in sections {}: the server hides part of them from this user, and the \
             index cannot tell which items",
            withheld.join(", ")
        );
    }
    let line = |e: &MatchEntry| {
        let query = if e.query.artist.is_empty() {
            e.query.title.clone()
        } else {
            format!("{} – {}", e.query.artist, e.query.title)
        };
        format!("  {query}  →  {}", describe_best(e))
    };
    if !review.is_empty() {
        println!("to review (not added):");
        for e in &review {
            println!("{}", line(e));
        }
    }
    if !missing.is_empty() {
        println!("missing (not in the library, or no confident match):");
        for e in &missing {
            println!("{}", line(e));
        }
    }
    let id = outcome
        .id
        .as_deref()
        .map(|id| format!(" (id {id})"))
        .unwrap_or_default();
    let how = if outcome.replaced {
        "items replaced".to_string()
    } else {
        format!(
            "+{} −{}, {} moved",
            outcome.added, outcome.removed, outcome.moved
        )
    };
    println!(
        "playlist {:?}{id}: {} — {} tracks, {how}; {} write(s), {} read(s) through the gateway, \
         {seconds:.2} s",
        outcome.name, outcome.action, outcome.tracks, outcome.writes, outcome.reads
    );
    Ok(())
}

#[cfg(test)]
mod tests;
