//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use cachearr_sim::TestServer;

/// Upper bound for waiting on something that must happen; a guard against hangs, not a timing
/// assertion.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .expect("client")
}

pub(crate) async fn get_as(srv: &TestServer, token: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", srv.base_url))
        .header("X-Plex-Token", token)
        .header("Accept", "application/json")
        .header("X-Plex-Client-Identifier", "test-client")
        .header("X-Plex-Product", "cachearr-tests")
        .send()
        .await
        .expect("request")
}

pub(crate) async fn json_as(srv: &TestServer, token: &str, path: &str) -> serde_json::Value {
    let r = get_as(srv, token, path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("json")
}

pub(crate) async fn send_as(
    srv: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    client()
        .request(method, format!("{}{path}", srv.base_url))
        .header("X-Plex-Token", token)
        .header("Accept", "application/json")
        .header("X-Plex-Client-Identifier", "test-client")
        .send()
        .await
        .expect("request")
}

pub(crate) async fn control(
    srv: &TestServer,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let r = client()
        .post(format!("{}{path}", srv.base_url))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("json")
}

pub(crate) fn token_of(srv: &TestServer, name: &str) -> String {
    srv.sim
        .state()
        .user_by_name(name)
        .expect("user")
        .plex_token
        .clone()
}
