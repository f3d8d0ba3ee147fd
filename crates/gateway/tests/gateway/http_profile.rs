//! The `http` profile end to end: a gateway in front of a small origin written here, time on
//! a `ManualClock` (the origin's `Date` reads it too). Each test checks what the origin saw
//! (how many requests, with which validators) and what the client got (`Age`,
//! `Cache-Status`), for the standard's rules the proxy applies: the response's lifetime,
//! the request's directives, validation with a `304`, `Vary`, credentials and invalidation
//! after a write.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cachearr_dialect::Profile;
use cachearr_engine::{Clock, ManualClock};
use cachearr_testkit::http::{get_json, json_answer};
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use reqwest::{Method, RequestBuilder};

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

/// Holds the origin's answers to `/slow` until the test opens it: concurrent misses of one
/// key meet while the first is asked, however slowly the gateway takes them in.
#[derive(Clone)]
struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Gate {
    fn default() -> Self {
        Gate(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Gate {
    async fn passed(&self) {
        let mut open = self.0.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }

    fn open(&self) {
        self.0.send_replace(true);
    }
}

/// Serves `route` on a free loopback port; returns its URL.
async fn origin(route: Route, clock: Arc<ManualClock>, seen: Seen, gate: Gate) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (clock, seen, gate) = (clock.clone(), seen.clone(), gate.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (clock, seen, gate) = (clock.clone(), seen.clone(), gate.clone());
                    async move {
                        let target = req.uri().path_and_query().unwrap().to_string();
                        seen.0.lock().unwrap().push((
                            req.method().to_string(),
                            target,
                            req.headers().clone(),
                        ));
                        if req.uri().path() == "/slow" {
                            gate.passed().await;
                        }
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
    admin: String,
    clock: Arc<ManualClock>,
    seen: Seen,
    gate: Gate,
    gateway: cachearr_gateway::Gateway,
    client: reqwest::Client,
    _data: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn setup(route: Route) -> Setup {
    setup_with(route, "").await
}

/// A gateway whose `http` upstream has the operator's settings `extra` (TOML written after
/// the `[[upstream]]` table: `[upstream.http]`, `[[upstream.route]]`).
async fn setup_with(route: Route, extra: &str) -> Setup {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let seen = Seen::default();
    let gate = Gate::default();
    let url = origin(route, clock.clone(), seen.clone(), gate.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(Profile::Http, &url, data.path());
    if !extra.is_empty() {
        let text = format!(
            "[[upstream]]\nname = \"http\"\nprofile = \"http\"\nurl = \"{url}\"\nlisten = \"127.0.0.1:0\"\n{extra}"
        );
        let file = cachearr_config::Config::from_toml(&text, "test.toml").unwrap();
        config.upstreams = file.upstreams;
    }
    let served =
        sim_gateway::serve(sim_gateway::gateway_builder(config).clock(clock.clone())).await;
    Setup {
        proxy: served.proxy,
        admin: served.admin,
        clock,
        seen,
        gate,
        gateway: served.gateway,
        client: reqwest::Client::new(),
        _data: data,
        _stop: served.stop,
    }
}

impl Setup {
    fn request(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> RequestBuilder {
        let mut r = self.client.request(method, format!("{}{path}", self.proxy));
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        r
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let get = self.request(Method::GET, path, headers);
        get.send().await.unwrap()
    }

    /// [`Self::get`] `times` times, one after the other.
    async fn get_times(&self, times: usize, path: &str, headers: &[(&str, &str)]) {
        for _ in 0..times {
            self.get(path, headers).await;
        }
    }

    async fn head(&self, path: &str) -> reqwest::Response {
        let head = self.request(Method::HEAD, path, &[]);
        head.send().await.unwrap()
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
        let post = self.request(Method::POST, path, headers);
        post.body(body.to_owned()).send().await.unwrap()
    }

    /// `POST /api/clear` of the admin API with `query` (a `prefix` or a `tag`), which must
    /// succeed.
    async fn clear(&self, query: &[(&str, &str)]) {
        let cleared = sim_gateway::admin_client()
            .post(format!("{}/api/clear", self.admin))
            .query(query)
            .send()
            .await
            .unwrap();
        assert_eq!(cleared.status(), 200);
    }

    /// `POST /api/warm` of the admin API: its report.
    async fn warm(&self) -> serde_json::Value {
        json_answer(sim_gateway::admin_client().post(format!("{}/api/warm", self.admin))).await
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

/// Panics unless the answer's `Cache-Status` holds `part`.
fn assert_cache_status_has(resp: &reqwest::Response, part: &str) {
    let cache_status = header(resp, "cache-status");
    assert!(cache_status.contains(part), "{part}: {cache_status}");
}

/// Panics unless the answer came from the store.
fn assert_hit(resp: &reqwest::Response) {
    let cache_status = header(resp, "cache-status");
    assert!(cache_status.starts_with("cachearr; hit"), "{cache_status}");
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
        "/dated" => (
            200,
            vec![
                ("cache-control", "max-age=60".into()),
                ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT".into()),
            ],
            "dated",
        ),
        "/api/v3/series" | "/plain" | "/shared/plain" => (200, Vec::new(), "no caching headers"),
        "/calendar" => (200, cc("no-store"), "calendar"),
        "/slow" => (200, cc("max-age=60"), "slow"),
        "/hostile" => (
            200,
            vec![
                (
                    "cache-control",
                    "max-age=99999999999999999999999, max-age=5, no-cache=\"".to_owned(),
                ),
                ("cache-control", ",,;=max-age".into()),
            ],
            "hostile",
        ),
        "/vary-many" => {
            let names: Vec<String> = (0..300).map(|i| format!("x-h{i}")).collect();
            (
                200,
                vec![
                    ("cache-control", "max-age=60".into()),
                    ("vary", names.join(", ")),
                ],
                "many",
            )
        }
        "/graphql" => {
            let mutation = req
                .headers()
                .get("x-test-op")
                .is_some_and(|v| v == "mutation");
            if mutation {
                (200, Vec::new(), r#"{"data":{"refresh":true}}"#)
            } else if req.headers().get("x-test-op").is_some_and(|v| v == "error") {
                (200, Vec::new(), r#"{"errors":[{"message":"no"}]}"#)
            } else {
                (200, Vec::new(), r#"{"data":{"series":[1,2]}}"#)
            }
        }
        // The directives' table: `/d/{case}` answers with that case's headers, or a `500`
        // when the client asks the origin to fail (`x-fail`).
        path if path.starts_with("/d/") => {
            if req.headers().contains_key("x-fail") {
                return (500, Vec::new(), "failed");
            }
            let name = &path[3..];
            let case = DIRECTIVES.iter().find(|c| c.name == name).unwrap();
            let headers = case
                .response
                .iter()
                .map(|(n, v)| (*n, (*v).to_owned()))
                .collect();
            (200, headers, "directive")
        }
        "/write" => (201, vec![("location", "/d/max-age".to_owned())], "created"),
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
    assert_cache_status_has(&first, "fwd=uri-miss");
    assert_cache_status_has(&first, "stored");
    s.advance(20);
    let hit = s.get("/fresh", &[]).await;
    assert_hit(&hit);
    assert_eq!(header(&hit, "age"), "20");
    assert_eq!(hit.text().await.unwrap(), "fresh");
    assert_eq!(s.seen.count("/fresh"), 1);
    // Past its max-age=60: the origin is asked again.
    s.advance(41);
    let again = s.get("/fresh", &[]).await;
    assert_cache_status_has(&again, "fwd=");
    assert_eq!(s.seen.count("/fresh"), 2);
}

/// A hit's head is read once per entry and kept as bytes while its age and time to live are
/// the same: each second's hits still say their own `Age` and `ttl`, a stale one says so, and a
/// revalidated entry answers with what the origin's `304` changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hits_kept_head_follows_the_clock_and_the_stored_response() {
    let s = setup(routes).await;
    s.get("/fresh", &[]).await;
    for (secs, age, ttl) in [
        (0, "0", "60"),
        (0, "0", "60"),
        (1, "1", "59"),
        (29, "30", "30"),
    ] {
        s.advance(secs);
        let hit = s.get("/fresh", &[]).await;
        assert_hit(&hit);
        assert_eq!(header(&hit, "x-cache"), "HIT");
        assert_eq!(header(&hit, "age"), age);
        assert_cache_status_has(&hit, &format!("ttl={ttl}"));
        assert_eq!(header(&hit, "cache-control"), "max-age=60");
        assert_eq!(header(&hit, "content-length"), "5");
        assert_eq!(hit.text().await.unwrap(), "fresh");
    }
    s.advance(40);
    let stale = s.get("/fresh", &[("cache-control", "max-stale=60")]).await;
    assert_eq!(header(&stale, "x-cache"), "STALE");
    assert_eq!(header(&stale, "age"), "70");
    assert_cache_status_has(&stale, "ttl=-10");
    assert_eq!(s.seen.count("/fresh"), 1);
    // The validated entry is another entry: its hits carry the 304's fields.
    s.get("/etag", &[]).await;
    s.advance(5);
    s.get("/etag", &[]).await;
    let hit = s.get("/etag", &[]).await;
    assert_hit(&hit);
    assert_eq!(header(&hit, "x-updated"), "yes");
    assert_eq!(header(&hit, "cache-control"), "max-age=10");
    assert_eq!(s.seen.count("/etag"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_store_is_not_kept_and_says_why() {
    let s = setup(routes).await;
    let first = s.get("/no-store", &[]).await;
    assert_cache_status_has(&first, "detail=no-store");
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
    assert_cache_status_has(&validated, "fwd-status=304");
    assert_eq!(validated.text().await.unwrap(), "tagged");
    // The 304's max-age=10 now applies.
    s.advance(5);
    let hit = s.get("/etag", &[]).await;
    assert_hit(&hit);
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
    s.get_times(2, "/fresh", &alice).await;
    assert_eq!(s.seen.count("/fresh"), 1, "one user's entry answers them");
    s.get("/fresh", &bob).await;
    s.get("/fresh", &[]).await;
    assert_eq!(s.seen.count("/fresh"), 3, "nobody else's");
    s.get_times(2, "/private", &[]).await;
    assert_eq!(s.seen.count("/private"), 2, "private is not shared");
    s.get("/public", &alice).await;
    let shared = s.get("/public", &[]).await;
    assert_hit(&shared);
    assert_eq!(s.seen.count("/public"), 1, "public is shared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_write_invalidates_its_target() {
    let s = setup(routes).await;
    s.get_times(2, "/fresh", &[]).await;
    assert_eq!(s.seen.count("/fresh"), 1);
    let posted = s.post("/fresh", &[], "x").await;
    assert_eq!(posted.status(), 200);
    assert_eq!(s.seen.count("/fresh"), 2);
    s.get("/fresh", &[]).await;
    assert_eq!(s.seen.count("/fresh"), 3, "the write dropped the entry");
}

const ARR_ROUTES: &str = r#"
[[upstream.route]]
path = "/api/v3/{*rest}"
fresh = "30s"
stale_while_revalidate = "5m"
tags = ["series"]

[[upstream.route]]
path = "/calendar"
fresh = "5m"
override_origin = true

[[upstream.route]]
path = "/shared/plain"
fresh = "1m"
scope = "shared"

[[upstream.route]]
path = "/private"
scope = "user"

[[upstream.route]]
path = "/public"
cache = false

[[upstream.route]]
path = "/graphql"
graphql = true
fresh = "1m"
tags = ["gql"]
[upstream.route.operations]
Stats = "10s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_lifetime_caches_an_api_that_sends_no_caching_headers() {
    let s = setup_with(routes, ARR_ROUTES).await;
    s.get("/api/v3/series", &[]).await;
    s.advance(29);
    let hit = s.get("/api/v3/series", &[]).await;
    assert_hit(&hit);
    assert_eq!(header(&hit, "x-cache"), "HIT");
    assert_eq!(hit.text().await.unwrap(), "no caching headers");
    assert_eq!(s.seen.count("/api/v3/series"), 1);
    // Without a route, a response without a lifetime or a validator is not reused.
    s.get_times(2, "/plain", &[]).await;
    assert_eq!(s.seen.count("/plain"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_origin_replaces_the_origins_no_store() {
    let s = setup_with(routes, ARR_ROUTES).await;
    s.get("/calendar", &[]).await;
    s.advance(299);
    let hit = s.get("/calendar", &[]).await;
    assert_eq!(hit.text().await.unwrap(), "calendar");
    assert_eq!(s.seen.count("/calendar"), 1);
    // The client still sees the origin's own directive.
    s.advance(2);
    let again = s.get("/calendar", &[]).await;
    assert_eq!(header(&again, "cache-control"), "no-store");
    assert_eq!(s.seen.count("/calendar"), 2);
    // Without the route, no-store is obeyed.
    let plain = setup(routes).await;
    plain.get_times(2, "/calendar", &[]).await;
    assert_eq!(plain.seen.count("/calendar"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_scope_and_pass_through_are_obeyed() {
    let s = setup_with(routes, ARR_ROUTES).await;
    // `scope = "user"`: no credential, no caching; each credential its own.
    s.get_times(2, "/private", &[]).await;
    assert_eq!(s.seen.count("/private"), 2);
    let alice = [("authorization", "Bearer alice")];
    s.get("/private", &alice).await;
    let hit = s.get("/private", &alice).await;
    assert_hit(&hit);
    assert_eq!(s.seen.count("/private"), 3);
    // `scope = "shared"`: one entry whoever asks.
    s.get("/shared/plain", &alice).await;
    s.get("/shared/plain", &[("authorization", "Bearer bob")])
        .await;
    s.get("/shared/plain", &[]).await;
    assert_eq!(s.seen.count("/shared/plain"), 1);
    // `cache = false`: passed through even when the response allows storing.
    let passed = s.get("/public", &[]).await;
    assert_eq!(header(&passed, "x-cache"), "BYPASS");
    assert_cache_status_has(&passed, "detail=route");
    s.get("/public", &[]).await;
    assert_eq!(s.seen.count("/public"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_answer_within_the_routes_window_is_refreshed_behind() {
    let s = setup_with(routes, ARR_ROUTES).await;
    s.get("/api/v3/series", &[]).await;
    s.advance(60);
    let stale = s.get("/api/v3/series", &[]).await;
    assert_eq!(header(&stale, "x-cache"), "STALE");
    assert_eq!(stale.text().await.unwrap(), "no caching headers");
    cachearr_testkit::eventually(
        "the refresh behind",
        std::time::Duration::from_secs(10),
        async || s.seen.count("/api/v3/series") == 2,
    )
    .await;
    // What the refresh stored answers fresh.
    cachearr_testkit::eventually(
        "the refreshed entry",
        std::time::Duration::from_secs(10),
        async || header(&s.get("/api/v3/series", &[]).await, "x-cache") == "HIT",
    )
    .await;
    assert_eq!(s.seen.count("/api/v3/series"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_of_one_key_make_one_upstream_request() {
    let s = setup(routes).await;
    let asks = (0..20).map(|_| s.get("/slow", &[]));
    // The origin holds its answer until each of the 20 has either reached it or joined the
    // fill under way: had they not met, each would have asked the origin itself.
    let flights = &s.gateway.upstreams()[0].flights;
    let met = async {
        cachearr_testkit::eventually(
            "each request asks the origin or waits for the fill",
            std::time::Duration::from_secs(10),
            async || s.seen.count("/slow") + flights.waiting() == 20,
        )
        .await;
        s.gate.open();
    };
    let (answers, ()) = tokio::join!(futures_util::future::join_all(asks), met);
    for a in answers {
        assert_eq!(a.status(), 200);
        assert_eq!(a.text().await.unwrap(), "slow");
    }
    assert_eq!(s.seen.count("/slow"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_headers_and_parameters_choose_the_scope_and_leave_the_key() {
    let s = setup(routes).await;
    s.get_times(2, "/fresh?apikey=a", &[]).await;
    assert_eq!(s.seen.count("/fresh?apikey=a"), 1);
    s.get("/fresh?apikey=b", &[]).await;
    assert_eq!(
        s.seen.count("/fresh?apikey=b"),
        1,
        "another key, another user"
    );
    s.get_times(2, "/fresh", &[("x-api-key", "a")]).await;
    s.get("/fresh", &[("x-api-key", "b")]).await;
    assert_eq!(s.seen.count("/fresh"), 2);
    let two = s.get("/fresh?apikey=a&apikey=b", &[]).await;
    assert_cache_status_has(&two, "ambiguous-credential");
    // The key holds the path without the parameter: a prefix clear by path reaches it.
    s.clear(&[("prefix", "http GET /fresh")]).await;
    s.get("/fresh?apikey=a", &[]).await;
    assert_eq!(s.seen.count("/fresh?apikey=a"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_tag_purges_its_entries_through_the_admin_api() {
    let s = setup_with(routes, ARR_ROUTES).await;
    s.get("/api/v3/series", &[]).await;
    s.get("/calendar", &[]).await;
    s.clear(&[("tag", "http:series")]).await;
    s.get("/api/v3/series", &[]).await;
    s.get("/calendar", &[]).await;
    assert_eq!(s.seen.count("/api/v3/series"), 2, "tagged: purged");
    assert_eq!(s.seen.count("/calendar"), 1, "not tagged: kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_queries_are_cached_by_body_and_mutations_invalidate() {
    let s = setup_with(routes, ARR_ROUTES).await;
    let stats = r#"{"query":"query Stats { series { id } }","operationName":"Stats"}"#;
    let same = r#"{"operationName":"Stats","query":"query Stats{series{id}}"}"#;
    let other = r#"{"query":"{ series { id title } }"}"#;
    let first = s.post("/graphql", &[], stats).await;
    assert_cache_status_has(&first, "stored");
    let hit = s.post("/graphql", &[], same).await;
    assert_eq!(header(&hit, "x-cache"), "HIT");
    assert_eq!(hit.text().await.unwrap(), r#"{"data":{"series":[1,2]}}"#);
    assert_eq!(s.seen.count("/graphql"), 1);
    s.post("/graphql", &[], other).await;
    assert_eq!(s.seen.count("/graphql"), 2, "another query");
    // The operation's own lifetime (10 s), not the route's (1 min).
    s.advance(11);
    s.post("/graphql", &[], stats).await;
    s.post("/graphql", &[], other).await;
    assert_eq!(s.seen.count("/graphql"), 3);
    // A mutation goes through and drops the route's entries.
    let m = r#"{"query":"mutation { refresh }"}"#;
    let done = s.post("/graphql", &[("x-test-op", "mutation")], m).await;
    assert_eq!(header(&done, "x-cache"), "BYPASS");
    assert_eq!(s.seen.count("/graphql"), 4);
    s.post("/graphql", &[], other).await;
    assert_eq!(s.seen.count("/graphql"), 5, "the mutation dropped it");
    // An answer reporting errors is not kept.
    let q = r#"{"query":"{ broken }"}"#;
    let failed = s.post("/graphql", &[("x-test-op", "error")], q).await;
    assert_cache_status_has(&failed, "graphql-errors");
    s.post("/graphql", &[("x-test-op", "error")], q).await;
    assert_eq!(s.seen.count("/graphql"), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_conditional_is_answered_from_the_stored_response() {
    let s = setup(routes).await;
    s.get("/dated", &[]).await;
    let since = [("if-modified-since", "Tue, 02 Jan 2024 00:00:00 GMT")];
    let not_modified = s.get("/dated", &since).await;
    assert_eq!(not_modified.status(), 304);
    let older = [("if-modified-since", "Sun, 31 Dec 2023 00:00:00 GMT")];
    let whole = s.get("/dated", &older).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.text().await.unwrap(), "dated");
    assert_eq!(s.seen.count("/dated"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_variants_of_one_url_are_kept_at_once() {
    let s = setup(routes).await;
    for lang in ["fr", "en", "fr", "en", "fr"] {
        let body = s.get("/vary", &[("accept-language", lang)]).await;
        let want = if lang == "fr" { "bonjour" } else { "hello" };
        assert_eq!(body.text().await.unwrap(), want);
    }
    assert_eq!(s.seen.count("/vary"), 2);
    // A write drops every variant.
    s.post("/vary", &[], "x").await;
    s.get("/vary", &[("accept-language", "fr")]).await;
    s.get("/vary", &[("accept-language", "en")]).await;
    assert_eq!(s.seen.count("/vary"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_caching_headers_get_a_clear_result() {
    let s = setup(routes).await;
    // Duplicated, overflowing and malformed directives: read tolerantly, never a failure.
    let hostile = s.get("/hostile", &[]).await;
    assert_eq!(hostile.status(), 200);
    assert_eq!(hostile.text().await.unwrap(), "hostile");
    // `Vary` on 300 fields: answered, not stored.
    let many = s.get("/vary-many", &[]).await;
    assert_eq!(many.status(), 200);
    assert_cache_status_has(&many, "detail=");
    s.get("/vary-many", &[]).await;
    assert_eq!(s.seen.count("/vary-many"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_without_framing_is_read_to_its_close_and_kept() {
    // An origin that answers with neither `Content-Length` nor chunking, then closes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 200 OK\r\ncache-control: max-age=60\r\nconnection: close\r\n\r\nunframed body")
                .await;
            let _ = tcp.shutdown().await;
        }
    });
    let data = tempfile::tempdir().unwrap();
    let config = sim_gateway::loopback_config(Profile::Http, &url, data.path());
    let gw = sim_gateway::serve(sim_gateway::gateway_builder(config)).await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let r = client.get(format!("{}/x", gw.proxy)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "unframed body");
    }
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_metrics_and_the_client_table_count_it_as_for_a_media_server() {
    let s = setup(routes).await;
    let dash = [("user-agent", "Homepage/1.0")];
    s.get_times(3, "/fresh", &dash).await;
    s.get("/no-store", &dash).await;
    let admin = sim_gateway::admin_client();
    let stats = get_json(&admin, &format!("{}/api/stats", s.admin)).await;
    let class = &stats["classes"]["http"];
    assert_eq!(class["hits"], 2, "{class}");
    assert_eq!(class["misses"], 2, "{class}");
    let client = stats["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "Homepage")
        .unwrap_or_else(|| panic!("{}", stats["clients"]));
    assert_eq!(client["requests"], 4);
    assert_eq!(client["from_cache"], 2);
    assert_eq!(client["to_server"], 2);
    let metrics = admin
        .get(format!("{}/metrics", s.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits = metrics
        .lines()
        .find(|l| {
            l.starts_with("cachearr_requests_total")
                && l.contains("class=\"http\"")
                && l.contains("cache=\"hit\"")
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(hits.ends_with(" 2"), "{hits}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_list_fills_shared_entries_before_anyone_asks() {
    let s = setup_with(
        routes,
        "warm = [\"/fresh\", \"/api/v3/series?apikey=secret\", \"/no-store\"]\n[[upstream.route]]\npath = \"/api/v3/{*rest}\"\nfresh = \"1m\"\n",
    )
    .await;
    let report = s.warm().await;
    assert_eq!(report["requested"], 3, "{report}");
    assert_eq!(report["warmed"], 2, "{report}");
    assert_eq!(report["failed"], 1, "no-store cannot be warmed: {report}");
    let hit = s.get("/fresh", &[]).await;
    assert_eq!(header(&hit, "x-cache"), "HIT");
    assert_eq!(s.seen.count("/fresh"), 1);
    // A path warmed with a credential parameter is that credential's, nobody else's.
    let own = s.get("/api/v3/series?apikey=secret", &[]).await;
    assert_eq!(header(&own, "x-cache"), "HIT");
    let other = s.get("/api/v3/series", &[]).await;
    assert_eq!(header(&other, "x-cache"), "MISS");
    // Warming what is fresh already asks nothing.
    s.warm().await;
    assert_eq!(s.seen.count("/fresh"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_is_cut_from_a_stored_complete_response() {
    let s = setup(routes).await;
    // Nothing stored: the origin answers the range (this origin sends the whole body).
    let passed = s.get("/dated", &[("range", "bytes=1-2")]).await;
    assert_eq!(passed.status(), 200);
    assert_eq!(s.seen.count("/dated"), 1);
    assert_eq!(s.get("/dated", &[]).await.text().await.unwrap(), "dated");
    assert_eq!(s.seen.count("/dated"), 2);
    s.advance(5);
    for (range, part, content_range) in [
        ("bytes=1-2", "at", "bytes 1-2/5"),
        ("bytes=3-", "ed", "bytes 3-4/5"),
        ("bytes=-1", "d", "bytes 4-4/5"),
        ("bytes=0-99", "dated", "bytes 0-4/5"),
    ] {
        let cut = s.get("/dated", &[("range", range)]).await;
        assert_eq!(cut.status(), 206, "{range}");
        assert_eq!(header(&cut, "content-range"), content_range);
        assert_eq!(header(&cut, "age"), "5");
        assert_hit(&cut);
        assert_eq!(cut.text().await.unwrap(), part);
    }
    let none = s.get("/dated", &[("range", "bytes=9-")]).await;
    assert_eq!(none.status(), 416);
    assert_eq!(header(&none, "content-range"), "bytes */5");
    assert_eq!(
        s.seen.count("/dated"),
        2,
        "every part above came from the store"
    );
    // Several ranges, an If-Range that does not match, a client's own conditional: the origin.
    let date = "Mon, 01 Jan 2024 00:00:00 GMT";
    for headers in [
        vec![("range", "bytes=0-0,2-3")],
        vec![("range", "bytes=0-1"), ("if-range", "\"other\"")],
        vec![("range", "bytes=0-1"), ("if-modified-since", date)],
    ] {
        s.get("/dated", &headers).await;
    }
    assert_eq!(s.seen.count("/dated"), 5);
    // Stale: not cut from the store.
    s.advance(60);
    s.get("/dated", &[("range", "bytes=0-1")]).await;
    assert_eq!(s.seen.count("/dated"), 6);
}

/// One case of the directives' table: the origin's response headers, then requests made
/// after the clock moved, each with its request headers and who answers it.
struct DirectiveCase {
    name: &'static str,
    response: &'static [(&'static str, &'static str)],
    then: &'static [Step],
}

/// A request of a case: seconds since the response was stored, its headers, who answers.
type Step = (u64, &'static [(&'static str, &'static str)], By);

/// Who answers a request of the directives' table.
#[derive(Clone, Copy, Debug, PartialEq)]
enum By {
    /// The stored response, the origin not asked.
    Store,
    /// The origin (its answer, or its failure, is the client's).
    Origin,
    /// The origin was asked and failed; the stored response answered.
    StoreAfterFailure,
}

const FAIL: (&str, &str) = ("x-fail", "1");

/// Stored for ten seconds: the store answers at 9 s, the origin at 11 s.
const FRESH_FOR_TEN_SECONDS: &[Step] = &[(9, &[], By::Store), (11, &[], By::Origin)];

/// Never answered from the store, even a second later.
const NOT_REUSED: &[Step] = &[(1, &[], By::Origin)];

/// Stale at 12 s, with a request that accepts a minute of staleness: the origin answers.
const NEVER_SERVED_STALE: &[Step] = &[(12, &[("cache-control", "max-stale=60")], By::Origin)];

const DIRECTIVES: &[DirectiveCase] = &[
    DirectiveCase {
        name: "max-age",
        response: &[("cache-control", "max-age=10")],
        then: FRESH_FOR_TEN_SECONDS,
    },
    DirectiveCase {
        // A shared cache's own lifetime beats max-age.
        name: "s-maxage",
        response: &[("cache-control", "max-age=0, s-maxage=10")],
        then: FRESH_FOR_TEN_SECONDS,
    },
    DirectiveCase {
        name: "expires",
        response: &[("expires", "Fri, 15 Jan 2027 08:00:10 GMT")],
        then: FRESH_FOR_TEN_SECONDS,
    },
    DirectiveCase {
        // max-age beats Expires.
        name: "max-age-over-expires",
        response: &[
            ("cache-control", "max-age=10"),
            ("expires", "Fri, 15 Jan 2027 09:00:00 GMT"),
        ],
        then: &[(11, &[], By::Origin)],
    },
    DirectiveCase {
        // The targeted field replaces Cache-Control for this cache (RFC 9213).
        name: "cdn-cache-control",
        response: &[
            ("cache-control", "no-store"),
            ("cdn-cache-control", "max-age=10"),
        ],
        then: FRESH_FOR_TEN_SECONDS,
    },
    DirectiveCase {
        // Heuristic: 10 % of the 100 s since Last-Modified.
        name: "heuristic",
        response: &[("last-modified", "Fri, 15 Jan 2027 07:58:20 GMT")],
        then: FRESH_FOR_TEN_SECONDS,
    },
    DirectiveCase {
        // must-understand with a status it understands: no-store is overridden.
        name: "must-understand",
        response: &[("cache-control", "max-age=10, must-understand, no-store")],
        then: &[(9, &[], By::Store)],
    },
    DirectiveCase {
        name: "immutable",
        response: &[("cache-control", "max-age=10, immutable")],
        then: FRESH_FOR_TEN_SECONDS,
    },
    DirectiveCase {
        name: "no-cache",
        response: &[("cache-control", "max-age=10, no-cache")],
        then: NOT_REUSED,
    },
    DirectiveCase {
        // Stored for one user only: never in the shared scope.
        name: "private",
        response: &[("cache-control", "private, max-age=10")],
        then: NOT_REUSED,
    },
    DirectiveCase {
        name: "vary-star",
        response: &[("cache-control", "max-age=10"), ("vary", "*")],
        then: NOT_REUSED,
    },
    DirectiveCase {
        name: "request-min-fresh",
        response: &[("cache-control", "max-age=10")],
        then: &[
            (5, &[("cache-control", "min-fresh=4")], By::Store),
            (5, &[("cache-control", "min-fresh=6")], By::Origin),
        ],
    },
    DirectiveCase {
        name: "request-max-age",
        response: &[("cache-control", "max-age=10")],
        then: &[
            (5, &[("cache-control", "max-age=6")], By::Store),
            (5, &[("cache-control", "max-age=4")], By::Origin),
        ],
    },
    DirectiveCase {
        name: "request-max-stale",
        response: &[("cache-control", "max-age=10")],
        then: &[
            (12, &[("cache-control", "max-stale=5")], By::Store),
            (12, &[("cache-control", "max-stale=1")], By::Origin),
        ],
    },
    DirectiveCase {
        // must-revalidate: never served stale, whatever the request allows.
        name: "must-revalidate",
        response: &[("cache-control", "max-age=10, must-revalidate")],
        then: NEVER_SERVED_STALE,
    },
    DirectiveCase {
        name: "proxy-revalidate",
        response: &[("cache-control", "max-age=10, proxy-revalidate")],
        then: NEVER_SERVED_STALE,
    },
    DirectiveCase {
        // The origin failing within stale-if-error: the stored copy answers.
        name: "stale-if-error",
        response: &[("cache-control", "max-age=10, stale-if-error=60")],
        then: &[
            (30, &[FAIL], By::StoreAfterFailure),
            (80, &[FAIL], By::Origin),
        ],
    },
    DirectiveCase {
        // And without it, the failure is the client's.
        name: "no-stale-if-error",
        response: &[("cache-control", "max-age=10")],
        then: &[(30, &[FAIL], By::Origin)],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_directive_decides_over_real_http() {
    for case in DIRECTIVES {
        let s = setup(routes).await;
        // The origin's clock: 2027-01-15 08:00:00 UTC, which the dated cases are written to.
        s.clock.set_ms(1_800_000_000_000);
        let path = format!("/d/{}", case.name);
        let first = s.get(&path, &[]).await;
        assert_eq!(first.status(), 200, "{}", case.name);
        let mut elapsed = 0;
        for (at, headers, by) in case.then {
            s.advance(at - elapsed);
            elapsed = *at;
            let before = s.seen.count(&path);
            let resp = s.get(&path, headers).await;
            let asked = s.seen.count(&path) > before;
            let status = resp.status();
            let how = header(&resp, "cache-status");
            let text = resp.text().await.unwrap();
            let seen = match (asked, text.as_str()) {
                (false, "directive") => By::Store,
                (true, "directive") if headers.contains(&FAIL) => By::StoreAfterFailure,
                _ => By::Origin,
            };
            assert_eq!(
                seen, *by,
                "{} at {at} s with {headers:?}: {status} {how}",
                case.name
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_answered_from_a_stored_get_and_a_write_drops_its_location() {
    let s = setup(routes).await;
    s.get("/d/max-age", &[]).await;
    let head = s.head("/d/max-age").await;
    assert_eq!(head.status(), 200);
    assert_hit(&head);
    assert_eq!(s.seen.count("/d/max-age"), 1);
    // A successful write elsewhere whose answer names it in Location drops it.
    let wrote = s.post("/write", &[], "x").await;
    assert_eq!(wrote.status(), 201);
    s.get("/d/max-age", &[]).await;
    assert_eq!(s.seen.count("/d/max-age"), 2);
}
