//! Core Plex behaviour over real HTTP on loopback: auth, formats and the types of JSON
//! attributes, paging both ways, counts, determinism, per-user visibility, the control API.

use cachearr_sim::{Sim, cost::CostModel};
use cachearr_testkit::http::json_answer;

/// `GET url` with `headers`, on a client of its own.
fn request(url: &str, headers: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    request(url, headers).send().await.expect("request")
}

#[tokio::test]
async fn identity_needs_no_token_but_everything_else_does() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let r = get(&format!("{}/identity", srv.base_url), &[]).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("body");
    assert!(body.contains("machineIdentifier=\""), "{body}");
    let r = get(&format!("{}/library/sections", srv.base_url), &[]).await;
    assert_eq!(r.status(), 401);
    let r = get(
        &format!("{}/library/sections?X-Plex-Token=wrong", srv.base_url),
        &[],
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = get(
        &format!("{}/library/sections", srv.base_url),
        &[("X-Plex-Token", &srv.token)],
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = get(
        &format!(
            "{}/library/sections?X-Plex-Token={}",
            srv.base_url, srv.token
        ),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("title=\"Music (Lossless)\"")
    );
}

#[tokio::test]
async fn json_with_accept_header() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let r = get(
        &format!("{}/library/sections", srv.base_url),
        &[("X-Plex-Token", &srv.token), ("Accept", "application/json")],
    )
    .await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json")
    );
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["MediaContainer"]["size"], 4);
    assert_eq!(v["MediaContainer"]["Directory"][0]["type"], "artist");
}

/// An item's own page carries the `Image` elements python-plexapi reads (`Movie.images`):
/// the poster and the background, at the URLs of `thumb` and `art`; an episode's poster is a
/// `snapshot`. Listings keep them out, as they keep out the other detail children.
#[tokio::test]
async fn an_items_own_page_lists_its_images() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let movies = cachearr_sim::library::MOVIES_SECTION;
    let headers = [
        ("X-Plex-Token", srv.token.as_str()),
        ("Accept", "application/json"),
    ];
    let listing = json_answer(request(
        &format!("{}/library/sections/{movies}/all", srv.base_url),
        &headers,
    ))
    .await;
    let listed = &listing["MediaContainer"]["Metadata"][0];
    assert!(listed.get("Image").is_none(), "{listed}");
    let key = listed["ratingKey"].as_str().expect("ratingKey");
    let page = json_answer(request(
        &format!("{}/library/metadata/{key}", srv.base_url),
        &headers,
    ))
    .await;
    let movie = &page["MediaContainer"]["Metadata"][0];
    let images: Vec<(&str, &str)> = movie["Image"]
        .as_array()
        .expect("Image elements")
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap_or(""),
                i["url"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let thumb = movie["thumb"].as_str().expect("thumb");
    let art = movie["art"].as_str().expect("art");
    assert_eq!(images, vec![("coverPoster", thumb), ("background", art)]);
    assert_eq!(movie["Image"][0]["alt"], movie["title"]);
    assert_eq!(
        movie["Media"][0]["aspectRatio"], 1.78,
        "a number, as Plex gives it"
    );
    let episode = {
        let lib = srv.sim.library();
        let shows = lib
            .section(cachearr_sim::library::SHOWS_SECTION)
            .expect("shows");
        shows.items(cachearr_sim::library::ItemKind::Episode)[0]
    };
    let page = json_answer(request(
        &format!("{}/library/metadata/{episode}", srv.base_url),
        &headers,
    ))
    .await;
    assert_eq!(
        page["MediaContainer"]["Metadata"][0]["Image"][0]["type"],
        "snapshot"
    );
}

async fn page_json(
    srv: &cachearr_sim::TestServer,
    start: usize,
    size: usize,
    by_header: bool,
) -> (serde_json::Value, reqwest::header::HeaderMap) {
    let (url, start_s, size_s) = (
        format!("{}/library/sections/1/all?type=10", srv.base_url),
        start.to_string(),
        size.to_string(),
    );
    let r = if by_header {
        get(
            &url,
            &[
                ("X-Plex-Token", &srv.token),
                ("Accept", "application/json"),
                ("X-Plex-Container-Start", &start_s),
                ("X-Plex-Container-Size", &size_s),
            ],
        )
        .await
    } else {
        get(
            &format!("{url}&X-Plex-Container-Start={start}&X-Plex-Container-Size={size}"),
            &[("X-Plex-Token", &srv.token), ("Accept", "application/json")],
        )
        .await
    };
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    (r.json().await.expect("json"), headers)
}

#[tokio::test]
async fn paging_by_header_and_by_query_agree_and_cover_everything_once() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let total = srv
        .sim
        .library()
        .section(1)
        .map(|s| s.items(cachearr_sim::library::ItemKind::Track).len())
        .expect("s1");
    let mut seen = Vec::new();
    let mut start = 0;
    while start < total {
        let (h, headers) = page_json(&srv, start, 37, true).await;
        let (q, _) = page_json(&srv, start, 37, false).await;
        assert_eq!(h, q, "header and query paging differ at {start}");
        assert_eq!(h["MediaContainer"]["totalSize"], total);
        assert_eq!(h["MediaContainer"]["offset"], start);
        assert_eq!(
            headers["X-Plex-Container-Total-Size"].to_str().expect("h"),
            total.to_string()
        );
        for m in h["MediaContainer"]["Metadata"]
            .as_array()
            .expect("metadata")
        {
            seen.push(m["ratingKey"].as_str().expect("rk").to_string());
        }
        start += 37;
    }
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), total);
    assert_eq!(unique.len(), total);
    // Size 0 = count only.
    let (c, _) = page_json(&srv, 0, 0, false).await;
    assert_eq!(c["MediaContainer"]["size"], 0);
    assert_eq!(c["MediaContainer"]["totalSize"], total);
    assert!(c["MediaContainer"].get("Metadata").is_none());
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let a = Sim::builder()
        .tracks(800)
        .movies(20)
        .shows(2)
        .seed(9)
        .cost(CostModel::zero())
        .build()
        .expect("a");
    let b = Sim::builder()
        .tracks(800)
        .movies(20)
        .shows(2)
        .seed(9)
        .cost(CostModel::zero())
        .build()
        .expect("b");
    let (sa, sb) = (
        a.start_plex_test_server().await.expect("a"),
        b.start_plex_test_server().await.expect("b"),
    );
    assert_eq!(sa.token, sb.token);
    for path in [
        "/library/sections/1/all?type=10",
        "/library/sections/2/all",
        "/library/sections/3/all?type=4",
        "/library/sections/4/all?type=9",
    ] {
        let x = get(
            &format!("{}{path}", sa.base_url),
            &[("X-Plex-Token", &sa.token)],
        )
        .await
        .text()
        .await
        .expect("x");
        let y = get(
            &format!("{}{path}", sb.base_url),
            &[("X-Plex-Token", &sb.token)],
        )
        .await
        .text()
        .await
        .expect("y");
        assert_eq!(x, y, "{path}");
        assert!(x.len() > 1000);
    }
    let c = Sim::builder()
        .tracks(800)
        .movies(20)
        .shows(2)
        .seed(10)
        .build()
        .expect("c");
    assert_ne!(a.library().fingerprint(), c.library().fingerprint());
}

#[tokio::test]
async fn restricted_user_sees_only_their_sections() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let bob = srv
        .sim
        .state()
        .user_by_name("bob")
        .expect("bob")
        .plex_token
        .clone();
    let v = json_answer(request(
        &format!("{}/library/sections", srv.base_url),
        &[("X-Plex-Token", &bob), ("Accept", "application/json")],
    ))
    .await;
    let titles: Vec<&str> = v["MediaContainer"]["Directory"]
        .as_array()
        .expect("dirs")
        .iter()
        .map(|d| d["title"].as_str().expect("t"))
        .collect();
    assert_eq!(titles, vec!["Music", "Music (Lossless)"]);
    let r = get(
        &format!("{}/library/sections/2/all", srv.base_url),
        &[("X-Plex-Token", &bob)],
    )
    .await;
    assert_eq!(r.status(), 404);
    let movie = srv
        .sim
        .library()
        .section(2)
        .expect("movies")
        .items(cachearr_sim::library::ItemKind::Movie)[0];
    let r = get(
        &format!("{}/library/metadata/{movie}", srv.base_url),
        &[("X-Plex-Token", &bob)],
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = get(
        &format!("{}/library/metadata/{movie}", srv.base_url),
        &[("X-Plex-Token", &srv.token)],
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bad_input_gets_400_or_404_not_a_panic() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let t = [("X-Plex-Token", srv.token.as_str())];
    for (path, status) in [
        ("/library/sections/1/all?type=abc", 400),
        ("/library/sections/1/all?sort=nonsense", 400),
        ("/library/sections/1/all?grandparentTitle=x", 400),
        ("/library/sections/1/all?X-Plex-Container-Start=-1", 400),
        ("/library/sections/99/all", 404),
        ("/library/sections/abc/all", 404),
        ("/library/metadata/abc", 404),
        ("/library/metadata/999999999", 404),
        ("/no/such/path", 404),
    ] {
        let r = get(&format!("{}{path}", srv.base_url), &t).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
    }
}

#[tokio::test]
async fn stats_count_routes_and_reset() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let t = [("X-Plex-Token", srv.token.as_str())];
    for _ in 0..3 {
        get(
            &format!(
                "{}/library/sections/1/all?X-Plex-Container-Size=5",
                srv.base_url
            ),
            &t,
        )
        .await;
    }
    get(&format!("{}/library/sections", srv.base_url), &t).await;
    let stats = json_answer(request(&format!("{}/_sim/stats", srv.base_url), &[])).await;
    assert_eq!(stats["total"], 4);
    assert_eq!(
        stats["routes"]["GET /library/sections/{id}/all"]["requests"],
        3
    );
    assert_eq!(stats["routes"]["GET /library/sections"]["requests"], 1);
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/reset", srv.base_url))
        .send()
        .await
        .expect("reset");
    assert_eq!(r.status(), 200);
    let stats = json_answer(request(&format!("{}/_sim/stats", srv.base_url), &[])).await;
    assert_eq!(stats["total"], 0);
    let tokens = json_answer(request(&format!("{}/_sim/tokens", srv.base_url), &[])).await;
    assert_eq!(tokens["users"][0]["plex_token"], srv.token.as_str());
    assert_eq!(tokens["users"].as_array().expect("users").len(), 7);
}

#[tokio::test]
async fn large_unpaged_dumps_are_streamed_whole_in_both_formats() {
    let sim = Sim::builder()
        .tracks(1_500)
        .movies(2)
        .shows(1)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .expect("sim");
    let srv = sim.start_plex_test_server().await.expect("serve");
    let total = sim
        .library()
        .section(1)
        .expect("m")
        .items(cachearr_sim::library::ItemKind::Track)
        .len();
    assert!(total > 1_000);
    let url = format!("{}/library/sections/1/all?type=10", srv.base_url);
    let dump = json_answer(request(
        &url,
        &[("X-Plex-Token", &srv.token), ("Accept", "application/json")],
    ))
    .await;
    assert_eq!(dump["MediaContainer"]["size"], total);
    let items = dump["MediaContainer"]["Metadata"]
        .as_array()
        .expect("metadata");
    assert_eq!(items.len(), total);
    // The streamed dump equals the pages, item for item.
    let (page, _) = page_json(&srv, 700, 37, true).await;
    for (i, m) in page["MediaContainer"]["Metadata"]
        .as_array()
        .expect("page")
        .iter()
        .enumerate()
    {
        assert_eq!(&items[700 + i], m);
    }
    let xml = get(&url, &[("X-Plex-Token", &srv.token)])
        .await
        .text()
        .await
        .expect("xml");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\""));
    assert!(xml.ends_with("</MediaContainer>\n"));
    assert_eq!(xml.matches("<Track ").count(), total);
    assert_eq!(xml.matches("</Track>").count(), total);
}

/// Every attribute of the JSON answers of the main routes has the JSON type the vendored Plex
/// OpenAPI document gives it (tests/python/plex_types.py walks each answer beside its route's
/// schema and every element beside its component schema), and, where the document is silent,
/// the type python-plexapi reads it as: a strict client generated from that document rejects a
/// whole answer for one mistyped attribute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_every_plex_json_attribute_has_the_specs_type() {
    let sim = Sim::builder()
        .tracks(300)
        .movies(20)
        .shows(3)
        .seed(11)
        .cost(CostModel::zero())
        .build()
        .expect("sim");
    check_types(sim).await;
}

/// The described library python-plexapi's suite runs on: its items carry the media, stream
/// and tag attributes a real scan wrote, rendered from what the description gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_a_described_librarys_plex_json_attributes_have_the_specs_type() {
    let sim = Sim::builder()
        .library_spec(cachearr_sim::library_file::LibrarySpec::plexapi_bootstrap())
        .cost(CostModel::zero())
        .build()
        .expect("sim");
    check_types(sim).await;
}

async fn check_types(sim: Sim) {
    let python = cachearr_testkit::venv_python(".venv");
    let srv = sim.start_plex_test_server().await.expect("serve");
    let script = cachearr_testkit::workspace_root().join("tests/python/plex_types.py");
    let args = [srv.base_url.clone(), srv.token.clone()];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
    })
    .await
    .expect("join")
    .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mistyped attributes:\n{stdout}\nstderr:\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    eprintln!(
        "{} answers, {} attributes checked against the spec",
        report["routes"], report["attributes_checked"]
    );
    // The check covered the answers it claims to, not an empty walk.
    assert!(report["routes"].as_u64() >= Some(40), "{report}");
    assert!(
        report["attributes_checked"].as_u64() >= Some(5_000),
        "{report}"
    );
    // Attributes the document does not describe were judged by python-plexapi's casts.
    assert!(
        report["undocumented_attributes_checked_against_plexapi"].as_u64() >= Some(300),
        "{report}"
    );
}

/// Sonic analysis (`nearest`, `computePath`) on analysed music: neighbours of the item's kind,
/// nearest first within `maxDistance`, at most `limit`, the same distance both ways; a path
/// from one track to another that starts and ends there; bad parameters are refused.
#[tokio::test]
async fn sonically_similar_items_and_a_sonic_adventure() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let headers = [
        ("X-Plex-Token", srv.token.as_str()),
        ("Accept", "application/json"),
    ];
    let tracks: Vec<u32> = {
        let lib = srv.sim.library();
        let music = lib
            .section(cachearr_sim::library::MUSIC_SECTION)
            .expect("music");
        music.items(cachearr_sim::library::ItemKind::Track).to_vec()
    };
    let nearest = |id: u32, query: &str| {
        let url = format!("{}/library/metadata/{id}/nearest{query}", srv.base_url);
        async move { json_answer(request(&url, &headers)).await }
    };
    let near = nearest(tracks[0], "?maxDistance=0.5").await;
    let items = near["MediaContainer"]["Metadata"]
        .as_array()
        .expect("neighbours")
        .clone();
    assert!(!items.is_empty(), "{near}");
    let distances: Vec<f64> = items
        .iter()
        .map(|i| i["distance"].as_f64().expect("a number"))
        .collect();
    assert!(
        distances.windows(2).all(|w| w[0] <= w[1]),
        "nearest first: {distances:?}"
    );
    assert!(distances.iter().all(|d| *d <= 0.5));
    assert!(items.iter().all(|i| i["type"] == "track"));
    let other: u32 = items[0]["ratingKey"]
        .as_str()
        .expect("key")
        .parse()
        .expect("id");
    let back = nearest(other, "?maxDistance=1&limit=100000").await;
    let mirrored = back["MediaContainer"]["Metadata"]
        .as_array()
        .expect("neighbours")
        .iter()
        .find(|i| i["ratingKey"].as_str() == Some(tracks[0].to_string().as_str()))
        .map(|i| i["distance"].as_f64());
    assert_eq!(
        mirrored,
        Some(Some(distances[0])),
        "the same distance both ways"
    );
    let one = nearest(tracks[0], "?limit=1&maxDistance=1").await;
    assert_eq!(one["MediaContainer"]["size"], 1);
    for bad in ["?limit=x", "?maxDistance=2"] {
        let r = get(
            &format!(
                "{}/library/metadata/{}/nearest{bad}",
                srv.base_url, tracks[0]
            ),
            &headers,
        )
        .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let (start, end) = (tracks[0], tracks[tracks.len() - 1]);
    let music = cachearr_sim::library::MUSIC_SECTION;
    let url = format!(
        "{}/library/sections/{music}/computePath?startID={start}&endID={end}",
        srv.base_url
    );
    let path = json_answer(request(&url, &headers)).await;
    let keys: Vec<String> = path["MediaContainer"]["Metadata"]
        .as_array()
        .expect("a path")
        .iter()
        .map(|i| i["ratingKey"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(keys.first(), Some(&start.to_string()), "{keys:?}");
    assert_eq!(keys.last(), Some(&end.to_string()), "{keys:?}");
    let movies = cachearr_sim::library::MOVIES_SECTION;
    let r = get(
        &format!(
            "{}/library/sections/{movies}/computePath?startID={start}&endID={end}",
            srv.base_url
        ),
        &headers,
    )
    .await;
    assert_eq!(r.status(), 404, "tracks of another section");
    let r = get(
        &format!(
            "{}/library/sections/{music}/computePath?startID={start}",
            srv.base_url
        ),
        &headers,
    )
    .await;
    assert_eq!(r.status(), 400, "no end");
}

/// The dashboard's bandwidth statistics count the media bytes the server sent, per account,
/// device and time bin, filtered as python-plexapi asks (`accountID`, `bytes>`, `at>`);
/// only the owner reads them, and a bad timespan or filter is refused.
#[tokio::test]
async fn bandwidth_statistics_count_the_media_bytes_sent() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let alice = srv
        .sim
        .state()
        .user_by_name("alice")
        .expect("alice")
        .plex_token
        .clone();
    let movie = {
        let lib = srv.sim.library();
        let movies = lib
            .section(cachearr_sim::library::MOVIES_SECTION)
            .expect("movies");
        movies.items(cachearr_sim::library::ItemKind::Movie)[0]
    };
    let part = format!("{}/library/parts/{movie}/1/file.mkv", srv.base_url);
    for (token, range) in [
        (&srv.token, "bytes=0-999"),
        (&srv.token, "bytes=0-1999"),
        (&alice, "bytes=0-499"),
    ] {
        let r = get(&part, &[("X-Plex-Token", token.as_str()), ("Range", range)]).await;
        assert_eq!(r.status(), 206);
        r.bytes().await.expect("bytes");
    }
    let owner = [
        ("X-Plex-Token", srv.token.as_str()),
        ("Accept", "application/json"),
    ];
    let rows = |v: &serde_json::Value| -> Vec<(u64, u64)> {
        v["MediaContainer"]["StatisticsBandwidth"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["accountID"].as_u64().unwrap_or(0),
                    r["bytes"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let stats = |query: &str| {
        let url = format!("{}/statistics/bandwidth?{query}", srv.base_url);
        async move { json_answer(request(&url, &owner)).await }
    };
    let (owner_id, alice_id) = {
        let state = srv.sim.state();
        (
            state.owner().id as u64,
            state.user_by_name("alice").expect("alice").id as u64,
        )
    };
    let days = stats("timespan=3").await;
    let mut by_account = rows(&days);
    by_account.sort_unstable();
    assert_eq!(
        by_account,
        vec![(owner_id, 3000), (alice_id, 500)],
        "{days}"
    );
    assert!(
        days["MediaContainer"]["Account"]
            .as_array()
            .is_some_and(|a| a.len() == 2)
    );
    let filtered = stats(&format!(
        "timespan=3&accountID={owner_id}&bytes%3E=2500&at%3E=1609459200&lan=1"
    ))
    .await;
    assert_eq!(rows(&filtered), vec![(owner_id, 3000)], "{filtered}");
    let none = stats("timespan=3&bytes%3E=3001").await;
    assert!(rows(&none).is_empty(), "{none}");
    for bad in [
        "timespan=5",
        "",
        "timespan=3&color=red",
        "timespan=3&bytes%3E=lots",
    ] {
        let r = get(
            &format!("{}/statistics/bandwidth?{bad}", srv.base_url),
            &owner,
        )
        .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = get(
        &format!("{}/statistics/bandwidth?timespan=6", srv.base_url),
        &[("X-Plex-Token", alice.as_str())],
    )
    .await;
    assert_eq!(r.status(), 401, "the owner's dashboard");
}
