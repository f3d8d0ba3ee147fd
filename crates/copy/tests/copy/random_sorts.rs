//! A listing sorted at random (Plex `sort=random`, Jellyfin `SortBy=Random`) is a new shuffle
//! at every request: the server never gives one twice, so the gateway must not either. Each
//! such read reaches the server, through the gateway, while the same listing sorted otherwise
//! is answered without it the second time. Real HTTP over loopback against the simulator,
//! with the library index installed (so the copy could answer the listing).
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;

use cachearr_dialect::Profile;
use cachearr_library::LibraryIndex;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use sim_gateway::{Running, requests_on};

/// What this module's tests do through the fixture's gateway.
trait RandomSortRequests {
    async fn read_sorted(&self, path: &str, credential: (&str, &str)) -> (u16, String);
    async fn twice(&self, path: &str, who: (&str, &str), route: &str) -> (u64, String);
}

impl RandomSortRequests for Running {
    /// `GET path` through the gateway with `token` in `header`: its status and `X-Cache`.
    async fn read_sorted(&self, path: &str, (header, token): (&str, &str)) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.proxy))
            .header(header, token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let x_cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status().as_u16(), x_cache)
    }

    /// Reads `path` twice through the gateway: the server requests on routes containing
    /// `route` it caused, and the second read's `X-Cache`.
    async fn twice(&self, path: &str, who: (&str, &str), route: &str) -> (u64, String) {
        let before = requests_on(&self.sim, route);
        let (status, _) = self.read_sorted(path, who).await;
        assert_eq!(status, 200, "{path}");
        let (status, x_cache) = self.read_sorted(path, who).await;
        assert_eq!(status, 200, "{path}");
        (requests_on(&self.sim, route) - before, x_cache)
    }
}

#[tokio::test]
async fn a_plex_listing_sorted_at_random_reaches_the_server_at_every_read() {
    let gw = sim_gateway::start(|_| {}).await;
    gw.keep_plex_elements().await;
    let records: Vec<_> = {
        let lib = gw.sim.sim.library();
        cachearr_library::sim::records(&lib).collect()
    };
    let index = LibraryIndex::build(&records).unwrap();
    gw.gateway.index("plex").unwrap().install(Arc::new(index));
    let who = ("X-Plex-Token", gw.sim.token.as_str());
    let section = {
        let library = gw.sim.sim.library();
        library
            .sections()
            .iter()
            .find(|s| !s.items(ItemKind::Movie).is_empty())
            .unwrap()
            .id
    };
    let listing = format!("/library/sections/{section}/all");
    // Sorted by title, the second read is a hit (the first may cost the copy's proof too).
    let (_, x_cache) = gw
        .twice(&format!("{listing}?sort=titleSort"), who, "/all")
        .await;
    assert_eq!(x_cache, "HIT");
    for query in ["sort=random", "sort=random:desc", "sort=titleSort%2Crandom"] {
        let (asked, x_cache) = gw.twice(&format!("{listing}?{query}"), who, "/all").await;
        assert_eq!(asked, 2, "{query}: every read reaches the server");
        assert_ne!(x_cache, "HIT", "{query}");
    }
}

#[tokio::test]
async fn a_jellyfin_listing_sorted_at_random_reaches_the_server_at_every_read() {
    let sim: TestServer = Sim::builder()
        .tracks(200)
        .movies(20)
        .shows(2)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    let gw = sim_gateway::start_in_front_of(sim, Profile::Jellyfin, |_| {}).await;
    let (token, uid) = {
        let state = gw.sim.sim.state();
        let owner = state.users().iter().find(|u| u.is_owner).unwrap();
        (owner.jellyfin_token.clone(), owner.jellyfin_id.clone())
    };
    let who = ("X-Emby-Token", token.as_str());
    for path in ["/Items", &format!("/Users/{uid}/Items")] {
        let listing = format!("{path}?IncludeItemTypes=Movie&Recursive=true&Limit=5");
        let (asked, x_cache) = gw
            .twice(&format!("{listing}&SortBy=SortName"), who, "Items")
            .await;
        assert!(asked <= 1, "{path} sorted by name: {asked} server requests");
        assert_eq!(x_cache, "HIT");
        for sort in ["SortBy=Random", "sortBy=SortName,Random"] {
            let (asked, x_cache) = gw.twice(&format!("{listing}&{sort}"), who, "Items").await;
            assert_eq!(asked, 2, "{path} {sort}: every read reaches the server");
            assert_ne!(x_cache, "HIT", "{path} {sort}");
        }
    }
}
