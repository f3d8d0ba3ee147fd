#![allow(clippy::unwrap_used)]

use http::StatusCode;

use super::*;
use crate::testclock::ManualClock;
use crate::{Heuristic, Options, Role};

use crate::test_headers as map;

fn req(cc: &str) -> RequestDirectives {
    RequestDirectives::parse([cc.as_bytes()])
}

/// A 200 received now (request sent at the same instant) with these headers.
fn stored_at(clock: &ManualClock, pairs: &[(&str, &str)], opts: &Options) -> Stored {
    stored_status(clock, 200, pairs, opts)
}

fn stored_status(
    clock: &ManualClock,
    status: u16,
    pairs: &[(&str, &str)],
    opts: &Options,
) -> Stored {
    let now = clock.now_ms();
    Stored::new(
        StatusCode::from_u16(status).unwrap(),
        &map(pairs),
        now,
        now,
        opts,
    )
}

fn shared() -> Options {
    Options::default()
}

fn private() -> Options {
    Options {
        role: Role::Private,
        ..Options::default()
    }
}

const NONE: &str = "";

#[test]
fn max_age_is_fresh_until_it_runs_out() {
    let c = ManualClock::new();
    let s = stored_at(&c, &[("cache-control", "max-age=60")], &shared());
    assert_eq!(
        (s.lifetime, s.lifetime_source),
        (60, LifetimeSource::MaxAge)
    );
    assert_eq!(s.reuse(&req(NONE), c.now_ms(), &shared()), Reuse::Fresh);
    c.advance_ms(59_999);
    assert!(s.is_fresh(c.now_ms()));
    assert_eq!(s.ttl_secs(c.now_ms()), 0);
    c.advance_ms(1);
    assert!(!s.is_fresh(c.now_ms()));
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::Validate(Why::Stale)
    );
    c.advance_secs(10);
    assert_eq!(s.ttl_secs(c.now_ms()), -10);
    assert_eq!(s.age_secs(c.now_ms()), 70);
}

#[test]
fn max_age_zero_and_negative_are_stale_at_once() {
    let c = ManualClock::new();
    for cc in ["max-age=0", "max-age=-1", "max-age=0, max-age=3600"] {
        let s = stored_at(&c, &[("cache-control", cc)], &shared());
        assert_eq!(
            s.reuse(&req(NONE), c.now_ms(), &shared()),
            Reuse::Validate(Why::Stale),
            "{cc}"
        );
    }
}

#[test]
fn the_largest_max_age_stays_fresh_without_overflow() {
    let c = ManualClock::new();
    for v in ["2147483647", "2147483648", "2147483649", "99999999999"] {
        let s = stored_at(
            &c,
            &[
                ("cache-control", &format!("max-age={v}")),
                ("age", "99999999999"),
            ],
            &shared(),
        );
        // Age saturates to 2^31 as well: max-age=2^31 is then exactly used up.
        assert!(!s.is_fresh(c.now_ms()), "{v}");
        let s = stored_at(&c, &[("cache-control", &format!("max-age={v}"))], &shared());
        assert!(s.is_fresh(c.now_ms()), "{v}");
        c.advance_secs(365 * 24 * 3600);
        assert!(s.is_fresh(c.now_ms()), "{v}");
        assert!(s.fresh_until_ms() > c.now_ms());
    }
}

#[test]
fn age_counts_against_max_age() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=3600"), ("age", "7200")],
        &shared(),
    );
    assert!(!s.is_fresh(c.now_ms()));
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=60"), ("age", "50")],
        &shared(),
    );
    assert_eq!(s.age_secs(c.now_ms()), 50);
    c.advance_secs(9);
    assert!(s.is_fresh(c.now_ms()));
    c.advance_secs(1);
    assert!(!s.is_fresh(c.now_ms()));
}

#[test]
fn an_unreadable_age_is_stale() {
    let c = ManualClock::new();
    for age in ["abc", "-1", "1.5", "0, 0", "0;a=b"] {
        let s = stored_at(
            &c,
            &[("cache-control", "max-age=3600"), ("age", age)],
            &shared(),
        );
        assert!(!s.is_fresh(c.now_ms()), "{age}");
    }
}

#[test]
fn the_apparent_age_from_date_counts() {
    let c = ManualClock::new();
    let date = c.http_date(-30);
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=60"), ("date", &date)],
        &shared(),
    );
    assert_eq!(s.age_secs(c.now_ms()), 30);
    c.advance_secs(30);
    assert!(!s.is_fresh(c.now_ms()));
    // A Date in the future is no negative age.
    let date = c.http_date(3600);
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=60"), ("date", &date)],
        &shared(),
    );
    assert_eq!(s.age_secs(c.now_ms()), 0);
}

#[test]
fn the_time_the_request_took_is_added_to_age() {
    let c = ManualClock::new();
    let sent = c.now_ms();
    c.advance_secs(5);
    let s = Stored::new(
        StatusCode::OK,
        &map(&[("cache-control", "max-age=60"), ("age", "10")]),
        sent,
        c.now_ms(),
        &shared(),
    );
    assert_eq!(s.initial_age_ms, 15_000);
    assert_eq!(s.ttl_secs(c.now_ms()), 45);
}

#[test]
fn s_maxage_rules_a_shared_cache_only() {
    let c = ManualClock::new();
    for cc in ["max-age=3600, s-maxage=1", "s-maxage=1, max-age=3600"] {
        let s = stored_at(&c, &[("cache-control", cc)], &shared());
        assert_eq!(
            (s.lifetime, s.lifetime_source),
            (1, LifetimeSource::SMaxAge),
            "{cc}"
        );
        let p = stored_at(&c, &[("cache-control", cc)], &private());
        assert_eq!(
            (p.lifetime, p.lifetime_source),
            (3600, LifetimeSource::MaxAge),
            "{cc}"
        );
    }
    let s = stored_at(
        &c,
        &[
            ("cache-control", "max-age=1"),
            ("cache-control", "s-maxage=3600"),
        ],
        &shared(),
    );
    assert_eq!(s.lifetime, 3600);
    let s = stored_at(
        &c,
        &[
            ("cache-control", "s-maxage=3600"),
            ("expires", &c.http_date(-10)),
        ],
        &shared(),
    );
    assert!(s.is_fresh(c.now_ms()));
}

#[test]
fn expires_minus_date() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[("expires", &c.http_date(100)), ("date", &c.http_date(0))],
        &shared(),
    );
    assert_eq!(
        (s.lifetime, s.lifetime_source),
        (100, LifetimeSource::Expires)
    );
    // Without Date, the time it was received stands for it.
    let s = stored_at(&c, &[("expires", &c.http_date(100))], &shared());
    assert_eq!(s.lifetime, 100);
    let s = stored_at(&c, &[("expires", &c.http_date(-100))], &shared());
    assert_eq!(s.lifetime, 0);
    for bad in ["0", "tomorrow", "Sun, 06 Nov 2094 08:49:37 AEST"] {
        let s = stored_at(&c, &[("expires", bad)], &shared());
        assert_eq!(
            (s.lifetime, s.lifetime_source),
            (0, LifetimeSource::Expires),
            "{bad}"
        );
    }
    let e = c.http_date(100);
    let s = stored_at(&c, &[("expires", &e), ("expires", &e)], &shared());
    assert_eq!(s.lifetime, 0);
}

#[test]
fn max_age_beats_expires() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[
            ("cache-control", "max-age=60"),
            ("expires", &c.http_date(-100)),
        ],
        &shared(),
    );
    assert_eq!(s.lifetime, 60);
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=60"), ("expires", "0")],
        &shared(),
    );
    assert_eq!(s.lifetime, 60);
    let s = stored_at(
        &c,
        &[
            ("cache-control", "max-age=0"),
            ("expires", &c.http_date(100)),
        ],
        &shared(),
    );
    assert_eq!(s.lifetime, 0);
}

#[test]
fn heuristic_freshness_is_a_tenth_of_the_time_since_last_modified() {
    let c = ManualClock::new();
    let lm = c.http_date(-1000);
    let s = stored_at(&c, &[("last-modified", &lm)], &shared());
    assert_eq!(
        (s.lifetime, s.lifetime_source),
        (100, LifetimeSource::Heuristic)
    );
    let old = c.http_date(-100 * 24 * 3600);
    let s = stored_at(&c, &[("last-modified", &old)], &shared());
    assert_eq!(s.lifetime, 24 * 3600, "capped");
    let opts = Options {
        heuristic: Heuristic {
            percent: 0,
            max_secs: 0,
        },
        ..shared()
    };
    assert_eq!(stored_at(&c, &[("last-modified", &lm)], &opts).lifetime, 0);
    // Without Last-Modified there is nothing to guess from.
    assert_eq!(
        stored_at(&c, &[], &shared()).lifetime_source,
        LifetimeSource::None
    );
    // A Last-Modified after Date is no basis either.
    let s = stored_at(&c, &[("last-modified", &c.http_date(50))], &shared());
    assert_eq!(s.lifetime, 0);
}

#[test]
fn heuristics_only_for_the_statuses_that_allow_them() {
    let c = ManualClock::new();
    let lm = c.http_date(-1000);
    for s in [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501] {
        assert_eq!(
            stored_status(&c, s, &[("last-modified", &lm)], &shared()).lifetime,
            100,
            "{s}"
        );
    }
    for s in [201, 202, 302, 303, 307, 403, 500, 502, 503] {
        assert_eq!(
            stored_status(&c, s, &[("last-modified", &lm)], &shared()).lifetime,
            0,
            "{s}"
        );
        let public = [("last-modified", lm.as_str()), ("cache-control", "public")];
        assert_eq!(
            stored_status(&c, s, &public, &shared()).lifetime,
            100,
            "{s} public"
        );
    }
}

#[test]
fn the_operators_lifetime_stands_in_for_a_missing_one() {
    let c = ManualClock::new();
    let opts = Options {
        fallback_lifetime: Some(30),
        ..shared()
    };
    let s = stored_at(&c, &[("last-modified", &c.http_date(-1_000_000))], &opts);
    assert_eq!(
        (s.lifetime, s.lifetime_source),
        (30, LifetimeSource::Operator)
    );
    // Never over an explicit one, nor for a status without heuristics.
    let s = stored_at(&c, &[("cache-control", "max-age=5")], &opts);
    assert_eq!(s.lifetime, 5);
    let s = stored_at(&c, &[("cache-control", "max-age=0")], &opts);
    assert_eq!(s.lifetime, 0);
    assert_eq!(stored_status(&c, 500, &[], &opts).lifetime, 0);
}

#[test]
fn response_no_cache_validates_even_when_fresh() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=3600, no-cache")],
        &shared(),
    );
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::Validate(Why::NoCache)
    );
    assert!(!s.usable_on_error(&req(NONE), c.now_ms(), &shared()));
    let q = stored_at(
        &c,
        &[("cache-control", "max-age=3600, no-cache=\"set-cookie\"")],
        &shared(),
    );
    assert_eq!(q.reuse(&req(NONE), c.now_ms(), &shared()), Reuse::Fresh);
    assert_eq!(q.unvalidated_omits(), [http::header::SET_COOKIE]);
    assert!(s.unvalidated_omits().is_empty());
}

#[test]
fn request_no_cache_and_max_age_validate() {
    let c = ManualClock::new();
    let s = stored_at(&c, &[("cache-control", "max-age=3600")], &shared());
    assert_eq!(
        s.reuse(&req("no-cache"), c.now_ms(), &shared()),
        Reuse::Validate(Why::RequestNoCache)
    );
    assert_eq!(
        s.reuse(&req("max-age=0"), c.now_ms(), &shared()),
        Reuse::Validate(Why::RequestMaxAge)
    );
    c.advance_secs(10);
    assert_eq!(
        s.reuse(&req("max-age=10"), c.now_ms(), &shared()),
        Reuse::Fresh
    );
    c.advance_ms(1);
    assert_eq!(
        s.reuse(&req("max-age=10"), c.now_ms(), &shared()),
        Reuse::Validate(Why::RequestMaxAge)
    );
    assert_eq!(
        s.reuse(&req("max-age=3600"), c.now_ms(), &shared()),
        Reuse::Fresh
    );
}

#[test]
fn min_fresh_asks_for_freshness_left() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=60, stale-while-revalidate=600")],
        &shared(),
    );
    c.advance_secs(30);
    assert_eq!(
        s.reuse(&req("min-fresh=30"), c.now_ms(), &shared()),
        Reuse::Fresh
    );
    assert_eq!(
        s.reuse(&req("min-fresh=31"), c.now_ms(), &shared()),
        Reuse::Validate(Why::RequestMinFresh)
    );
    c.advance_secs(40);
    // Stale within stale-while-revalidate, but the client wants freshness.
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::StaleWhileRevalidate
    );
    assert_eq!(
        s.reuse(&req("min-fresh=1"), c.now_ms(), &shared()),
        Reuse::Validate(Why::RequestMinFresh)
    );
}

#[test]
fn max_stale_accepts_staleness() {
    let c = ManualClock::new();
    let s = stored_at(&c, &[("cache-control", "max-age=10")], &shared());
    c.advance_secs(40);
    assert_eq!(
        s.reuse(&req("max-stale=30"), c.now_ms(), &shared()),
        Reuse::StaleAccepted
    );
    assert_eq!(
        s.reuse(&req("max-stale=29"), c.now_ms(), &shared()),
        Reuse::Validate(Why::Stale)
    );
    assert_eq!(
        s.reuse(&req("max-stale"), c.now_ms(), &shared()),
        Reuse::StaleAccepted
    );
    // The request's max-age still bounds the age.
    assert_eq!(
        s.reuse(&req("max-stale, max-age=20"), c.now_ms(), &shared()),
        Reuse::Validate(Why::RequestMaxAge)
    );
}

#[test]
fn must_revalidate_forbids_every_stale_use() {
    let c = ManualClock::new();
    let opts = Options {
        stale_while_revalidate: 600,
        stale_if_error: 600,
        ..shared()
    };
    let cc = [(
        "cache-control",
        "max-age=10, must-revalidate, stale-while-revalidate=60, stale-if-error=60",
    )];
    let s = stored_at(&c, &cc, &opts);
    assert_eq!(s.reuse(&req(NONE), c.now_ms(), &opts), Reuse::Fresh);
    c.advance_secs(11);
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &opts),
        Reuse::Validate(Why::Stale)
    );
    assert_eq!(
        s.reuse(&req("max-stale"), c.now_ms(), &opts),
        Reuse::Validate(Why::Stale)
    );
    assert!(!s.usable_on_error(&req("max-stale, stale-if-error=999"), c.now_ms(), &opts));
    assert_eq!(s.usable_until_ms(&opts), s.fresh_until_ms());
}

#[test]
fn proxy_revalidate_and_s_maxage_bind_shared_caches_only() {
    let c = ManualClock::new();
    for cc in ["max-age=10, proxy-revalidate", "max-age=10, s-maxage=10"] {
        let s = stored_at(&c, &[("cache-control", cc)], &shared());
        let p = stored_at(&c, &[("cache-control", cc)], &private());
        let later = c.now_ms() + 11_000;
        assert_eq!(
            s.reuse(&req("max-stale"), later, &shared()),
            Reuse::Validate(Why::Stale),
            "{cc}"
        );
        assert_eq!(
            p.reuse(&req("max-stale"), later, &private()),
            Reuse::StaleAccepted,
            "{cc}"
        );
    }
}

#[test]
fn stale_while_revalidate_window() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=10, stale-while-revalidate=20")],
        &shared(),
    );
    c.advance_secs(30);
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::StaleWhileRevalidate
    );
    c.advance_ms(1);
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::Validate(Why::Stale)
    );
    let wider = Options {
        stale_while_revalidate: 60,
        ..shared()
    };
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &wider),
        Reuse::StaleWhileRevalidate
    );
    assert_eq!(s.usable_until_ms(&wider), s.fresh_until_ms() + 60_000);
}

#[test]
fn stale_if_error_from_the_response_the_request_or_the_operator() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[("cache-control", "max-age=10, stale-if-error=20")],
        &shared(),
    );
    assert!(
        s.usable_on_error(&req(NONE), c.now_ms(), &shared()),
        "fresh"
    );
    c.advance_secs(30);
    assert!(s.usable_on_error(&req(NONE), c.now_ms(), &shared()));
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::Validate(Why::Stale)
    );
    c.advance_secs(1);
    assert!(!s.usable_on_error(&req(NONE), c.now_ms(), &shared()));
    assert!(s.usable_on_error(&req("stale-if-error=21"), c.now_ms(), &shared()));
    assert!(s.usable_on_error(&req("max-stale=21"), c.now_ms(), &shared()));
    let opts = Options {
        stale_if_error: 3600,
        ..shared()
    };
    assert!(s.usable_on_error(&req(NONE), c.now_ms(), &opts));
    let plain = stored_at(&c, &[("cache-control", "max-age=10")], &shared());
    c.advance_secs(11);
    assert!(!plain.usable_on_error(&req(NONE), c.now_ms(), &shared()));
}

#[test]
fn immutable_is_fresh_whatever_the_reload() {
    let c = ManualClock::new();
    let s = stored_at(&c, &[("cache-control", "max-age=60, immutable")], &shared());
    for r in ["no-cache", "max-age=0"] {
        assert_eq!(s.reuse(&req(r), c.now_ms(), &shared()), Reuse::Fresh, "{r}");
    }
    c.advance_secs(60);
    assert_eq!(
        s.reuse(&req(NONE), c.now_ms(), &shared()),
        Reuse::Validate(Why::Stale)
    );
}

#[test]
fn a_targeted_field_sets_the_lifetime_and_ignores_expires() {
    let c = ManualClock::new();
    let s = stored_at(
        &c,
        &[
            ("cache-control", "max-age=1"),
            ("expires", &c.http_date(3600)),
            ("cdn-cache-control", "max-age=600"),
        ],
        &shared(),
    );
    assert_eq!(s.lifetime, 600);
    let s = stored_at(
        &c,
        &[
            ("expires", &c.http_date(3600)),
            ("cdn-cache-control", "public"),
        ],
        &shared(),
    );
    assert_eq!(s.lifetime_source, LifetimeSource::None);
}

#[test]
fn validators_are_noted() {
    let c = ManualClock::new();
    assert!(stored_at(&c, &[("etag", "\"a\"")], &shared()).has_validator);
    assert!(stored_at(&c, &[("last-modified", &c.http_date(-5))], &shared()).has_validator);
    assert!(!stored_at(&c, &[], &shared()).has_validator);
    assert!(
        Reuse::Fresh.answers()
            && Reuse::StaleAccepted.answers()
            && Reuse::StaleWhileRevalidate.answers()
    );
    assert!(!Reuse::Validate(Why::Stale).answers());
}

#[test]
fn authorized_requests_need_the_responses_permission_in_a_shared_cache() {
    let c = ManualClock::new();
    let plain = stored_at(&c, &[("cache-control", "max-age=60")], &shared());
    assert!(!plain.answers_authorized());
    for cc in [
        "max-age=60, public",
        "s-maxage=60",
        "max-age=60, must-revalidate",
    ] {
        assert!(
            stored_at(&c, &[("cache-control", cc)], &shared()).answers_authorized(),
            "{cc}"
        );
    }
    assert!(stored_at(&c, &[("cache-control", "max-age=60")], &private()).answers_authorized());
}

/// Found by the `cache_control` fuzz target: `s-maxage` (which forbids stale answers in a
/// shared cache) made a fresh response unusable when the validation a request asked for failed.
#[test]
fn a_fresh_response_that_forbids_stale_still_answers_when_validation_fails() {
    let c = ManualClock::new();
    for cc in [
        "max-age=60, s-maxage=120",
        "max-age=60, must-revalidate",
        "max-age=60, proxy-revalidate",
    ] {
        let s = stored_at(&c, &[("cache-control", cc)], &shared());
        assert_eq!(
            s.reuse(&req("no-cache"), c.now_ms(), &shared()),
            Reuse::Validate(Why::RequestNoCache)
        );
        assert!(
            s.usable_on_error(&req("no-cache"), c.now_ms(), &shared()),
            "{cc}"
        );
        let later = c.now_ms() + 121_000;
        assert!(
            !s.usable_on_error(&req("max-stale"), later, &shared()),
            "{cc}"
        );
    }
}
