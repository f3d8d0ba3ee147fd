//! `cachearr index`: build, inspect and search a library index snapshot.
//!
//! The crawl of a real Plex or Jellyfin server belongs to the gateway and is not built yet;
//! until it is, an index is built from the simulator's synthetic library
//! (`--sim-tracks N --sim-seed S`), the same library `cachearr sim` serves.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use cachearr_library::index::IndexBuilder;
use cachearr_library::{ItemKind, LibraryIndex, Visibility, sim, snapshot};
use indicatif::{ProgressBar, ProgressStyle};

/// Where an index comes from: a snapshot file, or the simulator's library.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct IndexSource {
    /// A snapshot written by `cachearr index build --out` (or by the gateway).
    #[arg(long, value_name = "PATH", conflicts_with = "sim_tracks")]
    pub(crate) index: Option<PathBuf>,
    /// Build the index from the simulator's synthetic music library of about N tracks
    /// (stands in for a crawl of a real server, which is not built yet).
    #[arg(long, value_name = "N")]
    pub(crate) sim_tracks: Option<u32>,
    /// Seed of the simulator's library (same seed and size → same library).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) sim_seed: u64,
}

impl IndexSource {
    /// Loads or builds the index, with a progress bar on long work.
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
server. Crawling a real Plex or Jellyfin server belongs to the gateway and is not built yet;
until then `--sim-tracks N --sim-seed S` builds the index from the simulator's synthetic
library, and `build --out PATH` writes a snapshot that `--index PATH` loads without a
re-crawl.";

/// Arguments of `cachearr index`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Build an index and write its snapshot (from the simulator's library for now).
    Build {
        #[command(flatten)]
        source: IndexSource,
        /// Where to write the snapshot.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
    },
    /// Show what an index holds and how big it is.
    Status {
        #[command(flatten)]
        source: IndexSource,
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
        Action::Build { source, out } => {
            let index = source.load()?;
            let started = Instant::now();
            snapshot::save(&index, &out)
                .with_context(|| format!("writing the snapshot {}", out.display()))?;
            let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            println!(
                "{}: {} items, {:.1} MiB on disk, written in {:.2} s",
                out.display(),
                index.len(),
                bytes as f64 / 1_048_576.0,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Action::Status { source, json } => {
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
        Action::Search {
            source,
            query,
            kind,
            sections,
            limit,
            json,
        } => {
            let kinds = kind
                .iter()
                .map(|name| {
                    ItemKind::ALL
                        .into_iter()
                        .find(|kind| kind.name() == name.to_ascii_lowercase())
                        .with_context(|| {
                            format!("unknown kind {name:?} (track, album, artist, movie, episode)")
                        })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let index = source.load()?;
            let visibility = visibility(&sections);
            let started = Instant::now();
            let hits = index.search(&query, &kinds, &visibility, limit);
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
    }
}
