//! A real gateway on loopback (proxy and admin listeners on free ports, its data in a
//! temporary directory, the library copy attached and the admin API served, as the product
//! ships) in front of the simulator: the fixture every crate's end-to-end tests drive over
//! HTTP (the gateway's, the copy's, the admin's). [`start`] puts one in front of the standard
//! Plex test simulator, [`start_in_front_of`] in front of any simulator already serving;
//! [`serve`] is the gateway part alone, for tests that manage their own servers (a scripted
//! upstream, Redis shared by several gateways). Only with the `sim-gateway` feature, which the
//! crates whose tests use it turn on: the engine's and the simulator's tests stay without the
//! gateway.
//!
//! A test module that needs methods of its own on [`Running`] declares them in a trait of its
//! own, implemented for [`Running`].

#![allow(
    clippy::unwrap_used,
    reason = "a fixture: a failed set-up fails the test"
)]

pub mod search;

use std::net::SocketAddr;
use std::path::Path;

use cachearr_config::Config;
use cachearr_copy::GatewayLibrary as _;
use cachearr_copy::upstream_index::elements::fill_kept;
use cachearr_dialect::Profile;
use cachearr_gateway::{Gateway, GatewayBuilder};
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};

use crate::eventually;
use crate::http::get_json;

/// The gateway as the product builds it for `config`: the library copy attached (what
/// `cachearr serve` runs), for tests to adjust (a manual clock, a secret …) before building.
pub fn gateway_builder(config: Config) -> GatewayBuilder {
    cachearr_copy::builder(config)
}

/// Whether the gateway's library copy of `upstream` is loaded, so that answers can come from
/// it: tests about whole answers wait for it before they compare.
pub fn copy_ready(gateway: &Gateway, upstream: &str) -> bool {
    gateway
        .index(upstream)
        .is_some_and(|index| index.ready().is_some())
}

/// Runs one round of the play-state watch for `upstream` now, as its timer would: tests that
/// change play state on the server (as another client would) run the rounds by hand.
///
/// # Panics
/// If the gateway has no upstream of that name.
pub async fn play_state_round(
    gateway: &Gateway,
    upstream: &str,
) -> cachearr_copy::play_watch::Round {
    let up = gateway
        .upstreams()
        .iter()
        .find(|up| &*up.name == upstream)
        .unwrap_or_else(|| panic!("no upstream {upstream}"))
        .clone();
    let library = (gateway.library()).expect("a gateway built with its library copy");
    cachearr_copy::play_watch::probe_round(library, &up).await
}

/// Reads every user's restrictions (Jellyfin policies) of `upstream` again now, as the
/// copy's schedule does each minute: tests that change a policy on the server, with the clock
/// held still, ask for the re-read by hand.
///
/// # Panics
/// If the gateway has no upstream of that name, or no library copy.
pub async fn read_policies_again(gateway: &Gateway, upstream: &str) {
    let library = (gateway.library()).expect("a gateway built with its library copy");
    let up = library
        .upstreams()
        .iter()
        .find(|up| &*up.name == upstream)
        .unwrap_or_else(|| panic!("no upstream {upstream}"))
        .clone();
    let handle = library
        .index(&up.name)
        .expect("the upstream's library copy");
    handle.policies().read_again(library.reads(), &up).await;
}

/// Has the gateway read its upstream `upstream`'s shares again now, as its schedule does once
/// they are due, dropping the answers of users whose share changed.
pub async fn read_shares_again(gateway: &Gateway, upstream: &str) {
    let library = (gateway.library()).expect("a gateway built with its library copy");
    let up = library
        .upstreams()
        .iter()
        .find(|up| &*up.name == upstream)
        .unwrap_or_else(|| panic!("no upstream {upstream}"))
        .clone();
    cachearr_copy::upstream_index::visibility::read_shares_again(library.reads(), &up).await;
}

/// A single-upstream config for `profile` in front of `upstream`: every listener on a free
/// loopback port, the data in `data_dir`.
pub fn loopback_config(profile: Profile, upstream: &str, data_dir: &Path) -> Config {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(profile, upstream, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data_dir.to_path_buf();
    // The play-state watch reads the server as soon as a user's answers are read: it runs
    // only in the tests about it (which run its rounds by hand or turn it on), so that the
    // others count only the requests they make.
    config.feed.play_state_probe = std::time::Duration::ZERO;
    // Shares are read from the simulator's own account service only in the tests that start
    // it (and say where): no test reaches out of the machine.
    for up in &mut config.upstreams {
        up.account_service_url = None;
    }
    config
}

/// A client builder that sends `X-Cachearr-Request: 1` with every request, as the `cachearr`
/// commands and the dashboard do: the admin API refuses changes without it (a guard against
/// cross-site forms).
pub fn admin_client_builder() -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-cachearr-request",
        reqwest::header::HeaderValue::from_static("1"),
    );
    reqwest::Client::builder().default_headers(headers)
}

/// [`admin_client_builder`], built.
pub fn admin_client() -> reqwest::Client {
    admin_client_builder().build().unwrap()
}

/// A gateway being served: its handle, addresses, the sender that stops it (sending or
/// dropping it stops the gateway), and the serving task (which ends once the gateway has
/// stopped, keepers included).
pub struct Served {
    /// The gateway's handle.
    pub gateway: Gateway,
    /// The first proxy listener's address.
    pub proxy_addr: SocketAddr,
    /// `http://` and [`Self::proxy_addr`].
    pub proxy: String,
    /// `http://` and the admin listener's address.
    pub admin: String,
    /// Stops the gateway when sent or dropped.
    pub stop: tokio::sync::oneshot::Sender<()>,
    /// The serving task.
    pub task: tokio::task::JoinHandle<()>,
}

/// Builds, binds and serves a gateway with the admin API (until `stop` fires or is dropped).
/// The config must have an admin listener.
pub async fn serve(builder: GatewayBuilder) -> Served {
    let gateway = builder.build().await.unwrap();
    let bound = gateway.bind().await.unwrap();
    let proxy_addr = bound.proxy_addrs()[0].1;
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_bound(bound, async move {
        let _ = stopped.await;
    }));
    Served {
        gateway,
        proxy_addr,
        proxy: format!("http://{proxy_addr}"),
        admin,
        stop,
        task,
    }
}

/// Serves a gateway already bound, with the admin API, until `shutdown` completes: for tests
/// that hold the bound gateway themselves (to read its addresses or hook it first).
pub async fn serve_bound(
    bound: cachearr_gateway::BoundGateway,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    bound.serve(cachearr_admin::router, shutdown).await.unwrap();
}

/// The simulator, the gateway (its handle and two base URLs), and a client; the gateway stops
/// on drop (with its stop sender).
pub struct Running {
    /// The simulator the gateway is in front of.
    pub sim: TestServer,
    /// The gateway's handle.
    pub gateway: Gateway,
    /// `http://` and the proxy listener's address.
    pub proxy: String,
    /// `http://` and the admin listener's address.
    pub admin: String,
    /// A client that sends the admin API's request header ([`admin_client`]).
    pub client: reqwest::Client,
    /// The gateway's data directory.
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
    let served = serve(build(gateway_builder(config))).await;
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
    restarted_after_probes_of(sim, Profile::Plex, configure, build).await
}

/// [`restarted_after_probes`] for a gateway of `profile` (its upstream named after it),
/// holding the token of the simulator's owner on that server.
pub async fn restarted_after_probes_of(
    sim: &TestServer,
    profile: Profile,
    configure: impl Fn(&mut Config),
    build: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
) -> (Served, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let owner = {
        let state = sim.sim.state();
        let owner = &state.users()[0];
        match profile {
            Profile::Plex => sim.token.clone(),
            Profile::Jellyfin | Profile::Emby => owner.jellyfin_token.clone(),
            Profile::Http => panic!("the simulator speaks no generic HTTP API"),
        }
    };
    let config = |dir: &std::path::Path| {
        let mut c = loopback_config(profile, &sim.base_url, dir);
        c.upstreams[0].token = Some(owner.clone());
        configure(&mut c);
        c
    };
    let served = serve(gateway_builder(config(data.path()))).await;
    let upstream = config(data.path()).upstreams[0].name.clone();
    let frames = (data.path().join("library")).join(format!("{upstream}.frames.json"));
    let wait = std::time::Duration::from_secs(60);
    eventually("the probed frames are kept", wait, || async {
        frames.exists()
    })
    .await;
    let _ = served.stop.send(());
    served.task.await.unwrap();
    let restarted = tempfile::tempdir().unwrap();
    crate::copy_dir(data.path(), restarted.path());
    let served = serve(build(gateway_builder(config(restarted.path())))).await;
    // The restart catches its copy up with the server (an incremental pass); what a test
    // counts afterwards is then the reads it makes.
    eventually("the restarted gateway has caught up", wait, || async {
        served
            .gateway
            .feed(&upstream)
            .is_none_or(|feed| !feed.catching_up())
    })
    .await;
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
        Profile::Emby => sim
            .start_emby_test_server(JellyfinOptions::default())
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

/// A simulated user as the tests send requests as them: with the token of the server under
/// test.
pub struct SimUser {
    /// The simulator's id, which its play state is kept under.
    pub id: u32,
    /// The user's name.
    pub name: String,
    /// The user's token on the server under test.
    pub token: String,
    /// Jellyfin's id, which paths and `UserId=` name.
    pub jellyfin_id: String,
}

/// `users` with their Jellyfin tokens (`jellyfin`) or their Plex ones.
pub fn sim_users(users: &[cachearr_sim::state::User], jellyfin: bool) -> Vec<SimUser> {
    users
        .iter()
        .map(|u| SimUser {
            id: u.id,
            name: u.name.clone(),
            token: if jellyfin {
                u.jellyfin_token.clone()
            } else {
                u.plex_token.clone()
            },
            jellyfin_id: u.jellyfin_id.clone(),
        })
        .collect()
}
