//! Search routes answered from the library index, end to end through the gateway, diffed
//! against the simulator's own answer for the same request.
//!
//! The index is installed directly from the simulator's library (as a crawl would build it),
//! with the simulator's listing elements kept as a crawl keeps them, so these tests do not
//! depend on the crawler. The items of an index answer must equal the server's.
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cachearr_library::LibraryIndex;
use cachearr_testkit::http::json_answer;
use serde_json::Value;
use sim_gateway::Running;
use sim_gateway::search::{QueryForm, enc, title_queries};

async fn start() -> Running {
    sim_gateway::start(|config| config.admin_token = Some("admin-secret".to_string())).await
}

/// What this module's tests do through the fixture's gateway.
trait IndexRequests {
    async fn install_index(&self);
    fn token(&self, name: &str) -> String;
    async fn get(&self, base: &str, path: &str, token: &str, json: bool) -> reqwest::Response;
    async fn both(&self, path: &str, token: &str, json: bool) -> (String, u16, String, String);
    fn search_count(&self) -> u64;
}

impl IndexRequests for Running {
    async fn install_index(&self) {
        self.keep_plex_elements().await;
        let records: Vec<_> = {
            let lib = self.sim.sim.library();
            cachearr_library::sim::records(&lib).collect()
        };
        let index = LibraryIndex::build(&records).unwrap();
        self.gateway.index("plex").unwrap().install(Arc::new(index));
    }

    fn token(&self, name: &str) -> String {
        let state = self.sim.sim.state();
        state
            .users()
            .iter()
            .find(|u| u.name == name)
            .unwrap()
            .plex_token
            .clone()
    }

    async fn get(&self, base: &str, path: &str, token: &str, json: bool) -> reqwest::Response {
        let mut rb = self
            .client
            .get(format!("{base}{path}"))
            .header("X-Plex-Token", token)
            .header("X-Plex-Client-Identifier", "tests");
        if json {
            rb = rb.header("Accept", "application/json");
        }
        rb.send().await.unwrap()
    }

    /// The same request through the gateway and straight to the simulator: (gateway's
    /// Cache-Status, gateway body, sim body).
    async fn both(&self, path: &str, token: &str, json: bool) -> (String, u16, String, String) {
        let via = self.get(&self.proxy, path, token, json).await;
        let status = via.status().as_u16();
        let cache_status = via
            .headers()
            .get("cache-status")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let via_body = via.text().await.unwrap();
        let direct = self
            .get(&self.sim.base_url, path, token, json)
            .await
            .text()
            .await
            .unwrap();
        (cache_status, status, via_body, direct)
    }

    fn search_count(&self) -> u64 {
        self.sim
            .sim
            .stats()
            .routes
            .iter()
            .filter(|(route, _)| route.contains("search") || route.contains("/all"))
            .map(|(_, s)| s.requests)
            .sum()
    }
}

/// An item of an index answer is the server's own element (kept from the crawl's listing),
/// with the asking user's play state: equal to the server's item, attribute for attribute.
fn same_item(via: &Value, direct: &Value, what: &str) {
    assert_eq!(via, direct, "{what}");
}

fn items(doc: &Value) -> Vec<Value> {
    doc["MediaContainer"]["Metadata"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn container_attrs(doc: &Value) -> BTreeMap<String, Value> {
    doc["MediaContainer"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_array())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The queries searched with: whole titles, prefixes, inner substrings, case changed, and a
/// few that match nothing.
const FORMS: &[QueryForm] = &[
    QueryForm::Whole,
    QueryForm::Prefix,
    QueryForm::Inner,
    QueryForm::Upper,
    QueryForm::NoMatch,
];

#[tokio::test]
async fn section_search_from_the_index_equals_the_servers_json() {
    let r = start().await;
    r.install_index().await;
    let queries = title_queries(&r.sim.sim, 60, 1, FORMS);
    let mut from_index = 0;
    for user in ["admin", "bob"] {
        let token = r.token(user);
        for (i, q) in queries.iter().enumerate() {
            let (section, kind) = [(1, 10), (1, 9), (1, 8), (4, 10), (2, 1), (3, 2), (3, 4)][i % 7];
            let path = format!(
                "/library/sections/{section}/search?type={kind}&query={}",
                enc(q)
            );
            let (cs, status, via, direct) = r.both(&path, &token, true).await;
            if user == "bob" && (section == 2 || section == 3) {
                // Not bob's section: the server says so (404), never the index.
                assert_eq!(status, 404, "{path}");
                assert!(!cs.contains("detail=index"), "{cs}");
                continue;
            }
            assert_eq!(status, 200, "{path}: {via}");
            assert_eq!(cs, "cachearr; hit; detail=index", "{path}");
            from_index += 1;
            let (via, direct): (Value, Value) = (
                serde_json::from_str(&via).unwrap(),
                serde_json::from_str(&direct).unwrap(),
            );
            assert_eq!(container_attrs(&via), container_attrs(&direct), "{path}");
            let (vi, di) = (items(&via), items(&direct));
            let keys =
                |l: &[Value]| -> Vec<Value> { l.iter().map(|m| m["ratingKey"].clone()).collect() };
            assert_eq!(keys(&vi), keys(&di), "{user} {path}: answer set or order");
            for (a, b) in vi.iter().zip(&di) {
                same_item(a, b, &format!("{user} {path}"));
            }
        }
    }
    // The client table counts every index answer as the index's.
    let stats = r.stats().await;
    let counted: u64 = stats["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["from_index"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, from_index, "{stats}");
}

#[tokio::test]
async fn section_search_xml_has_the_servers_shape() {
    let r = start().await;
    r.install_index().await;
    let token = r.token("admin");
    let path = "/library/sections/1/search?type=10&query=a&X-Plex-Container-Start=2&X-Plex-Container-Size=5";
    let (cs, status, via, direct) = r.both(path, &token, false).await;
    assert_eq!(status, 200);
    assert_eq!(cs, "cachearr; hit; detail=index");
    assert!(via.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\"5\" totalSize="
    ));
    // The container's opening tag is the server's, byte for byte.
    let open = |s: &str| s.lines().nth(1).unwrap().to_string();
    assert_eq!(open(&via), open(&direct));
    // The same tracks in the same order.
    let keys = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("<Track "))
            .map(|l| {
                l.split("ratingKey=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(keys(&via).len(), 5);
    assert_eq!(keys(&via), keys(&direct));
    // The items are the server's own elements (Media, Part, guids …): the whole document
    // is the server's, byte for byte.
    assert_eq!(via, direct);
}

#[tokio::test]
async fn hubs_search_from_the_index_equals_the_servers() {
    let r = start().await;
    r.install_index().await;
    let queries = title_queries(&r.sim.sim, 40, 2, FORMS);
    let mut shows_to_server = 0;
    for (user, section) in [
        ("bob", None),
        ("admin", None),
        ("kid", None),
        ("admin", Some(3)),
        ("admin", Some(1)),
        ("admin", Some(2)),
        ("bob", Some(4)),
    ] {
        let token = r.token(user);
        for (qi, q) in queries.iter().enumerate() {
            let mut path = format!("/hubs/search?query={}&limit=5", enc(q));
            if qi % 2 == 1 {
                path.push_str("&includeGuids=0");
            }
            if let Some(s) = section {
                path.push_str(&format!("&sectionId={s}"));
            }
            let (cs, status, via, direct) = r.both(&path, &token, true).await;
            assert_eq!(status, 200, "{path}");
            let (via, direct): (Value, Value) = (
                serde_json::from_str(&via).unwrap(),
                serde_json::from_str(&direct).unwrap(),
            );
            let shows_found = direct["MediaContainer"]["Hub"]
                .as_array()
                .is_some_and(|hubs| {
                    hubs.iter()
                        .any(|h| h["type"] == "show" && h["size"].as_u64() > Some(0))
                });
            if shows_found {
                // A show's element would lack `childCount` and the rest: the server answers.
                assert!(!cs.contains("detail=index"), "{user} {path}: {cs}");
                assert_eq!(via, direct, "{user} {path}");
                shows_to_server += 1;
                continue;
            }
            assert_eq!(cs, "cachearr; hit; detail=index", "{user} {path}");
            assert_eq!(
                via["MediaContainer"]["size"], direct["MediaContainer"]["size"],
                "{path}"
            );
            let hubs = |d: &Value| {
                d["MediaContainer"]["Hub"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            };
            for (a, b) in hubs(&via).iter().zip(hubs(&direct).iter()) {
                for k in [
                    "title",
                    "type",
                    "hubIdentifier",
                    "context",
                    "size",
                    "more",
                    "style",
                ] {
                    assert_eq!(a[k], b[k], "{user} {path}: hub {k}");
                }
                let (ai, bi) = (
                    a["Metadata"].as_array().unwrap(),
                    b["Metadata"].as_array().unwrap(),
                );
                assert_eq!(ai.len(), bi.len());
                for (x, y) in ai.iter().zip(bi) {
                    same_item(x, y, &format!("{user} {path}"));
                }
            }
        }
    }
    assert!(shows_to_server > 0, "no query found a show");
}

#[tokio::test]
async fn a_restricted_user_never_sees_hidden_sections() {
    let r = start().await;
    r.install_index().await;
    let token = r.token("bob");
    let hidden: BTreeSet<i64> = [2, 3].into();
    let queries = title_queries(&r.sim.sim, 80, 3, FORMS);
    let mut answered = 0;
    for q in &queries {
        for path in [
            format!("/hubs/search?query={}&limit=50", enc(q)),
            format!("/library/sections/1/search?type=10&query={}", enc(q)),
            format!("/library/sections/4/all?type=9&title={}", enc(q)),
        ] {
            let (cs, status, via, direct) = r.both(&path, &token, true).await;
            assert_eq!(status, 200, "{path}");
            assert!(cs.contains("detail=index"), "{path}: {cs}");
            let (via, direct): (Value, Value) = (
                serde_json::from_str(&via).unwrap(),
                serde_json::from_str(&direct).unwrap(),
            );
            let collect = |d: &Value| -> BTreeSet<String> {
                let mut out = BTreeSet::new();
                let mut all = items(d);
                for hub in d["MediaContainer"]["Hub"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    all.extend(hub["Metadata"].as_array().cloned().unwrap_or_default());
                }
                for m in all {
                    let section = m["librarySectionID"].as_i64().unwrap();
                    assert!(!hidden.contains(&section), "hidden section item {m}");
                    out.insert(m["ratingKey"].as_str().unwrap().to_string());
                }
                out
            };
            let (a, b) = (collect(&via), collect(&direct));
            assert_eq!(a, b, "{path}");
            answered += usize::from(!a.is_empty());
        }
    }
    assert!(
        answered > 20,
        "too few non-empty answers ({answered}) to mean anything"
    );
}

#[tokio::test]
async fn title_filters_and_paging_on_all() {
    let r = start().await;
    r.install_index().await;
    let token = r.token("admin");
    let title = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let id = s.items(cachearr_sim::library::ItemKind::Album)[3];
        lib.item(id).unwrap().title().to_string()
    };
    let show = {
        let lib = r.sim.sim.library();
        let s = lib.section(3).unwrap();
        let id = s.items(cachearr_sim::library::ItemKind::Show)[1];
        lib.item(id).unwrap().title().to_string()
    };
    for (section, kind, filter) in [
        (1, 9, format!("title={}", enc(&title))),
        (1, 9, format!("title=={}", enc(&title))),
        (1, 9, "title=e".to_string()),
        (4, 9, "title=a".to_string()),
        (1, 10, "title=val".to_string()),
        (1, 10, "title=e".to_string()),
        (4, 10, "title=o".to_string()),
        (1, 8, "title=a".to_string()),
        (2, 1, "title=the".to_string()),
        (3, 2, format!("title={}", enc(&show[..3]))),
        (3, 2, format!("title=={}", enc(&show))),
    ] {
        let path = format!("/library/sections/{section}/all?type={kind}&{filter}");
        let (cs, status, via, direct) = r.both(&path, &token, true).await;
        assert_eq!(status, 200);
        if kind == 2 {
            // A title search's shows are the server's to write: the server answers.
            assert!(!cs.contains("detail=index"), "{path}: {cs}");
            assert_eq!(via, direct, "{path}");
            continue;
        }
        assert_eq!(cs, "cachearr; hit; detail=index", "{path}");
        let (via, direct): (Value, Value) = (
            serde_json::from_str(&via).unwrap(),
            serde_json::from_str(&direct).unwrap(),
        );
        // The container is the server's own listing container, as the crawl kept it.
        assert_eq!(container_attrs(&via), container_attrs(&direct), "{path}");
        let by_key = |d: &Value| -> BTreeMap<String, Value> {
            items(d)
                .into_iter()
                .map(|m| (m["ratingKey"].as_str().unwrap().to_string(), m))
                .collect()
        };
        let (a, b) = (by_key(&via), by_key(&direct));
        assert!(!a.is_empty());
        // In the server's order: the section's natural one, whatever the titles.
        let order = |d: &Value| -> Vec<String> {
            items(d)
                .iter()
                .map(|m| m["ratingKey"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(order(&via), order(&direct), "{path}");
        for (k, v) in &a {
            same_item(v, &b[k], &path);
        }
        // Paged: the pages cover the same set, totalSize and offset as the server's.
        let total = a.len();
        let mut seen = BTreeSet::new();
        let mut start = 0;
        while start < total {
            let paged = format!("{path}&X-Plex-Container-Start={start}&X-Plex-Container-Size=4");
            let (_, _, via, direct) = r.both(&paged, &token, true).await;
            let (via, direct): (Value, Value) = (
                serde_json::from_str(&via).unwrap(),
                serde_json::from_str(&direct).unwrap(),
            );
            for k in ["size", "totalSize", "offset"] {
                assert_eq!(
                    via["MediaContainer"][k], direct["MediaContainer"][k],
                    "{paged}: {k}"
                );
            }
            seen.extend(
                items(&via)
                    .iter()
                    .map(|m| m["ratingKey"].as_str().unwrap().to_string()),
            );
            start += 4;
        }
        assert_eq!(seen.len(), total);
    }
}

#[tokio::test]
async fn not_ready_goes_to_the_server_and_ready_does_not() {
    let r = start().await;
    let token = r.token("admin");
    let path = "/library/sections/1/search?type=10&query=lo";
    let before = r.search_count();
    let (cs, status, via, direct) = r.both(path, &token, true).await;
    assert_eq!(status, 200);
    assert!(!cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct);
    // The gateway's request and the direct one.
    assert_eq!(r.search_count(), before + 2);

    r.install_index().await;
    // The first answer from the index reads the user's item count of each section once (a
    // listing with room for no items): the proof that the server hides nothing there from
    // them. Searches never reach the server.
    let _ = r
        .get(
            &r.proxy,
            "/library/sections/1/search?type=10&query=x",
            &token,
            true,
        )
        .await;
    let before = r.search_count();
    for q in ["lo", "la", "li", "love"] {
        let path = format!("/library/sections/1/search?type=10&query={q}");
        let resp = r.get(&r.proxy, &path, &token, true).await;
        assert_eq!(resp.headers()["x-cache"], "HIT");
        assert_eq!(
            resp.headers()["cache-status"],
            "cachearr; hit; detail=index"
        );
        assert!(
            resp.headers()["server-timing"]
                .to_str()
                .unwrap()
                .starts_with("cache;dur=")
        );
    }
    assert_eq!(r.search_count(), before, "no search reached the server");

    // A parameter the index does not understand: the server answers.
    let (cs, _, via, direct) = r
        .both(
            "/library/sections/1/all?type=10&title=lo&sort=duration",
            &token,
            true,
        )
        .await;
    assert!(!cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct);

    // Disabled: back to the server, and counted as a search the index did not answer.
    let handle = r.gateway.index("plex").unwrap();
    let counted = handle.searches_to_server();
    handle.set_enabled(false);
    let (cs, _, _, _) = r.both(path, &token, true).await;
    assert!(!cs.contains("detail=index"), "{cs}");
    assert_eq!(handle.searches_to_server(), counted + 1);
    handle.set_enabled(true);

    // Cleared again (a failed rebuild): back to the server.
    handle.clear();
    let (cs, _, _, _) = r.both(path, &token, true).await;
    assert!(!cs.contains("detail=index"), "{cs}");
    assert_eq!(handle.searches_to_server(), counted + 2);
}

/// Every user's play state in index answers is the server's, attribute for attribute: played,
/// in progress, skipped and rated tracks, and the played-track counts of their albums and
/// artists, in section searches and hub searches, XML and JSON — with no item opened first.
/// A change made straight on the server shows once the state's freshness (10 s) has passed.
#[tokio::test]
async fn play_state_in_index_answers_is_each_users_own() {
    let clock = Arc::new(cachearr_engine::ManualClock::new(1_700_000_000_000));
    let r = sim_gateway::start_built(
        cachearr_sim::Sim::start_plex_for_tests().await.unwrap(),
        cachearr_dialect::Profile::Plex,
        |config| config.admin_token = Some("admin-secret".to_string()),
        |builder| builder.clock(clock.clone()),
    )
    .await;
    r.install_index().await;
    let (tracks, titles, album, artist) = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let ids: Vec<u32> = s.items(cachearr_sim::library::ItemKind::Track)[..6].to_vec();
        let titles: Vec<String> = ids
            .iter()
            .map(|id| lib.item(*id).unwrap().title().to_string())
            .collect();
        let first = lib.item(ids[0]).unwrap();
        let album = first.parent().unwrap();
        let artist = album.parent().unwrap();
        (
            ids,
            titles,
            album.title().to_string(),
            artist.title().to_string(),
        )
    };
    // alice (2) plays, half-plays and rates; bob (3) plays one of the same; admin (1) rates.
    r.sim.sim.scrobble(2, tracks[0]);
    r.sim.sim.scrobble(2, tracks[0]);
    r.sim.sim.scrobble(2, tracks[1]);
    r.sim.sim.set_progress(2, tracks[2], 4_000);
    r.sim.sim.rate(2, tracks[3], Some(8.0));
    r.sim.sim.scrobble(3, tracks[1]);
    r.sim.sim.rate(1, tracks[4], Some(6.0));
    let mut paths: Vec<String> = titles
        .iter()
        .map(|t| format!("/library/sections/1/search?type=10&query={}", enc(t)))
        .collect();
    for name in [&album, &artist] {
        paths.push(format!("/hubs/search?query={}&limit=10", enc(name)));
    }
    paths.push(format!(
        "/library/sections/1/search?type=9&query={}",
        enc(&album)
    ));
    paths.push(format!(
        "/library/sections/1/search?type=8&query={}",
        enc(&artist)
    ));
    let mut answered = 0;
    for user in ["admin", "alice", "bob"] {
        let token = r.token(user);
        for path in &paths {
            for json in [true, false] {
                let (cs, status, via, direct) = r.both(path, &token, json).await;
                assert_eq!(status, 200, "{user} {path}");
                if cs.contains("detail=index") {
                    answered += 1;
                }
                if json {
                    let (via, direct): (Value, Value) = (
                        serde_json::from_str(&via).unwrap(),
                        serde_json::from_str(&direct).unwrap(),
                    );
                    same_item(&via, &direct, &format!("{user} {path}"));
                } else {
                    assert_eq!(via, direct, "{user} {path} (XML)");
                }
            }
        }
    }
    assert!(
        answered >= paths.len() * 3,
        "{answered} of {} answers came from the index",
        paths.len() * 6
    );
    // Played straight on the server: the next answer after the freshness window has it.
    r.sim.sim.scrobble(3, tracks[5]);
    clock.advance(std::time::Duration::from_secs(11));
    let path = &paths[5];
    let (cs, _, via, direct) = r.both(path, &r.token("bob"), true).await;
    assert!(cs.contains("detail=index"), "{cs}");
    let (via, direct): (Value, Value) = (
        serde_json::from_str(&via).unwrap(),
        serde_json::from_str(&direct).unwrap(),
    );
    same_item(&via, &direct, "after a play made on the server");
}

/// Every rating a user can give is in the index's answers as the server writes it: the
/// lowest (0 and 1, which a "rated above 1" reading of the user's ratings left out), a half
/// rating and the highest.
#[tokio::test]
async fn every_rating_is_in_index_answers_the_lowest_included() {
    let r = start().await;
    r.install_index().await;
    let (tracks, titles) = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let ids: Vec<u32> = s.items(cachearr_sim::library::ItemKind::Track)[..4].to_vec();
        let titles: Vec<String> = ids
            .iter()
            .map(|id| lib.item(*id).unwrap().title().to_string())
            .collect();
        (ids, titles)
    };
    for (track, rating) in tracks.iter().zip([1.0, 0.0, 0.5, 10.0]) {
        r.sim.sim.rate(2, *track, Some(rating));
    }
    let token = r.token("alice");
    for title in &titles {
        let path = format!("/library/sections/1/search?type=10&query={}", enc(title));
        for json in [true, false] {
            let (cs, status, via, direct) = r.both(&path, &token, json).await;
            assert_eq!(status, 200, "{path}");
            assert!(cs.contains("detail=index"), "{path}: {cs}");
            assert!(direct.contains("userRating"), "{path}: rated on the server");
            if json {
                let (via, direct): (Value, Value) = (
                    serde_json::from_str(&via).unwrap(),
                    serde_json::from_str(&direct).unwrap(),
                );
                same_item(&via, &direct, &path);
            } else {
                assert_eq!(via, direct, "{path} (XML)");
            }
        }
    }
}

#[tokio::test]
async fn lookup_by_path_and_musicbrainz_id_needs_the_admin_token() {
    let r = start().await;
    let (id, path, mbid, section) = {
        let lib = r.sim.sim.library();
        let s = lib.section(4).unwrap();
        let item = s
            .items(cachearr_sim::library::ItemKind::Track)
            .iter()
            .filter_map(|id| lib.item(*id))
            .find(|i| i.musicbrainz_id().is_some())
            .unwrap();
        (
            item.id().to_string(),
            item.file_path(),
            item.musicbrainz_id().unwrap().to_string(),
            item.section().id.to_string(),
        )
    };
    let get = |q: String, token: Option<&'static str>| {
        let mut rb = r.client.get(format!("{}/api/lookup?{q}", r.admin));
        if let Some(t) = token {
            rb = rb.header("Authorization", format!("Bearer {t}"));
        }
        rb
    };
    // Not built yet.
    let resp = get(format!("path={}", enc(&path)), Some("admin-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    r.install_index().await;
    // No token or a wrong one: refused (the answer spans every user's sections).
    for token in [None, Some("wrong")] {
        let resp = get(format!("path={}", enc(&path)), token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{token:?}");
    }
    let v = json_answer(get(
        format!("upstream=plex&path={}", enc(&path)),
        Some("admin-secret"),
    ))
    .await;
    assert_eq!(v["by"], "path");
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["id"], id.as_str());
    assert_eq!(v["items"][0]["section_id"], section.as_str());
    assert_eq!(v["items"][0]["file_path"], path.as_str());
    // The MusicBrainz id in another case and with the scheme: the same track among its items.
    let v = json_answer(get(
        format!("mbid={}", enc(&format!("mbid://{}", mbid.to_uppercase()))),
        Some("admin-secret"),
    ))
    .await;
    assert_eq!(v["by"], "mbid");
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{ids:?}");
    // Unknown path: no items. Bad requests and unknown upstreams say so.
    let v = json_answer(get("path=%2Fnope.flac".into(), Some("admin-secret"))).await;
    assert!(v["items"].as_array().unwrap().is_empty());
    for (query, status) in [
        ("mbid=xyz", 400),
        ("path=a&mbid=b", 400),
        ("upstream=nope&path=a", 404),
    ] {
        let resp = get(query.into(), Some("admin-secret"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{query}");
    }
}

/// The community Plex OpenAPI spec (Apache-2.0), kept unchanged in the repository
/// (`tests/peer/`, see its README) so a clean clone has it.
fn plex_spec() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peer/plex-api-spec.yaml")
}

/// Answers from the index pass the spec's schema for their route as the server's do
/// (`tests/python/spec_through_gateway.py`, JSON Schema from the pinned `jsonschema`), and
/// what they leave out of the server's items is counted by attribute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_index_answers_pass_the_plex_openapi_spec() {
    let r = start().await;
    r.install_index().await;
    let token = r.token("admin");
    let mut requests = Vec::new();
    for q in title_queries(&r.sim.sim, 40, 9, FORMS) {
        let q = enc(&q);
        requests.push(format!("/hubs/search?query={q}&limit=5"));
        requests.push(format!("/library/sections/1/all?type=10&title={q}"));
        requests.push(format!("/library/sections/1/all?type=9&title={q}"));
        requests.push(format!("/library/sections/2/all?type=1&title={q}"));
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "run scripts/setup-test-env first");
    let mut child = tokio::process::Command::new(python)
        .arg(root.join("tests/python/spec_through_gateway.py"))
        .arg(plex_spec())
        .arg(&r.sim.base_url)
        .arg(&r.proxy)
        .arg(&token)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(requests.join("\n").as_bytes())
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("{report}");
    assert_eq!(report["requests"], requests.len());
    assert!(report["from_index"].as_u64().unwrap() > 100, "{report}");
    assert_eq!(report["index_only_errors"], 0, "{report}");
    // Index answers carry every attribute the server's items have.
    assert_eq!(report["left_out"], serde_json::json!({}), "{report}");
}

/// Every request the simulator has served so far.
fn sim_requests(r: &Running) -> u64 {
    r.sim.sim.stats().routes.values().map(|s| s.requests).sum()
}

/// python-plexapi adds `includeGuids=1` to every search (`searchTracks(title=…)`,
/// `section.get`): answered from the index, each document — `Guid` children included — is
/// the server's for that user, byte for byte, XML and JSON. A user the server restricts inside
/// a library is answered by the server, as without `includeGuids`.
#[tokio::test]
async fn searches_with_guids_are_the_servers_bytes_for_every_user() {
    use cachearr_sim::state::{PlexFilter, Restrictions};
    let r = start().await;
    r.install_index().await;
    let users: Vec<String> = {
        let mut state = r.sim.sim.state();
        let names: Vec<String> = state.users().iter().map(|u| u.name.clone()).collect();
        // One user is shared the music without what is labelled Explicit.
        let restricted = state.users().iter().find(|u| u.name == "bob").unwrap().id;
        assert!(state.set_restrictions(
            restricted,
            Restrictions {
                plex_music: PlexFilter::parse("label!=Explicit"),
                ..Restrictions::default()
            }
        ));
        names
    };
    assert!(users.len() >= 3, "{users:?}");
    let queries = title_queries(&r.sim.sim, 12, 5, FORMS);
    let mut from_index = 0;
    let mut guids = 0;
    for user in &users {
        let token = r.token(user);
        for (i, q) in queries.iter().enumerate() {
            let path = match i % 4 {
                0 => format!(
                    "/library/sections/1/search?type=10&query={}&includeGuids=1",
                    enc(q)
                ),
                1 => format!(
                    "/library/sections/1/search?type=9&query={}&includeGuids=1",
                    enc(q)
                ),
                2 => format!("/hubs/search?query={}&limit=10&includeGuids=1", enc(q)),
                _ => format!(
                    "/library/sections/2/search?type=1&query={}&includeGuids=1",
                    enc(q)
                ),
            };
            for json in [false, true] {
                let (cs, status, via, direct) = r.both(&path, &token, json).await;
                sim_gateway::assert_same_answer(
                    &via,
                    &direct,
                    &format!("{user} {path} json={json} ({cs}, {status})"),
                );
                if user == "admin" && status == 200 {
                    assert_eq!(cs, "cachearr; hit; detail=index", "{path}");
                }
                if user == "bob" && path.contains("sections/1/") {
                    assert!(!cs.contains("detail=index"), "restricted: {path}: {cs}");
                }
                if cs.contains("detail=index") {
                    from_index += 1;
                    guids += usize::from(via.contains("<Guid ") || via.contains("\"Guid\":["));
                }
            }
        }
    }
    assert!(from_index > 40, "too few index answers ({from_index})");
    assert!(guids > 3, "too few answers with Guid children ({guids})");
}

/// An edit through cachearr, then at once a search with `includeGuids=1` (python-plexapi's
/// own order): the answer is the server's, new title included, though the server's change
/// events are lost. Once the keeper has read the item again the index answers again, with
/// the new title.
#[tokio::test]
async fn a_search_right_after_an_edit_through_cachearr_is_the_servers() {
    // The keeper reads the library with the owner's token, and reads edited items again.
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let owner = sim.token.clone();
    let r = sim_gateway::start_in_front_of(sim, cachearr_dialect::Profile::Plex, |config| {
        config.upstreams[0].token = Some(owner);
    })
    .await;
    let handle = r.gateway.index("plex").unwrap().clone();
    cachearr_testkit::eventually(
        "the keeper built the index",
        Duration::from_secs(30),
        || {
            let ready = handle.ready().is_some();
            async move { ready }
        },
    )
    .await;
    let token = r.token("admin");
    // The server announces none of the edits.
    r.sim.sim.drop_next_events(1_000);
    let (id, old) = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let id = s.items(cachearr_sim::library::ItemKind::Track)[7];
        (id, lib.item(id).unwrap().title().to_string())
    };
    let search = |q: &str| {
        format!(
            "/library/sections/1/search?type=10&query={}&includeGuids=1",
            enc(q)
        )
    };
    let (cs, _, via, direct) = r.both(&search(&old), &token, false).await;
    assert_eq!(cs, "cachearr; hit; detail=index");
    assert_eq!(via, direct);
    let new = "Zyxwv Renamed Through The Gateway";
    for round in 0..3 {
        let title = format!("{new} {round}");
        let edit = r
            .client
            .put(format!(
                "{}/library/sections/1/all?type=10&id={id}&title.value={}",
                r.proxy,
                enc(&title)
            ))
            .header("X-Plex-Token", &token)
            .header("X-Plex-Client-Identifier", "tests")
            .send()
            .await
            .unwrap();
        assert!(edit.status().is_success(), "{}", edit.status());
        for q in [title.as_str(), new, old.as_str()] {
            let (cs, status, via, direct) = r.both(&search(q), &token, false).await;
            assert_eq!(status, 200);
            assert_eq!(via, direct, "right after the edit, {q}: {cs}");
        }
        let (_, _, via, _) = r.both(&search(&title), &token, false).await;
        assert!(via.contains(&title), "{via}");
        // Read again by the keeper: from the index, with the new title.
        cachearr_testkit::eventually(
            "the index answers again",
            Duration::from_secs(20),
            || async {
                let (cs, _, via, direct) = r.both(&search(&title), &token, false).await;
                cs == "cachearr; hit; detail=index" && via == direct
            },
        )
        .await;
    }
}

/// A playlist tool's lookup (python-plexapi `searchTracks(title=…)`: `/all?type=10&title=…`
/// with `includeGuids=1`) of N tracks, cold cache, index ready: what reaches the server when
/// the index does not answer such searches, and when it does.
#[tokio::test]
async fn a_lookup_with_guids_reaches_the_server_only_to_prove_sections() {
    let r = start().await;
    r.install_index().await;
    let token = r.token("admin");
    let titles: Vec<String> = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        s.items(cachearr_sim::library::ItemKind::Track)
            .iter()
            .take(120)
            .map(|id| lib.item(*id).unwrap().title().to_string())
            .collect()
    };
    let lookup = |prefix: &'static str| {
        let r = &r;
        let token = &token;
        let titles = &titles;
        async move {
            let before = sim_requests(r);
            for t in titles {
                let path = format!(
                    "/library/sections/1/all?type=10&title={}&includeGuids=1&{prefix}",
                    enc(t)
                );
                let resp = r.get(&r.proxy, &path, token, false).await;
                assert_eq!(resp.status(), 200);
            }
            sim_requests(r) - before
        }
    };
    let handle = r.gateway.index("plex").unwrap();
    handle.set_enabled(false);
    let without = lookup("X-Plex-Product=a").await;
    handle.set_enabled(true);
    let with = lookup("X-Plex-Product=b").await;
    eprintln!(
        "lookup of {} tracks with includeGuids=1: {without} server requests without index \
         answers, {with} with",
        titles.len()
    );
    assert!(without >= titles.len() as u64 - 10, "{without}");
    assert!(with <= 15, "{with}");
}

/// A play-state listing an operator made shared (one entry for every user) is never read for
/// a user's answer from the index: the searches go to the server, and no user gets the play
/// state of the user whose listing filled the shared entry.
#[tokio::test]
async fn play_state_is_not_read_from_a_listing_made_shared() {
    let r = sim_gateway::start(|config| {
        config.admin_token = Some("admin-secret".to_string());
        config.upstreams[0]
            .routes
            .push(cachearr_config::policy::RouteOverride {
                pattern: "/library/sections/{id}/all".to_string(),
                class: None,
                policy: cachearr_config::policy::PolicyOverride {
                    scope: Some(cachearr_config::policy::Scope::Shared),
                    ..Default::default()
                },
                standard: Default::default(),
                origin: "test".to_string(),
            });
    })
    .await;
    r.install_index().await;
    let (track, title) = {
        let lib = r.sim.sim.library();
        let id = lib
            .section(1)
            .unwrap()
            .items(cachearr_sim::library::ItemKind::Track)[0];
        (id, lib.item(id).unwrap().title().to_string())
    };
    // bob played the track, alice did not: bob's listing would fill the shared entry first.
    r.sim.sim.scrobble(3, track);
    let path = format!("/library/sections/1/search?type=10&query={}", enc(&title));
    for user in ["bob", "alice"] {
        let (cs, status, via, direct) = r.both(&path, &r.token(user), true).await;
        assert_eq!(status, 200, "{user}");
        assert!(!cs.contains("detail=index"), "{user}: {cs}");
        let (via, direct): (Value, Value) = (
            serde_json::from_str(&via).unwrap(),
            serde_json::from_str(&direct).unwrap(),
        );
        same_item(&via, &direct, user);
    }
}
