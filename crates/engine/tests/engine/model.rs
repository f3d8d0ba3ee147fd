//! Model test: random operations against the cache and against a plain map that says what
//! the cache should answer; they must always agree. The disk variant adds restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cachearr_engine::{CachedValue, Key, ManualClock, Outcome, Policy, TieredCache};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert {
        key: usize,
        fresh_s: u64,
        swr_s: u64,
        tag: Option<usize>,
    },
    Get(usize),
    Advance(u64),
    InvalidateTag(usize),
    ClearPrefix(usize),
    ClearAll,
    Remove(usize),
    Restart,
}

const KEYS: [&str; 6] = ["a/0", "a/1", "a/2", "b/0", "b/1", "c"];
const TAGS: [&str; 3] = ["t0", "t1", "t2"];
const PREFIXES: [&str; 3] = ["a/", "b/", "a/1"];

fn op(with_restart: bool) -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        4 => (key.clone(), 60..1200u64, 0..1200u64, proptest::option::of(0..TAGS.len()))
            .prop_map(|(key, fresh_s, swr_s, tag)| Op::Insert { key, fresh_s, swr_s, tag }),
        5 => key.clone().prop_map(Op::Get),
        3 => (0..1500u64).prop_map(Op::Advance),
        1 => (0..TAGS.len()).prop_map(Op::InvalidateTag),
        1 => (0..PREFIXES.len()).prop_map(Op::ClearPrefix),
        1 => Just(Op::ClearAll),
        1 => key.prop_map(Op::Remove),
        if with_restart { 1 } else { 0 } => Just(Op::Restart),
    ]
}

#[derive(Clone, Debug)]
struct ModelEntry {
    body: String,
    fresh_until: u64,
    expires_at: u64,
    tag: Option<usize>,
}

async fn open(clock: &Arc<ManualClock>, dir: Option<&std::path::Path>) -> TieredCache {
    let mut b = TieredCache::builder()
        .clock(clock.clone())
        .housekeeping(false)
        .write_behind(10_000, Duration::from_millis(1));
    if let Some(dir) = dir {
        b = b.disk(dir, 1 << 30);
    }
    b.build().await.expect("cache opens")
}

async fn run(ops: Vec<Op>, with_disk: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let disk = with_disk.then(|| dir.path());
    let clock = Arc::new(ManualClock::default());
    let mut cache = open(&clock, disk).await;
    let mut model: HashMap<usize, ModelEntry> = HashMap::new();
    let mut now = cachearr_engine::Clock::now_ms(&*clock);
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Insert {
                key,
                fresh_s,
                swr_s,
                tag,
            } => {
                let mut p = Policy::new("model", Duration::from_secs(fresh_s))
                    .with_stale_while_revalidate(Duration::from_secs(swr_s));
                if let Some(t) = tag {
                    p = p.with_tag(TAGS[t]);
                }
                let body = format!("v{n}");
                cache
                    .insert(
                        &Key::new(KEYS[key]),
                        &p,
                        CachedValue::new(200, body.clone()),
                    )
                    .await;
                let fresh_until = now + fresh_s * 1000;
                model.insert(
                    key,
                    ModelEntry {
                        body,
                        fresh_until,
                        expires_at: fresh_until + swr_s * 1000,
                        tag,
                    },
                );
            }
            Op::Get(key) => {
                let got = cache.get(&Key::new(KEYS[key])).await;
                let want = model.get(&key).filter(|e| now < e.expires_at);
                match (got, want) {
                    (None, None) => {}
                    (Some(l), Some(e)) => {
                        let body = String::from_utf8_lossy(&l.entry.value.body).into_owned();
                        prop_assert_eq!(&body, &e.body, "op {}: key {}", n, KEYS[key]);
                        let fresh = now < e.fresh_until;
                        prop_assert_eq!(
                            matches!(l.outcome, Outcome::Hit(_)),
                            fresh,
                            "op {}: key {} outcome {:?}",
                            n,
                            KEYS[key],
                            l.outcome
                        );
                    }
                    (got, want) => {
                        return Err(TestCaseError::fail(format!(
                            "op {n}: key {}: cache {:?}, model {want:?}",
                            KEYS[key],
                            got.map(|l| l.outcome)
                        )));
                    }
                }
            }
            Op::Advance(s) => {
                clock.advance(Duration::from_secs(s));
                now += s * 1000;
            }
            Op::InvalidateTag(t) => {
                cache.invalidate_tag(TAGS[t]);
                model.retain(|_, e| e.tag != Some(t));
            }
            Op::ClearPrefix(p) => {
                cache.clear_prefix(PREFIXES[p]);
                model.retain(|k, _| !KEYS[*k].starts_with(PREFIXES[p]));
            }
            Op::ClearAll => {
                cache.clear_all();
                model.clear();
            }
            Op::Remove(key) => {
                cache.remove(&Key::new(KEYS[key])).await;
                model.remove(&key);
            }
            Op::Restart => {
                cache.shutdown().await;
                drop(cache);
                cache = open(&clock, disk).await;
            }
        }
    }
    cache.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn memory_cache_agrees_with_a_plain_map(ops in proptest::collection::vec(op(false), 1..80)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops, false))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn disk_cache_with_restarts_agrees_with_a_plain_map(
        ops in proptest::collection::vec(op(true), 1..60)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(ops, true))?;
    }
}
