//! The Redis tier against real `redis-server` processes started on free ports: two caches on
//! one Redis share entries, namespaces isolate, a wrong password or a missing server is a
//! clear error at start, and a Redis killed and restarted under load costs no request.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cachearr_engine::{
    CachedValue, EngineError, Fill, Key, Loader, Outcome, Policy, RedisOptions, RedisTier,
    TierKind, TieredCache,
};

/// A `redis-server` child process, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(extra: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port, extra)
    }

    fn start_on(port: u16, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let server = Self { child, port };
        // Readiness: the port accepts connections (bounded, not a timing assumption).
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn options(namespace: &str) -> RedisOptions {
    RedisOptions {
        namespace: namespace.into(),
        // Generous: the test machine is loaded; a slow answer would only be a miss.
        command_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(5),
    }
}

async fn cache_on(url: &str, namespace: &str) -> TieredCache {
    let tier = RedisTier::connect(url, options(namespace)).await.unwrap();
    TieredCache::builder()
        .tier(Arc::new(tier))
        .write_behind(1000, Duration::from_millis(5))
        .build()
        .await
        .unwrap()
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

fn policy() -> Policy {
    Policy::new("metadata", Duration::from_secs(600))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_loaded_through_a_is_a_hit_on_b_without_a_load() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t1").await;
    let b = cache_on(&server.url(), "t1").await;
    let key = Key::new("plex|GET|/library/metadata/42");
    let (calls_a, calls_b) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));

    let first = a
        .get_or_load(&key, &policy(), counting_loader(&calls_a, "from-a"))
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Miss);
    a.flush().await;

    let on_b = b
        .get_or_load(&key, &policy(), counting_loader(&calls_b, "from-b"))
        .await
        .unwrap();
    assert_eq!(on_b.outcome, Outcome::Hit(TierKind::Redis));
    assert_eq!(&on_b.entry.value.body[..], b"from-a");
    assert_eq!(calls_b.load(Ordering::SeqCst), 0);
    // Promoted: the next read on B is a memory hit.
    let again = b
        .get_or_load(&key, &policy(), counting_loader(&calls_b, "from-b"))
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(calls_a.load(Ordering::SeqCst), 1);

    // Another namespace on the same server sees nothing of it.
    let other = cache_on(&server.url(), "t2").await;
    let calls_o = Arc::new(AtomicU32::new(0));
    let there = other
        .get_or_load(&key, &policy(), counting_loader(&calls_o, "other"))
        .await
        .unwrap();
    assert_eq!(there.outcome, Outcome::Miss);
    assert_eq!(calls_o.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_on_one_instance_empties_redis_for_the_other() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let b = cache_on(&server.url(), "t").await;
    let calls = Arc::new(AtomicU32::new(0));
    for i in 0..20 {
        let key = Key::new(format!("plex|GET|/k/{i}"));
        a.get_or_load(&key, &policy(), counting_loader(&calls, "v"))
            .await
            .unwrap();
    }
    a.flush().await;
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
    let msg = err.to_string();
    assert!(matches!(err, EngineError::Redis { .. }), "{msg}");
    assert!(!msg.contains("wrong-staple"), "password leaked: {msg}");
    assert!(
        msg.to_lowercase().contains("auth") || msg.contains("WRONGPASS"),
        "{msg}"
    );
    let good = format!("redis://:right-horse-battery@127.0.0.1:{}/0", server.port);
    RedisTier::connect(&good, options("t")).await.unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nothing = format!("redis://127.0.0.1:{port}/0");
    let err = RedisTier::connect(&nothing, options("t"))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Redis { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_costs_no_request() {
    let mut server = RedisServer::start(&[]);
    let port = server.port;
    let tier_a = RedisTier::connect(&server.url(), options("t"))
        .await
        .unwrap();
    let a = TieredCache::builder()
        .tier(Arc::new(tier_a.clone()))
        .write_behind(1000, Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    let b = cache_on(&server.url(), "t").await;
    let calls = Arc::new(AtomicU32::new(0));

    let mut n = 0u32;
    let mut round = |cache: TieredCache, calls: Arc<AtomicU32>| {
        n += 1;
        let key = Key::new(format!("plex|GET|/load/{n}"));
        async move {
            cache
                .get_or_load(&key, &policy(), counting_loader(&calls, "v"))
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let key = round(a.clone(), calls.clone()).await.unwrap();
        a.flush().await;
        let hit = b.get(&key).await;
        if hit.is_some_and(|h| h.outcome == Outcome::Hit(TierKind::Redis)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery: {:?}",
            tier_a.health()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!tier_a.health().degraded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_after_a_tag_invalidation_does_not_serve_what_it_killed() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let key = Key::new("plex|GET|/library/metadata/42");
    let tagged = policy().with_tag("item:42");
    let calls = Arc::new(AtomicU32::new(0));
    a.get_or_load(&key, &tagged, counting_loader(&calls, "old"))
        .await
        .unwrap();
    a.flush().await;
    // Before the invalidation another instance shares the record.
    let before = cache_on(&server.url(), "t").await;
    assert!(before.get(&key).await.is_some());

    a.invalidate_tag("item:42");
    a.flush().await;
    // A restarted (or new) instance learns the generation from Redis: the old record is dead.
    let restarted = cache_on(&server.url(), "t").await;
    assert!(restarted.get(&key).await.is_none());
    let fresh = restarted
        .get_or_load(&key, &tagged, counting_loader(&calls, "new"))
        .await
        .unwrap();
    assert_eq!(fresh.outcome, Outcome::Miss);
    assert_eq!(&fresh.entry.value.body[..], b"new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_invalidation_on_a_kills_b_s_memory_copy_after_a_generation_sync() {
    let server = RedisServer::start(&[]);
    let a = cache_on(&server.url(), "t").await;
    let tier_b = RedisTier::connect(&server.url(), options("t"))
        .await
        .unwrap();
    let b = TieredCache::builder()
        .tier(Arc::new(tier_b.clone()))
        .write_behind(1000, Duration::from_millis(5))
        .build()
        .await
        .unwrap();
    let key = Key::new("plex|GET|/library/metadata/42");
    let tagged = policy().with_tag("item:42");
    let calls = Arc::new(AtomicU32::new(0));
    a.get_or_load(&key, &tagged, counting_loader(&calls, "old"))
        .await
        .unwrap();
    a.flush().await;
    let on_b = b
        .get_or_load(&key, &tagged, counting_loader(&calls, "b"))
        .await
        .unwrap();
    assert_eq!(on_b.outcome, Outcome::Hit(TierKind::Redis));
    assert!(b.get(&key).await.is_some(), "B holds it in memory");

    a.invalidate_tag("item:42");
    a.flush().await;
    // One sync: B learns the generation and its memory copy dies.
    let gens = tier_b.shared_generations().await.unwrap();
    assert_eq!(b.raise_tag_generations(&gens), 1);
    assert!(b.get(&key).await.is_none());
    let reloaded = b
        .get_or_load(&key, &tagged, counting_loader(&calls, "new"))
        .await
        .unwrap();
    assert_eq!(reloaded.outcome, Outcome::Miss);
    assert_eq!(&reloaded.entry.value.body[..], b"new");

    // The background sync does the same on its own.
    let _sync = tier_b.spawn_generation_sync(&b, Duration::from_millis(10));
    b.flush().await;
    a.invalidate_tag("item:42");
    a.flush().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.get(&key).await.is_some() {
        assert!(Instant::now() < deadline, "B never saw the invalidation");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
