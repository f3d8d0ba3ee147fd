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

use crate::policy::Profile;

/// Most distinct client names tracked per upstream; later names count as `other`.
pub const MAX_CLIENTS: usize = 48;

/// Longest client name kept (longer ones are cut).
pub const MAX_NAME: usize = 48;

/// The name under which clients beyond [`MAX_CLIENTS`] are counted.
pub const OTHER: &str = "other";

/// Where one request's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// From the cache (fresh, stale or a collapsed wait on another request's load).
    Cache,
    /// From the library index or its copy (a search or a walk the server never saw).
    Index,
    /// By the server.
    Server,
}

impl Served {
    /// Where a cached read's answer came from, by the engine's outcome: a fresh or stale
    /// entry, or another request's load waited for, is the cache's; a load is the server's.
    pub fn of(outcome: cachearr_engine::Outcome) -> Served {
        use cachearr_engine::Outcome;
        match outcome {
            Outcome::Hit(_) | Outcome::Stale | Outcome::StaleOnError | Outcome::Coalesced => {
                Served::Cache
            }
            Outcome::Miss | Outcome::Passed => Served::Server,
        }
    }
}

/// The name a client goes by, from its request headers ([`crate::dialect::client_name`]),
/// cleaned.
pub fn client_name(profile: Profile, headers: &HeaderMap) -> String {
    clean(
        crate::dialect::client_name(profile, headers)
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
    /// Answered from the cache.
    pub from_cache: u64,
    /// Searches answered from the library index.
    pub from_index: u64,
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
    from_cache: u64,
    from_index: u64,
    to_server: u64,
    server_secs: f64,
}

impl Counters {
    fn count(&mut self, served: Served, seconds: f64) {
        self.requests += 1;
        match served {
            Served::Cache => self.from_cache += 1,
            Served::Index => self.from_index += 1,
            Served::Server => {
                self.to_server += 1;
                self.server_secs += seconds;
            }
        }
    }
}

#[derive(Debug, Default)]
struct UpstreamClients {
    /// FxHash: at most [`MAX_CLIENTS`] names and `other`, so colliding names cost nothing.
    by_name: FxHashMap<String, Counters>,
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
        if served == Served::Server {
            table.server_requests += 1;
            table.server_secs += seconds;
        }
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
                table.by_name.iter().map(move |(client, c)| ClientReport {
                    upstream: upstream.clone(),
                    client: client.clone(),
                    requests: c.requests,
                    from_cache: c.from_cache,
                    from_index: c.from_index,
                    to_server: c.to_server,
                    server_secs: c.server_secs,
                    server_secs_saved_estimate: (c.from_cache + c.from_index) as f64 * mean,
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

impl crate::metrics::StatsSource for ClientTable {
    fn samples(&self) -> Vec<crate::metrics::Sample> {
        use crate::metrics::{Sample, SampleKind};
        let mut out = Vec::new();
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
        assert_eq!(Served::of(Outcome::Coalesced), Served::Cache);
        assert_eq!(Served::of(Outcome::Miss), Served::Server);
        assert_eq!(Served::of(Outcome::Passed), Served::Server);
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
    }
}
