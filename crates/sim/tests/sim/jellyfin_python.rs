//! Proof of faithfulness: the real jellyfin-apiclient-python (pinned in
//! `python/requirements.txt`, installed in `<workspace>/.venv` by `scripts/setup-test-env`)
//! runs unchanged against the simulator: connect, authenticate, page through every track,
//! search, fetch an item, create and edit a playlist, sign in fully, open the websocket and
//! see `UserDataChanged` after marking a track played.

use std::process::Stdio;
use std::time::Duration;

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_testkit::{venv_python, workspace_root};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_jellyfin_apiclient_python_works_unchanged() {
    let python = venv_python(".venv");
    let sim = Sim::builder()
        .tracks(150)
        .movies(8)
        .shows(1)
        .seed(5)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds");
    let server = sim
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .expect("server starts");
    let script = workspace_root().join("tests/python/jellyfin_client.py");
    let child = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&server.base_url)
        .arg("alice")
        .arg("alice-password")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python starts");
    // A bound against a hung client, not a timing assertion.
    let output = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output())
        .await
        .expect("the python client finished")
        .expect("python ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python client failed:\n{stderr}\n{stdout}"
    );
    let report: Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("no JSON report ({err}):\n{stdout}\n{stderr}"));

    let (alice_id, tracks) = {
        let state = sim.state();
        let alice = state
            .users()
            .iter()
            .find(|u| u.name == "alice")
            .expect("alice")
            .clone();
        let lib = sim.library();
        let tracks: usize = lib
            .sections()
            .iter()
            .filter(|s| alice.can_see_section(s.id))
            .map(|s| s.items(ItemKind::Track).len())
            .sum();
        (alice, tracks)
    };
    assert_eq!(report["user_id"], alice_id.jellyfin_id.as_str());
    assert_eq!(
        report["server_id"],
        sim.identity().jellyfin_server_id.as_str()
    );
    assert_eq!(report["tracks_total"], tracks);
    assert_eq!(report["pages"], tracks.div_ceil(37));
    assert!(report["search_hits"].as_u64().is_some_and(|n| n >= 1));
    let socket: Vec<&str> = report["socket_messages"]
        .as_array()
        .expect("socket messages")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(socket.contains(&"UserDataChanged"), "{socket:?}");

    // What the client did is in the simulator's state.
    let played_guid = report["played_item"]
        .as_str()
        .expect("played item")
        .to_owned();
    let state = sim.state();
    let playlists = state.playlists(alice_id.id);
    assert_eq!(playlists.len(), 1);
    assert_eq!(playlists[0].title, "cachearr python test");
    let lib = sim.library();
    let guids: Vec<String> = playlists[0]
        .items
        .iter()
        .filter_map(|e| lib.item(e.item).map(|i| i.guid_id()))
        .collect();
    assert_eq!(
        guids,
        report["playlist_items"]
            .as_array()
            .expect("playlist items")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    );
    let played = lib
        .sections()
        .iter()
        .flat_map(|s| s.items(ItemKind::Track).to_vec())
        .find(|id| lib.item(*id).is_some_and(|i| i.guid_id() == played_guid))
        .expect("the played track exists");
    assert!(state.play_state(alice_id.id, played).view_count >= 1);
    assert_eq!(state.play_state(state.owner().id, played).view_count, 0);
}
