//! Errors: [`EngineError`] for callers, [`LoadError`] for loaders, [`TierError`] for tiers.
//!
//! Each keeps what a caller decides by (a kind: [`LoadErrorKind`], [`DiskOpenKind`],
//! [`RedisStartKind`]) apart from the message, which is for people, and keeps the error it
//! came from as its [`std::error::Error::source`], so a caller can look at the store's or the
//! file system's own error instead of parsing text. The sources sit behind an [`Arc`]: one
//! failed load or start is handed to every caller that waited for it, so the errors clone.
//!
//! A message says what failed at its own level and never repeats its source: whoever shows an
//! error to people prints the chain ([`Chain`], or the CLI's `caused by:` lines), so each
//! cause is printed once.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

/// The error a tier, a store or a client reported, shared by every clone of the error that
/// carries it. As a source it stands for the error itself (it derefs to it, and is not an error
/// of its own), so a chain of sources reaches that error and `downcast_ref` finds it.
#[derive(Debug, Clone)]
pub struct Cause(Arc<dyn StdError + Send + Sync>);

impl Cause {
    /// The cause `e` (an error, or a message for a cause that has no error type).
    pub fn new(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(Arc::from(e.into()))
    }
}

impl std::ops::Deref for Cause {
    type Target = dyn StdError + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

/// An error and its sources on one line, `"what failed: why: why that"`: how an error is
/// shown where there is one line for it (a log field, a problem document's detail), since no
/// message repeats its source.
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// Why a loader could not produce a value. Loaders build it; the engine never stores it, only
/// hands it to every caller that waited for the load.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    /// What kind of failure it was, so a caller can answer it without reading the message.
    pub kind: LoadErrorKind,
    /// What went wrong at the loader's level, for logs (must not contain secrets such as
    /// tokens); it does not repeat the source.
    pub message: Arc<str>,
    /// The error the load failed on (an upstream's, a store's), when there is one: what a
    /// caller downcasts to, and the rest of the chain.
    #[source]
    source: Option<Cause>,
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
            source: None,
        }
    }

    /// A load error of the given kind caused by `source`, `message` saying what the loader
    /// was doing (not what `source` says).
    pub fn caused_by(
        kind: LoadErrorKind,
        message: impl Into<Arc<str>>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Cause::new(source)),
        }
    }
}

/// Errors the engine returns. Cloneable, because one failed load is handed to every caller
/// that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The loader failed and no stale copy within the stale-if-error window was available.
    #[error("loader failed")]
    Load(#[source] LoadError),
    /// The loader did not finish within the configured load timeout.
    #[error("loader timed out after {0:?}")]
    LoadTimeout(Duration),
    /// The loader panicked; the waiters were released.
    #[error("loader panicked")]
    LoaderPanicked,
    /// The disk tier could not be opened at start.
    #[error("cannot open disk cache at {path}")]
    DiskOpen {
        /// The directory given to the builder.
        path: String,
        /// Whose fault it is and what the store or the file system said.
        #[source]
        source: DiskOpenError,
    },
    /// A builder setting is unusable.
    #[error("invalid cache configuration: {0}")]
    Config(String),
    /// The Redis tier could not connect or authenticate at start.
    #[error("cannot use redis at {url}")]
    Redis {
        /// The URL with any password masked.
        url: String,
        /// What kind of failure and what the client or the server said.
        #[source]
        source: RedisStartError,
    },
}

/// Whose fault a failed open of the disk store is, which decides what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiskOpenKind {
    /// The store's files cannot be read back (journal, table or version damaged): moving
    /// them aside and starting fresh helps.
    Damage,
    /// The disk cannot hold a store now (full, read-only, not a directory, no permission):
    /// nothing is gained by moving the files.
    Environment,
    /// Another process has the store open (its lock is held).
    InUse,
}

/// Why the disk store could not be opened: its [`DiskOpenKind`] and the file system's or the
/// store's own error (an [`std::io::Error`] or a `fjall::Error`, to downcast) as its source.
/// Its message is what was being done, or else what its kind means; never the source's text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.what())]
pub struct DiskOpenError {
    /// Whose fault it is.
    pub kind: DiskOpenKind,
    /// What was being done when it failed, with its separator (`"…: "`), or empty.
    context: &'static str,
    /// The error the store or the file system reported.
    #[source]
    source: Cause,
}

impl DiskOpenError {
    /// A failure of `kind` caused by `source`, while doing what `context` says (ending in
    /// `": "`, or empty).
    pub fn new(
        kind: DiskOpenKind,
        context: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            context,
            source: Cause::new(source),
        }
    }

    /// What failed, without the source's own words.
    fn what(&self) -> &'static str {
        match (self.context.trim_end_matches(": "), self.kind) {
            ("", DiskOpenKind::Damage) => "the store's files cannot be read back",
            ("", DiskOpenKind::Environment) => "the disk cannot hold the store",
            ("", DiskOpenKind::InUse) => "another process has the store open",
            (context, _) => context,
        }
    }
}

/// What kind of failure kept the Redis tier from starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisStartKind {
    /// The URL or the options are unusable (no server, no secret, a bad namespace or
    /// certificate): trying again changes nothing.
    Config,
    /// No answer within the bound.
    Timeout,
    /// The client or the server refused or failed (connection refused, authentication, a
    /// server error); [`RedisStartError::redis_error`] holds what the client said.
    Client,
    /// The server answered, but not as Redis does.
    BadAnswer,
}

impl RedisStartKind {
    /// Whether starting again later could succeed (the server may come up).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Timeout | Self::Client)
    }
}

/// Why the Redis tier could not start. Its message has any password masked. The client's
/// own error is kept ([`RedisStartError::redis_error`]) but deliberately not exposed as the
/// [`std::error::Error::source`]: redis-rs may echo the URL, password included, in its
/// messages, and whoever prints a chain of sources would print it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RedisStartError {
    /// What kind of failure it was.
    pub kind: RedisStartKind,
    /// What went wrong, password masked.
    message: String,
    /// The client's error, when the client reported one.
    redis: Option<Arc<redis::RedisError>>,
}

impl RedisStartError {
    /// A failure of `kind` described by `message` (which must have any password masked).
    pub fn new(kind: RedisStartKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            redis: None,
        }
    }

    /// A failure the Redis client reported, described by `message` (password masked).
    pub(crate) fn client(message: String, e: redis::RedisError) -> Self {
        let kind = if e.is_timeout() {
            RedisStartKind::Timeout
        } else {
            RedisStartKind::Client
        };
        Self {
            kind,
            message,
            redis: Some(Arc::new(e)),
        }
    }

    /// The Redis client's own error (its kind, its server error code), when it reported one.
    /// Its message may hold the URL with the password: do not print it.
    pub fn redis_error(&self) -> Option<&redis::RedisError> {
        self.redis.as_deref()
    }
}

/// A storage tier failed. The engine degrades such failures to a miss and counts them.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TierError {
    /// The backing store reported an error.
    #[error("{tier} tier failed")]
    Store {
        /// Which tier.
        tier: &'static str,
        /// The store's own error (for the disk tier a `fjall::Error` or an
        /// [`std::io::Error`], to downcast).
        #[source]
        source: Cause,
    },
    /// The tier has switched itself off (e.g. after the disk filled up).
    #[error("{0} tier is disabled")]
    Disabled(&'static str),
}

impl TierError {
    /// A [`TierError::Store`] of `tier` caused by `source`.
    pub fn store(tier: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Store {
            tier,
            source: Cause::new(source),
        }
    }
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

    #[test]
    fn a_store_error_keeps_the_stores_own_error_as_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left");
        let e = TierError::store("disk", io);
        assert_eq!(e.to_string(), "disk tier failed");
        assert_eq!(Chain(&e).to_string(), "disk tier failed: no space left");
        let source = StdError::source(&e).expect("a source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("the io::Error itself");
        assert_eq!(io.kind(), std::io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_failed_disk_open_says_whose_fault_and_keeps_the_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ReadOnlyFilesystem, "read-only");
        let e = EngineError::DiskOpen {
            path: "/data".into(),
            source: DiskOpenError::new(
                DiskOpenKind::Environment,
                "directory is not writable: ",
                io,
            ),
        };
        assert_eq!(e.to_string(), "cannot open disk cache at /data");
        assert_eq!(
            Chain(&e).to_string(),
            "cannot open disk cache at /data: directory is not writable: read-only"
        );
        let open = StdError::source(&e)
            .and_then(|s| s.downcast_ref::<DiskOpenError>())
            .expect("the open error");
        assert_eq!(open.kind, DiskOpenKind::Environment);
        assert!(StdError::source(open).is_some_and(|s| s.is::<std::io::Error>()));
    }

    #[test]
    fn a_load_error_keeps_its_cause_and_says_it_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let load = LoadError::caused_by(LoadErrorKind::Other, "reading the server", refused);
        let e = EngineError::Load(load);
        let load = StdError::source(&e)
            .and_then(|s| s.downcast_ref::<LoadError>())
            .expect("the load error");
        assert_eq!(load.kind, LoadErrorKind::Other);
        assert!(StdError::source(load).is_some_and(|s| s.is::<std::io::Error>()));
        assert_eq!(
            Chain(&e).to_string(),
            "loader failed: reading the server: refused"
        );
    }

    #[test]
    fn a_redis_start_error_keeps_the_clients_error_but_never_chains_it() {
        let client = redis::RedisError::from((
            redis::ErrorKind::AuthenticationFailed,
            "auth failed for redis://:hunter2@host",
        ));
        let e = RedisStartError::client("authentication failed".into(), client);
        assert_eq!(e.kind, RedisStartKind::Client);
        assert!(e.kind.is_retryable());
        assert!(e.redis_error().is_some());
        // Printing the chain of sources must not reach the client's message.
        assert!(StdError::source(&e).is_none());
        assert!(!RedisStartKind::Config.is_retryable());
    }
}
