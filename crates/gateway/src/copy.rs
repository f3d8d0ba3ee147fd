//! The library copy as the gateway sees it: what the request path, the change events and the
//! start-up ask of it, behind [`LibraryCopy`]. The copy itself — the index per upstream, its
//! crawl and refresh, the answers written from it, matching — is the crate `cachearr-copy`,
//! which builds on this one (it reads the server through [`crate::fetch`], as a user, through
//! the cache) and hands the gateway its copy when it is built
//! ([`crate::gateway::GatewayBuilder::copy`]). A gateway built without one sends every search and
//! walk to the server.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use cachearr_library::LibraryIndex;
use futures_util::future::BoxFuture;
use http::{Request, Response};

use crate::fetch::{ClientBody, CopySource, ProxyBody};
use crate::gateway::Gateway;
use cachearr_config::policy::IndexSearch;
use cachearr_dialect::events::ChangeEvent;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

/// The library copy of every upstream, as the gateway asks it. `Any` lets the copy's own crate
/// read its type back from the gateway that holds it.
pub trait LibraryCopy: Any + Send + Sync + std::fmt::Debug {
    /// What may answer a miss of a cached read of `search` instead of the server: the copy's
    /// walks (an item's children or leaves, a section listing, a series' seasons and
    /// episodes), handed to the loader; `None`: the server answers.
    fn walk_copy(
        &self,
        search: IndexSearch,
        query: Option<&str>,
    ) -> Option<&'static dyn CopySource>;

    /// A search the route table recognised, answered from the copy for `user` (the request's
    /// one token's; `None`: no token or two) in the server's format; `None` sends it on to
    /// the cache and the server.
    fn answer_search<'a>(
        &'a self,
        gw: &'a Gateway,
        up: &'a Arc<Upstream>,
        req: &'a Request<ClientBody>,
        search: IndexSearch,
        user: Option<Arc<UserRecord>>,
        started: Instant,
    ) -> BoxFuture<'a, Option<Response<ProxyBody>>>;

    /// Items of `upstream` were written through the gateway: the copy answers none of them
    /// until it has read them again.
    fn note_write(&self, upstream: &str, items: &mut dyn Iterator<Item = &str>);

    /// A change event of `upstream`: the copy fetches what was added or changed and drops
    /// what was removed. Whether it takes the event (an index is kept for the upstream).
    fn note_change(&self, upstream: &str, event: &ChangeEvent) -> bool;

    /// The index of `upstream` as it stands, when one is ready: what change events are
    /// completed from (their items' sections and parents).
    fn ready_index(&self, upstream: &str) -> Option<Arc<LibraryIndex>>;

    /// Starts the copy's background work — each upstream's keeper, the play-state watch —
    /// until `stop`; the gateway awaits the tasks when it stops.
    fn spawn(
        &self,
        gw: &Gateway,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>>;
}
