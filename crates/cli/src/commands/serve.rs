//! `cachearr serve`: the caching gateway.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cachearr_config::Config;
use cachearr_config::{ConfigError, ConfigOverrides, UPSTREAM_ENV_PREFIX, secret_from};
use cachearr_dialect::Profile;
use cachearr_gateway::webhook_secret;

/// Arguments of `cachearr serve`. Every flag can also be set with the `CACHEARR_*` variable
/// named in its help; flags and variables beat the config file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cachearr serve --plex http://192.168.1.10:32400\n  \
                  cachearr serve --jellyfin http://nas:8096 --listen 0.0.0.0:8096\n  \
                  cachearr serve --emby http://nas:8096 --emby-token KEY\n  \
                  cachearr serve --http http://localhost:8989\n  \
                  cachearr serve --config /etc/cachearr.toml\n\n\
                  Point your tools at the proxy listener instead of the server. \
                  `cachearr config example` prints a commented config file.\n\n\
                  Upstreams of a config file take their owner token from \
                  CACHEARR_UPSTREAM_<NAME>_TOKEN or CACHEARR_UPSTREAM_<NAME>_TOKEN_FILE \
                  (<NAME> upper case, '-' as '_'), which beat --plex-token and the file."
)]
pub(crate) struct Args {
    /// Plex Media Server to cache (http://HOST:32400).
    #[arg(long, env = "CACHEARR_PLEX", value_name = "URL")]
    plex: Option<String>,
    /// Jellyfin server to cache (http://HOST:8096).
    #[arg(long, env = "CACHEARR_JELLYFIN", value_name = "URL")]
    jellyfin: Option<String>,
    /// Emby server to cache (http://HOST:8096).
    #[arg(long, env = "CACHEARR_EMBY", value_name = "URL")]
    emby: Option<String>,
    /// Any HTTP API to cache as the HTTP caching standard says (RFC 9111: the responses'
    /// Cache-Control, Expires, validators and Vary decide).
    #[arg(long, env = "CACHEARR_HTTP", value_name = "URL")]
    http: Option<String>,
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
    /// Token for the admin API's mutating endpoints (prefer the environment variable or
    /// --admin-token-file).
    #[arg(
        long,
        env = "CACHEARR_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// File holding the admin token (Docker / compose secrets, systemd credentials).
    #[arg(long, env = "CACHEARR_ADMIN_TOKEN_FILE", value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// The Plex server owner's token (X-Plex-Token). cachearr reads the library with it to
    /// answer searches locally, listens to change notifications and syncs playlists; without it
    /// requests are still cached and passed on. Beats `token` in the config file.
    #[arg(
        long,
        env = "CACHEARR_PLEX_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    plex_token: Option<String>,
    /// File holding the Plex owner token (e.g. /run/secrets/plex_token).
    #[arg(long, env = "CACHEARR_PLEX_TOKEN_FILE", value_name = "FILE")]
    plex_token_file: Option<PathBuf>,
    /// A Jellyfin API key (Dashboard → API Keys) or an administrator's token; used as
    /// --plex-token is.
    #[arg(
        long,
        env = "CACHEARR_JELLYFIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    jellyfin_token: Option<String>,
    /// File holding the Jellyfin token.
    #[arg(long, env = "CACHEARR_JELLYFIN_TOKEN_FILE", value_name = "FILE")]
    jellyfin_token_file: Option<PathBuf>,
    /// An Emby API key (Settings → Advanced → API Keys) or an administrator's access token;
    /// used as --plex-token is.
    #[arg(
        long,
        env = "CACHEARR_EMBY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    emby_token: Option<String>,
    /// File holding the Emby token.
    #[arg(long, env = "CACHEARR_EMBY_TOKEN_FILE", value_name = "FILE")]
    emby_token_file: Option<PathBuf>,
    /// Directory for the disk cache and the installation secret [default: ./data].
    #[arg(long, env = "CACHEARR_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// What the cache may hold in memory, all shares together (memory tier, disk block cache,
    /// write queue, gzip copies, body files), e.g. 512MiB [default: 256MiB].
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
    /// Measurement mode, off by default and never for production: the gateway's clock can be
    /// moved on with `POST /api/clock/advance?secs=N` on the admin listener (admin token as
    /// for the other changes), so a benchmark sees what a pass costs a day later without
    /// waiting a day. Every TTL and proof then ages by the moved time.
    #[arg(long, env = "CACHEARR_MOVABLE_CLOCK")]
    movable_clock: bool,
}

impl Args {
    /// Sets the config file (`cachearr config check FILE`).
    pub(crate) fn set_config_file(&mut self, file: PathBuf) {
        self.config = Some(file);
    }

    /// The config file, if any.
    pub(crate) fn config_file(&self) -> Option<&Path> {
        self.config.as_deref()
    }
}

fn parse_size(s: &str) -> Result<u64, cachearr_config::ValueError> {
    cachearr_config::parse_byte_size(s)
}

/// Builds the configuration from file, environment and flags: the one path `serve` and
/// `config check` share, so a file that checks is a file that starts.
pub(crate) fn build_config(args: &Args) -> Result<Config, ConfigError> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::empty(),
    };
    let secret = |value: &Option<String>, file: &Option<PathBuf>, what: &str| {
        secret_from(value.as_deref(), file.as_deref(), what)
    };
    let upstream_env = std::env::vars()
        .filter(|(k, _)| k.starts_with(UPSTREAM_ENV_PREFIX))
        .collect();
    let urls = [
        (Profile::Plex, &args.plex),
        (Profile::Jellyfin, &args.jellyfin),
        (Profile::Emby, &args.emby),
        (Profile::Http, &args.http),
    ]
    .into_iter()
    .filter_map(|(profile, url)| Some((profile, url.clone()?)))
    .collect();
    let owner_tokens = [
        (
            Profile::Plex,
            secret(&args.plex_token, &args.plex_token_file, "Plex token file")?,
        ),
        (
            Profile::Jellyfin,
            secret(
                &args.jellyfin_token,
                &args.jellyfin_token_file,
                "Jellyfin token file",
            )?,
        ),
        (
            Profile::Emby,
            secret(&args.emby_token, &args.emby_token_file, "Emby token file")?,
        ),
    ]
    .into_iter()
    .filter_map(|(profile, token)| Some((profile, token?)))
    .collect();
    let overrides = ConfigOverrides {
        urls,
        listen: args.listen,
        admin_listen: args.admin_listen,
        data_dir: args.data_dir.clone(),
        admin_token: secret(
            &args.admin_token,
            &args.admin_token_file,
            "admin token file",
        )?,
        owner_tokens,
        upstream_env,
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
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    // Each client connection holds a descriptor: start with all the process may have.
    let (before, after) = cachearr_wire::connections::raise_open_file_limit();
    if after > before {
        tracing::info!(from = before, to = after, "raised the open-file limit");
    } else {
        tracing::info!(limit = after, "open-file limit");
    }
    let data_dir = config.data_dir.clone();
    let mut builder = cachearr_gateway::Gateway::builder(config);
    if args.movable_clock {
        tracing::warn!(
            "measurement mode: the clock can be moved on through POST /api/clock/advance \
             (--movable-clock); not for production"
        );
        builder = builder.movable_clock(std::sync::Arc::new(
            cachearr_gateway::movable_clock::MovableClock::new(),
        ));
    }
    let gateway = match cachearr_copy::build(builder).await {
        Ok((gateway, _library)) => gateway,
        Err(e) => return Err(explain_build_error(e, &data_dir)),
    };
    let bound = gateway.bind().await?;
    for (name, addr) in bound.proxy_addrs() {
        let profile = gateway.upstream(&name).map_or(Profile::Plex, |u| u.profile);
        say!("cachearr: {name} ({}) → http://{addr}", profile.as_str());
    }
    if let Some(a) = bound.admin_addr() {
        say!("cachearr: admin → http://{a}");
        // Webhooks are authenticated by the secret in their URL: this is what to give the
        // server. The secret itself stays in its file: a service's log is read more widely.
        for up in gateway.upstreams() {
            say!(
                "cachearr: {} webhook URL → {}",
                up.name,
                webhook_secret::url_template(a, up.profile.as_str(), &up.name)
            );
        }
        if !gateway.upstreams().is_empty() {
            say!("cachearr: {}", webhook_secret::where_it_is(&data_dir));
        }
    }
    // Reachable? Owner token accepted? Said once, in plain words; the gateway serves meanwhile.
    for up in gateway.upstreams().to_vec() {
        tokio::spawn(async move {
            let check = cachearr_gateway::startup::check_upstream(&up).await;
            for (warn, line) in check.lines() {
                if warn {
                    tracing::warn!("{line}");
                } else {
                    tracing::info!("{line}");
                }
            }
        });
    }
    bound
        .serve(cachearr_admin::router, shutdown_signal())
        .await?;
    Ok(())
}

/// Turns a start-up failure into advice where the cause is a known situation.
fn explain_build_error(e: cachearr_gateway::GatewayError, data_dir: &Path) -> anyhow::Error {
    let text = format!("{e:?} {e}");
    if text.contains("Locked") {
        return anyhow::anyhow!(
            "another cachearr is using the data directory {}: stop it, or give this one its own \
             --data-dir (CACHEARR_DATA_DIR)",
            data_dir.display()
        );
    }
    anyhow::Error::new(e).context("cannot start the gateway")
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
    say!("cachearr: shutting down");
}
