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

/// The `index`th item of `kind` in the section `section`.
pub(crate) fn item_in(
    srv: &TestServer,
    section: u32,
    kind: cachearr_sim::library::ItemKind,
    index: usize,
) -> u32 {
    srv.sim
        .library()
        .section(section)
        .expect("section")
        .items(kind)[index]
}

/// The item `item` as `token`'s user sees it: the one entry of `/library/metadata/{item}`.
pub(crate) async fn metadata_as(
    srv: &TestServer,
    token: &str,
    item: impl std::fmt::Display,
) -> serde_json::Value {
    let v = json_as(srv, token, &format!("/library/metadata/{item}")).await;
    v["MediaContainer"]["Metadata"][0].clone()
}

/// Adds an item through the control API; the answer names the new ids in `ids`.
pub(crate) async fn add_item(srv: &TestServer, fields: serde_json::Value) -> serde_json::Value {
    control(srv, "/_sim/library/add", fields).await
}

/// A play-state write to `endpoint` (`/:/scrobble`, `/:/rate`, …) on `item`, naming the
/// library as clients do; `extra` carries the endpoint's own parameters (`&rating=8`).
pub(crate) async fn play_state_write(
    srv: &TestServer,
    token: &str,
    method: reqwest::Method,
    endpoint: &str,
    item: u32,
    extra: &str,
) -> reqwest::Response {
    let path = format!("{endpoint}?key={item}&identifier=com.plexapp.plugins.library{extra}");
    send_as(srv, token, method, &path).await
}

pub(crate) async fn scrobble(srv: &TestServer, token: &str, item: u32) -> reqwest::Response {
    play_state_write(srv, token, reqwest::Method::GET, "/:/scrobble", item, "").await
}

/// Rates `item` out of 10; `-1` clears the rating.
pub(crate) async fn rate(
    srv: &TestServer,
    token: &str,
    item: u32,
    rating: i32,
) -> reqwest::Response {
    let extra = format!("&rating={rating}");
    play_state_write(srv, token, reqwest::Method::PUT, "/:/rate", item, &extra).await
}

/// A player's heartbeat for `item`: its playback `state` at `time` ms.
pub(crate) async fn timeline(
    srv: &TestServer,
    token: &str,
    item: u32,
    state: &str,
    time: u32,
) -> reqwest::Response {
    let path = format!(
        "/:/timeline?ratingKey={item}&key=/library/metadata/{item}&state={state}&time={time}"
    );
    send_as(srv, token, reqwest::Method::GET, &path).await
}
