//! Shared by the Redis end-to-end tests: `redis-server` processes on free ports (one server,
//! or a three-node cluster made with `redis-cli --cluster create`), and a [`Farm`] of real
//! gateways (proxy + admin listeners) sharing one Redis in front of one simulated Plex server.
//! The flows (`shared_hit`, `webhook_on_a_refreshes_b`, …) are methods so the single-server
//! and the cluster tests run the same ones.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachearr_gateway::{Config, Gateway, Profile, Secret};
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::ItemKind;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` child process, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    extra: Vec<String>,
}

impl RedisServer {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on(free_port(), extra)
    }

    pub fn start_on(port: u16, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/setup-test-env)");
        wait_for_port(port);
        Self {
            child: Some(child),
            port,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts a new, empty server on the same port with the same arguments.
    pub fn restart(&mut self) -> &mut Self {
        self.kill();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let fresh = Self::start_on(self.port, &extra);
        *self = fresh;
        self
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three `redis-server --cluster-enabled yes` nodes made into one cluster (no replicas).
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.path().join(format!("nodes-{port}.conf"));
            nodes.push(RedisServer::start_on(
                port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    conf.to_str().unwrap(),
                    "--dir",
                    dir.path().to_str().unwrap(),
                    "--cluster-node-timeout",
                    "2000",
                ],
            ));
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        // Every node must agree the cluster is up before clients use it.
        let deadline = Instant::now() + Duration::from_secs(30);
        for n in &nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &n.port.to_string(), "CLUSTER", "INFO"])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster never became ok");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Self { nodes, _dir: dir }
    }

    /// The seed list, in the comma-separated form `--redis` takes.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }
}

/// Waits (bounded, generous: the machine is shared) until `cond` holds.
pub async fn eventually(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One running gateway.
pub struct Gw {
    pub gateway: Gateway,
    pub proxy: String,
    pub admin: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _data: tempfile::TempDir,
}

impl Drop for Gw {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
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
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.sim_task.abort();
    }
}

fn config_for(sim_url: &str, redis_url: &str, data: &std::path::Path) -> Config {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(Profile::Plex, sim_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.to_path_buf();
    config.redis_url = Some(redis_url.to_owned());
    config.redis_namespace = Some("farm".into());
    // Generous for a loaded machine; a refused connection fails at once anyway.
    config.redis_timeout = Duration::from_secs(1);
    // The library crawl would add upstream requests the counts below do not expect.
    config.index.enabled = false;
    config
}

/// The error a gateway build reports for `redis_url`.
pub async fn build_error(redis_url: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let config = config_for("http://127.0.0.1:9", redis_url, data.path());
    Gateway::builder(config)
        .secret(Secret::from_bytes([7; 16]))
        .build()
        .await
        .unwrap_err()
        .to_string()
}

impl Farm {
    pub async fn start(redis_url: &str, n: usize, latency: Duration) -> Self {
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
        let tracks = {
            let library = sim.library();
            library
                .sections()
                .iter()
                .find(|s| !s.items(ItemKind::Track).is_empty())
                .unwrap()
                .items(ItemKind::Track)
                .iter()
                .take(8)
                .copied()
                .collect()
        };
        let mut gws = Vec::new();
        for _ in 0..n {
            let data = tempfile::tempdir().unwrap();
            let config = config_for(&sim_url, redis_url, data.path());
            let gateway = Gateway::builder(config)
                .secret(Secret::from_bytes([7; 16]))
                .build()
                .await
                .unwrap();
            let bound = gateway.bind().await.unwrap();
            let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
            let admin = format!("http://{}", bound.admin_addr().unwrap());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(bound.serve(async move {
                let _ = stopped.await;
            }));
            gws.push(Gw {
                gateway,
                proxy,
                admin,
                stop: Some(stop),
                _data: data,
            });
        }
        let farm = Self {
            sim,
            sim_url,
            sim_task,
            token,
            gws,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(2000)
                .build()
                .unwrap(),
            tracks,
        };
        for i in 0..n {
            eventually("gateway subscribed to Redis events", async || {
                farm.gws[i]
                    .gateway
                    .cache()
                    .redis()
                    .unwrap()
                    .health()
                    .subscribed
            })
            .await;
        }
        farm
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
        let stats: serde_json::Value = self
            .client
            .get(format!("{}/_sim/stats", self.sim_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
        self.client
            .get(format!("{}/api/stats", self.gws[gw].admin))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
            .post(format!("{}/webhooks/plex", self.gws[gw].admin))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    /// Requests over every gateway, round robin over a few items, for `run`; returns
    /// (answered 200, anything else).
    pub fn spawn_load(&self, run: Duration) -> tokio::task::JoinHandle<(u64, u64)> {
        let client = self.client.clone();
        let proxies: Vec<String> = self.gws.iter().map(|g| g.proxy.clone()).collect();
        let token = self.token.clone();
        let paths: Vec<String> = (0..5).map(|i| self.item_path(i)).collect();
        tokio::spawn(async move {
            let deadline = Instant::now() + run;
            let (mut ok, mut bad) = (0u64, 0u64);
            let mut n = 0usize;
            while Instant::now() < deadline {
                n += 1;
                let proxy = &proxies[n % proxies.len()];
                let path = &paths[n % paths.len()];
                match get_with(&client, proxy, &token, path).await {
                    Some(a) if a.status == 200 => ok += 1,
                    _ => bad += 1,
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, bad)
        })
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
        eventually("B serves the scrobbled item fresh", async || {
            self.get(1, &path).await.plays == 1
        })
        .await;
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
        eventually("A answers from the upstream after B's clear", async || {
            self.get(0, &path).await.cache == "MISS"
        })
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
