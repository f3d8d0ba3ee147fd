//! Two gateways on one Redis share entries: what one fetched, the other answers without asking
//! the server (same installation secret, so the same per-user keys).
#![allow(clippy::unwrap_used)]

mod proxy_common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachearr_gateway::Profile;
use proxy_common::{header, start_gateway, start_upstream};

struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis() -> RedisServer {
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
        .expect("redis-server must be installed (TEAM.md: it is)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    RedisServer { child, port }
}

#[tokio::test]
async fn two_gateways_share_one_redis() {
    let redis = start_redis();
    let (up, state) = start_upstream().await;
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let tweak = |c: &mut cachearr_gateway::Config| {
        c.redis_url = Some(url.clone());
        c.redis_timeout = Duration::from_secs(5);
    };
    let a = start_gateway(up, Profile::Plex, tweak).await;
    let b = start_gateway(up, Profile::Plex, tweak).await;
    let r = a.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    let body = r.text().await.unwrap();
    a.gateway.cache().flush().await;
    let r = b.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(header(&r, "x-cache"), "HIT");
    assert!(
        header(&r, "cache-status").contains("detail=redis"),
        "{}",
        header(&r, "cache-status")
    );
    assert_eq!(r.text().await.unwrap(), body);
    // Another user's entry is not there.
    let r = b.get("/library/sections", Some("tok-bob")).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert_eq!(state.count("/library/sections"), 2);
}
