//! Images and media files: `/Items/{id}/Images/{type}` (sizes, tags, `If-None-Match` and
//! `If-Modified-Since`) and the media stream and download endpoints.

use super::*;

/// Every `ImageType` (the server's names, shared with the gateway).
pub(super) use cachearr_serverfmt::jellyfin::IMAGE_TYPES;

pub(super) fn dimension(query: &QueryParams, name: &str) -> Result<Option<u32>, ApiError> {
    Ok(query
        .count(name)?
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
}

/// `GET /Items/{id}/Images/{type}`: anonymous, as on the real server. Only `Primary` exists.
pub(super) fn image(
    front: &Front,
    req: &Req,
    item: &str,
    image_type: &str,
) -> Result<Reply, ApiError> {
    if !IMAGE_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(image_type))
    {
        return Err(ApiError::invalid_value("imageType", image_type));
    }
    let target = decode_id(front.sim.seed(), item, "itemId")?.ok_or(ApiError::NotFound)?;
    if !image_type.eq_ignore_ascii_case("Primary") {
        return Err(ApiError::NotFound);
    }
    let (seed, aspect, modified) = image_of(front, target)?;
    let query = &req.query;
    let (width, height) = super::super::image::target_size(
        aspect,
        dimension(query, "maxWidth")?.or(dimension(query, "width")?),
        dimension(query, "maxHeight")?.or(dimension(query, "height")?),
        dimension(query, "fillWidth")?,
        dimension(query, "fillHeight")?,
    );
    let tag = format!("{seed:016x}");
    let etag = format!("\"{tag}\"");
    let modified = modified.map(|secs| {
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(secs))
    });
    // The real server serves the image file with ASP.NET Core's file result, which answers
    // `If-None-Match` / `If-Modified-Since` with `304 Not Modified` and no body.
    if not_modified(&req.headers, &etag, modified) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, v);
        }
        return Ok(Reply {
            response,
            work: Work {
                scanned: 1,
                returned: 0,
            },
        });
    }
    let png = super::super::image::render_png(seed, width, height);
    let returned = 1;
    let mut response = (StatusCode::OK, png).into_response();
    let headers = response.headers_mut();
    if let Some(at) = modified
        && let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at))
    {
        headers.insert(header::LAST_MODIFIED, v);
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    let versioned = query
        .str("tag")
        .is_some_and(|t| t.eq_ignore_ascii_case(&tag));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "public"
        }),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    Ok(Reply {
        response,
        work: Work {
            scanned: 1,
            returned,
        },
    })
}

/// What the image of `target` is drawn from, its aspect ratio, and when it last changed
/// (its item's update time; none for an artist by name).
fn image_of(front: &Front, target: Target) -> Result<(u64, f64, Option<u32>), ApiError> {
    let lib = front.sim.library();
    Ok(match target {
        Target::Item(id) => {
            let item = lib.item(id).ok_or(ApiError::NotFound)?;
            let aspect = match item.kind() {
                ItemKind::Movie | ItemKind::Show | ItemKind::Season => 2.0 / 3.0,
                ItemKind::Episode => 16.0 / 9.0,
                _ => 1.0,
            };
            (
                mix_tag(item.content_hash(), item.updated_at()),
                aspect,
                Some(item.updated_at()),
            )
        }
        Target::View(id) => {
            let section = lib.section(id).ok_or(ApiError::NotFound)?;
            (
                mix_tag(u64::from(section.id) << 32, section.created_at),
                16.0 / 9.0,
                Some(section.created_at),
            )
        }
        Target::Playlist(id) => {
            let state = front.sim.state();
            let playlist = state
                .users()
                .iter()
                .find_map(|u| state.playlist(u.id, id))
                .ok_or(ApiError::NotFound)?;
            (
                mix_tag(u64::from(playlist.id), playlist.updated_at),
                1.0,
                Some(playlist.updated_at),
            )
        }
        Target::ArtistName(hash) => (mix_tag(hash, 0), 1.0, None),
    })
}

/// Whether a conditional request may be answered `304` (RFC 9110 §13.2.2): `If-None-Match`
/// naming the current tag (weak comparison) or `*`; without it, `If-Modified-Since` not
/// before the image's time.
pub(super) fn not_modified(
    headers: &HeaderMap,
    etag: &str,
    modified: Option<std::time::SystemTime>,
) -> bool {
    let none_match: Vec<&str> = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if !none_match.is_empty() {
        return none_match
            .iter()
            .any(|t| *t == "*" || t.trim_start_matches("W/") == etag);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    matches!((since, modified), (Some(since), Some(at)) if at <= since)
}

/// The tag (and image seed) of an object: the same function as the `ImageTags` of its DTO.
pub(super) fn mix_tag(content_hash: u64, updated_at: u32) -> u64 {
    crate::rng::mix(content_hash ^ u64::from(updated_at))
}

/// The media file of a playable item: synthetic bytes (the same as the Plex front end serves
/// for the item), whole or one `Range`.
pub(super) fn media(
    front: &Front,
    req: &Req,
    caller: &User,
    raw: &str,
    download: bool,
) -> Result<Reply, ApiError> {
    let user = front.effective_user(caller, req.query.str("userId"))?;
    let id = visible_item_id(front, &user, raw)?;
    let (hash, size, container, file_name) = {
        let lib = front.sim.library();
        let item = lib
            .item(id)
            .filter(|i| i.kind().is_playable())
            .ok_or(ApiError::NotFound)?;
        let path = item.file_path();
        let file_name = path.rsplit('/').next().unwrap_or_default().to_owned();
        (
            item.content_hash(),
            item.file_size(),
            item.container(),
            file_name,
        )
    };
    let content_type = match container {
        Some("flac") => "audio/flac",
        Some("mp3") => "audio/mpeg",
        _ => "video/x-matroska",
    };
    let mut response = crate::media::media_response(&req.headers, hash, size, content_type);
    if download {
        // Header values are ASCII: an ASCII fallback name plus the RFC 5987 UTF-8 form.
        let ascii: String = file_name
            .chars()
            .map(|c| {
                if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(&file_name, percent_encoding::NON_ALPHANUMERIC);
        let value = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(Reply {
        response,
        work: Work {
            scanned: 1,
            returned: 0,
        },
    })
}
