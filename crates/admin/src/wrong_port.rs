//! The admin listener's answer to a path it does not serve: most often a media client or tool
//! pointed at the admin port instead of the proxy. An empty 404 leaves it with a parse error
//! (python-plexapi, Tautulli); this says, in plain text, where the proxy listens.

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// One proxy listener: upstream name, profile and port.
#[derive(Debug, Clone)]
pub(crate) struct ProxyListener {
    pub(crate) upstream: String,
    pub(crate) profile: &'static str,
    pub(crate) port: u16,
}

/// The fallback handler of the admin router.
pub(crate) fn handler(
    proxies: Vec<ProxyListener>,
) -> impl Fn(HeaderMap, Uri) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |headers: HeaderMap, uri: Uri| std::future::ready(answer(&proxies, &headers, &uri))
}

fn answer(proxies: &[ProxyListener], headers: &HeaderMap, uri: &Uri) -> Response {
    // The host the client used, so the address shown is one it can reach.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_without_port)
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    let mut text = format!(
        "404: {} is not served here. This is cachearr's admin listener (dashboard at /, JSON \
         API under /api/, /metrics, /health).\n",
        uri.path()
    );
    if proxies.is_empty() {
        text.push_str("No proxy listener is configured.\n");
    } else {
        text.push_str(
            "Point media clients and tools (Tautulli, Overseerr, Kometa, scripts) at the proxy \
             listener instead:\n",
        );
        for p in proxies {
            text.push_str(&format!(
                "  {} ({}): http://{host}:{}\n",
                p.upstream, p.profile, p.port
            ));
        }
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// `host:port` → `host`, `[::1]:port` → `[::1]`.
fn host_without_port(h: &str) -> &str {
    if h.starts_with('[') {
        return h.find(']').map_or(h, |i| &h[..=i]);
    }
    h.rsplit_once(':').map_or(h, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_proxy_at_the_host_the_client_used() {
        let proxies = vec![ProxyListener {
            upstream: "plex".into(),
            profile: "plex",
            port: 8484,
        }];
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "nas.lan:8485".parse().unwrap());
        let r = answer(&proxies, &headers, &"/library/sections".parse().unwrap());
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(host_without_port("[::1]:8485"), "[::1]");
        assert_eq!(host_without_port("nas"), "nas");
    }
}
