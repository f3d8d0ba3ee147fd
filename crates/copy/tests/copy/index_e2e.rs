//! The library index kept by the gateway, end to end against the simulator (Plex and
//! Jellyfin): a crawl on the background budget that matches the simulator's library, the
//! admin routes, a second start from the snapshot with no crawl, an interrupted build that
//! resumes, change events and a scheduled incremental refresh, and the index switched off.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cachearr_config::Config;
use cachearr_copy::upstream_index::status::{BuildRecord, IndexState};
use cachearr_dialect::Profile;
use cachearr_engine::ManualClock;
use cachearr_gateway::Gateway;
use cachearr_library::{ItemKind, Visibility};
use cachearr_sim::control::Faults;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind as SimKind, NewItem};
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually;
use cachearr_testkit::http::get_json;
use serde_json::Value;

const ADMIN_TOKEN: &str = "index-admin-token";
/// How long a crawl, an event or a refresh may take to show.
const WAIT: Duration = Duration::from_secs(60);

/// The simulator serving one profile, with what the gateway needs to know of it.
struct SimServer {
    sim: Sim,
    base_url: String,
    /// The owner's token for this profile.
    token: String,
    profile: Profile,
    _served: TestServer,
}

async fn start_sim(profile: Profile) -> SimServer {
    let sim = Sim::builder()
        .tracks(300)
        .movies(12)
        .shows(2)
        .seed(42)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let served = sim_gateway::serve_sim(&sim, profile).await;
    let owner = sim.state().owner().clone();
    let token = match profile {
        Profile::Plex => owner.plex_token,
        Profile::Jellyfin => owner.jellyfin_token,
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    SimServer {
        sim,
        base_url: served.base_url.clone(),
        token,
        profile,
        _served: served,
    }
}

struct Running {
    gateway: Gateway,
    admin: String,
    /// The proxy listener's base URL.
    proxy: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the gateway and waits until it has (keepers included).
    async fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap();
        }
    }

    async fn get(&self, path: &str) -> Value {
        get_json(&self.client, &format!("{}{path}", self.admin)).await
    }

    /// A Plex client's JSON read through the gateway's proxy listener with `token`.
    async fn read_as(&self, path: &str, token: &str) -> Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.proxy))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }

    async fn index_status(&self) -> Value {
        self.get("/api/index").await["upstreams"][0].clone()
    }

    fn state(&self, upstream: &str) -> IndexState {
        self.gateway.index(upstream).unwrap().status().state
    }

    /// Waits for the build and for the library copy's frame probes that follow it, so that a
    /// gateway is stopped with its warming queue filled as a running one's is.
    async fn wait_ready(&self, upstream: &str) {
        eventually("the index is ready", WAIT, || async {
            let status = self.gateway.index(upstream).unwrap().status();
            assert_ne!(status.state, IndexState::Failed, "{:?}", status.errors);
            status.state == IndexState::Ready && status.progress.is_none() && !status.copy.probing
        })
        .await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn config(server: &SimServer, data: &Path, configure: impl FnOnce(&mut Config)) -> Config {
    let mut config = sim_gateway::loopback_config(server.profile, &server.base_url, data);
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.upstreams[0].token = Some(server.token.clone());
    config.upstreams[0].guard.background_max_concurrent = 2;
    config.index.page_size = 50;
    configure(&mut config);
    config
}

async fn start_gateway(config: Config, clock: Option<Arc<ManualClock>>) -> Running {
    let mut builder = sim_gateway::gateway_builder(config);
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    let served = sim_gateway::serve(builder).await;
    Running {
        gateway: served.gateway,
        admin: served.admin,
        proxy: served.proxy,
        client: sim_gateway::admin_client(),
        stop: Some(served.stop),
        served: Some(served.task),
    }
}

/// A gateway started on `data` that built its copy of `name` and stopped: its last build.
async fn built_and_stopped(
    server: &SimServer,
    data: &Path,
    clock: &Arc<ManualClock>,
    name: &str,
) -> BuildRecord {
    let gw = start_gateway(config(server, data, |_| {}), Some(clock.clone())).await;
    gw.wait_ready(name).await;
    let built = gw.gateway.index(name).unwrap().status().last_build.unwrap();
    gw.shut_down().await;
    built
}

/// A gateway restarted on the copy kept in `data`, once its start has caught the copy up
/// (the one-request look, the counts, or the incremental pass).
async fn restarted_caught_up(
    server: &SimServer,
    data: &Path,
    clock: &Arc<ManualClock>,
    name: &str,
) -> Running {
    let gw = start_gateway(config(server, data, |_| {}), Some(clock.clone())).await;
    eventually("the restart has caught its copy up", WAIT, || async {
        gw.gateway
            .feed(name)
            .is_some_and(|feed| !feed.catching_up())
    })
    .await;
    gw
}

/// The simulator's requests on the routes containing one of `parts`, by route.
fn requests_by_route(sim: &Sim, parts: &[&str]) -> Vec<(String, u64)> {
    (sim.stats().routes.iter())
        .filter(|(route, _)| parts.iter().any(|part| route.contains(part)))
        .map(|(route, r)| (route.clone(), r.requests))
        .collect()
}

/// Whether an interrupted build's journal is on disk.
fn journal_exists(data: &Path, upstream: &str) -> bool {
    data.join("library")
        .join(format!("{upstream}.crawl"))
        .exists()
}

/// Requests the crawl made: the routes of section lists, listings and item fetches.
fn crawl_requests(sim: &Sim) -> u64 {
    sim.stats()
        .routes
        .iter()
        .filter(|(route, _)| {
            route.contains("/library/")
                || route.contains("/Items")
                || route.contains("/Library/MediaFolders")
        })
        .map(|(_, r)| r.requests)
        .sum()
}

/// The simulator's counts of the kinds the index keeps (shows and seasons: Plex's only).
fn sim_counts(server: &SimServer) -> [u64; 7] {
    let lib = server.sim.library();
    let parents = |kind| match server.profile {
        Profile::Plex => lib.count(kind) as u64,
        _ => 0,
    };
    [
        lib.count(SimKind::Track) as u64,
        lib.count(SimKind::Album) as u64,
        lib.count(SimKind::Artist) as u64,
        lib.count(SimKind::Movie) as u64,
        lib.count(SimKind::Episode) as u64,
        parents(SimKind::Show),
        parents(SimKind::Season),
    ]
}

fn index_counts(gateway: &Gateway, upstream: &str) -> [u64; 7] {
    let index = gateway.index(upstream).unwrap().ready().unwrap();
    let stats = index.stats();
    stats.items_by_kind.map(|n| n as u64)
}

/// The id the server uses for a simulator item (Plex: the number; Jellyfin: a GUID).
/// Adds a track titled `title` to the server's first album: `(album, track)`.
fn add_track(server: &SimServer, title: &str, added_at: u32) -> (u32, u32) {
    let album = {
        let lib = server.sim.library();
        let section = lib
            .sections()
            .iter()
            .find(|s| !s.items(SimKind::Album).is_empty())
            .unwrap();
        section.items(SimKind::Album)[0]
    };
    let added = server
        .sim
        .add_item(NewItem {
            kind: SimKind::Track,
            section: None,
            parent: Some(album),
            title: title.into(),
            added_at,
        })
        .unwrap();
    (album, added)
}

fn server_id(server: &SimServer, id: u32) -> String {
    match server.profile {
        Profile::Plex => id.to_string(),
        Profile::Jellyfin => server.sim.library().item_any(id).unwrap().guid_id(),
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    }
}

async fn crawl_matches_the_simulator(profile: Profile) {
    let server = start_sim(profile).await;
    let data = tempfile::tempdir().unwrap();
    let gw = start_gateway(config(&server, data.path(), |_| {}), None).await;
    let name = profile.as_str();
    gw.wait_ready(name).await;
    assert_eq!(index_counts(&gw.gateway, name), sim_counts(&server));

    // Every crawl request went through the background budget, never more than its cap at once.
    // The build's own count: the library copy's frame probes follow the build and may or may
    // not have reached the server yet.
    let status = gw.index_status().await;
    let up = gw.gateway.upstream(name).unwrap();
    let guard = up.guard.snapshot();
    let crawl = status["last_build"]["requests"].as_u64().unwrap();
    assert!(crawl > 5, "{crawl}");
    assert!(crawl_requests(&server.sim) >= crawl);
    assert!(guard.background_requests >= crawl, "{guard:?} vs {crawl}");
    assert!(server.sim.stats().peak_in_flight <= 2);

    // GET /api/index: state, items per kind, sections, last build, snapshot, next refresh.
    assert_eq!(status["state"], "ready");
    assert_eq!(status["enabled"], true);
    assert_eq!(status["profile"], name);
    assert_eq!(status["items_by_kind"]["track"], sim_counts(&server)[0]);
    assert!(
        status["sections"].as_array().unwrap().len() >= 3,
        "{status}"
    );
    assert!(["full", "resumed"].contains(&status["last_build"]["kind"].as_str().unwrap()));
    assert!(status["snapshot"]["bytes"].as_u64().unwrap() > 1000);
    assert!(status["next_refresh_at_ms"].as_u64().unwrap() > 0);
    assert!(status["progress"].is_null());

    // The records carry what the search answers render.
    let index = gw.gateway.index(name).unwrap().ready().unwrap();
    let all = Visibility::everything();
    let track = index
        .search("", &[ItemKind::Track], &all, 1)
        .first()
        .copied();
    assert!(track.is_none(), "an empty query finds nothing");
    let lib_track = {
        let lib = server.sim.library();
        let section = lib
            .sections()
            .iter()
            .find(|s| !s.items(SimKind::Track).is_empty())
            .unwrap();
        section.items(SimKind::Track)[0]
    };
    let view = index.by_id(&server_id(&server, lib_track), &all).unwrap();
    assert!(view.file_path().is_some());
    assert!(view.parent_id().is_some() && view.grandparent_id().is_some());
    assert!(view.index().is_some());
    assert!(view.album().is_some());

    // GET /api/library/stats: totals per section and kind, computed in the background.
    eventually("library totals", WAIT, || async {
        let stats = gw.get("/api/library/stats").await;
        !stats["upstreams"].as_array().unwrap().is_empty()
    })
    .await;
    let stats = gw.get("/api/library/stats").await;
    let totals = &stats["upstreams"][0];
    assert_eq!(totals["upstream"], name);
    assert_eq!(totals["items"]["movie"], sim_counts(&server)[3]);
    let sections = totals["sections"].as_array().unwrap();
    let tracks: u64 = sections
        .iter()
        .filter_map(|s| s["items"]["track"].as_u64())
        .sum();
    assert_eq!(tracks, sim_counts(&server)[0]);
    assert!(
        sections
            .iter()
            .all(|s| !s["title"].as_str().unwrap().is_empty())
    );

    // POST /api/index/build needs the admin token.
    let refused = gw
        .client
        .post(format!("{}/api/index/build", gw.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    gw.shut_down().await;

    // A second start loads the snapshot: ready before serving, and no crawl request at all
    // when a restart this quick is not caught up (`catch_up_after`; by default it is, with an
    // incremental pass: `plex_a_rename_made_during_a_quick_restart_is_served_renamed`).
    server.sim.reset_stats();
    let quick = |c: &mut Config| c.index.catch_up_after = Duration::from_secs(3600);
    let gw = start_gateway(config(&server, data.path(), quick), None).await;
    assert!(gw.gateway.index(name).unwrap().ready().is_some());
    assert_eq!(gw.state(name), IndexState::Ready);
    assert_eq!(index_counts(&gw.gateway, name), sim_counts(&server));
    // The keeper runs and looked at its schedule: nothing is due, the server saw nothing.
    eventually("the keeper runs", WAIT, || async {
        gw.gateway.index(name).unwrap().poke()
    })
    .await;
    let status = gw.index_status().await;
    assert_eq!(status["state"], "ready");
    assert_eq!(crawl_requests(&server.sim), 0);
    gw.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_crawl_matches_the_simulator_and_reloads_without_a_crawl() {
    crawl_matches_the_simulator(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_crawl_matches_the_simulator_and_reloads_without_a_crawl() {
    crawl_matches_the_simulator(Profile::Jellyfin).await;
}

/// Whether the Plex element store has a database of its own beside the snapshot.
fn separate_element_store(data: &Path, upstream: &str) -> bool {
    data.join("library")
        .join(format!("{upstream}.elements"))
        .exists()
}

/// Whether the Plex element store holds any element.
fn kept_elements(gateway: &Gateway) -> bool {
    let store = gateway.index("plex").unwrap().elements().cloned().unwrap();
    !store.is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_elements_live_in_the_disk_cache_store_and_a_separate_one_moves_there() {
    let server = start_sim(Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    // Without the disk tier the element store is a database of its own.
    let gw = start_gateway(
        config(&server, data.path(), |c| c.cache.disk.enabled = false),
        None,
    )
    .await;
    gw.wait_ready("plex").await;
    assert!(kept_elements(&gw.gateway));
    assert!(separate_element_store(data.path(), "plex"));
    gw.shut_down().await;

    // With it, the elements are a keyspace of the disk cache's database: the separate store
    // is removed, and the library is read again (once) to fill the new one.
    server.sim.reset_stats();
    let gw = start_gateway(config(&server, data.path(), |_| {}), None).await;
    assert!(!separate_element_store(data.path(), "plex"));
    gw.wait_ready("plex").await;
    assert!(
        crawl_requests(&server.sim) > 5,
        "the library was read again"
    );
    assert!(kept_elements(&gw.gateway));
    gw.shut_down().await;

    // They persist there: the next start needs no crawl (nor, not caught up, any request).
    server.sim.reset_stats();
    let quick = |c: &mut Config| c.index.catch_up_after = Duration::from_secs(3600);
    let gw = start_gateway(config(&server, data.path(), quick), None).await;
    assert_eq!(gw.state("plex"), IndexState::Ready);
    assert!(kept_elements(&gw.gateway));
    assert!(!separate_element_store(data.path(), "plex"));
    eventually("the keeper runs", WAIT, || async {
        gw.gateway.index("plex").unwrap().poke()
    })
    .await;
    assert_eq!(crawl_requests(&server.sim), 0);
    gw.shut_down().await;
}

async fn interrupted_build_resumes(profile: Profile) {
    let server = start_sim(profile).await;
    let data = tempfile::tempdir().unwrap();
    let name = profile.as_str();
    // Slow pages, so the build can be stopped half way: at 150 ms a page, the rest of the
    // build takes over a second after the first 100 items, which a loaded machine's poll
    // does not miss (at 40 ms it once did).
    server.sim.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let gw = start_gateway(config(&server, data.path(), |_| {}), None).await;
    eventually("a few pages fetched", WAIT, || async {
        gw.gateway
            .index(name)
            .unwrap()
            .status()
            .progress
            .is_some_and(|p| p.items >= 100)
    })
    .await;
    let before = gw.gateway.index(name).unwrap().status().progress.unwrap();
    assert_eq!(gw.state(name), IndexState::Building);
    assert!(before.percent.unwrap() < 100.0);
    gw.shut_down().await;
    let first_run = crawl_requests(&server.sim);
    assert!(journal_exists(data.path(), name));

    server.sim.set_faults(Faults::default());
    server.sim.reset_stats();
    let gw = start_gateway(config(&server, data.path(), |_| {}), None).await;
    gw.wait_ready(name).await;
    assert_eq!(index_counts(&gw.gateway, name), sim_counts(&server));
    let status = gw.gateway.index(name).unwrap().status();
    let last = status.last_build.unwrap();
    assert_eq!(last.kind, "resumed");
    let total: u64 = sim_counts(&server).iter().sum();
    assert!(
        last.fetched + before.items <= total + 50,
        "the second run fetched {} of {total} items after {} were fetched first",
        last.fetched,
        before.items
    );
    // The resumed build's own reads (the copy's frame probes follow a finished build, apart).
    let second_run = last.requests;
    assert!(crawl_requests(&server.sim) >= second_run);
    // What a build from scratch costs, for comparison: the resumed run cost less.
    assert!(!journal_exists(data.path(), name));
    let handle = gw.gateway.index(name).unwrap();
    assert!(handle.request_build(true));
    eventually("a full rebuild", WAIT, || async {
        handle.status().last_build.is_some_and(|b| b.kind == "full")
    })
    .await;
    let full = handle.status().last_build.unwrap().requests;
    assert!(
        second_run < full && first_run + second_run <= full + 3,
        "resumed run {second_run} requests after {first_run}; a full build {full}"
    );
    // The journal goes once the build is recorded.
    eventually("the journal is removed", WAIT, || async {
        !journal_exists(data.path(), name)
    })
    .await;
    gw.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_interrupted_build_resumes() {
    interrupted_build_resumes(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_interrupted_build_resumes() {
    interrupted_build_resumes(Profile::Jellyfin).await;
}

async fn changes_reach_the_index(profile: Profile) {
    let server = start_sim(profile).await;
    let data = tempfile::tempdir().unwrap();
    let name = profile.as_str();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    // cachearr's notification socket and the first crawl start together. The server tells
    // a change only to the sockets open at that moment, and a first connection replays
    // nothing, so a change made before the socket is open reaches the index only with the
    // next scheduled refresh (a day away on this clock). On a loaded machine the crawl can
    // win that race; here the handshake is slowed so that it always does, and the test must
    // wait for the socket as any client of the events would.
    let socket_path = match profile {
        Profile::Plex => "/:/websockets/notifications",
        Profile::Jellyfin => "/socket",
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    server.sim.set_faults(Faults {
        latency_ms: 500,
        path_prefix: Some(socket_path.into()),
        ..Faults::default()
    });
    let gw = start_gateway(config(&server, data.path(), |_| {}), Some(clock.clone())).await;
    gw.wait_ready(name).await;
    eventually("cachearr's notification socket connects", WAIT, || async {
        gw.get("/api/stats").await["upstreams"][0]["events_connected"] == true
    })
    .await;
    server.sim.set_faults(Faults::default());
    let handle = gw.gateway.index(name).unwrap().clone();
    let all = Visibility::everything();

    // A track added on the server arrives through the change event (socket), fetched alone.
    let (album, added) = add_track(&server, "Brand New Index Song", server.sim.now());
    let added_id = server_id(&server, added);
    eventually("the added track is indexed", WAIT, || async {
        handle
            .ready()
            .is_some_and(|i| i.by_id(&added_id, &all).is_some())
    })
    .await;
    let index = handle.ready().unwrap();
    let view = index.by_id(&added_id, &all).unwrap();
    assert_eq!(view.title(), "Brand New Index Song");
    assert_eq!(view.parent_id(), Some(server_id(&server, album).as_str()));
    assert_eq!(handle.status().last_build.unwrap().kind, "events");

    // A rename, then a removal.
    server.sim.rename_item(added, "Renamed Index Song").unwrap();
    eventually("the rename is indexed", WAIT, || async {
        handle.ready().is_some_and(|i| {
            i.by_id(&added_id, &all)
                .is_some_and(|v| v.title() == "Renamed Index Song")
        })
    })
    .await;
    server.sim.remove_item(added).unwrap();
    eventually("the removed track leaves the index", WAIT, || async {
        handle
            .ready()
            .is_some_and(|i| i.by_id(&added_id, &all).is_none())
    })
    .await;
    assert_eq!(index_counts(&gw.gateway, name), sim_counts(&server));

    // The scheduled refresh: nothing due before the interval, then an incremental one that
    // fetches only what changed.
    let before = handle.status().last_build.unwrap();
    assert!(handle.poke());
    let status = gw.index_status().await;
    assert_eq!(
        status["last_build"]["finished_at_ms"].as_u64().unwrap(),
        before.finished_at_ms
    );
    let due = handle.status().next_refresh_at_ms.unwrap();
    assert_eq!(due, before.finished_at_ms + 24 * 3600 * 1000);
    clock.advance(Duration::from_secs(25 * 3600));
    server.sim.reset_stats();
    assert!(handle.poke());
    eventually("the scheduled refresh ran", WAIT, || async {
        handle
            .status()
            .last_build
            .is_some_and(|b| b.kind == "refresh" && b.finished_at_ms > due)
    })
    .await;
    let refresh = handle.status().last_build.unwrap();
    let total: u64 = sim_counts(&server).iter().sum();
    assert!(
        refresh.fetched < total / 4,
        "the refresh fetched {} of {total}",
        refresh.fetched
    );
    assert_eq!(index_counts(&gw.gateway, name), sim_counts(&server));
    assert_eq!(
        handle.status().next_refresh_at_ms.unwrap(),
        refresh.finished_at_ms + 24 * 3600 * 1000
    );
    gw.shut_down().await;
}

/// A change made while the gateway was down reaches no event stream: a gateway that starts from
/// a saved index older than `[index] catch_up_after` refreshes it at once, incrementally.
/// A show renamed on the server: the event names the show alone and its seasons' and
/// episodes' own `updatedAt` does not move, but each of them repeats the show's title (an
/// episode's `grandparentTitle`, a season's `parentTitle`): the index reads them again with
/// it, so its searches name the show anew.
#[tokio::test]
async fn plex_a_renamed_show_is_named_anew_in_its_seasons_and_episodes() {
    let server = start_sim(Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    // The socket connects before the crawl ends (see `changes_reach_the_index`).
    server.sim.set_faults(Faults {
        latency_ms: 500,
        path_prefix: Some("/:/websockets/notifications".into()),
        ..Faults::default()
    });
    let gw = start_gateway(config(&server, data.path(), |_| {}), Some(clock.clone())).await;
    gw.wait_ready("plex").await;
    eventually("cachearr's notification socket connects", WAIT, || async {
        gw.get("/api/stats").await["upstreams"][0]["events_connected"] == true
    })
    .await;
    server.sim.set_faults(Faults::default());
    let (show, season, episode) = {
        let lib = server.sim.library();
        let show = lib
            .sections()
            .iter()
            .flat_map(|s| s.items(SimKind::Show).to_vec())
            .next()
            .unwrap();
        let season = lib.children(show)[0];
        let episode = lib.children(season)[0];
        (show, season, episode)
    };
    let (season_id, episode_id) = (server_id(&server, season), server_id(&server, episode));
    let handle = gw.gateway.index("plex").unwrap().clone();
    let all = Visibility::everything();
    let shows_of = || {
        let index = handle.ready().unwrap();
        [&season_id, &episode_id]
            .map(|id| index.by_id(id, &all).unwrap().album().map(str::to_owned))
    };
    let old = server.sim.library().item(show).unwrap().title().to_owned();
    assert_eq!(shows_of(), [Some(old.clone()), Some(old)]);

    server
        .sim
        .rename_item(show, "Quartz Harbour Chronicles")
        .unwrap();
    let renamed = Some("Quartz Harbour Chronicles".to_owned());
    eventually(
        "the season and the episode name the renamed show",
        WAIT,
        || async { shows_of() == [renamed.clone(), renamed.clone()] },
    )
    .await;
}

/// A rename made on the server while the gateway restarts — however quickly, the clock not
/// moved — is served renamed: the index loaded from disk is caught up at start, and until that
/// pass is installed the copy answers nothing from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_rename_made_during_a_quick_restart_is_served_renamed() {
    let server = start_sim(Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let gw = start_gateway(config(&server, data.path(), |_| {}), Some(clock.clone())).await;
    gw.wait_ready("plex").await;
    let (movie, section) = {
        let lib = server.sim.library();
        let section = lib
            .sections()
            .iter()
            .find(|s| !s.items(SimKind::Movie).is_empty())
            .unwrap();
        (section.items(SimKind::Movie)[0], section.id)
    };
    let metadata = format!("/library/metadata/{movie}");
    let listing = format!("/library/sections/{section}/all");
    let title_of = |answer: &Value| -> Vec<String> {
        answer["MediaContainer"]["Metadata"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["ratingKey"].as_str() == Some(movie.to_string().as_str()))
            .map(|m| m["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let old = [server.sim.library().item(movie).unwrap().title().to_owned()];
    assert_eq!(title_of(&gw.read_as(&listing, &server.token).await), old);
    assert_eq!(title_of(&gw.read_as(&metadata, &server.token).await), old);
    gw.shut_down().await;

    server
        .sim
        .rename_item(movie, "Renamed While Restarting")
        .unwrap();
    let gw = start_gateway(config(&server, data.path(), |_| {}), Some(clock)).await;
    let renamed = ["Renamed While Restarting".to_owned()];
    // Every read, from the first one on, shows the server's title.
    for _ in 0..3 {
        assert_eq!(
            title_of(&gw.read_as(&listing, &server.token).await),
            renamed
        );
        assert_eq!(
            title_of(&gw.read_as(&metadata, &server.token).await),
            renamed
        );
    }
    gw.wait_ready("plex").await;
    let catch_up = gw
        .gateway
        .index("plex")
        .unwrap()
        .status()
        .last_build
        .unwrap();
    assert_eq!(catch_up.kind, "refresh");
    assert_eq!(
        title_of(&gw.read_as(&listing, &server.token).await),
        renamed
    );
    assert_eq!(
        title_of(&gw.read_as(&metadata, &server.token).await),
        renamed
    );
    gw.shut_down().await;
}

/// A restart with nothing changed on the server costs it one request: the sections list,
/// whose content marks (`contentChangedAt`) equal those kept with the copy. The copy then
/// answers as before the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_a_restart_with_nothing_changed_costs_one_request() {
    let server = start_sim(Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let built = built_and_stopped(&server, data.path(), &clock, "plex").await;

    server.sim.reset_stats();
    let gw = restarted_caught_up(&server, data.path(), &clock, "plex").await;
    assert_eq!(
        requests_by_route(&server.sim, &["/library/"]),
        [("GET /library/sections".to_owned(), 1)]
    );
    let status = gw.gateway.index("plex").unwrap().status();
    assert_eq!(
        status.last_build.unwrap().finished_at_ms,
        built.finished_at_ms
    );
    assert!(!gw.gateway.index("plex").unwrap().has_stale());
    gw.shut_down().await;
}

/// A Jellyfin item's answer says when it was created, not when it was last saved: a pass
/// asks for what the server saved since it answered the last pass's first request, by its
/// clock (its `Date`). An item renamed while the gateway was down is read by the pass after
/// the restart — and not by every pass after it, which read it again and dropped its cached
/// answers each time while the mark was the newest creation read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_an_item_saved_once_is_read_by_one_pass() {
    let server = start_sim(Profile::Jellyfin).await;
    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    built_and_stopped(&server, data.path(), &clock, "jellyfin").await;
    let movies: Vec<_> = server.sim.library().sections()[1]
        .items(cachearr_sim::library::ItemKind::Movie)
        .to_vec();
    for (n, movie) in movies.iter().take(2).enumerate() {
        server.sim.advance_clock(5);
        server
            .sim
            .rename_item(*movie, &format!("Saved While Down {n}"))
            .unwrap();
        server.sim.advance_clock(5);
        let gw = restarted_caught_up(&server, data.path(), &clock, "jellyfin").await;
        let pass = gw
            .gateway
            .index("jellyfin")
            .unwrap()
            .status()
            .last_build
            .unwrap();
        gw.shut_down().await;
        assert_eq!(
            (pass.kind.as_str(), pass.fetched),
            ("refresh", 1),
            "{pass:?}"
        );
    }
}

/// A Jellyfin server keeps no content mark, but says how many items of the copy's kinds it
/// saved since the copy's last pass began, and how many it holds: a restart with nothing
/// changed costs it those two counts, and the copy answers as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_a_restart_with_nothing_changed_costs_two_counts() {
    let server = start_sim(Profile::Jellyfin).await;
    let data = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let built = built_and_stopped(&server, data.path(), &clock, "jellyfin").await;

    server.sim.advance_clock(5);
    server.sim.reset_stats();
    let gw = restarted_caught_up(&server, data.path(), &clock, "jellyfin").await;
    assert_eq!(
        requests_by_route(&server.sim, &["/Items", "/Library"]),
        [("GET /Items".to_owned(), 2)]
    );
    let status = gw.gateway.index("jellyfin").unwrap().status();
    assert_eq!(
        status.last_build.unwrap().finished_at_ms,
        built.finished_at_ms
    );
    assert!(!gw.gateway.index("jellyfin").unwrap().has_stale());
    gw.shut_down().await;
}

async fn changes_made_while_down_are_fetched_at_start(profile: Profile) {
    let server = start_sim(profile).await;
    let data = tempfile::tempdir().unwrap();
    let name = profile.as_str();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let gw = start_gateway(config(&server, data.path(), |_| {}), Some(clock.clone())).await;
    gw.wait_ready(name).await;
    gw.shut_down().await;

    // While the gateway is down, a track is added on the server. Its `updatedAt` is after
    // everything the index has seen, as on a real server (the simulator's generated library
    // has timestamps up to years ahead of the wall clock).
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            data.path()
                .join("library")
                .join(format!("{name}.meta.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let high_water = u32::try_from(meta["high_water"].as_i64().unwrap()).unwrap();
    let (_, added) = add_track(
        &server,
        "Added While Down",
        server.sim.now().max(high_water + 60),
    );
    let added_id = server_id(&server, added);

    // An hour later (past the default 10 min) the gateway starts again from its snapshot.
    clock.advance(Duration::from_secs(3600));
    server.sim.reset_stats();
    let gw = start_gateway(config(&server, data.path(), |_| {}), Some(clock.clone())).await;
    let handle = gw.gateway.index(name).unwrap().clone();
    let all = Visibility::everything();
    eventually(
        "the track added while the gateway was down is indexed",
        WAIT,
        || async {
            handle
                .ready()
                .is_some_and(|i| i.by_id(&added_id, &all).is_some())
        },
    )
    .await;
    let refresh = handle.status().last_build.unwrap();
    assert_eq!(refresh.kind, "refresh");
    let total: u64 = sim_counts(&server).iter().sum();
    assert!(
        refresh.fetched < total / 4,
        "the catch-up fetched {} of {total}",
        refresh.fetched
    );
    assert_eq!(index_counts(&gw.gateway, name), sim_counts(&server));
    gw.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_changes_made_while_down_are_fetched_at_start() {
    changes_made_while_down_are_fetched_at_start(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_changes_made_while_down_are_fetched_at_start() {
    changes_made_while_down_are_fetched_at_start(Profile::Jellyfin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_changes_reach_the_index_by_events_and_schedule() {
    changes_reach_the_index(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_changes_reach_the_index_by_events_and_schedule() {
    changes_reach_the_index(Profile::Jellyfin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_index_warns_and_never_crawls() {
    let server = start_sim(Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let gw = start_gateway(
        config(&server, data.path(), |c| c.index.enabled = false),
        None,
    )
    .await;
    let handle = gw.gateway.index("plex").unwrap();
    handle.note_search_to_server();
    let stats = gw.get("/api/stats").await;
    let warnings = stats["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("library index is disabled")),
        "{warnings:?}"
    );
    assert_eq!(stats["index"][0]["enabled"], false);
    assert_eq!(stats["index"][0]["state"], "disabled");
    assert_eq!(stats["index"][0]["searches_to_server"], 1);
    let status = gw.index_status().await;
    assert_eq!(status["state"], "disabled");
    let build = gw
        .client
        .post(format!("{}/api/index/build", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(build.status(), 409);
    assert_eq!(crawl_requests(&server.sim), 0);
    assert!(handle.ready().is_none());
    gw.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_on_demand_through_the_admin_api() {
    let server = start_sim(Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let gw = start_gateway(config(&server, data.path(), |_| {}), None).await;
    gw.wait_ready("plex").await;
    let first = gw
        .gateway
        .index("plex")
        .unwrap()
        .status()
        .last_build
        .unwrap();
    let started = gw
        .client
        .post(format!("{}/api/index/build?full=1", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let body: Value = started.json().await.unwrap();
    assert_eq!(body["started"][0], "plex");
    eventually("the full rebuild finished", WAIT, || async {
        gw.gateway
            .index("plex")
            .unwrap()
            .status()
            .last_build
            .is_some_and(|b| b.finished_at_ms > first.finished_at_ms && b.kind == "full")
    })
    .await;
    let unknown = gw
        .client
        .post(format!("{}/api/index/build?upstream=nope", gw.admin))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    gw.shut_down().await;
}
