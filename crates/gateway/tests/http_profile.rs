//! The `http` profile end to end: a gateway in front of a small origin written here, time on
//! a `ManualClock` (the origin's `Date` reads it too). Each test checks what the origin saw
//! (how many requests, with which validators) and what the client got (`Age`,
//! `Cache-Status`), for the standard's rules the proxy applies: the response's lifetime,
//! the request's directives, validation with a `304`, `Vary`, credentials and invalidation
//! after a write.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "serve_gateway/mod.rs"]
mod serve_gateway;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cachearr_engine::{Clock, ManualClock};
use cachearr_gateway::{Gateway, Profile};
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;

/// What the origin answers for a path: status, headers (a `Date` of the shared clock is
/// added), body.
type Route = fn(&Request<Incoming>) -> (u16, Vec<(&'static str, String)>, &'static str);

/// Requests the origin received: method, path and query, headers.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String, HeaderMap)>>>);

impl Seen {
    fn count(&self, path: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p, _)| p == path)
            .count()
    }

    fn last(&self) -> (String, String, HeaderMap) {
        self.0.lock().unwrap().last().unwrap().clone()
    }
}

/// Serves `route` on a free loopback port; returns its URL.
async fn origin(route: Route, clock: Arc<ManualClock>, seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (clock, seen) = (clock.clone(), seen.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (clock, seen) = (clock.clone(), seen.clone());
                    async move {
                        let target = req.uri().path_and_query().unwrap().to_string();
                        seen.0.lock().unwrap().push((
                            req.method().to_string(),
                            target,
                            req.headers().clone(),
                        ));
                        let (status, headers, body) = route(&req);
                        let mut resp =
                            Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        resp.headers_mut().insert(
                            http::header::DATE,
                            cachearr_httpcache::fields::fmt_http_date(clock.now_ms())
                                .parse()
                                .unwrap(),
                        );
                        for (n, v) in headers {
                            resp.headers_mut().append(n, v.parse().unwrap());
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let io = hyper_util::rt::TokioIo::new(tcp);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    url
}

struct Setup {
    proxy: String,
    clock: Arc<ManualClock>,
    seen: Seen,
    client: reqwest::Client,
    _data: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn setup(route: Route) -> Setup {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let seen = Seen::default();
    let url = origin(route, clock.clone(), seen.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let config = serve_gateway::loopback_config(Profile::Http, &url, data.path());
    let served = serve_gateway::serve(Gateway::builder(config).clock(clock.clone())).await;
    Setup {
        proxy: served.proxy,
        clock,
        seen,
        client: reqwest::Client::new(),
        _data: data,
        _stop: served.stop,
    }
}

impl Setup {
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut r = self.client.get(format!("{}{path}", self.proxy));
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        r.send().await.unwrap()
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(std::time::Duration::from_secs(secs));
    }
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn routes(req: &Request<Incoming>) -> (u16, Vec<(&'static str, String)>, &'static str) {
    let cc = |v: &str| vec![("cache-control", v.to_owned())];
    match req.uri().path() {
        "/fresh" => (200, cc("max-age=60"), "fresh"),
        "/no-store" => (200, cc("no-store, max-age=60"), "no-store"),
        "/private" => (200, cc("private, max-age=60"), "private"),
        "/public" => (200, cc("public, max-age=60"), "public"),
        "/etag" => {
            if req
                .headers()
                .get("if-none-match")
                .is_some_and(|v| v == "\"v1\"")
            {
                (
                    304,
                    vec![
                        ("cache-control", "max-age=10".into()),
                        ("x-updated", "yes".into()),
                    ],
                    "",
                )
            } else {
                (
                    200,
                    vec![
                        ("cache-control", "max-age=1".into()),
                        ("etag", "\"v1\"".into()),
                    ],
                    "tagged",
                )
            }
        }
        "/vary" => {
            let lang = req
                .headers()
                .get("accept-language")
                .map_or("none", |v| if v == "fr" { "fr" } else { "other" });
            (
                200,
                vec![
                    ("cache-control", "max-age=60".into()),
                    ("vary", "Accept-Language".into()),
                ],
                if lang == "fr" { "bonjour" } else { "hello" },
            )
        }
        _ => (404, Vec::new(), "none"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_is_kept_for_its_own_lifetime_with_age_and_cache_status() {
    let s = setup(routes).await;
    let first = s.get("/fresh", &[]).await;
    assert_eq!(first.status(), 200);
    assert!(
        header(&first, "cache-status").contains("fwd=uri-miss"),
        "{}",
        header(&first, "cache-status")
    );
    assert!(header(&first, "cache-status").contains("stored"));
    s.advance(20);
    let hit = s.get("/fresh", &[]).await;
    assert!(
        header(&hit, "cache-status").starts_with("cachearr; hit"),
        "{}",
        header(&hit, "cache-status")
    );
    assert_eq!(header(&hit, "age"), "20");
    assert_eq!(hit.text().await.unwrap(), "fresh");
    assert_eq!(s.seen.count("/fresh"), 1);
    // Past its max-age=60: the origin is asked again.
    s.advance(41);
    let again = s.get("/fresh", &[]).await;
    assert!(
        header(&again, "cache-status").contains("fwd="),
        "{}",
        header(&again, "cache-status")
    );
    assert_eq!(s.seen.count("/fresh"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_store_is_not_kept_and_says_why() {
    let s = setup(routes).await;
    let first = s.get("/no-store", &[]).await;
    assert!(header(&first, "cache-status").contains("detail=no-store"));
    s.get("/no-store", &[]).await;
    assert_eq!(s.seen.count("/no-store"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requests_own_directives_are_obeyed() {
    let s = setup(routes).await;
    let nothing = s
        .get("/fresh", &[("cache-control", "only-if-cached")])
        .await;
    assert_eq!(nothing.status(), 504);
    assert_eq!(s.seen.count("/fresh"), 0);
    s.get("/fresh", &[]).await;
    s.get("/fresh", &[("cache-control", "no-cache")]).await;
    assert_eq!(s.seen.count("/fresh"), 2, "no-cache goes to the origin");
    s.advance(30);
    s.get("/fresh", &[("cache-control", "max-age=10")]).await;
    assert_eq!(
        s.seen.count("/fresh"),
        3,
        "older than the request's max-age"
    );
    s.advance(70);
    let stale = s.get("/fresh", &[("cache-control", "max-stale=30")]).await;
    assert_eq!(s.seen.count("/fresh"), 3, "max-stale takes the stale copy");
    assert_eq!(header(&stale, "age"), "70");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_response_is_validated_and_its_headers_updated() {
    let s = setup(routes).await;
    assert_eq!(s.get("/etag", &[]).await.text().await.unwrap(), "tagged");
    s.advance(5);
    let validated = s.get("/etag", &[]).await;
    let (_, _, sent) = s.seen.last();
    assert_eq!(sent.get("if-none-match").unwrap(), "\"v1\"");
    assert_eq!(validated.status(), 200);
    assert_eq!(header(&validated, "x-updated"), "yes");
    assert!(header(&validated, "cache-status").contains("fwd-status=304"));
    assert_eq!(validated.text().await.unwrap(), "tagged");
    // The 304's max-age=10 now applies.
    s.advance(5);
    let hit = s.get("/etag", &[]).await;
    assert!(header(&hit, "cache-status").starts_with("cachearr; hit"));
    assert_eq!(s.seen.count("/etag"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vary_keeps_the_variant_of_the_request() {
    let s = setup(routes).await;
    let fr = [("accept-language", "fr")];
    assert_eq!(s.get("/vary", &fr).await.text().await.unwrap(), "bonjour");
    assert_eq!(s.get("/vary", &fr).await.text().await.unwrap(), "bonjour");
    assert_eq!(s.seen.count("/vary"), 1);
    let en = s.get("/vary", &[("accept-language", "en")]).await;
    assert_eq!(en.text().await.unwrap(), "hello");
    assert_eq!(s.seen.count("/vary"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_answer_is_its_own_unless_the_response_shares_it() {
    let s = setup(routes).await;
    let alice = [("authorization", "Bearer alice")];
    let bob = [("authorization", "Bearer bob")];
    s.get("/fresh", &alice).await;
    s.get("/fresh", &alice).await;
    assert_eq!(s.seen.count("/fresh"), 1, "one user's entry answers them");
    s.get("/fresh", &bob).await;
    s.get("/fresh", &[]).await;
    assert_eq!(s.seen.count("/fresh"), 3, "nobody else's");
    s.get("/private", &[]).await;
    s.get("/private", &[]).await;
    assert_eq!(s.seen.count("/private"), 2, "private is not shared");
    s.get("/public", &alice).await;
    let shared = s.get("/public", &[]).await;
    assert!(header(&shared, "cache-status").starts_with("cachearr; hit"));
    assert_eq!(s.seen.count("/public"), 1, "public is shared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_write_invalidates_its_target() {
    let s = setup(routes).await;
    s.get("/fresh", &[]).await;
    s.get("/fresh", &[]).await;
    assert_eq!(s.seen.count("/fresh"), 1);
    let posted = s
        .client
        .post(format!("{}/fresh", s.proxy))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(s.seen.count("/fresh"), 2);
    s.get("/fresh", &[]).await;
    assert_eq!(s.seen.count("/fresh"), 3, "the write dropped the entry");
}
