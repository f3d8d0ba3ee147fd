//! Per-user state, writes, playlists, images, media ranges and the cost accounting.

use crate::common;

use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind, MOVIES_SECTION, MUSIC_SECTION, SHOWS_SECTION};
use cachearr_sim::{Sim, TestServer};
use common::*;
use reqwest::Method;
use serde_json::Value;

const HISTORY: &str = "/status/sessions/history/all";
const SESSIONS: &str = "/status/sessions";
const ON_DECK: &str = "/library/onDeck";

fn a_track(srv: &TestServer) -> u32 {
    item_in(srv, MUSIC_SECTION, ItemKind::Track, 3)
}

fn an_episode(srv: &TestServer) -> u32 {
    item_in(srv, SHOWS_SECTION, ItemKind::Episode, 0)
}

/// A listing's entries.
fn listed(v: &Value) -> &[Value] {
    v["MediaContainer"]["Metadata"].as_array().expect("entries")
}

/// A listing's first entry.
fn first(v: &Value) -> &Value {
    &v["MediaContainer"]["Metadata"][0]
}

/// How many entries `path` lists for `token`'s user.
async fn size_as(srv: &TestServer, token: &str, path: &str) -> u64 {
    json_as(srv, token, path).await["MediaContainer"]["size"]
        .as_u64()
        .expect("size")
}

/// The owner's `/all` listing of `section` under `query`.
async fn section_all(srv: &TestServer, section: u32, query: &str) -> Value {
    let path = format!("/library/sections/{section}/all?{query}");
    json_as(srv, &srv.token, &path).await
}

/// An edit of the item `item` (of Plex type `item_type`) in `section`: `changes` as the
/// query names them (`title.value=…`, `genre[0].tag.tag=…`, `….locked=1`).
async fn edit_as(
    srv: &TestServer,
    token: &str,
    section: u32,
    item_type: u32,
    item: u32,
    changes: &str,
) -> reqwest::Response {
    let path = format!("/library/sections/{section}/all?type={item_type}&id={item}&{changes}");
    send_as(srv, token, Method::PUT, &path).await
}

async fn unscrobble(srv: &TestServer, token: &str, item: u32) -> reqwest::Response {
    play_state_write(srv, token, Method::GET, "/:/unscrobble", item, "").await
}

/// The URI a playlist names library items by; `ids` is one id or several, comma-separated.
fn library_uri(srv: &TestServer, ids: &str) -> String {
    let machine = &srv.sim.identity().machine_identifier;
    format!("server://{machine}/com.plexapp.plugins.library/library/metadata/{ids}")
}

/// `path` with the owner's token and a `Range` header only, as a media player asks for bytes.
async fn get_range(srv: &TestServer, path: &str, range: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .header("Range", range)
        .send()
        .await
        .expect("range")
}

#[tokio::test]
async fn play_state_is_per_user() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let (alice, bob) = (token_of(&srv, "alice"), token_of(&srv, "bob"));
    let t = a_track(&srv);
    assert_eq!(scrobble(&srv, &alice, t).await.status(), 200);
    assert_eq!(metadata_as(&srv, &alice, t).await["viewCount"], 1);
    assert!(metadata_as(&srv, &bob, t).await.get("viewCount").is_none());
    // Rating, then clearing it.
    rate(&srv, &bob, t, 8).await;
    assert_eq!(metadata_as(&srv, &bob, t).await["userRating"], 8.0);
    rate(&srv, &bob, t, -1).await;
    assert!(metadata_as(&srv, &bob, t).await.get("userRating").is_none());
    assert_eq!(rate(&srv, &bob, t, 11).await.status(), 400);
    // A mark is not a play: no history yet. Alice then plays the track to the end.
    assert_eq!(size_as(&srv, &alice, HISTORY).await, 0);
    let duration = srv.sim.library().item(t).expect("track").duration_ms();
    for (state, time) in [("playing", 1_000), ("stopped", duration)] {
        assert_eq!(timeline(&srv, &alice, t, state, time).await.status(), 200);
    }
    // History: alice sees hers, bob none, the owner everybody's.
    assert_eq!(size_as(&srv, &alice, HISTORY).await, 1);
    assert_eq!(size_as(&srv, &bob, HISTORY).await, 0);
    let h = json_as(&srv, &srv.token, &format!("{HISTORY}?sort=viewedAt:desc")).await;
    assert_eq!(first(&h)["ratingKey"], t.to_string());
    unscrobble(&srv, &alice, t).await;
    assert!(
        metadata_as(&srv, &alice, t)
            .await
            .get("viewCount")
            .is_none()
    );
    // A user cannot write to an item of a section they cannot see.
    assert_eq!(scrobble(&srv, &bob, an_episode(&srv)).await.status(), 404);
    let no_key = "/:/scrobble?identifier=com.plexapp.plugins.library";
    assert_eq!(send_as(&srv, &bob, Method::GET, no_key).await.status(), 400);
}

#[tokio::test]
async fn timeline_makes_sessions_on_deck_and_scrobbles_near_the_end() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let alice = token_of(&srv, "alice");
    let episode = an_episode(&srv);
    let duration = srv.sim.library().item(episode).expect("ep").duration_ms();
    let r = timeline(&srv, &alice, episode, "playing", 60_000).await;
    assert_eq!(r.status(), 200);
    let s = json_as(&srv, &srv.token, SESSIONS).await;
    assert_eq!(s["MediaContainer"]["size"], 1);
    assert_eq!(first(&s)["viewOffset"], 60000);
    assert_eq!(
        first(&s)["User"]["title"],
        "alice",
        "one object, as Plex writes it"
    );
    // Bob, a shared user, may not read the sessions at all; emma, managed in the owner's
    // Home, sees no session of alice's.
    assert_eq!(
        get_as(&srv, &token_of(&srv, "bob"), SESSIONS)
            .await
            .status(),
        401
    );
    assert_eq!(size_as(&srv, &token_of(&srv, "emma"), SESSIONS).await, 0);
    // Stopped in the middle: on deck for alice (not for the owner).
    timeline(&srv, &alice, episode, "stopped", 120_000).await;
    let deck = json_as(&srv, &alice, ON_DECK).await;
    assert_eq!(first(&deck)["ratingKey"], episode.to_string());
    assert_eq!(first(&deck)["viewOffset"], 120000);
    let hub = json_as(&srv, &alice, "/hubs/continueWatching").await;
    assert_eq!(
        hub["MediaContainer"]["Hub"][0]["Metadata"][0]["ratingKey"],
        episode.to_string()
    );
    assert_eq!(size_as(&srv, &srv.token, ON_DECK).await, 0);
    // Stopped past 90 %: played; the next episode goes on deck.
    timeline(&srv, &alice, episode, "playing", 1000).await;
    timeline(&srv, &alice, episode, "stopped", duration - 1000).await;
    assert_eq!(metadata_as(&srv, &alice, episode).await["viewCount"], 1);
    let deck = json_as(&srv, &alice, ON_DECK).await;
    assert_eq!(first(&deck)["index"], 2);
    assert_eq!(size_as(&srv, &srv.token, SESSIONS).await, 0);
    let bad = timeline(&srv, &alice, episode, "flying", 1).await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn playlists_are_private_and_editable() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let (alice, bob) = (token_of(&srv, "alice"), token_of(&srv, "bob"));
    let tracks: Vec<u32> = (0..4)
        .map(|i| item_in(&srv, MUSIC_SECTION, ItemKind::Track, i))
        .collect();
    let ids = tracks
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let path = format!(
        "/playlists?uri={}&type=audio&title=Mine&smart=0",
        urlencode(&library_uri(&srv, &ids))
    );
    let r = send_as(&srv, &alice, Method::POST, &path).await;
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.expect("json");
    let pid = first(&created)["ratingKey"]
        .as_str()
        .expect("rk")
        .to_string();
    assert_eq!(first(&created)["leafCount"], 4);
    let items = format!("/playlists/{pid}/items");
    let entries: Vec<u64> = listed(&json_as(&srv, &alice, &items).await)
        .iter()
        .map(|i| i["playlistItemID"].as_u64().expect("pid"))
        .collect();
    assert_eq!(entries.len(), 4);
    let entry = |i: usize| format!("{items}/{}", entries[i]);
    // Bob cannot see or touch it.
    assert_eq!(get_as(&srv, &bob, &items).await.status(), 404);
    assert_eq!(size_as(&srv, &bob, "/playlists").await, 0);
    let r = send_as(&srv, &bob, Method::DELETE, &entry(0)).await;
    assert_eq!(r.status(), 404);
    // Move the last to the front, remove the first original, rename, clear.
    send_as(&srv, &alice, Method::PUT, &format!("{}/move", entry(3))).await;
    send_as(&srv, &alice, Method::DELETE, &entry(0)).await;
    let order: Vec<String> = listed(&json_as(&srv, &alice, &items).await)
        .iter()
        .map(|i| i["ratingKey"].as_str().expect("rk").to_string())
        .collect();
    assert_eq!(
        order,
        [tracks[3], tracks[1], tracks[2]].map(|t| t.to_string())
    );
    let rename = format!("/playlists/{pid}?title=Renamed");
    send_as(&srv, &alice, Method::PUT, &rename).await;
    let lists = json_as(&srv, &alice, "/playlists").await;
    assert_eq!(first(&lists)["title"], "Renamed");
    send_as(&srv, &alice, Method::DELETE, &items).await;
    assert_eq!(size_as(&srv, &alice, &items).await, 0);
    // Wrong media type and unknown items are refused.
    let movie = item_in(&srv, MOVIES_SECTION, ItemKind::Movie, 0).to_string();
    let add_movie = format!("{items}?uri={}", urlencode(&library_uri(&srv, &movie)));
    let r = send_as(&srv, &alice, Method::PUT, &add_movie).await;
    assert_eq!(r.status(), 400);
    let nonsense = "/playlists?type=audio&title=x&uri=nonsense";
    let r = send_as(&srv, &alice, Method::POST, nonsense).await;
    assert_eq!(r.status(), 400);
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
    let t = a_track(&srv);
    let retitle = "title.value=Zebra%20Crossing%20%C3%A9t%C3%A9&title.locked=1";
    let r = edit_as(&srv, &srv.token, MUSIC_SECTION, 10, t, retitle).await;
    assert_eq!(r.status(), 200);
    let m = metadata_as(&srv, &srv.token, t).await;
    assert_eq!(m["title"], "Zebra Crossing été");
    // Contains (accent-insensitive), exact both ways, and plexapi's prefixed key form.
    for q in [
        "title=zebra%20crossing%20ete",
        "title==Zebra%20Crossing%20%C3%A9t%C3%A9",
        "track.title%3D=Zebra%20Crossing%20%C3%A9t%C3%A9",
    ] {
        let v = section_all(&srv, MUSIC_SECTION, &format!("type=10&{q}")).await;
        assert_eq!(v["MediaContainer"]["size"], 1, "{q}");
        assert_eq!(first(&v)["ratingKey"], t.to_string());
    }
    let v = section_all(&srv, MUSIC_SECTION, "type=10&title==Zebra").await;
    assert_eq!(v["MediaContainer"]["size"], 0);
    // Sorting: addedAt descending really is descending.
    let v = section_all(&srv, MOVIES_SECTION, "sort=addedAt:desc").await;
    let added: Vec<i64> = listed(&v)
        .iter()
        .map(|m| m["addedAt"].as_i64().expect("a"))
        .collect();
    assert!(added.windows(2).all(|w| w[0] >= w[1]));
    // A non-owner cannot edit.
    let alice = token_of(&srv, "alice");
    let r = edit_as(&srv, &alice, MUSIC_SECTION, 10, t, "title.value=x").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn images_and_media_ranges() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let t = a_track(&srv);
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
    let scaled = format!(
        "/photo/:/transcode?url={}&width=120&height=80",
        thumb.replace('/', "%2F")
    );
    let r = get_as(&srv, &srv.token, &scaled).await;
    assert_eq!(r.status(), 200);
    let png = r.bytes().await.expect("png");
    let info = png::Decoder::new(std::io::Cursor::new(png.to_vec()))
        .read_info()
        .expect("decodes")
        .info()
        .clone();
    assert_eq!((info.width, info.height), (120, 80));
    let no_url = "/photo/:/transcode?width=10&height=10";
    assert_eq!(get_as(&srv, &srv.token, no_url).await.status(), 400);
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
    let r = get_range(&srv, &part, "bytes=1000-1099").await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().expect("cr"),
        format!("bytes 1000-1099/{len}")
    );
    assert_eq!(r.bytes().await.expect("b")[..], full[1000..1100]);
    let r = get_range(&srv, &part, &format!("bytes={len}-")).await;
    assert_eq!(r.status(), 416);
    // No token, no media.
    let r = client()
        .get(format!("{}{part}", srv.base_url))
        .send()
        .await
        .expect("r");
    assert_eq!(r.status(), 401);
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
    let album = item_in(&srv, MUSIC_SECTION, ItemKind::Album, 0);
    let added = add_item(
        &srv,
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
    let t = metadata_as(&srv, &srv.token, id).await;
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
    let movie = item_in(&srv, MOVIES_SECTION, ItemKind::Movie, 0);
    let add_genre =
        "genre[0].tag.tag=Odd%2C%20Tag&genre.locked=1&summary.value=New%20summary&summary.locked=1";
    let r = edit_as(&srv, &srv.token, MOVIES_SECTION, 1, movie, add_genre).await;
    assert_eq!(r.status(), 200, "{add_genre}");
    let m = metadata_as(&srv, &srv.token, movie).await;
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
    let filtered = format!("type=1&{filter}");
    let v = section_all(&srv, MOVIES_SECTION, &filtered).await;
    assert_eq!(v["MediaContainer"]["size"], 1);
    assert_eq!(first(&v)["ratingKey"], movie.to_string());
    // Removal names the tag encoded twice (a comma inside a tag survives); unlocking drops
    // the field.
    let remove_genre = "genre[].tag.tag-=Odd%252C%2520Tag&genre.locked=0&summary.locked=0";
    let r = edit_as(&srv, &srv.token, MOVIES_SECTION, 1, movie, remove_genre).await;
    assert_eq!(r.status(), 200, "{remove_genre}");
    let m = metadata_as(&srv, &srv.token, movie).await;
    let genres = m["Genre"].as_array().expect("genres");
    assert_eq!(genres.len(), 1);
    assert_ne!(genres[0]["tag"], "Odd, Tag");
    assert!(m.get("Field").is_none());
    let v = section_all(&srv, MOVIES_SECTION, &filtered).await;
    assert_eq!(v["MediaContainer"]["size"], 0);
    // An uploaded poster is listed by its SHA-1, selected, and locks the poster.
    let posters = format!("/library/metadata/{movie}/posters");
    let r = client()
        .post(format!("{}{posters}", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .body("not really a jpeg")
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 200);
    let listing = json_as(&srv, &srv.token, &posters).await;
    let list = listed(&listing);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["selected"], false);
    assert_eq!(
        list[1]["ratingKey"],
        "upload://posters/5a75328649a4df2eb64f0e10f6912f612094e8f4"
    );
    assert_eq!(list[1]["selected"], true);
    let m = metadata_as(&srv, &srv.token, movie).await;
    assert_eq!(m["Field"][0]["name"], "thumb");
}

/// The server's clock moved on by the control API: what is changed from then on carries the
/// moved time, as a gateway in its measurement mode sees a day later.
/// A server's clock is never behind what it stamped: the generated library's newest
/// `updatedAt` (additions spread over ten years, some past today) is older than the clock, so
/// an edit is the newest change and a client asking for `updatedAt>=` its newest time finds it.
#[tokio::test]
async fn the_clock_starts_after_every_time_the_library_stamped() {
    let srv = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let newest = (srv.sim.library().sections().iter())
        .map(|s| s.updated_at)
        .max()
        .unwrap();
    assert!(
        srv.sim.now() > newest,
        "now {}, newest {newest}",
        srv.sim.now()
    );
    let movie = item_in(&srv, MOVIES_SECTION, ItemKind::Movie, 0);
    srv.sim.rename_item(movie, "Renamed").unwrap();
    let item = metadata_as(&srv, &srv.token, movie).await;
    assert!(
        item["updatedAt"].as_u64().unwrap() > u64::from(newest),
        "{item}"
    );
}

#[tokio::test]
async fn a_rename_a_day_on_carries_that_days_time() {
    let srv = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let movie = item_in(&srv, MOVIES_SECTION, ItemKind::Movie, 0);
    let today = srv.sim.now();
    let before = control(&srv, "/_sim/clock/advance?secs=0", serde_json::json!({})).await;

    let moved = control(
        &srv,
        "/_sim/clock/advance?secs=86400",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(
        moved["offset_secs"].as_u64().unwrap(),
        before["offset_secs"].as_u64().unwrap() + 86_400,
        "{moved}"
    );
    assert!(srv.sim.now() >= today + 86_400);
    srv.sim.rename_item(movie, "A day later").unwrap();
    let item = metadata_as(&srv, &srv.token, movie).await;
    assert_eq!(item["title"], "A day later");
    let updated = item["updatedAt"].as_u64().unwrap();
    assert!(
        updated >= u64::from(today) + 86_400,
        "updatedAt {updated}, today {today}"
    );

    let refused = client()
        .post(format!(
            "{}/_sim/clock/advance?secs=99999999999",
            srv.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "more than a year");
}
