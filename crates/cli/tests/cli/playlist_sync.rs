//! `cachearr match --gateway` and `cachearr playlist sync` as a user runs them: the real binary
//! against a real gateway (index installed from the simulator's library, as a crawl would
//! build it) in front of the Plex and Jellyfin simulators.

#![allow(clippy::unwrap_used)]

use cachearr_copy::GatewayLibrary as _;
use std::net::SocketAddr;
use std::sync::Arc;

use cachearr_config::Config;

use cachearr_dialect::Profile;
use cachearr_library::{ItemKind, ItemRecord, LibraryIndex, sim};
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};

struct Running {
    sim: TestServer,
    admin: String,
    proxy: String,
    records: Vec<ItemRecord>,
    _data: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(profile: Profile) -> Running {
    let sim = Sim::builder()
        .tracks(1200)
        .movies(10)
        .shows(1)
        .seed(9)
        .cost(cachearr_sim::cost::CostModel::zero())
        .build()
        .unwrap();
    let server = match profile {
        Profile::Plex => sim.start_plex_test_server().await.unwrap(),
        Profile::Jellyfin => sim
            .start_jellyfin_test_server(JellyfinOptions::default())
            .await
            .unwrap(),
        Profile::Http | Profile::Emby => unreachable!("a test of Plex and Jellyfin"),
    };
    // The records a crawl of this server would make: Plex ids and section ids as they are,
    // Jellyfin's GUIDs and library (view) ids.
    let records: Vec<ItemRecord> = {
        let lib = sim.library();
        sim::records(&lib)
            .map(|mut r| {
                if profile == Profile::Jellyfin {
                    let id: u32 = r.id.parse().unwrap();
                    r.id = lib.item(id).unwrap().guid_id();
                    r.section_id = cachearr_sim::jellyfin::view_id(r.section_id.parse().unwrap());
                }
                r
            })
            .collect()
    };
    let data = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(profile, &server.base_url, any).unwrap();
    config.admin_listen = any;
    config.data_dir = data.path().to_path_buf();
    // No crawl: the test installs the index itself, so no build can swap it underneath.
    config.index.enabled = false;
    let gateway = cachearr_copy::builder(config).build().await.unwrap();
    let name = gateway.upstreams()[0].name.to_string();
    gateway
        .index(&name)
        .unwrap()
        .install(Arc::new(LibraryIndex::build(&records).unwrap()));
    let bound = gateway.bind().await.unwrap();
    let admin = format!("http://{}", bound.admin_addr().unwrap());
    let proxy = format!("http://{}", bound.proxy_addrs()[0].1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(cachearr_admin::router, async move {
        let _ = stopped.await;
    }));
    Running {
        sim: server,
        admin,
        proxy,
        records,
        _data: data,
        _stop: stop,
    }
}

impl Running {
    fn user(&self, name: &str) -> (u32, String, String) {
        let state = self.sim.sim.state();
        let u = state.users().iter().find(|u| u.name == name).unwrap();
        (u.id, u.plex_token.clone(), u.jellyfin_token.clone())
    }

    /// Tracks number `picks` (of every 40th track) as CSV, plus a song not in the library.
    fn csv(&self, picks: &[usize]) -> (String, Vec<String>) {
        let tracks: Vec<&ItemRecord> = self
            .records
            .iter()
            .filter(|r| r.kind == ItemKind::Track && !r.title.contains('('))
            .step_by(40)
            .collect();
        let mut csv = String::from("artist,title,album,duration_ms\n");
        let mut ids = Vec::new();
        for &n in picks {
            let r = tracks[n];
            let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            csv.push_str(&format!(
                "{},{},{},{}\n",
                q(&r.artists.join(", ")),
                q(&r.title),
                q(r.album.as_deref().unwrap_or("")),
                r.duration_ms.unwrap_or(0)
            ));
            ids.push(r.id.clone());
        }
        csv.push_str("Nobody Here,A Song That Does Not Exist Anywhere,,200000\n");
        (csv, ids)
    }

    /// The items of `user`'s playlist `name` on the simulator, in order, as the crawl's ids.
    fn playlist_items(&self, user: u32, name: &str, jellyfin: bool) -> Option<Vec<String>> {
        let state = self.sim.sim.state();
        let lib = self.sim.sim.library();
        let p = state
            .playlists(user)
            .into_iter()
            .find(|p| p.title == name)?;
        Some(
            p.items
                .iter()
                .map(|e| {
                    if jellyfin {
                        lib.item(e.item).unwrap().guid_id()
                    } else {
                        e.item.to_string()
                    }
                })
                .collect(),
        )
    }

    /// Searches that reached the server. Section listings (`/all`) are not counted: the
    /// gateway reads a user's item count of each section once (a listing with room for no
    /// items) to prove the server hides nothing there from them.
    fn searches(&self) -> u64 {
        self.sim
            .sim
            .stats()
            .routes
            .iter()
            .filter(|(route, _)| route.to_ascii_lowercase().contains("search"))
            .map(|(_, s)| s.requests)
            .sum()
    }
}

async fn cachearr(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachearr"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CACHEARR_ADMIN_TOKEN")
        .env_remove("CACHEARR_USER_TOKEN")
        .output()
        .await
        .expect("cachearr runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The ids the sync put in the playlist: the accepted matches, in file order.
fn matched(report: &serde_json::Value) -> Vec<String> {
    report["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["best"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn sync(run: &Running, file: &std::path::Path, token: &str) -> serde_json::Value {
    let (ok, out, err) = cachearr(&[
        "playlist",
        "sync",
        file.to_str().unwrap(),
        "--name",
        "Road Trip",
        "--user",
        token,
        "--gateway",
        &run.admin,
        "--server",
        &run.proxy,
        "--json",
    ])
    .await;
    assert!(ok, "{err}\n{out}");
    serde_json::from_str(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_with_the_gateway_index() {
    let run = start(Profile::Plex).await;
    let dir = tempfile::tempdir().unwrap();
    let (csv, ids) = run.csv(&[0, 1, 2, 3]);
    let file = dir.path().join("list.csv");
    std::fs::write(&file, csv).unwrap();
    let (ok, out, err) = cachearr(&[
        "match",
        file.to_str().unwrap(),
        "--gateway",
        &run.admin,
        "--json",
    ])
    .await;
    assert!(ok, "{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["scope"], "everything");
    assert_eq!(answer["summary"]["entries"], 5);
    assert_eq!(answer["entries"][0]["best"]["id"], ids[0].as_str());
    // Text output, and the store answers the second time.
    let (ok, out, err) =
        cachearr(&["match", file.to_str().unwrap(), "--gateway", &run.admin]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("ACCEPT") && out.contains("remembered"),
        "{out}"
    );
    assert!(out.contains("4 remembered"), "{out}");
    assert_eq!(run.searches(), 0, "matching searched the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plex_playlist_is_created_in_one_write_then_kept_in_sync() {
    let run = start(Profile::Plex).await;
    let (bob, token, _) = run.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trip.csv");

    let (csv, _) = run.csv(&[0, 1, 2, 3, 4, 5]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["action"], "created", "{report}");
    assert_eq!(report["playlist"]["writes"], 1, "{report}");
    assert_eq!(report["missing"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", false).unwrap(),
        matched(&report)
    );
    assert_eq!(run.searches(), 0, "no search reached the server");

    // Same file again: nothing to write.
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["action"], "unchanged", "{report}");
    assert_eq!(report["playlist"]["writes"], 0, "{report}");
    assert_eq!(report["match"]["remembered"], 6, "{report}");

    // Track 1 dropped, 6 appended: one delete and one add (a tie with clear + add, and the
    // edit keeps the other entries).
    let (csv, _) = run.csv(&[0, 2, 3, 4, 5, 6]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["action"], "updated", "{report}");
    assert_eq!(report["playlist"]["removed"], 1, "{report}");
    assert_eq!(report["playlist"]["added"], 1, "{report}");
    assert_eq!(report["playlist"]["replaced"], false, "{report}");
    assert_eq!(report["playlist"]["writes"], 2, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", false).unwrap(),
        matched(&report)
    );

    // Track 6 moved to the front: one move.
    let (csv, _) = run.csv(&[6, 0, 2, 3, 4, 5]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["moved"], 1, "{report}");
    assert_eq!(report["playlist"]["writes"], 1, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", false).unwrap(),
        matched(&report)
    );

    // Mostly new tracks: clearing and adding again (2 writes) beats 5 deletes + an add.
    let (csv, _) = run.csv(&[7, 8, 9, 10, 0]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["replaced"], true, "{report}");
    assert_eq!(report["playlist"]["writes"], 2, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", false).unwrap(),
        matched(&report)
    );
    assert_eq!(run.searches(), 0);

    // Another user's playlist of that name is theirs: alice gets her own.
    let (alice, alice_token, _) = run.user("alice");
    let report = sync(&run, &file, &alice_token).await;
    assert_eq!(report["playlist"]["action"], "created", "{report}");
    assert_eq!(
        run.playlist_items(alice, "Road Trip", false).unwrap(),
        matched(&report)
    );
    assert_eq!(
        run.playlist_items(bob, "Road Trip", false).unwrap(),
        matched(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jellyfin_playlist_is_created_and_updated_in_one_write_each() {
    let run = start(Profile::Jellyfin).await;
    let (bob, _, token) = run.user("bob");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trip.csv");
    let (csv, _) = run.csv(&[0, 1, 2, 3]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["action"], "created", "{report}");
    assert_eq!(report["playlist"]["writes"], 1, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", true).unwrap(),
        matched(&report)
    );

    // Appending only: one POST …/Items.
    let (csv, _) = run.csv(&[0, 1, 2, 3, 4]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["added"], 1, "{report}");
    assert_eq!(report["playlist"]["replaced"], false, "{report}");
    assert_eq!(report["playlist"]["writes"], 1, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", true).unwrap(),
        matched(&report)
    );

    // Removal, addition and a new order: one replacement.
    let (csv, _) = run.csv(&[4, 2, 0, 5]);
    std::fs::write(&file, &csv).unwrap();
    let report = sync(&run, &file, &token).await;
    assert_eq!(report["playlist"]["replaced"], true, "{report}");
    assert_eq!(report["playlist"]["writes"], 1, "{report}");
    assert_eq!(
        run.playlist_items(bob, "Road Trip", true).unwrap(),
        matched(&report)
    );
    assert_eq!(run.searches(), 0);
}

/// Tracks hidden from `user` by the server (Plex share filter or Jellyfin policy) among the
/// first `n` of every 40th track, as the crawl's ids, and the picks that hold them.
fn hidden_picks(run: &Running, user: &str, jellyfin: bool, n: usize) -> (Vec<usize>, Vec<String>) {
    let state = run.sim.sim.state();
    let u = state.users().iter().find(|u| u.name == user).unwrap();
    let lib = run.sim.sim.library();
    let tracks: Vec<&ItemRecord> = run
        .records
        .iter()
        .filter(|r| r.kind == ItemKind::Track && !r.title.contains('('))
        .step_by(40)
        .collect();
    let mut picks = Vec::new();
    let mut hidden = Vec::new();
    for (i, r) in tracks.iter().enumerate().take(n) {
        let item = (1..=lib.len() as u32)
            .filter_map(|id| lib.item(id))
            .find(|item| {
                if jellyfin {
                    item.guid_id() == r.id
                } else {
                    item.id().to_string() == r.id
                }
            })
            .unwrap();
        let sees = if jellyfin {
            u.jellyfin_sees(&item)
        } else {
            u.plex_sees(&item)
        };
        if !sees {
            hidden.push(r.id.clone());
        }
        picks.push(i);
    }
    (picks, hidden)
}

/// A user the server hides part of the music from (carol: no `Explicit` label on Plex,
/// `Explicit` blocked on Jellyfin) never gets a hidden track in the playlist, and is told
/// which sections were not matched; a user whose music is whole (dave, whose limits are on
/// films and shows) is matched from the index without a search reaching the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_for_restricted_users_never_adds_a_hidden_track() {
    for profile in [Profile::Plex, Profile::Jellyfin] {
        let jellyfin = profile == Profile::Jellyfin;
        let run = start(profile).await;
        let (picks, hidden) = hidden_picks(&run, "carol", jellyfin, 30);
        assert!(
            hidden.len() >= 2,
            "the file must hold tracks hidden from carol"
        );
        let (csv, _) = run.csv(&picks);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("trip.csv");
        std::fs::write(&file, &csv).unwrap();

        let (carol, plex_token, jellyfin_token) = run.user("carol");
        let token = if jellyfin { jellyfin_token } else { plex_token };
        let report = sync(&run, &file, &token).await;
        let added = matched(&report);
        assert!(
            added.iter().all(|id| !hidden.contains(id)),
            "{profile:?}: hidden tracks synced for carol: {report}"
        );
        let withheld = report["withheld_sections"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!withheld.is_empty(), "{report}");
        let on_server = run
            .playlist_items(carol, "Road Trip", jellyfin)
            .unwrap_or_default();
        assert!(
            on_server.iter().all(|id| !hidden.contains(id)),
            "{on_server:?}"
        );

        let (_, plex_token, jellyfin_token) = run.user("dave");
        let token = if jellyfin { jellyfin_token } else { plex_token };
        let before = run.searches();
        let report = sync(&run, &file, &token).await;
        if !jellyfin {
            // Plex: dave's share filters films and television only.
            assert!(matched(&report).len() >= picks.len() - 2, "{report}");
            // Films and shows are withheld, the music sections are not.
            assert_eq!(
                report["withheld_sections"],
                serde_json::json!(["2", "3"]),
                "{report}"
            );
        }
        assert_eq!(run.searches(), before, "no search reached the server");
    }
}
