//! A cached read as the batches see it ([`BatchedRead`]), and the one call through which the
//! proxy's look-up passes them ([`super::Batcher::around`]). Each kind of batch is a layer
//! around the look-up, as a middleware is around a service: the windows' layer
//! (`windows.rs`), the singles' (`mod.rs`) and, innermost, the pages the copy writes ahead
//! (`ahead.rs`). A layer holds the read while what fills its key may be on its way, awaits
//! the layers inside, learns from the answer ([`Looked`]) and lets the hold go: what it
//! does before and after the look-up is one visit to its module.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cachearr_engine::{EngineError, Key, Lookup, Outcome};
use http::{HeaderMap, Uri};

use super::BatchReads;
use super::Batcher;
use crate::fetch::{CopySource, LoaderState};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::secret::UserHash;
use cachearr_upstream::users::UserRecord;

/// One cached read: who reads which key, by which request.
pub(crate) struct BatchedRead<'a> {
    pub(crate) reads: &'a BatchReads,
    pub(crate) up: &'a Arc<Upstream>,
    pub(crate) user: &'a Arc<UserRecord>,
    /// The entry's user (`None`: a shared entry).
    pub(crate) scope_user: Option<UserHash>,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) key: &'a Key,
    /// The library copy, when it may answer this route's walks.
    pub(crate) copy: Option<Arc<dyn CopySource>>,
}

/// What a read's look-up gave, and what its own load (if it made one) said.
pub(crate) struct Looked {
    pub(crate) result: Result<Lookup, EngineError>,
    /// The loader this read made, if the engine asked it for one.
    pub(crate) made: Option<Arc<LoaderState>>,
    /// Whether this read's own load was answered by the copy (`Some(false)`: the server
    /// answered it; `None`: it made no load of its own — a hit, or a wait on another's).
    pub(crate) by_copy: Option<bool>,
    /// The library copy, when it answers this user's walks of this route: a copy that
    /// declines the user answers none of them here (their pages are the server's, and
    /// windows may read them ahead).
    pub(crate) copy: Option<Arc<dyn CopySource>>,
}

impl Looked {
    /// The answer, when it is one the batches learn from: a 200 the cache holds.
    pub(crate) fn teaches(&self) -> Option<&Lookup> {
        self.result.as_ref().ok().filter(|lookup| {
            lookup.entry.value.status == 200 && !matches!(lookup.outcome, Outcome::Passed)
        })
    }
}

impl Batcher {
    /// Passes `read` through the batches around its look-up (`look_up`: the cache, whose
    /// load may go to the copy or the server), each a layer that holds the read while what
    /// fills its key may be on its way and learns from the answer before letting go: the
    /// windows (pages of a walk read in concurrent bundles), the singles' batches (items of
    /// a page read one by one) and, innermost, the pages the copy writes ahead of a walk.
    pub(crate) async fn around(
        &self,
        read: BatchedRead<'_>,
        look_up: impl Future<Output = (Result<Lookup, EngineError>, Option<Arc<LoaderState>>)>,
    ) -> Looked {
        let ahead = async {
            let (result, made) = look_up.await;
            let by_copy = match (&result, &made) {
                (Ok(lookup), Some(l)) if matches!(lookup.outcome, Outcome::Miss) => {
                    Some(l.answered_by_copy.load(Ordering::Relaxed))
                }
                _ => None,
            };
            let declined = made
                .as_ref()
                .is_some_and(|l| l.copy_declines_user.load(Ordering::Relaxed));
            let looked = Looked {
                result,
                made,
                by_copy,
                copy: read.copy.clone().filter(|_| !declined),
            };
            self.learn_ahead(&read, &looked);
            looked
        };
        // Each layer holds the one inside it pinned where it is made, by reference: a layer
        // taking the look-up by value would copy its whole future (kilobytes: the engine's
        // load and the loader) once per layer on every hit.
        let ahead = std::pin::pin!(ahead);
        let singles = std::pin::pin!(self.around_singles(&read, ahead));
        self.windows.around(&read, singles).await
    }

    /// What the layers of [`Self::around`] learn from a read answered by a fresh entry in
    /// memory, which none of them holds: nothing fills a fresh key, and each layer's hold
    /// lets a read pass once its key is in the cache. The same learning, innermost first.
    pub(crate) fn learn(&self, read: &BatchedRead<'_>, looked: &Looked) {
        self.learn_ahead(read, looked);
        self.learn_singles(read, looked);
        self.windows.learn(read, looked);
    }

    /// What the innermost layer learns: a walk's page the copy may write the next of.
    fn learn_ahead(&self, read: &BatchedRead<'_>, looked: &Looked) {
        if let (Some(lookup), Some(copy)) = (looked.teaches(), &looked.copy) {
            let page = super::ahead::PageRead {
                uri: read.uri,
                headers: read.headers,
                key: read.key,
                outcome: lookup.outcome,
                by_copy: looked.by_copy == Some(true),
                copy: copy.clone(),
            };
            self.ahead
                .observe(read.reads, read.up, (read.user, read.scope_user), page);
        }
    }
}
