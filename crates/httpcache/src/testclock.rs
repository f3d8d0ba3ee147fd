//! A clock for tests that moves only when told to: freshness arithmetic is tested at chosen
//! instants, never by sleeping.

use std::cell::Cell;

/// Milliseconds since the Unix epoch, set and advanced by hand.
#[derive(Debug)]
pub(crate) struct ManualClock(Cell<u64>);

impl ManualClock {
    /// 2026-01-01T00:00:00Z, a whole second, so HTTP dates of the same instant compare equal.
    pub(crate) fn new() -> Self {
        Self(Cell::new(1_767_225_600_000))
    }

    /// The time now.
    pub(crate) fn now_ms(&self) -> u64 {
        self.0.get()
    }

    /// Moves the clock forward by whole seconds.
    pub(crate) fn advance_secs(&self, secs: u64) {
        self.0.set(self.0.get() + secs * 1000);
    }

    /// Moves the clock forward by milliseconds.
    pub(crate) fn advance_ms(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }

    /// An HTTP date `offset_secs` from now (negative: in the past).
    pub(crate) fn http_date(&self, offset_secs: i64) -> String {
        let ms = i128::from(self.now_ms()) + i128::from(offset_secs) * 1000;
        let t = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        httpdate::fmt_http_date(t)
    }
}
