//! Jellyseerr's scan as its current release makes it, through the gateway on Jellyfin and
//! Emby: a library's listing, then each of its items by `/Items?ids={id}&fields=…`, twenty at
//! a time and in any order inside a bundle. The item reads are batched into
//! `/Items?ids={a},{b},…&fields=…` — the server is asked a few requests, not one per item — and
//! every answer the client gets is, byte for byte, the server's answer to that single read.
//! Real HTTP over loopback against the simulator.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use crate::support::proxy_common::{Harness, start_gateway};

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};
use futures_util::future::join_all;
use serde_json::Value;

/// The fields Jellyseerr's `getItemData` asks for.
const FIELDS: &str = "ProviderIds,MediaSources,Width,Height,IsHD,DateCreated";
/// Items Jellyseerr reads at once.
const BUNDLE: usize = 20;
const ITEMS_ROUTE: &str = "GET /Items";

/// A scan's server and the gateway in front of it, with the owner's token.
struct Scan {
    srv: TestServer,
    gw: Harness,
    token: String,
    /// Where the item reads go under the gateway (Emby's clients may ask under `/emby/`).
    prefix: &'static str,
}

async fn start(profile: Profile) -> Scan {
    let sim = Sim::builder()
        .tracks(20)
        .movies(60)
        .shows(2)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let options = JellyfinOptions::default();
    let (srv, prefix) = match profile {
        Profile::Emby => (sim.start_emby_test_server(options).await.unwrap(), "/emby"),
        _ => (sim.start_jellyfin_test_server(options).await.unwrap(), ""),
    };
    let token = {
        let state = srv.sim.state();
        match profile {
            Profile::Emby => state.owner().emby_token(),
            _ => state.owner().jellyfin_token.clone(),
        }
    };
    let gw = start_gateway(srv.addr, profile, |_| {}).await;
    Scan {
        srv,
        gw,
        token,
        prefix,
    }
}

impl Scan {
    /// `GET base path` as Jellyseerr asks: status, `X-Cache`, body.
    async fn get(&self, base: &str, path: &str) -> (u16, String, Vec<u8>) {
        let auth = format!(
            r#"MediaBrowser Client="Seerr", Device="Seerr", DeviceId="tests", Version="3.1.0", Token="{}""#,
            self.token
        );
        let response = self
            .gw
            .client
            .get(format!("{base}{path}"))
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let x_cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, x_cache, response.bytes().await.unwrap().to_vec())
    }

    fn via(&self) -> String {
        format!("http://{}", self.gw.proxy)
    }

    /// The server's `GET /Items` requests so far.
    fn item_requests(&self) -> u64 {
        self.srv
            .sim
            .stats()
            .routes
            .get(ITEMS_ROUTE)
            .map_or(0, |r| r.requests)
    }

    /// The movies library's items, listed through the gateway as Jellyseerr lists them.
    async fn listed_movies(&self) -> Vec<String> {
        let (_, _, folders) = self.get(&self.srv.base_url, "/Library/MediaFolders").await;
        let folders: Value = serde_json::from_slice(&folders).unwrap();
        let movies = folders["Items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["CollectionType"] == "movies")
            .map(|f| f["Id"].as_str().unwrap().to_owned())
            .unwrap();
        let listing = format!(
            "/Items?SortBy=SortName&SortOrder=Ascending&IncludeItemTypes=Series,Movie,Others\
             &Recursive=true&StartIndex=0&ParentId={movies}&collapseBoxSetItems=false"
        );
        let (status, _, body) = self.get(&self.via(), &listing).await;
        assert_eq!(status, 200);
        let page: Value = serde_json::from_slice(&body).unwrap();
        page["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["Id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `getItemData` of `id`.
    fn item_read(id: &str) -> String {
        format!("/Items?ids={id}&fields={FIELDS}")
    }

    /// Reads every item through the gateway, a bundle at a time, each bundle at once and
    /// sent in reverse (Jellyseerr's arrive in any order): (read, `X-Cache`, body).
    async fn read_items(&self, ids: &[String]) -> Vec<(String, String, Vec<u8>)> {
        let mut out = Vec::new();
        for bundle in ids.chunks(BUNDLE) {
            let reads: Vec<String> = bundle.iter().rev().map(|id| Self::item_read(id)).collect();
            let base = format!("{}{}", self.via(), self.prefix);
            let got = join_all(reads.iter().map(|read| self.get(&base, read))).await;
            for (read, (status, x_cache, body)) in reads.into_iter().zip(got) {
                assert_eq!(status, 200, "{read}");
                out.push((read, x_cache, body));
            }
        }
        out
    }

    /// Asserts each answer is the server's own answer to its read, asked directly now.
    async fn assert_servers_answers(&self, got: &[(String, String, Vec<u8>)]) {
        for (read, _, body) in got {
            let (status, _, direct) = self.get(&self.srv.base_url, read).await;
            assert_eq!(status, 200, "{read}");
            assert!(
                *body == direct,
                "{read}: the gateway's answer is not the server's\n{}\n---\n{}",
                String::from_utf8_lossy(body),
                String::from_utf8_lossy(&direct)
            );
        }
    }
}

/// The scan's item reads cost the server three requests (two single reads and the batch of
/// the rest), not one each; a second scan costs nothing; every answer is the server's.
async fn item_reads_by_id_are_batched(profile: Profile) {
    let scan = start(profile).await;
    let ids = scan.listed_movies().await;
    assert!(ids.len() >= 3 * BUNDLE, "{} movies", ids.len());
    let before = scan.item_requests();
    let got = scan.read_items(&ids).await;
    let asked = scan.item_requests() - before;
    // Two single reads start the batch; the others of their bundle wait for it.
    assert!(
        asked <= 3,
        "{profile:?}: {asked} server requests for {} item reads: {:?} {:?}",
        ids.len(),
        got.iter().map(|(_, x, _)| x.as_str()).collect::<Vec<_>>(),
        scan.gw.gateway.batcher().report()
    );
    let stats = &scan.gw.gateway.batcher().stats;
    assert!(stats.batches.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    assert_eq!(stats.refused.load(std::sync::atomic::Ordering::Relaxed), 0);
    let again = scan.read_items(&ids).await;
    assert_eq!(
        scan.item_requests() - before,
        asked,
        "the second scan is hits"
    );
    assert!(again.iter().all(|(_, x, _)| x == "HIT"), "{profile:?}");
    scan.assert_servers_answers(&got).await;
    scan.assert_servers_answers(&again).await;
}

#[tokio::test]
async fn jellyfin_item_reads_by_id_are_batched_into_the_servers_answers() {
    item_reads_by_id_are_batched(Profile::Jellyfin).await;
}

#[tokio::test]
async fn emby_item_reads_by_id_are_batched_into_the_servers_answers() {
    item_reads_by_id_are_batched(Profile::Emby).await;
}
