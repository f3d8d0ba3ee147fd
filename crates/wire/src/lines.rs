//! HTTP/1.1 heads as bytes: the status line and header lines written the way hyper writes
//! them (lower-case names, in the map's order). A leaf: the own HTTP/1.1 ([`crate::http1`])
//! writes answers with it, and a service may keep an answer's head in this form
//! ([`crate::EncodedHead`]) so that writing it again builds and encodes no header map.

use http::header::{self, HeaderName};
use http::{HeaderMap, StatusCode};

/// Appends `HTTP/1.1 <code> <reason>\r\n`.
pub fn push_status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `name: value\r\n`.
#[inline]
pub fn push_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Headers the writer of a connection sets itself: the body's framing and the connection's
/// options are its own, never a stored answer's.
pub fn is_framing(name: &HeaderName) -> bool {
    name == header::CONTENT_LENGTH
        || name == header::TRANSFER_ENCODING
        || name == header::CONNECTION
}

/// Appends `n` in decimal.
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends every line of `headers` but the framing ones and those named in `skip`; returns
/// whether a `Date` was among them.
pub fn push_lines(out: &mut Vec<u8>, headers: &HeaderMap, skip: &[HeaderName]) -> bool {
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

/// Appends a whole head but its framing: `status`'s line, then [`push_lines`]; returns
/// whether a `Date` was among the lines.
pub fn push_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    skip: &[HeaderName],
) -> bool {
    push_status_line(out, status);
    push_lines(out, headers, skip)
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
