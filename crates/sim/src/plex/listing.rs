//! The listing engine every read endpoint shares: which items a request names (`1,2,3` keys,
//! a `server://…` URI of explicit items or of a section query), how a listing is filtered,
//! sorted and limited, and how a page of it is rendered, charged and answered.
//!
//! # Map
//! This file holds the listing, its paging and the resolution of ids and URIs; `filter` parses
//! and applies a listing's filters and sorts.

use std::cmp::Ordering;

use axum::http::StatusCode;
use axum::response::Response;

use super::metadata::{RenderOpts, item_el};
use super::{Ctx, reply, reply_paged, window};
use crate::Sim;
use crate::library::{Item, ItemId, ItemKind, Library, Section, SectionKind};
use crate::state::State as UserState;
use cachearr_serverfmt::search::fold_into;
use cachearr_serverfmt::tree::El;

mod filter;
use filter::*;

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

/// Parses `1,2,3` (404 when nothing parses, as Plex answers for bad keys).
pub(crate) fn parse_ids(s: &str) -> Result<Vec<ItemId>, StatusCode> {
    let ids: Vec<ItemId> = s.split(',').filter_map(|p| p.trim().parse().ok()).collect();
    if ids.is_empty() {
        Err(StatusCode::NOT_FOUND)
    } else {
        Ok(ids)
    }
}

/// Resolves a playlist `uri=`: `server://{machine}/com.plexapp.plugins.library/library/metadata/1,2`
/// (explicit items) or `…/library/sections/{id}/all?type=10&…` (a smart query), to visible
/// item ids.
pub(crate) fn resolve_uri(sim: &Sim, ctx: &Ctx, uri: &str) -> Result<Vec<ItemId>, StatusCode> {
    let rest = uri
        .strip_prefix("server://")
        .ok_or(StatusCode::BAD_REQUEST)?;
    let (_machine, path) = rest.split_once('/').ok_or(StatusCode::BAD_REQUEST)?;
    let path = path
        .strip_prefix("com.plexapp.plugins.library")
        .unwrap_or(path);
    let lib = sim.library();
    if let Some(ids) = path.strip_prefix("/library/metadata/") {
        let ids: Vec<ItemId> = ids
            .split(',')
            .map(|s| s.trim().parse::<ItemId>())
            .collect::<Result<_, _>>()
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        let mut out = Vec::new();
        for id in ids {
            let item = lib
                .item(id)
                .filter(|i| ctx.user.plex_sees(i))
                .ok_or(StatusCode::NOT_FOUND)?;
            // Adding an album or artist adds its tracks (Plex expands containers).
            if item.kind().is_playable() {
                out.push(id);
            } else {
                out.extend(
                    lib.leaves(id)
                        .into_iter()
                        .filter(|&l| lib.item(l).is_some_and(|i| ctx.user.plex_sees(&i))),
                );
            }
        }
        return Ok(out);
    }
    if let Some(rest) = path.strip_prefix("/library/sections/") {
        let (sid, query) = rest.split_once('?').unwrap_or((rest, ""));
        let sid: u32 = sid
            .trim_end_matches("/all")
            .parse()
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        let s = lib
            .section(sid)
            .filter(|s| ctx.user.can_see_section(s.id))
            .ok_or(StatusCode::NOT_FOUND)?;
        let mut sub = ctx.clone();
        sub.query = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let kind = requested_kind(&sub, s)?;
        let state = sim.state();
        let listing = list(
            &lib,
            &state,
            &sub,
            s.items(kind),
            s.kind == SectionKind::Music,
        )?;
        return Ok(listing.ids);
    }
    Err(StatusCode::BAD_REQUEST)
}
