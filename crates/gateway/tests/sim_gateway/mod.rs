//! A real gateway (proxy + admin listener, temp data dir) in front of a simulator, shared by
//! the end-to-end test files that drive it over HTTP. [`start`] puts one in front of the
//! standard Plex test simulator, [`start_in_front_of`] in front of any simulator already
//! serving; [`serve`] is the gateway part alone, for tests that manage their own servers.
//! Each test file adds its own helper methods to [`Running`] in an `impl` block of its own.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod search;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use cachearr_gateway::{Config, Gateway, GatewayBuilder, Profile};
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};

/// The simulator, the gateway (its handle and two base URLs), and a client; the gateway stops
/// on drop.
pub struct Running {
    pub sim: TestServer,
    pub gateway: Gateway,
    pub proxy: String,
    pub admin: String,
    pub client: reqwest::Client,
    pub data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
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
    let served = serve(build(Gateway::builder(config))).await;
    Running {
        sim,
        gateway: served.gateway,
        proxy: served.proxy,
        admin: served.admin,
        client: admin_client(),
        data,
        stop: Some(served.stop),
    }
}

/// A client that sends `X-Cachearr-Request: 1` with every request, as the `cachearr` commands
/// and the dashboard do: the admin API refuses changes without it.
pub fn admin_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-cachearr-request",
        reqwest::header::HeaderValue::from_static("1"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Serves `sim`'s API for `profile` on loopback (until the server is dropped).
pub async fn serve_sim(sim: &Sim, profile: Profile) -> TestServer {
    match profile {
        Profile::Plex => sim.start_plex_test_server().await.unwrap(),
        Profile::Jellyfin => sim
            .start_jellyfin_test_server(JellyfinOptions::default())
            .await
            .unwrap(),
    }
}

/// A single-upstream config for `profile` in front of `upstream`: every listener on a free
/// loopback port, the data in `data_dir`.
pub fn loopback_config(profile: Profile, upstream: &str, data_dir: &Path) -> Config {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(profile, upstream, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data_dir.to_path_buf();
    config
}

/// A gateway being served: its handle, base URLs, the sender that stops it, and the serving
/// task (which ends once the gateway has stopped, keepers included).
pub struct Served {
    pub gateway: Gateway,
    pub proxy: String,
    pub admin: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Builds, binds and serves a gateway (until `stop` fires or is dropped).
pub async fn serve(builder: GatewayBuilder) -> Served {
    let gateway = builder.build().await.unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        bound
            .serve(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Served {
        gateway,
        proxy,
        admin,
        stop,
        task,
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
        let get = |path: String| {
            self.client
                .get(format!("{}{path}", self.sim.base_url))
                .header("X-Plex-Token", &self.sim.token)
                .header("Accept", "application/json")
                .send()
        };
        let sections: serde_json::Value = get("/library/sections".to_string())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for path in cachearr_gateway::library::crawl_plex::whole_listing_paths(&sections) {
            let body = get(path).await.unwrap().bytes().await.unwrap();
            store.put_listing(&body);
        }
    }

    /// `GET /api/stats` of the admin listener.
    pub async fn stats(&self) -> serde_json::Value {
        let url = format!("{}/api/stats", self.admin);
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Polls `check` until it holds, failing after `limit`: events, crawls and background fetches
/// run asynchronously, so tests wait for an effect, never for a fixed time.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
