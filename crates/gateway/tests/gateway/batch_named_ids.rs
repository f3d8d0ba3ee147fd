//! Emby for Kodi's lookups through the gateway: after a library's songs, each artist a song
//! names that is not synced yet is read by `/Users/{uid}/Items?Ids={id}&Fields=…`, one at a
//! time in the songs' order. Those reads are a walk of the ids the page names in
//! `ArtistItems` (Emby's `WalkBatch::parent_names`): the server is asked a few batched
//! requests, not one per artist, and every answer is, byte for byte, the server's own.
//! Real HTTP over loopback against the simulator's Emby.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use crate::support::proxy_common::{Harness, start_gateway};

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};
use serde_json::Value;

/// The fields the add-on asks of an artist (`emby/api.py` `EmbyFields["musicartist"]`).
const ARTIST_FIELDS: &str = "Genres,SortName,ProductionYear,DateCreated,ProviderIds,Overview,Path,\
                             PresentationUniqueKey,UserDataPlayCount,UserDataLastPlayedDate";
const ITEMS_ROUTE: &str = "GET /Users/{userId}/Items";

struct Sync {
    srv: TestServer,
    gw: Harness,
    token: String,
    user: String,
}

impl Sync {
    async fn start() -> Sync {
        let sim = Sim::builder()
            .tracks(300)
            .movies(4)
            .shows(1)
            .seed(7)
            .cost(CostModel::zero())
            .build()
            .unwrap();
        let srv = sim
            .start_emby_test_server(JellyfinOptions::default())
            .await
            .unwrap();
        let (token, user) = {
            let state = srv.sim.state();
            (
                state.owner().emby_token(),
                state.owner().jellyfin_id.clone(),
            )
        };
        let gw = start_gateway(srv.addr, Profile::Emby, |_| {}).await;
        Sync {
            srv,
            gw,
            token,
            user,
        }
    }

    async fn get(&self, base: &str, path: &str) -> (u16, Vec<u8>) {
        let response = self
            .gw
            .client
            .get(format!("{base}/emby{path}"))
            .header("X-Emby-Token", &self.token)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.bytes().await.unwrap().to_vec(),
        )
    }

    fn via(&self) -> String {
        format!("http://{}", self.gw.proxy)
    }

    fn item_requests(&self) -> u64 {
        self.srv
            .sim
            .stats()
            .routes
            .get(ITEMS_ROUTE)
            .map_or(0, |r| r.requests)
    }

    /// The music library's songs through the gateway, as the add-on lists them: the ids of
    /// the artists they name that are no library artist, distinct, in the songs' order.
    async fn named_artists(&self) -> Vec<String> {
        let (_, views) = self
            .get(&self.via(), &format!("/Users/{}/Views", self.user))
            .await;
        let views: Value = serde_json::from_slice(&views).unwrap();
        let music = views["Items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["CollectionType"] == "music")
            .map(|v| v["Id"].as_str().unwrap().to_owned())
            .unwrap();
        let listing = |kind: &str| {
            format!(
                "/Users/{}/Items?EnableTotalRecordCount=False&Recursive=True&Limit=20000\
                 &Fields=Genres%2CSortName&IncludeItemTypes={kind}&ParentId={music}&StartIndex=0",
                self.user
            )
        };
        let (_, artists) = self.get(&self.via(), &listing("MusicArtist")).await;
        let artists: Value = serde_json::from_slice(&artists).unwrap();
        let synced: Vec<&Value> = artists["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["Id"])
            .collect();
        let (status, songs) = self.get(&self.via(), &listing("Audio")).await;
        assert_eq!(status, 200);
        let songs: Value = serde_json::from_slice(&songs).unwrap();
        let mut named: Vec<String> = Vec::new();
        for song in songs["Items"].as_array().unwrap() {
            for artist in song["ArtistItems"].as_array().unwrap() {
                let id = artist["Id"].as_str().unwrap().to_owned();
                if !synced.contains(&&artist["Id"]) && !named.contains(&id) {
                    named.push(id);
                }
            }
        }
        named
    }

    fn lookup(id: &str) -> String {
        format!(
            "/Users/{{uid}}/Items?Ids={id}&Fields={ARTIST_FIELDS}&EnableTotalRecordCount=False\
             &LocationTypes=FileSystem%2CRemote%2COffline"
        )
    }
}

#[tokio::test]
async fn emby_lookups_of_the_artists_songs_name_are_batched_into_the_servers_answers() {
    let sync = Sync::start().await;
    let named = sync.named_artists().await;
    assert!(
        named.len() >= 10,
        "{} artists known by name only",
        named.len()
    );
    let before = sync.item_requests();
    let mut got = Vec::new();
    for id in &named {
        let read = Sync::lookup(id).replace("{uid}", &sync.user);
        let (status, body) = sync.get(&sync.via(), &read).await;
        assert_eq!(status, 200, "{read}");
        got.push((read, body));
    }
    let asked = sync.item_requests() - before;
    // Two single reads start the batch of the rest (at most 100 items a batch).
    assert!(
        asked <= 3 + named.len() as u64 / 100,
        "{asked} server requests for {} lookups: {:?}",
        named.len(),
        sync.gw.gateway.batcher().report()
    );
    let stats = &sync.gw.gateway.batcher().stats;
    assert_eq!(stats.refused.load(std::sync::atomic::Ordering::Relaxed), 0);
    for (read, body) in &got {
        let (status, direct) = sync.get(&sync.srv.base_url, read).await;
        assert_eq!(status, 200, "{read}");
        let found: Value = serde_json::from_slice(&direct).unwrap();
        assert_eq!(found["Items"].as_array().map(Vec::len), Some(1), "{read}");
        assert!(
            *body == direct,
            "{read}: the gateway's answer is not the server's\n{}\n---\n{}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&direct)
        );
    }
}
