//! Changing a collection: its items (add, remove, move, which arranges it), its advanced
//! settings, its fields and labels through the section's metadata edit, its rating, and its
//! poster and art.

use super::*;

/// Applies `change` to collection `id` (owner only) and stamps `updatedAt`.
pub(super) fn modify(
    sim: &Sim,
    ctx: &Ctx,
    id: &str,
    change: impl FnOnce(&mut Collection) -> Result<(), StatusCode>,
) -> Result<(), StatusCode> {
    let id = collection_id(id)?;
    visible(sim, ctx, id)?;
    if !ctx.user.is_owner {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let now = sim.now();
    let mut objects = sim.objects();
    let c = objects
        .collections
        .get_mut(&id)
        .ok_or(StatusCode::NOT_FOUND)?;
    change(c)?;
    c.updated_at = now;
    Ok(())
}

/// `PUT /library/collections/{id}/items?uri=`: adds items (regular) or replaces the query
/// (smart).
pub(crate) async fn put_items(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let current = match collection_id(&id).and_then(|i| visible(&sim, &ctx, i)) {
        Ok(c) => c,
        Err(status) => return plex_error(status),
    };
    let r = if current.content.is_some() {
        smart_query(&sim, &ctx, current.section).and_then(|(content, kind)| {
            modify(&sim, &ctx, &id, |c| {
                c.content = Some(content);
                c.subtype = kind;
                Ok(())
            })
        })
    } else {
        given_items(&sim, &ctx, current.section, Some(current.subtype)).and_then(|(items, _)| {
            modify(&sim, &ctx, &id, |c| {
                for i in items {
                    if !c.items.contains(&i) {
                        c.items.push(i);
                    }
                }
                Ok(())
            })
        })
    };
    match r {
        Ok(()) => answer(&sim, &ctx, current.id).await,
        Err(status) => plex_error(status),
    }
}

/// `DELETE /library/collections/{id}/items/{item}`.
pub(crate) async fn remove_item(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, item)): Path<(String, String)>,
) -> Response {
    let r = item
        .parse::<ItemId>()
        .map_err(|_| StatusCode::NOT_FOUND)
        .and_then(|item| {
            modify(&sim, &ctx, &id, |c| {
                if c.content.is_some() {
                    return Err(StatusCode::BAD_REQUEST);
                }
                let pos = c
                    .items
                    .iter()
                    .position(|&i| i == item)
                    .ok_or(StatusCode::NOT_FOUND)?;
                c.items.remove(pos);
                Ok(())
            })
        });
    match r {
        Ok(()) => super::super::empty(&ctx),
        Err(status) => plex_error(status),
    }
}

/// `PUT /library/collections/{id}/items/{item}/move[?after={item}]`: arranges the collection.
pub(crate) async fn move_item(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, item)): Path<(String, String)>,
) -> Response {
    let after = match ctx.q("after").map(str::parse::<ItemId>) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return plex_error(StatusCode::BAD_REQUEST),
    };
    let r = item
        .parse::<ItemId>()
        .map_err(|_| StatusCode::NOT_FOUND)
        .and_then(|item| {
            // The arrangement starts from the order the collection shows now.
            let shown = collection_id(&id)
                .and_then(|i| visible(&sim, &ctx, i))
                .and_then(|c| items_of(&sim, &ctx, &c))?;
            modify(&sim, &ctx, &id, |c| {
                if c.content.is_some() {
                    return Err(StatusCode::BAD_REQUEST);
                }
                let mut order = shown;
                order.extend(
                    c.items
                        .iter()
                        .filter(|i| !order.contains(i))
                        .copied()
                        .collect::<Vec<_>>(),
                );
                let from = order
                    .iter()
                    .position(|&i| i == item)
                    .ok_or(StatusCode::NOT_FOUND)?;
                let moved = order.remove(from);
                let to = match after {
                    Some(a) => {
                        order
                            .iter()
                            .position(|&i| i == a)
                            .ok_or(StatusCode::NOT_FOUND)?
                            + 1
                    }
                    None => 0,
                };
                order.insert(to, moved);
                c.items = order;
                c.sort = 2;
                Ok(())
            })
        });
    match r {
        Ok(()) => super::super::empty(&ctx),
        Err(status) => plex_error(status),
    }
}

/// `PUT /library/collections/{id}/prefs?collectionMode=&collectionSort=&collectionFilterBasedOnUser=`.
pub(crate) async fn put_prefs(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let r = modify(&sim, &ctx, &id, |c| {
        for (k, v) in &ctx.query {
            let n = || v.parse::<i32>().map_err(|_| StatusCode::BAD_REQUEST);
            match k.as_str() {
                "collectionMode" => {
                    let m = n()?;
                    if !(-1..=2).contains(&m) {
                        return Err(StatusCode::BAD_REQUEST);
                    }
                    c.mode = m;
                }
                "collectionSort" => {
                    let s = n()?;
                    if !(0..=2).contains(&s) || (c.content.is_some() && s == 2) {
                        return Err(StatusCode::BAD_REQUEST);
                    }
                    c.sort = s;
                }
                "collectionFilterBasedOnUser" => {
                    let f = n()?;
                    if !(0..=1).contains(&f) || c.content.is_none() {
                        return Err(StatusCode::BAD_REQUEST);
                    }
                    c.filter_user = f;
                }
                k if k.starts_with("X-Plex-") => {}
                _ => return Err(StatusCode::BAD_REQUEST),
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => super::super::empty(&ctx),
        Err(status) => plex_error(status),
    }
}

/// `PUT /library/sections/{id}/all?type=18&id=…`: edits collections' fields (`title`,
/// `titleSort`, `summary`, `contentRating`, `addedAt`, `audienceRating`, `rating`,
/// `userRating` as `{field}.value`, locks as `{field}.locked`) and labels
/// (`label[0].tag.tag=`, `label[].tag.tag-=`).
pub(crate) async fn edit(sim: Sim, ctx: Ctx, section: u32) -> Response {
    let ids: Vec<u32> = match ctx
        .q("id")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().parse::<u32>())
        .collect::<Result<_, _>>()
    {
        Ok(ids) => ids,
        Err(_) => return plex_error(StatusCode::BAD_REQUEST),
    };
    let user = ctx.user.id;
    let now = sim.now();
    for id in ids {
        let r = modify(&sim, &ctx, &id.to_string(), |c| {
            if c.section != section {
                return Err(StatusCode::NOT_FOUND);
            }
            apply_edits(c, &ctx.query, user, now)
        });
        if let Err(status) = r {
            return plex_error(status);
        }
    }
    sim.charge(0, 0).await;
    super::super::empty(&ctx)
}

pub(super) fn apply_edits(
    c: &mut Collection,
    query: &[(String, String)],
    user: u32,
    now: u32,
) -> Result<(), StatusCode> {
    let float = |v: &str| -> Result<Option<f64>, StatusCode> {
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<f64>()
            .map(Some)
            .map_err(|_| StatusCode::BAD_REQUEST)
    };
    for (k, v) in query {
        if let Some(field) = k.strip_suffix(".value") {
            match field {
                "title" if !v.is_empty() => c.title = v.clone(),
                "titleSort" => c.title_sort = (!v.is_empty()).then(|| v.clone()),
                "summary" => c.summary = v.clone(),
                "contentRating" => c.content_rating = (!v.is_empty()).then(|| v.clone()),
                "addedAt" => {
                    c.added_at = v.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
                }
                "audienceRating" => c.audience_rating = float(v)?,
                "rating" => c.critic_rating = float(v)?,
                "userRating" => match float(v)? {
                    Some(r) => {
                        c.ratings.insert(user, (r, now));
                    }
                    None => {
                        c.ratings.remove(&user);
                    }
                },
                _ => return Err(StatusCode::BAD_REQUEST),
            }
        } else if let Some(field) = k.strip_suffix(".locked") {
            if v == "1" {
                c.locked.insert(field.to_string());
            } else {
                c.locked.remove(field);
            }
        } else if k.starts_with("label[") && k.ends_with("].tag.tag") {
            if !c.labels.iter().any(|l| l == v) {
                c.labels.push(v.clone());
            }
        } else if k == "label[].tag.tag-" {
            let gone: Vec<String> = v
                .split(',')
                .map(|t| {
                    form_urlencoded::parse(format!("x={t}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                })
                .collect();
            c.labels.retain(|l| !gone.contains(l));
        }
    }
    Ok(())
}

/// `/:/rate` on a collection (0–10; `None` clears).
pub(crate) fn rate(sim: &Sim, ctx: &Ctx, id: u32, rating: Option<f32>) -> Result<(), StatusCode> {
    let now = sim.now();
    let mut objects = sim.objects();
    let c = objects
        .collections
        .get_mut(&id)
        .filter(|c| ctx.user.can_see_section(c.section))
        .ok_or(StatusCode::NOT_FOUND)?;
    match rating {
        Some(r) => {
            c.ratings.insert(ctx.user.id, (f64::from(r), now));
        }
        None => {
            c.ratings.remove(&ctx.user.id);
        }
    }
    Ok(())
}

/// `GET /library/collections/{id}/posters`: the composite poster Plex makes of the items.
pub(crate) async fn posters(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let c = match collection_id(&id).and_then(|id| visible(&sim, &ctx, id)) {
        Ok(c) => c,
        Err(status) => return plex_error(status),
    };
    let thumb = format!("/library/collections/{}/composite/{}", c.id, c.updated_at);
    let doc = El::container().a("size", 1u32).kid(
        El::keyed("Photo", "Metadata")
            .a("key", thumb.as_str())
            .a("ratingKey", format!("upload://posters/{}", c.id))
            .a("selected", true)
            .a("thumb", thumb.as_str())
            .a("provider", "local"),
    );
    sim.charge(0, 1).await;
    reply(ctx.json, &doc)
}

/// `GET /library/collections/{id}/arts`: a collection has no art of its own.
pub(crate) async fn arts(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if let Err(status) = collection_id(&id).and_then(|id| visible(&sim, &ctx, id)) {
        return plex_error(status);
    }
    sim.charge(0, 0).await;
    reply(ctx.json, &El::container().a("size", 0u32))
}
