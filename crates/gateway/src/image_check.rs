//! Checks an image body before it is stored: a server can send a complete, well-framed HTTP
//! response whose image is broken (a half-written file, flipped bits), and a cached copy would
//! be served for days — on Jellyfin to every user. A body that fails is passed on to the
//! client as the server sent it, never stored.
//!
//! | format | checked |
//! |---|---|
//! | PNG | signature, every chunk's length and CRC-32, an `IEND` chunk |
//! | JPEG | start-of-image, the marker segments up to the scan, end-of-image (`FF D9`) last |
//! | WebP | `RIFF` … `WEBP` header, RIFF length equal to the body's |
//! | GIF | `GIF87a`/`GIF89a` header, trailer byte (`;`) last |
//!
//! The declared `Content-Type` must agree with the magic bytes: a body sent as `image/png`
//! that is a JPEG, or no known image at all, fails. Other image types (SVG, AVIF, ICO, …)
//! and bodies with a `Content-Encoding` are not checked. JPEG scan data is not decoded, so
//! damage inside it goes unseen: only the structure around it is checked.

/// Image formats recognised by their magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl Format {
    fn of_content_type(ct: &str) -> Option<Self> {
        let essence = ct.split(';').next().unwrap_or("").trim();
        let essence = essence.to_ascii_lowercase();
        match essence.as_str() {
            "image/png" | "image/apng" => Some(Self::Png),
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/webp" => Some(Self::Webp),
            "image/gif" => Some(Self::Gif),
            _ => None,
        }
    }

    fn sniff(body: &[u8]) -> Option<Self> {
        if body.starts_with(PNG_SIGNATURE) {
            Some(Self::Png)
        } else if body.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if body.len() >= 12 && &body[..4] == b"RIFF" && &body[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if body.starts_with(b"GIF87a") || body.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else {
            None
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Checks `body` against its declared `content_type`. `Err` names the failed check (a fixed
/// word, usable as a metric label); bodies of types this module does not know pass.
pub(crate) fn check(content_type: &str, body: &[u8]) -> Result<(), &'static str> {
    let declared = Format::of_content_type(content_type);
    let sniffed = Format::sniff(body);
    let format = match (declared, sniffed) {
        (None, None) => return Ok(()),
        (Some(d), Some(s)) if d != s => return Err("type-mismatch"),
        (Some(_), None) => return Err("type-mismatch"),
        // A known image sent under another (or no) image type is still checked.
        (_, Some(s)) => s,
    };
    match format {
        Format::Png => check_png(body),
        Format::Jpeg => check_jpeg(body),
        Format::Webp => check_webp(body),
        Format::Gif => check_gif(body),
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn check_png(body: &[u8]) -> Result<(), &'static str> {
    let mut at = PNG_SIGNATURE.len();
    loop {
        let Some(head) = body.get(at..at + 8) else {
            return Err("png-no-iend");
        };
        let len = be_u32(&head[..4]) as usize;
        let Some(end) = at
            .checked_add(8)
            .and_then(|x| x.checked_add(len))
            .filter(|&e| e + 4 <= body.len())
        else {
            return Err("png-chunk-length");
        };
        // The CRC covers the chunk type and data.
        let crc = crc32fast::hash(&body[at + 4..end]);
        if crc != be_u32(&body[end..end + 4]) {
            return Err("png-crc");
        }
        if &head[4..8] == b"IEND" {
            return Ok(());
        }
        at = end + 4;
    }
}

fn check_jpeg(body: &[u8]) -> Result<(), &'static str> {
    // Encoders may pad after the end-of-image marker; decoders ignore such padding.
    let trimmed = body.trim_ascii_end();
    let trimmed = &trimmed[..trimmed.len() - trimmed.iter().rev().take_while(|&&b| b == 0).count()];
    if !trimmed.ends_with(&[0xFF, 0xD9]) {
        return Err("jpeg-no-eoi");
    }
    // Walk the marker segments from SOI up to the start of scan.
    let mut at = 2;
    loop {
        let Some(&[ff, marker]) = body.get(at..at + 2) else {
            return Err("jpeg-segments");
        };
        if ff != 0xFF {
            return Err("jpeg-segments");
        }
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 => return Err("jpeg-segments"),
            _ => {
                let Some(len) = body.get(at + 2..at + 4) else {
                    return Err("jpeg-segments");
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 || at + 2 + len > body.len() {
                    return Err("jpeg-segments");
                }
                if marker == 0xDA {
                    return Ok(());
                }
                at += 2 + len;
            }
        }
    }
}

fn check_webp(body: &[u8]) -> Result<(), &'static str> {
    let riff_len = u32::from_le_bytes([body[4], body[5], body[6], body[7]]) as usize;
    if riff_len.checked_add(8) != Some(body.len()) {
        return Err("webp-riff-length");
    }
    Ok(())
}

fn check_gif(body: &[u8]) -> Result<(), &'static str> {
    if body.last() != Some(&0x3B) {
        return Err("gif-no-trailer");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        c.extend_from_slice(&crc32fast::hash(&crc_input).to_be_bytes());
        c
    }

    fn png() -> Vec<u8> {
        let mut b = PNG_SIGNATURE.to_vec();
        b.extend(png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        b.extend(png_chunk(b"IDAT", b"some compressed pixels"));
        b.extend(png_chunk(b"IEND", b""));
        b
    }

    fn jpeg() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        b.extend([0xFF, 0xE0, 0x00, 0x06, b'J', b'F', b'I', b'F']);
        b.extend([0xFF, 0xDB, 0x00, 0x04, 1, 2]);
        b.extend([0xFF, 0xDA, 0x00, 0x04, 3, 4]);
        b.extend([0x12, 0x34, 0xFF, 0x00, 0x56]);
        b.extend([0xFF, 0xD9]);
        b
    }

    fn webp() -> Vec<u8> {
        let mut b = b"RIFF".to_vec();
        b.extend(12u32.to_le_bytes());
        b.extend(b"WEBPVP8 \0\0\0\0");
        b
    }

    #[test]
    fn whole_images_pass() {
        assert_eq!(check("image/png", &png()), Ok(()));
        assert_eq!(check("image/jpeg", &jpeg()), Ok(()));
        let mut padded = jpeg();
        padded.extend([0, 0, b'\n']);
        assert_eq!(check("image/jpeg", &padded), Ok(()));
        assert_eq!(check("image/webp", &webp()), Ok(()));
        assert_eq!(check("image/gif", b"GIF89a\x01\x00\x01\x00;"), Ok(()));
        // Parameters and case in the declared type.
        assert_eq!(check("Image/PNG; charset=binary", &png()), Ok(()));
    }

    #[test]
    fn broken_pngs_fail() {
        let good = png();
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x01;
        assert_eq!(check("image/png", &flipped), Err("png-crc"));
        let cut = &good[..good.len() - 12];
        assert_eq!(check("image/png", cut), Err("png-no-iend"));
        let mut long_chunk = good.clone();
        long_chunk[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(check("image/png", &long_chunk), Err("png-chunk-length"));
        assert_eq!(
            check("image/png", &good[..good.len() - 2]),
            Err("png-chunk-length")
        );
    }

    #[test]
    fn broken_jpegs_fail() {
        let good = jpeg();
        assert_eq!(
            check("image/jpeg", &good[..good.len() - 2]),
            Err("jpeg-no-eoi")
        );
        let mut bad_len = good.clone();
        bad_len[5] = 0xF0;
        assert_eq!(check("image/jpeg", &bad_len), Err("jpeg-segments"));
        let mut no_marker = good.clone();
        no_marker[10] = 0x00;
        assert_eq!(check("image/jpeg", &no_marker), Err("jpeg-segments"));
        assert_eq!(
            check("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xD9]),
            Err("jpeg-segments")
        );
    }

    #[test]
    fn broken_webp_and_gif_fail() {
        let good = webp();
        assert_eq!(
            check("image/webp", &good[..good.len() - 1]),
            Err("webp-riff-length")
        );
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(check("image/webp", &longer), Err("webp-riff-length"));
        assert_eq!(
            check("image/gif", b"GIF89a\x01\x00\x01\x00"),
            Err("gif-no-trailer")
        );
    }

    #[test]
    fn declared_type_must_match_the_bytes() {
        assert_eq!(check("image/jpeg", &png()), Err("type-mismatch"));
        assert_eq!(
            check("image/png", b"<html>error</html>"),
            Err("type-mismatch")
        );
        assert_eq!(check("image/png", b""), Err("type-mismatch"));
        // A known image under a generic type is still checked...
        let mut flipped = png();
        flipped[20] ^= 1;
        assert_eq!(check("application/octet-stream", &flipped), Err("png-crc"));
        // ...and types this module does not know pass.
        assert_eq!(check("image/svg+xml", b"<svg/>"), Ok(()));
        assert_eq!(check("application/json", b"{}"), Ok(()));
    }

    #[test]
    fn never_panics_on_short_or_hostile_bodies() {
        for ct in ["image/png", "image/jpeg", "image/webp", "image/gif", ""] {
            for body in [
                &b""[..],
                b"\x89PNG\r\n\x1a\n",
                b"\x89PNG\r\n\x1a\n\0\0\0",
                b"\xFF\xD8\xFF",
                b"\xFF\xD8\xFF\xD9",
                b"RIFF\0\0\0\0WEBP",
                b"RIFF\xFF\xFF\xFF\xFFWEBP",
                b"GIF89a",
            ] {
                let _ = check(ct, body);
            }
        }
    }
}
