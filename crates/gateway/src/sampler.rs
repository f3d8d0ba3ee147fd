//! Sampled revalidation, the change feed's proof: now and then a random answer the feed keeps
//! valid is fetched again through the read-through service (`crate::fetch`) and compared
//! with the cached one ([`Feed::judge`]). It sits above `fetch`, which applies the feed's
//! validity to every load, so that neither imports the other both ways.
//!
//! Samples are drawn only in periods in which clients read answers the feed keeps: the proof
//! is of what clients are answered, and a gateway at rest costs the server nothing.

use std::time::Duration;

use cachearr_engine::TieredCache;

use cachearr_upstream::feed::{BackgroundKind, FEED_CLASSES, Feed, Sampled};

/// One sampled revalidation of `feed`'s upstream: fetch a random candidate again (background
/// budget) and compare it with the cached answer. [`spawn_sampler`] calls it
/// `samples_per_minute` times a minute; tests call it by hand.
pub async fn sample_once(gw: &crate::gateway::Gateway, feed: &Feed) -> Sampled {
    let now = gw.clock().now_ms();
    // Without a healthy feed every class follows its TTL: nothing to prove.
    if feed.unhealthy(now).is_some() {
        return Sampled::Nothing;
    }
    let Some(up) = gw.upstream(feed.upstream()).cloned() else {
        return Sampled::Nothing;
    };
    let Some((candidate, entry)) = feed.pick(&up, gw.cache(), now).await else {
        return Sampled::Nothing;
    };
    feed.count_background(BackgroundKind::Samples, 1, now);
    let copy = (gw.copy()).map(|c| c.clone() as std::sync::Arc<dyn crate::fetch::WalkSources>);
    let fill = crate::fetch::fetch_uncached(
        gw.reads(),
        copy.as_ref(),
        &up,
        &candidate.user,
        candidate.class,
        candidate.uri.clone(),
        candidate.headers.clone(),
    )
    .await;
    feed.judge(gw.cache(), gw.clock().now_ms(), &candidate, &entry, fill)
        .await
}

/// Runs sampling for every upstream until `stop`: at most `samples_per_minute` per upstream,
/// evenly spaced, each only when clients read answers of the feed's classes since the last
/// (`feed_reads`), on the background budget, where this gateway does the upstream's
/// background work (alone, or as the holder among gateways sharing a Redis).
pub fn spawn_sampler(
    gw: &crate::gateway::Gateway,
    stop: &tokio_util::sync::CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let per_minute = gw.config().feed.samples_per_minute;
    if !gw.config().feed.enabled || per_minute == 0 {
        return None;
    }
    let gw = gw.clone();
    let stop = stop.clone();
    Some(tokio::spawn(async move {
        let period = Duration::from_millis(60_000 / u64::from(per_minute.max(1)));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut reads_before = feed_reads(gw.cache());
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {
                    let reads = feed_reads(gw.cache());
                    if reads == reads_before {
                        continue;
                    }
                    reads_before = reads;
                    for up in gw.upstreams() {
                        // Among gateways sharing a Redis, the upstream's holder samples
                        // for all (`background`).
                        if !gw.background().works(&up.name) {
                            continue;
                        }
                        if let Some(feed) = gw.feed(&up.name) {
                            sample_once(&gw, feed).await;
                        }
                    }
                }
            }
        }
    }))
}

/// Reads of the feed's classes since start, as the engine counts them (hits, misses, stale
/// answers, coalesced waits): unchanged while no client reads what sampling would prove.
fn feed_reads(cache: &TieredCache) -> u64 {
    let stats = cache.stats();
    FEED_CLASSES
        .iter()
        .filter_map(|class| stats.class(class.as_str()))
        .map(|c| c.hits + c.misses + c.stale_hits + c.stale_on_error + c.coalesced)
        .sum()
}
