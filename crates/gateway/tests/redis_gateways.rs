//! Gateways sharing one Redis in front of one simulated Plex server, through their real
//! proxy and admin listeners: 1,000 concurrent cold requests split over two gateways make one
//! upstream request; a webhook on A makes B serve fresh data; a clear on B empties A's
//! answers; Redis killed under load and restarted costs no client request, shows in
//! `/ready` and `/api/stats`, and nothing an invalidation made during the outage killed is
//! served after it. `redis_cluster.rs` runs the same flows on a three-node Redis Cluster.
#![allow(clippy::unwrap_used)]

mod redis_common;

use std::time::Duration;

use redis_common::{Farm, RedisServer, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cold_requests_split_over_two_gateways_make_one_upstream_request() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::from_millis(300)).await;
    farm.one_upstream_request_for_a_thousand_cold_requests()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_fetched_through_a_is_a_redis_hit_on_b() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    farm.shared_hit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_on_a_makes_b_serve_fresh_data() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    farm.webhook_on_a_refreshes_b().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_on_b_empties_a_s_answers() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    farm.clear_on_b_empties_a().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_and_restarted_costs_no_request_and_serves_nothing_stale() {
    let mut redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    let item = farm.item_path(0);
    // Both gateways hold the item (B from Redis, then memory).
    farm.get(0, &item).await;
    farm.flush().await;
    assert_eq!(farm.get(1, &item).await.cache, "HIT");

    // Load on both gateways while Redis dies and comes back.
    let load = farm.spawn_load(Duration::from_secs(4));
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.kill();
    // Requests go on; the breaker opens and /ready says degraded (200), /api/stats says why.
    eventually("A reports Redis degraded", async || {
        let ready = farm.ready(0).await;
        ready.0 == 200 && ready.1["status"] == "degraded"
    })
    .await;
    let stats = farm.stats(0).await;
    assert_eq!(stats["redis"]["state"], "down", "{stats}");
    assert!(stats["redis"]["last_error"].is_string(), "{stats}");
    assert!(
        stats["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("redis")),
        "{stats}"
    );
    // A webhook reaches A during the outage: the item changed on the server.
    let owner = farm.owner_id();
    farm.sim.scrobble(owner, farm.track_id(0));
    farm.post_scrobble_webhook(0, 0).await;
    assert_eq!(farm.get(0, &item).await.plays, 1, "A is fresh at once");

    let _back = redis.restart();
    let (ok, errors) = load.await.unwrap();
    assert!(ok > 0);
    assert_eq!(errors, 0, "no client request failed because of Redis");
    // After the reconnect B learns the invalidation it missed: never the old answer again.
    eventually("B serves the fresh item after Redis returns", async || {
        farm.get(1, &item).await.plays == 1
    })
    .await;
    eventually("A reports Redis up again", async || {
        farm.ready(0).await.1.get("status").is_none()
    })
    .await;
    // And sharing resumes without a restart of the gateways.
    let other = farm.item_path(1);
    eventually("sharing resumes", async || {
        farm.get(0, &other).await;
        farm.flush().await;
        farm.get(1, &other)
            .await
            .cache_status
            .contains("detail=redis")
            || farm.get(1, &other).await.cache == "HIT"
    })
    .await;
}

#[tokio::test]
async fn authentication_and_a_wrong_password_at_start() {
    let redis = RedisServer::start(&["--requirepass", "right-horse"]);
    let good = format!("redis://:right-horse@127.0.0.1:{}/0", redis.port);
    let farm = Farm::start(&good, 1, Duration::ZERO).await;
    assert_eq!(farm.get(0, &farm.item_path(0)).await.status, 200);
    let bad = format!("redis://:wrong-staple@127.0.0.1:{}/0", redis.port);
    let err = redis_common::build_error(&bad).await;
    assert!(err.contains("redis"), "{err}");
    assert!(
        err.contains("WRONGPASS") || err.to_lowercase().contains("auth"),
        "{err}"
    );
    assert!(!err.contains("wrong-staple"), "password leaked: {err}");
}
