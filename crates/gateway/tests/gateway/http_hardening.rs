//! The `http` profile against clients that try to steer it, each over real HTTP on loopback
//! in front of an origin written here: a read whose framing declares a body (an origin that
//! answers at once and then discards the declared body, as Go's net/http and Kestrel do, and
//! one that waits for it), credentials other than `Authorization` reading an anonymous
//! shared answer, a `Set-Cookie` answer shared, forwarding and rewrite fields and method
//! overrides choosing a shared answer, `access_token` in a key, and the fields a request's
//! `Connection` names. Each test asserts what the origin received and what the next client
//! got; none waits on a timer to decide (a bound only turns a hang into a failure).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a step may take before the test calls it a hang (it takes milliseconds).
const HANG: Duration = Duration::from_secs(20);

/// What the origin answers: status, headers, body, from the request it got.
type Route = fn(&Request<Incoming>) -> (u16, Vec<(&'static str, String)>, String);

/// Requests an origin received: method, path and query, headers.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String, HeaderMap)>>>);

impl Seen {
    fn count(&self, path: &str) -> usize {
        let seen = self.0.lock().unwrap();
        seen.iter().filter(|(_, p, _)| p == path).count()
    }

    fn total(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn last(&self) -> (String, String, HeaderMap) {
        self.0.lock().unwrap().last().unwrap().clone()
    }

    fn methods(&self) -> Vec<String> {
        let seen = self.0.lock().unwrap();
        seen.iter().map(|(m, _, _)| m.clone()).collect()
    }
}

/// The time of the gateway and of the origins' `Date`.
const START_MS: u64 = 1_800_000_000_000;

/// An origin serving `route` with hyper on a free loopback port, dated at [`START_MS`]; its
/// URL.
async fn origin(route: Route, seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let target = req.uri().path_and_query().unwrap().to_string();
                        let (status, headers, body) = route(&req);
                        seen.0.lock().unwrap().push((
                            req.method().to_string(),
                            target,
                            req.headers().clone(),
                        ));
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        resp.headers_mut().insert(
                            http::header::DATE,
                            cachearr_httpcache::fields::fmt_http_date(START_MS)
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

/// A gateway of the `http` profile in front of `url`, with the operator's `extra` settings.
struct Gateway {
    proxy: String,
    admin: String,
    client: reqwest::Client,
    _data: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn gateway(url: &str) -> Gateway {
    let data = tempfile::tempdir().unwrap();
    let config = sim_gateway::loopback_config(Profile::Http, url, data.path());
    let clock = Arc::new(ManualClock::new(START_MS));
    let served = sim_gateway::serve(sim_gateway::gateway_builder(config).clock(clock)).await;
    Gateway {
        proxy: served.proxy,
        admin: served.admin,
        client: reqwest::Client::new(),
        _data: data,
        _stop: served.stop,
    }
}

impl Gateway {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = self.client.request(method, format!("{}{path}", self.proxy));
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        tokio::time::timeout(HANG, r.send())
            .await
            .expect("the gateway answers")
            .unwrap()
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.send(reqwest::Method::GET, path, headers).await
    }

    /// The body of a `GET`, which must succeed.
    async fn text(&self, path: &str, headers: &[(&str, &str)]) -> String {
        let resp = self.get(path, headers).await;
        assert_eq!(resp.status(), 200, "{path}");
        resp.text().await.unwrap()
    }

    /// `POST /api/clear` of the admin API with a key prefix, which must succeed.
    async fn clear_prefix(&self, prefix: &str) {
        let cleared = sim_gateway::admin_client()
            .post(format!("{}/api/clear", self.admin))
            .query(&[("prefix", prefix)])
            .send()
            .await
            .unwrap();
        assert_eq!(cleared.status(), 200);
    }
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// H1: a read's framing and the body sent.

/// How the raw origin treats a request's declared body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyHandling {
    /// Answers as soon as the head is read, then reads the declared body and throws it
    /// away before reading the next request (Go's net/http, Kestrel).
    AnswerThenDiscard,
    /// Reads the declared body before answering.
    WaitForBody,
}

/// One request the raw origin read: method, target, lower-case headers, the body it took.
#[derive(Clone, Debug)]
struct RawRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An origin speaking HTTP/1.1 by hand, so that it can treat a declared body as real servers
/// do: each request it read whole (head and the body it took) goes to the channel; a head it
/// cannot read gets a `400` and the connection is closed, as any server does. `/cached`
/// answers `max-age=60`, every other path `no-store`, the body being the path.
async fn raw_origin(handling: BodyHandling) -> (String, mpsc::UnboundedReceiver<RawRequest>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(raw_connection(tcp, handling, tx.clone()));
        }
    });
    (url, rx)
}

async fn raw_connection(
    mut tcp: TcpStream,
    handling: BodyHandling,
    tx: mpsc::UnboundedSender<RawRequest>,
) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let request_line: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let well_formed = request_line.len() == 3
            && request_line[2] == "HTTP/1.1"
            && request_line[0].bytes().all(|b| b.is_ascii_uppercase());
        if !well_formed {
            let _ = tcp
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            return;
        }
        let declared: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut request = RawRequest {
            method: request_line[0].to_owned(),
            target: request_line[1].to_owned(),
            headers,
            body: Vec::new(),
        };
        let cache_control = if request.target == "/cached" {
            "max-age=60"
        } else {
            "no-store"
        };
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncache-control: {cache_control}\r\ncontent-length: {}\r\n\r\n{}",
            request.target.len(),
            request.target
        );
        if handling == BodyHandling::AnswerThenDiscard
            && tcp.write_all(answer.as_bytes()).await.is_err()
        {
            return;
        }
        while buf.len() < declared {
            let mut chunk = [0u8; 4096];
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        request.body = buf.drain(..declared).collect();
        if handling == BodyHandling::WaitForBody && tcp.write_all(answer.as_bytes()).await.is_err()
        {
            return;
        }
        let _ = tx.send(request);
    }
}

/// Receives the origin's next request read whole.
async fn next_request(rx: &mut mpsc::UnboundedReceiver<RawRequest>) -> RawRequest {
    tokio::time::timeout(HANG, rx.recv())
        .await
        .expect("the origin reads the request whole")
        .unwrap()
}

/// A `GET` of `path` carrying the 70-byte body `attack`.
async fn get_with_body(gw: &Gateway, path: &str, attack: &str) -> reqwest::Response {
    let get = gw
        .client
        .get(format!("{}{path}", gw.proxy))
        .body(attack.to_owned());
    tokio::time::timeout(HANG, get.send())
        .await
        .expect("the gateway answers a GET with a body")
        .unwrap()
}

const ATTACK: &str = "GET /stolen HTTP/1.1\r\nhost: x\r\nx-pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_a_read_with_a_body_goes_whole_to_an_origin_that_answers_first() {
    assert_eq!(ATTACK.len(), 70);
    let (url, mut rx) = raw_origin(BodyHandling::AnswerThenDiscard).await;
    let gw = gateway(&url).await;
    let attacker = get_with_body(&gw, "/a", ATTACK).await;
    assert_eq!(attacker.status(), 200);
    // Other users' requests on the pooled connection are read as they were sent.
    for n in 0..3 {
        let victim = gw.get("/b", &[("authorization", "Bearer victim")]).await;
        assert_eq!(victim.status(), 200, "victim request {n}");
        assert_eq!(victim.text().await.unwrap(), "/b");
    }
    // The origin took exactly the body the attacker sent as the body of that request.
    let a = next_request(&mut rx).await;
    assert_eq!((a.method.as_str(), a.target.as_str()), ("GET", "/a"));
    assert_eq!(a.header("content-length"), Some("70"));
    assert_eq!(a.body, ATTACK.as_bytes());
    for _ in 0..3 {
        let b = next_request(&mut rx).await;
        assert_eq!(b.target, "/b");
        assert_eq!(b.header("authorization"), Some("Bearer victim"));
        assert!(b.body.is_empty());
    }
    let cache_status = header(&attacker, "cache-status");
    assert!(
        cache_status.contains("detail=request-body"),
        "{cache_status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_a_read_with_a_body_does_not_hold_an_origin_that_waits_for_it() {
    let (url, mut rx) = raw_origin(BodyHandling::WaitForBody).await;
    let gw = gateway(&url).await;
    let attacks = (0..8).map(|_| get_with_body(&gw, "/a", ATTACK));
    for answer in futures_util::future::join_all(attacks).await {
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "/a");
    }
    for _ in 0..8 {
        assert_eq!(next_request(&mut rx).await.body, ATTACK.as_bytes());
    }
    assert_eq!(gw.text("/b", &[]).await, "/b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_a_read_without_a_body_is_cached_and_sent_without_framing() {
    let (url, mut rx) = raw_origin(BodyHandling::WaitForBody).await;
    let gw = gateway(&url).await;
    let empty = [("content-length", "0")];
    assert_eq!(gw.text("/cached", &empty).await, "/cached");
    let sent = next_request(&mut rx).await;
    assert_eq!(sent.target, "/cached");
    assert_eq!(sent.header("content-length"), None);
    assert_eq!(sent.header("transfer-encoding"), None);
    let again = gw.get("/cached", &empty).await;
    assert!(header(&again, "cache-status").starts_with("cachearr; hit"));
}

// ---------------------------------------------------------------------------------------
// H2, H5: every credential the profile knows keeps a request off anonymous answers.

/// `/me` answers who the origin takes the client for, shareable only between anonymous
/// clients unless the query asks for `public`.
fn me(req: &Request<Incoming>) -> (u16, Vec<(&'static str, String)>, String) {
    let h = req.headers();
    let query = req.uri().query().unwrap_or("");
    let who = if let Some(a) = h.get("authorization") {
        format!("authorization {}", a.to_str().unwrap())
    } else if let Some(c) = h.get("cookie") {
        format!("cookie {}", c.to_str().unwrap())
    } else if let Some(k) = h.get("x-api-key") {
        format!("x-api-key {}", k.to_str().unwrap())
    } else if query.contains("apikey=") || query.contains("access_token=") {
        format!("query {query}")
    } else {
        "anonymous".to_owned()
    };
    let cc = if query.contains("public") {
        "public, max-age=60"
    } else {
        "max-age=60"
    };
    (200, vec![("cache-control", cc.to_owned())], who)
}

/// A request's target and headers, and the answer the origin gives it.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_a_credentialed_request_never_gets_an_anonymous_answer() {
    let seen = Seen::default();
    let gw = gateway(&origin(me, seen.clone()).await).await;
    assert_eq!(gw.text("/me", &[]).await, "anonymous");
    assert_eq!(gw.text("/me", &[]).await, "anonymous");
    assert_eq!(seen.count("/me"), 1, "anonymous clients share it");
    let cases: [Case; 5] = [
        (
            "/me",
            &[("authorization", "Bearer u1")],
            "authorization Bearer u1",
        ),
        ("/me", &[("cookie", "session=u2")], "cookie session=u2"),
        ("/me", &[("x-api-key", "u3")], "x-api-key u3"),
        ("/me?apikey=u4", &[], "query apikey=u4"),
        ("/me?access_token=u5", &[], "query access_token=u5"),
    ];
    for (path, headers, expected) in cases {
        assert_eq!(gw.text(path, headers).await, expected, "{path} {headers:?}");
        // Its own entry answers it the next time.
        assert_eq!(gw.text(path, headers).await, expected, "{path} {headers:?}");
    }
    assert_eq!(
        seen.total(),
        6,
        "one request for each credential, one for the anonymous"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_a_shared_answer_the_origin_marks_public_still_answers_credentials() {
    let seen = Seen::default();
    let gw = gateway(&origin(me, seen.clone()).await).await;
    assert_eq!(gw.text("/me?public", &[]).await, "anonymous");
    let cookie = gw.get("/me?public", &[("cookie", "session=u2")]).await;
    assert!(header(&cookie, "cache-status").starts_with("cachearr; hit"));
    assert_eq!(cookie.text().await.unwrap(), "anonymous");
    assert_eq!(seen.count("/me?public"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h5_access_token_is_a_credential_kept_out_of_the_key() {
    let seen = Seen::default();
    let gw = gateway(&origin(me, seen.clone()).await).await;
    let mine: [(&str, &str); 0] = [];
    assert_eq!(
        gw.text("/me?access_token=t1", &mine).await,
        "query access_token=t1"
    );
    assert_eq!(
        gw.text("/me?access_token=t1", &mine).await,
        "query access_token=t1"
    );
    assert_eq!(seen.count("/me?access_token=t1"), 1, "its own entry");
    assert_eq!(
        gw.text("/me?access_token=t2", &[]).await,
        "query access_token=t2"
    );
    assert_eq!(gw.text("/me", &[]).await, "anonymous", "not shared");
    // The key holds the path without the token: clearing the path's keys reaches it.
    gw.clear_prefix("http GET /me ").await;
    gw.text("/me?access_token=t1", &mine).await;
    assert_eq!(seen.count("/me?access_token=t1"), 2);
    // A public answer asked with a token is the bare URL's shared answer.
    gw.text("/me?public&access_token=t3", &[]).await;
    let anonymous = gw.get("/me?public", &[]).await;
    assert!(header(&anonymous, "cache-status").starts_with("cachearr; hit"));
}

// ---------------------------------------------------------------------------------------
// H3: a cookie the origin sets is the one client's.

fn login(req: &Request<Incoming>) -> (u16, Vec<(&'static str, String)>, String) {
    let user = req
        .headers()
        .get("authorization")
        .map_or("anonymous", |v| v.to_str().unwrap())
        .to_owned();
    let cc = if req.uri().path() == "/private-login" {
        "private, max-age=60"
    } else {
        "public, max-age=60"
    };
    (
        200,
        vec![
            ("cache-control", cc.to_owned()),
            (
                "set-cookie",
                format!("session={}; HttpOnly", user.replace(' ', "-")),
            ),
        ],
        format!("welcome {user}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_a_set_cookie_answer_is_never_given_to_another_client() {
    let seen = Seen::default();
    let gw = gateway(&origin(login, seen.clone()).await).await;
    let first = gw.get("/login", &[("authorization", "Bearer alice")]).await;
    assert_eq!(
        header(&first, "set-cookie"),
        "session=Bearer-alice; HttpOnly"
    );
    assert!(header(&first, "cache-status").contains("fwd=uri-miss"));
    let anonymous = gw.get("/login", &[]).await;
    assert_eq!(
        header(&anonymous, "set-cookie"),
        "session=anonymous; HttpOnly"
    );
    assert_eq!(anonymous.text().await.unwrap(), "welcome anonymous");
    let again = gw.get("/login", &[]).await;
    assert_eq!(header(&again, "set-cookie"), "session=anonymous; HttpOnly");
    assert_eq!(seen.count("/login"), 3, "nothing shared");
    // One user's own entry keeps the answer, not the cookie it set once.
    let alice = [("authorization", "Bearer alice")];
    let set = gw.get("/private-login", &alice).await;
    assert_eq!(header(&set, "set-cookie"), "session=Bearer-alice; HttpOnly");
    let hit = gw.get("/private-login", &alice).await;
    assert!(header(&hit, "cache-status").starts_with("cachearr; hit"));
    assert_eq!(header(&hit, "set-cookie"), "");
    assert_eq!(hit.text().await.unwrap(), "welcome Bearer alice");
}

// ---------------------------------------------------------------------------------------
// H4: what no key holds does not reach the origin; a method override is its method.

/// `/page` answers with every steering field the origin received, shared for a minute;
/// `/item` is an item an override can delete.
fn steerable(req: &Request<Incoming>) -> (u16, Vec<(&'static str, String)>, String) {
    let shared = vec![("cache-control", "public, max-age=60".to_owned())];
    let h = req.headers();
    if req.uri().path() == "/item" {
        let overridden = h.get("x-http-method-override").is_some();
        let body = if req.method() == http::Method::DELETE || overridden {
            "deleted"
        } else {
            "item"
        };
        return (200, shared, body.to_owned());
    }
    let mut told: Vec<String> = h
        .iter()
        .filter(|(n, _)| {
            let n = n.as_str();
            n.starts_with("x-forwarded-")
                || n == "forwarded"
                || n == "x-real-ip"
                || n.starts_with("x-original-")
                || n == "x-rewrite-url"
        })
        .map(|(n, v)| format!("{n}={}", v.to_str().unwrap()))
        .collect();
    told.sort();
    (200, shared, told.join("\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h4_forwarding_and_rewrite_fields_are_the_gateways_own() {
    let seen = Seen::default();
    let gw = gateway(&origin(steerable, seen.clone()).await).await;
    let steering = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-prefix", "/evil"),
        ("x-forwarded-port", "8443"),
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9;host=evil.example;proto=https"),
        ("x-real-ip", "203.0.113.9"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
    ];
    let poisoned = gw.text("/page", &steering).await;
    // Only what the gateway knows: the address it was asked from.
    assert_eq!(poisoned, "x-forwarded-for=127.0.0.1");
    // A write passed through carries none of them either.
    let write = gw.send(reqwest::Method::POST, "/other", &steering).await;
    assert_eq!(write.status(), 200);
    let (_, _, headers) = seen.last();
    assert_eq!(headers.get("x-forwarded-for").unwrap(), "127.0.0.1");
    assert!(!headers.contains_key("x-original-url"));
    assert!(!headers.contains_key("forwarded"));
    assert_eq!(gw.text("/page", &[]).await, "x-forwarded-for=127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h4_a_method_override_is_passed_through_and_invalidates() {
    let seen = Seen::default();
    let gw = gateway(&origin(steerable, seen.clone()).await).await;
    assert_eq!(gw.text("/item", &[]).await, "item");
    assert_eq!(gw.text("/item", &[]).await, "item");
    assert_eq!(seen.count("/item"), 1);
    let delete = gw
        .get("/item", &[("x-http-method-override", "DELETE")])
        .await;
    assert_eq!(header(&delete, "x-cache"), "BYPASS");
    assert_eq!(delete.text().await.unwrap(), "deleted");
    let (_, _, sent) = seen.last();
    assert_eq!(sent.get("x-http-method-override").unwrap(), "DELETE");
    // The GET's entry was dropped as a DELETE's success drops it, and the DELETE's answer
    // was not stored as the GET's.
    let after = gw.get("/item", &[]).await;
    assert!(!header(&after, "cache-status").starts_with("cachearr; hit"));
    assert_eq!(after.text().await.unwrap(), "item");
    assert_eq!(seen.count("/item"), 3);
    assert_eq!(gw.text("/item", &[]).await, "item");
    assert_eq!(seen.methods(), ["GET", "GET", "GET"]);
}

// ---------------------------------------------------------------------------------------
// H6: what a request's `Connection` names goes no further.

/// Sends `request` as it is on a new connection to the gateway; the answer's status line
/// and body.
async fn raw_request(proxy: &str, request: &str) -> (String, String) {
    let addr = proxy.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let read = async {
        loop {
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before an answer: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.trim().parse().unwrap());
            if body.len() >= length {
                let status = head.lines().next().unwrap().to_owned();
                return (status, body[..length].to_owned());
            }
        }
    };
    tokio::time::timeout(HANG, read).await.expect("an answer")
}

fn echo_hops(req: &Request<Incoming>) -> (u16, Vec<(&'static str, String)>, String) {
    let h = req.headers();
    let mut told: Vec<String> = ["upgrade", "http2-settings", "x-hop", "connection", "te"]
        .into_iter()
        .filter_map(|n| h.get(n).map(|v| format!("{n}={}", v.to_str().unwrap())))
        .collect();
    told.sort();
    (
        200,
        vec![("cache-control", "public, max-age=60".to_owned())],
        format!("[{}]", told.join(",")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h6_connection_named_fields_and_an_h2c_upgrade_are_not_forwarded() {
    let seen = Seen::default();
    let gw = gateway(&origin(echo_hops, seen.clone()).await).await;
    let host = gw.proxy.trim_start_matches("http://").to_owned();
    let request = format!(
        "GET /hops HTTP/1.1\r\nhost: {host}\r\nconnection: Upgrade, HTTP2-Settings, X-Hop\r\n\
         upgrade: h2c\r\nhttp2-settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nx-hop: one-hop-only\r\n\r\n"
    );
    let (status, body) = raw_request(&gw.proxy, &request).await;
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(body, "[]");
    assert_eq!(seen.count("/hops"), 1);
    let (_, _, sent) = seen.last();
    for name in ["upgrade", "http2-settings", "x-hop"] {
        assert!(!sent.contains_key(name), "{name} reached the origin");
    }
}
