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

use cachearr_gateway::background::Background;
use cachearr_gateway::copy::{CopyBrief, LibraryCopy};
use cachearr_gateway::fetch::{ClientBody, CopySource, ProxyBody, WalkSources};
use cachearr_gateway::read_through::ReadThrough;
use cachearr_library::LibraryIndex;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use http::{Request, Response};

pub use upstream_index::UpstreamIndex;

use cachearr_config::Config;
use cachearr_config::policy::IndexSearch;
use cachearr_dialect::events::{Change, ChangeEvent};
use cachearr_engine::CachedValue;
use cachearr_gateway::{Gateway, GatewayBuilder, GatewayError};
use cachearr_upstream::client::Upstream;
use cachearr_upstream::users::UserRecord;

/// The gateway's builder with the library copy opened as the gateway is built: what the
/// tests build a whole gateway with.
pub fn builder(config: Config) -> GatewayBuilder {
    Gateway::builder(config).copy(open)
}

/// Builds the gateway `builder` makes with its library copy, and hands the copy back as a
/// [`Library`] too: what `cachearr serve` and the demo build a whole gateway with.
///
/// # Errors
/// As [`GatewayBuilder::build`].
pub async fn build(builder: GatewayBuilder) -> Result<(Gateway, Arc<Library>), GatewayError> {
    builder.build_with_copy(Library::open).await
}

/// [`Library::open`], as the gateway's opener ([`GatewayBuilder::copy`]).
pub fn open<'a>(
    reads: &'a ReadThrough,
    upstreams: &'a [Arc<Upstream>],
) -> BoxFuture<'a, Arc<dyn LibraryCopy>> {
    Library::open(reads, upstreams)
        .map(|library| library as Arc<dyn LibraryCopy>)
        .boxed()
}

impl Library {
    /// Opens the library copy of the gateway being built, which reads through `reads` from
    /// `upstreams`: one index per upstream, each with its elements store open when its server's
    /// answers are kept as elements, loaded from its snapshot on disk (ready before any listener
    /// binds, no crawl), and each feed told of the pass the snapshot stands for.
    pub fn open<'a>(
        reads: &'a ReadThrough,
        upstreams: &'a [Arc<Upstream>],
    ) -> BoxFuture<'a, Arc<Library>> {
        async move {
            let config = reads.config();
            let indexes: Vec<_> = (config.upstreams.iter())
                .map(|u| upstream_index::new_index(config, u, reads.cache()))
                .collect();
            upstream_index::keeper::load_at_start(config, &indexes).await;
            for index in &indexes {
                // Held weakly by the metrics: counted for as long as the copy keeps the index.
                let declines: Arc<dyn cachearr_gateway::metrics::StatsSource> = index.clone();
                reads.metrics().add_source(&declines);
            }
            for index in &indexes {
                // A saved index counts as a pass as of when it was made.
                if let (Some(feed), Some(last)) =
                    (reads.feed(index.upstream()), index.status().last_build)
                {
                    feed.note_pass(last.finished_at_ms, 0);
                    // Its keeper catches it up at once: until then, what was kept before the
                    // start is not answered (the reads wait, bounded).
                    let now = reads.clock().now_ms();
                    if index.ready().is_some()
                        && upstream_index::keeper::catch_up_due(
                            &config.index,
                            last.finished_at_ms,
                            now,
                        )
                    {
                        feed.begin_catch_up();
                    }
                }
            }
            let walks = indexes
                .iter()
                .map(upstream_index::answer::Walks::of)
                .collect();
            Arc::new(Library {
                reads: reads.clone(),
                upstreams: upstreams.to_vec(),
                indexes,
                walks,
            })
        }
        .boxed()
    }
}

/// The library copy of every upstream of one gateway.
#[derive(Debug)]
pub struct Library {
    /// What the copy reads the servers through: the gateway's cache, as a user.
    reads: ReadThrough,
    /// The upstreams, in configuration order.
    upstreams: Vec<Arc<Upstream>>,
    /// One index handle per upstream, in configuration order.
    indexes: Vec<Arc<UpstreamIndex>>,
    /// The walks each index answers, made once: in the same order as `indexes`.
    walks: Vec<upstream_index::answer::Walks>,
}

impl Library {
    /// The index handle of the upstream with this name.
    pub fn index(&self, upstream: &str) -> Option<&Arc<UpstreamIndex>> {
        self.indexes.iter().find(|i| i.upstream() == upstream)
    }

    /// What the copy reads the servers through.
    pub fn reads(&self) -> &ReadThrough {
        &self.reads
    }

    /// The upstreams, in configuration order.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    /// The upstream with this name.
    pub fn upstream(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.upstreams.iter().find(|u| &*u.name == name)
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
        let copy: &dyn Any = &**self.copy()?;
        copy.downcast_ref::<Library>()
    }
}

impl WalkSources for Library {
    fn walk_copy(
        &self,
        upstream: &str,
        search: IndexSearch,
        query: Option<&str>,
    ) -> Option<Arc<dyn CopySource>> {
        let at = self.indexes.iter().position(|i| i.upstream() == upstream)?;
        let profile = (self.upstreams.iter())
            .find(|up| &*up.name == upstream)?
            .profile;
        self.walks.get(at)?.walk_copy(profile, search, query)
    }

    fn server_changed(&self, upstream: &str) {
        // The frames were proven on the earlier release's answers, and kept for a restart:
        // both forgotten, so that the new release's answers prove them again.
        if let Some(index) = self.index(upstream) {
            index.frames().forget();
            let kept = cachearr_gateway::data_files::file_path(
                &self.reads.config().data_dir,
                upstream,
                "frames.json",
            );
            if let Err(e) = std::fs::remove_file(&kept)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(
                    upstream,
                    path = %kept.display(),
                    error = %e,
                    "library copy: the frames proven on the earlier release could not be \
                     removed; a restart would load them again"
                );
            }
        }
        // Read again as after a scan: the new release may list and write items otherwise.
        self.note_change(upstream, &ChangeEvent::new(Change::ScanFinished));
    }

    fn vouches_empty_page(&self, upstream: &str, start: usize, page: &CachedValue) -> bool {
        let Some(up) = self.upstream(upstream) else {
            return false;
        };
        (self.index(upstream)).is_some_and(|index| {
            upstream_index::answer::none_of::vouches(index, up.profile, start, page)
        })
    }
}

impl LibraryCopy for Library {
    fn answer_search<'a>(
        &'a self,
        reads: &'a ReadThrough,
        up: &'a Arc<Upstream>,
        req: &'a Request<ClientBody>,
        search: IndexSearch,
        user: Option<Arc<UserRecord>>,
        started: Instant,
    ) -> BoxFuture<'a, Option<Response<ProxyBody>>> {
        let Some(handle) = self.index(&up.name) else {
            return futures_util::future::ready(None).boxed();
        };
        upstream_index::answer::try_answer(reads, handle, up, req, search, user, started)
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

    fn brief(&self, upstream: &str) -> Option<CopyBrief> {
        let status = self.index(upstream)?.status();
        Some(CopyBrief {
            enabled: status.enabled,
            state: serde_json::to_value(status.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            items: status.items,
            searches_to_server: status.searches_to_server,
        })
    }

    fn written_bytes(&self) -> u64 {
        (self.indexes.iter())
            .filter_map(|index| index.elements())
            .map(|store| store.written_bytes())
            .sum()
    }

    fn admin_routes(self: Arc<Self>) -> axum::Router {
        upstream_index::index_api::router(self.clone())
            .merge(upstream_index::matching::router(self.clone()))
            .merge(upstream_index::lookup::router(self))
    }

    fn spawn(
        &self,
        background: &Background,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = upstream_index::keeper::spawn_all(self, background, stop);
        tasks.extend(play_watch::spawn_play_watch(self, background, stop));
        tasks
    }
}
