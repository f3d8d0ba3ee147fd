//! A listing of kinds its library holds none of, answered from the copy: the server's page
//! around no item (Jellyfin's and Emby's `/Items` and `/Users/{id}/Items` with
//! `IncludeItemTypes`, no search term). A client's walk of a library lists every kind its type
//! may hold, one listing each, and most come back empty: which ones, the crawl counted
//! ([`none_of`](super::super::none_of)), and any change since voided it.
//!
//! **Proven like a walk.** The page's body is the dialect's ([`CopyAnswers::empty_page`]); its
//! headers are learnt from the server's answers to such listings, and the copy answers only
//! once its page was the server's byte for byte, headers included, on [`PROOFS`] different
//! listings (the probes after a build make them: `probe.rs`). One frame serves every such
//! listing of the upstream: no item is in it, so neither the library, the kinds nor the fields
//! asked change it; where it starts does, and the body says so as the server's does. A server
//! answer that differs refuses the frame for good; one that lists items voids what the copy
//! knew of the kinds held.
//!
//! **Seen by the user.** A kind the owner's libraries hold none of, no user sees any of; a
//! listing of one library is answered only for a user the server shows that library (a hidden
//! one is the server's to refuse), and only for the token's own user.
//!
//! [`CopyAnswers::empty_page`]: cachearr_dialect::CopyAnswers::empty_page
//! [`PROOFS`]: super::frame::PROOFS

use bytes::Bytes;
use cachearr_dialect::answers::ItemsShown;
use cachearr_dialect::model::library::UserSections;
use cachearr_engine::CachedValue;
use cachearr_gateway::fetch::{CopyAnswer, LoaderState, cached_parsed_as_user};
use cachearr_library::ItemKind;
use http::HeaderMap;

use super::super::declined::{Declined, OrDeclined as _};
use super::super::user_state::{json_accepted, own_user_id};
use super::super::visibility::{is_owner, user_sections};
use super::frame::{Observed, Shape, Sources};
use super::release_confirmed;
use crate::upstream_index::bare_id;

/// The route of the frame of an empty listing's page ([`Shape::route`]).
pub(super) const ROUTE: &str = "Items/none";

/// The one shape of an upstream's empty listing pages: no library (a change in one never
/// moves an item in it), the kind the frame's shape names for a route with no item (as a
/// series' seasons name episodes: read by nothing here), JSON, no options (the fields asked
/// write no item).
fn shape() -> Shape {
    Shape {
        route: ROUTE,
        section: String::new(),
        kind: ItemKind::Episode,
        order: "",
        json: true,
        guids: false,
        paged: false,
        options: String::new(),
    }
}

/// The copy's answer to a listing of kinds its library holds none of; given the server's
/// answer to it (`server`), the copy's page proven on it instead (nothing answered:
/// [`Declined::FrameUnproven`]). `Err`: the server answers, for that reason.
pub(super) async fn kinds_listing(
    state: &LoaderState,
    handle: &crate::upstream_index::UpstreamIndex,
    server: Option<&CachedValue>,
) -> Result<CopyAnswer, Declined> {
    let (up, user) = (&state.up, &state.user);
    let dialect = cachearr_dialect::of(up.profile);
    let answers = dialect.answers().or_declined(Declined::NotIndexed)?;
    let path = state.uri.path();
    let params = answers.query_params(state.uri.query());
    let listing = (answers.kinds_listing(
        dialect.api_path(path).unwrap_or(path),
        &params,
        &state.client_headers,
    ))
    .or_declined(Declined::UnmodelledParameter)?;
    handle
        .ready()
        .filter(|_| handle.enabled())
        .or_declined(Declined::NotIndexed)?;
    release_confirmed(up)?;
    if handle.has_stale() || server.is_some_and(|v| v.status != 200) {
        return Err(Declined::ItemChanged);
    }
    if user.is_refused() {
        return Err(Declined::TokenRefused);
    }
    // Asked of what is in memory first: every listing of a walk comes here, most of a kind
    // the library holds.
    let library = listing.library.as_deref();
    let crawled = handle.sections();
    if let Some(id) = library
        && !crawled
            .iter()
            .any(|s| s.kind != "other" && bare_id(&s.id) == bare_id(id))
    {
        return Err(Declined::NotIndexed);
    }
    let none_of = handle
        .kinds_held()
        .current()
        .or_declined(Declined::NotIndexed)?;
    if !none_of.holds_none(library, &listing.kinds) {
        return Err(Declined::NotIndexed);
    }
    let body = answers
        .empty_page(listing.start)
        .or_declined(Declined::UnmodelledParameter)?;
    let shown = shown_sections(state, listing.named_user.as_deref(), library.is_some()).await?;
    if let (Some(sections), Some(id)) = (shown, library)
        && !sections
            .sections
            .iter()
            .any(|s| bare_id(&s.id) == bare_id(id))
    {
        return Err(Declined::ItemHidden);
    }
    let shape = shape();
    let frames = handle.frames();
    let Some(server) = server else {
        let frame = match frames.proven(&shape) {
            Some(frame) => frame,
            None if frames.refused(&shape) => return Err(Declined::FrameRefused),
            None => return Err(Declined::FrameUnproven),
        };
        frames.note_answered();
        return Ok(CopyAnswer {
            value: CachedValue {
                status: 200,
                headers: frame.headers().to_vec(),
                body: Bytes::from(body),
            },
            ids: Some(ItemsShown::default()),
            tags: vec![shape.tag(&up.name)],
        });
    };
    let proof_key = format!(
        "{}/{}/{}",
        library.unwrap_or(""),
        listing.kinds.join(","),
        listing.start
    );
    learn_from_server(state, handle, server, &body, &proof_key)
}

/// Whether `page` is, byte for byte and headers too, the page of no item starting at `start`
/// that the server (of dialect `profile`) was proven to write (the frame of the empty
/// listings, [`PROOFS`] of the server's own): the gateway's page after a listing's last
/// (`batch::past_end`) is then the server's without a proof of its own. The frame is one
/// for every listing of the upstream, whatever its library, kinds and fields: no item is in
/// it.
///
/// [`PROOFS`]: super::frame::PROOFS
pub(crate) fn vouches(
    handle: &crate::upstream_index::UpstreamIndex,
    profile: cachearr_dialect::Profile,
    start: usize,
    page: &CachedValue,
) -> bool {
    let Some(body) = (cachearr_dialect::of(profile).answers()).and_then(|a| a.empty_page(start))
    else {
        return false;
    };
    let Some(frame) = handle.frames().proven(&shape()) else {
        return false;
    };
    let mut headers = page.headers.clone();
    headers.sort();
    page.status == 200 && page.body == body.as_bytes() && frame.headers() == headers.as_slice()
}

/// Learns the empty listing's frame from the server's answer to one (`server`), and proves
/// the copy's page (`body`) on it under `proof_key`: the server's answer stands (`Err`).
fn learn_from_server(
    state: &LoaderState,
    handle: &crate::upstream_index::UpstreamIndex,
    server: &CachedValue,
    body: &str,
    proof_key: &str,
) -> Result<CopyAnswer, Declined> {
    let up = &state.up;
    let (shape, frames) = (shape(), handle.frames());
    if frames.refused(&shape) {
        return Err(Declined::FrameRefused);
    }
    let answers = cachearr_dialect::of(up.profile).answers();
    // Items where the counts said none: the library changed unannounced, and nothing the
    // copy knew of the kinds held stands. The frame is not at fault.
    if !answers.is_some_and(|answers| answers.lists_no_item(&server.body)) {
        tracing::info!(
            upstream = %up.name,
            "library copy: a listing counted empty holds items; its kinds are counted again \
             at the next pass"
        );
        handle.kinds_held().void();
        return Err(Declined::ItemChanged);
    }
    let mut theirs = server.headers.clone();
    theirs.sort();
    let observed = Observed {
        attrs: Vec::new(),
        headers: theirs.clone(),
    };
    let frame = (frames.learn(&shape, &observed, &Sources::default(), &up.name))
        .or_declined(Declined::FrameRefused)?;
    let same = body.as_bytes() == server.body.as_ref() && frame.headers() == theirs.as_slice();
    frames.proof(&shape, (proof_key, shape.rivals()), same, &up.name);
    // Learnt from, not answered: the server's answer stands.
    Err(Declined::FrameUnproven)
}

/// The libraries the listed user is shown, as the server said them to this token (`None`:
/// every library, or none asked about: `libraries` says whether the listing names one). A
/// listing naming a user (`/Users/{id}/Items`) is answered only where the server showed this
/// token that user's views (`/Users/{id}/Views`, cached: a library walk reads them first), or
/// where the user named is the token's own: an administrator reading another user's listing
/// gets that user's, which holds none of what no library holds either. `Err`: neither can be
/// told (the server answers).
async fn shown_sections(
    state: &LoaderState,
    named: Option<&str>,
    libraries: bool,
) -> Result<Option<UserSections>, Declined> {
    let (reads, up, user) = (&state.reads, &state.up, &state.user);
    let library = cachearr_dialect::of(up.profile).library();
    if let Some(named) = named {
        let path = format!("/Users/{named}/Views");
        let parse = |body: &[u8]| library.parse_user_sections(body);
        for extra in [HeaderMap::new(), json_accepted()] {
            let views = (path.as_str(), extra);
            // Kept under the path: each user named has views of their own.
            let cached = cached_parsed_as_user(reads, up, user, views, &path, parse);
            if let Some(sections) = cached.await {
                return Ok(Some(UserSections::clone(&sections)));
            }
        }
        let answers = cachearr_dialect::of(up.profile).answers();
        let own = (own_user_id(up, user).await).or_declined(Declined::SectionsUnknown)?;
        if !answers.is_some_and(|answers| answers.same_user(named, &own)) {
            return Err(Declined::OtherUser);
        }
    }
    if !libraries || is_owner(reads, up, user) {
        return Ok(None);
    }
    let sections = (user_sections(reads, up, user).await).or_declined(Declined::SectionsUnknown)?;
    Ok(Some(sections))
}
