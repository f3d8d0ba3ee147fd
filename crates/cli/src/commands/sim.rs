//! `cachearr sim`: the simulated Plex and Jellyfin servers.

use std::time::Duration;

use anyhow::Context as _;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::{JellyfinOptions, JellyfinVersion};
use cachearr_sim::library_file::LibrarySpec;
use cachearr_sim::plextv::{PlexTv, PlexTvOptions};

/// Where the simulator's front ends listen.
struct Listeners {
    plex: std::net::SocketAddr,
    jellyfin: Option<std::net::SocketAddr>,
    emby: Option<std::net::SocketAddr>,
    plextv: Option<std::net::SocketAddr>,
}

/// Arguments of `cachearr sim`.
///
/// Serves a simulated Plex Media Server (and, with `--jellyfin-listen`, a Jellyfin server;
/// with `--emby-listen`, an Emby server)
/// over one deterministic synthetic library: the same `--seed` and sizes give the same
/// library, byte for byte. Every listener also serves the `/_sim/` control API (stats, reset,
/// faults, library changes, tokens); see docs/simulator.md.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address of the simulated Plex server.
    #[arg(long, default_value = "127.0.0.1:32400", value_name = "ADDR")]
    plex_listen: String,
    /// Address of the simulated Jellyfin server (off when not given).
    #[arg(long, value_name = "ADDR")]
    jellyfin_listen: Option<String>,
    /// The Jellyfin release to follow: 10.10.7, 10.11.11 (10.11.x) or 12.0.0, each with its
    /// own credentials, route prefixes, socket and query rules (docs/simulator.md). Changed on
    /// a running server with `POST /_sim/jellyfin/version`.
    #[arg(long, default_value = "10.11.11", value_name = "VERSION")]
    jellyfin_version: JellyfinVersion,
    /// Address of a simulated Emby 4.9 server over the same library (off when not given):
    /// numeric item ids, `X-Emby-Token` / `api_key`, routes under `/emby/` too, the socket at
    /// `/embywebsocket`; each user's `emby_token` signs in.
    #[arg(long, value_name = "ADDR")]
    emby_listen: Option<String>,
    /// Address of a simulated plex.tv (off when not given): accounts, the owner's shares with
    /// their filters, the Home's managed users, and the invited users' account tokens, which
    /// the simulated Plex server accepts only while their share stands there.
    #[arg(long, value_name = "ADDR")]
    plextv_listen: Option<String>,
    /// Jellyfin: how long `LibraryChanged` websocket messages gather changes, in milliseconds
    /// (a real server's LibraryUpdateDuration is 30000; 0 sends each change at once).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    jellyfin_library_update_ms: u64,
    /// Jellyfin: refuse the legacy credential forms (Emby scheme, X-Emby-Authorization,
    /// X-Emby-Token, api_key), as Jellyfin 12 does by default.
    #[arg(long)]
    jellyfin_no_legacy_auth: bool,
    /// Tracks in the library (over both music sections).
    #[arg(long, default_value_t = 10_000)]
    tracks: u32,
    /// Movies in the library.
    #[arg(long, default_value_t = 500)]
    movies: u32,
    /// Shows in the library (each 1–6 seasons of 6–13 episodes).
    #[arg(long, default_value_t = 50)]
    shows: u32,
    /// Seed of the library and of the users' tokens.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A built-in described library instead of a generated one: `plexapi-bootstrap` is the
    /// library python-plexapi's own test suite expects (4 movies, 2 shows, 2 artists).
    #[arg(long, value_name = "NAME", value_parser = ["plexapi-bootstrap"], conflicts_with = "library_file")]
    library: Option<String>,
    /// Serve the library described in FILE (JSON, or CSV when it ends in .csv; the format is
    /// in docs/simulator.md) instead of a generated one; --tracks/--movies/--shows are ignored.
    #[arg(long, value_name = "FILE")]
    library_file: Option<std::path::PathBuf>,
    /// Base latency of every request, in milliseconds (per-item costs come on top).
    #[arg(long, default_value_t = 10)]
    latency_ms: u64,
    /// Cost per item returned, in microseconds (default: 5 ms, a real server's full-dump rate).
    #[arg(long, default_value_t = 5_000, value_name = "US")]
    item_cost_us: u64,
    /// Cost per item scanned (filters, counts, searches), in microseconds.
    #[arg(long, default_value_t = 10, value_name = "US")]
    scan_cost_us: u64,
    /// No cost at all (ignores --latency-ms and the per-item costs): as fast as possible.
    #[arg(long)]
    no_cost: bool,
    /// Webhook URL to post events to; repeatable. Prefix with plex= or jellyfin= to receive
    /// only one server's posts.
    #[arg(long = "webhook", value_name = "URL")]
    webhooks: Vec<String>,
    /// Print the URLs and users as JSON (one object) instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the simulator until Ctrl-C.
#[allow(
    clippy::disallowed_methods,
    reason = "how long a command took is real time"
)]
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let cost = if args.no_cost {
        CostModel::zero()
    } else {
        CostModel {
            base: Duration::from_millis(args.latency_ms),
            per_item_scanned: Duration::from_micros(args.scan_cost_us),
            per_item_returned: Duration::from_micros(args.item_cost_us),
        }
    };
    let started = std::time::Instant::now();
    let spec = match (&args.library, &args.library_file) {
        (Some(_), _) => Some(LibrarySpec::plexapi_bootstrap()),
        (None, Some(path)) => Some(
            LibrarySpec::read(path)
                .with_context(|| format!("cannot load --library-file {}", path.display()))?,
        ),
        (None, None) => None,
    };
    let mut builder = Sim::builder();
    if let Some(spec) = spec {
        builder = builder.library_spec(spec);
    }
    let sim = builder
        .tracks(args.tracks)
        .movies(args.movies)
        .shows(args.shows)
        .seed(args.seed)
        .cost(cost)
        .webhooks(args.webhooks.iter().cloned())
        .build()
        .context("cannot build the simulator")?;
    let generated = started.elapsed();
    let plex = tokio::net::TcpListener::bind(&args.plex_listen)
        .await
        .with_context(|| format!("cannot listen on {} (--plex-listen)", args.plex_listen))?;
    let plex_addr = plex.local_addr()?;
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(sim.serve_plex(plex));
    let update_delay = Duration::from_millis(args.jellyfin_library_update_ms);
    let jellyfin_addr = match &args.jellyfin_listen {
        Some(addr) => {
            let (listener, bound) = bind(addr, "--jellyfin-listen").await?;
            let options = JellyfinOptions {
                library_update_delay: update_delay,
                legacy_authorization: !args.jellyfin_no_legacy_auth,
                version: args.jellyfin_version,
                ..JellyfinOptions::default()
            };
            tasks.spawn(sim.serve_jellyfin(listener, options));
            Some(bound)
        }
        None => None,
    };
    let emby_addr = match &args.emby_listen {
        Some(addr) => {
            let (listener, bound) = bind(addr, "--emby-listen").await?;
            let options = JellyfinOptions {
                library_update_delay: update_delay,
                ..JellyfinOptions::default()
            };
            tasks.spawn(sim.serve_emby(listener, options));
            Some(bound)
        }
        None => None,
    };
    let plextv_addr = match &args.plextv_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (--plextv-listen)"))?;
            let bound = listener.local_addr()?;
            let options = PlexTvOptions {
                server_url: Some(format!("http://{plex_addr}")),
            };
            tasks.spawn(cachearr_sim::plextv::serve(&sim, listener, options));
            Some(bound)
        }
        None => None,
    };
    let listeners = Listeners {
        plex: plex_addr,
        jellyfin: jellyfin_addr,
        emby: emby_addr,
        plextv: plextv_addr,
    };
    print_banner(&sim, &args, &listeners, generated);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            eprintln!("stopping");
            Ok(())
        }
        Some(done) = tasks.join_next() => {
            done.context("a listener task failed")?.context("a listener stopped")?;
            Ok(())
        }
    }
}

/// Binds `addr`, naming `flag` when it cannot.
async fn bind(
    addr: &str,
    flag: &str,
) -> anyhow::Result<(tokio::net::TcpListener, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({flag})"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

fn print_banner(sim: &Sim, args: &Args, at: &Listeners, generated: Duration) {
    let (plex, jellyfin) = (at.plex, at.jellyfin);
    let state = sim.state();
    let plextv = sim.plextv();
    let lib = sim.library();
    if args.json {
        let users: Vec<serde_json::Value> = state
            .users()
            .iter()
            .map(|u| {
                serde_json::json!({
                    "name": u.name, "password": u.password, "owner": u.is_owner,
                    "plex_token": u.plex_token, "jellyfin_token": u.jellyfin_token,
                    "jellyfin_id": u.jellyfin_id, "sections": u.sections, "home": u.home,
                    "restrictions": cachearr_sim::control::restrictions_json(u),
                    "plextv_account_token": plextv.account_token(u),
                    "plextv_account_id": PlexTv::account_id(u),
                    "emby_token": u.emby_token(),
                })
            })
            .collect();
        let out = serde_json::json!({
            "plex_url": format!("http://{plex}"),
            "jellyfin_url": jellyfin.map(|j| format!("http://{j}")),
            "jellyfin_version": args.jellyfin_version.version_string(),
            "emby_url": at.emby.map(|e| format!("http://{e}")),
            "plextv_url": at.plextv.map(|p| format!("http://{p}")),
            "seed": args.seed,
            "items": lib.len(),
            "generated_ms": generated.as_millis() as u64,
            "users": users,
        });
        println!("{out}");
        return;
    }
    println!(
        "cachearr sim: {} items generated in {:.2?} (seed {}, ~{} MiB)",
        lib.len(),
        generated,
        args.seed,
        lib.heap_bytes() / (1024 * 1024)
    );
    println!("  Plex:     http://{plex}");
    if let Some(j) = jellyfin {
        println!("  Jellyfin: http://{j}  ({})", args.jellyfin_version);
    }
    if let Some(e) = at.emby {
        println!(
            "  Emby:     http://{e}  ({})",
            cachearr_sim::jellyfin::emby::EMBY_VERSION
        );
    }
    if let Some(p) = at.plextv {
        println!("  plex.tv:  http://{p}  (accounts and shares: /_sim/plextv/accounts)");
    }
    println!(
        "  control:  http://{plex}/_sim/stats  (also /_sim/faults, /_sim/library/*, /_sim/tokens)"
    );
    println!("users:");
    for u in state.users() {
        let mut access = match &u.sections {
            None => "all sections".to_string(),
            Some(s) => format!("sections {s:?}"),
        };
        if u.plex_restricted() || u.jellyfin_restricted() {
            access.push_str(", restricted inside them");
        }
        if u.home {
            access.push_str(", managed home user");
        }
        println!(
            "  {:<6} password {:<16} plex token {}  jellyfin token {}  emby token {}  ({}{access})",
            u.name,
            u.password,
            u.plex_token,
            u.jellyfin_token,
            u.emby_token(),
            if u.is_owner { "owner, " } else { "" }
        );
    }
}
