//! Jellyfin search routes answered from the library index (`/Items?SearchTerm=`,
//! `/Users/{id}/Items?SearchTerm=`, `/Search/Hints`), end to end through the gateway and
//! diffed against the simulated Jellyfin server's own answers.
//!
//! The index is installed from the simulator's library with Jellyfin's ids (item GUIDs,
//! library view ids), as a Jellyfin crawl would record them.
#![allow(clippy::unwrap_used, missing_docs)]

mod sim_gateway;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cachearr_gateway::Profile;
use cachearr_library::{ItemRecord, LibraryIndex};
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use serde_json::Value;
use sim_gateway::search::{QueryForm, enc, title_queries};
use sim_gateway::{Running, eventually};

async fn start() -> Running {
    let sim = Sim::builder()
        .tracks(500)
        .movies(30)
        .shows(3)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    sim_gateway::start_in_front_of(sim, Profile::Jellyfin, |_| {}).await
}

impl Running {
    fn user(&self, name: &str) -> (String, String) {
        let state = self.sim.sim.state();
        let u = state.users().iter().find(|u| u.name == name).unwrap();
        (u.jellyfin_token.clone(), u.jellyfin_id.clone())
    }

    async fn get(&self, base: &str, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{base}{path}"))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap()
    }

    /// Records with Jellyfin's ids: the item GUIDs and the library views' ids.
    async fn install_index(&self) {
        let (token, _) = self.user("admin");
        let views: Value = self
            .get(&self.sim.base_url, "/UserViews", &token)
            .await
            .json()
            .await
            .unwrap();
        let view_of: BTreeMap<String, String> = views["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["Name"].as_str().unwrap().to_string(),
                    v["Id"].as_str().unwrap().to_ascii_lowercase(),
                )
            })
            .collect();
        let records: Vec<ItemRecord> = {
            let lib = self.sim.sim.library();
            (1..=lib.len() as u32)
                .filter_map(|id| lib.item(id))
                .filter_map(|item| {
                    let mut r = cachearr_library::sim::record_of(&item)?;
                    r.id = item.guid_id();
                    r.section_id = view_of[&item.section().title].clone();
                    r.parent_id = item.parent().map(|p| p.guid_id());
                    if r.grandparent_id.is_some() {
                        r.grandparent_id = item.grandparent().map(|g| g.guid_id());
                    }
                    Some(r)
                })
                .collect()
        };
        let index = LibraryIndex::build(&records).unwrap();
        self.keep_jellyfin_documents(&token).await;
        self.gateway
            .index("jellyfin")
            .unwrap()
            .install(Arc::new(index));
    }

    async fn both(&self, path: &str, token: &str) -> (String, u16, Value, Value) {
        let via = self.get(&self.proxy, path, token).await;
        let status = via.status().as_u16();
        let cs = via
            .headers()
            .get("cache-status")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let via: Value = via.json().await.unwrap();
        let direct: Value = self
            .get(&self.sim.base_url, path, token)
            .await
            .json()
            .await
            .unwrap();
        (cs, status, via, direct)
    }
}

/// What the server's `SearchHint` has that a hint from the index leaves out (documented in
/// docs/library-index.md); `/Items` answers leave out nothing.
const NOT_IN_HINTS: &[&str] = &["SongCount", "EpisodeCount"];

fn same_item(via: &Value, direct: &Value, what: &str) {
    let (via, direct) = (via.as_object().unwrap(), direct.as_object().unwrap());
    for (k, v) in via {
        assert_eq!(Some(v), direct.get(k), "{what}: {k} differs");
    }
    for k in direct.keys() {
        assert!(
            via.contains_key(k) || NOT_IN_HINTS.contains(&k.as_str()),
            "{what}: the gateway left out {k} = {}",
            direct[k]
        );
    }
}

/// The queries searched with: whole titles, prefixes, inner substrings, lower-cased.
const FORMS: &[QueryForm] = &[
    QueryForm::Whole,
    QueryForm::Prefix,
    QueryForm::Inner,
    QueryForm::Lower,
];

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["Id"].as_str().unwrap().to_string())
        .collect()
}

fn id_list(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["Id"].as_str().unwrap().to_string())
        .collect()
}

/// Pages of searches hold the server's items in the server's order: relevance, sort name,
/// name, then the id where the server leaves ties undefined (equal names are common in a
/// music library: every "Intro").
#[tokio::test]
async fn search_pages_hold_the_servers_items_in_its_order() {
    let r = start().await;
    r.install_index().await;
    let (token, uid) = r.user("admin");
    let forms = [
        QueryForm::Prefix,
        QueryForm::Inner,
        QueryForm::Whole,
        QueryForm::Lower,
    ];
    let queries = title_queries(&r.sim.sim, 340, 12, &forms);
    let mut compared = 0;
    let mut ties = 0;
    for (i, q) in queries.iter().enumerate() {
        let path = match i % 3 {
            0 => format!(
                "/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio,MusicAlbum,MusicArtist&Limit=20",
                enc(q)
            ),
            1 => format!(
                "/Users/{uid}/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio&SortBy=SortName&SortOrder=Ascending&StartIndex=0&Limit=20",
                enc(q)
            ),
            _ => format!(
                "/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio,MusicAlbum&StartIndex=20&Limit=20&Fields=SortName",
                enc(q)
            ),
        };
        let (cs, status, via, direct) = r.both(&path, &token).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(cs, "cachearr; hit; detail=index", "{path}");
        assert_eq!(
            via["TotalRecordCount"], direct["TotalRecordCount"],
            "{path}"
        );
        assert_eq!(id_list(&via["Items"]), id_list(&direct["Items"]), "{path}");
        let names: Vec<&str> = direct["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["Name"].as_str().unwrap())
            .collect();
        ties += usize::from(names.windows(2).any(|w| w[0].eq_ignore_ascii_case(w[1])));
        compared += usize::from(!names.is_empty());
    }
    assert!(compared > 200, "{compared} non-empty pages");
    println!("{compared} non-empty pages, {ties} with equal names side by side");
}

#[tokio::test]
async fn items_search_from_the_index_equals_the_servers() {
    let r = start().await;
    r.install_index().await;
    let mut answered = 0;
    for user in ["admin", "bob"] {
        let (token, uid) = r.user(user);
        for (i, q) in title_queries(&r.sim.sim, 40, 5, FORMS).iter().enumerate() {
            let base = if i % 2 == 0 {
                "/Items".to_string()
            } else {
                format!("/Users/{uid}/Items")
            };
            let path = format!(
                "{base}?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio,MusicAlbum,MusicArtist&Fields=SortName,Path,DateCreated,ParentId",
                enc(q)
            );
            let (cs, status, via, direct) = r.both(&path, &token).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(cs, "cachearr; hit; detail=index", "{user} {path}");
            assert_eq!(
                via["TotalRecordCount"], direct["TotalRecordCount"],
                "{path}"
            );
            assert_eq!(via["StartIndex"], direct["StartIndex"]);
            assert_eq!(ids(&via["Items"]), ids(&direct["Items"]), "{user} {path}");
            let sort_names = |d: &Value| -> Vec<String> {
                d["Items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["SortName"].as_str().unwrap().to_lowercase())
                    .collect()
            };
            assert_eq!(sort_names(&via), sort_names(&direct), "{path}: order");
            assert_eq!(id_list(&via["Items"]), id_list(&direct["Items"]), "{path}");
            let by_id: BTreeMap<String, Value> = direct["Items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["Id"].as_str().unwrap().to_string(), i.clone()))
                .collect();
            for item in via["Items"].as_array().unwrap() {
                assert_eq!(item, &by_id[item["Id"].as_str().unwrap()], "{path}");
            }
            answered += usize::from(!by_id.is_empty());
        }
    }
    assert!(answered > 30, "{answered}");
    // Paging: StartIndex/Limit windows with the server's totals.
    let (token, _) = r.user("admin");
    let path = "/Items?SearchTerm=a&Recursive=true&IncludeItemTypes=Audio&StartIndex=3&Limit=7";
    let (cs, _, via, direct) = r.both(path, &token).await;
    assert!(cs.contains("detail=index"));
    assert_eq!(via["TotalRecordCount"], direct["TotalRecordCount"]);
    assert_eq!(via["StartIndex"], 3);
    assert_eq!(via["Items"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn search_hints_from_the_index_and_what_goes_to_the_server() {
    let r = start().await;
    r.install_index().await;
    let (admin, _) = r.user("admin");
    let (bob, _) = r.user("bob");
    for q in title_queries(&r.sim.sim, 40, 6, FORMS) {
        for (token, extra) in [
            (&bob, ""),
            (
                &admin,
                "&IncludeItemTypes=Audio,MusicAlbum,MusicArtist,Movie",
            ),
            (&admin, "&IncludeItemTypes=MusicAlbum&Limit=2"),
        ] {
            let path = format!("/Search/Hints?SearchTerm={}{extra}", enc(&q));
            let (cs, status, via, direct) = r.both(&path, token).await;
            assert_eq!(status, 200);
            assert_eq!(cs, "cachearr; hit; detail=index", "{path}");
            assert_eq!(
                via["TotalRecordCount"], direct["TotalRecordCount"],
                "{path}"
            );
            let (a, b) = (
                via["SearchHints"].as_array().unwrap(),
                direct["SearchHints"].as_array().unwrap(),
            );
            assert_eq!(a.len(), b.len());
            let by_id: BTreeMap<&str, &Value> =
                b.iter().map(|h| (h["Id"].as_str().unwrap(), h)).collect();
            for hint in a {
                let id = hint["Id"].as_str().unwrap();
                if extra.contains("Limit") {
                    // A page cut through equal ranks may hold other ties than the server's.
                    if let Some(d) = by_id.get(id) {
                        same_item(hint, d, &path);
                    }
                    continue;
                }
                same_item(hint, by_id.get(id).unwrap(), &path);
            }
            // The bob never gets anything from the movies or shows libraries.
            if token == &bob {
                assert!(a.iter().all(|h| {
                    ["Audio", "MusicAlbum", "MusicArtist"].contains(&h["Type"].as_str().unwrap())
                }));
            }
        }
    }
    // Untyped hints for a user who sees a TV library: series are not in the index.
    let (cs, _, via, direct) = r.both("/Search/Hints?SearchTerm=the", &admin).await;
    assert!(!cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct);
}

#[tokio::test]
async fn jellyfin_falls_back_until_the_index_is_ready() {
    let r = start().await;
    let (token, _) = r.user("admin");
    let path = "/Items?SearchTerm=lo&Recursive=true&IncludeItemTypes=Audio";
    let (cs, status, via, direct) = r.both(path, &token).await;
    assert_eq!(status, 200);
    assert!(!cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct);
    r.install_index().await;
    let (cs, _, _, _) = r.both(path, &token).await;
    assert_eq!(cs, "cachearr; hit; detail=index");
    // Not recursive, camelCase, or a filter the index does not know: the server.
    for (path, accept) in [
        (
            "/Items?SearchTerm=lo&IncludeItemTypes=Audio",
            "application/json",
        ),
        (path, "application/json; profile=\"CamelCase\""),
        (
            "/Items?SearchTerm=lo&Recursive=true&IncludeItemTypes=Audio&IsPlayed=true",
            "application/json",
        ),
    ] {
        let resp = r
            .client
            .get(format!("{}{path}", r.proxy))
            .header("X-Emby-Token", &token)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert!(
            !resp.headers()["cache-status"]
                .to_str()
                .unwrap()
                .contains("detail=index"),
            "{path}"
        );
    }
}

/// A play made on the server directly, not through cachearr, is in the next index answer
/// (the user's played listing is read again once it is older than its freshness bound).
#[tokio::test]
async fn user_data_is_the_users_own_as_the_server_writes_it() {
    let r = start().await;
    r.install_index().await;
    let (token, uid) = r.user("alice");
    let (item, title) = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let id = s.items(cachearr_sim::library::ItemKind::Track)[7];
        (id, lib.item(id).unwrap().title().to_string())
    };
    let path = format!(
        "/Users/{uid}/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio",
        enc(&title)
    );
    let (cs, _, via, direct) = r.both(&path, &token).await;
    assert!(cs.contains("detail=index"));
    assert_eq!(via, direct);
    r.sim.sim.scrobble(2, item);
    r.sim.sim.set_favorite(2, item, true);
    eventually(
        "the play made on the server is in the index answer",
        std::time::Duration::from_secs(30),
        async || {
            let (cs, _, via, direct) = r.both(&path, &token).await;
            cs.contains("detail=index") && via == direct
        },
    )
    .await;
}

/// A film matches a search by its original-language title too, which the index does not
/// hold: `/Items` searches that span films go to the server, and find what it finds.
#[tokio::test]
async fn film_searches_go_to_the_server() {
    let r = start().await;
    r.install_index().await;
    let (token, _) = r.user("admin");
    let original = {
        let lib = r.sim.sim.library();
        (1..=lib.len() as u32)
            .filter_map(|id| lib.item(id))
            .find_map(|i| {
                (i.kind() == cachearr_sim::library::ItemKind::Movie)
                    .then(|| i.original_title().map(str::to_string))
                    .flatten()
            })
            .expect("a film with an original title")
    };
    for types in ["Movie", "Audio,Movie"] {
        let path = format!(
            "/Items?SearchTerm={}&Recursive=true&IncludeItemTypes={types}",
            enc(&original)
        );
        let (cs, status, via, direct) = r.both(&path, &token).await;
        assert_eq!(status, 200);
        assert!(!cs.contains("detail=index"), "{path}: {cs}");
        assert!(direct["TotalRecordCount"].as_u64().unwrap() > 0, "{path}");
        assert_eq!(via, direct, "{path}");
    }
}

/// The index answers with the token's own view, so a search that names another user — in
/// the path or in `UserId=` — is the server's to answer: a 403 for a user, the named user's
/// view for an administrator.
#[tokio::test]
async fn a_search_naming_another_user_is_the_servers() {
    let r = start().await;
    r.install_index().await;
    let (admin, admin_id) = r.user("admin");
    let (kid, kid_id) = r.user("kid");
    let (alice, alice_id) = r.user("alice");
    let title = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let id = s.items(cachearr_sim::library::ItemKind::Track)[3];
        lib.item(id).unwrap().title().to_string()
    };
    let query = format!(
        "SearchTerm={}&Recursive=true&IncludeItemTypes=Audio",
        enc(&title)
    );
    // The token's own id, in the path or as `UserId=` (dashed and in capitals as some clients
    // write it), is answered from the index.
    let dashed = {
        let upper = alice_id.to_ascii_uppercase();
        format!(
            "{}-{}-{}-{}-{}",
            &upper[..8],
            &upper[8..12],
            &upper[12..16],
            &upper[16..20],
            &upper[20..]
        )
    };
    for own in [
        format!("/Users/{alice_id}/Items?{query}"),
        format!("/Items?{query}&UserId={dashed}"),
    ] {
        let (cs, status, via, direct) = r.both(&own, &alice).await;
        assert_eq!(status, 200, "{own}");
        assert!(cs.contains("detail=index"), "{own}: {cs}");
        assert_eq!(ids(&via["Items"]), ids(&direct["Items"]), "{own}");
    }
    // A user naming another: the server's 403, not the index's answer.
    for theirs in [
        format!("/Users/{admin_id}/Items?{query}"),
        format!("/Items?{query}&UserId={admin_id}"),
    ] {
        let via = r.get(&r.proxy, &theirs, &alice).await;
        assert_eq!(via.status(), 403, "{theirs}");
    }
    // The administrator naming kid, who may not see the music: kid's view (nothing), not the
    // administrator's.
    for theirs in [
        format!("/Users/{kid_id}/Items?{query}"),
        format!("/Items?{query}&UserId={kid_id}"),
        format!("/Search/Hints?SearchTerm={}&UserId={kid_id}", enc(&title)),
    ] {
        let (cs, status, via, direct) = r.both(&theirs, &admin).await;
        assert_eq!(status, 200, "{theirs}");
        assert!(!cs.contains("detail=index"), "{theirs}: {cs}");
        assert_eq!(via, direct, "{theirs}");
    }
    let (_, _, direct_for_kid, _) = r
        .both(&format!("/Users/{kid_id}/Items?{query}"), &kid)
        .await;
    assert_eq!(direct_for_kid["TotalRecordCount"], 0, "kid sees no music");
}
