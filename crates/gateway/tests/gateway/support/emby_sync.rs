//! Emby for Kodi's sync against the simulator's Emby through a gateway: the owner's token and
//! id, reads under `/emby` directly or through the gateway, and what the server was asked of
//! the items route. Shared by the tests of the batches the add-on's listings make.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use crate::support::proxy_common::{Harness, start_gateway};

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};

/// The route the add-on's listings and lookups take.
pub(crate) const ITEMS_ROUTE: &str = "GET /Users/{userId}/Items";

/// The simulator's Emby, a gateway in front of it, and the owner who syncs.
pub(crate) struct EmbySync {
    pub(crate) srv: TestServer,
    pub(crate) gw: Harness,
    pub(crate) token: String,
    pub(crate) user: String,
}

impl EmbySync {
    /// A library of `tracks`, `movies` and `shows` made from `seed`, served by the simulator's
    /// Emby at no cost, and a gateway in front of it.
    pub(crate) async fn start((tracks, movies, shows): (u32, u32, u32), seed: u64) -> EmbySync {
        let sim = Sim::builder()
            .tracks(tracks)
            .movies(movies)
            .shows(shows)
            .seed(seed)
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
        EmbySync {
            srv,
            gw,
            token,
            user,
        }
    }

    /// GET `/emby{path}` from `base` as the owner: status, `X-Cache`, body.
    pub(crate) async fn get(&self, base: &str, path: &str) -> (u16, String, Vec<u8>) {
        let response = self
            .gw
            .client
            .get(format!("{base}/emby{path}"))
            .header("X-Emby-Token", &self.token)
            .send()
            .await
            .unwrap();
        let x_cache = response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let status = response.status().as_u16();
        (status, x_cache, response.bytes().await.unwrap().to_vec())
    }

    /// The gateway's address, as a base for [`Self::get`].
    pub(crate) fn via(&self) -> String {
        format!("http://{}", self.gw.proxy)
    }

    /// How many requests the server was asked on [`ITEMS_ROUTE`].
    pub(crate) fn item_requests(&self) -> u64 {
        self.srv
            .sim
            .stats()
            .routes
            .get(ITEMS_ROUTE)
            .map_or(0, |r| r.requests)
    }
}
