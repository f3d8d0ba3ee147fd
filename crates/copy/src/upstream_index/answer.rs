//! Answering search routes from the library index (section search, hub search, Jellyfin search).
//!
//! Routes: Plex `/library/sections/{id}/search`, `/hubs/search` and
//! `/library/sections/{id}/all` with a `title=` (contains) or `title==` (exact) filter;
//! Jellyfin `/Items` and `/Users/{id}/Items` with `SearchTerm=`, and `/Search/Hints`.
//!
//! [`try_answer`] is called by the proxy for the searches the route table recognised
//! ([`IndexSearch`]: it matched the path, this code reads the query). It answers only when everything needed is at hand: the index is ready, the route
//! and every parameter are understood, the user's sections are known (see [`visibility`]),
//! the index holds every section the answer spans and the user is shown to see each of them
//! whole (the server hides none of its items from them: see [`visibility`]). Otherwise it
//! returns `None` and the request goes on to the cache and the server unchanged — a playlist tool's
//! fallback. An answer is never
//! wrong about visibility: only sections the server listed for this user's token, in which it
//! lists that user as many items as the owner, are searched.
//!
//! Matching follows the servers (case- and accent-insensitive substring of the title; see
//! [`titles`]), ordered as each server orders its results. A Plex answer's items are the
//! server's own elements as the crawl kept them ([`elements`]); a Jellyfin answer's items are
//! the server's own `BaseItemDto`s, projected to the request
//! ([`doc`](cachearr_dialect::jellyfin::doc)), and its hints are made from them
//! ([`render`](cachearr_dialect::jellyfin::render)). An item whose element or document is not
//! kept sends the request to the server. Each item carries the asking user's own play state,
//! which the dialect writes into the answer's body
//! ([`AnswerBody::write`](cachearr_dialect::answer_body::AnswerBody::write)), reading it as the
//! user through [`user_state`].
//!
//! Layout: this file finds the route (read by the dialect) and the user's sections, and has
//! the answer written with the user's state; each search is answered by the upstream's
//! dialect, which reads the copy through [`copy`] (`dialect::answers::CopyView`);
//! [`jellyfin`] answers the show walks; `tests.rs` holds the tests.
//!
//! [`visibility`]: super::visibility
//! [`titles`]: super::titles
//! [`elements`]: super::elements
//! [`IndexSearch`]: cachearr_config::policy::IndexSearch

use super::bare_id;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cachearr_library::LibraryIndex;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{Either, Full};

use super::declined::{Declined, OrDeclined as _};
use super::elements::ElementStore;
use super::restrictions::{Applied, UserRestriction, restriction_of};
use super::titles::FoldedTitles;
use super::user_state::{AsUser, own_user_id};
use super::visibility::{is_owner, user_sections, whole_sections};
use cachearr_config::policy::IndexSearch;
use cachearr_dialect::CopyAnswers;
use cachearr_dialect::answer_body::{AnswerBody, DocumentForm, Written};
use cachearr_dialect::answers::{ItemRef, ItemsShown, SearchRoutes};
use cachearr_dialect::model::library::UserSection;
use cachearr_dialect::model::library::UserSections;
use cachearr_engine::CachedValue;
use cachearr_gateway::fetch::{CopyAnswer, CopySource, LoaderState, ProxyBody};
use cachearr_gateway::read_through::ReadThrough;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;
use frame::{Frames, Observed};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

mod copy;
pub(crate) mod frame;
pub(crate) mod none_of;
pub(crate) mod probe;
mod rivals;
mod series;
#[cfg(test)]
mod tests;
mod walk;

/// Answers `req`, the search the route table recognised, from `handle` (the upstream's
/// index) if it can, for `user` (the request's one token's, identified by the proxy; `None`:
/// no token or two); `Err` sends it on to the cache and the server, and says why.
pub(crate) async fn try_answer<B>(
    reads: &ReadThrough,
    handle: &crate::upstream_index::UpstreamIndex,
    up: &Arc<Upstream>,
    req: &Request<B>,
    search: IndexSearch,
    user: Option<Arc<UserRecord>>,
    started: Instant,
) -> Result<Response<ProxyBody>, Declined> {
    let (path, query) = (req.uri().path(), req.uri().query());
    let dialect = cachearr_dialect::of(up.profile);
    let answers = dialect.answers().or_declined(Declined::NotIndexed)?;
    // Read as the server reads it; walks are none of its searches: cached reads the copy
    // answers on a miss ([`walk_copy`]).
    let route = (dialect.search_routes())
        .and_then(|routes| routes.search_route(search, path, query))
        .or_declined(Declined::UnmodelledParameter)?;
    let Some(index) = handle.ready().filter(|_| handle.enabled()) else {
        // Off or not built yet: counted, and logged (a warning when off) at most once a
        // minute by the handle.
        handle.note_search_to_server();
        return Err(Declined::NotIndexed);
    };
    release_confirmed(up)?;
    // An item written through cachearr is not read again yet: an answer could show it as it
    // was (or miss it under its new title). The server answers.
    if handle.has_stale() {
        return Err(Declined::ItemChanged);
    }
    let user = user.or_declined(Declined::NoUser)?;
    // Index answers are cached answers: none goes to a token the server refused last.
    if user.is_refused() {
        return Err(Declined::TokenRefused);
    }
    // Answered with the token's view: a request naming another user (`/Users/{id}/Items`,
    // `UserId=`) is the server's to answer — a 403, or for an administrator that user's view.
    if let Some(named) = route.named_user.as_deref() {
        let own = (own_user_id(up, &user).await).or_declined(Declined::SectionsUnknown)?;
        if !answers.same_user(named, &own) {
            return Err(Declined::OtherUser);
        }
    }
    let sections =
        (user_sections(reads, up, &user).await).or_declined(Declined::SectionsUnknown)?;
    let folded = (super::folded::folded(&index).await).or_declined(Declined::NotIndexed)?;
    // Only the sections the answer spans are proven whole: each costs the server two counts
    // per kind the first time.
    let spanned = match route.section.as_deref() {
        Some(id) => only(&sections, id),
        None => sections.clone(),
    };
    // Without the server's elements or documents there is nothing to answer with: the
    // server answers.
    let store = handle.elements().or_declined(Declined::NotKept)?.clone();
    let (whole, restriction) = seen_sections(reads, handle, up, &user, &spanned, &folded).await;
    let applied = restriction
        .map(|r| Applied::new(r, up.profile, (&index, &store, handle.labels()), &sections));
    let crawled = handle.sections();
    let ctx = Ctx {
        answers,
        elements: Some(store.clone()),
        frames: handle.frames(),
        whole: &whole,
        restricted: applied.as_ref(),
        crawled: &crawled,
        reads,
        up,
        user: &user,
        index: &index,
        folded: &folded,
        sections: &sections,
        headers: req.headers(),
        declined: std::sync::Mutex::new(None),
    };
    // Found by the dialect, reading the copy: a search it leaves to the server is one whose
    // sections the copy could not answer for (the reason noted as the dialect asked), or
    // one it does not model.
    let found = (answers.search(&route, &ctx))
        .ok_or_else(|| ctx.last_declined().unwrap_or(Declined::UnmodelledParameter))?;
    // An item whose verdict the restriction could not give may be missing or shown wrongly.
    if ctx.restricted.is_some_and(Applied::unknown) {
        return Err(Declined::RestrictionUnknown);
    }
    let answer = ctx
        .found_answer(found, &route.params)
        .or_declined(Declined::NotKept)?;
    let answer = ctx.with_user_state(answer).await?;
    // A write may have come while the answer was made.
    if handle.has_stale() {
        return Err(Declined::ItemChanged);
    }
    let resp = respond(answer, started).or_declined(Declined::UnmodelledParameter)?;
    reads.metrics().observe_request(
        &up.metrics_name,
        "search",
        "hit",
        started.elapsed().as_secs_f64(),
    );
    Ok(resp)
}

/// Whether the copy may answer for `up` as far as its server's release goes: where the
/// dialect follows releases, only once the server said its release since the gateway started
/// (a copy, its frames and proofs kept from the last run were made under the release the
/// server ran then; a change found drops them and reads the server again).
fn release_confirmed(up: &Upstream) -> Result<(), Declined> {
    let followed = cachearr_dialect::of(up.profile).version_reader().is_some();
    if followed && !up.release_confirmed() {
        return Err(Declined::ReleaseUnconfirmed);
    }
    Ok(())
}

/// `sections` narrowed to the one with id `id` (none when the user may not see it). The
/// index may write a Jellyfin library's id otherwise than the user's views do (case,
/// dashes), as Jellyfin reads them alike.
fn only(sections: &UserSections, id: &str) -> UserSections {
    UserSections {
        sections: sections
            .sections
            .iter()
            .filter(|s| bare_id(&s.id) == bare_id(id))
            .cloned()
            .collect(),
    }
}

/// An answer made: its body before the asking user's state is put in (the dialect's), its
/// content type, its own headers.
pub(crate) struct Answer {
    body: AnswerBody,
    content_type: &'static str,
    /// The headers the answer writes for itself (where its page starts, the whole count …),
    /// as the dialect names them ([`CopyAnswers`]).
    headers: Vec<(&'static str, String)>,
}

/// An answer written out with the asking user's state ([`Ctx::with_user_state`]).
struct Ready {
    text: String,
    /// The ids it shows and names, where its writing knows them.
    ids: Option<ItemsShown>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

struct Ctx<'a> {
    /// How the upstream's answers are framed (its dialect's).
    answers: &'static dyn CopyAnswers,
    /// The server's elements of the items (Plex answers are written from them).
    elements: Option<Arc<ElementStore>>,
    /// The frames learned for the copy's walks.
    frames: &'a Frames,
    reads: &'a ReadThrough,
    up: &'a Arc<Upstream>,
    user: &'a Arc<UserRecord>,
    index: &'a Arc<LibraryIndex>,
    folded: &'a FoldedTitles,
    sections: &'a UserSections,
    /// The sections the crawl went through (empty when the index was installed otherwise).
    crawled: &'a [super::SectionInfo],
    /// The user's sections the index answers for: shown to hold nothing the server hides
    /// from them (see [`whole_sections`]), or filtered by [`Self::restricted`].
    whole: &'a [String],
    /// The asking user's restriction, read from the server, that the answer's items pass
    /// (`None`: the sections in [`Self::whole`] hide nothing from the user).
    restricted: Option<&'a Applied<'a>>,
    headers: &'a HeaderMap,
    /// Why the copy could not answer for the sections the dialect asked of it last
    /// ([`Ctx::indexed`], [`Ctx::search_sections`]): the reason of a search the dialect then
    /// leaves to the server.
    declined: std::sync::Mutex<Option<Declined>>,
}

impl Ctx<'_> {
    /// Notes why the copy cannot answer for the sections asked of it (see [`Ctx::declined`]).
    fn note_declined(&self, reason: Declined) {
        *self.declined.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
    }

    /// The reason noted last by [`Self::note_declined`].
    fn last_declined(&self) -> Option<Declined> {
        *self.declined.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads as the asking user, through the cache: what their play state is read with.
    fn as_user(&self) -> AsUser<'_> {
        AsUser {
            reads: self.reads,
            up: self.up,
            user: self.user,
            items_read: None,
        }
    }

    fn json(&self) -> bool {
        wants_json(self.headers)
    }

    /// The page the request asks for, as the server reads it (start and size; `None`: not
    /// understood, the server answers).
    fn paging(&self, params: &[(String, String)]) -> Option<(Option<usize>, Option<usize>)> {
        self.answers.paging(self.headers, params)
    }

    /// The headers of an answer written whole (a search's: no frame brings the server's),
    /// its page at `paged` (where it starts, the whole count).
    fn whole_headers(&self, paged: Option<(usize, usize)>) -> Vec<(&'static str, String)> {
        let mut headers: Vec<(&'static str, String)> = self
            .answers
            .facts()
            .document_headers
            .iter()
            .map(|&(name, value)| (name, value.to_owned()))
            .collect();
        headers.extend(self.answers.page_headers(paged));
        headers
    }

    /// The sections the index answers for: those it holds items of, and those the crawl
    /// went through (an empty section is held too: it has nothing to find), each only when
    /// the user sees it whole.
    fn held(&self) -> Vec<&str> {
        let mut held = self.index.section_ids();
        held.extend(
            self.crawled
                .iter()
                .filter(|s| s.kind != "other")
                .map(|s| s.id.as_str()),
        );
        held.retain(|id| self.whole.iter().any(|w| w.eq_ignore_ascii_case(id)));
        held
    }

    /// `answer` written out with the asking user's own state as the server would write it for
    /// them (the dialect's writing: [`AnswerBody::write`]), read as that user ([`user_state`])
    /// and from the items' kept documents; `None` when it cannot be read: an answer whose
    /// state cannot be read is the server's to give.
    async fn with_user_state(&self, answer: Answer) -> Result<Ready, Declined> {
        self.with_user_state_from(answer, None).await
    }

    /// [`Self::with_user_state`], the state of the answer's items read from `items_read`
    /// where it holds them ([`ReadAsUser::items_read`]).
    ///
    /// [`ReadAsUser::items_read`]: cachearr_dialect::ReadAsUser::items_read
    async fn with_user_state_from(
        &self,
        answer: Answer,
        items_read: Option<String>,
    ) -> Result<Ready, Declined> {
        let Written { text, ids } = (self.write_body(answer.body, items_read).await)
            .or_declined(Declined::UserStateUnread)?;
        Ok(Ready {
            text,
            ids,
            content_type: answer.content_type,
            headers: answer.headers,
        })
    }

    /// `body` written out with the asking user's own state ([`Self::with_user_state`]).
    async fn write_body(&self, body: AnswerBody, items_read: Option<String>) -> Option<Written> {
        let store = self.elements.as_ref();
        let documents = |id: &str, form: &DocumentForm| {
            let store = store?;
            // The first answer in a form has the rest of the library written in it.
            store.write_documents_ahead(form, self.index.clone());
            store.written_document(id, form)
        };
        let read = AsUser {
            items_read,
            ..self.as_user()
        };
        body.write(documents, &read).await
    }
}

fn respond(answer: Ready, started: Instant) -> Option<Response<ProxyBody>> {
    let mut resp = Response::new(Either::Left(Full::new(Bytes::from(answer.text))));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    for (name, value) in answer.headers {
        h.insert(name, HeaderValue::from_str(&value).ok()?);
    }
    cachearr_gateway::respond::mark_index_answer(h, started);
    resp.extensions_mut()
        .insert(cachearr_gateway::clients::Served::Index);
    Some(resp)
}

// ---------------------------------------------------------------------------------------------
// Walks from the copy.

/// The copy's answer to the walks of one route of one upstream (the loader's [`CopySource`]).
#[derive(Debug)]
pub(crate) struct WalkCopy {
    search: IndexSearch,
    /// The upstream's index, whose kept elements answer.
    handle: Arc<super::UpstreamIndex>,
}

/// The walks one upstream's copy answers, made once when the copy is opened, so that a read
/// hands its loader a shared one instead of making it.
#[derive(Debug)]
pub(crate) struct Walks {
    children: Arc<dyn CopySource>,
    all_leaves: Arc<dyn CopySource>,
    listing: Arc<dyn CopySource>,
    episodes: Arc<dyn CopySource>,
    seasons: Arc<dyn CopySource>,
    recent: Arc<dyn CopySource>,
    /// Listings of kinds a library holds none of ([`none_of`]).
    kinds: Arc<dyn CopySource>,
    /// The upstream's index: what it knows of the kinds held says which listings are handed
    /// [`Walks::kinds`].
    handle: Arc<super::UpstreamIndex>,
}

impl Walks {
    /// The walks of the upstream whose index `handle` is.
    pub(crate) fn of(handle: &Arc<super::UpstreamIndex>) -> Walks {
        let walk = |search| -> Arc<dyn CopySource> {
            Arc::new(WalkCopy {
                search,
                handle: handle.clone(),
            })
        };
        Walks {
            children: walk(IndexSearch::Children),
            all_leaves: walk(IndexSearch::AllLeaves),
            listing: walk(IndexSearch::SectionListing),
            episodes: walk(IndexSearch::ShowEpisodes),
            seasons: walk(IndexSearch::ShowSeasons),
            recent: walk(IndexSearch::RecentlyAdded),
            kinds: walk(IndexSearch::ItemListing),
            handle: handle.clone(),
        }
    }

    /// The copy that may answer a miss of this read, when it is a walk: an item's children or
    /// leaves, or a section listing without a title filter (one with a filter is a search,
    /// answered before the cache: [`try_answer`]).
    pub(crate) fn walk_copy(
        &self,
        profile: cachearr_dialect::Profile,
        search: IndexSearch,
        query: Option<&str>,
    ) -> Option<Arc<dyn CopySource>> {
        let walk = match search {
            IndexSearch::Children => &self.children,
            IndexSearch::AllLeaves => &self.all_leaves,
            IndexSearch::ShowEpisodes => &self.episodes,
            IndexSearch::ShowSeasons => &self.seasons,
            IndexSearch::RecentlyAdded => &self.recent,
            IndexSearch::ItemListing if self.lists_none(profile, query) => &self.kinds,
            IndexSearch::SectionListing if !query.is_some_and(|q| q.contains("title")) => {
                &self.listing
            }
            _ => return None,
        };
        Some(walk.clone())
    }
}

impl Walks {
    /// Whether a listing's query names only kinds its library (or, naming none, every
    /// library) was counted with none of: only such a listing is handed the copy, so that
    /// every other — a library walk's pages of the kinds it holds — is read ahead in windows
    /// and past its end as before, with nothing asked of the copy.
    fn lists_none(&self, profile: cachearr_dialect::Profile, query: Option<&str>) -> bool {
        let Some(answers) = cachearr_dialect::of(profile).answers() else {
            return false;
        };
        let Some(none_of) = self.handle.kinds_held().current() else {
            return false;
        };
        answers
            .kinds_named(&answers.query_params(query))
            .is_some_and(|(library, kinds)| none_of.holds_none(library.as_deref(), &kinds))
    }
}

impl CopySource for WalkCopy {
    fn answer<'a>(&'a self, state: &'a LoaderState) -> BoxFuture<'a, Option<CopyAnswer>> {
        async move {
            let answer = walk_from_copy(state, &self.handle, self.search, None, false).await;
            if let Err(reason) = &answer {
                self.handle.note_declined(*reason, "walk");
            }
            answer.ok()
        }
        .boxed()
    }

    fn learn(&self, state: Arc<LoaderState>, server: CachedValue) -> BoxFuture<'static, ()> {
        let (search, handle) = (self.search, self.handle.clone());
        async move {
            // Learning from the server's answer answers nothing: no decline to count.
            let _ = walk_from_copy(&state, &handle, search, Some(&server), false).await;
            (handle.frames()).drop_refused_answers(&state.reads, &state.up.name);
        }
        .boxed()
    }
}

/// A walk as its path and query say it, read as the server reads them (`answers`, `routes`:
/// its dialect's): the listing's section, the parent or series whose items are walked.
fn walk_of(
    answers: &dyn CopyAnswers,
    routes: &dyn SearchRoutes,
    search: IndexSearch,
    path: &str,
    query: Option<&str>,
) -> Option<walk::Walk> {
    let walked = || Some(path.get(answers.walked_item(path)?)?.to_string());
    Some(match search {
        IndexSearch::SectionListing => {
            let route = routes.search_route(search, path, query)?;
            walk::Walk::Listing {
                section: route.section?,
                params: route.params,
            }
        }
        IndexSearch::Children | IndexSearch::AllLeaves => walk::Walk::Children {
            parent: walked()?,
            leaves: search == IndexSearch::AllLeaves,
            params: answers.query_params(query),
        },
        IndexSearch::ShowEpisodes | IndexSearch::ShowSeasons => walk::Walk::Shows {
            series: walked()?,
            seasons: search == IndexSearch::ShowSeasons,
            params: answers.query_params(query),
        },
        IndexSearch::RecentlyAdded => walk::Walk::Recent {
            params: answers.query_params(query),
        },
        _ => return None,
    })
}

/// The copy's answer to a walk's load, written from the kept elements in the frame learned
/// for its shape; or, given the server's answer to it (`server`), the frame narrowed by that
/// answer and proven on it (then nothing is answered: [`Declined::FrameUnproven`]). `Err`:
/// the server answers, for that reason.
/// `probing`: the server's answer is a frame probe's ([`probe`]), learnt from whatever the
/// user's misses.
async fn walk_from_copy(
    state: &LoaderState,
    handle: &super::UpstreamIndex,
    search: IndexSearch,
    server: Option<&CachedValue>,
    probing: bool,
) -> Result<CopyAnswer, Declined> {
    if search == IndexSearch::ItemListing {
        none_of::kinds_listing(state, handle, server).await
    } else {
        walk_of_items(state, handle, search, server, probing).await
    }
}

/// [`walk_from_copy`] of a walk that lists items (a library's, a series', a parent's).
async fn walk_of_items(
    state: &LoaderState,
    handle: &super::UpstreamIndex,
    search: IndexSearch,
    server: Option<&CachedValue>,
    probing: bool,
) -> Result<CopyAnswer, Declined> {
    let (reads, up, user) = (&state.reads, &state.up, &state.user);
    let dialect = cachearr_dialect::of(up.profile);
    let answers = dialect.answers().or_declined(Declined::NotIndexed)?;
    let (path, query) = (state.uri.path(), state.uri.query());
    let walk = (dialect.search_routes())
        .and_then(|routes| walk_of(answers, routes, search, path, query))
        .or_declined(Declined::UnmodelledParameter)?;
    let index = (handle.ready().filter(|_| handle.enabled())).or_declined(Declined::NotIndexed)?;
    release_confirmed(up)?;
    // An item changed on the server or through cachearr and not read again yet: the copy may
    // be behind; the server answers (as it does what it did not answer with a 200).
    if handle.has_stale() || server.is_some_and(|v| v.status != 200) {
        return Err(Declined::ItemChanged);
    }
    if user.is_refused() {
        return Err(Declined::TokenRefused);
    }
    let folded = (super::folded::folded(&index).await).or_declined(Declined::NotIndexed)?;
    // The copy takes part from a user's third miss in a section on (the frame is learnt from
    // the second): a lone request is cheaper at the server than the reads the copy needs.
    let walked = (walk.place(answers, &folded, &index)).or_declined(Declined::NotIndexed)?;
    let turn = Turn::of(state, handle.frames(), &walk, &walked, server, probing);
    let answered_as_owner = answered_as_owner(state, answers, &walk).await;
    if turn.leaves_to_server(state, &walk, server.is_some(), &folded, answered_as_owner) {
        return Err(Declined::FirstMisses);
    }
    let sections = (user_sections(reads, up, user).await).or_declined(Declined::SectionsUnknown)?;
    let store = handle.elements().or_declined(Declined::NotKept)?.clone();
    let (whole, restriction) =
        walk_sections(state, handle, &walk, &walked, &sections, &folded).await;
    let applied = restriction
        .map(|r| Applied::new(r, up.profile, (&index, &store, handle.labels()), &sections));
    let crawled = handle.sections();
    let ctx = Ctx {
        answers,
        elements: Some(store.clone()),
        frames: handle.frames(),
        whole: &whole,
        restricted: applied.as_ref(),
        crawled: &crawled,
        reads,
        up,
        user,
        index: &index,
        folded: &folded,
        sections: &sections,
        headers: &state.client_headers,
        declined: std::sync::Mutex::new(None),
    };
    if let walk::Walk::Shows {
        series,
        seasons,
        params,
    } = &walk
    {
        let value = ctx
            .show_walk(series, *seasons, params, server, turn)
            .await?;
        // Read again since the copy was asked: an answer from before a change is not kept.
        if handle.has_stale() {
            return Err(Declined::ItemChanged);
        }
        handle.frames().note_answered();
        return Ok(value);
    }
    let made = ctx.made(&walk)?;
    let parting = probing.then(|| ctx.rivals_parting(&made));
    let heads = ctx.heads_read(&walk);
    let observed = match server {
        Some(v) => Some(observed_of(&ctx, v)?),
        None => {
            turn.wait_for_proof(handle.frames(), &made.shape).await?;
            None
        }
    };
    let tree = ctx.tree_walk(made, observed.as_ref())?;
    let (shape, proof_key) = (&tree.shape, tree.proof_key.as_str());
    let learning = server.is_some() && !probing;
    if learning && proof_is_futile(state, handle, &walk, &folded, shape, proof_key) {
        return Err(Declined::FrameUnproven);
    }
    let answer = ctx.with_user_state_from(tree.answer, heads).await?;
    if handle.has_stale() {
        return Err(Declined::ItemChanged);
    }
    let value = walk_value(answer, tree.frame.headers(), shape.tag(&up.name));
    let (frames, proven_on) = (handle.frames(), (proof_key, tree.agreeing));
    answered_or_proof(frames, value, server, (shape, proven_on), &up.name)
        .inspect_err(|_| note_parting(frames, state, shape, parting.as_deref()))
}

/// After a frame probe's proof of `shape`: where the first of the rivals the proofs left
/// standing parts from the copy's order of the listing (`parting`, from
/// [`Ctx::rivals_parting`]), noted for the probe's request, so that the listing's next probe
/// page is read from there ([`probe`]) and its proof settles that rival. Without it the
/// crawl's pages (a listing's first items) rarely hold two films of one title, and each
/// user's first pass whose page does — a restricted user's, whose pages are other items —
/// sends that page to the server to tell the orders apart.
fn note_parting(
    frames: &Frames,
    state: &LoaderState,
    shape: &frame::Shape,
    parting: Option<&[(rivals::Rival, usize)]>,
) {
    let Some(parting) = parting else {
        return;
    };
    let standing = frames.rivals_kept(shape);
    let start = (parting.iter())
        .filter(|(rival, _)| standing.iter().any(|r| r == *rival))
        .map(|&(_, at)| at)
        .min();
    if let (Some(start), Some(probe)) = (start, state.uri.path_and_query()) {
        frames.note_parting(probe.as_str(), start);
    }
}

/// Whether the copy answers this walk's user as it answers the owner, needing no count to
/// prove a section whole: the owner, or a user whose share (read where the server reads it)
/// says what they see — everything in the sections the server lists to them, or what a
/// filter the copy applies leaves. Asked only of the walks a proof would make too dear for
/// anyone else (a count, a recently-added list).
async fn answered_as_owner(
    state: &LoaderState,
    answers: &dyn CopyAnswers,
    walk: &walk::Walk,
) -> bool {
    let (reads, up, user) = (&state.reads, &state.up, &state.user);
    if is_owner(reads, up, user) {
        return true;
    }
    (walk.is_recent() || walk.is_count(answers, &state.client_headers))
        && super::visibility::said_by_share(reads, up, user).await
}

/// What the server's answer `server` shows of its frame (`Err`: a shape the copy cannot
/// read, refused).
fn observed_of(ctx: &Ctx<'_>, server: &CachedValue) -> Result<Observed, Declined> {
    let paging = ctx.answers.facts().page_header_names;
    Observed::of(&server.body, &server.headers, ctx.json(), paging)
        .or_declined(Declined::FrameRefused)
}

/// Whether learning from the server's answer to this page of `walk` would be paid for and
/// never answer: the listing ends before its frame (of `shape`, proven on `proof_key`) could
/// be proven — its last page is never learnt from (`Turn::leaves_to_server`) — so the user's
/// play state read for the proof would buy nothing.
fn proof_is_futile(
    state: &LoaderState,
    handle: &super::UpstreamIndex,
    walk: &walk::Walk,
    folded: &FoldedTitles,
    shape: &frame::Shape,
    proof_key: &str,
) -> bool {
    let pages_after = walk.pages_after(state.up.profile, &state.client_headers, folded);
    let learnable = pages_after.map(|after| after.saturating_sub(1));
    learnable.is_some_and(|n| !handle.frames().proof_can_complete(shape, proof_key, n))
}

/// The copy's answer `value`, counted as answered; or, given the server's answer (`server`),
/// the copy's proven on it (for `shape` at `proof_key`, the frame's rivals `agreeing` with
/// its order), and nothing answered.
fn answered_or_proof(
    frames: &Frames,
    answer: CopyAnswer,
    server: Option<&CachedValue>,
    (shape, proven_on): (&frame::Shape, (&str, rivals::Rivals)),
    upstream: &str,
) -> Result<CopyAnswer, Declined> {
    match server {
        None => {
            frames.note_answered();
            Ok(answer)
        }
        Some(server) => {
            let value = &answer.value;
            let same =
                value.body == server.body && sorted(&value.headers) == sorted(&server.headers);
            frames.proof(shape, proven_on, same, upstream);
            // Learnt from, not answered: the server's answer stands.
            Err(Declined::FrameUnproven)
        }
    }
}

/// Where a user's miss of a walk stands in the copy's learning of the walk's frame.
#[derive(Clone, Copy)]
struct Turn {
    /// The user's misses of the walk before this one (this one counted when the server's
    /// answer is not given).
    before: u32,
    /// Misses before the copy answers the walk.
    wanted: u32,
    /// A frame near the walk's shape is proven: the copy answers from the first miss.
    near: bool,
    /// This miss goes to the server and its answer is learnt from: misses right after it
    /// wait for that proof rather than each going to the server too.
    learnt_next: bool,
}

impl Turn {
    /// The turn of the miss of `walk` (placed at `walked`); `server` and `probing` as
    /// [`walk_from_copy`] is given them. A miss without the server's answer is counted.
    fn of(
        state: &LoaderState,
        frames: &Frames,
        walk: &walk::Walk,
        walked: &str,
        server: Option<&CachedValue>,
        probing: bool,
    ) -> Turn {
        let user = &state.user;
        let wanted = match server {
            None => frame::WALK_MISSES_BEFORE_COPY,
            Some(_) => frame::WALK_MISSES_BEFORE_COPY - 1,
        };
        let before = match server {
            None => frames.note_walk(user.hash, walked),
            Some(_) if probing => wanted + 1,
            Some(_) => frames.walks(user.hash, walked).saturating_sub(1),
        };
        // A walk whose frame is already proven (learnt by a probe, or kept from an earlier
        // run) is answered from the user's first miss: what the copy reads for it is read
        // once for the walk's many answers. A lone read of a shape no frame is proven for
        // stays the server's, as below.
        let json = wants_json(&state.client_headers);
        let near = server.is_none()
            && cachearr_dialect::of(state.up.profile)
                .answers()
                .and_then(|answers| walk.like(answers, &state.client_headers, json, user.hash))
                .is_some_and(|like| {
                    let section = walked.split('/').next().unwrap_or_default();
                    frames.proven_near(section, &like)
                });
        let learnt_next = server.is_none() && before + 1 == wanted;
        Turn {
            before,
            wanted,
            near,
            learnt_next,
        }
    }

    /// Whether the copy leaves this miss to the server before reading anything for it
    /// (`served`: the server's answer to it is given, to learn from; `as_owner`: the user
    /// is the owner, or sees everything the owner does by [`answered_as_owner`]).
    fn leaves_to_server(
        self,
        state: &LoaderState,
        walk: &walk::Walk,
        served: bool,
        folded: &FoldedTitles,
        as_owner: bool,
    ) -> bool {
        let first_misses = self.before < self.wanted && !self.learnt_next;
        if first_misses && !self.near {
            return true;
        }
        // A count (a listing's page of at most one item) answered from its first miss would
        // cost a user the owner's view is not known to be (by their share) the proof that the
        // section is whole first: the counts of its kinds, the very reads tools make. The
        // server answers theirs.
        let (up, headers) = (&state.up, &state.client_headers);
        if first_misses
            && cachearr_dialect::of(up.profile)
                .answers()
                .is_some_and(|answers| walk.is_count(answers, headers))
            && !as_owner
        {
            return true;
        }
        // A recently-added list spans every section the user sees: for such a user the proofs
        // that each is whole (two counts a kind) cost the server more than the list they would
        // spare it, so the server answers theirs.
        if walk.is_recent() && !as_owner {
            return true;
        }
        // A listing's last page ends its walk: learning from it (the user's sections, the
        // counts proving them the section whole, their play state) would be paid for no
        // answer. Kometa lists a section of 200 in two pages.
        let learning = self.learnt_next || (served && self.before == self.wanted);
        learning && !self.near && walk.ends_listing(up.profile, headers, folded)
    }

    /// A miss's wait for the frame of `shape` (`Err`: the server answers it). A shape still
    /// being learnt is the server's while proofs are needed, and a miss waits (briefly) for
    /// the proofs already on their way instead.
    async fn wait_for_proof(self, frames: &Frames, shape: &frame::Shape) -> Result<(), Declined> {
        let early = self.before < self.wanted;
        if early && frames.proven(shape).is_some() {
            // Proven ahead: answered now.
        } else if self.learnt_next {
            frames.on_its_way(shape);
            return Err(Declined::FrameUnproven);
        } else if early {
            return Err(Declined::FrameUnproven);
        } else if frames.proven_or_wait(shape).await.is_none() {
            return Err(if frames.refused(shape) {
                Declined::FrameRefused
            } else {
                Declined::FrameUnproven
            });
        }
        Ok(())
    }
}

/// The user's sections among `spanned` the copy answers for, and the restriction its answers
/// apply inside them: with the user's restriction read from the server
/// ([`restriction_of`]), every section it opens, filtered by it; otherwise those proven
/// whole ([`whole_sections`]), unfiltered. The owner's are all whole.
async fn seen_sections(
    reads: &ReadThrough,
    handle: &crate::upstream_index::UpstreamIndex,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    spanned: &UserSections,
    folded: &FoldedTitles,
) -> (Vec<String>, Option<UserRestriction>) {
    if !is_owner(reads, up, user)
        && let Some(restriction) = restriction_of(reads, handle, up, user).await
    {
        return restricted_sections(spanned, restriction);
    }
    let whole = whole_sections(
        reads,
        up,
        user,
        spanned,
        |id, kind| folded.count(id, kind),
        |id, kind| folded.held_by_leaves(id, kind),
    )
    .await;
    (whole, None)
}

/// The sections of `sections` that `restriction` opens, and the restriction, when it hides
/// anything inside them.
fn restricted_sections(
    sections: &UserSections,
    restriction: UserRestriction,
) -> (Vec<String>, Option<UserRestriction>) {
    let opened = (sections.sections.iter())
        .filter(|s| restriction.restriction.opens_section(&s.id))
        .map(|s| s.id.clone())
        .collect();
    (
        opened,
        (!restriction.restriction.filters_nothing()).then_some(restriction),
    )
}

/// The user's sections a walk placed at `walked` is answered in, and the restriction it
/// applies inside them: a series walk, and any walk on a server whose shares say what each
/// user may see (Plex: plex.tv), applies the user's restriction read where the server reads
/// it; other walks (and a user whose restriction is not known) answer only sections proven
/// whole ([`walk_section_whole`]). A Jellyfin policy is applied to its series walks alone:
/// its other walks are not proven against restricted users' answers.
async fn walk_sections(
    state: &LoaderState,
    handle: &super::UpstreamIndex,
    walk: &walk::Walk,
    walked: &str,
    sections: &UserSections,
    folded: &FoldedTitles,
) -> (Vec<String>, Option<UserRestriction>) {
    let (reads, up, user) = (&state.reads, &state.up, &state.user);
    let by_share = cachearr_dialect::of(up.profile).share_service().is_some();
    let restriction = match walk {
        _ if is_owner(reads, up, user) => None,
        walk::Walk::Shows { .. } => restriction_of(reads, handle, up, user).await,
        _ if by_share => restriction_of(reads, handle, up, user).await,
        _ => None,
    };
    match restriction {
        Some(r) => restricted_sections(sections, r),
        None => (
            walk_section_whole(state, sections, walk.spans(walked), folded).await,
            None,
        ),
    }
}

/// The user's sections found whole among `sections`, proving only those the walk spans: its
/// own section (two counts per kind the first time, where all of a user's sections would
/// cost a tool's one-page listing tens of requests), or every one for a list across
/// sections. When the walk's section is not whole for the user (a share the server filters),
/// the copy answers none of their walks in it.
async fn walk_section_whole(
    state: &LoaderState,
    sections: &UserSections,
    spans: walk::Spans<'_>,
    folded: &FoldedTitles,
) -> Vec<String> {
    let (reads, up, user) = (&state.reads, &state.up, &state.user);
    // The owner sees every section whole, proven by nothing: all of them are the copy's. A
    // list across sections proves every one.
    let spanned = match spans {
        walk::Spans::One(section) if !is_owner(reads, up, user) => only(sections, section),
        _ => sections.clone(),
    };
    let whole = whole_sections(
        reads,
        up,
        user,
        &spanned,
        |id, kind| folded.count(id, kind),
        |id, kind| folded.held_by_leaves(id, kind),
    )
    .await;
    // (A list across sections is answered by the owner's whole sections alone.)
    if let walk::Spans::One(section) = spans
        && !whole.iter().any(|w| w.eq_ignore_ascii_case(section))
    {
        state
            .copy_declines_user
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    whole
}

/// Whether a request's `Accept` asks for JSON (as [`Ctx::json`] reads it).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

fn sorted(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut h = headers.to_vec();
    h.sort();
    h
}

/// A walk's answer as stored: the body, the frame's headers and the page's own; tagged with
/// its shape (`shape_tag`, [`frame::Shape::tag`]).
fn walk_value(answer: Ready, frame_headers: &[(String, String)], shape_tag: String) -> CopyAnswer {
    let mut headers = frame_headers.to_vec();
    headers.extend(answer.headers.into_iter().map(|(n, v)| (n.to_owned(), v)));
    CopyAnswer {
        value: CachedValue {
            status: 200,
            headers,
            body: Bytes::from(answer.text),
        },
        ids: answer.ids,
        tags: vec![shape_tag],
    }
}
