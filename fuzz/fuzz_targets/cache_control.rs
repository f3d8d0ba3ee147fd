//! Caching headers as an origin or a client may send them, read by `cachearr-httpcache`:
//! `Cache-Control` of responses and requests, a targeted `CDN-Cache-Control`, `Vary`, `Age`,
//! `Date`, `Expires` and `Last-Modified`. Any bytes give directives, a lifetime and a reuse
//! decision, never a panic or an overflow; the reading is deterministic; every delta-seconds
//! value stays within 2^31; a response that forbids serving stale is never served stale; a
//! `Vary` that never matches gives no key, and one that keys names at most the bound of fields;
//! and a `Cache-Status` built from the input's text is a valid field value.
//!
//! Input layout: byte 0 picks the cache's role (bit 0) and whether `CDN-Cache-Control` is
//! obeyed (bit 1); the rest is split at `0x00` into sections — response `Cache-Control`,
//! request `Cache-Control`, `CDN-Cache-Control`, `Vary`, `Age`, `Date`, `Expires`,
//! `Last-Modified` — each split at `\n` into field lines (lines a header value cannot hold are
//! skipped).
// libFuzzer's driver is the program's `main`; without it (the workspace's own builds) the
// target is a program that does nothing.
#![cfg_attr(feature = "libfuzzer", no_main)]
#[cfg(not(feature = "libfuzzer"))]
fn main() {}

use cachearr_httpcache::directives::{MaxStale, RequestDirectives, ResponseDirectives};
use cachearr_httpcache::freshness::{Reuse, Stored};
use cachearr_httpcache::vary::{MAX_FIELDS, Vary};
use cachearr_httpcache::{CacheStatus, DELTA_MAX, Options, Role};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use libfuzzer_sys::fuzz_target;

const NAMES: [HeaderName; 8] = [
    header::CACHE_CONTROL,
    header::CACHE_CONTROL, // the request's
    header::CDN_CACHE_CONTROL,
    header::VARY,
    header::AGE,
    header::DATE,
    header::EXPIRES,
    header::LAST_MODIFIED,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let opts = Options {
        role: if selector & 1 == 0 {
            Role::Shared
        } else {
            Role::Private
        },
        targeted: if selector & 2 == 0 {
            vec![]
        } else {
            vec![header::CDN_CACHE_CONTROL]
        },
        stale_while_revalidate: u32::from(selector >> 4),
        stale_if_error: u32::from(selector >> 4) * 2,
        ..Options::default()
    };
    let mut response = HeaderMap::new();
    let mut request = HeaderMap::new();
    for (i, section) in rest.split(|&b| b == 0).take(NAMES.len()).enumerate() {
        for line in section.split(|&b| b == b'\n') {
            let Ok(v) = HeaderValue::from_bytes(line) else {
                continue;
            };
            if i == 1 {
                request.append(NAMES[i].clone(), v);
            } else {
                response.append(NAMES[i].clone(), v);
            }
        }
    }

    let d = ResponseDirectives::from_headers(&response, &opts.targeted);
    assert_eq!(
        d,
        ResponseDirectives::from_headers(&response, &opts.targeted)
    );
    for v in [
        d.max_age,
        d.s_maxage,
        d.stale_while_revalidate,
        d.stale_if_error,
    ] {
        assert!(v.is_none_or(|n| n <= DELTA_MAX));
    }
    let r = RequestDirectives::from_headers(&request);
    assert_eq!(r, RequestDirectives::from_headers(&request));
    for v in [r.max_age, r.min_fresh, r.stale_if_error] {
        assert!(v.is_none_or(|n| n <= DELTA_MAX));
    }
    if let Some(MaxStale::Secs(n)) = r.max_stale {
        assert!(n <= DELTA_MAX);
    }

    // Times from the input too: the request sent, the response received, two later instants.
    let base = 1_767_225_600_000u64;
    let step = |k: usize| u64::from(rest.get(k).copied().unwrap_or(0)) * 997;
    let sent = base;
    let received = sent + step(1);
    let now = received + step(2) * 1000;
    let later = now + step(3) * 1000;
    let stored = Stored::new(StatusCode::OK, &response, sent, received, &opts);
    assert!(stored.lifetime <= DELTA_MAX);
    assert!(stored.current_age_ms(later) >= stored.current_age_ms(now));
    let _ = (
        stored.ttl_secs(now),
        stored.fresh_until_ms(),
        stored.usable_until_ms(&opts),
    );
    let reuse = stored.reuse(&r, now, &opts);
    if reuse == Reuse::Fresh {
        assert!(stored.is_fresh(now));
    }
    if stored.forbids_stale() {
        assert!(!matches!(
            reuse,
            Reuse::StaleAccepted | Reuse::StaleWhileRevalidate
        ));
        let unvalidated = d.no_cache != cachearr_httpcache::directives::FieldList::All;
        assert_eq!(
            stored.usable_on_error(&r, now, &opts),
            stored.is_fresh(now) && unvalidated
        );
    }

    match Vary::from_headers(&response) {
        v @ (Vary::Star | Vary::TooMany) => assert!(v.key(&request).is_none()),
        v @ Vary::Fields(_) => {
            let Vary::Fields(f) = &v else { unreachable!() };
            assert!(f.len() <= MAX_FIELDS);
            assert_eq!(v.key(&request), v.key(&request));
        }
        Vary::None => assert!(Vary::None.key(&request).is_some_and(|k| k.is_empty())),
    }

    let text = String::from_utf8_lossy(rest);
    let status = CacheStatus::hit(&text)
        .key(&text)
        .detail(&text)
        .ttl(stored.ttl_secs(now));
    assert!(HeaderValue::from_str(&status.to_value()).is_ok());
});
