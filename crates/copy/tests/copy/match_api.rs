//! `POST /api/match` end to end: a real gateway in front of the Plex simulator, its index
//! installed directly from the simulator's library (what a crawl would produce), real HTTP.

#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use std::sync::Arc;

use cachearr_copy::upstream_index::matching::{MatchAnswer, store_path};
use cachearr_dialect::Profile;
use cachearr_library::{ItemKind, ItemRecord, LibraryIndex, MatchStore, sim};
use cachearr_sim::{Sim, TestServer};
use sim_gateway::Running;

async fn start(admin_token: Option<&str>) -> Running {
    let sim = Sim::builder()
        .tracks(1500)
        .movies(20)
        .shows(2)
        .seed(5)
        .cost(cachearr_sim::cost::CostModel::zero())
        .build()
        .unwrap()
        .start_plex_test_server()
        .await
        .unwrap();
    sim_gateway::start_in_front_of(sim, Profile::Plex, |config| {
        config.admin_token = admin_token.map(str::to_string);
        // No crawl: each test installs the index itself (what a crawl of this sim would
        // build), so no build of the gateway's own can swap it underneath.
        config.index.enabled = false;
    })
    .await
}

fn records(sim: &TestServer) -> Vec<ItemRecord> {
    sim::records(&sim.sim.library()).collect()
}

fn install(run: &Running, records: &[ItemRecord]) {
    let index = LibraryIndex::build(records).unwrap();
    run.gateway.index("plex").unwrap().install(Arc::new(index));
}

/// Every 53rd track of the library as a CSV playlist (artist, title, album, duration), plus
/// one song that is not in the library; also returns the chosen ids.
fn playlist(records: &[ItemRecord]) -> (String, Vec<String>) {
    let mut csv = String::from("artist,title,album,duration_ms\n");
    let mut ids = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.kind == ItemKind::Track)
        .step_by(53)
        .take(20)
    {
        let field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        csv.push_str(&format!(
            "{},{},{},{}\n",
            field(&r.artists.join(", ")),
            field(&r.title),
            field(r.album.as_deref().unwrap_or("")),
            r.duration_ms.unwrap_or(0)
        ));
        ids.push(r.id.clone());
    }
    csv.push_str("Nobody Here,A Song That Does Not Exist Anywhere,,200000\n");
    (csv, ids)
}

/// What this module's tests do through the fixture's gateway.
trait MatchRequests {
    async fn post(
        &self,
        body: &str,
        content_type: &str,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value);
    async fn answer(&self, body: &str, headers: &[(&str, &str)]) -> MatchAnswer;
    fn token_of(&self, name: &str) -> String;
    async fn sim_requests(&self) -> u64;
}

impl MatchRequests for Running {
    async fn post(
        &self,
        body: &str,
        content_type: &str,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("{}/api/match?upstream=plex", self.admin))
            .header("content-type", content_type)
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn answer(&self, body: &str, headers: &[(&str, &str)]) -> MatchAnswer {
        let (status, value) = self.post(body, "text/csv", headers).await;
        assert_eq!(status, 200, "{value}");
        serde_json::from_value(value).unwrap()
    }

    fn token_of(&self, name: &str) -> String {
        self.sim
            .sim
            .state()
            .users()
            .iter()
            .find(|u| u.name == name)
            .unwrap()
            .plex_token
            .clone()
    }

    async fn sim_requests(&self) -> u64 {
        self.sim.sim.stats().total
    }
}

fn accepted_ids(answer: &MatchAnswer) -> Vec<Option<String>> {
    answer
        .entries
        .iter()
        .map(|e| match e.band {
            cachearr_library::Band::Accept => e.best.as_ref().map(|b| b.id.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn not_ready_is_a_clear_503() {
    let run = start(None).await;
    let (status, body) = run.post("artist,title\nA,B\n", "text/csv", &[]).await;
    assert_eq!(status, 503);
    assert_eq!(body["ready"], false);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("matching needs it"),
        "{body}"
    );
    // The index status comes along (here: turned off, as these tests run without a crawl).
    assert_eq!(body["index"]["state"], "disabled", "{body}");
}

#[tokio::test]
async fn matches_as_the_admin_and_remembers_the_answers_on_disk() {
    let run = start(None).await;
    let records = records(&run.sim);
    install(&run, &records);
    let (csv, ids) = playlist(&records);
    let before = run.sim_requests().await;

    let first = run.answer(&csv, &[]).await;
    assert_eq!(first.scope, "everything");
    assert_eq!(first.summary.entries, ids.len() + 1);
    assert!(
        first.summary.accepted >= ids.len() - 1,
        "{:?}",
        first.summary
    );
    assert_eq!(first.summary.remembered, 0);
    let last = first.entries.last().unwrap();
    assert_ne!(
        last.band,
        cachearr_library::Band::Accept,
        "the missing song"
    );
    // Accepted answers are the tracks the playlist was made from (or a copy of the same
    // recording in the second music section).
    let accepted = accepted_ids(&first);
    let exact = accepted
        .iter()
        .zip(&ids)
        .filter(|(got, want)| got.as_deref() == Some(want.as_str()))
        .count();
    assert!(exact >= ids.len() - 2, "{exact} of {}", ids.len());
    let best = first.entries[0].best.as_ref().unwrap();
    assert!(!best.artists.is_empty() && !best.section.is_empty());
    assert_eq!(
        run.sim_requests().await,
        before,
        "matching as the admin asks the server nothing"
    );

    // Persisted in the data directory.
    let path = store_path(run.data.path(), "plex");
    let stored = MatchStore::load(&path).unwrap();
    assert_eq!(stored.len(), first.summary.accepted);

    // The second run consults the store: every accepted entry comes from it, same answers.
    let second = run.answer(&csv, &[]).await;
    assert_eq!(second.summary.remembered, first.summary.accepted);
    assert_eq!(accepted_ids(&second), accepted);
    assert!(
        second
            .entries
            .iter()
            .filter(|e| e.band == cachearr_library::Band::Accept)
            .all(|e| e.method == cachearr_library::MatchMethod::Remembered)
    );
}

#[tokio::test]
async fn a_refreshed_index_drops_memories_of_changed_and_vanished_items() {
    let run = start(None).await;
    let mut records = records(&run.sim);
    install(&run, &records);
    let (csv, _) = playlist(&records);
    let first = run.answer(&csv, &[]).await;
    let accepted = accepted_ids(&first);
    let changed = accepted[0].clone().unwrap();
    let vanished = accepted[1].clone().unwrap();

    // A refresh: one item was edited (new updatedAt), one was deleted.
    for r in &mut records {
        if r.id == changed {
            r.updated_at += 60;
        }
    }
    records.retain(|r| r.id != vanished);
    install(&run, &records);

    let second = run.answer(&csv, &[]).await;
    assert_eq!(second.summary.forgotten, 2, "{:?}", second.summary);
    assert_eq!(second.summary.remembered, first.summary.accepted - 2);
    // The edited item is matched afresh (and remembered again with its new updatedAt).
    assert_ne!(
        second.entries[0].method,
        cachearr_library::MatchMethod::Remembered
    );
    assert_eq!(accepted_ids(&second)[0].as_deref(), Some(changed.as_str()));
    // The deleted item is never answered again.
    assert!(
        second
            .entries
            .iter()
            .all(|e| e.best.as_ref().is_none_or(|b| b.id != vanished))
    );
    let stored = MatchStore::load(&store_path(run.data.path(), "plex")).unwrap();
    assert_eq!(stored.len(), second.summary.accepted);
    // The third run is all memories.
    let third = run.answer(&csv, &[]).await;
    assert_eq!(third.summary.remembered, second.summary.accepted);
    assert_eq!(third.summary.forgotten, 0);
}

#[tokio::test]
async fn users_get_answers_only_from_the_sections_they_may_see() {
    let run = start(Some("admin-secret")).await;
    let records = records(&run.sim);
    install(&run, &records);
    let (csv, _) = playlist(&records);

    // Without a user token this is the administrator's request: the admin token is needed.
    let (status, body) = run.post(&csv, "text/csv", &[]).await;
    assert_eq!(status, 401, "{body}");
    let admin = run
        .answer(&csv, &[("authorization", "Bearer admin-secret")])
        .await;
    assert_eq!(admin.scope, "everything");

    // bob sees the music sections whole: the same answers, the server asked once for his
    // sections and once for each of their item counts (the proof that it hides nothing from
    // him there).
    let bob = run.token_of("bob");
    let before = run.sim_requests().await;
    let as_bob = run.answer(&csv, &[("x-plex-token", &bob)]).await;
    assert_eq!(as_bob.scope, "user");
    assert_eq!(as_bob.summary.accepted, admin.summary.accepted);
    let mut sections = as_bob.sections.clone().unwrap();
    sections.sort();
    assert_eq!(sections, vec!["1".to_string(), "4".to_string()]);
    let _ = run.answer(&csv, &[("x-cachearr-user-token", &bob)]).await;
    assert_eq!(
        run.sim_requests().await,
        before + 1 + 2 * 3,
        "one /library/sections request, one count of artists, albums and tracks in each of \
         sections 1 and 4, then remembered"
    );
    assert_eq!(as_bob.withheld_sections, None);

    // kid sees movies and shows only: no track is offered, not even as a rejected candidate.
    let kid = run.token_of("kid");
    let as_kid = run.answer(&csv, &[("x-plex-token", &kid)]).await;
    assert_eq!(as_kid.summary.accepted, 0);
    assert!(as_kid.entries.iter().all(|e| e.best.is_none()));

    // A token the server does not know is refused.
    let (status, body) = run
        .post(&csv, "text/csv", &[("x-plex-token", "not-a-token")])
        .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn json_and_m3u_playlists_are_read_too() {
    let run = start(None).await;
    let records = records(&run.sim);
    install(&run, &records);
    let track = records
        .iter()
        .find(|r| r.kind == ItemKind::Track && r.title.len() > 8)
        .unwrap();
    let json = serde_json::json!([{
        "artist": track.artists.join(", "),
        "title": track.title,
        "duration": track.duration_ms.unwrap_or(0) / 1000,
    }])
    .to_string();
    let (status, body) = run.post(&json, "application/json", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"]["accepted"], 1, "{body}");
    let m3u = format!(
        "#EXTM3U\n#EXTINF:{},{} - {}\n/music/x.flac\n",
        track.duration_ms.unwrap_or(0) / 1000,
        track.artists.join(", "),
        track.title
    );
    let (status, body) = run.post(&m3u, "audio/x-mpegurl", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"]["accepted"], 1, "{body}");
    let (status, body) = run.post("{not json", "application/json", &[]).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_unknown_upstream_is_named_to_a_user_and_the_admin_token_asked_of_anyone_else() {
    // A Jellyfin gateway: a user's token is in Jellyfin's own form, which only its server's
    // reading finds.
    let sim = Sim::builder()
        .tracks(50)
        .seed(5)
        .cost(cachearr_sim::cost::CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(cachearr_sim::jellyfin::JellyfinOptions::default())
        .await
        .unwrap();
    let run = sim_gateway::start_in_front_of(sim, Profile::Jellyfin, |config| {
        config.admin_token = Some("admin-secret".into());
        config.index.enabled = false;
    })
    .await;
    let alice = run
        .sim
        .sim
        .state()
        .users()
        .iter()
        .find(|u| u.name == "alice")
        .unwrap()
        .jellyfin_token
        .clone();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = run
            .client
            .post(format!("{}/api/match?upstream=nope", run.admin))
            .header("content-type", "text/csv")
            .body("artist,title\nA,B\n");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // A user's token, read as the configured server reads it: the mistyped upstream is said.
    let (status, body) = post(vec![("X-Emby-Token", alice)]).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("no upstream named"), "{body}");
    // No token at all: the admin token is asked for before anything is said of upstreams.
    let (status, body) = post(vec![]).await;
    assert_eq!(status, 401, "{body}");
}
