//! The play-state watch's own budget for the users' probes (`[feed]
//! play_state_probes_per_minute`): a bucket refilled at that rate, holding at most half a
//! minute's worth. A user's probes are made while it holds anything and may take it below
//! zero (a user with many sections is never starved by a small bucket); the debt is repaid
//! before the next user's. Whatever the number of users or tokens the watch follows, its own
//! requests stay at the budget's rate in the long run — what grows instead is how long a full
//! turn over the active users takes, which the stated staleness says ([`ProbeBudget::turn_ms`]).

/// The bucket, and what the watch last measured of a user's probes.
#[derive(Debug, Default)]
pub(super) struct ProbeBudget {
    /// Requests the bucket holds (below zero: owed).
    level: f64,
    /// When it was last refilled (engine clock ms; 0: never, full at first use).
    refilled_ms: u64,
    /// Requests a user's turn took in the watch's last round that probed someone (a mean).
    pub(super) per_user: f64,
}

impl ProbeBudget {
    /// Refills the bucket at `per_minute` up to `now_ms`, and says whether it holds anything.
    pub(super) fn open(&mut self, per_minute: u32, now_ms: u64) -> bool {
        let cap = f64::from(per_minute.max(1)) / 2.0;
        if self.refilled_ms == 0 {
            self.level = cap;
        } else {
            let secs = now_ms.saturating_sub(self.refilled_ms) as f64 / 1000.0;
            self.level = (self.level + secs * f64::from(per_minute) / 60.0).min(cap);
        }
        self.refilled_ms = now_ms.max(1);
        self.level > 0.0
    }

    /// `n` requests made.
    pub(super) fn spend(&mut self, n: u64) {
        self.level -= n as f64;
    }

    /// How long one turn over `users` active users takes at `per_minute` (ms): each user's
    /// probes as last measured, at the budget's rate.
    pub(super) fn turn_ms(&self, users: u64, per_minute: u32) -> u64 {
        let requests = users as f64 * self.per_user;
        (requests * 60_000.0 / f64::from(per_minute.max(1))).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::ProbeBudget;

    #[test]
    fn the_bucket_lets_through_its_rate_and_a_debt_is_repaid_first() {
        let mut budget = ProbeBudget::default();
        // Half a minute's worth at first: 6 of 12 a minute.
        assert!(budget.open(12, 1_000));
        budget.spend(4);
        assert!(budget.open(12, 1_000));
        // A user needing more than is left still goes, and owes the rest.
        budget.spend(5);
        assert!(!budget.open(12, 1_000));
        // 12 a minute: the debt of 3 is repaid in 15 s, and nothing before.
        assert!(!budget.open(12, 15_000));
        assert!(budget.open(12, 17_000));
        // Never above half a minute's worth, however long idle.
        assert!(budget.open(12, 3_600_000));
        budget.spend(6);
        assert!(!budget.open(12, 3_600_000));
    }

    #[test]
    fn a_turn_over_the_users_takes_their_probes_at_the_budgets_rate() {
        let budget = ProbeBudget {
            per_user: 3.0,
            ..ProbeBudget::default()
        };
        // 1,000 users of three probes each at 120 a minute: 25 minutes.
        assert_eq!(budget.turn_ms(1_000, 120), 25 * 60_000);
        assert_eq!(budget.turn_ms(0, 120), 0);
    }
}
