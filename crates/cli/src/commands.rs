//! One module per subcommand; [`Command`] dispatches to them.

/// A line on stderr as `eprintln!` writes it, but never a panic when stderr is closed: a
/// service whose log reader went away (a pipe to a log shipper that restarted) keeps serving.
macro_rules! say {
    ($($line:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($line)*);
    }};
}

mod admin;
mod config;
mod demo;
mod index;
mod matching;
mod playlist;
mod serve;
mod sim;

use clap::Subcommand;

/// Every `cachearr` subcommand.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the simulated Plex and Jellyfin servers (for tests, demos and benchmarks).
    Sim(sim::Args),
    /// The library index: the running gateway's (build, status) or offline snapshots.
    #[command(long_about = index::LONG_ABOUT)]
    Index(index::Args),
    /// Match a playlist file (CSV, JSON, M3U) against a library index.
    #[command(long_about = matching::LONG_ABOUT)]
    Match(matching::Args),
    /// Sync a playlist file to the media server: matched with the gateway's index, created or
    /// updated with the fewest writes.
    Playlist(playlist::Args),
    /// Run the caching gateway in front of a Plex, Jellyfin or Emby server.
    Serve(Box<serve::Args>),
    /// Check a config file or print a commented example.
    Config(config::Args),
    /// Try cachearr: a simulated Plex server, cachearr in front, a scripted workload run both
    /// ways, and a report of what the server saw and what the clients felt.
    Demo(demo::Args),
    /// Show a running gateway's cache statistics (per class and tier, upstream requests saved).
    Stats(admin::StatsArgs),
    /// Clear a running gateway's cache: everything, one tag (--tag) or one key prefix (--prefix).
    Clear(admin::ClearArgs),
    /// Warm a running gateway: fetch its configured warm list for recently seen users.
    Warm(admin::WarmArgs),
    /// Check that a running gateway answers: exit 0 when its /health is fine, 1 otherwise
    /// (for container health checks and scripts).
    Health(admin::HealthArgs),
}

impl Command {
    /// Runs the chosen subcommand to completion.
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Sim(args) => sim::run(args).await,
            Command::Index(args) => index::run(args).await,
            Command::Match(args) => matching::run(args).await,
            Command::Playlist(args) => playlist::run(args).await,
            Command::Serve(args) => serve::run(*args).await,
            Command::Config(args) => config::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Stats(args) => admin::stats(args).await,
            Command::Clear(args) => admin::clear(args).await,
            Command::Warm(args) => admin::warm(args).await,
            Command::Health(args) => admin::health(args).await,
        }
    }
}

/// Logs go to stderr, filtered by `--log-level`, else `RUST_LOG`, else `info`; as text (ANSI
/// colour only when stderr is a terminal and `NO_COLOR` is unset) or JSON lines.
///
/// # Errors
/// A message when `--log-level` is not a valid filter.
/// Targets capped at info: at debug and trace they print requests as they are on the wire,
/// tokens included (tungstenite's handshake dump above all).
const TOKEN_DUMPING_TARGETS: [&str; 7] = [
    "tungstenite=info",
    "tokio_tungstenite=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "reqwest=info",
    "rustls=info",
];

/// Standard error with every token value in a log line replaced (see
/// `cachearr_upstream::redact::text`): the fmt layer writes each event in one piece, so each
/// write is one whole line to search.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = cachearr_upstream::redact::text(&text);
        std::io::stderr().write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Why logging cannot be set up.
#[derive(Debug)]
pub(crate) enum LoggingError {
    /// `--log-level` is not a filter.
    Level {
        level: String,
        source: tracing_subscriber::filter::ParseError,
    },
    /// One of the built-in directives does not parse (a bug).
    Internal {
        directive: &'static str,
        source: tracing_subscriber::filter::ParseError,
    },
}

impl std::fmt::Display for LoggingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Level { level, source } => write!(f, "--log-level {level:?}: {source}"),
            Self::Internal { directive, source } => {
                write!(f, "internal log directive {directive}: {source}")
            }
        }
    }
}

impl std::error::Error for LoggingError {}

pub(crate) fn init_logging(level: Option<&str>, json: bool) -> Result<(), LoggingError> {
    use std::io::IsTerminal as _;
    // fjall and its tree log every flush and compaction at info: quiet unless asked by name.
    const QUIET: &str = "fjall=warn,lsm_tree=warn";
    let filter = match level {
        Some(level) => tracing_subscriber::EnvFilter::try_new(format!("{QUIET},{level}")).map_err(
            |source| LoggingError::Level {
                level: level.to_owned(),
                source,
            },
        )?,
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{QUIET}"))),
    };
    // Dependencies that dump whole requests (the websocket handshake with its token header,
    // HTTP connection internals) stay at info whatever the level asked for; cachearr's own
    // debug and trace lines redact tokens where they are built.
    let mut filter = filter;
    for quiet in TOKEN_DUMPING_TARGETS {
        filter = filter.add_directive(quiet.parse().map_err(|source| LoggingError::Internal {
            directive: quiet,
            source,
        })?);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr);
    if json {
        builder.json().init();
    } else {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        builder.with_ansi(colour).init();
    }
    Ok(())
}
