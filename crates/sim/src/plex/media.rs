//! Artwork (`…/thumb/{ts}`, `…/art/{ts}`, `/photo/:/transcode`) and media parts
//! (`/library/parts/{id}/{ts}/file.ext`, with `Range`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Ctx, plex_error};
use crate::Sim;
use crate::library::{ItemId, fnv1a};
use crate::media::{media_response, png, png_response};

fn visible(sim: &Sim, ctx: &Ctx, id: &str) -> Option<(ItemId, u64, u32)> {
    let id: ItemId = id.parse().ok()?;
    let lib = sim.library();
    let item = lib.item(id).filter(|i| ctx.user.plex_sees(i))?;
    Some((id, item.content_hash(), item.updated_at()))
}

/// `GET /library/metadata/{id}/thumb/{ts}`: a 300×300 poster.
pub(crate) async fn thumb(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, _ts)): Path<(String, String)>,
) -> Response {
    let Some((_, hash, updated)) = visible(&sim, &ctx, &id) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    sim.charge(0, 1).await;
    png_response(png(hash ^ u64::from(updated), 300, 300))
}

/// `GET /library/metadata/{id}/art/{ts}`: a 640×360 background.
pub(crate) async fn art(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, _ts)): Path<(String, String)>,
) -> Response {
    let Some((_, hash, updated)) = visible(&sim, &ctx, &id) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    sim.charge(0, 1).await;
    png_response(png(hash ^ u64::from(updated) ^ 0xA27, 640, 360))
}

/// `GET /photo/:/transcode?url=&width=&height=`: the image behind `url` at the asked size.
pub(crate) async fn transcode(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let Some(url) = ctx.q("url").filter(|u| !u.is_empty()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let dim = |k: &str| -> Result<u32, StatusCode> {
        match ctx.q(k) {
            None | Some("") => Ok(300),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(StatusCode::BAD_REQUEST),
        }
    };
    let (w, h) = match (dim("width"), dim("height")) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return plex_error(StatusCode::BAD_REQUEST),
    };
    // A library URL must name an item the user may see; other URLs are "remote" images.
    let seed = if let Some(rest) = url.strip_prefix("/library/metadata/") {
        let id = rest.split('/').next().unwrap_or("");
        match visible(&sim, &ctx, id) {
            Some((_, hash, updated)) => hash ^ u64::from(updated),
            None => return plex_error(StatusCode::NOT_FOUND),
        }
    } else {
        fnv1a(url.as_bytes())
    };
    sim.charge(0, 1).await;
    png_response(png(seed, w, h))
}

/// `GET /library/parts/{id}/{ts}/{file}`: the media bytes, `Range` supported.
pub(crate) async fn part(
    State(sim): State<Sim>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, _ts, _file)): Path<(String, String, String)>,
) -> Response {
    let found = {
        let lib = sim.library();
        id.parse::<ItemId>()
            .ok()
            .and_then(|id| lib.item(id))
            .filter(|i| i.kind().is_playable() && ctx.user.plex_sees(i))
            .map(|i| (i.content_hash(), i.file_size(), i.container()))
    };
    let Some((hash, size, container)) = found else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let ctype = match container {
        Some("flac") => "audio/flac",
        Some("mp3") => "audio/mpeg",
        _ => "video/x-matroska",
    };
    sim.charge(0, 0).await;
    media_response(&headers, hash, size, ctype)
}
