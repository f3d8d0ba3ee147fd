//! `cachearr sim`: the simulated Plex and Jellyfin servers.

/// Arguments of `cachearr sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs the simulator until Ctrl-C.
pub(crate) async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not built yet")
}
