//! End-to-end over loopback: client → cachearr → scripted upstream. Time is a manual clock.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use cachearr_dialect::Profile;
use cachearr_testkit::eventually;
use proxy_common::{header, start_gateway, start_upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long background work of the gateway (a refresh, requests joining a load) may take;
/// tests wait for its effect, never for time to pass.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn miss_then_hit_with_cache_headers() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let a = h.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(a.status(), 200);
    assert_eq!(header(&a, "x-cache"), "MISS");
    assert!(
        header(&a, "cache-status").contains("fwd=uri-miss"),
        "{}",
        header(&a, "cache-status")
    );
    assert!(header(&a, "server-timing").contains("upstream;dur="));
    let body_a = a.text().await.unwrap();
    h.clock.advance(Duration::from_secs(3));
    let b = h.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(header(&b, "x-cache"), "HIT");
    assert!(header(&b, "cache-status").starts_with("cachearr; hit"));
    assert_eq!(header(&b, "age"), "3");
    assert_eq!(header(&b, "content-type"), "application/json");
    assert!(header(&b, "server-timing").starts_with("cache;dur="));
    let status_b = header(&b, "cache-status").to_owned();
    assert_eq!(b.text().await.unwrap(), body_a);
    assert_eq!(state.count("/library/sections"), 1);
    let saved = h.gateway.upstreams()[0].guard.snapshot();
    assert_eq!(saved.saved, 1);
    assert_eq!(saved.requests, 1);
    // Hits within one second get the same head (it is kept per entry); the next second's hit
    // says its own age and time to live, and every answer has one Server-Timing of its own.
    let c = h.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(header(&c, "age"), "3");
    assert_eq!(header(&c, "cache-status"), status_b);
    h.clock.advance(Duration::from_secs(2));
    let d = h.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(header(&d, "x-cache"), "HIT");
    assert_eq!(header(&d, "age"), "5");
    assert_ne!(header(&d, "cache-status"), status_b);
    for r in [&c, &d] {
        assert_eq!(r.headers().get_all("server-timing").iter().count(), 1);
        assert_eq!(r.headers().get_all("age").iter().count(), 1);
        assert_eq!(r.headers().get_all("x-cache").iter().count(), 1);
        assert!(header(r, "server-timing").starts_with("cache;dur="));
        assert_ne!(header(r, "server-timing"), "cache");
    }
}

#[tokio::test]
async fn users_never_see_each_others_entries() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    for _ in 0..2 {
        let a = h
            .get("/library/sections", Some("tok-alice"))
            .await
            .text()
            .await
            .unwrap();
        let b = h
            .get("/library/sections", Some("tok-bob"))
            .await
            .text()
            .await
            .unwrap();
        assert!(a.contains("\"alice\"") && a.contains("[1,2]"), "{a}");
        assert!(b.contains("\"bob\"") && b.contains("[1]"), "{b}");
    }
    assert_eq!(state.count("/library/sections"), 2);
    // The same token in the query is the same user.
    let q = h
        .get("/library/sections?X-Plex-Token=tok-alice", None)
        .await;
    assert_eq!(header(&q, "x-cache"), "HIT");
    assert!(q.text().await.unwrap().contains("alice"));
    // An unknown token is refused by the upstream and the refusal is not cached.
    for _ in 0..2 {
        let r = h.get("/library/sections", Some("tok-mallory")).await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(state.count("/library/sections"), 4);
}

#[tokio::test]
async fn no_token_goes_to_the_upstream() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    for _ in 0..2 {
        let r = h.get("/library/sections", None).await;
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, "x-cache"), "BYPASS");
        assert!(header(&r, "cache-status").contains("no-token"));
    }
    assert_eq!(state.count("/library/sections"), 2);
}

#[tokio::test]
async fn shared_scope_only_for_a_token_the_upstream_accepted() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    // Unknown to cachearr: goes upstream. `/identity` answers anyone, so its 200 proves
    // nothing about the token: still not trusted.
    for _ in 0..2 {
        let r = h.get("/identity", Some("tok-alice")).await;
        assert_eq!(header(&r, "x-cache"), "BYPASS");
    }
    // A 200 from a route the upstream authenticates makes the token trusted.
    assert_eq!(
        h.get("/library/sections", Some("tok-alice")).await.status(),
        200
    );
    let r = h.get("/identity", Some("tok-alice")).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    // Bob, once the upstream accepted his token, shares the entry.
    assert_eq!(
        h.get("/identity", Some("tok-bob")).await.headers()["x-cache"],
        "BYPASS"
    );
    assert_eq!(
        h.get("/library/sections", Some("tok-bob")).await.status(),
        200
    );
    let r = h.get("/identity", Some("tok-bob")).await;
    assert_eq!(header(&r, "x-cache"), "HIT");
    // A token the upstream refuses never reads the shared entry.
    let r = h.get("/identity", Some("tok-mallory")).await;
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    assert_eq!(state.count("/identity"), 5);
    // Trust expires (default 1 h).
    h.clock.advance(Duration::from_secs(2 * 3600));
    let r = h.get("/identity", Some("tok-bob")).await;
    assert_eq!(header(&r, "x-cache"), "BYPASS");
}

#[tokio::test]
async fn scrobble_sent_as_get_refreshes_on_deck() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let first = h
        .get("/library/onDeck", Some("tok-alice"))
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains("\"scrobbles\":0"));
    assert_eq!(
        header(
            &h.get("/library/onDeck", Some("tok-alice")).await,
            "x-cache"
        ),
        "HIT"
    );
    let w = h
        .get(
            "/:/scrobble?key=5&identifier=com.plexapp.plugins.library",
            Some("tok-alice"),
        )
        .await;
    assert_eq!(w.status(), 200);
    assert_eq!(header(&w, "x-cache"), "BYPASS");
    assert!(header(&w, "cache-status").contains("detail=write"));
    let after = h.get("/library/onDeck", Some("tok-alice")).await;
    assert_eq!(header(&after, "x-cache"), "MISS");
    assert!(after.text().await.unwrap().contains("\"scrobbles\":1"));
    assert_eq!(state.count("/library/onDeck"), 2);
    assert_eq!(state.count("/:/scrobble"), 1);
}

#[tokio::test]
async fn stale_if_error_then_clear_502_without_a_copy() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    // sessions: fresh 10 s, no stale-while-revalidate, stale-if-error 1 min.
    let r = h.get("/status/sessions", Some("tok-alice")).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    let original = r.text().await.unwrap();
    h.clock.advance(Duration::from_secs(15));
    state.fail_status.store(500, Ordering::SeqCst);
    let r = h.get("/status/sessions", Some("tok-alice")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-cache"), "STALE");
    assert!(header(&r, "cache-status").contains("stale-if-error"));
    assert_eq!(r.text().await.unwrap(), original);
    h.clock.advance(Duration::from_secs(120));
    let r = h.get("/status/sessions", Some("tok-alice")).await;
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "upstream_error");
    assert!(body["message"].as_str().unwrap().contains("500"));
    // Nothing broken was stored: once the upstream heals, a fresh miss.
    state.fail_status.store(0, Ordering::SeqCst);
    let r = h.get("/status/sessions", Some("tok-alice")).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
}

#[tokio::test]
async fn stale_while_revalidate_serves_at_once_and_refreshes_in_background() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    // sections: fresh 5 min, stale-while-revalidate 1 h.
    assert_eq!(
        header(
            &h.get("/library/sections", Some("tok-alice")).await,
            "x-cache"
        ),
        "MISS"
    );
    h.clock.advance(Duration::from_secs(6 * 60));
    let r = h.get("/library/sections", Some("tok-alice")).await;
    assert_eq!(header(&r, "x-cache"), "STALE");
    assert!(header(&r, "cache-status").contains("stale-while-revalidate"));
    // The refresh runs in the background; wait for it to land (bounded).
    eventually("the background refresh lands", WAIT, async || {
        state.count("/library/sections") == 2
            && header(
                &h.get("/library/sections", Some("tok-alice")).await,
                "x-cache",
            ) == "HIT"
    })
    .await;
    assert_eq!(state.count("/library/sections"), 2);
}

#[tokio::test]
async fn concurrent_misses_make_one_upstream_request() {
    let (up, state) = start_upstream().await;
    let h = std::sync::Arc::new(start_gateway(up, Profile::Plex, |_| {}).await);
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let r = h.get("/library/metadata/slow", Some("tok-alice")).await;
            (
                header(&r, "cache-status").to_string(),
                r.text().await.unwrap(),
            )
        }));
    }
    // Release the upstream once it is waiting and every other request has joined the load.
    eventually(
        "one load waits and 24 requests joined it",
        WAIT,
        async || {
            let joined = h
                .gateway
                .cache()
                .stats()
                .class("metadata")
                .map_or(0, |c| c.coalesced);
            state.slow_waiting.load(Ordering::SeqCst) == 1 && joined == 24
        },
    )
    .await;
    state.release.notify_waiters();
    let mut collapsed = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(body.contains("\"id\":\"slow\""));
        if status.contains("collapsed") {
            collapsed += 1;
        }
    }
    assert_eq!(state.count("/library/metadata/slow"), 1);
    assert_eq!(collapsed, 24, "every waiter but the first is coalesced");
}

#[tokio::test]
async fn garbage_and_errors_are_not_cached() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    for _ in 0..2 {
        let r = h.get("/library/metadata/garbage", Some("tok-alice")).await;
        assert_eq!(r.status(), 502);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("garbage"));
    }
    assert_eq!(state.count("/library/metadata/garbage"), 2);
    // A 404 is kept briefly (negative caching), then asked again.
    assert_eq!(
        h.get("/library/metadata/missing", Some("tok-alice"))
            .await
            .status(),
        404
    );
    assert_eq!(
        h.get("/library/metadata/missing", Some("tok-alice"))
            .await
            .status(),
        404
    );
    assert_eq!(state.count("/library/metadata/missing"), 1);
    h.clock.advance(Duration::from_secs(31));
    assert_eq!(
        h.get("/library/metadata/missing", Some("tok-alice"))
            .await
            .status(),
        404
    );
    assert_eq!(state.count("/library/metadata/missing"), 2);
}

#[tokio::test]
async fn circuit_breaker_fails_fast_then_recovers() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |c| {
        c.upstreams[0].guard.breaker_failures = 3;
        c.upstreams[0].guard.breaker_cooldown = Duration::from_secs(30);
    })
    .await;
    state.fail_status.store(503, Ordering::SeqCst);
    for _ in 0..3 {
        let r = h.get("/butler", Some("tok-alice")).await;
        assert_eq!(r.status(), 503);
    }
    let before = state.total();
    let r = h.get("/library/metadata/1", Some("tok-alice")).await;
    assert_eq!(r.status(), 503);
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "upstream_unavailable");
    let r = h.get("/butler", Some("tok-alice")).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        state.total(),
        before,
        "an open circuit must not reach the upstream"
    );
    // After the cool-down one probe goes through; success closes the circuit.
    state.fail_status.store(0, Ordering::SeqCst);
    h.clock.advance(Duration::from_secs(31));
    let r = h.get("/library/metadata/1", Some("tok-alice")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(h.get("/butler", Some("tok-alice")).await.status(), 200);
    let snap = h.gateway.upstreams()[0].guard.snapshot();
    assert_eq!(snap.breaker_opened, 1);
    assert!(snap.rejected_open >= 2);
}

#[tokio::test]
async fn paging_in_header_or_query_shares_one_entry_and_pages_differ() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let r = h
        .client
        .get(h.url("/library/sections/1/all?type=10"))
        .header("X-Plex-Token", "tok-alice")
        .header("X-Plex-Container-Start", "100")
        .header("X-Plex-Container-Size", "50")
        .header("X-Plex-Client-Identifier", "device-1")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert!(r.text().await.unwrap().contains("\"start\":100"));
    let r = h
        .get(
            "/library/sections/1/all?X-Plex-Container-Size=50&type=10&X-Plex-Container-Start=100\
             &X-Plex-Client-Identifier=device-2",
            Some("tok-alice"),
        )
        .await;
    assert_eq!(header(&r, "x-cache"), "HIT");
    let r = h
        .get(
            "/library/sections/1/all?type=10&X-Plex-Container-Start=150&X-Plex-Container-Size=50",
            Some("tok-alice"),
        )
        .await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert!(r.text().await.unwrap().contains("\"start\":150"));
    assert_eq!(state.count("/library/sections/1/all"), 2);
}

#[tokio::test]
async fn streams_and_ranges_pass_through_unchanged() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let expected: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let r = h
        .get("/library/parts/1/123/file.flac", Some("tok-alice"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &expected[..]);
    let r = h
        .client
        .get(h.url("/library/parts/1/123/file.flac"))
        .header("X-Plex-Token", "tok-alice")
        .header("Range", "bytes=1000-1009")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), "bytes 1000-1009/1048576");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &expected[1000..1010]);
    // Every method passes, bodies included.
    let r = h
        .client
        .post(h.url("/some/unknown/endpoint"))
        .header("X-Plex-Token", "tok-alice")
        .body(vec![7u8; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "POST 5000");
    assert_eq!(state.count("/library/parts"), 2);
}

#[tokio::test]
async fn websockets_are_spliced_through() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (up, _state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let url = format!(
        "ws://{}/:/websockets/notifications?X-Plex-Token=tok-alice",
        h.proxy
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(resp.status(), 101);
    ws.send(Message::text("hello")).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo:hello");
    ws.send(Message::text("again")).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo:again");
}

async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes in the background (the server may stop reading and answer early) while reading.
async fn raw_streaming(addr: std::net::SocketAddr, request: Vec<u8>) -> String {
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        for chunk in request.chunks(16 * 1024) {
            if w.write_all(chunk).await.is_err() {
                break;
            }
        }
    });
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), r.read(&mut tmp)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&tmp[..n]),
            _ => break,
        }
    }
    writer.abort();
    String::from_utf8_lossy(&buf).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |c| c.limits.max_body_bytes = 1 << 20).await;
    let long = format!("/library/sections?q={}", "a".repeat(10_000));
    assert_eq!(h.get(&long, Some("tok-alice")).await.status(), 414);
    // Sent raw: HTTP client libraries normalise dot segments away before sending.
    for p in [
        "/library/%2e%2e/secret",
        "/library/..%2fsecret",
        "/a%00b",
        "/caf%ff",
        "/a\\b",
    ] {
        let req = format!(
            "GET {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Plex-Token: tok-alice\r\nConnection: close\r\n\r\n"
        );
        let resp = raw(h.proxy, req.as_bytes()).await;
        assert_eq!(status_of(&resp), 400, "{p}: {resp}");
        assert!(resp.contains("bad_path"), "{resp}");
    }
    let r = h
        .get(
            "/library/sections/1/all?X-Plex-Container-Start=abc",
            Some("tok-alice"),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = h
        .client
        .get(h.url("/library/sections"))
        .header("X-Plex-Token", "tok-alice")
        .header("X-Big", "b".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    // More headers than `[limits] max_headers` (100 by default, or the gateway's own): 431.
    let strict = start_gateway(up, Profile::Plex, |c| c.limits.max_headers = 20).await;
    let many_headers = |count: usize| {
        let mut req = String::from(
            "GET /library/sections HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Plex-Token: tok-alice\r\n",
        );
        for i in 0..count {
            req.push_str(&format!("X-Extra-{i}: {i}\r\n"));
        }
        req.push_str("\r\n");
        req
    };
    for (proxy, count) in [(h.proxy, 120), (strict.proxy, 30)] {
        let resp = raw(proxy, many_headers(count).as_bytes()).await;
        assert_eq!(status_of(&resp), 431, "{count} headers: {resp}");
    }
    let resp = raw(
        h.proxy,
        b"POST /playlists HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 999999999999\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&resp), 413, "{resp}");
    // A chunked body without a length is cut off at the limit: 413 too, and the breaker does
    // not count it against the server.
    let mut chunked = b"POST /playlists/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Plex-Token: tok-alice\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(format!("{:x}\r\n", 600_000).as_bytes());
        chunked.extend(std::iter::repeat_n(b'x', 600_000));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let resp = raw_streaming(h.proxy, chunked).await;
    assert_eq!(status_of(&resp), 413, "{resp}");
    assert_eq!(h.gateway.upstreams()[0].guard.snapshot().failures, 0);
    // A bare CR inside a header value.
    let resp = raw(
        h.proxy,
        b"GET /identity HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Evil: a\rInjected: 1\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&resp), 400, "{resp}");
    // Raw invalid UTF-8 in the request line.
    let resp = raw(
        h.proxy,
        b"GET /caf\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&resp), 400, "{resp}");
    // Raw dot segments.
    let resp = raw(
        h.proxy,
        b"GET /library/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&resp), 400, "{resp}");
    // Control characters other than CR/LF.
    let resp = raw(
        h.proxy,
        b"GET /identity HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Evil: a\x01b\r\n\r\n",
    )
    .await;
    assert!((400..500).contains(&status_of(&resp)), "{resp}");
    // Only the chunked upload got as far as the upstream (which saw it cut off).
    assert!(state.total() <= 1, "bad requests reached the upstream");
    // And the gateway still serves, also requests with many headers under the limits.
    assert_eq!(
        h.get("/library/sections", Some("tok-alice")).await.status(),
        200
    );
    for (proxy, count) in [(h.proxy, 90), (strict.proxy, 10)] {
        let resp = raw(proxy, many_headers(count).as_bytes()).await;
        assert_eq!(status_of(&resp), 200, "{count} headers: {resp}");
    }
}

/// An upstream on a raw socket that reads each request and then does what `answer` says
/// (`None`: never answers), so time-outs can be provoked without a scripted server's help.
async fn silent_upstream(answer: Option<&'static [u8]>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if let Some(bytes) = answer {
                    let _ = sock.write_all(bytes).await;
                }
                // Hold the connection open until the test ends: the gateway must give up by
                // itself.
                std::future::pending::<()>().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_cached_read_that_times_out_is_answered_504_by_its_kind() {
    // No response head within the read timeout, then a head whose body stops short: both are
    // time-outs, answered 504 `upstream_timeout` (never a 502 guessed from the message).
    let partial: &'static [u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Media";
    for answer in [None, Some(partial)] {
        let up = silent_upstream(answer).await;
        let h = start_gateway(up, Profile::Plex, |c| {
            c.upstreams[0].guard.read_timeout = Duration::from_millis(300);
        })
        .await;
        let r = h.get("/library/sections", Some("tok-alice")).await;
        assert_eq!(r.status(), 504, "answer {answer:?}");
        assert!(header(&r, "cache-status").contains("detail=upstream-failed"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "upstream_timeout", "{body}");
        assert!(
            !body.to_string().contains("tok-alice"),
            "no token in errors"
        );
    }
}
