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

/// The next text message, whatever its kind.
async fn next_message(socket: &mut Socket) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let frame = socket.next().await.expect("socket open").expect("frame");
            if let Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).expect("json frame");
            }
        }
    })
    .await
    .expect("a message arrived")
}

/// Sends `text` and waits for the answer to a keep-alive sent after it: the server has read
/// `text` by then (it reads a connection's messages in order).
async fn send_and_settle(socket: &mut Socket, text: &str) {
    socket
        .send(Message::text(text.to_owned()))
        .await
        .expect("sent");
    socket
        .send(Message::text(r#"{"MessageType":"KeepAlive"}"#))
        .await
        .expect("keep-alive sent");
    next_of(socket, "KeepAlive").await;
}

fn user_of(sim: &Sim, name: &str) -> cachearr_sim::state::User {
    sim.state()
        .users()
        .iter()
        .find(|u| u.name == name)
        .expect("user")
        .clone()
}

/// A player's report of `guid` playing, from device `device` of the token's user.
async fn report_playing(server: &TestServer, token: &str, device: &str, guid: &str) {
    let auth = format!(
        r#"MediaBrowser Client="Player", Device="{device}", DeviceId="{device}", Version="1", Token="{token}""#
    );
    let response = reqwest::Client::new()
        .post(format!("{}/Sessions/Playing", server.base_url))
        .header("Authorization", auth)
        .json(&serde_json::json!({"ItemId": guid, "PositionTicks": 0, "IsPaused": false}))
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_success(), "{}", response.status());
}

async fn mark_played(server: &TestServer, token: &str, guid: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/UserPlayedItems/{guid}", server.base_url))
        .header("X-Emby-Token", token)
        .send()
        .await
        .expect("sent");
    assert!(response.status().is_success());
}

/// The session of device `device` in a `Sessions` list.
fn session_of<'a>(list: &'a Value, device: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|s| s["DeviceId"] == device)
}

#[tokio::test]
async fn sessions_start_sends_the_sessions_list_when_a_playback_starts() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let mut socket = connect(&server, &server.token).await;
    next_of(&mut socket, "ForceKeepAlive").await;
    send_and_settle(
        &mut socket,
        r#"{"MessageType":"SessionsStart","Data":"0,1500"}"#,
    )
    .await;

    let (_, guid) = first_of(&sim, ItemKind::Track);
    let bob = token_of(&sim, "bob");
    report_playing(&server, &bob, "bobs-player", &guid).await;
    // The player's session starts (its first request), then its playback: the last list
    // sent shows the track playing.
    let playing = until_playing(&mut socket, "bobs-player", &guid).await;
    assert_eq!(playing["UserName"], "bob");
    assert_eq!(playing["PlayState"]["IsPaused"], false);

    // The same SessionInfoDto as `/Sessions` answers an administrator.
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/Sessions", server.base_url))
        .header("X-Emby-Token", &server.token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(session_of(&listed, "bobs-player"), Some(&playing));
}

#[tokio::test]
async fn sessions_stop_ends_the_subscription() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let mut socket = connect(&server, &server.token).await;
    next_of(&mut socket, "ForceKeepAlive").await;
    send_and_settle(
        &mut socket,
        r#"{"MessageType":"SessionsStart","Data":"0,1500"}"#,
    )
    .await;
    send_and_settle(&mut socket, r#"{"MessageType":"SessionsStop"}"#).await;
    let (_, guid) = first_of(&sim, ItemKind::Track);
    report_playing(&server, &server.token, "player", &guid).await;
    // The owner's own play state comes after the playback on the same socket; no list
    // comes before it.
    mark_played(&server, &server.token, &guid).await;
    let next = next_message(&mut socket).await;
    assert_eq!(next["MessageType"], "UserDataChanged", "{next}");
}

#[tokio::test]
async fn a_non_administrator_hears_only_of_their_own_sessions_from_10_11() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let bob = user_of(&sim, "bob");
    let mut socket = connect(&server, &bob.jellyfin_token).await;
    next_of(&mut socket, "ForceKeepAlive").await;
    send_and_settle(
        &mut socket,
        r#"{"MessageType":"SessionsStart","Data":"0,1500"}"#,
    )
    .await;
    let (_, guid) = first_of(&sim, ItemKind::Track);
    // The owner's playback is sent to bob's subscription too, as a list without it.
    report_playing(&server, &server.token, "owners-player", &guid).await;
    let message = next_of(&mut socket, "Sessions").await;
    let list = message["Data"].as_array().expect("a list");
    assert!(!list.is_empty(), "bob's own socket session is listed");
    for session in list {
        assert_eq!(session["UserId"], bob.jellyfin_id.as_str(), "{session}");
    }
}

#[tokio::test]
async fn before_10_11_only_an_administrator_may_subscribe() {
    let sim = sim(Vec::new());
    let server = sim
        .start_jellyfin_test_server(JellyfinOptions {
            version: cachearr_sim::jellyfin::JellyfinVersion::V10_10,
            ..JellyfinOptions::default()
        })
        .await
        .expect("server starts");
    let bob = token_of(&sim, "bob");
    let mut socket = connect(&server, &bob).await;
    next_of(&mut socket, "ForceKeepAlive").await;
    send_and_settle(
        &mut socket,
        r#"{"MessageType":"SessionsStart","Data":"0,1500"}"#,
    )
    .await;
    let (_, guid) = first_of(&sim, ItemKind::Track);
    report_playing(&server, &bob, "bobs-player", &guid).await;
    mark_played(&server, &bob, &guid).await;
    let next = next_message(&mut socket).await;
    assert_eq!(next["MessageType"], "UserDataChanged", "{next}");

    let mut admin = connect(&server, &server.token).await;
    next_of(&mut admin, "ForceKeepAlive").await;
    send_and_settle(
        &mut admin,
        r#"{"MessageType":"SessionsStart","Data":"0,1500"}"#,
    )
    .await;
    report_playing(&server, &bob, "bobs-player", &guid).await;
    let message = next_of(&mut admin, "Sessions").await;
    assert!(session_of(&message["Data"], "bobs-player").is_some());
}

/// A session's activity after more than 10 s idle is sent only once the subscription's
/// interval has passed; a session's start and a playback are sent at once.
#[tokio::test]
async fn activity_is_throttled_by_the_interval_and_playback_is_not() {
    let sim = sim(Vec::new());
    let server = start(&sim).await;
    let (_, guid) = first_of(&sim, ItemKind::Track);
    let bob = token_of(&sim, "bob");
    // The sessions of the requests below exist before the subscription, so that each report
    // below is one message (a new session would be another).
    mark_played(&server, &server.token, &guid).await;
    report_playing(&server, &bob, "bobs-player", &guid).await;
    let mut socket = connect(&server, &server.token).await;
    next_of(&mut socket, "ForceKeepAlive").await;
    // An hour between throttled messages: nothing in this test waits that long.
    send_and_settle(
        &mut socket,
        r#"{"MessageType":"SessionsStart","Data":"0,3600000"}"#,
    )
    .await;
    report_playing(&server, &bob, "bobs-player", &guid).await;
    until_playing(&mut socket, "bobs-player", &guid).await;
    // The owner's session, idle for more than 10 s, is active again: held back by the
    // interval, so the owner's play-state change that follows is the next message.
    sim.advance_clock(11);
    mark_played(&server, &server.token, &guid).await;
    let next = next_message(&mut socket).await;
    assert_eq!(next["MessageType"], "UserDataChanged", "{next}");
    // A playback's report is sent whatever the interval.
    report_playing(&server, &bob, "bobs-player", &guid).await;
    next_of(&mut socket, "Sessions").await;
}

/// The `Sessions` messages until one shows `guid` playing on `device`; that session.
async fn until_playing(socket: &mut Socket, device: &str, guid: &str) -> Value {
    loop {
        let message = next_of(socket, "Sessions").await;
        if let Some(session) = session_of(&message["Data"], device)
            && session["NowPlayingItem"]["Id"] == guid
        {
            return session.clone();
        }
    }
}
