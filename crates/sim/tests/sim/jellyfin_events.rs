//! Jellyfin change events: `/socket` websocket frames and webhook-plugin posts.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Upper bound for an event to arrive; a bound against hanging, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

fn sim(webhooks: Vec<String>) -> Sim {
    Sim::builder()
        .tracks(120)
        .movies(6)
        .shows(1)
        .seed(11)
        .cost(CostModel::zero())
        .webhooks(webhooks)
        .build()
        .expect("sim builds")
}

async fn start(sim: &Sim) -> TestServer {
    sim.start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .expect("server starts")
}

fn token_of(sim: &Sim, name: &str) -> String {
    let state = sim.state();
    state
        .users()
        .iter()
        .find(|u| u.name == name)
        .expect("user")
        .jellyfin_token
        .clone()
}

fn first_of(sim: &Sim, kind: ItemKind) -> (u32, String) {
    let lib = sim.library();
    let id = lib
        .sections()
        .iter()
        .find_map(|s| s.items(kind).first().copied())
        .expect("an item");
    (id, lib.item(id).expect("item").guid_id())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &TestServer, token: &str) -> Socket {
    let url = format!("ws://{}/socket?deviceId=test-socket", server.addr);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Authorization",
        format!(
            r#"MediaBrowser Client="t", Device="d", DeviceId="ws", Version="1", Token="{token}""#
        )
        .parse()
        .expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket opens");
    socket
}

/// The next message of `kind`, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let frame = socket.next().await.expect("socket open").expect("frame");
            if let Message::Text(text) = frame {
                let value: Value = serde_json::from_str(text.as_str()).expect("json frame");
                if value["MessageType"] == kind {
                    return value;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} message arrived"))
}

#[tokio::test]
async fn socket_greets_keeps_alive_and_reports_library_and_user_data_changes() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let mut socket = connect(&server, &server.token).await;
    let hello = next_of(&mut socket, "ForceKeepAlive").await;
    assert_eq!(hello["Data"], 60);
    assert!(hello["MessageId"].as_str().is_some_and(|id| id.len() == 32));
    socket
        .send(Message::text(r#"{"MessageType":"KeepAlive"}"#))
        .await
        .expect("keep-alive sent");
    next_of(&mut socket, "KeepAlive").await;

    let (track, guid) = first_of(&sim, ItemKind::Track);
    sim.rename_item(track, "A Brand New Title")
        .expect("renamed");
    let changed = next_of(&mut socket, "LibraryChanged").await;
    assert_eq!(changed["Data"]["ItemsUpdated"][0], guid.as_str());
    assert_eq!(
        changed["Data"]["CollectionFolders"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(changed["Data"]["IsEmpty"], false);

    let response = reqwest::Client::new()
        .post(format!("{}/UserPlayedItems/{guid}", server.base_url))
        .header("X-Emby-Token", &server.token)
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_success());
    let user_data = next_of(&mut socket, "UserDataChanged").await;
    let owner_id = sim.state().owner().jellyfin_id.clone();
    assert_eq!(user_data["Data"]["UserId"], owner_id.as_str());
    assert_eq!(
        user_data["Data"]["UserDataList"][0]["ItemId"],
        guid.as_str()
    );
    assert_eq!(user_data["Data"]["UserDataList"][0]["Played"], true);

    sim.remove_item(track).expect("removed");
    let removed = next_of(&mut socket, "LibraryChanged").await;
    assert_eq!(removed["Data"]["ItemsRemoved"][0], guid.as_str());
    assert_eq!(
        removed["Data"]["FoldersRemovedFrom"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn sockets_carry_only_what_their_user_may_see() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let mut bob = connect(&server, &token_of(&sim, "bob")).await; // music only
    next_of(&mut bob, "ForceKeepAlive").await;

    let (movie, movie_guid) = first_of(&sim, ItemKind::Movie);
    let (track, track_guid) = first_of(&sim, ItemKind::Track);
    // Another user's play state and a hidden library's change come first; bob's first
    // messages must be about the track.
    let admin_played = reqwest::Client::new()
        .post(format!("{}/UserPlayedItems/{track_guid}", server.base_url))
        .header("X-Emby-Token", &server.token)
        .send()
        .await
        .expect("sent");
    assert!(admin_played.status().is_success());
    sim.rename_item(movie, "Hidden From Bob").expect("renamed");
    sim.rename_item(track, "Seen By Bob").expect("renamed");
    let changed = next_of(&mut bob, "LibraryChanged").await;
    assert_eq!(changed["Data"]["ItemsUpdated"][0], track_guid.as_str());
    assert_ne!(changed["Data"]["ItemsUpdated"][0], movie_guid.as_str());

    let played = reqwest::Client::new()
        .post(format!("{}/UserPlayedItems/{track_guid}", server.base_url))
        .header("X-Emby-Token", token_of(&sim, "bob"))
        .send()
        .await
        .expect("sent");
    assert!(played.status().is_success());
    let user_data = next_of(&mut bob, "UserDataChanged").await;
    let bob_id = sim
        .state()
        .users()
        .iter()
        .find(|u| u.name == "bob")
        .expect("bob")
        .jellyfin_id
        .clone();
    assert_eq!(
        user_data["Data"]["UserId"],
        bob_id.as_str(),
        "admin's change never reaches bob"
    );
}

#[tokio::test]
async fn socket_refuses_unknown_tokens() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let url = format!(
        "ws://{}/socket?api_key=0123456789abcdef0123456789abcdef",
        server.addr
    );
    let refused = tokio_tungstenite::connect_async(url).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected a 401 handshake, got {other:?}"),
    }
    // The query-string key works too.
    let url = format!("ws://{}/socket?api_key={}", server.addr, server.token);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("socket opens");
    let first = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .expect("a greeting");
    let text = match first.expect("open").expect("frame") {
        Message::Text(text) => text.to_string(),
        other => panic!("unexpected frame {other:?}"),
    };
    assert!(text.contains("ForceKeepAlive"));
}

async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, Value)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    async fn collect(
        State(tx): State<mpsc::UnboundedSender<(String, Value)>>,
        headers: axum::http::HeaderMap,
        body: Bytes,
    ) -> &'static str {
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let _ = tx.send((content_type, value));
        "ok"
    }
    let app = Router::new().route("/hook", post(collect)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

async fn next_hook(rx: &mut mpsc::UnboundedReceiver<(String, Value)>, kind: &str) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let (content_type, body) = rx.recv().await.expect("receiver open");
            assert!(
                content_type.starts_with("application/json"),
                "{content_type}"
            );
            if body["NotificationType"] == kind {
                return body;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} webhook arrived"))
}

#[tokio::test]
async fn webhooks_post_the_plugin_json() {
    let (url, mut rx) = receiver().await;
    let sim = sim(vec![format!("jellyfin={url}")]);
    let server = start(&sim).await;
    let (track, guid) = first_of(&sim, ItemKind::Track);
    let client = reqwest::Client::new();

    let played = client
        .post(format!("{}/UserPlayedItems/{guid}", server.base_url))
        .header("X-Emby-Token", token_of(&sim, "alice"))
        .send()
        .await
        .expect("sent");
    assert!(played.status().is_success());
    let saved = next_hook(&mut rx, "UserDataSaved").await;
    assert_eq!(saved["ItemId"], guid.as_str());
    assert_eq!(saved["ItemType"], "Audio");
    assert_eq!(saved["SaveReason"], "TogglePlayed");
    assert_eq!(saved["Played"], true);
    assert_eq!(saved["NotificationUsername"], "alice");
    assert_eq!(
        saved["ServerId"],
        sim.identity().jellyfin_server_id.as_str()
    );
    assert!(saved["Album"].is_string() && saved["Artist"].is_string());
    assert_eq!(
        saved["ServerVersion"], "10.11.11",
        "the release the server is at"
    );

    let start = client
        .post(format!("{}/Sessions/Playing", server.base_url))
        .header(
            "Authorization",
            format!(
                r#"MediaBrowser Client="hooks", DeviceId="hook-dev", Token="{}""#,
                server.token
            ),
        )
        .json(&serde_json::json!({"ItemId": guid, "PositionTicks": 0}))
        .send()
        .await
        .expect("sent");
    assert!(start.status().is_success());
    let playing = next_hook(&mut rx, "PlaybackStart").await;
    assert_eq!(playing["ItemId"], guid.as_str());
    assert_eq!(playing["DeviceId"], "hook-dev");
    assert_eq!(playing["ClientName"], "hooks");

    let album = sim
        .library()
        .item(track)
        .and_then(|t| t.parent())
        .map(|a| a.id())
        .expect("album");
    let added = sim
        .add_item(cachearr_sim::library::NewItem {
            kind: ItemKind::Track,
            section: None,
            parent: Some(album),
            title: "Bonus Track".to_owned(),
            added_at: sim.now(),
        })
        .expect("added");
    let added_guid = sim.library().item(added).expect("new item").guid_id();
    let item_added = next_hook(&mut rx, "ItemAdded").await;
    assert_eq!(item_added["ItemId"], added_guid.as_str());
    assert_eq!(item_added["Name"], "Bonus Track");

    let created = client
        .post(format!("{}/Playlists", server.base_url))
        .header("X-Emby-Token", &server.token)
        .json(&serde_json::json!({"Name": "Hooked", "Ids": [guid]}))
        .send()
        .await
        .expect("sent");
    let playlist: Value = created.json().await.expect("json");
    let hook = next_hook(&mut rx, "ItemAdded").await;
    assert_eq!(hook["ItemType"], "Playlist");
    assert_eq!(hook["ItemId"], playlist["Id"]);
}

/// With a `LibraryUpdateDuration`, changes inside the window arrive as one `LibraryChanged`.
/// The clock is tokio's paused test clock: the window elapses when everything else is idle.
#[tokio::test(start_paused = true)]
async fn library_changes_are_batched_over_the_update_window() {
    let sim = sim(Vec::new());
    let options = JellyfinOptions {
        library_update_delay: Duration::from_secs(10), // below PATIENCE
        ..JellyfinOptions::default()
    };
    let server = sim
        .start_jellyfin_test_server(options)
        .await
        .expect("server starts");
    let mut socket = connect(&server, &server.token).await;
    next_of(&mut socket, "ForceKeepAlive").await;
    let (first, second) = {
        let lib = sim.library();
        let tracks = lib.sections()[0].items(ItemKind::Track);
        (tracks[0], tracks[1])
    };
    sim.rename_item(first, "Batched One").expect("renamed");
    sim.rename_item(second, "Batched Two").expect("renamed");
    let guid = |id| sim.library().item(id).expect("item").guid_id();
    let changed = next_of(&mut socket, "LibraryChanged").await;
    let updated: Vec<&str> = changed["Data"]["ItemsUpdated"]
        .as_array()
        .expect("updated")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(updated, vec![guid(first).as_str(), guid(second).as_str()]);
}
