//! Change events: websocket frames a client receives and webhook posts a listener receives.

use crate::common;

use axum::body::Bytes;
use axum::http::HeaderMap;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind, MUSIC_SECTION};
use common::*;
use futures_util::StreamExt;
use reqwest::Method;
use tokio::sync::mpsc;

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

#[tokio::test]
async fn websocket_sends_timeline_activity_and_playing() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let mut ws = connect(&srv, &srv.token).await;
    let album = srv
        .sim
        .library()
        .section(MUSIC_SECTION)
        .expect("m")
        .items(ItemKind::Album)[0];
    let added = control(
        &srv,
        "/_sim/library/add",
        serde_json::json!({"kind": "track", "parent": album, "title": "Brand New Song"}),
    )
    .await;
    let id = added["ids"][0].as_u64().expect("id").to_string();
    let v = wait_for(&mut ws, |v| {
        v["NotificationContainer"]["type"] == "timeline"
            && v["NotificationContainer"]["TimelineEntry"][0]["itemID"] == id.as_str()
    })
    .await;
    let entry = &v["NotificationContainer"]["TimelineEntry"][0];
    assert_eq!(entry["state"], 0);
    assert_eq!(entry["metadataState"], "created");
    assert_eq!(entry["type"], 10);
    assert_eq!(entry["parentItemID"], album.to_string());
    // The new track is listed.
    let m = json_as(&srv, &srv.token, &format!("/library/metadata/{id}")).await;
    assert_eq!(
        m["MediaContainer"]["Metadata"][0]["title"],
        "Brand New Song"
    );
    // Rename → state 5; remove → state 9 and gone.
    control(
        &srv,
        "/_sim/library/rename",
        serde_json::json!({"id": id.parse::<u32>().expect("n"), "title": "Renamed Song"}),
    )
    .await;
    wait_for(&mut ws, |v| {
        v["NotificationContainer"]["TimelineEntry"][0]["state"] == 5
            && v["NotificationContainer"]["TimelineEntry"][0]["title"] == "Renamed Song"
    })
    .await;
    control(
        &srv,
        "/_sim/library/remove",
        serde_json::json!({"ids": [id.parse::<u32>().expect("n")]}),
    )
    .await;
    let v = wait_for(&mut ws, |v| {
        v["NotificationContainer"]["TimelineEntry"][0]["state"] == 9
    })
    .await;
    assert_eq!(
        v["NotificationContainer"]["TimelineEntry"][0]["metadataState"],
        "deleted"
    );
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
    let v = wait_for(&mut ws, |v| {
        v["NotificationContainer"]["type"] == "activity"
    })
    .await;
    assert_eq!(
        v["NotificationContainer"]["ActivityNotification"][0]["event"],
        "started"
    );
    assert_eq!(
        v["NotificationContainer"]["ActivityNotification"][0]["Activity"]["Context"]["librarySectionID"],
        "1"
    );
    wait_for(&mut ws, |v| {
        v["NotificationContainer"]["ActivityNotification"][0]["event"] == "ended"
    })
    .await;
    // Playback → `playing`.
    let t = srv
        .sim
        .library()
        .section(MUSIC_SECTION)
        .expect("m")
        .items(ItemKind::Track)[0];
    send_as(
        &srv,
        &srv.token,
        Method::GET,
        &format!("/:/timeline?ratingKey={t}&state=playing&time=5000"),
    )
    .await;
    let v = wait_for(&mut ws, |v| v["NotificationContainer"]["type"] == "playing").await;
    let p = &v["NotificationContainer"]["PlaySessionStateNotification"][0];
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
    control(
        &srv,
        "/_sim/library/add",
        serde_json::json!({"kind": "movie", "section": 2, "title": "Secret Movie"}),
    )
    .await;
    control(
        &srv,
        "/_sim/library/add",
        serde_json::json!({"kind": "artist", "section": 1, "title": "Public Artist"}),
    )
    .await;
    let v = wait_for(&mut ws, |v| {
        v["NotificationContainer"]["type"] == "timeline"
    })
    .await;
    assert_eq!(
        v["NotificationContainer"]["TimelineEntry"][0]["title"],
        "Public Artist"
    );
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
    let t = sim
        .library()
        .section(MUSIC_SECTION)
        .expect("m")
        .items(ItemKind::Track)[0];
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/scrobble?key={t}&identifier=com.plexapp.plugins.library"),
    )
    .await;
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
    send_as(
        &srv,
        &alice,
        Method::PUT,
        &format!("/:/rate?key={t}&identifier=com.plexapp.plugins.library&rating=6"),
    )
    .await;
    let p = next_payload(&mut rx_a).await;
    assert_eq!(
        (p["event"].as_str(), p["rating"].as_str()),
        (Some("media.rate"), Some("6"))
    );
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={t}&state=playing&time=1000"),
    )
    .await;
    assert_eq!(next_payload(&mut rx_a).await["event"], "media.play");
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={t}&state=paused&time=2000"),
    )
    .await;
    assert_eq!(next_payload(&mut rx_a).await["event"], "media.pause");
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={t}&state=playing&time=3000"),
    )
    .await;
    assert_eq!(next_payload(&mut rx_a).await["event"], "media.resume");
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={t}&state=stopped&time=4000"),
    )
    .await;
    assert_eq!(next_payload(&mut rx_a).await["event"], "media.stop");
    control(
        &srv,
        "/_sim/library/add",
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
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let mut old = connect(&srv, &srv.token).await;
    old.send(Message::Ping(b"before".to_vec().into()))
        .await
        .expect("ping");
    let pong = tokio::time::timeout(PATIENCE, old.next())
        .await
        .expect("pong");
    assert!(matches!(pong, Some(Ok(Message::Pong(_)))), "{pong:?}");
    srv.sim.silence_sockets();
    let mut new = connect(&srv, &srv.token).await;
    old.send(Message::Ping(b"after".to_vec().into()))
        .await
        .expect("ping");
    new.send(Message::Ping(b"after".to_vec().into()))
        .await
        .expect("ping");
    let movie = srv
        .sim
        .library()
        .section(cachearr_sim::library::MOVIES_SECTION)
        .expect("movies")
        .items(ItemKind::Movie)[0];
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
