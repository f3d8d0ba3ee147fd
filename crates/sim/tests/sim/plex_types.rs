//! Every attribute of the simulated Plex server's JSON answers has the JSON type the vendored
//! Plex OpenAPI document gives it (tests/python/plex_types.py walks each answer of the main
//! routes beside its route's schema and every element beside its component schema): a strict
//! client generated from that document rejects a whole answer for one mistyped attribute.

use std::process::Command;

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::library_file::LibrarySpec;
use cachearr_testkit::{venv_python, workspace_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_every_plex_json_attribute_has_the_specs_type() {
    let sim = Sim::builder()
        .tracks(300)
        .movies(20)
        .shows(3)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .expect("sim");
    check_types(sim).await;
}

/// The described library python-plexapi's suite runs on: its items carry the media, stream
/// and tag attributes a real scan wrote, rendered from what the description gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_a_described_librarys_plex_json_attributes_have_the_specs_type() {
    let sim = Sim::builder()
        .library_spec(LibrarySpec::plexapi_bootstrap())
        .cost(CostModel::zero())
        .build()
        .expect("sim");
    check_types(sim).await;
}

async fn check_types(sim: Sim) {
    let python = venv_python(".venv");
    let srv = sim.start_plex_test_server().await.expect("serve");
    let script = workspace_root().join("tests/python/plex_types.py");
    let args = [srv.base_url.clone(), srv.token.clone()];
    let out =
        tokio::task::spawn_blocking(move || Command::new(python).arg(script).args(args).output())
            .await
            .expect("join")
            .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mistyped attributes:\n{stdout}\nstderr:\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    eprintln!(
        "{} answers, {} attributes checked against the spec",
        report["routes"], report["attributes_checked"]
    );
    // The check covered the answers it claims to, not an empty walk.
    assert!(report["routes"].as_u64() >= Some(40), "{report}");
    assert!(
        report["attributes_checked"].as_u64() >= Some(5_000),
        "{report}"
    );
}
