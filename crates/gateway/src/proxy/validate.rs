//! Request checks made before any other work: what must never reach the upstream or the
//! cache is answered here with a clear 4xx (request target length, `CONNECT` and `TRACE`, path
//! tricks, a declared body over the limit, control bytes in header values).

use http::header;
use http::{Method, Request, Response};

use cachearr_config::RequestLimits;

use crate::fetch::{ClientBody, ProxyBody};
use crate::respond::{ErrorKind, problem};

/// Rejects what must never reach the upstream or the cache, by the configured `limits`.
pub(super) fn check_request(
    limits: &RequestLimits,
    req: &Request<ClientBody>,
) -> Result<(), Box<Response<ProxyBody>>> {
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > limits.max_uri_bytes {
        return Err(Box::new(problem(
            ErrorKind::UriTooLong,
            &format!(
                "the request target is longer than {} bytes",
                limits.max_uri_bytes
            ),
        )));
    }
    if req.method() == Method::CONNECT || req.method() == Method::TRACE {
        return Err(Box::new(problem(
            ErrorKind::MethodNotAllowed,
            "CONNECT and TRACE are not proxied",
        )));
    }
    let path = req.uri().path();
    if !path.starts_with('/') {
        return Err(Box::new(problem(
            ErrorKind::BadPath,
            "the path must start with '/'",
        )));
    }
    if let Err(why) = check_path(path) {
        return Err(Box::new(problem(ErrorKind::BadPath, why)));
    }
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limits.max_body_bytes
    {
        return Err(Box::new(problem(
            ErrorKind::BodyTooLarge,
            &format!(
                "the request body is larger than {} bytes",
                limits.max_body_bytes
            ),
        )));
    }
    for (name, value) in req.headers() {
        // hyper refuses CR and LF; other control bytes would still confuse upstreams and logs.
        if has_control_bytes(value.as_bytes()) {
            return Err(Box::new(problem(
                ErrorKind::BadHeader,
                &format!("header {name} contains control characters"),
            )));
        }
    }
    Ok(())
}

/// Path tricks: dot segments (raw or encoded), encoded slashes and backslashes, NUL, invalid
/// UTF-8 after decoding.
fn check_path(path: &str) -> Result<(), &'static str> {
    let escaped = path.as_bytes().contains(&b'%');
    let decoded = if escaped {
        percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| "the path is not valid UTF-8 once decoded")?
    } else {
        std::borrow::Cow::Borrowed(path)
    };
    // One pass over the decoded bytes (this runs on every request; `str::contains` and
    // `str::split` with char patterns were ~1.5 % of a hit's instructions).
    let mut segment_start = 0;
    for (i, &b) in decoded.as_bytes().iter().enumerate() {
        match b {
            b'\0' => return Err("the path contains NUL"),
            b'\\' => return Err("the path contains a backslash"),
            b'/' => {
                if is_dot_segment(&decoded.as_bytes()[segment_start..i]) {
                    return Err("the path contains '.' or '..' segments");
                }
                segment_start = i + 1;
            }
            _ => {}
        }
    }
    if is_dot_segment(&decoded.as_bytes()[segment_start..]) {
        return Err("the path contains '.' or '..' segments");
    }
    // No allocation on the hit path: look at the two bytes after each '%'.
    let encoded_slash = escaped
        && path.as_bytes().windows(3).any(|w| {
            w[0] == b'%'
                && (w[1..].eq_ignore_ascii_case(b"2f") || w[1..].eq_ignore_ascii_case(b"5c"))
        });
    if encoded_slash {
        return Err("the path contains an encoded slash");
    }
    if path.as_bytes().windows(2).any(|w| w == b"//") {
        return Err("the path contains an empty segment");
    }
    Ok(())
}

/// True when `bytes` holds a control byte other than tab, or DEL. Every byte is looked at
/// (no early exit), which lets the compiler check many at once: every request's every header
/// value passes here.
fn has_control_bytes(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |bad, &b| {
        bad | ((b < 0x20) & (b != b'\t')) | (b == 0x7f)
    })
}

fn is_dot_segment(segment: &[u8]) -> bool {
    segment == b"." || segment == b".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_in_header_values_are_found() {
        assert!(!has_control_bytes(b"Bearer abc\tdef ~ \x80\xff"));
        assert!(!has_control_bytes(b""));
        for bad in [&b"a\x01b"[..], b"\x7f", b"tail\x1f", b"\x00"] {
            assert!(has_control_bytes(bad), "{bad:?}");
        }
        // Long values are checked to their last byte.
        let mut long = vec![b'a'; 4096];
        assert!(!has_control_bytes(&long));
        long[4095] = 0x0b;
        assert!(has_control_bytes(&long));
    }

    #[test]
    fn path_tricks_are_refused() {
        assert!(check_path("/library/sections").is_ok());
        assert!(check_path("/library/../etc/passwd").is_err());
        assert!(check_path("/library/%2e%2e/x").is_err());
        assert!(check_path("/library/%2fetc").is_err());
        assert!(check_path("/library/%2Fetc").is_err());
        assert!(check_path("/library/%5Cetc").is_err());
        assert!(check_path("/library/%25%32f").is_ok());
        assert!(check_path("/a\\b").is_err());
        assert!(check_path("/a%00b").is_err());
        assert!(check_path("/a%ff").is_err());
        assert!(check_path("/a//b").is_err());
        assert!(check_path("/:/timeline").is_ok());
        // Dot segments anywhere, the last one included; dots inside a name are fine.
        assert!(check_path("/library/..").is_err());
        assert!(check_path("/library/.").is_err());
        assert!(check_path("/./library").is_err());
        assert!(check_path("/library/%2E").is_err());
        assert!(check_path("/library/.hidden/..x/a.b").is_ok());
        assert!(check_path("/library/...").is_ok());
    }
}
