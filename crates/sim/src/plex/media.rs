//! Artwork (`…/thumb/{ts}`, `…/art/{ts}`, `/photo/:/transcode`), the choice of artwork
//! (`…/posters`, `…/arts`, `…/themes`: list, upload, select) and media parts
//! (`/library/parts/{id}/{ts}/file.ext`, with `Range`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Ctx, plex_error};
use crate::Sim;
use crate::edits::ArtKind;
use crate::library::{ItemId, fnv1a};
use crate::media::{media_response, png, png_response};
use cachearr_serverfmt::tree::El;

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
    let resp = media_response(&headers, hash, size, ctype);
    let sent = resp
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    super::statistics::record(&sim, &ctx, sent);
    resp
}

/// The agent whose artwork an item has by default (Plex's `provider`).
fn agent(kind: crate::library::SectionKind) -> &'static str {
    match kind {
        crate::library::SectionKind::Music => "tv.plex.agents.music",
        crate::library::SectionKind::Movies => "tv.plex.agents.movie",
        crate::library::SectionKind::Shows => "tv.plex.agents.series",
        crate::library::SectionKind::Photos => "com.plexapp.agents.none",
    }
}

/// `GET /library/metadata/{id}/posters|arts|themes`: the artwork an item can show — the
/// agent's (posters and arts), then uploads — with the selected one marked.
async fn art_list(sim: Sim, ctx: Ctx, id: String, kind: ArtKind) -> Response {
    let doc = {
        let lib = sim.library();
        let Some(item) = id
            .parse::<ItemId>()
            .ok()
            .and_then(|id| lib.item(id))
            .filter(|i| ctx.user.plex_sees(i))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let mut keys: Vec<(String, Option<&'static str>)> = Vec::new();
        if kind != ArtKind::Theme {
            let agent = agent(item.section().kind);
            keys.push((
                format!("metadata://{}/{agent}_{}", kind.plural(), item.id()),
                Some(agent),
            ));
        }
        let edits = item.edits();
        if let Some(uploads) = edits.and_then(|e| e.uploads.get(&kind)) {
            keys.extend(uploads.iter().map(|k| (k.clone(), None)));
        }
        let selected = edits
            .and_then(|e| e.selected.get(&kind))
            .cloned()
            .or_else(|| keys.first().map(|k| k.0.clone()));
        let tag = if kind == ArtKind::Theme {
            "Track"
        } else {
            "Photo"
        };
        let mut doc = El::container()
            .a("size", keys.len())
            .a("identifier", "com.plexapp.plugins.library")
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("mediaTagVersion", 1_700_000_000u32);
        for (key, provider) in keys {
            let file = format!(
                "/library/metadata/{}/file?url={}",
                item.id(),
                percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC)
            );
            doc = doc.kid(
                El::new(tag)
                    .a("key", file.clone())
                    .a("ratingKey", key.clone())
                    .a("selected", selected.as_deref() == Some(key.as_str()))
                    .a("thumb", file)
                    .opt("provider", provider),
            );
        }
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    super::reply(ctx.json, &doc)
}

/// Uploads artwork (the body, or `?url=`) and selects it; the field is locked, as Plex does.
async fn art_upload(sim: Sim, ctx: Ctx, id: String, kind: ArtKind, body: Bytes) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let Some(id) = visible(&sim, &ctx, &id).map(|v| v.0) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let digest = match ctx.q("url").filter(|u| !u.is_empty()) {
        Some(url) => sha1_smol::Sha1::from(url.as_bytes()).digest().to_string(),
        None if body.is_empty() => return plex_error(StatusCode::BAD_REQUEST),
        None => sha1_smol::Sha1::from(&body[..]).digest().to_string(),
    };
    let key = format!("upload://{}/{digest}", kind.plural());
    let result = sim.edit_meta(id, |e| {
        let uploads = e.uploads.entry(kind).or_default();
        if !uploads.contains(&key) {
            uploads.push(key.clone());
        }
        e.selected.insert(kind, key.clone());
        e.locked.insert(kind.field());
        if kind == ArtKind::Theme {
            e.attrs.insert(
                "theme",
                Some(format!(
                    "/library/metadata/{id}/theme/{}",
                    fnv1a(key.as_bytes())
                )),
            );
        }
        true
    });
    if result.is_err() {
        return plex_error(StatusCode::NOT_FOUND);
    }
    sim.charge(0, 0).await;
    super::reply(ctx.json, &El::container().a("size", 0u32))
}

/// `PUT /library/metadata/{id}/poster|art|theme?url={ratingKey}`: selects one of the item's
/// artwork.
async fn art_select(sim: Sim, ctx: Ctx, id: String, kind: ArtKind) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let Some(id) = visible(&sim, &ctx, &id).map(|v| v.0) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let Some(url) = ctx.q("url").filter(|u| !u.is_empty()).map(str::to_string) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let known = url.starts_with("metadata://")
        || sim.library().item(id).is_some_and(|i| {
            i.edits()
                .and_then(|e| e.uploads.get(&kind))
                .is_some_and(|u| u.contains(&url))
        });
    if !known {
        return plex_error(StatusCode::NOT_FOUND);
    }
    let result = sim.edit_meta(id, |e| {
        let changed = e.selected.get(&kind) != Some(&url);
        e.selected.insert(kind, url.clone());
        changed
    });
    if result.is_err() {
        return plex_error(StatusCode::NOT_FOUND);
    }
    sim.charge(0, 0).await;
    super::reply(ctx.json, &El::container().a("size", 0u32))
}

macro_rules! art_routes {
    ($list:ident, $upload:ident, $select:ident, $kind:expr) => {
        pub(crate) async fn $list(
            State(sim): State<Sim>,
            ctx: Ctx,
            Path(id): Path<String>,
        ) -> Response {
            art_list(sim, ctx, id, $kind).await
        }
        pub(crate) async fn $upload(
            State(sim): State<Sim>,
            ctx: Ctx,
            Path(id): Path<String>,
            body: Bytes,
        ) -> Response {
            art_upload(sim, ctx, id, $kind, body).await
        }
        pub(crate) async fn $select(
            State(sim): State<Sim>,
            ctx: Ctx,
            Path(id): Path<String>,
        ) -> Response {
            art_select(sim, ctx, id, $kind).await
        }
    };
}

art_routes!(posters, upload_poster, select_poster, ArtKind::Poster);
art_routes!(arts, upload_art, select_art, ArtKind::Art);
art_routes!(themes, upload_theme, select_theme, ArtKind::Theme);

/// `GET /video/:/transcode/universal/start.m3u8|.mpd?path=/library/metadata/{id}&…`: starts a
/// (simulated) transcode of an item and answers its playlist; 404 for an item the user does
/// not see, 400 without `path`.
pub(crate) async fn transcode_start(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(file): Path<String>,
) -> Response {
    let Some(path) = ctx.q("path").filter(|p| !p.is_empty()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let id = path.strip_prefix("/library/metadata/").unwrap_or(path);
    let Some((id, _, _)) = visible(&sim, &ctx, id) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let (ctype, body) = if file.ends_with(".mpd") {
        (
            "application/dash+xml",
            format!(
                "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\"><Period id=\"{id}\"/></MPD>\n"
            ),
        )
    } else {
        (
            "application/vnd.apple.mpegurl",
            format!("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=4000000\nsession/{id}/base/index.m3u8\n"),
        )
    };
    sim.charge(0, 0).await;
    axum::response::IntoResponse::into_response((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, ctype)],
        body,
    ))
}
