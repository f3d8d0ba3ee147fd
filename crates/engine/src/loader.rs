//! [`Loader`]: how the engine fills a miss or refreshes an entry.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::entry::{CachedValue, Fill};
use crate::error::LoadError;

/// Produces the value for a key. The engine calls it at most once at a time per key
/// (single-flight), and keeps it (in memory only) to refresh the entry in the background
/// later, so it must be `'static` and callable more than once.
pub trait Loader: Send + Sync + 'static {
    /// Fetches a fresh value.
    fn load(&self) -> BoxFuture<'static, Result<Fill, LoadError>>;

    /// Fetches a fresh value when `current` is stored (a refresh). A loader whose upstream
    /// answers conditional requests asks only whether `current` changed and answers
    /// [`Fill::NotModified`] when it did not, so an unchanged body is not sent again. By
    /// default, [`Loader::load`].
    fn revalidate(&self, current: &CachedValue) -> BoxFuture<'static, Result<Fill, LoadError>> {
        let _ = current;
        self.load()
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

/// Any `Fn() -> impl Future<Output = Result<Fill, LoadError>>` closure is a loader.
impl<F, Fut> Loader for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Fill, LoadError>> + Send + 'static,
{
    fn load(&self) -> BoxFuture<'static, Result<Fill, LoadError>> {
        (self)().boxed()
    }
}
