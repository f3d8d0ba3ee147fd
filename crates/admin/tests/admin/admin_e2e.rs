//! The admin API of a real gateway in front of the simulator: stats count what happened,
//! clear (all, tag, prefix) and warm act on the real cache, mutations need the admin token, and
//! `/metrics` never carries a token even after requests that sent tokens every way they can.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use sim_gateway::Running;

const ADMIN_TOKEN: &str = "adm1n-t0ken-for-tests-0123456789";

async fn start() -> Running {
    sim_gateway::start(|config| {
        config.admin_token = Some(ADMIN_TOKEN.to_owned());
        config.upstreams[0].warm = vec!["/library/sections".into(), "/library/onDeck".into()];
    })
    .await
}

/// What this module's tests do through the fixture's gateway.
trait AdminRequests {
    async fn get(&self, path: &str) -> String;
    async fn post(&self, path: &str) -> reqwest::Response;
}

impl AdminRequests for Running {
    /// The `X-Cache` verdict of a JSON `GET` through the proxy.
    async fn get(&self, path: &str) -> String {
        self.x_cache(path, true).await
    }

    async fn post(&self, path: &str) -> reqwest::Response {
        let url = format!("{}{path}", self.admin);
        self.client
            .post(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn stats_count_hits_and_upstream_requests_saved() {
    let gw = start().await;
    assert_eq!(gw.get("/library/sections").await, "MISS");
    for _ in 0..3 {
        assert_eq!(gw.get("/library/sections").await, "HIT");
    }
    let stats = gw.stats().await;
    assert_eq!(stats["classes"]["sections"]["hits"], 3, "{stats}");
    assert_eq!(stats["classes"]["sections"]["misses"], 1, "{stats}");
    assert_eq!(stats["upstreams"][0]["requests_saved"], 3, "{stats}");
    assert!(stats["upstreams"][0]["requests_made"].as_u64().unwrap() >= 1);
    assert!(stats["tiers"]["memory"].is_object(), "{stats}");
    let warnings = stats["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("no owner token")),
        "warns that change events arrive only by webhook: {stats}"
    );
}

#[tokio::test]
async fn clear_by_tag_prefix_and_all_act_on_the_cache_and_need_the_token() {
    let gw = start().await;
    gw.get("/library/sections").await;
    gw.get("/library/onDeck").await;
    assert_eq!(gw.get("/library/sections").await, "HIT");

    let denied = gw
        .client
        .post(format!("{}/api/clear", gw.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(
        gw.get("/library/sections").await,
        "HIT",
        "nothing cleared without the token"
    );

    assert_eq!(gw.post("/api/clear?tag=plex:sections").await.status(), 200);
    assert_eq!(
        gw.get("/library/sections").await,
        "MISS",
        "the tag was cleared"
    );
    assert_eq!(
        gw.get("/library/onDeck").await,
        "HIT",
        "other tags were not"
    );

    // Keys start "{upstream} {method} {path}": a prefix clears one path's variants.
    gw.get("/library/sections").await;
    assert_eq!(
        gw.post("/api/clear?prefix=plex%20GET%20/library/onDeck")
            .await
            .status(),
        200
    );
    assert_eq!(
        gw.get("/library/onDeck").await,
        "MISS",
        "the prefix was cleared"
    );
    assert_eq!(
        gw.get("/library/sections").await,
        "HIT",
        "other keys were not"
    );

    assert_eq!(gw.post("/api/clear").await.status(), 200);
    assert_eq!(
        gw.get("/library/sections").await,
        "MISS",
        "clear all clears everything"
    );
}

#[tokio::test]
async fn warm_fetches_the_warm_list_for_recent_users() {
    let gw = start().await;
    // The user is seen once (a cached read of their own: cachearr remembers their token and
    // client headers, Accept included), then the warm list is fetched on their behalf.
    gw.get("/library/recentlyAdded").await;
    let before = gw.sim.sim.stats().total;
    let response = gw.post("/api/warm").await;
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.unwrap();
    assert_eq!(report["users"], 1, "{report}");
    assert_eq!(report["requested"], 2, "{report}");
    assert_eq!(report["warmed"], 2, "{report}");
    assert_eq!(gw.sim.sim.stats().total, before + 2);
    assert_eq!(gw.get("/library/sections").await, "HIT");
    assert_eq!(gw.get("/library/onDeck").await, "HIT");
}

#[tokio::test]
async fn metrics_carry_no_token_after_tokens_in_every_position() {
    let gw = start().await;
    let token = gw.sim.token.clone();
    gw.get("/library/sections").await;
    gw.get("/library/sections").await;
    let url = format!("{}/library/sections?X-Plex-Token={token}", gw.proxy);
    assert_eq!(gw.client.get(url).send().await.unwrap().status(), 200);
    let bogus = format!("{}/library/sections?X-Plex-Token=bogus-tok-987", gw.proxy);
    gw.client.get(bogus).send().await.unwrap();
    let denied = gw
        .client
        .post(format!("{}/api/clear", gw.admin))
        .bearer_auth("wrong-guess-42");
    assert_eq!(denied.send().await.unwrap().status(), 401);

    let metrics = gw
        .client
        .get(format!("{}/metrics", gw.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("cachearr_requests_total{"), "{metrics}");
    assert!(
        metrics.contains("cachearr_request_duration_seconds_bucket{"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cachearr_cache_hits_total{class="sections",tier="memory"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cachearr_upstream_requests_total{upstream="plex"}"#),
        "{metrics}"
    );
    for secret in [
        token.as_str(),
        "bogus-tok-987",
        ADMIN_TOKEN,
        "wrong-guess-42",
    ] {
        assert!(!metrics.contains(secret), "a token leaked into /metrics");
    }
}

#[tokio::test]
async fn each_client_is_counted_by_name_with_where_its_answers_came_from() {
    let gw = start().await;
    let token = gw.sim.token.clone();
    let send = |product: &'static str, path: &'static str| {
        let request = gw
            .client
            .get(format!("{}{path}", gw.proxy))
            .header("X-Plex-Token", &token)
            .header("X-Plex-Product", product)
            .header("Accept", "application/json");
        async move { request.send().await.unwrap().status() }
    };
    // Tautulli polls the same listing three times: one request reaches the server.
    for _ in 0..3 {
        assert_eq!(send("Tautulli", "/library/sections").await, 200);
    }
    // Kometa reads something no one asked for yet: it reaches the server.
    assert_eq!(send("Kometa", "/library/onDeck").await, 200);

    let stats = gw.stats().await;
    let clients = stats["clients"].as_array().unwrap();
    let find = |name: &str| {
        clients
            .iter()
            .find(|c| c["client"] == name)
            .unwrap_or_else(|| panic!("{name} in {stats}"))
    };
    let tautulli = find("Tautulli");
    assert_eq!(tautulli["requests"], 3, "{stats}");
    assert_eq!(tautulli["from_cache"], 2, "{stats}");
    assert_eq!(tautulli["to_server"], 1, "{stats}");
    assert!(tautulli["server_secs_saved_estimate"].as_f64().unwrap() > 0.0);
    let kometa = find("Kometa");
    assert_eq!(
        (kometa["requests"].clone(), kometa["to_server"].clone()),
        (1.into(), 1.into())
    );
    let upstream = &stats["upstreams"][0];
    assert_eq!(upstream["client_requests"], 4, "{stats}");
    assert_eq!(upstream["client_requests_to_server"], 2, "{stats}");
    assert_eq!(upstream["requests_avoided"], 2, "{stats}");
    // No token anywhere in what the stats show.
    assert!(!stats.to_string().contains(&token));

    let metrics = gw
        .client
        .get(format!("{}/metrics", gw.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"cachearr_client_requests_total{upstream="plex",client="Tautulli",served="cache"} 2"#
        ),
        "{metrics}"
    );
    assert!(!metrics.contains(&token));
}

/// With `sendfile_min` on, a fill that several clients waited for is answered like a hit: a
/// large body gets its sealed copy (a body file, counted in the stats' memory) right away, so
/// the waiters of a cold burst are sent the body from it rather than each copying it. A lone
/// miss makes none.
#[tokio::test]
async fn a_fill_with_waiters_answers_them_from_a_body_file() {
    let gw = sim_gateway::start(|config| {
        config.admin_token = Some(ADMIN_TOKEN.to_owned());
        config.cache.sendfile_min_bytes = Some(16 * 1024);
    })
    .await;
    let direct = reqwest::Client::new();
    // The longest track listing (well above the 16 KiB below which bodies are copied).
    let mut longest = (String::new(), 0);
    let sections: Vec<u32> = gw
        .sim
        .sim
        .library()
        .sections()
        .iter()
        .map(|s| s.id)
        .collect();
    for id in sections {
        let path = format!("/library/sections/{id}/all?type=10");
        let body = direct
            .get(format!("http://{}{path}", gw.sim.addr))
            .header("X-Plex-Token", &gw.sim.token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        if body.len() > longest.1 {
            longest = (path, body.len());
        }
    }
    let (path, len) = longest;
    assert!(len > 64 * 1024, "longest listing: {len} bytes");
    let files_used = async || {
        gw.stats().await["memory"]["body_files_used"]
            .as_u64()
            .unwrap()
    };

    // A lone miss: no file.
    assert_eq!(gw.get(&path).await, "MISS");
    assert_eq!(files_used().await, 0);

    // Four clients at once on another key, the server slow enough that they all wait for one
    // fill.
    gw.sim.sim.set_faults(cachearr_sim::control::Faults {
        latency_ms: 400,
        ..Default::default()
    });
    let other = format!("{path}&sort=titleSort");
    let status = async || {
        let r = gw
            .client
            .get(format!("{}{other}", gw.proxy))
            .header("X-Plex-Token", &gw.sim.token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = r.headers()["cache-status"].to_str().unwrap().to_owned();
        (status, r.bytes().await.unwrap())
    };
    let answers = tokio::join!(status(), status(), status(), status());
    let answers = [answers.0, answers.1, answers.2, answers.3];
    let collapsed = answers
        .iter()
        .filter(|(s, _)| s.contains("collapsed"))
        .count();
    assert_eq!(collapsed, 3, "{:?}", answers.map(|(s, _)| s));
    assert!(answers.iter().all(|(_, b)| b == &answers[0].1));
    assert!(
        files_used().await >= answers[0].1.len() as u64,
        "the waiters' answer has a body file"
    );
}
