//! A walk's next pages written ahead by the library copy: a tool walking what the copy
//! answers gets its next reads as cache hits, not as the copy's misses.
//!
//! The copy answers a walk's read without asking the server, but writing it (the items' kept
//! texts, the user's play state put in, the answer stored with its tags) costs the gateway
//! several times what a hit of the same size does. Tools walk in order, and two walks are
//! written ahead:
//! - **a listing's pages** (PlexKodiConnect, Plexist, python-plexapi's `fetchItems`, Jellyfin
//!   for Kodi): once a user has read two pages of one walk near each other (same path, same
//!   query and headers but the page's place, same size), the [`AHEAD`] pages after the one
//!   just read;
//! - **each item's children, in the order a listing page gave the items** (an album's tracks
//!   after the albums were listed, a series' episodes after the series): once a user has
//!   read two siblings' children near each other in the page they were listed in (the
//!   batcher's remembered listing pages), the children of the [`AHEAD`] items listed next.
//!
//! Each is written into the cache in the background, under exactly the key, policy and tags
//! its own request would have, and each read of the walk keeps [`AHEAD`] reads written ahead
//! of it: after its first two reads, a walk is answered from the cache.
//!
//! **The copy or nothing.** A page is written only by the copy ([`CopySource::answer`]): one
//! the copy declines (a user it does not answer, a frame not proven, a copy that is behind a
//! change) is not written, and nothing is asked of the server on the walk's behalf. A walk
//! that stops leaves at most [`AHEAD`] pages nobody reads; one read past its end leaves empty
//! pages, as the server answers them.
//!
//! **The keys a walk finds.** The next page's request is the page just read with its place
//! moved where that request names it (query or header: the dialect's
//! [`cachearr_dialect::CopyAnswers::page_moved`]); a sibling's, the read's path with the
//! sibling's id where the item's is ([`cachearr_dialect::CopyAnswers::walked_item`]), the same
//! query and headers. Its key is built as a client's would be. A walk whose own read, rebuilt
//! so, is not keyed as it was read (a header the key reads that the rebuilt request lacks) is
//! not written ahead.
//!
//! **Single flight, never stale.** The pages' keys are registered while they are written, as a
//! batch's are: a client asking for one waits for it, then reads the cache. A page is stored
//! with [`cachearr_engine::TieredCache::insert_fetched`], stamped as of the moment its writing
//! started: a change announced meanwhile leaves it unstored.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cachearr_engine::{Key, Outcome};
use http::{HeaderMap, Uri};
use tokio::sync::watch;

use super::BatchReads;
use super::{Release, Target, store_part, target_of};
use crate::fetch::{CopyAnswer, CopySource, LoaderState};
use cachearr_dialect::CopyAnswers;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::keys::UserHash;
use cachearr_upstream::users::UserRecord;

/// Pages kept written ahead of the page a walk reads last.
pub(crate) const AHEAD: usize = 2;
/// Two pages this many pages apart or nearer are one walk.
const NEAR_PAGES: usize = 4;
/// Walks remembered per process (the listings being walked now).
const WALKS_MAX: usize = 32;
/// Where a walk of siblings' children has its item's id, in the path it is remembered by.
const SIBLING: char = '\0';

/// One user's walk: of one listing in pages of one size, or of the children of the items one
/// listing page named, one item a step.
struct Walk {
    upstream: Arc<str>,
    user: UserHash,
    path: Box<str>,
    /// The query and the page headers with the page's place and size written as 0: the
    /// walk's identity.
    shape: String,
    size: usize,
    /// The last page read.
    last: usize,
    /// Where the pages written (or being written) ahead end, exclusive.
    written_to: usize,
    in_flight: bool,
}

impl Walk {
    /// Whether this is `user`'s walk on `upstream` at `path` (its shape, its step).
    fn is(&self, upstream: &str, user: UserHash, path: &str, shape: &str, size: usize) -> bool {
        self.user == user
            && self.size == size
            && *self.upstream == *upstream
            && *self.path == *path
            && self.shape == shape
    }
}

/// A page a client got from a listing the copy answers, as [`Ahead::observe`] reads it.
pub(crate) struct PageRead<'a> {
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    /// The page's key, as the client's request was read.
    pub(crate) key: &'a Key,
    pub(crate) outcome: Outcome,
    /// This read's own load was answered by the copy (not the server, not a hit).
    pub(crate) by_copy: bool,
    /// What answers the listing's misses: the library copy's walk.
    pub(crate) copy: Arc<dyn CopySource>,
}

/// The walks the copy writes ahead.
#[derive(Default)]
pub(crate) struct Ahead {
    walks: Mutex<VecDeque<Walk>>,
    /// Pages written ahead and stored.
    pub(crate) pages_written: AtomicU64,
}

/// The pages due to be written ahead of a walk, marked in flight.
struct Due {
    from: usize,
    to: usize,
    size: usize,
    shape: String,
}

impl Ahead {
    /// Watches a page a client got (status 200) from a walk the copy answers for this user: a
    /// page of a listing, or one item's children (an album's tracks) read after its
    /// siblings'. Remembers the walk and, once two of its reads were near each other, starts
    /// writing what comes after this one that is not written yet.
    pub(crate) fn observe(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        who: (&Arc<UserRecord>, Option<UserHash>),
        read: PageRead<'_>,
    ) {
        // A walk starts with pages the copy answered, and goes on with pages it wrote ahead:
        // a hit of a page the copy did not write (a second pass) or a page the server
        // answered (a user the copy declines) writes nothing.
        if !up.config.prefetch.enabled || !(read.by_copy || matches!(read.outcome, Outcome::Hit(_)))
        {
            return;
        }
        // A hit reads nothing more unless this user walks this path: a second pass of a
        // walk the copy wrote ahead long ago costs each hit one look at the few walks kept.
        if !read.by_copy && !self.walks_path(who.0.hash, read.uri.path()) {
            return;
        }
        let Some(answers) = cachearr_dialect::of(up.profile).answers() else {
            return;
        };
        // Decoded as the server reads the names: Jellyfin ignores their case, so its
        // `StartIndex`/`Limit` are the paging the dialect looks for under lower-cased names.
        let params = answers.query_params(read.uri.query());
        match answers.paging(read.headers, &params) {
            Some((Some(start), Some(size))) if size > 0 => {
                self.pages_ahead((reads, up, answers), who, &read, (start, size));
            }
            Some((None, None)) => self.siblings_ahead((reads, up, answers), who, &read),
            _ => {}
        }
    }

    /// A page of a listing: the pages after it.
    fn pages_ahead(
        &self,
        (reads, up, answers): (&BatchReads, &Arc<Upstream>, &dyn CopyAnswers),
        (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
        read: &PageRead<'_>,
        (start, size): (usize, usize),
    ) {
        let query = read.uri.query();
        let Some((shape_query, shape_headers)) = answers.page_moved(query, read.headers, 0, 0)
        else {
            return;
        };
        // A walk paged by headers is told from one paged in the query, and one read as JSON
        // from one read as XML.
        let in_headers = shape_headers != *read.headers;
        let accept = read.headers.get(http::header::ACCEPT);
        let shape = format!(
            "{}\n{in_headers}\n{accept:?}",
            shape_query.unwrap_or_default()
        );
        let path = read.uri.path();
        let page = (start, size, read.by_copy);
        let Some(due) = self.note(&up.name, user.hash, path, shape, page) else {
            return;
        };
        // The walk's own page, rebuilt as its next pages will be, must be keyed as it was read.
        let rebuilt = answers
            .page_moved(query, read.headers, start, size)
            .and_then(|(q, h)| {
                let asked = (path.to_owned(), q.as_deref(), start.to_string().into());
                target_of(reads, up, (user, scope_user), &h, asked)
            });
        if rebuilt.is_none_or(|t| t.key != *read.key) {
            self.finish(&up.name, user.hash, path, &due, false);
            return;
        }
        let mut pages = Vec::new();
        for page in (due.from..due.to).step_by(size) {
            let Some((q, h)) = answers.page_moved(query, read.headers, page, size) else {
                continue;
            };
            let asked = (path.to_owned(), q.as_deref(), page.to_string().into());
            if let Some(target) = target_of(reads, up, (user, scope_user), &h, asked) {
                pages.push((target, h));
            }
        }
        self.start(reads, up, user, (path, due), pages, read.copy.clone());
    }

    /// One item's children (or leaves, or a series' episodes): the same walk of the items
    /// listed after it in the listing page the user read it from. Its place in that page is
    /// the walk's place, one item a step.
    fn siblings_ahead(
        &self,
        (reads, up, answers): (&BatchReads, &Arc<Upstream>, &dyn CopyAnswers),
        (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
        read: &PageRead<'_>,
    ) {
        let path = read.uri.path();
        let Some(range) = answers.walked_item(path) else {
            return;
        };
        let item = &path[range.clone()];
        let (prefix, suffix) = (&path[..range.start], &path[range.end..]);
        let batcher = reads.batcher();
        // A walk goes at most AHEAD items past the one read.
        let Some((listing, at, next)) =
            batcher.listed_after(up, (user.hash, read.headers), item, AHEAD)
        else {
            return;
        };
        // The walk is the user's reads of this path's siblings from one listing page, with
        // this query, in this format; its path holds the place of the item's id.
        let template = format!("{prefix}{SIBLING}{suffix}");
        let accept = read.headers.get(http::header::ACCEPT);
        let query = read.uri.query();
        let shape = format!("{listing}\n{}\n{accept:?}", query.unwrap_or_default());
        let place = (at, 1, read.by_copy);
        let Some(due) = self.note(&up.name, user.hash, &template, shape, place) else {
            return;
        };
        let sibling = |id: &str| {
            let asked = (format!("{prefix}{id}{suffix}"), query, id.into());
            target_of(reads, up, (user, scope_user), read.headers, asked)
        };
        if sibling(item).is_none_or(|t| t.key != *read.key) {
            self.finish(&up.name, user.hash, &template, &due, false);
            return;
        }
        let pages = (next.iter().skip(due.from - at - 1))
            .filter_map(|id| Some((sibling(id)?, read.headers.clone())))
            .collect();
        self.start(reads, up, user, (&template, due), pages, read.copy.clone());
    }

    /// Whether `user` is remembered walking a listing at `path`, or the siblings of the item
    /// `path` walks.
    fn walks_path(&self, user: UserHash, path: &str) -> bool {
        let walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        walks.iter().any(|w| {
            w.user == user
                && match w.path.split_once(SIBLING) {
                    None => *w.path == *path,
                    Some((prefix, suffix)) => {
                        path.len() > prefix.len() + suffix.len()
                            && path.starts_with(prefix)
                            && path.ends_with(suffix)
                    }
                }
        })
    }

    /// Records a page of `size` read at `start` (`by_copy`: answered by the copy, else a hit);
    /// returns the pages due after it, marked in flight. A hit continues a walk only within
    /// the pages written ahead of it.
    fn note(
        &self,
        upstream: &Arc<str>,
        user: UserHash,
        path: &str,
        shape: String,
        (start, size, by_copy): (usize, usize, bool),
    ) -> Option<Due> {
        let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        let at = walks
            .iter()
            .position(|w| w.is(upstream, user, path, &shape, size));
        let Some(at) = at else {
            if !by_copy {
                return None;
            }
            if walks.len() >= WALKS_MAX {
                walks.pop_front();
            }
            walks.push_back(Walk {
                upstream: upstream.clone(),
                user,
                path: path.into(),
                shape,
                size,
                last: start,
                written_to: 0,
                in_flight: false,
            });
            return None;
        };
        let walk = &mut walks[at];
        let near = walk.last != start && walk.last.abs_diff(start) <= NEAR_PAGES * size;
        let continued = near && (by_copy || walk.written_to > start);
        walk.last = start;
        let want = start + size * (1 + AHEAD);
        if !continued || walk.in_flight || walk.written_to >= want {
            return None;
        }
        let from = walk.written_to.max(start + size);
        walk.written_to = want;
        walk.in_flight = true;
        Some(Due {
            from,
            to: want,
            size,
            shape: walk.shape.clone(),
        })
    }

    /// The walk's writing ended; `ended`: the copy declined a page, so nothing more is
    /// written ahead of this walk until it is read again past what was written.
    fn finish(&self, upstream: &str, user: UserHash, path: &str, due: &Due, ended: bool) {
        let mut walks = self.walks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(walk) = walks
            .iter_mut()
            .find(|w| w.is(upstream, user, path, &due.shape, due.size))
        {
            walk.in_flight = false;
            if ended {
                walk.written_to = walk.last + due.size;
            }
        }
    }

    /// Registers the pages' keys (before the triggering answer goes out) and spawns their
    /// writing, one after another.
    fn start(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        user: &Arc<UserRecord>,
        (path, due): (&str, Due),
        pages: Vec<(Target, HeaderMap)>,
        copy: Arc<dyn CopySource>,
    ) {
        if pages.is_empty() {
            return self.finish(&up.name, user.hash, path, &due, false);
        }
        let targets: Vec<Target> = pages.iter().map(|(t, _)| t.clone()).collect();
        let (tx, rx) = watch::channel(());
        reads.batcher().register(&targets, rx);
        let release = Release {
            reads: reads.clone(),
            keys: targets.iter().map(|t| t.key.clone()).collect(),
            _tx: tx,
        };
        let (reads, up, user, path) = (reads.clone(), up.clone(), user.clone(), path.to_owned());
        tokio::spawn(async move {
            let mut ended = false;
            for (target, headers) in pages {
                if reads.cache().get(&target.key).await.is_some() {
                    continue;
                }
                let stamp = reads.cache().fetch_started();
                let state = page_state(&reads, &up, &user, &target, &headers, copy.clone());
                let Some(CopyAnswer { value, ids, tags }) = copy.answer(&state).await else {
                    ended = true;
                    break;
                };
                if value.status != 200 {
                    ended = true;
                    break;
                }
                let part = (&user, &headers);
                if store_part(&reads, &up, part, target, value, (ids, tags), &stamp).await {
                    reads
                        .batcher()
                        .ahead
                        .pages_written
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            reads
                .batcher()
                .ahead
                .finish(&up.name, user.hash, &path, &due, ended);
            drop(release);
        });
    }
}

/// The loader's state of a page written ahead: the walker's request, moved to the page, read
/// by the copy only (no client waits on it).
fn page_state(
    reads: &BatchReads,
    up: &Arc<Upstream>,
    user: &Arc<UserRecord>,
    target: &Target,
    headers: &HeaderMap,
    copy: Arc<dyn CopySource>,
) -> LoaderState {
    LoaderState {
        reads: reads.read_through().clone(),
        up: up.clone(),
        user: user.clone(),
        authenticates: false,
        user_scoped: false,
        uri: target.uri.clone(),
        client_headers: headers.clone(),
        peer: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        for_client: false,
        upstream_us: AtomicU64::new(0),
        answered_by_copy: Default::default(),
        copy_ids: Default::default(),
        copy_tags: Default::default(),
        copy_declines_user: Default::default(),
        item_tagged: cachearr_upstream::feed::item_tagged(target.class),
        copy: Some(copy),
        walks: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> UserHash {
        UserHash(n)
    }

    /// A lone page starts nothing; a second near it starts the pages after it; a page read
    /// from those written starts only the ones not written yet; another user's walk of the
    /// same listing is theirs.
    #[test]
    fn a_walk_is_written_ahead_from_its_second_page_on() {
        let ahead = Ahead::default();
        let up: Arc<str> = "plex".into();
        let note = |who, start| ahead.note(&up, user(who), "/all", "q".into(), (start, 50, true));
        assert!(note(1, 0).is_none(), "a lone page is no walk");
        let due = note(1, 50).expect("the second page starts the writing");
        assert_eq!((due.from, due.to), (100, 200));
        assert!(note(1, 100).is_none(), "in flight: nothing more is started");
        ahead.finish(&up, user(1), "/all", &due, false);
        let due = note(1, 150).expect("a page written ahead is read");
        assert_eq!(
            (due.from, due.to),
            (200, 300),
            "only the pages not written yet"
        );
        ahead.finish(&up, user(1), "/all", &due, false);
        assert!(note(2, 150).is_none(), "another user's first page");
        let due = note(1, 200).unwrap();
        assert_eq!((due.from, due.to), (300, 350));
        ahead.finish(&up, user(1), "/all", &due, false);
        // A walk whose page the copy declined writes nothing more until read past it.
        let due = note(1, 250).unwrap();
        assert_eq!((due.from, due.to), (350, 400));
        ahead.finish(&up, user(1), "/all", &due, true);
        let due = note(1, 300).unwrap();
        assert_eq!((due.from, due.to), (350, 450));
    }

    /// Pages far apart are not one walk: a tool reading a listing's first and last pages
    /// (a count, then the end) starts nothing. Hits start no walk, and continue one only
    /// within the pages written ahead of it.
    #[test]
    fn pages_far_apart_or_hits_are_no_walk() {
        let ahead = Ahead::default();
        let up: Arc<str> = "plex".into();
        let note =
            |start, by_copy| ahead.note(&up, user(1), "/all", "q".into(), (start, 10, by_copy));
        assert!(note(0, true).is_none());
        assert!(note(500, true).is_none(), "far from the first");
        assert!(note(0, false).is_none());
        assert!(
            note(10, false).is_none(),
            "a hit of a page not written ahead"
        );
        let other =
            |start, by_copy| ahead.note(&up, user(2), "/all", "q".into(), (start, 10, by_copy));
        assert!(other(0, false).is_none());
        assert!(other(10, false).is_none(), "hits alone are a second pass");
    }
}
