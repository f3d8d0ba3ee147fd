//! The dashboard page and its assets, compiled into the binary.
//!
//! uPlot 1.6.32 (MIT, `assets/uPlot.LICENSE`) is vendored from npm (`npm pack uplot@1.6.32`,
//! `dist/uPlot.iife.min.js` and `dist/uPlot.min.css`): about 50 KB and light on CPU when
//! streaming points. The page polls `/api/stats` every two seconds
//! (`/?refresh=MS` for another interval; the browser test uses a short one), and `/api/index` while
//! an index exists, and derives rates from the counters itself, so the server keeps no history.
//! Its *Clear cache* button sends the admin token typed next to it; the page never stores it.
//! `tests/gateway/dashboard_browser.rs` drives the page in headless Chromium.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("assets/index.html");
const DASHBOARD_JS: &str = include_str!("assets/dashboard.js");
const UPLOT_JS: &[u8] = include_bytes!("assets/uPlot.iife.min.js");
const UPLOT_CSS: &[u8] = include_bytes!("assets/uPlot.min.css");
const UPLOT_LICENSE: &[u8] = include_bytes!("assets/uPlot.LICENSE");

/// Assets change only with the binary, so the version is a sufficient validator.
const ETAG: &str = concat!("\"cachearr-", env!("CARGO_PKG_VERSION"), "\"");

pub(super) async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

pub(super) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "dashboard.js" => (DASHBOARD_JS.as_bytes(), "text/javascript; charset=utf-8"),
        "uPlot.iife.min.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "uPlot.min.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        "uPlot.LICENSE" => (UPLOT_LICENSE, "text/plain; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let etag = HeaderValue::from_static(ETAG);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == ETAG.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response()
}
