//! A Jellyfin server upgraded from 10.11 to 12.0 under a running gateway: cachearr notices
//! (the change feed's socket drops with the restart and its return has the release read
//! again), drops what it cached from 10.11, and answers every request as 12 does — the legacy
//! credential forms refused by the server, not by cachearr.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::{JellyfinOptions, JellyfinVersion};
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::http::json_answer;
use proxy_common::{Harness, header, start_gateway};

/// One request's answer: status and body.
type Answer = (u16, String);

async fn ask(client: &reqwest::Client, base: &str, path: &str, credential: (&str, &str)) -> Answer {
    let r = client
        .get(format!("{base}{path}"))
        .header(credential.0, credential.1)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn gateway_at(srv: &TestServer, owner: &str) -> Harness {
    let owner = owner.to_owned();
    start_gateway(srv.addr, Profile::Jellyfin, move |config| {
        config.upstreams[0].token = Some(owner);
        config.upstreams[0].guard.background_rate_per_sec = 10_000.0;
        config.upstreams[0].guard.background_max_concurrent = 16;
    })
    .await
}

/// Waits until the gateway says the server runs `version`.
async fn release_followed(h: &Harness, version: &'static str) {
    let up = h.gateway.upstreams()[0].clone();
    cachearr_testkit::eventually(
        "the server's release followed",
        std::time::Duration::from_secs(30),
        async || up.server_version().as_deref() == Some(version),
    )
    .await;
}

#[tokio::test]
async fn an_upgrade_to_12_under_a_running_gateway_is_followed_with_12s_answers() {
    let srv = Sim::builder()
        .tracks(120)
        .movies(12)
        .shows(1)
        .seed(3)
        .cost(CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(JellyfinOptions {
            version: JellyfinVersion::V10_11,
            ..JellyfinOptions::default()
        })
        .await
        .unwrap();
    let (owner, user_token) = {
        let state = srv.sim.state();
        let user = state.users().iter().find(|u| !u.is_owner).unwrap().clone();
        (state.owner().jellyfin_token.clone(), user.jellyfin_token)
    };
    let h = gateway_at(&srv, &owner).await;
    release_followed(&h, "10.11.11").await;

    let client = &h.client;
    let (through, direct) = (h.url(""), srv.base_url.clone());
    let modern = format!(r#"MediaBrowser Client="upgrade", Token="{user_token}""#);
    let modern = ("Authorization", modern.as_str());
    let legacy = ("X-Emby-Token", user_token.as_str());
    let views = json_answer(
        client
            .get(format!("{direct}/UserViews"))
            .header(modern.0, modern.1),
    )
    .await;
    let view = views["Items"][0]["Id"].as_str().unwrap().to_owned();
    // Answers 12 gives otherwise than 10.11: its version, a filtered listing under a library
    // (recursive on 12), a sort whose ties 12 breaks by name.
    let reads = [
        "/System/Info/Public".to_owned(),
        format!("/Items?ParentId={view}&IncludeItemTypes=MusicAlbum&Limit=10"),
        "/Items?Recursive=true&IncludeItemTypes=Audio&SortBy=ProductionYear&Limit=20".to_owned(),
    ];
    // The server accepting the token first lets it see shared answers (the identity).
    assert_eq!(ask(client, &through, "/Users/Me", modern).await.0, 200);
    let mut before = Vec::new();
    for path in &reads {
        let first = ask(client, &through, path, modern).await;
        assert_eq!(
            first,
            ask(client, &direct, path, modern).await,
            "{path} on 10.11"
        );
        // Now held by cachearr: a second read is answered without the server.
        let r = client
            .get(format!("{through}{path}"))
            .header(modern.0, modern.1)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = header(&r, "cache-status").to_owned();
        assert!(status.contains("; hit"), "{path} not cached: {status}");
        before.push(first);
    }
    assert_eq!(ask(client, &through, "/Users/Me", legacy).await.0, 200);
    // A listing read in the legacy form, twice: cachearr remembers how it read that request.
    let listing = &reads[1];
    for _ in 0..2 {
        assert_eq!(ask(client, &through, listing, legacy).await.0, 200);
    }

    let switched = client
        .post(format!("{direct}/_sim/jellyfin/version"))
        .json(&serde_json::json!({ "version": "12.0.0" }))
        .send()
        .await
        .unwrap();
    assert!(switched.status().is_success());
    release_followed(&h, "12.0.0").await;

    let mut changed = 0;
    for (path, old) in reads.iter().zip(&before) {
        let now = ask(client, &through, path, modern).await;
        assert_eq!(
            now,
            ask(client, &direct, path, modern).await,
            "{path} on 12"
        );
        assert_eq!(now.0, 200, "{path}: {now:?}");
        changed += usize::from(now != *old);
    }
    // The upgrade changed answers cachearr held: what it served from 10.11 would be wrong.
    assert_eq!(
        changed,
        reads.len(),
        "answers the upgrade left as they were"
    );
    // The server, not cachearr, refuses the legacy form: the listing's entry is the user's
    // again (read above in the current form), yet the request read under 10.11 is not served
    // from it.
    for path in ["/Users/Me", listing.as_str(), listing.as_str()] {
        let refused = ask(client, &through, path, legacy).await;
        assert_eq!(
            refused.0,
            ask(client, &direct, path, legacy).await.0,
            "{path}"
        );
        assert_eq!(refused.0, 401, "{path}: {refused:?}");
    }
}

/// A gateway restarted on its data directory reads requests by the release its last run saw,
/// from the first request: even while the server's identity route fails (nothing confirms
/// the release), a legacy credential — which 12 refuses — gets the server's refusal, not the
/// answer the earlier run kept on disk for the same user. Once the server answers its identity
/// again, the release is confirmed.
#[tokio::test]
async fn a_restarted_gateway_reads_requests_by_the_release_it_kept() {
    use cachearr_sim::control::Faults;
    use cachearr_testkit::sim_gateway;

    let srv = Sim::builder()
        .tracks(60)
        .movies(6)
        .shows(1)
        .seed(5)
        .cost(CostModel::zero())
        .build()
        .unwrap()
        .start_jellyfin_test_server(JellyfinOptions {
            version: JellyfinVersion::V12_0,
            ..JellyfinOptions::default()
        })
        .await
        .unwrap();
    let (owner, user_token) = {
        let state = srv.sim.state();
        let user = state.users().iter().find(|u| !u.is_owner).unwrap().clone();
        (state.owner().jellyfin_token.clone(), user.jellyfin_token)
    };
    let data = tempfile::tempdir().unwrap();
    let config = || {
        let mut config =
            sim_gateway::loopback_config(Profile::Jellyfin, &srv.base_url, data.path());
        config.upstreams[0].token = Some(owner.clone());
        config.cache.disk.enabled = true;
        config
    };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let modern = format!(r#"MediaBrowser Client="restart", Token="{user_token}""#);
    let modern = ("Authorization", modern.as_str());
    let legacy = ("X-Emby-Token", user_token.as_str());
    let path = "/Items?Recursive=true&IncludeItemTypes=Audio&SortBy=ProductionYear&Limit=20";

    let first = sim_gateway::serve(sim_gateway::gateway_builder(config())).await;
    let up = first.gateway.upstreams()[0].clone();
    cachearr_testkit::eventually(
        "the server's release read",
        std::time::Duration::from_secs(30),
        async || up.server_version().as_deref() == Some("12.0.0"),
    )
    .await;
    let answer = ask(&client, &first.proxy, path, modern).await;
    assert_eq!(answer.0, 200, "{answer:?}");
    let kept = cachearr_gateway::data_files::file_path(data.path(), &up.name, "release");
    assert_eq!(std::fs::read_to_string(&kept).unwrap().trim(), "12.0.0");
    let sim_gateway::Served {
        gateway,
        stop,
        task,
        ..
    } = first;
    let _ = stop.send(());
    task.await.unwrap();
    drop((gateway, up));

    // From now on the server does not say its release.
    srv.sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 503,
        path_prefix: Some("/System/Info/Public".into()),
        ..Faults::default()
    });
    let second = sim_gateway::serve(sim_gateway::gateway_builder(config())).await;
    let up = second.gateway.upstreams()[0].clone();
    // Known before any request, not confirmed.
    assert_eq!(up.server_version().as_deref(), Some("12.0.0"));
    assert!(!up.release_confirmed());
    // The user's answer kept on disk by the first run is theirs in the current form …
    let again = client
        .get(format!("{}{path}", second.proxy))
        .header(modern.0, modern.1)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = header(&again, "cache-status").to_owned();
    assert!(
        status.contains("; hit"),
        "not kept across the restart: {status}"
    );
    assert_eq!((200, again.text().await.unwrap()), answer);
    // … but a legacy credential is no credential to 12: the server refuses it, as it would
    // directly.
    let refused = ask(&client, &second.proxy, path, legacy).await;
    assert_eq!(refused.0, ask(&client, &srv.base_url, path, legacy).await.0);
    assert_eq!(refused.0, 401, "{refused:?}");
    assert!(!up.release_confirmed());

    // The server says its release again (its socket comes back): confirmed, nothing dropped.
    srv.sim.set_faults(Faults::default());
    let read = cachearr_gateway::server_version::read(second.gateway.cache(), &up).await;
    assert!(!read, "the release did not change");
    assert!(up.release_confirmed());
    assert_eq!(up.release_changes(), 0);
    let _ = second.stop.send(());
    second.task.await.unwrap();
}
