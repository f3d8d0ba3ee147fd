//! Server requests a minute, the clients' and cachearr's own apart: the counters are totals
//! since start, so a rate needs an earlier reading. Readings are taken at start, at every
//! `/api/stats` and every [`TICK`] by a task the admin side keeps, on the gateway's clock.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// How often a reading is taken while nobody asks: a `cachearr stats` run once a day still
/// finds a minute's readings behind it.
pub(super) const TICK: Duration = Duration::from_secs(5);

/// The window a rate is taken over.
const MINUTE_MS: u64 = 60_000;

/// Shortest time between two readings that makes a rate (shorter ones say more about when
/// the counters were read than about the server's load: a start's first requests would read
/// as hundreds a minute).
const SHORTEST_MS: u64 = 10_000;

/// One upstream's server requests so far, at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reading {
    /// The gateway's clock, milliseconds.
    pub(super) at_ms: u64,
    /// The clients' requests sent on to the server so far.
    pub(super) clients: u64,
    /// cachearr's own server requests so far.
    pub(super) own: u64,
}

/// Requests a minute, `(clients, own)`; `None` without two readings far enough apart.
pub(super) type PerMinute = (Option<f64>, Option<f64>);

/// Each upstream's readings over the last minute or so.
#[derive(Debug, Default)]
pub(super) struct Readings {
    by_upstream: Mutex<BTreeMap<String, VecDeque<Reading>>>,
}

impl Readings {
    /// Keeps `reading` of `upstream` and answers the rates from the newest reading at least a
    /// minute old (from the oldest kept until there is one).
    pub(super) fn note(&self, upstream: &str, reading: Reading) -> PerMinute {
        let mut all = self.by_upstream.lock().unwrap_or_else(|e| e.into_inner());
        let kept = match all.get_mut(upstream) {
            Some(kept) => kept,
            None => all.entry(upstream.to_owned()).or_default(),
        };
        // A clock that went back, or counters that did (a test's gateway made again): start over.
        if kept
            .back()
            .is_some_and(|last| last.at_ms > reading.at_ms || last.clients > reading.clients)
        {
            kept.clear();
        }
        kept.push_back(reading);
        // Only the newest reading a minute old is needed of those before the window.
        if let Some(window_start) = reading.at_ms.checked_sub(MINUTE_MS) {
            while kept.len() > 2 && kept.get(1).is_some_and(|r| r.at_ms <= window_start) {
                kept.pop_front();
            }
        }
        let Some(from) = kept.front() else {
            return (None, None);
        };
        let span_ms = reading.at_ms - from.at_ms;
        if span_ms < SHORTEST_MS {
            return (None, None);
        }
        let per_minute = |now: u64, then: u64| {
            Some(now.saturating_sub(then) as f64 * MINUTE_MS as f64 / span_ms as f64)
        };
        (
            per_minute(reading.clients, from.clients),
            per_minute(reading.own, from.own),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, clients: u64, own: u64) -> Reading {
        Reading {
            at_ms: secs * 1000,
            clients,
            own,
        }
    }

    #[test]
    fn a_rate_is_taken_over_the_last_minute_once_there_is_one() {
        let readings = Readings::default();
        assert_eq!(readings.note("plex", at(0, 0, 0)), (None, None));
        assert_eq!(
            readings.note("plex", at(0, 3, 1)),
            (None, None),
            "no time between"
        );
        // Thirty seconds in: since start, scaled to a minute.
        assert_eq!(
            readings.note("plex", at(30, 10, 20)),
            (Some(20.0), Some(40.0))
        );
        for secs in (35..=120).step_by(5) {
            readings.note("plex", at(secs, secs, 2 * secs));
        }
        // At 120 s the reading of 60 s is the start: 60 client and 120 own requests since.
        assert_eq!(
            readings.note("plex", at(120, 120, 240)),
            (Some(60.0), Some(120.0))
        );
        // A quiet minute after: nothing a minute.
        readings.note("plex", at(150, 120, 240));
        assert_eq!(
            readings.note("plex", at(180, 120, 240)),
            (Some(0.0), Some(0.0))
        );
        // Upstreams apart.
        assert_eq!(readings.note("jellyfin", at(180, 5, 5)), (None, None));
    }

    #[test]
    fn few_readings_are_kept_and_a_clock_that_went_back_starts_over() {
        let readings = Readings::default();
        for secs in 0..600 {
            readings.note("plex", at(secs, secs, 0));
        }
        let kept = readings.by_upstream.lock().unwrap()["plex"].len();
        assert!(kept <= 62, "{kept} readings kept");
        assert_eq!(readings.note("plex", at(10, 0, 0)), (None, None));
    }
}
