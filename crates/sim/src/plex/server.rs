//! Server administration as Plex answers it: butler tasks (`/butler`), metadata agents
//! (`/system/agents`, `/:/plugins/{agent}/prefs`), the server's accounts (`/accounts`) and
//! devices (`/devices`), and the file browser (`/services/browse/{base64 path}`) over the
//! folders and files of the library.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Ctx, plex_error, reply};
use crate::Sim;
use cachearr_serverfmt::tree::El;

/// (name, title, description, interval in days) of the butler's tasks.
const BUTLER_TASKS: &[(&str, &str, &str, u32)] = &[
    (
        "BackupDatabase",
        "Backup Database",
        "Create a backup copy of the server's database in the configured backup directory",
        3,
    ),
    (
        "CleanOldBundles",
        "Remove Old Bundles",
        "Remove old bundles that are no longer in use",
        7,
    ),
    (
        "CleanOldCacheFiles",
        "Remove Old Cache Files",
        "Remove old cache files that are no longer in use",
        7,
    ),
    (
        "DeepMediaAnalysis",
        "Perform extensive media analysis",
        "Perform extensive analysis on media files to improve streaming quality",
        1,
    ),
    (
        "GenerateChapterThumbs",
        "Generate chapter thumbnails",
        "Generate chapter thumbnails for media",
        1,
    ),
    (
        "OptimizeDatabase",
        "Optimize Database",
        "Optimize the server's database to improve performance",
        7,
    ),
    (
        "RefreshLibraries",
        "Refresh Libraries",
        "Scan libraries for new or changed media",
        1,
    ),
    (
        "RefreshLocalMedia",
        "Refresh Local Metadata",
        "Refresh metadata from files stored next to the media",
        3,
    ),
    (
        "RefreshPeriodicMetadata",
        "Refresh Metadata Periodically",
        "Refresh metadata periodically",
        1,
    ),
];

/// `GET /butler`: the scheduled maintenance tasks (root element `ButlerTasks`, as on Plex).
pub(crate) async fn butler(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let mut doc = El::new("ButlerTasks");
    for &(name, title, description, interval) in BUTLER_TASKS {
        doc = doc.kid(
            El::new("ButlerTask")
                .a("name", name)
                .a("interval", interval)
                .a("scheduleRandomized", false)
                .a("enabled", true)
                .a("title", title)
                .a("description", description),
        );
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `POST /butler/{task}`: runs a task now (the simulator has nothing to maintain); 404 for a
/// task Plex does not have.
pub(crate) async fn run_butler(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(task): Path<String>,
) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    if !BUTLER_TASKS.iter().any(|t| t.0 == task) {
        return plex_error(StatusCode::NOT_FOUND);
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}

/// (identifier, name, media types as (number, name)) of one metadata agent.
type AgentInfo = (&'static str, &'static str, &'static [(u32, &'static str)]);

/// The metadata agents: the legacy agents first, then the current ones, as Plex lists them.
const AGENTS: &[AgentInfo] = &[
    (
        "com.plexapp.agents.none",
        "Personal Media",
        &[(1, "movie"), (2, "show"), (8, "artist"), (9, "album")],
    ),
    (
        "com.plexapp.agents.imdb",
        "Plex Movie (Legacy)",
        &[(1, "movie")],
    ),
    (
        "com.plexapp.agents.themoviedb",
        "The Movie Database",
        &[(1, "movie"), (2, "show")],
    ),
    ("com.plexapp.agents.thetvdb", "TheTVDB", &[(2, "show")]),
    (
        "com.plexapp.agents.lastfm",
        "Last.fm",
        &[(8, "artist"), (9, "album")],
    ),
    ("tv.plex.agents.movie", "Plex Movie", &[(1, "movie")]),
    ("tv.plex.agents.series", "Plex TV Series", &[(2, "show")]),
    (
        "tv.plex.agents.music",
        "Plex Music",
        &[(8, "artist"), (9, "album")],
    ),
];

/// `GET /system/agents[?mediaType=N]`: the metadata agents (for one media type: with their
/// languages, as plexapi reads them).
pub(crate) async fn agents(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let media_type: Option<u32> = ctx.q("mediaType").and_then(|t| t.parse().ok());
    let mut doc = El::container();
    for &(identifier, name, types) in AGENTS {
        let mut agent = El::new("Agent")
            .a(
                "hasAttribution",
                identifier.starts_with("com.plexapp.agents.imdb"),
            )
            .a("hasPrefs", identifier != "com.plexapp.agents.none")
            .a("identifier", identifier)
            .a("primary", true)
            .a("name", name);
        match media_type {
            Some(t) => {
                if !types.iter().any(|&(mt, _)| mt == t) {
                    continue;
                }
                agent = agent.kid(El::new("Language").a("code", "en"));
            }
            None => {
                for &(mt, mname) in types {
                    agent = agent.kid(
                        El::new("MediaType")
                            .a("mediaType", mt)
                            .a("name", mname)
                            .kid(El::new("Language").a("code", "en")),
                    );
                }
            }
        }
        doc = doc.kid(agent);
    }
    let n = doc.kids.len();
    doc = doc.a("size", n);
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `GET /:/plugins/{agent}/prefs`: an agent's settings.
pub(crate) async fn agent_prefs(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(agent): Path<String>,
) -> Response {
    if !AGENTS.iter().any(|a| a.0 == agent) {
        return plex_error(StatusCode::NOT_FOUND);
    }
    let doc = El::container()
        .a("size", 2u32)
        .kid(
            El::new("Setting")
                .a("id", "country")
                .a("label", "Country")
                .a("default", "0")
                .a("summary", "")
                .a("type", "enum")
                .a("value", "0")
                .a("hidden", false)
                .a("advanced", false)
                .a("group", "")
                .a(
                    "enumValues",
                    "0:United States|1:United Kingdom|2:Germany|3:France",
                ),
        )
        .kid(
            El::new("Setting")
                .a("id", "only_trailers")
                .a("label", "Only show trailers")
                .a("default", "false")
                .a("summary", "")
                .a("type", "bool")
                .a("value", "false")
                .a("hidden", false)
                .a("advanced", false)
                .a("group", ""),
        );
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `GET /accounts`: the server's accounts (the system account 0, then each user).
pub(crate) async fn accounts(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let users: Vec<(u32, String)> = sim
        .state()
        .users()
        .iter()
        .map(|u| (u.id, u.name.clone()))
        .collect();
    let mut doc = El::container().a("size", users.len() + 1);
    let account = |id: u32, name: &str| {
        El::new("Account")
            .a("id", id)
            .a("key", format!("/accounts/{id}"))
            .a("name", name)
            .a("defaultAudioLanguage", "en")
            .a("autoSelectAudio", true)
            .a("defaultSubtitleLanguage", "en")
            .a("subtitleMode", 0u32)
            .a("thumb", "")
    };
    doc = doc.kid(account(0, ""));
    for (id, name) in &users {
        doc = doc.kid(account(*id, name));
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `GET /devices`: the devices that have talked to the server.
pub(crate) async fn devices(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let created = sim
        .library()
        .sections()
        .iter()
        .map(|s| s.created_at)
        .min()
        .unwrap_or(0);
    let doc = El::container()
        .a("size", 2u32)
        .kid(
            El::new("Device")
                .a("id", 1u32)
                .a("name", "")
                .a("platform", "")
                .a("clientIdentifier", "")
                .a("createdAt", created),
        )
        .kid(
            El::new("Device")
                .a("id", 2u32)
                .a("name", "Plex Web")
                .a("platform", "Chrome")
                .a("clientIdentifier", "plex-web-simulated")
                .a("createdAt", created),
        );
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// Maintenance the owner can start (`PUT /library/clean/bundles`, `/library/optimize`,
/// `/library/sections/{id}/emptyTrash|analyze`, `DELETE …/indexes`, `DELETE …/refresh`): the
/// simulator keeps nothing to clean, so each is accepted and done at once.
pub(crate) async fn maintenance(State(sim): State<Sim>, ctx: Ctx) -> Response {
    done_at_once(&sim, &ctx, true).await
}

/// The same for a section's maintenance: 404 for a section the owner does not have.
pub(crate) async fn section_maintenance(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let known = id == "all"
        || id
            .parse::<u32>()
            .ok()
            .is_some_and(|s| sim.library().section(s).is_some());
    done_at_once(&sim, &ctx, known).await
}

/// `PUT /library/metadata/{id}/refresh|analyze`: the simulator's metadata and media analysis
/// are always current, so each is done at once; 404 for an item the owner does not have.
pub(crate) async fn item_maintenance(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let known = id
        .parse::<crate::library::ItemId>()
        .ok()
        .is_some_and(|i| sim.library().item(i).is_some());
    done_at_once(&sim, &ctx, known).await
}

/// The answer to maintenance that needs nothing done: 401 for anyone but the owner, 404 when
/// what it names does not exist (`known`), else an empty container.
async fn done_at_once(sim: &Sim, ctx: &Ctx, known: bool) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    if !known {
        return plex_error(StatusCode::NOT_FOUND);
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}

/// `GET /media/providers[?includeStorage=1]`: the library's media provider, its content
/// feature listing each section (with the total duration and size of its media when storage is
/// asked for, as python-plexapi's `totalDuration`/`totalStorage` read them).
pub(crate) async fn media_providers(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let storage = ctx.flag("includeStorage");
    let id = sim.identity();
    let mut content = El::new("Feature")
        .a("key", "/library/sections")
        .a("type", "content");
    {
        let lib = sim.library();
        for s in lib
            .sections()
            .iter()
            .filter(|s| ctx.user.can_see_section(s.id))
        {
            let mut dir = El::new("Directory")
                .a("id", s.id)
                .a("key", format!("/library/sections/{}", s.id))
                .a("title", s.title.as_str())
                .a("type", s.kind.plex_type())
                .a("uuid", s.uuid.as_str())
                .a("updatedAt", s.updated_at);
            if storage {
                let (mut duration, mut size) = (0u64, 0u64);
                for kind in s.kind.kinds().iter().filter(|k| k.is_playable()) {
                    for &i in s.items(*kind) {
                        if let Some(item) = lib.item(i) {
                            duration += u64::from(item.duration_ms());
                            size += item.file_size();
                        }
                    }
                }
                dir = dir.a("durationTotal", duration).a("storageTotal", size);
            }
            dir = dir.kid(
                El::new("Pivot")
                    .a("id", "library")
                    .a("key", format!("/library/sections/{}/all", s.id))
                    .a("type", "list")
                    .a("title", "Library")
                    .a("context", "content.library")
                    .a("symbol", "library"),
            );
            content = content.kid(dir);
        }
    }
    let provider = El::new("MediaProvider")
        .a("identifier", "com.plexapp.plugins.library")
        .a("title", "Library")
        .a("types", "video,audio,photo")
        .a("protocols", "stream,download")
        .kid(
            El::new("Feature")
                .a("key", "/hubs/search")
                .a("type", "search"),
        )
        .kid(content)
        .kid(
            El::new("Feature")
                .a("key", "/playlists")
                .a("type", "playlist"),
        );
    let doc = El::container()
        .a("size", 1u32)
        .a("machineIdentifier", id.machine_identifier.as_str())
        .kid(provider);
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip archive of `files`, stored without compression.
fn zip_stored(files: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, body) in files {
        let crc = crc32(body.as_bytes());
        let offset = out.len() as u32;
        let size = body.len() as u32;
        let name_len = name.len() as u16;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body.as_bytes());
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    let central_len = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

async fn diagnostics(sim: Sim, ctx: Ctx, what: &str, files: Vec<(&str, String)>) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    sim.charge(0, 0).await;
    let body = zip_stored(&files);
    let name = format!("attachment; filename=\"Plex Media Server {what}.zip\"");
    let mut resp = axum::response::IntoResponse::into_response((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/zip")],
        body,
    ));
    if let Ok(v) = axum::http::HeaderValue::from_str(&name) {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /diagnostics/logs`: the server's logs as a zip.
pub(crate) async fn diagnostics_logs(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let version = sim.identity().plex_version.clone();
    let files = vec![
        (
            "Plex Media Server.log",
            format!("Plex Media Server v{version} - simulated\n"),
        ),
        ("Plex Media Scanner.log", "Scanner idle\n".to_string()),
    ];
    diagnostics(sim, ctx, "Logs", files).await
}

/// `GET /diagnostics/databases`: the server's databases as a zip.
pub(crate) async fn diagnostics_databases(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let items = sim.library().len();
    let files = vec![
        (
            "com.plexapp.plugins.library.db",
            format!("simulated library of {items} items\n"),
        ),
        ("com.plexapp.plugins.library.blobs.db", String::new()),
    ];
    diagnostics(sim, ctx, "Databases", files).await
}

/// `PUT /updater/check`: looks for a newer release (the simulator is always current).
pub(crate) async fn updater_check(State(sim): State<Sim>, ctx: Ctx) -> Response {
    sim.charge(0, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}

/// `GET /updater/status`: no release waiting.
pub(crate) async fn updater_status(State(sim): State<Sim>, ctx: Ctx) -> Response {
    sim.charge(0, 0).await;
    reply(
        ctx.json,
        &El::container()
            .a("size", 0u32)
            .a("canInstall", false)
            .a("checkedAt", crate::now_secs())
            .a("downloadURL", "")
            .a("status", 0u32),
    )
}

/// `GET /clients`: the players the server knows on the network (none reach a simulator).
pub(crate) async fn clients(State(sim): State<Sim>, ctx: Ctx) -> Response {
    sim.charge(0, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (how Plex names browse paths).
fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard or URL-safe base64, padded or not.
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn browse_key(path: &str) -> String {
    format!("/services/browse/{}", b64_encode(path.as_bytes()))
}

async fn browse_at(sim: Sim, ctx: Ctx, path: Option<String>) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let include_files = ctx.q("includeFiles") != Some("0");
    let (dirs, files) = {
        let lib = sim.library();
        // Every folder and file the library's media live in.
        let mut all_files: BTreeSet<String> = BTreeSet::new();
        let mut all_dirs: BTreeSet<String> = BTreeSet::new();
        for s in lib.sections() {
            all_dirs.insert(s.location.trim_end_matches('/').to_string());
            for kind in s.kind.kinds() {
                for &id in s.items(*kind) {
                    if let Some(item) = lib.item(id).filter(|i| i.kind().is_playable()) {
                        all_files.insert(item.file_path().to_string());
                    }
                }
            }
        }
        for f in &all_files {
            let mut p = f.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                if parent.is_empty() {
                    break;
                }
                all_dirs.insert(parent.to_string());
                p = parent;
            }
        }
        let mut extra = Vec::new();
        for d in &all_dirs {
            let mut p = d.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                if parent.is_empty() {
                    break;
                }
                extra.push(parent.to_string());
                p = parent;
            }
        }
        all_dirs.extend(extra);
        let under = |p: &str| -> Option<String> {
            let (parent, _) = p.rsplit_once('/')?;
            let parent = if parent.is_empty() { "/" } else { parent };
            match &path {
                None => (parent == "/").then(|| p.to_string()),
                Some(want) => (parent == want.trim_end_matches('/')).then(|| p.to_string()),
            }
        };
        if let Some(want) = &path
            && !all_dirs.contains(want.trim_end_matches('/'))
        {
            return plex_error(StatusCode::NOT_FOUND);
        }
        let dirs: Vec<String> = all_dirs.iter().filter_map(|d| under(d)).collect();
        let files: Vec<String> = if include_files {
            all_files.iter().filter_map(|f| under(f)).collect()
        } else {
            Vec::new()
        };
        (dirs, files)
    };
    let title = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let mut doc = El::container()
        .a("size", dirs.len() + files.len())
        .a("identifier", "com.plexapp.system");
    if let Some(p) = &path {
        doc = doc.a("path", p.as_str());
    }
    for d in &dirs {
        doc = doc.kid(
            El::new("Path")
                .a("key", browse_key(d))
                .a("path", d.as_str())
                .a("title", title(d)),
        );
    }
    for f in &files {
        doc = doc.kid(
            El::new("File")
                .a("key", browse_key(f))
                .a("path", f.as_str())
                .a("title", title(f)),
        );
    }
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /services/browse`: the top folders.
pub(crate) async fn browse_root(State(sim): State<Sim>, ctx: Ctx) -> Response {
    browse_at(sim, ctx, None).await
}

/// `GET /services/browse/{base64 path}`: a folder's folders and files.
pub(crate) async fn browse(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(encoded): Path<String>,
) -> Response {
    let Some(path) = b64_decode(&encoded).and_then(|b| String::from_utf8(b).ok()) else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    browse_at(sim, ctx, Some(path)).await
}

/// `GET /myplex/account`: the plex.tv account the server is signed in to (the owner's), and
/// how plex.tv reaches it. Port and address are the ones the request came to.
pub(crate) async fn myplex_account(
    State(sim): State<Sim>,
    headers: axum::http::HeaderMap,
    ctx: Ctx,
) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let claimed = !sim.objects().unclaimed;
    sim.charge(0, 0).await;
    reply(ctx.json, &myplex_el(&headers, &ctx, claimed))
}

/// `DELETE /myplex/account` (python-plexapi's `unclaim`): the server signs out of plex.tv
/// and answers its account as it now stands, signed out.
pub(crate) async fn unclaim(
    State(sim): State<Sim>,
    headers: axum::http::HeaderMap,
    ctx: Ctx,
) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    sim.objects().unclaimed = true;
    sim.charge(0, 0).await;
    reply(ctx.json, &myplex_el(&headers, &ctx, false))
}

/// `POST /myplex/claim?token=claim-…` (python-plexapi's `claim`): the server signs in to
/// plex.tv again with a claim token plex.tv gave its owner (`/api/claim/token.json`); any
/// other token is refused (400) and changes nothing.
pub(crate) async fn claim(
    State(sim): State<Sim>,
    headers: axum::http::HeaderMap,
    ctx: Ctx,
) -> Response {
    if !ctx.user.is_owner {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let expected = format!("claim-{}", sim.plextv().account_uuid(&ctx.user));
    if ctx.q("token") != Some(expected.as_str()) {
        return plex_error(StatusCode::BAD_REQUEST);
    }
    sim.objects().unclaimed = false;
    sim.charge(0, 0).await;
    reply(ctx.json, &myplex_el(&headers, &ctx, true))
}

/// The server's plex.tv account (`MyPlex`): signed in as the owner, a Plex Pass account, or
/// signed out after `unclaim`.
fn myplex_el(headers: &axum::http::HeaderMap, ctx: &Ctx, claimed: bool) -> El {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:32400");
    let (address, port) = host.rsplit_once(':').unwrap_or((host, "32400"));
    if !claimed {
        return El::new("MyPlex")
            .a("authToken", "")
            .a("username", "")
            .a("mappingState", "unknown")
            .a("signInState", "none")
            .a("publicAddress", "")
            .a("publicPort", 0u32)
            .a("privateAddress", "")
            .a("privatePort", 0u32)
            .a("subscriptionFeatures", "")
            .a("subscriptionActive", false)
            .a("subscriptionState", "Unknown");
    }
    El::new("MyPlex")
        .a("authToken", ctx.user.plex_token.as_str())
        .a("username", crate::plextv::PlexTv::email(&ctx.user))
        .a("mappingState", "mapped")
        .a("signInState", "ok")
        .a("publicAddress", address)
        .a("publicPort", port)
        .a("privateAddress", address)
        .a("privatePort", port)
        .a(
            "subscriptionFeatures",
            "sync,premium_music_metadata,webhooks",
        )
        .a("subscriptionActive", true)
        .a("subscriptionState", "Active")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_zip_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn base64_round_trips_paths_of_every_length() {
        for p in [
            "/",
            "/d",
            "/da",
            "/data",
            "/data/Movies/Big Buck Bunny (2008).mkv",
        ] {
            let enc = b64_encode(p.as_bytes());
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(b64_decode(&enc).as_deref(), Some(p.as_bytes()));
        }
        assert_eq!(b64_encode(b"/data"), "L2RhdGE=");
    }
}
