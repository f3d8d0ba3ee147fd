use super::*;
use cachearr_engine::TierKind;
use http::StatusCode;

use crate::respond;

#[test]
fn body_files_take_a_share_of_memory_only_when_turned_on() {
    let off = CacheConfig::default();
    let b = Budgets::for_cache(&off);
    assert_eq!((b.files, b.file_min), (0, u64::MAX));
    let on = CacheConfig {
        sendfile_min_bytes: Some(16 * 1024),
        ..CacheConfig::default()
    };
    let b = Budgets::for_cache(&on);
    assert_eq!((b.files, b.file_min), (16 << 20, 16 * 1024));
    assert_eq!(
        Budgets::engine(&off) - Budgets::engine(&on),
        16 << 20,
        "the files' share is the cache's when they are off"
    );
}

#[test]
fn a_hits_wire_head_is_kept_while_it_repeats_and_a_misss_is_not() {
    let kept = KeptHead::default();
    let made = std::cell::Cell::new(0);
    let make = || {
        made.set(made.get() + 1);
        let mut h = HeaderMap::new();
        h.insert(header::AGE, HeaderValue::from(made.get()));
        h
    };
    let miss = kept.wire_or_make((Outcome::Miss, 0, 60), StatusCode::OK, make);
    assert_eq!(&miss.bytes[..], &b"HTTP/1.1 200 OK\r\nage: 1\r\n"[..]);
    assert!(!miss.has_date);
    kept.wire_or_make((Outcome::Passed, 0, 0), StatusCode::OK, make);
    assert!(kept.0.lock().unwrap().is_none(), "a miss's head was kept");
    let hit = (Outcome::Hit(TierKind::Memory), 1, 59);
    let first = kept.wire_or_make(hit, StatusCode::OK, make);
    let second = kept.wire_or_make(hit, StatusCode::OK, make);
    assert_eq!(made.get(), 3, "the second hit made its head again");
    assert_eq!(&first.bytes[..], &b"HTTP/1.1 200 OK\r\nage: 3\r\n"[..]);
    assert_eq!(
        second.bytes.as_ptr(),
        first.bytes.as_ptr(),
        "the wire bytes were written again"
    );
    // Another age is another head; waiters of one fill share theirs.
    let older = kept.wire_or_make(
        (Outcome::Hit(TierKind::Memory), 2, 58),
        StatusCode::OK,
        make,
    );
    assert_eq!(&older.bytes[..], &b"HTTP/1.1 200 OK\r\nage: 4\r\n"[..]);
    let waiter = (Outcome::Coalesced, 0, 60);
    kept.wire_or_make(waiter, StatusCode::OK, make);
    kept.wire_or_make(waiter, StatusCode::OK, make);
    assert_eq!(made.get(), 5);
    kept.wire_or_make((Outcome::Miss, 0, 60), StatusCode::OK, make);
    assert_eq!(
        kept.0.lock().unwrap().as_ref().unwrap().0,
        waiter,
        "a miss's head took the kept one's place"
    );
}

/// Bytes allocated on this thread and not freed since it started (jemalloc's per-thread
/// counts, in its size classes, as the memory really is).
fn held_by_this_thread() -> i64 {
    use tikv_jemalloc_ctl::thread;
    let allocated = thread::allocatedp::read().expect("jemalloc's counts").get();
    let freed = thread::deallocatedp::read()
        .expect("jemalloc's counts")
        .get();
    allocated as i64 - freed as i64
}

/// A kind of stored answer, and how it is asked for.
struct Stored {
    headers: &'static [(&'static str, &'static str)],
    body: fn(usize) -> Bytes,
    /// Asked for with and without gzip (so both representations are prepared).
    gzip: bool,
}

const PLEX_LISTING: Stored = Stored {
    headers: &[
        ("content-type", "application/json"),
        ("x-plex-protocol", "1.0"),
        ("cache-control", "no-cache"),
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", "Location, Date"),
        ("date", "Wed, 25 Nov 2026 01:00:00 GMT"),
        ("vary", "Origin, X-Plex-Token"),
        ("x-plex-content-original-length", "2271"),
    ],
    body: |i| {
        let item = format!(r#"{{"ratingKey":"{i}","title":"Track {i}","type":"track"}},"#);
        Bytes::from(format!(
            r#"{{"MediaContainer":{{"Metadata":[{}]}}}}"#,
            item.repeat(40)
        ))
    },
    gzip: true,
};

const JELLYFIN_ITEM: Stored = Stored {
    headers: &[
        ("content-type", "application/json; charset=utf-8"),
        ("date", "Wed, 25 Nov 2026 01:00:00 GMT"),
        ("server", "Kestrel"),
    ],
    body: |i| {
        Bytes::from(format!(
            r#"{{"Id":"{i:032x}","Name":"Item {i}","Type":"Audio"}}"#
        ))
    },
    gzip: false,
};

const PLEX_THUMB: Stored = Stored {
    headers: &[
        ("content-type", "image/jpeg"),
        ("x-plex-protocol", "1.0"),
        ("cache-control", "max-age=86400"),
        ("access-control-allow-origin", "*"),
        ("date", "Wed, 25 Nov 2026 01:00:00 GMT"),
    ],
    body: |i| Bytes::from(vec![(i % 251) as u8; 6_000]),
    gzip: false,
};

/// Per entry: the bytes `stored`'s entries and their prepared answers hold (a miss, then a hit
/// of each representation, each through the connection's own HTTP/1.1 and through hyper),
/// and what the memory tier weighs them. The gzip copies are left out (their budget is their
/// own).
async fn held_and_weighed(stored: &Stored) -> (i64, i64) {
    use cachearr_engine::{CachedValue, Fill, Key, LoadError, Policy, TieredCache};

    const ENTRIES: usize = 1_000;
    let cache = TieredCache::builder()
        .memory_max_bytes(256 << 20)
        .housekeeping(false)
        .held_beside(held_beside)
        .build()
        .await
        .unwrap();
    let prepared = PreparedHeaders::new(&CacheConfig::default());
    let policy = Policy::new("metadata", Duration::from_secs(300));
    let gzip_copies = std::cell::Cell::new(0i64);
    let mark = |o, a, t| move |h: &mut HeaderMap| respond::mark_cache_state(h, o, a, t);
    let fill_and_answer = async |i: usize| {
        let key = Key::new(format!(
            "plex|GET|/library/metadata/{i}|u:{:016x}",
            i * 7919
        ));
        let (headers, body) = (stored.headers, stored.body);
        // Made on the load, as an upstream's answer is: a loader kept for warming holds
        // what it needs to ask again, not the answer.
        let loader = move || {
            let headers = headers.iter().map(|(n, v)| (n.to_string(), v.to_string()));
            let value = CachedValue::owned(200, headers.collect(), &body(i));
            async move { Ok::<_, LoadError>(Fill::Store(value)) }
        };
        let miss = cache.get_or_load(&key, &policy, Arc::new(loader)).await;
        let miss = miss.unwrap();
        assert_eq!(miss.outcome, Outcome::Miss);
        let want = |shared, gzip| Want {
            shared,
            cached: true,
            gzip,
        };
        let first = prepared.answer(&miss.entry, want(false, false));
        let (o, age, ttl) = (Outcome::Miss, 0, 300);
        drop(first.wire_head(StatusCode::OK, o, age, ttl, mark(o, age, ttl)));
        let gzips: &[bool] = if stored.gzip {
            &[false, true]
        } else {
            &[false]
        };
        for &gzip in gzips {
            let again = || async { Err::<Fill, _>(LoadError::new("loaded again")) };
            let hit = cache.get_or_load(&key, &policy, Arc::new(again)).await;
            let hit = hit.unwrap();
            let (o, age, ttl) = (Outcome::Hit(TierKind::Memory), 1, 299);
            assert_eq!(hit.outcome, o);
            let answer = prepared.answer(&hit.entry, want(true, gzip));
            assert_eq!(answer.gzip, gzip, "the gzip copy was not made inline");
            if gzip {
                gzip_copies.set(gzip_copies.get() + answer.body.len() as i64);
            }
            drop(answer.wire_head(StatusCode::OK, o, age, ttl, mark(o, age, ttl)));
            drop(answer.head(mark(o, age, ttl)));
        }
    };
    // One entry first, so what is made once (the class's counters, the maps' first tables) is
    // not counted against the entries.
    fill_and_answer(ENTRIES).await;
    let before = held_by_this_thread();
    gzip_copies.set(0);
    for i in 0..ENTRIES {
        fill_and_answer(i).await;
    }
    cache.run_pending_tasks().await;
    let held = held_by_this_thread() - before - gzip_copies.get();
    let memory = &cache.stats().tiers[0];
    assert_eq!(memory.entries, ENTRIES as u64 + 1);
    let n = ENTRIES as i64;
    (held / n, memory.bytes as i64 / (n + 1))
}

/// What the memory tier keeps for an entry and what the gateway prepares to answer from it
/// (both representations' headers, each kept hit head as bytes on the wire) are
/// counted in the weight `memory_max` limits: measured on one thread against the tier's own
/// sum of weights, for the answers that hold most beside their body (a listing asked for with
/// and without gzip) and two that hold less.
#[tokio::test(flavor = "current_thread")]
async fn an_entry_weighs_what_it_and_its_prepared_answers_hold() {
    let mut measured = Vec::new();
    for (name, stored) in [
        ("Plex listing", PLEX_LISTING),
        ("Jellyfin item", JELLYFIN_ITEM),
        ("Plex thumbnail", PLEX_THUMB),
    ] {
        let (held, weighed) = held_and_weighed(&stored).await;
        eprintln!("{name}: {held} bytes held, {weighed} weighed per entry");
        measured.push((name, held, weighed));
    }
    for (name, held, weighed) in measured {
        assert!(
            held <= weighed,
            "{name}: an entry and its answers hold {held} bytes and weigh {weighed}"
        );
        assert!(
            weighed <= held * 3 / 2,
            "{name}: an entry weighs {weighed} bytes, half again the {held} it holds"
        );
    }
}
