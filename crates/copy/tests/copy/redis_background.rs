//! Several gateways, one background: three real gateways (proxy and admin listeners, library
//! copy on) sharing one `redis-server` on a free port in front of one simulated Plex server.
//!
//! * One of them holds the upstream's lease: it alone crawls and keeps the notification
//!   socket; the others load the copy it publishes (a gateway joining the warm group costs the
//!   server at most 5 requests) and treat its feed as healthy.
//! * The holder cut off from Redis stops its holder work before its lease can expire, and
//!   another takes over (a higher fence); the holder killed under load likewise: no client
//!   request fails meanwhile, and a change made on the server afterwards reaches the
//!   followers' answers and copies through the new holder.
//! * All three restarted from empty data directories: one crawl at most between them.
//!
//! The lease is shortened (a 6 s lease) so that takeovers happen within seconds; every effect
//! is polled for with a deadline, nothing waits for a fixed time.
#![allow(clippy::unwrap_used)]

use cachearr_testkit::sim_gateway::{self, admin_client, loopback_config, serve};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cachearr_copy::GatewayLibrary as _;
use cachearr_dialect::Profile;
use cachearr_gateway::Gateway;
use cachearr_gateway::background::LeaseTiming;
use cachearr_library::Visibility;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::ItemKind;
use cachearr_testkit::http::get_json;
use cachearr_testkit::redis::RedisServer;
use cachearr_testkit::{eventually, eventually_ok};
use cachearr_upstream::secret::Secret;

/// The one upstream's name (`Config::single`).
const UPSTREAM: &str = "plex";

/// How long a background effect may take to show: generous, the machine is shared.
const SETTLE: Duration = Duration::from_secs(60);

/// A lease of 6 s: a dead holder is replaced within 7 s.
const TIMING: LeaseTiming = LeaseTiming {
    ttl: Duration::from_secs(6),
    renew_every: Duration::from_millis(1500),
    stop_after: Duration::from_millis(4500),
    follow_every: Duration::from_secs(1),
};

/// A TCP relay to Redis that can be cut (every connection dropped, new ones refused) and
/// mended: one gateway cut off from Redis while the others still reach it.
struct Relay {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(to: SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (is_cut, kept) = (cut.clone(), links.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    continue;
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                kept.lock().unwrap().push(link);
            }
        });
        Relay {
            addr,
            cut,
            links,
            task,
        }
    }

    fn url(&self) -> String {
        format!("redis://{}/0", self.addr)
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

/// One running gateway.
struct Gw {
    gateway: Gateway,
    proxy: String,
    admin: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl Gw {
    async fn start(sim: &Sim, sim_url: &str, redis_url: &str) -> Gw {
        Gw::start_with_secret(sim, sim_url, redis_url, [9; 16]).await
    }

    /// [`Gw::start`] with another installation secret than the group's.
    async fn start_with_secret(sim: &Sim, sim_url: &str, redis_url: &str, secret: [u8; 16]) -> Gw {
        let data = tempfile::tempdir().unwrap();
        let mut config = loopback_config(Profile::Plex, sim_url, data.path());
        // The owner's token: the library copy and the notification socket read with it.
        config.upstreams[0].token = Some(sim.state().owner().plex_token.clone());
        config.cache.redis.url = Some(redis_url.to_owned());
        config.cache.redis.namespace = "background".into();
        config.cache.redis.timeout = Duration::from_secs(1);
        let served = serve(
            sim_gateway::gateway_builder(config)
                .secret(Secret::from_bytes(secret))
                .lease_timing(TIMING),
        )
        .await;
        Gw {
            gateway: served.gateway,
            proxy: served.proxy,
            admin: served.admin,
            stop: Some(served.stop),
            task: Some(served.task),
            _data: data,
        }
    }

    /// Stops the gateway and waits until it has (keepers, leases and all).
    async fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    async fn background(&self) -> serde_json::Value {
        let stats = get_json(&admin_client(), &format!("{}/api/stats", self.admin)).await;
        stats["background"][0].clone()
    }

    /// The title of item `id` in this gateway's library copy.
    fn copy_title(&self, id: u32) -> Option<String> {
        let index = self.gateway.index(UPSTREAM)?.ready()?;
        let item = index.by_id(&id.to_string(), &Visibility::everything())?;
        Some(item.title().to_owned())
    }
}

/// A simulated Plex server on a free port.
async fn start_sim() -> (Sim, String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sim = Sim::builder()
        .tracks(40)
        .movies(2)
        .shows(1)
        .seed(13)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let serving = sim.serve_plex(listener);
    let task = tokio::spawn(async move {
        let _ = serving.await;
    });
    (sim, url, task)
}

fn tracks(sim: &Sim) -> Vec<u32> {
    let library = sim.library();
    let music = library
        .sections()
        .iter()
        .find(|s| !s.items(ItemKind::Track).is_empty())
        .unwrap();
    music
        .items(ItemKind::Track)
        .iter()
        .take(4)
        .copied()
        .collect()
}

/// Waits until exactly one of `gws` is the holder and the others follow it, and returns the
/// holder's position and fence.
async fn one_holder(gws: &[&Gw]) -> (usize, u64) {
    let found = Arc::new(Mutex::new((0, 0)));
    eventually("one holder, the others following it", SETTLE, async || {
        let mut reports = Vec::new();
        for gw in gws {
            reports.push(gw.background().await);
        }
        let holders: Vec<usize> = (0..reports.len())
            .filter(|&i| reports[i]["role"] == "holder")
            .collect();
        let [holder] = holders[..] else { return false };
        let fence = reports[holder]["fence"].as_u64().unwrap_or(0);
        let id = reports[holder]["instance"].clone();
        let followed = reports.iter().enumerate().all(|(i, r)| {
            i == holder
                || (r["role"] == "follower"
                    && r["fence"].as_u64() == Some(fence)
                    && r["holder"] == id)
        });
        *found.lock().unwrap() = (holder, fence);
        followed
    })
    .await;
    *found.lock().unwrap()
}

/// Waits until every gateway's library copy holds the holder's newest publication.
async fn copies_loaded(gws: &[&Gw]) {
    eventually_ok(
        "every gateway's copy ready and loaded",
        SETTLE,
        async || {
            let mut generation = None;
            for gw in gws {
                let report = gw.background().await;
                let g = report["copy_generation"].as_u64().unwrap_or(0);
                let status = gw.gateway.index(UPSTREAM).map(|i| i.status());
                let ready = gw.gateway.index(UPSTREAM).and_then(|i| i.ready()).is_some();
                if g == 0 || generation.is_some_and(|other| other != g) || !ready {
                    return Err(format!("{report} ready={ready} {status:?}"));
                }
                generation = Some(g);
            }
            Ok(())
        },
    )
    .await;
}

async fn item_title(client: &reqwest::Client, gw: &Gw, token: &str, id: u32) -> Option<String> {
    let r = client
        .get(format!("{}/library/metadata/{id}", gw.proxy))
        .header("X-Plex-Token", token)
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let body: serde_json::Value = r.json().await.ok()?;
    body["MediaContainer"]["Metadata"][0]["title"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_holder_crawls_and_the_others_load_its_copy_and_trust_its_feed() {
    let redis = RedisServer::start(&[]);
    let (sim, sim_url, _sim_task) = start_sim().await;

    let first = Gw::start(&sim, &sim_url, &redis.url()).await;
    let (holder, _) = one_holder(&[&first]).await;
    assert_eq!(holder, 0);
    copies_loaded(&[&first]).await;
    eventually(
        "the holder's socket is open, its walk frames proven",
        SETTLE,
        async || {
            let stats = get_json(&admin_client(), &format!("{}/api/stats", first.admin)).await;
            let probing = first
                .gateway
                .index(UPSTREAM)
                .is_none_or(|i| i.status().copy.probing);
            stats["upstreams"][0]["events_connected"] == true && !probing
        },
    )
    .await;
    copies_loaded(&[&first]).await;
    let crawl = sim.stats();

    // Two more join the warm group: they ask the server (almost) nothing for their copy.
    let second = Gw::start(&sim, &sim_url, &redis.url()).await;
    let third = Gw::start(&sim, &sim_url, &redis.url()).await;
    let gws = [&first, &second, &third];
    one_holder(&gws).await;
    copies_loaded(&gws).await;
    let after = sim.stats();
    let joined = after.total - crawl.total;
    let routes: Vec<String> = (after.routes.iter())
        .filter_map(|(route, r)| {
            let before = crawl.routes.get(route).map_or(0, |b| b.requests);
            (r.requests > before).then(|| format!("{route} +{}", r.requests - before))
        })
        .collect();
    assert!(
        joined <= 5,
        "two gateways joining a warm group cost the server {joined} requests (the holder's \
         start: {}): {routes:?}",
        crawl.total
    );
    // Only the holder keeps the socket; the followers trust its feed.
    for follower in [&second, &third] {
        let stats = get_json(&admin_client(), &format!("{}/api/stats", follower.admin)).await;
        assert_eq!(stats["upstreams"][0]["events_connected"], false, "{stats}");
        eventually(
            "the follower trusts the holder's feed",
            SETTLE,
            async || follower.background().await["holder_feed_healthy"] == true,
        )
        .await;
    }
    // The same items in every copy.
    let id = tracks(&sim)[0];
    let title = first.copy_title(id).unwrap();
    assert_eq!(second.copy_title(id).as_deref(), Some(title.as_str()));
    assert_eq!(third.copy_title(id).as_deref(), Some(title.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_cut_off_or_killed_under_load_is_replaced_and_answers_stay_right() {
    let redis = RedisServer::start(&[]);
    let to: SocketAddr = format!("127.0.0.1:{}", redis.port).parse().unwrap();
    let (sim, sim_url, _sim_task) = start_sim().await;
    let token = sim.state().owner().plex_token.clone();
    let ids = tracks(&sim);

    // Each gateway reaches Redis through a relay that can be cut; the first is the holder.
    let relays = [
        Relay::start(to).await,
        Relay::start(to).await,
        Relay::start(to).await,
    ];
    let mut cut_off = Gw::start(&sim, &sim_url, &relays[0].url()).await;
    one_holder(&[&cut_off]).await;
    let b = Gw::start(&sim, &sim_url, &relays[1].url()).await;
    let c = Gw::start(&sim, &sim_url, &relays[2].url()).await;
    let (_, first_fence) = one_holder(&[&cut_off, &b, &c]).await;
    copies_loaded(&[&cut_off, &b, &c]).await;

    // Load on the two that stay, all along (on the survivor alone once one is killed): one
    // request at a time, the next when it is answered.
    let proxies = Arc::new(Mutex::new(vec![b.proxy.clone(), c.proxy.clone()]));
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (client, token, stop, ok, failed) = (
            client.clone(),
            token.clone(),
            stop.clone(),
            ok.clone(),
            failed.clone(),
        );
        let proxies = proxies.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let proxy = {
                    let proxies = proxies.lock().unwrap();
                    proxies[n % proxies.len()].clone()
                };
                let url = format!("{proxy}/library/metadata/{}", ids[n % ids.len()]);
                n += 1;
                let answered = client
                    .get(url)
                    .header("X-Plex-Token", &token)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                match answered {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };

    // Cut off: it stops its holder work, and another takes over with a higher fence.
    relays[0].cut();
    eventually(
        "the cut-off holder stops its holder work",
        SETTLE,
        async || cut_off.background().await["stops"].as_u64().unwrap_or(0) >= 1,
    )
    .await;
    let (holder, second_fence) = one_holder(&[&b, &c]).await;
    assert!(
        second_fence > first_fence,
        "{second_fence} after {first_fence}"
    );
    cut_off.stop().await;

    // Kill the new holder: its Redis link goes first, so it gives nothing up.
    let (dead, mut alive) = if holder == 0 {
        relays[1].cut();
        (b, c)
    } else {
        relays[2].cut();
        (c, b)
    };
    proxies.lock().unwrap().retain(|p| *p != dead.proxy);
    // The request in flight may still be on the one that stops: it is answered first.
    let answered = || ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed);
    let asked = answered();
    eventually(
        "the load leaves the gateway that stops",
        SETTLE,
        async || answered() > asked,
    )
    .await;
    drop(dead);
    let (_, third_fence) = one_holder(&[&alive]).await;
    assert!(
        third_fence > second_fence,
        "{third_fence} after {second_fence}"
    );

    // A change on the server reaches the survivor's answers and copy through its own socket.
    sim.rename_item(ids[1], "Renamed After Takeover").unwrap();
    eventually("the change is served", SETTLE, async || {
        item_title(&client, &alive, &token, ids[1]).await.as_deref()
            == Some("Renamed After Takeover")
    })
    .await;
    eventually("the change is in the copy", SETTLE, async || {
        alive.copy_title(ids[1]).as_deref() == Some("Renamed After Takeover")
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert!(ok.load(Ordering::Relaxed) > 0);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no client request failed while the background moved"
    );
    alive.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_gateways_restarted_together_crawl_once_at_most() {
    let redis = RedisServer::start(&[]);
    let (sim, sim_url, _sim_task) = start_sim().await;
    let mut gws = Vec::new();
    for _ in 0..3 {
        gws.push(Gw::start(&sim, &sim_url, &redis.url()).await);
    }
    let refs: Vec<&Gw> = gws.iter().collect();
    one_holder(&refs).await;
    copies_loaded(&refs).await;
    let sections = |sim: &Sim| {
        sim.stats()
            .routes
            .get("GET /library/sections")
            .map_or(0, |r| r.requests)
    };
    let first_start = sections(&sim);
    assert!(first_start >= 1);

    // All three stop and start again, empty: one of them crawls at most.
    for gw in &mut gws {
        gw.stop().await;
    }
    sim.reset_stats();
    let mut again = Vec::new();
    for _ in 0..3 {
        again.push(Gw::start(&sim, &sim_url, &redis.url()).await);
    }
    let refs: Vec<&Gw> = again.iter().collect();
    one_holder(&refs).await;
    copies_loaded(&refs).await;
    assert!(
        sections(&sim) <= first_start,
        "three restarts listed the sections {} times, one start {first_start}",
        sections(&sim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_with_another_secret_does_its_own_background() {
    let redis = RedisServer::start(&[]);
    let (sim, sim_url, _sim_task) = start_sim().await;
    let holder = Gw::start(&sim, &sim_url, &redis.url()).await;
    one_holder(&[&holder]).await;
    copies_loaded(&[&holder]).await;

    // It cannot read the holder's heartbeat or copy (sealed with another secret): after a
    // lease's life without hearing the holder it works alone, crawling for itself.
    let stranger = Gw::start_with_secret(&sim, &sim_url, &redis.url(), [3; 16]).await;
    eventually("the stranger works alone", SETTLE, async || {
        let report = stranger.background().await;
        report["role"] == "alone" && report["works"] == true
    })
    .await;
    eventually("the stranger's own copy is ready", SETTLE, async || {
        stranger
            .gateway
            .index(UPSTREAM)
            .and_then(|i| i.ready())
            .is_some()
    })
    .await;
    eventually("the stranger keeps its own socket", SETTLE, async || {
        let stats = get_json(&admin_client(), &format!("{}/api/stats", stranger.admin)).await;
        stats["upstreams"][0]["events_connected"] == true
    })
    .await;
    assert_eq!(holder.background().await["role"], "holder");
    assert_eq!(stranger.background().await["holder_feed_healthy"], false);
}
