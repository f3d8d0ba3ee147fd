//! One module per subcommand; [`Command`] dispatches to them.

mod config;
mod index;
mod matching;
mod serve;
mod sim;

use clap::Subcommand;

/// Every `cachearr` subcommand.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the simulated Plex and Jellyfin servers (for tests, demos and benchmarks).
    Sim(sim::Args),
    /// Build, inspect and search a library index (from the simulator's library for now).
    #[command(long_about = index::LONG_ABOUT)]
    Index(index::Args),
    /// Match a playlist file (CSV, JSON, M3U) against a library index.
    #[command(long_about = matching::LONG_ABOUT)]
    Match(matching::Args),
    /// Run the caching gateway in front of a Plex or Jellyfin server.
    Serve(serve::Args),
    /// Check a config file or print a commented example.
    Config(config::Args),
}

impl Command {
    /// Runs the chosen subcommand to completion.
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Sim(args) => sim::run(args).await,
            Command::Index(args) => index::run(args).await,
            Command::Match(args) => matching::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Config(args) => config::run(args).await,
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
