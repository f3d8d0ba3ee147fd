//! How the library index reads a server: [`ServerLibrary`], which each dialect gives
//! ([`super::DialectFacts::library`]).
//!
//! The crawl (`upstream_index::crawl`), the refresh and the proof of whole sections
//! (`upstream_index::visibility`) ask the same things of every server — its sections, one page of a
//! section's items of one type, items by id, the sections a user sees, a listing's total —
//! and read the answers into the index's own words ([`ItemRecord`], and the leaf
//! [`crate::model::library`]'s sections). What differs is the paths and the JSON: that is
//! this trait.
//!
//! Why a trait object of its own rather than more methods on [`super::Dialect`]: these twelve
//! questions are asked only by the library index, together, and never on a client's request;
//! on the dialect they would double a trait whose other methods serve the request path. It is
//! the same split as [`crate::events::ServerEvents`]. The trait lives here, not in `library`,
//! because `library` imports the dialect (a request's identity, its user's token), so the
//! dialect cannot import `library`.

use cachearr_library::{ItemKind, ItemRecord};
use serde_json::Value;

use crate::model::library::{SectionInfo, UserSections};
use crate::model::restriction::{Marks, Restriction};

/// A parent of a section's leaves that frame probes may read ([`ServerLibrary::frame_probes`]):
/// a season (its series the grandparent), an album (its artist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeParent<'a> {
    /// The parent's id.
    pub id: &'a str,
    /// Its own parent's id, where the index knows it.
    pub grandparent: Option<&'a str>,
}

/// How the library index reads one server. See the module docs.
pub trait ServerLibrary: Send + Sync + std::fmt::Debug + 'static {
    /// What the server's library is as plain data: its paths and what the crawl keeps.
    fn facts(&self) -> &'static LibraryFacts;

    /// The sections of a [`LibraryFacts::sections_path`] answer, each with the index's word
    /// for its kind.
    fn parse_sections(&self, body: &Value) -> Vec<SectionInfo>;

    /// The sections of a [`UserRoutes::sections`](crate::UserRoutes::sections) answer (JSON), each kind as the server
    /// names it; `None` for an answer that is not such a list.
    fn parse_user_sections(&self, body: &[u8]) -> Option<UserSections>;

    /// The index's word (`music`, `movies`, `shows`, else `other`) for a section kind as the
    /// server names it in a user's section listing.
    fn section_word(&self, kind: &str) -> &'static str;

    /// The item kinds the library index keeps of a section of `kind` (the index's word),
    /// each with the server's type parameter (Plex's type number, Jellyfin's item type).
    fn index_kinds(&self, kind: &str) -> &'static [(ItemKind, &'static str)];

    /// The path of one page of a section's items of one type; `since` asks only for items
    /// changed at or after it (epoch seconds).
    fn page_path(
        &self,
        section: &str,
        type_param: &str,
        start: u64,
        size: u64,
        since: Option<i64>,
    ) -> String;

    /// How many items a listing holds in all, as the server says (not just this page).
    fn listing_total(&self, body: &Value) -> Option<u64>;

    /// For a server whose sections carry no content mark: the path of a listing, across the
    /// whole server, of the items of `item_types` (the type parameters of the index's
    /// streams) — those saved at or after `since` (epoch seconds) when given — whose total
    /// ([`Self::listing_total`]) counts them. `None`: no such count; a restart on a kept copy
    /// then runs the incremental pass.
    fn count_path(&self, _item_types: &[&str], _since: Option<i64>) -> Option<String> {
        None
    }

    /// The item types a client's walk of a library of kind `kind` (the index's word; `None`:
    /// the listings that name no library) lists that the index does not hold, each counted
    /// by the crawl ([`Self::type_count_path`]) so that the copy knows which a library holds
    /// none of: a library walk reads every kind its type may hold, most of them empty. Empty
    /// for a server whose listings the copy does not answer so.
    fn walked_types(&self, _kind: Option<&str>) -> &'static [&'static str] {
        &[]
    }

    /// The path of a listing whose total ([`Self::listing_total`]) counts the items of
    /// `item_type` in `library` (`None`: in every library), as the owner sees them.
    fn type_count_path(&self, _library: Option<&str>, _item_type: &str) -> Option<String> {
        None
    }

    /// The items of a listing or items answer: how many the page held, and the records of
    /// the kinds the index keeps. `section` is the section asked for, used when an item does
    /// not say its own.
    fn parse_items(&self, body: &Value, section: Option<&str>) -> (u64, Vec<ItemRecord>);

    /// The requests that fetch the items with these ids (a change event's) from the
    /// `sections` the crawl reads.
    fn items_requests(&self, ids: &[String], sections: &[SectionInfo]) -> Vec<ItemsRequest>;

    /// The listing of some items of a section by id, in the form whose elements are kept
    /// (the items answer is not that form); `None` when [`LibraryFacts::keeps_elements`] is
    /// false.
    fn listing_by_ids_path(&self, section: &str, kind: ItemKind, ids: &[&str]) -> Option<String>;

    /// The listing types of a section kind whose elements the answers of their children
    /// listings repeat and whose counts of children change with no word of their own
    /// (Plex's shows and seasons, indexed too; Jellyfin's series and seasons, kept only).
    /// Read page by page with [`Self::page_path`] after the indexed streams (where those
    /// did not read them) and on each refresh pass, and by id
    /// ([`Self::parents_by_ids_path`]) when a child changes.
    fn parent_types(&self, _kind: &str) -> &'static [&'static str] {
        &[]
    }

    /// Reads whose server answers teach the library copy the frames of the walks tools make
    /// first (`upstream_index::answer::probe`), for a section with id `section` of `kind` (the
    /// index's word), given some parents of its leaves chosen to differ from one another
    /// (each with its own parent, where it has one): each a path and whether it asks for
    /// JSON. Empty: nothing is learnt ahead.
    fn frame_probes(
        &self,
        _section: &str,
        _kind: &str,
        _parents: &[ProbeParent<'_>],
    ) -> Vec<(String, bool)> {
        Vec::new()
    }

    /// `probe`, one of [`Self::frame_probes`]' listing pages, paged from `start` instead (the
    /// same page size): `None` when it is no such page. The copy moves a listing's later
    /// probe page to where the orders its first page left undecided part from its own, so
    /// that the crawl's proofs settle them rather than every user's first pass.
    fn probe_page_from(&self, _probe: &str, _start: usize) -> Option<String> {
        None
    }

    /// The whole listing of each section and type the crawl keeps, unpaged, for a
    /// [`LibraryFacts::sections_path`] answer: what a tool that installs an index without a
    /// crawl (tests, benchmarks) reads to fill the kept elements as the crawl would. Empty
    /// when [`LibraryFacts::keeps_elements`] is false.
    fn whole_listing_paths(&self, _sections: &Value) -> Vec<String> {
        Vec::new()
    }

    /// Where every user's restriction is read with the owner's token (the copy's model:
    /// [`crate::model::restriction`]); `None`: the server says it nowhere the copy reads.
    fn restrictions_path(&self) -> Option<&'static str> {
        None
    }

    /// Each user's id (as [`crate::answers::CopyAnswers::own_user_id`] reads it) and
    /// restriction in a [`Self::restrictions_path`] answer; `None` for an answer that is not
    /// such a list.
    fn parse_restrictions(&self, _body: &[u8]) -> Option<Vec<(String, Restriction)>> {
        None
    }

    /// What an item's kept document says of it for a restriction: its own marks and the kind
    /// a rule on unrated items counts it as; `None` when it cannot be read.
    fn document_marks(&self, _doc: &[u8]) -> Option<(Marks, &'static str)> {
        None
    }

    /// What an item's kept listing element says of it for a restriction (its own rating;
    /// labels are not in a listing: [`Self::labels_path`]); `None` when the element is not
    /// read this way.
    fn element_marks(&self, _el: &crate::model::element::Element) -> Option<Marks> {
        None
    }

    /// Where the labels the items of one type of a section carry are listed, each with the
    /// key a listing filters on ([`Self::labelled_path`]): a server whose listings do not
    /// carry the labels a share filters on (Plex) is asked which items carry each. `None`:
    /// the labels are in the kept documents, or nowhere.
    fn labels_path(&self, _section: &str, _type_param: &str) -> Option<String> {
        None
    }

    /// Each label's key and name in a [`Self::labels_path`] answer.
    fn parse_labels(&self, _body: &Value) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The listing of a section's items of one type that carry the label keyed `key` (its
    /// items read with [`Self::parse_items`]).
    fn labelled_path(&self, _section: &str, _type_param: &str, _key: &str) -> Option<String> {
        None
    }

    /// The details of items by id, labels included (a change's items, read again).
    fn labels_by_ids_path(&self, _ids: &[&str]) -> Option<String> {
        None
    }

    /// Each item's id and labels in a [`Self::labels_by_ids_path`] answer.
    fn parse_item_labels(&self, _body: &Value) -> Vec<(String, Vec<String>)> {
        Vec::new()
    }

    /// The listing of some parents of a section by id (see [`Self::parent_types`]).
    fn parents_by_ids_path(
        &self,
        _section: &str,
        _type_param: &str,
        _ids: &[&str],
    ) -> Option<String> {
        None
    }
}

/// What a server's library is as plain data, the same for every read
/// ([`ServerLibrary::facts`]).
#[derive(Debug)]
pub struct LibraryFacts {
    /// The server's sections (libraries), as the owner's crawl reads them.
    pub sections_path: &'static str,
    /// Whether the copy reads a user's sections in the server's own form (no `Accept`) when
    /// no read of them is cached: the form the server's tools read them in, so that a tool
    /// whose first reads the copy answers (Tautulli's recently-added lists, then the
    /// sections) finds the copy's read in the cache instead of sending its own. Otherwise in
    /// JSON, as the copy parses every other answer.
    pub user_sections_in_server_form: bool,
    /// Whether the index keeps the server's own element of each item and answers with it
    /// (`upstream_index::elements` in `cachearr-copy`); otherwise answers are rendered from
    /// the index's records.
    pub keeps_elements: bool,
    /// Whether the answer of [`ServerLibrary::items_requests`] is itself the form the crawl
    /// keeps (Jellyfin's `BaseItemDto`s, read with the crawl's fields), so a change event's
    /// items are kept from it; otherwise they are read again by
    /// [`ServerLibrary::listing_by_ids_path`].
    pub items_answer_is_kept: bool,
}

/// One request for items by id, and how to read its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsRequest {
    /// The path and query.
    pub path: String,
    /// The section asked (Jellyfin's items do not name their library), for
    /// [`ServerLibrary::parse_items`].
    pub section: Option<String>,
    /// A 404 means none of the items exists any more (Plex), not a failed fetch.
    pub gone_when_not_found: bool,
}
