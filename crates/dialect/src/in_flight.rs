//! How many reads are in flight at once, for the tests of the listings a user's state is read
//! from: each read is counted while it yields once to the others.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;

/// Reads in flight now, and the most there were at once.
#[derive(Default)]
pub(crate) struct InFlight {
    reading: AtomicUsize,
    most: AtomicUsize,
}

impl InFlight {
    /// One read: in flight while it yields once, so reads joined together overlap.
    pub(crate) async fn read(&self) {
        let now = self.reading.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        tokio::task::yield_now().await;
        self.reading.fetch_sub(1, SeqCst);
    }

    /// The most reads that were in flight at once.
    pub(crate) fn most(&self) -> usize {
        self.most.load(SeqCst)
    }
}
