//! The admin listener against web pages in the operator's browser, end to end on a real
//! gateway: other host names are refused (DNS rebinding), changes are refused when cross-site
//! or form-like, and webhooks need the webhook secret, made at first start and kept 0600 in the
//! data directory. Each refusal comes with the case it must not break.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use std::os::unix::fs::PermissionsExt as _;

use cachearr_testkit::http::{get_json, json_answer};
use sim_gateway::{Running, start};

/// A plain client: no marker header, like a browser's form post or a no-cors fetch.
fn bare() -> reqwest::Client {
    reqwest::Client::new()
}

/// What this module's tests do through the fixture's gateway.
trait GuardedRequests {
    fn admin_port(&self) -> u16;
    async fn cached(&self) -> bool;
}

impl GuardedRequests for Running {
    fn admin_port(&self) -> u16 {
        self.admin.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Caches `/library/sections` and checks it is a `HIT`: a clear that got through would
    /// turn it into a `MISS`.
    async fn cached(&self) -> bool {
        self.x_cache("/library/sections", false).await == "HIT"
    }
}

#[tokio::test]
async fn other_host_names_are_refused_and_loopback_ip_and_configured_names_answered() {
    let gw = start(|c| c.admin_allowed_hosts = vec!["cachearr.home.lan".into()]).await;
    let port = gw.admin_port();
    let status = |host: String, path: &'static str| {
        let url = format!("{}{path}", gw.admin);
        async move {
            bare()
                .get(url)
                .header("host", host)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends that name.
    for path in ["/api/stats", "/api/lookup?q=x", "/api/webhooks", "/"] {
        assert_eq!(
            status(format!("rebound.example:{port}"), path).await,
            403,
            "{path}"
        );
        assert_eq!(
            status("localhost.evil.example".into(), path).await,
            403,
            "{path}"
        );
    }
    let refused = bare()
        .get(format!("{}/api/stats", gw.admin))
        .header("host", "rebound.example")
        .send()
        .await
        .unwrap();
    let text = refused.text().await.unwrap();
    assert!(text.contains("admin_allowed_hosts"), "{text}");
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("192.168.1.5:{port}"),
        "cachearr.home.lan".into(),
        format!("CACHEARR.home.lan:{port}"),
    ] {
        assert_eq!(status(host.clone(), "/api/stats").await, 200, "{host}");
    }
}

#[tokio::test]
async fn cross_site_and_form_like_changes_are_refused_and_tools_and_the_dashboard_are_not() {
    let gw = start(|_| {}).await;
    let clear = format!("{}/api/clear", gw.admin);
    let here = format!("127.0.0.1:{}", gw.admin_port());
    gw.x_cache("/library/sections", false).await;
    assert!(gw.cached().await);
    let refused: Vec<(&str, reqwest::RequestBuilder)> = vec![
        // A plain HTML form post from any page (no preflight).
        (
            "form post",
            bare()
                .post(&clear)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", "http://evil.example")
                .header("sec-fetch-site", "cross-site")
                .body("x=1"),
        ),
        // The same from a browser too old to say where it comes from.
        (
            "form post without browser headers",
            bare()
                .post(&clear)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("x=1"),
        ),
        (
            "text/plain post",
            bare()
                .post(&clear)
                .header("content-type", "text/plain")
                .body("x"),
        ),
        (
            "multipart post",
            bare()
                .post(&clear)
                .multipart(reqwest::multipart::Form::new().text("a", "b")),
        ),
        // A no-cors fetch with no body.
        ("body-less post", bare().post(&clear)),
        // Cross-site even with the marker (a page cannot set it without a preflight, but a
        // browser that says cross-site is believed).
        (
            "cross-site",
            gw.client
                .post(&clear)
                .header("sec-fetch-site", "cross-site"),
        ),
        (
            "same-site, other port",
            gw.client.post(&clear).header("sec-fetch-site", "same-site"),
        ),
        (
            "other origin",
            gw.client
                .post(&clear)
                .header("origin", "http://127.0.0.1:3000"),
        ),
        (
            "null origin",
            gw.client.post(&clear).header("origin", "null"),
        ),
    ];
    for (case, request) in refused {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{case}");
        assert!(gw.cached().await, "{case} cleared the cache");
    }
    // Warm and index builds are guarded the same way.
    for path in ["/api/warm", "/api/index/build"] {
        let status = bare()
            .post(format!("{}{path}", gw.admin))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "{path}");
    }

    // Tools: the marker header (what `cachearr cache clear` sends), or a JSON body.
    let allowed: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "marker",
            bare().post(&clear).header("x-cachearr-request", "1"),
        ),
        (
            "json",
            bare()
                .post(&clear)
                .header("content-type", "application/json")
                .body("{}"),
        ),
        // The dashboard: the browser says same-origin, the page sends the marker.
        (
            "dashboard",
            bare()
                .post(&clear)
                .header("origin", format!("http://{here}"))
                .header("sec-fetch-site", "same-origin")
                .header("x-cachearr-request", "1"),
        ),
    ];
    for (case, request) in allowed {
        gw.x_cache("/library/sections", false).await;
        assert!(gw.cached().await);
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{case}");
        assert!(!gw.cached().await, "{case} did not clear");
    }
}

#[tokio::test]
async fn webhooks_need_the_secret_made_at_first_start_and_kept_private() {
    let gw = start(|c| c.admin_token = Some("admin-t0ken".into())).await;
    let file = gw.data.path().join("webhook_secret");
    let secret = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_eq!(secret.len(), 32);
    assert_eq!(secret, gw.gateway.webhook_secret());
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let payload = serde_json::json!({
        "event": "library.new",
        "Metadata": {"ratingKey": "1", "librarySectionID": "1", "type": "track"}
    })
    .to_string();
    let hook = |query: String| {
        let url = format!("{}/webhooks/plex{query}", gw.admin);
        let form = reqwest::multipart::Form::new().text("payload", payload.clone());
        // A media server's post: multipart, no marker, no browser headers.
        bare().post(url).multipart(form)
    };
    for (case, request) in [
        ("no secret", hook(String::new())),
        (
            "wrong secret",
            hook("?secret=0123456789abcdef0123456789abcdef".into()),
        ),
        ("wrong admin token", hook("?token=nope".into())),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{case}");
    }
    for (case, request) in [
        ("secret in the URL", hook(format!("?secret={secret}"))),
        ("named upstream", hook(format!("/plex?secret={secret}"))),
        (
            "secret header",
            hook(String::new()).header("x-cachearr-webhook-secret", &secret),
        ),
        ("admin token", hook("?token=admin-t0ken".into())),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{case}");
    }
    // The dashboard shows the URLs (the admin token is configured, so it is needed: without
    // it the answer holds no secret).
    let webhooks = format!("{}/api/webhooks", gw.admin);
    let info = get_json(&bare(), &webhooks).await;
    assert_eq!(info, serde_json::json!({"needs_admin_token": true}));
    let info = json_answer(bare().get(&webhooks).bearer_auth("admin-t0ken")).await;
    assert_eq!(info["secret"], secret.as_str());
    assert_eq!(
        info["upstreams"][0]["path"],
        format!("/webhooks/plex/plex?secret={secret}")
    );
}

#[tokio::test]
async fn the_webhook_secret_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut secrets = Vec::new();
    for _ in 0..2 {
        let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
        let config = sim_gateway::loopback_config(
            cachearr_dialect::Profile::Plex,
            &sim.base_url,
            data.path(),
        );
        let served = sim_gateway::serve(sim_gateway::gateway_builder(config)).await;
        secrets.push(served.gateway.webhook_secret().to_owned());
        let _ = served.stop.send(());
        served.task.await.unwrap();
    }
    assert_eq!(secrets[0], secrets[1]);
}
