//! Prefetch end to end: after cachearr answers a show's seasons, it fetches each
//! season's episodes in the background, so the user's next click is a hit; after a
//! continue-watching hub, each item's metadata. The simulator's request counter shows what the
//! server was asked and when.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use std::time::Duration;

use cachearr_sim::library::ItemKind;
use cachearr_testkit::eventually;
use sim_gateway::Running;

async fn start(prefetch: bool) -> Running {
    sim_gateway::start(|config| config.upstreams[0].prefetch.enabled = prefetch).await
}

/// What this module's tests do through the fixture's gateway.
trait PrefetchRequests {
    async fn get(&self, path: &str) -> String;
    async fn prefetched(&self) -> u64;
    async fn prefetch_count(&self, outcome: &str) -> u64;
    fn server_requests(&self) -> u64;
    fn show(&self) -> (u32, Vec<u32>);
}

impl PrefetchRequests for Running {
    /// The `X-Cache` verdict of a JSON `GET` through the proxy.
    async fn get(&self, path: &str) -> String {
        self.x_cache(path, true).await
    }

    /// Prefetches that completed (stored in the cache), from `/metrics`.
    async fn prefetched(&self) -> u64 {
        self.prefetch_count("fetched").await
    }

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
        let line = format!(r#"cachearr_prefetch_total{{upstream="plex",outcome="{outcome}"}} "#);
        text.lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .map_or(0, |n| n.trim().parse().unwrap())
    }

    fn server_requests(&self) -> u64 {
        self.sim.sim.stats().total
    }

    /// A show with at least two seasons: (show, seasons).
    fn show(&self) -> (u32, Vec<u32>) {
        let library = self.sim.sim.library();
        for section in library.sections() {
            for &show in section.items(ItemKind::Show) {
                let seasons = library.children(show).to_vec();
                if seasons.len() >= 2 {
                    return (show, seasons);
                }
            }
        }
        panic!("the test library has no show with two seasons");
    }
}

/// How long a background fetch may take to show.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn seasons_listing_prefetches_each_seasons_episodes() {
    let gw = start(true).await;
    let (show, seasons) = gw.show();
    let before = gw.server_requests();
    assert_eq!(
        gw.get(&format!("/library/metadata/{show}/children")).await,
        "MISS"
    );
    // One request for the listing, then one per season from the prefetcher, in the background;
    // wait until the prefetcher has stored them all (its counter), never for a fixed time.
    let want = before + 1 + seasons.len() as u64;
    let n = seasons.len() as u64;
    eventually("the prefetcher fetched every season", WAIT, || async {
        gw.prefetched().await >= n
    })
    .await;
    for season in &seasons {
        assert_eq!(
            gw.get(&format!("/library/metadata/{season}/children"))
                .await,
            "HIT"
        );
    }
    assert_eq!(
        gw.server_requests(),
        want,
        "the user's clicks cost the server nothing"
    );
}

#[tokio::test]
async fn prefetch_does_not_inherit_the_page_of_an_earlier_paged_request() {
    let gw = start(true).await;
    let (show, seasons) = gw.show();
    let n = seasons.len() as u64;
    let listing = format!("/library/metadata/{show}/children");
    gw.get(&listing).await;
    eventually("the first prefetch", WAIT, || async {
        gw.prefetched().await >= n
    })
    .await;
    // The same user (same token, same client) then pages through something with headers, as a
    // script running next to the user's player does; cachearr remembers that request's headers.
    let response = gw
        .client
        .get(format!("{}/library/sections", gw.proxy))
        .header("X-Plex-Token", &gw.sim.token)
        .header("Accept", "application/json")
        .header("X-Plex-Container-Start", "1")
        .header("X-Plex-Container-Size", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The seasons' entries go; the show's listing stays, so the next visit is a hit that
    // prefetches again, on the user's behalf, with the remembered headers.
    for season in &seasons {
        let prefix = format!("plex GET /library/metadata/{season}/children");
        let url = format!("{}/api/clear", gw.admin);
        let cleared = gw
            .client
            .post(url)
            .query(&[("prefix", prefix)])
            .send()
            .await
            .unwrap();
        assert_eq!(cleared.status(), 200);
    }
    assert_eq!(gw.get(&listing).await, "HIT");
    eventually("the second prefetch", WAIT, || async {
        gw.prefetched().await >= 2 * n
    })
    .await;
    assert_eq!(
        gw.get(&format!("/library/metadata/{}/children", seasons[0]))
            .await,
        "HIT",
        "the prefetched entry is the one an unpaged click asks for"
    );
}

#[tokio::test]
async fn continue_watching_prefetches_item_metadata() {
    let gw = start(true).await;
    let (_, seasons) = gw.show();
    let episode = gw.sim.sim.library().children(seasons[0])[0];
    let owner = gw.sim.sim.state().owner().id;
    gw.sim.sim.set_progress(owner, episode, 60_000);
    let before = gw.server_requests();
    gw.get("/hubs/continueWatching").await;
    eventually("the item's metadata was prefetched", WAIT, || async {
        gw.prefetched().await >= 1
    })
    .await;
    assert!(gw.server_requests() > before + 1);
    assert_eq!(gw.get(&format!("/library/metadata/{episode}")).await, "HIT");
}

#[tokio::test]
async fn prefetch_off_fetches_nothing_extra() {
    let gw = start(false).await;
    let (show, seasons) = gw.show();
    let before = gw.server_requests();
    gw.get(&format!("/library/metadata/{show}/children")).await;
    assert_eq!(
        gw.get(&format!("/library/metadata/{}/children", seasons[0]))
            .await,
        "MISS"
    );
    assert_eq!(gw.server_requests(), before + 2);
}

/// A client that reads a season's episodes in another form than the prefetcher fetched (here
/// with `includeGuids=1`) never reads the prefetched entries: its next listing is not followed,
/// and costs the server nothing more.
#[tokio::test]
async fn a_client_that_reads_another_form_is_not_followed() {
    let gw = start(true).await;
    let (show, seasons) = gw.show();
    let listing = format!("/library/metadata/{show}/children");
    assert_eq!(gw.get(&listing).await, "MISS");
    let n = seasons.len() as u64;
    eventually("the prefetcher fetched every season", WAIT, || async {
        gw.prefetched().await >= n
    })
    .await;
    assert_eq!(
        gw.get(&format!(
            "/library/metadata/{}/children?includeGuids=1",
            seasons[0]
        ))
        .await,
        "MISS"
    );
    let before = gw.server_requests();
    assert_eq!(gw.get(&listing).await, "HIT");
    eventually("the listing was not followed", WAIT, || async {
        gw.prefetch_count("unread").await == 1
    })
    .await;
    assert_eq!(gw.prefetched().await, n);
    assert_eq!(gw.server_requests(), before);
}
