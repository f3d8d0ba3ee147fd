//! Identity exactly as the server sees it, over real HTTP against the simulators: a request
//! carrying two different tokens is passed through uncached (and counted), so a user never
//! gets an answer stored from another user's token.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::{Sim, TestServer};
use proxy_common::{Harness, header, start_gateway};

const AMBIGUOUS: &str = "cachearr; fwd=bypass; detail=ambiguous-identity";

fn sim() -> Sim {
    Sim::builder()
        .tracks(240)
        .movies(12)
        .shows(2)
        .seed(7)
        .cost(CostModel::zero())
        .build()
        .unwrap()
}

async fn jellyfin() -> (TestServer, Harness) {
    let srv = sim()
        .start_jellyfin_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    let h = start_gateway(srv.addr, Profile::Jellyfin, |_| {}).await;
    (srv, h)
}

async fn emby() -> (TestServer, Harness) {
    let srv = sim()
        .start_emby_test_server(JellyfinOptions::default())
        .await
        .unwrap();
    let h = start_gateway(srv.addr, Profile::Emby, |_| {}).await;
    (srv, h)
}

async fn plex() -> (TestServer, Harness) {
    let srv = sim().start_plex_test_server().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |_| {}).await;
    (srv, h)
}

/// (admin token, kid token) for `profile`; the kid may see movies and shows only.
fn admin_and_kid(srv: &TestServer, profile: Profile) -> (String, String) {
    let state = srv.sim.state();
    let token = |name: &str| {
        let u = state.users().iter().find(|u| u.name == name).unwrap();
        match profile {
            Profile::Plex => u.plex_token.clone(),
            Profile::Jellyfin => u.jellyfin_token.clone(),
            Profile::Emby => u.emby_token(),
            Profile::Http => unreachable!("a media server's test"),
        }
    };
    (token("admin"), token("kid"))
}

/// A GET of `base{path}` with `headers`.
async fn get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut b = client
        .get(format!("{base}{path}"))
        .header("Accept", "application/json");
    for (n, v) in headers {
        b = b.header(*n, v);
    }
    b.send().await.unwrap()
}

/// Sends each two-token request through the gateway (it must be passed through and counted),
/// then the kid alone: the kid's answer must be the one the server gives the kid, never the
/// admin's.
async fn check_variants(
    srv: &TestServer,
    h: &Harness,
    kid_only: (&str, Vec<(&str, String)>),
    admin_only: Vec<(&str, String)>,
    variants: Vec<(String, Vec<(&str, String)>)>,
) {
    let direct = format!("http://{}", srv.addr);
    let base = h.url("");
    let base = base.as_str();
    let (kid_path, kid_headers) = kid_only;
    let r = get(&h.client, &direct, kid_path, &kid_headers).await;
    let kid_direct = (r.status().as_u16(), r.text().await.unwrap());
    let r = get(&h.client, &direct, kid_path, &admin_only).await;
    let admin_direct = (r.status().as_u16(), r.text().await.unwrap());
    // The test can see a leak: the server answers the two users differently.
    assert_ne!(admin_direct, kid_direct);
    let n = variants.len() as u64;
    for (path, headers) in variants {
        let r = get(&h.client, base, &path, &headers).await;
        let said = (
            header(&r, "cache-status").to_string(),
            header(&r, "x-cache").to_string(),
        );
        r.bytes().await.unwrap();
        for _ in 0..2 {
            let r = get(&h.client, base, kid_path, &kid_headers).await;
            let status = header(&r, "cache-status").to_string();
            assert_eq!(
                (r.status().as_u16(), r.text().await.unwrap()),
                kid_direct,
                "after {path} {headers:?} the kid got another answer ({status})"
            );
        }
        assert_eq!(said.0, AMBIGUOUS, "{path} {headers:?}");
        assert_eq!(said.1, "BYPASS");
    }
    let counted = h.gateway.upstreams()[0].guard.snapshot().ambiguous_identity;
    assert_eq!(counted, n);
}

const ALBUMS: &str = "/Items?Recursive=true&IncludeItemTypes=MusicAlbum&Limit=5";

#[tokio::test]
async fn jellyfin_two_token_requests_are_passed_through_and_never_answer_another_user() {
    let (srv, h) = jellyfin().await;
    let (admin, kid) = admin_and_kid(&srv, Profile::Jellyfin);
    let admin_auth = format!(r#"MediaBrowser Client="c", Token="{admin}""#);
    let variants = vec![
        (
            ALBUMS.to_string(),
            vec![
                ("X-Emby-Token", kid.clone()),
                ("Authorization", admin_auth.clone()),
            ],
        ),
        (
            ALBUMS.to_string(),
            vec![(
                "Authorization",
                format!(r#"MediaBrowser Client="a,Token={kid}", Token="{admin}""#),
            )],
        ),
        (format!("{ALBUMS}&api_key={kid}&ApiKey={admin}"), vec![]),
        (
            format!("{ALBUMS}&X-Plex-Token={kid}&ApiKey={admin}"),
            vec![],
        ),
        (
            ALBUMS.to_string(),
            vec![
                ("Authorization", format!(r#"Foo Token="{kid}""#)),
                ("X-Emby-Authorization", admin_auth.clone()),
            ],
        ),
        (
            ALBUMS.to_string(),
            vec![
                ("X-Emby-Token", kid.clone()),
                ("X-MediaBrowser-Token", admin.clone()),
            ],
        ),
    ];
    check_variants(
        &srv,
        &h,
        (ALBUMS, vec![("X-Emby-Token", kid.clone())]),
        vec![("X-Emby-Token", admin.clone())],
        variants,
    )
    .await;
}

/// Emby reads every legacy form, under `/emby/` as at the route itself: two users' tokens in
/// any two of them are passed through.
#[tokio::test]
async fn emby_two_token_requests_are_passed_through_and_never_answer_another_user() {
    let (srv, h) = emby().await;
    let (admin, kid) = admin_and_kid(&srv, Profile::Emby);
    let emby_auth = format!(r#"Emby UserId="x", Client="c", Token="{admin}""#);
    let prefixed = format!("/emby{ALBUMS}");
    let variants = vec![
        (
            prefixed.clone(),
            vec![
                ("X-Emby-Token", kid.clone()),
                ("X-Emby-Authorization", emby_auth.clone()),
            ],
        ),
        (
            format!("{prefixed}&api_key={kid}"),
            vec![("X-Emby-Token", admin.clone())],
        ),
        (
            ALBUMS.to_string(),
            vec![
                ("Authorization", format!(r#"Emby Token="{kid}""#)),
                ("X-Emby-Token", admin.clone()),
            ],
        ),
        (
            prefixed.clone(),
            vec![(
                "X-Emby-Authorization",
                format!(r#"MediaBrowser Client="a,Token={kid}", Token="{admin}""#),
            )],
        ),
    ];
    check_variants(
        &srv,
        &h,
        (&prefixed, vec![("X-Emby-Token", kid.clone())]),
        vec![("X-Emby-Token", admin.clone())],
        variants,
    )
    .await;
}

#[tokio::test]
async fn plex_two_token_requests_are_passed_through_and_never_answer_another_user() {
    let (srv, h) = plex().await;
    let (admin, kid) = admin_and_kid(&srv, Profile::Plex);
    let albums = "/library/sections/1/all?type=9";
    let variants = vec![
        (
            format!("{albums}&api_key={kid}&X-Plex-Token={admin}"),
            vec![],
        ),
        (
            format!("{albums}&X-Plex-Token={admin}"),
            vec![("X-Plex-Token", kid.clone())],
        ),
        (
            format!("{albums}&X-Plex-Token={admin}"),
            vec![("X-Emby-Token", kid.clone())],
        ),
        (
            format!("{albums}&x-plex-token={kid}&X-Plex-Token={admin}"),
            vec![],
        ),
    ];
    check_variants(
        &srv,
        &h,
        (albums, vec![("X-Plex-Token", kid.clone())]),
        vec![("X-Plex-Token", admin.clone())],
        variants,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// A refused token reads nothing cached.

async fn sim_control(srv: &TestServer, h: &Harness, what: &str, token: &str) {
    let r = h
        .client
        .post(format!("http://{}/_sim/tokens/{what}", srv.addr))
        .header("Content-Type", "application/json")
        .body(serde_json::json!({ "token": token }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn token_of(srv: &TestServer, profile: Profile, name: &str) -> String {
    let state = srv.sim.state();
    let u = state.users().iter().find(|u| u.name == name).unwrap();
    match profile {
        Profile::Plex => u.plex_token.clone(),
        Profile::Jellyfin => u.jellyfin_token.clone(),
        Profile::Emby => u.emby_token(),
        Profile::Http => unreachable!("a media server's test"),
    }
}

fn token_header(profile: Profile) -> &'static str {
    match profile {
        Profile::Plex => "X-Plex-Token",
        Profile::Jellyfin | Profile::Emby => "X-Emby-Token",
        Profile::Http => unreachable!("a media server's test"),
    }
}

/// `cached` is a user-scoped listing (fresh 1 h, stale-while-revalidate 1 h); `other` another
/// route the server authenticates.
async fn refused_token_reads_nothing_cached(profile: Profile, cached: &str, other: &str) {
    let (srv, h) = match profile {
        Profile::Plex => plex().await,
        Profile::Jellyfin => jellyfin().await,
        Profile::Emby => emby().await,
        Profile::Http => unreachable!("a media server's test"),
    };
    let base = h.url("");
    let name = token_header(profile);
    let alice = vec![(name, token_of(&srv, profile, "alice"))];
    let admin = vec![(name, token_of(&srv, profile, "admin"))];
    for who in [&alice, &admin] {
        let r = get(&h.client, &base, cached, who).await;
        assert_eq!(r.status(), 200);
        let r = get(&h.client, &base, cached, who).await;
        assert_eq!(header(&r, "x-cache"), "HIT");
    }
    sim_control(&srv, &h, "revoke", &alice[0].1).await;
    // The server refuses the token once…
    let r = get(&h.client, &base, other, &alice).await;
    assert_eq!(r.status(), 401);
    // …and from then on nothing cached goes to it, fresh…
    let r = get(&h.client, &base, cached, &alice).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        header(&r, "cache-status"),
        "cachearr; fwd=bypass; detail=token-refused"
    );
    // …or stale while the server is down (the admin, still accepted, does get the stale copy).
    h.clock.advance(std::time::Duration::from_secs(90 * 60));
    srv.sim.set_faults(cachearr_sim::control::Faults {
        refuse: true,
        ..Default::default()
    });
    let r = get(&h.client, &base, cached, &admin).await;
    assert_eq!(header(&r, "x-cache"), "STALE", "the admin's stale copy");
    let r = get(&h.client, &base, cached, &alice).await;
    assert_ne!(r.status(), 200);
    assert_eq!(header(&r, "x-cache"), "BYPASS");
    assert!(!header(&r, "cache-status").contains("stale"));
    // Once the server accepts the token again, answers come from the cache again.
    srv.sim.set_faults(cachearr_sim::control::Faults::default());
    sim_control(&srv, &h, "restore", &alice[0].1).await;
    let r = get(&h.client, &base, cached, &alice).await;
    assert_eq!(r.status(), 200);
    let r = get(&h.client, &base, cached, &alice).await;
    assert_eq!(r.status(), 200);
    assert_ne!(header(&r, "x-cache"), "BYPASS");
    let refused = h.gateway.upstreams()[0].guard.snapshot().refused_token;
    assert_eq!(refused, 3, "the refused token's bypasses are counted");
}

#[tokio::test]
async fn plex_a_refused_token_gets_no_cached_answer_until_accepted_again() {
    refused_token_reads_nothing_cached(Profile::Plex, "/library/sections/2/all", "/library/onDeck")
        .await;
}

#[tokio::test]
async fn emby_a_refused_token_gets_no_cached_answer_until_accepted_again() {
    refused_token_reads_nothing_cached(
        Profile::Emby,
        "/emby/Items?Recursive=true&IncludeItemTypes=Movie&Limit=5",
        "/Items?Recursive=true&IncludeItemTypes=Series&Limit=2",
    )
    .await;
}

#[tokio::test]
async fn jellyfin_a_refused_token_gets_no_cached_answer_until_accepted_again() {
    refused_token_reads_nothing_cached(
        Profile::Jellyfin,
        "/Items?Recursive=true&IncludeItemTypes=Movie&Limit=5",
        "/Items?Recursive=true&IncludeItemTypes=Series&Limit=2",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Shared entries: trust only from authenticated routes, keys hold what selects the format.

#[tokio::test]
async fn plex_a_made_up_token_is_not_trusted_after_an_anonymous_route_and_cannot_poison_it() {
    let (srv, h) = plex().await;
    let base = h.url("");
    let direct = format!("http://{}", srv.addr);
    let made_up = vec![("X-Plex-Token", "made-up-token".to_string())];
    let r = get(&h.client, &base, "/identity", &made_up).await;
    assert_eq!(r.status(), 200, "/identity answers anyone");
    let poison = vec![
        ("X-Plex-Token", "made-up-token".to_string()),
        ("Accept", "application/js on".to_string()),
    ];
    let r = h
        .client
        .get(format!("{base}/identity"))
        .header("X-Plex-Token", "made-up-token")
        .header("Accept", "application/js on")
        .send()
        .await
        .unwrap();
    let said = header(&r, "cache-status").to_string();
    r.bytes().await.unwrap();
    // A real user, trusted after an authenticated route, gets the JSON the server gives.
    let admin = vec![("X-Plex-Token", token_of(&srv, Profile::Plex, "admin"))];
    assert_eq!(
        get(&h.client, &base, "/library/sections", &admin)
            .await
            .status(),
        200
    );
    let want = get(&h.client, &direct, "/identity", &admin).await;
    let want = want.text().await.unwrap();
    assert!(want.starts_with('{'), "{want}");
    for _ in 0..2 {
        let r = get(&h.client, &base, "/identity", &admin).await;
        assert_eq!(r.text().await.unwrap(), want);
    }
    assert_eq!(
        said, "cachearr; fwd=bypass; detail=token-not-verified",
        "{poison:?}"
    );
}

#[tokio::test]
async fn jellyfin_a_shared_entry_is_keyed_by_what_selects_its_format() {
    let (srv, h) = jellyfin().await;
    let base = h.url("");
    let direct = format!("http://{}", srv.addr);
    let kid = token_of(&srv, Profile::Jellyfin, "kid");
    let alice = token_of(&srv, Profile::Jellyfin, "alice");
    // Both are trusted: the server accepted them on an authenticated route.
    for t in [&kid, &alice] {
        let r = get(&h.client, &base, ALBUMS, &[("X-Emby-Token", t.clone())]).await;
        assert_eq!(r.status(), 200);
    }
    let ask = |token: &str, accept: &str| {
        h.client
            .get(format!("{base}/System/Info/Public"))
            .header("X-Emby-Token", token)
            .header("Accept", accept)
    };
    // The kid asks with a profile the server does not recognise (PascalCase comes back)…
    let r = ask(&kid, r#"application/json; profile="Camel Case""#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    // …and alice, asking for camelCase, gets camelCase.
    let camel = r#"application/json; profile="CamelCase""#;
    let want = h
        .client
        .get(format!("{direct}/System/Info/Public"))
        .header("Accept", camel)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(want.contains("\"serverName\""), "{want}");
    for _ in 0..2 {
        let r = ask(&alice, camel).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), want);
    }
}

#[tokio::test]
async fn a_two_token_write_drops_the_play_state_of_every_user_it_names() {
    let (srv, h) = plex().await;
    let base = h.url("");
    let direct = format!("http://{}", srv.addr);
    let bob = vec![("X-Plex-Token", token_of(&srv, Profile::Plex, "bob"))];
    let alice = token_of(&srv, Profile::Plex, "alice");
    let track = srv.sim.library().sections()[0].items(cachearr_sim::library::ItemKind::Track)[0];
    let listing = "/library/sections/1/all";
    for _ in 0..2 {
        get(&h.client, &base, listing, &bob)
            .await
            .bytes()
            .await
            .unwrap();
    }
    // The server reads bob's header token; cachearr cannot know which one it reads.
    let r = get(
        &h.client,
        &base,
        &format!("/:/scrobble?key={track}&identifier=com.plexapp.plugins.library&api_key={alice}"),
        &bob,
    )
    .await;
    assert_eq!(
        header(&r, "cache-status"),
        "cachearr; fwd=method; detail=write"
    );
    assert_eq!(r.status(), 200);
    let want = get(&h.client, &direct, listing, &bob)
        .await
        .text()
        .await
        .unwrap();
    let got = get(&h.client, &base, listing, &bob)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(got, want, "bob's listing shows the play he just made");
}

// ---------------------------------------------------------------------------------------------
// A connection's repeated request: its reading is reused, the user's standing never is.

/// One kept-alive client connection: requests go one after another on the same socket, so the
/// gateway sees each as its connection's next request.
struct OneConnection {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
}

struct Answer {
    status: u16,
    cache_status: String,
    body: bytes::Bytes,
}

impl OneConnection {
    async fn open(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        Self { send }
    }

    async fn get(&mut self, path: &str, headers: &[(&str, String)]) -> Answer {
        use http_body_util::BodyExt as _;
        self.send.ready().await.unwrap();
        let mut req = http::Request::get(path)
            .header("host", "gateway")
            .header("accept", "application/json");
        for (n, v) in headers {
            req = req.header(*n, v);
        }
        let resp = self
            .send
            .send_request(req.body(http_body_util::Empty::new()).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Answer {
            status: parts.status.as_u16(),
            cache_status: parts
                .headers
                .get("cache-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
            body: body.collect().await.unwrap().to_bytes(),
        }
    }
}

/// The server revokes `who`'s token, and the gateway sees it refused (on a request of another
/// connection, on a route it passes through).
async fn refuse_through_the_gateway(srv: &TestServer, h: &Harness, who: &[(&str, String)]) {
    sim_control(srv, h, "revoke", &who[0].1).await;
    let r = get(&h.client, &h.url(""), "/library/onDeck", who).await;
    assert_eq!(r.status(), 401);
}

/// A cached route's answer to a token the server refused: passed through, and refused.
fn assert_refused(answer: &Answer) {
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.cache_status,
        "cachearr; fwd=bypass; detail=token-refused"
    );
}

#[tokio::test]
async fn plex_a_repeated_request_on_one_connection_is_still_checked_for_its_user() {
    let (srv, h) = plex().await;
    let direct = format!("http://{}", srv.addr);
    let repeats = || h.gateway.upstreams()[0].guard.snapshot().repeated_reads;
    let cached = "/library/sections/2/all";
    let alice = vec![("X-Plex-Token", token_of(&srv, Profile::Plex, "alice"))];
    let admin = vec![("X-Plex-Token", token_of(&srv, Profile::Plex, "admin"))];
    let mut conn = OneConnection::open(h.proxy).await;

    let first = conn.get(cached, &alice).await;
    assert_eq!(first.status, 200);
    let again = conn.get(cached, &alice).await;
    assert_eq!(again.status, 200);
    assert!(again.cache_status.contains("hit"), "{}", again.cache_status);
    assert_eq!(again.body, first.body);
    assert_eq!(repeats(), 1, "the second request repeated the first");

    // The server refuses alice's token (seen on another connection): her next repeat on this
    // one is refused too, though its reading was kept.
    refuse_through_the_gateway(&srv, &h, &alice).await;
    assert_refused(&conn.get(cached, &alice).await);
    assert_eq!(repeats(), 2);

    // Another user's request on the same connection is read afresh, and gets what the server
    // gives that user.
    let theirs = conn.get(cached, &admin).await;
    assert_eq!(theirs.status, 200);
    assert_eq!(repeats(), 2, "another token is not a repeat");
    let want = get(&h.client, &direct, cached, &admin).await;
    assert_eq!(theirs.body, want.bytes().await.unwrap());

    // A shared entry needs a recently proved token; a repeat does not extend the proof.
    assert_eq!(conn.get("/library/sections", &admin).await.status, 200);
    let shared = conn.get("/identity", &admin).await;
    assert_eq!(shared.status, 200);
    assert!(
        !shared.cache_status.contains("bypass"),
        "{}",
        shared.cache_status
    );
    let trust = h.gateway.config().token_trust;
    h.clock.advance(trust + std::time::Duration::from_secs(1));
    let untrusted = conn.get("/identity", &admin).await;
    assert_eq!(
        untrusted.cache_status,
        "cachearr; fwd=bypass; detail=token-not-verified"
    );
    assert_eq!(repeats(), 3);
}

/// A request repeated on one connection after its token was confirmed as its user's (here by
/// the user's own record read through the gateway on another connection; the play-state watch
/// confirms tokens so too) has a new key, the user's: it is read afresh, not passed through.
#[tokio::test]
async fn jellyfin_a_repeat_whose_token_was_confirmed_since_is_read_afresh() {
    let (srv, h) = jellyfin().await;
    let direct = format!("http://{}", srv.addr);
    let repeats = || h.gateway.upstreams()[0].guard.snapshot().repeated_reads;
    let alice_id = {
        let state = srv.sim.state();
        let alice = state.users().iter().find(|u| u.name == "alice").unwrap();
        alice.jellyfin_id.clone()
    };
    let cached = format!("/Users/{alice_id}/Views");
    let cached = cached.as_str();
    let alice = vec![("X-Emby-Token", token_of(&srv, Profile::Jellyfin, "alice"))];
    let mut conn = OneConnection::open(h.proxy).await;
    assert_eq!(conn.get(cached, &alice).await.status, 200);
    let again = conn.get(cached, &alice).await;
    assert!(again.cache_status.contains("hit"), "{}", again.cache_status);
    assert_eq!(repeats(), 1);

    // Her own record, through the gateway: the server says whose the token is.
    let me = get(&h.client, &h.url(""), "/Users/Me", &alice).await;
    assert_eq!(me.status(), 200);
    me.bytes().await.unwrap();

    let afresh = conn.get(cached, &alice).await;
    assert_eq!(afresh.status, 200);
    assert!(
        !afresh.cache_status.contains("bypass"),
        "a repeat keyed for the token alone was passed through: {}",
        afresh.cache_status
    );
    let want = get(&h.client, &direct, cached, &alice).await;
    assert_eq!(afresh.body, want.bytes().await.unwrap());
    let kept = conn.get(cached, &alice).await;
    assert!(kept.cache_status.contains("hit"), "{}", kept.cache_status);
    assert_eq!(kept.body, afresh.body);
}

#[tokio::test]
async fn plex_a_request_repeated_on_new_connections_reuses_its_reading_for_its_user_only() {
    let (srv, h) = plex().await;
    let direct = format!("http://{}", srv.addr);
    let repeats = || h.gateway.upstreams()[0].guard.snapshot().repeated_reads;
    let cached = "/library/sections/2/all";
    let alice = vec![("X-Plex-Token", token_of(&srv, Profile::Plex, "alice"))];
    let admin = vec![("X-Plex-Token", token_of(&srv, Profile::Plex, "admin"))];

    let first = OneConnection::open(h.proxy).await.get(cached, &alice).await;
    assert_eq!(first.status, 200);
    assert_eq!(repeats(), 0);
    // Each of these is its connection's first request: the reading made on the first
    // connection is reused.
    for n in 1..=2 {
        let again = OneConnection::open(h.proxy).await.get(cached, &alice).await;
        assert_eq!(again.status, 200);
        assert!(again.cache_status.contains("hit"), "{}", again.cache_status);
        assert_eq!(again.body, first.body);
        assert_eq!(repeats(), n, "a new connection repeated the request");
    }

    // The same target with another token, on a new connection: read afresh, and answered with
    // what the server gives that user.
    let theirs = OneConnection::open(h.proxy).await.get(cached, &admin).await;
    assert_eq!(theirs.status, 200);
    assert_eq!(repeats(), 2, "another token is not a repeat");
    let want = get(&h.client, &direct, cached, &admin).await;
    assert_eq!(theirs.body, want.bytes().await.unwrap());

    // The server refuses alice's token: the reading kept from her request is recalled, but
    // her standing is read afresh, so nothing cached goes to her.
    refuse_through_the_gateway(&srv, &h, &alice).await;
    assert_refused(&OneConnection::open(h.proxy).await.get(cached, &alice).await);
    assert_eq!(repeats(), 3);
}

// ---------------------------------------------------------------------------------------------
// A 403 is about a resource, not the token.

#[tokio::test]
async fn jellyfin_a_forbidden_resource_leaves_the_token_trusted() {
    let (srv, h) = jellyfin().await;
    let base = h.url("");
    let cached = "/Items?Recursive=true&IncludeItemTypes=Movie&Limit=5";
    let alice = vec![("X-Emby-Token", token_of(&srv, Profile::Jellyfin, "alice"))];
    let admin_id = {
        let state = srv.sim.state();
        let admin = state.users().iter().find(|u| u.name == "admin").unwrap();
        admin.jellyfin_id.clone()
    };
    let r = get(&h.client, &base, cached, &alice).await;
    assert_eq!(r.status(), 200);
    let r = get(&h.client, &base, cached, &alice).await;
    assert_eq!(header(&r, "x-cache"), "HIT");
    // Another user's items: the server says this resource is not alice's…
    let theirs = format!("/Users/{admin_id}/Items?Recursive=true&IncludeItemTypes=Movie&Limit=5");
    let r = get(&h.client, &base, &theirs, &alice).await;
    assert_eq!(r.status(), 403);
    // …which says nothing of her token: her own cached answers still come from the cache.
    let r = get(&h.client, &base, cached, &alice).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "x-cache"),
        "HIT",
        "{}",
        header(&r, "cache-status")
    );
    let refused = h.gateway.upstreams()[0].guard.snapshot().refused_token;
    assert_eq!(refused, 0, "no bypass for a refused token");
}
