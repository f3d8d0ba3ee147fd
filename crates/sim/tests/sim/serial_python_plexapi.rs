//! python-plexapi (pinned in python/requirements.txt) runs unchanged against the simulator.

use std::process::Command;

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library::{ItemKind, MUSIC_SECTION};
use cachearr_testkit::{venv_python, workspace_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_python_plexapi_works_unchanged() {
    let python = venv_python(".venv");
    let sim = Sim::builder()
        .tracks(450)
        .movies(10)
        .shows(2)
        .seed(5)
        .cost(CostModel::zero())
        .build()
        .expect("sim");
    let srv = sim.start_plex_test_server().await.expect("serve");
    let tracks = sim
        .library()
        .section(MUSIC_SECTION)
        .expect("music")
        .items(ItemKind::Track)
        .len();
    let script = workspace_root().join("tests/python/plex_client.py");
    let base = srv.base_url.clone();
    let token = srv.token.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(token)
            .arg(tracks.to_string())
            .output()
    })
    .await
    .expect("join")
    .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "plexapi script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("OK:"), "{stdout}");
    // The script really went through the server: paging requests and a scrobble were made.
    let stats = sim.stats();
    assert!(
        stats
            .routes
            .get("GET /library/sections/{id}/all")
            .is_some_and(|r| r.requests >= 4)
    );
    assert!(
        stats
            .routes
            .get("GET /:/scrobble")
            .is_some_and(|r| r.requests >= 1)
    );
}
