//! Where the simulated Jellyfin server answers as the real one does and published clients
//! notice: the casing `@jellyfin/sdk`'s `Accept` header gets, the administrators' storage and
//! task pages, the always-written fields of the user's views, a mark-played's `datePlayed`
//! and a new order for every `SortBy=Random`.

use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// What `@jellyfin/sdk` sends with every request.
const SDK_ACCEPT: &str = "application/json,application/json; profile=CamelCase,application/json; profile=PascalCase,text/html";

async fn start() -> TestServer {
    let sim = Sim::builder()
        .tracks(240)
        .movies(12)
        .shows(2)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds");
    sim.start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .expect("server starts")
}

fn token_of(server: &TestServer, name: &str) -> String {
    let state = server.sim.state();
    state
        .user_by_name(name)
        .expect("user")
        .jellyfin_token
        .clone()
}

fn auth(token: &str) -> String {
    format!(
        r#"MediaBrowser Client="tests", Device="cargo", DeviceId="fidelity", Version="1.0", Token="{token}""#
    )
}

async fn get(
    server: &TestServer,
    token: &str,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Client::new()
        .get(format!("{}{path}", server.base_url))
        .header("Authorization", auth(token));
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn owner_login(server: &TestServer) -> Value {
    let owner = server.sim.state().owner().clone();
    serde_json::json!({"Username": owner.name, "Pw": owner.password})
}

#[tokio::test]
async fn the_sdk_accept_header_gets_pascal_case() {
    let server = start().await;
    let owner = server.token.clone();
    let (status, info) = get(&server, &owner, "/System/Info/Public", Some(SDK_ACCEPT)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(info.get("ProductName").is_some(), "{info}");
    assert!(info.get("productName").is_none(), "{info}");
    // Sign-in reads `User` and `AccessToken`.
    let response = Client::new()
        .post(format!("{}/Users/AuthenticateByName", server.base_url))
        .header("Accept", SDK_ACCEPT)
        .header(
            "Authorization",
            r#"MediaBrowser Client="sdk", Device="d", DeviceId="x", Version="1""#,
        )
        .json(&owner_login(&server))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(response.status(), StatusCode::OK);
    let signed_in: Value = response.json().await.expect("json");
    assert!(signed_in["User"]["Id"].is_string(), "{signed_in}");
    assert!(signed_in["AccessToken"].is_string(), "{signed_in}");
    // Asking for the camelCase profile alone still gets it.
    let (_, camel) = get(
        &server,
        &owner,
        "/System/Info/Public",
        Some("application/json; profile=\"CamelCase\""),
    )
    .await;
    assert!(camel.get("productName").is_some(), "{camel}");
}

#[tokio::test]
async fn storage_and_scheduled_tasks_answer_administrators_only() {
    let server = start().await;
    let owner = server.token.clone();
    let bob = token_of(&server, "bob");
    let (status, storage) = get(&server, &owner, "/System/Info/Storage", None).await;
    assert_eq!(status, StatusCode::OK);
    for folder in [
        "ProgramDataFolder",
        "CacheFolder",
        "LogFolder",
        "TranscodingTempFolder",
    ] {
        assert!(storage[folder]["Path"].is_string(), "{folder}: {storage}");
        assert!(storage[folder]["FreeSpace"].as_i64().is_some_and(|f| f > 0));
    }
    let libraries = storage["Libraries"].as_array().expect("libraries");
    assert_eq!(libraries.len(), server.sim.library().sections().len());
    assert!(libraries[0]["Folders"][0]["Path"].is_string());
    let (status, _) = get(&server, &bob, "/System/Info/Storage", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, tasks) = get(&server, &owner, "/ScheduledTasks", None).await;
    assert_eq!(status, StatusCode::OK);
    let tasks = tasks.as_array().expect("a list").clone();
    let names: Vec<&str> = tasks.iter().filter_map(|t| t["Name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "listed by name");
    let scan = tasks
        .iter()
        .find(|t| t["Key"] == "RefreshLibrary")
        .expect("the library scan");
    assert_eq!(scan["State"], "Idle");
    assert_eq!(scan["Triggers"][0]["Type"], "IntervalTrigger");
    let id = scan["Id"].as_str().expect("id");
    let (status, one) = get(&server, &owner, &format!("/ScheduledTasks/{id}"), None).await;
    assert_eq!(
        (status, &one["Key"]),
        (StatusCode::OK, &Value::from("RefreshLibrary"))
    );
    // A scan in progress shows as the task running.
    let section = server.sim.library().sections()[0].id;
    server.sim.start_scan(section);
    let (_, one) = get(&server, &owner, &format!("/ScheduledTasks/{id}"), None).await;
    assert_eq!(one["State"], "Running");
    let (status, _) = get(&server, &owner, "/ScheduledTasks/0000", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&server, &bob, "/ScheduledTasks", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn views_carry_every_always_written_field() {
    let server = start().await;
    let owner = server.token.clone();
    for path in [
        "/UserViews",
        "/UserViews?Fields=Path",
        "/Library/MediaFolders",
    ] {
        let (status, views) = get(&server, &owner, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let views = views["Items"].as_array().expect("items");
        assert!(!views.is_empty());
        for view in views {
            for field in [
                "Etag",
                "SortName",
                "DateCreated",
                "Path",
                "ChildCount",
                "UserData",
            ] {
                assert!(
                    view.get(field).is_some(),
                    "{path}: {field} missing in {view}"
                );
            }
        }
    }
}

#[tokio::test]
async fn mark_played_keeps_the_date_played() {
    let server = start().await;
    let owner = server.token.clone();
    let track = server.sim.library().sections()[0].items(ItemKind::Track)[0];
    let guid = server.sim.library().item(track).expect("track").guid_id();
    let played = |date: &str| {
        Client::new()
            .post(format!(
                "{}/UserPlayedItems/{guid}?datePlayed={date}",
                server.base_url
            ))
            .header("Authorization", auth(&owner))
            .send()
    };
    let response = played("2024-03-01T12:30:00.0000000Z").await.expect("mark");
    assert_eq!(response.status(), StatusCode::OK);
    let data: Value = response.json().await.expect("json");
    assert_eq!(data["Played"], true);
    assert_eq!(data["LastPlayedDate"], "2024-03-01T12:30:00.0000000Z");
    let response = played("yesterday").await.expect("mark");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn random_order_changes_with_every_request() {
    let server = start().await;
    let owner = server.token.clone();
    let path = "/Items?Recursive=true&IncludeItemTypes=Audio&SortBy=Random&Limit=50";
    let mut orders = Vec::new();
    for _ in 0..3 {
        let (status, page) = get(&server, &owner, path, None).await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<String> = page["Items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["Id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids.len(), 50);
        orders.push(ids);
    }
    assert!(
        orders[0] != orders[1] && orders[1] != orders[2],
        "the same order twice"
    );
}
