//! [`Loader`]: how the engine fills a miss or refreshes an entry, and [`LoadContext`]: why.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::entry::{CachedValue, Fill};
use crate::error::LoadError;

/// Why the engine runs a loader. A loader that spends a limited budget (a gateway's upstream
/// concurrency for clients) spends it on loads a caller waits for, and fetches refreshes, which
/// nobody waits for, on a background budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoadContext {
    /// A caller waits for the value: nothing usable was stored (a miss, or an entry past every
    /// window it may be served in).
    CallerWaiting,
    /// A stale entry was served and this refresh runs behind it (stale-while-revalidate).
    Revalidate,
    /// The warmer refreshes an entry read often, before it goes stale.
    Warm,
}

impl LoadContext {
    /// Whether nobody waits for this load (a refresh).
    #[must_use]
    pub fn is_background(self) -> bool {
        self != LoadContext::CallerWaiting
    }
}

/// Produces the value for a key. The engine calls it at most once at a time per key
/// (single-flight), and keeps it (in memory only) to refresh the entry in the background
/// later, so it must be `'static` and callable more than once.
pub trait Loader: Send + Sync + 'static {
    /// Fetches a fresh value; `context` says whether a caller waits for it.
    fn load(&self, context: LoadContext) -> BoxFuture<'static, Result<Fill, LoadError>>;

    /// Fetches a fresh value when `current` is stored (a refresh). A loader whose upstream
    /// answers conditional requests asks only whether `current` changed and answers
    /// [`Fill::NotModified`] when it did not, so an unchanged body is not sent again. By
    /// default, [`Loader::load`].
    fn revalidate(
        &self,
        current: &CachedValue,
        context: LoadContext,
    ) -> BoxFuture<'static, Result<Fill, LoadError>> {
        let _ = current;
        self.load(context)
    }

    /// The loader to keep for a later refresh (the warmer holds it until the refresh is due,
    /// possibly long after the request that made it). A loader that borrows buffers of its
    /// request (a slice of a connection's read buffer pins the whole buffer) returns a copy
    /// holding only what it needs; `None`, the default, keeps this one.
    fn kept(&self) -> Option<Arc<dyn Loader>> {
        None
    }

    /// Tags the loaded value itself shows it depends on (the items a listing holds), added
    /// to the policy's. They are stamped when the value arrives; one bumped while the load
    /// ran leaves the entry dead on arrival. None by default.
    fn value_tags(&self, _value: &CachedValue) -> Vec<Arc<str>> {
        Vec::new()
    }
}

/// Any `Fn() -> impl Future<Output = Result<Fill, LoadError>>` closure is a loader (one that
/// loads the same way whoever waits).
impl<F, Fut> Loader for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Fill, LoadError>> + Send + 'static,
{
    fn load(&self, _context: LoadContext) -> BoxFuture<'static, Result<Fill, LoadError>> {
        (self)().boxed()
    }
}
