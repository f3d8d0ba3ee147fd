//! Cached answers as real clients ask for them, over loopback against the simulator (Plex and
//! Jellyfin): gzip to clients that accept it and identity to the others (the gzip body
//! decompresses to exactly the identity answer), `ETag`s stable per entry and distinct per
//! representation, `304 Not Modified` from the cache on a match and never across users,
//! `q=0` honoured, no gzip for images or media, a large body answered identity first and
//! gzip once its copy is made off the async workers, and `Range` still answered by the server.
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use std::io::Read as _;
use std::time::Duration;

use cachearr_dialect::Profile;
use cachearr_sim::cost::CostModel;
use cachearr_sim::jellyfin::JellyfinOptions;
use cachearr_sim::library::ItemKind;
use cachearr_sim::{Sim, TestServer};
use cachearr_testkit::eventually_ok;
use proxy_common::{Harness, start_gateway};

/// One answer, read whole and never decoded (the test client has no gzip support, so what it
/// receives is what went over the wire).
struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn h(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn gzipped(&self) -> bool {
        self.h("content-encoding") == "gzip"
    }
}

async fn get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Got {
    let mut b = client.get(url);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let r = b.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap().to_vec();
    if let Some(len) = headers.get("content-length") {
        assert_eq!(
            len.to_str().unwrap().parse::<usize>().unwrap(),
            body.len(),
            "Content-Length is the length of the bytes sent"
        );
    }
    Got {
        status,
        headers,
        body,
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

fn varies_by_encoding(g: &Got) -> bool {
    g.headers.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    })
}

const GZIP: (&str, &str) = ("Accept-Encoding", "gzip, deflate");

/// Bodies up to this size are compressed on the request (the gateway's `INLINE_MAX`), so their
/// first gzip answer is gzip already.
const SMALL: usize = 32 * 1024;

async fn plex() -> (TestServer, Harness) {
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |_| {}).await;
    (srv, h)
}

fn music_section(srv: &TestServer) -> u32 {
    let lib = srv.sim.library();
    lib.sections()
        .iter()
        .find(|s| !s.items(ItemKind::Track).is_empty())
        .unwrap()
        .id
}

fn first_movie(srv: &TestServer) -> u32 {
    let lib = srv.sim.library();
    lib.sections()
        .iter()
        .find_map(|s| s.items(ItemKind::Movie).first().copied())
        .unwrap()
}

fn proxy(h: &Harness, path: &str) -> String {
    format!("http://{}{path}", h.proxy)
}

/// A gzip client gets gzip (on the very answer that filled the entry: small bodies are
/// compressed inline), an identity client gets identity, both from one entry; the gzip body
/// decompresses to exactly what the server answers directly; each representation has its own
/// ETag, the same on every answer from the entry.
#[tokio::test]
async fn plex_gzip_to_gzip_clients_identity_to_others_same_bytes() {
    let (srv, h) = plex().await;
    let token = srv.token.clone();
    let music = music_section(&srv);
    let direct = reqwest::Client::new();
    for json in [false, true] {
        let path = format!(
            "/library/sections/{music}/all?type=10&X-Plex-Container-Start=0&X-Plex-Container-Size=12"
        );
        let mut base = vec![("X-Plex-Token", token.as_str())];
        if json {
            base.push(("Accept", "application/json"));
        }
        let want = get(&direct, &format!("{}{path}", srv.base_url), &base).await;
        assert_eq!(want.status, 200);
        assert!(
            want.body.len() > 4096 && want.body.len() <= SMALL,
            "a small listing ({} bytes)",
            want.body.len()
        );
        let mut gz_headers = base.clone();
        gz_headers.push(GZIP);

        let first = get(&h.client, &proxy(&h, &path), &gz_headers).await;
        assert_eq!(first.status, 200);
        assert_eq!(first.h("x-cache"), "MISS");
        assert!(first.gzipped(), "the filling answer is gzip already");
        assert!(varies_by_encoding(&first));
        assert!(first.body.len() < want.body.len() / 3, "it is smaller");
        assert_eq!(gunzip(&first.body), want.body, "json={json}");

        let plain = get(&h.client, &proxy(&h, &path), &base).await;
        assert_eq!(plain.h("x-cache"), "HIT");
        assert!(plain.h("content-encoding").is_empty());
        assert!(varies_by_encoding(&plain));
        assert_eq!(plain.body, want.body);

        let again = get(&h.client, &proxy(&h, &path), &gz_headers).await;
        assert_eq!(again.h("x-cache"), "HIT");
        assert!(again.gzipped());
        assert_eq!(again.body, first.body, "the copy is made once and kept");
        let (gz_tag, id_tag) = (first.h("etag"), plain.h("etag"));
        assert!(id_tag.starts_with('"') && id_tag.ends_with('"'), "{id_tag}");
        assert_eq!(again.h("etag"), gz_tag);
        assert_ne!(
            gz_tag, id_tag,
            "a different representation, a different tag"
        );
        let plain2 = get(&h.client, &proxy(&h, &path), &base).await;
        assert_eq!(plain2.h("etag"), id_tag, "same entry, same tag");
    }
}

/// `If-None-Match` is answered from the cache: 304 with no body, the validator and the cache
/// headers on a match (weak comparison, lists, `*`), the full answer otherwise; no upstream
/// request either way.
#[tokio::test]
async fn plex_if_none_match_answers_304_from_the_cache() {
    let (srv, h) = plex().await;
    let token = srv.token.clone();
    let path = "/library/sections";
    let auth = ("X-Plex-Token", token.as_str());
    let full = get(&h.client, &proxy(&h, path), &[auth]).await;
    assert_eq!(full.status, 200);
    let tag = full.h("etag").to_string();
    assert!(!tag.is_empty());
    let upstream_before = srv.sim.stats().total;

    let weak = format!("W/{tag}");
    let listed = format!("\"nope\", {tag}");
    for inm in [tag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let r = get(&h.client, &proxy(&h, path), &[auth, ("If-None-Match", inm)]).await;
        assert_eq!(r.status, 304, "If-None-Match: {inm}");
        assert!(r.body.is_empty());
        assert_eq!(r.h("etag"), tag);
        assert_eq!(r.h("x-cache"), "HIT");
        assert!(r.h("cache-status").starts_with("cachearr; hit"));
        assert!(!r.h("age").is_empty());
        assert!(r.h("content-type").is_empty(), "no representation metadata");
        assert!(
            r.h("content-length").is_empty(),
            "no length of an empty body"
        );
    }
    for inm in ["\"nope\"", "W/\"nope\"", "garbage", ""] {
        let r = get(&h.client, &proxy(&h, path), &[auth, ("If-None-Match", inm)]).await;
        assert_eq!(r.status, 200, "If-None-Match: {inm:?}");
        assert_eq!(r.body, full.body);
    }
    assert_eq!(
        srv.sim.stats().total,
        upstream_before,
        "all of it from the cache"
    );

    // The gzip representation: its own tag validates for a gzip client; the identity tag does
    // too (the client holds a current representation); the gzip tag does not for a client
    // that cannot have it.
    let music = music_section(&srv);
    let listing = format!("/library/sections/{music}/all?type=10&X-Plex-Container-Size=12");
    let gz = get(&h.client, &proxy(&h, &listing), &[auth, GZIP]).await;
    assert!(gz.gzipped());
    let id = get(&h.client, &proxy(&h, &listing), &[auth]).await;
    let (gz_tag, id_tag) = (gz.h("etag").to_string(), id.h("etag").to_string());
    let r = get(
        &h.client,
        &proxy(&h, &listing),
        &[auth, GZIP, ("If-None-Match", gz_tag.as_str())],
    )
    .await;
    assert_eq!((r.status, r.h("etag")), (304, gz_tag.as_str()));
    assert!(varies_by_encoding(&r), "304 repeats Vary");
    let r = get(
        &h.client,
        &proxy(&h, &listing),
        &[auth, GZIP, ("If-None-Match", id_tag.as_str())],
    )
    .await;
    assert_eq!((r.status, r.h("etag")), (304, id_tag.as_str()));
    let r = get(
        &h.client,
        &proxy(&h, &listing),
        &[auth, ("If-None-Match", gz_tag.as_str())],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.gzipped());
    assert_eq!(r.body, id.body);
}

/// Keys are per user: another user's validator is compared with that user's own entry, so a
/// 304 can never confirm (or reveal) what someone else was answered.
#[tokio::test]
async fn plex_a_304_never_crosses_users() {
    let (srv, h) = plex().await;
    let owner = srv.token.clone();
    let bob = srv
        .sim
        .state()
        .users()
        .iter()
        .find(|u| u.name == "bob")
        .unwrap()
        .plex_token
        .clone();
    let path = "/library/sections";
    let direct = reqwest::Client::new();
    let bob_direct = get(
        &direct,
        &format!("{}{path}", srv.base_url),
        &[("X-Plex-Token", bob.as_str())],
    )
    .await;
    let owners = get(
        &h.client,
        &proxy(&h, path),
        &[("X-Plex-Token", owner.as_str())],
    )
    .await;
    assert_ne!(owners.body, bob_direct.body, "bob sees fewer sections");
    let tag = owners.h("etag").to_string();
    // Bob's entry is cold: his request fills it, then compares his own entry's tag.
    for round in 0..2 {
        let r = get(
            &h.client,
            &proxy(&h, path),
            &[
                ("X-Plex-Token", bob.as_str()),
                ("If-None-Match", tag.as_str()),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "round {round}");
        assert_eq!(r.body, bob_direct.body);
        assert_ne!(r.h("etag"), tag);
    }
    // And the owner's own tag still validates for the owner.
    let r = get(
        &h.client,
        &proxy(&h, path),
        &[
            ("X-Plex-Token", owner.as_str()),
            ("If-None-Match", tag.as_str()),
        ],
    )
    .await;
    assert_eq!(r.status, 304);
}

/// Weights are honoured (`q=0` refuses gzip, `*` accepts it), and hostile header values are
/// answered, not crashed on.
#[tokio::test]
async fn plex_accept_encoding_weights_and_hostile_values() {
    let (srv, h) = plex().await;
    let token = srv.token.clone();
    let music = music_section(&srv);
    let path = format!("/library/sections/{music}/all?type=10&X-Plex-Container-Size=10");
    let auth = ("X-Plex-Token", token.as_str());
    let identity = get(&h.client, &proxy(&h, &path), &[auth]).await;
    let long_ae = "x;q=0.5,".repeat(1000) + "gzip;q=0";
    let long_inm = "\"x\",".repeat(1000);
    let cases: [(&str, bool); 10] = [
        ("gzip", true),
        ("*", true),
        ("deflate, gzip;q=0.1", true),
        ("gzip;q=0", false),
        ("gzip;q=0.000, deflate", false),
        ("*;q=0", false),
        ("gzip;q=0, *", false),
        ("br, zstd, deflate", false),
        ("identity", false),
        (long_ae.as_str(), false),
    ];
    for (ae, gz) in cases {
        let r = get(
            &h.client,
            &proxy(&h, &path),
            &[auth, ("Accept-Encoding", ae)],
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.gzipped(), gz, "Accept-Encoding: {ae:.40}");
        let body = if gz { gunzip(&r.body) } else { r.body };
        assert_eq!(body, identity.body);
    }
    for inm in [
        long_inm.as_str(),
        "W/W/W/\"",
        "\"unterminated",
        ",,,,",
        "W/\"\"",
    ] {
        let r = get(
            &h.client,
            &proxy(&h, &path),
            &[auth, GZIP, ("If-None-Match", inm)],
        )
        .await;
        assert_eq!(r.status, 200, "If-None-Match: {inm:.40}");
    }
    let raw = reqwest::header::HeaderValue::from_bytes(b"gzip;q=\xff\xfe").unwrap();
    let r = h
        .client
        .get(proxy(&h, &path))
        .header("X-Plex-Token", token.as_str())
        .header("Accept-Encoding", raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());
}

/// Images and media are never gzipped (they are compressed already): a cached thumbnail keeps
/// its bytes and gets no `Vary`; a media part passes through as the server sends it.
#[tokio::test]
async fn plex_no_gzip_for_images_or_media() {
    let (srv, h) = plex().await;
    let token = srv.token.clone();
    let auth = ("X-Plex-Token", token.as_str());
    let movie = first_movie(&srv);
    let direct = reqwest::Client::new();
    for path in [
        format!("/library/metadata/{movie}/thumb/1700000000"),
        format!(
            "/photo/:/transcode?width=64&height=64&url=%2Flibrary%2Fmetadata%2F{movie}%2Fthumb%2F1"
        ),
    ] {
        let want = get(&direct, &format!("{}{path}", srv.base_url), &[auth]).await;
        assert_eq!(want.status, 200, "{path}");
        assert!(want.h("content-type").starts_with("image/"));
        assert!(
            want.body.len() >= 1024,
            "big enough to be worth it if it were text"
        );
        for _ in 0..2 {
            let r = get(&h.client, &proxy(&h, &path), &[auth, GZIP]).await;
            assert_eq!(r.status, 200);
            assert!(!r.gzipped(), "{path}");
            assert!(!varies_by_encoding(&r));
            assert!(!r.h("etag").is_empty(), "still a validator");
            assert_eq!(r.body, want.body);
        }
    }
    let meta = get(
        &direct,
        &format!("{}/library/metadata/{movie}", srv.base_url),
        &[auth, ("Accept", "application/json")],
    )
    .await;
    let meta: serde_json::Value = serde_json::from_slice(&meta.body).unwrap();
    let part = meta["MediaContainer"]["Metadata"][0]["Media"][0]["Part"][0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    // Media is large: compare the heads, not the bytes (the range test compares bytes).
    let want = direct
        .get(format!("{}{part}", srv.base_url))
        .header(auth.0, auth.1)
        .send()
        .await
        .unwrap();
    let r = h
        .client
        .get(proxy(&h, &part))
        .header(auth.0, auth.1)
        .header(GZIP.0, GZIP.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), want.status());
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(
        r.headers().get("content-length"),
        want.headers().get("content-length")
    );
}

/// `Range` requests are not answered from the cache (they go to the server, which knows its
/// bytes): a gzip-accepting client still gets exactly the server's ranged identity answer,
/// for media and for a cached listing alike.
#[tokio::test]
async fn plex_range_requests_stay_correct() {
    let (srv, h) = plex().await;
    let token = srv.token.clone();
    let auth = ("X-Plex-Token", token.as_str());
    let direct = reqwest::Client::new();
    let movie = first_movie(&srv);
    let meta = get(
        &direct,
        &format!("{}/library/metadata/{movie}", srv.base_url),
        &[auth, ("Accept", "application/json")],
    )
    .await;
    let meta: serde_json::Value = serde_json::from_slice(&meta.body).unwrap();
    let part = meta["MediaContainer"]["Metadata"][0]["Media"][0]["Part"][0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let music = music_section(&srv);
    let listing = format!("/library/sections/{music}/all?type=10&X-Plex-Container-Size=11");
    // The listing is cached (and its gzip copy made) before the ranged requests.
    let warm = get(&h.client, &proxy(&h, &listing), &[auth, GZIP]).await;
    assert!(warm.gzipped());
    for path in [part.as_str(), listing.as_str()] {
        let range = ("Range", "bytes=100-1123");
        let want = get(&direct, &format!("{}{path}", srv.base_url), &[auth, range]).await;
        let r = get(&h.client, &proxy(&h, path), &[auth, GZIP, range]).await;
        assert_eq!(r.status, want.status, "{path}");
        assert_eq!(r.h("content-range"), want.h("content-range"));
        assert!(!r.gzipped(), "{path}");
        assert_eq!(r.body, want.body, "{path}");
        assert!(r.h("cache-status").contains("detail=range"));
    }
    let media = get(
        &h.client,
        &proxy(&h, &part),
        &[auth, ("Range", "bytes=100-1123")],
    )
    .await;
    assert_eq!(media.status, 206);
    assert_eq!(media.body.len(), 1024);
}

/// A large body is not compressed on the async worker: the first gzip client gets identity at
/// once (the copy is made on a blocking thread), later ones get the gzip copy, which
/// decompresses to the identity body.
#[tokio::test]
async fn plex_large_body_is_identity_first_then_gzip() {
    // Zero-copy answers on, so that the gzip copy's own body file is sent too.
    let srv = Sim::start_plex_for_tests().await.unwrap();
    let h = start_gateway(srv.addr, Profile::Plex, |c| {
        c.cache.sendfile_min_bytes = Some(16 * 1024);
    })
    .await;
    let token = srv.token.clone();
    let auth = ("X-Plex-Token", token.as_str());
    let music = music_section(&srv);
    let path = format!("/library/sections/{music}/all?type=10");
    let first = get(&h.client, &proxy(&h, &path), &[auth, GZIP]).await;
    assert_eq!(first.status, 200);
    assert!(
        first.body.len() > 128 * 1024,
        "a large listing ({} bytes)",
        first.body.len()
    );
    assert!(!first.gzipped(), "not compressed while the client waits");
    assert!(varies_by_encoding(&first));
    let id_tag = first.h("etag").to_string();
    let gz = eventually_ok(
        "the gzip copy is made",
        Duration::from_secs(30),
        async || {
            let r = get(&h.client, &proxy(&h, &path), &[auth, GZIP]).await;
            assert_eq!(r.status, 200);
            if r.gzipped() {
                return Ok(r);
            }
            assert_eq!(r.body, first.body, "identity until the copy exists");
            Err(String::new())
        },
    )
    .await;
    assert_eq!(gunzip(&gz.body), first.body);
    assert_ne!(gz.h("etag"), id_tag);
    assert!(gz.body.len() < first.body.len() / 4);
    // The hit path sends it (sendfile for a copy this large): same bytes again.
    let again = get(&h.client, &proxy(&h, &path), &[auth, GZIP]).await;
    assert_eq!(again.body, gz.body);
}

async fn jellyfin() -> (TestServer, Harness) {
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

/// The same for Jellyfin: JSON listings gzip for gzip clients and decompress to the direct
/// answer, 304 on the entry's tag; images keep the server's own `ETag`, validate against it
/// and are never gzipped.
#[tokio::test]
async fn jellyfin_gzip_etag_and_304() {
    let (srv, h) = jellyfin().await;
    let owner = srv.sim.state().owner().jellyfin_token.clone();
    let auth = ("X-Emby-Token", owner.as_str());
    let direct = reqwest::Client::new();
    let views = get(&direct, &format!("{}/UserViews", srv.base_url), &[auth]).await;
    let views: serde_json::Value = serde_json::from_slice(&views.body).unwrap();
    let view = views["Items"][0]["Id"].as_str().unwrap().to_string();
    let path = format!("/Items?ParentId={view}&Recursive=true&Limit=12&StartIndex=0");
    let want = get(&direct, &format!("{}{path}", srv.base_url), &[auth]).await;
    assert!(
        want.body.len() >= 2048 && want.body.len() <= SMALL,
        "{} bytes",
        want.body.len()
    );
    let gz = get(&h.client, &proxy(&h, &path), &[auth, GZIP]).await;
    assert!(gz.gzipped());
    assert!(gz.h("content-type").contains("json"));
    assert_eq!(gunzip(&gz.body), want.body);
    let id = get(&h.client, &proxy(&h, &path), &[auth]).await;
    assert!(!id.gzipped());
    assert_eq!(id.body, want.body);
    assert_ne!(gz.h("etag"), id.h("etag"));
    let r = get(
        &h.client,
        &proxy(&h, &path),
        &[auth, GZIP, ("If-None-Match", gz.h("etag"))],
    )
    .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = get(
        &h.client,
        &proxy(&h, &path),
        &[auth, ("If-None-Match", "\"other\"")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, want.body);

    let movie = {
        let lib = srv.sim.library();
        let id = lib
            .sections()
            .iter()
            .find_map(|s| s.items(ItemKind::Movie).first().copied())
            .unwrap();
        lib.item(id).unwrap().guid_id()
    };
    let image = format!("/Items/{movie}/Images/Primary?tag=0&maxWidth=64");
    let want = get(&direct, &format!("{}{image}", srv.base_url), &[]).await;
    let server_tag = want.h("etag").to_string();
    assert!(!server_tag.is_empty(), "the server tags its images");
    for _ in 0..2 {
        let r = get(&h.client, &proxy(&h, &image), &[auth, GZIP]).await;
        assert_eq!(r.status, 200);
        assert!(!r.gzipped());
        assert_eq!(r.h("etag"), server_tag, "the server's validator is kept");
        assert_eq!(r.body, want.body);
    }
    let r = get(
        &h.client,
        &proxy(&h, &image),
        &[auth, GZIP, ("If-None-Match", server_tag.as_str())],
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.h("x-cache"), "HIT");
}
