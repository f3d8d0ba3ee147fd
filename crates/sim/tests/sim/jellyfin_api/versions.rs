//! The Jellyfin releases the simulator follows (10.10.7, 10.11.11, 12.0.0), each by its own
//! rules: version string, credentials, route prefixes, the socket's credentials, `GetItems`'
//! recursion and tie order, removed routes — and a release changed under a running client.

use std::time::Duration;

use cachearr_serverfmt::search::fold;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::{JellyfinOptions, JellyfinVersion};
use cachearr_sim::library::SectionKind;
use cachearr_sim::{Sim, TestServer};
use futures_util::StreamExt;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Bound against hanging, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

async fn at(version: JellyfinVersion) -> TestServer {
    at_with(JellyfinOptions {
        version,
        ..JellyfinOptions::default()
    })
    .await
}

async fn at_with(options: JellyfinOptions) -> TestServer {
    let sim = Sim::builder()
        .tracks(120)
        .movies(30)
        .shows(2)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds");
    sim.start_jellyfin_test_server(options)
        .await
        .expect("server starts")
}

fn modern(token: &str) -> String {
    format!(
        r#"MediaBrowser Client="tests", Device="cargo", DeviceId="versions", Version="1", Token="{token}""#
    )
}

async fn status(request: RequestBuilder) -> StatusCode {
    request.send().await.expect("request").status()
}

async fn json(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let response = Client::new()
        .get(format!("{}{path}", server.base_url))
        .header("Authorization", modern(&server.token))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn view_of(server: &TestServer, kind: SectionKind) -> String {
    let lib = server.sim.library();
    let section = lib
        .sections()
        .iter()
        .find(|s| s.kind == kind)
        .expect("section");
    cachearr_sim::jellyfin::view_id(section.id)
}

async fn change_version(server: &TestServer, version: &str) -> StatusCode {
    status(
        Client::new()
            .post(format!("{}/_sim/jellyfin/version", server.base_url))
            .json(&serde_json::json!({ "version": version })),
    )
    .await
}

#[tokio::test]
async fn each_release_reports_its_version() {
    for version in JellyfinVersion::ALL {
        let server = at(version).await;
        let (status, info) = json(&server, "/System/Info/Public").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["Version"], version.version_string());
        assert_eq!(info["ProductName"], "Jellyfin Server");
        let (_, full) = json(&server, "/System/Info").await;
        assert_eq!(full["Version"], version.version_string());
    }
}

#[tokio::test]
async fn twelve_refuses_legacy_credentials_and_keeps_the_modern_ones() {
    let server = at(JellyfinVersion::V12_0).await;
    let token = server.token.clone();
    let url = format!("{}/Users/Me", server.base_url);
    let client = Client::new();
    let legacy = [
        client.get(&url).header("X-Emby-Token", &token),
        client.get(&url).header("X-MediaBrowser-Token", &token),
        client
            .get(&url)
            .header("X-Emby-Authorization", modern(&token)),
        client
            .get(&url)
            .header("Authorization", format!(r#"Emby Token="{token}""#)),
        client.get(format!("{url}?api_key={token}")),
    ];
    for request in legacy {
        assert_eq!(status(request).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        status(client.get(&url).header("Authorization", modern(&token))).await,
        StatusCode::OK
    );
    assert_eq!(
        status(client.get(format!("{url}?ApiKey={token}"))).await,
        StatusCode::OK
    );
    // 10.10 has no setting: legacy credentials always count there.
    let old = at_with(JellyfinOptions {
        version: JellyfinVersion::V10_10,
        legacy_authorization: false,
        ..JellyfinOptions::default()
    })
    .await;
    let url = format!("{}/Users/Me", old.base_url);
    assert_eq!(
        status(client.get(&url).header("X-Emby-Token", &old.token)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_emby_prefixes_reach_the_api_until_12() {
    for (version, expected) in [
        (JellyfinVersion::V10_10, StatusCode::OK),
        (JellyfinVersion::V10_11, StatusCode::OK),
        (JellyfinVersion::V12_0, StatusCode::NOT_FOUND),
    ] {
        let server = at(version).await;
        for prefix in ["/emby", "/MediaBrowser"] {
            let (status, _) = json(&server, &format!("{prefix}/System/Info/Public")).await;
            assert_eq!(status, expected, "{version} {prefix}");
        }
    }
}

async fn handshake(server: &TestServer, query: &str, header: Option<String>) -> u16 {
    let url = format!("ws://{}/socket?deviceId=versions{query}", server.addr);
    let mut request = url.into_client_request().expect("request");
    if let Some(header) = header {
        request
            .headers_mut()
            .insert("Authorization", header.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("handshake failed: {other}"),
    }
}

#[tokio::test]
async fn the_socket_on_12_wants_api_key_or_the_header() {
    let server = at(JellyfinVersion::V12_0).await;
    let token = server.token.clone();
    assert_eq!(
        handshake(&server, &format!("&api_key={token}"), None).await,
        403
    );
    assert_eq!(
        handshake(&server, &format!("&ApiKey={token}"), None).await,
        101
    );
    assert_eq!(handshake(&server, "", Some(modern(&token))).await, 101);
    assert_eq!(handshake(&server, "", None).await, 403);
    let old = at(JellyfinVersion::V10_11).await;
    let token = old.token.clone();
    assert_eq!(
        handshake(&old, &format!("&api_key={token}"), None).await,
        101
    );
}

#[tokio::test]
async fn filters_make_get_items_recursive_on_12() {
    let old = at(JellyfinVersion::V10_11).await;
    let new = at(JellyfinVersion::V12_0).await;
    let movies = old
        .sim
        .library()
        .sections()
        .iter()
        .filter(|s| s.kind == SectionKind::Movies)
        .map(|s| s.items(cachearr_sim::library::ItemKind::Movie).len())
        .sum::<usize>();
    // At the user root, a type filter without `Recursive`.
    let (_, at_root_old) = json(&old, "/Items?IncludeItemTypes=Movie").await;
    let (_, at_root_new) = json(&new, "/Items?IncludeItemTypes=Movie").await;
    assert_eq!(at_root_old["TotalRecordCount"], 0);
    assert_eq!(at_root_new["TotalRecordCount"], movies);
    // Under a library, `IncludeItemTypes` lists it recursively unless `Recursive` was said.
    let music = view_of(&new, SectionKind::Music);
    let path = format!("/Items?ParentId={music}&IncludeItemTypes=Audio");
    let (_, under_old) = json(&old, &path).await;
    let (_, under_new) = json(&new, &path).await;
    assert_eq!(under_old["TotalRecordCount"], 0);
    assert!(
        under_new["TotalRecordCount"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{under_new}"
    );
    let (_, said_no) = json(&new, &format!("{path}&Recursive=false")).await;
    assert_eq!(said_no["TotalRecordCount"], 0);
}

#[tokio::test]
async fn sorted_listings_break_ties_by_sort_name_on_12() {
    let server = at(JellyfinVersion::V12_0).await;
    let path = "/Items?Recursive=true&IncludeItemTypes=Audio&SortBy=ProductionYear&Fields=SortName";
    let (_, page) = json(&server, path).await;
    let rows: Vec<(u64, String)> = page["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["ProductionYear"].as_u64().unwrap_or(0),
                fold(i["SortName"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    assert!(rows.len() > 10);
    let ties = rows.windows(2).filter(|w| w[0].0 == w[1].0).count();
    assert!(ties > 0, "no ties to break");
    for pair in rows.windows(2) {
        assert!(pair[0] <= pair[1], "{pair:?}");
    }
    // 10.11 leaves ties in the database's order.
    let old = at(JellyfinVersion::V10_11).await;
    let (_, old_page) = json(&old, path).await;
    assert_ne!(old_page["Items"], page["Items"]);
}

#[tokio::test]
async fn obsolete_routes_are_gone_on_12_and_storage_came_in_10_11() {
    let client = Client::new();
    for (version, initiate, reviews, easy) in [
        (JellyfinVersion::V10_11, 401, 200, 403),
        (JellyfinVersion::V12_0, 405, 404, 404),
    ] {
        let server = at(version).await;
        let base = &server.base_url;
        let user = server.sim.state().owner().jellyfin_id.clone();
        let item = cachearr_sim::jellyfin::view_id(1);
        let auth = modern(&server.token);
        let got = [
            status(client.get(format!("{base}/QuickConnect/Initiate"))).await,
            status(
                client
                    .get(format!("{base}/Items/{item}/CriticReviews"))
                    .header("Authorization", &auth),
            )
            .await,
            status(
                client
                    .post(format!("{base}/Users/{user}/EasyPassword"))
                    .header("Authorization", &auth)
                    .json(&serde_json::json!({})),
            )
            .await,
        ];
        assert_eq!(
            got.map(|s| s.as_u16()),
            [initiate, reviews, easy],
            "{version}"
        );
        let (storage, _) = json(&server, "/System/Info/Storage").await;
        assert_eq!(storage, StatusCode::OK);
    }
    let old = at(JellyfinVersion::V10_10).await;
    let (storage, _) = json(&old, "/System/Info/Storage").await;
    assert_eq!(storage, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_in_names_ignore_case_on_every_release() {
    for version in JellyfinVersion::ALL {
        let server = at(version).await;
        let owner = server.sim.state().owner().clone();
        let response = Client::new()
            .post(format!("{}/Users/AuthenticateByName", server.base_url))
            .header(
                "Authorization",
                r#"MediaBrowser Client="t", Device="d", DeviceId="x", Version="1""#,
            )
            .json(&serde_json::json!({"Username": owner.name.to_uppercase(), "Pw": owner.password}))
            .send()
            .await
            .expect("sign-in");
        assert_eq!(response.status(), StatusCode::OK, "{version}");
    }
}

#[tokio::test]
async fn an_upgrade_under_a_running_client_drops_the_socket_and_changes_the_rules() {
    let server = at(JellyfinVersion::V10_11).await;
    let token = server.token.clone();
    let url = format!(
        "ws://{}/socket?api_key={token}&deviceId=upgrade",
        server.addr
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("socket opens on 10.11");
    let greeting = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .expect("greeting");
    assert!(matches!(greeting, Some(Ok(_))));

    assert_eq!(change_version(&server, "12.0.0").await, StatusCode::OK);
    // The socket ends (the server restarted); nothing else comes on it.
    loop {
        match tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the socket ends")
        {
            None | Some(Err(_)) => break,
            Some(Ok(message)) if message.is_close() => break,
            Some(Ok(_)) => {}
        }
    }
    let (_, info) = json(&server, "/System/Info/Public").await;
    assert_eq!(info["Version"], "12.0.0");
    assert_eq!(
        handshake(&server, &format!("&api_key={token}"), None).await,
        403
    );
    assert_eq!(
        handshake(&server, &format!("&ApiKey={token}"), None).await,
        101
    );
    let legacy = Client::new()
        .get(format!("{}/Users/Me", server.base_url))
        .header("X-Emby-Token", &token);
    assert_eq!(status(legacy).await, StatusCode::UNAUTHORIZED);

    let control = Client::new()
        .get(format!("{}/_sim/jellyfin/version", server.base_url))
        .send()
        .await
        .expect("control");
    let current: Value = control.json().await.expect("json");
    assert_eq!(current["version"], "12.0.0");
    assert_eq!(
        change_version(&server, "11.0").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(change_version(&server, "10.11").await, StatusCode::OK);
    let (_, info) = json(&server, "/System/Info/Public").await;
    assert_eq!(info["Version"], "10.11.11");
}
