//! Recent cached reads, kept per listener so that a request sent again — on the same
//! connection or on a new one — skips the work whose result cannot have changed.
//!
//! Dashboards, pollers and sync tools send the same requests over and over: on one kept-alive
//! connection, or (scripts without a session, a connection storm after a restart) each on a
//! new connection. Between the bytes of a request and its cache lookup, most of the work is a
//! pure function of those bytes and of configuration fixed at start: the request checks, the
//! route's decision (class, scope, policy, tags), the reading of the token and its hash, the
//! cache key, the client's name and whether it takes gzip. When a `GET` is byte for byte one
//! read recently on the same listener (same target, and header lines in the same order with the
//! same bytes), those results are reused ([`Reading`]).
//!
//! What depends on time or on the server is never reused: the user's record is taken again
//! only while its table still holds it (else looked up again by its hash; marked seen either
//! way), a token the server refused since is refused, the trust a shared
//! entry needs is checked at the request's time, and the change feed's adjustment of the
//! policy is made again. Nothing crosses users: the token is among the bytes compared, so a
//! request with another token (or none) is read from scratch; nor does anything depend on the
//! connection (the client's address is not part of a reading).
//!
//! The table is small and direct-mapped ([`SLOTS`] entries, the newest reading of a slot wins),
//! keyed by a seeded hash of the request's bytes and confirmed by comparing them, so a
//! collision — chance or crafted — costs a fresh reading, never a wrong one. The comparison is
//! skipped only when both requests were read from one kept head ([`HeadId`]): the gateway's
//! HTTP/1.1 loop has compared those bytes already. Each entry holds a
//! copy of its request's target and header lines (at most [`MAX_REMEMBERED_BYTES`]), not the
//! request itself: the request's bytes share the connection's read buffer, which would
//! otherwise stay pinned for as long as the entry lives.

use std::future::{Future, Ready};
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cachearr_engine::Key;
use cachearr_wire::HeadId;
use futures_util::future::Either;
use http::{HeaderMap, Method, Request, Uri};

use cachearr_dialect::model::{Class, Scope};
use cachearr_upstream::feed::FeedPolicies;
use cachearr_upstream::users::UserRecord;

/// Entries per listener. Enough for the distinct requests a few tools repeat at once; a slot
/// taken by another request costs one fresh reading.
const SLOTS: usize = 256;

/// A request whose target and header lines are longer than this is not remembered: it bounds
/// the table's memory (~1 MiB at most per listener) whatever clients send.
const MAX_REMEMBERED_BYTES: usize = 4096;

/// What a cached read worked out from its request's bytes: the same bytes give the same.
#[derive(Debug)]
pub(crate) struct Reading {
    /// The route's class.
    pub(crate) class: Class,
    /// The route's scope.
    pub(crate) scope: Scope,
    /// The scope the key holds (`None`: shared): a repeat reads it only while the user's
    /// standing gives the same ([`cachearr_upstream::users::Users::key_scope`]).
    pub(crate) scope_user: Option<cachearr_upstream::keys::UserHash>,
    /// A 2xx of the route proves the token ([`cachearr_config::policy::ResolvedPolicy::authenticates`]).
    pub(crate) authenticates: bool,
    /// The cache key.
    pub(crate) key: Key,
    /// The engine policy with the route's tags (the user's state tag included), as the change
    /// feed sets it at each read's moment.
    pub(crate) engine: FeedPolicies,
    /// The client takes gzip.
    pub(crate) gzip: bool,
    /// What may answer a miss instead of the server (the library copy's walks).
    pub(crate) copy: Option<Arc<dyn crate::fetch::CopySource>>,
    /// The prefetch its answer triggers (the dialect's reading of the path).
    pub(crate) prefetch: Option<cachearr_dialect::Trigger>,
}

/// What a cached read leaves for a repeat of its request, and what the repeat recalls.
#[derive(Clone)]
pub(crate) struct KeptReading {
    pub(crate) reading: Arc<Reading>,
    /// The client's name, read from the same headers.
    pub(crate) client: Arc<str>,
    /// The user the request was read as (the same token): taken again while the table holds
    /// the record, else looked up afresh by its hash.
    pub(crate) user: Arc<UserRecord>,
    /// The upstream's release changes when it was read (`Upstream::release_changes`): a
    /// server at another release may read its token otherwise, so it is read again.
    pub(crate) release: u64,
}

/// One remembered read: its request's bytes and what was read from them.
struct Remembered {
    hash: u64,
    /// The kept head the request was read from, if any.
    head: Option<HeadId>,
    /// The request's target and header lines, each piece prefixed by its length
    /// ([`RequestBytes`]).
    request: Box<[u8]>,
    kept: KeptReading,
}

/// The recent cached reads of one listener (one upstream).
pub(crate) struct RecentReadings {
    /// Seeds the hash per process, so that which requests share a slot cannot be worked out
    /// from outside.
    seed: usize,
    slots: Box<[Mutex<Option<Remembered>>]>,
}

impl Default for RecentReadings {
    fn default() -> Self {
        Self {
            seed: std::hash::RandomState::new().hash_one(0u64) as usize,
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }
}

/// A request's hash in its listener's table, with the kept head it was read from (if any);
/// made once per request, used to recall and to remember.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fingerprint {
    hash: u64,
    head: Option<HeadId>,
}

/// A connection's memo of the fingerprint of its last request that was recalled or
/// remembered: a keep-alive client's next request is most often the same again, and is then
/// found without hashing it (the comparison alone tells).
#[derive(Default)]
pub(crate) struct LastFingerprint(AtomicU64);

impl LastFingerprint {
    /// Zero stands for none: a request whose hash is zero is simply not memoised.
    fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            hash => Some(hash),
        }
    }

    fn set(&self, print: Fingerprint) {
        self.0.store(print.hash, Ordering::Relaxed);
    }
}

pin_project_lite::pin_project! {
    /// The rest of an answer, run inside the table's own future
    /// ([`RecentReadings::read_through`]). A struct, not an `async fn` awaiting the rest: that
    /// would hold the rest twice (as its argument and as what it awaits), and the rest is the
    /// largest future a connection holds, copied whole when a connection is spawned.
    pub(crate) struct Remembering<A> {
        #[pin]
        rest: A,
    }
}

impl<A: Future> Future for Remembering<A> {
    type Output = A::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<A::Output> {
        self.project().rest.poll(cx)
    }
}

impl RecentReadings {
    /// Answers `req` (read from the kept head `head`, if any) through the table, as the cache
    /// answers a key through its loader: looks it up ([`Self::look_up`]) and hands it to
    /// `answer` with its fingerprint and what was recalled. `answer` gives its reply at once
    /// (a recalled request a fresh entry answers: the returned future is then ready, and the
    /// request was never moved into one), or the future of the rest, which runs inside the
    /// table's own ([`Remembering`]): a cached read it makes of a request not recalled
    /// remembers its reading ([`Self::remember`]) for the next repeat.
    pub(crate) fn read_through<B, R, A: Future<Output = R>>(
        &self,
        last: &LastFingerprint,
        req: Request<B>,
        head: Option<HeadId>,
        answer: impl FnOnce(Request<B>, Option<Fingerprint>, Option<KeptReading>) -> Either<R, A>,
    ) -> Either<Ready<R>, Remembering<A>> {
        let (print, recalled) = self.look_up(last, &req, head);
        match answer(req, print, recalled) {
            Either::Left(reply) => Either::Left(std::future::ready(reply)),
            Either::Right(rest) => Either::Right(Remembering { rest }),
        }
    }

    /// Looks `req` up (read from the kept head `head`, if any): first as a repeat of the
    /// connection's `last` request, then by its own fingerprint. Returns the fingerprint
    /// (`None` when `req` is not a `GET`) and the reading, if one is remembered for these bytes.
    fn look_up<B>(
        &self,
        last: &LastFingerprint,
        req: &Request<B>,
        head: Option<HeadId>,
    ) -> (Option<Fingerprint>, Option<KeptReading>) {
        if req.method() != Method::GET {
            return (None, None);
        }
        if let Some(hash) = last.get() {
            let print = Fingerprint { hash, head };
            if let Some(recalled) = self.recall(print, req) {
                return (Some(print), Some(recalled));
            }
        }
        let print = self.fingerprint(req, head);
        let recalled = self.recall(print, req);
        if recalled.is_some() {
            last.set(print);
        }
        (Some(print), recalled)
    }

    /// The fingerprint of `req`, read from the kept head `head`.
    fn fingerprint<B>(&self, req: &Request<B>, head: Option<HeadId>) -> Fingerprint {
        let mut h = rustc_hash::FxHasher::with_seed(self.seed);
        RequestBytes::of(req.uri(), req.headers()).each(|piece| {
            h.write_usize(piece.len());
            h.write(piece);
            true
        });
        Fingerprint {
            hash: h.finish(),
            head,
        }
    }

    fn slot(&self, print: Fingerprint) -> std::sync::MutexGuard<'_, Option<Remembered>> {
        self.slots[print.hash as usize % SLOTS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The reading of a request byte for byte the same as `req`, if one is remembered: read
    /// from the same kept head, or compared.
    fn recall<B>(&self, print: Fingerprint, req: &Request<B>) -> Option<KeptReading> {
        let slot = self.slot(print);
        let remembered = slot.as_ref()?;
        let same_head = print.head.is_some() && remembered.head == print.head;
        (remembered.hash == print.hash
            && (same_head || RequestBytes::of(req.uri(), req.headers()).equal(&remembered.request)))
        .then(|| remembered.kept.clone())
    }

    /// Remembers what was read from the request `uri` and `headers` (fingerprinted as `print`),
    /// in place of what its slot held; the connection's `last` request is this one.
    pub(crate) fn remember(
        &self,
        last: &LastFingerprint,
        print: Fingerprint,
        uri: &Uri,
        headers: &HeaderMap,
        kept: KeptReading,
    ) {
        let Some(request) = RequestBytes::of(uri, headers).copy(MAX_REMEMBERED_BYTES) else {
            return;
        };
        last.set(print);
        let remembered = Remembered {
            hash: print.hash,
            head: print.head,
            request,
            kept,
        };
        // The entry it replaces is dropped after the lock is let go.
        let _replaced = self.slot(print).replace(remembered);
    }
}

/// A request's bytes as the table sees them: the target's scheme, authority and path with
/// query, then every header line's name and value, in order. A repeated name's values in
/// another order, another case in a value, one line more or less: all differ, so that every
/// reading of the headers (token precedence among repeated names included) gives the same
/// result for the same bytes.
struct RequestBytes<'a> {
    uri: &'a Uri,
    headers: &'a HeaderMap,
}

impl<'a> RequestBytes<'a> {
    fn of(uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self { uri, headers }
    }

    /// Hands each piece to `f`, in order, until `f` says stop; false if it did. Plain loops
    /// rather than a chain of iterators: this runs twice on every `GET` (with a chained
    /// `flat_map`, a repeated hit measured ~1,000 instructions more by callgrind).
    fn each(&self, mut f: impl FnMut(&'a [u8]) -> bool) -> bool {
        let uri = self.uri;
        if !(f(uri.scheme_str().unwrap_or("").as_bytes())
            && f(uri.authority().map_or("", |a| a.as_str()).as_bytes())
            && f(uri.path_and_query().map_or("", |p| p.as_str()).as_bytes()))
        {
            return false;
        }
        for (name, value) in self.headers {
            if !(f(name.as_str().as_bytes()) && f(value.as_bytes())) {
                return false;
            }
        }
        true
    }

    /// Whether these bytes are the ones `copy` made of a request.
    fn equal(self, stored: &[u8]) -> bool {
        let mut rest = stored;
        self.each(|piece| {
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                return false;
            };
            let len = u32::from_le_bytes(*len) as usize;
            if len != piece.len() || tail.len() < len || tail[..len] != *piece {
                return false;
            }
            rest = &tail[len..];
            true
        }) && rest.is_empty()
    }

    /// The bytes, each piece after its length, or `None` past `max` bytes.
    fn copy(self, max: usize) -> Option<Box<[u8]>> {
        let mut out = Vec::new();
        let fits = self.each(|piece| {
            let Ok(len) = u32::try_from(piece.len()) else {
                return false;
            };
            if out.len() + 4 + piece.len() > max {
                return false;
            }
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(piece);
            true
        });
        fits.then(|| out.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request(target: &str, lines: &[(&'static str, &'static str)]) -> Request<()> {
        let mut req = Request::get(target);
        for (name, value) in lines {
            req = req.header(*name, HeaderValue::from_static(value));
        }
        req.body(()).unwrap()
    }

    fn same(a: &Request<()>, b: &Request<()>) -> bool {
        let stored = RequestBytes::of(a.uri(), a.headers()).copy(4096).unwrap();
        RequestBytes::of(b.uri(), b.headers()).equal(&stored)
    }

    #[test]
    fn header_lines_must_match_in_order_and_bytes() {
        let a = request(
            "/library/sections/1/all",
            &[("x-plex-token", "alice"), ("accept", "application/json")],
        );
        assert!(same(&a, &a));
        let b = request(
            "/library/sections/1/all",
            &[("x-plex-token", "bob"), ("accept", "application/json")],
        );
        assert!(!same(&a, &b), "another token");
        let c = request(
            "/library/sections/1/all",
            &[
                ("x-plex-token", "alice"),
                ("accept", "application/json"),
                ("x-plex-token", "bob"),
            ],
        );
        assert!(!same(&a, &c) && !same(&c, &a), "one more line");
        // A repeated name's values in another order: servers read the first or the last.
        let d = request("/", &[("x-plex-token", "alice"), ("x-plex-token", "bob")]);
        let e = request("/", &[("x-plex-token", "bob"), ("x-plex-token", "alice")]);
        assert!(!same(&d, &e));
        let f = request(
            "/library/sections/1/all",
            &[("x-plex-token", "Alice"), ("accept", "application/json")],
        );
        assert!(!same(&a, &f), "case in a value counts");
        let g = request(
            "/library/sections/1/all?X-Plex-Token=alice",
            &[("x-plex-token", "alice"), ("accept", "application/json")],
        );
        assert!(!same(&a, &g), "another query");
        // Lengths are part of the bytes: pieces that concatenate alike still differ.
        let h = request("/", &[("x-a", "bc")]);
        let i = request("/", &[("x-ab", "c")]);
        assert!(!same(&h, &i));
    }

    fn reading() -> Arc<Reading> {
        let key = Key::new("plex|/library/sections/1/all|u1");
        Arc::new(Reading {
            class: Class::Listing,
            scope: Scope::User,
            scope_user: Some(cachearr_upstream::keys::UserHash(7)),
            authenticates: true,
            key,
            engine: cachearr_engine::Policy::new("listing", std::time::Duration::from_secs(60))
                .into(),
            gzip: false,
            copy: None,
            prefetch: None,
        })
    }

    fn user(token: &str) -> Arc<UserRecord> {
        let users = cachearr_upstream::users::Users::default();
        users.touch("plex", cachearr_upstream::keys::UserHash(7), token, 0)
    }

    fn kept(reading: Arc<Reading>, client: Arc<str>) -> KeptReading {
        KeptReading {
            reading,
            client,
            user: user("alice"),
            release: 0,
        }
    }

    #[test]
    fn a_reading_is_recalled_only_for_the_same_bytes() {
        let table = RecentReadings::default();
        let alice = request("/library/sections/1/all", &[("x-plex-token", "alice")]);
        let bob = request("/library/sections/1/all", &[("x-plex-token", "bob")]);
        let print = table.fingerprint(&alice, None);
        assert!(table.recall(print, &alice).is_none(), "nothing kept yet");
        let reading = reading();
        table.remember(
            &LastFingerprint::default(),
            print,
            alice.uri(),
            alice.headers(),
            kept(reading.clone(), "Plexamp".into()),
        );
        let again = request("/library/sections/1/all", &[("x-plex-token", "alice")]);
        let recalled = table
            .recall(table.fingerprint(&again, None), &again)
            .expect("the same bytes are recalled");
        assert!(Arc::ptr_eq(&recalled.reading, &reading));
        assert_eq!(&*recalled.client, "Plexamp");
        assert!(table.recall(table.fingerprint(&bob, None), &bob).is_none());
        // Bob's bytes under alice's fingerprint (as if their hashes collided): refused by the
        // comparison, not by the hash.
        assert!(table.recall(print, &bob).is_none());
        // Only GETs are kept.
        let head = Request::head("/library/sections/1/all")
            .header("x-plex-token", "alice")
            .body(())
            .unwrap();
        let (print, recalled) = table.look_up(&LastFingerprint::default(), &head, None);
        assert!(print.is_none() && recalled.is_none());
    }

    #[test]
    fn a_request_read_from_the_same_kept_head_is_recalled_without_comparing() {
        let table = RecentReadings::default();
        let alice = request("/library/sections/1/all", &[("x-plex-token", "alice")]);
        let bob = request("/library/sections/1/all", &[("x-plex-token", "bob")]);
        let (kept_head, other_head) = (HeadId::keep(b"a").0, HeadId::keep(b"a").0);
        assert_ne!(kept_head, other_head, "ids are not reused");
        let print = table.fingerprint(&alice, Some(kept_head));
        table.remember(
            &LastFingerprint::default(),
            print,
            alice.uri(),
            alice.headers(),
            kept(reading(), "Plexamp".into()),
        );
        let with = |head| Fingerprint {
            hash: print.hash,
            head,
        };
        // The same kept head: the id stands for the bytes (bob's bytes never carry alice's
        // head's id; here they show that nothing was compared).
        assert!(table.recall(with(Some(kept_head)), &bob).is_some());
        // Another head, or none: compared.
        assert!(table.recall(with(Some(other_head)), &bob).is_none());
        assert!(table.recall(with(None), &bob).is_none());
        assert!(table.recall(with(Some(other_head)), &alice).is_some());
    }

    #[test]
    fn a_connection_finds_its_last_request_again_and_falls_back_to_the_fingerprint() {
        let table = RecentReadings::default();
        let (a, b) = (
            request("/a", &[("x-plex-token", "alice")]),
            request("/b", &[("x-plex-token", "alice")]),
        );
        let last = LastFingerprint::default();
        for r in [&a, &b] {
            let (print, recalled) = table.look_up(&last, r, None);
            assert!(recalled.is_none());
            let client: Arc<str> = r.uri().path().into();
            table.remember(
                &last,
                print.unwrap(),
                r.uri(),
                r.headers(),
                kept(reading(), client),
            );
        }
        // The connection's last request was b: b again is found by the memo, a by its own
        // fingerprint (after which a is the memo).
        let (print, recalled) = table.look_up(&last, &b, None);
        assert_eq!(&*recalled.unwrap().client, "/b");
        assert_eq!(print.unwrap().hash, table.fingerprint(&b, None).hash);
        let (print, recalled) = table.look_up(&last, &a, None);
        assert_eq!(&*recalled.unwrap().client, "/a");
        assert_eq!(last.get().unwrap(), print.unwrap().hash);
        let other = request("/a", &[("x-plex-token", "bob")]);
        assert!(
            table.look_up(&last, &other, None).1.is_none(),
            "another token"
        );
    }

    #[test]
    fn a_slot_keeps_the_newest_reading_and_long_requests_are_not_kept() {
        let table = RecentReadings::default();
        let last = LastFingerprint::default();
        let a = request("/a", &[("x-plex-token", "alice")]);
        let b = request("/b", &[("x-plex-token", "alice")]);
        // The same slot for both (a fingerprint is only a hash).
        let print = table.fingerprint(&a, None);
        table.remember(
            &last,
            print,
            a.uri(),
            a.headers(),
            kept(reading(), "a".into()),
        );
        table.remember(
            &last,
            print,
            b.uri(),
            b.headers(),
            kept(reading(), "b".into()),
        );
        assert!(table.recall(print, &a).is_none(), "replaced by the newer");
        assert_eq!(&*table.recall(print, &b).unwrap().client, "b");

        let long: &'static str = Box::leak("x".repeat(MAX_REMEMBERED_BYTES).into_boxed_str());
        let c = request("/c", &[("x-plex-token", "alice"), ("x-long", long)]);
        let print = table.fingerprint(&c, None);
        table.remember(
            &last,
            print,
            c.uri(),
            c.headers(),
            kept(reading(), "c".into()),
        );
        assert!(table.recall(print, &c).is_none(), "too long to keep");
    }
}
