//! Errors: [`EngineError`] for callers, [`LoadError`] for loaders, [`TierError`] for tiers.

use std::sync::Arc;
use std::time::Duration;

/// Why a loader could not produce a value. Loaders build it; the engine never stores it, only
/// hands it to every caller that waited for the load.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    /// What kind of failure it was, so a caller can answer it without reading the message.
    pub kind: LoadErrorKind,
    /// What went wrong, for logs (must not contain secrets such as tokens).
    pub message: Arc<str>,
}

/// The kind of a [`LoadError`]: what a caller decides by (the status it answers, whether to
/// try again), kept apart from the message, which is for people. Loaders set it; the engine
/// only carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The source refuses work for a while (a circuit breaker is open): trying again before
    /// it reopens is pointless.
    Unavailable,
    /// The source's budget (concurrency, rate) stayed exhausted: it may have room soon.
    Saturated,
    /// The source did not answer in time.
    Timeout,
    /// The source answered, but with nothing that can be kept: an error status, a body cut
    /// short or not what it claims to be.
    BadAnswer,
    /// Anything else: the connection failed, the request could not be built.
    Other,
}

impl LoadErrorKind {
    /// Whether the same load could succeed if tried again soon (not while a breaker is open).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Saturated | Self::Timeout | Self::Other)
    }
}

impl LoadError {
    /// A load error of kind [`LoadErrorKind::Other`].
    pub fn new(message: impl Into<Arc<str>>) -> Self {
        Self::of_kind(LoadErrorKind::Other, message)
    }

    /// A load error of the given kind.
    pub fn of_kind(kind: LoadErrorKind, message: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Errors the engine returns. Cloneable, because one failed load is handed to every caller
/// that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The loader failed and no stale copy within the stale-if-error window was available.
    #[error("loader failed: {0}")]
    Load(LoadError),
    /// The loader did not finish within the configured load timeout.
    #[error("loader timed out after {0:?}")]
    LoadTimeout(Duration),
    /// The loader panicked; the waiters were released.
    #[error("loader panicked")]
    LoaderPanicked,
    /// The disk tier could not be opened at start.
    #[error("cannot open disk cache at {path}: {reason}")]
    DiskOpen {
        /// The directory given to the builder.
        path: String,
        /// What the store or the file system said.
        reason: String,
    },
    /// A builder setting is unusable.
    #[error("invalid cache configuration: {0}")]
    Config(String),
    /// The Redis tier could not connect or authenticate at start.
    #[error("cannot use redis at {url}: {reason}")]
    Redis {
        /// The URL with any password masked.
        url: String,
        /// What the client or the server said.
        reason: String,
    },
}

/// A storage tier failed. The engine degrades such failures to a miss and counts them.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TierError {
    /// The backing store reported an error.
    #[error("{tier} tier: {message}")]
    Store {
        /// Which tier.
        tier: &'static str,
        /// The store's message.
        message: String,
    },
    /// The tier has switched itself off (e.g. after the disk filled up).
    #[error("{0} tier is disabled")]
    Disabled(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_breaker_and_a_bad_answer_are_not_worth_retrying_at_once() {
        assert!(!LoadErrorKind::Unavailable.is_retryable());
        assert!(!LoadErrorKind::BadAnswer.is_retryable());
        assert!(LoadErrorKind::Timeout.is_retryable());
        assert!(LoadErrorKind::Saturated.is_retryable());
        let e = LoadError::new("boom");
        assert_eq!(e.kind, LoadErrorKind::Other);
        assert_eq!(e.to_string(), "boom");
    }
}
