//! The library copy as the gateway sees it: what the request path, the change events and the
//! start-up ask of it, behind [`LibraryCopy`]. The copy itself — the index per upstream, its
//! crawl and refresh, the answers written from it, matching — is the crate `cachearr-copy`,
//! which builds on this one (it reads the server through [`crate::fetch`], as a user, through
//! the cache) and is opened with the gateway's [`ReadThrough`] while the gateway is built
//! ([`crate::gateway::GatewayBuilder::copy`]). A gateway built without one sends every search and
//! walk to the server.

use std::sync::Arc;
use std::time::Instant;

use cachearr_library::LibraryIndex;
use futures_util::future::BoxFuture;
use http::{Request, Response};

use crate::background::Background;
use crate::fetch::{ClientBody, ProxyBody, WalkSources};
use crate::read_through::ReadThrough;
use cachearr_config::policy::IndexSearch;
use cachearr_dialect::events::ChangeEvent;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

/// The library copy of every upstream, as the gateway asks it; its walks answer loads
/// ([`WalkSources`]).
pub trait LibraryCopy: std::any::Any + WalkSources + Send + Sync + std::fmt::Debug {
    /// A search the route table recognised, answered from the copy for `user` (the request's
    /// one token's; `None`: no token or two) in the server's format; `None` sends it on to
    /// the cache and the server.
    fn answer_search<'a>(
        &'a self,
        reads: &'a ReadThrough,
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

    /// The copy of `upstream` in brief, for the admin side's stats; `None` when it keeps
    /// none.
    fn brief(&self, upstream: &str) -> Option<CopyBrief>;

    /// Bytes the items written for the copy's answers take, over every upstream.
    fn written_bytes(&self) -> u64;

    /// The copy's own routes on the admin listener (`/api/index`, `/api/index/build`,
    /// `/api/library/stats`, `/api/match`, `/api/lookup`), which the admin side merges into
    /// its router: they read the copy as its own type, not through the gateway.
    fn admin_routes(self: Arc<Self>) -> axum::Router;

    /// Starts the copy's background work — each upstream's keeper, the play-state watch —
    /// until `stop`, for the upstreams whose background work `background` says is this
    /// gateway's; the gateway awaits the tasks when it stops.
    fn spawn(
        &self,
        background: &Background,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>>;
}

/// An upstream's library copy in brief ([`LibraryCopy::brief`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyBrief {
    /// `[index] enabled`; when false every search goes to the server.
    pub enabled: bool,
    /// `disabled`, `idle`, `building`, `ready` or `failed`.
    pub state: String,
    /// Items in the installed index.
    pub items: u64,
    /// Searches that went to the server because the index was off or not ready.
    pub searches_to_server: u64,
}
