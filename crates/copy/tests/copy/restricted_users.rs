//! Users the server hides items from inside their sections (Plex shares filtered by label or
//! content rating, a managed Home user; Jellyfin parental rating, blocked and allowed tags),
//! end to end through the gateway: search answers, hubs and `/api/match` never hold an item
//! the server would hide from the asking user, and users who see whole sections still get
//! their answers from the index without the server being searched.
//!
//! The index is installed from the simulator's library as a crawl would build it (the owner's
//! view). What a user may see is the simulator's own answer for that user.
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cachearr_dialect::Profile;
use cachearr_library::{ItemRecord, LibraryIndex};
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually;
use serde_json::Value;
use sim_gateway::Running;
use sim_gateway::search::enc;

const RESTRICTED: [&str; 3] = ["carol", "dave", "emma"];

fn sim() -> Sim {
    Sim::builder()
        .tracks(900)
        .movies(60)
        .shows(8)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap()
}

async fn start(profile: Profile) -> Running {
    let sim = sim();
    let server: TestServer = match profile {
        Profile::Plex => sim.start_plex_test_server().await.unwrap(),
        Profile::Jellyfin => sim
            .start_jellyfin_test_server(JellyfinOptions::default())
            .await
            .unwrap(),
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    // No owner token: no crawl, the index installed below stays.
    let run = sim_gateway::start_in_front_of(server, profile, |_| {}).await;
    run.install_index(profile).await;
    run
}

/// A hidden item: its id as the server names it, its title and its kind.
struct Hidden {
    id: String,
    title: String,
    kind: ItemKind,
    section: u32,
}

/// What this module's tests do through the fixture's gateway.
trait RestrictedRequests {
    fn token(&self, profile: Profile, name: &str) -> String;
    async fn get(
        &self,
        profile: Profile,
        base: &str,
        path: &str,
        token: &str,
    ) -> (u16, String, Value);
    async fn install_index(&self, profile: Profile);
    fn hidden_from(&self, profile: Profile, user: &str, per_section: usize) -> Vec<Hidden>;
    fn server_searches(&self) -> u64;
    fn server_requests(&self) -> u64;
}

impl RestrictedRequests for Running {
    fn token(&self, profile: Profile, name: &str) -> String {
        let state = self.sim.sim.state();
        let u = state.users().iter().find(|u| u.name == name).unwrap();
        match profile {
            Profile::Plex => u.plex_token.clone(),
            Profile::Jellyfin => u.jellyfin_token.clone(),
            Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
        }
    }

    async fn get(
        &self,
        profile: Profile,
        base: &str,
        path: &str,
        token: &str,
    ) -> (u16, String, Value) {
        let mut rb = self.client.get(format!("{base}{path}"));
        rb = match profile {
            Profile::Plex => rb
                .header("X-Plex-Token", token)
                .header("Accept", "application/json"),
            Profile::Jellyfin => rb.header("X-Emby-Token", token),
            Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
        };
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let cs = r
            .headers()
            .get("cache-status")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = r.text().await.unwrap();
        (
            status,
            cs,
            serde_json::from_str(&body).unwrap_or(Value::Null),
        )
    }

    /// The records a crawl would make (Jellyfin: item GUIDs and library view ids).
    async fn install_index(&self, profile: Profile) {
        let views: BTreeMap<String, String> = match profile {
            Profile::Plex => BTreeMap::new(),
            Profile::Jellyfin => {
                let admin = self.token(profile, "admin");
                let (_, _, views) = self
                    .get(profile, &self.sim.base_url, "/UserViews", &admin)
                    .await;
                views["Items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        (
                            v["Name"].as_str().unwrap().to_string(),
                            v["Id"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            }
            Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
        };
        let records: Vec<ItemRecord> = {
            let lib = self.sim.sim.library();
            (1..=lib.len() as u32)
                .filter_map(|id| lib.item(id))
                .filter_map(|item| {
                    let mut r = cachearr_library::sim::record_of(&item)?;
                    if profile == Profile::Jellyfin {
                        r.id = item.guid_id();
                        r.section_id = views[&item.section().title].clone();
                        r.parent_id = item.parent().map(|p| p.guid_id());
                        if r.grandparent_id.is_some() {
                            r.grandparent_id = item.grandparent().map(|g| g.guid_id());
                        }
                    }
                    Some(r)
                })
                .collect()
        };
        let name = match profile {
            Profile::Plex => "plex",
            Profile::Jellyfin => "jellyfin",
            Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
        };
        match profile {
            Profile::Plex => self.keep_plex_elements().await,
            Profile::Jellyfin => {
                let owner = self.token(profile, "admin");
                self.keep_jellyfin_documents(&owner).await;
            }
            Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
        }
        self.gateway
            .index(name)
            .unwrap()
            .install(Arc::new(LibraryIndex::build(&records).unwrap()));
    }

    /// Up to `per_section` items of each indexed kind hidden from `user` in each section the
    /// user may open (the simulator's own rule for that user).
    fn hidden_from(&self, profile: Profile, user: &str, per_section: usize) -> Vec<Hidden> {
        let state = self.sim.sim.state();
        let u = state.users().iter().find(|u| u.name == user).unwrap();
        let lib = self.sim.sim.library();
        let mut out = Vec::new();
        for section in lib.sections() {
            if !u.can_see_section(section.id) {
                continue;
            }
            for kind in [
                ItemKind::Artist,
                ItemKind::Album,
                ItemKind::Track,
                ItemKind::Movie,
                ItemKind::Episode,
            ] {
                let hidden = section
                    .items(kind)
                    .iter()
                    .filter_map(|&id| lib.item(id))
                    .filter(|i| match profile {
                        Profile::Plex => !u.plex_sees(i),
                        Profile::Jellyfin => !u.jellyfin_sees(i),
                        Profile::Http | Profile::Emby => {
                            unreachable!("a test of Plex and Jellyfin")
                        }
                    })
                    .take(per_section);
                for item in hidden {
                    out.push(Hidden {
                        id: match profile {
                            Profile::Plex => item.id().to_string(),
                            Profile::Jellyfin => item.guid_id(),
                            Profile::Http | Profile::Emby => {
                                unreachable!("a test of Plex and Jellyfin")
                            }
                        },
                        title: item.title().to_string(),
                        kind,
                        section: section.id,
                    });
                }
            }
        }
        out
    }

    /// Requests that reached the simulator's search routes.
    fn server_searches(&self) -> u64 {
        self.sim
            .sim
            .stats()
            .routes
            .iter()
            .filter(|(route, _)| route.to_ascii_lowercase().contains("search"))
            .map(|(_, s)| s.requests)
            .sum()
    }

    /// Every request that reached the simulator.
    fn server_requests(&self) -> u64 {
        self.sim.sim.stats().total
    }
}

/// Every id in an answer (Plex `ratingKey`s, hubs included; Jellyfin `Id`s of items and hints).
fn ids(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut take = |list: &Value, field: &str| {
        for m in list.as_array().into_iter().flatten() {
            match &m[field] {
                Value::String(s) => {
                    out.insert(s.to_ascii_lowercase());
                }
                Value::Number(n) => {
                    out.insert(n.to_string());
                }
                _ => {}
            }
        }
    };
    let c = &v["MediaContainer"];
    take(&c["Metadata"], "ratingKey");
    for hub in c["Hub"].as_array().into_iter().flatten() {
        take(&hub["Metadata"], "ratingKey");
    }
    take(&v["Items"], "Id");
    take(&v["SearchHints"], "Id");
    out
}

fn plex_type(kind: ItemKind) -> u8 {
    kind.plex_type()
}

/// The search requests of each route that could show `h`.
fn search_paths(profile: Profile, h: &Hidden, uid: &str) -> Vec<String> {
    let q = enc(&h.title);
    match profile {
        Profile::Plex => {
            let (s, t) = (h.section, plex_type(h.kind));
            vec![
                format!("/hubs/search?query={q}&limit=100"),
                format!("/hubs/search?query={q}&sectionId={s}&limit=100"),
                format!("/library/sections/{s}/search?type={t}&query={q}"),
                format!("/library/sections/{s}/all?type={t}&title={q}"),
            ]
        }
        Profile::Jellyfin => {
            let ty = h.kind.jellyfin_name();
            vec![
                format!("/Items?Recursive=true&SearchTerm={q}&IncludeItemTypes={ty}"),
                format!("/Items?Recursive=true&SearchTerm={q}"),
                format!("/Users/{uid}/Items?Recursive=true&SearchTerm={q}&IncludeItemTypes={ty}"),
                format!("/Search/Hints?SearchTerm={q}&Limit=100"),
            ]
        }
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    }
}

async fn no_hidden_item_in_search_answers(profile: Profile) {
    let run = start(profile).await;
    let admin = run.token(profile, "admin");
    for user in RESTRICTED {
        let token = run.token(profile, user);
        let uid = {
            let state = run.sim.sim.state();
            state
                .users()
                .iter()
                .find(|u| u.name == user)
                .unwrap()
                .jellyfin_id
                .clone()
        };
        let hidden = run.hidden_from(profile, user, 3);
        assert!(
            hidden.len() >= 3,
            "{user}: the library must hide items from them for the test to mean anything"
        );
        for h in &hidden {
            for path in search_paths(profile, h, &uid) {
                let (status, cs, via) = run.get(profile, &run.proxy, &path, &token).await;
                let (direct_status, _, direct) =
                    run.get(profile, &run.sim.base_url, &path, &token).await;
                assert_eq!(status, direct_status, "{user} {path}");
                let found = ids(&via);
                assert!(
                    !found.contains(&h.id.to_ascii_lowercase()),
                    "{user} was shown {} ({:?} {:?}) hidden from them: {path} ({cs})",
                    h.id,
                    h.kind,
                    h.title
                );
                assert_eq!(found, ids(&direct), "{user} {path} ({cs})");
            }
            // The owner finds it (through the index): the query does reach the item. For
            // Plex the section search by type: a hub search that also finds a show goes to
            // the server (the index cannot write a show's element); so does a Jellyfin
            // `/Items` search of films (the server also matches their original titles).
            let path = &match (profile, h.kind) {
                (Profile::Plex, _) => search_paths(profile, h, &admin)[2].clone(),
                (Profile::Jellyfin, ItemKind::Movie) => format!(
                    "/Search/Hints?SearchTerm={}&IncludeItemTypes=Movie&Limit=100",
                    enc(&h.title)
                ),
                (Profile::Jellyfin, _) => search_paths(profile, h, &admin)[0].clone(),
                (Profile::Http | Profile::Emby, _) => unreachable!("a test of Plex and Jellyfin"),
            };
            let (_, cs, owner) = run.get(profile, &run.proxy, path, &admin).await;
            assert!(cs.contains("detail=index"), "owner {path}: {cs}");
            assert!(
                ids(&owner).contains(&h.id.to_ascii_lowercase()),
                "owner {path}"
            );
        }
    }
}

#[tokio::test]
async fn plex_search_answers_hide_what_each_restricted_user_may_not_see() {
    no_hidden_item_in_search_answers(Profile::Plex).await;
}

#[tokio::test]
async fn jellyfin_search_answers_hide_what_each_restricted_user_may_not_see() {
    no_hidden_item_in_search_answers(Profile::Jellyfin).await;
}

/// Users who see whole sections get answers from the index, and after the first answer
/// (which reads each section's item count once, and the user's play state: Plex's hub search
/// reads every kind's, a Jellyfin search the kinds it finds) the server hears nothing more.
async fn whole_sections_are_answered_from_the_index(profile: Profile, searches: &[&str]) {
    let run = start(profile).await;
    let first = match profile {
        Profile::Plex => &searches[..1],
        Profile::Jellyfin => searches,
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    for user in ["alice", "bob", "admin"] {
        let token = run.token(profile, user);
        for path in first {
            let (status, cs, _) = run.get(profile, &run.proxy, path, &token).await;
            assert_eq!(status, 200, "{user} {path}");
            assert!(cs.contains("detail=index"), "{user} {path}: {cs}");
        }
    }
    let before = (run.server_requests(), run.server_searches());
    for user in ["alice", "bob", "admin"] {
        let token = run.token(profile, user);
        for path in searches {
            let (status, cs, _) = run.get(profile, &run.proxy, path, &token).await;
            assert_eq!(status, 200, "{user} {path}");
            assert!(cs.contains("detail=index"), "{user} {path}: {cs}");
        }
    }
    assert_eq!(
        (run.server_requests(), run.server_searches()),
        before,
        "the server was asked"
    );
    assert_eq!(run.server_searches(), 0, "a search reached the server");
}

#[tokio::test]
async fn plex_users_who_see_whole_sections_get_index_answers_without_the_server() {
    whole_sections_are_answered_from_the_index(
        Profile::Plex,
        &[
            // The music section: no show to send the hub search to the server.
            "/hubs/search?query=a&limit=10&sectionId=1",
            "/library/sections/1/search?type=10&query=e",
            "/library/sections/1/all?type=9&title=o",
        ],
    )
    .await;
}

#[tokio::test]
async fn jellyfin_users_who_see_whole_sections_get_index_answers_without_the_server() {
    whole_sections_are_answered_from_the_index(
        Profile::Jellyfin,
        &[
            "/Items?Recursive=true&SearchTerm=a&IncludeItemTypes=Audio&Limit=10",
            "/Search/Hints?SearchTerm=e&IncludeItemTypes=Audio&Limit=10",
            "/Items?Recursive=true&SearchTerm=o&IncludeItemTypes=MusicAlbum",
        ],
    )
    .await;
}

/// A restricted user whose music is whole (dave: only films and shows are rated) still gets
/// music answers from the index; the sections filtered for them go to the server.
#[tokio::test]
async fn plex_a_rating_filter_leaves_music_to_the_index() {
    let run = start(Profile::Plex).await;
    let token = run.token(Profile::Plex, "dave");
    let (_, cs, _) = run
        .get(
            Profile::Plex,
            &run.proxy,
            "/library/sections/1/search?type=10&query=e",
            &token,
        )
        .await;
    assert!(cs.contains("detail=index"), "{cs}");
    let (_, cs, _) = run
        .get(
            Profile::Plex,
            &run.proxy,
            "/library/sections/2/search?type=1&query=e",
            &token,
        )
        .await;
    assert!(!cs.contains("detail=index"), "{cs}");
}

/// A CSV playlist of every seventh track (title, artist, album): the first 40, then only
/// those hidden from `user`. Returns it, every track hidden from `user` and those listed.
fn playlist(
    run: &Running,
    profile: Profile,
    user: &str,
) -> (String, BTreeSet<String>, BTreeSet<String>) {
    let hidden: BTreeSet<String> = run
        .hidden_from(profile, user, usize::MAX)
        .into_iter()
        .filter(|h| h.kind == ItemKind::Track)
        .map(|h| h.id.to_ascii_lowercase())
        .collect();
    let lib = run.sim.sim.library();
    let mut csv = String::from("artist,title,album\n");
    let mut listed = BTreeSet::new();
    let mut n = 0;
    for section in lib.sections() {
        for &id in section.items(ItemKind::Track).iter().step_by(7) {
            let item = lib.item(id).unwrap();
            let key = match profile {
                Profile::Plex => id.to_string(),
                Profile::Jellyfin => item.guid_id(),
                Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
            };
            if n >= 40 && !hidden.contains(&key) {
                continue;
            }
            if hidden.contains(&key) {
                listed.insert(key.clone());
            }
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            csv.push_str(&format!(
                "{},{},{}\n",
                q(item.grandparent().map(|a| a.title()).unwrap_or("")),
                q(item.title()),
                q(item.parent().map(|a| a.title()).unwrap_or(""))
            ));
            n += 1;
        }
    }
    (csv, hidden, listed)
}

/// Every id an `/api/match` answer names (best matches and runners-up).
fn matched_ids(answer: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in answer["entries"].as_array().unwrap() {
        for field in ["best", "runner_up"] {
            if let Some(id) = e[field]["id"].as_str() {
                out.insert(id.to_ascii_lowercase());
            }
        }
    }
    out
}

async fn match_api_keeps_hidden_tracks_out(profile: Profile) {
    let run = start(profile).await;
    let name = match profile {
        Profile::Plex => "plex",
        Profile::Jellyfin => "jellyfin",
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    let post = |token: String, csv: String| {
        let run = &run;
        async move {
            let r = run
                .client
                .post(format!("{}/api/match?upstream={name}", run.admin))
                .header("content-type", "text/csv")
                .header("x-cachearr-user-token", token)
                .body(csv)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    for user in ["carol", "emma"] {
        let (csv, hidden, listed) = playlist(&run, profile, user);
        assert!(listed.len() >= 5, "{user}: too few hidden tracks");
        let answer = post(run.token(profile, user), csv.clone()).await;
        let leaked: Vec<_> = matched_ids(&answer)
            .intersection(&hidden)
            .cloned()
            .collect();
        assert!(leaked.is_empty(), "{user} matched hidden tracks {leaked:?}");
        let withheld = answer["withheld_sections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!withheld.is_empty(), "{user}: {answer}");
        // The same playlist as a user who sees everything does find the hidden tracks.
        let answer = post(run.token(profile, "alice"), csv).await;
        assert!(
            matched_ids(&answer).intersection(&listed).count() >= listed.len() * 3 / 4,
            "alice finds them: {} of {}: {}",
            matched_ids(&answer).intersection(&listed).count(),
            listed.len(),
            answer["summary"]
        );
        assert!(answer.get("withheld_sections").is_none(), "{answer}");
        // alice's answers are remembered now; none of them is handed to the restricted user.
        let again = post(run.token(profile, user), csv_again(&answer)).await;
        let leaked: Vec<_> = matched_ids(&again).intersection(&hidden).cloned().collect();
        assert!(
            leaked.is_empty(),
            "{user} was handed remembered hidden tracks {leaked:?}"
        );
    }
}

/// The playlist an answer was made from, as CSV again (the entries' own queries).
fn csv_again(answer: &Value) -> String {
    let mut csv = String::from("artist,title,album\n");
    let q = |v: &Value| format!("\"{}\"", v.as_str().unwrap_or("").replace('"', "\"\""));
    for e in answer["entries"].as_array().unwrap() {
        let query = &e["query"];
        csv.push_str(&format!(
            "{},{},{}\n",
            q(&query["artist"]),
            q(&query["title"]),
            q(&query["album"])
        ));
    }
    csv
}

#[tokio::test]
async fn plex_match_api_never_names_a_track_hidden_from_the_user() {
    match_api_keeps_hidden_tracks_out(Profile::Plex).await;
}

#[tokio::test]
async fn jellyfin_match_api_never_names_a_track_hidden_from_the_user() {
    match_api_keeps_hidden_tracks_out(Profile::Jellyfin).await;
}

/// With an owner token the gateway crawls the server itself, and the owner's own counts (read
/// through the cache with that token) are what a user's counts must equal.
async fn with_an_owner_token_the_owners_counts_are_the_yardstick(profile: Profile) {
    let sim = sim();
    let server: TestServer = match profile {
        Profile::Plex => sim.start_plex_test_server().await.unwrap(),
        Profile::Jellyfin => sim
            .start_jellyfin_test_server(JellyfinOptions::default())
            .await
            .unwrap(),
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    let owner = {
        let state = server.sim.state();
        let admin = state.owner();
        match profile {
            Profile::Plex => admin.plex_token.clone(),
            Profile::Jellyfin => admin.jellyfin_token.clone(),
            Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
        }
    };
    let run = sim_gateway::start_in_front_of(server, profile, |config| {
        config.upstreams[0].token = Some(owner.clone());
    })
    .await;
    let name = run.gateway.upstreams()[0].name.to_string();
    let handle = run.gateway.index(&name).unwrap();
    // A guard against a hang, not a timing assertion: the crawl of ~1,000 items.
    eventually(
        "the crawl finished",
        std::time::Duration::from_secs(60),
        async || handle.ready().is_some(),
    )
    .await;
    let uid = |user: &str| {
        let state = run.sim.sim.state();
        state
            .users()
            .iter()
            .find(|u| u.name == user)
            .unwrap()
            .jellyfin_id
            .clone()
    };
    for user in RESTRICTED {
        let token = run.token(profile, user);
        for h in run.hidden_from(profile, user, 2) {
            for path in search_paths(profile, &h, &uid(user)) {
                let (_, cs, via) = run.get(profile, &run.proxy, &path, &token).await;
                assert!(
                    !ids(&via).contains(&h.id.to_ascii_lowercase()),
                    "{user} was shown {} hidden from them: {path} ({cs})",
                    h.id
                );
            }
        }
    }
    let alice = run.token(profile, "alice");
    let path = match profile {
        Profile::Plex => "/library/sections/1/search?type=10&query=e",
        Profile::Jellyfin => "/Items?Recursive=true&SearchTerm=e&IncludeItemTypes=Audio&Limit=5",
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    let (status, cs, _) = run.get(profile, &run.proxy, path, &alice).await;
    assert_eq!(status, 200);
    assert!(cs.contains("detail=index"), "alice: {cs}");
}

#[tokio::test]
async fn plex_with_an_owner_token_the_owners_counts_are_the_yardstick() {
    with_an_owner_token_the_owners_counts_are_the_yardstick(Profile::Plex).await;
}

#[tokio::test]
async fn jellyfin_with_an_owner_token_the_owners_counts_are_the_yardstick() {
    with_an_owner_token_the_owners_counts_are_the_yardstick(Profile::Jellyfin).await;
}

/// A restriction tightened on the server sends no event: the proof is read again after five
/// minutes (the user's sections list's own freshness), and from then on the index no longer
/// answers for the sections it now hides part of.
#[tokio::test]
async fn a_tightened_restriction_is_seen_within_five_minutes() {
    use cachearr_engine::ManualClock;
    use cachearr_sim::state::{PlexFilter, Restrictions};

    let server = sim().start_plex_test_server().await.unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let run = sim_gateway::start_built(
        server,
        Profile::Plex,
        |_| {},
        |builder| builder.clock(clock.clone()),
    )
    .await;
    run.install_index(Profile::Plex).await;
    let carol_hides = run.hidden_from(Profile::Plex, "carol", 1);
    let h = carol_hides
        .iter()
        .find(|h| h.kind == ItemKind::Track)
        .unwrap();
    let path = format!(
        "/library/sections/{}/search?type=10&query={}",
        h.section,
        enc(&h.title)
    );
    let alice = run.token(Profile::Plex, "alice");
    let (_, cs, found) = run.get(Profile::Plex, &run.proxy, &path, &alice).await;
    assert!(cs.contains("detail=index"), "{cs}");
    assert!(ids(&found).contains(&h.id));

    // The owner now shares alice's music without what is labelled Explicit.
    let alice_id = {
        let mut state = run.sim.sim.state();
        let id = state.users().iter().find(|u| u.name == "alice").unwrap().id;
        assert!(state.set_restrictions(
            id,
            Restrictions {
                plex_music: PlexFilter::parse("label!=Explicit"),
                ..Restrictions::default()
            }
        ));
        id
    };
    assert_eq!(alice_id, 2);
    clock.advance(std::time::Duration::from_secs(5 * 60 + 1));
    let (status, cs, found) = run.get(Profile::Plex, &run.proxy, &path, &alice).await;
    assert_eq!(status, 200);
    assert!(!cs.contains("detail=index"), "{cs}");
    assert!(!ids(&found).contains(&h.id), "{cs}");
}
