//! HTTP/1.1 heads as bytes: the status line and header lines written the way hyper writes
//! them (lower-case names, in the map's order). A leaf: the connection's own HTTP/1.1
//! (`http1`) writes answers with it, and `prepared` keeps a cached answer's head in this form
//! so that a hit writes it without building or encoding a header map.
//!
//! With them, what a connection hands the answering code and what it gets back, as values:
//! how the request came ([`Via`]: which kept head it was read from, whether its writer takes a
//! head as bytes) and the answer ([`Reply`]: the response, and its head when written as bytes).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{Either, Empty, Full};
use hyper::body::Incoming;

/// The body of an answer: a buffered body (cache hits, errors, answers from the index) or a
/// stream (the upstream's, passed through).
pub(crate) type ProxyBody = Either<Full<Bytes>, Incoming>;

/// The body of a client's request: hyper's stream, or none for a request read by the
/// gateway's own HTTP/1.1 loop (a `GET` without a body, see `http1`).
pub(crate) type ClientBody = Either<Incoming, Empty<Bytes>>;

/// Names one head that a listener's HTTP/1.1 loop kept (`http1::LastHead`), byte for byte:
/// requests read from the same kept head are the same request, since reading a head is a pure
/// function of its bytes. Ids are never reused in a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeadId(std::num::NonZeroU64);

impl HeadId {
    /// Keeps a copy of `head` and names it: the one way to have an id, so that an id always
    /// names bytes that were kept, and no other code can hand the answering code an id that
    /// would let it skip comparing bytes it never saw.
    pub(crate) fn keep(head: &[u8]) -> (HeadId, Box<[u8]>) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        (
            HeadId(id.try_into().unwrap_or(std::num::NonZeroU64::MIN)),
            head.into(),
        )
    }
}

/// How a request reached the answering code, handed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// The connection's own HTTP/1.1, which read it from the kept head named (if any) and
    /// writes a head given as bytes ([`Reply::head`]).
    Own(Option<HeadId>),
    /// hyper, which writes every answer from its header map.
    Hyper,
}

impl Via {
    /// The kept head the request was read from.
    #[inline]
    pub(crate) fn head(self) -> Option<HeadId> {
        match self {
            Via::Own(head) => head,
            Via::Hyper => None,
        }
    }

    /// Whether the writer takes an answer's head as bytes (the response's map then empty).
    #[inline]
    pub(crate) fn takes_head_bytes(self) -> bool {
        matches!(self, Via::Own(_))
    }
}

/// An answer: the response and, when the head was written as bytes (only for [`Via::Own`]),
/// that head `H`, the response's own map then empty.
pub(crate) struct Reply<H> {
    pub(crate) response: Response<ProxyBody>,
    pub(crate) head: Option<H>,
}

impl<H> From<Response<ProxyBody>> for Reply<H> {
    #[inline]
    fn from(response: Response<ProxyBody>) -> Self {
        Reply {
            response,
            head: None,
        }
    }
}

/// Appends `HTTP/1.1 <code> <reason>\r\n`.
pub(crate) fn push_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `name: value\r\n`.
pub(crate) fn push_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Headers the writer of a connection sets itself: the body's framing and the connection's
/// options are its own, never a stored answer's.
pub(crate) fn is_framing(name: &HeaderName) -> bool {
    name == header::CONTENT_LENGTH
        || name == header::TRANSFER_ENCODING
        || name == header::CONNECTION
}

/// Appends every line of `headers` but the framing ones and those named in `skip`; returns
/// whether a `Date` was among them.
pub(crate) fn push_lines(out: &mut Vec<u8>, headers: &HeaderMap, skip: &[HeaderName]) -> bool {
    let mut has_date = false;
    for (name, value) in headers {
        if is_framing(name) || skip.contains(name) {
            continue;
        }
        has_date |= name == header::DATE;
        push_line(out, name.as_str().as_bytes(), value.as_bytes());
    }
    has_date
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderValue;

    #[test]
    fn a_head_is_written_as_hyper_writes_it_without_framing_or_skipped_lines() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        h.append(header::VARY, HeaderValue::from_static("Accept"));
        h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        h.insert(
            HeaderName::from_static("server-timing"),
            HeaderValue::from_static("cache"),
        );
        let mut out = Vec::new();
        push_status_line(&mut out, StatusCode::OK);
        let skip = [HeaderName::from_static("server-timing")];
        assert!(!push_lines(&mut out, &h, &skip));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nvary: Accept\r\nvary: Accept-Encoding\r\n"
        );
        h.insert(
            header::DATE,
            HeaderValue::from_static("Tue, 24 Nov 2026 10:00:00 GMT"),
        );
        assert!(push_lines(&mut Vec::new(), &h, &[]));
        let mut odd = Vec::new();
        push_status_line(&mut odd, StatusCode::from_u16(599).unwrap());
        assert_eq!(odd, b"HTTP/1.1 599 <none>\r\n");
    }
}
