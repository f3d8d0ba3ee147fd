//! `POST /api/clock/advance?secs=N`: moves the gateway's clock on, in the measurement mode of
//! `cachearr serve --movable-clock` only ([`cachearr_gateway::Gateway::movable_clock`]). A
//! benchmark runs a pass, moves the gateway and the simulator a day on, and runs it again with
//! every TTL expired and every proof a day old, without waiting a day. Without the mode the
//! route answers 404 and says how to turn it on; the clock of a production gateway never moves.

use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use cachearr_gateway::Gateway;
use cachearr_gateway::error_answer::{ErrorAnswer, ErrorKind};

/// The furthest one call moves the clock: a year (a typo of a few digits is refused).
const MAX_SECS: u64 = 366 * 24 * 3600;

/// The route, over the real gateway.
pub(crate) fn router(gateway: Gateway) -> Router {
    Router::new()
        .route("/api/clock/advance", post(advance))
        .with_state(gateway)
}

/// Query of `POST /api/clock/advance`.
#[derive(Debug, Deserialize)]
struct AdvanceQuery {
    secs: u64,
    token: Option<String>,
}

/// The answer: how far the clock now stands ahead of the system's.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Advanced {
    /// Seconds ahead of the system clock, all moves together.
    pub(crate) offset_secs: u64,
}

async fn advance(
    State(gateway): State<Gateway>,
    headers: HeaderMap,
    query: Result<Query<AdvanceQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ErrorAnswer::new(
            ErrorKind::BadRequest,
            "malformed query: use ?secs=N (whole seconds, at most a year)",
        )
        .into_response();
    };
    if let Err(denied) = cachearr_gateway::auth::authorize_token(
        gateway.config().admin_token.as_deref(),
        &headers,
        query.token.as_deref(),
    ) {
        return denied.into_response();
    }
    let Some(clock) = gateway.movable_clock() else {
        return ErrorAnswer::new(
            ErrorKind::NotFound,
            "the clock of this gateway does not move: only `cachearr serve --movable-clock` \
             (a measurement mode) lets it be moved on",
        )
        .into_response();
    };
    if query.secs > MAX_SECS {
        return ErrorAnswer::new(ErrorKind::BadRequest, "secs= is more than a year")
            .into_response();
    }
    let offset = clock.advance(Duration::from_secs(query.secs));
    tracing::warn!(
        by_secs = query.secs,
        offset_secs = offset.as_secs(),
        "measurement mode: the clock was moved on"
    );
    axum::Json(Advanced {
        offset_secs: offset.as_secs(),
    })
    .into_response()
}
