//! Private `redis-server` processes on free loopback ports, killed on drop, for the tests of
//! the engine's Redis tier and of gateways sharing a Redis: one server that can be killed,
//! restarted or frozen with a signal; a cluster made with `redis-cli --cluster create` (three
//! masters, with or without replicas) whose masters can be killed and whose replicas'
//! promotion is waited for; and a master-replica pair watched by three Sentinels. They need
//! Debian's `redis-server` and `redis-cli` (installed by `scripts/setup-test-env`).

#![allow(
    clippy::disallowed_methods,
    reason = "real redis-server processes are waited for in real time"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{eventually_blocking, free_port, wait_for_port};

/// How long a fresh `redis-server` may take to listen.
const START_LIMIT: Duration = Duration::from_secs(20);
/// How long a cluster or a Sentinel set may take to agree (and replicas to sync).
const FORM_LIMIT: Duration = Duration::from_secs(30);
/// How long a replica may take to be promoted after its master died.
const PROMOTION_LIMIT: Duration = Duration::from_secs(60);

const MISSING: &str = "redis-server must be installed (scripts/setup-test-env)";

/// A `redis-server` child process on loopback, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    /// The port it listens on (kept across [`Self::restart`]).
    pub port: u16,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts an empty server on a free port, without persistence, `extra` added to its
    /// arguments; returns once it accepts connections.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on(free_port(), extra)
    }

    /// [`Self::start`] on a given port.
    pub fn start_on(port: u16, extra: &[&str]) -> Self {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra);
        let mut server = Self::spawn(command, port);
        server.extra = extra.iter().map(|s| (*s).to_owned()).collect();
        server
    }

    fn spawn(mut command: Command, port: u16) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(MISSING);
        // Owned before the wait, so a server that never listens is still killed.
        let server = Self {
            child: Some(child),
            port,
            extra: Vec::new(),
        };
        wait_for_port("redis-server", port, START_LIMIT);
        server
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Whether the process is still ours to kill (not killed yet).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the server: `STOP` freezes it with its
    /// connections open, so commands hang rather than fail.
    ///
    /// # Panics
    /// If the server was killed, or `kill` fails.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id();
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Kills the server and starts a new, empty one on the same port with the same arguments.
    pub fn restart(&mut self) -> &mut Self {
        self.kill();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        *self = Self::start_on(self.port, &extra);
        self
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `redis-cli -p PORT ARGS…` on loopback; its standard output.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli must be installed (scripts/setup-test-env)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the server on `port` has a live link to its master.
fn replica_synced(port: u16) -> bool {
    redis_cli(port, &["INFO", "replication"]).contains("master_link_status:up")
}

/// A path as a command-line argument.
fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// `redis-server --cluster-enabled yes` nodes made into one cluster by `redis-cli --cluster
/// create`: three masters, each with the same number of replicas.
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
    /// failed and its replica promoted. Returns once every node says the cluster is ok and
    /// every replica holds its master's data.
    pub fn start_with(replicas: usize, node_timeout_ms: u32) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let timeout = node_timeout_ms.to_string();
        let nodes: Vec<RedisServer> = (0..3 * (1 + replicas))
            .map(|_| {
                let port = free_port();
                let conf = dir.path().join(format!("nodes-{port}.conf"));
                RedisServer::start_on(
                    port,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        arg(&conf),
                        "--dir",
                        arg(dir.path()),
                        "--cluster-node-timeout",
                        &timeout,
                        // A replica takes over however long ago it last heard from its
                        // master (the default refuses after 10 node timeouts), and its first
                        // full sync starts at once instead of after 5 s (diskless sync waits
                        // for more replicas by default): a replica never synced cannot be
                        // promoted.
                        "--cluster-replica-validity-factor",
                        "0",
                        "--repl-diskless-sync-delay",
                        "0",
                    ],
                )
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli must be installed (scripts/setup-test-env)");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, _dir: dir };
        // Every node must agree the cluster is up, and every replica must hold its master's
        // data, before clients use it.
        let deadline = Instant::now() + FORM_LIMIT;
        for n in &cluster.nodes {
            eventually_blocking(
                &format!("cluster ok on node {}", n.port),
                deadline.saturating_duration_since(Instant::now()),
                || redis_cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"),
            );
        }
        for port in cluster.replica_ports() {
            eventually_blocking(
                &format!("replica {port} synced"),
                deadline.saturating_duration_since(Instant::now()),
                || replica_synced(port),
            );
        }
        cluster
    }

    /// Every node's URL, in the comma-separated form `--redis` takes.
    pub fn url(&self) -> String {
        Self::node_urls(self.ports())
    }

    /// [`Self::url`] with the node on `port` first: the gateways open their event (pub/sub)
    /// connection to the first node named.
    pub fn url_first(&self, port: u16) -> String {
        let mut ports = self.ports();
        ports.sort_by_key(|p| *p != port);
        Self::node_urls(ports)
    }

    fn node_urls(ports: Vec<u16>) -> String {
        ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every node's port.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The port of a node still running.
    fn alive(&self) -> u16 {
        self.nodes
            .iter()
            .find(|n| n.is_running())
            .expect("a node is running")
            .port
    }

    /// `CLUSTER NODES` as seen by a running node: (id, port, flags, master id, slot ranges)
    /// per node.
    fn topology(&self) -> Vec<Node> {
        redis_cli(self.alive(), &["CLUSTER", "NODES"])
            .lines()
            .filter_map(Node::parse)
            .collect()
    }

    fn replica_ports(&self) -> Vec<u16> {
        self.topology()
            .into_iter()
            .filter(|n| n.flags.contains("slave"))
            .map(|n| n.port)
            .collect()
    }

    /// The port of the master serving `key`'s slot.
    ///
    /// # Panics
    /// If no master serves it.
    pub fn master_of(&self, key: &str) -> u16 {
        let slot: u16 = redis_cli(self.alive(), &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("CLUSTER KEYSLOT answers a number");
        let topology = self.topology();
        topology
            .iter()
            .find(|n| n.flags.contains("master") && n.serves(slot))
            .map(|n| n.port)
            .unwrap_or_else(|| panic!("no master for slot {slot}: {topology:?}"))
    }

    /// The replica of the master on `port`.
    ///
    /// # Panics
    /// If that master has none.
    pub fn replica_of(&self, port: u16) -> u16 {
        // A replica that has synced may still be missing from the node's view a moment later
        // (the cluster learns of it by gossip): wait for it as the cluster's forming does.
        let mut replica = None;
        eventually_blocking(
            &format!("the master on {port} has a replica in the cluster's view"),
            FORM_LIMIT,
            || {
                let topology = self.topology();
                let master = topology
                    .iter()
                    .find(|n| n.port == port)
                    .expect("a node on that port");
                replica = topology
                    .iter()
                    .find(|n| n.master == master.id)
                    .map(|n| n.port);
                replica.is_some()
            },
        );
        replica.expect("the master has a replica")
    }

    /// Kills the node on `port` with SIGKILL.
    pub fn kill(&mut self, port: u16) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.port == port) {
            n.kill();
        }
    }

    /// Waits (bounded) until the node on `port` is a master and every running node says the
    /// cluster is ok; returns how long that took.
    pub fn wait_promoted(&self, port: u16) -> Duration {
        let start = Instant::now();
        eventually_blocking(&format!("replica {port} promoted"), PROMOTION_LIMIT, || {
            redis_cli(port, &["ROLE"]).starts_with("master")
                && self
                    .nodes
                    .iter()
                    .filter(|n| n.is_running())
                    .all(|n| redis_cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"))
        });
        start.elapsed()
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug)]
struct Node {
    id: String,
    port: u16,
    flags: String,
    /// The master's id, `-` for a master.
    master: String,
    /// `0-5460` or a single `5461`.
    slots: Vec<String>,
}

impl Node {
    /// `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`
    fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split(' ').collect();
        let port = f
            .get(1)?
            .split('@')
            .next()?
            .rsplit_once(':')?
            .1
            .parse()
            .ok()?;
        Some(Self {
            id: (*f.first()?).to_owned(),
            port,
            flags: (*f.get(2)?).to_owned(),
            master: (*f.get(3)?).to_owned(),
            slots: f.iter().skip(8).map(|s| (*s).to_owned()).collect(),
        })
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|range| {
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&slot))
        })
    }
}

/// The master name the Sentinels of [`RedisSentinels`] watch.
pub const SENTINEL_MASTER: &str = "farm-master";

/// A master, its replica and three Sentinels watching them (quorum 2) under the name
/// [`SENTINEL_MASTER`], on free ports.
pub struct RedisSentinels {
    /// The master at start.
    pub master: RedisServer,
    /// Its replica, promoted when the master dies.
    pub replica: RedisServer,
    sentinels: Vec<RedisServer>,
    _dir: tempfile::TempDir,
}

impl RedisSentinels {
    /// Starts the pair and the Sentinels; returns once the replica is synced and every
    /// Sentinel knows the replica and the other Sentinels (a failover needs both).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let dir_arg = arg(dir.path());
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
        eventually_blocking("the replica synced", FORM_LIMIT, || {
            replica_synced(replica.port)
        });
        let sentinels = (0..3)
            .map(|_| {
                let port = free_port();
                // Sentinel rewrites its configuration file, so each gets its own.
                let conf = dir.path().join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "port {port}\nbind 127.0.0.1\n\
                         sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {} 2\n\
                         sentinel down-after-milliseconds {SENTINEL_MASTER} 1000\n\
                         sentinel failover-timeout {SENTINEL_MASTER} 5000\n",
                        master.port
                    ),
                )
                .expect("the Sentinel's configuration is written");
                let mut command = Command::new("redis-server");
                command.arg(&conf).arg("--sentinel");
                RedisServer::spawn(command, port)
            })
            .collect();
        let set = Self {
            master,
            replica,
            sentinels,
            _dir: dir,
        };
        let deadline = Instant::now() + FORM_LIMIT;
        for s in &set.sentinels {
            eventually_blocking(
                &format!("Sentinel {} met the replica and the others", s.port),
                deadline.saturating_duration_since(Instant::now()),
                || {
                    let info = redis_cli(s.port, &["SENTINEL", "MASTER", SENTINEL_MASTER]);
                    let lines: Vec<&str> = info.lines().collect();
                    let field = |name: &str| {
                        lines
                            .iter()
                            .position(|l| *l == name)
                            .and_then(|i| lines.get(i + 1))
                            .map(|v| v.trim())
                    };
                    field("num-slaves") == Some("1") && field("num-other-sentinels") == Some("2")
                },
            );
        }
        set
    }

    /// `redis+sentinel://HOST:PORT,…/farm-master`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{SENTINEL_MASTER}", hosts.join(","))
    }

    /// Waits (bounded) until every Sentinel names the replica as the master and it says so;
    /// returns how long that took.
    pub fn wait_promoted(&self) -> Duration {
        let start = Instant::now();
        let want = self.replica.port.to_string();
        eventually_blocking("the replica promoted", PROMOTION_LIMIT, || {
            let named = self.sentinels.iter().all(|s| {
                redis_cli(
                    s.port,
                    &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER],
                )
                .lines()
                .nth(1)
                .is_some_and(|p| p.trim() == want)
            });
            named && redis_cli(self.replica.port, &["ROLE"]).starts_with("master")
        });
        start.elapsed()
    }
}
