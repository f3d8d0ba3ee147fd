//! The page after a listing's last: empty, with no request to the server.
//!
//! Emby for Kodi reads each kind of each library in pages of 5,000 to 100,000 items until one
//! comes back empty: most kinds fit one page, so half of its sync's listing requests are the
//! empty page after a short one. A page that came back from the server with fewer items than
//! it asked for ended the listing at that moment, so the page after it holds nothing: its
//! answer is the short page's frame around no items, moved to its place
//! ([`cachearr_dialect::PagedListing::reframe`]: Jellyfin's and Emby's name the page's
//! `StartIndex`, and an uncounted page's `TotalRecordCount` counts its own items).
//!
//! **Proven on the server's own answer.** The first such page of an upstream is only
//! predicted: the client's read of it goes to the server, and its answer is compared with the
//! prediction byte for byte (its stored headers too). Equal, the next ones are stored ahead
//! (under exactly the key, policy and tags the client's request would have, registered before
//! the short page's answer goes out, so the read waits for it); different, none is, said once
//! in the log. A prediction the library copy vouches for needs no proof of its own: it is,
//! byte for byte, the page of no item the copy proved the server writes (its empty listings'
//! frame, `answer/none_of.rs` in `cachearr-copy`), so it is stored ahead from the first.
//!
//! **Never stale.** A page is stored with [`cachearr_engine::TieredCache::insert_fetched`],
//! stamped when the short page's answer is seen, before it goes out: a change announced since
//! leaves it unstored, and the change feed drops it like the short page when the listing
//! changes. (A change announced while the short page itself was on its way is not seen here:
//! the page after it is then as the short page shows the listing, moments before.)

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use cachearr_dialect::{PageFrame, PagedListing};
use cachearr_engine::CachedValue;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::keys::UserHash;
use cachearr_upstream::users::UserRecord;
use http::{HeaderMap, Uri};
use tokio::sync::watch;

use super::PageRead;
use super::{
    BatchReads, Children, Proof, Release, not_cached, same_headers, store_part, target_of,
};

/// Predictions waiting for the server's answer remembered at once.
const WAITING_MAX: usize = 16;

/// A page predicted empty, waiting for the server's own answer to prove the prediction.
struct Predicted {
    upstream: Arc<str>,
    user: UserHash,
    path: Box<str>,
    query: String,
    value: CachedValue,
}

/// The pages after short pages, per upstream: whether they are proven, and the predictions
/// waiting for their proof.
#[derive(Default)]
pub(crate) struct PastEnd {
    proofs: Mutex<HashMap<Arc<str>, Proof>>,
    waiting: Mutex<VecDeque<Predicted>>,
    /// Pages stored ahead.
    pub(crate) stored: AtomicUsize,
}

/// A listing page a client got from the server: its path, query, place and size.
pub(super) struct ShortPage<'a> {
    pub(super) path: &'a str,
    pub(super) query: &'a str,
    pub(super) start: usize,
    pub(super) size: usize,
}

impl PastEnd {
    fn proof(&self, upstream: &str) -> Option<Proof> {
        let proofs = self.proofs.lock().unwrap_or_else(|e| e.into_inner());
        proofs.get(upstream).copied()
    }

    fn set_proof(&self, upstream: &Arc<str>, proof: Proof) {
        let mut proofs = self.proofs.lock().unwrap_or_else(|e| e.into_inner());
        if proofs.insert(upstream.clone(), proof) != Some(proof) {
            match proof {
                Proof::Proven => tracing::info!(
                    upstream = %upstream,
                    "the page after a listing's last is empty as predicted: such pages are stored ahead"
                ),
                Proof::Refused => tracing::warn!(
                    upstream = %upstream,
                    "the page after a listing's last differs from its prediction: the server answers such pages"
                ),
            }
        }
    }

    /// Watches a page the server answered a client: proves a prediction of it, and predicts
    /// the page after it when it came back short (stored ahead once proven).
    pub(super) fn observe(
        &self,
        reads: &BatchReads,
        up: &Arc<Upstream>,
        (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
        (paged, headers): (&PagedListing, &HeaderMap),
        page: &ShortPage<'_>,
        read: &PageRead<'_>,
    ) {
        if !read.from_server {
            return;
        }
        self.prove(up, user.hash, page, read.value);
        let Some((query, value)) = predict(paged, page, read.value) else {
            return;
        };
        let next = page.start + page.size;
        // The copy proved how the server answers a page of no item: a prediction equal to
        // that answer needs no proof of its own.
        let vouched = || (read.walks).is_some_and(|w| w.vouches_empty_page(&up.name, next, &value));
        match self.proof(&up.name) {
            Some(Proof::Refused) => {}
            None if vouched() => {
                let asked = (page.path.to_owned(), query, next);
                store_ahead(reads, up, (user, scope_user), headers, asked, value);
            }
            None => {
                let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                if waiting.len() >= WAITING_MAX {
                    waiting.pop_front();
                }
                waiting.push_back(Predicted {
                    upstream: up.name.clone(),
                    user: user.hash,
                    path: page.path.into(),
                    query,
                    value,
                });
            }
            Some(Proof::Proven) => {
                let asked = (page.path.to_owned(), query, next);
                store_ahead(reads, up, (user, scope_user), headers, asked, value);
            }
        }
    }

    /// Compares the server's answer of a page predicted empty with the prediction.
    fn prove(&self, up: &Arc<Upstream>, user: UserHash, page: &ShortPage<'_>, got: &CachedValue) {
        let predicted = {
            let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            let at = waiting.iter().position(|p| {
                *p.upstream == *up.name
                    && p.user == user
                    && *p.path == *page.path
                    && p.query == page.query
            });
            at.and_then(|at| waiting.remove(at))
        };
        if let Some(predicted) = predicted {
            let same = predicted.value.body == got.body
                && same_headers(&predicted.value.headers, &got.headers);
            self.set_proof(&up.name, if same { Proof::Proven } else { Proof::Refused });
        }
    }
}

/// The page after `page` when the server answered it short (some items, fewer than asked):
/// its query and the answer the server would give, the frame moved around no items.
fn predict(
    paged: &PagedListing,
    page: &ShortPage<'_>,
    value: &CachedValue,
) -> Option<(String, CachedValue)> {
    if value.status != 200 {
        return None;
    }
    let items = Children::of(&value.body, paged.json_items)?.items;
    let (first, last) = (items.first()?, items.last()?);
    if items.len() >= page.size {
        return None;
    }
    let next = page.start.checked_add(page.size)?;
    let around = PageFrame {
        head: &value.body[..first.start],
        tail: &value.body[last.end..],
    };
    let (head, tail) = (paged.reframe)(around, page.query, (page.start, items.len()), (next, 0))?;
    let mut body = BytesMut::with_capacity(head.len() + tail.len());
    body.extend_from_slice(&head);
    body.extend_from_slice(&tail);
    let query = (paged.with_page)(page.query, next, page.size)?;
    let value = CachedValue {
        status: 200,
        headers: value.headers.clone(),
        body: Bytes::from(body),
    };
    Some((query, value))
}

/// Registers the page's key (before the short page's answer goes out) and stores the page.
fn store_ahead(
    reads: &BatchReads,
    up: &Arc<Upstream>,
    (user, scope_user): (&Arc<UserRecord>, Option<UserHash>),
    headers: &HeaderMap,
    (path, query, start): (String, String, usize),
    value: CachedValue,
) {
    let Some((_, headers)) = crate::fetch::owned_request(&Uri::from_static("/"), headers) else {
        return;
    };
    let asked = (
        path,
        Some(query.as_str()),
        start.to_string().into_boxed_str(),
    );
    let Some(target) = target_of(reads, up, (user, scope_user), &headers, asked) else {
        return;
    };
    let stamp = reads.cache().fetch_started();
    let (tx, rx) = watch::channel(());
    reads.batcher().register(std::slice::from_ref(&target), rx);
    let release = Release {
        reads: reads.clone(),
        keys: vec![target.key.clone()],
        _tx: tx,
    };
    let (reads, up, user) = (reads.clone(), up.clone(), user.clone());
    tokio::spawn(async move {
        for target in not_cached(reads.cache(), reads.batcher(), vec![target]).await {
            let part = (None, Vec::new());
            if store_part(
                &reads,
                &up,
                (&user, &headers),
                target,
                value.clone(),
                part,
                &stamp,
            )
            .await
            {
                reads
                    .batcher()
                    .windows
                    .past_end
                    .stored
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(release);
    });
}
