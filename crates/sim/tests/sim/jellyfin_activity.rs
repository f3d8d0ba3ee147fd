//! Jellyfin's activity log: what a playback writes, for administrators only, newest first,
//! from `minDate` on; a mark as played writes nothing.

use cachearr_sim::Sim;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::state::PlaybackState;
use serde_json::{Value, json};

#[tokio::test]
async fn a_playback_writes_its_start_and_stop_with_the_user_and_the_item() {
    let sim = Sim::builder()
        .tracks(40)
        .movies(4)
        .shows(1)
        .seed(3)
        .cost(CostModel::zero())
        .build()
        .expect("sim builds");
    let server = sim
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .expect("server starts");
    let (alice, bob) = {
        let state = sim.state();
        let find = |name: &str| state.users().iter().find(|u| u.name == name).cloned();
        (find("alice").expect("alice"), find("bob").expect("bob"))
    };
    let (movie, track) = {
        let lib = sim.library();
        let first = |kind: ItemKind| {
            lib.sections()
                .iter()
                .find_map(|s| s.items(kind).first().copied())
                .expect("an item")
        };
        let (movie, track) = (first(ItemKind::Movie), first(ItemKind::Track));
        (
            (movie, lib.item(movie).expect("movie").guid_id()),
            (track, lib.item(track).expect("track").guid_id()),
        )
    };
    let http = reqwest::Client::new();
    let entries = |token: &str, query: &str| {
        http.get(format!(
            "{}/System/ActivityLog/Entries{query}",
            server.base_url
        ))
        .header("X-Emby-Token", token)
        .send()
    };
    let empty: Value = entries(&server.token, "")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["TotalRecordCount"], 0, "{empty}");

    // Alice plays the movie on her client: a start, then a stop.
    let report = |path: &'static str, ticks: i64| {
        http.post(format!("{}/Sessions/Playing{path}", server.base_url))
            .header("X-Emby-Token", &alice.jellyfin_token)
            .json(&json!({"ItemId": movie.1, "PositionTicks": ticks}))
            .send()
    };
    assert_eq!(report("", 0).await.unwrap().status(), 204);
    assert_eq!(report("/Progress", 10_000_000).await.unwrap().status(), 204);
    assert_eq!(report("/Stopped", 20_000_000).await.unwrap().status(), 204);
    // Bob's track, played to the end on his TV; then a mark, which is not logged.
    let length = sim.library().item(track.0).expect("track").duration_ms();
    for (state, at) in [
        (PlaybackState::Playing, 0),
        (PlaybackState::Stopped, length),
    ] {
        sim.report_playback(bob.id, track.0, state, at, "tv-1", "Jellyfin for TV");
    }
    assert_eq!(sim.state().play_state(bob.id, track.0).view_count, 1);
    let marked = http
        .post(format!("{}/UserPlayedItems/{}", server.base_url, movie.1))
        .header("X-Emby-Token", &alice.jellyfin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), 200);

    let log: Value = entries(&server.token, "?hasUserId=true")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["TotalRecordCount"], 4, "{log}");
    let items = log["Items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["Type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "AudioPlaybackStopped",
            "AudioPlayback",
            "VideoPlaybackStopped",
            "VideoPlayback"
        ],
        "newest first: {log}"
    );
    assert_eq!(items[0]["UserId"], bob.jellyfin_id.as_str());
    assert_eq!(items[0]["ItemId"], track.1.as_str());
    assert_eq!(items[2]["UserId"], alice.jellyfin_id.as_str());
    assert_eq!(items[3]["ItemId"], movie.1.as_str());
    assert_eq!(items[0]["Severity"], "Information");
    assert!(items[0].get("Overview").is_none(), "no null field: {log}");
    let date = items[0]["Date"].as_str().unwrap();
    assert!(date.ends_with(".0000000Z"), "{date}");
    assert!(items[0]["Id"].as_u64().unwrap() > items[1]["Id"].as_u64().unwrap());

    // Paged, and from a date on; a date in the future lists nothing.
    let page: Value = entries(&server.token, "?startIndex=1&limit=2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["Items"].as_array().unwrap().len(), 2);
    assert_eq!(page["StartIndex"], 1);
    let later: Value = entries(&server.token, "?minDate=2100-01-01T00:00:00.0000000Z")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["Items"], json!([]), "{later}");
    let since: Value = entries(&server.token, &format!("?minDate={date}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(since["TotalRecordCount"].as_u64().unwrap() >= 2, "{since}");

    // Administrators only; a malformed date is a 400.
    assert_eq!(
        entries(&alice.jellyfin_token, "").await.unwrap().status(),
        403
    );
    assert_eq!(
        entries(&server.token, "?minDate=soon")
            .await
            .unwrap()
            .status(),
        400
    );
}
