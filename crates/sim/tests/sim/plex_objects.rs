//! Plex objects beside the library: server and section preferences, play queues, collections,
//! smart playlists, and history that lists plays, not marks.

use crate::common;

use cachearr_sim::Sim;
use cachearr_sim::library::{ItemKind, MOVIES_SECTION, MUSIC_SECTION};
use common::*;
use reqwest::Method;
use serde_json::Value;

fn ids(srv: &cachearr_sim::TestServer, section: u32, kind: ItemKind, n: usize) -> Vec<u32> {
    srv.sim
        .library()
        .section(section)
        .expect("section")
        .items(kind)[..n]
        .to_vec()
}

fn setting<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["MediaContainer"]["Setting"]
        .as_array()
        .expect("settings")
        .iter()
        .find(|s| s["id"] == id)
        .expect("setting")
}

async fn status(srv: &cachearr_sim::TestServer, token: &str, method: Method, path: &str) -> u16 {
    send_as(srv, token, method, path).await.status().as_u16()
}

#[tokio::test]
async fn server_and_section_preferences_are_read_and_changed_by_the_owner_only() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let owner = srv.token.clone();
    let prefs = json_as(&srv, &owner, "/:/prefs").await;
    assert_eq!(setting(&prefs, "autoEmptyTrash")["value"], "true");
    assert_eq!(setting(&prefs, "autoEmptyTrash")["type"], "bool");
    assert_eq!(
        setting(&prefs, "FriendlyName")["value"],
        srv.sim.identity().friendly_name.as_str()
    );
    assert_eq!(
        status(
            &srv,
            &owner,
            Method::PUT,
            "/:/prefs?autoEmptyTrash=0&OnDeckWindow=99"
        )
        .await,
        200
    );
    let prefs = json_as(&srv, &owner, "/:/prefs").await;
    assert_eq!(setting(&prefs, "autoEmptyTrash")["value"], "false");
    assert_eq!(setting(&prefs, "OnDeckWindow")["value"], "99");
    // All or nothing: a bad value or an unknown id changes nothing.
    for bad in ["OnDeckWindow=soon", "autoEmptyTrash=1&noSuchSetting=1"] {
        let path = format!("/:/prefs?{bad}");
        assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 400, "{bad}");
    }
    let prefs = json_as(&srv, &owner, "/:/prefs").await;
    assert_eq!(setting(&prefs, "autoEmptyTrash")["value"], "false");
    let alice = token_of(&srv, "alice");
    assert_eq!(status(&srv, &alice, Method::GET, "/:/prefs").await, 401);
    assert_eq!(
        status(&srv, &alice, Method::PUT, "/:/prefs?autoEmptyTrash=1").await,
        401
    );

    let path = format!("/library/sections/{MOVIES_SECTION}/prefs");
    let before = json_as(&srv, &owner, &path).await;
    assert_eq!(setting(&before, "enableCinemaTrailers")["value"], "1");
    let put = format!("{path}?enableCinemaTrailers=0");
    assert_eq!(status(&srv, &owner, Method::PUT, &put).await, 200);
    let after = json_as(&srv, &owner, &path).await;
    assert_eq!(setting(&after, "enableCinemaTrailers")["value"], "0");
    let other = json_as(
        &srv,
        &owner,
        &format!("/library/sections/{MUSIC_SECTION}/prefs"),
    )
    .await;
    assert_eq!(setting(&other, "enableCinemaTrailers")["value"], "1");
}

fn queue_items(doc: &Value) -> Vec<(u64, String)> {
    doc["MediaContainer"]["Metadata"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| {
            (
                m["playQueueItemID"].as_u64().expect("entry"),
                m["ratingKey"].as_str().expect("rk").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn play_queues_follow_plex_up_next_rules() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let owner = srv.token.clone();
    let t = ids(&srv, MUSIC_SECTION, ItemKind::Track, 6);
    let keys: Vec<String> = t.iter().map(u32::to_string).collect();
    let uri = format!(
        "library:///directory/%2Flibrary%2Fmetadata%2F{}%2C{}%2C{}",
        t[0], t[1], t[2]
    );
    let r = send_as(
        &srv,
        &owner,
        Method::POST,
        &format!("/playQueues?type=audio&uri={uri}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let q: Value = r.json().await.expect("json");
    let mc = &q["MediaContainer"];
    let id = mc["playQueueID"].as_u64().expect("id");
    assert!(mc.get("playQueueLastAddedItemID").is_none());
    assert_eq!(mc["playQueueSelectedMetadataItemID"], t[0]);
    let items = queue_items(&q);
    let order = |q: &Value| -> Vec<String> { queue_items(q).into_iter().map(|(_, k)| k).collect() };
    assert_eq!(order(&q), keys[..3]);

    // Moving the second item after the third makes it the last added item.
    let path = format!(
        "/playQueues/{id}/items/{}/move?after={}",
        items[1].0, items[2].0
    );
    let q: Value = send_as(&srv, &owner, Method::PUT, &path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(order(&q), [&keys[0], &keys[2], &keys[1]].map(String::clone));
    assert_eq!(q["MediaContainer"]["playQueueLastAddedItemID"], items[1].0);

    // An added item goes after the last added one; `next=1` right after the selected item.
    let add = |k: &str, next: bool| {
        format!(
            "/playQueues/{id}?uri=library%3A%2F%2Fx%2Fitem%2F%252Flibrary%252Fmetadata%252F{k}{}",
            if next { "&next=1" } else { "" }
        )
    };
    let q: Value = send_as(&srv, &owner, Method::PUT, &add(&keys[3], false))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        order(&q),
        [&keys[0], &keys[2], &keys[1], &keys[3]].map(String::clone)
    );
    let q: Value = send_as(&srv, &owner, Method::PUT, &add(&keys[4], true))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        order(&q),
        [&keys[0], &keys[4], &keys[2], &keys[1], &keys[3]].map(String::clone)
    );
    let last = queue_items(&q)[4].0;
    assert_eq!(q["MediaContainer"]["playQueueLastAddedItemID"], last);

    // Removing, then clearing: only the selected item stays.
    let path = format!("/playQueues/{id}/items/{}", queue_items(&q)[2].0);
    let q: Value = send_as(&srv, &owner, Method::DELETE, &path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(q["MediaContainer"]["playQueueTotalCount"], 4);
    let q: Value = send_as(
        &srv,
        &owner,
        Method::DELETE,
        &format!("/playQueues/{id}/items"),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(order(&q), [keys[0].clone()]);
    let version = q["MediaContainer"]["playQueueVersion"]
        .as_u64()
        .expect("version");
    assert!(version > 1);

    // The queue is its maker's.
    let alice = token_of(&srv, "alice");
    assert_eq!(
        status(&srv, &alice, Method::GET, &format!("/playQueues/{id}")).await,
        404
    );
    assert_eq!(
        status(&srv, &owner, Method::GET, "/playQueues/1").await,
        404
    );
}

fn rating_keys(doc: &Value) -> Vec<String> {
    doc["MediaContainer"]["Metadata"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["ratingKey"].as_str().expect("rk").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn collections_hold_arrange_and_edit_their_items() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let owner = srv.token.clone();
    let m = ids(&srv, MOVIES_SECTION, ItemKind::Movie, 3);
    let uri = format!(
        "server%3A%2F%2Fm%2Fcom.plexapp.plugins.library%2Flibrary%2Fmetadata%2F{}%2C{}",
        m[0], m[1]
    );
    let path = format!(
        "/library/collections?uri={uri}&type=1&title=Picks&smart=0&sectionId={MOVIES_SECTION}"
    );
    let r = send_as(&srv, &owner, Method::POST, &path).await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.expect("json");
    let dir = &c["MediaContainer"]["Metadata"][0];
    assert_eq!(dir["type"], "collection");
    assert_eq!(dir["subtype"], "movie");
    assert_eq!(dir["childCount"], 2);
    assert_eq!(dir["smart"], false);
    let id = dir["ratingKey"].as_str().expect("rk").to_string();

    // Listed by its section, under both names.
    for listing in [
        format!("/library/sections/{MOVIES_SECTION}/collections"),
        format!("/library/sections/{MOVIES_SECTION}/all?type=18&title=pick"),
    ] {
        let l = json_as(&srv, &owner, &listing).await;
        assert_eq!(rating_keys(&l), vec![id.clone()], "{listing}");
    }

    // Moving arranges the collection (custom sort); removing takes the item out.
    let children = format!("/library/collections/{id}/children");
    let before = rating_keys(&json_as(&srv, &owner, &children).await);
    assert_eq!(before.len(), 2);
    let path = format!("/library/collections/{id}/items/{}/move", before[1]);
    assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 200);
    let after = rating_keys(&json_as(&srv, &owner, &children).await);
    assert_eq!(after, [before[1].clone(), before[0].clone()]);
    let c = json_as(&srv, &owner, &format!("/library/collections/{id}")).await;
    assert_eq!(c["MediaContainer"]["Metadata"][0]["collectionSort"], 2);
    let path = format!("/library/collections/{id}/items/{}", before[0]);
    assert_eq!(status(&srv, &owner, Method::DELETE, &path).await, 200);
    assert_eq!(
        rating_keys(&json_as(&srv, &owner, &children).await),
        [before[1].clone()]
    );

    // Edits go through the section, with locks.
    let path = format!(
        "/library/sections/{MOVIES_SECTION}/all?type=18&id={id}&title.value=Best&title.locked=1&summary.value=Two"
    );
    assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 200);
    let c = json_as(&srv, &owner, &format!("/library/collections/{id}")).await;
    let dir = &c["MediaContainer"]["Metadata"][0];
    assert_eq!(dir["title"], "Best");
    assert_eq!(dir["summary"], "Two");
    assert_eq!(dir["Field"][0]["name"], "title");
    let path = format!("/library/collections/{id}/prefs?collectionMode=1");
    assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 200);
    let c = json_as(&srv, &owner, &format!("/library/collections/{id}")).await;
    assert_eq!(c["MediaContainer"]["Metadata"][0]["collectionMode"], 1);
    // A regular collection has no user filter setting; shared users cannot edit.
    let path = format!("/library/collections/{id}/prefs?collectionFilterBasedOnUser=1");
    assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 400);
    let alice = token_of(&srv, "alice");
    let path = format!("/library/collections/{id}/items/{}/move", before[1]);
    assert_eq!(status(&srv, &alice, Method::PUT, &path).await, 401);

    // Mixed kinds are refused; a smart collection runs its query and takes no items.
    let artist = ids(&srv, MUSIC_SECTION, ItemKind::Artist, 1)[0];
    let uri = format!(
        "server%3A%2F%2Fm%2Fcom.plexapp.plugins.library%2Flibrary%2Fmetadata%2F{}%2C{artist}",
        m[2]
    );
    let path = format!(
        "/library/collections?uri={uri}&type=1&title=Mixed&smart=0&sectionId={MOVIES_SECTION}"
    );
    assert_eq!(status(&srv, &owner, Method::POST, &path).await, 400);
    let query = format!("%2Flibrary%2Fsections%2F{MOVIES_SECTION}%2Fall%3Ftype%3D1%26limit%3D2");
    let path = format!(
        "/library/collections?uri=server%3A%2F%2Fm%2Fcom.plexapp.plugins.library{query}&type=1&title=Two&smart=1&sectionId={MOVIES_SECTION}"
    );
    let c: Value = send_as(&srv, &owner, Method::POST, &path)
        .await
        .json()
        .await
        .expect("json");
    let smart = c["MediaContainer"]["Metadata"][0]["ratingKey"]
        .as_str()
        .expect("rk")
        .to_string();
    assert_eq!(c["MediaContainer"]["Metadata"][0]["smart"], true);
    let items = rating_keys(
        &json_as(
            &srv,
            &owner,
            &format!("/library/collections/{smart}/children"),
        )
        .await,
    );
    assert_eq!(items.len(), 2);
    let path = format!("/library/collections/{smart}/items/{}", items[0]);
    assert_eq!(status(&srv, &owner, Method::DELETE, &path).await, 400);

    // Deleted collections are gone.
    let path = format!("/library/collections/{id}");
    assert_eq!(status(&srv, &owner, Method::DELETE, &path).await, 200);
    assert_eq!(status(&srv, &owner, Method::GET, &path).await, 404);
}

#[tokio::test]
async fn marking_played_is_not_a_play_in_history() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let owner = srv.token.clone();
    let movie = ids(&srv, MOVIES_SECTION, ItemKind::Movie, 1)[0];
    let path = format!("/:/scrobble?key={movie}&identifier=com.plexapp.plugins.library");
    assert_eq!(status(&srv, &owner, Method::GET, &path).await, 200);
    let m = json_as(&srv, &owner, &format!("/library/metadata/{movie}")).await;
    assert_eq!(m["MediaContainer"]["Metadata"][0]["viewCount"], 1);
    let h = json_as(
        &srv,
        &owner,
        &format!("/status/sessions/history/all?metadataItemID={movie}"),
    )
    .await;
    assert_eq!(h["MediaContainer"]["size"], 0);
}

#[tokio::test]
async fn smart_playlists_keep_their_query_and_take_new_filters() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let owner = srv.token.clone();
    let query = |limit: u32| {
        format!(
            "server%3A%2F%2Fm%2Fcom.plexapp.plugins.library%2Flibrary%2Fsections%2F{MOVIES_SECTION}%2Fall%3Ftype%3D1%26limit%3D{limit}"
        )
    };
    let path = format!("/playlists?uri={}&type=video&title=Smart&smart=1", query(3));
    let p: Value = send_as(&srv, &owner, Method::POST, &path)
        .await
        .json()
        .await
        .expect("json");
    let pl = &p["MediaContainer"]["Metadata"][0];
    assert_eq!(pl["leafCount"], 3);
    assert!(pl["content"].as_str().expect("content").contains("limit=3"));
    let id = pl["ratingKey"].as_str().expect("rk").to_string();
    let path = format!("/playlists/{id}/items?uri={}", query(1));
    assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 200);
    let p = json_as(&srv, &owner, &format!("/playlists/{id}")).await;
    assert_eq!(p["MediaContainer"]["Metadata"][0]["leafCount"], 1);
    // Regular playlists have no icon and no query; edits lock fields.
    let movie = ids(&srv, MOVIES_SECTION, ItemKind::Movie, 1)[0];
    let path = format!(
        "/playlists?uri=server%3A%2F%2Fm%2Fcom.plexapp.plugins.library%2Flibrary%2Fmetadata%2F{movie}&type=video&title=Plain&smart=0"
    );
    let p: Value = send_as(&srv, &owner, Method::POST, &path)
        .await
        .json()
        .await
        .expect("json");
    let pl = &p["MediaContainer"]["Metadata"][0];
    assert!(pl.get("icon").is_none() && pl.get("content").is_none());
    let id = pl["ratingKey"].as_str().expect("rk").to_string();
    let path = format!("/playlists/{id}?titleSort.value=Zed&titleSort.locked=1");
    assert_eq!(status(&srv, &owner, Method::PUT, &path).await, 200);
    let p = json_as(&srv, &owner, &format!("/playlists/{id}")).await;
    assert_eq!(p["MediaContainer"]["Metadata"][0]["titleSort"], "Zed");
    assert_eq!(
        p["MediaContainer"]["Metadata"][0]["Field"][0]["name"],
        "titleSort"
    );
}

#[tokio::test]
async fn playlist_files_become_audio_playlists_of_their_tracks() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let owner = srv.token.clone();
    let tracks = ids(&srv, MUSIC_SECTION, ItemKind::Track, 2);
    let files: Vec<String> = {
        let lib = srv.sim.library();
        tracks
            .iter()
            .map(|&t| lib.item(t).expect("track").file_path())
            .collect()
    };
    let dir = std::env::temp_dir().join(format!("cachearr-m3u-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let m3u = dir.join("Road Trip.m3u");
    std::fs::write(&m3u, format!("#EXTM3U\n{}\n\n{}\n", files[1], files[0])).expect("write");
    let path = m3u.to_str().expect("utf-8").to_string();
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let upload = format!(
        "/playlists/upload?sectionID={MUSIC_SECTION}&path={}",
        enc(&path)
    );
    assert_eq!(status(&srv, &owner, Method::POST, &upload).await, 200);
    let all = json_as(&srv, &owner, "/playlists").await;
    let made = all["MediaContainer"]["Metadata"]
        .as_array()
        .expect("playlists")
        .iter()
        .find(|p| p["guid"].as_str().is_some_and(|g| g.ends_with(&path)))
        .expect("the imported playlist")
        .clone();
    assert_eq!(made["title"], "Road Trip");
    assert_eq!(made["playlistType"], "audio");
    let id = made["ratingKey"].as_str().expect("rk");
    let items = rating_keys(&json_as(&srv, &owner, &format!("/playlists/{id}/items")).await);
    assert_eq!(items, [tracks[1].to_string(), tracks[0].to_string()]);
    // A missing file, or a section that is not music, is refused.
    let missing = dir.join("missing.m3u");
    let bad = format!(
        "/playlists/upload?sectionID={MUSIC_SECTION}&path={}",
        enc(missing.to_str().expect("utf-8"))
    );
    assert_eq!(status(&srv, &owner, Method::POST, &bad).await, 400);
    let movies = format!(
        "/playlists/upload?sectionID={MOVIES_SECTION}&path={}",
        enc(&path)
    );
    assert_eq!(status(&srv, &owner, Method::POST, &movies).await, 400);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
