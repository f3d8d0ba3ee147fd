//! Read endpoints: identity, root, sections, listings with filters/sorts/paging, metadata,
//! children.

use std::cmp::Ordering;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::metadata::{RenderOpts, item_el};
use super::{Ctx, plex_error, reply, reply_paged, window};
use crate::Sim;
use crate::library::{Item, ItemId, ItemKind, Library, Section, fold_into};
use crate::state::State as UserState;
use cachearr_serverfmt::plex::El;

pub(crate) async fn identity(State(sim): State<Sim>, headers: axum::http::HeaderMap) -> Response {
    let id = sim.identity();
    let doc = El::container()
        .a("size", 0u32)
        .a("apiVersion", "1.1.1")
        .a("claimed", true)
        .a("machineIdentifier", id.machine_identifier.as_str())
        .a("version", id.plex_version.as_str());
    sim.charge(0, 0).await;
    reply(super::wants_json(&headers), &doc)
}

pub(crate) async fn root(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let id = sim.identity();
    let doc = El::container()
        .a("size", 0u32)
        .a("allowCameraUpload", false)
        .a("allowChannelAccess", true)
        .a("allowSharing", true)
        .a("allowSync", false)
        .a("apiVersion", "1.1.1")
        .a("backgroundProcessing", true)
        .a("certificate", false)
        .a("companionProxy", true)
        .a("countryCode", "usa")
        .a("diagnostics", "logs,databases")
        .a("eventStream", true)
        .a("friendlyName", id.friendly_name.as_str())
        .a("livetv", 0u32)
        .a("machineIdentifier", id.machine_identifier.as_str())
        .a("musicAnalysis", 2u32)
        .a("myPlex", false)
        .a("myPlexMappingState", "unknown")
        .a("myPlexSigninState", "none")
        .a("myPlexSubscription", false)
        .a("myPlexUsername", "")
        .a("offlineTranscode", 1u32)
        .a("ownerFeatures", "")
        .a("platform", "Linux")
        .a("platformVersion", "6.1")
        .a("pluginHost", true)
        .a("pushNotifications", false)
        .a("readOnlyLibraries", false)
        .a("streamingBrainABRVersion", 3u32)
        .a("streamingBrainVersion", 2u32)
        .a("sync", false)
        .a("transcoderActiveVideoSessions", 0u32)
        .a("transcoderAudio", true)
        .a("transcoderLyrics", true)
        .a("transcoderPhoto", true)
        .a("transcoderSubtitles", true)
        .a("transcoderVideo", true)
        .a(
            "updatedAt",
            sim.library()
                .sections()
                .iter()
                .map(|s| s.updated_at)
                .max()
                .unwrap_or(0),
        )
        .a("updater", false)
        .a("version", id.plex_version.as_str())
        .a("voiceSearch", true)
        .kid(
            El::new("Directory")
                .a("count", 1u32)
                .a("key", "library")
                .a("title", "library"),
        )
        .kid(
            El::new("Directory")
                .a("count", 1u32)
                .a("key", "playlists")
                .a("title", "playlists"),
        );
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

pub(crate) async fn library_root(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let doc = El::container()
        .a("size", 3u32)
        .a("allowSync", false)
        .a("art", "/:/resources/library-art.png")
        .a("content", "")
        .a("identifier", "com.plexapp.plugins.library")
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mediaTagVersion", 1_700_000_000u32)
        .a("title1", "Plex Library")
        .a("title2", "")
        .kid(
            El::new("Directory")
                .a("key", "sections")
                .a("title", "Library Sections"),
        )
        .kid(
            El::new("Directory")
                .a("key", "recentlyAdded")
                .a("title", "Recently Added Content"),
        )
        .kid(
            El::new("Directory")
                .a("key", "onDeck")
                .a("title", "On Deck Content"),
        );
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

fn section_el(s: &Section, scanning: bool) -> El {
    let (agent, scanner) = match s.kind {
        crate::library::SectionKind::Music => ("tv.plex.agents.music", "Plex Music"),
        crate::library::SectionKind::Movies => ("tv.plex.agents.movie", "Plex Movie"),
        crate::library::SectionKind::Shows => ("tv.plex.agents.series", "Plex TV Series"),
        crate::library::SectionKind::Photos => ("com.plexapp.agents.none", "Plex Photo Scanner"),
    };
    El::new("Directory")
        .a("allowSync", true)
        .a(
            "art",
            format!("/:/resources/{}-fanart.jpg", s.kind.plex_type()),
        )
        .a(
            "composite",
            format!("/library/sections/{}/composite/{}", s.id, s.updated_at),
        )
        .a("filters", true)
        .a("refreshing", scanning)
        .a("thumb", format!("/:/resources/{}.png", s.kind.plex_type()))
        .a("key", s.id.to_string())
        .a("type", s.kind.plex_type())
        .a("title", s.title.as_str())
        .a("agent", agent)
        .a("scanner", scanner)
        .a("language", "en-US")
        .a("uuid", s.uuid.as_str())
        .a("updatedAt", s.updated_at)
        .a("createdAt", s.created_at)
        .a("scannedAt", s.scanned_at)
        .a("content", true)
        .a("directory", true)
        .a("contentChangedAt", s.updated_at)
        .a("hidden", false)
        .kid(
            El::new("Location")
                .a("id", s.id)
                .a("path", s.location.as_str()),
        )
}

pub(crate) async fn sections(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let doc = {
        let lib = sim.library();
        let scanning = sim.state().scanning_sections();
        let visible: Vec<&Section> = lib
            .sections()
            .iter()
            .filter(|s| ctx.user.can_see_section(s.id))
            .collect();
        let mut doc = El::container()
            .a("size", visible.len())
            .a("allowSync", false)
            .a("title1", "Plex Library");
        for s in visible {
            doc = doc.kid(section_el(s, scanning.contains(&s.id)));
        }
        doc
    };
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// A section the user may see, or the 404 Plex gives.
fn visible_section<'a>(lib: &'a Library, ctx: &Ctx, id: &str) -> Result<&'a Section, StatusCode> {
    let id: u32 = id.parse().map_err(|_| StatusCode::NOT_FOUND)?;
    lib.section(id)
        .filter(|s| ctx.user.can_see_section(s.id))
        .ok_or(StatusCode::NOT_FOUND)
}

pub(crate) async fn section(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let doc = {
        let lib = sim.library();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        let mut doc = El::container()
            .a("size", 2u32)
            .a("allowSync", false)
            .a(
                "art",
                format!("/:/resources/{}-fanart.jpg", s.kind.plex_type()),
            )
            .a("content", "secondary")
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", s.id)
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("title1", s.title.as_str())
            .a("viewGroup", "secondary");
        for (key, title) in [("all", "All"), ("recentlyAdded", "Recently Added")] {
            doc = doc.kid(El::new("Directory").a("key", key).a("title", title));
        }
        doc
    };
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// Parameters that are not filters (client identity, includes, paging…).
fn is_control_param(k: &str) -> bool {
    k.starts_with("X-Plex-")
        || k.starts_with("include")
        || k.starts_with("exclude")
        || matches!(
            k,
            "type"
                | "sort"
                | "limit"
                | "checkFiles"
                | "asyncCheckFiles"
                | "skipRefresh"
                | "query"
                | "sectionId"
                | "contentDirectoryID"
                | "pinnedContentDirectoryID"
                | "group"
                | "asyncAugmentMetadata"
                | "asyncRefreshLocalMediaAgent"
                | "asyncRefreshAnalysis"
                | "augmentCount"
                | "ratingKey"
                | "key"
                | "uri"
                | "title2"
                | "clusterZoomLevel"
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Strings: contains; numbers: equal.
    Plain,
    /// Strings: is; numbers: equal.
    Is,
    /// Strings: does not contain; numbers: not equal.
    Not,
    /// Strings: is not.
    IsNot,
    /// Strings: begins with; numbers: at most.
    Le,
    /// Strings: ends with; numbers: at least.
    Ge,
    /// Greater than / after.
    Gt,
    /// Less than / before.
    Lt,
}

/// Splits Plex's filter syntax. The operator is the end of the (decoded) key, as
/// python-plexapi sends it (`track.title=` is "is", `year>>` is "greater than"), or, as
/// typed by hand, the start of the value (`title==x` arrives as key `title`, value `=x`).
fn parse_filter(key: &str, value: &str) -> (String, Op, String) {
    for (suffix, op) in [
        (">>", Op::Gt),
        ("<<", Op::Lt),
        ("!=", Op::IsNot),
        ("!", Op::Not),
        ("=", Op::Is),
        ("<", Op::Le),
        (">", Op::Ge),
    ] {
        if let Some(f) = key.strip_suffix(suffix) {
            return (f.to_string(), op, value.to_string());
        }
    }
    if let Some(v) = value.strip_prefix('=') {
        return (key.to_string(), Op::Is, v.to_string());
    }
    (key.to_string(), Op::Plain, value.to_string())
}

struct Filter {
    prefix: Option<ItemKind>,
    field: String,
    op: Op,
    value: String,
    folded: String,
    number: Option<i64>,
}

/// The item a prefixed field talks about: `album.title` of a track is its album's title;
/// `track.title` of a track its own.
fn subject<'a>(item: &Item<'a>, prefix: Option<ItemKind>) -> Option<Item<'a>> {
    let Some(kind) = prefix else {
        return Some(*item);
    };
    let mut cur = Some(*item);
    while let Some(i) = cur {
        if i.kind() == kind {
            return Some(i);
        }
        cur = i.parent();
    }
    None
}

fn split_field(raw: &str) -> (Option<ItemKind>, &str) {
    match raw.split_once('.') {
        Some((p, f)) => match ItemKind::from_plex_name(p) {
            Some(k) => (Some(k), f),
            None => (None, raw),
        },
        None => (None, raw),
    }
}

const TEXT_FIELDS: &[&str] = &["title", "originalTitle"];
const NUMERIC_FIELDS: &[&str] = &[
    "year",
    "addedAt",
    "updatedAt",
    "duration",
    "index",
    "viewCount",
    "lastViewedAt",
    "userRating",
    "id",
    "ratingKey",
];

fn numeric_field(item: &Item<'_>, state: &UserState, user: u32, field: &str) -> Option<i64> {
    Some(match field {
        "year" => i64::from(item.year()),
        "addedAt" => i64::from(item.added_at()),
        "updatedAt" => i64::from(item.updated_at()),
        "duration" => i64::from(item.duration_ms()),
        "index" => i64::from(item.index()),
        "viewCount" => i64::from(state.play_state(user, item.id()).view_count),
        "lastViewedAt" => i64::from(state.play_state(user, item.id()).last_viewed_at),
        "userRating" => state
            .play_state(user, item.id())
            .rating
            .map(|r| r as i64)
            .unwrap_or(0),
        "id" | "ratingKey" => i64::from(item.id()),
        _ => return None,
    })
}

fn matches(f: &Filter, item: &Item<'_>, state: &UserState, user: u32, buf: &mut String) -> bool {
    let Some(target) = subject(item, f.prefix) else {
        return false;
    };
    if f.field == "unwatched" {
        let unwatched = if target.kind().is_playable() {
            state.play_state(user, target.id()).view_count == 0
        } else {
            target.children().is_empty() || lib_leaves_unwatched(&target, state, user)
        };
        let want = matches!(f.value.as_str(), "1" | "true");
        return (unwatched == want) != matches!(f.op, Op::Not | Op::IsNot);
    }
    if f.field == "guid" {
        let hit = f
            .value
            .split(',')
            .any(|want| target.plex_guid() == want || target.guids().iter().any(|g| g == want));
        return hit != matches!(f.op, Op::Not | Op::IsNot);
    }
    if let Some(el) = super::editing::element_of(&f.field) {
        let have = super::editing::tags(&target, el);
        let hit = f.value.split(',').any(|want| {
            let want_folded = crate::library::fold(want);
            have.iter().any(|t| {
                super::editing::tag_id(el, t).to_string() == want
                    || crate::library::fold(t) == want_folded
            })
        });
        return hit != matches!(f.op, Op::Not | Op::IsNot);
    }
    if TEXT_FIELDS.contains(&f.field.as_str()) {
        let text = match f.field.as_str() {
            "title" => target.title(),
            _ => target.original_title().unwrap_or(""),
        };
        fold_into(text, buf);
        let any = |pred: &dyn Fn(&str) -> bool| f.folded.split(',').any(pred);
        return match f.op {
            Op::Plain => any(&|alt| buf.contains(alt)),
            Op::Is => any(&|alt| *buf == alt),
            Op::Not => !any(&|alt| buf.contains(alt)),
            Op::IsNot => !any(&|alt| *buf == alt),
            Op::Le => any(&|alt| buf.starts_with(alt)),
            Op::Ge => any(&|alt| buf.ends_with(alt)),
            Op::Gt => buf.as_str() > f.folded.as_str(),
            Op::Lt => buf.as_str() < f.folded.as_str(),
        };
    }
    let (Some(have), Some(want)) = (numeric_field(&target, state, user, &f.field), f.number) else {
        return false;
    };
    match f.op {
        Op::Plain | Op::Is => have == want,
        Op::Not | Op::IsNot => have != want,
        Op::Gt => have > want,
        Op::Lt => have < want,
        Op::Ge => have >= want,
        Op::Le => have <= want,
    }
}

fn lib_leaves_unwatched(item: &Item<'_>, state: &UserState, user: u32) -> bool {
    // A container is unplayed while any direct child is unplayed (cheap approximation).
    item.children()
        .iter()
        .any(|&c| state.play_state(user, c).view_count == 0)
}

/// A number, or a relative date (`-30d`, `-2w`, `-6mon`, `-1y`, `-12h`, `-5m`, `-30s`) as epoch
/// seconds.
fn parse_number(value: &str, now: u32) -> Option<i64> {
    if let Ok(n) = value.parse::<i64>() {
        return Some(n);
    }
    if let Ok(f) = value.parse::<f64>() {
        return Some(f as i64);
    }
    let rel = value.strip_prefix('-')?;
    let split = rel.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = rel.split_at(split);
    let n: i64 = n.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mon" => 30 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    Some(i64::from(now) - n * secs)
}

/// Builds the filters of a listing request, or the 400 Plex's QueryParser gives.
fn filters(ctx: &Ctx, music: bool, now: u32) -> Result<Vec<Filter>, StatusCode> {
    let mut out = Vec::new();
    for (k, v) in &ctx.query {
        if is_control_param(k) {
            continue;
        }
        let (raw_field, op, value) = parse_filter(k, v);
        // The QueryParser rejects these outright (research: Cmdarr changelog).
        if matches!(raw_field.as_str(), "grandparentTitle" | "parentTitle") {
            return Err(StatusCode::BAD_REQUEST);
        }
        let (prefix, field) = split_field(&raw_field);
        // For music, an addedAt range is silently ignored: the whole library comes back.
        if music && field == "addedAt" && matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) {
            continue;
        }
        let text = TEXT_FIELDS.contains(&field);
        let numeric = NUMERIC_FIELDS.contains(&field);
        let tag = super::editing::element_of(field).is_some() || field == "guid";
        if !text && !numeric && !tag && field != "unwatched" {
            // Unknown fields are ignored, as Plex ignores parameters it does not know.
            continue;
        }
        let number = if numeric {
            // Comma lists mean "any of"; numbers take the first.
            let first = value.split(',').next().unwrap_or("");
            Some(parse_number(first, now).ok_or(StatusCode::BAD_REQUEST)?)
        } else {
            None
        };
        let mut folded = String::new();
        fold_into(&value, &mut folded);
        out.push(Filter {
            prefix,
            field: field.to_string(),
            op,
            value,
            folded,
            number,
        });
    }
    Ok(out)
}

/// Sorts `ids` by a Plex `sort=` value (`[type.]field[:asc|:desc|:nullsLast]`,
/// comma-separated); 400 for an unknown field.
fn sort_ids(
    lib: &Library,
    state: &UserState,
    user: u32,
    ids: &mut [ItemId],
    sort: &str,
) -> Result<(), StatusCode> {
    let mut keys: Vec<(Option<ItemKind>, String, bool)> = Vec::new();
    for part in sort.split(',').filter(|p| !p.is_empty()) {
        let (field, desc) = match part.split_once(':') {
            Some((f, dir)) => (f, dir.eq_ignore_ascii_case("desc")),
            None => (part, false),
        };
        let (prefix, name) = split_field(field);
        let known = matches!(
            name,
            "titleSort"
                | "title"
                | "addedAt"
                | "updatedAt"
                | "year"
                | "duration"
                | "index"
                | "originallyAvailableAt"
                | "lastViewedAt"
                | "viewCount"
                | "userRating"
                | "id"
                | "ratingKey"
                | "random"
                | "guid"
                | "summary"
                | "tagline"
                | "absoluteIndex"
                | "originalTitle"
        );
        if !known {
            return Err(StatusCode::BAD_REQUEST);
        }
        keys.push((prefix, name.to_string(), desc));
    }
    enum K {
        T(String),
        N(i64),
    }
    let key_of = |item: &Item<'_>, prefix: Option<ItemKind>, name: &str| -> K {
        let Some(i) = subject(item, prefix) else {
            return K::N(i64::MIN);
        };
        match name {
            "titleSort" => K::T(crate::library::fold(i.title_sort())),
            "summary" => K::T(i.summary().to_string()),
            "tagline" => K::T(
                i.fields()
                    .and_then(|f| f.attrs.get("tagline"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
            ),
            "title" => K::T(crate::library::fold(i.title())),
            "originalTitle" => K::T(crate::library::fold(i.original_title().unwrap_or(""))),
            "originallyAvailableAt" => K::N(i64::from(i.year())),
            "userRating" => K::N(
                state
                    .play_state(user, i.id())
                    .rating
                    .map(|r| (r * 10.0) as i64)
                    .unwrap_or(-1),
            ),
            "random" => K::N(crate::rng::mix(u64::from(i.id())) as i64),
            "guid" => K::T(i.plex_guid()),
            "absoluteIndex" | "index" => K::N(i64::from(i.disc()) * 100_000 + i64::from(i.index())),
            f => K::N(numeric_field(&i, state, user, f).unwrap_or(0)),
        }
    };
    // Keys are computed once per item: sorting a million items must not refold titles
    // n·log n times.
    let mut decorated: Vec<(Vec<K>, ItemId)> = ids
        .iter()
        .map(|&id| {
            let ks = match lib.item(id) {
                Some(i) => keys.iter().map(|(p, n, _)| key_of(&i, *p, n)).collect(),
                None => Vec::new(),
            };
            (ks, id)
        })
        .collect();
    decorated.sort_by(|a, b| {
        for (n, (_, _, desc)) in keys.iter().enumerate() {
            let o = match (a.0.get(n), b.0.get(n)) {
                (Some(K::T(x)), Some(K::T(y))) => x.cmp(y),
                (Some(K::N(x)), Some(K::N(y))) => x.cmp(y),
                _ => Ordering::Equal,
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.1.cmp(&b.1)
    });
    for (slot, (_, id)) in ids.iter_mut().zip(decorated) {
        *slot = id;
    }
    Ok(())
}

/// The result of a listing: the ids after filtering and sorting, and how many were scanned.
pub(crate) struct Listing {
    pub(crate) ids: Vec<ItemId>,
    pub(crate) scanned: usize,
    /// `Some(total)` when `ids` already is the requested window of `total` items (plain
    /// listings copy only the page, not a million ids).
    pub(crate) windowed: Option<usize>,
}

impl Listing {
    pub(crate) fn new(ids: Vec<ItemId>, scanned: usize) -> Self {
        Self {
            ids,
            scanned,
            windowed: None,
        }
    }
}

/// Filters, sorts and limits `base` per the request (`title=`, `sort=`, `limit=`…).
pub(crate) fn list(
    lib: &Library,
    state: &UserState,
    ctx: &Ctx,
    base: &[ItemId],
    music: bool,
) -> Result<Listing, StatusCode> {
    // What the user's share filter hides is not there for them: not listed, not counted.
    let visible: Vec<ItemId>;
    let base = if ctx.user.plex_restricted() {
        visible = base
            .iter()
            .copied()
            .filter(|&id| lib.item(id).is_some_and(|i| ctx.user.plex_sees(&i)))
            .collect();
        visible.as_slice()
    } else {
        base
    };
    let filters = filters(ctx, music, crate::now_secs())?;
    let sort = ctx.q("sort").filter(|s| !s.is_empty());
    let limit = match ctx.q("limit") {
        None | Some("") => None,
        Some(l) => Some(l.parse::<usize>().map_err(|_| StatusCode::BAD_REQUEST)?),
    };
    if filters.is_empty() && sort.is_none() {
        // The natural order needs no work: copy just the page.
        let total = limit.map_or(base.len(), |l| l.min(base.len()));
        let (start, end) = window(ctx, total);
        return Ok(Listing {
            ids: base[start..end].to_vec(),
            scanned: 0,
            windowed: Some(total),
        });
    }
    let user = ctx.user.id;
    let mut buf = String::new();
    let mut ids: Vec<ItemId> = if filters.is_empty() {
        base.to_vec()
    } else {
        base.iter()
            .copied()
            .filter(|&id| {
                lib.item(id).is_some_and(|i| {
                    filters
                        .iter()
                        .all(|f| matches(f, &i, state, user, &mut buf))
                })
            })
            .collect()
    };
    let mut scanned = if filters.is_empty() { 0 } else { base.len() };
    if let Some(sort) = sort {
        sort_ids(lib, state, user, &mut ids, sort)?;
        scanned = scanned.max(ids.len());
    }
    if let Some(n) = limit {
        ids.truncate(n);
    }
    Ok(Listing::new(ids, scanned))
}

/// Renders a page of `ids` into `doc` (with `size`, and `totalSize`/`offset` when paged) and
/// charges the work.
pub(crate) async fn page_reply(
    sim: &Sim,
    ctx: &Ctx,
    mut doc: El,
    listing: Listing,
    opts: RenderOpts,
) -> Response {
    let (total, start, end) = match listing.windowed {
        Some(total) => (total, ctx.start.unwrap_or(0).min(total), listing.ids.len()),
        None => {
            let total = listing.ids.len();
            let (start, end) = window(ctx, total);
            (total, start, end)
        }
    };
    let page: &[ItemId] = match listing.windowed {
        Some(_) => &listing.ids,
        None => &listing.ids[start..end],
    };
    let paged = ctx.start.is_some() || ctx.size.is_some();
    let page: Vec<ItemId> = {
        let lib = sim.library();
        page.iter()
            .copied()
            .filter(|&id| lib.item(id).is_some())
            .collect()
    };
    let returned = page.len();
    doc.attrs.insert(0, ("size", returned.into()));
    if paged {
        doc.attrs.insert(1, ("totalSize", total.into()));
        doc.attrs.insert(2, ("offset", start.into()));
    }
    // A count needs the server to look at every candidate; listing the whole set likewise.
    sim.charge(
        listing.scanned.max(if paged { 0 } else { total }) as u64,
        returned as u64,
    )
    .await;
    let paging = paged.then_some((start, total));
    if returned > super::STREAM_AFTER {
        // Large answers (unpaged dumps) are rendered and sent in chunks, so a million-track
        // dump never sits in memory as one document.
        let body = super::stream_items(sim.clone(), ctx.json, doc, page, ctx.user.id, opts);
        return super::finish(ctx.json, body, paging);
    }
    {
        let lib = sim.library();
        let state = sim.state();
        for &id in &page {
            if let Some(item) = lib.item(id) {
                doc.kids
                    .push(item_el(&lib, &state, ctx.user.id, &item, opts));
            }
        }
    }
    match paging {
        Some((start, total)) => reply_paged(ctx.json, &doc, start, total),
        None => reply(ctx.json, &doc),
    }
}

fn listing_container(s: &Section, title2: &str, kind: ItemKind) -> El {
    El::container()
        .a("allowSync", true)
        .a(
            "art",
            format!("/:/resources/{}-fanart.jpg", s.kind.plex_type()),
        )
        .a("identifier", "com.plexapp.plugins.library")
        .a("librarySectionID", s.id)
        .a("librarySectionTitle", s.title.as_str())
        .a("librarySectionUUID", s.uuid.as_str())
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mediaTagVersion", 1_700_000_000u32)
        .a("thumb", format!("/:/resources/{}.png", s.kind.plex_type()))
        .a("title1", s.title.as_str())
        .a("title2", title2)
        .a("viewGroup", kind.plex_name())
}

/// The `type=` of a listing request (default: the section's top kind); 400 for nonsense.
pub(crate) fn requested_kind(ctx: &Ctx, s: &Section) -> Result<ItemKind, StatusCode> {
    match ctx.q("type") {
        None | Some("") => Ok(s.top_kind()),
        Some(t) => {
            let n: u32 = t.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
            ItemKind::from_plex_type(n).ok_or(StatusCode::BAD_REQUEST)
        }
    }
}

pub(crate) async fn section_all(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    if ctx.q("type") == Some(super::collections::COLLECTION_TYPE) {
        return super::collections::section_listing(sim, ctx, id).await;
    }
    let (doc, listing) = {
        let lib = sim.library();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        let kind = match requested_kind(&ctx, s) {
            Ok(k) => k,
            Err(status) => return plex_error(status),
        };
        let state = sim.state();
        let music = s.kind == crate::library::SectionKind::Music;
        let listing = match list(&lib, &state, &ctx, s.items(kind), music) {
            Ok(l) => l,
            Err(status) => return plex_error(status),
        };
        let mut doc = listing_container(s, "All", kind);
        if ctx.flag("includeMeta") {
            doc = doc.kid(super::meta::meta(s, kind));
        }
        (doc, listing)
    };
    let opts = RenderOpts {
        guids: ctx.flag("includeGuids"),
        detailed: false,
    };
    page_reply(&sim, &ctx, doc, listing, opts).await
}

/// Parses `1,2,3` (404 when nothing parses, as Plex answers for bad keys).
pub(crate) fn parse_ids(s: &str) -> Result<Vec<ItemId>, StatusCode> {
    let ids: Vec<ItemId> = s.split(',').filter_map(|p| p.trim().parse().ok()).collect();
    if ids.is_empty() {
        Err(StatusCode::NOT_FOUND)
    } else {
        Ok(ids)
    }
}

pub(crate) async fn metadata(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(ids): Path<String>,
) -> Response {
    let ids = match parse_ids(&ids) {
        Ok(i) => i,
        Err(status) => return plex_error(status),
    };
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let opts = RenderOpts {
            guids: true,
            detailed: true,
        };
        let mut doc = El::container().a("size", 0u32);
        let mut first_section = None;
        let lean = ids.len() > 1 && sim.batches_are_lean();
        for id in ids {
            if let Some(item) = lib.item(id).filter(|i| ctx.user.plex_sees(i)) {
                first_section.get_or_insert(item.section());
                let mut el = item_el(&lib, &state, ctx.user.id, &item, opts);
                if ctx.flag("includePreferences") {
                    el.kids.push(super::editing::preferences_el(&item));
                }
                if ctx.flag("includeReviews") {
                    el.kids.extend(reviews(&item));
                }
                if ctx.flag("checkFiles") {
                    for media in el.kids.iter_mut().filter(|k| k.tag == "Media") {
                        for part in media.kids.iter_mut().filter(|k| k.tag == "Part") {
                            part.set("exists", true);
                            part.set("accessible", true);
                        }
                    }
                }
                exclude(&mut el, &ctx);
                if lean {
                    el.kids.retain(|k| k.tag != "Guid");
                }
                doc.kids.push(el);
            }
        }
        let Some(s) = first_section else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        doc.set("size", doc.kids.len());
        doc = doc
            .a("allowSync", true)
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", s.id)
            .a("librarySectionTitle", s.title.as_str())
            .a("librarySectionUUID", s.uuid.as_str())
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("mediaTagVersion", 1_700_000_000u32);
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

async fn child_listing(sim: Sim, ctx: Ctx, id: String, leaves: bool) -> Response {
    let (doc, listing) = {
        let lib = sim.library();
        let Some(parent) = parse_ids(&id)
            .ok()
            .and_then(|ids| ids.first().copied())
            .and_then(|id| lib.item(id))
            .filter(|i| ctx.user.plex_sees(i))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let base = if leaves {
            lib.leaves(parent.id())
        } else {
            parent.children().to_vec()
        };
        let state = sim.state();
        let listing = match list(&lib, &state, &ctx, &base, false) {
            Ok(l) => l,
            Err(status) => return plex_error(status),
        };
        let s = parent.section();
        let mut doc = El::container()
            .a("allowSync", true)
            .a(
                "art",
                format!(
                    "/library/metadata/{}/art/{}",
                    parent.id(),
                    parent.updated_at()
                ),
            )
            .a("identifier", "com.plexapp.plugins.library")
            .a("key", parent.id().to_string())
            .a("librarySectionID", s.id)
            .a("librarySectionTitle", s.title.as_str())
            .a("librarySectionUUID", s.uuid.as_str())
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("mediaTagVersion", 1_700_000_000u32)
            .a("nocache", true)
            .a("parentIndex", parent.index().max(1))
            .a("parentTitle", parent.title())
            .a("parentYear", parent.year())
            .a("thumb", super::metadata::thumb(&parent))
            .a(
                "title1",
                parent
                    .parent()
                    .map(|p| p.title())
                    .unwrap_or(s.title.as_str()),
            )
            .a("title2", parent.title());
        if let Some(gp) = parent.parent() {
            doc = doc
                .a("grandparentRatingKey", gp.id().to_string())
                .a("grandparentTitle", gp.title());
        }
        let view_group = listing
            .ids
            .first()
            .and_then(|&c| lib.item(c))
            .map(|c| c.kind().plex_name())
            .unwrap_or("track");
        doc = doc.a("viewGroup", view_group);
        (doc, listing)
    };
    page_reply(
        &sim,
        &ctx,
        doc,
        listing,
        RenderOpts {
            guids: ctx.flag("includeGuids"),
            detailed: false,
        },
    )
    .await
}

pub(crate) async fn children(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    child_listing(sim, ctx, id, false).await
}

pub(crate) async fn all_leaves(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    child_listing(sim, ctx, id, true).await
}

/// `GET /library/sections/{id}/{filter}` for a tag filter (`genre`, `actor`, `label`…): the
/// values the section's items have (`?type=` narrows to one kind), as `Directory` choices whose
/// `key` is the tag id a listing filters on.
pub(crate) async fn filter_choices(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, filter)): Path<(String, String)>,
) -> Response {
    let Some(el) = super::editing::element_of(&filter) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let doc = {
        let lib = sim.library();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        let kinds: Vec<ItemKind> = match ctx.q("type") {
            None | Some("") => s.kind.kinds().to_vec(),
            Some(_) => match requested_kind(&ctx, s) {
                Ok(k) => vec![k],
                Err(status) => return plex_error(status),
            },
        };
        let mut seen: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
        for kind in kinds {
            for &item_id in s.items(kind) {
                let Some(item) = lib.item(item_id).filter(|i| ctx.user.plex_sees(i)) else {
                    continue;
                };
                for t in super::editing::tags(&item, el) {
                    let tid = super::editing::tag_id(el, &t);
                    seen.entry(t).or_insert(tid);
                }
            }
        }
        let mut doc = El::container()
            .a("size", seen.len())
            .a("allowSync", false)
            .a(
                "art",
                format!("/:/resources/{}-fanart.jpg", s.kind.plex_type()),
            )
            .a("content", "secondary")
            .a("identifier", "com.plexapp.plugins.library")
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("mediaTagVersion", 1_700_000_000u32)
            .a("title1", s.title.as_str())
            .a("title2", filter.clone())
            .a("viewGroup", "secondary");
        for (tag, tid) in seen {
            doc = doc.kid(
                El::new("Directory")
                    .a(
                        "fastKey",
                        format!("/library/sections/{}/all?{filter}={tid}", s.id),
                    )
                    .a("key", tid.to_string())
                    .a("title", tag)
                    .a("type", filter.clone()),
            );
        }
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /library/all?type=&title=…`: a listing over every section the user sees (the top kind of
/// each, or the kind `type=` names).
pub(crate) async fn library_all(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let listing = {
        let lib = sim.library();
        let state = sim.state();
        let kind = match ctx.q("type") {
            None | Some("") => None,
            Some(t) => match t.parse::<u32>().ok().and_then(ItemKind::from_plex_type) {
                Some(k) => Some(k),
                None => return plex_error(StatusCode::BAD_REQUEST),
            },
        };
        let mut base: Vec<ItemId> = Vec::new();
        for s in lib
            .sections()
            .iter()
            .filter(|s| ctx.user.can_see_section(s.id))
        {
            match kind {
                Some(k) if s.kind.kinds().contains(&k) => base.extend_from_slice(s.items(k)),
                Some(_) => {}
                None => base.extend_from_slice(s.items(s.top_kind())),
            }
        }
        match list(&lib, &state, &ctx, &base, false) {
            Ok(l) => l,
            Err(status) => return plex_error(status),
        }
    };
    let doc = El::container()
        .a("allowSync", false)
        .a("identifier", "com.plexapp.plugins.library")
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mediaTagVersion", 1_700_000_000u32)
        .a("title1", "All");
    let opts = RenderOpts {
        guids: ctx.flag("includeGuids"),
        detailed: false,
    };
    page_reply(&sim, &ctx, doc, listing, opts).await
}

/// `GET /library/sections/{id}/albums`: a music section's albums (as `…/all?type=9`).
pub(crate) async fn section_albums(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (doc, listing) = {
        let lib = sim.library();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        if !s.kind.kinds().contains(&ItemKind::Album) {
            return plex_error(StatusCode::NOT_FOUND);
        }
        let state = sim.state();
        let listing = match list(&lib, &state, &ctx, s.items(ItemKind::Album), true) {
            Ok(l) => l,
            Err(status) => return plex_error(status),
        };
        (listing_container(s, "By Album", ItemKind::Album), listing)
    };
    let opts = RenderOpts {
        guids: ctx.flag("includeGuids"),
        detailed: false,
    };
    page_reply(&sim, &ctx, doc, listing, opts).await
}

/// `GET /library/sections/{id}/onDeck` and `/hubs/sections/{id}/continueWatching/items`: the
/// user's on-deck items of one section.
pub(crate) async fn section_on_deck(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let section = {
        let lib = sim.library();
        match visible_section(&lib, &ctx, &id) {
            Ok(s) => s.id,
            Err(status) => return plex_error(status),
        }
    };
    let ids: Vec<ItemId> = {
        let all = super::lists::on_deck_ids(&sim, &ctx);
        let lib = sim.library();
        all.into_iter()
            .filter(|&i| lib.item(i).is_some_and(|i| i.section().id == section))
            .collect()
    };
    super::lists::on_deck_reply(&sim, &ctx, ids).await
}

/// Tag types of `/library/tags?type=` (Plex's numbering).
const TAG_TYPES: &[(u32, &str)] = &[
    (1, "Genre"),
    (2, "Collection"),
    (4, "Director"),
    (5, "Writer"),
    (6, "Role"),
    (7, "Producer"),
    (8, "Country"),
    (11, "Label"),
    (300, "Mood"),
    (301, "Style"),
    (305, "Similar"),
];

/// `GET /library/tags?type=N`: every tag of one type the user's items carry, with counts.
pub(crate) async fn library_tags(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let Some(&(tag_type, el)) = ctx
        .q("type")
        .and_then(|t| t.parse::<u32>().ok())
        .and_then(|t| TAG_TYPES.iter().find(|(n, _)| *n == t))
    else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let doc = {
        let lib = sim.library();
        let mut counts: std::collections::BTreeMap<String, usize> =
            std::collections::BTreeMap::new();
        for s in lib
            .sections()
            .iter()
            .filter(|s| ctx.user.can_see_section(s.id))
        {
            for kind in s.kind.kinds() {
                for &id in s.items(*kind) {
                    if let Some(item) = lib.item(id).filter(|i| ctx.user.plex_sees(i)) {
                        for t in super::editing::tags(&item, el) {
                            *counts.entry(t).or_default() += 1;
                        }
                    }
                }
            }
        }
        let filter = super::editing::filter_of(el).unwrap_or("tag");
        let mut doc = El::container().a("size", counts.len());
        for (tag, count) in counts {
            let id = super::editing::tag_id(el, &tag);
            doc = doc.kid(
                El::new("Directory")
                    .a("count", count)
                    .a("filter", format!("{filter}={id}"))
                    .a("id", id)
                    .a("tag", tag)
                    .a("tagType", tag_type),
            );
        }
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /library/metadata/{id}/matches?manual=1&title=&year=&agent=`: the agent's match
/// candidates. An external id as title (`imdb-tt…`, `tmdb-…`, `tvdb-…`, as python-plexapi's
/// `getGuid` sends it) finds the item carrying it; a title finds the section's items whose
/// title contains it.
pub(crate) async fn matches_of(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
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
        let title = ctx.q("title").unwrap_or("").to_string();
        let s = item.section();
        let external = ["imdb-", "tmdb-", "tvdb-"]
            .iter()
            .find(|p| title.starts_with(**p))
            .map(|p| format!("{}://{}", &p[..4], &title[5..]));
        let folded = crate::library::fold(&title);
        let mut doc = El::container().a("identifier", "com.plexapp.plugins.library");
        if !title.is_empty() {
            for &cand in s.items(item.kind()) {
                let Some(c) = lib.item(cand) else {
                    continue;
                };
                let hit = match &external {
                    Some(g) => c.guids().iter().any(|x| x == g),
                    None => crate::library::fold(c.title()).contains(&folded),
                };
                if hit {
                    doc = doc.kid(
                        El::new("SearchResult")
                            .a("guid", c.plex_guid())
                            .a("name", c.title())
                            .a("score", 100u32)
                            .a("year", c.year())
                            .a("lifespanEnded", false)
                            .a("matched", c.id() == item.id()),
                    );
                }
            }
        }
        let n = doc.kids.len();
        doc.attrs.insert(0, ("size", n.into()));
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// The item shown as related to `item`: the first other item of its kind in its section that
/// shares a genre with it, else the first other one.
fn similar_to(lib: &Library, item: &Item<'_>) -> Option<ItemId> {
    let genres = item.genres();
    let others: Vec<Item<'_>> = item
        .section()
        .items(item.kind())
        .iter()
        .filter(|&&i| i != item.id())
        .filter_map(|&i| lib.item(i))
        .collect();
    others
        .iter()
        .find(|o| o.genres().iter().any(|g| genres.contains(g)))
        .or(others.first())
        .map(|o| o.id())
}

/// `GET /library/metadata/{id}/related`: the related hubs of a movie or show (`Related
/// Movies`/`Related Shows`, one item each); other kinds have none.
pub(crate) async fn related(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let Some(item) = id
            .parse::<ItemId>()
            .ok()
            .and_then(|id| lib.item(id))
            .filter(|i| ctx.user.plex_sees(i))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let mut doc = El::container()
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", item.section().id)
            .a("librarySectionTitle", item.section().title.as_str())
            .a("librarySectionUUID", item.section().uuid.as_str());
        let title = match item.kind() {
            ItemKind::Movie => Some("Related Movies"),
            ItemKind::Show => Some("Related Shows"),
            _ => None,
        };
        if let Some(title) = title
            && let Some(other) = similar_to(&lib, &item)
                .and_then(|o| lib.item(o))
                .filter(|o| ctx.user.plex_sees(o))
        {
            let kind = item.kind().plex_name();
            let mut hub = El::new("Hub")
                .a("hubKey", format!("/library/metadata/{}", other.id()))
                .a("key", format!("/library/metadata/{}/similar", item.id()))
                .a("title", title)
                .a("type", kind)
                .a("hubIdentifier", format!("{kind}.similar"))
                .a("context", format!("hub.{kind}.similar"))
                .a("size", 1u32)
                .a("more", false)
                .a("style", "shelf");
            hub = hub.kid(item_el(
                &lib,
                &state,
                ctx.user.id,
                &other,
                RenderOpts::default(),
            ));
            doc = doc.kid(hub);
        }
        let n = doc.kids.len();
        doc.attrs.insert(0, ("size", n.into()));
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /library/metadata/{id}/similar`: the items of the related hub.
pub(crate) async fn similar(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let Some(item) = id
            .parse::<ItemId>()
            .ok()
            .and_then(|id| lib.item(id))
            .filter(|i| ctx.user.plex_sees(i))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let mut doc = El::container().a("identifier", "com.plexapp.plugins.library");
        if matches!(item.kind(), ItemKind::Movie | ItemKind::Show)
            && let Some(other) = similar_to(&lib, &item)
                .and_then(|o| lib.item(o))
                .filter(|o| ctx.user.plex_sees(o))
        {
            doc = doc.kid(item_el(
                &lib,
                &state,
                ctx.user.id,
                &other,
                RenderOpts::default(),
            ));
        }
        let n = doc.kids.len();
        doc.attrs.insert(0, ("size", n.into()));
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// Applies `excludeElements=Media,Genre,…` and `excludeFields=summary,tagline` to an element.
fn exclude(el: &mut El, ctx: &Ctx) {
    if let Some(names) = ctx.q("excludeElements") {
        let names: Vec<&str> = names.split(',').map(str::trim).collect();
        el.kids.retain(|k| !names.contains(&k.tag));
    }
    if let Some(names) = ctx.q("excludeFields") {
        let names: Vec<&str> = names.split(',').map(str::trim).collect();
        el.attrs.retain(|(k, _)| !names.contains(k));
    }
}

/// Critics' reviews of a movie rated by Rotten Tomatoes (`?includeReviews=1`).
fn reviews(item: &Item<'_>) -> Vec<El> {
    let rated = item
        .fields()
        .and_then(|f| f.attrs.get("ratingImage"))
        .and_then(|v| v.as_str())
        .is_some_and(|i| i.starts_with("rottentomatoes://"));
    if item.kind() != ItemKind::Movie || !rated {
        return Vec::new();
    }
    let slug = crate::library::fold(item.title()).replace(' ', "_");
    [
        ("Film Critic", "The Daily Review", true),
        ("Second Critic", "Weekly Screen", false),
    ]
    .iter()
    .enumerate()
    .map(|(n, &(critic, source, fresh))| {
        let id = super::editing::tag_id("Review", &format!("{critic}/{}", item.id()));
        El::new("Review")
            .a("id", id)
            .a("filter", format!("art={id}"))
            .a("tag", critic)
            .a(
                "text",
                format!("{} is worth seeing, review {}.", item.title(), n + 1),
            )
            .a(
                "image",
                if fresh {
                    "rottentomatoes://image.review.fresh"
                } else {
                    "rottentomatoes://image.review.rotten"
                },
            )
            .a(
                "link",
                format!("https://www.rottentomatoes.com/m/{slug}/reviews"),
            )
            .a("source", source)
    })
    .collect()
}

/// `GET /library/sections/{id}/timeline`: when the section last changed, for clients that poll.
pub(crate) async fn section_timeline(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let doc = {
        let lib = sim.library();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        let latest = lib
            .sections()
            .iter()
            .filter(|x| x.id == s.id)
            .map(|x| x.updated_at)
            .max()
            .unwrap_or(0)
            .max(crate::now_secs());
        El::new("LibraryTimeline")
            .a("size", s.items(s.top_kind()).len())
            .a("allowSync", false)
            .a(
                "art",
                format!("/:/resources/{}-fanart.jpg", s.kind.plex_type()),
            )
            .a("content", "secondary")
            .a("identifier", "com.plexapp.plugins.library")
            .a("latestEntryTime", latest)
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("mediaTagVersion", 1_700_000_000u32)
            .a("thumb", format!("/:/resources/{}.png", s.kind.plex_type()))
            .a("title1", s.title.as_str())
            .a("updateQueueSize", 0u32)
            .a("viewGroup", "secondary")
    };
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `GET /library/sections/{id}/common?type=&id=1,2`: what several items have in common (for
/// batch edits); the simulator reports their shared type.
pub(crate) async fn section_common(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let doc = {
        let lib = sim.library();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        let kind = match requested_kind(&ctx, s) {
            Ok(k) => k,
            Err(status) => return plex_error(status),
        };
        let Some(ids) = ctx.q("id").and_then(|i| parse_ids(i).ok()) else {
            return plex_error(StatusCode::BAD_REQUEST);
        };
        if ids.iter().any(|&i| {
            lib.item(i)
                .is_none_or(|i| i.section().id != s.id || i.kind() != kind)
        }) {
            return plex_error(StatusCode::BAD_REQUEST);
        }
        El::container()
            .a("size", 1u32)
            .a("librarySectionID", s.id)
            .kid(
                El::new("Common")
                    .a("type", "common")
                    .a("index", 1u32)
                    .a(
                        "mixedFields",
                        "title,titleSort,summary,year,originallyAvailableAt",
                    )
                    .a(
                        "ratingKey",
                        ids.iter()
                            .map(ItemId::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
            )
    };
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

/// `GET /hubs/sections/{id}`: the section's hubs (recently added).
pub(crate) async fn section_hubs(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let s = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s,
            Err(status) => return plex_error(status),
        };
        let kind = s.top_kind();
        let mut recent: Vec<ItemId> = s
            .items(kind)
            .iter()
            .copied()
            .filter(|&i| lib.item(i).is_some_and(|i| ctx.user.plex_sees(&i)))
            .collect();
        recent.sort_by_key(|&i| std::cmp::Reverse(lib.item(i).map(|i| i.added_at()).unwrap_or(0)));
        recent.truncate(10);
        let name = kind.plex_name();
        let mut hub = El::new("Hub")
            .a("key", format!("/hubs/sections/{}/recentlyAdded", s.id))
            .a(
                "hubKey",
                format!(
                    "/library/metadata/{}",
                    recent
                        .iter()
                        .map(ItemId::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )
            .a("librarySectionID", s.id)
            .a("title", "Recently Added")
            .a("type", name)
            .a("hubIdentifier", format!("{name}.recentlyadded.{}", s.id))
            .a("context", format!("hub.{name}.recentlyadded"))
            .a("size", recent.len())
            .a("more", false)
            .a("style", "shelf");
        for &i in &recent {
            if let Some(item) = lib.item(i) {
                hub = hub.kid(item_el(
                    &lib,
                    &state,
                    ctx.user.id,
                    &item,
                    RenderOpts::default(),
                ));
            }
        }
        El::container()
            .a("size", 1u32)
            .a("allowSync", false)
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", s.id)
            .a("librarySectionTitle", s.title.as_str())
            .a("librarySectionUUID", s.uuid.as_str())
            .kid(hub)
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}
