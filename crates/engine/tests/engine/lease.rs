//! Leases and published records on a real `redis-server`: one holder at a time with a fence
//! that grows, renewal and release only by the holder, records published only under the
//! lease and read back whole by another instance, never across secrets.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use cachearr_engine::{LeaseAnswer, RedisOptions, RedisTier, SharedSecret};
use cachearr_testkit::redis::{RedisServer, redis_cli};

const TTL: Duration = Duration::from_secs(30);

async fn tier(url: &str, secret: &[u8]) -> RedisTier {
    let options = RedisOptions {
        namespace: "lease".into(),
        command_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(5),
        secret: SharedSecret::new(secret.to_vec()),
        ..RedisOptions::default()
    };
    RedisTier::connect(url, options).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_holder_at_a_time_and_a_new_holder_fences_the_old_one_out() {
    let redis = RedisServer::start(&[]);
    let a = tier(&redis.url(), b"installation-one").await;
    let b = tier(&redis.url(), b"installation-one").await;

    let LeaseAnswer::Held(first) = a.lease_acquire("up", "a", TTL).await else {
        panic!("a free lease is taken");
    };
    assert_eq!(first.holder, "a");
    // Asking again as the holder says it holds it; another is told who does.
    assert_eq!(
        a.lease_acquire("up", "a", TTL).await,
        LeaseAnswer::Held(first.clone())
    );
    assert_eq!(
        b.lease_acquire("up", "b", TTL).await,
        LeaseAnswer::Other(first.clone())
    );
    assert_eq!(b.lease_holder("up").await, Some(Some(first.clone())));
    assert_eq!(a.lease_renew("up", &first, TTL).await, Some(true));

    // The holder publishes; the other reads it back whole, across chunks.
    let big: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
    assert!(a.publish("up", &first, "copy", 7, &big).await);
    let read = b.read_published("copy").await.unwrap();
    assert_eq!((read.generation, read.fence), (7, first.fence));
    assert_eq!(&read.bytes[..], &big[..]);
    assert_eq!(
        b.published_version("copy").await,
        Some(Some((7, first.fence)))
    );
    assert!(a.publish_small("up", &first, "beat", b"healthy", TTL).await);
    assert_eq!(
        b.read_small("beat").await.unwrap().as_deref(),
        Some(&b"healthy"[..])
    );

    // The lease expires (the holder cut off): the next holder's fence is higher, and the
    // old holder can neither renew nor publish over it.
    let port = redis.port;
    redis_cli(port, &["DEL", "{lease}:lease:up"]);
    let LeaseAnswer::Held(second) = b.lease_acquire("up", "b", TTL).await else {
        panic!("an expired lease is taken over");
    };
    assert!(second.fence > first.fence, "{second:?} after {first:?}");
    assert_eq!(a.lease_renew("up", &first, TTL).await, Some(false));
    assert!(!a.publish("up", &first, "copy", 8, b"stale").await);
    assert!(!a.publish_small("up", &first, "beat", b"stale", TTL).await);
    assert_eq!(b.read_published("copy").await.unwrap().generation, 7);
    // A new generation replaces the old one and its chunks go.
    assert!(b.publish("up", &second, "copy", 9, b"new").await);
    assert_eq!(&b.read_published("copy").await.unwrap().bytes[..], b"new");
    assert_eq!(
        redis_cli(port, &["EXISTS", "{lease}:pub:copy:7:0"]).trim(),
        "0"
    );

    // Releasing by the old value does nothing; by the holder's, frees it.
    a.lease_release("up", &first).await;
    assert_eq!(b.lease_holder("up").await, Some(Some(second.clone())));
    b.lease_release("up", &second).await;
    assert_eq!(b.lease_holder("up").await, Some(None));

    // Another installation's secret reads nothing of it.
    let stranger = tier(&redis.url(), b"installation-two").await;
    assert_eq!(stranger.read_published("copy").await, None);
    assert_eq!(stranger.read_small("beat").await, Some(None));
}
