//! Single-flight for fills the engine does not make itself: concurrent misses of one key
//! send one request upstream, and the others wait for it to land and read what it stored
//! (the standard-following profile, whose fills are not the engine's `get_or_load`).
//!
//! A waiter holds a `watch` receiver taken while the fill's sender lives; the sender is
//! never used to send, only dropped when the fill ends (however it ends: an answer, an
//! error, a panic or a cancelled client), which wakes every receiver. A receiver taken
//! before the drop cannot miss the wake-up, which a `Notify` taken then awaited could. The
//! sender's count of receivers is the count of waiters, which [`Flights::waiting`] reports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// The fills under way of one upstream, by key.
#[derive(Debug, Default)]
pub struct Flights {
    running: Arc<Mutex<HashMap<String, Arc<watch::Sender<()>>>>>,
}

/// What a caller of [`Flights::join`] does.
#[derive(Debug)]
pub enum Joined {
    /// Nobody fills this key: the caller does, and drops the guard when done.
    Lead(FlightGuard),
    /// Another request fills it: wait with [`wait`], then look again.
    Wait(watch::Receiver<()>),
}

/// Held by the request that fills a key; dropping it ends the flight.
#[derive(Debug)]
pub struct FlightGuard {
    key: String,
    running: Arc<Mutex<HashMap<String, Arc<watch::Sender<()>>>>>,
    /// The fill's sender; the map's copy goes first, so dropping this one ends the flight.
    _sender: Arc<watch::Sender<()>>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&self.key);
    }
}

impl Flights {
    /// Joins the flight of `key`: leads it if none is under way.
    pub fn join(&self, key: &str) -> Joined {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = running.get(key) {
            return Joined::Wait(tx.subscribe());
        }
        let tx = Arc::new(watch::Sender::new(()));
        running.insert(key.to_owned(), Arc::clone(&tx));
        Joined::Lead(FlightGuard {
            key: key.to_owned(),
            running: Arc::clone(&self.running),
            _sender: tx,
        })
    }

    /// Requests waiting for a fill under way, over every key: those that joined a flight and
    /// have not been woken by its end yet.
    pub fn waiting(&self) -> usize {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.values().map(|tx| tx.receiver_count()).sum()
    }

    /// Whether a fill of `key` is under way.
    pub fn is_running(&self, key: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.contains_key(key)
    }
}

/// Waits until the flight a receiver belongs to has ended.
pub async fn wait(mut rx: watch::Receiver<()>) {
    // Nothing is ever sent: `changed` returns when the sender is dropped.
    while rx.changed().await.is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_leads_the_others_wait_until_it_ends() {
        let flights = Flights::default();
        let Joined::Lead(guard) = flights.join("k") else {
            panic!("the first caller leads")
        };
        let Joined::Wait(rx) = flights.join("k") else {
            panic!("the second caller waits")
        };
        assert!(matches!(flights.join("other"), Joined::Lead(_)));
        assert!(flights.is_running("k"));
        assert_eq!(flights.waiting(), 1);
        let waiter = tokio::spawn(wait(rx));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(guard);
        waiter.await.expect("the waiter wakes");
        assert!(!flights.is_running("k"));
        assert_eq!(flights.waiting(), 0);
        assert!(matches!(flights.join("k"), Joined::Lead(_)));
    }

    #[tokio::test]
    async fn a_receiver_taken_before_the_end_is_woken_after_it() {
        let flights = Flights::default();
        let Joined::Lead(guard) = flights.join("k") else {
            panic!("leads")
        };
        let Joined::Wait(rx) = flights.join("k") else {
            panic!("waits")
        };
        drop(guard);
        // The flight ended before the wait began: it returns at once.
        wait(rx).await;
    }
}
