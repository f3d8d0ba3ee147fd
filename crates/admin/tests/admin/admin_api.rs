//! The admin API over real HTTP on loopback, against a recording backend: token checks on every
//! mutation, webhook parsing and rejection, clear/warm arguments, metrics, dashboard assets.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use std::sync::{Arc, Mutex};

use cachearr_admin::{
    AdminBackend, ClearReport, ClearRequest, StatsReport, WarmReport, router_with,
};
use cachearr_dialect::Profile;
use cachearr_dialect::events::ChangeEvent;
use cachearr_gateway::metrics::Metrics;
use cachearr_testkit::eventually_ok;

use cachearr_testkit::sim_gateway;

const ADMIN_TOKEN: &str = "admin-Secret-0123456789";
/// Every wait in this file is bounded by this.
const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Default)]
struct Recorder {
    token: Option<String>,
    metrics: Metrics,
    upstreams: Vec<(String, Profile)>,
    clears: Mutex<Vec<ClearRequest>>,
    warms: Mutex<Vec<Option<String>>>,
    events: Mutex<Vec<(String, &'static str, ChangeEvent)>>,
}

impl AdminBackend for Recorder {
    fn admin_token(&self) -> Option<&str> {
        self.token.as_deref()
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn upstreams(&self) -> Vec<(String, Profile)> {
        self.upstreams.clone()
    }
    async fn stats(&self) -> StatsReport {
        StatsReport {
            uptime_secs: 7,
            warnings: vec!["library index off".into()],
            ..Default::default()
        }
    }
    async fn clear(&self, what: ClearRequest) -> ClearReport {
        self.clears.lock().unwrap().push(what.clone());
        let (scope, value) = match what {
            ClearRequest::All => ("all", None),
            ClearRequest::Tag(t) => ("tag", Some(t)),
            ClearRequest::Prefix(p) => ("prefix", Some(p)),
        };
        ClearReport {
            scope: scope.into(),
            value,
            removed: None,
        }
    }
    async fn warm(&self, upstream: Option<String>) -> WarmReport {
        self.warms.lock().unwrap().push(upstream);
        WarmReport {
            users: 1,
            requested: 2,
            warmed: 2,
            failed: 0,
        }
    }
    async fn apply_event(
        &self,
        upstream: &str,
        source: &'static str,
        event: &ChangeEvent,
    ) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .push((upstream.to_owned(), source, event.clone()));
        event.tags(upstream)
    }
    fn ready(&self) -> Result<(), Vec<String>> {
        Ok(())
    }
}

struct Admin {
    base: String,
    backend: Arc<Recorder>,
    client: reqwest::Client,
}

async fn start(token: Option<&str>, upstreams: &[(&str, Profile)]) -> Admin {
    let backend = Arc::new(Recorder {
        token: token.map(str::to_owned),
        upstreams: upstreams
            .iter()
            .map(|(n, k)| ((*n).to_owned(), *k))
            .collect(),
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router_with(Arc::clone(&backend));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Admin {
        base: format!("http://{addr}"),
        backend,
        client: reqwest::Client::new(),
    }
}

fn plex_only() -> Vec<(&'static str, Profile)> {
    vec![("plex", Profile::Plex), ("jf", Profile::Jellyfin)]
}

#[tokio::test]
async fn mutations_need_the_admin_token_reads_do_not() {
    let admin = start(Some(ADMIN_TOKEN), &plex_only()).await;
    let c = &admin.client;
    let url = |p: &str| format!("{}{p}", admin.base);

    let missing = c.post(url("/api/clear")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = missing.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("admin token"));

    let wrong = c
        .post(url("/api/clear"))
        .bearer_auth("admin-Secret-0123456788")
        .send()
        .await;
    assert_eq!(wrong.unwrap().status(), 401);
    let short = c
        .post(url("/api/warm"))
        .bearer_auth("admin")
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 401);
    assert!(
        admin.backend.clears.lock().unwrap().is_empty(),
        "nothing cleared without the token"
    );
    assert!(admin.backend.warms.lock().unwrap().is_empty());

    let ok = c
        .post(url("/api/clear?tag=plex:section:3"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await;
    assert_eq!(ok.unwrap().status(), 200);
    let ok = c
        .post(url("/api/clear?prefix=plex:GET:/library"))
        .header("X-Cachearr-Token", ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ok = c
        .post(url("/api/warm"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.json::<WarmReport>().await.unwrap().warmed, 2);
    assert_eq!(
        *admin.backend.clears.lock().unwrap(),
        vec![
            ClearRequest::Tag("plex:section:3".into()),
            ClearRequest::Prefix("plex:GET:/library".into())
        ]
    );

    // Webhooks are mutations too: the token may come in the URL, since Plex cannot send headers.
    let hook = |q: &str| {
        c.post(url(&format!("/webhooks/jellyfin{q}")))
            .header("content-type", "application/json")
            .body(r#"{"NotificationType":"PlaybackStart","ItemId":"a"}"#)
            .send()
    };
    assert_eq!(hook("").await.unwrap().status(), 401);
    assert_eq!(hook("?token=nope").await.unwrap().status(), 401);
    assert_eq!(
        hook(&format!("?token={ADMIN_TOKEN}"))
            .await
            .unwrap()
            .status(),
        200
    );

    for read in ["/api/stats", "/metrics", "/health", "/ready", "/"] {
        assert_eq!(
            c.get(url(read)).send().await.unwrap().status(),
            200,
            "{read}"
        );
    }
}

#[tokio::test]
async fn without_a_configured_token_loopback_mutations_are_open() {
    let admin = start(None, &plex_only()).await;
    let response = admin
        .client
        .post(format!("{}/api/clear", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<ClearReport>().await.unwrap().scope, "all");
    assert_eq!(
        *admin.backend.clears.lock().unwrap(),
        vec![ClearRequest::All]
    );
}

#[tokio::test]
async fn an_empty_configured_token_fails_closed() {
    let admin = start(Some(""), &plex_only()).await;
    for presented in ["", "anything"] {
        let response = admin
            .client
            .post(format!("{}/api/clear", admin.base))
            .bearer_auth(presented)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let bare = admin
        .client
        .post(format!("{}/api/warm", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    assert!(admin.backend.clears.lock().unwrap().is_empty());
    assert!(admin.backend.warms.lock().unwrap().is_empty());
}

#[tokio::test]
async fn clear_and_warm_reject_bad_arguments() {
    let admin = start(None, &plex_only()).await;
    let post = |p: &str| admin.client.post(format!("{}{p}", admin.base)).send();
    assert_eq!(
        post("/api/clear?tag=a&prefix=b").await.unwrap().status(),
        400
    );
    assert_eq!(post("/api/clear?tag=").await.unwrap().status(), 400);
    assert_eq!(
        post("/api/warm?upstream=nosuch").await.unwrap().status(),
        404
    );
    assert!(admin.backend.clears.lock().unwrap().is_empty());
    assert_eq!(post("/api/warm?upstream=jf").await.unwrap().status(), 200);
    assert_eq!(
        *admin.backend.warms.lock().unwrap(),
        vec![Some("jf".to_owned())]
    );
}

fn plex_multipart(payload: &str, with_thumb: bool) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().text("payload", payload.to_owned());
    if with_thumb {
        let jpeg = reqwest::multipart::Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
            .file_name("thumb.jpg")
            .mime_str("image/jpeg")
            .unwrap();
        form = form.part("thumb", jpeg);
    }
    form
}

#[tokio::test]
async fn plex_webhook_multipart_applies_exact_tags() {
    let admin = start(None, &plex_only()).await;
    let payload = r#"{"event":"media.scrobble","Account":{"id":1,"title":"owner"},
        "Metadata":{"ratingKey":"1936","parentRatingKey":"1935","grandparentRatingKey":"1934",
        "librarySectionID":"2","type":"episode"}}"#;
    let response = admin
        .client
        .post(format!("{}/webhooks/plex", admin.base))
        .multipart(plex_multipart(payload, true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["applied"], true);
    assert_eq!(
        body["invalidated"],
        serde_json::json!([
            "plex:oplays:1936",
            "plex:plays:1936",
            "plex:oplays:1935",
            "plex:plays:1935",
            "plex:oplays:1934",
            "plex:plays:1934",
            "plex:section:2",
            "plex:across",
            "plex:ondeck",
            "plex:history",
            "plex:items"
        ])
    );
    let events = admin.backend.events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "plex");
    assert_eq!(events[0].1, "plex_webhook");
}

#[tokio::test]
async fn malformed_webhooks_get_clear_4xx_and_change_nothing() {
    let admin = start(None, &plex_only()).await;
    let url = format!("{}/webhooks/plex", admin.base);
    let c = &admin.client;

    let not_json = c
        .post(&url)
        .multipart(plex_multipart("{not json", false))
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let text = not_json.text().await.unwrap();
    assert!(text.contains("malformed JSON"), "{text}");

    let no_payload = reqwest::multipart::Form::new().text("other", "x");
    let response = c.post(&url).multipart(no_payload).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("payload"));

    let no_event = c
        .post(&url)
        .multipart(plex_multipart("{}", false))
        .send()
        .await
        .unwrap();
    assert_eq!(no_event.status(), 400);

    let wrong_type = c
        .post(&url)
        .header("content-type", "text/xml")
        .body("<x/>")
        .send()
        .await;
    assert_eq!(wrong_type.unwrap().status(), 415);

    let truncated = c
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n{\"event\":")
        .send()
        .await
        .unwrap();
    assert!(
        truncated.status().is_client_error(),
        "{}",
        truncated.status()
    );

    let jf = format!("{}/webhooks/jellyfin", admin.base);
    let garbage = c
        .post(&jf)
        .header("content-type", "application/json")
        .body("\u{0}\u{1}")
        .send();
    assert_eq!(garbage.await.unwrap().status(), 400);
    let too_big = c
        .post(&jf)
        .body(vec![b'x'; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);

    assert!(
        admin.backend.events.lock().unwrap().is_empty(),
        "no event from a bad webhook"
    );
}

#[tokio::test]
async fn webhook_upstream_resolution() {
    let admin = start(
        None,
        &[
            ("a", Profile::Plex),
            ("b", Profile::Plex),
            ("jf", Profile::Jellyfin),
        ],
    )
    .await;
    let c = &admin.client;
    let body = r#"{"event":"media.play","Metadata":{"ratingKey":"1"}}"#;
    let send = |path: &str| {
        c.post(format!("{}{path}", admin.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        send("/webhooks/plex").await.unwrap().status(),
        400,
        "ambiguous"
    );
    assert_eq!(send("/webhooks/plex/zzz").await.unwrap().status(), 404);
    assert_eq!(
        send("/webhooks/plex/jf").await.unwrap().status(),
        400,
        "wrong profile"
    );
    let ok = send("/webhooks/plex/b").await.unwrap();
    assert_eq!(ok.status(), 200);
    let value: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(value["invalidated"], serde_json::json!(["b:sessions"]));

    let ignored = c
        .post(format!("{}/webhooks/jellyfin", admin.base))
        .json(&serde_json::json!({"NotificationType": "UserCreated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ignored.status(), 200);
    assert_eq!(
        ignored.json::<serde_json::Value>().await.unwrap()["applied"],
        false
    );
}

#[tokio::test]
async fn metrics_never_carry_tokens_and_have_explicit_buckets() {
    let admin = start(Some(ADMIN_TOKEN), &plex_only()).await;
    let c = &admin.client;
    // Tokens arrive in every position a request can carry them.
    let hook = format!(
        "{}/webhooks/plex?token={ADMIN_TOKEN}&X-Plex-Token=user-tok-42",
        admin.base
    );
    let payload = r#"{"event":"media.stop","Metadata":{"ratingKey":"5"}}"#;
    let response = c
        .post(&hook)
        .multipart(plex_multipart(payload, false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rejected = c
        .post(format!("{}/api/clear", admin.base))
        .bearer_auth("guess-token")
        .send();
    assert_eq!(rejected.await.unwrap().status(), 401);
    admin
        .backend
        .metrics
        .observe_request(&Arc::new("plex".into()), "metadata", "hit", 0.001);

    let text = c
        .get(format!("{}/metrics", admin.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"cachearr_webhooks_total{upstream="plex",outcome="applied"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"le="0.001""#), "{text}");
    for secret in [ADMIN_TOKEN, "user-tok-42", "guess-token"] {
        assert!(!text.contains(secret), "{secret} leaked into metrics");
    }
}

#[tokio::test]
async fn dashboard_and_assets() {
    let admin = start(None, &plex_only()).await;
    let c = &admin.client;
    let page = c
        .get(format!("{}/", admin.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/assets/uPlot.iife.min.js") && page.contains("/assets/dashboard.js"));
    let js = c
        .get(format!("{}/assets/uPlot.iife.min.js", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    let etag = js.headers()["etag"].clone();
    assert!(js.text().await.unwrap().contains("uPlot"));
    let again = c
        .get(format!("{}/assets/uPlot.iife.min.js", admin.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let missing = c
        .get(format!("{}/assets/..%2fmod.rs", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let stats: StatsReport = c
        .get(format!("{}/api/stats", admin.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats.warnings, vec!["library index off"]);
}

/// A real gateway's headline is what its clients sent and got, counted at the proxy listener;
/// cachearr's own server requests are every request sent less the clients' sent on; `/metrics`
/// says the same with bounded labels.
#[tokio::test]
async fn the_headline_counts_the_clients_requests_and_cachearrs_own_apart() {
    let gw = sim_gateway::start(|_| {}).await;
    let get = async |path: &str| gw.x_cache(path, false).await;
    assert_eq!(get("/library/sections").await, "MISS");
    for _ in 0..3 {
        assert_eq!(get("/library/sections").await, "HIT");
    }
    assert_eq!(get("/library/sections/1/all").await, "MISS");

    let stats = eventually_ok(
        "own and clients' server requests add up",
        WAIT,
        async || {
            let stats = gw.stats().await;
            let made: u64 = (stats["upstreams"].as_array().unwrap().iter())
                .map(|u| u["requests_made"].as_u64().unwrap())
                .sum();
            let own = stats["headline"]["own"]["server_requests"]
                .as_u64()
                .unwrap();
            let sent_on = stats["headline"]["clients"]["to_server"].as_u64().unwrap();
            if own + sent_on == made {
                Ok(stats)
            } else {
                Err(format!("{own} + {sent_on} != {made}: {stats}"))
            }
        },
    )
    .await;
    let clients = &stats["headline"]["clients"];
    assert_eq!(clients["requests"], 5, "{stats}");
    assert_eq!(clients["answered_without_server"], 3, "{stats}");
    assert_eq!(clients["hits"], 3, "{stats}");
    assert_eq!(clients["to_server"], 2, "{stats}");
    assert_eq!(clients["cached_reads"], 5, "{stats}");
    assert!(
        (clients["rate"].as_f64().unwrap() - 0.6).abs() < 1e-9,
        "{stats}"
    );
    assert_eq!(
        stats["upstreams"][0]["clients"], *clients,
        "one upstream: the total"
    );
    // cachearr's own reads: the engine's lookups less the clients' five.
    let total = &stats["total"];
    let lookups: u64 = ["hits", "misses", "stale", "coalesced"]
        .iter()
        .map(|k| total[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        stats["headline"]["own"]["reads"].as_u64().unwrap(),
        lookups - 5,
        "{stats}"
    );

    let metrics = (gw.client.get(format!("{}/metrics", gw.admin)).send().await)
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"cachearr_client_answers_total{upstream="plex",answer="hit"} 3"#,
        r#"cachearr_client_answers_total{upstream="plex",answer="server"} 2"#,
        r#"cachearr_server_requests_total{upstream="plex",for="clients"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(
        !metrics.contains(gw.sim.token.as_str()),
        "no token in /metrics"
    );
}
