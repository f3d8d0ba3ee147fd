//! How a server's walk — a listing page, then each of its items singly — is asked for in one
//! request (the gateway's `batch`): [`WalkBatch`] tells pages and single reads apart
//! ([`WalkRead`]) and says where an answer's items are. A single read ([`SingleRead`]) says
//! where its id is written, in its path or in its query: the same read of the page's other
//! items is the read with their ids written there, and the read of many is its
//! [`SingleShape`]'s.

/// How a server's walks read, and how a walk's single reads are batched.
#[derive(Debug)]
pub struct WalkBatch {
    /// What a read of `path` with `query` is to a walk, if anything. Asked of every read the
    /// batcher sees (a hit's too), so it allocates nothing.
    pub read: for<'a> fn(path: &'a str, query: Option<&'a str>) -> Option<WalkRead<'a>>,
    /// Two items read singly this far apart in the page's order are one walk (1: only the
    /// very next item counts; more for clients that read a page in concurrent bundles).
    pub window: usize,
    /// The property path to the items array of a JSON answer (`["MediaContainer",
    /// "Metadata"]`); XML answers' items are the root element's children.
    pub json_items: &'static [&'static str],
    /// The item's own property (JSON) or attribute (XML) holding its id.
    pub id_name: &'static str,
    /// The item's properties (JSON) or attributes (XML) naming its parents, whose single
    /// reads a walk of the page may make instead of its items' (a track's artist and album,
    /// as a playlist indexer builds its keys): each names a walk of its own over the page's
    /// parents of that kind, in the page's order. A JSON name written `Property[].Key` reads
    /// the `Key` of every object in the item's array `Property` (`ArtistItems[].Id`).
    pub parent_names: &'static [&'static str],
    /// Whether a walk of the parents a page names leaves out those the same client got as
    /// items of a listing page it read: a client that looks up only what it has not synced
    /// yet never reads those singly, so a batch of them would be read for nobody.
    pub parents_listed_skipped: bool,
    /// Whether a single read's answer writes nothing of its item outside the item itself (a
    /// `QueryResult` of one: `Items`, `TotalRecordCount`, `StartIndex`; or the item alone), so
    /// that one single answer's frame is every single answer's. Then a walk of the parents a
    /// page names, where clients look up every one they have not synced
    /// ([`Self::parents_listed_skipped`]), is batched from its first single read: the batch
    /// asks that item again and is proven on its answer, and a second single would prove
    /// nothing more.
    pub single_frame_fixed: bool,
    /// Items asked for in one batched request at most (fewer when their answer would be
    /// large): as many as the request's line holds well with the server's ids written in it.
    pub items_max: usize,
}

/// What a read is to a walk ([`WalkBatch::read`]).
#[derive(Debug, Clone)]
pub enum WalkRead<'a> {
    /// A listing page whose items (or their parents) a walk reads next.
    Page,
    /// A read of one item.
    Single(SingleRead<'a>),
}

/// A read of one item: its id, where the read writes it, and the shape of the read.
#[derive(Debug, Clone)]
pub struct SingleRead<'a> {
    /// The item's id, as the read writes it.
    pub id: &'a str,
    /// Where the id is written.
    pub at: IdAt,
    /// How the server answers this read, and how it is asked for many items.
    pub shape: &'static SingleShape,
}

/// Where a single read writes its item's id: from a byte offset of its path (`/Items/{id}`)
/// or of its query (`ids={id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdAt {
    /// From this offset of the path.
    Path(usize),
    /// From this offset of the query (without its `?`).
    Query(usize),
}

/// One way a server is asked for one item, and how it is asked for many the same way.
#[derive(Debug)]
pub struct SingleShape {
    /// The answer is the item alone, not the item inside a container of one.
    pub bare: bool,
    /// The read of many items: the single read's target (`path?query`) with its id cut out —
    /// what is written `before` and `after` it — and the ids joined by commas.
    pub batch_target: fn(before: &str, ids: &str, after: &str) -> String,
}

impl SingleRead<'_> {
    /// The read's target (`path?query`, as `path` and `query` write it) around its id: what
    /// is written before it and after it. The same read of another item is `before`, that
    /// item's id, `after`. `None` when the id is not where [`Self::at`] says.
    #[must_use]
    pub fn around(&self, path: &str, query: Option<&str>) -> Option<(String, String)> {
        let end = |at: usize| at + self.id.len();
        match (self.at, query) {
            (IdAt::Path(at), _) => {
                let (before, rest) = (path.get(..at)?, path.get(end(at)..)?);
                let after = match query {
                    Some(q) => format!("{rest}?{q}"),
                    None => rest.to_owned(),
                };
                Some((before.to_owned(), after))
            }
            (IdAt::Query(at), Some(q)) => {
                let (before, after) = (q.get(..at)?, q.get(end(at)..)?);
                Some((format!("{path}?{before}"), after.to_owned()))
            }
            (IdAt::Query(_), None) => None,
        }
    }
}

/// A single read whose id is the last segment of `path` (nothing after it): `shape`'s read of
/// item `id`.
#[must_use]
pub fn at_path_end<'a>(path: &str, id: &'a str, shape: &'static SingleShape) -> SingleRead<'a> {
    SingleRead {
        id,
        at: IdAt::Path(path.len() - id.len()),
        shape,
    }
}

/// The read of many items whose single read writes its id in the path or the query and
/// nothing else changes: the ids written where the one id was.
pub(crate) fn ids_in_place(before: &str, ids: &str, after: &str) -> String {
    format!("{before}{ids}{after}")
}

#[cfg(test)]
mod tests {
    use super::*;

    static SHAPE: SingleShape = SingleShape {
        bare: false,
        batch_target: ids_in_place,
    };

    #[test]
    fn a_read_splits_around_its_id_in_the_path() {
        let read = at_path_end("/library/metadata/42", "42", &SHAPE);
        assert_eq!(
            read.around("/library/metadata/42", Some("a=b")),
            Some(("/library/metadata/".into(), "?a=b".into()))
        );
        assert_eq!(
            read.around("/library/metadata/42", None),
            Some(("/library/metadata/".into(), String::new()))
        );
    }

    #[test]
    fn a_read_splits_around_its_id_in_the_query() {
        let read = SingleRead {
            id: "7",
            at: IdAt::Query(4),
            shape: &SHAPE,
        };
        let (before, after) = read.around("/Items", Some("ids=7&fields=A,B")).unwrap();
        assert_eq!(
            (before.as_str(), after.as_str()),
            ("/Items?ids=", "&fields=A,B")
        );
        assert_eq!(
            (SHAPE.batch_target)(&before, "7,8", &after),
            "/Items?ids=7,8&fields=A,B"
        );
        assert_eq!(read.around("/Items", None), None);
        assert_eq!(read.around("/Items", Some("ids")), None);
    }
}
