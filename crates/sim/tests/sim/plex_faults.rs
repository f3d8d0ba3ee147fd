//! Fault injection through `/_sim/faults`.

use crate::common;

use cachearr_sim::Sim;
use common::*;

async fn set_faults(
    srv: &cachearr_sim::TestServer,
    faults: serde_json::Value,
) -> reqwest::StatusCode {
    client()
        .post(format!("{}/_sim/faults", srv.base_url))
        .json(&faults)
        .send()
        .await
        .expect("faults")
        .status()
}

async fn fetch(
    srv: &cachearr_sim::TestServer,
    path: &str,
) -> Result<(reqwest::StatusCode, String), reqwest::Error> {
    let r = client()
        .get(format!("{}{path}", srv.base_url))
        .header("X-Plex-Token", &srv.token)
        .send()
        .await?;
    let status = r.status();
    Ok((status, r.text().await?))
}

#[tokio::test]
async fn errors_with_a_status_and_a_prefix() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    assert_eq!(set_faults(&srv, serde_json::json!({"error_rate": 1.0, "error_status": 503, "path_prefix": "/library/sections/1"})).await, 200);
    assert_eq!(
        fetch(&srv, "/library/sections/1/all").await.expect("r").0,
        503
    );
    assert_eq!(
        fetch(&srv, "/library/sections/2/all").await.expect("r").0,
        200
    );
    // The control API is never faulted.
    assert_eq!(
        client()
            .get(format!("{}/_sim/stats", srv.base_url))
            .send()
            .await
            .expect("s")
            .status(),
        200
    );
    assert_eq!(srv.sim.stats().faults_injected, 1);
    // Half the requests fail, deterministically: some of each.
    set_faults(&srv, serde_json::json!({"error_rate": 0.5})).await;
    let mut failed = 0;
    for _ in 0..40 {
        if fetch(&srv, "/library/sections").await.expect("r").0 == 500 {
            failed += 1;
        }
    }
    assert!((5..=35).contains(&failed), "{failed}");
    assert_eq!(
        client()
            .delete(format!("{}/_sim/faults", srv.base_url))
            .send()
            .await
            .expect("d")
            .status(),
        200
    );
    assert_eq!(fetch(&srv, "/library/sections").await.expect("r").0, 200);
}

#[tokio::test]
async fn dropped_refused_truncated_and_malformed() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    set_faults(&srv, serde_json::json!({"drop_rate": 1.0})).await;
    assert!(
        fetch(&srv, "/library/sections/1/all").await.is_err(),
        "dropped connection"
    );
    set_faults(&srv, serde_json::json!({"truncate_rate": 1.0})).await;
    assert!(
        fetch(&srv, "/library/sections/1/all").await.is_err(),
        "truncated body"
    );
    set_faults(&srv, serde_json::json!({"malformed_rate": 1.0})).await;
    let (status, body) = fetch(&srv, "/library/sections/1/all")
        .await
        .expect("complete response");
    assert_eq!(status, 200);
    assert!(
        !body.trim_end().ends_with("</MediaContainer>"),
        "body is broken"
    );
    set_faults(&srv, serde_json::json!({"refuse": true})).await;
    assert!(fetch(&srv, "/identity").await.is_err(), "refused");
    // The control API lives on the same listener: with refusal on, reset through the Sim.
    srv.sim.set_faults(Default::default());
    assert_eq!(fetch(&srv, "/identity").await.expect("back").0, 200);
}

#[tokio::test]
async fn bad_fault_specs_are_rejected() {
    let srv = Sim::start_plex_for_tests().await.expect("start");
    assert_eq!(
        set_faults(&srv, serde_json::json!({"error_rate": 2.0})).await,
        400
    );
    assert_eq!(
        set_faults(&srv, serde_json::json!({"error_status": 42})).await,
        400
    );
    assert_eq!(
        set_faults(&srv, serde_json::json!({"no_such_field": 1})).await,
        400
    );
    let r = client()
        .post(format!("{}/_sim/faults", srv.base_url))
        .body("not json")
        .send()
        .await
        .expect("r");
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("{}/_sim/library/add", srv.base_url))
        .json(&serde_json::json!({"kind": "spaceship", "title": "x"}))
        .send()
        .await
        .expect("r");
    assert_eq!(r.status(), 400);
    let r = client()
        .post(format!("{}/_sim/library/remove", srv.base_url))
        .json(&serde_json::json!({"ids": [99999999]}))
        .send()
        .await
        .expect("r");
    assert_eq!(r.status(), 404);
}
