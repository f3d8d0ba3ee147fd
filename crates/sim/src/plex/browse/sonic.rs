//! What the server's sonic analysis answers (a Plex Pass feature): an item's sonically
//! similar items (`GET /library/metadata/{id}/nearest`, python-plexapi's `sonicallySimilar`)
//! and a sonic adventure between two tracks (`GET /library/sections/{id}/computePath`,
//! `sonicAdventure`).
//!
//! Only analysed music has neighbours: the generated music (`musicAnalysisVersion`); a
//! described library's items carry no analysis, so they have none, as on a server whose
//! analysis has not run. The distance of two items is a fixed function of the pair,
//! symmetric, in [0, 1).

use super::views::sized_reply;
use super::*;
use crate::library::SectionKind;
use crate::rng::mix;
use cachearr_serverfmt::tree::V;

/// The server's defaults (python-plexapi's documentation of `sonicallySimilar`).
const DEFAULT_LIMIT: usize = 50;
const DEFAULT_MAX_DISTANCE: f64 = 0.25;
/// At most this many tracks between the two ends of a sonic adventure.
const ADVENTURE_STEPS: usize = 8;

fn analysed(item: &Item<'_>) -> bool {
    item.section().kind == SectionKind::Music && item.fields().is_none()
}

/// The sonic distance of two items, to four decimals.
fn distance(a: ItemId, b: ItemId) -> f64 {
    let (lo, hi) = (a.min(b), a.max(b));
    let x = mix((u64::from(lo) << 32) ^ u64::from(hi) ^ 0x534F_4E49_4321);
    (x % 10_000) as f64 / 10_000.0
}

/// The items of `item`'s kind in its section the user may see, other than itself, with
/// their distance to it, nearest first (ties by id).
fn neighbours<'a>(lib: &'a Library, ctx: &Ctx, item: &Item<'_>) -> Vec<(f64, Item<'a>)> {
    let mut near: Vec<(f64, Item<'a>)> = item
        .section()
        .items(item.kind())
        .iter()
        .filter(|&&o| o != item.id())
        .filter_map(|&o| lib.item(o))
        .filter(|o| analysed(o) && ctx.user.plex_sees(o))
        .map(|o| (distance(item.id(), o.id()), o))
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id().cmp(&b.1.id())));
    near
}

/// `GET /library/metadata/{id}/nearest?limit=&maxDistance=`: items of the same kind, each
/// with its `distance`, nearest first. A bad `limit` or a `maxDistance` outside 0–1 is a 400.
pub(crate) async fn nearest(State(sim): State<Sim>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let limit = match ctx.q("limit").map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) => n,
        Some(Err(_)) => return plex_error(StatusCode::BAD_REQUEST),
    };
    let max = match ctx.q("maxDistance").map(str::parse::<f64>) {
        None => DEFAULT_MAX_DISTANCE,
        Some(Ok(d)) if (0.0..=1.0).contains(&d) => d,
        Some(_) => return plex_error(StatusCode::BAD_REQUEST),
    };
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let item = match visible_item(&lib, &ctx, &id) {
            Ok(i) => i,
            Err(status) => return plex_error(status),
        };
        let mut doc = El::container().a("identifier", "com.plexapp.plugins.library");
        if analysed(&item) {
            for (d, other) in neighbours(&lib, &ctx, &item)
                .into_iter()
                .filter(|(d, _)| *d <= max)
                .take(limit)
            {
                let el = item_el(&lib, &state, ctx.user.id, &other, RenderOpts::default());
                doc = doc.kid(el.a("distance", V::F(d)));
            }
        }
        doc
    };
    sized_reply(&sim, &ctx, doc).await
}

/// `GET /library/sections/{id}/computePath?startID=&endID=`: a path of tracks from one to the
/// other, each step nearer the end than the start is; empty when either is not analysed.
/// Both ids must be tracks of the section the user sees (404), and given (400).
pub(crate) async fn compute_path(
    State(sim): State<Sim>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let ids = (
        ctx.q("startID").and_then(|v| v.parse::<ItemId>().ok()),
        ctx.q("endID").and_then(|v| v.parse::<ItemId>().ok()),
    );
    let (Some(start), Some(end)) = ids else {
        return plex_error(StatusCode::BAD_REQUEST);
    };
    let doc = {
        let lib = sim.library();
        let state = sim.state();
        let section = match visible_section(&lib, &ctx, &id) {
            Ok(s) => s.id,
            Err(status) => return plex_error(status),
        };
        let track = |id: ItemId| {
            lib.item(id).filter(|i| {
                i.kind() == ItemKind::Track && i.section().id == section && ctx.user.plex_sees(i)
            })
        };
        let (Some(first), Some(last)) = (track(start), track(end)) else {
            return plex_error(StatusCode::NOT_FOUND);
        };
        let mut doc = El::container().a("identifier", "com.plexapp.plugins.library");
        if analysed(&first) && analysed(&last) {
            let span = distance(start, end);
            let steps = neighbours(&lib, &ctx, &first)
                .into_iter()
                .filter(|(d, t)| t.id() != end && *d < span && distance(t.id(), end) < span)
                .take(ADVENTURE_STEPS)
                .map(|(_, t)| t);
            let path: Vec<Item<'_>> = std::iter::once(first)
                .chain(steps)
                .chain((start != end).then_some(last))
                .collect();
            for t in &path {
                doc = doc.kid(item_el(&lib, &state, ctx.user.id, t, RenderOpts::default()));
            }
        }
        doc
    };
    sized_reply(&sim, &ctx, doc).await
}
