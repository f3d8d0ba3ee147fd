//! End-to-end against the simulated Plex server (`cachearr-sim`): answers through cachearr
//! equal direct answers for every user, writes invalidate, faults degrade as promised.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use std::collections::HashMap;
use std::time::Duration;

use cachearr_dialect::Profile;
use cachearr_sim::Sim;
use cachearr_sim::control::Faults;
use proxy_common::{Harness, header, start_gateway};

struct Req {
    path: String,
    token: String,
    json: bool,
    paging: Option<(u32, u32, bool)>,
}

async fn send(client: &reqwest::Client, base: &str, r: &Req) -> reqwest::Response {
    let mut path = r.path.clone();
    let mut b = client.get("http://invalid/");
    if let Some((start, size, by_header)) = r.paging {
        if by_header {
            b = b
                .header("X-Plex-Container-Start", start.to_string())
                .header("X-Plex-Container-Size", size.to_string());
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            path =
                format!("{path}{sep}X-Plex-Container-Start={start}&X-Plex-Container-Size={size}");
        }
    }
    b = client
        .get(format!("{base}{path}"))
        .headers(b.build().unwrap().headers().clone());
    b = b
        .header("X-Plex-Token", &r.token)
        .header("X-Plex-Client-Identifier", "test-client");
    if r.json {
        b = b.header("Accept", "application/json");
    }
    b.send().await.unwrap()
}

async fn body_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

fn sections(srv: &cachearr_sim::TestServer) -> Vec<u32> {
    srv.sim.library().sections().iter().map(|s| s.id).collect()
}

async fn start() -> (cachearr_sim::TestServer, Harness) {
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |_| {}).await;
    (srv, h)
}

#[tokio::test]
async fn randomised_traffic_from_many_users_never_mixes_answers() {
    let (srv, h) = start().await;
    let users: Vec<(String, String)> = srv
        .sim
        .state()
        .users()
        .iter()
        .map(|u| (u.name.clone(), u.plex_token.clone()))
        .collect();
    assert!(
        users.len() >= 4,
        "the simulator has restricted users (bob, kid)"
    );
    let mut paths = vec![
        "/library/sections".to_string(),
        "/library/onDeck".to_string(),
        "/library/recentlyAdded".to_string(),
        "/playlists".to_string(),
        "/hubs/search?query=the&limit=5".to_string(),
    ];
    for s in sections(&srv) {
        paths.push(format!("/library/sections/{s}/all"));
        paths.push(format!("/library/sections/{s}/recentlyAdded"));
    }
    // Some items from every section, so restricted users ask for things they may not see.
    let ids: Vec<u32> = {
        let lib = srv.sim.library();
        lib.sections()
            .iter()
            .flat_map(|s| {
                s.items(cachearr_sim::library::ItemKind::Track)
                    .iter()
                    .chain(s.items(cachearr_sim::library::ItemKind::Movie).iter())
                    .take(3)
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for id in &ids {
        paths.push(format!("/library/metadata/{id}"));
        // Artwork too: Plex refuses a hidden item's images, so a cached one must not leak.
        paths.push(format!("/library/metadata/{id}/thumb/1700000000"));
        paths.push(format!(
            "/photo/:/transcode?width=64&height=64&url=%2Flibrary%2Fmetadata%2F{id}%2Fthumb%2F1700000000"
        ));
    }
    let mut rng = fastrand::Rng::with_seed(4);
    let mut requests = Vec::new();
    for _ in 0..400 {
        let (_, token) = &users[rng.usize(..users.len())];
        let path = paths[rng.usize(..paths.len())].clone();
        let paging = if path.ends_with("/all") && rng.bool() {
            Some((rng.u32(0..3) * 20, 20, rng.bool()))
        } else {
            None
        };
        requests.push(Req {
            path,
            token: token.clone(),
            json: rng.bool(),
            paging,
        });
    }
    // Ground truth: every distinct request asked directly (no writes happen in this test).
    let direct = reqwest::Client::new();
    let mut truth: HashMap<String, (u16, String)> = HashMap::new();
    for r in &requests {
        let k = format!(
            "{}|{}|{}|{:?}",
            r.path,
            r.token,
            r.json,
            r.paging.map(|p| (p.0, p.1))
        );
        if let std::collections::hash_map::Entry::Vacant(e) = truth.entry(k) {
            e.insert(body_of(send(&direct, &srv.base_url, r).await).await);
        }
    }
    srv.sim.reset_stats();
    let base = format!("http://{}", h.proxy);
    let mut hits = 0;
    for r in &requests {
        let k = format!(
            "{}|{}|{}|{:?}",
            r.path,
            r.token,
            r.json,
            r.paging.map(|p| (p.0, p.1))
        );
        let resp = send(&h.client, &base, r).await;
        if header(&resp, "x-cache") == "HIT" {
            hits += 1;
        }
        let got = body_of(resp).await;
        let want = &truth[&k];
        assert_eq!(got.0, want.0, "status of {k}");
        assert_eq!(got.1, want.1, "body of {k}");
    }
    let upstream = srv.sim.stats().total;
    assert!(hits > 100, "only {hits} hits");
    // A user reading a listing and then its items in order gets the rest of the page batched
    // (one request each, its parts checked with everything else above).
    let batches = h
        .gateway
        .batcher()
        .stats
        .batches
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        upstream <= truth.len() as u64 + batches,
        "{upstream} upstream requests for {} keys and {batches} batches",
        truth.len()
    );
}

/// The images of an item in a section a user may not see: the simulator refuses them to that
/// user directly (as Plex does), and cachearr must not hand them over from the cache after a user
/// who may see them fetched them.
#[tokio::test]
async fn a_restricted_user_never_gets_a_cached_image_of_a_hidden_item() {
    let (srv, h) = start().await;
    let (owner, bob) = {
        let state = srv.sim.state();
        let bob = state.users().iter().find(|u| u.name == "bob").unwrap();
        assert!(!bob.can_see_section(cachearr_sim::library::MOVIES_SECTION));
        (state.owner().plex_token.clone(), bob.plex_token.clone())
    };
    let movie = {
        let lib = srv.sim.library();
        lib.section(cachearr_sim::library::MOVIES_SECTION)
            .unwrap()
            .items(cachearr_sim::library::ItemKind::Movie)[0]
    };
    let base = format!("http://{}", h.proxy);
    let direct = reqwest::Client::new();
    // Both tokens are accepted by the server first, so both would be trusted for shared scope.
    for token in [&owner, &bob] {
        let r = Req {
            path: "/library/sections".into(),
            token: token.clone(),
            json: false,
            paging: None,
        };
        assert_eq!(send(&h.client, &base, &r).await.status(), 200);
    }
    for path in [
        format!("/library/metadata/{movie}/thumb/1700000000"),
        format!("/library/metadata/{movie}/art/1700000000"),
        format!(
            "/photo/:/transcode?width=100&height=100&url=%2Flibrary%2Fmetadata%2F{movie}%2Fthumb%2F1"
        ),
    ] {
        let as_user = |token: &str| Req {
            path: path.clone(),
            token: token.to_owned(),
            json: false,
            paging: None,
        };
        // The simulator is faithful: the owner gets the image, bob a 404.
        assert_eq!(
            send(&direct, &srv.base_url, &as_user(&owner))
                .await
                .status(),
            200
        );
        assert_eq!(
            send(&direct, &srv.base_url, &as_user(&bob)).await.status(),
            404,
            "{path}"
        );

        let first = send(&h.client, &base, &as_user(&owner)).await;
        assert_eq!(
            (first.status().as_u16(), header(&first, "x-cache")),
            (200, "MISS")
        );
        let again = send(&h.client, &base, &as_user(&owner)).await;
        assert_eq!(
            (again.status().as_u16(), header(&again, "x-cache")),
            (200, "HIT")
        );
        let before = srv.sim.stats().total;
        let refused = send(&h.client, &base, &as_user(&bob)).await;
        assert_eq!(
            refused.status(),
            404,
            "bob got a hidden item's image: {path}"
        );
        assert_ne!(header(&refused, "x-cache"), "HIT", "{path}");
        assert_eq!(
            srv.sim.stats().total,
            before + 1,
            "bob's request went to the server"
        );
        // And bob's refusal is not served to the owner either.
        let owner_again = send(&h.client, &base, &as_user(&owner)).await;
        assert_eq!(owner_again.status(), 200, "{path}");
    }
}

/// `path` read straight from the simulated server with `token`, past cachearr.
async fn direct(srv: &cachearr_sim::TestServer, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", srv.base_url))
        .header("X-Plex-Token", token)
        .send()
        .await
        .unwrap()
}

async fn first_episode(srv: &cachearr_sim::TestServer) -> u32 {
    let lib = srv.sim.library();
    lib.sections()
        .iter()
        .find(|s| !s.items(cachearr_sim::library::ItemKind::Episode).is_empty())
        .map(|s| s.items(cachearr_sim::library::ItemKind::Episode)[0])
        .unwrap()
}

#[tokio::test]
async fn a_scrobble_through_cachearr_refreshes_on_deck_and_metadata() {
    let (srv, h) = start().await;
    let alice = srv.sim.state().users()[1].plex_token.clone();
    let ep = first_episode(&srv).await;
    let deck = |h: &Harness| {
        let (client, url, alice) = (h.client.clone(), h.url("/library/onDeck"), alice.clone());
        async move {
            let r = client
                .get(url)
                .header("X-Plex-Token", alice)
                .send()
                .await
                .unwrap();
            let x = r.headers()["x-cache"].to_str().unwrap().to_string();
            (x, r.text().await.unwrap())
        }
    };
    let (x, before) = deck(&h).await;
    assert_eq!(x, "MISS");
    assert_eq!(deck(&h).await.0, "HIT");
    let meta_path = format!("/library/metadata/{ep}");
    let m1 = h.get(&meta_path, Some(&alice)).await.text().await.unwrap();
    assert!(!m1.contains("viewCount=\"1\""));
    let w = h
        .get(
            &format!("/:/scrobble?key={ep}&identifier=com.plexapp.plugins.library"),
            Some(&alice),
        )
        .await;
    assert_eq!(w.status(), 200);
    let (x, after) = deck(&h).await;
    assert_eq!(x, "MISS", "on deck must be refetched after a scrobble");
    assert_ne!(before, after, "the next episode is on deck now");
    let direct = direct(&srv, "/library/onDeck", &alice)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(after, direct);
    let m2 = h.get(&meta_path, Some(&alice)).await;
    assert_eq!(header(&m2, "x-cache"), "MISS");
    assert!(m2.text().await.unwrap().contains("viewCount=\"1\""));
}

/// What a client reads as it connects (python-plexapi: `GET /`, then `GET /library`) is each
/// user's cached answer, the server's own, until a session starts.
#[tokio::test]
async fn a_client_connecting_again_costs_the_server_nothing() {
    let (srv, h) = start().await;
    let users = srv.sim.state().users().to_vec();
    for path in ["/", "/library"] {
        for user in &users {
            let first = h.get(path, Some(&user.plex_token)).await;
            assert_eq!(header(&first, "x-cache"), "MISS", "{path}");
            let again = h.get(path, Some(&user.plex_token)).await;
            assert_eq!(header(&again, "x-cache"), "HIT", "{path} as {}", user.name);
            let direct = direct(&srv, path, &user.plex_token)
                .await
                .text()
                .await
                .unwrap();
            assert_eq!(
                again.text().await.unwrap(),
                direct,
                "{path} as {}",
                user.name
            );
        }
    }
    // A session starting changes the server's live counts: `/` is read again.
    let alice = &users[1].plex_token;
    let ep = first_episode(&srv).await;
    let beat = h
        .get(
            &format!("/:/timeline?ratingKey={ep}&key=/library/metadata/{ep}&state=playing&time=1000&duration=60000"),
            Some(alice),
        )
        .await;
    assert!(beat.status().is_success(), "{}", beat.status());
    assert_eq!(header(&h.get("/", Some(alice)).await, "x-cache"), "MISS");
    assert_eq!(
        header(&h.get("/library", Some(alice)).await, "x-cache"),
        "HIT"
    );
}

#[tokio::test]
async fn timeline_heartbeats_invalidate_only_on_state_changes() {
    let (srv, h) = start().await;
    let alice = srv.sim.state().users()[1].plex_token.clone();
    let ep = first_episode(&srv).await;
    let _ = h.get("/library/onDeck", Some(&alice)).await;
    let beat = |state: &str, t: u32| {
        format!(
            "/:/timeline?ratingKey={ep}&key=/library/metadata/{ep}&state={state}&time={t}&duration=1800000"
        )
    };
    assert_eq!(
        h.get(&beat("playing", 1000), Some(&alice)).await.status(),
        200
    );
    assert_eq!(
        header(&h.get("/library/onDeck", Some(&alice)).await, "x-cache"),
        "MISS"
    );
    // Same state again: a beat, not a change.
    assert_eq!(
        h.get(&beat("playing", 11000), Some(&alice)).await.status(),
        200
    );
    assert_eq!(
        header(&h.get("/library/onDeck", Some(&alice)).await, "x-cache"),
        "HIT"
    );
    assert_eq!(
        h.get(&beat("stopped", 12000), Some(&alice)).await.status(),
        200
    );
    let r = h.get("/library/onDeck", Some(&alice)).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(&format!("ratingKey=\"{ep}\""))
    );
}

#[tokio::test]
async fn a_heartbeat_back_on_an_item_after_another_is_a_change() {
    let (srv, h) = start().await;
    let alice = srv.sim.state().users()[1].plex_token.clone();
    let episodes = srv
        .sim
        .library()
        .sections()
        .iter()
        .find(|s| s.items(cachearr_sim::library::ItemKind::Episode).len() > 1)
        .map(|s| s.items(cachearr_sim::library::ItemKind::Episode)[..2].to_vec())
        .unwrap();
    let (x, y) = (episodes[0], episodes[1]);
    let beat = |item: u32, t: u32| {
        format!(
            "/:/timeline?ratingKey={item}&key=/library/metadata/{item}&state=playing&time={t}&duration=1800000"
        )
    };
    let item = format!("/library/metadata/{x}");
    assert_eq!(h.get(&beat(x, 1000), Some(&alice)).await.status(), 200);
    assert_eq!(h.get(&beat(y, 1000), Some(&alice)).await.status(), 200);
    let _ = h.get(&item, Some(&alice)).await;
    assert_eq!(header(&h.get(&item, Some(&alice)).await, "x-cache"), "HIT");
    // The player goes back to the first item: the server counts a new playback of it.
    srv.sim.advance_clock(5);
    assert_eq!(h.get(&beat(x, 2000), Some(&alice)).await.status(), 200);
    let through = h.get(&item, Some(&alice)).await.text().await.unwrap();
    let direct = direct(&srv, &item, &alice).await.text().await.unwrap();
    assert_eq!(through, direct);
}

#[tokio::test]
async fn a_second_player_starting_an_item_another_plays_is_a_change() {
    let (srv, h) = start().await;
    let alice = srv.sim.state().users()[1].plex_token.clone();
    let x = srv
        .sim
        .library()
        .sections()
        .iter()
        .find_map(|s| {
            s.items(cachearr_sim::library::ItemKind::Episode)
                .first()
                .copied()
        })
        .unwrap();
    let beat = |player: &str, t: u32| {
        format!(
            "/:/timeline?ratingKey={x}&key=/library/metadata/{x}&state=playing&time={t}\
             &duration=1800000&X-Plex-Client-Identifier={player}"
        )
    };
    let item = format!("/library/metadata/{x}");
    assert_eq!(h.get(&beat("tv", 1000), Some(&alice)).await.status(), 200);
    let _ = h.get(&item, Some(&alice)).await;
    assert_eq!(header(&h.get(&item, Some(&alice)).await, "x-cache"), "HIT");
    // Her phone starts the same episode elsewhere: the server counts a playback of its own
    // (a new resume position and `lastViewedAt`), though the item and state are the TV's.
    srv.sim.advance_clock(5);
    assert_eq!(
        h.get(&beat("phone", 60_000), Some(&alice)).await.status(),
        200
    );
    let through = h.get(&item, Some(&alice)).await.text().await.unwrap();
    let direct = direct(&srv, &item, &alice).await.text().await.unwrap();
    assert_eq!(through, direct);
}

/// python-plexapi's `_allowMediaDeletion(True)` and a new `PlexServer` reading `/`, as its own
/// suite signs the owner in: with the owner's plex.tv account token, which the gateway learns
/// is the owner's when the server accepts it on the owner's settings — so its next read of `/`
/// is the owner's scope's, where `/` was cached before the setting changed.
#[tokio::test]
async fn a_server_setting_written_shows_in_the_servers_own_answer() {
    let (srv, h) = start().await;
    let owner = srv.token.clone();
    let account = {
        let admin = srv.sim.state().users()[0].clone();
        srv.sim.plextv().account_token(&admin)
    };
    let _ = h.get("/", Some(&owner)).await;
    assert_eq!(header(&h.get("/", Some(&owner)).await, "x-cache"), "HIT");
    let put = h
        .client
        .put(h.url("/:/prefs?allowMediaDeletion=1"))
        .header("X-Plex-Token", &account)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    for token in [&account, &owner] {
        let through = h.get("/", Some(token)).await.text().await.unwrap();
        assert!(through.contains("allowMediaDeletion=\"1\""), "{through}");
        assert_eq!(
            through,
            direct(&srv, "/", token).await.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn an_invited_users_refused_sessions_poll_leaves_their_token_trusted() {
    let (srv, h) = start().await;
    let alice = srv.sim.state().users()[1].plex_token.clone();
    // An invited user: the server refuses their token on its live sessions alone.
    assert_eq!(direct(&srv, "/status/sessions", &alice).await.status(), 401);
    let sections = "/library/sections";
    assert_eq!(
        header(&h.get(sections, Some(&alice)).await, "x-cache"),
        "MISS"
    );
    assert_eq!(
        header(&h.get(sections, Some(&alice)).await, "x-cache"),
        "HIT"
    );
    assert_eq!(h.get("/status/sessions", Some(&alice)).await.status(), 401);
    // That 401 says nothing of the token: what was cached for it is still answered.
    assert_eq!(
        header(&h.get(sections, Some(&alice)).await, "x-cache"),
        "HIT"
    );
    // And the refusal is the answer for this token there: a poll again is not sent on.
    let again = h.get("/status/sessions", Some(&alice)).await;
    assert_eq!(again.status(), 401);
    assert_eq!(header(&again, "x-cache"), "HIT");
    // The owner is still answered by the server with the live sessions.
    let owner = srv.sim.state().users()[0].plex_token.clone();
    assert_eq!(h.get("/status/sessions", Some(&owner)).await.status(), 200);
}

#[tokio::test]
async fn an_invited_users_sessions_refusal_is_kept_minutes_for_them_alone() {
    let (srv, h) = start().await;
    let (owner, alice) = {
        let state = srv.sim.state();
        (
            state.users()[0].plex_token.clone(),
            state.users()[1].plex_token.clone(),
        )
    };
    let poll = |token: &str| {
        let (h, token) = (&h, token.to_string());
        async move {
            let r = h.get("/status/sessions", Some(&token)).await;
            (r.status().as_u16(), header(&r, "x-cache").to_string())
        }
    };
    // Alice's token is one the server accepts: it reads her libraries.
    assert_eq!(h.get("/library/sections", Some(&alice)).await.status(), 200);
    assert_eq!(poll(&alice).await, (401, "MISS".into()));
    // Past the sessions class's negative TTL (10 s), and across a change of the live
    // sessions, the refusal is still hers: her kind did not change.
    h.clock.advance(Duration::from_secs(11));
    let upstream = h.gateway.config().upstreams[0].name.clone();
    h.gateway
        .cache()
        .invalidate_tag(&cachearr_dialect::tags::sessions(&upstream));
    assert_eq!(poll(&alice).await, (401, "HIT".into()));
    h.clock.advance(Duration::from_secs(8 * 60));
    assert_eq!(poll(&alice).await, (401, "HIT".into()));
    // The owner's token is answered by the server, never with alice's refusal.
    assert_eq!(poll(&owner).await, (200, "MISS".into()));
    // Minutes, not for ever: the server is asked again.
    h.clock.advance(Duration::from_secs(2 * 60));
    assert_eq!(poll(&alice).await, (401, "MISS".into()));
    // A token the server has not accepted is refused there as long as a miss is kept.
    let unknown = "not-a-token-of-this-server";
    assert_eq!(poll(unknown).await, (401, "MISS".into()));
    h.clock.advance(Duration::from_secs(11));
    assert_eq!(poll(unknown).await, (401, "MISS".into()));
    // Alice's token revoked: her next read the cache cannot answer finds it refused, and
    // from then on her sessions poll reads nothing cached, the kept refusal included.
    srv.sim.state().revoke_token(&alice);
    assert_eq!(h.get("/library/onDeck", Some(&alice)).await.status(), 401);
    let (status, cache) = poll(&alice).await;
    assert_eq!(status, 401);
    assert_ne!(cache, "HIT");
    assert_eq!(h.get("/library/sections", Some(&alice)).await.status(), 401);
}

#[tokio::test]
async fn simulator_faults_stale_if_error_truncation_and_circuit_breaker() {
    let (srv, h) = start().await;
    let alice = srv.sim.state().users()[1].plex_token.clone();
    let r = h.get("/library/sections", Some(&alice)).await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    let original = r.text().await.unwrap();
    // The server breaks: every request errors. sections: fresh 5 min, stale-if-error 1 day.
    srv.sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 500,
        ..Faults::default()
    });
    h.clock.advance(Duration::from_secs(2 * 3600));
    let r = h.get("/library/sections", Some(&alice)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-cache"), "STALE");
    assert_eq!(r.text().await.unwrap(), original);
    // Truncated bodies are never stored: a clear 502.
    srv.sim.set_faults(Faults {
        truncate_rate: 1.0,
        ..Faults::default()
    });
    for _ in 0..2 {
        let r = h.get("/library/metadata/1", Some(&alice)).await;
        assert_eq!(r.status(), 502, "{}", r.text().await.unwrap());
    }
    srv.sim.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let r = h.get("/library/metadata/2", Some(&alice)).await;
    assert_eq!(r.status(), 502);
    // A dead server: open connections dropped, new ones refused. The breaker opens after 5
    // consecutive failures.
    srv.sim.set_faults(Faults {
        refuse: true,
        drop_rate: 1.0,
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = h
            .get(&format!("/library/metadata/{}", 10 + i), Some(&alice))
            .await;
        statuses.push(r.status().as_u16());
        if r.status() == 503 {
            assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["error"], "upstream_unavailable");
        }
    }
    assert!(
        statuses.iter().all(|s| *s == 502 || *s == 503),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
    // Stale data is still served while the circuit is open.
    let r = h.get("/library/sections", Some(&alice)).await;
    assert_eq!(header(&r, "x-cache"), "STALE");
    // The server heals; after the cool-down a probe closes the circuit.
    srv.sim.set_faults(Faults::default());
    h.clock.advance(Duration::from_secs(11));
    let r = h.get("/library/metadata/1", Some(&alice)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-cache"), "MISS");
}

/// With `sendfile_min` on, large bodies leave memory hits through `sendfile` from a sealed copy
/// (src/sendfile.rs): two users' large listings, interleaved on the same keep-alive connections
/// and served as hits again and again, must stay byte-identical to the direct answers (partial
/// sends of a 0.5 MB body included).
#[tokio::test]
async fn large_bodies_sent_without_copying_are_byte_identical() {
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |c| {
        c.cache.sendfile_min_bytes = Some(16 * 1024);
    })
    .await;
    let users: Vec<String> = srv
        .sim
        .state()
        .users()
        .iter()
        .take(2)
        .map(|u| u.plex_token.clone())
        .collect();
    let direct = reqwest::Client::new();
    let base = format!("http://{}", srv.addr);
    let via = format!("http://{}", h.proxy);
    // The section with the longest track listing; a page of 60 items and the whole listing (both
    // above the 16 KiB threshold; the whole one needs several partial sends).
    let mut best = (0, 0);
    for s in sections(&srv) {
        let r = Req {
            path: format!("/library/sections/{s}/all?type=10"),
            token: users[0].clone(),
            json: true,
            paging: None,
        };
        let len = body_of(send(&direct, &base, &r).await).await.1.len();
        if len > best.1 {
            best = (s, len);
        }
    }
    let section = best.0;
    assert!(best.1 > 100 * 1024, "longest listing: {} bytes", best.1);
    let pages = [(0u32, 60u32), (0, 100_000)];
    let mut expected = HashMap::new();
    for token in &users {
        for &(start, size) in &pages {
            let r = Req {
                path: format!("/library/sections/{section}/all?type=10"),
                token: token.clone(),
                json: true,
                paging: Some((start, size, true)),
            };
            let (status, body) = body_of(send(&direct, &base, &r).await).await;
            assert_eq!(status, 200);
            assert!(body.len() > 16 * 1024, "{} bytes", body.len());
            expected.insert((token.clone(), size), body);
        }
    }
    for round in 0..4 {
        for token in &users {
            for &(start, size) in &pages {
                let r = Req {
                    path: format!("/library/sections/{section}/all?type=10"),
                    token: token.clone(),
                    json: true,
                    paging: Some((start, size, true)),
                };
                let resp = send(&h.client, &via, &r).await;
                let x_cache = header(&resp, "x-cache").to_string();
                let (status, body) = body_of(resp).await;
                assert_eq!(status, 200);
                assert_eq!(x_cache, if round == 0 { "MISS" } else { "HIT" });
                assert!(
                    body == expected[&(token.clone(), size)],
                    "round {round}, size {size}: body differs from the direct answer"
                );
            }
        }
    }
}

/// A parameter the key and the server could read differently — paging in a header and in
/// the query, a parameter repeated with two values — is passed through, so each such request
/// gets the server's own reading and never a page stored under another's key.
#[tokio::test]
async fn parameters_the_server_could_read_two_ways_are_passed_through() {
    let (srv, h) = start().await;
    let token = srv.token.clone();
    let section = srv.sim.library().sections()[0].id;
    let all = format!("/library/sections/{section}/all");
    let get = |base: String, path: String, start_header: Option<&'static str>| {
        let mut b = h
            .client
            .get(format!("{base}{path}"))
            .header("X-Plex-Token", &token)
            .header("Accept", "application/json");
        if let Some(start) = start_header {
            b = b.header("X-Plex-Container-Start", start);
        }
        async move {
            let r = b.send().await.unwrap();
            let cs = header(&r, "cache-status").to_string();
            (cs, r.text().await.unwrap())
        }
    };
    let direct = format!("http://{}", srv.addr);
    let proxy = h.url("");
    let cases: [(String, Option<&'static str>); 4] = [
        (
            format!("{all}?type=10&X-Plex-Container-Start=50&X-Plex-Container-Size=5"),
            Some("0"),
        ),
        (
            format!(
                "{all}?type=10&X-Plex-Container-Start=0&X-Plex-Container-Start=50&X-Plex-Container-Size=5"
            ),
            None,
        ),
        (
            format!("{all}?type=10&type=9&X-Plex-Container-Size=5"),
            None,
        ),
        (
            format!("{all}?type=9&type=10&X-Plex-Container-Size=5"),
            None,
        ),
    ];
    for (path, start) in &cases {
        for _ in 0..2 {
            let (cs, via) = get(proxy.clone(), path.clone(), *start).await;
            assert_eq!(cs, "cachearr; fwd=bypass; detail=ambiguous-query", "{path}");
            let (_, server) = get(direct.clone(), path.clone(), *start).await;
            assert_eq!(via, server, "{path} with start header {start:?}");
        }
    }
    // Page 50 asked for one way is cached as page 50, whatever was passed through before.
    let page_50 = format!("{all}?type=10&X-Plex-Container-Start=50&X-Plex-Container-Size=5");
    for _ in 0..2 {
        let (cs, via) = get(proxy.clone(), page_50.clone(), None).await;
        assert!(!cs.contains("bypass"), "{cs}");
        let (_, server) = get(direct.clone(), page_50.clone(), None).await;
        assert_eq!(via, server);
    }
}
