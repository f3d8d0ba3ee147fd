//! Disk tier behaviour: persistence across restarts, promotion, invalidation persistence,
//! corruption, open errors, limits.

use std::sync::Arc;

use cachearr_engine::{
    CachedValue, EngineError, Key, ManualClock, Outcome, Policy, TierKind, TieredCache,
};

use crate::common::*;

pub(crate) async fn disk_cache(clock: &Arc<ManualClock>, dir: &std::path::Path) -> TieredCache {
    TieredCache::builder()
        .memory_max_bytes(64 << 20)
        .disk(dir, 256 << 20)
        .clock(clock.clone())
        .housekeeping(false)
        .write_behind(1000, std::time::Duration::from_millis(5))
        .build()
        .await
        .expect("disk cache builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_and_tag_generations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    let loader = CountingLoader::new();
    let kept = Key::new("plex|/library/metadata/1");
    let tagged = Key::new("plex|/library/metadata/2");
    let dropped = Key::new("jf|/Items/3");
    {
        let cache = disk_cache(&clock, dir.path()).await;
        cache
            .get_or_load(&kept, &policy().with_tag("item:1"), loader.clone())
            .await
            .unwrap();
        cache
            .get_or_load(&tagged, &policy().with_tag("item:2"), loader.clone())
            .await
            .unwrap();
        cache
            .get_or_load(&dropped, &policy(), loader.clone())
            .await
            .unwrap();
        cache.flush().await;
        cache.invalidate_tag("item:2");
        cache.clear_prefix("jf|");
        cache.shutdown().await;
    }
    let cache = disk_cache(&clock, dir.path()).await;
    clock.advance(5 * SEC);
    let l = cache
        .get_or_load(&kept, &policy().with_tag("item:1"), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Disk));
    assert_eq!(body(&l), "body-1");
    assert_eq!(l.entry.age(clock_now(&clock)), 5 * SEC);
    // Promoted: the next read is a memory hit.
    let l = cache
        .get_or_load(&kept, &policy().with_tag("item:1"), loader.clone())
        .await
        .unwrap();
    assert_eq!(l.outcome, Outcome::Hit(TierKind::Memory));
    assert!(
        cache.get(&tagged).await.is_none(),
        "tag invalidation survived the restart"
    );
    assert!(
        cache.get(&dropped).await.is_none(),
        "prefix drop survived the restart"
    );
    assert_eq!(loader.calls(), 3);
    cache.shutdown().await;
}

fn clock_now(c: &ManualClock) -> u64 {
    cachearr_engine::Clock::now_ms(c)
}

#[tokio::test]
async fn unwritable_directory_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = TieredCache::builder()
        .disk(file.join("cache"), 1 << 20)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::DiskOpen { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[tokio::test]
async fn memory_only_works_without_disk() {
    let cache = TieredCache::builder().build().await.unwrap();
    let key = Key::new("m");
    cache
        .insert(
            &key,
            &Policy::new("c", 10 * SEC),
            CachedValue::new(200, "v"),
        )
        .await;
    assert!(cache.stats().tier(TierKind::Disk).is_none());
    assert_eq!(
        cache.get(&key).await.unwrap().outcome,
        Outcome::Hit(TierKind::Memory)
    );
    cache.shutdown().await;
}
