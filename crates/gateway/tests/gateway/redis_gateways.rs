//! Gateways sharing one Redis in front of one simulated Plex server, through their real
//! proxy and admin listeners (`redis_common`), against `redis-server` processes started on
//! free ports (`cachearr_testkit::redis`):
//!
//! * one server: a value fetched through A is a Redis hit on B (and another user's is not);
//!   1,000 concurrent cold requests split over two gateways make one upstream request; a
//!   webhook on A makes B serve fresh data; a clear on B empties A's answers and what a new
//!   gateway finds in Redis; authentication, and a wrong password is a clear error at start;
//! * Redis killed under load and restarted, and Redis frozen (SIGSTOP, `DEBUG SLEEP`) under
//!   load: no client request fails or waits past a small bound, `/ready` and `/api/stats`
//!   say why, it recovers by itself, and nothing an invalidation made meanwhile killed is
//!   served after it;
//! * a three-node Redis Cluster: the same flows; a cluster with replicas, and a master-replica
//!   pair watched by three Sentinels, whose master is killed under load: the replica takes
//!   over, the gateways follow it without a restart or a client error, and invalidations
//!   still reach every instance.
//!
//! Nothing waits for a fixed time: the load runs until it has answered enough requests around
//! each event, and every effect is polled for with a deadline.
#![allow(clippy::unwrap_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "the load's deadline and its slowest answer are real time"
)]

use crate::support::redis_common;

use std::time::{Duration, Instant};

use cachearr_testkit::eventually;
use cachearr_testkit::redis::{RedisCluster, RedisSentinels, RedisServer, redis_cli};
use redis_common::{Farm, SETTLE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cold_requests_split_over_two_gateways_make_one_upstream_request() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::from_millis(300)).await;
    farm.one_upstream_request_for_a_thousand_cold_requests()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_fetched_through_a_is_a_redis_hit_on_b_for_the_same_user_only() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    farm.shared_hit().await;
    farm.other_users_answers_are_not_shared().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_on_a_makes_b_serve_fresh_data() {
    let redis = RedisServer::start(&[]);
    let farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    farm.webhook_on_a_refreshes_b().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_on_b_empties_a_s_answers_and_redis() {
    let redis = RedisServer::start(&[]);
    let mut farm = Farm::start(&redis.url(), 2, Duration::ZERO).await;
    farm.clear_on_b_empties_a().await;
    farm.clear_leaves_nothing_for_a_new_gateway().await;
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
    let paths: Vec<String> = (0..5).map(|i| farm.item_path(i)).collect();
    let load = farm.start_load(move |k| paths[k % paths.len()].clone());
    load.runs_for(20, "load before Redis dies").await;
    redis.kill();
    // Requests go on; the breaker opens and /ready says degraded (200), /api/stats says why.
    eventually("A reports Redis degraded", SETTLE, async || {
        let ready = farm.ready(0).await;
        ready.0 == 200 && ready.1["status"] == "degraded"
    })
    .await;
    let stats = farm.stats(0).await;
    assert_eq!(stats["redis"]["state"], "down", "{stats}");
    assert!(stats["redis"]["last_error"].is_string(), "{stats}");
    assert!(has_redis_warning(&stats), "{stats}");
    // A webhook reaches A during the outage: the item changed on the server.
    let owner = farm.owner_id();
    farm.sim.scrobble(owner, farm.track_id(0));
    farm.post_scrobble_webhook(0, 0).await;
    assert_eq!(farm.get(0, &item).await.plays, 1, "A is fresh at once");

    let _back = redis.restart();
    load.runs_for(20, "load after Redis returns").await;
    let report = load.finish().await;
    assert!(report.ok > 0);
    assert_eq!(
        report.failed, 0,
        "no client request failed because of Redis"
    );
    // After the reconnect B learns the invalidation it missed: never the old answer again.
    eventually(
        "B serves the fresh item after Redis returns",
        SETTLE,
        async || farm.get(1, &item).await.plays == 1,
    )
    .await;
    eventually("A reports Redis up again", SETTLE, async || {
        farm.ready(0).await.1.get("status").is_none()
    })
    .await;
    // And sharing resumes without a restart of the gateways.
    let other = farm.item_path(1);
    eventually("sharing resumes", SETTLE, async || {
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

fn has_redis_warning(stats: &serde_json::Value) -> bool {
    stats["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap_or("").contains("redis")))
}

/// Bound on any one request while Redis misbehaves, for a command timeout of `timeout`: a
/// miss may spend a timeout on the Redis read and one on the load lock before the breaker
/// opens; the rest is slack for a shared, loaded test machine.
fn request_bound(timeout: Duration) -> Duration {
    timeout * 2 + Duration::from_millis(1500)
}

const FROZEN_TIMEOUT: Duration = Duration::from_millis(300);

/// A Redis that stops answering while its connections stay open (SIGSTOP, then `DEBUG
/// SLEEP`): requests are answered within the bound, `/api/stats` warns, and after it wakes
/// the gateways use it again by themselves and B does not serve what A's webhook during
/// the freeze invalidated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_costs_no_request_more_than_a_bound_and_recovers_with_nothing_stale() {
    let redis = RedisServer::start(&["--enable-debug-command", "yes"]);
    let farm = Farm::start_with(&redis.url(), 2, Duration::ZERO, |c| {
        c.cache.redis.timeout = FROZEN_TIMEOUT;
    })
    .await;
    let item = farm.item_path(0);
    farm.get(0, &item).await;
    farm.flush().await;
    assert_eq!(farm.get(1, &item).await.cache, "HIT");
    assert_eq!(farm.get(1, &item).await.plays, 0);

    let before = farm.redis_health(0);
    let load = farm.start_load(farm.mixed_path());
    load.runs_for(20, "load before Redis freezes").await;
    redis.signal("STOP");
    eventually("A warns that Redis is skipped", SETTLE, async || {
        let stats = farm.stats(0).await;
        stats["redis"]["breaker_open"] == true && has_redis_warning(&stats)
    })
    .await;
    let opened = Instant::now();
    let ready = farm.ready(0).await;
    assert_eq!(
        (ready.0, ready.1["status"].as_str()),
        (200, Some("degraded"))
    );
    // The item changes on the server and A hears of it while Redis is frozen.
    farm.sim.scrobble(farm.owner_id(), farm.track_id(0));
    farm.post_scrobble_webhook(0, 0).await;
    assert_eq!(farm.get(0, &item).await.plays, 1, "A is fresh at once");
    // Frozen until A's breaker has let a command through again and it failed too: commands
    // sent before the breaker opened have all timed out after two command timeouts, so an
    // error counted after that is a probe's.
    let mut errors_before_probe = None;
    eventually("A's breaker probed the frozen Redis", SETTLE, async || {
        if opened.elapsed() < FROZEN_TIMEOUT * 2 {
            return false;
        }
        let health = farm.redis_health(0);
        let before = *errors_before_probe.get_or_insert(health.errors);
        health.errors > before && health.breaker_open
    })
    .await;
    redis.signal("CONT");
    eventually("both gateways use Redis again", SETTLE, async || {
        (0..2).all(|i| farm.redis_health(i).state == "up")
    })
    .await;
    eventually(
        "B serves the fresh item after Redis wakes",
        SETTLE,
        async || farm.get(1, &item).await.plays == 1,
    )
    .await;

    // The same with Redis busy in a command (DEBUG SLEEP blocks its only thread).
    let sleeper = std::thread::spawn({
        let port = redis.port;
        move || redis_cli(port, &["DEBUG", "SLEEP", "4"])
    });
    eventually("the breaker opens while Redis sleeps", SETTLE, async || {
        farm.redis_health(0).breaker_open || farm.redis_health(1).breaker_open
    })
    .await;
    farm.sim.unscrobble(farm.owner_id(), farm.track_id(0));
    farm.post_scrobble_webhook(1, 0).await;
    assert_eq!(farm.get(1, &item).await.plays, 0, "B is fresh at once");
    sleeper.join().unwrap();
    eventually(
        "both gateways use Redis again after the sleep",
        SETTLE,
        async || (0..2).all(|i| farm.redis_health(i).state == "up"),
    )
    .await;
    eventually(
        "A serves B's change after Redis wakes",
        SETTLE,
        async || farm.get(0, &item).await.plays == 0,
    )
    .await;

    let report = load.finish().await;
    assert!(report.ok > 0);
    assert_eq!(report.failed, 0, "no request failed: {report:?}");
    assert!(
        report.slowest <= request_bound(FROZEN_TIMEOUT),
        "a request waited {:?}: {report:?}",
        report.slowest
    );
    let health = farm.redis_health(0);
    assert!(
        health.breaker_trips > before.breaker_trips && health.resyncs > before.resyncs,
        "{health:?}"
    );
    for i in 0..2 {
        assert_eq!(farm.ready(i).await.0, 200);
    }
    eprintln!(
        "frozen: load {report:?}; A {:?}; B {:?}",
        farm.redis_health(0),
        farm.redis_health(1)
    );
    // Sharing works again.
    farm.shared_hit().await;
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

/// The same flows on a three-node Redis Cluster given as a comma-separated seed list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_flows_pass_on_a_three_node_cluster() {
    let cluster = RedisCluster::start();
    let mut farm = Farm::start(&cluster.url(), 2, Duration::from_millis(300)).await;
    for i in 0..2 {
        assert!(farm.redis_health(i).cluster);
    }
    farm.shared_hit().await;
    farm.other_users_answers_are_not_shared().await;
    farm.webhook_on_a_refreshes_b().await;
    farm.clear_on_b_empties_a().await;
    farm.one_upstream_request_for_a_thousand_cold_requests()
        .await;
    let stats = farm.stats(0).await;
    assert_eq!(stats["redis"]["cluster"], true, "{stats}");
    assert_eq!(stats["redis"]["state"], "up", "{stats}");
    // The records really are spread over the nodes (not all in one slot).
    let holding = cluster
        .ports()
        .iter()
        .filter(|p| redis_cli(**p, &["DBSIZE"]).trim() != "0")
        .count();
    assert!(holding >= 2, "keys on {holding} node(s)");
    farm.clear_leaves_nothing_for_a_new_gateway().await;
}

const FAILOVER_TIMEOUT: Duration = Duration::from_millis(500);

/// Runs `failover` (kill the master, wait for its replica's promotion, return how long that
/// took) while two gateways serve traffic, and checks: no client request
/// failed or waited past the bound, the load met the dead master (commands failed) and the
/// gateways got past it without a restart, and afterwards invalidations reach every
/// instance and sharing works.
async fn fails_over_without_errors_or_stale_answers(
    farm: &Farm,
    failover: impl FnOnce() -> Duration,
) {
    let item = farm.item_path(0);
    farm.get(0, &item).await;
    farm.flush().await;
    assert_eq!(farm.get(1, &item).await.cache, "HIT");

    let load = farm.start_load(farm.mixed_path());
    load.runs_for(20, "load before the master dies").await;
    let killed = Instant::now();
    let promoted = failover();
    eventually("both gateways use Redis again", SETTLE, async || {
        (0..2).all(|i| farm.redis_health(i).state == "up")
    })
    .await;
    let recovered = killed.elapsed();
    // Some load after the recovery too, on the new master.
    load.runs_for(20, "load on the new master").await;
    let report = load.finish().await;
    eprintln!(
        "failover: promoted after {promoted:?}, gateways up after {recovered:?}; load {report:?}; \
         A {:?}; B {:?}",
        farm.redis_health(0),
        farm.redis_health(1)
    );
    assert!(
        (0..2).any(|i| farm.redis_health(i).errors > 0),
        "no command failed: the test missed the failover"
    );
    assert!(report.ok > 0);
    assert_eq!(report.failed, 0, "no request failed: {report:?}");
    assert!(
        report.slowest <= request_bound(FAILOVER_TIMEOUT),
        "a request waited {:?} (replica promoted after {promoted:?}, gateways up after \
         {recovered:?}): {report:?}",
        report.slowest
    );
    // The shared state lives on the promoted replica now; every flow works on it.
    farm.webhook_on_a_refreshes_b().await;
    farm.clear_on_b_empties_a().await;
    farm.shared_hit().await;
    let stats = farm.stats(1).await;
    assert_eq!(stats["redis"]["state"], "up", "{stats}");
}

/// A master of a cluster with replicas killed (SIGKILL) under load: the one holding the
/// namespace's shared state (generations, change counter, clear log), the hardest to lose,
/// and the one the gateways' event connections are on. The cluster client rebuilds its
/// slot map by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_master_killed_under_load_fails_over_without_errors_or_stale_answers() {
    let mut cluster = RedisCluster::start_with(1, 1000);
    let victim = cluster.master_of("{farm}:gens");
    let heir = cluster.replica_of(victim);
    // The victim first in the seed list: the gateways' event connections are on it too.
    let farm = Farm::start_with(&cluster.url_first(victim), 2, Duration::ZERO, |c| {
        c.cache.redis.timeout = FAILOVER_TIMEOUT;
    })
    .await;
    fails_over_without_errors_or_stale_answers(&farm, || {
        cluster.kill(victim);
        cluster.wait_promoted(heir)
    })
    .await;
}

/// The master of a Sentinel-monitored pair killed (SIGKILL) under load: the Sentinels
/// promote the replica, and the gateways (`redis+sentinel://`) ask them where the master
/// went when its connection fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_master_killed_under_load_fails_over_without_errors_or_stale_answers() {
    let mut set = RedisSentinels::start();
    let farm = Farm::start_with(&set.url(), 2, Duration::ZERO, |c| {
        c.cache.redis.timeout = FAILOVER_TIMEOUT;
    })
    .await;
    assert!(!farm.redis_health(0).cluster);
    fails_over_without_errors_or_stale_answers(&farm, || {
        set.master.kill();
        set.wait_promoted()
    })
    .await;
}
