//! A user's listings as the tests of what a user's state is read from read them
//! ([`TestReads`]), and how many reads are in flight at once ([`InFlight`]).

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};

use crate::ReadAsUser;

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

/// Listings read as user `u1`: each answer's body is `body` of its path; every read is
/// counted in flight and its path kept, in the order the reads ended.
pub(crate) struct TestReads<F> {
    pub(crate) in_flight: InFlight,
    pub(crate) paths: Mutex<Vec<String>>,
    body: F,
    /// What [`ReadAsUser::items_read`] names.
    pub(crate) items_read: Option<String>,
}

impl<F: Fn(&str) -> String + Sync> TestReads<F> {
    pub(crate) fn new(body: F) -> Self {
        TestReads {
            in_flight: InFlight::default(),
            paths: Mutex::default(),
            body,
            items_read: None,
        }
    }
}

impl<F: Fn(&str) -> String + Sync> ReadAsUser for TestReads<F> {
    async fn read<T: std::any::Any + Send + Sync>(
        &self,
        path: String,
        parse: fn(&[u8]) -> Option<T>,
    ) -> Option<Arc<T>> {
        self.in_flight.read().await;
        let body = (self.body)(&path);
        self.paths.lock().unwrap().push(path);
        parse(body.as_bytes()).map(Arc::new)
    }

    async fn own_id(&self) -> Option<Arc<str>> {
        Some(Arc::from("u1"))
    }

    fn items_read(&self) -> Option<&str> {
        self.items_read.as_deref()
    }
}
