//! The index's admin routes, mounted on the admin listener next to the rest of `/api`:
//!
//! | route | what | token |
//! |---|---|---|
//! | `GET /api/index` | per upstream: state, progress (items, percent, rate, ETA), items per kind, sections, last build, next refresh, snapshot, errors | no |
//! | `POST /api/index/build[?upstream=NAME][&full=1]` | start a refresh (or, with `full=1` or no index yet, a full build) | yes |
//! | `GET /api/library/stats` | library totals per upstream, section and kind | no |

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::status::{IndexStatus, LibraryTotals};
use crate::Library;
use cachearr_gateway::error_answer::ErrorAnswer;

/// The answer of `GET /api/index`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexReport {
    /// Whether `[index] enabled` is on.
    pub enabled: bool,
    /// One entry per upstream, in configuration order.
    pub upstreams: Vec<IndexStatus>,
}

/// The answer of `GET /api/library/stats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryStatsReport {
    /// One entry per upstream whose index is built.
    pub upstreams: Vec<LibraryTotals>,
}

/// The answer of `POST /api/index/build`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildStarted {
    /// Upstreams whose keeper took the request.
    pub started: Vec<String>,
    /// Whether a full build was asked for.
    pub full: bool,
}

/// The routes, over the gateway's library copy.
pub fn router(library: Arc<Library>) -> Router {
    Router::new()
        .route("/api/index", get(index))
        .route("/api/index/build", post(build))
        .route("/api/library/stats", get(library_stats))
        .with_state(library)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    ErrorAnswer::of_status(status, message.to_owned()).into_response()
}

async fn index(State(library): State<Arc<Library>>) -> Response {
    let upstreams = library
        .upstreams()
        .iter()
        .filter_map(|up| library.index(&up.name))
        .map(|handle| handle.status())
        .collect();
    no_store(
        axum::Json(IndexReport {
            enabled: library.reads().config().index.enabled,
            upstreams,
        })
        .into_response(),
    )
}

async fn library_stats(State(library): State<Arc<Library>>) -> Response {
    let upstreams = library
        .upstreams()
        .iter()
        .filter_map(|up| library.index(&up.name))
        .filter_map(|handle| handle.totals())
        .map(|totals| (*totals).clone())
        .collect();
    no_store(axum::Json(LibraryStatsReport { upstreams }).into_response())
}

/// Query of `POST /api/index/build`.
#[derive(Debug, Default, Deserialize)]
struct BuildQuery {
    upstream: Option<String>,
    full: Option<String>,
    token: Option<String>,
}

async fn build(
    State(library): State<Arc<Library>>,
    headers: HeaderMap,
    query: Result<Query<BuildQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed query: use ?upstream=NAME&full=1",
        );
    };
    if let Err(denied) = cachearr_gateway::auth::authorize_token(
        library.reads().config().admin_token.as_deref(),
        &headers,
        query.token.as_deref(),
    ) {
        return denied.into_response();
    }
    if !library.reads().config().index.enabled {
        return error(
            StatusCode::CONFLICT,
            "the library index is disabled ([index] enabled = false)",
        );
    }
    let full = query
        .full
        .as_deref()
        .is_some_and(|v| matches!(v, "1" | "true" | "yes"));
    let mut started = Vec::new();
    for up in library.upstreams() {
        if query
            .upstream
            .as_deref()
            .is_some_and(|name| name != &*up.name)
        {
            continue;
        }
        if let Some(handle) = library.index(&up.name)
            && handle.request_build(full)
        {
            started.push(up.name.to_string());
        }
    }
    if let Some(name) = &query.upstream
        && library.upstream(name).is_none()
    {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no upstream named {name:?}"),
        );
    }
    if started.is_empty() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no index keeper is running (the gateway is not serving)",
        );
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(BuildStarted { started, full }),
    )
        .into_response()
}
