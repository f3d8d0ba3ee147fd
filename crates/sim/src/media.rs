//! Media shared by both front ends: small deterministic PNG artwork and synthetic media bytes
//! served with HTTP `Range` support.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::rng::mix;

/// Largest edge of a generated image; bigger requests are clamped (like a transcoder would
/// refuse silly sizes).
pub const MAX_IMAGE_EDGE: u32 = 1_000;

/// A `width`×`height` RGB PNG whose colours derive from `seed`: a diagonal two-colour
/// gradient with a band, so different items look different and the same item always yields
/// the same bytes.
pub fn png(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (
        width.clamp(1, MAX_IMAGE_EDGE),
        height.clamp(1, MAX_IMAGE_EDGE),
    );
    let a = mix(seed);
    let b = mix(a);
    let c1 = [
        (a & 0xFF) as u16,
        ((a >> 8) & 0xFF) as u16,
        ((a >> 16) & 0xFF) as u16,
    ];
    let c2 = [
        (b & 0xFF) as u16,
        ((b >> 8) & 0xFF) as u16,
        ((b >> 16) & 0xFF) as u16,
    ];
    let band = (a >> 32) as u32 % h.max(1);
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let t = ((x + y) * 255 / (w + h).max(1)) as u16;
            for ch in 0..3 {
                let v = (c1[ch] * (255 - t) + c2[ch] * t) / 255;
                let v = if y.abs_diff(band) < h / 16 + 1 {
                    255 - v
                } else {
                    v
                };
                data.push(v as u8);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let written = enc.write_header().and_then(|mut wr| {
        wr.write_image_data(&data)?;
        wr.finish()
    });
    if written.is_err() {
        // Encoding into a Vec cannot fail for valid dimensions; never serve a broken image.
        return Vec::new();
    }
    out
}

/// A PNG response, immutable for a year (the URLs are versioned).
pub fn png_response(bytes: Vec<u8>) -> Response {
    if bytes.is_empty() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Byte `pos` of the synthetic file `file_seed` (cheap, stateless, so any range is served
/// without storing anything).
fn fill_bytes(file_seed: u64, start: u64, out: &mut [u8]) {
    let mut pos = start;
    let mut i = 0;
    while i < out.len() {
        let word = mix(file_seed ^ (pos / 8));
        let bytes = word.to_le_bytes();
        let off = (pos % 8) as usize;
        let n = (8 - off).min(out.len() - i);
        out[i..i + n].copy_from_slice(&bytes[off..off + n]);
        i += n;
        pos += n as u64;
    }
}

/// Parses a single `Range: bytes=a-b | a- | -n` against `len`. `Ok(None)` = no range;
/// `Err(())` = unsatisfiable or malformed (416).
#[allow(clippy::result_unit_err)]
pub fn parse_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ())?;
    let spec = v.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        // Multipart ranges are not supported (Plex does not use them); serve the first.
    }
    let first = spec.split(',').next().ok_or(())?.trim();
    let (a, b) = first.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        (s, "") => (s.parse().map_err(|_| ())?, len.saturating_sub(1)),
        (s, e) => {
            let s: u64 = s.parse().map_err(|_| ())?;
            let e: u64 = e.parse().map_err(|_| ())?;
            (s, e.min(len.saturating_sub(1)))
        }
    };
    if len == 0 || start >= len || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// Serves synthetic media bytes of `len` bytes (full or one `Range`), streamed in 64 KiB
/// chunks.
pub fn media_response(
    headers: &HeaderMap,
    file_seed: u64,
    len: u64,
    content_type: &'static str,
) -> Response {
    let range = match parse_range(headers, len) {
        Ok(r) => r,
        Err(()) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    let (status, start, end) = match range {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e),
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    const CHUNK: u64 = 64 * 1024;
    let stream = futures_util::stream::unfold(start, move |pos| async move {
        if count == 0 || pos > end {
            return None;
        }
        let n = CHUNK.min(end + 1 - pos);
        let mut buf = vec![0u8; n as usize];
        fill_bytes(file_seed, pos, &mut buf);
        Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), pos + n))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// The first `n` bytes of the synthetic file (for tests comparing ranges).
pub fn synthetic_bytes(file_seed: u64, start: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    fill_bytes(file_seed, start, &mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_deterministic_and_decodable() {
        let a = png(7, 40, 30);
        assert_eq!(a, png(7, 40, 30));
        assert_ne!(a, png(8, 40, 30));
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(a));
        let reader = decoder.read_info().expect("decodes");
        assert_eq!((reader.info().width, reader.info().height), (40, 30));
    }

    #[test]
    fn ranges() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_range(&h, 100), Ok(None));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=10-19"));
        assert_eq!(parse_range(&h, 100), Ok(Some((10, 19))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=90-"));
        assert_eq!(parse_range(&h, 100), Ok(Some((90, 99))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=-5"));
        assert_eq!(parse_range(&h, 100), Ok(Some((95, 99))));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=100-"));
        assert_eq!(parse_range(&h, 100), Err(()));
        h.insert(header::RANGE, HeaderValue::from_static("items=1-2"));
        assert_eq!(parse_range(&h, 100), Err(()));
        // Bytes are the same whichever range they are read through.
        assert_eq!(
            synthetic_bytes(3, 5, 10)[..],
            synthetic_bytes(3, 0, 15)[5..]
        );
    }
}
