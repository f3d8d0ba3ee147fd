//! A cached read as the batches see it ([`BatchedRead`]), and the one call through which the
//! proxy's look-up passes them ([`super::Batcher::around`]): held while a batch, a window or a
//! page written ahead that fills its key is on its way, looked up, then watched for the walk
//! it may be part of, before the holds are let go.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cachearr_engine::{EngineError, Key, Lookup, Outcome};
use http::{HeaderMap, Uri};

use super::Batcher;
use crate::Gateway;
use crate::fetch::{CopySource, LoaderState};
use crate::secret::UserHash;
use crate::upstream::Upstream;
use crate::users::UserRecord;

/// One cached read: who reads which key, by which request.
pub(crate) struct BatchedRead<'a> {
    pub(crate) gw: &'a Gateway,
    pub(crate) up: &'a Arc<Upstream>,
    pub(crate) user: &'a Arc<UserRecord>,
    /// The entry's user (`None`: a shared entry).
    pub(crate) scope_user: Option<UserHash>,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) key: &'a Key,
    /// The library copy, when it may answer this route's walks.
    pub(crate) copy: Option<&'static dyn CopySource>,
}

/// What a read's look-up gave, and what its own load (if it made one) said.
pub(crate) struct Looked {
    pub(crate) result: Result<Lookup, EngineError>,
    /// The loader this read made, if the engine asked it for one.
    pub(crate) made: Option<Arc<LoaderState>>,
    /// Whether this read's own load was answered by the copy (`Some(false)`: the server
    /// answered it; `None`: it made no load of its own — a hit, or a wait on another's).
    pub(crate) by_copy: Option<bool>,
}

impl Batcher {
    /// Holds `read` while what fills its key is on its way, looks it up (`look_up`: the
    /// cache, whose load may go to the copy or the server), and learns from the answer —
    /// a listing page or an item that starts a batch, a page that proves or extends a
    /// window, a page of a walk the copy writes ahead — before letting the holds go.
    pub(crate) async fn around(
        &self,
        read: BatchedRead<'_>,
        look_up: impl Future<Output = (Result<Lookup, EngineError>, Option<Arc<LoaderState>>)>,
    ) -> Looked {
        let BatchedRead { gw, up, user, .. } = read;
        // A page of a walk read in concurrent bundles waits for the walk's page on its way to
        // the server, whose answer may start the window holding it; a page going there holds
        // the others until what it teaches is learnt.
        let loading = self
            .windows
            .hold(
                gw,
                up,
                (user, read.scope_user),
                (read.uri, read.headers, read.key),
            )
            .await;
        // So does an item of a page read singly, its page's items read all at once.
        let single = self
            .hold_single(gw, up, user.hash, (read.uri, read.key))
            .await;
        self.join(read.key).await;
        let (result, made) = look_up.await;
        let by_copy = match (&result, &made) {
            (Ok(lookup), Some(l)) if matches!(lookup.outcome, Outcome::Miss) => {
                Some(l.answered_by_copy.load(Ordering::Relaxed))
            }
            _ => None,
        };
        if let Ok(lookup) = &result {
            // A copy that declines the user answers none of their walks here: their pages are
            // the server's, and windows may read them ahead.
            let declined = made
                .as_ref()
                .is_some_and(|l| l.copy_declines_user.load(Ordering::Relaxed));
            self.learn(&read, lookup, by_copy, read.copy.filter(|_| !declined));
        }
        drop((loading, single));
        Looked {
            result,
            made,
            by_copy,
        }
    }

    /// What an answer teaches the batches: a section walk's page or item may start a batch of
    /// the page's other items (their keys registered before this answer goes out), a page a
    /// window, a page of a walk the copy answers the copy's writing of the next pages.
    fn learn(
        &self,
        read: &BatchedRead<'_>,
        lookup: &Lookup,
        by_copy: Option<bool>,
        copy: Option<&'static dyn CopySource>,
    ) {
        if lookup.entry.value.status != 200 || matches!(lookup.outcome, Outcome::Passed) {
            return;
        }
        let BatchedRead {
            gw,
            up,
            user,
            scope_user,
            uri,
            headers,
            key,
            ..
        } = *read;
        let fresh = matches!(lookup.outcome, Outcome::Miss | Outcome::Coalesced);
        let value = &lookup.entry.value;
        self.observe(read, value, fresh);
        let page = super::windows::PageRead {
            uri,
            headers,
            value,
            from_server: by_copy == Some(false),
            copy: copy.is_some(),
        };
        self.windows.observe(gw, up, (user, scope_user), page);
        if let Some(copy) = copy {
            let page = super::ahead::PageRead {
                uri,
                headers,
                key,
                outcome: lookup.outcome,
                by_copy: by_copy == Some(true),
                copy,
            };
            self.ahead.observe(gw, up, (user, scope_user), page);
        }
    }
}
