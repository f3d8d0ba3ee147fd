//! Two gateways sharing one real `redis-server` (started on a free port): an answer fetched
//! through A is served by B without asking the upstream, a clear on B empties what A's
//! answers could be served from in Redis, and a wrong password is a clear error at start.
#![allow(clippy::unwrap_used)]

mod proxy_common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachearr_gateway::{Gateway, Profile};
use proxy_common::{Harness, start_gateway, start_upstream};

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
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn gateway_on(upstream: std::net::SocketAddr, url: &str) -> Harness {
    let url = url.to_owned();
    start_gateway(upstream, Profile::Plex, move |c| {
        c.redis_url = Some(url);
        c.redis_namespace = Some("shared-test".into());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_fetched_through_a_is_served_by_b_without_the_upstream() {
    let redis = RedisServer::start(&[]);
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let (upstream, counts) = start_upstream().await;
    let a = gateway_on(upstream, &url).await;
    let b = gateway_on(upstream, &url).await;

    let via_a = a.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(via_a.status(), 200);
    let body_a = via_a.text().await.unwrap();
    assert_eq!(counts.count("/library/sections"), 1);
    a.gateway.cache().flush().await;

    let via_b = b.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(via_b.status(), 200);
    assert_eq!(via_b.text().await.unwrap(), body_a);
    assert_eq!(
        counts.count("/library/sections"),
        1,
        "B answered from Redis without asking the upstream"
    );
    // Another user's answer is not shared with alice's key.
    let bob = b.get("/library/sections", Some("tok-bob")).await;
    assert_eq!(bob.status(), 200);
    assert!(bob.text().await.unwrap().contains("\"user\":\"bob\""));
    assert_eq!(counts.count("/library/sections"), 2);

    // A clear on B removes the shared copies: a fresh gateway C must ask the upstream again.
    b.gateway.cache().clear_all();
    b.gateway.cache().flush().await;
    let c = gateway_on(upstream, &url).await;
    let via_c = c.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(via_c.status(), 200);
    assert_eq!(counts.count("/library/sections"), 3);
}

#[tokio::test]
async fn a_wrong_redis_password_is_a_clear_error_at_start() {
    let redis = RedisServer::start(&["--requirepass", "right-horse"]);
    let (upstream, _counts) = start_upstream().await;
    let mut config = cachearr_gateway::config::Config::single(
        Profile::Plex,
        &format!("http://{upstream}"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.disk_enabled = false;
    config.redis_url = Some(format!("redis://:wrong-staple@127.0.0.1:{}/0", redis.port));
    let err = Gateway::builder(config).build().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("redis"), "{msg}");
    assert!(!msg.contains("wrong-staple"), "password leaked: {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_on_a_makes_b_ask_the_upstream_again() {
    let redis = RedisServer::start(&[]);
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let (upstream, counts) = start_upstream().await;
    let a = gateway_on(upstream, &url).await;
    let b = gateway_on(upstream, &url).await;

    assert_eq!(
        a.get("/library/sections", Some("tok-alice")).await.status(),
        200
    );
    a.gateway.cache().flush().await;
    assert_eq!(
        b.get("/library/sections", Some("tok-alice")).await.status(),
        200
    );
    assert_eq!(
        b.get("/library/sections", Some("tok-alice")).await.status(),
        200
    );
    assert_eq!(
        counts.count("/library/sections"),
        1,
        "B serves from Redis, then memory"
    );

    // What a webhook for a library change does on A.
    a.gateway
        .cache()
        .invalidate_tag(&cachearr_gateway::tags::sections("plex"));
    a.gateway.cache().flush().await;
    // B's generation sync (every 100 ms) kills its memory copy: it asks the upstream again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(
            b.get("/library/sections", Some("tok-alice")).await.status(),
            200
        );
        if counts.count("/library/sections") == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "B never saw A's invalidation");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
