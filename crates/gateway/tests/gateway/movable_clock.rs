//! The measurement mode's clock (`cachearr serve --movable-clock`): moved on through the admin
//! API, a cached answer a day old is what the gateway then sees, and without the mode the
//! route refuses to move anything.

#![allow(clippy::unwrap_used)] // test helpers panic on setup failure by design

use std::sync::Arc;

use cachearr_dialect::Profile;
use cachearr_gateway::movable_clock::MovableClock;
use cachearr_sim::Sim;

use cachearr_testkit::sim_gateway;

use sim_gateway::Running;

const ADMIN_TOKEN: &str = "clock-admin-t0ken-0123456789";

async fn start(clock: Option<Arc<MovableClock>>) -> Running {
    let sim = Sim::start_plex_for_tests().await.unwrap();
    sim_gateway::start_built(
        sim,
        Profile::Plex,
        |config| {
            config.admin_token = Some(ADMIN_TOKEN.to_owned());
            config.feed.enabled = false;
        },
        |builder| match clock {
            Some(clock) => builder.movable_clock(clock),
            None => builder,
        },
    )
    .await
}

/// What this module's tests do through the fixture's gateway.
trait ClockedRequests {
    async fn advance(&self, query: &str, token: bool) -> reqwest::Response;
}

impl ClockedRequests for Running {
    async fn advance(&self, query: &str, token: bool) -> reqwest::Response {
        let request = self
            .client
            .post(format!("{}/api/clock/advance?{query}", self.admin));
        let request = if token {
            request.bearer_auth(ADMIN_TOKEN)
        } else {
            request
        };
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn a_day_on_through_the_admin_api_and_cached_answers_are_a_day_old() {
    let clock = Arc::new(MovableClock::new());
    let gw = start(Some(clock.clone())).await;
    assert_eq!(gw.x_cache("/library/sections", true).await, "MISS");
    assert_eq!(gw.x_cache("/library/sections", true).await, "HIT");

    assert_eq!(gw.advance("secs=86400", false).await.status(), 401);
    assert_eq!(clock.offset().as_secs(), 0, "not moved without the token");
    let malformed = gw.advance("secs=a-day", true).await;
    assert_eq!(malformed.status(), 400);
    assert_eq!(gw.advance("secs=99999999999", true).await.status(), 400);

    let before = gw.gateway.clock().now_ms();
    let moved = gw.advance("secs=86400", true).await;
    assert_eq!(moved.status(), 200);
    let body: serde_json::Value = moved.json().await.unwrap();
    assert_eq!(body["offset_secs"], 86_400, "{body}");
    assert!(gw.gateway.clock().now_ms() >= before + 86_400_000);
    // The sections' answer is fresh for 5 minutes and served stale for an hour: a day on,
    // it is past both, so the gateway asks the server again.
    assert_eq!(gw.x_cache("/library/sections", true).await, "MISS");
    assert_eq!(gw.x_cache("/library/sections", true).await, "HIT");
}

#[tokio::test]
async fn without_the_mode_the_clock_does_not_move() {
    let gw = start(None).await;
    assert!(gw.gateway.movable_clock().is_none());
    let refused = gw.advance("secs=86400", true).await;
    assert_eq!(refused.status(), 404);
    let text = refused.text().await.unwrap();
    assert!(text.contains("--movable-clock"), "says how: {text}");
}
