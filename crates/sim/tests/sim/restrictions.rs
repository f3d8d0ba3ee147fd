//! Users the servers hide items from inside the sections they may open, over real HTTP: Plex
//! shares filtered by label (`carol`) and by content rating (`dave`), a managed Home user
//! (`emma`); Jellyfin `BlockedTags`, `MaxParentalRating` and `AllowedTags` with enabled folders.
//! Every route that shows items hides the same ones; what is hidden is derived here from the
//! library's labels and ratings, independently of the simulator's own filter code.

use std::collections::BTreeSet;

use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::{
    Item, ItemKind, LOSSLESS_MUSIC_SECTION, Library, MOVIES_SECTION, MUSIC_SECTION, SHOWS_SECTION,
};
use cachearr_sim::{Sim, TestServer};
use reqwest::Client;
use serde_json::Value;

fn sim() -> Sim {
    Sim::builder()
        .tracks(900)
        .movies(60)
        .shows(8)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds")
}

/// True when the item or one of its ancestors carries `label`.
fn reached_by(item: &Item<'_>, label: &str) -> bool {
    let mut cur = Some(*item);
    while let Some(i) = cur {
        if i.labels().contains(&label) {
            return true;
        }
        cur = i.parent();
    }
    false
}

/// The item's own content rating, else its show's.
fn rating<'a>(item: &Item<'a>) -> Option<&'a str> {
    let mut cur = Some(*item);
    while let Some(i) = cur {
        if let Some(r) = i.content_rating() {
            return Some(r);
        }
        cur = i.parent();
    }
    None
}

/// Ids of a section's items of `kind` that pass `keep`, and of those that do not.
fn split(
    lib: &Library,
    section: u32,
    kind: ItemKind,
    keep: impl Fn(&Item<'_>) -> bool,
) -> (BTreeSet<u32>, BTreeSet<u32>) {
    let mut shown = BTreeSet::new();
    let mut hidden = BTreeSet::new();
    for &id in lib.section(section).expect("section").items(kind) {
        let item = lib.item(id).expect("item");
        if keep(&item) {
            shown.insert(id);
        } else {
            hidden.insert(id);
        }
    }
    (shown, hidden)
}

fn plex_token(srv: &TestServer, name: &str) -> String {
    let state = srv.sim.state();
    let user = state.users().iter().find(|u| u.name == name).expect("user");
    user.plex_token.clone()
}

async fn plex_json(srv: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let r = Client::new()
        .get(format!("{}{}", srv.base_url, path))
        .header("X-Plex-Token", token)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let body = r.text().await.expect("body");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The rating keys of a Plex container's `Metadata` (and of its hubs' `Metadata`).
fn plex_ids(v: &Value) -> BTreeSet<u32> {
    let c = &v["MediaContainer"];
    let mut out = BTreeSet::new();
    let mut take = |list: &Value| {
        for m in list.as_array().into_iter().flatten() {
            if let Some(k) = m["ratingKey"].as_str().and_then(|k| k.parse().ok()) {
                out.insert(k);
            }
        }
    };
    take(&c["Metadata"]);
    for hub in c["Hub"].as_array().into_iter().flatten() {
        take(&hub["Metadata"]);
    }
    out
}

/// Checks a Plex user against the expected split of one section and kind: the listing and
/// its count, searches by title, metadata, children and images.
async fn check_plex(
    srv: &TestServer,
    user: &str,
    section: u32,
    kind: ItemKind,
    shown: &BTreeSet<u32>,
    hidden: &BTreeSet<u32>,
) {
    assert!(
        !shown.is_empty() && !hidden.is_empty(),
        "{user}: section {section} must both show and hide {kind:?} items for the test to mean anything"
    );
    let token = plex_token(srv, user);
    let plex_type = kind.plex_type();
    let (status, all) = plex_json(
        srv,
        &token,
        &format!("/library/sections/{section}/all?type={plex_type}"),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(&plex_ids(&all), shown, "{user}: section {section} listing");
    let (_, counted) = plex_json(
        srv,
        &token,
        &format!(
            "/library/sections/{section}/all?type={plex_type}\
             &X-Plex-Container-Start=0&X-Plex-Container-Size=0"
        ),
    )
    .await;
    assert_eq!(
        counted["MediaContainer"]["totalSize"].as_u64(),
        Some(shown.len() as u64),
        "{user}: totalSize"
    );
    let (titles, container) = {
        let lib = srv.sim.library();
        let titles: Vec<(u32, String)> = hidden
            .iter()
            .take(5)
            .map(|&id| (id, lib.item(id).expect("item").title().to_string()))
            .collect();
        let container = hidden
            .iter()
            .find_map(|&id| lib.item(id).expect("item").parent().map(|p| p.id()))
            .filter(|p| {
                lib.item(*p)
                    .is_some_and(|p| p.children().iter().all(|c| hidden.contains(c)))
            });
        (titles, container)
    };
    let admin = plex_token(srv, "admin");
    for (id, title) in &titles {
        let q: String = form_urlencoded::byte_serialize(title.as_bytes()).collect();
        for path in [
            format!("/hubs/search?query={q}&limit=50"),
            format!("/library/sections/{section}/search?type={plex_type}&query={q}"),
            format!("/library/sections/{section}/all?type={plex_type}&title={q}"),
        ] {
            let (status, found) = plex_json(srv, &token, &path).await;
            assert!(
                status != 200 || !plex_ids(&found).contains(id),
                "{user}: {path} shows hidden {id}"
            );
            if path.starts_with("/hubs") {
                let (_, owner) = plex_json(srv, &admin, &path).await;
                assert!(
                    plex_ids(&owner).contains(id),
                    "the owner finds {id}: {path}"
                );
            }
        }
        for path in [
            format!("/library/metadata/{id}"),
            format!("/library/metadata/{id}/thumb/1"),
            format!("/photo/:/transcode?url=/library/metadata/{id}/thumb&width=10&height=10"),
        ] {
            let (status, _) = plex_json(srv, &token, &path).await;
            assert_eq!(status, 404, "{user}: {path}");
            let (status, _) = plex_json(srv, &admin, &path).await;
            assert_eq!(status, 200, "owner: {path}");
        }
    }
    if let Some(parent) = container {
        let (status, _) = plex_json(srv, &token, &format!("/library/metadata/{parent}")).await;
        assert_eq!(status, 404, "{user}: the hidden parent {parent}");
    }
}

#[tokio::test]
async fn plex_share_filtered_by_label_hides_labelled_music_and_movies() {
    let srv = sim().start_plex_test_server().await.expect("start");
    let (tracks, movies, albums) = {
        let lib = srv.sim.library();
        let open = |i: &Item<'_>| !reached_by(i, "Explicit");
        (
            split(&lib, MUSIC_SECTION, ItemKind::Track, open),
            split(&lib, MOVIES_SECTION, ItemKind::Movie, open),
            split(&lib, LOSSLESS_MUSIC_SECTION, ItemKind::Album, open),
        )
    };
    check_plex(
        &srv,
        "carol",
        MUSIC_SECTION,
        ItemKind::Track,
        &tracks.0,
        &tracks.1,
    )
    .await;
    check_plex(
        &srv,
        "carol",
        MOVIES_SECTION,
        ItemKind::Movie,
        &movies.0,
        &movies.1,
    )
    .await;
    check_plex(
        &srv,
        "carol",
        LOSSLESS_MUSIC_SECTION,
        ItemKind::Album,
        &albums.0,
        &albums.1,
    )
    .await;
    // The label is part of the item, as Plex shows it.
    let album = *albums.1.iter().next().expect("a hidden album");
    let r = Client::new()
        .get(format!("{}/library/metadata/{album}", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .send()
        .await
        .expect("request");
    let body = r.text().await.expect("body");
    assert!(
        body.lines()
            .any(|l| l.trim_start().starts_with("<Label ") && l.contains(r#"tag="Explicit""#)),
        "{body}"
    );
}

#[tokio::test]
async fn plex_share_filtered_by_content_rating_hides_movies_and_shows_episodes() {
    let srv = sim().start_plex_test_server().await.expect("start");
    let (movies, episodes, tracks) = {
        let lib = srv.sim.library();
        (
            split(&lib, MOVIES_SECTION, ItemKind::Movie, |i| {
                matches!(rating(i), Some("G" | "PG" | "PG-13"))
            }),
            split(&lib, SHOWS_SECTION, ItemKind::Episode, |i| {
                !matches!(rating(i), Some("R" | "TV-MA"))
            }),
            split(&lib, MUSIC_SECTION, ItemKind::Track, |_| true),
        )
    };
    check_plex(
        &srv,
        "dave",
        MOVIES_SECTION,
        ItemKind::Movie,
        &movies.0,
        &movies.1,
    )
    .await;
    check_plex(
        &srv,
        "dave",
        SHOWS_SECTION,
        ItemKind::Episode,
        &episodes.0,
        &episodes.1,
    )
    .await;
    // Music carries no rating filter: dave sees all of it.
    let (_, all) = plex_json(
        &srv,
        &plex_token(&srv, "dave"),
        &format!("/library/sections/{MUSIC_SECTION}/all?type=10"),
    )
    .await;
    assert_eq!(plex_ids(&all), tracks.0);
}

#[tokio::test]
async fn plex_managed_home_user_sees_only_what_the_profile_allows() {
    let srv = sim().start_plex_test_server().await.expect("start");
    assert!(
        srv.sim
            .state()
            .users()
            .iter()
            .any(|u| u.name == "emma" && u.home)
    );
    let (tracks, movies) = {
        let lib = srv.sim.library();
        (
            split(&lib, MUSIC_SECTION, ItemKind::Track, |i| {
                reached_by(i, "Family")
            }),
            split(&lib, MOVIES_SECTION, ItemKind::Movie, |i| {
                matches!(rating(i), Some("G" | "PG"))
            }),
        )
    };
    check_plex(
        &srv,
        "emma",
        MUSIC_SECTION,
        ItemKind::Track,
        &tracks.0,
        &tracks.1,
    )
    .await;
    check_plex(
        &srv,
        "emma",
        MOVIES_SECTION,
        ItemKind::Movie,
        &movies.0,
        &movies.1,
    )
    .await;
    let token = plex_token(&srv, "emma");
    let (status, _) = plex_json(
        &srv,
        &token,
        &format!("/library/sections/{SHOWS_SECTION}/all"),
    )
    .await;
    assert_eq!(status, 404, "the TV section is not emma's");
}

#[tokio::test]
async fn plex_unrestricted_users_still_see_everything() {
    let srv = sim().start_plex_test_server().await.expect("start");
    let all = {
        let lib = srv.sim.library();
        split(&lib, MUSIC_SECTION, ItemKind::Track, |_| true).0
    };
    for user in ["admin", "alice", "bob"] {
        let (_, listed) = plex_json(
            &srv,
            &plex_token(&srv, user),
            &format!("/library/sections/{MUSIC_SECTION}/all?type=10"),
        )
        .await;
        assert_eq!(plex_ids(&listed), all, "{user}");
    }
}

fn jellyfin_user(srv: &TestServer, name: &str) -> (String, String) {
    let state = srv.sim.state();
    let user = state.users().iter().find(|u| u.name == name).expect("user");
    (user.jellyfin_token.clone(), user.jellyfin_id.clone())
}

async fn jf_json(srv: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let r = Client::new()
        .get(format!("{}{}", srv.base_url, path))
        .header("X-Emby-Token", token)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let body = r.text().await.expect("body");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn jf_ids(v: &Value, list: &str) -> BTreeSet<String> {
    v[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["Id"].as_str().map(str::to_string))
        .collect()
}

/// The Jellyfin library id of a section (from the owner's views).
async fn view_of(srv: &TestServer, title: &str) -> String {
    let (admin, _) = jellyfin_user(srv, "admin");
    let (_, views) = jf_json(srv, &admin, "/UserViews").await;
    views["Items"]
        .as_array()
        .expect("views")
        .iter()
        .find(|v| v["Name"] == title)
        .and_then(|v| v["Id"].as_str())
        .expect("view")
        .to_string()
}

/// Checks a Jellyfin user against the expected split of one section and kind: listings with
/// their counts, searches, search hints and single items.
async fn check_jellyfin(
    srv: &TestServer,
    user: &str,
    section_title: &str,
    kind: ItemKind,
    split: &(BTreeSet<u32>, BTreeSet<u32>),
) {
    let (shown, hidden) = split;
    assert!(
        !shown.is_empty() && !hidden.is_empty(),
        "{user}: {section_title} must both show and hide {kind:?} items for the test to mean anything"
    );
    let (token, uid) = jellyfin_user(srv, user);
    let view = view_of(srv, section_title).await;
    let (guids, hidden_items) = {
        let lib = srv.sim.library();
        let guid = |id: &u32| lib.item(*id).expect("item").guid_id();
        let shown: BTreeSet<String> = shown.iter().map(guid).collect();
        let hidden: Vec<(String, String)> = hidden
            .iter()
            .take(5)
            .map(|id| (guid(id), lib.item(*id).expect("item").title().to_string()))
            .collect();
        (shown, hidden)
    };
    let ty = kind.jellyfin_name();
    for path in [
        format!("/Items?ParentId={view}&Recursive=true&IncludeItemTypes={ty}"),
        format!("/Users/{uid}/Items?ParentId={view}&Recursive=true&IncludeItemTypes={ty}"),
    ] {
        let (status, listed) = jf_json(srv, &token, &path).await;
        assert_eq!(status, 200, "{user}: {path}");
        assert_eq!(jf_ids(&listed, "Items"), guids, "{user}: {path}");
        assert_eq!(
            listed["TotalRecordCount"].as_u64(),
            Some(guids.len() as u64),
            "{user}: {path}"
        );
    }
    let (_, counted) = jf_json(
        srv,
        &token,
        &format!("/Items?ParentId={view}&Recursive=true&IncludeItemTypes={ty}&Limit=0"),
    )
    .await;
    assert_eq!(
        counted["TotalRecordCount"].as_u64(),
        Some(guids.len() as u64)
    );
    let (admin, _) = jellyfin_user(srv, "admin");
    for (id, title) in &hidden_items {
        let q: String = form_urlencoded::byte_serialize(title.as_bytes()).collect();
        let (_, found) = jf_json(
            srv,
            &token,
            &format!("/Items?Recursive=true&SearchTerm={q}&IncludeItemTypes={ty}"),
        )
        .await;
        assert!(!jf_ids(&found, "Items").contains(id), "{user}: search");
        let (_, hints) = jf_json(srv, &token, &format!("/Search/Hints?SearchTerm={q}")).await;
        assert!(!jf_ids(&hints, "SearchHints").contains(id), "{user}: hints");
        let (_, owner_hints) = jf_json(srv, &admin, &format!("/Search/Hints?SearchTerm={q}")).await;
        assert!(
            jf_ids(&owner_hints, "SearchHints").contains(id),
            "owner hints"
        );
        let (status, _) = jf_json(srv, &token, &format!("/Users/{uid}/Items/{id}")).await;
        assert_eq!(status, 404, "{user}: the hidden item {id}");
        let (status, by_id) = jf_json(srv, &token, &format!("/Items?Ids={id}")).await;
        assert_eq!(status, 200);
        assert!(!jf_ids(&by_id, "Items").contains(id), "{user}: by id");
    }
}

async fn jellyfin() -> TestServer {
    sim()
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .expect("start")
}

#[tokio::test]
async fn jellyfin_blocked_tags_hide_tagged_items_and_what_is_under_them() {
    let srv = jellyfin().await;
    let (tracks, movies) = {
        let lib = srv.sim.library();
        let open = |i: &Item<'_>| !reached_by(i, "Explicit");
        (
            split(&lib, MUSIC_SECTION, ItemKind::Track, open),
            split(&lib, MOVIES_SECTION, ItemKind::Movie, open),
        )
    };
    check_jellyfin(&srv, "carol", "Music", ItemKind::Track, &tracks).await;
    check_jellyfin(&srv, "carol", "Movies", ItemKind::Movie, &movies).await;
    let (admin, _) = jellyfin_user(&srv, "admin");
    let (_, carol) = jellyfin_user(&srv, "carol");
    let (_, dto) = jf_json(&srv, &admin, &format!("/Users/{carol}")).await;
    assert_eq!(
        dto["Policy"]["BlockedTags"],
        serde_json::json!(["Explicit"])
    );
}

#[tokio::test]
async fn jellyfin_max_parental_rating_hides_movies_and_episodes_above_it() {
    let srv = jellyfin().await;
    let value = |r: Option<&str>| match r {
        Some("R" | "TV-MA") => Some(17),
        Some("TV-14") => Some(14),
        Some("PG-13") => Some(13),
        Some("PG") => Some(10),
        Some("G") => Some(0),
        _ => None,
    };
    let (movies, episodes) = {
        let lib = srv.sim.library();
        (
            split(&lib, MOVIES_SECTION, ItemKind::Movie, |i| {
                value(rating(i)).is_none_or(|v| v <= 13)
            }),
            split(&lib, SHOWS_SECTION, ItemKind::Episode, |i| {
                value(rating(i)).is_none_or(|v| v <= 13)
            }),
        )
    };
    check_jellyfin(&srv, "dave", "Movies", ItemKind::Movie, &movies).await;
    check_jellyfin(&srv, "dave", "TV Shows", ItemKind::Episode, &episodes).await;
    let (admin, _) = jellyfin_user(&srv, "admin");
    let (_, dave) = jellyfin_user(&srv, "dave");
    let (_, dto) = jf_json(&srv, &admin, &format!("/Users/{dave}")).await;
    assert_eq!(dto["Policy"]["MaxParentalRating"], 13);
}

#[tokio::test]
async fn jellyfin_allowed_tags_and_enabled_folders_limit_a_child_account() {
    let srv = jellyfin().await;
    let tracks = {
        let lib = srv.sim.library();
        split(&lib, MUSIC_SECTION, ItemKind::Track, |i| {
            reached_by(i, "Family")
        })
    };
    check_jellyfin(&srv, "emma", "Music", ItemKind::Track, &tracks).await;
    let (token, _) = jellyfin_user(&srv, "emma");
    let (_, views) = jf_json(&srv, &token, "/UserViews").await;
    let names: Vec<&str> = views["Items"]
        .as_array()
        .expect("views")
        .iter()
        .filter_map(|v| v["Name"].as_str())
        .collect();
    assert!(!names.contains(&"TV Shows"), "{names:?}");
    // Unrestricted users are unchanged.
    let all = {
        let lib = srv.sim.library();
        split(&lib, MUSIC_SECTION, ItemKind::Track, |_| true)
            .0
            .len()
    };
    let view = view_of(&srv, "Music").await;
    for user in ["admin", "alice", "bob"] {
        let (token, _) = jellyfin_user(&srv, user);
        let (_, listed) = jf_json(
            &srv,
            &token,
            &format!("/Items?ParentId={view}&Recursive=true&IncludeItemTypes=Audio&Limit=0"),
        )
        .await;
        assert_eq!(
            listed["TotalRecordCount"].as_u64(),
            Some(all as u64),
            "{user}"
        );
    }
}

#[tokio::test]
async fn jellyfin_item_counts_leave_out_what_the_policy_hides() {
    let srv = jellyfin().await;
    let (all, carol_songs, dave_movies) = {
        let lib = srv.sim.library();
        let songs = |keep: &dyn Fn(&Item<'_>) -> bool| {
            [MUSIC_SECTION, LOSSLESS_MUSIC_SECTION]
                .iter()
                .map(|&s| split(&lib, s, ItemKind::Track, keep).0.len())
                .sum::<usize>()
        };
        (
            songs(&|_| true),
            songs(&|i| !reached_by(i, "Explicit")),
            split(&lib, MOVIES_SECTION, ItemKind::Movie, |i| {
                !matches!(rating(i), Some("R" | "TV-MA" | "TV-14"))
            })
            .0
            .len(),
        )
    };
    let counts = |user: &'static str| {
        let srv = &srv;
        async move {
            let (token, _) = jellyfin_user(srv, user);
            let (status, counts) = jf_json(srv, &token, "/Items/Counts").await;
            assert_eq!(status, 200);
            counts
        }
    };
    assert_eq!(counts("alice").await["SongCount"], all);
    assert_eq!(counts("carol").await["SongCount"], carol_songs);
    assert!(carol_songs < all);
    assert_eq!(counts("dave").await["MovieCount"], dave_movies);
    assert_eq!(counts("dave").await["SongCount"], all);
    assert_eq!(counts("bob").await["MovieCount"], 0);
}
