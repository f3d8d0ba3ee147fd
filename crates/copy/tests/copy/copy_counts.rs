//! Counts answered from the library copy: a section's size asked as a listing's page of one
//! item (`X-Plex-Container-Size=1`, as Tautulli's library statistics ask it, of every kind
//! of every section). After its crawl the gateway proves the counts' frames with reads of its
//! own; the owner's counts then reach the server not once, their items' play state read with
//! one metadata read for all of them, and every count through the gateway is the server's
//! own answer for that user, before and after a play.
#![allow(clippy::unwrap_used, missing_docs)]

use cachearr_testkit::sim_gateway;

use cachearr_copy::GatewayLibrary as _;
use cachearr_engine::Clock as _;

async fn get_xml(base: &str, path: &str, token: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("X-Plex-Token", token)
        .header("X-Plex-Client-Identifier", "count-tests")
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Tautulli's counts: every kind the index holds of each section, a page of one item.
fn counts() -> Vec<String> {
    [
        ("1", ["8", "9", "10"].as_slice()),
        ("2", &["1"]),
        ("3", &["4"]),
    ]
    .iter()
    .flat_map(|(section, types)| {
        types.iter().map(move |t| {
            format!(
                "/library/sections/{section}/all?X-Plex-Container-Start=0\
                     &X-Plex-Container-Size=1&type={t}"
            )
        })
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_counts_come_from_the_copy_with_one_read_of_their_items() {
    let sim = cachearr_sim::Sim::start_plex_for_tests().await.unwrap();
    // Restarted an hour on: what the crawl's own reads left in the cache, the owner's play
    // state among them, is no longer fresh to hide a read; and the library is not read again
    // at once.
    let hour_on = cachearr_engine::SystemClock.now_ms() + 3_600_000;
    let clock = std::sync::Arc::new(cachearr_engine::ManualClock::new(hour_on));
    let (served, _data) = sim_gateway::restarted_after_probes(
        &sim,
        |config| config.index.catch_up_after = std::time::Duration::from_secs(24 * 3600),
        |builder| builder.clock(clock),
    )
    .await;
    let status = served.gateway.index("plex").unwrap().status();
    assert!(status.copy.shapes_proven >= 5, "{:?}", status.copy);

    let owner = sim.token.clone();
    let (listings, metadata) = (
        sim_gateway::requests_on(&sim, "/all"),
        sim_gateway::requests_on(&sim, "/metadata"),
    );
    for path in counts() {
        let (status, via) = get_xml(&served.proxy, &path, &owner).await;
        let (direct_status, direct) = get_xml(&sim.base_url, &path, &owner).await;
        assert_eq!((status, direct_status), (200, 200), "{path}");
        sim_gateway::assert_same_answer(&via, &direct, &path);
    }
    let asked = counts().len() as u64;
    assert_eq!(
        sim_gateway::requests_on(&sim, "/all") - listings,
        asked,
        "only the direct reads reach the server's listings"
    );
    assert!(
        sim_gateway::requests_on(&sim, "/metadata") - metadata <= 1,
        "the items' state in one read: {}",
        sim_gateway::requests_on(&sim, "/metadata") - metadata
    );

    // A play through the gateway is in the next count at once; and every user's counts are
    // the server's own (a shared user's and a restricted one's go to the server).
    let first_movie = {
        let (_, body) = get_xml(
            &sim.base_url,
            "/library/sections/2/all?X-Plex-Container-Start=0&X-Plex-Container-Size=1&type=1",
            &owner,
        )
        .await;
        let at = body.find("ratingKey=\"").unwrap() + "ratingKey=\"".len();
        body[at..].split('"').next().unwrap().to_owned()
    };
    let scrobble = format!("/:/scrobble?key={first_movie}&identifier=com.plexapp.plugins.library");
    assert_eq!(get_xml(&served.proxy, &scrobble, &owner).await.0, 200);
    let users: Vec<String> = {
        let state = sim.sim.state();
        state.users().iter().map(|u| u.plex_token.clone()).collect()
    };
    for token in &users {
        for path in counts() {
            let (status, via) = get_xml(&served.proxy, &path, token).await;
            let (direct_status, direct) = get_xml(&sim.base_url, &path, token).await;
            assert_eq!(status, direct_status, "{path}");
            sim_gateway::assert_same_answer(&via, &direct, &path);
        }
    }
    drop(served.stop);
    served.task.await.unwrap();
}
