//! Errors: [`EngineError`] for callers, [`LoadError`] for loaders, [`TierError`] for tiers.

use std::sync::Arc;
use std::time::Duration;

/// Why a loader could not produce a value. Loaders build it; the engine never stores it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    /// What went wrong, for logs (must not contain secrets such as tokens).
    pub message: Arc<str>,
}

impl LoadError {
    /// A load error with a message.
    pub fn new(message: impl Into<Arc<str>>) -> Self {
        Self {
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
