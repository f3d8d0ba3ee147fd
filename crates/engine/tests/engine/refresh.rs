//! Refreshes and what decides them: loaders made only when needed, warming of entries read
//! twice, read-time freshness caps, conditional refreshes answered `304`, answers fetched
//! outside a load; the memory plan and its stats. Time is driven by a ManualClock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cachearr_engine::{
    CachedValue, EngineError, Fill, Key, LoadContext, LoadError, Loader, ManualClock, MemoryPlan,
    Outcome, Policy, TierKind, TieredCache,
};

use crate::common::*;

/// `get_or_load_with` makes its loader only when one is needed: for the load, for the warming
/// an entry gets on its second read, for a stale entry's refresh; a fresh hit makes none.
#[tokio::test]
async fn a_loader_is_made_only_for_a_load_a_warming_or_a_refresh() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let made = AtomicUsize::new(0);
    let make = || {
        made.fetch_add(1, Ordering::SeqCst);
        let l: Arc<dyn Loader> = loader.clone();
        l
    };
    let key = Key::new("k");
    let outcome = async |cache: &TieredCache| {
        cache
            .get_or_load_with(&key, &policy(), make)
            .await
            .unwrap()
            .outcome
    };
    assert_eq!(outcome(&cache).await, Outcome::Miss);
    assert_eq!(made.load(Ordering::SeqCst), 1, "the load makes one");
    assert_eq!(outcome(&cache).await, Outcome::Hit(TierKind::Memory));
    assert_eq!(
        made.load(Ordering::SeqCst),
        2,
        "the second read schedules a warming"
    );
    for _ in 0..5 {
        assert_eq!(outcome(&cache).await, Outcome::Hit(TierKind::Memory));
    }
    assert_eq!(made.load(Ordering::SeqCst), 2, "later hits make none");
    clock.advance(11 * SEC);
    assert_eq!(outcome(&cache).await, Outcome::Stale);
    assert_eq!(
        made.load(Ordering::SeqCst),
        3,
        "a stale read's refresh makes one"
    );
    eventually("the refresh", WAIT, async || loader.calls() == 2).await;
}

#[tokio::test]
async fn entries_read_twice_are_warmed_at_80_percent_of_fresh_within_budget() {
    let clock = Arc::new(ManualClock::default());
    let cache = TieredCache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .refresh_budget(1, 1)
        .build()
        .await
        .unwrap();
    let loader = CountingLoader::new();
    let p = Policy::new("stats", 100 * SEC);
    let hot = Key::new("hot");
    let hot2 = Key::new("hot2");
    let cold = Key::new("cold");
    for k in [&hot, &hot2, &cold] {
        cache.get_or_load(k, &p, loader.clone()).await.unwrap(); // read 1 (the fill)
    }
    cache.get_or_load(&hot, &p, loader.clone()).await.unwrap(); // read 2
    cache.get_or_load(&hot2, &p, loader.clone()).await.unwrap(); // read 2
    assert_eq!(loader.calls(), 3);
    clock.advance(79 * SEC);
    cache.run_pending_tasks().await;
    assert_eq!(loader.calls(), 3, "not due before 80 %");
    clock.advance(SEC);
    cache.run_pending_tasks().await;
    // Budget of 1 per second: only one of the two hot entries is refreshed now.
    eventually("the fourth load", WAIT, async || loader.calls() == 4).await;
    eventually("no refresh in progress", WAIT, async || {
        cache.stats().refreshes_in_progress == 0
    })
    .await;
    clock.advance(SEC);
    cache.run_pending_tasks().await;
    eventually("the fifth load", WAIT, async || loader.calls() == 5).await;
    eventually("no refresh in progress", WAIT, async || {
        cache.stats().refreshes_in_progress == 0
    })
    .await;
    let c = cache.stats().class("stats").cloned().unwrap();
    assert_eq!(c.warm_refreshes, 2);
    // Both hot entries are fresh again well past their first TTL; the cold one is not.
    clock.advance(50 * SEC);
    for k in [&hot, &hot2] {
        assert_eq!(
            outcome_of(&cache, k, &p, loader.clone()).await,
            Outcome::Hit(TierKind::Memory)
        );
    }
    assert_eq!(
        outcome_of(&cache, &cold, &p, loader.clone()).await,
        Outcome::Miss
    );
}

/// An entry stored with a long `fresh` (the gateway's feed-validated answers) is served as a
/// hit past a shorter class TTL, until a read's `fresh_cap` withdraws the trust: then it is
/// stale (served at once, one refresh), not dropped; without the cap it is fresh again.
#[tokio::test]
async fn fresh_cap_withdraws_a_long_freshness_at_read_time() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let key = Key::new("feed");
    let long = Policy::new("metadata", 3600 * SEC).with_stale_while_revalidate(60 * SEC);
    let capped = long.clone().with_fresh_cap(10 * SEC);
    cache
        .get_or_load(&key, &long, loader.clone())
        .await
        .unwrap();
    clock.advance(30 * SEC);
    let l = cache
        .get_or_load(&key, &long, loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(loader.calls(), 1);
    let l = cache
        .get_or_load(&key, &capped, loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Stale, "older than the cap: stale");
    assert_eq!(body(&l), "body-1");
    eventually("the refresh done", WAIT, async || {
        cache.stats().refreshes_in_progress == 0 && loader.calls() == 2
    })
    .await;
    // The refreshed entry is younger than the cap: a hit under either policy.
    for p in [&capped, &long] {
        let l = cache.get_or_load(&key, p, loader.clone()).await.unwrap();
        assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    }
}

#[test]
fn the_memory_plan_shares_out_memory_max_and_never_exceeds_it() {
    const MIB: u64 = 1 << 20;
    // With a disk tier: block cache and write queue an eighth each, memtables a sixteenth,
    // the tier the rest.
    let p = MemoryPlan::for_limit(64 * MIB, true, true);
    assert_eq!(p.disk_block_cache, 8 * MIB);
    assert_eq!(p.write_queue, 8 * MIB);
    assert_eq!(p.disk_memtables, 4 * MIB);
    assert_eq!(p.memory_tier, 44 * MIB);
    // Memory only: the tier has it all.
    let p = MemoryPlan::for_limit(64 * MIB, false, false);
    assert_eq!(
        (
            p.memory_tier,
            p.disk_block_cache,
            p.write_queue,
            p.disk_memtables
        ),
        (64 * MIB, 0, 0, 0)
    );
    // The block cache and the queue are capped, so a large limit goes to the tier.
    let p = MemoryPlan::for_limit(4096 * MIB, true, true);
    assert_eq!(p.disk_block_cache, 64 * MIB);
    assert_eq!(p.write_queue, 64 * MIB);
    assert_eq!(p.disk_memtables, 64 * MIB);
    for limit in [
        1,
        MIB,
        4 * MIB,
        16 * MIB,
        64 * MIB,
        1000 * MIB,
        64 * 1024 * MIB,
    ] {
        for (disk, below) in [(true, true), (false, true), (false, false)] {
            let p = MemoryPlan::for_limit(limit, disk, below);
            assert!(p.memory_tier > 0, "{limit} {p:?}");
            // Above a few MiB the shares add up to the limit; below, the floors (2-4 MiB each,
            // a quarter for the tier) may exceed a limit too small to be useful anyway.
            if limit >= 16 * MIB {
                assert!(
                    p.memory_tier + p.disk_block_cache + p.write_queue + p.disk_memtables <= limit,
                    "{limit} {p:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn stats_report_the_memory_tier_share_of_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TieredCache::builder()
        .memory_max_bytes(64 << 20)
        .disk(dir.path().join("cache"), 256 << 20)
        .housekeeping(false)
        .build()
        .await
        .unwrap();
    let plan = cache.memory_plan();
    assert_eq!(plan, MemoryPlan::for_limit(64 << 20, true, true));
    let stats = cache.stats();
    let memory = stats
        .tiers
        .iter()
        .find(|t| t.tier == TierKind::Memory)
        .unwrap();
    assert_eq!(memory.max_bytes, plan.memory_tier);
    let disk = stats
        .tiers
        .iter()
        .find(|t| t.tier == TierKind::Disk)
        .unwrap();
    assert_eq!(disk.memory_bytes, Some(plan.disk_block_cache));
    assert_eq!(stats.write_behind.max_bytes, plan.write_queue);
}

/// Answers conditional refreshes: `304` (keep) while `version` is what it last sent, else the
/// new body.
struct ConditionalLoader {
    version: Arc<AtomicUsize>,
    full_loads: AtomicUsize,
    revalidations: AtomicUsize,
}

impl Loader for ConditionalLoader {
    fn load(
        &self,
        _context: LoadContext,
    ) -> futures_util::future::BoxFuture<'static, Result<Fill, LoadError>> {
        self.full_loads.fetch_add(1, Ordering::SeqCst);
        let v = self.version.load(Ordering::SeqCst);
        Box::pin(async move { Ok(Fill::Store(CachedValue::new(200, format!("v{v}")))) })
    }

    fn revalidate(
        &self,
        current: &CachedValue,
        _context: LoadContext,
    ) -> futures_util::future::BoxFuture<'static, Result<Fill, LoadError>> {
        self.revalidations.fetch_add(1, Ordering::SeqCst);
        let v = self.version.load(Ordering::SeqCst);
        let same = current.body == format!("v{v}").as_bytes();
        Box::pin(async move {
            Ok(if same {
                Fill::NotModified
            } else {
                Fill::Store(CachedValue::new(200, format!("v{v}")))
            })
        })
    }
}

#[tokio::test]
async fn a_refresh_answered_not_modified_keeps_the_body_and_renews_freshness() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let version = Arc::new(AtomicUsize::new(1));
    let loader = Arc::new(ConditionalLoader {
        version: version.clone(),
        full_loads: AtomicUsize::new(0),
        revalidations: AtomicUsize::new(0),
    });
    let key = Key::new("conditional");
    let first = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(body(&first), "v1");
    clock.advance(11 * SEC); // stale: served at once, refreshed behind
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Stale);
    eventually("one revalidation answered 304", WAIT, async || {
        cache.stats().class("metadata").unwrap().revalidated_304 == 1
    })
    .await;
    eventually("no refresh in progress", WAIT, async || {
        cache.stats().refreshes_in_progress == 0
    })
    .await;
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    // Fresh again, the very body kept (not a copy), nothing downloaded again.
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(l.entry.value.body.as_ptr(), first.entry.value.body.as_ptr());
    assert_eq!(
        l.entry.age(cachearr_engine::Clock::now_ms(clock.as_ref())),
        Duration::ZERO
    );
    assert_eq!(loader.full_loads.load(Ordering::SeqCst), 1);
    assert_eq!(loader.revalidations.load(Ordering::SeqCst), 1);

    // Changed upstream: the refresh stores the new body.
    version.store(2, Ordering::SeqCst);
    clock.advance(11 * SEC);
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!((l.outcome, body(&l)), (Outcome::Stale, "v1".to_owned()));
    eventually("two refreshes started and done", WAIT, async || {
        let s = cache.stats();
        s.class("metadata").unwrap().refreshes_started == 2 && s.refreshes_in_progress == 0
    })
    .await;
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(
        (l.outcome, body(&l)),
        (Outcome::Hit(TierKind::Memory), "v2".to_owned())
    );
    assert_eq!(cache.stats().class("metadata").unwrap().revalidated_304, 1);
}

#[tokio::test]
async fn not_modified_with_nothing_stored_is_a_failed_load() {
    struct Confused;
    impl Loader for Confused {
        fn load(
            &self,
            _context: LoadContext,
        ) -> futures_util::future::BoxFuture<'static, Result<Fill, LoadError>> {
            Box::pin(async { Ok(Fill::NotModified) })
        }
    }
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let err = cache
        .get_or_load(&Key::new("none"), &policy(), Arc::new(Confused))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Load(_)), "{err}");
    assert_eq!(cache.stats().class("metadata").unwrap().revalidated_304, 0);
}

#[tokio::test]
async fn an_answer_fetched_outside_a_load_is_stored_unless_a_tag_moved_since_its_fetch() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let part = |s: &str| CachedValue::new(200, s.to_owned());
    let (a, b, c) = (Key::new("a"), Key::new("b"), Key::new("c"));
    let pa = policy().with_tag("item:1");
    let pb = policy().with_tag("item:2");
    let stamp = cache.fetch_started();
    // A tag named by the route or by the value itself, bumped while the fetch ran: the part may
    // predate that change, so it is not stored.
    cache.invalidate_tag("item:2");
    cache.invalidate_tag("plays:9");
    assert!(!cache.insert_fetched(&b, &pb, part("b"), &stamp, &[]).await);
    assert!(
        !cache
            .insert_fetched(&a, &pa, part("a"), &stamp, &["plays:9".into()])
            .await
    );
    assert!(cache.get(&a).await.is_none() && cache.get(&b).await.is_none());
    // Nothing moved: stored with its tags, a hit for the next reader, dead once a tag moves.
    assert!(
        cache
            .insert_fetched(&a, &pa, part("a"), &stamp, &["plays:1".into()])
            .await
    );
    let hit = cache.get_or_load(&a, &pa, loader.clone()).await.unwrap();
    assert_eq!(
        (hit.outcome, body(&hit).as_str()),
        (Outcome::Hit(TierKind::Memory), "a")
    );
    assert_eq!(loader.calls(), 0);
    cache.invalidate_tag("plays:1");
    assert!(cache.get(&a).await.is_none());
    // An entry already there is as new or newer: kept.
    cache.get_or_load(&c, &pa, loader.clone()).await.unwrap();
    let stamp = cache.fetch_started();
    assert!(
        !cache
            .insert_fetched(&c, &pa, part("old"), &stamp, &[])
            .await
    );
    assert_eq!(body(&cache.get(&c).await.unwrap()), "body-1");
}

/// A loader queued for warming may hold what holds the cache (a gateway's loader holds the
/// gateway, which holds the cache): shutting the cache down drops the queued loaders, so the
/// two do not keep each other alive, and nothing is queued after it.
#[tokio::test]
async fn shutting_down_lets_go_of_the_loaders_queued_for_warming() {
    let clock = Arc::new(ManualClock::default());
    let cache = Arc::new(memory_cache(&clock).await);
    let read = async |cache: &Arc<TieredCache>, key: &str| {
        let key = Key::new(key);
        let held = cache.clone();
        cache
            .get_or_load_with(&key, &policy(), move || {
                let held = held.clone();
                let l: Arc<dyn Loader> = Arc::new(move || {
                    let _holds_the_cache = &held;
                    async { Ok(Fill::Store(CachedValue::new(200, "v"))) }
                });
                l
            })
            .await
            .unwrap()
            .outcome
    };
    assert_eq!(read(&cache, "k").await, Outcome::Miss);
    // The second read queues a warming with a loader that holds the cache.
    assert_eq!(read(&cache, "k").await, Outcome::Hit(TierKind::Memory));
    let weak = Arc::downgrade(&cache);
    assert!(
        Arc::strong_count(&cache) > 1,
        "the queued loader holds the cache"
    );
    cache.shutdown().await;
    assert_eq!(Arc::strong_count(&cache), 1, "the queued loader is dropped");
    // Another entry read twice after the shutdown: no warming is queued for it.
    assert_eq!(read(&cache, "other").await, Outcome::Miss);
    assert_eq!(read(&cache, "other").await, Outcome::Hit(TierKind::Memory));
    assert_eq!(
        Arc::strong_count(&cache),
        1,
        "a warming was queued after the shutdown"
    );
    drop(cache);
    assert!(weak.upgrade().is_none(), "something still holds the cache");
}
