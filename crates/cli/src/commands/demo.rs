//! `cachearr demo`: a simulated Plex server, cachearr in front of it, a scripted workload run
//! once directly and once through cachearr, and a report of what the server saw and what the
//! clients felt, then exits (`--keep-serving` keeps both running, URLs printed, until Ctrl-C).
//!
//! cachearr's own library index is built first, before either run, and its crawl is reported
//! on a line of its own: counted inside the direct run (as it once was) it made the server seem
//! to receive more requests than the workload sends.
//!
//! The workload is modelled on how real tools load media servers,
//! three actors at once:
//! - **a dashboard** (Tautulli): polls `/status/sessions` and `/activities`;
//! - **a user browsing** (a Kodi add-on): sections, a music section's albums, an
//!   album's tracks, a track's metadata, a show's seasons and one season's episodes — and back
//!   to the same albums, as people do;
//! - **a script paging the whole library** (Kometa, playlist sync): every track
//!   in pages of 100 with the `X-Plex-Container-*` headers, three times (Kometa, Tautulli and
//!   a playlist sync each do it).
//!
//! The request plan is fixed (counts, not durations) so both runs do the same work.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cachearr_config::Config;
use cachearr_dialect::Profile;
use cachearr_gateway::Gateway;
use cachearr_sim::Sim;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

/// Arguments of `cachearr demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// After the report, keep the simulated server and cachearr running (URLs printed) until
    /// Ctrl-C, to try them with curl, python-plexapi or the dashboard.
    #[arg(long)]
    keep_serving: bool,
    /// Exit after the report (the default; kept for scripts written when serving was).
    #[arg(long, hide = true, conflicts_with = "keep_serving")]
    once: bool,
    /// Print the report as JSON (implies no progress bar).
    #[arg(long)]
    json: bool,
    /// Tracks in the simulated library.
    #[arg(long, default_value_t = 1000)]
    tracks: u32,
    /// Base latency of the simulated server, in milliseconds (per-item costs come on top).
    #[arg(long, default_value_t = 10)]
    latency_ms: u64,
    /// Run only the workload against this Plex URL (a proxy under test) and print JSON; for
    /// `bench/gateway/run.sh`.
    #[arg(long, hide = true, requires = "token")]
    workload_against: Option<String>,
    /// The Plex token for `--workload-against`.
    #[arg(long, hide = true)]
    token: Option<String>,
}

/// Requests of each actor, fixed so that both runs do the same work.
const DASHBOARD_POLLS: usize = 24;
const DASHBOARD_INTERVAL: Duration = Duration::from_millis(250);
const BROWSE_VISITS: usize = 3;
const ALBUMS_PER_VISIT: usize = 6;
const PAGE_SIZE: usize = 100;
const PAGING_RUNS: usize = 3;

/// What one actor felt.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ActorReport {
    requests: usize,
    errors: usize,
    median_ms: f64,
    p95_ms: f64,
}

impl ActorReport {
    fn from_latencies(mut ms: Vec<f64>, errors: usize) -> Self {
        ms.sort_by(f64::total_cmp);
        let pick = |p: f64| {
            if ms.is_empty() {
                0.0
            } else {
                ms[((ms.len() - 1) as f64 * p).round() as usize]
            }
        };
        ActorReport {
            requests: ms.len(),
            errors,
            median_ms: pick(0.5),
            p95_ms: pick(0.95),
        }
    }
}

/// One run of the workload.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RunReport {
    /// Requests the server received (from `/_sim/stats`), when known.
    server_requests: Option<u64>,
    /// Simulated server work, seconds.
    server_work_secs: Option<f64>,
    /// Requests the workload made: the actors' and the one sections lookup that plans them.
    requests: usize,
    dashboard: ActorReport,
    browsing: ActorReport,
    paging: ActorReport,
    wall_secs: f64,
}

/// A small HTTP client for one base URL and token.
#[derive(Clone)]
struct PlexClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl PlexClient {
    fn new(base: &str, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(16)
            .build()
            .context("cannot build an HTTP client")?;
        Ok(PlexClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// GETs `path` as JSON; returns the body and the latency in ms.
    #[allow(
        clippy::disallowed_methods,
        reason = "the demo's waits on the servers it started and its timings are real time"
    )]
    async fn get(&self, path: &str, paging: Option<(usize, usize)>) -> (Option<Value>, f64) {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .header("X-Plex-Token", &self.token)
            .header("Accept", "application/json")
            .header("X-Plex-Client-Identifier", "cachearr-demo")
            .header("X-Plex-Product", "cachearr demo");
        if let Some((start, size)) = paging {
            request = request
                .header("X-Plex-Container-Start", start.to_string())
                .header("X-Plex-Container-Size", size.to_string());
        }
        let started = Instant::now();
        let result = match request.send().await {
            Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
            _ => None,
        };
        (result, started.elapsed().as_secs_f64() * 1000.0)
    }
}

fn metadata(value: &Option<Value>) -> Vec<Value> {
    value
        .as_ref()
        .and_then(|v| {
            v.pointer("/MediaContainer/Metadata")
                .or_else(|| v.pointer("/MediaContainer/Directory"))
        })
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn rating_key(item: &Value) -> Option<String> {
    match item.get("ratingKey")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The sections of the server: (id, type) pairs.
async fn sections(client: &PlexClient) -> Vec<(String, String)> {
    let (body, _) = client.get("/library/sections", None).await;
    metadata(&body)
        .iter()
        .filter_map(|s| {
            let key = match s.get("key")? {
                Value::String(k) => k.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((key, s.get("type")?.as_str()?.to_owned()))
        })
        .collect()
}

/// The number of requests the plan makes (for the progress bar), given the library size.
fn planned_requests(tracks: usize) -> u64 {
    let pages = tracks.div_ceil(PAGE_SIZE).max(1);
    let browse = BROWSE_VISITS * (2 + ALBUMS_PER_VISIT * 2 + 3);
    (2 * DASHBOARD_POLLS + browse + PAGING_RUNS * (pages + 1)) as u64
}

/// Runs the three actors at once against `client`.
#[allow(
    clippy::disallowed_methods,
    reason = "the demo's waits on the servers it started and its timings are real time"
)]
async fn run_workload(client: &PlexClient, progress: &ProgressBar) -> RunReport {
    let started = Instant::now();
    let sections = sections(client).await;
    let music = sections
        .iter()
        .find(|(_, t)| t == "artist")
        .map(|(k, _)| k.clone());
    let shows = sections
        .iter()
        .find(|(_, t)| t == "show")
        .map(|(k, _)| k.clone());

    let dashboard = tokio::spawn(dashboard(client.clone(), progress.clone()));
    let browsing = tokio::spawn(browsing(
        client.clone(),
        progress.clone(),
        music.clone(),
        shows,
    ));
    let paging = tokio::spawn(paging(client.clone(), progress.clone(), music));
    let (dashboard, browsing, paging) = tokio::join!(dashboard, browsing, paging);
    let (dashboard, browsing, paging) = (
        dashboard.unwrap_or_default(),
        browsing.unwrap_or_default(),
        paging.unwrap_or_default(),
    );
    RunReport {
        server_requests: None,
        server_work_secs: None,
        requests: 1 + dashboard.requests + browsing.requests + paging.requests,
        dashboard,
        browsing,
        paging,
        wall_secs: started.elapsed().as_secs_f64(),
    }
}

/// The dashboard: polls sessions and activities at its interval.
async fn dashboard(client: PlexClient, progress: ProgressBar) -> ActorReport {
    let (mut ms, mut errors) = (Vec::new(), 0);
    for _ in 0..DASHBOARD_POLLS {
        for path in ["/status/sessions", "/activities"] {
            let (body, t) = client.get(path, None).await;
            errors += usize::from(body.is_none());
            ms.push(t);
            progress.inc(1);
        }
        tokio::time::sleep(DASHBOARD_INTERVAL).await;
    }
    ActorReport::from_latencies(ms, errors)
}

/// A person browsing: sections, a music section's albums and their tracks, a show's seasons
/// and one season.
async fn browsing(
    client: PlexClient,
    progress: ProgressBar,
    music: Option<String>,
    shows: Option<String>,
) -> ActorReport {
    let (mut ms, mut errors) = (Vec::new(), 0);
    let mut record = |body: &Option<Value>, t: f64| {
        errors += usize::from(body.is_none());
        ms.push(t);
        progress.inc(1);
    };
    for visit_index in 0..BROWSE_VISITS {
        let (body, t) = client.get("/library/sections", None).await;
        record(&body, t);
        let Some(music) = &music else { continue };
        let albums_path = format!("/library/sections/{music}/all?type=9");
        let (albums, t) = client.get(&albums_path, Some((0, 50))).await;
        record(&albums, t);
        for album in metadata(&albums).iter().take(ALBUMS_PER_VISIT) {
            let Some(key) = rating_key(album) else {
                continue;
            };
            let (tracks, t) = client
                .get(&format!("/library/metadata/{key}/children"), None)
                .await;
            record(&tracks, t);
            let first = metadata(&tracks).first().and_then(rating_key);
            let path = format!("/library/metadata/{}", first.unwrap_or(key));
            let (body, t) = client.get(&path, None).await;
            record(&body, t);
        }
        if let Some(shows) = &shows {
            let (list, t) = client
                .get(&format!("/library/sections/{shows}/all"), None)
                .await;
            record(&list, t);
            if let Some(show) = metadata(&list).first().and_then(rating_key) {
                let path = format!("/library/metadata/{show}/children");
                let (seasons, t) = client.get(&path, None).await;
                record(&seasons, t);
                // Then into a season (what cachearr's prefetch anticipated).
                let visit = metadata(&seasons).len().max(1);
                let season = metadata(&seasons)
                    .get(visit_index % visit)
                    .and_then(rating_key);
                if let Some(season) = season {
                    let path = format!("/library/metadata/{season}/children");
                    let (body, t) = client.get(&path, None).await;
                    record(&body, t);
                }
            }
        }
    }
    ActorReport::from_latencies(ms, errors)
}

/// A script paging through the whole music library.
async fn paging(client: PlexClient, progress: ProgressBar, music: Option<String>) -> ActorReport {
    let (mut ms, mut errors) = (Vec::new(), 0);
    let Some(music) = music else {
        return ActorReport::default();
    };
    for _run in 0..PAGING_RUNS {
        let mut start = 0;
        loop {
            let path = format!("/library/sections/{music}/all?type=10");
            let (body, t) = client.get(&path, Some((start, PAGE_SIZE))).await;
            errors += usize::from(body.is_none());
            ms.push(t);
            progress.inc(1);
            let total = body
                .as_ref()
                .and_then(|b| b.pointer("/MediaContainer/totalSize"))
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize;
            let got = metadata(&body).len();
            start += got;
            if got == 0 || start >= total {
                break;
            }
        }
    }
    ActorReport::from_latencies(ms, errors)
}

/// Binds `preferred` if free (and the demo keeps serving), else an ephemeral loopback port.
async fn listener(preferred: u16, ephemeral: bool) -> anyhow::Result<tokio::net::TcpListener> {
    if !ephemeral && let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", preferred)).await {
        return Ok(l);
    }
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind a loopback port")
}

fn free_addr(preferred: u16, ephemeral: bool) -> std::net::SocketAddr {
    if !ephemeral && std::net::TcpListener::bind(("127.0.0.1", preferred)).is_ok() {
        return std::net::SocketAddr::from(([127, 0, 0, 1], preferred));
    }
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

fn progress_bar(json: bool, label: &str, total: u64) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "  {prefix:<18} {bar:32.cyan/blue} {pos:>4}/{len} requests  {elapsed}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("█▉▊▋▌▍▎▏ ");
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}

/// `cachearr demo`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(url) = &args.workload_against {
        let client = PlexClient::new(url, args.token.as_deref().unwrap_or_default())?;
        let report = run_workload(&client, &ProgressBar::hidden()).await;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    // Scripts and tests run it to completion: ephemeral ports never collide with a running
    // Plex or cachearr; kept serving, the usual ports are tried first.
    let ephemeral = !args.keep_serving;
    let sim = Sim::builder()
        .tracks(args.tracks)
        .movies(60)
        .shows(6)
        .seed(2026)
        .latency(Duration::from_millis(args.latency_ms))
        .name("cachearr demo")
        .build()
        .context("cannot build the simulated library")?;
    let token = sim.state().owner().plex_token.clone();
    let sim_listener = listener(32400, ephemeral).await?;
    let sim_addr = sim_listener.local_addr()?;
    let sim_task = tokio::spawn(sim.serve_plex(sim_listener));
    let sim_url = format!("http://{sim_addr}");

    let served = serve_gateway(&sim_url, &token, ephemeral).await?;
    let (library, proxy_url, admin_addr) = (&served.library, &served.proxy_url, served.admin_addr);

    if !args.json {
        print_plan(args.tracks);
    }
    let crawl = build_index_first(library, &sim, args.json).await;
    let planned = planned_requests(args.tracks as usize);
    let mut reports = Vec::new();
    for (label, url) in [("direct", &sim_url), ("through cachearr", proxy_url)] {
        sim.reset_stats();
        let client = PlexClient::new(url, &token)?;
        let bar = progress_bar(args.json, label, planned);
        let mut report = run_workload(&client, &bar).await;
        bar.finish_and_clear();
        let stats = sim.stats();
        report.server_requests = Some(stats.total);
        report.server_work_secs = Some(stats.cost_us as f64 / 1e6);
        if !args.json {
            println!("  {label:<18} done in {:.1} s", report.wall_secs);
        }
        reports.push(report);
    }

    if args.json {
        let json = serde_json::json!({
            "index_crawl": crawl,
            "direct": reports[0],
            "cachearr": reports[1],
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", render_report(&crawl, &reports[0], &reports[1]));
    }

    if args.keep_serving {
        print_addresses(proxy_url, &sim_url, admin_addr, &token);
        println!("Press Ctrl-C to stop.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        println!();
    }
    served.shut_down().await;
    sim_task.abort();
    Ok(())
}

/// The demo's gateway in front of the simulated server, serving until [`Self::shut_down`].
struct ServedGateway {
    /// The gateway's library copy, whose first build the demo waits for.
    library: std::sync::Arc<cachearr_copy::Library>,
    proxy_url: String,
    admin_addr: std::net::SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), cachearr_gateway::GatewayError>>,
    /// Its data directory, removed when the demo ends.
    _data_dir: tempfile::TempDir,
}

impl ServedGateway {
    /// Ends serving and waits (at most 15 s) for the gateway to end.
    async fn shut_down(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(Duration::from_secs(15), self.task).await;
    }
}

/// Starts a gateway in front of `sim_url` with the owner's `token` (so that it subscribes to
/// the server's notifications), on the usual ports unless `ephemeral`.
async fn serve_gateway(
    sim_url: &str,
    token: &str,
    ephemeral: bool,
) -> anyhow::Result<ServedGateway> {
    let data_dir = tempfile::Builder::new()
        .prefix("cachearr-demo-")
        .tempdir()?;
    let mut config = Config::single(Profile::Plex, sim_url, free_addr(8484, ephemeral))
        .context("demo gateway configuration")?;
    config.admin_listen = free_addr(8485, ephemeral);
    config.data_dir = data_dir.path().to_path_buf();
    // The owner's token lets cachearr subscribe to the server's notifications (change events).
    config.upstreams[0].token = Some(token.to_owned());
    let (gateway, library) = cachearr_copy::build(Gateway::builder(config))
        .await
        .context("cannot start the gateway")?;
    let bound = gateway
        .bind()
        .await
        .context("cannot bind the gateway's listeners")?;
    let proxy_addr = bound
        .proxy_addrs()
        .first()
        .map(|(_, a)| *a)
        .context("the gateway has no proxy listener")?;
    let admin_addr = bound
        .admin_addr()
        .context("the gateway has no admin listener")?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let gateway_task = tokio::spawn(bound.serve(cachearr_admin::router, async move {
        let _ = stop_rx.await;
    }));
    Ok(ServedGateway {
        library,
        proxy_url: format!("http://{proxy_addr}"),
        admin_addr,
        shutdown: stop_tx,
        task: gateway_task,
        _data_dir: data_dir,
    })
}

/// What the demo is about to run.
fn print_plan(tracks: u32) {
    println!(
        "cachearr demo: a simulated Plex server with {} tracks, cachearr in front of it.",
        tracks
    );
    println!("The same workload runs twice: directly against the server, then through cachearr.");
    println!("  dashboard   polls /status/sessions and /activities ({DASHBOARD_POLLS}× each)");
    println!(
        "  browsing    sections, albums, tracks, a show's seasons, a season ({BROWSE_VISITS} visits)"
    );
    println!(
        "  script      pages the whole music library, {PAGE_SIZE} per page ({PAGING_RUNS}×)\n"
    );
}

/// Where the demo keeps serving, and how to try it.
fn print_addresses(proxy_url: &str, sim_url: &str, admin_addr: std::net::SocketAddr, token: &str) {
    println!("\ncachearr keeps serving; point a Plex client or curl at it:");
    println!("  Plex API through cachearr   {proxy_url}");
    println!("  simulated Plex (direct)     {sim_url}");
    println!("  dashboard and admin API     http://{admin_addr}/");
    println!("  token (simulated owner)     {token}");
    println!("  try: curl -s -H 'Accept: application/json' -H 'X-Plex-Token: {token}' \\");
    println!("         {proxy_url}/library/sections -D - -o /dev/null");
    println!("       cargo run -- stats --admin-url http://{admin_addr}");
}

/// What cachearr's own index crawl cost the server, measured before the runs.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CrawlReport {
    /// Requests the crawl sent (and the change-event subscription's connection).
    server_requests: u64,
    /// Simulated server work, seconds.
    server_work_secs: f64,
    /// Whether the index was ready before the runs (else the runs overlap the rest of it).
    ready: bool,
}

/// Waits (up to two minutes) for the gateway's first index build and returns what it cost the
/// server, so that neither run carries it.
#[allow(
    clippy::disallowed_methods,
    reason = "the demo's waits on the servers it started and its timings are real time"
)]
async fn build_index_first(library: &cachearr_copy::Library, sim: &Sim, json: bool) -> CrawlReport {
    use cachearr_copy::upstream_index::status::IndexState;
    let name = (library.upstreams().first())
        .map(|u| u.name.to_string())
        .unwrap_or_default();
    let Some(index) = library.index(&name) else {
        return CrawlReport::default();
    };
    let bar = progress_bar(json, "cachearr builds its library index", 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let ready = loop {
        match index.status().state {
            // The library copy's frame probes follow the crawl: counted with it.
            IndexState::Ready if !index.status().copy.probing => break true,
            IndexState::Failed | IndexState::Disabled => break false,
            _ if Instant::now() > deadline => break false,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    bar.finish_and_clear();
    let stats = sim.stats();
    if !json {
        println!(
            "  cachearr's library index: {} server requests, once, before the runs{}",
            stats.total,
            if ready { "" } else { " (not finished)" }
        );
    }
    CrawlReport {
        server_requests: stats.total,
        server_work_secs: stats.cost_us as f64 / 1e6,
        ready,
    }
}

fn render_report(crawl: &CrawlReport, direct: &RunReport, cached: &RunReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}×", a / b)
        } else {
            "–".to_owned()
        }
    };
    let _ = writeln!(
        out,
        "\nWhat the server saw                direct    through cachearr"
    );
    let (d, c) = (
        direct.server_requests.unwrap_or(0),
        cached.server_requests.unwrap_or(0),
    );
    let saved = if d > 0 {
        100.0 * (1.0 - c as f64 / d as f64)
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "  requests                     {d:>10}    {c:>10}   ({saved:.0} % fewer; the workload sends {} each way)",
        direct.requests
    );
    let (dw, cw) = (
        direct.server_work_secs.unwrap_or(0.0),
        cached.server_work_secs.unwrap_or(0.0),
    );
    let _ = writeln!(
        out,
        "  work (simulated time)      {dw:>10.1} s  {cw:>10.1} s"
    );
    let _ = writeln!(
        out,
        "  cachearr's index crawl, once before both runs: {} requests, {:.1} s of work",
        crawl.server_requests, crawl.server_work_secs
    );
    let _ = writeln!(
        out,
        "\nWhat the clients felt (median)    direct    through cachearr"
    );
    for (name, a, b) in [
        ("dashboard", &direct.dashboard, &cached.dashboard),
        ("browsing", &direct.browsing, &cached.browsing),
        ("library paging", &direct.paging, &cached.paging),
    ] {
        let _ = writeln!(
            out,
            "  {name:<22} {:>10.1} ms {:>10.1} ms   ({} faster)",
            a.median_ms,
            b.median_ms,
            ratio(a.median_ms, b.median_ms)
        );
    }
    let _ = writeln!(
        out,
        "  {:<22} {:>10.1} s  {:>10.1} s",
        "whole workload", direct.wall_secs, cached.wall_secs
    );
    let polling_floor = DASHBOARD_POLLS as f64 * DASHBOARD_INTERVAL.as_secs_f64();
    let _ = writeln!(
        out,
        "\n  Each answer from the cache is many times faster, but the whole workload only {}:\n  \
         the dashboard polls {DASHBOARD_POLLS} times, {} ms apart, so a run lasts at least \
         {polling_floor:.1} s\n  either way. A cache shortens the waits for answers, not the \
         waits between polls.",
        ratio(direct.wall_secs, cached.wall_secs),
        DASHBOARD_INTERVAL.as_millis()
    );
    let errors = |r: &RunReport| r.dashboard.errors + r.browsing.errors + r.paging.errors;
    if errors(direct) + errors(cached) > 0 {
        let _ = writeln!(
            out,
            "\n  note: {} direct and {} cached requests failed (endpoints the simulator lacks?)",
            errors(direct),
            errors(cached)
        );
    }
    out
}
