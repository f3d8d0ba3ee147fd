//! Walks answered from the library copy on a cache miss: a section's listing pages and
//! counts, an item's children and leaves. Every answer through the gateway must be the
//! server's for the same user, byte for byte, XML and JSON, for the owner, a shared user, a
//! user restricted inside a library and a user the gateway has not seen; and once a shape's
//! frame is proven, a walk of the owner's must stop reaching the server.
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;

use cachearr_library::{ItemKind, ItemRecord, LibraryIndex};
use cachearr_sim::library::{SHOWS_SECTION, SectionKind};
use cachearr_sim::state::{PlexFilter, Restrictions};
use serde_json::Value;
use sim_gateway::Running;

async fn start() -> Running {
    start_with_records(|_| {}).await
}

/// [`start`], the copy's index made from the simulator's records as `change` leaves them.
async fn start_with_records(change: impl FnOnce(&mut Vec<ItemRecord>)) -> Running {
    let r = sim_gateway::start(|_| {}).await;
    r.keep_plex_elements().await;
    let mut records: Vec<_> = {
        let lib = r.sim.sim.library();
        cachearr_library::sim::records(&lib).collect()
    };
    change(&mut records);
    let index = LibraryIndex::build(&records).unwrap();
    r.gateway.index("plex").unwrap().install(Arc::new(index));
    r
}

fn token(r: &Running, name: &str) -> String {
    let state = r.sim.sim.state();
    let user = state.users().iter().find(|u| u.name == name).unwrap();
    user.plex_token.clone()
}

async fn get(r: &Running, base: &str, path: &str, token: &str, json: bool) -> (u16, String) {
    let mut rb = r
        .client
        .get(format!("{base}{path}"))
        .header("X-Plex-Token", token)
        .header("X-Plex-Client-Identifier", "walk-tests");
    if json {
        rb = rb.header("Accept", "application/json");
    }
    let resp = rb.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The simulator's requests on routes whose pattern contains `part`.
fn requests_on(r: &Running, part: &str) -> u64 {
    sim_gateway::requests_on(&r.sim, part)
}

/// Rating keys of a listing the owner reads directly.
async fn keys(r: &Running, path: &str) -> Vec<String> {
    let owner = r.sim.token.clone();
    let (_, body) = get(r, &r.sim.base_url, path, &owner, true).await;
    let doc: Value = serde_json::from_str(&body).unwrap();
    doc["MediaContainer"]["Metadata"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["ratingKey"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The walks a library scan makes: every season's, show's and album's children, shows' and
/// artists' leaves, an artist's albums, listing pages and counts.
async fn walks(r: &Running) -> Vec<String> {
    let mut paths = Vec::new();
    for season in keys(r, "/library/sections/3/all?type=3").await {
        paths.push(format!("/library/metadata/{season}/children"));
    }
    for show in keys(r, "/library/sections/3/all?type=2").await {
        paths.push(format!("/library/metadata/{show}/allLeaves"));
        paths.push(format!("/library/metadata/{show}/children"));
    }
    // Tautulli's counts of shows and seasons, a page of a show section's shows (its default
    // listing) and one of its seasons.
    for t in [2, 3] {
        for size in [0, 1] {
            paths.push(format!(
                "/library/sections/3/all?type={t}&X-Plex-Container-Start=0&X-Plex-Container-Size={size}"
            ));
        }
    }
    paths.push("/library/sections/3/all?X-Plex-Container-Start=0&X-Plex-Container-Size=10".into());
    // The home screen's recently added, unpaged, as Tautulli pages it, and further pages
    // (the copy writes them for the owner only: `tautullis_first_round_is_the_copys_for_the_owner`).
    for t in ["1", "2", "8", "10", "1&personal=1"] {
        paths.push(format!("/hubs/home/recentlyAdded?type={t}"));
        for (start, size) in [(0, 50), (3, 7), (10, 7), (17, 7), (24, 7)] {
            paths.push(format!(
                "/hubs/home/recentlyAdded?X-Plex-Container-Start={start}&X-Plex-Container-Size={size}&type={t}"
            ));
        }
    }
    paths.push(
        "/library/sections/3/all?type=3&includeGuids=1&X-Plex-Container-Start=4&X-Plex-Container-Size=6"
            .into(),
    );
    for album in keys(r, "/library/sections/1/all?type=9")
        .await
        .iter()
        .take(12)
    {
        paths.push(format!("/library/metadata/{album}/children"));
        paths.push(format!(
            "/library/metadata/{album}/allLeaves?includeGuids=1"
        ));
        // PlexKodiConnect's paging of an album's tracks by rating key.
        paths.push(format!(
            "/library/metadata/{album}/children?sort=id&X-Plex-Container-Start=1&X-Plex-Container-Size=4"
        ));
    }
    for artist in keys(r, "/library/sections/1/all?type=8")
        .await
        .iter()
        .take(6)
    {
        paths.push(format!("/library/metadata/{artist}/children"));
        paths.push(format!("/library/metadata/{artist}/allLeaves"));
    }
    for start in [0, 20, 40, 60] {
        paths.push(format!(
            "/library/sections/1/all?type=10&X-Plex-Container-Start={start}&X-Plex-Container-Size=20"
        ));
    }
    paths.push(
        "/library/sections/1/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=0".into(),
    );
    paths.push(
        "/library/sections/2/all?includeGuids=1&X-Plex-Container-Start=0&X-Plex-Container-Size=1"
            .into(),
    );
    paths
}

/// Every walk through the gateway is the server's own answer for that user: the owner, a
/// shared user, one the server restricts inside the music library (whose music walks the
/// server answers: the copy cannot tell what it hides) and a user first seen here.
#[tokio::test]
async fn walks_from_the_copy_are_the_servers_bytes_for_every_user() {
    let r = start().await;
    let users: Vec<String> = {
        let mut state = r.sim.sim.state();
        let restricted = state.users().iter().find(|u| u.name == "bob").unwrap().id;
        assert!(state.set_restrictions(
            restricted,
            Restrictions {
                plex_music: PlexFilter::parse("label!=Explicit"),
                ..Restrictions::default()
            }
        ));
        state.users().iter().map(|u| u.name.clone()).collect()
    };
    assert!(users.len() >= 3, "{users:?}");
    play_some(&r).await;
    let paths = walks(&r).await;
    assert!(paths.len() > 40, "{}", paths.len());
    let before = requests_on(&r, "children") + requests_on(&r, "allLeaves");
    let mut walked = 0;
    for user in &users {
        let token = token(&r, user);
        for json in [true, false] {
            for path in &paths {
                let (status, via) = get(&r, &r.proxy, path, &token, json).await;
                let (direct_status, direct) = get(&r, &r.sim.base_url, path, &token, json).await;
                assert_eq!(status, direct_status, "{user} {path} json={json}");
                sim_gateway::assert_same_answer(
                    &via,
                    &direct,
                    &format!("{user} {path} json={json}"),
                );
                walked += u64::from(path.contains("/children") || path.contains("/allLeaves"));
            }
        }
    }
    // The direct reads count too: the gateway's share is what is over the walk's own count.
    let by_gateway = requests_on(&r, "children") + requests_on(&r, "allLeaves") - before - walked;
    // (The restricted user's music walks and each shape's first misses are the server's.)
    assert!(
        by_gateway * 3 < walked * 2,
        "{by_gateway} of {walked} children and leaves walks reached the server: the copy \
         answered too few for its answers to have been compared"
    );
}

/// Gives every user of the simulator play state of their own on tracks and episodes: some
/// played (once or twice), some part-watched, some rated, different items for each user, so
/// that an answer carrying another user's state, or none, differs from the server's.
async fn play_some(r: &Running) {
    let owner = r.sim.token.clone();
    let mut items: Vec<u32> = Vec::new();
    for path in [
        "/library/sections/1/all?type=10",
        "/library/sections/3/all?type=4",
    ] {
        let (_, body) = get(r, &r.sim.base_url, path, &owner, true).await;
        let doc: Value = serde_json::from_str(&body).unwrap();
        let listed = doc["MediaContainer"]["Metadata"].as_array().unwrap();
        items.extend(
            listed
                .iter()
                .take(60)
                .map(|i| i["ratingKey"].as_str().unwrap().parse::<u32>().unwrap()),
        );
    }
    let users: Vec<u32> = r.sim.sim.state().users().iter().map(|u| u.id).collect();
    for (u, user) in users.iter().enumerate() {
        for (n, &item) in items.iter().enumerate() {
            match (n + u) % 4 {
                0 => {
                    r.sim.sim.scrobble(*user, item);
                }
                1 if n % 3 == 0 => {
                    r.sim.sim.set_progress(*user, item, 61_000);
                }
                2 if n % 5 == 0 => {
                    r.sim.sim.scrobble(*user, item);
                    r.sim.sim.scrobble(*user, item);
                    r.sim.sim.rate(*user, item, Some(7.5));
                }
                _ => {}
            }
        }
    }
}

/// The owner's walk of every season's episodes: the first few go to the server (their frame
/// is learned and proven on them); the rest are written from the copy, so the server sees
/// far fewer children requests than the walk makes — and a second walk (cached) none.
#[tokio::test]
async fn a_season_walk_reaches_the_server_only_to_prove_its_frame() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let seasons = keys(&r, "/library/sections/3/all?type=3").await;
    assert!(seasons.len() >= 8, "{}", seasons.len());
    let before = requests_on(&r, "children");
    for season in &seasons {
        let path = format!("/library/metadata/{season}/children");
        let (status, _) = get(&r, &r.proxy, &path, &owner, true).await;
        assert_eq!(status, 200);
    }
    let to_server = requests_on(&r, "children") - before;
    assert!(
        to_server <= 4,
        "{to_server} of {} season listings reached the server",
        seasons.len()
    );
    // The copy's items were kept written, within their share, as the stats say.
    let memory = r.stats().await["memory"].clone();
    let (share, used) = (
        memory["index_written"].as_u64().unwrap(),
        memory["index_written_used"].as_u64().unwrap(),
    );
    assert!(used > 0 && used <= share, "{memory}");
    let before = requests_on(&r, "children");
    for season in &seasons {
        let path = format!("/library/metadata/{season}/children");
        get(&r, &r.proxy, &path, &owner, true).await;
    }
    assert_eq!(
        requests_on(&r, "children"),
        before,
        "the second walk is cached"
    );
}

/// Reads `path` as `token` through the gateway at `proxy` and from the server at `direct`: the
/// gateway's answer must be the server's; gives whether the copy wrote it (its
/// `Cache-Status` says so).
async fn from_copy(proxy: &str, direct: &str, path: &str, token: &str, json: bool) -> bool {
    let resp = request(proxy, path, token, json).send().await.unwrap();
    let code = resp.status().as_u16();
    let status = resp.headers()["cache-status"].to_str().unwrap().to_owned();
    let via = resp.text().await.unwrap();
    let (server_code, server) = get_as(direct, path, token, json).await;
    assert_eq!(code, server_code, "{path} json={json}");
    sim_gateway::assert_same_answer(&via, &server, &format!("{path} json={json}"));
    status.ends_with("detail=copy")
}

/// A show's seasons are the copy's to answer as a season's episodes are: a walk of every
/// show's seasons reaches the server only to prove its frame, and every answer is the
/// server's for the user, with their counts of played episodes.
#[tokio::test]
async fn a_walk_of_shows_seasons_is_answered_from_the_copy() {
    let r = start().await;
    play_some(&r).await;
    let shows = keys(&r, "/library/sections/3/all?type=2").await;
    assert!(shows.len() >= 4, "{}", shows.len());
    // Each user, and whether they see the show section whole (a shared user's whole sections
    // are the copy's once proven, which their first walk's reads do).
    let users: Vec<(String, bool, bool)> = {
        let state = r.sim.sim.state();
        state
            .users()
            .iter()
            .map(|u| {
                let opens = u
                    .sections
                    .as_ref()
                    .is_none_or(|s| s.contains(&SHOWS_SECTION));
                let filtered = u.restrictions.plex_filter(SectionKind::Shows).is_some();
                (
                    u.plex_token.clone(),
                    u.is_owner,
                    opens && !filtered && !u.home,
                )
            })
            .collect()
    };
    let mut shared_whole = 0;
    for (token, is_owner, whole) in &users {
        let mut copied = Vec::new();
        for show in &shows {
            let path = format!("/library/metadata/{show}/children");
            copied.push(from_copy(&r.proxy, &r.sim.base_url, &path, token, true).await);
        }
        if *is_owner {
            // The owner's first shows prove the frame; the last is the copy's.
            assert_eq!(copied.last(), Some(&true), "the owner: {copied:?}");
        } else if *whole {
            shared_whole += 1;
            assert!(copied.iter().all(|c| *c), "a shared user: {copied:?}");
        }
    }
    assert!(
        shared_whole >= 2,
        "{shared_whole} shared users see the show section whole"
    );
}

/// Tautulli's first round as the owner — the home screen's recently added movies, shows and
/// artists (and movies again with `personal=1`), then each section's counts of each kind,
/// shows' and seasons' included (XML, pages of one item) — after a crawl whose probes proved
/// their frames: every list and count is the copy's, their items' play state (each user has
/// played episodes and movies of their own) read in at most two requests, one for the lists
/// and one for the counts. Then every user's round is the server's answer for them.
#[tokio::test]
async fn tautullis_first_round_is_the_copys_for_the_owner() {
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let owner = sim.token.clone();
    let mut played = Vec::new();
    for path in [
        "/library/sections/3/all?type=4",
        "/library/sections/2/all?type=1",
    ] {
        let (_, body) = get_as(&sim.base_url, path, &owner, true).await;
        let doc: Value = serde_json::from_str(&body).unwrap();
        let listed = doc["MediaContainer"]["Metadata"]
            .as_array()
            .unwrap()
            .clone();
        played.extend(
            listed
                .iter()
                .map(|i| i["ratingKey"].as_str().unwrap().parse::<u32>().unwrap()),
        );
    }
    let users: Vec<(u32, String)> = {
        let state = sim.sim.state();
        state
            .users()
            .iter()
            .map(|u| (u.id, u.plex_token.clone()))
            .collect()
    };
    // Each user's own plays: the newest movies' and the first show's counts differ by user.
    for (n, (user, _)) in users.iter().enumerate() {
        for &item in played.iter().rev().skip(n).step_by(3).take(8) {
            sim.sim.scrobble(*user, item);
        }
        for &item in played.iter().skip(n).step_by(3).take(5) {
            sim.sim.scrobble(*user, item);
        }
    }
    let (served, _data) = sim_gateway::restarted_after_probes(&sim, |_| {}, |b| b).await;
    let mut round: Vec<String> = ["1", "2", "8", "1&personal=1"]
        .iter()
        .map(|t| {
            format!(
                "/hubs/home/recentlyAdded?X-Plex-Container-Start=0&X-Plex-Container-Size=50&type={t}"
            )
        })
        .collect();
    // A page further on, as a client pages the list.
    for t in ["1", "2"] {
        round.push(format!(
            "/hubs/home/recentlyAdded?X-Plex-Container-Start=3&X-Plex-Container-Size=7&type={t}"
        ));
    }
    for (section, types) in [("1", &[8, 9, 10][..]), ("2", &[1]), ("3", &[2, 3, 4])] {
        for t in types {
            round.push(format!(
                "/library/sections/{section}/all?X-Plex-Container-Start=0&X-Plex-Container-Size=1&type={t}"
            ));
        }
    }
    let on = |part: &str| sim_gateway::requests_on(&sim, part);
    let (recent, listings, metadata) = (on("recentlyAdded"), on("/all"), on("/library/metadata"));
    for path in &round {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", served.proxy))
            .header("X-Plex-Token", &owner)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let status = resp.headers()["cache-status"].to_str().unwrap().to_owned();
        assert!(status.ends_with("detail=copy"), "{path}: {status}");
    }
    assert_eq!(on("recentlyAdded"), recent, "no list reached the server");
    assert_eq!(on("/all"), listings, "no count reached the server");
    // (None at all when the probes' own reads of them are still fresh.)
    let state_reads = on("/library/metadata") - metadata;
    assert!(
        state_reads <= 2,
        "{state_reads}: the lists' items' state in one read, the counts' in another"
    );
    for (_, token) in &users {
        for path in &round {
            from_copy(&served.proxy, &sim.base_url, path, token, false).await;
        }
    }
    // Pages asked by their start alone page the list the server caps at 50; once two proved
    // that shape, the copy writes the rest alike.
    let mut copied = Vec::new();
    for start in [10, 20, 30, 40, 45] {
        let path = format!("/hubs/home/recentlyAdded?X-Plex-Container-Start={start}&type=10");
        copied.push(from_copy(&served.proxy, &sim.base_url, &path, &owner, false).await);
    }
    assert_eq!(copied.last(), Some(&true), "{copied:?}");
    drop(served.stop);
    served.task.await.unwrap();
}

/// An answer the copy wrote says so: `Cache-Status` a hit with `detail=copy`, `X-Cache: HIT`,
/// `Server-Timing` described as the copy's; an answer the server gave is a miss forwarded to it.
/// Which is which is read from the server's own request count around each read.
#[tokio::test]
async fn an_answer_from_the_copy_is_marked_as_the_copys() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let seasons = keys(&r, "/library/sections/3/all?type=3").await;
    let (mut by_copy, mut by_server) = (0, 0);
    for season in &seasons {
        let before = requests_on(&r, "children");
        let resp = r
            .client
            .get(format!("{}/library/metadata/{season}/children", r.proxy))
            .header("X-Plex-Token", &owner)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let h = |name: &str| resp.headers()[name].to_str().unwrap().to_owned();
        let (status, x_cache, timing) = (h("cache-status"), h("x-cache"), h("server-timing"));
        if requests_on(&r, "children") == before {
            by_copy += 1;
            assert!(
                status.starts_with("cachearr; hit; ttl=") && status.ends_with("; detail=copy"),
                "{status}"
            );
            assert_eq!(x_cache, "HIT");
            assert_eq!(h("age"), "0");
            assert!(timing.ends_with(";desc=\"copy\""), "{timing}");
        } else {
            by_server += 1;
            assert!(status.contains("fwd=uri-miss"), "{status}");
            assert!(!status.contains("detail=copy"), "{status}");
            assert_eq!(x_cache, "MISS");
        }
    }
    assert!(
        by_copy > 0 && by_server > 0,
        "{by_copy} from the copy, {by_server} from the server"
    );
}

/// A listing read in two pages ends with its second: the copy learns nothing from that one
/// (which would cost the user's play state, and for a shared user the counts proving them the
/// section whole, for no answer to come), so the server gets the two pages and nothing more.
#[tokio::test]
async fn a_listings_last_page_costs_the_server_no_more_than_itself() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let total = keys(&r, "/library/sections/1/all?type=9").await.len();
    assert!(total >= 4, "{total}");
    let half = total.div_ceil(2);
    let before = requests_on(&r, "/all");
    for start in [0, half] {
        let path = format!(
            "/library/sections/1/all?type=9&X-Plex-Container-Start={start}&X-Plex-Container-Size={half}"
        );
        let (status, via) = get(&r, &r.proxy, &path, &owner, true).await;
        assert_eq!(status, 200);
        let (_, direct) = get(&r, &r.sim.base_url, &path, &owner, true).await;
        sim_gateway::assert_same_answer(&via, &direct, &path);
    }
    assert_eq!(
        requests_on(&r, "/all") - before,
        4,
        "the two pages through the gateway and the two read directly"
    );
}

/// A listing read in two pages, pass after pass (Kometa's daily run), is never answered from
/// the copy: its last page is never learnt from, so its frame cannot be proven. From the
/// user's second pass on, when the copy would learn from the first page, it reads nothing for
/// that either (the user's play state, to write the answer compared with the server's): each
/// pass costs the server its two pages alone.
#[tokio::test]
async fn a_two_page_listing_read_pass_after_pass_costs_its_pages_alone() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let total = keys(&r, "/library/sections/2/all?type=1").await.len();
    assert!(total >= 4, "{total}");
    let half = total.div_ceil(2);
    let copy_report = async || {
        let api =
            cachearr_testkit::http::get_json(&r.client, &format!("{}/api/index", r.admin)).await;
        api["upstreams"][0]["copy"].clone()
    };
    let learning_before = copy_report().await["shapes_learning"].as_u64().unwrap();
    // The first pass in JSON, the next in XML: each page a miss of the same walk, the second
    // pass's first page one the copy learns the XML shape's frame from. The second pass also
    // costs the count that proves the section whole when the copy first looks at answering
    // the walk (an index installed without a crawl knows no count of the owner's).
    for (json, own) in [(true, 0), (false, 1)] {
        let before = requests_on(&r, "/all");
        for start in [0, half] {
            let path = format!(
                "/library/sections/2/all?type=1&X-Plex-Container-Start={start}&X-Plex-Container-Size={half}"
            );
            let (status, via) = get(&r, &r.proxy, &path, &owner, json).await;
            assert_eq!(status, 200);
            let (_, direct) = get(&r, &r.sim.base_url, &path, &owner, json).await;
            sim_gateway::assert_same_answer(&via, &direct, &path);
        }
        assert_eq!(
            requests_on(&r, "/all") - before,
            4 + own,
            "json {json}: the two pages through the gateway and the two read directly"
        );
    }
    let after_passes = requests_on(&r, "/all");
    // The copy has looked at the first page's answer (the shape it would learn is known)...
    let wait = std::time::Duration::from_secs(10);
    cachearr_testkit::eventually("the first page's shape learnt", wait, async || {
        copy_report().await["shapes_learning"].as_u64().unwrap() > learning_before
    })
    .await;
    // ...and read nothing to prove a frame the listing ends before it could prove.
    let report = copy_report().await;
    assert_eq!(report["proofs"].as_u64().unwrap(), 0, "{report}");
    assert_eq!(
        requests_on(&r, "/all"),
        after_passes,
        "no list of the owner's play state read"
    );
}

/// A shared user who sees every library walks one show section's seasons: the copy answers
/// them after the proofs, and proving that user sees the section whole costs the counts of
/// that section only (the owner's and theirs), not those of every library they may open —
/// which cost a tool listing one library tens of requests for nothing.
#[tokio::test]
async fn a_shared_users_walk_proves_only_its_own_section_whole() {
    let r = start().await;
    let shared = {
        let state = r.sim.sim.state();
        state
            .users()
            .iter()
            .find(|u| !u.is_owner && u.sections.is_none() && !u.home)
            .map(|u| u.plex_token.clone())
            .unwrap()
    };
    let seasons = keys(&r, "/library/sections/3/all?type=3").await;
    assert!(seasons.len() >= 8, "{}", seasons.len());
    let (children, listings) = (requests_on(&r, "children"), requests_on(&r, "/all"));
    for season in &seasons {
        let path = format!("/library/metadata/{season}/children");
        let (status, via) = get(&r, &r.proxy, &path, &shared, true).await;
        assert_eq!(status, 200);
        let (_, direct) = get(&r, &r.sim.base_url, &path, &shared, true).await;
        sim_gateway::assert_same_answer(&via, &direct, &path);
    }
    // The direct reads above are children requests too: one per season.
    let to_server = requests_on(&r, "children") - children - seasons.len() as u64;
    assert!(
        to_server <= 4,
        "{to_server} of {} season listings reached the server",
        seasons.len()
    );
    // The owner's count and the user's of the section's episodes, and the user's play state
    // in it; each other library would add two counts per kind it holds.
    let counts = requests_on(&r, "/all") - listings;
    assert!(
        counts <= 3,
        "{counts} listing requests to prove one show section whole"
    );
}

/// An episode edited through the gateway: until the keeper has read it again (none runs
/// here), its season's children are the server's, not the copy's — the copy may be behind.
#[tokio::test]
async fn a_season_with_an_item_written_through_the_gateway_is_the_servers() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let seasons = keys(&r, "/library/sections/3/all?type=3").await;
    // Prove the frame on the first seasons: the next one is the copy's.
    for season in seasons.iter().take(3) {
        let path = format!("/library/metadata/{season}/children");
        get(&r, &r.proxy, &path, &owner, false).await;
    }
    let before = requests_on(&r, "children");
    let path = format!("/library/metadata/{}/children", seasons[3]);
    get(&r, &r.proxy, &path, &owner, false).await;
    assert_eq!(requests_on(&r, "children"), before, "proven: the copy's");

    let target = &seasons[5];
    let episodes = keys(&r, &format!("/library/metadata/{target}/children")).await;
    let handle = r.gateway.index("plex").unwrap();
    assert!(handle.note_write([episodes[0].as_str()]));
    let before = requests_on(&r, "children");
    let path = format!("/library/metadata/{target}/children");
    let (_, via) = get(&r, &r.proxy, &path, &owner, false).await;
    let (_, direct) = get(&r, &r.sim.base_url, &path, &owner, false).await;
    assert_eq!(via, direct);
    assert_eq!(
        requests_on(&r, "children") - before,
        2,
        "the gateway's read and the direct one"
    );
}

async fn get_as(base: &str, path: &str, token: &str, json: bool) -> (u16, String) {
    let resp = request(base, path, token, json).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A GET of `path` from `base` as `token`, in JSON (`json`) or the server's XML.
fn request(base: &str, path: &str, token: &str, json: bool) -> reqwest::RequestBuilder {
    let rb = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("X-Plex-Token", token)
        .header("X-Plex-Client-Identifier", "walk-tests");
    if json {
        rb.header("Accept", "application/json")
    } else {
        rb
    }
}

/// After its crawl the gateway learns the frames of the walks tools start with (a show
/// section's seasons' episodes, a movie section's first pages as Overseerr pages it) from a
/// few reads of its own, and keeps them beside the snapshot. Restarted on that data
/// directory, with nothing cached, it answers each user's first walks from the copy — the
/// owner's season walk and movie pages reach the server not once — and every answer is the
/// server's own for that user, in XML and JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_gateway_answers_first_walks_with_the_frames_it_kept() {
    use cachearr_copy::upstream_index::status::IndexState;
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let (served, _data) = sim_gateway::restarted_after_probes(&sim, |_| {}, |b| b).await;
    let status = served.gateway.index("plex").unwrap().status();
    assert_eq!(status.state, IndexState::Ready, "loaded from the snapshot");
    assert!(status.copy.shapes_proven >= 3, "{:?}", status.copy);

    let owner = sim.token.clone();
    let (_, listing) = get_as(
        &sim.base_url,
        "/library/sections/3/all?type=3",
        &owner,
        true,
    )
    .await;
    let doc: Value = serde_json::from_str(&listing).unwrap();
    let seasons: Vec<String> = doc["MediaContainer"]["Metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ratingKey"].as_str().unwrap().to_string())
        .collect();
    assert!(seasons.len() >= 4, "{}", seasons.len());
    let on = |part: &str| sim_gateway::requests_on(&sim, part);
    let (children, listings) = (on("children"), on("/all"));
    for season in &seasons {
        let path = format!("/library/metadata/{season}/children");
        let (status, _) = get_as(&served.proxy, &path, &owner, true).await;
        assert_eq!(status, 200);
    }
    for start in [0, 10, 20] {
        let path = format!(
            "/library/sections/2/all?includeGuids=1&X-Plex-Container-Start={start}&X-Plex-Container-Size=10"
        );
        let (status, _) = get_as(&served.proxy, &path, &owner, true).await;
        assert_eq!(status, 200);
    }
    assert_eq!(on("children"), children, "every season from the copy");
    // What the copy reads for its answers: the owner's play state of the episodes and of
    // the movies (two listings each); no page.
    assert!(on("/all") - listings <= 4, "{}", on("/all") - listings);

    let users: Vec<String> = {
        let state = sim.sim.state();
        state.users().iter().map(|u| u.plex_token.clone()).collect()
    };
    for token in &users {
        for json in [true, false] {
            for season in &seasons {
                let path = format!("/library/metadata/{season}/children");
                let (status, via) = get_as(&served.proxy, &path, token, json).await;
                let (direct_status, direct) = get_as(&sim.base_url, &path, token, json).await;
                assert_eq!(status, direct_status, "{path} json={json}");
                sim_gateway::assert_same_answer(&via, &direct, &format!("{path} json={json}"));
            }
            let path = "/library/sections/2/all?includeGuids=1&X-Plex-Container-Start=0&X-Plex-Container-Size=25";
            let (status, via) = get_as(&served.proxy, path, token, json).await;
            let (direct_status, direct) = get_as(&sim.base_url, path, token, json).await;
            assert_eq!(status, direct_status, "{path} json={json}");
            sim_gateway::assert_same_answer(&via, &direct, &format!("{path} json={json}"));
        }
    }
    drop(served.stop);
    served.task.await.unwrap();
}

/// python-plexapi's `section.all()` — a movie section in XML with `type=1` and `Guid`s, paged
/// by headers (Kometa lists its films so, in pages of 100) — is the copy's from its first page
/// on a gateway restarted on its probed frames: a two-page listing never proves a frame of its
/// own (its last page is not learnt from), so without the probe its pages reach the server
/// at every pass. Every page is the server's own for the owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sections_xml_listing_is_the_copys_from_its_first_page() {
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let (served, _data) = sim_gateway::restarted_after_probes(&sim, |_| {}, |b| b).await;
    let owner = sim.token.clone();
    let path = "/library/sections/2/all?includeGuids=1&type=1";
    let paged = |base: &str, start: u32| {
        request(base, path, &owner, false)
            .header("X-Plex-Container-Start", start.to_string())
            .header("X-Plex-Container-Size", "10")
    };
    let listings = sim_gateway::requests_on(&sim, "/all");
    let mut came = Vec::new();
    for start in [0, 10] {
        let via = paged(&served.proxy, start).send().await.unwrap();
        assert_eq!(via.status(), 200);
        let status = via.headers()["cache-status"].to_str().unwrap().to_owned();
        let via = via.text().await.unwrap();
        let direct = paged(&sim.base_url, start).send().await.unwrap();
        let direct = direct.text().await.unwrap();
        sim_gateway::assert_same_answer(&via, &direct, &format!("{path} from {start}"));
        came.push(status.ends_with("detail=copy"));
    }
    assert_eq!(came, [true, true], "both pages the copy's");
    // The owner's play state of the movies, read once for both pages (two lists at most);
    // the direct reads above are two more.
    let read = sim_gateway::requests_on(&sim, "/all") - listings;
    assert!(read <= 2 + 2, "{read}");
    drop(served.stop);
    served.task.await.unwrap();
}

/// The Plex token of a shared user who sees every section unfiltered.
fn unrestricted_shared_token(sim: &cachearr_sim::TestServer) -> String {
    let state = sim.sim.state();
    let user = state.users().iter().find(|u| {
        !u.is_owner
            && !u.home
            && u.sections.is_none()
            && u.restrictions.plex_filter(SectionKind::Movies).is_none()
    });
    user.expect("an unrestricted shared user")
        .plex_token
        .clone()
}

/// How many times the simulated server was asked its sections list.
fn sections_read_on(sim: &cachearr_sim::TestServer) -> u64 {
    let stats = sim.sim.stats();
    stats
        .routes
        .get("GET /library/sections")
        .map_or(0, |r| r.requests)
}

/// A tool that reads the user's sections in the server's XML before its listing (python-plexapi
/// does, first thing) spares the copy its own read of them in JSON: for a user none of whose
/// answers are cached, the sections list reaches the server once, the tool's, and the listing
/// is the copy's all the same, the server's own for that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sections_a_tool_read_in_xml_are_the_copys_too() {
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let (served, _data) = sim_gateway::restarted_after_probes(&sim, |_| {}, |b| b).await;
    // A user who sees every section unfiltered (the owner's sections were read by the probes).
    let token = unrestricted_shared_token(&sim);
    let sections_read = || sections_read_on(&sim);
    let before = sections_read();
    let (status, _) = get_as(&served.proxy, "/library/sections", &token, false).await;
    assert_eq!(status, 200);
    let page = "/library/sections/2/all?includeGuids=1&type=1\
                &X-Plex-Container-Start=0&X-Plex-Container-Size=10";
    assert!(
        from_copy(&served.proxy, &sim.base_url, page, &token, false).await,
        "the listing is the copy's"
    );
    assert_eq!(
        sections_read() - before,
        1,
        "the tool's read, none of the copy's"
    );
    drop(served.stop);
    served.task.await.unwrap();
}

/// How a page came through the gateway: the server's answer, the copy's, or a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Came {
    Server,
    Copy,
    Hit,
}

/// Sends `request` to the gateway: how its answer came (the server's when the simulator's
/// requests on routes containing `route` grew while it was read; else the copy's or a hit,
/// as its `Cache-Status` says) and its body.
async fn came_through(
    r: &Running,
    route: &str,
    request: reqwest::RequestBuilder,
) -> (Came, String) {
    let server_before = requests_on(r, route);
    let resp = request.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let status = resp.headers()["cache-status"].to_str().unwrap().to_owned();
    let via = resp.text().await.unwrap();
    let came = if requests_on(r, route) > server_before {
        Came::Server
    } else if status.ends_with("detail=copy") {
        Came::Copy
    } else {
        assert!(status.starts_with("cachearr; hit"), "{status}");
        Came::Hit
    };
    (came, via)
}

/// A walk the copy took over and wrote ahead of: at least two reads the copy's before the
/// first hit, then hits only, at least `hits` of them. Gives where the hits start.
fn written_ahead(came: &[Came], hits: usize) -> usize {
    let first_hit = came.iter().position(|c| *c == Came::Hit);
    let first_hit = first_hit.unwrap_or_else(|| panic!("nothing written ahead: {came:?}"));
    let by_copy = came[..first_hit].iter().filter(|c| **c == Came::Copy);
    assert!(by_copy.count() >= 2, "{came:?}");
    assert!(
        came[first_hit..].iter().all(|c| *c == Came::Hit),
        "once ahead, every read is a hit: {came:?}"
    );
    assert!(came.len() - first_hit >= hits, "{came:?}");
    first_hit
}

/// A tool paging through a section's tracks — by the query (PlexKodiConnect) or by headers
/// (python-plexapi's `fetchItems`) — gets its pages from the copy, and once two were the
/// copy's, the next pages come as cache hits the copy wrote ahead: every page is the server's
/// for that user, and the server is not asked for any page after the copy took the walk over.
#[tokio::test]
async fn a_walks_next_pages_are_written_ahead_by_the_copy() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let tracks = keys(&r, "/library/sections/1/all?type=10").await.len();
    let size = 10;
    assert!(tracks >= 12 * size, "{tracks} tracks");
    for by_headers in [false, true] {
        let mut came = Vec::new();
        let mut by_server = 0u64;
        for start in (0..tracks).step_by(size) {
            let page = format!("X-Plex-Container-Start={start}&X-Plex-Container-Size={size}");
            let path = if by_headers {
                "/library/sections/1/all?type=10&includeGuids=1".to_string()
            } else {
                format!("/library/sections/1/all?type=10&{page}")
            };
            let read = |base: &str| {
                let mut rb = r
                    .client
                    .get(format!("{base}{path}"))
                    .header("X-Plex-Token", &owner)
                    .header("Accept", "application/json");
                if by_headers {
                    rb = rb
                        .header("X-Plex-Container-Start", start.to_string())
                        .header("X-Plex-Container-Size", size.to_string());
                }
                rb
            };
            let (how, via) = came_through(&r, "/all", read(&r.proxy)).await;
            by_server += u64::from(how == Came::Server);
            came.push(how);
            let direct = cachearr_testkit::http::text_answer(read(&r.sim.base_url)).await;
            sim_gateway::assert_same_answer(&via, &direct, &format!("{path} at {start}"));
        }
        // The copy takes the walk over, writes ahead from its second page, and stays ahead.
        let first_hit = written_ahead(&came, 6);
        // A page counts as a hit only when the server saw no request while it was read: the
        // pages written ahead asked the server nothing.
        let written = r.gateway.batcher().report().pages_written_ahead;
        assert!(written >= (came.len() - first_hit) as u64, "{written}");
        assert!(by_server < came.len() as u64 / 2, "{came:?}");
    }
}

/// Pages read far apart are no walk: nothing is written ahead of them. Once the owner's walk
/// has proven the listing's frame, another user reads three pages far apart — each the
/// copy's own answer — and then the page after the last: had any of the three started a
/// walk, that page would have been written ahead and read as a hit.
#[tokio::test]
async fn pages_read_apart_are_not_written_ahead() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let alice = token(&r, "alice");
    let tracks = keys(&r, "/library/sections/1/all?type=10").await.len();
    let size = 10;
    assert!(tracks >= 45 * size, "{tracks} tracks");
    let request = |token: &str, start: usize| {
        r.client
            .get(format!(
                "{}/library/sections/1/all?type=10&X-Plex-Container-Start={start}&X-Plex-Container-Size={size}",
                r.proxy
            ))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json")
    };
    // The owner's walk proves the frame (its own pages written ahead are the owner's).
    let mut walked = Vec::new();
    for start in (0..6 * size).step_by(size) {
        walked.push(came_through(&r, "/all", request(&owner, start)).await.0);
    }
    assert!(walked.contains(&Came::Copy), "{walked:?}");
    let mut apart = Vec::new();
    for start in [30 * size, 15 * size, 40 * size, 41 * size] {
        apart.push(came_through(&r, "/all", request(&alice, start)).await.0);
    }
    // Alice's first read also has the copy prove she sees the section whole (counts the
    // server answers): it may count as the server's. The others are the copy's own.
    let copies = apart.iter().filter(|c| **c == Came::Copy).count();
    assert!(copies >= 3, "{apart:?}");
    assert!(!apart.contains(&Came::Hit), "none written ahead: {apart:?}");
}

/// A tool listing a section's albums and then reading each album's tracks in that order gets
/// the tracks from the copy, and once two albums' were the copy's, the next albums' tracks
/// come as hits the copy wrote ahead: every answer is the server's for that user, and the
/// server saw no request while any of those hits was read.
#[tokio::test]
async fn an_albums_next_albums_tracks_are_written_ahead_by_the_copy() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let listing = "/library/sections/1/all?type=9";
    let (status, body) = get(&r, &r.proxy, listing, &owner, true).await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    let albums: Vec<String> = doc["MediaContainer"]["Metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ratingKey"].as_str().unwrap().to_owned())
        .collect();
    assert!(albums.len() >= 12, "{} albums", albums.len());
    let mut came = Vec::new();
    for album in &albums {
        let path = format!("/library/metadata/{album}/children");
        let request = r
            .client
            .get(format!("{}{path}", r.proxy))
            .header("X-Plex-Token", &owner)
            .header("Accept", "application/json");
        let (how, via) = came_through(&r, "children", request).await;
        came.push(how);
        let (_, direct) = get(&r, &r.sim.base_url, &path, &owner, true).await;
        sim_gateway::assert_same_answer(&via, &direct, &path);
    }
    written_ahead(&came, 6);
}

/// A page written ahead of a walk, then changed by a write made through the gateway (the
/// user plays a track on it), is read as the server now answers it, not as it was written.
#[tokio::test]
async fn a_page_written_ahead_and_then_played_is_the_servers() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let size = 10;
    let page = |start: usize| {
        format!(
            "/library/sections/1/all?type=10&X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"
        )
    };
    let request = |start: usize| {
        r.client
            .get(format!("{}{}", r.proxy, page(start)))
            .header("X-Plex-Token", &owner)
            .header("Accept", "application/json")
    };
    // Walk until the copy has answered two pages: the two after the second are written ahead.
    let mut copies = 0;
    let mut start = 0;
    while copies < 2 {
        let (came, _) = came_through(&r, "/all", request(start)).await;
        copies += usize::from(came == Came::Copy);
        start += size;
        assert!(start < 20 * size, "the copy never took the walk over");
    }
    cachearr_testkit::eventually(
        "the two pages written ahead",
        std::time::Duration::from_secs(10),
        async || r.gateway.batcher().report().pages_written_ahead >= 2,
    )
    .await;
    // A track of the second page written ahead, played through the gateway.
    let ahead = start + size;
    let (_, before) = get(&r, &r.sim.base_url, &page(ahead), &owner, true).await;
    let doc: Value = serde_json::from_str(&before).unwrap();
    let track = doc["MediaContainer"]["Metadata"][0]["ratingKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let scrobble = format!("/:/scrobble?key={track}&identifier=com.plexapp.plugins.library");
    let (status, _) = get(&r, &r.proxy, &scrobble, &owner, false).await;
    assert_eq!(status, 200);
    for at in [start, ahead] {
        let (_, via) = get(&r, &r.proxy, &page(at), &owner, true).await;
        let (_, direct) = get(&r, &r.sim.base_url, &page(at), &owner, true).await;
        sim_gateway::assert_same_answer(&via, &direct, &page(at));
        if at == ahead {
            assert_ne!(direct, before, "the play shows on the page");
        }
    }
}

/// `cachearr_copy_declined_total` of one reason, from `/metrics`.
async fn declined_in_metrics(r: &Running, reason: &str) -> u64 {
    let text = r
        .client
        .get(format!("{}/metrics", r.admin))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(r#"cachearr_copy_declined_total{{upstream="plex",reason="{reason}"}} "#);
    // Read at scrape time, the count is written as a float.
    text.lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .map_or(0, |n| n.trim().parse::<f64>().unwrap() as u64)
}

/// A walk the copy leaves to the server says why: a user's first miss of a season's
/// children (cheaper at the server than the reads the copy needs) is counted as
/// `first_misses` in `/metrics` and in `/api/index`; and once an episode was written
/// through the gateway, the season walks that follow are counted as `item_changed`.
#[tokio::test]
async fn a_walk_the_copy_declines_is_counted_with_its_reason() {
    let r = start().await;
    let owner = r.sim.token.clone();
    let seasons = keys(&r, "/library/sections/3/all?type=3").await;
    assert_eq!(declined_in_metrics(&r, "first_misses").await, 0);
    let path = format!("/library/metadata/{}/children", seasons[0]);
    let (status, _) = get(&r, &r.proxy, &path, &owner, true).await;
    assert_eq!(status, 200);
    assert_eq!(declined_in_metrics(&r, "first_misses").await, 1);
    let api = cachearr_testkit::http::get_json(&r.client, &format!("{}/api/index", r.admin)).await;
    assert_eq!(api["upstreams"][0]["declined"]["first_misses"], 1, "{api}");
    assert_eq!(declined_in_metrics(&r, "item_changed").await, 0);

    // An episode of another season written through the gateway: the copy is behind until
    // the keeper reads it again (none runs here).
    let episodes = keys(&r, &format!("/library/metadata/{}/children", seasons[1])).await;
    let handle = r.gateway.index("plex").unwrap();
    assert!(handle.note_write([episodes[0].as_str()]));
    let path = format!("/library/metadata/{}/children", seasons[2]);
    let (status, _) = get(&r, &r.proxy, &path, &owner, true).await;
    assert_eq!(status, 200);
    assert_eq!(declined_in_metrics(&r, "item_changed").await, 1);
    assert_eq!(declined_in_metrics(&r, "first_misses").await, 1);
}

/// A gateway whose copy holds one artist's albums with their years set so that the copy
/// writes them last to first, where the server lists them as it made them (by rating key,
/// as every other artist's albums stand both by year and by rating key); the items
/// themselves are the server's (their kept elements). That artist, and the others with
/// albums, in the music section's order.
async fn start_with_albums_reordered() -> (Running, String, Vec<String>) {
    let mut reordered = String::new();
    let r = start_with_records(|records| {
        let mut albums: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for record in records.iter().filter(|r| r.kind == ItemKind::Album) {
            let artist = record.parent_id.clone().unwrap();
            albums
                .entry(artist)
                .or_default()
                .push(record.id.parse().unwrap());
        }
        let (artist, ids) = (albums.iter())
            .filter(|(_, ids)| ids.len() >= 3)
            .max_by_key(|(_, ids)| ids.len())
            .unwrap();
        reordered = artist.clone();
        // The first made the newest.
        for record in records.iter_mut() {
            if let Some(at) = ids.iter().position(|id| record.id == id.to_string()) {
                record.year = Some(2020 - u16::try_from(at).unwrap());
            }
        }
    })
    .await;
    let others: Vec<String> = keys(&r, "/library/sections/1/all?type=8")
        .await
        .into_iter()
        .filter(|a| *a != reordered)
        .collect();
    (r, reordered, others)
}

/// Walks the owner through the children of `artists`, each the server's answer for them,
/// until the copy answers one (its albums' shape proven on those before); that artist.
async fn albums_until_copied(r: &Running, artists: &[String]) -> Option<String> {
    let owner = r.sim.token.clone();
    for artist in artists {
        let path = format!("/library/metadata/{artist}/children");
        if from_copy(&r.proxy, &r.sim.base_url, &path, &owner, true).await {
            return Some(artist.clone());
        }
    }
    None
}

/// The proven artists' albums stand alike by year and by rating key, so their proofs cannot
/// tell a server listing an artist's albums by year from one listing them as it made them;
/// an artist whose albums those two orders put otherwise is then the server's to answer,
/// not the copy's in year order (and the server's answer, unlike the copy's, refuses the
/// shape).
#[tokio::test]
async fn albums_in_an_order_the_proofs_did_not_settle_are_the_servers() {
    let (r, reordered, others) = start_with_albums_reordered().await;
    let copied = albums_until_copied(&r, &others).await;
    assert!(copied.is_some(), "the copy answers an artist's albums");
    let path = format!("/library/metadata/{reordered}/children");
    // (`from_copy` compares the gateway's answer with the server's.)
    let by_copy = from_copy(&r.proxy, &r.sim.base_url, &path, &r.sim.token, true).await;
    assert!(!by_copy, "{path}: the server's answer");
}

/// An answer the copy wrote and the cache keeps stops being served once its shape is
/// refused: the copy no longer trusts how it writes that shape, and the cache must not keep
/// giving what it wrote before. Here the shape is refused on an artist whose albums the
/// server lists otherwise than the copy would.
#[tokio::test]
async fn a_refused_shapes_answers_from_the_copy_are_not_served_again() {
    let (r, reordered, others) = start_with_albums_reordered().await;
    let owner = r.sim.token.clone();
    let copied = albums_until_copied(&r, &others).await.unwrap();
    let copied = format!("/library/metadata/{copied}/children");
    let before = requests_on(&r, "children");
    get(&r, &r.proxy, &copied, &owner, true).await;
    assert_eq!(requests_on(&r, "children"), before, "{copied} is cached");
    let path = format!("/library/metadata/{reordered}/children");
    from_copy(&r.proxy, &r.sim.base_url, &path, &owner, true).await;
    let handle = r.gateway.index("plex").unwrap();
    cachearr_testkit::eventually(
        "the server's answer refuses the shape",
        std::time::Duration::from_secs(10),
        async || handle.status().copy.shapes_refused == 1,
    )
    .await;
    let before = requests_on(&r, "children");
    cachearr_testkit::eventually(
        "the copy's answer kept in the cache is dropped",
        std::time::Duration::from_secs(10),
        async || {
            let (status, _) = get(&r, &r.proxy, &copied, &owner, true).await;
            assert_eq!(status, 200);
            requests_on(&r, "children") > before
        },
    )
    .await;
}

/// Films of one title, which the server lists by year where another order would list them
/// by rating key, are where the crawl's probes prove a movie section's order: the listing's
/// second probe page is read from where the orders part. Restarted on its probed frames, a
/// gateway then answers an Overseerr-style walk of the films from the copy — the pages
/// holding such films included, which the crawl's first pages did not tell apart and every
/// user's first pass sent to the server — each page the server's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn films_of_one_title_are_the_copys_from_a_first_pass() {
    let sim = cachearr_sim::Sim::builder()
        .tracks(60)
        .movies(200)
        .shows(2)
        .seed(4)
        .cost(cachearr_sim::cost::CostModel::zero())
        .build()
        .unwrap();
    let server = sim.start_plex_test_server().await.unwrap();
    let (served, _data) = sim_gateway::restarted_after_probes(&server, |_| {}, |b| b).await;
    let owner = server.token.clone();
    let listing = "/library/sections/2/all?includeGuids=1";
    let (_, all) = get_as(&server.base_url, listing, &owner, true).await;
    let doc: Value = serde_json::from_str(&all).unwrap();
    let titles: Vec<&str> = (doc["MediaContainer"]["Metadata"].as_array().unwrap().iter())
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    let twice = (titles.iter().enumerate()).any(|(at, title)| titles[..at].contains(title));
    assert!(twice, "two films of one title");
    let listings = sim_gateway::requests_on(&server, "/all");
    let mut pages = Vec::new();
    for start in (0..titles.len()).step_by(50) {
        let path = format!("{listing}&X-Plex-Container-Start={start}&X-Plex-Container-Size=50");
        let (status, via) = get_as(&served.proxy, &path, &owner, true).await;
        pages.push((path, status, via));
    }
    // What the copy reads for its answers: the owner's play state of the films (two lists).
    let read = sim_gateway::requests_on(&server, "/all") - listings;
    for (path, status, via) in pages {
        let (direct_status, direct) = get_as(&server.base_url, &path, &owner, true).await;
        assert_eq!(status, direct_status, "{path}");
        sim_gateway::assert_same_answer(&via, &direct, &path);
    }
    assert!(read <= 2, "{read} server reads for the walk");
    drop(served.stop);
    served.task.await.unwrap();
}

/// A tool whose first reads the copy answers before it reads the user's sections in the
/// server's XML (Tautulli: the recently-added lists, then the sections) finds the copy's read
/// of them in the cache: for a user none of whose answers are cached, the sections list
/// reaches the server once, the copy's, and the tool's read of it is that answer, the server's
/// own for that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sections_the_copy_read_first_are_the_tools_too() {
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    let (served, _data) = sim_gateway::restarted_after_probes(&sim, |_| {}, |b| b).await;
    // A user who sees every section unfiltered (the owner's sections were read by the probes).
    let token = unrestricted_shared_token(&sim);
    let sections_read = || sections_read_on(&sim);
    // The user's tool has made a request before, as in a poller's rounds.
    let (status, _) = get_as(&served.proxy, "/activities", &token, false).await;
    assert_eq!(status, 200);
    let before = sections_read();
    let page = "/library/sections/2/all?includeGuids=1&type=1\
                &X-Plex-Container-Start=0&X-Plex-Container-Size=10";
    assert!(
        from_copy(&served.proxy, &sim.base_url, page, &token, false).await,
        "the listing is the copy's"
    );
    let resp = request(&served.proxy, "/library/sections", &token, false)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let status = resp.headers()["cache-status"].to_str().unwrap().to_owned();
    let via = resp.text().await.unwrap();
    assert_eq!(
        sections_read() - before,
        1,
        "the copy's read, none of the tool's ({status})"
    );
    let (_, direct) = get_as(&sim.base_url, "/library/sections", &token, false).await;
    sim_gateway::assert_same_answer(&via, &direct, "/library/sections");
    drop(served.stop);
    served.task.await.unwrap();
}
