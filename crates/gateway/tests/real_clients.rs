//! Real client libraries, unchanged, both ways: python-plexapi and jellyfin-apiclient-python
//! run their flows (`tests/real_clients/*.py`) directly against a simulator and through
//! cachearr in front of an identical one (same seed, fresh state), and must print identical
//! answers. The flows include a write followed by a read that must see it, so a stale cached
//! read would fail them; the second run through cachearr also shows that its cache was used,
//! and that the libraries, which ask for gzip as every real client does, got gzip answers.
//!
//! Needs `<workspace>/.venv` from `scripts/setup-test-env` (which `scripts/test` runs first).
//! The tests are named `serial_*`: nextest runs them one at a time (they start Python).

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use std::net::SocketAddr;
use std::path::PathBuf;

use cachearr_gateway::{Config, Gateway, Profile};
use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let python = workspace().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env to create the venv with the pinned client \
         libraries",
        python.display()
    );
    python
}

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

/// Serves `sim` for `profile` on loopback; returns its base URL and the serving task.
async fn serve(sim: &Sim, profile: Profile) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> = match profile {
        Profile::Plex => Box::pin(sim.serve_plex(listener)),
        Profile::Jellyfin => Box::pin(sim.serve_jellyfin(listener, JellyfinOptions::default())),
    };
    let task = tokio::spawn(async move {
        let _ = serving.await;
    });
    (url, task)
}

/// A gateway in front of `upstream`; returns the proxy URL, the admin URL and a stop handle.
async fn gateway(
    profile: Profile,
    upstream: &str,
    data: &tempfile::TempDir,
) -> (String, String, tokio::sync::oneshot::Sender<()>) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(profile, upstream, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.path().to_path_buf();
    let bound = Gateway::builder(config)
        .build()
        .await
        .unwrap()
        .bind()
        .await
        .unwrap();
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    (proxy, admin, stop)
}

/// Runs a flow script; returns its JSON output (stdout), failing with its stderr.
async fn run_flow(script: &str, args: &[String]) -> serde_json::Value {
    let path = workspace()
        .join("crates/gateway/tests/real_clients")
        .join(script);
    let output = tokio::process::Command::new(python())
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
        Profile::Jellyfin => vec![url.to_owned(), owner.name, owner.password],
    }
}

async fn both_ways(profile: Profile, script: &str) {
    let direct_sim = sim();
    let (direct_url, direct_task) = serve(&direct_sim, profile).await;
    let direct = run_flow(script, &flow_args(profile, &direct_sim, &direct_url)).await;
    direct_task.abort();

    let proxied_sim = sim();
    let (upstream, upstream_task) = serve(&proxied_sim, profile).await;
    let data = tempfile::tempdir().unwrap();
    let (proxy, admin, stop) = gateway(profile, &upstream, &data).await;
    let through = run_flow(script, &flow_args(profile, &proxied_sim, &proxy)).await;
    assert_eq!(
        direct, through,
        "{script}: answers differ directly and through cachearr"
    );

    let stats: serde_json::Value = reqwest::get(format!("{admin}/api/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let metrics = reqwest::get(format!("{admin}/metrics"))
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
    let _ = stop.send(());
    upstream_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_python_plexapi_flow_is_identical_direct_and_through_cachearr() {
    both_ways(Profile::Plex, "plex_flow.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_jellyfin_apiclient_flow_is_identical_direct_and_through_cachearr() {
    both_ways(Profile::Jellyfin, "jellyfin_flow.py").await;
}
