//! `cachearr index`: the running gateway's library index (`build` asks for a build and follows
//! it with a progress bar, `status` shows `GET /api/index`), and offline snapshots: built from
//! the simulator's synthetic library (`--sim-tracks N --sim-seed S --out PATH`), inspected
//! (`status --index PATH`) and searched (`search`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use cachearr_library::index::IndexBuilder;
use cachearr_library::{ItemKind, LibraryIndex, Visibility, sim, snapshot};
use indicatif::{ProgressBar, ProgressStyle};

use super::admin::AdminTarget;

/// Where an index comes from: a snapshot file, or the simulator's library.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct IndexSource {
    /// A snapshot written by `cachearr index build --out` (or by the gateway).
    #[arg(long, value_name = "PATH", conflicts_with = "sim_tracks")]
    pub(crate) index: Option<PathBuf>,
    /// Build the index from the simulator's synthetic music library of about N tracks
    /// (offline; without it `build` and `status` talk to the running gateway).
    #[arg(long, value_name = "N")]
    pub(crate) sim_tracks: Option<u32>,
    /// Seed of the simulator's library (same seed and size → same library).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) sim_seed: u64,
}

impl IndexSource {
    /// True when neither a snapshot nor the simulator was named: the running gateway's index
    /// is meant.
    pub(crate) fn is_unset(&self) -> bool {
        self.index.is_none() && self.sim_tracks.is_none()
    }

    /// Loads or builds the index, with a progress bar on long work.
    #[allow(
        clippy::disallowed_methods,
        reason = "how long a command took, and the report's date, are real time"
    )]
    pub(crate) fn load(&self) -> anyhow::Result<LibraryIndex> {
        match (&self.index, self.sim_tracks) {
            (Some(path), _) => {
                let started = Instant::now();
                let index = snapshot::load(path)
                    .with_context(|| format!("loading the index {}", path.display()))?;
                tracing::info!(
                    items = index.len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "index loaded from {}",
                    path.display()
                );
                Ok(index)
            }
            (None, Some(tracks)) => build_from_sim(tracks, self.sim_seed),
            (None, None) => bail!(
                "say where the library comes from: --index PATH (a snapshot) or --sim-tracks N \
                 (the simulator's library); `cachearr match` also takes --gateway [ADMIN_URL] \
                 (the index a running gateway keeps of its server)"
            ),
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub(crate) fn progress_bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{wide_bar}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

#[allow(
    clippy::disallowed_methods,
    reason = "how long a command took, and the report's date, are real time"
)]
fn build_from_sim(tracks: u32, seed: u64) -> anyhow::Result<LibraryIndex> {
    let started = Instant::now();
    let library = sim::music_library(tracks, seed);
    let generated = started.elapsed();
    let bar = progress_bar(library.len() as u64, "indexing");
    let mut builder = IndexBuilder::new();
    for (n, record) in sim::records(&library).enumerate() {
        builder.push(&record)?;
        if n % 4096 == 0 {
            bar.set_position(n as u64);
        }
    }
    drop(library);
    bar.set_message("maps");
    let index = builder.finish();
    bar.finish_and_clear();
    tracing::info!(
        items = index.len(),
        generate_seconds = generated.as_secs_f64(),
        index_seconds = (started.elapsed() - generated).as_secs_f64(),
        "index built from the simulator's library (seed {seed})"
    );
    Ok(index)
}

/// Parses `--sections 1,4` into a visibility; no list means every section.
pub(crate) fn visibility(sections: &Option<Vec<String>>) -> Visibility {
    match sections {
        Some(ids) => Visibility::sections(ids.iter().cloned()),
        None => Visibility::everything(),
    }
}

/// What `cachearr index --help` explains.
pub(crate) const LONG_ABOUT: &str = "\
Build, inspect and search a library index.

The index holds every track, album, artist, movie and episode compactly in memory and answers
searches, lookups by file path or MusicBrainz id, and playlist matching without asking the
server. The running gateway builds and keeps one per upstream (crawled on the background
budget, refreshed on a schedule and from change events): `cachearr index build` asks it for a
build and follows the progress, `cachearr index status [--json]` shows where it stands (both
talk to the admin API: --admin-url, --admin-token). Offline, `--sim-tracks N --sim-seed S`
builds an index from the simulator's synthetic library, `build --out PATH` writes a snapshot
and `--index PATH` loads one.";

/// Arguments of `cachearr index`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Build the index: by default the running gateway's (`POST /api/index/build`, then a
    /// progress bar until it is done); with `--sim-tracks N --out PATH` (or `--index`) an
    /// offline snapshot from the simulator's library.
    Build {
        #[command(flatten)]
        source: IndexSource,
        /// Where to write the snapshot (offline builds only).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        #[command(flatten)]
        target: AdminTarget,
        /// Only this upstream (default: every upstream).
        #[arg(long, value_name = "NAME")]
        upstream: Option<String>,
        /// Re-read the whole library instead of only what changed.
        #[arg(long)]
        full: bool,
        /// Ask for the build and return without following it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Show the index: by default the running gateway's (`GET /api/index`: state, progress,
    /// items, last build, next refresh); with `--index PATH` or `--sim-tracks N` a snapshot.
    Status {
        #[command(flatten)]
        source: IndexSource,
        #[command(flatten)]
        target: AdminTarget,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Search titles the way `/search` requests are answered from the index.
    Search {
        #[command(flatten)]
        source: IndexSource,
        /// The words to look for (every word must occur in the title).
        query: String,
        /// Only items of these kinds (track, album, artist, movie, episode).
        #[arg(long, value_delimiter = ',', value_name = "KIND")]
        kind: Vec<String>,
        /// Only these section ids (comma-separated); default: all.
        #[arg(long, value_delimiter = ',', value_name = "ID")]
        sections: Option<Vec<String>>,
        /// Most results to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `cachearr index`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Build {
            source,
            out,
            target,
            upstream,
            full,
            no_wait,
        } => {
            if source.is_unset() {
                return gateway::build(&target, upstream.as_deref(), full, no_wait).await;
            }
            let Some(out) = out else {
                bail!("an offline build (--sim-tracks / --index) needs --out PATH");
            };
            build_offline(&source, &out)
        }
        Action::Status {
            source,
            target,
            json,
        } => {
            if source.is_unset() {
                return gateway::status(&target, json).await;
            }
            status_offline(&source, json)
        }
        Action::Search {
            source,
            query,
            kind,
            sections,
            limit,
            json,
        } => search(&source, &query, &kind, &sections, limit, json),
    }
}

/// `cachearr index build --out PATH` from a simulated library or another snapshot.
#[allow(
    clippy::disallowed_methods,
    reason = "how long a command took, and the report's date, are real time"
)]
fn build_offline(source: &IndexSource, out: &Path) -> anyhow::Result<()> {
    let index = source.load()?;
    let started = Instant::now();
    snapshot::save(&index, out)
        .with_context(|| format!("writing the snapshot {}", out.display()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}: {} items, {:.1} MiB on disk, written in {:.2} s",
        out.display(),
        index.len(),
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cachearr index status` of a snapshot or a simulated library.
fn status_offline(source: &IndexSource, json: bool) -> anyhow::Result<()> {
    let index = source.load()?;
    let stats = index.stats();
    if json {
        let value = serde_json::json!({
            "items": index.len(),
            "tracks": stats.items_by_kind[0],
            "albums": stats.items_by_kind[1],
            "artists": stats.items_by_kind[2],
            "movies": stats.items_by_kind[3],
            "episodes": stats.items_by_kind[4],
            "shows": stats.items_by_kind[5],
            "seasons": stats.items_by_kind[6],
            "sections": index.section_ids(),
            "artist_names": stats.artist_names,
            "distinct_albums": stats.albums,
            "text_bytes": stats.text_bytes,
            "heap_bytes": stats.heap_bytes,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("items:     {}", index.len());
        for kind in ItemKind::ALL {
            println!(
                "  {:<8} {}",
                kind.name(),
                stats.items_by_kind[usize::from(kind.code())]
            );
        }
        println!("sections:  {}", index.section_ids().join(", "));
        println!("artists:   {} distinct names", stats.artist_names);
        println!(
            "memory:    {:.1} MiB",
            stats.heap_bytes as f64 / 1_048_576.0
        );
    }
    Ok(())
}

/// `cachearr index search`: the hits, best first, as text or JSON.
#[allow(
    clippy::disallowed_methods,
    reason = "how long a command took, and the report's date, are real time"
)]
fn search(
    source: &IndexSource,
    query: &str,
    kind: &[String],
    sections: &Option<Vec<String>>,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let kinds = kind
        .iter()
        .map(|name| {
            ItemKind::ALL
                .into_iter()
                .find(|kind| kind.name() == name.to_ascii_lowercase())
                .with_context(|| {
                    format!(
                        "unknown kind {name:?} (track, album, artist, movie, episode, show, \
                         season)"
                    )
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let index = source.load()?;
    let visibility = visibility(sections);
    let started = Instant::now();
    let hits = index.search(query, &kinds, &visibility, limit);
    let elapsed = started.elapsed();
    let rows: Vec<serde_json::Value> = hits
        .iter()
        .filter_map(|hit| index.item(hit.item, &visibility).map(|view| (hit, view)))
        .map(|(hit, view)| {
            serde_json::json!({
                "id": view.id(),
                "kind": view.kind().name(),
                "section": view.section_id(),
                "title": view.title(),
                "artist": view.artists().join(", "),
                "album": view.album(),
                "score": hit.score,
            })
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for row in &rows {
            println!(
                "{:>5.2}  {:<7} [{}] {}{}",
                row["score"].as_f64().unwrap_or(0.0),
                row["kind"].as_str().unwrap_or(""),
                row["id"].as_str().unwrap_or(""),
                row["title"].as_str().unwrap_or(""),
                match row["artist"].as_str() {
                    Some(artist) if !artist.is_empty() => format!(" — {artist}"),
                    _ => String::new(),
                }
            );
        }
        eprintln!(
            "{} results in {:.2} ms",
            rows.len(),
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// `cachearr index build` / `status` against a running gateway's admin API.
mod gateway {
    use std::time::Duration;

    use anyhow::Context as _;
    use cachearr_copy::upstream_index::index_api::{BuildStarted, IndexReport};
    use cachearr_copy::upstream_index::status::{IndexState, IndexStatus};
    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

    use super::AdminTarget;

    async fn report(target: &AdminTarget) -> anyhow::Result<IndexReport> {
        let client = AdminTarget::client()?;
        target
            .send(client.get(target.url("/api/index")))
            .await?
            .json()
            .await
            .context("the gateway's /api/index answer is not what this cachearr expects")
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "how long a command took, and the report's date, are real time"
    )]
    fn when(ms: u64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
        let secs = now.abs_diff(ms) / 1000;
        let span = if secs >= 86_400 {
            format!("{:.1} d", secs as f64 / 86_400.0)
        } else if secs >= 3600 {
            format!("{:.1} h", secs as f64 / 3600.0)
        } else if secs >= 60 {
            format!("{} min", secs / 60)
        } else {
            format!("{secs} s")
        };
        if ms >= now {
            format!("in {span}")
        } else {
            format!("{span} ago")
        }
    }

    /// One upstream's status as text.
    pub(crate) fn render(status: &IndexStatus) -> String {
        let state = serde_json::to_value(status.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut out = format!(
            "{} ({}): {state}, {} items",
            status.upstream, status.profile, status.items
        );
        if !status.items_by_kind.is_empty() {
            let kinds: Vec<String> = status
                .items_by_kind
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{n} {k}s"))
                .collect();
            out.push_str(&format!(" ({})", kinds.join(", ")));
        }
        out.push('\n');
        if let Some(p) = &status.progress {
            out.push_str(&format!(
                "  {} build: {} of {} items ({}%), {:.0} items/s, eta {}, {} requests\n",
                p.kind,
                p.items,
                p.total.map_or("?".into(), |t| t.to_string()),
                p.percent.map_or("?".into(), |x| format!("{x:.1}")),
                p.rate_per_sec,
                p.eta_secs.map_or("?".into(), |s| format!("{s:.0} s")),
                p.requests
            ));
        }
        if let Some(b) = &status.last_build {
            out.push_str(&format!(
                "  last build: {} {}, {:.1} s, {} items fetched with {} requests\n",
                b.kind,
                when(b.finished_at_ms),
                b.duration_ms as f64 / 1000.0,
                b.fetched,
                b.requests
            ));
        }
        if let Some(next) = status.next_refresh_at_ms {
            out.push_str(&format!("  next refresh: {}\n", when(next)));
        }
        if let Some(retry) = status.next_retry_at_ms {
            out.push_str(&format!(
                "  next try: {} (or as soon as the server sends an event)\n",
                when(retry)
            ));
        }
        if !status.sections.is_empty() {
            let sections: Vec<String> = status
                .sections
                .iter()
                .map(|s| format!("{} {:?} ({})", s.id, s.title, s.kind))
                .collect();
            out.push_str(&format!("  sections: {}\n", sections.join(", ")));
        }
        if let Some(snapshot) = &status.snapshot {
            out.push_str(&format!(
                "  snapshot: {} ({:.1} MiB)\n",
                snapshot.path,
                snapshot.bytes as f64 / 1_048_576.0
            ));
        }
        if status.searches_to_server > 0 {
            out.push_str(&format!(
                "  searches sent to the server (index off or not ready): {}\n",
                status.searches_to_server
            ));
        }
        for e in &status.errors {
            out.push_str(&format!("  error: {e}\n"));
        }
        out
    }

    /// `cachearr index status` against the gateway.
    pub(crate) async fn status(target: &AdminTarget, json: bool) -> anyhow::Result<()> {
        let report = report(target).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            if !report.enabled {
                println!(
                    "the library index is disabled ([index] enabled = false): every search goes to the server"
                );
            }
            for status in &report.upstreams {
                print!("{}", render(status));
            }
        }
        // Scripts and health checks read the exit status: an index that failed (and has nothing
        // to answer from) is a failure even though the gateway itself runs.
        let failed: Vec<&str> = report
            .upstreams
            .iter()
            .filter(|s| s.state == IndexState::Failed)
            .map(|s| s.upstream.as_str())
            .collect();
        if !failed.is_empty() {
            anyhow::bail!(
                "the library index of {} failed (see the errors above)",
                failed.join(", ")
            );
        }
        Ok(())
    }

    fn bar(multi: &MultiProgress, name: &str) -> ProgressBar {
        let bar = multi.add(ProgressBar::new(0));
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>12} [{wide_bar}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(name.to_string());
        bar
    }

    /// `cachearr index build` against the gateway: asks for the build, then follows it with a
    /// progress bar per upstream until each has finished (or failed).
    pub(crate) async fn build(
        target: &AdminTarget,
        upstream: Option<&str>,
        full: bool,
        no_wait: bool,
    ) -> anyhow::Result<()> {
        let before = report(target).await?;
        let client = AdminTarget::client()?;
        let mut request = client.post(target.url("/api/index/build"));
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(name) = upstream {
            query.push(("upstream", name));
        }
        if full {
            query.push(("full", "1"));
        }
        request = request.query(&query);
        let started: BuildStarted = target.send(request).await?.json().await?;
        eprintln!(
            "cachearr: {} build started for {}",
            if full { "full" } else { "incremental" },
            started.started.join(", ")
        );
        if no_wait {
            return Ok(());
        }
        let finished_before = |name: &str| {
            before
                .upstreams
                .iter()
                .find(|s| s.upstream == name)
                .and_then(|s| s.last_build.as_ref())
                .map_or(0, |b| b.finished_at_ms)
        };
        let multi = MultiProgress::new();
        let bars: Vec<(String, ProgressBar)> = started
            .started
            .iter()
            .map(|name| (name.clone(), bar(&multi, name)))
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut failed = false;
        while done.len() < bars.len() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = report(target).await?;
            for (name, bar) in &bars {
                if done.contains(name) {
                    continue;
                }
                let Some(status) = now.upstreams.iter().find(|s| &s.upstream == name) else {
                    continue;
                };
                if let Some(p) = &status.progress {
                    bar.set_length(p.total.unwrap_or(p.items).max(p.items));
                    bar.set_position(p.items);
                }
                let finished = status
                    .last_build
                    .as_ref()
                    .is_some_and(|b| b.finished_at_ms > finished_before(name));
                if status.progress.is_none() && finished {
                    bar.finish_and_clear();
                    done.push(name.clone());
                    print!("{}", render(status));
                } else if status.progress.is_none() {
                    let errors_before = before
                        .upstreams
                        .iter()
                        .find(|s| &s.upstream == name)
                        .map(|s| s.errors.clone())
                        .unwrap_or_default();
                    // A failed build leaves a new error (the state alone may be an old failure's).
                    if !status.errors.is_empty() && status.errors != errors_before {
                        bar.abandon();
                        done.push(name.clone());
                        failed = true;
                        print!("{}", render(status));
                    }
                }
            }
        }
        if failed {
            anyhow::bail!("the index build failed (see the errors above)");
        }
        Ok(())
    }
}
