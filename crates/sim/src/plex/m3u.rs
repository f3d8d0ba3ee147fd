//! `POST /playlists/upload?sectionID=&path=`: a playlist made from an `.m3u` file on the
//! server's disk, as Plex imports them: each line that is not a comment names a media file;
//! the tracks of the music section with those files, in that order, make an audio playlist
//! titled after the file, whose `guid` ends with the file's path. A file that cannot be read,
//! or names no track of the section, is a 400; only music sections take playlist files.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{Ctx, plex_error};
use crate::Sim;
use crate::library::{ItemKind, SectionKind};
use crate::state::PlaylistKind;

/// Upper bound of a playlist file read (a guard against reading a huge file by mistake).
const MAX_FILE_BYTES: u64 = 4 << 20;

pub(crate) async fn upload(State(sim): State<Sim>, ctx: Ctx) -> Response {
    match import(&sim, &ctx) {
        Ok(id) => {
            sim.playlist_changed(ctx.user.id, id);
            sim.charge(0, 0).await;
            super::empty(&ctx)
        }
        Err(status) => plex_error(status),
    }
}

fn import(sim: &Sim, ctx: &Ctx) -> Result<u32, StatusCode> {
    let section: u32 = ctx
        .q("sectionID")
        .and_then(|s| s.parse().ok())
        .ok_or(StatusCode::BAD_REQUEST)?;
    let path = ctx
        .q("path")
        .filter(|p| !p.is_empty())
        .ok_or(StatusCode::BAD_REQUEST)?
        .to_string();
    let text = read_limited(&path).ok_or(StatusCode::BAD_REQUEST)?;
    let wanted: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let items = {
        let lib = sim.library();
        let s = lib
            .section(section)
            .filter(|s| s.kind == SectionKind::Music && ctx.user.can_see_section(s.id))
            .ok_or(StatusCode::BAD_REQUEST)?;
        let tracks = s.items(ItemKind::Track);
        let mut items = Vec::new();
        for file in wanted {
            if let Some(&t) = tracks
                .iter()
                .find(|&&t| lib.item(t).is_some_and(|i| i.file_path() == file))
            {
                items.push(t);
            }
        }
        items
    };
    if items.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    let title = std::path::Path::new(&path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("Playlist")
        .to_string();
    let now = sim.now();
    let mut state = sim.state();
    let id = state.create_playlist(ctx.user.id, &title, PlaylistKind::Audio, false, &items, now);
    state
        .update_playlist(ctx.user.id, id, now, |p| p.source = Some(path))
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(id)
}

fn read_limited(path: &str) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES).read_to_string(&mut text).ok()?;
    Some(text)
}
