//! Starting next to the media server, as self-hosters do (both at boot), against the
//! simulator: a server down at start gets its library index once it answers (retried with
//! back-off on the gateway's clock; a finished build clears the old error), the start-up check
//! says whether the server answers and takes the owner token, and a client at the admin port
//! is told where the proxy is.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;
use std::time::Duration;

use cachearr_copy::upstream_index::status::IndexState;
use cachearr_dialect::Profile;
use cachearr_engine::{Clock as _, ManualClock};
use cachearr_gateway::startup::{TokenCheck, check_upstream};
use cachearr_sim::Sim;
use cachearr_sim::control::Faults;
use cachearr_sim::cost::CostModel;
use cachearr_testkit::eventually;
use cachearr_testkit::http::get_json;

const WAIT: Duration = Duration::from_secs(60);

fn small_sim() -> Sim {
    Sim::builder()
        .tracks(60)
        .movies(3)
        .shows(1)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap()
}

fn owner_token(sim: &Sim, profile: Profile) -> String {
    let owner = sim.state().owner().clone();
    match profile {
        Profile::Plex => owner.plex_token,
        Profile::Jellyfin => owner.jellyfin_token,
        Profile::Emby => owner.emby_token(),
        Profile::Http => unreachable!("a test of the media servers"),
    }
}

async fn server_down_at_start_gets_its_index_later(profile: Profile) {
    let sim = small_sim();
    let served = sim_gateway::serve_sim(&sim, profile).await;
    // The server refuses every connection, as one still starting would.
    sim.set_faults(Faults {
        refuse: true,
        ..Faults::default()
    });
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(profile, &served.base_url, data.path());
    config.upstreams[0].token = Some(owner_token(&sim, profile));
    config.upstreams[0].guard.retries = 0;
    config.upstreams[0].guard.breaker_failures = 1000;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let gw = sim_gateway::serve(sim_gateway::gateway_builder(config).clock(clock.clone())).await;
    let name = profile.as_str();
    let handle = gw.gateway.index(name).unwrap().clone();

    eventually("the first build fails", WAIT, || async {
        handle.status().state == IndexState::Failed && handle.status().next_retry_at_ms.is_some()
    })
    .await;
    let failed = handle.status();
    assert!(!failed.errors.is_empty());
    let retry_at = failed.next_retry_at_ms.unwrap();
    assert_eq!(retry_at, clock.now_ms() + 30_000, "first retry after 30 s");
    // The admin API says so: `cachearr index status` turns this into a failing exit status.
    let api = get_json(&reqwest::Client::new(), &format!("{}/api/index", gw.admin)).await;
    assert_eq!(api["upstreams"][0]["state"], "failed");
    assert_eq!(api["upstreams"][0]["next_retry_at_ms"], retry_at);

    // The server is up again, but the retry is not due: a look at the clock builds nothing.
    sim.set_faults(Faults::default());
    assert!(handle.look_now().await);
    assert_eq!(handle.status().state, IndexState::Failed);

    // Due: the keeper builds, and the finished build clears the old error.
    clock.advance(Duration::from_secs(31));
    assert!(handle.poke());
    eventually("the retried build finishes", WAIT, || async {
        handle.status().state == IndexState::Ready
    })
    .await;
    let ready = handle.status();
    assert!(ready.errors.is_empty(), "{:?}", ready.errors);
    assert_eq!(ready.next_retry_at_ms, None);
    assert!(ready.items > 0);
    let _ = gw.stop.send(());
    gw.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_down_at_start_gets_its_index_when_it_answers() {
    server_down_at_start_gets_its_index_later(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_down_at_start_gets_its_index_when_it_answers() {
    server_down_at_start_gets_its_index_later(Profile::Jellyfin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_retries_back_off() {
    let sim = small_sim();
    let served = sim_gateway::serve_sim(&sim, Profile::Plex).await;
    sim.set_faults(Faults {
        refuse: true,
        ..Faults::default()
    });
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(Profile::Plex, &served.base_url, data.path());
    config.upstreams[0].token = Some(owner_token(&sim, Profile::Plex));
    config.upstreams[0].guard.retries = 0;
    config.upstreams[0].guard.breaker_failures = 1000;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let gw = sim_gateway::serve(sim_gateway::gateway_builder(config).clock(clock.clone())).await;
    let handle = gw.gateway.index("plex").unwrap().clone();
    eventually("the first build fails", WAIT, || async {
        handle.status().next_retry_at_ms.is_some()
    })
    .await;
    let first = handle.status().next_retry_at_ms.unwrap();
    clock.advance(Duration::from_secs(31));
    assert!(handle.poke());
    eventually(
        "the second try fails and waits twice as long",
        WAIT,
        || async {
            handle
                .status()
                .next_retry_at_ms
                .is_some_and(|at| at != first)
        },
    )
    .await;
    let second = handle.status().next_retry_at_ms.unwrap();
    assert_eq!(second, clock.now_ms() + 60_000);
    assert_eq!(handle.status().state, IndexState::Failed);
    let _ = gw.stop.send(());
    gw.task.await.unwrap();
}

async fn start_check(profile: Profile) {
    let sim = small_sim();
    let served = sim_gateway::serve_sim(&sim, profile).await;
    let data = tempfile::tempdir().unwrap();
    let owner = owner_token(&sim, profile);
    let shared = {
        let state = sim.state();
        let user = state.users().iter().find(|u| !u.is_owner).unwrap().clone();
        match profile {
            Profile::Plex => user.plex_token,
            Profile::Jellyfin => user.jellyfin_token,
            Profile::Emby => user.emby_token(),
            Profile::Http => unreachable!("a test of the media servers"),
        }
    };
    let check_with = |token: Option<String>| {
        let mut config = sim_gateway::loopback_config(profile, &served.base_url, data.path());
        config.upstreams[0].token = token;
        config.index.enabled = false;
        async move {
            let gw = sim_gateway::gateway_builder(config).build().await.unwrap();
            check_upstream(&gw.upstreams()[0]).await
        }
    };

    let ok = check_with(Some(owner)).await;
    assert!(ok.reachable.is_ok(), "{:?}", ok.reachable);
    match profile {
        // The simulator, like a server without the accounts route, does not say who owns it.
        Profile::Plex => assert!(matches!(ok.token, TokenCheck::Accepted { .. }), "{ok:?}"),
        Profile::Jellyfin | Profile::Emby => assert!(
            matches!(ok.token, TokenCheck::Accepted { owner: Some(true) }),
            "{ok:?}"
        ),
        Profile::Http => unreachable!("a test of the media servers"),
    }
    if profile != Profile::Plex {
        let lesser = check_with(Some(shared)).await;
        assert!(
            matches!(lesser.token, TokenCheck::Accepted { owner: Some(false) }),
            "{:?}",
            lesser.token
        );
        assert!(
            lesser
                .lines()
                .iter()
                .any(|(warn, l)| *warn && l.contains("not the owner"))
        );
    }

    let refused = check_with(Some("not-a-token".into())).await;
    assert!(
        matches!(refused.token, TokenCheck::Refused),
        "{:?}",
        refused.token
    );
    let missing = check_with(None).await;
    assert!(
        matches!(missing.token, TokenCheck::Missing),
        "{:?}",
        missing.token
    );
    let said = missing.lines();
    assert!(
        said.iter()
            .any(|(warn, l)| *warn && l.contains("no library index")),
        "{said:?}"
    );

    sim.set_faults(Faults {
        refuse: true,
        ..Faults::default()
    });
    let down = check_with(Some("whatever".into())).await;
    assert!(down.reachable.is_err());
    assert!(
        matches!(down.token, TokenCheck::NotChecked),
        "{:?}",
        down.token
    );
    // The token never appears in what is said.
    assert!(
        !down
            .lines()
            .iter()
            .chain(refused.lines().iter())
            .any(|(_, l)| l.contains("whatever") || l.contains("not-a-token"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_start_check_says_reachable_and_token() {
    start_check(Profile::Plex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_start_check_says_reachable_token_and_owner() {
    start_check(Profile::Jellyfin).await;
}

/// Emby has no `/Users/Me` (a 500 to every token): the token is checked where Emby answers
/// any user's token and an API key, and refuses an unknown one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emby_start_check_says_reachable_token_and_owner() {
    start_check(Profile::Emby).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_at_the_admin_port_is_told_where_the_proxy_is() {
    let sim = small_sim();
    let served = sim_gateway::serve_sim(&sim, Profile::Plex).await;
    let data = tempfile::tempdir().unwrap();
    let mut config = sim_gateway::loopback_config(Profile::Plex, &served.base_url, data.path());
    config.index.enabled = false;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.upstreams[0].listen = ([127, 0, 0, 1], port).into();
    let gw = sim_gateway::serve(sim_gateway::gateway_builder(config)).await;
    let response = reqwest::get(format!("{}/library/sections?X-Plex-Token=x", gw.admin))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("admin listener"), "{text}");
    assert!(
        text.contains(&format!("plex (plex): http://127.0.0.1:{port}")),
        "{text}"
    );
    let _ = gw.stop.send(());
    gw.task.await.unwrap();
}
