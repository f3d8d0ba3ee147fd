//! [`AdminBackend`] for the real [`Gateway`]: engine statistics, guard counters, clearing,
//! warming, webhooks' change events. The owner-token websocket subscriptions
//! ([`EventSubscriptions`]) are the gateway's: its start-up starts and keeps them, and the
//! admin side reports on them and applies webhooks through their [`EventApplier`].
//!
//! `samples` reads the same numbers for `/metrics` at scrape time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cachearr_engine::{StatsSnapshot, TierKind};

use super::{
    AdminBackend, CacheCounters, ClearReport, ClearRequest, ClientsView, Headline, OwnReport,
    RedisReport, StatsReport, UpstreamReport, WarmReport,
};
use cachearr_dialect::Profile;
use cachearr_dialect::events::ChangeEvent;
use cachearr_gateway::Gateway;
use cachearr_gateway::change_events::{EventApplier, EventSubscriptions};
use cachearr_gateway::clients::ClientReport;
use cachearr_gateway::metrics::{Metrics, StatsSource};
use cachearr_upstream::client::BreakerState;
use cachearr_upstream::client::Upstream;
use cachearr_upstream::feed::FeedReport;
use cachearr_upstream::subscriber::SubscriberStatus;

mod rates;
mod samples;
use rates::{Reading, Readings};
use samples::GatewayStats;

/// Users seen within this window are "recent" for `POST /api/warm`.
const WARM_WITHIN: Duration = Duration::from_secs(24 * 3600);

/// The admin side of a running gateway.
pub struct GatewayAdmin {
    gateway: Gateway,
    started: Instant,
    applier: Arc<EventApplier>,
    subscribers: Vec<(String, Arc<SubscriberStatus>)>,
    /// Server requests so far at earlier times, for the rates a minute.
    readings: Arc<Readings>,
    /// Kept alive so the metrics registry keeps reading it.
    _stats_source: Arc<dyn StatsSource>,
}

/// What one upstream's server was asked, for whom, now: the clients' view, the guard's
/// counters and the reading the rates are taken from.
fn server_requests(gateway: &Gateway, up: &Upstream) -> (ClientsView, u64, Reading) {
    let clients = gateway.clients().view(&up.name);
    let guard = up.guard.snapshot();
    // Every request the guard let through is a client's sent on or cachearr's own; a
    // client's request answered by the server is one request (a retry counts as cachearr's).
    let own = guard.requests.saturating_sub(clients.to_server);
    let reading = Reading {
        at_ms: gateway.clock().now_ms(),
        clients: clients.to_server,
        own,
    };
    (clients, guard.background_requests, reading)
}

/// Takes a reading of every upstream every [`rates::TICK`] for as long as `readings` is
/// kept (the admin side holds it), so that the rates a minute need no one polling.
fn keep_reading(gateway: Gateway, readings: &Arc<Readings>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let readings = Arc::downgrade(readings);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(rates::TICK);
        loop {
            tick.tick().await;
            let Some(readings) = readings.upgrade() else {
                return;
            };
            for up in gateway.upstreams() {
                let (_, _, reading) = server_requests(&gateway, up);
                readings.note(&up.name, reading);
            }
        }
    });
}

impl GatewayAdmin {
    /// The admin side of `gateway`, reporting on `subscriptions` (which it does not start or
    /// stop) and applying webhook events through the same [`EventApplier`].
    #[allow(
        clippy::disallowed_methods,
        reason = "the uptime /api/stats reports is real time since the start"
    )]
    pub fn new(gateway: Gateway, subscriptions: &EventSubscriptions) -> Self {
        let subscribers = subscriptions.statuses();
        let stats_source: Arc<dyn StatsSource> = Arc::new(GatewayStats {
            gateway: gateway.clone(),
            subscribers: subscribers.clone(),
        });
        gateway.metrics().add_source(&stats_source);
        let readings = Arc::new(Readings::default());
        keep_reading(gateway.clone(), &readings);
        GatewayAdmin {
            gateway,
            started: Instant::now(),
            applier: Arc::clone(subscriptions.applier()),
            subscribers,
            readings,
            _stats_source: stats_source,
        }
    }

    fn subscriber(&self, upstream: &str) -> Option<&Arc<SubscriberStatus>> {
        self.subscribers
            .iter()
            .find(|(n, _)| n == upstream)
            .map(|(_, s)| s)
    }
    /// Each tier's counters; a warning for a tier that is off, a disk tier left out, and
    /// disk writes dropped.
    fn tier_counters(
        &self,
        snapshot: &StatsSnapshot,
        warnings: &mut Vec<String>,
    ) -> BTreeMap<String, CacheCounters> {
        let mut tiers = BTreeMap::new();
        // The engine says why a tier is off or was reset (a damaged disk cache moved aside
        // at start, a full or read-only disk); the generic line stands in when it has not.
        warnings.extend(snapshot.warnings.iter().cloned());
        for t in &snapshot.tiers {
            if !t.enabled && snapshot.warnings.is_empty() {
                warnings.push(format!(
                    "{} tier is off (it switched itself off after errors): entries live in memory only",
                    t.tier.as_str()
                ));
            }
            tiers.insert(
                t.tier.as_str().to_owned(),
                CacheCounters {
                    hits: t.hits,
                    misses: t.misses,
                    entries: t.entries,
                    bytes: t.bytes,
                    ..Default::default()
                },
            );
        }
        if !self.gateway.config().cache.disk.enabled {
            warnings.push(
                "disk tier disabled (--no-disk): the cache will not survive a restart".into(),
            );
        }
        warnings.extend(dropped_writes_warning(snapshot));
        tiers
    }

    /// Each upstream's library index; a warning for one that is disabled.
    fn index_summaries(&self, warnings: &mut Vec<String>) -> Vec<super::IndexSummary> {
        let mut index_summaries = Vec::new();
        let Some(copy) = self.gateway.copy() else {
            return index_summaries;
        };
        for up in self.gateway.upstreams() {
            let Some(status) = copy.brief(&up.name) else {
                continue;
            };
            index_summaries.push(super::IndexSummary {
                upstream: up.name.to_string(),
                enabled: status.enabled,
                state: status.state,
                items: status.items,
                searches_to_server: status.searches_to_server,
            });
            if !status.enabled {
                warnings.push(format!(
                    "upstream {}: the library index is disabled ([index] enabled = false): every \
                     search goes to the server ({} so far)",
                    up.name, status.searches_to_server
                ));
            }
        }
        index_summaries
    }

    /// One upstream: its guard, its notification socket, its clients; a warning for an open
    /// circuit or missing change events.
    fn upstream_report(
        &self,
        up: &Upstream,
        clients: &[ClientReport],
        warnings: &mut Vec<String>,
    ) -> UpstreamReport {
        let guard = up.guard.snapshot();
        let circuit = match guard.breaker {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
        .to_owned();
        if circuit != "closed" {
            warnings.push(format!("upstream {}: circuit breaker {circuit}", up.name));
        }
        let status = self.subscriber(&up.name);
        let connected = status.is_some_and(|s| s.connected.load(Ordering::Relaxed));
        match status {
            None => warnings.push(format!(
                "upstream {}: no owner token configured, so change events arrive only by \
                 webhook; without them entries live out their TTL",
                up.name
            )),
            Some(_) if !connected => warnings.push(format!(
                "upstream {}: notification socket is down (reconnecting)",
                up.name
            )),
            Some(_) => {}
        }
        let events = self.applier.applied(&up.name);
        let (view, background_requests, reading) = server_requests(&self.gateway, up);
        let (client_per_minute, own_per_minute) = self.readings.note(&up.name, reading);
        let own = OwnReport {
            reads: None,
            server_requests: reading.own,
            background_requests,
            server_requests_per_minute: own_per_minute,
            client_server_requests_per_minute: client_per_minute,
        };
        UpstreamReport {
            name: up.name.to_string(),
            profile: up.profile.as_str().to_owned(),
            requests_made: guard.requests,
            requests_saved: guard.saved,
            in_flight: guard.in_flight,
            queued_ms_per_request: if guard.client_waits == 0 {
                0.0
            } else {
                guard.client_queued_us as f64 / guard.client_waits as f64 / 1000.0
            },
            background_floor: guard.background_floor,
            circuit,
            events_subscribed: status.is_some(),
            events_connected: connected,
            events_socket_silent: status.map_or(0, |s| s.silent.load(Ordering::Relaxed)),
            events,
            ambiguous_identity: guard.ambiguous_identity,
            refused_token: guard.refused_token,
            repeated_reads: guard.repeated_reads,
            client_requests: clients
                .iter()
                .filter(|c| *c.upstream == *up.name)
                .map(|c| c.requests)
                .sum(),
            client_requests_to_server: clients
                .iter()
                .filter(|c| *c.upstream == *up.name)
                .map(|c| c.to_server)
                .sum(),
            requests_avoided: clients
                .iter()
                .filter(|c| *c.upstream == *up.name)
                .map(|c| c.from_cache + c.from_index)
                .sum(),
            background_requests: guard.background_requests,
            clients: view,
            own,
        }
    }

    /// The Redis tier's health, when there is one; a warning for each way it is failing.
    fn redis_report(&self, warnings: &mut Vec<String>) -> Option<RedisReport> {
        self.gateway.cache().redis().map(|r| {
            let h = r.health();
            if h.degraded {
                warnings.push(format!(
                    "redis tier {} ({}); serving from memory and disk, reconnecting",
                    h.state,
                    h.last_error.as_deref().unwrap_or("no answer")
                ));
            }
            if h.oom_errors > 0 {
                warnings.push(format!(
                    "redis refused {} writes for lack of memory (maxmemory): records not shared",
                    h.oom_errors
                ));
            }
            if h.rejected_records > 0 {
                warnings.push(format!(
                    "redis held {} records that failed authentication (copied under another key, \
                     written by a gateway with another secret, or altered): read as misses; \
                     restrict who may write to redis",
                    h.rejected_records
                ));
            }
            RedisReport {
                state: h.state.to_owned(),
                breaker_open: h.breaker_open,
                subscribed: h.subscribed,
                cluster: h.cluster,
                errors: h.errors,
                oom_errors: h.oom_errors,
                last_error: h.last_error,
                breaker_trips: h.breaker_trips,
                hits: h.hits,
                misses: h.misses,
                rejected_records: h.rejected_records,
                writes: h.writes,
                locks_taken: h.locks_taken,
                waits_filled: h.waits_filled,
                waits_gave_up: h.waits_gave_up,
                events_received: h.events_received,
                resyncs: h.resyncs,
            }
        })
    }

    /// Each upstream's change feed; a warning for a feed that cannot prove freshness.
    fn feed_reports(&self, warnings: &mut Vec<String>) -> Vec<FeedReport> {
        let now = self.gateway.clock().now_ms();
        let mut feed = Vec::new();
        for up in self.gateway.upstreams() {
            let Some(f) = self.gateway.feed(&up.name) else {
                continue;
            };
            let report = f.report(now, |class| up.routes.class_policy(class).engine.fresh);
            if report.enabled {
                // Missing events have their own warnings above (no owner token, socket down);
                // an overdue incremental pass once the index has made one is this one's.
                if let Some(reason) = &report.reason
                    && report.last_pass_secs_ago.is_some()
                    && f.unhealthy(now) == Some(cachearr_upstream::feed::Unhealthy::PassOverdue)
                {
                    warnings.push(format!(
                        "upstream {}: the change feed cannot prove freshness ({reason}): library \
                         answers follow their class TTLs",
                        up.name
                    ));
                }
                for c in report
                    .classes
                    .iter()
                    .filter(|c| c.mismatches > 0 && !c.trusted)
                {
                    if report.healthy {
                        warnings.push(format!(
                            "upstream {}: sampled revalidation found {} stale {} answers the feed \
                             did not announce; the class follows its TTL until proven again",
                            up.name, c.mismatches, c.class
                        ));
                    }
                }
            }
            feed.push(report);
        }
        feed
    }

    /// What each memory budget allows and what is used of it.
    fn memory_report(&self, snapshot: &StatsSnapshot) -> super::MemoryReport {
        let plan = self.gateway.cache().memory_plan();
        let memory_max = self.gateway.config().cache.memory_max_bytes;
        let copies = self.gateway.prepared_budgets();
        super::MemoryReport {
            memory_max,
            memory_tier: plan.memory_tier,
            disk_block_cache: plan.disk_block_cache,
            disk_memtables: plan.disk_memtables,
            write_queue: plan.write_queue,
            write_queue_used: snapshot.write_behind.queued_bytes,
            gzip_copies: copies.gzip,
            gzip_copies_used: cachearr_gateway::gzip_budget_used().1,
            body_files: copies.files,
            body_files_used: cachearr_wire::sendfile::live_bytes(),
            index_elements: copies.elements,
            index_written: copies.written,
            index_written_used: (self.gateway.copy()).map_or(0, |copy| copy.written_bytes()),
            tags_interned: snapshot.tags_interned,
            allocator: cachearr_gateway::allocator::figures(),
        }
    }
}

impl AdminBackend for GatewayAdmin {
    fn admin_token(&self) -> Option<&str> {
        self.gateway.config().admin_token.as_deref()
    }

    fn webhook_secret(&self) -> Option<&str> {
        Some(self.gateway.webhook_secret())
    }

    fn metrics(&self) -> &Metrics {
        self.gateway.metrics()
    }

    fn upstreams(&self) -> Vec<(String, Profile)> {
        self.gateway
            .upstreams()
            .iter()
            .map(|u| (u.name.to_string(), u.profile))
            .collect()
    }

    async fn stats(&self) -> StatsReport {
        let clients = self.gateway.clients().report();
        let snapshot = self.gateway.cache().stats();
        let (total, classes) = class_counters(&snapshot);
        let mut warnings = Vec::new();
        let tiers = self.tier_counters(&snapshot, &mut warnings);
        let index = self.index_summaries(&mut warnings);
        let upstreams: Vec<UpstreamReport> = (self.gateway.upstreams().iter())
            .map(|up| self.upstream_report(up, &clients, &mut warnings))
            .collect();
        let headline = headline(&upstreams, &total);
        let redis = self.redis_report(&mut warnings);
        let feed = self.feed_reports(&mut warnings);
        StatsReport {
            descriptors: descriptor_report(&snapshot),
            memory: self.memory_report(&snapshot),
            batches: self.gateway.batcher().report(),
            uptime_secs: self.started.elapsed().as_secs(),
            headline,
            total,
            classes,
            tiers,
            upstreams,
            warnings,
            index,
            redis,
            clients,
            feed,
            background: self.gateway.background().reports(
                self.gateway.cache().redis().map(|r| r.instance_id()),
                self.gateway.clock().now_ms(),
            ),
        }
    }

    async fn clear(&self, what: ClearRequest) -> ClearReport {
        let cache = self.gateway.cache();
        let report = match what {
            ClearRequest::All => {
                cache.clear_all();
                // Let the memory tier drop its entries now, then what was prepared for them
                // (header maps, gzip copies, body files), so the memory comes back at once.
                cache.run_pending_tasks().await;
                self.gateway.forget_dead_prepared();
                ClearReport {
                    scope: "all".into(),
                    value: None,
                    removed: None,
                }
            }
            ClearRequest::Tag(tag) => {
                cache.invalidate_tag(&tag);
                if let Some(upstream) = tag.split(':').next() {
                    self.gateway
                        .metrics()
                        .invalidated(&Arc::new(upstream.to_owned()), "admin", 1);
                }
                ClearReport {
                    scope: "tag".into(),
                    value: Some(tag),
                    removed: None,
                }
            }
            ClearRequest::Prefix(prefix) => {
                cache.clear_prefix(&prefix);
                ClearReport {
                    scope: "prefix".into(),
                    value: Some(prefix),
                    removed: None,
                }
            }
        };
        tracing::info!(scope = %report.scope, "cache cleared by the admin API");
        report
    }

    async fn warm(&self, upstream: Option<String>) -> WarmReport {
        let mut report = WarmReport::default();
        for up in self.gateway.upstreams() {
            if upstream.as_deref().is_some_and(|name| name != &*up.name) {
                continue;
            }
            if up.routes.standard().is_some() {
                let (requested, warmed, failed) = self.gateway.warm_shared(up).await;
                report.requested += requested;
                report.warmed += warmed;
                report.failed += failed;
                continue;
            }
            let users = self.gateway.recent_users(&up.name, WARM_WITHIN);
            report.users += users.len();
            for user in &users {
                for path in &up.config.warm {
                    report.requested += 1;
                    match self.gateway.fetch_as(&up.name, user, path).await {
                        Ok(_) => report.warmed += 1,
                        Err(err) => {
                            report.failed += 1;
                            tracing::debug!(upstream = %up.name, error = %cachearr_engine::Chain(&err), "warm request failed");
                        }
                    }
                }
            }
        }
        report
    }

    async fn apply_event(
        &self,
        upstream: &str,
        source: &'static str,
        event: &ChangeEvent,
    ) -> Vec<String> {
        self.applier.apply(upstream, source, event)
    }

    fn ready(&self) -> Result<(), Vec<String>> {
        let upstreams = self.gateway.upstreams();
        if upstreams.is_empty() {
            return Err(vec!["no upstream configured".into()]);
        }
        let open: Vec<String> = upstreams
            .iter()
            .filter(|u| format!("{:?}", u.guard.breaker_state()).eq_ignore_ascii_case("open"))
            .map(|u| format!("upstream {}: circuit open", u.name))
            .collect();
        if open.len() == upstreams.len() {
            Err(open)
        } else {
            Ok(())
        }
    }

    fn degraded(&self) -> Vec<String> {
        match self.gateway.cache().redis().map(|r| r.health()) {
            Some(h) if h.degraded => vec![format!(
                "redis is {} ({}): the shared tier is skipped, memory and disk carry on",
                h.state,
                h.last_error.as_deref().unwrap_or("no answer")
            )],
            _ => Vec::new(),
        }
    }
}

/// Every upstream's clients' view and cachearr's own figures together; cachearr's own reads
/// are the engine's lookups (`total`) less the clients' reads through the cache.
fn headline(upstreams: &[UpstreamReport], total: &CacheCounters) -> Headline {
    let clients = ClientsView::sum(upstreams.iter().map(|u| &u.clients));
    let lookups = total.hits + total.misses + total.stale + total.coalesced;
    let sum = |per: fn(&OwnReport) -> Option<f64>| {
        upstreams
            .iter()
            .map(|u| per(&u.own))
            .try_fold(0.0, |sum, v| v.map(|v| sum + v))
            .filter(|_| !upstreams.is_empty())
    };
    Headline {
        own: OwnReport {
            reads: Some(lookups.saturating_sub(clients.cached_reads)),
            server_requests: upstreams.iter().map(|u| u.own.server_requests).sum(),
            background_requests: upstreams.iter().map(|u| u.own.background_requests).sum(),
            server_requests_per_minute: sum(|o| o.server_requests_per_minute),
            client_server_requests_per_minute: sum(|o| o.client_server_requests_per_minute),
        },
        clients,
    }
}

/// The counters of each class of entries and their sum.
fn class_counters(snapshot: &StatsSnapshot) -> (CacheCounters, BTreeMap<String, CacheCounters>) {
    let mut total = CacheCounters::default();
    let mut classes = BTreeMap::new();
    for c in &snapshot.classes {
        let counters = CacheCounters {
            hits: c.hits,
            misses: c.misses,
            stale: c.stale_hits + c.stale_on_error,
            coalesced: c.coalesced,
            entries: c.entries,
            bytes: c.bytes,
            refreshing: c.refreshes_in_progress,
            revalidated_304: c.revalidated_304,
        };
        total.hits += counters.hits;
        total.misses += counters.misses;
        total.stale += counters.stale;
        total.coalesced += counters.coalesced;
        total.entries += counters.entries;
        total.bytes += counters.bytes;
        total.refreshing += counters.refreshing;
        total.revalidated_304 += counters.revalidated_304;
        classes.insert(c.class.clone(), counters);
    }
    (total, classes)
}

/// The process's open descriptors against its limit, and the disk tier's share.
fn descriptor_report(snapshot: &StatsSnapshot) -> super::DescriptorReport {
    let disk = snapshot.tier(cachearr_engine::TierKind::Disk);
    super::DescriptorReport {
        open: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|fds| fds.count() as u64),
        limit: cachearr_wire::connections::open_file_limit(),
        disk_tier: disk.and_then(|t| t.open_files),
        disk_tier_max: disk.and_then(|t| t.open_files_max),
    }
}

/// The warning for disk writes dropped, of both kinds the disk tier counts: those the full
/// write-behind queue dropped, and the records a batch left off because the directory was at
/// its limit.
fn dropped_writes_warning(snapshot: &StatsSnapshot) -> Option<String> {
    let queue_full = snapshot.write_behind.dropped;
    let dropped = snapshot
        .tier(TierKind::Disk)
        .map_or(queue_full, |t| t.dropped_writes.max(queue_full));
    (dropped > 0).then(|| {
        format!(
            "{dropped} disk writes dropped ({queue_full} because the write-behind queue was full, \
             {} because the disk directory was at its limit)",
            dropped - queue_full
        )
    })
}

#[cfg(test)]
mod tests {
    use cachearr_engine::{QueueStats, TierStats};

    use super::*;

    fn snapshot(queue_dropped: u64, disk_dropped: Option<u64>) -> StatsSnapshot {
        let disk = disk_dropped.map(|dropped_writes| TierStats {
            tier: TierKind::Disk,
            enabled: true,
            hits: 0,
            misses: 0,
            errors: 0,
            corrupt: 0,
            evictions: 0,
            expired_swept: 0,
            writes: 10,
            dropped_writes,
            entries: 0,
            bytes: 0,
            file_bytes: None,
            max_bytes: 1 << 20,
            memory_bytes: None,
            open_files: None,
            open_files_max: None,
        });
        StatsSnapshot {
            classes: Vec::new(),
            tiers: disk.into_iter().collect(),
            write_behind: QueueStats {
                dropped: queue_dropped,
                ..QueueStats::default()
            },
            refreshes_in_progress: 0,
            tags_interned: 0,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn records_the_directory_refused_are_dropped_writes_too() {
        assert_eq!(dropped_writes_warning(&snapshot(0, Some(0))), None);
        // The disk tier's count holds the queue's drops and the directory's refusals.
        assert_eq!(
            dropped_writes_warning(&snapshot(2, Some(7))).as_deref(),
            Some(
                "7 disk writes dropped (2 because the write-behind queue was full, 5 because \
                 the disk directory was at its limit)"
            )
        );
        // Without a disk tier (Redis only), the queue's drops alone.
        assert_eq!(
            dropped_writes_warning(&snapshot(3, None)).as_deref(),
            Some(
                "3 disk writes dropped (3 because the write-behind queue was full, 0 because \
                 the disk directory was at its limit)"
            )
        );
    }
}
