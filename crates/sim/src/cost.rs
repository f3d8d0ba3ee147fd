//! The cost model: how long the simulated server takes to answer.
//!
//! A request costs `base + scanned × per_item_scanned + returned × per_item_returned`. Front
//! ends report the work of each request with [`crate::Sim::charge`]; the sim sleeps that long
//! and adds it to the accounting of `/_sim/stats` (so tests check the model through the
//! accounting, never the wall clock).
//!
//! Defaults follow the figures published for real servers:
//! - a full Plex track dump takes ~30 s for 5k tracks, ~2 min for 18k, 3–5 min for 50k+, i.e.
//!   about **5 ms per item returned** (`per_item_returned`);
//! - a `Size=1` count timed out at 15 s on 1.8M tracks, i.e. about **10 µs per item scanned**
//!   (`per_item_scanned`);
//! - small paged reads are fast: the base latency (`--latency-ms`, default 10 ms) dominates.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Latency parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostModel {
    /// Fixed cost of every request (microseconds on the wire).
    #[serde(with = "micros")]
    pub base: Duration,
    /// Cost of every item the server has to look at (filters, counts, searches, sorts).
    #[serde(with = "micros")]
    pub per_item_scanned: Duration,
    /// Cost of every item serialised into the response.
    #[serde(with = "micros")]
    pub per_item_returned: Duration,
}

mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros() as u64)
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_micros(u64::deserialize(d)?))
    }
}

impl CostModel {
    /// No cost at all: for tests.
    pub fn zero() -> Self {
        Self {
            base: Duration::ZERO,
            per_item_scanned: Duration::ZERO,
            per_item_returned: Duration::ZERO,
        }
    }

    /// The research-derived defaults with the given base latency.
    pub fn realistic(base: Duration) -> Self {
        Self {
            base,
            per_item_scanned: Duration::from_micros(10),
            per_item_returned: Duration::from_millis(5),
        }
    }

    /// The time one request costs.
    pub fn cost(&self, scanned: u64, returned: u64) -> Duration {
        let scanned = self
            .per_item_scanned
            .saturating_mul(scanned.min(u64::from(u32::MAX)) as u32);
        let returned = self
            .per_item_returned
            .saturating_mul(returned.min(u64::from(u32::MAX)) as u32);
        self.base.saturating_add(scanned).saturating_add(returned)
    }
}

impl Default for CostModel {
    fn default() -> Self {
        Self::realistic(Duration::from_millis(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_grows_with_work() {
        let m = CostModel::realistic(Duration::from_millis(10));
        assert_eq!(m.cost(0, 0), Duration::from_millis(10));
        assert!(m.cost(5_000, 5_000) > Duration::from_secs(25));
        assert!(m.cost(100, 100) < Duration::from_secs(1));
        assert_eq!(CostModel::zero().cost(1_000_000, 1_000_000), Duration::ZERO);
    }
}
