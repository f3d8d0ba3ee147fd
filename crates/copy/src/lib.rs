//! cachearr-copy: the library copy — the index of each upstream's library, kept by crawling
//! the server and following its change feed, the server's own elements and documents kept
//! for answers, and the walks and searches answered from them in the server's format for
//! each user, byte for byte what the server would send that user.
//!
//! It sits above the gateway (`cachearr-gateway`): it reads the server through the gateway's
//! cache as the owner or as a user ([`cachearr_gateway::fetch`]), and the gateway reaches it only through
//! [`cachearr_gateway::copy::LibraryCopy`], which [`Library`] implements. [`builder`] is the
//! gateway's builder with the copy opened ([`open`]); [`GatewayLibrary`] reads a gateway's
//! copy back, for the copy's own code, the admin side and tests.
//!
//! # Layout
//! * [`upstream_index`] — one [`UpstreamIndex`] per upstream: its keeper (build, schedule,
//!   persistence, refreshes and change events), the crawl, the kept elements and documents,
//!   the answers (searches and walks) written from them, matching and the admin routes
//!   (`/api/index`, `/api/match`, `/api/lookup`).
//! * [`play_watch`] — each recently seen user's play state, probed where the server announces
//!   no change of it (plays on other clients); a change bumps that user's state tag.
//!
//! Nothing here names a server: what differs between Plex and Jellyfin is asked of the
//! upstream's dialect (`cachearr-dialect`).

pub mod play_watch;
pub mod upstream_index;

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use cachearr_gateway::copy::LibraryCopy;
use cachearr_gateway::fetch::{ClientBody, CopySource, ProxyBody};
use cachearr_library::LibraryIndex;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use http::{Request, Response};

pub use upstream_index::UpstreamIndex;

use cachearr_config::Config;
use cachearr_config::policy::IndexSearch;
use cachearr_dialect::events::ChangeEvent;
use cachearr_gateway::{Gateway, GatewayBuilder};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

/// The gateway's builder with the library copy opened once the gateway is built: what
/// `cachearr serve`, the demo and the tests build a whole gateway with.
pub fn builder(config: Config) -> GatewayBuilder {
    Gateway::builder(config).copy(open)
}

/// Opens the library copy of `gw`: one index per upstream, each with its elements store
/// open when its server's answers are kept as elements, loaded from its snapshot on disk
/// (ready before any listener binds, no crawl), and each feed told of the pass the snapshot
/// stands for.
pub fn open(gw: &Gateway) -> BoxFuture<'_, Arc<dyn LibraryCopy>> {
    async move {
        let config = gw.config();
        let indexes: Vec<_> = (config.upstreams.iter())
            .map(|u| upstream_index::new_index(config, u, gw.cache()))
            .collect();
        upstream_index::keeper::load_at_start(config, &indexes).await;
        for index in &indexes {
            // Held weakly by the metrics: counted for as long as the copy keeps the index.
            let declines: Arc<dyn cachearr_gateway::metrics::StatsSource> = index.clone();
            gw.metrics().add_source(&declines);
        }
        for index in &indexes {
            // A saved index counts as a pass as of when it was made.
            if let (Some(feed), Some(last)) = (gw.feed(index.upstream()), index.status().last_build)
            {
                feed.note_pass(last.finished_at_ms, 0);
            }
        }
        Arc::new(Library { indexes }) as Arc<dyn LibraryCopy>
    }
    .boxed()
}

/// The library copy of every upstream of one gateway.
#[derive(Debug)]
pub struct Library {
    /// One index handle per upstream, in configuration order.
    indexes: Vec<Arc<UpstreamIndex>>,
}

impl Library {
    /// The index handle of the upstream with this name.
    pub fn index(&self, upstream: &str) -> Option<&Arc<UpstreamIndex>> {
        self.indexes.iter().find(|i| i.upstream() == upstream)
    }
}

/// A gateway's library copy, read back from the gateway that holds it.
pub trait GatewayLibrary {
    /// The copy the gateway was built with, when it was built by [`builder`].
    fn library(&self) -> Option<&Library>;

    /// The library index handle of the upstream with this name.
    fn index(&self, upstream: &str) -> Option<&Arc<UpstreamIndex>> {
        self.library()?.index(upstream)
    }
}

impl GatewayLibrary for Gateway {
    fn library(&self) -> Option<&Library> {
        let copy: &dyn Any = self.copy()?;
        copy.downcast_ref::<Library>()
    }
}

impl LibraryCopy for Library {
    fn walk_copy(
        &self,
        search: IndexSearch,
        query: Option<&str>,
    ) -> Option<&'static dyn CopySource> {
        upstream_index::answer::walk_copy(search, query)
    }

    fn answer_search<'a>(
        &'a self,
        gw: &'a Gateway,
        up: &'a Arc<Upstream>,
        req: &'a Request<ClientBody>,
        search: IndexSearch,
        user: Option<Arc<UserRecord>>,
        started: Instant,
    ) -> BoxFuture<'a, Option<Response<ProxyBody>>> {
        let Some(handle) = self.index(&up.name) else {
            return futures_util::future::ready(None).boxed();
        };
        upstream_index::answer::try_answer(gw, handle, up, req, search, user, started)
            .map(|answer| {
                answer
                    .inspect_err(|&reason| handle.note_declined(reason, "search"))
                    .ok()
            })
            .boxed()
    }

    fn note_write(&self, upstream: &str, items: &mut dyn Iterator<Item = &str>) {
        if let Some(index) = self.index(upstream) {
            index.note_write(items);
        }
    }

    fn note_change(&self, upstream: &str, event: &ChangeEvent) -> bool {
        self.index(upstream)
            .is_some_and(|index| index.note_change(event))
    }

    fn ready_index(&self, upstream: &str) -> Option<Arc<LibraryIndex>> {
        self.index(upstream)?.ready()
    }

    fn spawn(
        &self,
        gw: &Gateway,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = upstream_index::keeper::spawn_all(gw, stop);
        tasks.extend(play_watch::spawn_play_watch(gw, stop));
        tasks
    }
}
