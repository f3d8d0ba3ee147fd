//! Shared test harness: a small scripted Plex-like upstream (axum on 127.0.0.1:0) that counts
//! requests and can be told to fail, and a gateway in front of it on a manual clock (served
//! by `cachearr_testkit::sim_gateway`, as in the other harnesses).

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use cachearr_testkit::sim_gateway;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State, WebSocketUpgrade, ws::Message};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use cachearr_config::{Config, GuardConfig};
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use cachearr_gateway::Gateway;
use cachearr_upstream::secret::Secret;
use sim_gateway::{loopback_config, serve};
use tokio::sync::Notify;

/// The fake upstream's knobs and counters.
#[derive(Default)]
pub struct Upstream {
    /// Requests per path.
    pub hits: Mutex<HashMap<String, usize>>,
    /// Status forced on every non-`/_` route (0 = normal).
    pub fail_status: AtomicU16,
    /// Scrobbles per user.
    pub scrobbles: Mutex<HashMap<String, usize>>,
    /// Gate for `/library/metadata/slow`.
    pub release: Notify,
    pub slow_waiting: AtomicUsize,
}

impl Upstream {
    pub fn count(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
    pub fn total(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

type S = Arc<Upstream>;

/// Tokens the fake upstream knows: token → user name. Bob cannot see section 2.
pub fn user_of(headers: &HeaderMap, q: &HashMap<String, String>) -> Option<&'static str> {
    let t = headers
        .get("x-plex-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("X-Plex-Token").cloned())?;
    match t.as_str() {
        "tok-alice" => Some("alice"),
        "tok-bob" => Some("bob"),
        "tok-carol" => Some("carol"),
        _ => {
            if let Some(n) = t.strip_prefix("tok-user") {
                return Some(Box::leak(format!("user{n}").into_boxed_str()));
            }
            None
        }
    }
}

fn count(s: &S, path: &str) {
    *s.hits.lock().unwrap().entry(path.to_string()).or_default() += 1;
}

fn forced(s: &S) -> Option<Response> {
    match s.fail_status.load(Ordering::SeqCst) {
        0 => None,
        code => Some((StatusCode::from_u16(code).unwrap(), "upstream is broken").into_response()),
    }
}

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn identity(State(s): State<S>) -> Response {
    count(&s, "/identity");
    if let Some(r) = forced(&s) {
        return r;
    }
    (
        [(header::CONTENT_TYPE, "text/xml")],
        r#"<MediaContainer machineIdentifier="abc" version="1.0"/>"#,
    )
        .into_response()
}

async fn sections(
    State(s): State<S>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&s, "/library/sections");
    if let Some(r) = forced(&s) {
        return r;
    }
    let Some(user) = user_of(&headers, &q) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let visible = if user == "bob" { "[1]" } else { "[1,2]" };
    json(format!(
        r#"{{"MediaContainer":{{"user":"{user}","sections":{visible}}}}}"#
    ))
}

async fn section_all(
    State(s): State<S>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&s, &format!("/library/sections/{id}/all"));
    let Some(user) = user_of(&headers, &q) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if user == "bob" && id == "2" {
        return StatusCode::FORBIDDEN.into_response();
    }
    let start = headers
        .get("x-plex-container-start")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("X-Plex-Container-Start").cloned())
        .unwrap_or_else(|| "0".into());
    json(format!(
        r#"{{"MediaContainer":{{"user":"{user}","section":"{id}","start":{start}}}}}"#
    ))
}

async fn on_deck(
    State(s): State<S>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&s, "/library/onDeck");
    let Some(user) = user_of(&headers, &q) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let n = s.scrobbles.lock().unwrap().get(user).copied().unwrap_or(0);
    json(format!(
        r#"{{"MediaContainer":{{"user":"{user}","scrobbles":{n}}}}}"#
    ))
}

async fn scrobble(
    State(s): State<S>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&s, "/:/scrobble");
    let Some(user) = user_of(&headers, &q) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    *s.scrobbles
        .lock()
        .unwrap()
        .entry(user.to_string())
        .or_default() += 1;
    StatusCode::OK.into_response()
}

async fn sessions(
    State(s): State<S>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&s, "/status/sessions");
    if let Some(r) = forced(&s) {
        return r;
    }
    let Some(user) = user_of(&headers, &q) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let n = s.count("/status/sessions");
    json(format!(
        r#"{{"MediaContainer":{{"user":"{user}","version":{n}}}}}"#
    ))
}

async fn metadata(
    State(s): State<S>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    count(&s, &format!("/library/metadata/{id}"));
    if let Some(r) = forced(&s) {
        return r;
    }
    let Some(user) = user_of(&headers, &q) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match id.as_str() {
        "slow" => {
            s.slow_waiting.fetch_add(1, Ordering::SeqCst);
            s.release.notified().await;
            json(format!(
                r#"{{"MediaContainer":{{"user":"{user}","id":"slow"}}}}"#
            ))
        }
        "garbage" => json(r#"{"MediaContainer":{"size":3,"Metadata":[{"rat"#.to_string()),
        "missing" => StatusCode::NOT_FOUND.into_response(),
        _ => json(format!(
            r#"{{"MediaContainer":{{"user":"{user}","id":"{id}"}}}}"#
        )),
    }
}

/// 1 MiB of deterministic bytes, with `Range: bytes=a-b` support.
async fn part(State(s): State<S>, headers: HeaderMap) -> Response {
    count(&s, "/library/parts");
    let data: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    if let Some(r) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        let spec = r.trim_start_matches("bytes=");
        let (a, b) = spec.split_once('-').unwrap();
        let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
        return Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {a}-{b}/{}", data.len()),
            )
            .body(Body::from(data[a..=b].to_vec()))
            .unwrap();
    }
    // Streamed in chunks, no content-length: chunked transfer.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(65536).map(|c| Ok(c.to_vec())).collect();
    Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
}

async fn notifications(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|mut socket| async move {
        while let Some(Ok(msg)) = socket.recv().await {
            if let Message::Text(t) = msg
                && socket
                    .send(Message::Text(format!("echo:{t}").into()))
                    .await
                    .is_err()
            {
                break;
            }
        }
    })
}

async fn anything(State(s): State<S>, req: axum::extract::Request) -> Response {
    count(&s, req.uri().path());
    if let Some(r) = forced(&s) {
        return r;
    }
    let method = req.method().to_string();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (StatusCode::OK, format!("{method} {}", body.len())).into_response()
}

/// Starts the fake upstream; returns its address and state.
pub async fn start_upstream() -> (SocketAddr, Arc<Upstream>) {
    let state: S = Arc::new(Upstream::default());
    let app = Router::new()
        .without_v07_checks()
        .route("/identity", get(identity))
        .route("/library/sections", get(sections))
        .route("/library/sections/{id}/all", get(section_all))
        .route("/library/onDeck", get(on_deck))
        .route("/:/scrobble", get(scrobble))
        .route("/status/sessions", get(sessions))
        .route("/library/metadata/{id}", get(metadata))
        .route("/library/parts/{*rest}", get(part))
        .route("/:/websockets/notifications", get(notifications))
        .fallback(any(anything))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, state)
}

/// A running gateway in front of an upstream; it stops on drop (with its stop sender).
pub struct Harness {
    pub gateway: Gateway,
    pub proxy: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    pub _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.header("X-Plex-Token", t);
        }
        r.send().await.unwrap()
    }
}

/// Starts a gateway (memory only, manual clock) in front of `upstream`; `tweak` edits the config.
pub async fn start_gateway(
    upstream: SocketAddr,
    profile: Profile,
    tweak: impl FnOnce(&mut Config),
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = loopback_config(profile, &format!("http://{upstream}"), dir.path());
    config.cache.disk.enabled = false;
    config.upstreams[0].guard = GuardConfig {
        retries: 0,
        retry_backoff: Duration::from_millis(1),
        read_timeout: Duration::from_secs(20),
        ..GuardConfig::default()
    };
    tweak(&mut config);
    let clock = Arc::new(ManualClock::default());
    let served = serve(
        sim_gateway::gateway_builder(config)
            .clock(clock.clone())
            .secret(Secret::from_bytes([42; 16])),
    )
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    Harness {
        gateway: served.gateway,
        proxy: served.proxy_addr,
        clock,
        client,
        _dir: dir,
        _stop: served.stop,
    }
}

pub fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}
