#![allow(clippy::unwrap_used)]

use http::{HeaderName, HeaderValue};

use super::*;

fn resp(lines: &[&str]) -> ResponseDirectives {
    ResponseDirectives::parse(lines.iter().map(|l| l.as_bytes()))
}

fn req(lines: &[&str]) -> RequestDirectives {
    RequestDirectives::parse(lines.iter().map(|l| l.as_bytes()))
}

use crate::test_headers as map;

#[test]
fn every_response_directive_is_read() {
    let d = resp(&[
        "max-age=60, s-maxage=120, no-store, no-cache, private, public, must-revalidate",
        "proxy-revalidate, must-understand, no-transform, immutable",
        "stale-while-revalidate=30, stale-if-error=600",
    ]);
    assert_eq!(d.max_age, Some(60));
    assert_eq!(d.s_maxage, Some(120));
    assert!(d.no_store && d.public && d.must_revalidate && d.proxy_revalidate);
    assert!(d.must_understand && d.no_transform && d.immutable);
    assert_eq!(d.no_cache, FieldList::All);
    assert_eq!(d.private, FieldList::All);
    assert_eq!(d.stale_while_revalidate, Some(30));
    assert_eq!(d.stale_if_error, Some(600));
    assert_eq!(d.source, Source::CacheControl);
    assert_eq!(resp(&[]), ResponseDirectives::default());
}

#[test]
fn every_request_directive_is_read() {
    let d = req(&[
        "max-age=5, max-stale=10, min-fresh=3, no-cache, no-store, no-transform",
        "only-if-cached, stale-if-error=20",
    ]);
    assert_eq!(d.max_age, Some(5));
    assert_eq!(d.max_stale, Some(MaxStale::Secs(10)));
    assert_eq!(d.min_fresh, Some(3));
    assert!(d.no_cache && d.no_store && d.no_transform && d.only_if_cached);
    assert_eq!(d.stale_if_error, Some(20));
    assert_eq!(req(&["max-stale"]).max_stale, Some(MaxStale::Any));
    assert_eq!(req(&["max-stale=abc"]).max_stale, None);
}

#[test]
fn names_are_case_insensitive() {
    let d = resp(&["MaX-AgE=10, nO-StOrE, No-CaChE"]);
    assert_eq!(d.max_age, Some(10));
    assert!(d.no_store);
    assert_eq!(d.no_cache, FieldList::All);
    assert!(req(&["ONLY-IF-CACHED"]).only_if_cached);
}

#[test]
fn huge_numbers_saturate_to_two_to_the_31() {
    for v in [
        "2147483648",
        "2147483649",
        "99999999999",
        "9".repeat(5000).as_str(),
    ] {
        assert_eq!(
            resp(&[&format!("max-age={v}")]).max_age,
            Some(DELTA_MAX),
            "{v}"
        );
    }
    assert_eq!(resp(&["max-age=2147483647"]).max_age, Some(2_147_483_647));
    assert_eq!(
        req(&["min-fresh=99999999999999"]).min_fresh,
        Some(DELTA_MAX)
    );
    assert_eq!(resp(&["max-age=003600"]).max_age, Some(3600));
}

#[test]
fn invalid_freshness_makes_the_response_stale() {
    for v in [
        "max-age='3600'",
        "max-age=-1",
        "max-age=3600.0",
        "max-age=a100",
        "max-age=100a",
        "max-age=",
        "max-age",
        "max-age =3600",
        "max-age= 3600",
        "max-age=\"36",
    ] {
        assert_eq!(resp(&[v]).max_age, Some(0), "{v}");
    }
    assert_eq!(resp(&["s-maxage=x"]).s_maxage, Some(0));
}

#[test]
fn quoted_delta_seconds_are_read() {
    assert_eq!(resp(&["max-age=\"3600\""]).max_age, Some(3600));
}

#[test]
fn contradictory_duplicates_make_the_response_stale() {
    assert_eq!(resp(&["max-age=60, max-age=60"]).max_age, Some(60));
    assert_eq!(resp(&["max-age=60", "max-age=60"]).max_age, Some(60));
    assert_eq!(resp(&["max-age=1, max-age=3600"]).max_age, Some(0));
    assert_eq!(resp(&["max-age=3600", "max-age=1"]).max_age, Some(0));
    assert_eq!(resp(&["max-age=3600, max-age=abc"]).max_age, Some(0));
    assert_eq!(resp(&["s-maxage=1, s-maxage=2"]).s_maxage, Some(0));
}

#[test]
fn repeated_windows_keep_the_smaller() {
    let d = resp(&["stale-while-revalidate=60, stale-while-revalidate=10"]);
    assert_eq!(d.stale_while_revalidate, Some(10));
    let d = resp(&["stale-if-error=5", "stale-if-error=50, stale-if-error=x"]);
    assert_eq!(d.stale_if_error, Some(5));
    assert_eq!(
        resp(&["stale-while-revalidate=x"]).stale_while_revalidate,
        None
    );
    assert_eq!(req(&["max-age=10, max-age=5"]).max_age, Some(5));
    assert_eq!(req(&["min-fresh=1, min-fresh=9"]).min_fresh, Some(9));
    assert_eq!(
        req(&["max-stale, max-stale=4"]).max_stale,
        Some(MaxStale::Secs(4))
    );
}

#[test]
fn directives_inside_quoted_strings_are_not_directives() {
    let d = resp(&["foo=\"max-age=3600\", max-age=0"]);
    assert_eq!(d.max_age, Some(0));
    let d = resp(&["max-age=0, foo=\"max-age=3600, no-store\""]);
    assert_eq!(d.max_age, Some(0));
    assert!(!d.no_store);
    let d = resp(&["foo=\"a\\\", max-age=3600\""]);
    assert_eq!(d.max_age, None);
}

#[test]
fn junk_members_are_skipped() {
    let d = resp(&[",,, ;;; \"quoted junk\" ,=5, max-age=10 , , no-store,"]);
    assert_eq!(d.max_age, Some(10));
    assert!(d.no_store);
    let d = resp(&["public extra words, must-revalidate"]);
    assert!(d.public);
    assert!(d.must_revalidate);
    let d = resp(&["unknown-extension=\"x\", max-age=7"]);
    assert_eq!(d.max_age, Some(7));
}

#[test]
fn qualified_no_cache_and_private_keep_their_fields() {
    let d = resp(&["no-cache=\"Set-Cookie, X-Foo\"", "no-cache=\"x-bar\""]);
    let FieldList::Fields(f) = &d.no_cache else {
        panic!("{:?}", d.no_cache)
    };
    let names: Vec<_> = f.iter().map(HeaderName::as_str).collect();
    assert_eq!(names, ["set-cookie", "x-foo", "x-bar"]);
    let d = resp(&["private=\"x-user\", private"]);
    assert_eq!(d.private, FieldList::All);
    let d = resp(&["no-cache", "no-cache=\"a\""]);
    assert_eq!(d.no_cache, FieldList::All);
    assert!(resp(&["private=\"\""]).private.is_present());
}

#[test]
fn non_text_bytes_do_not_stop_the_reading() {
    let v = HeaderValue::from_bytes(b"\xffjunk\xfe, max-age=9").unwrap();
    let d = ResponseDirectives::parse([v.as_bytes()]);
    assert_eq!(d.max_age, Some(9));
}

#[test]
fn pragma_no_cache_counts_only_without_cache_control() {
    assert!(RequestDirectives::from_headers(&map(&[("pragma", "no-cache")])).no_cache);
    let both = map(&[("pragma", "no-cache"), ("cache-control", "max-age=5")]);
    assert!(!RequestDirectives::from_headers(&both).no_cache);
}

#[test]
fn a_targeted_field_replaces_cache_control() {
    let targeted = [http::header::CDN_CACHE_CONTROL];
    let h = map(&[
        ("cache-control", "no-store"),
        (
            "cdn-cache-control",
            "max-age=600, stale-while-revalidate=30",
        ),
    ]);
    let d = ResponseDirectives::from_headers(&h, &targeted);
    assert_eq!(d.max_age, Some(600));
    assert!(!d.no_store);
    assert_eq!(d.stale_while_revalidate, Some(30));
    assert_eq!(d.source, Source::Targeted(http::header::CDN_CACHE_CONTROL));
    // Not obeyed unless listed.
    assert!(ResponseDirectives::from_headers(&h, &[]).no_store);
}

#[test]
fn the_first_listed_targeted_field_wins() {
    let mine = HeaderName::from_static("cachearr-cache-control");
    let h = map(&[
        ("cdn-cache-control", "max-age=600"),
        ("cachearr-cache-control", "max-age=5"),
    ]);
    let d = ResponseDirectives::from_headers(&h, &[mine.clone(), http::header::CDN_CACHE_CONTROL]);
    assert_eq!(d.max_age, Some(5));
    assert_eq!(d.source, Source::Targeted(mine));
}

#[test]
fn an_invalid_or_empty_targeted_field_is_ignored() {
    let targeted = [http::header::CDN_CACHE_CONTROL];
    for bad in [
        "",
        "   ",
        "Max-Age=5",
        "max-age=5,",
        "max-age=\"5",
        "max-age=5 junk",
        "max-age=1234567890123456",
    ] {
        let h = map(&[("cache-control", "max-age=9"), ("cdn-cache-control", bad)]);
        let d = ResponseDirectives::from_headers(&h, &targeted);
        assert_eq!(d.max_age, Some(9), "{bad:?}");
        assert_eq!(d.source, Source::CacheControl, "{bad:?}");
    }
}

#[test]
fn targeted_values_are_structured_fields() {
    let t = |s: &str| ResponseDirectives::parse_targeted([s.as_bytes()]).unwrap();
    assert_eq!(t("max-age=-5").max_age, Some(0));
    assert_eq!(t("max-age=5.0").max_age, Some(0));
    assert_eq!(t("max-age=\"5\"").max_age, Some(0));
    assert_eq!(t("max-age=99999999999").max_age, Some(DELTA_MAX));
    assert!(t("no-store").no_store);
    assert!(!t("no-store=?0").no_store);
    assert!(t("no-store=?1;a=b").no_store);
    assert_eq!(t("private").private, FieldList::All);
    assert!(t("no-cache=\"set-cookie\"").no_cache.is_present());
    assert_eq!(t("max-age=1, max-age=7").max_age, Some(7));
    let d = t("foo=(a b \"c\");x, bar=:AAA=:, baz=tok/en, max-age=3");
    assert_eq!(d.max_age, Some(3));
    assert!(
        ResponseDirectives::parse_targeted(["max-age=1".as_bytes(), b"no-store"])
            .unwrap()
            .no_store
    );
}
