//! Content coding of cached answers: which clients take gzip, which bodies are worth
//! compressing, and the compression itself.
//!
//! The cache stores identity bodies (fills ask the upstream for `identity`); a gzip copy is made
//! once per entry and kept beside it in [`crate::prepared`]. Everything here is pure: no state,
//! no I/O, and no allocation while reading request headers, so a hostile `Accept-Encoding` costs
//! one linear scan of bytes hyper has already bounded.

use bytes::Bytes;
use http::HeaderMap;
use http::header::ACCEPT_ENCODING;

/// Bodies smaller than this leave uncompressed: below about 1 KiB the gzip framing (18 bytes)
/// and the `Content-Encoding` / `Vary` headers eat most of what compression saves, and the
/// answer fits in one TCP segment either way (nginx's `gzip_min_length` advice is the same).
pub(crate) const MIN_BODY: usize = 1024;

/// Compression level: 6 is zlib's default and nginx's usual setting. Each entry is compressed
/// once and served many times, so a better ratio is worth more than compression speed; levels
/// above 6 cost much more time for a percent or two on JSON and XML.
const LEVEL: u32 = 6;

/// Whether the request's `Accept-Encoding` lets the answer be gzip (RFC 9110 §12.5.3).
///
/// `gzip` (or its alias `x-gzip`) with a positive weight says yes; any of them with `q=0` says
/// no, whatever else is listed; otherwise `*` with a positive weight says yes. No header, an
/// empty one, or a weight that does not parse means no: identity is always safe to send, so
/// when in doubt the client gets identity.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut star = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        for item in value.as_bytes().split(|b| *b == b',') {
            let mut parts = item.split(|b| *b == b';');
            let coding = parts.next().unwrap_or_default().trim_ascii();
            let mut positive = true;
            for param in parts {
                let param = param.trim_ascii();
                if param.len() >= 2 && param[..2].eq_ignore_ascii_case(b"q=") {
                    positive = qvalue_positive(&param[2..]);
                }
            }
            if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
                // A refusal anywhere wins over an acceptance elsewhere.
                gzip = Some(gzip.unwrap_or(true) && positive);
            } else if coding == b"*" {
                star = Some(star.unwrap_or(true) && positive);
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

/// Whether a weight (`0`, `0.5`, `1.000` …) is above zero. Anything outside the RFC's grammar
/// counts as zero.
fn qvalue_positive(q: &[u8]) -> bool {
    let (int, frac) = match q.iter().position(|b| *b == b'.') {
        Some(dot) => (&q[..dot], &q[dot + 1..]),
        None => (q, &[][..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return false;
    }
    match int {
        b"1" => frac.iter().all(|d| *d == b'0'),
        b"0" => frac.iter().any(|d| *d != b'0'),
        _ => false,
    }
}

/// Whether answers of this `Content-Type` are text that compresses (JSON, XML, plain text,
/// HTML, JavaScript, SVG). Images, audio, video and anything unknown are left alone: they are
/// compressed already, or we cannot tell.
pub(crate) fn compressible(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .as_bytes();
    let Some(slash) = media.iter().position(|b| *b == b'/') else {
        return false;
    };
    let (top, sub) = (&media[..slash], &media[slash + 1..]);
    let sub_has = |word: &[u8]| {
        sub.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    if top.eq_ignore_ascii_case(b"text") {
        return true;
    }
    if !(top.eq_ignore_ascii_case(b"application") || top.eq_ignore_ascii_case(b"image")) {
        return false;
    }
    // `image/svg+xml` is text; every other image is not.
    sub_has(b"json")
        || sub_has(b"xml")
        || (top.eq_ignore_ascii_case(b"application") && sub_has(b"javascript"))
}

/// `body` gzipped, or `None` when that would not save at least a tenth of it (already
/// compressed data, or nearly random text): such an entry is answered identity for good.
///
/// The gzip header carries no time and no name, so the same body always gives the same bytes
/// (and the same `ETag` stays true across restarts and instances).
pub(crate) fn gzip(body: &[u8]) -> Option<Bytes> {
    use std::io::Write as _;
    let out = Vec::with_capacity(body.len() / 4 + 64);
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, flate2::Compression::new(LEVEL));
    enc.write_all(body).ok()?;
    let mut out = enc.finish().ok()?;
    // The copy is kept as long as its entry and counted by its length: it must not hold the
    // room left for a body that compressed less (listings come to a tenth, the room is a
    // quarter).
    out.shrink_to_fit();
    (out.len() <= body.len() - body.len() / 10).then(|| Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ae(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&h)
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        assert!(ae(&["gzip"]));
        assert!(ae(&["gzip, deflate"]));
        assert!(ae(&["gzip, deflate, br, zstd"]));
        assert!(ae(&["deflate, GZIP;q=0.5"]));
        assert!(ae(&["x-gzip"]));
        assert!(ae(&["*"]));
        assert!(ae(&["br;q=1.0, *;q=0.1"]));
        assert!(ae(&["identity", "gzip;q=1.000"]));
        assert!(ae(&["gzip ; Q=0.001"]));
        assert!(!ae(&[]));
        assert!(!ae(&[""]));
        assert!(!ae(&["identity"]));
        assert!(!ae(&["deflate, br"]));
        assert!(!ae(&["gzip;q=0"]));
        assert!(!ae(&["gzip;q=0.000"]));
        assert!(!ae(&["*;q=0"]));
        assert!(!ae(&["gzip;q=0, *"]));
        assert!(!ae(&["*", "gzip;q=0"]));
        assert!(!ae(&["x-gzip;q=0, gzip"]));
        assert!(!ae(&["*;q=0, deflate"]));
        // Outside the grammar: treated as zero, so identity.
        assert!(!ae(&["gzip;q=2"]));
        assert!(!ae(&["gzip;q=1.5"]));
        assert!(!ae(&["gzip;q=0.0001"]));
        assert!(!ae(&["gzip;q="]));
        assert!(!ae(&["gzip;q=abc"]));
        assert!(!ae(&["gzip;q=-1"]));
        assert!(!ae(&["gzipx", "xgzip"]));
    }

    #[test]
    fn hostile_accept_encoding_is_linear_and_calm() {
        // 200 KB of separators and parameters: no panic, no allocation, an answer.
        let long = ";q=".repeat(20_000) + &",".repeat(20_000) + "gzip";
        assert!(ae(&[&long]));
        let mut h = HeaderMap::new();
        h.append(
            ACCEPT_ENCODING,
            HeaderValue::from_bytes(b"gzip;q=0.\xff\xfe, \x80").unwrap(),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn only_text_types_are_compressible() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "text/xml;charset=utf-8",
            "application/xml",
            "text/plain",
            "text/html",
            "application/problem+json",
            "application/javascript",
            "image/svg+xml",
            "Application/JSON",
        ] {
            assert!(compressible(ct), "{ct}");
        }
        for ct in [
            "image/jpeg",
            "image/png",
            "video/mp4",
            "audio/flac",
            "application/octet-stream",
            "application/zip",
            "",
            "json",
            "image/webp; name=xml",
        ] {
            assert!(!compressible(ct), "{ct}");
        }
    }

    #[test]
    fn gzip_round_trips_and_is_deterministic() {
        use std::io::Read as _;
        let body: Vec<u8> = (0..5000)
            .flat_map(|i| {
                format!("{{\"ratingKey\":\"{i}\",\"title\":\"Track {i}\"}},").into_bytes()
            })
            .collect();
        let a = gzip(&body).unwrap();
        let b = gzip(&body).unwrap();
        assert_eq!(a, b);
        assert!(a.len() < body.len() / 4);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        // Random bytes do not shrink: no variant.
        let mut rng = fastrand::Rng::with_seed(1);
        let noise: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
        assert!(gzip(&noise).is_none());
    }
}
