//! Walks answered from the library copy on a cache miss: Plex's section listings and counts
//! (`/library/sections/{id}/all` without a filter), an item's children
//! (`/library/metadata/{id}/children`) and leaves (`…/allLeaves`), the home screen's recently
//! added items of one kind (`/hubs/home/recentlyAdded?type=`); Jellyfin's episodes and
//! seasons of a series (`/Shows/{id}/Episodes|Seasons`, written in [`super::jellyfin`]).
//!
//! The items are the server's own elements as the crawl kept them, in the section's natural
//! order, with the asking user's play state; the container and the headers around them are
//! the frame learned from the server's answers of the same shape ([`frame`]). Everything
//! else — a filter, a sort other than by rating key, a parameter not understood, a parent
//! the index does not hold, a page larger than [`PAGE_MAX`] — goes to the server.
//!
//! [`frame`]: super::frame

use std::sync::Arc;

use cachearr_library::index::{ItemNo, ItemView};
use cachearr_library::{ItemKind, LibraryIndex, Visibility};

use super::super::declined::{Declined, OrDeclined as _};
use super::super::elements::{Element, ElementStore};
use super::super::titles::FoldedTitles;
use super::super::written::{Form, Halves};
use super::frame::{Frame, Observed, Shape, ShapeLike, Sources};
use super::rivals::{self, Rivals};
use super::{Answer, AnswerBody, Ctx, ItemRef};
use cachearr_dialect::CopyAnswers;
use cachearr_dialect::Profile;
use cachearr_serverfmt::tree::El;
use cachearr_upstream::keys::UserHash;

/// The most items one answer from the copy writes: larger pages (whole-section dumps) are
/// read once from the server and then served from the cache.
pub(crate) const PAGE_MAX: usize = 1000;

/// The order of a recently-added list, as a frame's [`Shape`] names it.
const RECENT_ORDER: &str = "addedAt:desc";

/// A walk the copy may answer.
pub(super) enum Walk {
    /// `/library/sections/{id}/all` without a filter.
    Listing {
        section: String,
        params: Vec<(String, String)>,
    },
    /// `/library/metadata/{id}/children` (`leaves`: `…/allLeaves`).
    Children {
        parent: String,
        leaves: bool,
        params: Vec<(String, String)>,
    },
    /// Jellyfin `/Shows/{id}/Episodes` or (`seasons`) `/Shows/{id}/Seasons` (parameter names
    /// lower-cased: Jellyfin ignores their case).
    Shows {
        series: String,
        seasons: bool,
        params: Vec<(String, String)>,
    },
    /// What was added last of one kind across the user's sections, newest first (Plex
    /// `/hubs/home/recentlyAdded`).
    Recent { params: Vec<(String, String)> },
}

/// The section a recently-added list's shape and place name: every section the user sees.
pub(super) const EVERY_SECTION: &str = "*";

impl Walk {
    /// The route of a frame's [`Shape`] this walk would be answered with (`None`: a walk
    /// written without one).
    pub(super) fn route(&self) -> Option<&'static str> {
        match self {
            Walk::Listing { .. } => Some("all"),
            Walk::Children { leaves: false, .. } => Some("children"),
            Walk::Children { leaves: true, .. } => Some("allLeaves"),
            Walk::Recent { .. } => Some("recent"),
            Walk::Shows { seasons, .. } => Some(super::series::show_route(*seasons)),
        }
    }

    /// Where the walk is, for counting a user's walk misses: the section and type of a
    /// listing, the section of a parent's children (found in the index, no request).
    pub(super) fn place(
        &self,
        answers: &dyn CopyAnswers,
        folded: &FoldedTitles,
        index: &LibraryIndex,
    ) -> Option<String> {
        match self {
            Walk::Listing { section, params } => Some(format!(
                "{section}/{}",
                answers.kind_named(params).unwrap_or("")
            )),
            Walk::Children { parent, .. } => {
                let first = *folded
                    .children(parent)
                    .first()
                    .or_else(|| folded.grandchildren(parent).first())?;
                let view = index.item(first, &Visibility::everything())?;
                Some(format!("{}/children", view.section_id()))
            }
            Walk::Shows { series, .. } => {
                let first = *folded.grandchildren(series).first()?;
                let view = index.item(first, &Visibility::everything())?;
                Some(format!("{}/episodes", view.section_id()))
            }
            Walk::Recent { params } => Some(format!(
                "{EVERY_SECTION}/recent/{}",
                answers.recent_request(params)?.kind.name()
            )),
        }
    }

    /// Whether this is a recently-added list.
    pub(super) fn is_recent(&self) -> bool {
        matches!(self, Walk::Recent { .. })
    }

    /// The sections the walk spans, given its place ([`Walk::place`]): what proving the
    /// user sees it whole must cover.
    pub(super) fn spans<'p>(&self, place: &'p str) -> Spans<'p> {
        match self {
            Walk::Recent { .. } => Spans::Every,
            _ => Spans::One(place.split('/').next().unwrap_or_default()),
        }
    }
}

/// The sections a walk spans ([`Walk::spans`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spans<'a> {
    /// One section, by id: a listing, a parent's children, a series' episodes.
    One(&'a str),
    /// Every section the user sees (a recently-added list).
    Every,
}

impl Walk {
    /// What the request of `user` tells of the walk's shape ([`ShapeLike`]); `None` for a
    /// walk written without one, or a request not understood.
    pub(super) fn like(
        &self,
        answers: &dyn CopyAnswers,
        headers: &http::HeaderMap,
        json: bool,
        user: UserHash,
    ) -> Option<ShapeLike> {
        let route = self.route()?;
        let params = match self {
            Walk::Shows {
                seasons, params, ..
            } => {
                let asked = answers.series_walk(*seasons, params, headers)?.asked?;
                return Some(ShapeLike {
                    route,
                    kind: Some(ItemKind::Episode),
                    order: "",
                    json: true,
                    guids: false,
                    paged: asked.start.is_some() || asked.limit.is_some(),
                    options: super::series::show_options(&asked, user),
                });
            }
            Walk::Listing { params, .. } | Walk::Children { params, .. } => params,
            Walk::Recent { params } => {
                let asked = answers.recent_request(params)?;
                let (start, size) = answers.paging(headers, params)?;
                return Some(ShapeLike {
                    route,
                    kind: Some(asked.kind),
                    order: RECENT_ORDER,
                    json,
                    guids: false,
                    paged: start.is_some() || size.is_some(),
                    options: String::new(),
                });
            }
        };
        let asked = answers.walk_request(params)?;
        let (start, size) = answers.paging(headers, params)?;
        let kind = match self {
            Walk::Listing { .. } => answers
                .kind_named(params)
                .and_then(|t| answers.kind_of_type(t)),
            _ => None,
        };
        Some(ShapeLike {
            route,
            kind,
            order: asked.order.as_str(),
            json,
            guids: asked.guids,
            paged: start.is_some() || size.is_some(),
            options: String::new(),
        })
    }

    /// Whether this is a count: a section listing's page of at most one item (Plex's
    /// `X-Plex-Container-Size=0|1`), what tools read a section's size with.
    pub(super) fn is_count(&self, answers: &dyn CopyAnswers, headers: &http::HeaderMap) -> bool {
        let Walk::Listing { params, .. } = self else {
            return false;
        };
        matches!(answers.paging(headers, params), Some((_, Some(0 | 1))))
    }

    /// Where this page stands in its section listing: its first item, its size (`None`:
    /// the whole listing, unpaged) and the index's count of the kind its query names
    /// (`CopyAnswers::kind_named`). `None` when that cannot be told (not a listing, a kind or
    /// paging the dialect does not read). `profile`: the upstream's, whose dialect reads the
    /// page asked for.
    fn place_in_listing(
        &self,
        profile: Profile,
        headers: &http::HeaderMap,
        folded: &FoldedTitles,
    ) -> Option<(u64, Option<u64>, u64)> {
        let Walk::Listing { section, params } = self else {
            return None;
        };
        let answers = cachearr_dialect::of(profile).answers()?;
        let kind = (answers.kind_named(params)).and_then(|t| answers.kind_of_type(t))?;
        let (start, size) = answers.paging(headers, params)?;
        let number = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Some((
            number(start.unwrap_or(0)),
            size.map(number),
            folded.count(section, kind),
        ))
    }

    /// Whether this is a section listing's last page (or the whole listing, unpaged): the
    /// walk of that listing ends with it. `false` when that cannot be told.
    pub(super) fn ends_listing(
        &self,
        profile: Profile,
        headers: &http::HeaderMap,
        folded: &FoldedTitles,
    ) -> bool {
        match self.place_in_listing(profile, headers, folded) {
            None => false,
            Some((_, None, _)) => true,
            Some((start, Some(size), count)) => start.saturating_add(size) >= count,
        }
    }

    /// How many pages of a section listing follow this one (0 for its last page or the
    /// whole listing, unpaged); `None` when that cannot be told, or for a count (a page of no
    /// item is no page of a walk).
    pub(super) fn pages_after(
        &self,
        profile: Profile,
        headers: &http::HeaderMap,
        folded: &FoldedTitles,
    ) -> Option<u64> {
        match self.place_in_listing(profile, headers, folded)? {
            (_, None, _) => Some(0),
            (_, Some(0), _) => None,
            (start, Some(size), count) => Some(
                count
                    .saturating_sub(start.saturating_add(size))
                    .div_ceil(size),
            ),
        }
    }
}

/// A walk made ready: its items in order, its shape, and which kept elements its frame reads
/// (read only when an answer is written: [`Made::read`]).
pub(super) struct Made {
    pub(super) shape: Shape,
    /// What tells the server answers a frame is proven on apart (the parent, or a listing's
    /// page).
    proof_key: String,
    items: Arc<Vec<ItemNo>>,
    /// The name `items`' order is kept under for the index (a listing's: its rivals' orders
    /// are kept beside it); `None` when it is not kept (a parent's children, made per walk).
    order_key: Option<String>,
    parent: Option<String>,
    grandparent: Option<String>,
    child: Option<String>,
    params: Vec<(String, String)>,
}

/// The copy's answer to a walk, and what proving it on the server's answer takes.
pub(super) struct TreeAnswer {
    pub(super) answer: Answer,
    pub(super) frame: Arc<Frame>,
    pub(super) shape: Shape,
    pub(super) proof_key: String,
    /// The rivals of the frame that order the answer's page as the copy does.
    pub(super) agreeing: Rivals,
}

impl Made {
    /// The kept elements a frame reads, those `uses` marks (`[parent, grandparent, child,
    /// section]`, [`Frame::uses`]): each a read of the store, so a walk's shape alone (asked
    /// before its answer) reads none, and a proven frame only what its readings look into.
    /// A frame reads attributes only: the elements' children are left unread.
    fn read(&self, store: &ElementStore, uses: [bool; 4]) -> Kept {
        let get = |id: &Option<String>, used: bool| {
            id.as_deref()
                .filter(|_| used)
                .and_then(|id| store.kept_attrs(id))
        };
        Kept {
            parent: get(&self.parent, uses[0]),
            grandparent: get(&self.grandparent, uses[1]),
            child: get(&self.child, uses[2]),
            section: uses[3]
                .then(|| store.container_attrs(&self.shape.section))
                .flatten(),
        }
    }
}

/// The kept elements a walk's frame reads.
struct Kept {
    parent: Option<Arc<Element>>,
    grandparent: Option<Arc<Element>>,
    child: Option<Arc<Element>>,
    section: Option<Element>,
}

impl Kept {
    fn sources(&self) -> Sources<'_> {
        Sources {
            parent: self.parent.as_deref(),
            grandparent: self.grandparent.as_deref(),
            child: self.child.as_deref(),
            section: self.section.as_ref(),
        }
    }
}

impl Ctx<'_> {
    /// The answer of `walk` from the copy: with the proven frame, or — given the server's
    /// answer of the same request (`server`) — with the frame narrowed by it, to prove it.
    /// `Err`: the server answers, for that reason (among them a page whose order the proofs
    /// have not told from a rival's: [`rivals`]).
    pub(super) fn tree_walk(
        &self,
        made: Made,
        server: Option<&Observed>,
    ) -> Result<TreeAnswer, Declined> {
        let store = self.elements.as_ref().or_declined(Declined::NotKept)?;
        let (frame, kept) = match server {
            None => {
                let frame =
                    (self.frames.proven(&made.shape)).or_declined(Declined::FrameUnproven)?;
                let kept = made.read(store, frame.uses());
                (frame, kept)
            }
            // Refused for good: nothing more to learn.
            Some(_) if self.frames.refused(&made.shape) => return Err(Declined::FrameRefused),
            Some(observed) => {
                let kept = made.read(store, [true; 4]);
                let frame = (self.frames)
                    .learn(&made.shape, observed, &kept.sources(), &self.up.name)
                    .or_declined(Declined::FrameRefused)?;
                (frame, kept)
            }
        };
        let mut container =
            (frame.container(&kept.sources(), made.shape.json)).or_declined(Declined::NotKept)?;
        let (start, size) = self
            .paging(&made.params)
            .or_declined(Declined::UnmodelledParameter)?;
        let total = made.items.len();
        let from = start.unwrap_or(0).min(total);
        let to = size.map_or(total, |s| from.saturating_add(s).min(total));
        if to - from > PAGE_MAX {
            return Err(Declined::PageTooLarge);
        }
        let agreeing = self.rivals_agreeing(&made, from..to, frame.rivals());
        // The proofs could not tell the copy's order from one that orders this page
        // otherwise: the server answers, and its answer is the proof that tells them apart.
        if server.is_none() && agreeing != frame.rivals() {
            return Err(Declined::FrameUnproven);
        }
        let json = made.shape.json;
        let page = &made.items[from..to];
        let written = self.written_items(&container, page, &made.shape);
        let head = self
            .answers
            .page_head(page.len(), made.shape.paged.then_some((total, from)));
        container.attrs.splice(0..0, head);
        let body = match written {
            Some(items) => AnswerBody::Halves {
                container,
                json,
                items,
            },
            None => {
                let items = (self.tree_items(&mut container, page, made.shape.guids))
                    .or_declined(Declined::NotKept)?;
                AnswerBody::Tree {
                    doc: container,
                    json,
                    items,
                }
            }
        };
        let answer = Answer {
            body,
            content_type: self.answers.facts().content_type(json),
            headers: self
                .answers
                .page_headers(made.shape.paged.then_some((from, total))),
        };
        Ok(TreeAnswer {
            answer,
            frame,
            shape: made.shape,
            proof_key: made.proof_key,
            agreeing,
        })
    }

    /// The rivals among `kept` that order the page `page` of `made` as the copy does (a
    /// listing's rival orders kept once per index, as its own order is).
    fn rivals_agreeing(&self, made: &Made, page: std::ops::Range<usize>, kept: Rivals) -> Rivals {
        rivals::agreeing(&made.items, page, kept, |rival| {
            self.rival_order(made, rival)
        })
    }

    /// `made`'s items in `rival`'s order (a listing's kept once per index, as its own is).
    fn rival_order(&self, made: &Made, rival: rivals::Rival) -> Arc<Vec<ItemNo>> {
        match &made.order_key {
            Some(key) => self
                .folded
                .walk_order(&format!("{key}#{}", rival.name()), || {
                    rival.ordered(self.index, self.answers, &made.items)
                }),
            None => Arc::new(rival.ordered(self.index, self.answers, &made.items)),
        }
    }

    /// Where each rival of `made`'s order first puts another item than the copy does: a
    /// page from there is one that rival orders otherwise, whose server answer rules it out
    /// or refuses the shape. A rival that orders every item as the copy does is left out (no
    /// page of any user's can tell it apart).
    pub(super) fn rivals_parting(&self, made: &Made) -> Vec<(rivals::Rival, usize)> {
        (made.shape.rivals().iter())
            .filter_map(|rival| {
                let theirs = self.rival_order(made, rival);
                let parts = (theirs.iter().zip(made.items.iter())).position(|(a, b)| a != b)?;
                Some((rival, parts))
            })
            .collect()
    }

    /// The items of `page`, each its kept element as a walk shows it (the container names
    /// the section), put into `container`; `None` when one is not kept or is older than the
    /// index's record of it.
    fn tree_items(&self, container: &mut El, page: &[ItemNo], guids: bool) -> Option<Vec<ItemRef>> {
        let everything = Visibility::everything();
        let store = self.elements.as_ref()?;
        let mut items = Vec::with_capacity(page.len());
        for &no in page {
            let view = self.index.item(no, &everything)?;
            let e = store.item_el(view.id(), view.updated_at(), guids)?;
            items.push(self.item_ref(&view, container.kids.len()));
            container.kids.push(e);
        }
        Some(items)
    }

    /// The items of `page` as the copy keeps them written ([`written`]), when every one is
    /// and the answer can be written from them: a container of no children of its own, and
    /// items whose user values all go at the cut (not albums' and artists' played-track
    /// counts). `None`: the answer is written as a tree.
    ///
    /// The first answer in a form starts writing the rest of the library ahead in it.
    ///
    /// [`written`]: super::super::written
    fn written_items(
        &self,
        container: &El,
        page: &[ItemNo],
        shape: &Shape,
    ) -> Option<Vec<(ItemRef, Halves)>> {
        if !container.kids.is_empty()
            || page.is_empty()
            || (self.answers.facts().counts_leaves)(shape.kind)
        {
            return None;
        }
        let store = self.elements.as_ref()?;
        let cut = self.answers.facts().user_state_cut;
        let form = Form {
            json: shape.json,
            guids: shape.guids,
        };
        let everything = Visibility::everything();
        let mut items = Vec::with_capacity(page.len());
        for (n, &no) in page.iter().enumerate() {
            let view = self.index.item(no, &everything)?;
            let halves = store.written(view.id(), view.updated_at(), form, cut)?;
            items.push((self.item_ref(&view, n), halves));
        }
        let counts_leaves = self.answers.facts().counts_leaves;
        store.write_ahead(form, self.index.clone(), cut, move |view| {
            counts_leaves(view.kind())
        });
        Some(items)
    }

    fn item_ref(&self, view: &ItemView<'_>, at: usize) -> ItemRef {
        ItemRef {
            hub: None,
            at,
            id: view.id().to_string(),
            section: view.section_id().to_string(),
            kind: view.kind(),
        }
    }

    /// The walk made ready, its items found and ordered once (`Err`: the server answers
    /// it, for that reason).
    pub(super) fn made(&self, walk: &Walk) -> Result<Made, Declined> {
        // Nothing to answer with when no element is kept.
        self.elements.as_ref().or_declined(Declined::NotKept)?;
        match walk {
            Walk::Listing { section, params } => self.made_listing(section, params),
            Walk::Children {
                parent,
                leaves,
                params,
            } => self.made_children(parent, *leaves, params),
            Walk::Recent { params } => self.made_recent(params),
            Walk::Shows { .. } => Err(Declined::UnmodelledParameter),
        }
    }

    /// Why the sections asked of [`Ctx::indexed`] or [`Ctx::search_sections`] were not
    /// answered for, as they noted it.
    fn sections_declined(&self) -> Declined {
        self.last_declined().unwrap_or(Declined::NotIndexed)
    }

    /// A recently-added list made ready: the items of the kind asked for in every section
    /// the user sees that holds it (each of which the copy must answer for), newest first
    /// (the newer id first where two were added at once), capped as the server caps a list
    /// asked for without a page size.
    fn made_recent(&self, params: &[(String, String)]) -> Result<Made, Declined> {
        let asked =
            (self.answers.recent_request(params)).or_declined(Declined::UnmodelledParameter)?;
        let sections =
            (self.search_sections(&[asked.kind], false)).ok_or_else(|| self.sections_declined())?;
        let (start, size) = self
            .paging(params)
            .or_declined(Declined::UnmodelledParameter)?;
        let paged = start.is_some() || size.is_some();
        let key = format!("{}/{:?}/{RECENT_ORDER}", sections.join(","), asked.kind);
        let mut items = self.shown_walk(&key, self.recent_items(&sections, asked.kind))?;
        // The server caps the list unless a page size is asked for (a start alone pages the
        // capped list).
        if size.is_none() && items.len() > asked.unpaged_max {
            items = Arc::new(items[..asked.unpaged_max].to_vec());
        }
        let order_key = self.shown_key(&format!(
            "{}/{:?}/{RECENT_ORDER}/{}",
            sections.join(","),
            asked.kind,
            items.len()
        ));
        Ok(self.page_made(
            Shape {
                route: "recent",
                section: EVERY_SECTION.to_owned(),
                kind: asked.kind,
                order: RECENT_ORDER,
                json: self.json(),
                guids: false,
                paged,
                options: asked.variant.to_owned(),
            },
            (items, order_key),
            (start, size),
            params,
        ))
    }

    /// The items of `kind` in `sections`, newest first (kept once per index).
    fn recent_items(&self, sections: &[&str], kind: ItemKind) -> Arc<Vec<ItemNo>> {
        let everything = Visibility::everything();
        self.folded.walk_order(
            &format!("{}/{kind:?}/{RECENT_ORDER}", sections.join(",")),
            || {
                let mut keyed: Vec<((i64, u64), ItemNo)> = self
                    .folded
                    .all(&[kind], sections)
                    .into_iter()
                    .filter_map(|hit| {
                        let view = self.index.item(hit.item, &everything)?;
                        let id = view.id().parse::<u64>().unwrap_or(u64::MAX);
                        Some(((view.added_at(), id), hit.item))
                    })
                    .collect();
                keyed.sort_by_key(|k| std::cmp::Reverse(k.0));
                keyed.into_iter().map(|(_, no)| no).collect()
            },
        )
    }

    /// A section's listing made ready: its items of the kind asked for, in the order asked
    /// for (kept once per index).
    fn made_listing(&self, section: &str, params: &[(String, String)]) -> Result<Made, Declined> {
        let json = self.json();
        let asked =
            (self.answers.walk_request(params)).or_declined(Declined::UnmodelledParameter)?;
        let s = self
            .sections
            .get(section)
            .or_declined(Declined::SectionsUnknown)?;
        let kind =
            (self.answers.listing_kind(params, s)).or_declined(Declined::UnmodelledParameter)?;
        let sections = (self.indexed(Some(section))).ok_or_else(|| self.sections_declined())?;
        let ids: Vec<&str> = sections.iter().map(|s| s.id.as_str()).collect();
        let order = asked.order.as_str();
        let items = self.shown_listing_items(&ids, kind, order)?;
        let order_key = self.shown_key(&Self::listing_key(&ids, kind, order));
        let (start, size) = self
            .paging(params)
            .or_declined(Declined::UnmodelledParameter)?;
        Ok(self.page_made(
            Shape {
                route: "all",
                section: section.to_owned(),
                kind,
                order,
                json,
                guids: asked.guids,
                paged: start.is_some() || size.is_some(),
                options: String::new(),
            },
            (items, order_key),
            (start, size),
            params,
        ))
    }

    /// A listing's page made ready (a section's, or a recently-added list across sections):
    /// its items in order (kept under `order_key`), no parent, proven apart by the page
    /// asked for.
    fn page_made(
        &self,
        shape: Shape,
        (items, order_key): (Arc<Vec<ItemNo>>, String),
        (start, size): (Option<usize>, Option<usize>),
        params: &[(String, String)],
    ) -> Made {
        let everything = Visibility::everything();
        Made {
            shape,
            proof_key: format!("{}/{}", start.unwrap_or(0), size.unwrap_or(usize::MAX)),
            child: items
                .first()
                .and_then(|&no| Some(self.index.item(no, &everything)?.id().to_string())),
            items,
            order_key: Some(order_key),
            parent: None,
            grandparent: None,
            params: params.to_vec(),
        }
    }

    /// [`Self::listing_items`] as the asking user is shown them ([`Self::shown_walk`]).
    fn shown_listing_items(
        &self,
        sections: &[&str],
        kind: ItemKind,
        order: &str,
    ) -> Result<Arc<Vec<ItemNo>>, Declined> {
        let key = Self::listing_key(sections, kind, order);
        self.shown_walk(&key, self.listing_items(sections, kind, order))
    }

    /// `items` (a list kept as `key`) as the asking user is shown them: all of them, unless
    /// the answer applies the user's restriction; then those it shows, kept per index under
    /// `key` and the restriction (a page of a section's listing filters it once, not per
    /// page). `Err` when an item's verdict cannot be given (nothing kept: the server answers).
    fn shown_walk(&self, key: &str, items: Arc<Vec<ItemNo>>) -> Result<Arc<Vec<ItemNo>>, Declined> {
        let Some(restricted) = self.restricted else {
            return Ok(items);
        };
        self.folded
            .walk_order_if(&self.shown_key(key), || {
                let shown = (items.iter().copied())
                    .filter(|&no| restricted.shows_no(no))
                    .collect();
                (!restricted.unknown()).then_some(shown)
            })
            .or_declined(Declined::RestrictionUnknown)
    }

    /// The name a list kept as `key` is kept under as the asking user is shown it: `key`
    /// itself, or with the restriction the answer applies (its rival orders too).
    fn shown_key(&self, key: &str) -> String {
        match self.restricted {
            None => key.to_owned(),
            Some(restricted) => format!("{key}/shown:{:x}", restricted.fingerprint()),
        }
    }

    /// The name a listing's order is kept under for the index.
    fn listing_key(sections: &[&str], kind: ItemKind, order: &str) -> String {
        format!("{}/{kind:?}/{order}", sections.join(","))
    }

    /// The items of `kind` in `sections`, in the order asked for (kept once per index).
    fn listing_items(&self, sections: &[&str], kind: ItemKind, order: &str) -> Arc<Vec<ItemNo>> {
        self.folded
            .walk_order(&Self::listing_key(sections, kind, order), || {
                let hits = self.folded.all(&[kind], sections);
                self.ordered(hits.into_iter().map(|h| h.item).collect(), order)
            })
    }

    /// The one read that holds the asking user's state of a count's item
    /// ([`ReadAsUser::items_read`]), when `walk` is a count — a listing's first page of at
    /// most one item, in the section's natural order: the metadata of the first item of
    /// each of the user's listings the copy answers (every kind of each section shown
    /// whole), so that the counts a tool makes of a user's sections, one per section and
    /// kind, read their items' state with one request. `None` for any other walk (its state
    /// is read from the user's listings).
    ///
    /// [`ReadAsUser::items_read`]: cachearr_dialect::ReadAsUser::items_read
    pub(super) fn heads_read(&self, walk: &Walk) -> Option<String> {
        if let Walk::Recent { params } = walk {
            return self.recent_read(params);
        }
        let Walk::Listing { params, .. } = walk else {
            return None;
        };
        let (start, size) = self.paging(params)?;
        let natural = self.answers.walk_request(params)?.order.as_str().is_empty();
        if !natural || start.unwrap_or(0) != 0 || size? > 1 {
            return None;
        }
        let everything = Visibility::everything();
        let mut heads: Vec<String> = Vec::new();
        let held = self.held();
        for section in &self.sections.sections {
            if !held.contains(&section.id.as_str()) {
                continue;
            }
            for &kind in self.answers.section_kinds(&section.kind) {
                let items = self
                    .shown_listing_items(&[section.id.as_str()], kind, "")
                    .ok()?;
                let Some(view) = items
                    .first()
                    .and_then(|&no| self.index.item(no, &everything))
                else {
                    continue;
                };
                heads.push(view.id().to_owned());
            }
        }
        self.one_read(heads)
    }

    /// The read of the metadata of `ids`, in one order whichever list or count asked first:
    /// one read, one cache entry.
    fn one_read(&self, ids: Vec<String>) -> Option<String> {
        let mut ordered: Vec<(u64, String)> = ids
            .into_iter()
            .map(|id| (id.parse().unwrap_or(u64::MAX), id))
            .collect();
        ordered.sort();
        let ids: Vec<&str> = ordered.iter().map(|(_, id)| id.as_str()).collect();
        self.answers.items_read_path(&ids)
    }

    /// The one read that holds the asking user's state of a recently-added list's items, when
    /// its page lies within the first unpaged list's: the metadata of the newest items of
    /// each section kind's top level (movies, shows, artists: what a home screen lists) in
    /// the sections the copy answers the user for, as many of each as an unpaged list holds.
    /// Every such list a tool makes — Tautulli's four — reads the same one, where each list's
    /// state read from its sections' listings costs two or three reads a section.
    fn recent_read(&self, params: &[(String, String)]) -> Option<String> {
        let asked = self.answers.recent_request(params)?;
        let (start, size) = self.paging(params)?;
        let end = start
            .unwrap_or(0)
            .saturating_add(size.unwrap_or(asked.unpaged_max));
        if end > asked.unpaged_max {
            return None;
        }
        let held = self.held();
        let mut tops: Vec<(ItemKind, Vec<&str>)> = Vec::new();
        for section in &self.sections.sections {
            let Some(&top) = self.answers.section_kinds(&section.kind).first() else {
                continue;
            };
            if !held.contains(&section.id.as_str()) {
                continue;
            }
            match tops.iter_mut().find(|(kind, _)| *kind == top) {
                Some((_, ids)) => ids.push(section.id.as_str()),
                None => tops.push((top, vec![section.id.as_str()])),
            }
        }
        if !tops.iter().any(|(kind, _)| *kind == asked.kind) {
            return None;
        }
        let everything = Visibility::everything();
        let mut ids: Vec<String> = Vec::new();
        for (kind, sections) in &tops {
            let key = format!("{}/{kind:?}/{RECENT_ORDER}", sections.join(","));
            let items = self
                .shown_walk(&key, self.recent_items(sections, *kind))
                .ok()?;
            for &no in items.iter().take(asked.unpaged_max) {
                ids.push(self.index.item(no, &everything)?.id().to_owned());
            }
        }
        self.one_read(ids)
    }

    /// An item's children (or, `leaves`, its leaves) made ready, in the order asked for.
    fn made_children(
        &self,
        parent: &str,
        leaves: bool,
        params: &[(String, String)],
    ) -> Result<Made, Declined> {
        let everything = Visibility::everything();
        let json = self.json();
        let asked =
            (self.answers.walk_request(params)).or_declined(Declined::UnmodelledParameter)?;
        if asked.kind_named {
            return Err(Declined::UnmodelledParameter);
        }
        let children = self.folded.children(parent);
        let first_kind = children
            .first()
            .and_then(|&no| self.index.item(no, &everything))
            .map(|v| v.kind());
        // An album's or a season's leaves are its children; an artist's or a show's
        // are their children's children.
        let items: Vec<ItemNo> = match (leaves, first_kind) {
            (false, _) | (true, Some(ItemKind::Track | ItemKind::Episode)) => children.to_vec(),
            (true, _) => self.folded.grandchildren(parent).to_vec(),
        };
        let first = (items.first())
            .and_then(|&no| self.index.item(no, &everything))
            .or_declined(Declined::NotIndexed)?;
        let (kind, section) = (first.kind(), first.section_id().to_string());
        (self.indexed(Some(&section))).ok_or_else(|| self.sections_declined())?;
        let order = asked.order.as_str();
        let items = self.shown_children(parent, self.ordered(items, order))?;
        let (start, size) = self
            .paging(params)
            .or_declined(Declined::UnmodelledParameter)?;
        let child = Some(first.id().to_string());
        // The grandparent: the parent's parent, as its children name it.
        let grandparent_id = match (leaves, kind) {
            (true, ItemKind::Track | ItemKind::Episode) if first.parent_id() != Some(parent) => {
                None
            }
            _ => first.grandparent_id(),
        };
        Ok(Made {
            shape: Shape {
                route: if leaves { "allLeaves" } else { "children" },
                section: section.clone(),
                kind,
                order,
                json,
                guids: asked.guids,
                paged: start.is_some() || size.is_some(),
                options: String::new(),
            },
            proof_key: parent.to_owned(),
            items,
            order_key: None,
            parent: Some(parent.to_owned()),
            grandparent: grandparent_id.map(str::to_string),
            child,
            params: params.to_vec(),
        })
    }

    /// The children `items` of `parent` (in `section`) the asking user is shown; `Err` when
    /// the parent is hidden from them (the server answers it as not found) or a verdict
    /// cannot be given. Not kept: a tool reads each parent's children once.
    fn shown_children(
        &self,
        parent: &str,
        items: Vec<ItemNo>,
    ) -> Result<Arc<Vec<ItemNo>>, Declined> {
        let Some(restricted) = self.restricted else {
            return Ok(Arc::new(items));
        };
        let everything = Visibility::everything();
        let parent_view =
            (self.index.by_id(parent, &everything)).or_declined(Declined::NotIndexed)?;
        if !restricted.shows(&parent_view) {
            return Err(match restricted.unknown() {
                true => Declined::RestrictionUnknown,
                false => Declined::ItemHidden,
            });
        }
        let shown: Vec<ItemNo> = (items.into_iter())
            .filter(|&no| restricted.shows_no(no))
            .collect();
        if restricted.unknown() {
            return Err(Declined::RestrictionUnknown);
        }
        Ok(Arc::new(shown))
    }

    /// `items` in the order asked for (`WalkOrder::as_str`): the section's natural order
    /// (the dialect's [`natural_order`](cachearr_dialect::CopyAnswers::natural_order)) or by
    /// rating key.
    fn ordered(&self, items: Vec<ItemNo>, order: &str) -> Vec<ItemNo> {
        let everything = Visibility::everything();
        if !order.is_empty() {
            let id = |no: &ItemNo| {
                self.index
                    .item(*no, &everything)
                    .and_then(|v| v.id().parse::<u64>().ok())
                    .unwrap_or(u64::MAX)
            };
            let mut items = items;
            items.sort_by_cached_key(id);
            if order == "id:desc" {
                items.reverse();
            }
            return items;
        }
        self.answers.natural_order(self.index, items)
    }
}
