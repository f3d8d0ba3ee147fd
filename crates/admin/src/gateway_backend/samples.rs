//! What `/metrics` reads of a running gateway at scrape time ([`GatewayStats`]): the engine's
//! counters per class and tier, the guards', the Redis tier's, the change feed's, the
//! notification sockets' and the allocator's.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use cachearr_engine::{ClassStats, TierStats};

use SampleKind::{Counter, Gauge};
use cachearr_gateway::Gateway;
use cachearr_gateway::VariantStats;
use cachearr_gateway::allocator::AllocatorFigures;
use cachearr_gateway::metrics::{Sample, SampleKind, StatsSource};
use cachearr_upstream::client::GuardSnapshot;
use cachearr_upstream::subscriber::SubscriberStatus;

/// Engine and guard numbers for `/metrics`, read at scrape time.
pub(super) struct GatewayStats {
    pub(super) gateway: Gateway,
    pub(super) subscribers: Vec<(String, Arc<SubscriberStatus>)>,
}

impl StatsSource for GatewayStats {
    fn samples(&self) -> Vec<Sample> {
        let mut out = Samples(Vec::new());
        let stats = self.gateway.cache().stats();
        for c in &stats.classes {
            out.class(c);
        }
        for t in &stats.tiers {
            out.tier(t);
        }
        out.push(
            "write_behind_dropped",
            "Disk writes dropped because the queue was full",
            Counter,
            vec![],
            stats.write_behind.dropped,
        );
        // Answers from prepared entries (docs/architecture.md "Compressed answers").
        out.answers(self.gateway.prepared_stats());
        for up in self.gateway.upstreams() {
            out.upstream(up.name.to_string(), &up.guard.snapshot());
            let (_, _, reading) = super::server_requests(&self.gateway, up);
            out.server_requests(up.name.to_string(), reading.clients, reading.own);
        }
        for (name, status) in &self.subscribers {
            out.subscriber(name.clone(), status);
        }
        if let Some(a) = cachearr_gateway::allocator::figures() {
            out.allocator(&a);
        }
        out.0
    }
}

/// The samples of one scrape in the order `/metrics` lists them; one method per source.
struct Samples(Vec<Sample>);

impl Samples {
    fn push(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: SampleKind,
        labels: Vec<(&'static str, String)>,
        value: u64,
    ) {
        self.0.push(Sample {
            name,
            help,
            kind,
            labels,
            value: value as f64,
        });
    }

    /// The engine's counters of one class of entries.
    fn class(&mut self, c: &ClassStats) {
        let l = |extra: Option<(&'static str, &str)>| {
            let mut labels = vec![("class", c.class.clone())];
            if let Some((k, v)) = extra {
                labels.push((k, v.to_owned()));
            }
            labels
        };
        for (tier, n) in [
            ("memory", c.hits_memory),
            ("disk", c.hits_disk),
            ("redis", c.hits_redis),
        ] {
            self.push(
                "cache_hits",
                "Fresh hits by class and tier",
                Counter,
                l(Some(("tier", tier))),
                n,
            );
        }
        self.push(
            "cache_misses",
            "Lookups that went to the upstream",
            Counter,
            l(None),
            c.misses,
        );
        self.push(
            "cache_stale_hits",
            "Stale entries served while refreshing",
            Counter,
            l(None),
            c.stale_hits,
        );
        self.push(
            "cache_stale_on_error",
            "Stale entries served because the upstream failed",
            Counter,
            l(None),
            c.stale_on_error,
        );
        self.push(
            "cache_coalesced",
            "Requests that waited on another's upstream request",
            Counter,
            l(None),
            c.coalesced,
        );
        self.push(
            "cache_revalidated_304",
            "Refreshes the upstream answered 304 Not Modified (stored body kept)",
            Counter,
            l(None),
            c.revalidated_304,
        );
        self.push(
            "cache_refreshes_in_progress",
            "Background refreshes running",
            Gauge,
            l(None),
            c.refreshes_in_progress,
        );
        self.push(
            "cache_class_entries",
            "Memory entries by class",
            Gauge,
            l(None),
            c.entries,
        );
        self.push(
            "cache_class_bytes",
            "Memory bytes by class",
            Gauge,
            l(None),
            c.bytes,
        );
    }

    /// What one storage tier holds and how it fared.
    fn tier(&mut self, t: &TierStats) {
        let l = vec![("tier", t.tier.as_str().to_owned())];
        self.push(
            "tier_entries",
            "Entries held by tier",
            Gauge,
            l.clone(),
            t.entries,
        );
        self.push(
            "tier_bytes",
            "Bytes held by tier",
            Gauge,
            l.clone(),
            t.bytes,
        );
        self.push(
            "tier_errors",
            "Storage errors by tier",
            Counter,
            l.clone(),
            t.errors,
        );
        self.push(
            "tier_evictions",
            "Entries evicted for space by tier",
            Counter,
            l,
            t.evictions,
        );
    }

    /// How cached answers went out: gzipped, 304, and what the gzip copies cost.
    fn answers(&mut self, v: &VariantStats) {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        self.push(
            "answers_gzip",
            "Cached answers sent gzipped",
            Counter,
            vec![],
            n(&v.gzip_answers),
        );
        self.push(
            "answers_gzip_pending",
            "Cached answers to gzip clients sent identity: no gzip copy (being made, no budget, or not worth it)",
            Counter,
            vec![],
            n(&v.gzip_pending),
        );
        self.push(
            "answers_not_modified",
            "Cached answers sent as 304 Not Modified",
            Counter,
            vec![],
            n(&v.not_modified),
        );
        self.push(
            "gzip_compressions",
            "Gzip copies made (one per entry unless evicted or refused)",
            Counter,
            vec![],
            n(&v.compressions),
        );
        self.push(
            "gzip_compress_microseconds",
            "CPU time spent making gzip copies",
            Counter,
            vec![],
            n(&v.compress_us),
        );
        let (copies, bytes) = cachearr_gateway::gzip_budget_used();
        self.push(
            "gzip_copies",
            "Gzip copies held (whole process)",
            Gauge,
            vec![],
            copies as u64,
        );
        self.push(
            "gzip_copy_bytes",
            "Bytes of gzip copies held (whole process)",
            Gauge,
            vec![],
            bytes,
        );
    }

    /// One upstream's guard: requests, retries, failures and its circuit breaker.
    fn upstream(&mut self, name: String, g: &GuardSnapshot) {
        let l = vec![("upstream", name)];
        self.push(
            "upstream_requests",
            "Requests sent to the upstream (retries included)",
            Counter,
            l.clone(),
            g.requests,
        );
        self.push(
            "upstream_saved",
            "Client requests answered without an upstream request",
            Counter,
            l.clone(),
            g.saved,
        );
        self.push(
            "upstream_in_flight",
            "Upstream requests in flight",
            Gauge,
            l.clone(),
            g.in_flight,
        );
        self.push(
            "upstream_failures",
            "Failed upstream attempts",
            Counter,
            l.clone(),
            g.failures,
        );
        self.push(
            "upstream_retries",
            "Upstream retries",
            Counter,
            l.clone(),
            g.retries,
        );
        self.push(
            "upstream_rejected_open",
            "Requests refused while the circuit was open",
            Counter,
            l.clone(),
            g.rejected_open,
        );
        let open = u64::from(format!("{:?}", g.breaker).eq_ignore_ascii_case("open"));
        self.push(
            "upstream_circuit_open",
            "1 while the circuit breaker is open",
            Gauge,
            l,
            open,
        );
    }

    /// One upstream's server requests, the clients' sent on and cachearr's own apart.
    fn server_requests(&mut self, name: String, clients: u64, own: u64) {
        for (by, value) in [("clients", clients), ("cachearr", own)] {
            self.push(
                "server_requests",
                "Requests sent to the upstream, by whom they were for: the clients' sent on \
                 (counted at the proxy listener) or cachearr's own (the rest, retries included)",
                Counter,
                vec![("upstream", name.clone()), ("for", by.to_owned())],
                value,
            );
        }
    }

    /// One upstream's notification socket.
    fn subscriber(&mut self, name: String, status: &SubscriberStatus) {
        let l = vec![("upstream", name)];
        let connected = u64::from(status.connected.load(Ordering::Relaxed));
        self.push(
            "events_socket_connected",
            "1 while the notification socket is open",
            Gauge,
            l.clone(),
            connected,
        );
        self.push(
            "events_socket_connects",
            "Notification socket connections opened",
            Counter,
            l.clone(),
            status.connects.load(Ordering::Relaxed),
        );
        self.push(
            "events_socket_silent",
            "Notification socket connections closed as dead: nothing arrived although probed",
            Counter,
            l,
            status.silent.load(Ordering::Relaxed),
        );
    }

    /// What the memory allocator holds, when the allocator can say.
    fn allocator(&mut self, a: &AllocatorFigures) {
        for (kind, bytes) in [
            ("allocated", a.allocated),
            ("active", a.active),
            ("resident", a.resident),
            ("metadata", a.metadata),
            ("retained", a.retained),
        ] {
            self.push(
                "allocator_bytes",
                "What the memory allocator holds: allocated (live heap), active (pages with \
                 live allocations), resident (what the heap adds to RSS), metadata, retained \
                 (mapped, not resident)",
                Gauge,
                vec![("kind", kind.to_owned())],
                bytes,
            );
        }
    }
}
