//! [`MovableClock`]: the clock of the measurement mode (`cachearr serve --movable-clock`), which
//! the admin API moves on ([`crate::gateway::Gateway::movable_clock`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cachearr_engine::{Clock, SystemClock};

/// The system clock moved on by an offset that only grows: the measurement mode of
/// `cachearr serve --movable-clock` reads it, so that a benchmark sees what a pass costs a day
/// later (every TTL expired, every proof a day old) without waiting a day. Production runs on
/// [`SystemClock`]; this one never moves back, so no stored time is ever in the future.
#[derive(Debug, Default)]
pub struct MovableClock {
    offset_ms: AtomicU64,
}

impl MovableClock {
    /// The system clock, not moved yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock on by `by`; returns how far it now stands ahead of the system clock.
    pub fn advance(&self, by: Duration) -> Duration {
        let by = duration_ms(by);
        let before = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(by))
            })
            .unwrap_or_else(|o| o);
        Duration::from_millis(before.saturating_add(by))
    }

    /// How far the clock stands ahead of the system clock.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

impl Clock for MovableClock {
    fn now_ms(&self) -> u64 {
        SystemClock
            .now_ms()
            .saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movable_clock_runs_with_the_system_clock_and_moves_on_when_told() {
        let clock = MovableClock::new();
        let before = SystemClock.now_ms();
        let now = clock.now_ms();
        assert!(
            now >= before && now < before + 60_000,
            "not moved: the system's time"
        );
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(clock.advance(day), day);
        assert_eq!(
            clock.advance(Duration::from_secs(60)),
            day + Duration::from_secs(60)
        );
        let moved = clock.now_ms();
        assert!(moved >= before + 86_460_000, "a day and a minute on");
        assert!(moved < SystemClock.now_ms() + 86_460_000 + 60_000);
        assert_eq!(clock.offset(), day + Duration::from_secs(60));
    }
}
