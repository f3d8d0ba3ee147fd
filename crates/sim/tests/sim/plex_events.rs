//! Change events: websocket frames a client receives and webhook posts a listener receives.

use crate::common;

use axum::body::Bytes;
use axum::http::HeaderMap;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind, MOVIES_SECTION, MUSIC_SECTION};
use common::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(srv: &cachearr_sim::TestServer, token: &str) -> Ws {
    let url = format!(
        "ws://{}/:/websockets/notifications?X-Plex-Token={token}",
        srv.addr
    );
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket")
        .0
}

/// Reads frames until one satisfies `pred` (bounded by PATIENCE so a broken server fails).
async fn wait_for(ws: &mut Ws, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let msg = ws.next().await.expect("open").expect("frame");
            if let Ok(text) = msg.to_text()
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
                && pred(&v)
            {
                return v;
            }
        }
    })
    .await
    .expect("the expected frame arrived")
}

async fn ping(ws: &mut Ws, payload: &'static [u8]) {
    ws.send(Message::Ping(payload.to_vec().into()))
        .await
        .expect("ping");
}

/// A frame's notification, whatever its type.
fn notification(v: &serde_json::Value) -> &serde_json::Value {
    &v["NotificationContainer"]
}

/// A `timeline` frame's entry.
fn timeline_entry(v: &serde_json::Value) -> &serde_json::Value {
    &notification(v)["TimelineEntry"][0]
}

/// An `activity` frame's notification.
fn activity(v: &serde_json::Value) -> &serde_json::Value {
    &notification(v)["ActivityNotification"][0]
}

/// Reads frames until one of `kind` (`timeline`, `activity`, `playing`) arrives.
async fn wait_for_type(ws: &mut Ws, kind: &str) -> serde_json::Value {
    wait_for(ws, |v| notification(v)["type"] == kind).await
}

#[tokio::test]
async fn websocket_sends_timeline_activity_and_playing() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let mut ws = connect(&srv, &srv.token).await;
    let album = item_in(&srv, MUSIC_SECTION, ItemKind::Album, 0);
    let added = add_item(
        &srv,
        serde_json::json!({"kind": "track", "parent": album, "title": "Brand New Song"}),
    )
    .await;
    let id = added["ids"][0].as_u64().expect("id");
    let key = id.to_string();
    let v = wait_for(&mut ws, |v| {
        notification(v)["type"] == "timeline" && timeline_entry(v)["itemID"] == key.as_str()
    })
    .await;
    let entry = timeline_entry(&v);
    assert_eq!(entry["state"], 0);
    assert_eq!(entry["metadataState"], "created");
    assert_eq!(entry["type"], 10);
    assert_eq!(entry["parentItemID"], album.to_string());
    // The new track is listed.
    assert_eq!(
        metadata_as(&srv, &srv.token, id).await["title"],
        "Brand New Song"
    );
    // Rename → state 5; remove → state 9 and gone.
    control(
        &srv,
        "/_sim/library/rename",
        serde_json::json!({"id": id, "title": "Renamed Song"}),
    )
    .await;
    wait_for(&mut ws, |v| {
        timeline_entry(v)["state"] == 5 && timeline_entry(v)["title"] == "Renamed Song"
    })
    .await;
    control(
        &srv,
        "/_sim/library/remove",
        serde_json::json!({"ids": [id]}),
    )
    .await;
    let v = wait_for(&mut ws, |v| timeline_entry(v)["state"] == 9).await;
    assert_eq!(timeline_entry(&v)["metadataState"], "deleted");
    assert_eq!(
        get_as(&srv, &srv.token, &format!("/library/metadata/{id}"))
            .await
            .status(),
        404
    );
    // A section refresh: activity started … ended, visible in /activities meanwhile or not.
    assert_eq!(
        send_as(&srv, &srv.token, Method::GET, "/library/sections/1/refresh")
            .await
            .status(),
        200
    );
    let v = wait_for_type(&mut ws, "activity").await;
    assert_eq!(activity(&v)["event"], "started");
    assert_eq!(activity(&v)["Activity"]["Context"]["librarySectionID"], "1");
    wait_for(&mut ws, |v| activity(v)["event"] == "ended").await;
    // Playback → `playing`.
    let t = item_in(&srv, MUSIC_SECTION, ItemKind::Track, 0);
    timeline(&srv, &srv.token, t, "playing", 5000).await;
    let v = wait_for_type(&mut ws, "playing").await;
    let p = &notification(&v)["PlaySessionStateNotification"][0];
    assert_eq!(
        (
            p["ratingKey"].as_str(),
            p["state"].as_str(),
            p["viewOffset"].as_u64()
        ),
        (Some(t.to_string().as_str()), Some("playing"), Some(5000))
    );
}

#[tokio::test]
async fn websocket_needs_a_token_and_hides_other_sections() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let url = format!("ws://{}/:/websockets/notifications", srv.addr);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    // Bob (music only) does not hear about a new movie; he does hear about a new artist.
    let mut ws = connect(&srv, &token_of(&srv, "bob")).await;
    add_item(
        &srv,
        serde_json::json!({"kind": "movie", "section": 2, "title": "Secret Movie"}),
    )
    .await;
    add_item(
        &srv,
        serde_json::json!({"kind": "artist", "section": 1, "title": "Public Artist"}),
    )
    .await;
    let v = wait_for_type(&mut ws, "timeline").await;
    assert_eq!(timeline_entry(&v)["title"], "Public Artist");
}

async fn hook_receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

async fn next_payload(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) -> serde_json::Value {
    let (headers, body) = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a webhook arrived")
        .expect("open");
    let ctype = headers["content-type"].to_str().expect("ct").to_string();
    assert!(
        ctype.starts_with("multipart/form-data; boundary="),
        "{ctype}"
    );
    let text = String::from_utf8_lossy(&body).to_string();
    assert!(text.contains("name=\"payload\""), "{text}");
    // The JSON part sits between the blank line after the part headers and the next boundary.
    let start = text.find("\r\n\r\n").expect("part body") + 4;
    let end = text[start..].find("\r\n--").expect("boundary") + start;
    serde_json::from_str(&text[start..end]).expect("payload JSON")
}

#[tokio::test]
async fn webhooks_are_multipart_payloads_to_every_url() {
    let (url_a, mut rx_a) = hook_receiver().await;
    let (url_b, mut rx_b) = hook_receiver().await;
    let (url_jf, mut rx_jf) = hook_receiver().await;
    let sim = Sim::builder()
        .tracks(300)
        .movies(5)
        .shows(1)
        .seed(4)
        .cost(CostModel::zero())
        .webhooks([format!("jellyfin={url_jf}"), url_a, format!("plex={url_b}")])
        .build()
        .expect("sim");
    let srv = sim.start_plex_test_server().await.expect("serve");
    let alice = token_of(&srv, "alice");
    let t = item_in(&srv, MUSIC_SECTION, ItemKind::Track, 0);
    scrobble(&srv, &alice, t).await;
    for rx in [&mut rx_a, &mut rx_b] {
        let p = next_payload(rx).await;
        assert_eq!(p["event"], "media.scrobble");
        assert_eq!(p["Account"]["title"], "alice");
        assert_eq!(p["owner"], false);
        assert_eq!(p["Metadata"]["ratingKey"], t.to_string());
        assert_eq!(p["Metadata"]["type"], "track");
        assert_eq!(
            p["Server"]["uuid"],
            sim.identity().machine_identifier.as_str()
        );
    }
    rate(&srv, &alice, t, 6).await;
    let p = next_payload(&mut rx_a).await;
    assert_eq!(
        (p["event"].as_str(), p["rating"].as_str()),
        (Some("media.rate"), Some("6"))
    );
    // Resuming from a pause is its own event, not a second `media.play`.
    for (state, time, event) in [
        ("playing", 1000, "media.play"),
        ("paused", 2000, "media.pause"),
        ("playing", 3000, "media.resume"),
        ("stopped", 4000, "media.stop"),
    ] {
        timeline(&srv, &alice, t, state, time).await;
        assert_eq!(next_payload(&mut rx_a).await["event"], event, "{state}");
    }
    add_item(
        &srv,
        serde_json::json!({"kind": "movie", "section": 2, "title": "New Movie"}),
    )
    .await;
    let p = next_payload(&mut rx_a).await;
    assert_eq!(
        (p["event"].as_str(), p["Metadata"]["title"].as_str()),
        (Some("library.new"), Some("New Movie"))
    );
    // The Jellyfin-only target got nothing from the Plex front end: it is listed first, so a
    // post to it would have been made before the one `rx_a` just received.
    assert!(rx_jf.try_recv().is_err());
    assert!(sim.stats().webhooks_sent >= 8);
}

/// A silenced socket stays open and carries nothing either way (no events, no pongs), as
/// through a relay that lost the connection's state; a socket opened afterwards works; a
/// close (a restart) ends the silent one.
#[tokio::test]
async fn silenced_sockets_carry_nothing_and_close_on_restart() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let mut old = connect(&srv, &srv.token).await;
    ping(&mut old, b"before").await;
    let pong = tokio::time::timeout(PATIENCE, old.next())
        .await
        .expect("pong");
    assert!(matches!(pong, Some(Ok(Message::Pong(_)))), "{pong:?}");
    srv.sim.silence_sockets();
    let mut new = connect(&srv, &srv.token).await;
    ping(&mut old, b"after").await;
    ping(&mut new, b"after").await;
    let movie = item_in(&srv, MOVIES_SECTION, ItemKind::Movie, 0);
    srv.sim
        .rename_item(movie, "Renamed While Silent")
        .expect("rename");
    let (mut pong, mut event) = (false, false);
    while !(pong && event) {
        match tokio::time::timeout(PATIENCE, new.next()).await {
            Ok(Some(Ok(Message::Pong(_)))) => pong = true,
            Ok(Some(Ok(Message::Text(text)))) => event |= text.contains("Renamed While Silent"),
            other => panic!("the new socket answered {other:?}"),
        }
    }
    // The new socket has had its pong and the event; the silent one got neither.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), old.next()).await;
    assert!(quiet.is_err(), "a silenced socket sent {quiet:?}");
    srv.sim.close_sockets();
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            match old.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the silenced socket was closed by the restart");
}
