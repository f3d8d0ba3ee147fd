//! A user's cache, not a token's: against the simulated Jellyfin server on loopback, tokens
//! handed out by a sign-in through the gateway are their user's, so a second token of one user
//! reads what the first one cached; two users never share, whatever the order of their
//! sign-ins and devices; a token the server refused reads nothing, though its user's answers
//! are cached.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};
use proxy_common::{Harness, header, start_gateway};

/// A user-scoped listing whose answer differs between the users below (`kid` sees two of the
/// libraries).
const VIEWS: &str = "/UserViews";

async fn start() -> (TestServer, Harness) {
    let sim = Sim::builder()
        .tracks(60)
        .movies(8)
        .shows(2)
        .seed(11)
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

fn authorization(device: &str, token: Option<&str>) -> String {
    let mut value = format!(
        r#"MediaBrowser Client="scope-tests", Device="cargo", DeviceId="{device}", Version="1.0""#
    );
    if let Some(token) = token {
        value.push_str(&format!(r#", Token="{token}""#));
    }
    value
}

/// Signs `name` in through `base` (the gateway or the server) on `device`: the new token.
async fn sign_in(client: &reqwest::Client, base: &str, name: &str, device: &str) -> String {
    let r = client
        .post(format!("{base}/Users/AuthenticateByName"))
        .header("Authorization", authorization(device, None))
        .json(&serde_json::json!({ "Username": name, "Pw": format!("{name}-password") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "signing {name} in");
    let v: serde_json::Value = r.json().await.unwrap();
    v["AccessToken"].as_str().unwrap().to_owned()
}

/// `path` read with `token` from `device` through `base`: status, `X-Cache`, body.
async fn read(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    device: &str,
) -> (u16, String, String) {
    let r = client
        .get(format!("{base}{path}"))
        .header("Authorization", authorization(device, Some(token)))
        .send()
        .await
        .unwrap();
    let cache = header(&r, "x-cache").to_owned();
    (r.status().as_u16(), cache, r.text().await.unwrap())
}

/// Two tokens of one user, each from its own sign-in through the gateway: the second token's
/// first read is a hit on what the first cached, and the answer is what the server gives it.
#[tokio::test]
async fn two_tokens_of_one_user_share_answers() {
    let (srv, h) = start().await;
    let base = h.url("");
    let first = sign_in(&h.client, &base, "alice", "run-1").await;
    let second = sign_in(&h.client, &base, "alice", "run-2").await;
    assert_ne!(first, second, "each sign-in hands out a new token");

    let (status, cache, filled) = read(&h.client, &base, VIEWS, &first, "run-1").await;
    assert_eq!((status, cache.as_str()), (200, "MISS"));
    let (status, cache, shared) = read(&h.client, &base, VIEWS, &second, "run-2").await;
    assert_eq!(
        (status, cache.as_str()),
        (200, "HIT"),
        "the second token's read"
    );
    assert_eq!(shared, filled);
    let (_, _, direct) = read(&h.client, &srv.base_url, VIEWS, &second, "run-2").await;
    assert_eq!(
        shared, direct,
        "the shared answer is what the server gives the second token"
    );

    // A token signed in directly on the server, never confirmed to the gateway, keeps a scope
    // of its own.
    let unconfirmed = sign_in(&h.client, &srv.base_url, "alice", "run-3").await;
    let (status, cache, _) = read(&h.client, &base, VIEWS, &unconfirmed, "run-3").await;
    assert_eq!((status, cache.as_str()), (200, "MISS"));
}

/// Users signing in in turn, on one device id and on their own, each read the same path: every
/// answer is the one the server gives that token, never another user's; and a token of one
/// user presented after another user signed in on the same device id is still its own user's.
#[tokio::test]
async fn two_users_never_share_whatever_the_order_of_sign_ins() {
    let (srv, h) = start().await;
    let base = h.url("");
    let mut tokens = Vec::new();
    for (name, device) in [
        ("admin", "shared-device"),
        ("kid", "shared-device"),
        ("admin", "admin-device"),
        ("kid", "kid-device"),
        ("alice", "shared-device"),
        ("kid", "shared-device"),
    ] {
        tokens.push((name, device, sign_in(&h.client, &base, name, device).await));
    }
    let direct_of = |name: &str| {
        let (_, _, token) = tokens.iter().find(|(n, _, _)| *n == name).unwrap();
        token.clone()
    };
    let mut direct = std::collections::HashMap::new();
    for name in ["admin", "kid", "alice"] {
        let token = direct_of(name);
        let (status, _, body) = read(&h.client, &srv.base_url, VIEWS, &token, "probe").await;
        assert_eq!(status, 200);
        direct.insert(name, body);
    }
    assert_ne!(direct["admin"], direct["kid"], "the test can see a leak");
    // Interleaved reads, twice round: each is a miss or a hit on its own user's answer.
    for round in 0..2 {
        for (name, device, token) in &tokens {
            let (status, cache, body) = read(&h.client, &base, VIEWS, token, device).await;
            assert_eq!(status, 200, "{name} on {device}, round {round}");
            assert_eq!(
                body, direct[name],
                "{name} on {device} got another user's answer ({cache}), round {round}"
            );
        }
    }
    // The first admin token, signed in on the device `kid` and `alice` signed in on since.
    let (_, _, first_admin) = &tokens[0];
    let (_, _, body) = read(&h.client, &base, VIEWS, first_admin, "shared-device").await;
    assert_eq!(body, direct["admin"]);
}

/// A token of a user whose answers are cached, refused by the server since (signed out): once
/// the server has refused it, it reads nothing cached, its user's other tokens still do.
#[tokio::test]
async fn a_refused_token_reads_nothing_though_its_users_answers_are_cached() {
    let (srv, h) = start().await;
    let base = h.url("");
    let kept = sign_in(&h.client, &base, "alice", "kept").await;
    let revoked = sign_in(&h.client, &base, "alice", "revoked").await;
    let (status, _, filled) = read(&h.client, &base, VIEWS, &kept, "kept").await;
    assert_eq!(status, 200);
    let (_, cache, _) = read(&h.client, &base, VIEWS, &revoked, "revoked").await;
    assert_eq!(cache, "HIT", "both tokens are the user's");

    srv.sim.state().revoke_token(&revoked);
    // The server refuses it on a read that reaches it.
    let (status, _, _) = read(&h.client, &base, "/Users/Me", &revoked, "revoked").await;
    assert_eq!(status, 401);
    for _ in 0..2 {
        let (status, cache, body) = read(&h.client, &base, VIEWS, &revoked, "revoked").await;
        assert_eq!(status, 401, "a refused token got {cache}");
        assert_ne!(body, filled);
    }
    let (status, cache, body) = read(&h.client, &base, VIEWS, &kept, "kept").await;
    assert_eq!((status, cache.as_str(), body), (200, "HIT", filled));
}

/// Plex: a 2xx on a route Plex answers only for its owner (`/:/prefs`) confirms the token as
/// the owner's; a shared user's 401 there confirms nothing and refuses nothing, and the shared
/// user's reads stay their own.
#[tokio::test]
async fn only_the_owners_route_confirms_a_plex_token_as_the_owners() {
    let sim = Sim::builder()
        .tracks(60)
        .movies(8)
        .shows(2)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .unwrap();
    let srv = sim.start_plex_test_server().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |_| {}).await;
    let token = |name: &str| {
        let state = srv.sim.state();
        let user = state.users().iter().find(|u| u.name == name).unwrap();
        user.plex_token.clone()
    };
    let (owner, alice) = (token("admin"), token("alice"));
    let confirmed = |token: &str| {
        let up = &h.gateway.upstreams()[0];
        let users = up.users.all();
        let user = users.iter().find(|u| u.token() == token).unwrap();
        (user.is_confirmed(), user.is_refused())
    };
    let prefs = |token: String| {
        h.client
            .get(h.url("/:/prefs"))
            .header("X-Plex-Token", token)
            .header("Accept", "application/json")
            .send()
    };
    assert_eq!(prefs(alice.clone()).await.unwrap().status(), 401);
    assert_eq!(confirmed(&alice), (false, false));
    assert_eq!(prefs(owner.clone()).await.unwrap().status(), 200);
    assert_eq!(confirmed(&owner), (true, false));

    let path = "/library/sections/2/all";
    let direct = |token: String| {
        let url = format!("{}{path}", srv.base_url);
        let client = h.client.clone();
        async move {
            let r = client.get(url).header("X-Plex-Token", token).send().await;
            r.unwrap().text().await.unwrap()
        }
    };
    for token in [&owner, &alice, &owner, &alice] {
        let r = h.get(path, Some(token)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), direct(token.clone()).await);
    }
}

/// Many tokens minted by signing one user in through the gateway, one read each, are one user
/// to the background work (the users it watches and warms), and the answers they read are one
/// entry; a second user makes two.
#[tokio::test]
async fn tokens_minted_by_sign_ins_are_one_user_to_the_background() {
    let (_srv, h) = start().await;
    let base = h.url("");
    let mut misses = 0;
    for n in 0..30 {
        let device = format!("minted-{n}");
        let token = sign_in(&h.client, &base, "alice", &device).await;
        let (status, cache, _) = read(&h.client, &base, VIEWS, &token, &device).await;
        assert_eq!(status, 200);
        misses += usize::from(cache != "HIT");
    }
    assert_eq!(misses, 1, "one entry for the user's 30 tokens");
    let up = &h.gateway.upstreams()[0];
    assert_eq!(up.users.all().len(), 30, "each token keeps its own record");
    assert_eq!(up.users.seen_since(0).len(), 1);
    let kid = sign_in(&h.client, &base, "kid", "kid-device").await;
    read(&h.client, &base, VIEWS, &kid, "kid-device").await;
    assert_eq!(up.users.seen_since(0).len(), 2);
}
