//! Frames learnt ahead: once the index is installed, a few reads of the owner's that tools
//! make first (a section's first pages, some parents' children or a series' seasons and
//! episodes, each kind's count, in each format) are sent to
//! the server and learnt from as a walk's misses are ([`frame`](super::frame)): each server
//! answer narrows the frame of its shape and proves it, on parents chosen to differ from one
//! another (other shows or artists, other season or disc numbers), so that the readings a
//! single parent leaves undecided are settled before any client asks. The proven frames are
//! kept beside the index snapshot (the keeper writes them), so a restarted gateway answers a
//! tool's first pass from its first misses instead of sending each user's first pages and
//! the proofs to the server.
//!
//! Which reads to make is the dialect's ([`ServerLibrary::frame_probes`]); the answers are
//! read straight from the server, not stored in the cache. A probe whose answer the copy does
//! not write alike refuses its shape, as a client's miss would.
//!
//! [`ServerLibrary::frame_probes`]: cachearr_dialect::ServerLibrary::frame_probes

use std::sync::Arc;

use cachearr_dialect::library::ProbeParent;
use cachearr_engine::Fill;
use cachearr_library::{ItemKind, LibraryIndex, Visibility};
use http::HeaderMap;
use http::header::{self, HeaderValue};

use super::super::titles::FoldedTitles;
use super::super::visibility::owner_of;
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::{Budget, Upstream};

/// Parents whose children each section is probed with: two prove a frame, the third
/// settles what two alike parents may leave undecided.
const PARENTS: usize = 3;

/// Sends the dialect's frame probes of every crawled section as the owner and learns from the
/// answers; returns how many were learnt from. Nothing without an index, an owner token or a
/// dialect that names probes.
pub(crate) async fn learn_frames(
    reads: &ReadThrough,
    handle: &crate::upstream_index::UpstreamIndex,
    up: &Arc<Upstream>,
) -> usize {
    let Some(index) = handle.ready().filter(|_| handle.enabled()) else {
        return 0;
    };
    let Some(owner) = owner_of(reads, up) else {
        return 0;
    };
    let Some(folded) = crate::upstream_index::folded::folded(&index).await else {
        return 0;
    };
    let library = cachearr_dialect::of(up.profile).library();
    let mut learnt = 0;
    // A read across sections (a recently-added list) is named by each section of its kind:
    // it is sent once.
    let mut sent: Vec<(String, bool)> = Vec::new();
    // Per listing probed (its first page's path), where a rival order its proof left
    // standing parts from the copy's: the listing's later probe page is read from there.
    let mut parting: Vec<(String, usize)> = Vec::new();
    for section in handle.sections().iter() {
        let parents = distinct_parents(&index, &folded, &section.id, PARENTS);
        let parents: Vec<ProbeParent<'_>> = parents
            .iter()
            .map(|p| ProbeParent {
                id: &p.id,
                grandparent: p.grandparent.as_deref(),
            })
            .collect();
        for (path, json) in library.frame_probes(&section.id, &section.kind, &parents) {
            if sent.iter().any(|(p, j)| *p == path && *j == json) {
                continue;
            }
            sent.push((path.clone(), json));
            let path = moved_to_parting(library, &parting, path);
            let mut extra = HeaderMap::new();
            if json {
                extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
            }
            learnt += usize::from(learn_from(reads, handle, up, &owner, &path, extra).await);
            if let Some(start) = handle.frames().take_parting(&path) {
                parting.push((path, start));
            }
        }
    }
    learnt + learn_empty_frame(reads, handle, up, &owner).await
}

/// `path`, a frame probe; or, when it is a later page of a listing whose first page's proof
/// left a rival order standing (`parting`: that page's path, and where the rival parts from
/// the copy's order), the same page read from where they part. Two pages of a listing's
/// first items seldom tell its order from a rival's (two films of one title, sorted by year,
/// where the rival sorts them by rating key); a page where they part does, at no request
/// more, and its answer rules the rival out — or refuses the shape, the copy's order being
/// wrong — before any user's page comes to hold such items.
fn moved_to_parting(
    library: &dyn cachearr_dialect::library::ServerLibrary,
    parting: &[(String, usize)],
    path: String,
) -> String {
    let Some(first) = library.probe_page_from(&path, 0) else {
        return path;
    };
    match parting.iter().find(|(probed, _)| *probed == first) {
        Some(&(_, start)) if first != path => library.probe_page_from(&path, start).unwrap_or(path),
        _ => path,
    }
}

/// Proves the frame of an empty listing's page (`none_of`) on the owner's listings of kinds
/// the crawl found libraries hold none of, each one of the counts the crawl made: a client's
/// library walk then has its empty listings answered from its first. Returns how many were
/// learnt from; nothing where no library holds none of a kind (or the dialect writes no such
/// page).
async fn learn_empty_frame(
    reads: &ReadThrough,
    handle: &crate::upstream_index::UpstreamIndex,
    up: &Arc<Upstream>,
    owner: &Arc<cachearr_upstream::users::UserRecord>,
) -> usize {
    let Some(none_of) = handle.kinds_held().current() else {
        return 0;
    };
    let library = cachearr_dialect::of(up.profile).library();
    // Made before the first request: nothing borrowed by a closure is held across one.
    let mut paths: Vec<String> = Vec::new();
    for (id, types) in &none_of.libraries {
        for item_type in types {
            paths.extend(library.type_count_path(Some(id), item_type));
        }
    }
    for item_type in &none_of.server {
        paths.extend(library.type_count_path(None, item_type));
    }
    paths.truncate(super::frame::PROOFS);
    let mut learnt = 0;
    for path in paths {
        let mut extra = HeaderMap::new();
        extra.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        learnt += usize::from(learn_from(reads, handle, up, owner, &path, extra).await);
    }
    learnt
}

/// Reads `path` as the owner past the cache, on the background budget, and learns the
/// frame of its walk from the server's answer. Returns whether there was an answer to learn
/// from.
async fn learn_from(
    reads: &ReadThrough,
    handle: &crate::upstream_index::UpstreamIndex,
    up: &Arc<Upstream>,
    owner: &Arc<cachearr_upstream::users::UserRecord>,
    path: &str,
    extra: HeaderMap,
) -> bool {
    let Some((search, state)) =
        cachearr_gateway::fetch::uncached_read(reads, up, owner, path, extra)
    else {
        return false;
    };
    let Ok(Fill::Store(value)) =
        cachearr_gateway::fetch::fetch_for_cache(&state, Budget::Background, None).await
    else {
        return false;
    };
    // A probe learns from the server's answer and answers nothing: no decline to count.
    let _ = super::walk_from_copy(&state, handle, search, Some(&value), true).await;
    (handle.frames()).drop_refused_answers(reads, &up.name);
    true
}

/// Up to `n` parents of the section's leaves (episodes' seasons, tracks' albums) that differ
/// from one another as much as the index tells: each of another grandparent and another
/// number where it can be had, in the section's order.
fn distinct_parents(
    index: &LibraryIndex,
    folded: &FoldedTitles,
    section: &str,
    n: usize,
) -> Vec<Parent> {
    let everything = Visibility::everything();
    let leaves = folded.all(&[ItemKind::Episode, ItemKind::Track], &[section]);
    let mut seen: Vec<Parent> = Vec::new();
    for hit in &leaves {
        let Some(view) = index.item(hit.item, &everything) else {
            continue;
        };
        let Some(id) = view.parent_id() else {
            continue;
        };
        if seen.iter().any(|p| p.id == id) {
            continue;
        }
        seen.push(Parent {
            id: id.to_string(),
            grandparent: view.grandparent_id().map(str::to_string),
            number: view.parent_index(),
        });
    }
    let mut chosen: Vec<&Parent> = Vec::new();
    // First parents unlike every one chosen in both grandparent and number, then unlike in
    // grandparent, then any.
    let passes: [fn(&Parent, &Parent) -> bool; 3] = [
        |a, b| a.grandparent != b.grandparent && a.number != b.number,
        |a, b| a.grandparent != b.grandparent,
        |_, _| true,
    ];
    for unlike in passes {
        for candidate in &seen {
            if chosen.len() >= n {
                break;
            }
            if chosen
                .iter()
                .all(|c| c.id != candidate.id && unlike(c, candidate))
            {
                chosen.push(candidate);
            }
        }
    }
    chosen.into_iter().cloned().collect()
}

/// A parent of a section's leaves, as the index tells it.
#[derive(Clone)]
struct Parent {
    id: String,
    grandparent: Option<String>,
    /// Its number (a season's, a disc's), from its children.
    number: Option<u32>,
}
