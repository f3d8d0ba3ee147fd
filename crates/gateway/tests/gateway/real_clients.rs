//! Real client libraries, unchanged, both ways: python-plexapi and jellyfin-apiclient-python
//! run their flows (`tests/gateway/real_clients/*.py`) directly against a simulator and through
//! cachearr in front of an identical one (same seed, fresh state), and must print identical
//! answers. The flows include a write followed by a read that must see it, so a stale cached
//! read would fail them; the second run through cachearr also shows that its cache was used,
//! and that the libraries, which ask for gzip as every real client does, got gzip answers.
//!
//! Jellyfin's generated client (`jellyfin-api-client`, from Jellyfin's OpenAPI document) calls
//! every route the simulator implements and parses each answer with its models, directly and
//! through cachearr with its library index built (so searches answered from the index are
//! parsed too); see `jellyfin_generated_client.py`.
//!
//! Jellyfin's official TypeScript SDK, `@jellyfin/sdk` 1.0.0 against a 12.0 server and 0.13.0
//! against 10.11, runs an application's flow (`real_clients/jellyfin_sdk/flow.mjs`: discovery,
//! sign-in, views, paged items, searches, latest, resume, a played mark) the same two ways.
//!
//! Emby's own generated Python client, `embyclient` 4.9.0.33, runs an application's flow
//! (`real_clients/emby_flow.py`) against a simulated Emby server the same two ways.
//!
//! Needs `<workspace>/.venv` and the SDK's `node_modules` from `scripts/setup-test-env` (which
//! `scripts/test` runs first).
//! The tests are named `serial_*`: nextest runs them one at a time (they start Python).

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use cachearr_testkit::sim_gateway;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::{JellyfinOptions, JellyfinVersion};
use cachearr_testkit::{venv_python, workspace_root};

fn sim() -> Sim {
    Sim::builder()
        .tracks(400)
        .movies(12)
        .shows(3)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap()
}

/// Runs a flow script; returns its JSON output (stdout), failing with its stderr.
async fn run_flow(script: &str, args: &[String]) -> serde_json::Value {
    let path = workspace_root()
        .join("crates/gateway/tests/gateway/real_clients")
        .join(script);
    let output = tokio::process::Command::new(venv_python(".venv"))
        .arg(&path)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{script} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn flow_args(profile: Profile, sim: &Sim, url: &str) -> Vec<String> {
    let owner = sim.state().owner().clone();
    match profile {
        Profile::Plex => vec![url.to_owned(), owner.plex_token],
        Profile::Jellyfin | Profile::Emby => vec![url.to_owned(), owner.name, owner.password],
        Profile::Http => unreachable!("a media server's test"),
    }
}

async fn both_ways(profile: Profile, script: &str) {
    let direct_sim = sim_gateway::serve_sim(&sim(), profile).await;
    let direct = run_flow(
        script,
        &flow_args(profile, &direct_sim.sim, &direct_sim.base_url),
    )
    .await;
    drop(direct_sim);

    let gw = sim_gateway::start_in_front_of(
        sim_gateway::serve_sim(&sim(), profile).await,
        profile,
        |_| {},
    )
    .await;
    let through = run_flow(script, &flow_args(profile, &gw.sim.sim, &gw.proxy)).await;
    assert_eq!(
        direct, through,
        "{script}: answers differ directly and through cachearr"
    );

    let stats = gw.stats().await;
    let served = stats["total"]["hits"].as_u64().unwrap_or(0)
        + stats["total"]["stale"].as_u64().unwrap_or(0)
        + stats["total"]["coalesced"].as_u64().unwrap_or(0);
    let misses = stats["total"]["misses"].as_u64().unwrap_or(0);
    assert!(
        misses > 0,
        "the flow's reads went through the cache: {stats}"
    );
    // The flows re-read items they listed (album → tracks → album), so some reads are hits.
    assert!(
        served > 0,
        "the cache answered some of the flow's reads: {stats}"
    );
    // The client libraries send `Accept-Encoding: gzip, deflate` (requests' default), as real
    // clients do: cached answers large enough went to them gzipped, and they read them the same.
    let metrics = reqwest::get(format!("{}/metrics", gw.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let gzip_answers: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cachearr_answers_gzip_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(
        gzip_answers > 0.0,
        "{script}: some cached answers were gzipped for the client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_python_plexapi_flow_is_identical_direct_and_through_cachearr() {
    both_ways(Profile::Plex, "plex_flow.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_jellyfin_apiclient_flow_is_identical_direct_and_through_cachearr() {
    both_ways(Profile::Jellyfin, "jellyfin_flow.py").await;
}

/// Emby's own generated client, `embyclient` 4.9.0.33 (`real_clients/emby_flow.py`: discovery,
/// sign-in, views, paged items, a search, latest, resume, next up, a played mark), directly
/// against a simulated Emby server and through cachearr in front of an identical one: every
/// answer, parsed by the client's models, the same; the played mark seen at once; some reads
/// answered by the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_embyclient_flow_is_identical_direct_and_through_cachearr() {
    let script = "emby_flow.py";
    let profile = Profile::Emby;
    let direct_sim = sim_gateway::serve_sim(&sim(), profile).await;
    let direct = run_flow(
        script,
        &flow_args(profile, &direct_sim.sim, &direct_sim.base_url),
    )
    .await;
    drop(direct_sim);
    let gw = sim_gateway::start_in_front_of(
        sim_gateway::serve_sim(&sim(), profile).await,
        profile,
        |_| {},
    )
    .await;
    let through = run_flow(script, &flow_args(profile, &gw.sim.sim, &gw.proxy)).await;
    assert_eq!(
        direct, through,
        "{script}: answers differ directly and through cachearr"
    );
    assert_eq!(
        through["discovery"]["version"],
        cachearr_sim::jellyfin::emby::EMBY_VERSION
    );
    assert_eq!(through["played"][1], false, "{through}");
    assert_eq!(
        through["played"][2], true,
        "the played mark is seen: {through}"
    );
    let stats = gw.stats().await;
    let served = stats["total"]["hits"].as_u64().unwrap_or(0);
    assert!(
        served > 0,
        "the cache answered some of the flow's reads: {stats}"
    );
}

/// The generated client's per-route results: `(method route, parsed ok, error)`.
fn route_results(report: &serde_json::Value) -> Vec<(String, bool, String)> {
    report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["route"].as_str().unwrap()
                ),
                r["ok"].as_bool().unwrap(),
                r["error"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_jellyfin_generated_client_parses_every_route_direct_and_through_cachearr() {
    let script = "jellyfin_generated_client.py";
    let profile = Profile::Jellyfin;
    let direct_sim = sim_gateway::serve_sim(&sim(), profile).await;
    let direct = run_flow(
        script,
        &flow_args(profile, &direct_sim.sim, &direct_sim.base_url),
    )
    .await;
    drop(direct_sim);

    let sim = sim();
    let owner_token = sim.state().owner().jellyfin_token.clone();
    let gw = sim_gateway::start_in_front_of(
        sim_gateway::serve_sim(&sim, profile).await,
        profile,
        |config| config.upstreams[0].token = Some(owner_token),
    )
    .await;
    // With the index built, searches are answered from it: those answers are parsed too.
    cachearr_testkit::eventually(
        "the index is built",
        std::time::Duration::from_secs(60),
        || {
            let ready = sim_gateway::copy_ready(&gw.gateway, "jellyfin");
            async move { ready }
        },
    )
    .await;
    let through_report = run_flow(script, &flow_args(profile, &gw.sim.sim, &gw.proxy)).await;
    let stats = gw.stats().await;

    let (direct, through) = (route_results(&direct), route_results(&through_report));
    let names = |r: &[(String, bool, String)]| r.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&direct), names(&through), "the same calls both ways");
    let failed: Vec<String> = direct
        .iter()
        .map(|r| ("direct", r))
        .chain(through.iter().map(|r| ("through cachearr", r)))
        .filter(|(_, r)| !r.1)
        .map(|(way, r)| format!("{way}: {}: {}", r.0, r.2))
        .collect();
    let routes: std::collections::BTreeSet<&str> = direct.iter().map(|r| r.0.as_str()).collect();
    println!(
        "{} calls over {} routes: parsed ok {} direct, {} through cachearr",
        direct.len(),
        routes.len(),
        direct.iter().filter(|r| r.1).count(),
        through.iter().filter(|r| r.1).count()
    );
    assert!(
        failed.is_empty(),
        "answers the generated models refuse:\n{}",
        failed.join("\n")
    );
    let from_index = through_report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["index"].as_bool() == Some(true))
        .count();
    println!("{from_index} answers through cachearr came from its library index");
    assert!(
        from_index >= 2,
        "the searches were answered from the index: {stats}"
    );
}

/// Runs Jellyfin's official TypeScript SDK flow (`real_clients/jellyfin_sdk/flow.mjs`) with
/// the SDK release installed as `package` (`scripts/setup-test-env` installs both beside the
/// script); returns its JSON output, failing with its stderr.
async fn run_sdk_flow(package: &str, url: &str, sim: &Sim) -> serde_json::Value {
    let dir = workspace_root().join("crates/gateway/tests/gateway/real_clients/jellyfin_sdk");
    assert!(
        dir.join("node_modules").join(package).is_dir(),
        "{package} is not installed: run scripts/setup-test-env"
    );
    let owner = sim.state().owner().clone();
    let output = tokio::process::Command::new("node")
        .arg(dir.join("flow.mjs"))
        .args([package, url, &owner.name, &owner.password])
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "the SDK flow ({package}) failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the SDK flow ({package}) printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The official SDK release `package` against a simulated server at `version`, directly and
/// through cachearr (fresh servers, same seed): the same answers, a server it accepts, and a
/// played mark seen at once.
async fn sdk_both_ways(package: &str, version: JellyfinVersion) {
    let options = || JellyfinOptions {
        version,
        ..JellyfinOptions::default()
    };
    let direct_sim = sim().start_jellyfin_test_server(options()).await.unwrap();
    let direct = run_sdk_flow(package, &direct_sim.base_url, &direct_sim.sim).await;
    drop(direct_sim);
    let gw = sim_gateway::start_in_front_of(
        sim().start_jellyfin_test_server(options()).await.unwrap(),
        Profile::Jellyfin,
        |_| {},
    )
    .await;
    let through = run_sdk_flow(package, &gw.proxy, &gw.sim.sim).await;
    assert_eq!(
        direct, through,
        "{package} against {version}: answers differ directly and through cachearr"
    );
    assert_eq!(through["discovery"]["version"], version.version_string());
    assert_eq!(through["before"], false, "{through}");
    assert_eq!(through["after"], true, "the played mark is seen: {through}");
    assert!(!through["views"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_jellyfin_sdk_1_0_against_12_is_identical_direct_and_through_cachearr() {
    sdk_both_ways("sdk-1", JellyfinVersion::V12_0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_jellyfin_sdk_0_13_against_10_11_is_identical_direct_and_through_cachearr() {
    sdk_both_ways("sdk-0-13", JellyfinVersion::V10_11).await;
}
