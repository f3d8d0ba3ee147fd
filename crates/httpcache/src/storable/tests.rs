#![allow(clippy::unwrap_used)]

use http::{HeaderName, Method, StatusCode};

use super::*;
use crate::{Options, Role};

use crate::test_headers as map;

/// Checks a GET (unless `method` says otherwise) answered with `status` and `resp`.
fn check_with(
    method: &Method,
    req: &[(&str, &str)],
    status: u16,
    resp: &[(&str, &str)],
    role: Role,
) -> Result<(), NotStorable> {
    let opts = Options {
        role,
        ..Options::default()
    };
    let request = map(req);
    let response = map(resp);
    let rd = RequestDirectives::from_headers(&request);
    let d = ResponseDirectives::from_headers(&response, &opts.targeted);
    check(
        &Exchange {
            method,
            request: &request,
            request_directives: &rd,
            status: StatusCode::from_u16(status).unwrap(),
            response: &response,
            directives: &d,
        },
        &opts,
    )
}

fn shared(req: &[(&str, &str)], status: u16, resp: &[(&str, &str)]) -> Result<(), NotStorable> {
    check_with(&Method::GET, req, status, resp, Role::Shared)
}

#[test]
fn a_fresh_get_is_stored() {
    assert_eq!(shared(&[], 200, &[("cache-control", "max-age=60")]), Ok(()));
}

#[test]
fn only_gets_are_stored() {
    for m in [Method::HEAD, Method::POST, Method::PUT] {
        let r = check_with(
            &m,
            &[],
            200,
            &[("cache-control", "max-age=60")],
            Role::Shared,
        );
        assert_eq!(r, Err(NotStorable::Method), "{m}");
    }
}

#[test]
fn partial_not_modified_and_informational_are_not_stored() {
    for s in [100, 101, 206, 304] {
        assert_eq!(
            shared(&[], s, &[("cache-control", "max-age=60")]),
            Err(NotStorable::Status),
            "{s}"
        );
    }
}

#[test]
fn no_store_in_either_message() {
    assert_eq!(
        shared(&[], 200, &[("cache-control", "max-age=60, no-store")]),
        Err(NotStorable::NoStore)
    );
    assert_eq!(
        shared(
            &[("cache-control", "no-store")],
            200,
            &[("cache-control", "max-age=60")]
        ),
        Err(NotStorable::RequestNoStore)
    );
}

#[test]
fn must_understand_needs_an_understood_status_and_overrides_no_store() {
    let cc = [("cache-control", "max-age=60, must-understand, no-store")];
    assert_eq!(shared(&[], 200, &cc), Ok(()));
    assert_eq!(shared(&[], 599, &cc), Err(NotStorable::MustUnderstand));
    assert_eq!(
        shared(
            &[],
            299,
            &[("cache-control", "max-age=60, must-understand")]
        ),
        Err(NotStorable::MustUnderstand)
    );
    // Unknown statuses with an explicit lifetime are stored when nothing demands understanding.
    assert_eq!(shared(&[], 599, &[("cache-control", "max-age=60")]), Ok(()));
}

#[test]
fn private_is_for_one_users_cache() {
    let cc = [("cache-control", "private, max-age=60")];
    assert_eq!(shared(&[], 200, &cc), Err(NotStorable::Private));
    assert_eq!(
        shared(
            &[],
            200,
            &[("cache-control", "private=\"x-user\", max-age=60")]
        ),
        Err(NotStorable::Private)
    );
    assert_eq!(
        check_with(&Method::GET, &[], 200, &cc, Role::Private),
        Ok(())
    );
    // `private` alone gives a private cache leave to store a status without heuristics.
    assert_eq!(
        check_with(
            &Method::GET,
            &[],
            201,
            &[("cache-control", "private")],
            Role::Private
        ),
        Ok(())
    );
}

#[test]
fn authorization_needs_the_responses_permission_in_a_shared_cache() {
    let auth = [("authorization", "Bearer abc")];
    assert_eq!(
        shared(&auth, 200, &[("cache-control", "max-age=60")]),
        Err(NotStorable::Authorization)
    );
    for allowed in [
        "max-age=60, public",
        "s-maxage=60",
        "max-age=60, must-revalidate",
    ] {
        assert_eq!(
            shared(&auth, 200, &[("cache-control", allowed)]),
            Ok(()),
            "{allowed}"
        );
    }
    assert_eq!(
        shared(
            &auth,
            200,
            &[("cache-control", "max-age=60, proxy-revalidate")]
        ),
        Err(NotStorable::Authorization)
    );
    assert_eq!(
        check_with(
            &Method::GET,
            &auth,
            200,
            &[("cache-control", "max-age=60")],
            Role::Private
        ),
        Ok(())
    );
}

#[test]
fn set_cookie_is_never_shared_even_when_public() {
    let cookie = [
        ("cache-control", "public, max-age=60"),
        ("set-cookie", "session=abc; HttpOnly"),
    ];
    assert_eq!(shared(&[], 200, &cookie), Err(NotStorable::SetCookie));
    assert_eq!(
        check_with(&Method::GET, &[], 200, &cookie, Role::Private),
        Ok(())
    );
}

#[test]
fn a_lifetime_is_needed_or_a_status_that_allows_a_heuristic_one() {
    for s in [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501] {
        assert_eq!(shared(&[], s, &[]), Ok(()), "{s}");
    }
    for s in [201, 202, 302, 303, 307, 400, 403, 500, 502, 503] {
        assert_eq!(shared(&[], s, &[]), Err(NotStorable::NoLifetime), "{s}");
        assert_eq!(
            shared(&[], s, &[("cache-control", "max-age=5")]),
            Ok(()),
            "{s}"
        );
        assert_eq!(shared(&[], s, &[("expires", "0")]), Ok(()), "{s}");
        assert_eq!(
            shared(&[], s, &[("cache-control", "public")]),
            Ok(()),
            "{s}"
        );
        assert_eq!(
            shared(&[], s, &[("cache-control", "s-maxage=5")]),
            Ok(()),
            "{s}"
        );
    }
    // s-maxage gives no lifetime to a private cache.
    assert_eq!(
        check_with(
            &Method::GET,
            &[],
            201,
            &[("cache-control", "s-maxage=5")],
            Role::Private
        ),
        Err(NotStorable::NoLifetime)
    );
}

#[test]
fn vary_star_and_too_many_fields_are_not_stored() {
    assert_eq!(
        shared(&[], 200, &[("cache-control", "max-age=5"), ("vary", "*")]),
        Err(NotStorable::Vary)
    );
    let many: Vec<String> = (0..100).map(|i| format!("x-{i}")).collect();
    let many = many.join(",");
    assert_eq!(
        shared(&[], 200, &[("cache-control", "max-age=5"), ("vary", &many)]),
        Err(NotStorable::Vary)
    );
    assert_eq!(
        shared(
            &[],
            200,
            &[("cache-control", "max-age=5"), ("vary", "accept")]
        ),
        Ok(())
    );
}

#[test]
fn targeted_no_store_and_its_absence_win_over_cache_control() {
    assert_eq!(
        shared(
            &[],
            201,
            &[
                ("cache-control", "max-age=60"),
                ("cdn-cache-control", "no-store")
            ]
        ),
        Err(NotStorable::NoStore)
    );
    assert_eq!(
        shared(
            &[],
            200,
            &[
                ("cache-control", "no-store"),
                ("cdn-cache-control", "max-age=60")
            ]
        ),
        Ok(())
    );
    // A targeted field makes Expires irrelevant.
    assert_eq!(
        shared(
            &[],
            201,
            &[("expires", "0"), ("cdn-cache-control", "must-revalidate")]
        ),
        Err(NotStorable::NoLifetime)
    );
}

#[test]
fn reasons_have_names() {
    let all = [
        NotStorable::Method,
        NotStorable::Status,
        NotStorable::MustUnderstand,
        NotStorable::RequestNoStore,
        NotStorable::NoStore,
        NotStorable::Private,
        NotStorable::Authorization,
        NotStorable::SetCookie,
        NotStorable::NoLifetime,
        NotStorable::Vary,
    ];
    let names: std::collections::HashSet<_> = all.iter().map(|r| r.as_str()).collect();
    assert_eq!(names.len(), all.len());
}

#[test]
fn connection_and_proxy_authentication_fields_are_not_stored() {
    let mut h = map(&[
        ("connection", "x-hop, keep-alive"),
        ("x-hop", "1"),
        ("keep-alive", "timeout=5"),
        ("te", "trailers"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "h2c"),
        ("proxy-connection", "close"),
        ("proxy-authenticate", "Basic"),
        ("proxy-authentication-info", "x"),
        ("proxy-authorization", "Basic eA=="),
        ("content-length", "5"),
        ("content-range", "bytes 0-4/5"),
        ("set-cookie", "a=1"),
        ("x-test-header", "kept"),
    ]);
    strip_unstored(&mut h);
    let mut left: Vec<_> = h.keys().map(HeaderName::as_str).collect();
    left.sort_unstable();
    assert_eq!(
        left,
        [
            "content-length",
            "content-range",
            "set-cookie",
            "x-test-header"
        ]
    );
}
