//! `GET /api/lookup`: items by file path or MusicBrainz id (the lookups a playlist tool keeps to find its tracks again).
//!
//! `?upstream=NAME&path=/music/A/B/01.flac` answers the item whose file is at that path
//! (exactly as the server reports it); `?mbid=UUID` (any case, dashes optional, `mbid://`
//! allowed) every item carrying that MusicBrainz id. The answer spans every section — it is an
//! administrator's tool, so it needs the admin token (like the other admin endpoints: when no
//! token is configured the admin listener only binds to loopback). `503` until the index is
//! built; an unknown upstream is a `404`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cachearr_library::{ItemRecord, Visibility};
use serde::{Deserialize, Serialize};

use crate::Library;
use cachearr_gateway::error_answer::ErrorAnswer;

/// The query of `GET /api/lookup`.
#[derive(Debug, Deserialize)]
struct LookupQuery {
    upstream: Option<String>,
    path: Option<String>,
    mbid: Option<String>,
    token: Option<String>,
}

/// The answer of `GET /api/lookup`.
#[derive(Debug, Serialize)]
pub struct LookupAnswer {
    /// The upstream looked in.
    pub upstream: String,
    /// `path` or `mbid`.
    pub by: &'static str,
    /// The items found (empty when none).
    pub items: Vec<ItemRecord>,
}

fn error(status: StatusCode, message: &str) -> Response {
    ErrorAnswer::of_status(status, message.to_owned()).into_response()
}

async fn lookup(
    State(library): State<Arc<Library>>,
    headers: HeaderMap,
    query: Result<Query<LookupQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed query: use ?upstream=NAME&path=PATH or &mbid=UUID",
        );
    };
    if let Err(denied) = cachearr_gateway::auth::authorize_token(
        library.reads().config().admin_token.as_deref(),
        &headers,
        query.token.as_deref(),
    ) {
        return denied.into_response();
    }
    let name = match &query.upstream {
        Some(name) => name.clone(),
        None => match library.upstreams().first() {
            Some(up) => up.name.to_string(),
            None => return error(StatusCode::NOT_FOUND, "no upstream is configured"),
        },
    };
    let Some(handle) = library.index(&name) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no upstream named {name:?}"),
        );
    };
    let Some(index) = handle.ready() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("the library index of upstream {name:?} is not built yet"),
        );
    };
    let everything = Visibility::everything();
    let (by, items) = match (&query.path, &query.mbid) {
        (Some(path), None) => (
            "path",
            index
                .by_path(path, &everything)
                .map(|v| v.to_record())
                .into_iter()
                .collect(),
        ),
        (None, Some(mbid)) => {
            if cachearr_library::record::parse_mbid(mbid).is_none() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "mbid is not a MusicBrainz id (a UUID)",
                );
            }
            (
                "mbid",
                index
                    .by_musicbrainz_id(mbid, &everything)
                    .iter()
                    .map(|v| v.to_record())
                    .collect(),
            )
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give exactly one of path= and mbid=",
            );
        }
    };
    let mut response = axum::Json(LookupAnswer {
        upstream: name,
        by,
        items,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The route of the lookup API, merged into the admin router.
pub fn router(library: Arc<Library>) -> Router {
    Router::new()
        .route("/api/lookup", get(lookup))
        .with_state(library)
}
