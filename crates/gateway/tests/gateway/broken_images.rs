//! A server that sends a complete, well-framed response holding a broken image (the
//! simulator's `corrupt_image_rate` fault): cachearr passes it on as sent, never stores it,
//! and counts it; once the server sends a whole image again, that one is cached. On Jellyfin
//! images are shared across users, so a stored broken image would reach everyone.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use cachearr_dialect::Profile;
use cachearr_sim::control::Faults;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use proxy_common::{Harness, header, start_gateway};

fn corrupt_images() -> Faults {
    Faults {
        corrupt_image_rate: 1.0,
        ..Faults::default()
    }
}

/// The failed checks counted in `/metrics` (`cachearr_broken_images_total`).
fn broken_images_counted(h: &Harness) -> u64 {
    h.gateway
        .metrics()
        .render()
        .lines()
        .filter(|l| l.starts_with("cachearr_broken_images_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Fetches `path` with `send` through the gateway twice under the fault, checking each answer
/// is the server's broken image, passed on and not stored; then heals the server and checks
/// the whole image is cached.
async fn broken_then_whole<F, Fut>(srv: &TestServer, h: &Harness, send: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let gateway = format!("http://{}", h.proxy);
    let whole = send(srv.base_url.clone())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(whole.starts_with(b"\x89PNG"), "the simulator serves PNGs");
    srv.sim.set_faults(corrupt_images());
    let broken = send(srv.base_url.clone())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(broken.len(), whole.len(), "the fault keeps the framing");
    assert_ne!(broken, whole);
    for round in 0..2u64 {
        let before = srv.sim.stats().total;
        let r = send(gateway.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_ne!(header(&r, "x-cache"), "HIT", "round {round}");
        assert_eq!(
            r.bytes().await.unwrap(),
            broken,
            "passed on as the server sent it"
        );
        assert_eq!(srv.sim.stats().total, before + 1, "went to the server");
    }
    assert_eq!(broken_images_counted(h), 2);
    h.gateway.cache().flush().await;
    let stats = h.gateway.cache().stats();
    let stored = stats.class("images").map_or(0, |c| c.entries);
    assert_eq!(stored, 0, "{stats:?}");
    srv.sim.set_faults(Faults::default());
    let r = send(gateway.clone()).await.unwrap();
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert_eq!(r.bytes().await.unwrap(), whole);
    let r = send(gateway.clone()).await.unwrap();
    assert_eq!(header(&r, "x-cache"), "HIT");
    assert_eq!(r.bytes().await.unwrap(), whole);
    assert_eq!(broken_images_counted(h), 2);
}

#[tokio::test]
async fn plex_broken_images_are_passed_on_and_never_stored() {
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |_| {}).await;
    let owner = srv.sim.state().owner().plex_token.clone();
    let movie = {
        let lib = srv.sim.library();
        lib.section(cachearr_sim::library::MOVIES_SECTION)
            .unwrap()
            .items(ItemKind::Movie)[0]
    };
    let client = h.client.clone();
    let path = format!("/library/metadata/{movie}/thumb/1700000000");
    broken_then_whole(&srv, &h, |base| {
        client
            .get(format!("{base}{path}"))
            .header("X-Plex-Token", &owner)
            .send()
    })
    .await;
}

#[tokio::test]
async fn jellyfin_broken_images_are_never_shared_with_other_users() {
    let sim = Sim::builder()
        .tracks(40)
        .movies(4)
        .shows(1)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let srv = sim
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    let h = start_gateway(srv.addr, Profile::Jellyfin, |_| {}).await;
    let (owner, bob) = {
        let state = srv.sim.state();
        let users = state.users();
        let bob = users.iter().find(|u| u.name == "bob").unwrap();
        (users[0].jellyfin_token.clone(), bob.jellyfin_token.clone())
    };
    let movie = {
        let lib = srv.sim.library();
        let id = lib
            .sections()
            .iter()
            .flat_map(|s| s.items(ItemKind::Movie).to_vec())
            .next()
            .unwrap();
        lib.item(id).unwrap().guid_id()
    };
    let gateway = format!("http://{}", h.proxy);
    // Both tokens are accepted by the server first, so both are trusted for shared entries.
    for token in [&owner, &bob] {
        let r = h
            .client
            .get(format!("{gateway}/UserViews"))
            .header("X-Emby-Token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let path = format!("/Items/{movie}/Images/Primary?tag=0&maxWidth=64");
    let client = h.client.clone();
    // The owner's and bob's requests alternate: neither ever gets the other's broken copy
    // from the cache, and the whole image, once cached, is what both get.
    let turn = std::sync::atomic::AtomicUsize::new(0);
    broken_then_whole(&srv, &h, |base| {
        let n = turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = if n.is_multiple_of(2) { &owner } else { &bob };
        client
            .get(format!("{base}{path}"))
            .header("X-Emby-Token", token)
            .send()
    })
    .await;
}
