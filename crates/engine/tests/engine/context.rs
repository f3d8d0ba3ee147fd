//! The loader is told why it runs: a caller waits (a miss), or nobody does (a refresh behind
//! a stale answer, a warming refresh), so a gateway spends its client budget only on the first.

use std::sync::{Arc, Mutex};

use cachearr_engine::{
    CachedValue, Fill, Key, LoadContext, LoadError, Loader, ManualClock, Outcome, Policy,
    TieredCache,
};
use futures_util::future::BoxFuture;

use crate::common::{SEC, WAIT, eventually, memory_cache, policy};

/// Records the context of every call, `load` and `revalidate` alike.
#[derive(Default)]
struct RecordingLoader {
    contexts: Mutex<Vec<LoadContext>>,
}

impl RecordingLoader {
    fn contexts(&self) -> Vec<LoadContext> {
        self.contexts.lock().unwrap().clone()
    }
}

impl Loader for RecordingLoader {
    fn load(&self, context: LoadContext) -> BoxFuture<'static, Result<Fill, LoadError>> {
        let mut contexts = self.contexts.lock().unwrap();
        contexts.push(context);
        let n = contexts.len();
        Box::pin(async move { Ok(Fill::Store(CachedValue::new(200, format!("v{n}")))) })
    }
}

#[tokio::test]
async fn a_miss_is_loaded_for_a_waiting_caller_and_a_stale_refresh_in_the_background() {
    let clock = Arc::new(ManualClock::default());
    let cache = memory_cache(&clock).await;
    let recorder = Arc::new(RecordingLoader::default());
    let loader: Arc<dyn Loader> = recorder.clone();
    let key = Key::new("context");
    let first = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Miss);
    assert_eq!(recorder.contexts(), [LoadContext::CallerWaiting]);
    assert!(!LoadContext::CallerWaiting.is_background());

    clock.advance(11 * SEC); // past fresh (10 s), within stale-while-revalidate (60 s)
    let stale = cache
        .get_or_load(&key, &policy(), loader.clone())
        .await
        .unwrap();
    assert_eq!(stale.outcome, Outcome::Stale);
    eventually("the second load recorded", WAIT, async || {
        recorder.contexts().len() == 2
    })
    .await;
    assert_eq!(
        recorder.contexts(),
        [LoadContext::CallerWaiting, LoadContext::Revalidate]
    );
    assert!(LoadContext::Revalidate.is_background());

    // Past every window: the caller waits again, and is told so.
    eventually("no refresh in progress", WAIT, async || {
        cache.stats().refreshes_in_progress == 0
    })
    .await;
    clock.advance(400 * SEC);
    let again = cache.get_or_load(&key, &policy(), loader).await.unwrap();
    assert_eq!(again.outcome, Outcome::Miss);
    assert_eq!(recorder.contexts()[2], LoadContext::CallerWaiting);
}

#[tokio::test]
async fn a_warming_refresh_is_told_it_is_warming() {
    let clock = Arc::new(ManualClock::default());
    let cache = TieredCache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .build()
        .await
        .unwrap();
    let recorder = Arc::new(RecordingLoader::default());
    let loader: Arc<dyn Loader> = recorder.clone();
    let p = Policy::new("stats", 100 * SEC);
    let key = Key::new("hot");
    cache.get_or_load(&key, &p, loader.clone()).await.unwrap(); // read 1 (the fill)
    cache.get_or_load(&key, &p, loader.clone()).await.unwrap(); // read 2: queued for warming
    clock.advance(80 * SEC);
    cache.run_pending_tasks().await;
    eventually("the second load recorded", WAIT, async || {
        recorder.contexts().len() == 2
    })
    .await;
    assert_eq!(
        recorder.contexts(),
        [LoadContext::CallerWaiting, LoadContext::Warm]
    );
    assert!(LoadContext::Warm.is_background());
}
