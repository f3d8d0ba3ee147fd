//! One module per subcommand; [`Command`] dispatches to them.

mod sim;

use clap::Subcommand;

/// Every `cachearr` subcommand.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the simulated Plex and Jellyfin servers (for tests, demos and benchmarks).
    Sim(sim::Args),
}

impl Command {
    /// Runs the chosen subcommand to completion.
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Sim(args) => sim::run(args).await,
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
