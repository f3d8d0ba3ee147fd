//! Read endpoints beyond plain listings: searches and hubs, recently added, on deck / continue
//! watching, sessions, history, activities and playlists.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::listing::{Listing, page_reply, requested_kind};
use super::metadata::{RenderOpts, item_el};
use super::{Ctx, plex_error, reply, reply_paged, window};
use crate::Sim;
use crate::library::{ItemId, ItemKind, Library, Section, SectionKind};
use crate::state::Playlist;
use cachearr_serverfmt::search::{fold, fold_into};
use cachearr_serverfmt::tree::El;

/// Items of `kinds` in the sections `ctx`'s user may see (optionally one section) whose title
/// contains the folded query, best matches first (exact, prefix, contains). Returns the hits
/// and the number of items looked at.
fn search(
    lib: &Library,
    ctx: &Ctx,
    section: Option<u32>,
    kinds: &[ItemKind],
    query: &str,
) -> (Vec<(ItemId, u32)>, usize) {
    let needle = fold(query.trim());
    let mut hits: Vec<(u32, ItemId)> = Vec::new();
    let mut scanned = 0;
    let mut buf = String::new();
    if needle.is_empty() {
        return (Vec::new(), 0);
    }
    for s in lib
        .sections()
        .iter()
        .filter(|s| ctx.user.can_see_section(s.id) && section.is_none_or(|id| id == s.id))
    {
        for &k in kinds {
            for &id in s.items(k) {
                scanned += 1;
                let Some(item) = lib.item(id).filter(|i| ctx.user.plex_sees(i)) else {
                    continue;
                };
                fold_into(item.title(), &mut buf);
                if let Some(pos) = buf.find(&needle) {
                    let score = if buf == needle {
                        100
                    } else if pos == 0 {
                        80
                    } else {
                        50
                    };
                    hits.push((score, id));
                }
            }
        }
    }
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    (hits.into_iter().map(|(s, id)| (id, s)).collect(), scanned)
}

/// `GET /library/sections/{id}/search?type=&query=` (the older per-section search).
pub(crate) async fn section_search(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (doc, listing) = {
        let lib = sim.library();
        let Some(s) = id
            .parse::<u32>()
            .ok()
            .and_then(|id| lib.section(id))
            .filter(|s| ctx.user.can_see_section(s.id))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let kind = match requested_kind(&ctx, s) {
            Ok(k) => k,
            Err(status) => return plex_error(status),
        };
        let Some(query) = ctx.q("query").or(ctx.q("title")) else {
            return plex_error(StatusCode::BAD_REQUEST);
        };
        let (hits, scanned) = search(&lib, &ctx, Some(s.id), &[kind], query);
        let mut ids: Vec<ItemId> = hits.into_iter().map(|h| h.0).collect();
        if let Some(limit) = ctx.q("limit").and_then(|l| l.parse::<usize>().ok()) {
            ids.truncate(limit);
        }
        let doc = El::container()
            .a("allowSync", true)
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", s.id)
            .a("librarySectionTitle", s.title.as_str())
            .a("librarySectionUUID", s.uuid.as_str())
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("title1", s.title.as_str())
            .a("title2", format!("Search for '{query}'"));
        (doc, Listing::new(ids, scanned))
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

fn hub_title(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Movie => "Movies",
        ItemKind::Show => "Shows",
        ItemKind::Season => "Seasons",
        ItemKind::Episode => "Episodes",
        ItemKind::Artist => "Artists",
        ItemKind::Album => "Albums",
        ItemKind::Track => "Tracks",
        ItemKind::PhotoAlbum => "Photo Albums",
        ItemKind::Photo => "Photos",
    }
}

/// `GET /hubs/search?query=&limit=&sectionId=`: one hub per type with results; `limit` is per
/// hub (default 3). Answered from the server's search index, so only the results cost.
pub(crate) async fn hub_search(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let Some(query) = ctx.q("query") else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let limit: usize = match ctx.q("limit") {
        None | Some("") => 3,
        Some(l) => match l.parse() {
            Ok(n) => n,
            Err(_) => return plex_error(StatusCode::BAD_REQUEST),
        },
    };
    let section = match ctx.q("sectionId") {
        None | Some("") => None,
        Some(s) => match s.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => return plex_error(StatusCode::BAD_REQUEST),
        },
    };
    let (doc, returned) = {
        let lib = sim.library();
        let state = sim.state();
        let mut doc = El::container();
        let mut returned = 0;
        for kind in [
            ItemKind::Movie,
            ItemKind::Show,
            ItemKind::Episode,
            ItemKind::Artist,
            ItemKind::Album,
            ItemKind::Track,
        ] {
            let (hits, _) = search(&lib, &ctx, section, &[kind], query);
            if hits.is_empty() {
                continue;
            }
            let more = hits.len() > limit;
            let mut hub = El::new("Hub")
                .a("title", hub_title(kind))
                .a("type", kind.plex_name())
                .a("hubIdentifier", kind.plex_name())
                .a("context", format!("hub.{}", kind.plex_name()))
                .a("size", hits.len().min(limit))
                .a("more", more)
                .a("style", "shelf");
            for (id, score) in hits.into_iter().take(limit) {
                if let Some(item) = lib.item(id) {
                    let opts = RenderOpts {
                        guids: ctx.flag("includeGuids"),
                        detailed: false,
                    };
                    let mut e = item_el(&lib, &state, ctx.user.id, &item, opts);
                    e = e.a("score", format!("{:.5}", f64::from(score) / 100.0));
                    if let Some(p) = item.parent().filter(|_| kind == ItemKind::Track) {
                        e = e
                            .a("reason", "section")
                            .a("reasonTitle", p.section().title.as_str())
                            .a("reasonID", p.section().id);
                    }
                    hub.kids.push(e);
                    returned += 1;
                }
            }
            doc.kids.push(hub);
        }
        doc.attrs.insert(0, ("size", doc.kids.len().into()));
        (doc, returned)
    };
    sim.charge(0, returned as u64).await;
    reply(ctx.json, &doc)
}

/// What "recently added" lists for a section: albums for music, movies, episodes for shows.
fn recent_kind(s: &Section) -> ItemKind {
    match s.kind {
        SectionKind::Music => ItemKind::Album,
        SectionKind::Movies => ItemKind::Movie,
        SectionKind::Shows => ItemKind::Episode,
        SectionKind::Photos => ItemKind::Photo,
    }
}

fn recent_ids(
    lib: &Library,
    ctx: &Ctx,
    section: Option<u32>,
    kind: Option<ItemKind>,
) -> (Vec<ItemId>, usize) {
    let mut all: Vec<(u32, ItemId)> = Vec::new();
    let mut scanned = 0;
    for s in lib
        .sections()
        .iter()
        .filter(|s| ctx.user.can_see_section(s.id) && section.is_none_or(|id| id == s.id))
    {
        let k = kind.unwrap_or_else(|| recent_kind(s));
        for &id in s.items(k) {
            scanned += 1;
            if let Some(i) = lib.item(id).filter(|i| ctx.user.plex_sees(i)) {
                all.push((i.added_at(), id));
            }
        }
    }
    all.sort_by(|a, b| b.cmp(a));
    // Plex caps recently added lists at 50 unless paged further.
    let cap = if ctx.size.is_some() { all.len() } else { 50 };
    (all.into_iter().take(cap).map(|x| x.1).collect(), scanned)
}

async fn recent(sim: Sim, ctx: Ctx, section: Option<u32>) -> Response {
    let (doc, listing) = {
        let lib = sim.library();
        if let Some(id) = section
            && lib
                .section(id)
                .filter(|s| ctx.user.can_see_section(s.id))
                .is_none()
        {
            return plex_error(StatusCode::NOT_FOUND);
        }
        let kind = match ctx.q("type") {
            None | Some("") => None,
            Some(t) => match t.parse::<u32>().ok().and_then(ItemKind::from_plex_type) {
                Some(k) => Some(k),
                None => return plex_error(StatusCode::BAD_REQUEST),
            },
        };
        let (ids, scanned) = recent_ids(&lib, &ctx, section, kind);
        let mut doc = El::container()
            .a("allowSync", true)
            .a("identifier", "com.plexapp.plugins.library")
            .a("mediaTagPrefix", "/system/bundle/media/flags/")
            .a("title1", "Recently Added");
        if let Some(s) = section.and_then(|id| lib.section(id)) {
            doc = doc
                .a("librarySectionID", s.id)
                .a("librarySectionTitle", s.title.as_str());
        }
        (doc, Listing::new(ids, scanned))
    };
    page_reply(&sim, &ctx, doc, listing, RenderOpts::default()).await
}

/// `GET /library/recentlyAdded`.
pub(crate) async fn recently_added(State(sim): State<Sim>, ctx: Ctx) -> Response {
    recent(sim, ctx, None).await
}

/// `GET /library/sections/{id}/recentlyAdded`.
pub(crate) async fn section_recently_added(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    match id.parse::<u32>() {
        Ok(id) => recent(sim, ctx, Some(id)).await,
        Err(_) => plex_error(StatusCode::NOT_FOUND),
    }
}

/// `GET /hubs/home/recentlyAdded?type=&sectionID=`.
pub(crate) async fn hubs_recently_added(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let section = ctx.q("sectionID").and_then(|s| s.parse::<u32>().ok());
    recent(sim, ctx, section).await
}

pub(crate) fn on_deck_ids(sim: &Sim, ctx: &Ctx) -> Vec<ItemId> {
    let lib = sim.library();
    let state = sim.state();
    state
        .on_deck(ctx.user.id, &lib)
        .into_iter()
        .filter(|&id| lib.item(id).is_some_and(|i| ctx.user.plex_sees(&i)))
        .collect()
}

/// `GET /library/onDeck` and `GET /hubs/continueWatching/items`.
pub(crate) async fn on_deck(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let ids = on_deck_ids(&sim, &ctx);
    on_deck_reply(&sim, &ctx, ids).await
}

/// The on-deck container holding `ids` (the whole library's or one section's).
pub(crate) async fn on_deck_reply(sim: &Sim, ctx: &Ctx, ids: Vec<ItemId>) -> Response {
    let scanned = ids.len();
    let doc = El::container()
        .a("allowSync", false)
        .a("identifier", "com.plexapp.plugins.library")
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mixedParents", true)
        .a("title1", "On Deck");
    page_reply(
        sim,
        ctx,
        doc,
        Listing::new(ids, scanned),
        RenderOpts::default(),
    )
    .await
}

/// `GET /hubs/continueWatching`: one hub holding the user's on-deck items.
pub(crate) async fn continue_watching(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let ids = on_deck_ids(&sim, &ctx);
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let mut hub = El::new("Hub")
            .a("key", "/hubs/continueWatching/items")
            .a("title", "Continue Watching")
            .a("type", "mixed")
            .a("hubIdentifier", "home.continue")
            .a("context", "hub.home.continue")
            .a("size", ids.len())
            .a("more", false)
            .a("style", "hero")
            .a("promoted", true);
        for &id in &ids {
            if let Some(item) = lib.item(id) {
                hub.kids.push(item_el(
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
            .kid(hub)
    };
    sim.charge(ids.len() as u64, ids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /status/sessions`: the owner sees every session, a managed Home user their own; an
/// invited (shared) user is refused, as since 2026 their account token does not reach it.
pub(crate) async fn sessions(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if crate::plextv::AccountKind::of(&ctx.user) == crate::plextv::AccountKind::Invited {
        return plex_error(StatusCode::UNAUTHORIZED);
    }
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let mut doc = El::container();
        for s in state
            .sessions()
            .iter()
            .filter(|s| ctx.user.is_owner || s.user == ctx.user.id)
        {
            let Some(item) = lib.item(s.item) else {
                continue;
            };
            let user = state.user(s.user);
            let mut e = item_el(&lib, &state, s.user, &item, RenderOpts::default());
            e.set("viewOffset", s.view_offset_ms);
            e = e
                .a("sessionKey", s.session_key.to_string())
                .kid(
                    El::object("User")
                        .a("id", s.user.to_string())
                        .a("thumb", "")
                        .a("title", user.map(|u| u.name.as_str()).unwrap_or("")),
                )
                .kid(
                    El::object("Player")
                        .a("address", "127.0.0.1")
                        .a("machineIdentifier", s.client_id.as_str())
                        .a("platform", "Linux")
                        .a("product", s.product.as_str())
                        .a("state", s.state.plex_name())
                        .a("title", s.product.as_str())
                        .a("local", true),
                )
                .kid(
                    El::object("Session")
                        .a("id", format!("session-{}", s.session_key))
                        .a("bandwidth", 2_000u32)
                        .a("location", "lan"),
                );
            doc.kids.push(e);
        }
        doc.attrs.insert(0, ("size", doc.kids.len().into()));
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /status/sessions/history/all` with `accountID`, `librarySectionID`,
/// `metadataItemID`, `viewedAt>=`/`<=` filters (`viewedAt>>=`/`<<=`: strictly, as Plex's
/// filter operators read), `sort=viewedAt[:desc]` and paging. The owner's token lists every
/// account's plays (the owner is account 1, as on every Plex server); a shared user's, only
/// their own.
pub(crate) async fn history(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let num = |k: &str| -> Result<Option<i64>, StatusCode> {
        match ctx.q(k) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| StatusCode::BAD_REQUEST),
        }
    };
    let parsed = (|| -> Result<_, StatusCode> {
        Ok((
            num("accountID")?,
            num("librarySectionID")?,
            num("metadataItemID")?,
            num("viewedAt>")?.or(num("viewedAt>>")?.map(|a| a.saturating_add(1))),
            num("viewedAt<")?.or(num("viewedAt<<")?.map(|b| b.saturating_sub(1))),
        ))
    })();
    let (account, section, item_filter, after, before) = match parsed {
        Ok(p) => p,
        Err(status) => return plex_error(status),
    };
    let ascending = matches!(ctx.q("sort"), Some("viewedAt") | Some("viewedAt:asc"));
    let (doc, total, start) = {
        let lib = sim.library();
        let state = sim.state();
        let who = if ctx.user.is_owner {
            account.map(|a| a as u32)
        } else {
            Some(ctx.user.id)
        };
        let mut entries: Vec<_> = state
            .history(who)
            .into_iter()
            .filter(|e| item_filter.is_none_or(|m| i64::from(e.item) == m))
            .filter(|e| after.is_none_or(|a| i64::from(e.viewed_at) >= a))
            .filter(|e| before.is_none_or(|b| i64::from(e.viewed_at) <= b))
            .filter(|e| {
                lib.item_any(e.item).is_some_and(|i| {
                    ctx.user.plex_sees(&i) && section.is_none_or(|s| i64::from(i.section().id) == s)
                })
            })
            .collect();
        if ascending {
            entries.reverse();
        }
        let total = entries.len();
        let (start, end) = window(&ctx, total);
        let mut doc = El::container();
        for e in &entries[start..end] {
            let Some(item) = lib.item_any(e.item) else {
                continue;
            };
            let mut el = El::new(match item.kind() {
                ItemKind::Track => "Track",
                _ => "Video",
            })
            .a("historyKey", format!("/status/sessions/history/{}", e.id))
            .a("key", format!("/library/metadata/{}", item.id()))
            .a("ratingKey", item.id().to_string())
            .a("librarySectionID", item.section().id.to_string())
            .a("title", item.title())
            .a("type", item.kind().plex_name())
            .a("thumb", super::metadata::thumb(&item))
            .a("index", item.index())
            .a("viewedAt", e.viewed_at)
            .a("accountID", e.user)
            .a("deviceID", 1u32);
            if let Some(p) = item.parent() {
                el = el
                    .a("parentKey", format!("/library/metadata/{}", p.id()))
                    .a("parentRatingKey", p.id().to_string())
                    .a("parentTitle", p.title())
                    .a("parentThumb", super::metadata::thumb(&p))
                    .a("parentIndex", p.index());
            }
            if let Some(g) = item.grandparent() {
                el = el
                    .a("grandparentKey", format!("/library/metadata/{}", g.id()))
                    .a("grandparentRatingKey", g.id().to_string())
                    .a("grandparentTitle", g.title())
                    .a("grandparentThumb", super::metadata::thumb(&g));
            }
            doc.kids.push(el);
        }
        doc.attrs.insert(0, ("size", doc.kids.len().into()));
        doc.attrs.insert(1, ("totalSize", total.into()));
        doc.attrs.insert(2, ("offset", start.into()));
        (doc, total, start)
    };
    sim.charge(total as u64, doc.kids.len() as u64).await;
    reply_paged(ctx.json, &doc, start, total)
}

/// `GET /activities`.
pub(crate) async fn activities(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let doc = {
        let state = sim.state();
        let mut doc = El::container().a("size", state.activities().len());
        for a in state.activities() {
            doc.kids.push(
                El::new("Activity")
                    .a("uuid", a.uuid.as_str())
                    .a("type", a.kind.as_str())
                    .a("cancellable", false)
                    .a("userID", 1u32)
                    .a("title", a.title.as_str())
                    .a("subtitle", "")
                    .a("progress", a.progress)
                    .kid(El::new("Context").a("librarySectionID", a.section.to_string())),
            );
        }
        doc
    };
    sim.charge(0, 0).await;
    reply(ctx.json, &doc)
}

pub(crate) fn playlist_el(lib: &Library, p: &Playlist) -> El {
    let duration: u64 = p
        .items
        .iter()
        .filter_map(|e| lib.item(e.item))
        .map(|i| u64::from(i.duration_ms()))
        .sum();
    let composite = format!("/playlists/{}/composite/{}", p.id, p.updated_at);
    let mut e = El::new("Playlist")
        .a("ratingKey", p.id.to_string())
        .a("key", format!("/playlists/{}/items", p.id))
        .a(
            "guid",
            // An imported playlist is known by its file.
            match &p.source {
                Some(path) => format!("com.plexapp.agents.none://{path}"),
                None => format!(
                    "com.plexapp.agents.none://{}",
                    crate::rng::uuid_from(u64::from(p.id))
                ),
            },
        )
        .a("type", "playlist")
        .a("title", p.title.as_str())
        .opt("titleSort", p.title_sort.clone())
        .a("summary", p.summary.as_str())
        .a("smart", p.smart)
        .a("playlistType", p.kind.plex_name())
        .a("composite", composite)
        .opt("content", p.content.clone())
        .opt("icon", p.smart.then_some("playlist://image.smart"))
        .a("allowSync", true)
        .a("leafCount", p.items.len())
        .a("duration", duration)
        .a("addedAt", p.added_at)
        .a("updatedAt", p.updated_at);
    for f in &p.locked {
        e.kids
            .push(El::new("Field").a("locked", true).a("name", f.as_str()));
    }
    e
}

/// `GET /playlists[?playlistType=audio&smart=0]`.
pub(crate) async fn playlists(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let mut doc = El::container();
        for p in state.playlists(ctx.user.id) {
            if ctx
                .q("playlistType")
                .is_some_and(|t| t != p.kind.plex_name())
            {
                continue;
            }
            if ctx.q("smart").is_some_and(|s| (s == "1") != p.smart) {
                continue;
            }
            if ctx
                .q("title")
                .is_some_and(|t| !fold(&p.title).contains(&fold(t)))
            {
                continue;
            }
            doc.kids.push(playlist_el(&lib, p));
        }
        doc.attrs.insert(0, ("size", doc.kids.len().into()));
        doc
    };
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /playlists/{id}`.
pub(crate) async fn playlist(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let Some(p) = id
            .parse::<u32>()
            .ok()
            .and_then(|id| state.playlist(ctx.user.id, id))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        El::container().a("size", 1u32).kid(playlist_el(&lib, p))
    };
    sim.charge(0, 1).await;
    reply(ctx.json, &doc)
}

/// `GET /playlists/{id}/items` (items carry `playlistItemID`; paging supported).
pub(crate) async fn playlist_items(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let (doc, total, start) = {
        let lib = sim.library();
        let state = sim.state();
        let Some(p) = id
            .parse::<u32>()
            .ok()
            .and_then(|id| state.playlist(ctx.user.id, id))
        else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let entries: Vec<_> = p
            .items
            .iter()
            .filter(|e| lib.item(e.item).is_some_and(|i| ctx.user.plex_sees(&i)))
            .collect();
        let total = entries.len();
        let (start, end) = window(&ctx, total);
        let mut doc = El::container()
            .a(
                "composite",
                format!("/playlists/{}/composite/{}", p.id, p.updated_at),
            )
            .a("duration", 0u32)
            .a("leafCount", total)
            .a("playlistType", p.kind.plex_name())
            .a("ratingKey", p.id.to_string())
            .a("smart", p.smart)
            .a("title", p.title.as_str());
        for e in &entries[start..end] {
            if let Some(item) = lib.item(e.item) {
                let el = item_el(&lib, &state, ctx.user.id, &item, RenderOpts::default())
                    .a("playlistItemID", e.entry_id);
                doc.kids.push(el);
            }
        }
        doc.attrs.insert(0, ("size", doc.kids.len().into()));
        if ctx.start.is_some() || ctx.size.is_some() {
            doc.attrs.insert(1, ("totalSize", total.into()));
            doc.attrs.insert(2, ("offset", start.into()));
        }
        (doc, total, start)
    };
    sim.charge(0, doc.kids.len() as u64).await;
    if ctx.start.is_some() || ctx.size.is_some() {
        reply_paged(ctx.json, &doc, start, total)
    } else {
        reply(ctx.json, &doc)
    }
}
