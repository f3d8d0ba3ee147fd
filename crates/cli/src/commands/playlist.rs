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

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cachearr_gateway::library::matching::{MatchAnswer, MatchEntry};
use cachearr_library::Band;
use serde::Serialize;
use serde_json::Value;

use super::matching::{admin_url, describe_best, match_via_gateway};

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

/// The media server, reached through the gateway's proxy listener as the user.
struct Server {
    client: reqwest::Client,
    base: String,
    kind: Kind,
    token: String,
    reads: usize,
    writes: usize,
}

/// A JSON value as text (Plex sends some ids as numbers).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON value as a flag (`true`, `1`, `"1"`).
fn flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => s == "1" || s == "true",
        _ => false,
    }
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

impl Server {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("accept", "application/json");
        // The token travels in a header, never in the URL (URLs end up in logs).
        match self.kind {
            Kind::Plex => request
                .header("x-plex-token", &self.token)
                .header("x-plex-product", "cachearr")
                .header("x-plex-client-identifier", "cachearr-playlist-sync"),
            Kind::Jellyfin => request.header(
                "authorization",
                format!(
                    "MediaBrowser Client=\"cachearr\", Device=\"cli\", \
                     DeviceId=\"cachearr-playlist-sync\", Version=\"{}\", Token=\"{}\"",
                    env!("CARGO_PKG_VERSION"),
                    self.token
                ),
            ),
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let write = method != reqwest::Method::GET;
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the server through {}", self.base))?;
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
        }
        let status = response.status();
        let route = path.split('?').next().unwrap_or(path);
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            bail!("the server refused the user token ({method} {route} answered {status})");
        }
        if !status.is_success() {
            bail!("{method} {route} answered {status}");
        }
        let bytes = response
            .bytes()
            .await
            .context("reading the server's answer")?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{method} {route} answered something that is not JSON"))
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// The id of the user's playlist named `name`, if there is one.
    async fn find(&mut self, name: &str) -> anyhow::Result<Option<String>> {
        let found: Vec<(String, String)> = match self.kind {
            Kind::Plex => {
                let v = self.get("/playlists?playlistType=audio").await?;
                array(&v["MediaContainer"]["Metadata"])
                    .iter()
                    .filter(|p| !flag(&p["smart"]))
                    .filter_map(|p| Some((text(&p["ratingKey"])?, text(&p["title"])?)))
                    .collect()
            }
            Kind::Jellyfin => {
                let v = self
                    .get("/Items?IncludeItemTypes=Playlist&Recursive=true")
                    .await?;
                array(&v["Items"])
                    .iter()
                    .filter_map(|p| Some((text(&p["Id"])?, text(&p["Name"])?)))
                    .collect()
            }
        };
        let exact: Vec<&(String, String)> = found.iter().filter(|(_, t)| t == name).collect();
        if exact.len() > 1 {
            tracing::warn!(
                "{} playlists are named {name:?}; updating the first",
                exact.len()
            );
        }
        Ok(exact.first().map(|(id, _)| id.clone()))
    }

    /// The playlist's entries in order.
    async fn entries(&mut self, id: &str) -> anyhow::Result<Vec<Entry>> {
        Ok(match self.kind {
            Kind::Plex => {
                let v = self.get(&format!("/playlists/{id}/items")).await?;
                array(&v["MediaContainer"]["Metadata"])
                    .iter()
                    .filter_map(|e| {
                        Some(Entry {
                            entry: text(&e["playlistItemID"])?,
                            item: text(&e["ratingKey"])?,
                        })
                    })
                    .collect()
            }
            Kind::Jellyfin => {
                let v = self.get(&format!("/Playlists/{id}/Items")).await?;
                array(&v["Items"])
                    .iter()
                    .filter_map(|e| {
                        Some(Entry {
                            entry: text(&e["PlaylistItemId"])?,
                            item: text(&e["Id"])?,
                        })
                    })
                    .collect()
            }
        })
    }

    /// Plex: `server://{machine}/com.plexapp.plugins.library/library/metadata/{ids}`.
    async fn plex_uri(
        &mut self,
        machine: &mut Option<String>,
        ids: &[String],
    ) -> anyhow::Result<String> {
        if machine.is_none() {
            let v = self.get("/identity").await?;
            *machine = Some(
                text(&v["MediaContainer"]["machineIdentifier"])
                    .context("the server's /identity has no machineIdentifier")?,
            );
        }
        let machine = machine.as_deref().unwrap_or_default();
        Ok(format!(
            "server://{machine}/com.plexapp.plugins.library/library/metadata/{}",
            ids.join(",")
        ))
    }
}

/// `a=1&b=2`, percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
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
        return Ok(());
    }
    outcome.added = plan.add.len();
    outcome.removed = plan.remove.len();
    outcome.moved = plan.moves;
    if dry_run {
        outcome.writes = incremental;
        return Ok(());
    }
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
mod tests {
    use super::*;

    fn entries(items: &[&str]) -> Vec<Entry> {
        items
            .iter()
            .enumerate()
            .map(|(n, item)| Entry {
                entry: format!("e{n}"),
                item: (*item).to_string(),
            })
            .collect()
    }

    fn wanted(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_string()).collect()
    }

    /// Applies moves (`after = None`: to the top) the way the server does.
    fn apply(mut current: Vec<Entry>, moves: &[(String, Option<String>)]) -> Vec<Entry> {
        for (entry, after) in moves {
            let at = current.iter().position(|e| &e.entry == entry).unwrap();
            let moved = current.remove(at);
            let to = match after {
                None => 0,
                Some(a) => current.iter().position(|e| &e.entry == a).unwrap() + 1,
            };
            current.insert(to, moved);
        }
        current
    }

    #[test]
    fn in_sync_needs_nothing() {
        let p = plan(&entries(&["a", "b", "c"]), &wanted(&["a", "b", "c"]));
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn removes_extras_and_appends_missing_keeping_duplicates() {
        let p = plan(
            &entries(&["a", "x", "b", "b"]),
            &wanted(&["a", "b", "c", "b", "c"]),
        );
        assert_eq!(p.remove, vec!["e1".to_string()]);
        assert_eq!(p.add, wanted(&["c", "c"]));
        // a b b c c vs a b c b c: one move.
        assert_eq!(p.moves, 1);
    }

    #[test]
    fn fewest_moves_put_the_file_order_back() {
        let current = entries(&["c", "a", "b", "e", "d"]);
        let want = wanted(&["a", "b", "c", "d", "e"]);
        let p = plan(&current, &want);
        assert_eq!(p.moves, 2, "a b e (or a b d) stay, two move");
        let done = apply(current.clone(), &moves(&current, &want));
        let order: Vec<&str> = done.iter().map(|e| e.item.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "d", "e"]);
        assert_eq!(moves(&current, &want).len(), 2);
        // Reversed: all but one move, the first to the top.
        let current = entries(&["e", "d", "c", "b", "a"]);
        let m = moves(&current, &want);
        assert_eq!(m.len(), 4);
        let done = apply(current, &m);
        let order: Vec<&str> = done.iter().map(|e| e.item.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn replace_wins_when_the_edit_costs_more() {
        let current = entries(&["x", "y", "z", "a"]);
        let want = wanted(&["a", "b"]);
        let p = plan(&current, &want);
        assert_eq!((p.remove.len(), p.add.len(), p.moves), (3, 1, 0));
        // Plex: 3 deletes + 1 add = 4 > clear + add = 2.
        assert_eq!(costs(Kind::Plex, &current, &want, &p), (4, 2));
        // Jellyfin: delete + add = 2 > one replacement.
        assert_eq!(costs(Kind::Jellyfin, &current, &want, &p), (2, 1));
        // Appending alone is one write either way; the edit keeps the entries.
        let p = plan(&entries(&["a"]), &want);
        assert_eq!(costs(Kind::Jellyfin, &entries(&["a"]), &want, &p), (1, 1));
        assert_eq!(costs(Kind::Plex, &entries(&["a"]), &want, &p), (1, 2));
    }

    #[test]
    fn longest_increasing_subsequence() {
        assert_eq!(longest_increasing(&[]), Vec::<usize>::new());
        let v = [3, 1, 2, 5, 4, 6];
        let lis = longest_increasing(&v);
        assert_eq!(lis.len(), 4);
        assert!(lis.windows(2).all(|w| w[0] < w[1] && v[w[0]] < v[w[1]]));
    }

    #[test]
    fn query_strings_are_encoded() {
        assert_eq!(
            query(&[("title", "Rock & Roll"), ("uri", "server://m/x/1,2")]),
            "title=Rock%20%26%20Roll&uri=server%3A%2F%2Fm%2Fx%2F1%2C2"
        );
    }
}
