//! The Redis tier against real `redis-server` processes started on free ports: two caches on
//! one Redis share entries, namespaces isolate, Redis sits below disk (a Redis hit fills disk
//! and memory; a memory hit sends Redis nothing), invalidations and clears reach the other
//! instance by pub/sub and after an outage, one load per key across instances, a wrong
//! password or a missing server is a clear error at start, and a Redis killed, full or
//! restarted costs no request.
#![allow(clippy::unwrap_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "a real Redis's lock expiry is measured in real time"
)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cachearr_engine::{
    CachedValue, EngineError, Fill, Key, Loader, Lookup, Outcome, Policy, RedisOptions, RedisTier,
    SharedSecret, TierKind, TieredCache,
};
use cachearr_testkit::free_port;
use cachearr_testkit::redis::{RedisServer, redis_cli};

use crate::common::{body, eventually, lasting_policy, lookup};

fn options(namespace: &str) -> RedisOptions {
    RedisOptions {
        namespace: namespace.into(),
        // Generous: the test machine is loaded; a slow answer would only be a miss.
        command_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(5),
        poll_every: Duration::from_millis(200),
        secret: SharedSecret::new(*b"installation-one"),
        ..RedisOptions::default()
    }
}

async fn cache_on(url: &str, namespace: &str) -> TieredCache {
    cache_with(url, options(namespace), None).await
}

/// A cache in namespace `t` with a disk tier in `dir` above Redis.
async fn cache_on_disk(url: &str, dir: &std::path::Path) -> TieredCache {
    cache_with(url, options("t"), Some(dir)).await
}

async fn cache_with(url: &str, opts: RedisOptions, disk: Option<&std::path::Path>) -> TieredCache {
    let tier = RedisTier::connect(url, opts).await.unwrap();
    let mut b = TieredCache::builder()
        .redis(tier)
        .write_behind(1000, Duration::from_millis(5));
    if let Some(dir) = disk {
        b = b.disk(dir, 64 << 20);
    }
    let cache = b.build().await.unwrap();
    wait_subscribed(&cache).await;
    cache
}

/// How long a background effect (an event, a reconnect) may take to show: generous, the
/// machine is shared.
const SETTLE: Duration = Duration::from_secs(30);

/// Waits until the cache's event connection is subscribed (bounded).
async fn wait_subscribed(cache: &TieredCache) {
    eventually("the event connection subscribed", SETTLE, async || {
        cache.redis().unwrap().health().subscribed
    })
    .await;
}

/// Records the cache has read from Redis, found or not.
fn record_reads(cache: &TieredCache) -> u64 {
    let health = cache.redis().unwrap().health();
    health.hits + health.misses
}

fn counting_loader(calls: &Arc<AtomicU32>, body: &'static str) -> Arc<dyn Loader> {
    let calls = calls.clone();
    Arc::new(move || {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Fill::Store(CachedValue::new(200, body)))
        }
    })
}

/// A lookup of `key` on `cache`, loading `body` (counted in `calls`) on a miss.
async fn load(
    cache: &TieredCache,
    key: &Key,
    policy: &Policy,
    calls: &Arc<AtomicU32>,
    body: &'static str,
) -> Lookup {
    lookup(cache, key, policy, counting_loader(calls, body)).await
}

/// A private Redis and two caches sharing namespace `t` on it, as two gateways would.
async fn two_caches() -> (RedisServer, TieredCache, TieredCache) {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let b = cache_on(&server.url(), "t").await;
    (server, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_loaded_through_a_is_a_hit_on_b_without_a_load() {
    let (server, a, b) = two_caches().await;
    let key = Key::new("plex|GET|/library/metadata/42");
    let (calls_a, calls_b) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));

    let first = load(&a, &key, &lasting_policy(), &calls_a, "from-a").await;
    assert_eq!(first.outcome, Outcome::Miss);
    a.flush().await;

    let on_b = load(&b, &key, &lasting_policy(), &calls_b, "from-b").await;
    assert_eq!(on_b.outcome, Outcome::Hit(TierKind::Redis));
    assert_eq!(body(&on_b), "from-a");
    assert_eq!(calls_b.load(Ordering::SeqCst), 0);
    // Promoted: the next read on B is a memory hit.
    let again = load(&b, &key, &lasting_policy(), &calls_b, "from-b").await;
    assert_eq!(again.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(calls_a.load(Ordering::SeqCst), 1);

    // Another namespace on the same server sees nothing of it.
    let other = cache_on(&server.url(), "t2").await;
    let calls_o = Arc::new(AtomicU32::new(0));
    let there = load(&other, &key, &lasting_policy(), &calls_o, "other").await;
    assert_eq!(there.outcome, Outcome::Miss);
    assert_eq!(calls_o.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_on_one_instance_empties_redis_for_the_other() {
    let (server, a, b) = two_caches().await;
    for i in 0..20 {
        share(
            &a,
            &Key::new(format!("plex|GET|/k/{i}")),
            &lasting_policy(),
            "v",
        )
        .await;
    }
    b.clear_prefix("plex|GET|/k/1");
    b.flush().await;
    // Keys 1 and 10..19 are gone from Redis; the others are still shared.
    for i in 0..20 {
        let key = Key::new(format!("plex|GET|/k/{i}"));
        let c = cache_on(&server.url(), "t").await;
        let got = c.get(&key).await;
        let gone = i == 1 || (10..20).contains(&i);
        assert_eq!(got.is_none(), gone, "key {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_missing_server_are_clear_errors_at_start() {
    let server = RedisServer::start(&["--requirepass", "right-horse-battery"]);
    let url = format!("redis://:wrong-staple@127.0.0.1:{}/0", server.port);
    let err = RedisTier::connect(&url, options("t")).await.unwrap_err();
    // The message names the server; the cause beneath it says what went wrong.
    let msg = cachearr_engine::Chain(&err).to_string();
    assert!(matches!(err, EngineError::Redis { .. }), "{msg}");
    assert!(!msg.contains("wrong-staple"), "password leaked: {msg}");
    assert!(
        msg.to_lowercase().contains("auth") || msg.contains("WRONGPASS"),
        "{msg}"
    );
    let good = format!("redis://:right-horse-battery@127.0.0.1:{}/0", server.port);
    RedisTier::connect(&good, options("t")).await.unwrap();

    let port = free_port();
    let nothing = format!("redis://127.0.0.1:{port}/0");
    let err = RedisTier::connect(&nothing, options("t"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Redis { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_costs_no_request() {
    let (mut server, a, b) = two_caches().await;
    let port = server.port;
    let tier_a = a.redis().unwrap().clone();
    let calls = Arc::new(AtomicU32::new(0));

    let mut n = 0u32;
    let mut round = |cache: TieredCache, calls: Arc<AtomicU32>| {
        n += 1;
        let key = Key::new(format!("plex|GET|/load/{n}"));
        async move {
            cache
                .get_or_load(&key, &lasting_policy(), counting_loader(&calls, "v"))
                .await
                .map(|_| key)
        }
    };
    for _ in 0..20 {
        round(a.clone(), calls.clone()).await.unwrap();
    }
    server.kill();
    // Every request succeeds while Redis is gone (served by the loader, tier skipped).
    for _ in 0..50 {
        round(a.clone(), calls.clone()).await.unwrap();
        round(b.clone(), calls.clone()).await.unwrap();
    }
    a.flush().await;
    let health = tier_a.health();
    assert!(health.errors > 0, "{health:?}");

    let _server = RedisServer::start_on(port, &[]);
    // Recovery without a restart: a value stored through A becomes a Redis hit on B again.
    eventually(
        "recovery: A's values are Redis hits on B",
        2 * SETTLE,
        async || {
            let key = round(a.clone(), calls.clone()).await.unwrap();
            a.flush().await;
            let hit = b.get(&key).await;
            hit.is_some_and(|h| h.outcome == Outcome::Hit(TierKind::Redis))
        },
    )
    .await;
    assert!(!tier_a.health().breaker_open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_after_a_tag_invalidation_does_not_serve_what_it_killed() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let key = Key::new("plex|GET|/library/metadata/42");
    let tagged = lasting_policy().with_tag("item:42");
    share(&a, &key, &tagged, "old").await;
    // Before the invalidation another instance shares the record.
    let before = cache_on(&server.url(), "t").await;
    assert!(before.get(&key).await.is_some());

    a.invalidate_tag("item:42");
    a.flush().await;
    // A restarted (or new) instance learns the generation from Redis: the old record is dead.
    let restarted = cache_on(&server.url(), "t").await;
    assert!(restarted.get(&key).await.is_none());
    let calls = Arc::new(AtomicU32::new(0));
    let fresh = load(&restarted, &key, &tagged, &calls, "new").await;
    assert_eq!(fresh.outcome, Outcome::Miss);
    assert_eq!(body(&fresh), "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_invalidation_on_a_kills_b_s_memory_copy_by_broadcast() {
    let (_server, a, b) = two_caches().await;
    let key = Key::new("plex|GET|/library/metadata/42");
    let tagged = lasting_policy().with_tag("item:42");
    share(&a, &key, &tagged, "old").await;
    let calls = Arc::new(AtomicU32::new(0));
    let on_b = load(&b, &key, &tagged, &calls, "b").await;
    assert_eq!(on_b.outcome, Outcome::Hit(TierKind::Redis));
    assert!(b.get(&key).await.is_some(), "B holds it in memory");

    // The poll is slow (200 ms here, 1 s by default): the broadcast is what B hears first.
    a.invalidate_tag("item:42");
    eventually("B never saw the invalidation", SETTLE, async || {
        b.get(&key).await.is_none()
    })
    .await;
    assert!(b.redis().unwrap().health().events_received >= 1);
    let reloaded = load(&b, &key, &tagged, &calls, "new").await;
    assert_eq!(reloaded.outcome, Outcome::Miss);
    assert_eq!(body(&reloaded), "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_tag_invalidated_on_two_instances_gets_two_generations() {
    let (server, a, b) = two_caches().await;
    // Both bump the same tag at the same moment: INCR gives them different generations, so
    // an entry either loaded between its own bump and the other's dies with the other's.
    a.invalidate_tag("item:7");
    b.invalidate_tag("item:7");
    let port = server.port;
    eventually("both bumps reached Redis", SETTLE, async || {
        redis_cli(port, &["HGET", "{t}:gens", "item:7"]).trim() == "2"
    })
    .await;
    let key = Key::new("plex|GET|/library/metadata/7");
    let tagged = lasting_policy().with_tag("item:7");
    let calls = Arc::new(AtomicU32::new(0));
    // Once both instances agree on generation 2, what one stores the other can serve.
    eventually("A and B agree", SETTLE, async || {
        load(&a, &key, &tagged, &calls, "v").await;
        a.flush().await;
        b.get(&key).await.is_some_and(|h| {
            h.outcome == Outcome::Hit(TierKind::Redis)
                || h.outcome == Outcome::Hit(TierKind::Memory)
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_is_a_third_tier_below_disk_and_a_memory_hit_sends_it_nothing() {
    let server = RedisServer::start(&[]);
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = cache_on_disk(&server.url(), dir_a.path()).await;
    let b = cache_on_disk(&server.url(), dir_b.path()).await;
    let key = Key::new("plex|GET|/library/metadata/9");
    let calls = Arc::new(AtomicU32::new(0));
    load(&a, &key, &lasting_policy(), &calls, "nine").await;
    a.flush().await;
    let kinds: Vec<TierKind> = b.stats().tiers.iter().map(|t| t.tier).collect();
    assert_eq!(kinds, [TierKind::Memory, TierKind::Disk, TierKind::Redis]);

    // B: memory and disk miss, Redis hits; the record is filled into disk and memory.
    let hit = load(&b, &key, &lasting_policy(), &calls, "b").await;
    assert_eq!(hit.outcome, Outcome::Hit(TierKind::Redis));
    b.flush().await;
    let disk = b.stats().tiers[1].clone();
    assert_eq!(disk.writes, 1, "{disk:?}");

    // Memory hits: not one record is read from Redis. (Counted by the tier, not by Redis's
    // GET count: each cache's event connection also GETs the change counter every
    // `poll_every`, whenever it likes.)
    let reads_before = record_reads(&b);
    for _ in 0..100 {
        let h = load(&b, &key, &lasting_policy(), &calls, "b").await;
        assert_eq!(h.outcome, Outcome::Hit(TierKind::Memory));
    }
    assert_eq!(record_reads(&b), reads_before);

    // After a restart of B (memory gone), the disk answers before Redis is asked.
    b.shutdown().await;
    drop(b);
    let b2 = cache_on_disk(&server.url(), dir_b.path()).await;
    let reads_before = record_reads(&b2);
    let h = load(&b2, &key, &lasting_policy(), &calls, "b").await;
    assert_eq!(h.outcome, Outcome::Hit(TierKind::Disk));
    assert_eq!(record_reads(&b2), reads_before);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_on_b_empties_a_s_memory_and_disk() {
    let server = RedisServer::start(&[]);
    let dir_a = tempfile::tempdir().unwrap();
    let a = cache_on_disk(&server.url(), dir_a.path()).await;
    let b = cache_on(&server.url(), "t").await;
    let keys: Vec<Key> = (0..4)
        .map(|i| Key::new(format!("plex|GET|/p{i}/x")))
        .collect();
    for k in &keys {
        share(&a, k, &lasting_policy(), "v").await;
    }
    b.clear_prefix("plex|GET|/p1");
    eventually("A dropped the prefix", SETTLE, async || {
        a.get(&keys[1]).await.is_none()
    })
    .await;
    assert!(a.get(&keys[0]).await.is_some(), "other prefixes stay");
    b.clear_all();
    eventually("A dropped everything", SETTLE, async || {
        a.get(&keys[0]).await.is_none() && a.get(&keys[2]).await.is_none()
    })
    .await;
    // Nothing in Redis answers the old keys either (the epoch moved).
    let c = cache_on(&server.url(), "t").await;
    assert!(c.get(&keys[3]).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_load_per_key_across_instances() {
    let (_server, a, b) = two_caches().await;
    let calls = Arc::new(AtomicU32::new(0));
    // The load is held until every other caller waits on it.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let slow: Arc<dyn Loader> = {
        let (calls, gate) = (calls.clone(), gate.clone());
        Arc::new(move || {
            let (calls, gate) = (calls.clone(), gate.clone());
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                drop(gate.acquire().await.unwrap());
                Ok(Fill::Store(CachedValue::new(200, "once")))
            }
        })
    };
    let key = Key::new("plex|GET|/cold");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let cache = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (key, loader) = (key.clone(), slow.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_load(&key, &lasting_policy(), loader)
                .await
                .unwrap()
        }));
    }
    // Each instance's first caller starts its load (one takes the lock, the other waits on
    // it); the 99 others of each join their instance's load, counted as they join.
    let joined = || {
        [&a, &b]
            .iter()
            .map(|c| c.stats().class("metadata").map_or(0, |s| s.coalesced))
            .sum::<u64>()
    };
    eventually(
        "198 callers wait on the two loads",
        Duration::from_secs(30),
        async || joined() == 198,
    )
    .await;
    gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS);
    for t in tasks {
        assert_eq!(body(&t.await.unwrap()), "once");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let (ha, hb) = (a.redis().unwrap().health(), b.redis().unwrap().health());
    assert_eq!(ha.locks_taken + hb.locks_taken, 1, "{ha:?} {hb:?}");
    assert_eq!(ha.waits_filled + hb.waits_filled, 1, "{ha:?} {hb:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lock_holder_costs_waiters_at_most_its_lock_ttl() {
    let server = RedisServer::start(&[]);
    let opts = RedisOptions {
        lock_ttl: Duration::from_millis(300),
        lock_wait: Duration::from_secs(20),
        ..options("t")
    };
    let b = cache_with(&server.url(), opts, None).await;
    // An instance took the lock and died: nobody will announce anything.
    redis_cli(
        server.port,
        &["SET", "t:l:plex|GET|/orphan", "dead", "PX", "300"],
    );
    let calls = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let got = load(
        &b,
        &Key::new("plex|GET|/orphan"),
        &lasting_policy(),
        &calls,
        "v",
    )
    .await;
    assert_eq!(got.outcome, Outcome::Miss);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Bounded by the lock's life (plus a poll), far below the 20 s wait bound.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(b.redis().unwrap().health().locks_taken, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_redis_refuses_writes_without_failing_requests() {
    let server = RedisServer::start(&["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]);
    let a = cache_on(&server.url(), "t").await;
    let calls = Arc::new(AtomicU32::new(0));
    let big = "x".repeat(200_000);
    let loader: Arc<dyn Loader> = {
        let calls = calls.clone();
        Arc::new(move || {
            let calls = calls.clone();
            let big = big.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                // Pseudo-random letters: LZ4 cannot shrink them much.
                let mut x = u64::from(calls.load(Ordering::SeqCst)) + 1;
                let body: String = (0..big.len())
                    .map(|_| {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        char::from(b'a' + ((x >> 33) % 26) as u8)
                    })
                    .collect();
                Ok(Fill::Store(CachedValue::new(200, body)))
            }
        })
    };
    for i in 0..60 {
        let key = Key::new(format!("plex|GET|/big/{i}"));
        let got = lookup(&a, &key, &lasting_policy(), loader.clone()).await;
        assert_eq!(got.entry.value.body.len(), 200_000);
        a.flush().await;
    }
    let h = a.redis().unwrap().health();
    assert!(h.oom_errors > 0, "{h:?}");
    assert!(!h.degraded, "a full Redis is not a dead one: {h:?}");
    assert!(
        h.last_error.as_deref().unwrap_or_default().contains("OOM"),
        "{h:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_made_while_redis_was_down_reaches_the_others_after_it_returns() {
    let (mut server, a, b) = two_caches().await;
    let port = server.port;
    let key = Key::new("plex|GET|/library/metadata/5");
    let tagged = lasting_policy().with_tag("item:5");
    share(&a, &key, &tagged, "old").await;
    let calls = Arc::new(AtomicU32::new(0));
    assert_eq!(
        load(&b, &key, &tagged, &calls, "x").await.outcome,
        Outcome::Hit(TierKind::Redis)
    );
    server.kill();
    // A webhook reaches A while Redis is down: A drops its copy at once, B cannot hear it.
    a.invalidate_tag("item:5");
    assert!(a.get(&key).await.is_none());
    // Redis comes back empty; A sends what it owes, B resyncs and drops its copy.
    let _server = RedisServer::start_on(port, &[]);
    eventually("B dropped the copy after the outage", SETTLE, async || {
        b.get(&key).await.is_none()
    })
    .await;
    assert!(b.redis().unwrap().health().resyncs >= 2);
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (scripts/setup-test-env)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA `{name}-ca.crt` and a server certificate it signed for `localhost` /
/// 127.0.0.1 (`{name}.crt`, `{name}.key`), made with the `openssl` tool.
fn private_ca(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let (ca, ca_key) = (format!("{name}-ca.crt"), format!("{name}-ca.key"));
    let (crt, key, csr) = (
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.csr"),
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            &crt,
            "-extfile",
            ext.to_str().unwrap(),
        ],
    );
    dir.join(ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_root_shares_entries_and_an_unknown_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = private_ca(dir.path(), "server");
    let other = private_ca(dir.path(), "other");
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let port = free_port();
    // Plain port off (`--port 0` overrides the helper's), TLS on the free port.
    let _server = RedisServer::start_on(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
            "--tls-ca-cert-file",
            ca.to_str().unwrap(),
            "--tls-auth-clients",
            "no",
        ],
    );
    let url = format!("rediss://localhost:{port}/0");
    let tls = |root: &std::path::Path| RedisOptions {
        root_cert: Some(std::fs::read(root).unwrap()),
        ..options("tls")
    };
    let a = cache_with(&url, tls(&ca), None).await;
    let b = cache_with(&url, tls(&ca), None).await;
    let key = Key::new("plex|GET|/tls");
    let calls = Arc::new(AtomicU32::new(0));
    load(&a, &key, &lasting_policy(), &calls, "sealed").await;
    a.flush().await;
    let on_b = load(&b, &key, &lasting_policy(), &calls, "b").await;
    assert_eq!(on_b.outcome, Outcome::Hit(TierKind::Redis));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let err = RedisTier::connect(&url, tls(&other)).await.unwrap_err();
    assert!(matches!(err, EngineError::Redis { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_after_redis_restarted_empty_still_reaches_the_others() {
    let (mut server, a, b) = two_caches().await;
    let port = server.port;
    // A first clear: both instances have seen clear number 1 and epoch 1.
    a.clear_all();
    eventually("B heard of A's clear", SETTLE, async || {
        b.redis().unwrap().health().events_received >= 1
    })
    .await;
    let resyncs = |c: &TieredCache| c.redis().unwrap().health().resyncs;
    let (ra, rb) = (resyncs(&a), resyncs(&b));
    // Redis comes back empty: its clear counter and epoch start from zero again.
    server.kill();
    let _server = RedisServer::start_on(port, &[]);
    eventually("both resynced with the empty Redis", SETTLE, async || {
        resyncs(&a) > ra && resyncs(&b) > rb
    })
    .await;
    let key = Key::new("plex|GET|/library/metadata/9");
    let calls = Arc::new(AtomicU32::new(0));
    load(&b, &key, &lasting_policy(), &calls, "v").await;
    assert!(b.get(&key).await.is_some());
    // A clear now must not get a number B has seen already (B would ignore it).
    a.clear_all();
    eventually("B dropped its copy after A's clear", SETTLE, async || {
        b.get(&key).await.is_none()
    })
    .await;
    assert_eq!(redis_cli(port, &["GET", "{t}:clearseq"]).trim(), "2");
}

/// The Redis key a record of `key` lives under in namespace `ns` before any clear-all.
fn record_key(ns: &str, key: &str) -> String {
    format!("{ns}:s:0:{key}")
}

/// Loads `body` under `key` on `cache` and waits for its record to reach Redis.
async fn share(cache: &TieredCache, key: &Key, policy: &Policy, body: &'static str) {
    load(cache, key, policy, &Arc::new(AtomicU32::new(0)), body).await;
    cache.flush().await;
}

/// Copies the record of `from` over `to`'s in namespace `t`, as someone who can write to
/// Redis could; what `COPY` answered.
fn copy_record(port: u16, from: &Key, to: &Key) -> String {
    redis_cli(
        port,
        &[
            "COPY",
            &record_key("t", from.as_str()),
            &record_key("t", to.as_str()),
            "REPLACE",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_copied_under_another_users_key_is_a_miss_not_their_answer() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let admin = Key::new("plex|GET|/library/sections|u=admin");
    let kid = Key::new("plex|GET|/library/sections|u=kid");
    share(&a, &admin, &lasting_policy(), "four sections").await;
    share(&a, &kid, &lasting_policy(), "two sections").await;
    // Someone who can write to Redis puts admin's record under kid's key.
    let copied = copy_record(server.port, &admin, &kid);
    assert_eq!(copied.trim(), "1", "COPY answered {copied:?}");

    // A gateway started afresh (no memory or disk copy) reads kid's key from Redis.
    let b = cache_on(&server.url(), "t").await;
    let calls = Arc::new(AtomicU32::new(0));
    let got = load(&b, &kid, &lasting_policy(), &calls, "two sections").await;
    assert_eq!(got.outcome, Outcome::Miss);
    assert_eq!(body(&got), "two sections");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let health = b.redis().unwrap().health();
    assert_eq!(health.rejected_records, 1, "{health:?}");
    assert_eq!(b.stats().tier(TierKind::Redis).unwrap().corrupt, 1);

    // Admin's own record, under its own key, still reads as a Redis hit.
    let got = load(&b, &admin, &lasting_policy(), &calls, "not loaded").await;
    assert_eq!(got.outcome, Outcome::Hit(TierKind::Redis));
    assert_eq!(body(&got), "four sections");
    assert_eq!(b.redis().unwrap().health().rejected_records, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_with_another_secret_is_a_miss() {
    let server = RedisServer::start(&[]);
    let other = RedisOptions {
        secret: SharedSecret::new(*b"installation-two"),
        ..options("t")
    };
    let a = cache_with(&server.url(), other, None).await;
    let key = Key::new("plex|GET|/library/metadata/7");
    share(&a, &key, &lasting_policy(), "from another installation").await;

    let b = cache_on(&server.url(), "t").await;
    let calls = Arc::new(AtomicU32::new(0));
    let got = load(&b, &key, &lasting_policy(), &calls, "own").await;
    assert_eq!(got.outcome, Outcome::Miss);
    assert_eq!(body(&got), "own");
    assert_eq!(b.redis().unwrap().health().rejected_records, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_does_not_take_a_copied_record_for_the_holders_answer() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let admin = Key::new("plex|GET|/library/sections|u=admin");
    let kid = Key::new("plex|GET|/library/sections|u=kid");
    share(&a, &admin, &lasting_policy(), "four sections").await;
    // An instance holds kid's load lock (and will never announce), and admin's record sits
    // under kid's key: a waiter that looks at the key while it waits must not answer with it.
    redis_cli(
        server.port,
        &["SET", &format!("t:l:{}", kid.as_str()), "held", "PX", "600"],
    );
    copy_record(server.port, &admin, &kid);
    let opts = RedisOptions {
        lock_wait: Duration::from_secs(20),
        ..options("t")
    };
    let b = cache_with(&server.url(), opts, None).await;
    let calls = Arc::new(AtomicU32::new(0));
    let got = load(&b, &kid, &lasting_policy(), &calls, "two sections").await;
    assert_eq!(body(&got), "two sections");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let health = b.redis().unwrap().health();
    assert!(health.rejected_records >= 2, "{health:?}");
    assert_eq!(health.waits_filled, 0, "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_without_a_shared_secret_is_refused() {
    let server = RedisServer::start(&[]);
    let opts = RedisOptions {
        secret: SharedSecret::default(),
        ..options("t")
    };
    let err = RedisTier::connect(&server.url(), opts).await.unwrap_err();
    let msg = cachearr_engine::Chain(&err).to_string();
    assert!(msg.contains("secret"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_memory_copy_gives_way_to_a_fresher_one_another_instance_loaded() {
    // A short-lived answer (fresh 10 s, no stale-while-revalidate) asked of two instances in
    // turn: each one's expired memory copy must not hide the fresher copy the other loaded.
    let server = RedisServer::start(&[]);
    let clock = Arc::new(cachearr_engine::ManualClock::new(1_000_000));
    let on = async |clock: &Arc<cachearr_engine::ManualClock>| {
        let tier = RedisTier::connect_with_clock(&server.url(), options("t"), clock.clone())
            .await
            .unwrap();
        let cache = TieredCache::builder()
            .redis(tier)
            .clock(clock.clone())
            .write_behind(1000, Duration::from_millis(5))
            .build()
            .await
            .unwrap();
        wait_subscribed(&cache).await;
        cache
    };
    let (a, b) = (on(&clock).await, on(&clock).await);
    let key = Key::new("plex|GET|/status/sessions");
    let short = Policy::new("sessions", Duration::from_secs(10))
        .with_stale_if_error(Duration::from_secs(60));
    let (calls_a, calls_b) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));

    assert_eq!(
        load(&a, &key, &short, &calls_a, "first").await.outcome,
        Outcome::Miss
    );
    a.flush().await;
    assert_eq!(
        load(&b, &key, &short, &calls_b, "-").await.outcome,
        Outcome::Hit(TierKind::Redis)
    );
    // Both copies expire; A loads again, and B finds A's new copy rather than loading.
    clock.advance(Duration::from_secs(15));
    assert_eq!(
        load(&a, &key, &short, &calls_a, "second").await.outcome,
        Outcome::Miss
    );
    a.flush().await;
    let on_b = load(&b, &key, &short, &calls_b, "-").await;
    assert_eq!(on_b.outcome, Outcome::Hit(TierKind::Redis));
    assert_eq!(body(&on_b), "second");
    assert_eq!(calls_b.load(Ordering::SeqCst), 0, "B never loaded");
    assert_eq!(calls_a.load(Ordering::SeqCst), 2);
}

/// Someone who can write to Redis sets a tag's generation back (or deletes it) and puts
/// back the record that generation's invalidation killed: neither an instance that heard of
/// the invalidation nor one restarted on its disk serves the old record, and the next
/// invalidation gets a generation above every one they have known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_set_back_in_redis_brings_back_no_record_it_killed() {
    let server = RedisServer::start(&[]);
    let port = server.port;
    let dir = tempfile::tempdir().unwrap();
    let a = cache_on(&server.url(), "t").await;
    let b = cache_on_disk(&server.url(), dir.path()).await;
    let key = Key::new("plex|GET|/library/metadata/42");
    let tagged = lasting_policy().with_tag("item:42");
    share(&a, &key, &tagged, "old").await;
    let saved = record_key("t", "saved");
    let copied = redis_cli(port, &["COPY", &record_key("t", key.as_str()), &saved]);
    assert_eq!(copied.trim(), "1");
    let calls = Arc::new(AtomicU32::new(0));
    assert_eq!(body(&load(&b, &key, &tagged, &calls, "-").await), "old");

    a.invalidate_tag("item:42");
    a.invalidate_tag("item:42");
    eventually("B heard of the invalidations", SETTLE, async || {
        b.get(&key).await.is_none()
    })
    .await;
    b.flush().await;

    // The attacker: the generation back to where the old record was stored, or gone, and
    // the old record back under its key (its seal is its key's: it reads as authentic).
    let put_back_old = || {
        let copied = redis_cli(
            port,
            &["COPY", &saved, &record_key("t", key.as_str()), "REPLACE"],
        );
        assert_eq!(copied.trim(), "1");
    };
    let set_backs: [&[&str]; 2] = [
        &["HSET", "{t}:gens", "item:42", "0"],
        &["HDEL", "{t}:gens", "item:42"],
    ];
    for set_back in set_backs {
        for cache in [&a, &b] {
            cache.remove(&key).await;
            redis_cli(port, set_back);
            put_back_old();
            let got = load(cache, &key, &tagged, &calls, "reloaded").await;
            assert_eq!(body(&got), "reloaded", "{set_back:?}: the killed record");
        }
    }
    // B restarted on its disk, with Redis saying nothing of the tag.
    b.remove(&key).await;
    b.shutdown().await;
    drop(b);
    redis_cli(port, &["HDEL", "{t}:gens", "item:42"]);
    put_back_old();
    let b = cache_on_disk(&server.url(), dir.path()).await;
    let got = load(&b, &key, &tagged, &calls, "reloaded").await;
    assert_eq!(
        body(&got),
        "reloaded",
        "restarted B served the killed record"
    );
    // The next invalidation is above the generations the instances knew.
    redis_cli(port, &["HDEL", "{t}:gens", "item:42"]);
    b.invalidate_tag("item:42");
    eventually("B's invalidation reached Redis", SETTLE, async || {
        redis_cli(port, &["HGET", "{t}:gens", "item:42"])
            .trim()
            .parse::<u64>()
            .is_ok_and(|g| g >= 3)
    })
    .await;
}
