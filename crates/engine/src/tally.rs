//! [`Tally`]: a warning about something that can happen many times a second (records in Redis
//! failing authentication, writes dropped by a full write-behind queue) is written at most once
//! per period, saying how many happened since the last line. The first occurrence is written at
//! once, so an operator sees the problem start.

use std::sync::atomic::{AtomicU64, Ordering};

/// How often a tallied warning may be written.
pub(crate) const WARN_EVERY_MS: u64 = 10_000;

/// Counts occurrences and says when a line is due. Times are the engine's clock's.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// When the next line may be written (0: at the first occurrence).
    next_ms: AtomicU64,
    /// Occurrences not written yet.
    pending: AtomicU64,
}

impl Tally {
    /// Counts `n` occurrences at `now_ms`. Returns how many happened since the last line when
    /// a line is due (the first call, then at most once per `every_ms`), else `None`.
    pub(crate) fn note(&self, now_ms: u64, n: u64, every_ms: u64) -> Option<u64> {
        self.pending.fetch_add(n, Ordering::AcqRel);
        let next = self.next_ms.load(Ordering::Acquire);
        if now_ms < next {
            return None;
        }
        // One caller wins the line; the others' counts go in it or in the next one.
        self.next_ms
            .compare_exchange(
                next,
                now_ms.saturating_add(every_ms),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .ok()?;
        Some(self.pending.swap(0, Ordering::AcqRel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_at_once_then_one_line_per_period_with_the_count_between() {
        let t = Tally::default();
        assert_eq!(t.note(1_000, 1, 10_000), Some(1));
        assert_eq!(t.note(1_001, 5, 10_000), None);
        assert_eq!(t.note(10_999, 2, 10_000), None);
        assert_eq!(t.note(11_000, 1, 10_000), Some(8));
        assert_eq!(t.note(11_001, 1, 10_000), None);
        // A quiet stretch: the next occurrence is written at once.
        assert_eq!(t.note(60_000, 3, 10_000), Some(4));
    }
}
