//! The one JSON error answer of every listener: [`ErrorAnswer`], a status, a stable
//! machine-readable [`ErrorKind`] and a message for people, plus the few headers an error
//! needs (`Retry-After`, `WWW-Authenticate`). A leaf: the proxy, the library's answers and
//! routes, the admin API and [`crate::auth`] build it, and it imports nothing of the crate.
//! It holds the one mapping from a failed upstream load or cache read to an answer
//! ([`ErrorKind::of_load`], [`ErrorKind::of_engine`]), by the failure's kind, never its message.
//!
//! Every body carries `kind`, `message` and `status`. Beside them, `error` keeps what each
//! listener has always put there, because clients read it: on a proxy listener the kind
//! (`{"error": "upstream_timeout", …}`, what media clients and scripts match on), on the admin
//! listener the message (`{"error": "wrong admin token", …}`, what `cachearr` prints).
//! docs/operations.md ("Error answers") documents both.

use std::borrow::Cow;

use bytes::Bytes;
use cachearr_engine::{EngineError, LoadErrorKind};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

/// What went wrong, as a stable name a program can match on (`ErrorKind::as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request target is longer than `limits.max_uri_bytes`.
    UriTooLong,
    /// `CONNECT` or `TRACE`.
    MethodNotAllowed,
    /// A path that is not a plain absolute path (dot segments, encoded slashes …).
    BadPath,
    /// A query the gateway cannot read.
    BadQuery,
    /// A request target the upstream's address cannot be joined with.
    BadTarget,
    /// A header with control characters.
    BadHeader,
    /// A request body that broke off.
    BadBody,
    /// A request body larger than allowed.
    BodyTooLarge,
    /// The upstream failed or answered with nothing that can be kept.
    UpstreamError,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// The upstream's budget (concurrency, rate) stayed exhausted.
    UpstreamSaturated,
    /// The upstream's circuit breaker is open and there is no copy to serve.
    UpstreamUnavailable,
    /// The cache itself failed the read.
    CacheError,
    /// A request the admin API cannot act on (a malformed query, a bad body).
    BadRequest,
    /// No admin token, a wrong one, or a wrong webhook secret.
    Unauthorized,
    /// Refused before any route: another host name, a cross-site request.
    Forbidden,
    /// No such upstream (or nothing configured to answer with).
    NotFound,
    /// The request conflicts with the configuration (the index is turned off).
    Conflict,
    /// A body of a media type the route does not take.
    UnsupportedMediaType,
    /// What is asked for is not ready yet (the library index is being built).
    NotReady,
    /// The gateway failed while doing what was asked.
    Internal,
}

impl ErrorKind {
    /// The stable name: the body's `kind` (and a proxy answer's `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UriTooLong => "uri_too_long",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::BadPath => "bad_path",
            Self::BadQuery => "bad_query",
            Self::BadTarget => "bad_target",
            Self::BadHeader => "bad_header",
            Self::BadBody => "bad_body",
            Self::BodyTooLarge => "body_too_large",
            Self::UpstreamError => "upstream_error",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::UpstreamSaturated => "upstream_saturated",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::CacheError => "cache_error",
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::NotReady => "not_ready",
            Self::Internal => "internal",
        }
    }

    /// The status an answer of this kind has unless told otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadPath
            | Self::BadQuery
            | Self::BadTarget
            | Self::BadHeader
            | Self::BadBody
            | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamError | Self::CacheError => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::UpstreamSaturated | Self::UpstreamUnavailable | Self::NotReady => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind of answer to a load from the upstream that failed with `kind`: the one
    /// mapping from an upstream's or the engine's failure to an answer (and so a status). A
    /// failed [`cachearr_upstream::client::UpstreamError`] comes here by its `kind()`, a failed cache
    /// read by [`ErrorKind::of_engine`].
    pub fn of_load(kind: LoadErrorKind) -> ErrorKind {
        match kind {
            LoadErrorKind::Unavailable => Self::UpstreamUnavailable,
            LoadErrorKind::Saturated => Self::UpstreamSaturated,
            LoadErrorKind::Timeout => Self::UpstreamTimeout,
            _ => Self::UpstreamError,
        }
    }

    /// The kind of answer to a cache read that failed with `e`: a failed load by its kind
    /// ([`ErrorKind::of_load`]), a load past its time-out as one, anything else as the
    /// cache's own failure.
    pub fn of_engine(e: &EngineError) -> ErrorKind {
        match e {
            EngineError::Load(le) => Self::of_load(le.kind),
            EngineError::LoadTimeout(_) => Self::UpstreamTimeout,
            _ => Self::CacheError,
        }
    }

    /// The kind of an admin answer with `status`, for handlers that only know the status.
    pub fn of_status(status: StatusCode) -> ErrorKind {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => Self::BodyTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => Self::NotReady,
            s if s.is_client_error() => Self::BadRequest,
            _ => Self::Internal,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answer: what went wrong ([`ErrorKind`]), the status, a message for people and the
/// headers that go with it. Rendered by [`ErrorAnswer::proxy_response`] on a proxy listener and
/// by its `IntoResponse` on the admin listener; the two differ only in what `error` holds.
#[derive(Debug, Clone)]
pub struct ErrorAnswer {
    status: StatusCode,
    kind: ErrorKind,
    message: Cow<'static, str>,
    /// Seconds a client should wait before asking again (`Retry-After`).
    retry_after: Option<u64>,
    /// Whether to ask for the admin token (`WWW-Authenticate: Bearer realm="cachearr"`).
    challenge: bool,
    /// Fields a route adds beside the common ones (the matching API's `ready` and `index`).
    extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ErrorAnswer {
    /// An answer of `kind` with the kind's status.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> ErrorAnswer {
        ErrorAnswer {
            status: kind.status(),
            kind,
            message: message.into(),
            retry_after: None,
            challenge: false,
            extra: None,
        }
    }

    /// An answer with `status` and the kind that status stands for ([`ErrorKind::of_status`]).
    pub fn of_status(status: StatusCode, message: impl Into<Cow<'static, str>>) -> ErrorAnswer {
        ErrorAnswer::new(ErrorKind::of_status(status), message).with_status(status)
    }

    /// The same answer with another status.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> ErrorAnswer {
        self.status = status;
        self
    }

    /// The same answer with `Retry-After: secs`.
    #[must_use]
    pub fn retry_after(mut self, secs: u64) -> ErrorAnswer {
        self.retry_after = Some(secs);
        self
    }

    /// The same answer asking for the admin token (`WWW-Authenticate`).
    #[must_use]
    pub fn challenge(mut self) -> ErrorAnswer {
        self.challenge = true;
        self
    }

    /// The same answer with one more body field.
    #[must_use]
    pub fn with_field(mut self, name: &str, value: serde_json::Value) -> ErrorAnswer {
        self.extra
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body on a proxy listener: `error` is the kind.
    pub fn proxy_body(&self) -> serde_json::Value {
        self.body(serde_json::Value::from(self.kind.as_str()))
    }

    /// The body on the admin listener: `error` is the message.
    pub fn admin_body(&self) -> serde_json::Value {
        self.body(serde_json::Value::from(self.message.as_ref()))
    }

    fn body(&self, error: serde_json::Value) -> serde_json::Value {
        let mut body = self.extra.as_deref().cloned().unwrap_or_default();
        body.insert("error".to_owned(), error);
        body.insert("kind".to_owned(), self.kind.as_str().into());
        body.insert("message".to_owned(), self.message.as_ref().into());
        body.insert("status".to_owned(), self.status.as_u16().into());
        serde_json::Value::Object(body)
    }

    /// The answer on a proxy listener.
    pub fn proxy_response(&self) -> Response<Full<Bytes>> {
        self.response(&self.proxy_body())
    }

    /// The answer on the admin listener (what `IntoResponse` gives).
    pub fn admin_response(&self) -> Response<Full<Bytes>> {
        self.response(&self.admin_body())
    }

    fn response(&self, body: &serde_json::Value) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cachearr\""),
            );
        }
        response
    }
}

impl std::fmt::Display for ErrorAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.kind, self.message)
    }
}

impl axum::response::IntoResponse for ErrorAnswer {
    fn into_response(self) -> axum::response::Response {
        self.admin_response().map(axum::body::Body::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_load_is_answered_by_its_kind() {
        let cases = [
            (LoadErrorKind::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (LoadErrorKind::Saturated, StatusCode::SERVICE_UNAVAILABLE),
            (LoadErrorKind::Timeout, StatusCode::GATEWAY_TIMEOUT),
            (LoadErrorKind::BadAnswer, StatusCode::BAD_GATEWAY),
            (LoadErrorKind::Other, StatusCode::BAD_GATEWAY),
        ];
        for (kind, status) in cases {
            assert_eq!(ErrorKind::of_load(kind).status(), status, "{kind:?}");
            let failed = EngineError::Load(cachearr_engine::LoadError::of_kind(kind, "x"));
            assert_eq!(ErrorKind::of_engine(&failed), ErrorKind::of_load(kind));
        }
        let late = EngineError::LoadTimeout(std::time::Duration::from_secs(1));
        assert_eq!(ErrorKind::of_engine(&late), ErrorKind::UpstreamTimeout);
        assert_eq!(
            ErrorKind::of_engine(&EngineError::LoaderPanicked),
            ErrorKind::CacheError
        );
    }

    #[test]
    fn proxy_body_names_the_kind_and_admin_body_the_message() {
        let answer = ErrorAnswer::new(ErrorKind::UpstreamTimeout, "upstream plex did not answer");
        let proxy = answer.proxy_body();
        assert_eq!(proxy["error"], "upstream_timeout");
        assert_eq!(proxy["kind"], "upstream_timeout");
        assert_eq!(proxy["message"], "upstream plex did not answer");
        assert_eq!(proxy["status"], 504);
        let admin = answer.admin_body();
        assert_eq!(admin["error"], "upstream plex did not answer");
        assert_eq!(admin["kind"], "upstream_timeout");
        assert_eq!(admin["status"], 504);
    }

    #[test]
    fn headers_and_extra_fields() {
        let answer = ErrorAnswer::of_status(StatusCode::SERVICE_UNAVAILABLE, "not built yet")
            .retry_after(30)
            .with_field("ready", false.into());
        assert_eq!(answer.kind(), ErrorKind::NotReady);
        let response = answer.admin_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
        assert_eq!(answer.admin_body()["ready"], false);

        let denied = ErrorAnswer::new(ErrorKind::Unauthorized, "wrong admin token").challenge();
        let response = denied.admin_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"cachearr\""
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn a_status_given_wins_over_the_kinds() {
        let answer = ErrorAnswer::new(ErrorKind::BadRequest, "x").with_status(StatusCode::GONE);
        assert_eq!(answer.status(), StatusCode::GONE);
        assert_eq!(
            ErrorKind::of_status(StatusCode::GONE),
            ErrorKind::BadRequest
        );
        assert_eq!(
            ErrorKind::of_status(StatusCode::BAD_GATEWAY),
            ErrorKind::Internal
        );
    }
}
