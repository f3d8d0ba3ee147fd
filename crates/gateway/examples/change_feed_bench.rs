//! Measures cache validity from the change feed (`docs/change-feed.md`) on the Plex simulator:
//! a daily full library walk (what Overseerr's library scan and Kometa do: every section page
//! by page, every item's metadata, every show's and artist's children and their children)
//! through a real gateway, one day apart on the gateway's clock, with a realistic change rate
//! in between; the same with `[feed] enabled = false` (TTLs only); the delay between a change
//! on the server and the gateway's answer showing it; and, with events dropped, how many
//! samples the sampled revalidation needs to find the stale answer.
//!
//! ```sh
//! cargo run -p cachearr-gateway --example change_feed_bench -- [TRACKS MOVIES SHOWS]
//! ```
//! Not part of the test suite; figures go to `docs/benchmarks.md` "Change feed". With
//! `BENCH_SHOW_UNCHANGED=1` it names every answer fetched again on day two that had not
//! changed (what an exact cache could have kept).

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cachearr_config::Config;
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use cachearr_gateway::Gateway;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind, NewItem};
use cachearr_upstream::feed::Sampled;

const DAY: Duration = Duration::from_secs(24 * 3600);

struct Setup {
    /// Every answer the walk got, by path (to count, on day two, those that really changed).
    answers: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The paths the last walk read.
    visited: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Answers of this walk that differ from the last walk's, or are new.
    changed: std::sync::atomic::AtomicU64,
    sim: Sim,
    gateway: Gateway,
    clock: Arc<ManualClock>,
    proxy: String,
    /// The simulator itself, to compare the gateway's answers with the server's.
    sim_url: String,
    token: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

fn builder(tracks: u32, movies: u32, shows: u32) -> cachearr_sim::SimBuilder {
    Sim::builder()
        .tracks(tracks)
        .movies(movies)
        .shows(shows)
        .seed(2026)
        .cost(CostModel::zero())
}

async fn setup(feed: bool, size: (u32, u32, u32)) -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", listener.local_addr().unwrap());
    let data = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(Profile::Plex, &sim_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.path().to_path_buf();
    config.feed.enabled = feed;
    config.feed.samples_per_minute = 0;
    let token = builder(size.0, size.1, size.2)
        .build()
        .unwrap()
        .state()
        .owner()
        .plex_token
        .clone();
    config.upstreams[0].token = Some(token.clone());
    let clock = Arc::new(ManualClock::default());
    clock.advance(Duration::from_secs(1_000_000));
    let gateway = cachearr_copy::builder(config)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = bound.admin_addr().unwrap();
    let secret = gateway.webhook_secret().to_owned();
    let sim = builder(size.0, size.1, size.2)
        .webhooks([format!("plex=http://{admin}/webhooks/plex?secret={secret}")])
        .build()
        .unwrap();
    let serving = sim.serve_plex(listener);
    tokio::spawn(async move {
        let _ = serving.await;
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(cachearr_admin::router, async move {
        let _ = stopped.await;
    }));
    let s = Setup {
        answers: std::sync::Mutex::new(std::collections::HashMap::new()),
        visited: std::sync::Mutex::new(std::collections::HashSet::new()),
        changed: std::sync::atomic::AtomicU64::new(0),
        sim,
        gateway,
        clock,
        proxy,
        sim_url,
        token,
        client: reqwest::Client::new(),
        _stop: stop,
        _data: data,
    };
    // The index built and the socket open: the feed vouches (when enabled).
    let feed = s.gateway.feed("plex").unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    let want = if s.gateway.config().feed.enabled {
        None
    } else {
        Some(cachearr_upstream::feed::Unhealthy::Disabled)
    };
    while feed.unhealthy(s.gateway.clock_now()) != want
        || s.gateway.index("plex").unwrap().ready().is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the change feed never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s
}

trait ClockNow {
    fn clock_now(&self) -> u64;
}
impl ClockNow for Gateway {
    fn clock_now(&self) -> u64 {
        self.clock().now_ms()
    }
}

impl Setup {
    async fn get(&self, path: &str) -> serde_json::Value {
        let response = self
            .client
            .get(format!("{}{path}", self.proxy))
            .header("X-Plex-Token", &self.token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        if !response.status().is_success() {
            return serde_json::Value::Null;
        }
        let missed = response
            .headers()
            .get("x-cache")
            .is_some_and(|v| v.as_bytes() != b"HIT");
        let text = response.text().await.unwrap_or_default();
        if missed
            && std::env::var_os("BENCH_SHOW_UNCHANGED").is_some()
            && self.answers.lock().unwrap().get(path) == Some(&text)
        {
            eprintln!("fetched again, unchanged: {path}");
        }
        self.visited.lock().unwrap().insert(path.to_owned());
        let previous = self
            .answers
            .lock()
            .unwrap()
            .insert(path.to_owned(), text.clone());
        if previous.as_deref() != Some(text.as_str()) {
            self.changed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    fn keys(body: &serde_json::Value) -> Vec<(String, String)> {
        body["MediaContainer"]["Metadata"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some((
                    m["ratingKey"].as_str()?.to_owned(),
                    m["type"].as_str().unwrap_or_default().to_owned(),
                ))
            })
            .collect()
    }

    /// Asks the server directly for every answer the last walk got through the gateway and
    /// returns how many differ (nothing changed on the server since: none should).
    async fn differing_from_server(&self) -> usize {
        let answers: Vec<(String, String)> = {
            let visited = self.visited.lock().unwrap();
            self.answers
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| visited.contains(*p))
                .map(|(p, a)| (p.clone(), a.clone()))
                .collect()
        };
        let mut differ = 0;
        for (path, answer) in answers {
            let direct = self
                .client
                .get(format!("{}{path}", self.sim_url))
                .header("X-Plex-Token", &self.token)
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if direct != answer {
                eprintln!("differs from the server's answer: {path}");
                differ += 1;
            }
        }
        differ
    }

    /// One full pass; returns the client requests it made.
    async fn walk(&self) -> u64 {
        self.visited.lock().unwrap().clear();
        let mut requests = 1u64;
        let sections = self.get("/library/sections").await;
        let ids: Vec<String> = sections["MediaContainer"]["Directory"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["key"].as_str().map(str::to_owned))
            .collect();
        for section in ids {
            let mut start = 0;
            loop {
                let page = self
                    .get(&format!(
                        "/library/sections/{section}/all?X-Plex-Container-Start={start}&X-Plex-Container-Size=100"
                    ))
                    .await;
                requests += 1;
                let items = Self::keys(&page);
                if items.is_empty() {
                    break;
                }
                start += items.len();
                for (key, kind) in items {
                    self.get(&format!("/library/metadata/{key}")).await;
                    requests += 1;
                    if kind == "show" || kind == "artist" {
                        let children = self.get(&format!("/library/metadata/{key}/children")).await;
                        requests += 1;
                        for (child, _) in Self::keys(&children) {
                            self.get(&format!("/library/metadata/{child}/children"))
                                .await;
                            requests += 1;
                        }
                    }
                }
                let total = page["MediaContainer"]["totalSize"].as_u64().unwrap_or(0);
                if start as u64 >= total {
                    break;
                }
            }
        }
        requests
    }

    /// A day's changes: 0.5 % of the items edited, 0.1 % added and removed, 20 items played
    /// by three users.
    fn change_a_day(&self, rng: &mut fastrand::Rng) -> usize {
        let (items, movies_section) = {
            let library = self.sim.library();
            let mut all: Vec<u32> = Vec::new();
            let mut movies = 0;
            for s in library.sections() {
                for kind in [
                    ItemKind::Movie,
                    ItemKind::Track,
                    ItemKind::Album,
                    ItemKind::Episode,
                ] {
                    all.extend(s.items(kind).iter().copied());
                }
                if !s.items(ItemKind::Movie).is_empty() {
                    movies = s.id;
                }
            }
            (all, movies)
        };
        let n = items.len();
        let edits = (n / 200).max(1);
        let adds = (n / 1000).max(1);
        for i in 0..edits {
            let id = items[rng.usize(..n)];
            let _ = self
                .sim
                .rename_item(id, &format!("Edited {i} {}", rng.u32(..)));
        }
        for i in 0..adds {
            let _ = self.sim.add_item(NewItem {
                kind: ItemKind::Movie,
                section: Some(movies_section),
                parent: None,
                title: format!("New Movie {i} {}", rng.u32(..)),
                added_at: self.sim.now(),
            });
            let id = items[rng.usize(..n)];
            let _ = self.sim.remove_item(id);
        }
        let users: Vec<u32> = self
            .sim
            .state()
            .users()
            .iter()
            .map(|u| u.id)
            .take(3)
            .collect();
        for _ in 0..20 {
            let user = users[rng.usize(..users.len())];
            let _ = self.sim.scrobble(user, items[rng.usize(..n)]);
        }
        edits + 2 * adds + 20
    }

    /// Waits until no background refresh runs and the server saw nothing for two seconds.
    async fn quiet(&self) {
        let mut last = self.sim.stats().total;
        let mut still = 0;
        while still < 4 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = self.sim.stats().total;
            let refreshing = self.gateway.cache().stats().refreshes_in_progress;
            if now == last && refreshing == 0 {
                still += 1;
            } else {
                still = 0;
            }
            last = now;
        }
    }

    async fn settle(&self) {
        // Events travel asynchronously; give them a moment, then let the keeper finish.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
}

async fn day_two(feed: bool, size: (u32, u32, u32)) -> (u64, u64, u64, u64, usize) {
    let s = setup(feed, size).await;
    let before = s.sim.stats();
    let client_requests = s.walk().await;
    // The batches of the walk's last pages finish behind it.
    s.quiet().await;
    let after = s.sim.stats();
    let day_one = after.total - before.total;
    println!("  day one by route: {:?}", by_route(&before, &after));
    println!(
        "  day one: {} of {} answers differ from the server's own answer",
        s.differing_from_server().await,
        s.visited.lock().unwrap().len()
    );
    let mut rng = fastrand::Rng::with_seed(7);
    let changes = s.change_a_day(&mut rng);
    s.settle().await;
    s.clock.advance(DAY);
    // The daily incremental pass of the index runs (its requests count too).
    let before_pass = s.sim.stats().total;
    s.gateway.index("plex").unwrap().poke();
    // Until it has finished (on a loaded machine it can outlast any fixed wait, and would
    // then run during the walk).
    let feed = s.gateway.feed("plex").unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    while feed
        .report(s.clock.now_ms_pub(), |_| Duration::ZERO)
        .last_pass_secs_ago
        .is_none_or(|ago| ago > 60)
    {
        assert!(
            Instant::now() < deadline,
            "the incremental pass never finished"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.settle().await;
    let pass = s.sim.stats().total - before_pass;
    let before = s.sim.stats();
    s.changed.store(0, std::sync::atomic::Ordering::Relaxed);
    s.walk().await;
    // Stale answers were served at once with a refresh behind them: count those too.
    s.quiet().await;
    let after = s.sim.stats();
    let day_two = after.total - before.total;
    println!("  day two by route: {:?}", by_route(&before, &after));
    println!(
        "  day two: {} answers differ from day one's or are new (the least any exact cache must fetch)",
        s.changed.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "  day two: {} of {} answers differ from the server's own answer",
        s.differing_from_server().await,
        s.visited.lock().unwrap().len()
    );
    (client_requests, day_one, pass, day_two, changes)
}

/// Server requests between two counts, by route, most first.
fn by_route(
    before: &cachearr_sim::control::StatsSnapshot,
    after: &cachearr_sim::control::StatsSnapshot,
) -> Vec<(u64, String)> {
    let mut routes: Vec<(u64, String)> = after
        .routes
        .iter()
        .map(|(route, stats)| {
            let old = before.routes.get(route).map_or(0, |r| r.requests);
            (stats.requests - old, route.clone())
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    routes.sort_by(|a, b| b.cmp(a));
    routes
}

async fn staleness(size: (u32, u32, u32)) -> Vec<f64> {
    let s = setup(true, size).await;
    let movies: Vec<u32> = {
        let library = s.sim.library();
        library
            .sections()
            .iter()
            .flat_map(|x| x.items(ItemKind::Movie).to_vec())
            .take(20)
            .collect()
    };
    for id in &movies {
        s.get(&format!("/library/metadata/{id}")).await;
    }
    let mut delays = Vec::new();
    for (i, id) in movies.iter().enumerate() {
        let title = format!("Renamed {i}");
        let changed = Instant::now();
        s.sim.rename_item(*id, &title).unwrap();
        loop {
            let body = s.get(&format!("/library/metadata/{id}")).await;
            if body["MediaContainer"]["Metadata"][0]["title"] == title.as_str() {
                break;
            }
            assert!(changed.elapsed() < Duration::from_secs(30));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        delays.push(changed.elapsed().as_secs_f64() * 1000.0);
    }
    delays
}

async fn dropped(size: (u32, u32, u32)) -> (usize, usize, u64) {
    let s = setup(true, size).await;
    s.walk().await;
    let candidates = s
        .gateway
        .feed("plex")
        .unwrap()
        .report(s.clock.now_ms_pub(), |_| Duration::ZERO)
        .candidates;
    let items: Vec<u32> = {
        let library = s.sim.library();
        library
            .sections()
            .iter()
            .flat_map(|x| x.items(ItemKind::Movie).to_vec())
            .take(5)
            .collect()
    };
    s.sim.drop_next_events(items.len() as u64);
    for (i, id) in items.iter().enumerate() {
        s.sim.rename_item(*id, &format!("Silent {i}")).unwrap();
    }
    s.clock.advance(DAY);
    let feed = s.gateway.feed("plex").unwrap().clone();
    let mut samples = 0;
    loop {
        samples += 1;
        if cachearr_gateway::sampler::sample_once(&s.gateway, &feed).await == Sampled::Mismatch {
            break;
        }
        assert!(samples < 100_000);
    }
    (samples, items.len(), candidates)
}

trait NowPub {
    fn now_ms_pub(&self) -> u64;
}
impl NowPub for ManualClock {
    fn now_ms_pub(&self) -> u64 {
        cachearr_engine::Clock::now_ms(self)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let size = match args.as_slice() {
        [t, m, s] => (*t, *m, *s),
        _ => (1000, 200, 10),
    };
    println!(
        "library: {} tracks, {} movies, {} shows (simulator seed 2026)",
        size.0, size.1, size.2
    );
    for feed in [true, false] {
        let (client, day_one, pass, day_two, changes) = day_two(feed, size).await;
        println!(
            "feed {}: pass of {client} client requests (direct: as many server requests); \
             day one {day_one} server requests \
             ({:.1} % fewer than direct); {changes} changes; daily incremental pass {pass}; \
             day two {day_two} ({:.1} % of the direct pass, {:.1} % of day one; with the pass \
             {:.1} % of the direct pass)",
            if feed { "on " } else { "off" },
            100.0 - 100.0 * day_one as f64 / client as f64,
            100.0 * day_two as f64 / client as f64,
            100.0 * day_two as f64 / day_one as f64,
            100.0 * (day_two + pass) as f64 / client as f64,
        );
    }
    let delays = staleness(size).await;
    let max = delays.iter().copied().fold(0.0, f64::max);
    println!(
        "staleness after a change (rename → answer through the gateway shows it), {} changes: \
         median {:.1} ms, max {:.1} ms",
        delays.len(),
        median(delays),
        max
    );
    let (samples, stale, candidates) = dropped(size).await;
    println!(
        "dropped events: {stale} items changed silently among {candidates} cached answers; \
         first stale answer found after {samples} samples ({:.1} min at 6 samples/min)",
        samples as f64 / 6.0
    );
}
