//! Setup of the Redis end-to-end tests (`redis_gateways.rs`): `redis-server` processes on
//! free ports (one server that can be killed, restarted or frozen with a signal; or a
//! cluster made with `redis-cli --cluster create`, three masters with or without replicas,
//! whose masters can be killed and whose replicas' promotion is waited for), and a [`Farm`]
//! of real gateways (proxy + admin listeners) sharing one Redis in front of one simulated
//! Plex server, with a background [`Load`] that counts failed and slowest requests. The flows
//! (`shared_hit`, `webhook_on_a_refreshes_b`, …) are methods so the single-server, cluster
//! and failover tests run the same ones.

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

    /// Sends `signal` (`STOP`, `CONT`, …) to the server: `STOP` freezes it with its
    /// connections open, so commands hang rather than fail.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
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

/// `redis-cli` against one local port; its standard output.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `redis-server --cluster-enabled yes` nodes made into one cluster by `redis-cli --cluster
/// create`: three masters, each with `replicas` replicas.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Three masters, no replicas.
    pub fn start() -> Self {
        Self::start_with(0, 2000)
    }

    /// Three masters with `replicas` replicas each; a node silent for `node_timeout_ms` is
    /// failed and its replica promoted.
    pub fn start_with(replicas: usize, node_timeout_ms: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        let timeout = node_timeout_ms.to_string();
        for _ in 0..3 * (1 + replicas) {
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
                    &timeout,
                    // A replica takes over however long ago it last heard from its master
                    // (the default refuses after 10 node timeouts), and its first full sync
                    // starts at once instead of after 5 s (diskless sync waits for more
                    // replicas by default): a replica never synced cannot be promoted.
                    "--cluster-replica-validity-factor",
                    "0",
                    "--repl-diskless-sync-delay",
                    "0",
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
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, _dir: dir };
        // Every node must agree the cluster is up, and every replica must hold its master's
        // data, before clients use it.
        let deadline = Instant::now() + Duration::from_secs(30);
        for n in &cluster.nodes {
            while !redis_cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok") {
                assert!(Instant::now() < deadline, "cluster never became ok");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        for port in cluster.replica_ports() {
            while !redis_cli(port, &["INFO", "replication"]).contains("master_link_status:up") {
                assert!(Instant::now() < deadline, "replica {port} never synced");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        cluster
    }

    /// The seed list, in the comma-separated form `--redis` takes (every node).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// [`Self::url`] with the node on `port` first: the gateways open their event
    /// (pub/sub) connection to the first seed.
    pub fn url_first(&self, port: u16) -> String {
        let mut ports = self.ports();
        ports.sort_by_key(|p| *p != port);
        ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `CLUSTER NODES` as seen by a running node: (id, port, flags, master id) per node.
    fn topology(&self) -> Vec<(String, u16, String, String)> {
        let alive = self
            .nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a node is running");
        redis_cli(alive.port, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split(' ').collect();
                let port = f
                    .get(1)?
                    .split('@')
                    .next()?
                    .rsplit_once(':')?
                    .1
                    .parse()
                    .ok()?;
                Some((
                    f[0].to_owned(),
                    port,
                    f.get(2)?.to_string(),
                    f.get(3)?.to_string(),
                ))
            })
            .collect()
    }

    fn replica_ports(&self) -> Vec<u16> {
        self.topology()
            .into_iter()
            .filter(|(_, _, flags, _)| flags.contains("slave"))
            .map(|(_, port, _, _)| port)
            .collect()
    }

    /// The port of the master serving `key`'s slot.
    pub fn master_of(&self, key: &str) -> u16 {
        let alive = self.nodes.iter().find(|n| n.child.is_some()).unwrap().port;
        let slot: u16 = redis_cli(alive, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .unwrap();
        let nodes = redis_cli(alive, &["CLUSTER", "NODES"]);
        for line in nodes.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if !f.get(2).is_some_and(|flags| flags.contains("master")) {
                continue;
            }
            // Fields 8.. are the slot ranges: `0-5460` or a single `5461`.
            let serves = f.iter().skip(8).any(|range| {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&slot))
            });
            if serves {
                return f[1]
                    .split('@')
                    .next()
                    .unwrap()
                    .rsplit_once(':')
                    .unwrap()
                    .1
                    .parse()
                    .unwrap();
            }
        }
        panic!("no master for slot {slot}: {nodes}");
    }

    /// The replica of the master on `port`.
    pub fn replica_of(&self, port: u16) -> u16 {
        let topology = self.topology();
        let id = &topology.iter().find(|n| n.1 == port).unwrap().0;
        topology
            .iter()
            .find(|n| &n.3 == id)
            .map(|n| n.1)
            .expect("the master has a replica")
    }

    /// Kills the node on `port` with SIGKILL.
    pub fn kill(&mut self, port: u16) {
        self.nodes
            .iter_mut()
            .find(|n| n.port == port)
            .unwrap()
            .kill();
    }

    /// Waits (bounded) until the node on `port` is a master and every running node says
    /// the cluster is ok.
    pub fn wait_promoted(&self, port: u16) -> Duration {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        loop {
            let promoted = redis_cli(port, &["ROLE"]).starts_with("master");
            let ok = self
                .nodes
                .iter()
                .filter(|n| n.child.is_some())
                .all(|n| redis_cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));
            if promoted && ok {
                return start.elapsed();
            }
            assert!(Instant::now() < deadline, "replica {port} never promoted");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A master, its replica and three Sentinels watching them (quorum 2) under the name
/// `farm-master`, on free ports.
pub struct RedisSentinels {
    pub master: RedisServer,
    pub replica: RedisServer,
    sentinels: Vec<RedisServer>,
    _dir: tempfile::TempDir,
}

impl RedisSentinels {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap();
        // Full syncs start at once (diskless sync otherwise waits 5 s for more replicas);
        // the replica keeps the RDB it receives in the temporary directory, not in the
        // test's working directory.
        let master = RedisServer::start(&["--repl-diskless-sync-delay", "0", "--dir", dir_arg]);
        let replica = RedisServer::start(&[
            "--replicaof",
            "127.0.0.1",
            &master.port.to_string(),
            "--repl-diskless-sync-delay",
            "0",
            "--dir",
            dir_arg,
        ]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !redis_cli(replica.port, &["INFO", "replication"]).contains("master_link_status:up") {
            assert!(Instant::now() < deadline, "the replica never synced");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            // Sentinel rewrites its configuration file, so each gets its own.
            let conf = dir.path().join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\n\
                     sentinel monitor farm-master 127.0.0.1 {} 2\n\
                     sentinel down-after-milliseconds farm-master 1000\n\
                     sentinel failover-timeout farm-master 5000\n",
                    master.port
                ),
            )
            .unwrap();
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed (scripts/setup-test-env)");
            wait_for_port(port);
            sentinels.push(RedisServer {
                child: Some(child),
                port,
                extra: Vec::new(),
            });
        }
        let set = Self {
            master,
            replica,
            sentinels,
            _dir: dir,
        };
        // A failover needs every Sentinel to know the replica and the other Sentinels.
        for s in &set.sentinels {
            loop {
                let info = redis_cli(s.port, &["SENTINEL", "MASTER", "farm-master"]);
                let field = |name: &str| {
                    let lines: Vec<&str> = info.lines().collect();
                    lines
                        .iter()
                        .position(|l| *l == name)
                        .and_then(|i| lines.get(i + 1))
                        .map(|v| v.trim().to_owned())
                };
                if field("num-slaves").as_deref() == Some("1")
                    && field("num-other-sentinels").as_deref() == Some("2")
                {
                    break;
                }
                assert!(Instant::now() < deadline, "the Sentinels never met: {info}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        set
    }

    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/farm-master", hosts.join(","))
    }

    /// Waits (bounded) until every Sentinel names the replica as the master and it says so.
    pub fn wait_promoted(&self) -> Duration {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        let want = self.replica.port.to_string();
        loop {
            let named = self.sentinels.iter().all(|s| {
                redis_cli(
                    s.port,
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "farm-master"],
                )
                .lines()
                .nth(1)
                .is_some_and(|p| p.trim() == want)
            });
            if named && redis_cli(self.replica.port, &["ROLE"]).starts_with("master") {
                return start.elapsed();
            }
            assert!(Instant::now() < deadline, "the replica was never promoted");
            std::thread::sleep(Duration::from_millis(50));
        }
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
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(Profile::Plex, sim_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.to_path_buf();
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
    Gateway::builder(config)
        .secret(Secret::from_bytes([7; 16]))
        .build()
        .await
        .unwrap_err()
        .to_string()
}

/// A running load (see [`Farm::start_load`]).
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<LoadReport>,
}

impl Load {
    /// Stops the load and tells what it saw.
    pub async fn finish(self) -> LoadReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
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
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(2000)
                // The admin API refuses changes without it (a guard against cross-site forms).
                .default_headers(
                    [(
                        reqwest::header::HeaderName::from_static("x-cachearr-request"),
                        reqwest::header::HeaderValue::from_static("1"),
                    )]
                    .into_iter()
                    .collect(),
                )
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
        self.gws.push(Gw {
            gateway,
            proxy,
            admin,
            stop: Some(stop),
            _data: data,
        });
        let i = self.gws.len() - 1;
        eventually("gateway subscribed to Redis events", async || {
            self.redis_health(i).subscribed
        })
        .await;
        i
    }

    pub fn redis_health(&self, gw: usize) -> cachearr_engine::RedisHealth {
        self.gws[gw].gateway.cache().redis().unwrap().health()
    }

    /// A page of the music section's tracks: `start` makes a distinct cache key, so a load
    /// over many starts keeps missing memory and asking Redis.
    pub fn page_path(&self, start: usize) -> String {
        format!(
            "/library/sections/{}/all?type=10&X-Plex-Container-Start={start}&X-Plex-Container-Size=2",
            self.music_section
        )
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

    /// Requests over every gateway, round robin over a few items, for `run`.
    pub fn spawn_load(&self, run: Duration) -> tokio::task::JoinHandle<LoadReport> {
        let paths: Vec<String> = (0..5).map(|i| self.item_path(i)).collect();
        let load = self.start_load(paths);
        tokio::spawn(async move {
            tokio::time::sleep(run).await;
            load.finish().await
        })
    }

    /// Requests over `paths`, each through every gateway in turn, one at a time, until
    /// [`Load::finish`] (or 120 s, a bound for a test that never calls it).
    pub fn start_load(&self, paths: Vec<String>) -> Load {
        let client = self.client.clone();
        let proxies: Vec<String> = self.gws.iter().map(|g| g.proxy.clone()).collect();
        let token = self.token.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut report = LoadReport::default();
            let mut n = 0usize;
            while Instant::now() < deadline && !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                // Each path on every gateway in turn (A, then B, then the next path).
                let proxy = &proxies[n % proxies.len()];
                let path = &paths[(n / proxies.len()) % paths.len()];
                n += 1;
                let sent = Instant::now();
                match get_with(&client, proxy, &token, path).await {
                    Some(a) if a.status == 200 => report.ok += 1,
                    _ => report.failed += 1,
                }
                report.slowest = report.slowest.max(sent.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            report
        });
        Load { stop, task }
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
        eventually("A hears of B's clear", async || {
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
