//! A real gateway (proxy + admin listener, temp data dir) in front of a simulator, shared by
//! the end-to-end test files that drive it over HTTP. [`start`] puts one in front of the
//! standard Plex test simulator, [`start_in_front_of`] in front of any simulator already
//! serving; [`serve`] is the gateway part alone (from `serve_gateway`), for tests that manage
//! their own servers. Each test module adds its own methods to [`Running`] in an `impl`
//! block of its own, so each includes this file as its own `sim_gateway` submodule (`#[path]`):
//! one binary holds one inherent method of a name per type. [`eventually`] is the workspace's
//! one polling wait (`cachearr-testkit`).

#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used
)]

pub mod search;
use crate::support::serve_gateway;
use cachearr_copy::GatewayLibrary as _;

pub use cachearr_testkit::eventually;
pub use serve_gateway::{Served, admin_client, loopback_config, serve};

use cachearr_config::Config;
use cachearr_copy::upstream_index::elements::fill_kept;
use cachearr_dialect::Profile;
use cachearr_gateway::{Gateway, GatewayBuilder};
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::http::get_json;

/// The simulator, the gateway (its handle and two base URLs), and a client; the gateway stops
/// on drop (with its stop sender).
pub struct Running {
    pub sim: TestServer,
    pub gateway: Gateway,
    pub proxy: String,
    pub admin: String,
    pub client: reqwest::Client,
    pub data: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts the Plex test simulator and a gateway in front of it on loopback; `configure`
/// adjusts the single-upstream config (admin listener and data dir are already set).
pub async fn start(configure: impl FnOnce(&mut Config)) -> Running {
    let sim = Sim::start_plex_for_tests().await.unwrap();
    start_in_front_of(sim, Profile::Plex, configure).await
}

/// Starts a gateway for `profile` in front of `sim` on loopback; `configure` as for [`start`].
pub async fn start_in_front_of(
    sim: TestServer,
    profile: Profile,
    configure: impl FnOnce(&mut Config),
) -> Running {
    start_built(sim, profile, configure, |builder| builder).await
}

/// [`start_in_front_of`], `build` adjusting the builder (a manual clock …) before it builds.
pub async fn start_built(
    sim: TestServer,
    profile: Profile,
    configure: impl FnOnce(&mut Config),
    build: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
) -> Running {
    let data = tempfile::tempdir().unwrap();
    let mut config = loopback_config(profile, &sim.base_url, data.path());
    configure(&mut config);
    let served = serve(build(cachearr_copy::builder(config))).await;
    Running {
        sim,
        gateway: served.gateway,
        proxy: served.proxy,
        admin: served.admin,
        client: admin_client(),
        data,
        _stop: served.stop,
    }
}

/// The requests `sim` has answered on routes whose pattern contains `part` (`"children"`,
/// `"/all"` …), since it started or was last reset.
pub fn requests_on(sim: &TestServer, part: &str) -> u64 {
    sim.sim
        .stats()
        .routes
        .iter()
        .filter(|(route, _)| route.contains(part))
        .map(|(_, s)| s.requests)
        .sum()
}

/// A Plex gateway with the owner's token in front of `sim` that crawled the library and
/// kept the frames its probes proved, stopped and started again on a copy of its data
/// directory (the stopped gateway's handle still holds its databases open in this process),
/// `build` adjusting the restarted one's builder (a clock an hour on …); `configure` adjusts
/// both configs. The restarted gateway and its data directory.
pub async fn restarted_after_probes(
    sim: &TestServer,
    configure: impl Fn(&mut Config),
    build: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
) -> (Served, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let config = |dir: &std::path::Path| {
        let mut c = loopback_config(Profile::Plex, &sim.base_url, dir);
        c.upstreams[0].token = Some(sim.token.clone());
        configure(&mut c);
        c
    };
    let served = serve(cachearr_copy::builder(config(data.path()))).await;
    let frames = data.path().join("library").join("plex.frames.json");
    let wait = std::time::Duration::from_secs(60);
    eventually("the probed frames are kept", wait, || async {
        frames.exists()
    })
    .await;
    let _ = served.stop.send(());
    served.task.await.unwrap();
    let restarted = tempfile::tempdir().unwrap();
    cachearr_testkit::copy_dir(data.path(), restarted.path());
    let served = serve(build(cachearr_copy::builder(config(restarted.path())))).await;
    (served, restarted)
}

/// Serves `sim`'s API for `profile` on loopback (until the server is dropped).
pub async fn serve_sim(sim: &Sim, profile: Profile) -> TestServer {
    match profile {
        Profile::Plex => sim.start_plex_test_server().await.unwrap(),
        Profile::Jellyfin => sim
            .start_jellyfin_test_server(JellyfinOptions::default())
            .await
            .unwrap(),
        Profile::Http => panic!("the simulator speaks no generic HTTP API"),
    }
}

impl Running {
    /// `GET path` through the proxy as the simulator's owner (JSON when `json`), which must
    /// answer 200: the `X-Cache` verdict, empty when there is none.
    pub async fn x_cache(&self, path: &str, json: bool) -> String {
        let mut request = self
            .client
            .get(format!("{}{path}", self.proxy))
            .header("X-Plex-Token", &self.sim.token);
        if json {
            request = request.header("Accept", "application/json");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response
            .headers()
            .get("x-cache")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Keeps the simulator's listing element of every item in the gateway's element store
    /// for upstream `plex`, as a crawl would (tests that install an index directly).
    pub async fn keep_plex_elements(&self) {
        let store = self
            .gateway
            .index("plex")
            .unwrap()
            .elements()
            .unwrap()
            .clone();
        fill_kept(&store, Profile::Plex, |path| {
            let get = self
                .client
                .get(format!("{}{path}", self.sim.base_url))
                .header("X-Plex-Token", &self.sim.token)
                .header("Accept", "application/json");
            async move { get.send().await.unwrap().bytes().await.unwrap() }
        })
        .await
        .unwrap();
    }

    /// Keeps the simulator's `BaseItemDto` of every item in the gateway's document store for
    /// upstream `jellyfin`, as a crawl would (tests that install an index directly).
    pub async fn keep_jellyfin_documents(&self, token: &str) {
        let store = self
            .gateway
            .index("jellyfin")
            .unwrap()
            .elements()
            .unwrap()
            .clone();
        fill_kept(&store, Profile::Jellyfin, |path| {
            let get = self
                .client
                .get(format!("{}{path}", self.sim.base_url))
                .header("X-Emby-Token", token);
            async move { get.send().await.unwrap().bytes().await.unwrap() }
        })
        .await
        .unwrap();
    }

    /// `GET /api/stats` of the admin listener.
    pub async fn stats(&self) -> serde_json::Value {
        get_json(&self.client, &format!("{}/api/stats", self.admin)).await
    }
}

/// Panics unless an answer through the gateway (`via`) is the server's (`direct`) byte for
/// byte, showing both around the first byte that differs; `what` names the request.
pub fn assert_same_answer(via: &str, direct: &str, what: &str) {
    if via == direct {
        return;
    }
    let at = via
        .bytes()
        .zip(direct.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(via.len().min(direct.len()));
    let around = |d: &str| {
        let bytes = d.as_bytes();
        String::from_utf8_lossy(&bytes[at.saturating_sub(300)..(at + 300).min(bytes.len())])
            .into_owned()
    };
    panic!(
        "{what}: differs at byte {at}:\n{}\n--- the server's ---\n{}",
        around(via),
        around(direct)
    );
}
