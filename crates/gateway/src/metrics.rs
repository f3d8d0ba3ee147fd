//! Prometheus metrics: what the gateway counts and how `/metrics` renders it.
//!
//! Built on `prometheus-client` rather than `metrics` + `metrics-exporter-prometheus`: it has no
//! global recorder and no upkeep task (the exporter's histograms grow without bound unless
//! someone scrapes or runs upkeep — a known trap of that exporter), histograms take their buckets at
//! construction so they can never silently become summaries, label sets are typed structs, and
//! its dependency tree is four small crates.
//!
//! [`Metrics`] owns the registry and the families the gateway updates on its paths; numbers that
//! live elsewhere (the engine's per-tier counters, upstream guard counters) are read at scrape
//! time from [`StatsSource`]s. Label values come from configuration (upstream names), fixed
//! vocabularies (class, cache outcome, event kind) and client names (cleaned to printable ASCII,
//! never a token). Every value is written through `LabelText`, the exposition format's
//! escaping, which `prometheus-client` leaves to its caller: a client that calls itself
//! `a"b` must not break the page for every scrape after it.

use std::sync::{Arc, OnceLock, RwLock, Weak};

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use cachearr_config::policy::Class;

/// Latency buckets in seconds, explicit so that the exported histogram stays a histogram: fine
/// steps below a millisecond (memory hits), then the ranges of upstream answers and time-outs.
pub const LATENCY_BUCKETS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// A label value written as the text exposition format requires: a backslash, `"` and a line
/// feed escaped (`\\`, `\"`, `\n`). `prometheus-client` 0.24 writes `&str` and `String` label values
/// as they are, so every value that is not a fixed word goes through this.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct LabelText<T>(T);

impl<T: AsRef<str>> EncodeLabelValue for LabelText<T> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        let text = self.0.as_ref();
        let mut rest = text;
        while let Some(at) = rest.find(['\\', '"', '\n']) {
            encoder.write_str(&rest[..at])?;
            encoder.write_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            })?;
            rest = &rest[at + 1..];
        }
        encoder.write_str(rest)
    }
}

/// An upstream's name as a label (from configuration, escaped all the same).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct UpstreamName(Arc<String>);

impl EncodeLabelValue for UpstreamName {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        LabelText(self.0.as_str()).encode(encoder)
    }
}

/// Labels of a proxied request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    upstream: UpstreamName,
    class: &'static str,
    cache: &'static str,
}

/// Labels of a latency observation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    upstream: UpstreamName,
    class: &'static str,
}

/// Labels of a change event.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    upstream: UpstreamName,
    source: &'static str,
    change: &'static str,
}

/// Labels of an outcome counter (prefetch, webhooks).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    upstream: UpstreamName,
    outcome: &'static str,
}

/// One value read at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name without the `cachearr_` prefix (the registry adds it), e.g. `cache_entries`.
    pub name: &'static str,
    /// One-line help text.
    pub help: &'static str,
    /// Counter (monotonic) or gauge.
    pub kind: SampleKind,
    /// Label pairs; values must come from configuration or a fixed vocabulary.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

/// Whether a [`Sample`] is a counter or a gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Only ever grows (hits, misses, upstream requests).
    Counter,
    /// Goes up and down (entries, bytes, in-flight).
    Gauge,
}

/// Something that knows numbers the registry does not hold (engine stats, guard counters).
pub trait StatsSource: Send + Sync + 'static {
    /// The current values.
    fn samples(&self) -> Vec<Sample>;
}

/// Reads every [`StatsSource`] at scrape time.
///
/// Sources are held weakly: a gateway that is dropped (tests start many in one process) takes
/// its numbers with it instead of leaving stale series behind.
#[derive(Clone, Default)]
struct SourcesCollector {
    sources: Arc<RwLock<Vec<Weak<dyn StatsSource>>>>,
}

impl std::fmt::Debug for SourcesCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourcesCollector")
    }
}

impl prometheus_client::collector::Collector for SourcesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sources = match self.sources.read() {
            Ok(sources) => sources.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let mut samples: Vec<Sample> = sources
            .iter()
            .filter_map(Weak::upgrade)
            .flat_map(|s| s.samples())
            .collect();
        // One descriptor per name, its label sets beneath it.
        samples.sort_by(|a, b| a.name.cmp(b.name));
        let mut index = 0;
        while index < samples.len() {
            let first = &samples[index];
            let end = samples[index..]
                .iter()
                .position(|s| s.name != first.name)
                .map_or(samples.len(), |offset| index + offset);
            let kind = match first.kind {
                SampleKind::Counter => MetricType::Counter,
                SampleKind::Gauge => MetricType::Gauge,
            };
            // The registry's prefix (`cachearr_`) applies to collectors too.
            let mut family = encoder.encode_descriptor(first.name, first.help, None, kind)?;
            let group = &samples[index..end];
            if let [single] = group
                && single.labels.is_empty()
            {
                encode_value(single, family)?;
            } else {
                for sample in group {
                    let labels: Vec<(&str, LabelText<&str>)> = sample
                        .labels
                        .iter()
                        .map(|(name, value)| (*name, LabelText(value.as_str())))
                        .collect();
                    encode_value(sample, family.encode_family(&labels)?)?;
                }
            }
            index = end;
        }
        Ok(())
    }
}

fn encode_value(
    sample: &Sample,
    encoder: prometheus_client::encoding::MetricEncoder<'_>,
) -> Result<(), std::fmt::Error> {
    match sample.kind {
        SampleKind::Counter => ConstCounter::new(sample.value).encode(encoder),
        SampleKind::Gauge => ConstGauge::new(sample.value).encode(encoder),
    }
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<ClassLabels, Histogram, fn() -> Histogram>,
    upstream_seconds: Family<ClassLabels, Histogram, fn() -> Histogram>,
    events: Family<EventLabels, Counter>,
    invalidated_tags: Family<OutcomeLabels, Counter>,
    prefetch: Family<OutcomeLabels, Counter>,
    webhooks: Family<OutcomeLabels, Counter>,
    broken_images: Family<OutcomeLabels, Counter>,
    sources: SourcesCollector,
}

/// The gateway's metrics. Cheap to clone; all clones share one registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every family registered under the `cachearr_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cachearr");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Proxied requests by upstream, route class and cache outcome",
            requests.clone(),
        );
        let request_seconds = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "request_duration_seconds",
            "Time to answer a proxied request, by upstream and route class",
            request_seconds.clone(),
        );
        let upstream_seconds = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "upstream_duration_seconds",
            "Time the upstream took to answer, by upstream and route class",
            upstream_seconds.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "change_events",
            "Change events received, by upstream, source and kind of change",
            events.clone(),
        );
        let invalidated_tags = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "invalidated_tags",
            "Tag invalidations, by upstream and cause (event, write, admin)",
            invalidated_tags.clone(),
        );
        let prefetch = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "prefetch",
            "Background prefetches, by upstream and outcome",
            prefetch.clone(),
        );
        let webhooks = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhooks received, by upstream and outcome (applied, ignored, rejected)",
            webhooks.clone(),
        );
        let broken_images = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "broken_images",
            "Images from the upstream that failed a check (passed on, not stored), by upstream \
             and failed check",
            broken_images.clone(),
        );
        let sources = SourcesCollector::default();
        registry.register_collector(Box::new(sources.clone()));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                upstream_seconds,
                events,
                invalidated_tags,
                prefetch,
                webhooks,
                broken_images,
                sources,
            }),
        }
    }

    /// Adds a source read at every scrape, for as long as the caller keeps `source` alive.
    pub fn add_source(&self, source: &Arc<dyn StatsSource>) {
        let mut sources = match self.inner.sources.sources.write() {
            Ok(sources) => sources,
            Err(poisoned) => poisoned.into_inner(),
        };
        sources.retain(|s| s.strong_count() > 0);
        sources.push(Arc::downgrade(source));
    }

    /// Counts one proxied request and its latency. `class` and `cache` are fixed vocabulary
    /// (`"metadata"`, `"hit"`…); `upstream` is the configured name.
    pub fn observe_request(
        &self,
        upstream: &Arc<String>,
        class: &'static str,
        cache: &'static str,
        seconds: f64,
    ) {
        let upstream = UpstreamName(Arc::clone(upstream));
        self.inner
            .request_seconds
            .get_or_create(&ClassLabels {
                upstream: upstream.clone(),
                class,
            })
            .observe(seconds);
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                upstream,
                class,
                cache,
            })
            .inc();
    }

    /// Records how long one upstream request took.
    pub fn observe_upstream(&self, upstream: &Arc<String>, class: &'static str, seconds: f64) {
        let labels = ClassLabels {
            upstream: UpstreamName(Arc::clone(upstream)),
            class,
        };
        self.inner
            .upstream_seconds
            .get_or_create(&labels)
            .observe(seconds);
    }

    /// Counts a change event and the tags it invalidated.
    pub fn change_event(
        &self,
        upstream: &Arc<String>,
        source: &'static str,
        change: &'static str,
        tags: usize,
    ) {
        let labels = EventLabels {
            upstream: UpstreamName(Arc::clone(upstream)),
            source,
            change,
        };
        self.inner.events.get_or_create(&labels).inc();
        self.invalidated(upstream, "event", tags);
    }

    /// Counts `tags` tag invalidations for `cause` (`event`, `write`, `admin`).
    pub fn invalidated(&self, upstream: &Arc<String>, cause: &'static str, tags: usize) {
        let labels = OutcomeLabels {
            upstream: UpstreamName(Arc::clone(upstream)),
            outcome: cause,
        };
        self.inner
            .invalidated_tags
            .get_or_create(&labels)
            .inc_by(tags as u64);
    }

    /// Counts a prefetch outcome (`queued`, `fetched`, `failed`, `dropped`; `unread`: a
    /// listing not followed, its client not reading what its listings named lately).
    pub fn prefetch(&self, upstream: &Arc<String>, outcome: &'static str) {
        let labels = OutcomeLabels {
            upstream: UpstreamName(Arc::clone(upstream)),
            outcome,
        };
        self.inner.prefetch.get_or_create(&labels).inc();
    }

    /// Counts a webhook outcome (`applied`, `ignored`, `rejected`).
    pub fn webhook(&self, upstream: &Arc<String>, outcome: &'static str) {
        let labels = OutcomeLabels {
            upstream: UpstreamName(Arc::clone(upstream)),
            outcome,
        };
        self.inner.webhooks.get_or_create(&labels).inc();
    }

    /// Counts an image that failed `check` (a fixed word such as `png-crc`) and was passed on
    /// without being stored.
    pub fn broken_image(&self, upstream: &Arc<String>, check: &'static str) {
        let labels = OutcomeLabels {
            upstream: UpstreamName(Arc::clone(upstream)),
            outcome: check,
        };
        self.inner.broken_images.get_or_create(&labels).inc();
    }

    /// The text exposition (OpenMetrics text, which Prometheus reads).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.inner.registry).is_err() {
            // Writing into a String cannot fail; keep whatever was produced.
            tracing::warn!("metrics encoding failed");
        }
        out
    }
}

/// The `cache` label of a cached read's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A fresh entry answered.
    Hit,
    /// The upstream answered (stored, or handed over without storing).
    Miss,
    /// The answer of another request's load, waited for.
    Coalesced,
    /// A stale entry answered (while revalidating, or because the upstream failed).
    Stale,
    /// Nothing to answer with: the load failed and no stale copy was there.
    Error,
}

impl ReadOutcome {
    const COUNT: usize = 5;

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadOutcome::Hit => "hit",
            ReadOutcome::Miss => "miss",
            ReadOutcome::Coalesced => "coalesced",
            ReadOutcome::Stale => "stale",
            ReadOutcome::Error => "error",
        }
    }
}

/// One upstream's series for cached reads, each taken from its family the first time it is
/// used and then kept: answering a hit counts and times it with no label hashing and no lock on
/// a family's map (those lookups were ~1,000 instructions of a hit, by callgrind). The series
/// are the families' own, so `/metrics` shows the same numbers either way.
pub struct ReadMetrics {
    metrics: Metrics,
    upstream: Arc<String>,
    classes: Box<[ClassSeries]>,
}

#[derive(Default)]
struct ClassSeries {
    seconds: OnceLock<Histogram>,
    upstream_seconds: OnceLock<Histogram>,
    requests: [OnceLock<Counter>; ReadOutcome::COUNT],
}

impl Metrics {
    /// The cached-read series of `upstream` (made once per listener).
    pub fn reads(&self, upstream: &Arc<String>) -> ReadMetrics {
        ReadMetrics {
            metrics: self.clone(),
            upstream: Arc::clone(upstream),
            classes: Class::ALL.iter().map(|_| ClassSeries::default()).collect(),
        }
    }
}

impl ReadMetrics {
    fn series(&self, class: Class) -> Option<&ClassSeries> {
        // `Class::ALL` lists the classes in declaration order, so a class's discriminant is its
        // place; should the list ever fall out of step, the families are asked directly.
        let place = class as usize;
        (Class::ALL.get(place) == Some(&class))
            .then(|| self.classes.get(place))
            .flatten()
    }

    fn labels(&self, class: Class) -> ClassLabels {
        ClassLabels {
            upstream: UpstreamName(Arc::clone(&self.upstream)),
            class: class.as_str(),
        }
    }

    /// Counts one cached read of `class` and the time it took to answer.
    pub fn observe(&self, class: Class, outcome: ReadOutcome, seconds: f64) {
        let Some(series) = self.series(class) else {
            let (class, cache) = (class.as_str(), outcome.as_str());
            return self
                .metrics
                .observe_request(&self.upstream, class, cache, seconds);
        };
        let inner = &self.metrics.inner;
        series
            .seconds
            .get_or_init(|| {
                inner
                    .request_seconds
                    .get_or_create(&self.labels(class))
                    .clone()
            })
            .observe(seconds);
        series.requests[outcome as usize]
            .get_or_init(|| {
                let labels = RequestLabels {
                    upstream: UpstreamName(Arc::clone(&self.upstream)),
                    class: class.as_str(),
                    cache: outcome.as_str(),
                };
                inner.requests.get_or_create(&labels).clone()
            })
            .inc();
    }

    /// Records how long the upstream took for a cached read of `class`.
    pub fn observe_upstream(&self, class: Class, seconds: f64) {
        let Some(series) = self.series(class) else {
            return self
                .metrics
                .observe_upstream(&self.upstream, class.as_str(), seconds);
        };
        let inner = &self.metrics.inner;
        series
            .upstream_seconds
            .get_or_init(|| {
                inner
                    .upstream_seconds
                    .get_or_create(&self.labels(class))
                    .clone()
            })
            .observe(seconds);
    }
}

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl StatsSource for Fixed {
        fn samples(&self) -> Vec<Sample> {
            let sample = |tier: &str, value| Sample {
                name: "cache_hits",
                help: "Hits by tier",
                kind: SampleKind::Counter,
                labels: vec![("tier", tier.to_owned())],
                value,
            };
            vec![
                sample("memory", 5.0),
                Sample {
                    name: "cache_entries",
                    help: "Entries",
                    kind: SampleKind::Gauge,
                    labels: vec![],
                    value: 3.0,
                },
                sample("disk", 2.0),
            ]
        }
    }

    #[test]
    fn kept_read_series_are_the_families_own() {
        let metrics = Metrics::new();
        let up = Arc::new("plex".to_owned());
        let reads = metrics.reads(&up);
        for class in Class::ALL {
            reads.observe(class, ReadOutcome::Hit, 0.0002);
        }
        reads.observe(Class::Metadata, ReadOutcome::Miss, 0.3);
        reads.observe_upstream(Class::Metadata, 0.25);
        // The same series through the families: the counts add up, no second series appears.
        metrics.observe_request(&up, "metadata", "hit", 0.0001);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"cachearr_requests_total{upstream="plex",class="metadata",cache="hit"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"cachearr_requests_total{upstream="plex",class="metadata",cache="miss"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"cachearr_requests_total{upstream="plex",class="search",cache="hit"} 1"#
            ),
            "{text}"
        );
        assert_eq!(
            text.matches(
                r#"cachearr_request_duration_seconds_count{upstream="plex",class="metadata"}"#
            )
            .count(),
            1,
            "{text}"
        );
        assert!(
            text.contains(
                r#"cachearr_request_duration_seconds_count{upstream="plex",class="metadata"} 3"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"cachearr_upstream_duration_seconds_count{upstream="plex",class="metadata"} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn renders_families_histogram_buckets_and_sources() {
        let metrics = Metrics::new();
        let up = Arc::new("plex".to_owned());
        metrics.observe_request(&up, "metadata", "hit", 0.0003);
        metrics.observe_request(&up, "metadata", "miss", 0.2);
        metrics.change_event(&up, "plex_webhook", "played", 4);
        let source: Arc<dyn StatsSource> = Arc::new(Fixed);
        metrics.add_source(&source);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"cachearr_requests_total{upstream="plex",class="metadata",cache="hit"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE cachearr_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.contains(r#"le="0.0005""#), "explicit buckets: {text}");
        assert!(
            text.contains(r#"cachearr_invalidated_tags_total{upstream="plex",outcome="event"} 4"#)
        );
        assert!(
            text.contains(r#"cachearr_cache_hits_total{tier="memory"} 5.0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cachearr_cache_hits_total{tier="disk"} 2.0"#),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE cachearr_cache_hits counter").count(),
            1,
            "{text}"
        );
        assert!(text.contains("cachearr_cache_entries 3.0"), "{text}");
        assert!(text.trim_end().ends_with("# EOF"));
        drop(source);
        assert!(
            !metrics.render().contains("cachearr_cache_entries"),
            "dropped sources vanish"
        );
    }
}
