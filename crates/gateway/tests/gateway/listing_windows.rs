//! A sync's walk of a long listing through the gateway (Jellyfin for Kodi reads a library's
//! songs in pages of 15, sorted by album artist): after two pages the next ones come from the
//! server in one request of many pages' items, cut into the pages the walk asks for, and every
//! page the client gets is still, byte for byte, the server's answer to that page's request —
//! for the owner, a shared user and a user whose share hides items. Real HTTP over loopback
//! against the simulator.
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use serde_json::Value;
use sim_gateway::Running;

const PAGE: usize = 15;

async fn start() -> Running {
    let sim = Sim::builder()
        .tracks(3000)
        .movies(20)
        .shows(2)
        .seed(5)
        .cost(CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    // No index crawl or change feed requests in the counts: only what the walk causes.
    sim_gateway::start_in_front_of(sim, Profile::Jellyfin, |config| {
        config.index.enabled = false;
    })
    .await
}

/// What this module's tests do through the fixture's gateway.
trait WindowRequests {
    fn user(&self, name: &str) -> (String, String);
    fn server_requests(&self) -> u64;
    async fn get(&self, base: &str, path: &str, token: &str) -> (u16, String);
    async fn library(&self, kind: &str) -> String;
    async fn walk(
        &self,
        name: &str,
        listing: &str,
        concurrent: usize,
    ) -> (Vec<(String, String)>, u64);
    async fn assert_servers_pages(&self, name: &str, pages: &[(String, String)]);
}

impl WindowRequests for Running {
    fn user(&self, name: &str) -> (String, String) {
        let state = self.sim.sim.state();
        let u = state.users().iter().find(|u| u.name == name).unwrap();
        (u.jellyfin_token.clone(), u.jellyfin_id.clone())
    }

    /// Server requests so far, every route.
    fn server_requests(&self) -> u64 {
        self.sim
            .sim
            .stats()
            .routes
            .values()
            .map(|r| r.requests)
            .sum()
    }

    async fn get(&self, base: &str, path: &str, token: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{base}{path}"))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// The id of the library of `kind` (`music`, `movies`).
    async fn library(&self, kind: &str) -> String {
        let (token, uid) = self.user("admin");
        let (_, views) = self
            .get(&self.sim.base_url, &format!("/Users/{uid}/Views"), &token)
            .await;
        let views: Value = serde_json::from_str(&views).unwrap();
        views["Items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["CollectionType"] == kind)
            .map(|v| v["Id"].as_str().unwrap().to_string())
            .unwrap()
    }

    /// Walks `listing` (a path and query without paging) page after page through the gateway
    /// as `name`, `concurrent` pages at a time as Jellyfin for Kodi does, until a page comes
    /// back empty (a page may hold fewer items than asked before the end when the server hides
    /// items after cutting it); gives each page's path and answer, and the server requests the
    /// walk cost.
    async fn walk(
        &self,
        name: &str,
        listing: &str,
        concurrent: usize,
    ) -> (Vec<(String, String)>, u64) {
        let (token, _) = self.user(name);
        let before = self.server_requests();
        let mut pages = Vec::new();
        let mut start = 0;
        'walk: loop {
            let paths: Vec<String> = (0..concurrent)
                .map(|k| format!("{listing}&StartIndex={}&Limit={PAGE}", start + k * PAGE))
                .collect();
            let answers = futures_util::future::join_all(
                paths.iter().map(|p| self.get(&self.proxy, p, &token)),
            )
            .await;
            for (path, (status, body)) in paths.into_iter().zip(answers) {
                assert_eq!(status, 200, "{path}");
                let items = serde_json::from_str::<Value>(&body).unwrap()["Items"]
                    .as_array()
                    .unwrap()
                    .len();
                pages.push((path, body));
                if items == 0 {
                    break 'walk;
                }
            }
            start += concurrent * PAGE;
        }
        (pages, self.server_requests() - before)
    }

    /// Asserts every page is the server's answer to its own request for `name`.
    async fn assert_servers_pages(&self, name: &str, pages: &[(String, String)]) {
        let (token, _) = self.user(name);
        for (path, via) in pages {
            let (_, direct) = self.get(&self.sim.base_url, path, &token).await;
            sim_gateway::assert_same_answer(via, &direct, &format!("{name} {path}"));
        }
    }
}

fn songs(uid: &str, music: &str) -> String {
    format!(
        "/Users/{uid}/Items?ParentId={music}&IncludeItemTypes=Audio&SortBy=AlbumArtist\
         &SortOrder=Ascending&Fields=Etag%2CGenres%2CSortName%2CMediaStreams%2CProviderIds\
         &CollapseBoxSetItems=False&IsVirtualUnaired=False&EnableTotalRecordCount=False\
         &LocationTypes=FileSystem%2CRemote%2COffline&IsMissing=False&Recursive=True"
    )
}

#[tokio::test]
async fn a_songs_walk_is_read_in_windows_and_every_page_is_the_servers_for_every_user() {
    let r = start().await;
    let music = r.library("music").await;
    for name in ["admin", "alice", "carol"] {
        let (_, uid) = r.user(name);
        let (pages, requests) = r.walk(name, &songs(&uid, &music), 3).await;
        assert!(pages.len() > 100, "{name}: {} pages", pages.len());
        // The first page (the two read with it wait for it and then for the window it
        // starts), a window per at most 495 items, and the empty page after the end.
        assert!(
            requests <= 2 + (pages.len() as u64 * PAGE as u64).div_ceil(495),
            "{name}: {requests} server requests for {} pages",
            pages.len()
        );
        r.assert_servers_pages(name, &pages).await;
    }
    let stats = r.stats().await;
    let batches = &stats["batches"];
    // Each user's walk is longer than one window: the next one went ahead of it.
    assert!(batches["windows"].as_u64().unwrap() >= 6, "{batches}");
    assert!(batches["window_pages"].as_u64().unwrap() > 100, "{batches}");
    assert_eq!(batches["refused"], 0, "{batches}");
}

/// The artists' listing of a user whose share hides items (and of the owner), read in
/// windows: every page is the server's.
#[tokio::test]
async fn the_artists_listing_is_the_servers_for_a_restricted_user() {
    let r = start().await;
    let music = r.library("music").await;
    for name in ["carol", "admin"] {
        let (_, uid) = r.user(name);
        let listing = format!(
            "/Artists?UserId={uid}&ParentId={music}&SortBy=SortName&SortOrder=Ascending\
             &EnableTotalRecordCount=False&Recursive=True&Fields=Etag%2CGenres"
        );
        let (pages, _) = r.walk(name, &listing, 1).await;
        assert!(pages.len() >= 3, "{name}: {} pages", pages.len());
        r.assert_servers_pages(name, &pages).await;
    }
}

#[tokio::test]
async fn one_page_read_alone_costs_the_server_nothing_more() {
    let r = start().await;
    let music = r.library("music").await;
    let (token, uid) = r.user("admin");
    let before = r.server_requests();
    let path = format!("{}&StartIndex=30&Limit={PAGE}", songs(&uid, &music));
    let (status, _) = r.get(&r.proxy, &path, &token).await;
    assert_eq!(status, 200);
    let other = format!("{}&StartIndex=900&Limit={PAGE}", songs(&uid, &music));
    r.get(&r.proxy, &other, &token).await;
    assert_eq!(
        r.server_requests() - before,
        2,
        "pages far apart are no walk"
    );
    let stats = r.stats().await;
    assert_eq!(stats["batches"]["windows"], 0);
}

/// Two users walking the same listing never get each other's pages: each window is the
/// walker's own request, stored under the walker's keys.
#[tokio::test]
async fn two_users_never_share_a_windows_pages() {
    let r = start().await;
    let music = r.library("music").await;
    let (_, admin_uid) = r.user("admin");
    let (_, carol_uid) = r.user("carol");
    let (admin_pages, _) = r.walk("admin", &songs(&admin_uid, &music), 3).await;
    // carol asks admin's paths (with admin's user id in the path) with her own token: the
    // server answers as it would her, and so must the gateway.
    let (token, _) = r.user("carol");
    for (path, _) in admin_pages.iter().take(12) {
        let (status, via) = r.get(&r.proxy, path, &token).await;
        let (direct_status, direct) = r.get(&r.sim.base_url, path, &token).await;
        assert_eq!(status, direct_status, "carol {path}");
        sim_gateway::assert_same_answer(&via, &direct, &format!("carol {path}"));
    }
    let (carol_pages, _) = r.walk("carol", &songs(&carol_uid, &music), 3).await;
    r.assert_servers_pages("carol", &carol_pages).await;
}

/// A listing as Jellyfin for Kodi reads a library's `kind` (`full_sync.py`), without its
/// counting switch and paging.
fn kodi_listing(uid: &str, library: &str, kind: &str, sort: &str) -> String {
    format!(
        "/Users/{uid}/Items?ParentId={library}&IncludeItemTypes={kind}&SortBy={sort}\
         &SortOrder=Ascending&Fields=Etag%2CGenres%2CSortName%2CProviderIds\
         &CollapseBoxSetItems=False&IsVirtualUnaired=False\
         &LocationTypes=FileSystem%2CRemote%2COffline&IsMissing=False&Recursive=True"
    )
}

/// What this module's tests do through the fixture's gateway.
trait KodiReads {
    async fn counted_walk(&self, name: &str, listing: &str) -> (Vec<(String, String)>, u64);
}

impl KodiReads for Running {
    /// Jellyfin for Kodi's `_get_items` through the gateway as `name`: a count
    /// (`Limit=1&EnableTotalRecordCount=True`), then exactly the pages it counts, three at a
    /// time. Gives the count's and each page's path and answer, and the server requests.
    async fn counted_walk(&self, name: &str, listing: &str) -> (Vec<(String, String)>, u64) {
        let (token, _) = self.user(name);
        let before = self.server_requests();
        let count = format!("{listing}&EnableTotalRecordCount=True&Limit=1");
        let (status, body) = self.get(&self.proxy, &count, &token).await;
        assert_eq!(status, 200, "{count}");
        let total = serde_json::from_str::<Value>(&body).unwrap()["TotalRecordCount"]
            .as_u64()
            .unwrap() as usize;
        let mut answers = vec![(count, body)];
        for bundle in (0..total).step_by(PAGE).collect::<Vec<_>>().chunks(3) {
            let paths: Vec<String> = bundle
                .iter()
                .map(|s| {
                    format!("{listing}&EnableTotalRecordCount=False&StartIndex={s}&Limit={PAGE}")
                })
                .collect();
            let got = futures_util::future::join_all(
                paths.iter().map(|p| self.get(&self.proxy, p, &token)),
            )
            .await;
            for (path, (status, body)) in paths.into_iter().zip(got) {
                assert_eq!(status, 200, "{path}");
                answers.push((path, body));
            }
        }
        (answers, self.server_requests() - before)
    }
}

/// Once a walk has proven windows on the upstream, a walk announced by its count goes to the
/// server as windows from its first page: the count, and one request per 495 counted items —
/// for the owner, a shared user and a user whose share hides items, every answer (the count,
/// the pages, the last short page with its own `TotalRecordCount`) the server's.
#[tokio::test]
async fn a_counted_walk_is_read_in_windows_from_its_first_page_for_every_user() {
    let r = start().await;
    let music = r.library("music").await;
    let movies = r.library("movies").await;
    let (_, admin_uid) = r.user("admin");
    // The owner's first walk proves windows for the upstream.
    r.walk("admin", &songs(&admin_uid, &music), 3).await;
    let proven = r.stats().await["batches"]["windows"].as_u64().unwrap();
    for name in ["admin", "alice", "carol"] {
        let (_, uid) = r.user(name);
        for (library, kind, sort) in [
            (&music, "MusicAlbum", "AlbumArtist"),
            (&music, "Audio", "AlbumArtist"),
            (&movies, "Movie", "SortName"),
        ] {
            let listing = kodi_listing(&uid, library, kind, sort);
            let (answers, requests) = r.counted_walk(name, &listing).await;
            let pages = answers.len() as u64 - 1;
            assert!(pages >= 2, "{name} {kind}: {pages} pages");
            assert!(
                requests <= 1 + (pages * PAGE as u64).div_ceil(495),
                "{name} {kind}: {requests} server requests for the count and {pages} pages"
            );
            r.assert_servers_pages(name, &answers).await;
        }
    }
    let stats = r.stats().await;
    assert!(stats["batches"]["windows"].as_u64().unwrap() > proven + 9);
    assert_eq!(stats["batches"]["refused"], 0, "{}", stats["batches"]);
}

/// What this module's tests do through the fixture's gateway.
trait WindowCounts {
    async fn prefetch_count(&self, outcome: &str) -> u64;
    async fn counted_series(&self, name: &str, count: bool) -> String;
}

impl WindowCounts for Running {
    /// `cachearr_prefetch_total` of one outcome, from `/metrics`.
    async fn prefetch_count(&self, outcome: &str) -> u64 {
        let url = format!("{}/metrics", self.admin);
        let text = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let label = format!(r#"outcome="{outcome}"}} "#);
        text.lines()
            .filter(|l| l.starts_with("cachearr_prefetch_total{"))
            .filter_map(|l| l.split_once(label.as_str()))
            .map(|(_, n)| n.trim().parse::<u64>().unwrap())
            .sum()
    }

    /// A series of the shows library as `name` lists it by a Jellyfin for Kodi count.
    async fn counted_series(&self, name: &str, count: bool) -> String {
        let (token, uid) = self.user(name);
        let shows = self.library("tvshows").await;
        let listing = kodi_listing(&uid, &shows, "Series", "SortName");
        let path = if count {
            format!("{listing}&EnableTotalRecordCount=True&Limit=1")
        } else {
            format!("{listing}&EnableTotalRecordCount=False&StartIndex=0&Limit={PAGE}")
        };
        let (_, body) = self.get(&self.proxy, &path, &token).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        body["Items"][0]["Id"].as_str().unwrap().to_string()
    }
}

/// A client that counts a listing before walking it is syncing the library (Jellyfin for
/// Kodi): its seasons listings are not prefetched season by season, which it never reads,
/// while a browsing client's still are.
#[tokio::test]
async fn a_syncing_clients_seasons_listing_is_not_prefetched() {
    let r = start().await;
    let wait = std::time::Duration::from_secs(30);
    // Browsing: a page of series, then a series' seasons: each season's episodes follow.
    let series = r.counted_series("alice", false).await;
    let (token, uid) = r.user("alice");
    let seasons = format!("/Shows/{series}/Seasons?UserId={uid}&EnableImages=True");
    assert_eq!(r.get(&r.proxy, &seasons, &token).await.0, 200);
    cachearr_testkit::eventually(
        "the browsing user's seasons were prefetched",
        wait,
        || async { r.prefetch_count("fetched").await >= 1 },
    )
    .await;
    // Syncing: the count first, then the series' seasons: nothing more reaches the server.
    let series = r.counted_series("admin", true).await;
    let (token, uid) = r.user("admin");
    let before = r.server_requests();
    let seasons = format!("/Shows/{series}/Seasons?UserId={uid}&EnableImages=True");
    assert_eq!(r.get(&r.proxy, &seasons, &token).await.0, 200);
    cachearr_testkit::eventually(
        "the syncing user's seasons were not followed",
        wait,
        || async { r.prefetch_count("unread").await >= 1 },
    )
    .await;
    assert_eq!(r.server_requests() - before, 1, "the seasons listing alone");
}
