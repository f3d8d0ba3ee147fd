//! A section walk through the gateway (a listing page, then each of its items' metadata one
//! request at a time, as Overseerr's scan and Kometa do): after the page and two of its items,
//! the rest of the page comes from the server in one `/library/metadata/{id},{id},…` request,
//! and every answer the client gets is still, byte for byte, the server's answer to that single
//! request. Real HTTP over loopback against the simulator.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use cachearr_sim::library::ItemKind;
use sim_gateway::Running;

const METADATA: &str = "GET /library/metadata/{ids}";
const LISTING: &str = "GET /library/sections/{id}/all";
const PAGE: usize = 20;

async fn start() -> Running {
    // No index build or change feed requests in the counts: only what the walk causes.
    sim_gateway::start(|config| config.index.enabled = false).await
}

/// What this module's tests do through the fixture's gateway.
trait WalkRequests {
    fn requests(&self, route: &str) -> u64;
    fn movies(&self) -> u32;
    async fn fetch(
        &self,
        base: &str,
        path: &str,
        token: &str,
        json: bool,
    ) -> (u16, String, Vec<u8>);
    async fn page(&self, start: usize, token: &str, json: bool) -> Vec<String>;
    async fn items(&self, ids: &[String], token: &str, json: bool) -> Vec<(String, Vec<u8>)>;
    async fn assert_servers_answers(
        &self,
        ids: &[String],
        got: &[(String, Vec<u8>)],
        token: &str,
        json: bool,
    );
}

impl WalkRequests for Running {
    /// Server requests so far on `route`.
    fn requests(&self, route: &str) -> u64 {
        self.sim
            .sim
            .stats()
            .routes
            .get(route)
            .map_or(0, |r| r.requests)
    }

    /// The movies section's id.
    fn movies(&self) -> u32 {
        let library = self.sim.sim.library();
        library
            .sections()
            .iter()
            .find(|s| !s.items(ItemKind::Movie).is_empty())
            .unwrap()
            .id
    }

    /// `GET path` from `base` with `token` (JSON when `json`): status, `X-Cache`, body.
    async fn fetch(
        &self,
        base: &str,
        path: &str,
        token: &str,
        json: bool,
    ) -> (u16, String, Vec<u8>) {
        let mut request = self
            .client
            .get(format!("{base}{path}"))
            .header("X-Plex-Token", token);
        if json {
            request = request.header("Accept", "application/json");
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let x_cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, x_cache, response.bytes().await.unwrap().to_vec())
    }

    /// The ratingKeys of a listing page read through the gateway.
    async fn page(&self, start: usize, token: &str, json: bool) -> Vec<String> {
        let path = format!(
            "/library/sections/{}/all?X-Plex-Container-Start={start}&X-Plex-Container-Size={PAGE}",
            self.movies()
        );
        let (status, _, body) = self.fetch(&self.proxy, &path, token, json).await;
        assert_eq!(status, 200);
        let text = String::from_utf8(body).unwrap();
        let needle = if json {
            "\"ratingKey\":\""
        } else {
            " ratingKey=\""
        };
        text.match_indices(needle)
            .map(|(at, _)| {
                let rest = &text[at + needle.len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
            .collect()
    }

    /// Reads each item's metadata through the gateway, one request each: (X-Cache, body).
    async fn items(&self, ids: &[String], token: &str, json: bool) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for id in ids {
            let (status, x_cache, body) = self
                .fetch(&self.proxy, &format!("/library/metadata/{id}"), token, json)
                .await;
            assert_eq!(status, 200, "{id}");
            out.push((x_cache, body));
        }
        out
    }

    /// Asserts each answer is the server's own single answer now (asked directly).
    async fn assert_servers_answers(
        &self,
        ids: &[String],
        got: &[(String, Vec<u8>)],
        token: &str,
        json: bool,
    ) {
        for (id, (_, body)) in ids.iter().zip(got) {
            let (status, _, direct) = self
                .fetch(
                    &self.sim.base_url,
                    &format!("/library/metadata/{id}"),
                    token,
                    json,
                )
                .await;
            assert_eq!(status, 200);
            assert!(
                *body == direct,
                "item {id}: the gateway's answer is not the server's single answer\n{}\n---\n{}",
                String::from_utf8_lossy(body),
                String::from_utf8_lossy(&direct)
            );
        }
    }
}

async fn walk_is_batched(json: bool) {
    let gw = start().await;
    let token = gw.sim.token.clone();
    let (metadata, listing) = (gw.requests(METADATA), gw.requests(LISTING));
    let ids = gw.page(0, &token, json).await;
    assert_eq!(ids.len(), PAGE);
    let got = gw.items(&ids, &token, json).await;
    // The page, two single items, one batch of the other eighteen.
    assert_eq!(gw.requests(LISTING) - listing, 1);
    assert_eq!(
        gw.requests(METADATA) - metadata,
        3,
        "two singles and one batch"
    );
    let stats = &gw.gateway.batcher().stats;
    assert_eq!(stats.batches.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(
        stats
            .parts_stored
            .load(std::sync::atomic::Ordering::Relaxed),
        PAGE as u64 - 2
    );
    assert!(
        got[2..].iter().all(|(x, _)| x == "HIT"),
        "the items after the second come from the batch"
    );
    gw.assert_servers_answers(&ids, &got, &token, json).await;
    let shown = gw.stats().await;
    assert_eq!(shown["batches"]["batches"], 1, "{}", shown["batches"]);
    assert_eq!(shown["batches"]["parts_stored"], PAGE as u64 - 2);
}

#[tokio::test]
async fn an_xml_walk_is_batched_and_every_answer_is_the_servers_single_answer() {
    walk_is_batched(false).await;
}

#[tokio::test]
async fn a_json_walk_is_batched_and_every_answer_is_the_servers_single_answer() {
    walk_is_batched(true).await;
}

#[tokio::test]
async fn two_users_never_share_a_batchs_parts() {
    let gw = start().await;
    let owner = gw.sim.token.clone();
    let other = {
        let state = gw.sim.sim.state();
        state
            .users()
            .iter()
            .find(|u| !u.is_owner && u.sections.is_none() && !u.home)
            .map(|u| (u.id, u.plex_token.clone()))
            .unwrap()
    };
    let ids = gw.page(0, &owner, true).await;
    // The other user has played the fifth movie: their answer for it differs from the owner's.
    let played: u32 = ids[4].parse().unwrap();
    gw.sim.sim.scrobble(other.0, played);
    let owners = gw.items(&ids, &owner, true).await;
    let before = gw.requests(METADATA);
    let others = gw.items(&ids, &other.1, true).await;
    assert_eq!(
        gw.requests(METADATA) - before,
        PAGE as u64,
        "the other user's single reads are their own (no page read: no batch of theirs)"
    );
    assert!(others.iter().all(|(x, _)| x != "HIT"));
    assert_ne!(
        owners[4].1, others[4].1,
        "the play shows in the other user's answer"
    );
    gw.assert_servers_answers(&ids, &others, &other.1, true)
        .await;
    gw.assert_servers_answers(&ids, &owners, &owner, true).await;
}

#[tokio::test]
async fn a_failed_proof_turns_batching_off() {
    let gw = start().await;
    gw.sim.sim.lean_batches(true);
    let token = gw.sim.token.clone();
    let before = gw.requests(METADATA);
    let ids = gw.page(0, &token, false).await;
    let got = gw.items(&ids, &token, false).await;
    assert_eq!(
        gw.requests(METADATA) - before,
        PAGE as u64 + 1,
        "one batch tried, nothing of it used"
    );
    assert!(gw.gateway.batcher().refused("plex", false));
    let stats = &gw.gateway.batcher().stats;
    assert_eq!(
        stats
            .parts_stored
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    gw.assert_servers_answers(&ids, &got, &token, false).await;
    // The next page: no batch at all.
    let before = gw.requests(METADATA);
    let ids = gw.page(PAGE, &token, false).await;
    let got = gw.items(&ids, &token, false).await;
    assert_eq!(gw.requests(METADATA) - before, ids.len() as u64);
    assert_eq!(stats.batches.load(std::sync::atomic::Ordering::Relaxed), 1);
    gw.assert_servers_answers(&ids, &got, &token, false).await;
}

#[tokio::test]
async fn a_page_only_client_causes_no_extra_server_requests() {
    let gw = start().await;
    let token = gw.sim.token.clone();
    let (metadata, listing) = (gw.requests(METADATA), gw.requests(LISTING));
    let first = gw.page(0, &token, true).await;
    gw.page(PAGE, &token, true).await;
    // One item opened from the first page: still no batch.
    gw.items(&first[..1], &token, true).await;
    assert_eq!(gw.requests(LISTING) - listing, 2);
    assert_eq!(gw.requests(METADATA) - metadata, 1);
    assert_eq!(
        gw.gateway
            .batcher()
            .stats
            .batches
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

/// The server's settings and a section's are the owner's: Plex answers anyone else's token
/// there with a 401, as it answers an unknown one. Such a 401 must not be read as a refused
/// token: Kometa reads them first and then walks each library, and a token taken as refused
/// would send the walk's page past the cache, unremembered, so nothing of it is batched.
#[tokio::test]
async fn a_shared_users_refused_settings_read_leaves_their_walk_cached_and_batched() {
    let gw = start().await;
    let shared = {
        let state = gw.sim.sim.state();
        state
            .users()
            .iter()
            .find(|u| !u.is_owner && u.sections.is_none() && !u.home)
            .map(|u| u.plex_token.clone())
            .unwrap()
    };
    // Their token is known good (the sections list), then the settings are refused.
    let (status, _, _) = gw
        .fetch(&gw.proxy, "/library/sections", &shared, false)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = gw.fetch(&gw.proxy, "/:/prefs", &shared, false).await;
    assert_eq!(status, 401);
    let prefs = format!("/library/sections/{}/prefs", gw.movies());
    let (status, _, _) = gw.fetch(&gw.proxy, &prefs, &shared, false).await;
    assert_eq!(status, 401);
    let (metadata, listing) = (gw.requests(METADATA), gw.requests(LISTING));
    let ids = gw.page(0, &shared, false).await;
    let got = gw.items(&ids, &shared, false).await;
    assert_eq!(gw.requests(LISTING) - listing, 1);
    assert_eq!(
        gw.requests(METADATA) - metadata,
        3,
        "two singles and one batch"
    );
    assert!(got[2..].iter().all(|(x, _)| x == "HIT"));
    gw.assert_servers_answers(&ids, &got, &shared, false).await;
    // The page was cached for them, not passed by.
    let path = format!(
        "/library/sections/{}/all?X-Plex-Container-Start=0&X-Plex-Container-Size={PAGE}",
        gw.movies()
    );
    let (_, x_cache, _) = gw.fetch(&gw.proxy, &path, &shared, false).await;
    assert_eq!(x_cache, "HIT");
}

/// Overseerr reads a page's items all at once, so their reads reach the gateway in any order:
/// two items near each other in the page, the later one first, still start the batch of the
/// page's other items, and every answer is the server's single answer.
#[tokio::test]
async fn a_walk_read_out_of_order_is_batched() {
    let gw = start().await;
    let token = gw.sim.token.clone();
    let (metadata, listing) = (gw.requests(METADATA), gw.requests(LISTING));
    let ids = gw.page(0, &token, true).await;
    let mut order = ids.clone();
    order.swap(0, 1);
    let got = gw.items(&order, &token, true).await;
    assert_eq!(gw.requests(LISTING) - listing, 1);
    assert_eq!(
        gw.requests(METADATA) - metadata,
        3,
        "two singles and one batch"
    );
    assert!(got[2..].iter().all(|(x, _)| x == "HIT"));
    gw.assert_servers_answers(&order, &got, &token, true).await;
}

/// Overseerr reads a page's items all at once: the reads reaching the gateway while the first
/// two are on their way to the server wait for them, then for the batch their answers start,
/// instead of each going to the server; every answer is the server's single answer.
#[tokio::test]
async fn a_pages_items_read_all_at_once_wait_for_the_batch() {
    let gw = std::sync::Arc::new(start().await);
    let token = gw.sim.token.clone();
    let (metadata, listing) = (gw.requests(METADATA), gw.requests(LISTING));
    let ids = gw.page(0, &token, true).await;
    assert_eq!(ids.len(), PAGE);
    let reads = ids.iter().map(|id| {
        let (gw, token, id) = (gw.clone(), token.clone(), id.clone());
        tokio::spawn(async move {
            let path = format!("/library/metadata/{id}");
            let (status, x_cache, body) = gw.fetch(&gw.proxy, &path, &token, true).await;
            assert_eq!(status, 200, "{id}");
            (x_cache, body)
        })
    });
    let got: Vec<(String, Vec<u8>)> = futures_util::future::join_all(reads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(gw.requests(LISTING) - listing, 1);
    let to_server = gw.requests(METADATA) - metadata;
    assert!(
        to_server <= 5,
        "{to_server} metadata requests for a page of {PAGE} read at once"
    );
    gw.assert_servers_answers(&ids, &got, &token, true).await;
}

/// A playlist indexer's walk (Plexist): the whole library's tracks listed, then each track's
/// artist and album read in turn (`track.artist()`, `track.album()`). The page's artists and
/// its albums are walks of their own: after two of each read singly, the rest of each comes
/// in one batch, and every answer is the server's own single answer.
#[tokio::test]
async fn a_pages_artists_and_albums_read_in_turn_are_batched() {
    let gw = start().await;
    let token = gw.sim.token.clone();
    let path = "/library/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=300";
    let (status, _, body) = gw.fetch(&gw.proxy, path, &token, false).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let attr = |item: &str, name: &str| {
        let needle = format!(" {name}=\"");
        let at = item.find(&needle).unwrap() + needle.len();
        item[at..at + item[at..].find('"').unwrap()].to_owned()
    };
    let tracks: Vec<(String, String)> = text
        .split("<Track ")
        .skip(1)
        .map(|t| (attr(t, "grandparentRatingKey"), attr(t, "parentRatingKey")))
        .collect();
    assert!(tracks.len() >= 100, "{} tracks", tracks.len());
    let distinct = |pick: fn(&(String, String)) -> &String| {
        let mut seen = std::collections::BTreeSet::new();
        tracks
            .iter()
            .map(pick)
            .filter(|id| seen.insert(*id))
            .count()
    };
    let (artists, albums) = (distinct(|t| &t.0), distinct(|t| &t.1));
    assert!(
        artists > 3 && albums > 6,
        "{artists} artists, {albums} albums"
    );
    let before = gw.requests(METADATA);
    let mut read = Vec::new();
    for (artist, album) in &tracks {
        for id in [artist, album] {
            let got = gw.items(std::slice::from_ref(id), &token, false).await;
            read.push((id.clone(), got.into_iter().next().unwrap()));
        }
    }
    let asked = gw.requests(METADATA) - before;
    // Two artists and two albums singly, then one batch of each kind's rest.
    assert!(
        asked <= 6,
        "{asked} requests for {artists} artists and {albums} albums"
    );
    let stats = &gw.gateway.batcher().stats;
    assert_eq!(stats.batches.load(std::sync::atomic::Ordering::Relaxed), 2);
    let (ids, got): (Vec<String>, Vec<(String, Vec<u8>)>) = read.into_iter().unzip();
    gw.assert_servers_answers(&ids, &got, &token, false).await;
}

/// A tool reading through the gateway: the name it gives itself and the format it reads.
struct Tool {
    product: &'static str,
    json: bool,
}

/// What this module's tests do through the fixture's gateway.
trait ToolReads {
    async fn read_as(&self, tool: &Tool, path: &str, token: &str) -> (String, Vec<u8>);
}

impl ToolReads for Running {
    /// `GET path` through the gateway as `tool` (its `X-Plex-Product`, its `Accept`): the
    /// ratingKeys of a listing's answer, or nothing but a 200 for an item's.
    async fn read_as(&self, tool: &Tool, path: &str, token: &str) -> (String, Vec<u8>) {
        let mut request = self
            .client
            .get(format!("{}{path}", self.proxy))
            .header("X-Plex-Token", token)
            .header("X-Plex-Product", tool.product)
            .header("X-Plex-Client-Identifier", format!("{}-id", tool.product));
        if tool.json {
            request = request.header("Accept", "application/json");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let x_cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (x_cache, response.bytes().await.unwrap().to_vec())
    }
}

/// The ratingKeys of a listing answer, in its order.
fn rating_keys(body: &[u8], json: bool) -> Vec<String> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let needle = if json {
        "\"ratingKey\":\""
    } else {
        " ratingKey=\""
    };
    text.match_indices(needle)
        .map(|(at, _)| {
            let rest = &text[at + needle.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// Two tools of one user walking one section at the same time (Kometa reloading each item of
/// its pages in XML, Overseerr reading each item of its own listing, sorted otherwise, in
/// JSON), their reads interleaved one for one: the items are on both pages, the later page
/// being the other tool's, and each walk is still recognised in its own page and batched as
/// it is alone — two singles and one batch each — and every answer is the server's single
/// answer.
#[tokio::test]
async fn two_walks_of_one_user_interleaved_are_each_batched() {
    let gw = start().await;
    let token = gw.sim.token.clone();
    let kometa = Tool {
        product: "Kometa",
        json: false,
    };
    let overseerr = Tool {
        product: "Overseerr",
        json: true,
    };
    let section = gw.movies();
    let (metadata, listing) = (gw.requests(METADATA), gw.requests(LISTING));
    let page = format!("/library/sections/{section}/all?");
    let (_, body) = gw
        .read_as(
            &kometa,
            &format!("{page}X-Plex-Container-Start=0&X-Plex-Container-Size=20"),
            &token,
        )
        .await;
    let first = rating_keys(&body, kometa.json);
    let (_, body) = gw
        .read_as(
            &overseerr,
            &format!("{page}sort=titleSort&X-Plex-Container-Start=0&X-Plex-Container-Size=40"),
            &token,
        )
        .await;
    let second = rating_keys(&body, overseerr.json);
    assert_eq!(first.len(), 20);
    assert!(second.len() > first.len());
    assert!(first.iter().all(|id| second.contains(id)), "shared items");
    assert_ne!(first[..], second[..first.len()], "in another order");
    // Each read: who read which item, and what it got (`X-Cache`, body).
    let mut got = Vec::new();
    for at in 0..second.len() {
        for (tool, ids) in [(&kometa, &first), (&overseerr, &second)] {
            if let Some(id) = ids.get(at) {
                let answer = gw
                    .read_as(tool, &format!("/library/metadata/{id}"), &token)
                    .await;
                got.push((tool, id, answer));
            }
        }
    }
    assert_eq!(gw.requests(LISTING) - listing, 2);
    assert_eq!(
        gw.requests(METADATA) - metadata,
        6,
        "two singles and one batch for each walk"
    );
    let stats = &gw.gateway.batcher().stats;
    assert_eq!(stats.batches.load(std::sync::atomic::Ordering::Relaxed), 2);
    let misses = got
        .iter()
        .filter(|(_, _, (x_cache, _))| x_cache != "HIT")
        .count();
    assert_eq!(misses, 4, "every read after each walk's second is a hit");
    for (tool, id, (_, body)) in &got {
        gw.assert_servers_answers(
            std::slice::from_ref(*id),
            &[(String::new(), body.clone())],
            &token,
            tool.json,
        )
        .await;
    }
}
