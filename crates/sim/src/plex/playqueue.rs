//! Play queues (`/playQueues`), as a player builds them: made from items, a playlist or a
//! collection, then edited while playing. Plex's rules, as python-plexapi's suite checks them:
//!
//! * the selected item is the first one, or the one `key=` names; a shuffled queue
//!   (`shuffle=1`) keeps the selected item first;
//! * an added item goes into "Up Next": right after the last added item while that one is still
//!   after the selected item, else right after the selected item; `next=1` puts it right after
//!   the selected item and leaves the last added item as it was;
//! * moving an item after another makes it the last added item; moving it to the front does not;
//! * clearing keeps only the selected item.
//!
//! Every change bumps `playQueueVersion` and answers with the whole queue. A queue belongs to the
//! user who made it (others get 404).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::metadata::{RenderOpts, item_el};
use super::{Ctx, plex_error, reply};
use crate::Sim;
use crate::library::ItemId;
use cachearr_serverfmt::tree::El;

/// One play queue.
#[derive(Debug, Clone)]
pub(crate) struct PlayQueue {
    id: u32,
    owner: u32,
    source_uri: String,
    /// (playQueueItemID, item), in play order.
    items: Vec<(u32, ItemId)>,
    selected: u32,
    last_added: Option<u32>,
    shuffled: bool,
    version: u32,
}

impl PlayQueue {
    fn position(&self, entry: u32) -> Option<usize> {
        self.items.iter().position(|(e, _)| *e == entry)
    }

    fn selected_position(&self) -> usize {
        self.position(self.selected).unwrap_or(0)
    }
}

/// The items a play queue `uri=` names, expanded to playable items: `library:///directory/…`,
/// `library://{section uuid}/item/…` and `server://{machine}/com.plexapp.plugins.library/…`
/// around `/library/metadata/{ids}`, `/library/collections/{id}`, `/playlists/{id}/items` or a
/// section query.
fn resolve(sim: &Sim, ctx: &Ctx, uri: &str) -> Result<Vec<ItemId>, StatusCode> {
    let path = if let Some(rest) = uri.strip_prefix("library://") {
        // `library:///directory/%2Flibrary%2Fmetadata%2F1%2C2` or `library://uuid/item/%2F…`.
        let (_, rest) = rest.split_once('/').ok_or(StatusCode::BAD_REQUEST)?;
        let rest = rest
            .strip_prefix("directory")
            .or_else(|| rest.strip_prefix("item"))
            .ok_or(StatusCode::BAD_REQUEST)?;
        // What follows is the (percent-encoded) path, after a separating slash.
        let path = percent_decode(rest.strip_prefix('/').unwrap_or(rest));
        if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        }
    } else if let Some(rest) = uri.strip_prefix("server://") {
        let (_, rest) = rest.split_once('/').ok_or(StatusCode::BAD_REQUEST)?;
        rest.strip_prefix("com.plexapp.plugins.library")
            .unwrap_or(rest)
            .to_string()
    } else {
        return Err(StatusCode::BAD_REQUEST);
    };
    if let Some(id) = path
        .strip_prefix("/library/collections/")
        .map(|r| r.trim_end_matches("/children").trim_end_matches("/items"))
    {
        let id: u32 = id.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
        let items = super::collections::item_ids(sim, ctx, id)?;
        let lib = sim.library();
        return Ok(items.into_iter().flat_map(|i| lib.leaves(i)).collect());
    }
    if let Some(id) = path.strip_prefix("/playlists/") {
        let id: u32 = id
            .trim_end_matches("/items")
            .parse()
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        return playlist_items(sim, ctx, id);
    }
    super::listing::resolve_uri(
        sim,
        ctx,
        &format!("server://local/com.plexapp.plugins.library{path}"),
    )
}

fn playlist_items(sim: &Sim, ctx: &Ctx, id: u32) -> Result<Vec<ItemId>, StatusCode> {
    let state = sim.state();
    let p = state
        .playlist(ctx.user.id, id)
        .ok_or(StatusCode::NOT_FOUND)?;
    Ok(p.items.iter().map(|e| e.item).collect())
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The items a create or add request names (`playlistID=` or `uri=`).
fn requested_items(sim: &Sim, ctx: &Ctx) -> Result<Vec<ItemId>, StatusCode> {
    let items = if let Some(pl) = ctx.q("playlistID") {
        let id: u32 = pl.parse().map_err(|_| StatusCode::BAD_REQUEST)?;
        playlist_items(sim, ctx, id)?
    } else {
        let uri = ctx.q("uri").ok_or(StatusCode::BAD_REQUEST)?;
        resolve(sim, ctx, uri)?
    };
    let lib = sim.library();
    Ok(items
        .into_iter()
        .filter(|&i| lib.item(i).is_some_and(|i| ctx.user.plex_sees(&i)))
        .collect())
}

/// Fisher–Yates with the simulator's deterministic generator, seeded by the queue id.
fn shuffle(items: &mut [(u32, ItemId)], seed: u64) {
    let mut rng = crate::rng::SplitMix64::new(seed);
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn render(sim: &Sim, ctx: &Ctx, q: &PlayQueue) -> El {
    let lib = sim.library();
    let state = sim.state();
    let pos = q.selected_position();
    let selected_item = q.items.get(pos).map_or(0, |(_, i)| *i);
    let mut doc = El::container()
        .a("size", q.items.len())
        .a("identifier", "com.plexapp.plugins.library")
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mediaTagVersion", 1_700_000_000u32)
        .a("playQueueID", q.id)
        .opt("playQueueLastAddedItemID", q.last_added)
        .a("playQueueSelectedItemID", q.selected)
        .a("playQueueSelectedItemOffset", pos)
        .a("playQueueSelectedMetadataItemID", selected_item)
        .a("playQueueShuffled", q.shuffled)
        .a("playQueueSourceURI", q.source_uri.as_str())
        .a("playQueueTotalCount", q.items.len())
        .a("playQueueVersion", q.version);
    for (entry, id) in &q.items {
        if let Some(item) = lib.item(*id) {
            doc.kids.push(
                item_el(&lib, &state, ctx.user.id, &item, RenderOpts::default())
                    .a("playQueueItemID", *entry),
            );
        }
    }
    doc
}

async fn answer(sim: &Sim, ctx: &Ctx, id: u32) -> Response {
    let q = sim.objects().queues.get(&id).cloned();
    let Some(q) = q.filter(|q| q.owner == ctx.user.id) else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let doc = render(sim, ctx, &q);
    sim.charge(0, doc.kids.len() as u64).await;
    reply(ctx.json, &doc)
}

/// `POST /playQueues?type=&uri=|playlistID=&key=&shuffle=`.
pub(crate) async fn create(State(sim): State<Sim>, ctx: Ctx) -> Response {
    if !matches!(ctx.q("type"), Some("audio" | "video" | "photo")) {
        return plex_error(StatusCode::BAD_REQUEST);
    }
    let items = match requested_items(&sim, &ctx) {
        Ok(items) if !items.is_empty() => items,
        Ok(_) => return plex_error(StatusCode::BAD_REQUEST),
        Err(status) => return plex_error(status),
    };
    let start = ctx
        .q("key")
        .and_then(|k| k.strip_prefix("/library/metadata/"))
        .and_then(|k| k.parse::<ItemId>().ok());
    let shuffled = ctx.flag("shuffle");
    let source_uri = match ctx.q("playlistID") {
        Some(pl) => format!("/playlists/{pl}"),
        None => ctx.q("uri").unwrap_or_default().to_string(),
    };
    let id = {
        let mut objects = sim.objects();
        let id = objects.next_id();
        let mut entries: Vec<(u32, ItemId)> = items
            .into_iter()
            .map(|i| (objects.next_entry(), i))
            .collect();
        let mut selected = start
            .and_then(|s| entries.iter().find(|(_, i)| *i == s))
            .unwrap_or(&entries[0])
            .0;
        if shuffled {
            shuffle(&mut entries, u64::from(id));
            // The item chosen to start with stays first.
            if start.is_some() {
                let pos = entries
                    .iter()
                    .position(|(e, _)| *e == selected)
                    .unwrap_or(0);
                let first = entries.remove(pos);
                entries.insert(0, first);
            } else {
                selected = entries[0].0;
            }
        }
        objects.queues.insert(
            id,
            PlayQueue {
                id,
                owner: ctx.user.id,
                source_uri,
                items: entries,
                selected,
                last_added: None,
                shuffled,
                version: 1,
            },
        );
        id
    };
    answer(&sim, &ctx, id).await
}

fn queue_id(id: &str) -> Result<u32, StatusCode> {
    id.parse().map_err(|_| StatusCode::NOT_FOUND)
}

/// Applies `change` to the user's queue `id` (with the server's play queue item id counter),
/// bumps its version and answers with it.
async fn change(
    sim: &Sim,
    ctx: &Ctx,
    id: &str,
    change: impl FnOnce(&mut PlayQueue, &mut u32) -> Result<(), StatusCode>,
) -> Response {
    let id = match queue_id(id) {
        Ok(id) => id,
        Err(status) => return plex_error(status),
    };
    let result = {
        let mut guard = sim.objects();
        let objects = &mut *guard;
        match objects.queues.get_mut(&id) {
            Some(q) if q.owner == ctx.user.id => {
                let r = change(q, &mut objects.next_entry);
                if r.is_ok() {
                    q.version += 1;
                }
                r
            }
            _ => Err(StatusCode::NOT_FOUND),
        }
    };
    match result {
        Ok(()) => answer(sim, ctx, id).await,
        Err(status) => plex_error(status),
    }
}

/// `GET /playQueues/{id}`.
pub(crate) async fn get(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    match queue_id(&id) {
        Ok(id) => answer(&sim, &ctx, id).await,
        Err(status) => plex_error(status),
    }
}

/// `PUT /playQueues/{id}?uri=|playlistID=[&next=1]`: adds to "Up Next".
pub(crate) async fn add(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let items = match requested_items(&sim, &ctx) {
        Ok(items) if !items.is_empty() => items,
        Ok(_) => return plex_error(StatusCode::BAD_REQUEST),
        Err(status) => return plex_error(status),
    };
    let next = ctx.flag("next");
    change(&sim, &ctx, &id, |q, counter| {
        let sel = q.selected_position();
        let after_last = q
            .last_added
            .and_then(|l| q.position(l))
            .filter(|&p| p >= sel && !next);
        let at = (after_last.unwrap_or(sel) + 1).min(q.items.len());
        let added: Vec<(u32, ItemId)> = items
            .into_iter()
            .map(|item| {
                *counter += 1;
                (*counter, item)
            })
            .collect();
        let last = added.last().map(|(e, _)| *e);
        q.items.splice(at..at, added);
        if !next {
            q.last_added = last;
        }
        Ok(())
    })
    .await
}

/// `PUT /playQueues/{id}/items/{entry}/move[?after={entry}]`.
pub(crate) async fn move_item(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, entry)): Path<(String, String)>,
) -> Response {
    let Ok(entry) = entry.parse::<u32>() else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    let after = match ctx.q("after").map(str::parse::<u32>) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return plex_error(StatusCode::BAD_REQUEST),
    };
    change(&sim, &ctx, &id, |q, _| {
        let from = q.position(entry).ok_or(StatusCode::NOT_FOUND)?;
        if after.is_some_and(|a| q.position(a).is_none()) {
            return Err(StatusCode::NOT_FOUND);
        }
        let moved = q.items.remove(from);
        let to = match after {
            Some(a) => q.position(a).map_or(q.items.len(), |p| p + 1),
            None => 0,
        };
        q.items.insert(to, moved);
        if after.is_some() {
            q.last_added = Some(entry);
        }
        Ok(())
    })
    .await
}

/// `DELETE /playQueues/{id}/items/{entry}`.
pub(crate) async fn remove_item(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path((id, entry)): Path<(String, String)>,
) -> Response {
    let Ok(entry) = entry.parse::<u32>() else {
        return plex_error(StatusCode::NOT_FOUND);
    };
    change(&sim, &ctx, &id, |q, _| {
        let pos = q.position(entry).ok_or(StatusCode::NOT_FOUND)?;
        if q.items.len() == 1 {
            return Err(StatusCode::BAD_REQUEST);
        }
        q.items.remove(pos);
        if q.selected == entry {
            q.selected = q.items[pos.min(q.items.len() - 1)].0;
        }
        if q.last_added == Some(entry) {
            q.last_added = None;
        }
        Ok(())
    })
    .await
}

/// `DELETE /playQueues/{id}/items`: keeps only the selected item.
pub(crate) async fn clear(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    change(&sim, &ctx, &id, |q, _| {
        let sel = q.selected;
        q.items.retain(|(e, _)| *e == sel);
        q.last_added = None;
        Ok(())
    })
    .await
}

/// `PUT /playQueues/{id}/shuffle` and `/unshuffle`: reorders what follows the selected item.
pub(crate) async fn shuffle_queue(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    change(&sim, &ctx, &id, |q, _| {
        let sel = q.selected_position();
        let seed = u64::from(q.id) ^ u64::from(q.version);
        shuffle(&mut q.items[sel + 1..], seed);
        q.shuffled = true;
        Ok(())
    })
    .await
}

/// `PUT /playQueues/{id}/unshuffle`: back to the order the entries were made in.
pub(crate) async fn unshuffle_queue(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    change(&sim, &ctx, &id, |q, _| {
        q.items.sort_by_key(|(e, _)| *e);
        q.shuffled = false;
        Ok(())
    })
    .await
}
