//! Hostile input never gets a 5xx (or a dropped connection, which is what a panic would look
//! like): every request below is answered with a 2xx or 4xx.

use crate::common;

use cachearr_sim::Sim;
use common::*;
use reqwest::Method;

#[tokio::test]
async fn hostile_requests_get_answers_not_panics() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    let cases: &[(Method, &str)] = &[
        (Method::GET, "/library/metadata/%00"),
        (Method::GET, "/library/metadata/,,,"),
        (Method::GET, "/library/metadata/4294967296"),
        (Method::GET, "/library/metadata/0/children"),
        (Method::GET, "/library/metadata/1/allLeaves?sort=:desc"),
        (
            Method::GET,
            "/library/sections/1/all?X-Plex-Container-Size=18446744073709551615",
        ),
        (
            Method::GET,
            "/library/sections/1/all?X-Plex-Container-Size=99999999999999999999999",
        ),
        (
            Method::GET,
            "/library/sections/1/all?X-Plex-Container-Start=18446744073709551615&X-Plex-Container-Size=5",
        ),
        (Method::GET, "/library/sections/1/all?type=4294967296"),
        (Method::GET, "/library/sections/1/all?type=10&title=%FF%FE"),
        (Method::GET, "/library/sections/1/all?type=10&year>>=abc"),
        (
            Method::GET,
            "/library/sections/1/all?type=10&addedAt>>=-99999999999y",
        ),
        (
            Method::GET,
            "/library/sections/1/all?sort=titleSort:desc,,&limit=-1",
        ),
        (
            Method::GET,
            "/library/sections/1/all?type=10&track.title%3D=&artist.title!=x&unwatched=1",
        ),
        (Method::GET, "/library/sections/1/search?type=10"),
        (Method::GET, "/library/sections/1/search?type=10&query="),
        (Method::GET, "/hubs/search?query=&limit=99999999999"),
        (Method::GET, "/hubs/search?query=a&sectionId=x"),
        (Method::GET, "/status/sessions/history/all?accountID=x"),
        (
            Method::GET,
            "/status/sessions/history/all?X-Plex-Container-Start=999999",
        ),
        (Method::GET, "/playlists/abc/items"),
        (Method::PUT, "/playlists/2000000000/items/xyz/move?after=zz"),
        (Method::DELETE, "/playlists/99/items/1"),
        (
            Method::POST,
            "/playlists?type=audio&title=x&uri=server://m/com.plexapp.plugins.library/library/metadata/abc",
        ),
        (
            Method::POST,
            "/playlists?type=audio&title=x&uri=server://m/com.plexapp.plugins.library/library/sections/1/all?sort=bogus",
        ),
        (Method::POST, "/playlists?type=x&title=x"),
        (Method::GET, "/:/timeline?ratingKey=1&state=playing&time=-5"),
        (
            Method::GET,
            "/:/timeline?key=/library/metadata/&state=playing&time=1",
        ),
        (Method::GET, "/:/progress?key=1&time=abc"),
        (Method::PUT, "/:/rate?key=1&rating=NaN"),
        (Method::GET, "/:/scrobble?key=1&identifier=other"),
        (
            Method::PUT,
            "/library/sections/1/all?type=10&id=1&year.value=abc",
        ),
        (Method::PUT, "/library/sections/1/all?type=10&id=a,b"),
        (Method::GET, "/library/sections/999/refresh"),
        (
            Method::GET,
            "/photo/:/transcode?url=/library/metadata/abc&width=0",
        ),
        (
            Method::GET,
            "/photo/:/transcode?url=x&width=4294967295&height=4294967295",
        ),
        (Method::GET, "/library/metadata/1/thumb/abc"),
        (Method::GET, "/library/parts/abc/1/file.mp3"),
        (Method::GET, "/library/parts/1/1/file.mp3"),
        (Method::GET, "/library/sections/1/collections?includeMeta=1"),
        (Method::GET, "/%2e%2e/%2e%2e/etc/passwd"),
    ];
    for (method, path) in cases {
        let r = send_as(&srv, &srv.token, method.clone(), path).await;
        assert!(
            r.status().as_u16() < 500,
            "{method} {path} → {}",
            r.status()
        );
    }
    // Ranges that make no sense.
    let part = {
        let lib = srv.sim.library();
        let t = lib
            .section(1)
            .expect("m")
            .items(cachearr_sim::library::ItemKind::Track)[0];
        format!(
            "/library/parts/{t}/{}/file.mp3",
            lib.item(t).expect("t").updated_at()
        )
    };
    for range in [
        "bytes=5-2",
        "bytes=-0",
        "bytes=abc",
        "bytes=1-2,4-5",
        "pages=1-2",
        "bytes=99999999999999-",
    ] {
        let r = client()
            .get(format!("{}{part}", srv.base_url))
            .header("X-Plex-Token", &srv.token)
            .header("Range", range)
            .send()
            .await
            .expect("answer");
        assert!(r.status().as_u16() < 500, "{range} → {}", r.status());
    }
}
