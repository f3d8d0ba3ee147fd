use super::*;
use cachearr_engine::TierKind;

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
fn a_head_is_kept_for_answers_that_repeat_and_not_for_a_miss() {
    let kept = KeptHead::default();
    let made = std::cell::Cell::new(0);
    let make = || {
        made.set(made.get() + 1);
        let mut h = HeaderMap::new();
        h.insert(header::AGE, HeaderValue::from(made.get()));
        h
    };
    kept.get_or_make((Outcome::Miss, 0, 60), make);
    kept.get_or_make((Outcome::Passed, 0, 0), make);
    assert!(kept.0.lock().unwrap().is_none(), "a miss's head was kept");
    let hit = (Outcome::Hit(TierKind::Memory), 1, 59);
    let first = kept.get_or_make(hit, make);
    let second = kept.get_or_make(hit, make);
    assert_eq!(made.get(), 3, "the second hit made its head again");
    assert_eq!(first, second);
    // Another age is another head; waiters of one fill share theirs.
    kept.get_or_make((Outcome::Hit(TierKind::Memory), 2, 58), make);
    let waiter = (Outcome::Coalesced, 0, 60);
    kept.get_or_make(waiter, make);
    kept.get_or_make(waiter, make);
    assert_eq!(made.get(), 5);
    let miss = kept.wire_or_make((Outcome::Miss, 0, 60), StatusCode::OK, make);
    assert_eq!(
        made.get(),
        6,
        "the miss's wire head was made from a head of its own"
    );
    assert_eq!(&miss.bytes[..], &b"HTTP/1.1 200 OK\r\nage: 6\r\n"[..]);
    assert!(!miss.has_date);
    assert_eq!(
        kept.0.lock().unwrap().as_ref().unwrap().state,
        waiter,
        "a miss's was kept"
    );
    // The kept head's wire bytes are written once and agree with the head.
    let wire = kept.wire_or_make(waiter, StatusCode::OK, make);
    assert_eq!(
        made.get(),
        6,
        "the kept head was made again for its wire bytes"
    );
    assert_eq!(&wire.bytes[..], &b"HTTP/1.1 200 OK\r\nage: 5\r\n"[..]);
    let again = kept.wire_or_make(waiter, StatusCode::OK, make);
    assert_eq!(
        again.bytes.as_ptr(),
        wire.bytes.as_ptr(),
        "the wire bytes were written again"
    );
    // Another state: a head and its bytes made anew.
    let later = kept.wire_or_make((Outcome::Coalesced, 1, 59), StatusCode::OK, make);
    assert_eq!(&later.bytes[..], &b"HTTP/1.1 200 OK\r\nage: 7\r\n"[..]);
}
