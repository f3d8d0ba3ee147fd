//! Read endpoints: identity, root, sections, listings with filters/sorts/paging, metadata,
//! children.
//!
//! # Map
//! This file holds identity, root, sections, a section's listing, metadata and children (the
//! listing engine they share, with its filters, sorts and paging, is `super::listing`); `views`
//! answers the other read views (whole library, albums, on deck, tags, related, similar, hubs).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::listing::{Listing, list, page_reply, parse_ids, requested_kind};
use super::metadata::{RenderOpts, item_el};
use super::{Ctx, plex_error, reply};
use crate::Sim;
use crate::library::{Item, ItemId, ItemKind, Library, Section};
use cachearr_serverfmt::tree::El;

pub(crate) mod sonic;
mod views;
pub(crate) use views::*;

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
    let claimed = !sim.objects().unclaimed;
    // Signed in to plex.tv as its owner (a Plex Pass account) unless unclaimed since.
    let owner_email = if claimed {
        sim.state()
            .users()
            .iter()
            .find(|u| u.is_owner)
            .map(crate::plextv::PlexTv::email)
            .unwrap_or_default()
    } else {
        String::new()
    };
    let media_deletion = super::prefs::allows_media_deletion(&sim);
    let doc = El::container()
        .a("size", 0u32)
        .a("allowCameraUpload", false)
        .a("allowChannelAccess", true)
        .opt("allowMediaDeletion", media_deletion.then_some(true))
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
        .a("myPlex", claimed)
        .a(
            "myPlexMappingState",
            if claimed { "mapped" } else { "unknown" },
        )
        .a("myPlexSigninState", if claimed { "ok" } else { "none" })
        .a("myPlexSubscription", claimed)
        .a("myPlexUsername", owner_email.as_str())
        .a("offlineTranscode", 1u32)
        .a("ownerFeatures", "")
        .a("platform", "Linux")
        .a("platformVersion", "6.1.0-18-amd64")
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

/// The items of `kinds` in section `s` that the user may see, kind by kind, each in the
/// section's order.
fn visible_items<'a>(
    lib: &'a Library,
    ctx: &'a Ctx,
    s: &'a Section,
    kinds: &'a [ItemKind],
) -> impl Iterator<Item = Item<'a>> {
    kinds
        .iter()
        .flat_map(|&k| s.items(k))
        .filter_map(|&id| lib.item(id))
        .filter(|i| ctx.user.plex_sees(i))
}

/// An item the user may see, by the `{id}` of a `/library/metadata/{id}/…` route, or the 404
/// Plex gives.
fn visible_item<'a>(lib: &'a Library, ctx: &Ctx, id: &str) -> Result<Item<'a>, StatusCode> {
    id.parse::<ItemId>()
        .ok()
        .and_then(|id| lib.item(id))
        .filter(|i| ctx.user.plex_sees(i))
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
    listing_reply(&sim, &ctx, doc, listing).await
}

/// Answers with a page of a listing of the library's items, rendered as listings show them
/// (with their GUIDs on `includeGuids=1`).
async fn listing_reply(sim: &Sim, ctx: &Ctx, doc: El, listing: Listing) -> Response {
    let opts = RenderOpts {
        guids: ctx.flag("includeGuids"),
        detailed: false,
    };
    page_reply(sim, ctx, doc, listing, opts).await
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
        // The background behind a listing is its parent's art; a season or an album has none
        // of its own and shows its show's or artist's, as Plex does.
        let art_of = match parent.kind() {
            ItemKind::Season | ItemKind::Album => parent.parent().unwrap_or(parent),
            _ => parent,
        };
        let mut doc = El::container()
            .a("allowSync", true)
            .a(
                "art",
                format!(
                    "/library/metadata/{}/art/{}",
                    art_of.id(),
                    art_of.updated_at()
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
    listing_reply(&sim, &ctx, doc, listing).await
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
        for item in visible_items(&lib, &ctx, s, &kinds) {
            for t in super::editing::tags(&item, el) {
                let tid = super::editing::tag_id(el, &t);
                seen.entry(t).or_insert(tid);
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
