//! Jellyfin search routes answered from the library index (`/Items?SearchTerm=`,
//! `/Users/{id}/Items?SearchTerm=`, `/Search/Hints`), end to end through the gateway and
//! diffed against the simulated Jellyfin server's own answers.
//!
//! The index is installed from the simulator's library with Jellyfin's ids (item GUIDs,
//! library view ids), as a Jellyfin crawl would record them.
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use cachearr_testkit::sim_gateway::{SimUser as User, sim_users};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cachearr_dialect::Profile;
use cachearr_library::{ItemRecord, LibraryIndex};
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually;
use cachearr_testkit::http::{get_json, json_answer};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sim_gateway::search::{QueryForm, enc, title_queries};
use sim_gateway::{Running, assert_same_answer, requests_on};

/// The simulated Jellyfin server, `tracks` tracks beside its films and series.
async fn jellyfin_sim(tracks: u32) -> TestServer {
    Sim::builder()
        .tracks(tracks)
        .movies(30)
        .shows(3)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap()
}

async fn start() -> Running {
    sim_gateway::start_in_front_of(jellyfin_sim(500).await, Profile::Jellyfin, |_| {}).await
}

/// One request's answers, the gateway's and then the server's.
struct Answers {
    status: StatusCode,
    cache_status: String,
    via: String,
    direct_status: StatusCode,
    direct: String,
}

impl Answers {
    fn answered_from_index(&self) -> bool {
        self.cache_status.contains("detail=index")
    }
}

/// What this module's tests do through the fixture's gateway.
trait JellyfinIndexRequests {
    fn users(&self) -> Vec<User>;
    fn user(&self, name: &str) -> (String, String);
    fn track(&self, n: usize) -> (u32, String);
    async fn request(
        &self,
        method: Method,
        base: &str,
        path: &str,
        token: &str,
    ) -> reqwest::Response;
    async fn get(&self, base: &str, path: &str, token: &str) -> reqwest::Response;
    async fn post_direct(&self, path: &str, token: &str) -> reqwest::Response;
    async fn via_text(&self, path: &str, token: &str) -> String;
    async fn via_json(&self, path: &str, token: &str) -> Value;
    async fn direct_text(&self, path: &str, token: &str) -> String;
    async fn direct_json(&self, path: &str, token: &str) -> Value;
    async fn install_index(&self);
    async fn answers(&self, path: &str, token: &str) -> Answers;
    async fn both(&self, path: &str, token: &str) -> (String, u16, Value, Value);
    async fn assert_servers_bytes(&self, via: &str, path: &str, token: &str, what: &str);
    async fn assert_answers_as_the_server(&self, path: &str, token: &str, what: &str);
    async fn index_report(&self) -> Value;
    async fn assert_the_copy_answered_refusing_no_shape(&self);
}

impl JellyfinIndexRequests for Running {
    fn users(&self) -> Vec<User> {
        sim_users(self.sim.sim.state().users(), true)
    }

    /// The token and Jellyfin id of the user named `name`.
    fn user(&self, name: &str) -> (String, String) {
        let u = self.users().into_iter().find(|u| u.name == name).unwrap();
        (u.token, u.jellyfin_id)
    }

    /// The simulator's id and the title of the music library's `n`-th track.
    fn track(&self, n: usize) -> (u32, String) {
        let lib = self.sim.sim.library();
        let id = lib.section(1).unwrap().items(ItemKind::Track)[n];
        (id, lib.item(id).unwrap().title().to_string())
    }

    async fn request(
        &self,
        method: Method,
        base: &str,
        path: &str,
        token: &str,
    ) -> reqwest::Response {
        self.client
            .request(method, format!("{base}{path}"))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, base: &str, path: &str, token: &str) -> reqwest::Response {
        self.request(Method::GET, base, path, token).await
    }

    /// `POST path` to the server itself, as a client that does not go through cachearr.
    async fn post_direct(&self, path: &str, token: &str) -> reqwest::Response {
        self.request(Method::POST, &self.sim.base_url, path, token)
            .await
    }

    async fn via_text(&self, path: &str, token: &str) -> String {
        self.get(&self.proxy, path, token)
            .await
            .text()
            .await
            .unwrap()
    }

    async fn via_json(&self, path: &str, token: &str) -> Value {
        self.get(&self.proxy, path, token)
            .await
            .json()
            .await
            .unwrap()
    }

    async fn direct_text(&self, path: &str, token: &str) -> String {
        self.get(&self.sim.base_url, path, token)
            .await
            .text()
            .await
            .unwrap()
    }

    async fn direct_json(&self, path: &str, token: &str) -> Value {
        let url = format!("{}{path}", self.sim.base_url);
        json_answer(self.client.get(url).header("X-Emby-Token", token)).await
    }

    /// Records with Jellyfin's ids: the item GUIDs and the library views' ids.
    async fn install_index(&self) {
        let (token, _) = self.user("admin");
        let views = self.direct_json("/UserViews", &token).await;
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

    /// `GET path` as `token` through the gateway, then of the server.
    async fn answers(&self, path: &str, token: &str) -> Answers {
        let via = self.get(&self.proxy, path, token).await;
        let (status, cache_status) = (via.status(), cache_status(&via));
        let via = via.text().await.unwrap();
        let direct = self.get(&self.sim.base_url, path, token).await;
        Answers {
            status,
            cache_status,
            via,
            direct_status: direct.status(),
            direct: direct.text().await.unwrap(),
        }
    }

    /// [`Self::answers`] read as JSON: the gateway's `Cache-Status` and status, its answer,
    /// the server's.
    async fn both(&self, path: &str, token: &str) -> (String, u16, Value, Value) {
        let answers = self.answers(path, token).await;
        (
            answers.cache_status,
            answers.status.as_u16(),
            serde_json::from_str(&answers.via).unwrap(),
            serde_json::from_str(&answers.direct).unwrap(),
        )
    }

    /// Panics unless `via`, the gateway's answer to `path` for `token`, is the server's
    /// answer byte for byte; `what` names the request.
    async fn assert_servers_bytes(&self, via: &str, path: &str, token: &str, what: &str) {
        let direct = self.direct_text(path, token).await;
        assert_same_answer(via, &direct, what);
    }

    /// Panics unless the gateway answers `path` for `token` with the server's status and,
    /// for a success, its bytes (an error carries a trace id of its own).
    async fn assert_answers_as_the_server(&self, path: &str, token: &str, what: &str) {
        let answers = self.answers(path, token).await;
        assert_eq!(answers.status, answers.direct_status, "{what}");
        if answers.direct_status.is_success() {
            assert_same_answer(&answers.via, &answers.direct, what);
        }
    }

    /// The admin API's report of the index (`/api/index`).
    async fn index_report(&self) -> Value {
        get_json(&self.client, &format!("{}/api/index", self.admin)).await
    }

    /// Panics unless the copy has answered and refused no answer's shape.
    async fn assert_the_copy_answered_refusing_no_shape(&self) {
        let index = self.index_report().await;
        let copy = &index["upstreams"][0]["copy"];
        assert!(copy["answered"].as_u64().unwrap() > 0, "{copy}");
        assert_eq!(copy["shapes_refused"].as_u64().unwrap(), 0, "{copy}");
    }
}

fn cache_status(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("cache-status")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Panics unless a search was answered from the index (a 200) with the server's total.
fn assert_indexed_with_the_servers_total(
    cache_status: &str,
    status: u16,
    via: &Value,
    direct: &Value,
    what: &str,
) {
    assert_eq!(status, 200, "{what}");
    assert_eq!(cache_status, "cachearr; hit; detail=index", "{what}");
    assert_eq!(
        via["TotalRecordCount"], direct["TotalRecordCount"],
        "{what}"
    );
}

/// Panics unless each of the gateway's items (or hints) is the server's of the same id,
/// field for field.
fn assert_each_is_the_servers(via: &Value, direct: &Value, what: &str) {
    let by_id: BTreeMap<&str, &Value> = direct
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["Id"].as_str().unwrap(), i))
        .collect();
    for item in via.as_array().unwrap() {
        assert_eq!(item, by_id[item["Id"].as_str().unwrap()], "{what}");
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
    id_list(list).into_iter().collect()
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
        assert_indexed_with_the_servers_total(&cs, status, &via, &direct, &path);
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
            let what = format!("{user} {path}");
            assert_indexed_with_the_servers_total(&cs, status, &via, &direct, &what);
            assert_eq!(via["StartIndex"], direct["StartIndex"]);
            assert_eq!(ids(&via["Items"]), ids(&direct["Items"]), "{what}");
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
            assert_each_is_the_servers(&via["Items"], &direct["Items"], &path);
            answered += usize::from(!direct["Items"].as_array().unwrap().is_empty());
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
            assert_indexed_with_the_servers_total(&cs, status, &via, &direct, &path);
            let (a, b) = (
                via["SearchHints"].as_array().unwrap(),
                direct["SearchHints"].as_array().unwrap(),
            );
            assert_eq!(a.len(), b.len());
            assert_eq!(
                id_list(&via["SearchHints"]),
                id_list(&direct["SearchHints"]),
                "{path}: order"
            );
            assert_each_is_the_servers(&via["SearchHints"], &direct["SearchHints"], &path);
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
    let (item, title) = r.track(7);
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
    // Marked unplayed and unfavourited through cachearr: the next answer says so at once.
    let guid = r.sim.sim.library().item(item).unwrap().guid_id();
    for what in ["UserPlayedItems", "UserFavoriteItems"] {
        let path = format!("/{what}/{guid}");
        let resp = r.request(Method::DELETE, &r.proxy, &path, &token).await;
        assert!(resp.status().is_success(), "{what}");
    }
    let (cs, _, via, direct) = r.both(&path, &token).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct, "a change made through cachearr shows at once");
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
                (i.kind() == ItemKind::Movie)
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
    let (_, title) = r.track(3);
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

/// Starts the simulator (`tracks` tracks) and a gateway that crawls it with the owner's
/// token, as an operator's would, and waits for the index.
async fn start_crawled(tracks: u32) -> Running {
    start_crawled_with(tracks, |_| {}).await
}

/// [`start_crawled`], the upstream's config adjusted by `configure`.
async fn start_crawled_with(
    tracks: u32,
    configure: impl FnOnce(&mut cachearr_config::UpstreamConfig),
) -> Running {
    let sim = jellyfin_sim(tracks).await;
    let owner = sim.sim.state().users()[0].jellyfin_token.clone();
    let r = sim_gateway::start_in_front_of(sim, Profile::Jellyfin, |c| {
        c.upstreams[0].token = Some(owner);
        configure(&mut c.upstreams[0]);
    })
    .await;
    // The build ends with the frame probes (`copy.probing`): a test's changes made on the
    // server meanwhile would meet the probes' proofs.
    eventually(
        "the crawl builds the index",
        std::time::Duration::from_secs(300),
        async || {
            let index = r.gateway.index("jellyfin").unwrap();
            index.ready().is_some() && !index.status().copy.probing
        },
    )
    .await;
    r
}

/// The last build's `(items, requests)` from `/api/index`.
async fn crawl_cost(r: &Running) -> (u64, u64) {
    let index = r.index_report().await;
    let up = &index["upstreams"][0];
    (
        up["items"].as_u64().unwrap(),
        up["last_build"]["requests"].as_u64().unwrap(),
    )
}

/// An item a user touches: its simulator id, GUID and title.
type Touched = (u32, String, String);

/// The lists an item is put in by `POST /{list}/{id}`: the user's played and favourite items.
const PLAYED_AND_FAVOURITE: [&str; 2] = ["UserPlayedItems", "UserFavoriteItems"];

/// What each request asks of its items besides the search.
const DTO_OPTIONS: &[&str] = &[
    "",
    "&Fields=Path,SortName,DateCreated,ParentId,ProviderIds,Genres,Overview,Tags",
    "&EnableImages=false",
    "&EnableUserData=false&ImageTypeLimit=1&EnableImageTypes=Primary",
    "&ImageTypeLimit=0&Fields=PrimaryImageAspectRatio",
    "&EnableImageTypes=Backdrop,Thumb&Fields=DateLastSaved",
    "&EnableImageTypes=Primary&ImageTypeLimit=3&EnableUserData=true&Fields=SortName",
    "&EnableImages=true&EnableUserData=false&Fields=ProviderIds,Path",
    "&Fields=Studios,Genres,Taglines,OriginalTitle,ExternalUrls,CustomRating&ImageTypeLimit=2",
];

const ITEM_TYPES: &[&str] = &[
    "Audio",
    "Audio,MusicAlbum,MusicArtist",
    "MusicAlbum",
    "Episode",
];

/// Every user's `/Items` searches, with every mix of `Fields`, `EnableImages`,
/// `EnableUserData`, `ImageTypeLimit` and `EnableImageTypes`, after plays, favourites,
/// resume points and started-only plays made by each user on the server directly: every
/// answer is the server's, byte for byte — answered from the index where the user sees the
/// libraries whole, by the server otherwise (restricted users) — over a real crawl.
#[tokio::test]
async fn every_users_items_answers_are_the_servers_bytes() {
    let r = start_crawled(500).await;
    let (items, requests) = crawl_cost(&r).await;
    println!("crawl: {items} items in {requests} requests");
    let users = r.users();
    // Tracks and albums each user touches, on the server directly.
    let (touched, albums): (Vec<Touched>, Vec<Touched>) = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let tracks = s.items(ItemKind::Track);
        let albums = s.items(ItemKind::Album);
        let pick = |ids: &[u32], every: usize, n: usize| -> Vec<Touched> {
            ids.iter()
                .step_by(every)
                .take(n)
                .map(|&id| {
                    let item = lib.item(id).unwrap();
                    (id, item.guid_id(), item.title().to_string())
                })
                .collect()
        };
        (pick(tracks, 7, 24), pick(albums, 3, 6))
    };
    for u in &users {
        for (k, (item, guid, _)) in touched.iter().enumerate() {
            match (k + u.id as usize) % 4 {
                list @ (0 | 1) => {
                    let path = format!("/{}/{guid}", PLAYED_AND_FAVOURITE[list]);
                    let status = r.post_direct(&path, &u.token).await.status();
                    assert!(status.is_success() || status == 404);
                }
                2 => {
                    r.sim.sim.set_progress(u.id, *item, 30_000);
                }
                _ => {
                    // Started and stopped at once: a date played, no position, not played.
                    r.sim.sim.set_progress(u.id, *item, 0);
                }
            }
        }
        for (k, (_, guid, _)) in albums.iter().enumerate() {
            if (k + u.id as usize).is_multiple_of(2) {
                r.post_direct(&format!("/UserFavoriteItems/{guid}"), &u.token)
                    .await;
            }
        }
    }
    let mut queries: Vec<String> = touched.iter().map(|(_, _, t)| t.clone()).collect();
    queries.extend(albums.iter().map(|(_, _, t)| t.clone()));
    queries.extend(title_queries(&r.sim.sim, 16, 21, FORMS));
    let mut answered = 0;
    let mut compared = 0;
    let mut differences = Vec::new();
    for (u, user) in users.iter().enumerate() {
        for (i, q) in queries.iter().enumerate() {
            let n = i + u;
            let base = if n % 2 == 0 {
                "/Items".to_string()
            } else {
                format!("/Users/{}/Items", user.jellyfin_id)
            };
            let paging = match n % 3 {
                0 => "",
                1 => "&Limit=5",
                _ => "&StartIndex=2&Limit=4",
            };
            let path = format!(
                "{base}?SearchTerm={}&Recursive=true&IncludeItemTypes={}{}{paging}",
                enc(q),
                ITEM_TYPES[n % ITEM_TYPES.len()],
                DTO_OPTIONS[(n / 2) % DTO_OPTIONS.len()],
            );
            let answers = r.answers(&path, &user.token).await;
            assert_eq!(
                answers.status, answers.direct_status,
                "{} {path}",
                user.name
            );
            compared += 1;
            answered += usize::from(answers.answered_from_index());
            if answers.via != answers.direct {
                differences.push(format!(
                    "{} {path}\n via:    {}\n server: {}",
                    user.name, answers.via, answers.direct
                ));
            }
        }
    }
    println!("{compared} searches, {answered} answered from the index");
    assert!(
        differences.is_empty(),
        "{} differences, first: {}",
        differences.len(),
        differences[0]
    );
    assert!(
        answered * 2 > compared,
        "{answered} of {compared} from the index"
    );
}

/// Every user's hints, paged and not, are the server's bytes and in its order, ties
/// included: relevance, sort name, name, then the id where the server leaves ties undefined;
/// `Limit` bounds what is counted and `StartIndex` skips into it, as the server pages hints.
#[tokio::test]
async fn hints_are_the_servers_bytes_in_the_servers_order() {
    let r = start_crawled(500).await;
    // Short terms: many equal names and ranks, so pages cut through ties.
    let mut queries: Vec<String> = ["a", "in", "lo", "the", "s", "er"]
        .iter()
        .map(|q| (*q).to_string())
        .collect();
    queries.extend(title_queries(&r.sim.sim, 12, 31, FORMS));
    let (mut answered, mut compared) = (0, 0);
    for (u, user) in r.users().iter().enumerate() {
        for (i, q) in queries.iter().enumerate() {
            let n = i + u;
            let types = [
                "Audio",
                "MusicArtist",
                "Audio,MusicArtist,MusicAlbum",
                "Episode",
                "MusicAlbum",
            ][n % 5];
            let paging = ["", "&Limit=3", "&StartIndex=2&Limit=6", "&Limit=40"][(n / 4) % 4];
            let path = format!(
                "/Search/Hints?SearchTerm={}&IncludeItemTypes={types}{paging}",
                enc(q)
            );
            let answers = r.answers(&path, &user.token).await;
            assert_eq!(
                answers.status, answers.direct_status,
                "{} {path}",
                user.name
            );
            assert_eq!(answers.via, answers.direct, "{} {path}", user.name);
            compared += 1;
            answered += usize::from(answers.answered_from_index());
        }
    }
    println!("{compared} hint searches, {answered} answered from the index");
    assert!(answered * 2 > compared, "{answered} of {compared}");
}

/// A renamed album changes what its tracks' documents say (`Album`, the album's image tag):
/// the server announces the album alone, and the gateway reads its tracks again with it.
#[tokio::test]
async fn a_changed_album_refreshes_its_tracks_documents() {
    let r = start_crawled(500).await;
    let (token, _) = r.user("admin");
    let (album, track_title) = {
        let lib = r.sim.sim.library();
        let s = lib.section(1).unwrap();
        let album = s.items(ItemKind::Album)[4];
        let track = lib.item(album).unwrap().children()[0];
        (album, lib.item(track).unwrap().title().to_string())
    };
    let path = format!(
        "/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Audio",
        enc(&track_title)
    );
    let (cs, _, via, direct) = r.both(&path, &token).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct);
    r.sim
        .sim
        .rename_item(album, "Quartz Harbour Sessions")
        .unwrap();
    eventually(
        "the track's answer names the renamed album",
        std::time::Duration::from_secs(30),
        async || {
            let answers = r.answers(&path, &token).await;
            answers.answered_from_index()
                && answers.via == answers.direct
                && answers.direct.contains("Quartz Harbour Sessions")
        },
    )
    .await;
}

/// A renamed series changes what its episodes say (`SeriesName`) in the copy's answers of
/// its episodes and the index's searches: the server announces the series alone (the
/// episodes' own `DateLastSaved` does not move), and the gateway reads its seasons and
/// episodes again with it and drops their cached answers.
#[tokio::test]
async fn a_renamed_series_is_named_anew_in_its_episodes_answers() {
    let r = start_crawled(200).await;
    let (admin, _) = r.user("admin");
    let series = r
        .direct_json("/Items?IncludeItemTypes=Series&Recursive=true", &admin)
        .await;
    let named: Vec<(String, String)> = series["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap().to_owned();
            (text("Id"), text("Name"))
        })
        .collect();
    assert!(named.len() >= 3, "{named:?}");
    // The copy answers a series' episodes once two server answers were reproduced.
    for (sid, _) in &named {
        for path in [
            format!("/Shows/{sid}/Episodes"),
            format!("/Shows/{sid}/Episodes?StartIndex=1&Limit=2"),
        ] {
            r.assert_answers_as_the_server(&path, &admin, &path).await;
        }
    }
    let (sid, name) = &named[1];
    let episodes = format!("/Shows/{sid}/Episodes?Limit=5");
    let first = r.get(&r.proxy, &episodes, &admin).await;
    assert!(
        cache_status(&first).ends_with("detail=copy"),
        "{}",
        cache_status(&first)
    );
    let before: Value = serde_json::from_str(&first.text().await.unwrap()).unwrap();
    let episode = before["Items"][0]["Name"].as_str().unwrap().to_owned();
    let search = format!(
        "/Items?SearchTerm={}&Recursive=true&IncludeItemTypes=Episode",
        enc(&episode)
    );
    let (cs, _, via, direct) = r.both(&search, &admin).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert_eq!(via, direct);
    let show = {
        let lib = r.sim.sim.library();
        lib.sections()
            .iter()
            .flat_map(|s| s.items(ItemKind::Show).to_vec())
            .find(|id| lib.item(*id).unwrap().title() == name)
            .unwrap()
    };
    r.sim
        .sim
        .rename_item(show, "Quartz Harbour Chronicles")
        .unwrap();
    for path in [&episodes, &search] {
        eventually(
            "the answer names the renamed series",
            std::time::Duration::from_secs(30),
            async || {
                let answers = r.answers(path, &admin).await;
                answers.via == answers.direct
                    && answers.direct.contains("Quartz Harbour Chronicles")
            },
        )
        .await;
    }
}

/// What the crawl costs the server: requests per 1,000 items kept (pages of 500 with every
/// projected field, images and user data, and one count per stream).
#[tokio::test]
async fn the_crawl_reads_under_one_request_per_hundred_items() {
    let r = start_crawled(20_000).await;
    let (items, requests) = crawl_cost(&r).await;
    let per_thousand = requests as f64 * 1000.0 / items as f64;
    println!("crawl: {items} items in {requests} requests ({per_thousand:.2} per 1,000 items)");
    assert!(per_thousand < 10.0, "{per_thousand}");
}

/// Every request the simulator has served so far.
fn sim_requests(r: &Running) -> u64 {
    r.sim.sim.stats().routes.values().map(|s| s.requests).sum()
}

/// A single item (`/Users/{uid}/Items/{id}`, `/Items/{id}?userId=`) is written by the server
/// with every field (`new DtoOptions()`), among them `CanDelete`, `CanDownload` and
/// `PlayAccess` (the user's policy), `MediaSources` (the user's language preferences),
/// `ChildCount`, `RecursiveItemCount` and an artist's counts (what the user may see), none of
/// which the kept documents hold: the server answers every one, byte for byte, for every
/// user and kind, after plays and favourites made on the server directly.
#[tokio::test]
async fn single_items_are_the_servers_for_every_user() {
    use ItemKind as K;
    let r = start_crawled(500).await;
    let users = r.users();
    // Three items of each kind, from every library that holds it.
    let items: Vec<(K, u32, String)> = {
        let lib = r.sim.sim.library();
        let kinds = [
            K::Track,
            K::Album,
            K::Artist,
            K::Movie,
            K::Episode,
            K::Show,
            K::Season,
        ];
        let mut out = Vec::new();
        for kind in kinds {
            for s in lib.sections() {
                for &id in s.items(kind).iter().step_by(5).take(3) {
                    out.push((kind, id, lib.item(id).unwrap().guid_id()));
                }
            }
        }
        out
    };
    for kind in [K::Track, K::Album, K::Artist, K::Movie, K::Episode] {
        assert!(items.iter().any(|(k, _, _)| *k == kind), "no {kind:?}");
    }
    for u in &users {
        for (k, (kind, item, guid)) in items.iter().enumerate() {
            match (k + u.id as usize) % 3 {
                list @ (0 | 1) => {
                    let path = format!("/{}/{guid}", PLAYED_AND_FAVOURITE[list]);
                    r.post_direct(&path, &u.token).await;
                }
                _ if matches!(kind, K::Track | K::Movie | K::Episode) => {
                    r.sim.sim.set_progress(u.id, *item, 30_000);
                }
                _ => {}
            }
        }
    }
    let (mut compared, mut hidden) = (0, 0);
    for (n, u) in users.iter().enumerate() {
        for (i, (kind, _, guid)) in items.iter().enumerate() {
            let path = if (i + n) % 2 == 0 {
                format!("/Users/{}/Items/{guid}", u.jellyfin_id)
            } else {
                format!("/Items/{guid}?userId={}", u.jellyfin_id)
            };
            let what = format!("{} {kind:?} {path}", u.name);
            let before = sim_requests(&r);
            let via = r.get(&r.proxy, &path, &u.token).await;
            let (status, cache_status) = (via.status(), cache_status(&via));
            let via = via.text().await.unwrap();
            assert!(
                !cache_status.contains("detail=index"),
                "{what}: {cache_status}"
            );
            assert_eq!(sim_requests(&r), before + 1, "{what}");
            let direct = r.get(&r.sim.base_url, &path, &u.token).await;
            assert_eq!(status, direct.status(), "{what}");
            // A 404's body carries the request's trace id; only items are compared.
            if status == 200 {
                // Written with every field: properties no kept document holds.
                assert!(
                    via.contains("\"Etag\":") && via.contains("\"SortName\":"),
                    "{what}: {via}"
                );
                assert_eq!(via, direct.text().await.unwrap(), "{what}");
                compared += 1;
            } else {
                hidden += 1;
            }
        }
    }
    assert!(
        compared > 100 && hidden > 0,
        "{compared} compared, {hidden} hidden"
    );
    println!("{compared} single items compared, {hidden} hidden from their user");
}

/// A library walk as Jellyseerr makes one, through cachearr on a cold cache with the index
/// ready: each film and show library listed 20 at a time, then every item read singly.
/// Prints what the walk costs the server, and again with the answers cached.
#[tokio::test]
async fn a_library_walk_costs_the_server() {
    let r = start_crawled(500).await;
    let (token, uid) = r.user("admin");
    let views = r.direct_json("/UserViews", &token).await;
    let libraries: Vec<String> = views["Items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["CollectionType"].as_str(), Some("movies" | "tvshows")))
        .map(|v| v["Id"].as_str().unwrap().to_string())
        .collect();
    assert!(!libraries.is_empty());
    let walk = async || {
        let before = sim_requests(&r);
        let mut requests = 0;
        for lib in &libraries {
            let mut start = 0;
            loop {
                let path = format!(
                    "/Users/{uid}/Items?SortBy=SortName&SortOrder=Ascending\
                     &IncludeItemTypes=Movie,Series&Recursive=true&StartIndex={start}\
                     &ParentId={lib}&Limit=20"
                );
                let page = r.via_json(&path, &token).await;
                requests += 1;
                let ids = id_list(&page["Items"]);
                for id in &ids {
                    let resp = r
                        .get(&r.proxy, &format!("/Users/{uid}/Items/{id}"), &token)
                        .await;
                    assert_eq!(resp.status(), 200);
                    requests += 1;
                }
                start += ids.len();
                if ids.is_empty() || start >= page["TotalRecordCount"].as_u64().unwrap() as usize {
                    break;
                }
            }
        }
        (requests, sim_requests(&r) - before)
    };
    let (requests, cold) = walk().await;
    let (_, warm) = walk().await;
    println!("walk: {requests} requests; the server served {cold} cold, {warm} warm");
    assert!(cold <= requests as u64 + 8, "{cold} for {requests}");
}

/// A series' episodes (`/Shows/{id}/Episodes`, whole, by season, paged, with fields asked)
/// through the gateway are the server's bytes for every user — from the copy once two server
/// answers of the same options were reproduced (the owner's and a shared user's walks), from
/// the server for a user who does not see the library whole — and once proven, the owner's
/// walk of another series does not reach the server.
#[tokio::test]
async fn episodes_from_the_copy_are_the_servers_bytes_for_every_user() {
    let r = start_crawled(200).await;
    let (admin, _) = r.user("admin");
    let series = series_ids(&r, &admin).await;
    assert!(series.len() >= 3, "{series:?}");
    let mut paths = Vec::new();
    for sid in &series {
        let seasons = r
            .direct_json(&format!("/Shows/{sid}/Seasons"), &admin)
            .await;
        paths.push(format!("/Shows/{sid}/Seasons"));
        paths.push(format!("/Shows/{sid}/Episodes"));
        paths.push(format!("/Shows/{sid}/Episodes?StartIndex=1&Limit=2"));
        paths.push(format!("/Shows/{sid}/Episodes?Fields=Overview,SortName"));
        for season in id_list(&seasons["Items"]) {
            paths.push(format!("/Shows/{sid}/Episodes?seasonId={season}"));
        }
    }
    // Play state made on the server: a played episode (its season partly played), a
    // favourite season, for two of the users.
    let episodes = r
        .direct_json(&format!("/Shows/{}/Episodes", series[0]), &admin)
        .await;
    let first = &episodes["Items"][0];
    let (episode, season) = (
        first["Id"].as_str().unwrap(),
        first["SeasonId"].as_str().unwrap(),
    );
    for (name, what) in [
        ("alice", format!("/UserPlayedItems/{episode}")),
        ("admin", format!("/UserFavoriteItems/{season}")),
        ("admin", format!("/UserPlayedItems/{episode}")),
    ] {
        let (token, _) = r.user(name);
        r.post_direct(&what, &token).await;
    }
    for name in ["admin", "alice", "carol", "bob"] {
        let (token, _) = r.user(name);
        for round in 0..2 {
            for path in &paths {
                let what = format!("{name} {path} ({round})");
                r.assert_answers_as_the_server(path, &token, &what).await;
            }
        }
    }
    r.assert_the_copy_answered_refusing_no_shape().await;
    // Proven: a page of episodes not asked before is the copy's, not the server's.
    let before = sim_requests(&r);
    let path = format!("/Shows/{}/Episodes?Limit=1", series[0]);
    let via = r.via_text(&path, &admin).await;
    assert_eq!(sim_requests(&r), before, "{path} reached the server");
    r.assert_servers_bytes(&via, &path, &admin, &path).await;
    // An episode played on the server: the copy's answer kept in the cache, tagged by the
    // episodes it shows (as the copy says them, not read from its text), is the server's
    // again once the server's event comes.
    let path = format!("/Shows/{}/Episodes?Limit=5", series[1]);
    let first = r.get(&r.proxy, &path, &admin).await;
    let status = cache_status(&first);
    assert!(status.ends_with("detail=copy"), "{status}");
    let before = first.text().await.unwrap();
    let shown: Value = serde_json::from_str(&before).unwrap();
    let episode = shown["Items"][1]["Id"].as_str().unwrap();
    let played = r
        .post_direct(&format!("/UserPlayedItems/{episode}"), &admin)
        .await;
    assert!(played.status().is_success(), "{}", played.status());
    let direct = r.direct_text(&path, &admin).await;
    assert_ne!(direct, before, "the play shows in the series' episodes");
    eventually(
        "the copy's answer dropped for the play",
        std::time::Duration::from_secs(10),
        async || r.via_text(&path, &admin).await == direct,
    )
    .await;
}

/// Jellyfin for Kodi's reads of a series (`/Shows/{id}/Seasons` and the paged
/// `/Shows/{id}/Episodes` with its long `Fields` list: names the server does not know, which it
/// skips, and fields such as `MediaSources` and `RecursiveItemCount` that a server may write
/// per user) through the gateway are the server's bytes for every user. Those fields are proven
/// on each user's own answers: once the owner's are, the owner's reads of another series do not
/// reach the server, while a shared user's first reads still do.
#[tokio::test]
async fn kodi_series_reads_with_per_user_fields_are_the_servers_bytes_for_every_user() {
    const INFO: &str = "Path,Genres,SortName,Studios,Writer,Taglines,LocalTrailerCount,\
OfficialRating,CumulativeRunTimeTicks,ItemCounts,Metascore,AirTime,DateCreated,People,Overview,\
Etag,ShortOverview,ProductionLocations,Tags,ProviderIds,ParentId,RemoteTrailers,\
SpecialEpisodeNumbers,MediaSources,VoteCount,RecursiveItemCount,PrimaryImageAspectRatio";
    // Prefetch off: a season's episodes prefetched after the owner's reads, landing late under
    // load, would be counted among alice's requests below.
    let r = start_crawled_with(200, |up| up.prefetch.enabled = false).await;
    let (admin, admin_id) = r.user("admin");
    let series = series_ids(&r, &admin).await;
    assert!(series.len() >= 3, "{series:?}");
    let reads = |sid: &str, uid: &str| -> Vec<String> {
        let episodes = format!(
            "/Shows/{sid}/Episodes?EnableUserData=True&EnableImages=True&UserId={uid}&Fields={INFO}"
        );
        vec![
            format!("/Shows/{sid}/Seasons?UserId={uid}&EnableImages=True&Fields={INFO}"),
            format!("{episodes}&Limit=1&EnableTotalRecordCount=True"),
            format!("{episodes}&StartIndex=0&Limit=15"),
            format!("{episodes}&StartIndex=15&Limit=15"),
        ]
    };
    // A played episode, for one user.
    let (alice, alice_id) = r.user("alice");
    let episodes = r
        .direct_json(&format!("/Shows/{}/Episodes", series[0]), &admin)
        .await;
    let played = episodes["Items"][0]["Id"].as_str().unwrap();
    r.post_direct(&format!("/UserPlayedItems/{played}"), &alice)
        .await;
    let last = series.len() - 1;
    // The owner reads two series, which proves the episodes' shape for the owner; a shared
    // user's reads of the second are not answered by the owner's proofs: each of them (two
    // first misses, then two proofs of their own) is the server's.
    for sid in &series[..2] {
        for path in reads(sid, &admin_id) {
            let what = format!("admin {path}");
            r.assert_answers_as_the_server(&path, &admin, &what).await;
        }
    }
    let before = show_requests(&r);
    for path in reads(&series[1], &alice_id) {
        let what = format!("alice {path}");
        r.assert_answers_as_the_server(&path, &alice, &what).await;
    }
    assert_eq!(
        show_requests(&r) - before,
        8,
        "each of alice's four reads, and the same direct (the copy's listing starts no window)"
    );
    for name in ["admin", "alice", "carol", "bob"] {
        let (token, uid) = r.user(name);
        for sid in &series[..last] {
            for path in reads(sid, &uid) {
                let what = format!("{name} {path}");
                r.assert_answers_as_the_server(&path, &token, &what).await;
            }
        }
    }
    r.assert_the_copy_answered_refusing_no_shape().await;
    // Proven for the owner and the shared user: another series' episodes are the copy's, and
    // the server's bytes (its seasons' shape, proven on one series so far, is not yet).
    for name in ["admin", "alice"] {
        let (token, uid) = r.user(name);
        let before = sim_requests(&r);
        let mut answers = Vec::new();
        for path in reads(&series[last], &uid).into_iter().skip(1) {
            answers.push((r.via_text(&path, &token).await, path));
        }
        assert_eq!(
            sim_requests(&r),
            before,
            "{name}'s reads reached the server"
        );
        for (via, path) in answers {
            r.assert_servers_bytes(&via, &path, &token, &path).await;
        }
    }
}

/// The ids of the library's series, as the server lists them to `token`.
async fn series_ids(r: &Running, token: &str) -> Vec<String> {
    let series = r
        .direct_json("/Items?IncludeItemTypes=Series&Recursive=true", token)
        .await;
    id_list(&series["Items"])
}

/// The simulator's `/Shows/…` requests so far.
fn show_requests(r: &Running) -> u64 {
    requests_on(&r.sim, "/Shows/")
}

/// The simulator's requests for single items (`/Users/{uid}/Items/{id}`) so far.
fn single_item_requests(r: &Running) -> u64 {
    r.sim
        .sim
        .stats()
        .routes
        .get("GET /Users/{userId}/Items/{itemId}")
        .map_or(0, |s| s.requests)
}

/// A Jellyfin item walk — a library listing, then each item singly, as Jellyseerr scans — is
/// batched: after two items read singly, the rest of the page is asked for in one request
/// (`/Users/{uid}/Items?Ids=…`), each part proven and stored as the item's single answer, so
/// the walk's next items are hits; every answer is the server's bytes.
#[tokio::test]
async fn a_jellyfin_item_walk_is_batched_into_the_servers_single_answers() {
    let r = start_crawled(200).await;
    for name in ["admin", "carol"] {
        let (token, uid) = r.user(name);
        let listing = format!(
            "/Users/{uid}/Items?IncludeItemTypes=Movie&Recursive=true&SortBy=SortName&SortOrder=Ascending"
        );
        let page = r.via_json(&listing, &token).await;
        let ids = id_list(&page["Items"]);
        assert!(ids.len() >= 10, "{name}: {}", ids.len());
        let singles_before = single_item_requests(&r);
        for id in &ids {
            let path = format!("/Users/{uid}/Items/{id}");
            let via = r.via_text(&path, &token).await;
            r.assert_servers_bytes(&via, &path, &token, &format!("{name} {path}"))
                .await;
        }
        let singles = single_item_requests(&r) - singles_before;
        // Each item once directly; through the gateway only the first ones, and the proof's.
        assert!(
            singles < ids.len() as u64 + 5,
            "{name}: {singles} single reads for {} items",
            ids.len()
        );
    }
    let stats = r.stats().await;
    let batches = &stats["batches"];
    assert!(batches["parts_stored"].as_u64().unwrap() >= 10, "{batches}");
    assert_eq!(batches["refused"].as_u64().unwrap(), 0, "{batches}");
}

/// A user whose share the server filters (carol's blocked tags): Jellyfin for Kodi's counted
/// walk of her series' episodes (the count, then the pages three at a time) costs at most the
/// count and one request however many pages — answered by the copy with her policy applied,
/// or, where it declines, read as a window from its first page once windows are proven on
/// the upstream — and every answer, hers and the owner's and a shared user's, is the
/// server's.
#[tokio::test]
async fn a_restricted_users_counted_episodes_walk_is_read_in_windows() {
    let r = start_crawled_with(200, |up| up.prefetch.enabled = false).await;
    let (admin, admin_id) = r.user("admin");
    // The owner's walk of the songs, three pages at a time, proves windows on the upstream.
    let views = r
        .direct_json(&format!("/Users/{admin_id}/Views"), &admin)
        .await;
    let music = views["Items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["CollectionType"] == "music")
        .map(|v| v["Id"].as_str().unwrap().to_string())
        .unwrap();
    let songs = format!(
        "/Users/{admin_id}/Items?ParentId={music}&IncludeItemTypes=Audio&SortBy=AlbumArtist\
         &EnableTotalRecordCount=False&Recursive=True"
    );
    for bundle in [[0, 15, 30], [45, 60, 75]] {
        let paths: Vec<String> = bundle
            .iter()
            .map(|s| format!("{songs}&StartIndex={s}&Limit=15"))
            .collect();
        futures_util::future::join_all(paths.iter().map(|p| r.get(&r.proxy, p, &admin))).await;
    }
    let series = series_ids(&r, &admin).await;
    assert!(series.len() >= 3, "{series:?}");
    // Each user's Kodi reads of every series: the count, then exactly the counted pages.
    let mut windowed = 0;
    for name in ["carol", "admin", "alice"] {
        let (token, uid) = r.user(name);
        for (n, sid) in series.iter().enumerate() {
            let episodes = format!(
                "/Shows/{sid}/Episodes?EnableUserData=True&EnableImages=True&UserId={uid}\
                 &Fields=Overview,SortName"
            );
            let before = show_requests(&r);
            let count = format!("{episodes}&Limit=1&EnableTotalRecordCount=True");
            let via = r.get(&r.proxy, &count, &token).await;
            if via.status() != 200 {
                // A series her share hides: the server's refusal, as direct.
                let direct = r.get(&r.sim.base_url, &count, &token).await;
                assert_eq!(via.status(), direct.status(), "{name} {count}");
                continue;
            }
            let counted = via.text().await.unwrap();
            let total = serde_json::from_str::<Value>(&counted).unwrap()["TotalRecordCount"]
                .as_u64()
                .unwrap() as usize;
            let mut answers = vec![(count, counted)];
            for bundle in (0..total).step_by(15).collect::<Vec<_>>().chunks(3) {
                let paths: Vec<String> = bundle
                    .iter()
                    .map(|s| format!("{episodes}&StartIndex={s}&Limit=15"))
                    .collect();
                let got =
                    futures_util::future::join_all(paths.iter().map(|p| r.via_text(p, &token)))
                        .await;
                answers.extend(paths.into_iter().zip(got));
            }
            let requests = show_requests(&r) - before;
            // The copy's first misses in the library go to the server as they come; from the
            // third series on, she costs at most the count and one window.
            if name == "carol" && n >= 2 && total > 15 {
                windowed += 1;
                assert!(answers.len() >= 3, "{} pages", answers.len() - 1);
                assert!(
                    requests <= 2,
                    "carol: {requests}, not the count and a window"
                );
            }
            for (path, via) in answers {
                r.assert_servers_bytes(&via, &path, &token, &format!("{name} {path}"))
                    .await;
            }
        }
    }
    assert!(windowed > 0, "no series of carol's had more than a page");
}

/// A series' episodes paged as Jellyfin for Kodi pages them (`StartIndex`/`Limit`, names
/// written as the client writes them, not as the server reads them): once two pages were the
/// copy's, the pages after them are written ahead, so they come as hits that asked the server
/// nothing; every page is the server's answer.
#[tokio::test]
async fn a_series_episodes_paged_are_written_ahead_by_the_copy() {
    let r = start_crawled(200).await;
    let (admin, _) = r.user("admin");
    let series = series_ids(&r, &admin).await;
    // The series with the most episodes.
    let mut longest = (String::new(), 0);
    for sid in series.clone() {
        let all = r
            .direct_json(&format!("/Shows/{sid}/Episodes"), &admin)
            .await;
        let n = all["Items"].as_array().map_or(0, Vec::len);
        if n > longest.1 {
            longest = (sid, n);
        }
    }
    let (sid, episodes) = longest;
    assert!(episodes >= 8, "{episodes} episodes");
    // The other series' first pages, as Kodi reads them before: the pages' frame is proven
    // on different series.
    for other in series.iter().filter(|o| **o != sid) {
        let path = format!("/Shows/{other}/Episodes?StartIndex=0&Limit=1");
        let via = r.via_text(&path, &admin).await;
        r.assert_servers_bytes(&via, &path, &admin, &path).await;
    }
    let written_before = r.gateway.batcher().report().pages_written_ahead;
    let mut came = Vec::new();
    for start in 0..episodes {
        let path = format!("/Shows/{sid}/Episodes?StartIndex={start}&Limit=1");
        let before = show_requests(&r);
        let via = r.get(&r.proxy, &path, &admin).await;
        let status = via.headers()["cache-status"].to_str().unwrap().to_owned();
        let via = via.text().await.unwrap();
        let reached = show_requests(&r) > before;
        came.push(if reached {
            "server"
        } else if status.ends_with("detail=copy") {
            "copy"
        } else if status.starts_with("cachearr; hit") {
            "hit"
        } else {
            panic!("{path}: {status}")
        });
        r.assert_servers_bytes(&via, &path, &admin, &path).await;
    }
    let first_hit = came.iter().position(|c| *c == "hit");
    let first_hit = first_hit.unwrap_or_else(|| panic!("nothing written ahead: {came:?}"));
    assert!(
        came[first_hit..].iter().all(|c| *c == "hit"),
        "once ahead, every page is a hit: {came:?}"
    );
    assert!(episodes - first_hit >= 4, "{came:?}");
    let written = r.gateway.batcher().report().pages_written_ahead - written_before;
    assert!(
        written >= (episodes - first_hit) as u64,
        "{written}: {came:?}"
    );
}

/// A request manager's scan of the series (`/Shows/{id}/Seasons`, then each numbered
/// season's `/Shows/{id}/Episodes?seasonId=…`), through a gateway restarted on the frames
/// its probes proved after the crawl: the owner's and a shared user's reads are the copy's
/// from their first (or hits of what it wrote ahead), none of them reaches the server's
/// `/Shows/` routes, and every answer is the server's, byte for byte.
#[tokio::test]
async fn a_restarted_gateway_answers_a_scans_first_series_reads_from_the_frames_it_kept() {
    let sim = jellyfin_sim(50).await;
    let (served, _data) =
        sim_gateway::restarted_after_probes_of(&sim, Profile::Jellyfin, |_| {}, |b| b).await;
    eventually(
        "the restarted gateway has heard the server's release",
        std::time::Duration::from_secs(10),
        async || (served.gateway.upstream("jellyfin")).is_some_and(|up| up.release_confirmed()),
    )
    .await;
    let client = reqwest::Client::new();
    let get = async |base: &str, path: &str, token: &str| {
        let resp = (client.get(format!("{base}{path}")))
            .header("X-Emby-Token", token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        (cache_status(&resp), resp.text().await.unwrap())
    };
    let users = sim_users(sim.sim.state().users(), true);
    for name in ["admin", "alice"] {
        let token = &users.iter().find(|u| u.name == name).unwrap().token;
        let listed = get(
            &sim.base_url,
            "/Items?IncludeItemTypes=Series&Recursive=true",
            token,
        )
        .await;
        let series = id_list(&serde_json::from_str::<Value>(&listed.1).unwrap()["Items"]);
        assert!(series.len() >= 3, "{series:?}");
        let mut read = Vec::new();
        let before = requests_on(&sim, "/Shows/");
        for sid in &series {
            let path = format!("/Shows/{sid}/Seasons");
            let (status, via) = get(&served.proxy, &path, token).await;
            let seasons: Value = serde_json::from_str(&via).unwrap();
            read.push((path, status, via));
            for season in seasons["Items"].as_array().unwrap() {
                if season["IndexNumber"].as_u64().is_some_and(|n| n > 0) {
                    let id = season["Id"].as_str().unwrap();
                    let path = format!("/Shows/{sid}/Episodes?seasonId={id}");
                    let (status, via) = get(&served.proxy, &path, token).await;
                    read.push((path, status, via));
                }
            }
        }
        assert_eq!(
            requests_on(&sim, "/Shows/"),
            before,
            "{name}: a series read reached the server"
        );
        for (path, status, via) in &read {
            // The copy's, or a hit of what it wrote ahead (a season's episodes after its
            // series' seasons were read).
            assert!(
                status.starts_with("cachearr; hit"),
                "{name} {path}: {status}"
            );
            let (_, direct) = get(&sim.base_url, path, token).await;
            assert_same_answer(via, &direct, &format!("{name} {path}"));
        }
    }
    drop(served.stop);
    served.task.await.unwrap();
}
