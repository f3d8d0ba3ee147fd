//! Taking the engine's `std::sync` locks when an earlier holder panicked.
//!
//! A lock is poisoned when a thread panics while holding it. The engine does not propagate
//! that (a panic in one request's code must not turn every later request that touches the
//! same map into a panic too), and it can afford not to: every data structure behind these
//! locks is still consistent after a holder panicked. Each critical section is short and
//! changes its data with single `std` collection or plain-value operations (an insert, a
//! remove, a `retain`, a push then sort and trim, a field store), and those leave the data
//! valid at every step; the worst a panic in the middle can leave is one update not made — a
//! waiter not removed, a tag change not yet noted, a queued job not put back — which is the
//! same as if the panic had come just before the lock was taken. The disk tier's write lock
//! guards `()`: it only serialises writers, whose batches commit atomically or not at all.
//!
//! A structure that ever needed more than that (an invariant across several steps that a panic
//! could break) must handle poisoning itself instead of using these methods.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex::lock`] that takes the lock even if it is poisoned (see the module docs for why).
pub(crate) trait LockUnpoisoned<T: ?Sized> {
    /// The guard, whether or not an earlier holder panicked.
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockUnpoisoned<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T> {
        self.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`RwLock::read`] and [`RwLock::write`] that take the lock even if it is poisoned (see the
/// module docs for why).
pub(crate) trait RwLockUnpoisoned<T: ?Sized> {
    /// The read guard, whether or not an earlier writer panicked.
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T>;
    /// The write guard, whether or not an earlier writer panicked.
    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockUnpoisoned<T> for RwLock<T> {
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T> {
        self.read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T> {
        self.write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicked_holder_leaves_the_lock_usable() {
        let m = Mutex::new(vec![1]);
        let rw = RwLock::new(vec![1]);
        let _ = std::panic::catch_unwind(|| {
            let mut v = m.lock().unwrap();
            v.push(2);
            let mut w = rw.write().unwrap();
            w.push(2);
            panic!("holder panics");
        });
        assert!(m.is_poisoned() && rw.is_poisoned());
        assert_eq!(*m.lock_unpoisoned(), [1, 2]);
        rw.write_unpoisoned().push(3);
        assert_eq!(*rw.read_unpoisoned(), [1, 2, 3]);
    }
}
