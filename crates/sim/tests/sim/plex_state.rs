//! Per-user state, writes, playlists, images, media ranges and the cost accounting.

use crate::common;

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind, MOVIES_SECTION, MUSIC_SECTION, SHOWS_SECTION};
use common::*;
use reqwest::Method;

fn first_track(srv: &cachearr_sim::TestServer) -> u32 {
    srv.sim
        .library()
        .section(MUSIC_SECTION)
        .expect("music")
        .items(ItemKind::Track)[3]
}

#[tokio::test]
async fn play_state_is_per_user() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let (alice, bob) = (token_of(&srv, "alice"), token_of(&srv, "bob"));
    let t = first_track(&srv);
    let r = send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/scrobble?key={t}&identifier=com.plexapp.plugins.library"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let a = json_as(&srv, &alice, &format!("/library/metadata/{t}")).await;
    assert_eq!(a["MediaContainer"]["Metadata"][0]["viewCount"], 1);
    let b = json_as(&srv, &bob, &format!("/library/metadata/{t}")).await;
    assert!(
        b["MediaContainer"]["Metadata"][0]
            .get("viewCount")
            .is_none()
    );
    // Rating, then clearing it.
    send_as(
        &srv,
        &bob,
        Method::PUT,
        &format!("/:/rate?key={t}&identifier=com.plexapp.plugins.library&rating=8"),
    )
    .await;
    let b = json_as(&srv, &bob, &format!("/library/metadata/{t}")).await;
    assert_eq!(b["MediaContainer"]["Metadata"][0]["userRating"], 8.0);
    send_as(
        &srv,
        &bob,
        Method::PUT,
        &format!("/:/rate?key={t}&identifier=com.plexapp.plugins.library&rating=-1"),
    )
    .await;
    let b = json_as(&srv, &bob, &format!("/library/metadata/{t}")).await;
    assert!(
        b["MediaContainer"]["Metadata"][0]
            .get("userRating")
            .is_none()
    );
    assert_eq!(
        send_as(
            &srv,
            &bob,
            Method::PUT,
            &format!("/:/rate?key={t}&rating=11")
        )
        .await
        .status(),
        400
    );
    // A mark is not a play: no history yet. Alice then plays the track to the end.
    let h = json_as(&srv, &alice, "/status/sessions/history/all").await;
    assert_eq!(h["MediaContainer"]["size"], 0);
    let duration = srv.sim.library().item(t).expect("track").duration_ms();
    for (state, time) in [("playing", 1_000), ("stopped", duration)] {
        let r = send_as(
            &srv,
            &alice,
            Method::GET,
            &format!(
                "/:/timeline?ratingKey={t}&key=/library/metadata/{t}&state={state}&time={time}"
            ),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    // History: alice sees hers, bob none, the owner everybody's.
    let h = json_as(&srv, &alice, "/status/sessions/history/all").await;
    assert_eq!(h["MediaContainer"]["size"], 1);
    let h = json_as(&srv, &bob, "/status/sessions/history/all").await;
    assert_eq!(h["MediaContainer"]["size"], 0);
    let h = json_as(
        &srv,
        &srv.token,
        "/status/sessions/history/all?sort=viewedAt:desc",
    )
    .await;
    assert_eq!(
        h["MediaContainer"]["Metadata"][0]["ratingKey"],
        t.to_string()
    );
    // Unscrobble.
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/unscrobble?key={t}&identifier=com.plexapp.plugins.library"),
    )
    .await;
    let a = json_as(&srv, &alice, &format!("/library/metadata/{t}")).await;
    assert!(
        a["MediaContainer"]["Metadata"][0]
            .get("viewCount")
            .is_none()
    );
    // A user cannot write to an item of a section they cannot see.
    let episode = srv
        .sim
        .library()
        .section(SHOWS_SECTION)
        .expect("tv")
        .items(ItemKind::Episode)[0];
    let r = send_as(
        &srv,
        &bob,
        Method::GET,
        &format!("/:/scrobble?key={episode}&identifier=com.plexapp.plugins.library"),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        send_as(
            &srv,
            &bob,
            Method::GET,
            "/:/scrobble?identifier=com.plexapp.plugins.library"
        )
        .await
        .status(),
        400
    );
}

#[tokio::test]
async fn timeline_makes_sessions_on_deck_and_scrobbles_near_the_end() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let alice = token_of(&srv, "alice");
    let episode = srv
        .sim
        .library()
        .section(SHOWS_SECTION)
        .expect("tv")
        .items(ItemKind::Episode)[0];
    let duration = srv.sim.library().item(episode).expect("ep").duration_ms();
    let r = send_as(&srv, &alice, Method::GET, &format!("/:/timeline?ratingKey={episode}&key=/library/metadata/{episode}&state=playing&time=60000&duration={duration}")).await;
    assert_eq!(r.status(), 200);
    let s = json_as(&srv, &srv.token, "/status/sessions").await;
    assert_eq!(s["MediaContainer"]["size"], 1);
    assert_eq!(s["MediaContainer"]["Metadata"][0]["viewOffset"], 60000);
    assert_eq!(
        s["MediaContainer"]["Metadata"][0]["User"][0]["title"],
        "alice"
    );
    // Bob sees no session of alice's.
    let s = json_as(&srv, &token_of(&srv, "bob"), "/status/sessions").await;
    assert_eq!(s["MediaContainer"]["size"], 0);
    // Stopped in the middle: on deck for alice (not for the owner).
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={episode}&state=stopped&time=120000"),
    )
    .await;
    let deck = json_as(&srv, &alice, "/library/onDeck").await;
    assert_eq!(
        deck["MediaContainer"]["Metadata"][0]["ratingKey"],
        episode.to_string()
    );
    assert_eq!(deck["MediaContainer"]["Metadata"][0]["viewOffset"], 120000);
    let hub = json_as(&srv, &alice, "/hubs/continueWatching").await;
    assert_eq!(
        hub["MediaContainer"]["Hub"][0]["Metadata"][0]["ratingKey"],
        episode.to_string()
    );
    assert_eq!(
        json_as(&srv, &srv.token, "/library/onDeck").await["MediaContainer"]["size"],
        0
    );
    // Stopped past 90 %: played; the next episode goes on deck.
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={episode}&state=playing&time=1000"),
    )
    .await;
    send_as(
        &srv,
        &alice,
        Method::GET,
        &format!(
            "/:/timeline?ratingKey={episode}&state=stopped&time={}",
            duration - 1000
        ),
    )
    .await;
    let m = json_as(&srv, &alice, &format!("/library/metadata/{episode}")).await;
    assert_eq!(m["MediaContainer"]["Metadata"][0]["viewCount"], 1);
    let deck = json_as(&srv, &alice, "/library/onDeck").await;
    assert_eq!(deck["MediaContainer"]["Metadata"][0]["index"], 2);
    assert_eq!(
        json_as(&srv, &srv.token, "/status/sessions").await["MediaContainer"]["size"],
        0
    );
    let bad = send_as(
        &srv,
        &alice,
        Method::GET,
        &format!("/:/timeline?ratingKey={episode}&state=flying&time=1"),
    )
    .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn playlists_are_private_and_editable() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let (alice, bob) = (token_of(&srv, "alice"), token_of(&srv, "bob"));
    let machine = srv.sim.identity().machine_identifier.clone();
    let tracks: Vec<u32> = srv
        .sim
        .library()
        .section(MUSIC_SECTION)
        .expect("m")
        .items(ItemKind::Track)[..4]
        .to_vec();
    let ids = tracks
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let uri = format!("server://{machine}/com.plexapp.plugins.library/library/metadata/{ids}");
    let path = format!(
        "/playlists?uri={}&type=audio&title=Mine&smart=0",
        urlencode(&uri)
    );
    let r = send_as(&srv, &alice, Method::POST, &path).await;
    assert_eq!(r.status(), 200);
    let created: serde_json::Value = r.json().await.expect("json");
    let pid = created["MediaContainer"]["Metadata"][0]["ratingKey"]
        .as_str()
        .expect("rk")
        .to_string();
    assert_eq!(created["MediaContainer"]["Metadata"][0]["leafCount"], 4);
    let items = json_as(&srv, &alice, &format!("/playlists/{pid}/items")).await;
    let entries: Vec<u64> = items["MediaContainer"]["Metadata"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["playlistItemID"].as_u64().expect("pid"))
        .collect();
    assert_eq!(entries.len(), 4);
    // Bob cannot see or touch it.
    assert_eq!(
        get_as(&srv, &bob, &format!("/playlists/{pid}/items"))
            .await
            .status(),
        404
    );
    assert_eq!(
        json_as(&srv, &bob, "/playlists").await["MediaContainer"]["size"],
        0
    );
    assert_eq!(
        send_as(
            &srv,
            &bob,
            Method::DELETE,
            &format!("/playlists/{pid}/items/{}", entries[0])
        )
        .await
        .status(),
        404
    );
    // Move the last to the front, remove the first original, rename, clear.
    send_as(
        &srv,
        &alice,
        Method::PUT,
        &format!("/playlists/{pid}/items/{}/move", entries[3]),
    )
    .await;
    send_as(
        &srv,
        &alice,
        Method::DELETE,
        &format!("/playlists/{pid}/items/{}", entries[0]),
    )
    .await;
    let items = json_as(&srv, &alice, &format!("/playlists/{pid}/items")).await;
    let order: Vec<String> = items["MediaContainer"]["Metadata"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["ratingKey"].as_str().expect("rk").to_string())
        .collect();
    assert_eq!(
        order,
        vec![
            tracks[3].to_string(),
            tracks[1].to_string(),
            tracks[2].to_string()
        ]
    );
    send_as(
        &srv,
        &alice,
        Method::PUT,
        &format!("/playlists/{pid}?title=Renamed"),
    )
    .await;
    assert_eq!(
        json_as(&srv, &alice, "/playlists").await["MediaContainer"]["Metadata"][0]["title"],
        "Renamed"
    );
    send_as(
        &srv,
        &alice,
        Method::DELETE,
        &format!("/playlists/{pid}/items"),
    )
    .await;
    assert_eq!(
        json_as(&srv, &alice, &format!("/playlists/{pid}/items")).await["MediaContainer"]["size"],
        0
    );
    // Wrong media type and unknown items are refused.
    let movie_uri = format!(
        "server://{machine}/com.plexapp.plugins.library/library/metadata/{}",
        srv.sim
            .library()
            .section(2)
            .expect("movies")
            .items(ItemKind::Movie)[0]
    );
    assert_eq!(
        send_as(
            &srv,
            &alice,
            Method::PUT,
            &format!("/playlists/{pid}/items?uri={}", urlencode(&movie_uri))
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        send_as(
            &srv,
            &alice,
            Method::POST,
            "/playlists?type=audio&title=x&uri=nonsense"
        )
        .await
        .status(),
        400
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn edits_and_filters() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let t = first_track(&srv);
    let r = send_as(&srv, &srv.token, Method::PUT, &format!("/library/sections/1/all?type=10&id={t}&title.value=Zebra%20Crossing%20%C3%A9t%C3%A9&title.locked=1")).await;
    assert_eq!(r.status(), 200);
    let m = json_as(&srv, &srv.token, &format!("/library/metadata/{t}")).await;
    assert_eq!(
        m["MediaContainer"]["Metadata"][0]["title"],
        "Zebra Crossing été"
    );
    // Contains (accent-insensitive), exact both ways, and plexapi's prefixed key form.
    for q in [
        "title=zebra%20crossing%20ete",
        "title==Zebra%20Crossing%20%C3%A9t%C3%A9",
        "track.title%3D=Zebra%20Crossing%20%C3%A9t%C3%A9",
    ] {
        let v = json_as(
            &srv,
            &srv.token,
            &format!("/library/sections/1/all?type=10&{q}"),
        )
        .await;
        assert_eq!(v["MediaContainer"]["size"], 1, "{q}");
        assert_eq!(
            v["MediaContainer"]["Metadata"][0]["ratingKey"],
            t.to_string()
        );
    }
    let v = json_as(
        &srv,
        &srv.token,
        "/library/sections/1/all?type=10&title==Zebra",
    )
    .await;
    assert_eq!(v["MediaContainer"]["size"], 0);
    // Sorting: addedAt descending really is descending.
    let v = json_as(
        &srv,
        &srv.token,
        "/library/sections/2/all?sort=addedAt:desc",
    )
    .await;
    let added: Vec<i64> = v["MediaContainer"]["Metadata"]
        .as_array()
        .expect("m")
        .iter()
        .map(|m| m["addedAt"].as_i64().expect("a"))
        .collect();
    assert!(added.windows(2).all(|w| w[0] >= w[1]));
    // A non-owner cannot edit.
    let r = send_as(
        &srv,
        &token_of(&srv, "alice"),
        Method::PUT,
        &format!("/library/sections/1/all?type=10&id={t}&title.value=x"),
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn images_and_media_ranges() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let t = first_track(&srv);
    let (thumb, part) = {
        let lib = srv.sim.library();
        let item = lib.item(t).expect("t");
        let album = item.parent().expect("album");
        (
            format!(
                "/library/metadata/{}/thumb/{}",
                album.id(),
                album.updated_at()
            ),
            format!("/library/parts/{t}/{}/file.mp3", item.updated_at()),
        )
    };
    let a = get_as(&srv, &srv.token, &thumb).await;
    assert_eq!(a.headers()["content-type"], "image/png");
    let a = a.bytes().await.expect("png");
    let b = get_as(&srv, &srv.token, &thumb)
        .await
        .bytes()
        .await
        .expect("png");
    assert_eq!(a, b);
    assert_eq!(&a[..4], b"\x89PNG");
    let r = get_as(
        &srv,
        &srv.token,
        &format!(
            "/photo/:/transcode?url={}&width=120&height=80",
            thumb.replace('/', "%2F")
        ),
    )
    .await;
    assert_eq!(r.status(), 200);
    let png = r.bytes().await.expect("png");
    let info = png::Decoder::new(std::io::Cursor::new(png.to_vec()))
        .read_info()
        .expect("decodes")
        .info()
        .clone();
    assert_eq!((info.width, info.height), (120, 80));
    assert_eq!(
        get_as(&srv, &srv.token, "/photo/:/transcode?width=10&height=10")
            .await
            .status(),
        400
    );
    // Media bytes: full length, then a range that matches the same bytes.
    let full = get_as(&srv, &srv.token, &part).await;
    let len: u64 = full.headers()["content-length"]
        .to_str()
        .expect("len")
        .parse()
        .expect("n");
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    let full = full.bytes().await.expect("body");
    assert_eq!(full.len() as u64, len);
    let r = client()
        .get(format!("{}{part}", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .header("Range", "bytes=1000-1099")
        .send()
        .await
        .expect("range");
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().expect("cr"),
        format!("bytes 1000-1099/{len}")
    );
    assert_eq!(r.bytes().await.expect("b")[..], full[1000..1100]);
    let r = client()
        .get(format!("{}{part}", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .header("Range", format!("bytes={len}-"))
        .send()
        .await
        .expect("range");
    assert_eq!(r.status(), 416);
    // No token, no media.
    assert_eq!(
        client()
            .get(format!("{}{part}", srv.base_url))
            .send()
            .await
            .expect("r")
            .status(),
        401
    );
}

#[tokio::test]
async fn cost_accounting_grows_with_the_work() {
    // Tiny but non-zero costs: the accounting is exact while the sleeps stay negligible.
    let cost = CostModel {
        base: std::time::Duration::from_micros(1),
        per_item_scanned: std::time::Duration::from_micros(1),
        per_item_returned: std::time::Duration::from_micros(10),
    };
    let sim = Sim::builder()
        .tracks(1_200)
        .movies(5)
        .shows(1)
        .seed(3)
        .cost(cost)
        .build()
        .expect("sim");
    let srv = sim.start_plex_test_server().await.expect("serve");
    let n = sim
        .library()
        .section(MUSIC_SECTION)
        .expect("m")
        .items(ItemKind::Track)
        .len() as u64;
    let measure = |path: &'static str| {
        let srv = &srv;
        async move {
            srv.sim.reset_stats();
            assert_eq!(get_as(srv, &srv.token, path).await.status(), 200);
            srv.sim.stats()
        }
    };
    let page = measure(
        "/library/sections/1/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=50",
    )
    .await;
    assert_eq!((page.items_scanned, page.items_returned), (0, 50));
    assert_eq!(page.cost_us, 1 + 50 * 10);
    let dump = measure("/library/sections/1/all?type=10").await;
    assert_eq!((dump.items_scanned, dump.items_returned), (n, n));
    assert_eq!(dump.cost_us, 1 + n + n * 10);
    assert_eq!(
        dump.routes["GET /library/sections/{id}/all"].cost_us,
        dump.cost_us
    );
    let count = measure("/library/sections/1/all?type=10&title=love&X-Plex-Container-Size=0").await;
    assert_eq!((count.items_scanned, count.items_returned), (n, 0));
    assert!(dump.cost_us > 10 * page.cost_us);
}

#[tokio::test]
async fn added_items_carry_the_real_fields_they_are_given() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let album = srv
        .sim
        .library()
        .section(MUSIC_SECTION)
        .expect("music")
        .items(ItemKind::Album)[0];
    let added = control(
        &srv,
        "/_sim/library/add",
        serde_json::json!({
            "kind": "track", "parent": album, "title": "Harder, Better, Faster, Stronger",
            "duration": 224_000, "originalTitle": "Daft Punk", "year": 2001, "index": 4,
            "disc": 2, "musicbrainzId": "8ed7b6a6-8d3e-4e9b-b3a4-0f4f4b0ab1a1",
            "isrc": "GBDUW0000059", "guid": "plex://track/5d07e453403c6402907b0001",
            "guids": ["mbid://8ed7b6a6-8d3e-4e9b-b3a4-0f4f4b0ab1a1"], "labels": ["Explicit"],
            "file": "/music/Daft Punk/Discovery/2-04 Harder.flac",
            "media": {"audioCodec": "flac", "bitrate": 1_000, "audioChannels": 2}
        }),
    )
    .await;
    let id = added["ids"][0].as_u64().expect("id");
    let m = json_as(&srv, &srv.token, &format!("/library/metadata/{id}")).await;
    let t = &m["MediaContainer"]["Metadata"][0];
    assert_eq!(t["title"], "Harder, Better, Faster, Stronger");
    assert_eq!(t["duration"], 224_000);
    assert_eq!(t["originalTitle"], "Daft Punk");
    assert_eq!(t["year"], 2001);
    assert_eq!(
        (t["index"].clone(), t["parentIndex"].clone()),
        (4.into(), 2.into())
    );
    assert_eq!(t["guid"], "plex://track/5d07e453403c6402907b0001");
    assert_eq!(
        t["Guid"][0]["id"],
        "mbid://8ed7b6a6-8d3e-4e9b-b3a4-0f4f4b0ab1a1"
    );
    assert_eq!(t["Label"][0]["tag"], "Explicit");
    let part = &t["Media"][0]["Part"][0];
    assert_eq!(part["file"], "/music/Daft Punk/Discovery/2-04 Harder.flac");
    assert_eq!(part["container"], "flac");
    assert_eq!(t["Media"][0]["audioCodec"], "flac");
    assert_eq!(t["Media"][0]["bitrate"], 1_000);
    // A misspelt field is refused, not dropped.
    let r = client()
        .post(format!("{}/_sim/library/add", srv.base_url))
        .json(&serde_json::json!({"kind": "track", "parent": album, "title": "x", "yaer": 1}))
        .send()
        .await
        .expect("control");
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("body").contains("yaer"));
    let lib = srv.sim.library();
    let item = lib.item(id as u32).expect("added");
    assert_eq!(item.isrc(), Some("GBDUW0000059"));
}

/// Tag and field edits as python-plexapi sends them: a tag list replaced (`genre[0].tag.tag`),
/// locked, filtered on by its id and removed (`genre[].tag.tag-`, values encoded once more);
/// a field value with its lock; an uploaded poster listed, selected and locked.
#[tokio::test]
async fn tag_field_and_artwork_edits() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let movie = srv
        .sim
        .library()
        .section(MOVIES_SECTION)
        .expect("movies")
        .items(ItemKind::Movie)[0];
    let meta = |v: &serde_json::Value| v["MediaContainer"]["Metadata"][0].clone();
    let edit = |q: String| {
        let srv = &srv;
        async move {
            let path = format!("/library/sections/{MOVIES_SECTION}/all?type=1&id={movie}&{q}");
            let r = send_as(srv, &srv.token, Method::PUT, &path).await;
            assert_eq!(r.status(), 200, "{q}");
        }
    };
    edit(
        "genre[0].tag.tag=Odd%2C%20Tag&genre.locked=1&summary.value=New%20summary&summary.locked=1"
            .into(),
    )
    .await;
    let m = meta(&json_as(&srv, &srv.token, &format!("/library/metadata/{movie}")).await);
    assert_eq!(m["summary"], "New summary");
    // Adding is additive: the movie keeps its own genre beside the new one.
    let genres = m["Genre"].as_array().expect("genres");
    assert_eq!(genres.len(), 2);
    let odd = genres
        .iter()
        .find(|g| g["tag"] == "Odd, Tag")
        .expect("the added genre");
    let filter = odd["filter"].as_str().expect("filter").to_string();
    let locked: Vec<&str> = m["Field"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(locked, ["genre", "summary"]);
    // The tag's filter finds the movie, and only it.
    let v = json_as(
        &srv,
        &srv.token,
        &format!("/library/sections/{MOVIES_SECTION}/all?type=1&{filter}"),
    )
    .await;
    assert_eq!(v["MediaContainer"]["size"], 1);
    assert_eq!(meta(&v)["ratingKey"], movie.to_string());
    // Removal names the tag encoded twice (a comma inside a tag survives); unlocking drops
    // the field.
    edit("genre[].tag.tag-=Odd%252C%2520Tag&genre.locked=0&summary.locked=0".into()).await;
    let m = meta(&json_as(&srv, &srv.token, &format!("/library/metadata/{movie}")).await);
    let genres = m["Genre"].as_array().expect("genres");
    assert_eq!(genres.len(), 1);
    assert_ne!(genres[0]["tag"], "Odd, Tag");
    assert!(m.get("Field").is_none());
    let v = json_as(
        &srv,
        &srv.token,
        &format!("/library/sections/{MOVIES_SECTION}/all?type=1&{filter}"),
    )
    .await;
    assert_eq!(v["MediaContainer"]["size"], 0);
    // An uploaded poster is listed by its SHA-1, selected, and locks the poster.
    let r = common::client()
        .post(format!("{}/library/metadata/{movie}/posters", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .body("not really a jpeg")
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 200);
    let posters = json_as(
        &srv,
        &srv.token,
        &format!("/library/metadata/{movie}/posters"),
    )
    .await;
    let list = posters["MediaContainer"]["Metadata"]
        .as_array()
        .expect("posters");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["selected"], false);
    assert_eq!(
        list[1]["ratingKey"],
        "upload://posters/5a75328649a4df2eb64f0e10f6912f612094e8f4"
    );
    assert_eq!(list[1]["selected"], true);
    let m = meta(&json_as(&srv, &srv.token, &format!("/library/metadata/{movie}")).await);
    assert_eq!(m["Field"][0]["name"], "thumb");
}
