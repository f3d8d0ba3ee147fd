//! What `/metrics` reads of a running gateway at scrape time ([`GatewayStats`]): the engine's
//! counters per class and tier, the guards', the Redis tier's, the change feed's, the
//! notification sockets' and the allocator's.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Gateway;
use crate::events::subscriber::SubscriberStatus;
use crate::metrics::{Sample, SampleKind, StatsSource};

/// Engine and guard numbers for `/metrics`, read at scrape time.
pub(super) struct GatewayStats {
    pub(super) gateway: Gateway,
    pub(super) subscribers: Vec<(String, Arc<SubscriberStatus>)>,
}

impl StatsSource for GatewayStats {
    fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::new();
        let mut push = |name, help, kind, labels: Vec<(&'static str, String)>, value: u64| {
            out.push(Sample {
                name,
                help,
                kind,
                labels,
                value: value as f64,
            });
        };
        use SampleKind::{Counter, Gauge};
        let stats = self.gateway.cache().stats();
        for c in &stats.classes {
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
                push(
                    "cache_hits",
                    "Fresh hits by class and tier",
                    Counter,
                    l(Some(("tier", tier))),
                    n,
                );
            }
            push(
                "cache_misses",
                "Lookups that went to the upstream",
                Counter,
                l(None),
                c.misses,
            );
            push(
                "cache_stale_hits",
                "Stale entries served while refreshing",
                Counter,
                l(None),
                c.stale_hits,
            );
            push(
                "cache_stale_on_error",
                "Stale entries served because the upstream failed",
                Counter,
                l(None),
                c.stale_on_error,
            );
            push(
                "cache_coalesced",
                "Requests that waited on another's upstream request",
                Counter,
                l(None),
                c.coalesced,
            );
            push(
                "cache_revalidated_304",
                "Refreshes the upstream answered 304 Not Modified (stored body kept)",
                Counter,
                l(None),
                c.revalidated_304,
            );
            push(
                "cache_refreshes_in_progress",
                "Background refreshes running",
                Gauge,
                l(None),
                c.refreshes_in_progress,
            );
            push(
                "cache_class_entries",
                "Memory entries by class",
                Gauge,
                l(None),
                c.entries,
            );
            push(
                "cache_class_bytes",
                "Memory bytes by class",
                Gauge,
                l(None),
                c.bytes,
            );
        }
        for t in &stats.tiers {
            let l = vec![("tier", t.tier.as_str().to_owned())];
            push(
                "tier_entries",
                "Entries held by tier",
                Gauge,
                l.clone(),
                t.entries,
            );
            push(
                "tier_bytes",
                "Bytes held by tier",
                Gauge,
                l.clone(),
                t.bytes,
            );
            push(
                "tier_errors",
                "Storage errors by tier",
                Counter,
                l.clone(),
                t.errors,
            );
            push(
                "tier_evictions",
                "Entries evicted for space by tier",
                Counter,
                l,
                t.evictions,
            );
        }
        push(
            "write_behind_dropped",
            "Disk writes dropped because the queue was full",
            Counter,
            vec![],
            stats.write_behind.dropped,
        );
        // Answers from prepared entries (docs/architecture.md "Compressed answers").
        let v = self.gateway.prepared().stats();
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        push(
            "answers_gzip",
            "Cached answers sent gzipped",
            Counter,
            vec![],
            n(&v.gzip_answers),
        );
        push(
            "answers_gzip_pending",
            "Cached answers to gzip clients sent identity: no gzip copy (being made, no budget, or not worth it)",
            Counter,
            vec![],
            n(&v.gzip_pending),
        );
        push(
            "answers_not_modified",
            "Cached answers sent as 304 Not Modified",
            Counter,
            vec![],
            n(&v.not_modified),
        );
        push(
            "gzip_compressions",
            "Gzip copies made (one per entry unless evicted or refused)",
            Counter,
            vec![],
            n(&v.compressions),
        );
        push(
            "gzip_compress_microseconds",
            "CPU time spent making gzip copies",
            Counter,
            vec![],
            n(&v.compress_us),
        );
        let (copies, bytes) = crate::prepared::gzip_budget_used();
        push(
            "gzip_copies",
            "Gzip copies held (whole process)",
            Gauge,
            vec![],
            copies as u64,
        );
        push(
            "gzip_copy_bytes",
            "Bytes of gzip copies held (whole process)",
            Gauge,
            vec![],
            bytes,
        );
        for up in self.gateway.upstreams() {
            let g = up.guard.snapshot();
            let l = vec![("upstream", up.name.to_string())];
            push(
                "upstream_requests",
                "Requests sent to the upstream (retries included)",
                Counter,
                l.clone(),
                g.requests,
            );
            push(
                "upstream_saved",
                "Client requests answered without an upstream request",
                Counter,
                l.clone(),
                g.saved,
            );
            push(
                "upstream_in_flight",
                "Upstream requests in flight",
                Gauge,
                l.clone(),
                g.in_flight,
            );
            push(
                "upstream_failures",
                "Failed upstream attempts",
                Counter,
                l.clone(),
                g.failures,
            );
            push(
                "upstream_retries",
                "Upstream retries",
                Counter,
                l.clone(),
                g.retries,
            );
            push(
                "upstream_rejected_open",
                "Requests refused while the circuit was open",
                Counter,
                l.clone(),
                g.rejected_open,
            );
            let open = u64::from(format!("{:?}", g.breaker).eq_ignore_ascii_case("open"));
            push(
                "upstream_circuit_open",
                "1 while the circuit breaker is open",
                Gauge,
                l,
                open,
            );
        }
        for (name, status) in &self.subscribers {
            let l = vec![("upstream", name.clone())];
            let connected = u64::from(status.connected.load(Ordering::Relaxed));
            push(
                "events_socket_connected",
                "1 while the notification socket is open",
                Gauge,
                l.clone(),
                connected,
            );
            push(
                "events_socket_connects",
                "Notification socket connections opened",
                Counter,
                l.clone(),
                status.connects.load(Ordering::Relaxed),
            );
            push(
                "events_socket_silent",
                "Notification socket connections closed as dead: nothing arrived although probed",
                Counter,
                l,
                status.silent.load(Ordering::Relaxed),
            );
        }
        if let Some(a) = crate::allocator::figures() {
            for (kind, bytes) in [
                ("allocated", a.allocated),
                ("active", a.active),
                ("resident", a.resident),
                ("metadata", a.metadata),
                ("retained", a.retained),
            ] {
                push(
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
        out
    }
}
