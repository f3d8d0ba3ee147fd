//! Collections (`/library/collections`): regular ones hold the items they were given, smart
//! ones a section query (`content`) that is run when their items are listed. A collection is
//! a `Directory` of `type="collection"` with the `subtype` of its items, listed by its section
//! (`/library/sections/{id}/collections`, `/library/sections/{id}/all?type=18`) and edited the
//! way Plex edits metadata: `PUT /library/sections/{id}/all?type=18&id=…&title.value=…`
//! (fields with locks, labels), `/:/rate`, and its advanced settings
//! (`PUT /library/collections/{id}/prefs?collectionMode=&collectionSort=&…`).
//!
//! Item order: by release year (`collectionSort=0`), by title (`1`) or as arranged (`2`);
//! moving an item arranges the collection (sort becomes custom), as on Plex. Smart collections
//! cannot be given items, moved or custom-sorted (400).
//!
//! # Map
//! This file holds reading collections (listing, one collection, its children) and creating
//! them; `edit` changes them.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::metadata::{RenderOpts, item_el};
use super::{Ctx, plex_error, reply};
use crate::Sim;
use crate::library::{ItemId, ItemKind, Library};
use cachearr_serverfmt::search::fold;
use cachearr_serverfmt::tree::{El, V};

mod edit;
pub(crate) use edit::*;

/// Plex's metadata type number of a collection.
pub(crate) const COLLECTION_TYPE: &str = "18";

/// One collection.
#[derive(Debug, Clone)]
pub(crate) struct Collection {
    id: u32,
    section: u32,
    subtype: ItemKind,
    title: String,
    title_sort: Option<String>,
    summary: String,
    content_rating: Option<String>,
    audience_rating: Option<f64>,
    critic_rating: Option<f64>,
    /// Smart collections: the section query (`/library/sections/{id}/all?…`).
    content: Option<String>,
    /// Regular collections: the items, as arranged.
    items: Vec<ItemId>,
    mode: i32,
    sort: i32,
    filter_user: i32,
    added_at: u32,
    updated_at: u32,
    locked: BTreeSet<String>,
    labels: Vec<String>,
    /// Per-user rating and when it was given.
    ratings: BTreeMap<u32, (f64, u32)>,
}

/// The collection `id` if it is one and the user may see its section.
fn visible(sim: &Sim, ctx: &Ctx, id: u32) -> Result<Collection, StatusCode> {
    sim.objects()
        .collections
        .get(&id)
        .filter(|c| ctx.user.can_see_section(c.section))
        .cloned()
        .ok_or(StatusCode::NOT_FOUND)
}

/// True when `id` names a collection (rating keys of collections share `/:/rate` and
/// `/library/sections/{id}/all` edits with library items).
pub(crate) fn is_collection(sim: &Sim, id: u32) -> bool {
    sim.objects().collections.contains_key(&id)
}

/// The items of collection `id` as the user sees them, in the collection's order.
pub(crate) fn item_ids(sim: &Sim, ctx: &Ctx, id: u32) -> Result<Vec<ItemId>, StatusCode> {
    let c = visible(sim, ctx, id)?;
    items_of(sim, ctx, &c)
}

fn items_of(sim: &Sim, ctx: &Ctx, c: &Collection) -> Result<Vec<ItemId>, StatusCode> {
    if let Some(content) = &c.content {
        return super::listing::resolve_uri(
            sim,
            ctx,
            &format!("server://local/com.plexapp.plugins.library{content}"),
        );
    }
    let lib = sim.library();
    let mut ids: Vec<ItemId> = c
        .items
        .iter()
        .copied()
        .filter(|&i| lib.item(i).is_some_and(|i| ctx.user.plex_sees(&i)))
        .collect();
    match c.sort {
        0 => ids.sort_by_key(|&i| lib.item(i).map(|i| (i.year(), i.added_at()))),
        1 => ids.sort_by_cached_key(|&i| lib.item(i).map(|i| fold(i.title_sort()))),
        _ => {}
    }
    Ok(ids)
}

fn preferences(c: &Collection) -> El {
    let setting = |id: &'static str, value: i32, default: &'static str, values: &'static str| {
        El::new("Setting")
            .a("id", id)
            .a("label", "")
            .a("summary", "")
            .a("type", "int")
            .a("default", default)
            .a("value", i64::from(value))
            .a("hidden", false)
            .a("advanced", false)
            .a("group", "")
            .a("enumValues", values)
    };
    let mut prefs = El::new("Preferences")
        .kid(setting(
            "collectionMode",
            c.mode,
            "-1",
            "-1:Library default|0:Hide collection|1:Hide items in this collection|2:Show this collection and its items",
        ))
        .kid(setting(
            "collectionSort",
            c.sort,
            "0",
            "0:Release date|1:Alphabetical|2:Custom",
        ));
    if c.content.is_some() {
        prefs = prefs.kid(setting(
            "collectionFilterBasedOnUser",
            c.filter_user,
            "0",
            "0:Admin|1:User",
        ));
    }
    prefs
}

fn collection_el(lib: &Library, c: &Collection, user: u32, items: &[ItemId], detail: bool) -> El {
    let section = lib.section(c.section);
    let years: Vec<u32> = items
        .iter()
        .filter_map(|&i| lib.item(i))
        .map(|i| i.year())
        .filter(|&y| y > 0)
        .collect();
    let mut e = El::metadata_directory()
        .a("ratingKey", c.id.to_string())
        .a("key", format!("/library/collections/{}/children", c.id))
        .a(
            "guid",
            format!("collection://{}", crate::rng::uuid_from(u64::from(c.id))),
        )
        .a("type", "collection")
        .a("title", c.title.as_str())
        .opt("titleSort", c.title_sort.clone())
        .a(
            "librarySectionTitle",
            section.map_or("", |s| s.title.as_str()),
        )
        .a("librarySectionID", c.section)
        .a(
            "librarySectionKey",
            format!("/library/sections/{}", c.section),
        )
        .opt("contentRating", c.content_rating.clone())
        .a("subtype", c.subtype.plex_name())
        .a("summary", c.summary.as_str())
        .a("index", c.id - super::OBJECT_ID_BASE)
        .opt("audienceRating", c.audience_rating.map(V::F))
        .opt("rating", c.critic_rating.map(V::F))
        .a("ratingCount", items.len().max(1))
        .a(
            "thumb",
            format!("/library/collections/{}/composite/{}", c.id, c.updated_at),
        )
        .a("addedAt", c.added_at)
        .a("updatedAt", c.updated_at)
        .a("childCount", items.len())
        .a("collectionSort", i64::from(c.sort))
        .a("smart", c.content.is_some());
    if c.mode != -1 {
        e = e.a("collectionMode", i64::from(c.mode));
    }
    if let Some(content) = &c.content {
        e = e
            .a("content", content.as_str())
            .a("collectionFilterBasedOnUser", i64::from(c.filter_user));
    }
    if let (Some(min), Some(max)) = (years.iter().min(), years.iter().max()) {
        e = e.a("minYear", *min).a("maxYear", *max);
    }
    if let Some((rating, at)) = c.ratings.get(&user) {
        e = e.a("userRating", V::F(*rating)).a("lastRatedAt", *at);
    }
    for (i, label) in c.labels.iter().enumerate() {
        e.kids.push(
            El::new("Label")
                .a("id", i + 1)
                .a("tag", label.as_str())
                .a("filter", format!("label={}", i + 1)),
        );
    }
    for f in &c.locked {
        e.kids
            .push(El::new("Field").a("locked", true).a("name", f.as_str()));
    }
    if detail {
        e.kids.push(preferences(c));
    }
    e
}

fn container(lib: &Library, section: u32) -> El {
    let s = lib.section(section);
    El::container()
        .a("allowSync", true)
        .a("identifier", "com.plexapp.plugins.library")
        .a("librarySectionID", section)
        .a("librarySectionTitle", s.map_or("", |s| s.title.as_str()))
        .a("librarySectionUUID", s.map_or("", |s| s.uuid.as_str()))
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mediaTagVersion", 1_700_000_000u32)
}

/// Renders one collection in a container (the answer to a detail, create or edit request).
async fn answer(sim: &Sim, ctx: &Ctx, id: u32) -> Response {
    let c = match visible(sim, ctx, id) {
        Ok(c) => c,
        Err(status) => return plex_error(status),
    };
    let items = match items_of(sim, ctx, &c) {
        Ok(items) => items,
        Err(status) => return plex_error(status),
    };
    let doc = {
        let lib = sim.library();
        container(&lib, c.section)
            .a("size", 1u32)
            .kid(collection_el(&lib, &c, ctx.user.id, &items, true))
    };
    sim.charge(items.len() as u64, 1).await;
    reply(ctx.json, &doc)
}

/// The listing of a section's collections (`/library/sections/{id}/collections`, and
/// `/library/sections/{id}/all?type=18`), with `title=` (contains) and `title==` (equals)
/// filters and `<Meta>` when asked.
pub(crate) async fn section_listing(sim: Sim, ctx: Ctx, section: String) -> Response {
    let Ok(section) = section.parse::<u32>() else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    if sim.library().section(section).is_none() || !ctx.user.can_see_section(section) {
        return plex_error(StatusCode::NOT_FOUND);
    }
    let mut found: Vec<Collection> = sim
        .objects()
        .collections
        .values()
        .filter(|c| c.section == section)
        .cloned()
        .collect();
    for (k, v) in &ctx.query {
        let want = fold(v);
        match k.as_str() {
            "title" => found.retain(|c| fold(&c.title).contains(&want)),
            "title=" => found.retain(|c| fold(&c.title) == want),
            "title!" => found.retain(|c| !fold(&c.title).contains(&want)),
            _ => {}
        }
    }
    found.sort_by_cached_key(|c| fold(c.title_sort.as_deref().unwrap_or(&c.title)));
    let mut rendered = Vec::new();
    for c in &found {
        match items_of(&sim, &ctx, c) {
            Ok(items) => rendered.push((c, items)),
            Err(status) => return plex_error(status),
        }
    }
    let total = rendered.len();
    let (start, end) = super::window(&ctx, total);
    let doc = {
        let lib = sim.library();
        let mut doc = container(&lib, section)
            .a(
                "title1",
                lib.section(section).map_or("", |s| s.title.as_str()),
            )
            .a("title2", "Collections")
            .a("viewGroup", "collection");
        for (c, items) in &rendered[start..end] {
            doc.kids
                .push(collection_el(&lib, c, ctx.user.id, items, false));
        }
        if ctx.flag("includeMeta") {
            doc.kids.push(
                El::new("Meta").kid(
                    El::new("Type")
                        .a("key", format!("/library/sections/{section}/collections"))
                        .a("type", "collection")
                        .a("title", "Collections")
                        .a("active", false),
                ),
            );
        }
        doc.attrs.insert(0, ("size", (end - start).into()));
        if ctx.start.is_some() || ctx.size.is_some() {
            doc.attrs.insert(1, ("totalSize", total.into()));
            doc.attrs.insert(2, ("offset", start.into()));
        }
        doc
    };
    sim.charge(total as u64, (end - start) as u64).await;
    match (ctx.start.is_some() || ctx.size.is_some()).then_some((start, total)) {
        Some((start, total)) => super::reply_paged(ctx.json, &doc, start, total),
        None => reply(ctx.json, &doc),
    }
}

/// `GET /library/sections/{id}/collections`.
pub(crate) async fn section_collections(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    section_listing(sim, ctx, id).await
}

/// The path and query of a `server://{machine}/com.plexapp.plugins.library/…` uri.
fn uri_path(uri: &str) -> Result<String, StatusCode> {
    let rest = uri
        .strip_prefix("server://")
        .ok_or(StatusCode::BAD_REQUEST)?;
    let (_, path) = rest.split_once('/').ok_or(StatusCode::BAD_REQUEST)?;
    Ok(path
        .strip_prefix("com.plexapp.plugins.library")
        .unwrap_or(path)
        .to_string())
}

/// The items a regular collection is given (`uri=…/library/metadata/1,2`): all of the
/// collection's section and kind, else 400.
fn given_items(
    sim: &Sim,
    ctx: &Ctx,
    section: u32,
    kind: Option<ItemKind>,
) -> Result<(Vec<ItemId>, ItemKind), StatusCode> {
    let uri = ctx.q("uri").ok_or(StatusCode::BAD_REQUEST)?;
    let path = uri_path(uri)?;
    let ids = path
        .strip_prefix("/library/metadata/")
        .ok_or(StatusCode::BAD_REQUEST)?;
    let ids = super::listing::parse_ids(ids).map_err(|_| StatusCode::BAD_REQUEST)?;
    let lib = sim.library();
    let mut out = Vec::new();
    let mut first_kind = kind;
    for id in ids {
        let item = lib
            .item(id)
            .filter(|i| ctx.user.plex_sees(i))
            .ok_or(StatusCode::NOT_FOUND)?;
        let k = *first_kind.get_or_insert(item.kind());
        if item.kind() != k || item.section().id != section {
            return Err(StatusCode::BAD_REQUEST);
        }
        out.push(id);
    }
    let kind = first_kind.ok_or(StatusCode::BAD_REQUEST)?;
    if out.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok((out, kind))
}

/// A smart collection's query (`uri=…/library/sections/{id}/all?…`), checked by running it.
fn smart_query(sim: &Sim, ctx: &Ctx, section: u32) -> Result<(String, ItemKind), StatusCode> {
    let uri = ctx.q("uri").ok_or(StatusCode::BAD_REQUEST)?;
    let path = uri_path(uri)?;
    let prefix = format!("/library/sections/{section}/all");
    if !path.starts_with(&prefix) {
        return Err(StatusCode::BAD_REQUEST);
    }
    super::listing::resolve_uri(
        sim,
        ctx,
        &format!("server://local/com.plexapp.plugins.library{path}"),
    )?;
    let kind = form_urlencoded::parse(path.split_once('?').map_or("", |(_, q)| q).as_bytes())
        .find(|(k, _)| k == "type")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .and_then(ItemKind::from_plex_type)
        .or_else(|| sim.library().section(section).map(|s| s.top_kind()))
        .ok_or(StatusCode::BAD_REQUEST)?;
    Ok((path, kind))
}

/// `POST /library/collections?uri=&type=&title=&smart=0|1&sectionId=`.
pub(crate) async fn create(State(sim): State<Sim>, ctx: Ctx) -> Response {
    let made = (|| -> Result<u32, StatusCode> {
        if !ctx.user.is_owner {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let title = ctx
            .q("title")
            .filter(|t| !t.is_empty())
            .ok_or(StatusCode::BAD_REQUEST)?;
        let section: u32 = ctx
            .q("sectionId")
            .and_then(|s| s.parse().ok())
            .ok_or(StatusCode::BAD_REQUEST)?;
        if sim.library().section(section).is_none() {
            return Err(StatusCode::NOT_FOUND);
        }
        let (items, content, subtype) = if ctx.flag("smart") {
            let (content, kind) = smart_query(&sim, &ctx, section)?;
            (Vec::new(), Some(content), kind)
        } else {
            let (items, kind) = given_items(&sim, &ctx, section, None)?;
            (items, None, kind)
        };
        let now = sim.now();
        let mut objects = sim.objects();
        let id = objects.next_id();
        objects.collections.insert(
            id,
            Collection {
                id,
                section,
                subtype,
                title: title.to_string(),
                title_sort: None,
                summary: String::new(),
                content_rating: None,
                audience_rating: None,
                critic_rating: None,
                content,
                items,
                mode: -1,
                sort: 0,
                filter_user: 0,
                added_at: now,
                updated_at: now,
                locked: BTreeSet::new(),
                labels: Vec::new(),
                ratings: BTreeMap::new(),
            },
        );
        Ok(id)
    })();
    match made {
        Ok(id) => answer(&sim, &ctx, id).await,
        Err(status) => plex_error(status),
    }
}

fn collection_id(id: &str) -> Result<u32, StatusCode> {
    id.parse().map_err(|_| StatusCode::NOT_FOUND)
}

/// `GET /library/collections/{id}` (`includePreferences` or not: the settings are always there).
pub(crate) async fn get(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    match collection_id(&id) {
        Ok(id) => answer(&sim, &ctx, id).await,
        Err(status) => plex_error(status),
    }
}

/// `DELETE /library/collections/{id}`.
pub(crate) async fn delete(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let removed = collection_id(&id).and_then(|id| {
        visible(&sim, &ctx, id)?;
        if !ctx.user.is_owner {
            return Err(StatusCode::UNAUTHORIZED);
        }
        sim.objects().collections.remove(&id);
        Ok(())
    });
    match removed {
        Ok(()) => super::empty(&ctx),
        Err(status) => plex_error(status),
    }
}

/// `GET /library/collections/{id}/children`: the items, in the collection's order.
pub(crate) async fn children(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let c = match collection_id(&id).and_then(|id| visible(&sim, &ctx, id)) {
        Ok(c) => c,
        Err(status) => return plex_error(status),
    };
    let items = match items_of(&sim, &ctx, &c) {
        Ok(items) => items,
        Err(status) => return plex_error(status),
    };
    let total = items.len();
    let (start, end) = super::window(&ctx, total);
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let mut doc = container(&lib, c.section)
            .a("ratingKey", c.id.to_string())
            .a("title", c.title.as_str())
            .a("smart", c.content.is_some());
        for &id in &items[start..end] {
            if let Some(item) = lib.item(id) {
                doc.kids.push(item_el(
                    &lib,
                    &state,
                    ctx.user.id,
                    &item,
                    RenderOpts::default(),
                ));
            }
        }
        doc.attrs.insert(0, ("size", doc.kids.len().into()));
        if ctx.start.is_some() || ctx.size.is_some() {
            doc.attrs.insert(1, ("totalSize", total.into()));
            doc.attrs.insert(2, ("offset", start.into()));
        }
        doc
    };
    sim.charge(total as u64, doc.kids.len() as u64).await;
    if ctx.start.is_some() || ctx.size.is_some() {
        super::reply_paged(ctx.json, &doc, start, total)
    } else {
        reply(ctx.json, &doc)
    }
}
