//! Real, small, deterministic images for `/Items/{id}/Images/{type}`.
//!
//! Each item gets a PNG whose colours derive from its content hash (so a renamed item gets a
//! new picture and a new `tag`) and whose size follows the request's `maxWidth` /
//! `maxHeight` / `fillWidth` / `fillHeight`, as Jellyfin's image processor resizes. Sizes are
//! clamped so a hostile query cannot make the simulator allocate much.

/// Largest edge the simulator renders, in pixels.
const MAX_EDGE: u32 = 1_000;
/// Smallest edge.
const MIN_EDGE: u32 = 1;

/// The requested output size: `(width, height)` given the image's natural `aspect`
/// (width / height) and the optional bounds of the request.
pub(crate) fn target_size(
    aspect: f64,
    max_width: Option<u32>,
    max_height: Option<u32>,
    fill_width: Option<u32>,
    fill_height: Option<u32>,
) -> (u32, u32) {
    let clamp = |v: f64| (v.round() as u32).clamp(MIN_EDGE, MAX_EDGE);
    if let (Some(w), Some(h)) = (fill_width, fill_height) {
        return (w.clamp(MIN_EDGE, MAX_EDGE), h.clamp(MIN_EDGE, MAX_EDGE));
    }
    // The natural size of the simulator's artwork: 600 px on the long edge.
    let (mut width, mut height) = if aspect >= 1.0 {
        (600.0, 600.0 / aspect)
    } else {
        (600.0 * aspect, 600.0)
    };
    if let Some(w) = max_width.or(fill_width).map(f64::from)
        && width > w
    {
        height *= w / width;
        width = w;
    }
    if let Some(h) = max_height.or(fill_height).map(f64::from)
        && height > h
    {
        width *= h / height;
        height = h;
    }
    (clamp(width), clamp(height))
}

/// Renders a `width` × `height` PNG: a diagonal gradient between two colours picked by `seed`,
/// with a band whose position also depends on `seed` (so neighbouring items differ visibly).
pub(crate) fn render_png(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let width = width.clamp(MIN_EDGE, MAX_EDGE);
    let height = height.clamp(MIN_EDGE, MAX_EDGE);
    let from = [(seed >> 8) as u8, (seed >> 16) as u8, (seed >> 24) as u8];
    let to = [(seed >> 32) as u8, (seed >> 40) as u8, (seed >> 48) as u8];
    let band = (seed % u64::from(height.max(1))) as u32;
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    let span = (width + height).max(2) - 2;
    for y in 0..height {
        for x in 0..width {
            let t = ((x + y) * 255).checked_div(span).unwrap_or(0);
            for channel in 0..3 {
                let a = u32::from(from[channel]);
                let b = u32::from(to[channel]);
                let mut v = (a * (255 - t) + b * t) / 255;
                if y.abs_diff(band) < height / 12 + 1 {
                    v = 255 - v;
                }
                pixels.push(v as u8);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let written = encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&pixels));
        if let Err(err) = written {
            // Encoding into a Vec cannot fail for valid sizes; degrade to an empty body.
            tracing::error!(error = %err, "cannot encode a simulated image");
            out.clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_bounds_and_are_clamped() {
        assert_eq!(target_size(1.0, None, None, None, None), (600, 600));
        assert_eq!(target_size(1.0, Some(300), None, None, None), (300, 300));
        assert_eq!(
            target_size(2.0 / 3.0, None, Some(300), None, None),
            (200, 300)
        );
        assert_eq!(target_size(1.0, None, None, Some(40), Some(60)), (40, 60));
        assert_eq!(
            target_size(1.0, None, None, Some(1_000_000), Some(0)),
            (1_000, 1)
        );
        assert_eq!(target_size(1.0, Some(0), None, None, None), (1, 1));
    }

    #[test]
    fn images_are_real_pngs_and_deterministic() {
        let a = render_png(42, 20, 10);
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(a, render_png(42, 20, 10));
        assert_ne!(a, render_png(43, 20, 10));
        let decoder = png::Decoder::new(std::io::Cursor::new(a));
        let reader = decoder.read_info().expect("valid png");
        assert_eq!((reader.info().width, reader.info().height), (20, 10));
    }
}
