//! End-to-end against the simulated Jellyfin server: the Jellyfin profile's routes, every token
//! form, per-user answers equal to direct ones, write invalidation.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use std::collections::HashMap;
use std::time::Duration;

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually;
use cachearr_testkit::http::json_answer;
use proxy_common::{Harness, header, start_gateway};

/// How long background work of the gateway (a refresh behind a stale answer) may take; tests
/// wait for its effect, never for time to pass.
const WAIT: Duration = Duration::from_secs(30);

async fn start() -> (TestServer, Harness) {
    let sim = Sim::builder()
        .tracks(240)
        .movies(12)
        .shows(2)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let srv = sim
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    let h = start_gateway(srv.addr, Profile::Jellyfin, |_| {}).await;
    (srv, h)
}

#[derive(Clone, Copy, Debug)]
enum Auth {
    Header,
    EmbyToken,
    ApiKey,
}

fn request(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    auth: Auth,
) -> reqwest::RequestBuilder {
    match auth {
        Auth::Header => client.get(format!("{base}{path}")).header(
            "Authorization",
            format!(
                r#"MediaBrowser Client="tests", Device="cargo", DeviceId="dev-{}", Version="1.0", Token="{token}""#,
                token.len()
            ),
        ),
        Auth::EmbyToken => client.get(format!("{base}{path}")).header("X-Emby-Token", token),
        Auth::ApiKey => {
            let sep = if path.contains('?') { '&' } else { '?' };
            client.get(format!("{base}{path}{sep}api_key={token}"))
        }
    }
}

fn users(srv: &TestServer) -> Vec<(String, String, String)> {
    srv.sim
        .state()
        .users()
        .iter()
        .map(|u| {
            (
                u.name.clone(),
                u.jellyfin_token.clone(),
                u.jellyfin_id.clone(),
            )
        })
        .collect()
}

fn item_ids(srv: &TestServer, kind: ItemKind, n: usize) -> Vec<String> {
    let lib = srv.sim.library();
    lib.sections()
        .iter()
        .flat_map(|s| s.items(kind).iter().take(n).copied().collect::<Vec<_>>())
        .filter_map(|id| lib.item(id).map(|i| i.guid_id()))
        .collect()
}

#[tokio::test]
async fn randomised_jellyfin_traffic_equals_direct_answers() {
    let (srv, h) = start().await;
    let users = users(&srv);
    let owner = users[0].1.clone();
    let views = json_answer(request(
        &reqwest::Client::new(),
        &srv.base_url,
        "/UserViews",
        &owner,
        Auth::Header,
    ))
    .await;
    let view_ids: Vec<String> = views["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Id"].as_str().unwrap().to_string())
        .collect();
    assert!(view_ids.len() >= 3);
    let mut paths: Vec<String> = vec![
        "/UserViews".into(),
        "/Items/Latest?Limit=10".into(),
        "/UserItems/Resume".into(),
        "/Search/Hints?searchTerm=a&Limit=10".into(),
        "/Artists?Limit=10".into(),
        "/System/Info/Public".into(),
    ];
    for v in &view_ids {
        for start in [0, 20] {
            paths.push(format!(
                "/Items?ParentId={v}&Recursive=true&Limit=20&StartIndex={start}"
            ));
        }
    }
    for id in item_ids(&srv, ItemKind::Track, 3)
        .into_iter()
        .chain(item_ids(&srv, ItemKind::Movie, 3))
    {
        paths.push(format!("/Items/{id}"));
        // Jellyfin serves images to anyone, restricted users included: cachearr shares them, and
        // every user must get what the server would give them.
        paths.push(format!("/Items/{id}/Images/Primary?tag=0&maxWidth=64"));
    }
    let mut rng = fastrand::Rng::with_seed(11);
    let auths = [Auth::Header, Auth::EmbyToken, Auth::ApiKey];
    let mut plan = Vec::new();
    for _ in 0..300 {
        let u = &users[rng.usize(..users.len())];
        let mut path = paths[rng.usize(..paths.len())].clone();
        if rng.u8(..4) == 0 {
            path = format!(
                "/Users/{}/Items?Recursive=true&IncludeItemTypes=Audio&Limit=15",
                u.2
            );
        }
        plan.push((u.1.clone(), path, auths[rng.usize(..3)]));
    }
    let direct = reqwest::Client::new();
    let mut truth: HashMap<(String, String), (u16, String)> = HashMap::new();
    for (token, path, auth) in &plan {
        let k = (token.clone(), path.clone());
        if let std::collections::hash_map::Entry::Vacant(e) = truth.entry(k) {
            let r = request(&direct, &srv.base_url, path, token, *auth)
                .send()
                .await
                .unwrap();
            e.insert((r.status().as_u16(), r.text().await.unwrap()));
        }
    }
    let base = format!("http://{}", h.proxy);
    let mut hits = 0;
    for (token, path, auth) in &plan {
        let r = request(&h.client, &base, path, token, *auth)
            .send()
            .await
            .unwrap();
        if header(&r, "x-cache") == "HIT" {
            hits += 1;
        }
        let got = (r.status().as_u16(), r.text().await.unwrap());
        let want = &truth[&(token.clone(), path.clone())];
        // Error bodies carry a per-request trace id; for them the status is the answer.
        if want.0 >= 400 {
            assert_eq!(got.0, want.0, "{path} as {token:.6}… via {auth:?}");
        } else {
            assert_eq!(&got, want, "{path} as {token:.6}… via {auth:?}");
        }
    }
    assert!(hits > 100, "only {hits} hits");
}

/// Jellyfin images are shared among accepted tokens: the server serves them to anyone, so a
/// user who may not see the item's library gets from the cache exactly what the server gives.
#[tokio::test]
async fn jellyfin_images_are_shared_because_the_server_serves_them_to_anyone() {
    let (srv, h) = start().await;
    let users = users(&srv);
    let owner = users[0].1.clone();
    let (_, bob, _) = users.iter().find(|u| u.0 == "bob").unwrap().clone();
    let movie = item_ids(&srv, ItemKind::Movie, 1).remove(0);
    let path = format!("/Items/{movie}/Images/Primary?tag=0&maxWidth=64");
    let direct = reqwest::Client::new();
    let anonymous = direct
        .get(format!("{}{path}", srv.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        200,
        "the server needs no token for images"
    );
    let want = anonymous.bytes().await.unwrap();
    let base = format!("http://{}", h.proxy);
    // Both tokens are accepted by the server once, so both are trusted for shared entries.
    for token in [&owner, &bob] {
        let r = request(&h.client, &base, "/UserViews", token, Auth::EmbyToken)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let first = request(&h.client, &base, &path, &owner, Auth::EmbyToken)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&first, "x-cache"), "MISS");
    let before = srv.sim.stats().total;
    let shared = request(&h.client, &base, &path, &bob, Auth::EmbyToken)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&shared, "x-cache"), "HIT");
    assert_eq!(shared.bytes().await.unwrap(), want);
    assert_eq!(srv.sim.stats().total, before, "no upstream request for bob");
}

#[tokio::test]
async fn token_forms_share_one_entry_and_writes_invalidate() {
    let (srv, h) = start().await;
    let (_, alice, _) = users(&srv).into_iter().find(|u| u.0 == "alice").unwrap();
    let track = item_ids(&srv, ItemKind::Track, 1).remove(0);
    let base = format!("http://{}", h.proxy);
    let path = format!("/Items/{track}");
    let r = request(&h.client, &base, &path, &alice, Auth::Header)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-cache"), "MISS");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["UserData"]["Played"], false);
    for auth in [Auth::EmbyToken, Auth::ApiKey] {
        let r = request(&h.client, &base, &path, &alice, auth)
            .send()
            .await
            .unwrap();
        assert_eq!(header(&r, "x-cache"), "HIT", "{auth:?}");
    }
    // Case does not matter to Jellyfin, nor to the key.
    let r = request(&h.client, &base, &path.to_lowercase(), &alice, Auth::Header)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let w = h
        .client
        .post(format!("{base}/UserPlayedItems/{track}"))
        .header("X-Emby-Token", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(w.status(), 200);
    assert!(header(&w, "cache-status").contains("detail=write"));
    let r = request(&h.client, &base, &path, &alice, Auth::Header)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-cache"), "MISS");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["UserData"]["Played"], true);
}

#[tokio::test]
async fn jellyfin_socket_is_spliced_through() {
    use futures_util::StreamExt;
    let (srv, h) = start().await;
    let (_, alice, _) = users(&srv).into_iter().find(|u| u.0 == "alice").unwrap();
    let url = format!("ws://{}/socket?api_key={alice}&deviceId=dev-1", h.proxy);
    let (mut ws, resp) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(resp.status(), 101);
    let first = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(first.contains("ForceKeepAlive"), "{first}");
}

/// Jellyfin answers conditional image requests with `304`: a background refresh of a stored
/// image asks with its `ETag` / `Last-Modified` and keeps the stored body when nothing changed,
/// takes the new one when the image did, and a client's own conditional request is still
/// answered `304` by the gateway.
#[tokio::test]
async fn image_refreshes_are_conditional_and_keep_an_unchanged_body() {
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let (srv, _) = start().await;
    // The token stays trusted for shared images across the days this test skips.
    let h = start_gateway(srv.addr, Profile::Jellyfin, |c| c.token_trust = 60 * DAY).await;
    let owner = users(&srv)[0].1.clone();
    let base = format!("http://{}", h.proxy);
    let movie = item_ids(&srv, ItemKind::Movie, 1).remove(0);
    let path = format!("/Items/{movie}/Images/Primary?tag=0&maxWidth=64");
    let get = |extra: Option<(&'static str, String)>| {
        let mut r = request(&h.client, &base, &path, &owner, Auth::EmbyToken);
        if let Some((name, value)) = extra {
            r = r.header(name, value);
        }
        r.send()
    };
    let revalidated = || {
        h.gateway
            .cache()
            .stats()
            .class("images")
            .map_or(0, |c| c.revalidated_304)
    };
    let refreshed = |n: u64| {
        let s = h.gateway.cache().stats();
        s.class("images").unwrap().refreshes_started == n && s.refreshes_in_progress == 0
    };
    // Images are shared: a token is trusted for them once the server accepted it.
    let r = request(&h.client, &base, "/UserViews", &owner, Auth::EmbyToken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first = get(None).await.unwrap();
    assert_eq!(header(&first, "x-cache"), "MISS");
    let etag = header(&first, "etag").to_owned();
    assert!(!header(&first, "last-modified").is_empty());
    let want = first.bytes().await.unwrap();

    // Past the images' 7 days: served stale, refreshed behind with the validators.
    h.clock.advance(8 * DAY);
    let before = srv.sim.stats();
    let stale = get(None).await.unwrap();
    assert_eq!(header(&stale, "x-cache"), "STALE");
    assert_eq!(stale.bytes().await.unwrap(), want);
    eventually("the first refresh", WAIT, async || refreshed(1)).await;
    let after = srv.sim.stats();
    assert_eq!(after.total, before.total + 1, "one conditional request");
    assert_eq!(
        after.items_returned, before.items_returned,
        "answered 304: the image was not sent again"
    );
    assert_eq!(revalidated(), 1);
    let hit = get(None).await.unwrap();
    assert_eq!(header(&hit, "x-cache"), "HIT", "fresh again for 7 days");
    assert_eq!(header(&hit, "etag"), etag);
    assert_eq!(hit.bytes().await.unwrap(), want);

    // A client's own conditional request: answered 304 by the gateway, nothing upstream.
    let total = srv.sim.stats().total;
    let conditional = get(Some(("If-None-Match", etag.clone()))).await.unwrap();
    assert_eq!(conditional.status(), 304);
    assert_eq!(header(&conditional, "etag"), etag);
    assert_eq!(srv.sim.stats().total, total);

    // The image changes: the next refresh's validator no longer matches and the new image
    // replaces the stored one.
    let id = srv
        .sim
        .library()
        .sections()
        .iter()
        .flat_map(|s| s.items(ItemKind::Movie).to_vec())
        .next()
        .unwrap();
    srv.sim.rename_item(id, "A New Poster").unwrap();
    let direct = reqwest::Client::new()
        .get(format!("{}{path}", srv.base_url))
        .send()
        .await
        .unwrap();
    let new_etag = header(&direct, "etag").to_owned();
    let new_body = direct.bytes().await.unwrap();
    assert_ne!(new_body, want, "the simulator's image follows the item");
    h.clock.advance(8 * DAY);
    let stale = get(None).await.unwrap();
    assert_eq!(header(&stale, "x-cache"), "STALE");
    eventually("the second refresh", WAIT, async || refreshed(2)).await;
    assert_eq!(revalidated(), 1, "a changed image is not a 304");
    let hit = get(None).await.unwrap();
    assert_eq!(header(&hit, "x-cache"), "HIT");
    assert_eq!(header(&hit, "etag"), new_etag);
    assert_eq!(hit.bytes().await.unwrap(), new_body);
    // The client holding the old image gets the new one; holding the new one, a 304.
    let old = get(Some(("If-None-Match", etag))).await.unwrap();
    assert_eq!(old.status(), 200);
    let current = get(Some(("If-None-Match", new_etag))).await.unwrap();
    assert_eq!(current.status(), 304);
}
