//! Redis tier benchmarks, side by side in one run (see `docs/benchmarks.md` § Redis tier),
//! against a private `redis-server` this bench starts on a free port:
//!
//! * memory-hit throughput of `get_or_load` with the Redis tier configured vs without
//!   (a memory hit must not touch Redis, so the two should match);
//! * latency of a hit served from Redis to a second instance (its memory and disk cold);
//! * cross-instance coalescing: 1,000 concurrent cold requests split over two instances,
//!   loader 100 ms: loads made, waiters' p50/p99;
//! * invalidation broadcast: from a tag bump on A to B's memory copy being dead.
//!
//! `cargo bench -p cachearr-engine --bench redis`. Every figure is the median of 5 runs.

#![allow(clippy::disallowed_methods, reason = "a benchmark measures real time")]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use cachearr_engine::{
    CachedValue, Fill, Key, Loader, Policy, RedisOptions, RedisTier, SharedSecret, TieredCache,
};

const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    (Server(child), format!("redis://127.0.0.1:{port}/0"))
}

async fn cache(url: Option<&str>, ns: &str) -> TieredCache {
    let mut b = TieredCache::builder().write_behind(10_000, Duration::from_millis(5));
    if let Some(url) = url {
        let tier = RedisTier::connect(
            url,
            RedisOptions {
                namespace: ns.into(),
                command_timeout: Duration::from_secs(2),
                secret: SharedSecret::new(*b"bench-secret-16b"),
                ..RedisOptions::default()
            },
        )
        .await
        .unwrap();
        b = b.redis(tier);
    }
    let c = b.build().await.unwrap();
    if let Some(r) = c.redis() {
        while !r.health().subscribed {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    c
}

fn loader(calls: &Arc<AtomicU32>, delay: Duration) -> Arc<dyn Loader> {
    let calls = calls.clone();
    Arc::new(move || {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(Fill::Store(CachedValue::new(200, vec![b'x'; 2048])))
        }
    })
}

fn policy() -> Policy {
    Policy::new("metadata", Duration::from_secs(3600)).with_tag("bench:item")
}

async fn hit_throughput(url: &str) {
    const OPS: usize = 500_000;
    let calls = Arc::new(AtomicU32::new(0));
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let plain = cache(None, "x").await;
    let shared = cache(Some(url), "hits").await;
    let key = Key::new("plex|GET|/library/metadata/1");
    let l = loader(&calls, Duration::ZERO);
    for c in [&plain, &shared] {
        c.get_or_load(&key, &policy(), l.clone()).await.unwrap();
    }
    for _ in 0..RUNS {
        for (c, out) in [(&plain, &mut without), (&shared, &mut with)] {
            let t = Instant::now();
            for _ in 0..OPS {
                std::hint::black_box(c.get_or_load(&key, &policy(), l.clone()).await.unwrap());
            }
            out.push(OPS as f64 / t.elapsed().as_secs_f64());
        }
    }
    let (a, b) = (median(without), median(with));
    println!(
        "memory hits, get_or_load, one task: without Redis {:.2} M/s, with Redis {:.2} M/s, ratio {:.3}",
        a / 1e6,
        b / 1e6,
        b / a
    );
}

async fn redis_hit_latency(url: &str) {
    const KEYS: usize = 2000;
    let calls = Arc::new(AtomicU32::new(0));
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for run in 0..RUNS {
        let ns = format!("lat{run}");
        let a = cache(Some(url), &ns).await;
        let b = cache(Some(url), &ns).await;
        let l = loader(&calls, Duration::ZERO);
        for i in 0..KEYS {
            a.get_or_load(&Key::new(format!("plex|GET|/k/{i}")), &policy(), l.clone())
                .await
                .unwrap();
        }
        a.flush().await;
        let mut lat = Vec::with_capacity(KEYS);
        for i in 0..KEYS {
            let t = Instant::now();
            let h = b
                .get_or_load(&Key::new(format!("plex|GET|/k/{i}")), &policy(), l.clone())
                .await
                .unwrap();
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            assert_eq!(
                h.outcome,
                cachearr_engine::Outcome::Hit(cachearr_engine::TierKind::Redis)
            );
        }
        p50s.push(pct(&mut lat, 0.5));
        p99s.push(pct(&mut lat, 0.99));
    }
    println!(
        "hit served from Redis to a second instance (2 KB body): p50 {:.0} µs, p99 {:.0} µs",
        median(p50s),
        median(p99s)
    );
}

async fn coalescing(url: &str) {
    const N: usize = 1000;
    const LOAD: Duration = Duration::from_millis(100);
    let mut loads = Vec::new();
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for run in 0..RUNS {
        let ns = format!("co{run}");
        let a = cache(Some(url), &ns).await;
        let b = cache(Some(url), &ns).await;
        let calls = Arc::new(AtomicU32::new(0));
        let l = loader(&calls, LOAD);
        let key = Key::new("plex|GET|/cold");
        let start = Instant::now();
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let c = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (key, l) = (key.clone(), l.clone());
                tokio::spawn(async move {
                    c.get_or_load(&key, &policy(), l).await.unwrap();
                    start.elapsed().as_secs_f64() * 1e3
                })
            })
            .collect();
        let mut lat = Vec::new();
        for t in tasks {
            lat.push(t.await.unwrap());
        }
        loads.push(f64::from(calls.load(Ordering::SeqCst)));
        p50s.push(pct(&mut lat, 0.5));
        p99s.push(pct(&mut lat, 0.99));
    }
    println!(
        "1,000 concurrent cold requests over two instances, loader {} ms: loads {:.0} (median), waiters p50 {:.1} ms, p99 {:.1} ms",
        LOAD.as_millis(),
        median(loads),
        median(p50s),
        median(p99s)
    );
}

async fn broadcast(url: &str) {
    let a = cache(Some(url), "bc").await;
    let b = cache(Some(url), "bc").await;
    let calls = Arc::new(AtomicU32::new(0));
    let l = loader(&calls, Duration::ZERO);
    let key = Key::new("plex|GET|/library/metadata/1");
    let mut delays = Vec::new();
    for _ in 0..20 {
        a.get_or_load(&key, &policy(), l.clone()).await.unwrap();
        a.flush().await;
        b.get_or_load(&key, &policy(), l.clone()).await.unwrap();
        assert!(b.get(&key).await.is_some());
        let t = Instant::now();
        a.invalidate_tag("bench:item");
        while b.get(&key).await.is_some() {
            tokio::task::yield_now().await;
        }
        delays.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut d = delays.clone();
    println!(
        "tag invalidation on A until B's memory copy is dead (pub/sub): median {:.2} ms, max {:.2} ms (20 runs)",
        median(delays),
        pct(&mut d, 1.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (_server, url) = start_redis();
    hit_throughput(&url).await;
    redis_hit_latency(&url).await;
    coalescing(&url).await;
    broadcast(&url).await;
}
