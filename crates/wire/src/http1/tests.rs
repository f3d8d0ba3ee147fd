#![allow(
    clippy::disallowed_methods,
    reason = "the Date header is checked against the real time it was written at"
)]
use std::pin::Pin;
use std::task::{Context, Poll};

use super::*;

const LIMITS: HeadLimits = HeadLimits {
    max_bytes: 8192,
    max_lines: 100,
};

fn parsed(bytes: &[u8]) -> Parsed {
    parse_head(bytes, &LIMITS)
}

#[test]
fn a_whole_get_is_read_with_its_target_headers_and_length() {
    let head = b"GET /library/sections?a=1 HTTP/1.1\r\nHost: x\r\nX-Plex-Token: t\r\nAccept: application/json\r\n\r\n";
    let mut bytes = head.to_vec();
    bytes.extend_from_slice(b"GET /next HTTP/1.1\r\n");
    let Parsed::Get {
        request,
        len,
        close,
    } = parsed(&bytes)
    else {
        panic!("not read: {:?}", parsed(&bytes));
    };
    assert_eq!(len, head.len(), "the pipelined request after it is left");
    assert!(!close);
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.version(), Version::HTTP_11);
    assert_eq!(request.uri().path(), "/library/sections");
    assert_eq!(request.uri().query(), Some("a=1"));
    let names: Vec<&str> = request.headers().keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["host", "x-plex-token", "accept"]);
    assert_eq!(request.headers()["x-plex-token"], "t");
}

#[test]
fn a_part_of_a_get_waits_for_more_and_anything_else_goes_to_hyper() {
    assert!(matches!(parsed(b""), Parsed::Partial));
    assert!(matches!(parsed(b"GE"), Parsed::Partial));
    assert!(matches!(
        parsed(b"GET /a HTTP/1.1\r\nHost: x\r\n"),
        Parsed::Partial
    ));
    // The method alone tells: hyper reads the rest.
    assert!(matches!(parsed(b"POST /a HT"), Parsed::Other));
    for other in [
        &b"HEAD /a HTTP/1.1\r\n\r\n"[..],
        b"PUT /:/timeline HTTP/1.1\r\n\r\n",
        b"GET /a HTTP/1.0\r\n\r\n",
        b"GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /a HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        b"GET /a HTTP/1.1\r\nConnection: keep-alive, X-Hop\r\n\r\n",
        b"GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET /a\rb HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01",
    ] {
        assert!(
            matches!(parsed(other), Parsed::Other),
            "{}",
            String::from_utf8_lossy(other)
        );
    }
}

#[test]
fn heads_over_the_limits_go_to_hyper_which_refuses_them() {
    let limits = HeadLimits {
        max_bytes: 64,
        max_lines: 3,
    };
    let long = format!("GET /a HTTP/1.1\r\nX-Long: {}\r\n", "a".repeat(80));
    assert!(matches!(
        parse_head(long.as_bytes(), &limits),
        Parsed::Other
    ));
    let whole = format!("{long}\r\n");
    assert!(matches!(
        parse_head(whole.as_bytes(), &limits),
        Parsed::Other
    ));
    let lines = b"GET /a HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert!(matches!(parse_head(lines, &limits), Parsed::Other));
    let three = b"GET /a HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert!(matches!(parse_head(three, &limits), Parsed::Get { .. }));
    let mut many = String::from("GET /a HTTP/1.1\r\n");
    for i in 0..=MAX_PARSED_HEADERS {
        many.push_str(&format!("X-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    assert!(matches!(parsed(many.as_bytes()), Parsed::Other));
}

#[test]
fn connection_close_and_keep_alive_are_read_in_any_case_and_list() {
    let close = |v: &'static str| connection_asks_close(&HeaderValue::from_static(v));
    assert_eq!(close("close"), Some(true));
    assert_eq!(close("Keep-Alive"), Some(false));
    assert_eq!(close("keep-alive, CLOSE"), Some(true));
    assert_eq!(close(" , "), Some(false));
    assert_eq!(close("upgrade"), None);
    assert_eq!(close("close, te"), None);
    let Parsed::Get { close, .. } =
        parsed(b"GET /a HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
    else {
        panic!("not read");
    };
    assert!(close);
}

fn head_of(written: &[u8]) -> (String, &[u8]) {
    let end = written
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head")
        + 4;
    (
        String::from_utf8(written[..end].to_vec()).unwrap(),
        &written[end..],
    )
}

fn full_response(
    status: u16,
    headers: &[(&'static str, &'static str)],
    body: &'static [u8],
) -> Response<ResponseBody> {
    let mut r = Response::new(Either::Left(http_body_util::Full::new(Bytes::from_static(
        body,
    ))));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (n, v) in headers {
        r.headers_mut()
            .append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    r
}

#[tokio::test]
async fn a_full_answer_is_framed_by_its_length_with_a_date() {
    let mut written = Vec::new();
    let mut out = Vec::new();
    let response = full_response(
        200,
        &[
            ("content-type", "application/json"),
            ("x-cache", "HIT"),
            // The writer frames the body itself: a stale length or a connection option in the
            // map is not repeated.
            ("content-length", "999"),
            ("connection", "keep-alive"),
        ],
        b"{\"a\":1}",
    );
    let framed = write_response(&mut written, response, None::<Lines>, false, &mut out)
        .await
        .unwrap();
    assert_eq!(framed, Framed::KeepAlive);
    let (head, body) = head_of(&written);
    assert!(
        head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-cache: HIT\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\ncontent-length: 7\r\n"), "{head}");
    assert!(
        !head.contains("999") && !head.contains("connection"),
        "{head}"
    );
    let date = head
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .expect("a date");
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    assert_eq!(body, b"{\"a\":1}");
}

#[tokio::test]
async fn a_client_that_asks_to_close_is_told_so() {
    let mut written = Vec::new();
    let mut out = Vec::new();
    let response = full_response(404, &[("date", "Tue, 24 Nov 2026 10:00:00 GMT")], b"");
    let framed = write_response(&mut written, response, None::<Lines>, true, &mut out)
        .await
        .unwrap();
    assert_eq!(framed, Framed::Close);
    let (head, body) = head_of(&written);
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-length: 0\r\n"), "{head}");
    // The answer's own date is kept, not doubled.
    assert_eq!(head.matches("date: ").count(), 1, "{head}");
    assert!(body.is_empty());
}

#[tokio::test]
async fn not_modified_and_no_content_carry_no_length_and_no_body() {
    for status in [304, 204] {
        let mut written = Vec::new();
        let mut out = Vec::new();
        let response = full_response(status, &[("etag", "\"x\"")], b"ignored");
        write_response(&mut written, response, None::<Lines>, false, &mut out)
            .await
            .unwrap();
        let (head, body) = head_of(&written);
        assert!(!head.contains("content-length"), "{head}");
        assert!(head.contains("etag: \"x\""), "{head}");
        assert!(body.is_empty(), "{status}");
    }
}

#[test]
fn lengths_are_written_in_decimal() {
    let content_length = |n: u64| {
        let mut out = Vec::new();
        end_head(&mut out, Length::Exactly(Some(n)), false, true);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(content_length(0), "content-length: 0\r\n\r\n");
    assert_eq!(content_length(20_564), "content-length: 20564\r\n\r\n");
    assert_eq!(
        content_length(u64::MAX),
        format!("content-length: {}\r\n\r\n", u64::MAX)
    );
}

#[test]
fn the_date_is_an_http_date_of_now() {
    let text = date::with_now(|d| String::from_utf8(d.to_vec()).unwrap());
    let when = httpdate::parse_http_date(&text).unwrap();
    let now = std::time::SystemTime::now();
    let apart = now.duration_since(when).unwrap_or_else(|e| e.duration());
    assert!(apart < std::time::Duration::from_secs(5), "{text}");
}

#[tokio::test]
async fn vectored_writes_finish_across_partial_writes() {
    // A writer that takes at most 3 bytes a call.
    struct Trickle(Vec<u8>);
    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let mut t = Trickle(Vec::new());
    write_all_vectored(&mut t, b"head:", b"the body")
        .await
        .unwrap();
    assert_eq!(t.0, b"head:the body");
}

#[test]
fn a_kept_head_is_recalled_only_for_the_same_bytes_whole() {
    let head = b"GET /library/sections HTTP/1.1\r\nHost: x\r\nX-Plex-Token: t\r\nConnection: close\r\n\r\n";
    let last = LastHead::default();
    assert!(last.recall(head).is_none(), "nothing kept yet");
    let Parsed::Get {
        request,
        len,
        close,
    } = parsed(head)
    else {
        panic!("not read");
    };
    let id = last.keep(&head[..len], &request, close).expect("kept");
    // The same bytes, with a pipelined request after them: the same request and length, under
    // the id it was kept with.
    let mut two = head.to_vec();
    two.extend_from_slice(b"GET /other HTTP/1.1\r\n");
    let Some((
        Parsed::Get {
            request: again,
            len: again_len,
            close: again_close,
        },
        again_id,
    )) = last.recall(&two)
    else {
        panic!("not recalled");
    };
    assert_eq!(again_id, id);
    assert_eq!((again_len, again_close), (len, true));
    assert_eq!(again.uri(), request.uri());
    assert_eq!(again.headers(), request.headers());
    assert_eq!(again.method(), Method::GET);
    // Another token, or only part of the head so far: not this request.
    let other = String::from_utf8(head.to_vec())
        .unwrap()
        .replace("Token: t", "Token: u");
    assert!(last.recall(other.as_bytes()).is_none());
    assert!(last.recall(&head[..len - 1]).is_none());
    // A head over the size kept is not kept; the one before stays.
    let long = format!(
        "GET /a HTTP/1.1\r\nX-Long: {}\r\n\r\n",
        "a".repeat(MAX_KEPT_HEAD)
    );
    let Parsed::Get { request, len, .. } = parse_head(
        long.as_bytes(),
        &HeadLimits {
            max_bytes: 64 * 1024,
            max_lines: 100,
        },
    ) else {
        panic!("not read");
    };
    assert_eq!(last.keep(&long.as_bytes()[..len], &request, false), None);
    assert!(last.recall(long.as_bytes()).is_none());
    assert!(last.recall(head).is_some());
    // The same bytes kept again are another head: its id is new.
    let Parsed::Get { request, close, .. } = parsed(head) else {
        panic!("not read");
    };
    let again_kept = last.keep(head, &request, close).expect("kept");
    assert_ne!(again_kept, id);
    assert_eq!(last.recall(head).map(|(_, id)| id), Some(again_kept));
}

/// A head a service gave as bytes.
struct Lines {
    bytes: &'static [u8],
    has_date: bool,
}

impl EncodedHead for Lines {
    fn encode(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(self.bytes);
        self.has_date
    }
}

#[tokio::test]
async fn a_head_given_as_bytes_is_written_with_only_framing_and_date_added() {
    let mut written = Vec::new();
    let mut out = Vec::new();
    // The response's own map is not written on this path: its lines are the service's.
    let response = full_response(200, &[("x-not", "written")], b"body!");
    let head = Lines {
        bytes: b"HTTP/1.1 200 OK\r\nx-cache: HIT\r\nage: 3\r\n",
        has_date: false,
    };
    write_response(&mut written, response, Some(head), false, &mut out)
        .await
        .unwrap();
    let (text, body) = head_of(&written);
    assert!(
        text.starts_with(
            "HTTP/1.1 200 OK\r\nx-cache: HIT\r\nage: 3\r\ncontent-length: 5\r\ndate: "
        ),
        "{text}"
    );
    assert!(!text.contains("x-not"), "{text}");
    assert_eq!(body, b"body!");
    // A head's own Date is kept, not doubled; a close is said.
    let mut written = Vec::new();
    let head = Lines {
        bytes: b"HTTP/1.1 200 OK\r\ndate: Tue, 24 Nov 2026 10:00:00 GMT\r\n",
        has_date: true,
    };
    write_response(
        &mut written,
        full_response(200, &[], b""),
        Some(head),
        true,
        &mut out,
    )
    .await
    .unwrap();
    let (text, _) = head_of(&written);
    assert_eq!(text.matches("date: ").count(), 1, "{text}");
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
}

#[test]
fn the_public_reading_agrees_with_the_connection_s() {
    let head = b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b";
    let HeadRead::Get {
        request,
        len,
        close,
        recalled,
    } = read_head(head, 8192, 100)
    else {
        panic!("not read");
    };
    assert_eq!(request.uri(), "/a?b=1");
    assert_eq!(len, head.len() - b"GET /b".len());
    assert!(close && recalled);
    assert!(matches!(
        read_head(b"GET /a HT", 8192, 100),
        HeadRead::Partial
    ));
    assert!(matches!(
        read_head(b"PUT /a HTTP/1.1\r\n\r\n", 8192, 100),
        HeadRead::ForHyper
    ));
    // Two lines against a limit of one: hyper's to refuse.
    let two = b"GET /a HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
    assert!(matches!(read_head(two, 8192, 1), HeadRead::ForHyper));
}
