//! `cachearr serve`: the caching gateway.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use cachearr_gateway::config::ConfigOverrides;
use cachearr_gateway::{Config, Gateway, Profile};

/// Arguments of `cachearr serve`. Every flag can also be set with the `CACHEARR_*` variable
/// named in its help; flags and variables beat the config file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cachearr serve --plex http://192.168.1.10:32400\n  \
                  cachearr serve --jellyfin http://nas:8096 --listen 0.0.0.0:8096\n  \
                  cachearr serve --config /etc/cachearr.toml\n\n\
                  Point your tools at the proxy listener instead of the server. \
                  `cachearr config example` prints a commented config file."
)]
pub(crate) struct Args {
    /// Plex Media Server to cache (http://HOST:32400).
    #[arg(long, env = "CACHEARR_PLEX", value_name = "URL")]
    plex: Option<String>,
    /// Jellyfin server to cache (http://HOST:8096).
    #[arg(long, env = "CACHEARR_JELLYFIN", value_name = "URL")]
    jellyfin: Option<String>,
    /// TOML config file with several upstreams and policy overrides.
    #[arg(long, short, env = "CACHEARR_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Proxy listener of the (first) upstream [default: 127.0.0.1:8484].
    #[arg(long, env = "CACHEARR_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Admin listener (dashboard, /api, /metrics) [default: 127.0.0.1:8485]. Beyond loopback it
    /// needs an admin token.
    #[arg(long, env = "CACHEARR_ADMIN_LISTEN", value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// Token for the admin API's mutating endpoints (prefer the environment variable).
    #[arg(
        long,
        env = "CACHEARR_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// Directory for the disk cache and the installation secret [default: ./data].
    #[arg(long, env = "CACHEARR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Memory tier size, e.g. 512MiB [default: 256MiB].
    #[arg(long, env = "CACHEARR_MEMORY_MAX", value_name = "SIZE", value_parser = parse_size)]
    memory_max: Option<u64>,
    /// Run on memory only (no disk tier).
    #[arg(long, env = "CACHEARR_NO_DISK")]
    no_disk: bool,
    /// Do not build the library index (`[index] enabled = false`): every search goes to the
    /// server, and cachearr warns about it.
    #[arg(long, env = "CACHEARR_NO_INDEX")]
    no_index: bool,
    /// Redis / Valkey URL for a tier shared by several gateways, below memory and disk:
    /// `redis://[user:password@]host:port/db`, `rediss://` for TLS, a cluster as
    /// `redis+cluster://host:port` or comma-separated seed URLs, Sentinel as
    /// `redis+sentinel://host:port[,host:port]/master`. Give every gateway the same
    /// `{data-dir}/secret` so they share per-user entries.
    #[arg(long, env = "CACHEARR_REDIS", value_name = "URL")]
    redis: Option<String>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    cachearr_gateway::config::parse_byte_size(s)
}

/// Builds the configuration from file, environment and flags.
pub(crate) fn build_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::empty(),
    };
    let overrides = ConfigOverrides {
        plex: args.plex.clone(),
        jellyfin: args.jellyfin.clone(),
        listen: args.listen,
        admin_listen: args.admin_listen,
        data_dir: args.data_dir.clone(),
        admin_token: args.admin_token.clone(),
        redis_url: args.redis.clone(),
        memory_max_bytes: args.memory_max,
        no_disk: args.no_disk,
        no_index: args.no_index,
    };
    config.apply_overrides(overrides)?;
    Ok(config)
}

/// Runs the gateway until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let config = build_config(&args)?;
    let gateway = Gateway::builder(config)
        .build()
        .await
        .context("cannot start the gateway")?;
    let bound = gateway.bind().await?;
    for (name, addr) in bound.proxy_addrs() {
        let profile = gateway.upstream(&name).map_or(Profile::Plex, |u| u.profile);
        eprintln!("cachearr: {name} ({}) → http://{addr}", profile.as_str());
    }
    if let Some(a) = bound.admin_addr() {
        eprintln!("cachearr: admin → http://{a}");
    }
    bound.serve(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("cachearr: shutting down");
}
