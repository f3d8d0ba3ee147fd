//! Setup of the Redis end-to-end tests (`redis_gateways.rs`): a [`Farm`] of real gateways
//! (proxy + admin listeners, served by `cachearr_testkit::sim_gateway`) sharing one Redis in front of one
//! simulated Plex server, with a background [`Load`] that counts failed and slowest requests.
//! The flows (`shared_hit`, `webhook_on_a_refreshes_b`, …) are methods so the single-server,
//! cluster and failover tests run the same ones. The `redis-server` processes themselves (one
//! server, a cluster, Sentinels) come from `cachearr_testkit::redis`.

#![allow(
    clippy::disallowed_methods,
    reason = "the load's deadline and its slowest answer are real time"
)]
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use cachearr_testkit::sim_gateway;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cachearr_gateway::Gateway;

use cachearr_config::Config;

use cachearr_dialect::Profile;

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::ItemKind;
use cachearr_testkit::eventually;
use cachearr_testkit::http::get_json;
use cachearr_upstream::secret::Secret;
use sim_gateway::{admin_client_builder, loopback_config, serve};

/// A page of two tracks of the music section `section` from `start`: each `start` is a
/// distinct cache key, so a load over ever new starts keeps missing memory and asking Redis.
fn page_path(section: u32, start: usize) -> String {
    format!(
        "/library/sections/{section}/all?type=10&X-Plex-Container-Start={start}&X-Plex-Container-Size=2"
    )
}

/// How long a farm's background effect (an event, a reconnect, a recovery) may take to show:
/// generous, the machine is shared.
pub const SETTLE: Duration = Duration::from_secs(30);

/// One running gateway; it stops on drop (with its stop sender).
pub struct Gw {
    pub gateway: Gateway,
    pub proxy: String,
    pub admin: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

/// What one request answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub cache: String,
    pub cache_status: String,
    pub plays: u64,
    pub body: String,
}

/// A simulated Plex server and `n` gateways on one Redis (same namespace, same secret).
pub struct Farm {
    pub sim: Sim,
    sim_url: String,
    sim_task: tokio::task::JoinHandle<()>,
    pub token: String,
    pub gws: Vec<Gw>,
    pub client: reqwest::Client,
    tracks: Vec<u32>,
    music_section: u32,
    redis_url: String,
    tweak: fn(&mut Config),
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.sim_task.abort();
    }
}

fn config_for(sim_url: &str, redis_url: &str, data: &std::path::Path) -> Config {
    let mut config = loopback_config(Profile::Plex, sim_url, data);
    config.cache.redis.url = Some(redis_url.to_owned());
    config.cache.redis.namespace = "farm".into();
    // Generous for a loaded machine; a refused connection fails at once anyway.
    config.cache.redis.timeout = Duration::from_secs(1);
    // The library crawl would add upstream requests the counts below do not expect.
    config.index.enabled = false;
    config
}

/// The error a gateway build reports for `redis_url`.
pub async fn build_error(redis_url: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let config = config_for("http://127.0.0.1:9", redis_url, data.path());
    let err = sim_gateway::gateway_builder(config)
        .secret(Secret::from_bytes([7; 16]))
        .build()
        .await
        .unwrap_err();
    // The message and each cause, as the CLI prints them.
    cachearr_engine::Chain(&err).to_string()
}

/// A running load (see [`Farm::start_load`]).
pub struct Load {
    stop: Arc<AtomicBool>,
    /// Requests answered so far, whatever the answer.
    answered: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<LoadReport>,
}

impl Load {
    /// Waits until the load has had `n` more answers than now (`what` says why): a test
    /// that needs traffic before or after an event waits for that traffic, not for a time.
    pub async fn runs_for(&self, n: u64, what: &str) {
        let from = self.answered.load(Ordering::Relaxed);
        eventually(what, SETTLE, async || {
            self.answered.load(Ordering::Relaxed) >= from + n
        })
        .await;
    }

    /// Stops the load and tells what it saw.
    pub async fn finish(self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// What a load run saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadReport {
    /// Requests answered 200.
    pub ok: u64,
    /// Requests that failed or answered anything else.
    pub failed: u64,
    /// The slowest request.
    pub slowest: Duration,
}

impl Farm {
    pub async fn start(redis_url: &str, n: usize, latency: Duration) -> Self {
        Self::start_with(redis_url, n, latency, |_| {}).await
    }

    /// [`Self::start`] with `tweak` applied to every gateway's configuration.
    pub async fn start_with(
        redis_url: &str,
        n: usize,
        latency: Duration,
        tweak: fn(&mut Config),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim_url = format!("http://{}", listener.local_addr().unwrap());
        let sim = Sim::builder()
            .tracks(40)
            .movies(2)
            .shows(1)
            .seed(11)
            .cost(CostModel::zero())
            .latency(latency)
            .build()
            .unwrap();
        let serving = sim.serve_plex(listener);
        let sim_task = tokio::spawn(async move {
            let _ = serving.await;
        });
        let token = sim.state().owner().plex_token.clone();
        let (tracks, music_section) = {
            let library = sim.library();
            let music = library
                .sections()
                .iter()
                .find(|s| !s.items(ItemKind::Track).is_empty())
                .unwrap();
            let tracks = music
                .items(ItemKind::Track)
                .iter()
                .take(8)
                .copied()
                .collect();
            (tracks, music.id)
        };
        let mut farm = Self {
            sim,
            sim_url,
            sim_task,
            token,
            gws: Vec::new(),
            client: admin_client_builder()
                .pool_max_idle_per_host(2000)
                .build()
                .unwrap(),
            tracks,
            music_section,
            redis_url: redis_url.to_owned(),
            tweak,
        };
        for _ in 0..n {
            farm.add_gateway().await;
        }
        farm
    }

    /// Starts one more gateway on the same Redis (same namespace and secret, its own empty
    /// memory and disk) and waits until it listens to the other instances' events.
    pub async fn add_gateway(&mut self) -> usize {
        let data = tempfile::tempdir().unwrap();
        let mut config = config_for(&self.sim_url, &self.redis_url, data.path());
        (self.tweak)(&mut config);
        let served =
            serve(sim_gateway::gateway_builder(config).secret(Secret::from_bytes([7; 16]))).await;
        self.gws.push(Gw {
            gateway: served.gateway,
            proxy: served.proxy,
            admin: served.admin,
            _stop: served.stop,
            _data: data,
        });
        let i = self.gws.len() - 1;
        eventually("gateway subscribed to Redis events", SETTLE, async || {
            self.redis_health(i).subscribed
        })
        .await;
        i
    }

    pub fn redis_health(&self, gw: usize) -> cachearr_engine::RedisHealth {
        self.gws[gw].gateway.cache().redis().unwrap().health()
    }

    /// The token of a user other than the owner who sees the music section.
    pub fn other_token(&self) -> String {
        self.sim
            .state()
            .users()
            .iter()
            .find(|u| !u.is_owner && u.can_see_section(self.music_section))
            .unwrap()
            .plex_token
            .clone()
    }

    pub async fn get_as(&self, gw: usize, token: &str, path: &str) -> Answer {
        get_with(&self.client, &self.gws[gw].proxy, token, path)
            .await
            .unwrap()
    }

    pub fn track_id(&self, i: usize) -> u32 {
        self.tracks[i]
    }

    pub fn item_path(&self, i: usize) -> String {
        format!("/library/metadata/{}", self.tracks[i])
    }

    pub fn owner_id(&self) -> u32 {
        self.sim.state().owner().id
    }

    /// Upstream requests for one item so far (the simulator's own count, `/_sim/stats`).
    pub async fn upstream_item_requests(&self) -> u64 {
        let stats = get_json(&self.client, &format!("{}/_sim/stats", self.sim_url)).await;
        stats["routes"]["GET /library/metadata/{ids}"]["requests"]
            .as_u64()
            .or_else(|| stats["routes"]["GET /library/metadata/{id}"]["requests"].as_u64())
            .unwrap_or(0)
    }

    pub async fn get(&self, gw: usize, path: &str) -> Answer {
        get_with(&self.client, &self.gws[gw].proxy, &self.token, path)
            .await
            .unwrap()
    }

    pub async fn flush(&self) {
        for g in &self.gws {
            g.gateway.cache().flush().await;
        }
    }

    pub async fn ready(&self, gw: usize) -> (u16, serde_json::Value) {
        let r = self
            .client
            .get(format!("{}/ready", self.gws[gw].admin))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn stats(&self, gw: usize) -> serde_json::Value {
        get_json(&self.client, &format!("{}/api/stats", self.gws[gw].admin)).await
    }

    /// Posts what Plex sends when the owner scrobbles track `track` to gateway `gw`.
    pub async fn post_scrobble_webhook(&self, gw: usize, track: usize) {
        let payload = serde_json::json!({
            "event": "media.scrobble",
            "Account": {"id": 1, "title": "owner"},
            "Metadata": {
                "ratingKey": self.tracks[track].to_string(),
                "librarySectionID": "1",
                "type": "track"
            }
        });
        let form = reqwest::multipart::Form::new().text("payload", payload.to_string());
        let r = self
            .client
            .post(format!(
                "{}/webhooks/plex?secret={}",
                self.gws[gw].admin,
                self.gws[gw].gateway.webhook_secret()
            ))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// Requests one at a time, each answered before the next is sent, until [`Load::finish`]
    /// (or 120 s, a bound for a test that never calls it): round `k` asks `path(k)` of every
    /// gateway in turn. The load is paced by its answers alone; a test waits for the traffic it
    /// needs with [`Load::runs_for`].
    pub fn start_load(&self, path: impl Fn(usize) -> String + Send + 'static) -> Load {
        let client = self.client.clone();
        let proxies: Vec<String> = self.gws.iter().map(|g| g.proxy.clone()).collect();
        let token = self.token.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let (stopped, counted) = (stop.clone(), answered.clone());
        let task = tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut report = LoadReport::default();
            let mut n = 0usize;
            while Instant::now() < deadline && !stopped.load(Ordering::Relaxed) {
                // Each round's path on every gateway in turn (A, then B, then the next round).
                let proxy = &proxies[n % proxies.len()];
                let path = path(n / proxies.len());
                n += 1;
                let sent = Instant::now();
                match get_with(&client, proxy, &token, &path).await {
                    Some(a) if a.status == 200 => report.ok += 1,
                    _ => report.failed += 1,
                }
                report.slowest = report.slowest.max(sent.elapsed());
                counted.fetch_add(1, Ordering::Relaxed);
            }
            report
        });
        Load {
            stop,
            answered,
            task,
        }
    }

    /// The path of round `k` of a load that keeps asking Redis: a page no round asked before
    /// (a miss in memory: a Redis read and a load lock) every other round, between hits on
    /// items the flows after it do not use.
    pub fn mixed_path(&self) -> impl Fn(usize) -> String + Send + 'static {
        let (section, tracks) = (self.music_section, self.tracks.clone());
        move |k| {
            if k % 2 == 0 {
                page_path(section, k)
            } else {
                format!("/library/metadata/{}", tracks[4 + k % 4])
            }
        }
    }

    /// Cross-instance load locks taken so far, over every gateway.
    pub fn locks_taken(&self) -> u64 {
        self.gws
            .iter()
            .map(|g| g.gateway.cache().redis().unwrap().health().locks_taken)
            .sum()
    }

    // ---- the flows, shared by the single-server and the cluster tests ----

    /// A value fetched through A is a hit on B with no upstream request.
    pub async fn shared_hit(&self) {
        let path = self.item_path(3);
        let before = self.upstream_item_requests().await;
        let a = self.get(0, &path).await;
        assert_eq!((a.status, a.cache.as_str()), (200, "MISS"));
        self.flush().await;
        let b = self.get(1, &path).await;
        assert_eq!(b.cache, "HIT");
        assert!(
            b.cache_status.contains("detail=redis"),
            "{}",
            b.cache_status
        );
        assert_eq!(b.body, a.body);
        let b2 = self.get(1, &path).await;
        assert!(
            b2.cache_status.contains("detail=memory"),
            "{}",
            b2.cache_status
        );
        assert_eq!(self.upstream_item_requests().await - before, 1);
    }

    /// 1,000 concurrent cold requests split over the gateways make one upstream request.
    pub async fn one_upstream_request_for_a_thousand_cold_requests(&self) {
        let path = self.item_path(2);
        let before = self.upstream_item_requests().await;
        let locks_before = self.locks_taken();
        let n = self.gws.len();
        let requests = (0..1000).map(|i| {
            let (client, proxy, token, path) = (
                self.client.clone(),
                self.gws[i % n].proxy.clone(),
                self.token.clone(),
                path.clone(),
            );
            tokio::spawn(async move { get_with(&client, &proxy, &token, &path).await })
        });
        let answers: Vec<Answer> = futures_util::future::join_all(requests)
            .await
            .into_iter()
            .map(|r| r.unwrap().expect("request failed"))
            .collect();
        assert!(answers.iter().all(|a| a.status == 200));
        assert!(answers.iter().all(|a| a.body == answers[0].body));
        let healths: Vec<_> = self
            .gws
            .iter()
            .map(|g| g.gateway.cache().redis().unwrap().health())
            .collect();
        assert_eq!(
            self.upstream_item_requests().await - before,
            1,
            "one upstream request for 1,000 cold requests over {n} gateways: {healths:?}"
        );
        assert_eq!(self.locks_taken() - locks_before, 1, "{healths:?}");
    }

    /// A webhook on A makes B serve fresh data.
    pub async fn webhook_on_a_refreshes_b(&self) {
        let path = self.item_path(0);
        self.get(0, &path).await;
        self.flush().await;
        assert_eq!(self.get(1, &path).await.cache, "HIT");
        assert_eq!(self.get(1, &path).await.plays, 0);
        self.sim.scrobble(self.owner_id(), self.tracks[0]);
        // Without an event the cached answer stands.
        assert_eq!(self.get(1, &path).await.plays, 0);
        self.post_scrobble_webhook(0, 0).await;
        eventually("B serves the scrobbled item fresh", SETTLE, async || {
            self.get(1, &path).await.plays == 1
        })
        .await;
    }

    /// Another user's request for what the owner fetched is not answered from the owner's
    /// shared entry: per-user keys stay per user across instances.
    pub async fn other_users_answers_are_not_shared(&self) {
        let path = self.item_path(3);
        let owner = self.get(0, &path).await;
        assert_eq!(owner.status, 200);
        self.flush().await;
        let before = self.upstream_item_requests().await;
        let other = self.get_as(1, &self.other_token(), &path).await;
        assert_eq!((other.status, other.cache.as_str()), (200, "MISS"));
        assert_eq!(self.upstream_item_requests().await - before, 1);
        // While the owner's own entry is still shared.
        assert_eq!(self.get(1, &path).await.cache, "HIT");
    }

    /// A clear on B also empties Redis: a gateway started after it finds nothing there.
    pub async fn clear_leaves_nothing_for_a_new_gateway(&mut self) {
        let (probe, kept) = (self.item_path(6), self.item_path(7));
        self.get(0, &probe).await;
        self.get(0, &kept).await;
        self.flush().await;
        let r = self
            .client
            .post(format!("{}/api/clear", self.gws[1].admin))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        eventually("A hears of B's clear", SETTLE, async || {
            self.get(0, &probe).await.cache == "MISS"
        })
        .await;
        let c = self.add_gateway().await;
        let before = self.upstream_item_requests().await;
        let answer = self.get(c, &kept).await;
        assert_eq!((answer.status, answer.cache.as_str()), (200, "MISS"));
        assert_eq!(self.upstream_item_requests().await - before, 1);
    }

    /// A clear on B empties A's answers (A asks the upstream again).
    pub async fn clear_on_b_empties_a(&self) {
        let path = self.item_path(1);
        self.get(0, &path).await;
        assert_eq!(self.get(0, &path).await.cache, "HIT");
        let before = self.upstream_item_requests().await;
        let r = self
            .client
            .post(format!("{}/api/clear", self.gws[1].admin))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        eventually(
            "A answers from the upstream after B's clear",
            SETTLE,
            async || self.get(0, &path).await.cache == "MISS",
        )
        .await;
        assert!(self.upstream_item_requests().await > before);
    }
}

async fn get_with(
    client: &reqwest::Client,
    proxy: &str,
    token: &str,
    path: &str,
) -> Option<Answer> {
    let r = client
        .get(format!("{proxy}{path}"))
        .header("X-Plex-Token", token)
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, cache, cache_status) = (
        r.status().as_u16(),
        header("x-cache"),
        header("cache-status"),
    );
    let body = r.text().await.ok()?;
    let plays = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["MediaContainer"]["Metadata"][0]["viewCount"].as_u64())
        .unwrap_or(0);
    Some(Answer {
        status,
        cache,
        cache_status,
        plays,
        body,
    })
}
