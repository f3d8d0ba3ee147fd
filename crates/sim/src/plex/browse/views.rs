//! The other read views: the whole library's items, a section's albums, on deck and tags,
//! matches, related and similar items, reviews, and a section's timeline, common fields and
//! hubs.

use super::*;

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
    listing_reply(&sim, &ctx, doc, listing).await
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
    listing_reply(&sim, &ctx, doc, listing).await
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
        let all = super::super::lists::on_deck_ids(&sim, &ctx);
        let lib = sim.library();
        all.into_iter()
            .filter(|&i| lib.item(i).is_some_and(|i| i.section().id == section))
            .collect()
    };
    super::super::lists::on_deck_reply(&sim, &ctx, ids).await
}

/// Tag types of `/library/tags?type=` (Plex's numbering).
pub(super) const TAG_TYPES: &[(u32, &str)] = &[
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
            for item in visible_items(&lib, &ctx, s, s.kind.kinds()) {
                for t in super::super::editing::tags(&item, el) {
                    *counts.entry(t).or_default() += 1;
                }
            }
        }
        let filter = super::super::editing::filter_of(el).unwrap_or("tag");
        let mut doc = El::container().a("size", counts.len());
        for (tag, count) in counts {
            let id = super::super::editing::tag_id(el, &tag);
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
        let item = match visible_item(&lib, &ctx, &id) {
            Ok(i) => i,
            Err(status) => return plex_error(status),
        };
        let title = ctx.q("title").unwrap_or("").to_string();
        let s = item.section();
        let external = ["imdb-", "tmdb-", "tvdb-"]
            .iter()
            .find(|p| title.starts_with(**p))
            .map(|p| format!("{}://{}", &p[..4], &title[5..]));
        let folded = cachearr_serverfmt::search::fold(&title);
        let mut doc = El::container().a("identifier", "com.plexapp.plugins.library");
        if !title.is_empty() {
            for &cand in s.items(item.kind()) {
                let Some(c) = lib.item(cand) else {
                    continue;
                };
                let hit = match &external {
                    Some(g) => c.guids().iter().any(|x| x == g),
                    None => cachearr_serverfmt::search::fold(c.title()).contains(&folded),
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
        doc
    };
    sized_reply(&sim, &ctx, doc).await
}

/// The item shown as related to `item`: the first other item of its kind in its section that
/// shares a genre with it, else the first other one.
pub(super) fn similar_to(lib: &Library, item: &Item<'_>) -> Option<ItemId> {
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

/// What the related hub of `item` shows, if the user may see it: for a movie or a show the
/// item [`similar_to`] it; other kinds have no related hub.
fn related_item<'a>(lib: &'a Library, ctx: &Ctx, item: &Item<'_>) -> Option<Item<'a>> {
    if !matches!(item.kind(), ItemKind::Movie | ItemKind::Show) {
        return None;
    }
    similar_to(lib, item)
        .and_then(|o| lib.item(o))
        .filter(|o| ctx.user.plex_sees(o))
}

/// Answers with `doc` once its children are in: its `size`, their number, goes first as Plex
/// writes it, and rendering them is charged.
pub(super) async fn sized_reply(sim: &Sim, ctx: &Ctx, mut doc: El) -> Response {
    doc.attrs.insert(0, ("size", doc.kids.len().into()));
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `GET /library/metadata/{id}/related`: the related hubs of a movie or show (`Related
/// Movies`/`Related Shows`, one item each); other kinds have none.
pub(crate) async fn related(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let item = match visible_item(&lib, &ctx, &id) {
            Ok(i) => i,
            Err(status) => return plex_error(status),
        };
        let mut doc = El::container()
            .a("identifier", "com.plexapp.plugins.library")
            .a("librarySectionID", item.section().id)
            .a("librarySectionTitle", item.section().title.as_str())
            .a("librarySectionUUID", item.section().uuid.as_str());
        if let Some(other) = related_item(&lib, &ctx, &item) {
            // Only movies and shows have one.
            let title = if item.kind() == ItemKind::Show {
                "Related Shows"
            } else {
                "Related Movies"
            };
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
        doc
    };
    sized_reply(&sim, &ctx, doc).await
}

/// `GET /library/metadata/{id}/similar`: the items of the related hub.
pub(crate) async fn similar(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let item = match visible_item(&lib, &ctx, &id) {
            Ok(i) => i,
            Err(status) => return plex_error(status),
        };
        let mut doc = El::container().a("identifier", "com.plexapp.plugins.library");
        if let Some(other) = related_item(&lib, &ctx, &item) {
            doc = doc.kid(item_el(
                &lib,
                &state,
                ctx.user.id,
                &other,
                RenderOpts::default(),
            ));
        }
        doc
    };
    sized_reply(&sim, &ctx, doc).await
}

/// Applies `excludeElements=Media,Genre,…` and `excludeFields=summary,tagline` to an element.
pub(super) fn exclude(el: &mut El, ctx: &Ctx) {
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
pub(super) fn reviews(item: &Item<'_>) -> Vec<El> {
    let rated = item
        .fields()
        .and_then(|f| f.attrs.get("ratingImage"))
        .and_then(|v| v.as_str())
        .is_some_and(|i| i.starts_with("rottentomatoes://"));
    if item.kind() != ItemKind::Movie || !rated {
        return Vec::new();
    }
    let slug = cachearr_serverfmt::search::fold(item.title()).replace(' ', "_");
    [
        ("Film Critic", "The Daily Review", true),
        ("Second Critic", "Weekly Screen", false),
    ]
    .iter()
    .enumerate()
    .map(|(n, &(critic, source, fresh))| {
        let id = super::super::editing::tag_id("Review", &format!("{critic}/{}", item.id()));
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
            .max(sim.now());
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

/// Rating keys as Plex lists several in one attribute: comma-separated.
fn rating_keys(ids: &[ItemId]) -> String {
    ids.iter()
        .map(ItemId::to_string)
        .collect::<Vec<_>>()
        .join(",")
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
                    .a("ratingKey", rating_keys(&ids)),
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
        let mut recent: Vec<ItemId> = visible_items(&lib, &ctx, s, &[kind])
            .map(|i| i.id())
            .collect();
        recent.sort_by_key(|&i| std::cmp::Reverse(lib.item(i).map(|i| i.added_at()).unwrap_or(0)));
        recent.truncate(10);
        let name = kind.plex_name();
        let mut hub = El::new("Hub")
            .a("key", format!("/hubs/sections/{}/recentlyAdded", s.id))
            .a(
                "hubKey",
                format!("/library/metadata/{}", rating_keys(&recent)),
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
