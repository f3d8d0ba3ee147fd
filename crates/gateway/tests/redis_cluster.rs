//! The same flows as `redis_gateways.rs` on a three-node Redis Cluster (started with
//! `redis-server --cluster-enabled yes` on free ports and joined by `redis-cli --cluster
//! create`), given to the gateways as a comma-separated seed list: a value fetched through A
//! is a Redis hit on B, a webhook on A makes B serve fresh data, a clear on B empties A's
//! answers, and 1,000 concurrent cold requests over A and B make one upstream request.
#![allow(clippy::unwrap_used)]

mod redis_common;

use std::time::Duration;

use redis_common::{Farm, RedisCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_flows_pass_on_a_three_node_cluster() {
    let cluster = RedisCluster::start();
    let farm = Farm::start(&cluster.url(), 2, Duration::from_millis(300)).await;
    for g in &farm.gws {
        assert!(g.gateway.cache().redis().unwrap().health().cluster);
    }
    farm.shared_hit().await;
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
        .filter(|p| {
            let out = std::process::Command::new("redis-cli")
                .args(["-p", &p.to_string(), "DBSIZE"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim() != "0"
        })
        .count();
    assert!(holding >= 2, "keys on {holding} node(s)");
}
