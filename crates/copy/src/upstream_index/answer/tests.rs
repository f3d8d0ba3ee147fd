//! The reasons a search is declined for, one test each: a gateway built in front of a port
//! nothing listens on (the server is never reached before these reasons are known), its
//! copy asked as the proxy asks it ([`try_answer`], and the copy's `LibraryCopy::answer_search`,
//! which counts each decline).

#![allow(
    clippy::disallowed_methods,
    reason = "an answer's start time only spans its latency for the metrics, in real time"
)]

use std::sync::Arc;
use std::time::Instant;

use cachearr_config::Config;
use cachearr_config::policy::IndexSearch;
use cachearr_dialect::Profile;
use cachearr_gateway::Gateway;
use cachearr_gateway::copy::LibraryCopy as _;
use cachearr_library::LibraryIndex;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::secret::UserHash;
use cachearr_upstream::users::{UserRecord, Users};
use http::Request;
use http_body_util::{Either, Empty};

use super::try_answer;
use crate::GatewayLibrary as _;
use crate::upstream_index::UpstreamIndex;
use crate::upstream_index::declined::Declined;

/// A built gateway with its copy, in front of a server that refuses every connection.
async fn gateway(data: &tempfile::TempDir) -> Gateway {
    let any = "127.0.0.1:0".parse().unwrap();
    let mut config = Config::single(Profile::Plex, "http://127.0.0.1:1", any).unwrap();
    config.data_dir = data.path().to_path_buf();
    crate::builder(config).build().await.unwrap()
}

fn parts(gw: &Gateway) -> (&Arc<UpstreamIndex>, &Arc<Upstream>) {
    (gw.index("plex").unwrap(), gw.upstream("plex").unwrap())
}

/// The copy's index, installed: one track, id `1` (no reason below looks further).
fn install_index(handle: &UpstreamIndex) {
    let track = cachearr_library::ItemRecord::track("1", "3", "Artist", "Song");
    handle.install(Arc::new(LibraryIndex::build([&track]).unwrap()));
}

fn user() -> Arc<UserRecord> {
    UserRecord::unlisted("plex", UserHash(7), "user-token")
}

/// A title search of section 1, as Plex clients send it.
fn search(path: &str) -> Request<()> {
    Request::builder().uri(path).body(()).unwrap()
}

const SECTION_SEARCH: &str = "/library/sections/1/search?title=blue";

async fn declined(gw: &Gateway, path: &str, user: Option<Arc<UserRecord>>) -> Declined {
    let (handle, up) = parts(gw);
    let req = search(path);
    let search = IndexSearch::SectionSearch;
    match try_answer(gw.reads(), handle, up, &req, search, user, Instant::now()).await {
        Ok(_) => panic!("answered {path}"),
        Err(reason) => reason,
    }
}

#[tokio::test]
async fn a_search_before_the_index_is_built_is_not_indexed() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    let reason = declined(&gw, SECTION_SEARCH, Some(user())).await;
    assert_eq!(reason, Declined::NotIndexed);
}

#[tokio::test]
async fn a_search_of_a_section_the_copy_cannot_read_is_unmodelled() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    install_index(parts(&gw).0);
    let reason = declined(
        &gw,
        "/library/sections/music/search?title=blue",
        Some(user()),
    )
    .await;
    assert_eq!(reason, Declined::UnmodelledParameter);
}

#[tokio::test]
async fn a_search_without_one_token_has_no_user() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    install_index(parts(&gw).0);
    assert_eq!(declined(&gw, SECTION_SEARCH, None).await, Declined::NoUser);
}

#[tokio::test]
async fn a_search_with_a_refused_token_is_declined_as_refused() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    install_index(parts(&gw).0);
    let user = user();
    Users::refused(&user);
    let reason = declined(&gw, SECTION_SEARCH, Some(user)).await;
    assert_eq!(reason, Declined::TokenRefused);
}

#[tokio::test]
async fn a_search_after_a_write_through_the_gateway_is_an_item_changed() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    let handle = parts(&gw).0;
    install_index(handle);
    assert!(handle.note_write(["1"]));
    let reason = declined(&gw, SECTION_SEARCH, Some(user())).await;
    assert_eq!(reason, Declined::ItemChanged);
}

#[tokio::test]
async fn a_search_whose_users_sections_cannot_be_read_is_declined_for_them() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    install_index(parts(&gw).0);
    let reason = declined(&gw, SECTION_SEARCH, Some(user())).await;
    assert_eq!(reason, Declined::SectionsUnknown);
}

#[tokio::test]
async fn each_declined_search_is_counted_with_its_reason() {
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(&data).await;
    let (handle, up) = parts(&gw);
    install_index(handle);
    for user in [None, None, Some(user())] {
        let req = Request::builder()
            .uri(SECTION_SEARCH)
            .body(Either::Right(Empty::new()))
            .unwrap();
        let copy = gw.library().unwrap();
        let answered = copy
            .answer_search(
                gw.reads(),
                up,
                &req,
                IndexSearch::SectionSearch,
                user,
                Instant::now(),
            )
            .await;
        assert!(answered.is_none());
    }
    let declines = handle.declines();
    assert_eq!(declines.count(Declined::NoUser), 2);
    assert_eq!(declines.count(Declined::SectionsUnknown), 1);
    assert_eq!(handle.status().declined["no_user"], 2);
    let metrics = gw.metrics().render();
    let line = r#"cachearr_copy_declined_total{upstream="plex",reason="no_user"} "#;
    let counted = (metrics.lines())
        .find_map(|l| l.strip_prefix(line))
        .map(|n| n.trim().parse::<f64>().unwrap());
    assert_eq!(counted, Some(2.0), "{metrics}");
}
