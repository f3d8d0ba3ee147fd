//! Memory tier behaviour: hits, single-flight, stale-while-revalidate, stale-if-error, tags,
//! failing loaders (refreshes and warming are in `refresh.rs`). Time is driven by a
//! ManualClock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cachearr_engine::{
    CachedValue, EngineError, Fill, Key, LoadError, Loader, ManualClock, Outcome, TierKind,
    TieredCache,
};

use crate::common::*;

#[tokio::test]
async fn fresh_entry_is_a_memory_hit_sharing_the_body() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let key = Key::new("k");
    let first = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Miss);
    clock.advance(9 * SEC);
    let second = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(second.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(body(&second), "body-1");
    // Same allocation: a hit hands out the stored body, not a copy.
    assert_eq!(
        first.entry.value.body.as_ptr(),
        second.entry.value.body.as_ptr()
    );
    assert_eq!(second.entry.age(clock.now_ms_for_test()), 9 * SEC);
    assert_eq!(loader.calls(), 1);
    let stats = cache.stats();
    let class = stats.class("metadata").unwrap();
    assert_eq!((class.misses, class.hits_memory, class.entries), (1, 1, 1));
}

/// The synchronous memory hit answers what `get_or_load` answers for a fresh entry, counted
/// alike, and nothing else: no entry, a stale one, an invalidated one are the look-up's.
#[tokio::test]
async fn a_memory_hit_without_waiting_answers_and_counts_as_the_look_up_does() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let key = Key::new("k");
    let tagged = policy().with_tag("item:1");
    let make = || -> Arc<dyn Loader> { loader.clone() };

    assert!(cache.memory_hit(&key, &tagged, make).is_none());
    let first = cache.get_or_load(&key, &tagged, make()).await.unwrap();
    assert_eq!((first.outcome, loader.calls()), (Outcome::Miss, 1));

    clock.advance(5 * SEC);
    let hit = cache.memory_hit(&key, &tagged, make).unwrap();
    assert_eq!(hit.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(
        hit.entry.value.body.as_ptr(),
        first.entry.value.body.as_ptr()
    );
    let class = cache.stats().class("metadata").unwrap().clone();
    assert_eq!((class.misses, class.hits_memory), (1, 1));

    // Past its fresh time: not a hit here; the look-up serves it stale.
    clock.advance(6 * SEC);
    assert!(cache.memory_hit(&key, &tagged, make).is_none());
    let stale = cache.get_or_load(&key, &tagged, make()).await.unwrap();
    assert_eq!(stale.outcome, Outcome::Stale);
    eventually("the refreshed entry is a memory hit", WAIT, async || {
        cache.memory_hit(&key, &tagged, make).is_some()
    })
    .await;
    assert_eq!(loader.calls(), 2);

    // Invalidated by its tag: not a hit, and the look-up loads it again.
    cache.invalidate_tag("item:1");
    assert!(cache.memory_hit(&key, &tagged, make).is_none());
    let reloaded = cache.get_or_load(&key, &tagged, make()).await.unwrap();
    assert_eq!((reloaded.outcome, loader.calls()), (Outcome::Miss, 3));
    let class = cache.stats().class("metadata").unwrap().clone();
    assert_eq!(class.hits_memory, 2, "only the fresh reads counted as hits");
}

trait NowForTest {
    fn now_ms_for_test(&self) -> u64;
}
impl NowForTest for ManualClock {
    fn now_ms_for_test(&self) -> u64 {
        cachearr_engine::Clock::now_ms(self)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_make_one_loader_call() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    // The loader waits until every caller has joined, so all 1,000 really overlap.
    let gate = Arc::new(tokio::sync::Notify::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let loader: Arc<dyn Loader> = {
        let gate = gate.clone();
        let calls = calls.clone();
        Arc::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Ok(Fill::Store(CachedValue::new(200, "one")))
            }
        })
    };
    let key = Key::new("cold");
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let (cache, key, loader) = (cache.clone(), key.clone(), loader.clone());
        tasks.push(tokio::spawn(async move {
            cache.get_or_load(&key, &policy(), loader).await
        }));
    }
    eventually(
        "every caller counted as a miss or coalesced",
        WAIT,
        async || {
            cache
                .stats()
                .class("metadata")
                .is_some_and(|c| c.misses + c.coalesced == 1000)
        },
    )
    .await;
    gate.notify_one();
    let mut outcomes = std::collections::HashMap::new();
    for t in tasks {
        let l = t.await.unwrap().unwrap();
        assert_eq!(body(&l), "one");
        *outcomes.entry(format!("{:?}", l.outcome)).or_insert(0) += 1;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(outcomes.get("Miss"), Some(&1));
    assert_eq!(outcomes.get("Coalesced"), Some(&999));
}

/// Callers waiting on one load are answered in the order they came: the first callers of a
/// cold burst are not left for last (a broadcast wakes its waiters in an order of its own).
#[tokio::test]
async fn callers_waiting_on_one_load_are_answered_in_the_order_they_came() {
    const CALLERS: usize = 300;
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    let loader: Arc<dyn Loader> = {
        let gate = gate.clone();
        Arc::new(move || {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Ok(Fill::Store(CachedValue::new(200, "one")))
            }
        })
    };
    let key = Key::new("cold");
    let answered = Arc::new(std::sync::Mutex::new(Vec::new()));
    let joined = |cache: &cachearr_engine::TieredCache| {
        cache
            .stats()
            .class("metadata")
            .map_or(0, |c| c.misses + c.coalesced)
    };
    let mut tasks = Vec::new();
    for i in 0..CALLERS {
        let (cache2, key, loader, answered) =
            (cache.clone(), key.clone(), loader.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let lookup = cache2.get_or_load(&key, &policy(), loader).await;
            answered.lock().unwrap().push(i);
            lookup
        }));
        // One runtime thread: caller i has joined the load before caller i + 1 is spawned.
        let mut turns = 0;
        while joined(&cache) < i as u64 + 1 {
            turns += 1;
            assert!(turns < 1_000, "caller {i} never joined the load");
            tokio::task::yield_now().await;
        }
    }
    gate.notify_one();
    for t in tasks {
        assert_eq!(body(&t.await.unwrap().unwrap()), "one");
    }
    let answered = answered.lock().unwrap().clone();
    assert_eq!(answered, (0..CALLERS).collect::<Vec<_>>());
}

#[tokio::test]
async fn stale_within_window_is_served_at_once_with_exactly_one_refresh() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    // The refresh blocks until released, so we can observe it in progress.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let loader: Arc<dyn Loader> = {
        let (gate, calls) = (gate.clone(), calls.clone());
        Arc::new(move || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            let gate = gate.clone();
            async move {
                if n > 1 {
                    let _p = gate.acquire().await;
                }
                Ok(Fill::Store(CachedValue::new(200, format!("v{n}"))))
            }
        })
    };
    let key = Key::new("swr");
    cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    clock.advance(11 * SEC); // past fresh (10 s), within SWR (60 s)
    for _ in 0..50 {
        let l = cache
            .get_or_load(&key, &policy(), loader.clone())
            .await
            .unwrap();
        assert_eq!(l.outcome, Outcome::Stale);
        assert_eq!(body(&l), "v1");
    }
    eventually("one refresh in progress", WAIT, async || {
        cache.stats().refreshes_in_progress == 1
    })
    .await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one initial load + one refresh"
    );
    gate.add_permits(1);
    eventually("no refresh in progress", WAIT, async || {
        cache.stats().refreshes_in_progress == 0
    })
    .await;
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert_eq!(body(&l), "v2");
    let c = cache.stats().class("metadata").cloned().unwrap();
    assert_eq!((c.stale_hits, c.refreshes_started), (50, 1));
}

#[tokio::test]
async fn past_the_stale_window_the_caller_waits_for_a_new_load() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let key = Key::new("old");
    cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    clock.advance(71 * SEC); // fresh 10 + swr 60 exceeded
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Miss);
    assert_eq!(body(&l), "body-2");
}

#[tokio::test]
async fn failed_load_serves_stale_within_stale_if_error_and_the_error_after() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let key = Key::new("sie");
    cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    loader.set_failing(true);
    clock.advance(100 * SEC); // past SWR (70 s), within SIE (310 s)
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::StaleOnError);
    assert_eq!(body(&l), "body-1");
    clock.advance(300 * SEC); // past SIE
    let err = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Load(_)), "{err:?}");
    // Errors are never stored: the next call loads again and succeeds.
    loader.set_failing(false);
    let l = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Miss);
    assert_eq!(loader.calls(), 4);
    assert_eq!(cache.stats().class("metadata").unwrap().loader_errors, 2);
}

#[tokio::test]
async fn a_failed_first_load_is_an_error_for_every_waiter_and_not_stored() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    loader.set_failing(true);
    let key = Key::new("never");
    let err = cache.get_or_load(&key, &policy(), loader.clone()).await;
    assert!(err.is_err());
    assert!(cache.get(&key).await.is_none());
}

#[tokio::test]
async fn tag_invalidation_takes_effect_at_once_for_that_tag_only() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    let a = Key::new("a");
    let b = Key::new("b");
    let pa = policy().with_tag("item:1").with_tag("section:1");
    let pb = policy().with_tag("item:2").with_tag("section:1");
    cache.get_or_load(&a, &pa, loader.clone()).await.unwrap();
    cache.get_or_load(&b, &pb, loader.clone()).await.unwrap();
    cache.invalidate_tag("item:1");
    assert_eq!(
        outcome_of(&cache, &a, &pa, loader.clone()).await,
        Outcome::Miss
    );
    assert_eq!(
        outcome_of(&cache, &b, &pb, loader.clone()).await,
        Outcome::Hit(TierKind::Memory)
    );
    cache.invalidate_tag("section:1");
    assert!(cache.get(&a).await.is_none());
    assert!(cache.get(&b).await.is_none());
    // A tag nobody used before is harmless.
    cache.invalidate_tag("never-seen");
}

#[tokio::test]
async fn invalidation_during_a_load_makes_its_result_stale_at_once() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let loader: Arc<dyn Loader> = {
        let gate = gate.clone();
        Arc::new(move || {
            let gate = gate.clone();
            async move {
                let _p = gate.acquire().await;
                Ok(Fill::Store(CachedValue::new(200, "from before the change")))
            }
        })
    };
    let key = Key::new("racy");
    let p = policy().with_tag("item:9");
    let task = {
        let (cache, key, p, loader) = (cache.clone(), key.clone(), p.clone(), loader.clone());
        tokio::spawn(async move { cache.get_or_load(&key, &p, loader).await })
    };
    eventually("one miss counted", WAIT, async || {
        cache
            .stats()
            .class("metadata")
            .is_some_and(|c| c.misses == 1)
    })
    .await;
    cache.invalidate_tag("item:9");
    gate.add_permits(1);
    let l = task.await.unwrap().unwrap();
    assert_eq!(l.outcome, Outcome::Miss, "the waiter still gets its answer");
    assert!(
        cache.get(&key).await.is_none(),
        "but it is not served to later readers"
    );
}

#[tokio::test]
async fn clear_all_and_clear_prefix_take_effect_at_once() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader = CountingLoader::new();
    for k in ["plex|/a", "plex|/b", "jf|/a"] {
        cache
            .get_or_load(&Key::new(k), &policy(), loader.clone())
            .await
            .unwrap();
    }
    cache.clear_prefix("plex|");
    assert!(cache.get(&Key::new("plex|/a")).await.is_none());
    assert!(cache.get(&Key::new("plex|/b")).await.is_none());
    assert!(cache.get(&Key::new("jf|/a")).await.is_some());
    // Entries stored after the drop are not affected by it.
    cache
        .get_or_load(&Key::new("plex|/a"), &policy(), loader.clone())
        .await
        .unwrap();
    assert!(cache.get(&Key::new("plex|/a")).await.is_some());
    cache.clear_all();
    for k in ["plex|/a", "plex|/b", "jf|/a"] {
        assert!(cache.get(&Key::new(k)).await.is_none(), "{k}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_loader_releases_its_waiters_at_the_timeout() {
    let cache = TieredCache::builder()
        .load_timeout(Duration::from_secs(5))
        .housekeeping(false)
        .build()
        .await
        .unwrap();
    let loader: Arc<dyn Loader> = Arc::new(std::future::pending::<Result<Fill, LoadError>>);
    let key = Key::new("hang");
    let waiters: Vec<_> = (0..10)
        .map(|_| {
            let (cache, key, loader) = (cache.clone(), key.clone(), loader.clone());
            tokio::spawn(async move { cache.get_or_load(&key, &policy(), loader).await })
        })
        .collect();
    for w in waiters {
        let r = w.await.unwrap();
        assert!(matches!(r, Err(EngineError::LoadTimeout(_))), "{r:?}");
    }
    // The key is free again: a good loader fills it.
    let good = CountingLoader::new();
    assert_eq!(
        outcome_of(&cache, &key, &policy(), good).await,
        Outcome::Miss
    );
}

#[tokio::test]
async fn a_panicking_loader_releases_its_waiters() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let loader: Arc<dyn Loader> = Arc::new(|| async {
        if true {
            panic!("loader bug");
        }
        Ok(Fill::Store(CachedValue::new(200, "")))
    });
    let key = Key::new("boom");
    let r = cache.get_or_load(&key, &policy(), loader).await;
    assert!(matches!(r, Err(EngineError::LoaderPanicked)), "{r:?}");
    let good = CountingLoader::new();
    assert_eq!(
        outcome_of(&cache, &key, &policy(), good).await,
        Outcome::Miss
    );
}

#[tokio::test]
async fn pass_is_handed_out_but_never_stored_and_negative_only_with_a_ttl() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let pass: Arc<dyn Loader> = Arc::new(|| async { Ok(Fill::Pass(CachedValue::new(200, "p"))) });
    let key = Key::new("pass");
    let l = cache
        .get_or_load(&key, &policy(), pass.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Passed);
    assert!(cache.get(&key).await.is_none());

    let notfound: Arc<dyn Loader> =
        Arc::new(|| async { Ok(Fill::Negative(CachedValue::new(404, "nope"))) });
    let nk = Key::new("404");
    let l = cache
        .get_or_load(&nk, &policy(), notfound.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Passed, "no negative TTL: not kept");
    let p = policy().with_negative_ttl(5 * SEC);
    assert_eq!(
        outcome_of(&cache, &nk, &p, notfound.clone()).await,
        Outcome::Miss
    );
    let l = cache.get_or_load(&nk, &p, notfound.clone()).await.unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert!(l.entry.negative);
    clock.advance(6 * SEC);
    assert_eq!(outcome_of(&cache, &nk, &p, notfound).await, Outcome::Miss);
}

#[tokio::test]
async fn a_refusal_is_kept_its_own_time_whatever_the_route_tags_say() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let refused: Arc<dyn Loader> =
        Arc::new(|| async { Ok(Fill::Refusal(CachedValue::new(401, "no"), 60 * SEC)) });
    let key = Key::new("refused");
    // The class keeps misses 5 s, caps freshness at 5 s (a change feed that cannot vouch for
    // it) and the route hangs on `sessions`.
    let mut p = policy().with_negative_ttl(5 * SEC).with_fresh_cap(5 * SEC);
    p.tags = vec![Arc::from("sessions")];
    assert_eq!(
        outcome_of(&cache, &key, &p, refused.clone()).await,
        Outcome::Miss
    );
    cache.invalidate_tag("sessions");
    clock.advance(30 * SEC);
    let l = cache.get_or_load(&key, &p, refused.clone()).await.unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert!(l.entry.negative);
    assert_eq!(l.entry.value.status, 401);
    clock.advance(31 * SEC);
    assert_eq!(outcome_of(&cache, &key, &p, refused).await, Outcome::Miss);
}

#[tokio::test]
async fn insert_get_and_remove() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let key = Key::new("direct");
    cache
        .insert(&key, &policy(), CachedValue::new(201, "x"))
        .await;
    let l = cache.get(&key).await.unwrap();
    assert_eq!(
        (l.outcome, l.entry.value.status),
        (Outcome::Hit(TierKind::Memory), 201)
    );
    clock.advance(20 * SEC);
    assert_eq!(cache.get(&key).await.unwrap().outcome, Outcome::Stale);
    cache.remove(&key).await;
    assert!(cache.get(&key).await.is_none());
}
