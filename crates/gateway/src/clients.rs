//! Who costs the server what: every proxied request attributed to the client that sent it.
//!
//! A client is named by what it says about itself — Plex's `X-Plex-Product` (with
//! `X-Plex-Device-Name` when a product runs on several devices), Jellyfin's `Client` in the
//! authorization header (or `X-Emby-Client`), else the first product of `User-Agent` — and
//! never by its token. Names are cleaned (printable ASCII, at most [`MAX_NAME`] characters) and
//! bounded: an upstream tracks at most [`MAX_CLIENTS`] names, later ones count as `other`, so
//! neither `/api/stats` nor a metric label can grow without bound.
//!
//! What happened to a request comes with its answer as a [`Served`] (a response extension):
//! the path that answered says it — a cached read from its engine outcome, an index answer, a
//! pass-through or write as the server's — and an answer that says nothing was the server's.
//! No header is read back, so an upstream cache's own `Cache-Status` member cannot mislead it.
//!
//! "Server time saved" is an estimate, and says so: answers from the cache or the index times
//! the average time the server took for this upstream's requests that did reach it.

use std::sync::Mutex;

use http::HeaderMap;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use cachearr_dialect::Profile;

/// Most distinct client names tracked per upstream; later names count as `other`.
pub const MAX_CLIENTS: usize = 48;

/// Longest client name kept (longer ones are cut).
pub const MAX_NAME: usize = 48;

/// The name under which clients beyond [`MAX_CLIENTS`] are counted.
pub const OTHER: &str = "other";

/// Where one request's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// From the cache: a fresh or stale entry.
    Cache,
    /// From the cache, by waiting for another request's load (of a client or of cachearr).
    Coalesced,
    /// Written by the library copy on a cache miss (a walk the server never saw).
    Copy,
    /// From the library index (a search the server never saw).
    Index,
    /// By the server, as a cached read's load: the answer was read through the cache.
    Loaded,
    /// By the server, passed through (or a write, or a load that failed).
    Server,
}

impl Served {
    /// Where a cached read's answer came from, by the engine's outcome: a fresh or stale
    /// entry is the cache's, another request's load waited for is coalesced; a load is the
    /// server's.
    pub fn of(outcome: cachearr_engine::Outcome) -> Served {
        use cachearr_engine::Outcome;
        match outcome {
            Outcome::Hit(_) | Outcome::Stale | Outcome::StaleOnError => Served::Cache,
            Outcome::Coalesced => Served::Coalesced,
            Outcome::Miss | Outcome::Passed => Served::Loaded,
        }
    }

    /// Whether the server answered (the client's request was sent on).
    pub fn by_server(self) -> bool {
        matches!(self, Served::Loaded | Served::Server)
    }

    /// Whether the answer was read through the cache: the engine counted a lookup for it
    /// (an index answer and a pass-through are not looked up).
    pub fn read_through_cache(self) -> bool {
        matches!(
            self,
            Served::Cache | Served::Coalesced | Served::Copy | Served::Loaded
        )
    }
}

/// The name a client goes by, from its request headers ([`cachearr_dialect::client_name`]),
/// cleaned.
pub fn client_name(profile: Profile, headers: &HeaderMap) -> String {
    clean(
        cachearr_dialect::client_name(profile, headers)
            .as_deref()
            .unwrap_or_default(),
    )
}

/// Printable ASCII, single spaces, at most [`MAX_NAME`] characters; `unknown` when empty.
pub(crate) fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_NAME));
    for c in raw.chars() {
        if out.len() >= MAX_NAME {
            break;
        }
        let c = if c.is_ascii_graphic() { c } else { ' ' };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    if out.is_empty() {
        "unknown".to_string()
    } else {
        out
    }
}

/// One client's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientReport {
    /// The upstream it talked to.
    pub upstream: String,
    /// Its name (see the module docs), or `other`.
    pub client: String,
    /// Requests it sent.
    pub requests: u64,
    /// Answered from the cache (fresh or stale entries, and waits on another's load).
    pub from_cache: u64,
    /// Of `from_cache`, waits on another request's load (coalesced).
    #[serde(default)]
    pub coalesced: u64,
    /// Answered from the library index or its copy (searches and walks).
    pub from_index: u64,
    /// Of `from_index`, walks the copy wrote on a cache miss.
    #[serde(default)]
    pub from_copy: u64,
    /// Sent on to the server.
    pub to_server: u64,
    /// Seconds the server spent on its requests that reached it (as this gateway timed them).
    pub server_secs: f64,
    /// Estimated server seconds spared: answers from the cache or index × the upstream's
    /// average time for requests that reached it.
    pub server_secs_saved_estimate: f64,
}

#[derive(Debug, Default, Clone)]
struct Counters {
    requests: u64,
    hits: u64,
    coalesced: u64,
    from_copy: u64,
    from_index: u64,
    to_server: u64,
    cached_reads: u64,
    server_secs: f64,
}

impl Counters {
    fn count(&mut self, served: Served, seconds: f64) {
        self.requests += 1;
        if served.read_through_cache() {
            self.cached_reads += 1;
        }
        match served {
            Served::Cache => self.hits += 1,
            Served::Coalesced => self.coalesced += 1,
            Served::Copy => self.from_copy += 1,
            Served::Index => self.from_index += 1,
            Served::Loaded | Served::Server => {
                self.to_server += 1;
                self.server_secs += seconds;
            }
        }
    }

    fn view(&self) -> ClientsView {
        let answered_without_server = self.hits + self.coalesced + self.from_copy + self.from_index;
        ClientsView {
            requests: self.requests,
            answered_without_server,
            hits: self.hits,
            coalesced: self.coalesced,
            from_copy: self.from_copy,
            from_index: self.from_index,
            to_server: self.to_server,
            rate: if self.requests == 0 {
                0.0
            } else {
                answered_without_server as f64 / self.requests as f64
            },
            cached_reads: self.cached_reads,
        }
    }
}

/// What the clients of an upstream (or of all of them) got, counted where their requests
/// enter and leave the proxy listener: nothing cachearr reads for itself (the copy's proofs,
/// a search's nested reads, batches, probes) is in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientsView {
    /// Requests the clients sent.
    pub requests: u64,
    /// Answered without a request to the server: `hits + coalesced + from_copy + from_index`.
    pub answered_without_server: u64,
    /// Answered from a fresh or stale cache entry.
    pub hits: u64,
    /// Answered by waiting for another request's load.
    pub coalesced: u64,
    /// Walks the library copy answered on a cache miss.
    pub from_copy: u64,
    /// Searches the library index answered.
    pub from_index: u64,
    /// Sent on to the server (loads of cached reads, pass-throughs, writes).
    pub to_server: u64,
    /// `answered_without_server / requests`, 0 with no requests.
    pub rate: f64,
    /// Requests read through the cache (the engine counted a lookup for each): what tells
    /// the engine's lookups for clients from cachearr's own.
    pub cached_reads: u64,
}

#[derive(Debug, Default)]
struct UpstreamClients {
    /// FxHash: at most [`MAX_CLIENTS`] names and `other`, so colliding names cost nothing.
    by_name: FxHashMap<String, Counters>,
    /// Every client together (not bounded by names, so `other` loses nothing here).
    all: Counters,
    server_requests: u64,
    server_secs: f64,
}

/// Per-upstream, per-client counters (bounded; see the module docs).
#[derive(Debug, Default)]
pub struct ClientTable {
    upstreams: Mutex<FxHashMap<String, UpstreamClients>>,
}

impl ClientTable {
    /// An empty table.
    pub fn new() -> ClientTable {
        ClientTable::default()
    }

    /// Counts one answered request.
    pub fn record(&self, upstream: &str, client: &str, served: Served, seconds: f64) {
        let mut upstreams = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
        // Every request passes here: known names are found without allocating.
        let table = match upstreams.get_mut(upstream) {
            Some(table) => table,
            None => upstreams.entry(upstream.to_string()).or_default(),
        };
        if served.by_server() {
            table.server_requests += 1;
            table.server_secs += seconds;
        }
        table.all.count(served, seconds);
        if let Some(counters) = table.by_name.get_mut(client) {
            counters.count(served, seconds);
            return;
        }
        let name = if table.by_name.len() < MAX_CLIENTS {
            client
        } else {
            OTHER
        };
        table
            .by_name
            .entry(name.to_string())
            .or_default()
            .count(served, seconds);
    }

    /// Every client, busiest first.
    pub fn report(&self) -> Vec<ClientReport> {
        let upstreams = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<ClientReport> = upstreams
            .iter()
            .flat_map(|(upstream, table)| {
                let mean = if table.server_requests > 0 {
                    table.server_secs / table.server_requests as f64
                } else {
                    0.0
                };
                table.by_name.iter().map(move |(client, c)| {
                    let view = c.view();
                    ClientReport {
                        upstream: upstream.clone(),
                        client: client.clone(),
                        requests: c.requests,
                        from_cache: c.hits + c.coalesced,
                        coalesced: c.coalesced,
                        from_index: c.from_index + c.from_copy,
                        from_copy: c.from_copy,
                        to_server: c.to_server,
                        server_secs: c.server_secs,
                        server_secs_saved_estimate: view.answered_without_server as f64 * mean,
                    }
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.upstream.cmp(&b.upstream))
                .then_with(|| a.client.cmp(&b.client))
        });
        out
    }
}

impl ClientTable {
    /// What the clients of `upstream` got (all zero before its first request).
    pub fn view(&self, upstream: &str) -> ClientsView {
        let upstreams = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
        upstreams
            .get(upstream)
            .map(|table| table.all.view())
            .unwrap_or_default()
    }
}

impl ClientsView {
    /// The sum of several upstreams' views.
    pub fn sum<'a>(views: impl IntoIterator<Item = &'a ClientsView>) -> ClientsView {
        let mut total = ClientsView::default();
        for v in views {
            total.requests += v.requests;
            total.answered_without_server += v.answered_without_server;
            total.hits += v.hits;
            total.coalesced += v.coalesced;
            total.from_copy += v.from_copy;
            total.from_index += v.from_index;
            total.to_server += v.to_server;
            total.cached_reads += v.cached_reads;
        }
        if total.requests > 0 {
            total.rate = total.answered_without_server as f64 / total.requests as f64;
        }
        total
    }
}

impl crate::metrics::StatsSource for ClientTable {
    fn samples(&self) -> Vec<crate::metrics::Sample> {
        use crate::metrics::{Sample, SampleKind};
        let mut out = Vec::new();
        {
            let upstreams = self.upstreams.lock().unwrap_or_else(|e| e.into_inner());
            for (upstream, table) in upstreams.iter() {
                let view = table.all.view();
                for (answer, value) in [
                    ("hit", view.hits),
                    ("coalesced", view.coalesced),
                    ("copy", view.from_copy),
                    ("index", view.from_index),
                    ("server", view.to_server),
                ] {
                    out.push(Sample {
                        name: "client_answers",
                        help: "Client requests counted at the proxy listener, by where their \
                               answer came from (cachearr's own reads are not in it)",
                        kind: SampleKind::Counter,
                        labels: vec![
                            ("upstream", upstream.clone()),
                            ("answer", answer.to_string()),
                        ],
                        value: value as f64,
                    });
                }
            }
        }
        for client in self.report() {
            for (served, value) in [
                ("cache", client.from_cache),
                ("index", client.from_index),
                ("server", client.to_server),
            ] {
                out.push(Sample {
                    name: "client_requests",
                    help: "Requests per client (at most 48 names per upstream, then `other`), by \
                           where the answer came from",
                    kind: SampleKind::Counter,
                    labels: vec![
                        ("upstream", client.upstream.clone()),
                        ("client", client.client.clone()),
                        ("served", served.to_string()),
                    ],
                    value: value as f64,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn clients_are_named_by_what_they_say_and_never_by_their_token() {
        let plex = headers(&[
            ("x-plex-product", "Tautulli"),
            ("x-plex-token", "SECRET-TOKEN"),
            ("user-agent", "python-requests/2.31.0"),
        ]);
        assert_eq!(client_name(Profile::Plex, &plex), "Tautulli");
        let device = headers(&[
            ("x-plex-product", "Plex for Kodi"),
            ("x-plex-device-name", "Living room"),
        ]);
        assert_eq!(
            client_name(Profile::Plex, &device),
            "Plex for Kodi (Living room)"
        );
        let jellyfin = headers(&[(
            "authorization",
            r#"MediaBrowser Client="Jellyfin for Kodi", Device="a,b", DeviceId="x", Version="1", Token="SECRET-TOKEN""#,
        )]);
        assert_eq!(
            client_name(Profile::Jellyfin, &jellyfin),
            "Jellyfin for Kodi"
        );
        let agent = headers(&[("user-agent", "Kometa/2.0 (python)")]);
        assert_eq!(client_name(Profile::Jellyfin, &agent), "Kometa");
        assert_eq!(client_name(Profile::Plex, &HeaderMap::new()), "unknown");
        let hostile = headers(&[("x-plex-product", &"x\t\t y   ".repeat(40))]);
        let name = client_name(Profile::Plex, &hostile);
        assert!(name.len() <= MAX_NAME && !name.contains("  "), "{name}");
        for h in [&plex, &jellyfin] {
            for profile in [Profile::Plex, Profile::Jellyfin] {
                assert!(!client_name(profile, h).contains("SECRET"));
            }
        }
    }

    #[test]
    fn an_engine_outcome_says_whether_the_cache_answered() {
        use cachearr_engine::{Outcome, TierKind};
        assert_eq!(Served::of(Outcome::Hit(TierKind::Memory)), Served::Cache);
        assert_eq!(Served::of(Outcome::Hit(TierKind::Disk)), Served::Cache);
        assert_eq!(Served::of(Outcome::Stale), Served::Cache);
        assert_eq!(Served::of(Outcome::StaleOnError), Served::Cache);
        assert_eq!(Served::of(Outcome::Coalesced), Served::Coalesced);
        assert_eq!(Served::of(Outcome::Miss), Served::Loaded);
        assert_eq!(Served::of(Outcome::Passed), Served::Loaded);
        assert!(Served::Loaded.by_server() && Served::Server.by_server());
        assert!(Served::Loaded.read_through_cache() && !Served::Server.read_through_cache());
        assert!(!Served::Index.read_through_cache() && Served::Copy.read_through_cache());
    }

    #[test]
    fn the_table_is_bounded_and_estimates_time_saved_from_real_server_time() {
        let table = ClientTable::new();
        table.record("plex", "Tautulli", Served::Server, 0.2);
        table.record("plex", "Tautulli", Served::Cache, 0.0001);
        table.record("plex", "Tautulli", Served::Cache, 0.0001);
        table.record("plex", "sync", Served::Index, 0.0002);
        table.record("plex", "sync", Served::Server, 0.4);
        for n in 0..MAX_CLIENTS + 10 {
            table.record("plex", &format!("tool {n}"), Served::Cache, 0.0);
        }
        let report = table.report();
        let plex: Vec<&ClientReport> = report.iter().filter(|r| r.upstream == "plex").collect();
        assert_eq!(plex.len(), MAX_CLIENTS + 1, "bounded, plus `other`");
        let other = plex.iter().find(|r| r.client == OTHER).unwrap();
        assert_eq!(other.requests, 12);
        let tautulli = plex.iter().find(|r| r.client == "Tautulli").unwrap();
        assert_eq!(
            (tautulli.requests, tautulli.from_cache, tautulli.to_server),
            (3, 2, 1)
        );
        // Mean server time of this upstream: (0.2 + 0.4) / 2 = 0.3 s per request.
        assert!((tautulli.server_secs_saved_estimate - 0.6).abs() < 1e-9);
        let sync = plex.iter().find(|r| r.client == "sync").unwrap();
        assert_eq!(sync.from_index, 1);
        assert!((sync.server_secs_saved_estimate - 0.3).abs() < 1e-9);
        // The upstream's view counts every client, `other` and named alike.
        let view = table.view("plex");
        assert_eq!(view.requests, 5 + MAX_CLIENTS as u64 + 10);
        assert_eq!(view.to_server, 2);
        assert_eq!(view.answered_without_server, view.requests - 2);
    }

    /// Six requests of a client after a start are six requests in its view, whatever the
    /// cache did for cachearr itself meanwhile: what it got, split by where it came from.
    #[test]
    fn the_clients_view_counts_what_they_sent_and_where_each_answer_came_from() {
        let table = ClientTable::new();
        for served in [
            Served::Loaded,
            Served::Cache,
            Served::Coalesced,
            Served::Copy,
            Served::Index,
            Served::Server,
        ] {
            table.record("plex", "Tautulli", served, 0.1);
        }
        table.record("jellyfin", "Kodi", Served::Cache, 0.0);
        let plex = table.view("plex");
        assert_eq!(
            (plex.requests, plex.answered_without_server, plex.to_server),
            (6, 4, 2)
        );
        assert_eq!(
            (plex.hits, plex.coalesced, plex.from_copy, plex.from_index),
            (1, 1, 1, 1)
        );
        assert_eq!(plex.cached_reads, 4, "hit, coalesced, copy and load");
        assert!((plex.rate - 4.0 / 6.0).abs() < 1e-9);
        assert_eq!(table.view("nowhere"), ClientsView::default());
        let total = ClientsView::sum([&plex, &table.view("jellyfin")]);
        assert_eq!((total.requests, total.answered_without_server), (7, 5));
        assert!((total.rate - 5.0 / 7.0).abs() < 1e-9);
        let reports = table.report();
        let tautulli = reports.iter().find(|r| r.client == "Tautulli").unwrap();
        assert_eq!(
            (
                tautulli.from_cache,
                tautulli.coalesced,
                tautulli.from_index,
                tautulli.from_copy
            ),
            (2, 1, 2, 1)
        );
    }
}
