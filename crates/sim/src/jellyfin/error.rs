//! The error answers of the Jellyfin front end, shaped like the real server's.
//!
//! ASP.NET answers model-binding failures with a 400 `application/problem+json` body that
//! names the parameter, missing or bad credentials with an empty 401, and unknown (or
//! invisible to this user) items with a 404 problem. An item in a library the user may not
//! see is a 404, exactly like an item that does not exist, so its existence does not leak.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::dto::ProblemDetails;

/// A request the front end refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400: a parameter or body field is malformed or missing.
    BadRequest {
        /// The parameter (or body field) at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// 401: no token, or one the server does not know.
    Unauthorized,
    /// 403: authenticated, but not allowed (e.g. a non-administrator asking for `/Users`).
    Forbidden,
    /// 404: no such item, user, playlist or route — or one this user may not see.
    NotFound,
    /// 405: a known path with a method it does not serve.
    MethodNotAllowed,
    /// 500 `Unrecognized Guid format.` in plain text: Emby reading a user id that is no GUID
    /// (`/Users/Me`, which Emby routes as `/Users/{Id}`). The body and its `text/plain`
    /// content type are what Emby 4.9 sent tunarr (chrisbenincasa/tunarr#1401 and #1630
    /// quote the answer's headers: `content-type: text/plain`, `content-length: 25`).
    UnrecognizedGuid,
}

impl ApiError {
    /// 400 for a value that did not parse.
    pub(crate) fn invalid_value(field: &str, raw: &str) -> Self {
        ApiError::BadRequest {
            field: field.to_owned(),
            message: format!("The value '{raw}' is not valid."),
        }
    }

    /// 400 for a required field that is absent.
    pub(crate) fn missing(field: &str) -> Self {
        ApiError::BadRequest {
            field: field.to_owned(),
            message: format!("The {field} field is required."),
        }
    }

    /// The HTTP status of this error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnrecognizedGuid => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A W3C trace id, as ASP.NET puts in every problem body (unique per response).
fn next_trace_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "00-{n:032x}-{:016x}-00",
        n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if self == ApiError::UnrecognizedGuid {
            let mut response = (status, "Unrecognized Guid format.").into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return response;
        }
        let problem = match &self {
            ApiError::BadRequest { field, message } => Some(ProblemDetails {
                problem_type: "https://tools.ietf.org/html/rfc9110#section-15.5.1".to_owned(),
                title: "One or more validation errors occurred.".to_owned(),
                status: status.as_u16(),
                errors: Some(BTreeMap::from([(field.clone(), vec![message.clone()])])),
                trace_id: next_trace_id(),
            }),
            ApiError::NotFound => Some(ProblemDetails {
                problem_type: "https://tools.ietf.org/html/rfc9110#section-15.5.5".to_owned(),
                title: "Not Found".to_owned(),
                status: status.as_u16(),
                errors: None,
                trace_id: next_trace_id(),
            }),
            _ => None,
        };
        match problem.and_then(|p| serde_json::to_vec(&p).ok()) {
            Some(body) => {
                let mut response = (status, body).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json; charset=utf-8"),
                );
                response
            }
            None => status.into_response(),
        }
    }
}
