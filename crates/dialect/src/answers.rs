//! How the library copy's answers (`upstream_index::answer` in `cachearr-copy`) are framed for a
//! server: [`CopyAnswers`], which each media server's dialect gives
//! ([`super::DialectFacts::answers`]).
//!
//! The copy answers searches and walks from the library index and the server's kept
//! elements; which items, in which order and which page, is the copy's. What differs per
//! server is how a request names its page (Plex's `X-Plex-Container-Start` / `-Size`, as a
//! header or in the query; Jellyfin's `StartIndex` / `Limit`), what a page's container says
//! of itself (Plex's `size`, `totalSize`, `offset`), the headers an answer carries (Plex's
//! `X-Plex-Container-Start` / `-Total-Size`, `X-Plex-Protocol`) and how a `type=` parameter
//! names a kind, and how a series walk's request reads ([`SeriesWalk`]) and a season's kept
//! document numbers it: that is this trait, so that the copy writes every server's answers
//! without naming one. How a search's path and query read ([`SearchRoute`]) is read before
//! anything else of its answer, by a trait of its own ([`SearchRoutes`]).
//!
//! Each server's searches are answered by its dialect ([`CopyAnswers::search`]), reading the
//! copy through [`CopyView`], which `cachearr-copy` implements over the index, its title
//! search, the user's sections and the server's kept elements: the dialect imports none of
//! those. What it gives back is [`Found`]: a document tree ([`Page`], Plex's), into whose
//! items the copy has the asking user's play state put; items to write from their kept
//! documents with the user's data ([`Documents`], Jellyfin's `/Items`); or a text written
//! whole.
//!
//! A trait object of its own beside [`super::Dialect`], as [`super::ServerLibrary`] is: its
//! questions are asked only by the copy's answers, together.

use cachearr_library::index::{ItemNo, ItemView};
use cachearr_library::{ItemKind, LibraryIndex};
use http::HeaderMap;

use crate::model::library::{Rank, TitleHit, UserSection, UserSections};
use crate::model::route::IndexSearch;

// The document tree a page is written in, and a value of an element's attribute: what
// `Page` and a tree walk's frames are made of.
use cachearr_serverfmt::tree::{El, V};

/// A search the copy may answer: the read the route table recognised, with what the
/// server's dialect read of its path and query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRoute {
    /// What the read asks, as the route table named it.
    pub search: IndexSearch,
    /// The one section the answer spans, when the request names one (in its path, or a
    /// parameter).
    pub section: Option<String>,
    /// The user the request names besides its token's (`/Users/{id}/…`, `UserId=`): the copy
    /// answers only for the token's own.
    pub named_user: Option<String>,
    /// The query, decoded, its names as the server reads them.
    pub params: Vec<(String, String)>,
}

/// How one server's searches are read: the route of a search, read before anything else of
/// its answer (the section it names narrows the proof that the user sees the sections whole,
/// which comes before the answer is looked for). Apart from [`CopyAnswers`], in each
/// dialect's `search_route.rs`: reading a route and writing an answer are two phases of a
/// search.
pub trait SearchRoutes: Send + Sync + std::fmt::Debug + 'static {
    /// The route of a search the route table recognised, its path and query read as the
    /// server reads them; `None` when it is none of the server's searches or its path cannot
    /// be read (the server answers).
    fn search_route(
        &self,
        search: IndexSearch,
        path: &str,
        query: Option<&str>,
    ) -> Option<SearchRoute>;
}

/// How the library copy's answers are framed for one server. See the module docs.
pub trait CopyAnswers: Send + Sync + std::fmt::Debug + 'static {
    /// The page a request asks for: its first item and its size, each `None` when not
    /// asked; `None` when either is not a number (the server answers). `params` are the
    /// request's decoded query, its names as the route reads them.
    fn paging(
        &self,
        headers: &HeaderMap,
        params: &[(String, String)],
    ) -> Option<(Option<usize>, Option<usize>)>;

    /// A request's query decoded, its names as the server reads them (as written, unless
    /// the server ignores their case).
    fn query_params(&self, query: Option<&str>) -> Vec<(String, String)> {
        params_as_written(query)
    }

    /// Where, in the path of a walk of one item's children (or leaves, or a series'
    /// episodes), that item's id is: a walk of its siblings' children is the same path with
    /// their ids there. `None` for any other path.
    fn walked_item(&self, _path: &str) -> Option<std::ops::Range<usize>> {
        None
    }

    /// The request for the page of `size` items from `start` of the walk a request reads:
    /// its query and headers with the page's place and size moved where the request names
    /// them, every other parameter and header as written; `None` when the request names no
    /// page (its walk is not paged). What the copy writes a walk's next pages ahead with, so
    /// they are stored under the keys the walk's own next requests find.
    fn page_moved(
        &self,
        _query: Option<&str>,
        _headers: &HeaderMap,
        _start: usize,
        _size: usize,
    ) -> Option<(Option<String>, HeaderMap)> {
        None
    }

    /// The attributes a page's container opens with: the number of items it holds (`size`)
    /// and, when the request asked for a page (`paged`: the whole count and where the page
    /// starts), those two. Empty for a server whose pages are no element tree.
    fn page_head(&self, _size: usize, _paged: Option<(usize, usize)>) -> Vec<(&'static str, V)> {
        Vec::new()
    }

    /// The headers a page of an answer carries for itself (`paged`: where it starts and the
    /// whole count), names in lower case, in the server's order.
    fn page_headers(&self, _paged: Option<(usize, usize)>) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// What the server's answers are as plain data: the same for every request.
    fn facts(&self) -> &'static AnswerFacts;

    /// The kind a request's `type` parameter names, when the index holds that kind.
    fn kind_of_type(&self, type_param: &str) -> Option<ItemKind>;

    /// The kinds a section of `kind` (as the server names it in a user's section listing)
    /// holds that the index holds too.
    fn section_kinds(&self, kind: &str) -> &'static [ItemKind];

    /// Whether a section of `kind` also holds items of kinds the title search does not
    /// answer (a show section's shows and seasons): a search asking for any kind would find
    /// those.
    fn section_holds_others(&self, kind: &str) -> bool;

    /// The answer of a search from the copy, before the asking user's play state is put in;
    /// `None`: the server answers it.
    fn search(&self, _route: &SearchRoute, _copy: &dyn CopyView) -> Option<Found> {
        None
    }

    /// `items` in the order the server lists a section in when no sort is asked for.
    fn natural_order(&self, _index: &LibraryIndex, items: Vec<ItemNo>) -> Vec<ItemNo> {
        items
    }

    /// A title as the server sorts by it (leading articles apart, case and accents folded):
    /// what the copy compares orders it has not proven by.
    fn sort_title(&self, title: &str) -> String {
        cachearr_serverfmt::search::fold(cachearr_serverfmt::plex::title_sort(title))
    }

    /// The path of one read, as a user, whose answer holds that user's state of each of
    /// `ids` ([`ReadAsUser::items_read`](crate::ReadAsUser::items_read)); `None`: the
    /// server has none.
    fn items_read_path(&self, _ids: &[&str]) -> Option<String> {
        None
    }

    /// The user's own id in an answer of [`UserRoutes::own`](crate::UserRoutes::own) (JSON).
    fn own_user_id(&self, _body: &[u8]) -> Option<String> {
        None
    }

    /// Whether two user ids name the same user, as the server reads them.
    fn same_user(&self, a: &str, b: &str) -> bool {
        a == b
    }

    /// A walk of a series' episodes (one season's, when asked) or (`seasons`) of its
    /// seasons, as the server reads the request's query (`params`, names lower-cased) and
    /// `headers`; `None` when the server's series walks are none of the copy's, or the
    /// request asks what the copy does not write (the server answers).
    fn series_walk(
        &self,
        _seasons: bool,
        _params: &[(String, String)],
        _headers: &HeaderMap,
    ) -> Option<SeriesWalk> {
        None
    }

    // A tree walk (`upstream_index::answer::walk` in `cachearr-copy`: a section listing, an item's
    // children or leaves, written from kept elements in a proven frame).

    /// The kind of item a section listing's parameters ask for (`type=`, else the kind the
    /// section lists, `section`); `None` for one the copy does not write (a kind the index
    /// does not hold, or does not hold whole) or a value not understood.
    fn listing_kind(
        &self,
        _params: &[(String, String)],
        _section: &UserSection,
    ) -> Option<ItemKind> {
        None
    }

    /// The value a listing's query names its kind by, as written (`None`: it names none).
    fn kind_named<'a>(&self, _params: &'a [(String, String)]) -> Option<&'a str> {
        None
    }

    /// How a tree walk's query reads: whether it names a kind, whether it asks for its
    /// items' external ids, the order it asks for. `None` when a parameter is one the copy
    /// does not write alike, or a value is not understood: the server answers.
    fn walk_request(&self, _params: &[(String, String)]) -> Option<WalkRequest> {
        None
    }

    /// A home screen's list of what was added last, across the user's sections (Plex
    /// `/hubs/home/recentlyAdded`), as the server reads its query. `None` when a parameter is
    /// one the copy does not write alike (the server answers), or for a server without one.
    fn recent_request(&self, _params: &[(String, String)]) -> Option<RecentRequest> {
        None
    }

    /// A listing of the items of the kinds it names ([`IndexSearch::ItemListing`]), as the
    /// server reads its path (`api_path`: the dialect's prefix taken off), query (`params`,
    /// names as the route reads them) and `headers`: what the copy needs to answer it with
    /// [`Self::empty_page`] when the library holds none of those kinds. `None` when the
    /// request asks anything that could list an item of another kind, or be written
    /// otherwise than that page (the server answers), or for a server without such listings.
    fn kinds_listing(
        &self,
        _api_path: &str,
        _params: &[(String, String)],
        _headers: &HeaderMap,
    ) -> Option<KindsListing> {
        None
    }

    /// The library a listing of kinds names (`None`: every library) and the item types it
    /// names, lower-cased, from its query alone (`params`, names as the route reads them):
    /// what tells, before anything else is read, whether it may be one the copy answers
    /// ([`Self::kinds_listing`] reads the rest). `None`: it names no kind.
    fn kinds_named(&self, _params: &[(String, String)]) -> Option<(Option<String>, Vec<String>)> {
        None
    }

    /// The body of a listing's page that holds no item, its place `start`: what the server
    /// writes around no item (`None`: a server whose listings the copy does not write).
    fn empty_page(&self, _start: usize) -> Option<String> {
        None
    }

    /// Whether a listing's answer (`body`) lists no item. `false` where it cannot be told:
    /// the copy then takes it for a library that changed.
    fn lists_no_item(&self, _body: &[u8]) -> bool {
        false
    }
}

/// A listing of the items of some kinds ([`CopyAnswers::kinds_listing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindsListing {
    /// The library listed, by id (`None`: every library the user sees).
    pub library: Option<String>,
    /// The item types named, lower-cased (the server reads them in any case).
    pub kinds: Vec<String>,
    /// Where the page starts.
    pub start: usize,
    /// The user the request names besides its token's: the copy answers only for the
    /// token's own.
    pub named_user: Option<String>,
}

/// What a server's answers from kept documents are as plain data, the same for every
/// request ([`CopyAnswers::facts`]): their content types and constant headers, where a
/// user's own id is read, and the readers the copy applies to each kept item.
#[derive(Debug)]
pub struct AnswerFacts {
    /// The content type of an answer in JSON.
    pub json_type: &'static str,
    /// The content type of an answer in the server's other form (its JSON one for a server
    /// with none).
    pub other_type: &'static str,
    /// The names of [`CopyAnswers::page_headers`]: a frame learnt from a server's answer
    /// leaves them out.
    pub page_header_names: &'static [&'static str],
    /// The headers an answer written whole (a search's: no frame learnt from the server
    /// brings them) carries before its page's own, names in lower case.
    pub document_headers: &'static [(&'static str, &'static str)],
    /// How an item's kept document (JSON) numbers it among its parent's children (a
    /// season's in its series; `None` when it writes none).
    pub sibling_number: fn(document: &[u8]) -> Option<i64>,
    /// Where a kept item's element is cut for the asking user's values to go between its
    /// halves.
    pub user_state_cut: fn(&El) -> usize,
    /// Whether an item of `kind` writes a count of the leaves the user played (its user
    /// state is not at the cut: it is written from the tree).
    pub counts_leaves: fn(ItemKind) -> bool,
}

impl AnswerFacts {
    /// The content type of an answer, JSON (`json`) or the server's other form.
    pub fn content_type(&self, json: bool) -> &'static str {
        if json {
            self.json_type
        } else {
            self.other_type
        }
    }
}

/// The first value of parameter `name` in `params` (compared exactly: as written for a server
/// that compares names exactly, lower-cased by a server that ignores their case).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A request's query decoded, its names as written: the reading of a server that compares
/// them exactly ([`CopyAnswers::query_params`]).
pub fn params_as_written(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A tree walk's query as the server reads it ([`CopyAnswers::walk_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkRequest {
    /// The query names a kind of item (a listing's kind is [`CopyAnswers::listing_kind`];
    /// the copy writes an item's children only unnamed).
    pub kind_named: bool,
    /// The items' external ids are asked for.
    pub guids: bool,
    /// The order asked for.
    pub order: WalkOrder,
}

/// A recently-added list's query as the server reads it ([`CopyAnswers::recent_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecentRequest {
    /// The kind listed.
    pub kind: ItemKind,
    /// The most items listed when no page size is asked for.
    pub unpaged_max: usize,
    /// The parameters that do not change which items are listed but that a server could
    /// write its answer otherwise for, as written: frames are proven per variant.
    pub variant: &'static str,
}

/// The order a tree walk asks for ([`WalkRequest`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkOrder {
    /// The section's natural order ([`CopyAnswers::natural_order`]).
    Natural,
    /// By the server's item id, ascending.
    ById,
    /// By the server's item id, descending.
    ByIdDescending,
}

impl WalkOrder {
    /// A short name that tells the orders apart in the keys the walks are kept under.
    pub fn as_str(self) -> &'static str {
        match self {
            WalkOrder::Natural => "",
            WalkOrder::ById => "id",
            WalkOrder::ByIdDescending => "id:desc",
        }
    }
}

/// A series' walk as the server reads the request ([`CopyAnswers::series_walk`]).
#[derive(Debug)]
pub struct SeriesWalk {
    /// The user the request names besides its token's: the copy answers only for the
    /// token's own.
    pub named_user: Option<String>,
    /// What the walk asks; `None` when an option or a number is not understood (the server
    /// answers, once the user named is known to be the token's own).
    pub asked: Option<SeriesAsked>,
}

/// What a series' walk asks ([`SeriesWalk`]).
#[derive(Debug)]
pub struct SeriesAsked {
    /// The one season whose episodes are asked for, by id.
    pub season: Option<String>,
    /// Where the page starts, when asked.
    pub start: Option<usize>,
    /// The page's size, when asked.
    pub limit: Option<usize>,
    /// The options asked that change how the items are written, sorted and joined by `&`:
    /// what tells the walk's frames apart.
    pub options: String,
    /// Whether a field asked is written otherwise for each user: the frame is then proven on
    /// the asking user's own answers.
    pub per_user: bool,
}

/// What the copy holds for one answer, as `upstream_index::answer` in `cachearr-copy` gives it to
/// a dialect's writers: the request's headers, the asking user's sections, the index and
/// its title search, and the server's kept elements. Reads of what is in memory only.
pub trait CopyView {
    /// The request's headers.
    fn headers(&self) -> &HeaderMap;

    /// The sections the user may see, in the server's order.
    fn sections(&self) -> &UserSections;

    /// The user's sections to search (only `only`, when given), each holding some kind the
    /// index holds; `None` when the copy cannot answer for one of them (not held, or not
    /// shown whole for the user).
    fn indexed(&self, only: Option<&str>) -> Option<Vec<&UserSection>>;

    /// The library index.
    fn index(&self) -> &LibraryIndex;

    /// The item of the index a hit is, whatever its visibility (the sections searched were
    /// the user's).
    fn view(&self, hit: &TitleHit) -> Option<ItemView<'_>>;

    /// Items of `kinds` in `sections` whose folded title (or, `originals`, original title)
    /// contains the folded `query`, with their rank, in index order.
    fn find(
        &self,
        query: &str,
        kinds: &[ItemKind],
        sections: &[&str],
        originals: bool,
    ) -> Vec<TitleHit>;

    /// Items of `kinds` in `sections` whose folded title is the folded `query`.
    fn find_exact(&self, query: &str, kinds: &[ItemKind], sections: &[&str]) -> Vec<TitleHit>;

    /// Shows (which the index knows from their episodes) in `sections` whose folded title
    /// contains the folded `query`: each show's id and rank, in the order their first
    /// episodes appear.
    fn find_shows(&self, query: &str, sections: &[&str]) -> Vec<(&str, Rank)>;

    /// The server's element of an item as the crawl kept it (with its `Guid` children when
    /// `guids`); `None` when it is not kept or older than `updated_at`, the index's record.
    fn item_el(&self, id: &str, updated_at: i64, guids: bool) -> Option<El>;

    /// The server's own listing container of a section, as the crawl kept it.
    fn section_container(&self, section: &str) -> Option<El>;

    /// The user's sections to search for `kinds` (each visible one holding any of them), or
    /// `None` when the copy cannot answer for one of them: not held, or also holding kinds
    /// the index does not while the search asks for any kind (`others_asked`).
    fn search_sections(&self, kinds: &[ItemKind], others_asked: bool) -> Option<Vec<&str>>;

    /// An item's original title as the index knows it (a track's artist, when not its
    /// album's), which a search may match too.
    fn original_title<'a>(&self, view: &ItemView<'a>) -> Option<&'a str>;

    /// The server's kept document of an item (JSON), when kept.
    fn document(&self, id: &str) -> Option<Vec<u8>>;
}

/// A search's answer from the copy, before the asking user's play state is put in.
#[derive(Debug)]
pub enum Found {
    /// A document tree, its items to get the user's play state.
    Tree(Page),
    /// Items to write from their kept documents, each with the user's data.
    Documents(Documents),
    /// Written whole: it carries no user state.
    Text(String),
}

/// The ids of the items an answer shows and of those it names (their parents, artists), as
/// the change feed tags the answer by them (`cachearr-upstream`'s `feed::value_tags`, which reads
/// them from a body with [`super::Dialect::items_shown`]): an answer the copy writes says
/// them itself, instead of having its own text read again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemsShown {
    /// The items shown.
    pub shown: Vec<String>,
    /// The items named.
    pub named: Vec<String>,
}

impl ItemsShown {
    /// Adds `other`'s ids.
    pub fn extend(&mut self, other: &ItemsShown) {
        self.shown.extend(other.shown.iter().cloned());
        self.named.extend(other.named.iter().cloned());
    }
}

/// A page of items a search found, to be written from their kept documents with the asking
/// user's data, the request's options applied to each.
#[derive(Debug)]
pub struct Documents {
    /// Each item's id and section, in the answer's order.
    pub items: Vec<(String, String)>,
    /// The whole count as the answer writes it.
    pub total: usize,
    /// Where the page starts.
    pub start: usize,
}

/// A search's answer written from the copy as a document tree, before the asking user's
/// play state is put into its items.
#[derive(Debug)]
pub struct Page {
    /// The document.
    pub doc: El,
    /// The items whose play state to put in, each where it is in `doc`.
    pub items: Vec<ItemRef>,
    /// Where the page starts and the whole count, when the request asked for a page.
    pub paged: Option<(usize, usize)>,
}

/// An item of an answer, where its element is in the document.
#[derive(Debug)]
pub struct ItemRef {
    /// The hub holding the element (`None`: the container itself).
    pub hub: Option<usize>,
    /// The element's place among its parent's children.
    pub at: usize,
    /// Its id.
    pub id: String,
    /// Its section.
    pub section: String,
    /// Its kind.
    pub kind: ItemKind,
}

/// A number of a request's paging: `Some(n)`, `Some(None)` when absent or empty, `None` for
/// anything else.
pub(crate) fn number(v: Option<&str>) -> Option<Option<usize>> {
    match v.map(str::trim) {
        None | Some("") => Some(None),
        Some(v) => v.parse().ok().map(Some),
    }
}
