//! The proxy connection over raw loopback sockets: the gateway's own HTTP/1.1 answers `GET`s,
//! hands everything else to hyper on the same connection, and frames answers the way clients
//! read them (lengths, chunks, `304`, `Connection: close`, pipelining).
#![allow(clippy::unwrap_used)]

use crate::support::proxy_common;

use std::collections::HashMap;
use std::time::Duration;

use cachearr_dialect::Profile;
use proxy_common::{start_gateway, start_upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer read off a connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A raw client connection, with the bytes read past the last answer.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Client {
        Client {
            s: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.s.write_all(bytes.as_ref()).await.unwrap();
    }

    /// Sends [`get`] of `path` with the `extra` header lines and reads its answer.
    async fn ask(&mut self, path: &str, extra: &str) -> Answer {
        self.send(get(path, extra)).await;
        self.answer().await
    }

    /// Reads one answer (bytes past it stay in `buf`), framed by its length or chunks.
    async fn answer(&mut self) -> Answer {
        let (s, buf) = (&mut self.s, &mut self.buf);
        read_answer(s, buf).await
    }

    /// Everything the server sends until it closes (at most 10 s), after what was read.
    async fn rest(&mut self) -> String {
        let mut all = std::mem::take(&mut self.buf);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.s.read_to_end(&mut all)).await;
        String::from_utf8_lossy(&all).into_owned()
    }

    /// True when the server has closed the connection (nothing more arrives, EOF within 10 s).
    async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(
            tokio::time::timeout(Duration::from_secs(10), self.s.read_to_end(&mut rest)).await,
            Ok(Ok(0))
        )
    }
}

async fn read_answer(s: &mut TcpStream, buf: &mut Vec<u8>) -> Answer {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        fill(s, buf).await;
    };
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    buf.drain(..end);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (n, v) = line.split_once(": ").unwrap();
        assert!(
            headers.insert(n.to_string(), v.to_string()).is_none() || n == "set-cookie",
            "{n} twice in {head}"
        );
    }
    let mut body = Vec::new();
    if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                fill(s, buf).await;
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&buf[..line_end]).unwrap(), 16).unwrap();
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                fill(s, buf).await;
            }
            body.extend_from_slice(&buf[..size]);
            assert_eq!(&buf[size..size + 2], b"\r\n");
            buf.drain(..size + 2);
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = headers.get("content-length") {
        let len: usize = len.parse().unwrap();
        while buf.len() < len {
            fill(s, buf).await;
        }
        body = buf.drain(..len).collect();
    }
    Answer {
        status,
        headers,
        body,
    }
}

async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 16 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut chunk))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    assert!(
        n > 0,
        "closed early; read so far: {:?}",
        String::from_utf8_lossy(buf)
    );
    buf.extend_from_slice(&chunk[..n]);
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Plex-Token: tok-alice\r\n{extra}\r\n")
}

#[tokio::test]
async fn one_connection_answers_gets_itself_and_hands_a_write_to_hyper_mid_way() {
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let mut c = Client::connect(h.proxy).await;
    let miss = c.ask("/library/sections", "").await;
    assert_eq!(miss.status, 200);
    assert_eq!(miss.header("x-cache"), "MISS");
    assert!(miss.header("date").ends_with(" GMT"), "{miss:?}");
    let hit = c.ask("/library/sections", "").await;
    assert_eq!(hit.header("x-cache"), "HIT");
    assert_eq!(hit.body, miss.body);
    assert_eq!(state.count("/library/sections"), 1);
    // A write with a body: hyper answers it, on the same connection.
    c.send(
        b"POST /playlists?type=audio HTTP/1.1\r\nHost: x\r\nX-Plex-Token: tok-alice\r\nContent-Length: 5\r\n\r\nhello",
    )
    .await;
    let write = c.answer().await;
    assert_eq!(write.status, 200, "{write:?}");
    assert_eq!(write.body, b"POST 5");
    // And the connection goes on, now hyper's, with the cached read unchanged.
    let after = c.ask("/library/sections", "").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, miss.body);
    assert!(c.buf.is_empty());
}

#[tokio::test]
async fn pipelined_gets_are_answered_in_order_and_a_close_is_honoured() {
    let (up, _state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let mut c = Client::connect(h.proxy).await;
    c.send(
        [
            get("/library/sections", ""),
            get("/library/onDeck", ""),
            get("/library/sections", "Connection: close\r\n"),
        ]
        .concat(),
    )
    .await;
    let first = c.answer().await;
    let second = c.answer().await;
    let third = c.answer().await;
    assert_eq!([first.status, second.status, third.status], [200; 3]);
    assert_ne!(first.body, second.body, "each answer is its own request's");
    assert_eq!(first.body, third.body);
    assert_eq!(third.header("x-cache"), "HIT");
    assert_eq!(first.header("connection"), "");
    assert_eq!(third.header("connection"), "close");
    assert!(c.buf.is_empty());
    assert!(c.closed().await, "the server closes after the last answer");
}

#[tokio::test]
async fn a_streamed_pass_through_is_chunked_and_the_connection_goes_on() {
    let (up, _state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let mut c = Client::connect(h.proxy).await;
    let media = c.ask("/library/parts/7/file.flac", "").await;
    assert_eq!(media.status, 200);
    assert_eq!(
        media.header("transfer-encoding"),
        "chunked",
        "{:?}",
        media.headers
    );
    let expected: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(media.body.len(), expected.len());
    assert!(
        media.body == expected,
        "the stream arrives whole and in order"
    );
    // A range has a length: no chunks.
    let range = c
        .ask("/library/parts/7/file.flac", "Range: bytes=10-19\r\n")
        .await;
    assert_eq!(range.status, 206);
    assert_eq!(range.header("content-length"), "10");
    assert_eq!(range.body, expected[10..20]);
}

#[tokio::test]
async fn a_matching_validator_gets_a_bodiless_304_and_the_next_get_its_body() {
    let (up, _state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    let mut c = Client::connect(h.proxy).await;
    let full = c.ask("/library/sections", "").await;
    let etag = full.header("etag").to_string();
    assert!(!etag.is_empty(), "{full:?}");
    c.send(
        [
            get("/library/sections", &format!("If-None-Match: {etag}\r\n")),
            get("/library/sections", ""),
        ]
        .concat(),
    )
    .await;
    let not_modified = c.answer().await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("content-length"), "");
    assert_eq!(not_modified.header("etag"), etag);
    let again = c.answer().await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, full.body);
}

#[tokio::test]
async fn what_the_own_loop_does_not_take_is_answered_by_hyper_as_before() {
    let (up, _state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |_| {}).await;
    // HTTP/1.0: hyper answers and closes.
    let mut c = Client::connect(h.proxy).await;
    c.send(b"GET /library/sections HTTP/1.0\r\nX-Plex-Token: tok-alice\r\n\r\n")
        .await;
    let text = c.rest().await;
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    // Garbage: hyper's 400, after a GET the loop answered on the same connection.
    let mut c = Client::connect(h.proxy).await;
    assert_eq!(c.ask("/library/sections", "").await.status, 200);
    c.send(b"GET /a b c\r\n\r\n").await;
    let text = c.rest().await;
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    // A head sent in pieces is read whole.
    let mut c = Client::connect(h.proxy).await;
    for piece in get("/library/onDeck", "").as_bytes().chunks(7) {
        c.send(piece).await;
        tokio::task::yield_now().await;
    }
    assert_eq!(c.answer().await.status, 200);
}

#[tokio::test]
async fn a_head_of_max_headers_lines_reaches_the_server_whole_and_one_more_is_refused() {
    // The test server is hyper with its default limit of 100 header lines, as a real server's
    // (Kestrel's MaxRequestHeaderCount is 100 too).
    let (up, state) = start_upstream().await;
    let h = start_gateway(up, Profile::Plex, |c| c.limits.max_headers = 100).await;
    // `get` writes Host and X-Plex-Token: 98 more make the 100 lines `max_headers` allows.
    let lines = |n: usize| -> String { (0..n).map(|i| format!("X-Extra-{i}: {i}\r\n")).collect() };
    let mut c = Client::connect(h.proxy).await;
    for path in ["/library/sections", "/status/sessions", "/library/onDeck"] {
        let answer = c.ask(path, &lines(98)).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert_eq!(state.count(path), 1, "{path} reached the server");
    }
    // With the client's own X-Forwarded-For the gateway extends that line instead of adding one.
    let mut with_forwarded = lines(97);
    with_forwarded.push_str("X-Forwarded-For: 192.0.2.1\r\n");
    let answer = c.ask("/library/metadata/7", &with_forwarded).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    // One line over the gateway's limit: the gateway refuses it itself, before the server.
    let mut c = Client::connect(h.proxy).await;
    let refused = c.ask("/library/sections/1/all", &lines(99)).await;
    assert_eq!(refused.status, 431);
    assert_eq!(state.count("/library/sections/1/all"), 0);
}
