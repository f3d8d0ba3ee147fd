//! Webhook receivers, one per server (`/webhooks/plex`, `/webhooks/jellyfin`): where the event
//! is in the body and how it reads is the server's ([`ServerEvents`]: Plex posts multipart with
//! a `payload` part and an optional `thumb`, Jellyfin's plugin JSON).
//!
//! A malformed webhook gets a clear 4xx saying what is wrong; an event that changes nothing we
//! cache gets `200 {"applied": false}` so the sender does not retry it forever.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use super::{AdminBackend, authorize};
use cachearr_dialect::Profile;
use cachearr_dialect::events::{ChangeEvent, EventError, ServerEvents, WebhookBody};
use cachearr_gateway::error_answer::{ErrorAnswer, ErrorKind};

/// Query of the webhook routes: the secret (or the admin token) for senders that can only be
/// given a URL.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WebhookQuery {
    secret: Option<String>,
    token: Option<String>,
}

/// `Ok` when the webhook carries the webhook secret (`?secret=` or the header) or the admin
/// token; without a webhook secret, the admin token rules as for other mutating routes.
fn authorize_webhook<B: AdminBackend>(
    backend: &B,
    headers: &axum::http::HeaderMap,
    query: &WebhookQuery,
) -> Result<(), ErrorAnswer> {
    let Some(secret) = backend.webhook_secret() else {
        return authorize(backend, headers, query.token.as_deref());
    };
    let presented = query.secret.as_deref().or_else(|| {
        headers
            .get(super::webhook_secret::HEADER)
            .and_then(|v| v.to_str().ok())
    });
    if presented.is_some_and(|p| super::token_matches(secret, p)) {
        return Ok(());
    }
    if let Some(token) = backend.admin_token().filter(|t| !t.is_empty())
        && super::presented_token(headers, query.token.as_deref())
            .is_some_and(|p| super::token_matches(token, p))
    {
        return Ok(());
    }
    let message = if presented.is_some() {
        "wrong webhook secret"
    } else {
        "webhooks need the webhook secret: add ?secret=<secret> to the webhook URL (`cachearr \
         serve` prints the URLs at start; `cachearr config check` and the dashboard show them)"
    };
    Err(ErrorAnswer::new(ErrorKind::Unauthorized, message))
}

/// Adds each server's webhook receivers to `router`: `/webhooks/{server}` for the one upstream
/// of that server, `/webhooks/{server}/{upstream}` for a named one. The servers and their
/// names are the dialects' ([`cachearr_dialect::media_servers`]); an http upstream has no webhooks.
pub(super) fn routes<B: AdminBackend>(router: Router<Arc<B>>) -> Router<Arc<B>> {
    cachearr_dialect::media_servers().fold(router, |router, kind| {
        let path = format!("/webhooks/{}", kind.as_str());
        let named = format!("{path}/{{upstream}}");
        router
            .route(
                &path,
                post(
                    move |state: State<Arc<B>>, query: Query<WebhookQuery>, request: Request| {
                        receive(state, None, query, kind, request)
                    },
                ),
            )
            .route(
                &named,
                post(
                    move |state: State<Arc<B>>,
                          Path(upstream): Path<String>,
                          query: Query<WebhookQuery>,
                          request: Request| {
                        receive(state, Some(upstream), query, kind, request)
                    },
                ),
            )
    })
}

/// The upstream a webhook is for: the named one (which must be of `kind`), or the only upstream
/// of that kind.
fn resolve_upstream<B: AdminBackend>(
    backend: &B,
    named: Option<String>,
    kind: Profile,
) -> Result<String, ErrorAnswer> {
    let fail = |kind, message: String| Err(ErrorAnswer::new(kind, message));
    let upstreams = backend.upstreams();
    let profile = kind.as_str();
    if let Some(name) = named {
        return match upstreams.iter().find(|(n, _)| *n == name) {
            Some((_, k)) if *k == kind => Ok(name),
            Some(_) => fail(
                ErrorKind::BadRequest,
                format!("upstream {name:?} is not a {profile} upstream"),
            ),
            None => fail(ErrorKind::NotFound, format!("no upstream named {name:?}")),
        };
    }
    let mut matching = upstreams.into_iter().filter(|(_, k)| *k == kind);
    match (matching.next(), matching.next()) {
        (Some((name, _)), None) => Ok(name),
        (None, _) => fail(
            ErrorKind::NotFound,
            format!("no {profile} upstream is configured"),
        ),
        (Some(_), Some(_)) => fail(
            ErrorKind::BadRequest,
            format!("several {profile} upstreams: post to /webhooks/{profile}/<upstream>"),
        ),
    }
}

async fn receive<B: AdminBackend>(
    State(backend): State<Arc<B>>,
    named: Option<String>,
    Query(query): Query<WebhookQuery>,
    kind: Profile,
    request: Request,
) -> Response {
    if let Err(denied) = authorize_webhook(backend.as_ref(), request.headers(), &query) {
        return denied.into_response();
    }
    let upstream = match resolve_upstream(backend.as_ref(), named, kind) {
        Ok(upstream) => upstream,
        Err(refused) => return refused.into_response(),
    };
    let upstream_label = Arc::new(upstream.clone());
    let server = cachearr_dialect::of(kind).events();
    let parsed = match server.webhook_body() {
        WebhookBody::MultipartPart(part) => multipart_event(server, part, request).await,
        WebhookBody::Json => json_event(server, request).await,
    };
    let metrics = backend.metrics();
    match parsed {
        Err((status, err)) => {
            metrics.webhook(&upstream_label, "rejected");
            // The error and its causes on one line: no message repeats its cause.
            let said = cachearr_engine::Chain(&err).to_string();
            tracing::info!(upstream = %upstream, error = %said, "webhook rejected");
            ErrorAnswer::of_status(status, said).into_response()
        }
        Ok(None) => {
            metrics.webhook(&upstream_label, "ignored");
            axum::Json(serde_json::json!({ "applied": false, "reason": "no cached data depends on this event" }))
                .into_response()
        }
        Ok(Some(event)) => {
            let source = server.webhook_source();
            let tags = backend.apply_event(&upstream, source, &event).await;
            metrics.webhook(&upstream_label, "applied");
            axum::Json(serde_json::json!({
                "applied": true,
                "change": event.change.as_str(),
                "invalidated": tags,
            }))
            .into_response()
        }
    }
}

fn content_type(request: &Request) -> String {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A webhook whose event is the part named `part` of a multipart body (a bare JSON body is
/// accepted too, for relays and tests). The other parts (Plex's `thumb`) are read and dropped.
async fn multipart_event(
    server: &dyn ServerEvents,
    part: &str,
    request: Request,
) -> Result<Option<ChangeEvent>, (StatusCode, EventError)> {
    let bad = |err| (StatusCode::BAD_REQUEST, err);
    let content_type = content_type(&request);
    if content_type.starts_with("application/json") {
        let body = read_body(request).await?;
        return server.parse_webhook(&body).map_err(bad);
    }
    if !content_type.starts_with("multipart/form-data") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            EventError::ContentType(content_type, "multipart/form-data with a `payload` part"),
        ));
    }
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|e| bad(EventError::Multipart(e.into())))?;
    let mut payload = None;
    loop {
        let field = multipart.next_field().await.map_err(multipart_error)?;
        let Some(field) = field else { break };
        let is_payload = field.name() == Some(part);
        // Every part must be read to reach the next one; the thumb is simply dropped.
        let bytes = field.bytes().await.map_err(multipart_error)?;
        if is_payload && payload.is_none() {
            payload = Some(bytes);
        }
    }
    let payload = payload.ok_or(bad(EventError::MissingPayload))?;
    server.parse_webhook(&payload).map_err(bad)
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> (StatusCode, EventError) {
    let status = err.status();
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, EventError::Multipart(err.into()))
}

/// A webhook whose event is its JSON body (Jellyfin's plugin: its "send all properties" object).
async fn json_event(
    server: &dyn ServerEvents,
    request: Request,
) -> Result<Option<ChangeEvent>, (StatusCode, EventError)> {
    let content_type = content_type(&request);
    // The plugin sends application/json; some templates send text/plain.
    if !(content_type.is_empty()
        || content_type.starts_with("application/json")
        || content_type.starts_with("text/plain"))
    {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            EventError::ContentType(content_type, "application/json"),
        ));
    }
    let body = read_body(request).await?;
    server
        .parse_webhook(&body)
        .map_err(|err| (StatusCode::BAD_REQUEST, err))
}

async fn read_body(request: Request) -> Result<Bytes, (StatusCode, EventError)> {
    Bytes::from_request(request, &()).await.map_err(|e| {
        let status = e.status();
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, EventError::Body(e.into()))
    })
}
