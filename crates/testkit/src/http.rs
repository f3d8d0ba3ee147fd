//! A request's JSON answer in one call, for the tests that read the gateway's admin API, the
//! simulator's control API or an upstream's JSON: without it each test file spells out
//! `send().await.unwrap().json().await.unwrap()`, and a failure says only `called unwrap on an
//! Err` where it should name the URL and the status. Tests that check a status code (or read
//! an error's body) keep their own `send()`: these fail on any status but 2xx.

use reqwest::{Client, RequestBuilder};
use serde_json::Value;

/// How much of an unexpected answer a failure shows: enough for an error's JSON or the head
/// of an HTML page, not a whole listing.
const SHOWN_BODY_CHARS: usize = 500;

/// `GET url` with `client`, and its body decoded as JSON.
///
/// # Panics
/// If the request fails, the status is not 2xx, or the body is not JSON; the message names
/// the URL and the status.
pub async fn get_json(client: &Client, url: &str) -> Value {
    json_answer(client.get(url)).await
}

/// [`get_json`] for a request with more to it (headers, a bearer token): sends `request`, and
/// returns its answer's body decoded as JSON.
///
/// # Panics
/// If the request fails, the status is not 2xx, or the body is not JSON; the message names
/// the method, the URL and the status.
pub async fn json_answer(request: RequestBuilder) -> Value {
    let (asked, status, body) = answered(request).await;
    serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{asked}: answered {status}, not JSON ({e}): {}",
            shown(&body)
        )
    })
}

/// [`json_answer`] for an answer read as text (XML, or JSON compared as the server wrote it).
///
/// # Panics
/// If the request fails, the status is not 2xx, or the body is not UTF-8.
pub async fn text_answer(request: RequestBuilder) -> String {
    let (asked, status, body) = answered(request).await;
    String::from_utf8(body).unwrap_or_else(|e| panic!("{asked}: answered {status}, not UTF-8: {e}"))
}

/// Sends `request`: what was asked (method and URL), the status and the body, the status
/// asserted 2xx.
async fn answered(request: RequestBuilder) -> (String, reqwest::StatusCode, Vec<u8>) {
    let (client, request) = request.build_split();
    let request = request.unwrap_or_else(|e| panic!("the request cannot be built: {e}"));
    let asked = format!("{} {}", request.method(), request.url());
    let response = client
        .execute(request)
        .await
        .unwrap_or_else(|e| panic!("{asked}: no answer: {e}"));
    let status = response.status();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{asked}: answered {status}, body unread: {e}"));
    assert!(
        status.is_success(),
        "{asked}: answered {status}: {}",
        shown(&body)
    );
    (asked, status, body.to_vec())
}

/// The first characters of `body`, for a failure's message.
fn shown(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(SHOWN_BODY_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    use super::*;

    /// A loopback server answering one request with `status` and `body`: its base URL, and
    /// the head of the request it was sent.
    async fn answering_once(
        status: &'static str,
        body: &'static str,
    ) -> (String, oneshot::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (head_tx, head_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the client closed before its request ended");
                head.extend_from_slice(&buf[..n]);
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
            let _ = head_tx.send(String::from_utf8_lossy(&head).into_owned());
        });
        (url, head_rx)
    }

    #[tokio::test]
    async fn get_json_decodes_a_2xx_answer() {
        let (url, head) = answering_once("200 OK", r#"{"hits": 3}"#).await;
        let got = get_json(&Client::new(), &format!("{url}/api/stats")).await;
        assert_eq!(got, serde_json::json!({"hits": 3}));
        assert!(head.await.unwrap().starts_with("GET /api/stats "));
    }

    #[tokio::test]
    async fn json_answer_sends_the_requests_headers() {
        let (url, head) = answering_once("200 OK", "[]").await;
        let request = Client::new().get(&url).bearer_auth("t0ken");
        assert_eq!(json_answer(request).await, serde_json::json!([]));
        let head = head.await.unwrap();
        assert!(head.contains("authorization: Bearer t0ken\r\n"), "{head}");
    }

    #[tokio::test]
    #[should_panic(expected = "/api/stats: answered 503 Service Unavailable: {\"error\":\"busy\"}")]
    async fn get_json_fails_naming_the_url_and_status() {
        let (url, _) = answering_once("503 Service Unavailable", r#"{"error":"busy"}"#).await;
        get_json(&Client::new(), &format!("{url}/api/stats")).await;
    }

    #[tokio::test]
    #[should_panic(expected = "/metrics: answered 200 OK, not JSON")]
    async fn get_json_fails_on_a_body_that_is_not_json() {
        let (url, _) = answering_once("200 OK", "cachearr_hits 3").await;
        get_json(&Client::new(), &format!("{url}/metrics")).await;
    }
}
